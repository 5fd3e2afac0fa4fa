/* SPDX-License-Identifier: MIT — crmpubsub */
/* The connection to crmpubsubd: a libevent bufferevent on the Unix socket,
 * "hello", then requests whose replies come back in request order (the
 * daemon answers in order), matched against a queue of callbacks. Lines go
 * out as proto/request.c builds them and come back read by
 * proto/message.c. Lost connections are retried with back-off; every
 * request still waiting then gets a NULL reply. */

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "bridge.h"
#include "message.h"
#include "request.h"
#include "sockpath.h"

#define LINK_MAX_LINE	(1024 * 1024)	/* replies are small; this is junk */

enum link_state { LINK_DOWN, LINK_HELLO, LINK_READY };

struct link_wait {
	link_reply_cb	*cb;
	void		*arg;
};

static struct event_base	*link_base;
static const char		*link_socket_opt;
static char			 link_path[sizeof ((struct sockaddr_un *)0)->sun_path];
static struct timeval		 link_timeout;
static enum link_state		 link_state;
static struct bufferevent	*link_bev;
static struct event		*link_retry_ev;
static struct event		*link_reply_ev;	/* fires when a reply is late */
static struct retry		 link_retry = { .what = "crmpubsubd" };

/* Callbacks of the requests sent and not yet answered, oldest first. */
static struct link_wait		*link_q;
static size_t			 link_q_head, link_q_len, link_q_cap;

static void	link_connect(evutil_socket_t, short, void *);
static void	link_late(evutil_socket_t, short, void *);
static void	link_lost(const char *reason);

void
link_init(struct event_base *base, const char *socket_opt,
    double reply_timeout)
{
	link_base = base;
	link_socket_opt = socket_opt;
	link_timeout.tv_sec = (time_t)reply_timeout;
	link_timeout.tv_usec = (suseconds_t)((reply_timeout -
	    (double)link_timeout.tv_sec) * 1e6);
	link_retry_ev = evtimer_new(base, link_connect, NULL);
	link_reply_ev = evtimer_new(base, link_late, NULL);
	if (link_retry_ev == NULL || link_reply_ev == NULL)
		fatalx("out of memory");
}

int
link_ready(void)
{
	return link_state == LINK_READY;
}

/* Adds a callback at the queue's tail; -1 on ENOMEM. */
static int
link_q_push(link_reply_cb *cb, void *arg)
{
	struct link_wait	*q;
	size_t			 i, ncap;

	if (link_q_len == link_q_cap) {
		ncap = link_q_cap ? link_q_cap * 2 : 64;
		if ((q = malloc(ncap * sizeof *q)) == NULL)
			return -1;
		for (i = 0; i < link_q_len; i++)
			q[i] = link_q[(link_q_head + i) % link_q_cap];
		free(link_q);
		link_q = q;
		link_q_cap = ncap;
		link_q_head = 0;
	}
	link_q[(link_q_head + link_q_len) % link_q_cap] =
	    (struct link_wait){ cb, arg };
	link_q_len++;
	return 0;
}

/* Takes the oldest callback off the queue. */
static struct link_wait
link_q_pop(void)
{
	struct link_wait	w = link_q[link_q_head];

	link_q_head = (link_q_head + 1) % link_q_cap;
	link_q_len--;
	return w;
}

/* Writes one request line and queues its callback. */
static int
link_write(const char *line, size_t len, link_reply_cb *cb, void *arg)
{
	if (link_q_push(cb, arg) == -1)
		return -1;
	if (bufferevent_write(link_bev, line, len) == -1) {
		link_q_len--;
		return -1;
	}
	if (link_q_len == 1)
		evtimer_add(link_reply_ev, &link_timeout);
	return 0;
}

int
link_send(const char *line, size_t len, link_reply_cb *cb, void *arg)
{
	if (link_state != LINK_READY)
		return -1;
	return link_write(line, len, cb, arg);
}

/* The limits a hello reply announces; what it leaves out is the
 * protocol's default (max_line) or no limit of the daemon's. */
static struct link_limits
link_limits_of(const struct message *reply)
{
	long long		max_line = reply->num[RN_MAX_LINE];
	long long		max_contacts = reply->num[RN_MAX_CONTACTS];
	struct link_limits	l;

	l.max_line = max_line >= REQUEST_MAX_LINE_MIN ? (size_t)max_line :
	    REQUEST_MAX_LINE_DEFAULT;
	l.max_contacts = max_contacts > 0 && max_contacts < UINT_MAX ?
	    (unsigned)max_contacts : UINT_MAX;
	return l;
}

/* The answer to hello: the link is ready for broadcasts. */
static void
link_hello_done(const struct message *reply, void *arg)
{
	struct link_limits	lim;
	char			why[300], text[MESSAGE_TEXT_MAX];

	if (reply == NULL)
		return;			/* link_lost has already said why */
	if (!reply->ok) {
		snprintf(why, sizeof why, "hello refused: %s: %s",
		    reply->error_name, log_one_line(reply->text, text,
		    sizeof text));
		link_lost(why);
		return;
	}
	link_state = LINK_READY;
	retry_succeeded(&link_retry);
	lim = link_limits_of(reply);
	log_info("crmpubsubd: connected at %s (client id %lld, max_line %zu, "
	    "max_contacts %u)", link_path, reply->num[RN_CLIENT_ID],
	    lim.max_line, lim.max_contacts);
	drain_link_up(&lim);
}

