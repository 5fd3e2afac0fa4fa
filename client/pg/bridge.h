/* SPDX-License-Identifier: MIT — crmpubsub */
/* crmpubsub-pg: declarations shared by the bridge's modules. */
#ifndef CRMPUBSUB_BRIDGE_H
#define CRMPUBSUB_BRIDGE_H

#include <getopt.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <event2/event.h>

#include "buf.h"
#include "event.h"
#include "uuid_canon.h"

#define BRIDGE_NAME	"crmpubsub-pg"
#define BRIDGE_CHANNEL	"crmpubsub"	/* the doorbell's NOTIFY channel */

/* ---- config.c: the option table, config file, command line ------------- */

struct config {
	char		*dsn;		/* NULL: libpq's defaults (PG* variables) */
	char		*socket_path;	/* NULL: resolved like every client */
	double		 poll_interval;	/* seconds between polls of the outbox */
	unsigned	 batch;		/* outbox rows read per round */
	unsigned	 max_contacts;	/* contacts named by one broadcast */
	int		 verbose;
};

/* Defaults, then the file (if any), then "--key value" pairs from the
 * command line (keys[i], values[i]); NULL with *cause (malloc'd) on error. */
struct config	*config_build(const char *file, const char *const *keys,
		     const char *const *values, size_t n, char **cause);
void		 config_free(struct config *);
/* Maps a long option ("poll-interval") to its key; NULL when unknown. */
const char	*config_key_for_option(const char *option);
void		 config_print_usage(FILE *);
/* The getopt_long table built from the option table. */
const struct option *config_long_options(void);

/* ---- log.c: stderr lines (journald stamps them) --------------------------- */

void	log_init(int verbose);
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
/* Copies text into out as one printable line: control characters and runs
 * of blanks become one space, trailing blanks go. */
const char *log_one_line(const char *text, char *out, size_t outlen);

/* ---- retry.c: back-off between attempts, and what the log says -------- */

struct retry {
	const char	*what;		/* "postgres", "crmpubsubd", "outbox" */
	unsigned	 delay_ms;	/* the next wait; 0 after a success */
	int		 failing;	/* failed since the last success */
	char		 said[512];	/* the last reason logged */
	time_t		 said_at;
};

/* After a failure: logs "what: reason; retrying in N s" (an identical
 * reason at most once a minute) and returns the wait, doubled each time
 * up to a few seconds, with jitter. */
struct timeval	retry_failed(struct retry *, const char *reason);
/* After a success: the next failure waits briefly again; returns 1 when
 * this ends a run of failures (the caller logs that it recovered). */
int		retry_succeeded(struct retry *);

/* ---- db.c: the PostgreSQL connection ------------------------------------- */

/* Called with the result of the last statement of a query, or with a
 * one-line error (res NULL) when a statement failed or the connection went. */
typedef void	db_result_cb(void *res, const char *error,
		    const char *sqlstate, void *arg);

/* Checks the conninfo; -1 with *cause (malloc'd). */
int		db_init(struct event_base *, const char *dsn, char **cause);
void		db_start(void);
/* Connected and listening for the doorbell. */
int		db_ready(void);
/* Sends one query (several statements allowed); one at a time. 0 or -1. */
int		db_query(const char *sql, db_result_cb *, void *arg);
/* Tuples of a result handed to a db_result_cb. */
int		db_ntuples(void *res);
/* Field text; NULL for SQL NULL. */
const char	*db_value(void *res, int row, int col);
/* A failed statement's error as the log says it, with a hint where the
 * SQLSTATE tells the cause (schema missing, permission denied). */
const char	*db_explain(const char *error, const char *sqlstate);
void		db_shutdown(void);

/* ---- link.c: the crmpubsubd connection ---------------------------------- */

struct message;

/* The daemon's reply to a request, as proto/message.c reads it (NULL: the
 * link went before it came). */
typedef void	link_reply_cb(const struct message *reply, void *arg);

/* What the daemon's hello announced: the limits on one request. */
struct link_limits {
	size_t		max_line;	/* bytes in a request line */
	unsigned	max_contacts;	/* contacts in a broadcast; UINT_MAX:
					   not said */
};

void		link_init(struct event_base *, const char *socket_opt,
		    double reply_timeout);
void		link_start(void);
/* Connected, and the daemon answered hello. */
int		link_ready(void);
/* Queues a request line (len bytes, its newline included); cb gets its
 * reply, in request order. 0 or -1. */
int		link_send(const char *line, size_t len, link_reply_cb *,
		    void *arg);
void		link_shutdown(void);

/* ---- group.c: outbox rows into (transaction, interaction) groups -------- */

/* Outbox changes, as recorded by the triggers (see crmpubsub.sql). */
#define CHANGE_INSERTED	'I'
#define CHANGE_UPDATED	'U'
#define CHANGE_DELETED	'D'
#define CHANGE_PARTY	'P'
#define CHANGE_LOOKUP	'L'

struct outbox_row {
	uint64_t	id;
	uint64_t	txid;
	uint8_t		interaction[16];
	uint8_t		contact[16];
	int		has_contact;	/* 0: the column was NULL */
	char		change;
};

struct group {
	uint64_t		txid;
	uint8_t			interaction[16];
	enum crm_event		event;
	struct uuid_list	contacts;	/* distinct, first seen first */
};

/* Groups rows (sorted by txid, interaction, id). When more says that rows
 * were left unread, the last group may be incomplete and is left for the
 * next round, unless it is the only one. *used: the rows grouped, a prefix
 * of rows. 0, or -1 on ENOMEM; free with group_free. */
int	group_rows(const struct outbox_row *rows, size_t n, int more,
	    struct group **out, size_t *ngroups, size_t *used);
void	group_free(struct group *, size_t ngroups);
/* The event of one group's rows (change markers in id order). */
enum crm_event group_event(const struct outbox_row *rows, size_t n);
/* Appends the broadcast_to_contacts line of g naming its contacts from
 * first on: as many as max_contacts allows and a line of max_line bytes
 * (its newline aside) holds. *named: how many. 0, or -1 with *why (static
 * text: out of memory, or not even one contact fits). */
int	group_broadcast(struct buf *, const struct group *g, size_t first,
	    size_t max_contacts, size_t max_line, size_t *named,
	    const char **why);

/* ---- drain.c: outbox -> broadcasts -> delete ----------------------------- */

void	drain_init(struct event_base *, const struct config *);
/* Something may be waiting: a doorbell, a poll, a connection came up. */
void	drain_kick(void);
/* The daemon answered hello: broadcasts keep to the limits it announced
 * (and to max_contacts) from now on. */
void	drain_link_up(const struct link_limits *);
/* The database connection went; any open round is void. */
void	drain_db_lost(void);
/* A round is open (between reading and committing). */
int	drain_busy(void);
void	drain_shutdown(void);

#endif
