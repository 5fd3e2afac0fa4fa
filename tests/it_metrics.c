/* SPDX-License-Identifier: MIT — crmpubsub */
/* Integration suite for /metrics: the real daemon with metrics_listen on
 * 127.0.0.1 port 0 or a Unix socket; the exposition checked by promtool;
 * every metric against the stats op under a scripted load (broadcasts,
 * drops, a resync, a slow-consumer close, errors, refused connections);
 * hostile HTTP peers while a subscriber keeps receiving; federation
 * metrics with a real redis-server; bad addresses. */

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hmetrics.h"

#define SLOW_TOPICS	50	/* topics the slow subscribers hold */
#define PUSH_MS		2000	/* bound for one push to reach a reader */
#define HTTP_DEADLINE_MS 5000	/* HTTPD_DEADLINE_S of daemon/httpd.c */
#define SLOTS		16	/* HTTPD_MAX_CONNS */

/* The metrics every exposition has, with their types. */
static const struct {
	const char	*name;
	const char	*type;
} required[] = {
	{ "crmpubsub_up", "gauge" },
	{ "crmpubsub_build_info", "gauge" },
	{ "crmpubsub_process_start_time_seconds", "gauge" },
	{ "crmpubsub_process_resident_memory_bytes", "gauge" },
	{ "crmpubsub_connections", "gauge" },
	{ "crmpubsub_max_connections", "gauge" },
	{ "crmpubsub_connections_accepted_total", "counter" },
	{ "crmpubsub_connections_rejected_total", "counter" },
	{ "crmpubsub_topics", "gauge" },
	{ "crmpubsub_subscriptions", "gauge" },
	{ "crmpubsub_requests_total", "counter" },
	{ "crmpubsub_broadcasts_total", "counter" },
	{ "crmpubsub_deliveries_total", "counter" },
	{ "crmpubsub_dropped_total", "counter" },
	{ "crmpubsub_resyncs_total", "counter" },
	{ "crmpubsub_slow_closed_total", "counter" },
	{ "crmpubsub_errors_total", "counter" },
	{ "crmpubsub_output_bytes", "gauge" },
};

/* Samples that equal a member of stats when read just before it. */
static const struct {
	const char	*sample;
	const char	*member;
} same_as_stats[] = {
	{ "crmpubsub_connections", "connections" },
	{ "crmpubsub_max_connections", "max_connections" },
	{ "crmpubsub_connections_accepted_total", "connections_total" },
	{ "crmpubsub_connections_rejected_total", "connections_rejected" },
	{ "crmpubsub_topics", "topics" },
	{ "crmpubsub_subscriptions", "subscriptions" },
	{ "crmpubsub_broadcasts_total", "broadcasts" },
	{ "crmpubsub_deliveries_total", "delivered" },
	{ "crmpubsub_dropped_total", "dropped" },
	{ "crmpubsub_resyncs_total", "resyncs" },
	{ "crmpubsub_slow_closed_total", "slow_closed" },
	{ "crmpubsub_process_start_time_seconds", "start_time" },
};

static char where[400];		/* the metrics address of h_test_daemon */

/* Starts h_test_daemon with --metrics-listen 127.0.0.1:0 and args. */
static void
metrics_up(const char *const *args)
{
	const char	*all[16] = { "--metrics-listen", "127.0.0.1:0" };
	size_t		 n = 2;

	while (args != NULL && *args != NULL && n < 15)
		all[n++] = *args++;
	h_test_up(all);
	hm_metrics_where(&h_test_daemon, where, sizeof where);
}

/* The stats object, asserted. */
static json_t *
stats_of(struct h_conn *c)
{
	json_t	*r = h_request(c, "{\"op\":\"stats\"}"), *s;

	ck_assert_msg(h_is_ok(r), "stats: %s", h_dump(r));
	s = json_incref(json_object_get(r, "stats"));
	json_decref(r);
	ck_assert_ptr_nonnull(s);
	return s;
}

/* Scrapes, then asks stats on c: every metric equals its stats member
 * (requests: the stats request itself counts once more). */
