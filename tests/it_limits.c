/* SPDX-License-Identifier: MIT — crmpubsub */
/* Integration suite for every configured limit of the real daemon: connections, subscriptions, contacts, line length, the slow-consumer output budget, the lag timeout and unread replies. */

#include <sys/types.h>
#include <sys/resource.h>

#include <check.h>
#include <signal.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define KIB		1024L

static long long	 held_count(struct h_conn *c);
static json_t		*client_by_id(struct h_conn *c, long long id);
static long long	 hello_id(struct h_conn *c, const char *name);
static int		 topic_listed(struct h_conn *c, unsigned long n);
static char		*sized_ping(size_t len, int with_cr);
static long		 quarantine_kib(pid_t pid);

/* Topics this connection holds, read without changing anything
 * (unsubscribe with an empty list is a no-op). */
static long long
held_count(struct h_conn *c)
{
	json_t *r = h_request(c, "{\"op\":\"unsubscribe\",\"topics\":[]}");
	long long v = -1;

	if (h_is_ok(r))
		v = h_int(r, "subscribed");
	json_decref(r);
	return v;
}

/* The clients[] entry with that id (new reference), or NULL. */
static json_t *
client_by_id(struct h_conn *c, long long id)
{
	json_t *r = h_request(c, "{\"op\":\"clients\"}"), *e, *found = NULL;
	size_t i;

	if (!h_is_ok(r)) {
		json_decref(r);
		return NULL;
	}
	json_array_foreach(json_object_get(r, "clients"), i, e) {
		if (h_int(e, "id") == id) {
			found = json_incref(e);
			break;
		}
	}
	json_decref(r);
	return found;
}

/* hello with a name; returns the client_id. */
static long long
hello_id(struct h_conn *c, const char *name)
{
	json_t *r = h_requestf(c, "{\"op\":\"hello\",\"name\":\"%s\"}", name);
	long long id;

	ck_assert(h_is_ok(r));
	id = h_int(r, "client_id");
	json_decref(r);
	ck_assert_int_ge(id, 0);
	return id;
}

/* 1 when h_topic(n) appears in the topics op's listing. */
static int
topic_listed(struct h_conn *c, unsigned long n)
{
	json_t *r = h_request(c, "{\"op\":\"topics\"}"), *e;
	char t[80];
	size_t i;
	int found = 0;

	ck_assert(h_is_ok(r));
	h_topic(n, t);
	json_array_foreach(json_object_get(r, "topics"), i, e) {
		const char *s = h_str(e, "topic");

		if (s != NULL && strcmp(s, t) == 0)
			found = 1;
	}
	json_decref(r);
	return found;
}

/* A ping request of exactly len bytes before "\n" (the optional "\r"
 * counted in len). */
static char *
sized_ping(size_t len, int with_cr)
{
	static const char head[] = "{\"op\":\"ping\",\"pad\":\"", tail[] = "\"}";
	size_t fixed = strlen(head) + strlen(tail) + (with_cr ? 1 : 0), pad;
	char *s;

	ck_assert_uint_ge(len, fixed);
	pad = len - fixed;
	s = malloc(len + 2);
	ck_assert_ptr_nonnull(s);
	memcpy(s, head, strlen(head));
	memset(s + strlen(head), 'x', pad);
	memcpy(s + strlen(head) + pad, tail, strlen(tail));
	if (with_cr)
		s[len - 1] = '\r';
	s[len] = '\n';
	s[len + 1] = '\0';
	return s;
}

/* KiB that a sanitizer build of the daemon may keep in its free-memory
 * quarantine (ASAN_OPTIONS quarantine_size_mb, default 256 MiB); 0 for a
 * plain build. Freed memory held there shows up in RSS. */
