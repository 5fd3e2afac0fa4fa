/* SPDX-License-Identifier: MIT — crmpubsub */
/* Looks for the ASan runtime's name inside a binary. */

#include <stdio.h>
#include <string.h>

#include "asan_probe.h"

int
binary_has_asan(const char *path)
{
	static const char	needle[] = "libasan.so";
	char			buf[1 << 16];
	size_t			n, keep = 0;
	FILE			*f = fopen(path, "rb");
	int			found = 0;

	if (f == NULL)
		return 0;
	while (!found && (n = fread(buf + keep, 1, sizeof buf - keep, f)) > 0) {
		n += keep;
		found = memmem(buf, n, needle, sizeof needle - 1) != NULL;
		keep = sizeof needle - 1;
		memmove(buf, buf + n - keep, keep);
	}
	fclose(f);
	return found;
}
