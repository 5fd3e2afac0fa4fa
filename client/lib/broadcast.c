/* SPDX-License-Identifier: MIT — crmpubsub */
/* Best-effort broadcasts (validated, pipelined, coalesced, bounded in time,
 * always 0), the involved-contacts rule, and flush for callers that want
 * certainty. */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "event.h"
#include "uuid_canon.h"

/* The lowercase form of each hexadecimal digit; 0 for any other byte
 * (NUL included, so a scan stops at the end of a short string). */
static const char cl_hex_lower[256] = {
	['0'] = '0', ['1'] = '1', ['2'] = '2', ['3'] = '3', ['4'] = '4',
	['5'] = '5', ['6'] = '6', ['7'] = '7', ['8'] = '8', ['9'] = '9',
	['a'] = 'a', ['b'] = 'b', ['c'] = 'c', ['d'] = 'd', ['e'] = 'e',
	['f'] = 'f',
	['A'] = 'a', ['B'] = 'b', ['C'] = 'c', ['D'] = 'd', ['E'] = 'e',
	['F'] = 'f',
};

/* Writes s at p as a quoted UUID in canonical (lowercase) form, checking
 * it in the same pass (the rule of uuid_canon_parse: 36 characters, hex
 * digits with dashes at 8, 13, 18 and 23), or null for NULL when
 * nullable. The end of what was written, or NULL when s is not a UUID.
 * Writes at most UUID_TEXT_LEN + 2 bytes. */
static char *
cl_put_uuid(char *p, const char *s, bool nullable)
{
	static const unsigned char group_end[] = { 8, 13, 18, 23, 36 };
	size_t	i = 0, g;
	char	h;

	if (s == NULL) {
		if (!nullable)
			return NULL;
		memcpy(p, "null", 4);
		return p + 4;
	}
	*p++ = '"';
	for (g = 0; g < sizeof group_end; g++) {
		for (; i < group_end[g]; i++) {
			if ((h = cl_hex_lower[(unsigned char)s[i]]) == 0)
				return NULL;
			p[i] = h;
		}
		if (i < UUID_TEXT_LEN) {
			if (s[i] != '-')
				return NULL;
			p[i++] = '-';
		}
	}
	if (s[UUID_TEXT_LEN] != '\0')
		return NULL;
	p[UUID_TEXT_LEN] = '"';
	return p + UUID_TEXT_LEN + 1;
}

/* Appends the literal s (a string constant) at p and advances p. */
#define CL_PUT(p, s)	((void)memcpy((p), (s), sizeof(s) - 1), (p) += sizeof(s) - 1)

/* ,"event":"…" for each event, with its length. */
#define CL_EVENT_JSON(name)	{ ",\"event\":\"" name "\"", \
				  sizeof(",\"event\":\"" name "\"") - 1 }
static const struct {
	const char	*s;
	size_t		 len;
} cl_event_json[] = {
	[CRMPUBSUB_INTERACTION_CREATED] = CL_EVENT_JSON("interaction_created"),
	[CRMPUBSUB_INTERACTION_UPDATED] = CL_EVENT_JSON("interaction_updated"),
	[CRMPUBSUB_INTERACTION_DELETED] = CL_EVENT_JSON("interaction_deleted"),
};
_Static_assert(sizeof cl_event_json / sizeof cl_event_json[0] == EVENT_COUNT,
    "one JSON fragment per event");

/* Appends ,"event":"…" at p; NULL when ev is not an event. */
static char *
cl_put_event(char *p, enum crmpubsub_event ev)
{
	if ((unsigned)ev >= EVENT_COUNT)
		return NULL;
	memcpy(p, cl_event_json[ev].s, cl_event_json[ev].len);
	return p + cl_event_json[ev].len;
}

/* Bytes of a line on the stack; longer lines (many contacts) use the heap. */
#define CL_LINE_STACK	1024
/* Bound on a line's fixed parts (op, event, interaction uuid, brackets). */
#define CL_LINE_FIXED	256

/* A buffer of at least need bytes: the stack one, or a heap one (*heap set,
 * the caller frees it). NULL when out of memory. */
