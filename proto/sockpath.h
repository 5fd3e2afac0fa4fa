/* SPDX-License-Identifier: MIT — crmpubsub */
/* Socket path resolution, identical for daemon, library and CLI:
 * explicit > $CRMPUBSUB_SOCKET > /run/crmpubsub/crmpubsub.sock (daemon: the
 * directory exists and is writable; client: the socket exists there) >
 * $XDG_RUNTIME_DIR/crmpubsub.sock > /tmp/crmpubsub-<uid>/crmpubsub.sock. */
#ifndef CRMPUBSUB_SOCKPATH_H
#define CRMPUBSUB_SOCKPATH_H

#include <stddef.h>

#define SOCKPATH_SYSTEM_DIR	"/run/crmpubsub"
#define SOCKPATH_NAME		"crmpubsub.sock"

enum sockpath_role { SOCKPATH_DAEMON, SOCKPATH_CLIENT };

/* Fills out (size outlen); 0, or -1 with *cause set (static text). */
int	sockpath_resolve(const char *explicit_path, enum sockpath_role,
	    char *out, size_t outlen, const char **cause);

#endif
