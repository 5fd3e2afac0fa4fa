/* SPDX-License-Identifier: MIT — crmpubsub */
/* Integration suite for crmpubsub-cli: the real script, the real socat and
 * the real daemon; every subcommand, every exit status, socket resolution,
 * output with and without jq on PATH, and `metrics` against the daemon's
 * own /metrics. */

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "hmetrics.h"

#define CLI_TIMEOUT_MS	15000	/* bound for one CLI run */
#define UUID_I		"0190a5b2-7c1e-7a01-8f00-0000000000aa"

/* What one finished CLI run left behind. */
struct cli_run {
	int	status;		/* exit status, or -1 when killed/timed out */
	char	out[65536];
	size_t	outlen;
	char	err[8192];
	size_t	errlen;
};

/* A CLI left running in the background (subscribe). */
struct cli_bg {
	pid_t	pid;
	int	outfd, errfd;
	char	buf[8192];	/* stdout bytes not yet returned as lines */
	size_t	len;
};

static char tools_all[PATH_MAX];	/* PATH dir: every tool the CLI uses */
static char tools_nojq[PATH_MAX];	/* the same minus jq */
static char tools_nosocat[PATH_MAX];	/* the same minus socat */

/* Tools the CLI runs, besides the shell builtins. */
static const char *const cli_tools[] = {
	"cat", "grep", "id", "jq", "mkfifo", "mktemp", "mv", "rm", "sed",
	"sleep", "socat", "tail", "tr", NULL
};

static int
left_ms(long long deadline)
{
	long long d = deadline - h_now_ms();

	return d < 0 ? 0 : (int)d;
}

/* Path of the CLI script in the source tree. */
static const char *
cli_path(void)
{
	static char path[PATH_MAX];
	const char *top = getenv("CRMPUBSUB_TOP");

	snprintf(path, sizeof path, "%s/client/crmpubsub-cli",
	    top != NULL && *top != '\0' ? top : ".");
	return path;
}

/* Makes a directory of symlinks to the CLI's tools, minus `without`. */
static void
make_tool_dir(char *dir, size_t dirlen, const char *without)
{
	char target[PATH_MAX], link[PATH_MAX];
	size_t i;

	snprintf(dir, dirlen, "/tmp/crmpubsub-clipath.XXXXXX");
	ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp: %s", strerror(errno));
	for (i = 0; cli_tools[i] != NULL; i++) {
		if (without != NULL && strcmp(cli_tools[i], without) == 0)
			continue;
		if (hm_which(cli_tools[i], target, sizeof target) == NULL)
			continue;
		snprintf(link, sizeof link, "%s/%s", dir, cli_tools[i]);
		ck_assert_msg(symlink(target, link) == 0, "symlink %s: %s",
		    link, strerror(errno));
	}
}

/* Removes a tool directory made by make_tool_dir. */
static void
remove_tool_dir(const char *dir)
{
	char link[PATH_MAX];
	size_t i;

	if (dir[0] == '\0')
		return;
	for (i = 0; cli_tools[i] != NULL; i++) {
		snprintf(link, sizeof link, "%s/%s", dir, cli_tools[i]);
		unlink(link);
	}
	rmdir(dir);
}

static void
setup(void)
{
	char p[PATH_MAX];

	signal(SIGPIPE, SIG_IGN);
	ck_assert_msg(hm_which("socat", p, sizeof p) != NULL, "socat not on PATH");
	ck_assert_msg(hm_which("jq", p, sizeof p) != NULL, "jq not on PATH");
	make_tool_dir(tools_all, sizeof tools_all, NULL);
	make_tool_dir(tools_nojq, sizeof tools_nojq, "jq");
	make_tool_dir(tools_nosocat, sizeof tools_nosocat, "socat");
	memset(&h_test_daemon, 0, sizeof h_test_daemon);
}

static void
teardown(void)
{
	h_daemon_stop_clean(&h_test_daemon);
	remove_tool_dir(tools_all);
	remove_tool_dir(tools_nojq);
	remove_tool_dir(tools_nosocat);
}

/* In the child: a clean environment for the CLI. sock_env: value of
 * CRMPUBSUB_SOCKET or NULL; xdg: XDG_RUNTIME_DIR or NULL. */
static void
child_env(const char *path, const char *sock_env, const char *xdg)
{
	setenv("PATH", path, 1);
	unsetenv("CRMPUBSUB_SOCKET");
	unsetenv("XDG_RUNTIME_DIR");
	unsetenv("TMPDIR");
	if (sock_env != NULL)
		setenv("CRMPUBSUB_SOCKET", sock_env, 1);
	if (xdg != NULL)
		setenv("XDG_RUNTIME_DIR", xdg, 1);
}

/* Forks the CLI with argv (after the program name); its own process group
 * so a timeout can take down socat with it. Fills the pipe ends. */
