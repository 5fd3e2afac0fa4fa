/* SPDX-License-Identifier: MIT — crmpubsub */
/* libcrmpubsub: the C client of crmpubsubd, for processes that publish CRM
 * interaction changes and for processes that follow contact feeds.
 *
 * The API mirrors the CRM's PubSub module one to one:
 *
 *   topic_contact_interactions(uuid)   crmpubsub_topic_contact_interactions
 *   subscribe(topic) / unsubscribe     crmpubsub_subscribe / _unsubscribe
 *   broadcast_interaction(ev, i)       crmpubsub_broadcast_interaction
 *   broadcast_to_contacts(ev, u, cs)   crmpubsub_broadcast_to_contacts
 *   involved_contact_uuids(i)          crmpubsub_involved_contact_uuids
 *
 * Semantics in one paragraph: broadcasts are best effort, exactly like the
 * original. They always return 0, never block longer than the broadcast
 * timeout (default 5 ms), never raise SIGPIPE and never fail because the
 * daemon is absent, restarting, slow or refuses the request; such failures
 * are counted (crmpubsub_stats) and reported through the log callback.
 * Broadcasts are pipelined: a call queues one request line and returns
 * without waiting for the reply; replies are read as they arrive. Lines
 * are coalesced: a call appends its line, and the lines leave in one
 * write once 16 KiB are held or the oldest has waited 200 µs (whether or
 * not the application calls again); crmpubsub_set_coalesce changes both,
 * or turns coalescing off. crmpubsub_flush writes at once and waits
 * (bounded) for every reply.
 * Subscribers never lose pushes silently: when the connection drops, the
 * library reconnects with exponential back-off, subscribes again to every
 * topic the handle holds and then hands the application a RESYNC message
 * (refetch everything you show), as it does for the daemon's own "lagged"
 * resync. The daemon's shutdown push is passed through.
 *
 * Threads: every function may be called from any thread, concurrently, on
 * the same handle (one mutex per handle, never held while waiting), except
 * crmpubsub_close, which must be the last call on a handle. When a call
 * returns with requests still queued (socket full, daemon away), the handle
 * starts one helper thread (all signals blocked) that writes them and
 * reconnects as needed, so queued broadcasts leave even if the application
 * makes no further call, and writes coalesced lines when their delay
 * ends; it ends with crmpubsub_close. Callbacks: the
 * message callback of crmpubsub_dispatch runs without the lock and may call
 * the library; the log callback runs with the handle locked, possibly in
 * that helper thread, and must not call the library with the same handle.
 * A handle must not be used in both the parent and the child of fork(2).
 *
 * Errors: functions that can fail return -1 and set errno. */
#ifndef CRMPUBSUB_H
#define CRMPUBSUB_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define CRMPUBSUB_API	__attribute__((visibility("default")))
#else
#define CRMPUBSUB_API
#endif

/* Length of a UUID in text form, without the NUL. */
#define CRMPUBSUB_UUID_LEN	36
/* Longest topic name, without the NUL. */
#define CRMPUBSUB_TOPIC_MAX	64

/* A connection handle. Opaque. */
typedef struct crmpubsub crmpubsub;

/* The three interaction events (:interaction_created and so on). */
enum crmpubsub_event {
	CRMPUBSUB_INTERACTION_CREATED = 0,
	CRMPUBSUB_INTERACTION_UPDATED = 1,
	CRMPUBSUB_INTERACTION_DELETED = 2
};

/* The parts of an interaction that decide who is told about it.
 * uuid: the interaction's UUID (required).
 * contact_uuid: the subject contact, or NULL when there is none.
 * party_contact_uuids: one entry per party, NULL for a party whose contact
 *   is not resolved (skipped); n_parties entries.
 * parties_not_loaded: true when the parties association was not preloaded
 *   (Ecto's NotLoaded); the parties then count as none. */
struct crmpubsub_interaction {
	const char		*uuid;
	const char		*contact_uuid;
	const char *const	*party_contact_uuids;
	size_t			 n_parties;
	bool			 parties_not_loaded;
};

