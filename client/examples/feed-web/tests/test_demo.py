# SPDX-License-Identifier: MIT — crmpubsub
"""`make demo` as the README describes it: it starts a daemon on a private
socket and the app on DEMO_PORT, seeds contacts and prints their pages; a
page's event stream carries a write made through the API; Ctrl-C (SIGINT
to the terminal's process group) stops both programs and removes the
temporary directory with the socket."""

import os
import re
import signal
import socket
import subprocess
import threading
import time

from feedtest import REPO, EventStream, Http
from crmtest import wait_until

START = 120.0   # make demo may build the daemon and the library first
STOP = 15.0


def free_port():
    """A loopback port that was free a moment ago (demo.sh takes a port
    number, not 0)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Demo:
    """make demo in a session of its own, as a terminal runs it: SIGINT
    and SIGQUIT at their defaults even when this process ignores them (a
    shell's background job does), since Ctrl-C is what stops it."""

    def __init__(self, port):
        env = {k: v for k, v in os.environ.items()
               if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
        self.proc = subprocess.Popen(
            ["make", "-C", str(REPO), "--no-print-directory", "demo",
             f"DEMO_PORT={port}"], stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
            start_new_session=True, preexec_fn=self._terminal_signals)
        self.lines = []
        self.changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    @staticmethod
    def _terminal_signals():
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGQUIT, signal.SIG_DFL)

    def _read(self):
        for raw in self.proc.stdout:
            with self.changed:
                self.lines.append(raw.decode(errors="replace").rstrip("\n"))
                self.changed.notify_all()
        with self.changed:
            self.lines.append(None)     # end of output
            self.changed.notify_all()

    def wait_line(self, pattern, timeout):
        """The first match of pattern in the output; None when the output
        ends or timeout passes first."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                for line in self.lines:
                    m = line is not None and re.search(pattern, line)
                    if m:
                        return m
                left = deadline - time.monotonic()
                if None in self.lines or left <= 0:
                    return None
                self.changed.wait(left)

    def output(self):
        with self.changed:
            return "\n".join(l for l in self.lines if l is not None)

    def interrupt(self):
        """Ctrl-C: SIGINT to the whole process group."""
        os.killpg(self.proc.pid, signal.SIGINT)

    def close(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(STOP)


def processes_in(path):
    """Pids of live processes whose command line names path."""
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read()
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if path.encode() in cmd and state != "Z":
            pids.append(int(pid))
    return pids


def test_make_demo_serves_pushes_and_ctrl_c_stops_it():
    port = free_port()
    demo = Demo(port)
    left = []
    try:
        assert demo.wait_line(r"Ctrl-C stops", START), demo.output()
        assert demo.wait_line(rf"open http://127\.0\.0\.1:{port}/ ", 0), \
            demo.output()
        sock = demo.wait_line(r"crmpubsubd on (\S+)", 0).group(1)
        tmp = os.path.dirname(sock)
        assert os.path.exists(sock)
        contacts = re.findall(rf"http://127\.0\.0\.1:{port}/contacts/"
                              r"([0-9a-f-]{36})", demo.output())
        assert len(contacts) >= 2, demo.output()
        left = processes_in(tmp)
        assert len(left) == 2, f"daemon and app: {left}"

        http = Http("127.0.0.1", port)
        status, _, home = http.request("GET", "/")
        assert status == 200 and all(f"/contacts/{c}" in home.decode()
                                     for c in contacts)
        status, _, page = http.request("GET", f"/contacts/{contacts[0]}")
        assert status == 200 and b"/static/feed.js" in page and \
            f'data-contact-uuid="{contacts[0]}"'.encode() in page
        events = EventStream("127.0.0.1", port, contacts[0])
        try:
            assert events.status == 200
            assert events.wait_for("status", lambda d: d.get("live"))
            iu = http.interaction(contacts[0], "Demo check", [contacts[1]],
                                  ["A free-text party"])
            assert events.wait_for(
                "crm", lambda d: d.get("interaction_uuid") == iu), \
                events.skipped
        finally:
            events.close()
        assert f'data-interaction-uuid="{iu}"' in http.feed(contacts[1])

        demo.interrupt()
        demo.proc.wait(STOP)
        assert wait_until(lambda: not processes_in(tmp), STOP), \
            processes_in(tmp)
        left = []
        assert not os.path.exists(tmp), os.listdir(tmp)
        assert demo.wait_line(r"feed-web demo: stopped", STOP), demo.output()
    finally:
        demo.close()
        for pid in left:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
