/* SPDX-License-Identifier: MIT — crmpubsub */
/* Test harness: starts the real crmpubsubd on a private socket and speaks to
 * it over real Unix sockets. Every wait is bounded. */
#ifndef CRMPUBSUB_HARNESS_H
#define CRMPUBSUB_HARNESS_H

#include <stddef.h>
#include <sys/types.h>
#include <check.h>
#include <jansson.h>

#include "buf.h"
#include "event.h"

#define H_TIMEOUT_MS	5000	/* default bound for any single wait */

struct h_daemon {
	pid_t	pid;
	char	dir[256];	/* private temp directory, removed by h_daemon_stop */
	char	sock[320];	/* <dir>/crmpubsub.sock */
	char	log[320];	/* <dir>/stderr.log: the daemon's stderr */
	char	config[320];	/* <dir>/crmpubsubd.conf (written by h_write_config) */
};

/* Path of the daemon binary: $CRMPUBSUBD, else "<$CRMPUBSUB_BUILD or .>/daemon/crmpubsubd". */
const char	*h_daemon_bin(void);
/* Makes d->dir; starts the daemon with "-s d->sock" plus args (NULL-terminated,
 * may be NULL); waits (bounded) until the socket accepts. 0 or -1. */
int		 h_daemon_start(struct h_daemon *d, const char *const *args);
/* Like h_daemon_start but does not add "-s": for custom socket tests. dir is
 * created; d->sock is still set to <dir>/crmpubsub.sock. Does not wait. */
int		 h_daemon_spawn(struct h_daemon *d, const char *const *argv_tail,
		     char *const *envp_extra);
/* Starts a daemon on an existing socket path (a restart: the previous
 * daemon there has exited) with "-s sock" plus args (NULL-terminated, may
 * be NULL); d gets its own temp dir and log; waits (bounded) until it
 * accepts. 0 or -1. */
int		 h_daemon_start_on(struct h_daemon *d, const char *sock,
		     const char *const *args);
/* Teardown of a restart test: h_daemon_stop_clean of second, then of
 * first, whose directory may hold second's socket, and zeroes both. Either
 * may be unstarted or gone. */
void		 h_daemon_pair_stop(struct h_daemon *first,
		     struct h_daemon *second);
/* Waits until the daemon's socket accepts, at most timeout_ms. 0 or -1. */
int		 h_daemon_wait_ready(struct h_daemon *d, int timeout_ms);
/* Sends sig and waits (bounded) for exit; returns the wait status, or -1 on
 * timeout (then SIGKILLs). Removes the temp dir. */
int		 h_daemon_stop(struct h_daemon *d, int sig, int timeout_ms);
/* Waits for the process to exit by itself; wait status or -1 on timeout. */
int		 h_daemon_wait_exit(struct h_daemon *d, int timeout_ms);
/* Writes text to d->config. */
int		 h_write_config(struct h_daemon *d, const char *text);
/* RSS of a process in KiB from /proc, or -1. */
long		 h_rss_kib(pid_t pid);
/* Number of open fds of a process, or -1. */
int		 h_fd_count(pid_t pid);

/* One client connection with its own read buffer. */
struct h_conn {
	int	fd;
	size_t	len;
	char	buf[1 << 17];
};

/* Connects (bounded); returns a heap h_conn or NULL. */
struct h_conn	*h_connect(const char *sock);
void		 h_close(struct h_conn *);
/* Writes all bytes (bounded by H_TIMEOUT_MS); 0 or -1. */
int		 h_send(struct h_conn *, const void *data, size_t len);
/* h_send of line plus "\n". */
int		 h_send_line(struct h_conn *, const char *line);
/* Next line without its "\n", NUL-terminated in out; returns its length,
 * -1 on timeout, -2 on EOF/error. */
long		 h_recv_line(struct h_conn *, char *out, size_t cap, int timeout_ms);
/* Next line of any length without its "\n", NUL-terminated in a malloc'd
 * *out the caller frees; returns its length, -1 on timeout, -2 on EOF. */
