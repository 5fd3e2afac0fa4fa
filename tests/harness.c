/* SPDX-License-Identifier: MIT — crmpubsub */
/* Test harness: spawns the real crmpubsubd on a private socket and talks to it
 * over Unix sockets, every wait bounded by a deadline. */

#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "request.h"

#define H_POLL_STEP_NS	5000000L	/* 5 ms between readiness / exit probes */
#define H_DIR_PREFIX	"crmpubsub-test."

static int		 h_remaining(long long deadline);
static void		 h_nap(void);
static int		 h_exited(pid_t pid);
static int		 h_rm_entry(const char *, const struct stat *, int,
			     struct FTW *);
static int		 h_rm_rf(const char *path);
static int		 h_paths(struct h_daemon *d);
static void		 h_child_env(char *const *envp_extra);
static void		 h_close_fds(int keep_listen);
static int		 h_fork_exec(struct h_daemon *d, char **argv,
			     char *const *envp_extra);
static char		*h_find_line(struct h_conn *c);
static int		 h_fill(struct h_conn *c, int timeout_ms);
static void		 h_track(const struct h_daemon *d);
static void		 h_untrack(const struct h_daemon *d);
static void		 h_reap_leftovers(void);
static void		 h_mark_reaped(const struct h_daemon *d);
static void		 h_sweep_stale(void);

/*
 * Daemons started by this process and not yet stopped. A test process that
 * exits without stopping them (a failed assertion under CK_FORK=no, an early
 * exit) runs the exit handler, which kills what is left and removes the
 * private directories. check's forked tests end with _exit instead; for them
 * h_sweep_stale clears the directories later.
 */
#define H_MAX_TRACKED	64
static struct {
	pid_t	owner;
	pid_t	pid;
	char	dir[256];
} h_tracked[H_MAX_TRACKED];
static int h_atexit_set;

/* Writes to a daemon that already closed must fail with EPIPE, not kill us. */
__attribute__((constructor)) static void
h_ignore_sigpipe(void)
{
	signal(SIGPIPE, SIG_IGN);
}

/* Remembers a started daemon for h_reap_leftovers. */
static void
h_track(const struct h_daemon *d)
{
	int i;

	if (!h_atexit_set) {
		atexit(h_reap_leftovers);
		h_atexit_set = 1;
	}
	for (i = 0; i < H_MAX_TRACKED; i++) {
		if (h_tracked[i].dir[0] == '\0') {
			h_tracked[i].owner = getpid();
			h_tracked[i].pid = d->pid;
			memcpy(h_tracked[i].dir, d->dir, sizeof h_tracked[i].dir);
			return;
		}
	}
}

/* Forgets a daemon (matched by its directory). */
static void
h_untrack(const struct h_daemon *d)
{
	int i;

	for (i = 0; i < H_MAX_TRACKED; i++)
		if (h_tracked[i].dir[0] != '\0' &&
		    strcmp(h_tracked[i].dir, d->dir) == 0)
			memset(&h_tracked[i], 0, sizeof h_tracked[i]);
}

/* Records that a tracked daemon has been reaped (its dir may remain). */
static void
h_mark_reaped(const struct h_daemon *d)
{
	int i;

	for (i = 0; i < H_MAX_TRACKED; i++)
		if (h_tracked[i].dir[0] != '\0' &&
		    strcmp(h_tracked[i].dir, d->dir) == 0)
			h_tracked[i].pid = -1;
}

/* Exit handler: SIGKILLs and reaps leftover daemons, removes their dirs. */
static void
h_reap_leftovers(void)
{
	int i;

	for (i = 0; i < H_MAX_TRACKED; i++) {
		if (h_tracked[i].dir[0] == '\0' ||
		    h_tracked[i].owner != getpid())
			continue;
		if (h_tracked[i].pid > 0) {
			kill(h_tracked[i].pid, SIGKILL);
			waitpid(h_tracked[i].pid, NULL, 0);
		}
		h_rm_rf(h_tracked[i].dir);
		memset(&h_tracked[i], 0, sizeof h_tracked[i]);
	}
}

long long
h_now_ms(void)
{
	return (long long)h_now_msf();
}

