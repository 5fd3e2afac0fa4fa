/* SPDX-License-Identifier: MIT — crmpubsub */
/* Request dispatch: parse, validate, look the op up in the table, run it.
 * Every handler validates its whole request before it changes anything, and
 * writes its reply fields into a scratch buffer; the reply is framed here,
 * the same way whichever parser read the request.
 *
 * A new op is its name in proto/op.c, its reply fields in proto/reply.c
 * (with their reader in proto/message.c when clients read them), one row
 * of ops[] below with its handler (and a fast parser in fastpath.c if it
 * is hot), docs/protocol.md and its tests: the version op is the example. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "crmpubsubd.h"
#include "involved.h"
#include "jscan.h"
#include "names.h"
#include "reply.h"
#include "request.h"

/* How this daemon was built, from the compiler's own macros. */
#if defined(__clang__)
#define OPS_COMPILER	"clang " __clang_version__
#elif defined(__GNUC__)
#define OPS_COMPILER	"gcc " __VERSION__
#else
#define OPS_COMPILER	"unknown"
#endif
#if defined(__SANITIZE_ADDRESS__)
#define OPS_ASAN	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define OPS_ASAN	1
#endif
#endif
#ifndef OPS_ASAN
#define OPS_ASAN	0
#endif
#ifdef __OPTIMIZE__
#define OPS_OPTIMIZED	1
#else
#define OPS_OPTIMIZED	0
#endif
#define OPS_STR(x)	OPS_STR_(x)
#define OPS_STR_(x)	#x
#define OPS_HIREDIS	OPS_STR(HIREDIS_MAJOR) "." OPS_STR(HIREDIS_MINOR) "." \
			OPS_STR(HIREDIS_PATCH)

/* The reply-fields scratch keeps up to this much memory between requests;
 * a broadcast's fields are tiny, a topics page is up to about 1 MiB. */
#define OPS_FIELDS_KEEP	(64 * 1024)

/* The general handler of an op: reads the request's jansson tree. */
typedef int (*op_fn)(struct conn *, const json_t *, struct buf *,
    struct proto_fail *);
/* The fast parser of an op (fastpath.c): reads the scanner's tokens; 1 when
 * it handled the request, 0 to leave it, unchanged, to the handler. */
typedef int (*op_fast_fn)(struct conn *, const struct jscan *, struct buf *);

struct op_def {
	op_fn		 fn;
	op_fast_fn	 fast;		/* NULL: the general handler only */
	int		 publish;	/* needs the publish right */
};

static int	op_hello(struct conn *, const json_t *, struct buf *,
		    struct proto_fail *);
static int	op_ping(struct conn *, const json_t *, struct buf *,
		    struct proto_fail *);
static int	op_subscribe(struct conn *, const json_t *, struct buf *,
		    struct proto_fail *);
static int	op_unsubscribe(struct conn *, const json_t *, struct buf *,
		    struct proto_fail *);
static int	op_broadcast_interaction(struct conn *, const json_t *,
		    struct buf *, struct proto_fail *);
static int	op_broadcast_to_contacts(struct conn *, const json_t *,
		    struct buf *, struct proto_fail *);
static int	op_version(struct conn *, const json_t *, struct buf *,
		    struct proto_fail *);

/* One row per op of proto/op.h. */
static const struct op_def ops[OP_COUNT] = {
	[OP_BROADCAST_INTERACTION] = { op_broadcast_interaction,
	    fastpath_broadcast_interaction, 1 },
	[OP_BROADCAST_TO_CONTACTS] = { op_broadcast_to_contacts,
	    fastpath_broadcast_to_contacts, 1 },
	[OP_CLIENTS] = { inspect_clients, NULL, 0 },
	[OP_HELLO] = { op_hello, NULL, 0 },
	[OP_PING] = { op_ping, fastpath_ping, 0 },
	[OP_STATS] = { inspect_stats, NULL, 0 },
	[OP_SUBSCRIBE] = { op_subscribe, NULL, 0 },
	[OP_TOPICS] = { inspect_topics, NULL, 0 },
	[OP_UNSUBSCRIBE] = { op_unsubscribe, NULL, 0 },
	[OP_VERSION] = { op_version, NULL, 0 },
};

