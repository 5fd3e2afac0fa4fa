/* SPDX-License-Identifier: MIT — crmpubsub */
/* Access-control suite, run as root: a second, unprivileged user (made here
 * with useradd/groupadd) may subscribe but not broadcast under publish_uids,
 * may broadcast when its group is in publish_gids, and cannot connect to a
 * 0660 socket of a group it is not in until it joins that group. And socket
 * discovery: while a root daemon holds /run/crmpubsub/crmpubsub.sock, that
 * user's own daemon, CLI and library all meet at the user's socket. */

#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <grp.h>
#include <jansson.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define TEST_USER	"crmpubsub-tuser"	/* the unprivileged user */
#define TEST_UGROUP	"crmpubsub-tuser"	/* its primary group */
#define TEST_SGROUP	"crmpubsub-tsock"	/* socket group, not the user's */

/* Exit codes of a child acting as the test user. */
enum child_result {
	CHILD_OK = 0,
	CHILD_SETUID = 10,	/* could not become the user */
	CHILD_CONNECT,		/* connect failed */
	CHILD_CONNECTED,	/* connect succeeded where it must not */
	CHILD_ERRNO,		/* connect failed, but not with EACCES */
	CHILD_SUBSCRIBE,	/* subscribe not ok */
	CHILD_BROADCAST,	/* broadcast reply not as expected */
	CHILD_PUSH,		/* push not received */
	CHILD_PING		/* ping not ok */
};

static uid_t	 user_uid;
static gid_t	 user_gid;
static gid_t	 sock_gid;

static int	 run(const char *cmd);
static void	 ensure_accounts(void);
static void	 open_dir(struct h_daemon *d);
static void	 become_user(int with_groups);
static pid_t	 as_user(int with_groups, int (*fn)(const char *, void *),
		     const char *sock, void *arg);
static int	 child_status(pid_t pid);
static const char *child_text(int code);
static char	*broadcast_line(unsigned long interaction, unsigned long contact);
static int	 child_subscriber_broadcaster(const char *sock, void *arg);
static int	 child_connect_refused(const char *sock, void *arg);
static int	 child_connect_ping(const char *sock, void *arg);

/* Runs a shell command; its exit status. */
static int
run(const char *cmd)
{
	int st = system(cmd);

	return st == -1 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Creates the user and both groups unless they exist (idempotent), takes the
 * user out of the socket group, and records the ids. */
static void
ensure_accounts(void)
{
	struct passwd *pw;
	struct group *gr;

	ck_assert_int_eq(run("getent group " TEST_UGROUP " >/dev/null || "
	    "groupadd -r " TEST_UGROUP), 0);
	ck_assert_int_eq(run("getent group " TEST_SGROUP " >/dev/null || "
	    "groupadd -r " TEST_SGROUP), 0);
	ck_assert_int_eq(run("getent passwd " TEST_USER " >/dev/null || "
	    "useradd -r -M -N -g " TEST_UGROUP " -d /nonexistent "
	    "-s /usr/sbin/nologin " TEST_USER), 0);
	run("gpasswd -d " TEST_USER " " TEST_SGROUP " >/dev/null 2>&1");
	pw = getpwnam(TEST_USER);
	ck_assert_ptr_nonnull(pw);
	user_uid = pw->pw_uid;
	user_gid = pw->pw_gid;
	gr = getgrnam(TEST_SGROUP);
	ck_assert_ptr_nonnull(gr);
	sock_gid = gr->gr_gid;
	ck_assert_int_ne(user_uid, 0);
}

/* The harness's private directory is 0700; others must reach the socket. */
static void
open_dir(struct h_daemon *d)
{
	ck_assert_int_eq(chmod(d->dir, 0711), 0);
}

/* In a child: drops root for the test user; with_groups also takes the
 * user's supplementary groups from the group database. */
static void
become_user(int with_groups)
{
	gid_t none[1] = { 0 };

	if (with_groups) {
		if (initgroups(TEST_USER, user_gid) == -1)
			_exit(CHILD_SETUID);
	} else if (setgroups(0, none) == -1)
		_exit(CHILD_SETUID);
	if (setgid(user_gid) == -1 || setuid(user_uid) == -1 ||
	    getuid() != user_uid || setuid(0) != -1)
		_exit(CHILD_SETUID);
}

/* Forks a child that runs fn(sock, arg) as the test user. */
static pid_t
as_user(int with_groups, int (*fn)(const char *, void *), const char *sock,
    void *arg)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		alarm(30);
		become_user(with_groups);
		_exit(fn(sock, arg));
	}
	return pid;
}

