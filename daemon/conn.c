/* SPDX-License-Identifier: MIT — crmpubsub */
/* One client connection: line framing, the output queue and its budget,
 * writing, and closing.
 *
 * Output invariants. Replies and pushes share one byte queue (c->out), so a
 * connection sees them in the order the daemon produced them. Nothing is
 * written while requests are being handled: a connection with new output is
 * put on the dirty list and the whole list is written once per loop turn
 * (flush_cb), which batches every push of that turn into one write. Pushes
 * obey max_outbuf: the first one that does not fit puts the connection in the
 * lagged state, where every push is dropped and counted until the queue has
 * drained below half the limit; then one resync push is queued. Replies are
 * never dropped or cut: a reply is judged by what the peer left unread
 * before it, never by its own size (inspection replies are bounded by their
 * op). A peer that sends a request while more than twice the limit of
 * earlier output is still unread is closed, as is one lagged for longer
 * than lag_timeout. Connections are only freed outside fan-out loops
 * (conn_close is never called from conn_push).
 */

#include <sys/socket.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crmpubsubd.h"
#include "push.h"

/* Drained output queues of this capacity range are kept (see conn_write). */
#define CONN_KEEP_OUT_MIN	(16 * 1024)
#define CONN_KEEP_OUT_MAX	(1024 * 1024)

struct conn_list	 conns = TAILQ_HEAD_INITIALIZER(conns);
unsigned		 nconns;

static struct conn_list	 dirty = TAILQ_HEAD_INITIALIZER(dirty);
static struct event_base *conn_base;	/* every connection's events */
static struct event	*flush_ev;
static uint64_t		 next_id = 1;
/* Every read lands here first; only a partial last line is copied out. It
 * is large so that one read takes a pipelining writer's whole socket buffer:
 * the more broadcasts one loop turn handles, the more pushes share each
 * subscriber's write. */
static char		 read_buf[256 * 1024];

static void	conn_read_cb(evutil_socket_t, short, void *);
static void	conn_write_cb(evutil_socket_t, short, void *);
static void	conn_lag_cb(evutil_socket_t, short, void *);
static void	flush_cb(evutil_socket_t, short, void *);
static int	conn_write(struct conn *);

/* Makes connections' events on b from now on; 0, or -1 out of memory. */
int
conn_init(struct event_base *b)
{
	conn_base = b;
	flush_ev = event_new(b, -1, 0, flush_cb, NULL);
	return flush_ev != NULL ? 0 : -1;
}

/* "#id (name) pid P uid U", in a static buffer. */
const char *
conn_label(const struct conn *c)
{
	static char	label[200];
	char		name[64];

	if (c->name != NULL)
		log_escape(c->name, strlen(c->name), name, sizeof name);
	snprintf(label, sizeof label, "#%llu%s%s%s pid %ld uid %ld",
	    (unsigned long long)c->id, c->name ? " (" : "",
	    c->name ? name : "", c->name ? ")" : "", (long)c->pid,
	    (long)c->uid);
	return label;
}

/* A connection for an accepted fd, reading; NULL when out of memory. */
struct conn *
conn_new(int fd)
{
	struct conn	*c;
	struct ucred	 cred;
	socklen_t	 len = sizeof cred;

	if ((c = calloc(1, sizeof *c)) == NULL)
		return NULL;
	c->fd = fd;
	c->id = next_id++;
	c->pid = -1;
	c->uid = (uid_t)-1;
	c->gid = (gid_t)-1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
		c->pid = cred.pid;
		c->uid = cred.uid;
		c->gid = cred.gid;
	}
	c->ev_read = event_new(conn_base, fd, EV_READ | EV_PERSIST, conn_read_cb, c);
	if (c->ev_read == NULL || event_add(c->ev_read, NULL) == -1) {
		if (c->ev_read != NULL)
			event_free(c->ev_read);
		free(c);
		return NULL;
	}
	TAILQ_INSERT_TAIL(&conns, c, entry);
	nconns++;
	stats.connections_total++;
	log_debug("%s: connected", conn_label(c));
	return c;
}

