/* SPDX-License-Identifier: MIT — crmpubsub */
/* Load generator for crmpubsubd and Redis pub/sub: one epoll thread driving S subscribers and W pipelining writers, checking every push and timing it. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "loadgen.h"

#define READ_CHUNK	(256 * 1024)
#define MAX_EVENTS	1024
#define DRAIN_LIMIT_NS	(15ULL * 1000000000ULL)
#define SETUP_LIMIT_NS	(60ULL * 1000000000ULL)
#define OPEN_TICK_NS	100000		/* open loop: 100 µs send ticks */

struct lg_config lg_cfg = {
	.target = LG_CRM, .subscribers = 1000, .writers = 4, .contacts = 3,
	.window = 64, .warmup_s = 1, .duration_s = 3, .extra_frac = 0.1,
	.extra_k = 4, .label = "-", .turn_ms = 100,
};
struct lg_counters lg_ctr;
char		*lg_contact_uuid;
uint32_t	*lg_topic_subs;
bool		 lg_measuring;

static struct lg_conn *subs, *writers;
static uint64_t *last_seq_pool;
static int	 epfd;
static uint64_t	 t0;		/* CLOCK_MONOTONIC at start: stamps are relative */
static char	*rbuf;
static size_t	 rbuf_cap;
static uint32_t	 subs_ready;
static unsigned	 error_lines;
static uint32_t	 dead_conns;

/* Nanoseconds since the generator started. */
static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec - t0;
}

static void
die(const char *what)
{
	perror(what);
	exit(2);
}

/* splitmix64: the generator's only source of randomness. */
static uint64_t
mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* Whether subscriber s is one of the extra_frac that follow K more contacts. */
static bool
follows_extra(uint32_t s)
{
	return (double)(mix64(s ^ 0x5eed0000ULL) >> 11) * 0x1.0p-53 < lg_cfg.extra_frac;
}

uint32_t
lg_followed(uint32_t s, uint32_t out[LG_MAX_CONTACTS])
{
	uint32_t n = 0, k = lg_cfg.extra_k, S = lg_cfg.subscribers;

	out[n++] = s;
	if (follows_extra(s))
		for (uint32_t m = 1; m <= k && m < S; m++)
			out[n++] = (s + m) % S;
	return n;
}

bool
lg_follows(uint32_t s, uint32_t c)
{
	uint32_t S = lg_cfg.subscribers, d;

	if (c == s)
		return true;
	if (c >= S || !follows_extra(s))
		return false;
	d = (c + S - s) % S;
	return d >= 1 && d <= lg_cfg.extra_k;
}

uint32_t
lg_pick_contacts(uint32_t w, uint64_t seq, uint32_t out[LG_MAX_CONTACTS])
{
	uint32_t n = lg_cfg.contacts, S = lg_cfg.subscribers, got = 0;
	uint64_t r = ((uint64_t)w << 48) ^ seq;

	if (n > S)
		n = S;
	while (got < n) {
		uint32_t c;
		bool dup = false;
		r = mix64(r);
		c = (uint32_t)((r >> 32) * S >> 32);
		for (uint32_t i = 0; i < got; i++)
			dup |= out[i] == c;
		if (!dup)
			out[got++] = c;
	}
	return n;
}

/* wwwwwwww-ssss-ssss-ssss-tttttttttttt: writer, sequence, send stamp (ns). */
void
lg_interaction_uuid(char out[LG_UUID_LEN], uint32_t w, uint64_t seq,
    uint64_t stamp_ns)
{
	hex_put(out, w, 8);
	out[8] = '-';
	hex_put(out + 9, seq >> 32, 4);
	out[13] = '-';
	hex_put(out + 14, seq >> 16, 4);
	out[18] = '-';
	hex_put(out + 19, seq, 4);
	out[23] = '-';
	hex_put(out + 24, stamp_ns, 12);
}

void
lg_on_error_text(const char *what, const char *p, size_t n)
{
	if (error_lines++ < 5)
		fprintf(stderr, "loadgen: %s: %.*s\n", what, (int)(n > 200 ? 200 : n), p);
}

