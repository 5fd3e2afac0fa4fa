/* SPDX-License-Identifier: MIT — crmpubsub */
/* Socket path resolution, the same for the daemon, the library and the CLI
 * (client/crmpubsub-cli repeats it in sh; docs/protocol.md states it). */

#include <sys/stat.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sockpath.h"

#define SOCKPATH_SYSTEM		SOCKPATH_SYSTEM_DIR "/" SOCKPATH_NAME
#define SOCKPATH_CANDIDATES	3

/* One default candidate and where it came from; len is the length of its
 * path, even when that did not fit (path is then empty). */
struct candidate {
	char		 path[PATH_MAX];
	size_t		 len;
	const char	*origin;
};

/* Copies path (of length len) into out; -1 with a cause naming the limit
 * when it does not fit (thread-local text: the library resolves on its own
 * thread). */
static int
sockpath_set(char *out, size_t outlen, const char *path, size_t len,
    const char **cause)
{
	static _Thread_local char	why[96];

	/* A candidate longer than PATH_MAX comes with an empty path. */
	if (len > 0 && path[0] == '\0' && outlen > PATH_MAX)
		outlen = PATH_MAX;
	if (len >= outlen) {
		snprintf(why, sizeof why, "socket path too long (%zu bytes, "
		    "at most %zu)", len, outlen - 1);
		*cause = why;
		return -1;
	}
	memcpy(out, path, len + 1);
	return 0;
}

/* The default candidates, in order; their number. An $XDG_RUNTIME_DIR that
 * is unset, empty or relative gives none. */
static size_t
sockpath_candidates(struct candidate cand[SOCKPATH_CANDIDATES])
{
	const char	*xdg = getenv("XDG_RUNTIME_DIR");
	size_t		 n = 0;
	int		 len;

	cand[n].len = strlen(SOCKPATH_SYSTEM);
	memcpy(cand[n].path, SOCKPATH_SYSTEM, cand[n].len + 1);
	cand[n++].origin = "the system default";
	if (xdg != NULL && *xdg == '/') {
		cand[n].len = strlen(xdg) + strlen("/" SOCKPATH_NAME);
		if (cand[n].len < sizeof cand[n].path)
			snprintf(cand[n].path, sizeof cand[n].path,
			    "%s/" SOCKPATH_NAME, xdg);
		else
			cand[n].path[0] = '\0';
		cand[n++].origin = "$XDG_RUNTIME_DIR";
	}
	len = snprintf(cand[n].path, sizeof cand[n].path,
	    "/tmp/crmpubsub-%u/" SOCKPATH_NAME, (unsigned)getuid());
	cand[n].len = (size_t)len;
	cand[n++].origin = "the per-user default";
	return n;
}

/* Whether this process may create the system socket: /run/crmpubsub is a
 * directory it can write to. */
static int
sockpath_system_writable(void)
{
	struct stat	st;

	return stat(SOCKPATH_SYSTEM_DIR, &st) == 0 && S_ISDIR(st.st_mode) &&
	    faccessat(AT_FDCWD, SOCKPATH_SYSTEM_DIR, W_OK | X_OK,
	    AT_EACCESS) == 0;
}

/* Whether path is a socket this process may connect to: connect(2) needs
 * write permission on the file and search permission on its directories,
 * which is what faccessat checks, without opening a connection. */
static int
sockpath_reachable(const char *path)
{
	struct stat	st;

	return path[0] != '\0' && stat(path, &st) == 0 &&
	    S_ISSOCK(st.st_mode) &&
	    faccessat(AT_FDCWD, path, W_OK, AT_EACCESS) == 0;
}

int
sockpath_resolve_origin(const char *explicit_path, enum sockpath_role role,
    char *out, size_t outlen, const char **cause, const char **origin)
{
	struct candidate	 cand[SOCKPATH_CANDIDATES];
	const char		*env, *unused;
	size_t			 n, i;

	if (origin == NULL)
		origin = &unused;
	if (explicit_path != NULL && *explicit_path != '\0') {
		*origin = "-s or the socket setting";
		return sockpath_set(out, outlen, explicit_path,
		    strlen(explicit_path), cause);
	}
	env = getenv("CRMPUBSUB_SOCKET");
	if (env != NULL && *env != '\0') {
		*origin = "$CRMPUBSUB_SOCKET";
		return sockpath_set(out, outlen, env, strlen(env), cause);
	}
	n = sockpath_candidates(cand);
	if (role == SOCKPATH_CLIENT) {
		for (i = 0; i < n; i++) {
			if (sockpath_reachable(cand[i].path)) {
				*origin = cand[i].origin;
				return sockpath_set(out, outlen, cand[i].path,
				    cand[i].len, cause);
			}
		}
	}
	/* The daemon's pick, and a client's when no daemon is reachable yet:
	 * where this user's own daemon listens. */
	i = sockpath_system_writable() ? 0 : 1;
	*origin = cand[i].origin;
	return sockpath_set(out, outlen, cand[i].path, cand[i].len, cause);
}

int
sockpath_resolve(const char *explicit_path, enum sockpath_role role,
    char *out, size_t outlen, const char **cause)
{
	return sockpath_resolve_origin(explicit_path, role, out, outlen, cause,
	    NULL);
}
