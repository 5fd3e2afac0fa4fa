/* SPDX-License-Identifier: MIT — crmpubsub */
/* Helpers of the suites around /metrics: HTTP over TCP or a Unix socket,
 * the exposition read back, and child processes. Every wait is bounded. */

#include <sys/prctl.h>
#include <sys/socket.h>
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

#define HM_MAX_RESPONSE	(4 << 20)

int
hm_connect(const char *where)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_un	*sun = (struct sockaddr_un *)&ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	socklen_t		 len;
	const char		*colon;
	char			 host[64];
	struct pollfd		 pfd;
	int			 fd, err = 0;
	socklen_t		 errlen = sizeof err;

	memset(&ss, 0, sizeof ss);
	if (strncmp(where, "unix:", 5) == 0) {
		if (strlen(where + 5) >= sizeof sun->sun_path)
			return -1;
		sun->sun_family = AF_UNIX;
		memcpy(sun->sun_path, where + 5, strlen(where + 5));
		len = sizeof *sun;
	} else {
		if ((colon = strrchr(where, ':')) == NULL ||
		    (size_t)(colon - where) >= sizeof host)
			return -1;
		memcpy(host, where, (size_t)(colon - where));
		host[colon - where] = '\0';
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)atoi(colon + 1));
		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			return -1;
		len = sizeof *sin;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&ss, len) == -1) {
		if (errno != EINPROGRESS && errno != EAGAIN) {
			close(fd);
			return -1;
		}
		/* A full backlog: wait (bounded) until accepted. */
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, H_TIMEOUT_MS) != 1 ||
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) == -1 ||
		    err != 0) {
			close(fd);
			return -1;
		}
	}
	return fd;
}

/* Appends what fd sends until EOF, at most until deadline. 0 at EOF. */
static int
hm_read_all(int fd, struct hm_reply *r, long long deadline)
{
	struct pollfd	pfd = { fd, POLLIN, 0 };
	ssize_t		n;
	char		*p;

	for (;;) {
		long long left = deadline - h_now_ms();

		if (left <= 0 || poll(&pfd, 1, (int)left) != 1)
			return -1;
		if (r->len + 65536 > HM_MAX_RESPONSE)
			return -1;
		if ((p = realloc(r->text, r->len + 65536 + 1)) == NULL)
			return -1;
		r->text = p;
		n = read(fd, r->text + r->len, 65536);
		if (n == 0)
			return 0;
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return errno == ECONNRESET ? 0 : -1;
		}
		r->len += (size_t)n;
		r->text[r->len] = '\0';
	}
}

int
hm_exchange(const char *where, const char *request, struct hm_reply *r,
    int timeout_ms)
{
	long long	 deadline = h_now_ms() + timeout_ms;
	size_t		 off = 0, len = strlen(request);
	struct pollfd	 pfd;
	ssize_t		 n;
	char		*sep;
	int		 fd, rc = -1;

	memset(r, 0, sizeof *r);
	if ((fd = hm_connect(where)) == -1)
		return -1;
	while (off < len) {
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, (int)(deadline - h_now_ms())) != 1)
			goto out;
		n = send(fd, request + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			goto out;
		if (n > 0)
			off += (size_t)n;
	}
	if (hm_read_all(fd, r, deadline) == -1 || r->text == NULL)
		goto out;
	if (sscanf(r->text, "HTTP/1.%*d %d", &r->status) != 1)
		r->status = 0;
	sep = strstr(r->text, "\r\n\r\n");
	r->body = sep != NULL ? sep + 4 : r->text + r->len;
	rc = 0;
out:
	close(fd);
	return rc;
}

int
hm_get(const char *where, const char *path, struct hm_reply *r,
    int timeout_ms)
{
	char	request[2048];

	snprintf(request, sizeof request, "GET %s HTTP/1.0\r\nHost: test\r\n"
	    "\r\n", path);
	return hm_exchange(where, request, r, timeout_ms);
}

void
hm_reply_free(struct hm_reply *r)
{
	free(r->text);
	memset(r, 0, sizeof *r);
}

char *
hm_scrape(const char *where)
{
	struct hm_reply	 r;
	char		*body;

	ck_assert_msg(hm_get(where, "/metrics", &r, H_TIMEOUT_MS) == 0,
	    "no answer from %s/metrics", where);
	ck_assert_msg(r.status == 200, "GET /metrics: %s", r.text);
	ck_assert_msg(strstr(r.text, "\r\nContent-Type: text/plain; "
	    "version=0.0.4") != NULL, "content type: %s", r.text);
	body = strdup(r.body);
	hm_reply_free(&r);
	ck_assert_ptr_nonnull(body);
	return body;
}

void
hm_metrics_where(const struct h_daemon *d, char *out, size_t cap)
{
	static const char	 mark[] = "serving /metrics on ";
	long long		 deadline = h_now_ms() + H_TIMEOUT_MS;
	char			 line[1024], *p;
	FILE			*f;

	while (h_now_ms() < deadline) {
		if ((f = fopen(d->log, "r")) != NULL) {
			while (fgets(line, sizeof line, f) != NULL)
				if ((p = strstr(line, mark)) != NULL) {
					p += sizeof mark - 1;
					p[strcspn(p, "\n")] = '\0';
					snprintf(out, cap, "%s", p);
					fclose(f);
					return;
				}
			fclose(f);
		}
		h_nap_ms(10);
	}
	h_show_log(d);
	ck_abort_msg("the daemon's log never said '%s'", mark);
}

