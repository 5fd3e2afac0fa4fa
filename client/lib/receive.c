/* SPDX-License-Identifier: MIT — crmpubsub */
/* Receiving: the stable descriptor for the caller's loop, the blocking
 * "next message" call and dispatch to a callback. */

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>

#include "client.h"

int
crmpubsub_fd(crmpubsub *c)
{
	if (c == NULL) {
		errno = EINVAL;
		return -1;
	}
	return c->epfd;	/* fixed at crmpubsub_new: no lock needed */
}

/* Waits on the epoll set (socket, reconnect timer, message eventfd) until
 * deadline (-1: none). Called and returns with the lock held. */
static void
cl_wait_any(crmpubsub *c, int64_t deadline)
{
	struct pollfd	pfd;
	struct timespec	ts;
	int64_t		now = cl_now_ns();

	memset(&pfd, 0, sizeof pfd);
	pfd.fd = c->epfd;
	pfd.events = POLLIN;
	pthread_mutex_unlock(&c->lock);
	if (deadline < 0)
		(void)ppoll(&pfd, 1, NULL, NULL);
	else if (deadline > now) {
		ts.tv_sec = (time_t)((deadline - now) / 1000000000);
		ts.tv_nsec = (long)((deadline - now) % 1000000000);
		(void)ppoll(&pfd, 1, &ts, NULL);
	}
	pthread_mutex_lock(&c->lock);
}

/* Takes one message, driving the connection and waiting until deadline. */
static int
cl_next(crmpubsub *c, struct crmpubsub_message *msg, int64_t deadline)
{
	for (;;) {
		/* Queued messages first: no system call per message. */
		if (cl_msg_pop(c, msg))
			return 1;
		cl_pump(c, cl_now_ns());
		if (cl_msg_pop(c, msg))
			return 1;
		if (deadline >= 0 && cl_now_ns() >= deadline)
			return 0;
		cl_wait_any(c, deadline);
	}
}

/* The absolute deadline of a timeout in ms (-1 stays "none"). */
static int64_t
cl_deadline(int timeout_ms)
{
	return timeout_ms < 0 ? -1 :
	    cl_now_ns() + (int64_t)timeout_ms * 1000000;
}

int
crmpubsub_next_message(crmpubsub *c, struct crmpubsub_message *msg,
    int timeout_ms)
{
	int	got;

	if (c == NULL || msg == NULL) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&c->lock);
	got = cl_next(c, msg, cl_deadline(timeout_ms));
	pthread_mutex_unlock(&c->lock);
	return got;
}

int
crmpubsub_dispatch(crmpubsub *c, crmpubsub_message_fn *fn, void *arg,
    int timeout_ms)
{
	struct crmpubsub_message	msg;
	int				n = 0;

	if (c == NULL) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&c->lock);
	if (cl_next(c, &msg, cl_deadline(timeout_ms))) {
		do {
			/* The callback runs unlocked and may use the handle. */
			pthread_mutex_unlock(&c->lock);
			if (fn != NULL)
				fn(arg, &msg);
			n++;
			pthread_mutex_lock(&c->lock);
		} while (cl_msg_pop(c, &msg));
	}
	pthread_mutex_unlock(&c->lock);
	return n;
}