/* What a subscriber receives. */
enum crmpubsub_message_type {
	CRMPUBSUB_MSG_CRM = 1,		/* {:crm, event, %{interaction_uuid}} */
	CRMPUBSUB_MSG_RESYNC = 2,	/* pushes may have been lost: refetch */
	CRMPUBSUB_MSG_SHUTDOWN = 3	/* the daemon is stopping */
};

/* Why a RESYNC message was handed out. */
enum crmpubsub_resync_reason {
	CRMPUBSUB_RESYNC_LAGGED = 1,	  /* the daemon dropped pushes (slow reader) */
	CRMPUBSUB_RESYNC_RECONNECTED = 2, /* connection lost, restored, topics re-subscribed */
	CRMPUBSUB_RESYNC_OVERFLOW = 3,	  /* the library's message queue was full */
	CRMPUBSUB_RESYNC_SUBSCRIBED = 4,  /* a subscribe that returned PENDING is now live */
	CRMPUBSUB_RESYNC_FEDERATION = 5	  /* the daemon's link to other hosts was restored */
};

/* One message, filled in by crmpubsub_next_message or passed to a dispatch
 * callback. Fields not meaningful for the type are zero / empty strings.
 * The strings are NUL-terminated and lowercase; topic is the canonical
 * "crm:contact:<contact_uuid>:interactions". */
struct crmpubsub_message {
	enum crmpubsub_message_type	 type;
	enum crmpubsub_event		 event;		/* CRM */
	enum crmpubsub_resync_reason	 reason;	/* RESYNC */
	unsigned long long		 dropped;	/* RESYNC: pushes known lost, 0 if unknown */
	char	topic[CRMPUBSUB_TOPIC_MAX + 1];			/* CRM, canonical */
	char	contact_uuid[CRMPUBSUB_UUID_LEN + 1];		/* CRM: the topic's contact */
	char	interaction_uuid[CRMPUBSUB_UUID_LEN + 1];	/* CRM, lowercase */
};

/* Counters since the handle was made. Every broadcast call ends up in
 * exactly one of acked, failed, rejected, dropped, lost or pending:
 * broadcasts = acked + failed + rejected + dropped + lost + pending. */
struct crmpubsub_stats {
	unsigned long long	broadcasts;	/* broadcast calls */
	unsigned long long	acked;		/* accepted by the daemon (ok reply) */
	unsigned long long	failed;		/* refused by the daemon (error reply) */
	unsigned long long	rejected;	/* invalid arguments, never sent */
	unsigned long long	dropped;	/* not sent: queue full or out of memory */
	unsigned long long	lost;		/* connection dropped before the reply */
	unsigned long long	pending;	/* queued or awaiting the reply now */
	unsigned long long	delivered;	/* pushes the daemon queued for acked broadcasts */
	unsigned long long	connects;	/* connections established (hello answered) */
	unsigned long long	connect_failures; /* connection attempts that failed */
	unsigned long long	disconnects;	/* established connections lost */
	unsigned long long	messages;	/* messages handed to the application */
	unsigned long long	messages_dropped; /* pushes dropped: message queue full */
	unsigned long long	resyncs;	/* RESYNC messages handed out, any reason */
	unsigned long long	errors;		/* error replies to any request */
};

/* Timeouts, in milliseconds, set with crmpubsub_set_timeout. */
enum crmpubsub_timeout {
	CRMPUBSUB_TIMEOUT_BROADCAST = 0,  /* longest a broadcast call blocks (5) */
	CRMPUBSUB_TIMEOUT_REQUEST = 1,	  /* subscribe waits for its reply (2000) */
	CRMPUBSUB_TIMEOUT_CONNECT = 2,	  /* crmpubsub_connect waits for hello (1000) */
	CRMPUBSUB_TIMEOUT_RECONNECT_MIN = 3, /* first back-off step (100) */
	CRMPUBSUB_TIMEOUT_RECONNECT_MAX = 4  /* back-off ceiling (5000) */
};

