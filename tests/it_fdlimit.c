/* SPDX-License-Identifier: MIT — crmpubsub */
/* Descriptor exhaustion: with its fd limit lowered (prlimit) the daemon
 * keeps serving the connections it has, does not spin on a listener it
 * cannot accept from, and accepts the waiting clients once fds free up. */

#include <sys/resource.h>

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define NCONN		48	/* more clients than the daemon can hold */
#define FD_LIMIT	24

/* CPU seconds (user + system) the process has used, from /proc. */
static double
cpu_seconds(pid_t pid)
{
	char			 path[64], line[1024], *p;
	unsigned long long	 ut, st;
	FILE			*f;

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	p = fgets(line, sizeof line, f);
	fclose(f);
	if (p == NULL || (p = strrchr(line, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
	    &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Whether the client's ping is answered within ms. */
static int
answered(struct h_conn *c, int ms)
{
	json_t	*r = h_recv_reply(c, ms);
	int	 ok = h_is_ok(r);

	json_decref(r);
	return ok;
}

START_TEST(test_out_of_descriptors)
{
	const char	*args[] = { "--max-connections", "1000", NULL };
	struct rlimit	 lim = { FD_LIMIT, FD_LIMIT };
	struct h_conn	*c[NCONN];
	int		 served[NCONN], i, nserved = 0, late = 0;
	double		 cpu0, cpu1;

	h_test_up(args);
	ck_assert_int_eq(prlimit(h_test_daemon.pid, RLIMIT_NOFILE, &lim, NULL),
	    0);
	for (i = 0; i < NCONN; i++) {
		c[i] = h_test_conn();
		ck_assert_int_eq(h_send_line(c[i], "{\"op\":\"ping\"}"), 0);
	}
	for (i = 0; i < NCONN; i++) {
		served[i] = answered(c[i], i == 0 ? H_TIMEOUT_MS : 200);
		nserved += served[i];
	}
	ck_assert_msg(nserved > 0 && nserved < NCONN,
	    "%d of %d clients served under a limit of %d fds", nserved, NCONN,
	    FD_LIMIT);

	/* Waiting clients must not make the daemon spin on its listener. */
	cpu0 = cpu_seconds(h_test_daemon.pid);
	h_nap_ms(1000);
	cpu1 = cpu_seconds(h_test_daemon.pid);
	ck_assert_msg(cpu0 >= 0 && cpu1 - cpu0 < 0.3,
	    "daemon used %.2f s of CPU in 1 s while out of fds", cpu1 - cpu0);

	/* The connections it holds are still served. */
	for (i = 0; i < NCONN; i++) {
		if (!served[i])
			continue;
		ck_assert_int_eq(h_send_line(c[i], "{\"op\":\"ping\"}"), 0);
		ck_assert(answered(c[i], H_TIMEOUT_MS));
	}
	/* Freeing fds lets the waiting clients in (after the back-off). */
	for (i = 0; i < NCONN; i++)
		if (served[i]) {
			h_close(c[i]);
			c[i] = NULL;
		}
	for (i = 0; i < NCONN; i++) {
		if (c[i] == NULL)
			continue;
		ck_assert_msg(answered(c[i], 3 * H_TIMEOUT_MS),
		    "client %d never accepted after fds were freed", i);
		late++;
		h_close(c[i]);
	}
	ck_assert_int_eq(late, NCONN - nserved);

	if (!h_log_contains(&h_test_daemon, "accept")) {
		h_show_log(&h_test_daemon);
		ck_abort_msg("no accept warning in the log");
	}
}
END_TEST

static Suite *
fdlimit_suite(void)
{
	Suite	*s = suite_create("it_fdlimit");
	TCase	*tc = tcase_create("fdlimit");

	tcase_add_checked_fixture(tc, NULL, h_test_down);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_out_of_descriptors);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(fdlimit_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
