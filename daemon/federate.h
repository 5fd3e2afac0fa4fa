/* SPDX-License-Identifier: MIT — crmpubsub */
/* Federation internals: the `redis` address (fedaddr.c), one connection to
 * Redis (fedconn.c) and the record of this daemon's own messages
 * (fedecho.c), used by the link in federate.c. */
#ifndef CRMPUBSUBD_FEDERATE_H
#define CRMPUBSUBD_FEDERATE_H

#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

struct evdns_base;

#include "fedmsg.h"

/* ---- fedaddr.c: the `redis` address --------------------------------------- */

/* A parsed `redis` address. */
struct fed_addr {
	char	*path;		/* Unix socket, or NULL for TCP */
	char	*host;		/* without IPv6 brackets */
	int	 port;
	char	*user;		/* from redis://user:pass@…, or NULL */
	char	*password;
};

/* Parses unix:///PATH or redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]; 0, or
 * -1 when s is not such an address. */
int	fed_addr_parse(const char *s, struct fed_addr *);
void	fed_addr_free(struct fed_addr *);
/* Writes the address for logs (without credentials). */
void	fed_addr_format(const struct fed_addr *, char *out, size_t cap);
/* Fills ss for a Unix path or a numeric host: 0; 1 when the host is a name
 * to resolve first. */
int	fed_addr_sockaddr(const struct fed_addr *, struct sockaddr_storage *ss,
	    socklen_t *len);

/* ---- fedconn.c: one connection to Redis ----------------------------------- */

/* A frame from Redis of a shape the link can use; any other shape ends the
 * connection as malformed before it gets here. */
enum fedframe_kind {
	FEDFRAME_READY,		/* Redis accepted the first command */
	FEDFRAME_STATUS,	/* +text */
	FEDFRAME_ERROR,		/* -text */
	FEDFRAME_INTEGER,	/* :n */
	FEDFRAME_MESSAGE,	/* ["message", channel, payload] */
	FEDFRAME_SUBSCRIBE,	/* ["subscribe", channel, count] */
	FEDFRAME_UNSUBSCRIBE,	/* ["unsubscribe", channel, count] */
	FEDFRAME_PONG,		/* ["pong", text]: PING in subscribe mode */
};

struct fedframe {
	enum fedframe_kind	 kind;
	const char		*str;	/* status, error, channel, pong text */
	size_t			 len;
	const char		*payload;	/* of a message */
	size_t			 payload_len;
	long long		 integer;	/* of an integer, (un)subscribe */
};

/* How a connection ended: the peer or the network, or bytes that are not
 * a frame the link can use. */
enum fedconn_end { FEDCONN_LOST, FEDCONN_MALFORMED };

struct fedconn;

/* A complete, checked frame arrived. */
typedef void	fedconn_frame_cb(struct fedconn *, const struct fedframe *,
		    void *arg);
/* The connection is over (why: for the log); no callback follows. */
typedef void	fedconn_end_cb(struct fedconn *, enum fedconn_end,
		    const char *why, void *arg);

/* Starts connecting to the address (a host name through dns, which may be
 * NULL for a Unix path or a numeric host) and queues AUTH (with the
 * address's password), else PING: FEDFRAME_READY comes once Redis accepts
 * it, an error reply ends the connection. Commands may be queued at once.
 * NULL with why. */
struct fedconn	*fedconn_open(struct event_base *, struct evdns_base *dns,
		    const struct fed_addr *, fedconn_frame_cb *,
		    fedconn_end_cb *, void *arg, char *why, size_t whylen);
/* Queues one command (argv[0] is its name); 0, or -1 out of memory. */
int		 fedconn_command(struct fedconn *, int argc, const char **argv,
		    const size_t *lens);
/* Closes and frees; safe inside the connection's own callbacks. */
void		 fedconn_free(struct fedconn *);

/* ---- fedecho.c: this daemon's messages coming back ----------------------- */

/* Own messages published to channels this daemon listens to, oldest first,
 * each until Redis sends it back or it is forgotten (FED_ECHO_TTL_MS old,
 * or the oldest of FED_ECHO_MAX). */
struct fed_echoes {
	struct fed_echo	*v;		/* ring of cap (a power of two) */
	uint32_t	*seen;		/* counting filter over the hashes */
	size_t		 head, n, cap;
	size_t		 forgotten;	/* unmatched, since the last match */
};

#define FED_ECHOES_INIT	{ NULL, NULL, 0, 0, 0, 0 }
#define FED_ECHO_TTL_MS	10000
#define FED_ECHO_MAX	16384

/* Notes that m on topic k was published at now_ms and will come back. */
void	fed_echoes_expect(struct fed_echoes *, const struct topic_key *k,
	    const struct fedmsg *m, uint64_t now_ms);
/* 1 when m on k is one of the expected messages (then it and the older
 * ones that did not come back are dropped), or may be one that was
 * forgotten; else 0. */
int	fed_echoes_take(struct fed_echoes *, const struct topic_key *k,
	    const struct fedmsg *m, uint64_t now_ms);
/* Forgets everything (a new link starts with nothing on its way back). */
void	fed_echoes_clear(struct fed_echoes *);
void	fed_echoes_free(struct fed_echoes *);

#endif
