/* SPDX-License-Identifier: MIT — crmpubsub */
/* Installing and removing the outbox with psql, as docs/postgres.md says:
 * client/pg/crmpubsub.sql run twice changes nothing and keeps waiting rows;
 * uninstall.sql removes every trigger, function and the schema, also twice;
 * psql variables and crmpubsub.attach() put the triggers on one's own
 * tables (then pushes come from those), and a column of the wrong type is
 * refused with a message naming it. `make install` puts the bridge, its SQL,
 * unit and manual where docs/postgres.md says, and the unit passes
 * systemd-analyze. */

#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pgtest.h"

static const char *const no_vars[] = { NULL };

/* Whether psql's log holds text (psql appends every run's errors). */
static int
psql_said(const char *text)
{
	char	 path[320], line[1024];
	FILE	*f;
	int	 found = 0;

	snprintf(path, sizeof path, "%s/psql.log", pgt.dir);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while (!found && fgets(line, sizeof line, f) != NULL)
		found = strstr(line, text) != NULL;
	fclose(f);
	return found;
}

/* Triggers named crmpubsub_outbox in the database. */
static long long
triggers(PGconn *c)
{
	return pgt_int(c, "SELECT count(*) FROM pg_trigger WHERE tgname = "
	    "'crmpubsub_outbox'");
}

START_TEST(install_twice_keeps_rows)
{
	const char	*name = pgt_database(1);
	PGconn		*c = pgt_connect(name);

	pgt_exec(c, "INSERT INTO phoenix_kit_crm_interactions (uuid, "
	    "contact_uuid) VALUES ('%s', '%s')", pgt_interaction(1),
	    pgt_contact(1));
	ck_assert_int_eq(pgt_outbox(c), 1);
	ck_assert_int_eq(pgt_psql(name, "client/pg/crmpubsub.sql", no_vars), 0);
	ck_assert_int_eq(pgt_outbox(c), 1);
	ck_assert_int_eq(triggers(c), 2);
	pgt_exec(c, "UPDATE phoenix_kit_crm_interactions SET subject = 'x'");
	ck_assert_int_eq(pgt_outbox(c), 3);	/* one lookup, one update */
	PQfinish(c);
}
END_TEST

START_TEST(uninstall_removes_everything)
{
	const char	*name = pgt_database(1);
	PGconn		*c = pgt_connect(name);

	ck_assert_int_eq(pgt_psql(name, "client/pg/uninstall.sql", NULL), 0);
	ck_assert_int_eq(triggers(c), 0);
	ck_assert_int_eq(pgt_int(c, "SELECT count(*) FROM pg_namespace WHERE "
	    "nspname = 'crmpubsub'"), 0);
	ck_assert_int_eq(pgt_int(c, "SELECT count(*) FROM pg_proc WHERE "
	    "proname LIKE '%%phoenix_kit_crm%%'"), 0);
	/* The CRM tables work as before. */
	pgt_exec(c, "INSERT INTO phoenix_kit_crm_interactions (uuid, "
	    "contact_uuid) VALUES ('%s', '%s')", pgt_interaction(1),
	    pgt_contact(1));
	ck_assert_int_eq(pgt_psql(name, "client/pg/uninstall.sql", NULL), 0);
	ck_assert_int_eq(pgt_psql(name, "client/pg/crmpubsub.sql", NULL), 0);
	ck_assert_int_eq(triggers(c), 2);
	PQfinish(c);
}
END_TEST

/* Own tables: meetings (id, owner) and attendees (meeting, person) by psql
 * variables; notes (id, author) and note_people (note, who) by attach().
 * Both send pushes; detach() stops the second. */