static void
expect_metrics_match_stats(struct h_conn *c)
{
	char		*text = hm_scrape(where), sample[128];
	json_t		*s = stats_of(c), *codes, *v;
	const char	*code;
	size_t		 i;

	for (i = 0; i < sizeof same_as_stats / sizeof same_as_stats[0]; i++)
		ck_assert_msg(hm_sample(text, same_as_stats[i].sample) ==
		    (double)h_int(s, same_as_stats[i].member),
		    "%s %g, stats %s %lld", same_as_stats[i].sample,
		    hm_sample(text, same_as_stats[i].sample),
		    same_as_stats[i].member, h_int(s, same_as_stats[i].member));
	ck_assert_msg(hm_sample(text, "crmpubsub_requests_total") + 1 ==
	    (double)h_int(s, "requests"), "requests %g, stats %lld",
	    hm_sample(text, "crmpubsub_requests_total"), h_int(s, "requests"));
	codes = json_object_get(s, "errors_by_code");
	ck_assert_int_eq(json_object_size(codes), 10);
	json_object_foreach(codes, code, v) {
		snprintf(sample, sizeof sample,
		    "crmpubsub_errors_total{code=\"%s\"}", code);
		ck_assert_msg(hm_sample(text, sample) ==
		    (double)json_integer_value(v), "%s: %g, stats %lld",
		    sample, hm_sample(text, sample),
		    (long long)json_integer_value(v));
	}
	json_decref(s);
	free(text);
}

/* Subscribes c to the topics of contacts first..first+n-1, asserted. */
static void
subscribe(struct h_conn *c, unsigned long first, unsigned long n)
{
	json_t	*r = h_subscribe_range(c, first, n);

	ck_assert_msg(h_is_ok(r), "subscribe: %s", h_dump(r));
	json_decref(r);
}

/* ---- the exposition ------------------------------------------------------------- */

/* A daemon's log, asserted readable. */
static char *
read_log(const char *path)
{
	char	*text = h_read_file(path);

	ck_assert_msg(text != NULL, "cannot read %s", path);
	return text;
}

/* Off unless configured: the log names no HTTP listener. */
START_TEST(test_off_by_default)
{
	struct h_conn	*c;
	char		*log;

	h_test_up(NULL);
	c = h_test_conn();
	ck_assert_int_ge(h_stat_or_fail(c, "connections"), 1);
	h_close(c);
	log = read_log(h_test_daemon.log);
	ck_assert_msg(strstr(log, "listening on") != NULL, "%s", log);
	ck_assert_msg(strstr(log, "metrics") == NULL, "%s", log);
	free(log);
}
END_TEST

/* The text is the format 0.0.4 that promtool accepts: HELP and TYPE for
 * each metric, _total on counters, only version and code as labels. */
START_TEST(test_exposition_is_valid)
{
	char		*text, out[8192], needle[160];
	const char	*p;
	size_t		 i;
	int		 rc;

	metrics_up(NULL);
	text = hm_scrape(where);
	rc = hm_promtool_check(text, out, sizeof out);
	ck_assert_msg(rc != -1, "promtool check metrics:\n%.2000s", out);
	for (i = 0; i < sizeof required / sizeof required[0]; i++) {
		snprintf(needle, sizeof needle, "\n# TYPE %s %s\n",
		    required[i].name, required[i].type);
		ck_assert_msg(strstr(text, needle) != NULL, "no '%s'",
		    needle + 1);
		snprintf(needle, sizeof needle, "\n# HELP %s ", required[i].name);
		ck_assert_msg(strstr(text, needle) != NULL || i == 0,
		    "no HELP of %s", required[i].name);
	}
	ck_assert_msg(strncmp(text, "# HELP crmpubsub_up ", 20) == 0, "%.200s",
	    text);
	ck_assert(hm_sample(text, "crmpubsub_up") == 1);
	snprintf(needle, sizeof needle, "crmpubsub_build_info{version=\"%s\"}",
	    "1.0.0");
	ck_assert_msg(hm_sample(text, needle) == 1, "no %s", needle);
	ck_assert(hm_sample(text, "crmpubsub_process_resident_memory_bytes") >
	    100000);
	/* Labels: only the two bounded ones; no federation when off. */
	for (p = text; *p != '\0'; p += strcspn(p, "\n") + (p[strcspn(p,
	    "\n")] != '\0')) {
		const char *brace = strchr(p, '{');

		if (*p == '#' || brace == NULL || brace > p + strcspn(p, "\n"))
			continue;
		ck_assert_msg(strncmp(brace, "{version=\"", 10) == 0 ||
		    strncmp(brace, "{code=\"", 7) == 0, "label in: %.80s", p);
	}
	ck_assert_ptr_null(strstr(text, "federation"));
	free(text);
}
END_TEST

