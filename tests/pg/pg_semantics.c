/* SPDX-License-Identifier: MIT — crmpubsub */
/* What a committed write broadcasts: a real PostgreSQL 15 cluster with the
 * CRM tables and client/pg/crmpubsub.sql installed by psql, the real
 * crmpubsubd and crmpubsub-pg, and a subscriber to contacts 0..99. Each
 * test writes through libpq and compares the whole set of pushes with the
 * involved-contacts rule: old ∪ new contacts of the interaction, one push
 * per contact, the event from the interaction row's insert or delete.
 * The bridge polls only every 60 s, so every push here also proves that
 * the doorbell rang. */

#include <check.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pgtest.h"

#define NONE	(-1)		/* a NULL contact */
#define QUIET_MS 300		/* no further push within this */

static PGconn			*db;
static const char		*dbname;
static struct h_conn		*sub;
static struct pgt_bridge	 bridge;

/* Once: the cluster and a database with the CRM tables and the outbox. */
static void
cluster_up(void)
{
	static char	name[64];

	pgt_cluster_up();
	snprintf(name, sizeof name, "%s", pgt_database(1));
	dbname = name;
}

/* Per test: empty tables, a daemon, the bridge and a subscriber. */
static void
setup(void)
{
	const char	*args[] = { "--max-outbuf", "16M", NULL };

	db = pgt_connect(dbname);
	pgt_reset(db);
	h_test_up(args);
	pgt_bridge_on(&bridge, h_test_daemon.dir, dbname, h_test_daemon.sock,
	    "60");
	ck_assert_ptr_nonnull(pgt_log_line(&bridge, PGT_WAIT_MS,
	    "postgres: connected", NULL));
	sub = pgt_subscriber(h_test_daemon.sock, 0, 99);
}

static void
teardown(void)
{
	h_close(sub);
	if (bridge.pid > 0)
		pgt_bridge_stop_clean(&bridge);
	PQfinish(db);
	h_test_down();
}

/* A contact column's SQL: the contact's UUID, or NULL. */
static const char *
contact_sql(int n)
{
	static char	buf[4][48];
	static unsigned	i;

	if (n == NONE)
		return "NULL";
	snprintf(buf[i % 4], sizeof buf[0], "'%s'", pgt_contact((unsigned)n));
	return buf[i++ % 4];
}

static void
add_interaction(unsigned i, int subject)
{
	pgt_exec(db, "INSERT INTO phoenix_kit_crm_interactions (uuid, "
	    "contact_uuid, subject) VALUES ('%s', %s, 'call')",
	    pgt_interaction(i), contact_sql(subject));
}

static void
add_party(unsigned i, int contact)
{
	pgt_exec(db, "INSERT INTO phoenix_kit_crm_interaction_parties "
	    "(interaction_uuid, contact_uuid) VALUES ('%s', %s)",
	    pgt_interaction(i), contact_sql(contact));
}

/* Adds event pushes of interaction i to contacts (ending with NONE). */
static void
want(struct pgt_pushes *w, const char *event, unsigned i, ...)
{
	va_list	ap;
	int	c;

	va_start(ap, i);
	while ((c = va_arg(ap, int)) != NONE)
		pgt_pushes_add(w, event, (unsigned)c, i);
	va_end(ap);
}

/* Expects exactly w (then nothing), and an empty outbox. */
static void
expect(struct pgt_pushes *w)
{
	pgt_expect(sub, w, QUIET_MS);
	pgt_pushes_free(w);
	ck_assert_msg(pgt_outbox_drains(db, PGT_WAIT_MS), "outbox not empty");
}

/* Interaction i created with every contact (0..99) involved; its pushes
 * added to w. */
static void
add_with_every_contact(unsigned i, struct pgt_pushes *w)
{
	unsigned	c;

	pgt_exec(db, "BEGIN");
	add_interaction(i, 0);
	pgt_exec(db, "INSERT INTO phoenix_kit_crm_interaction_parties "
	    "(interaction_uuid, contact_uuid) SELECT '%s', uuid FROM "
	    "phoenix_kit_crm_contacts", pgt_interaction(i));
	pgt_exec(db, "COMMIT");
	for (c = 0; c < 100; c++)
		pgt_pushes_add(w, "interaction_created", c, i);
}

/* Starts the daemon again with dargs, and the subscriber and the bridge
 * (polling every poll_interval seconds) on it. */
