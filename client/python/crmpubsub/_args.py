# SPDX-License-Identifier: MIT — crmpubsub
"""Turns the caller's Python values into what libcrmpubsub takes: event
numbers, UUIDs and topics as bytes, interactions as struct
crmpubsub_interaction.

Arguments that could never be sent are the caller's bug and raise at once:
TypeError for a value of the wrong type, ValueError for an unknown event or
a string that is not a UUID. (The library checks again and would only
count and log them; raising here is what a Python caller expects.)"""

from __future__ import annotations

import ctypes
import re
import uuid as _uuid
from collections.abc import Mapping

from ._lib import Interaction

EVENTS = ("interaction_created", "interaction_updated", "interaction_deleted")

# Event names, full and short, to the library's enum crmpubsub_event.
_EVENT_NUMBERS = {}
for _number, _name in enumerate(EVENTS):
    _EVENT_NUMBERS[_name] = _number
    _EVENT_NUMBERS[_name[len("interaction_"):]] = _number

# The library's rule (proto/uuid_canon.c): 36 characters, hex digits of
# either case with dashes at 8, 13, 18 and 23.
_UUID_RE = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-"
                      r"[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")


def event_number(event) -> int:
    """The enum value of an event name ("interaction_created" or
    "created"...)."""
    try:
        return _EVENT_NUMBERS[event]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown event {event!r}: one of {', '.join(EVENTS)} "
            f"(or created, updated, deleted)") from None


# UUID strings already checked, to their bytes: contacts recur across
# broadcasts, and a lookup costs a tenth of a check. Bounded (emptied when
# full); safe under the GIL.
_checked = {}
_CHECKED_MAX = 65536


def uuid_bytes(value, what: str, nullable: bool, remember: bool = True):
    """A UUID (str or uuid.UUID) as ASCII bytes, checked; None passes when
    nullable. remember: keep it in _checked (contacts, not interactions:
    those rarely recur)."""
    if type(value) is str:
        b = _checked.get(value)
        if b is not None:
            return b
        if _UUID_RE.fullmatch(value) is None:
            raise ValueError(f"{what} is not a UUID: {value!r}")
        b = value.encode("ascii")
        if remember:
            if len(_checked) >= _CHECKED_MAX:
                _checked.clear()
            _checked[value] = b
        return b
    if value is None:
        if nullable:
            return None
        raise ValueError(f"{what} is required")
    if isinstance(value, str):	# a str subclass: checked, not remembered
        if _UUID_RE.fullmatch(value) is None:
            raise ValueError(f"{what} is not a UUID: {value!r}")
        return str(value).encode("ascii")
    if isinstance(value, _uuid.UUID):
        return str(value).encode("ascii")
    raise TypeError(f"{what} must be a str or uuid.UUID, "
                    f"not {type(value).__name__}")


def text_bytes(value, what: str) -> bytes:
    """A str as UTF-8 for a C string (no NUL inside)."""
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, not {type(value).__name__}")
    b = value.encode("utf-8", "surrogateescape")
    if b"\0" in b:
        raise ValueError(f"{what} contains a NUL character")
    return b


def field(obj, name: str):
    """obj[name] of a Mapping (None when absent), else obj.name (None when
    absent)."""
    if type(obj) is dict or isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def interaction(obj, with_uuid: bool) -> Interaction:
    """A struct crmpubsub_interaction for a Mapping or an object with uuid,
    contact_uuid and parties (each a Mapping or an object with
    contact_uuid). Parties that are not a list (or tuple) count as none:
    an association that was not loaded. ctypes keeps the byte strings and
    the array alive with the struct."""
    if type(obj) is dict or isinstance(obj, Mapping):
        u, subject, parties = \
            obj.get("uuid"), obj.get("contact_uuid"), obj.get("parties")
    elif obj is None or isinstance(obj, (str, bytes)):
        raise TypeError(f"interaction must be a Mapping or an object, "
                        f"not {type(obj).__name__}")
    else:
        u = getattr(obj, "uuid", None)
        subject = getattr(obj, "contact_uuid", None)
        parties = getattr(obj, "parties", None)
    u = uuid_bytes(u, "interaction uuid", False, False) if with_uuid \
        else None
    subject = uuid_bytes(subject, "interaction contact_uuid", True)
    if not isinstance(parties, (list, tuple)):
        return Interaction(u, subject, None, 0, True)
    n = len(parties)
    arr = (ctypes.c_char_p * n)(*[
        uuid_bytes(p.get("contact_uuid") if type(p) is dict
                   else field(p, "contact_uuid"),
                   "a party's contact_uuid", True) for p in parties])
    return Interaction(u, subject, arr, n, False)


def uuid_array(values, what: str):
    """A C array of checked UUIDs (None entries allowed) from an iterable
    that is not itself a string; and its length."""
    if isinstance(values, (str, bytes, _uuid.UUID)):
        raise TypeError(f"{what} must be an iterable of UUIDs, "
                        f"not a single {type(values).__name__}")
    try:
        values = iter(values)
    except TypeError:
        raise TypeError(f"{what} must be an iterable of UUIDs, "
                        f"not {type(values).__name__}") from None
    items = [uuid_bytes(v, f"an entry of {what}", True) for v in values]
    return (ctypes.c_char_p * len(items))(*items), len(items)
