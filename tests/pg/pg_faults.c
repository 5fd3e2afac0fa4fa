/* SPDX-License-Identifier: MIT — crmpubsub */
/* crmpubsub-pg under load and faults, against a real PostgreSQL 15 cluster
 * and the real daemon: 1000 transactions from 8 sessions at once; the
 * bridge killed in the middle of a round; PostgreSQL crashed and restarted;
 * the daemon stopped while writes go on; two bridges on one database; and
 * bad configuration (unreachable server, wrong password, missing schema,
 * malformed options). Committed changes are never lost and the outbox ends
 * empty; where nothing failed, nothing is broadcast twice. */

#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pgtest.h"

#define NSESSIONS	8
#define NCONTACTS	40	/* contacts the workload draws from */
#define MAX_LIVE	64	/* interactions one session keeps */

static char			 dbname[64];
static PGconn			*db;
static struct h_conn		*sub;
static struct pgt_bridge	 bridge, bridge2;

/* Once: the cluster and a database with the outbox installed. */
static void
cluster_up(void)
{
	pgt_cluster_up();
	snprintf(dbname, sizeof dbname, "%s", pgt_database(1));
}

/* Per test: empty tables and a daemon; each test starts its bridges. */
static void
setup(void)
{
	const char	*args[] = { "--max-outbuf", "64M", NULL };

	if (pgt.pid <= 0)
		pgt_cluster_start();	/* a failed test left it stopped */
	db = pgt_connect(dbname);
	pgt_reset(db);
	h_test_up(args);
	sub = pgt_subscriber(h_test_daemon.sock, 0, 99);
	bridge.pid = bridge2.pid = -1;
}

/* Bridges still running must stop cleanly: under ASan that is where a
 * leak or an error report shows. */
static void
teardown(void)
{
	h_close(sub);
	PQfinish(db);
	db = NULL;
	if (bridge.pid > 0)
		kill(bridge.pid, SIGCONT);
	if (bridge2.pid > 0)
		kill(bridge2.pid, SIGCONT);
	if (bridge.pid > 0)
		pgt_bridge_stop_clean(&bridge);
	if (bridge2.pid > 0)
		pgt_bridge_stop_clean(&bridge2);
	h_test_down();
}

/* Receives exactly want on c, then sees the outbox empty; frees want. */
static void
expect_all(struct h_conn *c, struct pgt_pushes *want, int quiet_ms)
{
	pgt_expect(c, want, quiet_ms);
	ck_assert_msg(pgt_outbox_drains(db, PGT_WAIT_MS), "outbox not empty");
	pgt_pushes_free(want);
}

/* Starts b on the test's database and daemon, polling every 0.2 s, and
 * waits until it is connected to both. */
static void
bridge_up(struct pgt_bridge *b, const char *sock)
{
	pgt_bridge_on(b, h_test_daemon.dir, dbname, sock, "0.2");
	ck_assert_msg(pgt_log_line(b, PGT_WAIT_MS, "postgres: connected", NULL)
	    && pgt_log_line(b, PGT_WAIT_MS, "crmpubsubd: connected", NULL),
	    "bridge did not connect");
}

/*
 * The workload: each session owns its interactions and models them (subject
 * and parties), so it knows the old and new contacts of every change and
 * adds the pushes the rule gives to its own expected set.
 */
struct model {
	unsigned	id;
	int		subject;	/* -1: NULL */
	int		parties[4];
	int		nparties;
};

struct session {
	unsigned		 no;
	unsigned		 ntx;
	unsigned		 seed;
	PGconn			*conn;
	struct model		 live[MAX_LIVE];
	int			 nlive;
	unsigned		 next_id;
	struct pgt_pushes	 want;
	char			 error[512];
};

/* A small private generator (rand_r is not in C11). */
static unsigned
next_rand(struct session *s)
{
	s->seed = s->seed * 1103515245u + 12345u;
	return (s->seed >> 16) & 0x7fff;
}

