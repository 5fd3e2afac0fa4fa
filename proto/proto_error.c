/* SPDX-License-Identifier: MIT — crmpubsub */
/* Error code names and the validator failure record. */

#include <stdarg.h>
#include <stdio.h>

#include "proto_error.h"

const struct wire_name proto_error_names[PERR_COUNT] = {
	[PERR_BAD_JSON] = WIRE_NAME("bad_json"),
	[PERR_BAD_REQUEST] = WIRE_NAME("bad_request"),
	[PERR_UNKNOWN_OP] = WIRE_NAME("unknown_op"),
	[PERR_BAD_TOPIC] = WIRE_NAME("bad_topic"),
	[PERR_BAD_UUID] = WIRE_NAME("bad_uuid"),
	[PERR_BAD_EVENT] = WIRE_NAME("bad_event"),
	[PERR_TOO_MANY] = WIRE_NAME("too_many"),
	[PERR_LINE_TOO_LONG] = WIRE_NAME("line_too_long"),
	[PERR_FORBIDDEN] = WIRE_NAME("forbidden"),
	[PERR_INTERNAL] = WIRE_NAME("internal"),
};

/* The wire name of an error code. */
const char *
proto_error_name(enum proto_error e)
{
	return proto_error_names[e].s;
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
