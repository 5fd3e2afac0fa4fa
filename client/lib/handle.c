/* SPDX-License-Identifier: MIT — crmpubsub */
/* libcrmpubsub handles: creation, options, counters, logging and close. */

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "client.h"

_Static_assert(CRMPUBSUB_TOPIC_MAX == TOPIC_MAX_LEN, "topic length");

static const int cl_default_timeouts[CL_NTIMEOUTS] = {
	[CRMPUBSUB_TIMEOUT_BROADCAST] = CL_DEFAULT_BROADCAST_MS,
	[CRMPUBSUB_TIMEOUT_REQUEST] = CL_DEFAULT_REQUEST_MS,
	[CRMPUBSUB_TIMEOUT_CONNECT] = CL_DEFAULT_CONNECT_MS,
	[CRMPUBSUB_TIMEOUT_RECONNECT_MIN] = CL_DEFAULT_RECONNECT_MIN_MS,
	[CRMPUBSUB_TIMEOUT_RECONNECT_MAX] = CL_DEFAULT_RECONNECT_MAX_MS,
};

/* Monotonic clock in nanoseconds. */
int64_t
cl_now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Remembers a broadcast failure for the next crmpubsub_flush. */
void
cl_broadcast_failed(crmpubsub *c)
{
	c->flush_failures++;
}