START_TEST(attach_to_own_tables)
{
	const char		*name = pgt_database(0);
	const char		*vars[] = { "interactions", "meetings",
				    "interaction_key", "id", "subject", "owner",
				    "parties", "attendees", "party_interaction",
				    "meeting", "party_contact", "person", NULL };
	PGconn			*c = pgt_connect(name);
	struct pgt_bridge	 b;
	struct pgt_pushes	 want = { 0 };
	struct h_conn		*sub;

	pgt_exec(c, "CREATE TABLE meetings (id uuid PRIMARY KEY, owner uuid);"
	    "CREATE TABLE attendees (meeting uuid REFERENCES meetings "
	    "ON DELETE CASCADE, person uuid);"
	    "CREATE TABLE notes (id uuid PRIMARY KEY, author uuid);"
	    "CREATE TABLE note_people (note uuid, who uuid)");
	ck_assert_int_eq(pgt_psql(name, "client/pg/crmpubsub.sql", vars), 0);
	pgt_exec(c, "SELECT crmpubsub.attach('notes', 'note_people', 'id', "
	    "'author', 'note', 'who')");
	ck_assert_int_eq(triggers(c), 4);

	h_test_up(NULL);
	sub = pgt_subscriber(h_test_daemon.sock, 0, 99);
	pgt_bridge_on(&b, h_test_daemon.dir, name, h_test_daemon.sock, "0.2");
	pgt_exec(c, "BEGIN; INSERT INTO meetings VALUES ('%s', '%s'); "
	    "INSERT INTO attendees VALUES ('%s', '%s'); COMMIT",
	    pgt_interaction(1), pgt_contact(1), pgt_interaction(1),
	    pgt_contact(2));
	pgt_exec(c, "INSERT INTO notes VALUES ('%s', '%s')",
	    pgt_interaction(2), pgt_contact(3));
	pgt_exec(c, "UPDATE attendees SET person = '%s'", pgt_contact(4));
	pgt_pushes_add(&want, "interaction_created", 1, 1);
	pgt_pushes_add(&want, "interaction_created", 2, 1);
	pgt_pushes_add(&want, "interaction_created", 3, 2);
	pgt_pushes_add(&want, "interaction_updated", 1, 1);
	pgt_pushes_add(&want, "interaction_updated", 2, 1);
	pgt_pushes_add(&want, "interaction_updated", 4, 1);
	pgt_expect(sub, &want, 200);
	pgt_pushes_free(&want);

	pgt_exec(c, "SELECT crmpubsub.detach('note_people')");
	ck_assert_int_eq(triggers(c), 2);
	pgt_exec(c, "UPDATE notes SET author = '%s'", pgt_contact(5));
	ck_assert_int_eq(pgt_outbox(c), 0);

	pgt_bridge_stop_clean(&b);
	h_close(sub);
	h_test_down();
	PQfinish(c);
}
END_TEST

START_TEST(wrong_columns_are_refused)
{
	const char	*name = pgt_database(0);
	const char	*text_col[] = { "subject", "subject", NULL };
	const char	*no_col[] = { "party_contact", "person", NULL };
	PGconn		*c = pgt_connect(name);

	ck_assert_int_ne(pgt_psql(name, "client/pg/crmpubsub.sql", text_col), 0);
	ck_assert(psql_said("column phoenix_kit_crm_interactions.subject is of "
	    "type text, not uuid"));
	ck_assert_int_ne(pgt_psql(name, "client/pg/crmpubsub.sql", no_col), 0);
	ck_assert(psql_said("table phoenix_kit_crm_interaction_parties has no "
	    "column person"));
	/* A failed install leaves nothing behind. */
	ck_assert_int_eq(triggers(c), 0);
	ck_assert_int_eq(pgt_int(c, "SELECT count(*) FROM pg_namespace WHERE "
	    "nspname = 'crmpubsub'"), 0);
	PQfinish(c);
}
END_TEST

