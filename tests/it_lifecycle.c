/* SPDX-License-Identifier: MIT — crmpubsub */
/* Integration suite for the daemon's life as an operator sees it: signals, configuration and reload, option errors, the socket file (stale, taken, mode, group) and the publish ACL. */

#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

/* A scratch directory of the test's own, for files that must exist before
 * the daemon starts (config, stale socket, a regular file). */
struct scratch {
	char	dir[256];
	char	path[320];	/* <dir>/<name> */
};

static void		 scratch_make(struct scratch *s, const char *name);
static void		 write_file(const char *path, const char *text);
static char		*read_file(const char *path);
static int		 wait_log(const char *path, size_t from,
			     const char *needle, int timeout_ms);
static void		 spawn_on(struct h_daemon *d, const char *sock);
static struct h_conn	*start_with_config(struct scratch *cfg,
			     struct h_daemon *d, const char *text);
static int		 run_capture(const char *const *argv, char *out,
			     size_t outcap, char *err, size_t errcap,
			     int timeout_ms);
static void		 expect_usage_error(const char *const *tail,
			     const char *name_a, const char *name_b);
static struct h_conn	*connect_ping(const char *sock, int timeout_ms);
static json_t		*subscribe_range(struct h_conn *c, unsigned long first,
			     unsigned long n);
static json_t		*broadcast_one(struct h_conn *c, unsigned long contact);
static void		 shutdown_case(int sig);
static void		 acl_case(const char *const *args, int allowed);
static const char	*own_id(int group);

/* This process's uid (group 0) or primary gid as text (static), for the
 * publish lists: the tests run as root under CI and as anyone elsewhere.
 * 12345, the id the tests forbid, must be someone else's. */
static const char *
own_id(int group)
{
	static char	ids[2][16];
	unsigned	id = group ? (unsigned)getgid() : (unsigned)getuid();

	ck_assert_msg(id != 12345, "the tests need an id other than 12345");
	snprintf(ids[group != 0], sizeof ids[0], "%u", id);
	return ids[group != 0];
}

/* Makes a private directory; s->path names <dir>/<name> (not created). */
static void
scratch_make(struct scratch *s, const char *name)
{
	h_scratch_make(s->dir, sizeof s->dir, "lc");
	snprintf(s->path, sizeof s->path, "%s/%s", s->dir, name);
}

/* Replaces a file's content atomically (write a temp file, rename). */
static void
write_file(const char *path, const char *text)
{
	char tmp[400];
	FILE *f;

	snprintf(tmp, sizeof tmp, "%s.new", path);
	f = fopen(tmp, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(rename(tmp, path), 0);
}

/* Whole file as a NUL-terminated heap string ("" when missing). */
static char *
read_file(const char *path)
{
	size_t cap = 4096, len = 0, n;
	char *buf = malloc(cap);
	FILE *f = fopen(path, "r");

	ck_assert_ptr_nonnull(buf);
	if (f != NULL) {
		while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
			len += n;
			if (cap - len - 1 == 0) {
				cap *= 2;
				buf = realloc(buf, cap);
				ck_assert_ptr_nonnull(buf);
			}
		}
		fclose(f);
	}
	buf[len] = '\0';
	return buf;
}

/* What wait_log waits for: needle in the file at or after byte from. */
struct log_goal {
	const char	*path;
	size_t		 from;
	const char	*needle;
};

static int
log_holds(void *arg)
{
	struct log_goal *g = arg;
	char *text = read_file(g->path);
	int found;

	found = strlen(text) > g->from && strstr(text + g->from, g->needle)
	    != NULL;
	free(text);
	return found;
}

/* Waits until the file holds needle at or after byte offset from. */
static int
wait_log(const char *path, size_t from, const char *needle, int timeout_ms)
{
	struct log_goal g = { path, from, needle };

	return h_wait_until(log_holds, &g, timeout_ms, 10);
}

/* Spawns d with "-s sock" and no other option (no readiness wait),
 * asserted. */
static void
spawn_on(struct h_daemon *d, const char *sock)
{
	const char *args[3] = { "-s", NULL, NULL };

	args[1] = sock;
	ck_assert_int_eq(h_daemon_spawn(d, args, NULL), 0);
}

/* Writes text to a fresh config file in cfg, starts d with "-c <that file>"
 * and returns a connection to it, all asserted. */
static struct h_conn *
start_with_config(struct scratch *cfg, struct h_daemon *d, const char *text)
{
	const char *args[3] = { "-c", NULL, NULL };

	scratch_make(cfg, "crmpubsubd.conf");
	write_file(cfg->path, text);
	args[1] = cfg->path;
	h_daemon_start_or_fail(d, args);
	return h_connect_or_fail(d->sock);
}

/* Runs argv with stdout and stderr captured; returns the wait status, or
 * -1 when it did not finish within timeout_ms (it is then killed). */
static int
run_capture(const char *const *argv, char *out, size_t outcap, char *err,
    size_t errcap, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms, left;
	int po[2], pe[2], open_pipes = 2;
	size_t lens[2] = { 0, 0 }, caps[2] = { outcap, errcap };
	char *bufs[2] = { out, err };
	struct pollfd pfd[2];
	pid_t parent = getpid(), pid;
	ssize_t n;
	int i;

	ck_assert_int_eq(pipe2(po, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(pe, O_CLOEXEC), 0);
	fflush(NULL);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		signal(SIGPIPE, SIG_DFL);
		dup2(po[1], STDOUT_FILENO);
		dup2(pe[1], STDERR_FILENO);
		unsetenv("LISTEN_FDS");
		unsetenv("LISTEN_PID");
		unsetenv("NOTIFY_SOCKET");
		unsetenv("CRMPUBSUB_SOCKET");
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	pfd[0].fd = po[0];
	pfd[1].fd = pe[0];
	while (open_pipes > 0 && h_now_ms() < deadline) {
		pfd[0].events = pfd[1].events = POLLIN;
		if (poll(pfd, 2, (int)(deadline - h_now_ms())) <= 0)
			continue;
		for (i = 0; i < 2; i++) {
			if (pfd[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP)))
				continue;
			n = read(pfd[i].fd, bufs[i] + lens[i],
			    caps[i] - lens[i] - 1);
			if (n <= 0) {
				close(pfd[i].fd);
				pfd[i].fd = -1;
				open_pipes--;
			} else
				lens[i] += (size_t)n;
		}
	}
	for (i = 0; i < 2; i++) {
		bufs[i][lens[i]] = '\0';
		if (pfd[i].fd >= 0)
			close(pfd[i].fd);
	}
	left = deadline - h_now_ms();
	return h_wait_child(pid, left > 0 ? (int)left : 0);
}

