# SPDX-License-Identifier: MIT — crmpubsub
"""The HTTP server: pages, the feed fragment, the event stream and the
JSON API, on http.server's ThreadingHTTPServer (a thread per connection).

Routes (a table; a path that matches with another method gets 405):
  GET    /                          contacts
  GET    /contacts/<uuid>           a contact's page, Interactions tab
  GET    /contacts/<uuid>/feed      its feed as an HTML fragment
  GET    /contacts/<uuid>/events    Server-Sent Events: crm, resync, status
  GET    /static/feed.js|feed.css
  GET    /api/contacts              contacts as JSON
  POST   /api/contacts              {"name"} -> 201 {"uuid"}
  GET    /api/interactions/<uuid>   one interaction as JSON
  POST   /api/interactions          {"contact_uuid","subject","parties"}
  PUT    /api/interactions/<uuid>   the same body, replaces it
  DELETE /api/interactions/<uuid>
  GET    /api/stats                 open streams, topics, daemon link

Writes commit first and broadcast after (live.Hub), so a daemon that is
away never fails a write. Hostile input gets a 4xx and nothing else:
bodies over MAX_BODY (413), without Content-Length (411), not JSON
(415 for another Content-Type, 400 for bad JSON), bad UUIDs (400),
unknown contacts or interactions (400 in a body, 404 in a path). Sockets
time out after IO_TIMEOUT, so a stalled client holds a thread that long
at most."""

from __future__ import annotations

import http.server
import json
import logging
import re
import socket
import urllib.parse
from dataclasses import asdict
from pathlib import Path

from . import api, pages
from .live import CLOSED, Hub, TooManyPages
from .store import InputError, Store

log = logging.getLogger("feedweb.http")

MAX_BODY = 64 * 1024	# bytes in a request body
IO_TIMEOUT = 30.0	# seconds a socket read or write may stall

_STATIC_DIR = Path(__file__).resolve().parent / "static"
_STATIC_TYPES = {"feed.js": "text/javascript; charset=utf-8",
                 "feed.css": "text/css; charset=utf-8"}

# No inline script or style anywhere; only this origin.
_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; "
        "img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'")

_UUID = r"(?P<uuid>[^/]+)"
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class HttpError(Exception):
    """An error answer: status, message, field (JSON routes name it)."""

    def __init__(self, status: int, message: str, field=None):
        super().__init__(message)
        self.status, self.message, self.field = status, message, field


class App:
    """What the handlers share: the store, the hub and the settings."""

    def __init__(self, store: Store, hub: Hub, heartbeat: float = 15.0):
        self.store = store
        self.hub = hub
        self.heartbeat = heartbeat
        self.static = {name: (_STATIC_DIR / name).read_bytes()
                       for name in _STATIC_TYPES}


