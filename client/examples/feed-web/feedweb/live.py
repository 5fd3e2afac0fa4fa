# SPDX-License-Identifier: MIT — crmpubsub
"""The live side: one shared crmpubsub client for the whole server, a
dispatcher thread fanning its messages out to the open pages, and the
broadcasts that follow each committed write.

Why one shared client and not one per page: a page costs the daemon a
topic reference instead of a connection, the server a queue instead of a
client with its own socket and helper thread, and the library already
re-subscribes every topic after a reconnection and says so with one
Resync. So a topic is subscribed when its first page opens and
unsubscribed when its last page closes; Crm messages go to the pages of
their contact only, Resync (reconnected, lagged, overflow, ...) to every
page, since the loss it announces may concern any of them.

Each page has a bounded queue: a page that stops reading (a browser gone
silent) never holds up the dispatcher or grows memory. A full queue is
emptied and replaced by one resync, which tells the page to refetch and
so loses nothing. The dispatcher never holds a lock while it calls the
library, and subscription changes are serialized by their own lock so an
unsubscribe of a closing page cannot undo the subscribe of a page
opening for the same contact."""

from __future__ import annotations

import collections
import logging
import threading
from typing import Optional

import crmpubsub

log = logging.getLogger("feedweb.live")

CLOSED = ("closed", None)	# what Page.get returns once the hub is closed


class Page:
    """One open page's event queue (an SSE stream reads it)."""

    def __init__(self, contact_uuid: str, limit: int):
        self.contact_uuid = contact_uuid
        self.limit = limit
        self._events = collections.deque()
        self._cond = threading.Condition()
        self._closed = False

    def put(self, event: tuple) -> None:
        """Queues an event; a full queue becomes one resync."""
        with self._cond:
            if self._closed:
                return
            if len(self._events) >= self.limit:
                self._events.clear()
                event = ("resync", {"reason": "overflow"})
            self._events.append(event)
            self._cond.notify()

    def get(self, timeout: float):
        """The next event; None when none came within timeout; CLOSED once
        the page was closed."""
        with self._cond:
            if not self._events and not self._closed:
                self._cond.wait(timeout)
            if self._events:
                return self._events.popleft()
            return CLOSED if self._closed else None

    def close(self) -> None:
        """Wakes the reader with CLOSED."""
        with self._cond:
            self._closed = True
            self._events.clear()
            self._cond.notify_all()


class TooManyPages(Exception):
    """The server's limit of open event streams is reached."""


