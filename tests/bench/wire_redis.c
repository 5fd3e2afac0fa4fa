/* SPDX-License-Identifier: MIT — crmpubsub */
/* The same workload against Redis pub/sub: hand-written RESP2, SUBSCRIBE per contact channel, one PUBLISH of the JSON push line per contact. */
#include <stdio.h>
#include <string.h>

#include "loadgen.h"

static const char *const events[3] = {
	"interaction_created", "interaction_updated", "interaction_deleted"
};

#define PUT(p, lit)	(memcpy((p), (lit), sizeof(lit) - 1), (p) += sizeof(lit) - 1)

/* Writes v in decimal at p; returns the end. */
static char *
put_uint(char *p, size_t v)
{
	char t[24];
	int n = 0;

	do
		t[n++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	while (n)
		*p++ = t[--n];
	return p;
}

/* Writes "$<len>\r\n<bytes>\r\n" at p; returns the end. */
static char *
put_bulk(char *p, const char *s, size_t n)
{
	*p++ = '$';
	p = put_uint(p, n);
	PUT(p, "\r\n");
	memcpy(p, s, n);
	p += n;
	PUT(p, "\r\n");
	return p;
}

/* Writes the channel (the crmpubsubd topic) of contact c into out. */
static void
channel_of(char out[LG_TOPIC_LEN], uint32_t c)
{
	char *p = out;

	PUT(p, LG_TOPIC_PREFIX);
	memcpy(p, lg_contact(c), LG_UUID_LEN);
	p += LG_UUID_LEN;
	PUT(p, LG_TOPIC_SUFFIX);
}

/* Queues SUBSCRIBE with one channel per followed contact. */
void
redis_subscribe(struct lg_conn *c)
{
	uint32_t f[LG_MAX_CONTACTS], n = lg_followed(c->idx, f);
	char *p = lg_reserve(c, 64 + (size_t)n * (LG_TOPIC_LEN + 16)), *s = p;
	char ch[LG_TOPIC_LEN];

	p += sprintf(p, "*%u\r\n$9\r\nSUBSCRIBE\r\n", n + 1);
	for (uint32_t i = 0; i < n; i++) {
		channel_of(ch, f[i]);
		p = put_bulk(p, ch, LG_TOPIC_LEN);
	}
	c->acks = n;
	c->out_len += (size_t)(p - s);
}

/* Queues one PUBLISH per contact, each carrying the push crmpubsubd would send. */
void
redis_broadcast(struct lg_conn *c, uint64_t seq, uint64_t stamp_ns,
    const uint32_t *contacts, uint32_t n)
{
	const char *ev = events[seq % 3];
	char iu[LG_UUID_LEN], ch[LG_TOPIC_LEN], msg[256], *m;
	char *p = lg_reserve(c, (size_t)n * 400), *s = p;

	lg_interaction_uuid(iu, c->idx, seq, stamp_ns);
	for (uint32_t i = 0; i < n; i++) {
		channel_of(ch, contacts[i]);
		m = msg;
		PUT(m, "{\"type\":\"crm\",\"event\":\"");
		memcpy(m, ev, strlen(ev));
		m += strlen(ev);
		PUT(m, "\",\"topic\":\"");
		memcpy(m, ch, LG_TOPIC_LEN);
		m += LG_TOPIC_LEN;
		PUT(m, "\",\"payload\":{\"interaction_uuid\":\"");
		memcpy(m, iu, LG_UUID_LEN);
		m += LG_UUID_LEN;
		PUT(m, "\"}}");
		PUT(p, "*3\r\n$7\r\nPUBLISH\r\n");
		p = put_bulk(p, ch, LG_TOPIC_LEN);
		p = put_bulk(p, msg, (size_t)(m - msg));
	}
	c->out_len += (size_t)(p - s);
}

/* Reads "<digits>\r\n" at *pp (after the type byte); -2 incomplete, -1 bad. */
static long long
resp_int(const char **pp, const char *end)
{
	const char *p = *pp, *cr = memchr(p, '\r', (size_t)(end - p));
	long long v = 0;
	int neg = 0;

	if (!cr || cr + 1 >= end)
		return -2;
	if (p < cr && *p == '-') {
		neg = 1;
		p++;
	}
	for (; p < cr; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (*p - '0');
	}
	*pp = cr + 2;
	return neg ? -v : v;
}

/* One array frame a subscriber received: message or subscribe confirmation. */
static void
sub_frame(struct lg_conn *c, const char *const el[3], const size_t elen[3],
    uint64_t now)
{
	static const char ik[] = "\"interaction_uuid\":\"";
	const char *iu;
	uint64_t contact;

	if (elen[0] == 7 && memcmp(el[0], "message", 7) == 0) {
		if (elen[1] != LG_TOPIC_LEN || hex_get(el[1] + 36, 12, &contact) < 0)
			goto bad;
		iu = memmem(el[2], elen[2], ik, sizeof(ik) - 1);
		if (!iu || (size_t)(el[2] + elen[2] - iu) < sizeof(ik) - 1 + LG_UUID_LEN)
			goto bad;
		lg_on_push(c, (uint32_t)contact, iu + sizeof(ik) - 1, now);
		return;
	}
	if (elen[0] == 9 && memcmp(el[0], "subscribe", 9) == 0) {
		if (c->acks && --c->acks == 0)
			lg_on_subscribed(c);
		return;
	}
bad:
	lg_on_error_text("unreadable frame", el[0], elen[0]);
	lg_ctr.garbage++;
}

/* Parses complete RESP2 frames: arrays of bulk strings/integers for
 * subscribers, integers or errors for writers. */
size_t
redis_parse(struct lg_conn *c, const char *buf, size_t len, uint64_t now)
{
	const char *p = buf, *end = buf + len, *frame, *el[3];
	size_t elen[3];
	long long k, v;

	while (p < end) {
		frame = p;
		switch (*p++) {
		case ':':
			if ((v = resp_int(&p, end)) == -2)
				return (size_t)(frame - buf);
			if (c->role == LG_WRITER)
				lg_on_reply(c, true, v < 0 ? 0 : (uint64_t)v);
			continue;
		case '-':
		case '+': {
			const char *cr = memchr(p, '\r', (size_t)(end - p));
			if (!cr || cr + 1 >= end)
				return (size_t)(frame - buf);
			if (*frame == '-') {
				lg_on_error_text("redis error", p, (size_t)(cr - p));
				if (c->role == LG_WRITER)
					lg_on_reply(c, false, 0);
				else
					lg_ctr.errors++;
			}
			p = cr + 2;
			continue;
		}
		case '*':
			break;
		default:
			lg_on_error_text("unreadable RESP", frame, (size_t)(end - frame));
			lg_ctr.garbage++;
			return len;
		}
		if ((k = resp_int(&p, end)) == -2)
			return (size_t)(frame - buf);
		for (long long i = 0; i < k; i++) {
			if (p >= end)
				return (size_t)(frame - buf);
			if (*p == '$') {
				p++;
				if ((v = resp_int(&p, end)) == -2)
					return (size_t)(frame - buf);
				if (v < 0 || end - p < v + 2)
					return (size_t)(frame - buf);
				if (i < 3) {
					el[i] = p;
					elen[i] = (size_t)v;
				}
				p += v + 2;
			} else if (*p == ':') {
				p++;
				if ((v = resp_int(&p, end)) == -2)
					return (size_t)(frame - buf);
				if (i < 3) {
					el[i] = "";
					elen[i] = 0;
				}
			} else {
				lg_on_error_text("unreadable RESP", p, (size_t)(end - p));
				lg_ctr.garbage++;
				return len;
			}
		}
		if (k == 3 && c->role == LG_SUB)
			sub_frame(c, el, elen, now);
	}
	return (size_t)(p - buf);
}
