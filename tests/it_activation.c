/* SPDX-License-Identifier: MIT — crmpubsub */
/* Integration suite for the daemon under systemd: socket activation through the real systemd-socket-activate, and READY=1 / STOPPING=1 over NOTIFY_SOCKET. */

#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define ACTIVATE	"systemd-socket-activate"
#define START_MS	(4 * H_TIMEOUT_MS)	/* sanitizer builds start slowly */

static pid_t		 spawn_activate(const char *dir, const char *listen,
			     const char *const *daemon_args);

/* Starts "systemd-socket-activate -l listen DAEMON daemon_args…" with its
 * stderr (and so the daemon's) in <dir>/stderr.log. On the first connection
 * it execs the daemon in the same process, so the pid is the daemon's. */
static pid_t
spawn_activate(const char *dir, const char *listen,
    const char *const *daemon_args)
{
	const char *argv[16];
	char log[320];
	pid_t parent = getpid(), pid;
	size_t n = 0, i;
	int logfd, nullfd, fd;

	argv[n++] = ACTIVATE;
	argv[n++] = "-l";
	argv[n++] = listen;
	argv[n++] = h_daemon_bin();
	for (i = 0; daemon_args != NULL && daemon_args[i] != NULL; i++)
		argv[n++] = daemon_args[i];
	argv[n] = NULL;
	snprintf(log, sizeof log, "%s/stderr.log", dir);
	logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	ck_assert_int_ne(logfd, -1);
	fflush(NULL);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		/* A test killed by its timeout must not leave a daemon behind. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		signal(SIGPIPE, SIG_DFL);
		nullfd = open("/dev/null", O_RDWR);
		dup2(nullfd, STDIN_FILENO);
		dup2(nullfd, STDOUT_FILENO);
		dup2(logfd, STDERR_FILENO);
		for (fd = 3; fd < 1024; fd++)
			close(fd);
		unsetenv("LISTEN_FDS");
		unsetenv("LISTEN_PID");
		unsetenv("LISTEN_FDNAMES");
		unsetenv("NOTIFY_SOCKET");
		unsetenv("CRMPUBSUB_SOCKET");
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(logfd);
	return pid;
}

/* The first connection starts the daemon through systemd-socket-activate;
 * it serves the inherited socket although -s names another path, and
 * leaves that socket in place when it stops. */
START_TEST(test_socket_activation)
{
	char dir[256], listen[320], other[320], exe[4096], path[64];
	const char *args[3];
	struct h_conn *c, *c2;
	struct stat st;
	json_t *r;
	ssize_t n;
	pid_t pid;
	int status;

	h_scratch_make(dir, sizeof dir, "act");
	snprintf(listen, sizeof listen, "%s/activated.sock", dir);
	snprintf(other, sizeof other, "%s/named-by-s.sock", dir);
	args[0] = "-s";
	args[1] = other;
	args[2] = NULL;
	pid = spawn_activate(dir, listen, args);
	ck_assert_msg(h_wait_listening(listen, H_TIMEOUT_MS, 10000),
	    ACTIVATE " does not listen on %s", listen);

	/* The connection that triggers the start is served. */
	c = h_connect_or_fail(listen);
	ck_assert_int_eq(h_send_line(c, "{\"op\":\"ping\",\"id\":1}"), 0);
	r = h_recv_reply(c, START_MS);
	ck_assert_msg(h_is_ok(r), "the activating connection was not served");
	ck_assert_int_eq(h_int(r, "id"), 1);
	json_decref(r);
	r = h_request(c, "{\"op\":\"hello\"}");
	ck_assert(h_is_ok(r));
	ck_assert_str_eq(h_str(r, "server"), "crmpubsubd");
	json_decref(r);

	/* The same process now runs the daemon. */
	snprintf(path, sizeof path, "/proc/%ld/exe", (long)pid);
	n = readlink(path, exe, sizeof exe - 1);
	ck_assert_int_gt(n, 0);
	exe[n] = '\0';
	ck_assert_msg(strstr(exe, "crmpubsubd") != NULL, "pid runs %s", exe);

	c2 = h_connect_or_fail(listen);
	r = h_request(c2, "{\"op\":\"stats\"}");
	ck_assert(h_is_ok(r));
	ck_assert_int_eq(h_int(json_object_get(r, "stats"), "connections"), 2);
	json_decref(r);
	ck_assert_msg(access(other, F_OK) == -1,
	    "-s path created although a socket was inherited");

	ck_assert_int_eq(kill(pid, SIGTERM), 0);
	r = h_recv_push(c, H_TIMEOUT_MS);
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(h_str(r, "type"), "shutdown");
	json_decref(r);
	status = h_wait_child(pid, H_TIMEOUT_MS);
	ck_assert_msg(status != -1 && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0, "wait status %d", status);
	ck_assert_msg(stat(listen, &st) == 0 && S_ISSOCK(st.st_mode),
	    "the inherited socket was removed");
	h_close(c);
	h_close(c2);
	h_scratch_remove(dir);
}
END_TEST

/* Shared by the path and abstract NOTIFY_SOCKET tests. */
static void
notify_case(const char *notify_path)
{
	char dir[256], sock[320], env[400];
	char *envp[2] = { env, NULL };
	const char *args[3];
	struct h_daemon d;
	struct h_conn *c;
	int fd, status;

	h_scratch_make(dir, sizeof dir, "act");
	snprintf(sock, sizeof sock, "%s/crmpubsub.sock", dir);
	fd = h_notify_bind(notify_path);
	snprintf(env, sizeof env, "NOTIFY_SOCKET=%s", notify_path);
	args[0] = "-s";
	args[1] = sock;
	args[2] = NULL;
	ck_assert_int_eq(h_daemon_spawn(&d, args, envp), 0);

	ck_assert_msg(h_notify_wait(fd, "READY=1", START_MS), "no READY=1");
	/* Ready means accepting: the very next connect is served. */
	c = h_connect(sock);
	ck_assert_msg(c != NULL, "connect right after READY=1 failed");
	h_expect_okf(c, NULL, "{\"op\":\"ping\"}");

	ck_assert_int_eq(kill(d.pid, SIGTERM), 0);
	ck_assert_msg(h_notify_wait(fd, "STOPPING=1", H_TIMEOUT_MS),
	    "no STOPPING=1");
	status = h_daemon_wait_exit(&d, H_TIMEOUT_MS);
	ck_assert(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	h_close(c);
	close(fd);
	h_daemon_stop(&d, SIGKILL, 0);
	h_scratch_remove(dir);
}

/* NOTIFY_SOCKET as a path. */
START_TEST(test_notify_path)
{
	char dir[256], path[320];

	h_scratch_make(dir, sizeof dir, "act");
	snprintf(path, sizeof path, "%s/notify.sock", dir);
	notify_case(path);
	h_scratch_remove(dir);
}
END_TEST

/* NOTIFY_SOCKET in the abstract namespace ("@name"), as sd_notify(3)
 * allows. */
START_TEST(test_notify_abstract)
{
	char name[64];

	snprintf(name, sizeof name, "@crmpubsub-test-notify-%ld", (long)getpid());
	notify_case(name);
}
END_TEST

static Suite *
activation_suite(void)
{
	Suite *s = suite_create("it_activation");
	TCase *tc = tcase_create("systemd");

	tcase_set_timeout(tc, 40);
	tcase_add_test(tc, test_socket_activation);
	tcase_add_test(tc, test_notify_path);
	tcase_add_test(tc, test_notify_abstract);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(activation_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
