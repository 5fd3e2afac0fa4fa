/* SPDX-License-Identifier: MIT — crmpubsub */
/* The daemon reads ping and well-formed broadcasts with a strict scanner
 * and everything else with jansson. This suite sends each request twice:
 * as written (scanner) and with an extra field holding a \u escape, which the
 * scanner refuses, so jansson handles it. Replies and the pushes a subscriber
 * receives must be byte-for-byte the same either way, for valid requests and
 * for every kind of invalid one. */

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define C1	"0190a5b2-7c1e-7a01-8f00-000000000001"
#define C2	"0190a5b2-7c1e-7a01-8f00-000000000002"
#define C3	"0190A5B2-7C1E-7A01-8F00-000000000003"
#define IU	"0190a5b2-7c1e-7a01-8f00-0000000000AA"
#define BTC	"{\"op\":\"broadcast_to_contacts\",\"event\":\"interaction_created\""
#define BI	"{\"op\":\"broadcast_interaction\",\"event\":\"interaction_updated\""

/* Requests as a writer sends them; each is also replayed in slow form. */
static const char *const requests[] = {
	"{\"op\":\"ping\"}",
	"{\"op\":\"ping\",\"id\":7}",
	"{\"op\":\"ping\",\"id\":-12}",
	"{\"op\":\"ping\",\"id\":\"abc-1\"}",
	"{\"id\":\"x\",\"op\":\"ping\",\"extra\":[1,2.5,{\"a\":null}],\"t\":true}",
	BTC ",\"interaction_uuid\":\"" IU "\",\"contact_uuids\":[\"" C1 "\"]}",
	BTC ",\"interaction_uuid\":\"" IU "\",\"contact_uuids\":[\"" C1 "\",null,\""
	    C2 "\",\"" C1 "\",\"" C3 "\"],\"id\":99}",
	BTC ",\"interaction_uuid\":\"" IU "\",\"contact_uuids\":[]}",
	BTC ",\"interaction_uuid\":\"" IU "\",\"contact_uuids\":[null,null]}",
	BI ",\"interaction\":{\"uuid\":\"" IU "\",\"contact_uuid\":\"" C1 "\","
	    "\"parties\":[{\"contact_uuid\":\"" C2 "\"},{\"contact_uuid\":null},"
	    "{},{\"contact_uuid\":\"" C1 "\",\"role\":\"cc\"}]}}",
	BI ",\"interaction\":{\"uuid\":\"" IU "\",\"contact_uuid\":null}}",
	BI ",\"interaction\":{\"uuid\":\"" IU "\",\"contact_uuid\":\"" C3 "\","
	    "\"parties\":null,\"notes\":\"call back\",\"duration\":12.5}}",
	BI ",\"interaction\":{\"uuid\":\"" IU "\",\"parties\":\"not loaded\"}}",
	BI ",\"interaction\":{\"uuid\":\"" IU "\",\"contact_uuid\":\"" C2 "\","
	    "\"parties\":[{\"contact_uuid\":\"" C3 "\",\"contact\":{\"uuid\":\""
	    C3 "\",\"tags\":[]}}]},\"id\":\"w-1\"}",
	/* Invalid ones: both forms go to jansson's error path. */
	BTC ",\"interaction_uuid\":\"" IU "\",\"contact_uuids\":[\"" C1 "\",\"nope\"]}",
	BTC ",\"interaction_uuid\":\"bad\",\"contact_uuids\":[]}",
	BTC ",\"contact_uuids\":[]}",
	BTC ",\"interaction_uuid\":\"" IU "\",\"contact_uuids\":\"" C1 "\"}",
	BTC ",\"interaction_uuid\":\"" IU "\",\"contact_uuids\":[5]}",
	"{\"op\":\"broadcast_to_contacts\",\"event\":\"interaction_moved\","
	    "\"interaction_uuid\":\"" IU "\",\"contact_uuids\":[]}",
	"{\"op\":\"broadcast_to_contacts\",\"event\":7,"
	    "\"interaction_uuid\":\"" IU "\",\"contact_uuids\":[]}",
	BI ",\"interaction\":{\"uuid\":\"" IU "\",\"parties\":[5]}}",
	BI ",\"interaction\":{\"contact_uuid\":\"" C1 "\"}}",
	BI ",\"interaction\":[]}",
	BI ",\"interaction\":{\"uuid\":\"" IU "\",\"contact_uuid\":5}}",
	"{\"op\":\"ping\",\"id\":true}",
	"{\"op\":\"ping\",\"id\":1.5}",
	"{\"op\":\"ping\",\"op\":\"ping\"}",
	"{\"op\":\"Ping\"}",
	BTC ",\"interaction_uuid\":\"" IU "\",\"contact_uuids\":[\"" C1 "\"],"
	    "\"contact_uuids\":[\"" C2 "\"]}",
	/* Numeric ids of every form, as written on both paths. */
	"{\"op\":\"ping\",\"id\":0.1}",
	"{\"op\":\"ping\",\"id\":-0.50}",
	"{\"op\":\"ping\",\"id\":123456789012345}",
	"{\"op\":\"ping\",\"id\":12345678901234567890}",
	"{\"op\":\"ping\",\"id\":1e2}",
	"{\"op\":\"ping\",\"id\":-0}",
};

