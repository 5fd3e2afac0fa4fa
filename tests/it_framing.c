/* SPDX-License-Identifier: MIT — crmpubsub */
/* Integration suite for line framing: CRLF, blank lines, pipelining, split
 * writes, the max_line boundary and recovery after an over-long line. */

#include <sys/wait.h>

#include <check.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define PING_PAD_HEAD	"{\"op\":\"ping\",\"pad\":\""
#define PING_PAD_TAIL	"\"}"
#define PING_PAD_MIN	(sizeof PING_PAD_HEAD - 1 + sizeof PING_PAD_TAIL - 1)

/* Sends raw bytes (a C string), asserted. */
static void
send_raw(struct h_conn *c, const char *bytes)
{
	ck_assert_int_eq(h_send(c, bytes, strlen(bytes)), 0);
}

/* Asserts the next line is the line_too_long error. */
static void
expect_too_long(struct h_conn *c)
{
	json_t *r = h_recv_json(c, H_TIMEOUT_MS);

	ck_assert_msg(h_is_error(r, "line_too_long"), "want line_too_long: %s",
	    h_dump(r));
	ck_assert_msg(json_is_null(json_object_get(r, "op")), "op: %s", h_dump(r));
	ck_assert_msg(h_str(r, "message") != NULL, "message: %s", h_dump(r));
	json_decref(r);
}

/* Asserts the next line is the ping reply with this string id. */
static void
expect_ping(struct h_conn *c, const char *id)
{
	char want[256];

	snprintf(want, sizeof want, "{\"ok\":true,\"op\":\"ping\",\"id\":\"%s\"}",
	    id);
	h_expect_line(c, want);
}

/* A valid ping request of exactly len bytes (no newline), heap-allocated. */
static char *
padded_ping(size_t len)
{
	char *s;

	ck_assert(len >= PING_PAD_MIN);
	s = malloc(len + 1);
	ck_assert(s != NULL);
	memcpy(s, PING_PAD_HEAD, sizeof PING_PAD_HEAD - 1);
	memset(s + sizeof PING_PAD_HEAD - 1, 'p', len - PING_PAD_MIN);
	memcpy(s + len - (sizeof PING_PAD_TAIL - 1), PING_PAD_TAIL,
	    sizeof PING_PAD_TAIL - 1);
	s[len] = '\0';
	return s;
}

/* Sends a padded ping of len bytes followed by ending ("\n" or "\r\n"). */
static void
send_padded(struct h_conn *c, size_t len, const char *ending)
{
	char *p = padded_ping(len), *line;

	ck_assert(asprintf(&line, "%s%s", p, ending) >= 0);
	ck_assert_int_eq(h_send(c, line, strlen(line)), 0);
	free(line);
	free(p);
}

START_TEST(test_crlf)
{
	struct h_conn *c;
	char t[80], line[256], want[256];

	h_test_up(NULL);
	c = h_test_conn();
	send_raw(c, "{\"op\":\"ping\",\"id\":\"crlf\"}\r\n");
	expect_ping(c, "crlf");
	h_topic(9, t);
	snprintf(line, sizeof line,
	    "{\"op\":\"subscribe\",\"topic\":\"%s\"}\r\n", t);
	send_raw(c, line);
	snprintf(want, sizeof want, "{\"ok\":true,\"op\":\"subscribe\","
	    "\"topics\":[\"%s\"],\"subscribed\":1}", t);
	h_expect_line(c, want);
	/* Errors on CRLF lines are ordinary errors, no \r leaks into them. */
	send_raw(c, "{\"op\":\"nope\"}\r\n");
	{
		json_t *r = h_recv_json(c, H_TIMEOUT_MS);

		ck_assert_msg(h_is_error(r, "unknown_op"), "%s", h_dump(r));
		ck_assert_str_eq(h_str(r, "op"), "nope");
		json_decref(r);
	}
	/* Mixed endings in one write. */
	send_raw(c, "{\"op\":\"ping\",\"id\":\"a\"}\n{\"op\":\"ping\",\"id\":\"b\"}"
	    "\r\n{\"op\":\"ping\",\"id\":\"c\"}\n");
	expect_ping(c, "a");
	expect_ping(c, "b");
	expect_ping(c, "c");
	h_close(c);
}
END_TEST

