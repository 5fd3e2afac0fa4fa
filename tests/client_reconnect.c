/* SPDX-License-Identifier: MIT — crmpubsub */
/* libcrmpubsub across daemon restarts: a subscriber whose daemon is killed
 * (SIGKILL) or stopped (SIGTERM) and restarted on the same socket
 * reconnects, is re-subscribed, gets a resync and then live pushes again;
 * broadcasts made while the daemon was down are sent once it is back;
 * subscribing before the daemon exists goes live when it starts. */

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

static struct h_daemon	first, second;

static void
down(void)
{
	h_daemon_pair_stop(&first, &second);
}

/* Starts a second daemon on the first one's socket path. */
static void
restart_on_same_socket(void)
{
	ck_assert_msg(h_daemon_start_on(&second, first.sock, NULL) == 0,
	    "restarted daemon did not become ready");
}

/* A handle with a short back-off on the first daemon's socket. */
static crmpubsub *
handle(const char *name)
{
	crmpubsub	*c = crmpubsub_new();

	ck_assert_ptr_nonnull(c);
	crmpubsub_set_socket_path(c, first.sock);
	crmpubsub_set_client_name(c, name);
	crmpubsub_set_timeout(c, CRMPUBSUB_TIMEOUT_RECONNECT_MIN, 20);
	crmpubsub_set_timeout(c, CRMPUBSUB_TIMEOUT_RECONNECT_MAX, 200);
	return c;
}

/* Sends broadcast_to_contacts for contact n over a raw connection. */
static void
raw_broadcast(struct h_conn *h, unsigned long contact, unsigned long inter)
{
	char	u[37], i[37];

	h_uuid(contact, u);
	h_uuid(inter, i);
	h_expect_okf(h, NULL, "{\"op\":\"broadcast_to_contacts\",\"event\":"
	    "\"interaction_updated\",\"interaction_uuid\":\"%s\","
	    "\"contact_uuids\":[\"%s\"]}", i, u);
}

/* Next message must be a CRM push for contact n about interaction i. */
static void
expect_crm(crmpubsub *c, unsigned long contact, unsigned long inter)
{
	struct crmpubsub_message m;
	char	u[37], i[37];

	ck_assert_int_eq(crmpubsub_next_message(c, &m, H_TIMEOUT_MS), 1);
	ck_assert_int_eq(m.type, CRMPUBSUB_MSG_CRM);
	h_uuid(contact, u);
	h_uuid(inter, i);
	ck_assert_str_eq(m.contact_uuid, u);
	ck_assert_str_eq(m.interaction_uuid, i);
}

/* The daemon lists both topics with one subscriber each. */
static void
expect_daemon_holds(struct h_conn *h, unsigned long a, unsigned long b)
{
	char	ta[80], tb[80];
	json_t	*r, *t;
	size_t	i;
	int	seen = 0;

	h_topic(a, ta);
	h_topic(b, tb);
	r = h_request(h, "{\"op\":\"topics\"}");
	ck_assert(h_is_ok(r));
	json_array_foreach(json_object_get(r, "topics"), i, t) {
		if (strcmp(h_str(t, "topic"), ta) == 0 ||
		    strcmp(h_str(t, "topic"), tb) == 0) {
			ck_assert_int_eq(h_int(t, "subscribers"), 1);
			seen++;
		}
	}
	json_decref(r);
	ck_assert_int_eq(seen, 2);
}

/* Drives a kill/restart cycle with the given signal. */
static void
restart_cycle(int sig)
{
	struct crmpubsub_message m;
	struct crmpubsub_stats	st;
	struct h_conn		*h;
	crmpubsub		*c;
	char			 t1[80], t2[80];
	int			 rc, status;

	ck_assert_int_eq(h_daemon_start(&first, NULL), 0);
	c = handle("survivor");
	ck_assert_int_eq(crmpubsub_connect(c), 0);
	h_topic(1, t1);
	h_topic(2, t2);
	ck_assert_int_eq(crmpubsub_subscribe(c, t1), 0);
	ck_assert_int_eq(crmpubsub_subscribe(c, t2), 0);
	h = h_connect(first.sock);
	ck_assert_ptr_nonnull(h);
	raw_broadcast(h, 1, 0xa1);
	expect_crm(c, 1, 0xa1);
	h_close(h);

	kill(first.pid, sig);
	status = h_daemon_wait_exit(&first, H_TIMEOUT_MS);
	if (sig == SIGTERM)
		h_assert_clean_exit(&first, status);
	else
		ck_assert_int_ne(status, -1);
	if (sig == SIGTERM) {
		ck_assert_int_eq(crmpubsub_next_message(c, &m, H_TIMEOUT_MS),
		    1);
		ck_assert_int_eq(m.type, CRMPUBSUB_MSG_SHUTDOWN);
	}
	/* Down: nothing arrives, the library keeps trying. */
	ck_assert_int_eq(crmpubsub_next_message(c, &m, 300), 0);
	ck_assert(!crmpubsub_is_connected(c));
	ck_assert_uint_eq(crmpubsub_subscriptions(c), 2);

	restart_on_same_socket();
	rc = crmpubsub_next_message(c, &m, 4 * H_TIMEOUT_MS);
	ck_assert_int_eq(rc, 1);
	ck_assert_int_eq(m.type, CRMPUBSUB_MSG_RESYNC);
	ck_assert_int_eq(m.reason, CRMPUBSUB_RESYNC_RECONNECTED);
	ck_assert(crmpubsub_is_connected(c));

	h = h_connect(second.sock);
	ck_assert_ptr_nonnull(h);
	expect_daemon_holds(h, 1, 2);
	raw_broadcast(h, 2, 0xa2);
	expect_crm(c, 2, 0xa2);
	raw_broadcast(h, 1, 0xa3);
	expect_crm(c, 1, 0xa3);
	ck_assert_int_eq(crmpubsub_next_message(c, &m, 100), 0);
	h_close(h);

	crmpubsub_stats(c, &st);
	ck_assert_uint_eq(st.connects, 2);
	ck_assert_uint_eq(st.disconnects, 1);
	ck_assert_uint_eq(st.resyncs, 1);
	crmpubsub_close(c);
}