/* Puts c on the dirty list: written at the end of this loop turn. */
void
conn_output_added(struct conn *c)
{
	if (c->flags & CONN_DIRTY)
		return;
	c->flags |= CONN_DIRTY;
	TAILQ_INSERT_TAIL(&dirty, c, dirty_entry);
	if (!event_pending(flush_ev, EV_TIMEOUT, NULL))
		event_active(flush_ev, EV_TIMEOUT, 0);
}

/* Enters the lagged state and arms the lag timer. */
static void
conn_start_lag(struct conn *c)
{
	struct timeval	tv;
	double		t = cfg->lag_timeout;

	c->flags |= CONN_LAGGED;
	if (c->ev_lag == NULL &&
	    (c->ev_lag = evtimer_new(conn_base, conn_lag_cb, c)) == NULL)
		return;
	tv.tv_sec = (time_t)t;
	tv.tv_usec = (suseconds_t)((t - (double)tv.tv_sec) * 1e6);
	evtimer_add(c->ev_lag, &tv);
	log_debug("%s: lagging, dropping pushes", conn_label(c));
}

/* One push, within the output budget (see the invariants above). */
int
conn_push(struct conn *c, const char *data, size_t len)
{
	if (c->flags & (CONN_CLOSING | CONN_SHUTDOWN))
		return 0;
	if (!(c->flags & CONN_LAGGED) && buf_len(&c->out) + len > cfg->max_outbuf)
		conn_start_lag(c);
	if (c->flags & CONN_LAGGED) {
		c->dropped++;
		stats.dropped++;
		return 0;
	}
	/* A busy subscriber's queue is freed after every write; taking last
	 * time's capacity at once saves growing it again step by step. */
	if (c->out.cap == 0 && c->out_hint > 0 &&
	    buf_reserve(&c->out, c->out_hint) == -1)
		buf_clear_failed(&c->out);
	if (buf_append(&c->out, data, len) == -1) {
		/* Out of memory is a lag like any other: announced by resync.
		 * buf_append changed nothing, so there is nothing to undo. */
		buf_clear_failed(&c->out);
		conn_start_lag(c);
		c->dropped++;
		stats.dropped++;
		return 0;
	}
	conn_output_added(c);
	return 1;
}

/* Once a lagged connection has drained below half its limit, it gets one
 * resync and normal pushes again. */
static void
conn_check_resume(struct conn *c)
{
	size_t	mark = buf_len(&c->out);

	if (!(c->flags & CONN_LAGGED) || mark >= cfg->max_outbuf / 2)
		return;
	if (push_resync(&c->out, RESYNC_LAGGED, c->dropped) == -1) {
		buf_truncate(&c->out, mark);	/* try again at the next write */
		buf_clear_failed(&c->out);
		return;
	}
	log_debug("%s: resumed after dropping %llu pushes", conn_label(c),
	    c->dropped);
	c->flags &= ~CONN_LAGGED;
	c->dropped = 0;
	stats.resyncs++;
	if (c->ev_lag != NULL)
		evtimer_del(c->ev_lag);
}

/* Lagged for lag_timeout without draining: the peer is gone or stuck. */
static void
conn_lag_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	if (!(c->flags & CONN_LAGGED))
		return;
	stats.slow_closed++;
	conn_close(c, "output stayed at its limit for lag_timeout");
}

/* Marks c dead; it is closed once its request handling returns. */
void
conn_kill(struct conn *c, const char *why)
{
	c->flags |= CONN_DEAD;
	c->dead_why = why;
}

/* Handles one line without its '\n'. */
static void
conn_line(struct conn *c, const char *line, size_t len)
{
	size_t	i;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	for (i = 0; i < len; i++)
		if (line[i] != ' ' && line[i] != '\t')
			break;
	if (i == len)
		return;		/* blank lines are ignored */
	ops_dispatch(c, line, len);
}

