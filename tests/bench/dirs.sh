# shellcheck shell=bash disable=SC2034  # the variables are for the sourcing script
# SPDX-License-Identifier: MIT — crmpubsub
# Sourced by the bench scripts: sets here, top and out, and consumes the
# leading --top DIR / --out DIR options; the remaining arguments stay in "$@".
# Also gives them no_more_args and stop_all.
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out="$here/out"
while [ $# -gt 0 ]; do
	case "$1" in
	--top) top=$(cd "$2" && pwd); shift 2 ;;
	--out) out=$2; shift 2 ;;
	*) break ;;
	esac
done

# no_more_args "$@": a script that takes only --top and --out says so.
no_more_args() {
	[ $# -eq 0 ] || { echo "usage: $0 [--top DIR] [--out DIR]" >&2; exit 2; }
}

# stop_all PID...: stops each process (TERM) and reaps it.
stop_all() {
	local pid
	for pid in "$@"; do
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
}
