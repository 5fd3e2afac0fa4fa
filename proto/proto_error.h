/* SPDX-License-Identifier: MIT — crmpubsub */
/* Error codes of replies, and the failure record validators fill in. */
#ifndef CRMPUBSUB_PROTO_ERROR_H
#define CRMPUBSUB_PROTO_ERROR_H

#include <stddef.h>

#include "names.h"

enum proto_error {
	PERR_BAD_JSON = 0,
	PERR_BAD_REQUEST,
	PERR_UNKNOWN_OP,
	PERR_BAD_TOPIC,
	PERR_BAD_UUID,
	PERR_BAD_EVENT,
	PERR_TOO_MANY,
	PERR_LINE_TOO_LONG,
	PERR_FORBIDDEN,
	PERR_INTERNAL,		/* out of memory and the like */
	PERR_COUNT
};

struct proto_fail {
	enum proto_error	code;
	char			message[200];
};

/* The wire names, by code (read them with names_find). */
extern const struct wire_name proto_error_names[PERR_COUNT];

const char	*proto_error_name(enum proto_error);
/* Fills f and returns -1, so validators can "return proto_failf(...)". */
int		 proto_failf(struct proto_fail *f, enum proto_error,
		     const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
