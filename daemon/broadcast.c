/* SPDX-License-Identifier: MIT — crmpubsub */
/* Fan-out: one push per involved topic, formatted once and queued to every
 * local subscriber of that topic, then handed to federation for the other
 * daemons. */

#include "crmpubsubd.h"
#include "push.h"

static struct buf	push_line;

/* One topic's push, formatted once, to every local subscriber. */
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

/* Runs an accepted broadcast: each contact's topic to its local
 * subscribers and to the other daemons; then writes the reply fields. */
void
broadcast_run(enum crm_event e, const uint8_t interaction_uuid[16],
    const struct uuid_list *contacts, struct buf *fields)
{
	struct topic_key	 k;
	size_t			 i, delivered = 0;

	for (i = 0; i < contacts->n; i++) {
		topic_contact_interactions(contacts->v[i], &k);
		delivered += broadcast_deliver(e, &k, interaction_uuid);
		federate_publish(e, &k, interaction_uuid);
	}
	stats.broadcasts++;
	reply_broadcast(fields, contacts->n, delivered);
}
