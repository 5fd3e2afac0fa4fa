/* SPDX-License-Identifier: MIT — crmpubsub */
/* Federation: daemons on several hosts share broadcasts through Redis
 * pub/sub.
 *
 * The link is two hiredis async connections on the daemon's own event base:
 * one in subscribe mode, one for PUBLISH and a health-check PING. Routing
 * follows interest: the channel of a topic (prefix + canonical topic name) is
 * subscribed while the topic has local subscribers. Each local broadcast is
 * published once per involved topic as "<origin> <event> <interaction-uuid>";
 * a message from another origin is fanned out locally only (never published
 * again) and a daemon's own echoes are ignored, so every subscriber anywhere
 * gets each push once.
 *
 * Link states: OFF (no redis option), DOWN (waiting to retry), CONNECTING,
 * UP (both connections answered their first command: AUTH when a password
 * is set, else PING). Any failure of either connection resets both. A reset abandons the
 * contexts at once (their late callbacks are ignored) and frees them on a
 * later loop turn, never inside their own callbacks. Retries back off from
 * 100 ms, doubling to 5 s, and start over once a link has held for 10 s. On every link-up the daemon re-subscribes all its
 * topics and, once Redis has confirmed the last of them, queues
 * {"type":"resync","reason":"federation","dropped":0} to every connection
 * holding a topic: remote updates may have been missed while the link was
 * down. Publishing never waits: with the link down, or too many PUBLISHes
 * unanswered, a publish is dropped and counted.
 */

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>

#include <event2/dns.h>
#include <event2/util.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>
#include <uuid/uuid.h>

#include "crmpubsubd.h"
#include "push.h"

#define FED_BACKOFF_MIN_MS	100
#define FED_BACKOFF_MAX_MS	5000
#define FED_TICK_MS		1000
#define FED_CONNECT_TIMEOUT_MS	5000
#define FED_PING_TIMEOUT_MS	5000
#define FED_STABLE_MS		10000	/* up this long: back-off starts over */
#define FED_MAX_INFLIGHT	65536	/* unanswered PUBLISHes */
#define FED_SUBSCRIBE_BATCH	512	/* channels per re-subscribe command */
#define FED_PREFIX_MAX		200
#define FED_CHANNEL_MAX		(FED_PREFIX_MAX + TOPIC_MAX_LEN)
#define FED_MESSAGE_MAX		128
#define FED_NREAP		8

enum fed_state { FED_OFF, FED_DOWN, FED_CONNECTING, FED_UP };

static const char *const fed_state_names[] = {
	[FED_OFF] = "off", [FED_DOWN] = "down",
	[FED_CONNECTING] = "down", [FED_UP] = "up",
};

/* A parsed `redis` address. */
struct fed_addr {
	char	*path;		/* Unix socket, or NULL for TCP */
	char	*host;		/* without IPv6 brackets */
	int	 port;
	char	*user;		/* from redis://user:pass@…, or NULL */
	char	*password;
};

static enum fed_state		 state = FED_OFF;
static struct fed_addr		 addr;
static char			 addr_text[300];	/* for logs: no password */
static char			 prefix[FED_PREFIX_MAX + 1];
static size_t			 prefix_len;
static char			 origin[UUID_TEXT_LEN + 1];

static redisAsyncContext	*sub_ac, *pub_ac;
static int			 sub_connected, pub_connected;
static redisAsyncContext	*reap[FED_NREAP];	/* abandoned, to free */
static size_t			 nreap;
static struct event		*reap_ev, *retry_ev, *tick_ev;
static struct evdns_base	*dns;
static struct evdns_getaddrinfo_request *resolving;

static unsigned			 backoff_ms = FED_BACKOFF_MIN_MS;
static uint64_t			 connect_started_ms;
static uint64_t			 up_since_ms;
static int			 ping_outstanding;
static uint64_t			 ping_sent_ms;
static unsigned long		 inflight;
static int			 ever_up;
static int			 outage_logged;
/* Channel whose subscribe confirmation ends a re-subscribe batch. */
static char			 marker[FED_CHANNEL_MAX + 1];
static int			 marker_set;

