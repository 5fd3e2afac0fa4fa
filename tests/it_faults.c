/* SPDX-License-Identifier: MIT — crmpubsub */
/* Fault-injection suite: the daemon SIGKILLed and restarted on its socket
 * under load, max_connections reached under churn, and allocation failures
 * injected with an LD_PRELOAD malloc failer (tests/soak/failmalloc.c). */

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "asan_probe.h"
#include "harness.h"

#define NSUBS		8	/* subscribers in the restart test */
#define NCONTACTS	4	/* contacts they are spread over */
#define KILL_ROUNDS	3
#define MAXCONN		20	/* max_connections in the churn test */
#define CHURN_ROUNDS	15

static struct h_conn	*connect_retry(const char *sock, int timeout_ms);
static struct h_conn	*subscriber(const char *sock, unsigned long contact);
static int		 daemon_alive(pid_t pid);
static int		 build_failer(const char *dir, char *so, size_t cap);
static void		 spawn_with_failer(struct h_daemon *d, const char *dir,
			     int every, const char *report);
static int		 rm_entry(const char *, const struct stat *, int,
			     struct FTW *);

/* Connects, retrying while nobody listens (daemon restarting). */
static struct h_conn *
connect_retry(const char *sock, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;
	struct h_conn *c;

	while ((c = h_connect(sock)) == NULL && h_now_ms() < deadline)
		h_nap_ms(10);
	return c;
}

/* A connection subscribed to the topic of h_uuid(contact). */
static struct h_conn *
subscriber(const char *sock, unsigned long contact)
{
	struct h_conn *c = connect_retry(sock, 4 * H_TIMEOUT_MS);
	char t[80];
	json_t *r;

	if (c == NULL)
		return NULL;
	h_topic(contact, t);
	r = h_requestf(c, "{\"op\":\"subscribe\",\"topic\":\"%s\"}", t);
	if (!h_is_ok(r)) {
		json_decref(r);
		h_close(c);
		return NULL;
	}
	json_decref(r);
	return c;
}

/* Whether pid still runs (not exited, not reaped). */
static int
daemon_alive(pid_t pid)
{
	siginfo_t si;

	memset(&si, 0, sizeof si);
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == -1)
		return 0;
	return si.si_pid != pid;
}

/* Compiles tests/soak/failmalloc.c into dir/failmalloc.so. 0 or -1. */
static int
build_failer(const char *dir, char *so, size_t cap)
{
	const char *top = getenv("CRMPUBSUB_TOP"), *cc = getenv("CC");
	char cmd[2048];

	if (top == NULL || *top == '\0')
		top = ".";
	if (cc == NULL || *cc == '\0')
		cc = "cc";
	snprintf(so, cap, "%s/failmalloc.so", dir);
	snprintf(cmd, sizeof cmd, "%s -shared -fPIC -O1 -o '%s' "
	    "'%s/tests/soak/failmalloc.c'", cc, so, top);
	return system(cmd) == 0 ? 0 : -1;
}

/* Starts the daemon on dir/crmpubsub.sock (dir made by the caller) with the
 * malloc failer preloaded, unarmed, to fail every every-th allocation once
 * armed; report: FAILMALLOC_REPORT or NULL. d->sock is set. */
static void
spawn_with_failer(struct h_daemon *d, const char *dir, int every,
    const char *report)
{
	static char so[400], preload[480], everyenv[48], reportenv[500];
	static char sock[320];
	const char *tail[] = { "-s", sock, "--max-line", "4096", NULL };
	char *envp[] = { preload, everyenv, reportenv, NULL };

	ck_assert_msg(build_failer(dir, so, sizeof so) == 0,
	    "cannot compile tests/soak/failmalloc.c");
	snprintf(preload, sizeof preload, "LD_PRELOAD=%s", so);
	snprintf(everyenv, sizeof everyenv, "FAILMALLOC_EVERY=%d", every);
	if (report != NULL)
		snprintf(reportenv, sizeof reportenv, "FAILMALLOC_REPORT=%s",
		    report);
	else
		envp[2] = NULL;
	snprintf(sock, sizeof sock, "%s/crmpubsub.sock", dir);
	ck_assert_int_eq(h_daemon_spawn(d, tail, envp), 0);
	strcpy(d->sock, sock);
	ck_assert_int_eq(h_daemon_wait_ready(d, 4 * H_TIMEOUT_MS), 0);
}