/* Only GET and HEAD of /metrics; everything is closed after one reply. */
START_TEST(test_paths_and_methods)
{
	struct hm_reply	r;

	metrics_up(NULL);
	ck_assert_int_eq(hm_get(where, "/", &r, H_TIMEOUT_MS), 0);
	ck_assert_int_eq(r.status, 404);
	hm_reply_free(&r);
	ck_assert_int_eq(hm_get(where, "/metrics?x=1", &r, H_TIMEOUT_MS), 0);
	ck_assert_int_eq(r.status, 200);
	hm_reply_free(&r);
	ck_assert_int_eq(hm_exchange(where, "HEAD /metrics HTTP/1.1\r\nHost: x"
	    "\r\n\r\n", &r, H_TIMEOUT_MS), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, "");
	hm_reply_free(&r);
	/* HTTP/1.1 with keep-alive still gets one reply and a close. */
	ck_assert_int_eq(hm_exchange(where, "GET /metrics HTTP/1.1\r\nHost: x"
	    "\r\n\r\n", &r, H_TIMEOUT_MS), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.text, "\r\nConnection: close\r\n"));
	hm_reply_free(&r);
	ck_assert_int_eq(hm_exchange(where, "POST /metrics HTTP/1.1\r\nHost: x"
	    "\r\nContent-Length: 3\r\n\r\nabc", &r, H_TIMEOUT_MS), 0);
	ck_assert_msg(r.status >= 400 && r.status < 600, "%s", r.text);
	hm_reply_free(&r);
	ck_assert_int_eq(hm_exchange(where, "DELETE /metrics HTTP/1.1\r\n"
	    "Host: x\r\n\r\n", &r, H_TIMEOUT_MS), 0);
	ck_assert_msg(r.status >= 400 && r.status < 600, "%s", r.text);
	hm_reply_free(&r);
}
END_TEST

/* ---- every counter moves as stats does ---------------------------------------- */

/* Reads lines from c until a resync push (bounded); 1 when one came. */
static int
drain_until_resync(struct h_conn *c)
{
	long long	 deadline = h_now_ms() + 4 * H_TIMEOUT_MS;
	json_t		*j;
	const char	*type;

	while (h_now_ms() < deadline) {
		if ((j = h_recv_json(c, H_TIMEOUT_MS)) == NULL)
			return 0;
		type = h_str(j, "type");
		if (type != NULL && strcmp(type, "resync") == 0) {
			json_decref(j);
			return 1;
		}
		json_decref(j);
	}
	return 0;
}