/* Reused across requests so the hot path does not allocate. */
static struct buf		fields;
static struct uuid_list		involved;
static struct uuid_list		seen[TOPIC_NFAMILIES];
static struct topic_key		*keys;
static uint8_t			*keys_added;	/* by this subscribe */
static size_t			 keys_cap;

void
ops_reply_error(struct buf *out, const char *op, const struct reply_id *id,
    enum proto_error code, const char *message)
{
	stats_count_error(code);
	reply_error(out, op, id, code, message);
}

/* Copies text keeping printable ASCII only: parser messages quote input. */
static void
ascii_only(const char *in, char *out, size_t outlen)
{
	size_t	i;

	for (i = 0; in[i] != '\0' && i + 1 < outlen; i++)
		out[i] = (in[i] >= 0x20 && in[i] < 0x7f) ? in[i] : '?';
	out[i] = '\0';
}

/* The request's id as it wrote it, found before jansson reads the line. */
struct id_scan {
	const char	*line;
	size_t		 len;
	char		*copy;		/* the line with numeric ids blanked */
	struct reply_id	 id;		/* the last "id" member, as jansson */
	int		 found;
};

/* jscan_each_member callback for "id": keeps the last occurrence (the one
 * jansson keeps) and blanks a numeric one to "0" in a copy of the line, as
 * jansson cannot hold every JSON number; the reply echoes the original. */
static void
id_member(size_t off, size_t len, void *arg)
{
	static char	*copy;
	static size_t	 copy_cap;
	struct id_scan	*s = arg;
	char		*p;

	s->id.text = s->line + off;
	s->id.len = len;
	s->found = 1;
	if (!jscan_is_number(s->line + off, len))
		return;
	if (s->copy == NULL) {
		if (s->len > copy_cap) {
			if ((p = realloc(copy, s->len)) == NULL)
				return;	/* jansson judges the number itself */
			copy = p;
			copy_cap = s->len;
		}
		s->copy = memcpy(copy, s->line, s->len);
	}
	memset(s->copy + off, ' ', len);
	s->copy[off] = '0';
}

/* Whether c may use an op that needs the publish right. */
static int
ops_allowed(const struct conn *c, const struct op_def *def)
{
	return !def->publish || config_may_publish(cfg, c->uid, c->gid);
}

/* The fast column: a request the scanner reads and its op's fast parser
 * takes is answered without a jansson tree. 1 when answered. */
static int
ops_fast(struct conn *c, const char *line, size_t len)
{
	struct fast_request	 r;
	const struct op_def	*def;

	if (fastpath_scan(line, len, &r) == -1)
		return 0;
	def = &ops[r.op];
	if (def->fast == NULL || !ops_allowed(c, def))
		return 0;
	buf_reset(&fields);
	if (def->fast(c, r.js, &fields) == 0)
		return 0;
	reply_ok(&c->out, r.op, r.has_id ? &r.id : NULL, &fields);
	return 1;
}

