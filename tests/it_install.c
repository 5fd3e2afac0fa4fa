/* SPDX-License-Identifier: MIT — crmpubsub */
/* Integration suite for `make install`: the installed tree's layout, a
 * program built against it with pkg-config, the systemd units (verify,
 * security, sysusers, tmpfiles), the example config, the man pages, and the
 * installed daemon under socket activation with the unit's own ExecStart. */

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
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define START_MS	(4 * H_TIMEOUT_MS)	/* sanitizer builds start slowly */
#define UNITS		"/usr/lib/systemd/system"

static char inst[256];		/* DESTDIR of the shared install */
static int install_status = -1;	/* exit status of that `make install` */
static char install_log[320];

static const char *
top(void)
{
	const char *t = getenv("CRMPUBSUB_TOP");

	return t != NULL && *t != '\0' ? t : ".";
}

/* Runs a shell command (bounded by timeout(1)) and returns its exit status;
 * its stdout and stderr go to out when out is not NULL. */
static int
run(char *out, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int
run(char *out, size_t cap, const char *fmt, ...)
{
	char cmd[8192], *full;
	va_list ap;
	size_t len = 0, n;
	FILE *p;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	ck_assert_msg(strchr(cmd, '\'') == NULL, "quote in command: %s", cmd);
	ck_assert(asprintf(&full, "timeout -k 5 300 sh -c '%s' 2>&1", cmd) > 0);
	fflush(NULL);
	p = popen(full, "r");
	ck_assert_msg(p != NULL, "popen: %s", strerror(errno));
	for (;;) {
		char junk[4096];

		if (out != NULL && len + 1 < cap)
			n = fread(out + len, 1, cap - 1 - len, p);
		else
			n = fread(junk, 1, sizeof junk, p);
		if (n == 0)
			break;
		if (out != NULL && len + 1 < cap)
			len += n;
	}
	if (out != NULL)
		out[len] = '\0';
	st = pclose(p);
	free(full);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The whole of a small file, malloc'd and NUL-terminated, or NULL. */
static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *s;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	s = malloc((size_t)n + 1);
	ck_assert(s != NULL && fread(s, 1, (size_t)n, f) == (size_t)n);
	s[n] = '\0';
	fclose(f);
	return s;
}

/* Value of the first "key=value" line of a unit or snippet (static). */
static const char *
unit_value(const char *text, const char *key)
{
	static char val[1024];
	size_t kl = strlen(key);
	const char *p = text, *e;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, key, kl) == 0 && p[kl] == '=') {
			e = strchr(p, '\n');
			if (e == NULL)
				e = p + strlen(p);
			snprintf(val, sizeof val, "%.*s", (int)(e - p - kl - 1),
			    p + kl + 1);
			return val;
		}
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return NULL;
}

/* Reads an installed file below inst (asserted). */
static char *
installed(const char *rel)
{
	char path[PATH_MAX];
	char *s;

	snprintf(path, sizeof path, "%s%s", inst, rel);
	s = slurp(path);
	ck_assert_msg(s != NULL, "%s not installed", rel);
	return s;
}

/* Once per test case, in the parent: make install into a fresh DESTDIR. */
static void
install_once(void)
{
	const char *build = getenv("CRMPUBSUB_BUILD");

	snprintf(inst, sizeof inst, "/tmp/crmpubsub-inst.XXXXXX");
	if (mkdtemp(inst) == NULL) {
		inst[0] = '\0';
		return;
	}
	snprintf(install_log, sizeof install_log, "%s.log", inst);
	/* -o all: install what the suites run against, never rebuild it (a
	 * rebuild here could mix sanitizer and plain objects). */
	install_status = run(NULL, 0, "make -C %s --no-print-directory -o all "
	    "install DESTDIR=%s PREFIX=/usr O=%s >%s 2>&1", top(), inst,
	    build != NULL && *build != '\0' ? build : ".", install_log);
}

static void
remove_install(void)
{
	if (inst[0] != '\0')
		run(NULL, 0, "rm -rf %s %s", inst, install_log);
}

/* Every test starts from a successful install. */
static void
need_install(void)
{
	char log[1500] = "";
	FILE *f;
	size_t n;

	if (install_status == 0)
		return;
	if ((f = fopen(install_log, "r")) != NULL) {
		/* The end of the log: check's messages are short. */
		fseek(f, 0, SEEK_END);
		if (ftell(f) > (long)sizeof log - 1)
			fseek(f, -(long)(sizeof log - 1), SEEK_END);
		else
			rewind(f);
		n = fread(log, 1, sizeof log - 1, f);
		log[n] = '\0';
		fclose(f);
	}
	ck_abort_msg("make install DESTDIR=%s PREFIX=/usr failed (%d):\n%s",
	    inst, install_status, log);
}

/* A scratch copy of the installed tree, with what `systemd-analyze --root`
 * needs from the host: the standard targets and /bin/kill (ExecReload). */
static void
verify_root(char *root, size_t cap)
{
	snprintf(root, cap, "/tmp/crmpubsub-vroot.XXXXXX");
	ck_assert(mkdtemp(root) != NULL);
	ck_assert_int_eq(run(NULL, 0, "cp -a %s/. %s/ && mkdir -p %s/usr/bin "
	    "&& cp /bin/kill %s/usr/bin/kill && ln -s usr/bin %s/bin && "
	    "for t in /usr/lib/systemd/system/*.target; do "
	    "cp -n \"$t\" %s" UNITS "/; done", inst, root, root, root, root,
	    root), 0);
}

/* ---- layout ----------------------------------------------------------- */

