/* SPDX-License-Identifier: MIT — crmpubsub */
/* One connection to Redis on the daemon's event loop: commands go out
 * through a bufferevent, replies come in through hiredis's reader
 * (redisReader), and only frames of the shapes the link uses are handed up.
 *
 * Whatever Redis sends, the daemon survives it: bytes that are not RESP, a
 * frame of any other shape (hiredis's own async layer asserts on some of
 * those), arrays nested or longer than any pub/sub frame, or more than
 * FEDCONN_FRAME_MAX bytes of one frame end the connection as malformed.
 * Callbacks are deferred to the loop (never run inside fedconn_open or
 * fedconn_command), and fedconn_free inside a callback only marks the
 * connection; the callback's caller frees it on the way out.
 */

#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <hiredis/hiredis.h>

#include "crmpubsubd.h"
#include "federate.h"

#define FEDCONN_FRAME_MAX	(1 << 20)	/* bytes of one unfinished frame */
#define FEDCONN_ELEMENTS_MAX	3		/* ["message", channel, payload] */
#define FEDCONN_KEEPALIVE_S	15

struct fedconn {
	struct bufferevent	*bev;
	redisReader		*reader;
	fedconn_frame_cb	*on_frame;
	fedconn_end_cb		*on_end;
	void			*arg;
	const char		*hello;		/* "AUTH" or "PING", until answered */
	int			 busy;		/* inside a callback */
	int			 over;		/* ended: nothing more goes up */
	int			 dead;		/* freed while busy */
	int			 big_array;	/* the reader refused an array */
	int			 tcp;		/* not a Unix socket */
};

static void	fedconn_end(struct fedconn *, enum fedconn_end, const char *);

/* hiredis's array constructor, which fedconn_array bounds. */
static void	*(*hiredis_array)(const redisReadTask *, int);

/* Refuses nested arrays and arrays longer than any frame the link uses, so
 * a header like "*1000000000" allocates nothing. */
static void *
fedconn_array(const redisReadTask *task, int n)
{
	if (task->parent != NULL || n > FEDCONN_ELEMENTS_MAX) {
		((struct fedconn *)task->privdata)->big_array = 1;
		return NULL;
	}
	return hiredis_array(task, n);
}

/* A reader building hiredis's reply objects, arrays bounded. */
static redisReader *
fedconn_reader(struct fedconn *c)
{
	static redisReplyObjectFunctions	 fns;
	redisReader				*r = redisReaderCreate();

	if (r == NULL)
		return NULL;
	if (fns.createArray == NULL) {
		fns = *r->fn;
		hiredis_array = fns.createArray;
		fns.createArray = fedconn_array;
	}
	r->fn = &fns;
	r->privdata = c;
	return r;
}

/* A string element of an array (bulk string); 1 and sets s, or 0. */
static int
fedconn_str(const redisReply *r, const char **s, size_t *len)
{
	if (r->type != REDIS_REPLY_STRING)
		return 0;
	*s = r->str;
	*len = r->len;
	return 1;
}

/* Checks one reply and describes it in f; -1 when it is of no shape the
 * link uses. */
static int
fedconn_frame(const redisReply *r, struct fedframe *f)
{
	redisReply	**el = r->element;
	const char	 *kind;
	size_t		  kindlen;

	memset(f, 0, sizeof *f);
	switch (r->type) {
	case REDIS_REPLY_STATUS:
	case REDIS_REPLY_ERROR:
		f->kind = r->type == REDIS_REPLY_STATUS ? FEDFRAME_STATUS :
		    FEDFRAME_ERROR;
		f->str = r->str;
		f->len = r->len;
		return 0;
	case REDIS_REPLY_INTEGER:
		f->kind = FEDFRAME_INTEGER;
		f->integer = r->integer;
		return 0;
	case REDIS_REPLY_ARRAY:
		break;
	default:
		return -1;
	}
	if (r->elements < 2 || !fedconn_str(el[0], &kind, &kindlen) ||
	    !fedconn_str(el[1], &f->str, &f->len))
		return -1;
	if (r->elements == 2 && kindlen == 4 && memcmp(kind, "pong", 4) == 0) {
		f->kind = FEDFRAME_PONG;
		return 0;
	}
	if (r->elements != 3)
		return -1;
	if (kindlen == 7 && memcmp(kind, "message", 7) == 0) {
		f->kind = FEDFRAME_MESSAGE;
		return fedconn_str(el[2], &f->payload, &f->payload_len) ? 0 : -1;
	}
	if (el[2]->type != REDIS_REPLY_INTEGER)
		return -1;
	if (kindlen == 9 && memcmp(kind, "subscribe", 9) == 0)
		f->kind = FEDFRAME_SUBSCRIBE;
	else if (kindlen == 11 && memcmp(kind, "unsubscribe", 11) == 0)
		f->kind = FEDFRAME_UNSUBSCRIBE;
	else
		return -1;
	f->integer = el[2]->integer;
	return 0;
}

