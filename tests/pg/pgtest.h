/* SPDX-License-Identifier: MIT — crmpubsub */
/* PostgreSQL test support: a real PostgreSQL 15 cluster in a temp
 * directory, run as an unprivileged user and reachable only through a Unix
 * socket in that directory; databases with the CRM tables and the outbox
 * installed by psql from client/pg/crmpubsub.sql; crmpubsub-pg processes;
 * and push collection from the real daemon. Every wait is bounded. */
#ifndef CRMPUBSUB_PGTEST_H
#define CRMPUBSUB_PGTEST_H

#include <sys/types.h>
#include <stddef.h>

#include <check.h>
#include <libpq-fe.h>

#include "harness.h"

#define PGT_WAIT_MS	15000	/* bound of any wait for the bridge's work */

/* The cluster this test program starts once (pgt_cluster_up). */
struct pgt_cluster {
	char	dir[256];	/* data in <dir>/data, socket and log in <dir> */
	pid_t	pid;		/* the postmaster */
	uid_t	uid;		/* who runs it (ourselves unless root) */
	gid_t	gid;
};
extern struct pgt_cluster pgt;

/* initdb and start; on failure prints why and exits (an unchecked fixture). */
void	 pgt_cluster_up(void);
/* Stops the cluster and removes its directory. */
void	 pgt_cluster_down(void);
/* Starts the stopped cluster again and waits (bounded) until it answers. */
void	 pgt_cluster_start(void);
/* Stops it: sig SIGTERM smart, SIGINT fast, SIGQUIT immediate (a crash). */
void	 pgt_cluster_stop(int sig);
/* Appends a line to the cluster's pg_hba.conf (before the trust lines) and
 * reloads it. */
void	 pgt_hba_prepend(const char *line);

/* conninfo of database db as the superuser postgres, in a buffer of the
 * calling thread. */
const char *pgt_dsn(const char *db);
/* A fresh database with the CRM tables (contacts, interactions, parties);
 * with install, crmpubsub.sql is run on it through psql. Returns its name. */
const char *pgt_database(int install);
/* Empties the CRM tables and the outbox, and adds contacts 0..99 again. */
void	 pgt_reset(PGconn *);
/* Runs psql -f file on db with "-v name=value" pairs (NULL-terminated,
 * may be NULL); the exit status. */
int	 pgt_psql(const char *db, const char *file, const char *const *vars);
/* Runs psql -c sql on db as postgres; the exit status. */
int	 pgt_psql_c(const char *db, const char *sql);
/* Connects to db, asserted. */
PGconn	*pgt_connect(const char *db);
/* Runs SQL, asserting it succeeds. */
void	 pgt_exec(PGconn *, const char *fmt, ...)
	     __attribute__((format(printf, 2, 3)));
/* One integer from a query, asserted. */
long long pgt_int(PGconn *, const char *fmt, ...)
	     __attribute__((format(printf, 2, 3)));
/* Rows left in crmpubsub.outbox. */
long long pgt_outbox(PGconn *);
/* Polls until the outbox is empty: 1, or 0 after timeout_ms. */
int	 pgt_outbox_drains(PGconn *, int timeout_ms);

/* A crmpubsub-pg process with its stderr in <dir>/bridge-<n>.log. */
struct pgt_bridge {
	pid_t	pid;
	char	log[320];
};
/* Path of the bridge: $CRMPUBSUB_PG, else <$CRMPUBSUB_BUILD>/client/pg/… */
const char *pgt_bridge_bin(void);
/* Starts any program (argv NULL-terminated) the same way, its stdout and
 * stderr in log; the other pgt_bridge_* and pgt_log_* calls apply. */
void	 pgt_program_start(struct pgt_bridge *, const char *log,
	     char *const *argv, char *const *env);
/* Starts the bridge with args (NULL-terminated) and env (NULL or
 * NULL-terminated "K=V" list); logs go to a file in dir. */
void	 pgt_bridge_start(struct pgt_bridge *, const char *dir,
	     const char *const *args, char *const *env);
/* Starts it on db with the daemon's socket and poll interval. */
void	 pgt_bridge_on(struct pgt_bridge *, const char *dir, const char *db,
	     const char *sock, const char *poll_interval);
/* Sends sig and waits (bounded); the wait status. */
int	 pgt_bridge_stop(struct pgt_bridge *, int sig);
/* SIGTERM and asserts a clean exit (status 0). */
void	 pgt_bridge_stop_clean(struct pgt_bridge *);
/* Waits until the log holds a line containing every one of the strings
 * (NULL-terminated); returns that line (static) or NULL after timeout_ms. */
const char *pgt_log_line(const struct pgt_bridge *, int timeout_ms, ...)
	     __attribute__((sentinel));
/* The first line of the log that does not start with prefix (static), or
 * NULL when every line does. */
const char *pgt_log_stray_line(const struct pgt_bridge *, const char *prefix);
/* Prints the bridge's log (a failure's context). */
void	 pgt_show_log(const struct pgt_bridge *);
/* Whether the process still runs. */
int	 pgt_alive(pid_t);

/* Test UUIDs: contact n and interaction n (distinct ranges). */
const char *pgt_contact(unsigned n);
const char *pgt_interaction(unsigned n);
/* A subscriber to contacts lo..hi (inclusive), its subscribe lines cut to
 * the max_line its hello announced. */
struct h_conn *pgt_subscriber(const char *sock, unsigned lo, unsigned hi);

/* Pushes as "event contact interaction" strings (contact/interaction as
 * numbers), sorted, for comparing whole sets. */
struct pgt_pushes {
	char	**v;
	size_t	  n, cap;
};
void	 pgt_pushes_add(struct pgt_pushes *, const char *event, unsigned contact,
	     unsigned interaction);
/* Moves every push of src into dst. */
void	 pgt_pushes_take(struct pgt_pushes *dst, struct pgt_pushes *src);
void	 pgt_pushes_sort(struct pgt_pushes *);
void	 pgt_pushes_free(struct pgt_pushes *);
/* Reads pushes from c until n arrived (or timeout_ms passed), into got. */
void	 pgt_collect(struct h_conn *, size_t n, int timeout_ms,
	     struct pgt_pushes *got);
/* Receives exactly the expected pushes (any order) and then nothing for
 * quiet_ms; asserted, the failure lists both sets. */
void	 pgt_expect(struct h_conn *, struct pgt_pushes *want, int quiet_ms);
/* Asserts every expected push is among got (duplicates allowed). */
void	 pgt_expect_at_least(struct pgt_pushes *got, struct pgt_pushes *want);

/* Runs the suite (forking per test, or all in this process); the exit
 * status for main. */
int	 pgt_run(Suite *, int fork);

#endif
