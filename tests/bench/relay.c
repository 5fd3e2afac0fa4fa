/* SPDX-License-Identifier: MIT — crmpubsub */
/* The floor reference of the benchmark: a hand-written relay that speaks just
 * enough of crmpubsubd's protocol (subscribe, broadcast_to_contacts and
 * broadcast_interaction, in the layout loadgen --target crm sends) to pass
 * every check of loadgen, with no JSON library and no features: no limits,
 * no slow-consumer rules, no stats. It shows what relaying costs on this
 * machine. To be a fair floor it batches as crmpubsubd does: each read lands
 * in one 256 KiB buffer, every ready connection is handled first, and only
 * then is each connection that got output written, with one send() per loop
 * turn (a dirty list). Any request it does not recognise closes the
 * connection. */
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define UUID_LEN	36
#define READ_MAX	(256 * 1024)
#define MAX_LINE	65536
#define MAX_LIST	10000		/* topics or contacts in one request */
#define KEEP_OUT_MIN	(16 * 1024)	/* drained queues this size are kept */
#define KEEP_OUT_MAX	(1024 * 1024)
#define LIT(s)		s, sizeof(s) - 1
#define PUT(p, lit)	(memcpy((p), (lit), sizeof(lit) - 1), (p) += sizeof(lit) - 1)
#define SEARCH(p, end, lit) memmem((p), (size_t)((end) - (p)), LIT(lit))

enum { V_UUID, V_UUID_OR_NULL, V_TOPIC };	/* what uuid_value reads */

struct topic {
	char		  uuid[UUID_LEN];
	uint64_t	  hash, mark;	/* mark: the last request naming it */
	struct conn	**subs;
	uint32_t	  nsubs, cap;
};

struct conn {
	int		  fd;
	bool		  dirty, dead, pollout;
	struct conn	 *next_dirty;
	char		 *in;		/* the partial trailing line */
	size_t		  in_len, in_cap;
	char		 *out;		/* queued output, sent from out_off */
	size_t		  out_off, out_len, out_cap;
	struct topic	**topics;
	uint32_t	  ntopics, tcap;
};

static char		  rbuf[MAX_LINE + READ_MAX];
static const char	 *ulist[MAX_LIST];	/* UUIDs named by the request */
static const char	 *miss[MAX_LIST];	/* involved, but nobody follows */
static uint32_t		  nu;
static struct topic	**slot;		/* open addressing, linear probing */
static size_t		  mask, ntopic;
static uint64_t		  serial;	/* numbers requests, for topic marks */
static struct conn	 *dirty;
static int		  epfd;
static volatile sig_atomic_t stop;
static uint64_t		  burn_ns;	/* -d: CPU to spend per broadcast */

/* Out of memory ends the benchmark run: there is nothing to degrade to. */
static void *
xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n)) == NULL) {
		fprintf(stderr, "relay: out of memory\n");
		exit(1);
	}
	return p;
}

/* Zeroed memory that cannot fail, for the structures above. */
static void *
xzalloc(size_t n)
{
	return memset(xrealloc(NULL, n), 0, n);
}

/* Hashes the UUID text in five 8-byte loads. Products carry bits only
 * upwards, so the high half is folded back into the low bits that index the
 * table: loadgen's UUIDs differ only in their last digits. */
static uint64_t
uuid_hash(const char *u)
{
	uint64_t w[5], h = 0;

	memcpy(w, u, 32);
	memcpy(&w[4], u + 28, 8);
	for (int i = 0; i < 5; i++)
		h = (h ^ w[i]) * 0x9e3779b97f4a7c15ULL;
	h = (h ^ h >> 32) * 0xd6e8feb86659fd93ULL;
	return h ^ h >> 32;
}

/* The topic of UUID u (hash h), or NULL. */
static struct topic *
topic_find(const char *u, uint64_t h)
{
	struct topic *t;

	for (size_t i = h & mask; (t = slot[i]) != NULL; i = (i + 1) & mask)
		if (t->hash == h && memcmp(t->uuid, u, UUID_LEN) == 0)
			return t;
	return NULL;
}

/* Puts t in the first free slot from its home on; the table has room. */
static void
topic_place(struct topic *t)
{
	size_t i = t->hash & mask;

	while (slot[i] != NULL)
		i = (i + 1) & mask;
	slot[i] = t;
}

