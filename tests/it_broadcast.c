/* SPDX-License-Identifier: MIT — crmpubsub */
/* Integration suite for broadcasts: involved contacts, counts, push format,
 * all-or-nothing validation, max_contacts and ordering guarantees. */

#include <sys/wait.h>

#include <check.h>
#include <ctype.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define EV_CREATED	"interaction_created"
#define EV_UPDATED	"interaction_updated"
#define EV_DELETED	"interaction_deleted"
#define NSUB		5

/* Asserts a successful broadcast reply with these counts; frees it. */
static void
check_counts(json_t *r, long long topics, long long delivered)
{
	ck_assert_msg(h_is_ok(r), "broadcast failed: %s", h_dump(r));
	ck_assert_msg(h_int(r, "topics") == topics &&
	    h_int(r, "delivered") == delivered,
	    "want topics %lld delivered %lld: %s", topics, delivered, h_dump(r));
	json_decref(r);
}

/* Asserts an error reply with this code and no type key; frees it. */
static void
check_error(json_t *r, const char *code)
{
	ck_assert_msg(h_is_error(r, code), "want %s: %s", code, h_dump(r));
	ck_assert_msg(h_str(r, "message") != NULL, "message: %s", h_dump(r));
	ck_assert_msg(json_object_get(r, "type") == NULL, "type: %s", h_dump(r));
	json_decref(r);
}

/* Upper-case copy of s into out (at most 80 bytes). */
static const char *
upper(const char *s, char out[80])
{
	size_t i;

	for (i = 0; s[i] != '\0' && i < 79; i++)
		out[i] = (char)toupper((unsigned char)s[i]);
	out[i] = '\0';
	return out;
}

/* Subscribes c to the topic of contact n, asserted. */
static void
sub(struct h_conn *c, unsigned long n)
{
	char t[80];
	json_t *r;

	h_topic(n, t);
	r = h_requestf(c, "{\"op\":\"subscribe\",\"topic\":\"%s\"}", t);
	ck_assert_msg(h_is_ok(r), "subscribe %s: %s", t, h_dump(r));
	json_decref(r);
}

/* The exact push line for (event, contact n, interaction uuid string). */
static void
push_line(char *out, size_t cap, const char *event, unsigned long contact,
    const char *iuuid)
{
	char t[80];

	h_topic(contact, t);
	snprintf(out, cap, "{\"type\":\"crm\",\"event\":\"%s\",\"topic\":\"%s\","
	    "\"payload\":{\"interaction_uuid\":\"%s\"}}", event, t, iuuid);
}

/* Asserts the next line is the push for (event, contact, interaction n). */
static void
expect_push(struct h_conn *c, const char *event, unsigned long contact,
    unsigned long interaction)
{
	char want[512], iu[37];

	h_uuid(interaction, iu);
	push_line(want, sizeof want, event, contact, iu);
	h_expect_line(c, want);
}

/* Asserts nothing more arrives on c for a short while. */
static void
expect_quiet(struct h_conn *c, const char *who)
{
	ck_assert_msg(h_silent(c, 150), "%s received something unexpected", who);
}

/* Opens NSUB subscribers; s[i] holds contact i + 1. */
static void
open_subscribers(struct h_conn *s[NSUB])
{
	int i;

	for (i = 0; i < NSUB; i++) {
		s[i] = h_test_conn();
		sub(s[i], (unsigned long)i + 1);
	}
}

/* Closes the subscribers. */
static void
close_all(struct h_conn *s[NSUB])
{
	int i;

	for (i = 0; i < NSUB; i++)
		h_close(s[i]);
}

START_TEST(test_interaction_involved_contacts)
{
	struct h_conn *s[NSUB], *w;
	char u[6][37], up1[80], iu[37];

	h_test_up(NULL);
	open_subscribers(s);
	w = h_test_conn();
	h_uuid(1, u[1]);
	h_uuid(2, u[2]);
	h_uuid(3, u[3]);
	h_uuid(100, iu);
	/* Subject 1, parties 2, null, unresolved, 1 (upper case), 3, 2; the
	 * rest of the interaction is ignored. */
	check_counts(h_requestf(w, "{\"op\":\"broadcast_interaction\",\"event\":\"%s\","
	    "\"interaction\":{\"uuid\":\"%s\",\"body\":\"hi\",\"inserted_at\":"
	    "\"2024-01-01T00:00:00Z\",\"contact_uuid\":\"%s\",\"contact\":"
	    "{\"uuid\":\"%s\"},\"parties\":[{\"contact_uuid\":\"%s\",\"role\":"
	    "\"to\"},{\"contact_uuid\":null},{\"name\":\"unresolved\"},"
	    "{\"contact_uuid\":\"%s\"},{\"contact_uuid\":\"%s\"},"
	    "{\"contact_uuid\":\"%s\"}]}}", EV_CREATED, iu, u[1], u[1], u[2],
	    upper(u[1], up1), u[3], u[2]), 3, 3);
	expect_push(s[0], EV_CREATED, 1, 100);
	expect_push(s[1], EV_CREATED, 2, 100);
	expect_push(s[2], EV_CREATED, 3, 100);
	expect_quiet(s[0], "contact 1");
	expect_quiet(s[1], "contact 2");
	expect_quiet(s[2], "contact 3");
	expect_quiet(s[3], "contact 4 (not involved)");
	expect_quiet(s[4], "contact 5 (not involved)");
	close_all(s);
	h_close(w);
}
END_TEST

