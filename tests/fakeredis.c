/* SPDX-License-Identifier: MIT — crmpubsub */
/* A fake Redis on a Unix socket, served by one thread: commands are read
 * with hiredis's reader and answered the way Redis 7 answers them over
 * RESP2; tests inject raw bytes on a chosen connection. */

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "fakeredis.h"
#include "harness.h"

#define FR_MAX_CONNS	16

struct fr_conn {
	int		 fd;		/* -1: free slot */
	redisReader	*reader;
	unsigned	 seq;		/* accept order */
	unsigned	 nchannels;	/* subscribed now */
	int		 subscribed;	/* ever sent SUBSCRIBE */
	int		 published;	/* ever sent PUBLISH */
};

struct fake_redis {
	char		 path[108];
	int		 listen_fd;
	int		 wake[2];	/* a byte here stops the thread */
	pthread_t	 thread;
	pthread_mutex_t	 lock;		/* the table and every write */
	struct fr_conn	 conns[FR_MAX_CONNS];
	unsigned	 accepted;
};

/* Writes all of p (small replies; the peer reads them); caller holds lock. */
static void
fr_write(int fd, const void *p, size_t len)
{
	const char *s = p;
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, s, len)) == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return;
		}
		s += n;
		len -= (size_t)n;
	}
}

/* Appends one bulk string to out. */
static size_t
fr_bulk(char *out, size_t cap, const char *s, size_t len)
{
	int n = snprintf(out, cap, "$%zu\r\n", len);

	if (n < 0 || (size_t)n + len + 2 > cap)
		return 0;
	memcpy(out + n, s, len);
	memcpy(out + n + len, "\r\n", 2);
	return (size_t)n + len + 2;
}

/* Answers one (un)subscribe confirmation per channel, as Redis does. */
static void
fr_confirm(struct fr_conn *c, const redisReply *cmd, const char *kind)
{
	char out[1024];
	size_t i, n;

	for (i = 1; i < cmd->elements; i++) {
		if (strcmp(kind, "subscribe") == 0)
			c->nchannels++;
		else if (c->nchannels > 0)
			c->nchannels--;
		n = (size_t)snprintf(out, sizeof out, "*3\r\n");
		n += fr_bulk(out + n, sizeof out - n, kind, strlen(kind));
		n += fr_bulk(out + n, sizeof out - n, cmd->element[i]->str,
		    cmd->element[i]->len);
		n += (size_t)snprintf(out + n, sizeof out - n, ":%u\r\n",
		    c->nchannels);
		fr_write(c->fd, out, n);
	}
}

/* Answers one command; caller holds lock. */
static void
fr_command(struct fr_conn *c, const redisReply *cmd)
{
	const char *name;

	if (cmd->type != REDIS_REPLY_ARRAY || cmd->elements == 0 ||
	    cmd->element[0]->type != REDIS_REPLY_STRING) {
		fr_write(c->fd, "-ERR bad command\r\n", 18);
		return;
	}
	name = cmd->element[0]->str;
	if (strcasecmp(name, "PING") == 0 && c->nchannels > 0)
		fr_write(c->fd, "*2\r\n$4\r\npong\r\n$0\r\n\r\n", 20);
	else if (strcasecmp(name, "PING") == 0)
		fr_write(c->fd, "+PONG\r\n", 7);
	else if (strcasecmp(name, "AUTH") == 0)
		fr_write(c->fd, "+OK\r\n", 5);
	else if (strcasecmp(name, "PUBLISH") == 0) {
		c->published = 1;
		fr_write(c->fd, ":0\r\n", 4);
	} else if (strcasecmp(name, "SUBSCRIBE") == 0) {
		c->subscribed = 1;
		fr_confirm(c, cmd, "subscribe");
	} else if (strcasecmp(name, "UNSUBSCRIBE") == 0)
		fr_confirm(c, cmd, "unsubscribe");
	else
		fr_write(c->fd, "-ERR unknown command\r\n", 22);
}

/* Frees slot c; caller holds lock. */
static void
fr_drop(struct fr_conn *c)
{
	close(c->fd);
	redisReaderFree(c->reader);
	memset(c, 0, sizeof *c);
	c->fd = -1;
}

/* Takes a new connection into a free slot (or refuses it). */
static void
fr_accept(struct fake_redis *fr)
{
	int fd = accept4(fr->listen_fd, NULL, NULL, SOCK_CLOEXEC), i;

	if (fd == -1)
		return;
	pthread_mutex_lock(&fr->lock);
	for (i = 0; i < FR_MAX_CONNS && fr->conns[i].fd != -1; i++)
		;
	if (i == FR_MAX_CONNS || (fr->conns[i].reader = redisReaderCreate()) ==
	    NULL) {
		close(fd);
	} else {
		fr->conns[i].fd = fd;
		fr->conns[i].seq = ++fr->accepted;
	}
	pthread_mutex_unlock(&fr->lock);
}

