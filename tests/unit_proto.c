/* SPDX-License-Identifier: MIT — crmpubsub */
/* Unit suite for proto/: UUID and topic canonical forms, events, the
 * involved-contacts rule, push and reply encoding, buffers, error names and
 * socket path resolution. */

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <check.h>
#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <uuid.h>

#include "buf.h"
#include "event.h"
#include "involved.h"
#include "proto_error.h"
#include "push.h"
#include "reply.h"
#include "sockpath.h"
#include "topic.h"
#include "uuid_canon.h"

/* Assertions for hot loops: check's ck_assert_* report every passing check
 * to the parent process (a syscall each), which hundreds of thousands of
 * checks cannot afford; these only call into check when they fail. */
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

#define U1	"0190a5b2-7c1e-7a01-8f00-000000000001"
#define U2	"0190a5b2-7c1e-7a01-8f00-000000000002"
#define U3	"0190a5b2-7c1e-7a01-8f00-000000000003"
#define UA	"0190a5b2-7c1e-7a01-8f00-0000000000aa"
#define UMIX	"0190A5b2-7C1e-7a01-8F00-0000000000aB"
#define TOPIC(u)	"crm:contact:" u ":interactions"

/* ---- helpers --------------------------------------------------------------- */

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

/* Fills u with pseudo-random bytes. */
static void
rng_uuid(uint8_t u[16])
{
	uint64_t a = rng_next(), b = rng_next();

	memcpy(u, &a, 8);
	memcpy(u + 8, &b, 8);
}

/* A v7-looking UUID: shared leading bytes, counter in the tail. */
static void
seq_uuid(uint8_t u[16], uint32_t n)
{
	static const uint8_t head[12] = { 0x01, 0x90, 0xa5, 0xb2, 0x7c, 0x1e,
	    0x7a, 0x01, 0x8f, 0x00, 0x00, 0x00 };

	memcpy(u, head, 12);
	u[12] = (uint8_t)(n >> 24);
	u[13] = (uint8_t)(n >> 16);
	u[14] = (uint8_t)(n >> 8);
	u[15] = (uint8_t)n;
}

/* The lowercase copy of s. */
static void
lower_copy(const char *s, char *out)
{
	while (*s != '\0')
		*out++ = (char)tolower((unsigned char)*s++);
	*out = '\0';
}

/* Asserts that s parses and formats back as its lowercase form. */
static void
assert_uuid_roundtrip(const char *s)
{
	uint8_t	u[16], again[16];
	char	out[UUID_TEXT_LEN + 1], want[UUID_TEXT_LEN + 1];

	ck_assert_uint_eq(strlen(s), UUID_TEXT_LEN);
	ck_assert_msg(uuid_canon_parse(s, strlen(s), u) == 0,
	    "'%s' should parse", s);
	ck_assert_int_eq(uuid_parse(s, again), 0);
	ck_assert_mem_eq(u, again, 16);
	uuid_canon_format(u, out);
	lower_copy(s, want);
	ck_assert_str_eq(out, want);
}

/* Asserts that len bytes at s are not a UUID. */
static void
assert_uuid_rejected(const char *s, size_t len)
{
	uint8_t	u[16];

	ck_assert_msg(uuid_canon_parse(s, len, u) == -1,
	    "'%.*s' (len %zu) should be rejected", (int)len, s, len);
}

/* Parses a JSON text the test wrote; fails the test if it is not JSON. */
static json_t *
js(const char *text)
{
	json_error_t	 err;
	json_t		*v = json_loads(text, JSON_DECODE_ANY, &err);

	ck_assert_msg(v != NULL, "test JSON '%s': %s", text, err.text);
	return v;
}

/* Joins the canonical text of a list as "a,b,c" into out. */
static const char *
list_text(const struct uuid_list *l, char *out, size_t outlen)
{
	char	one[UUID_TEXT_LEN + 1];
	size_t	i, used = 0;

	out[0] = '\0';
	for (i = 0; i < l->n; i++) {
		uuid_canon_format(l->v[i], one);
		REQ(used + UUID_TEXT_LEN + 2 <= outlen);
		used += (size_t)snprintf(out + used, outlen - used, "%s%s",
		    i ? "," : "", one);
	}
	return out;
}

struct inv_result {
	int			rc;
	struct proto_fail	fail;
	uint8_t			iu[16];
	char			list[1100 * (UUID_TEXT_LEN + 1)];
	size_t			n;
};

/* Runs involved_from_interaction over a JSON text. */
static void
run_interaction(const char *text, size_t max, struct inv_result *r)
{
	json_t			*v = js(text);
	struct uuid_list	 l = UUID_LIST_INIT;

	memset(r, 0, sizeof *r);
	r->fail.code = PERR_COUNT;
	r->rc = involved_from_interaction(v, max, r->iu, &l, &r->fail);
	list_text(&l, r->list, sizeof r->list);
	r->n = l.n;
	uuid_list_free(&l);
	json_decref(v);
}

/* Runs involved_from_list over a JSON text. */
static void
run_list(const char *text, size_t max, struct inv_result *r)
{
	json_t			*v = js(text);
	struct uuid_list	 l = UUID_LIST_INIT;

	memset(r, 0, sizeof *r);
	r->fail.code = PERR_COUNT;
	r->rc = involved_from_list(v, max, &l, &r->fail);
	list_text(&l, r->list, sizeof r->list);
	r->n = l.n;
	uuid_list_free(&l);
	json_decref(v);
}

/* Asserts success with the given comma-joined canonical list. */
static void
assert_involved_ok(const struct inv_result *r, const char *want)
{
	ck_assert_msg(r->rc == 0, "expected success, got %s: %s",
	    r->fail.code < PERR_COUNT ? proto_error_name(r->fail.code) : "?",
	    r->fail.message);
	ck_assert_str_eq(r->list, want);
}

/* Asserts failure with code e and a non-empty message. */
static void
assert_involved_fails(const struct inv_result *r, enum proto_error e)
{
	ck_assert_msg(r->rc == -1, "expected %s, got success (%s)",
	    proto_error_name(e), r->list);
	ck_assert_msg(r->fail.code == e, "expected %s, got %s (%s)",
	    proto_error_name(e), proto_error_name(r->fail.code),
	    r->fail.message);
	ck_assert(r->fail.message[0] != '\0');
}

/* The buffer's queued bytes as a NUL-terminated copy (static storage). */
static const char *
buf_text(const struct buf *b)
{
	static char	*copy;

	free(copy);
	copy = malloc(buf_len(b) + 1);
	ck_assert_ptr_nonnull(copy);
	memcpy(copy, buf_head(b), buf_len(b));
	copy[buf_len(b)] = '\0';
	return copy;
}

/* Asserts the buffer holds exactly one '\n'-terminated JSON object line
 * without duplicate keys; returns the decoded object. */