START_TEST(test_interaction_null_subject)
{
	struct h_conn *s[NSUB], *w;
	char u2[37], iu[37];

	h_test_up(NULL);
	open_subscribers(s);
	w = h_test_conn();
	h_uuid(2, u2);
	h_uuid(101, iu);
	check_counts(h_requestf(w, "{\"op\":\"broadcast_interaction\",\"event\":\"%s\","
	    "\"interaction\":{\"uuid\":\"%s\",\"contact_uuid\":null,"
	    "\"parties\":[{\"contact_uuid\":\"%s\"}]}}", EV_UPDATED, iu, u2),
	    1, 1);
	expect_push(s[1], EV_UPDATED, 2, 101);
	/* No subject and no resolvable party: nobody is involved. */
	check_counts(h_requestf(w, "{\"op\":\"broadcast_interaction\",\"event\":\"%s\","
	    "\"interaction\":{\"uuid\":\"%s\",\"contact_uuid\":null,"
	    "\"parties\":[{\"contact_uuid\":null},{}]}}", EV_UPDATED, iu), 0, 0);
	expect_quiet(s[0], "contact 1");
	expect_quiet(s[1], "contact 2");
	close_all(s);
	h_close(w);
}
END_TEST

START_TEST(test_interaction_parties_not_a_list)
{
	static const char *const shapes[] = { "", ",\"parties\":null",
	    ",\"parties\":\"not loaded\"", ",\"parties\":{\"contact_uuid\":\"x\"}",
	    ",\"parties\":5", ",\"parties\":true", ",\"parties\":[]", NULL };
	struct h_conn *s[NSUB], *w;
	char u1[37], iu[37];
	int i;

	h_test_up(NULL);
	open_subscribers(s);
	w = h_test_conn();
	h_uuid(1, u1);
	/* Parties missing, null or not an array count as no parties. */
	for (i = 0; shapes[i] != NULL; i++) {
		h_uuid(200 + (unsigned long)i, iu);
		check_counts(h_requestf(w, "{\"op\":\"broadcast_interaction\",\"event\":"
		    "\"%s\",\"interaction\":{\"uuid\":\"%s\",\"contact_uuid\":"
		    "\"%s\"%s}}", EV_CREATED, iu, u1, shapes[i]), 1, 1);
		expect_push(s[0], EV_CREATED, 1, 200 + (unsigned long)i);
	}
	expect_quiet(s[0], "contact 1");
	close_all(s);
	h_close(w);
}
END_TEST

START_TEST(test_interaction_party_not_object)
{
	struct h_conn *s[NSUB], *w;
	char u1[37], u2[37], iu[37], parties[6][128];
	int i;

	h_test_up(NULL);
	open_subscribers(s);
	w = h_test_conn();
	h_uuid(1, u1);
	h_uuid(2, u2);
	h_uuid(300, iu);
	snprintf(parties[0], sizeof parties[0], "[5]");
	snprintf(parties[1], sizeof parties[1], "[null]");
	snprintf(parties[2], sizeof parties[2], "[\"%s\"]", u2);
	snprintf(parties[3], sizeof parties[3], "[[]]");
	snprintf(parties[4], sizeof parties[4], "[{\"contact_uuid\":\"%s\"},7]",
	    u2);
	snprintf(parties[5], sizeof parties[5], "[{},false]");
	for (i = 0; i < 6; i++)
		check_error(h_requestf(w, "{\"op\":\"broadcast_interaction\","
		    "\"event\":\"%s\",\"interaction\":{\"uuid\":\"%s\","
		    "\"contact_uuid\":\"%s\",\"parties\":%s}}", EV_CREATED, iu,
		    u1, parties[i]), "bad_request");
	expect_quiet(s[0], "contact 1");
	expect_quiet(s[1], "contact 2");
	ck_assert_int_eq(h_stat_or_fail(w, "broadcasts"), 0);
	close_all(s);
	h_close(w);
}
END_TEST