/* Finds or creates the topic of u; the table doubles at half load. */
static struct topic *
topic_get(const char *u)
{
	uint64_t h = uuid_hash(u);
	struct topic *t = topic_find(u, h), **old = slot;
	size_t n = mask + 1;

	if (t != NULL)
		return t;
	if (2 * (ntopic + 1) > n) {
		slot = xzalloc(2 * n * sizeof *slot);
		mask = 2 * n - 1;
		for (size_t i = 0; i < n; i++)
			if (old[i] != NULL)
				topic_place(old[i]);
		free(old);
	}
	t = xzalloc(sizeof *t);
	memcpy(t->uuid, u, UUID_LEN);
	t->hash = h;
	topic_place(t);
	ntopic++;
	return t;
}

/* Drops a topic nobody follows, shifting the rest of its probe run back so
 * that no tombstones are needed. */
static void
topic_delete(struct topic *t)
{
	size_t i = t->hash & mask, j, k;

	while (slot[i] != t)
		i = (i + 1) & mask;
	slot[i] = NULL;
	for (j = (i + 1) & mask; slot[j] != NULL; j = (j + 1) & mask) {
		k = slot[j]->hash & mask;
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;	/* still reachable from its home */
		slot[i] = slot[j];
		slot[j] = NULL;
		i = j;
	}
	ntopic--;
	free(t->subs);
	free(t);
}

/* Puts c on the list written after the batch. One waiting for EPOLLOUT is
 * left to that event (force), as crmpubsubd leaves it to its write event. */
static void
mark_dirty(struct conn *c, bool force)
{
	if (c->dirty || (c->pollout && !force))
		return;
	c->dirty = true;
	c->next_dirty = dirty;
	dirty = c;
}

/* Makes room for n more output bytes of c; returns where they go. */
static char *
out_reserve(struct conn *c, size_t n)
{
	if (c->out_len + n > c->out_cap && c->out_off > 0) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	if (c->out_len + n > c->out_cap) {
		c->out_cap = c->out_cap ? c->out_cap : 256;	/* as crmpubsubd */
		while (c->out_len + n > c->out_cap)
			c->out_cap *= 2;
		c->out = xrealloc(c->out, c->out_cap);
	}
	mark_dirty(c, false);
	return c->out + c->out_len;
}

/* Writes v in decimal at p, without printf; returns the end. */
static char *
put_u(char *p, uint64_t v)
{
	char tmp[20], *q = tmp + sizeof tmp;

	do
		*--q = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	memcpy(p, q, (size_t)(tmp + sizeof tmp - q));
	return p + (tmp + sizeof tmp - q);
}

/* Reads a quoted UUID (lowercase only, as loadgen sends), null if kind
 * allows it, or a quoted topic, into *u; returns the end, or NULL. */
static const char *
uuid_value(const char *p, const char *end, int kind, const char **u)
{
	size_t pre = kind == V_TOPIC ? 12 : 0, n = pre + UUID_LEN + 2 +
	    (kind == V_TOPIC ? 13 : 0);
	const char *v = p + 1 + pre;

	if (kind == V_UUID_OR_NULL && end - p >= 4 && memcmp(p, "null", 4) == 0) {
		*u = NULL;
		return p + 4;
	}
	if ((size_t)(end - p) < n || p[0] != '"' || p[n - 1] != '"' ||
	    (kind == V_TOPIC && (memcmp(p + 1, "crm:contact:", 12) != 0 ||
	    memcmp(v + UUID_LEN, ":interactions", 13) != 0)))
		return NULL;
	for (int i = 0; i < UUID_LEN; i++)
		if (i == 8 || i == 13 || i == 18 || i == 23 ? v[i] != '-' :
		    !((v[i] >= '0' && v[i] <= '9') || (v[i] >= 'a' && v[i] <= 'f')))
			return NULL;
	*u = v;
	return p + n;
}

/* Appends the array that follows key and ends the request ("]}") to ulist:
 * 0, or -1 if malformed. */
static int
uuid_array(const char *p, const char *end, const char *key, size_t klen,
    int kind)
{
	if ((p = memmem(p, (size_t)(end - p), key, klen)) == NULL)
		return -1;
	if ((p += klen) < end && *p != ']')
		for (;;) {
			if (nu == MAX_LIST ||
			    (p = uuid_value(p, end, kind, &ulist[nu++])) == NULL)
				return -1;
			if (p == end || *p != ',')
				break;
			p++;
		}
	return end - p == 2 && p[0] == ']' && p[1] == '}' ? 0 : -1;
}

