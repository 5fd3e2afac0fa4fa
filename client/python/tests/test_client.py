# SPDX-License-Identifier: MIT — crmpubsub
"""Client against the real daemon: subscribing, both broadcasts, receiving,
flush, stats, options, closing; and every bad argument."""

import errno
import logging
import os
import resource
import select
import signal
import sys
import threading
import time
import types
import uuid

import pytest

import crmpubsub
from conftest import need
from crmtest import Peer, interaction, python_env, topic_n, uuid_n, wait_until


def crm(event, n_contact, n_interaction):
    """The Crm message a subscriber of contact n_contact receives."""
    return crmpubsub.Crm(event, topic_n(n_contact), uuid_n(n_contact),
                         uuid_n(n_interaction))


def test_subscribe_broadcast_interaction_receive(daemon, clients):
    sub = clients(daemon.sock, "sub")
    pub = clients(daemon.sock, "pub")
    assert sub.subscribe(topic_n(1)) is True
    assert sub.subscribe_contact(uuid.UUID(uuid_n(2))) is True
    assert sub.subscriptions == 2
    pub.broadcast_interaction("interaction_created",
                              interaction(100, 1, [2, None, 3]))
    assert pub.flush() is True
    got = {sub.next_message(5), sub.next_message(5)}
    assert got == {crm("interaction_created", 1, 100),
                   crm("interaction_created", 2, 100)}
    assert sub.next_message(0) is None
    st = pub.stats()
    assert (st["broadcasts"], st["acked"], st["delivered"]) == (1, 1, 2)


@pytest.mark.parametrize("event,full", [
    ("created", "interaction_created"), ("updated", "interaction_updated"),
    ("deleted", "interaction_deleted"),
    ("interaction_deleted", "interaction_deleted")])
def test_short_and_full_event_names(daemon, clients, event, full):
    sub = clients(daemon.sock)
    assert sub.subscribe(topic_n(1))
    sub.broadcast_to_contacts(event, uuid_n(9), [uuid_n(1)])
    assert sub.next_message(5) == crm(full, 1, 9)


def test_objects_uppercase_and_uuid_objects(daemon, clients):
    sub = clients(daemon.sock)
    assert sub.subscribe(topic_n(1).upper().replace("CRM:CONTACT:", "crm:contact:")
                         .replace(":INTERACTIONS", ":interactions"))
    party = types.SimpleNamespace(contact_uuid=uuid.UUID(uuid_n(1)))
    it = types.SimpleNamespace(uuid=uuid_n(7).upper(), contact_uuid=None,
                               parties=[party])
    sub.broadcast_interaction("updated", it)
    assert sub.next_message(5) == crm("interaction_updated", 1, 7)


def test_broadcast_to_contacts_skips_none_and_duplicates(daemon, clients):
    sub = clients(daemon.sock)
    pub = clients(daemon.sock)
    assert sub.subscribe_many([topic_n(1), topic_n(2)])
    pub.broadcast_to_contacts("deleted", uuid_n(50),
                              (u for u in [uuid_n(1), None, uuid_n(1).upper(),
                                           uuid_n(2), uuid_n(3)]))
    assert pub.flush()
    got = sorted([sub.next_message(5), sub.next_message(5)])
    assert got == sorted([crm("interaction_deleted", 1, 50),
                          crm("interaction_deleted", 2, 50)])
    assert pub.stats()["delivered"] == 2
    assert sub.next_message(0) is None


def test_one_push_per_topic_held(daemon, clients):
    c = clients(daemon.sock)
    assert c.subscribe(topic_n(1)) and c.subscribe(topic_n(2))
    c.broadcast_interaction("created", interaction(60, 1, [2]))
    got = [c.next_message(5), c.next_message(5)]
    assert sorted(m.contact_uuid for m in got) == [uuid_n(1), uuid_n(2)]


def test_unsubscribe_one_then_all(daemon, clients):
    sub = clients(daemon.sock)
    pub = clients(daemon.sock)
    assert sub.subscribe(topic_n(1)) and sub.subscribe(topic_n(2))
    sub.unsubscribe(topic_n(1))
    assert sub.subscriptions == 1
    # Pushes keep broadcast order: had topic 1 still been followed, its
    # push would come before topic 2's.
    pub.broadcast_to_contacts("created", uuid_n(70), [uuid_n(1)])
    pub.broadcast_to_contacts("created", uuid_n(71), [uuid_n(2)])
    assert sub.next_message(5) == crm("interaction_created", 2, 71)
    sub.unsubscribe(topic_n(1))		# not held: a no-op
    sub.unsubscribe()
    assert sub.subscriptions == 0
    assert wait_until(lambda: daemon.stat("subscriptions") == 0)