START_TEST(test_topics_count_unheard_contacts)
{
	struct h_conn *w;
	char u[5][37], iu[37];
	int i;

	h_test_up(NULL);
	w = h_test_conn();
	for (i = 0; i < 5; i++)
		h_uuid(50 + (unsigned long)i, u[i]);
	h_uuid(400, iu);
	check_counts(h_requestf(w, "{\"op\":\"broadcast_to_contacts\",\"event\":\"%s\","
	    "\"interaction_uuid\":\"%s\",\"contact_uuids\":[\"%s\",\"%s\","
	    "\"%s\",\"%s\",\"%s\"]}", EV_DELETED, iu, u[0], u[1], u[2], u[3],
	    u[4]), 5, 0);
	check_counts(h_requestf(w, "{\"op\":\"broadcast_interaction\",\"event\":\"%s\","
	    "\"interaction\":{\"uuid\":\"%s\",\"contact_uuid\":\"%s\","
	    "\"parties\":[{\"contact_uuid\":\"%s\"}]}}", EV_DELETED, iu, u[0],
	    u[1]), 2, 0);
	ck_assert_int_eq(h_stat_or_fail(w, "broadcasts"), 2);
	ck_assert_int_eq(h_stat_or_fail(w, "delivered"), 0);
	h_close(w);
}
END_TEST

START_TEST(test_delivered_counts_pushes)
{
	struct h_conn *one[3], *two, *both, *w;
	char u1[37], u2[37], iu[37], t1[80], t2[80], line[512];
	char seen[2][512];
	int i;

	h_test_up(NULL);
	for (i = 0; i < 3; i++) {
		one[i] = h_test_conn();
		sub(one[i], 1);
	}
	two = h_test_conn();
	sub(two, 2);
	both = h_test_conn();
	sub(both, 1);
	sub(both, 2);
	w = h_test_conn();
	h_uuid(1, u1);
	h_uuid(2, u2);
	h_uuid(500, iu);
	check_counts(h_requestf(w, "{\"op\":\"broadcast_to_contacts\",\"event\":\"%s\","
	    "\"interaction_uuid\":\"%s\",\"contact_uuids\":[\"%s\",\"%s\"]}",
	    EV_UPDATED, iu, u1, u2), 2, 6);
	for (i = 0; i < 3; i++) {
		expect_push(one[i], EV_UPDATED, 1, 500);
		expect_quiet(one[i], "subscriber of 1");
	}
	expect_push(two, EV_UPDATED, 2, 500);
	expect_quiet(two, "subscriber of 2");
	/* One push per held involved topic. */
	for (i = 0; i < 2; i++)
		ck_assert_msg(h_recv_line(both, seen[i], sizeof seen[i],
		    H_TIMEOUT_MS) >= 0, "push %d to the double subscriber", i);
	expect_quiet(both, "double subscriber");
	h_topic(1, t1);
	h_topic(2, t2);
	push_line(line, sizeof line, EV_UPDATED, 1, iu);
	ck_assert_msg(strcmp(seen[0], line) == 0 || strcmp(seen[1], line) == 0,
	    "no push for %s: %s / %s", t1, seen[0], seen[1]);
	push_line(line, sizeof line, EV_UPDATED, 2, iu);
	ck_assert_msg(strcmp(seen[0], line) == 0 || strcmp(seen[1], line) == 0,
	    "no push for %s: %s / %s", t2, seen[0], seen[1]);
	ck_assert_int_eq(h_stat_or_fail(w, "delivered"), 6);
	for (i = 0; i < 3; i++)
		h_close(one[i]);
	h_close(two);
	h_close(both);
	h_close(w);
}
END_TEST

