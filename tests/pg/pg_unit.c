/* SPDX-License-Identifier: MIT — crmpubsub */
/* The bridge's grouping rules alone (client/pg/group.c): one group per
 * (transaction, interaction), the event from the interaction row's inserts
 * and deletes, contacts deduplicated with NULLs dropped, where a round
 * that filled its batch is cut, and how a group is split into broadcasts
 * that keep to max_contacts and max_line. */

#include <check.h>
#include <string.h>

#include <jansson.h>

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

/* The group and the line buffer of a broadcast test, freed after it. */
static struct group	*tg;
static struct buf	 tb = BUF_INIT;

static void
broadcast_teardown(void)
{
	group_free(tg, 1);
	tg = NULL;
	buf_free(&tb);
}

/* A group of interaction 1 with contacts 0..n-1, made by group_rows; the
 * test's group (tg). */
static struct group *
group_of(size_t n)
{
	struct outbox_row	rows[300];
	size_t			i, ng, used;

	ck_assert_uint_le(n, 300);
	for (i = 0; i < n; i++) {
		rows[i] = row(i + 1, 10, 1, (int)i, 'P');
		rows[i].contact[14] = (uint8_t)(i >> 8);
	}
	ck_assert_int_eq(group_rows(rows, n, 0, &tg, &ng, &used), 0);
	ck_assert_uint_eq(ng, 1);
	return tg;
}

/* Checks that b holds one broadcast_to_contacts line of g's event naming
 * g's contacts first..first+n-1 in order; returns its length, newline
 * aside. */
static size_t
check_line(const struct buf *b, const struct group *g, size_t first,
    size_t n)
{
	char		 want[UUID_TEXT_LEN + 1];
	json_t		*j, *list;
	size_t		 len = buf_len(b), i;

	ck_assert_uint_gt(len, 0);
	ck_assert_int_eq(buf_head(b)[len - 1], '\n');
	ck_assert_ptr_null(memchr(buf_head(b), '\n', len - 1));
	ck_assert_ptr_nonnull(j = json_loadb(buf_head(b), len - 1, 0, NULL));
	ck_assert_str_eq(json_string_value(json_object_get(j, "op")),
	    "broadcast_to_contacts");
	ck_assert_str_eq(json_string_value(json_object_get(j, "event")),
	    event_name(g->event));
	uuid_canon_format(g->interaction, want);
	ck_assert_str_eq(json_string_value(json_object_get(j,
	    "interaction_uuid")), want);
	list = json_object_get(j, "contact_uuids");
	ck_assert_uint_eq(json_array_size(list), n);
	for (i = 0; i < n; i++) {
		uuid_canon_format(g->contacts.v[first + i], want);
		ck_assert_str_eq(json_string_value(json_array_get(list, i)),
		    want);
	}
	json_decref(j);
	return len - 1;
}

/* Builds into b (emptied first) g's line naming contacts from first on,
 * asserts it is whole and right, and returns its length, newline aside;
 * *named: how many it names. */
static size_t
broadcast_ok(struct buf *b, const struct group *g, size_t first,
    size_t max_contacts, size_t max_line, size_t *named)
{
	const char	*why = NULL;

	buf_reset(b);
	ck_assert_msg(group_broadcast(b, g, first, max_contacts, max_line,
	    named, &why) == 0, "group_broadcast: %s", why);
	return check_line(b, g, first, *named);
}

START_TEST(broadcasts_keep_to_max_contacts)
{
	struct group	*g = group_of(10);
	size_t		 named, first = 0, sizes[] = { 4, 4, 2 }, i;

	/* 10 contacts, 4 a broadcast: 4, 4, 2, each line whole and in order. */
	for (i = 0; i < 3; i++) {
		broadcast_ok(&tb, g, first, 4, 65536, &named);
		ck_assert_uint_eq(named, sizes[i]);
		first += named;
	}
	ck_assert_uint_eq(first, 10);
}
END_TEST

/* Lines over max_line name fewer contacts: the most that fit. */
START_TEST(broadcasts_keep_to_max_line)
{
	struct group	*g = group_of(300);
	size_t		 named, more, max_line;
	size_t		 one = broadcast_ok(&tb, g, 0, 1, 65536, &named);

	for (max_line = one; max_line < one + 3000; max_line += 97) {
		ck_assert_uint_le(broadcast_ok(&tb, g, 5, 1000, max_line,
		    &named), max_line);
		/* One contact more would not have fit. */
		ck_assert_uint_gt(broadcast_ok(&tb, g, 5, named + 1, 1 << 20,
		    &more), max_line);
		ck_assert_uint_eq(more, named + 1);
	}
	/* Every contact fits: all of them go in one line. */
	broadcast_ok(&tb, g, 0, 1000, 1 << 20, &named);
	ck_assert_uint_eq(named, 300);
}
END_TEST

/* A max_line too small for one contact: an error, and b as it was. */
START_TEST(broadcast_that_cannot_fit)
{
	struct group	*g = group_of(3);
	const char	*why = NULL;
	size_t		 named, one = broadcast_ok(&tb, g, 0, 1, 65536, &named);

	buf_reset(&tb);
	buf_puts(&tb, "kept");
	ck_assert_int_eq(group_broadcast(&tb, g, 0, 3, one - 1, &named, &why),
	    -1);
	ck_assert_ptr_nonnull(why);
	ck_assert_ptr_nonnull(strstr(why, "max_line"));
	ck_assert_uint_eq(buf_len(&tb), 4);
	ck_assert_int_eq(memcmp(buf_head(&tb), "kept", 4), 0);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("pg_unit");
	TCase	*tc = tcase_create("group"), *tcb = tcase_create("broadcast");
	SRunner	*sr;
	int	 failed;

	tcase_add_test(tc, event_rule);
	tcase_add_test(tc, groups_and_contacts);
	tcase_add_test(tc, full_round_leaves_the_last_group);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(tcb, NULL, broadcast_teardown);
	tcase_add_test(tcb, broadcasts_keep_to_max_contacts);
	tcase_add_test(tcb, broadcasts_keep_to_max_line);
	tcase_add_test(tcb, broadcast_that_cannot_fit);
	suite_add_tcase(s, tcb);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