long		 h_recv_long_line(struct h_conn *, char **out, int timeout_ms);
/* Next reply of any length, skipping pushes (NULL on timeout/EOF/bad JSON). */
json_t		*h_recv_long_reply(struct h_conn *, int timeout_ms);
/* Next line parsed as JSON (NULL on timeout/EOF/bad JSON). */
json_t		*h_recv_json(struct h_conn *, int timeout_ms);
/* Next line that is a reply (has "ok"), skipping and discarding pushes. */
json_t		*h_recv_reply(struct h_conn *, int timeout_ms);
/* Next line that is a push (has "type"); replies in between are an error
 * (returns NULL). */
json_t		*h_recv_push(struct h_conn *, int timeout_ms);
/* Sends a request line and returns its reply (h_recv_reply). */
json_t		*h_request(struct h_conn *, const char *line);
/* printf-style h_request. */
json_t		*h_requestf(struct h_conn *, const char *fmt, ...)
		     __attribute__((format(printf, 2, 3)));
/* 1 if nothing arrives within ms (no line, no EOF), else 0. */
int		 h_silent(struct h_conn *, int ms);
/* 1 if the peer closed (EOF) within timeout_ms, else 0. Discards data read. */
int		 h_wait_eof(struct h_conn *, int timeout_ms);

/* Reply helpers: 1 when reply is ok:true / ok:false with that error code. */
int		 h_is_ok(const json_t *reply);
int		 h_is_error(const json_t *reply, const char *code);
/* Integer field or -1 when absent. */
long long	 h_int(const json_t *obj, const char *key);
/* String field or NULL. */
const char	*h_str(const json_t *obj, const char *key);

/* Deterministic test UUIDs: "0190a5b2-7c1e-7a01-8f00-<12 hex of n>". */
void		 h_uuid(unsigned long n, char out[37]);
/* The topic of h_uuid(n). */
void		 h_topic(unsigned long n, char out[80]);

/* Monotonic clock in milliseconds. */
long long	 h_now_ms(void);
/* The same clock with the fraction of a millisecond, for timing. */
double		 h_now_msf(void);
/* Pause of ms between two probes of a bounded poll (never a
 * synchronisation). */
void		 h_nap_ms(int ms);
/* Compact text of a JSON value for failure messages; "(no reply)" for NULL.
 * The string is leaked on purpose (it only ever feeds a message). */
const char	*h_dump(const json_t *j);
/* Copies the daemon's stderr log to ours (a failure's context). */
void		 h_show_log(const struct h_daemon *d);
/* The whole file at path, NUL-terminated, in memory the caller frees;
 * NULL when it cannot be read. */
char		*h_read_file(const char *path);
/* Whether the daemon's log holds needle now. */
int		 h_log_contains(const struct h_daemon *d, const char *needle);
/* Waits (bounded) until the daemon's log holds needle: 1, or 0. */
int		 h_wait_log(const struct h_daemon *d, const char *needle,
		     int timeout_ms);

/*
 * Asserting helpers for check suites (they fail the current test through
 * check's ck_assert_msg).
 */
/* h_daemon_start, asserted: "daemon <bin> did not become ready". */
void		 h_daemon_start_or_fail(struct h_daemon *d,
		     const char *const *args);
/* Teardown: SIGTERM, waits up to 3 * H_TIMEOUT_MS and asserts exit status 0
 * (no crash, no sanitizer report at exit); prints the daemon's log when the
 * exit is not clean. Always reaps and removes the temp dir. A daemon not
 * running (never started, or already stopped) only loses its dir. */
void		 h_daemon_stop_clean(struct h_daemon *d);
/* Asserts that status (from h_daemon_wait_exit or h_daemon_stop) is a
 * clean exit 0; else shows d's log and fails. */
void		 h_assert_clean_exit(const struct h_daemon *d, int status);
/* h_connect, asserted. */
struct h_conn	*h_connect_or_fail(const char *sock);

/* The daemon of the current test, for suites that start one per test. */
extern struct h_daemon	h_test_daemon;
/* h_daemon_start_or_fail of h_test_daemon with extra args (NULL-terminated
 * or NULL). */
