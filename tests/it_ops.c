/* SPDX-License-Identifier: MIT — crmpubsub */
/* Integration suite for every op and every error code of the wire protocol,
 * against the real daemon, including the socat session of docs/protocol.md. */

#include <sys/types.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "asan_probe.h"
#include "harness.h"

#define UPPER_UUID	"0190A5B2-7C1E-7A01-8F00-0000000000AB"
#define LOWER_UUID	"0190a5b2-7c1e-7a01-8f00-0000000000ab"
#define TOPIC_OF(u)	"crm:contact:" u ":interactions"

/* Sends a printf-formatted request and asserts an ok reply. */
__attribute__((format(printf, 2, 3)))
static json_t *
ok(struct h_conn *c, const char *fmt, ...)
{
	va_list ap;
	char *line;
	json_t *r;

	va_start(ap, fmt);
	ck_assert(vasprintf(&line, fmt, ap) >= 0);
	va_end(ap);
	r = h_request(c, line);
	ck_assert_msg(h_is_ok(r), "request %s: got %s", line, h_dump(r));
	ck_assert_msg(json_object_get(r, "type") == NULL &&
	    json_object_get(r, "error") == NULL &&
	    json_object_get(r, "message") == NULL,
	    "request %s: success reply with type/error/message: %s", line,
	    h_dump(r));
	free(line);
	return r;
}

/* Asserts an error reply: code, op (NULL = JSON null), a message, no type. */
static void
check_error(const json_t *r, const char *code, const char *op,
    const char *what)
{
	const json_t *jop;
	const char *msg;

	ck_assert_msg(h_is_error(r, code), "%s: want %s, got %s", what, code,
	    h_dump(r));
	jop = json_object_get(r, "op");
	if (op == NULL)
		ck_assert_msg(json_is_null(jop), "%s: op should be null: %s",
		    what, h_dump(r));
	else
		ck_assert_msg(json_is_string(jop) &&
		    strcmp(json_string_value(jop), op) == 0,
		    "%s: op should be %s: %s", what, op, h_dump(r));
	msg = h_str(r, "message");
	ck_assert_msg(msg != NULL && *msg != '\0', "%s: no message: %s", what,
	    h_dump(r));
	ck_assert_msg(json_object_get(r, "type") == NULL,
	    "%s: reply carries type: %s", what, h_dump(r));
	/* Exactly ok, op, error, message, plus the echoed id if any. */
	ck_assert_msg(json_object_size(r) ==
	    (json_object_get(r, "id") != NULL ? 5u : 4u),
	    "%s: unexpected keys: %s", what, h_dump(r));
}

/* Sends line and asserts the error reply; frees it. */
static void
expect_error(struct h_conn *c, const char *line, const char *code,
    const char *op)
{
	json_t *r = h_request(c, line);

	check_error(r, code, op, line);
	json_decref(r);
}

/* One request line and the error reply it must get (op NULL = JSON null). */
struct error_case {
	const char	*line;
	const char	*code;
	const char	*op;
};

/* expect_error for each case, in order. */
static void
expect_errors(struct h_conn *c, const struct error_case *cases, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		expect_error(c, cases[i].line, cases[i].code, cases[i].op);
}

/* Sends line and asserts the next line equals want. */
static void
exchange(struct h_conn *c, const char *line, const char *want)
{
	ck_assert_int_eq(h_send_line(c, line), 0);
	h_expect_line(c, want);
}

/* Sends line; asserts the next line starts with prefix and ends in "}. */
static void
expect_prefix(struct h_conn *c, const char *line, const char *prefix)
{
	char got[8192];
	long n;

	ck_assert_int_eq(h_send_line(c, line), 0);
	n = h_recv_line(c, got, sizeof got, H_TIMEOUT_MS);
	ck_assert_msg(n >= 0, "no reply to %s", line);
	ck_assert_msg(strncmp(got, prefix, strlen(prefix)) == 0 && n >= 2 &&
	    strcmp(got + n - 2, "\"}") == 0, "reply to %s: %s", line, got);
}

/* Sends line; asserts the reply is prefix, then a number, then "}". */
static void
expect_prefix_digits(struct h_conn *c, const char *line, const char *prefix)
{
	char got[8192];
	size_t n = strlen(prefix);

	ck_assert_int_eq(h_send_line(c, line), 0);
	ck_assert_msg(h_recv_line(c, got, sizeof got, H_TIMEOUT_MS) >= 0,
	    "no reply to %s", line);
	ck_assert_msg(strncmp(got, prefix, n) == 0 &&
	    strspn(got + n, "0123456789") > 0 &&
	    strcmp(got + n + strspn(got + n, "0123456789"), "}") == 0,
	    "reply to %s: %s", line, got);
}

/* The entry of the clients list with this id, or NULL (new reference). */
static json_t *
client_entry(struct h_conn *c, long long id)
{
	json_t *r = ok(c, "{\"op\":\"clients\"}"), *arr, *e, *found = NULL;
	size_t i;

	arr = json_object_get(r, "clients");
	ck_assert_msg(json_is_array(arr), "clients reply: %s", h_dump(r));
	json_array_foreach(arr, i, e) {
		if (h_int(e, "id") == id) {
			found = e;
			json_incref(found);
		}
	}
	json_decref(r);
	return found;
}

/* client_id of c via hello. */
static long long
hello_id(struct h_conn *c, const char *name)
{
	json_t *r = name != NULL ?
	    ok(c, "{\"op\":\"hello\",\"name\":\"%s\"}", name) :
	    ok(c, "{\"op\":\"hello\"}");
	long long id = h_int(r, "client_id");

	ck_assert_msg(id >= 0, "hello client_id: %s", h_dump(r));
	json_decref(r);
	return id;
}

START_TEST(test_hello)
{
	struct h_conn *c, *other;
	char want[256];
	long long id, other_id;
	json_t *r, *e;

	h_test_up(NULL);
	c = h_test_conn();
	r = ok(c, "{\"op\":\"hello\",\"name\":\"it-ops\"}");
	ck_assert_str_eq(h_str(r, "op"), "hello");
	ck_assert_str_eq(h_str(r, "server"), "crmpubsubd");
	ck_assert_str_eq(h_str(r, "version"), "1.0.0");
	ck_assert_int_eq(h_int(r, "protocol"), 1);
	id = h_int(r, "client_id");
	ck_assert_msg(id >= 0, "client_id: %s", h_dump(r));
	ck_assert(json_object_get(r, "type") == NULL);
	json_decref(r);

	/* The exact line, keys in the op table's order: the default limits,
	 * then the uptime (a count of seconds that may tick meanwhile). */
	snprintf(want, sizeof want, "{\"ok\":true,\"op\":\"hello\",\"id\":\"h2\","
	    "\"server\":\"crmpubsubd\",\"version\":\"1.0.0\",\"protocol\":1,"
	    "\"client_id\":%lld,\"max_line\":65536,\"max_subscriptions\":10000,"
	    "\"max_contacts\":1024,\"uptime_s\":", id);
	expect_prefix_digits(c, "{\"op\":\"hello\",\"id\":\"h2\","
	    "\"name\":\"it-ops\"}", want);

	e = client_entry(c, id);
	ck_assert_msg(e != NULL, "client %lld not listed", id);
	ck_assert_str_eq(h_str(e, "name"), "it-ops");
	json_decref(e);

	/* Another connection: a distinct id, name null until hello. */
	other = h_test_conn();
	other_id = hello_id(other, NULL);
	ck_assert_int_ne(other_id, id);
	e = client_entry(c, other_id);
	ck_assert_msg(e != NULL, "client %lld not listed", other_id);
	ck_assert_msg(json_is_null(json_object_get(e, "name")),
	    "name should be null: %s", h_dump(e));
	json_decref(e);
	h_close(other);
	h_close(c);
}
END_TEST

