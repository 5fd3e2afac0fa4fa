/* SPDX-License-Identifier: MIT — crmpubsub */
/* Outbox rows into broadcasts: one group per (transaction, interaction),
 * its event from the interaction row's inserts and deletes, its contacts
 * the union of every contact recorded for it, NULLs dropped; each group
 * then into broadcast_to_contacts lines built by proto/request.c. No libpq
 * and no libevent here, so the rules unit-test alone. */

#include <stdlib.h>
#include <string.h>

#include "bridge.h"
#include "request.h"

/* Whether two rows belong to one group. */
static int
group_same(const struct outbox_row *a, const struct outbox_row *b)
{
	return a->txid == b->txid &&
	    memcmp(a->interaction, b->interaction, 16) == 0;
}

/*
 * Whether the interaction existed before the transaction and after it
 * follows from its first and last insert or delete (I, D) in id order:
 * before = no I/D, or the first is D; after = no I/D, or the last is I.
 * created: not before, after. deleted: not after (an interaction made and
 * removed in one transaction was never seen: deleted is the safe word).
 * Otherwise updated — parties changed, the row was updated, or it was
 * deleted and inserted again.
 */
enum crm_event
group_event(const struct outbox_row *rows, size_t n)
{
	char	first = 0, last = 0;
	size_t	i;

	for (i = 0; i < n; i++) {
		if (rows[i].change != CHANGE_INSERTED &&
		    rows[i].change != CHANGE_DELETED)
			continue;
		if (first == 0)
			first = rows[i].change;
		last = rows[i].change;
	}
	if (last == CHANGE_DELETED)
		return EVENT_INTERACTION_DELETED;
	if (first == CHANGE_INSERTED)
		return EVENT_INTERACTION_CREATED;
	return EVENT_INTERACTION_UPDATED;
}

/* Where the rows to group end: with more rows unread, the trailing group
 * may continue past them, so it waits for the next round — unless it is
 * all there is, and then all but the last row go (a group larger than a
 * round is sent in parts). */
static size_t
group_cut(const struct outbox_row *rows, size_t n, int more)
{
	size_t	start;

	if (!more || n < 2)
		return n;
	for (start = n - 1; start > 0; start--)
		if (!group_same(&rows[start - 1], &rows[n - 1]))
			return start;
	return n - 1;
}

int
group_rows(const struct outbox_row *rows, size_t n, int more,
    struct group **out, size_t *ngroups, size_t *used)
{
	struct group	*g = NULL, *p;
	size_t		 end = group_cut(rows, n, more), i, start, ng = 0;
	size_t		 cap = 0;

	for (start = 0; start < end; start = i) {
		for (i = start + 1; i < end && group_same(&rows[i], &rows[start]);
		    i++)
			;
		if (ng == cap) {
			cap = cap ? cap * 2 : 16;
			if ((p = realloc(g, cap * sizeof *g)) == NULL)
				goto fail;
			g = p;
		}
		p = &g[ng++];
		memset(p, 0, sizeof *p);
		p->txid = rows[start].txid;
		memcpy(p->interaction, rows[start].interaction, 16);
		p->event = group_event(rows + start, i - start);
		for (size_t r = start; r < i; r++)
			if (rows[r].has_contact &&
			    uuid_list_add(&p->contacts, rows[r].contact) == -1)
				goto fail;
	}
	*out = g;
	*ngroups = ng;
	*used = end;
	return 0;
fail:
	group_free(g, ng);
	return -1;
}

void
group_free(struct group *g, size_t ngroups)
{
	size_t	i;

	for (i = 0; i < ngroups; i++)
		uuid_list_free(&g[i].contacts);
	free(g);
}

/* The contacts of a line of len bytes that named n and was over max_line,
 * to try next: fewer, in proportion (at least one). */
static size_t
group_fewer(size_t n, size_t len, size_t max_line)
{
	size_t	fit = (size_t)((unsigned long long)n * max_line / len);

	return fit > 0 ? fit : 1;
}

int
group_broadcast(struct buf *b, const struct group *g, size_t first,
    size_t max_contacts, size_t max_line, size_t *named, const char **why)
{
	char		 iu[UUID_TEXT_LEN + 1], (*text)[UUID_TEXT_LEN + 1];
	const char	**uuids;
	size_t		 n = g->contacts.n - first, i, mark = buf_len(b), len;
	int		 rc;

	if (n > max_contacts)
		n = max_contacts;
	/* The request takes UUIDs as text: the pointers, then their texts. */
	if ((uuids = malloc(n * (sizeof *uuids + sizeof *text) + 1)) == NULL) {
		*why = "out of memory";
		return -1;
	}
	text = (void *)(uuids + n);
	for (i = 0; i < n; i++) {
		uuid_canon_format(g->contacts.v[first + i], text[i]);
		uuids[i] = text[i];
	}
	uuid_canon_format(g->interaction, iu);
	/* The line's length is known once it is built: one over max_line
	 * (its newline aside) goes again with fewer contacts. */
	while ((rc = request_broadcast_to_contacts(b, g->event, iu, uuids, n,
	    why)) == 0 && (len = buf_len(b) - mark - 1) > max_line) {
		buf_truncate(b, mark);
		if (n <= 1) {
			*why = "a broadcast naming one contact is longer than "
			    "crmpubsubd's max_line";
			rc = -1;
			break;
		}
		n = group_fewer(n, len, max_line);
	}
	free(uuids);
	*named = n;
	return rc;
}
