# SPDX-License-Identifier: MIT — crmpubsub
"""The live side against a real daemon: which contacts each write tells
(an edit tells the old and the new ones), writes that succeed with the
daemon away, the event stream (crm, resync, status, keep-alives), one
topic per contact whatever the number of pages, bounded queues, and the
app as a program."""

import os
import shutil
import signal
import sqlite3
import subprocess
import time

import pytest

import crmtest
import feedtest
from feedweb.live import CLOSED, Page

SENTINEL = crmtest.uuid_n(0x5e)		# a contact only the watcher follows
SENTINEL_I = crmtest.uuid_n(0x5e1)


class Watcher:
    """A raw connection following some contacts' topics, to see exactly
    which pushes a write caused."""

    def __init__(self, daemon, contacts):
        self.daemon = daemon
        self.conn = daemon.connect()
        topics = [f"crm:contact:{c}:interactions"
                  for c in list(contacts) + [SENTINEL]]
        assert self.conn.request({"op": "subscribe", "topics": topics})["ok"]

    def pushes(self, app) -> list:
        """Every push since the last call, as sorted (event, contact,
        interaction): the app's broadcasts are answered (flush), then a
        sentinel broadcast marks the end of what they caused."""
        assert app.hub.client.flush(5)
        assert self.daemon.request({
            "op": "broadcast_to_contacts", "event": "interaction_updated",
            "interaction_uuid": SENTINEL_I, "contact_uuids": [SENTINEL]})["ok"]
        out = []
        while True:
            m = self.conn.recv(feedtest.TIMEOUT)
            assert m is not None, f"no sentinel push; so far {out}"
            if m.get("type") != "crm":
                continue
            iu = m["payload"]["interaction_uuid"]
            if iu == SENTINEL_I:
                return sorted(out)
            out.append((m["event"], m["topic"].split(":")[2], iu))

    def close(self):
        self.conn.close()


@pytest.fixture
def abcd(app):
    return [app.http.contact(n) for n in ("Ann", "Bob", "Cyd", "Dee")]


def test_each_write_tells_its_contacts_an_edit_old_and_new(app, daemon, abcd):
    a, b, c, d = abcd
    w = Watcher(daemon, abcd)
    try:
        iu = app.http.interaction(a, "Call", [b], ["Sam"])
        assert w.pushes(app) == sorted(
            [("interaction_created", x, iu) for x in (a, b)])
        app.http.interaction(a, "Call", [c], method="PUT", uuid=iu)
        assert w.pushes(app) == sorted(		# b was dropped: told too
            [("interaction_updated", x, iu) for x in (a, b, c)])
        app.http.interaction(d, "Call", [c], method="PUT", uuid=iu)
        assert w.pushes(app) == sorted(		# the subject changed
            [("interaction_updated", x, iu) for x in (a, c, d)])
        app.http.json("DELETE", f"/api/interactions/{iu}", expect=200)
        assert w.pushes(app) == sorted(
            [("interaction_deleted", x, iu) for x in (c, d)])
        bad = app.http.request("PUT", f"/api/interactions/{iu}",
                               {"contact_uuid": a, "subject": "gone"})
        assert bad[0] == 404 and w.pushes(app) == []	# nothing written
    finally:
        w.close()


@pytest.mark.parametrize("how", ["stopped", "never started"])
def test_writes_succeed_with_the_daemon_away(app_factory, daemon, how,
                                             tmpdir_path):
    if how == "stopped":
        app = app_factory()
        daemon.stop()
    else:
        app = app_factory(socket_path=f"{tmpdir_path}/nobody-here.sock")
    t0 = time.monotonic()
    a = app.http.contact("Ann")
    b = app.http.contact("Bob")
    iu = app.http.interaction(a, "Call", [b])
    app.http.interaction(a, "Edited", [], ["Sam"], method="PUT", uuid=iu)
    assert iu in app.http.feed(a) and iu not in app.http.feed(b)
    app.http.json("DELETE", f"/api/interactions/{iu}", expect=200)
    assert time.monotonic() - t0 < 4.0	# no write waited for the daemon
    assert iu not in app.http.feed(a)
    assert app.hub.client.stats()["broadcasts"] == 3


def test_a_failing_broadcast_never_fails_the_write(app, abcd, monkeypatch):
    def broken(*args):
        raise RuntimeError("broadcast bug")
    monkeypatch.setattr(app.hub.client, "broadcast_interaction", broken)
    monkeypatch.setattr(app.hub.client, "broadcast_to_contacts", broken)
    a, b = abcd[:2]
    iu = app.http.interaction(a, "Call", [b])		# 201 all the same
    app.http.interaction(a, "Edited", [], method="PUT", uuid=iu)
    app.http.json("DELETE", f"/api/interactions/{iu}", expect=200)


