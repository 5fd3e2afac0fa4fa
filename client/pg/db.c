/* SPDX-License-Identifier: MIT — crmpubsub */
/* The PostgreSQL connection: a non-blocking connect (PQconnectStartParams,
 * PQconnectPoll), LISTEN for the doorbell, one query at a time
 * (PQsendQuery, PQconsumeInput, PQgetResult), reconnection with back-off.
 * Every wait is a libevent event on PQsocket; nothing here blocks. */

#include <sys/time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "bridge.h"

#define DB_CONNECT_TIMEOUT_S	10
/* Set on the bridge's session: if the bridge hangs with a round open, the
 * server ends the session after this long, and its rows (and the advisory
 * lock) go to another bridge. Rounds last milliseconds. */
#define DB_SETUP_SQL \
	"LISTEN " BRIDGE_CHANNEL "; " \
	"SET idle_in_transaction_session_timeout = '60s'; " \
	"SELECT 1 FROM crmpubsub.outbox LIMIT 0; " \
	"DELETE FROM crmpubsub.outbox WHERE false"

enum db_state { DB_DOWN, DB_CONNECTING, DB_SETUP, DB_READY };

static struct event_base	*db_base;
static char			*db_dsn;
static PGconn			*db_conn;
static enum db_state		 db_state;
static struct event		*db_connect_ev;	/* one step of the connect */
static struct event		*db_read_ev;	/* persistent, once connected */
static struct event		*db_write_ev;	/* while output is queued */
static struct event		*db_retry_ev;	/* the wait before reconnecting */
static struct event		*db_deadline_ev; /* bounds one connect */
static struct event		*db_dead_ev;	/* a failure found mid-call */
static char			 db_dead_reason[512];
static struct retry		 db_retry = { .what = "postgres" };

/* The query in flight: its callback and what its statements returned. */
static db_result_cb		*db_cb;
static void			*db_cb_arg;
static PGresult			*db_last;
static char			 db_error[512];
static char			 db_sqlstate[6];

static void	db_connect(evutil_socket_t, short, void *);
static void	db_lost(const char *reason);
static void	db_lost_cb(evutil_socket_t, short, void *);
static void	db_setup_done(void *, const char *, const char *, void *);

/* A libpq message as one line. */
static const char *
db_message(const char *msg)
{
	static char	line[512];

	return log_one_line(msg != NULL && *msg != '\0' ? msg :
	    "unknown error", line, sizeof line);
}

/* A conninfo parse error with every quoted fragment longer than one
 * character replaced by "...": libpq quotes pieces of the string, which
 * may be a password. */
static char *
db_redact(const char *msg)
{
	char	*out = strdup(db_message(msg)), *p, *q;

	if (out == NULL)
		return NULL;
	for (p = strchr(out, '"'); p != NULL; p = strchr(p, '"')) {
		if ((q = strchr(p + 1, '"')) == NULL)
			break;
		if (q - p > 2) {
			memmove(p + 4, q, strlen(q) + 1);
			memcpy(p + 1, "...", 3);
			q = p + 4;
		}
		p = q + 1;
	}
	return out;
}

const char *
db_explain(const char *error, const char *sqlstate)
{
	static char	why[600];

	if (sqlstate != NULL && (strcmp(sqlstate, "42P01") == 0 ||
	    strcmp(sqlstate, "3F000") == 0))
		snprintf(why, sizeof why, "database \"%s\" has no "
		    "crmpubsub.outbox (%s): run crmpubsub.sql there",
		    db_conn != NULL ? PQdb(db_conn) : "?", error);
	else if (sqlstate != NULL && strcmp(sqlstate, "42501") == 0)
		snprintf(why, sizeof why, "%s: grant the bridge's role USAGE on "
		    "schema crmpubsub and SELECT, DELETE on crmpubsub.outbox",
		    error);
	else
		snprintf(why, sizeof why, "%s", error);
	return why;
}

int
db_init(struct event_base *base, const char *dsn, char **cause)
{
	PQconninfoOption	*opts;
	char			*err = NULL, *why;

	db_base = base;
	if (dsn != NULL) {
		if ((opts = PQconninfoParse(dsn, &err)) == NULL) {
			why = db_redact(err ? err : "out of memory");
			if (asprintf(cause, "dsn: not a libpq conninfo or URI: "
			    "%s", why ? why : "error") == -1)
				*cause = NULL;
			free(why);
			PQfreemem(err);
			return -1;
		}
		PQconninfoFree(opts);
		if ((db_dsn = strdup(dsn)) == NULL)
			fatalx("out of memory");
	}
	db_retry_ev = evtimer_new(base, db_connect, NULL);
	db_deadline_ev = evtimer_new(base, db_lost_cb,
	    (void *)"timed out connecting");
	db_dead_ev = event_new(base, -1, 0, db_lost_cb, db_dead_reason);
	if (db_retry_ev == NULL || db_deadline_ev == NULL || db_dead_ev == NULL)
		fatalx("out of memory");
	return 0;
}

