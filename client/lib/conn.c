/* SPDX-License-Identifier: MIT — crmpubsub */
/* The connection: non-blocking connect, reads and writes, loss detection
 * and reconnection with exponential back-off driven by a timerfd. */

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "sockpath.h"

/* Drains an eventfd/timerfd so it stops being readable. */
static void
cl_drain_fd(int fd)
{
	uint64_t	v;

	while (read(fd, &v, sizeof v) > 0)
		;
}

/* Arms the timer for the next attempt (absolute), or disarms it (-1). */
static void
cl_arm_timer(crmpubsub *c, int64_t at_ns)
{
	struct itimerspec	its;

	memset(&its, 0, sizeof its);
	if (at_ns >= 0) {
		if (at_ns <= 0)
			at_ns = 1;
		its.it_value.tv_sec = at_ns / 1000000000;
		its.it_value.tv_nsec = at_ns % 1000000000;
	}
	cl_drain_fd(c->tfd);
	if (timerfd_settime(c->tfd, TFD_TIMER_ABSTIME, &its, NULL) == 0)
		c->timer_armed = at_ns >= 0;
}

/* A cheap private pseudo-random number (the application's random() state
 * is left alone). */
static unsigned
cl_jitter(crmpubsub *c)
{
	uint64_t	x = (uint64_t)cl_now_ns() ^ (uint64_t)(uintptr_t)c;

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return (unsigned)x;
}

/* Picks the next attempt time after a failure or a loss. */
static void
cl_schedule_reconnect(crmpubsub *c, int64_t now, bool immediately)
{
	int	min = c->timeout_ms[CRMPUBSUB_TIMEOUT_RECONNECT_MIN];
	int	max = c->timeout_ms[CRMPUBSUB_TIMEOUT_RECONNECT_MAX];
	int	delay;

	if (immediately) {
		c->backoff_ms = 0;
		delay = 0;
	} else {
		c->backoff_ms = c->backoff_ms < min ? min : c->backoff_ms * 2;
		if (c->backoff_ms > max)
			c->backoff_ms = max;
		if (c->backoff_ms < min)	/* max below min: min wins */
			c->backoff_ms = min;
		/* +-25% jitter so a restarted daemon is not hit in lockstep. */
		delay = c->backoff_ms;
		if (delay >= 4)
			delay += (int)(cl_jitter(c) % (unsigned)(delay / 2)) -
			    delay / 4;
	}
	c->next_attempt_ns = now + (int64_t)delay * 1000000;
	cl_arm_timer(c, c->next_attempt_ns);
}

/* Registers the epoll interest sock needs now (EPOLLOUT while output waits). */
static void
cl_update_events(crmpubsub *c)
{
	struct epoll_event	ev;
	uint32_t		want;

	if (c->sock == -1)
		return;
	want = EPOLLIN | (buf_len(&c->out) > 0 ? EPOLLOUT : 0);
	if (want == c->sock_events)
		return;
	memset(&ev, 0, sizeof ev);
	ev.events = want;
	ev.data.fd = c->sock;
	if (epoll_ctl(c->epfd, EPOLL_CTL_MOD, c->sock, &ev) == 0)
		c->sock_events = want;
}

int
cl_try_connect(crmpubsub *c, int64_t now)
{
	struct sockaddr_un	 sun;
	struct epoll_event	 ev;
	const char		*cause = NULL;
	int			 fd, saved;

	if (sockpath_resolve(c->socket_opt, SOCKPATH_CLIENT, c->path,
	    sizeof c->path, &cause) == -1) {
		cl_log(c, CRMPUBSUB_LOG_ERROR, "socket path: %s", cause);
		errno = ENAMETOOLONG;
		goto failed;
	}
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, c->path, strlen(c->path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		goto failed;
	/* On AF_UNIX a non-blocking connect completes at once or fails
	 * (EAGAIN: the listen backlog is full; retried like any failure). */
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		goto failed;
	}
	memset(&ev, 0, sizeof ev);
	ev.events = EPOLLIN;
	ev.data.fd = fd;
	if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		goto failed;
	}
	if (cl_out_connected(c) == -1) {
		epoll_ctl(c->epfd, EPOLL_CTL_DEL, fd, NULL);
		close(fd);
		errno = ENOMEM;
		goto failed;
	}
	c->sock = fd;
	c->sock_events = EPOLLIN;
	c->gen++;
	c->established = false;
	c->client_id = -1;
	buf_reset(&c->in);
	cl_arm_timer(c, -1);
	cl_log(c, CRMPUBSUB_LOG_DEBUG, "connecting to %s", c->path);
	cl_write_some(c);
	if (c->sock != -1)
		cl_update_events(c);
	return c->sock != -1 ? 0 : -1;
failed:
	saved = errno;
	c->st.connect_failures++;
	cl_log_connect_failed(c, "cannot connect to %s: %s",
	    *c->path ? c->path : "(no path)", strerror(saved));
	cl_schedule_reconnect(c, now, false);
	errno = saved;
	return -1;
}

