/* SPDX-License-Identifier: MIT — crmpubsub */
/* Reply framing: {"ok":…,"op":…[,"id":…] … }\n */

#include <string.h>

#include "reply.h"

/* jansson encoder sink appending to a buf. */
static int
reply_dump_cb(const char *p, size_t n, void *arg)
{
	return buf_append(arg, p, n);
}

int
reply_put_json(struct buf *b, const json_t *v)
{
	return json_dump_callback(v, reply_dump_cb, b,
	    JSON_COMPACT | JSON_ENCODE_ANY);
}

/* Writes {"ok":<ok>,"op":<op>[,"id":<id>] */
static int
reply_open(struct buf *b, int ok, const char *op, const json_t *id)
{
	if (buf_puts(b, ok ? "{\"ok\":true,\"op\":" : "{\"ok\":false,\"op\":")
	    == -1)
		return -1;
	if ((op != NULL ? buf_put_jstrz(b, op) : buf_puts(b, "null")) == -1)
		return -1;
	if (id != NULL && (buf_puts(b, ",\"id\":") == -1 ||
	    reply_put_json(b, id) == -1))
		return -1;
	return 0;
}

int
reply_begin(struct buf *b, const char *op, const json_t *id)
{
	return reply_open(b, 1, op, id);
}

int
reply_begin_raw(struct buf *b, const char *op, const char *id_json,
    size_t id_len)
{
	if (reply_open(b, 1, op, NULL) == -1)
		return -1;
	if (id_json != NULL && (buf_puts(b, ",\"id\":") == -1 ||
	    buf_append(b, id_json, id_len) == -1))
		return -1;
	return 0;
}

int
reply_end(struct buf *b)
{
	return buf_append(b, "}\n", 2);
}

int
reply_error(struct buf *b, const char *op, const json_t *id,
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
