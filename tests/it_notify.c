/* SPDX-License-Identifier: MIT — crmpubsub */
/* Integration suite for the systemd notifications, with a datagram socket
 * of the test as NOTIFY_SOCKET and the daemon started the way systemd
 * starts it (WATCHDOG_USEC, WATCHDOG_PID = its own pid): WATCHDOG=1 at half
 * the interval, none while the process is stopped (SIGSTOP) or when the
 * watchdog is another process's; READY=1 with a STATUS= line, STATUS=
 * every two seconds with the live figures; RELOADING=1 with MONOTONIC_USEC=
 * then READY=1 around a reload, good or bad; STOPPING=1 at the end. */

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define START_MS	(4 * H_TIMEOUT_MS)
#define STATUS_MS	2000	/* NOTIFY_STATUS_SECONDS of daemon/notify.c */

/* A daemon of this suite: its scratch directory, socket, log, notify
 * socket (bound by the test) and pid. */
struct nd {
	char	dir[256];
	char	sock[320];
	char	log[320];
	char	conf[320];
	int	fd;
	pid_t	pid;
};

/* Starts the daemon on a fresh scratch directory with NOTIFY_SOCKET and,
 * when usec is not NULL, WATCHDOG_USEC; pidmode "self" sets WATCHDOG_PID
 * to the daemon's pid (through sh's exec, as systemd's is the main pid),
 * "other" to pid 1, NULL leaves it unset. conf: a config file's text. */
static void
nd_start(struct nd *d, const char *usec, const char *pidmode,
    const char *conf)
{
	char	 notify[320], script[200];
	FILE	*f;
	int	 logfd;

	memset(d, 0, sizeof *d);
	h_scratch_make(d->dir, sizeof d->dir, "notify");
	snprintf(d->sock, sizeof d->sock, "%s/d.sock", d->dir);
	snprintf(d->log, sizeof d->log, "%s/d.log", d->dir);
	snprintf(d->conf, sizeof d->conf, "%s/d.conf", d->dir);
	snprintf(notify, sizeof notify, "%s/notify.sock", d->dir);
	ck_assert_ptr_nonnull(f = fopen(d->conf, "w"));
	fputs(conf != NULL ? conf : "", f);
	fclose(f);
	d->fd = h_notify_bind(notify);
	snprintf(script, sizeof script, "%sexec \"$0\" \"$@\"",
	    pidmode == NULL ? "" : strcmp(pidmode, "self") == 0 ?
	    "WATCHDOG_PID=$$; export WATCHDOG_PID; " :
	    "WATCHDOG_PID=1; export WATCHDOG_PID; ");
	d->pid = fork();
	ck_assert_int_ne(d->pid, -1);
	if (d->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		setenv("NOTIFY_SOCKET", notify, 1);
		unsetenv("WATCHDOG_PID");
		if (usec != NULL)
			setenv("WATCHDOG_USEC", usec, 1);
		else
			unsetenv("WATCHDOG_USEC");
		unsetenv("LISTEN_FDS");
		unsetenv("LISTEN_PID");
		if ((logfd = open(d->log, O_WRONLY | O_CREAT, 0600)) != -1)
			dup2(logfd, 2);
		execl("/bin/sh", "sh", "-c", script, h_daemon_bin(), "-s",
		    d->sock, "-c", d->conf, (char *)NULL);
		_exit(127);
	}
	ck_assert_msg(h_wait_listening(d->sock, START_MS, 1000),
	    "daemon did not start");
}

/* SIGTERM (after SIGCONT, in case), STOPPING=1, a clean exit; removes the
 * scratch directory. */
static void
nd_stop(struct nd *d)
{
	int	status;

	kill(d->pid, SIGCONT);
	kill(d->pid, SIGTERM);
	ck_assert_msg(h_notify_wait(d->fd, "STOPPING=1", H_TIMEOUT_MS),
	    "no STOPPING=1");
	status = h_wait_child(d->pid, H_TIMEOUT_MS);
	ck_assert_msg(status != -1 && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0, "exit status %d", status);
	close(d->fd);
	h_scratch_remove(d->dir);
}

/* The next datagram within timeout_ms into out (NUL-terminated); its
 * length, or -1. */