START_TEST(test_layout)
{
	static const struct { const char *path; mode_t mode; } files[] = {
		{ "/usr/sbin/crmpubsubd", 0755 },
		{ "/usr/bin/crmpubsub-cli", 0755 },
		{ "/usr/lib/libcrmpubsub.so.1.0.0", 0755 },
		{ "/usr/lib/libcrmpubsub.a", 0644 },
		{ "/usr/include/crmpubsub.h", 0644 },
		{ "/usr/lib/pkgconfig/libcrmpubsub.pc", 0644 },
		{ UNITS "/crmpubsubd.service", 0644 },
		{ UNITS "/crmpubsubd.socket", 0644 },
		{ UNITS "/crmpubsub-metrics.service", 0644 },
		{ UNITS "/crmpubsub-metrics.timer", 0644 },
		{ "/usr/lib/sysusers.d/crmpubsub.conf", 0644 },
		{ "/usr/lib/tmpfiles.d/crmpubsub.conf", 0644 },
		{ "/etc/crmpubsub/crmpubsubd.conf", 0644 },
		{ "/usr/share/man/man1/crmpubsub-cli.1", 0644 },
		{ "/usr/share/man/man5/crmpubsubd.conf.5", 0644 },
		{ "/usr/share/man/man8/crmpubsubd.8", 0644 },
	};
	char path[PATH_MAX], target[64], src[PATH_MAX];
	struct stat st;
	char *a, *b;
	ssize_t n;
	size_t i;

	need_install();
	for (i = 0; i < sizeof files / sizeof files[0]; i++) {
		snprintf(path, sizeof path, "%s%s", inst, files[i].path);
		ck_assert_msg(lstat(path, &st) == 0 && S_ISREG(st.st_mode),
		    "%s missing or not a file", files[i].path);
		ck_assert_msg((st.st_mode & 07777) == files[i].mode,
		    "%s has mode %o", files[i].path, st.st_mode & 07777);
	}
	/* The real file and the two links the loader and the linker use. */
	snprintf(path, sizeof path, "%s/usr/lib/libcrmpubsub.so", inst);
	n = readlink(path, target, sizeof target - 1);
	ck_assert_msg(n > 0, "libcrmpubsub.so is not a symlink");
	target[n] = '\0';
	ck_assert_str_eq(target, "libcrmpubsub.so.1");
	snprintf(path, sizeof path, "%s/usr/lib/libcrmpubsub.so.1", inst);
	n = readlink(path, target, sizeof target - 1);
	ck_assert_msg(n > 0, "libcrmpubsub.so.1 is not a symlink");
	target[n] = '\0';
	ck_assert_str_eq(target, "libcrmpubsub.so.1.0.0");

	/* The library's page, when its source exists. */
	snprintf(src, sizeof src, "%s/docs/libcrmpubsub.3", top());
	if (access(src, F_OK) == 0) {
		snprintf(path, sizeof path, "%s/usr/share/man/man3/"
		    "libcrmpubsub.3", inst);
		ck_assert_msg(access(path, F_OK) == 0, "libcrmpubsub.3 missing");
	}
	/* The example config as shipped. */
	snprintf(src, sizeof src, "%s/systemd/crmpubsubd.conf", top());
	a = slurp(src);
	b = installed("/etc/crmpubsub/crmpubsubd.conf");
	ck_assert(a != NULL);
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
	/* The service names the installed paths; no template marker left. */
	a = installed(UNITS "/crmpubsubd.service");
	ck_assert_msg(strstr(a, "@SBINDIR@") == NULL &&
	    strstr(a, "@SYSCONFDIR@") == NULL, "unsubstituted @VAR@ in unit");
	ck_assert_str_eq(unit_value(a, "ExecStart"),
	    "/usr/sbin/crmpubsubd -c /etc/crmpubsub/crmpubsubd.conf");
	free(a);
}
END_TEST

/* A second install keeps an edited config; uninstall removes every file
 * but that config, and an unedited one too. */
START_TEST(test_reinstall_and_uninstall)
{
	const char *build = getenv("CRMPUBSUB_BUILD");
	char d[] = "/tmp/crmpubsub-inst2.XXXXXX", out[16384], conf[PATH_MAX];
	char *text;
	FILE *f;

	need_install();
	ck_assert(mkdtemp(d) != NULL);
	if (build == NULL || *build == '\0')
		build = ".";
#define MAKE_IN(target) run(out, sizeof out, "make -C %s --no-print-directory " \
	    "-o all " target " DESTDIR=%s PREFIX=/usr O=%s", top(), d, build)
	ck_assert_msg(MAKE_IN("install") == 0, "install: %s", out);
	snprintf(conf, sizeof conf, "%s/etc/crmpubsub/crmpubsubd.conf", d);
	f = fopen(conf, "a");
	ck_assert(f != NULL);
	fputs("max_line = 4096\n", f);
	fclose(f);
	ck_assert_msg(MAKE_IN("install") == 0, "reinstall: %s", out);
	text = slurp(conf);
	ck_assert_msg(text != NULL && strstr(text, "max_line = 4096\n"),
	    "make install overwrote an edited config");
	free(text);

	ck_assert_msg(MAKE_IN("uninstall") == 0, "uninstall: %s", out);
	ck_assert_int_eq(run(out, sizeof out, "cd %s && find . ! -type d", d),
	    0);
	ck_assert_msg(strcmp(out, "./etc/crmpubsub/crmpubsubd.conf\n") == 0,
	    "left after uninstall:\n%s", out);
	/* Back to the example: now uninstall takes it and its directory. */
	ck_assert_int_eq(run(NULL, 0, "cp %s/systemd/crmpubsubd.conf %s",
	    top(), conf), 0);
	ck_assert_msg(MAKE_IN("uninstall") == 0, "uninstall: %s", out);
	ck_assert_msg(access(conf, F_OK) == -1, "unedited config left behind");
#undef MAKE_IN
	run(NULL, 0, "rm -rf %s", d);
}
END_TEST

/* The build directory the suites run against (O=), for sub-makes. */
static const char *
build_dir(void)
{
	const char *build = getenv("CRMPUBSUB_BUILD");

	return build != NULL && *build != '\0' ? build : ".";
}

/* install-lib puts the library and nothing of the daemon's (no units, no
 * /etc, no programs); uninstall leaves the DESTDIR as empty as it found
 * it. */
