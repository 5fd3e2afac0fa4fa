/* SPDX-License-Identifier: MIT — crmpubsub */
/* The Prometheus text exposition (format 0.0.4) of the stats object: one
 * table says which member of `stats` each metric shows. crmpubsub-cli's
 * `metrics` command renders the same table from the same object, and a
 * test compares the two outputs line for line.
 *
 * Conventions of the exporters operators already run: the crmpubsub_
 * prefix on every name (the process metrics too, so that the file
 * crmpubsub-cli writes for node_exporter's textfile collector never
 * collides with node_exporter's own process_* metrics), base units,
 * _total on counters, and no label whose values are unbounded: topics and
 * contacts never appear, only error codes (a fixed list) and the version. */

#include <stdio.h>
#include <string.h>

#include "crmpubsubd.h"

/* How a row takes its value from its member of the stats object. */
enum metric_source {
	MS_NUMBER,	/* the member's number */
	MS_ONE,		/* always 1; no member */
	MS_INFO,	/* 1, labelled with the member's string */
	MS_BY_LABEL,	/* one sample per member of the member's object */
	MS_IS_UP,	/* 1 when the member's string is "up", else 0 */
};

struct metric_def {
	const char		*name;
	const char		*type;		/* "counter" or "gauge" */
	enum metric_source	 source;
	const char		*member;	/* "a" or "federation.a" */
	const char		*label;		/* MS_INFO, MS_BY_LABEL */
	const char		*help;
};

/* Rows under "federation." appear only on a federated daemon (its
 * federation.state is not "off"), so no alert fires for a link that was
 * never configured. */
static const struct metric_def metric_defs[] = {
	{ "crmpubsub_up", "gauge", MS_ONE, NULL, NULL,
	  "1 when the daemon answered the scrape" },
	{ "crmpubsub_build_info", "gauge", MS_INFO, "version", "version",
	  "The daemon's version, as a label; the value is always 1" },
	{ "crmpubsub_process_start_time_seconds", "gauge", MS_NUMBER,
	  "start_time", NULL, "When the daemon started, in seconds since "
	  "the epoch" },
	{ "crmpubsub_process_resident_memory_bytes", "gauge", MS_NUMBER,
	  "rss_bytes", NULL, "Resident memory of the daemon process" },
	{ "crmpubsub_connections", "gauge", MS_NUMBER, "connections", NULL,
	  "Client connections open now" },
	{ "crmpubsub_max_connections", "gauge", MS_NUMBER, "max_connections",
	  NULL, "The max_connections setting in force" },
	{ "crmpubsub_connections_accepted_total", "counter", MS_NUMBER,
	  "connections_total", NULL, "Client connections accepted" },
	{ "crmpubsub_connections_rejected_total", "counter", MS_NUMBER,
	  "connections_rejected", NULL,
	  "Client connections refused at max_connections" },
	{ "crmpubsub_topics", "gauge", MS_NUMBER, "topics", NULL,
	  "Topics with at least one subscriber now" },
	{ "crmpubsub_subscriptions", "gauge", MS_NUMBER, "subscriptions", NULL,
	  "Connection-topic subscriptions now" },
	{ "crmpubsub_requests_total", "counter", MS_NUMBER, "requests", NULL,
	  "Requests handled" },
	{ "crmpubsub_broadcasts_total", "counter", MS_NUMBER, "broadcasts",
	  NULL, "Broadcast requests accepted" },
	{ "crmpubsub_deliveries_total", "counter", MS_NUMBER, "delivered", NULL,
	  "Pushes queued to subscribers" },
	{ "crmpubsub_dropped_total", "counter", MS_NUMBER, "dropped", NULL,
	  "Pushes dropped for slow subscribers" },
	{ "crmpubsub_resyncs_total", "counter", MS_NUMBER, "resyncs", NULL,
	  "Resync pushes sent" },
	{ "crmpubsub_slow_closed_total", "counter", MS_NUMBER, "slow_closed",
	  NULL, "Connections closed by the slow-consumer rules" },
	{ "crmpubsub_errors_total", "counter", MS_BY_LABEL, "errors_by_code",
	  "code", "Error replies sent, by error code" },
	{ "crmpubsub_output_bytes", "gauge", MS_NUMBER, "output_bytes", NULL,
	  "Bytes of replies and pushes queued to connections now" },
	{ "crmpubsub_federation_up", "gauge", MS_IS_UP, "federation.state",
	  NULL, "1 while the link to Redis is up, else 0" },
	{ "crmpubsub_federation_published_total", "counter", MS_NUMBER,
	  "federation.published", NULL, "Broadcasts published to Redis" },
	{ "crmpubsub_federation_received_total", "counter", MS_NUMBER,
	  "federation.received", NULL, "Broadcasts received from other "
	  "daemons" },
	{ "crmpubsub_federation_echoes_total", "counter", MS_NUMBER,
	  "federation.echoes", NULL, "This daemon's own messages heard back "
	  "from Redis" },
	{ "crmpubsub_federation_spoofed_total", "counter", MS_NUMBER,
	  "federation.spoofed", NULL, "Messages claiming this daemon's id "
	  "that it did not send" },
	{ "crmpubsub_federation_dropped_total", "counter", MS_NUMBER,
	  "federation.dropped", NULL, "Broadcasts not published because the "
	  "link was down or full" },
	{ "crmpubsub_federation_reconnects_total", "counter", MS_NUMBER,
	  "federation.reconnects", NULL, "Connections to Redis made after "
	  "the first" },
	{ "crmpubsub_federation_resyncs_total", "counter", MS_NUMBER,
	  "federation.resyncs", NULL, "Times subscribers were told to resync "
	  "after the link came back" },
	{ "crmpubsub_federation_malformed_total", "counter", MS_NUMBER,
	  "federation.malformed", NULL, "Messages from Redis that were not "
	  "valid" },
};
#define NMETRICS	(sizeof metric_defs / sizeof metric_defs[0])

