/* SPDX-License-Identifier: MIT — crmpubsub */
/* Pushed messages (daemon -> subscriber), one JSON line each. */
#ifndef CRMPUBSUB_PUSH_H
#define CRMPUBSUB_PUSH_H

#include <stdint.h>

#include "buf.h"
#include "event.h"
#include "topic.h"

/* {"type":"crm","event":…,"topic":…,"payload":{"interaction_uuid":…}}\n */
int	push_crm(struct buf *, enum crm_event, const struct topic_key *,
	    const uint8_t interaction_uuid[16]);
/* {"type":"resync","reason":"lagged","dropped":N}\n */
int	push_resync(struct buf *, const char *reason, unsigned long long dropped);
/* {"type":"shutdown"}\n */
int	push_shutdown(struct buf *);

#endif
