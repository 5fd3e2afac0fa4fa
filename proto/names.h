/* SPDX-License-Identifier: MIT — crmpubsub */
/* Tables of wire names (ops, events, error codes, resync reasons, reply
 * fields): each name with its length, and the one lookup every vocabulary
 * of the protocol is read with. */
#ifndef CRMPUBSUB_NAMES_H
#define CRMPUBSUB_NAMES_H

#include <stddef.h>

struct wire_name {
	const char	*s;
	size_t		 len;
};

/* A table entry for a string constant. */
#define WIRE_NAME(lit)	{ (lit), sizeof(lit) - 1 }

/* The index of name (len bytes, not necessarily NUL-terminated) in
 * names[0..n), or -1. */
int	names_find(const struct wire_name *names, size_t n, const char *name,
	    size_t len);

#endif