void
db_start(void)
{
	db_connect(-1, 0, NULL);
}

int
db_ready(void)
{
	return db_state == DB_READY;
}

/* Closes the connection and forgets its events and query. */
static void
db_close(void)
{
	if (db_connect_ev != NULL)
		event_free(db_connect_ev);
	if (db_read_ev != NULL)
		event_free(db_read_ev);
	if (db_write_ev != NULL)
		event_free(db_write_ev);
	db_connect_ev = db_read_ev = db_write_ev = NULL;
	if (db_conn != NULL)
		PQfinish(db_conn);
	db_conn = NULL;
	if (db_last != NULL)
		PQclear(db_last);
	db_last = NULL;
	db_cb = NULL;
	evtimer_del(db_deadline_ev);
	event_del(db_dead_ev);
	db_state = DB_DOWN;
}

/* The connection failed or went: tell the drain, wait, try again. */
static void
db_lost(const char *reason)
{
	struct timeval	wait;
	int		was_ready = db_state == DB_READY;
	char		copy[512];

	snprintf(copy, sizeof copy, "%s", reason);
	db_close();
	if (was_ready)
		drain_db_lost();
	wait = retry_failed(&db_retry, copy);
	evtimer_add(db_retry_ev, &wait);
}

/* db_lost from an event: the reason is the event's argument. */
static void
db_lost_cb(evutil_socket_t fd, short what, void *reason)
{
	db_lost(reason);
}

/* A message the server sent outside a result — the FATAL of a shutdown,
 * the WARNING of a crash, a NOTICE: one log line like every other, where
 * libpq would print its raw text on stderr. */
static void
db_notice(void *arg, const PGresult *res)
{
	const char	*severity = PQresultErrorField(res, PG_DIAG_SEVERITY);

	log_warnx("postgres: %s: %s", severity != NULL ? severity : "NOTICE",
	    db_message(PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)));
}

/* Waits for the socket to be ready for what the connect step asks. */
static void	db_connect_step(evutil_socket_t, short, void *);
static void
db_connect_wait(PostgresPollingStatusType poll)
{
	if (db_connect_ev != NULL)
		event_free(db_connect_ev);
	/* The socket may change between steps (another host, or SSL then
	 * plain), so the event is made anew each time. */
	db_connect_ev = event_new(db_base, PQsocket(db_conn),
	    poll == PGRES_POLLING_READING ? EV_READ : EV_WRITE,
	    db_connect_step, NULL);
	if (db_connect_ev == NULL || event_add(db_connect_ev, NULL) == -1)
		db_lost("out of memory");
}

/* Reads what the server sent and hands finished queries and doorbells on. */
static void	db_read(evutil_socket_t, short, void *);
/* Sends what libpq still holds; waits for writability while it is more. */
static void	db_flush(evutil_socket_t, short, void *);

/* Starts a connection; the steps run from the socket's events. */
static void
db_connect(evutil_socket_t fd, short what, void *arg)
{
	const char	*keys[] = { "dbname", "fallback_application_name",
			    NULL };
	const char	*vals[] = { db_dsn, BRIDGE_NAME, NULL };
	struct timeval	 deadline = { DB_CONNECT_TIMEOUT_S, 0 };

	db_conn = db_dsn != NULL ? PQconnectStartParams(keys, vals, 1) :
	    PQconnectStartParams(keys + 1, vals + 1, 0);
	if (db_conn == NULL) {
		db_lost("out of memory");
		return;
	}
	if (PQstatus(db_conn) == CONNECTION_BAD) {
		db_lost(db_message(PQerrorMessage(db_conn)));
		return;
	}
	PQsetNoticeReceiver(db_conn, db_notice, NULL);
	db_state = DB_CONNECTING;
	evtimer_add(db_deadline_ev, &deadline);
	db_connect_wait(PGRES_POLLING_WRITING);
}

static void
db_connect_step(evutil_socket_t fd, short what, void *arg)
{
	PostgresPollingStatusType	poll = PQconnectPoll(db_conn);

	if (poll == PGRES_POLLING_FAILED) {
		db_lost(db_message(PQerrorMessage(db_conn)));
		return;
	}
	if (poll != PGRES_POLLING_OK) {
		db_connect_wait(poll);
		return;
	}
	event_free(db_connect_ev);
	db_connect_ev = NULL;
	db_read_ev = event_new(db_base, PQsocket(db_conn), EV_READ | EV_PERSIST,
	    db_read, NULL);
	db_write_ev = event_new(db_base, PQsocket(db_conn), EV_WRITE, db_flush,
	    NULL);
	if (db_read_ev == NULL || db_write_ev == NULL ||
	    event_add(db_read_ev, NULL) == -1 ||
	    PQsetnonblocking(db_conn, 1) == -1) {
		db_lost("out of memory");
		return;
	}
	db_state = DB_SETUP;
	db_query(DB_SETUP_SQL, db_setup_done, NULL);
}

