/* SPDX-License-Identifier: MIT — crmpubsub */
/* Unit suite for daemon/subs.c: the two-way subscription registry, its hash
 * table (growth, backward-shift deletion, resistance to chosen collisions),
 * key-ordered paging, SipHash-1-3 and a randomized model check. */

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crmpubsubd.h"
#include "siphash.h"

/* Assertions for hot loops: check's ck_assert_* report every passing check
 * to the parent process (a syscall each), which millions of checks cannot
 * afford; these only call into check when they fail. */
#define REQ(e)	do { if (!(e)) ck_abort_msg("failed: %s", #e); } while (0)
#define REQ_EQ(a, b)	do {						\
	unsigned long long a_ = (unsigned long long)(a);		\
	unsigned long long b_ = (unsigned long long)(b);		\
	if (a_ != b_)							\
		ck_abort_msg("%s == %s: %llu != %llu", #a, #b, a_, b_);	\
} while (0)
#define REQ_MSG(e, ...)	do { if (!(e)) ck_abort_msg(__VA_ARGS__); } while (0)

/* daemon/conn.c refers to the event base main.c normally provides. */
struct event_base *base;

static uint64_t rng_state;

/* xorshift64*: a seeded, reproducible stream. */
static uint64_t
rng_next(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

/* The key of topic number n (n recoverable from the key, see key_number). */
static struct topic_key
key_n(uint32_t n)
{
	struct topic_key	k;

	memset(&k, 0, sizeof k);
	k.family = TOPIC_CONTACT_INTERACTIONS;
	k.uuid[0] = 0x01;
	k.uuid[1] = 0x90;
	k.uuid[12] = (uint8_t)(n >> 24);
	k.uuid[13] = (uint8_t)(n >> 16);
	k.uuid[14] = (uint8_t)(n >> 8);
	k.uuid[15] = (uint8_t)n;
	return k;
}

static uint32_t
key_number(const struct topic_key *k)
{
	return (uint32_t)k->uuid[12] << 24 | (uint32_t)k->uuid[13] << 16 |
	    (uint32_t)k->uuid[14] << 8 | k->uuid[15];
}

/* A key of random bytes. */
static struct topic_key
key_random(void)
{
	struct topic_key	k;
	uint64_t		a = rng_next(), b = rng_next();

	k.family = TOPIC_CONTACT_INTERACTIONS;
	memcpy(k.uuid, &a, 8);
	memcpy(k.uuid + 8, &b, 8);
	return k;
}

/* Connections of the current test; torn down by the fixture. */
#define MAX_CONNS	64
static struct conn	conns_[MAX_CONNS];

static void
setup(void)
{
	memset(conns_, 0, sizeof conns_);
	REQ_EQ(subs_ntopics(), 0);
	REQ_EQ(subs_nsubscriptions(), 0);
}

static void
teardown(void)
{
	size_t	i;

	for (i = 0; i < MAX_CONNS; i++)
		subs_remove_all(&conns_[i]);
	REQ_EQ(subs_ntopics(), 0);
	REQ_EQ(subs_nsubscriptions(), 0);
	subs_free_all();
}

struct walk {
	struct topic	**seen;
	size_t		  n, cap, subs, stop_after;
};

/* subs_foreach callback: records every topic. */
static int
walk_collect(struct topic *t, void *arg)
{
	struct walk	*w = arg;

	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 256;
		w->seen = realloc(w->seen, w->cap * sizeof *w->seen);
		REQ((w->seen) != NULL);
	}
	w->seen[w->n++] = t;
	w->subs += t->nsubs;
	return w->stop_after != 0 && w->n >= w->stop_after;
}

/* Checks both indexes agree, for the given connections and every topic:
 * c->subs[i] points at a topic entry that points back at (c, i) and vice
 * versa, every topic is findable and non-empty, and the counters match. */
static void
assert_registry_consistent(struct conn *cs, size_t ncs)
{
	struct walk	 w = { NULL, 0, 0, 0, 0 };
	size_t		 i, conn_subs = 0;
	uint32_t	 j;

	for (i = 0; i < ncs; i++) {
		struct conn *c = &cs[i];

		REQ(c->nsubs <= c->subs_cap);
		for (j = 0; j < c->nsubs; j++) {
			struct topic *t = c->subs[j].topic;
			uint32_t ti = c->subs[j].topic_idx;

			REQ((t) != NULL);
			REQ((ti) < (t->nsubs));
			REQ((t->subs[ti].conn) == (c));
			REQ_EQ(t->subs[ti].conn_idx, j);
		}
		conn_subs += c->nsubs;
	}
	subs_foreach(walk_collect, &w);
	REQ_EQ(w.n, subs_ntopics());
	REQ_EQ(w.subs, subs_nsubscriptions());
	REQ_EQ(conn_subs, subs_nsubscriptions());
	for (i = 0; i < w.n; i++) {
		struct topic *t = w.seen[i];

		REQ((t->nsubs) > (0));
		REQ(t->nsubs <= t->cap);
		REQ((subs_find(&t->key)) == (t));
		for (j = 0; j < t->nsubs; j++) {
			struct conn *c = t->subs[j].conn;
			uint32_t ci = t->subs[j].conn_idx;

			REQ((ci) < (c->nsubs));
			REQ((c->subs[ci].topic) == (t));
			REQ_EQ(c->subs[ci].topic_idx, j);
		}
	}
	free(w.seen);
}