double
h_now_msf(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Milliseconds left until deadline, never negative. */
static int
h_remaining(long long deadline)
{
	long long left = deadline - h_now_ms();

	if (left < 0)
		return 0;
	if (left > INT32_MAX)
		return INT32_MAX;
	return (int)left;
}

/* Short pause between two probes of a bounded poll. */
static void
h_nap(void)
{
	struct timespec ts = { 0, H_POLL_STEP_NS };

	nanosleep(&ts, NULL);
}

/* 1 when pid has exited (without reaping it), else 0. */
static int
h_exited(pid_t pid)
{
	siginfo_t si;

	memset(&si, 0, sizeof si);
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == -1)
		return errno == ECHILD;
	return si.si_pid == pid;
}

/* nftw callback: removes one entry, depth first. */
static int
h_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	remove(path);
	return 0;
}

/* rm -rf path. */
static int
h_rm_rf(const char *path)
{
	if (path[0] == '\0')
		return 0;
	return nftw(path, h_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *
h_daemon_bin(void)
{
	static char path[4096];
	const char *env = getenv("CRMPUBSUBD"), *build;

	if (env != NULL && *env != '\0')
		return env;
	build = getenv("CRMPUBSUB_BUILD");
	if (build == NULL || *build == '\0')
		build = ".";
	snprintf(path, sizeof path, "%s/daemon/crmpubsubd", build);
	return path;
}

/* Removes the private directories of test processes that no longer exist.
 * check ends a failed test with _exit, so neither its teardown nor our exit
 * handler runs; its daemons die with it (PR_SET_PDEATHSIG and check's kill
 * of the process group), and the next harness user clears the directory.
 * Directory names carry the owning pid: /tmp/crmpubsub-test.<pid>.XXXXXX */
static void
h_sweep_stale(void)
{
	static int swept;
	char path[512], *end;
	struct dirent *de;
	DIR *tmp;
	long owner;

	if (swept)
		return;
	swept = 1;
	if ((tmp = opendir("/tmp")) == NULL)
		return;
	while ((de = readdir(tmp)) != NULL) {
		if (strncmp(de->d_name, H_DIR_PREFIX, sizeof H_DIR_PREFIX - 1)
		    != 0)
			continue;
		owner = strtol(de->d_name + sizeof H_DIR_PREFIX - 1, &end, 10);
		if (owner <= 0 || *end != '.')
			continue;
		if (kill((pid_t)owner, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(path, sizeof path, "/tmp/%s", de->d_name);
		h_rm_rf(path);
	}
	closedir(tmp);
}

/* Makes the private directory and fills in the paths inside it. */
static int
h_paths(struct h_daemon *d)
{
	h_sweep_stale();
	memset(d, 0, sizeof *d);
	d->pid = -1;
	snprintf(d->dir, sizeof d->dir, "/tmp/" H_DIR_PREFIX "%ld.XXXXXX",
	    (long)getpid());
	if (mkdtemp(d->dir) == NULL) {
		d->dir[0] = '\0';
		return -1;
	}
	snprintf(d->sock, sizeof d->sock, "%s/crmpubsub.sock", d->dir);
	snprintf(d->log, sizeof d->log, "%s/stderr.log", d->dir);
	snprintf(d->config, sizeof d->config, "%s/crmpubsubd.conf", d->dir);
	return 0;
}

/* In the child: drops variables that would change the daemon's behaviour,
 * then applies the caller's extras. With LISTEN_FDS among the extras,
 * LISTEN_PID is set to the child's own pid (the caller cannot know it). */
static void
h_child_env(char *const *envp_extra)
{
	char pidbuf[32];
	int listen = 0;

	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDNAMES");
	unsetenv("NOTIFY_SOCKET");
	unsetenv("CRMPUBSUB_SOCKET");
	for (; envp_extra != NULL && *envp_extra != NULL; envp_extra++) {
		putenv(*envp_extra);
		if (strncmp(*envp_extra, "LISTEN_FDS=", 11) == 0)
			listen = 1;
	}
	if (listen) {
		snprintf(pidbuf, sizeof pidbuf, "%ld", (long)getpid());
		setenv("LISTEN_PID", pidbuf, 1);
	}
}

/* In the child: closes inherited descriptors from 3 up, sparing the
 * keep_listen descriptors that socket activation passes at 3, 4, … */
static void
h_close_fds(int keep_listen)
{
	long max = sysconf(_SC_OPEN_MAX);
	int fd;

	if (max < 0 || max > 65536)
		max = 65536;
	for (fd = 3 + keep_listen; fd < max; fd++)
		close(fd);
}

/* Forks; the child redirects stdio and execs argv. */
static int
h_fork_exec(struct h_daemon *d, char **argv, char *const *envp_extra)
{
	pid_t parent = getpid(), pid;
	int logfd, nullfd, keep = 0;
	const char *lf;

	logfd = open(d->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (logfd == -1)
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid == -1) {
		close(logfd);
		return -1;
	}
	if (pid == 0) {
		/* A test killed by its timeout must not leave a daemon behind. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		signal(SIGPIPE, SIG_DFL);
		nullfd = open("/dev/null", O_RDWR);
		if (nullfd != -1) {
			dup2(nullfd, STDIN_FILENO);
			dup2(nullfd, STDOUT_FILENO);
		}
		dup2(logfd, STDERR_FILENO);
		h_child_env(envp_extra);
		lf = getenv("LISTEN_FDS");
		if (lf != NULL)
			keep = atoi(lf);
		h_close_fds(keep < 0 ? 0 : keep);
		execv(argv[0], argv);
		dprintf(STDERR_FILENO, "harness: exec %s: %s\n", argv[0],
		    strerror(errno));
		_exit(127);
	}
	close(logfd);
	d->pid = pid;
	h_track(d);
	return 0;
}

int
h_daemon_spawn(struct h_daemon *d, const char *const *argv_tail,
    char *const *envp_extra)
{
	char **argv;
	size_t n = 0, i;
	int rc;

	if (h_paths(d) == -1)
		return -1;
	while (argv_tail != NULL && argv_tail[n] != NULL)
		n++;
	if ((argv = calloc(n + 2, sizeof *argv)) == NULL)
		return -1;
	argv[0] = (char *)h_daemon_bin();
	for (i = 0; i < n; i++)
		argv[i + 1] = (char *)argv_tail[i];
	rc = h_fork_exec(d, argv, envp_extra);
	free(argv);
	return rc;
}

int
h_daemon_start(struct h_daemon *d, const char *const *args)
{
	/* Sanitizer builds start slower; a generous bound costs nothing. */
	int ready_ms = 4 * H_TIMEOUT_MS, rc;
	size_t n = 0, i;
	char **argv;

	while (args != NULL && args[n] != NULL)
		n++;
	if (h_paths(d) == -1)
		return -1;
	if ((argv = calloc(n + 4, sizeof *argv)) == NULL) {
		h_rm_rf(d->dir);
		return -1;
	}
	argv[0] = (char *)h_daemon_bin();
	argv[1] = (char *)"-s";
	argv[2] = d->sock;
	for (i = 0; i < n; i++)
		argv[i + 3] = (char *)args[i];
	rc = h_fork_exec(d, argv, NULL);
	free(argv);
	if (rc == -1) {
		h_rm_rf(d->dir);
		return -1;
	}
	return h_daemon_wait_ready(d, ready_ms);
}

int
h_daemon_start_on(struct h_daemon *d, const char *sock,
    const char *const *args)
{
	const char	**argv;
	size_t		  n = 0, i;
	int		  rc;

	while (args != NULL && args[n] != NULL)
		n++;
	if ((argv = calloc(n + 3, sizeof *argv)) == NULL)
		return -1;
	argv[0] = "-s";
	argv[1] = sock;
	for (i = 0; i < n; i++)
		argv[i + 2] = args[i];
	rc = h_daemon_spawn(d, argv, NULL);
	free(argv);
	if (rc == -1)
		return -1;
	snprintf(d->sock, sizeof d->sock, "%s", sock);
	return h_daemon_wait_ready(d, 4 * H_TIMEOUT_MS);
}

void
h_daemon_pair_stop(struct h_daemon *first, struct h_daemon *second)
{
	h_daemon_stop_clean(second);
	h_daemon_stop_clean(first);
	memset(first, 0, sizeof *first);
	memset(second, 0, sizeof *second);
}

int
h_daemon_wait_ready(struct h_daemon *d, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;
	struct sockaddr_un sun;
	int fd, rc;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(d->sock) >= sizeof sun.sun_path)
		return -1;
	strcpy(sun.sun_path, d->sock);
	for (;;) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd == -1)
			return -1;
		rc = connect(fd, (struct sockaddr *)&sun, sizeof sun);
		close(fd);
		if (rc == 0)
			return 0;
		if (d->pid > 0 && h_exited(d->pid))
			return -1;
		if (h_remaining(deadline) == 0)
			return -1;
		h_nap();
	}
}

int
h_daemon_wait_exit(struct h_daemon *d, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;
	int status;
	pid_t r;

	if (d->pid <= 0)
		return -1;
	for (;;) {
		r = waitpid(d->pid, &status, WNOHANG);
		if (r == d->pid) {
			h_mark_reaped(d);
			d->pid = -1;
			return status;
		}
		if (r == -1 && errno != EINTR) {
			d->pid = -1;
			return -1;
		}
		if (h_remaining(deadline) == 0)
			return -1;
		h_nap();
	}
}

int
h_daemon_stop(struct h_daemon *d, int sig, int timeout_ms)
{
	int status = -1;

	if (d->pid > 0) {
		kill(d->pid, sig);
		status = h_daemon_wait_exit(d, timeout_ms);
		if (status == -1 && d->pid > 0) {
			kill(d->pid, SIGKILL);
			while (waitpid(d->pid, NULL, 0) == -1 && errno == EINTR)
				;
			d->pid = -1;
		}
	}
	h_untrack(d);
	h_rm_rf(d->dir);
	return status;
}

int
h_write_config(struct h_daemon *d, const char *text)
{
	FILE *f = fopen(d->config, "w");
	int rc = 0;

	if (f == NULL)
		return -1;
	if (fputs(text, f) == EOF)
		rc = -1;
	if (fclose(f) == EOF)
		rc = -1;
	return rc;
}

long
h_rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL) {
		if (strncmp(line, "VmRSS:", 6) == 0) {
			kib = strtol(line + 6, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kib;
}

int
h_fd_count(pid_t pid)
{
	char path[64];
	struct dirent *de;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof path, "/proc/%ld/fd", (long)pid);
	if ((dir = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(dir)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(dir);
	return n;
}

struct h_conn *
h_connect(const char *sock)
{
	long long deadline = h_now_ms() + H_TIMEOUT_MS;
	struct sockaddr_un sun;
	struct pollfd pfd;
	struct h_conn *c;
	socklen_t len;
	int fd, err;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(sock) >= sizeof sun.sun_path)
		return NULL;
	strcpy(sun.sun_path, sock);
	for (;;) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
		if (fd == -1)
			return NULL;
		if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0)
			break;
		err = errno;
		if (err == EINPROGRESS) {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			if (poll(&pfd, 1, h_remaining(deadline)) == 1) {
				len = sizeof err;
				getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
				if (err == 0)
					break;
			}
		}
		close(fd);
		/* A full backlog (EAGAIN) clears as the daemon accepts. */
		if ((err != EAGAIN && err != EINPROGRESS) ||
		    h_remaining(deadline) == 0)
			return NULL;
		h_nap();
	}
	if ((c = malloc(sizeof *c)) == NULL) {
		close(fd);
		return NULL;
	}
	c->fd = fd;
	c->len = 0;
	return c;
}

void
h_close(struct h_conn *c)
{
	if (c == NULL)
		return;
	close(c->fd);
	free(c);
}

int
h_send(struct h_conn *c, const void *data, size_t len)
{
	long long deadline = h_now_ms() + H_TIMEOUT_MS;
	const char *p = data;
	struct pollfd pfd;
	ssize_t n;

	while (len > 0) {
		n = send(c->fd, p, len, MSG_NOSIGNAL);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		pfd.fd = c->fd;
		pfd.events = POLLOUT;
		if (h_remaining(deadline) == 0 ||
		    poll(&pfd, 1, h_remaining(deadline)) == 0)
			return -1;
	}
	return 0;
}

int
h_send_line(struct h_conn *c, const char *line)
{
	size_t n = strlen(line);
	char *tmp;
	int rc;

	/* One write per line, so a request is never split by the harness. */
	if ((tmp = malloc(n + 1)) == NULL)
		return -1;
	memcpy(tmp, line, n);
	tmp[n] = '\n';
	rc = h_send(c, tmp, n + 1);
	free(tmp);
	return rc;
}

/* Newline of the first complete buffered line, or NULL. */
static char *
h_find_line(struct h_conn *c)
{
	return memchr(c->buf, '\n', c->len);
}

/* Reads more bytes into the buffer: 1 read, 0 timeout, -2 EOF/error/full. */
static int
h_fill(struct h_conn *c, int timeout_ms)
{
	struct pollfd pfd;
	ssize_t n;
	int r;

	if (c->len == sizeof c->buf)
		return -2;
	pfd.fd = c->fd;
	pfd.events = POLLIN;
	for (;;) {
		r = poll(&pfd, 1, timeout_ms);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -2;
		if (r == 0)
			return 0;
		break;
	}
	for (;;) {
		n = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
		if (n > 0) {
			c->len += (size_t)n;
			return 1;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		return -2;
	}
}

long
h_recv_line(struct h_conn *c, char *out, size_t cap, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;
	size_t linelen, copy;
	char *nl;
	int r;

	while ((nl = h_find_line(c)) == NULL) {
		r = h_fill(c, h_remaining(deadline));
		if (r == -2)
			return -2;
		if (r == 0 && h_remaining(deadline) == 0)
			return -1;
	}
	linelen = (size_t)(nl - c->buf);
	copy = linelen;
	if (cap == 0)
		copy = 0;
	else if (copy > cap - 1)
		copy = cap - 1;
	if (cap > 0) {
		memcpy(out, c->buf, copy);
		out[copy] = '\0';
	}
	c->len -= linelen + 1;
	memmove(c->buf, nl + 1, c->len);
	return (long)copy;
}

json_t *
h_recv_json(struct h_conn *c, int timeout_ms)
{
	size_t cap = sizeof c->buf + 1;
	char *line = malloc(cap);
	json_t *j = NULL;
	long n;

	if (line == NULL)
		return NULL;
	n = h_recv_line(c, line, cap, timeout_ms);
	if (n >= 0)
		j = json_loadb(line, (size_t)n, 0, NULL);
	free(line);
	return j;
}

long
h_recv_long_line(struct h_conn *c, char **out, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;
	size_t len = 0, cap = 0, take;
	char *line = NULL, *nl, *p;
	int r;

	for (;;) {
		nl = h_find_line(c);
		take = nl != NULL ? (size_t)(nl - c->buf) : c->len;
		if (len + take + 1 > cap) {
			cap = 2 * (len + take + 1);
			if ((p = realloc(line, cap)) == NULL) {
				free(line);
				return -2;
			}
			line = p;
		}
		memcpy(line + len, c->buf, take);
		len += take;
		c->len -= take + (nl != NULL);
		memmove(c->buf, c->buf + take + (nl != NULL), c->len);
		if (nl != NULL)
			break;
		r = h_fill(c, h_remaining(deadline));
		if (r == -2 || (r == 0 && h_remaining(deadline) == 0)) {
			free(line);
			return r == -2 ? -2 : -1;
		}
	}
	line[len] = '\0';
	*out = line;
	return (long)len;
}

json_t *
h_recv_long_reply(struct h_conn *c, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;
	char *line;
	json_t *j;
	long n;

	for (;;) {
		if ((n = h_recv_long_line(c, &line, h_remaining(deadline))) < 0)
			return NULL;
		j = json_loadb(line, (size_t)n, 0, NULL);
		free(line);
		if (j == NULL || json_object_get(j, "ok") != NULL)
			return j;
		json_decref(j);
	}
}

json_t *
h_recv_reply(struct h_conn *c, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;
	json_t *j;

	for (;;) {
		j = h_recv_json(c, h_remaining(deadline));
		if (j == NULL)
			return NULL;
		if (json_object_get(j, "ok") != NULL)
			return j;
		json_decref(j);
	}
}

json_t *
h_recv_push(struct h_conn *c, int timeout_ms)
{
	json_t *j = h_recv_json(c, timeout_ms);

	if (j != NULL && json_object_get(j, "type") == NULL) {
		json_decref(j);
		return NULL;
	}
	return j;
}

json_t *
h_request(struct h_conn *c, const char *line)
{
	if (h_send_line(c, line) == -1)
		return NULL;
	return h_recv_reply(c, H_TIMEOUT_MS);
}

/* Formats and sends one request; its reply, or NULL. */
static json_t *
h_vrequest(struct h_conn *c, const char *fmt, va_list ap)
{
	char *line;
	json_t *j;

	if (vasprintf(&line, fmt, ap) < 0)
		return NULL;
	j = h_request(c, line);
	free(line);
	return j;
}

json_t *
h_requestf(struct h_conn *c, const char *fmt, ...)
{
	va_list ap;
	json_t *j;

	va_start(ap, fmt);
	j = h_vrequest(c, fmt, ap);
	va_end(ap);
	return j;
}

void
h_put_subscribe(struct buf *b, unsigned long first, unsigned long n)
{
	struct topic_key	*keys = calloc(n ? n : 1, sizeof *keys);
	char			 u[37];
	uint8_t			 bin[16];
	unsigned long		 i;

	ck_assert_ptr_nonnull(keys);
	for (i = 0; i < n; i++) {
		h_uuid(first + i, u);
		ck_assert_int_eq(uuid_canon_parse(u, 36, bin), 0);
		topic_contact_interactions(bin, &keys[i]);
	}
	ck_assert_uint_eq(request_topics(b, OP_SUBSCRIBE, keys, n, SIZE_MAX),
	    n);
	free(keys);
}

void
h_put_broadcast(struct buf *b, enum crm_event e, unsigned long iuuid,
    unsigned long first, unsigned long n)
{
	char		 (*u)[37] = calloc(n + 1, sizeof *u);
	const char	**list = calloc(n ? n : 1, sizeof *list);
	const char	 *why;
	unsigned long	  i;

	ck_assert(u != NULL && list != NULL);
	h_uuid(iuuid, u[n]);
	for (i = 0; i < n; i++) {
		h_uuid(first + i, u[i]);
		list[i] = u[i];
	}
	ck_assert_msg(request_broadcast_to_contacts(b, e, u[n], list, n,
	    &why) == 0, "%s", why);
	free(list);
	free(u);
}

/* Sends the one line in b (freeing b) and returns the reply. */
static json_t *
h_request_buf(struct h_conn *c, struct buf *b)
{
	int	sent = h_send(c, buf_head(b), buf_len(b));

	buf_free(b);
	return sent == 0 ? h_recv_reply(c, 4 * H_TIMEOUT_MS) : NULL;
}

json_t *
h_subscribe_range(struct h_conn *c, unsigned long first, unsigned long n)
{
	struct buf	b = BUF_INIT;

	h_put_subscribe(&b, first, n);
	return h_request_buf(c, &b);
}

json_t *
h_broadcast_range(struct h_conn *c, unsigned long iuuid, unsigned long first,
    unsigned long n)
{
	struct buf	b = BUF_INIT;

	h_put_broadcast(&b, EVENT_INTERACTION_CREATED, iuuid, first, n);
	return h_request_buf(c, &b);
}

long long
h_expect_okf(struct h_conn *c, const char *key, const char *fmt, ...)
{
	va_list ap;
	json_t *r;
	long long v = -1;

	va_start(ap, fmt);
	r = h_vrequest(c, fmt, ap);
	va_end(ap);
	ck_assert_msg(h_is_ok(r), "wanted ok: %s", h_dump(r));
	if (key != NULL)
		v = h_int(r, key);
	json_decref(r);
	return v;
}

void
h_expect_errorf(struct h_conn *c, const char *code, const char *fmt, ...)
{
	va_list ap;
	json_t *r;

	va_start(ap, fmt);
	r = h_vrequest(c, fmt, ap);
	va_end(ap);
	ck_assert_msg(h_is_error(r, code), "wanted %s: %s", code, h_dump(r));
	json_decref(r);
}

int
h_silent(struct h_conn *c, int ms)
{
	long long deadline = h_now_ms() + ms;
	size_t before = c->len;
	int r;

	if (h_find_line(c) != NULL)
		return 0;
	for (;;) {
		r = h_fill(c, h_remaining(deadline));
		if (r != 0 || c->len != before)
			return 0;
		if (h_remaining(deadline) == 0)
			return 1;
	}
}

int
h_wait_eof(struct h_conn *c, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;
	int r;

	for (;;) {
		c->len = 0;
		r = h_fill(c, h_remaining(deadline));
		if (r == -2) {
			c->len = 0;
			return 1;
		}
		if (r == 0 && h_remaining(deadline) == 0)
			return 0;
	}
}

int
h_is_ok(const json_t *reply)
{
	return reply != NULL && json_is_true(json_object_get(reply, "ok"));
}

int
h_is_error(const json_t *reply, const char *code)
{
	const char *e;

	if (reply == NULL || !json_is_false(json_object_get(reply, "ok")))
		return 0;
	e = h_str(reply, "error");
	return e != NULL && strcmp(e, code) == 0;
}

long long
h_int(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_integer(v))
		return -1;
	return json_integer_value(v);
}

const char *
h_str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

void
h_uuid(unsigned long n, char out[37])
{
	snprintf(out, 37, "0190a5b2-7c1e-7a01-8f00-%012lx",
	    n & 0xffffffffffffUL);
}

void
h_topic(unsigned long n, char out[80])
{
	char u[37];

	h_uuid(n, u);
	snprintf(out, 80, "crm:contact:%s:interactions", u);
}

void
h_nap_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

const char *
h_dump(const json_t *j)
{
	char *s;

	if (j == NULL)
		return "(no reply)";
	s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
	return s != NULL ? s : "(unprintable)";
}

void
h_show_log(const struct h_daemon *d)
{
	char buf[4096];
	size_t n;
	FILE *f = fopen(d->log, "r");

	if (f == NULL)
		return;
	fprintf(stderr, "--- %s ---\n", d->log);
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		fwrite(buf, 1, n, stderr);
	fclose(f);
}

char *
h_read_file(const char *path)
{
	FILE	*f = fopen(path, "r");
	char	*text = NULL, *p;
	size_t	 len = 0, cap = 0, n;

	if (f == NULL)
		return NULL;
	do {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 8192;
			if ((p = realloc(text, cap)) == NULL) {
				free(text);
				fclose(f);
				return NULL;
			}
			text = p;
		}
		n = fread(text + len, 1, cap - len - 1, f);
		len += n;
	} while (n > 0);
	fclose(f);
	text[len] = '\0';
	return text;
}