static pid_t
spawn_cli(const char *const *args, const char *path, const char *sock_env,
    const char *xdg, int *infd, int *outfd, int *errfd)
{
	int in[2], out[2], err[2];
	const char *argv[32];
	size_t n = 0;
	pid_t pid;

	argv[n++] = cli_path();
	while (args != NULL && *args != NULL && n < 31)
		argv[n++] = *args++;
	argv[n] = NULL;
	ck_assert(pipe2(in, O_CLOEXEC) == 0 && pipe2(out, O_CLOEXEC) == 0 &&
	    pipe2(err, O_CLOEXEC) == 0);
	fflush(NULL);
	pid = fork();
	ck_assert(pid != -1);
	if (pid == 0) {
		setpgid(0, 0);
		signal(SIGPIPE, SIG_DFL);
		dup2(in[0], STDIN_FILENO);
		dup2(out[1], STDOUT_FILENO);
		dup2(err[1], STDERR_FILENO);
		child_env(path, sock_env, xdg);
		execv(argv[0], (char *const *)argv);
		dprintf(STDERR_FILENO, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid);
	close(in[0]);
	close(out[1]);
	close(err[1]);
	*infd = in[1];
	*outfd = out[0];
	*errfd = err[0];
	return pid;
}

/* Runs the CLI to completion with stdin_data (or nothing) on its stdin,
 * collecting both outputs; bounded by CLI_TIMEOUT_MS. */
static void
run_cli_env(struct cli_run *r, const char *path, const char *sock_env,
    const char *xdg, const char *stdin_data, const char *const *args)
{
	long long deadline = h_now_ms() + CLI_TIMEOUT_MS;
	int infd, outfd, errfd, open_fds = 2, status;
	struct pollfd pfd[2];
	pid_t pid, w;
	ssize_t n;

	memset(r, 0, sizeof *r);
	r->status = -1;
	pid = spawn_cli(args, path, sock_env, xdg, &infd, &outfd, &errfd);
	if (stdin_data != NULL)
		ck_assert(write(infd, stdin_data, strlen(stdin_data)) ==
		    (ssize_t)strlen(stdin_data));
	close(infd);
	pfd[0].fd = outfd;
	pfd[1].fd = errfd;
	pfd[0].events = pfd[1].events = POLLIN;
	while (open_fds > 0 && left_ms(deadline) > 0) {
		if (poll(pfd, 2, left_ms(deadline)) <= 0)
			continue;
		if (pfd[0].revents != 0) {
			n = read(outfd, r->out + r->outlen,
			    sizeof r->out - 1 - r->outlen);
			if (n > 0)
				r->outlen += (size_t)n;
			else {
				pfd[0].fd = -1;
				open_fds--;
			}
		}
		if (pfd[1].revents != 0) {
			n = read(errfd, r->err + r->errlen,
			    sizeof r->err - 1 - r->errlen);
			if (n > 0)
				r->errlen += (size_t)n;
			else {
				pfd[1].fd = -1;
				open_fds--;
			}
		}
	}
	close(outfd);
	close(errfd);
	while ((w = waitpid(pid, &status, WNOHANG)) == 0 &&
	    left_ms(deadline) > 0)
		poll(NULL, 0, 10);
	if (w == pid) {
		if (WIFEXITED(status))
			r->status = WEXITSTATUS(status);
	} else {
		kill(-pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	kill(-pid, SIGKILL);	/* any helper still around */
	r->out[r->outlen] = '\0';
	r->err[r->errlen] = '\0';
}

/* The usual run: all tools on PATH, socket given with CRMPUBSUB_SOCKET. */
static void
run_cli(struct cli_run *r, const char *const *args)
{
	run_cli_env(r, tools_all, h_test_daemon.sock, NULL, NULL, args);
}

/* The CLI's stdout as one JSON value (pretty or not), asserted. */
static json_t *
out_json(const struct cli_run *r)
{
	json_error_t e;
	json_t *j = json_loads(r->out, 0, &e);

	ck_assert_msg(j != NULL, "stdout is not one JSON value (%s): [%s] "
	    "stderr [%s]", e.text, r->out, r->err);
	return j;
}

/* Number of '\n' in s. */
static int
count_lines(const char *s)
{
	int n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

/* Asserts exit status and returns the reply (ok matches status 0/1). */
static json_t *
expect_reply(const struct cli_run *r, int status)
{
	json_t *j;

	ck_assert_msg(r->status == status, "exit %d, expected %d; stdout [%s] "
	    "stderr [%s]", r->status, status, r->out, r->err);
	j = out_json(r);
	ck_assert_msg(json_is_boolean(json_object_get(j, "ok")) &&
	    h_is_ok(j) == (status == 0), "reply does not match exit %d: %s",
	    status, r->out);
	return j;
}

/* The CLI's connection has gone (the daemon sees only the harness connection
 * c) and took its subscriptions with it. */
static void
expect_cli_gone(struct h_conn *c)
{
	ck_assert_msg(h_wait_stat(c, "connections", 1, H_TIMEOUT_MS),
	    "the CLI's connection is still open");
	ck_assert_int_eq(h_stat_or_fail(c, "subscriptions"), 0);
}

/* Starts the CLI in the background with stdin at EOF. */
static void
bg_start(struct cli_bg *b, const char *const *args)
{
	int infd;

	memset(b, 0, sizeof *b);
	b->pid = spawn_cli(args, tools_all, h_test_daemon.sock, NULL, &infd,
	    &b->outfd, &b->errfd);
	close(infd);
}

/* Next line of fd (buffered in b when fd is stdout); its length without
 * "\n", -1 on timeout, -2 on EOF. Lines of stderr are read byte by byte. */
static long
bg_line(struct cli_bg *b, int fd, char *out, size_t cap, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char *nl;
	size_t len;
	ssize_t n;
	char c;

	if (fd == b->errfd) {
		len = 0;
		for (;;) {
			if (poll(&pfd, 1, left_ms(deadline)) != 1)
				return -1;
			if (read(fd, &c, 1) != 1)
				return -2;
			if (c == '\n')
				break;
			if (len + 1 < cap)
				out[len++] = c;
		}
		out[len] = '\0';
		return (long)len;
	}
	for (;;) {
		if ((nl = memchr(b->buf, '\n', b->len)) != NULL) {
			len = (size_t)(nl - b->buf);
			snprintf(out, cap, "%.*s", (int)len, b->buf);
			memmove(b->buf, nl + 1, b->len - len - 1);
			b->len -= len + 1;
			return (long)len;
		}
		if (b->len == sizeof b->buf)
			return -2;
		if (poll(&pfd, 1, left_ms(deadline)) != 1)
			return -1;
		n = read(fd, b->buf + b->len, sizeof b->buf - b->len);
		if (n <= 0)
			return -2;
		b->len += (size_t)n;
	}
}

/* Starts a `crmpubsub-cli subscribe` (args) in the background and waits
 * for its note on stderr that it follows its topics; the note in line. */
static void
bg_subscribed(struct cli_bg *b, const char *const *args, char *line,
    size_t cap)
{
	long	n;

	bg_start(b, args);
	n = bg_line(b, b->errfd, line, cap, CLI_TIMEOUT_MS);
	ck_assert_msg(n > 0 && strstr(line, "following ") != NULL,
	    "no subscribed note (%ld): %s", n, n > 0 ? line : "");
}

/* Waits (bounded) for the background CLI to exit; exit status or -1. */
static int
bg_wait(struct cli_bg *b, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;
	int status;

	while (waitpid(b->pid, &status, WNOHANG) == 0) {
		if (left_ms(deadline) == 0) {
			kill(-b->pid, SIGKILL);
			waitpid(b->pid, &status, 0);
			return -1;
		}
		poll(NULL, 0, 10);
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

static void
bg_close(struct cli_bg *b)
{
	kill(-b->pid, SIGKILL);
	close(b->outfd);
	close(b->errfd);
}

/* ---- the subcommands ------------------------------------------------------ */

START_TEST(test_ping)
{
	const char *args[] = { "ping", NULL };
	struct cli_run r;
	json_t *j;

	h_test_up(NULL);
	run_cli(&r, args);
	j = expect_reply(&r, 0);
	ck_assert_str_eq(h_str(j, "op"), "ping");
	ck_assert_uint_eq(r.errlen, 0);
	json_decref(j);
}
END_TEST

/* version: the daemon's own answer to the version op, as one line. */
START_TEST(test_daemon_version)
{
	const char *args[] = { "version", NULL };
	struct cli_run r;
	json_t *j;

	h_test_up(NULL);
	run_cli(&r, args);
	j = expect_reply(&r, 0);
	ck_assert_str_eq(h_str(j, "op"), "version");
	ck_assert_str_eq(h_str(j, "version"), CRMPUBSUB_VERSION);
	ck_assert_ptr_nonnull(json_object_get(j, "build"));
	ck_assert_uint_eq(r.errlen, 0);
	json_decref(j);
}
END_TEST

START_TEST(test_stats)
{
	const char *args[] = { "stats", NULL };
	struct h_conn *c;
	struct cli_run r;
	char t1[80], t2[80];
	json_t *j, *s;

	h_test_up(NULL);
	c = h_test_conn();
	h_topic(1, t1);
	h_topic(2, t2);
	json_decref(h_requestf(c, "{\"op\":\"subscribe\",\"topics\":"
	    "[\"%s\",\"%s\"]}", t1, t2));
	run_cli(&r, args);
	j = expect_reply(&r, 0);
	s = json_object_get(j, "stats");
	ck_assert_msg(json_is_object(s), "no stats object: %s", r.out);
	ck_assert_int_ge(h_int(s, "uptime_s"), 0);
	/* The harness connection and the CLI's own. */
	ck_assert_int_eq(h_int(s, "connections"), 2);
	ck_assert_int_eq(h_int(s, "topics"), 2);
	ck_assert_int_eq(h_int(s, "subscriptions"), 2);
	ck_assert_int_eq(h_int(s, "broadcasts"), 0);
	json_decref(j);
	h_close(c);
}
END_TEST

START_TEST(test_topics)
{
	const char *all[] = { "topics", NULL };
	const char *two[] = { "topics", "2", NULL };
	const char *bad[] = { "topics", "x", NULL };
	struct h_conn *c;
	struct cli_run r;
	char t[3][80];
	json_t *j, *list;
	size_t i, k;
	int seen;

	h_test_up(NULL);
	c = h_test_conn();
	for (i = 0; i < 3; i++)
		h_topic(10 + i, t[i]);
	json_decref(h_requestf(c, "{\"op\":\"subscribe\",\"topics\":"
	    "[\"%s\",\"%s\",\"%s\"]}", t[0], t[1], t[2]));

	run_cli(&r, all);
	j = expect_reply(&r, 0);
	list = json_object_get(j, "topics");
	ck_assert_uint_eq(json_array_size(list), 3);
	ck_assert(json_is_false(json_object_get(j, "truncated")));
	for (i = 0; i < 3; i++) {
		seen = 0;
		for (k = 0; k < 3; k++)
			seen += strcmp(h_str(json_array_get(list, k), "topic"),
			    t[i]) == 0 &&
			    h_int(json_array_get(list, k), "subscribers") == 1;
		ck_assert_msg(seen == 1, "topic %s missing: %s", t[i], r.out);
	}
	json_decref(j);

	run_cli(&r, two);
	j = expect_reply(&r, 0);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "topics")), 2);
	ck_assert(json_is_true(json_object_get(j, "truncated")));
	json_decref(j);

	run_cli(&r, bad);
	ck_assert_int_eq(r.status, 2);
	h_close(c);
}
END_TEST

START_TEST(test_clients)
{
	const char *args[] = { "clients", NULL };
	struct h_conn *c;
	struct cli_run r;
	json_t *j, *list, *e;
	size_t i;
	int seen = 0;

	h_test_up(NULL);
	c = h_test_conn();
	json_decref(h_request(c, "{\"op\":\"hello\",\"name\":\"cli-peer\"}"));
	run_cli(&r, args);
	j = expect_reply(&r, 0);
	list = json_object_get(j, "clients");
	ck_assert_uint_eq(json_array_size(list), 2);
	json_array_foreach(list, i, e) {
		if (h_str(e, "name") != NULL &&
		    strcmp(h_str(e, "name"), "cli-peer") == 0) {
			seen++;
			ck_assert_int_eq(h_int(e, "pid"), getpid());
			ck_assert_int_eq(h_int(e, "uid"), getuid());
		}
	}
	ck_assert_msg(seen == 1, "hello name not listed: %s", r.out);
	/* The CLI names itself and its command. */
	seen = 0;
	json_array_foreach(list, i, e)
		seen += h_str(e, "name") != NULL &&
		    strcmp(h_str(e, "name"), "crmpubsub-cli clients") == 0;
	ck_assert_msg(seen == 1, "the CLI is not named in clients: %s", r.out);
	json_decref(j);
	h_close(c);
}
END_TEST

START_TEST(test_subscribe_follows_until_killed)
{
	char u1[37], u2[37], upper[37], line[4096], want[80];
	const char *args[] = { "subscribe", upper, u2, NULL };
	struct cli_bg b;
	struct h_conn *c;
	json_t *r, *p;
	long n;
	int i, st;
	size_t k;

	h_test_up(NULL);
	h_uuid(21, u1);
	h_uuid(22, u2);
	for (k = 0; k <= 36; k++)	/* upper-case form of u1 */
		upper[k] = (char)(u1[k] >= 'a' && u1[k] <= 'f' ?
		    u1[k] - 'a' + 'A' : u1[k]);
	bg_subscribed(&b, args, line, sizeof line);
	ck_assert_msg(strstr(line, "following 2 topic") != NULL, "%s", line);

	c = h_test_conn();
	r = h_requestf(c, "{\"op\":\"broadcast_to_contacts\",\"event\":"
	    "\"interaction_updated\",\"interaction_uuid\":\"%s\","
	    "\"contact_uuids\":[\"%s\",\"%s\"]}", UUID_I, u1, u2);
	ck_assert_msg(h_is_ok(r) && h_int(r, "delivered") == 2,
	    "broadcast not delivered twice");
	json_decref(r);
	for (i = 0; i < 2; i++) {
		n = bg_line(&b, b.outfd, line, sizeof line, H_TIMEOUT_MS);
		ck_assert_msg(n > 0, "push %d not printed (%ld)", i, n);
		ck_assert(strchr(line, '\n') == NULL);
		p = json_loads(line, 0, NULL);
		ck_assert_msg(p != NULL, "push line is not JSON: %s", line);
		ck_assert_str_eq(h_str(p, "type"), "crm");
		ck_assert_str_eq(h_str(p, "event"), "interaction_updated");
		h_topic(i == 0 ? 21 : 22, want);
		ck_assert_str_eq(h_str(p, "topic"), want);
		ck_assert_str_eq(h_str(json_object_get(p, "payload"),
		    "interaction_uuid"), UUID_I);
		json_decref(p);
	}
	/* Interrupted like a terminal would: the whole process group. */
	kill(-b.pid, SIGINT);
	st = bg_wait(&b, H_TIMEOUT_MS);
	ck_assert_msg(st == 130 || st == 128 + SIGINT, "exit after SIGINT: %d",
	    st);
	/* Its connection is gone: only the harness connection is left. */
	expect_cli_gone(c);
	bg_close(&b);
	h_close(c);
}
END_TEST

START_TEST(test_subscribe_sigterm_to_script_only)
{
	char u[37], line[4096];
	const char *args[] = { "subscribe", u, NULL };
	struct cli_bg b;
	struct h_conn *c;

	h_test_up(NULL);
	h_uuid(23, u);
	bg_subscribed(&b, args, line, sizeof line);
	c = h_test_conn();
	ck_assert_int_eq(h_stat_or_fail(c, "subscriptions"), 1);
	/* A supervisor signalling the script alone: socat must go too. */
	kill(b.pid, SIGTERM);
	ck_assert_int_eq(bg_wait(&b, H_TIMEOUT_MS), 143);
	expect_cli_gone(c);
	bg_close(&b);
	h_close(c);
}
END_TEST

START_TEST(test_subscribe_daemon_stops)
{
	char u[37], line[4096];
	const char *args[] = { "subscribe", u, NULL };
	struct cli_bg b;
	json_t *p;
	long n;

	h_test_up(NULL);
	h_uuid(24, u);
	bg_subscribed(&b, args, line, sizeof line);
	h_assert_clean_exit(&h_test_daemon, h_daemon_stop(&h_test_daemon,
	    SIGTERM, H_TIMEOUT_MS));
	n = bg_line(&b, b.outfd, line, sizeof line, H_TIMEOUT_MS);
	ck_assert_msg(n > 0, "shutdown push not printed");
	p = json_loads(line, 0, NULL);
	ck_assert_msg(p != NULL && strcmp(h_str(p, "type"), "shutdown") == 0,
	    "expected the shutdown push, got %s", line);
	json_decref(p);
	ck_assert_int_eq(bg_wait(&b, H_TIMEOUT_MS), 3);
	bg_close(&b);
}
END_TEST

START_TEST(test_subscribe_errors)
{
	const char *none[] = { "subscribe", NULL };
	const char *bad[] = { "subscribe", "not-a-uuid", NULL };
	struct h_conn *c;
	struct cli_run r;
	long long total;

	h_test_up(NULL);
	run_cli(&r, none);
	ck_assert_int_eq(r.status, 2);
	/* What the user typed is checked as what it is: a UUID, not the
	 * topic the CLI would have made of it; nothing reaches the daemon. */
	c = h_test_conn();
	total = h_stat_or_fail(c, "connections_total");
	run_cli(&r, bad);
	ck_assert_msg(r.status == 2 && r.outlen == 0 &&
	    strstr(r.err, "'not-a-uuid' is not a UUID") != NULL &&
	    strstr(r.err, "topic") == NULL, "exit %d, stderr [%s]", r.status,
	    r.err);
	ck_assert_int_eq(h_stat_or_fail(c, "connections_total"), total);
	h_close(c);
}
END_TEST

/* Runs a broadcast with the CLI: the reply counts want_topics topics and
 * one delivery, and subscriber c gets the push of event on topic. */
static void
expect_broadcast(struct h_conn *c, const char *const *args,
    long long want_topics, const char *event, const char *topic)
{
	struct cli_run r;
	json_t *j, *p;

	run_cli(&r, args);
	j = expect_reply(&r, 0);
	ck_assert_str_eq(h_str(j, "op"), "broadcast_to_contacts");
	ck_assert_int_eq(h_int(j, "topics"), want_topics);
	ck_assert_int_eq(h_int(j, "delivered"), 1);
	json_decref(j);
	p = h_recv_push(c, H_TIMEOUT_MS);
	ck_assert_msg(p != NULL, "subscriber got no push for %s", event);
	ck_assert_str_eq(h_str(p, "event"), event);
	ck_assert_str_eq(h_str(p, "topic"), topic);
	json_decref(p);
}

START_TEST(test_broadcast)
{
	char u1[37], u2[37];
	const char *short_ev[] = { "broadcast", "created", UUID_I, u1, u2,
	    NULL };
	const char *long_ev[] = { "broadcast", "interaction_deleted", UUID_I,
	    u1, NULL };
	const char *with_null[] = { "broadcast", "updated", UUID_I, "-", u1,
	    "-", NULL };
	struct h_conn *c;
	char topic[80];

	h_test_up(NULL);
	h_uuid(31, u1);
	h_uuid(32, u2);
	h_topic(31, topic);
	c = h_test_conn();
	json_decref(h_requestf(c, "{\"op\":\"subscribe\",\"topic\":\"%s\"}",
	    topic));
	expect_broadcast(c, short_ev, 2, "interaction_created", topic);
	expect_broadcast(c, long_ev, 1, "interaction_deleted", topic);
	/* "-" is a null contact (an unresolved party), as for the example
	 * writer: it is sent as null and dropped by the daemon. */
	expect_broadcast(c, with_null, 1, "interaction_updated", topic);
	h_close(c);
}
END_TEST

/* Arguments are checked before anything is sent: a usage error (exit 2)
 * that says what was wrong, nothing on stdout. */
START_TEST(test_broadcast_errors)
{
	char u[37];
	static const char *const why[] = { "'exploded' is not an event",
	    "'nope' is not a UUID", "is not a UUID", "is not a UUID",
	    "CONTACT_UUID... expected", "'x' is not a UUID" };
	const char *cases[][6] = {
		{ "broadcast", "exploded", UUID_I, u, NULL },
		{ "broadcast", "updated", UUID_I, "nope", NULL },
		/* Quotes and backslashes never make it into the JSON. */
		{ "broadcast", "updated", UUID_I, "a\"b\\c", NULL },
		{ "broadcast", "updated", UUID_I, "a\nb", NULL },
		{ "broadcast", "updated", UUID_I, NULL },
		{ "broadcast", "updated", "x", u, NULL },
	};
	struct h_conn *c;
	struct cli_run r;
	long long total;
	size_t i;

	h_test_up(NULL);
	h_uuid(33, u);
	c = h_test_conn();
	total = h_stat_or_fail(c, "connections_total");
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		run_cli(&r, cases[i]);
		ck_assert_msg(r.status == 2 && r.outlen == 0 &&
		    strstr(r.err, why[i]) != NULL, "case %zu: exit %d, "
		    "stderr [%s]", i, r.status, r.err);
	}
	ck_assert_int_eq(h_stat_or_fail(c, "connections_total"), total);
	h_close(c);
}
END_TEST

START_TEST(test_broadcast_forbidden)
{
	const char *args[] = { "--publish-uids", "4294967294", NULL };
	char u[37];
	const char *bc[] = { "broadcast", "created", UUID_I, u, NULL };
	struct cli_run r;
	json_t *j;

	h_test_up(args);
	h_uuid(34, u);
	run_cli(&r, bc);
	j = expect_reply(&r, 1);
	ck_assert_str_eq(h_str(j, "error"), "forbidden");
	json_decref(j);
}
END_TEST

START_TEST(test_send)
{
	const char *ping[] = { "send", "{\"op\":\"ping\",\"id\":7}", NULL };
	const char *multi[] = { "send", "{\n  \"op\": \"ping\",\n  \"id\": "
	    "\"x\"\n}", NULL };
	const char *bad[] = { "send", "this is not json", NULL };
	const char *none[] = { "send", NULL };
	struct cli_run r;
	json_t *j;

	h_test_up(NULL);
	run_cli(&r, ping);
	j = expect_reply(&r, 0);
	ck_assert_int_eq(h_int(j, "id"), 7);
	json_decref(j);
	run_cli(&r, multi);
	j = expect_reply(&r, 0);
	ck_assert_str_eq(h_str(j, "id"), "x");
	json_decref(j);
	run_cli(&r, bad);
	j = expect_reply(&r, 1);
	ck_assert_str_eq(h_str(j, "error"), "bad_json");
	json_decref(j);
	run_cli(&r, none);
	ck_assert_int_eq(r.status, 2);
}
END_TEST

START_TEST(test_shell_scripted)
{
	const char *args[] = { "shell", NULL };
	const char *in = "{\"op\":\"ping\",\"id\":1}\n{\"op\":\"nope\",\"id\":2}\n";
	struct cli_run r;
	char *second;
	json_t *a, *b;

	h_test_up(NULL);
	run_cli_env(&r, tools_all, h_test_daemon.sock, NULL, in, args);
	ck_assert_msg(r.status == 0, "shell exit %d: %s", r.status, r.err);
	ck_assert_msg(count_lines(r.out) == 2, "expected two reply lines: [%s]",
	    r.out);
	second = strchr(r.out, '\n') + 1;
	second[-1] = '\0';
	a = json_loads(r.out, 0, NULL);
	b = json_loads(second, 0, NULL);
	ck_assert(a != NULL && b != NULL);
	ck_assert(h_is_ok(a) && h_int(a, "id") == 1);
	ck_assert(h_is_error(b, "unknown_op") && h_int(b, "id") == 2);
	json_decref(a);
	json_decref(b);
}
END_TEST

/* A scripted session that subscribed: socat half-closes at the end of its
 * input, waits, then closes. The daemon must notice the close and drop the
 * connection and its subscription. */
START_TEST(test_shell_subscriber_leaves_nothing)
{
	const char *args[] = { "shell", NULL };
	char topic[80], in[160];
	struct h_conn *c;
	struct cli_run r;
	json_t *j;

	h_test_up(NULL);
	h_topic(51, topic);
	snprintf(in, sizeof in, "{\"op\":\"subscribe\",\"topic\":\"%s\"}\n",
	    topic);
	run_cli_env(&r, tools_all, h_test_daemon.sock, NULL, in, args);
	ck_assert_msg(r.status == 0, "shell exit %d: %s", r.status, r.err);
	j = json_loads(r.out, 0, NULL);
	ck_assert_msg(h_is_ok(j), "subscribe reply: [%s]", r.out);
	json_decref(j);
	c = h_test_conn();
	expect_cli_gone(c);
	h_close(c);
}
END_TEST

START_TEST(test_ok_false_from_refused_connection)
{
	const char *args[] = { "--max-connections", "1", NULL };
	const char *ping[] = { "ping", NULL };
	struct h_conn *c;
	struct cli_run r;
	json_t *j;

	long long deadline;

	h_test_up(args);
	/* The readiness probe may still hold the only slot for a moment. */
	deadline = h_now_ms() + H_TIMEOUT_MS;
	for (;;) {
		c = h_test_conn();
		j = h_request(c, "{\"op\":\"ping\"}");
		if (h_is_ok(j) || left_ms(deadline) == 0)
			break;
		json_decref(j);
		h_close(c);
		poll(NULL, 0, 20);
	}
	ck_assert_msg(h_is_ok(j), "the only connection slot never freed");
	json_decref(j);
	run_cli(&r, ping);
	/* The daemon writes its refusal and closes at once; socat may hit
	 * EPIPE writing the request before it has passed the refusal on, and
	 * then the CLI reports the connection as lost. Both are acceptable;
	 * anything else is not. */
	if (r.status == 3) {
		ck_assert_msg(count_lines(r.err) == 1 &&
		    strstr(r.err, h_test_daemon.sock) != NULL, "refused: [%s]", r.err);
	} else {
		j = expect_reply(&r, 1);
		ck_assert_str_eq(h_str(j, "error"), "too_many");
		ck_assert(json_is_null(json_object_get(j, "op")));
		json_decref(j);
	}
	h_close(c);
}
END_TEST

/* ---- exit statuses, PATH and socket resolution --------------------------- */

START_TEST(test_usage_errors)
{
	const char *cases[][4] = {
		{ NULL },
		{ "frobnicate", NULL },
		{ "--bogus", "ping", NULL },
		{ "-s", NULL },
		{ "ping", "extra", NULL },
		{ "stats", "extra", NULL },
		{ "clients", "extra", NULL },
		{ "topics", "1", "2", NULL },
		{ "shell", "extra", NULL },
	};
	const char *help[] = { "--help", NULL };
	struct cli_run r;
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		run_cli_env(&r, tools_all, "/nonexistent/sock", NULL, NULL,
		    cases[i]);
		ck_assert_msg(r.status == 2, "case %zu: exit %d", i, r.status);
		ck_assert_msg(r.errlen > 0 && r.outlen == 0,
		    "case %zu: usage error not on stderr", i);
	}
	run_cli_env(&r, tools_all, NULL, NULL, NULL, help);
	ck_assert_int_eq(r.status, 0);
	ck_assert_msg(strncmp(r.out, "usage:", 6) == 0, "help: %s", r.out);
	ck_assert_msg(strstr(r.out, "subscribe") != NULL &&
	    strstr(r.out, "broadcast") != NULL, "help lists no commands");
}
END_TEST

START_TEST(test_unreachable)
{
	const char *cmds[][5] = {
		{ "ping", NULL }, { "stats", NULL }, { "topics", NULL },
		{ "clients", NULL }, { "subscribe", UUID_I, NULL },
		{ "broadcast", "created", UUID_I, UUID_I, NULL },
		{ "send", "{\"op\":\"ping\"}", NULL }, { "shell", NULL },
	};
	char dir[] = "/tmp/crmpubsub-cli-unreach.XXXXXX", path[128];
	struct sockaddr_un sun;
	struct cli_run r;
	size_t i;
	int fd;

	ck_assert(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/missing.sock", dir);
	for (i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		run_cli_env(&r, tools_all, path, NULL, NULL, cmds[i]);
		ck_assert_msg(r.status == 3, "%s: exit %d [%s]", cmds[i][0],
		    r.status, r.err);
		ck_assert_msg(count_lines(r.err) == 1 &&
		    strstr(r.err, path) != NULL,
		    "%s: want one line naming the socket: [%s]", cmds[i][0],
		    r.err);
		ck_assert_uint_eq(r.outlen, 0);
	}
	/* A stale socket file nobody listens on. */
	snprintf(path, sizeof path, "%s/stale.sock", dir);
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert(bind(fd, (struct sockaddr *)&sun, sizeof sun) == 0);
	close(fd);
	run_cli_env(&r, tools_all, path, NULL, NULL, cmds[0]);
	ck_assert_int_eq(r.status, 3);
	ck_assert_msg(count_lines(r.err) == 1 && strstr(r.err, path) &&
	    strstr(r.err, "refused") != NULL, "stale: [%s]", r.err);
	unlink(path);
	rmdir(dir);
}
END_TEST

START_TEST(test_socat_missing)
{
	const char *args[] = { "ping", NULL };
	struct cli_run r;

	h_test_up(NULL);
	run_cli_env(&r, tools_nosocat, h_test_daemon.sock, NULL, NULL, args);
	ck_assert_int_eq(r.status, 4);
	ck_assert_msg(strstr(r.err, "socat") != NULL, "stderr: %s", r.err);
	ck_assert_uint_eq(r.outlen, 0);
}
END_TEST

START_TEST(test_without_jq_raw_lines)
{
	char u[37];
	const char *cmds[][6] = {
		{ "ping", NULL }, { "stats", NULL }, { "topics", NULL },
		{ "clients", NULL }, { "send", "{\"op\":\"ping\"}", NULL },
		{ "broadcast", "created", UUID_I, u, NULL },
		{ "send", "{\"op\":\"nope\"}", NULL },
	};
	const int want[] = { 0, 0, 0, 0, 0, 0, 1 };
	const char *ping[] = { "ping", NULL };
	char line[512];
	struct h_conn *c;
	struct cli_run r;
	json_t *j;
	size_t i;

	h_test_up(NULL);
	h_uuid(41, u);
	for (i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		run_cli_env(&r, tools_nojq, h_test_daemon.sock, NULL, NULL, cmds[i]);
		ck_assert_msg(count_lines(r.out) == 1,
		    "%s without jq: not one line: [%s]", cmds[i][0], r.out);
		j = expect_reply(&r, want[i]);
		json_decref(j);
	}
	/* Byte for byte what the daemon says over a plain connection. */
	c = h_test_conn();
	ck_assert(h_send_line(c, "{\"op\":\"ping\"}") == 0);
	ck_assert(h_recv_line(c, line, sizeof line, H_TIMEOUT_MS) > 0);
	run_cli_env(&r, tools_nojq, h_test_daemon.sock, NULL, NULL, ping);
	ck_assert_int_eq(r.status, 0);
	ck_assert_uint_eq(r.outlen, strlen(line) + 1);
	ck_assert(strncmp(r.out, line, strlen(line)) == 0);
	/* With jq the same reply is pretty-printed over several lines. */
	run_cli(&r, ping);
	ck_assert_msg(count_lines(r.out) > 1, "with jq: [%s]", r.out);
	h_close(c);
}
END_TEST

START_TEST(test_socket_resolution)
{
	const char *ping[] = { "ping", NULL };
	char sflag[400], fallback[128], sock_cmd[3][400];
	const char *with_s[] = { "-s", sflag, "ping", NULL };
	const char *long_s[] = { sock_cmd[0], "ping", NULL };
	struct stat st;
	struct cli_run r;

	h_test_up(NULL);
	/* -s wins over CRMPUBSUB_SOCKET. */
	snprintf(sflag, sizeof sflag, "%s", h_test_daemon.sock);
	run_cli_env(&r, tools_all, "/nonexistent/env.sock", NULL, NULL, with_s);
	ck_assert_msg(r.status == 0, "-s: exit %d %s", r.status, r.err);
	snprintf(sock_cmd[0], sizeof sock_cmd[0], "--socket=%s", h_test_daemon.sock);
	run_cli_env(&r, tools_all, "/nonexistent/env.sock", NULL, NULL, long_s);
	ck_assert_msg(r.status == 0, "--socket=: exit %d %s", r.status, r.err);
	/* CRMPUBSUB_SOCKET wins over XDG_RUNTIME_DIR. */
	run_cli_env(&r, tools_all, "/nonexistent/env.sock", h_test_daemon.dir, NULL,
	    ping);
	ck_assert_int_eq(r.status, 3);
	ck_assert(strstr(r.err, "/nonexistent/env.sock") != NULL);
	/* The system directory would come first (see test_where). */
	if (stat("/run/crmpubsub", &st) == 0) {
		fprintf(stderr, "it_cli: /run/crmpubsub exists; "
		    "default-path checks skipped\n");
		return;
	}
	/* $XDG_RUNTIME_DIR/crmpubsub.sock (the harness names it so). */
	run_cli_env(&r, tools_all, NULL, h_test_daemon.dir, NULL, ping);
	ck_assert_msg(r.status == 0, "XDG: exit %d %s", r.status, r.err);
	/* Last resort: /tmp/crmpubsub-<uid>/crmpubsub.sock. */
	snprintf(fallback, sizeof fallback, "/tmp/crmpubsub-%u/crmpubsub.sock",
	    (unsigned)getuid());
	if (stat(fallback, &st) == 0)
		return;
	run_cli_env(&r, tools_all, NULL, NULL, NULL, ping);
	ck_assert_int_eq(r.status, 3);
	ck_assert_msg(strstr(r.err, fallback) != NULL, "fallback: %s", r.err);
}
END_TEST

START_TEST(test_version)
{
	const char *longv[] = { "--version", NULL }, *shortv[] = { "-V", NULL };
	struct cli_run r;

	run_cli_env(&r, tools_all, NULL, NULL, NULL, longv);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, "crmpubsub-cli " CRMPUBSUB_VERSION "\n");
	run_cli_env(&r, tools_all, NULL, NULL, NULL, shortv);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, "crmpubsub-cli " CRMPUBSUB_VERSION "\n");
}
END_TEST