static struct h_daemon	d;
static struct h_conn	*sub, *writer;

static void
setup(void)
{
	const char *args[] = { "--max-contacts", "5", NULL };
	json_t *r;

	ck_assert_int_eq(h_daemon_start(&d, args), 0);
	sub = h_connect(d.sock);
	writer = h_connect(d.sock);
	ck_assert_ptr_nonnull(sub);
	ck_assert_ptr_nonnull(writer);
	r = h_request(sub, "{\"op\":\"subscribe\",\"topics\":["
	    "\"crm:contact:" C1 ":interactions\","
	    "\"crm:contact:" C2 ":interactions\","
	    "\"crm:contact:" C3 ":interactions\"]}");
	ck_assert(h_is_ok(r));
	json_decref(r);
}

static void
teardown(void)
{
	h_close(sub);
	h_close(writer);
	ck_assert_int_eq(h_daemon_stop(&d, SIGTERM, H_TIMEOUT_MS), 0);
}

/* The same request with a field the scanner refuses (a \u escape). */
static char *
slow_form(const char *req)
{
	size_t	 n = strlen(req);
	char	*s = malloc(n + 32);

	ck_assert_ptr_nonnull(s);
	if (req[0] == '{' && req[1] != '}')
		snprintf(s, n + 32, "{\"_\":\"\\u00e9\",%s", req + 1);
	else
		snprintf(s, n + 32, "%s", req);
	return s;
}

/* Sends line, returns its reply text and the pushes the subscriber got
 * (in order, newline-separated), ending with a ping round trip on sub so
 * that every push of the broadcast has arrived. */
static void
exchange(const char *line, char *reply, size_t rcap, char *pushes,
    size_t pcap)
{
	char	buf[4096];
	long	n;
	size_t	used = 0;

	ck_assert_int_eq(h_send_line(writer, line), 0);
	n = h_recv_line(writer, reply, rcap, H_TIMEOUT_MS);
	ck_assert_msg(n >= 0, "no reply to %s", line);
	ck_assert_int_eq(h_send_line(sub, "{\"op\":\"ping\",\"id\":\"fence\"}"), 0);
	pushes[0] = '\0';
	for (;;) {
		n = h_recv_line(sub, buf, sizeof buf, H_TIMEOUT_MS);
		ck_assert_msg(n >= 0, "subscriber got no fence reply");
		if (strstr(buf, "\"fence\"") != NULL)
			break;
		ck_assert_msg(used + (size_t)n + 2 < pcap, "too many pushes");
		memcpy(pushes + used, buf, (size_t)n);
		used += (size_t)n;
		pushes[used++] = '\n';
		pushes[used] = '\0';
	}
}

START_TEST(test_fast_and_general_paths_agree)
{
	char	r1[4096], r2[4096], p1[8192], p2[8192];
	char	*slow;
	size_t	i;

	for (i = 0; i < sizeof requests / sizeof requests[0]; i++) {
		slow = slow_form(requests[i]);
		exchange(requests[i], r1, sizeof r1, p1, sizeof p1);
		exchange(slow, r2, sizeof r2, p2, sizeof p2);
		ck_assert_msg(strcmp(r1, r2) == 0,
		    "request %zu: replies differ:\n  %s\n  %s", i, r1, r2);
		ck_assert_msg(strcmp(p1, p2) == 0,
		    "request %zu: pushes differ:\n%s---\n%s", i, p1, p2);
		free(slow);
	}
}
END_TEST

