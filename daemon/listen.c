/* SPDX-License-Identifier: MIT — crmpubsub */
/* The listening socket: bind (or inherit from systemd), stale-socket probe,
 * socket mode and group, and accepting with a back-off when out of fds. */

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crmpubsubd.h"
#include "proto_error.h"
#include "reply.h"
#include "sockpath.h"

#define LISTEN_BACKLOG		1024
#define ACCEPTS_PER_WAKEUP	64

static int		 listen_fd = -1;
static int		 listen_inherited;
static char		 listen_sock[sizeof(((struct sockaddr_un *)0)->sun_path)];
static struct stat	 listen_st;		/* the file we created */
static struct event	*listen_ev;
static struct event	*backoff_ev;

static void	listen_accept_cb(evutil_socket_t, short, void *);
static void	listen_backoff_cb(evutil_socket_t, short, void *);

const char *
listen_path(void)
{
	return listen_sock;
}

/* The fd systemd passed (LISTEN_FDS), or -1. */
static int
listen_inherit(void)
{
	const char	*pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");

	if (fds == NULL || atoi(fds) < 1)
		return -1;
	if (pid != NULL && atol(pid) != (long)getpid())
		return -1;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return 3;	/* SD_LISTEN_FDS_START */
}

/* The private default directory /tmp/crmpubsub-<uid> must be ours and 0700. */
static int
listen_private_dir(const char *path, char **cause)
{
	char		 dir[sizeof listen_sock], *slash;
	struct stat	 st;
	char		 expect[64];

	snprintf(expect, sizeof expect, "/tmp/crmpubsub-%u", (unsigned)getuid());
	snprintf(dir, sizeof dir, "%s", path);
	if ((slash = strrchr(dir, '/')) == NULL)
		return 0;
	*slash = '\0';
	if (strcmp(dir, expect) != 0)
		return 0;
	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		return log_cause(cause, "mkdir %s: %s", dir, strerror(errno));
	if (lstat(dir, &st) == -1)
		return log_cause(cause, "%s: %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode) || st.st_uid != getuid() ||
	    (st.st_mode & 077) != 0)
		return log_cause(cause, "%s must be a directory owned by uid "
		    "%u with mode 0700", dir, (unsigned)getuid());
	return 0;
}

/* An existing path: refuse when a daemon answers there, else remove the
 * stale socket. Anything that is not a socket is left alone. */
int
listen_probe(const char *path, char **cause)
{
	struct sockaddr_un	sun;
	struct stat		st;
	int			fd, rc;

	if (lstat(path, &st) == -1)
		return errno == ENOENT ? 0 : log_cause(cause, "%s: %s", path,
		    strerror(errno));
	if (!S_ISSOCK(st.st_mode))
		return log_cause(cause, "%s exists and is not a socket", path);
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return log_cause(cause, "socket: %s", strerror(errno));
	rc = connect(fd, (struct sockaddr *)&sun, sizeof sun);
	close(fd);
	if (rc == 0)
		return log_cause(cause, "already running: a daemon answers "
		    "on %s", path);
	if (errno != ECONNREFUSED)
		return log_cause(cause, "%s: %s", path, strerror(errno));
	log_info("removing stale socket %s", path);
	if (unlink(path) == -1 && errno != ENOENT)
		return log_cause(cause, "unlink %s: %s", path, strerror(errno));
	return 0;
}

/* Why the socket could not be created at path: the directory that is
 * missing (the one nearest the root) or the error, and where the path came
 * from. Returns -1. */
static int
listen_create_error(const char *path, const char *origin, int err,
    char **cause)
{
	char		 dir[sizeof listen_sock], missing[sizeof listen_sock];
	char		*slash;
	struct stat	 st;

	snprintf(dir, sizeof dir, "%s", path);
	missing[0] = '\0';
	while (err == ENOENT && (slash = strrchr(dir, '/')) != NULL &&
	    slash != dir) {
		*slash = '\0';
		if (stat(dir, &st) == 0)
			break;
		snprintf(missing, sizeof missing, "%s", dir);
	}
	if (missing[0] != '\0')
		return log_cause(cause, "cannot create the socket %s (from "
		    "%s): directory %s does not exist", path, origin, missing);
	return log_cause(cause, "cannot create the socket %s (from %s): %s",
	    path, origin, strerror(err));
}

/* Binds and listens on a temporary name, sets mode and group, then renames
 * it into place: the path appears only once it accepts connections. The
 * temporary name is the path plus LISTEN_TMP_SUFFIX bytes. */
