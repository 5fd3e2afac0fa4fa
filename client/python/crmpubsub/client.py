# SPDX-License-Identifier: MIT — crmpubsub
"""Client: one libcrmpubsub handle, for broadcasting and for following
topics.

Lifetime: every call counts itself as a user of the handle while it is in
the library; close() marks the client closing, wakes the calls that wait
for messages, waits until no call is left inside and only then frees the
handle, so a client shared between threads is never freed under one of
them. Calls after close() raise ValueError, as files do. Waiting for
messages happens in Python (poll, or asyncio's add_reader, on the
library's descriptor) so that close() and signals interrupt it."""

from __future__ import annotations

import atexit
import ctypes
import errno
import itertools
import math
import os
import select
import sys
import threading
import time
import weakref

from . import _args, _log
from ._aio import CLOSED as _CLOSED, AsyncMessages
from ._lib import STATS_FIELDS, Message as _CMessage, Stats as _CStats
from .functions import LIB, topic_contact_interactions
from .messages import from_c

# Open clients by key: closed at exit (before the interpreter goes away
# under the library's flusher threads) and disowned in a forked child.
_live = weakref.WeakValueDictionary()
_keys = itertools.count(1)

_FLUSH_SLICE_MS = 100		# longest single wait inside flush()

# Keyword options of Client: enum crmpubsub_timeout (seconds) and
# enum crmpubsub_limit (counts).
_TIMEOUTS = {"broadcast_timeout": 0, "request_timeout": 1,
             "connect_timeout": 2, "reconnect_min": 3, "reconnect_max": 4}
_LIMITS = {"max_queue_bytes": 0, "max_messages": 1}

# Why the daemon refused a subscription, by errno.
_REFUSALS = {errno.E2BIG: "over the daemon's max_subscriptions",
             errno.EPROTO: "refused by the daemon",
             errno.ENOMEM: "out of memory"}


class SubscribeError(OSError):
    """subscribe() failed for a reason other than a bad topic: the daemon
    refused it (errno E2BIG: its max_subscriptions; EPROTO: another
    refusal) or memory ran out. The topic is not held."""


