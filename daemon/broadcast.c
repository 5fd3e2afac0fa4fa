/* SPDX-License-Identifier: MIT — crmpubsub */
/* Fan-out: one push per involved topic, formatted once and queued to every
 * subscriber of that topic. */

#include "crmpubsubd.h"
#include "push.h"

static struct buf	push_line;

void
broadcast_fanout(enum crm_event e, const uint8_t interaction_uuid[16],
    const struct uuid_list *contacts, struct broadcast_result *r)
{
	struct topic_key	 k;
	struct topic		*t;
	size_t			 i;
	uint32_t		 s;

	r->topics = contacts->n;
	r->delivered = 0;
	for (i = 0; i < contacts->n; i++) {
		topic_contact_interactions(contacts->v[i], &k);
		if ((t = subs_find(&k)) == NULL)
			continue;
		buf_reset(&push_line);
		if (push_crm(&push_line, e, &k, interaction_uuid) == -1)
			continue;
		for (s = 0; s < t->nsubs; s++)
			r->delivered += (size_t)conn_push(t->subs[s].conn,
			    buf_head(&push_line), buf_len(&push_line));
	}
	stats.delivered += r->delivered;
}