/* The child's exit code, or -1 when it did not exit normally. */
static int
child_status(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Text for a child's exit code. */
static const char *
child_text(int code)
{
	switch (code) {
	case CHILD_OK: return "ok";
	case CHILD_SETUID: return "could not become " TEST_USER;
	case CHILD_CONNECT: return "connect failed";
	case CHILD_CONNECTED: return "connected although it must not";
	case CHILD_ERRNO: return "connect refused, but not with EACCES";
	case CHILD_SUBSCRIBE: return "subscribe refused";
	case CHILD_BROADCAST: return "broadcast reply not as expected";
	case CHILD_PUSH: return "push not received";
	case CHILD_PING: return "ping failed";
	}
	return "killed or unknown exit";
}

/* broadcast_to_contacts of h_uuid(interaction) to h_uuid(contact) (heap). */
static char *
broadcast_line(unsigned long interaction, unsigned long contact)
{
	char iu[37], cu[37], *s = malloc(400);

	if (s == NULL)
		return NULL;
	h_uuid(interaction, iu);
	h_uuid(contact, cu);
	snprintf(s, 400, "{\"op\":\"broadcast_to_contacts\",\"event\":"
	    "\"interaction_created\",\"interaction_uuid\":\"%s\","
	    "\"contact_uuids\":[\"%s\"]}", iu, cu);
	return s;
}

/* Child: subscribes to contact 1, tells the parent (one byte on the pipe
 * whose write end is *arg), tries to broadcast (expecting the error code in
 * arg[1], or success when it is NULL), then waits for the parent's push. */
static int
child_subscriber_broadcaster(const char *sock, void *arg)
{
	const char **want = arg;	/* [0] pipe fd text, [1] error or NULL */
	struct h_conn *c = h_connect(sock);
	char t[80], *line;
	json_t *r;
	int fd = atoi(want[0]), ok;

	if (c == NULL)
		return CHILD_CONNECT;
	h_topic(1, t);
	r = h_requestf(c, "{\"op\":\"subscribe\",\"topic\":\"%s\"}", t);
	if (!h_is_ok(r))
		return CHILD_SUBSCRIBE;
	json_decref(r);
	line = broadcast_line(501, 2);
	r = h_request(c, line);
	free(line);
	ok = want[1] == NULL ? h_is_ok(r) : h_is_error(r, want[1]);
	json_decref(r);
	if (!ok)
		return CHILD_BROADCAST;
	if (write(fd, "s", 1) != 1)
		return CHILD_SUBSCRIBE;
	r = h_recv_push(c, H_TIMEOUT_MS);
	if (r == NULL || strcmp(h_str(r, "type"), "crm") != 0)
		return CHILD_PUSH;
	json_decref(r);
	h_close(c);
	return CHILD_OK;
}

/* Child: a connect to the socket must fail with EACCES. */
static int
child_connect_refused(const char *sock, void *arg)
{
	struct sockaddr_un sun;
	int fd, rc;

	(void)arg;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", sock);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd == -1)
		return CHILD_CONNECT;
	rc = connect(fd, (struct sockaddr *)&sun, sizeof sun);
	if (rc == 0)
		return CHILD_CONNECTED;
	return errno == EACCES ? CHILD_OK : CHILD_ERRNO;
}

/* Child: connects and pings. */
static int
child_connect_ping(const char *sock, void *arg)
{
	struct h_conn *c = h_connect(sock);
	json_t *r;

	(void)arg;
	if (c == NULL)
		return CHILD_CONNECT;
	r = h_request(c, "{\"op\":\"ping\"}");
	if (!h_is_ok(r))
		return CHILD_PING;
	json_decref(r);
	h_close(c);
	return CHILD_OK;
}

/* Runs the subscriber/broadcaster child as the test user against a daemon
 * with the given ACL options; root then broadcasts to contact 1 and must get
 * root_error (or ok when NULL). Returns the child's code. */
static int
acl_round(const char *const *args, const char *user_error,
    const char *root_error)
{
	struct h_daemon d;
	struct h_conn *root;
	const char *arg[2];
	char fdtext[16], byte, *line;
	int pfd[2], code, ok;
	pid_t pid;
	json_t *r;

	ck_assert_int_eq(h_daemon_start(&d, args), 0);
	open_dir(&d);
	ck_assert_int_eq(pipe(pfd), 0);
	snprintf(fdtext, sizeof fdtext, "%d", pfd[1]);
	arg[0] = fdtext;
	arg[1] = user_error;
	pid = as_user(0, child_subscriber_broadcaster, d.sock, arg);
	close(pfd[1]);
	/* Once the child subscribed (or died), root broadcasts to it. */
	if (read(pfd[0], &byte, 1) == 1) {
		root = h_connect(d.sock);
		ck_assert_ptr_nonnull(root);
		line = broadcast_line(502, 1);
		r = h_request(root, line);
		free(line);
		ok = root_error == NULL ? h_is_ok(r) : h_is_error(r, root_error);
		ck_assert_msg(ok, "root's broadcast: expected %s",
		    root_error ? root_error : "ok");
		if (root_error != NULL) {
			/* Deliver the child's push some other way: nobody can. */
			kill(pid, SIGTERM);
		}
		json_decref(r);
		h_close(root);
	}
	close(pfd[0]);
	code = child_status(pid);
	h_daemon_stop_clean(&d);
	return code;
}

/* publish_uids=0: the other user subscribes fine but gets forbidden on
 * broadcast; root's broadcast reaches the other user's subscription. */
START_TEST(test_publish_uids_forbids_other_user)
{
	const char *args[] = { "--publish-uids", "0", "--socket-mode", "0666",
	    NULL };
	int code;

	ensure_accounts();
	code = acl_round(args, "forbidden", NULL);
	ck_assert_msg(code == CHILD_OK, "user child: %s", child_text(code));
}
END_TEST

/* publish_gids naming the user's group lets it broadcast. */
START_TEST(test_publish_gids_allows_group)
{
	const char *args[] = { "--publish-uids", "0", "--publish-gids", NULL,
	    "--socket-mode", "0666", NULL };
	char gid[16];
	int code;

	ensure_accounts();
	snprintf(gid, sizeof gid, "%lu", (unsigned long)user_gid);
	args[3] = gid;
	code = acl_round(args, NULL, NULL);
	ck_assert_msg(code == CHILD_OK, "user child: %s", child_text(code));
}
END_TEST

/* Root is not exempt: with only the user's uid listed, the user may
 * broadcast and root may not. */
START_TEST(test_root_not_exempt)
{
	const char *args[] = { "--publish-uids", NULL, "--socket-mode", "0666",
	    NULL };
	char uid[16];
	int code;

	ensure_accounts();
	snprintf(uid, sizeof uid, "%lu", (unsigned long)user_uid);
	args[1] = uid;
	code = acl_round(args, NULL, "forbidden");
	/* The child was stopped: nobody could send it a push. */
	ck_assert_msg(code == -1 || code == CHILD_PUSH, "user child: %s",
	    child_text(code));
}
END_TEST

/* socket_mode 0660 + socket_group: outside the group the user gets EACCES;
 * once a member of the group it connects and is served. */
START_TEST(test_socket_group_membership)
{
	const char *args[] = { "--socket-mode", "0660", "--socket-group",
	    TEST_SGROUP, NULL };
	struct h_daemon d;
	struct stat st;
	int code;

	ensure_accounts();
	ck_assert_int_eq(h_daemon_start(&d, args), 0);
	open_dir(&d);
	ck_assert_int_eq(stat(d.sock, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0660);
	ck_assert_int_eq(st.st_gid, sock_gid);

	code = child_status(as_user(1, child_connect_refused, d.sock, NULL));
	ck_assert_msg(code == CHILD_OK, "outside the group: %s",
	    child_text(code));

	ck_assert_int_eq(run("gpasswd -a " TEST_USER " " TEST_SGROUP
	    " >/dev/null"), 0);
	code = child_status(as_user(1, child_connect_ping, d.sock, NULL));
	run("gpasswd -d " TEST_USER " " TEST_SGROUP " >/dev/null 2>&1");
	ck_assert_msg(code == CHILD_OK, "in the group: %s", child_text(code));

	/* Out of the group again: refused again. */
	code = child_status(as_user(1, child_connect_refused, d.sock, NULL));
	ck_assert_msg(code == CHILD_OK, "after leaving the group: %s",
	    child_text(code));
	ck_assert_int_eq(h_daemon_stop(&d, SIGTERM, H_TIMEOUT_MS), 0);
}
END_TEST

/* ---- socket discovery ------------------------------------------------------ */

/* Makes dir (absolute) and its missing parents, mode 0755. */
static void
mkdir_parents(const char *dir)
{
	char	 path[PATH_MAX], *p;

	ck_assert_uint_lt(strlen(dir), sizeof path);
	strcpy(path, dir);
	for (p = path + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		*p = '\0';
		ck_assert_msg(mkdir(path, 0755) == 0 || errno == EEXIST,
		    "mkdir %s: %s", path, strerror(errno));
		if (p[0] == '\0' && dir[p - path] == '\0')
			break;
		*p = '/';
	}
}

/* Gives this test process (check forks one per test) its own mount
 * namespace with empty /run and /tmp, so the "system" socket and the
 * per-user defaults below are this test's alone. A tree being tested from
 * below /tmp or /run (a CI checkout, say) is bound back at its own path,
 * so its programs stay where the test looks for them. */
static void
private_run_and_tmp(void)
{
	static const char *const hidden[] = { "/run", "/tmp" };
	char	 cwd[PATH_MAX], fdpath[64];
	size_t	 i, n;
	int	 tree = -1;

	ck_assert_msg(unshare(CLONE_NEWNS) == 0, "unshare: %s",
	    strerror(errno));
	ck_assert_int_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	/* Opened in the new namespace: a bind takes its source from there. */
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
	for (i = 0; i < sizeof hidden / sizeof hidden[0]; i++) {
		n = strlen(hidden[i]);
		if (strncmp(cwd, hidden[i], n) == 0 && cwd[n] == '/')
			tree = open(cwd, O_PATH | O_DIRECTORY | O_CLOEXEC);
	}
	ck_assert_int_eq(mount("tmpfs", "/run", "tmpfs", 0, "mode=0755"), 0);
	ck_assert_int_eq(mount("tmpfs", "/tmp", "tmpfs", 0, "mode=1777"), 0);
	if (tree == -1)
		return;
	mkdir_parents(cwd);
	snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", tree);
	ck_assert_msg(mount(fdpath, cwd, NULL, MS_BIND | MS_REC, NULL) == 0,
	    "bind %s: %s", cwd, strerror(errno));
	close(tree);
	ck_assert_int_eq(chdir(cwd), 0);
}

/* Path of a program of the build tree (daemon, examples) or the source
 * tree (the CLI script). */
static const char *
tree_path(const char *env, const char *rel, char *out, size_t cap)
{
	const char *dir = getenv(env);

	snprintf(out, cap, "%s/%s", dir != NULL && *dir != '\0' ? dir : ".",
	    rel);
	return out;
}

/* Forks argv as the test user with a plain environment (XDG_RUNTIME_DIR
 * only when xdg is not NULL); stdout and stderr go to the file log. */
static pid_t
user_spawn(const char *const *argv, const char *xdg, const char *log)
{
	pid_t pid;
	int fd;

	fflush(NULL);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid != 0)
		return pid;
	alarm(30);
	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd == -1 || dup2(fd, STDOUT_FILENO) == -1 ||
	    dup2(fd, STDERR_FILENO) == -1)
		_exit(CHILD_SETUID);
	close(STDIN_FILENO);
	open("/dev/null", O_RDONLY);
	become_user(0);
	if (clearenv() != 0 ||
	    setenv("PATH", "/usr/local/bin:/usr/bin:/bin", 1) == -1 ||
	    (xdg != NULL && setenv("XDG_RUNTIME_DIR", xdg, 1) == -1))
		_exit(CHILD_SETUID);
	execv(argv[0], (char *const *)argv);
	_exit(127);
}