def test_event_stream(app, abcd):
    a, b, _, _ = abcd
    s = app.stream(a)
    try:
        assert s.status == 200 and "text/event-stream" in s.head
        assert s.next() == ("retry", None)
        assert s.next() == ("status", {"live": True})
        other = app.http.interaction(b, "not about Ann")
        mine = app.http.interaction(b, "about Ann", [a])
        ev = s.wait_for("crm")
        assert ev == {"event": "interaction_created", "interaction_uuid": mine}
        assert other not in str(s.skipped)
        ev = s.next(2.0)			# idle: a keep-alive comment
        assert ev == ("comment", "keep-alive")
    finally:
        s.close()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_daemon_restart_is_status_then_resync(app, daemon, abcd, sig):
    a = abcd[0]
    s = app.stream(a)
    try:
        assert s.wait_for("status") == {"live": True}
        daemon.stop(sig)
        assert s.wait_for("status") == {"live": False}
        daemon.start()
        seen = set()
        deadline = time.monotonic() + 5
        while len(seen) < 2 and time.monotonic() < deadline:
            ev = s.next(max(0.0, deadline - time.monotonic()))
            if ev and ev[0] == "resync":
                assert ev[1]["reason"] == "reconnected"
                seen.add("resync")
            elif ev == ("status", {"live": True}):
                seen.add("live")
        assert seen == {"resync", "live"}
        iu = app.http.interaction(a, "after the restart")
        assert s.wait_for("crm")["interaction_uuid"] == iu
    finally:
        s.close()


def test_page_opened_while_the_daemon_is_away(app, daemon, abcd):
    a = abcd[0]
    daemon.stop()
    assert crmtest.wait_until(lambda: not app.hub.live, 5)
    t0 = time.monotonic()
    s = app.stream(a)
    try:
        assert s.status == 200 and time.monotonic() - t0 < 3
        assert s.wait_for("status") == {"live": False}
        daemon.start()
        assert s.wait_for("resync") is not None	# refetch: it was away
        iu = app.http.interaction(a, "once it is back")
        assert s.wait_for("crm", lambda d: d["interaction_uuid"] == iu)
    finally:
        s.close()


def test_another_writer_reaches_the_page(app, daemon, abcd):
    if shutil.which("socat") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("socat missing under CI")
        pytest.skip("socat missing (crmpubsub-cli needs it)")
    a = abcd[0]
    s = app.stream(a)
    try:
        assert s.wait_for("status") == {"live": True}
        iu = crmtest.uuid_n(0x77)
        with sqlite3.connect(app.store.path) as db:	# some other program
            db.execute("INSERT INTO interactions VALUES (?, ?, ?, ?)",
                       (iu, a, "Written elsewhere", "2030-01-01T00:00:00Z"))
        cli = subprocess.run(
            [str(crmtest.REPO / "client/crmpubsub-cli"), "-s", daemon.sock,
             "broadcast", "created", iu, a], capture_output=True,
            timeout=feedtest.TIMEOUT)
        assert cli.returncode == 0, cli.stderr
        assert s.wait_for("crm")["interaction_uuid"] == iu
        assert f'data-interaction-uuid="{iu}"' in app.http.feed(a)
        assert "Written elsewhere" in app.http.feed(a)
    finally:
        s.close()


def test_one_topic_per_contact_and_gone_browsers_noticed(app, daemon, abcd):
    a, b = abcd[:2]
    streams = [app.stream(a), app.stream(a), app.stream(b)]
    try:
        for s in streams:
            assert s.wait_for("status") == {"live": True}
        st = app.hub.stats()
        assert (st["pages"], st["contacts"], st["topics"]) == (3, 2, 2)
        streams[0].close()		# the browser goes, without a word
        assert crmtest.wait_until(lambda: app.hub.stats()["pages"] == 2, 5)
        assert app.hub.stats()["topics"] == 2	# a's other page holds it
        iu = app.http.interaction(a, "still followed")
        assert streams[1].wait_for("crm")["interaction_uuid"] == iu
        streams[1].close()
        streams[2].close()
        assert crmtest.wait_until(lambda: app.hub.stats()["pages"] == 0, 5)
        assert app.hub.stats()["topics"] == 0
        assert crmtest.wait_until(lambda: daemon.stat("topics") == 0, 5)
    finally:
        for s in streams:
            s.close()


def test_stream_limit(app_factory):
    app = app_factory(max_pages=1)
    a = app.http.contact("Ann")
    first = app.stream(a)
    try:
        second = app.stream(a)
        assert second.status == 503
        second.close()
        assert first.wait_for("status") == {"live": True}
    finally:
        first.close()


def test_page_queue_is_bounded():
    p = Page("x", limit=3)
    for i in range(4):
        p.put(("crm", {"n": i}))
    assert p.get(0) == ("resync", {"reason": "overflow"})	# in place of all
    assert p.get(0) is None
    p.put(("crm", {"n": 5}))
    p.close()
    assert p.get(0) is CLOSED


def test_program_starts_serves_and_stops(daemon, tmpdir_path):
    prog = feedtest.AppProcess(f"{tmpdir_path}/p.sqlite", daemon.sock,
                               "--heartbeat", "0.5")
    try:
        a = prog.http.contact("Ann")
        s = feedtest.EventStream(prog.http.host, prog.http.port, a)
        assert s.wait_for("status") == {"live": True}
        t0 = time.monotonic()
        assert prog.stop() == 0		# with a stream open
        assert time.monotonic() - t0 < 5
        assert s.wait_for("never", timeout=2) is None	# the stream ended
        s.close()
        taken = feedtest.AppProcess(f"{tmpdir_path}/q.sqlite", daemon.sock)
        try:
            again = crmtest.Peer(
                [taken.peer.argv[0], "-m", "feedweb", "--port",
                 str(taken.http.port), "--db", f"{tmpdir_path}/r.sqlite"],
                env=feedtest.app_env())
            assert again.wait() == 2
            assert "cannot listen" in again.describe()
            again.stop()
        finally:
            taken.stop()
    finally:
        if prog.peer.proc.poll() is None:
            prog.stop()