/* nftw callback: removes one entry. */
static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	remove(path);
	return 0;
}

/* SIGKILL under load, restart on the same socket path (the stale socket is
 * replaced), clients reconnect and re-subscribe, broadcasts flow again and
 * reach every subscriber; repeated. */
START_TEST(test_kill_restart_under_load)
{
	struct h_daemon d0, d;
	struct h_conn *subs[NSUBS], *w;
	const char *tail[] = { "-s", NULL, NULL };
	struct buf line = BUF_INIT;
	char sock[320];
	json_t *r, *p;
	int round, i, k, got, inflight, status, sent;
	unsigned long seq = 0;

	ck_assert_int_eq(h_daemon_start(&d0, NULL), 0);
	strcpy(sock, d0.sock);
	d = d0;
	d0.pid = -1;	/* d owns the process; d0 only the socket's directory */
	for (round = 0; round < KILL_ROUNDS; round++) {
		for (i = 0; i < NSUBS; i++) {
			subs[i] = subscriber(sock, (unsigned long)i % NCONTACTS);
			ck_assert_msg(subs[i] != NULL, "round %d: subscriber %d "
			    "could not (re)subscribe", round, i);
		}
		w = connect_retry(sock, H_TIMEOUT_MS);
		ck_assert_ptr_nonnull(w);
		/* Steady load: every broadcast accepted, every push arrives. */
		for (k = 0; k < 20; k++, seq++) {
			r = h_broadcast_range(w, 1000000 + seq, 0, NCONTACTS);
			ck_assert_msg(h_is_ok(r), "round %d: broadcast refused", round);
			ck_assert_int_eq(h_int(r, "topics"), NCONTACTS);
			ck_assert_int_eq(h_int(r, "delivered"), NSUBS);
			json_decref(r);
		}
		for (i = 0; i < NSUBS; i++) {
			for (got = 0; got < 20; got++) {
				p = h_recv_push(subs[i], H_TIMEOUT_MS);
				ck_assert_msg(p != NULL, "round %d: subscriber %d "
				    "got %d of 20 pushes", round, i, got);
				ck_assert_str_eq(h_str(p, "type"), "crm");
				json_decref(p);
			}
		}
		/* Broadcasts in flight when the daemon dies. */
		for (inflight = 0; inflight < 200; inflight++, seq++) {
			h_put_broadcast(&line, EVENT_INTERACTION_CREATED,
			    1000000 + seq, 0, NCONTACTS);
			sent = h_send(w, buf_head(&line), buf_len(&line));
			buf_reset(&line);
			if (sent == -1)
				break;
		}
		ck_assert_int_eq(kill(d.pid, SIGKILL), 0);
		status = h_daemon_wait_exit(&d, H_TIMEOUT_MS);
		ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
		/* Everyone sees the connection end; nobody hangs. */
		for (i = 0; i < NSUBS; i++) {
			ck_assert_msg(h_wait_eof(subs[i], H_TIMEOUT_MS),
			    "subscriber %d not told of the crash", i);
			h_close(subs[i]);
		}
		ck_assert(h_wait_eof(w, H_TIMEOUT_MS));
		h_close(w);
		/* The socket file is left behind; nobody answers on it. */
		ck_assert_int_eq(access(sock, F_OK), 0);
		ck_assert_ptr_null(h_connect(sock));

		if (round > 0)
			h_daemon_stop(&d, SIGKILL, H_TIMEOUT_MS);	/* its dir */
		tail[1] = sock;
		ck_assert_int_eq(h_daemon_spawn(&d, tail, NULL), 0);
		strcpy(d.sock, sock);
		ck_assert_msg(h_daemon_wait_ready(&d, 4 * H_TIMEOUT_MS) == 0,
		    "round %d: restart on the stale socket failed", round);
	}
	/* After the last restart: the new daemon serves a fresh registry. */
	w = connect_retry(sock, H_TIMEOUT_MS);
	ck_assert_ptr_nonnull(w);
	ck_assert_int_eq(h_stat(w, "subscriptions"), 0);
	ck_assert_int_eq(h_stat(w, "broadcasts"), 0);
	h_expect_okf(w, NULL, "{\"op\":\"ping\"}");
	h_close(w);
	buf_free(&line);
	ck_assert_int_eq(h_daemon_stop(&d, SIGTERM, H_TIMEOUT_MS), 0);
	h_daemon_stop(&d0, SIGKILL, H_TIMEOUT_MS);
}
END_TEST

