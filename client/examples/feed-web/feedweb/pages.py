# SPDX-License-Identifier: MIT — crmpubsub
"""The HTML: the contact list, a contact's page with its Interactions tab,
the feed fragment the page refetches, and error pages.

Every value from the database or the request goes through esc() (or
attr()) where it is written: names, subjects and free-text parties are
whatever a writer sent. The pages carry no inline script or style, so the
server's Content-Security-Policy can forbid both."""

from __future__ import annotations

import datetime
import html
import zlib

APP_NAME = "crmpubsub CRM"


def esc(value) -> str:
    """Text for HTML content or a quoted attribute."""
    return html.escape(str(value), quote=True)


def initials(name: str) -> str:
    """Up to two initials for an avatar."""
    letters = [w[0] for w in name.split() if w[:1].isalnum()]
    return "".join(letters[:1] + letters[1:][-1:]).upper() or "?"


def hue(key: str) -> int:
    """A stable avatar colour class (0-7) for a contact."""
    return zlib.crc32(key.encode()) % 8


def when(stamp: str) -> tuple:
    """A stored time as (date, time of day) for display, in UTC."""
    try:
        t = datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ")
    except ValueError:		# written by some other writer: show as is
        return stamp, ""
    return f"{t.day} {t:%b %Y}", f"{t:%H:%M} UTC"


def _layout(title: str, body: str, script: bool = False,
            live: bool = False) -> str:
    """A whole page around body; live adds the live/reconnecting
    indicator."""
    js = '<script src="/static/feed.js" defer></script>\n' if script else ""
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)} · {APP_NAME}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/feed.css">
{js}</head>
<body>
<header class="topbar">
  <a class="brand" href="/"><span class="logo">◆</span> {APP_NAME}</a>
  <nav><a href="/">Contacts</a></nav>
  {'<span id="live" class="live" data-state="connecting" role="status">Connecting…</span>' if live else ''}
</header>
{body}
</body>
</html>
"""


def _avatar(contact, size: str = "") -> str:
    return (f'<span class="avatar hue-{hue(contact.uuid)} {size}"'
            f' aria-hidden="true">{esc(initials(contact.name))}</span>')


def home(contacts: list) -> str:
    """GET /: every contact, linked to its page, and a form to add one."""
    if contacts:
        rows = "\n".join(
            f'<tr><td><a class="who" href="/contacts/{esc(c.uuid)}">'
            f'{_avatar(c, "small")} {esc(c.name)}</a></td>'
            f'<td class="num">{c.interactions}</td></tr>' for c in contacts)
        table = (f'<table class="contacts"><thead><tr><th>Name</th>'
                 f'<th class="num">Interactions</th></tr></thead>'
                 f'<tbody>\n{rows}\n</tbody></table>')
    else:
        table = '<p class="empty">No contacts yet: add the first one.</p>'
    body = f"""<main class="page">
  <h1>Contacts <span class="count">{len(contacts)}</span></h1>
  <div class="columns">
    <section class="card">{table}</section>
    <aside class="card">
      <h2>New contact</h2>
      <form id="add-contact" autocomplete="off">
        <label>Name <input name="name" required maxlength="200"></label>
        <button type="submit">Add contact</button>
        <p class="form-error" hidden></p>
      </form>
    </aside>
  </div>
</main>"""
    return _layout("Contacts", body, script=True)


def _party(p) -> str:
    """One party: a link to a contact, or a free-text name."""
    if p.contact_uuid is None:
        return f'<span class="free" title="not a contact">{esc(p.raw_name)}</span>'
    return f'<a href="/contacts/{esc(p.contact_uuid)}">{esc(p.name or p.raw_name)}</a>'


def _interaction(i, contact_uuid: str) -> str:
    """One feed entry, seen from contact_uuid's page."""
    day, clock = when(i.occurred_at)
    if i.contact_uuid == contact_uuid:
        role = '<span class="role subject">Subject</span>'
    else:
        role = '<span class="role party">Party</span>'
    with_ = ", ".join(_party(p) for p in i.parties) or \
        '<span class="muted">nobody else</span>'
    return f"""<li class="interaction" data-interaction-uuid="{esc(i.uuid)}">
  <div class="when"><time datetime="{esc(i.occurred_at)}">{esc(day)}</time><span>{esc(clock)}</span></div>
  <div class="what">
    <p class="text">{esc(i.subject)}</p>
    <p class="meta">{role} About <a href="/contacts/{esc(i.contact_uuid)}">{esc(i.subject_name)}</a> · with {with_}</p>
  </div>
  <button class="delete" type="button" data-delete="{esc(i.uuid)}" title="Delete this interaction">Delete</button>
</li>"""


def feed(interactions: list, contact_uuid: str) -> str:
    """GET /contacts/<uuid>/feed: the Interactions tab's list, newest first
    (the fragment the page swaps in)."""
    if not interactions:
        return ('<div class="feed-list" data-count="0"><p class="empty">'
                'No interactions yet. Log one with the form, or through'
                ' the API.</p></div>')
    items = "\n".join(_interaction(i, contact_uuid) for i in interactions)
    return (f'<div class="feed-list" data-count="{len(interactions)}">'
            f'<ol class="feed">\n{items}\n</ol></div>')


def contact(c, interactions: list, others: list) -> str:
    """GET /contacts/<uuid>: the contact's page, its Interactions tab
    open, and the form that logs an interaction with c as its subject."""
    choices = "\n".join(
        f'<label class="choice"><input type="checkbox" name="party"'
        f' value="{esc(o.uuid)}"> {_avatar(o, "tiny")} {esc(o.name)}</label>'
        for o in others) or '<p class="muted">No other contacts.</p>'
    body = f"""<main class="page" data-contact-uuid="{esc(c.uuid)}">
  <nav class="crumbs"><a href="/">Contacts</a> › {esc(c.name)}</nav>
  <section class="card profile">
    {_avatar(c, "large")}
    <div><h1>{esc(c.name)}</h1><p class="muted mono">{esc(c.uuid)}</p></div>
  </section>
  <div class="tabs" role="tablist">
    <span class="tab" role="tab" aria-disabled="true">Overview</span>
    <span class="tab active" role="tab" aria-selected="true">Interactions <span id="feed-count" class="badge">{len(interactions)}</span></span>
    <span class="tab" role="tab" aria-disabled="true">Deals</span>
  </div>
  <div class="columns">
    <section class="card" aria-label="Interactions">
      <div id="feed" aria-live="polite">{feed(interactions, c.uuid)}</div>
    </section>
    <aside class="card">
      <h2>Log an interaction</h2>
      <form id="add-interaction" autocomplete="off">
        <label>What happened
          <textarea name="subject" rows="3" maxlength="1000" required
            placeholder="Call about the renewal"></textarea></label>
        <fieldset><legend>With</legend><div class="choices">{choices}</div></fieldset>
        <label>Others, not contacts <span class="muted">(comma-separated)</span>
          <input name="others" maxlength="1000" placeholder="Sam from Initech"></label>
        <button type="submit">Add interaction</button>
        <p class="form-error" hidden></p>
      </form>
    </aside>
  </div>
</main>"""
    return _layout(c.name, body, script=True, live=True)


def error(status: int, title: str, detail: str) -> str:
    """An error page."""
    body = f"""<main class="page">
  <section class="card error"><h1>{status} {esc(title)}</h1><p>{esc(detail)}</p>
  <p><a href="/">All contacts</a></p></section>
</main>"""
    return _layout(title, body)
