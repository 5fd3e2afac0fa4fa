#!/bin/sh
# Makes the directories an install needs and remembers which ones it had to
# create, so that `make uninstall` can take exactly those away once empty
# (a directory that was there before, like /usr/local/bin, always stays).
#
#   tools/install-dirs.sh make DESTDIR LIST DIR...
#       install -d each DIR (and LIST's own directory) below DESTDIR; add
#       every directory created to LIST (paths without DESTDIR)
#   tools/install-dirs.sh remove DESTDIR LIST
#       delete LIST, then rmdir each directory it names that is empty,
#       deepest first
set -eu
mode=$1 dest=$2 list=$3
shift 3
case $mode in
make)
	for d in "$(dirname "$list")" "$@"; do
		new="" p=$d
		while [ "$p" != / ] && [ "$p" != . ] && [ ! -d "$dest$p" ]; do
			new="$p
$new"
			p=$(dirname "$p")
		done
		install -d "$dest$d"
		if [ -n "$new" ]; then
			printf '%s' "$new" >>"$dest$list"
		fi
	done ;;
remove)
	[ -f "$dest$list" ] || exit 0
	dirs=$(cat "$dest$list")
	rm -f "$dest$list"
	printf '%s\n' "$dirs" | awk 'NF { print length($0), $0 }' |
	    sort -rn | cut -d' ' -f2- | while IFS= read -r d; do
		rmdir "$dest$d" 2>/dev/null || true
	done ;;
*)
	echo "usage: $0 make|remove DESTDIR LIST [DIR...]" >&2
	exit 2 ;;
esac