static long
nd_next(struct nd *d, char *out, size_t cap, int timeout_ms)
{
	struct pollfd	pfd = { d->fd, POLLIN, 0 };
	ssize_t		n;

	if (poll(&pfd, 1, timeout_ms) != 1)
		return -1;
	if ((n = recv(d->fd, out, cap - 1, 0)) < 0)
		return -1;
	out[n] = '\0';
	return (long)n;
}

/* The next datagram whose first line starts with first, skipping others,
 * within timeout_ms; 1 with it in out, else 0. */
static int
nd_wait(struct nd *d, const char *first, char *out, size_t cap,
    int timeout_ms)
{
	long long	deadline = h_now_ms() + timeout_ms;

	while (h_now_ms() < deadline)
		if (nd_next(d, out, cap, (int)(deadline - h_now_ms())) >= 0 &&
		    strncmp(out, first, strlen(first)) == 0)
			return 1;
	return 0;
}

/* Counts WATCHDOG=1 datagrams during ms; the gaps' total and largest
 * through *sum and *max (ms). */
static int
nd_count_watchdog(struct nd *d, int ms, long long *sum, long long *max)
{
	long long	end = h_now_ms() + ms, last = -1, now;
	char		msg[512];
	int		n = 0;

	*sum = *max = 0;
	while ((now = h_now_ms()) < end) {
		if (nd_next(d, msg, sizeof msg, (int)(end - now)) < 0 ||
		    strcmp(msg, "WATCHDOG=1") != 0)
			continue;
		now = h_now_ms();
		if (last >= 0) {
			*sum += now - last;
			if (now - last > *max)
				*max = now - last;
		}
		last = now;
		n++;
	}
	return n;
}

/* Empties the notify socket of what is queued now. */
static void
nd_drain(struct nd *d)
{
	char	msg[512];

	while (nd_next(d, msg, sizeof msg, 0) >= 0)
		;
}

/* CLOCK_MONOTONIC in microseconds, MONOTONIC_USEC's clock. */
static unsigned long long
mono_usec(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000;
}

/* WATCHDOG_USEC=400000 for this pid: WATCHDOG=1 about every 200 ms; none
 * while the process is stopped; again at once after SIGCONT. */
START_TEST(test_watchdog)
{
	struct nd	d;
	char		msg[512];
	long long	sum, max;
	int		n;

	nd_start(&d, "400000", "self", NULL);
	ck_assert_msg(nd_wait(&d, "READY=1", msg, sizeof msg, START_MS),
	    "no READY=1");
	n = nd_count_watchdog(&d, 1200, &sum, &max);
	ck_assert_msg(n >= 4 && n <= 9, "%d pings in 1.2 s", n);
	ck_assert_msg(sum / (n - 1) >= 150 && sum / (n - 1) <= 300,
	    "mean interval %lld ms (largest %lld ms), expected 200",
	    sum / (n - 1), max);

	ck_assert_int_eq(kill(d.pid, SIGSTOP), 0);
	h_nap_ms(50);
	nd_drain(&d);
	n = nd_count_watchdog(&d, 800, &sum, &max);
	ck_assert_msg(n == 0, "%d pings from a stopped process", n);
	ck_assert_int_eq(kill(d.pid, SIGCONT), 0);
	ck_assert_msg(nd_wait(&d, "WATCHDOG=1", msg, sizeof msg, 1000),
	    "no ping after SIGCONT");
	nd_stop(&d);
}
END_TEST

/* No watchdog pings when WATCHDOG_PID names another process, or without
 * WATCHDOG_USEC; READY=1 all the same. */
START_TEST(test_watchdog_not_ours)
{
	struct nd	d;
	char		msg[512];
	long long	sum, max;

	nd_start(&d, "200000", "other", NULL);
	ck_assert(nd_wait(&d, "READY=1", msg, sizeof msg, START_MS));
	ck_assert_int_eq(nd_count_watchdog(&d, 500, &sum, &max), 0);
	nd_stop(&d);

	nd_start(&d, NULL, NULL, NULL);
	ck_assert(nd_wait(&d, "READY=1", msg, sizeof msg, START_MS));
	ck_assert_int_eq(nd_count_watchdog(&d, 300, &sum, &max), 0);
	nd_stop(&d);
}
END_TEST

/* READY=1 comes with the first STATUS=; later ones show the connections,
 * topics and the delivery rate since the one before. */