START_TEST(test_counters_follow_stats)
{
	const char	*args[] = { "--max-outbuf", "256", "--max-connections",
	    "8", NULL };
	struct h_conn	*w, *s, *a, *b, *extra[8];
	json_t		*r, *p;
	char		*text, line[512];
	unsigned long	 i;
	int		 refused = 0, n = 0;
	long long	 dropped = 0;

	metrics_up(args);
	w = h_test_conn();
	expect_metrics_match_stats(w);
	s = h_test_conn();
	a = h_test_conn();
	b = h_test_conn();
	subscribe(s, 1, 1);
	subscribe(a, 1, SLOW_TOPICS);
	subscribe(b, 1, SLOW_TOPICS);

	/* Broadcasts to the slow ones until they lag; s reads each push. */
	for (i = 0; i < 400 && dropped == 0; i++) {
		r = h_broadcast_range(w, 1000 + i, 1, SLOW_TOPICS);
		ck_assert_msg(h_is_ok(r), "%s", h_dump(r));
		json_decref(r);
		p = h_recv_push(s, PUSH_MS);
		ck_assert_ptr_nonnull(p);
		json_decref(p);
		if (i % 10 == 9)
			dropped = h_stat_or_fail(w, "dropped");
	}
	ck_assert_msg(dropped > 0, "no push dropped after %lu broadcasts", i);
	expect_metrics_match_stats(w);

	/* a reads: one resync. b pipelines stats requests without reading
	 * until it is closed for its unread replies. */
	ck_assert_msg(drain_until_resync(a), "no resync for the slow reader");
	for (i = 0; i < 20000; i++) {
		if (h_send_line(b, "{\"op\":\"stats\"}") == -1)
			break;
		if (i % 100 == 99 && h_stat_or_fail(w, "slow_closed") > 0)
			break;
	}
	ck_assert_msg(h_wait_stat(w, "slow_closed", 1, H_TIMEOUT_MS),
	    "b was not closed for its unread replies");
	ck_assert(h_wait_eof(b, H_TIMEOUT_MS));

	/* One error of each of four codes. */
	h_expect_errorf(w, "bad_json", "{nonsense");
	h_expect_errorf(w, "unknown_op", "{\"op\":\"nope\"}");
	h_expect_errorf(w, "bad_uuid", "{\"op\":\"broadcast_to_contacts\","
	    "\"event\":\"interaction_created\",\"interaction_uuid\":\"x\","
	    "\"contact_uuids\":[]}");
	h_expect_errorf(w, "bad_topic", "{\"op\":\"subscribe\",\"topic\":"
	    "\"crm:nope\"}");

	/* Connections beyond max_connections are refused. */
	for (i = 0; i < 8; i++) {
		extra[n] = h_test_conn();
		if (h_recv_line(extra[n], line, sizeof line, 200) > 0 &&
		    strstr(line, "\"too_many\"") != NULL) {
			refused++;
			h_close(extra[n]);
		} else
			n++;
	}
	ck_assert_int_ge(refused, 1);

	expect_metrics_match_stats(w);
	text = hm_scrape(where);
	ck_assert(hm_sample(text, "crmpubsub_resyncs_total") >= 1);
	ck_assert(hm_sample(text, "crmpubsub_slow_closed_total") >= 1);
	ck_assert(hm_sample(text, "crmpubsub_connections_rejected_total") ==
	    refused);
	ck_assert(hm_sample(text, "crmpubsub_errors_total{code=\"too_many\"}")
	    == refused);
	ck_assert(hm_sample(text, "crmpubsub_errors_total{code=\"bad_json\"}")
	    == 1);
	ck_assert(hm_sample(text, "crmpubsub_errors_total{code=\"internal\"}")
	    == 0);
	ck_assert(hm_sample(text, "crmpubsub_topics") == SLOW_TOPICS);
	free(text);
	while (n > 0)
		h_close(extra[--n]);
	h_close(a);
	h_close(b);
	h_close(s);
	h_close(w);
}
END_TEST

/* Writes text to path, replacing it atomically. */
static void
write_file(const char *path, const char *text)
{
	char	 tmp[400];
	FILE	*f;

	snprintf(tmp, sizeof tmp, "%s.new", path);
	ck_assert_ptr_nonnull(f = fopen(tmp, "w"));
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(rename(tmp, path), 0);
}

/* Scrapes until sample has value want (bounded); 1 when it did. */
static int
wait_sample(const char *sample, double want)
{
	long long	 deadline = h_now_ms() + H_TIMEOUT_MS;
	char		*text;
	double		 v;

	while (h_now_ms() < deadline) {
		text = hm_scrape(where);
		v = hm_sample(text, sample);
		free(text);
		if (v == want)
			return 1;
		h_nap_ms(20);
	}
	return 0;
}

/* A reload changes what the metrics show of the settings. */
START_TEST(test_reload_is_seen)
{
	const char	*args[3] = { "-c", NULL, NULL };
	char		 dir[256], conf[320];

	h_scratch_make(dir, sizeof dir, "mreload");
	snprintf(conf, sizeof conf, "%s/crmpubsubd.conf", dir);
	write_file(conf, "max_connections = 100\n");
	args[1] = conf;
	metrics_up(args);
	ck_assert(wait_sample("crmpubsub_max_connections", 100));
	write_file(conf, "max_connections = 200\n");
	ck_assert_int_eq(kill(h_test_daemon.pid, SIGHUP), 0);
	ck_assert_msg(wait_sample("crmpubsub_max_connections", 200),
	    "the reloaded max_connections never showed");
	h_scratch_remove(dir);
}
END_TEST

/* ---- the Unix socket form --------------------------------------------------------- */

/* unix:/PATH: mode 0666, a stale socket replaced, a live one refused,
 * removed at exit. */
