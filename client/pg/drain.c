/* SPDX-License-Identifier: MIT — crmpubsub */
/* One round of draining the outbox, in one database transaction:
 *
 *   BEGIN; take the advisory lock; read up to batch + 1 rows in
 *   (txid, interaction, id) order    -- no rows while another bridge holds it
 *   send one broadcast_to_contacts per group, in pieces that keep to
 *   max_contacts and to the limits the daemon's hello announced
 *   every reply ok:  DELETE the rows read; COMMIT
 *   anything else:   ROLLBACK, so the rows stay for the next round
 *
 * Rows are deleted only after the daemon accepted every broadcast made from
 * them: delivery into the daemon is at least once. A round that fails ends
 * in ROLLBACK and the next one waits with back-off; one that fills its batch
 * is followed at once by another. Doorbells that ring during a round are
 * remembered and start the next. */

#include <sys/time.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"
#include "buf.h"
#include "message.h"

/* The advisory lock that lets one bridge drain at a time: "crmp" "ubsb".
 * It is taken in a statement of its own and remembered in a transaction-
 * local setting: the SELECT after it then reads with a snapshot taken once
 * the lock was held, so it cannot see rows another bridge deleted in the
 * round that held the lock before. */
#define DRAIN_READ_SQL \
	"BEGIN; " \
	"SELECT set_config('crmpubsub.draining', " \
	"pg_try_advisory_xact_lock(1668443504, 1969386338)::text, true); " \
	"SELECT id, txid, interaction_uuid, contact_uuid, change " \
	"FROM crmpubsub.outbox " \
	"WHERE current_setting('crmpubsub.draining') = 'true' " \
	"ORDER BY txid, interaction_uuid, id LIMIT "

enum drain_state {
	DRAIN_IDLE,		/* waiting for a kick */
	DRAIN_READING,		/* BEGIN + SELECT sent */
	DRAIN_SENDING,		/* broadcasts sent, replies outstanding */
	DRAIN_COMMITTING,	/* DELETE + COMMIT sent */
	DRAIN_ROLLING_BACK,	/* ROLLBACK sent after a failure */
	DRAIN_WAITING		/* back-off after a failure */
};

static const struct config	*drain_cfg;
static enum drain_state		 drain_state;
static int			 drain_again;	/* kicked during a round */
static uintptr_t		 drain_round;	/* replies of other rounds are void */
static size_t			 drain_outstanding;
static unsigned			 drain_chunk;	/* contacts per broadcast */
static size_t			 drain_max_line; /* bytes per broadcast */
static size_t			 drain_widest;	/* most contacts sent in one */
static struct outbox_row	*drain_rows;
static size_t			 drain_nrows, drain_rows_cap, drain_used;
static int			 drain_more;	/* the round filled its batch */
static size_t			 drain_sent;	/* broadcasts of this round */
static const char		*drain_why;	/* why the round failed */
static char			 drain_why_buf[600];
static struct buf		 drain_sql;
static struct buf		 drain_line;	/* one broadcast */
static struct event		*drain_next_ev;	/* the next round, from the loop */
static struct event		*drain_wait_ev;	/* the back-off after a failure */
static struct retry		 drain_retry = { .what = "outbox" };

static void	drain_read_done(void *, const char *, const char *, void *);
static void	drain_commit_done(void *, const char *, const char *, void *);
static void	drain_rollback_done(void *, const char *, const char *, void *);
static void	drain_fail(const char *why);
static void	drain_release(void);

/* Starts the next round from the event loop, outside any callback. */
static void
drain_next_cb(evutil_socket_t fd, short what, void *arg)
{
	if (drain_state == DRAIN_WAITING)
		drain_state = DRAIN_IDLE;
	drain_kick();
}

void
drain_init(struct event_base *base, const struct config *cfg)
{
	drain_cfg = cfg;
	drain_next_ev = event_new(base, -1, 0, drain_next_cb, NULL);
	drain_wait_ev = evtimer_new(base, drain_next_cb, NULL);
	if (drain_next_ev == NULL || drain_wait_ev == NULL)
		fatalx("out of memory");
}

int
drain_busy(void)
{
	return drain_state != DRAIN_IDLE && drain_state != DRAIN_WAITING;
}

void
drain_link_up(const struct link_limits *lim)
{
	drain_max_line = lim->max_line;
	drain_chunk = drain_cfg->max_contacts < lim->max_contacts ?
	    drain_cfg->max_contacts : lim->max_contacts;
	drain_kick();
}

