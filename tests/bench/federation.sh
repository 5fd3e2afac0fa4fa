#!/bin/bash
# SPDX-License-Identifier: MIT — crmpubsub
# Federation benchmark: the latency and throughput that Redis federation adds
# to a broadcast, next to the local path. Starts a private redis-server on a
# Unix socket and three daemons (L without federation, A and B federated),
# then measures with federation_probe:
#   local           writer and subscriber on L (no Redis at all)
#   local+fed       writer and subscriber on A (A also PUBLISHes to Redis)
#   federated       writer on A, subscriber on B (A -> Redis -> B)
# and prints a table (also written to OUT/federation.txt).
#
# usage: tests/bench/federation.sh [--top REPO_ROOT] [--out DIR]
# environment:
#   BENCH_QUICK=1       smoke run: fewer samples, short throughput phase
#   FED_SAMPLES=N       latency samples per path (default 5000; quick 500)
#   FED_SECONDS=S       throughput phase per path (default 3; quick 1)
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=dirs.sh
. "$(dirname "$0")/dirs.sh"
no_more_args "$@"
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	samples=${FED_SAMPLES:-500}; seconds=${FED_SECONDS:-1}
else
	samples=${FED_SAMPLES:-5000}; seconds=${FED_SECONDS:-3}
fi
daemon="$top/daemon/crmpubsubd"
probe="$here/federation_probe"

log() { printf 'bench: %s\n' "$*" >&2; }

command -v redis-server >/dev/null || {
	log "redis-server is missing (apt-get install redis-server)"; exit 1; }
[ -x "$daemon" ] || { log "build the daemon first (make)"; exit 1; }
make --no-print-directory -C "$here" TOP="$top" federation_probe >&2

work=$(mktemp -d /tmp/crmpubsub-fedbench.XXXXXX)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

# Waits (bounded) until a Unix socket accepts connections.
wait_socket() {
	local _
	for _ in $(seq 1 400); do
		if [ -S "$1" ] && socat -u OPEN:/dev/null "UNIX-CONNECT:$1" \
		    2>/dev/null; then
			return 0
		fi
		sleep 0.025
	done
	log "nothing accepts on $1"; exit 1
}

# Waits (bounded) until daemon socket $1 reports its federation link up.
wait_linked() {
	local _
	for _ in $(seq 1 400); do
		if echo '{"op":"stats"}' | socat -t 1 - "UNIX-CONNECT:$1" |
		    grep -q '"federation":{"state":"up"'; then
			return 0
		fi
		sleep 0.025
	done
	log "daemon on $1 never linked to Redis"; exit 1
}

redis-server --port 0 --unixsocket "$work/redis.sock" --save '' \
    --appendonly no --dir "$work" >"$work/redis.log" 2>&1 &
pids+=($!)
wait_socket "$work/redis.sock"
"$daemon" -s "$work/l.sock" 2>"$work/l.log" &
pids+=($!)
"$daemon" -s "$work/a.sock" --redis "unix://$work/redis.sock" 2>"$work/a.log" &
pids+=($!)
"$daemon" -s "$work/b.sock" --redis "unix://$work/redis.sock" 2>"$work/b.log" &
pids+=($!)
for s in l a b; do wait_socket "$work/$s.sock"; done
wait_linked "$work/a.sock"
wait_linked "$work/b.sock"

declare -A result
measure() {
	local name=$1 pub=$2 sub=$3
	log "$name: $samples latency samples, ${seconds}s throughput"
	result[$name]=$("$probe" "$work/$pub.sock" "$work/$sub.sock" \
	    "$samples" "$seconds")
}
measure local l l
measure local+fed a a
measure federated a b

field() { sed -E "s/.*$2=([0-9.]+).*/\1/" <<<"${result[$1]}"; }

mkdir -p "$out"
{
	printf 'crmpubsub federation benchmark (%s, %s, redis %s)\n' \
	    "$(date -u +%Y-%m-%dT%H:%MZ)" "$(nproc) CPUs" \
	    "$(redis-server --version | sed -E 's/.*v=([^ ]+).*/\1/')"
	printf '%d latency samples (one broadcast at a time), %ss pipelined ' \
	    "$samples" "$seconds"
	printf 'throughput (window 512), one subscriber, one topic\n\n'
	printf '%-12s %10s %10s %10s %14s %14s\n' path p50_us p90_us p99_us \
	    pushes_per_s added_p50_us
	base=$(field local p50_us)
	for name in local local+fed federated; do
		printf '%-12s %10s %10s %10s %14s %14.1f\n' "$name" \
		    "$(field "$name" p50_us)" "$(field "$name" p90_us)" \
		    "$(field "$name" p99_us)" \
		    "$(field "$name" throughput_per_s)" \
		    "$(echo "$(field "$name" p50_us) - $base" | bc -l)"
	done
} | tee "$out/federation.txt"
