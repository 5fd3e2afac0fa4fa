/* SPDX-License-Identifier: MIT — crmpubsub */
/* Federation: daemons on several hosts share broadcasts through Redis
 * pub/sub.
 *
 * The link is two connections to Redis on the daemon's own event loop
 * (fedconn.c): one in subscribe mode, one for PUBLISH. Routing follows
 * interest: the channel of a topic (prefix + canonical topic name, see
 * proto/fedmsg.h) is subscribed while the topic has local subscribers. Each
 * local broadcast is published once per involved topic as
 * "<origin> <event> <interaction-uuid>"; a message from another origin is
 * fanned out locally only (never published again) and a daemon's own echoes
 * are ignored (fedecho.c tells them from messages that merely carry its
 * origin), so every subscriber anywhere gets each push once.
 *
 * Link states: OFF (no redis option), DOWN (waiting to retry), CONNECTING,
 * UP (both connections answered their first command: AUTH when a password
 * is set, else PING). Any failure of either connection resets both, and so
 * does a reply of a shape Redis never sends (counted as malformed): after
 * one, nothing else on that connection can be trusted. Retries back off
 * from 100 ms, doubling to 5 s, and start over once a link has held for
 * 10 s. On every link-up the daemon re-subscribes all its topics and, once
 * Redis has confirmed the last of them, queues
 * {"type":"resync","reason":"federation","dropped":0} to every connection
 * holding a topic: remote updates may have been missed while the link was
 * down. Publishing never waits: with the link down, or too many PUBLISHes
 * unanswered, a publish is dropped and counted.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/dns.h>
#include <event2/util.h>
#include <uuid/uuid.h>

#include "crmpubsubd.h"
#include "federate.h"
#include "push.h"

#define FED_BACKOFF_MIN_MS	100
#define FED_BACKOFF_MAX_MS	5000
#define FED_TICK_MS		1000
#define FED_CONNECT_TIMEOUT_MS	5000
#define FED_PING_TIMEOUT_MS	5000
#define FED_STABLE_MS		10000	/* up this long: back-off starts over */
#define FED_MAX_INFLIGHT	65536	/* unanswered PUBLISHes */

enum fed_state { FED_OFF, FED_DOWN, FED_CONNECTING, FED_UP };

static const char *const fed_state_names[] = {
	[FED_OFF] = "off", [FED_DOWN] = "down",
	[FED_CONNECTING] = "down", [FED_UP] = "up",
};

static enum fed_state		 state = FED_OFF;
static struct fed_addr		 addr;
static char			 addr_text[300];	/* for logs: no password */
static char			 prefix[FEDMSG_PREFIX_MAX + 1];
static size_t			 prefix_len;
static uint8_t			 origin[16];
static char			 origin_text[UUID_TEXT_LEN + 1];

static struct fedconn		*sub_conn, *pub_conn;
static int			 sub_ready, pub_ready;	/* hello answered */
static struct event		*retry_ev, *tick_ev;
static struct evdns_base	*dns;
static struct fed_echoes	 echoes = FED_ECHOES_INIT;

static unsigned			 backoff_ms = FED_BACKOFF_MIN_MS;
static uint64_t			 connect_started_ms;
static uint64_t			 up_since_ms;
static int			 sub_ping, pub_ping;	/* PING unanswered */
static unsigned long		 pub_ping_ahead;	/* PUBLISH replies due first */
static uint64_t			 ping_sent_ms;
static unsigned long		 inflight;
static int			 ever_up;
static int			 outage_logged;
static int			 spoof_logged;
/* Channel of the latest SUBSCRIBE: its confirmation after a link-up means
 * every topic is subscribed again (marker_set). */
static char			 marker[FEDMSG_CHANNEL_MAX + 1];
static size_t			 marker_len;
static int			 marker_set;

