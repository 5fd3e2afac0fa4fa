/* SPDX-License-Identifier: MIT — crmpubsub */
/* This daemon's own messages coming back from Redis.
 *
 * A daemon hears its own publishes on the channels it listens to, and must
 * not deliver them twice. Its origin id alone cannot prove a message is its
 * own: every subscriber on Redis sees that id and may publish with it. So
 * each publish to a channel the daemon listens to is remembered (a hash of
 * topic, event and interaction) in a FIFO, with a counting filter over the
 * hashes so that a message that is none of them is known at once.
 *
 * Redis forwards one connection's publishes in order, so an echo matches
 * the oldest entries: the ones before the match are publishes that did not
 * come back (a subscription raced them) and go with it. For the same
 * reason, entries forgotten unmatched (FED_ECHO_TTL_MS old, or the oldest
 * when FED_ECHO_MAX wait) can only come back before the next match: until
 * then a message with our origin that matches nothing is taken for one of
 * them, as many times as were forgotten. Under overload the daemon thus
 * never calls its own echoes spoofed.
 */

#include <stdlib.h>
#include <string.h>

#include "crmpubsubd.h"
#include "federate.h"

#define FED_ECHO_FILTER	4	/* filter counters per ring slot */

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

/* The filter counter of a hash (cap is a power of two). */
static uint32_t *
fed_echo_seen(struct fed_echoes *q, uint64_t h)
{
	return &q->seen[(h >> 32 ^ h) & (q->cap * FED_ECHO_FILTER - 1)];
}

/* The i-th waiting entry, oldest first. */
static struct fed_echo *
fed_echo_at(struct fed_echoes *q, size_t i)
{
	return &q->v[(q->head + i) & (q->cap - 1)];
}

/* Takes the oldest entry off the FIFO and the filter. */
static void
fed_echoes_pop(struct fed_echoes *q)
{
	(*fed_echo_seen(q, fed_echo_at(q, 0)->hash))--;
	q->head = (q->head + 1) & (q->cap - 1);
	q->n--;
}

/* Forgets entries too old to come back. */
static void
fed_echoes_expire(struct fed_echoes *q, uint64_t now_ms)
{
	while (q->n > 0 && fed_echo_at(q, 0)->expires_ms <= now_ms) {
		fed_echoes_pop(q);
		q->forgotten++;
	}
}

/* Doubles the ring and its filter (up to FED_ECHO_MAX), keeping the
 * entries in order; -1 when it cannot grow. */
static int
fed_echoes_grow(struct fed_echoes *q)
{
	struct fed_echoes	g = *q;
	size_t			i;

	g.cap = q->cap == 0 ? 64 : q->cap * 2;
	g.head = 0;
	if (g.cap > FED_ECHO_MAX ||
	    (g.v = malloc(g.cap * sizeof *g.v)) == NULL)
		return -1;
	if ((g.seen = calloc(g.cap * FED_ECHO_FILTER, sizeof *g.seen)) ==
	    NULL) {
		free(g.v);
		return -1;
	}
	for (i = 0; i < q->n; i++) {
		g.v[i] = *fed_echo_at(q, i);
		(*fed_echo_seen(&g, g.v[i].hash))++;
	}
	free(q->v);
	free(q->seen);
	*q = g;
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
		fed_echoes_pop(q);
		q->forgotten++;
	}
	e = fed_echo_at(q, q->n++);
	e->hash = fed_echo_hash(k, m);
	e->expires_ms = now_ms + FED_ECHO_TTL_MS;
	(*fed_echo_seen(q, e->hash))++;
}

int
fed_echoes_take(struct fed_echoes *q, const struct topic_key *k,
    const struct fedmsg *m, uint64_t now_ms)
{
	uint64_t	h = fed_echo_hash(k, m);
	size_t		i;

	fed_echoes_expire(q, now_ms);
	if (q->n > 0 && *fed_echo_seen(q, h) > 0) {
		for (i = 0; i < q->n; i++) {
			if (fed_echo_at(q, i)->hash != h)
				continue;
			for (; i > 0; i--)
				fed_echoes_pop(q);	/* did not come back */
			fed_echoes_pop(q);
			q->forgotten = 0;
			return 1;
		}
	}
	if (q->forgotten == 0)
		return 0;
	q->forgotten--;
	return 1;
}

void
fed_echoes_clear(struct fed_echoes *q)
{
	if (q->seen != NULL)
		memset(q->seen, 0, q->cap * FED_ECHO_FILTER * sizeof *q->seen);
	q->head = q->n = q->forgotten = 0;
}

void
fed_echoes_free(struct fed_echoes *q)
{
	free(q->v);
	free(q->seen);
	memset(q, 0, sizeof *q);
}