/* LISTEN is in place: the connection is ready for rounds. */
static void
db_setup_done(void *res, const char *error, const char *sqlstate, void *arg)
{
	const char	*version;

	if (error != NULL) {
		db_lost(db_explain(error, sqlstate));
		return;
	}
	evtimer_del(db_deadline_ev);
	db_state = DB_READY;
	retry_succeeded(&db_retry);
	version = PQparameterStatus(db_conn, "server_version");
	log_info("postgres: connected to database \"%s\" as \"%s\" on %s "
	    "port %s (PostgreSQL %.*s), listening on \"%s\"", PQdb(db_conn),
	    PQuser(db_conn), PQhost(db_conn), PQport(db_conn),
	    version ? (int)strcspn(version, " ") : 1, version ? version : "?",
	    BRIDGE_CHANNEL);
	drain_kick();
}

int
db_query(const char *sql, db_result_cb *cb, void *arg)
{
	if (db_conn == NULL || db_cb != NULL ||
	    (db_state != DB_READY && db_state != DB_SETUP))
		return -1;
	if (!PQsendQuery(db_conn, sql)) {
		/* Report the loss from the loop, not inside our caller. */
		snprintf(db_dead_reason, sizeof db_dead_reason, "%s",
		    db_message(PQerrorMessage(db_conn)));
		event_active(db_dead_ev, 0, 0);
		return -1;
	}
	db_cb = cb;
	db_cb_arg = arg;
	db_error[0] = db_sqlstate[0] = '\0';
	db_flush(-1, 0, NULL);
	return 0;
}

static void
db_flush(evutil_socket_t fd, short what, void *arg)
{
	switch (PQflush(db_conn)) {
	case 0:
		return;
	case 1:
		event_add(db_write_ev, NULL);
		return;
	default:
		snprintf(db_dead_reason, sizeof db_dead_reason, "%s",
		    db_message(PQerrorMessage(db_conn)));
		event_active(db_dead_ev, 0, 0);
	}
}

/* Keeps the last result of the query, or its first error. */
static void
db_take_result(PGresult *res)
{
	const char	*state;

	switch (PQresultStatus(res)) {
	case PGRES_FATAL_ERROR:
	case PGRES_BAD_RESPONSE:
	case PGRES_NONFATAL_ERROR:
		if (db_error[0] == '\0') {
			snprintf(db_error, sizeof db_error, "%s", db_message(
			    PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)));
			state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
			snprintf(db_sqlstate, sizeof db_sqlstate, "%s",
			    state ? state : "");
		}
		PQclear(res);
		break;
	default:
		if (db_last != NULL)
			PQclear(db_last);
		db_last = res;
	}
}

/* The query finished: its callback gets the outcome. */
static void
db_finish_query(void)
{
	db_result_cb	*cb = db_cb;
	PGresult	*res = db_last;
	char		 error[sizeof db_error], sqlstate[sizeof db_sqlstate];

	db_cb = NULL;
	db_last = NULL;
	memcpy(error, db_error, sizeof error);
	memcpy(sqlstate, db_sqlstate, sizeof sqlstate);
	if (error[0] != '\0')
		cb(NULL, error, sqlstate, db_cb_arg);
	else
		cb(res, NULL, NULL, db_cb_arg);
	if (res != NULL)
		PQclear(res);
}

static void
db_read(evutil_socket_t fd, short what, void *arg)
{
	PGnotify	*n;
	PGresult	*res;
	int		 rang = 0;

	if (!PQconsumeInput(db_conn)) {
		db_lost(db_message(PQerrorMessage(db_conn)));
		return;
	}
	while (db_cb != NULL && !PQisBusy(db_conn)) {
		if ((res = PQgetResult(db_conn)) != NULL)
			db_take_result(res);
		else
			db_finish_query();
		if (db_conn == NULL)
			return;		/* a callback lost the connection */
	}
	while ((n = PQnotifies(db_conn)) != NULL) {
		rang = 1;
		PQfreemem(n);
	}
	if (PQstatus(db_conn) == CONNECTION_BAD) {
		db_lost(db_message(PQerrorMessage(db_conn)));
		return;
	}
	if (rang && db_state == DB_READY)
		drain_kick();
}

int
db_ntuples(void *res)
{
	return PQntuples(res);
}

const char *
db_value(void *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

void
db_shutdown(void)
{
	db_close();
	if (db_retry_ev != NULL)
		event_free(db_retry_ev);
	if (db_deadline_ev != NULL)
		event_free(db_deadline_ev);
	if (db_dead_ev != NULL)
		event_free(db_dead_ev);
	db_retry_ev = db_deadline_ev = db_dead_ev = NULL;
	free(db_dsn);
	db_dsn = NULL;
}
