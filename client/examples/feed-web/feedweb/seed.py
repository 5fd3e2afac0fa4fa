# SPDX-License-Identifier: MIT — crmpubsub
"""python3 -m feedweb.seed URL: a few demo contacts and interactions,
written through the JSON API of the server at URL (as any writer would,
so open pages refresh as they arrive). Waits up to 10 s for the server.
Prints each contact's page, one a line."""

from __future__ import annotations

import datetime
import json
import sys
import time
import urllib.error
import urllib.request

CONTACTS = ["Ada Lovelace", "Grace Hopper", "Alan Turing",
            "Katherine Johnson", "Edsger Dijkstra"]

# (hours ago, subject contact, text, party contacts, free-text parties)
INTERACTIONS = [
    (50, 0, "Intro call: analytical engine maintenance contract", [1], []),
    (27, 1, "Sent the COBOL migration proposal", [0, 2], ["Sam (Initech)"]),
    (6, 2, "Meeting about the Bombe upgrade", [4], []),
    (2, 3, "Trajectory review, follow-up email", [0], ["Mission control"]),
]


def call(base: str, method: str, path: str, body=None) -> dict:
    """One JSON request; its answer."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base.rstrip("/") + path, data=data,
                                 method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


def wait_up(base: str, timeout: float = 10.0) -> None:
    """Returns once the server answers; raises after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            call(base, "GET", "/api/contacts")
            return
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def seed(base: str) -> list:
    """Writes the demo data; the contacts' UUIDs."""
    wait_up(base)
    uuids = [call(base, "POST", "/api/contacts", {"name": n})["uuid"]
             for n in CONTACTS]
    now = datetime.datetime.now(datetime.timezone.utc)
    for hours, subject, text, parties, free in INTERACTIONS:
        at = now - datetime.timedelta(hours=hours)
        call(base, "POST", "/api/interactions", {
            "contact_uuid": uuids[subject], "subject": text,
            "occurred_at": at.isoformat(),
            "parties": [{"contact_uuid": uuids[p]} for p in parties] +
                       [{"contact_uuid": None, "raw_name": f} for f in free]})
    return uuids


def main(argv) -> int:
    if len(argv) != 2:
        print("usage: python3 -m feedweb.seed URL", file=sys.stderr)
        return 2
    try:
        uuids = seed(argv[1])
    except (urllib.error.URLError, ConnectionError, OSError) as e:
        print(f"feedweb.seed: {argv[1]}: {e}", file=sys.stderr)
        return 1
    for name, u in zip(CONTACTS, uuids):
        print(f"  {name:<18} {argv[1].rstrip('/')}/contacts/{u}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