/* version: the daemon's version and build; what it says agrees with hello,
 * with the daemon's startup line and with the binary. */
START_TEST(test_version)
{
	static const char *const strings[] = { "compiler", "libevent",
	    "event_backend", "jansson", "hiredis" };
	struct h_conn	*c;
	json_t		*r, *hello, *b;
	char		 start[512], got[8192];
	size_t		 i;

	h_test_up(NULL);
	c = h_test_conn();
	r = ok(c, "{\"op\":\"version\"}");
	hello = ok(c, "{\"op\":\"hello\"}");
	ck_assert_str_eq(h_str(r, "server"), "crmpubsubd");
	ck_assert_str_eq(h_str(r, "version"), h_str(hello, "version"));
	ck_assert_int_eq(h_int(r, "protocol"), h_int(hello, "protocol"));
	ck_assert_int_ge(h_int(r, "uptime_s"), 0);
	ck_assert_int_le(h_int(r, "uptime_s"), h_int(hello, "uptime_s"));
	ck_assert_uint_eq(json_object_size(r), 7);	/* ok op server version
							 * protocol uptime_s build */
	b = json_object_get(r, "build");
	ck_assert_msg(json_is_object(b) && json_object_size(b) == 7,
	    "build: %s", h_dump(r));
	for (i = 0; i < sizeof strings / sizeof strings[0]; i++)
		ck_assert_msg(h_str(b, strings[i]) != NULL &&
		    *h_str(b, strings[i]) != '\0', "build.%s: %s", strings[i],
		    h_dump(b));
	ck_assert(json_is_boolean(json_object_get(b, "optimized")));
	ck_assert_int_eq(json_is_true(json_object_get(b, "sanitizers")),
	    binary_has_asan(h_daemon_bin()));
	/* The startup line names the same version, libevent and backend. */
	snprintf(start, sizeof start, "crmpubsubd %s (libevent %s, %s) "
	    "listening on ", h_str(r, "version"), h_str(b, "libevent"),
	    h_str(b, "event_backend"));
	ck_assert_msg(h_log_contains(&h_test_daemon, start),
	    "no \"%s\" in the daemon's log", start);
	json_decref(hello);
	json_decref(r);
	/* Keys in the protocol's order, the id right after op. */
	ck_assert_int_eq(h_send_line(c, "{\"op\":\"version\",\"id\":9}"), 0);
	ck_assert_int_ge(h_recv_line(c, got, sizeof got, H_TIMEOUT_MS), 0);
	ck_assert_msg(strncmp(got, "{\"ok\":true,\"op\":\"version\",\"id\":9,"
	    "\"server\":\"crmpubsubd\",\"version\":\"", 64) == 0 &&
	    strstr(got, "\",\"protocol\":1,\"uptime_s\":") != NULL &&
	    strstr(got, ",\"build\":{\"compiler\":\"") != NULL, "%s", got);
	h_close(c);
}
END_TEST

START_TEST(test_hello_name_limits)
{
	struct h_conn *c;
	char line[512], name[200];
	json_t *e;
	long long id;
	int i;

	h_test_up(NULL);
	c = h_test_conn();
	memset(name, 'n', 128);
	name[128] = '\0';
	id = hello_id(c, name);
	e = client_entry(c, id);
	ck_assert_msg(e != NULL && h_str(e, "name") != NULL &&
	    strcmp(h_str(e, "name"), name) == 0, "128-byte name: %s", h_dump(e));
	json_decref(e);

	/* The limit is in bytes: 64 two-byte characters fit, 65 do not. */
	for (i = 0; i < 64; i++)
		memcpy(name + 2 * i, "\xc3\xa9", 2);
	name[128] = '\0';
	snprintf(line, sizeof line, "{\"op\":\"hello\",\"name\":\"%s\"}", name);
	json_decref(ok(c, "%s", line));
	memcpy(name + 128, "\xc3\xa9", 3);
	snprintf(line, sizeof line, "{\"op\":\"hello\",\"name\":\"%s\"}", name);
	expect_error(c, line, "bad_request", "hello");
	/* A name with quotes and escapes comes back intact in clients. */
	json_decref(ok(c, "{\"op\":\"hello\",\"name\":\"a\\\"b\\\\c\\t\"}"));
	e = client_entry(c, id);
	ck_assert_msg(e != NULL && h_str(e, "name") != NULL &&
	    strcmp(h_str(e, "name"), "a\"b\\c\t") == 0, "escaped name: %s",
	    h_dump(e));
	json_decref(e);

	memset(name, 'n', 129);
	name[129] = '\0';
	snprintf(line, sizeof line, "{\"op\":\"hello\",\"name\":\"%s\"}", name);
	expect_error(c, line, "bad_request", "hello");
	expect_error(c, "{\"op\":\"hello\",\"name\":5}", "bad_request", "hello");
	expect_error(c, "{\"op\":\"hello\",\"name\":[\"x\"]}", "bad_request",
	    "hello");
	h_close(c);
}
END_TEST

START_TEST(test_ping_and_id_echo)
{
	struct h_conn *c;

	h_test_up(NULL);
	c = h_test_conn();
	exchange(c, "{\"op\":\"ping\"}", "{\"ok\":true,\"op\":\"ping\"}");
	exchange(c, "{\"op\":\"ping\",\"id\":7}",
	    "{\"ok\":true,\"op\":\"ping\",\"id\":7}");
	exchange(c, "{\"id\":-12,\"op\":\"ping\"}",
	    "{\"ok\":true,\"op\":\"ping\",\"id\":-12}");
	exchange(c, "{\"op\":\"ping\",\"id\":\"req-1\"}",
	    "{\"ok\":true,\"op\":\"ping\",\"id\":\"req-1\"}");
	exchange(c, "{\"op\":\"ping\",\"id\":\"\"}",
	    "{\"ok\":true,\"op\":\"ping\",\"id\":\"\"}");
	exchange(c, "{\"op\":\"ping\",\"id\":123456789012}",
	    "{\"ok\":true,\"op\":\"ping\",\"id\":123456789012}");
	{
		json_t *r = h_request(c,
		    "{\"op\":\"ping\",\"id\":\"q\\\"b\\\\s\\u00e9\\n\"}");

		ck_assert_msg(h_is_ok(r) && h_str(r, "id") != NULL &&
		    strcmp(h_str(r, "id"), "q\"b\\s\xc3\xa9\n") == 0,
		    "escaped id: %s", h_dump(r));
		json_decref(r);
	}
	h_close(c);
}
END_TEST

/* A numeric id comes back byte for byte as the request wrote it, whether
 * the fast path (plain ping), the general path (a field with an escape
 * sends the same ping through jansson) or an error reply answers. */
START_TEST(test_numeric_id_as_written)
{
	static const char *const ids[] = {
		"12345678901234567890", "-98765432109876543210123", "0.1",
		"0.10", "1e2", "1E+2", "-0", "-0.0", "-1.5e-7", "123456789012345",
		"1e999999", "\"\\u0041\\/b\"",
	};
	struct h_conn *c;
	char line[256], want[256];
	size_t i;

	h_test_up(NULL);
	c = h_test_conn();
	for (i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		snprintf(want, sizeof want, "{\"ok\":true,\"op\":\"ping\","
		    "\"id\":%s}", ids[i]);
		snprintf(line, sizeof line, "{\"op\":\"ping\",\"id\":%s}", ids[i]);
		exchange(c, line, want);
		snprintf(line, sizeof line, "{\"id\":%s,\"op\":\"ping\","
		    "\"x\":\"\\u0041\"}", ids[i]);
		exchange(c, line, want);
		snprintf(line, sizeof line, "{\"op\":\"ping\",\"id\":\"dup\","
		    "\"id\" : %s }", ids[i]);
		exchange(c, line, want);
		snprintf(line, sizeof line, "{\"op\":\"nope\",\"id\":%s}", ids[i]);
		snprintf(want, sizeof want, "{\"ok\":false,\"op\":\"nope\","
		    "\"id\":%s,\"error\":\"unknown_op\",\"message\":\"", ids[i]);
		expect_prefix(c, line, want);
	}
	/* The rest of the line is still jansson's to judge. */
	expect_prefix(c, "{\"op\":\"ping\",\"id\":12345678901234567890,\"x\":01}",
	    "{\"ok\":false,\"op\":null,\"error\":\"bad_json\",\"message\":\"");
	expect_prefix(c, "{\"op\":\"ping\",\"id\":01}",
	    "{\"ok\":false,\"op\":null,\"error\":\"bad_json\",\"message\":\"");
	h_close(c);
}
END_TEST

