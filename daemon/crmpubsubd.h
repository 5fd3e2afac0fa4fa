/* SPDX-License-Identifier: MIT — crmpubsub */
/* crmpubsubd: declarations shared by the daemon's modules. */
#ifndef CRMPUBSUBD_H
#define CRMPUBSUBD_H

#include <sys/queue.h>
#include <sys/types.h>
#include <sys/un.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>

#include "buf.h"
#include "event.h"
#include "op.h"
#include "proto_error.h"
#include "reply.h"
#include "topic.h"
#include "uuid_canon.h"

/* ---- config.c: the option table, config file, command line ------------- */

enum opt_type { OPT_STRING, OPT_PATH, OPT_GROUP, OPT_REDIS, OPT_LISTEN,
    OPT_SIZE, OPT_UINT, OPT_SECONDS, OPT_UIDS, OPT_GIDS, OPT_MODE, OPT_FLAG };

/* One setting: its config key (the long option is the key with '-' for
 * '_'), how its value is parsed and checked, and its --help line. */
struct option_def {
	const char		*key;
	enum opt_type		 type;
	size_t			 offset;	/* in struct config */
	const char		*defval;	/* NULL: unset */
	unsigned long long	 min, max;
	int			 reloadable;
	const char		*arg;		/* the value in --help */
	const char		*help;
};
#define CONFIG_MAX_OPTIONS	32

struct id_list {
	unsigned	*v;
	size_t		 n;
};

struct config {
	char		*socket_path;		/* NULL: resolve the default */
	size_t		 max_outbuf;
	size_t		 max_line;
	unsigned	 max_connections;
	unsigned	 max_subscriptions;
	unsigned	 max_contacts;
	double		 lag_timeout;
	struct id_list	 publish_uids;
	struct id_list	 publish_gids;
	unsigned	 socket_mode;
	char		*socket_group;
	int		 verbose;
	char		*redis;			/* federation: Redis address */
	char		*redis_prefix;		/* channel prefix */
	char		*redis_password;
	char		*metrics_listen;	/* NULL: no /metrics listener */
};

/* The settings in force; replaced as a whole by a successful reload. */
extern struct config	*cfg;

/* One command-line override, kept so a reload can apply it again. */
struct config_override {
	const char	*key;
	const char	*value;
};

struct config	*config_new(void);
void		 config_free(struct config *);
int		 config_set(struct config *, const char *key, const char *value,
		     char **cause);
int		 config_load_file(struct config *, const char *path, char **cause);
/* Defaults, then the file (if any), then the overrides. */
struct config	*config_build(const char *file, const struct config_override *,
		     size_t noverrides, char **cause);
/* Keys that a reload cannot change; logs each one that differs. */
void		 config_warn_fixed(const struct config *old,
		     const struct config *new);
/* Whether a peer may publish under the current ACL. */
int		 config_may_publish(const struct config *, uid_t, gid_t);
/* Maps a long option name (dashes) to its key; NULL when unknown. */
const char	*config_key_for_option(const char *option);
/* "max_outbuf" -> "--max-outbuf" in out; returns out. */
const char	*config_option_name(const char *key, char *out, size_t len);
/* The option table and its length. */
const struct option_def *config_options(size_t *n);

/* ---- optval.c: option values, by type ------------------------------------ */

/* Whether options of type t hold a string (char *, NULL when unset). */
int		 optval_is_text(enum opt_type);
/* Parses value into option o's field of c; -1 with *why set to a detail
 * (or left empty) when the value is bad, the field unchanged. */
int		 optval_parse(struct config *c, const struct option_def *o,
		     const char *value, char *why, size_t whylen);
/* Whether option o has the same value in a and b. */
int		 optval_same(const struct option_def *o, const struct config *a,
		     const struct config *b);
/* What a good value of option o looks like, for error messages. */
void		 optval_expected(const struct option_def *o, char *buf,
		     size_t len);

