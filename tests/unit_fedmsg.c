/* SPDX-License-Identifier: MIT — crmpubsub */
/* Unit suite for the federation pieces that need no Redis: the channel and
 * message codec (proto/fedmsg.c), the record of a daemon's own messages
 * (daemon/fedecho.c) and the `redis` address (daemon/fedaddr.c). Every
 * table row is one case; a malformed row names what is wrong with it. */

#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crmpubsubd.h"
#include "federate.h"
#include "fedmsg.h"

/* daemon/conn.c refers to the event base main.c normally provides. */
struct event_base *base;

#define ORIGIN	"5b0c0a4e-2a9f-4b7e-9c39-0d0e3e0f6a11"
#define IU	"0190a5b2-7c1e-7a01-8f00-0000000000aa"
#define CONTACT	"0190a5b2-7c1e-7a01-8f00-000000000001"
#define TOPIC	"crm:contact:" CONTACT ":interactions"

/* Payloads that parse, and the event and interaction they carry. */
static const struct {
	const char	*text;
	enum crm_event	 event;
	const char	*iu;		/* canonical */
} good_payloads[] = {
	{ ORIGIN " interaction_created " IU, EVENT_INTERACTION_CREATED, IU },
	{ ORIGIN " interaction_updated " IU, EVENT_INTERACTION_UPDATED, IU },
	{ ORIGIN " interaction_deleted " IU, EVENT_INTERACTION_DELETED, IU },
	{ "5B0C0A4E-2A9F-4B7E-9C39-0D0E3E0F6A11 interaction_created "
	    "0190A5B2-7C1E-7A01-8F00-0000000000AA", EVENT_INTERACTION_CREATED,
	    IU },
};

/* Payloads that do not, each for one reason. */
static const struct {
	const char	*why;
	const char	*text;
} bad_payloads[] = {
	{ "empty", "" },
	{ "garbage", "garbage" },
	{ "origin only", ORIGIN },
	{ "no interaction", ORIGIN " interaction_created" },
	{ "no event", ORIGIN " " IU },
	{ "empty event", ORIGIN "  " IU },
	{ "unknown event", ORIGIN " interaction_exploded " IU },
	{ "event in capitals", ORIGIN " INTERACTION_CREATED " IU },
	{ "origin not a UUID", "zzzzzzzz-zzzz-4zzz-8zzz-zzzzzzzzzzzz "
	    "interaction_created " IU },
	{ "origin without dashes", "5b0c0a4e02a9f04b7e09c3900d0e3e0f6a11 "
	    "interaction_created " IU },
	{ "origin too short", "5b0c0a4e-2a9f-4b7e-9c39-0d0e3e0f6a1 "
	    "interaction_created " IU },
	{ "interaction not a UUID", ORIGIN " interaction_created "
	    "0190a5b2-7c1e-7a01-8f00-0000000000ag" },
	{ "interaction too long", ORIGIN " interaction_created " IU "0" },
	{ "two spaces before the interaction", ORIGIN " interaction_created  "
	    IU },
	{ "tab instead of space", ORIGIN "\tinteraction_created " IU },
	{ "trailing newline", ORIGIN " interaction_created " IU "\n" },
	{ "leading space", " " ORIGIN " interaction_created " IU },
	{ "extra field", ORIGIN " interaction_created " IU " " IU },
};

static void
uuid_of(const char *text, uint8_t out[16])
{
	ck_assert_int_eq(uuid_canon_parse(text, strlen(text), out), 0);
}

START_TEST(test_payload_good)
{
	struct fedmsg	m;
	uint8_t		origin[16], iu[16];
	const char	*s = good_payloads[_i].text;

	uuid_of(ORIGIN, origin);
	uuid_of(good_payloads[_i].iu, iu);
	ck_assert_msg(fedmsg_parse(s, strlen(s), &m) == 0, "refused: %s", s);
	ck_assert(memcmp(m.origin, origin, 16) == 0);
	ck_assert_int_eq(m.event, good_payloads[_i].event);
	ck_assert(memcmp(m.interaction, iu, 16) == 0);
}
END_TEST

