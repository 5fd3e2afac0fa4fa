/* SPDX-License-Identifier: MIT — crmpubsub */
/* Counters, and the object the stats op returns. */

#include "crmpubsubd.h"

struct stats	stats;

/* Seconds since the daemon started. */
unsigned long long
stats_uptime(void)
{
	time_t	now = time(NULL);

	return now > stats.started ? (unsigned long long)(now - stats.started) : 0;
}

/* Writes the stats object: the version, gauges, then totals since start. */
int
stats_write(struct buf *b)
{
	const struct {
		const char		*key;
		unsigned long long	 value;
	} rows[] = {
		{ "uptime_s", stats_uptime() },
		{ "connections", nconns },
		{ "topics", subs_ntopics() },
		{ "subscriptions", subs_nsubscriptions() },
		{ "broadcasts", stats.broadcasts },
		{ "delivered", stats.delivered },
		{ "dropped", stats.dropped },
		{ "resyncs", stats.resyncs },
		{ "errors", stats.errors },
		{ "requests", stats.requests },
		{ "connections_total", stats.connections_total },
		{ "connections_rejected", stats.connections_rejected },
		{ "slow_closed", stats.slow_closed },
	};
	size_t	i;

	buf_puts(b, "{\"version\":");
	buf_put_jstrz(b, CRMPUBSUB_VERSION);
	for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		buf_put_key(b, rows[i].key);
		buf_put_uint(b, rows[i].value);
	}
	federate_stats_write(b);
	return buf_putc(b, '}');
}
