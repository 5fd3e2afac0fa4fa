/* SPDX-License-Identifier: MIT — crmpubsub */
/* The operations of the protocol, by their wire names. The daemon's op
 * table (daemon/ops.c) has one row per value; the request builder and the
 * reply reader name ops through this table, so a new op is one more value
 * and name here and one more row there. */
#ifndef CRMPUBSUB_OP_H
#define CRMPUBSUB_OP_H

#include <stddef.h>

#include "names.h"

/* The protocol version hello and version announce. */
#define PROTO_VERSION	1

enum proto_op {
	OP_BROADCAST_INTERACTION = 0,
	OP_BROADCAST_TO_CONTACTS,
	OP_CLIENTS,
	OP_HELLO,
	OP_PING,
	OP_STATS,
	OP_SUBSCRIBE,
	OP_TOPICS,
	OP_UNSUBSCRIBE,
	OP_VERSION,
	OP_COUNT
};

/* The wire names, by op (read them with names_find). */
extern const struct wire_name proto_op_names[OP_COUNT];

/* The wire name of an op. */
const char	*proto_op_name(enum proto_op);

#endif
