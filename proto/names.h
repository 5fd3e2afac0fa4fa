/* SPDX-License-Identifier: MIT — crmpubsub */
/* Lookup in a table of wire names (ops, events, error codes, resync
 * reasons), the one way every vocabulary of the protocol is read. */
#ifndef CRMPUBSUB_NAMES_H
#define CRMPUBSUB_NAMES_H

#include <stddef.h>

/* The index of name (len bytes, not necessarily NUL-terminated) in
 * names[0..n), or -1. */
int	names_find(const char *const *names, size_t n, const char *name,
	    size_t len);

#endif
