/* SPDX-License-Identifier: MIT — crmpubsub */
/* Back-off between attempts to reach PostgreSQL or crmpubsubd, and the log
 * lines that say what the bridge is waiting for — without repeating the
 * same line more than once a minute. */

#include <sys/time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bridge.h"

#define RETRY_FIRST_MS	100
#define RETRY_MAX_MS	5000
#define RETRY_REPEAT_S	60	/* an unchanged reason is logged this often */

/* A pseudo-random spread of +-25% so bridges do not retry in lockstep. */
static unsigned
retry_jitter(unsigned ms)
{
	static unsigned	seed;

	if (seed == 0)
		seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	seed = seed * 1103515245u + 12345u;
	return ms * 3 / 4 + (seed >> 16) % (ms / 2 + 1);
}

struct timeval
retry_failed(struct retry *r, const char *reason)
{
	struct timeval	tv;
	unsigned	wait;
	time_t		now = time(NULL);

	r->delay_ms = r->delay_ms == 0 ? RETRY_FIRST_MS : r->delay_ms * 2;
	if (r->delay_ms > RETRY_MAX_MS)
		r->delay_ms = RETRY_MAX_MS;
	wait = retry_jitter(r->delay_ms);
	if (strcmp(r->said, reason) != 0 || now - r->said_at >= RETRY_REPEAT_S) {
		log_warnx("%s: %s; retrying in %.1f s", r->what, reason,
		    wait / 1000.0);
		snprintf(r->said, sizeof r->said, "%s", reason);
		r->said_at = now;
	}
	r->failing = 1;
	tv.tv_sec = wait / 1000;
	tv.tv_usec = (wait % 1000) * 1000;
	return tv;
}

int
retry_succeeded(struct retry *r)
{
	int	was = r->failing;

	r->delay_ms = 0;
	r->failing = 0;
	r->said[0] = '\0';
	return was;
}