START_TEST(test_install_lib_only)
{
	static const char *const want[] = {
		"./usr/include/crmpubsub.h", "./usr/lib/libcrmpubsub.a",
		"./usr/lib/libcrmpubsub.so", "./usr/lib/libcrmpubsub.so.1",
		"./usr/lib/libcrmpubsub.so.1.0.0",
		"./usr/lib/pkgconfig/libcrmpubsub.pc",
		"./usr/share/man/man3/libcrmpubsub.3",
	};
	char d[] = "/tmp/crmpubsub-instlib.XXXXXX", out[16384], *line, *save;
	size_t i;

	need_install();
	ck_assert(mkdtemp(d) != NULL);
	ck_assert_msg(run(out, sizeof out, "make -C %s --no-print-directory "
	    "-o all install-lib DESTDIR=%s PREFIX=/usr O=%s", top(), d,
	    build_dir()) == 0, "install-lib: %s", out);
	ck_assert_int_eq(run(out, sizeof out, "cd %s && find . ! -type d", d),
	    0);
	for (i = 0; i < sizeof want / sizeof want[0]; i++)
		ck_assert_msg(strstr(out, want[i]) != NULL, "%s missing:\n%s",
		    want[i], out);
	/* Nothing else but the library's manual links and the list of the
	 * directories made. */
	for (line = strtok_r(out, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		for (i = 0; i < sizeof want / sizeof want[0]; i++)
			if (strcmp(line, want[i]) == 0)
				break;
		ck_assert_msg(i < sizeof want / sizeof want[0] ||
		    strncmp(line, "./usr/share/man/man3/crmpubsub_", 31) == 0 ||
		    strcmp(line, "./usr/share/crmpubsub/installed-dirs") == 0,
		    "install-lib installed %s", line);
	}
	ck_assert_msg(run(out, sizeof out, "make -C %s --no-print-directory "
	    "-o all uninstall DESTDIR=%s PREFIX=/usr O=%s", top(), d,
	    build_dir()) == 0, "uninstall: %s", out);
	ck_assert_int_eq(run(out, sizeof out, "cd %s && find . -mindepth 1",
	    d), 0);
	ck_assert_msg(out[0] == '\0', "left after uninstall:\n%s", out);
	run(NULL, 0, "rm -rf %s", d);
}
END_TEST

/* Uninstall removes the directories install made, and only those: one that
 * was there before stays, even empty, and so does one holding a file of
 * someone else's. (The two parts of the core; components' install hooks
 * make their own directories.) */
START_TEST(test_uninstall_removes_created_dirs)
{
	char d[] = "/tmp/crmpubsub-instdirs.XXXXXX", out[16384];

	need_install();
	ck_assert(mkdtemp(d) != NULL);
	ck_assert_int_eq(run(NULL, 0, "mkdir -p %s/usr/bin", d), 0);
#define MAKE_IN(target) run(out, sizeof out, "make -C %s --no-print-directory " \
	    "-o all " target " DESTDIR=%s PREFIX=/usr O=%s", top(), d, build_dir())
	ck_assert_msg(MAKE_IN("install-lib install-daemon") == 0, "install: %s",
	    out);
	ck_assert_int_eq(run(NULL, 0, "touch %s/usr/share/man/man8/other.8",
	    d), 0);
	ck_assert_msg(MAKE_IN("uninstall") == 0, "uninstall: %s", out);
#undef MAKE_IN
	ck_assert_int_eq(run(out, sizeof out, "cd %s && find . -mindepth 1 | "
	    "LC_ALL=C sort", d), 0);
	ck_assert_str_eq(out, "./usr\n./usr/bin\n./usr/share\n"
	    "./usr/share/man\n./usr/share/man/man8\n"
	    "./usr/share/man/man8/other.8\n");
	run(NULL, 0, "rm -rf %s", d);
}
END_TEST

/* What an installation for real does, in a private mount namespace whose
 * /usr and /etc are copy-on-write overlays of the host's (so nothing of
 * this machine changes): `make install` with the default prefix as root,
 * then a program built with pkg-config alone runs without LD_LIBRARY_PATH
 * (ldconfig was run), the installed daemon and CLI answer --version, and
 * Debian's python3 imports the installed package. After `make uninstall`
 * neither the program nor python3 finds them. */
START_TEST(test_real_install_loads_without_ld_library_path)
{
	char dir[] = "/tmp/crmpubsub-realinst.XXXXXX", script[PATH_MAX];
	char out[16384];
	const char *san = "";
	const char *py_installed = "echo \"python: $(cd / && /usr/bin/python3 "
	    "-c 'import crmpubsub; print(crmpubsub.__file__)')\"\n";
	const char *py_removed = "if (cd / && /usr/bin/python3 -c 'import "
	    "crmpubsub') 2>/dev/null; then echo python-still-imports; else "
	    "echo python-gone; fi\n";
	FILE *f;

	need_install();
	ck_assert(mkdtemp(dir) != NULL);
	/* python3 cannot load a library built with ASan: the plain build
	 * checks the Python package. */
	if (strstr(build_dir(), "asan") != NULL) {
		san = "-fsanitize=address,undefined";
		py_installed = py_removed = "";
	}
	snprintf(script, sizeof script, "%s/inside.sh", dir);
	f = fopen(script, "w");
	ck_assert(f != NULL);
	fprintf(f,
	    "set -eu\n"
	    "mount --make-rprivate /\n"
	    "mount -t tmpfs tmpfs %s/ov\n"
	    "for t in usr etc; do\n"
	    "  mkdir %s/ov/$t %s/ov/$t.work\n"
	    "  mount -t overlay overlay -o lowerdir=/$t,upperdir=%s/ov/$t,"
	    "workdir=%s/ov/$t.work /$t\n"
	    "done\n"
	    "unset LD_LIBRARY_PATH PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR\n"
	    "make -C %s --no-print-directory -o all install-lib install-daemon "
	    "install-python O=%s\n"
	    "printf '#include <stdio.h>\\n#include <crmpubsub.h>\\n"
	    "int main(void) { puts(crmpubsub_version()); return 0; }\\n' "
	    ">%s/prog.c\n"
	    "cc %s -o %s/prog %s/prog.c $(pkg-config --cflags --libs "
	    "libcrmpubsub)\n"
	    "echo \"prog: $(%s/prog)\"\n"
	    "echo \"daemon: $(/usr/local/sbin/crmpubsubd --version)\"\n"
	    "echo \"cli: $(/usr/local/bin/crmpubsub-cli --version)\"\n"
	    "%s"
	    "make -C %s --no-print-directory -o all uninstall O=%s\n"
	    "if %s/prog >/dev/null 2>&1; then echo still-loads; "
	    "else echo gone; fi\n"
	    "%s",
	    dir, dir, dir, dir, dir, top(), build_dir(), dir, san, dir, dir,
	    dir, py_installed, top(), build_dir(), dir, py_removed);
	fclose(f);
	ck_assert_int_eq(run(NULL, 0, "mkdir %s/ov", dir), 0);
	ck_assert_msg(run(out, sizeof out, "unshare --mount sh %s", script)
	    == 0, "install in a private namespace failed:\n%.2000s", out);
	ck_assert_msg(strstr(out, "\nprog: " CRMPUBSUB_VERSION "\n") != NULL,
	    "the program did not load the installed library:\n%s", out);
	ck_assert_msg(strstr(out, "\ndaemon: crmpubsubd " CRMPUBSUB_VERSION)
	    != NULL && strstr(out, "\ncli: crmpubsub-cli " CRMPUBSUB_VERSION)
	    != NULL, "installed programs:\n%s", out);
	ck_assert_msg(strstr(out, "\ngone\n") != NULL,
	    "the library outlived make uninstall:\n%s", out);
	/* Debian's python3 finds the package the default prefix installed. */
	ck_assert_msg(*py_installed == '\0' || (strstr(out,
	    "\npython: /usr/local/lib/python3.") != NULL && strstr(out,
	    "\npython-gone\n") != NULL),
	    "the Python package, installed and uninstalled:\n%.2000s", out);
	run(NULL, 0, "rm -rf %s", dir);
}
END_TEST