/* A daemon that accepts but does not answer (stopped with SIGSTOP: the
 * kernel still queues connections) is reported after -t seconds, for a
 * request and for subscribe alike; bad timeouts are usage errors. */
START_TEST(test_timeout)
{
	char u[37];
	const char *cmds[][5] = {
		{ "-t", "1", "ping", NULL },
		{ "--timeout=0.5", "subscribe", u, NULL },
	};
	const char *bad[][4] = {
		{ "-t", "0", "ping", NULL }, { "-t", "soon", "ping", NULL },
		{ "--timeout=", "ping", NULL }, { "-t", NULL },
	};
	struct cli_run r;
	long long t0, took;
	size_t i;

	h_test_up(NULL);
	h_uuid(61, u);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		run_cli(&r, bad[i]);
		ck_assert_msg(r.status == 2, "bad timeout %zu: exit %d", i,
		    r.status);
	}
	ck_assert_int_eq(kill(h_test_daemon.pid, SIGSTOP), 0);
	for (i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		t0 = h_now_ms();
		run_cli(&r, cmds[i]);
		took = h_now_ms() - t0;
		ck_assert_msg(r.status == 3 && strstr(r.err, "no reply within")
		    != NULL && strstr(r.err, h_test_daemon.sock) != NULL,
		    "%s: exit %d, stderr [%s]", cmds[i][2], r.status, r.err);
		/* Well before the 10 s default (and CLI_TIMEOUT_MS). */
		ck_assert_msg(took < 8000, "%s reported after %lld ms",
		    cmds[i][2], took);
	}
	ck_assert_int_eq(kill(h_test_daemon.pid, SIGCONT), 0);
}
END_TEST

