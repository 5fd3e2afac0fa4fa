#!/usr/bin/python3
# SPDX-License-Identifier: MIT — crmpubsub
"""Example writer: broadcasts one interaction change to its involved
contacts, the way a CRM process does after committing it; the lines and
exit status of client/examples/writer.c.

    writer.py [-s SOCKET] EVENT INTERACTION_UUID SUBJECT_UUID|- [PARTY_UUID|- ...]
    writer.py [-s SOCKET] -c EVENT INTERACTION_UUID CONTACT_UUID...

"-" stands for "no contact" (no subject, or an unresolved party). -c sends
broadcast_to_contacts instead. Broadcasts are best effort; the program then
flushes to report whether the daemon got it: "acknowledged, delivered N"
(exit 0) or "not acknowledged (...)" (exit 1). Run from the tree:
PYTHONPATH=client/python."""

import argparse
import logging
import sys

import crmpubsub


def main() -> int:
    p = argparse.ArgumentParser(prog="writer.py")
    p.add_argument("-s", dest="socket", help="the daemon's socket")
    p.add_argument("-c", dest="to_contacts", action="store_true",
                   help="broadcast_to_contacts")
    p.add_argument("event", choices=crmpubsub.EVENTS + (
        "created", "updated", "deleted"))
    p.add_argument("interaction_uuid")
    p.add_argument("contacts", nargs="+", metavar="CONTACT_UUID|-")
    a = p.parse_args()
    logging.basicConfig(level=logging.WARNING, format="writer: %(message)s")
    contacts = [None if u == "-" else u for u in a.contacts]
    with crmpubsub.Client(a.socket, "example-writer") as c:
        try:
            if a.to_contacts:
                c.broadcast_to_contacts(a.event, a.interaction_uuid, contacts)
            else:
                interaction = {
                    "uuid": a.interaction_uuid, "contact_uuid": contacts[0],
                    "parties": [{"contact_uuid": u} for u in contacts[1:]]}
                for u in crmpubsub.involved_contact_uuids(interaction):
                    print(f"involved {u}")
                c.broadcast_interaction(a.event, interaction)
        except ValueError as e:
            print(f"writer: {e}", file=sys.stderr)
            return 2
        ok = c.flush(2.0)	# optional: wait for the acknowledgement
        st = c.stats()
    if ok:
        print(f"acknowledged, delivered {st['delivered']}")
        return 0
    print("not acknowledged (acked {acked} failed {failed} rejected "
          "{rejected} dropped {dropped} lost {lost} pending {pending})"
          .format(**st))
    return 1


if __name__ == "__main__":
    sys.exit(main())
