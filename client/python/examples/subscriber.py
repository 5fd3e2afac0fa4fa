#!/usr/bin/python3
# SPDX-License-Identifier: MIT — crmpubsub
"""Example subscriber: follows the interaction feeds of some contacts and
prints one line per message, the lines of client/examples/subscriber.c.

    subscriber.py [-s SOCKET] [-n COUNT] [-t SECONDS] CONTACT_UUID...

Output lines:
    subscribed N [pending]             once the feeds are live (or pending)
    crm EVENT CONTACT_UUID INTERACTION_UUID
    resync REASON DROPPED              refetch every feed shown
    shutdown                           the daemon is stopping
It exits after COUNT messages (-n), after SECONDS without a message (-t),
or on SIGINT/SIGTERM. Run from the tree: PYTHONPATH=client/python."""

import argparse
import logging
import signal
import sys

import crmpubsub


def line(m) -> str:
    """The output line of a message."""
    if isinstance(m, crmpubsub.Crm):
        return f"crm {m.event} {m.contact_uuid} {m.interaction_uuid}"
    if isinstance(m, crmpubsub.Resync):
        return f"resync {m.reason} {m.dropped}"
    return "shutdown"


def main() -> int:
    p = argparse.ArgumentParser(prog="subscriber.py")
    p.add_argument("-s", dest="socket", help="the daemon's socket")
    p.add_argument("-n", dest="count", type=int, default=-1,
                   help="exit after COUNT messages")
    p.add_argument("-t", dest="idle", type=float, default=None,
                   help="exit after SECONDS without a message")
    p.add_argument("contacts", nargs="+", metavar="CONTACT_UUID")
    a = p.parse_args()
    logging.basicConfig(level=logging.WARNING,
                        format="subscriber: %(message)s")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        topics = [crmpubsub.topic_contact_interactions(u)
                  for u in a.contacts]
    except ValueError as e:
        print(f"subscriber: {e}", file=sys.stderr)
        return 2
    with crmpubsub.Client(a.socket, "example-subscriber") as c:
        live = c.subscribe_many(topics)
        print(f"subscribed {len(topics)}{'' if live else ' pending'}",
              flush=True)
        left = a.count
        try:
            while left != 0:
                m = c.next_message(a.idle)
                if m is None:
                    break		# idle for -t seconds
                print(line(m), flush=True)
                left -= 1
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
