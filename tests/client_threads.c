/* SPDX-License-Identifier: MIT — crmpubsub */
/* libcrmpubsub thread safety: 8 threads broadcasting on one handle while
 * another thread receives on it deliver every broadcast exactly once (to
 * the handle itself and to an independent raw subscriber); subscribe,
 * unsubscribe, stats and flush from other threads meanwhile are safe. */

#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "crmpubsub.h"
#include "harness.h"

#define NTHREADS	8
#define PER_THREAD	400
#define TOTAL		(NTHREADS * PER_THREAD)
#define INTER_BASE	0x100000UL	/* interaction numbers: base + k */

static struct h_daemon	daemon_;

/* Teardown: the daemon must exit cleanly. */
static void
down(void)
{
	h_daemon_stop_clean(&daemon_);
}

struct writer_arg {
	crmpubsub	*c;
	int		 thread;
};

/* Broadcasts PER_THREAD distinct interactions to contact 1. */
static void *
writer(void *p)
{
	struct writer_arg		*a = p;
	struct crmpubsub_interaction	 it;
	char				 subject[37], inter[37];
	int				 i;

	h_uuid(1, subject);
	for (i = 0; i < PER_THREAD; i++) {
		h_uuid(INTER_BASE + (unsigned long)(a->thread * PER_THREAD + i),
		    inter);
		memset(&it, 0, sizeof it);
		it.uuid = inter;
		it.contact_uuid = subject;
		it.parties_not_loaded = true;
		if (crmpubsub_broadcast_interaction(a->c,
		    CRMPUBSUB_INTERACTION_CREATED, &it) != 0)
			return (void *)1;
	}
	return NULL;
}

/* Subscribes and unsubscribes other topics and reads counters meanwhile. */
static void *
churner(void *p)
{
	crmpubsub		*c = p;
	struct crmpubsub_stats	 st;
	char			 t[80];
	unsigned long		 i;

	for (i = 0; i < 50; i++) {
		h_topic(1000 + i, t);
		if (crmpubsub_subscribe(c, t) == -1)
			return (void *)1;
		crmpubsub_stats(c, &st);
		if (crmpubsub_unsubscribe(c, t) == -1)
			return (void *)1;
	}
	return NULL;
}

/* Index of interaction text i in 0..TOTAL-1, or -1. */
static long
inter_index(const char *text)
{
	unsigned long	n;

	if (strlen(text) != 36 || sscanf(text + 24, "%12lx", &n) != 1 ||
	    n < INTER_BASE || n >= INTER_BASE + TOTAL)
		return -1;
	return (long)(n - INTER_BASE);
}