/* The member at path "a" or "a.b" of obj, or NULL. */
static const json_t *
metric_member(const json_t *obj, const char *path)
{
	const char	*dot = strchr(path, '.');
	char		 head[64];

	if (dot == NULL)
		return json_object_get(obj, path);
	if ((size_t)(dot - path) >= sizeof head)
		return NULL;
	memcpy(head, path, (size_t)(dot - path));
	head[dot - path] = '\0';
	return json_object_get(json_object_get(obj, head), dot + 1);
}

/* {label="value"}, with \\, " and newline escaped as the format asks. */
static void
metric_put_label(struct buf *out, const char *label, const char *value)
{
	buf_putc(out, '{');
	buf_puts(out, label);
	buf_puts(out, "=\"");
	for (; *value != '\0'; value++) {
		if (*value == '\\' || *value == '"')
			buf_putc(out, '\\');
		if (*value == '\n')
			buf_puts(out, "\\n");
		else
			buf_putc(out, *value);
	}
	buf_puts(out, "\"}");
}

/* One sample line: name, optional label, value (a JSON number, else the
 * integer n). */
static void
metric_put_sample(struct buf *out, const char *name, const char *label,
    const char *label_value, const json_t *value, long long n)
{
	char	text[32];

	buf_puts(out, name);
	if (label != NULL)
		metric_put_label(out, label, label_value);
	buf_putc(out, ' ');
	if (json_is_real(value)) {
		snprintf(text, sizeof text, "%.17g", json_real_value(value));
		buf_puts(out, text);
	} else
		buf_put_int(out, value != NULL ? json_integer_value(value) : n);
	buf_putc(out, '\n');
}

/* The samples of one row from its member v; 0 when there are none. */
static int
metric_put_samples(struct buf *out, const struct metric_def *m,
    const json_t *v)
{
	const char	*key;
	json_t		*item;
	int		 n = 0;

	switch (m->source) {
	case MS_ONE:
		metric_put_sample(out, m->name, NULL, NULL, NULL, 1);
		return 1;
	case MS_INFO:
		if (!json_is_string(v))
			return 0;
		metric_put_sample(out, m->name, m->label, json_string_value(v),
		    NULL, 1);
		return 1;
	case MS_NUMBER:
		if (!json_is_number(v))
			return 0;
		metric_put_sample(out, m->name, NULL, NULL, v, 0);
		return 1;
	case MS_IS_UP:
		if (!json_is_string(v))
			return 0;
		metric_put_sample(out, m->name, NULL, NULL, NULL,
		    strcmp(json_string_value(v), "up") == 0);
		return 1;
	case MS_BY_LABEL:
		json_object_foreach((json_t *)v, key, item)
			if (json_is_number(item)) {
				metric_put_sample(out, m->name, m->label, key,
				    item, 0);
				n++;
			}
		return n;
	}
	return 0;
}

int
metrics_write(const json_t *obj, struct buf *out)
{
	const json_t	*fed = metric_member(obj, "federation.state");
	int		 federated;
	size_t		 i, j, mark;

	federated = json_is_string(fed) &&
	    strcmp(json_string_value(fed), "off") != 0;
	for (i = 0; i < NMETRICS; i++) {
		const struct metric_def *m = &metric_defs[i];
		const char *head[] = { "# HELP ", m->name, " ", m->help,
		    ".\n# TYPE ", m->name, " ", m->type, "\n" };

		if (!federated && m->member != NULL &&
		    strncmp(m->member, "federation.", 11) == 0)
			continue;
		mark = buf_len(out);
		for (j = 0; j < sizeof head / sizeof head[0]; j++)
			buf_puts(out, head[j]);
		if (metric_put_samples(out, m, m->member != NULL ?
		    metric_member(obj, m->member) : NULL) == 0)
			buf_truncate(out, mark);
	}
	return buf_clear_failed(out) ? -1 : 0;
}