/* Registers fd for readability in the handle's epoll set. */
static int
cl_epoll_add(int epfd, int fd)
{
	struct epoll_event	ev;

	memset(&ev, 0, sizeof ev);
	ev.events = EPOLLIN;
	ev.data.fd = fd;
	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

/* A condition variable whose timed waits use CLOCK_MONOTONIC, the clock
 * of cl_now_ns. 0, or an error number. */
static int
cl_cond_init_monotonic(pthread_cond_t *cond)
{
	pthread_condattr_t	attr;
	int			rc;

	if ((rc = pthread_condattr_init(&attr)) != 0)
		return rc;
	rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (rc == 0)
		rc = pthread_cond_init(cond, &attr);
	pthread_condattr_destroy(&attr);
	return rc;
}

crmpubsub *
crmpubsub_new(void)
{
	crmpubsub	*c;
	int		 saved;

	c = calloc(1, sizeof *c);
	if (c == NULL)
		return NULL;
	c->epfd = c->tfd = c->evfd = c->wakefd = c->sock = -1;
	c->reqs.size = sizeof(struct cl_req);
	c->msgs.size = sizeof(struct crmpubsub_message);
	if (pthread_mutex_init(&c->lock, NULL) != 0) {
		free(c);
		errno = ENOMEM;
		return NULL;
	}
	if (cl_cond_init_monotonic(&c->flusher_cond) != 0) {
		pthread_mutex_destroy(&c->lock);
		free(c);
		errno = ENOMEM;
		return NULL;
	}
	c->flusher_wait_until = -1;
	memcpy(c->timeout_ms, cl_default_timeouts, sizeof c->timeout_ms);
	c->max_queue = CL_DEFAULT_QUEUE_BYTES;
	c->max_messages = CL_DEFAULT_MESSAGES;
	c->coalesce_ns = (int64_t)CL_DEFAULT_COALESCE_US * 1000;
	c->coalesce_bytes = CL_DEFAULT_COALESCE_BYTES;
	c->client_id = -1;
	c->max_line = REQUEST_MAX_LINE_DEFAULT;
	c->owner = getpid();
	cl_log_init(c);
	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	c->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	c->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	c->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (c->epfd == -1 || c->tfd == -1 || c->evfd == -1 || c->wakefd == -1 ||
	    cl_epoll_add(c->epfd, c->tfd) == -1 ||
	    cl_epoll_add(c->epfd, c->evfd) == -1)
		goto fail;
	/* The first attempt is due now, so a loop watching crmpubsub_fd()
	 * wakes up and connects even before any other call. */
	c->next_attempt_ns = 0;
	{
		struct itimerspec its;

		memset(&its, 0, sizeof its);
		its.it_value.tv_nsec = 1;
		if (timerfd_settime(c->tfd, 0, &its, NULL) == 0)
			c->timer_armed = true;
	}
	return c;
fail:
	saved = errno;
	if (c->epfd != -1)
		close(c->epfd);
	if (c->tfd != -1)
		close(c->tfd);
	if (c->evfd != -1)
		close(c->evfd);
	if (c->wakefd != -1)
		close(c->wakefd);
	pthread_cond_destroy(&c->flusher_cond);
	pthread_mutex_destroy(&c->lock);
	free(c);
	errno = saved;
	return NULL;
}

crmpubsub *
crmpubsub_open(const char *socket_path, const char *client_name)
{
	crmpubsub	*c;
	int		 saved;

	c = crmpubsub_new();
	if (c == NULL)
		return NULL;
	if ((socket_path != NULL &&
	    crmpubsub_set_socket_path(c, socket_path) == -1) ||
	    (client_name != NULL &&
	    crmpubsub_set_client_name(c, client_name) == -1)) {
		saved = errno;
		crmpubsub_close(c);
		errno = saved;
		return NULL;
	}
	(void)crmpubsub_connect(c);
	return c;
}

/* Frees what the handle owns once nothing uses it. */
static void
cl_free_handle(crmpubsub *c)
{
	size_t	i;

	if (c->sock != -1)
		close(c->sock);
	for (i = 0; i < c->reqs.n; i++)
		cl_req_release(cl_reqq_at(&c->reqs, i));
	cl_ring_free(&c->reqs);
	buf_free(&c->out);
	buf_free(&c->in);
	cl_ring_free(&c->msgs);
	free(c->held);
	free(c->socket_opt);
	free(c->name);
	close(c->epfd);
	close(c->tfd);
	close(c->evfd);
	close(c->wakefd);
}

/* close in a child of fork(2): the flusher thread, the connection and the
 * lock's state belong to the parent. Drop this process's copies of the
 * descriptors and memory without writing, locking or joining anything:
 * the parent's connection is untouched (closing a copied descriptor does
 * not shut the socket down). */
static void
cl_close_in_child(crmpubsub *c)
{
	cl_free_handle(c);
	/* No destroy: a copied lock or condition may look busy forever. */
	free(c);
}

void
crmpubsub_close(crmpubsub *c)
{
	int64_t	deadline;

	if (c == NULL)
		return;
	if (getpid() != c->owner) {
		cl_close_in_child(c);
		return;
	}
	cl_flusher_stop(c);
	pthread_mutex_lock(&c->lock);
	/* Give queued requests one bounded chance to leave. */
	deadline = cl_now_ns() +
	    (int64_t)c->timeout_ms[CRMPUBSUB_TIMEOUT_BROADCAST] * 1000000;
	for (;;) {
		if (c->sock != -1)
			cl_write_some(c);
		if (c->sock == -1 || buf_len(&c->out) == 0 ||
		    cl_now_ns() >= deadline)
			break;
		cl_wait_io(c, deadline, true);
	}
	cl_free_handle(c);
	pthread_mutex_unlock(&c->lock);
	pthread_cond_destroy(&c->flusher_cond);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

bool
crmpubsub_is_connected(crmpubsub *c)
{
	bool	up;

	if (c == NULL)
		return false;
	pthread_mutex_lock(&c->lock);
	/* Progress first: a loss shows only once the socket is read, and a
	 * writer whose broadcasts are held may not have read it yet. */
	cl_pump(c, cl_now_ns());
	up = c->sock != -1 && c->established;
	pthread_mutex_unlock(&c->lock);
	return up;
}

long long
crmpubsub_client_id(crmpubsub *c)
{
	long long	id;

	if (c == NULL)
		return -1;
	pthread_mutex_lock(&c->lock);
	id = c->sock != -1 && c->established ? c->client_id : -1;
	pthread_mutex_unlock(&c->lock);
	return id;
}

/* Replaces a heap string option. */
static int
cl_set_string(crmpubsub *c, char **slot, const char *value)
{
	char	*copy = NULL;

	if (value != NULL && (copy = strdup(value)) == NULL)
		return -1;
	pthread_mutex_lock(&c->lock);
	free(*slot);
	*slot = copy;
	pthread_mutex_unlock(&c->lock);
	return 0;
}

int
crmpubsub_set_socket_path(crmpubsub *c, const char *path)
{
	if (c == NULL) {
		errno = EINVAL;
		return -1;
	}
	if (path != NULL && strlen(path) >= sizeof c->path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return cl_set_string(c, &c->socket_opt,
	    path != NULL && *path != '\0' ? path : NULL);
}

/* Whether the daemon takes s as a hello name: at most REQUEST_NAME_MAX bytes
 * of valid UTF-8 (its JSON parser, jansson, rejects anything else; control
 * characters are escaped on the wire and accepted). 0, or -1 with errno. */
static int
cl_check_name(const char *s)
{
	size_t	 len = strlen(s);
	json_t	*j;

	if (len > REQUEST_NAME_MAX) {
		errno = EINVAL;
		return -1;
	}
	/* jansson's own check, the one the daemon's parser applies. */
	if ((j = json_stringn(s, len)) != NULL) {
		json_decref(j);
		return 0;
	}
	if ((j = json_stringn_nocheck(s, len)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	json_decref(j);
	errno = EINVAL;
	return -1;
}

int
crmpubsub_set_client_name(crmpubsub *c, const char *name)
{
	if (c == NULL) {
		errno = EINVAL;
		return -1;
	}
	if (name != NULL && cl_check_name(name) == -1)
		return -1;
	return cl_set_string(c, &c->name, name);
}

int
crmpubsub_set_timeout(crmpubsub *c, enum crmpubsub_timeout which, int ms)
{
	if (c == NULL || (unsigned)which >= CL_NTIMEOUTS || ms < 0) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&c->lock);
	c->timeout_ms[which] = ms;
	pthread_mutex_unlock(&c->lock);
	return 0;
}

int
crmpubsub_set_limit(crmpubsub *c, enum crmpubsub_limit which, size_t value)
{
	if (c == NULL || value < 1) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&c->lock);
	switch (which) {
	case CRMPUBSUB_LIMIT_QUEUE_BYTES:
		c->max_queue = value;
		break;
	case CRMPUBSUB_LIMIT_MESSAGES:
		c->max_messages = value;
		break;
	default:
		pthread_mutex_unlock(&c->lock);
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_unlock(&c->lock);
	return 0;
}

int
crmpubsub_set_coalesce(crmpubsub *c, int delay_us, size_t max_bytes)
{
	if (c == NULL || delay_us < 0 || delay_us > CL_MAX_COALESCE_US ||
	    max_bytes < 1) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&c->lock);
	c->coalesce_ns = (int64_t)delay_us * 1000;
	c->coalesce_bytes = max_bytes;
	/* Output held under the old setting leaves now. */
	c->write_due_ns = 0;
	if (buf_len(&c->out) > 0)
		cl_flusher_kick(c);
	pthread_mutex_unlock(&c->lock);
	return 0;
}

void
crmpubsub_stats(crmpubsub *c, struct crmpubsub_stats *out)
{
	if (out == NULL)
		return;
	if (c == NULL) {
		memset(out, 0, sizeof *out);
		return;
	}
	pthread_mutex_lock(&c->lock);
	*out = c->st;
	pthread_mutex_unlock(&c->lock);
}

const char *
crmpubsub_version(void)
{
	return CRMPUBSUB_VERSION;
}
