/* SPDX-License-Identifier: MIT — crmpubsub */
/* Soak driver: runs crmpubsubd on a private socket under bounded load and
 * checks that nothing is lost.
 *
 * One epoll loop drives every connection:
 * - writers broadcast at a steady rate (both broadcast ops, mixed UUID case);
 *   every broadcast must be acknowledged with ok:true;
 * - stable subscribers hold two topics and read everything for the whole
 *   run: each must receive every push meant for it, in order, no resync;
 * - churners subscribe to one to three topics, read for a random while, then
 *   hang up abruptly (half a request line left behind, or unread output) and
 *   reconnect: while connected they must see no gap;
 * - laggers hold many hot topics and stop reading for a while, repeatedly:
 *   every push they miss must be announced, i.e. at the end
 *   received + sum(resync.dropped) == pushes meant for them, and the number
 *   of pushes missing from their streams equals sum(resync.dropped).
 *
 * Which pushes are meant for a connection: every broadcast that involves one
 * of its topics and that was sent after its subscribe reply arrived (the
 * daemon handled it later). Earlier broadcasts may or may not reach it.
 *
 * The daemon's RSS is sampled every second (flat after warm-up; not judged
 * for an ASan build, whose quarantine holds freed memory) and its fd
 * count must return to the baseline once every client has gone. Figures are
 * printed as "soak: key=value" lines. Exit status 0 only if every check
 * held. */

#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "asan_probe.h"

#define MAX_WRITERS	8
#define HOT_TOPICS	200	/* topics 0 … HOT_TOPICS-1 get half the traffic */
#define LAGGER_TOPICS	HOT_TOPICS
#define TICK_MS		5
#define UUID_PREFIX	"0190a5b2-7c1e-7a01-8f"

enum kind { K_WRITER, K_STABLE, K_CHURNER, K_LAGGER, K_MONITOR };

/* One held topic with, per writer, where its expected stream stands. */
struct held {
	uint32_t	topic;
	uint32_t	start[MAX_WRITERS];	/* first mandatory index */
	uint32_t	next[MAX_WRITERS];	/* next index expected */
	uint32_t	last[MAX_WRITERS];	/* last seq received + 1, 0 none */
};

struct sconn {
	int		 fd;
	enum kind	 kind;
	int		 idx;		/* within its kind */
	int		 subscribed;	/* subscribe reply received */
	int		 paused;	/* lagger not reading */
	long long	 until_ms;	/* churner: leave; lagger: toggle */
	char		*in;
	size_t		 inlen, incap;
	char		*out;
	size_t		 outlen, outcap;
	struct held	*held;
	size_t		 nheld;
	unsigned long long received;	/* pushes received */
	unsigned long long missed;	/* pushes missing from the stream */
	unsigned long long announced;	/* sum of resync.dropped */
	unsigned long long resyncs;
	/* writers */
	unsigned long long sent, acked;
};

/* Per (writer, topic): the seqs of that writer's broadcasts involving it. */
struct seqlist {
	uint32_t	*v;
	uint32_t	 n, cap;
};

static struct {
	int		 seconds, stable, churners, laggers, writers, rate, topics;
	int		 lag_pause_ms;
	const char	*daemon;
	int		 verbose;
} opt = { 120, 2000, 1500, 20, 4, 500, 1000, 3000, NULL, 0 };

static int		 epfd;
static char		 sockpath[108];
static char		 tmpdir[64];
static pid_t		 daemon_pid = -1;
static struct seqlist	*lists;		/* writers * topics */
static struct sconn	**stable, **churners, **laggers, **writers;
static struct sconn	*monitor;
static unsigned long long failures, churn_connects, churn_midline,
			 churn_unread, connect_retries, total_connects;
static unsigned long long max_pending;
static unsigned		 rng = 2463534242u;
static long long	 load_t0;	/* start of the broadcast schedule */

static void	fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Records one failed check (the run continues, the exit status is 1). */
static void
fail(const char *fmt, ...)
{
	va_list	ap;

	failures++;
	if (failures > 20)
		return;
	fprintf(stderr, "soak: FAIL: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Stops the program on a setup error. */
static void __attribute__((noreturn))
die(const char *what)
{
	fprintf(stderr, "soak: %s: %s\n", what, strerror(errno));
	if (daemon_pid > 0)
		kill(daemon_pid, SIGKILL);
	exit(2);
}

static long long
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* xorshift32: the run is reproducible. */
static unsigned
rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return n ? rng % n : 0;
}

static uint32_t
mix(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352d;
	x ^= x >> 15;
	x *= 0x846ca68b;
	x ^= x >> 16;
	return x;
}

/* The two distinct contacts broadcast (w, seq) involves. */
static void
contacts_of(int w, uint32_t seq, uint32_t *c1, uint32_t *c2)
{
	uint32_t	h = mix(seq * 2654435761u + (uint32_t)w * 40503u + 1);
	uint32_t	T = (uint32_t)opt.topics;

	*c1 = (h & 1) ? (h >> 1) % HOT_TOPICS : (h >> 1) % T;
	*c2 = (*c1 + 1 + mix(h) % (T - 1)) % T;
}

static void *
xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n)) == NULL)
		die("realloc");
	return p;
}