START_TEST(test_to_contacts_nulls_and_duplicates)
{
	struct h_conn *s[NSUB], *w;
	char u1[37], u2[37], up1[80], iu[37], line[1024];

	h_test_up(NULL);
	open_subscribers(s);
	w = h_test_conn();
	h_uuid(1, u1);
	h_uuid(2, u2);
	h_uuid(600, iu);
	snprintf(line, sizeof line, "{\"op\":\"broadcast_to_contacts\",\"event\":"
	    "\"%s\",\"interaction_uuid\":\"%s\",\"contact_uuids\":[null,\"%s\","
	    "\"%s\",null,\"%s\",\"%s\"]}", EV_CREATED, iu, u1,
	    upper(u1, up1), u2, u1);
	ck_assert_int_eq(h_send_line(w, line), 0);
	h_expect_line(w, "{\"ok\":true,\"op\":\"broadcast_to_contacts\","
	    "\"topics\":2,\"delivered\":2}");
	expect_push(s[0], EV_CREATED, 1, 600);
	expect_push(s[1], EV_CREATED, 2, 600);
	expect_quiet(s[0], "contact 1");
	/* Empty and all-null lists are accepted and reach nobody. */
	check_counts(h_requestf(w, "{\"op\":\"broadcast_to_contacts\",\"event\":\"%s\","
	    "\"interaction_uuid\":\"%s\",\"contact_uuids\":[]}", EV_CREATED, iu),
	    0, 0);
	check_counts(h_requestf(w, "{\"op\":\"broadcast_to_contacts\",\"event\":\"%s\","
	    "\"interaction_uuid\":\"%s\",\"contact_uuids\":[null,null]}",
	    EV_CREATED, iu), 0, 0);
	expect_quiet(s[0], "contact 1");
	expect_quiet(s[1], "contact 2");
	ck_assert_int_eq(h_stat_or_fail(w, "broadcasts"), 3);
	close_all(s);
	h_close(w);
}
END_TEST

START_TEST(test_push_format_lowercase)
{
	struct h_conn *s, *w;
	char u1[37], iu[37], t1[80], uu[80], ui[80], ut[80], want[512];

	h_test_up(NULL);
	s = h_test_conn();
	w = h_test_conn();
	h_uuid(0xabcdef, u1);
	h_uuid(0xfedcba, iu);
	h_topic(0xabcdef, t1);
	/* Subscribed upper case, broadcast upper case: canonical push. */
	upper(t1, ut);
	memcpy(ut, "crm:contact:", 12);
	memcpy(ut + 12 + 36, ":interactions", 14);
	json_decref(h_requestf(s, "{\"op\":\"subscribe\",\"topic\":\"%s\"}", ut));
	check_counts(h_requestf(w, "{\"op\":\"broadcast_to_contacts\",\"event\":\"%s\","
	    "\"interaction_uuid\":\"%s\",\"contact_uuids\":[\"%s\"]}",
	    EV_CREATED, upper(iu, ui), upper(u1, uu)), 1, 1);
	snprintf(want, sizeof want, "{\"type\":\"crm\",\"event\":"
	    "\"interaction_created\",\"topic\":\"crm:contact:0190a5b2-7c1e-7a01-"
	    "8f00-000000abcdef:interactions\",\"payload\":{\"interaction_uuid\":"
	    "\"0190a5b2-7c1e-7a01-8f00-000000fedcba\"}}");
	h_expect_line(s, want);
	check_counts(h_requestf(w, "{\"op\":\"broadcast_interaction\",\"event\":\"%s\","
	    "\"interaction\":{\"uuid\":\"%s\",\"contact_uuid\":\"%s\"}}",
	    EV_DELETED, ui, uu), 1, 1);
	snprintf(want, sizeof want, "{\"type\":\"crm\",\"event\":"
	    "\"interaction_deleted\",\"topic\":\"crm:contact:0190a5b2-7c1e-7a01-"
	    "8f00-000000abcdef:interactions\",\"payload\":{\"interaction_uuid\":"
	    "\"0190a5b2-7c1e-7a01-8f00-000000fedcba\"}}");
	h_expect_line(s, want);
	/* A party given in upper case is reached as well. */
	check_counts(h_requestf(w, "{\"op\":\"broadcast_interaction\",\"event\":\"%s\","
	    "\"interaction\":{\"uuid\":\"%s\",\"contact_uuid\":null,"
	    "\"parties\":[{\"contact_uuid\":\"%s\"}]}}", EV_UPDATED, iu, uu), 1, 1);
	push_line(want, sizeof want, EV_UPDATED, 0xabcdef, iu);
	h_expect_line(s, want);
	h_close(s);
	h_close(w);
}
END_TEST