static json_t *
assert_json_line(const struct buf *b)
{
	const char	*p = buf_head(b);
	size_t		 n = buf_len(b);
	json_error_t	 err;
	json_t		*v;

	ck_assert_uint_gt(n, 1);
	ck_assert_msg(p[n - 1] == '\n', "line does not end in \\n");
	ck_assert_msg(memchr(p, '\n', n - 1) == NULL, "more than one line");
	v = json_loadb(p, n - 1, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
	ck_assert_msg(v != NULL, "'%.*s' is not JSON: %s", (int)n - 1, p,
	    err.text);
	ck_assert(json_is_object(v));
	return v;
}

/* ---- UUIDs ----------------------------------------------------------------- */

START_TEST(test_uuid_case_roundtrip)
{
	char	upper[UUID_TEXT_LEN + 1], mixed[UUID_TEXT_LEN + 1];
	uint8_t	a[16], b[16], c[16];
	size_t	i;

	assert_uuid_roundtrip(UA);
	for (i = 0; i <= UUID_TEXT_LEN; i++)
		upper[i] = (char)toupper((unsigned char)UA[i]);
	assert_uuid_roundtrip(upper);
	assert_uuid_roundtrip(UMIX);
	ck_assert_int_eq(uuid_canon_parse(UA, UUID_TEXT_LEN, a), 0);
	ck_assert_int_eq(uuid_canon_parse(upper, UUID_TEXT_LEN, b), 0);
	strcpy(mixed, UA);
	for (i = 0; i < UUID_TEXT_LEN; i += 2)
		mixed[i] = (char)toupper((unsigned char)mixed[i]);
	ck_assert_int_eq(uuid_canon_parse(mixed, UUID_TEXT_LEN, c), 0);
	ck_assert_mem_eq(a, b, 16);
	ck_assert_mem_eq(a, c, 16);
}
END_TEST

START_TEST(test_uuid_random_roundtrip)
{
	uint8_t	u[16], back[16];
	char	text[UUID_TEXT_LEN + 1], canon[UUID_TEXT_LEN + 1];
	int	i, j;

	rng_state = 0x9e3779b97f4a7c15ULL;
	for (i = 0; i < 2000; i++) {
		rng_uuid(u);
		uuid_unparse_upper(u, text);
		for (j = 0; j < UUID_TEXT_LEN; j++)
			if (rng_next() & 1)
				text[j] = (char)tolower((unsigned char)text[j]);
		REQ_EQ(uuid_canon_parse(text, UUID_TEXT_LEN, back), 0);
		REQ(memcmp(u, back, 16) == 0);
		uuid_canon_format(back, canon);
		REQ_EQ(strlen(canon), UUID_TEXT_LEN);
		REQ_EQ(strcasecmp(canon, text), 0);
		/* Exactly what libuuid writes. */
		uuid_unparse_lower(u, text);
		REQ_EQ(strcmp(canon, text), 0);
	}
}
END_TEST

START_TEST(test_uuid_agrees_with_libuuid)
{
	/* The parser accepts exactly what uuid_parse(3) accepts: valid UUIDs
	 * with one to three bytes replaced from an alphabet of near misses. */
	static const char	 alphabet[] = "0123456789abcdefABCDEFgGxX-{} :"
	    "\x00\x7f\x80\xff";
	char			 text[UUID_TEXT_LEN + 1];
	uint8_t			 u[16], a[16], b[16];
	int			 i, j, nmut, ra, rb;
	unsigned		 accepted = 0;

	rng_state = 0xfeedfaceULL;
	for (i = 0; i < 200000; i++) {
		rng_uuid(u);
		if (rng_next() & 1)
			uuid_unparse_upper(u, text);
		else
			uuid_unparse_lower(u, text);
		nmut = (int)(rng_next() % 4);
		for (j = 0; j < nmut; j++)
			text[rng_next() % UUID_TEXT_LEN] =
			    alphabet[rng_next() % (sizeof alphabet - 1)];
		ra = uuid_canon_parse(text, UUID_TEXT_LEN, a);
		rb = uuid_parse(text, b) == 0 ? 0 : -1;
		REQ_MSG(ra == rb, "'%.36s': uuid_canon_parse %d, uuid_parse %d",
		    text, ra, rb);
		if (ra == 0) {
			REQ(memcmp(a, b, 16) == 0);
			accepted++;
		}
	}
	/* Both outcomes were exercised. */
	ck_assert_uint_gt(accepted, 1000);
	ck_assert_uint_lt(accepted, 199000);
}
END_TEST

START_TEST(test_uuid_not_nul_terminated)
{
	char	buf[64];
	uint8_t	u[16], want[16];

	/* A UUID followed by more text: only len bytes are looked at. */
	snprintf(buf, sizeof buf, "%s:interactions", U1);
	ck_assert_int_eq(uuid_canon_parse(buf, UUID_TEXT_LEN, u), 0);
	ck_assert_int_eq(uuid_parse(U1, want), 0);
	ck_assert_mem_eq(u, want, 16);
	/* ...but a length that takes in the extra text is rejected. */
	assert_uuid_rejected(buf, UUID_TEXT_LEN + 1);
	assert_uuid_rejected(buf, strlen(buf));
}
END_TEST

START_TEST(test_uuid_wrong_lengths)
{
	char	buf[80];
	size_t	len;

	for (len = 0; len < UUID_TEXT_LEN; len++)
		assert_uuid_rejected(U1, len);
	snprintf(buf, sizeof buf, "%s0", U1);
	assert_uuid_rejected(buf, strlen(buf));
	snprintf(buf, sizeof buf, "0%s", U1);
	assert_uuid_rejected(buf, strlen(buf));
	/* 36 bytes that are a UUID shifted by one. */
	assert_uuid_rejected(buf, UUID_TEXT_LEN);
	snprintf(buf, sizeof buf, "%s%s", U1, U2);
	assert_uuid_rejected(buf, strlen(buf));
	snprintf(buf, sizeof buf, " %s", U1);
	assert_uuid_rejected(buf, strlen(buf));
	snprintf(buf, sizeof buf, "%s\n", U1);
	assert_uuid_rejected(buf, strlen(buf));
}
END_TEST

START_TEST(test_uuid_braces_and_urn)
{
	char	buf[80];

	snprintf(buf, sizeof buf, "{%s}", U1);
	assert_uuid_rejected(buf, strlen(buf));
	/* Braces in place of the first and last digit keep the length. */
	strcpy(buf, U1);
	buf[0] = '{';
	buf[UUID_TEXT_LEN - 1] = '}';
	assert_uuid_rejected(buf, UUID_TEXT_LEN);
	snprintf(buf, sizeof buf, "urn:uuid:%s", U1);
	assert_uuid_rejected(buf, strlen(buf));
}
END_TEST

START_TEST(test_uuid_dashes)
{
	static const size_t	 dash[] = { 8, 13, 18, 23 };
	char			 buf[80];
	size_t			 i, j, o;

	/* 32 hex digits without dashes. */
	for (i = o = 0; U1[i] != '\0'; i++)
		if (U1[i] != '-')
			buf[o++] = U1[i];
	buf[o] = '\0';
	ck_assert_uint_eq(o, 32);
	assert_uuid_rejected(buf, o);
	/* Each dash replaced by a digit. */
	for (i = 0; i < 4; i++) {
		strcpy(buf, U1);
		buf[dash[i]] = '0';
		assert_uuid_rejected(buf, UUID_TEXT_LEN);
	}
	/* Each dash moved one place to the right. */
	for (i = 0; i < 4; i++) {
		strcpy(buf, U1);
		buf[dash[i]] = buf[dash[i] + 1];
		buf[dash[i] + 1] = '-';
		assert_uuid_rejected(buf, UUID_TEXT_LEN);
	}
	/* A dash in place of any digit. */
	for (i = 0; i < UUID_TEXT_LEN; i++) {
		int is_dash = 0;

		for (j = 0; j < 4; j++)
			is_dash |= i == dash[j];
		if (is_dash)
			continue;
		strcpy(buf, U1);
		buf[i] = '-';
		assert_uuid_rejected(buf, UUID_TEXT_LEN);
	}
}
END_TEST

START_TEST(test_uuid_non_hex)
{
	static const char	 bad[] = "gGxXzZ :_+.\x7f\x80\xff";
	char			 buf[UUID_TEXT_LEN + 1];
	size_t			 i, k;

	for (i = 0; i < UUID_TEXT_LEN; i++) {
		if (U1[i] == '-')
			continue;
		for (k = 0; k < sizeof bad - 1; k++) {
			strcpy(buf, U1);
			buf[i] = bad[k];
			assert_uuid_rejected(buf, UUID_TEXT_LEN);
		}
	}
}
END_TEST

START_TEST(test_uuid_embedded_nul)
{
	char	buf[UUID_TEXT_LEN + 1];
	size_t	i;

	for (i = 0; i < UUID_TEXT_LEN; i++) {
		memcpy(buf, U1, sizeof buf);
		buf[i] = '\0';
		assert_uuid_rejected(buf, UUID_TEXT_LEN);
	}
}
END_TEST

/* ---- uuid_list ------------------------------------------------------------- */

START_TEST(test_uuid_list_first_occurrence)
{
	struct uuid_list	 l = UUID_LIST_INIT;
	uint8_t			 a[16], b[16], c[16];

	seq_uuid(a, 1);
	seq_uuid(b, 2);
	seq_uuid(c, 3);
	ck_assert_int_eq(uuid_list_add(&l, b), 1);
	ck_assert_int_eq(uuid_list_add(&l, a), 1);
	ck_assert_int_eq(uuid_list_add(&l, b), 0);
	ck_assert_int_eq(uuid_list_add(&l, c), 1);
	ck_assert_int_eq(uuid_list_add(&l, a), 0);
	ck_assert_int_eq(uuid_list_add(&l, c), 0);
	ck_assert_uint_eq(l.n, 3);
	ck_assert_mem_eq(l.v[0], b, 16);
	ck_assert_mem_eq(l.v[1], a, 16);
	ck_assert_mem_eq(l.v[2], c, 16);
	uuid_list_free(&l);
	ck_assert_ptr_null(l.v);
	ck_assert_uint_eq(l.n, 0);
	/* A freed list is reusable. */
	ck_assert_int_eq(uuid_list_add(&l, c), 1);
	ck_assert_uint_eq(l.n, 1);
	uuid_list_free(&l);
}
END_TEST

/* Adds n sequential UUIDs, checking after each add that every earlier one is
 * a duplicate and that order is insertion order. */
static void
fill_and_check(struct uuid_list *l, uint32_t first, uint32_t n)
{
	uint8_t		u[16];
	uint32_t	i, j;

	for (i = 0; i < n; i++) {
		seq_uuid(u, first + i);
		REQ_MSG(uuid_list_add(l, u) == 1, "add #%u", i);
		REQ_EQ(l->n, i + 1);
		for (j = 0; j <= i; j++) {
			seq_uuid(u, first + j);
			REQ_MSG(uuid_list_add(l, u) == 0,
			    "#%u not a duplicate with %u entries", j, i + 1);
		}
		REQ_EQ(l->n, i + 1);
	}
	for (i = 0; i < n; i++) {
		seq_uuid(u, first + i);
		REQ(memcmp(l->v[i], u, 16) == 0);
	}
}

START_TEST(test_uuid_list_threshold)
{
	struct uuid_list	l = UUID_LIST_INIT;

	/* Crosses the scan/hash switch (16) and several index growths. */
	fill_and_check(&l, 100, 80);
	uuid_list_free(&l);
}
END_TEST

START_TEST(test_uuid_list_clear_reuse)
{
	struct uuid_list	 l = UUID_LIST_INIT;
	uint8_t			 u[16];
	uint32_t		 i;

	fill_and_check(&l, 0, 100);
	uuid_list_clear(&l);
	REQ_EQ(l.n, 0);
	/* Values held before the clear are new again, in any order, on
	 * either side of the scan/hash switch. */
	for (i = 0; i < 100; i++) {
		seq_uuid(u, 99 - i);
		REQ_MSG(uuid_list_add(&l, u) == 1,
		    "#%u counted as duplicate after clear", 99 - i);
	}
	for (i = 0; i < 100; i++) {
		seq_uuid(u, 99 - i);
		REQ(memcmp(l.v[i], u, 16) == 0);
		REQ_EQ(uuid_list_add(&l, u), 0);
	}
	REQ_EQ(l.n, 100);
	/* Clear from below the switch, then grow past it with new values. */
	uuid_list_clear(&l);
	fill_and_check(&l, 5000, 10);
	uuid_list_clear(&l);
	fill_and_check(&l, 7000, 40);
	/* Clear with a large list, refill with a smaller overlapping set. */
	uuid_list_clear(&l);
	fill_and_check(&l, 60, 30);
	uuid_list_free(&l);
}
END_TEST

START_TEST(test_uuid_list_10000)
{
	struct uuid_list	 l = UUID_LIST_INIT;
	uint8_t			 u[16];
	uint32_t		 i, k;

	rng_state = 42;
	for (i = 0; i < 10000; i++) {
		seq_uuid(u, i * 7919u);
		REQ_EQ(uuid_list_add(&l, u), 1);
		/* An earlier entry chosen at random is a duplicate. */
		k = (uint32_t)(rng_next() % (i + 1));
		seq_uuid(u, k * 7919u);
		REQ_EQ(uuid_list_add(&l, u), 0);
	}
	REQ_EQ(l.n, 10000);
	for (i = 0; i < 10000; i++) {
		seq_uuid(u, i * 7919u);
		REQ(memcmp(l.v[i], u, 16) == 0);
		REQ_EQ(uuid_list_add(&l, u), 0);
	}
	/* Random UUIDs (no shared prefix) against the same index. */
	uuid_list_clear(&l);
	rng_state = 7;
	for (i = 0; i < 10000; i++) {
		rng_uuid(u);
		REQ_EQ(uuid_list_add(&l, u), 1);
	}
	rng_state = 7;
	for (i = 0; i < 10000; i++) {
		rng_uuid(u);
		REQ_EQ(uuid_list_add(&l, u), 0);
		REQ(memcmp(l.v[i], u, 16) == 0);
	}
	REQ_EQ(l.n, 10000);
	uuid_list_free(&l);
}
END_TEST

/* ---- topics ------------------------------------------------------------------ */

START_TEST(test_topic_canonical)
{
	static const char	*const inputs[] = {
		TOPIC(UA), TOPIC(UMIX),
		TOPIC("0190A5B2-7C1E-7A01-8F00-0000000000AA"),
	};
	struct topic_key	 k, k2;
	char			 out[TOPIC_MAX_LEN + 1], want[TOPIC_MAX_LEN + 1];
	uint8_t			 u[16];
	size_t			 i, n;

	for (i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
		memset(&k, 0xee, sizeof k);
		ck_assert_msg(topic_parse(inputs[i], strlen(inputs[i]), &k) == 0,
		    "'%s' should parse", inputs[i]);
		ck_assert_uint_eq(k.family, TOPIC_CONTACT_INTERACTIONS);
		n = topic_format(&k, out);
		ck_assert_uint_eq(n, strlen(out));
		ck_assert_uint_le(n, TOPIC_MAX_LEN);
		/* Only the UUID part changes case. */
		snprintf(want, sizeof want, "crm:contact:%.36s:interactions",
		    inputs[i] + strlen("crm:contact:"));
		lower_copy(want, want);
		ck_assert_str_eq(out, want);
		/* The canonical form parses to the same key. */
		ck_assert_int_eq(topic_parse(out, n, &k2), 0);
		ck_assert_mem_eq(&k2, &k, sizeof k);
		/* And the key built from the UUID is the same. */
		ck_assert_int_eq(uuid_canon_parse(inputs[i] + 12, 36, u), 0);
		topic_contact_interactions(u, &k2);
		ck_assert_uint_eq(k2.family, k.family);
		ck_assert_mem_eq(k2.uuid, k.uuid, 16);
	}
	/* UA and UMIX differ only in digits, so they are distinct keys. */
	ck_assert_int_eq(topic_parse(TOPIC(UA), strlen(TOPIC(UA)), &k), 0);
	ck_assert_int_eq(topic_parse(TOPIC(U1), strlen(TOPIC(U1)), &k2), 0);
	ck_assert(memcmp(k.uuid, k2.uuid, 16) != 0);
}
END_TEST

START_TEST(test_topic_rejects)
{
	static const char	*const bad[] = {
		"",
		"crm:contact:",
		"crm:contact::interactions",
		U1,
		"CRM:contact:" U1 ":interactions",
		"crm:Contact:" U1 ":interactions",
		"crm:contacts:" U1 ":interactions",
		"crm:contact" U1 ":interactions",
		"xrm:contact:" U1 ":interactions",
		"crm:contact:" U1 ":Interactions",
		"crm:contact:" U1 ":interaction",
		"crm:contact:" U1 ":interactionz",
		"crm:contact:" U1 ":interactions ",
		"crm:contact:" U1 ":interactions\n",
		"crm:contact:" U1 ":interactions:x",
		"crm:contact:" U1 ":interactionsinteractions",
		" crm:contact:" U1 ":interactions",
		"crm:contact:" U1 "interactions",
		"crm:contact:" U1,
		"crm:contact:{" U1 "}:interactions",
		"crm:contact:0190a5b2-7c1e-7a01-8f00-00000000000g:interactions",
		"crm:contact:0190a5b27c1e7a018f00000000000001:interactions",
		"crm:contact:0190a5b2-7c1e-7a01-8f00-0000000000011:interactions",
		"crm:contact:0190a5b2-7c1e-7a01-8f00-00000000001:interactions",
		"crm:contact:0190a5b2_7c1e-7a01-8f00-000000000001:interactions",
		"crm:contact:" U1 ":" U1 ":interactions",
		"crm:interaction:" U1 ":contacts",
	};
	struct topic_key	 k;
	char			 buf[128];
	size_t			 i, n;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(topic_parse(bad[i], strlen(bad[i]), &k) == -1,
		    "'%s' should be rejected", bad[i]);
	/* A length cut short, and an embedded NUL in every position. */
	n = strlen(TOPIC(U1));
	ck_assert_int_eq(topic_parse(TOPIC(U1), n - 1, &k), -1);
	ck_assert_int_eq(topic_parse(TOPIC(U1), 0, &k), -1);
	for (i = 0; i < n; i++) {
		memcpy(buf, TOPIC(U1), n + 1);
		buf[i] = '\0';
		ck_assert_msg(topic_parse(buf, n, &k) == -1,
		    "NUL at %zu accepted", i);
	}
	/* A valid topic followed by garbage the length includes. */
	snprintf(buf, sizeof buf, "%sX", TOPIC(U1));
	ck_assert_int_eq(topic_parse(buf, n + 1, &k), -1);
	/* ...and not included: only len bytes count. */
	ck_assert_int_eq(topic_parse(buf, n, &k), 0);
}
END_TEST

/* ---- events ------------------------------------------------------------------ */

START_TEST(test_events)
{
	static const char	*const names[] = { "interaction_created",
	    "interaction_updated", "interaction_deleted" };
	static const char	*const near[] = { "", "interaction",
	    "interaction_", "interaction_create", "interaction_createdd",
	    "Interaction_created", "INTERACTION_CREATED", "interaction_Updated",
	    " interaction_deleted", "interaction_deleted ", "interaction-created",
	    "interaction_removed", "contact_created", "created",
	    "interaction_created\n" };
	enum crm_event		 e, seen[3];
	char			 buf[64];
	size_t			 i, j;

	ck_assert_int_eq(EVENT_COUNT, 3);
	for (i = 0; i < 3; i++) {
		e = EVENT_COUNT;
		ck_assert_int_eq(event_parse(names[i], strlen(names[i]), &e), 0);
		ck_assert_int_lt(e, EVENT_COUNT);
		ck_assert_str_eq(event_name(e), names[i]);
		seen[i] = e;
		for (j = 0; j < i; j++)
			ck_assert_int_ne(seen[j], e);
	}
	for (i = 0; i < sizeof near / sizeof near[0]; i++)
		ck_assert_msg(event_parse(near[i], strlen(near[i]), &e) == -1,
		    "'%s' accepted", near[i]);
	/* Length decides, not the NUL. */
	ck_assert_int_eq(event_parse(names[0], strlen(names[0]) - 1, &e), -1);
	snprintf(buf, sizeof buf, "%sX", names[1]);
	ck_assert_int_eq(event_parse(buf, strlen(names[1]), &e), 0);
	ck_assert_str_eq(event_name(e), names[1]);
	ck_assert_int_eq(event_parse(buf, strlen(buf), &e), -1);
	memcpy(buf, names[2], strlen(names[2]) + 1);
	ck_assert_int_eq(event_parse(buf, strlen(names[2]) + 1, &e), -1);
}
END_TEST

/* ---- involved contacts --------------------------------------------------------- */

START_TEST(test_involved_subject_only)
{
	struct inv_result	r;
	uint8_t			want[16];

	run_interaction("{\"uuid\":\"" UA "\",\"contact_uuid\":\"" U1 "\"}",
	    1024, &r);
	assert_involved_ok(&r, U1);
	ck_assert_int_eq(uuid_parse(UA, want), 0);
	ck_assert_mem_eq(r.iu, want, 16);
	/* The interaction UUID comes back canonical from any case. */
	run_interaction("{\"uuid\":\"" UMIX "\",\"contact_uuid\":null}", 1024,
	    &r);
	assert_involved_ok(&r, "");
	ck_assert_int_eq(uuid_parse(UMIX, want), 0);
	ck_assert_mem_eq(r.iu, want, 16);
	/* Unknown fields are ignored. */
	run_interaction("{\"uuid\":\"" UA "\",\"contact_uuid\":\"" U2 "\","
	    "\"body\":\"hi\",\"tags\":[1,2],\"contact\":{\"uuid\":\"x\"}}",
	    1024, &r);
	assert_involved_ok(&r, U2);
}
END_TEST

START_TEST(test_involved_parties_shapes)
{
	struct inv_result	r;

	/* Null or missing subject with no parties: nobody involved. */
	run_interaction("{\"uuid\":\"" UA "\",\"contact_uuid\":null}", 8, &r);
	assert_involved_ok(&r, "");
	run_interaction("{\"uuid\":\"" UA "\"}", 8, &r);
	assert_involved_ok(&r, "");
	/* parties missing, null, not an array, empty: no parties. */
	run_interaction("{\"uuid\":\"" UA "\",\"contact_uuid\":\"" U1 "\"}",
	    8, &r);
	assert_involved_ok(&r, U1);
	run_interaction("{\"uuid\":\"" UA "\",\"contact_uuid\":\"" U1 "\","
	    "\"parties\":null}", 8, &r);
	assert_involved_ok(&r, U1);
	run_interaction("{\"uuid\":\"" UA "\",\"contact_uuid\":\"" U1 "\","
	    "\"parties\":{\"contact_uuid\":\"" U2 "\"}}", 8, &r);
	assert_involved_ok(&r, U1);
	run_interaction("{\"uuid\":\"" UA "\",\"contact_uuid\":\"" U1 "\","
	    "\"parties\":\"not loaded\"}", 8, &r);
	assert_involved_ok(&r, U1);
	run_interaction("{\"uuid\":\"" UA "\",\"contact_uuid\":\"" U1 "\","
	    "\"parties\":42}", 8, &r);
	assert_involved_ok(&r, U1);
	run_interaction("{\"uuid\":\"" UA "\",\"contact_uuid\":\"" U1 "\","
	    "\"parties\":[]}", 8, &r);
	assert_involved_ok(&r, U1);
	/* Parties without contact_uuid or with null are skipped. */
	run_interaction("{\"uuid\":\"" UA "\",\"contact_uuid\":\"" U1 "\","
	    "\"parties\":[{},{\"contact_uuid\":null},{\"role\":\"to\"},"
	    "{\"contact_uuid\":\"" U2 "\"}]}", 8, &r);
	assert_involved_ok(&r, U1 "," U2);
	/* Subject null, parties resolved. */
	run_interaction("{\"uuid\":\"" UA "\",\"contact_uuid\":null,"
	    "\"parties\":[{\"contact_uuid\":\"" U3 "\"},"
	    "{\"contact_uuid\":\"" U2 "\"}]}", 8, &r);
	assert_involved_ok(&r, U3 "," U2);
}
END_TEST

START_TEST(test_involved_party_not_object)
{
	static const char	*const parties[] = { "[1]", "[null]",
	    "[\"" U2 "\"]", "[[]]", "[true]",
	    "[{\"contact_uuid\":\"" U2 "\"},\"" U3 "\"]",
	    /* bad_request even when a later party has a bad UUID */
	    "[{\"contact_uuid\":\"nope\"},7]" };
	struct inv_result	 r;
	char			 text[512];
	size_t			 i;

	for (i = 0; i < sizeof parties / sizeof parties[0]; i++) {
		snprintf(text, sizeof text, "{\"uuid\":\"" UA "\","
		    "\"contact_uuid\":\"" U1 "\",\"parties\":%s}", parties[i]);
		run_interaction(text, 8, &r);
		assert_involved_fails(&r, PERR_BAD_REQUEST);
	}
	/* interaction itself not an object. */
	run_interaction("[]", 8, &r);
	assert_involved_fails(&r, PERR_BAD_REQUEST);
	run_interaction("null", 8, &r);
	assert_involved_fails(&r, PERR_BAD_REQUEST);
	run_interaction("\"" UA "\"", 8, &r);
	assert_involved_fails(&r, PERR_BAD_REQUEST);
}
END_TEST

START_TEST(test_involved_dedup_case_order)
{
	struct inv_result	r;
	char			lower[UUID_TEXT_LEN + 1];

	lower_copy(UMIX, lower);
	/* Subject repeated among parties in another case: first kept. */
	run_interaction("{\"uuid\":\"" UA "\",\"contact_uuid\":\"" UMIX "\","
	    "\"parties\":[{\"contact_uuid\":\"" U2 "\"},"
	    "{\"contact_uuid\":\"0190A5B2-7C1E-7A01-8F00-0000000000AB\"},"
	    "{\"contact_uuid\":\"" U1 "\"},"
	    "{\"contact_uuid\":\"" U2 "\"},"
	    "{\"contact_uuid\":\"" U1 "\"}]}", 8, &r);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_uint_eq(r.n, 3);
	ck_assert_int_eq(strncmp(r.list, lower, UUID_TEXT_LEN), 0);
	ck_assert_str_eq(r.list + UUID_TEXT_LEN, "," U2 "," U1);
	/* Duplicates only among parties, first occurrence order. */
	run_interaction("{\"uuid\":\"" UA "\",\"parties\":["
	    "{\"contact_uuid\":\"" U3 "\"},{\"contact_uuid\":\"" U1 "\"},"
	    "{\"contact_uuid\":\"0190A5B2-7C1E-7A01-8F00-000000000003\"},"
	    "{\"contact_uuid\":\"" U2 "\"}]}", 8, &r);
	assert_involved_ok(&r, U3 "," U1 "," U2);
}
END_TEST

START_TEST(test_involved_bad_uuids)
{
	static const char	*const bad_values[] = { "\"\"", "\"nope\"",
	    "42", "true", "{}", "[\"" U1 "\"]", "\"{" U1 "}\"",
	    "\"" U1 " \"", "\"0190a5b27c1e7a018f00000000000001\"" };
	struct inv_result	 r;
	char			 text[512];
	size_t			 i;

	for (i = 0; i < sizeof bad_values / sizeof bad_values[0]; i++) {
		/* bad subject */
		snprintf(text, sizeof text, "{\"uuid\":\"" UA "\","
		    "\"contact_uuid\":%s}", bad_values[i]);
		run_interaction(text, 8, &r);
		assert_involved_fails(&r, PERR_BAD_UUID);
		/* bad party, after good ones */
		snprintf(text, sizeof text, "{\"uuid\":\"" UA "\","
		    "\"contact_uuid\":\"" U1 "\",\"parties\":["
		    "{\"contact_uuid\":\"" U2 "\"},{\"contact_uuid\":%s}]}",
		    bad_values[i]);
		run_interaction(text, 8, &r);
		assert_involved_fails(&r, PERR_BAD_UUID);
		/* bad interaction uuid */
		snprintf(text, sizeof text, "{\"uuid\":%s,"
		    "\"contact_uuid\":\"" U1 "\"}", bad_values[i]);
		run_interaction(text, 8, &r);
		assert_involved_fails(&r, PERR_BAD_UUID);
	}
	/* interaction uuid missing or null. */
	run_interaction("{\"contact_uuid\":\"" U1 "\"}", 8, &r);
	assert_involved_fails(&r, PERR_BAD_UUID);
	run_interaction("{\"uuid\":null,\"contact_uuid\":\"" U1 "\"}", 8, &r);
	assert_involved_fails(&r, PERR_BAD_UUID);
	run_interaction("{}", 8, &r);
	assert_involved_fails(&r, PERR_BAD_UUID);
}
END_TEST

/* An interaction with nparties parties (distinct contacts) as JSON text. */
static char *
interaction_with_parties(size_t nparties, int subject)
{
	struct buf	b = BUF_INIT;
	char		one[UUID_TEXT_LEN + 1];
	uint8_t		u[16];
	size_t		i;

	buf_puts(&b, "{\"uuid\":\"" UA "\",\"contact_uuid\":");
	buf_puts(&b, subject ? "\"" U1 "\"" : "null");
	buf_puts(&b, ",\"parties\":[");
	for (i = 0; i < nparties; i++) {
		seq_uuid(u, (uint32_t)(1000 + i));
		uuid_canon_format(u, one);
		buf_puts(&b, i ? ",{\"contact_uuid\":\"" : "{\"contact_uuid\":\"");
		buf_puts(&b, one);
		buf_puts(&b, "\"}");
	}
	buf_puts(&b, "]}");
	buf_putc(&b, '\0');
	return b.data;
}

START_TEST(test_involved_max_contacts)
{
	struct inv_result	 r;
	char			*text;
	size_t			 max;

	for (max = 1; max <= 40; max += 13) {
		/* parties + 1 == max: accepted. */
		text = interaction_with_parties(max - 1, 1);
		run_interaction(text, max, &r);
		ck_assert_msg(r.rc == 0, "max %zu: %s", max, r.fail.message);
		ck_assert_uint_eq(r.n, max);
		free(text);
		/* parties + 1 == max + 1: too_many, with or without subject. */
		text = interaction_with_parties(max, 1);
		run_interaction(text, max, &r);
		assert_involved_fails(&r, PERR_TOO_MANY);
		free(text);
		text = interaction_with_parties(max, 0);
		run_interaction(text, max, &r);
		assert_involved_fails(&r, PERR_TOO_MANY);
		free(text);
	}
	/* The limit counts parties as sent: nulls and duplicates too. */
	run_interaction("{\"uuid\":\"" UA "\",\"contact_uuid\":\"" U1 "\","
	    "\"parties\":[{\"contact_uuid\":null},{},"
	    "{\"contact_uuid\":\"" U1 "\"}]}", 3, &r);
	assert_involved_fails(&r, PERR_TOO_MANY);
	run_interaction("{\"uuid\":\"" UA "\",\"contact_uuid\":\"" U1 "\","
	    "\"parties\":[{\"contact_uuid\":null},{},"
	    "{\"contact_uuid\":\"" U1 "\"}]}", 4, &r);
	assert_involved_ok(&r, U1);
	/* Parties that are not an array never count. */
	run_interaction("{\"uuid\":\"" UA "\",\"contact_uuid\":\"" U1 "\","
	    "\"parties\":{\"a\":1,\"b\":2,\"c\":3}}", 1, &r);
	assert_involved_ok(&r, U1);
	/* The default limit, 1024: 1023 parties pass, 1024 do not. */
	text = interaction_with_parties(1023, 1);
	run_interaction(text, 1024, &r);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_uint_eq(r.n, 1024);
	free(text);
	text = interaction_with_parties(1024, 1);
	run_interaction(text, 1024, &r);
	assert_involved_fails(&r, PERR_TOO_MANY);
	free(text);
}
END_TEST

START_TEST(test_involved_check_order)
{
	struct inv_result	 r;
	char			*text;

	/* Shape (a non-object party) is checked before the limit... */
	run_interaction("{\"uuid\":\"" UA "\",\"parties\":[{},{},5]}", 1, &r);
	assert_involved_fails(&r, PERR_BAD_REQUEST);
	/* ...and the limit before UUIDs. */
	run_interaction("{\"uuid\":\"bad\",\"contact_uuid\":\"bad\","
	    "\"parties\":[{\"contact_uuid\":\"bad\"}]}", 1, &r);
	assert_involved_fails(&r, PERR_TOO_MANY);
	text = interaction_with_parties(3, 1);
	run_interaction(text, 3, &r);
	assert_involved_fails(&r, PERR_TOO_MANY);
	free(text);
	run_list("[\"bad\",\"bad\"]", 1, &r);
	assert_involved_fails(&r, PERR_TOO_MANY);
}
END_TEST

/* One involved_from_list input with max 4: the canonical list it yields, or
 * (want NULL) the error it fails with. */
struct list_case {
	const char		*json;
	const char		*want;
	enum proto_error	 err;
};

/* run_list (max 4) and the matching assert_involved_* for each case. */
static void
check_list_cases(const struct list_case *cases, size_t n)
{
	struct inv_result	 r;
	size_t			 i;

	for (i = 0; i < n; i++) {
		run_list(cases[i].json, 4, &r);
		if (cases[i].want != NULL)
			assert_involved_ok(&r, cases[i].want);
		else
			assert_involved_fails(&r, cases[i].err);
	}
}

START_TEST(test_involved_from_list)
{
	/* Accepted lists, each with its canonical result (max 4). */
	static const struct list_case plain[] = {
		{ "[]", "", 0 },
		{ "[null,null]", "", 0 },
		{ "[\"" U2 "\",null,\"" U1 "\",\""
		    "0190A5B2-7C1E-7A01-8F00-000000000002\"]", U2 "," U1, 0 },
	};
	static const struct list_case rejected[] = {
		/* An element that is neither null nor a UUID string. */
		{ "[\"" U1 "\",1]", NULL, PERR_BAD_UUID },
		{ "[{\"contact_uuid\":\"" U1 "\"}]", NULL, PERR_BAD_UUID },
		{ "[[\"" U1 "\"]]", NULL, PERR_BAD_UUID },
		{ "[false]", NULL, PERR_BAD_UUID },
		{ "[\"\"]", NULL, PERR_BAD_UUID },
		{ "[\"" U1 "\",\"x\"]", NULL, PERR_BAD_UUID },
		/* Not an array. */
		{ "null", NULL, PERR_BAD_REQUEST },
		{ "{}", NULL, PERR_BAD_REQUEST },
		{ "\"" U1 "\"", NULL, PERR_BAD_REQUEST },
		/* max boundary counts entries as sent, nulls and duplicates
		 * too. */
		{ "[null,null,null,null]", "", 0 },
		{ "[null,null,null,null,null]", NULL, PERR_TOO_MANY },
		{ "[\"" U1 "\",\"" U1 "\",\"" U1 "\",\"" U1 "\"]", U1, 0 },
		{ "[\"" U1 "\",\"" U1 "\",\"" U1 "\",\"" U1 "\",\"" U1 "\"]", NULL,
		    PERR_TOO_MANY },
	};
	struct inv_result	 r;
	struct buf		 b = BUF_INIT;
	char			 one[UUID_TEXT_LEN + 1];
	uint8_t			 u[16];
	size_t			 i;

	check_list_cases(plain, sizeof plain / sizeof plain[0]);
	run_list("[\"" UMIX "\"]", 4, &r);
	ck_assert_int_eq(r.rc, 0);
	lower_copy(UMIX, one);
	ck_assert_str_eq(r.list, one);
	check_list_cases(rejected, sizeof rejected / sizeof rejected[0]);
	/* 1024 distinct entries at the default limit, then one more. */
	buf_putc(&b, '[');
	for (i = 0; i < 1024; i++) {
		seq_uuid(u, (uint32_t)i);
		uuid_canon_format(u, one);
		if (i)
			buf_putc(&b, ',');
		buf_put_jstrz(&b, one);
	}
	buf_puts(&b, "]");
	buf_putc(&b, '\0');
	run_list(b.data, 1024, &r);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_uint_eq(r.n, 1024);
	b.len -= 2;
	buf_puts(&b, ",null]");
	buf_putc(&b, '\0');
	run_list(b.data, 1024, &r);
	assert_involved_fails(&r, PERR_TOO_MANY);
	buf_free(&b);
}
END_TEST

START_TEST(test_involved_uuid_field)
{
	uint8_t	u[16], want[16];
	json_t	*v;

	memset(u, 0, sizeof u);
	ck_assert_int_eq(involved_uuid_field(NULL, u), 0);
	v = json_null();
	ck_assert_int_eq(involved_uuid_field(v, u), 0);
	v = json_string(UMIX);
	ck_assert_int_eq(involved_uuid_field(v, u), 1);
	ck_assert_int_eq(uuid_parse(UMIX, want), 0);
	ck_assert_mem_eq(u, want, 16);
	json_decref(v);
	v = json_integer(1);
	ck_assert_int_eq(involved_uuid_field(v, u), -1);
	json_decref(v);
	v = json_string("nope");
	ck_assert_int_eq(involved_uuid_field(v, u), -1);
	json_decref(v);
	/* A string with an embedded NUL after a valid UUID prefix. */
	v = json_stringn(U1 "\0xyz", UUID_TEXT_LEN + 4);
	ck_assert_int_eq(involved_uuid_field(v, u), -1);
	json_decref(v);
	v = json_stringn("0190a5b2-7c1e-7a01-8f00" "\0" "000000000001", 36);
	ck_assert_int_eq(involved_uuid_field(v, u), -1);
	json_decref(v);
}
END_TEST

/* ---- pushes ---------------------------------------------------------------------- */

START_TEST(test_push_crm_bytes)
{
	static const struct {
		enum crm_event	e;
		const char	*line;
	} cases[] = {
		{ EVENT_INTERACTION_CREATED,
		  "{\"type\":\"crm\",\"event\":\"interaction_created\","
		  "\"topic\":\"crm:contact:" U1 ":interactions\","
		  "\"payload\":{\"interaction_uuid\":\"" UA "\"}}\n" },
		{ EVENT_INTERACTION_UPDATED,
		  "{\"type\":\"crm\",\"event\":\"interaction_updated\","
		  "\"topic\":\"crm:contact:" U1 ":interactions\","
		  "\"payload\":{\"interaction_uuid\":\"" UA "\"}}\n" },
		{ EVENT_INTERACTION_DELETED,
		  "{\"type\":\"crm\",\"event\":\"interaction_deleted\","
		  "\"topic\":\"crm:contact:" U1 ":interactions\","
		  "\"payload\":{\"interaction_uuid\":\"" UA "\"}}\n" },
	};
	struct buf		 b = BUF_INIT;
	struct topic_key	 k;
	uint8_t			 iu[16];
	json_t			*v;
	size_t			 i;

	/* Upper-case input UUIDs come out lowercase. */
	ck_assert_int_eq(topic_parse(
	    "crm:contact:0190A5B2-7C1E-7A01-8F00-000000000001:interactions",
	    strlen(TOPIC(U1)), &k), 0);
	ck_assert_int_eq(uuid_canon_parse(
	    "0190A5B2-7C1E-7A01-8F00-0000000000AA", 36, iu), 0);
	for (i = 0; i < 3; i++) {
		buf_reset(&b);
		ck_assert_int_eq(push_crm(&b, cases[i].e, &k, iu), 0);
		ck_assert_str_eq(buf_text(&b), cases[i].line);
		v = assert_json_line(&b);
		ck_assert_ptr_null(json_object_get(v, "ok"));
		ck_assert_str_eq(json_string_value(json_object_get(v, "event")),
		    event_name(cases[i].e));
		json_decref(v);
	}
	/* Pushes append to what is queued. */
	buf_reset(&b);
	buf_puts(&b, "x");
	ck_assert_int_eq(push_crm(&b, EVENT_INTERACTION_CREATED, &k, iu), 0);
	ck_assert_uint_eq(buf_len(&b), 1 + strlen(cases[0].line));
	ck_assert_str_eq(buf_text(&b) + 1, cases[0].line);
	buf_free(&b);
}
END_TEST

START_TEST(test_push_resync_shutdown_bytes)
{
	struct buf	 b = BUF_INIT;
	json_t		*v;

	ck_assert_int_eq(push_resync(&b, RESYNC_LAGGED, 0), 0);
	ck_assert_str_eq(buf_text(&b),
	    "{\"type\":\"resync\",\"reason\":\"lagged\",\"dropped\":0}\n");
	v = assert_json_line(&b);
	ck_assert_ptr_null(json_object_get(v, "ok"));
	json_decref(v);
	buf_reset(&b);
	ck_assert_int_eq(push_resync(&b, RESYNC_LAGGED, 12345), 0);
	ck_assert_str_eq(buf_text(&b),
	    "{\"type\":\"resync\",\"reason\":\"lagged\",\"dropped\":12345}\n");
	buf_reset(&b);
	ck_assert_int_eq(push_resync(&b, RESYNC_LAGGED, ULLONG_MAX), 0);
	ck_assert_str_eq(buf_text(&b), "{\"type\":\"resync\",\"reason\":"
	    "\"lagged\",\"dropped\":18446744073709551615}\n");
	buf_reset(&b);
	ck_assert_int_eq(push_resync(&b, RESYNC_FEDERATION, 0), 0);
	ck_assert_str_eq(buf_text(&b), "{\"type\":\"resync\",\"reason\":"
	    "\"federation\",\"dropped\":0}\n");
	json_decref(assert_json_line(&b));
	buf_reset(&b);
	ck_assert_int_eq(push_shutdown(&b), 0);
	ck_assert_str_eq(buf_text(&b), "{\"type\":\"shutdown\"}\n");
	v = assert_json_line(&b);
	ck_assert_uint_eq(json_object_size(v), 1);
	json_decref(v);
	buf_free(&b);
}
END_TEST

/* ---- replies --------------------------------------------------------------------- */

/* reply_begin + reply_end around nothing, as text; id is JSON text or
 * NULL. (Not parsed back: jansson cannot hold every number an id may be.) */
static const char *
empty_reply(const char *op, const char *id)
{
	static struct buf	 b;
	struct reply_id		 rid = { id, id != NULL ? strlen(id) : 0 };

	buf_reset(&b);
	ck_assert_int_eq(reply_begin(&b, op, id != NULL ? &rid : NULL), 0);
	ck_assert_int_eq(reply_end(&b), 0);
	return buf_text(&b);
}

START_TEST(test_reply_begin_end_ids)
{
	/* Ids as requests write them; the reply repeats the text exactly,
	 * whatever jansson would make of the value. */
	static const char *const ids[] = {
		"\"req-1\"", "\"\"", "\"q\\\"\\\\\\n\\u0001\\u00e9\xc3\xa9\"", "42", "-7",
		"0", "-0", "9223372036854775807", "12345678901234567890",
		"-123456789012345678901234567890", "1.5", "0.1", "1e2", "1E+2",
		"-2.25e10", "1e999999", "null",
	};
	char	want[200];
	size_t	i;

	ck_assert_str_eq(empty_reply("ping", NULL),
	    "{\"ok\":true,\"op\":\"ping\"}\n");
	ck_assert_str_eq(empty_reply(NULL, NULL),
	    "{\"ok\":true,\"op\":null}\n");
	for (i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		snprintf(want, sizeof want,
		    "{\"ok\":true,\"op\":\"ping\",\"id\":%s}\n", ids[i]);
		ck_assert_str_eq(empty_reply("ping", ids[i]), want);
	}
	/* An op as sent, escaped. */
	ck_assert_str_eq(empty_reply("we\"ird\\op", NULL),
	    "{\"ok\":true,\"op\":\"we\\\"ird\\\\op\"}\n");
}
END_TEST

START_TEST(test_reply_id_length)
{
	struct buf	 b = BUF_INIT;
	struct reply_id	 rid = { "12345,rest", 5 };

	/* Exactly len bytes of the id text are copied. */
	ck_assert_int_eq(reply_begin(&b, "ping", &rid), 0);
	ck_assert_int_eq(buf_put_key(&b, "x"), 0);
	ck_assert_int_eq(buf_put_int(&b, 1), 0);
	ck_assert_int_eq(reply_end(&b), 0);
	ck_assert_str_eq(buf_text(&b),
	    "{\"ok\":true,\"op\":\"ping\",\"id\":12345,\"x\":1}\n");
	json_decref(assert_json_line(&b));
	buf_free(&b);
}
END_TEST

START_TEST(test_reply_fields_and_key_commas)
{
	struct buf	 b = BUF_INIT;
	struct reply_id	 id = { "9", 1 };
	json_t		*v;

	ck_assert_int_eq(reply_begin(&b, "subscribe", &id), 0);
	ck_assert_int_eq(buf_put_key(&b, "topics"), 0);
	ck_assert_int_eq(buf_putc(&b, '['), 0);
	ck_assert_int_eq(buf_put_jstrz(&b, TOPIC(U1)), 0);
	ck_assert_int_eq(buf_putc(&b, ','), 0);
	ck_assert_int_eq(buf_put_jstrz(&b, TOPIC(U2)), 0);
	ck_assert_int_eq(buf_putc(&b, ']'), 0);
	ck_assert_int_eq(buf_put_key(&b, "subscribed"), 0);
	ck_assert_int_eq(buf_put_uint(&b, 2), 0);
	ck_assert_int_eq(reply_end(&b), 0);
	ck_assert_str_eq(buf_text(&b), "{\"ok\":true,\"op\":\"subscribe\","
	    "\"id\":9,\"topics\":[\"" TOPIC(U1) "\",\"" TOPIC(U2) "\"],"
	    "\"subscribed\":2}\n");
	v = assert_json_line(&b);
	ck_assert_int_eq(json_integer_value(json_object_get(v, "subscribed")),
	    2);
	json_decref(v);
	/* Nested objects and arrays: no comma after '{' or '['. */
	buf_reset(&b);
	ck_assert_int_eq(reply_begin(&b, "topics", NULL), 0);
	buf_put_key(&b, "topics");
	buf_putc(&b, '[');
	buf_putc(&b, '{');
	buf_put_key(&b, "topic");
	buf_put_jstrz(&b, TOPIC(U1));
	buf_put_key(&b, "subscribers");
	buf_put_int(&b, 3);
	buf_putc(&b, '}');
	buf_putc(&b, ',');
	buf_putc(&b, '{');
	buf_put_key(&b, "topic");
	buf_put_jstrz(&b, TOPIC(U2));
	buf_put_key(&b, "subscribers");
	buf_put_int(&b, 1);
	buf_puts(&b, "}]");
	buf_put_key(&b, "truncated");
	buf_puts(&b, "false");
	ck_assert_int_eq(reply_end(&b), 0);
	ck_assert_str_eq(buf_text(&b), "{\"ok\":true,\"op\":\"topics\","
	    "\"topics\":[{\"topic\":\"" TOPIC(U1) "\",\"subscribers\":3},"
	    "{\"topic\":\"" TOPIC(U2) "\",\"subscribers\":1}],"
	    "\"truncated\":false}\n");
	json_decref(assert_json_line(&b));
	/* An empty buffer counts as just opened. */
	buf_reset(&b);
	ck_assert_int_eq(buf_put_key(&b, "k"), 0);
	ck_assert_str_eq(buf_text(&b), "\"k\":");
	/* Consumed bytes do not count as the previous byte. */
	buf_reset(&b);
	buf_puts(&b, "{\"a\":1");
	buf_consume(&b, buf_len(&b));
	buf_put_key(&b, "b");
	ck_assert_str_eq(buf_text(&b), "\"b\":");
	buf_reset(&b);
	buf_puts(&b, "[");
	buf_put_key(&b, "c");
	buf_put_key(&b, "d");
	ck_assert_str_eq(buf_text(&b), "[\"c\":,\"d\":");
	buf_free(&b);
}
END_TEST

START_TEST(test_reply_error_bytes)
{
	struct buf	 b = BUF_INIT;
	struct reply_id	 id;
	json_t		*v;

	ck_assert_int_eq(reply_error(&b, NULL, NULL, PERR_LINE_TOO_LONG,
	    "line longer than 65536 bytes"), 0);
	ck_assert_str_eq(buf_text(&b), "{\"ok\":false,\"op\":null,"
	    "\"error\":\"line_too_long\","
	    "\"message\":\"line longer than 65536 bytes\"}\n");
	v = assert_json_line(&b);
	ck_assert(json_is_false(json_object_get(v, "ok")));
	ck_assert(json_is_null(json_object_get(v, "op")));
	json_decref(v);
	buf_reset(&b);
	id.text = "\"s-1\"";
	id.len = 5;
	ck_assert_int_eq(reply_error(&b, "subscribe", &id, PERR_BAD_TOPIC,
	    "topic \"crm:x\" is not a topic\\"), 0);
	ck_assert_str_eq(buf_text(&b), "{\"ok\":false,\"op\":\"subscribe\","
	    "\"id\":\"s-1\",\"error\":\"bad_topic\","
	    "\"message\":\"topic \\\"crm:x\\\" is not a topic\\\\\"}\n");
	json_decref(assert_json_line(&b));
	buf_reset(&b);
	id.text = "-1";
	id.len = 2;
	ck_assert_int_eq(reply_error(&b, "broadcast_to_contacts", &id,
	    PERR_TOO_MANY, "tab\there\r\n\x1f\x7f \xe2\x82\xac"), 0);
	ck_assert_str_eq(buf_text(&b), "{\"ok\":false,"
	    "\"op\":\"broadcast_to_contacts\",\"id\":-1,\"error\":\"too_many\","
	    "\"message\":\"tab\\there\\r\\n\\u001f\x7f \xe2\x82\xac\"}\n");
	v = assert_json_line(&b);
	ck_assert_str_eq(json_string_value(json_object_get(v, "message")),
	    "tab\there\r\n\x1f\x7f \xe2\x82\xac");
	json_decref(v);
	buf_reset(&b);
	id.text = "2.5";
	id.len = 3;
	ck_assert_int_eq(reply_error(&b, "x", &id, PERR_UNKNOWN_OP, ""), 0);
	ck_assert_str_eq(buf_text(&b), "{\"ok\":false,\"op\":\"x\",\"id\":2.5,"
	    "\"error\":\"unknown_op\",\"message\":\"\"}\n");
	json_decref(assert_json_line(&b));
	buf_free(&b);
}
END_TEST

START_TEST(test_reply_error_every_code)
{
	struct buf	 b = BUF_INIT;
	json_t		*v;
	int		 e;

	for (e = 0; e < PERR_COUNT; e++) {
		buf_reset(&b);
		ck_assert_int_eq(reply_error(&b, "op", NULL,
		    (enum proto_error)e, "m"), 0);
		v = assert_json_line(&b);
		ck_assert_str_eq(json_string_value(json_object_get(v, "error")),
		    proto_error_name((enum proto_error)e));
		ck_assert_uint_eq(json_object_size(v), 4);
		json_decref(v);
	}
	buf_free(&b);
}
END_TEST

/* ---- JSON string escaping ------------------------------------------------------- */

/* Encodes n bytes with buf_put_jstr and decodes them back with jansson. */
static void
assert_jstr_roundtrip(const char *s, size_t n)
{
	struct buf	 b = BUF_INIT;
	json_error_t	 err;
	json_t		*v;
	size_t		 i;

	ck_assert_int_eq(buf_put_jstr(&b, s, n), 0);
	for (i = 0; i < buf_len(&b); i++)
		ck_assert_msg((unsigned char)buf_head(&b)[i] >= 0x20,
		    "raw control byte 0x%02x in output",
		    (unsigned char)buf_head(&b)[i]);
	v = json_loadb(buf_head(&b), buf_len(&b),
	    JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
	ck_assert_msg(v != NULL, "'%.*s': %s", (int)buf_len(&b), buf_head(&b),
	    err.text);
	ck_assert(json_is_string(v));
	ck_assert_uint_eq(json_string_length(v), n);
	ck_assert_mem_eq(json_string_value(v), s, n);
	json_decref(v);
	buf_free(&b);
}

START_TEST(test_jstr_escaping)
{
	struct buf	b = BUF_INIT;
	char		all[128];
	char		one[2];
	int		c;

	ck_assert_int_eq(buf_put_jstrz(&b, "say \"hi\""), 0);
	ck_assert_str_eq(buf_text(&b), "\"say \\\"hi\\\"\"");
	buf_reset(&b);
	buf_put_jstrz(&b, "C:\\dir\\");
	ck_assert_str_eq(buf_text(&b), "\"C:\\\\dir\\\\\"");
	buf_reset(&b);
	buf_put_jstrz(&b, "\n\r\t\b\f");
	ck_assert_str_eq(buf_text(&b), "\"\\n\\r\\t\\b\\f\"");
	buf_reset(&b);
	buf_put_jstrz(&b, "\x01\x1f\x0b");
	ck_assert_str_eq(buf_text(&b), "\"\\u0001\\u001f\\u000b\"");
	buf_reset(&b);
	buf_put_jstr(&b, "a\0b", 3);
	ck_assert_str_eq(buf_text(&b), "\"a\\u0000b\"");
	buf_reset(&b);
	buf_put_jstrz(&b, "");
	ck_assert_str_eq(buf_text(&b), "\"\"");
	buf_reset(&b);
	/* UTF-8 and '/' pass through untouched. */
	buf_put_jstrz(&b, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 a/b");
	ck_assert_str_eq(buf_text(&b),
	    "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 a/b\"");
	buf_free(&b);
	/* Every ASCII byte alone and all together decode back to itself. */
	for (c = 0; c < 128; c++) {
		one[0] = (char)c;
		assert_jstr_roundtrip(one, 1);
		all[c] = (char)c;
	}
	assert_jstr_roundtrip(all, sizeof all);
	assert_jstr_roundtrip("\xc3\xa9\"\\\xe2\x82\xac\n", 8);
}
END_TEST

/* ---- buf ------------------------------------------------------------------------- */

START_TEST(test_buf_growth)
{
	struct buf	b = BUF_INIT;
	size_t		i;

	REQ_EQ(buf_len(&b), 0);
	REQ_EQ(buf_append(&b, "", 0), 0);
	REQ_EQ(buf_len(&b), 0);
	for (i = 0; i < 100000; i++)
		REQ_EQ(buf_putc(&b, (char)('a' + i % 26)), 0);
	REQ_EQ(buf_len(&b), 100000);
	REQ((b.cap) >= (b.off + b.len));
	for (i = 0; i < 100000; i++)
		REQ_EQ(buf_head(&b)[i], 'a' + (int)(i % 26));
	/* One large append on top. */
	{
		char	*big = malloc(300000);

		ck_assert_ptr_nonnull(big);
		memset(big, 'Z', 300000);
		REQ_EQ(buf_append(&b, big, 300000), 0);
		free(big);
	}
	REQ_EQ(buf_len(&b), 400000);
	/* Read through the buffer's own pointer: buf_head's "" for a buffer
	 * without memory makes gcc's bounds check flag constant indexes. */
	REQ(b.data != NULL);
	REQ_EQ(b.data[b.off + 99999], 'a' + 99999 % 26);
	REQ_EQ(b.data[b.off + 100000], 'Z');
	REQ_EQ(b.data[b.off + 399999], 'Z');
	REQ_EQ(buf_reserve(&b, 1 << 20), 0);
	REQ((b.cap - b.off - b.len) >= (1 << 20));
	REQ_EQ(buf_len(&b), 400000);
	/* reset keeps memory, free releases it. */
	buf_reset(&b);
	REQ_EQ(buf_len(&b), 0);
	ck_assert_ptr_nonnull(b.data);
	REQ((b.cap) > (0));
	buf_puts(&b, "again");
	ck_assert_str_eq(buf_text(&b), "again");
	buf_free(&b);
	ck_assert_ptr_null(b.data);
	REQ_EQ(b.cap, 0);
	REQ_EQ(buf_len(&b), 0);
	buf_puts(&b, "reused");
	ck_assert_str_eq(buf_text(&b), "reused");
	buf_free(&b);
}
END_TEST

/* Asserts b holds exactly the model's bytes. */
static void
assert_buf_is(const struct buf *b, const char *model, size_t n)
{
	REQ_EQ(buf_len(b), n);
	REQ((b->off + b->len) <= (b->cap));
	if (n > 0)
		REQ(memcmp(buf_head(b), model, n) == 0);
}

START_TEST(test_buf_consume_compaction)
{
	static const struct compaction {
		char	first;
		size_t	first_len, consumed;
		char	second;
		size_t	second_len;
	} compactions[] = {
		{ 'a', 300, 250, 'b', 400 },	/* mostly consumed */
		{ 'c', 300, 10, 'd', 4000 },	/* little consumed */
	};
	struct buf	 b = BUF_INIT;
	char		*model;
	size_t		 mlen = 0, mcap = 1 << 22, n, i, k, step;
	char		 chunk[5000];

	buf_puts(&b, "hello world");
	buf_consume(&b, 6);
	ck_assert_str_eq(buf_text(&b), "world");
	buf_consume(&b, 0);
	ck_assert_str_eq(buf_text(&b), "world");
	buf_consume(&b, 100);
	REQ_EQ(buf_len(&b), 0);
	buf_puts(&b, "x");
	ck_assert_str_eq(buf_text(&b), "x");
	buf_free(&b);

	/* Compaction: `first` bytes appended, most or little of them
	 * consumed, then an append that needs room or goes past capacity. */
	for (k = 0; k < sizeof compactions / sizeof compactions[0]; k++) {
		const struct compaction *c = &compactions[k];
		size_t kept = c->first_len - c->consumed;

		memset(chunk, c->first, c->first_len);
		buf_append(&b, chunk, c->first_len);
		buf_consume(&b, c->consumed);
		memset(chunk, c->second, c->second_len);
		REQ_EQ(buf_append(&b, chunk, c->second_len), 0);
		REQ_EQ(buf_len(&b), kept + c->second_len);
		for (i = 0; i < kept; i++)
			REQ_EQ(buf_head(&b)[i], c->first);
		for (i = kept; i < kept + c->second_len; i++)
			REQ_EQ(buf_head(&b)[i], c->second);
		buf_free(&b);
	}

	/* Random appends and consumes against a flat model. */
	model = malloc(mcap);
	ck_assert_ptr_nonnull(model);
	rng_state = 12345;
	for (step = 0; step < 20000; step++) {
		if (rng_next() % 3 != 0) {
			n = (size_t)(rng_next() % sizeof chunk);
			for (i = 0; i < n; i++)
				chunk[i] = (char)rng_next();
			if (mlen + n > mcap)
				n = 0;
			switch (rng_next() % 3) {
			case 0:
				REQ_EQ(buf_append(&b, chunk, n), 0);
				break;
			case 1:
				for (i = 0; i < n; i++)
					REQ_EQ(buf_putc(&b, chunk[i]), 0);
				break;
			default:
				REQ_EQ(buf_reserve(&b, n), 0);
				REQ((b.cap - b.off - b.len) >= (n));
				REQ_EQ(buf_append(&b, chunk, n), 0);
			}
			memcpy(model + mlen, chunk, n);
			mlen += n;
		} else {
			n = (size_t)(rng_next() % (mlen + 2));
			buf_consume(&b, n);
			if (n >= mlen)
				mlen = 0;
			else {
				memmove(model, model + n, mlen - n);
				mlen -= n;
			}
		}
		assert_buf_is(&b, model, mlen);
	}
	free(model);
	buf_free(&b);
}
END_TEST

START_TEST(test_buf_truncate_failed_mark)
{
	struct buf	b = BUF_INIT;

	buf_puts(&b, "{\"ok\":true}\n{\"partial\":");
	ck_assert_int_eq(buf_clear_failed(&b), 0);
	/* Cut back to the end of the first line. */
	buf_truncate(&b, 12);
	ck_assert_str_eq(buf_text(&b), "{\"ok\":true}\n");
	/* A length at or past the end changes nothing. */
	buf_truncate(&b, 12);
	buf_truncate(&b, 1000);
	ck_assert_str_eq(buf_text(&b), "{\"ok\":true}\n");
	/* Lengths count from the unconsumed head. */
	buf_consume(&b, 1);
	buf_truncate(&b, 4);
	ck_assert_str_eq(buf_text(&b), "\"ok\"");
	buf_puts(&b, ":1");
	ck_assert_str_eq(buf_text(&b), "\"ok\":1");
	buf_truncate(&b, 0);
	ck_assert_uint_eq(buf_len(&b), 0);
	ck_assert_int_eq(buf_clear_failed(&b), 0);
	buf_free(&b);
}
END_TEST

START_TEST(test_buf_reserve_wraps)
{
	/* A request whose size wraps around size_t fails (-1, failed mark)
	 * and leaves the queued bytes alone; it must not claim success. */
	struct buf	b = BUF_INIT;

	buf_puts(&b, "hello");
	ck_assert_int_eq(buf_reserve(&b, SIZE_MAX), -1);
	ck_assert_int_eq(buf_clear_failed(&b), 1);
	ck_assert_int_eq(buf_clear_failed(&b), 0);
	ck_assert_str_eq(buf_text(&b), "hello");
	buf_free(&b);
}
END_TEST

START_TEST(test_buf_reserve_huge)
{
	/* Just over half the address space: the capacity doubling must not
	 * overflow (or spin); the answer is -1. */
	struct buf	b = BUF_INIT;

	buf_puts(&b, "hello");
	ck_assert_int_eq(buf_reserve(&b, SIZE_MAX / 2 + 2), -1);
	ck_assert_int_eq(buf_clear_failed(&b), 1);
	ck_assert_str_eq(buf_text(&b), "hello");
	buf_free(&b);
}
END_TEST

START_TEST(test_buf_numbers)
{
	struct buf	b = BUF_INIT;

	buf_put_int(&b, 0);
	buf_putc(&b, ' ');
	buf_put_int(&b, -1);
	buf_putc(&b, ' ');
	buf_put_int(&b, LLONG_MIN);
	buf_putc(&b, ' ');
	buf_put_int(&b, LLONG_MAX);
	buf_putc(&b, ' ');
	buf_put_uint(&b, 0);
	buf_putc(&b, ' ');
	buf_put_uint(&b, ULLONG_MAX);
	ck_assert_str_eq(buf_text(&b), "0 -1 -9223372036854775808 "
	    "9223372036854775807 0 18446744073709551615");
	buf_free(&b);
}
END_TEST

/* ---- error names ------------------------------------------------------------------- */

START_TEST(test_proto_error_names)
{
	static const struct {
		enum proto_error	 e;
		const char		*name;
	} wire[] = {
		{ PERR_BAD_JSON, "bad_json" },
		{ PERR_BAD_REQUEST, "bad_request" },
		{ PERR_UNKNOWN_OP, "unknown_op" },
		{ PERR_BAD_TOPIC, "bad_topic" },
		{ PERR_BAD_UUID, "bad_uuid" },
		{ PERR_BAD_EVENT, "bad_event" },
		{ PERR_TOO_MANY, "too_many" },
		{ PERR_LINE_TOO_LONG, "line_too_long" },
		{ PERR_FORBIDDEN, "forbidden" },
	};
	size_t	i;
	int	e, f;

	for (i = 0; i < sizeof wire / sizeof wire[0]; i++)
		ck_assert_str_eq(proto_error_name(wire[i].e), wire[i].name);
	/* Every code, the internal one included, has a distinct name. */
	for (e = 0; e < PERR_COUNT; e++) {
		const char *n = proto_error_name((enum proto_error)e);

		ck_assert_ptr_nonnull(n);
		ck_assert_uint_gt(strlen(n), 0);
		for (f = 0; f < e; f++)
			ck_assert_str_ne(n, proto_error_name((enum proto_error)f));
	}
}
END_TEST

START_TEST(test_proto_failf)
{
	struct proto_fail	f;
	char			long_arg[400];

	memset(&f, 0, sizeof f);
	ck_assert_int_eq(proto_failf(&f, PERR_BAD_TOPIC, "topic %d of %s", 3,
	    "x"), -1);
	ck_assert_int_eq(f.code, PERR_BAD_TOPIC);
	ck_assert_str_eq(f.message, "topic 3 of x");
	/* A long message is cut, NUL-terminated. */
	memset(long_arg, 'm', sizeof long_arg - 1);
	long_arg[sizeof long_arg - 1] = '\0';
	ck_assert_int_eq(proto_failf(&f, PERR_TOO_MANY, "%s", long_arg), -1);
	ck_assert_int_eq(f.code, PERR_TOO_MANY);
	ck_assert_uint_eq(strlen(f.message), sizeof f.message - 1);
}
END_TEST

/* ---- socket path ------------------------------------------------------------------- */

static char	*saved_sock_env, *saved_xdg_env;

/* Saves the variables the resolver reads, so tests may change them. */
static void
env_save(void)
{
	const char *s = getenv("CRMPUBSUB_SOCKET"), *x = getenv("XDG_RUNTIME_DIR");

	saved_sock_env = s ? strdup(s) : NULL;
	saved_xdg_env = x ? strdup(x) : NULL;
	unsetenv("CRMPUBSUB_SOCKET");
	unsetenv("XDG_RUNTIME_DIR");
}

static void
env_restore(void)
{
	if (saved_sock_env)
		setenv("CRMPUBSUB_SOCKET", saved_sock_env, 1);
	else
		unsetenv("CRMPUBSUB_SOCKET");
	if (saved_xdg_env)
		setenv("XDG_RUNTIME_DIR", saved_xdg_env, 1);
	else
		unsetenv("XDG_RUNTIME_DIR");
	free(saved_sock_env);
	free(saved_xdg_env);
	saved_sock_env = saved_xdg_env = NULL;
}

/* Whether this process may connect to a socket at path (what the contract
 * asks of a client's candidate). */
static int
reachable(const char *path)
{
	struct stat	st;

	return stat(path, &st) == 0 && S_ISSOCK(st.st_mode) &&
	    access(path, W_OK) == 0;
}

/* The default a daemon of this user takes: the system socket when
 * /run/crmpubsub is a writable directory, else $XDG_RUNTIME_DIR's, else
 * /tmp/crmpubsub-<uid>'s. */
static const char *
daemon_default(const char *xdg)
{
	static char	out[8192];
	struct stat	st;

	if (stat("/run/crmpubsub", &st) == 0 && S_ISDIR(st.st_mode) &&
	    access("/run/crmpubsub", W_OK | X_OK) == 0)
		return "/run/crmpubsub/crmpubsub.sock";
	if (xdg != NULL && xdg[0] == '/')
		snprintf(out, sizeof out, "%s/crmpubsub.sock", xdg);
	else
		snprintf(out, sizeof out, "/tmp/crmpubsub-%u/crmpubsub.sock",
		    (unsigned)getuid());
	return out;
}

/* The path expected once explicit and $CRMPUBSUB_SOCKET are out of play:
 * a client takes the first candidate it can connect to, else (like the
 * daemon) where its own daemon would listen. */
static const char *
expected_default(enum sockpath_role role, const char *xdg)
{
	static char	cand[8192];

	if (role == SOCKPATH_CLIENT) {
		if (reachable("/run/crmpubsub/crmpubsub.sock"))
			return "/run/crmpubsub/crmpubsub.sock";
		if (xdg != NULL && xdg[0] == '/') {
			snprintf(cand, sizeof cand, "%s/crmpubsub.sock", xdg);
			if (reachable(cand))
				return cand;
		}
		snprintf(cand, sizeof cand, "/tmp/crmpubsub-%u/crmpubsub.sock",
		    (unsigned)getuid());
		if (reachable(cand))
			return cand;
	}
	return daemon_default(xdg);
}

/* Resolves and asserts success; returns the path (static storage). */
static const char *
resolve(const char *explicit_path, enum sockpath_role role)
{
	static char	 out[4096 + 64];
	const char	*cause = NULL;

	ck_assert_msg(sockpath_resolve(explicit_path, role, out, sizeof out,
	    &cause) == 0, "resolve failed: %s", cause ? cause : "?");
	return out;
}

/* A listening-less socket file at dir/crmpubsub.sock (asserted). */
static void
bind_socket_in(const char *dir)
{
	struct sockaddr_un	sun;
	int			fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s/crmpubsub.sock", dir);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof sun), 0);
	close(fd);
}

START_TEST(test_sockpath_explicit_wins)
{
	static const enum sockpath_role	roles[] = { SOCKPATH_DAEMON,
	    SOCKPATH_CLIENT };
	size_t				i;

	for (i = 0; i < 2; i++) {
		setenv("CRMPUBSUB_SOCKET", "/env/crmpubsub.sock", 1);
		setenv("XDG_RUNTIME_DIR", "/xdg", 1);
		ck_assert_str_eq(resolve("/explicit/s.sock", roles[i]),
		    "/explicit/s.sock");
		ck_assert_str_eq(resolve("relative.sock", roles[i]),
		    "relative.sock");
		/* An empty explicit path is no explicit path. */
		ck_assert_str_eq(resolve("", roles[i]), "/env/crmpubsub.sock");
		ck_assert_str_eq(resolve(NULL, roles[i]), "/env/crmpubsub.sock");
	}
}
END_TEST

START_TEST(test_sockpath_env_then_fallbacks)
{
	static const enum sockpath_role	roles[] = { SOCKPATH_DAEMON,
	    SOCKPATH_CLIENT };
	size_t				i;

	for (i = 0; i < 2; i++) {
		/* $CRMPUBSUB_SOCKET beats the system dir and XDG. */
		setenv("CRMPUBSUB_SOCKET", "/env/x.sock", 1);
		setenv("XDG_RUNTIME_DIR", "/run/user/4242", 1);
		ck_assert_str_eq(resolve(NULL, roles[i]), "/env/x.sock");
		/* Empty $CRMPUBSUB_SOCKET is unset. */
		setenv("CRMPUBSUB_SOCKET", "", 1);
		ck_assert_str_eq(resolve(NULL, roles[i]),
		    expected_default(roles[i], "/run/user/4242"));
		unsetenv("CRMPUBSUB_SOCKET");
		ck_assert_str_eq(resolve(NULL, roles[i]),
		    expected_default(roles[i], "/run/user/4242"));
		/* Without XDG_RUNTIME_DIR (or with an empty or relative one):
		 * /tmp/crmpubsub-<uid>. */
		unsetenv("XDG_RUNTIME_DIR");
		ck_assert_str_eq(resolve(NULL, roles[i]),
		    expected_default(roles[i], NULL));
		setenv("XDG_RUNTIME_DIR", "", 1);
		ck_assert_str_eq(resolve(NULL, roles[i]),
		    expected_default(roles[i], NULL));
		setenv("XDG_RUNTIME_DIR", "relative/dir", 1);
		ck_assert_str_eq(resolve(NULL, roles[i]),
		    expected_default(roles[i], NULL));
	}
}
END_TEST

/* A client goes to the socket that exists under $XDG_RUNTIME_DIR; the
 * daemon's choice does not depend on sockets that exist. (The system socket
 * comes first for a client that may connect to it; it-access tests the
 * ordinary user whom a root daemon's socket refuses.) */
START_TEST(test_sockpath_client_finds_socket)
{
	char		 dir[] = "/tmp/unit_sockpath.XXXXXX", want[128];
	const char	*origin = NULL, *cause = NULL;
	char		 out[108];

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(want, sizeof want, "%s/crmpubsub.sock", dir);
	setenv("XDG_RUNTIME_DIR", dir, 1);
	/* No socket yet: where this user's daemon would listen. */
	ck_assert_str_eq(resolve(NULL, SOCKPATH_CLIENT),
	    expected_default(SOCKPATH_CLIENT, dir));
	bind_socket_in(dir);
	ck_assert_str_eq(resolve(NULL, SOCKPATH_DAEMON), daemon_default(dir));
	if (reachable("/run/crmpubsub/crmpubsub.sock"))
		ck_assert_str_eq(resolve(NULL, SOCKPATH_CLIENT),
		    "/run/crmpubsub/crmpubsub.sock");
	else {
		ck_assert_str_eq(resolve(NULL, SOCKPATH_CLIENT), want);
		ck_assert_int_eq(sockpath_resolve_origin(NULL, SOCKPATH_CLIENT,
		    out, sizeof out, &cause, &origin), 0);
		ck_assert_str_eq(origin, "$XDG_RUNTIME_DIR");
	}
	/* A file that is not a socket is no daemon. */
	ck_assert_int_eq(unlink(want), 0);
	ck_assert_int_eq(mkdir(want, 0700), 0);
	ck_assert_str_eq(resolve(NULL, SOCKPATH_CLIENT),
	    expected_default(SOCKPATH_CLIENT, dir));
	ck_assert_int_eq(rmdir(want), 0);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* Where the path came from, for the daemon's messages. */
START_TEST(test_sockpath_origin)
{
	const char	*origin = NULL, *cause = NULL;
	char		 out[108];

	ck_assert_int_eq(sockpath_resolve_origin("/x.sock", SOCKPATH_DAEMON,
	    out, sizeof out, &cause, &origin), 0);
	ck_assert_str_eq(origin, "-s or the socket setting");
	setenv("CRMPUBSUB_SOCKET", "/env.sock", 1);
	ck_assert_int_eq(sockpath_resolve_origin(NULL, SOCKPATH_DAEMON,
	    out, sizeof out, &cause, &origin), 0);
	ck_assert_str_eq(origin, "$CRMPUBSUB_SOCKET");
	unsetenv("CRMPUBSUB_SOCKET");
	setenv("XDG_RUNTIME_DIR", "/run/user/4242", 1);
	ck_assert_int_eq(sockpath_resolve_origin(NULL, SOCKPATH_DAEMON,
	    out, sizeof out, &cause, &origin), 0);
	ck_assert_str_eq(origin, strcmp(out, "/run/crmpubsub/crmpubsub.sock")
	    == 0 ? "the system default" : "$XDG_RUNTIME_DIR");
	unsetenv("XDG_RUNTIME_DIR");
	ck_assert_int_eq(sockpath_resolve_origin(NULL, SOCKPATH_DAEMON,
	    out, sizeof out, &cause, &origin), 0);
	ck_assert_str_eq(origin, strcmp(out, "/run/crmpubsub/crmpubsub.sock")
	    == 0 ? "the system default" : "the per-user default");
}
END_TEST

START_TEST(test_sockpath_too_long)
{
	char		 small[16], big[8192], *xdg;
	const char	*cause = NULL;
	size_t		 want_len;

	ck_assert_int_eq(sockpath_resolve("/a/rather/long/path.sock",
	    SOCKPATH_DAEMON, small, sizeof small, &cause), -1);
	ck_assert_ptr_nonnull(cause);
	/* The message gives the length and the limit. */
	ck_assert_msg(strstr(cause, "too long") != NULL &&
	    strstr(cause, "24 bytes") != NULL &&
	    strstr(cause, "at most 15") != NULL, "cause: %s", cause);
	cause = NULL;
	ck_assert_int_eq(sockpath_resolve("/exactly15chars", SOCKPATH_CLIENT,
	    small, sizeof small, &cause), 0);
	ck_assert_str_eq(small, "/exactly15chars");
	ck_assert_int_eq(sockpath_resolve("/exactly16chars!", SOCKPATH_CLIENT,
	    small, sizeof small, &cause), -1);
	setenv("CRMPUBSUB_SOCKET", "/env/that/is/too/long.sock", 1);
	cause = NULL;
	ck_assert_int_eq(sockpath_resolve(NULL, SOCKPATH_CLIENT, small,
	    sizeof small, &cause), -1);
	ck_assert_ptr_nonnull(cause);
	unsetenv("CRMPUBSUB_SOCKET");
	/* A very long XDG_RUNTIME_DIR must give its full path or an error,
	 * never a silently shortened path. */
	if (strcmp(daemon_default(NULL), "/run/crmpubsub/crmpubsub.sock") == 0)
		return;
	xdg = malloc(5001);
	ck_assert_ptr_nonnull(xdg);
	xdg[0] = '/';
	memset(xdg + 1, 'x', 4999);
	xdg[5000] = '\0';
	setenv("XDG_RUNTIME_DIR", xdg, 1);
	want_len = strlen(xdg) + strlen("/crmpubsub.sock");
	cause = NULL;
	if (sockpath_resolve(NULL, SOCKPATH_DAEMON, big, sizeof big,
	    &cause) == 0) {
		ck_assert_msg(strlen(big) == want_len,
		    "XDG path of %zu bytes resolved to %zu bytes",
		    want_len, strlen(big));
		ck_assert_int_eq(strncmp(big, xdg, 5000), 0);
	} else
		ck_assert_msg(cause != NULL && strstr(cause, "5015 bytes"),
		    "cause: %s", cause ? cause : "(none)");
	free(xdg);
}
END_TEST

/* ---- suite ------------------------------------------------------------------------- */

static Suite *
proto_suite(void)
{
	Suite	*s = suite_create("unit_proto");
	TCase	*tc;

	tc = tcase_create("uuid");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_uuid_case_roundtrip);
	tcase_add_test(tc, test_uuid_random_roundtrip);
	tcase_add_test(tc, test_uuid_agrees_with_libuuid);
	tcase_add_test(tc, test_uuid_not_nul_terminated);
	tcase_add_test(tc, test_uuid_wrong_lengths);
	tcase_add_test(tc, test_uuid_braces_and_urn);
	tcase_add_test(tc, test_uuid_dashes);
	tcase_add_test(tc, test_uuid_non_hex);
	tcase_add_test(tc, test_uuid_embedded_nul);
	tcase_add_test(tc, test_uuid_list_first_occurrence);
	tcase_add_test(tc, test_uuid_list_threshold);
	tcase_add_test(tc, test_uuid_list_clear_reuse);
	tcase_add_test(tc, test_uuid_list_10000);
	suite_add_tcase(s, tc);

	tc = tcase_create("topic_event");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_topic_canonical);
	tcase_add_test(tc, test_topic_rejects);
	tcase_add_test(tc, test_events);
	suite_add_tcase(s, tc);

	tc = tcase_create("involved");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_involved_subject_only);
	tcase_add_test(tc, test_involved_parties_shapes);
	tcase_add_test(tc, test_involved_party_not_object);
	tcase_add_test(tc, test_involved_dedup_case_order);
	tcase_add_test(tc, test_involved_bad_uuids);
	tcase_add_test(tc, test_involved_max_contacts);
	tcase_add_test(tc, test_involved_check_order);
	tcase_add_test(tc, test_involved_from_list);
	tcase_add_test(tc, test_involved_uuid_field);
	suite_add_tcase(s, tc);

	tc = tcase_create("encoding");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_push_crm_bytes);
	tcase_add_test(tc, test_push_resync_shutdown_bytes);
	tcase_add_test(tc, test_reply_begin_end_ids);
	tcase_add_test(tc, test_reply_id_length);
	tcase_add_test(tc, test_reply_fields_and_key_commas);
	tcase_add_test(tc, test_reply_error_bytes);
	tcase_add_test(tc, test_reply_error_every_code);
	tcase_add_test(tc, test_jstr_escaping);
	tcase_add_test(tc, test_proto_error_names);
	tcase_add_test(tc, test_proto_failf);
	suite_add_tcase(s, tc);

	tc = tcase_create("buf");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_buf_growth);
	tcase_add_test(tc, test_buf_consume_compaction);
	tcase_add_test(tc, test_buf_numbers);
	tcase_add_test(tc, test_buf_truncate_failed_mark);
	suite_add_tcase(s, tc);

	/* Size overflow in buf_reserve: a bug here can spin, so a short
	 * timeout of its own. */
	tc = tcase_create("buf_overflow");
	tcase_set_timeout(tc, 3);
	tcase_add_test(tc, test_buf_reserve_wraps);
	tcase_add_test(tc, test_buf_reserve_huge);
	suite_add_tcase(s, tc);

	tc = tcase_create("sockpath");
	tcase_set_timeout(tc, 10);
	tcase_add_checked_fixture(tc, env_save, env_restore);
	tcase_add_test(tc, test_sockpath_explicit_wins);
	tcase_add_test(tc, test_sockpath_env_then_fallbacks);
	tcase_add_test(tc, test_sockpath_client_finds_socket);
	tcase_add_test(tc, test_sockpath_origin);
	tcase_add_test(tc, test_sockpath_too_long);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(proto_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