/* Limits, set with crmpubsub_set_limit. */
enum crmpubsub_limit {
	CRMPUBSUB_LIMIT_QUEUE_BYTES = 0,  /* unsent request bytes kept (1 MiB) */
	CRMPUBSUB_LIMIT_MESSAGES = 1	  /* received messages kept unread (10000) */
};

/* Log levels of the log callback. */
enum crmpubsub_log_level {
	CRMPUBSUB_LOG_ERROR = 0,
	CRMPUBSUB_LOG_WARNING = 1,
	CRMPUBSUB_LOG_INFO = 2,
	CRMPUBSUB_LOG_DEBUG = 3
};

/* Receives one log line (no trailing newline). Runs with the handle locked:
 * it must not call the library on the same handle. */
typedef void crmpubsub_log_fn(void *arg, enum crmpubsub_log_level level,
    const char *message);
/* Receives one message from crmpubsub_dispatch; the message is only valid
 * during the call. Runs unlocked: it may call the library. */
typedef void crmpubsub_message_fn(void *arg,
    const struct crmpubsub_message *message);

/* subscribe's "held, not yet confirmed" result (see crmpubsub_subscribe). */
#define CRMPUBSUB_PENDING	1

/* --- handles ------------------------------------------------------------ */

/* A new, unconnected handle with default options; NULL when out of memory
 * or out of file descriptors. */
CRMPUBSUB_API crmpubsub	*crmpubsub_new(void);
/* crmpubsub_new, the two options when not NULL, then crmpubsub_connect. The
 * handle is returned even when the daemon cannot be reached (it keeps
 * reconnecting in the background of later calls); NULL as for
 * crmpubsub_new, or with errno EINVAL (client_name refused, see
 * crmpubsub_set_client_name) or ENAMETOOLONG (socket_path). To see why the
 * first connection failed, set CRMPUBSUB_LOG, install a log callback right
 * after (it receives that failure), or use crmpubsub_new, crmpubsub_set_log
 * and crmpubsub_connect. */
CRMPUBSUB_API crmpubsub	*crmpubsub_open(const char *socket_path,
			    const char *client_name);
/* Connects and waits (CRMPUBSUB_TIMEOUT_CONNECT) for the daemon's answer to
 * hello. 0 when connected; -1 otherwise (errno ECONNREFUSED, ENOENT,
 * ETIMEDOUT, ...), and the handle stays usable and retries with back-off. */
CRMPUBSUB_API int	 crmpubsub_connect(crmpubsub *);
/* Writes what is still queued (bounded by the broadcast timeout, no waiting
 * for replies), closes the connection and frees everything. NULL is a
 * no-op. Must be the last call on the handle. In a child of fork(2) it
 * only frees the child's copy, at once, leaving the parent's connection
 * alone. */
CRMPUBSUB_API void	 crmpubsub_close(crmpubsub *);
/* Whether the handle is connected and the daemon answered hello. */
CRMPUBSUB_API bool	 crmpubsub_is_connected(crmpubsub *);
/* The client_id the daemon gave this connection, or -1. */
CRMPUBSUB_API long long	 crmpubsub_client_id(crmpubsub *);

/* --- options (any time; they apply from the next connection attempt) ---- */

/* The socket path; NULL resolves it as every crmpubsub program does:
 * $CRMPUBSUB_SOCKET, /run/crmpubsub/crmpubsub.sock if that socket exists,
 * $XDG_RUNTIME_DIR/crmpubsub.sock, /tmp/crmpubsub-<uid>/crmpubsub.sock,
 * re-resolved at each connection attempt. 0, or -1 (ENAMETOOLONG). */
CRMPUBSUB_API int	 crmpubsub_set_socket_path(crmpubsub *, const char *path);
/* The name sent with hello (shown by the daemon's clients op): valid UTF-8
 * of at most 128 bytes, as the daemon requires; NULL for none. 0, or -1
 * (EINVAL: too long or not UTF-8, the name is unchanged; ENOMEM). */