START_TEST(test_error_reply_echoes_id)
{
	struct h_conn *c;
	json_t *r;

	h_test_up(NULL);
	c = h_test_conn();
	/* Raw form: ok, op, id, error, message, in that order. */
	expect_prefix(c, "{\"op\":\"nope\",\"id\":\"e1\"}",
	    "{\"ok\":false,\"op\":\"nope\",\"id\":\"e1\",\"error\":\"unknown_op\","
	    "\"message\":\"");
	expect_prefix(c, "{\"op\":7}", "{\"ok\":false,\"op\":null,"
	    "\"error\":\"bad_request\",\"message\":\"");
	expect_prefix(c, "}", "{\"ok\":false,\"op\":null,"
	    "\"error\":\"bad_json\",\"message\":\"");
	r = h_request(c, "{\"op\":\"nope\",\"id\":\"e1\"}");
	check_error(r, "unknown_op", "nope", "unknown op with id");
	ck_assert_str_eq(h_str(r, "id"), "e1");
	json_decref(r);
	r = h_request(c, "{\"op\":\"subscribe\",\"id\":99,\"topic\":\"x\"}");
	check_error(r, "bad_topic", "subscribe", "bad topic with id");
	ck_assert_int_eq(h_int(r, "id"), 99);
	json_decref(r);
	/* A null id is echoed; any other type is itself bad_request. */
	ck_assert_int_eq(h_send_line(c, "{\"op\":\"ping\",\"id\":null}"), 0);
	h_expect_line(c, "{\"ok\":true,\"op\":\"ping\",\"id\":null}");
	expect_error(c, "{\"op\":\"ping\",\"id\":{\"a\":1}}", "bad_request",
	    "ping");
	expect_error(c, "{\"op\":\"ping\",\"id\":true}", "bad_request", "ping");
	h_close(c);
}
END_TEST

START_TEST(test_unknown_fields_ignored)
{
	struct h_conn *c;
	json_t *r;
	char t[80];

	h_test_up(NULL);
	c = h_test_conn();
	exchange(c, "{\"op\":\"ping\",\"foo\":[1,2,{\"x\":null}],\"bar\":{}}",
	    "{\"ok\":true,\"op\":\"ping\"}");
	h_topic(1, t);
	r = ok(c, "{\"op\":\"subscribe\",\"topic\":\"%s\",\"extra\":true,"
	    "\"limit\":\"nonsense\"}", t);
	ck_assert_int_eq(h_int(r, "subscribed"), 1);
	json_decref(r);
	h_close(c);
}
END_TEST

START_TEST(test_request_shape_errors)
{
	static const struct error_case cases[] = {
		{ "{\"op\":5}", "bad_request", NULL },
		{ "{\"op\":null}", "bad_request", NULL },
		{ "{\"op\":[\"ping\"]}", "bad_request", NULL },
		{ "{\"op\":{\"x\":1}}", "bad_request", NULL },
		{ "{\"id\":1}", "bad_request", NULL },
		{ "{}", "bad_request", NULL },
		{ "[]", "bad_request", NULL },
		{ "[{\"op\":\"ping\"}]", "bad_request", NULL },
		{ "42", "bad_request", NULL },
		{ "\"ping\"", "bad_request", NULL },
		{ "null", "bad_request", NULL },
		{ "{\"op\":\"nope\"}", "unknown_op", "nope" },
		{ "{\"op\":\"PING\"}", "unknown_op", "PING" },
		{ "{\"op\":\"\"}", "unknown_op", "" },
	};
	struct h_conn *c;

	h_test_up(NULL);
	c = h_test_conn();
	expect_errors(c, cases, sizeof cases / sizeof cases[0]);
	/* The connection still works after all of that. */
	exchange(c, "{\"op\":\"ping\"}", "{\"ok\":true,\"op\":\"ping\"}");
	h_close(c);
}
END_TEST

START_TEST(test_bad_json)
{
	static const char nul_line[] = "{\"op\":\"ping\"}\0\n";
	static const char nul_inside[] = "{\"op\":\"pi\0ng\"}\n";
	static const char bad_utf8[] = "{\"op\":\"ping\",\"x\":\"\xff\xfe\"}\n";
	static const char overlong_utf8[] = "{\"op\":\"ping\",\"x\":\"\xc0\xaf\"}\n";
	static const struct error_case text_cases[] = {
		{ "{", "bad_json", NULL },
		{ "{\"op\":\"ping\"", "bad_json", NULL },
		{ "{\"op\":\"ping\"}}", "bad_json", NULL },
		{ "{\"op\":\"ping\"} {\"op\":\"ping\"}", "bad_json", NULL },
		{ "not json", "bad_json", NULL },
		{ "{'op':'ping'}", "bad_json", NULL },
	};
	/* Lines that a C string cannot carry whole: sent with their length. */
	static const struct {
		const char	*data;
		size_t		 len;
		const char	*what;
	} raw_cases[] = {
		{ nul_line, sizeof nul_line - 1, "NUL after object" },
		{ nul_inside, sizeof nul_inside - 1, "NUL inside string" },
		{ bad_utf8, sizeof bad_utf8 - 1, "invalid UTF-8" },
		{ overlong_utf8, sizeof overlong_utf8 - 1, "overlong UTF-8" },
	};
	struct h_conn *c;
	json_t *r;
	size_t i;

	h_test_up(NULL);
	c = h_test_conn();
	expect_errors(c, text_cases, sizeof text_cases / sizeof text_cases[0]);
	for (i = 0; i < sizeof raw_cases / sizeof raw_cases[0]; i++) {
		ck_assert_int_eq(h_send(c, raw_cases[i].data, raw_cases[i].len),
		    0);
		r = h_recv_reply(c, H_TIMEOUT_MS);
		check_error(r, "bad_json", NULL, raw_cases[i].what);
		json_decref(r);
	}
	exchange(c, "{\"op\":\"ping\"}", "{\"ok\":true,\"op\":\"ping\"}");
	h_close(c);
}
END_TEST

START_TEST(test_subscribe_topic)
{
	struct h_conn *c;
	char t1[80], t2[80], req[256], want[256];

	h_test_up(NULL);
	c = h_test_conn();
	h_topic(1, t1);
	h_topic(2, t2);
	snprintf(req, sizeof req, "{\"op\":\"subscribe\",\"topic\":\"%s\"}", t1);
	snprintf(want, sizeof want, "{\"ok\":true,\"op\":\"subscribe\","
	    "\"topics\":[\"%s\"],\"subscribed\":1}", t1);
	exchange(c, req, want);
	/* Idempotent: the same answer, the count does not move. */
	exchange(c, req, want);
	snprintf(req, sizeof req,
	    "{\"op\":\"subscribe\",\"id\":3,\"topic\":\"%s\"}", t2);
	snprintf(want, sizeof want, "{\"ok\":true,\"op\":\"subscribe\",\"id\":3,"
	    "\"topics\":[\"%s\"],\"subscribed\":2}", t2);
	exchange(c, req, want);
	ck_assert_int_eq(h_stat_or_fail(c, "subscriptions"), 2);
	h_close(c);
}
END_TEST