static struct {
	unsigned long long	published;	/* PUBLISH commands sent */
	unsigned long long	received;	/* messages from other daemons */
	unsigned long long	echoes;		/* own messages, ignored */
	unsigned long long	dropped;	/* publishes not made */
	unsigned long long	reconnects;	/* link-ups after the first */
	unsigned long long	resyncs;	/* federation resyncs queued */
	unsigned long long	malformed;	/* messages ignored as invalid */
} fed;

static void	fed_reset(const char *why);
static void	fed_connect_start(void);
static void	fed_link_up(void);

/* Milliseconds on the monotonic clock. */
static uint64_t
fed_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- addresses ------------------------------------------------------------ */

static void
fed_addr_free(struct fed_addr *a)
{
	free(a->path);
	free(a->host);
	free(a->user);
	free(a->password);
	memset(a, 0, sizeof *a);
}

/* Parses unix:///PATH or redis://[[USER]:PASSWORD@]HOST[:PORT][/DB];
 * 0, or -1 when s is not such an address. A user without a password
 * takes the password from redis_password. */
static int
fed_parse_address(const char *s, struct fed_addr *a)
{
	const char	*p, *at, *hs, *he, *end;
	char		*portend;
	long		 port = 6379;

	memset(a, 0, sizeof *a);
	if (strncmp(s, "unix://", 7) == 0) {
		p = s + 7;
		if (*p != '/' || strlen(p) >= sizeof ((struct sockaddr_un *)0)->sun_path)
			return -1;
		return (a->path = strdup(p)) != NULL ? 0 : -1;
	}
	if (strncmp(s, "redis://", 8) != 0)
		return -1;
	p = s + 8;
	end = p + strcspn(p, "/");
	if (*end == '/') {		/* "/" or "/DB": pub/sub ignores the db */
		if (end[1 + strspn(end + 1, "0123456789")] != '\0')
			return -1;
	}
	if ((at = memchr(p, '@', (size_t)(end - p))) != NULL) {
		const char *colon = memchr(p, ':', (size_t)(at - p));

		if (colon == NULL)	/* redis://USER@…: password elsewhere */
			colon = at;
		if (colon > p && (a->user = strndup(p, (size_t)(colon - p))) == NULL)
			goto fail;
		if (colon < at && (a->password = strndup(colon + 1,
		    (size_t)(at - colon - 1))) == NULL)
			goto fail;
		p = at + 1;
	}
	if (*p == '[') {
		hs = p + 1;
		if ((he = memchr(hs, ']', (size_t)(end - hs))) == NULL)
			goto fail;
		p = he + 1;
	} else {
		hs = p;
		he = p + strcspn(p, ":/");
		if (he > end)
			he = end;
		p = he;
	}
	if (he == hs)
		goto fail;
	if (p < end && *p == ':') {
		port = strtol(p + 1, &portend, 10);
		if (portend != end || portend == p + 1 || port < 1 ||
		    port > 65535)
			goto fail;
	} else if (p != end)
		goto fail;
	if ((a->host = strndup(hs, (size_t)(he - hs))) == NULL)
		goto fail;
	a->port = (int)port;
	return 0;
fail:
	fed_addr_free(a);
	return -1;
}

int
federate_check_address(const char *s)
{
	struct fed_addr	a;

	if (fed_parse_address(s, &a) == -1)
		return -1;
	fed_addr_free(&a);
	return 0;
}

/* ---- channels and messages ---------------------------------------------- */

/* Writes prefix + canonical topic name; returns its length. */
static size_t
fed_channel(const struct topic_key *k, char out[FED_CHANNEL_MAX + 1])
{
	char	name[TOPIC_MAX_LEN + 1];
	size_t	len = topic_format(k, name);

	memcpy(out, prefix, prefix_len);
	memcpy(out + prefix_len, name, len + 1);
	return prefix_len + len;
}