static long
quarantine_kib(pid_t pid)
{
	char path[64], *env, *p, *q;
	long mib = 256, n;
	size_t len = 0;
	FILE *f;
	int asan = 0;

	snprintf(path, sizeof path, "/proc/%ld/maps", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	env = malloc(1 << 16);
	ck_assert_ptr_nonnull(env);
	while (fgets(env, 1 << 16, f) != NULL)
		if (strstr(env, "libasan") != NULL)
			asan = 1;
	fclose(f);
	snprintf(path, sizeof path, "/proc/%ld/environ", (long)pid);
	if (asan && (f = fopen(path, "r")) != NULL) {
		len = fread(env, 1, (1 << 16) - 1, f);
		fclose(f);
	}
	env[len] = '\0';
	for (p = env; asan && p < env + len; p += strlen(p) + 1) {
		if (strncmp(p, "ASAN_OPTIONS=", 13) != 0)
			continue;
		if ((q = strstr(p, "quarantine_size_mb=")) != NULL &&
		    (n = strtol(q + 19, NULL, 10)) >= 0)
			mib = n;
		break;
	}
	free(env);
	return asan ? mib * 1024 : 0;
}

/* max_connections: N served, the (N+1)th gets one too_many line with op
 * null and EOF, and a freed slot is usable again. */
START_TEST(test_max_connections)
{
	const char *args[] = { "--max-connections", "3", NULL };
	struct h_conn *c[3], *extra;
	char line[4096];
	json_t *r;
	long n;
	int i;

	h_test_up(args);
	c[0] = h_test_conn();
	/* The readiness probe's connection must be gone before counting. */
	ck_assert(h_wait_stat(c[0], "connections", 1, H_TIMEOUT_MS));
	for (i = 1; i < 3; i++) {
		c[i] = h_test_conn();
		h_expect_okf(c[i], NULL, "{\"op\":\"ping\"}");
	}
	ck_assert_int_eq(h_stat(c[0], "connections"), 3);

	extra = h_test_conn();
	n = h_recv_line(extra, line, sizeof line, H_TIMEOUT_MS);
	ck_assert_int_gt(n, 0);
	r = json_loads(line, 0, NULL);
	ck_assert_msg(r != NULL, "not JSON: %s", line);
	ck_assert_msg(h_is_error(r, "too_many"), "got %s", line);
	ck_assert(json_is_null(json_object_get(r, "op")));
	ck_assert(json_is_string(json_object_get(r, "message")));
	ck_assert_ptr_null(json_object_get(r, "type"));
	json_decref(r);
	/* Exactly one line, then EOF. */
	ck_assert_int_eq(h_recv_line(extra, line, sizeof line, H_TIMEOUT_MS), -2);
	h_close(extra);
	ck_assert_int_eq(h_stat(c[0], "connections"), 3);

	h_close(c[1]);
	ck_assert(h_wait_stat(c[0], "connections", 2, H_TIMEOUT_MS));
	c[1] = h_test_conn();
	r = h_request(c[1], "{\"op\":\"ping\"}");
	ck_assert_msg(h_is_ok(r), "a freed slot is not reusable");
	json_decref(r);
	ck_assert_int_eq(h_stat(c[0], "connections"), 3);

	for (i = 0; i < 3; i++)
		h_close(c[i]);
}
END_TEST

/* max_subscriptions through one topics list: a list over the limit, or one
 * that would take the connection over it, is too_many and changes nothing. */
START_TEST(test_max_subscriptions_list)
{
	const char *args[] = { "--max-subscriptions", "4", NULL };
	struct h_conn *a;
	char t[80];
	json_t *r;

	h_test_up(args);
	a = h_test_conn();

	r = h_subscribe_range(a, 1, 5);
	ck_assert(h_is_error(r, "too_many"));
	ck_assert_str_eq(h_str(r, "op"), "subscribe");
	json_decref(r);
	ck_assert_int_eq(held_count(a), 0);
	ck_assert_int_eq(h_stat(a, "subscriptions"), 0);
	ck_assert(!topic_listed(a, 1));

	r = h_subscribe_range(a, 1, 4);
	ck_assert(h_is_ok(r));
	ck_assert_int_eq(h_int(r, "subscribed"), 4);
	ck_assert_uint_eq(json_array_size(json_object_get(r, "topics")), 4);
	json_decref(r);

	/* One more new topic, alone or in a list with a held one: too_many,
	 * and neither the new topic nor the count changes. */
	h_topic(5, t);
	h_expect_errorf(a, "too_many",
	    "{\"op\":\"subscribe\",\"topic\":\"%s\"}", t);
	r = h_subscribe_range(a, 4, 2);
	ck_assert(h_is_error(r, "too_many"));
	json_decref(r);
	ck_assert_int_eq(held_count(a), 4);
	ck_assert(!topic_listed(a, 5));
	ck_assert(topic_listed(a, 4));

	/* Re-subscribing a held topic does not exceed the limit. */
	h_topic(1, t);
	ck_assert_int_eq(h_expect_okf(a, "subscribed",
	    "{\"op\":\"subscribe\",\"topic\":\"%s\"}", t), 4);

	/* A freed slot can be used again. */
	ck_assert_int_eq(h_expect_okf(a, "subscribed",
	    "{\"op\":\"unsubscribe\",\"topic\":\"%s\"}", t), 3);
	h_topic(5, t);
	ck_assert_int_eq(h_expect_okf(a, "subscribed",
	    "{\"op\":\"subscribe\",\"topic\":\"%s\"}", t), 4);

	h_close(a);
}
END_TEST

/* max_subscriptions across many subscribe requests, counted per connection. */
START_TEST(test_max_subscriptions_cumulative)
{
	const char *args[] = { "--max-subscriptions", "4", NULL };
	struct h_conn *a, *b;
	char t[80];
	unsigned long i;
	json_t *r;

	h_test_up(args);
	a = h_test_conn();
	b = h_test_conn();

	for (i = 10; i < 12; i++) {
		h_topic(i, t);
		ck_assert_int_eq(h_expect_okf(a, "subscribed",
		    "{\"op\":\"subscribe\",\"topic\":\"%s\"}", t), (long long)(i - 9));
	}
	r = h_subscribe_range(a, 12, 3);
	ck_assert(h_is_error(r, "too_many"));
	json_decref(r);
	ck_assert_int_eq(held_count(a), 2);
	ck_assert(!topic_listed(a, 12));

	r = h_subscribe_range(a, 12, 2);
	ck_assert(h_is_ok(r));
	ck_assert_int_eq(h_int(r, "subscribed"), 4);
	json_decref(r);
	h_topic(14, t);
	h_expect_errorf(a, "too_many",
	    "{\"op\":\"subscribe\",\"topic\":\"%s\"}", t);

	/* The limit is per connection: b has its own four. */
	r = h_subscribe_range(b, 10, 4);
	ck_assert(h_is_ok(r));
	ck_assert_int_eq(h_int(r, "subscribed"), 4);
	json_decref(r);
	h_expect_errorf(b, "too_many",
	    "{\"op\":\"subscribe\",\"topic\":\"%s\"}", t);
	ck_assert_int_eq(h_stat(a, "subscriptions"), 8);
	ck_assert_int_eq(h_stat(a, "topics"), 4);

	h_close(a);
	h_close(b);
}
END_TEST

/* max_contacts: counted as sent (nulls and duplicates included) in
 * contact_uuids, and as parties plus one in broadcast_interaction. */
START_TEST(test_max_contacts)
{
	const char *args[] = { "--max-contacts", "4", NULL };
	struct h_conn *w, *s;
	char u[5][37], iu[37];
	json_t *r, *p;
	int i;

	h_test_up(args);
	w = h_test_conn();
	s = h_test_conn();
	for (i = 0; i < 5; i++)
		h_uuid((unsigned long)(i + 1), u[i]);
	h_uuid(0xaa, iu);
	r = h_subscribe_range(s, 1, 5);
	ck_assert(h_is_ok(r));
	json_decref(r);

	r = h_broadcast_range(w, 0xaa, 1, 5);
	ck_assert(h_is_error(r, "too_many"));
	ck_assert_str_eq(h_str(r, "op"), "broadcast_to_contacts");
	json_decref(r);
	r = h_requestf(w, "{\"op\":\"broadcast_to_contacts\",\"event\":"
	    "\"interaction_updated\",\"interaction_uuid\":\"%s\","
	    "\"contact_uuids\":[\"%s\",null,\"%s\",null,\"%s\"]}",
	    iu, u[0], u[1], u[2]);
	ck_assert_msg(h_is_error(r, "too_many"), "nulls must count as sent");
	json_decref(r);
	r = h_requestf(w, "{\"op\":\"broadcast_to_contacts\",\"event\":"
	    "\"interaction_updated\",\"interaction_uuid\":\"%s\","
	    "\"contact_uuids\":[\"%s\",\"%s\",\"%s\",\"%s\",\"%s\"]}",
	    iu, u[0], u[0], u[0], u[0], u[0]);
	ck_assert_msg(h_is_error(r, "too_many"), "duplicates must count as sent");
	json_decref(r);
	h_expect_errorf(w, "too_many", "{\"op\":\"broadcast_interaction\",\"event\":"
	    "\"interaction_deleted\",\"interaction\":{\"uuid\":\"%s\","
	    "\"contact_uuid\":\"%s\",\"parties\":[{\"contact_uuid\":\"%s\"},"
	    "{\"contact_uuid\":\"%s\"},{\"contact_uuid\":\"%s\"},"
	    "{\"contact_uuid\":\"%s\"}]}}", iu, u[0], u[1], u[2], u[3], u[4]);
	r = h_requestf(w, "{\"op\":\"broadcast_interaction\",\"event\":"
	    "\"interaction_deleted\",\"interaction\":{\"uuid\":\"%s\","
	    "\"contact_uuid\":null,\"parties\":[{\"contact_uuid\":\"%s\"},"
	    "{\"contact_uuid\":\"%s\"},{\"contact_uuid\":\"%s\"},"
	    "{\"contact_uuid\":\"%s\"}]}}", iu, u[1], u[2], u[3], u[4]);
	ck_assert_msg(h_is_error(r, "too_many"), "parties plus one must count");
	json_decref(r);
	/* Refused broadcasts deliver nothing and are not counted. */
	ck_assert(h_silent(s, 200));
	ck_assert_int_eq(h_stat(w, "broadcasts"), 0);
	ck_assert_int_eq(h_stat(w, "delivered"), 0);

	/* At the limit both forms are accepted. */
	r = h_broadcast_range(w, 0xab, 1, 4);
	ck_assert(h_is_ok(r));
	ck_assert_int_eq(h_int(r, "topics"), 4);
	ck_assert_int_eq(h_int(r, "delivered"), 4);
	json_decref(r);
	ck_assert_int_eq(h_expect_okf(w, "topics", "{\"op\":\"broadcast_interaction\",\"event\":"
	    "\"interaction_deleted\",\"interaction\":{\"uuid\":\"%s\","
	    "\"contact_uuid\":\"%s\",\"parties\":[{\"contact_uuid\":\"%s\"},"
	    "{\"contact_uuid\":\"%s\"},{\"contact_uuid\":\"%s\"}]}}",
	    iu, u[4], u[1], u[2], u[3]), 4);
	for (i = 0; i < 8; i++) {
		p = h_recv_push(s, H_TIMEOUT_MS);
		ck_assert_ptr_nonnull(p);
		ck_assert_str_eq(h_str(p, "type"), "crm");
		json_decref(p);
	}
	ck_assert(h_silent(s, 100));
	ck_assert_int_eq(h_stat(w, "broadcasts"), 2);

	h_close(w);
	h_close(s);
}
END_TEST

/* max_line: the limit counts the bytes before "\n", a trailing "\r"
 * included; one byte more is line_too_long and the connection lives on. */
START_TEST(test_max_line)
{
	static const struct {
		size_t		 len;		/* before the newline */
		int		 with_cr;
		const char	*error;		/* NULL: ok */
	} cases[] = {
		{ 64, 0, NULL },
		{ 65, 0, "line_too_long" },
		{ 64, 1, NULL },		/* a tolerated \r within it */
		{ 65, 1, "line_too_long" },	/* the \r counts */
	};
	const char *args[] = { "--max-line", "64", NULL };
	struct h_conn *c;
	char *line;
	json_t *r;
	size_t i;

	h_test_up(args);
	c = h_test_conn();
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		line = sized_ping(cases[i].len, cases[i].with_cr);
		ck_assert_int_eq(h_send(c, line, strlen(line)), 0);
		free(line);
		r = h_recv_reply(c, H_TIMEOUT_MS);
		ck_assert_msg(cases[i].error != NULL ? h_is_error(r,
		    cases[i].error) && json_is_null(json_object_get(r, "op")) :
		    h_is_ok(r), "%zu bytes%s: %s", cases[i].len,
		    cases[i].with_cr ? " with \\r" : "", h_dump(r));
		json_decref(r);
	}
	ck_assert_int_eq(h_expect_okf(c, "id",
	    "{\"op\":\"ping\",\"id\":7}"), 7);
	h_close(c);
}
END_TEST

