/* SPDX-License-Identifier: MIT — crmpubsub */
/* Best-effort broadcasts (validated, pipelined, coalesced, bounded in time,
 * always 0), the involved-contacts rule, and flush for callers that want
 * certainty. */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "request.h"
#include "uuid_canon.h"

/* Bytes of a line on the stack; longer lines (many contacts) use the heap. */
#define CL_LINE_STACK	1024

/* Whether the line just queued may wait in out (coalescing) instead of
 * being written by this call. was_empty: out held nothing before it. */
static bool
cl_hold(crmpubsub *c, int64_t now, bool was_empty)
{
	if (was_empty)
		c->write_due_ns = now + c->coalesce_ns;
	if (c->sock == -1)		/* write path only to connect */
		return now < c->next_attempt_ns;
	if (c->out_blocked)		/* the flusher waits for POLLOUT */
		return true;
	if (buf_len(&c->out) >= c->coalesce_bytes || now >= c->write_due_ns)
		return false;
	/* Hold only if the flusher can write it when it is due. */
	if (!c->flusher_started)
		cl_flusher_kick(c);
	return c->flusher_started;
}

/* Queues a formatted broadcast (len bytes at line) and, unless coalescing
 * holds it, writes it, all within the time bound. why is NULL when the
 * line is valid, else the reason it was rejected. */
static void
cl_broadcast(crmpubsub *c, const char *line, size_t len, const char *op,
    const char *why)
{
	struct cl_req	r;
	int64_t		now, deadline;
	uint64_t	end;
	unsigned	gen;
	bool		backlog, was_empty;

	pthread_mutex_lock(&c->lock);
	now = cl_now_ns();
	c->st.broadcasts++;
	if (why != NULL) {
		c->st.rejected++;
		cl_broadcast_failed(c);
		cl_log(c, CRMPUBSUB_LOG_WARNING, "%s rejected: %s", op, why);
		goto out;
	}
	if (buf_len(&c->out) + len > c->max_queue) {
		/* Perhaps the socket takes some now; if not, wait (bounded)
		 * for room, unless the previous call already waited in vain
		 * (a stalled daemon must cost microseconds per call). */
		cl_pump_budget(c, now, CL_READ_BUDGET_BROADCAST);
		deadline = now + (int64_t)c->timeout_ms[
		    CRMPUBSUB_TIMEOUT_BROADCAST] * 1000000;
		while (buf_len(&c->out) + len > c->max_queue &&
		    c->sock != -1 && !c->queue_full &&
		    (now = cl_now_ns()) < deadline) {
			cl_wait_io(c, deadline, true);
			cl_pump_budget(c, cl_now_ns(),
			    CL_READ_BUDGET_BROADCAST);
		}
		now = cl_now_ns();
		if (buf_len(&c->out) + len > c->max_queue) {
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
	/* Output the socket refused, or that waits for a connection, means
	 * the daemon is not keeping up (or is away): queue behind it without
	 * waiting, so a stalled daemon costs each call microseconds, not the
	 * whole time bound. (Output held by coalescing is no such sign.) */
	was_empty = buf_len(&c->out) == 0;
	backlog = !was_empty && (c->out_blocked || c->sock == -1 ||
	    c->coalesce_ns == 0);
	memset(&r, 0, sizeof r);
	r.kind = CL_REQ_BROADCAST;
	r.len = (uint32_t)len;
	if (cl_queue_bytes(c, line, len, &r) == -1) {
		c->st.dropped++;
		cl_broadcast_failed(c);
		cl_log(c, CRMPUBSUB_LOG_ERROR, "%s dropped: out of memory", op);
		goto out;
	}
	c->st.pending++;
	c->queue_full = false;
	if (c->coalesce_ns > 0 && cl_hold(c, now, was_empty))
		goto kick;
	end = c->out_appended;
	gen = c->gen;
	deadline = now +
	    (int64_t)c->timeout_ms[CRMPUBSUB_TIMEOUT_BROADCAST] * 1000000;
	/* Wait (bounded) until this line has left for the kernel. */
	for (;;) {
		cl_pump_budget(c, now, CL_READ_BUDGET_BROADCAST);
		if (c->sock == -1 || c->gen != gen || c->out_removed >= end ||
		    backlog || (now = cl_now_ns()) >= deadline)
			break;
		cl_wait_io(c, deadline, true);
		now = cl_now_ns();
	}
kick:
	cl_flusher_kick(c);
out:
	pthread_mutex_unlock(&c->lock);
}

int
crmpubsub_broadcast_interaction(crmpubsub *c, enum crmpubsub_event ev,
    const struct crmpubsub_interaction *it)
{
	struct request_interaction	 ri;
	struct buf			 line;
	char				 stack[CL_LINE_STACK];
	const char			*why;

	if (c == NULL)
		return 0;
	why = (unsigned)ev >= EVENT_COUNT ? "unknown event" : "no interaction";
	buf_init_on(&line, stack, sizeof stack);
	if (it != NULL) {
		ri.uuid = it->uuid;
		ri.contact_uuid = it->contact_uuid;
		ri.party_contact_uuids = it->party_contact_uuids;
		ri.n_parties = it->n_parties;
		ri.parties_loaded = !it->parties_not_loaded;
		(void)request_broadcast_interaction(&line, (enum crm_event)ev,
		    &ri, &why);
	}
	cl_broadcast(c, buf_head(&line), buf_len(&line),
	    proto_op_name(OP_BROADCAST_INTERACTION), why);
	buf_free(&line);
	return 0;
}

int
crmpubsub_broadcast_to_contacts(crmpubsub *c, enum crmpubsub_event ev,
    const char *interaction_uuid, const char *const *contact_uuids, size_t n)
{
	struct buf	 line;
	char		 stack[CL_LINE_STACK];
	const char	*why;

	if (c == NULL)
		return 0;
	buf_init_on(&line, stack, sizeof stack);
	(void)request_broadcast_to_contacts(&line, (enum crm_event)ev,
	    interaction_uuid, contact_uuids, n, &why);
	cl_broadcast(c, buf_head(&line), buf_len(&line),
	    proto_op_name(OP_BROADCAST_TO_CONTACTS), why);
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
