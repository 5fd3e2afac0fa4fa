/* SPDX-License-Identifier: MIT — crmpubsub */
/* The `redis` address: parsed when the configuration is read (so a bad one
 * stops the daemon with a clear error) and turned into a socket address
 * when the link connects. No Redis library here. */

#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crmpubsubd.h"
#include "federate.h"

/* Frees the strings and zeroes a. */
void
fed_addr_free(struct fed_addr *a)
{
	free(a->path);
	free(a->host);
	free(a->user);
	free(a->password);
	memset(a, 0, sizeof *a);
}

/* Takes the user and password of "[USER][:PASSWORD]@" (p to at). A user
 * without a password takes the password from redis_password. */
static int
fed_addr_credentials(const char *p, const char *at, struct fed_addr *a)
{
	const char	*colon = memchr(p, ':', (size_t)(at - p));

	if (colon == NULL)
		colon = at;
	if (colon > p && (a->user = strndup(p, (size_t)(colon - p))) == NULL)
		return -1;
	if (colon < at && (a->password = strndup(colon + 1,
	    (size_t)(at - colon - 1))) == NULL)
		return -1;
	return 0;
}

/* Parses unix:///PATH or redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]. */
int
fed_addr_parse(const char *s, struct fed_addr *a)
{
	const char	*p, *at, *hs, *he, *end;
	char		*portend;
	long		 port = 6379;

	memset(a, 0, sizeof *a);
	if (strncmp(s, "unix://", 7) == 0) {
		p = s + 7;
		if (*p != '/' || strlen(p) >= sizeof ((struct sockaddr_un *)0)->sun_path)
			return -1;
		return (a->path = strdup(p)) != NULL ? 0 : -1;
	}
	if (strncmp(s, "redis://", 8) != 0)
		return -1;
	p = s + 8;
	end = p + strcspn(p, "/");
	if (*end == '/') {		/* "/" or "/DB": pub/sub ignores the db */
		if (end[1 + strspn(end + 1, "0123456789")] != '\0')
			return -1;
	}
	if ((at = memchr(p, '@', (size_t)(end - p))) != NULL) {
		if (fed_addr_credentials(p, at, a) == -1)
			goto fail;
		p = at + 1;
	}
	if (*p == '[') {
		hs = p + 1;
		if ((he = memchr(hs, ']', (size_t)(end - hs))) == NULL)
			goto fail;
		p = he + 1;
	} else {
		hs = p;
		he = p + strcspn(p, ":/");
		if (he > end)
			he = end;
		p = he;
	}
	if (he == hs)
		goto fail;
	if (p < end && *p == ':') {
		port = strtol(p + 1, &portend, 10);
		if (portend != end || portend == p + 1 || port < 1 ||
		    port > 65535)
			goto fail;
	} else if (p != end)
		goto fail;
	if ((a->host = strndup(hs, (size_t)(he - hs))) == NULL)
		goto fail;
	a->port = (int)port;
	return 0;
fail:
	fed_addr_free(a);
	return -1;
}

/* Checks an address for config.c: parses it and throws the result away. */
int
federate_check_address(const char *s)
{
	struct fed_addr	a;

	if (fed_addr_parse(s, &a) == -1)
		return -1;
	fed_addr_free(&a);
	return 0;
}

/* The socket address of a Unix path or of a numeric IPv4/IPv6 host. */
int
fed_addr_sockaddr(const struct fed_addr *a, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct sockaddr_un	*sun = (struct sockaddr_un *)ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof *ss);
	if (a->path != NULL) {
		sun->sun_family = AF_UNIX;
		memcpy(sun->sun_path, a->path, strlen(a->path) + 1);
		*len = sizeof *sun;
	} else if (inet_pton(AF_INET, a->host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)a->port);
		*len = sizeof *sin;
	} else if (inet_pton(AF_INET6, a->host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)a->port);
		*len = sizeof *sin6;
	} else
		return 1;
	return 0;
}

/* The address for logs: no user, no password. */
void
fed_addr_format(const struct fed_addr *a, char *out, size_t cap)
{
	if (a->path != NULL)
		snprintf(out, cap, "unix://%s", a->path);
	else
		snprintf(out, cap, strchr(a->host, ':') != NULL ?
		    "redis://[%s]:%d" : "redis://%s:%d", a->host, a->port);
}
