/* SPDX-License-Identifier: MIT — crmpubsub */
/* Best-effort broadcasts (validated, pipelined, bounded in time, always 0),
 * the involved-contacts rule, and flush for callers that want certainty. */

#include <errno.h>
#include <string.h>

#include "client.h"
#include "event.h"
#include "uuid_canon.h"

/* Appends a UUID in canonical form, or null for NULL. -1 when not a UUID. */
static int
cl_put_uuid(struct buf *b, const char *s, bool nullable)
{
	char	text[UUID_TEXT_LEN + 1];
	uint8_t	u[16];

	if (s == NULL)
		return nullable ? buf_puts(b, "null") : -1;
	if (uuid_canon_parse(s, strlen(s), u) == -1)
		return -1;
	uuid_canon_format(u, text);
	return buf_put_jstr(b, text, UUID_TEXT_LEN);
}

/* Queues a formatted broadcast and writes it, all within the time bound.
 * why is NULL when the line is valid, else the reason it was rejected. */
static void
cl_broadcast(crmpubsub *c, const struct buf *line, const char *op,
    const char *why)
{
	struct cl_req	r;
	int64_t		now, deadline;
	uint64_t	end;
	unsigned	gen;
	bool		backlog;

	pthread_mutex_lock(&c->lock);
	now = cl_now_ns();
	deadline = now +
	    (int64_t)c->timeout_ms[CRMPUBSUB_TIMEOUT_BROADCAST] * 1000000;
	c->st.broadcasts++;
	if (why != NULL) {
		c->st.rejected++;
		cl_broadcast_failed(c);
		cl_log(c, CRMPUBSUB_LOG_WARNING, "%s rejected: %s", op, why);
		goto out;
	}
	if (buf_len(&c->out) + buf_len(line) > c->max_queue) {
		/* perhaps the socket takes some now */
		cl_pump_budget(c, now, CL_READ_BUDGET_BROADCAST);
		if (buf_len(&c->out) + buf_len(line) > c->max_queue) {
			c->st.dropped++;
			cl_broadcast_failed(c);
			if (!c->queue_full)
				cl_log(c, CRMPUBSUB_LOG_WARNING, "request queue "
				    "full (%zu bytes%s): dropping broadcasts",
				    buf_len(&c->out), c->sock == -1 ?
				    ", not connected" : "");
			c->queue_full = true;
			goto out;
		}
	}
	/* Output already waiting means the daemon is not keeping up (or is
	 * away): queue behind it without waiting, so a stalled daemon costs
	 * each call microseconds, not the whole time bound. */
	backlog = buf_len(&c->out) > 0;
	memset(&r, 0, sizeof r);
	r.kind = CL_REQ_BROADCAST;
	r.len = (uint32_t)buf_len(line);
	if (cl_queue_request(c, line, &r) == -1) {
		c->st.dropped++;
		cl_broadcast_failed(c);
		cl_log(c, CRMPUBSUB_LOG_ERROR, "%s dropped: out of memory", op);
		goto out;
	}
	c->st.pending++;
	c->queue_full = false;
	end = c->out_appended;
	gen = c->gen;
	/* Wait (bounded) until this line has left for the kernel. */
	for (;;) {
		cl_pump_budget(c, cl_now_ns(), CL_READ_BUDGET_BROADCAST);
		if (c->sock == -1 || c->gen != gen || c->out_removed >= end ||
		    backlog || cl_now_ns() >= deadline)
			break;
		cl_wait_io(c, deadline, true);
	}
	cl_flusher_kick(c);
out:
	pthread_mutex_unlock(&c->lock);
}

/* Appends "event":"…" after the op; NULL reason, or why it is invalid. */
static const char *
cl_put_event(struct buf *b, enum crmpubsub_event ev)
{
	if ((unsigned)ev >= EVENT_COUNT)
		return "unknown event";
	if (buf_puts(b, ",\"event\":") == -1 ||
	    buf_put_jstrz(b, event_name((enum crm_event)ev)) == -1)
		return "out of memory";
	return NULL;
}