/* The pushes themselves are right, not merely equal: one per involved
 * subscribed topic, lowercase, in involved order. */
START_TEST(test_fast_path_pushes)
{
	char	reply[4096], pushes[8192];

	exchange(requests[6], reply, sizeof reply, pushes, sizeof pushes);
	ck_assert_str_eq(reply, "{\"ok\":true,\"op\":\"broadcast_to_contacts\","
	    "\"id\":99,\"topics\":3,\"delivered\":3}");
	ck_assert_str_eq(pushes,
	    "{\"type\":\"crm\",\"event\":\"interaction_created\",\"topic\":"
	    "\"crm:contact:" C1 ":interactions\",\"payload\":"
	    "{\"interaction_uuid\":\"0190a5b2-7c1e-7a01-8f00-0000000000aa\"}}\n"
	    "{\"type\":\"crm\",\"event\":\"interaction_created\",\"topic\":"
	    "\"crm:contact:" C2 ":interactions\",\"payload\":"
	    "{\"interaction_uuid\":\"0190a5b2-7c1e-7a01-8f00-0000000000aa\"}}\n"
	    "{\"type\":\"crm\",\"event\":\"interaction_created\",\"topic\":"
	    "\"crm:contact:0190a5b2-7c1e-7a01-8f00-000000000003:interactions\","
	    "\"payload\":"
	    "{\"interaction_uuid\":\"0190a5b2-7c1e-7a01-8f00-0000000000aa\"}}\n");
}
END_TEST

/* A broadcast's numeric id comes back as written, digits and all. */
START_TEST(test_fast_path_id_as_written)
{
	char	reply[4096], pushes[8192];

	exchange(BTC ",\"interaction_uuid\":\"" IU "\",\"contact_uuids\":[],"
	    "\"id\":0.10}", reply, sizeof reply, pushes, sizeof pushes);
	ck_assert_str_eq(reply, "{\"ok\":true,\"op\":\"broadcast_to_contacts\","
	    "\"id\":0.10,\"topics\":0,\"delivered\":0}");
	exchange(BI ",\"id\":-7.25,\"interaction\":{\"uuid\":\"" IU "\"}}", reply,
	    sizeof reply, pushes, sizeof pushes);
	ck_assert_str_eq(reply, "{\"ok\":true,\"op\":\"broadcast_interaction\","
	    "\"id\":-7.25,\"topics\":0,\"delivered\":0}");
}
END_TEST

/* max_contacts counts entries as sent on both paths. */
START_TEST(test_fast_path_limits)
{
	char	reply[4096], pushes[8192];

	exchange(BTC ",\"interaction_uuid\":\"" IU "\",\"contact_uuids\":"
	    "[null,null,null,null,null]}", reply, sizeof reply, pushes,
	    sizeof pushes);
	ck_assert_ptr_nonnull(strstr(reply, "\"ok\":true"));
	exchange(BTC ",\"interaction_uuid\":\"" IU "\",\"contact_uuids\":"
	    "[null,null,null,null,null,null]}", reply, sizeof reply, pushes,
	    sizeof pushes);
	ck_assert_ptr_nonnull(strstr(reply, "\"error\":\"too_many\""));
	ck_assert_str_eq(pushes, "");
	exchange(BI ",\"interaction\":{\"uuid\":\"" IU "\",\"parties\":"
	    "[{},{},{},{}]}}", reply, sizeof reply, pushes, sizeof pushes);
	ck_assert_ptr_nonnull(strstr(reply, "\"ok\":true"));
	exchange(BI ",\"interaction\":{\"uuid\":\"" IU "\",\"parties\":"
	    "[{},{},{},{},{}]}}", reply, sizeof reply, pushes, sizeof pushes);
	ck_assert_ptr_nonnull(strstr(reply, "\"error\":\"too_many\""));
}
END_TEST

static Suite *
fastpath_suite(void)
{
	Suite	*s = suite_create("it_fastpath");
	TCase	*tc = tcase_create("fastpath");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_fast_and_general_paths_agree);
	tcase_add_test(tc, test_fast_path_pushes);
	tcase_add_test(tc, test_fast_path_limits);
	tcase_add_test(tc, test_fast_path_id_as_written);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(fastpath_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