/* max_connections under churn: at the limit every newcomer gets exactly one
 * too_many line and EOF; abrupt closes (some mid-line) free their slots,
 * which new connections take; the fd count returns to its baseline. */
START_TEST(test_max_connections_churn)
{
	const char *args[] = { "--max-connections", "20", NULL };
	struct h_daemon d;
	struct h_conn *held[MAXCONN], *extra[30], *mon;
	char line[4096];
	int round, i, k, nheld, fd_base, fd_now;
	long n;
	json_t *r;
	unsigned seed = 12345;

	ck_assert_int_eq(h_daemon_start(&d, args), 0);
	mon = h_connect(d.sock);
	ck_assert_ptr_nonnull(mon);
	ck_assert(h_wait_stat(mon, "connections", 1, H_TIMEOUT_MS));
	fd_base = h_fd_count(d.pid);
	ck_assert_int_gt(fd_base, 0);
	nheld = 0;
	for (round = 0; round < CHURN_ROUNDS; round++) {
		/* Fill to the limit (mon is one of the MAXCONN). */
		while (nheld < MAXCONN - 1) {
			held[nheld] = h_connect(d.sock);
			ck_assert_ptr_nonnull(held[nheld]);
			r = h_request(held[nheld], "{\"op\":\"ping\"}");
			ck_assert_msg(h_is_ok(r), "round %d: slot %d refused",
			    round, nheld);
			json_decref(r);
			nheld++;
		}
		ck_assert_int_eq(h_stat(mon, "connections"), MAXCONN);
		/* A burst of newcomers, connected before any is read. */
		k = 10 + round % 20;
		for (i = 0; i < k; i++) {
			extra[i] = h_connect(d.sock);
			ck_assert_ptr_nonnull(extra[i]);
		}
		for (i = 0; i < k; i++) {
			n = h_recv_line(extra[i], line, sizeof line, H_TIMEOUT_MS);
			ck_assert_msg(n > 0, "round %d: newcomer %d got no line",
			    round, i);
			r = json_loads(line, 0, NULL);
			ck_assert_msg(h_is_error(r, "too_many"), "got %s", line);
			json_decref(r);
			ck_assert_int_eq(h_recv_line(extra[i], line, sizeof line,
			    H_TIMEOUT_MS), -2);
			h_close(extra[i]);
		}
		/* Abrupt departures: some leave half a request behind. */
		k = 1 + (int)(rand_r(&seed) % (unsigned)(nheld - 1));
		for (i = 0; i < k; i++) {
			if (i % 2 == 0)
				h_send(held[nheld - 1], "{\"op\":\"subscr", 13);
			h_close(held[--nheld]);
		}
		ck_assert_msg(h_wait_stat(mon, "connections", nheld + 1,
		    H_TIMEOUT_MS), "round %d: closed slots not freed", round);
	}
	while (nheld > 0)
		h_close(held[--nheld]);
	ck_assert(h_wait_stat(mon, "connections", 1, H_TIMEOUT_MS));
	fd_now = h_fd_count(d.pid);
	ck_assert_msg(fd_now == fd_base, "fds: %d at start, %d after churn",
	    fd_base, fd_now);
	h_close(mon);
	ck_assert_int_eq(h_daemon_stop(&d, SIGTERM, H_TIMEOUT_MS), 0);
}
END_TEST