int
crmpubsub_broadcast_interaction(crmpubsub *c, enum crmpubsub_event ev,
    const struct crmpubsub_interaction *it)
{
	struct buf	 line = BUF_INIT;
	const char	*why;
	size_t		 i;
	int		 rc = 0;

	if (c == NULL)
		return 0;
	(void)buf_reserve(&line, 256);
	rc |= buf_puts(&line, "{\"op\":\"broadcast_interaction\"");
	why = cl_put_event(&line, ev);
	if (why == NULL && it == NULL)
		why = "no interaction";
	if (why == NULL) {
		rc |= buf_puts(&line, ",\"interaction\":{\"uuid\":");
		if (cl_put_uuid(&line, it->uuid, false) == -1)
			why = "interaction uuid is not a UUID";
	}
	if (why == NULL) {
		rc |= buf_puts(&line, ",\"contact_uuid\":");
		if (cl_put_uuid(&line, it->contact_uuid, true) == -1)
			why = "interaction contact_uuid is not a UUID";
	}
	if (why == NULL && !it->parties_not_loaded) {
		if (it->n_parties > 0 && it->party_contact_uuids == NULL)
			why = "n_parties without party_contact_uuids";
		rc |= buf_puts(&line, ",\"parties\":[");
		for (i = 0; why == NULL && i < it->n_parties; i++) {
			rc |= buf_puts(&line, i ? ",{\"contact_uuid\":" :
			    "{\"contact_uuid\":");
			if (cl_put_uuid(&line, it->party_contact_uuids[i],
			    true) == -1)
				why = "a party contact_uuid is not a UUID";
			rc |= buf_putc(&line, '}');
		}
		rc |= buf_putc(&line, ']');
	}
	rc |= buf_puts(&line, "}}\n");
	if (why == NULL && rc != 0)
		why = "out of memory";
	cl_broadcast(c, &line, "broadcast_interaction", why);
	buf_free(&line);
	return 0;
}

int
crmpubsub_broadcast_to_contacts(crmpubsub *c, enum crmpubsub_event ev,
    const char *interaction_uuid, const char *const *contact_uuids, size_t n)
{
	struct buf	 line = BUF_INIT;
	const char	*why;
	size_t		 i;
	int		 rc = 0;

	if (c == NULL)
		return 0;
	(void)buf_reserve(&line, 128 + 40 * n);
	rc |= buf_puts(&line, "{\"op\":\"broadcast_to_contacts\"");
	why = cl_put_event(&line, ev);
	if (why == NULL) {
		rc |= buf_puts(&line, ",\"interaction_uuid\":");
		if (cl_put_uuid(&line, interaction_uuid, false) == -1)
			why = "interaction_uuid is not a UUID";
	}
	if (why == NULL && n > 0 && contact_uuids == NULL)
		why = "n without contact_uuids";
	rc |= buf_puts(&line, ",\"contact_uuids\":[");
	for (i = 0; why == NULL && i < n; i++) {
		if (i > 0)
			rc |= buf_putc(&line, ',');
		if (cl_put_uuid(&line, contact_uuids[i], true) == -1)
			why = "a contact uuid is not a UUID";
	}
	rc |= buf_puts(&line, "]}\n");
	if (why == NULL && rc != 0)
		why = "out of memory";
	cl_broadcast(c, &line, "broadcast_to_contacts", why);
	buf_free(&line);
	return 0;
}

/* Adds one optional contact UUID to the list: 0, or -1 (EINVAL, ENOMEM). */
static int
cl_involved_add(struct uuid_list *l, const char *s)
{
	uint8_t	u[16];

	if (s == NULL)
		return 0;
	if (uuid_canon_parse(s, strlen(s), u) == -1) {
		errno = EINVAL;
		return -1;
	}
	if (uuid_list_add(l, u) == -1) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

long
crmpubsub_involved_contact_uuids(const struct crmpubsub_interaction *it,
    char (*out)[CRMPUBSUB_UUID_LEN + 1], size_t cap)
{
	struct uuid_list	l = UUID_LIST_INIT;
	size_t			i;
	long			n;

	if (it == NULL || (cap > 0 && out == NULL) ||
	    (!it->parties_not_loaded && it->n_parties > 0 &&
	    it->party_contact_uuids == NULL)) {
		errno = EINVAL;
		return -1;
	}
	if (cl_involved_add(&l, it->contact_uuid) == -1)
		goto fail;
	for (i = 0; !it->parties_not_loaded && i < it->n_parties; i++)
		if (cl_involved_add(&l, it->party_contact_uuids[i]) == -1)
			goto fail;
	for (i = 0; i < l.n && i < cap; i++)
		uuid_canon_format(l.v[i], out[i]);
	n = (long)l.n;
	uuid_list_free(&l);
	return n;
fail:
	uuid_list_free(&l);
	return -1;
}

int
crmpubsub_flush(crmpubsub *c, int timeout_ms)
{
	int64_t			deadline;
	unsigned long long	failures;

	if (c == NULL) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&c->lock);
	deadline = timeout_ms < 0 ? -1 :
	    cl_now_ns() + (int64_t)timeout_ms * 1000000;
	for (;;) {
		cl_pump(c, cl_now_ns());
		if (c->reqs.n == 0)
			break;
		if (deadline >= 0 && cl_now_ns() >= deadline) {
			pthread_mutex_unlock(&c->lock);
			errno = ETIMEDOUT;
			return -1;
		}
		cl_wait_io(c, deadline, true);
	}
	failures = c->flush_failures;
	c->flush_failures = 0;
	pthread_mutex_unlock(&c->lock);
	if (failures > 0) {
		errno = EIO;
		return -1;
	}
	return 0;
}
