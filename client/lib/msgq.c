/* SPDX-License-Identifier: MIT — crmpubsub */
/* Messages waiting for the application: a bounded FIFO whose eventfd is
 * readable while it is not empty. On overflow pushes are dropped and one
 * RESYNC (overflow) is queued as soon as there is room again. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"

/* Makes evfd readable (queue not empty) or not. */
static void
cl_msg_signal(crmpubsub *c, bool readable)
{
	uint64_t	v = 1;

	if (readable == c->ev_signalled)
		return;
	if (readable)
		(void)!write(c->evfd, &v, sizeof v);
	else
		while (read(c->evfd, &v, sizeof v) > 0)
			;
	c->ev_signalled = readable;
}

void
cl_msg_push(crmpubsub *c, const struct crmpubsub_message *m)
{
	if (c->overflowed || c->msgs.n >= c->max_messages ||
	    cl_ring_push(&c->msgs, m) == -1) {
		if (!c->overflowed)
			cl_log(c, CRMPUBSUB_LOG_WARNING, "message queue full "
			    "(%zu unread): dropping until the application "
			    "reads", c->msgs.n);
		c->overflowed = true;
		c->overflow_dropped++;
		c->st.messages_dropped++;
	}
	cl_msg_signal(c, c->msgs.n > 0);
}

void
cl_msg_resync(crmpubsub *c, enum crmpubsub_resync_reason reason,
    unsigned long long dropped)
{
	struct crmpubsub_message	m;

	memset(&m, 0, sizeof m);
	m.type = CRMPUBSUB_MSG_RESYNC;
	m.reason = reason;
	m.dropped = dropped;
	cl_msg_push(c, &m);
}

int
cl_msg_pop(crmpubsub *c, struct crmpubsub_message *out)
{
	struct crmpubsub_message	m;

	struct topic_key		k;

	for (;;) {
		if (c->msgs.n == 0) {
			cl_msg_signal(c, false);
			return 0;
		}
		*out = *(struct crmpubsub_message *)cl_ring_at(&c->msgs, 0);
		cl_ring_pop(&c->msgs);
		/* Nothing for a topic unsubscribed since it was queued. */
		if (out->type != CRMPUBSUB_MSG_CRM ||
		    (topic_parse(out->topic, strlen(out->topic), &k) == 0 &&
		    cl_held_has(c, &k)))
			break;
	}
	c->st.messages++;
	if (out->type == CRMPUBSUB_MSG_RESYNC)
		c->st.resyncs++;
	if (c->overflowed) {
		/* There is room now: announce what was lost, once. */
		memset(&m, 0, sizeof m);
		m.type = CRMPUBSUB_MSG_RESYNC;
		m.reason = CRMPUBSUB_RESYNC_OVERFLOW;
		m.dropped = c->overflow_dropped;
		c->overflowed = false;
		c->overflow_dropped = 0;
		(void)cl_ring_push(&c->msgs, &m);
	}
	cl_msg_signal(c, c->msgs.n > 0);
	return 1;
}
