/* SPDX-License-Identifier: MIT — crmpubsub */
/* Helpers of the suites around /metrics (it_metrics, it_cli):
 * a plain HTTP/1.0 client over TCP or a Unix socket, the exposition read
 * back into samples, and child processes (redis-server) with a log. Every wait is bounded. */
#ifndef CRMPUBSUB_HMETRICS_H
#define CRMPUBSUB_HMETRICS_H

#include <stddef.h>
#include <sys/types.h>

#include "harness.h"

/* A finished HTTP exchange. */
struct hm_reply {
	int	 status;	/* from the status line; 0 when there was none */
	char	*text;		/* the whole response, NUL-terminated */
	size_t	 len;
	char	*body;		/* into text, after the blank line */
};

/* Connects to "IP:PORT" or "unix:/PATH" (bounded); the fd or -1. */
int	 hm_connect(const char *where);
/* Sends request (a whole HTTP request) and reads until the server closes,
 * at most timeout_ms; 0, or -1 on a timeout or error. Free with
 * hm_reply_free. */
int	 hm_exchange(const char *where, const char *request,
	    struct hm_reply *r, int timeout_ms);
/* GET path as HTTP/1.0. */
int	 hm_get(const char *where, const char *path, struct hm_reply *r,
	    int timeout_ms);
void	 hm_reply_free(struct hm_reply *);
/* GET /metrics, asserted 200; the body, malloc'd. */
char	*hm_scrape(const char *where);

/* The address a daemon started with metrics_listen serves /metrics on, as
 * its log names it ("127.0.0.1:41234" for a port of 0), asserted. */
void	 hm_metrics_where(const struct h_daemon *d, char *out, size_t cap);
/* The value of the sample "name" or "name{label=\"v\"}" in an exposition;
 * -1 when absent. */
double	 hm_sample(const char *text, const char *sample);
/* The exposition without its values: HELP and TYPE lines and each sample's
 * name and labels, for comparing two expositions' shape. malloc'd. */
char	*hm_shape(const char *text);
/* The first line where a and b differ ("" when they are equal), into out,
 * as "line N: <a's line> | <b's line>". */
const char *hm_first_difference(const char *a, const char *b, char *out,
	    size_t cap);
/* Runs `promtool check metrics` on text; 0 when it passes, else -1 with
 * promtool's output in out. 1 when promtool is missing (a failure under
 * CI=true, asserted). */
int	 hm_promtool_check(const char *text, char *out, size_t cap);

/* Full path of an executable found on PATH, or NULL. */
const char *hm_which(const char *name, char *out, size_t cap);
/* 1 when the tool is there; otherwise fails the test under CI=true, else
 * prints that the test is skipped and returns 0. */
int	 hm_need(const char *tool);
/* Starts argv (argv[0] looked up on PATH) with stdout and stderr appended
 * to log; killed when the test process dies. The pid (asserted). */
pid_t	 hm_spawn(const char *const *argv, const char *log);
/* Starts redis-server on dir/redis.sock (no TCP port, nothing on disk),
 * log in dir/redis.log, and waits until it accepts; the pid (asserted).
 * sock receives the socket's path. */
pid_t	 hm_redis_start(const char *dir, char *sock, size_t cap);
/* SIGTERM, then SIGKILL after timeout_ms; reaps. No-op for pid <= 0. */
void	 hm_stop(pid_t pid, int timeout_ms);

#endif