START_TEST(test_pkgconfig_build)
{
	const char *build = getenv("CRMPUBSUB_BUILD");
	char out[8192], flags[2048], dir[] = "/tmp/crmpubsub-pc.XXXXXX";
	char prog[PATH_MAX], pc[2 * sizeof inst + 64];
	const char *san = "";
	FILE *f;
	size_t n;

	need_install();
	ck_assert(mkdtemp(dir) != NULL);
	snprintf(pc, sizeof pc, "PKG_CONFIG_PATH=%s/usr/lib/pkgconfig "
	    "PKG_CONFIG_SYSROOT_DIR=%s", inst, inst);
	ck_assert_msg(run(flags, sizeof flags, "%s pkg-config --cflags --libs "
	    "libcrmpubsub", pc) == 0, "pkg-config: %s", flags);
	n = strlen(flags);
	while (n > 0 && flags[n - 1] == '\n')
		flags[--n] = '\0';
	snprintf(out, sizeof out, "-I%s/usr/include", inst);
	ck_assert_msg(strstr(flags, out) != NULL, "cflags miss the tree: %s",
	    flags);
	snprintf(prog, sizeof prog, "%s/prog.c", dir);
	f = fopen(prog, "w");
	ck_assert(f != NULL);
	fputs("#include <stdio.h>\n#include <crmpubsub.h>\n"
	    "int main(void) { puts(crmpubsub_version()); return 0; }\n", f);
	fclose(f);
	/* A sanitizer build of the library needs its runtime in the program. */
	if (build != NULL && strstr(build, "asan") != NULL)
		san = "-fsanitize=address,undefined";
	ck_assert_msg(run(out, sizeof out, "cc %s -Wall -Werror -o %s/prog "
	    "%s %s", san, dir, prog, flags) == 0, "build failed: %s", out);
	ck_assert_int_eq(run(out, sizeof out, "LD_LIBRARY_PATH=%s/usr/lib "
	    "%s/prog", inst, dir), 0);
	ck_assert_int_eq(run(flags, sizeof flags, "%s pkg-config --modversion "
	    "libcrmpubsub", pc), 0);
	ck_assert_str_eq(out, flags);
	run(NULL, 0, "rm -rf %s", dir);
}
END_TEST

/* ---- systemd -------------------------------------------------------------- */

START_TEST(test_units_verify)
{
	char root[64], out[8192], unit[PATH_MAX];
	FILE *f;
	char *text, *p;

	need_install();
	verify_root(root, sizeof root);
	/* Documentation= man pages are looked up in the installed tree. */
	ck_assert_msg(run(out, sizeof out, "MANPATH=%s/usr/share/man "
	    "systemd-analyze verify --root=%s crmpubsubd.socket "
	    "crmpubsubd.service crmpubsub-metrics.service "
	    "crmpubsub-metrics.timer", root, root) == 0 && out[0] == '\0',
	    "systemd-analyze verify:\n%s", out);

	/* The same check notices a unit whose ExecStart points nowhere. */
	snprintf(unit, sizeof unit, "%s" UNITS "/crmpubsubd.service", root);
	text = slurp(unit);
	ck_assert(text != NULL && (p = strstr(text, "\nExecStart=")) != NULL);
	f = fopen(unit, "w");
	ck_assert(f != NULL);
	fprintf(f, "%.*s\nExecStart=/usr/sbin/crmpubsubd-missing\n%s",
	    (int)(p - text), text, strchr(p + 1, '\n') + 1);
	fclose(f);
	free(text);
	ck_assert_msg(run(out, sizeof out, "MANPATH=%s/usr/share/man "
	    "systemd-analyze verify --root=%s crmpubsubd.service", root,
	    root) != 0, "verify accepted a missing ExecStart binary");
	run(NULL, 0, "rm -rf %s", root);
}
END_TEST

START_TEST(test_units_security)
{
	char root[64], out[65536], *p;
	double exposure;

	need_install();
	verify_root(root, sizeof root);
	ck_assert_msg(run(out, sizeof out, "systemd-analyze security "
	    "--offline=yes --root=%s --threshold=20 crmpubsubd.service", root)
	    == 0, "exposure above 2.0:\n%s", out);
	p = strstr(out, "Overall exposure level for crmpubsubd.service:");
	ck_assert_msg(p != NULL, "no overall exposure:\n%s", out);
	ck_assert(sscanf(strchr(p, ':') + 1, "%lf", &exposure) == 1);
	ck_assert_msg(exposure <= 2.0, "exposure %.1f", exposure);
	run(NULL, 0, "rm -rf %s", root);
}
END_TEST

/* The watchdog is on and the unit has no network of its own until the
 * drop-in docs/operations.md gives for a TCP metrics port, which is valid
 * and keeps the rest of the sandbox; the textfile unit runs the installed
 * CLI, sandboxed too. */
