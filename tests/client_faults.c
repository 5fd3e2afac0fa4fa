/* SPDX-License-Identifier: MIT — crmpubsub */
/* Fault-injection suite through libcrmpubsub: the daemon is SIGKILLed and
 * restarted on its socket, repeatedly, while a library writer keeps
 * broadcasting and library subscribers keep reading. Subscribers must be told
 * (RESYNC, reconnected) after each restart and receive new broadcasts again;
 * the writer's broadcasts always return 0 and its counters add up. */

#include <sys/types.h>
#include <sys/wait.h>

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crmpubsub.h"
#include "harness.h"

#define NSUBS		4
#define ROUNDS		3
#define BURST		50	/* broadcasts per phase */

static crmpubsub	*handle(const char *sock, const char *name);
static void		 broadcast(crmpubsub *w, unsigned long seq);
static int		 wait_crm(crmpubsub *c, const char *iuuid, int timeout_ms);
static int		 wait_reconnected(crmpubsub *c, int timeout_ms);

/* A handle on sock that retries quickly while the daemon is down. */
static crmpubsub *
handle(const char *sock, const char *name)
{
	crmpubsub *c = crmpubsub_new();

	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(crmpubsub_set_socket_path(c, sock), 0);
	ck_assert_int_eq(crmpubsub_set_client_name(c, name), 0);
	ck_assert_int_eq(crmpubsub_set_timeout(c,
	    CRMPUBSUB_TIMEOUT_RECONNECT_MIN, 20), 0);
	ck_assert_int_eq(crmpubsub_set_timeout(c,
	    CRMPUBSUB_TIMEOUT_RECONNECT_MAX, 100), 0);
	return c;
}

/* Best-effort broadcast of interaction h_uuid(seq) to contacts 0 and 1. */
static void
broadcast(crmpubsub *w, unsigned long seq)
{
	char iu[37], c0[37], c1[37];
	const char *contacts[2] = { c0, c1 };

	h_uuid(seq, iu);
	h_uuid(0, c0);
	h_uuid(1, c1);
	ck_assert_int_eq(crmpubsub_broadcast_to_contacts(w,
	    CRMPUBSUB_INTERACTION_CREATED, iu, contacts, 2), 0);
}

/* Reads messages until a CRM message for interaction iuuid; 1 if seen. */
static int
wait_crm(crmpubsub *c, const char *iuuid, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;
	struct crmpubsub_message m;
	long long left;

	while ((left = deadline - h_now_ms()) > 0) {
		if (crmpubsub_next_message(c, &m, (int)left) != 1)
			continue;
		if (m.type == CRMPUBSUB_MSG_CRM &&
		    strcmp(m.interaction_uuid, iuuid) == 0)
			return 1;
	}
	return 0;
}

/* Reads messages until RESYNC (reconnected); 1 if seen. */
static int
wait_reconnected(crmpubsub *c, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;
	struct crmpubsub_message m;
	long long left;

	while ((left = deadline - h_now_ms()) > 0) {
		if (crmpubsub_next_message(c, &m, (int)left) != 1)
			continue;
		if (m.type == CRMPUBSUB_MSG_RESYNC &&
		    m.reason == CRMPUBSUB_RESYNC_RECONNECTED)
			return 1;
	}
	return 0;
}

START_TEST(test_library_kill_restart_under_load)
{
	struct h_daemon d0, d;
	struct crmpubsub_stats st;
	crmpubsub *subs[NSUBS], *w;
	const char *tail[] = { "-s", NULL, NULL };
	char sock[320], name[32], topic[80], iu[37];
	unsigned long seq = 1000;
	int round, i, k, status;

	ck_assert_int_eq(h_daemon_start(&d0, NULL), 0);
	strcpy(sock, d0.sock);
	d = d0;
	d0.pid = -1;	/* d owns the process; d0 only the socket's directory */
	for (i = 0; i < NSUBS; i++) {
		snprintf(name, sizeof name, "sub-%d", i);
		subs[i] = handle(sock, name);
		ck_assert_int_eq(crmpubsub_connect(subs[i]), 0);
		h_topic((unsigned long)i % 2, topic);
		ck_assert_int_eq(crmpubsub_subscribe(subs[i], topic), 0);
	}
	w = handle(sock, "writer");
	ck_assert_int_eq(crmpubsub_connect(w), 0);

	for (round = 0; round < ROUNDS; round++) {
		/* Up: a burst, then a marker every subscriber must see. */
		for (k = 0; k < BURST; k++)
			broadcast(w, seq++);
		broadcast(w, seq);
		h_uuid(seq++, iu);
		for (i = 0; i < NSUBS; i++)
			ck_assert_msg(wait_crm(subs[i], iu, 4 * H_TIMEOUT_MS),
			    "round %d: subscriber %d missed the marker", round, i);
		/* Killed with broadcasts in flight. */
		for (k = 0; k < BURST; k++)
			broadcast(w, seq++);
		ck_assert_int_eq(kill(d.pid, SIGKILL), 0);
		status = h_daemon_wait_exit(&d, H_TIMEOUT_MS);
		ck_assert(WIFSIGNALED(status));
		/* Down: broadcasting still just returns 0. */
		for (k = 0; k < BURST; k++)
			broadcast(w, seq++);
		if (round > 0)
			h_daemon_stop(&d, SIGKILL, H_TIMEOUT_MS);	/* its dir */
		tail[1] = sock;
		ck_assert_int_eq(h_daemon_spawn(&d, tail, NULL), 0);
		strcpy(d.sock, sock);
		ck_assert_int_eq(h_daemon_wait_ready(&d, 4 * H_TIMEOUT_MS), 0);
		for (i = 0; i < NSUBS; i++)
			ck_assert_msg(wait_reconnected(subs[i], 4 * H_TIMEOUT_MS),
			    "round %d: subscriber %d not told to resync", round, i);
	}
	/* After the last restart pushes flow again. */
	broadcast(w, seq);
	h_uuid(seq++, iu);
	for (i = 0; i < NSUBS; i++)
		ck_assert_msg(wait_crm(subs[i], iu, 4 * H_TIMEOUT_MS),
		    "subscriber %d gets nothing after the last restart", i);
	crmpubsub_flush(w, 2 * H_TIMEOUT_MS);
	crmpubsub_stats(w, &st);
	ck_assert_uint_eq(st.broadcasts, seq - 1000);
	ck_assert_uint_eq(st.broadcasts, st.acked + st.failed + st.rejected +
	    st.dropped + st.lost + st.pending);
	ck_assert_uint_eq(st.failed, 0);
	ck_assert_uint_eq(st.rejected, 0);
	ck_assert_uint_ge(st.acked, (ROUNDS + 1) * (BURST + 1));
	fprintf(stderr, "client_faults: %llu broadcasts: %llu acked, %llu lost, "
	    "%llu dropped, %llu pending\n", st.broadcasts, st.acked, st.lost,
	    st.dropped, st.pending);
	for (i = 0; i < NSUBS; i++)
		crmpubsub_close(subs[i]);
	crmpubsub_close(w);
	ck_assert_int_eq(h_daemon_stop(&d, SIGTERM, H_TIMEOUT_MS), 0);
	h_daemon_stop(&d0, SIGKILL, H_TIMEOUT_MS);
}
END_TEST

static Suite *
client_faults_suite(void)
{
	Suite *s = suite_create("client_faults");
	TCase *tc = tcase_create("restart");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_library_kill_restart_under_load);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(client_faults_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
