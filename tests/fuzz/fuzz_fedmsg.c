/* SPDX-License-Identifier: MIT — crmpubsub */
/* libFuzzer target: the federation codec (proto/fedmsg.c), which reads
 * whatever anyone allowed to PUBLISH on Redis sends.
 *
 * The input is read both as a message payload and as a channel name under
 * a fixed prefix. Whatever parses must be what the writer would write
 * (the same bytes, but for the case of the hex digits), and what the writer
 * writes must parse back to the same value. */

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fedmsg.h"

#define FF_PREFIX	"crmpubsub:"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Stops the run: libFuzzer records the input. */
static void __attribute__((noreturn))
ff_fail(const char *what, const uint8_t *data, size_t size)
{
	fprintf(stderr, "fuzz_fedmsg: %s: %.*s\n", what,
	    (int)(size > 300 ? 300 : size), (const char *)data);
	abort();
}

/* Whether a (n bytes) and b are equal ignoring ASCII case. */
static int
ff_same_text(const uint8_t *a, size_t n, const char *b, size_t blen)
{
	size_t	i;

	if (n != blen)
		return 0;
	for (i = 0; i < n; i++)
		if (tolower(a[i]) != tolower((unsigned char)b[i]))
			return 0;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char		*s = (const char *)data;
	char			 out[FEDMSG_CHANNEL_MAX + 1];
	struct fedmsg		 m, again;
	struct topic_key	 k, k2;
	size_t			 len;

	if (fedmsg_parse(s, size, &m) == 0) {
		len = fedmsg_format(&m, out);
		if (len > FEDMSG_MAX || out[len] != '\0')
			ff_fail("payload written past its bound", data, size);
		if (!ff_same_text(data, size, out, len))
			ff_fail("a payload parsed that the writer would not "
			    "write", data, size);
		if (fedmsg_parse(out, len, &again) != 0 ||
		    memcmp(&m, &again, sizeof m) != 0)
			ff_fail("a written payload does not parse back", data,
			    size);
	}
	if (fedmsg_channel_topic(FF_PREFIX, sizeof FF_PREFIX - 1, s, size,
	    &k) == 0) {
		len = fedmsg_channel(FF_PREFIX, sizeof FF_PREFIX - 1, &k, out);
		if (len > FEDMSG_CHANNEL_MAX || out[len] != '\0')
			ff_fail("channel written past its bound", data, size);
		if (!ff_same_text(data, size, out, len))
			ff_fail("a channel parsed that the writer would not "
			    "write", data, size);
		if (fedmsg_channel_topic(FF_PREFIX, sizeof FF_PREFIX - 1, out,
		    len, &k2) != 0 || memcmp(&k, &k2, sizeof k) != 0)
			ff_fail("a written channel does not parse back", data,
			    size);
	}
	return 0;
}
