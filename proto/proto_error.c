/* SPDX-License-Identifier: MIT — crmpubsub */
/* Error code names and the validator failure record. */

#include <stdarg.h>
#include <stdio.h>

#include "names.h"
#include "proto_error.h"

static const char *const proto_error_names[PERR_COUNT] = {
	[PERR_BAD_JSON] = "bad_json",
	[PERR_BAD_REQUEST] = "bad_request",
	[PERR_UNKNOWN_OP] = "unknown_op",
	[PERR_BAD_TOPIC] = "bad_topic",
	[PERR_BAD_UUID] = "bad_uuid",
	[PERR_BAD_EVENT] = "bad_event",
	[PERR_TOO_MANY] = "too_many",
	[PERR_LINE_TOO_LONG] = "line_too_long",
	[PERR_FORBIDDEN] = "forbidden",
	[PERR_INTERNAL] = "internal",
};

/* The wire name of an error code. */
const char *
proto_error_name(enum proto_error e)
{
	return proto_error_names[e];
}

/* Looks a code up by name (len bytes). */
int
proto_error_parse(const char *name, size_t len, enum proto_error *out)
{
	int	i = names_find(proto_error_names, PERR_COUNT, name, len);

	if (i == -1)
		return -1;
	*out = (enum proto_error)i;
	return 0;
}

/* Records a failure; always returns -1. */
int
proto_failf(struct proto_fail *f, enum proto_error code, const char *fmt, ...)
{
	va_list	ap;

	f->code = code;
	va_start(ap, fmt);
	vsnprintf(f->message, sizeof f->message, fmt, ap);
	va_end(ap);
	return -1;
}