void
drain_kick(void)
{
	char	limit[32];

	if (drain_state != DRAIN_IDLE) {
		drain_again = 1;
		return;
	}
	if (!db_ready() || !link_ready())
		return;		/* each kicks again when it comes up */
	drain_again = 0;
	drain_round++;
	buf_reset(&drain_sql);
	snprintf(limit, sizeof limit, "%u", drain_cfg->batch + 1);
	buf_puts(&drain_sql, DRAIN_READ_SQL);
	buf_puts(&drain_sql, limit);
	if (buf_putc(&drain_sql, '\0') == -1)
		fatalx("out of memory");
	if (db_query(buf_head(&drain_sql), drain_read_done,
	    (void *)drain_round) == 0)
		drain_state = DRAIN_READING;
}

void
drain_db_lost(void)
{
	/* The open transaction went with the connection: nothing was
	 * deleted, and late replies of this round are ignored. */
	drain_round++;
	drain_outstanding = 0;
	if (drain_state != DRAIN_WAITING)
		drain_state = DRAIN_IDLE;
}

/* Reads one row of the result; -1 when a value is malformed. */
static int
drain_parse_row(void *res, int i, struct outbox_row *r)
{
	const char	*id = db_value(res, i, 0), *tx = db_value(res, i, 1);
	const char	*iu = db_value(res, i, 2), *cu = db_value(res, i, 3);
	const char	*ch = db_value(res, i, 4);
	char		*end;

	if (id == NULL || tx == NULL || iu == NULL || ch == NULL)
		return -1;
	r->id = strtoull(id, &end, 10);
	if (*end != '\0')
		return -1;
	r->txid = strtoull(tx, &end, 10);
	if (*end != '\0' || uuid_canon_parse(iu, strlen(iu), r->interaction))
		return -1;
	r->has_contact = cu != NULL;
	if (cu != NULL && uuid_canon_parse(cu, strlen(cu), r->contact) == -1)
		return -1;
	r->change = ch[0];
	return 0;
}

/* Called with each broadcast's reply (NULL: the link went first). */
static void
drain_reply(const struct message *reply, void *arg)
{
	char	text[MESSAGE_TEXT_MAX];

	if ((uintptr_t)arg != drain_round || drain_state != DRAIN_SENDING)
		return;
	if (reply == NULL) {
		drain_fail(NULL);	/* the link says why, and kicks again */
		return;
	}
	if (!reply->ok) {
		if ((reply->error == PERR_TOO_MANY ||
		    reply->error == PERR_LINE_TOO_LONG) && drain_widest > 1) {
			/* A limit fell since hello (the daemon was reloaded):
			 * the same rows go again at once, in smaller pieces,
			 * until a reconnection announces the limits again. */
			drain_chunk = (unsigned)(drain_widest / 2);
			log_warnx("crmpubsubd refused a broadcast: %s; sending "
			    "at most %u contacts per broadcast",
			    reply->error_name, drain_chunk);
			drain_fail(NULL);
			return;
		}
		snprintf(drain_why_buf, sizeof drain_why_buf,
		    "crmpubsubd refused a broadcast: %s: %s",
		    reply->error_name, log_one_line(reply->text, text,
		    sizeof text));
		drain_fail(drain_why_buf);
		return;
	}
	drain_release();
}

/* One broadcast fewer to wait for; after the last, the rows read go. */
static void
drain_release(void)
{
	if (--drain_outstanding > 0)
		return;
	buf_reset(&drain_sql);
	if (drain_used > 0)
		buf_puts(&drain_sql,
		    "DELETE FROM crmpubsub.outbox WHERE id = ANY('{");
	for (size_t i = 0; i < drain_used; i++) {
		if (i > 0)
			buf_putc(&drain_sql, ',');
		buf_put_uint(&drain_sql, drain_rows[i].id);
	}
	if (drain_used > 0)
		buf_puts(&drain_sql, "}'::bigint[]); ");
	buf_puts(&drain_sql, "COMMIT");
	if (buf_putc(&drain_sql, '\0') == -1)
		fatalx("out of memory");
	if (db_query(buf_head(&drain_sql), drain_commit_done,
	    (void *)drain_round) == 0)
		drain_state = DRAIN_COMMITTING;
}