/* Handles one message from Redis: "<origin> <event> <interaction-uuid>". */
static void
fed_message(const char *chan, size_t chanlen, const char *msg, size_t len)
{
	struct topic_key	 k;
	enum crm_event		 e;
	uint8_t			 iu[16];
	const char		*ev, *sp;

	if (chanlen <= prefix_len || memcmp(chan, prefix, prefix_len) != 0 ||
	    topic_parse(chan + prefix_len, chanlen - prefix_len, &k) == -1)
		goto bad;
	if (len < 2 * UUID_TEXT_LEN + 3 || msg[UUID_TEXT_LEN] != ' ')
		goto bad;
	if (memcmp(msg, origin, UUID_TEXT_LEN) == 0) {
		fed.echoes++;
		return;
	}
	ev = msg + UUID_TEXT_LEN + 1;
	sp = msg + len - UUID_TEXT_LEN - 1;
	if (*sp != ' ' || event_parse(ev, (size_t)(sp - ev), &e) == -1 ||
	    uuid_canon_parse(sp + 1, UUID_TEXT_LEN, iu) == -1)
		goto bad;
	fed.received++;
	broadcast_deliver(e, &k, iu);
	return;
bad:
	fed.malformed++;
	log_debug("%s: ignoring a malformed message", __func__);
}

/* ---- resync --------------------------------------------------------------- */

/* Every connection holding a topic may have missed remote updates: one
 * resync each. A lagging connection already owes one and gets no second. */
static void
fed_resync_all(void)
{
	struct buf	 line = BUF_INIT;
	struct conn	*c;

	if (push_resync(&line, "federation", 0) == -1) {
		buf_free(&line);
		return;
	}
	TAILQ_FOREACH(c, &conns, entry) {
		if (c->nsubs == 0 || (c->flags & CONN_LAGGED))
			continue;
		if (conn_push(c, buf_head(&line), buf_len(&line))) {
			stats.resyncs++;
			fed.resyncs++;
		}
	}
	buf_free(&line);
}

/* ---- hiredis callbacks ---------------------------------------------------- */

/* Drops ac from the reap list: hiredis is freeing it itself. */
static void
fed_forget(const redisAsyncContext *ac)
{
	size_t	i;

	for (i = 0; i < nreap; i++) {
		if (reap[i] == ac) {
			reap[i] = reap[--nreap];
			return;
		}
	}
}

/* Replies and messages on the subscribe connection. */
static void
fed_sub_cb(redisAsyncContext *ac, void *r, void *priv)
{
	redisReply	*reply = r, **el;
	const char	*type;

	if (reply == NULL || ac != sub_ac || state != FED_UP)
		return;
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 3)
		return;
	el = reply->element;
	if (el[0]->type != REDIS_REPLY_STRING || el[1]->type !=
	    REDIS_REPLY_STRING)
		return;
	type = el[0]->str;
	if (strcmp(type, "message") == 0 && el[2]->type == REDIS_REPLY_STRING)
		fed_message(el[1]->str, el[1]->len, el[2]->str, el[2]->len);
	else if (strcmp(type, "subscribe") == 0 && marker_set &&
	    strcmp(el[1]->str, marker) == 0) {
		marker_set = 0;
		fed_resync_all();
	}
}

/* The first reply on a connection (to AUTH, else PING) says whether Redis
 * serves us; the link is up once both connections have had theirs. */
static void
fed_hello_cb(redisAsyncContext *ac, void *r, void *priv)
{
	redisReply	*reply = r;
	char		 why[160];

	if (reply == NULL || (ac != sub_ac && ac != pub_ac))
		return;
	if (reply->type == REDIS_REPLY_ERROR) {
		snprintf(why, sizeof why, "%s: %s", addr.password != NULL ?
		    "AUTH" : "PING", reply->str);
		fed_reset(why);
		return;
	}
	if (ac == sub_ac)
		sub_connected = 1;
	else
		pub_connected = 1;
	if (sub_connected && pub_connected && state == FED_CONNECTING)
		fed_link_up();
}

static void
fed_publish_cb(redisAsyncContext *ac, void *r, void *priv)
{
	redisReply	*reply = r;

	if (ac != pub_ac)
		return;
	inflight--;
	if (reply != NULL && reply->type == REDIS_REPLY_ERROR) {
		fed.dropped++;
		log_debug("%s: PUBLISH failed: %s", __func__, reply->str);
	}
}