/* One line from the daemon: a reply goes to the oldest callback; of the
 * pushes only "shutdown" matters (the connection ends next). */
static int
link_line(const char *line, size_t len)
{
	struct message		m;
	struct link_wait	w;

	if (message_parse(line, len, &m) == -1) {
		link_lost("a line from the daemon is not a JSON object");
		return -1;
	}
	if (m.type != MESSAGE_REPLY) {
		if (m.type == MESSAGE_SHUTDOWN)
			log_info("crmpubsubd: the daemon is shutting down");
		return 0;
	}
	if (link_q_len == 0) {
		link_lost("a reply to no request");
		return -1;
	}
	w = link_q_pop();
	if (link_q_len > 0)
		evtimer_add(link_reply_ev, &link_timeout);
	else
		evtimer_del(link_reply_ev);
	w.cb(&m, w.arg);
	return link_state == LINK_DOWN ? -1 : 0;
}

static void
link_read(struct bufferevent *bev, void *arg)
{
	struct evbuffer	*in = bufferevent_get_input(bev);
	char		*line;
	size_t		 len;
	int		 rc;

	while ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF)) != NULL) {
		rc = link_line(line, len);
		free(line);
		if (rc == -1)
			return;		/* the link is gone, bev with it */
	}
	if (evbuffer_get_length(in) > LINK_MAX_LINE)
		link_lost("a line from the daemon is over 1 MiB");
}

static void
link_event(struct bufferevent *bev, short what, void *arg)
{
	char	why[300];

	if (what & BEV_EVENT_EOF)
		link_lost("connection closed by the daemon");
	else if (what & BEV_EVENT_ERROR) {
		snprintf(why, sizeof why, "connection lost: %s",
		    strerror(EVUTIL_SOCKET_ERROR()));
		link_lost(why);
	}
}

/* The reply timer fired: the daemon has stopped answering. */
static void
link_late(evutil_socket_t fd, short what, void *arg)
{
	char	why[100];

	snprintf(why, sizeof why, "no reply within %.1f s",
	    (double)link_timeout.tv_sec + link_timeout.tv_usec / 1e6);
	link_lost(why);
}

/* Drops the connection, fails every waiting request, schedules a retry. */
static void
link_lost(const char *reason)
{
	struct timeval		 wait;
	struct link_wait	 w;
	char			 why[600];

	snprintf(why, sizeof why, "%s: %s", link_path, reason);
	if (link_bev != NULL)
		bufferevent_free(link_bev);
	link_bev = NULL;
	link_state = LINK_DOWN;
	evtimer_del(link_reply_ev);
	while (link_q_len > 0) {
		w = link_q_pop();
		w.cb(NULL, w.arg);
	}
	wait = retry_failed(&link_retry, why);
	evtimer_add(link_retry_ev, &wait);
}

/* One attempt: resolve the path (the daemon's socket may appear later),
 * connect, say hello. */
static void
link_connect(evutil_socket_t unused, short what, void *arg)
{
	struct sockaddr_un	 sun;
	struct buf		 hello;
	char			 storage[256];
	const char		*cause;
	int			 fd;

	if (sockpath_resolve(link_socket_opt, SOCKPATH_CLIENT, link_path,
	    sizeof link_path, &cause) == -1) {
		snprintf(link_path, sizeof link_path, "%s", "(socket)");
		link_lost(cause);
		return;
	}
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, link_path, strlen(link_path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1 || connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		/* A Unix socket connects at once or not at once: EAGAIN
		 * means its backlog is full, worth a retry like the rest. */
		cause = strerror(errno);
		if (fd != -1)
			close(fd);
		link_lost(cause);
		return;
	}
	if ((link_bev = bufferevent_socket_new(link_base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		close(fd);
		link_lost("out of memory");
		return;
	}
	bufferevent_setcb(link_bev, link_read, NULL, link_event, NULL);
	bufferevent_enable(link_bev, EV_READ | EV_WRITE);
	link_state = LINK_HELLO;
	buf_init_on(&hello, storage, sizeof storage);
	if (request_hello(&hello, BRIDGE_NAME) == -1 ||
	    link_write(buf_head(&hello), buf_len(&hello), link_hello_done,
	    NULL) == -1)
		link_lost("out of memory");
	buf_free(&hello);
}

void
link_start(void)
{
	link_connect(-1, 0, NULL);
}

void
link_shutdown(void)
{
	if (link_bev != NULL)
		bufferevent_free(link_bev);
	link_bev = NULL;
	link_state = LINK_DOWN;
	if (link_retry_ev != NULL)
		event_free(link_retry_ev);
	if (link_reply_ev != NULL)
		event_free(link_reply_ev);
	link_retry_ev = link_reply_ev = NULL;
	free(link_q);
	link_q = NULL;
	link_q_len = link_q_cap = link_q_head = 0;
}