/* ---- basics ------------------------------------------------------------- */

START_TEST(test_add_holds_remove)
{
	struct conn		*a = &conns_[0], *b = &conns_[1];
	struct topic_key	 k1 = key_n(1), k2 = key_n(2);
	struct topic		*t;

	REQ((subs_find(&k1)) == NULL);
	REQ_EQ(subs_holds(a, &k1), 0);
	REQ_EQ(subs_add(a, &k1), 1);
	REQ_EQ(subs_holds(a, &k1), 1);
	REQ_EQ(subs_holds(b, &k1), 0);
	REQ_EQ(subs_holds(a, &k2), 0);
	t = subs_find(&k1);
	REQ((t) != NULL);
	REQ(memcmp(&t->key, &k1, sizeof k1) == 0);
	REQ_EQ(t->nsubs, 1);
	REQ_EQ(a->nsubs, 1);
	REQ_EQ(subs_ntopics(), 1);
	REQ_EQ(subs_nsubscriptions(), 1);
	/* Idempotent add. */
	REQ_EQ(subs_add(a, &k1), 0);
	REQ_EQ(subs_add(a, &k1), 0);
	REQ_EQ(t->nsubs, 1);
	REQ_EQ(a->nsubs, 1);
	REQ_EQ(subs_nsubscriptions(), 1);
	/* A second connection on the same topic, and a second topic. */
	REQ_EQ(subs_add(b, &k1), 1);
	REQ_EQ(subs_add(b, &k2), 1);
	REQ((subs_find(&k1)) == (t));
	REQ_EQ(t->nsubs, 2);
	REQ_EQ(subs_ntopics(), 2);
	REQ_EQ(subs_nsubscriptions(), 3);
	assert_registry_consistent(conns_, 2);
	/* Remove, then remove again: the second is a no-op. */
	REQ_EQ(subs_remove(a, &k1), 1);
	REQ_EQ(subs_holds(a, &k1), 0);
	REQ_EQ(subs_holds(b, &k1), 1);
	REQ_EQ(subs_remove(a, &k1), 0);
	REQ_EQ(subs_nsubscriptions(), 2);
	REQ_EQ(a->nsubs, 0);
	assert_registry_consistent(conns_, 2);
	/* Re-adding after removal works. */
	REQ_EQ(subs_add(a, &k1), 1);
	REQ_EQ(subs_holds(a, &k1), 1);
	assert_registry_consistent(conns_, 2);
}
END_TEST

START_TEST(test_remove_not_held)
{
	struct conn		*a = &conns_[0], *b = &conns_[1];
	struct topic_key	 k1 = key_n(1), k9 = key_n(9);

	/* A topic that does not exist at all. */
	REQ_EQ(subs_remove(a, &k9), 0);
	REQ_EQ(subs_ntopics(), 0);
	/* A topic that exists but is held by someone else. */
	REQ_EQ(subs_add(b, &k1), 1);
	REQ_EQ(subs_remove(a, &k1), 0);
	REQ_EQ(subs_holds(b, &k1), 1);
	REQ((subs_find(&k1)) != NULL);
	REQ_EQ(subs_ntopics(), 1);
	REQ_EQ(subs_nsubscriptions(), 1);
	REQ_EQ(a->nsubs, 0);
	/* When the remover holds many topics and the topic has one sub, and
	 * the other way round (both scan directions). */
	{
		struct topic_key	k100 = key_n(100);
		uint32_t		i;

		/* a holds 50 topics, k1 has one subscriber (b). */
		for (i = 100; i < 150; i++) {
			struct topic_key k = key_n(i);

			REQ_EQ(subs_add(a, &k), 1);
		}
		REQ_EQ(subs_remove(a, &k1), 0);
		REQ_EQ(subs_holds(a, &k1), 0);
		/* Topic 100 gets 59 subscribers; b holds only k1. */
		for (i = 2; i < 60; i++)
			REQ_EQ(subs_add(&conns_[i], &k100), 1);
		REQ_EQ(subs_find(&k100)->nsubs, 59);
		REQ_EQ(subs_holds(b, &k100), 0);
		REQ_EQ(subs_remove(b, &k100), 0);
		REQ_EQ(subs_find(&k100)->nsubs, 59);
		REQ_EQ(b->nsubs, 1);
	}
	assert_registry_consistent(conns_, 60);
}
END_TEST

