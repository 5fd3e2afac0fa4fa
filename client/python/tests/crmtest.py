# SPDX-License-Identifier: MIT — crmpubsub
"""Helpers for suites that drive the real crmpubsubd from Python: a daemon
on a private socket, a raw protocol connection for checking what the daemon
sees, deterministic UUIDs and bounded waits. Standard library only, so any
suite (pytest or a plain script) can import it by path."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
TIMEOUT = 10.0		# default bound of every wait, in seconds


def build_dir() -> Path:
    """Where the build's outputs are: $CRMPUBSUB_BUILD (relative to the
    repository) or the repository itself."""
    return REPO / (os.environ.get("CRMPUBSUB_BUILD") or ".")


def daemon_bin() -> str:
    """The daemon to start: $CRMPUBSUBD, else the build's own."""
    return os.environ.get("CRMPUBSUBD") or str(build_dir() / "daemon/crmpubsubd")


def library_file() -> str:
    """The libcrmpubsub.so.1 under test: $CRMPUBSUB_LIBRARY, else the
    build's own."""
    return os.environ.get("CRMPUBSUB_LIBRARY") or \
        str(build_dir() / "client/libcrmpubsub.so.1")


def uuid_n(n: int) -> str:
    """Deterministic test UUID number n (as tests/harness.c's h_uuid)."""
    return f"0190a5b2-7c1e-7a01-8f00-{n:012x}"


def topic_n(n: int) -> str:
    """The topic of uuid_n(n)."""
    return f"crm:contact:{uuid_n(n)}:interactions"


def interaction(n: int, subject=None, parties=()) -> dict:
    """An interaction as a dict: uuid_n(n), the subject's and the parties'
    UUIDs by number (None stays None)."""
    return {"uuid": uuid_n(n),
            "contact_uuid": None if subject is None else uuid_n(subject),
            "parties": [{"contact_uuid": None if p is None else uuid_n(p)}
                        for p in parties]}


def wait_until(predicate, timeout: float = TIMEOUT,
               interval: float = 0.01) -> bool:
    """Calls predicate every interval until it is true: True when that
    happened within timeout (a bounded poll, never a synchronisation)."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


@contextlib.contextmanager
def captured_log(level=logging.DEBUG, handle=None, name="crmpubsub"):
    """Collects the records of logger name at level or above in a list
    (the with-value); handle(record), when given, runs for each too."""
    records = []

    class Collect(logging.Handler):
        def emit(self, record):
            records.append(record)
            if handle is not None:
                handle(record)
    handler = Collect(level)
    log = logging.getLogger(name)
    old_level = log.level
    log.addHandler(handler)
    log.setLevel(level)
    try:
        yield records
    finally:
        log.removeHandler(handler)
        log.setLevel(old_level)


def wait_listening(path: str, timeout: float = TIMEOUT) -> bool:
    """Whether a Unix socket at path accepts a connection within timeout."""
    def accepts():
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            try:
                s.connect(path)
                return True
            except OSError:
                return False
    return wait_until(accepts, timeout)


# The example programs by language: (subscriber, writer) command prefixes,
# with the same arguments and output lines (client/examples/*.c,
# client/python/examples/*.py).
EXAMPLES = {
    "c": ([str(build_dir() / "client/examples/subscriber")],
          [str(build_dir() / "client/examples/writer")]),
    "python": ([sys.executable, str(REPO / "client/python/examples/subscriber.py")],
               [sys.executable, str(REPO / "client/python/examples/writer.py")]),
}


class Peer:
    """A program whose output is read line by line with bounded waits; its
    stderr goes to a file shown by describe()."""

    def __init__(self, argv, env=None):
        self.argv = argv
        self.err = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=self.err,
                                     env=env)
        self.buf = b""

    def line(self, timeout: float = TIMEOUT):
        """The next output line without its newline; None on timeout or
        end of output."""
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                return None
            self.buf += chunk
        out, self.buf = self.buf.split(b"\n", 1)
        return out.decode()

    def wait(self, timeout: float = TIMEOUT):
        """Its exit status (SIGKILL and None after timeout)."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None

    def describe(self) -> str:
        """The command and its stderr, for a failure message."""
        self.err.seek(0)
        return f"{' '.join(self.argv)}: {self.err.read().decode(errors='replace')}"

    def stop(self) -> None:
        """Ends it if it still runs."""
        if self.proc.poll() is None:
            self.proc.terminate()
            self.wait()
        self.proc.stdout.close()
        self.err.close()


def python_env(**extra) -> dict:
    """The environment for a Python peer: this tree's package first."""
    path = os.environ.get("PYTHONPATH")
    pkg = str(REPO / "client/python")
    return dict(os.environ, PYTHONPATH=pkg + (":" + path if path else ""),
                **extra)


class RawConn:
    """One protocol connection to a daemon, JSON line by JSON line."""

    def __init__(self, path: str, timeout: float = TIMEOUT):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""

    def close(self) -> None:
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, obj) -> None:
        """Sends one request (a dict, or a line as str)."""
        line = obj if isinstance(obj, str) else json.dumps(obj)
        self.sock.sendall(line.encode() + b"\n")

    def recv(self, timeout: float = TIMEOUT):
        """The next line as JSON; None on timeout or end of stream."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
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
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def request(self, obj, timeout: float = TIMEOUT):
        """Sends a request and returns its reply, skipping pushes."""
        self.send(obj)
        deadline = time.monotonic() + timeout
        while True:
            m = self.recv(max(0.0, deadline - time.monotonic()))
            if m is None or "ok" in m:
                return m


class Daemon:
    """crmpubsubd on a private socket in a temp directory; its stderr goes
    to a log file shown when something fails."""

    def __init__(self, *args: str):
        self.args = list(args)
        self.dir = tempfile.mkdtemp(prefix="crmpubsub-py.")
        self.sock = os.path.join(self.dir, "crmpubsub.sock")
        self.log_path = os.path.join(self.dir, "stderr.log")
        self.proc = None

    def start(self, timeout: float = TIMEOUT) -> "Daemon":
        """Starts it and waits (bounded) until the socket accepts."""
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [daemon_bin(), "-s", self.sock, *self.args],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        if not wait_listening(self.sock, timeout):
            self.stop(signal.SIGKILL)
            raise RuntimeError(f"crmpubsubd did not start:\n{self.log()}")
        return self

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def send_signal(self, sig: int) -> None:
        """Sends sig to the running daemon (SIGSTOP, SIGCONT...)."""
        self.proc.send_signal(sig)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = TIMEOUT):
        """Sends sig and reaps the process (SIGKILL after timeout): its
        exit status, or None when it was not running."""
        if self.proc is None:
            return None
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            proc.send_signal(signal.SIGCONT)
            proc.send_signal(sig)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise RuntimeError(f"crmpubsubd ignored signal {sig}:\n"
                                   f"{self.log()}")
        return proc.returncode

    def restart(self) -> "Daemon":
        """Stops it cleanly and starts it again on the same socket."""
        self.stop()
        return self.start()

    def log(self) -> str:
        """The daemon's stderr so far."""
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def connect(self) -> RawConn:
        return RawConn(self.sock)

    def request(self, obj):
        """One request on a fresh connection; its reply."""
        with self.connect() as c:
            return c.request(obj)

    def stat(self, key: str) -> int:
        """One counter of the stats op."""
        return self.request({"op": "stats"})["stats"][key]

    def cleanup(self) -> None:
        """Stops it if need be and removes the temp directory."""
        try:
            self.stop(signal.SIGKILL)
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