/* The first reply, to AUTH or PING: whether Redis serves us. */
static void
fedconn_hello_reply(struct fedconn *c, const redisReply *r)
{
	struct fedframe	 f = { .kind = FEDFRAME_READY };
	char		 text[120], why[160];

	if (r->type == REDIS_REPLY_ERROR) {
		snprintf(why, sizeof why, "%s: %s", c->hello,
		    log_escape(r->str, r->len, text, sizeof text));
		fedconn_end(c, FEDCONN_LOST, why);
	} else if (r->type != REDIS_REPLY_STATUS)
		fedconn_end(c, FEDCONN_MALFORMED, "an unexpected first reply");
	else {
		c->hello = NULL;
		c->on_frame(c, &f, c->arg);
	}
}

/* Frees everything; the connection is gone. */
static void
fedconn_destroy(struct fedconn *c)
{
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	if (c->reader != NULL)
		redisReaderFree(c->reader);
	free(c);
}

/* Ends the connection: one on_end call, then nothing more from it. */
static void
fedconn_end(struct fedconn *c, enum fedconn_end how, const char *why)
{
	if (c->over)
		return;
	c->over = 1;
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	c->on_end(c, how, why, c->arg);
}

/* Feeds what arrived to the reader and hands up every complete frame. */
static void
fedconn_parse(struct fedconn *c, struct evbuffer *in)
{
	struct fedframe	 f;
	void		*reply;
	size_t		 n;
	char		 why[160];

	while (!c->over && (n = evbuffer_get_contiguous_space(in)) > 0) {
		if (redisReaderFeed(c->reader, (const char *)evbuffer_pullup(in,
		    (ev_ssize_t)n), n) != REDIS_OK) {
			fedconn_end(c, FEDCONN_LOST, "out of memory");
			return;
		}
		evbuffer_drain(in, n);
		while (!c->over) {
			if (redisReaderGetReply(c->reader, &reply) != REDIS_OK) {
				snprintf(why, sizeof why, "%s", c->big_array ?
				    "an array nested or longer than any frame" :
				    c->reader->errstr);
				fedconn_end(c, c->reader->err == REDIS_ERR_OOM &&
				    !c->big_array ? FEDCONN_LOST :
				    FEDCONN_MALFORMED, why);
				return;
			}
			if (reply == NULL)
				break;
			if (c->hello != NULL)
				fedconn_hello_reply(c, reply);
			else if (fedconn_frame(reply, &f) == -1)
				fedconn_end(c, FEDCONN_MALFORMED,
				    "a reply of an unexpected shape");
			else
				c->on_frame(c, &f, c->arg);
			freeReplyObject(reply);
		}
		if (!c->over && c->reader->len - c->reader->pos >
		    FEDCONN_FRAME_MAX)
			fedconn_end(c, FEDCONN_MALFORMED, "a frame over 1 MiB");
	}
}

/* Bytes from Redis. */
static void
fedconn_read_cb(struct bufferevent *bev, void *arg)
{
	struct fedconn	*c = arg;

	c->busy++;
	fedconn_parse(c, bufferevent_get_input(bev));
	if (--c->busy == 0 && c->dead)
		fedconn_destroy(c);
}

/* Close-on-exec; on TCP, keepalive: a peer gone without a word is found in
 * about a minute. */