static void
daemon_again(const char *const *dargs, const char *poll_interval)
{
	h_close(sub);
	pgt_bridge_stop_clean(&bridge);
	h_test_down();
	h_test_up(dargs);
	sub = pgt_subscriber(h_test_daemon.sock, 0, 99);
	pgt_bridge_on(&bridge, h_test_daemon.dir, dbname, h_test_daemon.sock,
	    poll_interval);
}

/* Writes text as the daemon's configuration file; returns its path. */
static const char *
daemon_conf(const char *text)
{
	static char	conf[320];
	FILE		*f;

	snprintf(conf, sizeof conf, "%s/daemon-%ld.conf", pgt.dir,
	    (long)getpid());
	ck_assert_ptr_nonnull(f = fopen(conf, "w"));
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
	return conf;
}

/* Interaction i with subject s and parties a, b, committed, its pushes
 * consumed. */
static void
given(unsigned i, int s, int a, int b)
{
	struct pgt_pushes	w = { 0 };

	pgt_exec(db, "BEGIN");
	add_interaction(i, s);
	add_party(i, a);
	add_party(i, b);
	pgt_exec(db, "COMMIT");
	want(&w, "interaction_created", i, s, a, b, NONE);
	expect(&w);
}

START_TEST(commit_broadcasts)
{
	struct pgt_pushes	w = { 0 };

	add_interaction(1, 1);
	want(&w, "interaction_created", 1, 1, NONE);
	expect(&w);
}
END_TEST

START_TEST(rollback_broadcasts_nothing)
{
	struct pgt_pushes	w = { 0 };

	pgt_exec(db, "BEGIN");
	add_interaction(1, 1);
	add_party(1, 2);
	pgt_exec(db, "ROLLBACK");
	/* A later commit shows the bridge was awake all along. */
	add_interaction(2, 3);
	want(&w, "interaction_created", 2, 3, NONE);
	expect(&w);
}
END_TEST

START_TEST(savepoint_rolled_back)
{
	struct pgt_pushes	w = { 0 };

	pgt_exec(db, "BEGIN");
	add_interaction(1, 1);
	pgt_exec(db, "SAVEPOINT s");
	add_interaction(2, 2);
	add_party(1, 5);
	pgt_exec(db, "ROLLBACK TO SAVEPOINT s");
	add_interaction(3, 3);
	pgt_exec(db, "COMMIT");
	want(&w, "interaction_created", 1, 1, NONE);
	want(&w, "interaction_created", 3, 3, NONE);
	expect(&w);
}
END_TEST

/* The doorbell's once-per-transaction mark lives in the savepoint too:
 * when it is rolled back, the next change must ring again. */
START_TEST(doorbell_after_rolled_back_savepoint)
{
	struct pgt_pushes	w = { 0 };

	pgt_exec(db, "BEGIN");
	pgt_exec(db, "SAVEPOINT s");
	add_interaction(1, 1);
	pgt_exec(db, "ROLLBACK TO SAVEPOINT s");
	add_interaction(2, 2);
	pgt_exec(db, "COMMIT");
	want(&w, "interaction_created", 2, 2, NONE);
	expect(&w);
}
END_TEST

/* Notifications on the doorbell's channel that reach listener within
 * ms; each must carry the constant payload "outbox". */
static int
doorbells(PGconn *listener, int ms)
{
	long long	 deadline = h_now_ms() + ms;
	PGnotify	*n;
	int		 count = 0;

	while (h_now_ms() < deadline) {
		ck_assert_int_eq(PQconsumeInput(listener), 1);
		while ((n = PQnotifies(listener)) != NULL) {
			ck_assert_str_eq(n->relname, "crmpubsub");
			ck_assert_str_eq(n->extra, "outbox");
			count++;
			PQfreemem(n);
		}
		h_nap_ms(20);
	}
	return count;
}

/* The doorbell is one small constant NOTIFY per writing transaction,
 * however many rows and interactions it changes; none for a rollback. */
START_TEST(doorbell_once_per_transaction)
{
	PGconn	*listener = pgt_connect(dbname);

	pgt_exec(listener, "LISTEN crmpubsub");
	pgt_exec(db, "BEGIN");
	add_interaction(1, 1);
	add_party(1, 2);
	add_party(1, 3);
	add_interaction(2, 4);
	pgt_exec(db, "UPDATE phoenix_kit_crm_interactions SET subject = 'x'");
	pgt_exec(db, "COMMIT");
	ck_assert_int_eq(doorbells(listener, 300), 1);
	pgt_exec(db, "BEGIN");
	add_interaction(3, 5);
	pgt_exec(db, "ROLLBACK");
	add_party(2, 6);
	ck_assert_int_eq(doorbells(listener, 300), 1);
	PQfinish(listener);
}
END_TEST