/* The requests mixed while allocations fail: every op, bad input, an
 * over-long line, broadcasts with fan-out. */
static const char *const fault_requests[] = {
	"{\"op\":\"ping\",\"id\":1}",
	"{\"op\":\"hello\",\"name\":\"faulty client with a longer name\"}",
	"{\"op\":\"stats\"}",
	"{\"op\":\"topics\"}",
	"{\"op\":\"clients\"}",
	"{\"op\":\"subscribe\",\"topics\":[\"crm:contact:0190a5b2-7c1e-7a01-"
	    "8f00-000000000001:interactions\",\"crm:contact:0190a5b2-7c1e-7a01-"
	    "8f00-0000000000a1:interactions\",\"crm:contact:0190a5b2-7c1e-7a01-"
	    "8f00-0000000000a2:interactions\"]}",
	"{\"op\":\"unsubscribe\",\"topic\":\"crm:contact:0190a5b2-7c1e-7a01-"
	    "8f00-0000000000a1:interactions\"}",
	"{\"op\":\"broadcast_interaction\",\"event\":\"interaction_updated\","
	    "\"interaction\":{\"uuid\":\"0190a5b2-7c1e-7a01-8f00-0000000000ff\","
	    "\"contact_uuid\":\"0190a5b2-7c1e-7a01-8f00-000000000001\","
	    "\"parties\":[{\"contact_uuid\":\"0190a5b2-7c1e-7a01-8f00-"
	    "000000000002\"},{\"contact_uuid\":null}]}}",
	"{\"op\":\"broadcast_to_contacts\",\"event\":\"interaction_created\","
	    "\"interaction_uuid\":\"0190a5b2-7c1e-7a01-8f00-0000000000fe\","
	    "\"contact_uuids\":[\"0190a5b2-7c1e-7a01-8f00-000000000001\","
	    "\"0190a5b2-7c1e-7a01-8f00-000000000002\"]}",
	"{\"op\":\"nope\"}",
	"[not json",
	"{\"op\":\"subscribe\",\"topic\":\"crm:contact:zz:interactions\"}",
};

/* Allocation failures (every Nth malloc once armed): each request gets a
 * well-formed reply or its connection is dropped; the daemon never crashes,
 * subscribers only ever see well-formed lines, and once the failures stop a
 * new client is served normally and shutdown is clean. */
static const int fail_every[] = { 2, 5, 23 };