/* The daemon with these arguments exits 2 with exactly one stderr line
 * naming the offender (name_a or name_b), and leaves no socket. */
static void
expect_usage_error(const char *const *tail, const char *name_a,
    const char *name_b)
{
	const char *argv[16];
	char out[4096], err[4096];
	struct scratch s;
	size_t n = 0, i;
	int status;

	scratch_make(&s, "crmpubsub.sock");
	argv[n++] = h_daemon_bin();
	argv[n++] = "-s";
	argv[n++] = s.path;
	for (i = 0; tail[i] != NULL; i++)
		argv[n++] = tail[i];
	argv[n] = NULL;
	status = run_capture(argv, out, sizeof out, err, sizeof err,
	    H_TIMEOUT_MS);
	ck_assert_msg(status != -1, "daemon kept running with %s", tail[0]);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 2,
	    "%s: status %d, stderr: %s", tail[0], status, err);
	ck_assert_msg(strchr(err, '\n') != NULL &&
	    strchr(err, '\n')[1] == '\0', "%s: not one stderr line: [%s]",
	    tail[0], err);
	ck_assert_msg(strstr(err, name_a) != NULL ||
	    (name_b != NULL && strstr(err, name_b) != NULL),
	    "%s: stderr does not name %s: %s", tail[0], name_a, err);
	ck_assert_int_eq(access(s.path, F_OK), -1);
	h_scratch_remove(s.dir);
}

/* Connects and pings, retrying until the daemon answers (bounded). */
static struct h_conn *
connect_ping(const char *sock, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;
	struct h_conn *c;
	json_t *r;

	for (;;) {
		if ((c = h_connect(sock)) != NULL) {
			r = h_request(c, "{\"op\":\"ping\"}");
			if (h_is_ok(r)) {
				json_decref(r);
				return c;
			}
			json_decref(r);
			h_close(c);
		}
		if (h_now_ms() >= deadline)
			return NULL;
		h_nap_ms(10);
	}
}

/* Subscribes to the topics of contacts first … first+n-1 in one request. */
static json_t *
subscribe_range(struct h_conn *c, unsigned long first, unsigned long n)
{
	char buf[8192], t[80];
	size_t off;
	unsigned long i;

	off = (size_t)snprintf(buf, sizeof buf, "{\"op\":\"subscribe\",\"topics\":[");
	for (i = 0; i < n; i++) {
		h_topic(first + i, t);
		off += (size_t)snprintf(buf + off, sizeof buf - off, "%s\"%s\"",
		    i ? "," : "", t);
	}
	snprintf(buf + off, sizeof buf - off, "]}");
	return h_request(c, buf);
}

/* broadcast_to_contacts of a fixed interaction to one contact. */
static json_t *
broadcast_one(struct h_conn *c, unsigned long contact)
{
	char iu[37], cu[37];

	h_uuid(0xfeed, iu);
	h_uuid(contact, cu);
	return h_requestf(c, "{\"op\":\"broadcast_to_contacts\",\"event\":"
	    "\"interaction_created\",\"interaction_uuid\":\"%s\","
	    "\"contact_uuids\":[\"%s\"]}", iu, cu);
}

/* SIGTERM/SIGINT: every connection gets shutdown then EOF, exit 0, socket
 * unlinked. */
static void
shutdown_case(int sig)
{
	struct h_daemon d;
	struct h_conn *c[3];
	char line[256];
	json_t *r, *p;
	int i, status;

	h_daemon_start_or_fail(&d, NULL);
	for (i = 0; i < 3; i++) {
		c[i] = h_connect_or_fail(d.sock);
	}
	r = subscribe_range(c[0], 1, 2);
	ck_assert(h_is_ok(r));
	json_decref(r);
	h_expect_okf(c[1], NULL, "{\"op\":\"hello\",\"name\":\"lc\"}");
	h_expect_okf(c[2], NULL, "{\"op\":\"ping\"}");

	ck_assert_int_eq(kill(d.pid, sig), 0);
	for (i = 0; i < 3; i++) {
		p = h_recv_push(c[i], H_TIMEOUT_MS);
		ck_assert_msg(p != NULL, "connection %d got no shutdown", i);
		ck_assert_str_eq(h_str(p, "type"), "shutdown");
		json_decref(p);
		ck_assert_int_eq(h_recv_line(c[i], line, sizeof line,
		    H_TIMEOUT_MS), -2);
		h_close(c[i]);
	}
	status = h_daemon_wait_exit(&d, H_TIMEOUT_MS);
	ck_assert_msg(status != -1, "daemon did not exit");
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "wait status %d", status);
	ck_assert_msg(access(d.sock, F_OK) == -1 && errno == ENOENT,
	    "socket still there after exit");
	h_daemon_stop(&d, SIGKILL, 0);
}

START_TEST(test_sigterm_shutdown)
{
	shutdown_case(SIGTERM);
}
END_TEST

START_TEST(test_sigint_shutdown)
{
	shutdown_case(SIGINT);
}
END_TEST