void
lg_on_push(struct lg_conn *sub, uint32_t contact, const char *iu, uint64_t now)
{
	uint64_t w, s1, s2, s3, stamp, seq;
	uint32_t named[LG_MAX_CONTACTS], n;
	bool in = false;

	lg_ctr.received++;
	if (hex_get(iu, 8, &w) < 0 || hex_get(iu + 9, 4, &s1) < 0 ||
	    hex_get(iu + 14, 4, &s2) < 0 || hex_get(iu + 19, 4, &s3) < 0 ||
	    hex_get(iu + 24, 12, &stamp) < 0 || w >= lg_cfg.writers) {
		lg_on_error_text("push with a foreign interaction uuid", iu, LG_UUID_LEN);
		lg_ctr.garbage++;
		return;
	}
	seq = s1 << 32 | s2 << 16 | s3;
	if (!lg_follows(sub->idx, contact))
		lg_ctr.misrouted++;
	n = lg_pick_contacts((uint32_t)w, seq, named);
	for (uint32_t i = 0; i < n; i++)
		in |= named[i] == contact;
	if (!in)
		lg_ctr.foreign++;
	if (seq < sub->last_seq[w])
		lg_ctr.disorder++;
	else
		sub->last_seq[w] = seq;
	if (lg_measuring) {
		lg_ctr.m_received++;
		hist_add(now > stamp ? now - stamp : 0);
	}
}

void
lg_on_resync(struct lg_conn *sub, uint64_t dropped)
{
	(void)sub;
	lg_ctr.resyncs++;
	lg_ctr.dropped += dropped;
}

void
lg_on_subscribed(struct lg_conn *sub)
{
	if (!sub->ready) {
		sub->ready = true;
		subs_ready++;
	}
}

void
lg_on_reply(struct lg_conn *w, bool ok, uint64_t delivered)
{
	struct lg_pending *p;

	if (!ok)
		lg_ctr.errors++;
	if (w->inflight == 0) {
		lg_on_error_text("reply without a request", "", 0);
		lg_ctr.garbage++;
		return;
	}
	p = &w->ring[w->head];
	p->got += (uint32_t)delivered;
	if (p->replies_left > 1) {
		p->replies_left--;
		return;
	}
	lg_ctr.reported += p->got;
	lg_ctr.answered++;
	if (lg_measuring)
		lg_ctr.m_answered++;
	w->head = (w->head + 1) % lg_cfg.window;
	w->inflight--;
}