static struct seqlist *
list_of(int w, uint32_t topic)
{
	return &lists[(size_t)w * (size_t)opt.topics + topic];
}

static void
list_add(int w, uint32_t topic, uint32_t seq)
{
	struct seqlist	*l = list_of(w, topic);

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = xrealloc(l->v, l->cap * sizeof *l->v);
	}
	l->v[l->n++] = seq;
}

static void
contact_uuid(uint32_t n, char out[37], int upper)
{
	snprintf(out, 37, upper ? "0190A5B2-7C1E-7A01-8F00-%012X" :
	    "0190a5b2-7c1e-7a01-8f00-%012x", n);
}

/* ---- connections ------------------------------------------------------ */

static void
queue_out(struct sconn *c, const char *data, size_t len)
{
	if (c->outlen + len > c->outcap) {
		c->outcap = (c->outlen + len) * 2;
		c->out = xrealloc(c->out, c->outcap);
	}
	memcpy(c->out + c->outlen, data, len);
	c->outlen += len;
}

static void
set_events(struct sconn *c)
{
	struct epoll_event	ev;

	memset(&ev, 0, sizeof ev);
	ev.events = (c->paused ? 0 : EPOLLIN) | (c->outlen ? EPOLLOUT : 0);
	ev.data.ptr = c;
	epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Writes queued output; -1 when the connection broke. */
static int
flush_out(struct sconn *c)
{
	ssize_t	n;
	size_t	had = c->outlen;

	while (c->outlen > 0) {
		n = send(c->fd, c->out, c->outlen, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			memmove(c->out, c->out + n, c->outlen - (size_t)n);
			c->outlen -= (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			break;
		return -1;
	}
	if ((had == 0) != (c->outlen == 0) || c->outlen > 0)
		set_events(c);
	return 0;
}

/* A non-blocking connect; -1 (errno) when the daemon cannot take it now. */
static int
open_socket(void)
{
	struct sockaddr_un	sun;
	int			fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, sockpath);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		die("socket");
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* Connects c (retrying while the backlog is full) and registers it. */
static void
conn_open(struct sconn *c)
{
	struct epoll_event	ev;
	long long		deadline = now_ms() + 10000;
	struct timespec		nap = { 0, 1000000 };

	while ((c->fd = open_socket()) == -1) {
		if ((errno != EAGAIN && errno != ECONNREFUSED) ||
		    now_ms() > deadline)
			die("connect");
		connect_retries++;
		nanosleep(&nap, NULL);
	}
	total_connects++;
	memset(&ev, 0, sizeof ev);
	ev.events = EPOLLIN;
	ev.data.ptr = c;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) == -1)
		die("epoll_ctl");
	c->inlen = c->outlen = 0;
	c->subscribed = 0;
	c->paused = 0;
}

static void
conn_drop(struct sconn *c)
{
	epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
}

static struct sconn *
conn_make(enum kind k, int idx)
{
	struct sconn	*c = calloc(1, sizeof *c);

	if (c == NULL)
		die("calloc");
	c->kind = k;
	c->idx = idx;
	c->fd = -1;
	return c;
}

/* Sends subscribe for c's held topics. */
static void
subscribe(struct sconn *c)
{
	char	*line, u[37];
	size_t	 i, off, cap = 64 + c->nheld * 80;

	line = xrealloc(NULL, cap);
	off = (size_t)snprintf(line, cap, "{\"op\":\"subscribe\",\"topics\":[");
	for (i = 0; i < c->nheld; i++) {
		contact_uuid(c->held[i].topic, u, (int)(i & 1));
		off += (size_t)snprintf(line + off, cap - off,
		    "%s\"crm:contact:%s:interactions\"", i ? "," : "", u);
	}
	off += (size_t)snprintf(line + off, cap - off, "]}\n");
	queue_out(c, line, off);
	free(line);
	flush_out(c);
}

/* Chooses n distinct topics for c. */
static void
choose_topics(struct sconn *c, size_t n, uint32_t first)
{
	size_t	i, j;
	uint32_t t;

	c->held = xrealloc(c->held, n * sizeof *c->held);
	memset(c->held, 0, n * sizeof *c->held);
	c->nheld = 0;
	for (i = 0; i < n; i++) {
		if (c->kind == K_LAGGER)
			t = first + (uint32_t)i;
		else {
again:
			t = rnd((unsigned)opt.topics);
			for (j = 0; j < c->nheld; j++)
				if (c->held[j].topic == t)
					goto again;
		}
		c->held[c->nheld++].topic = t;
	}
}

/* The subscribe reply arrived: later broadcasts are mandatory. */
static void
mark_start(struct sconn *c)
{
	size_t	i;
	int	w;

	for (i = 0; i < c->nheld; i++)
		for (w = 0; w < opt.writers; w++) {
			c->held[i].start[w] = list_of(w, c->held[i].topic)->n;
			c->held[i].next[w] = c->held[i].start[w];
			c->held[i].last[w] = 0;
		}
	c->subscribed = 1;
}

/* ---- line handling ------------------------------------------------------ */

static int
hexval(const char *p, int n, uint32_t *out)
{
	uint32_t v = 0;
	int	 i;

	for (i = 0; i < n; i++) {
		char ch = p[i];

		v <<= 4;
		if (ch >= '0' && ch <= '9')
			v |= (uint32_t)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			v |= (uint32_t)(ch - 'a' + 10);
		else
			return -1;	/* upper case is not canonical */
	}
	*out = v;
	return 0;
}

static struct held *
find_held(struct sconn *c, uint32_t topic)
{
	size_t	i;

	if (c->kind == K_LAGGER)
		return topic < c->nheld ? &c->held[topic] : NULL;
	for (i = 0; i < c->nheld; i++)
		if (c->held[i].topic == topic)
			return &c->held[i];
	return NULL;
}

static const char *
kind_name(enum kind k)
{
	static const char *names[] = { "writer", "stable", "churner", "lagger",
	    "monitor" };
	return names[k];
}

/* A crm push: checks it against the expected stream. */
static void
on_push(struct sconn *c, const char *line, size_t len)
{
	const char	*t = memmem(line, len, "\"topic\":\"crm:contact:", 21);
	const char	*iu = memmem(line, len, "\"interaction_uuid\":\"", 20);
	uint32_t	 topic, w, seq, k;
	struct held	*h;
	struct seqlist	*l;

	if (t == NULL || iu == NULL || t + 21 + 36 > line + len ||
	    iu + 20 + 36 > line + len || memcmp(t + 21, UUID_PREFIX "00-",
	    sizeof UUID_PREFIX + 2) != 0 || hexval(t + 21 + 24, 12, &topic) ||
	    memcmp(iu + 20, UUID_PREFIX, sizeof UUID_PREFIX - 1) != 0 ||
	    hexval(iu + 20 + 21, 2, &w) || hexval(iu + 20 + 24, 12, &seq)) {
		fail("%s %d: malformed push %.*s", kind_name(c->kind), c->idx,
		    (int)len, line);
		return;
	}
	c->received++;
	if (!c->subscribed || w >= (uint32_t)opt.writers ||
	    (h = find_held(c, topic)) == NULL) {
		fail("%s %d: push for a topic it does not hold: %.*s",
		    kind_name(c->kind), c->idx, (int)len, line);
		return;
	}
	if (h->last[w] != 0 && seq + 1 <= h->last[w]) {
		fail("%s %d: push out of order or repeated (writer %u seq %u "
		    "after %u)", kind_name(c->kind), c->idx, w, seq,
		    h->last[w] - 1);
		return;
	}
	h->last[w] = seq + 1;
	l = list_of((int)w, topic);
	if (h->next[w] < l->n && l->v[h->next[w]] == seq) {
		h->next[w]++;
		return;
	}
	if (h->next[w] == h->start[w] && (h->start[w] == l->n ||
	    seq < l->v[h->start[w]]))
		return;		/* sent before the subscription: optional */
	/* A gap: find where seq is in the stream. */
	for (k = h->next[w]; k < l->n && l->v[k] != seq; k++)
		;
	if (k == l->n) {
		fail("%s %d: push that nobody sent (writer %u seq %u)",
		    kind_name(c->kind), c->idx, w, seq);
		return;
	}
	c->missed += k - h->next[w];
	if (c->kind != K_LAGGER)
		fail("%s %d: lost %u pushes of writer %u on topic %u before "
		    "seq %u", kind_name(c->kind), c->idx, k - h->next[w], w,
		    topic, seq);
	h->next[w] = k + 1;
}

static void
on_line(struct sconn *c, const char *line, size_t len)
{
	const char	*p;

	if (len > 8 && memcmp(line, "{\"type\":\"crm\"", 13) == 0) {
		on_push(c, line, len);
	} else if (len > 8 && memcmp(line, "{\"type\":\"resync\"", 16) == 0) {
		c->resyncs++;
		p = memmem(line, len, "\"dropped\":", 10);
		if (p == NULL)
			fail("resync without dropped: %.*s", (int)len, line);
		else
			c->announced += strtoull(p + 10, NULL, 10);
		if (c->kind != K_LAGGER)
			fail("%s %d kept reading but got %.*s",
			    kind_name(c->kind), c->idx, (int)len, line);
	} else if (len > 10 && memcmp(line, "{\"ok\":true", 10) == 0) {
		if (c->kind == K_WRITER)
			c->acked++;
		else if (!c->subscribed)
			mark_start(c);
	} else if (c->kind == K_MONITOR) {
		/* stats replies are read synchronously elsewhere */
	} else
		fail("%s %d: unexpected line %.*s", kind_name(c->kind), c->idx,
		    (int)len, line);
}

/* Reads and handles whatever c has; -1 on EOF/error. */
static int
read_some(struct sconn *c)
{
	ssize_t	 n;
	char	*nl, *p;
	int	 rounds = 0;

	for (;;) {
		if (c->incap - c->inlen < 16384) {
			c->incap = c->incap ? c->incap * 2 : 32768;
			c->in = xrealloc(c->in, c->incap);
		}
		n = recv(c->fd, c->in + c->inlen, c->incap - c->inlen,
		    MSG_DONTWAIT);
		if (n == 0)
			return -1;
		if (n == -1)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		c->inlen += (size_t)n;
		p = c->in;
		while ((nl = memchr(p, '\n', c->inlen - (size_t)(p - c->in)))) {
			on_line(c, p, (size_t)(nl - p));
			p = nl + 1;
		}
		memmove(c->in, p, c->inlen - (size_t)(p - c->in));
		c->inlen -= (size_t)(p - c->in);
		if (++rounds == 4)
			return 0;	/* others get a turn */
	}
}

/* ---- the daemon ----------------------------------------------------------- */

static long
rss_kib(void)
{
	char	path[64], line[256];
	long	kib = -1;
	FILE	*f;

	snprintf(path, sizeof path, "/proc/%ld/status", (long)daemon_pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL)
		if (strncmp(line, "VmRSS:", 6) == 0)
			kib = strtol(line + 6, NULL, 10);
	fclose(f);
	return kib;
}

static int
fd_count(void)
{
	char		 path[64];
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	snprintf(path, sizeof path, "/proc/%ld/fd", (long)daemon_pid);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void
start_daemon(void)
{
	char	log[128], maxconn[32];
	int	fd, i;

	snprintf(tmpdir, sizeof tmpdir, "/tmp/crmpubsub-soak.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		die("mkdtemp");
	snprintf(sockpath, sizeof sockpath, "%s/crmpubsub.sock", tmpdir);
	snprintf(log, sizeof log, "%s/daemon.log", tmpdir);
	snprintf(maxconn, sizeof maxconn, "%d", opt.stable + opt.churners +
	    opt.laggers + opt.writers + 100);
	daemon_pid = fork();
	if (daemon_pid == -1)
		die("fork");
	if (daemon_pid == 0) {
		fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd != -1)
			dup2(fd, 2);
		for (i = 3; i < 1024; i++)
			close(i);
		execl(opt.daemon, opt.daemon, "-s", sockpath, "--max-outbuf",
		    "64K", "--lag-timeout", "20", "--max-connections", maxconn,
		    (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 1000; i++) {
		if ((fd = open_socket()) != -1) {
			close(fd);
			return;
		}
		usleep(10000);
	}
	die("daemon did not start");
}

/* The daemon's counters via the monitor connection (blocking, bounded). */
static long long
daemon_stat(const char *key)
{
	char		 buf[4096], pat[64];
	const char	*p;
	size_t		 len = 0;
	ssize_t		 n;
	long long	 deadline = now_ms() + 5000;

	if (send(monitor->fd, "{\"op\":\"stats\"}\n", 15, MSG_NOSIGNAL) != 15)
		return -1;
	while (now_ms() < deadline && len < sizeof buf - 1) {
		n = recv(monitor->fd, buf + len, sizeof buf - 1 - len, 0);
		if (n > 0)
			len += (size_t)n;
		else if (n == 0 || (errno != EAGAIN && errno != EINTR))
			return -1;
		if (len > 0 && buf[len - 1] == '\n')
			break;
		usleep(1000);
	}
	buf[len] = '\0';
	snprintf(pat, sizeof pat, "\"%s\":", key);
	p = strstr(buf, pat);
	return p ? strtoll(p + strlen(pat), NULL, 10) : -1;
}

/* ---- the load ------------------------------------------------------------ */

static void
send_broadcast(struct sconn *w)
{
	char		 line[512], iu[37], u1[37], u2[37];
	uint32_t	 seq = (uint32_t)w->sent, c1, c2;
	int		 n;

	contacts_of(w->idx, seq, &c1, &c2);
	snprintf(iu, sizeof iu, UUID_PREFIX "%02x-%012x", w->idx, seq);
	if (seq & 1) {
		contact_uuid(c1, u1, 0);
		contact_uuid(c2, u2, 1);
		n = snprintf(line, sizeof line, "{\"op\":\"broadcast_interaction\","
		    "\"event\":\"interaction_updated\",\"interaction\":{\"uuid\":"
		    "\"%s\",\"contact_uuid\":\"%s\",\"parties\":[{\"contact_uuid\":"
		    "\"%s\"},{\"contact_uuid\":null},{\"contact_uuid\":\"%s\"}]}}\n",
		    iu, u1, u2, u1);
	} else {
		contact_uuid(c1, u1, 1);
		contact_uuid(c2, u2, 0);
		n = snprintf(line, sizeof line, "{\"op\":\"broadcast_to_contacts\","
		    "\"event\":\"interaction_created\",\"interaction_uuid\":\"%s\","
		    "\"contact_uuids\":[\"%s\",null,\"%s\"]}\n", iu, u1, u2);
	}
	list_add(w->idx, c1, seq);
	list_add(w->idx, c2, seq);
	queue_out(w, line, (size_t)n);
	w->sent++;
}

/* A churner leaves abruptly, in one of three ways, and comes back. */
static void
churn(struct sconn *c, long long now)
{
	static const char half[] = "{\"op\":\"subscribe\",\"topics\":[\"crm:con";

	switch (rnd(3)) {
	case 0:		/* half a request line, then gone */
		(void)!send(c->fd, half, sizeof half - 1, MSG_NOSIGNAL |
		    MSG_DONTWAIT);
		churn_midline++;
		break;
	case 1:		/* output pending that will never be read */
		(void)!send(c->fd, "{\"op\":\"stats\"}\n{\"op\":\"clients\"}\n",
		    32, MSG_NOSIGNAL | MSG_DONTWAIT);
		churn_unread++;
		break;
	default:
		break;
	}
	conn_drop(c);
	churn_connects++;
	conn_open(c);
	choose_topics(c, 1 + rnd(3), 0);
	subscribe(c);
	c->until_ms = now + 200 + rnd(2800);
}

static void
handle_event(struct sconn *c, uint32_t events)
{
	if ((events & EPOLLOUT) && flush_out(c) == -1)
		goto broken;
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		if (read_some(c) == -1)
			goto broken;
	}
	return;
broken:
	if (c->kind == K_CHURNER) {
		fail("churner %d: connection closed by the daemon", c->idx);
		churn(c, now_ms());
		return;
	}
	fail("%s %d: connection closed by the daemon", kind_name(c->kind),
	    c->idx);
	conn_drop(c);
}

static void
run_loop(long long until, int load)
{
	struct epoll_event	 evs[512];
	long long		 now;
	int			 n, i, w;
	unsigned long long	 due;

	while ((now = now_ms()) < until) {
		n = epoll_wait(epfd, evs, 512, TICK_MS);
		for (i = 0; i < n; i++)
			handle_event(evs[i].data.ptr, evs[i].events);
		if (!load)
			continue;
		now = now_ms();
		for (w = 0; w < opt.writers; w++) {
			struct sconn *wr = writers[w];

			if (wr->fd == -1)
				continue;
			due = (unsigned long long)((now - load_t0) * opt.rate /
			    1000);
			while (wr->sent < due)
				send_broadcast(wr);
			if (wr->sent - wr->acked > max_pending)
				max_pending = wr->sent - wr->acked;
			if (flush_out(wr) == -1)
				fail("writer %d: write failed", w);
		}
		for (i = 0; i < opt.churners; i++)
			if (churners[i]->subscribed && now >= churners[i]->until_ms)
				churn(churners[i], now);
		for (i = 0; i < opt.laggers; i++) {
			struct sconn *l = laggers[i];

			if (l->fd == -1 || now < l->until_ms)
				continue;
			l->paused = !l->paused;
			l->until_ms = now + (l->paused ? opt.lag_pause_ms :
			    1000 + (long long)rnd(1000));
			set_events(l);
		}
	}
}

/* Whether a stable subscriber has everything meant for it. */
static int
complete(struct sconn *c)
{
	size_t	i;
	int	w;

	if (c->fd == -1)
		return 1;
	for (i = 0; i < c->nheld; i++)
		for (w = 0; w < opt.writers; w++) {
			struct seqlist *l = list_of(w, c->held[i].topic);

			if (c->held[i].next[w] < l->n)
				return 0;
		}
	return 1;
}

/* Pushes meant for a lagger (it subscribed before the first broadcast). */
static unsigned long long
lagger_expected(const struct sconn *c)
{
	unsigned long long	n = 0;
	size_t			i;
	int			w;

	for (i = 0; i < c->nheld; i++)
		for (w = 0; w < opt.writers; w++)
			n += list_of(w, c->held[i].topic)->n - c->held[i].start[w];
	return n;
}

/* Stable subscribers have every push; laggers have every push either
 * received or announced. */
static int
all_complete(void)
{
	int	i;

	for (i = 0; i < opt.stable; i++)
		if (!complete(stable[i]))
			return 0;
	for (i = 0; i < opt.laggers; i++)
		if (laggers[i]->fd != -1 && laggers[i]->received +
		    laggers[i]->announced < lagger_expected(laggers[i]))
			return 0;
	return 1;
}

/* Pushes missing at the end of a lagger's streams (dropped, never followed
 * by a later push on that stream). */
static unsigned long long
tail_missed(const struct sconn *c)
{
	unsigned long long	n = 0;
	size_t			i;
	int			w;

	for (i = 0; i < c->nheld; i++)
		for (w = 0; w < opt.writers; w++)
			n += list_of(w, c->held[i].topic)->n - c->held[i].next[w];
	return n;
}

static void
usage(void)
{
	fprintf(stderr, "usage: soak --daemon PATH [--seconds N] [--stable N] "
	    "[--churners N] [--laggers N] [--writers N] [--rate N/s/writer] "
	    "[--topics N] [--lag-pause MS]\n");
	exit(2);
}

static void
parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "daemon", 1, NULL, 'd' }, { "seconds", 1, NULL, 's' },
		{ "stable", 1, NULL, 'S' }, { "churners", 1, NULL, 'c' },
		{ "laggers", 1, NULL, 'l' }, { "writers", 1, NULL, 'w' },
		{ "rate", 1, NULL, 'r' }, { "topics", 1, NULL, 't' },
		{ "lag-pause", 1, NULL, 'p' }, { NULL, 0, NULL, 0 }
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'd': opt.daemon = optarg; break;
		case 's': opt.seconds = atoi(optarg); break;
		case 'S': opt.stable = atoi(optarg); break;
		case 'c': opt.churners = atoi(optarg); break;
		case 'l': opt.laggers = atoi(optarg); break;
		case 'w': opt.writers = atoi(optarg); break;
		case 'r': opt.rate = atoi(optarg); break;
		case 't': opt.topics = atoi(optarg); break;
		case 'p': opt.lag_pause_ms = atoi(optarg); break;
		default: usage();
		}
	}
	if (opt.daemon == NULL || opt.writers < 1 || opt.writers > MAX_WRITERS ||
	    opt.topics < HOT_TOPICS + 2 || opt.seconds < 4 || opt.rate < 1)
		usage();
}

