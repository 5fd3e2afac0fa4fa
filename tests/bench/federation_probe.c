/* SPDX-License-Identifier: MIT — crmpubsub */
/* Measures one delivery path of crmpubsubd: a writer broadcasting on one
 * daemon socket, a subscriber listening on another (or the same) socket.
 * Latency: one broadcast at a time, time from sending it until the push
 * arrives. Throughput: pipelined broadcasts with a bounded number in flight,
 * pushes received per second. Prints one result line of key=value pairs.
 *
 * usage: federation_probe PUB_SOCKET SUB_SOCKET [SAMPLES] [SECONDS]
 *
 * It speaks through proto/ as every client does (built by
 * tests/bench/Makefile). */

#include <sys/socket.h>
#include <sys/un.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "message.h"
#include "request.h"

#define CONTACT		"0190a5b2-7c1e-7a01-8f00-00000000beef"
#define WINDOW		512	/* broadcasts in flight in the throughput run */
#define BATCH		32	/* broadcasts per write */

struct peer {
	int	fd;
	size_t	len;
	char	buf[1 << 20];
};

static struct peer	pub, sub;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
die(const char *what)
{
	fprintf(stderr, "federation_probe: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void
peer_connect(struct peer *p, const char *path)
{
	struct sockaddr_un sun;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path)
		die("socket path too long");
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((p->fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    connect(p->fd, (struct sockaddr *)&sun, sizeof sun) == -1)
		die(path);
	p->len = 0;
}

static void
send_all(int fd, const char *s, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, s, len)) == -1) {
			if (errno == EINTR)
				continue;
			die("write");
		}
		s += n;
		len -= (size_t)n;
	}
}

/* Reads what is there (waiting at most ms); returns bytes read, 0 on
 * timeout. Dies on EOF. */
static size_t
peer_fill(struct peer *p, int ms)
{
	struct pollfd pfd = { p->fd, POLLIN, 0 };
	ssize_t n;

	if (poll(&pfd, 1, ms) <= 0)
		return 0;
	if (p->len == sizeof p->buf)
		die("line too long");
	n = read(p->fd, p->buf + p->len, sizeof p->buf - p->len);
	if (n <= 0) {
		errno = n == 0 ? ECONNRESET : errno;
		die("read");
	}
	p->len += (size_t)n;
	return (size_t)n;
}

/* The number of an interaction UUID this probe made: its last 48 bits. */
static unsigned long
interaction_number(const uint8_t u[16])
{
	unsigned long	n = 0;
	int		i;

	for (i = 10; i < 16; i++)
		n = n << 8 | u[i];
	return n;
}

/* Counts the crm pushes among the complete lines and drops every complete
 * line from the buffer; *found set when the push of interaction number
 * want was among them. */
static size_t
peer_take_lines(struct peer *p, unsigned long want, int *found)
{
	char *start = p->buf, *nl, *end = p->buf + p->len;
	struct message m;
	size_t count = 0;

	while ((nl = memchr(start, '\n', (size_t)(end - start))) != NULL) {
		if (message_parse(start, (size_t)(nl - start), &m) == 0 &&
		    m.type == MESSAGE_CRM) {
			count++;
			if (found != NULL && interaction_number(m.interaction) ==
			    want)
				*found = 1;
		}
		start = nl + 1;
	}
	p->len = (size_t)(end - start);
	memmove(p->buf, start, p->len);
	return count;
}

