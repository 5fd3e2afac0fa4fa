/* SPDX-License-Identifier: MIT — crmpubsub */
/* libcrmpubsub with more topics than one request line holds: subscribe_many
 * splits its request to fit the daemon's max_line, and so does the
 * re-subscription after a reconnect (to the max_line of the daemon it
 * reaches then); a refusal of any part undoes the whole call, on the
 * library's side and on the daemon's, keeping topics held before it. */

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "crmpubsub.h"
#include "harness.h"

#define NTOPICS	5000	/* five lines at the default max_line */

static struct h_daemon	first, second;

static void
down(void)
{
	h_daemon_pair_stop(&first, &second);
}

/* The topics of contacts base .. base + n - 1 (heap; free_topics). */
static const char **
make_topics(unsigned long base, size_t n)
{
	const char	**t = calloc(n, sizeof *t);
	char		 *names = calloc(n, 80);
	size_t		  i;

	ck_assert_ptr_nonnull(t);
	ck_assert_ptr_nonnull(names);
	for (i = 0; i < n; i++) {
		h_topic(base + i, names + 80 * i);
		t[i] = names + 80 * i;
	}
	return t;
}

static void
free_topics(const char **t)
{
	free((void *)t[0]);
	free(t);
}

/* A connected handle with a short back-off on sock. */
static crmpubsub *
handle(const char *sock)
{
	crmpubsub	*c = crmpubsub_new();

	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(crmpubsub_set_socket_path(c, sock), 0);
	ck_assert_int_eq(crmpubsub_set_client_name(c, "many-topics"), 0);
	ck_assert_int_eq(crmpubsub_set_timeout(c,
	    CRMPUBSUB_TIMEOUT_RECONNECT_MIN, 20), 0);
	ck_assert_int_eq(crmpubsub_set_timeout(c,
	    CRMPUBSUB_TIMEOUT_RECONNECT_MAX, 200), 0);
	ck_assert_int_eq(crmpubsub_set_timeout(c, CRMPUBSUB_TIMEOUT_REQUEST,
	    4 * H_TIMEOUT_MS), 0);
	ck_assert_int_eq(crmpubsub_connect(c), 0);
	return c;
}

/* How many topics the daemon says connection id holds, or -1. */
static long long
daemon_holds(const char *sock, long long id)
{
	struct h_conn	*h = h_connect_or_fail(sock);
	json_t		*r = h_request(h, "{\"op\":\"clients\"}"), *cl;
	long long	 n = -1;
	size_t		 i;

	ck_assert_msg(h_is_ok(r), "clients: %s", h_dump(r));
	json_array_foreach(json_object_get(r, "clients"), i, cl)
		if (h_int(cl, "id") == id)
			n = h_int(cl, "subscriptions");
	json_decref(r);
	h_close(h);
	return n;
}

/* The max_line the daemon announces in its hello reply, or -1. */
static long long
announced_max_line(const char *sock)
{
	struct h_conn	*h = h_connect_or_fail(sock);
	json_t		*r = h_request(h, "{\"op\":\"hello\"}");
	long long	 v = h_int(r, "max_line");

	json_decref(r);
	h_close(h);
	return v;
}

/* A broadcast to contact n over a raw connection reaches c, and its
 * message names the contact. */
static void
expect_delivery(crmpubsub *c, const char *sock, unsigned long contact)
{
	struct crmpubsub_message m;
	struct h_conn	*h = h_connect_or_fail(sock);
	char		 u[37], inter[37];

	h_uuid(contact, u);
	h_uuid(0xd00d, inter);
	ck_assert_int_eq(h_expect_okf(h, "delivered", "{\"op\":"
	    "\"broadcast_to_contacts\",\"event\":\"interaction_updated\","
	    "\"interaction_uuid\":\"%s\",\"contact_uuids\":[\"%s\"]}", inter,
	    u), 1);
	h_close(h);
	ck_assert_int_eq(crmpubsub_next_message(c, &m, H_TIMEOUT_MS), 1);
	ck_assert_int_eq(m.type, CRMPUBSUB_MSG_CRM);
	ck_assert_str_eq(m.contact_uuid, u);
}

/* Kills the first daemon, starts the second on its socket with args, and
 * waits for c's resync (reconnected). */
