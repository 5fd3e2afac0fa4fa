#!/bin/bash
# Runs one suite that is not a check program (pytest, ExUnit, the browser,
# PostgreSQL…) and adds its "passed failed" line to $CHECK_SUMMARY.
#
# usage: tests/suite.sh NAME [--need "TOOL…"] [--timeout SECONDS] -- COMMAND…
#
# A TOOL missing from PATH (or an absolute path that is not executable)
# skips the suite on a developer's box and fails it under CI=true, where
# .ci/run installs every tool. COMMAND may write its own "passed failed"
# counts to the file named by $SUITE_COUNTS; otherwise its exit status
# counts as one check. Every suite is bounded by timeout(1).
set -u
name=$1; shift
need="" limit=900
while [ $# -gt 0 ]; do
	case $1 in
	--need) need=$2; shift 2 ;;
	--timeout) limit=$2; shift 2 ;;
	--) shift; break ;;
	*) echo "suite.sh: unknown option $1" >&2; exit 2 ;;
	esac
done

record() {
	echo "$name: $1 passed, $2 failed"
	[ -n "${CHECK_SUMMARY:-}" ] && echo "$1 $2" >>"$CHECK_SUMMARY"
	[ "$2" = 0 ]
}

missing=""
for t in $need; do
	case $t in
	/*) [ -x "$t" ] || missing="$missing $t" ;;
	*) command -v "$t" >/dev/null 2>&1 || missing="$missing $t" ;;
	esac
done
if [ -n "$missing" ]; then
	if [ "${CI:-}" = true ]; then
		echo "$name: FAILED: missing under CI:$missing (tools/deps.sh check installs them)" >&2
		record 0 1; exit 1
	fi
	echo "$name: skipped: missing$missing (tools/deps.sh check installs them)"
	record 0 0; exit 0
fi

SUITE_COUNTS=$(mktemp); export SUITE_COUNTS
trap 'rm -f "$SUITE_COUNTS"' EXIT
timeout -k 10 "$limit" "$@"
rc=$?
[ "$rc" = 124 ] && echo "$name: timed out after ${limit}s" >&2
read -r p f <"$SUITE_COUNTS" 2>/dev/null
if [ -z "${p:-}" ] || [ -z "${f:-}" ]; then
	if [ "$rc" = 0 ]; then p=1 f=0; else p=0 f=1; fi
elif [ "$rc" != 0 ] && [ "$f" = 0 ]; then
	f=1	# counts said all passed, but the command failed
fi
record "$p" "$f"
