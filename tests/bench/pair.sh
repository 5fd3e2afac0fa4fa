#!/bin/bash
# SPDX-License-Identifier: MIT — crmpubsub
# Two servers side by side, for comparisons run.sh does not make: two builds
# of crmpubsubd, the same server twice (an A/A check of the method's noise),
# or the floor relay slowed to a server's cost (relay -d NS). Both are driven
# as run.sh drives them (turns.c: generators take turns, servers pinned to
# core 0, generators to core 1); their places swap every round.
#
# usage: tests/bench/pair.sh [--top DIR] CMD_A CMD_B [LOADGEN ARGS...]
#   CMD_A, CMD_B  server command lines, SOCK standing for the socket path,
#                 e.g. 'daemon/crmpubsubd -s SOCK' 'tests/bench/relay -s SOCK -d 2500';
#                 another revision's daemon: "$(tests/bench/build-rev.sh REV) -s SOCK"
#   default load  -S 1000 -W 4 -C 3 -w 1024 -r 20000 --spin
# environment: PAIR_ROUNDS (6), PAIR_WIRE="crm crm" (crm or redis each),
#   BENCH_WARMUP (0.5), BENCH_DURATION (2), PAIR_TURN_MS (100)
# Prints each round and the medians; exits non-zero if a check failed.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=dirs.sh
. "$(dirname "$0")/dirs.sh"
if [ $# -lt 2 ]; then
	sed -n '9,16p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
fi
cmd=("$1" "$2")
shift 2
load=("$@")
[ ${#load[@]} -gt 0 ] || load=(-S 1000 -W 4 -C 3 -w 1024 -r 20000 --spin)
read -r -a wire <<<"${PAIR_WIRE:-crm crm}"
rounds=${PAIR_ROUNDS:-6}
loadgen="$here/loadgen"
[ -x "$loadgen" ] || { echo "pair: build the generator first: make -C $here loadgen" >&2; exit 1; }
if [ "$(nproc)" -ge 2 ]; then pin_srv=(taskset -c 0); pin_gen=(taskset -c 1); else pin_srv=(); pin_gen=(); fi
ulimit -n "$(ulimit -Hn)"

work=$(mktemp -d /tmp/crmpubsub-pair.XXXXXX)
pids=()
cleanup() {
	stop_all ${pids[@]+"${pids[@]}"}
	pids=()
}
trap 'cleanup; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

field() { tr ' ' '\n' <"$1" | sed -n "s/^$2=//p"; }

failed=0
: >"$work/rows"
for ((r = 1; r <= rounds; r++)); do
	rm -rf "$work/r" && mkdir -p "$work/r"
	mkfifo "$work/r/t0" "$work/r/t1"
	for side in 0 1; do
		# Odd rounds put A first, even rounds B.
		who=$(((side + r + 1) % 2))
		sock="$work/r/$side.sock"
		# shellcheck disable=SC2086 # a command line, split on purpose
		"${pin_srv[@]}" ${cmd[who]//SOCK/$sock} >"$work/r/log.$side" 2>&1 &
		pids+=($!)
		for ((i = 0; i < 200; i++)); do [ -S "$sock" ] && break; sleep 0.05; done
		[ -S "$sock" ] || { echo "pair: server '${cmd[who]}' did not start" >&2; exit 1; }
	done
	gens=()
	for side in 0 1; do
		who=$(((side + r + 1) % 2))
		first=()
		[ "$side" = 1 ] && first=(--starter)
		"${pin_gen[@]}" "$loadgen" --target "${wire[who]}" -s "$work/r/$side.sock" \
			--server-pid "${pids[side]}" \
			--turns "$work/r/t$side:$work/r/t$((1 - side))" \
			--turn-ms "${PAIR_TURN_MS:-100}" ${first[@]+"${first[@]}"} \
			--warmup "${BENCH_WARMUP:-0.5}" --duration "${BENCH_DURATION:-2}" \
			"${load[@]}" >"$work/r/out.$who" &
		gens+=($!)
	done
	for g in "${gens[@]}"; do wait "$g" || failed=$((failed + 1)); done
	cleanup
	line="round $r"
	for who in 0 1; do
		f="$work/r/out.$who"
		line="$line  $(echo AB | cut -c$((who + 1))): dps=$(field "$f" dps) p50=$(field "$f" p50_us) p99=$(field "$f" p99_us) cpu=$(field "$f" srv_cpu) $(field "$f" check)"
		printf '%s %s %s %s\n' "$who" "$(field "$f" dps)" "$(field "$f" p99_us)" "$(field "$f" srv_cpu)" >>"$work/rows"
	done
	echo "$line"
done

awk '
function median(k, n,    i, j, t, a) {
	for (i = 1; i <= n; i++) a[i] = v[k, i]
	for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{ s = $1; n[s]++; v[s "dps", n[s]] = $2; v[s "p99", n[s]] = $3; v[s "cpu", n[s]] = $4 }
END {
	for (s = 0; s <= 1; s++) {
		d[s] = median(s "dps", n[s]); p[s] = median(s "p99", n[s]); c[s] = median(s "cpu", n[s])
	}
	for (i = 1; i <= n[0]; i++) if (v["1p99", i] < v["0p99", i]) lower++
	# Both sides of a round share its noise: the median of the per-round
	# ratios is steadier than the ratio of the two medians.
	for (i = 1; i <= n[0]; i++) v["rdps", i] = v["1dps", i] / v["0dps", i]
	for (i = 1; i <= n[0]; i++) v["rcpu", i] = v["1cpu", i] / v["0cpu", i]
	printf "medians  A: dps=%.0f p99=%.1f cpu=%.3f  B: dps=%.0f p99=%.1f cpu=%.3f\n", d[0], p[0], c[0], d[1], p[1], c[1]
	printf "B/A      dps %.3f  p99 %.3f  cpu %.3f; B had the lower p99 in %d of %d rounds\n",
	    d[1] / d[0], p[1] / p[0], c[1] / c[0], lower, n[0]
	printf "B/A      by round: dps %.3f  cpu %.3f (median of the per-round ratios)\n",
	    median("rdps", n[0]), median("rcpu", n[0])
}' "$work/rows"
[ "$failed" = 0 ] || { echo "pair: $failed run(s) failed their checks" >&2; exit 1; }