static void
fed_ping_cb(redisAsyncContext *ac, void *r, void *priv)
{
	if (ac == pub_ac)
		ping_outstanding = 0;
}

/* Sends SUBSCRIBE for argv[1..n]; the last channel becomes the marker. */
static void
fed_subscribe_argv(const char **argv, size_t *lens, size_t n)
{
	argv[0] = "SUBSCRIBE";
	lens[0] = 9;
	if (redisAsyncCommandArgv(sub_ac, fed_sub_cb, NULL, (int)n + 1, argv,
	    lens) != REDIS_OK)
		return;
	memcpy(marker, argv[n], lens[n] + 1);
	marker_set = 1;
}

struct fed_batch {
	const char	*argv[FED_SUBSCRIBE_BATCH + 1];
	size_t		 lens[FED_SUBSCRIBE_BATCH + 1];
	char		 names[FED_SUBSCRIBE_BATCH][FED_CHANNEL_MAX + 1];
	size_t		 n;
};

static int
fed_batch_add(struct topic *t, void *arg)
{
	struct fed_batch	*b = arg;

	b->lens[b->n + 1] = fed_channel(&t->key, b->names[b->n]);
	b->argv[b->n + 1] = b->names[b->n];
	if (++b->n == FED_SUBSCRIBE_BATCH) {
		fed_subscribe_argv(b->argv, b->lens, b->n);
		b->n = 0;
	}
	return 0;
}

/* Both connections are up: subscribe every local topic again. */
static void
fed_link_up(void)
{
	struct fed_batch	*b;

	state = FED_UP;
	up_since_ms = fed_now_ms();
	ping_outstanding = 0;
	inflight = 0;
	if (ever_up)
		fed.reconnects++;
	ever_up = 1;
	outage_logged = 0;
	log_info("federation: linked to %s as %s", addr_text, origin);
	if (subs_ntopics() == 0)
		return;
	if ((b = calloc(1, sizeof *b)) == NULL) {
		fed_reset("out of memory");
		return;
	}
	subs_foreach(fed_batch_add, b);
	if (b->n > 0)
		fed_subscribe_argv(b->argv, b->lens, b->n);
	free(b);
}

static void
fed_connect_cb(const redisAsyncContext *cac, int status)
{
	redisAsyncContext	*ac = (redisAsyncContext *)cac;
	char			 why[160];

	if (status != REDIS_OK)
		fed_forget(ac);		/* hiredis frees it after this */
	if (ac != sub_ac && ac != pub_ac)
		return;
	if (status != REDIS_OK) {
		snprintf(why, sizeof why, "connect: %s", ac->errstr);
		if (ac == sub_ac)
			sub_ac = NULL;
		else
			pub_ac = NULL;
		fed_reset(why);
	}
}

static void
fed_disconnect_cb(const redisAsyncContext *cac, int status)
{
	redisAsyncContext	*ac = (redisAsyncContext *)cac;
	char			 why[160];

	fed_forget(ac);
	if (ac != sub_ac && ac != pub_ac)
		return;
	snprintf(why, sizeof why, "%s", status == REDIS_OK ? "closed" :
	    ac->errstr[0] != '\0' ? ac->errstr : "connection lost");
	if (ac == sub_ac)
		sub_ac = NULL;
	else
		pub_ac = NULL;
	if (state != FED_OFF)
		fed_reset(why);
}

/* ---- connecting ----------------------------------------------------------- */