/* Runs a shell command (formatted); its exit status, its output in out. */
static int
sh(char *out, size_t cap, const char *fmt, ...)
{
	char	*cmd, *full;
	va_list	 ap;
	FILE	*p;
	size_t	 n = 0;
	int	 status;

	va_start(ap, fmt);
	ck_assert_int_ne(vasprintf(&cmd, fmt, ap), -1);
	va_end(ap);
	ck_assert_int_ne(asprintf(&full, "(%s) 2>&1", cmd), -1);
	ck_assert_ptr_nonnull(p = popen(full, "r"));
	while (n + 1 < cap && fgets(out + n, (int)(cap - n), p) != NULL)
		n += strlen(out + n);
	out[n] = '\0';
	status = pclose(p);
	free(cmd);
	free(full);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

START_TEST(make_install_and_uninstall)
{
	static const struct { const char *path; mode_t mode; } files[] = {
		{ "/usr/sbin/crmpubsub-pg", 0755 },
		{ "/usr/share/crmpubsub/crmpubsub.sql", 0644 },
		{ "/usr/share/crmpubsub/uninstall.sql", 0644 },
		{ "/usr/lib/systemd/system/crmpubsub-pg.service", 0644 },
		{ "/usr/share/man/man8/crmpubsub-pg.8", 0644 },
		{ "/etc/crmpubsub/crmpubsub-pg.conf", 0644 },
	};
	const char	*top = getenv("CRMPUBSUB_TOP"), *build;
	char		 d[] = "/tmp/crmpubsub-pginst.XXXXXX", out[16384];
	char		 path[512];
	struct stat	 st;
	size_t		 i;
	double		 exposure = 99;
	char		*p;

	build = getenv("CRMPUBSUB_BUILD");
	ck_assert_ptr_nonnull(top);
	ck_assert_ptr_nonnull(mkdtemp(d));
	ck_assert_msg(sh(out, sizeof out, "env -u MAKEFLAGS -u MFLAGS make -C %s "
	    "--no-print-directory -o all "
	    "install DESTDIR=%s PREFIX=/usr O=%s", top, d, build ? build : ".")
	    == 0, "make install: %s", out);
	for (i = 0; i < sizeof files / sizeof files[0]; i++) {
		snprintf(path, sizeof path, "%s%s", d, files[i].path);
		ck_assert_msg(stat(path, &st) == 0 && (st.st_mode & 07777) ==
		    files[i].mode, "%s missing or mode %o", files[i].path,
		    st.st_mode & 07777);
	}
	ck_assert_int_eq(sh(out, sizeof out, "grep '^ExecStart=' %s/usr/lib/"
	    "systemd/system/crmpubsub-pg.service", d), 0);
	ck_assert_str_eq(out, "ExecStart=/usr/sbin/crmpubsub-pg -c "
	    "/etc/crmpubsub/crmpubsub-pg.conf\n");
	ck_assert_msg(sh(out, sizeof out, "mandoc -T lint -W warning %s/usr/"
	    "share/man/man8/crmpubsub-pg.8", d) == 0 && out[0] == '\0',
	    "mandoc: %s", out);
	/* The example config is accepted as shipped, every line uncommented. */
	ck_assert_msg(sh(out, sizeof out, "sed -n 's/^#\\([a-z_]* = .\\)/\\1/p' "
	    "%s/etc/crmpubsub/crmpubsub-pg.conf > %s/all.conf && "
	    "%s/usr/sbin/crmpubsub-pg -c %s/all.conf --dsn x=", d, d, d, d) == 2
	    && strstr(out, "invalid connection option \"x\"") != NULL,
	    "example config: %s", out);

	if (access("/usr/bin/systemd-analyze", X_OK) == 0) {
		/* What systemd-analyze --root needs from the host. */
		ck_assert_int_eq(sh(out, sizeof out, "mkdir -p %s/usr/bin && "
		    "ln -s usr/bin %s/bin && for t in /usr/lib/systemd/system/"
		    "*.target; do cp -n \"$t\" %s/usr/lib/systemd/system/; done",
		    d, d, d), 0);
		ck_assert_msg(sh(out, sizeof out, "MANPATH=%s/usr/share/man "
		    "systemd-analyze verify --root=%s crmpubsub-pg.service", d, d)
		    == 0 && out[0] == '\0', "verify: %s", out);
		sh(out, sizeof out, "systemd-analyze security --offline=yes "
		    "--root=%s crmpubsub-pg.service | grep 'Overall exposure'", d);
		if ((p = strchr(out, ':')) != NULL)
			exposure = strtod(p + 1, NULL);
		ck_assert_msg(exposure <= 2.0, "exposure: %s", out);
		sh(out, sizeof out, "rm -rf %s/bin %s/usr/bin %s/usr/lib/systemd/"
		    "system/*.target %s/all.conf", d, d, d, d);
	}

	ck_assert_msg(sh(out, sizeof out, "env -u MAKEFLAGS -u MFLAGS make -C %s "
	    "--no-print-directory -o all "
	    "uninstall DESTDIR=%s PREFIX=/usr O=%s >/dev/null && cd %s && "
	    "find . ! -type d",
	    top, d, build ? build : ".", d) == 0 && out[0] == '\0',
	    "left after uninstall: %s", out);
	sh(out, sizeof out, "rm -rf %s", d);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("pg_install");
	TCase	*tc = tcase_create("install");

	tcase_add_unchecked_fixture(tc, pgt_cluster_up, pgt_cluster_down);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, install_twice_keeps_rows);
	tcase_add_test(tc, uninstall_removes_everything);
	tcase_add_test(tc, attach_to_own_tables);
	tcase_add_test(tc, wrong_columns_are_refused);
	tcase_add_test(tc, make_install_and_uninstall);
	suite_add_tcase(s, tc);
	return pgt_run(s, 1);
}