/* A SIGTERM the moment the socket accepts is already a clean shutdown:
 * exit 0 and the socket unlinked, never death by the signal. */
START_TEST(test_sigterm_right_after_ready)
{
	struct h_daemon d;
	char sock[320];
	int i, status;

	for (i = 0; i < 60; i++) {
		struct scratch s;

		scratch_make(&s, "crmpubsub.sock");
		snprintf(sock, sizeof sock, "%s", s.path);
		spawn_on(&d, sock);
		/* A probe every 100 us: tighter than the harness's readiness
		 * probe on purpose, to signal the moment it accepts. */
		ck_assert_msg(h_wait_listening(sock, 4 * H_TIMEOUT_MS, 100),
		    "run %d: daemon never accepted", i);
		ck_assert_int_eq(kill(d.pid, SIGTERM), 0);
		status = h_daemon_wait_exit(&d, H_TIMEOUT_MS);
		ck_assert_msg(status != -1, "run %d: no exit", i);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "run %d: SIGTERM right after the socket accepted gave wait "
		    "status %d%s", i, status, WIFSIGNALED(status) ?
		    " (killed by the signal)" : "");
		ck_assert_msg(access(sock, F_OK) == -1, "run %d: socket left", i);
		h_daemon_stop(&d, SIGKILL, 0);
		h_scratch_remove(s.dir);
	}
}
END_TEST

/* A subscriber that never reads cannot hold up the exit for long: output is
 * flushed for at most 2 s. */
START_TEST(test_shutdown_stuck_reader)
{
	const char *args[] = { "--max-outbuf", "4096", NULL };
	struct h_daemon d;
	struct h_conn *s, *w;
	char iu[37], list[50 * 40 + 2];
	size_t off = 0;
	long long t0, dropped = 0;
	json_t *r;
	int i, status;

	h_daemon_start_or_fail(&d, args);
	s = h_connect_or_fail(d.sock);
	w = h_connect_or_fail(d.sock);
	r = subscribe_range(s, 1, 50);
	ck_assert(h_is_ok(r));
	json_decref(r);
	list[off++] = '[';
	for (i = 0; i < 50; i++) {
		h_uuid((unsigned long)(i + 1), iu);
		off += (size_t)sprintf(list + off, "%s\"%s\"", i ? "," : "", iu);
	}
	list[off++] = ']';
	list[off] = '\0';
	for (i = 0; i < 2000 && dropped == 0; i++) {
		h_uuid(0x5000 + (unsigned long)i, iu);
		r = h_requestf(w, "{\"op\":\"broadcast_to_contacts\",\"event\":"
		    "\"interaction_created\",\"interaction_uuid\":\"%s\","
		    "\"contact_uuids\":%s}", iu, list);
		ck_assert(h_is_ok(r));
		dropped = 50 - h_int(r, "delivered");
		json_decref(r);
	}
	ck_assert_msg(dropped > 0, "the stuck reader never filled up");

	t0 = h_now_ms();
	ck_assert_int_eq(kill(d.pid, SIGTERM), 0);
	r = h_recv_json(w, H_TIMEOUT_MS);
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(h_str(r, "type"), "shutdown");
	json_decref(r);
	status = h_daemon_wait_exit(&d, 8000);
	ck_assert_msg(status != -1, "daemon did not exit with a stuck reader");
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_msg(h_now_ms() - t0 < 4000, "exit took %lld ms", h_now_ms() - t0);
	h_close(s);
	h_close(w);
	h_daemon_stop(&d, SIGKILL, 0);
}
END_TEST

/* SIGHUP applies a new max_subscriptions to existing and new connections. */
START_TEST(test_sighup_max_subscriptions)
{
	struct scratch cfg;
	struct h_daemon d;
	struct h_conn *a, *b;
	long long deadline;
	json_t *r;
	char t[80];
	int applied = 0;

	a = start_with_config(&cfg, &d, "max_subscriptions = 10\n");
	r = subscribe_range(a, 1, 3);
	ck_assert(h_is_ok(r));
	ck_assert_int_eq(h_int(r, "subscribed"), 3);
	json_decref(r);

	write_file(cfg.path, "max_subscriptions = 2\n");
	ck_assert_int_eq(kill(d.pid, SIGHUP), 0);
	/* Re-subscribing the three held topics is a no-op under 10 and
	 * too_many under 2: a probe that changes nothing either way. */
	deadline = h_now_ms() + H_TIMEOUT_MS;
	while (!applied && h_now_ms() < deadline) {
		r = subscribe_range(a, 1, 3);
		ck_assert(h_is_ok(r) || h_is_error(r, "too_many"));
		applied = h_is_error(r, "too_many");
		json_decref(r);
		if (!applied)
			h_nap_ms(20);
	}
	ck_assert_msg(applied, "SIGHUP did not apply max_subscriptions");
	h_topic(4, t);
	h_expect_errorf(a, "too_many",
	    "{\"op\":\"subscribe\",\"topic\":\"%s\"}", t);

	b = h_connect_or_fail(d.sock);
	r = subscribe_range(b, 1, 2);
	ck_assert(h_is_ok(r));
	json_decref(r);
	h_expect_errorf(b, "too_many",
	    "{\"op\":\"subscribe\",\"topic\":\"%s\"}", t);

	h_close(a);
	h_close(b);
	ck_assert_int_eq(h_daemon_stop(&d, SIGTERM, H_TIMEOUT_MS), 0);
	h_scratch_remove(cfg.dir);
}
END_TEST

/* Broadcasts over w (each answer ok or forbidden, asserted) until one is
 * ok (allowed 1) or forbidden (allowed 0): 1, or 0 after H_TIMEOUT_MS. */