START_TEST(test_unix_socket)
{
	struct h_daemon	 second;
	struct sockaddr_un sun;
	struct stat	 st;
	char		 dir[256], path[320], arg[340], sock2[320], *text, *log;
	const char	*args[3] = { "--metrics-listen", arg, NULL };
	const char	*tail[5] = { "-s", sock2, "--metrics-listen", arg, NULL };
	int		 fd, status;

	h_scratch_make(dir, sizeof dir, "munix");
	snprintf(path, sizeof path, "%s/metrics.sock", dir);
	snprintf(arg, sizeof arg, "unix:%s", path);
	snprintf(sock2, sizeof sock2, "%s/second.sock", dir);
	/* A stale socket: bound, then its listener gone. */
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof sun), 0);
	close(fd);

	h_test_up(args);
	hm_metrics_where(&h_test_daemon, where, sizeof where);
	ck_assert_str_eq(where, arg);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_int_eq(st.st_mode & 0777, 0666);
	text = hm_scrape(where);
	ck_assert(hm_sample(text, "crmpubsub_up") == 1);
	free(text);

	/* A second daemon may not take the path while the first answers:
	 * exit 1, a line naming the path, its own socket gone again. */
	memset(&second, 0, sizeof second);
	ck_assert_int_eq(h_daemon_spawn(&second, tail, NULL), 0);
	status = h_daemon_wait_exit(&second, 4 * H_TIMEOUT_MS);
	log = read_log(second.log);
	ck_assert_msg(status != -1 && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 1, "status %d: %s", status, log);
	ck_assert_msg(strstr(log, path) != NULL, "%s", log);
	ck_assert_msg(stat(sock2, &st) == -1, "second.sock left behind");
	free(log);
	h_daemon_stop(&second, SIGKILL, H_TIMEOUT_MS);
	text = hm_scrape(where);	/* the first one still serves */
	free(text);

	h_daemon_stop_clean(&h_test_daemon);
	ck_assert_msg(stat(path, &st) == -1 && errno == ENOENT,
	    "metrics socket left behind");
	h_scratch_remove(dir);
}
END_TEST

/* Bad addresses stop the daemon at start with exit 2 and a line saying
 * what is expected; a port in use with exit 1. */
START_TEST(test_bad_addresses)
{
	static const char *const bad[] = { "localhost:9470", "127.0.0.1",
	    "127.0.0.1:65536", "127.0.0.1:x", "::1:9470", "[::1]", "unix:",
	    "unix:relative/path", "http://127.0.0.1:9470/" };
	struct h_daemon	 d;
	char		 dir[256], sock[320], busy[64], *log;
	const char	*tail[5] = { "-s", sock, "--metrics-listen", NULL, NULL };
	size_t		 i;
	int		 status, fd, port;
	struct sockaddr_in sin;
	socklen_t	 len = sizeof sin;

	h_scratch_make(dir, sizeof dir, "mbad");
	snprintf(sock, sizeof sock, "%s/d.sock", dir);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memset(&d, 0, sizeof d);
		tail[3] = bad[i];
		ck_assert_int_eq(h_daemon_spawn(&d, tail, NULL), 0);
		status = h_daemon_wait_exit(&d, 4 * H_TIMEOUT_MS);
		log = read_log(d.log);
		ck_assert_msg(status != -1 && WIFEXITED(status) &&
		    WEXITSTATUS(status) == 2, "'%s': status %d, %s", bad[i],
		    status, log);
		ck_assert_msg(strstr(log, "--metrics-listen: bad value") &&
		    strstr(log, "127.0.0.1:9470"), "'%s': %s", bad[i], log);
		free(log);
		h_daemon_stop(&d, SIGKILL, H_TIMEOUT_MS);
	}

	/* A port some other socket holds. */
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(0x7f000001);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	ck_assert_int_eq(listen(fd, 1), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	port = ntohs(sin.sin_port);
	snprintf(busy, sizeof busy, "127.0.0.1:%d", port);
	memset(&d, 0, sizeof d);
	tail[3] = busy;
	ck_assert_int_eq(h_daemon_spawn(&d, tail, NULL), 0);
	status = h_daemon_wait_exit(&d, 4 * H_TIMEOUT_MS);
	log = read_log(d.log);
	ck_assert_msg(status != -1 && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 1, "busy port: status %d, %s", status, log);
	ck_assert_msg(strstr(log, "Address already in use") != NULL, "%s", log);
	free(log);
	close(fd);
	h_daemon_stop(&d, SIGKILL, H_TIMEOUT_MS);
	h_scratch_remove(dir);
}
END_TEST

