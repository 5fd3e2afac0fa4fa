/* SPDX-License-Identifier: MIT — crmpubsub */
/* The hot path: ping and well-formed broadcasts, read with the strict
 * scanner instead of building a jansson tree. It only ever handles requests
 * that the general path would accept, and answers them byte for byte as the
 * general path would; anything else (every error, escapes, non-ASCII,
 * duplicate keys, other ops) returns 0 and goes through ops.c. */

#include <string.h>

#include "crmpubsubd.h"
#include "jscan.h"
#include "reply.h"

static struct jscan	js;
static struct uuid_list	contacts;

/* A UUID string token: 0 parsed into out, -1 anything else. */
static int
fast_uuid(int t, uint8_t out[16])
{
	return js.tok[t].type == JS_STRING && uuid_canon_parse(js.text +
	    js.tok[t].start, js.tok[t].len, out) == 0 ? 0 : -1;
}

/* Adds an optional UUID value (absent or null is skipped). */
static int
fast_add_optional(int t)
{
	uint8_t	u[16];

	if (t == -2)
		return -1;
	if (t == -1 || js.tok[t].type == JS_NULL)
		return 0;
	if (fast_uuid(t, u) == -1 || uuid_list_add(&contacts, u) == -1)
		return -1;
	return 0;
}

/* broadcast_to_contacts: interaction_uuid and contact_uuids. */
static int
fast_to_contacts(uint8_t iu[16])
{
	int	list, t;
	size_t	n = 0;

	if ((t = jscan_get(&js, 0, "interaction_uuid")) < 0 ||
	    fast_uuid(t, iu) == -1)
		return -1;
	list = jscan_get(&js, 0, "contact_uuids");
	if (list < 0 || js.tok[list].type != JS_ARRAY)
		return -1;
	JSCAN_FOREACH(&js, list, t) {
		if (++n > cfg->max_contacts || fast_add_optional(t) == -1)
			return -1;
	}
	return 0;
}

/* broadcast_interaction: uuid, contact_uuid, parties[].contact_uuid. */
static int
fast_interaction(uint8_t iu[16])
{
	int	inter, parties, t;
	size_t	n = 1;

	inter = jscan_get(&js, 0, "interaction");
	if (inter < 0 || js.tok[inter].type != JS_OBJECT)
		return -1;
	if ((t = jscan_get(&js, inter, "uuid")) < 0 || fast_uuid(t, iu) == -1)
		return -1;
	if (fast_add_optional(jscan_get(&js, inter, "contact_uuid")) == -1)
		return -1;
	if ((parties = jscan_get(&js, inter, "parties")) == -2)
		return -1;
	if (parties < 0 || js.tok[parties].type != JS_ARRAY)
		return 0;	/* parties not loaded: none */
	JSCAN_FOREACH(&js, parties, t) {
		if (++n > cfg->max_contacts || js.tok[t].type != JS_OBJECT ||
		    fast_add_optional(jscan_get(&js, t, "contact_uuid")) == -1)
			return -1;
	}
	return 0;
}

int
fastpath_dispatch(struct conn *c, const char *line, size_t len,
    struct buf *fields)
{
	const struct jscan_tok	*id_tok = NULL;
	struct reply_id		 rid;
	enum crm_event		 e;
	uint8_t			 iu[16];
	const char		*opname;
	int			 op, id, ev, r;

	if (jscan_parse(&js, line, len) == -1 || js.tok[0].type != JS_OBJECT)
		return 0;
	if ((op = jscan_get(&js, 0, "op")) < 0 || js.tok[op].type != JS_STRING)
		return 0;
	if ((id = jscan_get(&js, 0, "id")) == -2)
		return 0;
	if (id >= 0) {
		id_tok = &js.tok[id];
		if (id_tok->type != JS_STRING && id_tok->type != JS_NUMBER)
			return 0;
		/* As written; a string token's text is inside its quotes. */
		rid.text = line + id_tok->start - (id_tok->type == JS_STRING);
		rid.len = id_tok->len + 2 * (id_tok->type == JS_STRING);
	}
	buf_reset(fields);
	if (jscan_streq(&js, op, "ping"))
		opname = "ping";
	else {
		if (jscan_streq(&js, op, "broadcast_to_contacts"))
			opname = "broadcast_to_contacts";
		else if (jscan_streq(&js, op, "broadcast_interaction"))
			opname = "broadcast_interaction";
		else
			return 0;
		if (!config_may_publish(cfg, c->uid, c->gid))
			return 0;
		ev = jscan_get(&js, 0, "event");
		if (ev < 0 || js.tok[ev].type != JS_STRING ||
		    event_parse(js.text + js.tok[ev].start, js.tok[ev].len,
		    &e) == -1)
			return 0;
		uuid_list_clear(&contacts);
		r = opname[10] == 't' ? fast_to_contacts(iu) :
		    fast_interaction(iu);
		if (r == -1)
			return 0;
		broadcast_run(e, iu, &contacts, fields);
	}
	reply_begin(&c->out, opname, id_tok != NULL ? &rid : NULL);
	if (buf_len(fields) > 0) {
		buf_putc(&c->out, ',');
		buf_append(&c->out, buf_head(fields), buf_len(fields));
	}
	reply_end(&c->out);
	return 1;
}