/* A contact, NULL one time in ten. */
static int
some_contact(struct session *s)
{
	return next_rand(s) % 10 == 0 ? -1 : (int)(next_rand(s) % NCONTACTS);
}

/* Runs one statement; 0, or -1 with the error kept. */
static int
run(struct session *s, const char *fmt, ...)
{
	char		*sql;
	va_list		 ap;
	PGresult	*r;
	int		 rc;

	va_start(ap, fmt);
	if (vasprintf(&sql, fmt, ap) == -1)
		sql = NULL;
	va_end(ap);
	if (sql == NULL)
		return -1;
	r = PQexec(s->conn, sql);
	rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;
	if (rc == -1 && s->error[0] == '\0')
		snprintf(s->error, sizeof s->error, "%s: %s", sql,
		    PQerrorMessage(s->conn));
	PQclear(r);
	free(sql);
	return rc;
}

/* SQL for a contact. */
static const char *
contact_sql(int c, char *buf, size_t len)
{
	if (c < 0)
		return "NULL";
	snprintf(buf, len, "'%s'", pgt_contact((unsigned)c));
	return buf;
}

/* Adds the model's contacts (subject, parties) to set, without repeats. */
static void
model_contacts(const struct model *m, int set[NCONTACTS])
{
	int	i;

	if (m->subject >= 0)
		set[m->subject] = 1;
	for (i = 0; i < m->nparties; i++)
		if (m->parties[i] >= 0)
			set[m->parties[i]] = 1;
}

/* Expected pushes: event of m to every contact in set. */
static void
expect_set(struct session *s, const char *event, unsigned id,
    const int set[NCONTACTS])
{
	int	c;

	for (c = 0; c < NCONTACTS; c++)
		if (set[c])
			pgt_pushes_add(&s->want, event, (unsigned)c, id);
}

/* Writes the parties of m. */
static int
insert_parties(struct session *s, const struct model *m)
{
	char	b[48];
	int	i;

	for (i = 0; i < m->nparties; i++)
		if (run(s, "INSERT INTO phoenix_kit_crm_interaction_parties "
		    "(interaction_uuid, contact_uuid) VALUES ('%s', %s)",
		    pgt_interaction(m->id), contact_sql(m->parties[i], b,
		    sizeof b)) == -1)
			return -1;
	return 0;
}

/* A new interaction with 0..3 parties; committed or, one time in ten,
 * rolled back. */
static int
tx_create(struct session *s)
{
	struct model	 m = { 0 };
	int		 set[NCONTACTS] = { 0 }, i, commit;
	char		 b[48];

	m.id = s->no * 100000 + s->next_id++;
	m.subject = some_contact(s);
	m.nparties = (int)(next_rand(s) % 4);
	for (i = 0; i < m.nparties; i++)
		m.parties[i] = some_contact(s);
	commit = next_rand(s) % 10 != 0;
	if (run(s, "BEGIN") == -1 || run(s, "INSERT INTO "
	    "phoenix_kit_crm_interactions (uuid, contact_uuid) VALUES "
	    "('%s', %s)", pgt_interaction(m.id), contact_sql(m.subject, b,
	    sizeof b)) == -1 || insert_parties(s, &m) == -1 ||
	    run(s, commit ? "COMMIT" : "ROLLBACK") == -1)
		return -1;
	if (!commit)
		return 0;
	model_contacts(&m, set);
	expect_set(s, "interaction_created", m.id, set);
	if (s->nlive < MAX_LIVE)
		s->live[s->nlive++] = m;
	return 0;
}

/* The CRM's edit of live interaction k: parties replaced, maybe a new
 * subject; or the interaction deleted. */
