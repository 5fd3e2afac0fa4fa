# SPDX-License-Identifier: MIT — crmpubsub
"""feedweb: a small CRM whose contact pages refresh live through
crmpubsubd. Standard library (http.server, sqlite3, json) and the
crmpubsub package only.

    store.py   SQLite: contacts, interactions, parties
    api.py     the JSON API's input, checked field by field
    live.py    the shared crmpubsub client, page queues, broadcasts
    pages.py   the HTML, every value escaped
    server.py  routes, the event stream, HTTP limits
    seed.py    demo contacts and interactions, through the API

Run with python3 -m feedweb (see client/examples/feed-web/README.md)."""
