# SPDX-License-Identifier: MIT — crmpubsub
"""The JSON API and the pages over real HTTP: what each write stores, the
400s naming the field with nothing written, hostile HTTP input, and HTML
escaping."""

import json
import socket
import sqlite3

import pytest

from feedweb import api

NOT_A_CONTACT = "0190a5b2-7c1e-7a01-8f00-00000000dead"


@pytest.fixture
def app(module_app):
    """These tests share one app: each makes its own contacts and looks
    at what it changed, never at totals."""
    return module_app


@pytest.fixture
def people(app):
    """Three contacts A, B, C."""
    return [app.http.contact(n) for n in ("Ann", "Bob", "Cyd")]


def counts(app):
    """Rows per table: what a refused write must leave unchanged."""
    db = app.store._connect()
    try:
        return tuple(db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                     for t in ("contacts", "interactions",
                               "interaction_parties"))
    finally:
        db.close()


def test_create_and_read_back(app, people):
    a, b, c = people
    iu = app.http.interaction(a, "Call", [b], ["Sam (Initech)"])
    doc = app.http.json("GET", f"/api/interactions/{iu}", expect=200)
    assert doc["contact_uuid"] == a and doc["subject"] == "Call"
    assert [(p["contact_uuid"], p["raw_name"]) for p in doc["parties"]] == \
        [(b, "Bob"), (None, "Sam (Initech)")]
    for who, shown in ((a, True), (b, True), (c, False)):
        assert (f'data-interaction-uuid="{iu}"' in app.http.feed(who)) == shown
    sizes = {c["uuid"]: c["interactions"]
             for c in app.http.json("GET", "/api/contacts", expect=200)}
    assert [sizes[x] for x in people] == [1, 1, 0]


def test_feed_newest_first_subject_or_party(app, people):
    a, b, _ = people
    old = app.http.json("POST", "/api/interactions", {
        "contact_uuid": b, "subject": "old", "parties": [{"contact_uuid": a}],
        "occurred_at": "2024-01-01T10:00:00+02:00"}, 201)["uuid"]
    new = app.http.interaction(a, "new")
    feed = app.http.feed(a)
    assert feed.index(new) < feed.index(old)
    assert 'data-count="2"' in feed
    stored = app.http.json("GET", f"/api/interactions/{old}")["occurred_at"]
    assert stored == "2024-01-01T08:00:00.000000Z"


def test_replace_and_delete(app, people):
    a, b, c = people
    iu = app.http.interaction(a, "Call", [b])
    before = counts(app)
    app.http.interaction(b, "Edited", [c], ["Zed"], method="PUT", uuid=iu)
    doc = app.http.json("GET", f"/api/interactions/{iu}")
    assert (doc["contact_uuid"], doc["subject"]) == (b, "Edited")
    assert [p["raw_name"] for p in doc["parties"]] == ["Cyd", "Zed"]
    assert iu not in app.http.feed(a) and iu in app.http.feed(c)
    assert app.http.json("DELETE", f"/api/interactions/{iu}", expect=200) == \
        {"uuid": iu}
    assert counts(app) == (before[0], before[1] - 1, before[2] - 1)
    assert app.http.json("DELETE", f"/api/interactions/{iu}",
                         expect=404)["field"] == "uuid"


