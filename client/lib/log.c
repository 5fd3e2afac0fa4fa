/* SPDX-License-Identifier: MIT — crmpubsub */
/* Logging: the application's callback, or the stderr logger that
 * $CRMPUBSUB_LOG asks for, and the rule for connection trouble. Trouble
 * comes in episodes, from a lost connection or a first failed attempt to
 * the next hello answered: the loss and the episode's first failure are
 * WARNINGs, later failed attempts DEBUG, the recovery one INFO line. A
 * first failure that found no callback (crmpubsub_open connects before one
 * can be set) is kept and handed to the next callback installed. */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"

static const char *const cl_level_names[] = {
	[CRMPUBSUB_LOG_ERROR] = "error",
	[CRMPUBSUB_LOG_WARNING] = "warning",
	[CRMPUBSUB_LOG_INFO] = "info",
	[CRMPUBSUB_LOG_DEBUG] = "debug",
};
#define CL_NLEVELS	(sizeof cl_level_names / sizeof cl_level_names[0])

/* Formats one log line and hands it to the callback, if any. */
void
cl_log(crmpubsub *c, enum crmpubsub_log_level level, const char *fmt, ...)
{
	char	msg[512];
	va_list	ap;

	if (c->log_fn == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	c->log_fn(c->log_arg, level, msg);
}

/* The $CRMPUBSUB_LOG logger: one write(2) per line (no stdio), so lines
 * of several threads or processes never interleave. Runs locked, so it
 * may read the handle's name. */
static void
cl_log_stderr(void *arg, enum crmpubsub_log_level level, const char *msg)
{
	crmpubsub	*c = arg;
	char		 line[768];
	int		 n;

	if ((int)level > c->stderr_level || (unsigned)level >= CL_NLEVELS)
		return;
	n = snprintf(line, sizeof line, "crmpubsub[%ld]%s%s: %s: %s\n",
	    (long)getpid(), c->name != NULL ? " " : "",
	    c->name != NULL ? c->name : "", cl_level_names[level], msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof line) {
		n = sizeof line - 1;
		line[n - 1] = '\n';
	}
	(void)!write(STDERR_FILENO, line, (size_t)n);
}

void
cl_log_init(crmpubsub *c)
{
	const char	*v = secure_getenv("CRMPUBSUB_LOG");
	size_t		 i;

	if (v == NULL || *v == '\0' || strcmp(v, "off") == 0 ||
	    strcmp(v, "none") == 0)
		return;
	/* Any other value asks for logs: an unknown one means warning. */
	c->stderr_level = CRMPUBSUB_LOG_WARNING;
	for (i = 0; i < CL_NLEVELS; i++)
		if (strcmp(v, cl_level_names[i]) == 0)
			c->stderr_level = (int)i;
	c->log_fn = cl_log_stderr;
	c->log_arg = c;
}

void
crmpubsub_set_log(crmpubsub *c, crmpubsub_log_fn *fn, void *arg)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	c->log_fn = fn;
	c->log_arg = arg;
	if (fn != NULL && c->failure_saved) {
		c->failure_saved = false;
		fn(arg, CRMPUBSUB_LOG_WARNING, c->failure_text);
	}
	pthread_mutex_unlock(&c->lock);
}

/* Starts an episode unless one is under way. */
static void
cl_episode_begin(crmpubsub *c)
{
	if (c->in_episode)
		return;
	c->in_episode = true;
	c->failure_reported = false;
	c->episode_failures = 0;
	c->episode_start_ns = cl_now_ns();
}

void
cl_log_connect_failed(crmpubsub *c, const char *fmt, ...)
{
	va_list	ap;

	cl_episode_begin(c);
	c->episode_failures++;
	va_start(ap, fmt);
	vsnprintf(c->failure_text, sizeof c->failure_text, fmt, ap);
	va_end(ap);
	if (c->failure_reported) {
		cl_log(c, CRMPUBSUB_LOG_DEBUG, "%s", c->failure_text);
		return;
	}
	c->failure_reported = true;
	if (c->log_fn != NULL)
		c->log_fn(c->log_arg, CRMPUBSUB_LOG_WARNING, c->failure_text);
	else
		c->failure_saved = true;
}

void
cl_log_connection_lost(crmpubsub *c, const char *why)
{
	cl_log(c, CRMPUBSUB_LOG_WARNING, "connection to %s lost: %s", c->path,
	    why);
	c->in_episode = false;
	cl_episode_begin(c);
}

void
cl_log_connected(crmpubsub *c)
{
	double	secs;

	if (!c->in_episode)
		cl_log(c, CRMPUBSUB_LOG_INFO, "connected to %s as client %lld",
		    c->path, c->client_id);
	else {
		secs = (double)(cl_now_ns() - c->episode_start_ns) / 1e9;
		cl_log(c, CRMPUBSUB_LOG_INFO, "connected to %s as client %lld "
		    "(%lu failed attempt%s in %.1f s)", c->path, c->client_id,
		    c->episode_failures, c->episode_failures == 1 ? "" : "s",
		    secs);
	}
	c->in_episode = false;
	c->failure_saved = false;
}