def test_flush_and_stats(daemon, clients):
    c = clients(daemon.sock)
    assert c.flush(0) is True		# nothing pending
    for i in range(100):
        c.broadcast_interaction("created", interaction(i, 1))
    assert c.flush(5) is True
    st = c.stats()
    assert list(st) == ["broadcasts", "acked", "failed", "rejected",
                        "dropped", "lost", "pending", "delivered", "connects",
                        "connect_failures", "disconnects", "messages",
                        "messages_dropped", "resyncs", "errors"]
    assert st["broadcasts"] == st["acked"] == 100
    assert st["connects"] == 1 and st["pending"] == 0
    assert daemon.stat("broadcasts") == 100
    assert c.flush(None) is True


def test_refused_broadcasts_never_raise_and_are_logged(daemon_factory,
                                                       clients, caplog):
    d = daemon_factory("--publish-uids", "54321")	# not us, not root
    c = clients(d.sock, "refused")
    with caplog.at_level(logging.WARNING, logger="crmpubsub"):
        c.broadcast_interaction("created", interaction(1, 2))
        c.broadcast_to_contacts("created", uuid_n(1), [uuid_n(2)])
        assert c.flush(5) is False
    st = c.stats()
    assert st["failed"] == 2 and st["acked"] == 0
    assert st["broadcasts"] == st["failed"] + st["rejected"] + st["dropped"] \
        + st["lost"] + st["pending"] + st["acked"]
    refusals = [r.getMessage() for r in caplog.records
                if r.name == "crmpubsub" and r.levelno == logging.WARNING
                and "forbidden" in r.getMessage()]
    # One line per refusal, carrying the client's name.
    assert len(refusals) == 2, refusals
    assert all(m.startswith("refused: broadcast refused: forbidden")
               for m in refusals), refusals
    assert c.flush(1) is True		# nothing failed since


def test_no_daemon_nothing_raises_then_subscription_goes_live(
        daemon_factory, clients, caplog, tmp_path):
    path = str(tmp_path / "later.sock")
    with caplog.at_level(logging.WARNING, logger="crmpubsub"):
        sub = clients(path, reconnect_min=0.05, reconnect_max=0.2)
        pub = clients(path)
    assert any("cannot connect" in r.getMessage() for r in caplog.records)
    assert not sub.connected and sub.client_id is None
    assert sub.subscribe(topic_n(1)) is False		# held, pending
    pub.broadcast_interaction("created", interaction(1, 1))
    assert pub.flush(0.1) is False
    assert sub.next_message(0.05) is None
    d = daemon_factory()
    d.stop()
    # A daemon at exactly that path: the pending subscription goes live.
    d.sock = path
    d.start()
    # The resync that says "live now". libcrmpubsub 1.0.0 names it
    # "reconnected" when the subscription was made before any connection
    # (it re-subscribes every held topic on connecting), "subscribed" when
    # a connected subscribe timed out; both mean "refetch".
    m = sub.next_message(10)
    assert isinstance(m, crmpubsub.Resync) and m.dropped == 0
    assert m.reason in ("subscribed", "reconnected")
    assert sub.connected and sub.client_id is not None
    pub.broadcast_interaction("created", interaction(2, 1))
    m = sub.next_message(10)
    if m == crm("interaction_created", 1, 1):	# the queued one, if it
        m = sub.next_message(10)		# came after the resync
    assert m == crm("interaction_created", 1, 2)


def test_max_subscriptions_refusal_raises(daemon_factory, clients):
    d = daemon_factory("--max-subscriptions", "2")
    c = clients(d.sock)
    assert c.subscribe(topic_n(1)) and c.subscribe(topic_n(2))
    with pytest.raises(crmpubsub.SubscribeError) as e:
        c.subscribe(topic_n(3))
    assert e.value.errno == errno.E2BIG
    assert c.subscriptions == 2


