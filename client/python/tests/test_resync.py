# SPDX-License-Identifier: MIT — crmpubsub
"""Every loss reaches the Python API as a Resync: a daemon restarted or
killed under a subscriber (reconnected, topics live again), a subscriber
too slow for the daemon (lagged, with the count), a full message queue in
the library (overflow)."""

import signal
import time

import pytest

import crmpubsub
from crmtest import TIMEOUT, interaction, topic_n, uuid_n


def messages_until(client, stop, timeout=TIMEOUT):
    """Messages read until stop(message) is true (that one included);
    fails when the wait exceeds timeout."""
    got = []
    deadline = time.monotonic() + timeout
    while True:
        m = client.next_message(max(0.0, deadline - time.monotonic()))
        assert m is not None, f"timed out after {got[-5:]}"
        got.append(m)
        if stop(m):
            return got


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_daemon_restarted_under_a_subscriber(daemon, clients, sig):
    sub = clients(daemon.sock, "follower")
    assert sub.subscribe(topic_n(1)) and sub.subscribe(topic_n(2))
    daemon.stop(sig)
    daemon.start()
    got = messages_until(sub, lambda m: isinstance(m, crmpubsub.Resync))
    # A clean stop says so first; a crash just drops the connection.
    want = [crmpubsub.Shutdown()] if sig == signal.SIGTERM else []
    assert got == want + [crmpubsub.Resync("reconnected", 0)]
    # Both topics are live again in the new daemon.
    assert daemon.stat("subscriptions") == 2
    with crmpubsub.Client(daemon.sock) as pub:
        pub.broadcast_interaction("updated", interaction(9, 1, [2]))
        assert pub.flush(5)
    got = {sub.next_message(5), sub.next_message(5)}
    assert {m.contact_uuid for m in got} == {uuid_n(1), uuid_n(2)}
    st = sub.stats()
    assert st["connects"] == 2 and st["disconnects"] == 1
    assert st["resyncs"] == 1


def test_writer_survives_a_restart(daemon, clients):
    pub = clients(daemon.sock, reconnect_min=0.02)
    pub.broadcast_to_contacts("created", uuid_n(1), [uuid_n(2)])
    assert pub.flush(5)
    daemon.stop(signal.SIGKILL)
    for i in range(50):		# into a dead socket: never raises
        pub.broadcast_to_contacts("created", uuid_n(i), [uuid_n(2)])
    daemon.start()
    pub.flush(5)	# what was written before the loss is lost
    pub.broadcast_to_contacts("created", uuid_n(99), [uuid_n(2)])
    assert pub.flush(5) is True
    st = pub.stats()
    assert st["acked"] >= 2 and st["pending"] == 0
    assert st["broadcasts"] == 52 == st["acked"] + st["lost"] + st["dropped"]


def read_counting(client, n, reason):
    """Reads until n pushes are accounted for, as Crm messages or as
    dropped by Resync(reason) messages: (the Crm messages, the resyncs).
    Fails when anything else comes or the wait exceeds TIMEOUT."""
    crms, resyncs = [], []
    deadline = time.monotonic() + TIMEOUT
    while len(crms) + sum(r.dropped for r in resyncs) < n:
        m = client.next_message(max(0.0, deadline - time.monotonic()))
        assert m is not None, f"{len(crms)} pushes and {resyncs} after " \
            f"{TIMEOUT} s"
        if isinstance(m, crmpubsub.Resync):
            assert m.reason == reason and m.dropped > 0, m
            resyncs.append(m)
        else:
            assert isinstance(m, crmpubsub.Crm), m
            crms.append(m)
    return crms, resyncs


def test_stuck_subscriber_gets_lagged_with_the_count(daemon_factory, clients):
    d = daemon_factory("--max-outbuf", "4096")
    sub = clients(d.sock, "stuck")
    pub = clients(d.sock, "writer")
    assert sub.subscribe(topic_n(1))
    # sub makes no call meanwhile, so nothing reads its socket: pushes pile
    # up in the daemon beyond its 4 KiB and the daemon drops them.
    n = 5000
    for i in range(n):
        pub.broadcast_to_contacts("created", uuid_n(i), [uuid_n(1)])
    assert pub.flush(TIMEOUT)
    assert pub.stats()["acked"] == n
    crms, resyncs = read_counting(sub, n, "lagged")
    # Each push either arrived, in broadcast order, or was counted as
    # dropped by a resync; the daemon agrees.
    assert resyncs and len(crms) < n
    seq = [int(m.interaction_uuid[-12:], 16) for m in crms]
    assert seq == sorted(seq) and len(set(seq)) == len(seq)
    assert d.stat("dropped") == sum(r.dropped for r in resyncs)
    assert d.stat("resyncs") == len(resyncs)
    assert sub.next_message(0) is None


def test_library_queue_overflow(daemon, clients):
    sub = clients(daemon.sock, max_messages=5)
    pub = clients(daemon.sock)
    assert sub.subscribe(topic_n(1))
    n = 50
    for i in range(n):
        pub.broadcast_to_contacts("created", uuid_n(i), [uuid_n(1)])
    assert pub.flush(5)
    crms, resyncs = read_counting(sub, n, "overflow")
    dropped = sum(r.dropped for r in resyncs)
    assert resyncs and len(crms) + dropped == n
    assert sub.stats()["messages_dropped"] == dropped
