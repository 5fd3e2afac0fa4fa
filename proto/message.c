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
#include "names.h"

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

/* The members of a line the reader acts on: each line's are found in one
 * pass over its members (MK_NUM + n: the reply number n). */
enum mkey {
	MK_OK = 0, MK_OP, MK_ERROR, MK_MESSAGE, MK_TYPE, MK_EVENT, MK_TOPIC,
	MK_PAYLOAD, MK_REASON, MK_DROPPED, MK_NUM
};
#define MK_COUNT	(MK_NUM + RN_COUNT)

static const struct wire_name mkey_names[MK_NUM] = {
	WIRE_NAME("ok"), WIRE_NAME("op"), WIRE_NAME("error"),
	WIRE_NAME("message"), WIRE_NAME("type"), WIRE_NAME("event"),
	WIRE_NAME("topic"), WIRE_NAME("payload"), WIRE_NAME("reason"),
	WIRE_NAME("dropped"),
};

/* A line's members by key; absent ones are absent values. */
struct members {
	struct mval	v[MK_COUNT];
};

/* Files one member under its key, if the reader wants it (a repeated key
 * keeps its last value, as jansson does). */
static void
members_add(struct members *f, const char *k, size_t klen,
    const struct mval *v)
{
	int	i = names_find(mkey_names, MK_NUM, k, klen);

	if (i == -1 && (i = names_find(reply_num_names, RN_COUNT, k,
	    klen)) != -1)
		i += MK_NUM;
	if (i != -1)
		f->v[i] = *v;
}

/* Collects the members of object o. */
static void
members_of(const struct mval *o, struct members *f)
{
	const struct jscan	*js = o->js;
	struct mval		 v = *o;
	const char		*k;
	json_t			*jv;
	int			 t;

	for (t = 0; t < MK_COUNT; t++) {
		f->v[t] = *o;
		f->v[t].t = -1;
		f->v[t].j = NULL;
	}
	if (js != NULL) {
		for (t = o->t + 1; t < js->tok[o->t].end; t = js->tok[t + 1].end) {
			v.t = t + 1;
			members_add(f, js->text + js->tok[t].start,
			    js->tok[t].len, &v);
		}
		return;
	}
	json_object_foreach((json_t *)o->j, k, jv) {
		v.j = jv;
		members_add(f, k, strlen(k), &v);
	}
}

/* Copies string value v into out (cut to fit; "" when not a string). */
static void
mv_copy(const struct mval *v, char *out, size_t cap)
{
	const char	*s = "";
	size_t		 len = 0;

	(void)mv_string(v, &s, &len);
	if (len >= cap)
		len = cap - 1;
	memcpy(out, s, len);
	out[len] = '\0';
}

/* The index of v's string in a name table, or -1. */
static int
mv_name(const struct mval *v, const struct wire_name *names, size_t n)
{
	const char	*s;
	size_t		 len;

	return mv_string(v, &s, &len) == 0 ? names_find(names, n, s, len) : -1;
}

/* A reply's fields. */
static void
message_reply(const struct members *f, struct message *m)
{
	size_t	i;

	m->type = MESSAGE_REPLY;
	m->ok = mv_true(&f->v[MK_OK]);
	m->op = mv_name(&f->v[MK_OP], proto_op_names, OP_COUNT);
	mv_copy(&f->v[MK_ERROR], m->error_name, sizeof m->error_name);
	m->error = mv_name(&f->v[MK_ERROR], proto_error_names, PERR_COUNT);
	mv_copy(&f->v[MK_MESSAGE], m->text, sizeof m->text);
	for (i = 0; i < RN_COUNT; i++)
		m->num[i] = mv_count(&f->v[MK_NUM + i]);
}

/* A crm push's fields; whether all are good. */
static int
message_crm(const struct members *f, struct message *m)
{
	struct mval	 v = mv_get(&f->v[MK_PAYLOAD], "interaction_uuid");
	const char	*s;
	size_t		 len;

	if (mv_string(&f->v[MK_EVENT], &s, &len) == -1 ||
	    event_parse(s, len, &m->event) == -1)
		return 0;
	if (mv_string(&f->v[MK_TOPIC], &s, &len) == -1 ||
	    topic_parse(s, len, &m->topic) == -1)
		return 0;
	return mv_string(&v, &s, &len) == 0 &&
	    uuid_canon_parse(s, len, m->interaction) == 0;
}

/* A push's fields, by its type. */
static void
message_push(const struct members *f, const char *type, size_t tlen,
    struct message *m)
{
	long long	dropped;

	if (tlen == 3 && memcmp(type, "crm", 3) == 0)
		m->type = message_crm(f, m) ? MESSAGE_CRM : MESSAGE_BAD_CRM;
	else if (tlen == 6 && memcmp(type, "resync", 6) == 0) {
		m->type = MESSAGE_RESYNC;
		m->reason = mv_name(&f->v[MK_REASON], resync_reason_names,
		    RESYNC_NREASONS);
		dropped = mv_count(&f->v[MK_DROPPED]);
		m->dropped = dropped > 0 ? (unsigned long long)dropped : 0;
	} else if (tlen == 8 && memcmp(type, "shutdown", 8) == 0)
		m->type = MESSAGE_SHUTDOWN;
}

/* Reads the object o: a reply if it has "ok", a push if its "type" is a
 * string, else something to ignore. -1 when o is no object. */
static int
message_read(const struct mval *o, struct message *m)
{
	struct members	 f;
	const char	*type;
	size_t		 tlen;

	if (!mv_object(o))
		return -1;
	members_of(o, &f);
	m->type = MESSAGE_OTHER;
	if (mv_present(&f.v[MK_OK]))
		message_reply(&f, m);
	else if (mv_string(&f.v[MK_TYPE], &type, &tlen) == 0)
		message_push(&f, type, tlen, m);
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