/* The request's event if it is one of the three, else NULL. */
static const char *
find_event(const char *p, const char *end)
{
	const char *v = SEARCH(p, end, "\"event\":\"");

	if (v == NULL || end - (v += 9) < 20 || v[19] != '"' ||
	    memcmp(v, "interaction_", 12) != 0 ||
	    (memcmp(v + 12, "created", 7) != 0 &&
	    memcmp(v + 12, "updated", 7) != 0 && memcmp(v + 12, "deleted", 7) != 0))
		return NULL;
	return v;
}

/* Subscribes c to the topics in ulist, replying as crmpubsubd does: this
 * request's topics once each, then how many c now holds. */
static void
subscribe(struct conn *c)
{
	char *p = out_reserve(c, 128 + (size_t)nu * 64), *s = p;
	struct topic *t;
	uint32_t j;

	serial++;
	PUT(p, "{\"ok\":true,\"op\":\"subscribe\",\"topics\":[");
	for (uint32_t i = 0; i < nu; i++) {
		if ((t = topic_get(ulist[i]))->mark == serial)
			continue;
		t->mark = serial;
		if (p[-1] != '[')
			*p++ = ',';
		PUT(p, "\"crm:contact:");
		memcpy(p, t->uuid, UUID_LEN);
		p += UUID_LEN;
		PUT(p, ":interactions\"");
		for (j = 0; j < t->nsubs && t->subs[j] != c; j++)
			;
		if (j < t->nsubs)
			continue;	/* already held */
		if (t->nsubs == t->cap)
			t->subs = xrealloc(t->subs, (t->cap = t->cap ? 2 * t->cap :
			    2) * sizeof *t->subs);
		t->subs[t->nsubs++] = c;
		if (c->ntopics == c->tcap)
			c->topics = xrealloc(c->topics, (c->tcap = c->tcap ?
			    2 * c->tcap : 4) * sizeof *c->topics);
		c->topics[c->ntopics++] = t;
	}
	PUT(p, "],\"subscribed\":");
	p = put_u(p, c->ntopics);
	PUT(p, "}\n");
	c->out_len += (size_t)(p - s);
}

/* -d: spends burn_ns of CPU, so the floor can be given any server's cost
 * per broadcast and compared with it at equal load. */
static void
burn(void)
{
	struct timespec a, b;

	if (burn_ns == 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &a);
	do
		clock_gettime(CLOCK_MONOTONIC, &b);
	while ((uint64_t)((b.tv_sec - a.tv_sec) * 1000000000LL +
	    (b.tv_nsec - a.tv_nsec)) < burn_ns);
}

/* Fans a broadcast out to the followers of the distinct contacts in ulist.
 * The push is built once; only its topic UUID is patched per contact. The
 * reply counts the distinct topics and the pushes queued. */
static void
broadcast(struct conn *w, const char *op, size_t oplen, const char *ev,
    const char *iu)
{
	static char push[256];
	char *p = push, *u, *s;
	size_t len, nmiss = 0, k;
	uint64_t topics = 0, delivered = 0;
	struct topic *t;

	serial++;
	burn();
	PUT(p, "{\"type\":\"crm\",\"event\":\"");
	memcpy(p, ev, 19);
	p += 19;
	PUT(p, "\",\"topic\":\"crm:contact:");
	u = p;
	p += UUID_LEN;
	PUT(p, ":interactions\",\"payload\":{\"interaction_uuid\":\"");
	memcpy(p, iu, UUID_LEN);
	p += UUID_LEN;
	PUT(p, "\"}}\n");
	len = (size_t)(p - push);
	for (uint32_t i = 0; i < nu; i++) {
		if (ulist[i] == NULL)
			continue;
		if ((t = topic_find(ulist[i], uuid_hash(ulist[i]))) == NULL) {
			for (k = 0; k < nmiss && memcmp(miss[k], ulist[i], UUID_LEN); k++)
				;
			if (k == nmiss) {
				miss[nmiss++] = ulist[i];
				topics++;
			}
			continue;
		}
		if (t->mark == serial)
			continue;
		t->mark = serial;
		topics++;
		memcpy(u, t->uuid, UUID_LEN);
		for (uint32_t j = 0; j < t->nsubs; j++) {
			memcpy(out_reserve(t->subs[j], len), push, len);
			t->subs[j]->out_len += len;
		}
		delivered += t->nsubs;
	}
	p = s = out_reserve(w, 128);
	PUT(p, "{\"ok\":true,\"op\":\"");
	memcpy(p, op, oplen);
	p += oplen;
	PUT(p, "\",\"topics\":");
	p = put_u(p, topics);
	PUT(p, ",\"delivered\":");
	p = put_u(p, delivered);
	PUT(p, "}\n");
	w->out_len += (size_t)(p - s);
}