def _seconds(seconds, what: str):
    """seconds checked: an int or float >= 0."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError(f"{what} must be a number of seconds, "
                        f"not {type(seconds).__name__}")
    if not seconds >= 0:
        raise ValueError(f"{what} must be >= 0, not {seconds!r}")
    return seconds


def _millis(seconds, what: str) -> int:
    """Seconds (int or float, >= 0) as whole milliseconds, rounded up."""
    return min(math.ceil(_seconds(seconds, what) * 1000), 2**31 - 1)


def _check_timeout(timeout):
    """timeout (None or seconds >= 0) checked; returned unchanged."""
    return None if timeout is None else _seconds(timeout, "timeout")


class Client(AsyncMessages):
    """A connection to crmpubsubd through libcrmpubsub.

    socket_path None resolves the socket as every crmpubsub program does
    ($CRMPUBSUB_SOCKET, /run/crmpubsub/crmpubsub.sock, ...), again at each
    connection attempt; name is shown by the daemon's clients op. The
    keyword options are the library's timeouts in seconds
    (broadcast_timeout 0.005, request_timeout 2, connect_timeout 1,
    reconnect_min 0.1, reconnect_max 5), limits (max_queue_bytes 1 MiB,
    max_messages 10000) and coalescing (coalesce_delay 0.0002 s,
    coalesce_bytes 16384). The daemon need not be up: the client connects
    in the background and never raises because it is away."""

    def __init__(self, socket_path=None, name=None, *, coalesce_delay=None,
                 coalesce_bytes=None, **options):
        self._h = None
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._users = 0
        self._closing = False
        self._why_closed = "closed"
        self._aio_init()
        self.name = name
        path = None if socket_path is None else os.fsencode(socket_path)
        if path is not None and b"\0" in path:
            raise ValueError("socket_path contains a NUL character")
        nm = None if name is None else _args.text_bytes(name, "name")
        settings = []
        for key, value in options.items():
            if key in _TIMEOUTS:
                settings.append((LIB.set_timeout, _TIMEOUTS[key],
                                 _millis(value, key), key))
            elif key in _LIMITS:
                if isinstance(value, bool) or not isinstance(value, int):
                    raise TypeError(f"{key} must be an int")
                settings.append((LIB.set_limit, _LIMITS[key], value, key))
            else:
                raise TypeError(f"Client() got an unexpected keyword "
                                f"argument {key!r}")
        if coalesce_delay is not None or coalesce_bytes is not None:
            if LIB.set_coalesce is None:
                raise NotImplementedError("this libcrmpubsub has no "
                                          "crmpubsub_set_coalesce")
            us = 200 if coalesce_delay is None else \
                round(_seconds(coalesce_delay, "coalesce_delay") * 1e6)
            nbytes = 16384 if coalesce_bytes is None else coalesce_bytes
            settings.append((LIB.set_coalesce, us, nbytes, "coalescing"))
        h = LIB.new()
        if not h:
            err = ctypes.get_errno() or errno.ENOMEM
            raise OSError(err, f"crmpubsub_new: {os.strerror(err)}")
        try:
            if path is not None and LIB.set_socket_path(h, path) != 0:
                raise ValueError(f"socket_path {socket_path!r}: "
                                 f"{os.strerror(ctypes.get_errno())}")
            if nm is not None and LIB.set_client_name(h, nm) != 0:
                raise ValueError(f"name {name!r} refused by libcrmpubsub: "
                                 f"{os.strerror(ctypes.get_errno())} "
                                 f"(at most 128 bytes)")
            for setter, which, value, what in settings:
                if setter(h, which, value) != 0:
                    raise ValueError(f"{what}: value {value!r} out of range")
            self._wake_r, self._wake_w = os.pipe()
        except BaseException:
            LIB.close(h)
            raise
        self._key = next(_keys)
        _log.register(self._key, name)
        LIB.set_log(h, _log.CALLBACK, self._key)
        self._fd = LIB.fd(h)
        self._h = h
        _live[self._key] = self
        LIB.connect(h)	# -1 only means "retrying in the background"

    # --- lifetime ----------------------------------------------------------

    def _enter(self):
        """Counts a call as a user of the handle; the handle."""
        if _log.in_callback():
            raise RuntimeError("a crmpubsub Client cannot be used from a "
                               "logging handler called by the library")
        with self._lock:
            if self._closing:
                raise ValueError(f"crmpubsub client is {self._why_closed}")
            self._users += 1
            return self._h

    def _leave(self) -> None:
        """Ends a call counted by _enter."""
        with self._lock:
            self._users -= 1
            if self._closing and self._users == 0:
                self._idle.notify_all()

    def close(self) -> None:
        """Writes what is queued (bounded by broadcast_timeout), disconnects
        and frees the handle; ends messages() and amessages(). Waits for
        calls other threads have inside the library. Idempotent."""
        if _log.in_callback():
            raise RuntimeError("a crmpubsub Client cannot be closed from a "
                               "logging handler called by the library")
        with self._lock:
            if self._closing:
                return
            self._closing = True
            os.write(self._wake_w, b"x")
            while self._users > 0:
                self._idle.wait()
            h, self._h = self._h, None
            loops = self._aio_loops()
        self._aio_close(loops)
        if h is not None:
            LIB.close(h)
        _log.unregister(self._key)
        _live.pop(self._key, None)
        os.close(self._wake_r)
        os.close(self._wake_w)

    @property
    def closed(self) -> bool:
        """Whether close() was called."""
        return self._closing

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if self._h is not None and not sys.is_finalizing():
            try:
                self.close()
            except Exception:
                pass

    def __repr__(self):
        state = self._why_closed if self._closing else "open"
        return f"<crmpubsub.Client name={self.name!r} {state}>"

    def _forget_after_fork(self) -> None:
        """In a forked child: the handle belongs to the parent (its flusher
        thread does not exist here); never touch it again."""
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._users = 0
        self._closing = True
        self._why_closed = "unusable in a process forked after it was made"
        self._h = None
        os.close(self._wake_r)
        os.close(self._wake_w)
        self._aio_init()

    # --- subscriptions -------------------------------------------------------

    def subscribe(self, topic: str) -> bool:
        """Follows a topic and waits (request_timeout) for the daemon: True
        when live, False when held but not confirmed yet (daemon away or
        slow; a Resync("subscribed") follows once live). ValueError for a
        string that is not a topic, SubscribeError when the daemon refuses."""
        b = _args.text_bytes(topic, "topic")
        h = self._enter()
        try:
            rc = LIB.subscribe(h, b)
            err = ctypes.get_errno()
        finally:
            self._leave()
        return self._subscribed(rc, err, topic)

    def subscribe_contact(self, contact_uuid) -> bool:
        """subscribe(topic_contact_interactions(contact_uuid))."""
        return self.subscribe(topic_contact_interactions(contact_uuid))

    def subscribe_many(self, topics) -> bool:
        """subscribe() for several topics in one request, all or nothing."""
        if LIB.subscribe_many is None:
            raise NotImplementedError("this libcrmpubsub has no "
                                      "crmpubsub_subscribe_many")
        if isinstance(topics, (str, bytes)):
            raise TypeError("topics must be an iterable of str, not a str")
        items = [_args.text_bytes(t, "topic") for t in topics]
        arr = (ctypes.c_char_p * len(items))(*items)
        h = self._enter()
        try:
            rc = LIB.subscribe_many(h, arr, len(items))
            err = ctypes.get_errno()
        finally:
            self._leave()
        return self._subscribed(rc, err, topics)

    @staticmethod
    def _subscribed(rc: int, err: int, what) -> bool:
        """subscribe's result: True, False, or the exception."""
        if rc >= 0:
            return rc == 0
        if err == errno.EINVAL:
            raise ValueError(f"not a topic: {what!r}")
        raise SubscribeError(err, f"subscribe {what!r}: "
                             f"{_REFUSALS.get(err, os.strerror(err))}")

    def unsubscribe(self, topic=None) -> None:
        """Stops following a topic (None: every topic). Does not wait; no
        message for it is handed out afterwards. ValueError for a string
        that is not a topic; a topic not held is a no-op."""
        b = None if topic is None else _args.text_bytes(topic, "topic")
        h = self._enter()
        try:
            rc = LIB.unsubscribe(h, b)
        finally:
            self._leave()
        if rc != 0:
            raise ValueError(f"not a topic: {topic!r}")

    # --- broadcasts ------------------------------------------------------------

    def broadcast_interaction(self, event, interaction) -> None:
        """Tells the feed of every contact involved in the interaction (a
        Mapping or an object with uuid, contact_uuid, parties) that it
        changed. Best effort: never raises because of the daemon or the
        connection (counted in stats(), logged); raises ValueError or
        TypeError for arguments that could never be sent."""
        ev = _args.event_number(event)
        it = _args.interaction(interaction, with_uuid=True)
        h = self._enter()
        try:
            LIB.broadcast_interaction(h, ev, it)
        finally:
            self._leave()

    def broadcast_to_contacts(self, event, interaction_uuid,
                              contact_uuids) -> None:
        """Tells the given contacts' feeds (None entries skipped, duplicates
        sent once) that the interaction changed; pass the union of the old
        and new involved contacts. Best effort, as broadcast_interaction."""
        ev = _args.event_number(event)
        u = _args.uuid_bytes(interaction_uuid, "interaction_uuid", False,
                             False)
        arr, n = _args.uuid_array(contact_uuids, "contact_uuids")
        h = self._enter()
        try:
            LIB.broadcast_to_contacts(h, ev, u, arr, n)
        finally:
            self._leave()

    def flush(self, timeout=1.0) -> bool:
        """Waits up to timeout seconds (None: no limit) until every request
        so far has been answered. True when all were, and no broadcast
        failed since the previous flush; False otherwise (see stats())."""
        _check_timeout(timeout)
        deadline = None if timeout is None else time.monotonic() + timeout
        h = self._enter()
        try:
            while True:
                ms = _FLUSH_SLICE_MS if deadline is None else min(
                    _FLUSH_SLICE_MS,
                    _millis(max(0.0, deadline - time.monotonic()), "timeout"))
                if LIB.flush(h, ms) == 0:
                    return True
                if ctypes.get_errno() != errno.ETIMEDOUT or self._closing:
                    return False
                if deadline is not None and time.monotonic() >= deadline:
                    return False
        finally:
            self._leave()

    # --- receiving -------------------------------------------------------------

    def _take(self, timeout):
        """The next message, None when none came in time, or _CLOSED once
        the client is closing."""
        if _log.in_callback():
            raise RuntimeError("a crmpubsub Client cannot be used from a "
                               "logging handler called by the library")
        with self._lock:
            if self._closing:
                return _CLOSED
            self._users += 1
            h = self._h
        try:
            deadline = None if timeout is None else \
                time.monotonic() + timeout
            msg = _CMessage()
            while True:
                while LIB.next_message(h, msg, 0) == 1:
                    m = from_c(msg)
                    if m is not None:
                        return m
                if self._closing:
                    return _CLOSED
                wait = None
                if deadline is not None:
                    wait = deadline - time.monotonic()
                    if wait <= 0:
                        return None
                    wait = math.ceil(wait * 1000)
                # poll, not select: descriptors above FD_SETSIZE are fine
                waiting = select.poll()
                waiting.register(self._fd, select.POLLIN)
                waiting.register(self._wake_r, select.POLLIN)
                waiting.poll(wait)
        finally:
            self._leave()

    def next_message(self, timeout=None):
        """The next Crm, Resync or Shutdown, waiting up to timeout seconds
        (None: until one comes; 0: not at all); None when none came in
        time or the client was closed meanwhile. Drives the connection
        (reconnects, resubscribes)."""
        _check_timeout(timeout)
        self._enter()	# raises when closed already
        self._leave()
        m = self._take(timeout)
        return None if m is _CLOSED else m

    def messages(self):
        """Iterates over messages as they come, blocking; ends when the
        client is closed."""
        while True:
            m = self._take(None)
            if m is _CLOSED:
                return
            yield m

    def fileno(self) -> int:
        """The library's descriptor for your own poll/selector loop: readable
        when next_message(0) may have something (or the connection needs
        driving). Stable across reconnections; invalid after close()."""
        self._enter()	# raises when closed
        self._leave()
        return self._fd

    # --- introspection ---------------------------------------------------------

    def stats(self) -> dict:
        """The library's counters since the client was made:
        broadcasts = acked + failed + rejected + dropped + lost + pending."""
        st = _CStats()
        h = self._enter()
        try:
            LIB.stats(h, st)
        finally:
            self._leave()
        return {f: getattr(st, f) for f in STATS_FIELDS}

    def _query(self, fn, fallback):
        """fn(handle) when the library has fn, else fallback."""
        if fn is None:
            return fallback
        h = self._enter()
        try:
            return fn(h)
        finally:
            self._leave()

    @property
    def connected(self) -> bool:
        """Whether the daemon answered this connection's hello."""
        return bool(self._query(LIB.is_connected, False))

    @property
    def client_id(self):
        """The daemon's id for this connection, or None."""
        cid = self._query(LIB.client_id, -1)
        return None if cid < 0 else cid

    @property
    def subscriptions(self) -> int:
        """How many topics the client holds."""
        return self._query(LIB.subscriptions, 0)


def _close_all() -> None:
    """At exit: close every client while the interpreter still runs (the
    library's flusher threads may still log)."""
    for c in list(_live.values()):
        try:
            c.close()
        except Exception:
            pass


def _forget_all() -> None:
    """In a forked child: disown every client of the parent."""
    for c in list(_live.values()):
        c._forget_after_fork()
    _live.clear()


atexit.register(_close_all)
os.register_at_fork(after_in_child=_forget_all)
