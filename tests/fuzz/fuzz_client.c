/* SPDX-License-Identifier: MIT — crmpubsub */
/* libFuzzer target: the client library's decoder of daemon lines
 * (cl_handle_line: replies settle requests, pushes become messages).
 *
 * The input is a stream of lines as a daemon would send them. Before each
 * line the handle gets one more written request whose kind cycles through
 * hello, subscribe, re-subscribe, unsubscribe and broadcast, so replies meet
 * every settling path; the handle holds two topics so pushes for them become
 * messages, which are then taken out as an application would. A line the
 * decoder calls a protocol error is followed by what the library does on a
 * disconnect and reconnection. No socket is involved. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

#define FC_CONTACT_B	"0190a5b2-7c1e-7a01-8f00-000000000002"
#define FC_TOPIC_A	"crm:contact:0190a5b2-7c1e-7a01-8f00-000000000001:interactions"
#define FC_TOPIC_B	"crm:contact:" FC_CONTACT_B ":interactions"
#define FC_MAX_PENDING	64

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Adds a topic to the handle's held set. */
static void
fc_hold(crmpubsub *c, const char *topic, struct topic_key *k)
{
	if (topic_parse(topic, strlen(topic), k) == -1 || cl_held_add(c, k) == -1)
		abort();
}

/* Appends the request line of a kind, as the library writes it. */
static void
fc_line(struct buf *line, enum cl_req_kind kind, const struct topic_key *k)
{
	const char	*why;
	int		 rc = -1;

	switch (kind) {
	case CL_REQ_HELLO:
		rc = request_hello(line, "fuzz");
		break;
	case CL_REQ_SUBSCRIBE:
		rc = request_topic(line, OP_SUBSCRIBE, k);
		break;
	case CL_REQ_RESUBSCRIBE:
		rc = request_topics(line, OP_SUBSCRIBE, k, 1, SIZE_MAX) == 1 ?
		    0 : -1;
		break;
	case CL_REQ_UNSUBSCRIBE:
		rc = request_topic(line, OP_UNSUBSCRIBE, k);
		break;
	case CL_REQ_BROADCAST:
		rc = request_broadcast_to_contacts(line,
		    EVENT_INTERACTION_CREATED, FC_CONTACT_B, NULL, 0, &why);
		break;
	}
	if (rc == -1)
		abort();
}

/* Queues and marks as written one request of the given kind. */
static void
fc_request(crmpubsub *c, enum cl_req_kind kind, const struct topic_key *k)
{
	struct buf		 line = BUF_INIT;
	struct cl_req		 r;
	struct cl_subgroup	*g;

	memset(&r, 0, sizeof r);
	r.kind = (uint8_t)kind;
	fc_line(&line, kind, k);
	r.len = (uint32_t)buf_len(&line);
	r.resync = kind == CL_REQ_RESUBSCRIBE ? CRMPUBSUB_RESYNC_RECONNECTED : 0;
	if (kind == CL_REQ_SUBSCRIBE) {
		/* A refused subscribe takes back the topics it added. */
		if ((g = calloc(1, sizeof *g)) == NULL ||
		    (g->added = malloc(sizeof *g->added)) == NULL)
			abort();
		g->added[0] = *k;
		g->nadded = 1;
		g->unanswered = 1;
		r.group = g;
		if (cl_held_add(c, k) == -1)
			abort();
	}
	if (kind == CL_REQ_BROADCAST)
		c->st.pending++;
	if (cl_queue_request(c, &line, &r) == -1)
		abort();
	buf_free(&line);
	/* Everything queued leaves, re-subscriptions that a hello reply
	 * queued included. */
	cl_out_written(c, buf_len(&c->out));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	crmpubsub			*c;
	struct crmpubsub_message	 m;
	struct topic_key		 ka, kb;
	const char			*p = (const char *)data, *end = p + size;
	const char			*nl;
	unsigned			 nline = 0;

	if ((c = crmpubsub_new()) == NULL)
		abort();
	fc_hold(c, FC_TOPIC_A, &ka);
	fc_hold(c, FC_TOPIC_B, &kb);
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			break;		/* an unfinished line is never decoded */
		if (c->reqs.n < FC_MAX_PENDING)
			fc_request(c, (enum cl_req_kind)(nline % 5), &kb);
		if (cl_handle_line(c, p, (size_t)(nl - p)) == -1) {
			/* As after a reconnection: hello goes first and counts
			 * as written (its reply queues the re-subscriptions). */
			cl_out_disconnected(c);
			if (cl_out_connected(c) == -1)
				abort();
			cl_out_written(c, buf_len(&c->out));
		}
		while (cl_msg_pop(c, &m) == 1)
			if (m.type == CRMPUBSUB_MSG_CRM &&
			    (strlen(m.topic) >= sizeof m.topic ||
			    strlen(m.contact_uuid) != 36 ||
			    strlen(m.interaction_uuid) != 36))
				abort();
		p = nl + 1;
		nline++;
	}
	crmpubsub_close(c);
	return 0;
}