/* Opens one connection to ip (NULL for the Unix socket); NULL with why. */
static redisAsyncContext *
fed_open(const char *ip, char *why, size_t whylen)
{
	redisAsyncContext	*ac;

	ac = addr.path != NULL ? redisAsyncConnectUnix(addr.path) :
	    redisAsyncConnect(ip, addr.port);
	if (ac == NULL) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	if (ac->err) {
		snprintf(why, whylen, "%s", ac->errstr);
		redisAsyncFree(ac);
		return NULL;
	}
	if (addr.path == NULL)
		redisEnableKeepAlive(&ac->c);
	if (redisLibeventAttach(ac, base) != REDIS_OK) {
		snprintf(why, whylen, "cannot attach to the event loop");
		redisAsyncFree(ac);
		return NULL;
	}
	redisAsyncSetConnectCallback(ac, fed_connect_cb);
	redisAsyncSetDisconnectCallback(ac, fed_disconnect_cb);
	if (addr.password != NULL && addr.user != NULL)
		redisAsyncCommand(ac, fed_hello_cb, NULL, "AUTH %s %s",
		    addr.user, addr.password);
	else if (addr.password != NULL)
		redisAsyncCommand(ac, fed_hello_cb, NULL, "AUTH %s",
		    addr.password);
	else
		redisAsyncCommand(ac, fed_hello_cb, NULL, "PING");
	return ac;
}

/* Opens both connections; the link is up once both have connected. */
static void
fed_open_both(const char *ip)
{
	char	why[160];

	if ((sub_ac = fed_open(ip, why, sizeof why)) == NULL ||
	    (pub_ac = fed_open(ip, why, sizeof why)) == NULL) {
		fed_reset(why);
		return;
	}
}

static void
fed_resolved_cb(int result, struct evutil_addrinfo *res, void *arg)
{
	char	ip[INET6_ADDRSTRLEN], why[160];
	void	*a;

	resolving = NULL;
	if (result == EVUTIL_EAI_CANCEL)
		return;
	if (result != 0 || res == NULL) {
		snprintf(why, sizeof why, "cannot resolve %s: %s", addr.host,
		    evutil_gai_strerror(result));
		if (res != NULL)
			evutil_freeaddrinfo(res);
		fed_reset(why);
		return;
	}
	a = res->ai_family == AF_INET6 ?
	    (void *)&((struct sockaddr_in6 *)res->ai_addr)->sin6_addr :
	    (void *)&((struct sockaddr_in *)res->ai_addr)->sin_addr;
	evutil_inet_ntop(res->ai_family, a, ip, sizeof ip);
	evutil_freeaddrinfo(res);
	if (state == FED_CONNECTING)
		fed_open_both(ip);
}

/* Starts one connection attempt: resolve the host name without blocking
 * (evdns), then open both connections. */
static void
fed_connect_start(void)
{
	struct evutil_addrinfo	hints;
	unsigned char		tmp[16];
	struct evdns_getaddrinfo_request *req;

	state = FED_CONNECTING;
	connect_started_ms = fed_now_ms();
	sub_connected = pub_connected = 0;
	if (addr.path != NULL || evutil_inet_pton(AF_INET, addr.host, tmp) == 1 ||
	    evutil_inet_pton(AF_INET6, addr.host, tmp) == 1) {
		fed_open_both(addr.host);
		return;
	}
	if (dns == NULL && (dns = evdns_base_new(base,
	    EVDNS_BASE_INITIALIZE_NAMESERVERS |
	    EVDNS_BASE_DISABLE_WHEN_INACTIVE)) == NULL) {
		fed_reset("cannot set up the DNS resolver");
		return;
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	req = evdns_getaddrinfo(dns, addr.host, NULL, &hints, fed_resolved_cb,
	    NULL);
	/* The callback may already have run (hosts file, cached answer). */
	if (req != NULL && state == FED_CONNECTING && sub_ac == NULL)
		resolving = req;
}

/* Frees abandoned contexts, outside any hiredis callback. */
static void
fed_reap_cb(evutil_socket_t fd, short what, void *arg)
{
	redisAsyncContext	*ac;

	while (nreap > 0) {
		ac = reap[--nreap];
		redisAsyncFree(ac);
	}
}

/* Abandons a context: its callbacks are ignored from now on. */
static void
fed_abandon(redisAsyncContext *ac)
{
	if (ac == NULL)
		return;
	if (nreap == FED_NREAP) {
		redisAsyncDisconnect(ac);	/* cannot happen: 2 per reset */
		return;
	}
	reap[nreap++] = ac;
	event_active(reap_ev, EV_TIMEOUT, 0);
}

/* Drops the link and schedules the next attempt. */
static void
fed_reset(const char *why)
{
	struct timeval			 tv;
	struct evdns_getaddrinfo_request *req = resolving;
	redisAsyncContext		*s = sub_ac, *p = pub_ac;

	if (state == FED_OFF || state == FED_DOWN)
		return;		/* already waiting for the next attempt */
	if (state == FED_UP)
		log_warnx("federation: link to %s down: %s; local delivery "
		    "continues", addr_text, why);
	else if (!outage_logged)
		log_warnx("federation: cannot link to %s: %s; retrying",
		    addr_text, why);
	else
		log_debug("%s: %s", __func__, why);
	outage_logged = 1;
	state = FED_DOWN;
	sub_ac = pub_ac = NULL;
	sub_connected = pub_connected = 0;
	marker_set = 0;
	ping_outstanding = 0;
	inflight = 0;
	fed_abandon(s);
	fed_abandon(p);
	resolving = NULL;
	if (req != NULL)
		evdns_getaddrinfo_cancel(req);
	tv.tv_sec = backoff_ms / 1000;
	tv.tv_usec = (suseconds_t)(backoff_ms % 1000) * 1000;
	evtimer_add(retry_ev, &tv);
	backoff_ms = backoff_ms * 2 > FED_BACKOFF_MAX_MS ? FED_BACKOFF_MAX_MS :
	    backoff_ms * 2;
}

static void
fed_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	if (state == FED_DOWN)
		fed_connect_start();
}

