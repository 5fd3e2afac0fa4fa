/* SPDX-License-Identifier: MIT — crmpubsub */
/* libFuzzer target: arbitrary byte streams through the daemon's real request
 * path (framing, parsing, validation, dispatch, fan-out, output queue).
 *
 * Input layout: byte 0 chooses the chunk size the stream is fed in (0: all at
 * once), byte 1 chooses a configuration profile, the rest is what a peer
 * sends. Each run opens two connections on socketpairs: a subscriber holding
 * two contact topics (so broadcasts in the input cause pushes) and the fuzzed
 * peer. Every line the daemon writes back must be one JSON object, a reply
 * ("ok" and "op") or a push ("type"), and the client's reader
 * (proto/message.c) must read it as one; a reply's id, echoed as the peer
 * wrote it, may be any JSON number. After the run every connection is
 * closed and the registry must be empty again. */

#include <sys/socket.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crmpubsubd.h"
#include "jscan.h"
#include "message.h"
#include "request.h"

/* The subscriber's contacts (the seeds' broadcasts name them). */
#define FZ_CONTACT_A	"0190a5b2-7c1e-7a01-8f00-000000000001"
#define FZ_CONTACT_B	"0190A5B2-7C1E-7A01-8F00-000000000002"
#define FZ_NPROFILES	4
#define FZ_PUMP_ROUNDS	16
#define FZ_CHUNKS_PER_TURN	4

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* What main.c defines in the daemon. */
struct event_base	*base;

/* The peer side of one daemon connection: bytes received, not yet a line. */
struct fz_peer {
	int	 fd;
	int	 drain;		/* read what the daemon writes */
	int	 want_reply;	/* lines must be replies or pushes */
	char	 line[1 << 17];
	size_t	 len;
	int	 overflow;	/* current line longer than line[] */
};

static struct config	*profiles[FZ_NPROFILES];
static struct topic_key	 fz_topics[2];	/* the subscriber's */

/* Stops the run with a message: libFuzzer records the input. */
static void __attribute__((noreturn))
fz_fail(const char *what, const char *line, size_t len)
{
	fprintf(stderr, "fuzz_daemon: %s: %.*s\n", what, (int)(len > 300 ? 300 :
	    len), line);
	abort();
}

/* Builds one profile from key/value pairs. */
static struct config *
fz_profile(const char *const *kv)
{
	struct config	*c = config_new();
	char		*cause = NULL;

	if (c == NULL)
		abort();
	for (; kv[0] != NULL; kv += 2)
		if (config_set(c, kv[0], kv[1], &cause) == -1)
			fz_fail("config_set", kv[0], strlen(kv[0]));
	return c;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char		 uid_other[32];
	uint8_t		 u[16];
	const char	*small[] = { "max_line", "96", "max_outbuf", "512",
	    "max_subscriptions", "3", "max_contacts", "3", NULL };
	const char	*tiny_out[] = { "max_outbuf", "256", NULL };
	const char	*none[] = { NULL };
	const char	*acl[] = { "publish_uids", uid_other, "publish_gids",
	    "4242", NULL };

	snprintf(uid_other, sizeof uid_other, "%lu",
	    (unsigned long)getuid() + 1);
	signal(SIGPIPE, SIG_IGN);
	log_init(0);
	if ((base = event_base_new()) == NULL || conn_init(base) == -1)
		abort();
	profiles[0] = fz_profile(none);
	profiles[1] = fz_profile(small);
	profiles[2] = fz_profile(acl);
	profiles[3] = fz_profile(tiny_out);
	cfg = profiles[0];
	stats.started = time(NULL);
	if (uuid_canon_parse(FZ_CONTACT_A, UUID_TEXT_LEN, u) == -1)
		abort();
	topic_contact_interactions(u, &fz_topics[0]);
	if (uuid_canon_parse(FZ_CONTACT_B, UUID_TEXT_LEN, u) == -1)
		abort();
	topic_contact_interactions(u, &fz_topics[1]);
	return 0;
}

/* jscan_each_member callback: blanks a numeric id to 0 (in place), as
 * jansson cannot hold every JSON number. */
static void
fz_blank_number(size_t off, size_t len, void *arg)
{
	char	*line = arg;

	if (jscan_is_number(line + off, len)) {
		memset(line + off, ' ', len);
		line[off] = '0';
	}
}

