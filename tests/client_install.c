/* SPDX-License-Identifier: MIT — crmpubsub */
/* libcrmpubsub as users get it: the shared object exports crmpubsub_*
 * only and carries its SONAME; the example writer and subscriber work
 * together against the real daemon; and both examples build from an empty
 * directory against an installed tree (make install DESTDIR=… PREFIX=/usr)
 * with nothing but `pkg-config --cflags --libs libcrmpubsub`, then run. */

#include <sys/wait.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

/* Programs this suite links with the in-tree library need its sanitizers. */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZER_FLAGS	"-fsanitize=address,undefined"
#else
#define SANITIZER_FLAGS	""
#endif

static struct h_daemon	daemon_;
static char		tmpdir[64];

static void
down(void)
{
	char	cmd[128];

	h_daemon_stop_clean(&daemon_);
	if (tmpdir[0] != '\0') {
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
		(void)!system(cmd);
		tmpdir[0] = '\0';
	}
}

static const char *
build_dir(void)
{
	const char	*b = getenv("CRMPUBSUB_BUILD");

	return b != NULL && *b != '\0' ? b : ".";
}

static const char *
top_dir(void)
{
	const char	*t = getenv("CRMPUBSUB_TOP");

	return t != NULL && *t != '\0' ? t : ".";
}

/* Runs a shell command (bounded by timeout(1)); its output goes to out
 * (NUL-terminated, truncated); returns the exit status or -1. */
static int	run(char *out, size_t cap, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));

