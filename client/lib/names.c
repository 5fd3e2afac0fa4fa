/* SPDX-License-Identifier: MIT — crmpubsub */
/* Names of the values a subscriber sees: interaction events (the wire
 * names, from proto/event.c) and resync reasons (the daemon's wire names
 * where the daemon sends the reason, the library's own otherwise). */

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

static const struct {
	const char	*name;
	bool		 from_daemon;	/* a "reason" of the resync push */
} cl_resync_reasons[] = {
	[CRMPUBSUB_RESYNC_LAGGED] = { "lagged", true },
	[CRMPUBSUB_RESYNC_RECONNECTED] = { "reconnected", false },
	[CRMPUBSUB_RESYNC_OVERFLOW] = { "overflow", false },
	[CRMPUBSUB_RESYNC_SUBSCRIBED] = { "subscribed", false },
	[CRMPUBSUB_RESYNC_FEDERATION] = { "federation", true },
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
	if ((unsigned)r >= CL_NREASONS || cl_resync_reasons[r].name == NULL)
		return NULL;
	return cl_resync_reasons[r].name;
}

enum crmpubsub_resync_reason
cl_resync_reason_parse(const char *name)
{
	size_t	i;

	for (i = 0; name != NULL && i < CL_NREASONS; i++)
		if (cl_resync_reasons[i].from_daemon &&
		    strcmp(cl_resync_reasons[i].name, name) == 0)
			return (enum crmpubsub_resync_reason)i;
	/* Any other reason still means "refetch": count it as lagged. */
	return CRMPUBSUB_RESYNC_LAGGED;
}