START_TEST(test_failed_broadcast_delivers_nothing)
{
	struct h_conn *s[NSUB], *w;
	char u1[37], u2[37], iu[37];

	h_test_up(NULL);
	open_subscribers(s);
	w = h_test_conn();
	h_uuid(1, u1);
	h_uuid(2, u2);
	h_uuid(700, iu);
	check_error(h_requestf(w, "{\"op\":\"broadcast_to_contacts\",\"event\":\"%s\","
	    "\"interaction_uuid\":\"%s\",\"contact_uuids\":[\"%s\",\"%s-x\","
	    "\"%s\"]}", EV_CREATED, iu, u1, u2, u2), "bad_uuid");
	check_error(h_requestf(w, "{\"op\":\"broadcast_to_contacts\",\"event\":\"%s\","
	    "\"interaction_uuid\":\"%s\",\"contact_uuids\":[\"%s\",\"%s\",42]}",
	    EV_CREATED, iu, u1, u2), "bad_uuid");
	check_error(h_requestf(w, "{\"op\":\"broadcast_interaction\",\"event\":\"%s\","
	    "\"interaction\":{\"uuid\":\"%s\",\"contact_uuid\":\"%s\","
	    "\"parties\":[{\"contact_uuid\":\"%s\"},{\"contact_uuid\":\"no\"}]}}",
	    EV_CREATED, iu, u1, u2), "bad_uuid");
	check_error(h_requestf(w, "{\"op\":\"broadcast_interaction\",\"event\":\"%s\","
	    "\"interaction\":{\"uuid\":\"%s\",\"contact_uuid\":\"%s\","
	    "\"parties\":[{\"contact_uuid\":\"%s\"},3]}}",
	    EV_CREATED, iu, u1, u2), "bad_request");
	check_error(h_requestf(w, "{\"op\":\"broadcast_interaction\",\"event\":\"%s\","
	    "\"interaction\":{\"uuid\":\"bad\",\"contact_uuid\":\"%s\"}}",
	    EV_CREATED, u1), "bad_uuid");
	expect_quiet(s[0], "contact 1");
	expect_quiet(s[1], "contact 2");
	ck_assert_int_eq(h_stat_or_fail(w, "broadcasts"), 0);
	ck_assert_int_eq(h_stat_or_fail(w, "delivered"), 0);
	/* The next good broadcast is the first thing subscribers see. */
	check_counts(h_requestf(w, "{\"op\":\"broadcast_to_contacts\",\"event\":\"%s\","
	    "\"interaction_uuid\":\"%s\",\"contact_uuids\":[\"%s\"]}",
	    EV_UPDATED, iu, u1), 1, 1);
	expect_push(s[0], EV_UPDATED, 1, 700);
	close_all(s);
	h_close(w);
}
END_TEST

/* A JSON array text of n entries of kind: "uuid" (contacts 1..n), "same"
 * (contact 1 n times), "null", "party" (parties of contacts 1..n) or
 * "nullparty"; heap-allocated. */
static char *
uuid_list(int n, const char *kind)
{
	char *s = malloc((size_t)n * 64 + 3), u[37];
	size_t len = 0;
	int i;

	ck_assert(s != NULL);
	s[len++] = '[';
	for (i = 0; i < n; i++) {
		if (i > 0)
			s[len++] = ',';
		if (strcmp(kind, "party") == 0) {
			h_uuid((unsigned long)i + 1, u);
			len += (size_t)sprintf(s + len, "{\"contact_uuid\":\"%s\"}", u);
		} else if (strcmp(kind, "nullparty") == 0) {
			len += (size_t)sprintf(s + len, "{\"contact_uuid\":null}");
		} else if (strcmp(kind, "null") == 0) {
			len += (size_t)sprintf(s + len, "null");
		} else if (strcmp(kind, "same") == 0) {
			h_uuid(1, u);
			len += (size_t)sprintf(s + len, "\"%s\"", u);
		} else {
			h_uuid((unsigned long)i + 1, u);
			len += (size_t)sprintf(s + len, "\"%s\"", u);
		}
	}
	s[len++] = ']';
	s[len] = '\0';
	return s;
}

/* broadcast_to_contacts with a list of n entries of kind. */
static json_t *
to_contacts(struct h_conn *w, int n, const char *kind)
{
	char iu[37], *list = uuid_list(n, kind);
	json_t *r;

	h_uuid(800, iu);
	r = h_requestf(w, "{\"op\":\"broadcast_to_contacts\",\"event\":\"%s\","
	    "\"interaction_uuid\":\"%s\",\"contact_uuids\":%s}", EV_CREATED, iu,
	    list);
	free(list);
	return r;
}

/* broadcast_interaction with subject (or null) and n parties of kind. */
static json_t *
interaction(struct h_conn *w, const char *subject, int n, const char *kind)
{
	char iu[37], *list = uuid_list(n, kind);
	json_t *r;

	h_uuid(801, iu);
	r = h_requestf(w, "{\"op\":\"broadcast_interaction\",\"event\":\"%s\","
	    "\"interaction\":{\"uuid\":\"%s\",\"contact_uuid\":%s,"
	    "\"parties\":%s}}", EV_CREATED, iu, subject, list);
	free(list);
	return r;
}