def test_bad_arguments_raise_and_send_nothing(daemon, clients):
    c = clients(daemon.sock)
    it = interaction(1, 2, [3])
    cases = [
        (ValueError, c.subscribe, "crm:nope"),
        (ValueError, c.subscribe, topic_n(1) + "\0"),
        (TypeError, c.subscribe, 5),
        (ValueError, c.subscribe_many, [topic_n(1), "x"]),
        (TypeError, c.subscribe_many, topic_n(1)),
        (ValueError, c.unsubscribe, "x"),
        (TypeError, c.unsubscribe, b"x"),
        (ValueError, c.subscribe_contact, "x"),
        (ValueError, c.broadcast_interaction, "created!", it),
        (ValueError, c.broadcast_interaction, None, it),
        (ValueError, c.broadcast_interaction, "created", {**it, "uuid": None}),
        (ValueError, c.broadcast_interaction, "created", {**it, "uuid": "x"}),
        (ValueError, c.broadcast_interaction, "created",
         {**it, "contact_uuid": uuid_n(1) + " "}),
        (ValueError, c.broadcast_interaction, "created",
         {**it, "parties": [{"contact_uuid": "x"}]}),
        (TypeError, c.broadcast_interaction, "created", None),
        (TypeError, c.broadcast_interaction, "created", uuid_n(1)),
        (TypeError, c.broadcast_interaction, "created", {**it, "uuid": 1}),
        (ValueError, c.broadcast_to_contacts, "x", uuid_n(1), []),
        (ValueError, c.broadcast_to_contacts, "created", "x", []),
        (ValueError, c.broadcast_to_contacts, "created", None, []),
        (ValueError, c.broadcast_to_contacts, "created", uuid_n(1), ["x"]),
        (TypeError, c.broadcast_to_contacts, "created", uuid_n(1), uuid_n(2)),
        (TypeError, c.broadcast_to_contacts, "created", uuid_n(1), 5),
        (TypeError, c.broadcast_to_contacts, "created", uuid_n(1), [5]),
        (ValueError, c.flush, -1),
        (TypeError, c.flush, "1"),
        (ValueError, c.next_message, -0.5),
    ]
    for exc, fn, *args in cases:
        with pytest.raises(exc):
            fn(*args)
    st = c.stats()
    assert st["broadcasts"] == 0 and st["errors"] == 0
    assert c.subscriptions == 0
    assert daemon.stat("errors") == 0


def test_uuid_rule_matches_the_library(daemon, clients):
    """A broadcast raises for exactly the strings the library's own check
    (topic_contact_interactions) refuses."""
    c = clients(daemon.sock)
    u = uuid_n(0xabc)
    for s in [u, u.upper(), u[:-1], u + "a", u.replace("-", "_"), " " + u[1:],
              u[:8] + u[9:] + "0", u[:-1] + "G", u[:-1] + "é", "x" * 36]:
        try:
            crmpubsub.topic_contact_interactions(s)
            library_accepts = True
        except ValueError:
            library_accepts = False
        try:
            c.broadcast_to_contacts("created", s, [])
            binding_accepts = True
        except ValueError:
            binding_accepts = False
        assert binding_accepts == library_accepts, s
    assert c.flush(5)
    assert c.stats()["rejected"] == 0


def test_client_options(daemon, clients):
    with pytest.raises(TypeError):
        crmpubsub.Client(daemon.sock, colour="blue")
    with pytest.raises(ValueError):
        crmpubsub.Client(daemon.sock, request_timeout=-1)
    with pytest.raises(ValueError):
        crmpubsub.Client(daemon.sock, max_messages=0)
    with pytest.raises(ValueError):
        crmpubsub.Client(daemon.sock, coalesce_delay=2.0)
    with pytest.raises(ValueError):
        crmpubsub.Client(daemon.sock, name="n" * 129)
    with pytest.raises(ValueError):
        crmpubsub.Client(daemon.sock + "\0")
    with pytest.raises(ValueError):
        crmpubsub.Client("/tmp/" + "x" * 200)
    c = clients(daemon.sock, "opts", coalesce_delay=0, coalesce_bytes=1,
                broadcast_timeout=0.05, connect_timeout=2, max_queue_bytes=4096,
                max_messages=3)
    c.broadcast_to_contacts("created", uuid_n(1), [])
    assert c.flush(5)


def test_name_is_shown_by_the_daemon(daemon, clients):
    c = clients(daemon.sock, "invoice-worker ✓")
    assert c.connected
    names = {x["id"]: x["name"] for x in
             daemon.request({"op": "clients"})["clients"]}
    assert names[c.client_id] == "invoice-worker ✓"
    assert "invoice-worker" in repr(c)


def test_default_socket_resolution(daemon, clients, monkeypatch):
    monkeypatch.setenv("CRMPUBSUB_SOCKET", daemon.sock)
    c = clients()
    assert c.connected