START_TEST(test_eight_threads_exactly_once)
{
	struct writer_arg	 args[NTHREADS];
	struct crmpubsub_message m;
	struct crmpubsub_stats	 st;
	pthread_t		 tid[NTHREADS], churn;
	struct h_conn		*h;
	crmpubsub		*c;
	static unsigned char	 seen_self[TOTAL], seen_raw[TOTAL];
	char			 t1[80];
	void			*ret;
	json_t			*p;
	long			 k;
	int			 i, got = 0;

	ck_assert_int_eq(h_daemon_start(&daemon_, NULL), 0);
	memset(seen_self, 0, sizeof seen_self);
	memset(seen_raw, 0, sizeof seen_raw);
	h_topic(1, t1);
	h = h_connect(daemon_.sock);
	ck_assert_ptr_nonnull(h);
	h_expect_okf(h, NULL, "{\"op\":\"subscribe\",\"topic\":\"%s\"}", t1);

	c = crmpubsub_open(daemon_.sock, "threaded");
	ck_assert_ptr_nonnull(c);
	ck_assert(crmpubsub_is_connected(c));
	ck_assert_int_eq(crmpubsub_subscribe(c, t1), 0);

	for (i = 0; i < NTHREADS; i++) {
		args[i].c = c;
		args[i].thread = i;
		ck_assert_int_eq(pthread_create(&tid[i], NULL, writer,
		    &args[i]), 0);
	}
	ck_assert_int_eq(pthread_create(&churn, NULL, churner, c), 0);

	/* This thread receives on the same handle meanwhile. */
	while (got < TOTAL && crmpubsub_next_message(c, &m,
	    4 * H_TIMEOUT_MS) == 1) {
		ck_assert_int_eq(m.type, CRMPUBSUB_MSG_CRM);
		ck_assert_str_eq(m.topic, t1);
		k = inter_index(m.interaction_uuid);
		ck_assert_int_ge(k, 0);
		seen_self[k]++;
		got++;
	}
	for (i = 0; i < NTHREADS; i++) {
		ck_assert_int_eq(pthread_join(tid[i], &ret), 0);
		ck_assert_ptr_null(ret);
	}
	ck_assert_int_eq(pthread_join(churn, &ret), 0);
	ck_assert_ptr_null(ret);
	ck_assert_int_eq(got, TOTAL);
	ck_assert_int_eq(crmpubsub_next_message(c, &m, 100), 0);
	for (k = 0; k < TOTAL; k++)
		ck_assert_msg(seen_self[k] == 1, "interaction %ld seen %d "
		    "times by the handle", k, seen_self[k]);

	ck_assert_int_eq(crmpubsub_flush(c, 4 * H_TIMEOUT_MS), 0);
	crmpubsub_stats(c, &st);
	ck_assert_uint_eq(st.broadcasts, TOTAL);
	ck_assert_uint_eq(st.acked, TOTAL);
	ck_assert_uint_eq(st.delivered, 2 * TOTAL);
	ck_assert_uint_eq(st.pending + st.lost + st.dropped + st.failed, 0);

	/* The independent subscriber saw each one exactly once too. */
	for (i = 0; i < TOTAL; i++) {
		p = h_recv_push(h, H_TIMEOUT_MS);
		ck_assert_ptr_nonnull(p);
		k = inter_index(json_string_value(json_object_get(
		    json_object_get(p, "payload"), "interaction_uuid")));
		json_decref(p);
		ck_assert_int_ge(k, 0);
		seen_raw[k]++;
	}
	ck_assert(h_silent(h, 100));
	for (k = 0; k < TOTAL; k++)
		ck_assert_int_eq(seen_raw[k], 1);
	h_close(h);
	crmpubsub_close(c);
}
END_TEST

/* Per-thread order: one thread's broadcasts arrive in the order made. */
START_TEST(test_thread_order_preserved)
{
	struct writer_arg	 args[2];
	struct crmpubsub_message m;
	pthread_t		 tid[2];
	crmpubsub		*c, *rx;
	char			 t1[80];
	long			 k, last[2] = { -1, -1 };
	int			 i, got = 0, t;

	ck_assert_int_eq(h_daemon_start(&daemon_, NULL), 0);
	h_topic(1, t1);
	rx = crmpubsub_open(daemon_.sock, "rx");
	ck_assert_int_eq(crmpubsub_subscribe(rx, t1), 0);
	c = crmpubsub_open(daemon_.sock, "tx");
	for (i = 0; i < 2; i++) {
		args[i].c = c;
		args[i].thread = i;
		ck_assert_int_eq(pthread_create(&tid[i], NULL, writer,
		    &args[i]), 0);
	}
	while (got < 2 * PER_THREAD &&
	    crmpubsub_next_message(rx, &m, 4 * H_TIMEOUT_MS) == 1) {
		k = inter_index(m.interaction_uuid);
		ck_assert_int_ge(k, 0);
		t = (int)(k / PER_THREAD);
		ck_assert_int_gt(k, last[t]);
		last[t] = k;
		got++;
	}
	for (i = 0; i < 2; i++)
		pthread_join(tid[i], NULL);
	ck_assert_int_eq(got, 2 * PER_THREAD);
	crmpubsub_close(c);
	crmpubsub_close(rx);
}
END_TEST

static Suite *
client_threads_suite(void)
{
	Suite	*s = suite_create("client_threads");
	TCase	*tc = tcase_create("threads");

	tcase_add_checked_fixture(tc, NULL, down);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_eight_threads_exactly_once);
	tcase_add_test(tc, test_thread_order_preserved);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(client_threads_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