START_TEST(test_units_metrics)
{
	static const char mark[] =
	    "# /etc/systemd/system/crmpubsubd.service.d/metrics.conf\n";
	char root[64], out[65536], path[PATH_MAX], *svc, *ops, *p, *end, *q;
	double exposure;
	FILE *f;

	need_install();
	svc = installed(UNITS "/crmpubsubd.service");
	ck_assert_str_eq(unit_value(svc, "WatchdogSec"), "30s");
	ck_assert_str_eq(unit_value(svc, "NotifyAccess"), "main");
	ck_assert_str_eq(unit_value(svc, "PrivateNetwork"), "yes");
	free(svc);
	svc = installed(UNITS "/crmpubsub-metrics.service");
	ck_assert_str_eq(unit_value(svc, "ExecStart"), "/usr/bin/crmpubsub-cli "
	    "-s /run/crmpubsub/crmpubsub.sock -t 5 metrics -o "
	    "/var/lib/prometheus/node-exporter/crmpubsub.prom");
	ck_assert_str_eq(unit_value(svc, "Group"), "crmpubsub");
	free(svc);

	snprintf(path, sizeof path, "%s/docs/operations.md", top());
	ops = slurp(path);
	ck_assert_msg(ops != NULL && (p = strstr(ops, mark)) != NULL,
	    "docs/operations.md lacks the drop-in (%s)", mark);
	end = strstr(p, "\n```");
	ck_assert_ptr_nonnull(end);
	verify_root(root, sizeof root);
	snprintf(path, sizeof path, "%s/etc/systemd/system/"
	    "crmpubsubd.service.d", root);
	ck_assert_int_eq(run(NULL, 0, "mkdir -p %s", path), 0);
	strcat(path, "/metrics.conf");
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fprintf(f, "%.*s\n", (int)(end - p), p);
	fclose(f);
	q = strstr(p, "[Service]");
	ck_assert_msg(q != NULL && q < end, "no [Service] in the drop-in");
	ck_assert_msg(run(out, sizeof out, "MANPATH=%s/usr/share/man "
	    "systemd-analyze verify --root=%s crmpubsubd.service", root, root)
	    == 0 && out[0] == '\0', "verify with the drop-in:\n%s", out);
	ck_assert_msg(run(out, sizeof out, "systemd-analyze security "
	    "--offline=yes --root=%s --threshold=30 crmpubsubd.service "
	    "crmpubsub-metrics.service", root) == 0,
	    "exposure above 3.0:\n%s", out);
	p = strstr(out, "Overall exposure level for crmpubsub-metrics.service:");
	ck_assert_msg(p != NULL, "no overall exposure:\n%s", out);
	ck_assert(sscanf(strchr(p, ':') + 1, "%lf", &exposure) == 1);
	ck_assert_msg(exposure <= 3.0, "textfile unit exposure %.1f", exposure);
	free(ops);
	run(NULL, 0, "rm -rf %s", root);
}
END_TEST

/* The known traps of such units: the runtime directory outlives the
 * service, the syscall filter keeps chown for socket_group, LimitNOFILE fits
 * max_connections, and user and group agree across the files. */
START_TEST(test_units_content)
{
	char out[8192], *svc, *sock, *sysusers, *tmpfiles, *p;
	const char *v;
	long nofile, maxconn = -1;

	need_install();
	svc = installed(UNITS "/crmpubsubd.service");
	sock = installed(UNITS "/crmpubsubd.socket");
	sysusers = installed("/usr/lib/sysusers.d/crmpubsub.conf");
	tmpfiles = installed("/usr/lib/tmpfiles.d/crmpubsub.conf");

	ck_assert_str_eq(unit_value(svc, "Type"), "notify");
	ck_assert_str_eq(unit_value(svc, "Restart"), "on-failure");
	ck_assert_msg(strstr(unit_value(svc, "ExecReload"), "-HUP $MAINPID"),
	    "ExecReload does not send SIGHUP");
	ck_assert_str_eq(unit_value(svc, "Requires"), "crmpubsubd.socket");
	/* RuntimeDirectory= without Preserve deletes the socket unit's socket
	 * whenever the service stops. */
	ck_assert_str_eq(unit_value(svc, "RuntimeDirectory"), "crmpubsub");
	ck_assert_str_eq(unit_value(svc, "RuntimeDirectoryPreserve"), "yes");
	ck_assert_msg(strstr(tmpfiles, "\nd /run/crmpubsub ") != NULL,
	    "tmpfiles.d does not make /run/crmpubsub");
	ck_assert_str_eq(unit_value(sock, "ListenStream"),
	    "/run/crmpubsub/crmpubsub.sock");
	ck_assert_str_eq(unit_value(sock, "SocketMode"), "0660");
	/* The group application users join exists (sysusers makes a group
	 * for each u line) and owns the socket. */
	ck_assert_msg(strstr(sysusers, "\nu crmpubsub ") != NULL,
	    "sysusers.d does not create crmpubsub");
	ck_assert_str_eq(unit_value(svc, "User"), "crmpubsub");
	ck_assert_str_eq(unit_value(svc, "Group"), "crmpubsub");
	ck_assert_str_eq(unit_value(sock, "SocketGroup"), "crmpubsub");
	/* Peer credentials must stay real uids for publish_uids. */
	ck_assert_msg(unit_value(svc, "PrivateUsers") == NULL &&
	    unit_value(svc, "DynamicUser") == NULL,
	    "PrivateUsers/DynamicUser would break SO_PEERCRED or the group");
	ck_assert_str_eq(unit_value(svc, "RestrictAddressFamilies"), "AF_UNIX");
	ck_assert_str_eq(unit_value(svc, "CapabilityBoundingSet"), "");
	for (p = svc; (p = strstr(p, "\nSystemCallFilter=")) != NULL; p++) {
		v = unit_value(p + 1, "SystemCallFilter");
		ck_assert_msg(strstr(v, "~") == NULL || (strstr(v, "@privileged")
		    == NULL && strstr(v, "@chown") == NULL &&
		    strstr(v, "chown") == NULL),
		    "SystemCallFilter=%s forbids chown (socket_group)", v);
	}
	/* chown is in the allowed set. */
	ck_assert_int_eq(run(out, sizeof out, "systemd-analyze syscall-filter "
	    "%s", unit_value(svc, "SystemCallFilter")), 0);
	ck_assert_msg(strstr(out, "\n    chown\n") != NULL ||
	    strstr(out, "@chown") != NULL, "chown not allowed");

	/* LimitNOFILE above the default max_connections plus headroom. */
	ck_assert_int_eq(run(out, sizeof out, "%s/usr/sbin/crmpubsubd --help",
	    inst), 0);
	p = strstr(out, "--max-connections");
	ck_assert(p != NULL && (p = strstr(p, "(default ")) != NULL);
	maxconn = strtol(p + 9, NULL, 10);
	nofile = strtol(unit_value(svc, "LimitNOFILE"), NULL, 10);
	ck_assert_msg(maxconn > 0 && nofile >= maxconn + 64,
	    "LimitNOFILE=%ld for max_connections %ld", nofile, maxconn);
	free(svc);
	free(sock);
	free(sysusers);
	free(tmpfiles);
}
END_TEST

