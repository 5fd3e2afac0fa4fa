# SPDX-License-Identifier: MIT — crmpubsub
"""The functions that need no connection: topic names, the involved-contacts
rule and the library's version, all computed by libcrmpubsub itself."""

from __future__ import annotations

import ctypes

from . import _args
from ._lib import TOPIC_MAX, UUID_LEN, load

LIB = load()


def topic_contact_interactions(contact_uuid) -> str:
    """"crm:contact:<uuid>:interactions" for a contact (str or uuid.UUID);
    the UUID is lowercased. ValueError when it is not a UUID."""
    b = _args.uuid_bytes(contact_uuid, "contact_uuid", False)
    out = ctypes.create_string_buffer(TOPIC_MAX + 1)
    if LIB.topic_contact_interactions(b, out) != 0:
        raise ValueError(f"contact_uuid is not a UUID: {contact_uuid!r}")
    return out.value.decode("ascii")


def involved_contact_uuids(interaction) -> list:
    """The contacts an interaction concerns: the subject, then the parties'
    contacts, None dropped, duplicates (after lowercasing) dropped keeping
    the first; lowercase. interaction is a Mapping or an object with
    contact_uuid and parties (each party a Mapping or an object with
    contact_uuid); parties that are not a list count as none (not loaded).
    The interaction's own uuid is not looked at. ValueError when a contact
    UUID is not a UUID."""
    it = _args.interaction(interaction, with_uuid=False)
    cap = it.n_parties + 1
    out = (ctypes.c_char * (UUID_LEN + 1) * cap)()
    n = LIB.involved_contact_uuids(ctypes.byref(it), out, cap)
    if n < 0:
        raise ValueError("a contact UUID of the interaction is not a UUID")
    return [out[i].value.decode("ascii") for i in range(min(n, cap))]


def version() -> str:
    """The version of the libcrmpubsub loaded, e.g. "1.0.0"."""
    return LIB.version().decode("ascii")


def library_path() -> str:
    """What the library was loaded from (a path, or the soname when the
    system loader found it)."""
    return LIB.path