static struct {
	unsigned long long	published;	/* PUBLISH commands sent */
	unsigned long long	received;	/* messages from other daemons */
	unsigned long long	echoes;		/* own messages, ignored */
	unsigned long long	spoofed;	/* our origin, not our publish */
	unsigned long long	dropped;	/* publishes not made */
	unsigned long long	reconnects;	/* link-ups after the first */
	unsigned long long	resyncs;	/* federation resyncs queued */
	unsigned long long	malformed;	/* messages or replies refused */
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

/* ---- messages and resync -------------------------------------------------- */

/* Handles one message from Redis: another daemon's broadcast is delivered
 * locally; our own, come back, is not. */
static void
fed_message(const char *chan, size_t chanlen, const char *payload, size_t len)
{
	struct topic_key	k;
	struct fedmsg		m;

	if (fedmsg_channel_topic(prefix, prefix_len, chan, chanlen, &k) == -1 ||
	    fedmsg_parse(payload, len, &m) == -1) {
		fed.malformed++;
		log_debug("%s: ignoring a malformed message", __func__);
		return;
	}
	if (memcmp(m.origin, origin, sizeof origin) != 0) {
		fed.received++;
		broadcast_deliver(m.event, &k, m.interaction);
	} else if (fed_echoes_take(&echoes, &k, &m, fed_now_ms()))
		fed.echoes++;
	else {
		fed.spoofed++;
		if (!spoof_logged)
			log_warnx("federation: ignoring a message with this "
			    "daemon's origin that it did not publish (a replay, "
			    "or another publisher using its id)");
		spoof_logged = 1;
	}
}

/* Every connection holding a topic may have missed remote updates: one
 * resync each. A lagging connection already owes one and gets no second. */
static void
fed_resync_all(void)
{
	struct buf	 line = BUF_INIT;
	struct conn	*c;

	if (push_resync(&line, RESYNC_FEDERATION, 0) == -1) {
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

/* ---- frames from Redis ---------------------------------------------------- */

/* Redis answered a command with an error: the link goes down. */
static void
fed_refused(const char *command, const struct fedframe *f)
{
	char	text[120], why[160];

	snprintf(why, sizeof why, "%s: %s", command, log_escape(f->str, f->len,
	    text, sizeof text));
	fed_reset(why);
}

/* Redis sent what it never sends: counted, and the link starts over. */
static void
fed_malformed(const char *what)
{
	char	why[160];

	fed.malformed++;
	snprintf(why, sizeof why, "malformed reply: %s", what);
	fed_reset(why);
}

/* A connection is ready: Redis accepted AUTH or answered PING. The link is
 * up once both are. */
static void
fed_ready(int *ready)
{
	*ready = 1;
	if (sub_ready && pub_ready && state == FED_CONNECTING)
		fed_link_up();
}

/* fedconn callback: the subscribe connection's messages, (un)subscribe
 * confirmations and PING replies. */
static void
fed_sub_frame(struct fedconn *c, const struct fedframe *f, void *arg)
{
	if (f->kind == FEDFRAME_READY) {
		fed_ready(&sub_ready);
		return;
	}
	if (state != FED_UP) {
		fed_malformed("a reply before the link was up");
		return;
	}
	switch (f->kind) {
	case FEDFRAME_MESSAGE:
		fed_message(f->str, f->len, f->payload, f->payload_len);
		return;
	case FEDFRAME_SUBSCRIBE:
		if (marker_set && f->len == marker_len &&
		    memcmp(f->str, marker, marker_len) == 0) {
			marker_set = 0;
			fed_resync_all();
		}
		return;
	case FEDFRAME_UNSUBSCRIBE:
		return;
	case FEDFRAME_ERROR:		/* NOPERM: the ACL refuses a channel */
		fed_refused("subscribe connection", f);
		return;
	case FEDFRAME_PONG:		/* in subscribe mode */
	case FEDFRAME_STATUS:		/* +PONG, with nothing subscribed */
		if (!sub_ping)
			break;
		sub_ping = 0;
		return;
	default:
		break;
	}
	fed_malformed("an unexpected reply on the subscribe connection");
}

/* fedconn callback: the publish connection's replies, in the order of its
 * commands: each PUBLISH's count (or error), and the PING's PONG after the
 * PUBLISHes sent before it. */
static void
fed_pub_frame(struct fedconn *c, const struct fedframe *f, void *arg)
{
	char	text[120];

	if (f->kind == FEDFRAME_READY) {
		fed_ready(&pub_ready);
		return;
	}
	if (pub_ping && pub_ping_ahead == 0) {
		if (f->kind == FEDFRAME_ERROR) {
			fed_refused("PING", f);
			return;
		}
		if (f->kind == FEDFRAME_STATUS) {
			pub_ping = 0;
			return;
		}
	} else if (inflight > 0 && (f->kind == FEDFRAME_INTEGER ||
	    f->kind == FEDFRAME_ERROR)) {
		inflight--;
		if (pub_ping)
			pub_ping_ahead--;
		if (f->kind == FEDFRAME_ERROR) {
			fed.dropped++;
			log_debug("%s: PUBLISH failed: %s", __func__,
			    log_escape(f->str, f->len, text, sizeof text));
		}
		return;
	}
	fed_malformed("an unexpected reply on the publish connection");
}

/* fedconn callback: a connection ended; the link goes down. */
static void
fed_conn_end(struct fedconn *c, enum fedconn_end how, const char *why,
    void *arg)
{
	if (how == FEDCONN_MALFORMED)
		fed_malformed(why);
	else
		fed_reset(why);
}

/* ---- subscribing ---------------------------------------------------------- */

/* Sends (UN)SUBSCRIBE for one topic's channel; the channel of the latest
 * SUBSCRIBE is kept as the marker. */
static void
fed_subscription(const char *command, const struct topic_key *k)
{
	char		 chan[FEDMSG_CHANNEL_MAX + 1];
	const char	*argv[2] = { command, chan };
	size_t		 lens[2] = { strlen(command), 0 };

	if (state != FED_UP)
		return;		/* the next link-up subscribes what is held */
	lens[1] = fedmsg_channel(prefix, prefix_len, k, chan);
	if (fedconn_command(sub_conn, 2, argv, lens) == -1) {
		fed_reset("out of memory");
		return;
	}
	if (strcmp(command, "SUBSCRIBE") == 0) {
		memcpy(marker, chan, lens[1]);
		marker_len = lens[1];
	}
}

/* subs_foreach callback: subscribes one held topic again. */
static int
fed_resubscribe(struct topic *t, void *arg)
{
	fed_subscription("SUBSCRIBE", &t->key);
	return state != FED_UP;
}

/* Both connections are up: subscribe every local topic again. */
static void
fed_link_up(void)
{
	state = FED_UP;
	up_since_ms = fed_now_ms();
	if (ever_up)
		fed.reconnects++;
	ever_up = 1;
	outage_logged = 0;
	log_info("federation: linked to %s as %s", addr_text, origin_text);
	/* Redis confirms in order: the last channel's confirmation means
	 * every topic is subscribed again. */
	subs_foreach(fed_resubscribe, NULL);
	marker_set = subs_ntopics() > 0 && state == FED_UP;
}

/* ---- connecting ----------------------------------------------------------- */

/* Starts one connection attempt: both connections at once (a host name is
 * resolved without blocking, through evdns); the link is up once both have
 * answered. */
static void
fed_connect_start(void)
{
	struct sockaddr_storage	ss;
	socklen_t		len;
	char			why[160];

	state = FED_CONNECTING;
	connect_started_ms = fed_now_ms();
	if (dns == NULL && fed_addr_sockaddr(&addr, &ss, &len) == 1 &&
	    (dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
	    EVDNS_BASE_DISABLE_WHEN_INACTIVE)) == NULL) {
		fed_reset("cannot set up the DNS resolver");
		return;
	}
	if ((sub_conn = fedconn_open(base, dns, &addr, fed_sub_frame,
	    fed_conn_end, NULL, why, sizeof why)) == NULL ||
	    (pub_conn = fedconn_open(base, dns, &addr, fed_pub_frame,
	    fed_conn_end, NULL, why, sizeof why)) == NULL)
		fed_reset(why);
}

/* Closes both connections and forgets everything said on them. */
static void
fed_close(void)
{
	fedconn_free(sub_conn);
	fedconn_free(pub_conn);
	sub_conn = pub_conn = NULL;
	sub_ready = pub_ready = 0;
	sub_ping = pub_ping = 0;
	marker_set = 0;
	inflight = 0;
	fed_echoes_clear(&echoes);
}

/* Drops the link and schedules the next attempt. */
static void
fed_reset(const char *why)
{
	struct timeval	tv;

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
	fed_close();
	tv.tv_sec = backoff_ms / 1000;
	tv.tv_usec = (suseconds_t)(backoff_ms % 1000) * 1000;
	evtimer_add(retry_ev, &tv);
	backoff_ms = backoff_ms * 2 > FED_BACKOFF_MAX_MS ? FED_BACKOFF_MAX_MS :
	    backoff_ms * 2;
}

/* Timer: the back-off is over, try again. */
static void
fed_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	if (state == FED_DOWN)
		fed_connect_start();
}

/* Sends PING on both connections; the replies are checked by the next
 * ticks. */
static void
fed_ping(uint64_t now)
{
	const char	*argv[1] = { "PING" };
	size_t		 lens[1] = { 4 };

	if (fedconn_command(pub_conn, 1, argv, lens) == -1 ||
	    fedconn_command(sub_conn, 1, argv, lens) == -1) {
		fed_reset("out of memory");
		return;
	}
	pub_ping = sub_ping = 1;
	pub_ping_ahead = inflight;
	ping_sent_ms = now;
}

/* Once a second: bound connection attempts, and PING both connections to
 * find a stuck server (a live socket with nobody answering, or a frame
 * that never ends). */
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
	if (pub_ping || sub_ping) {
		if (now - ping_sent_ms > FED_PING_TIMEOUT_MS)
			fed_reset("no reply to PING");
		return;
	}
	fed_ping(now);
}