static int
tx_change(struct session *s, int k, int del)
{
	struct model	*m = &s->live[k];
	int		 set[NCONTACTS] = { 0 }, i;
	char		 b[48];

	model_contacts(m, set);
	if (del) {
		if (run(s, "DELETE FROM phoenix_kit_crm_interactions WHERE "
		    "uuid = '%s'", pgt_interaction(m->id)) == -1)
			return -1;
		expect_set(s, "interaction_deleted", m->id, set);
		s->live[k] = s->live[--s->nlive];
		return 0;
	}
	if (run(s, "BEGIN") == -1 || run(s, "DELETE FROM "
	    "phoenix_kit_crm_interaction_parties WHERE interaction_uuid = "
	    "'%s'", pgt_interaction(m->id)) == -1)
		return -1;
	m->nparties = (int)(next_rand(s) % 4);
	for (i = 0; i < m->nparties; i++)
		m->parties[i] = some_contact(s);
	if (next_rand(s) % 2)
		m->subject = some_contact(s);
	if (insert_parties(s, m) == -1 || run(s, "UPDATE "
	    "phoenix_kit_crm_interactions SET contact_uuid = %s, subject = "
	    "'edited' WHERE uuid = '%s'", contact_sql(m->subject, b, sizeof b),
	    pgt_interaction(m->id)) == -1 || run(s, "COMMIT") == -1)
		return -1;
	model_contacts(m, set);
	expect_set(s, "interaction_updated", m->id, set);
	return 0;
}

/* One session's transactions. */
static void *
session_run(void *arg)
{
	struct session	*s = arg;
	unsigned	 t, r;

	s->conn = PQconnectdb(pgt_dsn(dbname));
	if (PQstatus(s->conn) != CONNECTION_OK) {
		snprintf(s->error, sizeof s->error, "connect: %s",
		    PQerrorMessage(s->conn));
		return NULL;
	}
	for (t = 0; t < s->ntx && s->error[0] == '\0'; t++) {
		r = next_rand(s) % 10;
		if (s->nlive < 3 || r < 4)
			tx_create(s);
		else
			tx_change(s, (int)(next_rand(s) % (unsigned)s->nlive),
			    r == 9);
	}
	PQfinish(s->conn);
	return NULL;
}

/* Runs n sessions of ntx transactions each, at once; their expected
 * pushes are added to want. */
static void
workload(unsigned n, unsigned ntx, unsigned first, struct pgt_pushes *want)
{
	struct session	*s = calloc(n, sizeof *s);
	pthread_t	 th[NSESSIONS];
	unsigned	 i;

	ck_assert_uint_le(n, NSESSIONS);
	for (i = 0; i < n; i++) {
		s[i].no = first + i;
		s[i].ntx = ntx;
		s[i].seed = 7919 * (first + i + 1);
		ck_assert_int_eq(pthread_create(&th[i], NULL, session_run,
		    &s[i]), 0);
	}
	for (i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < n; i++) {
		ck_assert_msg(s[i].error[0] == '\0', "session %u: %s", i,
		    s[i].error);
		pgt_pushes_take(want, &s[i].want);
	}
	free(s);
}

START_TEST(thousand_transactions_from_eight_sessions)
{
	struct pgt_pushes	want = { 0 };

	bridge_up(&bridge, h_test_daemon.sock);
	workload(NSESSIONS, 125, 1, &want);
	expect_all(sub, &want, 500);
}
END_TEST

/* Commits n interactions (numbers from first), each with subject c and a
 * party c + 1, one transaction each; adds their pushes to want. */
static void
commit_some(unsigned first, unsigned n, struct pgt_pushes *want)
{
	unsigned	i, c;

	for (i = first; i < first + n; i++) {
		c = i % 90;
		pgt_exec(db, "BEGIN");
		pgt_exec(db, "INSERT INTO phoenix_kit_crm_interactions (uuid, "
		    "contact_uuid) VALUES ('%s', '%s')", pgt_interaction(i),
		    pgt_contact(c));
		pgt_exec(db, "INSERT INTO phoenix_kit_crm_interaction_parties "
		    "(interaction_uuid, contact_uuid) VALUES ('%s', '%s')",
		    pgt_interaction(i), pgt_contact(c + 1));
		pgt_exec(db, "COMMIT");
		pgt_pushes_add(want, "interaction_created", c, i);
		pgt_pushes_add(want, "interaction_created", c + 1, i);
	}
}