/* where: every candidate with what is there, the one used, and whether it
 * answers (exit 0) or not (exit 3); --path prints the path alone. */
START_TEST(test_where)
{
	char sflag[400], line[512], xdgsock[400];
	const char *where[] = { "where", NULL };
	const char *path[] = { "where", "--path", NULL };
	const char *with_s[] = { "-s", sflag, "where", NULL };
	struct stat st;
	struct cli_run r;

	h_test_up(NULL);
	/* -s comes first and is used. */
	snprintf(sflag, sizeof sflag, "%s", h_test_daemon.sock);
	run_cli_env(&r, tools_all, NULL, NULL, NULL, with_s);
	ck_assert_msg(r.status == 0, "exit %d [%s] [%s]", r.status, r.out,
	    r.err);
	snprintf(line, sizeof line, "%-36s %-18s socket, connectable\n",
	    h_test_daemon.sock, "-s");
	ck_assert_msg(strncmp(r.out, line, strlen(line)) == 0, "[%s]", r.out);
	ck_assert_msg(strstr(r.out, "/run/crmpubsub/crmpubsub.sock ") != NULL,
	    "the system candidate is not listed: [%s]", r.out);
	snprintf(line, sizeof line, "\nusing %s (-s)\n", h_test_daemon.sock);
	ck_assert_msg(strstr(r.out, line) != NULL, "[%s]", r.out);

	/* A missing socket: listed as such, exit 3. */
	snprintf(sflag, sizeof sflag, "%s/none.sock", h_test_daemon.dir);
	run_cli_env(&r, tools_all, NULL, NULL, NULL, with_s);
	ck_assert_int_eq(r.status, 3);
	ck_assert_msg(strstr(r.out, " missing\n") != NULL, "[%s]", r.out);

	/* The daemon under $XDG_RUNTIME_DIR is found and used, unless a
	 * system socket this user may use exists (it comes first). */
	if (stat("/run/crmpubsub/crmpubsub.sock", &st) == 0)
		return;
	snprintf(xdgsock, sizeof xdgsock, "%s/crmpubsub.sock",
	    h_test_daemon.dir);
	run_cli_env(&r, tools_all, NULL, h_test_daemon.dir, NULL, where);
	ck_assert_msg(r.status == 0, "exit %d [%s] [%s]", r.status, r.out,
	    r.err);
	snprintf(line, sizeof line, "%-36s %-18s socket, connectable\n",
	    xdgsock, "$XDG_RUNTIME_DIR");
	ck_assert_msg(strstr(r.out, line) != NULL, "[%s]", r.out);
	snprintf(line, sizeof line, "\nusing %s ($XDG_RUNTIME_DIR)\n", xdgsock);
	ck_assert_msg(strstr(r.out, line) != NULL, "[%s]", r.out);
	run_cli_env(&r, tools_all, NULL, h_test_daemon.dir, NULL, path);
	ck_assert_int_eq(r.status, 0);
	snprintf(line, sizeof line, "%s\n", xdgsock);
	ck_assert_str_eq(r.out, line);
}
END_TEST

