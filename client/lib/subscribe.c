/* SPDX-License-Identifier: MIT — crmpubsub */
/* Topics: the set a handle holds (kept sorted, re-subscribed after every
 * reconnection), subscribe with a bounded wait, pipelined unsubscribe. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "uuid_canon.h"

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

bool
cl_held_has(const crmpubsub *c, const struct topic_key *k)
{
	bool	found;

	(void)cl_held_find(c, k, &found);
	return found;
}

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
cl_format_subscribe(struct buf *b, const struct topic_key *keys, size_t n)
{
	char	name[TOPIC_MAX_LEN + 1];
	size_t	i, len;
	int	rc = buf_puts(b, "{\"op\":\"subscribe\",\"topics\":[");

	for (i = 0; i < n; i++) {
		len = topic_format(&keys[i], name);
		if (i > 0)
			rc |= buf_putc(b, ',');
		rc |= buf_put_jstr(b, name, len);
	}
	rc |= buf_puts(b, "]}\n");
	return rc ? -1 : 0;
}

int
crmpubsub_topic_contact_interactions(const char *contact_uuid,
    char out[CRMPUBSUB_TOPIC_MAX + 1])
{
	struct topic_key	key;
	uint8_t			u[16];

	if (contact_uuid == NULL || out == NULL ||
	    uuid_canon_parse(contact_uuid, strlen(contact_uuid), u) == -1) {
		errno = EINVAL;
		return -1;
	}
	topic_contact_interactions(u, &key);
	topic_format(&key, out);
	return 0;
}

/* Adds keys to the held set, sends one subscribe and waits for its reply. */
static int
cl_subscribe_keys(crmpubsub *c, const struct topic_key *keys, size_t n)
{
	struct cl_waiter	 w = { false, 0, 0 };
	struct cl_req		 r;
	struct buf		 line = BUF_INIT;
	struct topic_key	*added;
	int64_t			 deadline;
	size_t			 i, nadded = 0;
	int			 rc;

	added = malloc(n * sizeof *added);
	if (added == NULL)
		return -1;
	pthread_mutex_lock(&c->lock);
	for (i = 0; i < n; i++) {
		rc = cl_held_add(c, &keys[i]);
		if (rc == 1)
			added[nadded++] = keys[i];
		else if (rc == -1)
			goto nomem;
	}
	deadline = cl_now_ns() +
	    (int64_t)c->timeout_ms[CRMPUBSUB_TIMEOUT_REQUEST] * 1000000;
	cl_pump(c, cl_now_ns());
	if (c->sock == -1) {
		/* Subscribed with a RESYNC when the connection comes back. */
		pthread_mutex_unlock(&c->lock);
		free(added);
		return CRMPUBSUB_PENDING;
	}
	if (cl_format_subscribe(&line, keys, n) == -1)
		goto nomem;
	memset(&r, 0, sizeof r);
	r.kind = CL_REQ_SUBSCRIBE;
	r.len = (uint32_t)buf_len(&line);
	r.waiter = &w;
	r.added = added;
	r.nadded = nadded;
	if (cl_queue_request(c, &line, &r) == -1)
		goto nomem;
	added = NULL;	/* the record owns it now */
	buf_free(&line);
	for (;;) {
		cl_pump(c, cl_now_ns());
		if (w.done || cl_now_ns() >= deadline)
			break;
		cl_wait_io(c, deadline, true);
	}
	if (!w.done) {
		/* No reply in time: the request stays; a RESYNC follows it. */
		for (i = 0; i < c->reqs.n; i++) {
			struct cl_req *q = cl_reqq_at(&c->reqs, i);

			if (q->waiter == &w) {
				q->waiter = NULL;
				q->resync = CRMPUBSUB_RESYNC_SUBSCRIBED;
			}
		}
		w.result = CRMPUBSUB_PENDING;
	}
	pthread_mutex_unlock(&c->lock);
	if (w.result == -1)
		errno = w.err;
	return w.result;
nomem:
	for (i = 0; i < nadded; i++)
		cl_held_remove(c, &added[i]);
	pthread_mutex_unlock(&c->lock);
	buf_free(&line);
	free(added);
	errno = ENOMEM;
	return -1;
}

int
crmpubsub_subscribe(crmpubsub *c, const char *topic)
{
	return crmpubsub_subscribe_many(c, &topic, 1);
}

int
crmpubsub_subscribe_many(crmpubsub *c, const char *const *topics, size_t n)
{
	struct topic_key	*keys;
	size_t			 i;
	int			 rc;

	if (c == NULL || topics == NULL || n == 0) {
		errno = EINVAL;
		return -1;
	}
	keys = malloc(n * sizeof *keys);
	if (keys == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		if (topics[i] == NULL || topic_parse(topics[i],
		    strlen(topics[i]), &keys[i]) == -1) {
			free(keys);
			errno = EINVAL;
			return -1;
		}
	}
	rc = cl_subscribe_keys(c, keys, n);
	free(keys);
	return rc;
}

int
crmpubsub_unsubscribe(crmpubsub *c, const char *topic)
{
	struct topic_key	 key;
	struct cl_req		 r;
	struct buf		 line = BUF_INIT;
	char			 name[TOPIC_MAX_LEN + 1];
	bool			 send;
	int			 rc = 0;

	if (c == NULL || (topic != NULL &&
	    topic_parse(topic, strlen(topic), &key) == -1)) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&c->lock);
	if (topic != NULL) {
		send = cl_held_has(c, &key);
		cl_held_remove(c, &key);
		rc |= buf_puts(&line, "{\"op\":\"unsubscribe\",\"topic\":");
		rc |= buf_put_jstr(&line, name, topic_format(&key, name));
		rc |= buf_puts(&line, "}\n");
	} else {
		send = c->nheld > 0;
		c->nheld = 0;
		rc |= buf_puts(&line, "{\"op\":\"unsubscribe\"}\n");
	}
	/* While disconnected there is nothing to undo on the daemon's side. */
	if (send && c->sock != -1 && rc == 0) {
		memset(&r, 0, sizeof r);
		r.kind = CL_REQ_UNSUBSCRIBE;
		r.len = (uint32_t)buf_len(&line);
		if (cl_queue_request(c, &line, &r) == 0) {
			cl_pump(c, cl_now_ns());
			cl_flusher_kick(c);
		}
	}
	pthread_mutex_unlock(&c->lock);
	buf_free(&line);
	return 0;
}

size_t
crmpubsub_subscriptions(crmpubsub *c)
{
	size_t	n;

	if (c == NULL)
		return 0;
	pthread_mutex_lock(&c->lock);
	n = c->nheld;
	pthread_mutex_unlock(&c->lock);
	return n;
}