class Handler(http.server.BaseHTTPRequestHandler):
    """One connection; self.server.app is the App."""

    protocol_version = "HTTP/1.1"	# keep-alive: fetches reuse connections
    server_version = "feed-web"
    timeout = IO_TIMEOUT

    # --- dispatch -----------------------------------------------------------

    def do_GET(self):
        self._route("GET")

    def do_POST(self):
        self._route("POST")

    def do_PUT(self):
        self._route("PUT")

    def do_DELETE(self):
        self._route("DELETE")

    def _route(self, method: str) -> None:
        """Runs the route of the path and method, turning refusals into
        4xx answers (HTML for pages, JSON under /api/)."""
        path = urllib.parse.urlsplit(self.path).path
        is_api = path.startswith("/api/")
        self._body_read = False
        try:
            for pattern, methods in ROUTES:
                m = pattern.fullmatch(path)
                if m is None:
                    continue
                if method not in methods:
                    raise HttpError(405, f"{method} not allowed here; allowed:"
                                    f" {', '.join(methods)}", "method")
                methods[method](self, **m.groupdict())
                return
            raise HttpError(404, f"no such page: {path}")
        except InputError as e:
            self._refuse(HttpError(400, e.message, e.field), is_api)
        except HttpError as e:
            self._refuse(e, is_api)
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            self.close_connection = True
        except Exception:	# a bug or a broken database: say so, go on
            log.exception("%s %s", method, path)
            self.close_connection = True
            self._refuse(HttpError(500, "internal error (see the server's"
                                   " log)"), is_api)

    def _refuse(self, e: HttpError, is_api: bool) -> None:
        """Answers a refusal; the connection closes if the body was not
        read (or not readable)."""
        extra = {}
        unread = self.headers.get("Content-Length", "0") != "0" or \
            "Transfer-Encoding" in self.headers
        if unread and not self._body_read:
            self.close_connection = True	# its bytes would pose as a request
        if e.status == 405:
            path = urllib.parse.urlsplit(self.path).path
            allowed = next(ms for p, ms in ROUTES if p.fullmatch(path))
            extra["Allow"] = ", ".join(allowed)
        if is_api:
            self._json(e.status, {"error": e.message, "field": e.field}, extra)
        else:
            titles = {400: "Bad request", 404: "Not found",
                      405: "Method not allowed", 500: "Server error",
                      503: "Busy"}
            self._send(e.status, "text/html; charset=utf-8",
                       pages.error(e.status, titles.get(e.status, "Error"),
                                   e.message).encode(), extra)

    # --- answers ------------------------------------------------------------

    def _send(self, status: int, ctype: str, body: bytes,
              extra: dict = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", _CSP)
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def _html(self, text: str) -> None:
        self._send(200, "text/html; charset=utf-8", text.encode())

    def _json(self, status: int, doc, extra: dict = None) -> None:
        self._send(status, "application/json",
                   json.dumps(doc).encode() + b"\n", extra)

    def log_message(self, fmt, *args):
        """Access log through logging, control characters escaped."""
        log.info("%s %s", self.address_string(),
                 _CONTROL_RE.sub(lambda m: f"\\x{ord(m.group()):02x}",
                                 fmt % args))

    # --- request input ------------------------------------------------------

    def _body(self) -> dict:
        """The request's JSON object body, bounded by MAX_BODY."""
        ctype = self.headers.get("Content-Type", "")
        if ctype.split(";")[0].strip().lower() != "application/json":
            self.close_connection = True
            raise HttpError(415, "Content-Type must be application/json",
                            "Content-Type")
        if "Transfer-Encoding" in self.headers:
            self.close_connection = True
            raise HttpError(411, "send a Content-Length, not a"
                            " Transfer-Encoding", "Content-Length")
        length = self.headers.get("Content-Length")
        if length is None:
            self.close_connection = True
            raise HttpError(411, "Content-Length required", "Content-Length")
        if not length.isdigit():
            self.close_connection = True
            raise HttpError(400, "Content-Length is not a number",
                            "Content-Length")
        if int(length) > MAX_BODY:
            self.close_connection = True
            raise HttpError(413, f"body over {MAX_BODY} bytes", "body")
        raw = self.rfile.read(int(length))
        self._body_read = True
        if len(raw) != int(length):
            self.close_connection = True
            raise HttpError(400, "body shorter than its Content-Length",
                            "body")
        return api.parse_body(raw)

    def _contact(self, uuid: str):
        """The contact of a path, 400 for a bad UUID, 404 if unknown."""
        try:
            cu = api.uuid_value(uuid, "uuid")
        except InputError:
            raise HttpError(400, f"not a contact UUID: {uuid}",
                            "uuid") from None
        c = self.server.app.store.contact(cu)
        if c is None:
            raise HttpError(404, f"no contact {cu}", "uuid")
        return c

    def _interaction_uuid(self, uuid: str) -> str:
        try:
            return api.uuid_value(uuid, "uuid")
        except InputError:
            raise HttpError(400, f"not an interaction UUID: {uuid}",
                            "uuid") from None

    # --- pages --------------------------------------------------------------

    def home(self):
        self._html(pages.home(self.server.app.store.contacts()))

    def contact_page(self, uuid):
        store = self.server.app.store
        c = self._contact(uuid)
        others = [o for o in store.contacts() if o.uuid != c.uuid]
        self._html(pages.contact(c, store.feed(c.uuid), others))

    def feed(self, uuid):
        c = self._contact(uuid)
        self._html(pages.feed(self.server.app.store.feed(c.uuid), c.uuid))

    def static(self, name):
        app = self.server.app
        if name not in app.static:
            raise HttpError(404, f"no such file: {name}")
        self._send(200, _STATIC_TYPES[name], app.static[name])

    def events(self, uuid):
        """The page's event stream. The headers leave only once the topic is
        held, so a page that refetches its feed when the stream opens
        misses nothing written between its first render and now."""
        app = self.server.app
        c = self._contact(uuid)
        try:
            page = app.hub.open_page(c.uuid)
        except TooManyPages as e:
            raise HttpError(503, str(e)) from None
        self.close_connection = True	# the stream ends with the connection
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Connection", "close")
            self.end_headers()
            # retry: how soon a browser reconnects when the stream breaks
            self.wfile.write(b"retry: 1000\n\n")
            self._event(("status", {"live": app.hub.live}))
            while True:
                ev = page.get(app.heartbeat)
                if ev is CLOSED:
                    break
                if ev is None:	# heartbeat: a gone browser fails the write
                    self.wfile.write(b": keep-alive\n\n")
                    self.wfile.flush()
                else:
                    self._event(ev)
        except (BrokenPipeError, ConnectionResetError, socket.timeout,
                OSError):
            pass
        finally:
            app.hub.close_page(page)

    def _event(self, ev: tuple) -> None:
        name, data = ev
        self.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n"
                         .encode())
        self.wfile.flush()

    # --- JSON API -----------------------------------------------------------

    def api_contacts(self):
        self._json(200, [asdict(c) for c in self.server.app.store.contacts()])

    def api_add_contact(self):
        name = api.contact_input(self._body())
        self._json(201, {"uuid": self.server.app.store.add_contact(name)})

    def api_interaction(self, uuid):
        i = self.server.app.store.interaction(self._interaction_uuid(uuid))
        if i is None:
            raise HttpError(404, f"no interaction {uuid}", "uuid")
        self._json(200, asdict(i))

    def api_add_interaction(self):
        app = self.server.app
        new = app.store.add_interaction(api.interaction_input(self._body()))
        app.hub.created(new)		# after the commit, best effort
        self._json(201, {"uuid": new.uuid})

    def api_replace_interaction(self, uuid):
        app = self.server.app
        iu = self._interaction_uuid(uuid)
        body = api.interaction_input(self._body())
        done = app.store.replace_interaction(iu, body)
        if done is None:
            raise HttpError(404, f"no interaction {iu}", "uuid")
        app.hub.updated(*done)
        self._json(200, {"uuid": iu})

    def api_delete_interaction(self, uuid):
        app = self.server.app
        iu = self._interaction_uuid(uuid)
        old = app.store.delete_interaction(iu)
        if old is None:
            raise HttpError(404, f"no interaction {iu}", "uuid")
        app.hub.deleted(old)
        self._json(200, {"uuid": iu})

    def api_stats(self):
        self._json(200, self.server.app.hub.stats())


ROUTES = [(re.compile(p), ms) for p, ms in [
    (r"/", {"GET": Handler.home}),
    (rf"/contacts/{_UUID}", {"GET": Handler.contact_page}),
    (rf"/contacts/{_UUID}/feed", {"GET": Handler.feed}),
    (rf"/contacts/{_UUID}/events", {"GET": Handler.events}),
    (r"/static/(?P<name>[^/]+)", {"GET": Handler.static}),
    (r"/api/contacts", {"GET": Handler.api_contacts,
                        "POST": Handler.api_add_contact}),
    (r"/api/interactions", {"POST": Handler.api_add_interaction}),
    (rf"/api/interactions/{_UUID}", {
        "GET": Handler.api_interaction,
        "PUT": Handler.api_replace_interaction,
        "DELETE": Handler.api_delete_interaction}),
    (r"/api/stats", {"GET": Handler.api_stats}),
]]


class Server(http.server.ThreadingHTTPServer):
    """The listening server; daemon threads, so a stream left open never
    holds up the exit."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple, app: App):
        self.app = app
        super().__init__(address, Handler)