/* crmpubsub.doorbell = off (here for the session; for a database or role
 * with ALTER ... SET) keeps NOTIFY silent: only a poll finds the row, and
 * this bridge polls every 60 s. The next write that rings brings it along. */
START_TEST(doorbell_can_be_silenced)
{
	struct pgt_pushes	w = { 0 };

	pgt_exec(db, "SET crmpubsub.doorbell = off");
	add_interaction(1, 1);
	ck_assert_msg(h_silent(sub, 1000), "a push came without the doorbell");
	pgt_exec(db, "RESET crmpubsub.doorbell");
	add_interaction(2, 2);
	want(&w, "interaction_created", 1, 1, NONE);
	want(&w, "interaction_created", 2, 2, NONE);
	expect(&w);
}
END_TEST

START_TEST(create_with_parties_is_one_created)
{
	struct pgt_pushes	w = { 0 };

	pgt_exec(db, "BEGIN");
	add_interaction(1, 1);
	add_party(1, 2);
	add_party(1, 3);
	add_party(1, NONE);
	add_party(1, 2);
	pgt_exec(db, "COMMIT");
	want(&w, "interaction_created", 1, 1, 2, 3, NONE);
	expect(&w);
}
END_TEST

/* The CRM's edit: delete every party, insert the new ones, touch the row. */
START_TEST(update_replacing_parties_reaches_old_and_new)
{
	struct pgt_pushes	w = { 0 };

	given(1, 1, 2, 3);
	pgt_exec(db, "BEGIN");
	pgt_exec(db, "DELETE FROM phoenix_kit_crm_interaction_parties "
	    "WHERE interaction_uuid = '%s'", pgt_interaction(1));
	add_party(1, 3);
	add_party(1, 4);
	pgt_exec(db, "UPDATE phoenix_kit_crm_interactions SET subject = "
	    "'edited' WHERE uuid = '%s'", pgt_interaction(1));
	pgt_exec(db, "COMMIT");
	want(&w, "interaction_updated", 1, 1, 2, 3, 4, NONE);
	expect(&w);
}
END_TEST

START_TEST(plain_update_reaches_subject_and_parties)
{
	struct pgt_pushes	w = { 0 };

	given(1, 1, 2, 3);
	pgt_exec(db, "UPDATE phoenix_kit_crm_interactions SET subject = "
	    "'edited' WHERE uuid = '%s'", pgt_interaction(1));
	want(&w, "interaction_updated", 1, 1, 2, 3, NONE);
	expect(&w);
}
END_TEST

START_TEST(subject_change)
{
	struct pgt_pushes	w = { 0 };

	given(1, 1, 2, NONE);
	pgt_exec(db, "UPDATE phoenix_kit_crm_interactions SET contact_uuid = "
	    "%s WHERE uuid = '%s'", contact_sql(5), pgt_interaction(1));
	want(&w, "interaction_updated", 1, 1, 5, 2, NONE);
	expect(&w);
}
END_TEST

START_TEST(party_set_to_null)
{
	struct pgt_pushes	w = { 0 };

	given(1, 1, 2, 3);
	pgt_exec(db, "UPDATE phoenix_kit_crm_interaction_parties SET "
	    "contact_uuid = NULL WHERE contact_uuid = %s", contact_sql(2));
	want(&w, "interaction_updated", 1, 1, 2, 3, NONE);
	expect(&w);
}
END_TEST

START_TEST(delete_reaches_everyone)
{
	struct pgt_pushes	w = { 0 };

	given(1, 1, 2, 3);
	pgt_exec(db, "DELETE FROM phoenix_kit_crm_interactions WHERE uuid = "
	    "'%s'", pgt_interaction(1));
	want(&w, "interaction_deleted", 1, 1, 2, 3, NONE);
	expect(&w);
}
END_TEST

/* Deleting a contact cascades: its interactions go (deleted, to everyone
 * in them), and its parties elsewhere are set NULL (updated). */
