#!/bin/bash
# SPDX-License-Identifier: MIT — crmpubsub
# This tree's daemon side by side with another revision's, on the workloads
# of run.sh that a change to the daemon can move: pipelined throughput
# (w64), the open-loop latency load (open20k) and ten thousand subscribers
# (s10k). Each runs through pair.sh: A is the other revision, B this tree,
# the two taking turns within every round. `make bench BENCH_AGAINST=REV`
# runs it after the usual comparison.
#
# usage: tests/bench/against.sh [--top DIR] [--out DIR] REV
# environment: PAIR_ROUNDS (6), BENCH_ONLY="w64 s10k" (a subset)
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=dirs.sh
. "$(dirname "$0")/dirs.sh"
if [ $# -ne 1 ]; then
	sed -n '9,10p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
fi
old=$("$here/build-rev.sh" --top "$top" --out "$out" "$1")
new="$top/daemon/crmpubsubd"
[ -x "$new" ] || { echo "against: build the daemon first: make -C $top" >&2; exit 1; }

# name|load generator arguments, as run.sh spells them
workloads=(
	"w64|-S 1000 -W 4 -C 3 -w 64"
	"open20k|-S 1000 -W 4 -C 3 -w 1024 -r 20000 --spin"
	"s10k|-S 10000 -W 4 -C 3 -w 64"
)
# Room for s10k's subscribers on both daemons, as run.sh gives them.
opts="--max-connections 20000"

mkdir -p "$out"
report="$out/against-$(git -C "$top" rev-parse --short "$1").txt"
: >"$report"
for w in "${workloads[@]}"; do
	name=${w%%|*}
	if [ -n "${BENCH_ONLY:-}" ] && [[ " $BENCH_ONLY " != *" $name "* ]]; then
		continue
	fi
	# shellcheck disable=SC2086 # the load is a list of arguments
	{
		echo "=== $name: A = $1, B = this tree"
		"$here/pair.sh" --top "$top" "$old -s SOCK $opts" "$new -s SOCK $opts" ${w#*|}
	} 2>&1 | tee -a "$report"
done
echo "against: written to $report"