/* Sessions of the bridge in a given state ("idle in transaction": a round
 * is open, waiting for the daemon's replies). */
static long long
bridge_sessions(const char *state)
{
	return pgt_int(db, "SELECT count(*) FROM pg_stat_activity WHERE "
	    "application_name = 'crmpubsub-pg'%s%s%s", state ? " AND state = '"
	    : "", state ? state : "", state ? "'" : "");
}

/* h_wait_until probe: a round of the bridge is open. */
static int
round_open(void *arg)
{
	return bridge_sessions("idle in transaction") == 1;
}

/* h_wait_until probe: no session of the bridge is left. */
static int
bridge_gone(void *arg)
{
	return bridge_sessions(NULL) == 0;
}

/* Killed while its broadcasts wait for replies: nothing of the open round
 * was deleted, and the next bridge sends it all (again). */
START_TEST(bridge_killed_mid_round_and_restarted)
{
	struct pgt_pushes	want = { 0 }, got = { 0 };

	bridge_up(&bridge, h_test_daemon.sock);
	ck_assert_int_eq(kill(h_test_daemon.pid, SIGSTOP), 0);
	commit_some(0, 20, &want);
	ck_assert_msg(h_wait_until(round_open, NULL, PGT_WAIT_MS, 20),
	    "no round opened");
	pgt_bridge_stop(&bridge, SIGKILL);
	ck_assert_msg(h_wait_until(bridge_gone, NULL, PGT_WAIT_MS, 20),
	    "the killed bridge's session stays");
	ck_assert_int_eq(pgt_outbox(db), 40);
	ck_assert_int_eq(kill(h_test_daemon.pid, SIGCONT), 0);
	bridge_up(&bridge, h_test_daemon.sock);
	ck_assert_msg(pgt_outbox_drains(db, PGT_WAIT_MS), "outbox not empty");
	pgt_collect(sub, 2 * want.n, 1000, &got);
	pgt_expect_at_least(&got, &want);
	pgt_pushes_free(&want);
	pgt_pushes_free(&got);
}
END_TEST

/* Rows committed before a crash of PostgreSQL are broadcast after it, once
 * the bridge has reconnected; so are writes made after. */
START_TEST(postgres_crashed_and_restarted)
{
	struct pgt_pushes	want = { 0 };

	bridge_up(&bridge, h_test_daemon.sock);
	ck_assert_int_eq(kill(bridge.pid, SIGSTOP), 0);
	commit_some(0, 10, &want);
	PQfinish(db);
	db = NULL;
	pgt_cluster_stop(SIGQUIT);
	pgt_cluster_start();
	db = pgt_connect(dbname);
	ck_assert_int_eq(pgt_outbox(db), 20);
	ck_assert_int_eq(kill(bridge.pid, SIGCONT), 0);
	ck_assert_msg(pgt_log_line(&bridge, PGT_WAIT_MS, "postgres:",
	    "retrying in", NULL) != NULL, "no reconnect logged");
	commit_some(10, 10, &want);
	expect_all(sub, &want, 300);
}
END_TEST

/* Points the bridge's socket path (a symlink) at target. */
static void
aim(const char *link, const char *target)
{
	char	tmp[400];

	snprintf(tmp, sizeof tmp, "%s.new", link);
	unlink(tmp);
	ck_assert_int_eq(symlink(target, tmp), 0);
	ck_assert_int_eq(rename(tmp, link), 0);
}

/* The daemon stops while writes go on: the rows wait in the outbox and are
 * broadcast by the daemon that comes up on the same path. */