static int
await_broadcast_allowed(struct h_conn *w, int allowed)
{
	long long deadline = h_now_ms() + H_TIMEOUT_MS;
	json_t *r;
	int seen;

	for (seen = 0; !seen && h_now_ms() < deadline; h_nap_ms(seen ? 0 : 20)) {
		r = broadcast_one(w, 1);
		ck_assert(h_is_ok(r) || h_is_error(r, "forbidden"));
		seen = allowed ? h_is_ok(r) : h_is_error(r, "forbidden");
		json_decref(r);
	}
	return seen;
}

/* SIGHUP applies publish_uids to an existing connection, both ways. */
START_TEST(test_sighup_publish_uids)
{
	char line[64];
	struct scratch cfg;
	struct h_daemon d;
	struct h_conn *w;
	json_t *r;

	w = start_with_config(&cfg, &d, "# no ACL yet\n");
	r = broadcast_one(w, 1);
	ck_assert(h_is_ok(r));
	json_decref(r);

	write_file(cfg.path, "publish_uids = 12345\n");
	ck_assert_int_eq(kill(d.pid, SIGHUP), 0);
	ck_assert_msg(await_broadcast_allowed(w, 0),
	    "SIGHUP did not apply publish_uids = 12345");
	h_expect_okf(w, NULL, "{\"op\":\"ping\"}");

	snprintf(line, sizeof line, "publish_uids = %s\n", own_id(0));
	write_file(cfg.path, line);
	ck_assert_int_eq(kill(d.pid, SIGHUP), 0);
	ck_assert_msg(await_broadcast_allowed(w, 1),
	    "SIGHUP did not apply %s", line);

	h_close(w);
	ck_assert_int_eq(h_daemon_stop(&d, SIGTERM, H_TIMEOUT_MS), 0);
	h_scratch_remove(cfg.dir);
}
END_TEST

/* Replaces d's config file at path with text the daemon must refuse, sends
 * SIGHUP and asserts that the log, from then on, names `named`; what says
 * what was wrong, for the failure message. */
static void
hup_refused(struct h_daemon *d, const char *path, const char *text,
    const char *named, const char *what)
{
	char *log = read_file(d->log);
	size_t logged = strlen(log);

	free(log);
	write_file(path, text);
	ck_assert_int_eq(kill(d->pid, SIGHUP), 0);
	ck_assert_msg(wait_log(d->log, logged, named, H_TIMEOUT_MS),
	    "%s not logged", what);
}

/* A bad config file on SIGHUP is logged and nothing of it applies; a good
 * one afterwards still does. */
START_TEST(test_sighup_bad_config_keeps_old)
{
	struct scratch cfg;
	struct h_daemon d;
	struct h_conn *a, *b;
	long long deadline;
	char t[80];
	json_t *r;
	int applied;

	a = start_with_config(&cfg, &d, "max_subscriptions = 2\n");
	r = subscribe_range(a, 1, 2);
	ck_assert(h_is_ok(r));
	json_decref(r);
	h_topic(3, t);

	/* An unknown key next to a valid change: neither applies. */
	hup_refused(&d, cfg.path, "max_subscriptions = 5\nno_such_setting = 1\n",
	    "no_such_setting", "bad config key");
	r = h_requestf(a, "{\"op\":\"subscribe\",\"topic\":\"%s\"}", t);
	ck_assert_msg(h_is_error(r, "too_many"), "half a bad config applied");
	json_decref(r);

	/* A bad value. */
	hup_refused(&d, cfg.path, "max_subscriptions = lots\n",
	    "max_subscriptions", "bad config value");
	h_expect_errorf(a, "too_many",
	    "{\"op\":\"subscribe\",\"topic\":\"%s\"}", t);

	/* Still serving, old and new connections. */
	ck_assert_int_eq(waitpid(d.pid, NULL, WNOHANG), 0);
	b = connect_ping(d.sock, H_TIMEOUT_MS);
	ck_assert_ptr_nonnull(b);
	h_expect_okf(a, NULL, "{\"op\":\"ping\"}");

	/* A good file later still applies. */
	write_file(cfg.path, "max_subscriptions = 3\n");
	ck_assert_int_eq(kill(d.pid, SIGHUP), 0);
	deadline = h_now_ms() + H_TIMEOUT_MS;
	for (applied = 0; !applied && h_now_ms() < deadline;) {
		r = h_requestf(a, "{\"op\":\"subscribe\",\"topic\":\"%s\"}", t);
		applied = h_is_ok(r);
		json_decref(r);
		if (!applied)
			h_nap_ms(20);
	}
	ck_assert_msg(applied, "good config after a bad one not applied");

	h_close(a);
	h_close(b);
	ck_assert_int_eq(h_daemon_stop(&d, SIGTERM, H_TIMEOUT_MS), 0);
	h_scratch_remove(cfg.dir);
}
END_TEST

/* Config file options apply (comments and blank lines allowed). */
START_TEST(test_config_file_applies)
{
	struct scratch cfg;
	struct h_daemon d;
	struct h_conn *a;
	json_t *r;

	a = start_with_config(&cfg, &d, "# limits for the test\n\n"
	    "max_subscriptions = 2   # two topics\n"
	    "max_contacts=3\n");
	r = subscribe_range(a, 1, 3);
	ck_assert(h_is_error(r, "too_many"));
	json_decref(r);
	r = subscribe_range(a, 1, 2);
	ck_assert(h_is_ok(r));
	json_decref(r);
	r = h_request(a, "{\"op\":\"broadcast_to_contacts\",\"event\":"
	    "\"interaction_created\",\"interaction_uuid\":"
	    "\"0190a5b2-7c1e-7a01-8f00-0000000000aa\",\"contact_uuids\":"
	    "[null,null,null,null]}");
	ck_assert(h_is_error(r, "too_many"));
	json_decref(r);
	h_close(a);
	ck_assert_int_eq(h_daemon_stop(&d, SIGTERM, H_TIMEOUT_MS), 0);
	h_scratch_remove(cfg.dir);
}
END_TEST

