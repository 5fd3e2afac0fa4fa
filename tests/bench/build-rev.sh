#!/bin/bash
# SPDX-License-Identifier: MIT — crmpubsub
# Builds the daemon of another revision, for pair.sh to run beside the one
# in the tree, and prints the binary's path. The sources come from
# `git archive`, so the work tree is untouched; builds are kept under
# OUT/rev/<commit> and reused.
#
# usage: tests/bench/build-rev.sh [--top DIR] [--out DIR] REV
# e.g.:  tests/bench/pair.sh "$(tests/bench/build-rev.sh main) -s SOCK" \
#            'daemon/crmpubsubd -s SOCK'
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=dirs.sh
. "$(dirname "$0")/dirs.sh"
if [ $# -ne 1 ]; then
	sed -n '8,10p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
fi
commit=$(git -C "$top" rev-parse --verify "$1^{commit}")
dir="$out/rev/$commit"
if [ ! -x "$dir/daemon/crmpubsubd" ]; then
	rm -rf "$dir"
	mkdir -p "$dir"
	git -C "$top" archive "$commit" | tar -x -C "$dir"
	make -C "$dir" --no-print-directory daemon/crmpubsubd >"$dir/build.log" 2>&1 || {
		echo "build-rev: building $1 failed, see $dir/build.log" >&2
		exit 1
	}
fi
echo "$dir/daemon/crmpubsubd"
