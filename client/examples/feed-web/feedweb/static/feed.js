// SPDX-License-Identifier: MIT — crmpubsub
// The contact page's live feed: an EventSource on /contacts/<uuid>/events;
// a `crm` or `resync` event (and every (re)opening of the stream) refetches
// /contacts/<uuid>/feed and swaps the fragment in. Never reloads the page.
// Also the two forms (log an interaction, add a contact) and the delete
// buttons, all through the JSON API.
'use strict';

// POSTs/PUTs/DELETEs JSON; resolves to the parsed answer, rejects with the
// server's message ("subject: must not be empty").
async function api(method, url, body) {
  const r = await fetch(url, {
    method,
    headers: body === undefined ? {} : {'Content-Type': 'application/json'},
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const doc = await r.json().catch(() => ({error: r.statusText}));
  if (!r.ok) throw new Error(doc.field ? `${doc.field}: ${doc.error}` : doc.error);
  return doc;
}

function showError(form, err) {
  const p = form.querySelector('.form-error');
  p.textContent = err ? err.message : '';
  p.hidden = !err;
}

function livePage(main) {
  const contact = main.dataset.contactUuid;
  const feed = document.getElementById('feed');
  const count = document.getElementById('feed-count');
  const indicator = document.getElementById('live');
  let streamOpen = false;  // the browser's stream to this server
  let daemonLive = false;  // the server's link to crmpubsubd
  let inflight = null;
  let again = false;

  function showState() {
    const live = streamOpen && daemonLive;
    indicator.dataset.state = live ? 'live' : 'reconnecting';
    indicator.textContent = live ? 'Live' : 'Reconnecting…';
    indicator.title = live ? 'Changes appear as they happen'
      : streamOpen ? 'The live link is down; the feed refreshes when it is back'
        : 'The connection to the server is down';
  }

  function uuids() {
    return [...feed.querySelectorAll('[data-interaction-uuid]')]
      .map((item) => item.dataset.interactionUuid);
  }

  // At most one fetch in flight; an event during it fetches once more after,
  // so the last fetch always starts after the last change announced.
  function refresh() {
    if (inflight) { again = true; return; }
    inflight = fetch(`/contacts/${contact}/feed`, {cache: 'no-store'})
      .then((r) => (r.ok ? r.text() : Promise.reject(new Error(r.statusText))))
      .then((html) => {
        const shown = new Set(uuids());
        feed.innerHTML = html;
        feed.dataset.updatedAt = Date.now();  // when the page last changed
        feed.querySelectorAll('[data-interaction-uuid]').forEach((item) => {
          if (!shown.has(item.dataset.interactionUuid)) item.classList.add('new');
        });
        const list = feed.querySelector('[data-count]');
        if (list) count.textContent = list.dataset.count;
      })
      .catch(() => {})  // the server is away: the stream's reopening refetches
      .finally(() => {
        inflight = null;
        if (again) { again = false; refresh(); }
      });
  }
  window.feedRefresh = refresh;

  function connect() {
    const es = new EventSource(`/contacts/${contact}/events`);
    es.onopen = () => { streamOpen = true; showState(); refresh(); };
    es.onerror = () => {
      streamOpen = false;
      showState();
      if (es.readyState === EventSource.CLOSED) {  // refused: try again later
        setTimeout(connect, 3000);
      }
    };
    es.addEventListener('crm', refresh);
    es.addEventListener('resync', refresh);
    es.addEventListener('status', (e) => {
      daemonLive = JSON.parse(e.data).live;
      showState();
    });
  }
  connect();

  feed.addEventListener('click', (e) => {
    const button = e.target.closest('button[data-delete]');
    if (!button) return;
    button.disabled = true;
    api('DELETE', `/api/interactions/${button.dataset.delete}`)
      .then(refresh, () => { button.disabled = false; });
  });

  const form = document.getElementById('add-interaction');
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const parties = [...form.querySelectorAll('input[name=party]:checked')]
      .map((box) => ({contact_uuid: box.value}));
    form.elements.others.value.split(',').map((s) => s.trim())
      .filter((s) => s).forEach((name) => parties.push({contact_uuid: null, raw_name: name}));
    const button = form.querySelector('button');
    button.disabled = true;
    api('POST', '/api/interactions',
      {contact_uuid: contact, subject: form.elements.subject.value, parties})
      .then(() => { form.reset(); showError(form, null); refresh(); },
        (err) => showError(form, err))
      .finally(() => { button.disabled = false; });
  });
}

function contactsPage() {
  const form = document.getElementById('add-contact');
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    api('POST', '/api/contacts', {name: form.elements.name.value})
      .then((doc) => { window.location.href = `/contacts/${doc.uuid}`; },
        (err) => showError(form, err));
  });
}

const main = document.querySelector('main[data-contact-uuid]');
if (main) livePage(main);
else if (document.getElementById('add-contact')) contactsPage();
