/* SPDX-License-Identifier: MIT — crmpubsub */
/* libcrmpubsub internals: the handle and the functions its modules share.
 *
 * Invariants of the request stream (one per connection):
 * - every request line queued is one record in reqs, in the same order as
 *   its bytes in out; records [0, n_written) are fully written and await
 *   their reply; record n_written has `partial` bytes written; the rest are
 *   unwritten. Replies arrive in request order and pop records from the
 *   front.
 * - while disconnected, out and reqs hold only unwritten broadcasts; at
 *   (re)connection hello is put in front of them, and hello's answer (which
 *   gives the daemon's max_line) queues the re-subscription of every held
 *   topic.
 * - gen changes whenever the connection changes (connect or disconnect), so
 *   a waiter that dropped the lock knows its byte offsets are void.
 * - unwritten bytes in out while connected are either refused by the socket
 *   (out_blocked: the flusher waits for POLLOUT) or held by coalescing
 *   (broadcasts appended without a write; the caller that passes
 *   coalesce_bytes, or the flusher at write_due_ns, writes them).
 * The mutex guards everything; it is never held across poll(2). */
#ifndef CRMPUBSUB_CLIENT_H
#define CRMPUBSUB_CLIENT_H

#include <sys/types.h>
#include <sys/un.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crmpubsub.h"
#include "buf.h"
#include "message.h"
#include "op.h"
#include "push.h"
#include "request.h"
#include "topic.h"

#define CL_DEFAULT_BROADCAST_MS		5
#define CL_DEFAULT_REQUEST_MS		2000
#define CL_DEFAULT_CONNECT_MS		1000
#define CL_DEFAULT_RECONNECT_MIN_MS	100
#define CL_DEFAULT_RECONNECT_MAX_MS	5000
#define CL_DEFAULT_QUEUE_BYTES		(1024 * 1024)
#define CL_DEFAULT_MESSAGES		10000
/* Longest topic-list request sent whatever the daemon's max_line: its reply
 * lists the topics again and must stay under CL_MAX_INCOMING_LINE. */
#define CL_MAX_TOPICS_LINE		(256 * 1024)
#define CL_READ_BUDGET			(256 * 1024)	/* bytes read per pump */
#define CL_READ_BUDGET_BROADCAST	(16 * 1024)	/* ... inside a broadcast */
#define CL_MAX_INCOMING_LINE		(1024 * 1024)
#define CL_WAIT_SLICE_MS		10	/* re-check period of a waiter */
#define CL_NTIMEOUTS			5
#define CL_DEFAULT_COALESCE_US		200	/* longest a broadcast is held */
#define CL_DEFAULT_COALESCE_BYTES	(16 * 1024)	/* held bytes that force a write */
#define CL_MAX_COALESCE_US		1000000

/* Someone blocked in subscribe, waiting for a particular reply. */
struct cl_waiter {
	bool	done;
	int	result;		/* 0, CRMPUBSUB_PENDING or -1 */
	int	err;		/* errno when result is -1 */
};

/* One subscribe call: its request lines (as many as max_line requires) and
 * the topics it made held. A refusal of any line undoes all of them, so
 * the call is all or nothing. Freed with its last request record. */
struct cl_subgroup {
	struct cl_waiter	*waiter;	/* the caller, while it waits */
	struct topic_key	*added;		/* topics this call made held */
	size_t			 nadded;
	size_t			 unanswered;	/* its records still queued */
	bool			 failed;	/* refused: undone already */
	uint8_t			 resync;	/* RESYNC reason once all are ok */
};

enum cl_req_kind {
	CL_REQ_HELLO,
	CL_REQ_SUBSCRIBE,
	CL_REQ_RESUBSCRIBE,
	CL_REQ_UNSUBSCRIBE,
	CL_REQ_BROADCAST
};

/* One request line queued or awaiting its reply. */
struct cl_req {
	uint8_t			 kind;		/* enum cl_req_kind */
	uint8_t			 resync;	/* RESYNC reason to queue on reply, 0 none */
	uint32_t		 len;		/* bytes of the line, newline included */
	struct cl_subgroup	*group;		/* subscribe: the call it belongs to */
};

/* A FIFO of fixed-size records (ring.c). */
struct cl_ring {
	unsigned char	*v;
	size_t		 head, n, cap;
	size_t		 size;		/* bytes per record */
};

