/* SPDX-License-Identifier: MIT — crmpubsub */
/* Lines from the daemon, read back: a reply or a push, with the fields a
 * client acts on. reply.c and push.c write them; this is the other
 * direction, for the client library, the load generator and the tests. */
#ifndef CRMPUBSUB_MESSAGE_H
#define CRMPUBSUB_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "op.h"
#include "proto_error.h"
#include "push.h"
#include "reply.h"
#include "topic.h"

enum message_type {
	MESSAGE_REPLY = 0,	/* has "ok" */
	MESSAGE_CRM,		/* a crm push, every field good */
	MESSAGE_BAD_CRM,	/* a crm push with a field missing or bad */
	MESSAGE_RESYNC,
	MESSAGE_SHUTDOWN,
	MESSAGE_OTHER		/* another push type, or neither: ignore it */
};

#define MESSAGE_TEXT_MAX	200

struct message {
	enum message_type	 type;
	/* MESSAGE_REPLY */
	int			 ok;		/* "ok" is true */
	int			 op;		/* enum proto_op; -1 null or unknown */
	int			 error;		/* enum proto_error; -1 none or unknown */
	char			 error_name[32];	/* "error" as sent, "" none */
	char			 text[MESSAGE_TEXT_MAX];	/* "message", "" none */
	long long		 num[RN_COUNT];	/* -1: absent, or not an integer >= 0 */
	/* MESSAGE_CRM */
	enum crm_event		 event;
	struct topic_key	 topic;
	uint8_t			 interaction[16];
	/* MESSAGE_RESYNC */
	int			 reason;	/* enum resync_reason; -1 unknown */
	unsigned long long	 dropped;	/* 0 when absent */
};

/* Reads one line (without its newline): 0 with *out filled, or -1 when it
 * is not a JSON object. Strings are cut to fit their arrays. */
int	message_parse(const char *line, size_t len, struct message *out);

#endif
