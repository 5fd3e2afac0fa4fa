/* SPDX-License-Identifier: MIT — crmpubsub */
/* The load generator's side of the crmpubsubd line protocol, spoken as
 * every client speaks it: requests built by proto/request.c, replies and
 * pushes read by proto/message.c. */
#include <stdlib.h>
#include <string.h>

#include "loadgen.h"
#include "message.h"
#include "request.h"

/* Scratch for one request line, reused. */
static struct buf line;

/* Appends the line built in `line` to c's output. */
static void
queue_line(struct lg_conn *c)
{
	memcpy(lg_reserve(c, buf_len(&line)), buf_head(&line), buf_len(&line));
	c->out_len += buf_len(&line);
	buf_reset(&line);
}

/* Queues one subscribe request naming every topic the subscriber follows. */
void
crm_subscribe(struct lg_conn *c)
{
	uint32_t f[LG_MAX_CONTACTS], n = lg_followed(c->idx, f);
	struct topic_key keys[LG_MAX_CONTACTS];
	uint8_t u[16];

	for (uint32_t i = 0; i < n; i++) {
		if (uuid_canon_parse(lg_contact(f[i]), LG_UUID_LEN, u) == -1)
			abort();
		topic_contact_interactions(u, &keys[i]);
	}
	if (request_topics(&line, OP_SUBSCRIBE, keys, n, SIZE_MAX) != n)
		abort();
	queue_line(c);
}

/* Queues one broadcast: broadcast_to_contacts or broadcast_interaction. */
void
crm_broadcast(struct lg_conn *c, uint64_t seq, uint64_t stamp_ns,
    const uint32_t *contacts, uint32_t n)
{
	enum crm_event ev = (enum crm_event)(seq % EVENT_COUNT);
	int interaction = lg_cfg.op_mode == 2 || (lg_cfg.op_mode == 0 && (seq & 1));
	const char *named[LG_MAX_CONTACTS], *why;
	char iu[LG_UUID_LEN + 1];
	struct request_interaction it;
	int rc;

	lg_interaction_uuid(iu, c->idx, seq, stamp_ns);
	iu[LG_UUID_LEN] = '\0';
	for (uint32_t i = 0; i < n; i++)
		named[i] = lg_contact(contacts[i]);
	if (interaction) {
		/* The first contact is the subject, the others parties. */
		it.uuid = iu;
		it.contact_uuid = n > 0 ? named[0] : NULL;
		it.party_contact_uuids = named + 1;
		it.n_parties = n > 0 ? n - 1 : 0;
		it.parties_loaded = 1;
		rc = request_broadcast_interaction(&line, ev, &it, &why);
	} else
		rc = request_broadcast_to_contacts(&line, ev, iu, named, n,
		    &why);
	if (rc == -1) {
		lg_on_error_text("cannot build a broadcast", why, strlen(why));
		abort();
	}
	queue_line(c);
}

/* One line received by a subscriber: push, resync, or a reply. */
static void
sub_line(struct lg_conn *c, const char *l, size_t n, uint64_t now)
{
	struct message m;
	char iu[UUID_TEXT_LEN + 1];
	uint32_t contact;

	if (message_parse(l, n, &m) == -1)
		goto bad;
	switch (m.type) {
	case MESSAGE_CRM:
		/* Contact index: the last 32 bits of its UUID. */
		contact = (uint32_t)m.topic.uuid[12] << 24 |
		    (uint32_t)m.topic.uuid[13] << 16 |
		    (uint32_t)m.topic.uuid[14] << 8 | m.topic.uuid[15];
		uuid_canon_format(m.interaction, iu);
		lg_on_push(c, contact, iu, now);
		return;
	case MESSAGE_RESYNC:
		lg_on_resync(c, m.dropped);
		return;
	case MESSAGE_SHUTDOWN:
		return;
	case MESSAGE_REPLY:
		if (!m.ok)
			break;
		if (m.op == OP_SUBSCRIBE)
			lg_on_subscribed(c);
		return;
	default:
		goto bad;
	}
	lg_on_error_text("subscriber got", l, n);
	lg_ctr.errors++;
	return;
bad:
	lg_on_error_text("unreadable push", l, n);
	lg_ctr.garbage++;
}

/* One reply received by a writer. */
static void
writer_line(struct lg_conn *c, const char *l, size_t n)
{
	struct message m;

	if (message_parse(l, n, &m) == -1)
		goto bad;
	if (m.type == MESSAGE_REPLY && m.ok && m.num[RN_DELIVERED] >= 0) {
		lg_on_reply(c, true, (uint64_t)m.num[RN_DELIVERED]);
		return;
	}
	if (m.type == MESSAGE_REPLY && !m.ok) {
		lg_on_error_text("writer got", l, n);
		lg_on_reply(c, false, 0);
		return;
	}
	if (m.type == MESSAGE_SHUTDOWN)
		return;		/* writers subscribe to nothing */
bad:
	lg_on_error_text("unreadable reply", l, n);
	lg_ctr.garbage++;
}

/* Splits buf into lines and hands each complete one on. */
size_t
crm_parse(struct lg_conn *c, const char *buf, size_t len, uint64_t now)
{
	const char *p = buf, *end = buf + len, *nl;

	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		size_t n = (size_t)(nl - p);
		if (n && p[n - 1] == '\r')
			n--;
		if (n) {
			if (c->role == LG_SUB)
				sub_line(c, p, n, now);
			else
				writer_line(c, p, n);
		}
		p = nl + 1;
	}
	return (size_t)(p - buf);
}
