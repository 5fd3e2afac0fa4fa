/* SPDX-License-Identifier: MIT — crmpubsub */
/* Builders of the pushed messages. Every part of a crm push is canonical
 * text the daemon made itself, so it is written without an encoder. */

#include <string.h>

#include "push.h"

/* Appends a string constant without its NUL. */
#define PUT(b, lit)	buf_append((b), (lit), sizeof(lit) - 1)

const struct wire_name resync_reason_names[RESYNC_NREASONS] = {
	[RESYNC_LAGGED] = WIRE_NAME("lagged"),
	[RESYNC_FEDERATION] = WIRE_NAME("federation"),
};

const char *
resync_reason_name(enum resync_reason r)
{
	return resync_reason_names[r].s;
}

int
push_crm(struct buf *b, enum crm_event e, const struct topic_key *t,
    const uint8_t interaction_uuid[16])
{
	char		 topic[TOPIC_MAX_LEN + 1], iu[UUID_TEXT_LEN + 1];
	size_t		 tlen;
	const char	*ev = event_name(e);

	tlen = topic_format(t, topic);
	uuid_canon_format(interaction_uuid, iu);
	if (buf_reserve(b, 128 + tlen) == -1)
		return -1;
	PUT(b, "{\"type\":\"crm\",\"event\":\"");
	buf_append(b, ev, strlen(ev));
	PUT(b, "\",\"topic\":\"");
	buf_append(b, topic, tlen);
	PUT(b, "\",\"payload\":{\"interaction_uuid\":\"");
	buf_append(b, iu, UUID_TEXT_LEN);
	return PUT(b, "\"}}\n");
}

int
push_resync(struct buf *b, enum resync_reason reason,
    unsigned long long dropped)
{
	if (buf_puts(b, "{\"type\":\"resync\",\"reason\":") == -1 ||
	    buf_put_jstrz(b, resync_reason_name(reason)) == -1 ||
	    buf_puts(b, ",\"dropped\":") == -1 ||
	    buf_put_uint(b, dropped) == -1)
		return -1;
	return buf_puts(b, "}\n");
}

int
push_shutdown(struct buf *b)
{
	return buf_puts(b, "{\"type\":\"shutdown\"}\n");
}
