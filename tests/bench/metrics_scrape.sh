#!/bin/bash
# SPDX-License-Identifier: MIT — crmpubsub
# What serving /metrics costs the daemon's clients: one daemon with
# metrics_listen on 127.0.0.1 (a free port), measured by federation_probe
# (writer and subscriber on the same socket: latency one broadcast at a
# time, then pipelined throughput) while /metrics is
#   quiet     not scraped at all
#   1/s       scraped once a second (a Prometheus scrape interval is 15 s)
#   10/s      scraped ten times a second, to make the per-scrape cost show
# The three modes take turns within every round (quiet 1/s 10/s, then the
# next round), so the machine's passing changes of speed fall on all alike;
# the table gives each mode's median over the rounds and its throughput
# relative to quiet. Written to OUT/metrics_scrape.txt as well.
#
# usage: tests/bench/metrics_scrape.sh [--top REPO_ROOT] [--out DIR]
# environment:
#   BENCH_QUICK=1       smoke run: 2 rounds, 1 s phases
#   SCRAPE_ROUNDS=N     rounds (default 5)
#   SCRAPE_SECONDS=S    throughput phase per run (default 3)
#   SCRAPE_SAMPLES=N    latency samples per run (default 3000)
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=dirs.sh
. "$(dirname "$0")/dirs.sh"
no_more_args "$@"
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	rounds=${SCRAPE_ROUNDS:-2}; seconds=${SCRAPE_SECONDS:-1}
	samples=${SCRAPE_SAMPLES:-500}
else
	rounds=${SCRAPE_ROUNDS:-5}; seconds=${SCRAPE_SECONDS:-3}
	samples=${SCRAPE_SAMPLES:-3000}
fi
daemon="$top/daemon/crmpubsubd"
probe="$here/federation_probe"

log() { printf 'bench: %s\n' "$*" >&2; }

[ -x "$daemon" ] || { log "build the daemon first (make)"; exit 1; }
make --no-print-directory -C "$here" TOP="$top" federation_probe >&2
# The daemon on one core, the probe and the scraper on another, when the
# machine has two and taskset is there.
pin_daemon=() pin_load=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
	pin_daemon=(taskset -c 0) pin_load=(taskset -c 1)
fi

work=$(mktemp -d /tmp/crmpubsub-scrapebench.XXXXXX)
pids=()
scraper=
cleanup() {
	[ -n "$scraper" ] && stop_all "$scraper"
	stop_all "${pids[@]}"
	rm -rf "$work"
}
trap cleanup EXIT

"${pin_daemon[@]}" "$daemon" -s "$work/d.sock" --metrics-listen 127.0.0.1:0 \
    2>"$work/d.log" &
pids+=($!)
port=
for _ in $(seq 1 400); do
	port=$(sed -n 's/.*serving \/metrics on 127\.0\.0\.1:\([0-9]*\).*/\1/p' \
	    "$work/d.log")
	[ -n "$port" ] && [ -S "$work/d.sock" ] && break
	sleep 0.025
done
[ -n "$port" ] || { log "the daemon did not start:"; cat "$work/d.log" >&2; exit 1; }

# One scrape with bash's own /dev/tcp: no process started per scrape.
# Prints the number of lines read (0 when the scrape failed).
scrape() {
	local n=0 _
	exec 3<>"/dev/tcp/127.0.0.1/$port" || { echo 0; return; }
	printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3
	while IFS= read -r -u 3 _; do n=$((n + 1)); done
	exec 3<&-
	echo "$n"
}
[ "$(scrape)" -gt 20 ] || { log "GET /metrics failed"; exit 1; }

# Scrapes every $1 seconds until killed; counts failures in $work/failed.
# It waits with read -t on a fifo nobody writes to, and counts lines with
# read, so that the scraper itself starts no process and costs the
# machine next to nothing: what the table shows is the daemon's cost.
mkfifo "$work/never"
scrape_loop() {
	local n _
	exec 4<>"$work/never"
	while :; do
		n=0
		if exec 3<>"/dev/tcp/127.0.0.1/$port"; then
			printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3
			while IFS= read -r -u 3 _; do n=$((n + 1)); done
			exec 3<&-
		fi
		[ "$n" -gt 20 ] || echo x >>"$work/failed"
		read -r -t "$1" -u 4 _ || :
	done
}

declare -A runs
: >"$work/failed"
for round in $(seq 1 "$rounds"); do
	for mode in quiet 1/s 10/s; do
		case $mode in
		1/s) scrape_loop 1 & scraper=$! ;;
		10/s) scrape_loop 0.1 & scraper=$! ;;
		esac
		log "round $round/$rounds: $mode"
		runs[$mode]+="$("${pin_load[@]}" "$probe" "$work/d.sock" \
		    "$work/d.sock" "$samples" "$seconds")"$'\n'
		if [ -n "$scraper" ]; then
			stop_all "$scraper"
			scraper=
		fi
	done
done

# The median of the numbers on stdin, one a line.
median_of() {
	sort -g | awk '{ v[NR] = $1 }
	    END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
	          printf "%.1f\n", m }'
}

# Median of field $2 over the runs of mode $1.
median() {
	sed -E "s/.*$2=([0-9.]+).*/\1/" <<<"${runs[$1]%$'\n'}" | median_of
}

# Median over the rounds of mode $1's throughput as a percentage of the
# quiet run of the same round.
round_ratio() {
	paste -d ' ' <(field "$1") <(field quiet) |
	    awk '{ print 100 * $1 / $2 }' | median_of
}

# The throughput of each run of mode $1, one a line.
field() {
	sed -E 's/.*throughput_per_s=([0-9]+).*/\1/' <<<"${runs[$1]%$'\n'}"
}

mkdir -p "$out"
base=$(median quiet throughput_per_s)
{
	printf 'crmpubsub /metrics scrape cost (%s, %s CPUs, %s)\n' \
	    "$(date -u +%Y-%m-%dT%H:%MZ)" "$(nproc)" \
	    "$([ ${#pin_daemon[@]} -gt 0 ] && echo pinned || echo unpinned)"
	printf '%d rounds; per run %d latency samples, %ss pipelined throughput;\n' \
	    "$rounds" "$samples" "$seconds"
	printf 'medians over the rounds; %s failed scrapes\n\n' \
	    "$(wc -l <"$work/failed")"
	printf '%-8s %14s %10s %10s %10s %10s %10s\n' scrapes pushes_per_s \
	    vs_quiet same_round p50_us p90_us p99_us
	for mode in quiet 1/s 10/s; do
		t=$(median "$mode" throughput_per_s)
		printf '%-8s %14.0f %9.1f%% %9.1f%% %10s %10s %10s\n' "$mode" \
		    "$t" "$(echo "100 * $t / $base" | bc -l)" \
		    "$(round_ratio "$mode")" "$(median "$mode" p50_us)" \
		    "$(median "$mode" p90_us)" "$(median "$mode" p99_us)"
	done
	printf '(same_round: median over the rounds of the throughput against\n'
	printf 'the quiet run of the same round, which the machine'"'"'s drifting\n'
	printf 'load disturbs less than the medians of each mode)\n' 
	printf '\nthroughput of each run (pushes/s), to judge the spread:\n'
	for mode in quiet 1/s 10/s; do
		printf '%-8s %s\n' "$mode" "$(field "$mode" | tr '\n' ' ')"
	done
} | tee "$out/metrics_scrape.txt"