/* Runs argv as the test user to its end (bounded); its exit status, and
 * its output in out. */
static int
user_run(const char *const *argv, const char *xdg, char *out, size_t cap)
{
	char log[] = "/tmp/crmpubsub-access-out.XXXXXX";
	int fd, status;
	ssize_t n;

	fd = mkstemp(log);
	ck_assert_int_ne(fd, -1);
	close(fd);
	status = h_wait_child(user_spawn(argv, xdg, log), 20000);
	fd = open(log, O_RDONLY);
	n = fd == -1 ? -1 : read(fd, out, cap - 1);
	out[n > 0 ? n : 0] = '\0';
	if (fd != -1)
		close(fd);
	unlink(log);
	return status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* A root daemon holds the system socket (mode 0660, group root: the test
 * user may not connect); the test user starts its own daemon with no -s,
 * which listens at want. The user's CLI (where, topics) and the library
 * (the example writer), given no path either, must reach the user's
 * daemon: root holds a subscription there, which sees the broadcast. */
static void
discovery_case(const char *xdg, const char *want, const char *origin)
{
	char bin[PATH_MAX], cli[PATH_MAX], writer[PATH_MAX], log[PATH_MAX];
	char out[8192], line[512], iu[37], cu[37], topic[80];
	const char *daemon_argv[] = { bin, NULL };
	const char *where[] = { cli, "where", NULL };
	const char *topics[] = { cli, "topics", NULL };
	const char *write_argv[] = { writer, "interaction_created", iu, cu,
	    NULL };
	struct h_daemon root;
	struct h_conn *witness, *sys;
	pid_t user_daemon;
	json_t *p;
	int st;

	ensure_accounts();
	private_run_and_tmp();
	ck_assert_int_eq(mkdir("/run/crmpubsub", 0755), 0);
	if (xdg != NULL) {
		ck_assert_int_eq(mkdir("/run/user", 0755), 0);
		ck_assert_int_eq(mkdir(xdg, 0700), 0);
		ck_assert_int_eq(chown(xdg, user_uid, user_gid), 0);
	}
	/* The root daemon resolves the system socket by itself. */
	ck_assert_int_eq(h_daemon_spawn(&root, NULL, NULL), 0);
	ck_assert_msg(h_wait_listening("/run/crmpubsub/crmpubsub.sock",
	    4 * H_TIMEOUT_MS, 1000), "the root daemon is not listening");
	sys = h_connect_or_fail("/run/crmpubsub/crmpubsub.sock");

	/* The user's daemon, on its own default. */
	tree_path("CRMPUBSUB_BUILD", "daemon/crmpubsubd", bin, sizeof bin);
	snprintf(log, sizeof log, "%s/user-daemon.log", root.dir);
	user_daemon = user_spawn(daemon_argv, xdg, log);
	if (!h_wait_listening(want, 4 * H_TIMEOUT_MS, 1000)) {
		kill(user_daemon, SIGKILL);
		ck_abort_msg("the user's daemon is not listening at %s", want);
	}
	witness = h_connect_or_fail(want);
	h_topic(1, topic);
	h_expect_okf(witness, NULL, "{\"op\":\"subscribe\",\"topic\":\"%s\"}",
	    topic);

	/* The CLI: where says which path and why; topics reaches it. */
	tree_path("CRMPUBSUB_TOP", "client/crmpubsub-cli", cli, sizeof cli);
	st = user_run(where, xdg, out, sizeof out);
	ck_assert_msg(st == 0, "where: exit %d:\n%s", st, out);
	snprintf(line, sizeof line, "%-36s %-18s socket, not connectable: "
	    "Permission denied\n", "/run/crmpubsub/crmpubsub.sock",
	    "system default");
	ck_assert_msg(strstr(out, line) != NULL, "where:\n%s", out);
	snprintf(line, sizeof line, "\nusing %s (%s)\n", want, origin);
	ck_assert_msg(strstr(out, line) != NULL, "where:\n%s", out);
	st = user_run(topics, xdg, out, sizeof out);
	ck_assert_msg(st == 0 && strstr(out, topic) != NULL,
	    "topics (exit %d) did not reach the user's daemon:\n%s", st, out);

	/* The library: the example writer, with no -s. */
	tree_path("CRMPUBSUB_BUILD", "client/examples/writer", writer,
	    sizeof writer);
	h_uuid(0xd15c, iu);
	h_uuid(1, cu);
	st = user_run(write_argv, xdg, out, sizeof out);
	ck_assert_msg(st == 0 && strstr(out, "acknowledged, delivered 1"),
	    "writer (exit %d):\n%s", st, out);
	p = h_recv_push(witness, H_TIMEOUT_MS);
	ck_assert_msg(p != NULL && strcmp(h_str(p, "type"), "crm") == 0,
	    "the user's daemon did not deliver the writer's broadcast");
	json_decref(p);
	/* And nothing of it went to the root daemon. */
	ck_assert_int_eq(h_stat_or_fail(sys, "broadcasts"), 0);

	h_close(witness);
	h_close(sys);
	kill(user_daemon, SIGTERM);
	st = h_wait_child(user_daemon, H_TIMEOUT_MS);
	ck_assert_msg(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "the user's daemon: wait status %d", st);
	h_daemon_stop_clean(&root);
}

/* The user has a login session: $XDG_RUNTIME_DIR is /run/user/<uid>. */
START_TEST(test_discovery_xdg_runtime_dir)
{
	char xdg[64], want[128];

	ensure_accounts();
	snprintf(xdg, sizeof xdg, "/run/user/%u", (unsigned)user_uid);
	snprintf(want, sizeof want, "%s/crmpubsub.sock", xdg);
	discovery_case(xdg, want, "$XDG_RUNTIME_DIR");
}
END_TEST

/* No session (su, cron): the per-user default under /tmp. */
START_TEST(test_discovery_per_user_tmp)
{
	char want[128];

	ensure_accounts();
	snprintf(want, sizeof want, "/tmp/crmpubsub-%u/crmpubsub.sock",
	    (unsigned)user_uid);
	discovery_case(NULL, want, "per-user default");
}
END_TEST

static Suite *
access_suite(void)
{
	Suite *s = suite_create("it_access");
	TCase *tc = tcase_create("access");

	tcase_set_timeout(tc, 60);
	/* Making users and switching to them needs root. */
	if (geteuid() == 0) {
		tcase_add_test(tc, test_publish_uids_forbids_other_user);
		tcase_add_test(tc, test_publish_gids_allows_group);
		tcase_add_test(tc, test_root_not_exempt);
		tcase_add_test(tc, test_socket_group_membership);
	} else
		fprintf(stderr, "it_access: not root, access tests skipped\n");
	suite_add_tcase(s, tc);

	/* Each test unshares its mount namespace: only in a forked test. */
	tc = tcase_create("discovery");
	tcase_set_timeout(tc, 90);
	if (geteuid() == 0 && (getenv("CK_FORK") == NULL ||
	    strcmp(getenv("CK_FORK"), "no") != 0)) {
		tcase_add_test(tc, test_discovery_xdg_runtime_dir);
		tcase_add_test(tc, test_discovery_per_user_tmp);
	} else
		fprintf(stderr, "it_access: not root or not forking, socket "
		    "discovery tests skipped\n");
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(access_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