CRMPUBSUB_API int	 crmpubsub_set_client_name(crmpubsub *, const char *name);
/* Sets one timeout in milliseconds (>= 0). 0, or -1 (EINVAL). */
CRMPUBSUB_API int	 crmpubsub_set_timeout(crmpubsub *, enum crmpubsub_timeout,
			    int ms);
/* Sets one limit (>= 1). 0, or -1 (EINVAL). */
CRMPUBSUB_API int	 crmpubsub_set_limit(crmpubsub *, enum crmpubsub_limit,
			    size_t value);
/* Broadcast coalescing: a broadcast's line may wait in the handle up to
 * delay_us microseconds (0..1000000; default 200) so that the lines of
 * several calls leave in one write(2); they leave at once when max_bytes
 * (>= 1; default 16384) are waiting, when any other request is sent, when
 * a receiving call or crmpubsub_flush drives the handle, and at close; the
 * flusher thread writes them when the delay ends if no call comes. delay_us
 * 0 writes every broadcast in its own call.
 * Takes effect at once (held lines leave now). 0, or -1 (EINVAL). */
CRMPUBSUB_API int	 crmpubsub_set_coalesce(crmpubsub *, int delay_us,
			    size_t max_bytes);
/* Installs (or with NULL removes) the log callback, replacing the
 * CRMPUBSUB_LOG logger; a connection failure not logged yet is handed to
 * it at once. */
CRMPUBSUB_API void	 crmpubsub_set_log(crmpubsub *, crmpubsub_log_fn *fn,
			    void *arg);

/* --- topics and subscriptions -------------------------------------------- */

/* Writes "crm:contact:<uuid>:interactions" (UUID lowercased) into out.
 * 0, or -1 (EINVAL) when contact_uuid is not a UUID. */
CRMPUBSUB_API int	 crmpubsub_topic_contact_interactions(
			    const char *contact_uuid,
			    char out[CRMPUBSUB_TOPIC_MAX + 1]);
/* Subscribes the handle to a topic and waits (CRMPUBSUB_TIMEOUT_REQUEST) for
 * the daemon's reply. The handle holds the topic from now on and subscribes
 * again after every reconnection.
 * 0: live (the daemon confirmed);
 * CRMPUBSUB_PENDING: held but not confirmed yet (not connected, or no reply
 *   in time); a RESYNC message follows once it is live;
 * -1: not held; errno EINVAL (not a topic), E2BIG (the daemon's
 *   max_subscriptions), EPROTO (other refusal), ENOMEM. */
CRMPUBSUB_API int	 crmpubsub_subscribe(crmpubsub *, const char *topic);
/* crmpubsub_subscribe for n topics, all or nothing: in as many requests
 * as the daemon's max_line requires (announced in its hello reply, 65536
 * when it does not say), and when any is refused every topic this call
 * added is dropped again (topics held before stay). */
CRMPUBSUB_API int	 crmpubsub_subscribe_many(crmpubsub *,
			    const char *const *topics, size_t n);
/* crmpubsub_subscribe to a contact's interaction feed: the topic of
 * crmpubsub_topic_contact_interactions. EINVAL when not a UUID. */
CRMPUBSUB_API int	 crmpubsub_subscribe_contact(crmpubsub *,
			    const char *contact_uuid);
/* Stops following a topic (NULL: every topic). Pipelined: does not wait;
 * no message for the topic is handed out after it returns. 0, or -1
 * (EINVAL: not a topic). Unsubscribing a topic not held is a no-op. */
CRMPUBSUB_API int	 crmpubsub_unsubscribe(crmpubsub *, const char *topic);
/* crmpubsub_unsubscribe from a contact's interaction feed. 0, or -1
 * (EINVAL: not a UUID). */
CRMPUBSUB_API int	 crmpubsub_unsubscribe_contact(crmpubsub *,
			    const char *contact_uuid);
