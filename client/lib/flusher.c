/* SPDX-License-Identifier: MIT — crmpubsub */
/* The flusher: a thread per handle, started lazily the first time a call
 * returns with requests still queued (held by coalescing, socket full, or
 * daemon away). It writes held broadcasts when their coalescing delay
 * ends, writes refused output as the socket allows and reconnects when it
 * waits for a connection, so a writer that goes idle after a burst still
 * gets every queued broadcast out. It sleeps on a condition variable while
 * nothing is queued (or until held output is due), and blocks every
 * signal so handlers run in the application's own threads. */

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"

/* Waits (unlocked) until the socket may take output or has input, the
 * next reconnection attempt is due, or wakefd is written. */
static void
cl_flusher_wait(crmpubsub *c)
{
	struct pollfd	pfd[2];
	struct timespec	ts, *tsp = NULL;
	int64_t		now = cl_now_ns();
	nfds_t		n = 1;
	uint64_t	v;

	memset(pfd, 0, sizeof pfd);
	pfd[0].fd = c->wakefd;
	pfd[0].events = POLLIN;
	if (c->sock != -1) {
		pfd[1].fd = c->sock;
		pfd[1].events = POLLIN | POLLOUT;
		n = 2;
	} else if (c->next_attempt_ns > now) {
		ts.tv_sec = (time_t)((c->next_attempt_ns - now) / 1000000000);
		ts.tv_nsec = (long)((c->next_attempt_ns - now) % 1000000000);
		tsp = &ts;
	} else
		return;
	pthread_mutex_unlock(&c->lock);
	(void)ppoll(pfd, n, tsp, NULL);
	if (pfd[0].revents & POLLIN)
		while (read(c->wakefd, &v, sizeof v) > 0)
			;
	pthread_mutex_lock(&c->lock);
}

/* Whether out holds coalesced output that is not due yet. */
static bool
cl_output_held(const crmpubsub *c, int64_t now)
{
	return c->sock != -1 && !c->out_blocked && c->coalesce_ns > 0 &&
	    now < c->write_due_ns;
}

/* Sleeps on flusher_cond until woken, or until the absolute monotonic
 * time until_ns (0: no limit). */
static void
cl_flusher_sleep(crmpubsub *c, int64_t until_ns)
{
	struct timespec	ts;

	c->flusher_wait_until = until_ns;
	if (until_ns == 0)
		pthread_cond_wait(&c->flusher_cond, &c->lock);
	else {
		ts.tv_sec = (time_t)(until_ns / 1000000000);
		ts.tv_nsec = (long)(until_ns % 1000000000);
		(void)pthread_cond_timedwait(&c->flusher_cond, &c->lock, &ts);
	}
	c->flusher_wait_until = -1;
}

/* The thread: sleep while nothing is queued or until held output is due,
 * pump otherwise. */
static void *
cl_flusher_main(void *arg)
{
	crmpubsub	*c = arg;
	int64_t		 now;

	pthread_mutex_lock(&c->lock);
	while (!c->closing) {
		if (buf_len(&c->out) == 0) {
			cl_flusher_sleep(c, 0);
			continue;
		}
		now = cl_now_ns();
		if (cl_output_held(c, now)) {
			cl_flusher_sleep(c, c->write_due_ns);
			continue;
		}
		cl_pump(c, now);
		if (buf_len(&c->out) > 0 && !c->closing)
			cl_flusher_wait(c);
	}
	c->flusher_wait_until = -1;
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

void
cl_flusher_kick(crmpubsub *c)
{
	sigset_t	all, old;
	int64_t		due;
	int		rc;

	if (buf_len(&c->out) == 0 || c->closing)
		return;
	if (c->flusher_started) {
		/* Wake it only if it would otherwise sleep past what the
		 * output needs: a signal per call would cost a system call
		 * and a context switch each time. */
		if (c->flusher_wait_until < 0)
			return;		/* running, or polling the socket */
		due = c->sock != -1 && !c->out_blocked && c->coalesce_ns > 0 ?
		    c->write_due_ns : 0;
		if (c->flusher_wait_until == 0 ||
		    due == 0 || due < c->flusher_wait_until) {
			c->flusher_wait_until = -1;
			pthread_cond_signal(&c->flusher_cond);
		}
		return;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&c->flusher, NULL, cl_flusher_main, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		/* Not fatal: later calls still write the queue. */
		cl_log(c, CRMPUBSUB_LOG_WARNING, "cannot start the flusher "
		    "thread: %s", strerror(rc));
		return;
	}
	c->flusher_started = true;
}

void
cl_flusher_stop(crmpubsub *c)
{
	uint64_t	one = 1;
	bool		started;

	pthread_mutex_lock(&c->lock);
	c->closing = true;
	started = c->flusher_started;
	pthread_cond_signal(&c->flusher_cond);
	pthread_mutex_unlock(&c->lock);
	if (!started)
		return;
	(void)!write(c->wakefd, &one, sizeof one);
	pthread_join(c->flusher, NULL);
	c->flusher_started = false;
}
