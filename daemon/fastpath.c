/* SPDX-License-Identifier: MIT — crmpubsub */
/* The op table's fast column: ping and well-formed broadcasts read with the
 * strict scanner instead of a jansson tree. A fast parser only ever takes a
 * request that the general path would accept, and writes the same reply
 * fields with the same writers; anything else (every error, escapes,
 * non-ASCII, duplicate keys) it leaves, untouched, to the op's general
 * handler in ops.c. */

#include <string.h>

#include "crmpubsubd.h"
#include "jscan.h"
#include "names.h"

static struct jscan_tok	toks[JSCAN_MAX_TOKENS];
static struct jscan	js = JSCAN_ON(toks);
static struct uuid_list	contacts;

int
fastpath_scan(const char *line, size_t len, struct fast_request *r)
{
	const struct jscan_tok	*t;
	int			 op, id, i;

	if (jscan_parse(&js, line, len) == -1 || js.tok[0].type != JS_OBJECT)
		return -1;
	if ((op = jscan_get(&js, 0, "op")) < 0 || js.tok[op].type != JS_STRING ||
	    (i = names_find(proto_op_names, OP_COUNT, line + js.tok[op].start,
	    js.tok[op].len)) == -1)
		return -1;
	r->op = (enum proto_op)i;
	if ((id = jscan_get(&js, 0, "id")) == -2)
		return -1;
	r->has_id = id >= 0;
	if (id >= 0) {
		t = &js.tok[id];
		if (t->type != JS_STRING && t->type != JS_NUMBER)
			return -1;
		/* As written; a string token's text is inside its quotes. */
		r->id.text = line + t->start - (t->type == JS_STRING);
		r->id.len = t->len + 2 * (t->type == JS_STRING);
	}
	r->js = &js;
	return 0;
}

/* A UUID string token: 0 parsed into out, -1 anything else. */
static int
fast_uuid(const struct jscan *s, int t, uint8_t out[16])
{
	return s->tok[t].type == JS_STRING && uuid_canon_parse(s->text +
	    s->tok[t].start, s->tok[t].len, out) == 0 ? 0 : -1;
}

/* Adds an optional UUID value (absent or null is skipped). */
static int
fast_add_optional(const struct jscan *s, int t)
{
	uint8_t	u[16];

	if (t == -2)
		return -1;
	if (t == -1 || s->tok[t].type == JS_NULL)
		return 0;
	if (fast_uuid(s, t, u) == -1 || uuid_list_add(&contacts, u) == -1)
		return -1;
	return 0;
}

/* Reads "event"; -1 when it is not one of the events. */
static int
fast_event(const struct jscan *s, enum crm_event *e)
{
	int	t = jscan_get(s, 0, "event");

	return t >= 0 && s->tok[t].type == JS_STRING && event_parse(s->text +
	    s->tok[t].start, s->tok[t].len, e) == 0 ? 0 : -1;
}

/* broadcast_to_contacts' contacts: interaction_uuid and contact_uuids. */
static int
fast_to_contacts(const struct jscan *s, uint8_t iu[16])
{
	int	list, t;
	size_t	n = 0;

	if ((t = jscan_get(s, 0, "interaction_uuid")) < 0 ||
	    fast_uuid(s, t, iu) == -1)
		return -1;
	list = jscan_get(s, 0, "contact_uuids");
	if (list < 0 || s->tok[list].type != JS_ARRAY)
		return -1;
	JSCAN_FOREACH(s, list, t) {
		if (++n > cfg->max_contacts || fast_add_optional(s, t) == -1)
			return -1;
	}
	return 0;
}

/* broadcast_interaction's contacts: the interaction's uuid, contact_uuid
 * and parties[].contact_uuid. */
static int
fast_interaction(const struct jscan *s, uint8_t iu[16])
{
	int	inter, parties, t;
	size_t	n = 1;

	inter = jscan_get(s, 0, "interaction");
	if (inter < 0 || s->tok[inter].type != JS_OBJECT)
		return -1;
	if ((t = jscan_get(s, inter, "uuid")) < 0 || fast_uuid(s, t, iu) == -1)
		return -1;
	if (fast_add_optional(s, jscan_get(s, inter, "contact_uuid")) == -1 ||
	    (parties = jscan_get(s, inter, "parties")) == -2)
		return -1;
	if (parties < 0 || s->tok[parties].type != JS_ARRAY)
		return 0;	/* parties not loaded: none */
	JSCAN_FOREACH(s, parties, t) {
		if (++n > cfg->max_contacts || s->tok[t].type != JS_OBJECT ||
		    fast_add_optional(s, jscan_get(s, t, "contact_uuid")) == -1)
			return -1;
	}
	return 0;
}

/* A broadcast whose event and contacts (read by collect) are good. */
static int
fast_broadcast(const struct jscan *s, struct buf *fields,
    int (*collect)(const struct jscan *, uint8_t[16]))
{
	enum crm_event	e;
	uint8_t		iu[16];

	uuid_list_clear(&contacts);
	if (fast_event(s, &e) == -1 || collect(s, iu) == -1)
		return 0;
	broadcast_run(e, iu, &contacts, fields);
	return 1;
}

int
fastpath_ping(struct conn *c, const struct jscan *s, struct buf *fields)
{
	return 1;
}

int
fastpath_broadcast_to_contacts(struct conn *c, const struct jscan *s,
    struct buf *fields)
{
	return fast_broadcast(s, fields, fast_to_contacts);
}

int
fastpath_broadcast_interaction(struct conn *c, const struct jscan *s,
    struct buf *fields)
{
	return fast_broadcast(s, fields, fast_interaction);
}