class Hub:
    """The shared client (socket_path None: found as every crmpubsub
    program finds it), its dispatcher and the open pages."""

    def __init__(self, socket_path: Optional[str] = None,
                 name: str = "feed-web", queue_limit: int = 64,
                 max_pages: int = 256):
        # A reconnect ceiling of 1 s instead of the library's 5 s: pages
        # say "reconnecting" while the daemon is away, briefly.
        self.client = crmpubsub.Client(socket_path, name=name,
                                       reconnect_max=1.0)
        self.queue_limit = queue_limit
        self.max_pages = max_pages
        self._lock = threading.Lock()		# _pages, _down, _shown
        self._sub_lock = threading.Lock()	# subscribe/unsubscribe calls
        self._pages = {}			# contact uuid -> set of Page
        self._held = set()			# contact uuids subscribed
        self._down = False	# a Shutdown came; live after the reconnection
        self._shown = False	# the link state the pages were last told
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._dispatch,
                                        name="feedweb-dispatch", daemon=True)

    def start(self) -> "Hub":
        """Starts the dispatcher; the link state now is what pages opening
        are told, the dispatcher tells them its changes."""
        self._shown = self.live
        self._thread.start()
        return self

    # --- pages --------------------------------------------------------------

    def open_page(self, contact_uuid: str) -> Page:
        """A queue for a new page of the contact; the contact's topic is
        held (live, or pending while the daemon is away: a Resync follows
        once it is live) when this returns."""
        page = Page(contact_uuid, self.queue_limit)
        with self._lock:
            if self._count() >= self.max_pages:
                raise TooManyPages(f"{self.max_pages} event streams open")
            self._pages.setdefault(contact_uuid, set()).add(page)
        try:
            self._reconcile(contact_uuid)
        except BaseException:
            self.close_page(page)
            raise
        return page

    def close_page(self, page: Page) -> None:
        """Forgets a page; the topic goes with the contact's last page."""
        page.close()
        with self._lock:
            pages = self._pages.get(page.contact_uuid)
            if pages is not None:
                pages.discard(page)
                if not pages:
                    del self._pages[page.contact_uuid]
        if not self._stopping.is_set():
            self._reconcile(page.contact_uuid)

    def _count(self) -> int:
        """Open pages (the caller holds _lock)."""
        return sum(len(s) for s in self._pages.values())

    def _reconcile(self, contact_uuid: str) -> None:
        """Subscribes or unsubscribes the contact's topic so that it is held
        exactly while the contact has pages."""
        with self._sub_lock:
            with self._lock:
                wanted = contact_uuid in self._pages
            held = contact_uuid in self._held
            if wanted and not held:
                self.client.subscribe_contact(contact_uuid)
                self._held.add(contact_uuid)
            elif held and not wanted:
                self.client.unsubscribe(
                    crmpubsub.topic_contact_interactions(contact_uuid))
                self._held.discard(contact_uuid)

    @property
    def live(self) -> bool:
        """Whether the daemon is connected and not stopping (pushes
        flow)."""
        connected = self.client.connected
        with self._lock:
            return connected and not self._down

    def stats(self) -> dict:
        """What /api/stats shows: pages, topics, link state, the library's
        counters."""
        with self._lock:
            pages, contacts = self._count(), len(self._pages)
        return {"pages": pages, "contacts": contacts, "live": self.live,
                "topics": self.client.subscriptions,
                "client": self.client.stats()}

    # --- dispatcher ---------------------------------------------------------

    def _fan(self, event: tuple, contact_uuid: Optional[str] = None) -> None:
        """Queues event on the contact's pages (None: on every page)."""
        with self._lock:
            if contact_uuid is None:
                pages = [p for s in self._pages.values() for p in s]
            else:
                pages = list(self._pages.get(contact_uuid, ()))
        for p in pages:
            p.put(event)

    def _show_live(self) -> None:
        """Tells every page when the link state changed."""
        live = self.live
        with self._lock:
            changed, self._shown = self._shown != live, live
        if changed:
            log.info("daemon %s", "connected" if live else "away")
            self._fan(("status", {"live": live}))

    def _dispatch(self) -> None:
        """Dispatcher thread: library messages to pages, and the link state
        (polled every quarter second, and on Shutdown at once)."""
        while not self._stopping.is_set():
            try:
                m = self.client.next_message(timeout=0.25)
            except ValueError:	# closed under us: the hub is closing
                return
            if isinstance(m, crmpubsub.Crm):
                self._fan(("crm", {"event": m.event,
                                   "interaction_uuid": m.interaction_uuid}),
                          m.contact_uuid)
            elif isinstance(m, crmpubsub.Resync):
                if m.reason == "reconnected":
                    self._set_down(False)
                self._fan(("resync", {"reason": m.reason,
                                      "dropped": m.dropped}))
            elif isinstance(m, crmpubsub.Shutdown):
                self._set_down(True)
            if self._stopping.is_set():
                return
            if not self.client.connected:
                self._set_down(False)	# the reconnection says so itself
            self._show_live()

    def _set_down(self, down: bool) -> None:
        """Records whether the daemon said it is stopping."""
        with self._lock:
            self._down = down

    # --- broadcasts ---------------------------------------------------------

    @staticmethod
    def _best_effort(what: str, send) -> None:
        """Runs a broadcast after a commit: never raises (the write is
        done; the library counts and logs what the daemon did not get)."""
        try:
            send()
        except Exception:	# a bug here must not turn a commit into a 500
            log.exception("broadcast after %s failed", what)

    def created(self, new) -> None:
        """After committing a new interaction: its involved contacts."""
        self._best_effort("create", lambda: self.client.broadcast_interaction(
            "interaction_created", new))

    def updated(self, old, new) -> None:
        """After committing an edit: the union of the old and the new
        involved contacts, so a contact the edit dropped refreshes too."""
        def send():
            union = crmpubsub.involved_contact_uuids(old) + \
                crmpubsub.involved_contact_uuids(new)
            self.client.broadcast_to_contacts("interaction_updated",
                                              new.uuid, union)
        self._best_effort("update", send)

    def deleted(self, old) -> None:
        """After committing a deletion: the contacts it involved."""
        self._best_effort("delete", lambda: self.client.broadcast_interaction(
            "interaction_deleted", old))

    def close(self) -> None:
        """Ends every page's stream, the dispatcher and the client."""
        self._stopping.set()
        with self._lock:
            pages = [p for s in self._pages.values() for p in s]
        for p in pages:
            p.close()
        self._thread.join(timeout=2.0)
        self.client.close()
