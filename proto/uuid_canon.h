/* SPDX-License-Identifier: MIT — crmpubsub */
/* UUIDs on the wire: parsed as uuid_parse(3) does, written in canonical
 * lowercase. */
#ifndef CRMPUBSUB_UUID_CANON_H
#define CRMPUBSUB_UUID_CANON_H

#include <stddef.h>
#include <stdint.h>

#define UUID_TEXT_LEN	36

/* Parses s (len bytes, not necessarily NUL-terminated); 0 or -1. */
int	uuid_canon_parse(const char *s, size_t len, uint8_t out[16]);
/* Checks the string s as uuid_canon_parse checks 36 bytes (nothing may
 * follow them) and writes its characters lowercase and a NUL into out; 0
 * or -1. */
int	uuid_canon_copy(const char *s, char out[UUID_TEXT_LEN + 1]);
/* Writes 36 lowercase chars plus NUL into out. */
void	uuid_canon_format(const uint8_t in[16], char out[UUID_TEXT_LEN + 1]);

/* An ordered list of distinct UUIDs: the involved-contacts rule keeps the
 * first occurrence and drops later duplicates. */
struct uuid_list {
	uint8_t		(*v)[16];
	size_t		  n;
	size_t		  cap;
	uint32_t	 *index;	/* open-addressing set over v, lazily built */
	size_t		  index_cap;
};

#define UUID_LIST_INIT { NULL, 0, 0, NULL, 0 }

/* Appends u unless already present: 1 added, 0 duplicate, -1 ENOMEM. */
int	uuid_list_add(struct uuid_list *, const uint8_t u[16]);
void	uuid_list_clear(struct uuid_list *);	/* keep memory */
void	uuid_list_free(struct uuid_list *);

#endif
