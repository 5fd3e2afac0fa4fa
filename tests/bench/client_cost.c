/* SPDX-License-Identifier: MIT — crmpubsub */
/* Measures what a libcrmpubsub broadcast costs its caller (µs per call,
 * pipelined), with the daemon up (with and without a reading subscriber)
 * and with the daemon down (queueing, then dropping once the queue is full).
 * "cpu" is the calling thread's CPU time per call; "+lib" adds what the
 * library's own threads (the flusher) spent meanwhile: the process's CPU
 * time minus the subscriber thread's, per call.
 *
 *   client_cost [-d DAEMON] [-n CALLS]
 *
 * DAEMON defaults to $CRMPUBSUBD, else ./daemon/crmpubsubd; it is started on
 * a private socket and stopped at the end. Built by tests/bench/Makefile;
 * by hand from the repository root:
 *   cc -O2 -Iclient tests/bench/client_cost.c client/libcrmpubsub.a \
 *      -ljansson -pthread -o client_cost */

#include <sys/stat.h>
#include <sys/wait.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crmpubsub.h"

static double *samples;
static char (*inter_uuids)[37];	/* made before timing: not the library's cost */
static pthread_t reader_tid;
static volatile int reader_running;

static double
now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* CPU time of a clock, in µs (excludes time descheduled). */
static double
clock_us(clockid_t id)
{
	struct timespec	ts;

	clock_gettime(id, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* CPU time of the calling thread, in µs. */
static double
cpu_us(void)
{
	return clock_us(CLOCK_THREAD_CPUTIME_ID);
}

/* CPU time of the process minus the subscriber thread's, in µs. */
static double
lib_cpu_us(void)
{
	clockid_t	id;
	double		t = clock_us(CLOCK_PROCESS_CPUTIME_ID);

	if (reader_running && pthread_getcpuclockid(reader_tid, &id) == 0)
		t -= clock_us(id);
	return t;
}

static int
cmp_double(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* A UUID text from a number. */
static void
uuid_of(unsigned long n, char out[37])
{
	snprintf(out, 37, "0190a5b2-7c1e-7a01-8f00-%012lx", n & 0xffffffffffffUL);
}

/* Times n broadcast_interaction calls (subject + 2 parties) and prints a
 * row: thread CPU per call, then wall-clock mean and percentiles (which
 * include any time the caller was descheduled); returns the mean. */
static double
measure(crmpubsub *c, const char *label, int n)
{
	struct crmpubsub_interaction	it;
	char				subject[37], p1[37], p2[37], inter[37];
	const char			*parties[2] = { p1, p2 };
	double				t0, total = 0, cpu0, lib0;
	int				i, over = 0;

	uuid_of(1, subject);
	uuid_of(2, p1);
	uuid_of(3, p2);
	memset(&it, 0, sizeof it);
	it.uuid = inter;
	it.contact_uuid = subject;
	it.party_contact_uuids = parties;
	it.n_parties = 2;
	(void)inter;
	for (i = 0; i < n; i++)
		uuid_of(0x10000 + (unsigned long)i, inter_uuids[i]);
	lib0 = lib_cpu_us();
	cpu0 = cpu_us();
	for (i = 0; i < n; i++) {
		it.uuid = inter_uuids[i];
		t0 = now_us();
		crmpubsub_broadcast_interaction(c,
		    CRMPUBSUB_INTERACTION_UPDATED, &it);
		samples[i] = now_us() - t0;
		total += samples[i];
		if (samples[i] > 5000)
			over++;
	}
	cpu0 = (cpu_us() - cpu0) / n;
	lib0 = (lib_cpu_us() - lib0) / n;
	qsort(samples, (size_t)n, sizeof *samples, cmp_double);
	printf("%-34s %7d %7.2f %7.2f %7.2f %7.2f %7.2f %8.1f %8.1f %5d\n",
	    label, n, cpu0, lib0, total / n, samples[n / 2],
	    samples[(size_t)((double)n * 0.99)],
	    samples[(size_t)((double)n * 0.999)], samples[n - 1], over);
	return total / n;
}

/* A subscriber thread that reads every push until told to stop. */
static volatile int	stop_reader;

static void *
reader(void *p)
{
	struct crmpubsub_message	m;
	crmpubsub			*c = p;
	static unsigned long		 got;

	while (!stop_reader)
		if (crmpubsub_next_message(c, &m, 50) == 1)
			got++;
	return (void *)&got;
}

/* Starts the daemon on path; its pid, or -1. Waits until it accepts. */
static pid_t
start_daemon(const char *bin, const char *path)
{
	struct stat	st;
	pid_t		pid;
	int		i;

	pid = fork();
	if (pid == 0) {
		execl(bin, bin, "-s", path, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 500; i++) {
		if (stat(path, &st) == 0)
			return pid;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

int
main(int argc, char **argv)
{
	struct crmpubsub_stats	 st;
	const char		*bin = getenv("CRMPUBSUBD");
	char			 dir[] = "/tmp/crmpubsub-cost.XXXXXX";
	char			 path[128], topic[CRMPUBSUB_TOPIC_MAX + 1];
	char			 subject[37];
	crmpubsub		*c, *sub;
	double			 t0;
	pid_t			 pid;
	void			*got;
	int			 ch, n = 100000;

	while ((ch = getopt(argc, argv, "d:n:")) != -1) {
		if (ch == 'd')
			bin = optarg;
		else if (ch == 'n')
			n = atoi(optarg);
		else {
			fprintf(stderr, "usage: client_cost [-d DAEMON] "
			    "[-n CALLS]\n");
			return 2;
		}
	}
	if (bin == NULL)
		bin = "./daemon/crmpubsubd";
	if (n < 100)
		n = 100;
	samples = malloc((size_t)n * sizeof *samples);
	inter_uuids = malloc((size_t)n * sizeof *inter_uuids);
	if (samples == NULL || inter_uuids == NULL || mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof path, "%s/crmpubsub.sock", dir);
	pid = start_daemon(bin, path);
	if (pid == -1) {
		fprintf(stderr, "client_cost: %s did not start\n", bin);
		return 1;
	}
	printf("%-34s %7s %7s %7s %7s %7s %7s %8s %8s %5s\n",
	    "broadcast_interaction, µs/call", "calls", "cpu", "+lib", "mean",
	    "p50", "p99", "p99.9", "max", ">5ms");

	/* 1. Daemon up, nobody subscribed. */
	c = crmpubsub_open(path, "client-cost");
	measure(c, "daemon up, no subscriber", n);
	t0 = now_us();
	crmpubsub_flush(c, 10000);
	printf("%-34s %.0f µs for the last replies\n", "  flush after it",
	    now_us() - t0);
	crmpubsub_stats(c, &st);
	printf("%-34s acked %llu dropped %llu lost %llu\n", "  counters",
	    st.acked, st.dropped, st.lost);

	/* 2. Daemon up, one subscriber (another handle) reading every push. */
	sub = crmpubsub_open(path, "client-cost-reader");
	uuid_of(1, subject);
	crmpubsub_topic_contact_interactions(subject, topic);
	crmpubsub_subscribe(sub, topic);
	stop_reader = 0;
	pthread_create(&reader_tid, NULL, reader, sub);
	reader_running = 1;
	measure(c, "daemon up, 1 subscriber reading", n);
	crmpubsub_flush(c, 10000);
	usleep(200000);
	stop_reader = 1;
	reader_running = 0;
	pthread_join(reader_tid, &got);
	crmpubsub_stats(c, &st);
	printf("%-34s acked %llu dropped %llu lost %llu delivered %llu, "
	    "subscriber got %lu\n", "  counters", st.acked, st.dropped,
	    st.lost, st.delivered, *(unsigned long *)got);
	crmpubsub_close(sub);
	crmpubsub_close(c);

	/* 3. Daemon down: calls queue (1 MiB) then drop. */
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	c = crmpubsub_open(path, "client-cost");
	measure(c, "daemon down, queueing", 4000);
	crmpubsub_set_limit(c, CRMPUBSUB_LIMIT_QUEUE_BYTES, 1);
	measure(c, "daemon down, queue full (dropped)", n);
	crmpubsub_stats(c, &st);
	printf("%-34s pending %llu dropped %llu connect_failures %llu\n",
	    "  counters", st.pending, st.dropped, st.connect_failures);
	crmpubsub_close(c);
	rmdir(dir);
	free(samples);
	free(inter_uuids);
	return 0;
}