/* ---- hostile peers ------------------------------------------------------------------ */

/* One broadcast reaches the subscriber s within PUSH_MS. */
static void
expect_delivery(struct h_conn *w, struct h_conn *s, unsigned long iu)
{
	json_t	*r = h_broadcast_range(w, iu, 1, 1), *p;

	ck_assert_msg(h_is_ok(r), "broadcast %lu: %s", iu, h_dump(r));
	json_decref(r);
	p = h_recv_push(s, PUSH_MS);
	ck_assert_msg(p != NULL, "push %lu did not arrive within %d ms", iu,
	    PUSH_MS);
	json_decref(p);
}

/* request ends (answered with an error, or cut) well within the bound. */
static void
expect_refused(const char *what, const char *request)
{
	struct hm_reply	r;
	long long	t0 = h_now_ms();
	int		rc = hm_exchange(where, request, &r, H_TIMEOUT_MS);

	ck_assert_msg(h_now_ms() - t0 < H_TIMEOUT_MS, "%s: no end", what);
	ck_assert_msg(rc == -1 || (r.status >= 400 && r.status < 600),
	    "%s: %s", what, r.text);
	hm_reply_free(&r);
}

/* 1 when fd has seen EOF or an error (the daemon dropped it). */
static int
dropped_by_daemon(int fd)
{
	char	buf[4096];
	ssize_t	n;

	while ((n = recv(fd, buf, sizeof buf, MSG_DONTWAIT)) > 0)
		;
	return n == 0 || (n < 0 && errno != EAGAIN);
}

/* Garbage, huge headers, a body, connections that say nothing, a
 * slowloris on every remaining slot: deliveries go on, the listener
 * comes back, and nothing is left open afterwards. */
