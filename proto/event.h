/* SPDX-License-Identifier: MIT — crmpubsub */
/* The three interaction events. */
#ifndef CRMPUBSUB_EVENT_H
#define CRMPUBSUB_EVENT_H

#include <stddef.h>

enum crm_event {
	EVENT_INTERACTION_CREATED = 0,
	EVENT_INTERACTION_UPDATED,
	EVENT_INTERACTION_DELETED,
	EVENT_COUNT
};

/* 0 and sets *out, or -1 when name is not an event. */
int		 event_parse(const char *name, size_t len, enum crm_event *out);
const char	*event_name(enum crm_event);

#endif
