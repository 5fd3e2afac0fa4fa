/* SPDX-License-Identifier: MIT — crmpubsub */
/* Subscribing: a call waits (bounded) for the daemon's replies to all of
 * its request lines and is all or nothing; unsubscribe is pipelined; after
 * every hello the held topics are subscribed again. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "proto_error.h"
#include "request.h"
#include "uuid_canon.h"

/* errno for a subscribe refused with an error code (-1: unknown). */
static int
cl_subscribe_errno(int code)
{
	switch (code) {
	case PERR_TOO_MANY:
		return E2BIG;
	case PERR_BAD_TOPIC:
		return EINVAL;
	default:
		return EPROTO;
	}
}

/* Wakes the call's waiter, if it still waits, with its result. */
static void
cl_subgroup_settle(struct cl_subgroup *g, int result, int err)
{
	if (g->waiter == NULL)
		return;
	g->waiter->done = true;
	g->waiter->result = result;
	g->waiter->err = err;
	g->waiter = NULL;
}

/* Undoes a call: its topics are no longer held, and the daemon is told to
 * drop them (after the call's own lines, so whatever they did is undone;
 * topics held before the call are kept). */
static void
cl_subgroup_undo(crmpubsub *c, struct cl_subgroup *g)
{
	struct cl_req	r;
	size_t		i, nrec;

	g->failed = true;
	for (i = 0; i < g->nadded; i++)
		cl_held_remove(c, &g->added[i]);
	if (c->sock == -1 || g->nadded == 0)
		return;
	memset(&r, 0, sizeof r);
	r.kind = CL_REQ_UNSUBSCRIBE;
	/* Out of memory here leaves stray subscriptions on the daemon; their
	 * pushes are not handed out, as the topics are not held. */
	(void)cl_queue_topics(c, OP_UNSUBSCRIBE, g->added, g->nadded, &r,
	    &nrec);
	cl_flusher_kick(c);
}

void
cl_subgroup_answered(crmpubsub *c, struct cl_subgroup *g,
    const struct message *m)
{
	if (!m->ok && !g->failed) {
		cl_log(c, CRMPUBSUB_LOG_WARNING, "subscribe refused: %s: %s",
		    m->error_name, m->text);
		cl_subgroup_undo(c, g);
		cl_subgroup_settle(g, -1, cl_subscribe_errno(m->error));
	}
	if (g->unanswered == 1 && !g->failed) {
		/* The last reply, and every one was ok. */
		cl_subgroup_settle(g, 0, 0);
		if (g->resync)
			cl_msg_resync(c, g->resync, 0);
	}
}

void
cl_subgroup_abandoned(struct cl_subgroup *g)
{
	/* Held topics are subscribed again, with a RESYNC, on reconnection. */
	if (!g->failed)
		cl_subgroup_settle(g, CRMPUBSUB_PENDING, 0);
}

/* Frees a call's record of itself. */
static void
cl_subgroup_free(struct cl_subgroup *g)
{
	free(g->added);
	free(g);
}

void
cl_subgroup_release(struct cl_subgroup *g)
{
	if (g != NULL && --g->unanswered == 0)
		cl_subgroup_free(g);
}

