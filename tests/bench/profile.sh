#!/bin/bash
# SPDX-License-Identifier: MIT — crmpubsub
# Profiles crmpubsubd under one benchmark workload: perf (sampled, kernel
# included, call graphs) or callgrind (exact user-space instruction counts,
# about 50 times slower, so run at a low fixed rate).
#
# usage: tests/bench/profile.sh [--top DIR] [--out DIR] perf|callgrind [LOADGEN ARGS...]
#   default load: perf      -S 1000 -W 4 -C 3 -w 64 (closed loop)
#                 callgrind -S 1000 -W 4 -C 3 -w 64 -r 2000 (open loop)
# Writes DIR/profile-<tool>.txt (default DIR: tests/bench/out).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=dirs.sh
. "$(dirname "$0")/dirs.sh"
tool=${1:-perf}
[ $# -gt 0 ] && shift
daemon="$top/daemon/crmpubsubd"
loadgen="$here/loadgen"
if [ ! -x "$daemon" ] || [ ! -x "$loadgen" ]; then
	echo "profile: build first (make && make -C tests/bench build)" >&2
	exit 1
fi
mkdir -p "$out"
work=$(mktemp -d /tmp/crmpubsub-profile.XXXXXX)
pid=""
cleanup() {
	[ -z "$pid" ] || stop_all "$pid"
	rm -rf "$work"
}
trap cleanup EXIT
sock="$work/s.sock"
ulimit -n "$(ulimit -Hn)"
if [ "$(nproc)" -ge 2 ]; then pin_srv=(taskset -c 0); pin_gen=(taskset -c 1); else pin_srv=(); pin_gen=(); fi

wait_socket() {
	local i
	for ((i = 0; i < 600; i++)); do
		[ -S "$sock" ] && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	echo "profile: the daemon did not start" >&2
	exit 1
}

report="$out/profile-$tool.txt"
case "$tool" in
perf)
	command -v perf >/dev/null || { echo "profile: install linux-perf" >&2; exit 1; }
	[ $# -gt 0 ] || set -- -S 1000 -W 4 -C 3 -w 64
	"${pin_srv[@]}" "$daemon" -s "$sock" --max-connections 10100 2>"$work/log" &
	pid=$!
	wait_socket
	perf record --call-graph dwarf,16384 -F 1999 -p "$pid" -o "$work/perf.data" \
		-- sleep 3 >/dev/null 2>&1 &
	perf_pid=$!
	"${pin_gen[@]}" "$loadgen" --target crm -s "$sock" --server-pid "$pid" \
		--warmup 0.3 --duration 2.5 "$@"
	wait "$perf_pid"
	{
		echo "# perf, crmpubsubd under: $*"
		echo "## by shared object (self)"
		perf report -i "$work/perf.data" --no-children --sort dso --stdio 2>/dev/null |
			grep -E '^ +[0-9]'
		echo "## by symbol, self time"
		perf report -i "$work/perf.data" --no-children --sort sym --stdio -g none \
			--percent-limit 1 2>/dev/null | grep -E '^ +[0-9]'
		echo "## by symbol, including callees"
		perf report -i "$work/perf.data" --children --sort sym --stdio -g none \
			--percent-limit 2 2>/dev/null | grep -E '^ +[0-9]'
	} >"$report"
	;;
callgrind)
	command -v valgrind >/dev/null || { echo "profile: install valgrind" >&2; exit 1; }
	[ $# -gt 0 ] || set -- -S 1000 -W 4 -C 3 -w 64 -r 2000
	"${pin_srv[@]}" valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" \
		"$daemon" -s "$sock" --max-connections 10100 2>"$work/log" &
	pid=$!
	wait_socket
	"${pin_gen[@]}" "$loadgen" --target crm -s "$sock" --warmup 0.5 --duration 3 "$@"
	kill -TERM "$pid"
	wait "$pid" || true
	pid=""
	callgrind_annotate --inclusive=no "$work/cg.out" >"$work/self.txt" 2>/dev/null
	callgrind_annotate --inclusive=yes "$work/cg.out" >"$work/incl.txt" 2>/dev/null
	{
		echo "# callgrind, crmpubsubd under: $*"
		sed -n '1,50p' "$work/self.txt"
		echo "## inclusive"
		sed -n '18,60p' "$work/incl.txt"
	} >"$report"
	;;
*)
	echo "usage: $0 [--top DIR] [--out DIR] perf|callgrind [LOADGEN ARGS...]" >&2
	exit 2
	;;
esac
echo "profile: $report"