double
hm_sample(const char *text, const char *sample)
{
	size_t		 n = strlen(sample);
	const char	*p;

	for (p = text; p != NULL && *p != '\0'; p = strchr(p, '\n'),
	    p = p != NULL ? p + 1 : NULL)
		if (strncmp(p, sample, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	return -1;
}

char *
hm_shape(const char *text)
{
	char		*out = malloc(strlen(text) + 1), *o = out;
	const char	*p, *end, *cut;

	ck_assert_ptr_nonnull(out);
	for (p = text; *p != '\0'; p = *end != '\0' ? end + 1 : end) {
		end = p + strcspn(p, "\n");
		cut = end;
		if (*p != '#') {	/* a sample: drop " value" */
			while (cut > p && cut[-1] != ' ')
				cut--;
			if (cut > p)
				cut--;
		}
		memcpy(o, p, (size_t)(cut - p));
		o += cut - p;
		*o++ = '\n';
	}
	*o = '\0';
	return out;
}

const char *
hm_first_difference(const char *a, const char *b, char *out, size_t cap)
{
	int	line = 1;
	size_t	la, lb;

	out[0] = '\0';
	while (*a != '\0' || *b != '\0') {
		la = strcspn(a, "\n");
		lb = strcspn(b, "\n");
		if (la != lb || strncmp(a, b, la) != 0) {
			snprintf(out, cap, "line %d: %.*s | %.*s", line,
			    (int)(la > 200 ? 200 : la), a,
			    (int)(lb > 200 ? 200 : lb), b);
			break;
		}
		a += la + (a[la] != '\0');
		b += lb + (b[lb] != '\0');
		line++;
	}
	return out;
}

const char *
hm_which(const char *name, char *out, size_t cap)
{
	const char	*path = getenv("PATH");
	char		 dirs[4096], *dir, *save = NULL;

	snprintf(dirs, sizeof dirs, "%s", path != NULL ? path : "/usr/bin:/bin");
	for (dir = strtok_r(dirs, ":", &save); dir != NULL;
	    dir = strtok_r(NULL, ":", &save)) {
		snprintf(out, cap, "%s/%s", dir, name);
		if (access(out, X_OK) == 0)
			return out;
	}
	return NULL;
}

int
hm_need(const char *tool)
{
	const char	*ci = getenv("CI");
	char		 path[4096];

	if (hm_which(tool, path, sizeof path) != NULL)
		return 1;
	ck_assert_msg(ci == NULL || strcmp(ci, "true") != 0,
	    "%s is missing under CI (tools/deps.sh check installs it)", tool);
	printf("skipped: %s is missing (tools/deps.sh check installs it)\n",
	    tool);
	return 0;
}

int
hm_promtool_check(const char *text, char *out, size_t cap)
{
	char	 dir[256], file[320], cmd[800];
	FILE	*f;
	size_t	 n;
	int	 rc;

	if (!hm_need("promtool"))
		return 1;
	h_scratch_make(dir, sizeof dir, "promtool");
	snprintf(file, sizeof file, "%s/metrics.txt", dir);
	ck_assert_ptr_nonnull(f = fopen(file, "w"));
	fputs(text, f);
	fclose(f);
	snprintf(cmd, sizeof cmd, "timeout 30 promtool check metrics "
	    "<'%s' 2>&1", file);
	ck_assert_ptr_nonnull(f = popen(cmd, "r"));
	n = fread(out, 1, cap - 1, f);
	out[n] = '\0';
	rc = pclose(f);
	h_scratch_remove(dir);
	return rc == 0 ? 0 : -1;
}

pid_t
hm_spawn(const char *const *argv, const char *log)
{
	pid_t	pid = fork();
	int	fd;

	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if ((fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600)) != -1) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		fd = open("/dev/null", O_RDONLY);
		if (fd != -1)
			dup2(fd, 0);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

pid_t
hm_redis_start(const char *dir, char *sock, size_t cap)
{
	const char	*argv[] = { "redis-server", "--port", "0", "--unixsocket",
	    sock, "--save", "", "--appendonly", "no", "--dir", dir, NULL };
	char		 log[400];
	pid_t		 pid;

	snprintf(sock, cap, "%s/redis.sock", dir);
	snprintf(log, sizeof log, "%s/redis.log", dir);
	pid = hm_spawn(argv, log);
	ck_assert_msg(h_wait_listening(sock, 4 * H_TIMEOUT_MS, 5000),
	    "redis-server did not start (%s)", log);
	return pid;
}

void
hm_stop(pid_t pid, int timeout_ms)
{
	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	if (h_wait_child(pid, timeout_ms) == -1)
		ck_abort_msg("pid %ld ignored SIGTERM", (long)pid);
}