static int
run(char *out, size_t cap, const char *fmt, ...)
{
	char	 cmd[4096], wrapped[4200];
	va_list	 ap;
	FILE	*f;
	size_t	 n = 0, r;
	int	 st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	snprintf(wrapped, sizeof wrapped, "timeout 120 sh -c '%s' 2>&1", cmd);
	f = popen(wrapped, "r");
	if (f == NULL)
		return -1;
	while (n + 1 < cap && (r = fread(out + n, 1, cap - n - 1, f)) > 0)
		n += r;
	out[n] = '\0';
	/* Drain whatever did not fit so the child is not blocked. */
	while (fread(cmd, 1, sizeof cmd, f) > 0)
		;
	st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A child whose stdout we read line by line. */
struct child {
	pid_t	pid;
	int	fd;
	char	buf[4096];
	size_t	len;
};

static void
spawn(struct child *ch, char *const argv[])
{
	int	p[2];

	ck_assert_int_eq(pipe(p), 0);
	ch->len = 0;
	ch->pid = fork();
	ck_assert_int_ge(ch->pid, 0);
	if (ch->pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		/* Its log lines (connected to …) are not under test here. */
		if (freopen("/dev/null", "w", stderr) == NULL)
			_exit(127);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	ch->fd = p[0];
}

/* Next line of the child's output (no newline), bounded; NULL on timeout
 * or EOF. */
static const char *
child_line(struct child *ch, char *out, size_t cap, int timeout_ms)
{
	struct pollfd	 pfd = { ch->fd, POLLIN, 0 };
	char		*nl;
	ssize_t		 n;
	size_t		 len;

	for (;;) {
		nl = memchr(ch->buf, '\n', ch->len);
		if (nl != NULL) {
			len = (size_t)(nl - ch->buf);
			if (len >= cap)
				len = cap - 1;
			memcpy(out, ch->buf, len);
			out[len] = '\0';
			ch->len -= (size_t)(nl - ch->buf) + 1;
			memmove(ch->buf, nl + 1, ch->len);
			return out;
		}
		if (poll(&pfd, 1, timeout_ms) != 1)
			return NULL;
		n = read(ch->fd, ch->buf + ch->len, sizeof ch->buf - ch->len);
		if (n <= 0)
			return NULL;
		ch->len += (size_t)n;
	}
}

/* Waits (bounded) for the child; its exit status, or -1 (then killed). */
static int
child_wait(struct child *ch, int timeout_ms)
{
	int	st, waited;

	for (waited = 0; waited < timeout_ms; waited += 10) {
		if (waitpid(ch->pid, &st, WNOHANG) == ch->pid) {
			close(ch->fd);
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		}
		usleep(10000);
	}
	kill(ch->pid, SIGKILL);
	waitpid(ch->pid, &st, 0);
	close(ch->fd);
	return -1;
}

START_TEST(test_exports_only_crmpubsub)
{
	static const char *const api[] = {
		"crmpubsub_new", "crmpubsub_open", "crmpubsub_connect",
		"crmpubsub_close", "crmpubsub_topic_contact_interactions",
		"crmpubsub_subscribe", "crmpubsub_unsubscribe",
		"crmpubsub_broadcast_interaction",
		"crmpubsub_broadcast_to_contacts",
		"crmpubsub_involved_contact_uuids", "crmpubsub_flush",
		"crmpubsub_fd", "crmpubsub_next_message", "crmpubsub_dispatch",
		"crmpubsub_stats", NULL
	};
	static char	 out[65536];
	char		*line, *save = NULL, name[256], type[8];
	int		 n = 0, i;

	ck_assert_int_eq(run(out, sizeof out,
	    "nm -D --defined-only %s/client/libcrmpubsub.so.1", build_dir()), 0);
	for (line = strtok_r(out, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		ck_assert_msg(sscanf(line, "%*s %7s %255s", type, name) == 2,
		    "unexpected nm line: %s", line);
		ck_assert_msg(strncmp(name, "crmpubsub_", 10) == 0,
		    "exported symbol %s is not crmpubsub_*", name);
		n++;
	}
	ck_assert_int_ge(n, 15);
	ck_assert_int_eq(run(out, sizeof out,
	    "nm -D --defined-only %s/client/libcrmpubsub.so.1", build_dir()), 0);
	for (i = 0; api[i] != NULL; i++) {
		snprintf(name, sizeof name, " %s\n", api[i]);
		ck_assert_msg(strstr(out, name) != NULL, "%s not exported",
		    api[i]);
	}
	ck_assert_int_eq(run(out, sizeof out, "readelf -d %s/client/"
	    "libcrmpubsub.so.1", build_dir()), 0);
	ck_assert_ptr_nonnull(strstr(out,
	    "Library soname: [libcrmpubsub.so.1]"));
}
END_TEST

/* Runs the subscriber example (path prefix dir) for contacts 1 and 2, then
 * the writer example twice, and checks every line both print. env is a
 * prefix for the commands (LD_LIBRARY_PATH=…) or "". */
static void
examples_round_trip(const char *dir, const char *env)
{
	struct child	 sub;
	char		 sub_path[512], line[512], want[512], out[4096];
	char		 u1[37], u2[37], inter[37];
	char		*argv[10];

	h_uuid(1, u1);
	h_uuid(2, u2);
	h_uuid(0xfeed, inter);
	snprintf(sub_path, sizeof sub_path, "%s/subscriber", dir);
	argv[0] = sub_path;
	argv[1] = (char *)"-s";
	argv[2] = daemon_.sock;
	argv[3] = (char *)"-n";
	argv[4] = (char *)"3";
	argv[5] = (char *)"-t";
	argv[6] = (char *)"20";
	argv[7] = u1;
	argv[8] = u2;
	argv[9] = NULL;
	if (*env != '\0')
		setenv("LD_LIBRARY_PATH", env + strlen("LD_LIBRARY_PATH="), 1);
	spawn(&sub, argv);
	if (*env != '\0')
		unsetenv("LD_LIBRARY_PATH");
	ck_assert_ptr_nonnull(child_line(&sub, line, sizeof line,
	    4 * H_TIMEOUT_MS));
	ck_assert_str_eq(line, "subscribed 2");

	ck_assert_int_eq(run(out, sizeof out, "%s %s/writer -s %s "
	    "interaction_created %s %s - %s %s", env, dir, daemon_.sock,
	    inter, u1, u2, u1), 0);
	snprintf(want, sizeof want, "involved %s\ninvolved %s\n"
	    "acknowledged, delivered 2\n", u1, u2);
	ck_assert_str_eq(out, want);
	/* The CLI's spellings: a short event name, "-" for a null entry. */
	ck_assert_int_eq(run(out, sizeof out, "%s %s/writer -s %s -c "
	    "deleted %s %s -", env, dir, daemon_.sock, inter, u2), 0);
	ck_assert_str_eq(out, "acknowledged, delivered 1\n");

	snprintf(want, sizeof want, "crm interaction_created %s %s", u1, inter);
	ck_assert_ptr_nonnull(child_line(&sub, line, sizeof line, H_TIMEOUT_MS));
	ck_assert_str_eq(line, want);
	snprintf(want, sizeof want, "crm interaction_created %s %s", u2, inter);
	ck_assert_ptr_nonnull(child_line(&sub, line, sizeof line, H_TIMEOUT_MS));
	ck_assert_str_eq(line, want);
	snprintf(want, sizeof want, "crm interaction_deleted %s %s", u2, inter);
	ck_assert_ptr_nonnull(child_line(&sub, line, sizeof line, H_TIMEOUT_MS));
	ck_assert_str_eq(line, want);
	ck_assert_int_eq(child_wait(&sub, H_TIMEOUT_MS), 0);

	/* A bad event name is a usage error, not a crash. */
	ck_assert_int_eq(run(out, sizeof out, "%s %s/writer -s %s nope %s %s",
	    env, dir, daemon_.sock, inter, u1), 2);
}

START_TEST(test_examples_in_tree)
{
	char	dir[512];

	ck_assert_int_eq(h_daemon_start(&daemon_, NULL), 0);
	snprintf(dir, sizeof dir, "%s/client/examples", build_dir());
	examples_round_trip(dir, "");
}
END_TEST

/* The writer without a daemon: best effort, reports "not acknowledged". */
START_TEST(test_writer_without_daemon)
{
	char	out[4096], u1[37], inter[37];

	h_uuid(1, u1);
	h_uuid(0xbeef, inter);
	ck_assert_int_eq(run(out, sizeof out, "%s/client/examples/writer -s "
	    "/nonexistent/crmpubsub.sock interaction_updated %s %s",
	    build_dir(), inter, u1), 1);
	ck_assert_ptr_nonnull(strstr(out, "not acknowledged"));
	ck_assert_ptr_nonnull(strstr(out, "pending 1"));
	/* And it says why, once. */
	ck_assert_msg(strstr(out, "writer: warning: cannot connect to "
	    "/nonexistent/crmpubsub.sock: No such file or directory\n") != NULL,
	    "writer printed: %s", out);
	ck_assert_ptr_null(strstr(strstr(out, "cannot connect") + 1,
	    "cannot connect"));
}
END_TEST

/* Every exported function has a man3 link to libcrmpubsub(3) under
 * root, and man(1) finds the page by a function's name. */
static void
man_links_installed(const char *root)
{
	static char	 syms[65536];
	char		 out[4096], page[512], link[512];
	char		*line, *save = NULL, name[256];

	ck_assert_int_eq(run(syms, sizeof syms, "nm -D --defined-only "
	    "%s/client/libcrmpubsub.so.1", build_dir()), 0);
	for (line = strtok_r(syms, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		ck_assert_int_eq(sscanf(line, "%*s %*s %255s", name), 1);
		ck_assert_msg(run(out, sizeof out, "test \"$(readlink "
		    "%s/usr/share/man/man3/%s.3)\" = libcrmpubsub.3", root,
		    name) == 0, "no man page link for %s", name);
	}
	ck_assert_msg(run(out, sizeof out, "MANPATH=%s/usr/share/man man -w "
	    "crmpubsub_subscribe", root) == 0, "man -w: %s", out);
	/* man-db names the page the link leads to; others name the link. */
	snprintf(page, sizeof page, "%s/usr/share/man/man3/libcrmpubsub.3\n",
	    root);
	snprintf(link, sizeof link, "%s/usr/share/man/man3/"
	    "crmpubsub_subscribe.3\n", root);
	ck_assert_msg(strcmp(out, page) == 0 || strcmp(out, link) == 0,
	    "man -w crmpubsub_subscribe: %s", out);
}

START_TEST(test_installed_tree_with_pkg_config)
{
	char	out[16384], flags[2048], app[128], env[160];
	char	*nl;

	snprintf(tmpdir, sizeof tmpdir, "/tmp/crmpubsub-install.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	/* A clean sub-make: the outer make's variables (O=, SANITIZE=) must
	 * not leak into the installed tree. */
	ck_assert_msg(run(out, sizeof out, "cd %s && env -u MAKEFLAGS "
	    "-u MAKELEVEL -u MFLAGS -u O -u SANITIZE make -s install DESTDIR=%s "
	    "PREFIX=/usr",
	    top_dir(), tmpdir) == 0, "make install failed: %s", out);
	ck_assert_int_eq(run(out, sizeof out, "test -f %s/usr/include/"
	    "crmpubsub.h && test -f %s/usr/lib/libcrmpubsub.so.1 && "
	    "test -L %s/usr/lib/libcrmpubsub.so && test -f %s/usr/lib/"
	    "libcrmpubsub.a && test -f %s/usr/lib/pkgconfig/libcrmpubsub.pc "
	    "&& test -f %s/usr/share/man/man3/libcrmpubsub.3",
	    tmpdir, tmpdir, tmpdir, tmpdir, tmpdir, tmpdir), 0);

	ck_assert_msg(run(flags, sizeof flags, "PKG_CONFIG_SYSROOT_DIR=%s "
	    "PKG_CONFIG_PATH=%s/usr/lib/pkgconfig pkg-config --cflags --libs "
	    "libcrmpubsub", tmpdir, tmpdir) == 0, "pkg-config: %s", flags);
	if ((nl = strchr(flags, '\n')) != NULL)
		*nl = '\0';
	ck_assert_ptr_nonnull(strstr(flags, "-lcrmpubsub"));
	ck_assert_ptr_nonnull(strstr(flags, tmpdir));

	/* From an empty directory: copy the examples, build, run. */
	snprintf(app, sizeof app, "%s/app", tmpdir);
	ck_assert_msg(run(out, sizeof out, "mkdir %s && cp %s/client/examples/"
	    "writer.c %s/client/examples/subscriber.c %s/ && cd %s && "
	    "cc -Wall -Wextra -o writer writer.c %s && "
	    "cc -Wall -Wextra -o subscriber subscriber.c %s", app, top_dir(),
	    top_dir(), app, app, flags, flags) == 0, "build failed: %s", out);
	ck_assert_int_eq(run(out, sizeof out, "readelf -d %s/writer", app), 0);
	ck_assert_ptr_nonnull(strstr(out,
	    "Shared library: [libcrmpubsub.so.1]"));

	ck_assert_int_eq(h_daemon_start(&daemon_, NULL), 0);
	snprintf(env, sizeof env, "LD_LIBRARY_PATH=%s/usr/lib", tmpdir);
	examples_round_trip(app, env);

	man_links_installed(tmpdir);
	ck_assert_msg(run(out, sizeof out, "cd %s && env -u MAKEFLAGS "
	    "-u MAKELEVEL -u MFLAGS -u O -u SANITIZE make -s uninstall "
	    "DESTDIR=%s PREFIX=/usr", top_dir(), tmpdir) == 0,
	    "make uninstall failed: %s", out);
	/* uninstall also removes the directories install made, man3 too. */
	ck_assert_int_eq(run(out, sizeof out, "ls %s/usr/share/man/man3 "
	    "2>/dev/null | grep -c crmpubsub", tmpdir), 1);
	ck_assert_str_eq(out, "0\n");
}
END_TEST

/* Writes the C block after the minimal_subscriber.c marker of
 * docs/client.md to path. */
static void
extract_code(const char *path)
{
	char	 md[512], *line = NULL;
	size_t	 cap = 0;
	FILE	*in, *out;
	int	 state = 0, lines = 0;	/* 0 before the marker, 1 before the
					 * fence, 2 inside */

	snprintf(md, sizeof md, "%s/docs/client.md", top_dir());
	in = fopen(md, "r");
	ck_assert_ptr_nonnull(in);
	out = fopen(path, "w");
	ck_assert_ptr_nonnull(out);
	while (getline(&line, &cap, in) != -1) {
		if (state == 0 && strncmp(line, "<!-- minimal_subscriber.c",
		    25) == 0)
			state = 1;
		else if (state == 1 && strcmp(line, "```c\n") == 0)
			state = 2;
		else if (state == 2 && strcmp(line, "```\n") == 0)
			break;
		else if (state == 2) {
			fputs(line, out);
			lines++;
		}
	}
	free(line);
	fclose(in);
	ck_assert_int_eq(fclose(out), 0);
	ck_assert_msg(lines > 10, "no minimal_subscriber.c in %s", md);
}

/* The whole subscriber of docs/client.md builds warning-free and follows a
 * contact's feed. */
START_TEST(test_docs_minimal_subscriber)
{
	struct child	 sub;
	struct h_conn	*h;
	char		 out[8192], src[128], bin[128], line[256], want[256];
	char		 u[37], inter[37];
	char		*argv[3];

	snprintf(tmpdir, sizeof tmpdir, "/tmp/crmpubsub-docs.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(src, sizeof src, "%s/minimal_subscriber.c", tmpdir);
	snprintf(bin, sizeof bin, "%s/minimal_subscriber", tmpdir);
	extract_code(src);
	/* Linked with the library under test, so with its sanitizers; its
	 * one dependency is jansson. */
	ck_assert_msg(run(out, sizeof out, "cc -Wall -Wextra -Werror %s "
	    "-I%s/client -o %s %s %s/client/libcrmpubsub.a -ljansson "
	    "-pthread", SANITIZER_FLAGS, top_dir(), bin, src, build_dir()) == 0,
	    "build: %.2000s", out);

	ck_assert_int_eq(h_daemon_start(&daemon_, NULL), 0);
	h_uuid(0x77, u);
	h_uuid(0x78, inter);
	argv[0] = bin;
	argv[1] = u;
	argv[2] = NULL;
	setenv("CRMPUBSUB_SOCKET", daemon_.sock, 1);
	spawn(&sub, argv);
	unsetenv("CRMPUBSUB_SOCKET");
	snprintf(want, sizeof want, "following %s", u);
	ck_assert_ptr_nonnull(child_line(&sub, line, sizeof line,
	    4 * H_TIMEOUT_MS));
	ck_assert_str_eq(line, want);
	h = h_connect(daemon_.sock);
	ck_assert_ptr_nonnull(h);
	ck_assert_int_eq(h_expect_okf(h, "delivered", "{\"op\":"
	    "\"broadcast_to_contacts\",\"event\":\"interaction_created\","
	    "\"interaction_uuid\":\"%s\",\"contact_uuids\":[\"%s\"]}", inter,
	    u), 1);
	h_close(h);
	snprintf(want, sizeof want, "interaction_created %s", inter);
	ck_assert_ptr_nonnull(child_line(&sub, line, sizeof line,
	    H_TIMEOUT_MS));
	ck_assert_str_eq(line, want);
	kill(sub.pid, SIGTERM);
	(void)child_wait(&sub, H_TIMEOUT_MS);
}
END_TEST

/* The manual page is lint-clean (warnings and worse). */
START_TEST(test_man_page_lint)
{
	char	out[8192];

	ck_assert_msg(run(out, sizeof out, "mandoc -T lint -W warning "
	    "%s/docs/libcrmpubsub.3", top_dir()) == 0, "mandoc: %s", out);
	ck_assert_str_eq(out, "");
}
END_TEST

static Suite *
client_install_suite(void)
{
	Suite	*s = suite_create("client_install");
	TCase	*tc = tcase_create("install");

	tcase_add_checked_fixture(tc, NULL, down);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_exports_only_crmpubsub);
	tcase_add_test(tc, test_examples_in_tree);
	tcase_add_test(tc, test_writer_without_daemon);
	tcase_add_test(tc, test_installed_tree_with_pkg_config);
	tcase_add_test(tc, test_docs_minimal_subscriber);
	tcase_add_test(tc, test_man_page_lint);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(client_install_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