/* Reads what connection i sent and answers each complete command. */
static void
fr_serve(struct fake_redis *fr, int i)
{
	struct fr_conn *c = &fr->conns[i];
	char buf[4096];
	void *cmd;
	ssize_t n = read(c->fd, buf, sizeof buf);

	pthread_mutex_lock(&fr->lock);
	if (n <= 0 || redisReaderFeed(c->reader, buf, (size_t)n) != REDIS_OK) {
		fr_drop(c);
		goto out;
	}
	for (;;) {
		if (redisReaderGetReply(c->reader, &cmd) != REDIS_OK) {
			fr_drop(c);
			break;
		}
		if (cmd == NULL)
			break;
		fr_command(c, cmd);
		freeReplyObject(cmd);
	}
out:
	pthread_mutex_unlock(&fr->lock);
}

/* The server thread: accept, answer, until a byte arrives on wake. */
static void *
fr_main(void *arg)
{
	struct fake_redis *fr = arg;
	struct pollfd pfd[FR_MAX_CONNS + 2];
	int slot[FR_MAX_CONNS + 2], n, i;

	for (;;) {
		pfd[0].fd = fr->wake[0];
		pfd[1].fd = fr->listen_fd;
		n = 2;
		pthread_mutex_lock(&fr->lock);
		for (i = 0; i < FR_MAX_CONNS; i++) {
			if (fr->conns[i].fd == -1)
				continue;
			pfd[n].fd = fr->conns[i].fd;
			slot[n++] = i;
		}
		pthread_mutex_unlock(&fr->lock);
		for (i = 0; i < n; i++)
			pfd[i].events = POLLIN;
		if (poll(pfd, (nfds_t)n, 100) == -1 && errno != EINTR)
			return NULL;
		if (pfd[0].revents)
			return NULL;
		if (pfd[1].revents & POLLIN)
			fr_accept(fr);
		for (i = 2; i < n; i++)
			if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
				fr_serve(fr, slot[i]);
	}
}

struct fake_redis *
fr_start(const char *path)
{
	struct fake_redis *fr = calloc(1, sizeof *fr);
	struct sockaddr_un sun;
	int i;

	if (fr == NULL || strlen(path) >= sizeof sun.sun_path)
		goto fail;
	snprintf(fr->path, sizeof fr->path, "%s", path);
	for (i = 0; i < FR_MAX_CONNS; i++)
		fr->conns[i].fd = -1;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	unlink(path);
	if ((fr->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC,
	    0)) == -1)
		goto fail;
	if (bind(fr->listen_fd, (struct sockaddr *)&sun, sizeof sun) == -1 ||
	    listen(fr->listen_fd, 16) == -1 || pipe2(fr->wake, O_CLOEXEC) == -1)
		goto fail_fd;
	pthread_mutex_init(&fr->lock, NULL);
	if (pthread_create(&fr->thread, NULL, fr_main, fr) != 0)
		goto fail_pipe;
	return fr;
fail_pipe:
	close(fr->wake[0]);
	close(fr->wake[1]);
fail_fd:
	close(fr->listen_fd);
fail:
	free(fr);
	return NULL;
}

void
fr_stop(struct fake_redis *fr)
{
	int i;

	if (fr == NULL)
		return;
	fr_write(fr->wake[1], "x", 1);
	pthread_join(fr->thread, NULL);
	for (i = 0; i < FR_MAX_CONNS; i++)
		if (fr->conns[i].fd != -1)
			fr_drop(&fr->conns[i]);
	close(fr->listen_fd);
	close(fr->wake[0]);
	close(fr->wake[1]);
	unlink(fr->path);
	pthread_mutex_destroy(&fr->lock);
	free(fr);
}

int
fr_inject(struct fake_redis *fr, enum fr_link which, const void *bytes,
    size_t len, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;
	struct fr_conn *c, *best;
	int i;

	for (;;) {
		pthread_mutex_lock(&fr->lock);
		best = NULL;
		for (i = 0; i < FR_MAX_CONNS; i++) {
			c = &fr->conns[i];
			if (c->fd != -1 && (which == FR_SUB ? c->subscribed :
			    c->published) && (best == NULL || c->seq > best->seq))
				best = c;
		}
		if (best != NULL)
			fr_write(best->fd, bytes, len);
		pthread_mutex_unlock(&fr->lock);
		if (best != NULL)
			return 0;
		if (h_now_ms() > deadline)
			return -1;
		h_nap_ms(5);
	}
}

unsigned
fr_accepted(struct fake_redis *fr)
{
	unsigned n;

	pthread_mutex_lock(&fr->lock);
	n = fr->accepted;
	pthread_mutex_unlock(&fr->lock);
	return n;
}