/* ---- metrics -------------------------------------------------------------- */

/* Starts h_test_daemon with /metrics on a Unix socket in a scratch
 * directory dir, plus extra (NULL-terminated, may be NULL); where gets
 * "unix:<path>". */
static void
metrics_daemon_up(char *dir, size_t dircap, char *where, size_t wherecap,
    const char *const *extra)
{
	static char	 arg[400];
	const char	*args[8] = { "--metrics-listen", arg };
	size_t		 n = 2;

	h_scratch_make(dir, dircap, "climetrics");
	snprintf(arg, sizeof arg, "unix:%s/metrics.sock", dir);
	while (extra != NULL && *extra != NULL && n < 7)
		args[n++] = *extra++;
	args[n] = NULL;
	h_test_up(args);
	hm_metrics_where(&h_test_daemon, where, wherecap);
}

/* `metrics` and GET /metrics of the same daemon: the same lines but for
 * the values, and the same values where nothing changed in between. */
static void
expect_cli_matches_daemon(const char *where)
{
	static const char *const stable[] = { "crmpubsub_broadcasts_total",
	    "crmpubsub_deliveries_total", "crmpubsub_topics",
	    "crmpubsub_errors_total{code=\"bad_json\"}",
	    "crmpubsub_process_start_time_seconds",
	    "crmpubsub_max_connections", "crmpubsub_up", NULL };
	const char	*args[] = { "metrics", NULL };
	struct cli_run	 r;
	char		*text, *a, *b, out[8192], diff[512];
	size_t		 i;

	run_cli(&r, args);
	ck_assert_msg(r.status == 0, "exit %d [%s] [%s]", r.status, r.out,
	    r.err);
	text = hm_scrape(where);
	a = hm_shape(r.out);
	b = hm_shape(text);
	ck_assert_msg(strcmp(a, b) == 0, "crmpubsub-cli metrics | /metrics: %s",
	    hm_first_difference(a, b, diff, sizeof diff));
	for (i = 0; stable[i] != NULL; i++)
		ck_assert_msg(hm_sample(r.out, stable[i]) ==
		    hm_sample(text, stable[i]) && hm_sample(text, stable[i]) >= 0,
		    "%s: cli %g, daemon %g", stable[i], hm_sample(r.out,
		    stable[i]), hm_sample(text, stable[i]));
	ck_assert_msg(hm_promtool_check(r.out, out, sizeof out) != -1,
	    "promtool check metrics:\n%.2000s", out);
	free(a);
	free(b);
	free(text);
}

