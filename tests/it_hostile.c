/* SPDX-License-Identifier: MIT — crmpubsub */
/* Integration suite feeding the real daemon hostile input and abusive peers, checking after each that it still answers, that a subscriber on another connection still gets its pushes and that no descriptor leaks. */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define SUB_CONTACT	1UL		/* the bystander subscriber's contact */
#define MAX_LINE_ARG	"1048576"	/* big enough for the nesting bombs */

static uint64_t		 prng_next(uint64_t *state);
static int		 raw_connect(const char *path);
static int		 pump(int fd, const char *data, size_t len, int timeout_ms);
static void		 check_alive(void);
static void		 expect_error(struct h_conn *c, const void *data,
			     size_t len, const char *code);
static json_t		*send_raw_reply(struct h_conn *c, const void *data,
			     size_t len);
static int		 reply_is_sane(const json_t *r, const char *op);
static void		 setup(void);
static void		 teardown(void);

static struct h_daemon	 d;
static struct h_conn	*sub;		/* bystander subscriber */
static struct h_conn	*writer;	/* bystander writer */
static int		 fd_baseline;
static unsigned long	 next_interaction = 0x100000;

/* xorshift64*: a seeded, reproducible byte source. */
static uint64_t
prng_next(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* Blocking connect bounded by SO_SNDTIMEO (a full backlog waits for the
 * daemon to accept); the fd or -1. */
static int
raw_connect(const char *path)
{
	struct timeval tv = { H_TIMEOUT_MS / 1000, 0 };
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path)
		return -1;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Writes all of data to a non-blocking fd while reading and discarding
 * whatever comes back, so the daemon's replies never back up. 0 or -1. */
static int
pump(int fd, const char *data, size_t len, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;
	char sink[65536];
	struct pollfd pfd;
	ssize_t n;

	while (len > 0) {
		if (h_now_ms() >= deadline)
			return -1;
		pfd.fd = fd;
		pfd.events = POLLIN | POLLOUT;
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		if (pfd.revents & POLLIN) {
			n = read(fd, sink, sizeof sink);
			if (n == 0)
				return -1;
		}
		if (pfd.revents & POLLOUT) {
			n = send(fd, data, len > 65536 ? 65536 : len,
			    MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n > 0) {
				data += n;
				len -= (size_t)n;
			} else if (n == -1 && errno != EAGAIN && errno != EINTR)
				return -1;
		}
		if (pfd.revents & (POLLERR | POLLHUP))
			return -1;
	}
	return 0;
}

/* The daemon runs, answers ping, and the bystander subscriber gets exactly
 * the push of a fresh broadcast. */
static void
check_alive(void)
{
	char iu[37], cu[37], topic[80];
	json_t *r, *p;

	ck_assert_int_eq(waitpid(d.pid, NULL, WNOHANG), 0);
	r = h_request(writer, "{\"op\":\"ping\",\"id\":\"alive\"}");
	ck_assert_msg(h_is_ok(r), "daemon no longer answers ping");
	ck_assert_str_eq(h_str(r, "id"), "alive");
	json_decref(r);

	h_uuid(next_interaction++, iu);
	h_uuid(SUB_CONTACT, cu);
	h_topic(SUB_CONTACT, topic);
	ck_assert_int_eq(h_expect_okf(writer, "delivered", "{\"op\":\"broadcast_to_contacts\",\"event\":"
	    "\"interaction_updated\",\"interaction_uuid\":\"%s\","
	    "\"contact_uuids\":[\"%s\"]}", iu, cu), 1);
	p = h_recv_push(sub, H_TIMEOUT_MS);
	ck_assert_msg(p != NULL, "bystander subscriber got no push");
	ck_assert_str_eq(h_str(p, "type"), "crm");
	ck_assert_str_eq(h_str(p, "event"), "interaction_updated");
	ck_assert_str_eq(h_str(p, "topic"), topic);
	ck_assert_str_eq(h_str(json_object_get(p, "payload"),
	    "interaction_uuid"), iu);
	json_decref(p);
	ck_assert(h_silent(sub, 20));
}

/* Sends raw bytes (a "\n" is appended) and returns the reply. */
static json_t *
send_raw_reply(struct h_conn *c, const void *data, size_t len)
{
	char *buf = malloc(len + 1);

	ck_assert_ptr_nonnull(buf);
	memcpy(buf, data, len);
	buf[len] = '\n';
	ck_assert_int_eq(h_send(c, buf, len + 1), 0);
	free(buf);
	return h_recv_reply(c, H_TIMEOUT_MS);
}

/* Sends raw bytes as one line and expects an error with op null. */
static void
expect_error(struct h_conn *c, const void *data, size_t len, const char *code)
{
	json_t *r = send_raw_reply(c, data, len);
	char *dump = r != NULL ? json_dumps(r, JSON_COMPACT) : NULL;

	ck_assert_msg(h_is_error(r, code), "expected %s, got %s", code,
	    dump != NULL ? dump : "(no reply)");
	ck_assert(json_is_null(json_object_get(r, "op")));
	free(dump);
	json_decref(r);
}

/* A reply at all: "ok" is a boolean and "op" is op or null. */
static int
reply_is_sane(const json_t *r, const char *op)
{
	json_t *o;

	if (r == NULL || !json_is_boolean(json_object_get(r, "ok")))
		return 0;
	o = json_object_get(r, "op");
	return json_is_null(o) || (json_is_string(o) &&
	    strcmp(json_string_value(o), op) == 0);
}

/* Starts the daemon, a bystander subscriber and writer, records the fd
 * baseline. */
static void
setup(void)
{
	const char *args[] = { "--max-line", MAX_LINE_ARG, NULL };
	char topic[80];

	h_daemon_start_or_fail(&d, args);
	sub = h_connect_or_fail(d.sock);
	writer = h_connect_or_fail(d.sock);
	h_topic(SUB_CONTACT, topic);
	h_expect_okf(sub, NULL,
	    "{\"op\":\"subscribe\",\"topic\":\"%s\"}", topic);
	ck_assert(h_wait_stat(writer, "connections", 2, H_TIMEOUT_MS));
	fd_baseline = h_fd_count(d.pid);
	ck_assert_int_gt(fd_baseline, 0);
	check_alive();
}

/* Checks the bystanders and the fd count one last time, then stops. */
static void
teardown(void)
{
	check_alive();
	ck_assert_msg(h_wait_stat(writer, "connections", 2, 10000),
	    "connections did not return to the two bystanders");
	ck_assert_msg(h_wait_fds(d.pid, fd_baseline, 10000),
	    "daemon has %d fds, baseline %d", h_fd_count(d.pid), fd_baseline);
	ck_assert_int_eq(h_stat(writer, "subscriptions"), 1);
	h_close(sub);
	h_close(writer);
	ck_assert_int_eq(h_daemon_stop(&d, SIGTERM, H_TIMEOUT_MS), 0);
}

/* Several MB of seeded random bytes, including a 1.5 MB line without a
 * newline: replies only, then the connection still answers. */
START_TEST(test_random_bytes)
{
	const size_t short_part = 3 << 20, long_part = 3 << 19;
	size_t len = short_part + long_part, i;
	uint64_t state = 0x5eed5eed12345678ULL;
	struct h_conn *c;
	char *data, line[256];
	json_t *r = NULL;
	long long deadline;
	int found = 0;

	data = malloc(len);
	ck_assert_ptr_nonnull(data);
	for (i = 0; i < len; i += 8) {
		uint64_t v = prng_next(&state);

		memcpy(data + i, &v, len - i < 8 ? len - i : 8);
	}
	for (i = short_part; i < len; i++)
		if (data[i] == '\n')
			data[i] = 'x';
	c = h_connect_or_fail(d.sock);
	ck_assert_int_eq(pump(c->fd, data, len, 20000), 0);
	free(data);
	check_alive();

	/* End the pending line, then find the marked ping's reply; every line
	 * before it must be an error reply. */
	ck_assert_int_eq(h_send_line(c, "\n{\"op\":\"ping\",\"id\":\"after\"}"), 0);
	deadline = h_now_ms() + 10000;
	while (!found && h_now_ms() < deadline) {
		r = h_recv_json(c, H_TIMEOUT_MS);
		ck_assert_msg(r != NULL, "a line back was not JSON or none came");
		if (h_is_ok(r)) {
			ck_assert_str_eq(h_str(r, "id"), "after");
			found = 1;
		} else
			ck_assert_msg(json_is_false(json_object_get(r, "ok")),
			    "a non-reply line came back");
		json_decref(r);
	}
	ck_assert(found);
	ck_assert_int_eq(h_recv_line(c, line, sizeof line, 50), -1);
	h_close(c);
}
END_TEST

/* NUL bytes anywhere in a line make it bad_json. */
START_TEST(test_nul_bytes)
{
#define NUL_CASE(lit)	{ lit, sizeof(lit) - 1 }
	static const struct { const char *s; size_t n; } cases[] = {
		NUL_CASE("{\"op\":\"pi\0ng\"}"),
		NUL_CASE("{\"op\":\"ping\",\0\"x\":1}"),
		NUL_CASE("\0{\"op\":\"ping\"}"),
		NUL_CASE("{\"op\":\"ping\"}\0"),
		NUL_CASE("{\"op\":\"ping\",\"x\":\"a\0b\"}"),
	};
#undef NUL_CASE
	struct h_conn *c;
	size_t i;

	c = h_connect_or_fail(d.sock);
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		expect_error(c, cases[i].s, cases[i].n, "bad_json");
	h_expect_okf(c, NULL, "{\"op\":\"ping\"}");
	ck_assert_int_ge(h_stat(c, "errors"), 5);
	h_close(c);
}
END_TEST

/* Invalid UTF-8 in keys, values and the op is bad_json; valid multi-byte
 * text is fine. */
START_TEST(test_invalid_utf8)
{
	static const char *const bad[] = {
		"{\"op\":\"ping\",\"x\":\"\xff\"}",
		"{\"op\":\"ping\",\"x\":\"\xc0\xaf\"}",		/* overlong */
		"{\"op\":\"ping\",\"x\":\"\xed\xa0\x80\"}",	/* surrogate */
		"{\"op\":\"ping\",\"x\":\"\xe2\x82\"}",		/* truncated */
		"{\"op\":\"ping\",\"x\":\"\xf4\x90\x80\x80\"}",	/* > U+10FFFF */
		"{\"\xfe\":1,\"op\":\"ping\"}",
		"{\"op\":\"p\xffing\"}",
		"{\"op\":\"hello\",\"name\":\"\x80\x80\"}",
	};
	struct h_conn *c;
	json_t *r;
	size_t i;

	c = h_connect_or_fail(d.sock);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		expect_error(c, bad[i], strlen(bad[i]), "bad_json");
	r = h_request(c, "{\"op\":\"hello\",\"name\":\"caf\xc3\xa9 "
	    "\xf0\x9f\x93\x9e\"}");
	ck_assert(h_is_ok(r));
	json_decref(r);
	h_close(c);
}
END_TEST

/* 100000-deep nesting gets an error reply, not a crash. */
START_TEST(test_deep_nesting)
{
	const size_t depth = 100000;
	struct h_conn *c;
	char *buf;
	size_t off;
	json_t *r;

	c = h_connect_or_fail(d.sock);
	buf = malloc(depth * 6 + 64);
	ck_assert_ptr_nonnull(buf);

	/* [[[[ … ]]]] */
	memset(buf, '[', depth);
	memset(buf + depth, ']', depth);
	r = send_raw_reply(c, buf, 2 * depth);
	ck_assert_msg(h_is_error(r, "bad_json") || h_is_error(r, "bad_request"),
	    "deep array: no error reply");
	json_decref(r);

	/* [[[[ never closed */
	r = send_raw_reply(c, buf, depth);
	ck_assert(h_is_error(r, "bad_json"));
	json_decref(r);

	/* {"a":{"a":{ … 1 … }}} */
	for (off = 0; off < depth; off++)
		memcpy(buf + off * 5, "{\"a\":", 5);
	off = depth * 5;
	buf[off++] = '1';
	memset(buf + off, '}', depth);
	r = send_raw_reply(c, buf, off + depth);
	ck_assert_msg(h_is_error(r, "bad_json") || h_is_error(r, "bad_request"),
	    "deep object: no error reply");
	json_decref(r);

	/* A ping carrying a deep array: some reply, op ping or null. */
	off = (size_t)sprintf(buf, "{\"op\":\"ping\",\"x\":");
	memset(buf + off, '[', depth);
	memset(buf + off + depth, ']', depth);
	off += 2 * depth;
	buf[off++] = '}';
	r = send_raw_reply(c, buf, off);
	ck_assert(reply_is_sane(r, "ping"));
	json_decref(r);
	free(buf);

	h_expect_okf(c, NULL, "{\"op\":\"ping\"}");
	h_close(c);
}
END_TEST

/* Huge, tiny and extreme numbers in every numeric position. */
START_TEST(test_huge_numbers)
{
	/* Ids no integer or double holds: echoed as written. */
	static const char *const odd_ids[] = {
		"123456789012345678901234567890", "1e999999", "1e-999999",
	};
	static const char *const bad_limits[] = {
		"{\"op\":\"topics\",\"limit\":1e300}",
		"{\"op\":\"topics\",\"limit\":-1}",
		"{\"op\":\"topics\",\"limit\":-9223372036854775808}",
	};
	struct h_conn *c;
	char *digits, *got, iu[37], line[128];
	json_t *r;
	size_t n = 100000, i;

	c = h_connect_or_fail(d.sock);

	r = h_request(c, "{\"op\":\"ping\",\"id\":9223372036854775807}");
	ck_assert(h_is_ok(r));
	ck_assert(h_int(r, "id") == INT64_MAX);
	json_decref(r);
	r = h_request(c, "{\"op\":\"ping\",\"id\":-9223372036854775808}");
	ck_assert(h_is_ok(r));
	ck_assert(json_integer_value(json_object_get(r, "id")) == INT64_MIN);
	json_decref(r);

	for (i = 0; i < sizeof odd_ids / sizeof odd_ids[0]; i++) {
		snprintf(line, sizeof line, "{\"op\":\"ping\",\"id\":%s}",
		    odd_ids[i]);
		ck_assert_int_eq(h_send_line(c, line), 0);
		snprintf(line, sizeof line, "{\"ok\":true,\"op\":\"ping\","
		    "\"id\":%s}", odd_ids[i]);
		h_expect_line(c, line);
	}

	/* A 100,000-digit id, too. */
	digits = malloc(n + 64);
	got = malloc(n + 64);
	ck_assert_ptr_nonnull(digits);
	ck_assert_ptr_nonnull(got);
	memcpy(digits, "{\"op\":\"ping\",\"id\":", 18);
	memset(digits + 18, '9', n);
	memcpy(digits + 18 + n, "}", 2);
	ck_assert_int_eq(h_send_line(c, digits), 0);
	ck_assert_int_eq(h_recv_line(c, got, n + 64, H_TIMEOUT_MS),
	    (long)(n + 29));
	ck_assert(memcmp(got, "{\"ok\":true,\"op\":\"ping\",\"id\":", 28) == 0);
	ck_assert(memcmp(got + 28, digits + 18, n + 1) == 0);
	free(digits);
	free(got);

	r = h_request(c, "{\"op\":\"topics\",\"limit\":99999999999999999999999}");
	ck_assert(reply_is_sane(r, "topics"));
	ck_assert(!h_is_ok(r));
	json_decref(r);
	for (i = 0; i < sizeof bad_limits / sizeof bad_limits[0]; i++) {
		r = h_request(c, bad_limits[i]);
		ck_assert_msg(h_is_error(r, "bad_request"), "%s", bad_limits[i]);
		json_decref(r);
	}
	r = h_request(c, "{\"op\":\"topics\",\"limit\":9223372036854775807}");
	ck_assert(h_is_ok(r));
	ck_assert(json_is_false(json_object_get(r, "truncated")));
	ck_assert_uint_eq(json_array_size(json_object_get(r, "topics")), 1);
	json_decref(r);

	h_uuid(0xabc, iu);
	h_expect_errorf(c, "bad_uuid", "{\"op\":\"broadcast_to_contacts\",\"event\":"
	    "\"interaction_created\",\"interaction_uuid\":\"%s\","
	    "\"contact_uuids\":[1e308]}", iu);
	r = h_request(c, "{\"op\":\"broadcast_to_contacts\",\"event\":"
	    "\"interaction_created\",\"interaction_uuid\":-1,"
	    "\"contact_uuids\":[]}");
	ck_assert(h_is_error(r, "bad_uuid"));
	json_decref(r);
	h_expect_errorf(c, "bad_request",
	    "{\"op\":\"subscribe\",\"topic\":1e308}");
	h_close(c);
}
END_TEST

/* 3000 connections each send half a request and vanish. */
START_TEST(test_half_lines_then_close)
{
	static const char *const halves[] = {
		"{\"op\":\"subscribe\",\"topic\":\"crm:contact:",
		"{\"op\":\"ping\"",
		"{\"op\":\"hello\",\"name\":\"\xe2\x82",
		"{",
	};
	enum { BATCH = 500, ROUNDS = 6 };
	int fds[BATCH], round, i;
	const char *h;

	for (round = 0; round < ROUNDS; round++) {
		for (i = 0; i < BATCH; i++) {
			fds[i] = raw_connect(d.sock);
			ck_assert_msg(fds[i] != -1, "connect %d of round %d: %s",
			    i, round, strerror(errno));
			h = halves[(size_t)i % (sizeof halves / sizeof halves[0])];
			ck_assert_int_eq(send(fds[i], h, strlen(h), MSG_NOSIGNAL),
			    (ssize_t)strlen(h));
		}
		/* The bystanders are served while the half lines hang... */
		check_alive();
		for (i = 0; i < BATCH; i++)
			close(fds[i]);
		/* ...and after they vanished. */
		check_alive();
	}
}
END_TEST

/* Peers that go away with replies unread: pipelined requests then close,
 * a request and an immediate close, and a close while the reply sits unread
 * in the socket (the AF_UNIX form of a reset). Their subscriptions vanish
 * with them. */
START_TEST(test_vanishing_peers)
{
	char line[256], topic[80], req[200 * 16 + 1];
	struct pollfd pfd;
	size_t off = 0;
	int i, j, fd;

	for (i = 0; i < 200; i++)
		off += (size_t)sprintf(req + off, "{\"op\":\"stats\"}\n");

	for (i = 0; i < 200; i++) {
		fd = raw_connect(d.sock);
		ck_assert_int_ne(fd, -1);
		h_topic(5000 + (unsigned long)i, topic);
		snprintf(line, sizeof line,
		    "{\"op\":\"subscribe\",\"topic\":\"%s\"}\n", topic);
		ck_assert_int_gt(send(fd, line, strlen(line), MSG_NOSIGNAL), 0);
		ck_assert_int_eq(send(fd, req, off, MSG_NOSIGNAL), (ssize_t)off);
		close(fd);
	}
	check_alive();

	for (i = 0; i < 500; i++) {
		fd = raw_connect(d.sock);
		ck_assert_int_ne(fd, -1);
		ck_assert_int_eq(send(fd, "{\"op\":\"clients\"}\n", 17,
		    MSG_NOSIGNAL), 17);
		close(fd);
	}
	check_alive();

	for (i = 0; i < 200; i++) {
		fd = raw_connect(d.sock);
		ck_assert_int_ne(fd, -1);
		h_topic(6000 + (unsigned long)i, topic);
		snprintf(line, sizeof line,
		    "{\"op\":\"subscribe\",\"topic\":\"%s\"}\n{\"op\":\"ping\"}\n",
		    topic);
		ck_assert_int_gt(send(fd, line, strlen(line), MSG_NOSIGNAL), 0);
		pfd.fd = fd;
		pfd.events = POLLIN;
		ck_assert_int_eq(poll(&pfd, 1, H_TIMEOUT_MS), 1);
		close(fd);
	}
	check_alive();

	/* Everything those peers subscribed to is gone with them. */
	ck_assert(h_wait_stat(writer, "connections", 2, 10000));
	ck_assert(h_wait_stat(writer, "subscriptions", 1, H_TIMEOUT_MS));
	ck_assert_int_eq(h_stat(writer, "topics"), 1);
	for (j = 0; j < 2; j++) {
		json_t *r = h_request(writer, "{\"op\":\"clients\"}");

		ck_assert(h_is_ok(r));
		ck_assert_uint_eq(json_array_size(json_object_get(r, "clients")),
		    2);
		json_decref(r);
	}
}
END_TEST

/* Several hostile connections at once, interleaved with normal traffic. */
START_TEST(test_concurrent_garbage)
{
	enum { N = 20 };
	struct h_conn *c[N];
	uint64_t state = 42;
	char junk[4096];
	json_t *r;
	size_t k;
	int i, round;

	for (i = 0; i < N; i++) {
		c[i] = h_connect_or_fail(d.sock);
	}
	for (round = 0; round < 20; round++) {
		for (i = 0; i < N; i++) {
			for (k = 0; k < sizeof junk; k++) {
				junk[k] = (char)(prng_next(&state) & 0xff);
				if (junk[k] == '\n')
					junk[k] = ' ';
			}
			junk[sizeof junk - 1] = '\n';
			ck_assert_int_eq(pump(c[i]->fd, junk, sizeof junk,
			    H_TIMEOUT_MS), 0);
		}
		check_alive();
	}
	for (i = 0; i < N; i++) {
		/* The junk replies may still be queued: skip to ours. */
		r = h_request(c[i], "{\"op\":\"ping\",\"id\":\"mine\"}");
		while (r != NULL && h_str(r, "id") == NULL) {
			json_decref(r);
			r = h_recv_reply(c[i], H_TIMEOUT_MS);
		}
		ck_assert(h_is_ok(r));
		json_decref(r);
		h_close(c[i]);
	}
}
END_TEST

static Suite *
hostile_suite(void)
{
	Suite *s = suite_create("it_hostile");
	TCase *tc = tcase_create("hostile");

	tcase_set_timeout(tc, 40);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_random_bytes);
	tcase_add_test(tc, test_nul_bytes);
	tcase_add_test(tc, test_invalid_utf8);
	tcase_add_test(tc, test_deep_nesting);
	tcase_add_test(tc, test_huge_numbers);
	tcase_add_test(tc, test_half_lines_then_close);
	tcase_add_test(tc, test_vanishing_peers);
	tcase_add_test(tc, test_concurrent_garbage);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(hostile_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