START_TEST(test_max_contacts)
{
	static const char *const args[] = { "--max-contacts", "4", NULL };
	struct h_conn *w;
	char subj[64], u9[37], iu[37];

	h_test_up(args);
	w = h_test_conn();
	h_uuid(9, u9);
	h_uuid(802, iu);
	snprintf(subj, sizeof subj, "\"%s\"", u9);
	check_counts(to_contacts(w, 4, "uuid"), 4, 0);
	check_error(to_contacts(w, 5, "uuid"), "too_many");
	/* Counted as sent, before nulls and duplicates are dropped. */
	check_counts(to_contacts(w, 4, "same"), 1, 0);
	check_error(to_contacts(w, 5, "same"), "too_many");
	check_counts(to_contacts(w, 4, "null"), 0, 0);
	check_error(to_contacts(w, 5, "null"), "too_many");
	/* Parties plus one, subject or not. */
	check_counts(interaction(w, subj, 3, "party"), 4, 0);
	check_counts(interaction(w, "null", 3, "party"), 3, 0);
	check_error(interaction(w, subj, 4, "party"), "too_many");
	check_error(interaction(w, "null", 4, "party"), "too_many");
	check_error(interaction(w, "null", 4, "nullparty"), "too_many");
	check_counts(interaction(w, "null", 3, "nullparty"), 0, 0);
	/* too_many is checked before UUIDs, bad_event before too_many. */
	check_error(h_requestf(w, "{\"op\":\"broadcast_to_contacts\",\"event\":\"%s\","
	    "\"interaction_uuid\":\"%s\",\"contact_uuids\":[\"%s\",\"%s\","
	    "\"%s\",\"%s\",\"bad\"]}", EV_CREATED, iu, u9, u9, u9, u9),
	    "too_many");
	check_error(h_requestf(w, "{\"op\":\"broadcast_to_contacts\",\"event\":\"x\","
	    "\"interaction_uuid\":\"%s\",\"contact_uuids\":[\"%s\",\"%s\","
	    "\"%s\",\"%s\",\"%s\"]}", iu, u9, u9, u9, u9, u9), "bad_event");
	ck_assert_int_eq(h_stat_or_fail(w, "broadcasts"), 6);
	h_close(w);
}
END_TEST

START_TEST(test_default_max_contacts)
{
	struct h_conn *w;

	h_test_up(NULL);
	w = h_test_conn();
	check_counts(to_contacts(w, 1024, "uuid"), 1024, 0);
	check_error(to_contacts(w, 1025, "uuid"), "too_many");
	check_counts(interaction(w, "null", 1023, "party"), 1023, 0);
	check_error(interaction(w, "null", 1024, "party"), "too_many");
	h_close(w);
}
END_TEST

START_TEST(test_all_events)
{
	static const char *const events[] = { EV_CREATED, EV_UPDATED,
	    EV_DELETED, NULL };
	struct h_conn *s, *w;
	char u1[37], iu[37];
	int i;

	h_test_up(NULL);
	s = h_test_conn();
	sub(s, 1);
	w = h_test_conn();
	h_uuid(1, u1);
	for (i = 0; events[i] != NULL; i++) {
		h_uuid(900 + (unsigned long)i, iu);
		check_counts(h_requestf(w, "{\"op\":\"broadcast_to_contacts\",\"event\":"
		    "\"%s\",\"interaction_uuid\":\"%s\",\"contact_uuids\":"
		    "[\"%s\"]}", events[i], iu, u1), 1, 1);
		expect_push(s, events[i], 1, 900 + (unsigned long)i);
		check_counts(h_requestf(w, "{\"op\":\"broadcast_interaction\",\"event\":"
		    "\"%s\",\"interaction\":{\"uuid\":\"%s\",\"contact_uuid\":"
		    "\"%s\"}}", events[i], iu, u1), 1, 1);
		expect_push(s, events[i], 1, 900 + (unsigned long)i);
	}
	expect_quiet(s, "subscriber");
	h_close(s);
	h_close(w);
}
END_TEST

/* n pipelined broadcasts to contact 1, interaction uuid = h_uuid(base + i),
 * request id = i, in one write. */