void
ops_dispatch(struct conn *c, const char *line, size_t len)
{
	const json_t		*op, *id;
	enum proto_op		 opcode;
	const struct reply_id	*rid = NULL;
	const char		*opname = NULL;
	struct id_scan		 ids = { line, len, NULL, { NULL, 0 }, 0 };
	json_t			*req;
	json_error_t		 jerr;
	struct proto_fail	 f;
	char			 text[sizeof jerr.text];
	size_t			 mark;
	int			 failed, i;

	stats.requests++;
	if (conn_check_reply_budget(c))
		return;
	mark = buf_len(&c->out);
	if (ops_fast(c, line, len))
		goto done_fast;
	(void)jscan_each_member(line, len, "id", id_member, &ids);
	req = json_loadb(ids.copy != NULL ? ids.copy : line, len,
	    JSON_DECODE_ANY, &jerr);
	if (req == NULL) {
		ascii_only(jerr.text, text, sizeof text);
		proto_failf(&f, PERR_BAD_JSON, "invalid JSON at column %d: %s",
		    jerr.column, text);
		ops_reply_error(&c->out, NULL, NULL, f.code, f.message);
		goto done;
	}
	if (!json_is_object(req)) {
		proto_failf(&f, PERR_BAD_REQUEST,
		    "a request must be a JSON object");
		goto fail;
	}
	op = json_object_get(req, "op");
	if (json_is_string(op))
		opname = json_string_value(op);
	id = json_object_get(req, "id");
	/* A null id is echoed as null, as JSON-RPC clients expect. */
	if (id != NULL && !json_is_string(id) && !json_is_number(id) &&
	    !json_is_null(id)) {
		proto_failf(&f, PERR_BAD_REQUEST,
		    "id must be a string, a number or null");
		goto fail;
	}
	if (id != NULL && ids.found)
		rid = &ids.id;
	if (opname == NULL) {
		proto_failf(&f, PERR_BAD_REQUEST, op == NULL ?
		    "op is missing" : "op must be a string");
		goto fail;
	}
	if ((i = names_find(proto_op_names, OP_COUNT, opname,
	    json_string_length(op))) == -1) {
		proto_failf(&f, PERR_UNKNOWN_OP, "unknown op");
		goto fail;
	}
	opcode = (enum proto_op)i;
	if (!ops_allowed(c, &ops[opcode])) {
		proto_failf(&f, PERR_FORBIDDEN,
		    "uid %ld gid %ld may not broadcast", (long)c->uid,
		    (long)c->gid);
		goto fail;
	}
	buf_reset(&fields);
	if (ops[opcode].fn(c, req, &fields, &f) == -1)
		goto fail;
	reply_ok(&c->out, opcode, rid, &fields);
	goto done;
fail:
	log_debug("%s: %s: %s", conn_label(c), proto_error_name(f.code),
	    f.message);
	ops_reply_error(&c->out, opname, rid, f.code, f.message);
done:
	json_decref(req);
done_fast:
	failed = buf_clear_failed(&fields) | buf_clear_failed(&c->out);
	if (fields.cap > OPS_FIELDS_KEEP)
		buf_free(&fields);	/* an inspection reply: give it back */
	if (failed) {
		/* Out of memory: a partial reply must never reach the peer. */
		buf_truncate(&c->out, mark);
		conn_kill(c, "out of memory");
		return;
	}
	conn_output_added(c);
}

/* ---- field helpers -------------------------------------------------------- */

/* Reads "event"; missing, null, not a string or unknown is bad_event. */
static int
get_event(const json_t *req, enum crm_event *e, struct proto_fail *f)
{
	const json_t	*v = json_object_get(req, "event");

	if (!json_is_string(v) || event_parse(json_string_value(v),
	    json_string_length(v), e) == -1)
		return proto_failf(f, PERR_BAD_EVENT, "event must be one of "
		    "interaction_created, interaction_updated, "
		    "interaction_deleted");
	return 0;
}

/* Collects the distinct topic keys named by "topic"/"topics" into keys.
 * Returns the count, or -1 with f set. allow_empty: topics [] is fine. */
static long
get_topics(const json_t *req, int allow_empty, size_t max,
    struct proto_fail *f)
{
	const json_t	*topic = json_object_get(req, "topic");
	const json_t	*topics = json_object_get(req, "topics");
	const json_t	*v;
	struct topic_key k;
	size_t		 i, n = 0, j;
	void		*p;

