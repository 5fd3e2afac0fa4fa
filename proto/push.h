/* SPDX-License-Identifier: MIT — crmpubsub */
/* Pushed messages (daemon -> subscriber), one JSON line each. */
#ifndef CRMPUBSUB_PUSH_H
#define CRMPUBSUB_PUSH_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "event.h"
#include "names.h"
#include "topic.h"

/* Why a resync push was sent: the connection lagged and lost pushes, or
 * the federation link was down and pushes from other daemons may have been
 * missed. A reader treats any reason, known or not, as "refetch". */
enum resync_reason {
	RESYNC_LAGGED = 0,
	RESYNC_FEDERATION,
	RESYNC_NREASONS
};

/* The wire names, by reason (read them with names_find). */
extern const struct wire_name resync_reason_names[RESYNC_NREASONS];

/* The wire name of a reason. */
const char	*resync_reason_name(enum resync_reason);

/* {"type":"crm","event":…,"topic":…,"payload":{"interaction_uuid":…}}\n */
int	push_crm(struct buf *, enum crm_event, const struct topic_key *,
	    const uint8_t interaction_uuid[16]);
/* {"type":"resync","reason":…,"dropped":N}\n */
int	push_resync(struct buf *, enum resync_reason, unsigned long long dropped);
/* {"type":"shutdown"}\n */
int	push_shutdown(struct buf *);

#endif