static int
listen_bind(const char *path, const char *origin, const struct config *c,
    char **cause)
{
	struct sockaddr_un	 sun;
	struct group		*gr;
	char			 tmp[sizeof sun.sun_path];
	int			 fd, n, err;
	mode_t			 old;

	n = snprintf(tmp, sizeof tmp, "%s.%07ld", path, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof tmp)
		return log_cause(cause, "socket path too long: %s (%zu bytes, "
		    "at most %zu)", path, strlen(path), LISTEN_PATH_MAX);
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, tmp, strlen(tmp));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return log_cause(cause, "socket: %s", strerror(errno));
	unlink(tmp);
	old = umask(0077);
	n = bind(fd, (struct sockaddr *)&sun, sizeof sun);
	err = errno;
	umask(old);
	if (n == -1) {
		listen_create_error(path, origin, err, cause);
		goto fail;
	}
	if (listen(fd, LISTEN_BACKLOG) == -1) {
		log_cause(cause, "listen on %s: %s", path, strerror(errno));
		goto fail_unlink;
	}
	/* config_set checked that the group exists; it may have gone since. */
	if (c->socket_group != NULL) {
		if ((gr = getgrnam(c->socket_group)) == NULL) {
			log_cause(cause, "socket_group: no group '%s'",
			    c->socket_group);
			goto fail_unlink;
		}
		if (chown(tmp, (uid_t)-1, gr->gr_gid) == -1) {
			log_cause(cause, "socket_group %s for %s: %s",
			    c->socket_group, path, strerror(errno));
			goto fail_unlink;
		}
	}
	if (chmod(tmp, (mode_t)c->socket_mode) == -1) {
		log_cause(cause, "socket_mode %04o for %s: %s", c->socket_mode,
		    path, strerror(errno));
		goto fail_unlink;
	}
	if (rename(tmp, path) == -1) {
		listen_create_error(path, origin, errno, cause);
		goto fail_unlink;
	}
	if (stat(path, &listen_st) == -1)
		memset(&listen_st, 0, sizeof listen_st);
	return fd;
fail_unlink:
	unlink(tmp);
fail:
	close(fd);
	return -1;
}

int
listen_open(struct event_base *b, const struct config *c, char **cause)
{
	const char	*err, *origin;
	int		 fd;

	if ((fd = listen_inherit()) != -1) {
		struct sockaddr_un	sun;
		socklen_t		len = sizeof sun;

		listen_inherited = 1;
		if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1 ||
		    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1)
			return log_cause(cause, "inherited socket: %s",
			    strerror(errno));
		if (getsockname(fd, (struct sockaddr *)&sun, &len) == 0)
			snprintf(listen_sock, sizeof listen_sock, "%s",
			    sun.sun_path);
		if (c->socket_path != NULL)
			log_info("socket activation: serving the inherited "
			    "socket, not %s", c->socket_path);
	} else {
		if (sockpath_resolve_origin(c->socket_path, SOCKPATH_DAEMON,
		    listen_sock, LISTEN_PATH_MAX + 1, &err, &origin) == -1)
			return log_cause(cause, "%s: %s", origin, err);
		if (listen_private_dir(listen_sock, cause) == -1 ||
		    listen_probe(listen_sock, cause) == -1 ||
		    (fd = listen_bind(listen_sock, origin, c, cause)) == -1)
			return -1;
	}
	listen_fd = fd;
	listen_ev = event_new(b, fd, EV_READ | EV_PERSIST, listen_accept_cb,
	    NULL);
	backoff_ev = evtimer_new(b, listen_backoff_cb, NULL);
	if (listen_ev == NULL || backoff_ev == NULL ||
	    event_add(listen_ev, NULL) == -1)
		return log_cause(cause, "out of memory");
	return 0;
}

/* Over max_connections: one error line, then close. */
static void
listen_refuse(int fd)
{
	struct buf	line = BUF_INIT;

	ops_reply_error(&line, NULL, NULL, PERR_TOO_MANY,
	    "too many connections (max_connections)");
	if (send(fd, buf_head(&line), buf_len(&line),
	    MSG_NOSIGNAL | MSG_DONTWAIT) == -1)
		log_debug("refused connection: %s", strerror(errno));
	buf_free(&line);
	stats.connections_rejected++;
	close(fd);
}

static void
listen_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct timeval	tv = { 1, 0 };
	int		fd, i;

	for (i = 0; i < ACCEPTS_PER_WAKEUP; i++) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				/* Out of descriptors: pause accepting for a
				 * second instead of spinning on the event. */
				log_warn("accept");
				event_del(listen_ev);
				evtimer_add(backoff_ev, &tv);
			} else if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				log_warn("accept");
			return;
		}
		if (nconns >= cfg->max_connections) {
			listen_refuse(fd);
			continue;
		}
		if (conn_new(fd) == NULL) {
			log_warnx("out of memory for a new connection");
			close(fd);
		}
	}
}

static void
listen_backoff_cb(evutil_socket_t fd, short what, void *arg)
{
	event_add(listen_ev, NULL);
}

void
listen_stop(void)
{
	struct stat	st;

	if (listen_ev != NULL) {
		event_free(listen_ev);
		listen_ev = NULL;
	}
	if (backoff_ev != NULL) {
		event_free(backoff_ev);
		backoff_ev = NULL;
	}
	if (listen_fd == -1)
		return;
	close(listen_fd);
	listen_fd = -1;
	/* Remove only our own socket: an inherited one belongs to systemd and
	 * a replaced path belongs to whoever replaced it. */
	if (!listen_inherited && stat(listen_sock, &st) == 0 &&
	    st.st_ino == listen_st.st_ino && st.st_dev == listen_st.st_dev)
		unlink(listen_sock);
}