START_TEST(daemon_stopped_while_writes_continue)
{
	struct pgt_pushes	 want = { 0 };
	struct h_daemon		 second;
	struct h_conn		*sub2;
	char			 link[400];

	snprintf(link, sizeof link, "%s/via.sock", h_test_daemon.dir);
	aim(link, h_test_daemon.sock);
	bridge_up(&bridge, link);
	ck_assert_int_eq(kill(h_test_daemon.pid, SIGTERM), 0);
	ck_assert_msg(pgt_log_line(&bridge, PGT_WAIT_MS, "crmpubsubd:",
	    "retrying in", NULL) != NULL, "no wait for the daemon logged");
	commit_some(0, 30, &want);
	ck_assert_int_eq(pgt_outbox(db), 60);

	ck_assert_int_eq(h_daemon_start(&second, NULL), 0);
	sub2 = pgt_subscriber(second.sock, 0, 99);
	aim(link, second.sock);
	expect_all(sub2, &want, 300);
	h_close(sub2);
	pgt_bridge_stop_clean(&bridge);
	h_daemon_stop_clean(&second);
}
END_TEST

/* Two bridges on one database: each change is broadcast once; when one
 * stops, the other carries on. */
START_TEST(two_bridges_share_the_outbox)
{
	struct pgt_pushes	want = { 0 };

	bridge_up(&bridge, h_test_daemon.sock);
	bridge_up(&bridge2, h_test_daemon.sock);
	workload(4, 50, 1, &want);
	pgt_expect(sub, &want, 500);
	pgt_pushes_free(&want);
	pgt_bridge_stop_clean(&bridge);
	workload(2, 50, 5, &want);
	expect_all(sub, &want, 300);
	pgt_bridge_stop_clean(&bridge2);
}
END_TEST

/* One committed interaction, and its pushes received. */
static void
one_write_arrives(unsigned i)
{
	struct pgt_pushes	want = { 0 };

	commit_some(i, 1, &want);
	pgt_expect(sub, &want, 200);
	pgt_pushes_free(&want);
}

START_TEST(unreachable_server_then_it_starts)
{
	PQfinish(db);
	db = NULL;
	pgt_cluster_stop(SIGINT);
	pgt_bridge_on(&bridge, h_test_daemon.dir, dbname, h_test_daemon.sock,
	    "0.2");
	/* libpq's two-line message, as one line, naming socket and cause. */
	ck_assert_msg(pgt_log_line(&bridge, PGT_WAIT_MS, "postgres: connection "
	    "to server on socket", pgt.dir, "No such file or directory",
	    "Is the server running", "retrying in", NULL) != NULL,
	    "no one-line error");
	ck_assert(pgt_alive(bridge.pid));
	pgt_cluster_start();
	db = pgt_connect(dbname);
	ck_assert_ptr_nonnull(pgt_log_line(&bridge, PGT_WAIT_MS,
	    "postgres: connected", NULL));
	one_write_arrives(1);
}
END_TEST

/* PostgreSQL shut down while the bridge is connected: the server's goodbye
 * (FATAL: terminating connection ...) is one line of the bridge's log like
 * every other, not libpq's own text on stderr; then it reconnects. */
START_TEST(postgres_shut_down_and_restarted)
{
	const char	*stray;

	bridge_up(&bridge, h_test_daemon.sock);
	PQfinish(db);
	db = NULL;
	pgt_cluster_stop(SIGINT);
	/* Said as "postgres: FATAL: ..." when it comes between rounds, as a
	 * failed round's reason when it ends one. */
	ck_assert_msg(pgt_log_line(&bridge, PGT_WAIT_MS, "terminating "
	    "connection due to administrator command", NULL) != NULL,
	    "the server's message was not logged");
	ck_assert_msg(pgt_log_line(&bridge, PGT_WAIT_MS, "postgres:",
	    "retrying in", NULL) != NULL, "no reconnect logged");
	pgt_cluster_start();
	db = pgt_connect(dbname);
	ck_assert_ptr_nonnull(pgt_log_line(&bridge, PGT_WAIT_MS,
	    "postgres: connected", NULL));
	one_write_arrives(1);
	stray = pgt_log_stray_line(&bridge, "crmpubsub-pg: ");
	ck_assert_msg(stray == NULL, "a log line without the prefix: %s", stray);
}
END_TEST

