# SPDX-License-Identifier: MIT — crmpubsub
"""What a subscriber receives: Crm, Resync and Shutdown, built from
struct crmpubsub_message."""

from __future__ import annotations

from typing import NamedTuple, Optional, Union

from ._args import EVENTS


class Crm(NamedTuple):
    """An interaction changed: {:crm, event, %{interaction_uuid: ...}}.
    event is the full name ("interaction_created"...); topic the canonical
    topic it came on; contact_uuid that topic's contact; every UUID is
    lowercase."""
    event: str
    topic: str
    contact_uuid: str
    interaction_uuid: str


class Resync(NamedTuple):
    """Pushes may have been lost: refetch every feed shown. reason is
    "lagged", "reconnected", "overflow", "subscribed" or "federation"
    (treat them all alike); dropped counts the pushes known lost, 0 when
    unknown."""
    reason: str
    dropped: int


class Shutdown(NamedTuple):
    """The daemon is stopping (the client reconnects when it is back)."""


Message = Union[Crm, Resync, Shutdown]

# enum crmpubsub_resync_reason, from 1.
RESYNC_REASONS = ("lagged", "reconnected", "overflow", "subscribed",
                  "federation")

_MSG_CRM, _MSG_RESYNC, _MSG_SHUTDOWN = 1, 2, 3
_SHUTDOWN = Shutdown()


def from_c(m) -> Optional[Message]:
    """The Python message of a struct crmpubsub_message; None for a type
    this package does not know (a newer library's)."""
    t = m.type
    if t == _MSG_CRM:
        e = m.event
        return Crm(EVENTS[e] if 0 <= e < len(EVENTS) else f"event {e}",
                   m.topic.decode("ascii"),
                   m.contact_uuid.decode("ascii"),
                   m.interaction_uuid.decode("ascii"))
    if t == _MSG_RESYNC:
        r = m.reason
        reason = RESYNC_REASONS[r - 1] if 1 <= r <= len(RESYNC_REASONS) \
            else f"reason {r}"
        return Resync(reason, m.dropped)
    if t == _MSG_SHUTDOWN:
        return _SHUTDOWN
    return None
