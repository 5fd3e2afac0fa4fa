/* SPDX-License-Identifier: MIT — crmpubsub */
/* The interaction event names. */

#include "event.h"
#include "names.h"

static const struct wire_name event_names[EVENT_COUNT] = {
	[EVENT_INTERACTION_CREATED] = WIRE_NAME("interaction_created"),
	[EVENT_INTERACTION_UPDATED] = WIRE_NAME("interaction_updated"),
	[EVENT_INTERACTION_DELETED] = WIRE_NAME("interaction_deleted"),
};

/* Looks an event up by name (len bytes). */
int
event_parse(const char *name, size_t len, enum crm_event *out)
{
	int	i = names_find(event_names, EVENT_COUNT, name, len);

	if (i == -1)
		return -1;
	*out = (enum crm_event)i;
	return 0;
}

/* The wire name of an event. */
const char *
event_name(enum crm_event e)
{
	return event_names[e].s;
}