#define OBUF_LIMIT	(256 * KIB)	/* --max-outbuf of the slow-consumer test */
#define OBUF_CONTACTS	1000		/* topics the slow subscriber holds */
#define OBUF_FLOOD	600		/* broadcasts while it does not read */
#define OBUF_RSS_SLACK	(16 * 1024)	/* KiB: allocator and sanitizer noise */

/* Slow consumer (after Redis obuf-limits.tcl): a subscriber that stops
 * reading loses pushes, never slows the writer, never grows the daemon past
 * a bound, and gets one resync with the exact drop count once it reads. */
START_TEST(test_slow_consumer_outbuf)
{
	const char *args[] = { "--max-outbuf", "262144", "--lag-timeout", "120",
	    NULL };
	struct h_conn *w, *s;
	long long sid, sum_delivered = 0, sum_dropped = 0, worst_ms = 0, t0;
	long long outbuf, dropped, got, last_idx = -1;
	long rss0, rss1;
	json_t *r, *p, *cl;
	char u[37];
	unsigned long i;
	int lagged_at = -1;

	h_test_up(args);
	w = h_test_conn();
	s = h_test_conn();
	sid = hello_id(s, "slow");
	for (i = 0; i < OBUF_CONTACTS; i += 250) {
		r = h_subscribe_range(s, 1 + i, 250);
		ck_assert(h_is_ok(r));
		json_decref(r);
	}
	ck_assert_int_eq(held_count(s), OBUF_CONTACTS);

	/* Warm-up: one broadcast the subscriber reads completely. */
	r = h_broadcast_range(w, 1000000, 1, OBUF_CONTACTS);
	ck_assert(h_is_ok(r));
	ck_assert_int_eq(h_int(r, "delivered"), OBUF_CONTACTS);
	json_decref(r);
	for (i = 0; i < OBUF_CONTACTS; i++) {
		p = h_recv_push(s, H_TIMEOUT_MS);
		ck_assert_ptr_nonnull(p);
		json_decref(p);
	}
	rss0 = h_rss_kib(h_test_daemon.pid);
	ck_assert_int_gt(rss0, 0);

	/* Flood while s does not read: every reply stays prompt. */
	for (i = 0; i < OBUF_FLOOD; i++) {
		long long topics, delivered;

		t0 = h_now_ms();
		r = h_broadcast_range(w, 1000001 + i, 1, OBUF_CONTACTS);
		if (h_now_ms() - t0 > worst_ms)
			worst_ms = h_now_ms() - t0;
		ck_assert_msg(h_is_ok(r), "broadcast %lu got no ok reply", i);
		topics = h_int(r, "topics");
		delivered = h_int(r, "delivered");
		json_decref(r);
		ck_assert_int_eq(topics, OBUF_CONTACTS);
		ck_assert(delivered >= 0 && delivered <= topics);
		sum_delivered += delivered;
		sum_dropped += topics - delivered;
		if (lagged_at < 0 && delivered < topics)
			lagged_at = (int)i;
	}
	ck_assert_msg(lagged_at >= 0, "no push dropped after %d broadcasts",
	    OBUF_FLOOD);
	ck_assert_msg(worst_ms < 1000, "writer waited %lld ms for a reply",
	    worst_ms);
	dropped = h_stat(w, "dropped");
	ck_assert_int_gt(dropped, 0);
	ck_assert_int_eq(dropped, sum_dropped);
	ck_assert_int_eq(h_stat(w, "delivered"), OBUF_CONTACTS + sum_delivered);

	/* Queued output is visible and within the limit. */
	cl = client_by_id(w, sid);
	ck_assert_ptr_nonnull(cl);
	outbuf = h_int(cl, "outbuf");
	json_decref(cl);
	ck_assert_msg(outbuf > OBUF_LIMIT / 2 && outbuf <= OBUF_LIMIT,
	    "lagged subscriber outbuf %lld, limit %ld", outbuf, OBUF_LIMIT);

	/* Memory: a queue that kept every push would hold about
	 * OBUF_FLOOD * OBUF_CONTACTS * 190 bytes (over 100 MiB); the daemon
	 * may grow by at most 4 * max_outbuf plus a fixed slack (plus the
	 * sanitizer's quarantine in a sanitizer build: make check sets 8 MiB). */
	rss1 = h_rss_kib(h_test_daemon.pid);
	ck_assert_msg(rss1 - rss0 < 4 * OBUF_LIMIT / KIB + OBUF_RSS_SLACK +
	    quarantine_kib(h_test_daemon.pid), "RSS grew from %ld to %ld KiB", rss0, rss1);

	/* Now s reads: the queued pushes in order, one resync, nothing else. */
	for (got = 0;; got++) {
		const char *type, *iu;
		long long idx;

		p = h_recv_push(s, H_TIMEOUT_MS);
		ck_assert_msg(p != NULL, "stream ended after %lld pushes", got);
		type = h_str(p, "type");
		ck_assert_ptr_nonnull(type);
		if (strcmp(type, "resync") == 0)
			break;
		ck_assert_str_eq(type, "crm");
		iu = h_str(json_object_get(p, "payload"), "interaction_uuid");
		ck_assert_ptr_nonnull(iu);
		idx = strtoll(iu + 24, NULL, 16);
		ck_assert_msg(idx >= last_idx, "push order broken");
		last_idx = idx;
		json_decref(p);
	}
	ck_assert_str_eq(h_str(p, "reason"), "lagged");
	ck_assert_int_eq(h_int(p, "dropped"), dropped);
	ck_assert_ptr_null(json_object_get(p, "ok"));
	json_decref(p);
	ck_assert_int_eq(got, sum_delivered);
	ck_assert(h_silent(s, 100));
	ck_assert_int_eq(h_stat(w, "resyncs"), 1);

	/* Normal pushes resume and the queue is empty again. */
	r = h_broadcast_range(w, 2000000, 1, 3);
	ck_assert(h_is_ok(r));
	ck_assert_int_eq(h_int(r, "delivered"), 3);
	json_decref(r);
	h_uuid(2000000, u);
	for (i = 0; i < 3; i++) {
		p = h_recv_push(s, H_TIMEOUT_MS);
		ck_assert_ptr_nonnull(p);
		ck_assert_str_eq(h_str(p, "type"), "crm");
		ck_assert_str_eq(h_str(json_object_get(p, "payload"),
		    "interaction_uuid"), u);
		json_decref(p);
	}
	cl = client_by_id(w, sid);
	ck_assert_ptr_nonnull(cl);
	ck_assert_int_eq(h_int(cl, "outbuf"), 0);
	json_decref(cl);
	ck_assert_int_eq(h_stat(w, "dropped"), dropped);

	h_close(w);
	h_close(s);
}
END_TEST

