/* SPDX-License-Identifier: MIT — crmpubsub */
/* The op names. */

#include "names.h"
#include "op.h"

static const char *const proto_op_names[OP_COUNT] = {
	[OP_BROADCAST_INTERACTION] = "broadcast_interaction",
	[OP_BROADCAST_TO_CONTACTS] = "broadcast_to_contacts",
	[OP_CLIENTS] = "clients",
	[OP_HELLO] = "hello",
	[OP_PING] = "ping",
	[OP_STATS] = "stats",
	[OP_SUBSCRIBE] = "subscribe",
	[OP_TOPICS] = "topics",
	[OP_UNSUBSCRIBE] = "unsubscribe",
	[OP_VERSION] = "version",
};

const char *
proto_op_name(enum proto_op op)
{
	return proto_op_names[op];
}

/* Looks an op up by name (len bytes, not necessarily NUL-terminated). */
int
proto_op_parse(const char *name, size_t len, enum proto_op *out)
{
	int	i = names_find(proto_op_names, OP_COUNT, name, len);

	if (i == -1)
		return -1;
	*out = (enum proto_op)i;
	return 0;
}