START_TEST(test_subscribe_canonical_lowercase)
{
	struct h_conn *c;

	h_test_up(NULL);
	c = h_test_conn();
	exchange(c, "{\"op\":\"subscribe\",\"topic\":\"" TOPIC_OF(UPPER_UUID)
	    "\"}", "{\"ok\":true,\"op\":\"subscribe\",\"topics\":[\""
	    TOPIC_OF(LOWER_UUID) "\"],\"subscribed\":1}");
	/* Lower-case form of the same topic is the same subscription. */
	exchange(c, "{\"op\":\"subscribe\",\"topic\":\"" TOPIC_OF(LOWER_UUID)
	    "\"}", "{\"ok\":true,\"op\":\"subscribe\",\"topics\":[\""
	    TOPIC_OF(LOWER_UUID) "\"],\"subscribed\":1}");
	/* Mixed case too. */
	exchange(c, "{\"op\":\"subscribe\",\"topic\":\"crm:contact:"
	    "0190a5B2-7C1e-7a01-8F00-0000000000aB:interactions\"}",
	    "{\"ok\":true,\"op\":\"subscribe\",\"topics\":[\""
	    TOPIC_OF(LOWER_UUID) "\"],\"subscribed\":1}");
	h_close(c);
}
END_TEST

START_TEST(test_subscribe_topics_dedup)
{
	struct h_conn *c;
	char t1[80], t2[80], t3[80];
	json_t *r, *topics;

	h_test_up(NULL);
	c = h_test_conn();
	h_topic(1, t1);
	h_topic(2, t2);
	h_topic(3, t3);
	/* Duplicates (also across case) are removed, first occurrence kept. */
	r = ok(c, "{\"op\":\"subscribe\",\"topics\":[\"%s\",\"" TOPIC_OF(UPPER_UUID)
	    "\",\"%s\",\"%s\",\"" TOPIC_OF(LOWER_UUID) "\",\"%s\"]}",
	    t2, t1, t2, t3);
	topics = json_object_get(r, "topics");
	ck_assert_msg(json_is_array(topics) && json_array_size(topics) == 4,
	    "topics: %s", h_dump(r));
	ck_assert_str_eq(json_string_value(json_array_get(topics, 0)), t2);
	ck_assert_str_eq(json_string_value(json_array_get(topics, 1)),
	    TOPIC_OF(LOWER_UUID));
	ck_assert_str_eq(json_string_value(json_array_get(topics, 2)), t1);
	ck_assert_str_eq(json_string_value(json_array_get(topics, 3)), t3);
	ck_assert_int_eq(h_int(r, "subscribed"), 4);
	json_decref(r);

	/* Partly held already: topics lists the request, count moves by one. */
	h_topic(4, t3);
	r = ok(c, "{\"op\":\"subscribe\",\"topics\":[\"%s\",\"%s\"]}", t1, t3);
	topics = json_object_get(r, "topics");
	ck_assert_msg(json_array_size(topics) == 2, "topics: %s", h_dump(r));
	ck_assert_int_eq(h_int(r, "subscribed"), 5);
	json_decref(r);
	ck_assert_int_eq(h_stat_or_fail(c, "subscriptions"), 5);
	ck_assert_int_eq(h_stat_or_fail(c, "topics"), 5);
	h_close(c);
}
END_TEST

#define T1	TOPIC_OF("0190a5b2-7c1e-7a01-8f00-000000000001")	/* h_topic(1) */

START_TEST(test_subscribe_errors)
{
	static const struct error_case shape_cases[] = {
		{ "{\"op\":\"subscribe\"}", "bad_request", "subscribe" },
		{ "{\"op\":\"subscribe\",\"topics\":[]}", "bad_request",
		  "subscribe" },
		{ "{\"op\":\"subscribe\",\"topic\":5}", "bad_request", "subscribe" },
		{ "{\"op\":\"subscribe\",\"topic\":null}", "bad_request",
		  "subscribe" },
		{ "{\"op\":\"subscribe\",\"topics\":\"" T1 "\"}", "bad_request",
		  "subscribe" },
		{ "{\"op\":\"subscribe\",\"topics\":[\"" T1 "\",7]}",
		  "bad_request", "subscribe" },
		{ "{\"op\":\"subscribe\",\"topic\":\"" T1 "\",\"topics\":[\"" T1
		  "\"]}", "bad_request", "subscribe" },
		/* One bad topic among good ones: nothing is subscribed. */
		{ "{\"op\":\"subscribe\",\"topics\":[\"" T1 "\","
		  "\"crm:contact:x:interactions\"]}", "bad_topic", "subscribe" },
	};
	static const char *const bad_topics[] = {
		"",
		"crm:contact:xyz:interactions",
		"crm:contact:" LOWER_UUID ":notes",
		"crm:contact:" LOWER_UUID,
		"crm:contact:" LOWER_UUID ":interactions:",
		"crm:contact:0190a5b2-7c1e-7a01-8f00-0000000000a:interactions",
		"crm:contact:0190a5b2-7c1e-7a01-8f00-0000000000abc:interactions",
		"crm:contact:{0190a5b2-7c1e-7a01-8f00-0000000000ab}:interactions",
		"crm:contact:0190a5b27c1e7a018f000000000000ab:interactions",
		"crm:contact:0190a5b2-7c1e-7a01-8f00-0000000000ag:interactions",
		"CRM:CONTACT:" LOWER_UUID ":INTERACTIONS",
		" crm:contact:" LOWER_UUID ":interactions",
		"crm:contact: " LOWER_UUID ":interactions",
		"crm:company:" LOWER_UUID ":interactions",
		NULL
	};
	struct h_conn *c;
	char line[512], t1[80];
	int i;

	h_test_up(NULL);
	c = h_test_conn();
	for (i = 0; bad_topics[i] != NULL; i++) {
		snprintf(line, sizeof line,
		    "{\"op\":\"subscribe\",\"topic\":\"%s\"}", bad_topics[i]);
		expect_error(c, line, "bad_topic", "subscribe");
		snprintf(line, sizeof line,
		    "{\"op\":\"subscribe\",\"topics\":[\"%s\"]}", bad_topics[i]);
		expect_error(c, line, "bad_topic", "subscribe");
	}
	h_topic(1, t1);
	ck_assert_str_eq(t1, T1);
	expect_errors(c, shape_cases, sizeof shape_cases / sizeof shape_cases[0]);
	ck_assert_int_eq(h_stat_or_fail(c, "subscriptions"), 0);
	ck_assert_int_eq(h_stat_or_fail(c, "topics"), 0);
	h_close(c);
}
END_TEST

START_TEST(test_subscribe_too_many)
{
	static const char *const args[] = { "--max-subscriptions", "3", NULL };
	struct h_conn *c;
	char t[5][80];
	json_t *r;
	int i;

	h_test_up(args);
	c = h_test_conn();
	for (i = 0; i < 5; i++)
		h_topic((unsigned long)i + 1, t[i]);
	/* More in one request than the limit: too_many, nothing changes. */
	r = h_requestf(c, "{\"op\":\"subscribe\",\"topics\":[\"%s\",\"%s\","
	    "\"%s\",\"%s\"]}", t[0], t[1], t[2], t[3]);
	check_error(r, "too_many", "subscribe", "4 topics, limit 3");
	json_decref(r);
	ck_assert_int_eq(h_stat_or_fail(c, "subscriptions"), 0);

	r = ok(c, "{\"op\":\"subscribe\",\"topics\":[\"%s\",\"%s\"]}", t[0], t[1]);
	ck_assert_int_eq(h_int(r, "subscribed"), 2);
	json_decref(r);
	/* Would hold 4: too_many, and the held two stay. */
	r = h_requestf(c, "{\"op\":\"subscribe\",\"topics\":[\"%s\",\"%s\"]}",
	    t[2], t[3]);
	check_error(r, "too_many", "subscribe", "would hold 4");
	json_decref(r);
	ck_assert_int_eq(h_stat_or_fail(c, "subscriptions"), 2);
	r = ok(c, "{\"op\":\"subscribe\",\"topic\":\"%s\"}", t[2]);
	ck_assert_int_eq(h_int(r, "subscribed"), 3);
	json_decref(r);
	/* At the limit a held topic can be re-subscribed, a new one cannot. */
	r = ok(c, "{\"op\":\"subscribe\",\"topic\":\"%s\"}", t[0]);
	ck_assert_int_eq(h_int(r, "subscribed"), 3);
	json_decref(r);
	r = h_requestf(c, "{\"op\":\"subscribe\",\"topic\":\"%s\"}", t[4]);
	check_error(r, "too_many", "subscribe", "fourth topic");
	json_decref(r);
	/* The limit is per connection. */
	h_close(c);
	c = h_test_conn();
	r = ok(c, "{\"op\":\"subscribe\",\"topics\":[\"%s\",\"%s\",\"%s\"]}",
	    t[2], t[3], t[4]);
	ck_assert_int_eq(h_int(r, "subscribed"), 3);
	json_decref(r);
	h_close(c);
}
END_TEST

