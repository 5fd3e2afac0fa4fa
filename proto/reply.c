/* SPDX-License-Identifier: MIT — crmpubsub */
/* Reply framing, {"ok":…,"op":…[,"id":…] … }\n, and the fields of the
 * replies clients read back. */

#include <string.h>

#include "reply.h"

const struct wire_name reply_num_names[RN_COUNT] = {
	[RN_PROTOCOL] = WIRE_NAME("protocol"),
	[RN_CLIENT_ID] = WIRE_NAME("client_id"),
	[RN_MAX_LINE] = WIRE_NAME("max_line"),
	[RN_MAX_SUBSCRIPTIONS] = WIRE_NAME("max_subscriptions"),
	[RN_MAX_CONTACTS] = WIRE_NAME("max_contacts"),
	[RN_UPTIME_S] = WIRE_NAME("uptime_s"),
	[RN_SUBSCRIBED] = WIRE_NAME("subscribed"),
	[RN_TOPICS] = WIRE_NAME("topics"),
	[RN_DELIVERED] = WIRE_NAME("delivered"),
};

/* Writes {"ok":<ok>,"op":<op>[,"id":<id>] */
static int
reply_open(struct buf *b, int ok, const char *op, const struct reply_id *id)
{
	if (buf_puts(b, ok ? "{\"ok\":true,\"op\":" : "{\"ok\":false,\"op\":")
	    == -1)
		return -1;
	if ((op != NULL ? buf_put_jstrz(b, op) : buf_puts(b, "null")) == -1)
		return -1;
	if (id != NULL && (buf_puts(b, ",\"id\":") == -1 ||
	    buf_append(b, id->text, id->len) == -1))
		return -1;
	return 0;
}

int
reply_begin(struct buf *b, const char *op, const struct reply_id *id)
{
	return reply_open(b, 1, op, id);
}

int
reply_end(struct buf *b)
{
	return buf_append(b, "}\n", 2);
}

int
reply_error(struct buf *b, const char *op, const struct reply_id *id,
    enum proto_error code, const char *message)
{
	if (reply_open(b, 0, op, id) == -1 ||
	    buf_puts(b, ",\"error\":") == -1 ||
	    buf_put_jstrz(b, proto_error_name(code)) == -1 ||
	    buf_puts(b, ",\"message\":") == -1 ||
	    buf_put_jstrz(b, message) == -1)
		return -1;
	return reply_end(b);
}

int
reply_ok(struct buf *b, enum proto_op op, const struct reply_id *id,
    const struct buf *fields)
{
	if (reply_open(b, 1, proto_op_name(op), id) == -1)
		return -1;
	if (buf_len(fields) > 0 && (buf_putc(b, ',') == -1 ||
	    buf_append(b, buf_head(fields), buf_len(fields)) == -1))
		return -1;
	return reply_end(b);
}

int
reply_put_num(struct buf *b, enum reply_num n, unsigned long long v)
{
	if (buf_put_key(b, reply_num_names[n].s) == -1)
		return -1;
	return buf_put_uint(b, v);
}

/* ,"server":"crmpubsubd","version":…,"protocol":… */
static void
reply_identity(struct buf *b)
{
	buf_put_key(b, "server");
	buf_put_jstrz(b, "crmpubsubd");
	buf_put_key(b, "version");
	buf_put_jstrz(b, CRMPUBSUB_VERSION);
	reply_put_num(b, RN_PROTOCOL, PROTO_VERSION);
}

/* ,"key":"value" */
static void
reply_put_str(struct buf *b, const char *key, const char *value)
{
	buf_put_key(b, key);
	buf_put_jstrz(b, value);
}

/* ,"key":true|false */
static void
reply_put_bool(struct buf *b, const char *key, int value)
{
	buf_put_key(b, key);
	buf_puts(b, value ? "true" : "false");
}

int
reply_hello(struct buf *b, const struct reply_hello *h)
{
	reply_identity(b);
	reply_put_num(b, RN_CLIENT_ID, h->client_id);
	/* The limits a client must respect, as in force now. */
	reply_put_num(b, RN_MAX_LINE, h->max_line);
	reply_put_num(b, RN_MAX_SUBSCRIPTIONS, h->max_subscriptions);
	reply_put_num(b, RN_MAX_CONTACTS, h->max_contacts);
	reply_put_num(b, RN_UPTIME_S, h->uptime_s);
	return b->failed ? -1 : 0;
}

int
reply_version(struct buf *b, const struct reply_version *v)
{
	reply_identity(b);
	reply_put_num(b, RN_UPTIME_S, v->uptime_s);
	buf_put_key(b, "build");
	buf_putc(b, '{');
	reply_put_str(b, "compiler", v->compiler);
	reply_put_bool(b, "optimized", v->optimized);
	reply_put_bool(b, "sanitizers", v->sanitizers);
	reply_put_str(b, "libevent", v->libevent);
	reply_put_str(b, "event_backend", v->event_backend);
	reply_put_str(b, "jansson", v->jansson);
	reply_put_str(b, "hiredis", v->hiredis);
	buf_putc(b, '}');
	return b->failed ? -1 : 0;
}

int
reply_subscribe(struct buf *b, const struct topic_key *keys, size_t n,
    unsigned long long held)
{
	char	name[TOPIC_MAX_LEN + 1];
	size_t	i;

	buf_put_key(b, "topics");
	buf_putc(b, '[');
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_putc(b, ',');
		buf_put_jstr(b, name, topic_format(&keys[i], name));
	}
	buf_putc(b, ']');
	reply_put_num(b, RN_SUBSCRIBED, held);
	return b->failed ? -1 : 0;
}

int
reply_unsubscribe(struct buf *b, unsigned long long held)
{
	return reply_put_num(b, RN_SUBSCRIBED, held);
}

int
reply_broadcast(struct buf *b, unsigned long long topics,
    unsigned long long delivered)
{
	reply_put_num(b, RN_TOPICS, topics);
	reply_put_num(b, RN_DELIVERED, delivered);
	return b->failed ? -1 : 0;
}