/* h_wait_until callback: the daemon of connection arg is linked to Redis. */
static int
fed_up(void *arg)
{
	json_t	*r = h_request(arg, "{\"op\":\"stats\"}");
	const char *state = h_str(json_object_get(json_object_get(r, "stats"),
	    "federation"), "state");
	int	 up = state != NULL && strcmp(state, "up") == 0;

	json_decref(r);
	return up;
}

START_TEST(test_metrics_matches_daemon)
{
	char		 dir[256], where[400], rdir[256], rsock[320], redis[340];
	const char	*fed[] = { "--redis", redis, NULL };
	struct h_conn	*c;
	pid_t		 pid;

	metrics_daemon_up(dir, sizeof dir, where, sizeof where, NULL);
	c = h_test_conn();
	h_expect_errorf(c, "bad_json", "{x");
	h_expect_okf(c, NULL, "{\"op\":\"broadcast_to_contacts\",\"event\":"
	    "\"interaction_created\",\"interaction_uuid\":\"" UUID_I "\","
	    "\"contact_uuids\":[\"" UUID_I "\"]}");
	expect_cli_matches_daemon(where);
	h_close(c);
	h_daemon_stop_clean(&h_test_daemon);
	h_scratch_remove(dir);

	/* Federated: the federation rows too. */
	if (!hm_need("redis-server"))
		return;
	h_scratch_make(rdir, sizeof rdir, "cliredis");
	pid = hm_redis_start(rdir, rsock, sizeof rsock);
	snprintf(redis, sizeof redis, "unix://%s", rsock);
	metrics_daemon_up(dir, sizeof dir, where, sizeof where, fed);
	c = h_test_conn();
	ck_assert(h_wait_until(fed_up, c, H_TIMEOUT_MS, 10));
	expect_cli_matches_daemon(where);
	h_close(c);
	h_daemon_stop_clean(&h_test_daemon);
	hm_stop(pid, H_TIMEOUT_MS);
	h_scratch_remove(dir);
	h_scratch_remove(rdir);
}
END_TEST

