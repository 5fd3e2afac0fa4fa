#!/bin/bash
# SPDX-License-Identifier: MIT — crmpubsub
# Side-by-side benchmark of crmpubsubd and Redis pub/sub: runs every workload
# against both servers over several rounds, each server started fresh on a
# private Unix socket and pinned to its own core, then prints medians, ratios
# and target checks and draws the plot. The two servers run side by side,
# their generators taking turns of 100–200 ms (A B A B within every run), so
# the machine's passing changes of speed fall on both alike; the memory
# workload runs them one after the other. A probe of the machine's own
# hiccups (tests/bench/hiccup.c) opens the report.
#
# usage: tests/bench/run.sh [--top REPO_ROOT] [--out DIR]
# environment:
#   BENCH_QUICK=1         smoke run: one round, short phases, fewer workloads
#   BENCH_ROUNDS=N        rounds (default 5; quick 1)
#   BENCH_DURATION=S      measured seconds per run (default 2; quick 1)
#   BENCH_WARMUP=S        warm-up seconds per run (default 0.5; quick 0.5)
#   BENCH_PEER=redis|floor  what crmpubsubd is compared with: Redis (default)
#                         or the floor, the bench's minimal relay (relay.c)
#   BENCH_TARGETS="crm"   one server only (default "crm $BENCH_PEER")
#   BENCH_ONLY="w64 idle" run only these workloads
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=dirs.sh
. "$(dirname "$0")/dirs.sh"
no_more_args "$@"

quick=${BENCH_QUICK:-0}
if [ "$quick" = 1 ]; then
	rounds=${BENCH_ROUNDS:-1}; duration=${BENCH_DURATION:-1}
	warmup=${BENCH_WARMUP:-0.5}
else
	rounds=${BENCH_ROUNDS:-5}; duration=${BENCH_DURATION:-2}
	warmup=${BENCH_WARMUP:-0.5}
fi
peer=${BENCH_PEER:-redis}
targets=${BENCH_TARGETS:-crm $peer}
loadgen="$here/loadgen"
daemon="$top/daemon/crmpubsubd"
max_conn=10100

log() { printf 'bench: %s\n' "$*" >&2; }
case "$peer" in
redis | floor) ;;
*) log "BENCH_PEER is redis or floor"; exit 2 ;;
esac

# --- tools --------------------------------------------------------------------
# The bench group of tools/packages: installed when missing (as root), else
# the exact apt-get line is printed. Debian starts the packaged Redis as a service;
# the benchmark runs its own instances and leaves that one alone.
need_packages() {
	"$top/tools/deps.sh" bench || exit 1
}

need_packages
[ -x "$loadgen" ] || { log "build the generator first: make -C $here loadgen"; exit 1; }
case " $targets " in
*" crm "*) [ -x "$daemon" ] || { log "$daemon not built (run make first)"; exit 1; } ;;
esac
case " $targets " in
*" floor "*) [ -x "$here/relay" ] || { log "build the floor relay first: make -C $here relay"; exit 1; } ;;
esac

# Descriptors: every subscriber is one on each side (root may raise the
# hard limit; the soft limit goes up to it).
need_fds=$((max_conn + 200))
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt "$need_fds" ]; then
	if ! ulimit -Hn "$need_fds" 2>/dev/null; then
		log "descriptor limit $hard is below $need_fds; raise it (ulimit -Hn) or run as root"
		exit 1
	fi
	hard=$need_fds
fi
ulimit -n "$hard"

# Cores: server on one, generator on another.
ncpu=$(nproc)
if [ "$ncpu" -ge 2 ]; then
	srv_cpu=0; gen_cpu=1
	pin_srv=(taskset -c "$srv_cpu"); pin_gen=(taskset -c "$gen_cpu")
else
	log "one CPU only: server and generator share it; ratios still compare, absolute numbers do not"
	pin_srv=(); pin_gen=()
fi

