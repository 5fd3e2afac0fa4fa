/* SPDX-License-Identifier: MIT — crmpubsub */
/* Builders of the pushed messages. Every part of a crm push is canonical
 * text the daemon made itself, so it is written without an encoder. */

#include <stdio.h>
#include <string.h>

#include "push.h"

int
push_crm(struct buf *b, enum crm_event e, const struct topic_key *t,
    const uint8_t interaction_uuid[16])
{
	char	topic[TOPIC_MAX_LEN + 1], iu[UUID_TEXT_LEN + 1];
	char	line[256];
	size_t	tlen;
	int	n;

	tlen = topic_format(t, topic);
	uuid_canon_format(interaction_uuid, iu);
	n = snprintf(line, sizeof line,
	    "{\"type\":\"crm\",\"event\":\"%s\",\"topic\":\"%.*s\","
	    "\"payload\":{\"interaction_uuid\":\"%s\"}}\n",
	    event_name(e), (int)tlen, topic, iu);
	return buf_append(b, line, (size_t)n);
}

int
push_resync(struct buf *b, const char *reason, unsigned long long dropped)
{
	if (buf_puts(b, "{\"type\":\"resync\",\"reason\":") == -1 ||
	    buf_put_jstrz(b, reason) == -1 ||
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