/* -o FILE: the text replaces FILE whole; no temporary file stays. An
 * unreachable daemon still gives crmpubsub_up 0 (file and stdout), exit 3. */
START_TEST(test_metrics_file)
{
	char		 dir[256], file[320], none[320], *text;
	const char	*to_file[] = { "metrics", "-o", file, NULL };
	const char	*down[] = { "-s", none, "metrics", "-o", file, NULL };
	const char	*down_out[] = { "-s", none, "metrics", NULL };
	static const char up0[] = "# HELP crmpubsub_up 1 when the daemon "
	    "answered the scrape.\n# TYPE crmpubsub_up gauge\ncrmpubsub_up 0\n";
	struct cli_run	 r;
	FILE		*f;
	DIR		*d;
	struct dirent	*e;
	int		 entries = 0;

	h_test_up(NULL);
	h_scratch_make(dir, sizeof dir, "climfile");
	snprintf(file, sizeof file, "%s/crmpubsub.prom", dir);
	snprintf(none, sizeof none, "%s/none.sock", dir);
	ck_assert_ptr_nonnull(f = fopen(file, "w"));
	fputs("old\n", f);
	fclose(f);
	run_cli(&r, to_file);
	ck_assert_msg(r.status == 0 && r.outlen == 0, "exit %d [%s] [%s]",
	    r.status, r.out, r.err);
	ck_assert_ptr_nonnull(text = h_read_file(file));
	ck_assert_msg(strncmp(text, "# HELP crmpubsub_up ", 20) == 0 &&
	    strstr(text, "\ncrmpubsub_up 1\n") != NULL, "%s", text);
	free(text);
	ck_assert_ptr_nonnull(d = opendir(dir));
	while ((e = readdir(d)) != NULL)
		entries += e->d_name[0] != '.';
	closedir(d);
	ck_assert_int_eq(entries, 1);

	run_cli(&r, down);
	ck_assert_msg(r.status == 3, "exit %d [%s]", r.status, r.err);
	ck_assert_msg(strstr(r.err, "cannot reach crmpubsubd") != NULL, "%s",
	    r.err);
	ck_assert_ptr_nonnull(text = h_read_file(file));
	ck_assert_str_eq(text, up0);
	free(text);
	run_cli(&r, down_out);
	ck_assert_int_eq(r.status, 3);
	ck_assert_str_eq(r.out, up0);
	h_scratch_remove(dir);
}
END_TEST

