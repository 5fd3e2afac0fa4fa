#!/bin/sh
# `make clean` removes what `make` builds and nothing else. In a copy of the
# tree (its tracked files and new files not ignored, as they are now; never
# the tree under test), committed to a scratch repository: after `make`
# and `make clean`, `git status --porcelain --ignored` shows nothing (no
# tracked file deleted or changed, no build product left), and `make`
# then builds again.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
git -C "$top" rev-parse --git-dir >/dev/null 2>&1 || {
	echo "clean.sh: $top is not a git checkout" >&2
	exit 1
}
work=$(mktemp -d "${TMPDIR:-/tmp}/crmpubsub-clean.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
git -C "$top" ls-files -z --cached --others --exclude-standard |
    tar -C "$top" --null -T - --ignore-failed-read -cf - 2>/dev/null |
    tar -C "$work" -xf - || exit 1
cd "$work" || exit 1
git init -q && git add -A &&
    git -c user.name=check -c user.email=check@localhost \
    commit -qm "tree under test" || exit 1

# The outer make's settings (O=, SANITIZE=, -j…) must not leak in.
mk() {
	env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS -u O -u SANITIZE \
	    nice make -j2 "$@" >"$work.log" 2>&1 || {
		echo "FAIL: make $*:" >&2
		tail -n 30 "$work.log" >&2
		return 1
	}
}
status=0
if mk all && mk clean; then
	left=$(git status --porcelain --ignored)
	if [ -n "$left" ]; then
		echo "FAIL: after make && make clean, git status shows:" >&2
		printf '%s\n' "$left" | head -n 40 >&2
		status=1
	else
		echo "PASS: make clean leaves exactly the tracked tree"
	fi
	if mk all; then
		echo "PASS: make builds again after make clean"
	else
		status=1
	fi
else
	status=1
fi
rm -f "$work.log"
exit $status
