/* SPDX-License-Identifier: MIT — crmpubsub */
/* Unit suite for the wire format in both directions (proto/): the
 * vocabularies (ops, error codes, resync reasons), the request builders,
 * and the reader of the daemon's lines, checked against the daemon's own
 * writers (reply.c, push.c) so that what one side writes the other reads
 * back exactly. */

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "event.h"
#include "jscan.h"
#include "message.h"
#include "names.h"
#include "op.h"
#include "proto_error.h"
#include "push.h"
#include "reply.h"
#include "request.h"
#include "topic.h"
#include "uuid_canon.h"

/* daemon/conn.c refers to the event base main.c normally provides. */
struct event_base *base;

#define U1	"0190a5b2-7c1e-7a01-8f00-000000000001"
#define U2	"0190a5b2-7c1e-7a01-8f00-000000000002"
#define UA	"0190a5b2-7c1e-7a01-8f00-0000000000aa"
#define UMIX	"0190A5b2-7C1e-7a01-8F00-0000000000aB"
#define UMIX_LOWER "0190a5b2-7c1e-7a01-8f00-0000000000ab"
#define TOPIC(u)	"crm:contact:" u ":interactions"

/* The buffer's bytes as a string (it is kept NUL-free by the builders). */
static const char *
text(struct buf *b)
{
	static char	out[1 << 16];
	size_t		n = buf_len(b) < sizeof out - 1 ? buf_len(b) :
			    sizeof out - 1;

	memcpy(out, buf_head(b), n);
	out[n] = '\0';
	return out;
}

/* The topic key of a contact UUID text. */
static struct topic_key
key_of(const char *uuid)
{
	struct topic_key	k;
	uint8_t			u[16];

	ck_assert_int_eq(uuid_canon_parse(uuid, strlen(uuid), u), 0);
	topic_contact_interactions(u, &k);
	return k;
}

/* The topic key of contact number n. */
static struct topic_key
key_n(unsigned n)
{
	char	u[UUID_TEXT_LEN + 1];

	snprintf(u, sizeof u, "0190a5b2-7c1e-7a01-8f00-%012x", n);
	return key_of(u);
}

/* ---- vocabularies ---------------------------------------------------------- */

/* Every value of every vocabulary has a name that reads back as itself;
 * names are looked up whole (no prefix, no longer word, no NUL inside). */
START_TEST(test_names_round_trip)
{
	static const struct {
		const struct wire_name	*names;
		size_t			 n;
	} vocabularies[] = {
		{ proto_op_names, OP_COUNT },
		{ proto_error_names, PERR_COUNT },
		{ resync_reason_names, RESYNC_NREASONS },
		{ reply_num_names, RN_COUNT },
	};
	enum crm_event	 ev;
	const char	*n;
	size_t		 v, i;

	for (v = 0; v < sizeof vocabularies / sizeof vocabularies[0]; v++) {
		for (i = 0; i < vocabularies[v].n; i++) {
			n = vocabularies[v].names[i].s;
			ck_assert_ptr_nonnull(n);
			ck_assert_uint_eq(strlen(n), vocabularies[v].names[i].len);
			ck_assert_int_eq(names_find(vocabularies[v].names,
			    vocabularies[v].n, n, strlen(n)), (int)i);
			ck_assert_int_eq(names_find(vocabularies[v].names,
			    vocabularies[v].n, n, strlen(n) - 1), -1);
		}
	}
	for (i = 0; i < OP_COUNT; i++)
		ck_assert_str_eq(proto_op_name((enum proto_op)i),
		    proto_op_names[i].s);
	for (i = 0; i < EVENT_COUNT; i++) {
		n = event_name((enum crm_event)i);
		ck_assert_int_eq(event_parse(n, strlen(n), &ev), 0);
		ck_assert_int_eq(ev, (int)i);
	}
	ck_assert_str_eq(resync_reason_name(RESYNC_LAGGED), "lagged");
	ck_assert_str_eq(resync_reason_name(RESYNC_FEDERATION), "federation");
	ck_assert_int_eq(names_find(proto_op_names, OP_COUNT, "pingg", 5), -1);
	ck_assert_int_eq(names_find(proto_op_names, OP_COUNT, "ping\0", 5), -1);
	ck_assert_int_eq(names_find(proto_op_names, OP_COUNT, "", 0), -1);
	ck_assert_int_eq(names_find(proto_error_names, PERR_COUNT,
	    "too_many ", 9), -1);
	ck_assert_int_eq(names_find(resync_reason_names, RESYNC_NREASONS,
	    "Lagged", 6), -1);
	ck_assert_int_eq(event_parse("interaction_create", 18, &ev), -1);
}
END_TEST