/* Handles one request line, without its newline: 0, or -1 when the relay
 * does not know it. Everything is read and checked before anything acts. */
static int
request(struct conn *c, const char *l, size_t n)
{
	const char *end = l + n, *ev, *iu, *p, *q, *pa;

	nu = 0;
	if (n > 28 && memcmp(l, "{\"op\":\"subscribe\",\"topics\":[", 28) == 0) {
		if (uuid_array(l + 17, end, LIT(",\"topics\":["), V_TOPIC) == -1 ||
		    nu == 0)
			return -1;
		subscribe(c);
		return 0;
	}
	if (n < 29 || memcmp(l, "{\"op\":\"broadcast_", 17) != 0 ||
	    (ev = find_event(l, end)) == NULL)
		return -1;
	if (memcmp(l + 17, "to_contacts\"", 12) == 0) {
		if ((p = SEARCH(l, end, "\"interaction_uuid\":")) == NULL ||
		    uuid_value(p + 19, end, V_UUID, &iu) == NULL ||
		    uuid_array(l, end, LIT("\"contact_uuids\":["),
		    V_UUID_OR_NULL) == -1)
			return -1;
		broadcast(c, LIT("broadcast_to_contacts"), ev, iu);
		return 0;
	}
	/* broadcast_interaction: the subject contact_uuid, then the parties'. */
	if (memcmp(l + 17, "interaction\"", 12) != 0 || memcmp(end - 3, "]}}", 3))
		return -1;
	end -= 3;	/* where the parties end */
	if ((p = SEARCH(l, end, "\"interaction\":{\"uuid\":")) == NULL ||
	    (p = uuid_value(p + 22, end, V_UUID, &iu)) == NULL ||
	    (pa = SEARCH(p, end, "\"parties\":[")) == NULL)
		return -1;
	if ((q = SEARCH(p, pa, "\"contact_uuid\":")) != NULL &&
	    uuid_value(q + 15, pa, V_UUID_OR_NULL, &ulist[nu++]) == NULL)
		return -1;
	for (p = pa; (q = SEARCH(p, end, "\"contact_uuid\":")) != NULL; )
		if (nu == MAX_LIST ||
		    (p = uuid_value(q + 15, end, V_UUID_OR_NULL, &ulist[nu++])) == NULL)
			return -1;
	broadcast(c, LIT("broadcast_interaction"), ev, iu);
	return 0;
}

/* Marks c dead; it is freed after the batch, as events may still name it. */
static void
kill_conn(struct conn *c, const char *why, const char *l, size_t n)
{
	if (why != NULL)
		fprintf(stderr, "relay: fd %d: %s%s%.*s\n", c->fd, why,
		    n ? ": " : "", (int)(n > 120 ? 120 : n), l);
	c->dead = true;
	mark_dirty(c, true);
}

/* Reads once into the shared buffer, behind the carried partial line, then
 * handles every complete line and keeps only the new partial one. */
static void
conn_read(struct conn *c)
{
	char *p = rbuf, *end, *nl;
	ssize_t n;
	size_t len;

	if (c->in_len)
		memcpy(rbuf, c->in, c->in_len);
	if ((n = read(c->fd, rbuf + c->in_len, READ_MAX)) <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			kill_conn(c, n == 0 ? NULL : strerror(errno), "", 0);
		return;
	}
	end = rbuf + c->in_len + n;
	for (; (nl = memchr(p, '\n', (size_t)(end - p))) != NULL; p = nl + 1) {
		len = (size_t)(nl - p) - (nl > p && nl[-1] == '\r');
		if (len && request(c, p, len) == -1) {
			kill_conn(c, "unrecognised request", p, len);
			return;
		}
	}
	if ((len = (size_t)(end - p)) > MAX_LINE) {
		kill_conn(c, "line too long", "", 0);
		return;
	}
	if (len > c->in_cap)
		c->in = xrealloc(c->in, c->in_cap = len);
	if ((c->in_len = len) > 0)
		memcpy(c->in, p, len);
}