static void
send_sequence(struct h_conn *w, unsigned long base, int n)
{
	char *all, iu[37], u1[37];
	size_t len = 0;
	int i;

	h_uuid(1, u1);
	all = malloc((size_t)n * 256);
	ck_assert(all != NULL);
	for (i = 0; i < n; i++) {
		h_uuid(base + (unsigned long)i, iu);
		len += (size_t)sprintf(all + len, "{\"op\":\"broadcast_to_contacts\","
		    "\"id\":%d,\"event\":\"%s\",\"interaction_uuid\":\"%s\","
		    "\"contact_uuids\":[\"%s\"]}\n", i, EV_CREATED, iu, u1);
	}
	ck_assert_int_eq(h_send(w, all, len), 0);
	free(all);
}

START_TEST(test_ordering_pipelined)
{
	enum { N = 1000 };
	struct h_conn *s, *w;
	json_t *r;
	int i;

	h_test_up(NULL);
	s = h_test_conn();
	sub(s, 1);
	w = h_test_conn();
	send_sequence(w, 0x10000, N);
	for (i = 0; i < N; i++) {
		r = h_recv_json(w, H_TIMEOUT_MS);
		ck_assert_msg(h_is_ok(r) && h_int(r, "id") == i &&
		    h_int(r, "delivered") == 1, "reply %d: %s", i, h_dump(r));
		json_decref(r);
	}
	for (i = 0; i < N; i++)
		expect_push(s, EV_CREATED, 1, 0x10000 + (unsigned long)i);
	expect_quiet(s, "subscriber");
	ck_assert_int_eq(h_stat_or_fail(w, "broadcasts"), N);
	ck_assert_int_eq(h_stat_or_fail(w, "delivered"), N);
	h_close(s);
	h_close(w);
}
END_TEST

START_TEST(test_subscribe_reply_precedes_pushes)
{
	enum { N = 200 };
	struct h_conn *s, *w;
	char t1[80], line[512], iu[37], u1[37];
	long long delivered = 0, first_delivered = -1;
	json_t *r;
	int i, pushes = 0;

	h_test_up(NULL);
	s = h_test_conn();
	w = h_test_conn();
	h_topic(1, t1);
	/* The subscribe races a stream of broadcasts to its topic. */
	snprintf(line, sizeof line, "{\"op\":\"subscribe\",\"topic\":\"%s\"}", t1);
	ck_assert_int_eq(h_send_line(s, line), 0);
	send_sequence(w, 0x20000, N);
	r = h_recv_json(s, H_TIMEOUT_MS);
	ck_assert_msg(h_is_ok(r) && strcmp(h_str(r, "op"), "subscribe") == 0,
	    "first line to the subscriber is not its reply: %s", h_dump(r));
	json_decref(r);
	for (i = 0; i < N; i++) {
		r = h_recv_json(w, H_TIMEOUT_MS);
		ck_assert_msg(h_is_ok(r) && h_int(r, "id") == i, "reply %d: %s",
		    i, h_dump(r));
		/* Once the subscribe is handled, every later broadcast hits. */
		if (h_int(r, "delivered") == 1 && first_delivered < 0)
			first_delivered = i;
		ck_assert_msg(h_int(r, "delivered") ==
		    (first_delivered >= 0 ? 1 : 0), "reply %d: %s", i, h_dump(r));
		delivered += h_int(r, "delivered");
		json_decref(r);
	}
	/* A marker after both sides have caught up. */
	h_uuid(0x2ffff, iu);
	h_uuid(1, u1);
	check_counts(h_requestf(w, "{\"op\":\"broadcast_to_contacts\",\"event\":\"%s\","
	    "\"interaction_uuid\":\"%s\",\"contact_uuids\":[\"%s\"]}",
	    EV_DELETED, iu, u1), 1, 1);
	for (i = (int)first_delivered; first_delivered >= 0 && i < N; i++) {
		expect_push(s, EV_CREATED, 1, 0x20000 + (unsigned long)i);
		pushes++;
	}
	ck_assert_int_eq(pushes, delivered);
	expect_push(s, EV_DELETED, 1, 0x2ffff);
	expect_quiet(s, "subscriber");
	h_close(s);
	h_close(w);
}
END_TEST