START_TEST(test_names_find)
{
	static const struct wire_name t[] = { WIRE_NAME("a"), WIRE_NAME("ab"),
	    WIRE_NAME("abc") };

	ck_assert_int_eq(names_find(t, 3, "ab", 2), 1);
	ck_assert_int_eq(names_find(t, 3, "abc", 3), 2);
	ck_assert_int_eq(names_find(t, 3, "abcd", 3), 2);	/* len bounds it */
	ck_assert_int_eq(names_find(t, 3, "b", 1), -1);
	ck_assert_int_eq(names_find(t, 0, "a", 1), -1);
}
END_TEST

/* ---- UUID text copy and stack buffers -------------------------------------- */

/* uuid_canon_copy accepts exactly the strings of 36 bytes that
 * uuid_canon_parse accepts and writes what uuid_canon_format writes of the
 * parsed value. */
START_TEST(test_uuid_copy_agrees_with_parse)
{
	static const char *const cases[] = {
		U1, UMIX, "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",
		"00000000-0000-0000-0000-000000000000",
		"0190a5b2-7c1e-7a01-8f00-00000000000g",
		"0190a5b2x7c1e-7a01-8f00-000000000001",
		"0190a5b2-7c1e-7a01-8f00-0000000000011",
		"0190a5b2-7c1e-7a01-8f00-00000000001",
		"0190a5b27c1e-7a01-8f00-0000000000001",
		"{0190a5b2-7c1e-7a01-8f00-00000000001}",
		"0190a5b2-7c1e-7a01-8f00-00000000000\x80",
		"0190a5b2-7c1e-7a01-8f00-000000000001-",
		"",
	};
	uint8_t	u[16];
	char	out[UUID_TEXT_LEN + 1], want[UUID_TEXT_LEN + 1];
	size_t	i;
	int	parsed;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		parsed = uuid_canon_parse(cases[i], strlen(cases[i]), u);
		ck_assert_msg(uuid_canon_copy(cases[i], out) == parsed,
		    "%s: copy and parse disagree", cases[i]);
		if (parsed == 0) {
			uuid_canon_format(u, want);
			ck_assert_str_eq(out, want);
		}
	}
	/* A NUL inside the 36 bytes ends the string: too short. */
	ck_assert_int_eq(uuid_canon_copy("0190a5b2-7c1e-7a01-8f00-00000000\0"
	    "001", out), -1);
}
END_TEST

/* A buffer on caller storage stays there until it outgrows it, keeps its
 * bytes when it moves to the heap, and frees only heap memory. */
START_TEST(test_buf_on_storage)
{
	char		 stack[16];
	struct buf	 b;
	int		 i;

	buf_init_on(&b, stack, sizeof stack);
	ck_assert_int_eq(buf_puts(&b, "0123456789"), 0);
	ck_assert_ptr_eq(b.data, stack);
	buf_consume(&b, 4);
	ck_assert_int_eq(buf_puts(&b, "abcdef"), 0);	/* compacts, stays */
	ck_assert_ptr_eq(b.data, stack);
	for (i = 0; i < 100; i++)
		ck_assert_int_eq(buf_putc(&b, 'x'), 0);
	ck_assert_ptr_ne(b.data, stack);
	ck_assert_int_eq(strncmp(buf_head(&b), "456789abcdefxxx", 15), 0);
	ck_assert_uint_eq(buf_len(&b), 112);
	buf_free(&b);		/* the heap copy; never the stack */
	buf_init_on(&b, stack, sizeof stack);
	ck_assert_int_eq(buf_puts(&b, "short"), 0);
	buf_free(&b);
	ck_assert_ptr_null(b.data);
	ck_assert_int_eq(buf_puts(&b, "after free: an ordinary buffer"), 0);
	buf_free(&b);
}
END_TEST

/* ---- request builders ------------------------------------------------------ */