mkdir -p "$out"
raw="$out/raw.txt"
: >"$raw"
workdir=$(mktemp -d /tmp/crmpubsub-bench.XXXXXX)
srv_pid=""
srv_pids=()
cleanup() {
	stop_servers
	rm -rf "$workdir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# Every run uses one copy of the daemon, even if the tree is rebuilt meanwhile.
rev=$(git -C "$top" log -1 --format='%h %cd' --date=format:'%Y-%m-%d %H:%M' 2>/dev/null || echo unknown)
if [ -x "$daemon" ]; then
	cp "$daemon" "$workdir/crmpubsubd"
	daemon="$workdir/crmpubsubd"
fi

# --- servers --------------------------------------------------------------------
# start_server crm|redis: starts it on a fresh socket; sets srv_pid, srv_sock
# and adds it to srv_pids. Tries three times (a binary being rebuilt in a
# working tree cannot run).
start_server() {
	local attempt
	for attempt in 1 2 3; do
		if try_start_server "$1"; then
			srv_pids+=("$srv_pid")
			return 0
		fi
		srv_pid=""
		log "$1 did not start (attempt $attempt); its log:"
		tail -n 5 "$workdir/$1/log" >&2 || true
		sleep 1
	done
	exit 1
}

try_start_server() {
	local dir="$workdir/$1" i
	rm -rf "$dir"; mkdir -p "$dir"
	srv_sock="$dir/s.sock"
	case "$1" in
	crm)
		"${pin_srv[@]}" "$daemon" -s "$srv_sock" --max-connections "$max_conn" \
			>"$dir/log" 2>&1 &
		;;
	floor)
		"${pin_srv[@]}" "$here/relay" -s "$srv_sock" >"$dir/log" 2>&1 &
		;;
	redis)
		"${pin_srv[@]}" redis-server --port 0 --unixsocket "$srv_sock" \
			--unixsocketperm 700 --save '' --appendonly no \
			--maxclients "$max_conn" --dir "$dir" --logfile "$dir/log" \
			--daemonize no >/dev/null 2>&1 &
		;;
	esac
	srv_pid=$!
	# Ready means accepting: both servers create the socket once listening.
	for ((i = 0; i < 200; i++)); do
		[ -S "$srv_sock" ] && return 0
		kill -0 "$srv_pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -TERM "$srv_pid" 2>/dev/null || true
	wait "$srv_pid" 2>/dev/null || true
	return 1
}

stop_servers() {
	stop_all ${srv_pids[@]+"${srv_pids[@]}"}
	srv_pids=()
	srv_pid=""
}

# --- workloads --------------------------------------------------------------------
# name | plot series:S (or -) | description | loadgen arguments
workloads=(
	"w64|closed:1000|S=1000 W=4 C=3, closed loop, window 64|-S 1000 -W 4 -C 3 -w 64"
	"w1024|-|S=1000 W=4 C=3, closed loop, window 1024|-S 1000 -W 4 -C 3 -w 1024"
	"open20k|open:1000|S=1000 W=4 C=3, open loop 20000 broadcasts/s|-S 1000 -W 4 -C 3 -w 1024 -r 20000 --spin"
	"s10k|closed:10000|S=10000 W=4 C=3, closed loop, window 64|-S 10000 -W 4 -C 3 -w 64"
	"idle|-|S=10000 idle subscribers (memory)|-S 10000 --idle"
	"s100|closed:100|S=100 W=4 C=3, closed loop, window 64|-S 100 -W 4 -C 3 -w 64"
	"s3000|closed:3000|S=3000 W=4 C=3, closed loop, window 64|-S 3000 -W 4 -C 3 -w 64"
	"s100-open|open:100|S=100 W=4 C=3, open loop 20000 broadcasts/s|-S 100 -W 4 -C 3 -w 1024 -r 20000 --spin"
	"s3000-open|open:3000|S=3000 W=4 C=3, open loop 20000 broadcasts/s|-S 3000 -W 4 -C 3 -w 1024 -r 20000 --spin"
	"s10k-open|open:10000|S=10000 W=4 C=3, open loop 20000 broadcasts/s|-S 10000 -W 4 -C 3 -w 1024 -r 20000 --spin"
)
if [ "$quick" = 1 ] && [ -z "${BENCH_ONLY:-}" ]; then
	BENCH_ONLY="w64 w1024 open20k s10k idle"
fi

selected() {
	[ -z "${BENCH_ONLY:-}" ] && return 0
	case " $BENCH_ONLY " in *" $1 "*) return 0 ;; esac
	return 1
}

for w in "${workloads[@]}"; do
	IFS='|' read -r name plot desc _ <<<"$w"
	selected "$name" && printf 'WORKLOAD %s %s %s\n' "$name" "$plot" "$desc" >>"$raw"
done

# --- runs -----------------------------------------------------------------------
# record ROUND NAME TARGET LINE STATUS: files a RESULT line and logs it.
record() {
	if [ "$5" != 0 ]; then
		failures=$((failures + 1))
		log "round $1 $2 $3: generator reported a failed check"
	fi
	printf '%s\n' "$4" >>"$raw"
	log "round $1 $(printf '%-10s %-5s' "$2" "$3") $(
		printf '%s\n' "$4" | tr ' ' '\n' |
			grep -E '^(dps|p99_us|srv_cpu|gen_cpu|per_conn_b|check)=' |
			tr '\n' ' ')$(
		printf '%s\n' "$4" | awk '{ for (i = 1; i <= NF; i++)
			if ($i ~ /^gen_cpu=/ && substr($i, 9) + 0 >= 0.9)
				print "GENERATOR-SATURATED" }')"
}

# run_alone ROUND NAME ARGS: each target in turn, with the machine to itself.
run_alone() {
	local target line status
	for target in $targets; do
		start_server "$target"
		status=0
		# shellcheck disable=SC2086 # args is a word list by design
		line=$("${pin_gen[@]}" "$loadgen" --target "${target/floor/crm}" --as "$target" \
			-s "$srv_sock" --server-pid "$srv_pid" \
			--warmup "$warmup" --duration "$duration" \
			--label "$2:$1" $3) || status=$?
		stop_servers
		record "$1" "$2" "$target" "$line" "$status"
	done
}