/* The command line wins over the config file, whatever the order. */
START_TEST(test_command_line_wins)
{
	struct scratch cfg;
	struct h_daemon d;
	struct h_conn *a;
	const char *args[5];
	json_t *r;

	scratch_make(&cfg, "crmpubsubd.conf");
	write_file(cfg.path, "max_subscriptions = 2\n");
	args[0] = "--max-subscriptions";
	args[1] = "4";
	args[2] = "-c";
	args[3] = cfg.path;
	args[4] = NULL;
	h_daemon_start_or_fail(&d, args);
	a = h_connect_or_fail(d.sock);
	r = subscribe_range(a, 1, 4);
	ck_assert_msg(h_is_ok(r), "config overrode the command line");
	json_decref(r);
	r = subscribe_range(a, 1, 5);
	ck_assert(h_is_error(r, "too_many"));
	json_decref(r);
	h_close(a);
	ck_assert_int_eq(h_daemon_stop(&d, SIGTERM, H_TIMEOUT_MS), 0);
	h_scratch_remove(cfg.dir);
}
END_TEST

/* The socket key of the config file, and -s winning over it. */
START_TEST(test_config_socket_key)
{
	struct scratch cfg, other;
	struct h_daemon d;
	struct h_conn *c;
	const char *args[3];
	char text[400];

	scratch_make(&cfg, "crmpubsubd.conf");
	scratch_make(&other, "from-config.sock");
	snprintf(text, sizeof text, "socket = %s\n", other.path);
	write_file(cfg.path, text);
	args[0] = "-c";
	args[1] = cfg.path;
	args[2] = NULL;
	ck_assert_int_eq(h_daemon_spawn(&d, args, NULL), 0);
	c = connect_ping(other.path, 4 * H_TIMEOUT_MS);
	ck_assert_msg(c != NULL, "daemon does not serve the config's socket");
	h_close(c);
	ck_assert_int_eq(h_daemon_stop(&d, SIGTERM, H_TIMEOUT_MS), 0);
	ck_assert_int_eq(access(other.path, F_OK), -1);

	/* -s wins: the config's path stays unused. */
	h_daemon_start_or_fail(&d, args);
	c = connect_ping(d.sock, H_TIMEOUT_MS);
	ck_assert_ptr_nonnull(c);
	h_close(c);
	ck_assert_int_eq(access(other.path, F_OK), -1);
	ck_assert_int_eq(h_daemon_stop(&d, SIGTERM, H_TIMEOUT_MS), 0);
	h_scratch_remove(cfg.dir);
	h_scratch_remove(other.dir);
}
END_TEST

/* Bad options: exit 2, one stderr line naming the option. */
START_TEST(test_bad_options)
{
	static const char *const unknown[] = { "--no-such-option", NULL };
	static const char *const notnum[] = { "--max-subscriptions", "banana",
	    NULL };
	static const char *const small[] = { "--max-line", "8", NULL };
	static const char *const lag[] = { "--lag-timeout", "soon", NULL };
	static const char *const mode[] = { "--socket-mode", "999", NULL };
	static const char *const size[] = { "--max-outbuf", "12Q", NULL };
	static const char *const uids[] = { "--publish-uids", "0,x", NULL };

	expect_usage_error(unknown, "no-such-option", NULL);
	expect_usage_error(notnum, "max-subscriptions", "max_subscriptions");
	expect_usage_error(small, "max-line", "max_line");
	expect_usage_error(lag, "lag-timeout", "lag_timeout");
	expect_usage_error(mode, "socket-mode", "socket_mode");
	expect_usage_error(size, "max-outbuf", "max_outbuf");
	expect_usage_error(uids, "publish-uids", "publish_uids");
}
END_TEST

/* Runs the daemon through env(1) with the assignments in envs (NULL-ended)
 * and then args; asserts exit status want and one stderr line, which it
 * returns in err. */
static void
expect_start_failure(const char *const *envs, const char *const *args,
    int want, char *err, size_t errcap)
{
	const char *argv[24];
	char out[4096];
	size_t n = 0;
	int status;

	argv[n++] = "/usr/bin/env";
	argv[n++] = "-u";
	argv[n++] = "XDG_RUNTIME_DIR";
	argv[n++] = "-u";
	argv[n++] = "JOURNAL_STREAM";
	for (; envs != NULL && *envs != NULL; envs++)
		argv[n++] = *envs;
	argv[n++] = h_daemon_bin();
	for (; args != NULL && *args != NULL; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	status = run_capture(argv, out, sizeof out, err, errcap, H_TIMEOUT_MS);
	ck_assert_msg(status != -1, "the daemon kept running");
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == want,
	    "status %d, want exit %d; stderr: %s", status, want, err);
	ck_assert_msg(strchr(err, '\n') != NULL && strchr(err, '\n')[1] == '\0',
	    "not one stderr line: [%s]", err);
}

/* A socket that cannot be made is reported with its real path, where the
 * path came from and the directory that is missing; an impossible setting
 * (too long, an unknown group) is a config error (exit 2). */