/* Appends a broadcast of interaction number i to b; its length. */
static size_t
broadcast_line(struct buf *b, unsigned long i)
{
	static const char *const contact[] = { CONTACT };
	char iu[UUID_TEXT_LEN + 1];
	const char *why;
	size_t before = buf_len(b);

	snprintf(iu, sizeof iu, "00000000-0000-4000-8000-%012lx", i);
	if (request_broadcast_to_contacts(b, EVENT_INTERACTION_UPDATED, iu,
	    contact, 1, &why) == -1) {
		fprintf(stderr, "federation_probe: %s\n", why);
		exit(2);
	}
	return buf_len(b) - before;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	struct buf line = BUF_INIT;
	struct topic_key topic;
	uint8_t contact[16];
	unsigned long samples, i, sent = 0, got = 0;
	double seconds, *lat, t0, t, deadline;
	int found, k;

	if (argc < 3) {
		fprintf(stderr, "usage: federation_probe PUB_SOCKET SUB_SOCKET "
		    "[SAMPLES] [SECONDS]\n");
		return 2;
	}
	samples = argc > 3 ? strtoul(argv[3], NULL, 10) : 2000;
	seconds = argc > 4 ? strtod(argv[4], NULL) : 2.0;
	if (samples == 0 || (lat = calloc(samples, sizeof *lat)) == NULL)
		return 2;
	peer_connect(&pub, argv[1]);
	peer_connect(&sub, argv[2]);
	if (uuid_canon_parse(CONTACT, UUID_TEXT_LEN, contact) == -1)
		return 2;
	topic_contact_interactions(contact, &topic);
	if (request_topic(&line, OP_SUBSCRIBE, &topic) == -1)
		return 2;
	send_all(sub.fd, buf_head(&line), buf_len(&line));

	/* Warm up until a broadcast crosses: the subscription has reached
	 * every daemon on the path (Redis included). */
	deadline = now_s() + 10;
	for (found = 0; !found; ) {
		if (now_s() > deadline) {
			fprintf(stderr, "federation_probe: no delivery within "
			    "10 s\n");
			return 1;
		}
		buf_reset(&line);
		broadcast_line(&line, 0xffffff);
		send_all(pub.fd, buf_head(&line), buf_len(&line));
		t = now_s() + 0.05;
		while (!found && now_s() < t) {
			peer_fill(&sub, 10);
			peer_take_lines(&sub, 0xffffff, &found);
		}
		while (peer_fill(&pub, 0) > 0)
			peer_take_lines(&pub, 0, NULL);
	}
	/* Let stray warm-up pushes arrive, then forget them. */
	while (peer_fill(&sub, 100) > 0)
		peer_take_lines(&sub, 0, NULL);
	peer_take_lines(&sub, 0, NULL);

	/* Latency: one at a time. */
	for (i = 0; i < samples; i++) {
		buf_reset(&line);
		broadcast_line(&line, i);
		found = 0;
		t0 = now_s();
		send_all(pub.fd, buf_head(&line), buf_len(&line));
		while (!found) {
			if (peer_fill(&sub, 5000) == 0) {
				fprintf(stderr, "federation_probe: sample %lu "
				    "lost\n", i);
				return 1;
			}
			peer_take_lines(&sub, i, &found);
		}
		lat[i] = (now_s() - t0) * 1e6;
		while (peer_fill(&pub, 0) > 0)
			peer_take_lines(&pub, 0, NULL);
	}
	qsort(lat, samples, sizeof *lat, cmp_double);

	/* Throughput: pipelined, at most WINDOW broadcasts not yet received. */
	t0 = now_s();
	deadline = t0 + seconds;
	while (now_s() < deadline) {
		if (sent - got + BATCH <= WINDOW) {
			buf_reset(&line);
			for (k = 0; k < BATCH; k++)
				broadcast_line(&line,
				    samples + sent + (unsigned long)k);
			send_all(pub.fd, buf_head(&line), buf_len(&line));
			sent += BATCH;
		}
		if (peer_fill(&sub, sent - got + BATCH <= WINDOW ? 0 : 100) > 0)
			got += peer_take_lines(&sub, 0, NULL);
		if (peer_fill(&pub, 0) > 0)
			peer_take_lines(&pub, 0, NULL);
	}
	t = now_s() - t0;
	/* Drain what is still in flight (bounded), not counted in the rate. */
	deadline = now_s() + 5;
	while (now_s() < deadline && peer_fill(&sub, 200) > 0)
		peer_take_lines(&sub, 0, NULL);

	printf("samples=%lu p50_us=%.1f p90_us=%.1f p99_us=%.1f max_us=%.1f "
	    "throughput_per_s=%.0f\n", samples, lat[samples / 2],
	    lat[samples * 9 / 10], lat[samples * 99 / 100],
	    lat[samples - 1], (double)got / t);
	free(lat);
	buf_free(&line);
	close(pub.fd);
	close(sub.fd);
	return 0;
}
