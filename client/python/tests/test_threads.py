# SPDX-License-Identifier: MIT — crmpubsub
"""Threads: one Client shared by broadcasting threads, the GIL released
while a call waits in the library, the library's log callback arriving in
its own thread while Python threads use the client, a logging handler that
tries to use the client, closing under other threads, fork."""

import logging
import os
import signal
import threading
import time

import pytest

import crmpubsub
from crmtest import TIMEOUT, captured_log, topic_n, uuid_n, wait_until


def join_all(threads, timeout=TIMEOUT):
    """Joins every thread within one shared bound; fails if any is stuck
    (a deadlock)."""
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    stuck = [t.name for t in threads if t.is_alive()]
    assert not stuck, f"threads still running after {timeout} s: {stuck}"


def test_threads_share_one_client_for_broadcasts(daemon, clients):
    threads_n, per_thread = 8, 500
    pub = clients(daemon.sock, "shared")
    sub = clients(daemon.sock, "counter")
    assert sub.subscribe_many([topic_n(t) for t in range(threads_n)])

    def broadcast(t):
        for i in range(per_thread):
            # contact t, interaction number t * 1e6 + i
            pub.broadcast_to_contacts("created", uuid_n(t * 1000000 + i),
                                      [uuid_n(t)])
    threads = [threading.Thread(target=broadcast, args=(t,), name=f"b{t}")
               for t in range(threads_n)]
    for t in threads:
        t.start()
    seen = {t: [] for t in range(threads_n)}
    deadline = time.monotonic() + TIMEOUT
    total = threads_n * per_thread
    for _ in range(total):
        m = sub.next_message(max(0.0, deadline - time.monotonic()))
        assert m is not None, {t: len(v) for t, v in seen.items()}
        assert isinstance(m, crmpubsub.Crm), m
        seen[int(m.contact_uuid[-12:], 16)].append(
            int(m.interaction_uuid[-12:], 16))
    join_all(threads)
    assert pub.flush(TIMEOUT)
    st = pub.stats()
    assert st["broadcasts"] == st["acked"] == total
    assert st["delivered"] == total
    # Every broadcast exactly once, each thread's in its own order.
    for t in range(threads_n):
        assert seen[t] == [t * 1000000 + i for i in range(per_thread)]
    assert sub.next_message(0) is None


def test_the_gil_is_released_while_the_library_waits(daemon, clients):
    c = clients(daemon.sock, request_timeout=2.0)
    assert c.connected
    daemon.send_signal(signal.SIGSTOP)	# subscribe now waits 2 s in C
    returned = threading.Event()
    result = []

    def subscriber():
        result.append(c.subscribe(topic_n(1)))
        returned.set()
    t = threading.Thread(target=subscriber)
    t.start()
    # Python keeps running here while the other thread is inside the
    # library; had the call kept the GIL, this loop could only start once
    # the call had returned.
    spins, until = 0, time.monotonic() + 0.3
    while time.monotonic() < until:
        spins += 1
    assert not returned.is_set() and spins > 1000
    join_all([t])
    assert result == [False]		# pending: no reply within 2 s
    daemon.send_signal(signal.SIGCONT)
    m = c.next_message(TIMEOUT)
    assert m == crmpubsub.Resync("subscribed", 0)


def test_library_logging_from_its_threads_while_python_calls(daemon_factory,
                                                             clients):
    """Every refused broadcast logs, with the handle locked, from whichever
    thread reads the reply. Python threads keep calling meanwhile; nothing
    deadlocks and every refusal is logged once."""
    d = daemon_factory("--publish-uids", "54321")
    pub = clients(d.sock, "refused")

    def broadcast(t):
        for i in range(300):
            pub.broadcast_to_contacts("created", uuid_n(i), [uuid_n(t)])
            if i % 50 == 0:
                pub.stats()
    with captured_log(logging.WARNING) as records:
        threads = [threading.Thread(target=broadcast, args=(t,))
                   for t in range(4)]
        for t in threads:
            t.start()
        join_all(threads)
        assert pub.flush(TIMEOUT) is False
        assert pub.stats()["failed"] == 1200
    assert sum("broadcast refused: forbidden" in r.getMessage()
               for r in records) == 1200


def test_the_flusher_thread_logs_while_python_holds_the_client(daemon,
                                                               clients):
    """A broadcast queued while the daemon is away is sent by the library's
    own thread once the daemon is back, and that thread logs (handle
    locked) while this thread keeps calling into the same client."""
    c = clients(daemon.sock, "bg", reconnect_min=0.02, reconnect_max=0.1)
    daemon.stop(signal.SIGKILL)
    with captured_log(logging.DEBUG) as records:
        c.broadcast_to_contacts("created", uuid_n(1), [uuid_n(2)])
        daemon.start()

        def sent_in_background():
            c.stats()		# locks the handle; never drives it
            return daemon.stat("broadcasts") == 1
        assert wait_until(sent_in_background)
    # The library's thread is no Python thread: logging calls it Dummy-N.
    background = [r.getMessage() for r in records
                  if r.threadName.startswith("Dummy")]
    assert any("lost" in m for m in background), background
    assert any("connecting to" in m for m in background), background


def test_a_logging_handler_cannot_use_the_client(tmp_path, clients):
    errors = []
    holder = {}

    def reenter(record):
        c = holder.get("client")
        if c is not None:
            try:
                c.stats()
            except RuntimeError as e:
                errors.append(str(e))
    with captured_log(logging.DEBUG, reenter):
        c = clients(str(tmp_path / "none.sock"))
        holder["client"] = c
        # Drives a connection attempt, which logs from inside the library.
        c.next_message(0.3)
    assert errors and "logging handler" in errors[0]


def test_close_waits_for_calls_in_other_threads(daemon, clients):
    c = clients(daemon.sock, request_timeout=0.5)
    assert c.connected
    daemon.send_signal(signal.SIGSTOP)
    started, result = [], []

    def subscriber():
        started.append(time.monotonic())
        result.append(c.subscribe(topic_n(1)))
    t = threading.Thread(target=subscriber)
    t.start()
    assert wait_until(lambda: c._users == 1, 2)
    c.close()		# must not free the handle under the subscribe
    closed_at = time.monotonic()
    join_all([t])
    daemon.send_signal(signal.SIGCONT)
    # The subscribe ran its course (0.5 s without a reply) before the
    # handle went away.
    assert result == [False]
    assert closed_at - started[0] >= 0.45


def test_broadcasting_threads_and_close(daemon, clients):
    c = clients(daemon.sock)
    outcomes = []

    def broadcast():
        try:
            while True:
                c.broadcast_to_contacts("created", uuid_n(1), [uuid_n(2)])
        except ValueError as e:		# closed under us: a clean error
            outcomes.append(str(e))
    threads = [threading.Thread(target=broadcast) for _ in range(4)]
    for t in threads:
        t.start()
    assert wait_until(lambda: daemon.stat("broadcasts") > 100)
    c.close()
    join_all(threads)
    assert len(outcomes) == 4 and all("closed" in o for o in outcomes)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork")
def test_a_forked_child_cannot_use_the_parents_client(daemon, clients):
    c = clients(daemon.sock)
    c.broadcast_to_contacts("created", uuid_n(1), [uuid_n(2)])
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:		# the child: report, never return into pytest
        try:
            c.stats()
            msg = b"usable"
        except ValueError as e:
            msg = str(e).encode()
        os.write(w, msg)
        os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        said = f.read()
    _, status = os.waitpid(pid, 0)
    assert status == 0
    assert b"forked" in said
    assert c.flush(5)		# the parent's client is untouched