START_TEST(test_payload_bad)
{
	struct fedmsg	m;
	const char	*s = bad_payloads[_i].text;

	ck_assert_msg(fedmsg_parse(s, strlen(s), &m) == -1, "accepted (%s): %s",
	    bad_payloads[_i].why, s);
}
END_TEST

/* Only the given length counts: a NUL inside is a byte like any other, and
 * a valid payload followed by bytes outside the length still parses. */
START_TEST(test_payload_length)
{
	static const char	nul[] = ORIGIN " interaction\0created " IU;
	static const char	tail[] = ORIGIN " interaction_created " IU "junk";
	struct fedmsg		m;

	ck_assert_int_eq(fedmsg_parse(nul, sizeof nul - 1, &m), -1);
	ck_assert_int_eq(fedmsg_parse(tail, sizeof tail - 1, &m), -1);
	ck_assert_int_eq(fedmsg_parse(tail, sizeof tail - 5, &m), 0);
}
END_TEST

/* Formatting then parsing gives the message back, in canonical text. */
START_TEST(test_payload_round_trip)
{
	struct fedmsg	m, back;
	char		text[FEDMSG_MAX + 1];
	size_t		len;
	int		e;

	uuid_of(ORIGIN, m.origin);
	uuid_of(IU, m.interaction);
	for (e = 0; e < EVENT_COUNT; e++) {
		ck_assert_uint_lt(strlen(event_name((enum crm_event)e)), 32);
		m.event = (enum crm_event)e;
		len = fedmsg_format(&m, text);
		ck_assert_uint_le(len, FEDMSG_MAX);
		ck_assert_uint_eq(len, strlen(text));
		ck_assert_int_eq(fedmsg_parse(text, len, &back), 0);
		ck_assert(memcmp(&back.origin, m.origin, 16) == 0 &&
		    back.event == m.event &&
		    memcmp(back.interaction, m.interaction, 16) == 0);
		ck_assert_str_eq(text + UUID_TEXT_LEN + 1 + strlen(
		    event_name(m.event)) + 1, IU);
	}
}
END_TEST

/* Channels: prefix + canonical topic, both ways. */
static const struct {
	const char	*prefix;
	const char	*channel;
	int		 ok;
} channels[] = {
	{ "crmpubsub:", "crmpubsub:" TOPIC, 1 },
	{ "", TOPIC, 1 },
	{ "tenant-a:", "tenant-a:" TOPIC, 1 },
	{ "crmpubsub:", "crmpubsub:crm:contact:0190A5B2-7C1E-7A01-8F00-"
	    "000000000001:interactions", 1 },
	{ "crmpubsub:", "crmpubsub:", 0 },
	{ "crmpubsub:", "crmpubsub", 0 },
	{ "crmpubsub:", "tenant-a:" TOPIC, 0 },
	{ "crmpubsub:", TOPIC, 0 },
	{ "crmpubsub:", "crmpubsub:" TOPIC "x", 0 },
	{ "crmpubsub:", "crmpubsub:crm:contact:nope:interactions", 0 },
	{ "crmpubsub:", "crmpubsub:crm:deal:" CONTACT ":interactions", 0 },
};

START_TEST(test_channel)
{
	const char		*prefix = channels[_i].prefix;
	const char		*chan = channels[_i].channel;
	struct topic_key	 k, want;
	char			 out[FEDMSG_CHANNEL_MAX + 1];
	int			 rc;

	rc = fedmsg_channel_topic(prefix, strlen(prefix), chan, strlen(chan),
	    &k);
	ck_assert_msg(rc == (channels[_i].ok ? 0 : -1), "%s under \"%s\": %d",
	    chan, prefix, rc);
	if (!channels[_i].ok)
		return;
	uuid_of(CONTACT, want.uuid);
	ck_assert(k.family == TOPIC_CONTACT_INTERACTIONS &&
	    memcmp(k.uuid, want.uuid, 16) == 0);
	ck_assert_uint_eq(fedmsg_channel(prefix, strlen(prefix), &k, out),
	    strlen(prefix) + strlen(TOPIC));
	ck_assert_str_eq(out + strlen(prefix), TOPIC);
	ck_assert(strncmp(out, prefix, strlen(prefix)) == 0);
}
END_TEST

