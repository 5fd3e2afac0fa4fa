/* SPDX-License-Identifier: MIT — crmpubsub */
/* The outgoing request stream: queued bytes plus one record per request,
 * kept in step across writes, disconnections and reconnections. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

/* Frees what a record owns. */
void
cl_req_release(struct cl_req *r)
{
	cl_subgroup_release(r->group);
	r->group = NULL;
}

int
cl_queue_bytes(crmpubsub *c, const char *line, size_t len,
    const struct cl_req *r)
{
	size_t	before = buf_len(&c->out);

	if (buf_append(&c->out, line, len) == -1)
		return -1;
	if (cl_ring_push(&c->reqs, r) == -1) {
		c->out.len = before;	/* undo the append */
		return -1;
	}
	c->out_appended += len;
	return 0;
}

int
cl_queue_request(crmpubsub *c, const struct buf *line, const struct cl_req *r)
{
	return cl_queue_bytes(c, buf_head(line), buf_len(line), r);
}

void
cl_out_written(crmpubsub *c, size_t n)
{
	buf_consume(&c->out, n);
	c->out_removed += n;
	c->partial += n;
	while (c->n_written < c->reqs.n &&
	    c->partial >= cl_reqq_at(&c->reqs, c->n_written)->len) {
		c->partial -= cl_reqq_at(&c->reqs, c->n_written)->len;
		c->n_written++;
	}
}

/* Makes out and reqs the whole output of a new connection state: nothing
 * written of it yet. */
static void
cl_out_replace(crmpubsub *c, struct buf *out, struct cl_ring *reqs)
{
	buf_free(&c->out);
	c->out = *out;
	cl_ring_free(&c->reqs);
	c->reqs = *reqs;
	c->n_written = 0;
	c->partial = 0;
	c->out_appended = buf_len(&c->out);
	c->out_removed = 0;
	c->out_blocked = false;
}

void
cl_out_disconnected(crmpubsub *c)
{
	struct buf	 keep = BUF_INIT;
	struct cl_ring	 kept = CL_RING_INIT(struct cl_req);
	struct cl_req	*r;
	const char	*p = buf_head(&c->out);
	size_t		 i, skip;
	bool		 ok = true;

	/* Written (fully or partly) requests will never be answered. */
	for (i = 0; i < c->n_written; i++)
		cl_req_abandon(c, cl_reqq_at(&c->reqs, i), true);
	if (c->partial > 0 && c->n_written < c->reqs.n) {
		r = cl_reqq_at(&c->reqs, c->n_written);
		p += r->len - c->partial;
		cl_req_abandon(c, r, true);
		skip = c->n_written + 1;
	} else
		skip = c->n_written;
	/* Unwritten broadcasts stay queued; control requests are rebuilt from
	 * the held topics at the next connection. */
	for (i = skip; i < c->reqs.n; i++) {
		r = cl_reqq_at(&c->reqs, i);
		if (r->kind == CL_REQ_BROADCAST && ok) {
			if (cl_ring_push(&kept, r) == 0) {
				if (buf_append(&keep, p, r->len) == 0) {
					p += r->len;
					continue;
				}
				kept.n--;
			}
			ok = false;	/* out of memory: count it lost */
		}
		cl_req_abandon(c, r, false);
		p += r->len;
	}
	cl_out_replace(c, &keep, &kept);
}

int
cl_out_connected(crmpubsub *c)
{
	struct buf	 pre = BUF_INIT;
	struct cl_ring	 q = CL_RING_INIT(struct cl_req);
	struct cl_req	 r;
	size_t		 i;

	memset(&r, 0, sizeof r);
	if (request_hello(&pre, c->name) == -1)
		goto fail;
	r.kind = CL_REQ_HELLO;
	r.len = (uint32_t)buf_len(&pre);
	if (cl_ring_push(&q, &r) == -1)
		goto fail;
	/* Then the broadcasts queued while disconnected. The held topics
	 * follow hello's answer, which says how long a line may be. */
	if (buf_append(&pre, buf_head(&c->out), buf_len(&c->out)) == -1)
		goto fail;
	for (i = 0; i < c->reqs.n; i++)
		if (cl_ring_push(&q, cl_reqq_at(&c->reqs, i)) == -1)
			goto fail;
	cl_out_replace(c, &pre, &q);
	return 0;
fail:
	buf_free(&pre);
	cl_ring_free(&q);
	errno = ENOMEM;
	return -1;
}
