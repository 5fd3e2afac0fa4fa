/* SPDX-License-Identifier: MIT — crmpubsub */
/* Reply framing: {"ok":…,"op":…[,"id":…] … }\n */

#include <string.h>

#include "reply.h"

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