int
h_log_contains(const struct h_daemon *d, const char *needle)
{
	char	*log = h_read_file(d->log);
	int	 found = log != NULL && strstr(log, needle) != NULL;

	free(log);
	return found;
}

/* h_wait_until's probe of h_wait_log. */
struct h_log_wait {
	const struct h_daemon	*d;
	const char		*needle;
};

static int
h_log_reached(void *arg)
{
	const struct h_log_wait	*w = arg;

	return h_log_contains(w->d, w->needle);
}

int
h_wait_log(const struct h_daemon *d, const char *needle, int timeout_ms)
{
	struct h_log_wait	w = { d, needle };

	return h_wait_until(h_log_reached, &w, timeout_ms, 5);
}

void
h_daemon_start_or_fail(struct h_daemon *d, const char *const *args)
{
	ck_assert_msg(h_daemon_start(d, args) == 0,
	    "daemon %s did not become ready", h_daemon_bin());
}

void
h_daemon_stop_clean(struct h_daemon *d)
{
	int status;

	if (d->pid <= 0) {
		h_daemon_stop(d, SIGKILL, 0);	/* its directory, if any */
		return;
	}
	kill(d->pid, SIGTERM);
	status = h_daemon_wait_exit(d, 3 * H_TIMEOUT_MS);
	if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		h_show_log(d);
	h_daemon_stop(d, SIGKILL, H_TIMEOUT_MS);
	ck_assert_msg(status != -1 && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0, "daemon exit status %#x after SIGTERM",
	    (unsigned)status);
}

