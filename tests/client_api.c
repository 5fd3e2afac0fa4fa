/* SPDX-License-Identifier: MIT — crmpubsub */
/* libcrmpubsub against the real daemon: a round trip of every API call,
 * the involved-contacts rule for every party shape, counters, flush, the
 * log callback, pass-through of the daemon's resync and shutdown, the
 * library's own overflow resync, and best effort with no daemon at all. */

#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "crmpubsub.h"
#include "harness.h"
#include "involved.h"
#include "uuid_canon.h"

static struct h_daemon daemon_;

/* --- helpers ------------------------------------------------------------- */

/* Log lines the library reported, for assertions. */
static pthread_mutex_t	log_lock = PTHREAD_MUTEX_INITIALIZER;
static char		log_text[16384];

static void
log_capture(void *arg, enum crmpubsub_log_level level, const char *msg)
{
	size_t	len;

	(void)arg;
	(void)level;
	pthread_mutex_lock(&log_lock);
	len = strlen(log_text);
	snprintf(log_text + len, sizeof log_text - len, "%s\n", msg);
	pthread_mutex_unlock(&log_lock);
}

static int
log_has(const char *needle)
{
	int	found;

	pthread_mutex_lock(&log_lock);
	found = strstr(log_text, needle) != NULL;
	pthread_mutex_unlock(&log_lock);
	return found;
}

static void
up(const char *const *args)
{
	ck_assert_msg(h_daemon_start(&daemon_, args) == 0,
	    "daemon %s did not become ready", h_daemon_bin());
}

/* Teardown: the daemon must exit cleanly. */
static void
down(void)
{
	h_daemon_stop_clean(&daemon_);
}

static void
log_reset(void)
{
	pthread_mutex_lock(&log_lock);
	log_text[0] = '\0';
	pthread_mutex_unlock(&log_lock);
}

/* A handle on the test daemon with short back-off, connected. */
static crmpubsub *
handle(const char *name)
{
	crmpubsub	*c = crmpubsub_new();

	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(crmpubsub_set_socket_path(c, daemon_.sock), 0);
	ck_assert_int_eq(crmpubsub_set_client_name(c, name), 0);
	ck_assert_int_eq(crmpubsub_set_timeout(c,
	    CRMPUBSUB_TIMEOUT_RECONNECT_MIN, 20), 0);
	ck_assert_int_eq(crmpubsub_set_timeout(c,
	    CRMPUBSUB_TIMEOUT_RECONNECT_MAX, 200), 0);
	crmpubsub_set_log(c, log_capture, NULL);
	ck_assert_int_eq(crmpubsub_connect(c), 0);
	return c;
}

static struct h_conn *
raw(void)
{
	struct h_conn	*h = h_connect(daemon_.sock);

	ck_assert_ptr_nonnull(h);
	return h;
}

/* A raw connection subscribed to the topics of contacts n[0..k). */
static struct h_conn *
raw_subscriber(const unsigned long *n, size_t k)
{
	struct h_conn	*h = raw();
	char		 topic[80];
	size_t		 i;

	for (i = 0; i < k; i++) {
		h_topic(n[i], topic);
		h_expect_okf(h, NULL, "{\"op\":\"subscribe\",\"topic\":\"%s\"}",
		    topic);
	}
	return h;
}

/* Asserts the stats invariant: every broadcast is in exactly one bucket. */
static void
check_invariant(crmpubsub *c)
{
	struct crmpubsub_stats	s;

	crmpubsub_stats(c, &s);
	ck_assert_uint_eq(s.broadcasts, s.acked + s.failed + s.rejected +
	    s.dropped + s.lost + s.pending);
}

/* Call durations of one test, to check the broadcast time bound. The bound
 * (5 ms by default) is what a call may wait; on a loaded machine the
 * scheduler adds its own delays, so: 99% of calls within the bound, and
 * none anywhere near the 1-2 s a blocking connect or request would take. */
struct timing {
	double	ms[4000];
	int	n;
};

static void
timing_add(struct timing *t, double ms)
{
	if (t->n < (int)(sizeof t->ms / sizeof t->ms[0]))
		t->ms[t->n++] = ms;
}