/* Once a second: bound connection attempts, and PING to find a stuck
 * server (a live socket with nobody answering). */
static void
fed_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	uint64_t	now = fed_now_ms();

	if (state == FED_CONNECTING &&
	    now - connect_started_ms > FED_CONNECT_TIMEOUT_MS) {
		fed_reset("connect timed out");
		return;
	}
	if (state != FED_UP)
		return;
	/* Only a link that holds resets the back-off: one that Redis drops at
	 * once (say, refused subscriptions) keeps backing off. */
	if (now - up_since_ms >= FED_STABLE_MS)
		backoff_ms = FED_BACKOFF_MIN_MS;
	if (ping_outstanding) {
		if (now - ping_sent_ms > FED_PING_TIMEOUT_MS)
			fed_reset("no reply to PING");
		return;
	}
	if (redisAsyncCommand(pub_ac, fed_ping_cb, NULL, "PING") == REDIS_OK) {
		ping_outstanding = 1;
		ping_sent_ms = now;
	}
}

/* ---- the daemon's side ---------------------------------------------------- */

int
federate_init(struct event_base *b, const struct config *c, char **cause)
{
	struct timeval	tick = { FED_TICK_MS / 1000, (FED_TICK_MS % 1000) * 1000 };
	uuid_t		u;

	if (c->redis == NULL)
		return 0;
	if (fed_parse_address(c->redis, &addr) == -1) {
		if (asprintf(cause, "redis: bad address") == -1)
			*cause = NULL;
		return -1;
	}
	if (c->redis_password != NULL) {
		free(addr.password);
		if ((addr.password = strdup(c->redis_password)) == NULL)
			goto nomem;
	}
	if (c->redis_prefix != NULL && strlen(c->redis_prefix) > FED_PREFIX_MAX) {
		if (asprintf(cause, "redis_prefix: longer than %d bytes",
		    FED_PREFIX_MAX) == -1)
			*cause = NULL;
		return -1;
	}
	snprintf(prefix, sizeof prefix, "%s", c->redis_prefix ?
	    c->redis_prefix : "");
	prefix_len = strlen(prefix);
	if (addr.path != NULL)
		snprintf(addr_text, sizeof addr_text, "unix://%s", addr.path);
	else
		snprintf(addr_text, sizeof addr_text, strchr(addr.host, ':') ?
		    "redis://[%s]:%d" : "redis://%s:%d", addr.host, addr.port);
	uuid_generate_random(u);
	uuid_canon_format(u, origin);

	reap_ev = event_new(b, -1, 0, fed_reap_cb, NULL);
	retry_ev = evtimer_new(b, fed_retry_cb, NULL);
	tick_ev = event_new(b, -1, EV_PERSIST, fed_tick_cb, NULL);
	if (reap_ev == NULL || retry_ev == NULL || tick_ev == NULL ||
	    event_add(tick_ev, &tick) == -1)
		goto nomem;
	log_info("federation: through %s, channels %s<topic>", addr_text,
	    prefix);
	fed_connect_start();
	return 0;
nomem:
	if (asprintf(cause, "out of memory") == -1)
		*cause = NULL;
	return -1;
}