/* h_wait_until probe: the password rule is in force. */
static int
password_needed(void *arg)
{
	char		dsn[512];
	PGconn		*c;
	int		refused;

	snprintf(dsn, sizeof dsn, "host=%s user=pwuser dbname=%s "
	    "password=nothing", pgt.dir, dbname);
	c = PQconnectdb(dsn);
	refused = PQstatus(c) != CONNECTION_OK;
	PQfinish(c);
	return refused;
}

/* A wrong password is said in one line, never logged itself, and the
 * bridge gets in once the role's password matches. The role has only the
 * grants docs/postgres.md lists. */
START_TEST(wrong_password_then_fixed)
{
	char		 dsn[512], dsn2[600];
	char		*env[] = { "PGPASSWORD=wrong-secret-4711", NULL };
	const char	*args[] = { "--dsn", dsn, "-s", h_test_daemon.sock,
			    "--poll-interval", "0.2", NULL };
	const char	*args2[] = { "--dsn", dsn2, "-s", h_test_daemon.sock,
			    NULL };
	char		 line[256];
	FILE		*f;

	pgt_exec(db, "DROP ROLE IF EXISTS pwuser");
	pgt_exec(db, "CREATE ROLE pwuser LOGIN PASSWORD 'right-secret'");
	pgt_exec(db, "GRANT USAGE ON SCHEMA crmpubsub TO pwuser");
	pgt_exec(db, "GRANT SELECT, DELETE ON crmpubsub.outbox TO pwuser");
	pgt_hba_prepend("local all pwuser scram-sha-256");
	ck_assert(h_wait_until(password_needed, NULL, PGT_WAIT_MS, 50));
	snprintf(dsn, sizeof dsn, "host=%s user=pwuser dbname=%s", pgt.dir,
	    dbname);
	snprintf(dsn2, sizeof dsn2, "%s password=wrong-secret-4712", dsn);
	pgt_bridge_start(&bridge, h_test_daemon.dir, args, env);
	pgt_bridge_start(&bridge2, h_test_daemon.dir, args2, NULL);
	ck_assert_msg(pgt_log_line(&bridge, PGT_WAIT_MS, "postgres:",
	    "password authentication failed for user \"pwuser\"",
	    "retrying in", NULL) != NULL, "no one-line error");
	ck_assert_ptr_nonnull(pgt_log_line(&bridge2, PGT_WAIT_MS,
	    "password authentication failed", NULL));
	ck_assert(pgt_alive(bridge.pid));
	pgt_bridge_stop(&bridge2, SIGTERM);

	pgt_exec(db, "ALTER ROLE pwuser PASSWORD 'wrong-secret-4711'");
	ck_assert_ptr_nonnull(pgt_log_line(&bridge, PGT_WAIT_MS,
	    "postgres: connected", "as \"pwuser\"", NULL));
	one_write_arrives(1);
	pgt_bridge_stop_clean(&bridge);
	/* Neither password appears in either log. */
	ck_assert_ptr_nonnull(f = fopen(bridge.log, "r"));
	while (fgets(line, sizeof line, f) != NULL)
		ck_assert_ptr_null(strstr(line, "wrong-secret"));
	fclose(f);
	ck_assert_ptr_nonnull(f = fopen(bridge2.log, "r"));
	while (fgets(line, sizeof line, f) != NULL)
		ck_assert_ptr_null(strstr(line, "wrong-secret"));
	fclose(f);
}
END_TEST

