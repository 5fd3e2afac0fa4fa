/* SPDX-License-Identifier: MIT — crmpubsub */
/* The op names. */

#include "names.h"
#include "op.h"

const struct wire_name proto_op_names[OP_COUNT] = {
	[OP_BROADCAST_INTERACTION] = WIRE_NAME("broadcast_interaction"),
	[OP_BROADCAST_TO_CONTACTS] = WIRE_NAME("broadcast_to_contacts"),
	[OP_CLIENTS] = WIRE_NAME("clients"),
	[OP_HELLO] = WIRE_NAME("hello"),
	[OP_PING] = WIRE_NAME("ping"),
	[OP_STATS] = WIRE_NAME("stats"),
	[OP_SUBSCRIBE] = WIRE_NAME("subscribe"),
	[OP_TOPICS] = WIRE_NAME("topics"),
	[OP_UNSUBSCRIBE] = WIRE_NAME("unsubscribe"),
	[OP_VERSION] = WIRE_NAME("version"),
};

const char *
proto_op_name(enum proto_op op)
{
	return proto_op_names[op].s;
}