void
h_assert_clean_exit(const struct h_daemon *d, int status)
{
	if (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return;
	h_show_log(d);
	ck_abort_msg("daemon exit status %#x, not a clean exit",
	    (unsigned)status);
}

struct h_conn *
h_connect_or_fail(const char *sock)
{
	struct h_conn *c = h_connect(sock);

	ck_assert_msg(c != NULL, "connect to %s failed", sock);
	return c;
}

long long
h_stat(struct h_conn *c, const char *key)
{
	json_t *r = h_request(c, "{\"op\":\"stats\"}");
	long long v = -1;

	if (h_is_ok(r))
		v = h_int(json_object_get(r, "stats"), key);
	json_decref(r);
	return v;
}

int
h_wait_until(int (*done)(void *), void *arg, int timeout_ms, int nap_ms)
{
	long long deadline = h_now_ms() + timeout_ms;

	for (;;) {
		if (done(arg))
			return 1;
		if (h_now_ms() >= deadline)
			return 0;
		h_nap_ms(nap_ms);
	}
}

/* What h_wait_stat waits for. */
struct h_stat_goal {
	struct h_conn	*c;
	const char	*key;
	long long	 want;
};

static int
h_stat_reached(void *arg)
{
	struct h_stat_goal *g = arg;

	return h_stat(g->c, g->key) == g->want;
}

int
h_wait_stat(struct h_conn *c, const char *key, long long want,
    int timeout_ms)
{
	struct h_stat_goal g = { c, key, want };

	return h_wait_until(h_stat_reached, &g, timeout_ms, 10);
}

/* What h_wait_fds waits for. */
struct h_fds_goal {
	pid_t	pid;
	int	want;
};

static int
h_fds_reached(void *arg)
{
	struct h_fds_goal *g = arg;

	return h_fd_count(g->pid) == g->want;
}

int
h_wait_fds(pid_t pid, int want, int timeout_ms)
{
	struct h_fds_goal g = { pid, want };

	return h_wait_until(h_fds_reached, &g, timeout_ms, 10);
}

int
h_wait_listening(const char *path, int timeout_ms, int pause_us)
{
	long long deadline = h_now_ms() + timeout_ms;
	struct timespec pause = { pause_us / 1000000,
	    (long)(pause_us % 1000000) * 1000L };
	struct sockaddr_un sun;
	int fd, rc;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	ck_assert_uint_lt(strlen(path), sizeof sun.sun_path);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	for (;;) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ck_assert_int_ne(fd, -1);
		rc = connect(fd, (struct sockaddr *)&sun, sizeof sun);
		close(fd);
		if (rc == 0)
			return 1;
		if (h_now_ms() >= deadline)
			return 0;
		nanosleep(&pause, NULL);
	}
}