/* The line being assembled is over max_line: answer once, then swallow
 * bytes up to the next newline. */
static void
conn_too_long(struct conn *c)
{
	char	msg[96];
	size_t	mark = buf_len(&c->out);

	if (conn_check_reply_budget(c))
		return;
	snprintf(msg, sizeof msg, "request line exceeds max_line (%zu bytes)",
	    cfg->max_line);
	ops_reply_error(&c->out, NULL, NULL, PERR_LINE_TOO_LONG, msg);
	if (buf_clear_failed(&c->out)) {
		buf_truncate(&c->out, mark);
		conn_kill(c, "out of memory");
	}
	conn_output_added(c);
	buf_free(&c->in);
	c->flags |= CONN_DISCARD;
}

/* Splits bytes into lines: handles complete ones, keeps a partial one,
 * swallows an over-long one. */
void
conn_feed(struct conn *c, const char *data, size_t len)
{
	const char	*nl, *end = data + len;
	size_t		 n;

	while (data < end && !(c->flags & (CONN_CLOSING | CONN_DEAD))) {
		nl = memchr(data, '\n', (size_t)(end - data));
		n = (size_t)((nl ? nl : end) - data);
		if (c->flags & CONN_DISCARD) {
			if (nl != NULL)
				c->flags &= ~CONN_DISCARD;
		} else if (buf_len(&c->in) + n > cfg->max_line) {
			conn_too_long(c);
			if (nl != NULL)
				c->flags &= ~CONN_DISCARD;
		} else if (nl == NULL) {
			if (buf_append(&c->in, data, n) == -1) {
				conn_kill(c, "out of memory");
				return;
			}
		} else if (buf_len(&c->in) > 0) {
			if (buf_append(&c->in, data, n) == -1) {
				conn_kill(c, "out of memory");
				return;
			}
			conn_line(c, buf_head(&c->in), buf_len(&c->in));
			buf_free(&c->in);
		} else
			conn_line(c, data, n);
		data += n + (nl != NULL);
	}
}

/* Reads what the peer sent; EOF half-closes (replies still go out). */
static void
conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;
	ssize_t		 n;

	n = read(fd, read_buf, sizeof read_buf);
	if (n > 0) {
		conn_feed(c, read_buf, (size_t)n);
		if (c->flags & CONN_DEAD)
			conn_close(c, c->dead_why);
		return;
	}
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n == -1) {
		conn_close(c, strerror(errno));
		return;
	}
	/* EOF. A peer that only shut down its writing side (socat at the end
	 * of its input) still gets the replies it asked for, then the close. */
	event_del(c->ev_read);
	buf_free(&c->in);
	c->flags |= CONN_CLOSING;
	if (buf_len(&c->out) == 0)
		conn_close(c, "closed by peer");
}

/* Sends what the socket takes without blocking: 0, or -1 on a dead peer. */
static int
conn_send(struct conn *c)
{
	ssize_t	n;

	while (buf_len(&c->out) > 0) {
		n = send(c->fd, buf_head(&c->out), buf_len(&c->out),
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0)
			buf_consume(&c->out, (size_t)n);
		else if (n == -1 && errno == EINTR)
			continue;
		else if (n == -1 && errno == EAGAIN)
			break;
		else
			return -1;
	}
	return 0;
}

/* See crmpubsubd.h: 1 when c was marked dead for unread replies. */
int
conn_check_reply_budget(struct conn *c)
{
	if (buf_len(&c->out) <= 2 * cfg->max_outbuf)
		return 0;
	/* Judge only what the peer left unread: hand the socket what it
	 * takes first, so a pipelining client that reads is never cut off. */
	if (conn_send(c) == -1)
		conn_kill(c, "write failed");
	else if (buf_len(&c->out) > 2 * cfg->max_outbuf) {
		stats.slow_closed++;
		conn_kill(c, "unread replies exceed twice max_outbuf");
	} else
		return 0;
	return 1;
}

