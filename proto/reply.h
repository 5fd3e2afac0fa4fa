/* SPDX-License-Identifier: MIT — crmpubsub */
/* Replies: {"ok":true,"op":…[,"id":…],…}\n and the error form. A reply is
 * opened, op-specific fields are appended with the buf JSON writer, and it is
 * closed with reply_end. */
#ifndef CRMPUBSUB_REPLY_H
#define CRMPUBSUB_REPLY_H

#include <jansson.h>

#include "buf.h"
#include "proto_error.h"

/* op may be NULL (written as null); id may be NULL (omitted). */
int	reply_begin(struct buf *, const char *op, const json_t *id);
/* Same, with the id given as its JSON text (NULL: omitted). */
int	reply_begin_raw(struct buf *, const char *op, const char *id_json,
	    size_t id_len);
int	reply_end(struct buf *);
int	reply_error(struct buf *, const char *op, const json_t *id,
	    enum proto_error, const char *message);
/* Writes a JSON value (an echoed id) with jansson's encoder. */
int	reply_put_json(struct buf *, const json_t *);

#endif