START_TEST(test_topic_freed_with_last_subscriber)
{
	struct topic_key	k = key_n(7);
	size_t			i;

	for (i = 0; i < 5; i++)
		REQ_EQ(subs_add(&conns_[i], &k), 1);
	REQ_EQ(subs_ntopics(), 1);
	for (i = 0; i < 5; i++) {
		REQ((subs_find(&k)) != NULL);
		REQ_EQ(subs_find(&k)->nsubs, 5 - i);
		REQ_EQ(subs_remove(&conns_[(i * 3) % 5], &k), 1);
		assert_registry_consistent(conns_, 5);
	}
	REQ((subs_find(&k)) == NULL);
	REQ_EQ(subs_ntopics(), 0);
	REQ_EQ(subs_nsubscriptions(), 0);
	for (i = 0; i < 5; i++)
		REQ_EQ(subs_holds(&conns_[i], &k), 0);
	/* The topic comes back fresh on the next subscribe. */
	REQ_EQ(subs_add(&conns_[3], &k), 1);
	REQ_EQ(subs_find(&k)->nsubs, 1);
	REQ((subs_find(&k)->subs[0].conn) == (&conns_[3]));
	REQ_EQ(subs_ntopics(), 1);
}
END_TEST

START_TEST(test_counts)
{
	size_t		i, j, want_subs = 0;
	struct topic_key k;

	/* Connection i holds topics 0..i: topic j has 10-j subscribers. */
	for (i = 0; i < 10; i++)
		for (j = 0; j <= i; j++) {
			k = key_n((uint32_t)j);
			REQ_EQ(subs_add(&conns_[i], &k), 1);
			want_subs++;
			REQ_EQ(subs_nsubscriptions(), want_subs);
		}
	REQ_EQ(subs_ntopics(), 10);
	for (j = 0; j < 10; j++) {
		k = key_n((uint32_t)j);
		REQ_EQ(subs_find(&k)->nsubs, 10 - j);
	}
	for (i = 0; i < 10; i++)
		REQ_EQ(conns_[i].nsubs, i + 1);
	assert_registry_consistent(conns_, 10);
}
END_TEST

START_TEST(test_remove_all)
{
	struct conn		*a = &conns_[0], *b = &conns_[1];
	struct topic_key	 k;
	uint32_t		 i;

	for (i = 0; i < 200; i++) {
		k = key_n(i);
		REQ_EQ(subs_add(a, &k), 1);
		if (i % 4 == 0)
			REQ_EQ(subs_add(b, &k), 1);
	}
	REQ_EQ(subs_ntopics(), 200);
	REQ_EQ(subs_nsubscriptions(), 250);
	subs_remove_all(a);
	REQ_EQ(a->nsubs, 0);
	REQ((a->subs) == NULL);
	REQ_EQ(a->subs_cap, 0);
	/* Shared topics stay with b, the others are gone. */
	REQ_EQ(subs_ntopics(), 50);
	REQ_EQ(subs_nsubscriptions(), 50);
	for (i = 0; i < 200; i++) {
		k = key_n(i);
		REQ_EQ(subs_holds(a, &k), 0);
		if (i % 4 == 0) {
			REQ((subs_find(&k)) != NULL);
			REQ_EQ(subs_find(&k)->nsubs, 1);
			REQ_EQ(subs_holds(b, &k), 1);
		} else
			REQ((subs_find(&k)) == NULL);
	}
	assert_registry_consistent(conns_, 2);
	/* remove_all on an empty connection, twice. */
	subs_remove_all(a);
	subs_remove_all(a);
	REQ_EQ(subs_ntopics(), 50);
	/* The connection can subscribe again afterwards. */
	k = key_n(1);
	REQ_EQ(subs_add(a, &k), 1);
	k = key_n(0);
	REQ_EQ(subs_add(a, &k), 1);
	REQ_EQ(subs_find(&k)->nsubs, 2);
	assert_registry_consistent(conns_, 2);
	subs_remove_all(b);
	REQ_EQ(subs_ntopics(), 2);
	REQ_EQ(subs_nsubscriptions(), 2);
	assert_registry_consistent(conns_, 2);
}
END_TEST

