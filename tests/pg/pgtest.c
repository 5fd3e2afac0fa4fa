/* SPDX-License-Identifier: MIT — crmpubsub */
/* PostgreSQL test support (see pgtest.h): the temp cluster, databases,
 * psql, bridge processes and push sets. */

#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pgtest.h"
#include "request.h"
#include "uuid_canon.h"

#define PGT_BINDIR_DEFAULT	"/usr/lib/postgresql/15/bin"

struct pgt_cluster	pgt = { .pid = -1 };
static unsigned		pgt_ndb;	/* databases made by this process */

/* The CRM tables the bridge mirrors, as the CRM defines them (minus the
 * columns the triggers ignore). */
static const char pgt_crm_sql[] =
    "CREATE TABLE phoenix_kit_crm_contacts (uuid uuid PRIMARY KEY, name text);"
    "CREATE TABLE phoenix_kit_crm_interactions ("
    " uuid uuid PRIMARY KEY,"
    " contact_uuid uuid REFERENCES phoenix_kit_crm_contacts(uuid)"
    "  ON DELETE CASCADE,"
    " subject text);"
    "CREATE TABLE phoenix_kit_crm_interaction_parties ("
    " uuid uuid PRIMARY KEY DEFAULT gen_random_uuid(),"
    " interaction_uuid uuid NOT NULL"
    "  REFERENCES phoenix_kit_crm_interactions(uuid) ON DELETE CASCADE,"
    " contact_uuid uuid REFERENCES phoenix_kit_crm_contacts(uuid)"
    "  ON DELETE SET NULL,"
    " raw_name text NOT NULL DEFAULT '');"
    "CREATE INDEX ON phoenix_kit_crm_interaction_parties (interaction_uuid);";

/* Contacts 0..99 (pgt_contact). */
static const char pgt_contacts_sql[] =
    "INSERT INTO phoenix_kit_crm_contacts"
    " SELECT ('c0ffee00-0000-4000-8000-' || lpad(to_hex(n), 12, '0'))::uuid,"
    "  'contact ' || n FROM generate_series(0, 99) n ON CONFLICT DO NOTHING;";

/* The directory of PostgreSQL's programs. */
static const char *
pgt_bindir(void)
{
	const char	*env = getenv("PG_BINDIR");

	return env != NULL && *env != '\0' ? env : PGT_BINDIR_DEFAULT;
}

/* Fails the unchecked fixture: there is no test to fail yet. */
static void __attribute__((noreturn, format(printf, 1, 2)))
pgt_die(const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "pgtest: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	pgt_cluster_down();
	exit(1);
}

/* Forks and execs argv with env ("K=V", NULL-terminated, may be NULL) added
 * and stdout and stderr appended to log; as root the child of a cluster
 * program first becomes the cluster's user. deathsig reaches the child when
 * this process ends (a test killed by its timeout leaves nothing behind). */