START_TEST(test_sysusers_tmpfiles)
{
	char root[64], out[8192], path[PATH_MAX];
	struct stat st;
	struct passwd *pw;
	FILE *f;
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;

	need_install();
	verify_root(root, sizeof root);
	ck_assert_msg(run(out, sizeof out, "systemd-sysusers --root=%s", root)
	    == 0, "systemd-sysusers: %s", out);
	snprintf(path, sizeof path, "%s/etc/passwd", root);
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "no passwd made");
	while ((pw = fgetpwent(f)) != NULL)
		if (strcmp(pw->pw_name, "crmpubsub") == 0) {
			uid = pw->pw_uid;
			gid = pw->pw_gid;
			ck_assert_msg(strstr(pw->pw_shell, "nologin") != NULL,
			    "login shell %s", pw->pw_shell);
		}
	fclose(f);
	ck_assert_msg(uid != (uid_t)-1 && uid != 0, "no crmpubsub user");
	ck_assert_msg(run(out, sizeof out, "systemd-tmpfiles --create "
	    "--root=%s", root) == 0, "systemd-tmpfiles: %s", out);
	snprintf(path, sizeof path, "%s/run/crmpubsub", root);
	ck_assert_msg(stat(path, &st) == 0 && S_ISDIR(st.st_mode),
	    "/run/crmpubsub not made");
	ck_assert_uint_eq(st.st_mode & 07777, 0755);
	ck_assert_uint_eq(st.st_uid, uid);
	ck_assert_uint_eq(st.st_gid, gid);
	run(NULL, 0, "rm -rf %s", root);
}
END_TEST

/* ---- config and manuals ------------------------------------------------ */

/* Every option of `crmpubsubd --help` is in the example config with its
 * default, in crmpubsubd(8) and in crmpubsubd.conf(5); the example with
 * every line uncommented starts the daemon. */
START_TEST(test_config_example)
{
	char help[8192], key[64], opt[64], want[128], def[64], *conf, *man5,
	    *man8, *p, *e, mopt[128], cfgpath[320], bin[PATH_MAX];
	const char *args[3];
	struct h_daemon d;
	struct h_conn *c;
	int nopts = 0, nkeys = 0, i;
	FILE *f;

	need_install();
	ck_assert_int_eq(run(help, sizeof help, "%s/usr/sbin/crmpubsubd --help",
	    inst), 0);
	conf = installed("/etc/crmpubsub/crmpubsubd.conf");
	man5 = installed("/usr/share/man/man5/crmpubsubd.conf.5");
	man8 = installed("/usr/share/man/man8/crmpubsubd.8");
	/* Option lines start "  -x, --name" or "      --name"; the entry goes
	 * on over indented lines up to the next option. */
	for (p = help; (p = strstr(p, "\n  ")) != NULL; p++) {
		if (strncmp(p + 1, "  -", 3) != 0 &&
		    strncmp(p + 1, "      --", 8) != 0)
			continue;
		if ((e = strstr(p + 1, "--")) == NULL ||
		    sscanf(e + 2, "%63[a-z-]", opt) != 1 ||
		    strcmp(opt, "version") == 0 || strcmp(opt, "help") == 0 ||
		    strcmp(opt, "config") == 0 || strcmp(opt, "socket") == 0)
			continue;
		for (e = strchr(p + 1, '\n'); e != NULL &&
		    strncmp(e + 1, "     ", 5) == 0 && e[6] == ' ' &&
		    e[7] == ' ' && e[8] != '-'; e = strchr(e + 1, '\n'))
			;
		if (e != NULL)
			*e = '\0';
		def[0] = '\0';
		if (strstr(p, "(default ") != NULL)
			sscanf(strstr(p, "(default ") + 9, "%63[^,)]", def);
		if (e != NULL)
			*e = '\n';
		for (i = 0; opt[i] != '\0'; i++)
			key[i] = opt[i] == '-' ? '_' : opt[i];
		key[i] = '\0';
		nopts++;
		/* A flag takes no value on the command line; off by default. */
		if (strcmp(opt, "verbose") == 0)
			snprintf(def, sizeof def, "no");
		if (def[0] == '\0')
			snprintf(want, sizeof want, "\n#%s =\n", key);
		else
			snprintf(want, sizeof want, "\n#%s = %s\n", key, def);
		ck_assert_msg(strstr(conf, want) != NULL,
		    "example config lacks '%.*s'", (int)strlen(want) - 2,
		    want + 1);
		snprintf(want, sizeof want, ".It Cm %s ", key);
		ck_assert_msg(strstr(man5, want) != NULL,
		    "crmpubsubd.conf(5) lacks %s", key);
		/* In mdoc source every '-' of an option is written "\\-". */
		snprintf(mopt, sizeof mopt, "Fl \\-");
		for (i = 0, e = mopt + strlen(mopt); opt[i] != '\0' &&
		    e < mopt + sizeof mopt - 3; i++) {
			if (opt[i] == '-')
				*e++ = '\\';
			*e++ = opt[i];
		}
		*e = '\0';
		ck_assert_msg(strstr(man8, mopt) != NULL,
		    "crmpubsubd(8) lacks --%s", opt);
	}
	ck_assert_msg(nopts >= 11, "only %d options in --help:\n%s", nopts,
	    help);
	/* socket is in the config too (its option is -s/--socket). */
	ck_assert(strstr(conf, "\n#socket =\n") != NULL);
	for (p = conf; (p = strstr(p, "\n#")) != NULL; p++)
		if (p[2] >= 'a' && p[2] <= 'z')
			nkeys++;
	ck_assert_msg(nkeys == nopts + 1, "%d settings in the example, %d "
	    "options", nkeys, nopts);

	/* Uncommented, the example is a valid config. */
	snprintf(cfgpath, sizeof cfgpath, "%s.example.conf", inst);
	f = fopen(cfgpath, "w");
	ck_assert(f != NULL);
	for (p = conf; *p != '\0'; p = e + 1) {
		e = strchr(p, '\n');
		if (e == NULL)
			break;
		if (p[0] == '#' && p[1] >= 'a' && p[1] <= 'z')
			fprintf(f, "%.*s\n", (int)(e - p - 1), p + 1);
		else
			fprintf(f, "%.*s\n", (int)(e - p), p);
	}
	fclose(f);
	args[0] = "-c";
	args[1] = cfgpath;
	args[2] = NULL;
	snprintf(bin, sizeof bin, "%s/usr/sbin/crmpubsubd", inst);
	setenv("CRMPUBSUBD", bin, 1);
	ck_assert_msg(h_daemon_start(&d, args) == 0,
	    "the installed daemon refused the uncommented example config");
	c = h_connect(d.sock);
	ck_assert(c != NULL);
	h_expect_okf(c, NULL, "{\"op\":\"ping\"}");
	h_close(c);
	ck_assert_int_eq(h_daemon_stop(&d, SIGTERM, H_TIMEOUT_MS), 0);
	unlink(cfgpath);
	free(conf);
	free(man5);
	free(man8);
}
END_TEST

