/* SPDX-License-Identifier: MIT — crmpubsub */
/* The /metrics listener: libevent's evhttp on the metrics_listen address, a
 * numeric TCP address or a Unix socket (unix:/PATH). Off unless configured.
 *
 * No HTTP peer can stall the loop or take what clients need: a request's
 * headers are at most HTTPD_MAX_HEADERS bytes and it has no body; every
 * connection is closed after one reply and lives at most HTTPD_DEADLINE_S
 * seconds from accept, however slowly its peer sends (a slowloris too); at
 * most HTTPD_MAX_CONNS are open at once, and beyond that the listener stops
 * accepting, so more peers wait in the kernel's backlog without taking a
 * descriptor.
 *
 * libevent 2.1 tells nobody when evhttp accepts or drops a connection, so
 * the daemon makes each connection's bufferevent itself (evhttp_set_bevcb)
 * and keeps a reference on it: the slot. A connection that sends a request
 * is known by its evhttp_connection from then on, and its close callback
 * frees the slot. One whose request never reaches the handler (garbage,
 * a slowloris, a request evhttp refused) is found by its deadline: its
 * socket is shut down, which makes evhttp drop it if it has not already,
 * and the slot is freed. */

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "crmpubsubd.h"

#define HTTPD_MAX_CONNS		16
#define HTTPD_DEADLINE_S	5
#define HTTPD_MAX_HEADERS	8192
#define HTTPD_BACKLOG		16
#define HTTPD_UNIX_MODE		0666	/* like a loopback port: any local user */

/* A parsed metrics_listen value. */
struct httpd_addr {
	struct sockaddr_storage	ss;
	socklen_t		len;
	char			path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

/* One slot: an accepted connection, until it closes or its deadline. */
struct httpd_conn {
	struct bufferevent		*bev;		/* holds a reference */
	struct evhttp_connection	*evcon;		/* once it sent a request */
	struct event			*deadline;
	LIST_ENTRY(httpd_conn)		 entry;
};

static struct evhttp			*http;
static struct evhttp_bound_socket	*bound;
static LIST_HEAD(, httpd_conn)		 open_conns =
    LIST_HEAD_INITIALIZER(open_conns);
static unsigned				 nopen;
static char				 unix_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static struct stat			 unix_st;	/* the file we made */
static struct buf			 scratch;	/* stats, then the text */

/* Parses unix:/PATH, A.B.C.D:PORT or [IPV6]:PORT (port 0: any free one);
 * host names are not resolved. 0 or -1. */
static int
httpd_parse(const char *s, struct httpd_addr *a)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)&a->ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&a->ss;
	const char		*colon = strrchr(s, ':');
	char			 host[64], *end;
	size_t			 hostlen;
	unsigned long		 port;

	memset(a, 0, sizeof *a);
	if (strncmp(s, "unix:", 5) == 0) {
		if (s[5] != '/' || strlen(s + 5) >= sizeof a->path)
			return -1;
		snprintf(a->path, sizeof a->path, "%s", s + 5);
		return 0;
	}
	if (colon == NULL || colon[1] < '0' || colon[1] > '9')
		return -1;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || port > 65535)
		return -1;
	hostlen = (size_t)(colon - s);
	if (s[0] == '[') {
		if (hostlen < 3 || s[hostlen - 1] != ']' || hostlen - 2 >= sizeof host)
			return -1;
		memcpy(host, s + 1, hostlen - 2);
		host[hostlen - 2] = '\0';
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			return -1;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		a->len = sizeof *sin6;
		return 0;
	}
	if (hostlen >= sizeof host)
		return -1;
	memcpy(host, s, hostlen);
	host[hostlen] = '\0';
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
		return -1;
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	a->len = sizeof *sin;
	return 0;
}

int
httpd_check_address(const char *s)
{
	struct httpd_addr	a;

	return httpd_parse(s, &a);
}

/* "127.0.0.1:9470", "[::1]:9470" or "unix:/path" of a bound socket. */
static void
httpd_format(int fd, const struct httpd_addr *a, char *out, size_t len)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sslen = sizeof ss;
	char			 host[INET6_ADDRSTRLEN];
	const void		*ip;
	int			 port;

	if (a->path[0] != '\0') {
		snprintf(out, len, "unix:%s", a->path);
		return;
	}
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == -1)
		ss = a->ss;
	if (ss.ss_family == AF_INET6) {
		ip = &((struct sockaddr_in6 *)&ss)->sin6_addr;
		port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	} else {
		ip = &((struct sockaddr_in *)&ss)->sin_addr;
		port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	}
	inet_ntop(ss.ss_family, ip, host, sizeof host);
	snprintf(out, len, ss.ss_family == AF_INET6 ? "[%s]:%d" : "%s:%d",
	    host, port);
}