START_TEST(test_status)
{
	struct nd	 d;
	struct h_conn	*w, *s;
	char		 msg[512], u[37], c[37], t[80];
	unsigned long	 conns, topics, rate = 0;
	int		 i;

	nd_start(&d, NULL, NULL, NULL);
	ck_assert(nd_wait(&d, "READY=1", msg, sizeof msg, START_MS));
	ck_assert_msg(strstr(msg, "\nSTATUS=0 connections, 0 topics, "
	    "0 deliveries/s") != NULL, "%s", msg);
	w = h_connect_or_fail(d.sock);
	s = h_connect_or_fail(d.sock);
	h_topic(1, t);
	h_uuid(1, c);
	h_expect_okf(s, NULL, "{\"op\":\"subscribe\",\"topic\":\"%s\"}", t);
	for (i = 0; i < 40; i++) {
		h_uuid(100 + (unsigned long)i, u);
		h_expect_okf(w, NULL, "{\"op\":\"broadcast_to_contacts\","
		    "\"event\":\"interaction_created\",\"interaction_uuid\":"
		    "\"%s\",\"contact_uuids\":[\"%s\"]}", u, c);
	}
	/* A status after the broadcasts shows them. */
	do
		ck_assert_msg(nd_wait(&d, "STATUS=", msg, sizeof msg,
		    STATUS_MS + H_TIMEOUT_MS), "no STATUS= within %d ms",
		    STATUS_MS + H_TIMEOUT_MS);
	while (sscanf(msg, "STATUS=%lu connections, %lu topics, %lu "
	    "deliveries/s", &conns, &topics, &rate) != 3 || rate == 0);
	ck_assert_msg(conns == 2 && topics == 1, "%s", msg);
	ck_assert_msg(rate <= 40, "%s", msg);
	h_close(w);
	h_close(s);
	nd_stop(&d);
}
END_TEST

/* SIGHUP: RELOADING=1 with MONOTONIC_USEC= of the moment, then READY=1;
 * a bad file the same way, with the reason in STATUS=. */
START_TEST(test_reload)
{
	struct nd		 d;
	char			 msg[512], *p;
	unsigned long long	 before, after, stamp;
	FILE			*f;

	nd_start(&d, NULL, NULL, "max_connections = 100\n");
	ck_assert(nd_wait(&d, "READY=1", msg, sizeof msg, START_MS));
	before = mono_usec();
	ck_assert_int_eq(kill(d.pid, SIGHUP), 0);
	ck_assert_msg(nd_wait(&d, "RELOADING=1", msg, sizeof msg, H_TIMEOUT_MS),
	    "no RELOADING=1");
	after = mono_usec();
	p = strstr(msg, "\nMONOTONIC_USEC=");
	ck_assert_msg(p != NULL, "%s", msg);
	stamp = strtoull(p + 16, NULL, 10);
	ck_assert_msg(stamp >= before && stamp <= after,
	    "MONOTONIC_USEC=%llu outside [%llu, %llu]", stamp, before, after);
	ck_assert_msg(nd_wait(&d, "READY=1", msg, sizeof msg, H_TIMEOUT_MS),
	    "no READY=1 after the reload");
	ck_assert_msg(strstr(msg, "\nSTATUS=") != NULL, "%s", msg);

	ck_assert_ptr_nonnull(f = fopen(d.conf, "w"));
	fputs("max_connections = lots\n", f);
	fclose(f);
	ck_assert_int_eq(kill(d.pid, SIGHUP), 0);
	ck_assert(nd_wait(&d, "RELOADING=1", msg, sizeof msg, H_TIMEOUT_MS));
	ck_assert_msg(nd_wait(&d, "READY=1", msg, sizeof msg, H_TIMEOUT_MS),
	    "no READY=1 after a failed reload");
	ck_assert_msg(strstr(msg, "\nSTATUS=reload failed, old settings kept: ")
	    != NULL && strstr(msg, "max_connections") != NULL, "%s", msg);
	nd_stop(&d);
}
END_TEST

static Suite *
notify_suite(void)
{
	Suite	*s = suite_create("it_notify");
	TCase	*tc = tcase_create("notify");

	tcase_set_timeout(tc, 40);
	tcase_add_test(tc, test_watchdog);
	tcase_add_test(tc, test_watchdog_not_ours);
	tcase_add_test(tc, test_status);
	tcase_add_test(tc, test_reload);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return h_run_suite(notify_suite());
}