/* ---- cmdline.c: getopt table and --help from the option table ------------ */

void		 config_print_usage(FILE *);
/* The getopt_long table built from the option table. */
const struct option *config_long_options(void);

/* ---- log.c --------------------------------------------------------------- */

void	log_init(int verbose);
void	log_set_verbose(int);
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_errx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
/* Sets *cause to a formatted message (malloc'd, NULL without memory) for
 * the caller to report; returns -1. */
int	log_cause(char **cause, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* Copies peer text into out with non-printable bytes escaped (\xNN). */
const char *log_escape(const char *s, size_t len, char *out, size_t outlen);

/* ---- subs.c: the two-way subscription registry --------------------------- */

struct conn;

/* One subscriber of a topic, pointing at its entry in the connection. */
struct topic_sub {
	struct conn	*conn;
	uint32_t	 conn_idx;
};

/* One subscribed topic of a connection, pointing at its entry in the topic. */
struct conn_sub {
	struct topic	*topic;
	uint32_t	 topic_idx;
};

struct topic {
	struct topic_key	 key;
	uint32_t		 hash;
	uint32_t		 nsubs;
	uint32_t		 cap;
	struct topic_sub	*subs;
};

/* 1 added, 0 already held, -1 out of memory. */
int		 subs_add(struct conn *, const struct topic_key *);
/* 1 removed, 0 not held. */
int		 subs_remove(struct conn *, const struct topic_key *);
void		 subs_remove_all(struct conn *);
struct topic	*subs_find(const struct topic_key *);
int		 subs_holds(const struct conn *, const struct topic_key *);
size_t		 subs_ntopics(void);
size_t		 subs_nsubscriptions(void);
/* Calls fn for every topic; stops early when fn returns non-zero. */
void		 subs_foreach(int (*fn)(struct topic *, void *), void *arg);
/* Up to limit topics whose keys follow after (NULL: from the first), in
 * key order, into out; returns how many. *more: topics follow the last. */
size_t		 subs_page(const struct topic_key *after, size_t limit,
		     struct topic **out, int *more);
void		 subs_free_all(void);
/* Slots the table has looked at since start: the cost of every lookup,
 * insertion and rebuild (for tests). */
unsigned long long subs_probes(void);
/* Rehashes the table under this key instead of a random one (for tests). */
void		 subs_set_hash_key(const uint8_t key[16]);

/* ---- conn.c: one client connection ---------------------------------------- */

#define CONN_DISCARD	0x01	/* swallowing an over-long line */
#define CONN_LAGGED	0x02	/* pushes dropped until output drains */
#define CONN_DIRTY	0x04	/* on the flush list */
#define CONN_CLOSING	0x10	/* close once output is written */
#define CONN_SHUTDOWN	0x20	/* daemon is stopping */
#define CONN_DEAD	0x40	/* replies piled up unread: close now */

struct conn {
	int			 fd;
	unsigned		 flags;
	uint64_t		 id;
	pid_t			 pid;
	uid_t			 uid;
	gid_t			 gid;
	uint32_t		 out_hint;	/* capacity of the last freed queue */
	char			*name;		/* from hello, NULL before */
	struct event		*ev_read;
	struct event		*ev_write;	/* made on first short write */
	struct event		*ev_lag;	/* made when first lagged */
	struct buf		 in;		/* partial request line */
	struct buf		 out;		/* replies and pushes not yet written */
	unsigned long long	 dropped;	/* pushes dropped while lagged */
	const char		*dead_why;	/* static text, with CONN_DEAD */
	struct conn_sub		*subs;
	uint32_t		 nsubs;
	uint32_t		 subs_cap;
	TAILQ_ENTRY(conn)	 entry;		/* all connections, by id */
	TAILQ_ENTRY(conn)	 dirty_entry;	/* connections with output */
};

TAILQ_HEAD(conn_list, conn);
extern struct conn_list	 conns;
extern unsigned		 nconns;

/* Connections' events are made on this base. */
int	 conn_init(struct event_base *);
/* Takes over an accepted fd; NULL when refused. */
struct conn *conn_new(int fd);
/* Feeds bytes read from the peer through framing and dispatch. */
void	 conn_feed(struct conn *, const char *data, size_t len);
/* Queues a push within the output budget: 1 queued, 0 dropped. */
int	 conn_push(struct conn *, const char *data, size_t len);
/* Marks c as having output; written at the end of this loop turn. */
void	 conn_output_added(struct conn *);
void	 conn_close(struct conn *, const char *why);
/* Before a reply: closes (via conn_kill) a peer that left more than
 * 2 * max_outbuf of earlier output unread, and returns 1; else 0. */
int	 conn_check_reply_budget(struct conn *);
/* Marks c to be closed as soon as its request handling returns. */
void	 conn_kill(struct conn *, const char *why);
/* Sends shutdown to everyone and stops reading; each connection closes
 * once its output is written. */
void	 conn_shutdown_all(void);
/* Whether any connection is left (during shutdown: still writing). */
int	 conn_any_open(void);
void	 conn_close_all(void);
/* "#id name pid/uid" for log lines. */
const char *conn_label(const struct conn *);

/* ---- ops.c: the op table ---------------------------------------------------- */

/* Handles one complete request line (without its newline). */
void	 ops_dispatch(struct conn *, const char *line, size_t len);
/* Queues an error reply outside any request (over-long line, refused). */
void	 ops_reply_error(struct buf *, const char *op, const struct reply_id *,
	     enum proto_error, const char *message);

/* ---- inspect.c: the read-only ops ------------------------------------------ */

/* stats, topics and clients: op handlers (see ops.c), writing their reply
 * fields into b; -1 with f set on a bad request. */
int	 inspect_stats(struct conn *, const json_t *req, struct buf *b,
	     struct proto_fail *f);
int	 inspect_topics(struct conn *, const json_t *req, struct buf *b,
	     struct proto_fail *f);
int	 inspect_clients(struct conn *, const json_t *req, struct buf *b,
	     struct proto_fail *f);

/* ---- broadcast.c: fan-out ------------------------------------------------- */

/* Fans out, counts, and writes the reply fields "topics" and "delivered". */
void	 broadcast_run(enum crm_event, const uint8_t interaction_uuid[16],
	     const struct uuid_list *contacts, struct buf *fields);

/* Queues the push for one topic to its local subscribers; returns how many
 * were queued. Federation calls it for messages received from Redis. */
size_t	 broadcast_deliver(enum crm_event, const struct topic_key *,
	     const uint8_t interaction_uuid[16]);

/* ---- fastpath.c: the op table's fast column ------------------------------- */

struct jscan;

/* A request line the scanner read: its op and id. */
struct fast_request {
	enum proto_op		 op;
	int			 has_id;
	struct reply_id		 id;	/* as written */
	const struct jscan	*js;	/* its tokens, until the next scan */
};

/* 0 when line is within the scanner's subset, an object whose op is a
 * known op's name and whose id (if any) a string or number; else -1. */
int	 fastpath_scan(const char *line, size_t len, struct fast_request *);
/* Fast parsers, one per op that has one (see ops.c). */
int	 fastpath_ping(struct conn *, const struct jscan *, struct buf *);
int	 fastpath_broadcast_to_contacts(struct conn *, const struct jscan *,
	     struct buf *);
int	 fastpath_broadcast_interaction(struct conn *, const struct jscan *,
	     struct buf *);

/* ---- federate.c: daemons sharing broadcasts through Redis pub/sub ------- */

/* 0 when s is a usable `redis` address (unix:///path, redis://…), else -1. */
int	 federate_check_address(const char *s);
/* Starts the link when cfg names a Redis server; 0, or -1 with *cause. */
int	 federate_init(struct event_base *, const struct config *, char **cause);
/* Drops the link and frees everything; no Redis traffic afterwards. */
void	 federate_shutdown(void);
/* Registry hooks: a topic got its first local subscriber / lost its last. */
void	 federate_topic_added(const struct topic_key *);
void	 federate_topic_removed(const struct topic_key *);
/* Publishes one locally handled broadcast of one topic to the other daemons. */
void	 federate_publish(enum crm_event, const struct topic_key *,
	     const uint8_t interaction_uuid[16]);
/* Appends ,"federation":{…} to the stats object. */
void	 federate_stats_write(struct buf *);

/* ---- stats.c ------------------------------------------------------------- */

struct stats {
	time_t			started;
	unsigned long long	connections_total;
	unsigned long long	connections_rejected;
	unsigned long long	requests;
	unsigned long long	broadcasts;
	unsigned long long	delivered;
	unsigned long long	dropped;
	unsigned long long	resyncs;
	unsigned long long	errors;
	unsigned long long	errors_by_code[PERR_COUNT];
	unsigned long long	slow_closed;
};

extern struct stats	 stats;

/* One "key":number member of the stats object. */
struct stats_row {
	const char		*key;
	unsigned long long	 value;
};

int	 stats_write(struct buf *);
/* Appends each row as "key":value, after a member already written. */
void	 stats_rows_write(struct buf *, const struct stats_row *, size_t);
unsigned long long stats_uptime(void);
/* Counts one error reply of this code. */
void	 stats_count_error(enum proto_error);

/* ---- metrics.c: the Prometheus exposition of the stats object ------------ */

/* Appends the exposition of a stats object (as the stats op returns it) to
 * out; -1 when memory runs out. */
int	 metrics_write(const json_t *obj, struct buf *out);

/* ---- httpd.c: the /metrics listener --------------------------------------- */

/* 0 when s is a usable metrics_listen value (HOST:PORT, [HOST]:PORT or
 * unix:/PATH), else -1. */
int	 httpd_check_address(const char *s);
/* Starts serving /metrics when cfg->metrics_listen is set; 0, or -1 with
 * *cause. */
int	 httpd_open(struct event_base *, const struct config *, char **cause);
/* Stops listening and drops every open HTTP connection. */
void	 httpd_close(void);

/* ---- listen.c ------------------------------------------------------------- */

/* The longest socket path the daemon creates: sun_path less its NUL and
 * the ".NNNNNNN" of the temporary name it binds first. */
#define LISTEN_TMP_SUFFIX	8
#define LISTEN_PATH_MAX		\
	(sizeof(((struct sockaddr_un *)0)->sun_path) - 1 - LISTEN_TMP_SUFFIX)

int	 listen_open(struct event_base *, const struct config *, char **cause);
void	 listen_stop(void);	/* stop accepting, unlink the socket we made */
const char *listen_path(void);
/* Before binding path: -1 with *cause when something answers there or it
 * is not a socket; a stale socket is removed. 0 when the path is free. */
int	 listen_probe(const char *path, char **cause);

/* ---- notify.c ------------------------------------------------------------- */

/* Sends state ("READY=1", "STOPPING=1") to $NOTIFY_SOCKET, if set. */
void	 notify_send(const char *state);
/* READY=1 with a first STATUS=, then STATUS= every few seconds and, when
 * systemd asks for it (WATCHDOG_USEC), WATCHDOG=1 at half its interval. */
int	 notify_start(struct event_base *);
void	 notify_stop(void);
/* Around a reload: RELOADING=1 with MONOTONIC_USEC=, then READY=1 (with
 * the reason in STATUS= when the reload failed, else NULL). */
void	 notify_reloading(void);
void	 notify_reloaded(const char *failure);

/* ---- main.c --------------------------------------------------------------- */

extern struct event_base	*base;

#endif