/* The longest prefix and topic fit the channel buffer. */
START_TEST(test_channel_longest)
{
	char			 prefix[FEDMSG_PREFIX_MAX + 1];
	char			 out[FEDMSG_CHANNEL_MAX + 1];
	struct topic_key	 k;

	memset(prefix, 'p', FEDMSG_PREFIX_MAX);
	prefix[FEDMSG_PREFIX_MAX] = '\0';
	k.family = TOPIC_CONTACT_INTERACTIONS;
	uuid_of(CONTACT, k.uuid);
	ck_assert_uint_le(fedmsg_channel(prefix, FEDMSG_PREFIX_MAX, &k, out),
	    FEDMSG_CHANNEL_MAX);
	ck_assert_uint_eq(strlen(out), FEDMSG_PREFIX_MAX + strlen(TOPIC));
}
END_TEST

/* ---- fedecho.c ------------------------------------------------------------ */

/* Message number n on contact topic n % 4. */
static void
echo_msg(unsigned n, struct topic_key *k, struct fedmsg *m)
{
	memset(k, 0, sizeof *k);
	memset(m, 0, sizeof *m);
	k->family = TOPIC_CONTACT_INTERACTIONS;
	k->uuid[15] = (uint8_t)(n % 4);
	m->event = EVENT_INTERACTION_UPDATED;
	m->interaction[12] = (uint8_t)(n >> 24);
	m->interaction[13] = (uint8_t)(n >> 16);
	m->interaction[14] = (uint8_t)(n >> 8);
	m->interaction[15] = (uint8_t)n;
}

static int
echo_take(struct fed_echoes *q, unsigned n, uint64_t now)
{
	struct topic_key	k;
	struct fedmsg		m;

	echo_msg(n, &k, &m);
	return fed_echoes_take(q, &k, &m, now);
}

static void
echo_expect(struct fed_echoes *q, unsigned n, uint64_t now)
{
	struct topic_key	k;
	struct fedmsg		m;

	echo_msg(n, &k, &m);
	fed_echoes_expect(q, &k, &m, now);
}

/* Echoes come back once each, in order, with gaps for publishes Redis did
 * not send back; a message never published is not one. */
START_TEST(test_echoes_in_order)
{
	struct fed_echoes	q = FED_ECHOES_INIT;
	unsigned		n;

	for (n = 0; n < 1000; n++)
		echo_expect(&q, n, 0);
	ck_assert_int_eq(echo_take(&q, 5000, 1), 0);	/* never published */
	for (n = 0; n < 1000; n++) {
		if (n % 7 == 3)
			continue;		/* did not come back */
		ck_assert_msg(echo_take(&q, n, 1) == 1, "echo %u", n);
	}
	/* Each one only once: a replay is not an echo. */
	ck_assert_int_eq(echo_take(&q, 999, 1), 0);
	ck_assert_int_eq(echo_take(&q, 10, 1), 0);
	ck_assert_uint_eq(q.n, 0);
	fed_echoes_free(&q);
}
END_TEST

/* The same message twice is expected twice. */
START_TEST(test_echoes_duplicates)
{
	struct fed_echoes	q = FED_ECHOES_INIT;

	echo_expect(&q, 1, 0);
	echo_expect(&q, 1, 0);
	ck_assert_int_eq(echo_take(&q, 1, 0), 1);
	ck_assert_int_eq(echo_take(&q, 1, 0), 1);
	ck_assert_int_eq(echo_take(&q, 1, 0), 0);
	fed_echoes_free(&q);
}
END_TEST