/* Whole lines, byte for byte. */
START_TEST(test_request_lines)
{
	struct buf		 b = BUF_INIT;
	struct topic_key	 k = key_of(UMIX);

	ck_assert_int_eq(request_hello(&b, NULL), 0);
	ck_assert_str_eq(text(&b), "{\"op\":\"hello\"}\n");
	buf_reset(&b);
	ck_assert_int_eq(request_hello(&b, "web \"1\"\n"), 0);
	ck_assert_str_eq(text(&b),
	    "{\"op\":\"hello\",\"name\":\"web \\\"1\\\"\\n\"}\n");
	buf_reset(&b);
	ck_assert_int_eq(request_plain(&b, OP_PING), 0);
	ck_assert_int_eq(request_plain(&b, OP_UNSUBSCRIBE), 0);
	ck_assert_str_eq(text(&b),
	    "{\"op\":\"ping\"}\n{\"op\":\"unsubscribe\"}\n");
	buf_reset(&b);
	ck_assert_int_eq(request_topic(&b, OP_SUBSCRIBE, &k), 0);
	ck_assert_str_eq(text(&b), "{\"op\":\"subscribe\",\"topic\":\""
	    TOPIC(UMIX_LOWER) "\"}\n");
	buf_free(&b);
}
END_TEST

/* A topic list is cut to max_line (the bytes before the newline), names
 * every key exactly once over its lines, and always takes at least one. */
START_TEST(test_request_topics_split)
{
	static const size_t	 limits[] = { 16, 100, 200, 1000, 65536 };
	struct topic_key	 keys[100];
	struct buf		 b = BUF_INIT;
	json_t			*o, *list;
	size_t			 i, l, done, got, linelen;
	char			 want[TOPIC_MAX_LEN + 1];

	for (i = 0; i < 100; i++)
		keys[i] = key_n((unsigned)i);
	for (l = 0; l < sizeof limits / sizeof limits[0]; l++) {
		for (done = 0; done < 100; done += got) {
			buf_reset(&b);
			got = request_topics(&b, OP_SUBSCRIBE, keys + done,
			    100 - done, limits[l]);
			ck_assert_uint_ge(got, 1);
			linelen = buf_len(&b) - 1;
			ck_assert_int_eq(buf_head(&b)[linelen], '\n');
			ck_assert_msg(got == 1 || linelen <= limits[l],
			    "%zu topics in %zu bytes over max_line %zu", got,
			    linelen, limits[l]);
			o = json_loadb(buf_head(&b), linelen, 0, NULL);
			ck_assert_ptr_nonnull(o);
			ck_assert_str_eq(json_string_value(json_object_get(o,
			    "op")), "subscribe");
			list = json_object_get(o, "topics");
			ck_assert_uint_eq(json_array_size(list), got);
			for (i = 0; i < got; i++) {
				topic_format(&keys[done + i], want);
				ck_assert_str_eq(json_string_value(
				    json_array_get(list, i)), want);
			}
			json_decref(o);
		}
		/* Where one more would fit, it was taken. */
		if (limits[l] == 65536)
			ck_assert_uint_eq(got, 100);
	}
	buf_free(&b);
}
END_TEST

