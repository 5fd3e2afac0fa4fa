#!/bin/sh
# Runs a pytest suite of the feed application (this directory's, or
# tests/browser) as `make check` does, through tests/suite.sh, which names
# the counts file $SUITE_COUNTS (feedtest.py's hook writes it).
#
# usage: run.sh NAME PYTHON DAEMON LIBRARY "MODULE..." TESTDIR [PYTEST-ARG...]
#
# A MODULE that PYTHON cannot import (Debian's python3-pytest,
# python3-selenium) skips the suite on a developer's box and fails it
# under CI=true. Nothing is written into the tree.
set -u
name=$1 py=$2 modules=$5 dir=$6
export CRMPUBSUBD="$3" CRMPUBSUB_LIBRARY="$4" PYTHONDONTWRITEBYTECODE=1
shift 6
counts=${SUITE_COUNTS:-/dev/null}

for m in $modules; do
	if ! "$py" -c "import $m" 2>/dev/null; then
		if [ "${CI:-}" = true ]; then
			echo "$name: FAILED: $py cannot import $m under CI" >&2
			echo "0 1" >"$counts"
			exit 1
		fi
		echo "$name: skipped: $py cannot import $m (python3-$m)"
		echo "0 0" >"$counts"
		exit 0
	fi
done
exec "$py" -m pytest -q -p no:cacheprovider "$dir" "$@"
