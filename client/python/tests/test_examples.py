# SPDX-License-Identifier: MIT — crmpubsub
"""The Python example programs behave as the C ones: the same arguments,
output lines and exit status, and either writer reaches either
subscriber."""

import itertools

import pytest

from crmtest import EXAMPLES, Peer, python_env, uuid_n

U1, U2, I = uuid_n(1), uuid_n(2), uuid_n(0xaa)


@pytest.mark.parametrize("writer,subscriber",
                         itertools.product(EXAMPLES, EXAMPLES))
def test_writer_to_subscriber(daemon, writer, subscriber):
    sub = Peer(EXAMPLES[subscriber][0] +
               ["-s", daemon.sock, "-n", "2", "-t", "10", U1, U2],
               env=python_env())
    try:
        assert sub.line() == "subscribed 2", sub.describe()
        w = Peer(EXAMPLES[writer][1] +
                 ["-s", daemon.sock, "interaction_created", I, U1, "-", U2],
                 env=python_env())
        out = [w.line() for _ in range(4)]
        assert w.wait() == 0, w.describe()
        w.stop()
        assert out == [f"involved {U1}", f"involved {U2}",
                       "acknowledged, delivered 2", None]
        got = {sub.line(), sub.line()}
        assert got == {f"crm interaction_created {U1} {I}",
                       f"crm interaction_created {U2} {I}"}
        assert sub.wait() == 0, sub.describe()
    finally:
        sub.stop()


@pytest.mark.parametrize("lang", EXAMPLES)
def test_to_contacts_and_refusal(daemon_factory, lang):
    d = daemon_factory("--publish-uids", "54321")
    w = Peer(EXAMPLES[lang][1] + ["-s", d.sock, "-c", "interaction_deleted",
                                  I, U1], env=python_env())
    line = w.line()
    assert w.wait() == 1
    w.stop()
    assert line == "not acknowledged (acked 0 failed 1 rejected 0 " \
                   "dropped 0 lost 0 pending 0)"


@pytest.mark.parametrize("lang", EXAMPLES)
def test_shutdown_and_resync_lines(daemon, lang):
    sub = Peer(EXAMPLES[lang][0] + ["-s", daemon.sock, "-t", "10", U1],
               env=python_env())
    try:
        assert sub.line() == "subscribed 1", sub.describe()
        daemon.restart()
        assert sub.line() == "shutdown"
        assert sub.line() == "resync reconnected 0"
    finally:
        sub.stop()