/* lag_timeout: a subscriber that stays lagged is closed after the timeout
 * (not before), while a reading subscriber of the same topic stays. */
START_TEST(test_lag_timeout_closes)
{
	const char *args[] = { "--max-outbuf", "4096", "--lag-timeout", "0.5",
	    NULL };
	struct h_conn *w, *s, *reader;
	long long t_first_drop = -1, t_closed, t0;
	char t[80];
	json_t *r, *p;
	int i;

	h_test_up(args);
	w = h_test_conn();
	s = h_test_conn();
	reader = h_test_conn();
	r = h_subscribe_range(s, 1, 10);
	ck_assert(h_is_ok(r));
	json_decref(r);
	h_topic(1, t);
	h_expect_okf(reader, NULL,
	    "{\"op\":\"subscribe\",\"topic\":\"%s\"}", t);
	ck_assert(h_wait_stat(w, "connections", 3, H_TIMEOUT_MS));

	/* Ten pushes (~2 KB) per broadcast fit the 4 KB limit, so drops start
	 * only once the socket buffer is full and the queue has grown. */
	for (i = 0; i < 20000 && t_first_drop < 0; i++) {
		t0 = h_now_ms();
		r = h_broadcast_range(w, 3000000 + (unsigned long)i, 1, 10);
		ck_assert(h_is_ok(r));
		/* 10 to s and 1 to reader, unless s dropped some. */
		if (h_int(r, "delivered") < 11)
			t_first_drop = t0;
		json_decref(r);
		p = h_recv_push(reader, H_TIMEOUT_MS);
		ck_assert_ptr_nonnull(p);
		json_decref(p);
	}
	ck_assert_msg(t_first_drop >= 0, "s never lagged");

	ck_assert_msg(h_wait_stat(w, "connections", 2, 5000),
	    "lagged connection was not closed");
	t_closed = h_now_ms();
	ck_assert_msg(t_closed - t_first_drop >= 450,
	    "closed %lld ms after the first drop, lag_timeout is 500 ms",
	    t_closed - t_first_drop);
	ck_assert_msg(h_wait_eof(s, H_TIMEOUT_MS), "no EOF on the lagged one");
	ck_assert_int_eq(h_stat(w, "subscriptions"), 1);

	/* The reader is untouched. */
	r = h_broadcast_range(w, 3999999, 1, 1);
	ck_assert(h_is_ok(r));
	ck_assert_int_eq(h_int(r, "delivered"), 1);
	json_decref(r);
	p = h_recv_push(reader, H_TIMEOUT_MS);
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(h_str(p, "type"), "crm");
	json_decref(p);

	h_close(w);
	h_close(s);
	h_close(reader);
}
END_TEST

