/* SPDX-License-Identifier: MIT — crmpubsub */
/* The interaction event names. */

#include <string.h>

#include "event.h"

static const char *const event_names[EVENT_COUNT] = {
	[EVENT_INTERACTION_CREATED] = "interaction_created",
	[EVENT_INTERACTION_UPDATED] = "interaction_updated",
	[EVENT_INTERACTION_DELETED] = "interaction_deleted",
};

/* Looks an event up by name (len bytes). */
int
event_parse(const char *name, size_t len, enum crm_event *out)
{
	int	i;

	for (i = 0; i < EVENT_COUNT; i++) {
		if (strlen(event_names[i]) == len &&
		    memcmp(event_names[i], name, len) == 0) {
			*out = (enum crm_event)i;
			return 0;
		}
	}
	return -1;
}

/* The wire name of an event. */
const char *
event_name(enum crm_event e)
{
	return event_names[e];
}