/* Makes room for n more bytes of output and returns where they go. */
char *
lg_reserve(struct lg_conn *c, size_t n)
{
	if (c->out_off && c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (c->out_len + n > c->out_cap) {
		if (c->out_off) {
			memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
			c->out_len -= c->out_off;
			c->out_off = 0;
		}
		if (c->out_len + n > c->out_cap) {
			size_t cap = c->out_cap ? c->out_cap : 4096;
			while (cap < c->out_len + n)
				cap *= 2;
			if (!(c->out = realloc(c->out, cap)))
				die("realloc");
			c->out_cap = cap;
		}
	}
	return c->out + c->out_len;
}

/* Registers interest in writability exactly when output is pending. */
static void
set_pollout(struct lg_conn *c, bool on)
{
	struct epoll_event ev = {
		.events = EPOLLIN | EPOLLET | (on ? EPOLLOUT : 0), .data.ptr = c
	};

	if (c->pollout == on)
		return;
	c->pollout = on;
	if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
		die("epoll_ctl");
}

static void
conn_dead(struct lg_conn *c, const char *why)
{
	if (c->dead)
		return;
	c->dead = true;
	dead_conns++;
	if (dead_conns <= 5)
		fprintf(stderr, "loadgen: %s %u lost: %s\n",
		    c->role == LG_SUB ? "subscriber" : "writer", c->idx, why);
	epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
}

/* Writes as much queued output as the socket takes. */
void
lg_flush(struct lg_conn *c)
{
	while (!c->dead && c->out_off < c->out_len) {
		ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
		if (n > 0) {
			c->out_off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			set_pollout(c, true);
			return;
		}
		conn_dead(c, n < 0 ? strerror(errno) : "write returned 0");
		return;
	}
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (!c->dead && c->pollout)
		set_pollout(c, false);
}

static void
wire_subscribe(struct lg_conn *c)
{
	if (lg_cfg.target == LG_CRM)
		crm_subscribe(c);
	else
		redis_subscribe(c);
}

static size_t
wire_parse(struct lg_conn *c, const char *buf, size_t len, uint64_t now)
{
	return lg_cfg.target == LG_CRM ? crm_parse(c, buf, len, now) :
	    redis_parse(c, buf, len, now);
}

/* Sends writer w's next broadcast and records what it should cause. */
static void
send_broadcast(struct lg_conn *w, uint64_t stamp)
{
	uint32_t named[LG_MAX_CONTACTS], n;
	struct lg_pending *p;
	uint64_t seq = ++w->seq;
	uint32_t expected = 0;

	n = lg_pick_contacts(w->idx, seq, named);
	for (uint32_t i = 0; i < n; i++)
		expected += lg_topic_subs[named[i]];
	p = &w->ring[(w->head + w->inflight) % lg_cfg.window];
	p->expected = expected;
	p->got = 0;
	p->replies_left = lg_cfg.target == LG_REDIS ? n : 1;
	w->inflight++;
	lg_ctr.sent++;
	lg_ctr.expected += expected;
	if (lg_cfg.target == LG_CRM)
		crm_broadcast(w, seq, stamp, named, n);
	else
		redis_broadcast(w, seq, stamp, named, n);
}

/* Closed loop: tops the writer's window up and writes it in one go. */
static void
refill(struct lg_conn *w)
{
	uint64_t stamp;

	if (w->dead || w->inflight >= lg_cfg.window)
		return;
	stamp = now_ns();
	while (w->inflight < lg_cfg.window)
		send_broadcast(w, stamp);
	lg_flush(w);
}

/* Reads and parses what is complete. Descriptors are edge-triggered: a
 * short read means the socket was drained (new data raises a new edge), so
 * only a full buffer costs a second read, and epoll does not re-poll idle
 * sockets on every wait. */
static void
conn_read(struct lg_conn *c)
{
	ssize_t n;
	size_t have, used;
	uint64_t now;

	do {
		if (rbuf_cap < c->carry_len + READ_CHUNK) {
			rbuf_cap = c->carry_len + READ_CHUNK;
			if (!(rbuf = realloc(rbuf, rbuf_cap)))
				die("realloc");
		}
		if (c->carry_len)
			memcpy(rbuf, c->carry, c->carry_len);
		do
			n = read(c->fd, rbuf + c->carry_len, READ_CHUNK);
		while (n < 0 && errno == EINTR);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			conn_dead(c, n < 0 ? strerror(errno) : "server closed the connection");
			return;
		}
		now = now_ns();
		have = c->carry_len + (size_t)n;
		used = wire_parse(c, rbuf, have, now);
		c->carry_len = have - used;
		if (c->carry_len) {
			if (c->carry_cap < c->carry_len) {
				c->carry_cap = c->carry_len < 512 ? 512 : c->carry_len;
				if (!(c->carry = realloc(c->carry, c->carry_cap)))
					die("realloc");
			}
			memcpy(c->carry, rbuf + used, c->carry_len);
		}
	} while ((size_t)n == READ_CHUNK && !c->dead);
}

/* Connects to the server socket (blocking, so a full backlog waits for
 * accept) and switches the descriptor to non-blocking. */
static int
connect_server(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, r;

	if (strlen(lg_cfg.socket) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "loadgen: socket path too long\n");
		exit(2);
	}
	strcpy(sa.sun_path, lg_cfg.socket);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		die("socket");
	do
		r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	while (r < 0 && errno == EINTR);
	if (r < 0)
		die("connect");
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
		die("fcntl");
	return fd;
}

static void
conn_open(struct lg_conn *c, enum lg_role role, uint32_t idx)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.ptr = c };

	c->fd = connect_server();
	c->role = (uint8_t)role;
	c->idx = idx;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0)
		die("epoll_ctl");
}

/* Waits for events until deadline (ns since start); the timer fd, when
 * given, drives open-loop sending. Returns the number of events handled. */
