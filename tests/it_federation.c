/* SPDX-License-Identifier: MIT — crmpubsub */
/* Integration suite for federation: real redis-server on a private Unix
 * socket, several real daemons linked through it; delivery across daemons
 * exactly once, interest-based channel subscriptions, and Redis faults. */

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "fakeredis.h"
#include "harness.h"

#define NDAEMONS	3
#define PREFIX		"crmpubsub:"
#define CONVERGE_MS	5000	/* bound for Redis-side convergence */
#define QUIET_MS	150	/* "nothing more arrives" window */

/* One redis-server owned by the test. */
struct redis {
	pid_t	pid;
	char	dir[256];
	char	sock[320];
	char	log[320];
};

static struct redis	redis_;
static const char	*redis_password;	/* --requirepass, or NULL */
static int		 redis_tcp_port;	/* also on 127.0.0.1:port, or 0 */
static struct h_daemon	daemons[NDAEMONS];
static char		redis_arg[400];
static struct fake_redis	*fake;		/* instead of redis-server */

/* ---- redis-server --------------------------------------------------------- */

/* Connects to the Redis Unix socket; fd or -1. */
static int
redis_connect(const struct redis *r)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(r->sock) >= sizeof sun.sun_path)
		return -1;
	memcpy(sun.sun_path, r->sock, strlen(r->sock) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Starts redis-server on r->sock (r->dir must exist); waits until it
 * accepts. 0 or -1. */
static int
redis_spawn(struct redis *r)
{
	long long deadline;
	int fd, logfd;

	if ((r->pid = fork()) == -1)
		return -1;
	if (r->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		logfd = open(r->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (logfd != -1) {
			dup2(logfd, 1);
			dup2(logfd, 2);
		}
		const char *argv[20] = { "redis-server", "--unixsocket",
		    r->sock, "--save", "", "--appendonly", "no", "--dir", r->dir,
		    "--bind", "127.0.0.1", "--port" };
		char port[8];
		int n = 12;

		snprintf(port, sizeof port, "%d", redis_tcp_port);
		argv[n++] = port;
		if (redis_password != NULL) {
			argv[n++] = "--requirepass";
			argv[n++] = redis_password;
		}
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	deadline = h_now_ms() + 4 * H_TIMEOUT_MS;
	while (h_now_ms() < deadline) {
		if ((fd = redis_connect(r)) != -1) {
			close(fd);
			return 0;
		}
		if (waitpid(r->pid, NULL, WNOHANG) == r->pid) {
			r->pid = 0;
			return -1;
		}
		h_nap_ms(5);
	}
	return -1;
}

/* Stops the server with sig and reaps it (bounded, then SIGKILL). */
static void
redis_kill(struct redis *r, int sig)
{
	long long deadline = h_now_ms() + H_TIMEOUT_MS;

	if (r->pid <= 0)
		return;
	kill(r->pid, sig);
	while (waitpid(r->pid, NULL, WNOHANG) != r->pid) {
		if (h_now_ms() > deadline) {
			kill(r->pid, SIGKILL);
			waitpid(r->pid, NULL, 0);
			break;
		}
		h_nap_ms(5);
	}
	r->pid = 0;
}

/* Sends one command (argv, n) and returns the integer of its reply's last
 * line (":N"), 0 for a status ("+OK"), or -1. Handles the replies of PUBSUB
 * NUMSUB, PUBLISH and ACL SETUSER. */
static long long
redis_int_command(const struct redis *r, const char *const *argv, int n)
{
	char req[2048], reply[4096], *last;
	size_t len = 0, got = 0;
	long long deadline = h_now_ms() + H_TIMEOUT_MS, v = -1;
	struct pollfd pfd;
	ssize_t k;
	int fd, i;

	len = (size_t)snprintf(req, sizeof req, "*%d\r\n", n);
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(req + len, sizeof req - len,
		    "$%zu\r\n%s\r\n", strlen(argv[i]), argv[i]);
	if (len >= sizeof req || (fd = redis_connect(r)) == -1)
		return -1;
	if (write(fd, req, len) != (ssize_t)len)
		goto out;
	for (;;) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (h_now_ms() > deadline || poll(&pfd, 1, 50) == -1)
			goto out;
		if (!(pfd.revents & (POLLIN | POLLHUP)))
			continue;
		k = read(fd, reply + got, sizeof reply - 1 - got);
		if (k <= 0)
			goto out;
		got += (size_t)k;
		reply[got] = '\0';
		if (got < 2 || strcmp(reply + got - 2, "\r\n") != 0)
			continue;
		reply[got - 2] = '\0';
		last = strrchr(reply, '\n');
		last = last != NULL ? last + 1 : reply;
		reply[got - 2] = '\r';
		if (*last == ':') {
			v = strtoll(last + 1, NULL, 10);
			break;
		}
		if (*last == '+')
			v = 0;
		if (*last == '-' || *last == '+')
			break;
	}
out:
	close(fd);
	return v;
}

/* PUBSUB NUMSUB channel. */
static long long
numsub(const char *channel)
{
	const char *argv[] = { "PUBSUB", "NUMSUB", channel };

	return redis_int_command(&redis_, argv, 3);
}

/* Polls NUMSUB until it equals want (bounded); returns the last value. */
static long long
wait_numsub(const char *channel, long long want)
{
	long long deadline = h_now_ms() + CONVERGE_MS, v;

	while ((v = numsub(channel)) != want && h_now_ms() < deadline)
		h_nap_ms(5);
	return v;
}

static long long
publish(const char *channel, const char *msg)
{
	const char *argv[] = { "PUBLISH", channel, msg };

	return redis_int_command(&redis_, argv, 3);
}

/* The Redis channel of h_topic(n). */
static void
channel_of(unsigned long n, char out[120])
{
	char t[80];

	h_topic(n, t);
	snprintf(out, 120, PREFIX "%s", t);
}

/* ---- daemons -------------------------------------------------------------- */

/* Exit handler: a failed assertion skips the teardown; the server and its
 * directory must not outlive the test anyway. */
static void
redis_cleanup(void)
{
	char conf[400];

	redis_kill(&redis_, SIGKILL);
	if (redis_.dir[0] == '\0')
		return;
	snprintf(conf, sizeof conf, "%s/crmpubsubd.conf", redis_.dir);
	unlink(conf);
	unlink(redis_.sock);
	unlink(redis_.log);
	rmdir(redis_.dir);
}

/* Makes the private directory; the Redis socket lives there. */
static void
redis_setup(void)
{
	static int registered;

	if (!registered) {
		atexit(redis_cleanup);
		registered = 1;
	}
	memset(&redis_, 0, sizeof redis_);
	snprintf(redis_.dir, sizeof redis_.dir, "/tmp/crmpubsub-fed-XXXXXX");
	ck_assert(mkdtemp(redis_.dir) != NULL);
	snprintf(redis_.sock, sizeof redis_.sock, "%s/redis.sock", redis_.dir);
	snprintf(redis_.log, sizeof redis_.log, "%s/redis.log", redis_.dir);
	snprintf(redis_arg, sizeof redis_arg, "unix://%s", redis_.sock);
}

static void
redis_up(void)
{
	ck_assert_msg(redis_spawn(&redis_) == 0,
	    "redis-server did not start on %s", redis_.sock);
}

/* Fixture: private directory and a running redis-server. */
static void
setup(void)
{
	redis_setup();
	redis_up();
}

static void
teardown(void)
{
	int i, st[NDAEMONS];

	for (i = 0; i < NDAEMONS; i++)
		st[i] = daemons[i].pid > 0 ?
		    h_daemon_stop(&daemons[i], SIGTERM, H_TIMEOUT_MS) : 0;
	redis_kill(&redis_, SIGTERM);
	redis_cleanup();
	/* A clean exit 0 also means no sanitizer or leak report. */
	for (i = 0; i < NDAEMONS; i++)
		ck_assert_msg(st[i] != -1 && WIFEXITED(st[i]) &&
		    WEXITSTATUS(st[i]) == 0, "daemon %d stopped with status "
		    "%#x", i, (unsigned)st[i]);
}

/* Starts daemon i linked to the test's Redis, plus extra args. */
static struct h_daemon *
daemon_up(int i, const char *extra1, const char *extra2)
{
	const char *args[] = { "--redis", redis_arg, extra1, extra2, NULL };

	if (h_daemon_start(&daemons[i], args) != 0) {
		h_show_log(&daemons[i]);
		ck_abort_msg("daemon %d did not become ready", i);
	}
	return &daemons[i];
}

static struct h_conn *
conn(const struct h_daemon *d)
{
	struct h_conn *c = h_connect(d->sock);

	ck_assert_msg(c != NULL, "connect to %s failed", d->sock);
	return c;
}

/* The daemon's stats "federation" object (new reference) or NULL. */
static json_t *
fed_stats(const struct h_daemon *d)
{
	struct h_conn *c = h_connect(d->sock);
	json_t *r, *f = NULL;

	if (c == NULL)
		return NULL;
	r = h_request(c, "{\"op\":\"stats\"}");
	if (r != NULL && (f = json_object_get(json_object_get(r, "stats"),
	    "federation")) != NULL)
		json_incref(f);
	json_decref(r);
	h_close(c);
	return f;
}

/* A counter of the federation stats, or -1. */
static long long
fed_int(const struct h_daemon *d, const char *key)
{
	json_t *f = fed_stats(d);
	long long v = h_int(f, key);

	json_decref(f);
	return v;
}

/* Asserts federation counters of d: key, value (long long) pairs, then
 * NULL. */
static void
expect_counts(const struct h_daemon *d, ...)
{
	const char *key;
	long long want;
	va_list ap;

	va_start(ap, d);
	while ((key = va_arg(ap, const char *)) != NULL) {
		want = va_arg(ap, long long);
		ck_assert_msg(fed_int(d, key) == want, "federation.%s: %lld, "
		    "not %lld", key, fed_int(d, key), want);
	}
	va_end(ap);
}

/* Polls until a federation counter reaches want (bounded); the last value. */
static long long
wait_fed_int(const struct h_daemon *d, const char *key, long long want)
{
	long long deadline = h_now_ms() + CONVERGE_MS, v;

	while ((v = fed_int(d, key)) != want && h_now_ms() < deadline)
		h_nap_ms(5);
	return v;
}

/* Polls until the daemon's link state is want (bounded by ms); 1 when
 * reached. */
static int
wait_state_ms(const struct h_daemon *d, const char *want, int ms)
{
	long long deadline = h_now_ms() + ms;
	json_t *f;
	int ok;

	for (;;) {
		f = fed_stats(d);
		ok = f != NULL && h_str(f, "state") != NULL &&
		    strcmp(h_str(f, "state"), want) == 0;
		json_decref(f);
		if (ok || h_now_ms() > deadline)
			return ok;
		h_nap_ms(5);
	}
}

static int
wait_state(const struct h_daemon *d, const char *want)
{
	return wait_state_ms(d, want, CONVERGE_MS);
}

/* Starts daemons 0 and 1 and waits until both are linked. */
static void
two_linked(void)
{
	daemon_up(0, NULL, NULL);
	daemon_up(1, NULL, NULL);
	ck_assert(wait_state(&daemons[0], "up") && wait_state(&daemons[1], "up"));
}

static void
subscribe(struct h_conn *c, unsigned long n)
{
	char t[80];
	json_t *r;

	h_topic(n, t);
	r = h_requestf(c, "{\"op\":\"subscribe\",\"topic\":\"%s\"}", t);
	ck_assert_msg(h_is_ok(r), "subscribe: %s", h_dump(r));
	json_decref(r);
}

static void
unsubscribe(struct h_conn *c, unsigned long n)
{
	char t[80];
	json_t *r;

	h_topic(n, t);
	r = h_requestf(c, "{\"op\":\"unsubscribe\",\"topic\":\"%s\"}", t);
	ck_assert_msg(h_is_ok(r), "unsubscribe: %s", h_dump(r));
	json_decref(r);
}

/* Broadcasts interaction iu to contacts a and b (b 0: none); returns the
 * reply's delivered count. */
static long long
broadcast(struct h_conn *c, const char *event, unsigned long iu,
    unsigned long a, unsigned long b)
{
	char ui[37], ua[37], ub[37];
	json_t *r;
	long long delivered;

	h_uuid(iu, ui);
	h_uuid(a, ua);
	h_uuid(b, ub);
	if (b != 0)
		r = h_requestf(c, "{\"op\":\"broadcast_to_contacts\",\"event\":"
		    "\"%s\",\"interaction_uuid\":\"%s\",\"contact_uuids\":"
		    "[\"%s\",\"%s\"]}", event, ui, ua, ub);
	else
		r = h_requestf(c, "{\"op\":\"broadcast_to_contacts\",\"event\":"
		    "\"%s\",\"interaction_uuid\":\"%s\",\"contact_uuids\":"
		    "[\"%s\"]}", event, ui, ua);
	ck_assert_msg(h_is_ok(r), "broadcast: %s", h_dump(r));
	delivered = h_int(r, "delivered");
	json_decref(r);
	return delivered;
}

/* Asserts the next push is the crm push of interaction iu on topic n. */
static void
expect_crm(struct h_conn *c, const char *who, const char *event,
    unsigned long iu, unsigned long n)
{
	char t[80], u[37];
	json_t *p = h_recv_push(c, H_TIMEOUT_MS), *payload;

	h_topic(n, t);
	h_uuid(iu, u);
	ck_assert_msg(p != NULL, "%s: no push for interaction %lu", who, iu);
	payload = json_object_get(p, "payload");
	ck_assert_msg(h_str(p, "type") && strcmp(h_str(p, "type"), "crm") == 0 &&
	    h_str(p, "event") && strcmp(h_str(p, "event"), event) == 0 &&
	    h_str(p, "topic") && strcmp(h_str(p, "topic"), t) == 0 &&
	    h_str(payload, "interaction_uuid") &&
	    strcmp(h_str(payload, "interaction_uuid"), u) == 0,
	    "%s: expected %s of %s on %s, got %s", who, event, u, t, h_dump(p));
	json_decref(p);
}

/* Asserts the next push is {"type":"resync","reason":"federation",
 * "dropped":0}. */
static void
expect_resync(struct h_conn *c, const char *who)
{
	json_t *p = h_recv_push(c, 2 * CONVERGE_MS);

	ck_assert_msg(p != NULL && h_str(p, "type") &&
	    strcmp(h_str(p, "type"), "resync") == 0 && h_str(p, "reason") &&
	    strcmp(h_str(p, "reason"), "federation") == 0 &&
	    h_int(p, "dropped") == 0,
	    "%s: expected a federation resync, got %s", who, h_dump(p));
	json_decref(p);
}

static void
expect_quiet(struct h_conn *c, const char *who)
{
	char line[4096];
	long n;

	if (h_silent(c, QUIET_MS))
		return;
	n = h_recv_line(c, line, sizeof line, 0);
	ck_abort_msg("%s: unexpected line: %s", who, n >= 0 ? line : "(EOF)");
}

/* Once daemon 0 is in state want: a subscriber of topic n (*s) and a
 * writer (*p) whose broadcast of interaction iu reached it locally. */
static void
serve_locally(const char *want, unsigned long n, unsigned long iu,
    struct h_conn **s, struct h_conn **p)
{
	ck_assert_msg(wait_state(&daemons[0], want), "link never %s", want);
	*s = conn(&daemons[0]);
	*p = conn(&daemons[0]);
	subscribe(*s, n);
	ck_assert_int_eq(broadcast(*p, "interaction_created", iu, n, 0), 1);
	expect_crm(*s, "local sub", "interaction_created", iu, n);
}

/* p's broadcast (interaction_deleted of iu on topic n, delivered to want
 * local subscribers) reaches s, and nothing follows it. */
static void
deleted_reaches(struct h_conn *p, struct h_conn *s, long long want,
    unsigned long iu, unsigned long n)
{
	ck_assert_int_eq(broadcast(p, "interaction_deleted", iu, n, 0), want);
	expect_crm(s, "sub", "interaction_deleted", iu, n);
	expect_quiet(s, "sub");
}

/* ---- tests ---------------------------------------------------------------- */

/* Three daemons: a broadcast on any of them reaches every subscriber on all
 * of them exactly once, the origin's own subscribers included. */
START_TEST(test_every_subscriber_once)
{
	struct h_conn *pub[NDAEMONS], *sub[NDAEMONS], *extra;
	char chan[120], who[32];
	const char *events[] = { "interaction_created", "interaction_updated",
	    "interaction_deleted" };
	int i, j;

	channel_of(1, chan);
	for (i = 0; i < NDAEMONS; i++) {
		daemon_up(i, NULL, NULL);
		ck_assert_msg(wait_state(&daemons[i], "up"),
		    "daemon %d never linked", i);
		pub[i] = conn(&daemons[i]);
		sub[i] = conn(&daemons[i]);
		subscribe(sub[i], 1);
	}
	extra = conn(&daemons[1]);	/* two subscribers on daemon 1 */
	subscribe(extra, 1);
	ck_assert_int_eq(wait_numsub(chan, NDAEMONS), NDAEMONS);

	for (i = 0; i < NDAEMONS; i++) {
		/* Contact 2 has no subscriber anywhere: no push for it. */
		ck_assert_int_eq(broadcast(pub[i], events[i], 100 + i, 1, 2),
		    i == 1 ? 2 : 1);
		for (j = 0; j < NDAEMONS; j++) {
			snprintf(who, sizeof who, "daemon %d sub", j);
			expect_crm(sub[j], who, events[i], 100 + i, 1);
		}
		expect_crm(extra, "daemon 1 extra", events[i], 100 + i, 1);
	}
	for (j = 0; j < NDAEMONS; j++) {
		snprintf(who, sizeof who, "daemon %d sub", j);
		expect_quiet(sub[j], who);
	}
	expect_quiet(extra, "daemon 1 extra");

	for (i = 0; i < NDAEMONS; i++) {
		/* One PUBLISH per involved topic, listened to or not. */
		ck_assert_int_eq(fed_int(&daemons[i], "published"), 2);
		ck_assert_int_eq(fed_int(&daemons[i], "received"), NDAEMONS - 1);
		ck_assert_int_eq(wait_fed_int(&daemons[i], "echoes", 1), 1);
		h_close(pub[i]);
		h_close(sub[i]);
	}
	h_close(extra);
}
END_TEST

/* The link holds through its health checks: PING on the subscribe
 * connection while it has channels gets ["pong",""], on the publish
 * connection +PONG, and neither is taken for a malformed reply. */
START_TEST(test_link_holds)
{
	struct h_conn *pub, *sub;
	char chan[120];
	long long until;

	channel_of(3, chan);
	two_linked();
	sub = conn(&daemons[1]);
	subscribe(sub, 3);
	ck_assert_int_eq(wait_numsub(chan, 1), 1);
	/* Three ticks of the daemon's one-second health check. */
	for (until = h_now_ms() + 3200; h_now_ms() < until; h_nap_ms(5))
		ck_assert(wait_state_ms(&daemons[1], "up", 0));
	ck_assert_int_eq(fed_int(&daemons[1], "malformed"), 0);
	ck_assert_int_eq(fed_int(&daemons[1], "reconnects"), 0);
	pub = conn(&daemons[0]);
	ck_assert_int_eq(broadcast(pub, "interaction_created", 30, 3, 0), 0);
	expect_crm(sub, "remote sub", "interaction_created", 30, 3);
	h_close(pub);
	h_close(sub);
}
END_TEST

/* Pipelined broadcasts from one writer arrive everywhere in order. */
START_TEST(test_remote_order)
{
	struct h_conn *pub, *sub;
	char chan[120], *batch, *p;
	char ui[37], ua[37];
	size_t cap = 64 * 300;
	int i;

	channel_of(5, chan);
	two_linked();
	sub = conn(&daemons[1]);
	subscribe(sub, 5);
	ck_assert_int_eq(wait_numsub(chan, 1), 1);
	pub = conn(&daemons[0]);
	ck_assert((batch = malloc(cap)) != NULL);
	p = batch;
	h_uuid(5, ua);
	for (i = 0; i < 64; i++) {
		h_uuid(1000 + (unsigned long)i, ui);
		p += sprintf(p, "{\"op\":\"broadcast_to_contacts\",\"event\":"
		    "\"interaction_updated\",\"interaction_uuid\":\"%s\","
		    "\"contact_uuids\":[\"%s\"]}\n", ui, ua);
	}
	ck_assert_int_eq(h_send(pub, batch, (size_t)(p - batch)), 0);
	free(batch);
	for (i = 0; i < 64; i++)
		expect_crm(sub, "remote sub", "interaction_updated",
		    1000 + (unsigned long)i, 5);
	expect_quiet(sub, "remote sub");
	h_close(pub);
	h_close(sub);
}
END_TEST

/* A channel is subscribed on Redis while a daemon has local subscribers of
 * its topic, once per daemon, and unsubscribed when the last one leaves. */
START_TEST(test_interest_routing)
{
	struct h_conn *a1, *a2, *b1;
	char chan[120], sync_chan[120];

	channel_of(10, chan);
	channel_of(11, sync_chan);
	two_linked();
	ck_assert_int_eq(numsub(chan), 0);

	a1 = conn(&daemons[0]);
	subscribe(a1, 10);
	ck_assert_int_eq(wait_numsub(chan, 1), 1);
	b1 = conn(&daemons[1]);
	subscribe(b1, 10);
	ck_assert_int_eq(wait_numsub(chan, 2), 2);

	/* A second local subscriber, then the first leaving: no change on
	 * Redis. Daemon 0 then subscribes another topic; once Redis has that,
	 * it has handled everything daemon 0 sent before. */
	a2 = conn(&daemons[0]);
	subscribe(a2, 10);
	unsubscribe(a1, 10);
	subscribe(a1, 11);
	ck_assert_int_eq(wait_numsub(sync_chan, 1), 1);
	ck_assert_int_eq(numsub(chan), 2);

	/* The last local subscriber on daemon 0 goes away (connection
	 * closed): the daemon leaves the channel. */
	h_close(a2);
	ck_assert_int_eq(wait_numsub(chan, 1), 1);
	unsubscribe(b1, 10);
	ck_assert_int_eq(wait_numsub(chan, 0), 0);
	unsubscribe(a1, 11);
	ck_assert_int_eq(wait_numsub(sync_chan, 0), 0);

	/* Subscribing again after a full unsubscribe works on both sides. */
	subscribe(b1, 10);
	ck_assert_int_eq(wait_numsub(chan, 1), 1);
	ck_assert_int_eq(broadcast(a1, "interaction_created", 200, 10, 0), 0);
	expect_crm(b1, "daemon 1 sub", "interaction_created", 200, 10);
	h_close(a1);
	h_close(b1);
}
END_TEST

/* Subscribe and unsubscribe pipelined faster than Redis answers: the final
 * Redis state matches the final local state and remote delivery works. */
START_TEST(test_subscription_churn)
{
	struct h_conn *b, *a;
	char chan[120], batch[8192], t[80];
	size_t len = 0;
	int i;

	channel_of(20, chan);
	two_linked();
	b = conn(&daemons[1]);
	h_topic(20, t);
	for (i = 0; i < 20; i++)
		len += (size_t)snprintf(batch + len, sizeof batch - len,
		    "{\"op\":\"subscribe\",\"topic\":\"%s\"}\n"
		    "{\"op\":\"unsubscribe\",\"topic\":\"%s\"}\n", t, t);
	len += (size_t)snprintf(batch + len, sizeof batch - len,
	    "{\"op\":\"subscribe\",\"topic\":\"%s\"}\n", t);
	ck_assert_int_eq(h_send(b, batch, len), 0);
	for (i = 0; i < 41; i++) {
		json_t *r = h_recv_reply(b, H_TIMEOUT_MS);

		ck_assert_msg(h_is_ok(r), "reply %d: %s", i, h_dump(r));
		json_decref(r);
	}
	ck_assert_int_eq(wait_numsub(chan, 1), 1);
	a = conn(&daemons[0]);
	ck_assert_int_eq(broadcast(a, "interaction_deleted", 300, 20, 0), 0);
	expect_crm(b, "daemon 1 sub", "interaction_deleted", 300, 20);
	expect_quiet(b, "daemon 1 sub");
	ck_assert_int_gt(daemons[1].pid, 0);
	ck_assert_int_eq(kill(daemons[1].pid, 0), 0);
	h_close(a);
	h_close(b);
}
END_TEST

/* Redis killed and restarted: local delivery never stops, remote delivery
 * resumes, and the subscribers get one federation resync each. */
START_TEST(test_redis_restart)
{
	struct h_conn *pa, *sa, *sb, *idle;
	char chan[120];
	long long t0;

	channel_of(30, chan);
	two_linked();
	pa = conn(&daemons[0]);
	sa = conn(&daemons[0]);
	sb = conn(&daemons[1]);
	idle = conn(&daemons[1]);	/* holds no topic: gets no resync */
	subscribe(sa, 30);
	subscribe(sb, 30);
	ck_assert_int_eq(wait_numsub(chan, 2), 2);

	redis_kill(&redis_, SIGKILL);
	ck_assert(wait_state(&daemons[0], "down"));
	ck_assert(wait_state(&daemons[1], "down"));

	/* Local delivery goes on, promptly; nothing crosses. */
	t0 = h_now_ms();
	ck_assert_int_eq(broadcast(pa, "interaction_created", 400, 30, 0), 1);
	ck_assert_int_lt(h_now_ms() - t0, 1000);
	expect_crm(sa, "daemon 0 sub", "interaction_created", 400, 30);
	expect_quiet(sb, "daemon 1 sub");
	ck_assert_int_ge(fed_int(&daemons[0], "dropped"), 1);

	redis_up();
	ck_assert(wait_state(&daemons[0], "up"));
	ck_assert(wait_state(&daemons[1], "up"));
	expect_resync(sa, "daemon 0 sub");
	expect_resync(sb, "daemon 1 sub");
	ck_assert_int_eq(wait_numsub(chan, 2), 2);

	ck_assert_int_eq(broadcast(pa, "interaction_updated", 401, 30, 0), 1);
	expect_crm(sa, "daemon 0 sub", "interaction_updated", 401, 30);
	expect_crm(sb, "daemon 1 sub", "interaction_updated", 401, 30);
	expect_quiet(sa, "daemon 0 sub");
	expect_quiet(sb, "daemon 1 sub");
	expect_quiet(idle, "daemon 1 idle");
	ck_assert_int_ge(fed_int(&daemons[0], "reconnects"), 1);
	ck_assert_int_ge(fed_int(&daemons[1], "reconnects"), 1);
	ck_assert_int_eq(fed_int(&daemons[1], "resyncs"), 1);
	h_close(pa);
	h_close(sa);
	h_close(sb);
	h_close(idle);
}
END_TEST

/* Redis stuck (SIGSTOP: socket open, no answers): broadcasts are answered
 * and delivered locally at once, the daemon declares the link down after
 * its PING goes unanswered, and relinks with a resync once Redis runs. */
START_TEST(test_redis_stalled)
{
	struct h_conn *pa, *sa;
	long long t0;
	unsigned long i;

	daemon_up(0, NULL, NULL);
	ck_assert(wait_state(&daemons[0], "up"));
	pa = conn(&daemons[0]);
	sa = conn(&daemons[0]);
	subscribe(sa, 35);

	ck_assert_int_eq(kill(redis_.pid, SIGSTOP), 0);
	t0 = h_now_ms();
	for (i = 0; i < 200; i++) {
		ck_assert_int_eq(broadcast(pa, "interaction_updated", 450 + i,
		    35, 0), 1);
		expect_crm(sa, "local sub", "interaction_updated", 450 + i, 35);
	}
	ck_assert_int_lt(h_now_ms() - t0, 2000);
	/* PING every second, 5 s without an answer: down. */
	ck_assert(wait_state_ms(&daemons[0], "down", 4 * CONVERGE_MS));
	ck_assert_int_eq(kill(redis_.pid, SIGCONT), 0);
	ck_assert(wait_state(&daemons[0], "up"));
	expect_resync(sa, "local sub");
	ck_assert_int_eq(fed_int(&daemons[0], "reconnects"), 1);
	h_close(pa);
	h_close(sa);
}
END_TEST

/* Redis down when the daemon starts: it serves locally, then links once
 * Redis appears, and its subscribers learn that they may have missed
 * remote updates. */
START_TEST(test_redis_down_at_start)
{
	struct h_conn *s, *p;
	char chan[120];

	redis_setup();		/* no server yet */
	channel_of(40, chan);
	daemon_up(0, NULL, NULL);
	serve_locally("down", 40, 500, &s, &p);
	ck_assert_int_eq(fed_int(&daemons[0], "dropped"), 1);
	ck_assert_int_eq(fed_int(&daemons[0], "published"), 0);

	redis_up();
	ck_assert(wait_state(&daemons[0], "up"));
	expect_resync(s, "local sub");
	ck_assert_int_eq(wait_numsub(chan, 1), 1);
	daemon_up(1, NULL, NULL);
	ck_assert(wait_state(&daemons[1], "up"));
	h_close(p);
	p = conn(&daemons[1]);
	deleted_reaches(p, s, 0, 501, 40);
	h_close(p);
	h_close(s);
}
END_TEST

/* The wire format on Redis: "<origin> <event> <interaction-uuid>" on
 * prefix + topic. Any publisher that follows it reaches subscribers;
 * anything else is counted and ignored. */
START_TEST(test_message_format)
{
	struct h_conn *s;
	char chan[120], msg[200], iu[37];

	channel_of(50, chan);
	daemon_up(0, NULL, NULL);
	ck_assert(wait_state(&daemons[0], "up"));
	s = conn(&daemons[0]);
	subscribe(s, 50);
	ck_assert_int_eq(wait_numsub(chan, 1), 1);

	ck_assert_int_eq(publish(chan, "garbage"), 1);
	ck_assert_int_eq(publish(chan, "00000000-0000-4000-8000-000000000000 "
	    "interaction_exploded 0190a5b2-7c1e-7a01-8f00-000000000001"), 1);
	h_uuid(600, iu);
	/* Upper case on the wire is canonicalised like any UUID. */
	snprintf(msg, sizeof msg, "00000000-0000-4000-8000-000000000000 "
	    "interaction_updated %s", iu);
	msg[strlen(msg) - 1] = 'A';
	ck_assert_int_eq(publish(chan, msg), 1);
	{
		json_t *p = h_recv_push(s, H_TIMEOUT_MS);
		char want[37];

		snprintf(want, sizeof want, "%s", iu);
		want[35] = 'a';
		ck_assert_msg(p != NULL && h_str(json_object_get(p, "payload"),
		    "interaction_uuid") != NULL && strcmp(h_str(
		    json_object_get(p, "payload"), "interaction_uuid"),
		    want) == 0, "got %s", h_dump(p));
		json_decref(p);
	}
	/* The origin must be a UUID too. */
	snprintf(msg, sizeof msg, "zzzzzzzz-zzzz-4zzz-8zzz-zzzzzzzzzzzz "
	    "interaction_updated %s", iu);
	ck_assert_int_eq(publish(chan, msg), 1);
	expect_quiet(s, "sub");
	ck_assert_int_eq(wait_fed_int(&daemons[0], "malformed", 3), 3);
	ck_assert_int_eq(fed_int(&daemons[0], "received"), 1);
	h_close(s);
}
END_TEST

/* The origin id daemon d logged when it linked ("... as <uuid>"). */
static void
daemon_origin(const struct h_daemon *d, char out[37])
{
	char *log = h_read_file(d->log), *p;

	ck_assert_ptr_nonnull(log);
	p = strstr(log, "federation: linked to ");
	ck_assert_msg(p != NULL && (p = strstr(p, " as ")) != NULL &&
	    strlen(p + 4) >= 36, "no origin in the log: %s", log);
	memcpy(out, p + 4, 36);
	out[36] = '\0';
	free(log);
}

/* A message carrying a daemon's origin that its link did not publish (a
 * replay of a real one, or a made-up one) is not taken for an echo: it is
 * counted as spoofed, and like an echo never delivered. Its real echoes are
 * still recognised. */
START_TEST(test_origin_reuse)
{
	struct h_conn *s, *p;
	char chan[120], origin[37], iu[37], msg[200];

	channel_of(55, chan);
	daemon_up(0, NULL, NULL);
	ck_assert(wait_state(&daemons[0], "up"));
	daemon_origin(&daemons[0], origin);
	s = conn(&daemons[0]);
	p = conn(&daemons[0]);
	subscribe(s, 55);
	ck_assert_int_eq(wait_numsub(chan, 1), 1);

	h_uuid(650, iu);
	snprintf(msg, sizeof msg, "%s interaction_created %s", origin, iu);
	ck_assert_int_eq(publish(chan, msg), 1);
	ck_assert_int_eq(wait_fed_int(&daemons[0], "spoofed", 1), 1);
	ck_assert_int_eq(fed_int(&daemons[0], "echoes"), 0);

	/* A real broadcast: delivered locally once, its echo recognised. */
	ck_assert_int_eq(broadcast(p, "interaction_created", 650, 55, 0), 1);
	expect_crm(s, "local sub", "interaction_created", 650, 55);
	ck_assert_int_eq(wait_fed_int(&daemons[0], "echoes", 1), 1);
	/* The same message again, now as a replay. */
	ck_assert_int_eq(publish(chan, msg), 1);
	ck_assert_int_eq(wait_fed_int(&daemons[0], "spoofed", 2), 2);
	expect_quiet(s, "local sub");
	expect_counts(&daemons[0], "echoes", 1LL, "received", 0LL,
	    "malformed", 0LL, NULL);
	h_close(s);
	h_close(p);
}
END_TEST

/* Daemons with different prefixes share one Redis without hearing each
 * other. */
START_TEST(test_prefix_isolation)
{
	struct h_conn *s0, *s1, *p;
	char chan[120], t[80];

	daemon_up(0, "--redis-prefix", "tenant-a:");
	daemon_up(1, "--redis-prefix", "tenant-b:");
	daemon_up(2, "--redis-prefix", "tenant-a:");
	ck_assert(wait_state(&daemons[0], "up") && wait_state(&daemons[1], "up")
	    && wait_state(&daemons[2], "up"));
	s0 = conn(&daemons[0]);
	s1 = conn(&daemons[1]);
	subscribe(s0, 60);
	subscribe(s1, 60);
	h_topic(60, t);
	snprintf(chan, sizeof chan, "tenant-a:%s", t);
	ck_assert_int_eq(wait_numsub(chan, 1), 1);
	snprintf(chan, sizeof chan, "tenant-b:%s", t);
	ck_assert_int_eq(wait_numsub(chan, 1), 1);
	p = conn(&daemons[2]);
	ck_assert_int_eq(broadcast(p, "interaction_created", 700, 60, 0), 0);
	expect_crm(s0, "tenant-a sub", "interaction_created", 700, 60);
	expect_quiet(s1, "tenant-b sub");
	h_close(p);
	h_close(s0);
	h_close(s1);
}
END_TEST

/* With requirepass, only a daemon that knows the password links; one
 * without stays down and keeps serving locally. */
START_TEST(test_auth)
{
	redis_kill(&redis_, SIGTERM);
	redis_password = "s3cret";
	redis_up();
	daemon_up(1, NULL, NULL);
	daemon_up(0, "--redis-password", "s3cret");
	ck_assert(wait_state(&daemons[0], "up"));
	ck_assert(wait_state(&daemons[1], "down"));
	ck_assert_int_eq(fed_int(&daemons[1], "reconnects"), 0);
	ck_assert_int_eq(fed_int(&daemons[1], "published"), 0);
}
END_TEST

/* A port nobody listens on right now, for a server that needs TCP. */
static int
free_tcp_port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof sin;
	int fd, port;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert((fd = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	ck_assert(bind(fd, (struct sockaddr *)&sin, sizeof sin) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0);
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

/* The Redis ACL of docs/scale-out.md, word for word: daemons that use it
 * (over TCP, as a named user) federate; a daemon whose prefix it does not
 * cover is refused, logs why, and keeps serving locally. */
START_TEST(test_acl)
{
	const char *setuser[] = { "ACL", "SETUSER", "crmpubsub", "on",
	    ">correct-horse", "resetkeys", "resetchannels", "&crmpubsub:*",
	    "-@all", "+ping", "+subscribe", "+unsubscribe", "+publish" };
	const char *other[] = { "--redis", redis_arg, "--redis-password",
	    "correct-horse", "--redis-prefix", "other:", NULL };
	struct h_conn *s1, *p0, *s2, *p2;
	char chan[120];

	redis_kill(&redis_, SIGTERM);
	redis_tcp_port = free_tcp_port();
	redis_up();
	ck_assert_int_eq(redis_int_command(&redis_, setuser, 13), 0);
	snprintf(redis_arg, sizeof redis_arg, "redis://crmpubsub@127.0.0.1:%d",
	    redis_tcp_port);
	daemon_up(0, "--redis-password", "correct-horse");
	daemon_up(1, "--redis-password", "correct-horse");
	ck_assert(wait_state(&daemons[0], "up") && wait_state(&daemons[1], "up"));
	channel_of(90, chan);
	s1 = conn(&daemons[1]);
	subscribe(s1, 90);
	ck_assert_int_eq(wait_numsub(chan, 1), 1);
	p0 = conn(&daemons[0]);
	ck_assert_int_eq(broadcast(p0, "interaction_created", 950, 90, 0), 0);
	expect_crm(s1, "daemon 1 sub", "interaction_created", 950, 90);

	ck_assert(h_daemon_start(&daemons[2], other) == 0);
	ck_assert(wait_state(&daemons[2], "up"));
	p2 = conn(&daemons[2]);
	s2 = conn(&daemons[2]);
	ck_assert_int_eq(broadcast(p2, "interaction_created", 951, 91, 0), 0);
	ck_assert_int_eq(wait_fed_int(&daemons[2], "dropped", 1), 1);
	subscribe(s2, 91);
	ck_assert(h_wait_log(&daemons[2], "NOPERM", 2 * CONVERGE_MS));
	ck_assert_int_eq(broadcast(p2, "interaction_updated", 952, 91, 0), 1);
	expect_crm(s2, "daemon 2 sub", "interaction_updated", 952, 91);
	expect_quiet(s1, "daemon 1 sub");
	redis_tcp_port = 0;
	h_close(s1);
	h_close(p0);
	h_close(s2);
	h_close(p2);
}
END_TEST

/* Without the redis option nothing federates and the link is "off". */
START_TEST(test_off_without_option)
{
	const char *none[] = { NULL };
	json_t *f;

	ck_assert(h_daemon_start(&daemons[0], none) == 0);
	f = fed_stats(&daemons[0]);
	ck_assert_msg(f != NULL && h_str(f, "state") != NULL &&
	    strcmp(h_str(f, "state"), "off") == 0, "got %s", h_dump(f));
	json_decref(f);
	ck_assert_int_eq(numsub(PREFIX "anything"), 0);
}
END_TEST

/* A bad address is a one-line error naming the option, exit 2. */
START_TEST(test_bad_address)
{
	const char *bad[] = { "foo", "redis://", "redis://host:0",
	    "redis://host:99999", "unix://relative.sock", "redis://[::1", "redis://h:1/x",
	    "http://h:1" };
	char *buf;
	size_t i, n;
	int st;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		const char *argv[] = { "--redis", bad[i], NULL };
		struct h_daemon d;

		memset(&d, 0, sizeof d);
		ck_assert(h_daemon_spawn(&d, argv, NULL) == 0);
		st = h_daemon_wait_exit(&d, H_TIMEOUT_MS);
		ck_assert_msg(st != -1 && WIFEXITED(st) &&
		    WEXITSTATUS(st) == 2, "--redis %s: status %d", bad[i], st);
		buf = h_read_file(d.log);
		ck_assert_ptr_nonnull(buf);
		n = strlen(buf);
		ck_assert_msg(n > 0 && strstr(buf, "redis") != NULL &&
		    strchr(buf, '\n') == buf + n - 1, "--redis %s: stderr %s",
		    bad[i], buf);
		free(buf);
		h_daemon_stop(&d, SIGKILL, H_TIMEOUT_MS);
	}
}
END_TEST

/* The config file takes the same keys; a TCP address that nobody serves
 * leaves the daemon running, serving locally, with the link down. */
START_TEST(test_config_file_tcp_down)
{
	char path[400];
	const char *args[] = { "-c", path, NULL };
	struct h_conn *s, *p;
	FILE *f;

	snprintf(path, sizeof path, "%s/crmpubsubd.conf", redis_.dir);
	ck_assert((f = fopen(path, "w")) != NULL);
	fprintf(f, "redis = redis://127.0.0.1:1\nredis_prefix = x:\n");
	fclose(f);
	ck_assert(h_daemon_start(&daemons[0], args) == 0);
	serve_locally("down", 70, 800, &s, &p);
	ck_assert_int_eq(fed_int(&daemons[0], "dropped"), 1);
	h_close(s);
	h_close(p);
	unlink(path);
}
END_TEST

/* ---- a hostile Redis ----------------------------------------------------- */

/* Frames a real Redis never sends, each on the connection where it hurts
 * most. "@" stands for the bulk string of the subscribed channel. */
static const struct {
	const char	*name;
	enum fr_link	 link;
	const char	*bytes;
	size_t		 pad;		/* then this many "x" */
} bad_frames[] = {
	{ "message of one element", FR_SUB, "*1\r\n$7\r\nmessage\r\n", 0 },
	{ "message, integer channel", FR_SUB,
	    "*3\r\n$7\r\nmessage\r\n:5\r\n$3\r\nabc\r\n", 0 },
	{ "message, nil channel", FR_SUB,
	    "*3\r\n$7\r\nmessage\r\n$-1\r\n$3\r\nabc\r\n", 0 },
	{ "message, array payload", FR_SUB,
	    "*3\r\n$7\r\nmessage\r\n@*1\r\n:1\r\n", 0 },
	{ "message of four elements", FR_SUB,
	    "*4\r\n$7\r\nmessage\r\n@$1\r\nx\r\n$1\r\ny\r\n", 0 },
	{ "integer kind", FR_SUB, "*3\r\n:1\r\n@$1\r\nx\r\n", 0 },
	{ "empty array", FR_SUB, "*0\r\n", 0 },
	{ "nil array", FR_SUB, "*-1\r\n", 0 },
	{ "unsubscribe without a count", FR_SUB, "*2\r\n$11\r\nunsubscribe\r\n@", 0 },
	{ "unsubscribe, string count", FR_SUB,
	    "*3\r\n$11\r\nunsubscribe\r\n@$1\r\n0\r\n", 0 },
	{ "subscribe, string count", FR_SUB,
	    "*3\r\n$9\r\nsubscribe\r\n@$1\r\n1\r\n", 0 },
	{ "unknown kind", FR_SUB, "*3\r\n$4\r\nnope\r\n@$1\r\nx\r\n", 0 },
	{ "pmessage never asked for", FR_SUB,
	    "*4\r\n$8\r\npmessage\r\n$1\r\n*\r\n@$1\r\nx\r\n", 0 },
	{ "status on the subscribe link", FR_SUB, "+OK\r\n", 0 },
	{ "integer on the subscribe link", FR_SUB, ":7\r\n", 0 },
	{ "not RESP", FR_SUB, "?\r\n", 0 },
	{ "arrays nested too deep", FR_SUB,
	    "*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n", 0 },
	{ "a billion elements announced", FR_SUB, "*1000000000\r\n", 0 },
	{ "2 MiB of one message", FR_SUB,
	    "*3\r\n$7\r\nmessage\r\n@$4194304\r\n", 2 << 20 },
	{ "unsolicited status on the publish link", FR_PUB, "+OK\r\n", 0 },
	{ "unsolicited array on the publish link", FR_PUB,
	    "*3\r\n$7\r\nmessage\r\n@$1\r\nx\r\n", 0 },
};

/* Fixture: a fake Redis on the socket path instead of redis-server. */
static void
fake_setup(void)
{
	redis_setup();
	ck_assert_msg((fake = fr_start(redis_.sock)) != NULL,
	    "fake Redis did not start on %s", redis_.sock);
}

static void
fake_teardown(void)
{
	fr_stop(fake);
	fake = NULL;
	teardown();
}

/* frame with every "@" replaced by the bulk string of channel; its length. */
static size_t
expand_frame(const char *frame, const char *channel, char *out, size_t cap)
{
	size_t n = 0;
	int k;

	for (; *frame != '\0'; frame++) {
		if (*frame == '@')
			k = snprintf(out + n, cap - n, "$%zu\r\n%s\r\n",
			    strlen(channel), channel);
		else
			k = snprintf(out + n, cap - n, "%c", *frame);
		ck_assert(k > 0 && (size_t)k < cap - n);
		n += (size_t)k;
	}
	return n;
}

/* The next two pushes are, in either order, the crm push of interaction iu
 * on topic n and a federation resync. */
static void
expect_crm_and_resync(struct h_conn *c, const char *who, unsigned long iu,
    unsigned long n)
{
	char t[80], u[37];
	int i, crm = 0, resync = 0;
	json_t *p;

	h_topic(n, t);
	h_uuid(iu, u);
	for (i = 0; i < 2; i++) {
		p = h_recv_push(c, 2 * CONVERGE_MS);
		ck_assert_msg(p != NULL, "%s: push %d missing", who, i);
		if (h_str(p, "type") && strcmp(h_str(p, "type"), "resync") == 0)
			resync += h_str(p, "reason") && strcmp(h_str(p,
			    "reason"), "federation") == 0;
		else
			crm += h_str(p, "topic") && strcmp(h_str(p, "topic"),
			    t) == 0 && strcmp(h_str(json_object_get(p,
			    "payload"), "interaction_uuid"), u) == 0;
		json_decref(p);
	}
	ck_assert_msg(crm == 1 && resync == 1, "%s: %d crm pushes of %s and %d "
	    "federation resyncs", who, crm, u, resync);
}

/* Each frame Redis never sends is counted as malformed and ends the link;
 * the daemon stays up, serves locally all along, links again and tells its
 * subscribers to resync. */
START_TEST(test_hostile_frame)
{
	struct h_conn *s, *p;
	char chan[120], *frame;
	size_t len, cap = 256 + bad_frames[_i].pad;

	channel_of(80, chan);
	ck_assert((frame = malloc(cap)) != NULL);
	len = expand_frame(bad_frames[_i].bytes, chan, frame, cap);
	memset(frame + len, 'x', bad_frames[_i].pad);
	len += bad_frames[_i].pad;
	daemon_up(0, NULL, NULL);
	serve_locally("up", 80, 900, &s, &p);

	ck_assert_msg(fr_inject(fake, bad_frames[_i].link, frame, len,
	    CONVERGE_MS) == 0, "%s: the daemon never subscribed or published",
	    bad_frames[_i].name);
	free(frame);
	ck_assert_int_eq(broadcast(p, "interaction_updated", 901, 80, 0), 1);
	expect_crm_and_resync(s, bad_frames[_i].name, 901, 80);
	ck_assert_msg(wait_fed_int(&daemons[0], "malformed", 1) == 1,
	    "%s: not counted as malformed", bad_frames[_i].name);
	ck_assert_int_eq(fed_int(&daemons[0], "reconnects"), 1);
	ck_assert(wait_state(&daemons[0], "up"));
	ck_assert_uint_ge(fr_accepted(fake), 4);

	deleted_reaches(p, s, 1, 902, 80);
	h_close(s);
	h_close(p);
}
END_TEST

/* A subscribe connection stuck in the middle of a frame (the rest of a
 * huge string never comes) answers no PING: the link is declared lost,
 * made again, and the subscribers are told to resync. */
START_TEST(test_subscribe_link_stuck)
{
	static const char partial[] = "*3\r\n$7\r\nmessage\r\n$2147483648\r\nxx";
	struct h_conn *s, *p;

	daemon_up(0, NULL, NULL);
	serve_locally("up", 81, 910, &s, &p);
	ck_assert(fr_inject(fake, FR_SUB, partial, sizeof partial - 1,
	    CONVERGE_MS) == 0);
	/* PING every second, 5 s without an answer: down. */
	ck_assert(wait_state_ms(&daemons[0], "down", 4 * CONVERGE_MS));
	ck_assert_int_eq(broadcast(p, "interaction_updated", 911, 81, 0), 1);
	expect_crm_and_resync(s, "local sub", 911, 81);
	expect_counts(&daemons[0], "reconnects", 1LL, "malformed", 0LL, NULL);
	h_close(s);
	h_close(p);
}
END_TEST

static Suite *
federation_suite(void)
{
	Suite *s = suite_create("federation");
	TCase *tc;

	tc = tcase_create("delivery");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_every_subscriber_once);
	tcase_add_test(tc, test_remote_order);
	tcase_add_test(tc, test_link_holds);
	tcase_add_test(tc, test_message_format);
	tcase_add_test(tc, test_origin_reuse);
	tcase_add_test(tc, test_prefix_isolation);
	suite_add_tcase(s, tc);

	tc = tcase_create("routing");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_interest_routing);
	tcase_add_test(tc, test_subscription_churn);
	suite_add_tcase(s, tc);

	tc = tcase_create("faults");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_redis_restart);
	tcase_add_test(tc, test_redis_stalled);
	tcase_add_test(tc, test_off_without_option);
	tcase_add_test(tc, test_auth);
	tcase_add_test(tc, test_acl);
	tcase_add_test(tc, test_bad_address);
	tcase_add_test(tc, test_config_file_tcp_down);
	suite_add_tcase(s, tc);

	tc = tcase_create("hostile");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, fake_setup, fake_teardown);
	tcase_add_loop_test(tc, test_hostile_frame, 0,
	    (int)(sizeof bad_frames / sizeof bad_frames[0]));
	tcase_add_test(tc, test_subscribe_link_stuck);
	suite_add_tcase(s, tc);

	tc = tcase_create("startup");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_redis_down_at_start);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(federation_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