/* A connection that pipelines requests and never reads its replies is
 * closed once they pile up past 2 * max_outbuf; the daemon never stops
 * reading it meanwhile. */
START_TEST(test_unread_replies_close)
{
	const char *args[] = { "--max-outbuf", "4096", NULL };
	struct h_conn *w, *p;
	char batch[200 * 16];
	size_t off = 0;
	int i, closed = 0;

	h_test_up(args);
	w = h_test_conn();
	p = h_test_conn();
	ck_assert(h_wait_stat(w, "connections", 2, H_TIMEOUT_MS));
	for (i = 0; i < 200; i++)
		off += (size_t)sprintf(batch + off, "{\"op\":\"stats\"}\n");

	/* Each stats reply is ~200 bytes; 4000 batches are ~160 MB of
	 * replies, far beyond any socket buffer plus 8 KiB. */
	for (i = 0; i < 4000; i++) {
		if (h_send(p, batch, off) == -1) {
			closed = 1;
			break;
		}
		if (i % 20 == 19 && h_stat(w, "connections") == 1) {
			closed = 1;
			break;
		}
	}
	ck_assert_msg(closed, "pipelining connection never closed");
	ck_assert(h_wait_stat(w, "connections", 1, H_TIMEOUT_MS));
	ck_assert(h_wait_eof(p, H_TIMEOUT_MS));

	h_close(w);
	h_close(p);
}
END_TEST

