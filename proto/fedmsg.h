/* SPDX-License-Identifier: MIT — crmpubsub */
/* Federation messages on Redis: channel prefix + canonical topic name,
 * payload "<origin-uuid> <event> <interaction-uuid>" (ASCII, one space
 * between fields). */
#ifndef CRMPUBSUB_FEDMSG_H
#define CRMPUBSUB_FEDMSG_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "topic.h"

#define FEDMSG_PREFIX_MAX	200
#define FEDMSG_CHANNEL_MAX	(FEDMSG_PREFIX_MAX + TOPIC_MAX_LEN)
/* Longest payload: two UUIDs, two spaces and an event name (all are
 * shorter than 32 bytes; the unit tests check). */
#define FEDMSG_MAX		(2 * UUID_TEXT_LEN + 2 + 32)

/* One broadcast of one topic, as daemons tell each other. */
struct fedmsg {
	uint8_t		origin[16];	/* the publishing daemon's id */
	enum crm_event	event;
	uint8_t		interaction[16];
};

/* Writes prefix + canonical name of k and a NUL; returns the length.
 * prefix_len is at most FEDMSG_PREFIX_MAX. */
size_t	fedmsg_channel(const char *prefix, size_t prefix_len,
	    const struct topic_key *k, char out[FEDMSG_CHANNEL_MAX + 1]);
/* The topic of a channel (len bytes); 0, or -1 when the channel is not
 * prefix + a topic name. */
int	fedmsg_channel_topic(const char *prefix, size_t prefix_len,
	    const char *chan, size_t len, struct topic_key *out);
/* Writes the payload of m and a NUL; returns its length. */
size_t	fedmsg_format(const struct fedmsg *m, char out[FEDMSG_MAX + 1]);
/* Parses a payload (len bytes); 0, or -1 when it is not exactly three
 * fields: a UUID, an event name, a UUID (UUIDs in any case). */
int	fedmsg_parse(const char *s, size_t len, struct fedmsg *out);

#endif
