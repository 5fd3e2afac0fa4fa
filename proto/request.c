/* SPDX-License-Identifier: MIT — crmpubsub */
/* Request builders. Broadcasts are on a publisher's every call, so they
 * check and copy each UUID in one pass and write without an encoder: every
 * byte but a hello name is text these builders made or checked. */

#include <string.h>

#include "request.h"

/* Appends a string constant without its NUL. */
#define PUT(b, lit)	buf_append((b), (lit), sizeof(lit) - 1)

/* Ends a builder: keeps the line, or drops what it wrote since mark. */
static int
request_end(struct buf *b, size_t mark, const char **why)
{
	if (buf_clear_failed(b))
		*why = "out of memory";
	if (*why == NULL)
		return 0;
	buf_truncate(b, mark);
	return -1;
}

/* Appends {"op":"<op>" */
static void
request_open(struct buf *b, enum proto_op op)
{
	PUT(b, "{\"op\":\"");
	buf_puts(b, proto_op_name(op));
	buf_putc(b, '"');
}

int
request_plain(struct buf *b, enum proto_op op)
{
	const char	*why = NULL;
	size_t		 mark = buf_len(b);

	request_open(b, op);
	PUT(b, "}\n");
	return request_end(b, mark, &why);
}

int
request_hello(struct buf *b, const char *name)
{
	const char	*why = NULL;
	size_t		 mark = buf_len(b);

	request_open(b, OP_HELLO);
	if (name != NULL) {
		buf_put_key(b, "name");
		buf_put_jstrz(b, name);
	}
	PUT(b, "}\n");
	return request_end(b, mark, &why);
}

int
request_topic(struct buf *b, enum proto_op op, const struct topic_key *k)
{
	char		 name[TOPIC_MAX_LEN + 1];
	const char	*why = NULL;
	size_t		 mark = buf_len(b);

	request_open(b, op);
	PUT(b, ",\"topic\":");
	buf_put_jstr(b, name, topic_format(k, name));
	PUT(b, "}\n");
	return request_end(b, mark, &why);
}

size_t
request_topics(struct buf *b, enum proto_op op, const struct topic_key *keys,
    size_t n, size_t max_line)
{
	char		 name[TOPIC_MAX_LEN + 1];
	const char	*why = NULL;
	size_t		 mark = buf_len(b), i, len;

	request_open(b, op);
	PUT(b, ",\"topics\":[");
	for (i = 0; i < n; i++) {
		len = topic_format(&keys[i], name);
		/* A topic name needs no escaping: it adds a comma, its
		 * quotes, and the line still needs its closing "]}". */
		if (i > 0 && buf_len(b) - mark + 1 + len + 2 + 2 > max_line)
			break;
		if (i > 0)
			buf_putc(b, ',');
		buf_put_jstr(b, name, len);
	}
	PUT(b, "]}\n");
	return request_end(b, mark, &why) == 0 ? i : 0;
}

/* Appends ,"event":"<event>"; -1 when e is no event. */
static int
request_event(struct buf *b, enum crm_event e)
{
	if ((unsigned)e >= EVENT_COUNT)
		return -1;
	PUT(b, ",\"event\":\"");
	buf_puts(b, event_name(e));
	buf_putc(b, '"');
	return 0;
}

/* Appends prefix (plen bytes), then the UUID text s quoted and lowercase
 * (null for NULL when nullable); -1 when s is not a UUID. Out of memory
 * shows in b's failed mark. */
static int
request_uuid(struct buf *b, const char *prefix, size_t plen, const char *s,
    int nullable)
{
	size_t	need = plen + UUID_TEXT_LEN + 2;
	char	*p;

	if (b->cap - b->off - b->len < need && buf_reserve(b, need) == -1)
		return 0;
	buf_append(b, prefix, plen);
	if (s == NULL) {
		PUT(b, "null");
		return nullable ? 0 : -1;
	}
	p = b->data + b->off + b->len;
	p[0] = '"';
	/* Writes its NUL where the closing quote goes. */
	if (uuid_canon_copy(s, p + 1) == -1)
		return -1;
	p[UUID_TEXT_LEN + 1] = '"';
	b->len += UUID_TEXT_LEN + 2;
	return 0;
}

/* request_uuid after a string constant. */
#define REQUEST_UUID(b, lit, s, nullable) \
	request_uuid((b), (lit), sizeof(lit) - 1, (s), (nullable))

int
request_broadcast_interaction(struct buf *b, enum crm_event e,
    const struct request_interaction *it, const char **why)
{
	static const char	party[] = ",{\"contact_uuid\":";
	size_t			mark = buf_len(b), i;

	*why = NULL;
	request_open(b, OP_BROADCAST_INTERACTION);
	if (request_event(b, e) == -1)
		*why = "unknown event";
	else if (REQUEST_UUID(b, ",\"interaction\":{\"uuid\":", it->uuid,
	    0) == -1)
		*why = "interaction uuid is not a UUID";
	else if (REQUEST_UUID(b, ",\"contact_uuid\":", it->contact_uuid,
	    1) == -1)
		*why = "interaction contact_uuid is not a UUID";
	else if (it->parties_loaded && it->n_parties > 0 &&
	    it->party_contact_uuids == NULL)
		*why = "n_parties without party_contact_uuids";
	else if (it->parties_loaded) {
		PUT(b, ",\"parties\":[");
		for (i = 0; i < it->n_parties && *why == NULL; i++) {
			if (request_uuid(b, party + (i == 0),
			    sizeof party - 1 - (i == 0),
			    it->party_contact_uuids[i], 1) == -1)
				*why = "a party contact_uuid is not a UUID";
			buf_putc(b, '}');
		}
		buf_putc(b, ']');
	}
	PUT(b, "}}\n");
	return request_end(b, mark, why);
}

int
request_broadcast_to_contacts(struct buf *b, enum crm_event e,
    const char *interaction_uuid, const char *const *contact_uuids, size_t n,
    const char **why)
{
	size_t	mark = buf_len(b), i;

	*why = NULL;
	request_open(b, OP_BROADCAST_TO_CONTACTS);
	if (request_event(b, e) == -1)
		*why = "unknown event";
	else if (REQUEST_UUID(b, ",\"interaction_uuid\":", interaction_uuid,
	    0) == -1)
		*why = "interaction_uuid is not a UUID";
	else if (n > 0 && contact_uuids == NULL)
		*why = "n without contact_uuids";
	else {
		PUT(b, ",\"contact_uuids\":[");
		for (i = 0; i < n && *why == NULL; i++)
			if (request_uuid(b, ",", i > 0, contact_uuids[i], 1) == -1)
				*why = "a contact uuid is not a UUID";
		buf_putc(b, ']');
	}
	PUT(b, "}\n");
	return request_end(b, mark, why);
}
