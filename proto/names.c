/* SPDX-License-Identifier: MIT — crmpubsub */
/* Wire-name table lookup. */

#include <string.h>

#include "names.h"

/* A linear scan: every table is a handful of short names, most of which
 * differ from the one sought in length or first byte. */
int
names_find(const struct wire_name *names, size_t n, const char *name,
    size_t len)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (names[i].len == len && len > 0 && names[i].s[0] == name[0] &&
		    memcmp(names[i].s, name, len) == 0)
			return (int)i;
	return -1;
}
