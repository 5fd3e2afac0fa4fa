#!/bin/sh
# Runs every check of tests/build (each prints its own PASS or FAIL lines)
# and writes "passed failed" to $SUITE_COUNTS for tests/suite.sh.
dir=$(dirname "$0")
passed=0 failed=0
for t in "$dir"/clean.sh "$dir"/docs.sh; do
	if sh "$t"; then
		passed=$((passed + 1))
	else
		echo "FAIL: $t" >&2
		failed=$((failed + 1))
	fi
done
[ -n "${SUITE_COUNTS:-}" ] && echo "$passed $failed" >"$SUITE_COUNTS"
[ "$failed" = 0 ]