static int
poll_once(int timeout_ms, int tfd, void (*on_tick)(void))
{
	struct epoll_event ev[MAX_EVENTS];
	int n = epoll_wait(epfd, ev, MAX_EVENTS, timeout_ms);

	if (n < 0 && errno != EINTR)
		die("epoll_wait");
	for (int i = 0; i < n; i++) {
		struct lg_conn *c = ev[i].data.ptr;
		if (!c) {
			uint64_t ticks;
			if (read(tfd, &ticks, sizeof(ticks)) > 0 && on_tick)
				on_tick();
			continue;
		}
		if (c->dead)
			continue;
		if (ev[i].events & EPOLLOUT)
			lg_flush(c);
		if (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			conn_read(c);
	}
	return n < 0 ? 0 : n;
}

static bool	sending;
static uint64_t	open_start, open_issued;
static int	tick_fd = -1;	/* open loop: the send ticks */

/* Open loop: issues the broadcasts that are due by now, round robin. */
static void
open_tick(void)
{
	uint64_t now = now_ns(), due;
	static uint32_t rr;

	if (!sending)
		return;
	due = (uint64_t)((double)(now - open_start) * lg_cfg.rate / 1e9);
	while (open_issued < due) {
		struct lg_conn *w = &writers[rr];
		rr = (rr + 1) % lg_cfg.writers;
		open_issued++;
		if (w->dead)
			continue;
		if (w->inflight >= lg_cfg.window) {
			lg_ctr.late++;
			continue;
		}
		send_broadcast(w, now);
	}
	for (uint32_t i = 0; i < lg_cfg.writers; i++)
		if (writers[i].out_off < writers[i].out_len && !writers[i].pollout)
			lg_flush(&writers[i]);
}

static bool
writers_idle(void)
{
	for (uint32_t i = 0; i < lg_cfg.writers; i++)
		if (!writers[i].dead && writers[i].inflight)
			return false;
	return true;
}

static void
raise_fd_limit(void)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)lg_cfg.subscribers + lg_cfg.writers + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur >= want)
		return;
	if (rl.rlim_max < want) {
		rl.rlim_max = want;	/* works as root */
	}
	rl.rlim_cur = want;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
		fprintf(stderr, "loadgen: cannot raise the descriptor limit to %llu\n",
		    (unsigned long long)want);
		exit(2);
	}
}

/* The target as the RESULT line names it. */
static const char *
target_name(void)
{
	if (lg_cfg.as)
		return lg_cfg.as;
	return lg_cfg.target == LG_CRM ? "crm" : "redis";
}

static void
usage(int code)
{
	fprintf(code ? stderr : stdout,
"usage: loadgen --target crm|redis --socket PATH [options]\n"
"  -S, --subscribers N   subscriber connections, one contact each (1000)\n"
"  -W, --writers N       writer connections (4)\n"
"  -C, --contacts N      contacts named per broadcast (3)\n"
"  -w, --window N        unanswered broadcasts per writer (64)\n"
"  -r, --rate R          open loop at R broadcasts/s (0 = closed loop)\n"
"  --warmup S, --duration S   seconds (1, 3)\n"
"  --extra-frac F, --extra-k K  fraction of subscribers following K more (0.1, 4)\n"
"  --op mix|to_contacts|interaction   crmpubsubd broadcast op (mix)\n"
"  --server-pid PID      measure this process's CPU and RSS\n"
"  --idle                memory mode: subscribe, settle, report RSS, exit\n"
"  --label TEXT          copied into the RESULT line\n"
"  --as NAME             name the target NAME in the RESULT line (another\n"
"                        server speaking the same protocol)\n"
"  --turns IN:OUT        side by side with another generator: send only while\n"
"                        holding the turn, which arrives on FIFO IN and is\n"
"                        passed on through FIFO OUT; warm-up and duration\n"
"                        count this generator's own turns\n"
"  --turn-ms MS          length of a turn before it is passed on (100)\n"
"  --starter             hand the first turn on once set up (one generator)\n"
"  --spin                open loop: poll without sleeping and send each\n"
"                        broadcast when due, not in 100 µs ticks; gen_cpu\n"
"                        then leaves out the passes that found nothing\n");
	exit(code);
}