static pid_t
pgt_spawn(char *const *argv, char *const *env, const char *log,
    int as_cluster_user, int deathsig)
{
	pid_t	pid, parent = getpid();
	int	fd;

	fflush(NULL);
	if ((pid = fork()) != 0)
		return pid;
	if ((fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644)) != -1) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		close(fd);
	}
	if ((fd = open("/dev/null", O_RDONLY)) != -1) {
		dup2(fd, STDIN_FILENO);
		close(fd);
	}
	unsetenv("JOURNAL_STREAM");
	unsetenv("CRMPUBSUB_SOCKET");
	for (; env != NULL && *env != NULL; env++)
		putenv(*env);
	if (as_cluster_user && getuid() == 0 &&
	    (setgroups(0, NULL) == -1 || setgid(pgt.gid) == -1 ||
	    setuid(pgt.uid) == -1))
		_exit(126);
	/* After the uid change, which clears it. */
	if (prctl(PR_SET_PDEATHSIG, deathsig) == -1 || getppid() != parent)
		_exit(126);
	signal(SIGPIPE, SIG_DFL);
	execv(argv[0], argv);
	dprintf(STDERR_FILENO, "exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* Waits for pid (bounded); its status, or -1 after SIGKILL. */
static int
pgt_wait(pid_t pid, int timeout_ms)
{
	return h_wait_child(pid, timeout_ms);
}

/* Whether the cluster answers connections. */
static int
pgt_answers(void *arg)
{
	return PQping(pgt_dsn("postgres")) == PQPING_OK;
}

void
pgt_cluster_start(void)
{
	char	bin[512], log[320];
	char	*argv[] = { bin, "-D", NULL, "-k", pgt.dir, "-c",
		    "listen_addresses=", NULL };
	char	data[300];

	snprintf(bin, sizeof bin, "%s/postgres", pgt_bindir());
	snprintf(data, sizeof data, "%s/data", pgt.dir);
	snprintf(log, sizeof log, "%s/postgres.log", pgt.dir);
	argv[2] = data;
	pgt.pid = pgt_spawn(argv, NULL, log, 1, SIGQUIT);
	if (pgt.pid == -1 || !h_wait_until(pgt_answers, NULL, 60000, 20))
		pgt_die("postgres did not start (see %s)", log);
}

void
pgt_cluster_stop(int sig)
{
	int	status;

	if (pgt.pid <= 0)
		return;
	kill(pgt.pid, sig);
	status = pgt_wait(pgt.pid, 60000);
	pgt.pid = -1;
	if (status == -1)
		fprintf(stderr, "pgtest: postgres had to be killed\n");
}

void
pgt_cluster_up(void)
{
	struct passwd	*pw = NULL;
	char		 bin[512], data[300], log[320], conf[320];
	char		*argv[] = { bin, "-D", data, "-A", "trust", "-U",
			    "postgres", "-E", "UTF8", "--no-sync", NULL };
	FILE		*f;

	snprintf(pgt.dir, sizeof pgt.dir, "/tmp/crmpubsub-pg.%ld.XXXXXX",
	    (long)getpid());
	if (mkdtemp(pgt.dir) == NULL)
		pgt_die("mkdtemp: %s", strerror(errno));
	pgt.uid = getuid();
	pgt.gid = getgid();
	if (getuid() == 0) {
		/* PostgreSQL refuses to run as root. */
		if ((pw = getpwnam("postgres")) == NULL &&
		    (pw = getpwnam("nobody")) == NULL)
			pgt_die("as root, a postgres or nobody user is needed");
		pgt.uid = pw->pw_uid;
		pgt.gid = pw->pw_gid;
		if (chown(pgt.dir, pgt.uid, pgt.gid) == -1)
			pgt_die("chown %s: %s", pgt.dir, strerror(errno));
	}
	snprintf(bin, sizeof bin, "%s/initdb", pgt_bindir());
	snprintf(data, sizeof data, "%s/data", pgt.dir);
	snprintf(log, sizeof log, "%s/initdb.log", pgt.dir);
	if (pgt_wait(pgt_spawn(argv, NULL, log, 1, SIGKILL), 120000) != 0)
		pgt_die("initdb failed (see %s)", log);
	/* Speed over durability: a crash of the postmaster (SIGQUIT) still
	 * keeps every commit, as the OS keeps the written pages. */
	snprintf(conf, sizeof conf, "%s/postgresql.conf", data);
	if ((f = fopen(conf, "a")) == NULL)
		pgt_die("%s: %s", conf, strerror(errno));
	fprintf(f, "fsync = off\nfull_page_writes = off\n"
	    "max_connections = 60\nshared_buffers = 32MB\n"
	    "log_min_messages = warning\n");
	fclose(f);
	pgt_cluster_start();
}

/* nftw callback of the directory removal. */
static int
pgt_rm_entry(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

void
pgt_cluster_down(void)
{
	pgt_cluster_stop(SIGINT);
	if (pgt.dir[0] != '\0' && getenv("PGT_KEEP") == NULL)
		nftw(pgt.dir, pgt_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	pgt.dir[0] = '\0';
}

void
pgt_hba_prepend(const char *line)
{
	char	 path[320], *old;
	FILE	*f;
	long	 n;

	snprintf(path, sizeof path, "%s/data/pg_hba.conf", pgt.dir);
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	old = calloc(1, (size_t)n + 1);
	ck_assert_int_eq(fread(old, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fprintf(f, "%s\n%s", line, old);
	fclose(f);
	free(old);
	ck_assert_int_eq(kill(pgt.pid, SIGHUP), 0);
}

const char *
pgt_dsn(const char *db)
{
	static _Thread_local char dsn[512];	/* the sessions call it at once */

	snprintf(dsn, sizeof dsn, "host=%s user=postgres dbname=%s", pgt.dir,
	    db);
	return dsn;
}

/* Notices ("does not exist, skipping") are not test output. */
static void
pgt_quiet(void *arg, const char *message)
{
}

PGconn *
pgt_connect(const char *db)
{
	PGconn	*c = PQconnectdb(pgt_dsn(db));

	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "connect %s: %s", db,
	    PQerrorMessage(c));
	PQsetNoticeProcessor(c, pgt_quiet, NULL);
	return c;
}

/* Formats and runs SQL and asserts its status is want (a statement, or
 * tuples too when want is PGRES_COMMAND_OK); the result, to be cleared. */
static PGresult *
pgt_vquery(PGconn *c, ExecStatusType want, const char *fmt, va_list ap)
{
	char		*sql;
	PGresult	*r;

	ck_assert_int_ne(vasprintf(&sql, fmt, ap), -1);
	r = PQexec(c, sql);
	ck_assert_msg(PQresultStatus(r) == want || (want == PGRES_COMMAND_OK &&
	    PQresultStatus(r) == PGRES_TUPLES_OK), "%s: %s", sql,
	    PQerrorMessage(c));
	free(sql);
	return r;
}

void
pgt_exec(PGconn *c, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	PQclear(pgt_vquery(c, PGRES_COMMAND_OK, fmt, ap));
	va_end(ap);
}

long long
pgt_int(PGconn *c, const char *fmt, ...)
{
	va_list		 ap;
	PGresult	*r;
	long long	 v;

	va_start(ap, fmt);
	r = pgt_vquery(c, PGRES_TUPLES_OK, fmt, ap);
	va_end(ap);
	ck_assert_int_eq(PQntuples(r), 1);
	v = atoll(PQgetvalue(r, 0, 0));
	PQclear(r);
	return v;
}

long long
pgt_outbox(PGconn *c)
{
	return pgt_int(c, "SELECT count(*) FROM crmpubsub.outbox");
}

/* h_wait_until probe: the outbox is empty. */
static int
pgt_outbox_empty(void *c)
{
	return pgt_outbox(c) == 0;
}

int
pgt_outbox_drains(PGconn *c, int timeout_ms)
{
	return h_wait_until(pgt_outbox_empty, c, timeout_ms, 20);
}

/* Fills argv with psql's path and options for db (as postgres, quiet, no
 * psqlrc), its output appended to <dir>/psql.log; the next free index. */
static int
pgt_psql_argv(char **argv, char *bin, size_t binlen, const char *db)
{
	int	n = 0;

	snprintf(bin, binlen, "%s/psql", pgt_bindir());
	argv[n++] = bin;
	argv[n++] = "-X";
	argv[n++] = "-q";
	argv[n++] = "-d";
	argv[n++] = (char *)pgt_dsn(db);
	return n;
}

/* Runs the psql command line argv; its exit status. */
static int
pgt_psql_run(char *const *argv)
{
	char	log[320];

	snprintf(log, sizeof log, "%s/psql.log", pgt.dir);
	return pgt_wait(pgt_spawn(argv, NULL, log, 0, SIGKILL), 60000);
}

int
pgt_psql(const char *db, const char *file, const char *const *vars)
{
	char	 bin[512], *argv[64];
	char	 path[1024];
	const char *top = getenv("CRMPUBSUB_TOP");
	int	 n = pgt_psql_argv(argv, bin, sizeof bin, db);

	if (file[0] == '/' || top == NULL)
		snprintf(path, sizeof path, "%s", file);
	else
		snprintf(path, sizeof path, "%s/%s", top, file);
	argv[n++] = "-f";
	argv[n++] = path;
	for (; vars != NULL && vars[0] != NULL && vars[1] != NULL &&
	    n < 58; vars += 2) {
		argv[n++] = "-v";
		ck_assert_int_ne(asprintf(&argv[n++], "%s=%s", vars[0],
		    vars[1]), -1);
	}
	argv[n] = NULL;
	return pgt_psql_run(argv);
}

int
pgt_psql_c(const char *db, const char *sql)
{
	char	 bin[512], *argv[16];
	int	 n = pgt_psql_argv(argv, bin, sizeof bin, db);

	argv[n++] = "-c";
	argv[n++] = (char *)sql;
	argv[n] = NULL;
	return pgt_psql_run(argv);
}

const char *
pgt_database(int install)
{
	static char	name[64];
	PGconn		*c;
	PGresult	*r;

	snprintf(name, sizeof name, "crm_%ld_%u", (long)getpid(), pgt_ndb++);
	c = pgt_connect("postgres");
	pgt_exec(c, "CREATE DATABASE %s", name);
	PQfinish(c);
	c = pgt_connect(name);
	r = PQexec(c, pgt_crm_sql);
	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "CRM tables: %s",
	    PQerrorMessage(c));
	PQclear(r);
	pgt_exec(c, "%s", pgt_contacts_sql);
	PQfinish(c);
	if (install)
		ck_assert_msg(pgt_psql(name, "client/pg/crmpubsub.sql", NULL)
		    == 0, "psql -f client/pg/crmpubsub.sql failed (see "
		    "%s/psql.log)", pgt.dir);
	return name;
}

void
pgt_reset(PGconn *c)
{
	pgt_exec(c, "TRUNCATE phoenix_kit_crm_interactions, "
	    "phoenix_kit_crm_interaction_parties, crmpubsub.outbox");
	pgt_exec(c, "%s", pgt_contacts_sql);
}

const char *
pgt_bridge_bin(void)
{
	static char	 path[4096];
	const char	*env = getenv("CRMPUBSUB_PG"), *build;

	if (env != NULL && *env != '\0')
		return env;
	build = getenv("CRMPUBSUB_BUILD");
	snprintf(path, sizeof path, "%s/client/pg/crmpubsub-pg",
	    build != NULL && *build != '\0' ? build : ".");
	return path;
}

void
pgt_program_start(struct pgt_bridge *p, const char *log, char *const *argv,
    char *const *env)
{
	snprintf(p->log, sizeof p->log, "%s", log);
	p->pid = pgt_spawn(argv, env, p->log, 0, SIGKILL);
	ck_assert_int_ne(p->pid, -1);
}

void
pgt_bridge_start(struct pgt_bridge *b, const char *dir,
    const char *const *args, char *const *env)
{
	static unsigned	 seq;
	char		*argv[32], log[320];
	int		 n = 0;

	snprintf(log, sizeof log, "%s/bridge-%ld-%u.log", dir, (long)getpid(),
	    seq++);
	argv[n++] = (char *)pgt_bridge_bin();
	for (; args != NULL && *args != NULL && n < 31; args++)
		argv[n++] = (char *)*args;
	argv[n] = NULL;
	pgt_program_start(b, log, argv, env);
}

void
pgt_bridge_on(struct pgt_bridge *b, const char *dir, const char *db,
    const char *sock, const char *poll_interval)
{
	const char	*args[] = { "--dsn", pgt_dsn(db), "-s", sock,
			    "--poll-interval", poll_interval, "-v", NULL };

	pgt_bridge_start(b, dir, args, NULL);
}

int
pgt_bridge_stop(struct pgt_bridge *b, int sig)
{
	int	status;

	if (b->pid <= 0)
		return -1;
	kill(b->pid, sig);
	status = pgt_wait(b->pid, PGT_WAIT_MS);
	b->pid = -1;
	return status;
}

void
pgt_bridge_stop_clean(struct pgt_bridge *b)
{
	int	status = pgt_bridge_stop(b, SIGTERM);

	if (status != 0)
		pgt_show_log(b);
	ck_assert_msg(status == 0, "crmpubsub-pg exit status %#x after SIGTERM",
	    (unsigned)status);
}

/* The first line of the file that holds every needle; NULL if none. */
static const char *
pgt_find_line(const char *path, const char *const *needles)
{
	static char	 line[4096];
	FILE		*f;
	size_t		 i;

	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	while (fgets(line, sizeof line, f) != NULL) {
		for (i = 0; needles[i] != NULL; i++)
			if (strstr(line, needles[i]) == NULL)
				break;
		if (needles[i] == NULL) {
			fclose(f);
			line[strcspn(line, "\n")] = '\0';
			return line;
		}
	}
	fclose(f);
	return NULL;
}

const char *
pgt_log_line(const struct pgt_bridge *b, int timeout_ms, ...)
{
	const char	*needles[16], *line;
	long long	 deadline = h_now_ms() + timeout_ms;
	va_list		 ap;
	size_t		 n = 0;

	va_start(ap, timeout_ms);
	while (n < 15 && (needles[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	needles[n] = NULL;
	for (;;) {
		if ((line = pgt_find_line(b->log, needles)) != NULL)
			return line;
		if (h_now_ms() >= deadline)
			return NULL;
		h_nap_ms(20);
	}
}

const char *
pgt_log_stray_line(const struct pgt_bridge *b, const char *prefix)
{
	static char	 line[4096];
	FILE		*f;
	const char	*stray = NULL;

	if ((f = fopen(b->log, "r")) == NULL)
		return NULL;
	while (stray == NULL && fgets(line, sizeof line, f) != NULL)
		if (strncmp(line, prefix, strlen(prefix)) != 0)
			stray = line;
	fclose(f);
	if (stray != NULL)
		line[strcspn(line, "\n")] = '\0';
	return stray;
}

void
pgt_show_log(const struct pgt_bridge *b)
{
	char	 line[4096];
	FILE	*f;

	if ((f = fopen(b->log, "r")) == NULL)
		return;
	fprintf(stderr, "--- %s\n", b->log);
	while (fgets(line, sizeof line, f) != NULL)
		fputs(line, stderr);
	fclose(f);
}

int
pgt_alive(pid_t pid)
{
	char	 path[64], state = 0;
	FILE	*f;

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if (pid <= 0 || (f = fopen(path, "r")) == NULL)
		return 0;
	/* pid (comm) state …: a zombie has exited. */
	if (fscanf(f, "%*d (%*[^)]) %c", &state) != 1)
		state = 0;
	fclose(f);
	return state != 0 && state != 'Z';
}

/* A test UUID: prefix, then n in 12 hex digits (a few held at once). */
static const char *
pgt_test_uuid(const char *prefix, unsigned n)
{
	static _Thread_local char	buf[8][40];
	static _Thread_local unsigned	i;

	snprintf(buf[i % 8], sizeof buf[0], "%s-%012x", prefix, n);
	return buf[i++ % 8];
}

const char *
pgt_contact(unsigned n)
{
	return pgt_test_uuid("c0ffee00-0000-4000-8000", n);
}

const char *
pgt_interaction(unsigned n)
{
	return pgt_test_uuid("1a7e0000-0000-4000-8000", n);
}

/* Sends the request line in b and asserts an ok reply; returns it. */
static json_t *
pgt_request_ok(struct h_conn *c, const struct buf *b)
{
	json_t	*reply;

	ck_assert_int_eq(h_send(c, buf_head(b), buf_len(b)), 0);
	reply = h_recv_reply(c, PGT_WAIT_MS);
	ck_assert_msg(h_is_ok(reply), "%.*s: %s", (int)buf_len(b) - 1,
	    buf_head(b), h_dump(reply));
	return reply;
}

struct h_conn *
pgt_subscriber(const char *sock, unsigned lo, unsigned hi)
{
	struct h_conn		*c = h_connect_or_fail(sock);
	struct topic_key	*keys;
	struct buf		 b = BUF_INIT;
	json_t			*reply;
	uint8_t			 contact[16];
	size_t			 n = hi - lo + 1, i, named, max_line;

	ck_assert_ptr_nonnull(keys = calloc(n, sizeof *keys));
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(uuid_canon_parse(pgt_contact(lo + (unsigned)i),
		    UUID_TEXT_LEN, contact), 0);
		topic_contact_interactions(contact, &keys[i]);
	}
	/* The topics go in as many lines as the daemon's max_line needs. */
	ck_assert_int_eq(request_hello(&b, NULL), 0);
	reply = pgt_request_ok(c, &b);
	max_line = (size_t)h_int(reply, "max_line");
	json_decref(reply);
	for (i = 0; i < n; i += named) {
		buf_reset(&b);
		named = request_topics(&b, OP_SUBSCRIBE, keys + i, n - i,
		    max_line);
		ck_assert_uint_gt(named, 0);
		json_decref(pgt_request_ok(c, &b));
	}
	buf_free(&b);
	free(keys);
	return c;
}

void
pgt_pushes_add(struct pgt_pushes *p, const char *event, unsigned contact,
    unsigned interaction)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 64;
		ck_assert_ptr_nonnull(p->v = realloc(p->v, p->cap * sizeof *p->v));
	}
	ck_assert_int_ne(asprintf(&p->v[p->n++], "%s %u %u", event, contact,
	    interaction), -1);
}

void
pgt_pushes_take(struct pgt_pushes *dst, struct pgt_pushes *src)
{
	size_t	i;

	for (i = 0; i < src->n; i++) {
		if (dst->n == dst->cap) {
			dst->cap = dst->cap ? dst->cap * 2 : 64;
			ck_assert_ptr_nonnull(dst->v = realloc(dst->v,
			    dst->cap * sizeof *dst->v));
		}
		dst->v[dst->n++] = src->v[i];
	}
	free(src->v);
	memset(src, 0, sizeof *src);
}

/* qsort comparison of two push strings. */
static int
pgt_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
pgt_pushes_sort(struct pgt_pushes *p)
{
	if (p->n > 1)
		qsort(p->v, p->n, sizeof *p->v, pgt_cmp);
}

void
pgt_pushes_free(struct pgt_pushes *p)
{
	size_t	i;

	for (i = 0; i < p->n; i++)
		free(p->v[i]);
	free(p->v);
	memset(p, 0, sizeof *p);
}

/* The number in a test UUID (its last 12 hex digits). */
static unsigned
pgt_number(const char *uuid)
{
	size_t	len = uuid != NULL ? strlen(uuid) : 0;

	ck_assert_msg(len >= 12, "not a test UUID: %s", uuid ? uuid : "(null)");
	return (unsigned)strtoul(uuid + len - 12, NULL, 16);
}

void
pgt_collect(struct h_conn *c, size_t n, int timeout_ms, struct pgt_pushes *got)
{
	long long	 deadline = h_now_ms() + timeout_ms;
	json_t		*push;
	const char	*topic;
	char		 uuid[40];
	long long	 left;

	while (got->n < n && (left = deadline - h_now_ms()) > 0) {
		if ((push = h_recv_push(c, (int)left)) == NULL)
			break;
		ck_assert_str_eq(h_str(push, "type"), "crm");
		topic = h_str(push, "topic");
		ck_assert_ptr_nonnull(topic);
		snprintf(uuid, sizeof uuid, "%.36s", topic + strlen("crm:contact:"));
		pgt_pushes_add(got, h_str(push, "event"), pgt_number(uuid),
		    pgt_number(h_str(json_object_get(push, "payload"),
		    "interaction_uuid")));
		json_decref(push);
	}
}

/* What differs between two sorted sets, for a failure message (check
 * carries a few kilobytes at most): up to 20 of each side's extras. */
static char *
pgt_diff(const struct pgt_pushes *want, const struct pgt_pushes *got)
{
	char	*text = NULL;
	size_t	 len = 0, i = 0, j = 0, missing = 0, extra = 0;
	FILE	*f = open_memstream(&text, &len);
	int	 c;

	fprintf(f, " wanted %zu, got %zu;", want->n, got->n);
	while (i < want->n || j < got->n) {
		c = i == want->n ? 1 : j == got->n ? -1 :
		    strcmp(want->v[i], got->v[j]);
		if (c == 0) {
			i++, j++;
		} else if (c < 0) {
			if (missing++ < 20)
				fprintf(f, " missing [%s]", want->v[i]);
			i++;
		} else {
			if (extra++ < 20)
				fprintf(f, " extra [%s]", got->v[j]);
			j++;
		}
	}
	fprintf(f, " (%zu missing, %zu extra)", missing, extra);
	fclose(f);
	return text;
}

void
pgt_expect(struct h_conn *c, struct pgt_pushes *want, int quiet_ms)
{
	struct pgt_pushes	got = { 0 };
	size_t			i;
	int			same;

	pgt_collect(c, want->n, PGT_WAIT_MS, &got);
	if (got.n == want->n)
		pgt_collect(c, want->n + 1, quiet_ms, &got);
	pgt_pushes_sort(want);
	pgt_pushes_sort(&got);
	same = got.n == want->n;
	for (i = 0; same && i < got.n; i++)
		same = strcmp(got.v[i], want->v[i]) == 0;
	ck_assert_msg(same, "pushes differ:%s", pgt_diff(want, &got));
	pgt_pushes_free(&got);
}

void
pgt_expect_at_least(struct pgt_pushes *got, struct pgt_pushes *want)
{
	size_t	i;

	pgt_pushes_sort(got);
	for (i = 0; i < want->n; i++)
		ck_assert_msg(bsearch(&want->v[i], got->v, got->n,
		    sizeof *got->v, pgt_cmp) != NULL, "missing push:%s",
		    pgt_diff(want, got));
}

int
pgt_run(Suite *s, int fork)
{
	SRunner	*sr = srunner_create(s);
	int	 failed;

	if (!fork)
		srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