/* A listening socket at a (text: as configured); the fd, or -1 with
 * *cause. */
static int
httpd_listen(const struct httpd_addr *a, const char *text, char **cause)
{
	struct sockaddr_un	sun;
	const struct sockaddr	*sa = (const struct sockaddr *)&a->ss;
	socklen_t		len = a->len;
	int			fd, one = 1, family = a->ss.ss_family;

	if (a->path[0] != '\0') {
		if (listen_probe(a->path, cause) == -1)
			return -1;
		memset(&sun, 0, sizeof sun);
		sun.sun_family = AF_UNIX;
		memcpy(sun.sun_path, a->path, strlen(a->path));
		sa = (const struct sockaddr *)&sun;
		len = sizeof sun;
		family = AF_UNIX;
	}
	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd != -1 && family != AF_UNIX)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (fd == -1 || bind(fd, sa, len) == -1 ||
	    listen(fd, HTTPD_BACKLOG) == -1 ||
	    (family == AF_UNIX && chmod(a->path, HTTPD_UNIX_MODE) == -1)) {
		int	err = errno;

		if (fd != -1)
			close(fd);
		return log_cause(cause, "metrics_listen %s: %s", text,
		    strerror(err));
	}
	if (family == AF_UNIX) {
		snprintf(unix_path, sizeof unix_path, "%s", a->path);
		if (stat(unix_path, &unix_st) == -1)
			memset(&unix_st, 0, sizeof unix_st);
	}
	return fd;
}

/* The listener evhttp accepts on, while one is bound. */
static struct evconnlistener *
httpd_listener(void)
{
	return bound != NULL ? evhttp_bound_socket_get_listener(bound) : NULL;
}

/* Frees a slot, and accepts again if the slots were all taken. */
static void
httpd_release(struct httpd_conn *c)
{
	LIST_REMOVE(c, entry);
	event_free(c->deadline);
	bufferevent_decref(c->bev);
	free(c);
	if (nopen-- == HTTPD_MAX_CONNS && httpd_listener() != NULL)
		evconnlistener_enable(httpd_listener());
}

/* evhttp is dropping a connection that sent a request. */
static void
httpd_closed_cb(struct evhttp_connection *evcon, void *arg)
{
	evhttp_connection_set_closecb(evcon, NULL, NULL);
	httpd_release(arg);
}

/* A connection outlived HTTPD_DEADLINE_S: drop it through evhttp when it
 * is known, else shut its socket so that evhttp sees the peer gone. */
static void
httpd_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct httpd_conn	*c = arg;
	evutil_socket_t		 sfd = bufferevent_getfd(c->bev);

	log_debug("%s: dropping an HTTP connection after %d s", __func__,
	    HTTPD_DEADLINE_S);
	if (c->evcon != NULL) {
		evhttp_connection_free(c->evcon);	/* calls httpd_closed_cb */
		return;
	}
	if (sfd != -1)
		shutdown(sfd, SHUT_RDWR);
	httpd_release(c);
}

/* evhttp accepted a connection and asks for its bufferevent: takes a slot,
 * arms the deadline, and stops accepting when the slots are all taken.
 * NULL (evhttp then makes a plain one) only when memory runs out. */
static struct bufferevent *
httpd_conn_new(struct event_base *b, void *arg)
{
	struct timeval		 tv = { HTTPD_DEADLINE_S, 0 };
	struct httpd_conn	*c;

	if ((c = calloc(1, sizeof *c)) == NULL)
		return NULL;
	c->bev = bufferevent_socket_new(b, -1, BEV_OPT_CLOSE_ON_FREE);
	c->deadline = evtimer_new(b, httpd_deadline_cb, c);
	if (c->bev == NULL || c->deadline == NULL ||
	    evtimer_add(c->deadline, &tv) == -1) {
		if (c->bev != NULL)
			bufferevent_free(c->bev);
		if (c->deadline != NULL)
			event_free(c->deadline);
		free(c);
		return NULL;
	}
	bufferevent_incref(c->bev);	/* the slot's; evhttp has the other */
	LIST_INSERT_HEAD(&open_conns, c, entry);
	if (++nopen == HTTPD_MAX_CONNS && httpd_listener() != NULL)
		evconnlistener_disable(httpd_listener());
	return c->bev;
}