START_TEST(contact_deleted_with_cascade)
{
	struct pgt_pushes	w = { 0 };

	given(1, 7, 8, NONE);
	given(2, 9, 7, 10);
	pgt_exec(db, "DELETE FROM phoenix_kit_crm_contacts WHERE uuid = %s",
	    contact_sql(7));
	want(&w, "interaction_deleted", 1, 7, 8, NONE);
	want(&w, "interaction_updated", 2, 9, 7, 10, NONE);
	expect(&w);
}
END_TEST

/* Made and removed in one transaction: nobody saw it, deleted is safe. */
START_TEST(created_and_deleted_in_one_transaction)
{
	struct pgt_pushes	w = { 0 };

	pgt_exec(db, "BEGIN");
	add_interaction(1, 1);
	add_party(1, 2);
	pgt_exec(db, "DELETE FROM phoenix_kit_crm_interactions WHERE uuid = "
	    "'%s'", pgt_interaction(1));
	pgt_exec(db, "COMMIT");
	want(&w, "interaction_deleted", 1, 1, 2, NONE);
	expect(&w);
}
END_TEST

/* Many interactions in one transaction, read 10 rows a round: groups cut
 * by the batch wait for the next round, so each is still one broadcast. */
START_TEST(large_transaction_in_small_rounds)
{
	const char		*args[] = { "--dsn", pgt_dsn(dbname), "-s",
				    h_test_daemon.sock, "--batch", "10",
				    "--poll-interval", "60", NULL };
	struct pgt_pushes	 w = { 0 };
	unsigned		 i;

	pgt_bridge_stop_clean(&bridge);
	pgt_bridge_start(&bridge, h_test_daemon.dir, args, NULL);
	pgt_exec(db, "BEGIN");
	for (i = 0; i < 60; i++) {
		add_interaction(i, (int)i % 90);
		add_party(i, (int)i % 90 + 1);
		add_party(i, (int)i % 90 + 2);
		add_party(i, NONE);
		want(&w, "interaction_created", i, i % 90, i % 90 + 1,
		    i % 90 + 2, NONE);
	}
	pgt_exec(db, "COMMIT");
	expect(&w);
}
END_TEST

/* One interaction with more contacts than a broadcast may name. */
START_TEST(many_contacts_in_pieces)
{
	const char		*args[] = { "--dsn", pgt_dsn(dbname), "-s",
				    h_test_daemon.sock, "--max-contacts", "7",
				    "--poll-interval", "60", NULL };
	struct pgt_pushes	 w = { 0 };

	pgt_bridge_stop_clean(&bridge);
	pgt_bridge_start(&bridge, h_test_daemon.dir, args, NULL);
	add_with_every_contact(1, &w);
	expect(&w);
}
END_TEST

/* A daemon whose limits are below the bridge's: the limits its hello
 * announced (in the connected line) hold from the first broadcast, so
 * nothing is refused. */
static void
announced_limits_kept(const char *const *dargs, const char *announced)
{
	struct pgt_pushes	w = { 0 };

	daemon_again(dargs, "60");
	ck_assert_ptr_nonnull(pgt_log_line(&bridge, PGT_WAIT_MS,
	    "crmpubsubd: connected", announced, NULL));
	add_with_every_contact(1, &w);
	expect(&w);
	ck_assert_msg(pgt_log_line(&bridge, 0, "refused", NULL) == NULL,
	    "a broadcast was refused: %s", pgt_log_line(&bridge, 0,
	    "refused", NULL));
}

START_TEST(announced_max_contacts_kept)
{
	const char	*dargs[] = { "--max-contacts", "7", NULL };

	announced_limits_kept(dargs, "max_contacts 7)");
}
END_TEST

START_TEST(announced_max_line_kept)
{
	const char	*dargs[] = { "--max-line", "1000", NULL };

	announced_limits_kept(dargs, "max_line 1000,");
}
END_TEST

/* Limits lowered by a reload while the bridge is connected: the daemon
 * refuses a line too long, then too many contacts, and each time the
 * bridge sends the round again at once in smaller pieces. Nothing is lost;
 * pushes of a piece accepted in a round that failed come again. */
