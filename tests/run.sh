#!/bin/bash
# Runs check suites one after another and totals check's summary lines.
# usage: tests/run.sh BUILD_DIR SUITE...
# Each suite is bounded by timeout(1) as well as by check's per-test timeout.
O=$1; shift
export CRMPUBSUB_BUILD="$O"
export CRMPUBSUBD="$O/daemon/crmpubsubd"
export CRMPUBSUB_TOP="$PWD"
export CK_DEFAULT_TIMEOUT="${CK_DEFAULT_TIMEOUT:-120}"
passed=0 failed=0 broken=""
for t in "$@"; do
	out=$(mktemp)
	timeout -k 10 900 "$t" >"$out" 2>&1
	rc=$?
	cat "$out"
	line=$(grep -E '^[0-9]+%: Checks: [0-9]+' "$out" | tail -n 1)
	rm -f "$out"
	if [ -z "$line" ]; then
		echo "run.sh: $t ended (status $rc) without a check summary" >&2
		failed=$((failed + 1)); broken="$broken $t"; continue
	fi
	n=$(echo "$line" | sed -E 's/.*Checks: ([0-9]+).*/\1/')
	f=$(echo "$line" | sed -E 's/.*Failures: ([0-9]+).*/\1/')
	e=$(echo "$line" | sed -E 's/.*Errors: ([0-9]+).*/\1/')
	passed=$((passed + n - f - e)); failed=$((failed + f + e))
	[ "$rc" = 0 ] && [ $((f + e)) = 0 ] || broken="$broken $t"
done
echo
[ -n "$broken" ] && echo "failing suites:$broken"
echo "$passed passed, $failed failed"
[ -n "${CHECK_SUMMARY:-}" ] && echo "$passed $failed" >>"$CHECK_SUMMARY"
[ -z "$broken" ]
