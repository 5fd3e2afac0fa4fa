/* SPDX-License-Identifier: MIT — crmpubsub */
/* Logging to stderr, one line per event: "crmpubsubd: <text>" on a
 * terminal; under journald (JOURNAL_STREAM set) "<N><text>" instead, where
 * <N> is the syslog priority journald files the line under (so
 * `journalctl -p warning` works) and the program name is journald's.
 * warn/warnx with and without errno, fatal/fatalx, debug only with -v. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crmpubsubd.h"

/* Syslog priorities, as sd-daemon(3)'s SD_ERR ... SD_DEBUG. */
enum log_level { LOG_ERR = 3, LOG_WARNING = 4, LOG_INFO = 6, LOG_DEBUG = 7 };

static int		 log_verbose;
static int		 log_journal;

void
log_init(int verbose)
{
	log_verbose = verbose;
	setvbuf(stderr, NULL, _IOLBF, 0);
	log_journal = getenv("JOURNAL_STREAM") != NULL;
}

void
log_set_verbose(int verbose)
{
	log_verbose = verbose;
}

/* One line: "crmpubsubd: <text>[: <strerror>]", or "<N><text>[: …]"
 * under journald. */
static void
log_vline(enum log_level level, const char *fmt, va_list ap, int err)
{
	char	line[1024], prefix[16];

	vsnprintf(line, sizeof line, fmt, ap);
	if (log_journal)
		snprintf(prefix, sizeof prefix, "<%d>", (int)level);
	else
		snprintf(prefix, sizeof prefix, "crmpubsubd: ");
	if (err != 0)
		fprintf(stderr, "%s%s: %s\n", prefix, line, strerror(err));
	else
		fprintf(stderr, "%s%s\n", prefix, line);
}

void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	log_vline(LOG_DEBUG, fmt, ap, 0);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vline(LOG_INFO, fmt, ap, 0);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list	ap;
	int	err = errno;

	va_start(ap, fmt);
	log_vline(LOG_WARNING, fmt, ap, err);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vline(LOG_WARNING, fmt, ap, 0);
	va_end(ap);
}

/* An error that ends the daemon, when the caller still has to clean up. */
void
log_errx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vline(LOG_ERR, fmt, ap, 0);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	ap;
	int	err = errno;

	va_start(ap, fmt);
	log_vline(LOG_ERR, fmt, ap, err);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vline(LOG_ERR, fmt, ap, 0);
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

/* Sets *cause to a formatted message for the caller to report (malloc'd,
 * or NULL when memory ran out) and returns -1: how a function that fails
 * says why. */
int
log_cause(char **cause, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	if (vasprintf(cause, fmt, ap) == -1)
		*cause = NULL;
	va_end(ap);
	return -1;
}
