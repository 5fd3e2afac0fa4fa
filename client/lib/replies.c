/* SPDX-License-Identifier: MIT — crmpubsub */
/* Lines from the daemon: replies settle the oldest request, pushes become
 * messages for the application. */

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "client.h"
#include "event.h"
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
cl_hello_answered(crmpubsub *c, const json_t *o)
{
	json_int_t	max_line;

	c->established = true;
	c->client_id = (long long)json_integer_value(json_object_get(o,
	    "client_id"));
	/* A daemon that does not announce its max_line has the default. */
	max_line = json_integer_value(json_object_get(o, "max_line"));
	c->max_line = max_line >= CL_MIN_MAX_LINE ? (size_t)max_line :
	    CL_DEFAULT_MAX_LINE;
	c->backoff_ms = 0;
	c->st.connects++;
	cl_log_connected(c);
	cl_resubscribe(c);
}

/* A reply: settles the oldest written request. */
static int
cl_handle_reply(crmpubsub *c, const json_t *o)
{
	struct cl_req	 r;
	bool		 ok = json_is_true(json_object_get(o, "ok"));
	const char	*code, *text;
	char		 why[256];

	if (c->n_written == 0 || c->reqs.n == 0)
		return -1;	/* a reply nobody asked for */
	r = *cl_reqq_at(&c->reqs, 0);
	cl_ring_pop(&c->reqs);
	c->n_written--;
	code = json_string_value(json_object_get(o, "error"));
	text = json_string_value(json_object_get(o, "message"));
	if (code == NULL)
		code = "?";
	if (text == NULL)
		text = "";
	if (!ok)
		c->st.errors++;
	switch (r.kind) {
	case CL_REQ_HELLO:
		if (ok)
			cl_hello_answered(c, o);
		else {
			/* A failed attempt like any other (too_many when the
			 * daemon is full): logged once per episode, retried
			 * with back-off. */
			snprintf(why, sizeof why, "hello refused: %s: %s",
			    code, text);
			cl_disconnect(c, why);
		}
		break;
	case CL_REQ_SUBSCRIBE:
		cl_subgroup_answered(c, r.group, ok, code, text);
		break;
	case CL_REQ_RESUBSCRIBE:
		if (!ok)
			cl_log(c, CRMPUBSUB_LOG_ERROR,
			    "re-subscribe refused: %s: %s", code, text);
		if (r.resync)
			cl_msg_resync(c, r.resync, 0);
		break;
	case CL_REQ_UNSUBSCRIBE:
		if (!ok)
			cl_log(c, CRMPUBSUB_LOG_WARNING,
			    "unsubscribe refused: %s: %s", code, text);
		break;
	case CL_REQ_BROADCAST:
		c->st.pending--;
		if (ok) {
			c->st.acked++;
			c->st.delivered += (unsigned long long)json_integer_value(
			    json_object_get(o, "delivered"));
		} else {
			c->st.failed++;
			cl_broadcast_failed(c);
			cl_log(c, CRMPUBSUB_LOG_WARNING,
			    "broadcast refused: %s: %s", code, text);
		}
		break;
	}
	cl_req_release(&r);
	return 0;
}

/* Copies a canonical UUID string field; 0, or -1 when absent or bad. */
static int
cl_uuid_field(const json_t *v, char out[UUID_TEXT_LEN + 1])
{
	uint8_t	u[16];

	if (!json_is_string(v) || uuid_canon_parse(json_string_value(v),
	    json_string_length(v), u) == -1)
		return -1;
	uuid_canon_format(u, out);
	return 0;
}