# run_side_by_side ROUND NAME ARGS: both targets up at once, one generator
# each, taking turns (tests/bench/turns.c): only the one holding the turn
# sends, for TURN_MS, then drains and passes it on. Each gets `duration`
# seconds of its own turns after `warmup` of them.
run_side_by_side() {
	local target i=0 socks=() pids=() gens=() first=() status turn_ms
	# Closed loops need turns well above their queueing latency (up to
	# ~90 ms at window 1024); open loops shorter ones, so both servers
	# meet the same passing disturbances.
	case " $3 " in *" -r "*) turn_ms=100 ;; *) turn_ms=200 ;; esac
	for target in $targets; do
		start_server "$target"
		socks+=("$srv_sock"); pids+=("$srv_pid")
	done
	rm -f "$workdir/turn.0" "$workdir/turn.1"
	mkfifo "$workdir/turn.0" "$workdir/turn.1"
	for target in $targets; do
		first=()
		[ "$i" = 1 ] && first=(--starter)
		# shellcheck disable=SC2086 # args is a word list by design
		"${pin_gen[@]}" "$loadgen" --target "${target/floor/crm}" --as "$target" \
			-s "${socks[i]}" --server-pid "${pids[i]}" \
			--turns "$workdir/turn.$i:$workdir/turn.$((1 - i))" \
			--turn-ms "$turn_ms" ${first[@]+"${first[@]}"} \
			--warmup "$warmup" --duration "$duration" \
			--label "$2:$1" $3 >"$workdir/gen.$i" &
		gens+=($!); i=$((i + 1))
	done
	i=0
	for target in $targets; do
		status=0
		wait "${gens[i]}" || status=$?
		record "$1" "$2" "$target" "$(cat "$workdir/gen.$i")" "$status"
		i=$((i + 1))
	done
	stop_servers
}

# --- machine ---------------------------------------------------------------------
# The machine's own hiccups on both cores, before any load.
hiccups() {
	[ -x "$here/hiccup" ] || return 0
	if [ ${#pin_srv[@]} -gt 0 ]; then
		"${pin_srv[@]}" "$here/hiccup" 3 "core$srv_cpu(server)" >"$workdir/hic.0" &
		"${pin_gen[@]}" "$here/hiccup" 3 "core$gen_cpu(generator)" >"$workdir/hic.1"
		wait
		cat "$workdir/hic.0" "$workdir/hic.1"
	else
		"$here/hiccup" 3 "core"
	fi
}

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
log "rounds=$rounds duration=${duration}s warmup=${warmup}s targets='$targets' cpus=$ncpu load=$load_start"
log "output: $out"
hiccups | tee -a "$raw" | sed 's/^/bench: /' >&2
failures=0
ntargets=$(wc -w <<<"$targets")
for ((round = 1; round <= rounds; round++)); do
	for w in "${workloads[@]}"; do
		IFS='|' read -r name _ _ args <<<"$w"
		selected "$name" || continue
		if [ "$ntargets" = 2 ] && [[ " $args " != *" --idle "* ]]; then
			run_side_by_side "$round" "$name" "$args"
		else
			run_alone "$round" "$name" "$args"
		fi
	done
done

load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# --- report -----------------------------------------------------------------------
awk -v plotdat="$out/plot.dat" -v peer="$peer" -f "$here/report.awk" "$raw" \
	>"$out/results.md"
# The client library's cost per pipelined broadcast (tests/bench/client_cost.c).
if [ "$peer" = redis ] && [ -x "$here/client_cost" ] && [ -x "$daemon" ]; then
	{
		printf '\n### Client library: cost of a pipelined broadcast to its caller\n\n'
		printf '```\n'
		"${pin_gen[@]}" "$here/client_cost" -d "$daemon" 2>/dev/null ||
			echo "client_cost failed"
		printf '```\n'
	} >>"$out/results.md"
fi
cat "$out/results.md"
# A line needs two subscriber counts at least.
if [ -s "$out/plot.dat" ] && [ "$(grep -vc '^#' "$out/plot.dat")" -ge 2 ]; then
	gnuplot -e "datafile='$out/plot.dat'; outfile='$out/performance.png'" \
		"$here/plot.gp" && log "plot: $out/performance.png"
fi
{
	echo
	echo "- crmpubsubd: $("$daemon" --version 2>/dev/null | head -n 1), copied when the tree" \
		"was at commit $rev (built from the working tree)."
	echo "- Machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')," \
		"kernel $(uname -r); Redis $(redis-server --version | sed -E 's/.*v=([^ ]+).*/\1/')."
	echo "- Run: rounds=$rounds duration=${duration}s warmup=${warmup}s, $(date -u '+%Y-%m-%d %H:%M UTC');" \
		"load average before $load_start, after $load_end (anything well above 2 means other work shared the cores)."
} | tee -a "$out/results.md"
if [ "$failures" != 0 ]; then
	log "$failures run(s) failed their correctness check (see $raw and the messages above)"
	exit 1
fi