static char *
cl_line_buffer(char *stack, size_t need, char **heap)
{
	*heap = NULL;
	if (need <= CL_LINE_STACK)
		return stack;
	*heap = malloc(need);
	return *heap;
}

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
	char		 stack[CL_LINE_STACK], *heap = NULL, *line, *p;
	const char	*why = NULL;
	size_t		 i, n;

	if (c == NULL)
		return 0;
	line = p = stack;
	if ((unsigned)ev >= EVENT_COUNT)
		why = "unknown event";
	else if (it == NULL)
		why = "no interaction";
	else {
		n = it->parties_not_loaded ? 0 : it->n_parties;
		if (n > (SIZE_MAX - CL_LINE_FIXED) / 64 ||
		    (line = p = cl_line_buffer(stack, CL_LINE_FIXED + 64 * n,
		    &heap)) == NULL)
			why = "out of memory";
	}
	if (why == NULL) {
		CL_PUT(p, "{\"op\":\"broadcast_interaction\"");
		p = cl_put_event(p, ev);
		CL_PUT(p, ",\"interaction\":{\"uuid\":");
		if ((p = cl_put_uuid(p, it->uuid, false)) == NULL)
			why = "interaction uuid is not a UUID";
	}
	if (why == NULL) {
		CL_PUT(p, ",\"contact_uuid\":");
		if ((p = cl_put_uuid(p, it->contact_uuid, true)) == NULL)
			why = "interaction contact_uuid is not a UUID";
	}
	if (why == NULL && !it->parties_not_loaded) {
		if (it->n_parties > 0 && it->party_contact_uuids == NULL)
			why = "n_parties without party_contact_uuids";
		else
			CL_PUT(p, ",\"parties\":[");
		for (i = 0; why == NULL && i < it->n_parties; i++) {
			if (i > 0)
				*p++ = ',';
			CL_PUT(p, "{\"contact_uuid\":");
			if ((p = cl_put_uuid(p, it->party_contact_uuids[i],
			    true)) == NULL)
				why = "a party contact_uuid is not a UUID";
			else
				*p++ = '}';
		}
		if (why == NULL)
			*p++ = ']';
	}
	if (why == NULL)
		CL_PUT(p, "}}\n");
	cl_broadcast(c, line, why == NULL ? (size_t)(p - line) : 0,
	    "broadcast_interaction", why);
	free(heap);
	return 0;
}

int
crmpubsub_broadcast_to_contacts(crmpubsub *c, enum crmpubsub_event ev,
    const char *interaction_uuid, const char *const *contact_uuids, size_t n)
{
	char		 stack[CL_LINE_STACK], *heap = NULL, *line, *p;
	const char	*why = NULL;
	size_t		 i;

	if (c == NULL)
		return 0;
	line = p = stack;
	if ((unsigned)ev >= EVENT_COUNT)
		why = "unknown event";
	else if (n > (SIZE_MAX - CL_LINE_FIXED) / 64 ||
	    (line = p = cl_line_buffer(stack, CL_LINE_FIXED + 40 * n,
	    &heap)) == NULL)
		why = "out of memory";
	if (why == NULL) {
		CL_PUT(p, "{\"op\":\"broadcast_to_contacts\"");
		p = cl_put_event(p, ev);
		CL_PUT(p, ",\"interaction_uuid\":");
		if ((p = cl_put_uuid(p, interaction_uuid, false)) == NULL)
			why = "interaction_uuid is not a UUID";
	}
	if (why == NULL && n > 0 && contact_uuids == NULL)
		why = "n without contact_uuids";
	if (why == NULL)
		CL_PUT(p, ",\"contact_uuids\":[");
	for (i = 0; why == NULL && i < n; i++) {
		if (i > 0)
			*p++ = ',';
		if ((p = cl_put_uuid(p, contact_uuids[i], true)) == NULL)
			why = "a contact uuid is not a UUID";
	}
	if (why == NULL)
		CL_PUT(p, "]}\n");
	cl_broadcast(c, line, why == NULL ? (size_t)(p - line) : 0,
	    "broadcast_to_contacts", why);
	free(heap);
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