/* Number of topics the handle holds. */
CRMPUBSUB_API size_t	 crmpubsub_subscriptions(crmpubsub *);

/* --- broadcasts (best effort: always 0) --------------------------------- */

/* Tells every involved contact's feed that the interaction changed. */
CRMPUBSUB_API int	 crmpubsub_broadcast_interaction(crmpubsub *,
			    enum crmpubsub_event,
			    const struct crmpubsub_interaction *);
/* Tells the given contacts' feeds (NULL entries skipped, duplicates sent
 * once); callers pass the union of the old and new involved contacts. */
CRMPUBSUB_API int	 crmpubsub_broadcast_to_contacts(crmpubsub *,
			    enum crmpubsub_event, const char *interaction_uuid,
			    const char *const *contact_uuids, size_t n);
/* The involved contacts of an interaction: the subject, then the parties'
 * contacts, NULLs dropped, duplicates (after lowercasing) dropped keeping
 * the first. Writes at most cap lowercase UUIDs into out and returns how
 * many there are (which may exceed cap), or -1 (EINVAL) when a contact UUID
 * given is not a UUID. The interaction's own uuid is not looked at. */
CRMPUBSUB_API long	 crmpubsub_involved_contact_uuids(
			    const struct crmpubsub_interaction *,
			    char (*out)[CRMPUBSUB_UUID_LEN + 1], size_t cap);
/* Waits up to timeout_ms until every request sent or queued so far has been
 * answered. 0 when all were answered and no broadcast failed since the
 * previous flush; -1 otherwise: ETIMEDOUT (replies still missing), EIO
 * (some broadcast since the previous flush was failed, rejected, dropped or
 * lost; see crmpubsub_stats). */
CRMPUBSUB_API int	 crmpubsub_flush(crmpubsub *, int timeout_ms);

/* --- receiving ------------------------------------------------------------ */

/* A descriptor for the caller's poll/epoll/libevent loop, stable for the
 * handle's life (it survives reconnections). Wait for it to be readable
 * (level-triggered), then call crmpubsub_dispatch(…, 0) or
 * crmpubsub_next_message(…, 0) until they return 0. */
CRMPUBSUB_API int	 crmpubsub_fd(crmpubsub *);
/* Takes the next message, waiting at most timeout_ms (0: do not wait, -1:
 * no limit). Drives the connection meanwhile (reads, writes, reconnects).
 * 1 with *msg filled, 0 when none arrived in time, -1 (EINVAL). */
CRMPUBSUB_API int	 crmpubsub_next_message(crmpubsub *,
			    struct crmpubsub_message *msg, int timeout_ms);
/* Waits like crmpubsub_next_message for the first message, then calls fn
 * for it and every message already available. Returns how many were
 * handed out, or -1 (EINVAL). fn NULL discards them. */
CRMPUBSUB_API int	 crmpubsub_dispatch(crmpubsub *, crmpubsub_message_fn *fn,
			    void *arg, int timeout_ms);

/* --- introspection ------------------------------------------------------- */

/* Copies the counters. */
CRMPUBSUB_API void	 crmpubsub_stats(crmpubsub *, struct crmpubsub_stats *out);
/* "interaction_created" etc., or NULL for a value outside the enum. */
CRMPUBSUB_API const char *crmpubsub_event_name(enum crmpubsub_event);
/* Parses an event name ("interaction_created" etc.). 0, or -1 (EINVAL). */
CRMPUBSUB_API int	 crmpubsub_event_parse(const char *name,
			    enum crmpubsub_event *out);
/* "lagged", "reconnected", "overflow", "subscribed", "federation", or NULL
 * for a value outside the enum. */
CRMPUBSUB_API const char *crmpubsub_resync_reason_name(
			    enum crmpubsub_resync_reason);
/* The library version, "1.0.0". */
CRMPUBSUB_API const char *crmpubsub_version(void);

#ifdef __cplusplus
}
#endif

#endif