/* Frees c after taking it out of every topic it follows. */
static void
conn_free(struct conn *c)
{
	for (uint32_t i = 0; i < c->ntopics; i++) {
		struct topic *t = c->topics[i];
		uint32_t j = 0;

		while (t->subs[j] != c)
			j++;
		t->subs[j] = t->subs[--t->nsubs];
		if (t->nsubs == 0)
			topic_delete(t);
	}
	close(c->fd);
	free(c->topics);
	free(c->in);
	free(c->out);
	free(c);
}

/* After the batch: one send() to each connection on the dirty list. What the
 * socket does not take waits for EPOLLOUT; a drained small queue is freed. */
static void
flush(void)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct conn *c;
	ssize_t n;

	while ((c = dirty) != NULL) {
		dirty = c->next_dirty;
		c->dirty = false;
		if (!c->dead && c->out_off < c->out_len) {
			n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
			    MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n > 0)
				c->out_off += (size_t)n;
			else if (errno != EAGAIN && errno != EINTR)
				c->dead = true;
		}
		if (c->dead) {
			conn_free(c);
			continue;
		}
		if (c->out_off == c->out_len) {
			c->out_off = c->out_len = 0;
			if (c->out_cap < KEEP_OUT_MIN || c->out_cap > KEEP_OUT_MAX) {
				free(c->out);
				c->out = NULL;
				c->out_cap = 0;
			}
		}
		if (c->pollout != (c->out_len > 0)) {
			c->pollout = c->out_len > 0;
			ev.events = EPOLLIN | (c->pollout ? EPOLLOUT : 0);
			ev.data.ptr = c;
			epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
		}
	}
}

/* Takes every pending connection. */
static void
accept_all(int lfd)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int fd;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) != -1) {
		struct conn *c = xzalloc(sizeof *c);

		c->fd = fd;
		ev.data.ptr = c;
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == -1) {
			close(fd);
			free(c);
		}
	}
	if (errno != EAGAIN && errno != EINTR)
		fprintf(stderr, "relay: accept: %s\n", strerror(errno));
}

/* SIGTERM and SIGINT end the loop; they arrive only inside epoll_pwait. */
static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int
main(int argc, char **argv)
{
	struct sockaddr_un sa_un = { .sun_family = AF_UNIX };
	struct epoll_event ev = { .events = EPOLLIN }, evs[256];
	struct sigaction sa = { .sa_handler = on_signal };
	struct rlimit rl;
	sigset_t block, old;
	int lfd, n;

	if ((argc != 3 && argc != 5) || strcmp(argv[1], "-s") != 0 ||
	    strlen(argv[2]) >= sizeof sa_un.sun_path ||
	    (argc == 5 && strcmp(argv[3], "-d") != 0)) {
		fprintf(stderr, "usage: relay -s SOCKET_PATH [-d NS]\n"
		    "  -d NS  spend NS nanoseconds of CPU on every broadcast\n");
		return 2;
	}
	strcpy(sa_un.sun_path, argv[2]);
	if (argc == 5)
		burn_ns = strtoull(argv[4], NULL, 10);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;	/* S subscribers need S fds */
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &old);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	mask = 1023;
	slot = xzalloc((mask + 1) * sizeof *slot);

	unlink(sa_un.sun_path);
	if ((lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1 || bind(lfd, (struct sockaddr *)&sa_un, sizeof sa_un) == -1 ||
	    listen(lfd, 4096) == -1 || (epfd = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev) == -1) {
		fprintf(stderr, "relay: %s: %s\n", sa_un.sun_path, strerror(errno));
		return 1;
	}
	while (!stop) {
		n = epoll_pwait(epfd, evs, 256, -1, &old);
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (c == NULL) {
				accept_all(lfd);
				continue;
			}
			if (!c->dead && (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
				conn_read(c);
			if (!c->dead && (evs[i].events & EPOLLOUT))
				mark_dirty(c, true);
		}
		flush();
	}
	unlink(sa_un.sun_path);
	return 0;
}