/* Broadcasts: UUIDs lowercased, nulls kept, parties as asked. */
START_TEST(test_request_broadcasts)
{
	const char *const		 parties[] = { UMIX, NULL, U2 };
	const char *const		 contacts[] = { NULL, UMIX };
	struct request_interaction	 it = { UMIX, NULL, parties, 3, 1 };
	struct buf			 b = BUF_INIT;
	const char			*why = "unset";

	ck_assert_int_eq(request_broadcast_interaction(&b,
	    EVENT_INTERACTION_UPDATED, &it, &why), 0);
	ck_assert_ptr_null(why);
	ck_assert_str_eq(text(&b), "{\"op\":\"broadcast_interaction\","
	    "\"event\":\"interaction_updated\",\"interaction\":{\"uuid\":\""
	    UMIX_LOWER "\",\"contact_uuid\":null,\"parties\":[{\"contact_uuid\":\""
	    UMIX_LOWER "\"},{\"contact_uuid\":null},{\"contact_uuid\":\"" U2
	    "\"}]}}\n");
	buf_reset(&b);
	it.contact_uuid = U1;
	it.parties_loaded = 0;		/* no "parties" member at all */
	ck_assert_int_eq(request_broadcast_interaction(&b,
	    EVENT_INTERACTION_CREATED, &it, &why), 0);
	ck_assert_str_eq(text(&b), "{\"op\":\"broadcast_interaction\","
	    "\"event\":\"interaction_created\",\"interaction\":{\"uuid\":\""
	    UMIX_LOWER "\",\"contact_uuid\":\"" U1 "\"}}\n");
	buf_reset(&b);
	ck_assert_int_eq(request_broadcast_to_contacts(&b,
	    EVENT_INTERACTION_DELETED, UA, contacts, 2, &why), 0);
	ck_assert_str_eq(text(&b), "{\"op\":\"broadcast_to_contacts\","
	    "\"event\":\"interaction_deleted\",\"interaction_uuid\":\"" UA
	    "\",\"contact_uuids\":[null,\"" UMIX_LOWER "\"]}\n");
	buf_reset(&b);
	ck_assert_int_eq(request_broadcast_to_contacts(&b,
	    EVENT_INTERACTION_DELETED, UA, NULL, 0, &why), 0);
	ck_assert_str_eq(text(&b), "{\"op\":\"broadcast_to_contacts\","
	    "\"event\":\"interaction_deleted\",\"interaction_uuid\":\"" UA
	    "\",\"contact_uuids\":[]}\n");
	buf_free(&b);
}
END_TEST

/* A refused broadcast says why and leaves the buffer as it was. */
START_TEST(test_request_broadcast_refused)
{
	const char *const	 bad[] = { U1, U1 "0" };
	const char *const	 ok[] = { U1 };
	struct request_interaction its[] = {
		{ NULL, NULL, NULL, 0, 1 },
		{ "nope", NULL, NULL, 0, 1 },
		{ U1, U1 "x", NULL, 0, 1 },
		{ U1, NULL, NULL, 2, 1 },
		{ U1, NULL, bad, 2, 1 },
	};
	static const char *const whys[] = {
		"interaction uuid is not a UUID",
		"interaction uuid is not a UUID",
		"interaction contact_uuid is not a UUID",
		"n_parties without party_contact_uuids",
		"a party contact_uuid is not a UUID",
	};
	struct buf	 b = BUF_INIT;
	const char	*why;
	size_t		 i;

	buf_puts(&b, "before");
	for (i = 0; i < sizeof its / sizeof its[0]; i++) {
		ck_assert_int_eq(request_broadcast_interaction(&b,
		    EVENT_INTERACTION_CREATED, &its[i], &why), -1);
		ck_assert_str_eq(why, whys[i]);
		ck_assert_str_eq(text(&b), "before");
	}
	ck_assert_int_eq(request_broadcast_interaction(&b, EVENT_COUNT,
	    &its[0], &why), -1);
	ck_assert_str_eq(why, "unknown event");
	ck_assert_int_eq(request_broadcast_to_contacts(&b,
	    EVENT_INTERACTION_CREATED, U1, bad, 2, &why), -1);
	ck_assert_str_eq(why, "a contact uuid is not a UUID");
	ck_assert_int_eq(request_broadcast_to_contacts(&b,
	    EVENT_INTERACTION_CREATED, U1, NULL, 1, &why), -1);
	ck_assert_str_eq(why, "n without contact_uuids");
	ck_assert_int_eq(request_broadcast_to_contacts(&b,
	    EVENT_INTERACTION_CREATED, NULL, ok, 1, &why), -1);
	ck_assert_str_eq(why, "interaction_uuid is not a UUID");
	ck_assert_int_eq(request_broadcast_to_contacts(&b,
	    (enum crm_event)-1, U1, ok, 1, &why), -1);
	ck_assert_str_eq(why, "unknown event");
	ck_assert_str_eq(text(&b), "before");
	ck_assert_int_eq(b.failed, 0);
	buf_free(&b);
}
END_TEST

