/* SPDX-License-Identifier: MIT — crmpubsub */
/* Counters, and the object the stats op returns. */

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "crmpubsubd.h"

struct stats	stats;

/* Seconds since the daemon started. */
unsigned long long
stats_uptime(void)
{
	time_t	now = time(NULL);

	return now > stats.started ? (unsigned long long)(now - stats.started) : 0;
}

void
stats_count_error(enum proto_error code)
{
	stats.errors++;
	if ((unsigned)code < PERR_COUNT)
		stats.errors_by_code[code]++;
}

/* Resident memory of this process from /proc/self/statm; 0 if unreadable. */
static unsigned long long
stats_rss_bytes(void)
{
	char		 text[128];
	unsigned long	 size, resident;
	ssize_t		 n;
	int		 fd;

	if ((fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = read(fd, text, sizeof text - 1);
	close(fd);
	if (n <= 0)
		return 0;
	text[n] = '\0';
	if (sscanf(text, "%lu %lu", &size, &resident) != 2)
		return 0;
	return (unsigned long long)resident * (unsigned long long)sysconf(_SC_PAGESIZE);
}

/* Bytes of replies and pushes queued to all connections now. */
static unsigned long long
stats_output_bytes(void)
{
	const struct conn	*c;
	unsigned long long	 n = 0;

	TAILQ_FOREACH(c, &conns, entry)
		n += buf_len(&c->out);
	return n;
}

/* Appends "key":value for each row. */
void
stats_rows_write(struct buf *b, const struct stats_row *rows, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		buf_put_key(b, rows[i].key);
		buf_put_uint(b, rows[i].value);
	}
}

/* Writes the stats object: the version, gauges, then totals since start. */
int
stats_write(struct buf *b)
{
	const struct stats_row rows[] = {
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
		{ "max_connections", cfg->max_connections },
		{ "output_bytes", stats_output_bytes() },
		{ "rss_bytes", stats_rss_bytes() },
		{ "start_time", (unsigned long long)stats.started },
	};
	size_t	i;

	buf_puts(b, "{\"version\":");
	buf_put_jstrz(b, CRMPUBSUB_VERSION);
	stats_rows_write(b, rows, sizeof rows / sizeof rows[0]);
	buf_put_key(b, "errors_by_code");
	buf_putc(b, '{');
	for (i = 0; i < PERR_COUNT; i++) {
		buf_put_key(b, proto_error_name((enum proto_error)i));
		buf_put_uint(b, stats.errors_by_code[i]);
	}
	buf_putc(b, '}');
	federate_stats_write(b);
	return buf_putc(b, '}');
}