/* Writes as much queued output as the socket takes: 0, or -1 when the
 * connection was closed. */
static int
conn_write(struct conn *c)
{
	if (conn_send(c) == -1) {
		conn_close(c, errno ? strerror(errno) : "write failed");
		return -1;
	}
	conn_check_resume(c);
	if (buf_len(&c->out) == 0) {
		/* Subscribers' small queues are freed, so an idle connection
		 * holds no buffer; a writer's large reply queue is kept, as it
		 * would be grown again by the next batch of requests. */
		if (c->out.cap < CONN_KEEP_OUT_MIN || c->out.cap > CONN_KEEP_OUT_MAX) {
			c->out_hint = c->out.cap < CONN_KEEP_OUT_MIN ?
			    (uint32_t)c->out.cap : 0;
			buf_free(&c->out);
		} else
			buf_reset(&c->out);
		if (c->ev_write != NULL)
			event_del(c->ev_write);
		if (c->flags & (CONN_CLOSING | CONN_SHUTDOWN)) {
			conn_close(c, c->flags & CONN_SHUTDOWN ? "shutdown" :
			    "closed by peer");
			return -1;
		}
		return 0;
	}
	if (c->ev_write == NULL) {
		c->ev_write = event_new(conn_base, c->fd, EV_WRITE | EV_PERSIST,
		    conn_write_cb, c);
		if (c->ev_write == NULL) {
			conn_close(c, "out of memory");
			return -1;
		}
	}
	if (!event_pending(c->ev_write, EV_WRITE, NULL))
		event_add(c->ev_write, NULL);
	return 0;
}

/* The socket takes more: write on. */
static void
conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	conn_write(c);
}

/* Writes every connection that got output during this loop turn. */
static void
flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c;

	while ((c = TAILQ_FIRST(&dirty)) != NULL) {
		TAILQ_REMOVE(&dirty, c, dirty_entry);
		c->flags &= ~CONN_DIRTY;
		if (c->flags & CONN_DEAD) {
			conn_close(c, c->dead_why);
			continue;
		}
		/* A queue already waiting on EV_WRITE is written by its event. */
		if (c->ev_write != NULL && event_pending(c->ev_write, EV_WRITE,
		    NULL))
			continue;
		conn_write(c);
	}
}

/* Frees c and everything it holds, its subscriptions included. */
void
conn_close(struct conn *c, const char *why)
{
	log_debug("%s: closing: %s", conn_label(c), why);
	if (c->flags & CONN_DIRTY)
		TAILQ_REMOVE(&dirty, c, dirty_entry);
	TAILQ_REMOVE(&conns, c, entry);
	nconns--;
	subs_remove_all(c);
	event_free(c->ev_read);
	if (c->ev_write != NULL)
		event_free(c->ev_write);
	if (c->ev_lag != NULL)
		event_free(c->ev_lag);
	close(c->fd);
	buf_free(&c->in);
	buf_free(&c->out);
	free(c->name);
	free(c);
}

/* Queues the shutdown push everywhere and stops reading; each connection
 * closes once its output is written. */
void
conn_shutdown_all(void)
{
	struct conn	*c, *next;

	for (c = TAILQ_FIRST(&conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		event_del(c->ev_read);
		c->flags |= CONN_SHUTDOWN;
		push_shutdown(&c->out);
		conn_output_added(c);
	}
}

/* Whether any connection is still open: during shutdown, one still
 * writing its last output. */
int
conn_any_open(void)
{
	return !TAILQ_EMPTY(&conns);
}

/* Closes every connection at once, then the flush event. */
void
conn_close_all(void)
{
	struct conn	*c;

	while ((c = TAILQ_FIRST(&conns)) != NULL)
		conn_close(c, "daemon exiting");
	if (flush_ev != NULL) {
		event_free(flush_ev);
		flush_ev = NULL;
	}
}