	if (topic != NULL && topics != NULL)
		return proto_failf(f, PERR_BAD_REQUEST,
		    "give either topic or topics, not both");
	if (topic != NULL) {
		if (!json_is_string(topic))
			return proto_failf(f, PERR_BAD_REQUEST,
			    "topic must be a string");
		topics = NULL;
	} else if (!json_is_array(topics))
		return proto_failf(f, PERR_BAD_REQUEST,
		    "topics must be an array of strings");
	else if (json_array_size(topics) == 0 && !allow_empty)
		return proto_failf(f, PERR_BAD_REQUEST,
		    "topics must not be empty");
	else if (json_array_size(topics) > max)
		return proto_failf(f, PERR_TOO_MANY,
		    "%zu topics exceed max_subscriptions (%zu)",
		    json_array_size(topics), max);
	n = topics != NULL ? json_array_size(topics) : 1;
	if (n > keys_cap) {
		if ((p = realloc(keys, n * sizeof *keys)) == NULL)
			return proto_failf(f, PERR_INTERNAL, "out of memory");
		keys = p;
		if ((p = realloc(keys_added, n)) == NULL)
			return proto_failf(f, PERR_INTERNAL, "out of memory");
		keys_added = p;
		keys_cap = n;
	}
	for (j = 0; j < TOPIC_NFAMILIES; j++)
		uuid_list_clear(&seen[j]);
	for (i = 0, j = 0; i < n; i++) {
		v = topics != NULL ? json_array_get(topics, i) : topic;
		if (!json_is_string(v))
			return proto_failf(f, PERR_BAD_REQUEST,
			    "topics[%zu] must be a string", i);
		if (topic_parse(json_string_value(v), json_string_length(v),
		    &k) == -1) {
			if (topics == NULL)
				return proto_failf(f, PERR_BAD_TOPIC,
				    "topic is not a valid topic");
			return proto_failf(f, PERR_BAD_TOPIC,
			    "topics[%zu] is not a valid topic", i);
		}
		switch (uuid_list_add(&seen[k.family], k.uuid)) {
		case 1:
			keys[j++] = k;
			break;
		case -1:
			return proto_failf(f, PERR_INTERNAL, "out of memory");
		}
	}
	return (long)j;
}

/* ---- ops ---------------------------------------------------------------- */

/* hello: takes the optional name; answers with the client id and limits. */
static int
op_hello(struct conn *c, const json_t *req, struct buf *b,
    struct proto_fail *f)
{
	const json_t		*name = json_object_get(req, "name");
	char			*copy = NULL;
	struct reply_hello	 h;

	if (name != NULL && !json_is_null(name)) {
		if (!json_is_string(name) ||
		    json_string_length(name) > REQUEST_NAME_MAX)
			return proto_failf(f, PERR_BAD_REQUEST,
			    "name must be a string of at most %d bytes",
			    REQUEST_NAME_MAX);
		if ((copy = strdup(json_string_value(name))) == NULL)
			return proto_failf(f, PERR_INTERNAL, "out of memory");
		free(c->name);
		c->name = copy;
		log_debug("%s: hello", conn_label(c));
	}
	h.client_id = c->id;
	h.max_line = cfg->max_line;
	h.max_subscriptions = cfg->max_subscriptions;
	h.max_contacts = cfg->max_contacts;
	h.uptime_s = stats_uptime();
	reply_hello(b, &h);
	return 0;
}

/* ping: no fields. */
static int
op_ping(struct conn *c, const json_t *req, struct buf *b,
    struct proto_fail *f)
{
	return 0;
}

/* subscribe: all of the request's topics, or (too_many, out of memory)
 * none of them. */
static int
op_subscribe(struct conn *c, const json_t *req, struct buf *b,
    struct proto_fail *f)
{
	long	n, i, fresh = 0;
	int	r;

