/* SPDX-License-Identifier: MIT — crmpubsub */
/* Reading the daemon's lines. Most are read with the allocation-free
 * scanner (a broadcast's reply, a push); a line outside its subset (an
 * escaped error message, a long topic list, a huge number) is read with
 * jansson. Both are read by the same code through a value that is either a
 * scanner token or a jansson node, and a repeated key counts as its last
 * value in both, as jansson has it. */

#include <string.h>

#include <jansson.h>

#include "jscan.h"
#include "message.h"

/* Tokens the scanner is given: a push or a reply without lists needs
 * about twenty. */
#define MESSAGE_TOKENS	64

/* A value of the line being read. */
struct mval {
	const struct jscan	*js;	/* the scanner, or NULL: jansson */
	int			 t;	/* scanner token; -1 absent */
	const json_t		*j;	/* jansson node; NULL absent */
};

/* The member key of object o (absent when o is absent or no object). */
static struct mval
mv_get(const struct mval *o, const char *key)
{
	struct mval	v = *o;

	if (o->js != NULL)
		v.t = o->t >= 0 ? jscan_get_last(o->js, o->t, key) : -1;
	else
		v.j = json_object_get(o->j, key);
	return v;
}

/* Whether v is present. */
static int
mv_present(const struct mval *v)
{
	return v->js != NULL ? v->t >= 0 : v->j != NULL;
}

/* Whether v is the literal true. */
static int
mv_true(const struct mval *v)
{
	if (v->js != NULL)
		return v->t >= 0 && v->js->tok[v->t].type == JS_TRUE;
	return json_is_true(v->j);
}

/* Whether v is an object. */
static int
mv_object(const struct mval *v)
{
	if (v->js != NULL)
		return v->t >= 0 && v->js->tok[v->t].type == JS_OBJECT;
	return json_is_object(v->j);
}

/* Sets *s and *len to v's text when v is a string; 0, or -1. */
static int
mv_string(const struct mval *v, const char **s, size_t *len)
{
	const struct jscan_tok	*k;

	if (v->js != NULL) {
		if (v->t < 0 || (k = &v->js->tok[v->t])->type != JS_STRING)
			return -1;
		*s = v->js->text + k->start;
		*len = k->len;
		return 0;
	}
	if (!json_is_string(v->j))
		return -1;
	*s = json_string_value(v->j);
	*len = json_string_length(v->j);
	return 0;
}

/* v as an integer >= 0, or -1. */
static long long
mv_count(const struct mval *v)
{
	const struct jscan_tok	*k;
	long long		 n = 0;
	uint32_t		 i;

	if (v->js == NULL)
		return json_is_integer(v->j) && json_integer_value(v->j) >= 0 ?
		    (long long)json_integer_value(v->j) : -1;
	if (v->t < 0 || (k = &v->js->tok[v->t])->type != JS_NUMBER ||
	    !k->is_integer || v->js->text[k->start] == '-')
		return -1;
	for (i = 0; i < k->len; i++)	/* at most 15 digits */
		n = n * 10 + (v->js->text[k->start + i] - '0');
	return n;
}

/* Copies string member key of o into out (cut to fit; "" when absent). */
static void
mv_copy(const struct mval *o, const char *key, char *out, size_t cap)
{
	struct mval	 v = mv_get(o, key);
	const char	*s = "";
	size_t		 len = 0;

	(void)mv_string(&v, &s, &len);
	if (len >= cap)
		len = cap - 1;
	memcpy(out, s, len);
	out[len] = '\0';
}

/* A reply's fields. */
static void
message_reply(const struct mval *o, struct message *m)
{
	struct mval		 v = mv_get(o, "ok");
	enum proto_op		 op;
	enum proto_error	 code;
	const char		*s;
	size_t			 len, i;

	m->type = MESSAGE_REPLY;
	m->ok = mv_true(&v);
	v = mv_get(o, "op");
	m->op = mv_string(&v, &s, &len) == 0 &&
	    proto_op_parse(s, len, &op) == 0 ? (int)op : -1;
	mv_copy(o, "error", m->error_name, sizeof m->error_name);
	m->error = proto_error_parse(m->error_name, strlen(m->error_name),
	    &code) == 0 ? (int)code : -1;
	mv_copy(o, "message", m->text, sizeof m->text);
	for (i = 0; i < RN_COUNT; i++) {
		v = mv_get(o, reply_num_name((enum reply_num)i));
		m->num[i] = mv_count(&v);
	}
}

/* A crm push's fields; whether all are good. */
static int
message_crm(const struct mval *o, struct message *m)
{
	struct mval	 v = mv_get(o, "event"), p = mv_get(o, "payload");
	const char	*s;
	size_t		 len;

	if (mv_string(&v, &s, &len) == -1 ||
	    event_parse(s, len, &m->event) == -1)
		return 0;
	v = mv_get(o, "topic");
	if (mv_string(&v, &s, &len) == -1 ||
	    topic_parse(s, len, &m->topic) == -1)
		return 0;
	v = mv_get(&p, "interaction_uuid");
	return mv_string(&v, &s, &len) == 0 &&
	    uuid_canon_parse(s, len, m->interaction) == 0;
}

/* A push's fields, by its type. */
static void
message_push(const struct mval *o, const char *type, size_t tlen,
    struct message *m)
{
	struct mval		 v;
	enum resync_reason	 reason;
	const char		*s;
	size_t			 len;
	long long		 dropped;

	if (tlen == 3 && memcmp(type, "crm", 3) == 0)
		m->type = message_crm(o, m) ? MESSAGE_CRM : MESSAGE_BAD_CRM;
	else if (tlen == 6 && memcmp(type, "resync", 6) == 0) {
		m->type = MESSAGE_RESYNC;
		v = mv_get(o, "reason");
		m->reason = mv_string(&v, &s, &len) == 0 &&
		    resync_reason_parse(s, len, &reason) == 0 ? (int)reason : -1;
		v = mv_get(o, "dropped");
		dropped = mv_count(&v);
		m->dropped = dropped > 0 ? (unsigned long long)dropped : 0;
	} else if (tlen == 8 && memcmp(type, "shutdown", 8) == 0)
		m->type = MESSAGE_SHUTDOWN;
}

/* Reads the object o: a reply if it has "ok", a push if its "type" is a
 * string, else something to ignore. -1 when o is no object. */
static int
message_read(const struct mval *o, struct message *m)
{
	struct mval	 v;
	const char	*type;
	size_t		 tlen;

	if (!mv_object(o))
		return -1;
	m->type = MESSAGE_OTHER;
	v = mv_get(o, "ok");
	if (mv_present(&v)) {
		message_reply(o, m);
		return 0;
	}
	v = mv_get(o, "type");
	if (mv_string(&v, &type, &tlen) == 0)
		message_push(o, type, tlen, m);
	return 0;
}

int
message_parse(const char *line, size_t len, struct message *out)
{
	struct jscan_tok	 toks[MESSAGE_TOKENS];
	struct jscan		 js = JSCAN_ON(toks);
	struct mval		 root = { &js, 0, NULL };
	json_t			*tree;
	int			 rc;

	memset(out, 0, sizeof *out);
	if (jscan_parse(&js, line, len) == 0)
		return message_read(&root, out);
	if ((tree = json_loadb(line, len, 0, NULL)) == NULL)
		return -1;
	root.js = NULL;
	root.j = tree;
	rc = message_read(&root, out);
	json_decref(tree);
	return rc;
}