#define CL_RING_INIT(type)	{ NULL, 0, 0, 0, sizeof(type) }

struct crmpubsub {
	pthread_mutex_t		 lock;

	/* the flusher thread: started the first time a call returns with
	 * output still queued, it writes that output (reconnecting if need
	 * be) without waiting for the application's next call */
	pthread_cond_t		 flusher_cond;	/* output queued, or closing */
	pthread_t		 flusher;
	bool			 flusher_started;
	/* what the flusher is waiting for: -1 not on flusher_cond, 0 output
	 * (untimed), else the monotonic time (ns) it wakes up by itself */
	int64_t			 flusher_wait_until;
	bool			 closing;
	int			 wakefd;	/* eventfd: interrupts its poll */
	pid_t			 owner;		/* the process that made the handle */

	/* options */
	char			*socket_opt;	/* explicit path, or NULL */
	char			*name;		/* hello name, or NULL */
	int			 timeout_ms[CL_NTIMEOUTS];
	size_t			 max_queue;
	size_t			 max_messages;
	int64_t			 coalesce_ns;	/* 0: every broadcast writes */
	size_t			 coalesce_bytes;
	crmpubsub_log_fn	*log_fn;
	void			*log_arg;
	int			 stderr_level;	/* $CRMPUBSUB_LOG logger's level */

	/* descriptors: epfd watches sock, the reconnect timer and evfd */
	int			 epfd;
	int			 tfd;		/* timerfd: next reconnect attempt */
	int			 evfd;		/* eventfd: readable while msgs not empty */
	int			 sock;		/* -1 while disconnected */
	uint32_t		 sock_events;	/* epoll mask registered for sock */
	unsigned		 gen;
	bool			 established;	/* hello answered */
	long long		 client_id;
	size_t			 max_line;	/* the daemon's, from hello */
	char			 path[sizeof(((struct sockaddr_un *)0)->sun_path)];

	/* reconnection */
	int64_t			 next_attempt_ns;	/* monotonic */
	int			 backoff_ms;
	bool			 timer_armed;
	/* a failure episode: from a loss or a first failed attempt to the
	 * next hello answered (log.c) */
	bool			 in_episode;
	bool			 failure_reported;	/* its first failure */
	bool			 failure_saved;	/* ... kept for a later callback */
	unsigned long		 episode_failures;
	int64_t			 episode_start_ns;
	char			 failure_text[256];

	/* output */
	struct buf		 out;
	struct cl_ring		 reqs;		/* struct cl_req */
	size_t			 n_written;
	size_t			 partial;
	uint64_t		 out_appended;	/* bytes ever appended, this gen */
	uint64_t		 out_removed;	/* bytes ever written, this gen */
	bool			 queue_full;	/* dropping broadcasts: log once */
	bool			 out_blocked;	/* the socket refused the rest of out */
	int64_t			 write_due_ns;	/* held output must be written by then */

	/* input */
	struct buf		 in;

	/* topics held, sorted by memcmp */
	struct topic_key	*held;
	size_t			 nheld, held_cap;

	/* messages not yet handed out */
	struct cl_ring		 msgs;		/* struct crmpubsub_message */
	bool			 ev_signalled;
	bool			 overflowed;
	unsigned long long	 overflow_dropped;

	struct crmpubsub_stats	 st;
	unsigned long long	 flush_failures;
};

/* handle.c */
int64_t	 cl_now_ns(void);
/* A broadcast ended badly (rejected, dropped, lost, failed): flush sees it. */
void	 cl_broadcast_failed(crmpubsub *);