START_TEST(test_swap_remove_integrity)
{
	const size_t	nc = 20;
	uint32_t	i, c, round;
	struct topic_key k;

	rng_state = 0xc0ffee;
	/* Dense: every connection on most of 300 topics. */
	for (c = 0; c < nc; c++)
		for (i = 0; i < 300; i++)
			if (rng_next() % 4 != 0) {
				k = key_n(i);
				REQ_EQ(subs_add(&conns_[c], &k), 1);
			}
	assert_registry_consistent(conns_, nc);
	/* Random removals, checking both directions after each batch. */
	for (round = 0; round < 60; round++) {
		for (i = 0; i < 50; i++) {
			c = (uint32_t)(rng_next() % nc);
			k = key_n((uint32_t)(rng_next() % 300));
			(void)subs_remove(&conns_[c], &k);
		}
		assert_registry_consistent(conns_, nc);
		/* Removing a connection's first, middle and last entries. */
		c = (uint32_t)(rng_next() % nc);
		if (conns_[c].nsubs >= 3) {
			struct topic *first = conns_[c].subs[0].topic;
			struct topic *mid = conns_[c].subs[conns_[c].nsubs / 2].topic;
			struct topic *last = conns_[c].subs[conns_[c].nsubs - 1].topic;
			struct topic_key kf = first->key, km = mid->key,
			    kl = last->key;

			REQ_EQ(subs_remove(&conns_[c], &km), 1);
			REQ_EQ(subs_remove(&conns_[c], &kl), 1);
			REQ_EQ(subs_remove(&conns_[c], &kf), 1);
			REQ_EQ(subs_holds(&conns_[c], &kf), 0);
			REQ_EQ(subs_holds(&conns_[c], &km), 0);
			REQ_EQ(subs_holds(&conns_[c], &kl), 0);
			assert_registry_consistent(conns_, nc);
		}
	}
}
END_TEST

/* ---- the hash table ----------------------------------------------------------- */

START_TEST(test_table_growth)
{
	const uint32_t	 n = 5000;
	struct conn	*a = &conns_[0];
	uint8_t		*held;
	uint32_t	 i, j;
	struct topic_key k;

	held = calloc(n, 1);
	REQ((held) != NULL);
	/* Past 1024 slots several times; every key findable after each
	 * doubling boundary. */
	for (i = 0; i < n; i++) {
		k = key_n(i * 2654435761u);
		REQ_EQ(subs_add(a, &k), 1);
		held[i] = 1;
		if (i == 511 || i == 512 || i == 513 || i == 1024 ||
		    i == 1025 || i == 2048 || i == 4096)
			for (j = 0; j <= i; j++) {
				k = key_n(j * 2654435761u);
				REQ((subs_find(&k)) != NULL);
			}
	}
	REQ_EQ(subs_ntopics(), n);
	assert_registry_consistent(conns_, 1);
	/* Remove a random half; the rest stay findable, the removed do not. */
	rng_state = 99;
	for (i = 0; i < n; i++)
		if (rng_next() & 1) {
			k = key_n(i * 2654435761u);
			REQ_EQ(subs_remove(a, &k), 1);
			held[i] = 0;
		}
	for (i = 0; i < n; i++) {
		k = key_n(i * 2654435761u);
		REQ_EQ(subs_find(&k) != NULL, held[i]);
		REQ_EQ(subs_holds(a, &k), held[i]);
	}
	assert_registry_consistent(conns_, 1);
	/* Random keys (no shared bytes), added and removed in bulk. */
	for (i = 0; i < 3000; i++) {
		k = key_random();
		REQ_EQ(subs_add(&conns_[1], &k), 1);
	}
	assert_registry_consistent(conns_, 2);
	subs_remove_all(&conns_[1]);
	for (i = 0; i < n; i++) {
		k = key_n(i * 2654435761u);
		REQ_EQ(subs_find(&k) != NULL, held[i]);
	}
	assert_registry_consistent(conns_, 2);
	free(held);
}
END_TEST

/* The table's own hash of k, read back from a probe subscription. */
static uint32_t
table_hash(const struct topic_key *k)
{
	struct conn	 probe;
	struct topic	*t;
	uint32_t	 h;

	memset(&probe, 0, sizeof probe);
	REQ_EQ(subs_add(&probe, k), 1);
	t = subs_find(k);
	REQ((t) != NULL);
	h = t->hash;
	subs_remove_all(&probe);
	return h;
}

