# SPDX-License-Identifier: MIT — crmpubsub
"""The JSON API's input: request bodies parsed strictly and checked field
by field, before anything touches the database.

Every refusal is an InputError naming the field ("subject",
"parties[2].raw_name", "body" for the document itself), which the server
turns into 400 {"error": ..., "field": ...}. Unknown fields are refused
too, so a misspelt "partys" is an error rather than an interaction saved
without its parties."""

from __future__ import annotations

import datetime
import json
import re

from .store import InputError, NewInteraction, utc_stamp

MAX_NAME = 200		# characters in a contact's or a party's name
MAX_SUBJECT = 1000	# characters in an interaction's text
MAX_PARTIES = 50

_UUID_RE = re.compile(r"\A[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-"
                      r"[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\Z")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def uuid_value(value, where: str) -> str:
    """value as a lowercase UUID, or InputError naming where."""
    if not isinstance(value, str) or not _UUID_RE.match(value):
        raise InputError(where, "not a UUID (8-4-4-4-12 hex digits)")
    return value.lower()


def _refuse_duplicates(pairs):
    """object_pairs_hook: a key given twice is an error, not "last wins"."""
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise InputError("body", f"key {key!r} given twice")
        obj[key] = value
    return obj


def _refuse_constant(name):
    """parse_constant: NaN and Infinity are not JSON."""
    raise InputError("body", f"{name} is not JSON")


def parse_body(raw: bytes) -> dict:
    """The request body as a JSON object (UTF-8, strict), or InputError."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("body", "not UTF-8") from None
    try:
        doc = json.loads(text, object_pairs_hook=_refuse_duplicates,
                         parse_constant=_refuse_constant)
    except json.JSONDecodeError as e:
        raise InputError("body", f"not JSON: {e.msg} at line {e.lineno}"
                         f" column {e.colno}") from None
    except RecursionError:
        raise InputError("body", "nested too deeply") from None
    if not isinstance(doc, dict):
        raise InputError("body", "must be a JSON object")
    return doc


def _text(value, where: str, limit: int) -> str:
    """A non-empty one-line string of at most limit characters, trimmed."""
    if not isinstance(value, str):
        raise InputError(where, "must be a string")
    value = value.strip()
    if not value:
        raise InputError(where, "must not be empty")
    if len(value) > limit:
        raise InputError(where, f"longer than {limit} characters")
    if _CONTROL_RE.search(value):
        raise InputError(where, "contains a control character")
    return value


def _only(doc: dict, allowed: tuple, where: str = "") -> None:
    """Refuses a key of doc that is not in allowed."""
    for key in doc:
        if key not in allowed:
            raise InputError(f"{where}{key}", "unknown field (expected one of"
                             f" {', '.join(allowed)})")


def _required(doc: dict, key: str, where: str = ""):
    """doc[key], or InputError when it is missing."""
    if key not in doc:
        raise InputError(f"{where}{key}", "missing")
    return doc[key]


def contact_input(doc: dict) -> str:
    """The name of a POST /api/contacts body {"name"}."""
    _only(doc, ("name",))
    return _text(_required(doc, "name"), "name", MAX_NAME)


def _occurred_at(value) -> str:
    """An ISO 8601 time with a zone offset (or Z), as stored."""
    if not isinstance(value, str):
        raise InputError("occurred_at", "must be a string")
    try:
        when = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InputError("occurred_at", "not an ISO 8601 time") from None
    if when.tzinfo is None:
        raise InputError("occurred_at", "needs a zone (Z or +hh:mm)")
    return utc_stamp(when)


def _party(value, i: int) -> tuple:
    """(contact_uuid or None, raw_name or None) of parties[i]."""
    where = f"parties[{i}]."
    if not isinstance(value, dict):
        raise InputError(f"parties[{i}]", "must be an object")
    _only(value, ("contact_uuid", "raw_name"), where)
    cu = value.get("contact_uuid")
    if cu is not None:
        cu = uuid_value(cu, where + "contact_uuid")
    raw = value.get("raw_name")
    if raw is None and cu is None:
        raise InputError(where + "raw_name", "missing (a party without"
                         " contact_uuid is known by its name only)")
    if raw is not None:
        raw = _text(raw, where + "raw_name", MAX_NAME)
    return cu, raw


def interaction_input(doc: dict) -> NewInteraction:
    """The body of POST /api/interactions or PUT /api/interactions/<uuid>:
    {"contact_uuid", "subject", "parties": [{"contact_uuid", "raw_name"}],
    "occurred_at"?}. Whether the contacts exist is checked by the store,
    in the write's own transaction."""
    _only(doc, ("contact_uuid", "subject", "parties", "occurred_at"))
    subject_contact = uuid_value(_required(doc, "contact_uuid"),
                                 "contact_uuid")
    subject = _text(_required(doc, "subject"), "subject", MAX_SUBJECT)
    parties = doc.get("parties", [])
    if not isinstance(parties, list):
        raise InputError("parties", "must be a list")
    if len(parties) > MAX_PARTIES:
        raise InputError("parties", f"more than {MAX_PARTIES}")
    checked, seen = [], set()
    for i, p in enumerate(parties):
        cu, raw = _party(p, i)
        if cu is not None:
            if cu in seen:
                raise InputError(f"parties[{i}].contact_uuid",
                                 "this contact is already a party")
            seen.add(cu)
        checked.append((cu, raw))
    at = doc.get("occurred_at")
    return NewInteraction(subject_contact, subject, checked,
                          None if at is None else _occurred_at(at))