/* Checks one complete output line. */
static void
fz_check_line(struct fz_peer *p, const char *line, size_t len)
{
	static char	 copy[sizeof p->line];
	json_t		*o;
	json_error_t	 err;
	json_t		*ok, *op, *type;
	struct message	 m;
	int		 reply;

	memcpy(copy, line, len);
	(void)jscan_each_member(copy, len, "id", fz_blank_number, copy);
	o = json_loadb(copy, len, 0, &err);
	if (!json_is_object(o))
		fz_fail("daemon wrote a line that is not a JSON object", line,
		    len);
	ok = json_object_get(o, "ok");
	op = json_object_get(o, "op");
	type = json_object_get(o, "type");
	if (ok != NULL && type != NULL)
		fz_fail("line has both ok and type", line, len);
	if (ok != NULL) {
		if (!json_is_boolean(ok) || op == NULL ||
		    !(json_is_string(op) || json_is_null(op)))
			fz_fail("malformed reply", line, len);
		if (json_is_false(ok) && (!json_is_string(json_object_get(o,
		    "error")) || !json_is_string(json_object_get(o,
		    "message"))))
			fz_fail("error reply without error/message", line, len);
	} else if (!json_is_string(type))
		fz_fail("line is neither reply nor push", line, len);
	reply = ok != NULL;
	json_decref(o);
	/* The client reads it as what it is (ids blanked: a number beyond
	 * jansson's range is readable only to the scanner). */
	if (message_parse(copy, len, &m) == -1 || m.type == MESSAGE_BAD_CRM ||
	    m.type == MESSAGE_OTHER || (m.type == MESSAGE_REPLY) != reply)
		fz_fail("the client's reader misreads a daemon line", line, len);
}

/* Reads everything the daemon wrote to this peer and checks each line;
 * returns the number of bytes read. */
static size_t
fz_drain(struct fz_peer *p)
{
	char	 tmp[16384];
	ssize_t	 n, i;
	size_t	 got = 0;

	if (!p->drain || p->fd == -1)
		return 0;
	while ((n = read(p->fd, tmp, sizeof tmp)) > 0) {
		got += (size_t)n;
		for (i = 0; i < n; i++) {
			if (tmp[i] == '\n') {
				if (!p->overflow)
					fz_check_line(p, p->line, p->len);
				p->len = 0;
				p->overflow = 0;
			} else if (p->len < sizeof p->line)
				p->line[p->len++] = tmp[i];
			else
				p->overflow = 1;
		}
	}
	if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK)
		p->fd = -1;	/* reset by the daemon: nothing more to read */
	return got;
}

/* Whether c is still an open daemon connection. */
static int
fz_alive(const struct conn *c)
{
	const struct conn	*x;

	TAILQ_FOREACH(x, &conns, entry)
		if (x == c)
			return 1;
	return 0;
}

/* Runs the daemon's loop without blocking and lets the peers read, until
 * neither side has anything left to do. */
static void
fz_pump(struct fz_peer *a, struct fz_peer *b)
{
	int	i;

	for (i = 0; i < FZ_PUMP_ROUNDS; i++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		if (fz_drain(a) + fz_drain(b) == 0)
			break;
	}
}

/* Feeds data as the daemon's read callback would. 0, or -1 once the
 * connection is gone. */
static int
fz_feed(struct conn *c, const uint8_t *data, size_t len)
{
	if (!fz_alive(c))
		return -1;
	conn_feed(c, (const char *)data, len);
	if (c->flags & CONN_DEAD) {
		conn_close(c, c->dead_why);
		return -1;
	}
	return 0;
}

/* A socketpair: fds[0] for the daemon, fds[1] for the peer. */
static void
fz_pair(int fds[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	    fds) == -1)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz_peer	 sub, peer;
	struct buf		 line = BUF_INIT;
	int			 sfd[2], pfd[2];
	struct conn		*cs, *cp, *c;
	size_t			 chunk, off, n, turn;
	unsigned		 profile;

	if (size < 2)
		return 0;
	chunk = data[0];
	profile = data[1] % FZ_NPROFILES;
	data += 2;
	size -= 2;
	cfg = profiles[profile];

	fz_pair(sfd);
	fz_pair(pfd);
	memset(&sub, 0, sizeof sub);
	memset(&peer, 0, sizeof peer);
	sub.fd = sfd[1];
	sub.drain = profile != 3;	/* profile 3: a subscriber that never reads */
	peer.fd = pfd[1];
	peer.drain = 1;
	if ((cs = conn_new(sfd[0])) == NULL || (cp = conn_new(pfd[0])) == NULL)
		abort();
	if (request_topics(&line, OP_SUBSCRIBE, fz_topics, 2, SIZE_MAX) != 2)
		abort();
	fz_feed(cs, (const uint8_t *)buf_head(&line), buf_len(&line));
	buf_free(&line);
	fz_pump(&sub, &peer);

	if (chunk == 0)
		chunk = size;
	/* The loop runs after every FZ_CHUNKS_PER_TURN chunks, as if that
	 * many reads had happened in one turn. */
	for (off = 0, turn = 0; off < size; off += n) {
		n = size - off < chunk ? size - off : chunk;
		if (fz_feed(cp, data + off, n) == -1)
			break;
		if (++turn % FZ_CHUNKS_PER_TURN == 0)
			fz_pump(&sub, &peer);
	}
	/* The peer hangs up: the daemon notices through its read callback. */
	if (peer.fd != -1)
		shutdown(pfd[1], SHUT_RDWR);
	fz_pump(&sub, &peer);

	while ((c = TAILQ_FIRST(&conns)) != NULL)
		conn_close(c, "end of fuzz run");
	close(sfd[1]);
	close(pfd[1]);
	event_base_loop(base, EVLOOP_NONBLOCK);
	if (nconns != 0 || subs_ntopics() != 0 || subs_nsubscriptions() != 0)
		fz_fail("registry not empty after every connection closed",
		    "", 0);
	return 0;
}