START_TEST(limits_lowered_by_reload)
{
	struct pgt_pushes	 w = { 0 }, got = { 0 };
	const char		*dargs[] = { "-c", daemon_conf(""), NULL };

	daemon_again(dargs, "60");
	ck_assert_ptr_nonnull(pgt_log_line(&bridge, PGT_WAIT_MS,
	    "crmpubsubd: connected", "max_contacts 1024)", NULL));
	daemon_conf("max_contacts = 7\nmax_line = 1000\n");
	ck_assert_int_eq(kill(h_test_daemon.pid, SIGHUP), 0);
	ck_assert(h_wait_log(&h_test_daemon, "reloaded", PGT_WAIT_MS));
	add_with_every_contact(1, &w);
	ck_assert_msg(pgt_outbox_drains(db, PGT_WAIT_MS), "outbox not empty");
	ck_assert_ptr_nonnull(pgt_log_line(&bridge, 0, "refused a broadcast: "
	    "line_too_long; sending at most", NULL));
	ck_assert_ptr_nonnull(pgt_log_line(&bridge, 0, "refused a broadcast: "
	    "too_many; sending at most", NULL));
	pgt_collect(sub, 2 * w.n, 1000, &got);
	pgt_expect_at_least(&got, &w);
	pgt_pushes_free(&w);
	pgt_pushes_free(&got);
}
END_TEST

/* Rows written without a doorbell (here: by hand) wait only for the poll. */
START_TEST(poll_finds_rows_without_a_doorbell)
{
	const char		*args[] = { "--dsn", pgt_dsn(dbname), "-s",
				    h_test_daemon.sock, "--poll-interval", "0.2",
				    NULL };
	struct pgt_pushes	 w = { 0 };

	pgt_bridge_stop_clean(&bridge);
	pgt_bridge_start(&bridge, h_test_daemon.dir, args, NULL);
	pgt_exec(db, "INSERT INTO crmpubsub.outbox (txid, interaction_uuid, "
	    "contact_uuid, change) VALUES (pg_current_xact_id(), '%s', %s, "
	    "'U')", pgt_interaction(1), contact_sql(4));
	want(&w, "interaction_updated", 1, 4, NONE);
	expect(&w);
}
END_TEST

/* A daemon that refuses the bridge's broadcasts (publish ACL) loses
 * nothing: the rows wait, and go once the daemon accepts them. */
START_TEST(refused_broadcasts_keep_their_rows)
{
	struct pgt_pushes	 w = { 0 };
	const char		*dargs[] = { "-c",
				    daemon_conf("publish_uids = 4000000\n"),
				    NULL };

	daemon_again(dargs, "0.2");

	add_interaction(1, 1);
	ck_assert_msg(pgt_log_line(&bridge, PGT_WAIT_MS, "refused a broadcast",
	    "forbidden", "retrying", NULL) != NULL, "no refusal logged");
	ck_assert_int_eq(pgt_outbox(db), 1);
	daemon_conf("");
	kill(h_test_daemon.pid, SIGHUP);
	want(&w, "interaction_created", 1, 1, NONE);
	expect(&w);
}
END_TEST

static Suite *
semantics_suite(void)
{
	Suite	*s = suite_create("pg_semantics");
	TCase	*tc = tcase_create("writes");

	tcase_add_unchecked_fixture(tc, cluster_up, pgt_cluster_down);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, commit_broadcasts);
	tcase_add_test(tc, rollback_broadcasts_nothing);
	tcase_add_test(tc, savepoint_rolled_back);
	tcase_add_test(tc, doorbell_after_rolled_back_savepoint);
	tcase_add_test(tc, doorbell_can_be_silenced);
	tcase_add_test(tc, doorbell_once_per_transaction);
	tcase_add_test(tc, create_with_parties_is_one_created);
	tcase_add_test(tc, update_replacing_parties_reaches_old_and_new);
	tcase_add_test(tc, plain_update_reaches_subject_and_parties);
	tcase_add_test(tc, subject_change);
	tcase_add_test(tc, party_set_to_null);
	tcase_add_test(tc, delete_reaches_everyone);
	tcase_add_test(tc, contact_deleted_with_cascade);
	tcase_add_test(tc, created_and_deleted_in_one_transaction);
	tcase_add_test(tc, large_transaction_in_small_rounds);
	tcase_add_test(tc, many_contacts_in_pieces);
	tcase_add_test(tc, announced_max_contacts_kept);
	tcase_add_test(tc, announced_max_line_kept);
	tcase_add_test(tc, limits_lowered_by_reload);
	tcase_add_test(tc, poll_finds_rows_without_a_doorbell);
	tcase_add_test(tc, refused_broadcasts_keep_their_rows);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return pgt_run(semantics_suite(), 1);
}