/* A broadcast of many contacts grows out of a small stack buffer intact. */
START_TEST(test_request_broadcast_grows)
{
	const char	*list[500];
	char		 uuids[500][UUID_TEXT_LEN + 1], stack[64];
	struct buf	 b;
	const char	*why;
	json_t		*o, *a;
	size_t		 i;

	for (i = 0; i < 500; i++) {
		snprintf(uuids[i], sizeof uuids[i],
		    "0190A5B2-7C1E-7A01-8F00-%012zX", i);
		list[i] = uuids[i];
	}
	buf_init_on(&b, stack, sizeof stack);
	ck_assert_int_eq(request_broadcast_to_contacts(&b,
	    EVENT_INTERACTION_CREATED, U1, list, 500, &why), 0);
	o = json_loadb(buf_head(&b), buf_len(&b), 0, NULL);
	ck_assert_ptr_nonnull(o);
	a = json_object_get(o, "contact_uuids");
	ck_assert_uint_eq(json_array_size(a), 500);
	for (i = 0; i < 500; i++) {
		char want[UUID_TEXT_LEN + 1];

		snprintf(want, sizeof want, "0190a5b2-7c1e-7a01-8f00-%012zx", i);
		ck_assert_str_eq(json_string_value(json_array_get(a, i)), want);
	}
	json_decref(o);
	buf_free(&b);
}
END_TEST

/* ---- reading the daemon's lines ------------------------------------------ */

/* Parses the buffer's one line (without its newline). */
static int
parse_buf(struct buf *b, struct message *m)
{
	size_t	len = buf_len(b);

	ck_assert_uint_ge(len, 1);
	ck_assert_int_eq(buf_head(b)[len - 1], '\n');
	return message_parse(buf_head(b), len - 1, m);
}

/* Every number a writer puts, the reader reads back by the same name. */
START_TEST(test_message_reads_replies)
{
	struct reply_hello	 h = { 42, 96, 3, 7, 1234567 };
	struct topic_key	 keys[2] = { key_of(U1), key_of(U2) };
	struct reply_id		 id = { "\"x\"", 3 };
	struct buf		 b = BUF_INIT, f = BUF_INIT;
	struct message		 m;
	int			 i;

	reply_hello(&f, &h);
	ck_assert_int_eq(reply_ok(&b, OP_HELLO, &id, &f), 0);
	ck_assert_int_eq(parse_buf(&b, &m), 0);
	ck_assert_int_eq(m.type, MESSAGE_REPLY);
	ck_assert_int_eq(m.ok, 1);
	ck_assert_int_eq(m.op, OP_HELLO);
	ck_assert_int_eq(m.error, -1);
	ck_assert_str_eq(m.error_name, "");
	ck_assert_int_eq(m.num[RN_PROTOCOL], PROTO_VERSION);
	ck_assert_int_eq(m.num[RN_CLIENT_ID], 42);
	ck_assert_int_eq(m.num[RN_MAX_LINE], 96);
	ck_assert_int_eq(m.num[RN_MAX_SUBSCRIPTIONS], 3);
	ck_assert_int_eq(m.num[RN_MAX_CONTACTS], 7);
	ck_assert_int_eq(m.num[RN_UPTIME_S], 1234567);
	ck_assert_int_eq(m.num[RN_DELIVERED], -1);

	buf_reset(&b);
	buf_reset(&f);
	reply_subscribe(&f, keys, 2, 5);
	reply_ok(&b, OP_SUBSCRIBE, NULL, &f);
	ck_assert_str_eq(text(&b), "{\"ok\":true,\"op\":\"subscribe\","
	    "\"topics\":[\"" TOPIC(U1) "\",\"" TOPIC(U2) "\"],"
	    "\"subscribed\":5}\n");
	ck_assert_int_eq(parse_buf(&b, &m), 0);
	ck_assert_int_eq(m.op, OP_SUBSCRIBE);
	ck_assert_int_eq(m.num[RN_SUBSCRIBED], 5);
	ck_assert_int_eq(m.num[RN_TOPICS], -1);	/* a list, not a count */

	buf_reset(&b);
	buf_reset(&f);
	reply_broadcast(&f, 3, 12);
	reply_ok(&b, OP_BROADCAST_TO_CONTACTS, NULL, &f);
	ck_assert_str_eq(text(&b), "{\"ok\":true,\"op\":"
	    "\"broadcast_to_contacts\",\"topics\":3,\"delivered\":12}\n");
	ck_assert_int_eq(parse_buf(&b, &m), 0);
	ck_assert_int_eq(m.op, OP_BROADCAST_TO_CONTACTS);
	ck_assert_int_eq(m.num[RN_TOPICS], 3);
	ck_assert_int_eq(m.num[RN_DELIVERED], 12);

	for (i = 0; i < PERR_COUNT; i++) {
		buf_reset(&b);
		reply_error(&b, i % 2 ? "subscribe" : NULL, NULL,
		    (enum proto_error)i, "it \"failed\"\n\x01");
		ck_assert_int_eq(parse_buf(&b, &m), 0);
		ck_assert_int_eq(m.type, MESSAGE_REPLY);
		ck_assert_int_eq(m.ok, 0);
		ck_assert_int_eq(m.op, i % 2 ? OP_SUBSCRIBE : -1);
		ck_assert_int_eq(m.error, i);
		ck_assert_str_eq(m.error_name,
		    proto_error_name((enum proto_error)i));
		ck_assert_str_eq(m.text, "it \"failed\"\n\x01");
	}
	buf_free(&b);
	buf_free(&f);
}
END_TEST

