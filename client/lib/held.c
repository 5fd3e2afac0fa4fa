/* SPDX-License-Identifier: MIT — crmpubsub */
/* The topics a handle holds (a sorted set, subscribed again after every
 * reconnection) and the topic-list requests that carry them, split so that
 * no line passes the daemon's max_line. */

#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "request.h"

/* Binary search: index of key, or where it would go (*found false). */
static size_t
cl_held_find(const crmpubsub *c, const struct topic_key *k, bool *found)
{
	size_t	lo = 0, hi = c->nheld, mid;
	int	cmp;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		cmp = memcmp(&c->held[mid], k, sizeof *k);
		if (cmp == 0) {
			*found = true;
			return mid;
		}
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

/* Whether the handle holds the topic. */
bool
cl_held_has(const crmpubsub *c, const struct topic_key *k)
{
	bool	found;

	(void)cl_held_find(c, k, &found);
	return found;
}

/* Adds a topic: 1 when new, 0 when held already, -1 out of memory. */
int
cl_held_add(crmpubsub *c, const struct topic_key *k)
{
	struct topic_key	*nv;
	size_t			 at, ncap;
	bool			 found;

	at = cl_held_find(c, k, &found);
	if (found)
		return 0;
	if (c->nheld == c->held_cap) {
		ncap = c->held_cap ? c->held_cap * 2 : 16;
		nv = realloc(c->held, ncap * sizeof *nv);
		if (nv == NULL)
			return -1;
		c->held = nv;
		c->held_cap = ncap;
	}
	memmove(&c->held[at + 1], &c->held[at],
	    (c->nheld - at) * sizeof *c->held);
	c->held[at] = *k;
	c->nheld++;
	return 1;
}

/* Drops a topic (no-op when not held). */
void
cl_held_remove(crmpubsub *c, const struct topic_key *k)
{
	size_t	at;
	bool	found;

	at = cl_held_find(c, k, &found);
	if (!found)
		return;
	memmove(&c->held[at], &c->held[at + 1],
	    (c->nheld - at - 1) * sizeof *c->held);
	c->nheld--;
}

int
cl_queue_topics(crmpubsub *c, enum proto_op op, const struct topic_key *keys,
    size_t n, const struct cl_req *tmpl, size_t *nrec)
{
	struct buf	line = BUF_INIT;
	struct cl_req	r;
	size_t		done, k;

	*nrec = 0;
	for (done = 0; done < n; done += k) {
		buf_reset(&line);
		/* The reply lists the topics again: it must stay readable. */
		k = request_topics(&line, op, keys + done, n - done,
		    c->max_line < CL_MAX_TOPICS_LINE ? c->max_line :
		    CL_MAX_TOPICS_LINE);
		r = *tmpl;
		r.len = (uint32_t)buf_len(&line);
		if (k == 0 || cl_queue_request(c, &line, &r) == -1)
			break;
		(*nrec)++;
	}
	buf_free(&line);
	return done < n ? -1 : 0;
}