START_TEST(test_backward_shift_collisions)
{
	/* The first table has 1024 slots; keys are picked by their home slot
	 * (hash & 1023) so that runs collide, chain into each other and wrap
	 * around the end of the table. Deletions in random order must keep
	 * every remaining key findable. */
	enum { NKEYS = 400 };
	static const uint32_t	 homes[] = { 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 6, 6,
	    7, 9, 1020, 1020, 1020, 1020, 1020, 1021, 1022, 1023, 1023, 1023,
	    0, 0, 1, 2, 500, 500, 500, 501, 503, 503 };
	struct topic_key	*keys;
	uint8_t			*held;
	size_t			 nkeys = 0, i, want, tries, round;
	struct conn		*a = &conns_[0];

	keys = calloc(NKEYS, sizeof *keys);
	held = calloc(NKEYS, 1);
	REQ((keys) != NULL);
	REQ((held) != NULL);
	rng_state = 2024;
	for (want = 0; want < sizeof homes / sizeof homes[0]; want++) {
		for (tries = 0; tries < 1000000; tries++) {
			struct topic_key k = key_random();

			if ((table_hash(&k) & 1023) == homes[want]) {
				keys[nkeys++] = k;
				break;
			}
		}
		REQ_MSG(tries < 1000000, "no key for home %u",
		    homes[want]);
	}
	/* Filler keys with any home, keeping the load under one half. */
	while (nkeys < NKEYS)
		keys[nkeys++] = key_random();
	for (round = 0; round < 20; round++) {
		for (i = 0; i < nkeys; i++) {
			REQ_EQ(subs_add(a, &keys[i]), 1);
			held[i] = 1;
		}
		/* Remove in random order, verifying all keys each time for the
		 * collision set, and sampling the fillers. */
		for (i = 0; i < nkeys; i++) {
			size_t victim = (size_t)(rng_next() % nkeys), j;

			if (!held[victim])
				continue;
			REQ_EQ(subs_remove(a, &keys[victim]), 1);
			held[victim] = 0;
			for (j = 0; j < nkeys; j++)
				REQ_MSG((subs_find(&keys[j]) != NULL) ==
				    held[j], "round %zu: key %zu %s after "
				    "removing %zu", round, j, held[j] ?
				    "lost" : "still found", victim);
		}
		subs_remove_all(a);
		for (i = 0; i < nkeys; i++) {
			held[i] = 0;
			REQ((subs_find(&keys[i])) == NULL);
		}
		REQ_EQ(subs_ntopics(), 0);
	}
	free(keys);
	free(held);
}
END_TEST

/* ---- hash flooding -------------------------------------------------------- */

/* SipHash-1-3 of the reference vectors (key 00..0f, message 00..len-1), as
 * published with the Swift and Rust standard libraries. */
START_TEST(test_siphash13_vectors)
{
	static const struct {
		size_t		len;
		uint64_t	want;
	} v[] = {
		{ 0, 0xabac0158050fc4dcULL }, { 1, 0xc9f49bf37d57ca93ULL },
		{ 7, 0xd3927d989bb11140ULL }, { 8, 0x369095118d299a8eULL },
		{ 9, 0x25a48eb36c063de4ULL }, { 15, 0xd320d86d2a519956ULL },
		{ 16, 0xcc4fdd1a7d908b66ULL }, { 17, 0x9cf2689063dbd80cULL },
		{ 63, 0x9d199062b7bbb3a8ULL },
	};
	uint8_t	key[16], msg[64];
	size_t	i;

	for (i = 0; i < sizeof key; i++)
		key[i] = (uint8_t)i;
	for (i = 0; i < sizeof msg; i++)
		msg[i] = (uint8_t)i;
	for (i = 0; i < sizeof v / sizeof v[0]; i++)
		REQ_MSG(siphash13(key, msg, v[i].len) == v[i].want,
		    "length %zu: %016llx", v[i].len,
		    (unsigned long long)siphash13(key, msg, v[i].len));
}
END_TEST

#define FLOOD_KEYS	1000
#define FNV_PRIME	16777619u

/* The registry's former hash: 32-bit FNV-1a over family and UUID. */
static uint32_t
fnv1a_after(const struct topic_key *k, int nbytes)
{
	const uint8_t	*p = (const uint8_t *)k;
	uint32_t	 h = 2166136261u;
	int		 i;

	for (i = 0; i < nbytes; i++)
		h = (h ^ p[i]) * FNV_PRIME;
	return h;
}

/* A random key whose FNV-1a hash ends in the 16 bits low: the last two
 * bytes are solved for (FNV-1a's last steps invert), so every such key
 * shares one home slot in any table of up to 65,536 slots. */
static struct topic_key
key_fnv_colliding(uint16_t low)
{
	uint32_t	inv = FNV_PRIME, h14, h15, want;
	struct topic_key k;
	int		i, b;

	for (i = 0; i < 5; i++)
		inv *= 2 - FNV_PRIME * inv;	/* Newton: FNV_PRIME^-1 mod 2^32 */
	want = (uint32_t)low * inv & 0xffff;	/* (h15 ^ last) mod 2^16 */
	for (;;) {
		k = key_random();
		h14 = fnv1a_after(&k, 15);
		for (b = 0; b < 256; b++) {
			h15 = (h14 ^ (uint32_t)b) * FNV_PRIME;
			if (((h15 ^ want) & 0xff00) == 0)
				break;
		}
		if (b == 256)
			continue;
		k.uuid[14] = (uint8_t)b;
		k.uuid[15] = (uint8_t)((h15 ^ want) & 0xff);
		REQ_EQ(fnv1a_after(&k, 17) & 0xffff, low);
		return k;
	}
}

/* A random key whose SipHash-1-3 under key ends in the 11 bits low: one
 * home slot in every table the flood test's topics pass through. */