# (body, field named in the 400): each must leave the database as it was.
BAD_INTERACTIONS = [
    ({"subject": "x"}, "contact_uuid"),
    ({"contact_uuid": "nope", "subject": "x"}, "contact_uuid"),
    ({"contact_uuid": 7, "subject": "x"}, "contact_uuid"),
    ({"contact_uuid": NOT_A_CONTACT, "subject": "x"}, "contact_uuid"),
    ({"contact_uuid": "A"}, "subject"),
    ({"contact_uuid": "A", "subject": "   "}, "subject"),
    ({"contact_uuid": "A", "subject": ["x"]}, "subject"),
    ({"contact_uuid": "A", "subject": "x" * (api.MAX_SUBJECT + 1)}, "subject"),
    ({"contact_uuid": "A", "subject": "bell\x07"}, "subject"),
    ({"contact_uuid": "A", "subject": "x", "parties": {}}, "parties"),
    ({"contact_uuid": "A", "subject": "x", "parties": ["B"]}, "parties[0]"),
    ({"contact_uuid": "A", "subject": "x", "parties": [{}]},
     "parties[0].raw_name"),
    ({"contact_uuid": "A", "subject": "x",
      "parties": [{"contact_uuid": "B"}, {"contact_uuid": None}]},
     "parties[1].raw_name"),
    ({"contact_uuid": "A", "subject": "x",
      "parties": [{"contact_uuid": "B"}, {"contact_uuid": NOT_A_CONTACT}]},
     "parties[1].contact_uuid"),
    ({"contact_uuid": "A", "subject": "x",
      "parties": [{"contact_uuid": "B"}, {"contact_uuid": "B"}]},
     "parties[1].contact_uuid"),
    ({"contact_uuid": "A", "subject": "x",
      "parties": [{"contact_uuid": "B", "role": "cc"}]}, "parties[0].role"),
    ({"contact_uuid": "A", "subject": "x",
      "parties": [{"contact_uuid": None, "raw_name": ""}]},
     "parties[0].raw_name"),
    ({"contact_uuid": "A", "subject": "x",
      "parties": [{"contact_uuid": None, "raw_name": f"n{i}"}
                  for i in range(api.MAX_PARTIES + 1)]}, "parties"),
    ({"contact_uuid": "A", "subject": "x", "partys": []}, "partys"),
    ({"contact_uuid": "A", "subject": "x", "occurred_at": "yesterday"},
     "occurred_at"),
    ({"contact_uuid": "A", "subject": "x",
      "occurred_at": "2024-01-01T10:00:00"}, "occurred_at"),
]


def _fill(value, people):
    """The body with "A", "B" replaced by the contacts' UUIDs."""
    names = dict(zip("ABC", people))
    if isinstance(value, dict):
        return {k: _fill(v, people) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, people) for v in value]
    return names.get(value, value) if isinstance(value, str) else value


@pytest.mark.parametrize("body,field", BAD_INTERACTIONS)
@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_bad_interaction_is_a_400_naming_the_field(app, people, body, field,
                                                   method):
    a, b, _ = people
    iu = app.http.interaction(a, "kept", [b])
    before = (counts(app), app.http.json("GET", f"/api/interactions/{iu}"))
    path = "/api/interactions" + (f"/{iu}" if method == "PUT" else "")
    status, headers, data = app.http.request(method, path,
                                             _fill(body, people))
    doc = json.loads(data)
    assert (status, doc["field"]) == (400, field), doc
    assert headers["Content-Type"] == "application/json"
    assert doc["error"]
    assert (counts(app), app.http.json("GET", f"/api/interactions/{iu}")) \
        == before


# (raw body, field): documents that are not a valid JSON object.
BAD_DOCUMENTS = [
    (b"", "body"), (b"{", "body"), (b"[]", "body"), (b'"x"', "body"),
    (b'{"name": "a", "name": "b"}', "body"), (b'{"name": NaN}', "body"),
    (b"\xff\xfe", "body"), (b"[" * 30000 + b"]" * 30000, "body"),
    (b'{"name": "x", "extra": 1}', "extra"), (b'{}', "name"),
    (b'{"name": "' + b"x" * (api.MAX_NAME + 1) + b'"}', "name"),
]


@pytest.mark.parametrize("raw,field", BAD_DOCUMENTS)
def test_bad_document_is_a_400(app, raw, field):
    before = counts(app)
    status, _, data = app.http.request("POST", "/api/contacts", raw=raw)
    assert (status, json.loads(data)["field"]) == (400, field)
    assert counts(app) == before