void		 h_test_up(const char *const *args);
/* h_daemon_stop_clean of h_test_daemon: a checked-fixture teardown. */
void		 h_test_down(void);
/* A new connection to h_test_daemon, asserted. */
struct h_conn	*h_test_conn(void);

/* Runs a suite (CK_NORMAL) and frees it: a main's exit status. */
int		 h_run_suite(Suite *s);

/* Receives one line (bounded) and asserts it equals want byte for byte. */
void		 h_expect_line(struct h_conn *c, const char *want);

/* Sends a formatted request and asserts an ok reply (the failure shows it);
 * returns its integer field key, or -1 (key NULL or absent). */
long long	 h_expect_okf(struct h_conn *, const char *key, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));
/* Sends a formatted request and asserts the error reply code. */
void		 h_expect_errorf(struct h_conn *, const char *code, const char *fmt,
		    ...) __attribute__((format(printf, 3, 4)));

/* Valid requests written as the library writes them (proto/request.c),
 * for the contacts h_uuid(first) … h_uuid(first + n - 1); each appends one
 * line, newline included, to b. */
/* subscribe to the contacts' topics, in one line. */
void		 h_put_subscribe(struct buf *b, unsigned long first,
		     unsigned long n);
/* broadcast_to_contacts of interaction h_uuid(iuuid) to the contacts. */
void		 h_put_broadcast(struct buf *b, enum crm_event, unsigned long iuuid,
		     unsigned long first, unsigned long n);
/* h_put_subscribe sent; its reply (NULL on timeout). */
json_t		*h_subscribe_range(struct h_conn *, unsigned long first,
		     unsigned long n);
/* h_put_broadcast of interaction_created sent; its reply. */
json_t		*h_broadcast_range(struct h_conn *, unsigned long iuuid,
		     unsigned long first, unsigned long n);

/* One counter of the stats op; -1 when the request fails or key is absent. */
long long	 h_stat(struct h_conn *c, const char *key);
/* h_stat, asserted present (>= 0); the failure shows the stats reply. */
long long	 h_stat_or_fail(struct h_conn *c, const char *key);
/* Calls done(arg) every nap_ms until it returns non-zero; 1 when that
 * happens within timeout_ms, else 0. */
int		 h_wait_until(int (*done)(void *), void *arg, int timeout_ms,
		     int nap_ms);
/* Polls h_stat every 10 ms until key equals want; 1 when reached within
 * timeout_ms, else 0. */
int		 h_wait_stat(struct h_conn *c, const char *key, long long want,
		     int timeout_ms);
/* Polls h_fd_count(pid) every 10 ms until it equals want; 1 or 0. */
int		 h_wait_fds(pid_t pid, int want, int timeout_ms);

/* A private scratch directory /tmp/crmpubsub-<tag>.XXXXXX (for files that
 * must exist before a daemon starts), asserted; dir receives its path. */
void		 h_scratch_make(char *dir, size_t cap, const char *tag);
/* rm -rf of a scratch directory, asserted. */
void		 h_scratch_remove(const char *dir);
/* Waits for a child process to exit; its wait status, or -1 after SIGKILL
 * (and reaping) on timeout. */
int		 h_wait_child(pid_t pid, int timeout_ms);
/* Connects to the Unix socket path (closing again at once), pausing pause_us
 * between tries, until one succeeds: 1, or 0 after timeout_ms. Unlike
 * h_daemon_wait_ready it needs no h_daemon (socket activation, a daemon
 * spawned with its own -s). */
int		 h_wait_listening(const char *path, int timeout_ms, int pause_us);
/* A datagram socket bound at path ("@name": abstract), for a daemon's
 * NOTIFY_SOCKET, asserted; the fd. */
int		 h_notify_bind(const char *path);
/* 1 when a datagram on fd carries the line what (e.g. "READY=1") within
 * timeout_ms, else 0. */
int		 h_notify_wait(int fd, const char *what, int timeout_ms);

#endif