static void
parse_args(int argc, char **argv)
{
	enum { O_WARMUP = 256, O_DURATION, O_EFRAC, O_EK, O_OP, O_PID, O_IDLE,
	    O_TARGET, O_LABEL, O_TURNS, O_TURN_MS, O_STARTER, O_AS, O_SPIN };
	static const struct option opts[] = {
		{ "target", 1, NULL, O_TARGET }, { "socket", 1, NULL, 's' },
		{ "subscribers", 1, NULL, 'S' }, { "writers", 1, NULL, 'W' },
		{ "contacts", 1, NULL, 'C' }, { "window", 1, NULL, 'w' },
		{ "rate", 1, NULL, 'r' }, { "warmup", 1, NULL, O_WARMUP },
		{ "duration", 1, NULL, O_DURATION }, { "extra-frac", 1, NULL, O_EFRAC },
		{ "extra-k", 1, NULL, O_EK }, { "op", 1, NULL, O_OP },
		{ "server-pid", 1, NULL, O_PID }, { "idle", 0, NULL, O_IDLE },
		{ "label", 1, NULL, O_LABEL }, { "help", 0, NULL, 'h' },
		{ "turns", 1, NULL, O_TURNS }, { "turn-ms", 1, NULL, O_TURN_MS },
		{ "starter", 0, NULL, O_STARTER }, { "as", 1, NULL, O_AS },
		{ "spin", 0, NULL, O_SPIN },
		{ NULL, 0, NULL, 0 }
	};
	int o;

	while ((o = getopt_long(argc, argv, "s:S:W:C:w:r:h", opts, NULL)) != -1) {
		switch (o) {
		case O_TARGET:
			if (strcmp(optarg, "crm") == 0)
				lg_cfg.target = LG_CRM;
			else if (strcmp(optarg, "redis") == 0)
				lg_cfg.target = LG_REDIS;
			else
				usage(2);
			break;
		case 's': lg_cfg.socket = optarg; break;
		case 'S': lg_cfg.subscribers = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'W': lg_cfg.writers = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'C': lg_cfg.contacts = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'w': lg_cfg.window = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'r': lg_cfg.rate = strtod(optarg, NULL); break;
		case O_WARMUP: lg_cfg.warmup_s = strtod(optarg, NULL); break;
		case O_DURATION: lg_cfg.duration_s = strtod(optarg, NULL); break;
		case O_EFRAC: lg_cfg.extra_frac = strtod(optarg, NULL); break;
		case O_EK: lg_cfg.extra_k = (uint32_t)strtoul(optarg, NULL, 10); break;
		case O_OP:
			if (strcmp(optarg, "mix") == 0)
				lg_cfg.op_mode = 0;
			else if (strcmp(optarg, "to_contacts") == 0)
				lg_cfg.op_mode = 1;
			else if (strcmp(optarg, "interaction") == 0)
				lg_cfg.op_mode = 2;
			else
				usage(2);
			break;
		case O_PID: lg_cfg.server_pid = atoi(optarg); break;
		case O_IDLE: lg_cfg.idle = true; break;
		case O_LABEL: lg_cfg.label = optarg; break;
		case O_TURNS: {
			char *colon = strchr(optarg, ':');
			if (!colon || colon == optarg || !colon[1])
				usage(2);
			*colon = '\0';
			lg_cfg.turn_in = optarg;
			lg_cfg.turn_out = colon + 1;
			break;
		}
		case O_TURN_MS: lg_cfg.turn_ms = strtod(optarg, NULL); break;
		case O_STARTER: lg_cfg.turn_starter = true; break;
		case O_AS: lg_cfg.as = optarg; break;
		case O_SPIN: lg_cfg.spin = true; break;
		case 'h': usage(0); break;
		default: usage(2);
		}
	}
	if (!lg_cfg.socket || optind != argc)
		usage(2);
	if (lg_cfg.contacts > LG_MAX_CONTACTS || lg_cfg.extra_k + 1 > LG_MAX_CONTACTS) {
		fprintf(stderr, "loadgen: at most %d contacts per broadcast or subscriber\n",
		    LG_MAX_CONTACTS);
		exit(2);
	}
	if (lg_cfg.window == 0)
		lg_cfg.window = 1;
	if (lg_cfg.turn_ms < 1) {
		fprintf(stderr, "loadgen: a turn lasts 1 ms at least\n");
		exit(2);
	}
	if (!lg_cfg.idle && (lg_cfg.subscribers == 0 || lg_cfg.writers == 0)) {
		fprintf(stderr, "loadgen: a load run needs subscribers and writers\n");
		exit(2);
	}
}