/* version's reply, byte for byte, and its uptime read back. */
START_TEST(test_reply_version)
{
	const struct reply_version	 v = { 42, "cc \"9\"", 1, 0, "2.1",
	    "epoll", "2.14", "0.14.1" };
	struct buf			 b = BUF_INIT, f = BUF_INIT;
	struct message			 m;

	ck_assert_int_eq(reply_version(&f, &v), 0);
	ck_assert_int_eq(reply_ok(&b, OP_VERSION, NULL, &f), 0);
	ck_assert_str_eq(text(&b), "{\"ok\":true,\"op\":\"version\","
	    "\"server\":\"crmpubsubd\",\"version\":\"" CRMPUBSUB_VERSION "\","
	    "\"protocol\":1,\"uptime_s\":42,\"build\":{\"compiler\":"
	    "\"cc \\\"9\\\"\",\"optimized\":true,\"sanitizers\":false,"
	    "\"libevent\":\"2.1\",\"event_backend\":\"epoll\",\"jansson\":"
	    "\"2.14\",\"hiredis\":\"0.14.1\"}}\n");
	ck_assert_int_eq(parse_buf(&b, &m), 0);
	ck_assert_int_eq(m.op, OP_VERSION);
	ck_assert_int_eq(m.num[RN_UPTIME_S], 42);
	ck_assert_int_eq(m.num[RN_PROTOCOL], PROTO_VERSION);
	buf_free(&b);
	buf_free(&f);
}
END_TEST

/* Every push the daemon writes, read back. */
START_TEST(test_message_reads_pushes)
{
	struct topic_key	 k = key_of(UMIX);
	uint8_t			 iu[16];
	struct buf		 b = BUF_INIT;
	struct message		 m;
	int			 e, r;

	ck_assert_int_eq(uuid_canon_parse(UA, UUID_TEXT_LEN, iu), 0);
	for (e = 0; e < EVENT_COUNT; e++) {
		buf_reset(&b);
		push_crm(&b, (enum crm_event)e, &k, iu);
		ck_assert_int_eq(parse_buf(&b, &m), 0);
		ck_assert_int_eq(m.type, MESSAGE_CRM);
		ck_assert_int_eq(m.event, e);
		ck_assert_int_eq(memcmp(&m.topic, &k, sizeof k), 0);
		ck_assert_int_eq(memcmp(m.interaction, iu, 16), 0);
	}
	for (r = 0; r < RESYNC_NREASONS; r++) {
		buf_reset(&b);
		push_resync(&b, (enum resync_reason)r, 17);
		ck_assert_int_eq(parse_buf(&b, &m), 0);
		ck_assert_int_eq(m.type, MESSAGE_RESYNC);
		ck_assert_int_eq(m.reason, r);
		ck_assert_uint_eq(m.dropped, 17);
	}
	buf_reset(&b);
	push_shutdown(&b);
	ck_assert_int_eq(parse_buf(&b, &m), 0);
	ck_assert_int_eq(m.type, MESSAGE_SHUTDOWN);
	buf_free(&b);
}
END_TEST