START_TEST(test_man_lint)
{
	static const char *pages[] = {
		"man1/crmpubsub-cli.1", "man5/crmpubsubd.conf.5",
		"man8/crmpubsubd.8", "man3/libcrmpubsub.3",
	};
	char path[PATH_MAX], out[8192];
	size_t i;

	need_install();
	for (i = 0; i < sizeof pages / sizeof pages[0]; i++) {
		snprintf(path, sizeof path, "%s/usr/share/man/%s", inst,
		    pages[i]);
		if (i == 3 && access(path, F_OK) == -1)
			continue;	/* the library page is optional here */
		ck_assert_msg(run(out, sizeof out, "mandoc -T lint -W warning "
		    "%s", path) == 0 && out[0] == '\0', "mandoc lint %s:\n%s",
		    pages[i], out);
		ck_assert_msg(run(out, sizeof out, "MANWIDTH=80 man --warnings "
		    "-l %s 2>&1 >/dev/null", path) == 0 && out[0] == '\0',
		    "man --warnings %s:\n%s", pages[i], out);
	}
}
END_TEST

/* ---- the installed daemon under socket activation ------------------------ */

/* The installed unit's ExecStart, split on blanks, with every absolute path
 * that exists in the installed tree moved into it. */
static int
unit_argv(char **argv, int max, char *store, size_t cap)
{
	char *svc = installed(UNITS "/crmpubsubd.service"), *tok, *save = NULL;
	char path[PATH_MAX], line[1024];
	size_t used = 0;
	int n = 0;

	snprintf(line, sizeof line, "%s", unit_value(svc, "ExecStart"));
	free(svc);
	for (tok = strtok_r(line, " \t", &save); tok != NULL && n < max - 1;
	    tok = strtok_r(NULL, " \t", &save)) {
		snprintf(path, sizeof path, "%s%s", inst, tok);
		if (tok[0] != '/' || access(path, F_OK) == -1)
			snprintf(path, sizeof path, "%s", tok);
		ck_assert(used + strlen(path) + 1 <= cap);
		argv[n++] = strcpy(store + used, path);
		used += strlen(path) + 1;
	}
	argv[n] = NULL;
	return n;
}

/* Forks argv with stderr to log, stdin/stdout on /dev/null; extra env
 * entries are put before exec; fd listen_fd (if >= 0) becomes fd 3 with
 * LISTEN_FDS=1 and LISTEN_PID set to the child. */
static pid_t
spawn(char *const *argv, const char *log, char *const *env, int listen_fd)
{
	pid_t pid;
	int fd, logfd;
	char pidbuf[32];

	fflush(NULL);
	pid = fork();
	ck_assert(pid != -1);
	if (pid != 0)
		return pid;
	fd = open("/dev/null", O_RDWR);
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	logfd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
	dup2(logfd, STDERR_FILENO);
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_PID");
	unsetenv("NOTIFY_SOCKET");
	unsetenv("CRMPUBSUB_SOCKET");
	for (; env != NULL && *env != NULL; env++)
		putenv(*env);
	if (listen_fd >= 0) {
		if (listen_fd != 3)
			dup2(listen_fd, 3);
		fcntl(3, F_SETFD, 0);
		setenv("LISTEN_FDS", "1", 1);
		snprintf(pidbuf, sizeof pidbuf, "%ld", (long)getpid());
		setenv("LISTEN_PID", pidbuf, 1);
	}
	for (fd = listen_fd >= 0 ? 4 : 3; fd < 1024; fd++)
		close(fd);
	execvp(argv[0], argv);
	_exit(127);
}

/* The unit's ExecStart under systemd-socket-activate, as systemd would run
 * it: the first connection starts it, it says READY=1 and STOPPING=1, it
 * serves the inherited socket and does not bind its own, and the socket
 * file stays when it exits. */
