/* SPDX-License-Identifier: MIT — crmpubsub */
/* Socket path resolution, identical for daemon, library and CLI (the rule is
 * docs/protocol.md, "Connecting"): an explicit path, else $CRMPUBSUB_SOCKET,
 * else the first of the default candidates
 *   /run/crmpubsub/crmpubsub.sock, $XDG_RUNTIME_DIR/crmpubsub.sock,
 *   /tmp/crmpubsub-<uid>/crmpubsub.sock
 * that fits the role: the daemon takes the first it can create (the system
 * one only when /run/crmpubsub is writable), a client the first holding a
 * socket it may connect to, else the one its own daemon would take. */
#ifndef CRMPUBSUB_SOCKPATH_H
#define CRMPUBSUB_SOCKPATH_H

#include <stddef.h>

#define SOCKPATH_SYSTEM_DIR	"/run/crmpubsub"
#define SOCKPATH_NAME		"crmpubsub.sock"

enum sockpath_role { SOCKPATH_DAEMON, SOCKPATH_CLIENT };

/* Fills out (size outlen); 0, or -1 with *cause set (static text). */
int	sockpath_resolve(const char *explicit_path, enum sockpath_role,
	    char *out, size_t outlen, const char **cause);
/* sockpath_resolve that also names where the path came from, for messages
 * (*origin: "-s or the socket setting", "$CRMPUBSUB_SOCKET", "the system
 * default", "$XDG_RUNTIME_DIR" or "the per-user default"). */
int	sockpath_resolve_origin(const char *explicit_path, enum sockpath_role,
	    char *out, size_t outlen, const char **cause, const char **origin);

#endif
