/* SPDX-License-Identifier: MIT — crmpubsub */
/* Logging to stderr (journald takes it): warn/warnx with and without errno,
 * fatal/fatalx, and debug lines only with -v. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crmpubsubd.h"

static int		 log_verbose;
static const char	*log_prefix = "crmpubsubd: ";

void
log_init(int verbose)
{
	log_verbose = verbose;
	setvbuf(stderr, NULL, _IOLBF, 0);
	/* journald already stamps each line with the program name. */
	if (getenv("JOURNAL_STREAM") != NULL)
		log_prefix = "";
}

void
log_set_verbose(int verbose)
{
	log_verbose = verbose;
}

/* One line: "crmpubsubd: <text>[: <strerror>]" (no prefix under journald). */
static void
log_vline(const char *fmt, va_list ap, int err)
{
	char	line[1024];

	vsnprintf(line, sizeof line, fmt, ap);
	if (err != 0)
		fprintf(stderr, "%s%s: %s\n", log_prefix, line, strerror(err));
	else
		fprintf(stderr, "%s%s\n", log_prefix, line);
}

void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	log_vline(fmt, ap, 0);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vline(fmt, ap, 0);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list	ap;
	int	err = errno;

	va_start(ap, fmt);
	log_vline(fmt, ap, err);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vline(fmt, ap, 0);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	ap;
	int	err = errno;

	va_start(ap, fmt);
	log_vline(fmt, ap, err);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vline(fmt, ap, 0);
	va_end(ap);
	exit(1);
}

/* Escapes bytes outside printable ASCII, truncating to fit out. */
const char *
log_escape(const char *s, size_t len, char *out, size_t outlen)
{
	size_t	i, o = 0;

	for (i = 0; i < len && o + 5 < outlen; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
	}
	if (i < len && o + 3 < outlen) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}