/* Contact UUIDs and, per contact, how many subscribers follow its topic. */
static void
build_workload(void)
{
	uint32_t S = lg_cfg.subscribers, f[LG_MAX_CONTACTS], n;

	lg_contact_uuid = malloc((size_t)(S ? S : 1) * (LG_UUID_LEN + 1));
	lg_topic_subs = calloc(S ? S : 1, sizeof(*lg_topic_subs));
	if (!lg_contact_uuid || !lg_topic_subs)
		die("malloc");
	for (uint32_t i = 0; i < S; i++) {
		char *u = lg_contact_uuid + (size_t)i * (LG_UUID_LEN + 1);
		memcpy(u, "0190a5b2-7c1e-7a01-8f00-", 24);
		hex_put(u + 24, i, 12);
		u[LG_UUID_LEN] = '\0';
		n = lg_followed(i, f);
		for (uint32_t j = 0; j < n; j++)
			lg_topic_subs[f[j]]++;
	}
}

/* Opens and subscribes every subscriber, then opens the writers. */
static void
setup_connections(void)
{
	uint32_t S = lg_cfg.subscribers, W = lg_cfg.writers;
	uint64_t deadline;

	subs = calloc(S ? S : 1, sizeof(*subs));
	writers = calloc(W ? W : 1, sizeof(*writers));
	last_seq_pool = calloc((size_t)(S ? S : 1) * (W ? W : 1), sizeof(uint64_t));
	if (!subs || !writers || !last_seq_pool)
		die("calloc");
	for (uint32_t i = 0; i < S; i++) {
		conn_open(&subs[i], LG_SUB, i);
		subs[i].last_seq = last_seq_pool + (size_t)i * W;
		wire_subscribe(&subs[i]);
		lg_flush(&subs[i]);
		/* Take replies as they come so no socket buffer fills up. */
		if ((i & 255) == 255)
			poll_once(0, -1, NULL);
	}
	deadline = now_ns() + SETUP_LIMIT_NS;
	while (subs_ready + dead_conns < S && now_ns() < deadline)
		poll_once(50, -1, NULL);
	if (subs_ready < S) {
		fprintf(stderr, "loadgen: only %u of %u subscribers subscribed\n",
		    subs_ready, S);
		exit(2);
	}
	for (uint32_t i = 0; i < W; i++) {
		conn_open(&writers[i], LG_WRITER, i);
		writers[i].ring = calloc(lg_cfg.window, sizeof(struct lg_pending));
		if (!writers[i].ring)
			die("calloc");
	}
}

/* Memory mode: RSS before any connection and after S settled subscribers. */
static int
run_idle(void)
{
	uint64_t rss0, rss1, until;
	int pid = lg_cfg.server_pid;

	rss0 = pid ? proc_rss_bytes(pid) : 0;
	setup_connections();
	/* Let the server finish housekeeping (Redis shrinks client buffers in
	 * its cron) before reading RSS. */
	until = now_ns() + 2000000000ULL;
	while (now_ns() < until)
		poll_once(100, -1, NULL);
	rss1 = pid ? proc_rss_bytes(pid) : 0;
	printf("RESULT label=%s target=%s mode=idle S=%u rss0_kb=%llu rss1_kb=%llu "
	    "per_conn_b=%.0f dead=%u check=%s\n", lg_cfg.label,
	    target_name(), lg_cfg.subscribers,
	    (unsigned long long)(rss0 / 1024), (unsigned long long)(rss1 / 1024),
	    lg_cfg.subscribers ? ((double)rss1 - (double)rss0) / lg_cfg.subscribers : 0.0,
	    dead_conns, dead_conns || lg_ctr.errors ? "FAIL" : "ok");
	return dead_conns ? 3 : 0;
}

/* The measured interval: where it starts, and the server's and the
 * generator's CPU and the server's RSS across it. */
struct lg_measure {
	bool		started;
	uint64_t	start, srv0, srv1, rss;
	uint64_t	spin_idle_ns;	/* --spin: passes that found nothing */
	double		gen0, gen1, secs;
};