/* log.c */
void	 cl_log(crmpubsub *, enum crmpubsub_log_level, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* Installs the $CRMPUBSUB_LOG logger on a new handle, if asked for. */
void	 cl_log_init(crmpubsub *);
/* A connection attempt failed (or a connection broke before hello). */
void	 cl_log_connect_failed(crmpubsub *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* An established connection was lost: an episode starts. */
void	 cl_log_connection_lost(crmpubsub *, const char *why);
/* hello answered: the episode, if any, ends. */
void	 cl_log_connected(crmpubsub *);

/* ring.c */
int	 cl_ring_push(struct cl_ring *, const void *rec);
void	*cl_ring_at(const struct cl_ring *, size_t i);
void	 cl_ring_pop(struct cl_ring *);
void	 cl_ring_free(struct cl_ring *);

/* reqq.c */
/* The i-th request record from the front. */
static inline struct cl_req *
cl_reqq_at(struct cl_ring *q, size_t i)
{
	return cl_ring_at(q, i);
}
void	 cl_req_release(struct cl_req *);
/* Queues one request line (with its newline) and its record. -1 ENOMEM. */
int	 cl_queue_request(crmpubsub *, const struct buf *line,
	    const struct cl_req *);
/* cl_queue_request for len bytes at line. */
int	 cl_queue_bytes(crmpubsub *, const char *line, size_t len,
	    const struct cl_req *);
/* Accounts n bytes written from the front of out. */
void	 cl_out_written(crmpubsub *, size_t n);
/* After a disconnect: settles written requests, keeps unwritten broadcasts. */
void	 cl_out_disconnected(crmpubsub *);
/* After a connect: puts hello in front of the queue. */
int	 cl_out_connected(crmpubsub *);

/* conn.c */
/* Makes every bit of progress possible without blocking. */
void	 cl_pump(crmpubsub *, int64_t now);
/* cl_pump reading at most budget bytes (broadcasts keep their time bound). */
void	 cl_pump_budget(crmpubsub *, int64_t now, size_t budget);
/* Tries to connect now (ignoring back-off). 0, or -1 with errno. */
int	 cl_try_connect(crmpubsub *, int64_t now);
void	 cl_disconnect(crmpubsub *, const char *why);
/* Drops the lock and waits until sock or the timer may need attention,
 * at most until deadline (ns, -1 none) and at most one slice. */
void	 cl_wait_io(crmpubsub *, int64_t deadline, bool want_write);
/* Writes what the socket takes now (sets or clears out_blocked). */
void	 cl_write_some(crmpubsub *);

/* flusher.c */
/* After a call that leaves output queued: make sure it gets written. */
void	 cl_flusher_kick(crmpubsub *);
/* Stops the flusher (called unlocked, by close). */
void	 cl_flusher_stop(crmpubsub *);

/* replies.c */
/* Handles one line received from the daemon. 0, or -1: protocol error. */
int	 cl_handle_line(crmpubsub *, const char *line, size_t len);
/* Settles a record that will never get a reply (connection lost). */
void	 cl_req_abandon(crmpubsub *, struct cl_req *, bool written);

/* msgq.c */
void	 cl_msg_push(crmpubsub *, const struct crmpubsub_message *);
void	 cl_msg_resync(crmpubsub *, enum crmpubsub_resync_reason,
	    unsigned long long dropped);
/* 1 with *out filled, 0 when empty. */
int	 cl_msg_pop(crmpubsub *, struct crmpubsub_message *out);

/* held.c */
bool	 cl_held_has(const crmpubsub *, const struct topic_key *);
int	 cl_held_add(crmpubsub *, const struct topic_key *);	/* 1 new, 0, -1 */
void	 cl_held_remove(crmpubsub *, const struct topic_key *);
/* Queues the requests of op for keys[0..n), split to fit max_line; each
 * record is a copy of *tmpl, *nrec says how many were queued. 0, or -1
 * when out of memory stopped it early. */
int	 cl_queue_topics(crmpubsub *, enum proto_op,
	    const struct topic_key *keys, size_t n, const struct cl_req *tmpl,
	    size_t *nrec);

/* subscribe.c */
/* After hello: subscribes again to every held topic. */
void	 cl_resubscribe(crmpubsub *);
/* A reply to one of a subscribe call's requests. */
void	 cl_subgroup_answered(crmpubsub *, struct cl_subgroup *,
	    const struct message *reply);
/* A subscribe call's request will never be answered (connection lost). */
void	 cl_subgroup_abandoned(struct cl_subgroup *);
/* Drops a record's reference to its call (the last one frees it). */
void	 cl_subgroup_release(struct cl_subgroup *);

/* names.c */
/* The public reason of a daemon's resync (enum resync_reason, or -1 for
 * one this library does not know: it counts as lagged). */
enum crmpubsub_resync_reason cl_resync_reason(int daemon_reason);

#endif
