/* SPDX-License-Identifier: MIT — crmpubsub */
/* The subscription registry, indexed both ways.
 *
 * Topics live in an open-addressing hash table (linear probing, keyed by the
 * 17-byte binary topic key). Each topic has an array of subscribers and each
 * connection an array of its topics; every entry records its partner's index
 * in the other array, so removing one subscription is O(1) with swap-remove
 * and dropping a connection costs O(its topics). A topic is freed with its
 * last subscriber.
 */

#include <stdlib.h>
#include <string.h>

#include "crmpubsubd.h"

static struct topic	**table;	/* NULL or a topic */
static size_t		  table_cap;	/* power of two */
static size_t		  ntopics;
static size_t		  nsubscriptions;

/* FNV-1a over family and UUID. */
static uint32_t
subs_hash(const struct topic_key *k)
{
	uint32_t	h = 2166136261u;
	int		i;

	h = (h ^ k->family) * 16777619u;
	for (i = 0; i < 16; i++)
		h = (h ^ k->uuid[i]) * 16777619u;
	return h;
}

static int
key_equal(const struct topic_key *a, const struct topic_key *b)
{
	return a->family == b->family && memcmp(a->uuid, b->uuid, 16) == 0;
}

/* Slot of key, or of the empty slot where it would go. */
static size_t
subs_slot(const struct topic_key *k, uint32_t h)
{
	size_t	mask = table_cap - 1, i = h & mask;

	while (table[i] != NULL && !(table[i]->hash == h &&
	    key_equal(&table[i]->key, k)))
		i = (i + 1) & mask;
	return i;
}

/* Grows the table to keep the load factor at or below one half. */
static int
subs_grow(void)
{
	struct topic	**old = table, **nt;
	size_t		  oldcap = table_cap, ncap, i, j;

	ncap = table_cap ? table_cap * 2 : 1024;
	if ((nt = calloc(ncap, sizeof *nt)) == NULL)
		return -1;
	table = nt;
	table_cap = ncap;
	for (i = 0; i < oldcap; i++) {
		if (old[i] == NULL)
			continue;
		j = old[i]->hash & (ncap - 1);
		while (table[j] != NULL)
			j = (j + 1) & (ncap - 1);
		table[j] = old[i];
	}
	free(old);
	return 0;
}

struct topic *
subs_find(const struct topic_key *k)
{
	if (ntopics == 0)
		return NULL;
	return table[subs_slot(k, subs_hash(k))];
}

/* Removes table slot i, shifting later entries of its run back. */
static void
subs_table_delete(size_t i)
{
	size_t	mask = table_cap - 1, j = i, home;

	table[i] = NULL;
	for (;;) {
		j = (j + 1) & mask;
		if (table[j] == NULL)
			break;
		home = table[j]->hash & mask;
		/* Move j back into the hole unless its home lies in (i, j]. */
		if ((j > i && (home <= i || home > j)) ||
		    (j < i && (home <= i && home > j))) {
			table[i] = table[j];
			table[j] = NULL;
			i = j;
		}
	}
}

/* Grows an array of elements of size sz to hold one more. */
static int
grow_array(void **arr, uint32_t *cap, uint32_t n, size_t sz, uint32_t first)
{
	uint32_t	 ncap;
	void		*p;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : first;
	if ((p = realloc(*arr, (size_t)ncap * sz)) == NULL)
		return -1;
	*arr = p;
	*cap = ncap;
	return 0;
}

/* Index of t in c's topics, or -1. Scans the shorter side. */
static long
subs_index_in_conn(const struct conn *c, const struct topic *t)
{
	uint32_t	i;

	if (t->nsubs <= c->nsubs) {
		for (i = 0; i < t->nsubs; i++)
			if (t->subs[i].conn == c)
				return t->subs[i].conn_idx;
		return -1;
	}
	for (i = 0; i < c->nsubs; i++)
		if (c->subs[i].topic == t)
			return i;
	return -1;
}

int
subs_holds(const struct conn *c, const struct topic_key *k)
{
	struct topic	*t = subs_find(k);

	return t != NULL && subs_index_in_conn(c, t) >= 0;
}

int
subs_add(struct conn *c, const struct topic_key *k)
{
	struct topic	*t;
	uint32_t	 h = subs_hash(k);
	size_t		 slot;
	int		 created = 0;

	if (table_cap == 0 || (ntopics + 1) * 2 > table_cap) {
		if (subs_grow() == -1)
			return -1;
	}
	slot = subs_slot(k, h);
	if ((t = table[slot]) == NULL) {
		if ((t = calloc(1, sizeof *t)) == NULL)
			return -1;
		t->key = *k;
		t->hash = h;
		created = 1;
	} else if (subs_index_in_conn(c, t) >= 0)
		return 0;
	if (grow_array((void **)&t->subs, &t->cap, t->nsubs, sizeof *t->subs,
	    2) == -1 || grow_array((void **)&c->subs, &c->subs_cap, c->nsubs,
	    sizeof *c->subs, 4) == -1) {
		if (created) {
			free(t->subs);
			free(t);
		}
		return -1;
	}
	if (created) {
		table[slot] = t;
		ntopics++;
		federate_topic_added(&t->key);
	}
	t->subs[t->nsubs].conn = c;
	t->subs[t->nsubs].conn_idx = c->nsubs;
	c->subs[c->nsubs].topic = t;
	c->subs[c->nsubs].topic_idx = t->nsubs;
	t->nsubs++;
	c->nsubs++;
	nsubscriptions++;
	return 1;
}

/* Removes c's subscription number ci (swap-remove on both sides). */
static void
subs_remove_at(struct conn *c, uint32_t ci)
{
	struct topic	*t = c->subs[ci].topic;
	uint32_t	 ti = c->subs[ci].topic_idx, last;

	last = --t->nsubs;
	if (ti != last) {
		t->subs[ti] = t->subs[last];
		t->subs[ti].conn->subs[t->subs[ti].conn_idx].topic_idx = ti;
	}
	last = --c->nsubs;
	if (ci != last) {
		c->subs[ci] = c->subs[last];
		c->subs[ci].topic->subs[c->subs[ci].topic_idx].conn_idx = ci;
	}
	nsubscriptions--;
	if (t->nsubs == 0) {
		federate_topic_removed(&t->key);
		subs_table_delete(subs_slot(&t->key, t->hash));
		ntopics--;
		free(t->subs);
		free(t);
	}
}

int
subs_remove(struct conn *c, const struct topic_key *k)
{
	struct topic	*t = subs_find(k);
	long		 ci;

	if (t == NULL || (ci = subs_index_in_conn(c, t)) < 0)
		return 0;
	subs_remove_at(c, (uint32_t)ci);
	return 1;
}

void
subs_remove_all(struct conn *c)
{
	while (c->nsubs > 0)
		subs_remove_at(c, c->nsubs - 1);
	free(c->subs);
	c->subs = NULL;
	c->subs_cap = 0;
}

size_t
subs_ntopics(void)
{
	return ntopics;
}

size_t
subs_nsubscriptions(void)
{
	return nsubscriptions;
}

void
subs_foreach(int (*fn)(struct topic *, void *), void *arg)
{
	size_t	i;

	for (i = 0; i < table_cap; i++)
		if (table[i] != NULL && fn(table[i], arg) != 0)
			return;
}

/* Frees the table; every connection must already be gone. */
void
subs_free_all(void)
{
	free(table);
	table = NULL;
	table_cap = ntopics = nsubscriptions = 0;
}