START_TEST(test_sigkill_restart)
{
	restart_cycle(SIGKILL);
}
END_TEST

START_TEST(test_sigterm_restart)
{
	restart_cycle(SIGTERM);
}
END_TEST

/* Broadcasts made while the daemon is down wait in the bounded queue and
 * are sent once it is back, without the application calling again. */
START_TEST(test_writer_queue_survives_restart)
{
	struct crmpubsub_stats	st;
	struct h_conn		*h;
	crmpubsub		*c;
	char			 u1[37], inter[37];
	const char		*cs[1];
	json_t			*r;
	long long		 n = -1;
	int			 i;

	ck_assert_int_eq(h_daemon_start(&first, NULL), 0);
	c = handle("queued-writer");
	ck_assert_int_eq(crmpubsub_connect(c), 0);
	h_uuid(1, u1);
	cs[0] = u1;
	kill(first.pid, SIGKILL);
	ck_assert_int_ne(h_daemon_wait_exit(&first, H_TIMEOUT_MS), -1);
	for (i = 0; i < 5; i++) {
		h_uuid(0xb0 + (unsigned long)i, inter);
		ck_assert_int_eq(crmpubsub_broadcast_to_contacts(c,
		    CRMPUBSUB_INTERACTION_CREATED, inter, cs, 1), 0);
	}
	crmpubsub_stats(c, &st);
	ck_assert_uint_eq(st.pending, 5);

	/* Nobody calls the writer from here: its flusher reconnects and sends
	 * the queue once the daemon is back. */
	restart_on_same_socket();
	h = h_connect(second.sock);
	ck_assert_ptr_nonnull(h);
	for (i = 0; i < 200; i++) {
		r = h_request(h, "{\"op\":\"stats\"}");
		ck_assert(h_is_ok(r));
		n = h_int(json_object_get(r, "stats"), "broadcasts");
		json_decref(r);
		if (n == 5)
			break;
		usleep(20000);
	}
	ck_assert_int_eq(n, 5);
	ck_assert_int_eq(crmpubsub_flush(c, 4 * H_TIMEOUT_MS), 0);
	crmpubsub_stats(c, &st);
	ck_assert_uint_eq(st.acked, 5);
	ck_assert_uint_eq(st.lost, 0);
	ck_assert_uint_eq(st.pending, 0);
	h_close(h);
	crmpubsub_close(c);
}
END_TEST

/* Subscribing before any daemon exists: PENDING, then live + resync
 * (subscribed: there was no connection to lose). */
START_TEST(test_subscribe_before_daemon_starts)
{
	struct crmpubsub_message m;
	struct h_conn		*h;
	crmpubsub		*c;
	char			 t1[80];

	/* Reserve a private directory and socket path, no daemon yet. */
	ck_assert_int_eq(h_daemon_start(&first, NULL), 0);
	kill(first.pid, SIGKILL);
	ck_assert_int_ne(h_daemon_wait_exit(&first, H_TIMEOUT_MS), -1);
	unlink(first.sock);

	c = handle("early-bird");
	errno = 0;
	ck_assert_int_eq(crmpubsub_connect(c), -1);
	ck_assert_int_eq(errno, ENOENT);
	h_topic(1, t1);
	ck_assert_int_eq(crmpubsub_subscribe(c, t1), CRMPUBSUB_PENDING);
	ck_assert_int_eq(crmpubsub_next_message(c, &m, 100), 0);

	restart_on_same_socket();
	ck_assert_int_eq(crmpubsub_next_message(c, &m, 4 * H_TIMEOUT_MS), 1);
	ck_assert_int_eq(m.type, CRMPUBSUB_MSG_RESYNC);
	ck_assert_int_eq(m.reason, CRMPUBSUB_RESYNC_SUBSCRIBED);
	h = h_connect(second.sock);
	ck_assert_ptr_nonnull(h);
	raw_broadcast(h, 1, 0xc1);
	expect_crm(c, 1, 0xc1);
	h_close(h);
	crmpubsub_close(c);
}
END_TEST

static Suite *
client_reconnect_suite(void)
{
	Suite	*s = suite_create("client_reconnect");
	TCase	*tc = tcase_create("reconnect");

	tcase_add_checked_fixture(tc, NULL, down);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_sigkill_restart);
	tcase_add_test(tc, test_sigterm_restart);
	tcase_add_test(tc, test_writer_queue_survives_restart);
	tcase_add_test(tc, test_subscribe_before_daemon_starts);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(client_reconnect_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