static void
restart(crmpubsub *c, const char *const *args)
{
	struct crmpubsub_message m;

	kill(first.pid, SIGKILL);
	ck_assert_int_ne(h_daemon_wait_exit(&first, H_TIMEOUT_MS), -1);
	ck_assert_msg(h_daemon_start_on(&second, first.sock, args) == 0,
	    "restarted daemon did not become ready");
	ck_assert_int_eq(crmpubsub_next_message(c, &m, 4 * H_TIMEOUT_MS), 1);
	ck_assert_int_eq(m.type, CRMPUBSUB_MSG_RESYNC);
	ck_assert_int_eq(m.reason, CRMPUBSUB_RESYNC_RECONNECTED);
}

/* Subscribes n topics, checks every layer holds them, restarts the daemon
 * with restart_args, and checks again. */
static void
many_topics_across_restart(const char *const *args,
    const char *const *restart_args, size_t n)
{
	const char	**topics = make_topics(1, n);
	crmpubsub	 *c;

	h_daemon_start_or_fail(&first, args);
	c = handle(first.sock);
	ck_assert_int_eq(crmpubsub_subscribe_many(c, topics, n), 0);
	ck_assert_uint_eq(crmpubsub_subscriptions(c), n);
	ck_assert_int_eq(daemon_holds(first.sock, crmpubsub_client_id(c)),
	    (long long)n);
	expect_delivery(c, first.sock, n);

	restart(c, restart_args);
	ck_assert_int_eq(daemon_holds(second.sock, crmpubsub_client_id(c)),
	    (long long)n);
	expect_delivery(c, second.sock, 1);
	expect_delivery(c, second.sock, n);
	crmpubsub_close(c);
	free_topics(topics);
}

/* At the default max_line (65536 bytes, ~1000 topics a line). */
START_TEST(test_many_topics_default_max_line)
{
	many_topics_across_restart(NULL, NULL, NTOPICS);
}
END_TEST

/* A daemon announcing a low max_line gets lines that fit it, and so does
 * the daemon found after a reconnect, with a lower one still: 668 bytes
 * is one short of a line of ten topics (28 before the list, 63 a topic, a
 * comma between, 2 after), so a line one byte too long is refused. */
START_TEST(test_many_topics_low_max_line)
{
	static const char *const low[] = { "--max-line", "2048", NULL };
	static const char *const lower[] = { "--max-line", "668", NULL };
	long long	max_line;

	h_daemon_start_or_fail(&first, low);
	max_line = announced_max_line(first.sock);
	h_daemon_stop_clean(&first);
	memset(&first, 0, sizeof first);
	ck_assert_int_eq(max_line, 2048);
	many_topics_across_restart(low, lower, 3000);
}
END_TEST

/* A refused part (max_subscriptions reached) undoes the whole call: the
 * handle and the daemon keep exactly the topics held before it. */
START_TEST(test_refused_part_undoes_the_call)
{
	static const char *const args[] = { "--max-subscriptions", "3000",
	    NULL };
	const char	**topics = make_topics(1, NTOPICS);
	struct h_conn	 *h;
	crmpubsub	 *c;
	char		  u[37], inter[37];

	h_daemon_start_or_fail(&first, args);
	c = handle(first.sock);
	ck_assert_int_eq(crmpubsub_subscribe_many(c, topics, 10), 0);

	/* topics[0..10) are in the first line (which succeeds), the third
	 * line passes 3000 and is refused, later lines may pass again. */
	errno = 0;
	ck_assert_int_eq(crmpubsub_subscribe_many(c, topics, NTOPICS), -1);
	ck_assert_int_eq(errno, E2BIG);
	ck_assert_uint_eq(crmpubsub_subscriptions(c), 10);
	ck_assert_int_eq(crmpubsub_flush(c, 4 * H_TIMEOUT_MS), 0);
	ck_assert_int_eq(daemon_holds(first.sock, crmpubsub_client_id(c)), 10);

	expect_delivery(c, first.sock, 10);
	h = h_connect_or_fail(first.sock);
	h_uuid(2000, u);
	h_uuid(0xbad, inter);
	ck_assert_int_eq(h_expect_okf(h, "delivered", "{\"op\":"
	    "\"broadcast_to_contacts\",\"event\":\"interaction_updated\","
	    "\"interaction_uuid\":\"%s\",\"contact_uuids\":[\"%s\"]}", inter,
	    u), 0);
	h_close(h);
	crmpubsub_close(c);
	free_topics(topics);
}
END_TEST

static Suite *
client_split_suite(void)
{
	Suite	*s = suite_create("client_split");
	TCase	*tc = tcase_create("split");

	tcase_add_checked_fixture(tc, NULL, down);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_many_topics_default_max_line);
	tcase_add_test(tc, test_many_topics_low_max_line);
	tcase_add_test(tc, test_refused_part_undoes_the_call);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return h_run_suite(client_split_suite());
}