START_TEST(test_unsubscribe)
{
	struct h_conn *c;
	char t[4][80], line[512];
	json_t *r;
	int i;

	h_test_up(NULL);
	c = h_test_conn();
	for (i = 0; i < 4; i++)
		h_topic((unsigned long)i + 1, t[i]);
	/* Nothing held: every form is a no-op. */
	exchange(c, "{\"op\":\"unsubscribe\"}",
	    "{\"ok\":true,\"op\":\"unsubscribe\",\"subscribed\":0}");
	snprintf(line, sizeof line, "{\"op\":\"unsubscribe\",\"topic\":\"%s\"}",
	    t[0]);
	exchange(c, line, "{\"ok\":true,\"op\":\"unsubscribe\",\"subscribed\":0}");

	r = ok(c, "{\"op\":\"subscribe\",\"topics\":[\"%s\",\"%s\",\"%s\",\"%s\","
	    "\"" TOPIC_OF(LOWER_UUID) "\"]}", t[0], t[1], t[2], t[3]);
	ck_assert_int_eq(h_int(r, "subscribed"), 5);
	json_decref(r);
	/* One topic. */
	exchange(c, line, "{\"ok\":true,\"op\":\"unsubscribe\",\"subscribed\":4}");
	/* Not held any more: no-op. */
	snprintf(line, sizeof line,
	    "{\"op\":\"unsubscribe\",\"id\":\"u\",\"topic\":\"%s\"}", t[0]);
	exchange(c, line,
	    "{\"ok\":true,\"op\":\"unsubscribe\",\"id\":\"u\",\"subscribed\":4}");
	/* Upper case reaches the lower-case subscription. */
	exchange(c, "{\"op\":\"unsubscribe\",\"topic\":\"" TOPIC_OF(UPPER_UUID)
	    "\"}", "{\"ok\":true,\"op\":\"unsubscribe\",\"subscribed\":3}");
	/* topics: [] = none. */
	exchange(c, "{\"op\":\"unsubscribe\",\"topics\":[]}",
	    "{\"ok\":true,\"op\":\"unsubscribe\",\"subscribed\":3}");
	/* A list mixing held and not held topics. */
	snprintf(line, sizeof line,
	    "{\"op\":\"unsubscribe\",\"topics\":[\"%s\",\"%s\",\"%s\"]}",
	    t[0], t[1], t[1]);
	exchange(c, line, "{\"ok\":true,\"op\":\"unsubscribe\",\"subscribed\":2}");
	ck_assert_int_eq(h_stat_or_fail(c, "subscriptions"), 2);
	/* A bad topic changes nothing. */
	snprintf(line, sizeof line,
	    "{\"op\":\"unsubscribe\",\"topics\":[\"%s\",\"nope\"]}", t[2]);
	expect_error(c, line, "bad_topic", "unsubscribe");
	expect_error(c, "{\"op\":\"unsubscribe\",\"topic\":\"nope\"}", "bad_topic",
	    "unsubscribe");
	ck_assert_int_eq(h_stat_or_fail(c, "subscriptions"), 2);
	expect_error(c, "{\"op\":\"unsubscribe\",\"topic\":3}", "bad_request",
	    "unsubscribe");
	expect_error(c, "{\"op\":\"unsubscribe\",\"topics\":{}}", "bad_request",
	    "unsubscribe");
	/* Neither field: all. */
	exchange(c, "{\"op\":\"unsubscribe\"}",
	    "{\"ok\":true,\"op\":\"unsubscribe\",\"subscribed\":0}");
	ck_assert_int_eq(h_stat_or_fail(c, "subscriptions"), 0);
	ck_assert_int_eq(h_stat_or_fail(c, "topics"), 0);
	h_close(c);
}
END_TEST

START_TEST(test_stats_counters)
{
	static const char *const keys[] = { "uptime_s", "connections", "topics",
	    "subscriptions", "broadcasts", "delivered", "dropped", "resyncs",
	    "errors", NULL };
	struct h_conn *a, *b;
	char t1[80], t2[80], u1[37], u2[37], want[512];
	long long errors, broadcasts, delivered;
	json_t *s, *r;
	int i;

	h_test_up(NULL);
	a = h_test_conn();
	r = ok(a, "{\"op\":\"stats\",\"id\":1}");
	ck_assert_msg(json_object_size(r) == 4, "stats reply keys: %s", h_dump(r));
	s = json_object_get(r, "stats");
	ck_assert_msg(h_str(s, "version") != NULL &&
	    strcmp(h_str(s, "version"), "1.0.0") == 0, "stats.version: %s",
	    h_dump(s));
	ck_assert_msg(strcmp(json_object_iter_key(json_object_iter(s)),
	    "version") == 0, "stats should open with version: %s", h_dump(s));
	for (i = 0; keys[i] != NULL; i++)
		ck_assert_msg(json_is_integer(json_object_get(s, keys[i])) &&
		    h_int(s, keys[i]) >= 0, "stats.%s: %s", keys[i], h_dump(s));
	/* Everything but uptime_s and connections starts at zero. */
	for (i = 2; keys[i] != NULL; i++)
		ck_assert_msg(h_int(s, keys[i]) == 0, "fresh stats.%s: %s",
		    keys[i], h_dump(s));
	json_decref(r);
	ck_assert(h_wait_stat(a, "connections", 1, H_TIMEOUT_MS));

	/* connect() returns once queued; the daemon accepts soon after. */
	b = h_test_conn();
	ck_assert(h_wait_stat(a, "connections", 2, H_TIMEOUT_MS));

	h_topic(1, t1);
	h_topic(2, t2);
	h_uuid(1, u1);
	h_uuid(2, u2);
	json_decref(ok(b, "{\"op\":\"subscribe\",\"topics\":[\"%s\",\"%s\"]}",
	    t1, t2));
	json_decref(ok(a, "{\"op\":\"subscribe\",\"topic\":\"%s\"}", t1));
	ck_assert_int_eq(h_stat_or_fail(a, "topics"), 2);
	ck_assert_int_eq(h_stat_or_fail(a, "subscriptions"), 3);

	/* A broadcast to contact 1 reaches a and b. */
	r = ok(a, "{\"op\":\"broadcast_to_contacts\",\"event\":"
	    "\"interaction_created\",\"interaction_uuid\":\"%s\","
	    "\"contact_uuids\":[\"%s\"]}", u2, u1);
	ck_assert_int_eq(h_int(r, "delivered"), 2);
	json_decref(r);
	ck_assert_int_eq(h_stat_or_fail(a, "broadcasts"), 1);
	ck_assert_int_eq(h_stat_or_fail(a, "delivered"), 2);
	ck_assert_int_eq(h_stat_or_fail(a, "errors"), 0);

	/* Errors count, and a rejected broadcast is not a broadcast. */
	expect_error(a, "{\"op\":\"nope\"}", "unknown_op", "nope");
	snprintf(want, sizeof want, "{\"op\":\"broadcast_to_contacts\",\"event\":"
	    "\"interaction_created\",\"interaction_uuid\":\"%s\","
	    "\"contact_uuids\":[\"%s\",\"bad\"]}", u2, u1);
	expect_error(a, want, "bad_uuid", "broadcast_to_contacts");
	expect_error(b, "nope", "bad_json", NULL);
	errors = h_stat_or_fail(a, "errors");
	ck_assert_int_eq(errors, 3);
	broadcasts = h_stat_or_fail(a, "broadcasts");
	ck_assert_int_eq(broadcasts, 1);
	delivered = h_stat_or_fail(a, "delivered");
	ck_assert_int_eq(delivered, 2);

	/* A broadcast nobody listens to still counts; delivered does not move. */
	json_decref(ok(a, "{\"op\":\"broadcast_to_contacts\",\"event\":"
	    "\"interaction_deleted\",\"interaction_uuid\":\"%s\","
	    "\"contact_uuids\":[\"" LOWER_UUID "\"]}", u2));
	ck_assert_int_eq(h_stat_or_fail(a, "broadcasts"), 2);
	ck_assert_int_eq(h_stat_or_fail(a, "delivered"), 2);

	/* b leaves: its two subscriptions go, topic 2 with its last one. */
	h_close(b);
	ck_assert(h_wait_stat(a, "connections", 1, H_TIMEOUT_MS));
	ck_assert_int_eq(h_stat_or_fail(a, "subscriptions"), 1);
	ck_assert_int_eq(h_stat_or_fail(a, "topics"), 1);
	ck_assert_int_eq(h_stat_or_fail(a, "errors"), 3);
	h_close(a);
}
END_TEST