/* A {"type":"crm",…} push for a topic the handle holds becomes a message. */
static void
cl_handle_crm(crmpubsub *c, const json_t *o)
{
	struct crmpubsub_message	 m;
	struct topic_key		 key;
	const json_t			*ev, *topic;
	enum crm_event			 e;

	memset(&m, 0, sizeof m);
	ev = json_object_get(o, "event");
	topic = json_object_get(o, "topic");
	if (!json_is_string(ev) || event_parse(json_string_value(ev),
	    json_string_length(ev), &e) == -1 || !json_is_string(topic) ||
	    topic_parse(json_string_value(topic), json_string_length(topic),
	    &key) == -1 || cl_uuid_field(json_object_get(json_object_get(o,
	    "payload"), "interaction_uuid"), m.interaction_uuid) == -1) {
		cl_log(c, CRMPUBSUB_LOG_DEBUG, "ignoring a malformed push");
		return;
	}
	if (!cl_held_has(c, &key))
		return;		/* unsubscribed meanwhile */
	m.type = CRMPUBSUB_MSG_CRM;
	m.event = (enum crmpubsub_event)e;
	topic_format(&key, m.topic);
	uuid_canon_format(key.uuid, m.contact_uuid);
	cl_msg_push(c, &m);
}

/* A push: crm, resync or shutdown (other types are for newer clients). */
static void
cl_handle_push(crmpubsub *c, const json_t *o, const char *type)
{
	struct crmpubsub_message	 m;
	json_int_t			 dropped;
	enum crmpubsub_resync_reason	 reason;

	if (strcmp(type, "crm") == 0) {
		cl_handle_crm(c, o);
	} else if (strcmp(type, "resync") == 0) {
		dropped = json_integer_value(json_object_get(o, "dropped"));
		reason = cl_resync_reason_parse(json_string_value(
		    json_object_get(o, "reason")));
		cl_log(c, CRMPUBSUB_LOG_WARNING,
		    "daemon resync (%s, %lld pushes dropped)",
		    crmpubsub_resync_reason_name(reason), (long long)dropped);
		cl_msg_resync(c, reason,
		    dropped > 0 ? (unsigned long long)dropped : 0);
	} else if (strcmp(type, "shutdown") == 0) {
		memset(&m, 0, sizeof m);
		m.type = CRMPUBSUB_MSG_SHUTDOWN;
		cl_log(c, CRMPUBSUB_LOG_INFO, "daemon is shutting down");
		cl_msg_push(c, &m);
	}
}

/* The common case without a JSON parser: an ok reply to the oldest
 * request, a broadcast, as the daemon writes it
 * ({"ok":true,"op":"broadcast_…",…,"delivered":N}). 1 when handled. */
static int
cl_fast_broadcast_ack(crmpubsub *c, const char *line, size_t len)
{
	static const char	 prefix[] = "{\"ok\":true,\"op\":\"broadcast_";
	static const char	 key[] = "\"delivered\":";
	const char		*p, *end = line + len;
	unsigned long long	 v = 0;
	struct cl_req		*r;

	if (len < sizeof prefix || memcmp(line, prefix, sizeof prefix - 1) ||
	    c->n_written == 0 || c->reqs.n == 0)
		return 0;
	r = cl_reqq_at(&c->reqs, 0);
	if (r->kind != CL_REQ_BROADCAST ||
	    (p = memmem(line, len, key, sizeof key - 1)) == NULL)
		return 0;
	for (p += sizeof key - 1; p < end && *p >= '0' && *p <= '9'; p++)
		v = v * 10 + (unsigned long long)(*p - '0');
	if (p == end || (*p != '}' && *p != ','))
		return 0;
	cl_req_release(r);
	cl_ring_pop(&c->reqs);
	c->n_written--;
	c->st.pending--;
	c->st.acked++;
	c->st.delivered += v;
	return 1;
}

int
cl_handle_line(crmpubsub *c, const char *line, size_t len)
{
	json_t		*o;
	json_error_t	 jerr;
	const char	*type;
	size_t		 i;
	int		 rc = 0;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	for (i = 0; i < len && (line[i] == ' ' || line[i] == '\t'); i++)
		;
	if (i == len)
		return 0;	/* blank */
	if (cl_fast_broadcast_ack(c, line, len))
		return 0;
	o = json_loadb(line, len, 0, &jerr);
	if (!json_is_object(o)) {
		json_decref(o);
		cl_log(c, CRMPUBSUB_LOG_ERROR, "unparsable line from the daemon");
		return -1;
	}
	if (json_object_get(o, "ok") != NULL)
		rc = cl_handle_reply(c, o);
	else if ((type = json_string_value(json_object_get(o, "type"))) != NULL)
		cl_handle_push(c, o, type);
	json_decref(o);
	return rc;
}
