/* SPDX-License-Identifier: MIT — crmpubsub */
/* This daemon's own messages coming back from Redis.
 *
 * A daemon hears its own publishes on the channels it listens to, and must
 * not deliver them twice. Its origin id alone cannot prove a message is its
 * own: every subscriber on Redis sees that id and may publish with it. So
 * each publish to a channel the daemon listens to is remembered (a hash of
 * topic, event and interaction) in a FIFO. Redis forwards one connection's
 * publishes in order, so an echo matches the oldest entries: the entries
 * before the match are publishes that did not come back (a subscription
 * raced them) and are forgotten with it. A message with our origin that
 * matches nothing was not published by this link. Entries also leave after
 * FED_ECHO_TTL_MS, and the oldest one when FED_ECHO_MAX are waiting.
 */

#include <stdlib.h>
#include <string.h>

#include "crmpubsubd.h"
#include "federate.h"

struct fed_echo {
	uint64_t	hash;
	uint64_t	expires_ms;
};

/* FNV-1a, 64 bits, of what tells two messages of one origin apart. A
 * collision only moves a count between echoes and spoofed: neither is
 * delivered. */
static uint64_t
fed_echo_hash(const struct topic_key *k, const struct fedmsg *m)
{
	uint8_t		b[1 + 16 + 1 + 16];
	uint64_t	h = 0xcbf29ce484222325ULL;
	size_t		i;

	b[0] = k->family;
	memcpy(b + 1, k->uuid, 16);
	b[17] = (uint8_t)m->event;
	memcpy(b + 18, m->interaction, 16);
	for (i = 0; i < sizeof b; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

/* The i-th waiting entry, oldest first. */
static struct fed_echo *
fed_echo_at(struct fed_echoes *q, size_t i)
{
	return &q->v[(q->head + i) % q->cap];
}

/* Drops the n oldest entries. */
static void
fed_echoes_drop(struct fed_echoes *q, size_t n)
{
	q->head = (q->head + n) % q->cap;
	q->n -= n;
}

/* Forgets entries that are too old to come back. */
static void
fed_echoes_expire(struct fed_echoes *q, uint64_t now_ms)
{
	size_t	n = 0;

	while (n < q->n && fed_echo_at(q, n)->expires_ms <= now_ms)
		n++;
	if (n > 0)
		fed_echoes_drop(q, n);
}

/* Doubles the ring (up to FED_ECHO_MAX), oldest entry first; -1 when it
 * cannot grow. */
static int
fed_echoes_grow(struct fed_echoes *q)
{
	size_t		 cap = q->cap == 0 ? 64 : q->cap * 2, i;
	struct fed_echo	*v;

	if (cap > FED_ECHO_MAX || (v = malloc(cap * sizeof *v)) == NULL)
		return -1;
	for (i = 0; i < q->n; i++)
		v[i] = *fed_echo_at(q, i);
	free(q->v);
	q->v = v;
	q->cap = cap;
	q->head = 0;
	return 0;
}

void
fed_echoes_expect(struct fed_echoes *q, const struct topic_key *k,
    const struct fedmsg *m, uint64_t now_ms)
{
	struct fed_echo	*e;

	fed_echoes_expire(q, now_ms);
	if (q->n == q->cap && fed_echoes_grow(q) == -1) {
		if (q->cap == 0)
			return;
		fed_echoes_drop(q, 1);
	}
	e = fed_echo_at(q, q->n++);
	e->hash = fed_echo_hash(k, m);
	e->expires_ms = now_ms + FED_ECHO_TTL_MS;
}

int
fed_echoes_take(struct fed_echoes *q, const struct topic_key *k,
    const struct fedmsg *m, uint64_t now_ms)
{
	uint64_t	h = fed_echo_hash(k, m);
	size_t		i;

	fed_echoes_expire(q, now_ms);
	for (i = 0; i < q->n; i++) {
		if (fed_echo_at(q, i)->hash == h) {
			fed_echoes_drop(q, i + 1);
			return 1;
		}
	}
	return 0;
}

void
fed_echoes_clear(struct fed_echoes *q)
{
	q->head = q->n = 0;
}

void
fed_echoes_free(struct fed_echoes *q)
{
	free(q->v);
	memset(q, 0, sizeof *q);
}