START_TEST(test_topics_op)
{
	static const struct error_case bad_limits[] = {
		{ "{\"op\":\"topics\",\"limit\":-1}", "bad_request", "topics" },
		{ "{\"op\":\"topics\",\"limit\":\"3\"}", "bad_request", "topics" },
		{ "{\"op\":\"topics\",\"limit\":1.5}", "bad_request", "topics" },
		{ "{\"op\":\"topics\",\"limit\":null}", "bad_request", "topics" },
	};
	struct h_conn *a, *b;
	char t[5][80];
	json_t *r, *arr, *e;
	size_t i;
	int seen[5] = { 0 }, k;

	h_test_up(NULL);
	a = h_test_conn();
	b = h_test_conn();
	for (k = 0; k < 5; k++)
		h_topic((unsigned long)k + 1, t[k]);
	exchange(a, "{\"op\":\"topics\"}",
	    "{\"ok\":true,\"op\":\"topics\",\"topics\":[],\"truncated\":false}");
	json_decref(ok(a, "{\"op\":\"subscribe\",\"topics\":[\"%s\",\"%s\",\"%s\","
	    "\"%s\",\"%s\"]}", t[0], t[1], t[2], t[3], t[4]));
	json_decref(ok(b, "{\"op\":\"subscribe\",\"topics\":[\"%s\",\"%s\"]}",
	    t[1], t[3]));

	r = ok(a, "{\"op\":\"topics\"}");
	ck_assert_msg(json_is_false(json_object_get(r, "truncated")),
	    "truncated: %s", h_dump(r));
	arr = json_object_get(r, "topics");
	ck_assert_msg(json_array_size(arr) == 5, "topics: %s", h_dump(r));
	json_array_foreach(arr, i, e) {
		ck_assert_msg(json_object_size(e) == 2, "entry: %s", h_dump(e));
		for (k = 0; k < 5; k++) {
			if (h_str(e, "topic") != NULL &&
			    strcmp(h_str(e, "topic"), t[k]) == 0) {
				seen[k]++;
				ck_assert_int_eq(h_int(e, "subscribers"),
				    k == 1 || k == 3 ? 2 : 1);
			}
		}
	}
	for (k = 0; k < 5; k++)
		ck_assert_int_eq(seen[k], 1);
	json_decref(r);

	r = ok(a, "{\"op\":\"topics\",\"limit\":2}");
	ck_assert_int_eq(json_array_size(json_object_get(r, "topics")), 2);
	ck_assert(json_is_true(json_object_get(r, "truncated")));
	json_decref(r);
	r = ok(a, "{\"op\":\"topics\",\"limit\":5}");
	ck_assert_int_eq(json_array_size(json_object_get(r, "topics")), 5);
	ck_assert(json_is_false(json_object_get(r, "truncated")));
	json_decref(r);
	r = ok(a, "{\"op\":\"topics\",\"limit\":0,\"id\":\"z\"}");
	ck_assert_int_eq(json_array_size(json_object_get(r, "topics")), 0);
	ck_assert(json_is_true(json_object_get(r, "truncated")));
	ck_assert_str_eq(h_str(r, "id"), "z");
	json_decref(r);

	expect_errors(a, bad_limits, sizeof bad_limits / sizeof bad_limits[0]);

	/* A topic disappears with its last subscriber. */
	json_decref(ok(a, "{\"op\":\"unsubscribe\",\"topics\":[\"%s\",\"%s\"]}",
	    t[0], t[1]));
	r = ok(a, "{\"op\":\"topics\"}");
	arr = json_object_get(r, "topics");
	ck_assert_msg(json_array_size(arr) == 4, "topics: %s", h_dump(r));
	json_array_foreach(arr, i, e) {
		ck_assert_str_ne(h_str(e, "topic"), t[0]);
		if (strcmp(h_str(e, "topic"), t[1]) == 0)
			ck_assert_int_eq(h_int(e, "subscribers"), 1);
	}
	json_decref(r);
	h_close(b);
	ck_assert(h_wait_stat(a, "connections", 1, H_TIMEOUT_MS));
	r = ok(a, "{\"op\":\"topics\"}");
	ck_assert_msg(json_array_size(json_object_get(r, "topics")) == 3,
	    "topics: %s", h_dump(r));
	json_decref(r);
	h_close(a);
}
END_TEST

START_TEST(test_clients_op)
{
	static const char *const keys[] = { "id", "name", "pid", "uid", "gid",
	    "subscriptions", "outbuf", NULL };
	struct h_conn *a, *b;
	long long ida, idb;
	char t1[80], t2[80];
	json_t *r, *arr, *e;
	size_t i;
	int k;

	h_test_up(NULL);
	a = h_test_conn();
	b = h_test_conn();
	ida = hello_id(a, "alpha");
	idb = hello_id(b, NULL);
	h_topic(1, t1);
	h_topic(2, t2);
	json_decref(ok(b, "{\"op\":\"subscribe\",\"topics\":[\"%s\",\"%s\"]}",
	    t1, t2));
	ck_assert(h_wait_stat(a, "connections", 2, H_TIMEOUT_MS));

	r = ok(a, "{\"op\":\"clients\"}");
	arr = json_object_get(r, "clients");
	ck_assert_msg(json_array_size(arr) == 2, "clients: %s", h_dump(r));
	json_array_foreach(arr, i, e) {
		ck_assert_msg(json_object_size(e) == 7, "entry: %s", h_dump(e));
		for (k = 0; keys[k] != NULL; k++)
			ck_assert_msg(json_object_get(e, keys[k]) != NULL,
			    "%s missing: %s", keys[k], h_dump(e));
		ck_assert_int_eq(h_int(e, "pid"), getpid());
		ck_assert_int_eq(h_int(e, "uid"), getuid());
		ck_assert_int_eq(h_int(e, "gid"), getgid());
		ck_assert_msg(h_int(e, "outbuf") >= 0, "outbuf: %s", h_dump(e));
	}
	json_decref(r);
	e = client_entry(a, ida);
	ck_assert_msg(e != NULL, "a not listed");
	ck_assert_str_eq(h_str(e, "name"), "alpha");
	ck_assert_int_eq(h_int(e, "subscriptions"), 0);
	json_decref(e);
	e = client_entry(a, idb);
	ck_assert_msg(e != NULL, "b not listed");
	ck_assert(json_is_null(json_object_get(e, "name")));
	ck_assert_int_eq(h_int(e, "subscriptions"), 2);
	json_decref(e);

	h_close(b);
	ck_assert(h_wait_stat(a, "connections", 1, H_TIMEOUT_MS));
	r = ok(a, "{\"op\":\"clients\",\"id\":4}");
	ck_assert_int_eq(h_int(r, "id"), 4);
	ck_assert_msg(json_array_size(json_object_get(r, "clients")) == 1,
	    "clients: %s", h_dump(r));
	json_decref(r);
	h_close(a);
}
END_TEST