START_TEST(test_blank_lines_ignored)
{
	struct h_conn *c;

	h_test_up(NULL);
	c = h_test_conn();
	send_raw(c, "\n");
	send_raw(c, "   \n");
	send_raw(c, "\t \t\n");
	send_raw(c, "\r\n");
	send_raw(c, " \t\r\n");
	ck_assert_msg(h_silent(c, 300), "a blank line was answered");
	/* In one write with a request: only the request is answered. */
	send_raw(c, "\n\n  \n\r\n{\"op\":\"ping\",\"id\":\"after\"}\n\t\n\n");
	expect_ping(c, "after");
	ck_assert_msg(h_silent(c, 200), "a blank line was answered");
	ck_assert_int_eq(h_stat_or_fail(c, "errors"), 0);
	h_close(c);
}
END_TEST

START_TEST(test_many_requests_one_write)
{
	enum { N = 500 };
	struct h_conn *c;
	char *all, id[32];
	size_t len = 0;
	int i;

	h_test_up(NULL);
	c = h_test_conn();
	all = malloc((size_t)N * 64);
	ck_assert(all != NULL);
	for (i = 0; i < N; i++)
		len += (size_t)sprintf(all + len,
		    "{\"op\":\"ping\",\"id\":\"r%d\"}\n", i);
	ck_assert_int_eq(h_send(c, all, len), 0);
	for (i = 0; i < N; i++) {
		snprintf(id, sizeof id, "r%d", i);
		expect_ping(c, id);
	}
	ck_assert(h_silent(c, 100));
	free(all);
	h_close(c);
}
END_TEST

START_TEST(test_split_byte_by_byte)
{
	static const char req[] = "{\"op\":\"ping\",\"id\":\"split\"}\r\n";
	struct h_conn *c;
	size_t i;

	h_test_up(NULL);
	c = h_test_conn();
	for (i = 0; i + 1 < sizeof req - 1; i++)
		ck_assert_int_eq(h_send(c, req + i, 1), 0);
	/* Nothing before the newline arrives. */
	ck_assert_msg(h_silent(c, 150), "reply before the line was complete");
	ck_assert_int_eq(h_send(c, req + i, 1), 0);
	expect_ping(c, "split");
	/* A request split across two lines' boundary: both answered. */
	send_raw(c, "{\"op\":\"ping\",\"id\":\"x\"}\n{\"op\":\"pi");
	expect_ping(c, "x");
	send_raw(c, "ng\",\"id\":\"y\"}\n");
	expect_ping(c, "y");
	h_close(c);
}
END_TEST

START_TEST(test_overlong_line_recovers)
{
	static const char *const args[] = { "--max-line", "64", NULL };
	struct h_conn *c;
	char junk[400];
	int i;

	h_test_up(args);
	c = h_test_conn();
	memset(junk, 'x', sizeof junk - 2);
	junk[sizeof junk - 2] = '\n';
	junk[sizeof junk - 1] = '\0';
	send_raw(c, junk);
	expect_too_long(c);
	send_raw(c, "{\"op\":\"ping\",\"id\":\"next\"}\n");
	expect_ping(c, "next");
	/* A valid but over-long request, then a good one in the same write. */
	send_padded(c, 200, "\n{\"op\":\"ping\",\"id\":\"same-write\"}\n");
	expect_too_long(c);
	expect_ping(c, "same-write");
	/* Several over-long lines: one error each, in order. */
	for (i = 0; i < 3; i++)
		send_padded(c, 100 + (size_t)i, "\n");
	send_raw(c, "{\"op\":\"ping\",\"id\":\"last\"}\n");
	for (i = 0; i < 3; i++)
		expect_too_long(c);
	expect_ping(c, "last");
	ck_assert(h_silent(c, 100));
	h_close(c);
}
END_TEST