/* A pipelining client that does read is served in order and not closed,
 * even with a small output limit. */
START_TEST(test_pipelined_reader_served)
{
	const char *args[] = { "--max-outbuf", "4096", NULL };
	struct h_conn *c;
	char *batch;
	size_t off = 0;
	json_t *r;
	int i;

	h_test_up(args);
	c = h_test_conn();
	batch = malloc(1000 * 32);
	ck_assert_ptr_nonnull(batch);
	for (i = 0; i < 1000; i++)
		off += (size_t)sprintf(batch + off, "{\"op\":\"ping\",\"id\":%d}\n",
		    i);
	ck_assert_int_eq(h_send(c, batch, off), 0);
	free(batch);
	for (i = 0; i < 1000; i++) {
		r = h_recv_reply(c, H_TIMEOUT_MS);
		ck_assert_msg(h_is_ok(r), "reply %d missing", i);
		ck_assert_int_eq(h_int(r, "id"), i);
		json_decref(r);
	}
	h_expect_okf(c, NULL, "{\"op\":\"ping\"}");
	h_close(c);
}
END_TEST

/* ---- inspection replies: bounded, complete, paged ---------------------- */

#define PAGE_TOPICS	12000	/* topics of the paging test */
#define PAGE_CLIENTS	1100	/* connections of the clients paging test */

/* Subscribes c to h_topic(first) … h_topic(first+n-1), 800 per request. */
static void
subscribe_range(struct h_conn *c, unsigned long first, unsigned long n)
{
	unsigned long k, step;
	json_t *r;

	for (k = 0; k < n; k += step) {
		step = n - k < 800 ? n - k : 800;
		r = h_subscribe_range(c, first + k, step);
		ck_assert_msg(h_is_ok(r), "subscribe: %s", h_dump(r));
		json_decref(r);
	}
}

/* Sends a list request and returns its reply, asserted ok, complete and
 * holding an array named key and a boolean truncated. */
static json_t *
list_page(struct h_conn *c, const char *key, const char *line)
{
	json_t *r;

	ck_assert_int_eq(h_send_line(c, line), 0);
	r = h_recv_long_reply(c, 4 * H_TIMEOUT_MS);
	ck_assert_msg(h_is_ok(r), "%s: got %s", line, r ? h_dump(r) :
	    "no complete reply");
	ck_assert_msg(json_is_array(json_object_get(r, key)) &&
	    json_is_boolean(json_object_get(r, "truncated")), "%s: shape",
	    line);
	return r;
}

/* Index n of topic name t when it is h_topic(n) with n < PAGE_TOPICS,
 * else -1. */
static long
page_topic_number(const char *t)
{
	char want[80];
	unsigned long n;

	if (t == NULL || strlen(t) != 61 ||
	    sscanf(t + 36, "%12lx", &n) != 1 || n >= PAGE_TOPICS)
		return -1;
	h_topic(n, want);
	return strcmp(t, want) == 0 ? (long)n : -1;
}

/* A topics list far larger than max_outbuf comes back whole, a page at a
 * time (at most the maximum limit), in name order; paging with the last
 * topic as the cursor lists each topic exactly once while other topics
 * come and go and the table grows between pages. */