static void
measure_start(struct lg_measure *m, uint64_t t)
{
	int pid = lg_cfg.server_pid;

	if (!m->started) {
		m->started = true;
		m->start = t;
		m->srv0 = pid ? proc_cpu_ticks(pid) : 0;
		m->gen0 = self_cpu_s();
	}
	lg_measuring = true;
}

/* Ends the interval; `measured_ns` is the time that counts in it. */
static void
measure_stop(struct lg_measure *m, uint64_t measured_ns)
{
	int pid = lg_cfg.server_pid;

	lg_measuring = false;
	m->secs = (double)measured_ns / 1e9;
	m->srv1 = pid ? proc_cpu_ticks(pid) : 0;
	m->rss = pid ? proc_rss_bytes(pid) : 0;
	m->gen1 = self_cpu_s();
}

/* Waits, until deadline, for every broadcast to be answered and every
 * expected push to be in (or announced as dropped by a resync). */
static void
drain(uint64_t deadline)
{
	while (now_ns() < deadline &&
	    !(writers_idle() && lg_ctr.received + lg_ctr.dropped >= lg_ctr.expected))
		poll_once(1, tick_fd, NULL);
}

/* Sends until `end`: closed loop keeps every window full, open loop
 * follows the rate from now on. Measuring starts at `measure_from` if that
 * comes first. */
static void
load_until(uint64_t end, uint64_t measure_from, struct lg_measure *m)
{
	bool open = lg_cfg.rate > 0;
	uint64_t t;

	sending = true;
	open_start = now_ns();
	open_issued = 0;
	while ((t = now_ns()) < end) {
		if (!lg_measuring && t >= measure_from)
			measure_start(m, t);
		if (!open)
			for (uint32_t i = 0; i < lg_cfg.writers; i++)
				refill(&writers[i]);
		if (lg_cfg.spin && open) {
			/* Never sleeps: sends are due by the clock, and the
			 * generator's own wake-ups stay out of the latency.
			 * Empty passes are idle time, not work. */
			uint64_t sent = lg_ctr.sent;
			if (poll_once(0, tick_fd, NULL) == 0 &&
			    (open_tick(), lg_ctr.sent == sent) && lg_measuring)
				m->spin_idle_ns += now_ns() - t;
		} else
			poll_once(1, tick_fd, open ? open_tick : NULL);
	}
	sending = false;
}

/* Alone: warm-up, then the measured interval, in one stretch. */
static void
run_alone(struct lg_measure *m)
{
	uint64_t warm_end = now_ns() + (uint64_t)(lg_cfg.warmup_s * 1e9);
	uint64_t end = warm_end + (uint64_t)(lg_cfg.duration_s * 1e9);

	load_until(end, warm_end, m);
	measure_stop(m, m->started ? end - m->start : 0);
}

/* Side by side: load only during this generator's turns. A turn ends by
 * draining, so the next generator starts on an idle machine; rates count
 * the drain in the turn's time, which by Little's law leaves a closed
 * loop's throughput unbiased. Warm-up and duration are counted in turns. */
static void
run_turns(struct lg_measure *m)
{
	uint64_t turn = (uint64_t)(lg_cfg.turn_ms * 1e6);
	uint64_t warm = (uint64_t)(lg_cfg.warmup_s * 1e9);
	uint64_t want = (uint64_t)(lg_cfg.duration_s * 1e9);
	uint64_t owned = 0, measured = 0, t;

	turns_open(lg_cfg.turn_in, lg_cfg.turn_out);
	if (lg_cfg.turn_starter)
		turns_pass(false);
	while (measured < want) {
		turns_wait();
		t = now_ns();
		load_until(t + turn, owned >= warm ? t : UINT64_MAX, m);
		drain(now_ns() + DRAIN_LIMIT_NS);
		owned += now_ns() - t;
		if (lg_measuring) {
			measured += now_ns() - t;
			lg_measuring = false;
		}
		turns_pass(measured >= want);
	}
	measure_stop(m, measured);
}

