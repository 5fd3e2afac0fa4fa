/* SPDX-License-Identifier: MIT — crmpubsub */
/* Commit -> push latency through the PostgreSQL outbox: one subscriber on a
 * contact's topic; then, n times, an autocommit INSERT of an interaction of
 * that contact, timed from sending it to the push arriving (the commit, the
 * doorbell, crmpubsub-pg's round, the daemon's fan-out). Between samples
 * it pauses a random 0..PAUSE_MS (default 20), so samples do not fall into
 * step with a polling bridge. Prints "samples p50_ms p90_ms p99_ms max_ms
 * lost".
 *
 * usage: pg_latency DSN SOCKET CONTACT_UUID N [PAUSE_MS] */

#include <sys/socket.h>
#include <sys/un.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#define PUSH_TIMEOUT_MS	5000

static char	inbuf[1 << 16];
static size_t	inlen;

/* Monotonic microseconds. */
static long long
now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void __attribute__((noreturn))
die(const char *what)
{
	fprintf(stderr, "pg_latency: %s\n", what);
	exit(1);
}

/* Waits (bounded) for the next line holding needle; 0, or -1 on timeout. */
static int
wait_line(int fd, const char *needle, int timeout_ms)
{
	long long	 deadline = now_us() + timeout_ms * 1000LL;
	struct pollfd	 p = { fd, POLLIN, 0 };
	char		*nl;
	ssize_t		 n;
	int		 found;

	for (;;) {
		while ((nl = memchr(inbuf, '\n', inlen)) != NULL) {
			*nl = '\0';
			found = strstr(inbuf, needle) != NULL;
			inlen -= (size_t)(nl + 1 - inbuf);
			memmove(inbuf, nl + 1, inlen);
			if (found)
				return 0;
		}
		if (now_us() >= deadline || poll(&p, 1, (int)((deadline -
		    now_us()) / 1000) + 1) <= 0)
			return -1;
		n = read(fd, inbuf + inlen, sizeof inbuf - inlen);
		if (n <= 0)
			die("the daemon closed the connection");
		inlen += (size_t)n;
	}
}

static int
cmp_ll(const void *a, const void *b)
{
	long long	x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	struct sockaddr_un	 sun = { .sun_family = AF_UNIX };
	char			 sql[256], req[256];
	long long		*lat, t0;
	PGconn			*db;
	PGresult		*r;
	int			 fd, n, i, got = 0, pause_ms;

	if (argc < 5)
		die("usage: pg_latency DSN SOCKET CONTACT_UUID N [PAUSE_MS]");
	n = atoi(argv[4]);
	pause_ms = argc > 5 ? atoi(argv[5]) : 20;
	srandom((unsigned)getpid());
	if (n <= 0 || (lat = calloc((size_t)n, sizeof *lat)) == NULL)
		die("bad N");
	db = PQconnectdb(argv[1]);
	if (PQstatus(db) != CONNECTION_OK)
		die(PQerrorMessage(db));
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", argv[2]);
	if (fd == -1 || connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1)
		die(strerror(errno));
	snprintf(req, sizeof req, "{\"op\":\"subscribe\",\"topic\":"
	    "\"crm:contact:%s:interactions\"}\n", argv[3]);
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req) ||
	    wait_line(fd, "\"ok\":true", PUSH_TIMEOUT_MS) == -1)
		die("subscribe failed");
	snprintf(sql, sizeof sql, "INSERT INTO phoenix_kit_crm_interactions "
	    "(uuid, contact_uuid, subject) VALUES (gen_random_uuid(), '%s', "
	    "'latency')", argv[3]);
	for (i = 0; i < n; i++) {
		t0 = now_us();
		r = PQexec(db, sql);
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			die(PQerrorMessage(db));
		PQclear(r);
		if (wait_line(fd, "\"type\":\"crm\"", PUSH_TIMEOUT_MS) == 0)
			lat[got++] = now_us() - t0;
		if (pause_ms > 0)
			usleep((useconds_t)(random() % (pause_ms * 1000 + 1)));
	}
	if (got == 0)
		die("no push arrived");
	qsort(lat, (size_t)got, sizeof *lat, cmp_ll);
	printf("%d %.2f %.2f %.2f %.2f %d\n", got, lat[got / 2] / 1000.0,
	    lat[got * 9 / 10] / 1000.0, lat[got * 99 / 100] / 1000.0,
	    lat[got - 1] / 1000.0, n - got);
	PQfinish(db);
	close(fd);
	free(lat);
	return 0;
}
