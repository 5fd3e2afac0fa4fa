/* SPDX-License-Identifier: MIT — crmpubsub */
/* Fan-out: one push per involved topic, formatted once and queued to every
 * local subscriber of that topic, then handed to federation for the other
 * daemons. */

#include "crmpubsubd.h"
#include "push.h"

static struct buf	push_line;

size_t
broadcast_deliver(enum crm_event e, const struct topic_key *k,
    const uint8_t interaction_uuid[16])
{
	struct topic	*t;
	size_t		 delivered = 0;
	uint32_t	 s;

	if ((t = subs_find(k)) == NULL)
		return 0;
	buf_reset(&push_line);
	if (push_crm(&push_line, e, k, interaction_uuid) == -1)
		return 0;
	for (s = 0; s < t->nsubs; s++)
		delivered += (size_t)conn_push(t->subs[s].conn,
		    buf_head(&push_line), buf_len(&push_line));
	stats.delivered += delivered;
	return delivered;
}

void
broadcast_fanout(enum crm_event e, const uint8_t interaction_uuid[16],
    const struct uuid_list *contacts, struct broadcast_result *r)
{
	struct topic_key	 k;
	size_t			 i;

	r->topics = contacts->n;
	r->delivered = 0;
	for (i = 0; i < contacts->n; i++) {
		topic_contact_interactions(contacts->v[i], &k);
		r->delivered += broadcast_deliver(e, &k, interaction_uuid);
		federate_publish(e, &k, interaction_uuid);
	}
}

/* Runs an accepted broadcast and writes its reply fields. */
void
broadcast_run(enum crm_event e, const uint8_t interaction_uuid[16],
    const struct uuid_list *contacts, struct buf *fields)
{
	struct broadcast_result	r;

	broadcast_fanout(e, interaction_uuid, contacts, &r);
	stats.broadcasts++;
	buf_put_key(fields, "topics");
	buf_put_uint(fields, r.topics);
	buf_put_key(fields, "delivered");
	buf_put_uint(fields, r.delivered);
}