static int
cmp_ms(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
timing_check(struct timing *t)
{
	qsort(t->ms, (size_t)t->n, sizeof t->ms[0], cmp_ms);
	ck_assert_msg(t->ms[t->n * 99 / 100] < 5.0, "p99 broadcast %.2f ms",
	    t->ms[t->n * 99 / 100]);
	ck_assert_msg(t->ms[t->n - 1] < 250.0, "slowest broadcast %.2f ms",
	    t->ms[t->n - 1]);
}

/* Upper-cases a UUID string in place (the daemon canonicalises). */
static char *
upper(char *s)
{
	char	*p;

	for (p = s; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	return s;
}

/* --- pure functions -------------------------------------------------------- */

START_TEST(test_topic_and_events)
{
	char	topic[CRMPUBSUB_TOPIC_MAX + 1], want[80], u[37];
	enum crmpubsub_event e;

	h_uuid(0xabcdef, u);
	h_topic(0xabcdef, want);
	ck_assert_int_eq(crmpubsub_topic_contact_interactions(upper(u),
	    topic), 0);
	ck_assert_str_eq(topic, want);
	errno = 0;
	ck_assert_int_eq(crmpubsub_topic_contact_interactions("nope", topic),
	    -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(crmpubsub_topic_contact_interactions(NULL, topic), -1);

	ck_assert_str_eq(crmpubsub_event_name(CRMPUBSUB_INTERACTION_CREATED),
	    "interaction_created");
	ck_assert_str_eq(crmpubsub_event_name(CRMPUBSUB_INTERACTION_UPDATED),
	    "interaction_updated");
	ck_assert_str_eq(crmpubsub_event_name(CRMPUBSUB_INTERACTION_DELETED),
	    "interaction_deleted");
	ck_assert_ptr_null(crmpubsub_event_name((enum crmpubsub_event)7));
	ck_assert_int_eq(crmpubsub_event_parse("interaction_deleted", &e), 0);
	ck_assert_int_eq(e, CRMPUBSUB_INTERACTION_DELETED);
	ck_assert_int_eq(crmpubsub_event_parse("interaction_moved", &e), -1);
	ck_assert_str_eq(crmpubsub_version(), CRMPUBSUB_VERSION);
}
END_TEST

/* One party shape: subject, parties (NULL = unresolved), not-loaded flag,
 * and the contact numbers expected, in order. 0 means "NULL". Numbers
 * above 0x1000 are written upper-case, as duplicates of n - 0x1000. */
struct shape {
	const char	*name;
	unsigned long	 subject;
	unsigned long	 parties[5];
	size_t		 nparties;
	bool		 not_loaded;
	bool		 parties_null;	/* party_contact_uuids == NULL */
	unsigned long	 want[6];
	long		 nwant;
};

#define UP(n)	(0x1000UL + (n))

static const struct shape shapes[] = {
	{ "subject only", 1, { 0 }, 0, false, true, { 1 }, 1 },
	{ "no subject, no parties", 0, { 0 }, 0, false, true, { 0 }, 0 },
	{ "subject and parties", 1, { 2, 3 }, 2, false, false, { 1, 2, 3 }, 3 },
	{ "no subject, parties", 0, { 2, 3 }, 2, false, false, { 2, 3 }, 2 },
	{ "unresolved parties skipped", 1, { 0, 2, 0 }, 3, false, false,
	    { 1, 2 }, 2 },
	{ "all unresolved", 0, { 0, 0 }, 2, false, false, { 0 }, 0 },
	{ "duplicates dropped, first kept", 2, { 3, 2, 3, 4 }, 4, false,
	    false, { 2, 3, 4 }, 3 },
	{ "case-insensitive duplicates", UP(5), { 5, UP(6), 6 }, 3, false,
	    false, { 5, 6 }, 2 },
	{ "parties not loaded", 1, { 2, 3 }, 2, true, false, { 1 }, 1 },
	{ "parties not loaded, no subject", 0, { 2 }, 1, true, false,
	    { 0 }, 0 },
	{ "empty parties list", 4, { 0 }, 0, false, false, { 4 }, 1 },
};

/* Fills u with the UUID text of shape number n (NULL for 0). */
static const char *
shape_uuid(unsigned long n, char u[37])
{
	if (n == 0)
		return NULL;
	h_uuid(n > 0x1000 ? n - 0x1000 : n, u);
	return n > 0x1000 ? upper(u) : u;
}

/* Builds the interaction struct of a shape (strings in store). */
static void
shape_build(const struct shape *s, struct crmpubsub_interaction *it,
    char store[7][37], const char *parties[5])
{
	size_t	i;

	memset(it, 0, sizeof *it);
	h_uuid(0xaa, store[6]);
	it->uuid = store[6];
	it->contact_uuid = shape_uuid(s->subject, store[5]);
	for (i = 0; i < s->nparties; i++)
		parties[i] = shape_uuid(s->parties[i], store[i]);
	it->party_contact_uuids = s->parties_null ? NULL : parties;
	it->n_parties = s->nparties;
	it->parties_not_loaded = s->not_loaded;
}

/* The same interaction as JSON, as the daemon would receive it. */
static json_t *
shape_json(const struct crmpubsub_interaction *it)
{
	json_t	*o = json_object(), *ps = json_array(), *p;
	size_t	 i;

	json_object_set_new(o, "uuid", json_string(it->uuid));
	json_object_set_new(o, "contact_uuid", it->contact_uuid ?
	    json_string(it->contact_uuid) : json_null());
	for (i = 0; i < it->n_parties; i++) {
		p = json_object();
		json_object_set_new(p, "contact_uuid",
		    it->party_contact_uuids[i] ?
		    json_string(it->party_contact_uuids[i]) : json_null());
		json_array_append_new(ps, p);
	}
	if (it->parties_not_loaded) {
		json_decref(ps);
		json_object_set_new(o, "parties",
		    json_pack("{s:s}", "__struct__",
		    "Ecto.Association.NotLoaded"));
	} else
		json_object_set_new(o, "parties", ps);
	return o;
}

START_TEST(test_involved_every_shape)
{
	struct crmpubsub_interaction it;
	struct uuid_list	l = UUID_LIST_INIT;
	struct proto_fail	f;
	char			store[7][37], want[37], out[6][37];
	char			text[37];
	const char		*parties[5];
	uint8_t			iu[16];
	size_t			k, i;
	json_t			*j;
	long			n;

	for (k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
		const struct shape *s = &shapes[k];

		shape_build(s, &it, store, parties);
		memset(out, 0, sizeof out);
		n = crmpubsub_involved_contact_uuids(&it, out, 6);
		ck_assert_msg(n == s->nwant, "%s: %ld contacts, want %ld",
		    s->name, n, s->nwant);
		for (i = 0; i < (size_t)n; i++) {
			h_uuid(s->want[i], want);
			ck_assert_msg(strcmp(out[i], want) == 0,
			    "%s: [%zu] %s, want %s", s->name, i, out[i], want);
		}
		/* The daemon's own rule (proto/involved.c) agrees. */
		j = shape_json(&it);
		uuid_list_clear(&l);
		ck_assert_int_eq(involved_from_interaction(j, 1024, iu, &l, &f),
		    0);
		ck_assert_uint_eq(l.n, (size_t)n);
		for (i = 0; i < l.n; i++) {
			uuid_canon_format(l.v[i], text);
			ck_assert_str_eq(text, out[i]);
		}
		json_decref(j);
	}
	uuid_list_free(&l);

	/* cap smaller than the count: the count, cap entries written. */
	shape_build(&shapes[2], &it, store, parties);
	memset(out, 0, sizeof out);
	ck_assert_int_eq(crmpubsub_involved_contact_uuids(&it, out, 1), 3);
	h_uuid(1, want);
	ck_assert_str_eq(out[0], want);
	ck_assert_str_eq(out[1], "");
	ck_assert_int_eq(crmpubsub_involved_contact_uuids(&it, NULL, 0), 3);

	/* A malformed UUID anywhere is EINVAL. */
	parties[1] = "not-a-uuid";
	errno = 0;
	ck_assert_int_eq(crmpubsub_involved_contact_uuids(&it, out, 6), -1);
	ck_assert_int_eq(errno, EINVAL);
	/* ...unless the parties are not loaded. */
	it.parties_not_loaded = true;
	ck_assert_int_eq(crmpubsub_involved_contact_uuids(&it, out, 6), 1);
	ck_assert_int_eq(crmpubsub_involved_contact_uuids(NULL, out, 6), -1);
}
END_TEST

/* Every shape broadcast through the daemon reaches exactly its involved
 * contacts, each once. */
START_TEST(test_broadcast_every_shape)
{
	static const unsigned long all[] = { 1, 2, 3, 4, 5, 6 };
	struct crmpubsub_interaction it;
	struct crmpubsub_stats	st;
	struct h_conn		*h;
	crmpubsub		*c;
	char			 store[7][37], topic[80];
	char			 seen[8];
	const char		*parties[5];
	unsigned long long	 delivered = 0;
	size_t			 k, i;
	json_t			*p;
	long			 n;

	up(NULL);
	h = raw_subscriber(all, 6);
	c = handle("shapes");
	for (k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
		const struct shape *s = &shapes[k];

		shape_build(s, &it, store, parties);
		ck_assert_int_eq(crmpubsub_broadcast_interaction(c,
		    CRMPUBSUB_INTERACTION_UPDATED, &it), 0);
		ck_assert_int_eq(crmpubsub_flush(c, H_TIMEOUT_MS), 0);
		crmpubsub_stats(c, &st);
		ck_assert_msg(st.delivered - delivered ==
		    (unsigned long long)s->nwant, "%s: delivered %llu want %ld",
		    s->name, st.delivered - delivered, s->nwant);
		delivered = st.delivered;
		memset(seen, 0, sizeof seen);
		for (n = 0; n < s->nwant; n++) {
			p = h_recv_push(h, H_TIMEOUT_MS);
			ck_assert_ptr_nonnull(p);
			ck_assert_str_eq(h_str(p, "event"),
			    "interaction_updated");
			for (i = 1; i <= 6; i++) {
				h_topic(i, topic);
				if (strcmp(h_str(p, "topic"), topic) == 0)
					seen[i]++;
			}
			json_decref(p);
		}
		for (n = 0; n < s->nwant; n++)
			ck_assert_msg(seen[s->want[n]] == 1, "%s: contact %lu "
			    "got %d pushes", s->name, s->want[n],
			    seen[s->want[n]]);
		ck_assert_msg(h_silent(h, 50), "%s: extra pushes", s->name);
	}
	check_invariant(c);
	crmpubsub_close(c);
	h_close(h);
}
END_TEST

/* --- round trips ----------------------------------------------------------- */

START_TEST(test_connect_hello_name_client_id)
{
	struct crmpubsub_stats	st;
	struct h_conn		*h;
	crmpubsub		*c;
	json_t			*r, *cl;
	size_t			 i;
	int			 found = 0;

	up(NULL);
	c = handle("api-test-client");
	ck_assert(crmpubsub_is_connected(c));
	ck_assert_int_ge(crmpubsub_client_id(c), 0);
	h = raw();
	r = h_request(h, "{\"op\":\"clients\"}");
	ck_assert(h_is_ok(r));
	json_array_foreach(json_object_get(r, "clients"), i, cl) {
		if (h_int(cl, "id") == crmpubsub_client_id(c)) {
			ck_assert_str_eq(h_str(cl, "name"), "api-test-client");
			ck_assert_int_eq(h_int(cl, "pid"), getpid());
			found = 1;
		}
	}
	json_decref(r);
	ck_assert_msg(found, "our client_id is not in clients");
	crmpubsub_stats(c, &st);
	ck_assert_uint_eq(st.connects, 1);
	ck_assert(log_has("connected to"));
	ck_assert_int_ge(crmpubsub_fd(c), 0);
	crmpubsub_close(c);
	h_close(h);

	/* crmpubsub_open: the one-call form. */
	c = crmpubsub_open(daemon_.sock, "opened");
	ck_assert_ptr_nonnull(c);
	ck_assert(crmpubsub_is_connected(c));
	crmpubsub_close(c);
	crmpubsub_close(NULL);

	/* Option validation. */
	c = crmpubsub_new();
	ck_assert_int_eq(crmpubsub_set_timeout(c, CRMPUBSUB_TIMEOUT_REQUEST,
	    -1), -1);
	ck_assert_int_eq(crmpubsub_set_timeout(c, (enum crmpubsub_timeout)99,
	    1), -1);
	ck_assert_int_eq(crmpubsub_set_limit(c, CRMPUBSUB_LIMIT_MESSAGES, 0),
	    -1);
	{
		char long_name[200];

		memset(long_name, 'x', sizeof long_name - 1);
		long_name[sizeof long_name - 1] = '\0';
		ck_assert_int_eq(crmpubsub_set_client_name(c, long_name), -1);
	}
	ck_assert_int_eq(crmpubsub_set_client_name(c, NULL), 0);
	crmpubsub_close(c);
}
END_TEST

START_TEST(test_subscribe_receive_unsubscribe)
{
	struct crmpubsub_message m;
	struct h_conn		*h;
	crmpubsub		*c;
	char			 t1[80], t2[80], t3[80], u1[37], i1[37];
	const char		*many[2];
	json_t			*r;

	up(NULL);
	c = handle("subscriber");
	h = raw();
	h_topic(1, t1);
	h_topic(2, t2);
	h_topic(3, t3);
	h_uuid(1, u1);
	h_uuid(0xbb, i1);

	ck_assert_int_eq(crmpubsub_subscribe(c, t1), 0);
	ck_assert_int_eq(crmpubsub_subscribe(c, t1), 0);	/* idempotent */
	many[0] = t2;
	many[1] = t3;
	ck_assert_int_eq(crmpubsub_subscribe_many(c, many, 2), 0);
	ck_assert_uint_eq(crmpubsub_subscriptions(c), 3);
	errno = 0;
	ck_assert_int_eq(crmpubsub_subscribe(c, "crm:contact:x:interactions"),
	    -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_uint_eq(crmpubsub_subscriptions(c), 3);

	/* The daemon holds exactly what the handle holds. */
	r = h_request(h, "{\"op\":\"stats\"}");
	ck_assert_int_eq(h_int(json_object_get(r, "stats"), "subscriptions"),
	    3);
	json_decref(r);

	/* A push from another connection arrives as a message. */
	r = h_requestf(h, "{\"op\":\"broadcast_to_contacts\",\"event\":"
	    "\"interaction_created\",\"interaction_uuid\":\"%s\","
	    "\"contact_uuids\":[\"%s\"]}", upper(i1), u1);
	ck_assert_int_eq(h_int(r, "delivered"), 1);
	json_decref(r);
	ck_assert_int_eq(crmpubsub_next_message(c, &m, H_TIMEOUT_MS), 1);
	ck_assert_int_eq(m.type, CRMPUBSUB_MSG_CRM);
	ck_assert_int_eq(m.event, CRMPUBSUB_INTERACTION_CREATED);
	ck_assert_str_eq(m.topic, t1);
	ck_assert_str_eq(m.contact_uuid, u1);
	h_uuid(0xbb, i1);
	ck_assert_str_eq(m.interaction_uuid, i1);	/* lowercase */
	ck_assert_int_eq(crmpubsub_next_message(c, &m, 0), 0);

	/* Unsubscribe is pipelined; nothing for t1 afterwards. */
	ck_assert_int_eq(crmpubsub_unsubscribe(c, t1), 0);
	ck_assert_int_eq(crmpubsub_unsubscribe(c, t1), 0);	/* no-op */
	ck_assert_uint_eq(crmpubsub_subscriptions(c), 2);
	r = h_requestf(h, "{\"op\":\"broadcast_to_contacts\",\"event\":"
	    "\"interaction_updated\",\"interaction_uuid\":\"%s\","
	    "\"contact_uuids\":[\"%s\"]}", i1, u1);
	json_decref(r);
	ck_assert_int_eq(crmpubsub_next_message(c, &m, 200), 0);
	ck_assert_int_eq(crmpubsub_flush(c, H_TIMEOUT_MS), 0);
	r = h_request(h, "{\"op\":\"stats\"}");
	ck_assert_int_eq(h_int(json_object_get(r, "stats"), "subscriptions"),
	    2);
	json_decref(r);

	/* NULL: everything. */
	ck_assert_int_eq(crmpubsub_unsubscribe(c, NULL), 0);
	ck_assert_uint_eq(crmpubsub_subscriptions(c), 0);
	ck_assert_int_eq(crmpubsub_flush(c, H_TIMEOUT_MS), 0);
	r = h_request(h, "{\"op\":\"stats\"}");
	ck_assert_int_eq(h_int(json_object_get(r, "stats"), "subscriptions"),
	    0);
	json_decref(r);
	ck_assert_int_eq(crmpubsub_unsubscribe(c, "bad"), -1);
	crmpubsub_close(c);
	h_close(h);
}
END_TEST

/* The daemon refuses a subscribe: -1 E2BIG, the topic is not held. */
START_TEST(test_subscribe_refused)
{
	static const char *const args[] = { "--max-subscriptions", "2", NULL };
	crmpubsub	*c;
	char		 t1[80], t2[80], t3[80];

	up(args);
	c = handle("limited");
	h_topic(1, t1);
	h_topic(2, t2);
	h_topic(3, t3);
	ck_assert_int_eq(crmpubsub_subscribe(c, t1), 0);
	ck_assert_int_eq(crmpubsub_subscribe(c, t2), 0);
	errno = 0;
	ck_assert_int_eq(crmpubsub_subscribe(c, t3), -1);
	ck_assert_int_eq(errno, E2BIG);
	ck_assert_uint_eq(crmpubsub_subscriptions(c), 2);
	ck_assert(log_has("too_many"));
	crmpubsub_close(c);
}
END_TEST

START_TEST(test_broadcast_round_trips)
{
	struct crmpubsub_interaction it;
	struct crmpubsub_stats	st;
	struct h_conn		*h;
	crmpubsub		*c;
	static const unsigned long subs[] = { 1, 2 };
	char			 u1[37], u2[37], i1[37], t1[80], t2[80];
	const char		*parties[2], *contacts[4];
	json_t			*p;
	int			 e;

	up(NULL);
	h = raw_subscriber(subs, 2);
	c = handle("writer");
	h_uuid(1, u1);
	h_uuid(2, u2);
	h_uuid(0xcc, i1);
	h_topic(1, t1);
	h_topic(2, t2);

	for (e = 0; e < 3; e++) {
		memset(&it, 0, sizeof it);
		it.uuid = i1;
		it.contact_uuid = u1;
		parties[0] = NULL;
		parties[1] = u2;
		it.party_contact_uuids = parties;
		it.n_parties = 2;
		ck_assert_int_eq(crmpubsub_broadcast_interaction(c,
		    (enum crmpubsub_event)e, &it), 0);
		p = h_recv_push(h, H_TIMEOUT_MS);
		ck_assert_ptr_nonnull(p);
		ck_assert_str_eq(h_str(p, "type"), "crm");
		ck_assert_str_eq(h_str(p, "event"),
		    crmpubsub_event_name((enum crmpubsub_event)e));
		ck_assert_str_eq(h_str(p, "topic"), t1);
		ck_assert_str_eq(json_string_value(json_object_get(
		    json_object_get(p, "payload"), "interaction_uuid")), i1);
		json_decref(p);
		p = h_recv_push(h, H_TIMEOUT_MS);
		ck_assert_ptr_nonnull(p);
		ck_assert_str_eq(h_str(p, "topic"), t2);
		json_decref(p);
	}

	/* broadcast_to_contacts: NULLs skipped, duplicates (any case) once. */
	contacts[0] = u2;
	contacts[1] = NULL;
	contacts[2] = upper(strcpy((char[37]){ 0 }, u2));
	contacts[3] = u1;
	ck_assert_int_eq(crmpubsub_broadcast_to_contacts(c,
	    CRMPUBSUB_INTERACTION_DELETED, i1, contacts, 4), 0);
	p = h_recv_push(h, H_TIMEOUT_MS);
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(h_str(p, "topic"), t2);
	ck_assert_str_eq(h_str(p, "event"), "interaction_deleted");
	json_decref(p);
	p = h_recv_push(h, H_TIMEOUT_MS);
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(h_str(p, "topic"), t1);
	json_decref(p);
	ck_assert(h_silent(h, 50));

	ck_assert_int_eq(crmpubsub_flush(c, H_TIMEOUT_MS), 0);
	crmpubsub_stats(c, &st);
	ck_assert_uint_eq(st.broadcasts, 4);
	ck_assert_uint_eq(st.acked, 4);
	ck_assert_uint_eq(st.delivered, 8);
	ck_assert_uint_eq(st.pending, 0);
	check_invariant(c);
	crmpubsub_close(c);
	h_close(h);
}
END_TEST

/* Invalid arguments and daemon refusals: still 0, counted, logged, and
 * flush reports them once. */
START_TEST(test_failures_counted_and_logged)
{
	static const char *const args[] = { "--max-contacts", "2", NULL };
	struct crmpubsub_interaction it;
	struct crmpubsub_stats	st;
	crmpubsub		*c;
	char			 u[3][37], i1[37];
	const char		*cs[3];

	up(args);
	log_reset();
	c = handle("failing-writer");
	h_uuid(1, u[0]);
	h_uuid(2, u[1]);
	h_uuid(3, u[2]);
	h_uuid(0xdd, i1);
	cs[0] = u[0];
	cs[1] = u[1];
	cs[2] = u[2];

	/* Rejected locally. */
	memset(&it, 0, sizeof it);
	it.uuid = "not-a-uuid";
	ck_assert_int_eq(crmpubsub_broadcast_interaction(c,
	    CRMPUBSUB_INTERACTION_CREATED, &it), 0);
	ck_assert_int_eq(crmpubsub_broadcast_interaction(c,
	    CRMPUBSUB_INTERACTION_CREATED, NULL), 0);
	ck_assert_int_eq(crmpubsub_broadcast_to_contacts(c,
	    (enum crmpubsub_event)9, i1, cs, 1), 0);
	ck_assert_int_eq(crmpubsub_broadcast_to_contacts(NULL,
	    CRMPUBSUB_INTERACTION_CREATED, i1, cs, 1), 0);
	crmpubsub_stats(c, &st);
	ck_assert_uint_eq(st.rejected, 3);
	ck_assert(log_has("rejected"));

	/* Refused by the daemon (3 contacts > max_contacts 2). */
	ck_assert_int_eq(crmpubsub_broadcast_to_contacts(c,
	    CRMPUBSUB_INTERACTION_CREATED, i1, cs, 3), 0);
	errno = 0;
	ck_assert_int_eq(crmpubsub_flush(c, H_TIMEOUT_MS), -1);
	ck_assert_int_eq(errno, EIO);
	crmpubsub_stats(c, &st);
	ck_assert_uint_eq(st.failed, 1);
	ck_assert_uint_eq(st.errors, 1);
	ck_assert(log_has("too_many"));
	/* Reported once: the next flush is clean. */
	ck_assert_int_eq(crmpubsub_broadcast_to_contacts(c,
	    CRMPUBSUB_INTERACTION_CREATED, i1, cs, 2), 0);
	ck_assert_int_eq(crmpubsub_flush(c, H_TIMEOUT_MS), 0);
	crmpubsub_stats(c, &st);
	ck_assert_uint_eq(st.acked, 1);
	check_invariant(c);
	crmpubsub_close(c);
}
END_TEST

/* Counts SIGPIPEs delivered to this process. */
static volatile sig_atomic_t sigpipes;

static void
on_sigpipe(int sig)
{
	(void)sig;
	sigpipes++;
}

/* Installs the SIGPIPE counter (the harness ignores SIGPIPE by default). */
static void
count_sigpipes(void)
{
	struct sigaction	sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sigpipe;
	sigaction(SIGPIPE, &sa, NULL);
	sigpipes = 0;
}

/* No daemon at all: every broadcast returns 0 within the bound; nothing
 * is left behind after close. */
START_TEST(test_no_daemon_best_effort)
{
	struct crmpubsub_interaction it;
	struct crmpubsub_stats	st;
	crmpubsub		*c;
	char			 dir[] = "/tmp/crmpubsub-nodaemon.XXXXXX";
	char			 path[128], u1[37], i1[37];
	static struct timing	 tm;
	double			 t0;
	int			 fds_before, i;

	count_sigpipes();
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/crmpubsub.sock", dir);
	h_uuid(1, u1);
	h_uuid(0xee, i1);
	fds_before = h_fd_count(getpid());

	c = crmpubsub_new();
	ck_assert_ptr_nonnull(c);
	crmpubsub_set_socket_path(c, path);
	crmpubsub_set_limit(c, CRMPUBSUB_LIMIT_QUEUE_BYTES, 64 * 1024);
	errno = 0;
	ck_assert_int_eq(crmpubsub_connect(c), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert(!crmpubsub_is_connected(c));
	ck_assert_int_eq(crmpubsub_client_id(c), -1);
	ck_assert_int_eq(crmpubsub_subscribe(c,
	    "crm:contact:0190a5b2-7c1e-7a01-8f00-000000000001:interactions"),
	    CRMPUBSUB_PENDING);
	memset(&it, 0, sizeof it);
	it.uuid = i1;
	it.contact_uuid = u1;
	for (i = 0; i < 2000; i++) {
		t0 = h_now_msf();
		ck_assert_int_eq(crmpubsub_broadcast_interaction(c,
		    CRMPUBSUB_INTERACTION_CREATED, &it), 0);
		timing_add(&tm, h_now_msf() - t0);
	}
	timing_check(&tm);
	crmpubsub_stats(c, &st);
	ck_assert_uint_eq(st.broadcasts, 2000);
	ck_assert_uint_eq(st.acked, 0);
	ck_assert_uint_gt(st.dropped, 0);	/* queue limit reached */
	ck_assert_uint_gt(st.pending, 0);	/* kept for a reconnection */
	ck_assert_uint_ge(st.connect_failures, 1);
	check_invariant(c);
	errno = 0;
	ck_assert_int_eq(crmpubsub_flush(c, 50), -1);
	ck_assert_int_eq(errno, ETIMEDOUT);
	crmpubsub_close(c);
	ck_assert_int_eq(h_fd_count(getpid()), fds_before);
	ck_assert_int_eq(sigpipes, 0);
	rmdir(dir);
}
END_TEST

/* The daemon dies under a connected writer: no SIGPIPE, bounded calls. */
START_TEST(test_daemon_gone_no_sigpipe)
{
	struct crmpubsub_stats	st;
	crmpubsub		*c;
	char			 u1[37], i1[37];
	const char		*cs[1];
	static struct timing	 tm;
	double			 t0;
	int			 i, fds;

	up(NULL);
	count_sigpipes();
	fds = h_fd_count(getpid());
	c = handle("orphan");
	h_uuid(1, u1);
	h_uuid(0xef, i1);
	cs[0] = u1;
	ck_assert_int_eq(crmpubsub_broadcast_to_contacts(c,
	    CRMPUBSUB_INTERACTION_CREATED, i1, cs, 1), 0);
	ck_assert_int_eq(crmpubsub_flush(c, H_TIMEOUT_MS), 0);
	kill(daemon_.pid, SIGKILL);
	ck_assert_int_ne(h_daemon_wait_exit(&daemon_, H_TIMEOUT_MS), -1);
	for (i = 0; i < 200; i++) {
		t0 = h_now_msf();
		crmpubsub_broadcast_to_contacts(c,
		    CRMPUBSUB_INTERACTION_UPDATED, i1, cs, 1);
		timing_add(&tm, h_now_msf() - t0);
	}
	timing_check(&tm);
	ck_assert_int_eq(sigpipes, 0);
	ck_assert(!crmpubsub_is_connected(c));
	crmpubsub_stats(c, &st);
	ck_assert_uint_eq(st.disconnects, 1);
	check_invariant(c);
	crmpubsub_close(c);
	ck_assert_int_eq(h_fd_count(getpid()), fds);
	ck_assert_int_eq(sigpipes, 0);
}
END_TEST

/* A stalled daemon (SIGSTOP): broadcasts stay fast and bounded, queue up,
 * and are all acknowledged once it resumes. */
START_TEST(test_stalled_daemon)
{
	struct crmpubsub_stats	st;
	crmpubsub		*c;
	char			 u1[37], inter[37];
	const char		*cs[1];
	static struct timing	 tm;
	double			 t0, t_all;
	int			 i;

	up(NULL);
	c = handle("patient-writer");
	h_uuid(1, u1);
	cs[0] = u1;
	kill(daemon_.pid, SIGSTOP);
	t_all = h_now_msf();
	for (i = 0; i < 3000; i++) {
		h_uuid(0x5000 + (unsigned long)i, inter);
		t0 = h_now_msf();
		ck_assert_int_eq(crmpubsub_broadcast_to_contacts(c,
		    CRMPUBSUB_INTERACTION_UPDATED, inter, cs, 1), 0);
		timing_add(&tm, h_now_msf() - t0);
	}
	t_all = h_now_msf() - t_all;
	kill(daemon_.pid, SIGCONT);
	timing_check(&tm);
	/* Only the call that found the socket full waited its bound. */
	ck_assert_msg(t_all < 2000, "3000 broadcasts took %.0f ms", t_all);
	crmpubsub_stats(c, &st);
	ck_assert_uint_gt(st.pending, 0);
	ck_assert_int_eq(crmpubsub_flush(c, 4 * H_TIMEOUT_MS), 0);
	crmpubsub_stats(c, &st);
	ck_assert_uint_eq(st.acked, 3000);
	check_invariant(c);
	crmpubsub_close(c);
}
END_TEST

/* A writer that goes idle after a burst against a stalled daemon: the
 * queued broadcasts still leave (the library's flusher thread writes them)
 * without any further call on the handle. */
START_TEST(test_idle_writer_queue_drains)
{
	static const unsigned long subs[] = { 1 };
	struct crmpubsub_stats	st;
	struct h_conn		*h;
	crmpubsub		*c;
	char			 u1[37], inter[37];
	const char		*cs[1];
	json_t			*p;
	int			 i;

	up(NULL);
	h = raw_subscriber(subs, 1);
	c = handle("bursty-writer");
	h_uuid(1, u1);
	cs[0] = u1;
	kill(daemon_.pid, SIGSTOP);
	for (i = 0; i < 3000; i++) {
		h_uuid(0x7000 + (unsigned long)i, inter);
		crmpubsub_broadcast_to_contacts(c,
		    CRMPUBSUB_INTERACTION_UPDATED, inter, cs, 1);
	}
	crmpubsub_stats(c, &st);
	ck_assert_uint_eq(st.pending, 3000);	/* none answered yet */
	kill(daemon_.pid, SIGCONT);
	/* No call on c from here: every push must still arrive, in order. */
	for (i = 0; i < 3000; i++) {
		p = h_recv_push(h, 4 * H_TIMEOUT_MS);
		ck_assert_msg(p != NULL, "push %d of 3000 missing", i);
		h_uuid(0x7000 + (unsigned long)i, inter);
		ck_assert_str_eq(json_string_value(json_object_get(
		    json_object_get(p, "payload"), "interaction_uuid")), inter);
		json_decref(p);
	}
	ck_assert(h_silent(h, 50));
	ck_assert_int_eq(crmpubsub_flush(c, H_TIMEOUT_MS), 0);
	crmpubsub_stats(c, &st);
	ck_assert_uint_eq(st.acked, 3000);
	crmpubsub_close(c);
	h_close(h);
}
END_TEST

/* Connect and subscribe give up after their timeouts when the daemon does
 * not answer; the subscription goes live later with a resync (subscribed). */
START_TEST(test_request_timeouts_and_late_confirmation)
{
	struct crmpubsub_message m;
	struct h_conn	*h;
	crmpubsub	*c;
	char		 t1[80], u1[37], i1[37];
	double		 t0, dt;
	json_t		*r;

	up(NULL);
	h_topic(1, t1);
	h_uuid(1, u1);
	h_uuid(0x44, i1);
	c = crmpubsub_new();
	crmpubsub_set_socket_path(c, daemon_.sock);
	ck_assert_int_eq(crmpubsub_set_timeout(c, CRMPUBSUB_TIMEOUT_CONNECT,
	    150), 0);
	ck_assert_int_eq(crmpubsub_set_timeout(c, CRMPUBSUB_TIMEOUT_REQUEST,
	    150), 0);
	kill(daemon_.pid, SIGSTOP);
	t0 = h_now_msf();
	errno = 0;
	ck_assert_int_eq(crmpubsub_connect(c), -1);
	dt = h_now_msf() - t0;
	ck_assert_int_eq(errno, ETIMEDOUT);
	ck_assert_msg(dt >= 140 && dt < 1500, "connect gave up after %.0f ms",
	    dt);
	t0 = h_now_msf();
	ck_assert_int_eq(crmpubsub_subscribe(c, t1), CRMPUBSUB_PENDING);
	dt = h_now_msf() - t0;
	ck_assert_msg(dt >= 140 && dt < 1500, "subscribe gave up after "
	    "%.0f ms", dt);
	kill(daemon_.pid, SIGCONT);
	ck_assert_int_eq(crmpubsub_next_message(c, &m, H_TIMEOUT_MS), 1);
	ck_assert_int_eq(m.type, CRMPUBSUB_MSG_RESYNC);
	ck_assert_int_eq(m.reason, CRMPUBSUB_RESYNC_SUBSCRIBED);
	ck_assert(crmpubsub_is_connected(c));
	h = raw();
	r = h_requestf(h, "{\"op\":\"broadcast_to_contacts\",\"event\":"
	    "\"interaction_created\",\"interaction_uuid\":\"%s\","
	    "\"contact_uuids\":[\"%s\"]}", i1, u1);
	ck_assert_int_eq(h_int(r, "delivered"), 1);
	json_decref(r);
	ck_assert_int_eq(crmpubsub_next_message(c, &m, H_TIMEOUT_MS), 1);
	ck_assert_int_eq(m.type, CRMPUBSUB_MSG_CRM);
	ck_assert_str_eq(m.interaction_uuid, i1);
	h_close(h);
	crmpubsub_close(c);
}
END_TEST

/* The descriptor works in a plain poll(2) loop; dispatch hands messages to
 * the callback and says how many. */
static void
collect(void *arg, const struct crmpubsub_message *m)
{
	int	*count = arg;

	if (m->type == CRMPUBSUB_MSG_CRM)
		(*count)++;
}

START_TEST(test_fd_poll_and_dispatch)
{
	struct pollfd	 pfd;
	struct h_conn	*h;
	crmpubsub	*c;
	char		 t1[80], u1[37], i1[37];
	json_t		*r;
	int		 got = 0, rc, k;

	up(NULL);
	c = handle("looper");
	h = raw();
	h_topic(1, t1);
	h_uuid(1, u1);
	h_uuid(0x11, i1);
	ck_assert_int_eq(crmpubsub_subscribe(c, t1), 0);
	/* Nothing to do: the descriptor is not readable. */
	ck_assert_int_eq(crmpubsub_dispatch(c, collect, &got, 0), 0);
	pfd.fd = crmpubsub_fd(c);
	pfd.events = POLLIN;
	ck_assert_int_eq(poll(&pfd, 1, 50), 0);
	for (k = 0; k < 3; k++) {
		r = h_requestf(h, "{\"op\":\"broadcast_to_contacts\",\"event\":"
		    "\"interaction_created\",\"interaction_uuid\":\"%s\","
		    "\"contact_uuids\":[\"%s\"]}", i1, u1);
		json_decref(r);
	}
	while (got < 3) {
		rc = poll(&pfd, 1, H_TIMEOUT_MS);
		ck_assert_int_eq(rc, 1);
		ck_assert_int_ge(crmpubsub_dispatch(c, collect, &got, 0), 0);
	}
	ck_assert_int_eq(got, 3);
	ck_assert_int_eq(poll(&pfd, 1, 50), 0);
	crmpubsub_close(c);
	h_close(h);
}
END_TEST

/* The daemon's shutdown push reaches the application. */
START_TEST(test_shutdown_passed_through)
{
	struct crmpubsub_message m;
	crmpubsub	*c;
	char		 t1[80];

	up(NULL);
	c = handle("shutdown-watcher");
	h_topic(1, t1);
	ck_assert_int_eq(crmpubsub_subscribe(c, t1), 0);
	kill(daemon_.pid, SIGTERM);
	ck_assert_int_eq(crmpubsub_next_message(c, &m, H_TIMEOUT_MS), 1);
	ck_assert_int_eq(m.type, CRMPUBSUB_MSG_SHUTDOWN);
	h_assert_clean_exit(&daemon_, h_daemon_wait_exit(&daemon_,
	    H_TIMEOUT_MS));
	crmpubsub_close(c);
}
END_TEST

/* A subscriber that does not read is lagged by the daemon; its resync
 * push reaches the application with the drop count. */
START_TEST(test_daemon_resync_passed_through)
{
	/* The lag timeout is far beyond the test's run time: a slow
	 * (sanitized, loaded) run must end in a resync, never in a close. */
	static const char *const args[] = { "--max-outbuf", "4096",
	    "--lag-timeout", "3600", NULL };
	struct crmpubsub_message m;
	struct h_conn	*h;
	crmpubsub	*c;
	char		 t1[80], u1[37], i1[37], line[256];
	int		 i, crm = 0, resync = 0;
	long		 n;

	up(args);
	c = handle("laggard");
	h = raw();
	h_topic(1, t1);
	h_uuid(1, u1);
	h_uuid(0x22, i1);
	ck_assert_int_eq(crmpubsub_subscribe(c, t1), 0);
	/* Fill the kernel buffers and the daemon's 4 KiB allowance. Replies
	 * are read as we go so this connection never lags itself. */
	n = snprintf(line, sizeof line, "{\"op\":\"broadcast_to_contacts\","
	    "\"event\":\"interaction_created\",\"interaction_uuid\":\"%s\","
	    "\"contact_uuids\":[\"%s\"]}", i1, u1);
	ck_assert_int_lt(n, (long)sizeof line);
	for (i = 0; i < 20000; i++) {
		json_t *r = h_request(h, line);

		ck_assert_ptr_nonnull(r);
		json_decref(r);
	}
	while (resync == 0 && crmpubsub_next_message(c, &m, H_TIMEOUT_MS)) {
		if (m.type == CRMPUBSUB_MSG_CRM)
			crm++;
		else if (m.type == CRMPUBSUB_MSG_RESYNC) {
			ck_assert_int_eq(m.reason, CRMPUBSUB_RESYNC_LAGGED);
			ck_assert_uint_gt(m.dropped, 0);
			ck_assert_uint_eq(crm + m.dropped, 20000);
			resync++;
		}
	}
	ck_assert_int_eq(resync, 1);
	crmpubsub_close(c);
	h_close(h);
}
END_TEST

/* Plays the daemon's part on one connection: answers hello and subscribe
 * (echoing ids), then pushes a federation and a lagged resync, and waits
 * for the client to go. Runs in a child process. */
static void
fake_daemon(int lfd, const char *topic)
{
	struct h_conn	 peer;
	char		 line[1024], reply[1024];
	json_t		*req, *id;
	int		 i, fd = accept(lfd, NULL, NULL);

	if (fd == -1)
		_exit(1);
	memset(&peer, 0, sizeof peer);
	peer.fd = fd;
	for (i = 0; i < 2; i++) {
		if (h_recv_line(&peer, line, sizeof line, H_TIMEOUT_MS) < 0 ||
		    (req = json_loads(line, 0, NULL)) == NULL)
			_exit(1);
		id = json_object_get(req, "id");
		snprintf(reply, sizeof reply, i == 0 ?
		    "{\"ok\":true,\"op\":\"hello\"%s%s,\"server\":"
		    "\"crmpubsubd\",\"version\":\"1.0.0\",\"protocol\":1,"
		    "\"client_id\":1}" :
		    "{\"ok\":true,\"op\":\"subscribe\"%s%s,\"topics\":"
		    "[\"%s\"],\"subscribed\":1}",
		    id ? ",\"id\":" : "", id ? json_dumps(id, JSON_ENCODE_ANY) :
		    "", topic);
		json_decref(req);
		if (h_send_line(&peer, reply) == -1)
			_exit(1);
	}
	if (h_send_line(&peer, "{\"type\":\"resync\",\"reason\":"
	    "\"federation\",\"dropped\":0}") == -1 ||
	    h_send_line(&peer, "{\"type\":\"resync\",\"reason\":"
	    "\"lagged\",\"dropped\":3}") == -1)
		_exit(1);
	_exit(h_wait_eof(&peer, 2 * H_TIMEOUT_MS) ? 0 : 1);
}

/* The daemon's resync reasons reach the application as such. */
START_TEST(test_resync_reasons)
{
	struct crmpubsub_message m;
	struct sockaddr_un	 sun;
	crmpubsub		*c;
	char			 dir[] = "/tmp/crmpubsub-fake.XXXXXX", t1[80];
	int			 lfd, status;
	pid_t			 pid;

	h_topic(1, t1);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s/fake.sock", dir);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sun, sizeof sun), 0);
	ck_assert_int_eq(listen(lfd, 1), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		fake_daemon(lfd, t1);
	close(lfd);

	c = crmpubsub_new();
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(crmpubsub_set_socket_path(c, sun.sun_path), 0);
	ck_assert_int_eq(crmpubsub_connect(c), 0);
	ck_assert_int_eq(crmpubsub_subscribe(c, t1), 0);
	ck_assert_int_eq(crmpubsub_next_message(c, &m, H_TIMEOUT_MS), 1);
	ck_assert_int_eq(m.type, CRMPUBSUB_MSG_RESYNC);
	ck_assert_int_eq(m.reason, CRMPUBSUB_RESYNC_FEDERATION);
	ck_assert_uint_eq(m.dropped, 0);
	ck_assert_int_eq(crmpubsub_next_message(c, &m, H_TIMEOUT_MS), 1);
	ck_assert_int_eq(m.type, CRMPUBSUB_MSG_RESYNC);
	ck_assert_int_eq(m.reason, CRMPUBSUB_RESYNC_LAGGED);
	ck_assert_uint_eq(m.dropped, 3);
	crmpubsub_close(c);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	unlink(sun.sun_path);
	rmdir(dir);
}
END_TEST

/* The library's own queue overflows: N messages kept, then one resync
 * (overflow) with the number dropped. */
START_TEST(test_library_overflow_resync)
{
	struct crmpubsub_message m;
	struct crmpubsub_stats	st;
	struct h_conn	*h;
	crmpubsub	*c;
	char		 t1[80], t2[80], u1[37], i1[37];
	json_t		*r;
	int		 i, crm = 0;

	up(NULL);
	c = handle("small-queue");
	ck_assert_int_eq(crmpubsub_set_limit(c, CRMPUBSUB_LIMIT_MESSAGES, 10),
	    0);
	h = raw();
	h_topic(1, t1);
	h_uuid(1, u1);
	h_uuid(0x33, i1);
	ck_assert_int_eq(crmpubsub_subscribe(c, t1), 0);
	for (i = 0; i < 50; i++) {
		r = h_requestf(h, "{\"op\":\"broadcast_to_contacts\",\"event\":"
		    "\"interaction_created\",\"interaction_uuid\":\"%s\","
		    "\"contact_uuids\":[\"%s\"]}", i1, u1);
		json_decref(r);
	}
	/* This reply comes after the 50 pushes on the same connection, and
	 * waiting for it reads them all without handing any out. */
	h_topic(2, t2);
	ck_assert_int_eq(crmpubsub_subscribe(c, t2), 0);
	while (crmpubsub_next_message(c, &m, 200) == 1) {
		if (m.type == CRMPUBSUB_MSG_CRM) {
			crm++;
			continue;
		}
		ck_assert_int_eq(m.type, CRMPUBSUB_MSG_RESYNC);
		ck_assert_int_eq(m.reason, CRMPUBSUB_RESYNC_OVERFLOW);
		ck_assert_uint_eq(crm + m.dropped, 50);
		break;
	}
	ck_assert_int_eq(crm, 10);
	crmpubsub_stats(c, &st);
	ck_assert_uint_eq(st.messages_dropped, 40);
	ck_assert_uint_eq(st.resyncs, 1);
	crmpubsub_close(c);
	h_close(h);
}
END_TEST

/* --- coalescing and the exact request lines --------------------------------- */

/* A fake daemon on a private socket: answers hello, then acknowledges every
 * line and keeps the first few for the test to compare byte for byte. */
struct fake_daemon {
	char		 dir[128];
	char		 sock[160];
	int		 lfd;
	pthread_t	 tid;
	char		 lines[8][1024];
	int		 nlines;
	int		 want;		/* lines to keep before finishing */
};

static void *
fake_daemon_main(void *arg)
{
	static const char hello[] =
	    "{\"ok\":true,\"op\":\"hello\",\"client_id\":7}\n";
	static const char ack[] =
	    "{\"ok\":true,\"op\":\"broadcast_interaction\",\"delivered\":0}\n";
	struct fake_daemon	*f = arg;
	struct pollfd		 pfd;
	char			 in[8192];
	size_t			 have = 0;
	char			*nl;
	ssize_t			 n;
	int			 fd, first = 1;

	pfd.fd = f->lfd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, H_TIMEOUT_MS) != 1 ||
	    (fd = accept(f->lfd, NULL, NULL)) == -1)
		return NULL;
	pfd.fd = fd;
	while (f->nlines < f->want && poll(&pfd, 1, H_TIMEOUT_MS) == 1) {
		n = read(fd, in + have, sizeof in - have - 1);
		if (n <= 0)
			break;
		have += (size_t)n;
		in[have] = '\0';
		while ((nl = strchr(in, '\n')) != NULL) {
			*nl = '\0';
			if (first)
				(void)!write(fd, hello, sizeof hello - 1);
			else {
				if (f->nlines < 8 &&
				    strlen(in) < sizeof f->lines[0])
					memcpy(f->lines[f->nlines], in,
					    strlen(in) + 1);
				f->nlines++;
				(void)!write(fd, ack, sizeof ack - 1);
			}
			first = 0;
			have -= (size_t)(nl + 1 - in);
			memmove(in, nl + 1, have + 1);
		}
	}
	close(fd);
	return NULL;
}

static void
fake_daemon_start(struct fake_daemon *f, int want)
{
	struct sockaddr_un	sun;

	memset(f, 0, sizeof *f);
	f->want = want;
	h_scratch_make(f->dir, sizeof f->dir, "fake");
	snprintf(f->sock, sizeof f->sock, "%s/fake.sock", f->dir);
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	ck_assert_uint_lt(strlen(f->sock), sizeof sun.sun_path);
	memcpy(sun.sun_path, f->sock, strlen(f->sock) + 1);
	f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ne(f->lfd, -1);
	ck_assert_int_eq(bind(f->lfd, (struct sockaddr *)&sun, sizeof sun), 0);
	ck_assert_int_eq(listen(f->lfd, 4), 0);
	ck_assert_int_eq(pthread_create(&f->tid, NULL, fake_daemon_main, f), 0);
}

static void
fake_daemon_finish(struct fake_daemon *f)
{
	pthread_join(f->tid, NULL);
	close(f->lfd);
	unlink(f->sock);
	h_scratch_remove(f->dir);
}

/* Each broadcast shape leaves as exactly the line the protocol describes:
 * canonical lowercase UUIDs, null for a missing subject or party, no
 * parties key when they were not loaded, every key in its order. */
START_TEST(test_broadcast_exact_lines)
{
	static const char *const want[] = {
	    "{\"op\":\"broadcast_interaction\",\"event\":\"interaction_created\","
	    "\"interaction\":{\"uuid\":\"0190a5b2-7c1e-7a01-8f00-0000000000ab\","
	    "\"contact_uuid\":\"0190a5b2-7c1e-7a01-8f00-000000000001\","
	    "\"parties\":[{\"contact_uuid\":\"0190a5b2-7c1e-7a01-8f00-000000000002\"},"
	    "{\"contact_uuid\":null}]}}",
	    "{\"op\":\"broadcast_interaction\",\"event\":\"interaction_updated\","
	    "\"interaction\":{\"uuid\":\"0190a5b2-7c1e-7a01-8f00-0000000000ab\","
	    "\"contact_uuid\":null}}",
	    "{\"op\":\"broadcast_interaction\",\"event\":\"interaction_deleted\","
	    "\"interaction\":{\"uuid\":\"0190a5b2-7c1e-7a01-8f00-0000000000ab\","
	    "\"contact_uuid\":\"0190a5b2-7c1e-7a01-8f00-000000000001\","
	    "\"parties\":[]}}",
	    "{\"op\":\"broadcast_to_contacts\",\"event\":\"interaction_updated\","
	    "\"interaction_uuid\":\"0190a5b2-7c1e-7a01-8f00-0000000000ab\","
	    "\"contact_uuids\":[\"0190a5b2-7c1e-7a01-8f00-000000000001\",null,"
	    "\"0190a5b2-7c1e-7a01-8f00-000000000002\"]}",
	    "{\"op\":\"broadcast_to_contacts\",\"event\":\"interaction_created\","
	    "\"interaction_uuid\":\"0190a5b2-7c1e-7a01-8f00-0000000000ab\","
	    "\"contact_uuids\":[]}",
	};
	static const char *const bad_contacts[] = {
		"0190a5b2-7c1e-7a01-8f00-000000000001a",
		"0190a5b2-7c1e-7a01-8f00-00000000000",
		"0190a5b20-c1e-7a01-8f00-000000000001",
	};
	struct crmpubsub_interaction it;
	struct crmpubsub_stats	st;
	struct fake_daemon	 f;
	crmpubsub		*c;
	char			 u1[37], u2[37], i1[37];
	const char		*parties[2], *cs[3];
	size_t			 k;

	fake_daemon_start(&f, 5);
	h_uuid(1, u1);
	h_uuid(2, u2);
	h_uuid(0xab, i1);
	upper(i1);
	upper(u2);
	c = crmpubsub_new();
	crmpubsub_set_socket_path(c, f.sock);
	ck_assert_int_eq(crmpubsub_connect(c), 0);
	ck_assert_int_eq(crmpubsub_client_id(c), 7);
	memset(&it, 0, sizeof it);
	it.uuid = i1;
	it.contact_uuid = u1;
	parties[0] = u2;
	parties[1] = NULL;
	it.party_contact_uuids = parties;
	it.n_parties = 2;
	crmpubsub_broadcast_interaction(c, CRMPUBSUB_INTERACTION_CREATED, &it);
	it.contact_uuid = NULL;
	it.parties_not_loaded = true;
	crmpubsub_broadcast_interaction(c, CRMPUBSUB_INTERACTION_UPDATED, &it);
	it.contact_uuid = u1;
	it.parties_not_loaded = false;
	it.n_parties = 0;
	crmpubsub_broadcast_interaction(c, CRMPUBSUB_INTERACTION_DELETED, &it);
	/* Invalid ones are rejected, never sent: a contact UUID one
	 * character too long, one too short, a dash misplaced; a non-hex
	 * digit in the interaction's. */
	for (k = 0; k < sizeof bad_contacts / sizeof bad_contacts[0]; k++)
		crmpubsub_broadcast_to_contacts(c,
		    CRMPUBSUB_INTERACTION_UPDATED, i1, &bad_contacts[k], 1);
	crmpubsub_broadcast_to_contacts(c, CRMPUBSUB_INTERACTION_UPDATED,
	    "g190a5b2-7c1e-7a01-8f00-0000000000ab", NULL, 0);
	cs[0] = u1;
	cs[1] = NULL;
	cs[2] = u2;
	crmpubsub_broadcast_to_contacts(c, CRMPUBSUB_INTERACTION_UPDATED, i1,
	    cs, 3);
	crmpubsub_broadcast_to_contacts(c, CRMPUBSUB_INTERACTION_CREATED, i1,
	    NULL, 0);
	ck_assert_int_eq(crmpubsub_flush(c, H_TIMEOUT_MS), -1);	/* rejects */
	ck_assert_int_eq(errno, EIO);
	crmpubsub_stats(c, &st);
	ck_assert_uint_eq(st.rejected, 4);
	ck_assert_uint_eq(st.acked, 5);
	crmpubsub_close(c);
	fake_daemon_finish(&f);
	ck_assert_int_eq(f.nlines, 5);
	for (k = 0; k < 5; k++)
		ck_assert_str_eq(f.lines[k], want[k]);
}
END_TEST

/* Threads of this process (each handle's flusher is one). */
static int
thread_count(void)
{
	char	line[256];
	FILE	*fp = fopen("/proc/self/status", "r");
	int	n = -1;

	ck_assert_ptr_nonnull(fp);
	while (fgets(line, sizeof line, fp) != NULL)
		if (sscanf(line, "Threads: %d", &n) == 1)
			break;
	fclose(fp);
	return n;
}

/* Broadcasts one interaction (0xc000 + seq) to contact 1. */
static void
broadcast_seq(crmpubsub *c, unsigned long seq)
{
	char		 u1[37], inter[37];
	const char	*cs[1] = { u1 };

	h_uuid(1, u1);
	h_uuid(0xc000 + seq, inter);
	ck_assert_int_eq(crmpubsub_broadcast_to_contacts(c,
	    CRMPUBSUB_INTERACTION_UPDATED, inter, cs, 1), 0);
}

/* Waits for the push of broadcast_seq(seq); ms it took, or -1. */
static double
await_seq(struct h_conn *h, unsigned long seq, int timeout_ms)
{
	char	inter[37];
	double	t0 = h_now_msf();
	json_t	*p = h_recv_push(h, timeout_ms);
	int	ok;

	if (p == NULL)
		return -1;
	h_uuid(0xc000 + seq, inter);
	ok = strcmp(json_string_value(json_object_get(json_object_get(p,
	    "payload"), "interaction_uuid")), inter) == 0;
	json_decref(p);
	ck_assert_msg(ok, "push %lu out of order", seq);
	return h_now_msf() - t0;
}

/* Coalescing: a held broadcast leaves by itself once its delay ends (no
 * further call), at once when max_bytes are held, at crmpubsub_flush,
 * when the setting changes, and in its own call when the delay is 0. */
START_TEST(test_coalesce_bounds)
{
	static const unsigned long subs[] = { 1 };
	struct crmpubsub_stats	st;
	struct h_conn		*h;
	crmpubsub		*c;
	double			 t0, ms;
	int			 threads;

	up(NULL);
	h = raw_subscriber(subs, 1);
	c = handle("coalescer");
	ck_assert_int_eq(crmpubsub_set_coalesce(NULL, 0, 1), -1);
	ck_assert_int_eq(crmpubsub_set_coalesce(c, -1, 1), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(crmpubsub_set_coalesce(c, 1000001, 1), -1);
	ck_assert_int_eq(crmpubsub_set_coalesce(c, 200, 0), -1);

	/* Default (200 µs): an idle writer's broadcast arrives promptly. */
	broadcast_seq(c, 0);
	ms = await_seq(h, 0, H_TIMEOUT_MS);
	ck_assert_msg(ms >= 0 && ms < 500, "held broadcast took %.1f ms", ms);

	/* A 1 s delay holds it (no write for now)... */
	ck_assert_int_eq(crmpubsub_set_coalesce(c, 1000000, 1 << 20), 0);
	t0 = h_now_msf();
	broadcast_seq(c, 1);
	ck_assert(h_silent(h, 200));
	/* ...and the flusher writes it when the delay ends. */
	ck_assert_int_ge(await_seq(h, 1, 3000), 0);
	ms = h_now_msf() - t0;
	ck_assert_msg(ms >= 900 && ms < 3000, "1 s delay ended after %.0f ms",
	    ms);

	/* crmpubsub_flush writes held lines at once. */
	broadcast_seq(c, 2);
	t0 = h_now_msf();
	ck_assert_int_eq(crmpubsub_flush(c, 2000), 0);
	ck_assert_msg(h_now_msf() - t0 < 500, "flush took %.0f ms", h_now_msf() - t0);
	ck_assert_int_ge(await_seq(h, 2, H_TIMEOUT_MS), 0);

	/* A new setting releases what the old one held. */
	broadcast_seq(c, 3);
	ck_assert(h_silent(h, 100));
	ck_assert_int_eq(crmpubsub_set_coalesce(c, 200, 16384), 0);
	ms = await_seq(h, 3, H_TIMEOUT_MS);
	ck_assert_msg(ms >= 0 && ms < 500, "released after %.1f ms", ms);

	/* max_bytes reached: the call writes (1 byte: every call). */
	ck_assert_int_eq(crmpubsub_set_coalesce(c, 1000000, 1), 0);
	broadcast_seq(c, 4);
	ms = await_seq(h, 4, H_TIMEOUT_MS);
	ck_assert_msg(ms >= 0 && ms < 500, "max_bytes write after %.1f ms", ms);
	ck_assert_int_eq(crmpubsub_flush(c, H_TIMEOUT_MS), 0);
	crmpubsub_stats(c, &st);
	ck_assert_uint_eq(st.acked, 5);
	check_invariant(c);
	crmpubsub_close(c);

	/* Delay 0: each call writes its own line, and a handle whose lines
	 * always leave at once starts no flusher thread. */
	threads = thread_count();
	c = handle("uncoalesced");
	ck_assert_int_eq(crmpubsub_set_coalesce(c, 0, 16384), 0);
	broadcast_seq(c, 5);
	ms = await_seq(h, 5, H_TIMEOUT_MS);
	ck_assert_msg(ms >= 0 && ms < 500, "delay 0 write after %.1f ms", ms);
	ck_assert_int_eq(thread_count(), threads);
	ck_assert_int_eq(crmpubsub_flush(c, H_TIMEOUT_MS), 0);
	crmpubsub_close(c);
	h_close(h);
}
END_TEST

/* Many coalesced broadcasts from a fast caller all arrive, in order, and
 * a full queue makes the caller wait (bounded) for room instead of
 * dropping while the daemon is merely slow. With the daemon stopped and a
 * broadcast timeout of 0, 6000 broadcasts (about 900 KB) fill the socket
 * and leave most of them queued; the queue limit then drops to 64 KiB and
 * the timeout rises to 2 s, so the next call finds the queue full and must
 * wait until the daemon, resumed 300 ms later, makes room. */
static void *
resume_later(void *arg)
{
	h_nap_ms(300);
	kill(*(pid_t *)arg, SIGCONT);
	return NULL;
}

START_TEST(test_coalesce_order_and_backpressure)
{
	static const unsigned long subs[] = { 1 };
	struct crmpubsub_stats	st;
	struct h_conn		*h;
	crmpubsub		*c;
	pthread_t		 tid;
	unsigned long		 i, n = 6000;
	double			 t0, ms;

	up(NULL);
	h = raw_subscriber(subs, 1);
	c = handle("pressed");
	ck_assert_int_eq(crmpubsub_set_timeout(c, CRMPUBSUB_TIMEOUT_BROADCAST,
	    0), 0);
	kill(daemon_.pid, SIGSTOP);
	for (i = 0; i < n; i++)
		broadcast_seq(c, i);
	crmpubsub_stats(c, &st);
	ck_assert_uint_eq(st.dropped, 0);
	ck_assert_int_eq(crmpubsub_set_limit(c, CRMPUBSUB_LIMIT_QUEUE_BYTES,
	    64 * 1024), 0);
	ck_assert_int_eq(crmpubsub_set_timeout(c, CRMPUBSUB_TIMEOUT_BROADCAST,
	    2000), 0);
	ck_assert_int_eq(pthread_create(&tid, NULL, resume_later,
	    &daemon_.pid), 0);
	t0 = h_now_msf();
	broadcast_seq(c, n);
	ms = h_now_msf() - t0;
	pthread_join(tid, NULL);
	ck_assert_msg(ms >= 200 && ms < 2500, "the call waited %.0f ms", ms);
	n++;
	ck_assert_int_eq(crmpubsub_flush(c, 4 * H_TIMEOUT_MS), 0);
	crmpubsub_stats(c, &st);
	ck_assert_uint_eq(st.dropped, 0);
	ck_assert_uint_eq(st.acked, n);
	for (i = 0; i < n; i++)
		ck_assert_msg(await_seq(h, i, H_TIMEOUT_MS) >= 0,
		    "push %lu of %lu missing", i, n);
	ck_assert(h_silent(h, 50));
	check_invariant(c);
	crmpubsub_close(c);
	h_close(h);
}
END_TEST

static Suite *
client_api_suite(void)
{
	Suite	*s = suite_create("client_api");
	TCase	*tc = tcase_create("api");

	tcase_add_checked_fixture(tc, NULL, down);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_topic_and_events);
	tcase_add_test(tc, test_involved_every_shape);
	tcase_add_test(tc, test_broadcast_every_shape);
	tcase_add_test(tc, test_connect_hello_name_client_id);
	tcase_add_test(tc, test_subscribe_receive_unsubscribe);
	tcase_add_test(tc, test_subscribe_refused);
	tcase_add_test(tc, test_broadcast_round_trips);
	tcase_add_test(tc, test_failures_counted_and_logged);
	tcase_add_test(tc, test_no_daemon_best_effort);
	tcase_add_test(tc, test_daemon_gone_no_sigpipe);
	tcase_add_test(tc, test_stalled_daemon);
	tcase_add_test(tc, test_request_timeouts_and_late_confirmation);
	tcase_add_test(tc, test_idle_writer_queue_drains);
	tcase_add_test(tc, test_fd_poll_and_dispatch);
	tcase_add_test(tc, test_shutdown_passed_through);
	tcase_add_test(tc, test_daemon_resync_passed_through);
	tcase_add_test(tc, test_resync_reasons);
	tcase_add_test(tc, test_library_overflow_resync);
	tcase_add_test(tc, test_broadcast_exact_lines);
	tcase_add_test(tc, test_coalesce_bounds);
	tcase_add_test(tc, test_coalesce_order_and_backpressure);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(client_api_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
