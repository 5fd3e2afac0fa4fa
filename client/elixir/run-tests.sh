#!/bin/sh
# Runs the ExUnit suite of the Elixir client offline, against this tree's
# daemon: no Hex, no network, nothing written outside the tree and a
# temporary directory (MIX_HOME and HEX_HOME point there). Warnings fail
# the build, and so does code `mix format` would change. Arguments go to `mix test`. tests/suite.sh reads the counts
# the suite's formatter writes to $SUITE_COUNTS.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export MIX_HOME="$tmp/mix" HEX_HOME="$tmp/hex" HEX_OFFLINE=1 MIX_ENV=test
export CRMPUBSUBD="${CRMPUBSUBD:-$(cd ../.. && pwd)/daemon/crmpubsubd}"
mix format --check-formatted
mix compile --warnings-as-errors
mix test "$@"