START_TEST(test_socket_error_texts)
{
	struct scratch s;
	char err[4096], want[1024], env[512], longpath[128];
	const char *args[4] = { NULL }, *envs[3] = { NULL };
	const char *nogroup[] = { "--socket-group", "crmpubsub-no-such-group",
	    NULL };
	const char *toolong[] = { "-s", longpath, NULL };
	struct stat st;

	scratch_make(&s, "crmpubsub.sock");
	/* -s into a directory that does not exist. */
	snprintf(want, sizeof want, "%s/gone/deeper/x.sock", s.dir);
	args[0] = "-s";
	args[1] = want;
	expect_start_failure(NULL, args, 1, err, sizeof err);
	snprintf(want, sizeof want, "crmpubsubd: cannot create the socket "
	    "%s/gone/deeper/x.sock (from -s or the socket setting): directory "
	    "%s/gone does not exist\n", s.dir, s.dir);
	ck_assert_str_eq(err, want);

	/* $CRMPUBSUB_SOCKET, named as the origin. */
	snprintf(env, sizeof env, "CRMPUBSUB_SOCKET=%s/missing/c.sock", s.dir);
	envs[0] = env;
	expect_start_failure(envs, NULL, 1, err, sizeof err);
	snprintf(want, sizeof want, "(from $CRMPUBSUB_SOCKET): directory "
	    "%s/missing does not exist\n", s.dir);
	ck_assert_msg(strstr(err, want) != NULL, "stderr: %s", err);

	/* $XDG_RUNTIME_DIR, when the system directory is not this daemon's. */
	if (stat("/run/crmpubsub", &st) == -1 ||
	    access("/run/crmpubsub", W_OK) == -1) {
		snprintf(env, sizeof env, "XDG_RUNTIME_DIR=%s/run-user", s.dir);
		envs[0] = env;
		expect_start_failure(envs, NULL, 1, err, sizeof err);
		snprintf(want, sizeof want, "cannot create the socket "
		    "%s/run-user/crmpubsub.sock (from $XDG_RUNTIME_DIR): "
		    "directory %s/run-user does not exist\n", s.dir, s.dir);
		ck_assert_msg(strstr(err, want) != NULL, "stderr: %s", err);
	}
	/* Never the temporary name the daemon binds first. */
	ck_assert_msg(strstr(err, ".sock.") == NULL, "stderr: %s", err);

	/* Impossible settings are config errors, with the limit named. */
	expect_usage_error(nogroup, "socket-group", NULL);
	expect_usage_error(nogroup, "no group 'crmpubsub-no-such-group'", NULL);
	memset(longpath, 'x', 100);
	longpath[0] = '/';
	longpath[100] = '\0';
	expect_usage_error(toolong, "at most 99 bytes", NULL);
	h_scratch_remove(s.dir);
}
END_TEST

/* Log lines: "crmpubsubd: text" on a terminal; under journald "<N>text"
 * with the syslog priority, so journalctl can filter by level. */
START_TEST(test_log_format)
{
	const char *plain[] = { "-s", "/nonexistent-crmpubsub/x.sock", NULL };
	const char *journal[] = { "JOURNAL_STREAM=8:12345", NULL };
	struct h_daemon d;
	char err[4096], *log;

	expect_start_failure(NULL, plain, 1, err, sizeof err);
	ck_assert_msg(strncmp(err, "crmpubsubd: cannot create the socket ", 37)
	    == 0, "stderr: %s", err);
	expect_start_failure(journal, plain, 1, err, sizeof err);
	ck_assert_msg(strncmp(err, "<3>cannot create the socket ", 28) == 0,
	    "stderr under journald: %s", err);

	/* A running daemon's start line is at info level. */
	setenv("JOURNAL_STREAM", "8:12345", 1);
	h_daemon_start_or_fail(&d, NULL);
	unsetenv("JOURNAL_STREAM");
	/* The socket accepts a moment before the line is written. */
	ck_assert_msg(wait_log(d.log, 0, "listening on", H_TIMEOUT_MS),
	    "no start line");
	log = read_file(d.log);
	ck_assert_msg(strncmp(log, "<6>crmpubsubd " CRMPUBSUB_VERSION " (",
	    strlen("<6>crmpubsubd " CRMPUBSUB_VERSION " (")) == 0, "log: %s",
	    log);
	free(log);
	h_daemon_stop_clean(&d);
}
END_TEST

/* Bad config lines: exit 2, one stderr line naming the key. */
START_TEST(test_bad_config_lines)
{
	static const struct {
		const char *text, *name, *line;
	} cases[] = {
		{ "max_connections = 10\nbogus_key = 1\n", "bogus_key", NULL },
		{ "max_outbuf = 12Q\n", "max_outbuf", NULL },
		{ "max_line = 1\n", "max_line", NULL },
		{ "lag_timeout = soon\n", "lag_timeout", NULL },
		/* No key = value at all: naming the line by number will do. */
		{ "# limits\nmax_contacts\n", "max_contacts", "conf:2" },
	};
	struct scratch cfg;
	const char *tail[3];
	size_t i;

	scratch_make(&cfg, "crmpubsubd.conf");
	tail[0] = "-c";
	tail[1] = cfg.path;
	tail[2] = NULL;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		write_file(cfg.path, cases[i].text);
		expect_usage_error(tail, cases[i].name, cases[i].line);
	}
	h_scratch_remove(cfg.dir);
}
END_TEST

/* --version and -h/--help exit 0 and print something fitting. */
START_TEST(test_version_and_help)
{
	const char *argv[3];
	char out[8192], err[8192];
	int status;

	argv[0] = h_daemon_bin();
	argv[1] = "--version";
	argv[2] = NULL;
	status = run_capture(argv, out, sizeof out, err, sizeof err,
	    H_TIMEOUT_MS);
	ck_assert(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_msg(strstr(out, "1.0.0") != NULL, "--version printed: %s", out);

	argv[1] = "-h";
	status = run_capture(argv, out, sizeof out, err, sizeof err,
	    H_TIMEOUT_MS);
	ck_assert(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_msg(strstr(out, "--max-outbuf") != NULL ||
	    strstr(err, "--max-outbuf") != NULL, "-h printed: %s%s", out, err);

	argv[1] = "--help";
	status = run_capture(argv, out, sizeof out, err, sizeof err,
	    H_TIMEOUT_MS);
	ck_assert(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
END_TEST

/* A socket file nobody listens on is replaced. */
START_TEST(test_stale_socket_replaced)
{
	struct sockaddr_un sun;
	struct scratch s;
	struct h_daemon d;
	struct h_conn *c;
	int fd;

	scratch_make(&s, "stale.sock");
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, s.path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof sun), 0);
	close(fd);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sun, sizeof sun), -1);
	ck_assert_int_eq(errno, ECONNREFUSED);
	close(fd);

	spawn_on(&d, s.path);
	c = connect_ping(s.path, 4 * H_TIMEOUT_MS);
	ck_assert_msg(c != NULL, "stale socket not replaced");
	h_close(c);
	ck_assert_int_eq(h_daemon_stop(&d, SIGTERM, H_TIMEOUT_MS), 0);
	h_scratch_remove(s.dir);
}
END_TEST