static void
fedconn_socket_options(struct fedconn *c, evutil_socket_t fd)
{
	int	on = 1, idle = FEDCONN_KEEPALIVE_S, intvl = FEDCONN_KEEPALIVE_S / 3,
		cnt = 3;

	evutil_make_socket_closeonexec(fd);
	if (!c->tcp)
		return;
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
}

/* Connected, closed, or failed (the host name not resolved included). */
static void
fedconn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct fedconn	*c = arg;
	char		 why[160];
	int		 dnserr = bufferevent_socket_get_dns_error(bev);

	if (what & BEV_EVENT_CONNECTED) {
		fedconn_socket_options(c, bufferevent_getfd(bev));
		return;
	}
	if (what & BEV_EVENT_EOF)
		snprintf(why, sizeof why, "closed");
	else if (dnserr != 0)
		snprintf(why, sizeof why, "cannot resolve: %s",
		    evutil_gai_strerror(dnserr));
	else
		snprintf(why, sizeof why, "%s", evutil_socket_error_to_string(
		    EVUTIL_SOCKET_ERROR()));
	c->busy++;
	fedconn_end(c, FEDCONN_LOST, why);
	if (--c->busy == 0 && c->dead)
		fedconn_destroy(c);
}

/* Queues the first command: AUTH [user] password when a password is set,
 * else PING. */
static int
fedconn_send_hello(struct fedconn *c, const struct fed_addr *a)
{
	const char	*argv[3];
	size_t		 lens[3];
	int		 n = 0, i;

	if (a->password == NULL)
		argv[n++] = "PING";
	else {
		argv[n++] = "AUTH";
		if (a->user != NULL)
			argv[n++] = a->user;
		argv[n++] = a->password;
	}
	for (i = 0; i < n; i++)
		lens[i] = strlen(argv[i]);
	c->hello = argv[0];
	return fedconn_command(c, n, argv, lens);
}

struct fedconn *
fedconn_open(struct event_base *b, struct evdns_base *dns,
    const struct fed_addr *a, fedconn_frame_cb *on_frame,
    fedconn_end_cb *on_end, void *arg, char *why, size_t whylen)
{
	struct fedconn		*c;
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	int			 rc;

	if ((c = calloc(1, sizeof *c)) == NULL ||
	    (c->reader = fedconn_reader(c)) == NULL ||
	    (c->bev = bufferevent_socket_new(b, -1, BEV_OPT_CLOSE_ON_FREE |
	    BEV_OPT_DEFER_CALLBACKS)) == NULL) {
		snprintf(why, whylen, "out of memory");
		goto fail;
	}
	c->on_frame = on_frame;
	c->on_end = on_end;
	c->arg = arg;
	c->tcp = a->path == NULL;
	bufferevent_setcb(c->bev, fedconn_read_cb, NULL, fedconn_event_cb, c);
	if (fed_addr_sockaddr(a, &ss, &len) == 0)
		rc = bufferevent_socket_connect(c->bev, (struct sockaddr *)&ss,
		    (int)len);
	else
		rc = bufferevent_socket_connect_hostname(c->bev, dns, AF_UNSPEC,
		    a->host, a->port);
	if (rc == -1) {
		snprintf(why, whylen, "%s", evutil_socket_error_to_string(
		    EVUTIL_SOCKET_ERROR()));
		goto fail;
	}
	if (fedconn_send_hello(c, a) == -1) {
		snprintf(why, whylen, "out of memory");
		goto fail;
	}
	bufferevent_enable(c->bev, EV_READ);
	return c;
fail:
	if (c != NULL)
		fedconn_destroy(c);
	return NULL;
}

int
fedconn_command(struct fedconn *c, int argc, const char **argv,
    const size_t *lens)
{
	char	*cmd;
	int	 len, rc;

	if ((len = redisFormatCommandArgv(&cmd, argc, argv, lens)) < 0)
		return -1;
	rc = bufferevent_write(c->bev, cmd, (size_t)len);
	redisFreeCommand(cmd);
	return rc;
}

void
fedconn_free(struct fedconn *c)
{
	if (c == NULL)
		return;
	if (c->busy > 0) {
		bufferevent_disable(c->bev, EV_READ | EV_WRITE);
		c->over = c->dead = 1;
		return;
	}
	fedconn_destroy(c);
}