def test_http_limits(app, people):
    a = people[0]
    before = counts(app)
    big = b'{"name": "' + b"x" * (70 * 1024) + b'"}'
    # (method, path, raw body, headers, status, field)
    cases = [
        ("POST", "/api/contacts", big, {}, 413, "body"),
        ("POST", "/api/contacts", b'{"name":"x"}',
         {"Content-Type": "text/plain"}, 415, "Content-Type"),
        ("POST", "/api/contacts", b'{"name":"x"}',
         {"Content-Length": "ten"}, 400, "Content-Length"),
        ("PUT", "/api/interactions/not-a-uuid", b"{}", {}, 400, "uuid"),
        ("GET", f"/api/interactions/{NOT_A_CONTACT}", None, {}, 404, "uuid"),
        ("PUT", f"/api/interactions/{NOT_A_CONTACT}",
         json.dumps({"contact_uuid": a, "subject": "x"}).encode(), {},
         404, "uuid"),
        ("DELETE", "/api/contacts", None, {}, 405, "method"),
        ("GET", "/api/nothing", None, {}, 404, None),
    ]
    for method, path, raw, headers, status, field in cases:
        got, h, data = app.http.request(method, path, raw=raw,
                                        headers=headers)
        assert (got, json.loads(data)["field"]) == (status, field), \
            (method, path, data)
        if status == 405:
            assert h["Allow"] == "GET, POST"
    assert counts(app) == before


def test_no_content_length_is_a_411(app):
    with socket.create_connection(("127.0.0.1", app.http.port), 5) as s:
        s.sendall(b"POST /api/contacts HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Type: application/json\r\n\r\n")
        head = s.recv(65536).split(b"\r\n")[0]
    assert head == b"HTTP/1.1 411 Length Required"


def test_pages_refuse_bad_paths(app, people):
    cases = [("/contacts/not-a-uuid", 400),
             (f"/contacts/{NOT_A_CONTACT}", 404),
             (f"/contacts/{NOT_A_CONTACT}/feed", 404),
             (f"/contacts/{NOT_A_CONTACT}/events", 404),
             ("/contacts/x/events", 400), ("/static/../store.py", 404),
             ("/static/nothing.js", 404), ("/nowhere", 404)]
    for path, status in cases:
        got, h, data = app.http.request("GET", path)
        assert got == status, path
        assert h["Content-Type"].startswith("text/html")
        assert b"<h1>" in data


def test_everything_shown_is_escaped(app):
    evil = '<script>alert("x")</script>'
    a = app.http.contact(evil)
    b = app.http.contact('Bob "><img src=x onerror=alert(1)>')
    app.http.interaction(a, "<b>bold</b> & co", [b], ["<i>free</i>"])
    for path in ("/", f"/contacts/{a}", f"/contacts/{a}/feed",
                 f"/contacts/{b}"):
        status, headers, data = app.http.request("GET", path)
        page = data.decode()
        assert status == 200
        for raw in ("<script>alert", "<img", "<b>bold", "<i>free"):
            assert raw not in page, (path, raw)
        assert "script-src 'self'" in headers["Content-Security-Policy"]
    page = app.http.feed(a)
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; co" in page
    assert "&lt;i&gt;free&lt;/i&gt;" in page


def test_contact_page_has_the_interface(app, people):
    a, b, c = people
    iu = app.http.interaction(a, "Call", [b])
    status, _, data = app.http.request("GET", f"/contacts/{a}")
    page = data.decode()
    assert status == 200
    assert f'data-contact-uuid="{a}"' in page
    assert f'data-interaction-uuid="{iu}"' in page
    assert 'id="live"' in page and 'id="add-interaction"' in page
    assert f'value="{b}"' in page and f'value="{c}"' in page
    assert f'value="{a}"' not in page		# not a party of its own
    for name in ("feed.js", "feed.css"):
        status, _, data = app.http.request("GET", f"/static/{name}")
        assert status == 200 and data


def test_a_server_fault_is_a_500_and_the_server_goes_on(app, people,
                                                      monkeypatch):
    def broken(*args):
        raise sqlite3.OperationalError("disk I/O error")
    monkeypatch.setattr(app.store, "feed", broken)
    status, h, data = app.http.request("GET", f"/contacts/{people[0]}/feed")
    assert status == 500 and b"internal error" in data
    monkeypatch.setattr(app.store, "add_contact", broken)
    status, _, data = app.http.request("POST", "/api/contacts", {"name": "x"})
    assert status == 500 and json.loads(data)["field"] is None
    monkeypatch.undo()
    assert app.http.contact("after the fault")