START_TEST(test_topics_pages)
{
	const char *args[] = { "--max-outbuf", "4096", "--max-subscriptions",
	    "20000", NULL };
	struct h_conn *s, *q, *e;
	unsigned char *seen;
	char line[200], last[80];
	long rss0, rss1, n;
	unsigned long churn = 100000;
	size_t i, pages = 0, stable = 0;
	json_t *r, *arr, *t;
	int more;

	h_test_up(args);
	s = h_test_conn();
	q = h_test_conn();
	e = h_test_conn();
	subscribe_range(s, 0, PAGE_TOPICS);
	rss0 = h_rss_kib(h_test_daemon.pid);

	/* One request for the maximum: 10,000 topics (about 1 MB), in
	 * order, the rest announced. A larger limit means the maximum. */
	r = list_page(q, "topics", "{\"op\":\"topics\",\"limit\":10000}");
	arr = json_object_get(r, "topics");
	ck_assert_uint_eq(json_array_size(arr), 10000);
	ck_assert(json_is_true(json_object_get(r, "truncated")));
	json_array_foreach(arr, i, t) {
		ck_assert_msg(page_topic_number(h_str(t, "topic")) == (long)i &&
		    h_int(t, "subscribers") == 1, "entry %zu: %s", i, h_dump(t));
	}
	json_decref(r);
	r = list_page(q, "topics", "{\"op\":\"topics\",\"limit\":50000}");
	ck_assert_uint_eq(json_array_size(json_object_get(r, "topics")), 10000);
	json_decref(r);
	ck_assert_int_eq(h_stat_or_fail(q, "slow_closed"), 0);

	/* Page by the default limit; between pages a third connection drops
	 * its 5,000 topics and takes 5,000 new ones (the table doubles). */
	seen = calloc(PAGE_TOPICS, 1);
	ck_assert_ptr_nonnull(seen);
	last[0] = '\0';
	do {
		if (last[0] == '\0')
			snprintf(line, sizeof line, "{\"op\":\"topics\"}");
		else
			snprintf(line, sizeof line, "{\"op\":\"topics\","
			    "\"after\":\"%s\"}", last);
		r = list_page(q, "topics", line);
		arr = json_object_get(r, "topics");
		more = json_is_true(json_object_get(r, "truncated"));
		ck_assert_msg(json_array_size(arr) == 1000 || !more,
		    "page %zu: %zu topics and truncated", pages,
		    json_array_size(arr));
		json_array_foreach(arr, i, t) {
			ck_assert_msg(h_str(t, "topic") != NULL &&
			    strcmp(h_str(t, "topic"), last) > 0,
			    "page %zu: %s not after %s", pages,
			    h_str(t, "topic"), last);
			snprintf(last, sizeof last, "%s", h_str(t, "topic"));
			if ((n = page_topic_number(last)) >= 0) {
				ck_assert_msg(seen[n] == 0, "topic %ld twice", n);
				seen[n] = 1;
				stable++;
			}
		}
		json_decref(r);
		h_expect_okf(e, NULL, "{\"op\":\"unsubscribe\"}");
		subscribe_range(e, churn, 5000);
		churn += 5000;
		pages++;
	} while (more && pages < 100);
	ck_assert_uint_eq(stable, PAGE_TOPICS);
	free(seen);

	/* Bad cursors. */
	h_expect_errorf(q, "bad_topic", "{\"op\":\"topics\",\"after\":\"x\"}");
	h_expect_errorf(q, "bad_request", "{\"op\":\"topics\",\"after\":7}");
	h_expect_errorf(q, "bad_request", "{\"op\":\"topics\",\"limit\":-1}");
	ck_assert_int_eq(h_stat_or_fail(q, "slow_closed"), 0);
	/* Pages leave no large buffers behind. */
	rss1 = h_rss_kib(h_test_daemon.pid);
	ck_assert_msg(rss1 - rss0 < 16 * 1024 + quarantine_kib(h_test_daemon.pid),
	    "RSS %ld KiB before paging, %ld KiB after", rss0, rss1);
	h_close(s);
	h_close(q);
	h_close(e);
}
END_TEST

/* A clients list far larger than max_outbuf (names full of bytes that are
 * escaped sixfold) comes back whole, a page at a time, in id order; each
 * client is listed exactly once. */
/* Raises this process's descriptor limit (an ordinary user's soft limit
 * is often 1024) to hold n; the daemon, started after, inherits it. */
static void
nofile_at_least(rlim_t n)
{
	struct rlimit	 rl;

	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	ck_assert_msg(rl.rlim_max >= n, "the hard descriptor limit %llu is "
	    "below the %llu this test needs", (unsigned long long)rl.rlim_max,
	    (unsigned long long)n);
	if (rl.rlim_cur < n) {
		rl.rlim_cur = n;
		ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	}
}

START_TEST(test_clients_pages)
{
	const char *args[] = { "--max-outbuf", "4096", NULL };
	struct h_conn **cs, *q;
	long long ids[PAGE_CLIENTS + 1], last = 0, id;
	char name[128 * 6 + 1], line[1024];
	size_t i, k, found = 0, pages = 0;
	json_t *r, *arr, *cl;
	int more;

	for (i = 0; i < 128; i++)
		memcpy(name + 6 * i, "\\u0001", 6);
	name[6 * 128] = '\0';
	nofile_at_least(PAGE_CLIENTS + 64);
	h_test_up(args);
	cs = calloc(PAGE_CLIENTS, sizeof *cs);
	ck_assert_ptr_nonnull(cs);
	for (i = 0; i < PAGE_CLIENTS; i++) {
		cs[i] = h_test_conn();
		ids[i] = hello_id(cs[i], name);
	}
	q = h_test_conn();
	ids[PAGE_CLIENTS] = hello_id(q, "q");

	r = list_page(q, "clients", "{\"op\":\"clients\",\"limit\":1000000}");
	ck_assert_uint_eq(json_array_size(json_object_get(r, "clients")), 1000);
	ck_assert(json_is_true(json_object_get(r, "truncated")));
	json_decref(r);
	r = list_page(q, "clients", "{\"op\":\"clients\",\"limit\":0}");
	ck_assert_uint_eq(json_array_size(json_object_get(r, "clients")), 0);
	ck_assert(json_is_true(json_object_get(r, "truncated")));
	json_decref(r);

	/* Pages of 300: ids ascending, every client once. */
	do {
		snprintf(line, sizeof line, "{\"op\":\"clients\",\"limit\":300,"
		    "\"after\":%lld}", last);
		r = list_page(q, "clients", line);
		arr = json_object_get(r, "clients");
		more = json_is_true(json_object_get(r, "truncated"));
		json_array_foreach(arr, i, cl) {
			id = h_int(cl, "id");
			ck_assert_msg(id > last, "id %lld after %lld", id, last);
			last = id;
			for (k = 0; k <= PAGE_CLIENTS; k++)
				found += ids[k] == id;
		}
		json_decref(r);
		pages++;
	} while (more && pages < 100);
	ck_assert_uint_eq(found, PAGE_CLIENTS + 1);
	ck_assert_uint_eq(pages, (PAGE_CLIENTS + 1 + 299) / 300);
	h_expect_errorf(q, "bad_request", "{\"op\":\"clients\",\"after\":-1}");
	h_expect_errorf(q, "bad_request",
	    "{\"op\":\"clients\",\"after\":\"7\"}");
	ck_assert_int_eq(h_stat_or_fail(q, "slow_closed"), 0);
	for (i = 0; i < PAGE_CLIENTS; i++)
		h_close(cs[i]);
	free(cs);
	h_close(q);
}
END_TEST

