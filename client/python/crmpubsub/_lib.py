# SPDX-License-Identifier: MIT — crmpubsub
"""Finds libcrmpubsub.so.1 and declares, with ctypes, the part of
crmpubsub.h this package uses.

Where the library comes from, in order:

1. ``$CRMPUBSUB_LIBRARY``, a path. When set it is the only candidate: a
   user who names a file means that file, and silently loading another one
   would hide the mistake.
2. The source tree's own ``client/`` when the package is imported from
   ``client/python`` (recognised by ``crmpubsub.h`` beside the library), so
   a checkout runs against the library it just built.
3. The library directory ``make install`` recorded in ``_install.py``.
4. The system loader: ``libcrmpubsub.so.1`` (``LD_LIBRARY_PATH``,
   ``ld.so.cache``), then whatever ``ctypes.util.find_library`` reports.

When none loads, ImportError lists every candidate and why it failed.

Every call made through a ``ctypes.CDLL`` releases the GIL for its duration,
so a thread blocked in the library never holds up other Python threads.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

SONAME = "libcrmpubsub.so.1"
ENV = "CRMPUBSUB_LIBRARY"

UUID_LEN = 36
TOPIC_MAX = 64

# The tree's client/ directory, when this file is client/python/crmpubsub/.
_TREE_CLIENT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


class Interaction(ctypes.Structure):
    """struct crmpubsub_interaction."""
    _fields_ = [
        ("uuid", ctypes.c_char_p),
        ("contact_uuid", ctypes.c_char_p),
        ("party_contact_uuids", ctypes.POINTER(ctypes.c_char_p)),
        ("n_parties", ctypes.c_size_t),
        ("parties_not_loaded", ctypes.c_bool),
    ]


class Message(ctypes.Structure):
    """struct crmpubsub_message (its enums are C ints)."""
    _fields_ = [
        ("type", ctypes.c_int),
        ("event", ctypes.c_int),
        ("reason", ctypes.c_int),
        ("dropped", ctypes.c_ulonglong),
        ("topic", ctypes.c_char * (TOPIC_MAX + 1)),
        ("contact_uuid", ctypes.c_char * (UUID_LEN + 1)),
        ("interaction_uuid", ctypes.c_char * (UUID_LEN + 1)),
    ]


# struct crmpubsub_stats, field by field, in the header's order.
STATS_FIELDS = (
    "broadcasts", "acked", "failed", "rejected", "dropped", "lost", "pending",
    "delivered", "connects", "connect_failures", "disconnects", "messages",
    "messages_dropped", "resyncs", "errors",
)


class Stats(ctypes.Structure):
    """struct crmpubsub_stats."""
    _fields_ = [(name, ctypes.c_ulonglong) for name in STATS_FIELDS]


# void crmpubsub_log_fn(void *arg, enum crmpubsub_log_level, const char *)
LOG_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int,
                          ctypes.c_char_p)

_H = ctypes.c_void_p
_P = ctypes.c_char_p
_I = ctypes.c_int
_SZ = ctypes.c_size_t

# name: (restype, argtypes, required). Optional functions are bound when
# the library has them (a newer library adds features, an older one lacks
# them) and are None otherwise.
_FUNCTIONS = {
    "crmpubsub_new": (_H, [], True),
    "crmpubsub_connect": (_I, [_H], True),
    "crmpubsub_close": (None, [_H], True),
    "crmpubsub_set_socket_path": (_I, [_H, _P], True),
    "crmpubsub_set_client_name": (_I, [_H, _P], True),
    "crmpubsub_set_timeout": (_I, [_H, _I, _I], True),
    "crmpubsub_set_limit": (_I, [_H, _I, _SZ], True),
    "crmpubsub_set_log": (None, [_H, LOG_FN, ctypes.c_void_p], True),
    "crmpubsub_topic_contact_interactions": (_I, [_P, ctypes.c_char_p], True),
    "crmpubsub_subscribe": (_I, [_H, _P], True),
    "crmpubsub_unsubscribe": (_I, [_H, _P], True),
    "crmpubsub_broadcast_interaction": (
        _I, [_H, _I, ctypes.POINTER(Interaction)], True),
    "crmpubsub_broadcast_to_contacts": (
        _I, [_H, _I, _P, ctypes.POINTER(_P), _SZ], True),
    "crmpubsub_involved_contact_uuids": (
        ctypes.c_long, [ctypes.POINTER(Interaction), ctypes.c_void_p, _SZ],
        True),
    "crmpubsub_flush": (_I, [_H, _I], True),
    "crmpubsub_fd": (_I, [_H], True),
    "crmpubsub_next_message": (_I, [_H, ctypes.POINTER(Message), _I], True),
    "crmpubsub_stats": (None, [_H, ctypes.POINTER(Stats)], True),
    "crmpubsub_version": (_P, [], True),
    "crmpubsub_subscribe_many": (_I, [_H, ctypes.POINTER(_P), _SZ], False),
    "crmpubsub_subscriptions": (_SZ, [_H], False),
    "crmpubsub_is_connected": (ctypes.c_bool, [_H], False),
    "crmpubsub_client_id": (ctypes.c_longlong, [_H], False),
    "crmpubsub_set_coalesce": (_I, [_H, _I, _SZ], False),
}


class Library:
    """The loaded library: path (what was handed to the loader) and one
    attribute per function of _FUNCTIONS without its crmpubsub_ prefix."""

    def __init__(self, cdll: ctypes.CDLL, path: str):
        self.path = path
        for name, (restype, argtypes, required) in _FUNCTIONS.items():
            fn = getattr(cdll, name, None)
            if fn is None:
                if required:
                    raise ImportError(
                        f"crmpubsub: {path} lacks {name}: not a "
                        f"libcrmpubsub.so.1, or too old")
            else:
                fn.restype = restype
                fn.argtypes = argtypes
            setattr(self, name[len("crmpubsub_"):], fn)


def _candidates(environ):
    """What to try, in order, as (path, why it is a candidate) pairs; and
    lines naming the candidates passed over."""
    explicit = environ.get(ENV)
    if explicit:
        return [(explicit, f"${ENV}")], []
    out, passed = [], [f"${ENV}: not set"]
    tree = os.path.join(_TREE_CLIENT, SONAME)
    if os.path.exists(os.path.join(_TREE_CLIENT, "crmpubsub.h")):
        out.append((tree, "the source tree's client/"))
    else:
        passed.append(f"{tree} (the source tree's client/): not a crmpubsub "
                      f"source tree")
    try:
        from . import _install		# written by `make install`
        out.append((os.path.join(_install.LIBDIR, SONAME),
                    "the LIBDIR of make install"))
    except ImportError:
        pass
    out.append((SONAME, "the system loader"))
    found = ctypes.util.find_library("crmpubsub")
    if found and found != SONAME:
        out.append((found, "ctypes.util.find_library"))
    return out, passed


def load(environ=os.environ) -> Library:
    """Loads the first candidate that works; ImportError listing them all
    when none does."""
    candidates, tried = _candidates(environ)
    for path, note in candidates:
        try:
            cdll = ctypes.CDLL(path, use_errno=True)
        except OSError as e:
            tried.append(f"{path} ({note}): {e}")
            continue
        return Library(cdll, path)
    raise ImportError(
        "crmpubsub: cannot load libcrmpubsub.so.1; tried:\n"
        + "".join(f"  {t}\n" for t in tried)
        + f"Build it (make), install it (make install), or set ${ENV} "
          "to its path.")