/* Usage errors exit 2; no jq: exit 4; an unwritable FILE: exit 5. */
START_TEST(test_metrics_errors)
{
	const char	*extra[] = { "metrics", "now", NULL };
	const char	*no_file[] = { "metrics", "-o", NULL };
	const char	*bad_dir[] = { "metrics", "-o", "/nonexistent/x.prom",
	    NULL };
	const char	*plain[] = { "metrics", NULL };
	struct cli_run	 r;

	h_test_up(NULL);
	run_cli(&r, extra);
	ck_assert_msg(r.status == 2 && strstr(r.err, "metrics takes only -o "
	    "FILE") != NULL, "exit %d [%s]", r.status, r.err);
	run_cli(&r, no_file);
	ck_assert_int_eq(r.status, 2);
	run_cli_env(&r, tools_nojq, h_test_daemon.sock, NULL, NULL, plain);
	ck_assert_msg(r.status == 4 && strstr(r.err, "jq") != NULL,
	    "exit %d [%s]", r.status, r.err);
	run_cli(&r, bad_dir);
	ck_assert_msg(r.status == 5 && strstr(r.err, "cannot write "
	    "/nonexistent/x.prom") != NULL, "exit %d [%s]", r.status, r.err);
}
END_TEST

static Suite *
cli_suite(void)
{
	Suite *s = suite_create("it_cli");
	TCase *tc;

	tc = tcase_create("commands");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_ping);
	tcase_add_test(tc, test_daemon_version);
	tcase_add_test(tc, test_stats);
	tcase_add_test(tc, test_topics);
	tcase_add_test(tc, test_clients);
	tcase_add_test(tc, test_subscribe_follows_until_killed);
	tcase_add_test(tc, test_subscribe_sigterm_to_script_only);
	tcase_add_test(tc, test_subscribe_daemon_stops);
	tcase_add_test(tc, test_subscribe_errors);
	tcase_add_test(tc, test_broadcast);
	tcase_add_test(tc, test_broadcast_errors);
	tcase_add_test(tc, test_broadcast_forbidden);
	tcase_add_test(tc, test_send);
	tcase_add_test(tc, test_shell_scripted);
	tcase_add_test(tc, test_shell_subscriber_leaves_nothing);
	tcase_add_test(tc, test_ok_false_from_refused_connection);
	suite_add_tcase(s, tc);

	tc = tcase_create("environment");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_usage_errors);
	tcase_add_test(tc, test_unreachable);
	tcase_add_test(tc, test_socat_missing);
	tcase_add_test(tc, test_without_jq_raw_lines);
	tcase_add_test(tc, test_socket_resolution);
	tcase_add_test(tc, test_version);
	tcase_add_test(tc, test_timeout);
	tcase_add_test(tc, test_where);
	tcase_add_test(tc, test_metrics_matches_daemon);
	tcase_add_test(tc, test_metrics_file);
	tcase_add_test(tc, test_metrics_errors);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(cli_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
