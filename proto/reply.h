/* SPDX-License-Identifier: MIT — crmpubsub */
/* Replies: {"ok":true,"op":…[,"id":…],…}\n and the error form. A reply is
 * opened, op-specific fields are appended with the buf JSON writer (or the
 * field writers below), and it is closed with reply_end. */
#ifndef CRMPUBSUB_REPLY_H
#define CRMPUBSUB_REPLY_H

#include <stddef.h>

#include "buf.h"
#include "names.h"
#include "op.h"
#include "proto_error.h"
#include "topic.h"

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
/* A whole ok reply: the frame around fields (an op's fields as written by
 * the writers below, without a leading comma; may be empty). */
int	reply_ok(struct buf *, enum proto_op, const struct reply_id *id,
	    const struct buf *fields);

/* The numbers replies carry that clients read back (message.c reads them
 * by these names): hello's, subscribe's and the broadcasts'. */
enum reply_num {
	RN_PROTOCOL = 0,
	RN_CLIENT_ID,
	RN_MAX_LINE,
	RN_MAX_SUBSCRIPTIONS,
	RN_MAX_CONTACTS,
	RN_UPTIME_S,
	RN_SUBSCRIBED,
	RN_TOPICS,
	RN_DELIVERED,
	RN_COUNT
};

/* Their wire names (read them with names_find). */
extern const struct wire_name reply_num_names[RN_COUNT];
/* Appends ,"<name>":v */
int		 reply_put_num(struct buf *, enum reply_num, unsigned long long v);

/* The field writers below make many appends and check once: each returns
 * -1 when b has a failed append (b->failed), else 0. */

/* What hello tells a client: its id and the limits in force. */
struct reply_hello {
	unsigned long long	client_id;
	unsigned long long	max_line;
	unsigned long long	max_subscriptions;
	unsigned long long	max_contacts;
	unsigned long long	uptime_s;
};

/* hello's fields: server, version, protocol, then *h in its order. */
int	reply_hello(struct buf *, const struct reply_hello *h);

/* What version tells an operator: how this daemon was built and the
 * libraries it runs with. */
struct reply_version {
	unsigned long long	 uptime_s;
	const char		*compiler;
	int			 optimized;	/* built with optimisation */
	int			 sanitizers;	/* built with AddressSanitizer */
	const char		*libevent;	/* version in use */
	const char		*event_backend;	/* libevent's method: epoll, … */
	const char		*jansson;	/* version in use */
	const char		*hiredis;	/* version built against */
};

/* version's fields: server, version, protocol, uptime_s, then
 * "build":{compiler, optimized, sanitizers, libevent, event_backend,
 * jansson, hiredis}. */
int	reply_version(struct buf *, const struct reply_version *v);
/* subscribe's fields: "topics":[canonical names of keys[0..n)] and
 * "subscribed":held. */
int	reply_subscribe(struct buf *, const struct topic_key *keys, size_t n,
	    unsigned long long held);
/* unsubscribe's field: "subscribed":held. */
int	reply_unsubscribe(struct buf *, unsigned long long held);
/* A broadcast's fields: "topics":topics,"delivered":delivered. */
int	reply_broadcast(struct buf *, unsigned long long topics,
	    unsigned long long delivered);

#endif