START_TEST(test_subscribe_then_broadcast_same_connection)
{
	struct h_conn *c;
	char t1[80], u1[37], iu[37], buf[1024], want[512];
	json_t *j;
	int i, got_push = 0, got_reply = 0;

	h_test_up(NULL);
	c = h_test_conn();
	h_topic(1, t1);
	h_uuid(1, u1);
	h_uuid(0x30000, iu);
	snprintf(buf, sizeof buf, "{\"op\":\"subscribe\",\"topic\":\"%s\"}\n"
	    "{\"op\":\"broadcast_to_contacts\",\"event\":\"%s\","
	    "\"interaction_uuid\":\"%s\",\"contact_uuids\":[\"%s\"]}\n", t1,
	    EV_CREATED, iu, u1);
	ck_assert_int_eq(h_send(c, buf, strlen(buf)), 0);
	snprintf(want, sizeof want, "{\"ok\":true,\"op\":\"subscribe\","
	    "\"topics\":[\"%s\"],\"subscribed\":1}", t1);
	h_expect_line(c, want);
	/* Its own push and the broadcast's reply, in either order. */
	for (i = 0; i < 2; i++) {
		j = h_recv_json(c, H_TIMEOUT_MS);
		ck_assert_msg(j != NULL, "line %d missing", i);
		if (json_object_get(j, "type") != NULL) {
			ck_assert_str_eq(h_str(json_object_get(j, "payload"),
			    "interaction_uuid"), iu);
			got_push++;
		} else {
			ck_assert_msg(h_int(j, "delivered") == 1, "%s", h_dump(j));
			got_reply++;
		}
		json_decref(j);
	}
	ck_assert_int_eq(got_push, 1);
	ck_assert_int_eq(got_reply, 1);
	expect_quiet(c, "self-subscriber");
	h_close(c);
}
END_TEST

START_TEST(test_several_subscribers_same_topic)
{
	enum { M = 8 };
	struct h_conn *s[M], *w;
	char u1[37], iu[37];
	int i;

	h_test_up(NULL);
	for (i = 0; i < M; i++) {
		s[i] = h_test_conn();
		sub(s[i], 1);
	}
	w = h_test_conn();
	h_uuid(1, u1);
	h_uuid(0x40000, iu);
	check_counts(h_requestf(w, "{\"op\":\"broadcast_interaction\",\"event\":\"%s\","
	    "\"interaction\":{\"uuid\":\"%s\",\"contact_uuid\":\"%s\"}}",
	    EV_UPDATED, iu, u1), 1, M);
	for (i = 0; i < M; i++)
		expect_push(s[i], EV_UPDATED, 1, 0x40000);
	/* An unsubscribed or closed subscriber is no longer counted. */
	json_decref(h_requestf(s[0], "{\"op\":\"unsubscribe\"}"));
	h_close(s[1]);
	for (i = 0; i < 200 && h_stat_or_fail(w, "connections") != M; i++)
		h_silent(w, 10);
	ck_assert_int_eq(h_stat_or_fail(w, "connections"), M);
	check_counts(h_requestf(w, "{\"op\":\"broadcast_interaction\",\"event\":\"%s\","
	    "\"interaction\":{\"uuid\":\"%s\",\"contact_uuid\":\"%s\"}}",
	    EV_DELETED, iu, u1), 1, M - 2);
	expect_quiet(s[0], "unsubscribed");
	for (i = 2; i < M; i++)
		expect_push(s[i], EV_DELETED, 1, 0x40000);
	h_close(s[0]);
	for (i = 2; i < M; i++)
		h_close(s[i]);
	h_close(w);
}
END_TEST

/* Suite: broadcast semantics. */
static Suite *
broadcast_suite(void)
{
	Suite *s = suite_create("it_broadcast");
	TCase *tc;

	tc = tcase_create("fanout");
	tcase_set_timeout(tc, 20);
	tcase_add_checked_fixture(tc, NULL, h_test_down);
	tcase_add_test(tc, test_interaction_involved_contacts);
	tcase_add_test(tc, test_interaction_null_subject);
	tcase_add_test(tc, test_interaction_parties_not_a_list);
	tcase_add_test(tc, test_interaction_party_not_object);
	tcase_add_test(tc, test_topics_count_unheard_contacts);
	tcase_add_test(tc, test_delivered_counts_pushes);
	tcase_add_test(tc, test_to_contacts_nulls_and_duplicates);
	tcase_add_test(tc, test_push_format_lowercase);
	tcase_add_test(tc, test_failed_broadcast_delivers_nothing);
	tcase_add_test(tc, test_max_contacts);
	tcase_add_test(tc, test_default_max_contacts);
	tcase_add_test(tc, test_all_events);
	tcase_add_test(tc, test_several_subscribers_same_topic);
	suite_add_tcase(s, tc);

	tc = tcase_create("ordering");
	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, NULL, h_test_down);
	tcase_add_test(tc, test_ordering_pipelined);
	tcase_add_test(tc, test_subscribe_reply_precedes_pushes);
	tcase_add_test(tc, test_subscribe_then_broadcast_same_connection);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(broadcast_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