/* The slot of the connection a request came on is from now on known by
 * its evhttp_connection, whose close frees it. A connection without a slot
 * (its bufferevent was made when memory ran out) is left alone. */
static void
httpd_track(struct evhttp_request *req)
{
	struct evhttp_connection	*evcon = evhttp_request_get_connection(req);
	struct bufferevent		*bev;
	struct httpd_conn		*c;

	if (evcon == NULL)
		return;
	bev = evhttp_connection_get_bufferevent(evcon);
	LIST_FOREACH(c, &open_conns, entry)
		if (c->bev == bev && c->evcon == NULL) {
			c->evcon = evcon;
			evhttp_connection_set_closecb(evcon, httpd_closed_cb, c);
			return;
		}
}

/* GET /metrics: the exposition of what the stats op would return now. */
static void
httpd_request(struct evhttp_request *req, void *arg)
{
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	const char		*path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	struct evkeyvalq	*headers = evhttp_request_get_output_headers(req);
	struct evbuffer		*body;
	json_t			*obj;

	httpd_track(req);
	evhttp_add_header(headers, "Connection", "close");
	if (path == NULL || strcmp(path, "/metrics") != 0) {
		evhttp_send_error(req, HTTP_NOTFOUND, "only /metrics is here");
		return;
	}
	buf_reset(&scratch);
	stats_write(&scratch);
	obj = json_loadb(buf_head(&scratch), buf_len(&scratch), 0, NULL);
	buf_reset(&scratch);
	if (obj == NULL || metrics_write(obj, &scratch) == -1 ||
	    (body = evbuffer_new()) == NULL) {
		json_decref(obj);
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	json_decref(obj);
	/* evhttp 2.1 would send a body with the reply to HEAD. */
	if (evhttp_request_get_command(req) != EVHTTP_REQ_HEAD)
		evbuffer_add(body, buf_head(&scratch), buf_len(&scratch));
	evhttp_add_header(headers, "Content-Type",
	    "text/plain; version=0.0.4; charset=utf-8");
	evhttp_send_reply(req, HTTP_OK, "OK", body);
	evbuffer_free(body);
}

int
httpd_open(struct event_base *b, const struct config *c, char **cause)
{
	struct httpd_addr	a;
	char			where[sizeof a.path + 16];
	int			fd;

	if (c->metrics_listen == NULL)
		return 0;
	*cause = NULL;	/* the caller's words, unless said otherwise */
	/* config_set checked the address. */
	if (httpd_parse(c->metrics_listen, &a) == -1 ||
	    (fd = httpd_listen(&a, c->metrics_listen, cause)) == -1)
		return -1;
	httpd_format(fd, &a, where, sizeof where);
	if ((http = evhttp_new(b)) == NULL ||
	    (bound = evhttp_accept_socket_with_handle(http, fd)) == NULL) {
		close(fd);
		httpd_close();
		return -1;
	}
	evhttp_set_max_headers_size(http, HTTPD_MAX_HEADERS);
	evhttp_set_max_body_size(http, 0);
	evhttp_set_timeout(http, HTTPD_DEADLINE_S);
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_bevcb(http, httpd_conn_new, NULL);
	evhttp_set_gencb(http, httpd_request, NULL);
	log_info("serving /metrics on %s", where);
	return 0;
}

void
httpd_close(void)
{
	struct stat	st;

	bound = NULL;	/* evhttp_free closes it; nothing may enable it now */
	if (http != NULL) {
		evhttp_free(http);	/* frees the slots of known connections */
		http = NULL;
	}
	while (!LIST_EMPTY(&open_conns))
		httpd_release(LIST_FIRST(&open_conns));
	buf_free(&scratch);
	if (unix_path[0] != '\0' && stat(unix_path, &st) == 0 &&
	    st.st_ino == unix_st.st_ino && st.st_dev == unix_st.st_dev)
		unlink(unix_path);
	unix_path[0] = '\0';
}
