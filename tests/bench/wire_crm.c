/* SPDX-License-Identifier: MIT — crmpubsub */
/* The load generator's side of the crmpubsubd line protocol: requests built with memcpy, replies and pushes read with memchr/memmem. */
#include <stdlib.h>
#include <string.h>

#include "loadgen.h"

static const char *const events[3] = {
	"interaction_created", "interaction_updated", "interaction_deleted"
};

#define PUT(p, lit)	(memcpy((p), (lit), sizeof(lit) - 1), (p) += sizeof(lit) - 1)

/* Writes the topic of contact c at p; returns the end. */
static char *
put_topic(char *p, uint32_t c)
{
	PUT(p, LG_TOPIC_PREFIX);
	memcpy(p, lg_contact_uuid + (size_t)c * LG_UUID_LEN, LG_UUID_LEN);
	p += LG_UUID_LEN;
	PUT(p, LG_TOPIC_SUFFIX);
	return p;
}

/* Queues one subscribe request naming every topic the subscriber follows. */
void
crm_subscribe(struct lg_conn *c)
{
	uint32_t f[LG_MAX_CONTACTS], n = lg_followed(c->idx, f);
	char *p = lg_reserve(c, 64 + (size_t)n * (LG_TOPIC_LEN + 3)), *s = p;

	PUT(p, "{\"op\":\"subscribe\",\"topics\":[");
	for (uint32_t i = 0; i < n; i++) {
		if (i)
			*p++ = ',';
		*p++ = '"';
		p = put_topic(p, f[i]);
		*p++ = '"';
	}
	PUT(p, "]}\n");
	c->out_len += (size_t)(p - s);
}

/* Queues one broadcast: broadcast_to_contacts or broadcast_interaction. */
void
crm_broadcast(struct lg_conn *c, uint64_t seq, uint64_t stamp_ns,
    const uint32_t *contacts, uint32_t n)
{
	const char *ev = events[seq % 3];
	int interaction = lg_cfg.op_mode == 2 || (lg_cfg.op_mode == 0 && (seq & 1));
	char *p = lg_reserve(c, 256 + (size_t)n * (LG_UUID_LEN + 24)), *s = p;
	const char *cu;

	if (interaction) {
		PUT(p, "{\"op\":\"broadcast_interaction\",\"event\":\"");
		memcpy(p, ev, strlen(ev));
		p += strlen(ev);
		PUT(p, "\",\"interaction\":{\"uuid\":\"");
		lg_interaction_uuid(p, c->idx, seq, stamp_ns);
		p += LG_UUID_LEN;
		PUT(p, "\",\"contact_uuid\":");
		if (n == 0) {
			PUT(p, "null");
		} else {
			*p++ = '"';
			memcpy(p, lg_contact_uuid + (size_t)contacts[0] * LG_UUID_LEN,
			    LG_UUID_LEN);
			p += LG_UUID_LEN;
			*p++ = '"';
		}
		PUT(p, ",\"kind\":\"email\",\"parties\":[");
		for (uint32_t i = 1; i < n; i++) {
			if (i > 1)
				*p++ = ',';
			PUT(p, "{\"role\":\"to\",\"contact_uuid\":\"");
			cu = lg_contact_uuid + (size_t)contacts[i] * LG_UUID_LEN;
			memcpy(p, cu, LG_UUID_LEN);
			p += LG_UUID_LEN;
			PUT(p, "\"}");
		}
		PUT(p, "]}}\n");
	} else {
		PUT(p, "{\"op\":\"broadcast_to_contacts\",\"event\":\"");
		memcpy(p, ev, strlen(ev));
		p += strlen(ev);
		PUT(p, "\",\"interaction_uuid\":\"");
		lg_interaction_uuid(p, c->idx, seq, stamp_ns);
		p += LG_UUID_LEN;
		PUT(p, "\",\"contact_uuids\":[");
		for (uint32_t i = 0; i < n; i++) {
			if (i)
				*p++ = ',';
			*p++ = '"';
			memcpy(p, lg_contact_uuid + (size_t)contacts[i] * LG_UUID_LEN,
			    LG_UUID_LEN);
			p += LG_UUID_LEN;
			*p++ = '"';
		}
		PUT(p, "]}\n");
	}
	c->out_len += (size_t)(p - s);
}

/* Reads the unsigned number that follows key in line, or returns -1. */
static long long
field_number(const char *line, size_t n, const char *key, size_t klen)
{
	const char *k = memmem(line, n, key, klen), *end = line + n;
	unsigned long long v = 0;
	const char *p;

	if (!k)
		return -1;
	p = k + klen;
	if (p >= end || *p < '0' || *p > '9')
		return -1;
	while (p < end && *p >= '0' && *p <= '9')
		v = v * 10 + (unsigned)(*p++ - '0');
	return (long long)v;
}

/* One line received by a subscriber: push, resync, or a reply. */
static void
sub_line(struct lg_conn *c, const char *l, size_t n, uint64_t now)
{
	static const char tk[] = "\"topic\":\"" LG_TOPIC_PREFIX;
	static const char ik[] = "\"interaction_uuid\":\"";
	const char *t, *iu;
	uint64_t contact;

	if (n > 9 && memcmp(l, "{\"type\":\"", 9) == 0) {
		if (n > 13 && memcmp(l + 9, "crm\"", 4) == 0) {
			t = memmem(l + 13, n - 13, tk, sizeof(tk) - 1);
			if (!t || (size_t)(l + n - t) < sizeof(tk) - 1 + LG_UUID_LEN)
				goto bad;
			t += sizeof(tk) - 1;
			/* Contact index: the last 12 hex digits of its UUID. */
			if (hex_get(t + 24, 12, &contact) < 0)
				goto bad;
			iu = memmem(t + LG_UUID_LEN, (size_t)(l + n - t) - LG_UUID_LEN,
			    ik, sizeof(ik) - 1);
			if (!iu || (size_t)(l + n - iu) < sizeof(ik) - 1 + LG_UUID_LEN)
				goto bad;
			lg_on_push(c, (uint32_t)contact, iu + sizeof(ik) - 1, now);
			return;
		}
		if (n > 16 && memcmp(l + 9, "resync\"", 7) == 0) {
			long long d = field_number(l, n, "\"dropped\":", 10);
			lg_on_resync(c, d < 0 ? 0 : (uint64_t)d);
			return;
		}
		if (n > 16 && memcmp(l + 9, "shutdown\"", 9) == 0)
			return;
		goto bad;
	}
	if (memmem(l, n, "\"ok\":true", 9)) {
		if (memmem(l, n, "\"op\":\"subscribe\"", 16))
			lg_on_subscribed(c);
		return;
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
	long long d;

	if (n > 10 && memcmp(l, "{\"ok\":true", 10) == 0) {
		d = field_number(l, n, "\"delivered\":", 12);
		if (d < 0)
			goto bad;
		lg_on_reply(c, true, (uint64_t)d);
		return;
	}
	if (n > 11 && memcmp(l, "{\"ok\":false", 11) == 0) {
		lg_on_error_text("writer got", l, n);
		lg_on_reply(c, false, 0);
		return;
	}
	if (n > 9 && memcmp(l, "{\"type\":\"", 9) == 0)
		return;		/* shutdown; writers subscribe to nothing */
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
