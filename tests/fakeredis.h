/* SPDX-License-Identifier: MIT — crmpubsub */
/* A fake Redis for the federation suite: a thread serving a Unix socket with
 * just enough RESP2 for the daemon's link (PING, AUTH, SUBSCRIBE,
 * UNSUBSCRIBE, PUBLISH), plus whatever bytes a test injects — frames a real
 * Redis never sends, to show what the daemon does with them. */
#ifndef CRMPUBSUB_FAKEREDIS_H
#define CRMPUBSUB_FAKEREDIS_H

#include <stddef.h>

/* Which of a daemon's two connections: the one that subscribed channels,
 * or the one that published. */
enum fr_link { FR_SUB, FR_PUB };

struct fake_redis;

/* Listens on path and serves it from a new thread; NULL on failure. */
struct fake_redis	*fr_start(const char *path);
/* Stops the thread, closes every connection and unlinks the socket. */
void			 fr_stop(struct fake_redis *);
/* Writes bytes on the newest live connection of that kind, waiting for one
 * to exist (bounded by timeout_ms); 0, or -1 when none appeared. */
int			 fr_inject(struct fake_redis *, enum fr_link,
			     const void *bytes, size_t len, int timeout_ms);
/* Connections accepted so far. */
unsigned		 fr_accepted(struct fake_redis *);

#endif