START_TEST(test_max_line_boundary)
{
	static const char *const args[] = { "--max-line", "64", NULL };
	struct h_conn *c;

	h_test_up(args);
	c = h_test_conn();
	send_padded(c, 64, "\n");
	h_expect_line(c, "{\"ok\":true,\"op\":\"ping\"}");
	send_padded(c, 65, "\n");
	expect_too_long(c);
	/* The \r counts: 63 + \r fits, 64 + \r does not. */
	send_padded(c, 63, "\r\n");
	h_expect_line(c, "{\"ok\":true,\"op\":\"ping\"}");
	send_padded(c, 64, "\r\n");
	expect_too_long(c);
	/* State is reset after each line: the limit applies per line. */
	send_padded(c, 64, "\n");
	h_expect_line(c, "{\"ok\":true,\"op\":\"ping\"}");
	h_close(c);
}
END_TEST

START_TEST(test_default_max_line_boundary)
{
	struct h_conn *c;

	h_test_up(NULL);
	c = h_test_conn();
	send_padded(c, 65536, "\n");
	h_expect_line(c, "{\"ok\":true,\"op\":\"ping\"}");
	send_padded(c, 65537, "\n");
	expect_too_long(c);
	send_padded(c, 65535, "\r\n");
	h_expect_line(c, "{\"ok\":true,\"op\":\"ping\"}");
	send_padded(c, 65536, "\r\n");
	expect_too_long(c);
	send_raw(c, "{\"op\":\"ping\",\"id\":\"ok\"}\n");
	expect_ping(c, "ok");
	h_close(c);
}
END_TEST

START_TEST(test_overlong_split_across_writes)
{
	static const char *const args[] = { "--max-line", "64", NULL };
	static const char chunk[] = "{\"op\":\"ping\",\"id\":\"hidden\"}\t";
	struct h_conn *c;
	int i;

	h_test_up(args);
	c = h_test_conn();
	/* 200 writes, none with a newline: the request text inside the long
	 * line must never be answered. */
	for (i = 0; i < 200; i++)
		ck_assert_int_eq(h_send(c, chunk, sizeof chunk - 1), 0);
	send_raw(c, "\n");
	send_raw(c, "{\"op\":\"ping\",\"id\":\"after\"}\n");
	expect_too_long(c);
	expect_ping(c, "after");
	ck_assert_msg(h_silent(c, 200), "more than one reply to the long line");
	/* Over-long line ending in \r\n split over writes, then a request. */
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(h_send(c, chunk, sizeof chunk - 1), 0);
	send_raw(c, "\r");
	send_raw(c, "\n{\"op\":\"ping\",\"id\":\"again\"}\n");
	expect_too_long(c);
	expect_ping(c, "again");
	ck_assert(h_silent(c, 100));
	h_close(c);
}
END_TEST

