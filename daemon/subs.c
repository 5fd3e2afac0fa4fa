/* SPDX-License-Identifier: MIT — crmpubsub */
/* The subscription registry, indexed both ways.
 *
 * Topics live in an open-addressing hash table (linear probing, keyed by the
 * 17-byte binary topic key). Each topic has an array of subscribers and each
 * connection an array of its topics; every entry records its partner's index
 * in the other array, so removing one subscription is O(1) with swap-remove
 * and dropping a connection costs O(its topics). A topic is freed with its
 * last subscriber.
 *
 * Peers choose topic UUIDs, so the hash is SipHash-1-3 under a random key
 * of this process: nobody outside can aim topics at one slot. Should an
 * insertion still probe past SUBS_PROBE_LIMIT slots (a key that leaked; by
 * chance, random keys in a table of four million topics stay near 50), the
 * table is rebuilt under a fresh key, so no sequence of topics can make
 * probing cost more than a constant per operation.
 */

#include <stdlib.h>
#include <string.h>

#include "crmpubsubd.h"
#include "siphash.h"

#define SUBS_PROBE_LIMIT	64

static struct topic	**table;	/* NULL or a topic */
static size_t		  table_cap;	/* power of two */
static size_t		  ntopics;
static size_t		  nsubscriptions;
static uint8_t		  hash_key[SIPHASH_KEY_LEN];
static int		  hash_key_set;
static unsigned long long probes;	/* slots looked at, since start */

_Static_assert(sizeof(struct topic_key) == 17, "topic keys are hashed whole");

static uint32_t
subs_hash(const struct topic_key *k)
{
	return (uint32_t)siphash13(hash_key, k, sizeof *k);
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
	size_t	mask = table_cap - 1, i = h & mask, start = i;

	while (table[i] != NULL && !(table[i]->hash == h &&
	    key_equal(&table[i]->key, k)))
		i = (i + 1) & mask;
	probes += ((i - start) & mask) + 1;
	return i;
}

/* Moves every topic into a new table of ncap slots; with rehash, under the
 * current key (whose hashes are recomputed). -1 when out of memory. */
static int
subs_rebuild(size_t ncap, int rehash)
{
	struct topic	**old = table, **nt;
	size_t		  oldcap = table_cap, i, j;

	if ((nt = calloc(ncap, sizeof *nt)) == NULL)
		return -1;
	table = nt;
	table_cap = ncap;
	for (i = 0; i < oldcap; i++) {
		if (old[i] == NULL)
			continue;
		if (rehash)
			old[i]->hash = subs_hash(&old[i]->key);
		j = subs_slot(&old[i]->key, old[i]->hash);
		table[j] = old[i];
	}
	free(old);
	return 0;
}

/* Grows the table to keep the load factor at or below one half. */
static int
subs_grow(void)
{
	if (!hash_key_set) {
		siphash_random_key(hash_key);
		hash_key_set = 1;
	}
	return subs_rebuild(table_cap ? table_cap * 2 : 1024, 0);
}

/* Rehashes every topic under key; the table stays as it was when out of
 * memory (still correct, only slower). */
static void
subs_rekey(const uint8_t key[SIPHASH_KEY_LEN])
{
	uint8_t	old[SIPHASH_KEY_LEN];

	memcpy(old, hash_key, sizeof old);
	memcpy(hash_key, key, sizeof hash_key);
	hash_key_set = 1;
	if (table_cap > 0 && subs_rebuild(table_cap, 1) == -1)
		memcpy(hash_key, old, sizeof hash_key);
}

void
subs_set_hash_key(const uint8_t key[16])
{
	subs_rekey(key);
}

unsigned long long
subs_probes(void)
{
	return probes;
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
	uint32_t	 h;
	uint8_t		 key[SIPHASH_KEY_LEN];
	size_t		 slot;
	int		 created = 0;

	if (table_cap == 0 || (ntopics + 1) * 2 > table_cap) {
		if (subs_grow() == -1)
			return -1;
	}
	h = subs_hash(k);
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
	if (created && ((slot - h) & (table_cap - 1)) > SUBS_PROBE_LIMIT) {
		log_warnx("topic table: a probe run passed %d slots, "
		    "rehashing under a new key", SUBS_PROBE_LIMIT);
		siphash_random_key(key);
		subs_rekey(key);
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

/* Orders topics by key: family, then UUID bytes, which is also the order
 * of their canonical names. */
static int
key_cmp(const struct topic *a, const struct topic *b)
{
	return memcmp(&a->key, &b->key, sizeof a->key);
}

/* Restores the max-heap order of heap[0..n) below slot i. */
static void
heap_sift_down(struct topic **heap, size_t n, size_t i)
{
	struct topic	*t = heap[i];
	size_t		 child;

	while ((child = 2 * i + 1) < n) {
		if (child + 1 < n && key_cmp(heap[child + 1], heap[child]) > 0)
			child++;
		if (key_cmp(heap[child], t) <= 0)
			break;
		heap[i] = heap[child];
		i = child;
	}
	heap[i] = t;
}

/* Restores the max-heap order of heap[0..i] above slot i. */
static void
heap_sift_up(struct topic **heap, size_t i)
{
	struct topic	*t = heap[i];

	for (; i > 0 && key_cmp(heap[(i - 1) / 2], t) < 0; i = (i - 1) / 2)
		heap[i] = heap[(i - 1) / 2];
	heap[i] = t;
}

/* One pass over the table keeps the limit smallest keys above after in a
 * max-heap (O(topics × log limit)), then sorts them: the order does not
 * depend on the table, so paging survives growth and rehashing, and the
 * replies tell nothing about the hash. */
size_t
subs_page(const struct topic_key *after, size_t limit, struct topic **out,
    int *more)
{
	struct topic	 cursor, *t;
	size_t		 i, n = 0;

	*more = 0;
	if (after != NULL)
		cursor.key = *after;
	for (i = 0; i < table_cap; i++) {
		if ((t = table[i]) == NULL ||
		    (after != NULL && key_cmp(t, &cursor) <= 0))
			continue;
		if (n < limit) {
			out[n] = t;
			heap_sift_up(out, n++);
			continue;
		}
		*more = 1;
		if (n > 0 && key_cmp(t, out[0]) < 0) {
			out[0] = t;
			heap_sift_down(out, n, 0);
		}
	}
	for (i = n; i > 1; i--) {
		t = out[0];
		out[0] = out[i - 1];
		out[i - 1] = t;
		heap_sift_down(out, i - 1, 0);
	}
	return n;
}

/* Frees the table; every connection must already be gone. */
void
subs_free_all(void)
{
	free(table);
	table = NULL;
	table_cap = ntopics = nsubscriptions = 0;
}