/* A second instance on a live socket exits 1 ("already running") and the
 * first keeps serving on the same path. */
START_TEST(test_second_instance_refused)
{
	struct h_daemon first, second;
	struct h_conn *c, *fresh;
	struct stat st;
	char *log;
	int status;

	h_daemon_start_or_fail(&first, NULL);
	c = h_connect_or_fail(first.sock);
	spawn_on(&second, first.sock);
	status = h_daemon_wait_exit(&second, 4 * H_TIMEOUT_MS);
	ck_assert_msg(status != -1, "second instance kept running");
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1,
	    "second instance: wait status %d", status);
	log = read_file(second.log);
	ck_assert_msg(strstr(log, "already running") != NULL, "stderr: %s", log);
	free(log);
	h_daemon_stop(&second, SIGKILL, 0);

	ck_assert_int_eq(stat(first.sock, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	h_expect_okf(c, NULL, "{\"op\":\"ping\"}");
	fresh = connect_ping(first.sock, H_TIMEOUT_MS);
	ck_assert_msg(fresh != NULL, "first instance no longer reachable");
	h_close(fresh);
	h_close(c);
	ck_assert_int_eq(h_daemon_stop(&first, SIGTERM, H_TIMEOUT_MS), 0);
}
END_TEST

/* A regular file at the socket path is never deleted; start fails. */
START_TEST(test_regular_file_kept)
{
	struct scratch s;
	struct h_daemon d;
	struct stat st;
	char *text;
	int status;

	scratch_make(&s, "crmpubsub.sock");
	write_file(s.path, "precious\n");
	spawn_on(&d, s.path);
	status = h_daemon_wait_exit(&d, 4 * H_TIMEOUT_MS);
	ck_assert_msg(status != -1, "daemon started over a regular file");
	ck_assert_msg(!(WIFEXITED(status) && WEXITSTATUS(status) == 0),
	    "start over a regular file reported success");
	h_daemon_stop(&d, SIGKILL, 0);
	ck_assert_int_eq(stat(s.path, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	text = read_file(s.path);
	ck_assert_str_eq(text, "precious\n");
	free(text);
	h_scratch_remove(s.dir);
}
END_TEST

/* Socket mode: 0660 by default, --socket-mode otherwise. */
START_TEST(test_socket_mode)
{
	const char *args[] = { "--socket-mode", "0600", NULL };
	struct h_daemon d;
	struct stat st;

	h_daemon_start_or_fail(&d, NULL);
	ck_assert_int_eq(stat(d.sock, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_msg((st.st_mode & 07777) == 0660, "default mode %o",
	    (unsigned)(st.st_mode & 07777));
	ck_assert_int_eq(h_daemon_stop(&d, SIGTERM, H_TIMEOUT_MS), 0);

	h_daemon_start_or_fail(&d, args);
	ck_assert_int_eq(stat(d.sock, &st), 0);
	ck_assert_msg((st.st_mode & 07777) == 0600, "--socket-mode 0600 gave %o",
	    (unsigned)(st.st_mode & 07777));
	ck_assert_int_eq(h_daemon_stop(&d, SIGTERM, H_TIMEOUT_MS), 0);
}
END_TEST

/* --socket-group sets the socket's group. */
START_TEST(test_socket_group)
{
	gid_t groups[64], gid;
	int n, i;
	const char *args[3];
	struct h_daemon d;
	struct group *g;
	struct stat st;
	char name[64];

	/* Root may give the socket any group; anyone else one of its own. */
	if (getuid() == 0)
		gid = 1;
	else {
		n = getgroups((int)(sizeof groups / sizeof groups[0]), groups);
		for (i = 0, gid = (gid_t)-1; i < n; i++)
			if (groups[i] != getgid())
				gid = groups[i];
		if (gid == (gid_t)-1) {
			fprintf(stderr, "it_lifecycle: not root and in no "
			    "second group: socket_group not tried\n");
			return;
		}
	}
	g = getgrgid(gid);
	ck_assert_msg(g != NULL, "no group with gid %u on this system",
	    (unsigned)gid);
	snprintf(name, sizeof name, "%s", g->gr_name);
	args[0] = "--socket-group";
	args[1] = name;
	args[2] = NULL;
	h_daemon_start_or_fail(&d, args);
	ck_assert_int_eq(stat(d.sock, &st), 0);
	ck_assert_int_eq(st.st_gid, gid);
	ck_assert_int_eq(h_daemon_stop(&d, SIGTERM, H_TIMEOUT_MS), 0);
}
END_TEST

/* Broadcasts from this process (own_id) allowed or forbidden under these
 * options; everything else is always allowed. */
static void
acl_case(const char *const *args, int allowed)
{
	static const char *const always[] = {
		"{\"op\":\"hello\",\"name\":\"acl\"}",
		"{\"op\":\"ping\"}",
		"{\"op\":\"stats\"}",
		"{\"op\":\"topics\"}",
		"{\"op\":\"clients\"}",
		"{\"op\":\"subscribe\",\"topic\":"
		    "\"crm:contact:0190a5b2-7c1e-7a01-8f00-000000000002:interactions\"}",
		"{\"op\":\"unsubscribe\"}",
	};
	struct h_daemon d;
	struct h_conn *w, *s;
	char iu[37], cu[37], topic[80];
	json_t *r, *p;
	size_t i;

	h_daemon_start_or_fail(&d, args);
	w = h_connect_or_fail(d.sock);
	s = h_connect_or_fail(d.sock);
	h_topic(1, topic);
	h_expect_okf(s, NULL, "{\"op\":\"subscribe\",\"topic\":\"%s\"}", topic);
	for (i = 0; i < sizeof always / sizeof always[0]; i++) {
		r = h_request(w, always[i]);
		ck_assert_msg(h_is_ok(r), "%s refused", always[i]);
		json_decref(r);
	}

	h_uuid(0xac10, iu);
	h_uuid(1, cu);
	r = h_requestf(w, "{\"op\":\"broadcast_to_contacts\",\"event\":"
	    "\"interaction_created\",\"interaction_uuid\":\"%s\","
	    "\"contact_uuids\":[\"%s\"]}", iu, cu);
	if (allowed) {
		ck_assert(h_is_ok(r));
		ck_assert_int_eq(h_int(r, "delivered"), 1);
	} else {
		ck_assert(h_is_error(r, "forbidden"));
		ck_assert_str_eq(h_str(r, "op"), "broadcast_to_contacts");
	}
	json_decref(r);
	r = h_requestf(w, "{\"op\":\"broadcast_interaction\",\"event\":"
	    "\"interaction_deleted\",\"interaction\":{\"uuid\":\"%s\","
	    "\"contact_uuid\":\"%s\",\"parties\":[]}}", iu, cu);
	if (allowed)
		ck_assert(h_is_ok(r));
	else {
		ck_assert(h_is_error(r, "forbidden"));
		ck_assert_str_eq(h_str(r, "op"), "broadcast_interaction");
	}
	json_decref(r);
	/* forbidden is checked before the op's own validation. */
	r = h_request(w, "{\"op\":\"broadcast_to_contacts\",\"event\":\"nope\"}");
	ck_assert(h_is_error(r, allowed ? "bad_event" : "forbidden"));
	json_decref(r);

	if (allowed) {
		for (i = 0; i < 2; i++) {
			p = h_recv_push(s, H_TIMEOUT_MS);
			ck_assert_ptr_nonnull(p);
			ck_assert_str_eq(h_str(p, "type"), "crm");
			json_decref(p);
		}
	}
	ck_assert(h_silent(s, 150));
	r = h_request(w, "{\"op\":\"stats\"}");
	ck_assert(h_is_ok(r));
	ck_assert_int_eq(h_int(json_object_get(r, "stats"), "broadcasts"),
	    allowed ? 2 : 0);
	json_decref(r);
	h_close(w);
	h_close(s);
	ck_assert_int_eq(h_daemon_stop(&d, SIGTERM, H_TIMEOUT_MS), 0);
}

START_TEST(test_acl_uid_forbidden)
{
	const char *args[] = { "--publish-uids", "12345", NULL };

	acl_case(args, 0);
}
END_TEST

START_TEST(test_acl_uid_allowed)
{
	char list_arg[48];
	const char *args[] = { "--publish-uids", own_id(0), NULL };
	const char *list[] = { "--publish-uids", list_arg, NULL };

	snprintf(list_arg, sizeof list_arg, "12345,%s", own_id(0));
	acl_case(args, 1);
	acl_case(list, 1);
}
END_TEST

START_TEST(test_acl_gid)
{
	const char *no[] = { "--publish-gids", "12345", NULL };
	const char *yes[] = { "--publish-gids", own_id(1), NULL };
	const char *either[] = { "--publish-uids", "12345", "--publish-gids",
	    own_id(1), NULL };
	const char *neither[] = { "--publish-uids", "12345", "--publish-gids",
	    "12345", NULL };

	acl_case(no, 0);
	acl_case(yes, 1);
	acl_case(either, 1);
	acl_case(neither, 0);
}
END_TEST

static Suite *
lifecycle_suite(void)
{
	Suite *s = suite_create("it_lifecycle");
	TCase *sig = tcase_create("signals"), *cfg = tcase_create("config"),
	    *sock = tcase_create("socket"), *acl = tcase_create("acl");

	/* A guard against hangs, not a speed check: every wait inside is
	 * bounded, and test_sigterm_right_after_ready starts the daemon 60
	 * times, which on a loaded machine under ASan takes well over 20 s. */
	tcase_set_timeout(sig, 90);
	tcase_add_test(sig, test_sigterm_shutdown);
	tcase_add_test(sig, test_sigint_shutdown);
	tcase_add_test(sig, test_sigterm_right_after_ready);
	tcase_add_test(sig, test_shutdown_stuck_reader);
	suite_add_tcase(s, sig);

	tcase_set_timeout(cfg, 30);
	tcase_add_test(cfg, test_sighup_max_subscriptions);
	tcase_add_test(cfg, test_sighup_publish_uids);
	tcase_add_test(cfg, test_sighup_bad_config_keeps_old);
	tcase_add_test(cfg, test_config_file_applies);
	tcase_add_test(cfg, test_command_line_wins);
	tcase_add_test(cfg, test_config_socket_key);
	tcase_add_test(cfg, test_bad_options);
	tcase_add_test(cfg, test_bad_config_lines);
	tcase_add_test(cfg, test_socket_error_texts);
	tcase_add_test(cfg, test_log_format);
	tcase_add_test(cfg, test_version_and_help);
	suite_add_tcase(s, cfg);

	tcase_set_timeout(sock, 30);
	tcase_add_test(sock, test_stale_socket_replaced);
	tcase_add_test(sock, test_second_instance_refused);
	tcase_add_test(sock, test_regular_file_kept);
	tcase_add_test(sock, test_socket_mode);
	tcase_add_test(sock, test_socket_group);
	suite_add_tcase(s, sock);

	tcase_set_timeout(acl, 30);
	tcase_add_test(acl, test_acl_uid_forbidden);
	tcase_add_test(acl, test_acl_uid_allowed);
	tcase_add_test(acl, test_acl_gid);
	suite_add_tcase(s, acl);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(lifecycle_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