START_TEST(test_replies_in_request_order)
{
	struct h_conn *c;
	char t[80], buf[2048];
	json_t *r;
	size_t len;

	h_test_up(NULL);
	c = h_test_conn();
	h_topic(3, t);
	len = (size_t)snprintf(buf, sizeof buf,
	    "{\"op\":\"ping\",\"id\":1}\n"
	    "{\"op\":\"subscribe\",\"id\":2,\"topic\":\"%s\"}\n"
	    "not json\n"
	    "{\"op\":\"stats\",\"id\":4}\n"
	    "{\"op\":\"nope\",\"id\":5}\n"
	    "{\"op\":\"topics\",\"id\":6}\n"
	    "{\"op\":\"hello\",\"id\":7}\n"
	    "{\"op\":\"clients\",\"id\":8}\n"
	    "{\"op\":\"unsubscribe\",\"id\":9}\n"
	    "{\"op\":\"subscribe\",\"id\":10,\"topic\":\"bad\"}\n"
	    "{\"op\":\"ping\",\"id\":11}\n", t);
	ck_assert_int_eq(h_send(c, buf, len), 0);
	h_expect_line(c, "{\"ok\":true,\"op\":\"ping\",\"id\":1}");
	r = h_recv_json(c, H_TIMEOUT_MS);
	ck_assert_msg(h_is_ok(r) && h_int(r, "id") == 2, "%s", h_dump(r));
	json_decref(r);
	r = h_recv_json(c, H_TIMEOUT_MS);
	ck_assert_msg(h_is_error(r, "bad_json"), "%s", h_dump(r));
	json_decref(r);
	r = h_recv_json(c, H_TIMEOUT_MS);
	ck_assert_msg(h_is_ok(r) && h_int(r, "id") == 4 &&
	    strcmp(h_str(r, "op"), "stats") == 0, "%s", h_dump(r));
	json_decref(r);
	r = h_recv_json(c, H_TIMEOUT_MS);
	ck_assert_msg(h_is_error(r, "unknown_op") && h_int(r, "id") == 5, "%s",
	    h_dump(r));
	json_decref(r);
	r = h_recv_json(c, H_TIMEOUT_MS);
	ck_assert_msg(h_is_ok(r) && h_int(r, "id") == 6 &&
	    json_array_size(json_object_get(r, "topics")) == 1, "%s", h_dump(r));
	json_decref(r);
	r = h_recv_json(c, H_TIMEOUT_MS);
	ck_assert_msg(h_is_ok(r) && h_int(r, "id") == 7, "%s", h_dump(r));
	json_decref(r);
	r = h_recv_json(c, H_TIMEOUT_MS);
	ck_assert_msg(h_is_ok(r) && h_int(r, "id") == 8, "%s", h_dump(r));
	json_decref(r);
	h_expect_line(c, "{\"ok\":true,\"op\":\"unsubscribe\",\"id\":9,"
	    "\"subscribed\":0}");
	r = h_recv_json(c, H_TIMEOUT_MS);
	ck_assert_msg(h_is_error(r, "bad_topic") && h_int(r, "id") == 10, "%s",
	    h_dump(r));
	json_decref(r);
	h_expect_line(c, "{\"ok\":true,\"op\":\"ping\",\"id\":11}");
	h_close(c);
}
END_TEST

START_TEST(test_eof_mid_line)
{
	struct h_conn *c;
	int i;

	h_test_up(NULL);
	/* Peers that vanish halfway through a request do not hurt others. */
	for (i = 0; i < 20; i++) {
		c = h_test_conn();
		send_raw(c, "{\"op\":\"subscribe\",\"topic\":\"crm:con");
		h_close(c);
	}
	c = h_test_conn();
	send_raw(c, "{\"op\":\"ping\",\"id\":\"alive\"}\n");
	expect_ping(c, "alive");
	h_close(c);
}
END_TEST

/* Suite: framing. */
static Suite *
framing_suite(void)
{
	Suite *s = suite_create("it_framing");
	TCase *tc = tcase_create("framing");

	tcase_set_timeout(tc, 20);
	tcase_add_checked_fixture(tc, NULL, h_test_down);
	tcase_add_test(tc, test_crlf);
	tcase_add_test(tc, test_blank_lines_ignored);
	tcase_add_test(tc, test_many_requests_one_write);
	tcase_add_test(tc, test_split_byte_by_byte);
	tcase_add_test(tc, test_overlong_line_recovers);
	tcase_add_test(tc, test_max_line_boundary);
	tcase_add_test(tc, test_default_max_line_boundary);
	tcase_add_test(tc, test_overlong_split_across_writes);
	tcase_add_test(tc, test_replies_in_request_order);
	tcase_add_test(tc, test_eof_mid_line);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(framing_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