long long
h_stat_or_fail(struct h_conn *c, const char *key)
{
	json_t *r = h_request(c, "{\"op\":\"stats\"}");
	long long v = h_int(json_object_get(r, "stats"), key);

	ck_assert_msg(v >= 0, "stats.%s: %s", key, h_dump(r));
	json_decref(r);
	return v;
}

void
h_scratch_make(char *dir, size_t cap, const char *tag)
{
	snprintf(dir, cap, "/tmp/crmpubsub-%s.XXXXXX", tag);
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

void
h_scratch_remove(const char *dir)
{
	char cmd[300];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

int
h_wait_child(pid_t pid, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;
	int status;

	for (;;) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		if (h_now_ms() >= deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		h_nap_ms(5);
	}
}

int
h_notify_bind(const char *path)
{
	struct sockaddr_un sun;
	socklen_t len;
	int fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	ck_assert_uint_lt(strlen(path), sizeof sun.sun_path);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	else
		len++;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, len), 0);
	return fd;
}

int
h_notify_wait(int fd, const char *what, int timeout_ms)
{
	long long deadline = h_now_ms() + timeout_ms;
	size_t wl = strlen(what);
	struct pollfd pfd;
	char buf[4096], *p;
	ssize_t n;

	for (;;) {
		long long left = deadline - h_now_ms();

		if (left <= 0)
			return 0;
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		n = recv(fd, buf, sizeof buf - 1, 0);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		for (p = buf; p != NULL && *p != '\0';) {
			if (strncmp(p, what, wl) == 0 &&
			    (p[wl] == '\n' || p[wl] == '\0'))
				return 1;
			p = strchr(p, '\n');
			if (p != NULL)
				p++;
		}
	}
}

struct h_daemon	h_test_daemon;

void
h_test_up(const char *const *args)
{
	h_daemon_start_or_fail(&h_test_daemon, args);
}

void
h_test_down(void)
{
	h_daemon_stop_clean(&h_test_daemon);
}

struct h_conn *
h_test_conn(void)
{
	return h_connect_or_fail(h_test_daemon.sock);
}

int
h_run_suite(Suite *s)
{
	SRunner	*sr = srunner_create(s);
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

void
h_expect_line(struct h_conn *c, const char *want)
{
	char got[8192];
	long n = h_recv_line(c, got, sizeof got, H_TIMEOUT_MS);

	ck_assert_msg(n >= 0, "no line (%ld), wanted %s", n, want);
	ck_assert_str_eq(got, want);
}