/* Entries are forgotten after FED_ECHO_TTL_MS, and the oldest when
 * FED_ECHO_MAX are waiting. Forgotten ones can only come back before the
 * next match (Redis keeps the order), so until then a message that matches
 * nothing counts as one of them, once each; after a match it does not. */
START_TEST(test_echoes_forgotten)
{
	struct fed_echoes	q = FED_ECHOES_INIT;
	unsigned		n;

	echo_expect(&q, 1, 1000);
	ck_assert_int_eq(echo_take(&q, 1, 1000 + FED_ECHO_TTL_MS), 1);
	ck_assert_int_eq(echo_take(&q, 1, 1000 + FED_ECHO_TTL_MS), 0);

	for (n = 0; n < FED_ECHO_MAX + 10; n++)
		echo_expect(&q, n, 20000);
	ck_assert_uint_eq(q.n, FED_ECHO_MAX);
	for (n = 0; n < 10; n++)	/* the ten forgotten, coming back */
		ck_assert_msg(echo_take(&q, n, 20000) == 1, "echo %u", n);
	ck_assert_int_eq(echo_take(&q, 5000000, 20000), 0);
	ck_assert_int_eq(echo_take(&q, 10, 20000), 1);
	ck_assert_int_eq(echo_take(&q, FED_ECHO_MAX + 9, 20000), 1);
	ck_assert_uint_eq(q.n, 0);

	/* Two forgotten, then a match: a late one is no longer ours. */
	for (n = 0; n < FED_ECHO_MAX + 2; n++)
		echo_expect(&q, n, 30000);
	ck_assert_int_eq(echo_take(&q, 2, 30000), 1);
	ck_assert_int_eq(echo_take(&q, 0, 30000), 0);

	fed_echoes_clear(&q);
	ck_assert_int_eq(echo_take(&q, 3, 30000), 0);
	echo_expect(&q, 4, 30000);
	ck_assert_int_eq(echo_take(&q, 3, 30000), 0);
	ck_assert_int_eq(echo_take(&q, 4, 30000), 1);
	fed_echoes_free(&q);
}
END_TEST

/* ---- fedaddr.c ------------------------------------------------------------ */

static const struct {
	const char	*text;
	const char	*path, *host, *user, *password;
	int		 port;
	const char	*shown;		/* fed_addr_format */
} good_addrs[] = {
	{ "unix:///run/redis/redis.sock", "/run/redis/redis.sock", NULL, NULL,
	    NULL, 0, "unix:///run/redis/redis.sock" },
	{ "redis://10.0.0.5", NULL, "10.0.0.5", NULL, NULL, 6379,
	    "redis://10.0.0.5:6379" },
	{ "redis://redis.internal:6380/0", NULL, "redis.internal", NULL, NULL,
	    6380, "redis://redis.internal:6380" },
	{ "redis://crmpubsub:s3cret@10.0.0.5:6379", NULL, "10.0.0.5",
	    "crmpubsub", "s3cret", 6379, "redis://10.0.0.5:6379" },
	{ "redis://:s3cret@h", NULL, "h", NULL, "s3cret", 6379,
	    "redis://h:6379" },
	{ "redis://crmpubsub@h/", NULL, "h", "crmpubsub", NULL, 6379,
	    "redis://h:6379" },
	{ "redis://[::1]:7000", NULL, "::1", NULL, NULL, 7000,
	    "redis://[::1]:7000" },
};

static const char *const bad_addrs[] = {
	"", "foo", "redis://", "redis://host:0", "redis://host:99999",
	"redis://host:", "redis://host:12x", "unix://relative.sock", "unix://",
	"redis://[::1", "redis://[]:1", "redis://h:1/x", "http://h:1",
	"redis://@", "redis://u:p@",
};