	n = get_topics(req, 0, cfg->max_subscriptions, f);
	if (n == -1)
		return -1;
	for (i = 0; i < n; i++)
		fresh += !subs_holds(c, &keys[i]);
	if ((size_t)c->nsubs + (size_t)fresh > cfg->max_subscriptions)
		return proto_failf(f, PERR_TOO_MANY, "this connection would "
		    "hold %zu topics, over max_subscriptions (%u)",
		    (size_t)c->nsubs + (size_t)fresh, cfg->max_subscriptions);
	for (i = 0; i < n; i++) {
		r = subs_add(c, &keys[i]);
		keys_added[i] = r == 1;
		if (r == -1) {
			/* All or nothing: undo what this request added, and
			 * only that (topics held before stay held). */
			while (--i >= 0)
				if (keys_added[i])
					subs_remove(c, &keys[i]);
			return proto_failf(f, PERR_INTERNAL, "out of memory");
		}
	}
	reply_subscribe(b, keys, (size_t)n, c->nsubs);
	return 0;
}

/* unsubscribe: the named topics, or every one when none is named. */
static int
op_unsubscribe(struct conn *c, const json_t *req, struct buf *b,
    struct proto_fail *f)
{
	long	n, i;

	if (json_object_get(req, "topic") == NULL &&
	    json_object_get(req, "topics") == NULL)
		subs_remove_all(c);
	else {
		n = get_topics(req, 1, (size_t)-1, f);
		if (n == -1)
			return -1;
		for (i = 0; i < n; i++)
			subs_remove(c, &keys[i]);
	}
	reply_unsubscribe(b, c->nsubs);
	return 0;
}

/* A broadcast: its event, the contacts collect reads, then the fan-out. */
static int
op_broadcast(const json_t *req, struct buf *b, struct proto_fail *f,
    int (*collect)(const json_t *, uint8_t[16], struct proto_fail *))
{
	enum crm_event	e;
	uint8_t		iu[16];

	if (get_event(req, &e, f) == -1)
		return -1;
	uuid_list_clear(&involved);
	if (collect(req, iu, f) == -1)
		return -1;
	broadcast_run(e, iu, &involved, b);
	return 0;
}

/* broadcast_interaction's contacts: the interaction's involved ones. */
static int
collect_interaction(const json_t *req, uint8_t iu[16], struct proto_fail *f)
{
	return involved_from_interaction(json_object_get(req, "interaction"),
	    cfg->max_contacts, iu, &involved, f);
}

/* broadcast_to_contacts' contacts: the ones the request names. */
static int
collect_contacts(const json_t *req, uint8_t iu[16], struct proto_fail *f)
{
	return involved_from_contacts(json_object_get(req, "interaction_uuid"),
	    json_object_get(req, "contact_uuids"), cfg->max_contacts, iu,
	    &involved, f);
}

/* broadcast_interaction: to the interaction's involved contacts. */
static int
op_broadcast_interaction(struct conn *c, const json_t *req, struct buf *b,
    struct proto_fail *f)
{
	return op_broadcast(req, b, f, collect_interaction);
}

/* broadcast_to_contacts: to the contacts the request names. */
static int
op_broadcast_to_contacts(struct conn *c, const json_t *req, struct buf *b,
    struct proto_fail *f)
{
	return op_broadcast(req, b, f, collect_contacts);
}

/* version: the daemon's version and build, the libraries it runs with. */
static int
op_version(struct conn *c, const json_t *req, struct buf *b,
    struct proto_fail *f)
{
	const struct reply_version	v = {
		.uptime_s = stats_uptime(),
		.compiler = OPS_COMPILER,
		.optimized = OPS_OPTIMIZED,
		.sanitizers = OPS_ASAN,
		.libevent = event_get_version(),
		.event_backend = event_base_get_method(base),
		.jansson = jansson_version_str(),
		.hiredis = OPS_HIREDIS,
	};

	reply_version(b, &v);
	return 0;
}