static struct topic_key
key_sip_colliding(const uint8_t key[16], uint32_t low)
{
	struct topic_key	k;

	do
		k = key_random();
	while ((siphash13(key, &k, sizeof k) & 2047) != low);
	return k;
}

/* Table probes for the life of keys[0..n): one connection subscribes to
 * each, every key is looked up, then the connection leaves. */
static unsigned long long
lifecycle_probes(const struct topic_key *keys, size_t n)
{
	unsigned long long	before = subs_probes();
	size_t			i;

	for (i = 0; i < n; i++)
		REQ_EQ(subs_add(&conns_[0], &keys[i]), 1);
	for (i = 0; i < n; i++)
		REQ(subs_find(&keys[i]) != NULL);
	assert_registry_consistent(conns_, 1);
	subs_remove_all(&conns_[0]);
	REQ_EQ(subs_ntopics(), 0);
	return subs_probes() - before;
}

/* Topics chosen to collide cost about what random ones cost, whether they
 * were made for the former unkeyed hash or for a key the attacker knows
 * (the table rehashes under a fresh key once a probe run grows too long).
 * The measure is the table's own probe count, not time: under a colliding
 * flood an unprotected table pays about n²/2 probes (500,000 here) where
 * random topics cost a few per operation. */
START_TEST(test_colliding_topics_cost_as_random)
{
	static const uint8_t	 fixed[16] = "crmpubsub-test-k";
	struct topic_key	*keys;
	unsigned long long	 random_cost, fnv_cost, known_cost;
	size_t			 i;

	keys = calloc(FLOOD_KEYS, sizeof *keys);
	REQ(keys != NULL);
	rng_state = 0xf100d;
	for (i = 0; i < FLOOD_KEYS; i++)
		keys[i] = key_random();
	random_cost = lifecycle_probes(keys, FLOOD_KEYS);

	for (i = 0; i < FLOOD_KEYS; i++)
		keys[i] = key_fnv_colliding(0x2a5);
	fnv_cost = lifecycle_probes(keys, FLOOD_KEYS);

	subs_set_hash_key(fixed);
	for (i = 0; i < FLOOD_KEYS; i++)
		keys[i] = key_sip_colliding(fixed, 0x2a5);
	known_cost = lifecycle_probes(keys, FLOOD_KEYS);

	fprintf(stderr, "unit_subs: probes for %d topics: random %llu, "
	    "colliding under FNV-1a %llu, colliding under a known key %llu\n",
	    FLOOD_KEYS, random_cost, fnv_cost, known_cost);
	REQ_MSG(fnv_cost <= 3 * random_cost, "FNV-1a collisions cost %llu "
	    "probes, random topics %llu", fnv_cost, random_cost);
	REQ_MSG(known_cost <= 3 * random_cost, "collisions under a known key "
	    "cost %llu probes, random topics %llu", known_cost, random_cost);
	free(keys);
}
END_TEST

/* ---- randomized model ---------------------------------------------------------- */

#define MODEL_CONNS	50
#define MODEL_TOPICS	500

static uint8_t	model[MODEL_CONNS][MODEL_TOPICS];
static uint32_t	model_col[MODEL_TOPICS];	/* column sums of model */

/* Sets model[c][t], keeping the column sum. */
static void
model_set(size_t c, size_t t, uint8_t v)
{
	model_col[t] += (uint32_t)v - model[c][t];
	model[c][t] = v;
}

/* Compares the registry with the boolean matrix, all of it. */
static void
assert_matches_model(size_t step)
{
	static uint8_t	row[MODEL_TOPICS];
	size_t		c, t, col, total = 0, topics = 0;
	uint32_t	j;

	for (c = 0; c < MODEL_CONNS; c++) {
		memset(row, 0, sizeof row);
		for (j = 0; j < conns_[c].nsubs; j++) {
			uint32_t n = key_number(&conns_[c].subs[j].topic->key);

			REQ((n) < (MODEL_TOPICS));
			REQ_MSG(row[n] == 0, "step %zu: conn %zu holds "
			    "topic %u twice", step, c, n);
			row[n] = 1;
		}
		REQ_MSG(memcmp(row, model[c], sizeof row) == 0,
		    "step %zu: conn %zu differs from the model", step, c);
		total += conns_[c].nsubs;
	}
	for (t = 0; t < MODEL_TOPICS; t++) {
		struct topic_key k = key_n((uint32_t)t);
		struct topic *tp = subs_find(&k);

		col = model_col[t];
		if (col == 0)
			REQ_MSG(tp == NULL, "step %zu: topic %zu lives "
			    "with no subscriber", step, t);
		else {
			REQ_MSG(tp != NULL, "step %zu: topic %zu lost",
			    step, t);
			REQ_EQ(tp->nsubs, col);
			topics++;
		}
	}
	REQ_EQ(subs_ntopics(), topics);
	REQ_EQ(subs_nsubscriptions(), total);
}