void
federate_shutdown(void)
{
	redisAsyncContext	*s = sub_ac, *p = pub_ac;

	if (state == FED_OFF && reap_ev == NULL)
		return;
	state = FED_OFF;
	sub_ac = pub_ac = NULL;
	if (resolving != NULL) {
		evdns_getaddrinfo_cancel(resolving);
		resolving = NULL;
	}
	if (s != NULL)
		redisAsyncFree(s);
	if (p != NULL)
		redisAsyncFree(p);
	fed_reap_cb(-1, 0, NULL);
	if (dns != NULL) {
		evdns_base_free(dns, 1);
		dns = NULL;
	}
	if (reap_ev != NULL)
		event_free(reap_ev);
	if (retry_ev != NULL)
		event_free(retry_ev);
	if (tick_ev != NULL)
		event_free(tick_ev);
	reap_ev = retry_ev = tick_ev = NULL;
	fed_addr_free(&addr);
}

void
federate_topic_added(const struct topic_key *k)
{
	char	chan[FED_CHANNEL_MAX + 1];
	size_t	len;

	if (state != FED_UP)
		return;		/* the next link-up subscribes it */
	len = fed_channel(k, chan);
	redisAsyncCommand(sub_ac, fed_sub_cb, NULL, "SUBSCRIBE %b", chan, len);
}

void
federate_topic_removed(const struct topic_key *k)
{
	char	chan[FED_CHANNEL_MAX + 1];
	size_t	len;

	if (state != FED_UP)
		return;
	len = fed_channel(k, chan);
	redisAsyncCommand(sub_ac, NULL, NULL, "UNSUBSCRIBE %b", chan, len);
}

void
federate_publish(enum crm_event e, const struct topic_key *k,
    const uint8_t interaction_uuid[16])
{
	char	chan[FED_CHANNEL_MAX + 1], msg[FED_MESSAGE_MAX];
	char	iu[UUID_TEXT_LEN + 1];
	size_t	clen;
	int	mlen;

	if (state == FED_OFF)
		return;
	if (state != FED_UP || inflight >= FED_MAX_INFLIGHT) {
		fed.dropped++;
		return;
	}
	clen = fed_channel(k, chan);
	uuid_canon_format(interaction_uuid, iu);
	mlen = snprintf(msg, sizeof msg, "%s %s %s", origin, event_name(e), iu);
	if (redisAsyncCommand(pub_ac, fed_publish_cb, NULL, "PUBLISH %b %b",
	    chan, clen, msg, (size_t)mlen) != REDIS_OK) {
		fed.dropped++;
		return;
	}
	inflight++;
	fed.published++;
}

void
federate_stats_write(struct buf *b)
{
	const struct {
		const char		*key;
		unsigned long long	 value;
	} rows[] = {
		{ "published", fed.published },
		{ "received", fed.received },
		{ "echoes", fed.echoes },
		{ "dropped", fed.dropped },
		{ "reconnects", fed.reconnects },
		{ "resyncs", fed.resyncs },
		{ "malformed", fed.malformed },
	};
	size_t	i;

	buf_put_key(b, "federation");
	buf_putc(b, '{');
	buf_put_key(b, "state");
	buf_put_jstrz(b, fed_state_names[state]);
	for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		buf_put_key(b, rows[i].key);
		buf_put_uint(b, rows[i].value);
	}
	buf_putc(b, '}');
}