START_TEST(test_allocation_failures)
{
	struct h_daemon d;
	struct h_conn *c[6], *sub;
	char dir[] = "/tmp/crmpubsub-faults.XXXXXX", report[480];
	char line[1 << 16], *sock, *big;
	int i, k, status, replies = 0, drops = 0, fails;
	long n;
	json_t *r;
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(report, sizeof report, "%s/failed", dir);
	spawn_with_failer(&d, dir, fail_every[_i], report);
	sock = d.sock;

	sub = h_connect(sock);
	ck_assert_ptr_nonnull(sub);
	r = h_request(sub, fault_requests[5]);
	ck_assert(h_is_ok(r));
	json_decref(r);
	for (i = 0; i < 6; i++)
		ck_assert_ptr_nonnull(c[i] = h_connect(sock));
	big = malloc(6000);
	ck_assert_ptr_nonnull(big);
	memset(big, 'x', 5999);
	big[5999] = '\0';

	ck_assert_int_eq(kill(d.pid, SIGUSR2), 0);	/* arm */
	for (k = 0; k < 400; k++) {
		i = k % 6;
		if (c[i] == NULL) {
			/* Reconnect: under failures accept may drop us. */
			c[i] = h_connect(sock);
			ck_assert_msg(c[i] != NULL, "daemon stopped accepting");
		}
		if (k % 50 == 49)
			h_send_line(c[i], big);
		else
			h_send_line(c[i], fault_requests[(size_t)k %
			    (sizeof fault_requests / sizeof fault_requests[0])]);
		n = h_recv_line(c[i], line, sizeof line, H_TIMEOUT_MS);
		ck_assert_msg(n != -1, "request %d: no reply and no EOF", k);
		if (n == -2) {
			drops++;
			h_close(c[i]);
			c[i] = NULL;
			continue;
		}
		r = json_loads(line, 0, NULL);
		ck_assert_msg(json_is_object(r), "request %d: bad line %s", k,
		    line);
		/* Pushes may come first on subscribed connections. */
		while (json_object_get(r, "type") != NULL) {
			json_decref(r);
			n = h_recv_line(c[i], line, sizeof line, H_TIMEOUT_MS);
			ck_assert_msg(n >= 0 || n == -2, "request %d: stuck", k);
			r = n >= 0 ? json_loads(line, 0, NULL) : NULL;
			if (n == -2)
				break;
			ck_assert_msg(json_is_object(r), "bad line %s", line);
		}
		if (n == -2) {
			drops++;
			h_close(c[i]);
			c[i] = NULL;
			continue;
		}
		ck_assert_msg(json_is_boolean(json_object_get(r, "ok")),
		    "request %d: not a reply: %s", k, line);
		replies++;
		json_decref(r);
		ck_assert_msg(daemon_alive(d.pid), "daemon died at request %d", k);
	}
	/* The subscriber saw only well-formed pushes (or was dropped). */
	while ((n = h_recv_line(sub, line, sizeof line, 200)) >= 0) {
		r = json_loads(line, 0, NULL);
		ck_assert_msg(json_is_object(r) && (json_object_get(r, "type") ||
		    json_object_get(r, "ok")), "subscriber got %s", line);
		json_decref(r);
	}
	ck_assert_int_eq(kill(d.pid, SIGUSR1), 0);	/* disarm, report */
	for (k = 0; k < 200 && access(report, R_OK) != 0; k++)
		h_nap_ms(10);
	f = fopen(report, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fscanf(f, "%d", &fails), 1);
	fclose(f);
	ck_assert_msg(fails > 0, "no allocation was failed");
	ck_assert_msg(daemon_alive(d.pid), "daemon died");
	fprintf(stderr, "it_faults: every %d: %d allocations failed, %d "
	    "replies, %d connections dropped\n", fail_every[_i], fails,
	    replies, drops);

	for (i = 0; i < 6; i++)
		h_close(c[i]);
	h_close(sub);
	c[0] = h_connect(sock);
	ck_assert_ptr_nonnull(c[0]);
	r = h_request(c[0], "{\"op\":\"ping\"}");
	ck_assert_msg(h_is_ok(r), "no ping after the failures stopped");
	json_decref(r);
	ck_assert(h_wait_stat(c[0], "connections", 1, H_TIMEOUT_MS));
	h_close(c[0]);
	free(big);
	status = h_daemon_stop(&d, SIGTERM, H_TIMEOUT_MS);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "unclean exit after faults (status %d)", status);
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}
END_TEST

/* A subscribe whose allocation fails midway undoes what it added and only
 * that: topics the connection held before stay held. The failer fails
 * every FAILMALLOC_EVERY-th allocation once armed; padding the request with
 * null fields (one allocation each in the parser) moves that failure over
 * every allocation of the request in turn. */
#define ROLLBACK_EVERY	60
#define ROLLBACK_PADS	90

/* The subscribe of topic 1 (held) and three new topics of trial k, with k
 * null fields first; heap string. */
static char *
rollback_request(int k)
{
	char t[4][80], *s = malloc(640 + (size_t)k * 16);
	size_t off;
	int i;

	ck_assert_ptr_nonnull(s);
	h_topic(1, t[0]);
	for (i = 1; i < 4; i++)
		h_topic(1000UL * (unsigned long)(k + 1) + (unsigned long)i, t[i]);
	off = (size_t)sprintf(s, "{");
	for (i = 0; i < k; i++)
		off += (size_t)sprintf(s + off, "\"p%d\":null,", i);
	sprintf(s + off, "\"op\":\"subscribe\",\"topics\":[\"%s\",\"%s\",\"%s\","
	    "\"%s\"]}", t[0], t[1], t[2], t[3]);
	return s;
}

