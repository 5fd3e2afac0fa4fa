/* SPDX-License-Identifier: MIT — crmpubsub */
/* The bridge's grouping rules alone (client/pg/group.c): one group per
 * (transaction, interaction), the event from the interaction row's inserts
 * and deletes, contacts deduplicated with NULLs dropped, and where a round
 * that filled its batch is cut. */

#include <check.h>
#include <string.h>

#include "bridge.h"

/* A row: id, txid, interaction number, contact number (-1: NULL), change. */
static struct outbox_row
row(uint64_t id, uint64_t txid, unsigned i, int contact, char change)
{
	struct outbox_row	r;

	memset(&r, 0, sizeof r);
	r.id = id;
	r.txid = txid;
	r.interaction[15] = (uint8_t)i;
	r.has_contact = contact >= 0;
	if (contact >= 0)
		r.contact[15] = (uint8_t)contact;
	r.change = change;
	return r;
}

/* The event of a sequence of change markers. */
static enum crm_event
event_of(const char *changes)
{
	struct outbox_row	rows[16];
	size_t			n;

	for (n = 0; changes[n] != '\0'; n++)
		rows[n] = row(n + 1, 1, 1, 1, changes[n]);
	return group_event(rows, n);
}

START_TEST(event_rule)
{
	ck_assert_int_eq(event_of("I"), EVENT_INTERACTION_CREATED);
	ck_assert_int_eq(event_of("IPPP"), EVENT_INTERACTION_CREATED);
	ck_assert_int_eq(event_of("LPPU"), EVENT_INTERACTION_UPDATED);
	ck_assert_int_eq(event_of("P"), EVENT_INTERACTION_UPDATED);
	ck_assert_int_eq(event_of("LDP"), EVENT_INTERACTION_DELETED);
	ck_assert_int_eq(event_of("IPD"), EVENT_INTERACTION_DELETED);
	ck_assert_int_eq(event_of("DI"), EVENT_INTERACTION_UPDATED);
	ck_assert_int_eq(event_of("IDI"), EVENT_INTERACTION_CREATED);
}
END_TEST

START_TEST(groups_and_contacts)
{
	struct outbox_row	rows[] = {
		row(1, 10, 1, 5, 'I'), row(3, 10, 1, 6, 'P'),
		row(4, 10, 1, -1, 'P'), row(5, 10, 1, 5, 'P'),
		row(2, 10, 2, 7, 'U'), row(9, 11, 1, 6, 'L'),
	};
	struct group		*g;
	size_t			 n, used;

	ck_assert_int_eq(group_rows(rows, 6, 0, &g, &n, &used), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(used, 6);
	ck_assert_int_eq(g[0].event, EVENT_INTERACTION_CREATED);
	ck_assert_uint_eq(g[0].contacts.n, 2);	/* 5, 6: NULL and repeat gone */
	ck_assert_int_eq(g[0].contacts.v[0][15], 5);
	ck_assert_int_eq(g[0].contacts.v[1][15], 6);
	ck_assert_int_eq(g[1].interaction[15], 2);
	ck_assert_int_eq(g[1].event, EVENT_INTERACTION_UPDATED);
	ck_assert_uint_eq(g[2].txid, 11);
	group_free(g, n);
}
END_TEST

START_TEST(full_round_leaves_the_last_group)
{
	struct outbox_row	rows[] = {
		row(1, 10, 1, 5, 'I'), row(2, 10, 1, 6, 'P'),
		row(3, 10, 2, 7, 'I'), row(4, 10, 2, 8, 'P'),
	};
	struct group		*g;
	size_t			 n, used;

	ck_assert_int_eq(group_rows(rows, 4, 1, &g, &n, &used), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(used, 2);
	group_free(g, n);
	/* A single group larger than the round goes in parts. */
	ck_assert_int_eq(group_rows(rows, 2, 1, &g, &n, &used), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(used, 1);
	group_free(g, n);
	/* Nothing read, nothing grouped. */
	ck_assert_int_eq(group_rows(rows, 0, 0, &g, &n, &used), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_uint_eq(used, 0);
	group_free(g, n);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("pg_unit");
	TCase	*tc = tcase_create("group");
	SRunner	*sr;
	int	 failed;

	tcase_add_test(tc, event_rule);
	tcase_add_test(tc, groups_and_contacts);
	tcase_add_test(tc, full_round_leaves_the_last_group);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
