#!/bin/sh
# Installs the Debian packages of the named groups of tools/packages, or,
# when not root, prints the exact apt-get line that would. With --list it
# prints the groups' package names (for another host's apt-get).
# usage: tools/deps.sh [--list] GROUP...
list="$(dirname "$0")/packages"
only_list=
if [ "${1:-}" = --list ]; then
	only_list=1
	shift
fi
[ $# -ge 1 ] || { echo "usage: $0 [--list] GROUP..." >&2; exit 2; }
want=""
for g in "$@"; do
	line=$(awk -v g="$g" '$1 == g { $1 = ""; print }' "$list")
	[ -n "$line" ] || { echo "deps: no package group '$g' in $list" >&2; exit 2; }
	want="$want $line"
done
if [ -n "$only_list" ]; then
	echo $want
	exit 0
fi
missing=""
for p in $want; do
	case " $missing " in *" $p "*) continue ;; esac
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
	echo "deps: installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq && apt-get install -y -qq $missing >/dev/null ||
		{ echo "deps: apt-get failed" >&2; exit 1; }
else
	echo "deps: missing packages; run as root:" >&2
	echo "  apt-get update && apt-get install -y$missing" >&2
	exit 1
fi