START_TEST(test_random_model)
{
	size_t		step, c, t;
	int		r;
	struct topic_key k;

	memset(model, 0, sizeof model);
	memset(model_col, 0, sizeof model_col);
	rng_state = 0x5eed0001ULL + (uint64_t)_i;
	for (step = 0; step < 10000; step++) {
		uint64_t op = rng_next() % 1000;

		/* Skewed towards low topic numbers, so that topics gather
		 * many subscribers and removals mostly hit held pairs. */
		c = (size_t)(rng_next() % MODEL_CONNS);
		t = (size_t)(rng_next() % (1 + rng_next() % MODEL_TOPICS));
		k = key_n((uint32_t)t);
		if (op < 520) {
			r = subs_add(&conns_[c], &k);
			REQ_EQ(r, model[c][t] ? 0 : 1);
			model_set(c, t, 1);
		} else if (op < 995) {
			r = subs_remove(&conns_[c], &k);
			REQ_EQ(r, model[c][t] ? 1 : 0);
			model_set(c, t, 0);
		} else {
			subs_remove_all(&conns_[c]);
			for (t = 0; t < MODEL_TOPICS; t++)
				model_set(c, t, 0);
			t = (size_t)key_number(&k);
		}
		REQ_EQ(subs_holds(&conns_[c], &k), model[c][t]);
		assert_matches_model(step);
		if (step % 200 == 0)
			assert_registry_consistent(conns_, MODEL_CONNS);
	}
	assert_registry_consistent(conns_, MODEL_CONNS);
}
END_TEST

/* ---- subs_foreach ------------------------------------------------------------- */

static int
cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)*(void *const *)a, y = (uintptr_t)*(void *const *)b;

	return x < y ? -1 : x > y;
}

START_TEST(test_foreach_once)
{
	struct walk		 w = { NULL, 0, 0, 0, 0 };
	struct topic_key	 k;
	uint32_t		 i;
	size_t			 j;

	subs_foreach(walk_collect, &w);
	REQ_EQ(w.n, 0);
	for (i = 0; i < 3000; i++) {
		k = key_n(i);
		REQ_EQ(subs_add(&conns_[i % 7], &k), 1);
		if (i % 3 == 0)
			REQ_EQ(subs_add(&conns_[7 + i % 5], &k), 1);
	}
	subs_foreach(walk_collect, &w);
	REQ_EQ(w.n, 3000);
	REQ_EQ(w.n, subs_ntopics());
	REQ_EQ(w.subs, subs_nsubscriptions());
	qsort(w.seen, w.n, sizeof *w.seen, cmp_ptr);
	for (j = 1; j < w.n; j++)
		REQ((w.seen[j - 1]) != (w.seen[j]));
	for (j = 0; j < w.n; j++) {
		REQ((subs_find(&w.seen[j]->key)) == (w.seen[j]));
		REQ((key_number(&w.seen[j]->key)) < (3000));
	}
	/* Early stop: the callback's non-zero return ends the walk. */
	w.n = w.subs = 0;
	w.stop_after = 5;
	subs_foreach(walk_collect, &w);
	REQ_EQ(w.n, 5);
	free(w.seen);
}
END_TEST

/* ---- key-ordered paging ------------------------------------------------------ */

static int
cmp_key(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct topic_key));
}

/* Pages through the registry limit topics at a time, checking each page is
 * in ascending order after the cursor; returns the number of topics seen
 * and stores their keys in seen (room for cap). */
static size_t
page_all(size_t limit, struct topic_key *seen, size_t cap)
{
	struct topic		**out = calloc(limit + 1, sizeof *out);
	struct topic_key	  after;
	size_t			  n, i, total = 0;
	int			  more = 1, first = 1;

	REQ(out != NULL);
	while (more) {
		n = subs_page(first ? NULL : &after, limit, out, &more);
		REQ_MSG(n == limit || !more, "short page of %zu with more", n);
		for (i = 0; i < n; i++) {
			REQ(first && i == 0 ? 1 :
			    cmp_key(&out[i]->key, &after) > 0);
			after = out[i]->key;
			first = 0;
			REQ(total < cap);
			seen[total++] = out[i]->key;
		}
		if (n == 0)
			break;
	}
	free(out);
	return total;
}