START_TEST(test_unit_execstart_socket_activated)
{
	char dir[] = "/tmp/crmpubsub-sa.XXXXXX", listen[128], notify[128];
	char xdg[128], log[128], envn[160], envx[160], store[4096], own[160];
	char *uargv[16], *argv[24];
	struct h_conn *c;
	struct stat st;
	json_t *r;
	int nfd, n, i, status;
	pid_t pid;

	need_install();
	ck_assert(mkdtemp(dir) != NULL);
	snprintf(listen, sizeof listen, "%s/crmpubsub.sock", dir);
	snprintf(notify, sizeof notify, "%s/notify", dir);
	snprintf(xdg, sizeof xdg, "%s/xdg", dir);
	snprintf(log, sizeof log, "%s/stderr.log", dir);
	ck_assert(mkdir(xdg, 0700) == 0);
	nfd = h_notify_bind(notify);
	n = unit_argv(uargv, 16, store, sizeof store);
	ck_assert_msg(n >= 1 && strstr(uargv[0], inst) == uargv[0],
	    "ExecStart binary %s not in the installed tree", uargv[0]);
	snprintf(envn, sizeof envn, "NOTIFY_SOCKET=%s", notify);
	snprintf(envx, sizeof envx, "XDG_RUNTIME_DIR=%s", xdg);
	i = 0;
	argv[i++] = (char *)"systemd-socket-activate";
	argv[i++] = (char *)"-l";
	argv[i++] = listen;
	argv[i++] = (char *)"-E";
	argv[i++] = envn;
	argv[i++] = (char *)"-E";
	argv[i++] = envx;
	for (n = 0; uargv[n] != NULL; n++)
		argv[i++] = uargv[n];
	argv[i] = NULL;
	pid = spawn(argv, log, NULL, -1);

	/* The first connection starts the daemon and is served. */
	{
		long long deadline = h_now_ms() + START_MS;

		/* The file appears at bind(), a moment before listen(). */
		while ((c = h_connect(listen)) == NULL && h_now_ms() < deadline)
			poll(NULL, 0, 10);
	}
	ck_assert_msg(c != NULL, "systemd-socket-activate not listening");
	ck_assert(h_send_line(c, "{\"op\":\"hello\"}") == 0);
	r = h_recv_reply(c, START_MS);
	ck_assert_msg(h_is_ok(r), "the activating connection was not served");
	ck_assert_str_eq(h_str(r, "server"), "crmpubsubd");
	json_decref(r);
	ck_assert_msg(h_notify_wait(nfd, "READY=1", START_MS), "no READY=1");
	snprintf(own, sizeof own, "%s/crmpubsub.sock", xdg);
	ck_assert_msg(access(own, F_OK) == -1,
	    "the daemon bound its own socket despite LISTEN_FDS");

	ck_assert_int_eq(kill(pid, SIGTERM), 0);
	ck_assert_msg(h_notify_wait(nfd, "STOPPING=1", H_TIMEOUT_MS),
	    "no STOPPING=1");
	r = h_recv_push(c, H_TIMEOUT_MS);
	ck_assert_msg(r != NULL && strcmp(h_str(r, "type"), "shutdown") == 0,
	    "no shutdown push");
	json_decref(r);
	status = h_wait_child(pid, H_TIMEOUT_MS);
	ck_assert_msg(status != -1 && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0, "exit status %d", status);
	ck_assert_msg(stat(listen, &st) == 0 && S_ISSOCK(st.st_mode),
	    "the inherited socket was removed at exit");
	h_close(c);
	close(nfd);
	run(NULL, 0, "rm -rf %s", dir);
}
END_TEST

/* What the socket unit gives: the listening socket outlives the service.
 * A client that connects while the service is stopped is served by the
 * next start, with the unit's ExecStart. */
START_TEST(test_restart_keeps_socket_and_clients)
{
	char dir[] = "/tmp/crmpubsub-rs.XXXXXX", path[128], log[128];
	char store[4096], *uargv[16];
	struct sockaddr_un sun;
	struct h_conn *a, *b;
	struct stat st;
	json_t *r;
	int lfd, status;
	pid_t pid;

	need_install();
	ck_assert(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/crmpubsub.sock", dir);
	snprintf(log, sizeof log, "%s/stderr.log", dir);
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, path);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert(lfd != -1);
	ck_assert(bind(lfd, (struct sockaddr *)&sun, sizeof sun) == 0);
	ck_assert(listen(lfd, 64) == 0);
	unit_argv(uargv, 16, store, sizeof store);

	pid = spawn(uargv, log, NULL, lfd);
	a = h_connect(path);
	ck_assert(a != NULL);
	ck_assert(h_send_line(a, "{\"op\":\"ping\",\"id\":1}") == 0);
	r = h_recv_reply(a, START_MS);
	ck_assert_msg(h_is_ok(r), "first start did not serve");
	json_decref(r);
	kill(pid, SIGTERM);
	status = h_wait_child(pid, H_TIMEOUT_MS);
	ck_assert(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_msg(stat(path, &st) == 0 && S_ISSOCK(st.st_mode),
	    "socket file removed by the stopping service");

	/* Stopped: connecting still works (the backlog holds it). */
	b = h_connect(path);
	ck_assert_msg(b != NULL, "connect while stopped failed");
	ck_assert(h_send_line(b, "{\"op\":\"ping\",\"id\":2}") == 0);
	pid = spawn(uargv, log, NULL, lfd);
	r = h_recv_reply(b, START_MS);
	ck_assert_msg(h_is_ok(r) && h_int(r, "id") == 2,
	    "the waiting client was not served after the restart");
	json_decref(r);
	kill(pid, SIGTERM);
	status = h_wait_child(pid, H_TIMEOUT_MS);
	ck_assert(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	h_close(a);
	h_close(b);
	close(lfd);
	run(NULL, 0, "rm -rf %s", dir);
}
END_TEST

static Suite *
install_suite(void)
{
	Suite *s = suite_create("it_install");
	TCase *tc = tcase_create("installed tree");

	tcase_set_timeout(tc, 120);
	tcase_add_unchecked_fixture(tc, install_once, remove_install);
	tcase_add_test(tc, test_layout);
	tcase_add_test(tc, test_reinstall_and_uninstall);
	tcase_add_test(tc, test_pkgconfig_build);
	tcase_add_test(tc, test_install_lib_only);
	tcase_add_test(tc, test_uninstall_removes_created_dirs);
	/* Mount namespaces, a real `make install` and systemd-tmpfiles
	 * giving /run/crmpubsub to the crmpubsub user need root. */
	if (geteuid() == 0) {
		tcase_add_test(tc, test_sysusers_tmpfiles);
		tcase_add_test(tc, test_real_install_loads_without_ld_library_path);
	} else
		fprintf(stderr, "it_install: not root, the real install and "
		    "systemd-tmpfiles are not tried\n");
	tcase_add_test(tc, test_units_verify);
	tcase_add_test(tc, test_units_security);
	tcase_add_test(tc, test_units_content);
	tcase_add_test(tc, test_units_metrics);
	tcase_add_test(tc, test_config_example);
	tcase_add_test(tc, test_man_lint);
	tcase_add_test(tc, test_unit_execstart_socket_activated);
	tcase_add_test(tc, test_restart_keeps_socket_and_clients);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(install_suite());
	int failed;

	signal(SIGPIPE, SIG_IGN);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