int
crmpubsub_connect(crmpubsub *c)
{
	int64_t	deadline;
	int	err = 0;

	if (c == NULL) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&c->lock);
	deadline = cl_now_ns() +
	    (int64_t)c->timeout_ms[CRMPUBSUB_TIMEOUT_CONNECT] * 1000000;
	if (c->sock == -1 && cl_try_connect(c, cl_now_ns()) == -1)
		err = errno;
	while (err == 0) {
		cl_pump(c, cl_now_ns());
		if (c->sock != -1 && c->established)
			break;
		if (c->sock == -1)
			err = ECONNRESET;	/* refused after accept (too_many) */
		else if (cl_now_ns() >= deadline)
			err = ETIMEDOUT;
		else
			cl_wait_io(c, deadline, true);
	}
	pthread_mutex_unlock(&c->lock);
	if (err != 0) {
		errno = err;
		return -1;
	}
	return 0;
}

void
cl_disconnect(crmpubsub *c, const char *why)
{
	bool	was_established = c->established;

	if (c->sock == -1)
		return;
	epoll_ctl(c->epfd, EPOLL_CTL_DEL, c->sock, NULL);
	close(c->sock);
	c->sock = -1;
	c->sock_events = 0;
	c->gen++;
	c->established = false;
	c->client_id = -1;
	buf_reset(&c->in);
	cl_out_disconnected(c);
	if (was_established) {
		c->st.disconnects++;
		cl_log_connection_lost(c, why);
		/* The daemon may be back at once (a restart): try right away. */
		cl_schedule_reconnect(c, cl_now_ns(), true);
	} else {
		c->st.connect_failures++;
		cl_log_connect_failed(c, "connection to %s failed: %s",
		    c->path, why);
		cl_schedule_reconnect(c, cl_now_ns(), false);
	}
}

void
cl_write_some(crmpubsub *c)
{
	ssize_t	n;

	while (c->sock != -1 && buf_len(&c->out) > 0) {
		n = send(c->sock, buf_head(&c->out), buf_len(&c->out),
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			cl_out_written(c, (size_t)n);
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			c->out_blocked = true;
			return;
		}
		cl_disconnect(c, n == -1 ? strerror(errno) : "write failed");
		return;
	}
	c->out_blocked = false;
}

/* Splits the input into lines and handles each one. */
static void
cl_handle_input(crmpubsub *c)
{
	const char	*p, *nl;
	size_t		 len;
	unsigned	 gen = c->gen;

	while (c->sock != -1 && c->gen == gen && buf_len(&c->in) > 0) {
		p = buf_head(&c->in);
		nl = memchr(p, '\n', buf_len(&c->in));
		if (nl == NULL) {
			if (buf_len(&c->in) > CL_MAX_INCOMING_LINE)
				cl_disconnect(c, "line from the daemon too long");
			return;
		}
		len = (size_t)(nl - p);
		if (cl_handle_line(c, p, len) == -1) {
			cl_disconnect(c, "protocol error");
			return;
		}
		if (c->gen == gen)
			buf_consume(&c->in, len + 1);
	}
}

/* Reads what the socket has (bounded per call) and handles complete lines. */
static void
cl_read_some(crmpubsub *c, size_t budget)
{
	char	tmp[65536];
	size_t	total = 0, want;
	ssize_t	n;

	while (c->sock != -1 && total < budget) {
		want = budget - total < sizeof tmp ? budget - total : sizeof tmp;
		n = recv(c->sock, tmp, want, MSG_DONTWAIT);
		if (n > 0) {
			total += (size_t)n;
			if (buf_append(&c->in, tmp, (size_t)n) == -1) {
				cl_disconnect(c, "out of memory");
				return;
			}
			cl_handle_input(c);
			if ((size_t)n < want)
				return;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		cl_disconnect(c, n == 0 ? "closed by the daemon" :
		    strerror(errno));
		return;
	}
}

void
cl_pump_budget(crmpubsub *c, int64_t now, size_t budget)
{
	if (c->sock == -1) {
		if (now < c->next_attempt_ns)
			return;
		if (cl_try_connect(c, now) == -1)
			return;
	}
	cl_read_some(c, budget);
	if (c->sock != -1)
		cl_write_some(c);
	/* A loss above may allow an immediate retry (daemon restarted). */
	if (c->sock == -1 && cl_now_ns() >= c->next_attempt_ns &&
	    cl_try_connect(c, cl_now_ns()) == 0) {
		cl_read_some(c, budget);
		if (c->sock != -1)	/* what hello's answer queued */
			cl_write_some(c);
	}
	cl_update_events(c);
}

void
cl_pump(crmpubsub *c, int64_t now)
{
	cl_pump_budget(c, now, CL_READ_BUDGET);
}

void
cl_wait_io(crmpubsub *c, int64_t deadline, bool want_write)
{
	struct pollfd	pfd;
	struct timespec	ts;
	int64_t		now = cl_now_ns(), until;
	int		nfds = 0;

	until = now + (int64_t)CL_WAIT_SLICE_MS * 1000000;
	if (deadline >= 0 && deadline < until)
		until = deadline;
	if (c->sock == -1 && c->next_attempt_ns < until)
		until = c->next_attempt_ns;
	memset(&pfd, 0, sizeof pfd);
	if (c->sock != -1) {
		pfd.fd = c->sock;
		pfd.events = POLLIN | (want_write && buf_len(&c->out) > 0 ?
		    POLLOUT : 0);
		nfds = 1;
	}
	pthread_mutex_unlock(&c->lock);
	if (until > now) {
		ts.tv_sec = (time_t)((until - now) / 1000000000);
		ts.tv_nsec = (long)((until - now) % 1000000000);
		(void)ppoll(nfds ? &pfd : NULL, (nfds_t)nfds, &ts, NULL);
	}
	pthread_mutex_lock(&c->lock);
}