/* ---- the daemon's side ---------------------------------------------------- */

int
federate_init(struct event_base *b, const struct config *c, char **cause)
{
	struct timeval	tick = { FED_TICK_MS / 1000, (FED_TICK_MS % 1000) * 1000 };

	if (c->redis == NULL)
		return 0;
	if (fed_addr_parse(c->redis, &addr) == -1)
		return log_cause(cause, "redis: bad address");
	if (c->redis_password != NULL) {
		free(addr.password);
		if ((addr.password = strdup(c->redis_password)) == NULL)
			goto nomem;
	}
	if (c->redis_prefix != NULL &&
	    strlen(c->redis_prefix) > FEDMSG_PREFIX_MAX)
		return log_cause(cause, "redis_prefix: longer than %d bytes",
		    FEDMSG_PREFIX_MAX);
	snprintf(prefix, sizeof prefix, "%s", c->redis_prefix ?
	    c->redis_prefix : "");
	prefix_len = strlen(prefix);
	fed_addr_format(&addr, addr_text, sizeof addr_text);
	uuid_generate_random(origin);
	uuid_canon_format(origin, origin_text);

	retry_ev = evtimer_new(b, fed_retry_cb, NULL);
	tick_ev = event_new(b, -1, EV_PERSIST, fed_tick_cb, NULL);
	if (retry_ev == NULL || tick_ev == NULL || event_add(tick_ev, &tick) == -1)
		goto nomem;
	log_info("federation: through %s, channels %s<topic>", addr_text,
	    prefix);
	fed_connect_start();
	return 0;
nomem:
	return log_cause(cause, "out of memory");
}

