/* SPDX-License-Identifier: MIT — crmpubsub */
/* Names of the values a subscriber sees: interaction events and the
 * daemon's resync reasons are the wire names (proto/event.c,
 * proto/push.c); the reasons the library itself gives are its own. */

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "client.h"
#include "event.h"

_Static_assert((int)CRMPUBSUB_INTERACTION_CREATED ==
    (int)EVENT_INTERACTION_CREATED &&
    (int)CRMPUBSUB_INTERACTION_UPDATED == (int)EVENT_INTERACTION_UPDATED &&
    (int)CRMPUBSUB_INTERACTION_DELETED == (int)EVENT_INTERACTION_DELETED,
    "event numbering");

/* Each public reason: one of the daemon's (named by the wire), or one the
 * library gives (named here). */
static const struct {
	bool			 daemon;
	enum resync_reason	 wire;		/* when daemon */
	const char		*name;		/* when not */
} cl_resync_reasons[] = {
	[CRMPUBSUB_RESYNC_LAGGED] = { true, RESYNC_LAGGED, NULL },
	[CRMPUBSUB_RESYNC_RECONNECTED] = { false, 0, "reconnected" },
	[CRMPUBSUB_RESYNC_OVERFLOW] = { false, 0, "overflow" },
	[CRMPUBSUB_RESYNC_SUBSCRIBED] = { false, 0, "subscribed" },
	[CRMPUBSUB_RESYNC_FEDERATION] = { true, RESYNC_FEDERATION, NULL },
};
#define CL_NREASONS	(sizeof cl_resync_reasons / sizeof cl_resync_reasons[0])

const char *
crmpubsub_event_name(enum crmpubsub_event e)
{
	if ((unsigned)e >= EVENT_COUNT)
		return NULL;
	return event_name((enum crm_event)e);
}

int
crmpubsub_event_parse(const char *name, enum crmpubsub_event *out)
{
	enum crm_event	e;

	if (name == NULL || event_parse(name, strlen(name), &e) == -1) {
		errno = EINVAL;
		return -1;
	}
	if (out != NULL)
		*out = (enum crmpubsub_event)e;
	return 0;
}

const char *
crmpubsub_resync_reason_name(enum crmpubsub_resync_reason r)
{
	if ((unsigned)r >= CL_NREASONS)
		return NULL;
	if (cl_resync_reasons[r].daemon)
		return resync_reason_name(cl_resync_reasons[r].wire);
	return cl_resync_reasons[r].name;
}

enum crmpubsub_resync_reason
cl_resync_reason(int daemon_reason)
{
	size_t	i;

	for (i = 0; i < CL_NREASONS; i++)
		if (cl_resync_reasons[i].daemon &&
		    (int)cl_resync_reasons[i].wire == daemon_reason)
			return (enum crmpubsub_resync_reason)i;
	/* Any other reason still means "refetch": count it as lagged. */
	return CRMPUBSUB_RESYNC_LAGGED;
}