/* Load mode: warm up, measure, drain, verify, report. */
static int
run_load(void)
{
	struct lg_measure m = { 0 };
	uint64_t deadline;
	double secs, tick_s = (double)sysconf(_SC_CLK_TCK);
	bool open = lg_cfg.rate > 0, ok;
	int pid = lg_cfg.server_pid;
	const char *why = "ok";

	setup_connections();
	if (open) {
		struct itimerspec its = {
			.it_interval = { 0, OPEN_TICK_NS }, .it_value = { 0, OPEN_TICK_NS }
		};
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
		if ((tick_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) < 0 ||
		    timerfd_settime(tick_fd, 0, &its, NULL) < 0 ||
		    epoll_ctl(epfd, EPOLL_CTL_ADD, tick_fd, &ev) < 0)
			die("timerfd");
	}
	if (lg_cfg.turn_in)
		run_turns(&m);
	else
		run_alone(&m);

	secs = m.secs > 0 ? m.secs : 1e-9;
	drain(now_ns() + DRAIN_LIMIT_NS);
	/* A little longer, so late duplicates would be seen too. */
	deadline = now_ns() + 100000000ULL;
	while (now_ns() < deadline)
		poll_once(10, tick_fd, NULL);

	if (lg_ctr.errors || lg_ctr.garbage)
		why = "errors";
	else if (dead_conns)
		why = "lost_connection";
	else if (lg_ctr.misrouted || lg_ctr.foreign)
		why = "misrouted";
	else if (lg_ctr.disorder)
		why = "disorder";
	else if (!writers_idle())
		why = "unanswered";
	else if (lg_ctr.received + lg_ctr.dropped != lg_ctr.expected)
		why = "lost_or_extra";
	else if (lg_ctr.reported + lg_ctr.dropped != lg_ctr.expected)
		why = "reported_mismatch";
	ok = strcmp(why, "ok") == 0;
	if (!ok)
		fprintf(stderr, "loadgen: check failed (%s): sent=%llu answered=%llu "
		    "expected=%llu reported=%llu received=%llu dropped=%llu "
		    "misrouted=%llu foreign=%llu disorder=%llu errors=%llu garbage=%llu\n",
		    why, (unsigned long long)lg_ctr.sent,
		    (unsigned long long)lg_ctr.answered,
		    (unsigned long long)lg_ctr.expected,
		    (unsigned long long)lg_ctr.reported,
		    (unsigned long long)lg_ctr.received,
		    (unsigned long long)lg_ctr.dropped,
		    (unsigned long long)lg_ctr.misrouted,
		    (unsigned long long)lg_ctr.foreign,
		    (unsigned long long)lg_ctr.disorder,
		    (unsigned long long)lg_ctr.errors,
		    (unsigned long long)lg_ctr.garbage);
	printf("RESULT label=%s target=%s mode=%s S=%u W=%u C=%u window=%u rate=%.0f "
	    "turns=%d secs=%.3f bps=%.0f dps=%.0f p50_us=%.1f p99_us=%.1f p999_us=%.1f "
	    "samples=%llu srv_cpu=%.3f srv_rss_kb=%llu gen_cpu=%.3f late=%llu "
	    "resyncs=%llu dropped=%llu received=%llu expected=%llu check=%s\n",
	    lg_cfg.label, target_name(),
	    open ? "open" : "closed", lg_cfg.subscribers, lg_cfg.writers,
	    lg_cfg.contacts, lg_cfg.window, lg_cfg.rate, lg_cfg.turn_in != NULL,
	    secs, (double)lg_ctr.m_answered / secs, (double)lg_ctr.m_received / secs,
	    (double)hist_percentile(0.50) / 1e3, (double)hist_percentile(0.99) / 1e3,
	    (double)hist_percentile(0.999) / 1e3,
	    (unsigned long long)hist_count(),
	    pid ? (double)(m.srv1 - m.srv0) / tick_s / secs : 0.0,
	    (unsigned long long)(m.rss / 1024),
	    (m.gen1 - m.gen0 - (double)m.spin_idle_ns / 1e9) / secs,
	    (unsigned long long)lg_ctr.late, (unsigned long long)lg_ctr.resyncs,
	    (unsigned long long)lg_ctr.dropped, (unsigned long long)lg_ctr.received,
	    (unsigned long long)lg_ctr.expected, why);
	return ok ? 0 : 3;
}

int
main(int argc, char **argv)
{
	struct timespec ts;

	parse_args(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();
	clock_gettime(CLOCK_MONOTONIC, &ts);
	t0 = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		die("epoll_create1");
	build_workload();
	return lg_cfg.idle ? run_idle() : run_load();
}