def test_next_message_timeouts_are_bounded(daemon, clients):
    c = clients(daemon.sock)
    assert c.next_message(0) is None
    t0 = time.monotonic()
    assert c.next_message(0.2) is None
    assert 0.15 <= time.monotonic() - t0 < 5


def test_fileno_is_readable_when_a_message_waits(daemon, clients):
    sub = clients(daemon.sock)
    fd = sub.fileno()
    assert isinstance(fd, int) and fd >= 0
    assert sub.subscribe(topic_n(1))
    while select.select([fd], [], [], 0)[0]:	# drain what is readable
        assert sub.next_message(0) is None
    sub.broadcast_to_contacts("created", uuid_n(5), [uuid_n(1)])
    assert sub.flush(5)
    assert select.select([fd], [], [], 5)[0] == [fd]
    assert sub.next_message(0) == crm("interaction_created", 1, 5)


def test_messages_iterator_ends_when_closed(daemon, clients):
    sub = clients(daemon.sock)
    pub = clients(daemon.sock)
    assert sub.subscribe(topic_n(1))
    got = []
    t = threading.Thread(target=lambda: got.extend(sub.messages()))
    t.start()
    for i in range(10):
        pub.broadcast_to_contacts("created", uuid_n(i), [uuid_n(1)])
    assert pub.flush(5)
    assert wait_until(lambda: len(got) == 10)
    sub.close()
    t.join(10)
    assert not t.is_alive()
    assert got == [crm("interaction_created", 1, i) for i in range(10)]


def test_close_wakes_a_blocked_next_message(daemon, clients):
    c = clients(daemon.sock)
    result = []
    t = threading.Thread(target=lambda: result.append(c.next_message()))
    t.start()
    assert not wait_until(lambda: result, 0.2)
    c.close()
    t.join(10)
    assert result == [None]


def test_closed_client(daemon):
    with crmpubsub.Client(daemon.sock) as c:
        assert not c.closed
    assert c.closed
    c.close()	# idempotent
    for fn, args in [(c.subscribe, (topic_n(1),)), (c.unsubscribe, ()),
                     (c.broadcast_interaction, ("created", interaction(1))),
                     (c.broadcast_to_contacts, ("created", uuid_n(1), [])),
                     (c.flush, ()), (c.next_message, (0,)), (c.fileno, ()),
                     (c.stats, ())]:
        with pytest.raises(ValueError, match="closed"):
            fn(*args)
    assert list(c.messages()) == []
    assert "closed" in repr(c)


def test_shutdown_message(daemon, clients):
    c = clients(daemon.sock)
    assert c.subscribe(topic_n(1))
    daemon.stop(signal.SIGTERM)
    assert c.next_message(10) == crmpubsub.Shutdown()


def test_ctrl_c_interrupts_a_blocked_next_message(daemon):
    code = ("import crmpubsub, sys\n"
            f"c = crmpubsub.Client({daemon.sock!r})\n"
            "try:\n"
            "    print('waiting', flush=True)\n"
            "    c.next_message()\n"
            "except KeyboardInterrupt:\n"
            "    print('interrupted', flush=True)\n")
    p = Peer([sys.executable, "-c", code], env=python_env())
    try:
        assert p.line() == "waiting", p.describe()

        def asleep():	# the main thread blocked (in poll), not running
            with open(f"/proc/{p.proc.pid}/stat") as f:
                return f.read().rsplit(")", 1)[1].split()[0] == "S"
        assert wait_until(asleep)
        p.proc.send_signal(signal.SIGINT)
        assert p.line(5) == "interrupted", p.describe()
        assert p.wait() == 0, p.describe()
    finally:
        p.stop()


def test_descriptors_above_fd_setsize(daemon, clients):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need(hard == resource.RLIM_INFINITY or hard >= 1200,
         "a descriptor limit of at least 1200")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200), hard))
    fillers = []
    try:
        while len(fillers) < 1100:
            fillers.append(os.open(os.devnull, os.O_RDONLY))
        sub = clients(daemon.sock)
        assert sub.fileno() > 1024
        assert sub.subscribe(topic_n(1))
        assert sub.next_message(0.05) is None
        sub.broadcast_to_contacts("created", uuid_n(3), [uuid_n(1)])
        assert sub.next_message(5) == crm("interaction_created", 1, 3)
        sub.close()
    finally:
        for fd in fillers:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