/* What the reader makes of lines no daemon of this version writes. */
START_TEST(test_message_odd_lines)
{
	static const struct {
		const char	*line;
		int		 rc;
		int		 type;
	} cases[] = {
		{ "", -1, 0 },
		{ "[]", -1, 0 },
		{ "7", -1, 0 },
		{ "{", -1, 0 },
		{ "{\"ok\":true}x", -1, 0 },
		{ "{}", 0, MESSAGE_OTHER },
		{ "{\"type\":7}", 0, MESSAGE_OTHER },
		{ "{\"type\":\"news\",\"ok\":null}", 0, MESSAGE_REPLY },
		{ "{\"type\":\"news\"}", 0, MESSAGE_OTHER },
		{ "{\"type\":\"crm\"}", 0, MESSAGE_BAD_CRM },
		{ "{\"type\":\"crm\",\"event\":\"interaction_created\",\"topic\":"
		  "\"crm:contact:x:interactions\",\"payload\":{\"interaction_uuid\":"
		  "\"" U1 "\"}}", 0, MESSAGE_BAD_CRM },
		{ "{\"type\":\"crm\",\"event\":\"interaction_moved\",\"topic\":\""
		  TOPIC(U1) "\",\"payload\":{\"interaction_uuid\":\"" U1 "\"}}",
		  0, MESSAGE_BAD_CRM },
		{ "{\"type\":\"crm\",\"event\":\"interaction_created\",\"topic\":\""
		  TOPIC(U1) "\",\"payload\":[\"" U1 "\"]}", 0, MESSAGE_BAD_CRM },
		{ " {\"type\":\"shutdown\"} ", 0, MESSAGE_SHUTDOWN },
	};
	struct message	m;
	const char	*l;
	size_t		i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		ck_assert_msg(message_parse(cases[i].line,
		    strlen(cases[i].line), &m) == cases[i].rc, "%s",
		    cases[i].line);
		if (cases[i].rc == 0)
			ck_assert_msg((int)m.type == cases[i].type,
			    "%s: type %d", cases[i].line, m.type);
	}
	/* A reason this reader does not know is -1; a bad count is 0. */
	l = "{\"type\":\"resync\",\"reason\":\"moon\",\"dropped\":-3}";
	ck_assert_int_eq(message_parse(l, strlen(l), &m), 0);
	ck_assert_int_eq(m.type, MESSAGE_RESYNC);
	ck_assert_int_eq(m.reason, -1);
	ck_assert_uint_eq(m.dropped, 0);
	/* An unknown code keeps its name; the op of an unknown op is -1. */
	l = "{\"ok\":false,\"op\":\"fly\",\"error\":\"too_late\","
	    "\"message\":\"m\",\"delivered\":1.0}";
	ck_assert_int_eq(message_parse(l, strlen(l), &m), 0);
	ck_assert_int_eq(m.op, -1);
	ck_assert_int_eq(m.error, -1);
	ck_assert_str_eq(m.error_name, "too_late");
	ck_assert_int_eq(m.num[RN_DELIVERED], -1);
	/* Strings are cut to their arrays. */
	{
		char	line[600];
		int	n = snprintf(line, sizeof line,
		    "{\"ok\":false,\"op\":null,\"error\":\"%0100d\","
		    "\"message\":\"%0400d\"}", 0, 0);

		ck_assert_int_eq(message_parse(line, (size_t)n, &m), 0);
		ck_assert_uint_eq(strlen(m.error_name), sizeof m.error_name - 1);
		ck_assert_uint_eq(strlen(m.text), sizeof m.text - 1);
	}
}
END_TEST

/* The scanner reads most lines, jansson the rest: both give the same
 * message. Each line is read as written, then with one more member that
 * the scanner cannot read (an escape), which sends it to jansson. */