START_TEST(missing_schema_then_installed)
{
	char		 other[64];
	PGconn		*o;

	snprintf(other, sizeof other, "%s", pgt_database(0));
	pgt_bridge_on(&bridge, h_test_daemon.dir, other, h_test_daemon.sock,
	    "0.2");
	ck_assert_msg(pgt_log_line(&bridge, PGT_WAIT_MS, "postgres: database",
	    other, "has no crmpubsub.outbox", "run crmpubsub.sql",
	    "retrying in", NULL) != NULL, "no one-line error");
	ck_assert(pgt_alive(bridge.pid));
	ck_assert_int_eq(pgt_psql(other, "client/pg/crmpubsub.sql", NULL), 0);
	o = db;
	db = pgt_connect(other);
	one_write_arrives(1);
	PQfinish(db);
	db = NULL;
	db = o;
}
END_TEST

/* Runs the bridge with args; asserts it exits 2 within the bound with one
 * line holding want (and not hidden, when given). */
static void
refused(const char *const *args, const char *want, const char *hidden)
{
	struct pgt_bridge	b;
	char			line[1024];
	FILE			*f;
	int			n = 0, status;

	pgt_bridge_start(&b, h_test_daemon.dir, args, NULL);
	status = h_wait_child(b.pid, PGT_WAIT_MS);
	ck_assert_msg(status != -1 && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 2, "status %#x", (unsigned)status);
	ck_assert_ptr_nonnull(f = fopen(b.log, "r"));
	while (fgets(line, sizeof line, f) != NULL) {
		n++;
		ck_assert_msg(strstr(line, want) != NULL, "'%s' lacks '%s'",
		    line, want);
		if (hidden != NULL)
			ck_assert_ptr_null(strstr(line, hidden));
	}
	fclose(f);
	ck_assert_int_eq(n, 1);
}

START_TEST(bad_options_exit_2)
{
	char		 conf[400];
	FILE		*f;

	refused((const char *[]){ "--dsn", "host password=hunter2", NULL },
	    "dsn: not a libpq conninfo or URI", "hunter2");
	refused((const char *[]){ "--dsn", "postgresql://u:hunter2@[::1/db",
	    NULL }, "dsn: not a libpq conninfo or URI", "hunter2");
	refused((const char *[]){ "--batch", "0", NULL },
	    "--batch: bad value '0'", NULL);
	refused((const char *[]){ "--poll-interval", "-1", NULL },
	    "--poll-interval: bad value '-1'", NULL);
	refused((const char *[]){ "--bogus", NULL }, "unknown option '--bogus'",
	    NULL);
	snprintf(conf, sizeof conf, "%s/bridge.conf", h_test_daemon.dir);
	ck_assert_ptr_nonnull(f = fopen(conf, "w"));
	fprintf(f, "# comment\nbatch = 10\nsocket_path = /x\n");
	fclose(f);
	refused((const char *[]){ "-c", conf, NULL },
	    "bridge.conf:3: unknown option 'socket_path'", NULL);
	refused((const char *[]){ "-c", "/nonexistent.conf", NULL },
	    "/nonexistent.conf: No such file or directory", NULL);
}
END_TEST

static Suite *
faults_suite(void)
{
	Suite	*s = suite_create("pg_faults");
	TCase	*tc = tcase_create("faults");

	tcase_add_unchecked_fixture(tc, cluster_up, pgt_cluster_down);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, thousand_transactions_from_eight_sessions);
	tcase_add_test(tc, bridge_killed_mid_round_and_restarted);
	tcase_add_test(tc, postgres_crashed_and_restarted);
	tcase_add_test(tc, daemon_stopped_while_writes_continue);
	tcase_add_test(tc, two_bridges_share_the_outbox);
	tcase_add_test(tc, unreachable_server_then_it_starts);
	tcase_add_test(tc, postgres_shut_down_and_restarted);
	tcase_add_test(tc, wrong_password_then_fixed);
	tcase_add_test(tc, missing_schema_then_installed);
	tcase_add_test(tc, bad_options_exit_2);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	/* One process: a test restarts PostgreSQL, and the new postmaster
	 * must outlive the test (it dies with this process, not with it). */
	return pgt_run(faults_suite(), 0);
}