/* Writes text to path (the daemon reads it only on SIGHUP, sent after). */
static void
write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert(fputs(text, f) >= 0 && fclose(f) == 0);
}

/* hello's max_line from c, or -1. */
static long long
hello_max_line(struct h_conn *c)
{
	json_t *r = h_request(c, "{\"op\":\"hello\"}");
	long long v = h_is_ok(r) ? h_int(r, "max_line") : -1;

	json_decref(r);
	return v;
}

/* hello announces the limits in force: the configured ones, and a
 * reload's new ones. */
START_TEST(test_hello_announces_limits)
{
	char dir[256], path[320];
	const char *args[] = { "-c", path, NULL };
	struct h_conn *c;
	long long deadline;
	json_t *r;

	h_scratch_make(dir, sizeof dir, "hello");
	snprintf(path, sizeof path, "%s/crmpubsubd.conf", dir);
	write_text(path, "max_line = 4096\nmax_subscriptions = 7\n"
	    "max_contacts = 3\n");
	h_test_up(args);
	c = h_test_conn();
	r = h_request(c, "{\"op\":\"hello\"}");
	ck_assert_msg(h_is_ok(r), "hello: %s", h_dump(r));
	ck_assert_int_eq(h_int(r, "max_line"), 4096);
	ck_assert_int_eq(h_int(r, "max_subscriptions"), 7);
	ck_assert_int_eq(h_int(r, "max_contacts"), 3);
	ck_assert_int_ge(h_int(r, "uptime_s"), 0);
	json_decref(r);

	write_text(path, "max_line = 8192\nmax_subscriptions = 9\n"
	    "max_contacts = 5\n");
	ck_assert_int_eq(kill(h_test_daemon.pid, SIGHUP), 0);
	deadline = h_now_ms() + H_TIMEOUT_MS;
	while (hello_max_line(c) != 8192 && h_now_ms() < deadline)
		h_nap_ms(20);
	r = h_request(c, "{\"op\":\"hello\"}");
	ck_assert_msg(h_int(r, "max_line") == 8192 &&
	    h_int(r, "max_subscriptions") == 9 &&
	    h_int(r, "max_contacts") == 5, "after reload: %s", h_dump(r));
	json_decref(r);
	h_close(c);
	h_scratch_remove(dir);
}
END_TEST

/* clients[].outbuf is 0 for an idle connection. */
START_TEST(test_outbuf_idle_zero)
{
	struct h_conn *a, *b;
	long long id;
	json_t *cl;

	h_test_up(NULL);
	a = h_test_conn();
	b = h_test_conn();
	id = hello_id(b, "idle");
	cl = client_by_id(a, id);
	ck_assert_ptr_nonnull(cl);
	ck_assert_int_eq(h_int(cl, "outbuf"), 0);
	ck_assert_str_eq(h_str(cl, "name"), "idle");
	json_decref(cl);
	h_close(a);
	h_close(b);
}
END_TEST

static Suite *
limits_suite(void)
{
	Suite *s = suite_create("it_limits");
	TCase *tc = tcase_create("limits"), *slow = tcase_create("slow");

	tcase_add_checked_fixture(tc, NULL, h_test_down);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_max_connections);
	tcase_add_test(tc, test_max_subscriptions_list);
	tcase_add_test(tc, test_max_subscriptions_cumulative);
	tcase_add_test(tc, test_max_contacts);
	tcase_add_test(tc, test_max_line);
	tcase_add_test(tc, test_outbuf_idle_zero);
	tcase_add_test(tc, test_hello_announces_limits);
	tcase_add_test(tc, test_pipelined_reader_served);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(slow, NULL, h_test_down);
	tcase_set_timeout(slow, 40);
	tcase_add_test(slow, test_slow_consumer_outbuf);
	tcase_add_test(slow, test_lag_timeout_closes);
	tcase_add_test(slow, test_unread_replies_close);
	tcase_add_test(slow, test_topics_pages);
	tcase_add_test(slow, test_clients_pages);
	suite_add_tcase(s, slow);
	return s;
}

int
main(void)
{
	return h_run_suite(limits_suite());
}