START_TEST(test_message_both_readers_agree)
{
	static const char *const lines[] = {
		"{\"ok\":true,\"op\":\"hello\",\"server\":\"crmpubsubd\","
		"\"version\":\"1.0.0\",\"protocol\":1,\"client_id\":3,"
		"\"max_line\":65536,\"max_subscriptions\":10000,"
		"\"max_contacts\":1024,\"uptime_s\":42}",
		"{\"ok\":true,\"op\":\"broadcast_interaction\",\"id\":7,"
		"\"topics\":2,\"delivered\":999999999999999}",
		"{\"ok\":false,\"op\":\"subscribe\",\"error\":\"bad_topic\","
		"\"message\":\"topic is not a valid topic\"}",
		"{\"ok\":1,\"op\":\"ping\",\"delivered\":-1,\"topics\":[1]}",
		/* A repeated key counts as its last value. */
		"{\"ok\":true,\"op\":\"ping\",\"op\":\"stats\",\"delivered\":1,"
		"\"delivered\":2}",
		"{\"type\":\"crm\",\"event\":\"interaction_created\",\"topic\":\""
		TOPIC(UMIX) "\",\"payload\":{\"interaction_uuid\":\"" UMIX "\"}}",
		"{\"type\":\"crm\",\"event\":\"interaction_created\",\"topic\":\""
		TOPIC(U1) "\",\"topic\":\"" TOPIC(U2) "\",\"payload\":"
		"{\"interaction_uuid\":\"" U1 "\"}}",
		"{\"type\":\"crm\",\"topic\":\"" TOPIC(U1) "\"}",
		"{\"type\":\"resync\",\"reason\":\"federation\",\"dropped\":0}",
		"{\"type\":\"resync\",\"reason\":\"lagged\",\"dropped\":12}",
		"{\"type\":\"shutdown\"}",
		"{\"type\":\"later\",\"x\":[[[1]]]}",
		"{\"neither\":true}",
	};
	struct message	a, b;
	char		other[1024];
	size_t		i, n;

	for (i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		n = strlen(lines[i]);
		ck_assert_int_eq(message_parse(lines[i], n, &a), 0);
		snprintf(other, sizeof other, "%.*s,\"zz\":\"\\u00e9\"}",
		    (int)n - 1, lines[i]);
		ck_assert_int_eq(message_parse(other, strlen(other), &b), 0);
		ck_assert_msg(memcmp(&a, &b, sizeof a) == 0,
		    "the two readers differ on %s", lines[i]);
	}
}
END_TEST

/* jscan_get_last takes a repeated key's last value, as jansson does;
 * jscan_get refuses it. */
START_TEST(test_jscan_get_last)
{
	static const char	 t[] = "{\"a\":1,\"b\":2,\"a\":3}";
	struct jscan_tok	 toks[16];
	struct jscan		 js = JSCAN_ON(toks);
	int			 v;

	ck_assert_int_eq(jscan_parse(&js, t, strlen(t)), 0);
	ck_assert_int_eq(jscan_get(&js, 0, "a"), -2);
	v = jscan_get_last(&js, 0, "a");
	ck_assert_int_ge(v, 0);
	ck_assert_int_eq(t[js.tok[v].start], '3');
	ck_assert_int_eq(jscan_get_last(&js, 0, "c"), -1);
	ck_assert_int_eq(jscan_get_last(&js, -1, "a"), -1);
	ck_assert_int_eq(jscan_get_last(&js, v, "a"), -1);	/* no object */
	/* More tokens than the scanner was given: outside the subset. */
	{
		struct jscan_tok	few[3];
		struct jscan		small = JSCAN_ON(few);

		ck_assert_int_eq(jscan_parse(&small, t, strlen(t)), -1);
		ck_assert_int_eq(jscan_parse(&small, "[1,2]", 5), 0);
	}
}
END_TEST

/* ---- suite ----------------------------------------------------------------- */

static Suite *
wire_suite(void)
{
	Suite	*s = suite_create("unit_wire");
	TCase	*tc = tcase_create("wire");

	tcase_add_test(tc, test_names_round_trip);
	tcase_add_test(tc, test_names_find);
	tcase_add_test(tc, test_uuid_copy_agrees_with_parse);
	tcase_add_test(tc, test_buf_on_storage);
	tcase_add_test(tc, test_request_lines);
	tcase_add_test(tc, test_request_topics_split);
	tcase_add_test(tc, test_request_broadcasts);
	tcase_add_test(tc, test_request_broadcast_refused);
	tcase_add_test(tc, test_request_broadcast_grows);
	tcase_add_test(tc, test_message_reads_replies);
	tcase_add_test(tc, test_reply_version);
	tcase_add_test(tc, test_message_reads_pushes);
	tcase_add_test(tc, test_message_odd_lines);
	tcase_add_test(tc, test_message_both_readers_agree);
	tcase_add_test(tc, test_jscan_get_last);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(wire_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