#define U1	"0190a5b2-7c1e-7a01-8f00-000000000001"	/* h_uuid(1) */
#define BTC	"{\"op\":\"broadcast_to_contacts\","
#define BI	"{\"op\":\"broadcast_interaction\","
#define EV	"\"event\":\"interaction_created\","

START_TEST(test_broadcast_errors)
{
	static const struct error_case cases[] = {
		/* bad_event */
		{ BTC "\"interaction_uuid\":\"" U1 "\",\"contact_uuids\":[]}",
		  "bad_event", "broadcast_to_contacts" },
		{ BTC "\"event\":null,\"interaction_uuid\":\"" U1 "\","
		  "\"contact_uuids\":[]}", "bad_event", "broadcast_to_contacts" },
		{ BTC "\"event\":3,\"interaction_uuid\":\"" U1 "\","
		  "\"contact_uuids\":[]}", "bad_event", "broadcast_to_contacts" },
		{ BI "\"event\":\"interaction_archived\",\"interaction\":"
		  "{\"uuid\":\"" U1 "\"}}", "bad_event", "broadcast_interaction" },
		{ BI "\"event\":\"INTERACTION_CREATED\",\"interaction\":"
		  "{\"uuid\":\"" U1 "\"}}", "bad_event", "broadcast_interaction" },
		/* bad_uuid */
		{ BTC EV "\"contact_uuids\":[]}", "bad_uuid",
		  "broadcast_to_contacts" },
		{ BTC EV "\"interaction_uuid\":null,\"contact_uuids\":[]}",
		  "bad_uuid", "broadcast_to_contacts" },
		{ BTC EV "\"interaction_uuid\":\"nope\",\"contact_uuids\":[]}",
		  "bad_uuid", "broadcast_to_contacts" },
		{ BTC EV "\"interaction_uuid\":17,\"contact_uuids\":[]}",
		  "bad_uuid", "broadcast_to_contacts" },
		{ BTC EV "\"interaction_uuid\":\"" U1 "\",\"contact_uuids\":[5]}",
		  "bad_uuid", "broadcast_to_contacts" },
		{ BTC EV "\"interaction_uuid\":\"" U1 "\",\"contact_uuids\":"
		  "[\"" U1 "-\"]}", "bad_uuid", "broadcast_to_contacts" },
		{ BI EV "\"interaction\":{}}", "bad_uuid", "broadcast_interaction" },
		{ BI EV "\"interaction\":{\"uuid\":null}}", "bad_uuid",
		  "broadcast_interaction" },
		{ BI EV "\"interaction\":{\"uuid\":\"" U1 "\",\"contact_uuid\":"
		  "\"x\"}}", "bad_uuid", "broadcast_interaction" },
		{ BI EV "\"interaction\":{\"uuid\":\"" U1 "\",\"parties\":"
		  "[{\"contact_uuid\":12}]}}", "bad_uuid", "broadcast_interaction" },
		/* bad_request: shapes */
		{ BI "\"event\":\"interaction_created\"}", "bad_request",
		  "broadcast_interaction" },
		{ BI EV "\"interaction\":[]}", "bad_request",
		  "broadcast_interaction" },
		{ BI EV "\"interaction\":\"" U1 "\"}", "bad_request",
		  "broadcast_interaction" },
		{ BTC EV "\"interaction_uuid\":\"" U1 "\"}", "bad_request",
		  "broadcast_to_contacts" },
		{ BTC EV "\"interaction_uuid\":\"" U1 "\",\"contact_uuids\":"
		  "\"" U1 "\"}", "bad_request", "broadcast_to_contacts" },
	};
	struct h_conn *c;
	char u[37];

	h_test_up(NULL);
	c = h_test_conn();
	h_uuid(1, u);
	ck_assert_str_eq(u, U1);
	expect_errors(c, cases, sizeof cases / sizeof cases[0]);
	ck_assert_int_eq(h_stat_or_fail(c, "broadcasts"), 0);
	h_close(c);
}
END_TEST

#define U2	"0190a5b2-7c1e-7a01-8f00-000000000002"	/* h_uuid(2) */
#define U3	"0190a5b2-7c1e-7a01-8f00-000000000003"	/* h_uuid(3) */

/* max_contacts counts entries as sent, in both broadcast forms. */
START_TEST(test_too_many_broadcast)
{
	static const char *const args[] = { "--max-contacts", "2", NULL };
	static const struct error_case cases[] = {
		{ BTC EV "\"interaction_uuid\":\"" U1 "\",\"contact_uuids\":"
		  "[\"" U1 "\",\"" U2 "\",\"" U3 "\"]}", "too_many",
		  "broadcast_to_contacts" },
		{ BI EV "\"interaction\":{\"uuid\":\"" U1 "\",\"contact_uuid\":"
		  "null,\"parties\":[{\"contact_uuid\":\"" U2 "\"},"
		  "{\"contact_uuid\":\"" U3 "\"}]}}", "too_many",
		  "broadcast_interaction" },
	};
	struct h_conn *c;
	json_t *r;

	h_test_up(args);
	c = h_test_conn();
	expect_errors(c, cases, sizeof cases / sizeof cases[0]);
	r = ok(c, BTC EV "\"interaction_uuid\":\"" U1 "\",\"contact_uuids\":"
	    "[\"" U2 "\",\"" U3 "\"]}");
	ck_assert_int_eq(h_int(r, "topics"), 2);
	json_decref(r);
	h_close(c);
}
END_TEST

START_TEST(test_line_too_long_reply)
{
	static const char *const args[] = { "--max-line", "64", NULL };
	struct h_conn *c;
	char line[200];
	json_t *r;

	h_test_up(args);
	c = h_test_conn();
	memset(line, 'x', 150);
	line[150] = '\0';
	expect_prefix(c, line, "{\"ok\":false,\"op\":null,"
	    "\"error\":\"line_too_long\",\"message\":\"");
	r = h_request(c, line);
	check_error(r, "line_too_long", NULL, "150-byte line, limit 64");
	json_decref(r);
	exchange(c, "{\"op\":\"ping\"}", "{\"ok\":true,\"op\":\"ping\"}");
	h_close(c);
}
END_TEST

START_TEST(test_every_error_counted)
{
	static const char *const args[] = { "--max-line", "200",
	    "--max-subscriptions", "1", NULL };
	struct h_conn *c;
	char t1[80], t2[80], line[320];
	long long before;
	json_t *r;

	h_test_up(args);
	c = h_test_conn();
	h_topic(1, t1);
	h_topic(2, t2);
	before = h_stat_or_fail(c, "errors");
	ck_assert_int_eq(before, 0);
	expect_error(c, "{", "bad_json", NULL);
	expect_error(c, "[]", "bad_request", NULL);
	expect_error(c, "{\"op\":\"x\"}", "unknown_op", "x");
	expect_error(c, "{\"op\":\"subscribe\",\"topic\":\"t\"}", "bad_topic",
	    "subscribe");
	expect_error(c, "{\"op\":\"broadcast_to_contacts\",\"event\":"
	    "\"interaction_created\",\"contact_uuids\":[]}", "bad_uuid",
	    "broadcast_to_contacts");
	expect_error(c, "{\"op\":\"broadcast_to_contacts\",\"event\":\"e\"}",
	    "bad_event", "broadcast_to_contacts");
	snprintf(line, sizeof line,
	    "{\"op\":\"subscribe\",\"topics\":[\"%s\",\"%s\"]}", t1, t2);
	expect_error(c, line, "too_many", "subscribe");
	memset(line, ' ', 300);
	memcpy(line, "{\"op\":\"ping\"", 12);
	line[298] = '}';
	line[299] = '\0';
	r = h_request(c, line);
	check_error(r, "line_too_long", NULL, "300-byte ping, limit 200");
	json_decref(r);
	ck_assert_int_eq(h_stat_or_fail(c, "errors"), 8);
	h_close(c);
}
END_TEST

