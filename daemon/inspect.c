/* SPDX-License-Identifier: MIT — crmpubsub */
/* The read-only ops: stats, and the topics and clients lists.
 *
 * A list reply is bounded by design: at most `limit` entries (a default and
 * a maximum per list keep any reply under about 1 MiB, whatever the names
 * hold), in a fixed order (topics by name, clients by id), starting after
 * the `after` cursor, with "truncated":true when more entries follow. A
 * client pages through a list of any size by passing the last entry it got
 * as `after`; an entry present throughout is listed exactly once, however
 * the registry changes between pages. */

#include <stdlib.h>

#include "crmpubsubd.h"

#define TOPICS_LIMIT_DEFAULT	1000
#define TOPICS_LIMIT_MAX	10000	/* about 100 bytes each */
#define CLIENTS_LIMIT_MAX	1000	/* at most about 900 bytes each */

static struct topic	**page;		/* subs_page's output, reused */
static size_t		  page_cap;

/* Reads "limit": absent gives def, above max gives max; -1 with f set when
 * it is not an integer >= 0. */
static int
get_limit(const json_t *req, size_t def, size_t max, size_t *out,
    struct proto_fail *f)
{
	const json_t	*v = json_object_get(req, "limit");

	*out = def;
	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return proto_failf(f, PERR_BAD_REQUEST,
		    "limit must be an integer >= 0");
	if ((unsigned long long)json_integer_value(v) < max)
		*out = (size_t)json_integer_value(v);
	else
		*out = max;
	return 0;
}

/* Writes ,"truncated":true|false. */
static void
put_truncated(struct buf *b, int more)
{
	buf_put_key(b, "truncated");
	buf_puts(b, more ? "true" : "false");
}

/* stats: the counters. */
int
inspect_stats(struct conn *c, const json_t *req, struct buf *b,
    struct proto_fail *f)
{
	buf_put_key(b, "stats");
	stats_write(b);
	return 0;
}

/* topics: a page of topics with their subscriber counts, by name. */
int
inspect_topics(struct conn *c, const json_t *req, struct buf *b,
    struct proto_fail *f)
{
	const json_t		*after = json_object_get(req, "after");
	struct topic_key	 from;
	char			 name[TOPIC_MAX_LEN + 1];
	size_t			 limit, n, i;
	int			 more;
	void			*p;

	if (get_limit(req, TOPICS_LIMIT_DEFAULT, TOPICS_LIMIT_MAX, &limit,
	    f) == -1)
		return -1;
	if (after != NULL && !json_is_string(after))
		return proto_failf(f, PERR_BAD_REQUEST,
		    "after must be a topic (a string)");
	if (after != NULL && topic_parse(json_string_value(after),
	    json_string_length(after), &from) == -1)
		return proto_failf(f, PERR_BAD_TOPIC,
		    "after is not a valid topic");
	if (limit > page_cap) {
		if ((p = realloc(page, limit * sizeof *page)) == NULL)
			return proto_failf(f, PERR_INTERNAL, "out of memory");
		page = p;
		page_cap = limit;
	}
	n = subs_page(after != NULL ? &from : NULL, limit, page, &more);
	buf_put_key(b, "topics");
	buf_putc(b, '[');
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_putc(b, ',');
		buf_puts(b, "{\"topic\":");
		buf_put_jstr(b, name, topic_format(&page[i]->key, name));
		buf_puts(b, ",\"subscribers\":");
		buf_put_uint(b, page[i]->nsubs);
		buf_putc(b, '}');
	}
	buf_putc(b, ']');
	put_truncated(b, more);
	return 0;
}

/* Writes one entry of the clients list. */
static void
put_client(struct buf *b, const struct conn *c)
{
	buf_puts(b, "{\"id\":");
	buf_put_uint(b, c->id);
	buf_put_key(b, "name");
	if (c->name != NULL)
		buf_put_jstrz(b, c->name);
	else
		buf_puts(b, "null");
	buf_put_key(b, "pid");
	buf_put_int(b, c->pid);
	buf_put_key(b, "uid");
	buf_put_int(b, (long long)c->uid);
	buf_put_key(b, "gid");
	buf_put_int(b, (long long)c->gid);
	buf_put_key(b, "subscriptions");
	buf_put_uint(b, c->nsubs);
	buf_put_key(b, "outbuf");
	buf_put_uint(b, buf_len(&c->out));
	buf_putc(b, '}');
}

/* clients: a page of connections, by id (the connection list is in id
 * order: ids grow, new ones join the tail). */
int
inspect_clients(struct conn *self, const json_t *req, struct buf *b,
    struct proto_fail *f)
{
	const json_t	*after = json_object_get(req, "after");
	struct conn	*c;
	uint64_t	 from = 0;
	size_t		 limit, n = 0;

	if (get_limit(req, CLIENTS_LIMIT_MAX, CLIENTS_LIMIT_MAX, &limit,
	    f) == -1)
		return -1;
	if (after != NULL) {
		if (!json_is_integer(after) || json_integer_value(after) < 0)
			return proto_failf(f, PERR_BAD_REQUEST,
			    "after must be a client id (an integer >= 0)");
		from = (uint64_t)json_integer_value(after);
	}
	buf_put_key(b, "clients");
	buf_putc(b, '[');
	TAILQ_FOREACH(c, &conns, entry) {
		if (c->id <= from)
			continue;
		if (n == limit)
			break;
		if (n++ > 0)
			buf_putc(b, ',');
		put_client(b, c);
	}
	buf_putc(b, ']');
	put_truncated(b, c != NULL);
	return 0;
}
