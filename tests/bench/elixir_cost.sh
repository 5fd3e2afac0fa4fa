#!/bin/sh
# What a broadcast costs an Elixir caller (tests/bench/elixir_cost.exs),
# offline like the client's tests: MIX_HOME and HEX_HOME in a temporary
# directory, this tree's daemon. Prints the table and writes it to
# OUT/elixir_cost.md. Skipped when Elixir is not installed.
#
# usage: elixir_cost.sh --top DIR --out DIR [CALLS]   (CALLS: 100000)
set -eu
top=. out=out
while [ $# -gt 0 ]; do
	case $1 in
	--top) top=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	*) break ;;
	esac
done
calls=${1:-100000}
if ! command -v mix >/dev/null 2>&1; then
	echo "elixir_cost: skipped (no mix; tools/deps.sh check installs elixir)"
	exit 0
fi
top=$(cd "$top" && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export MIX_HOME="$tmp/mix" HEX_HOME="$tmp/hex" HEX_OFFLINE=1 MIX_ENV=test
export CRMPUBSUBD="$top/daemon/crmpubsubd"
cd "$top/client/elixir"
mix run "$top/tests/bench/elixir_cost.exs" "$calls" "$out/elixir_cost.md"