START_TEST(test_hostile_http)
{
	static char	 huge[80000];
	struct h_conn	*w, *s;
	struct hm_reply	 r;
	unsigned long	 iu = 1;
	long long	 t0;
	int		 base_fds, quiet[10], slow[SLOTS], nslow, i, done;

	metrics_up(NULL);
	w = h_test_conn();
	s = h_test_conn();
	subscribe(s, 1, 1);
	base_fds = h_fd_count(h_test_daemon.pid);
	expect_delivery(w, s, iu++);

	expect_refused("garbage", "\x16\x03\x01\x02\xff\x01\xfc\x03 garbage"
	    "\r\n\r\n");
	expect_delivery(w, s, iu++);
	snprintf(huge, sizeof huge, "GET /metrics HTTP/1.1\r\nX-Big: ");
	memset(huge + strlen(huge), 'a', sizeof huge - strlen(huge) - 5);
	memcpy(huge + sizeof huge - 5, "\r\n\r\n", 5);
	expect_refused("huge headers", huge);
	expect_delivery(w, s, iu++);
	expect_refused("a body", "POST /metrics HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 10000000\r\n\r\nxxxxxxxxxxxxxxxxxxxx");
	expect_delivery(w, s, iu++);

	/* Many scrapes in a row: each connection frees its slot at once. */
	for (i = 0; i < 60; i++) {
		ck_assert_int_eq(hm_get(where, "/metrics", &r, H_TIMEOUT_MS), 0);
		ck_assert_int_eq(r.status, 200);
		hm_reply_free(&r);
	}
	expect_delivery(w, s, iu++);

	/* Connections that never send anything, then slowloris peers that
	 * send a header byte every 100 ms, take every slot. */
	for (i = 0; i < 10; i++)
		ck_assert_int_ne(quiet[i] = hm_connect(where), -1);
	nslow = SLOTS - 10 - 3;		/* three slots still held above */
	for (i = 0; i < nslow; i++) {
		ck_assert_int_ne(slow[i] = hm_connect(where), -1);
		ck_assert_int_gt(send(slow[i], "GET /metrics HTTP/1.1\r\n", 23,
		    MSG_NOSIGNAL), 0);
	}
	for (t0 = h_now_ms(); h_now_ms() - t0 < 1000; h_nap_ms(100)) {
		for (i = 0; i < nslow; i++)
			send(slow[i], "X", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		expect_delivery(w, s, iu++);
	}

	/* A real scrape waits for a slot, then is served. */
	t0 = h_now_ms();
	ck_assert_int_eq(hm_get(where, "/metrics", &r, 3 * HTTP_DEADLINE_MS), 0);
	ck_assert_int_eq(r.status, 200);
	hm_reply_free(&r);
	expect_delivery(w, s, iu++);

	/* Every slowloris and quiet peer is dropped by its deadline. */
	t0 = h_now_ms();
	do {
		for (i = 0, done = 0; i < nslow; i++) {
			send(slow[i], "X", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
			done += dropped_by_daemon(slow[i]);
		}
		for (i = 0; i < 10; i++)
			done += dropped_by_daemon(quiet[i]);
		expect_delivery(w, s, iu++);
		h_nap_ms(100);
	} while (done < nslow + 10 && h_now_ms() - t0 < 2 * HTTP_DEADLINE_MS);
	ck_assert_msg(done == nslow + 10, "%d of %d peers still connected",
	    nslow + 10 - done, nslow + 10);
	for (i = 0; i < nslow; i++)
		close(slow[i]);
	for (i = 0; i < 10; i++)
		close(quiet[i]);
	ck_assert_msg(h_wait_fds(h_test_daemon.pid, base_fds,
	    2 * HTTP_DEADLINE_MS), "descriptors: %d, before %d",
	    h_fd_count(h_test_daemon.pid), base_fds);
	expect_delivery(w, s, iu++);
	h_close(s);
	h_close(w);
}
END_TEST

/* ---- federation ------------------------------------------------------------------- */

/* With a Redis link the federation metrics appear, and follow it up and
 * down; promtool still accepts the text. */
START_TEST(test_federation_metrics)
{
	char		 dir[256], rsock[320], redis[340], out[8192];
	char		*text;
	const char	*args[3] = { "--redis", redis, NULL };
	struct h_conn	*w, *s;
	json_t		*r, *p;
	pid_t		 pid;

	if (!hm_need("redis-server"))
		return;
	h_scratch_make(dir, sizeof dir, "mfed");
	pid = hm_redis_start(dir, rsock, sizeof rsock);
	snprintf(redis, sizeof redis, "unix://%s", rsock);
	metrics_up(args);
	ck_assert_msg(wait_sample("crmpubsub_federation_up", 1),
	    "federation never up");
	w = h_test_conn();
	s = h_test_conn();
	subscribe(s, 1, 1);
	r = h_broadcast_range(w, 7, 1, 1);
	ck_assert(h_is_ok(r));
	json_decref(r);
	ck_assert_ptr_nonnull(p = h_recv_push(s, PUSH_MS));
	json_decref(p);
	text = hm_scrape(where);
	ck_assert_msg(hm_promtool_check(text, out, sizeof out) != -1,
	    "promtool:\n%.2000s", out);
	ck_assert(hm_sample(text, "crmpubsub_federation_published_total") == 1);
	ck_assert(hm_sample(text, "crmpubsub_federation_received_total") >= 0);
	ck_assert(hm_sample(text, "crmpubsub_federation_malformed_total") == 0);
	ck_assert(hm_sample(text, "crmpubsub_federation_reconnects_total") == 0);
	free(text);
	expect_metrics_match_stats(w);

	hm_stop(pid, H_TIMEOUT_MS);
	ck_assert_msg(wait_sample("crmpubsub_federation_up", 0),
	    "federation still up without Redis");
	h_close(s);
	h_close(w);
	h_daemon_stop_clean(&h_test_daemon);
	h_scratch_remove(dir);
}
END_TEST

static Suite *
metrics_suite(void)
{
	Suite	*s = suite_create("it_metrics");
	TCase	*tc;

	tc = tcase_create("metrics");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, NULL, h_test_down);
	tcase_add_test(tc, test_off_by_default);
	tcase_add_test(tc, test_exposition_is_valid);
	tcase_add_test(tc, test_paths_and_methods);
	tcase_add_test(tc, test_counters_follow_stats);
	tcase_add_test(tc, test_reload_is_seen);
	tcase_add_test(tc, test_unix_socket);
	tcase_add_test(tc, test_bad_addresses);
	tcase_add_test(tc, test_hostile_http);
	tcase_add_test(tc, test_federation_metrics);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return h_run_suite(metrics_suite());
}
