/* SPDX-License-Identifier: MIT — crmpubsub */
/* Replies: {"ok":true,"op":…[,"id":…],…}\n and the error form. A reply is
 * opened, op-specific fields are appended with the buf JSON writer, and it is
 * closed with reply_end. */
#ifndef CRMPUBSUB_REPLY_H
#define CRMPUBSUB_REPLY_H

#include <stddef.h>

#include "buf.h"
#include "proto_error.h"

/* A request's id, echoed as the request wrote it: its JSON text. */
struct reply_id {
	const char	*text;
	size_t		 len;
};

/* op may be NULL (written as null); id may be NULL (omitted). */
int	reply_begin(struct buf *, const char *op, const struct reply_id *id);
int	reply_end(struct buf *);
int	reply_error(struct buf *, const char *op, const struct reply_id *id,
	    enum proto_error, const char *message);

#endif