START_TEST(test_failed_subscribe_keeps_held)
{
	struct h_daemon d;
	struct h_conn *c, *mon;
	char dir[] = "/tmp/crmpubsub-rollback.XXXXXX", line[4096], t1[80];
	char *sock, *req;
	int k, oks = 0, internals = 0, others = 0, drops = 0;
	long n;
	json_t *r;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	spawn_with_failer(&d, dir, ROLLBACK_EVERY, NULL);
	sock = d.sock;
	mon = h_connect_or_fail(sock);
	h_topic(1, t1);
	c = NULL;
	for (k = 0; k < ROLLBACK_PADS; k++) {
		if (c == NULL) {
			c = h_connect_or_fail(sock);
			h_expect_okf(c, NULL, "{\"op\":\"subscribe\","
			    "\"topic\":\"%s\"}", t1);
		}
		req = rollback_request(k);
		ck_assert_int_eq(kill(d.pid, SIGUSR2), 0);	/* arm */
		ck_assert_int_eq(h_send_line(c, req), 0);
		n = h_recv_line(c, line, sizeof line, H_TIMEOUT_MS);
		ck_assert_int_eq(kill(d.pid, SIGUSR1), 0);	/* disarm */
		free(req);
		ck_assert_msg(n != -1, "trial %d: no reply and no EOF", k);
		if (n == -2) {
			/* Out of memory for the reply: the connection goes,
			 * and its topics with it. */
			drops++;
			h_close(c);
			c = NULL;
			ck_assert(h_wait_stat(mon, "topics", 0, H_TIMEOUT_MS));
			continue;
		}
		r = json_loads(line, 0, NULL);
		ck_assert_msg(json_is_object(r), "trial %d: %s", k, line);
		if (h_is_ok(r)) {
			oks++;
			ck_assert_int_eq(h_int(r, "subscribed"), 4);
		} else {
			internals += h_is_error(r, "internal");
			others += !h_is_error(r, "internal");
			/* Nothing changed: topic 1 held, the new ones gone. */
			ck_assert_msg(h_expect_okf(c, "subscribed",
			    "{\"op\":\"unsubscribe\",\"topics\":[]}") == 1,
			    "trial %d: after %s the connection lost topic 1 "
			    "or kept a new one", k, line);
			ck_assert_int_eq(h_stat_or_fail(mon, "topics"), 1);
		}
		json_decref(r);
		/* Back to topic 1 alone. */
		h_expect_okf(c, NULL, "{\"op\":\"unsubscribe\"}");
		h_expect_okf(c, NULL, "{\"op\":\"subscribe\",\"topic\":\"%s\"}",
		    t1);
	}
	fprintf(stderr, "it_faults: rollback: %d ok, %d internal, %d other "
	    "errors, %d dropped\n", oks, internals, others, drops);
	ck_assert_msg(internals > 0, "no subscribe failed inside the registry");
	h_close(c);
	h_close(mon);
	ck_assert_int_eq(h_daemon_stop(&d, SIGTERM, H_TIMEOUT_MS), 0);
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}
END_TEST

static Suite *
faults_suite(void)
{
	Suite *s = suite_create("it_faults");
	TCase *tc = tcase_create("faults");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_kill_restart_under_load);
	tcase_add_test(tc, test_max_connections_churn);
	/* ASan owns malloc in a sanitizer build: the plain run covers this. */
	if (!binary_has_asan(h_daemon_bin())) {
		tcase_add_loop_test(tc, test_allocation_failures, 0,
		    (int)(sizeof fail_every / sizeof fail_every[0]));
		tcase_add_test(tc, test_failed_subscribe_keeps_held);
	}
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(faults_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