/* NULL-safe string equality for the table. */
static int
same(const char *a, const char *b)
{
	return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

START_TEST(test_addr_good)
{
	struct fed_addr	a;
	char		shown[300];

	ck_assert_int_eq(fed_addr_parse(good_addrs[_i].text, &a), 0);
	ck_assert_int_eq(federate_check_address(good_addrs[_i].text), 0);
	ck_assert_msg(same(a.path, good_addrs[_i].path) &&
	    same(a.host, good_addrs[_i].host) &&
	    same(a.user, good_addrs[_i].user) &&
	    same(a.password, good_addrs[_i].password) &&
	    a.port == good_addrs[_i].port, "%s", good_addrs[_i].text);
	fed_addr_format(&a, shown, sizeof shown);
	ck_assert_str_eq(shown, good_addrs[_i].shown);
	fed_addr_free(&a);
}
END_TEST

START_TEST(test_addr_bad)
{
	struct fed_addr	a;

	ck_assert_msg(fed_addr_parse(bad_addrs[_i], &a) == -1, "accepted %s",
	    bad_addrs[_i]);
	ck_assert_int_eq(federate_check_address(bad_addrs[_i]), -1);
}
END_TEST

/* Unix paths and numeric hosts become socket addresses; names need DNS. */
START_TEST(test_addr_sockaddr)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	struct fed_addr		 a;

	ck_assert_int_eq(fed_addr_parse("unix:///tmp/r.sock", &a), 0);
	ck_assert_int_eq(fed_addr_sockaddr(&a, &ss, &len), 0);
	ck_assert_int_eq(ss.ss_family, AF_UNIX);
	ck_assert_str_eq(((struct sockaddr_un *)&ss)->sun_path, "/tmp/r.sock");
	fed_addr_free(&a);
	ck_assert_int_eq(fed_addr_parse("redis://127.0.0.1:7001", &a), 0);
	ck_assert_int_eq(fed_addr_sockaddr(&a, &ss, &len), 0);
	ck_assert_int_eq(ss.ss_family, AF_INET);
	ck_assert_int_eq(ntohs(((struct sockaddr_in *)&ss)->sin_port), 7001);
	fed_addr_free(&a);
	ck_assert_int_eq(fed_addr_parse("redis://[::1]", &a), 0);
	ck_assert_int_eq(fed_addr_sockaddr(&a, &ss, &len), 0);
	ck_assert_int_eq(ss.ss_family, AF_INET6);
	fed_addr_free(&a);
	ck_assert_int_eq(fed_addr_parse("redis://redis.internal", &a), 0);
	ck_assert_int_eq(fed_addr_sockaddr(&a, &ss, &len), 1);
	fed_addr_free(&a);
}
END_TEST

#define NROWS(t)	((int)(sizeof (t) / sizeof (t)[0]))

static Suite *
fedmsg_suite(void)
{
	Suite	*s = suite_create("fedmsg");
	TCase	*tc;

	tc = tcase_create("codec");
	tcase_add_loop_test(tc, test_payload_good, 0, NROWS(good_payloads));
	tcase_add_loop_test(tc, test_payload_bad, 0, NROWS(bad_payloads));
	tcase_add_test(tc, test_payload_length);
	tcase_add_test(tc, test_payload_round_trip);
	tcase_add_loop_test(tc, test_channel, 0, NROWS(channels));
	tcase_add_test(tc, test_channel_longest);
	suite_add_tcase(s, tc);

	tc = tcase_create("echoes");
	tcase_add_test(tc, test_echoes_in_order);
	tcase_add_test(tc, test_echoes_duplicates);
	tcase_add_test(tc, test_echoes_forgotten);
	suite_add_tcase(s, tc);

	tc = tcase_create("address");
	tcase_add_loop_test(tc, test_addr_good, 0, NROWS(good_addrs));
	tcase_add_loop_test(tc, test_addr_bad, 0, NROWS(bad_addrs));
	tcase_add_test(tc, test_addr_sockaddr);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(fedmsg_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
