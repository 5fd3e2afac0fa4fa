/* SPDX-License-Identifier: MIT — crmpubsub */
/* Logging to stderr, one line per message; journald takes it and stamps the
 * program name, so the "crmpubsub-pg: " prefix is dropped under it. */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"

static int		 log_verbose;
static const char	*log_prefix = BRIDGE_NAME ": ";

void
log_init(int verbose)
{
	log_verbose = verbose;
	setvbuf(stderr, NULL, _IOLBF, 0);
	if (getenv("JOURNAL_STREAM") != NULL)
		log_prefix = "";
}

/* Writes one formatted line. */
static void
log_emit(const char *fmt, va_list ap)
{
	char	line[2048];

	vsnprintf(line, sizeof line, fmt, ap);
	fprintf(stderr, "%s%s\n", log_prefix, line);
}

void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	log_emit(fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_emit(fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_emit(fmt, ap);
	va_end(ap);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_emit(fmt, ap);
	va_end(ap);
	exit(1);
}

const char *
log_one_line(const char *text, char *out, size_t outlen)
{
	size_t	o = 0;
	int	blank = 1;	/* drops leading blanks and repeats */

	for (; *text != '\0' && o + 1 < outlen; text++) {
		unsigned char c = (unsigned char)*text;

		if (c < 0x20 || c == 0x7f || c == ' ') {
			if (!blank)
				out[o++] = ' ';
			blank = 1;
		} else {
			out[o++] = (char)c;
			blank = 0;
		}
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
	return out;
}
