# SPDX-License-Identifier: MIT — crmpubsub
"""python3 -m feedweb: runs the feed application.

    python3 -m feedweb [--host 127.0.0.1] [--port 8470] [--db feed.sqlite]
                       [--socket PATH] [--heartbeat 15]

Prints "feed-web: listening on http://HOST:PORT/" once it accepts
connections (--port 0 picks a free port: read it there). SIGINT or SIGTERM
stop it: open event streams end, the crmpubsub client closes. Exit status
0, or 2 when it cannot start (port taken, database unusable)."""

from __future__ import annotations

import argparse
import logging
import signal
import sqlite3
import sys
import threading

from .live import Hub
from .server import App, Server
from .store import Store


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python3 -m feedweb",
                                description="A CRM contact feed that "
                                "refreshes live through crmpubsubd.")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8470,
                   help="port (default 8470; 0: any free port)")
    p.add_argument("--db", default="feed.sqlite",
                   help="SQLite file, created if missing "
                   "(default feed.sqlite)")
    p.add_argument("--socket", default=None,
                   help="crmpubsubd's socket (default: $CRMPUBSUB_SOCKET, "
                   "then the usual places)")
    p.add_argument("--heartbeat", type=float, default=15.0,
                   help="seconds between keep-alives on an idle event "
                   "stream, which also notice gone browsers (default 15)")
    p.add_argument("--max-streams", type=int, default=256,
                   help="event streams open at once (default 256)")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no access log")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="feed-web: %(name)s: %(message)s")
    try:
        store = Store(args.db)
    except sqlite3.Error as e:
        print(f"feed-web: database {args.db}: {e}", file=sys.stderr)
        return 2
    hub = Hub(args.socket, max_pages=args.max_streams).start()
    try:
        server = Server((args.host, args.port),
                        App(store, hub, heartbeat=args.heartbeat))
    except OSError as e:
        hub.close()
        print(f"feed-web: cannot listen on {args.host}:{args.port}:"
              f" {e.strerror or e}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    serving = threading.Thread(target=server.serve_forever,
                               kwargs={"poll_interval": 0.2},
                               name="feedweb-serve", daemon=True)
    serving.start()
    host, port = server.server_address[:2]
    print(f"feed-web: listening on http://{host}:{port}/", flush=True)
    while not stop.wait(1.0):
        pass
    server.shutdown()
    hub.close()		# ends the event streams
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
