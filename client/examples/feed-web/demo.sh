#!/bin/bash
# SPDX-License-Identifier: MIT — crmpubsub
# make demo: a daemon on a private socket, the feed application on
# 127.0.0.1:PORT, a few seeded contacts; Ctrl-C (or either program dying)
# stops both and removes the temporary directory.
#
# usage: demo.sh PYTHON DAEMON LIBRARY PORT
set -u
py=$1 daemon=$2 lib=$3 port=$4
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
dir=$(mktemp -d "${TMPDIR:-/tmp}/feed-web-demo.XXXXXX") || exit 1
sock=$dir/crmpubsub.sock
pids=()

# Stops what was started, the app before the daemon, waiting for each;
# removes the directory.
cleanup() {
	trap - EXIT INT TERM
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		kill -TERM "${pids[i]}" 2>/dev/null
		wait "${pids[i]}" 2>/dev/null
	done
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'echo; echo "feed-web demo: stopped"; exit 0' INT TERM

# Waits up to 10 s for a command to succeed.
await() {
	for _ in $(seq 100); do "$@" && return 0; sleep 0.1; done
	return 1
}

# Each program in its own session: Ctrl-C reaches this script only, which
# stops them in order.
setsid "$daemon" -s "$sock" 2>"$dir/crmpubsubd.log" &
pids+=($!)
if ! await test -S "$sock"; then
	echo "feed-web demo: crmpubsubd did not start:" >&2
	cat "$dir/crmpubsubd.log" >&2
	exit 1
fi

export PYTHONPATH="$repo/client/python:$here${PYTHONPATH:+:$PYTHONPATH}"
export CRMPUBSUB_LIBRARY=$lib PYTHONDONTWRITEBYTECODE=1
setsid "$py" -m feedweb -q --port "$port" --db "$dir/feed.sqlite" --socket "$sock" \
	>"$dir/app.out" &
app=$!
pids+=($app)
if ! await grep -q "listening on" "$dir/app.out"; then
	if ! kill -0 "$app" 2>/dev/null; then
		echo "feed-web demo: the app did not start (another port:" \
			"make demo DEMO_PORT=8471)" >&2
	fi
	exit 1
fi

url=http://127.0.0.1:$port
echo "feed-web demo: crmpubsubd on $sock"
echo "feed-web demo: seeding contacts:"
"$py" -m feedweb.seed "$url" || exit 1
echo
echo "feed-web demo: open $url/ (two contact pages side by side, then add"
echo "an interaction on one); Ctrl-C stops the app and the daemon."
echo
wait -n "${pids[@]}"
echo "feed-web demo: a program ended; stopping" >&2
exit 1
