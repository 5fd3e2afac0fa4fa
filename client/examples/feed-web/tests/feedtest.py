# SPDX-License-Identifier: MIT — crmpubsub
"""Helpers for the feed application's suites (this directory's pytest
suite and tests/browser): import paths, the app run in-process or as a
program, HTTP and Server-Sent Events clients with bounded waits, and the
hook that writes pytest's counts to $SUITE_COUNTS.

Standard library only; crmtest (client/python/tests) supplies the daemon
on a private socket."""

from __future__ import annotations

import http.client
import json
import os
import socket
import sys
import threading
import time
from pathlib import Path

APP_DIR = Path(__file__).resolve().parents[1]
REPO = APP_DIR.parents[2]
for _p in (REPO / "client/python", REPO / "client/python/tests", APP_DIR):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

import crmtest  # noqa: E402

TIMEOUT = 5.0	# default bound of every wait, in seconds


def pytest_terminal_summary(terminalreporter):
    """Writes "passed failed" for tests/suite.sh (errors count as failed,
    skipped tests as neither)."""
    path = os.environ.get("SUITE_COUNTS")
    if not path:
        return
    stats = terminalreporter.stats
    passed = len([r for r in stats.get("passed", []) if r.when == "call"])
    failed = len(stats.get("failed", [])) + len(stats.get("error", []))
    with open(path, "w") as f:
        f.write(f"{passed} {failed}\n")


def app_env(**extra) -> dict:
    """The environment of an app process: this tree's packages first."""
    paths = [str(REPO / "client/python"), str(APP_DIR)]
    if os.environ.get("PYTHONPATH"):
        paths.append(os.environ["PYTHONPATH"])
    return dict(os.environ, PYTHONPATH=":".join(paths),
                PYTHONDONTWRITEBYTECODE="1", **extra)


class Http:
    """Requests to one server, each on a new connection."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.url = f"http://{host}:{port}"

    def request(self, method: str, path: str, body=None, headers=None,
                raw: bytes = None, timeout: float = TIMEOUT):
        """(status, headers, body bytes). body is sent as JSON; raw as is."""
        h = {"Content-Type": "application/json"}
        if body is not None:
            raw = json.dumps(body).encode()
        h.update(headers or {})
        conn = http.client.HTTPConnection(self.host, self.port,
                                          timeout=timeout)
        try:
            conn.request(method, path, body=raw, headers=h)
            r = conn.getresponse()
            return r.status, r.headers, r.read()
        finally:
            conn.close()

    def json(self, method: str, path: str, body=None, expect: int = None):
        """The answer's JSON (and its status checked against expect)."""
        status, _, data = self.request(method, path, body)
        doc = json.loads(data)
        if expect is not None:
            assert status == expect, (status, doc)
        return doc

    def contact(self, name: str) -> str:
        return self.json("POST", "/api/contacts", {"name": name}, 201)["uuid"]

    def interaction(self, subject: str, text: str, parties=(), free=(),
                    method: str = "POST", uuid: str = None) -> str:
        """Creates (or with uuid, replaces) an interaction: subject contact,
        contact parties, free-text parties."""
        body = {"contact_uuid": subject, "subject": text,
                "parties": [{"contact_uuid": p} for p in parties] +
                           [{"contact_uuid": None, "raw_name": f}
                            for f in free]}
        path = "/api/interactions" + (f"/{uuid}" if uuid else "")
        return self.json(method, path, body, 200 if uuid else 201)["uuid"]

    def feed(self, contact: str) -> str:
        status, _, data = self.request("GET", f"/contacts/{contact}/feed")
        assert status == 200
        return data.decode()


class EventStream:
    """A Server-Sent Events client on /contacts/<uuid>/events."""

    def __init__(self, host: str, port: int, contact: str,
                 timeout: float = TIMEOUT):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.sendall(f"GET /contacts/{contact}/events HTTP/1.1\r\n"
                          f"Host: {host}\r\nAccept: text/event-stream\r\n\r\n"
                          .encode())
        self.buf = b""
        head = self._until(b"\r\n\r\n", timeout)
        assert head is not None, "no answer to the event stream request"
        self.status = int(head.split(b" ", 2)[1])
        self.head = head.decode()

    def _until(self, sep: bytes, timeout: float):
        """Bytes up to sep (dropped), None on timeout or end of stream."""
        deadline = time.monotonic() + timeout
        while sep not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return None
            if not chunk:
                return None
            self.buf += chunk
        out, self.buf = self.buf.split(sep, 1)
        return out

    def next(self, timeout: float = TIMEOUT):
        """The next event as (name, data), ("comment", text) for a
        keep-alive, None on timeout or end of stream."""
        block = self._until(b"\n\n", timeout)
        if block is None:
            return None
        name, data = "message", None
        for line in block.decode().split("\n"):
            if line.startswith(":"):
                return "comment", line[1:].strip()
            key, _, value = line.partition(": ")
            if key == "event":
                name = value
            elif key == "data":
                data = json.loads(value)
            elif key == "retry":
                name = "retry"
        return name, data

    def wait_for(self, name: str, match=None, timeout: float = TIMEOUT):
        """Events until one named name whose data satisfies match (a
        predicate); its data, or None after timeout. Returns the events
        skipped meanwhile in self.skipped."""
        deadline = time.monotonic() + timeout
        self.skipped = []
        while True:
            ev = self.next(max(0.0, deadline - time.monotonic()))
            if ev is None:
                return None
            if ev[0] == name and (match is None or match(ev[1])):
                return ev[1]
            self.skipped.append(ev)

    def close(self) -> None:
        self.sock.close()


class InProcessApp:
    """The app's server, store and hub in this process (so tests can look
    at the hub), on a free port."""

    def __init__(self, db: str, socket_path: str, heartbeat: float = 0.5,
                 **hub_options):
        from feedweb.live import Hub
        from feedweb.server import App, Server
        from feedweb.store import Store
        self.store = Store(db)
        self.hub = Hub(socket_path, **hub_options).start()
        self.server = Server(("127.0.0.1", 0),
                             App(self.store, self.hub, heartbeat=heartbeat))
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()
        self.http = Http("127.0.0.1", self.server.server_address[1])

    def stream(self, contact: str) -> EventStream:
        return EventStream("127.0.0.1", self.server.server_address[1],
                           contact)

    def close(self) -> None:
        self.server.shutdown()
        self.hub.close()
        self.server.server_close()
        self.thread.join(TIMEOUT)


class AppProcess:
    """python3 -m feedweb as a program on a free port (its stderr shown
    by describe())."""

    def __init__(self, db: str, socket_path: str, *args: str):
        self.peer = crmtest.Peer(
            [sys.executable, "-m", "feedweb", "--port", "0", "--db", db,
             "--socket", socket_path, *args], env=app_env())
        line = self.peer.line(timeout=30)
        if not line or "listening on http://" not in line:
            self.peer.stop()
            raise RuntimeError(f"feed-web did not start: {line!r}\n"
                               f"{self.peer.describe()}")
        self.url = line.split("listening on ", 1)[1].rstrip("/")
        host, port = self.url[len("http://"):].rsplit(":", 1)
        self.http = Http(host, int(port))

    def stop(self):
        """SIGTERM; its exit status (None if it had to be killed)."""
        self.peer.proc.terminate()
        rc = self.peer.wait(timeout=10)
        self.peer.stop()
        return rc

    def describe(self) -> str:
        return self.peer.describe()
