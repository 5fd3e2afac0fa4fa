/* SPDX-License-Identifier: MIT — crmpubsub */
/* Requests (client -> daemon), one JSON line each, as the client library,
 * the tests and the load generator send them. UUIDs are given as text and
 * are checked and written lowercase; topics are given as keys and written
 * canonical. Every builder appends a whole line (newline included) or,
 * failing, leaves b as it was and clears its failed mark. */
#ifndef CRMPUBSUB_REQUEST_H
#define CRMPUBSUB_REQUEST_H

#include <stddef.h>

#include "buf.h"
#include "event.h"
#include "op.h"
#include "topic.h"

/* Longest hello name the daemon takes, in bytes. */
#define REQUEST_NAME_MAX		128
/* The max_line of a daemon that does not announce one, and the smallest
 * a daemon can be configured with. */
#define REQUEST_MAX_LINE_DEFAULT	65536
#define REQUEST_MAX_LINE_MIN		16

/* {"op":<op>}\n: an op without fields (ping, stats, unsubscribe from
 * everything). */
int	request_plain(struct buf *, enum proto_op);
/* {"op":"hello"[,"name":<name>]}\n; name NULL: none. */
int	request_hello(struct buf *, const char *name);
/* {"op":<op>,"topic":<name>}\n (subscribe, unsubscribe). */
int	request_topic(struct buf *, enum proto_op, const struct topic_key *);
/* {"op":<op>,"topics":[…]}\n naming as many of keys[0..n) as fit in a line
 * of max_line bytes (at least one); returns how many, 0 when out of
 * memory. */
size_t	request_topics(struct buf *, enum proto_op,
	    const struct topic_key *keys, size_t n, size_t max_line);

/* An interaction as broadcast_interaction sends it (its involved
 * contacts): UUIDs as text. */
struct request_interaction {
	const char		*uuid;
	const char		*contact_uuid;		/* NULL: null */
	const char *const	*party_contact_uuids;	/* NULL entries: null */
	size_t			 n_parties;
	int			 parties_loaded;	/* 0: no "parties" member */
};

/* The broadcasts: 0, or -1 with *why set (static text: an unknown event,
 * a UUID that is not one, out of memory). */
int	request_broadcast_interaction(struct buf *, enum crm_event,
	    const struct request_interaction *, const char **why);
int	request_broadcast_to_contacts(struct buf *, enum crm_event,
	    const char *interaction_uuid, const char *const *contact_uuids,
	    size_t n, const char **why);

#endif