int
main(int argc, char **argv)
{
	struct rlimit		 rl;
	struct sconn		*c;
	long long		 t0, t_warm, t_end, deadline;
	long			 rss_start, rss_warm = -1, rss_max = 0, rss_end,
				 rss_idle, r;
	int			 i, fd_base, fd_peak, fd_final = -1, st;
	unsigned long long	 pushes = 0, sent = 0, acked = 0, missed = 0,
				 announced = 0, lag_received = 0, lag_resyncs = 0;
	unsigned long long	 d_dropped, d_resyncs, d_delivered;

	parse_args(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		if (rl.rlim_cur < (rlim_t)(opt.stable + opt.churners +
		    opt.laggers + opt.writers + 200)) {
			fprintf(stderr, "soak: RLIMIT_NOFILE %lu too low\n",
			    (unsigned long)rl.rlim_cur);
			return 2;
		}
	}
	lists = calloc((size_t)opt.writers * (size_t)opt.topics, sizeof *lists);
	stable = calloc((size_t)opt.stable + 1, sizeof *stable);
	churners = calloc((size_t)opt.churners + 1, sizeof *churners);
	laggers = calloc((size_t)opt.laggers + 1, sizeof *laggers);
	writers = calloc((size_t)opt.writers, sizeof *writers);
	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) == -1 || lists == NULL ||
	    stable == NULL || churners == NULL || laggers == NULL ||
	    writers == NULL)
		die("setup");

	start_daemon();
	monitor = conn_make(K_MONITOR, 0);
	monitor->fd = open_socket();
	if (monitor->fd == -1)
		die("monitor connect");
	fcntl(monitor->fd, F_SETFL, 0);
	/* Baseline: the daemon with only the monitor connected. */
	deadline = now_ms() + 5000;
	while (daemon_stat("connections") != 1 && now_ms() < deadline)
		usleep(10000);
	fd_base = fd_count();
	rss_start = rss_kib();

	/* Laggers first, so every push to them is mandatory. */
	for (i = 0; i < opt.laggers; i++) {
		c = laggers[i] = conn_make(K_LAGGER, i);
		conn_open(c);
		choose_topics(c, LAGGER_TOPICS, 0);
		subscribe(c);
		c->until_ms = 0;
	}
	for (i = 0; i < opt.stable; i++) {
		c = stable[i] = conn_make(K_STABLE, i);
		conn_open(c);
		choose_topics(c, 2, 0);
		subscribe(c);
		if (i % 200 == 199)
			run_loop(now_ms() + 1, 0);
	}
	for (i = 0; i < opt.churners; i++) {
		c = churners[i] = conn_make(K_CHURNER, i);
		conn_open(c);
		choose_topics(c, 1 + rnd(3), 0);
		subscribe(c);
		c->until_ms = now_ms() + 200 + rnd(2800);
		if (i % 200 == 199)
			run_loop(now_ms() + 1, 0);
	}
	for (i = 0; i < opt.writers; i++) {
		writers[i] = conn_make(K_WRITER, i);
		conn_open(writers[i]);
	}
	/* Everyone subscribed before the load starts. */
	deadline = now_ms() + 20000;
	for (;;) {
		int ready = 1;

		run_loop(now_ms() + 20, 0);
		for (i = 0; i < opt.stable && ready; i++)
			ready = stable[i]->subscribed;
		for (i = 0; i < opt.laggers && ready; i++)
			ready = laggers[i]->subscribed;
		if (ready)
			break;
		if (now_ms() > deadline) {
			fail("subscriptions not all answered within 20 s");
			break;
		}
	}
	for (i = 0; i < opt.laggers; i++)
		laggers[i]->until_ms = now_ms() + 500 + rnd(1000);
	fd_peak = fd_count();
	printf("soak: connections=%d stable=%d churners=%d laggers=%d "
	    "writers=%d rate=%d/s seconds=%d\n", opt.stable + opt.churners +
	    opt.laggers + opt.writers, opt.stable, opt.churners, opt.laggers,
	    opt.writers, opt.rate * opt.writers, opt.seconds);
	fflush(stdout);

	/* The load, with RSS sampled every second. */
	t0 = load_t0 = now_ms();
	t_warm = t0 + opt.seconds * 1000LL / 4;
	t_end = t0 + opt.seconds * 1000LL;
	while (now_ms() < t_end) {
		run_loop(now_ms() + 1000 < t_end ? now_ms() + 1000 : t_end, 1);
		r = rss_kib();
		if (rss_warm < 0 && now_ms() >= t_warm)
			rss_warm = r;
		if (rss_warm >= 0 && r > rss_max)
			rss_max = r;
		if (opt.verbose)
			printf("soak: t=%llds rss=%ldKiB\n", (now_ms() - t0) / 1000, r);
	}
	rss_end = rss_kib();
	t_end = now_ms();

	/* Drain: every broadcast acknowledged, every lagger reading again,
	 * every stream complete. */
	for (i = 0; i < opt.laggers; i++) {
		laggers[i]->paused = 0;
		laggers[i]->until_ms = t_end + 3600000;
		if (laggers[i]->fd != -1)
			set_events(laggers[i]);
	}
	for (i = 0; i < opt.churners; i++)
		churners[i]->until_ms = t_end + 3600000;
	deadline = now_ms() + 30000;
	for (;;) {
		int done = 1;

		run_loop(now_ms() + 50, 0);
		for (i = 0; i < opt.writers; i++)
			if (writers[i]->acked < writers[i]->sent)
				done = 0;
		if (done && all_complete())
			break;
		if (now_ms() > deadline) {
			fail("streams not complete 30 s after the load stopped");
			break;
		}
	}
	/* A resync is queued once a lagger drains: give the last ones time. */
	run_loop(now_ms() + 500, 0);

	for (i = 0; i < opt.writers; i++) {
		sent += writers[i]->sent;
		acked += writers[i]->acked;
	}
	for (i = 0; i < opt.stable; i++)
		pushes += stable[i]->received;
	for (i = 0; i < opt.churners; i++)
		pushes += churners[i]->received;
	for (i = 0; i < opt.laggers; i++) {
		c = laggers[i];
		c->missed += tail_missed(c);
		if (c->received + c->announced != lagger_expected(c))
			fail("lagger %d: %llu meant for it, %llu received, %llu "
			    "announced", i, lagger_expected(c), c->received,
			    c->announced);
		pushes += c->received;
		lag_received += c->received;
		missed += c->missed;
		announced += c->announced;
		lag_resyncs += c->resyncs;
		if (c->missed != c->announced)
			fail("lagger %d: %llu pushes missing, %llu announced by "
			    "%llu resyncs", i, c->missed, c->announced,
			    c->resyncs);
	}
	if (acked != sent)
		fail("%llu broadcasts sent, %llu acknowledged", sent, acked);
	if (lag_resyncs == 0 && opt.laggers > 0)
		fail("laggers never lagged: the test did not test resync");
	d_dropped = (unsigned long long)daemon_stat("dropped");
	d_resyncs = (unsigned long long)daemon_stat("resyncs");
	d_delivered = (unsigned long long)daemon_stat("delivered");
	/* Pushes dropped to a churner that hung up with a large reply unread
	 * (clients) can never be announced: only the laggers' are checked
	 * exactly, above. */
	if (d_dropped < announced)
		fail("daemon dropped %llu pushes, laggers were told of %llu",
		    d_dropped, announced);

	/* Everyone leaves; the daemon must get back to its baseline. */
	for (i = 0; i < opt.stable; i++)
		if (stable[i]->fd != -1)
			conn_drop(stable[i]);
	for (i = 0; i < opt.churners; i++)
		if (churners[i]->fd != -1)
			conn_drop(churners[i]);
	for (i = 0; i < opt.laggers; i++)
		if (laggers[i]->fd != -1)
			conn_drop(laggers[i]);
	for (i = 0; i < opt.writers; i++)
		if (writers[i]->fd != -1)
			conn_drop(writers[i]);
	deadline = now_ms() + 10000;
	while (now_ms() < deadline) {
		if (daemon_stat("connections") == 1 &&
		    (fd_final = fd_count()) == fd_base)
			break;
		usleep(20000);
	}
	if (fd_final != fd_base)
		fail("daemon fds: %d at baseline, %d after every client left",
		    fd_base, fd_final);
	if (daemon_stat("subscriptions") != 0)
		fail("subscriptions left after every client left");
	rss_idle = rss_kib();
	/* Flat: after warm-up RSS may move by allocator noise, not grow with
	 * the number of broadcasts or connections churned. */
	if (rss_warm > 0 && rss_max > rss_warm + rss_warm / 5 + 4096 &&
	    !binary_has_asan(opt.daemon))
		fail("daemon RSS grew after warm-up: %ld KiB -> %ld KiB",
		    rss_warm, rss_max);

	printf("soak: broadcasts=%llu acked=%llu rate_measured=%.0f/s\n", sent,
	    acked, (double)sent * 1000.0 / (double)(t_end - t0));
	printf("soak: pushes_received=%llu daemon_delivered=%llu "
	    "daemon_dropped=%llu daemon_resyncs=%llu\n", pushes, d_delivered,
	    d_dropped, d_resyncs);
	printf("soak: lagger_received=%llu lagger_missed=%llu "
	    "lagger_announced=%llu lagger_resyncs=%llu "
	    "dropped_to_departed=%llu\n", lag_received, missed, announced,
	    lag_resyncs, d_dropped - announced);
	printf("soak: churn_reconnects=%llu midline_hangups=%llu "
	    "unread_hangups=%llu total_connects=%llu backlog_retries=%llu\n",
	    churn_connects, churn_midline, churn_unread, total_connects,
	    connect_retries);
	printf("soak: writer_max_unacked=%llu\n", max_pending);
	printf("soak: rss_kib start=%ld warm=%ld max_after_warm=%ld "
	    "end_of_load=%ld idle=%ld\n", rss_start, rss_warm, rss_max, rss_end,
	    rss_idle);
	printf("soak: fds baseline=%d loaded=%d final=%d\n", fd_base, fd_peak,
	    fd_final);

	conn_drop(monitor);
	kill(daemon_pid, SIGTERM);
	deadline = now_ms() + 5000;
	while (waitpid(daemon_pid, &st, WNOHANG) == 0) {
		if (now_ms() > deadline) {
			kill(daemon_pid, SIGKILL);
			waitpid(daemon_pid, &st, 0);
			fail("daemon did not stop on SIGTERM");
			break;
		}
		usleep(10000);
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail("daemon exit status %d", st);
	if (failures == 0) {
		char log[128];

		snprintf(log, sizeof log, "%s/daemon.log", tmpdir);
		unlink(log);
		rmdir(tmpdir);
	} else
		fprintf(stderr, "soak: daemon log kept in %s\n", tmpdir);
	printf("soak: %s (%llu failed checks)\n", failures ? "FAIL" : "PASS",
	    failures);
	return failures ? 1 : 0;
}