START_TEST(test_page_in_key_order)
{
	static const size_t	 limits[] = { 1, 7, 999, 1000, 5000 };
	enum { N = 3000 };
	struct topic_key	*keys, *seen, missing;
	struct topic		*one[1];
	size_t			 i, j;
	int			 more;

	keys = calloc(N, sizeof *keys);
	seen = calloc(N, sizeof *seen);
	REQ(keys != NULL && seen != NULL);
	REQ_EQ(subs_page(NULL, 10, one, &more), 0);
	REQ_EQ(more, 0);
	rng_state = 77;
	for (i = 0; i < N; i++) {
		keys[i] = key_random();
		REQ_EQ(subs_add(&conns_[i % 3], &keys[i]), 1);
	}
	qsort(keys, N, sizeof *keys, cmp_key);
	for (j = 0; j < sizeof limits / sizeof limits[0]; j++) {
		memset(seen, 0, N * sizeof *seen);
		REQ_EQ(page_all(limits[j], seen, N), N);
		REQ_MSG(memcmp(seen, keys, N * sizeof *keys) == 0,
		    "limit %zu: pages differ from the sorted keys", limits[j]);
	}
	/* limit 0 lists nothing but says more follow; a cursor between two
	 * keys (held by nobody) starts at the next one. */
	REQ_EQ(subs_page(NULL, 0, one, &more), 0);
	REQ_EQ(more, 1);
	missing = keys[100];
	missing.uuid[15] ^= 1;
	REQ(subs_find(&missing) == NULL);
	REQ_EQ(subs_page(&missing, 1, one, &more), 1);
	REQ(cmp_key(&one[0]->key, &missing) > 0);
	REQ(cmp_key(&one[0]->key, &keys[cmp_key(&missing, &keys[100]) < 0 ?
	    100 : 101]) == 0);
	REQ_EQ(subs_page(&keys[N - 1], 5, one, &more), 0);
	REQ_EQ(more, 0);
	free(keys);
	free(seen);
}
END_TEST

/* Topics present throughout are listed exactly once while others come and
 * go between pages, the table grows and is rehashed under a new key. */
START_TEST(test_page_survives_churn)
{
	static const uint8_t	 k2[16] = "another-test-key";
	enum { N = 2000, LIMIT = 150 };
	struct topic_key	*keys, after, extra;
	struct topic		*out[LIMIT];
	uint8_t			*count;
	size_t			 i, n, pages = 0, total = 0;
	int			 more = 1, first = 1;

	keys = calloc(N, sizeof *keys);
	count = calloc(N, 1);
	REQ(keys != NULL && count != NULL);
	rng_state = 4242;
	for (i = 0; i < N; i++) {
		keys[i] = key_random();
		REQ_EQ(subs_add(&conns_[0], &keys[i]), 1);
	}
	qsort(keys, N, sizeof *keys, cmp_key);
	while (more) {
		n = subs_page(first ? NULL : &after, LIMIT, out, &more);
		for (i = 0; i < n; i++) {
			struct topic_key *k = bsearch(&out[i]->key, keys, N,
			    sizeof *keys, cmp_key);

			if (k != NULL)
				count[k - keys]++;
			after = out[i]->key;
			first = 0;
		}
		total += n;
		/* Between pages: 700 newcomers (the table doubles on some
		 * pages), the previous page's newcomers leave, a rehash. */
		subs_remove_all(&conns_[1]);
		for (i = 0; i < 700; i++) {
			extra = key_random();
			REQ(subs_add(&conns_[1], &extra) >= 0);
		}
		if (++pages % 3 == 0)
			subs_set_hash_key(k2);
		REQ(pages < 1000);
	}
	for (i = 0; i < N; i++)
		REQ_MSG(count[i] == 1, "topic %zu listed %u times", i, count[i]);
	REQ(total >= N);
	free(keys);
	free(count);
}
END_TEST

/* A test case with the suite's 10 s timeout and a fresh registry per test. */
static TCase *
fresh_tcase(const char *name)
{
	TCase	*tc = tcase_create(name);

	tcase_set_timeout(tc, 10);
	tcase_add_checked_fixture(tc, setup, teardown);
	return tc;
}

static Suite *
subs_suite(void)
{
	Suite	*s = suite_create("unit_subs");
	TCase	*tc;

	tc = fresh_tcase("registry");
	tcase_add_test(tc, test_add_holds_remove);
	tcase_add_test(tc, test_remove_not_held);
	tcase_add_test(tc, test_topic_freed_with_last_subscriber);
	tcase_add_test(tc, test_counts);
	tcase_add_test(tc, test_remove_all);
	tcase_add_test(tc, test_swap_remove_integrity);
	tcase_add_test(tc, test_foreach_once);
	suite_add_tcase(s, tc);

	tc = fresh_tcase("table");
	tcase_add_test(tc, test_table_growth);
	tcase_add_test(tc, test_backward_shift_collisions);
	tcase_add_test(tc, test_siphash13_vectors);
	tcase_add_test(tc, test_colliding_topics_cost_as_random);
	suite_add_tcase(s, tc);

	tc = fresh_tcase("paging");
	tcase_add_test(tc, test_page_in_key_order);
	tcase_add_test(tc, test_page_survives_churn);
	suite_add_tcase(s, tc);

	tc = fresh_tcase("model");
	tcase_add_loop_test(tc, test_random_model, 0, 3);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(subs_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
