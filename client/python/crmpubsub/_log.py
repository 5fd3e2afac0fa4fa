# SPDX-License-Identifier: MIT — crmpubsub
"""Routes libcrmpubsub's log callback into `logging` (logger "crmpubsub").

The callback runs with the handle's mutex held, in whichever thread made
the library log: a caller of the library, or the library's flusher thread;
ctypes takes the GIL around it. That cannot deadlock with this package:
every library call goes through ctypes.CDLL, which releases the GIL before
calling, so no thread ever holds the GIL while it waits for a handle's
mutex. What could deadlock is a logging handler that calls a Client (it
would wait for a mutex its own thread holds), so such calls raise
RuntimeError instead (in_callback). One callback object serves every
client and lives as long as the process: the library never holds a
pointer to freed code."""

from __future__ import annotations

import logging
import threading

from ._lib import LOG_FN

logger = logging.getLogger("crmpubsub")

# enum crmpubsub_log_level to logging's levels.
_LEVELS = (logging.ERROR, logging.WARNING, logging.INFO, logging.DEBUG)

_names = {}			# client key -> the client's name, or None
_state = threading.local()


def in_callback() -> bool:
    """Whether this thread is inside the library's log callback."""
    return getattr(_state, "active", False)


def register(key: int, name) -> None:
    """Lets log lines of the client with this key carry its name."""
    _names[key] = name


def unregister(key: int) -> None:
    """Forgets a closed client."""
    _names.pop(key, None)


def _emit(key, level, message) -> None:
    """The log callback: one library line to one logging record."""
    _state.active = True
    try:
        lvl = _LEVELS[level] if 0 <= level < len(_LEVELS) else logging.ERROR
        if logger.isEnabledFor(lvl):
            text = message.decode("utf-8", "replace") if message else ""
            name = _names.get(key)
            if name:
                logger.log(lvl, "%s: %s", name, text)
            else:
                logger.log(lvl, "%s", text)
    except Exception:		# nothing may unwind into C
        pass
    finally:
        _state.active = False


CALLBACK = LOG_FN(_emit)