/* A socat child speaking to the daemon: its stdin and stdout as pipes. */
struct socat_proc {
	pid_t		 pid;
	int		 in;	/* write end: what socat sends to the daemon */
	struct h_conn	*out;	/* read end wrapped for h_recv_line */
};

/* Starts "socat - UNIX-CONNECT:sock". */
static void
socat_start(struct socat_proc *p, const char *sock)
{
	char addr[400];
	int in[2], out[2];

	snprintf(addr, sizeof addr, "UNIX-CONNECT:%s", sock);
	ck_assert(pipe2(in, O_CLOEXEC) == 0 && pipe2(out, O_CLOEXEC) == 0);
	p->pid = fork();
	ck_assert(p->pid != -1);
	if (p->pid == 0) {
		dup2(in[0], STDIN_FILENO);
		dup2(out[1], STDOUT_FILENO);
		signal(SIGPIPE, SIG_DFL);
		execlp("socat", "socat", "-", addr, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	p->in = in[1];
	p->out = calloc(1, sizeof *p->out);
	ck_assert(p->out != NULL);
	p->out->fd = out[0];
}

/* Closes socat's stdin, waits (bounded) for it to exit. */
static void
socat_stop(struct socat_proc *p)
{
	int i;

	close(p->in);
	for (i = 0; i < 400; i++) {
		if (waitpid(p->pid, NULL, WNOHANG) == p->pid)
			goto done;
		h_silent(p->out, 5);
	}
	kill(p->pid, SIGKILL);
	waitpid(p->pid, NULL, 0);
done:
	h_close(p->out);
}

/* The push every example below causes. */
#define EXAMPLE_PUSH "{\"type\":\"crm\",\"event\":\"interaction_created\"," \
	"\"topic\":\"crm:contact:0190a5b2-7c1e-7a01-8f00-000000000001:" \
	"interactions\",\"payload\":{\"interaction_uuid\":" \
	"\"0190a5b2-7c1e-7a01-8f00-0000000000aa\"}}"

/* Writes one request line through a socat of its own, as the docs do with
 * "echo … | socat - UNIX-CONNECT:…", and checks the reply line. */
static void
socat_exchange(const char *request, const char *reply)
{
	struct socat_proc w;
	size_t n = strlen(request);

	socat_start(&w, h_test_daemon.sock);
	ck_assert_int_eq(write(w.in, request, n), (ssize_t)n);
	ck_assert_int_eq(write(w.in, "\n", 1), 1);
	h_expect_line(w.out, reply);
	socat_stop(&w);
}

/* docs/protocol.md's session and its writer side, and README.md's,
 * byte for byte through real socat processes. */
START_TEST(test_protocol_example_session)
{
	static const char sub[] = "{\"op\":\"subscribe\",\"topic\":\"crm:contact:"
	    "0190a5b2-7c1e-7a01-8f00-000000000001:interactions\"}\n";
	struct socat_proc s;
	struct h_conn *w;
	json_t *r;

	h_test_up(NULL);
	socat_start(&s, h_test_daemon.sock);
	ck_assert_int_eq(write(s.in, sub, sizeof sub - 1),
	    (ssize_t)(sizeof sub - 1));
	h_expect_line(s.out, "{\"ok\":true,\"op\":\"subscribe\",\"topics\":["
	    "\"crm:contact:0190a5b2-7c1e-7a01-8f00-000000000001:interactions\"],"
	    "\"subscribed\":1}");
	w = h_test_conn();
	r = ok(w, "{\"op\":\"broadcast_to_contacts\",\"event\":"
	    "\"interaction_created\",\"interaction_uuid\":"
	    "\"0190a5b2-7c1e-7a01-8f00-0000000000aa\",\"contact_uuids\":["
	    "\"0190a5b2-7c1e-7a01-8f00-000000000001\"]}");
	ck_assert_int_eq(h_int(r, "delivered"), 1);
	json_decref(r);
	h_expect_line(s.out, EXAMPLE_PUSH);

	/* docs/protocol.md: upper-case interaction UUID and a null contact. */
	socat_exchange("{\"op\":\"broadcast_to_contacts\",\"event\":"
	    "\"interaction_created\",\"interaction_uuid\":"
	    "\"0190A5B2-7C1E-7A01-8F00-0000000000AA\",\"contact_uuids\":["
	    "\"0190a5b2-7c1e-7a01-8f00-000000000001\",null]}",
	    "{\"ok\":true,\"op\":\"broadcast_to_contacts\",\"topics\":1,"
	    "\"delivered\":1}");
	h_expect_line(s.out, EXAMPLE_PUSH);

	/* README.md's 30-second demo. */
	socat_exchange("{\"op\":\"broadcast_interaction\",\"event\":"
	    "\"interaction_created\",\"interaction\":{\"uuid\":"
	    "\"0190a5b2-7c1e-7a01-8f00-0000000000aa\",\"contact_uuid\":"
	    "\"0190a5b2-7c1e-7a01-8f00-000000000001\",\"parties\":[]}}",
	    "{\"ok\":true,\"op\":\"broadcast_interaction\",\"topics\":1,"
	    "\"delivered\":1}");
	h_expect_line(s.out, EXAMPLE_PUSH);

	ck_assert(h_silent(s.out, 100));
	socat_stop(&s);
	h_close(w);
}
END_TEST

/* Suite: ops, errors and the documented example. */
static Suite *
ops_suite(void)
{
	Suite *s = suite_create("it_ops");
	TCase *tc;

	tc = tcase_create("ops");
	tcase_set_timeout(tc, 20);
	tcase_add_checked_fixture(tc, NULL, h_test_down);
	tcase_add_test(tc, test_hello);
	tcase_add_test(tc, test_version);
	tcase_add_test(tc, test_hello_name_limits);
	tcase_add_test(tc, test_ping_and_id_echo);
	tcase_add_test(tc, test_subscribe_topic);
	tcase_add_test(tc, test_subscribe_canonical_lowercase);
	tcase_add_test(tc, test_subscribe_topics_dedup);
	tcase_add_test(tc, test_subscribe_too_many);
	tcase_add_test(tc, test_unsubscribe);
	tcase_add_test(tc, test_stats_counters);
	tcase_add_test(tc, test_topics_op);
	tcase_add_test(tc, test_clients_op);
	tcase_add_test(tc, test_protocol_example_session);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_set_timeout(tc, 20);
	tcase_add_checked_fixture(tc, NULL, h_test_down);
	tcase_add_test(tc, test_error_reply_echoes_id);
	tcase_add_test(tc, test_numeric_id_as_written);
	tcase_add_test(tc, test_unknown_fields_ignored);
	tcase_add_test(tc, test_request_shape_errors);
	tcase_add_test(tc, test_bad_json);
	tcase_add_test(tc, test_subscribe_errors);
	tcase_add_test(tc, test_broadcast_errors);
	tcase_add_test(tc, test_too_many_broadcast);
	tcase_add_test(tc, test_line_too_long_reply);
	tcase_add_test(tc, test_every_error_counted);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(ops_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
