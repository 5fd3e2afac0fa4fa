/* SPDX-License-Identifier: MIT — crmpubsub */
/* Topic names: a table of families, each "prefix<uuid>suffix". */
#ifndef CRMPUBSUB_TOPIC_H
#define CRMPUBSUB_TOPIC_H

#include <stddef.h>
#include <stdint.h>

#include "uuid_canon.h"

enum topic_family {
	TOPIC_CONTACT_INTERACTIONS = 0,	/* crm:contact:<uuid>:interactions */
	TOPIC_NFAMILIES
};

/* The binary key the daemon indexes topics by. */
struct topic_key {
	uint8_t	family;
	uint8_t	uuid[16];
};

/* Longest canonical topic name, without the NUL. */
#define TOPIC_MAX_LEN	64

/* Parses a topic name; 0, or -1 when it is not a topic of any family. */
int	topic_parse(const char *s, size_t len, struct topic_key *out);
/* Writes the canonical name (lowercase UUID); returns its length. */
size_t	topic_format(const struct topic_key *, char out[TOPIC_MAX_LEN + 1]);
/* The contact interaction feed key of a contact. */
void	topic_contact_interactions(const uint8_t contact[16], struct topic_key *out);

#endif
