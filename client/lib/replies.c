/* SPDX-License-Identifier: MIT — crmpubsub */
/* Lines from the daemon, read by proto/message.c: replies settle the oldest
 * request, pushes become messages for the application. */

#include <stdio.h>
#include <string.h>

#include "client.h"
#include "uuid_canon.h"

void
cl_req_abandon(crmpubsub *c, struct cl_req *r, bool written)
{
	if (r->group != NULL)
		cl_subgroup_abandoned(r->group);
	if (r->kind == CL_REQ_BROADCAST) {
		c->st.pending--;
		if (written)
			c->st.lost++;
		else
			c->st.dropped++;
		cl_broadcast_failed(c);
	}
	cl_req_release(r);
}

/* hello was answered: the connection is established. */
static void
cl_hello_answered(crmpubsub *c, const struct message *m)
{
	long long	max_line = m->num[RN_MAX_LINE];

	c->established = true;
	c->client_id = m->num[RN_CLIENT_ID];
	/* A daemon that does not announce its max_line has the default. */
	c->max_line = max_line >= REQUEST_MAX_LINE_MIN ? (size_t)max_line :
	    REQUEST_MAX_LINE_DEFAULT;
	c->backoff_ms = 0;
	c->st.connects++;
	cl_log_connected(c);
	cl_resubscribe(c);
}

/* Logs a refusal of what (an op) with the daemon's code and message. */
static void
cl_log_refused(crmpubsub *c, enum crmpubsub_log_level level,
    const char *what, const struct message *m)
{
	cl_log(c, level, "%s refused: %s: %s", what, m->error_name, m->text);
}

/* A reply: settles the oldest written request. */
static int
cl_handle_reply(crmpubsub *c, const struct message *m)
{
	struct cl_req	r;
	char		why[256];

	if (c->n_written == 0 || c->reqs.n == 0)
		return -1;	/* a reply nobody asked for */
	r = *cl_reqq_at(&c->reqs, 0);
	cl_ring_pop(&c->reqs);
	c->n_written--;
	if (!m->ok)
		c->st.errors++;
	switch (r.kind) {
	case CL_REQ_HELLO:
		if (m->ok)
			cl_hello_answered(c, m);
		else {
			/* A failed attempt like any other (too_many when the
			 * daemon is full): logged once per episode, retried
			 * with back-off. */
			snprintf(why, sizeof why, "hello refused: %s: %s",
			    m->error_name, m->text);
			cl_disconnect(c, why);
		}
		break;
	case CL_REQ_SUBSCRIBE:
		cl_subgroup_answered(c, r.group, m);
		break;
	case CL_REQ_RESUBSCRIBE:
		if (!m->ok)
			cl_log_refused(c, CRMPUBSUB_LOG_ERROR, "re-subscribe", m);
		if (r.resync)
			cl_msg_resync(c, r.resync, 0);
		break;
	case CL_REQ_UNSUBSCRIBE:
		if (!m->ok)
			cl_log_refused(c, CRMPUBSUB_LOG_WARNING, "unsubscribe",
			    m);
		break;
	case CL_REQ_BROADCAST:
		c->st.pending--;
		if (m->ok) {
			c->st.acked++;
			if (m->num[RN_DELIVERED] > 0)
				c->st.delivered +=
				    (unsigned long long)m->num[RN_DELIVERED];
		} else {
			c->st.failed++;
			cl_broadcast_failed(c);
			cl_log_refused(c, CRMPUBSUB_LOG_WARNING, "broadcast", m);
		}
		break;
	}
	cl_req_release(&r);
	return 0;
}

/* A crm push for a topic the handle holds becomes a message. */
static void
cl_handle_crm(crmpubsub *c, const struct message *p)
{
	struct crmpubsub_message	m;

	if (!cl_held_has(c, &p->topic))
		return;		/* unsubscribed meanwhile */
	memset(&m, 0, sizeof m);
	m.type = CRMPUBSUB_MSG_CRM;
	m.event = (enum crmpubsub_event)p->event;
	topic_format(&p->topic, m.topic);
	uuid_canon_format(p->topic.uuid, m.contact_uuid);
	uuid_canon_format(p->interaction, m.interaction_uuid);
	cl_msg_push(c, &m);
}

/* A push: crm, resync or shutdown (other types are for newer clients). */
static void
cl_handle_push(crmpubsub *c, const struct message *p)
{
	struct crmpubsub_message	 m;
	enum crmpubsub_resync_reason	 reason;

	switch (p->type) {
	case MESSAGE_CRM:
		cl_handle_crm(c, p);
		break;
	case MESSAGE_BAD_CRM:
		cl_log(c, CRMPUBSUB_LOG_DEBUG, "ignoring a malformed push");
		break;
	case MESSAGE_RESYNC:
		reason = cl_resync_reason(p->reason);
		cl_log(c, CRMPUBSUB_LOG_WARNING,
		    "daemon resync (%s, %llu pushes dropped)",
		    crmpubsub_resync_reason_name(reason), p->dropped);
		cl_msg_resync(c, reason, p->dropped);
		break;
	case MESSAGE_SHUTDOWN:
		memset(&m, 0, sizeof m);
		m.type = CRMPUBSUB_MSG_SHUTDOWN;
		cl_log(c, CRMPUBSUB_LOG_INFO, "daemon is shutting down");
		cl_msg_push(c, &m);
		break;
	default:
		break;
	}
}

int
cl_handle_line(crmpubsub *c, const char *line, size_t len)
{
	struct message	m;
	size_t		i;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	for (i = 0; i < len && (line[i] == ' ' || line[i] == '\t'); i++)
		;
	if (i == len)
		return 0;	/* blank */
	if (message_parse(line, len, &m) == -1) {
		cl_log(c, CRMPUBSUB_LOG_ERROR, "unparsable line from the daemon");
		return -1;
	}
	if (m.type == MESSAGE_REPLY)
		return cl_handle_reply(c, &m);
	cl_handle_push(c, &m);
	return 0;
}
