/* SPDX-License-Identifier: MIT — crmpubsub */
/* Socket path resolution, the same for the daemon, the library and the CLI. */

#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sockpath.h"

/* Copies path into out; -1 with cause when it does not fit. */
static int
sockpath_set(char *out, size_t outlen, const char *path, const char **cause)
{
	if (strlen(path) >= outlen) {
		*cause = "socket path too long";
		return -1;
	}
	strcpy(out, path);
	return 0;
}

/* Whether the system directory is the one to use for this role. */
static int
sockpath_system_usable(enum sockpath_role role)
{
	struct stat	 st;

	if (role == SOCKPATH_DAEMON)
		return stat(SOCKPATH_SYSTEM_DIR, &st) == 0 &&
		    S_ISDIR(st.st_mode) &&
		    access(SOCKPATH_SYSTEM_DIR, W_OK | X_OK) == 0;
	return stat(SOCKPATH_SYSTEM_DIR "/" SOCKPATH_NAME, &st) == 0 &&
	    S_ISSOCK(st.st_mode);
}

int
sockpath_resolve(const char *explicit_path, enum sockpath_role role,
    char *out, size_t outlen, const char **cause)
{
	const char	*env;
	char		 tmp[4096];

	if (explicit_path != NULL && *explicit_path != '\0')
		return sockpath_set(out, outlen, explicit_path, cause);
	env = getenv("CRMPUBSUB_SOCKET");
	if (env != NULL && *env != '\0')
		return sockpath_set(out, outlen, env, cause);
	if (sockpath_system_usable(role))
		return sockpath_set(out, outlen,
		    SOCKPATH_SYSTEM_DIR "/" SOCKPATH_NAME, cause);
	env = getenv("XDG_RUNTIME_DIR");
	if (env != NULL && *env == '/') {
		if ((size_t)snprintf(tmp, sizeof tmp, "%s/" SOCKPATH_NAME, env) >=
		    sizeof tmp) {
			*cause = "socket path too long";
			return -1;
		}
		return sockpath_set(out, outlen, tmp, cause);
	}
	snprintf(tmp, sizeof tmp, "/tmp/crmpubsub-%u/" SOCKPATH_NAME,
	    (unsigned)getuid());
	return sockpath_set(out, outlen, tmp, cause);
}