/* Sends a group's broadcasts, each naming at most drain_chunk contacts in
 * at most drain_max_line bytes; -1 with *why (NULL when the link went: it
 * says why itself). */
static int
drain_send_group(const struct group *g, const char **why)
{
	size_t	i, named;

	for (i = 0; i < g->contacts.n; i += named) {
		buf_reset(&drain_line);
		if (group_broadcast(&drain_line, g, i, drain_chunk,
		    drain_max_line, &named, why) == -1)
			return -1;
		if (link_send(buf_head(&drain_line), buf_len(&drain_line),
		    drain_reply, (void *)drain_round) == -1) {
			*why = link_ready() ? "out of memory" : NULL;
			return -1;
		}
		drain_outstanding++;
		drain_sent++;
		if (named > drain_widest)
			drain_widest = named;
	}
	return 0;
}

static void
drain_read_done(void *res, const char *error, const char *sqlstate,
    void *arg)
{
	struct group	*groups = NULL;
	size_t		 ngroups = 0, i, n;
	const char	*why;

	if ((uintptr_t)arg != drain_round)
		return;
	if (error != NULL) {
		drain_fail(db_explain(error, sqlstate));
		return;
	}
	n = (size_t)db_ntuples(res);
	if (n > drain_rows_cap) {
		free(drain_rows);
		if ((drain_rows = calloc(n, sizeof *drain_rows)) == NULL)
			fatalx("out of memory");
		drain_rows_cap = n;
	}
	for (i = 0; i < n; i++) {
		if (drain_parse_row(res, (int)i, &drain_rows[i]) == -1) {
			drain_fail("crmpubsub.outbox holds a malformed row");
			return;
		}
	}
	drain_nrows = n;
	drain_more = n > drain_cfg->batch;
	if (group_rows(drain_rows, n, drain_more, &groups, &ngroups,
	    &drain_used) == -1)
		fatalx("out of memory");
	drain_state = DRAIN_SENDING;
	drain_outstanding = 1;	/* held until every group is sent */
	drain_sent = 0;
	drain_widest = 0;
	for (i = 0; i < ngroups; i++) {
		if (drain_send_group(&groups[i], &why) == -1) {
			group_free(groups, ngroups);
			drain_fail(why);
			return;
		}
	}
	group_free(groups, ngroups);
	drain_release();	/* the hold: commits now when nothing was sent */
}

static void
drain_commit_done(void *res, const char *error, const char *sqlstate,
    void *arg)
{
	if ((uintptr_t)arg != drain_round)
		return;
	if (error != NULL) {
		drain_fail(db_explain(error, sqlstate));
		return;
	}
	if (retry_succeeded(&drain_retry))
		log_info("outbox: draining again");
	if (drain_nrows > 0)
		log_debug("round: %zu rows, %zu broadcasts%s", drain_used,
		    drain_sent, drain_more ? ", more to read" : "");
	drain_state = DRAIN_IDLE;
	if (drain_more || drain_again)
		event_active(drain_next_ev, 0, 0);
}

/* Ends a round that failed: ROLLBACK, then wait with back-off and say why;
 * with why NULL the next round may start at once (the link went and says
 * so itself, or the round is to be sent again in smaller pieces). */
static void
drain_fail(const char *why)
{
	drain_round++;
	drain_outstanding = 0;
	drain_why = why;
	drain_state = DRAIN_ROLLING_BACK;
	if (db_query("ROLLBACK", drain_rollback_done, (void *)drain_round) == -1)
		drain_state = DRAIN_IDLE;	/* the connection is going */
}

static void
drain_rollback_done(void *res, const char *error, const char *sqlstate,
    void *arg)
{
	struct timeval	wait;

	if ((uintptr_t)arg != drain_round)
		return;
	if (drain_why == NULL) {
		drain_state = DRAIN_IDLE;
		event_active(drain_next_ev, 0, 0);
		return;
	}
	drain_state = DRAIN_WAITING;
	wait = retry_failed(&drain_retry, drain_why);
	evtimer_add(drain_wait_ev, &wait);
}

void
drain_shutdown(void)
{
	if (drain_next_ev != NULL)
		event_free(drain_next_ev);
	if (drain_wait_ev != NULL)
		event_free(drain_wait_ev);
	drain_next_ev = drain_wait_ev = NULL;
	free(drain_rows);
	drain_rows = NULL;
	buf_free(&drain_sql);
	buf_free(&drain_line);
}
