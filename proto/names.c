/* SPDX-License-Identifier: MIT — crmpubsub */
/* Wire-name table lookup. */

#include <string.h>

#include "names.h"

/* A linear scan: every table is a handful of short names. */
int
names_find(const char *const *names, size_t n, const char *name, size_t len)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0)
			return (int)i;
	return -1;
}