void
cl_resubscribe(crmpubsub *c)
{
	struct cl_req	r;
	size_t		nrec;

	if (c->nheld == 0)
		return;
	memset(&r, 0, sizeof r);
	r.kind = CL_REQ_RESUBSCRIBE;
	if (cl_queue_topics(c, OP_SUBSCRIBE, c->held, c->nheld, &r,
	    &nrec) == -1) {
		/* Try again from scratch (after back-off). */
		cl_disconnect(c, "out of memory re-subscribing");
		return;
	}
	/* Replies come in order: the last one says all are live. On a first
	 * connection the topics are those of subscribe calls that returned
	 * CRMPUBSUB_PENDING. */
	cl_reqq_at(&c->reqs, c->reqs.n - 1)->resync = c->st.connects > 1 ?
	    CRMPUBSUB_RESYNC_RECONNECTED : CRMPUBSUB_RESYNC_SUBSCRIBED;
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

/* Waits (bounded) until the connection is up and hello answered, so the
 * lines are cut to the daemon's max_line. Whether it is. */
static bool
cl_wait_established(crmpubsub *c, int64_t deadline)
{
	for (;;) {
		cl_pump(c, cl_now_ns());
		if (c->sock == -1)
			return false;
		if (c->established)
			return true;
		if (cl_now_ns() >= deadline)
			return false;
		cl_wait_io(c, deadline, true);
	}
}

/* Makes keys held; the group records which were new. -1 out of memory
 * (nothing changed). */
static int
cl_hold_keys(crmpubsub *c, struct cl_subgroup *g, const struct topic_key *keys,
    size_t n)
{
	size_t	i;
	int	rc;

	for (i = 0; i < n; i++) {
		rc = cl_held_add(c, &keys[i]);
		if (rc == 1)
			g->added[g->nadded++] = keys[i];
		else if (rc == -1) {
			for (i = 0; i < g->nadded; i++)
				cl_held_remove(c, &g->added[i]);
			return -1;
		}
	}
	return 0;
}

/* Waits for the call's replies until the deadline; then, still waiting,
 * it becomes pending: a RESYNC follows once every line is confirmed. */
static void
cl_subgroup_wait(crmpubsub *c, struct cl_subgroup *g, int64_t deadline)
{
	struct cl_waiter	*w = g->waiter;

	for (;;) {
		cl_pump(c, cl_now_ns());
		if (w->done || cl_now_ns() >= deadline)
			break;
		cl_wait_io(c, deadline, true);
	}
	if (!w->done) {
		g->waiter = NULL;
		g->resync = CRMPUBSUB_RESYNC_SUBSCRIBED;
		w->result = CRMPUBSUB_PENDING;
	}
}

/* Holds keys, sends them in as many lines as max_line needs, and waits
 * for every reply. */
static int
cl_subscribe_keys(crmpubsub *c, const struct topic_key *keys, size_t n)
{
	struct cl_waiter	 w = { false, 0, 0 };
	struct cl_subgroup	*g;
	struct cl_req		 r;
	int64_t			 deadline;
	bool			 up;
	int			 rc;

	g = calloc(1, sizeof *g);
	if (g == NULL || (g->added = malloc(n * sizeof *g->added)) == NULL) {
		free(g);
		errno = ENOMEM;
		return -1;
	}
	pthread_mutex_lock(&c->lock);
	deadline = cl_now_ns() +
	    (int64_t)c->timeout_ms[CRMPUBSUB_TIMEOUT_REQUEST] * 1000000;
	up = cl_wait_established(c, deadline);
	if (cl_hold_keys(c, g, keys, n) == -1) {
		w.result = -1;
		w.err = ENOMEM;
		goto done;
	}
	if (!up) {
		/* Subscribed, with a RESYNC, once hello is answered. */
		w.result = CRMPUBSUB_PENDING;
		goto done;
	}
	memset(&r, 0, sizeof r);
	r.kind = CL_REQ_SUBSCRIBE;
	r.group = g;
	g->waiter = &w;
	rc = cl_queue_topics(c, OP_SUBSCRIBE, keys, n, &r, &g->unanswered);
	if (rc == 0) {
		cl_subgroup_wait(c, g, deadline);	/* g may be freed */
		g = NULL;
	} else {
		cl_subgroup_undo(c, g);
		cl_subgroup_settle(g, -1, ENOMEM);
		if (g->unanswered > 0)
			g = NULL;	/* its records free it */
	}
done:
	if (g != NULL)
		cl_subgroup_free(g);
	pthread_mutex_unlock(&c->lock);
	if (w.result == -1)
		errno = w.err;
	return w.result;
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

/* Calls fn with the topic of a contact's feed; -1 (EINVAL) when
 * contact_uuid is not a UUID. */
static int
cl_contact_call(crmpubsub *c, const char *contact_uuid,
    int (*fn)(crmpubsub *, const char *))
{
	char	topic[CRMPUBSUB_TOPIC_MAX + 1];

	if (crmpubsub_topic_contact_interactions(contact_uuid, topic) == -1)
		return -1;
	return fn(c, topic);
}

int
crmpubsub_subscribe_contact(crmpubsub *c, const char *contact_uuid)
{
	return cl_contact_call(c, contact_uuid, crmpubsub_subscribe);
}

int
crmpubsub_unsubscribe(crmpubsub *c, const char *topic)
{
	struct topic_key	 key;
	struct cl_req		 r;
	struct buf		 line = BUF_INIT;
	bool			 send;
	int			 rc;

	if (c == NULL || (topic != NULL &&
	    topic_parse(topic, strlen(topic), &key) == -1)) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&c->lock);
	if (topic != NULL) {
		send = cl_held_has(c, &key);
		cl_held_remove(c, &key);
		rc = request_topic(&line, OP_UNSUBSCRIBE, &key);
	} else {
		send = c->nheld > 0;
		c->nheld = 0;
		rc = request_plain(&line, OP_UNSUBSCRIBE);
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

int
crmpubsub_unsubscribe_contact(crmpubsub *c, const char *contact_uuid)
{
	return cl_contact_call(c, contact_uuid, crmpubsub_unsubscribe);
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