void
federate_shutdown(void)
{
	if (state == FED_OFF && tick_ev == NULL)
		return;
	state = FED_OFF;
	fed_close();
	fed_echoes_free(&echoes);
	if (dns != NULL) {
		evdns_base_free(dns, 1);
		dns = NULL;
	}
	if (retry_ev != NULL)
		event_free(retry_ev);
	if (tick_ev != NULL)
		event_free(tick_ev);
	retry_ev = tick_ev = NULL;
	fed_addr_free(&addr);
}

void
federate_topic_added(const struct topic_key *k)
{
	fed_subscription("SUBSCRIBE", k);
}

void
federate_topic_removed(const struct topic_key *k)
{
	fed_subscription("UNSUBSCRIBE", k);
}

void
federate_publish(enum crm_event e, const struct topic_key *k,
    const uint8_t interaction_uuid[16])
{
	char		 chan[FEDMSG_CHANNEL_MAX + 1], msg[FEDMSG_MAX + 1];
	const char	*argv[3] = { "PUBLISH", chan, msg };
	size_t		 lens[3] = { 7, 0, 0 };
	struct fedmsg	 m;

	if (state == FED_OFF)
		return;
	if (state != FED_UP || inflight >= FED_MAX_INFLIGHT) {
		fed.dropped++;
		return;
	}
	memcpy(m.origin, origin, sizeof origin);
	m.event = e;
	memcpy(m.interaction, interaction_uuid, 16);
	lens[1] = fedmsg_channel(prefix, prefix_len, k, chan);
	lens[2] = fedmsg_format(&m, msg);
	if (fedconn_command(pub_conn, 3, argv, lens) == -1) {
		fed.dropped++;
		return;
	}
	inflight++;
	fed.published++;
	/* We listen to this channel: Redis sends the message back to us. */
	if (subs_find(k) != NULL)
		fed_echoes_expect(&echoes, k, &m, fed_now_ms());
}

void
federate_stats_write(struct buf *b)
{
	const struct stats_row rows[] = {
		{ "published", fed.published },
		{ "received", fed.received },
		{ "echoes", fed.echoes },
		{ "spoofed", fed.spoofed },
		{ "dropped", fed.dropped },
		{ "reconnects", fed.reconnects },
		{ "resyncs", fed.resyncs },
		{ "malformed", fed.malformed },
	};

	buf_put_key(b, "federation");
	buf_putc(b, '{');
	buf_put_key(b, "state");
	buf_put_jstrz(b, fed_state_names[state]);
	stats_rows_write(b, rows, sizeof rows / sizeof rows[0]);
	buf_putc(b, '}');
}
