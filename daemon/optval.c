/* SPDX-License-Identifier: MIT — crmpubsub */
/* Option values, by type: parsing a value into its field, comparing two
 * configs' values, and the words for what a good value looks like. The
 * option table (config.c) says which type each option has. */

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <math.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crmpubsubd.h"

#define GiB	(1024ULL * 1024 * 1024)

/* Whether options of type t hold a string (char *, NULL when unset). */
int
optval_is_text(enum opt_type t)
{
	return t == OPT_STRING || t == OPT_PATH || t == OPT_GROUP ||
	    t == OPT_REDIS || t == OPT_LISTEN;
}

/* Parses a size with an optional K, M or G (1024-based) suffix. */
static int
parse_size(const char *s, unsigned long long *out)
{
	char			*end;
	unsigned long long	 v, mul = 1;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	switch (*end) {
	case 'k': case 'K': mul = 1024ULL; end++; break;
	case 'm': case 'M': mul = 1024ULL * 1024; end++; break;
	case 'g': case 'G': mul = GiB; end++; break;
	}
	if (*end != '\0' || (v != 0 && mul > ~0ULL / v))
		return -1;
	*out = v * mul;
	return 0;
}

/* One id of a list: digits are the id itself, anything else a user (uids)
 * or group name. -1 with *why set for an unknown name or a bad number. */
static int
parse_id(const char *tok, size_t len, int users, unsigned *out, char *why,
    size_t whylen)
{
	char		 name[256], *end;
	unsigned long	 v;
	struct passwd	*pw;
	struct group	*gr;

	if (len == 0 || len >= sizeof name)
		return -1;
	memcpy(name, tok, len);
	name[len] = '\0';
	if (isdigit((unsigned char)name[0])) {
		errno = 0;
		v = strtoul(name, &end, 10);
		if (errno != 0 || *end != '\0' || v > 0xfffffffeUL)
			return -1;
		*out = (unsigned)v;
		return 0;
	}
	if (users && (pw = getpwnam(name)) != NULL)
		*out = (unsigned)pw->pw_uid;
	else if (!users && (gr = getgrnam(name)) != NULL)
		*out = (unsigned)gr->gr_gid;
	else {
		snprintf(why, whylen, "no %s '%s'; ", users ? "user" : "group",
		    name);
		return -1;
	}
	return 0;
}

/* Parses "1000, www-data" into a list of ids (empty string: empty list). */
static int
parse_ids(const char *s, int users, struct id_list *out, char *why,
    size_t whylen)
{
	struct id_list	 l = { NULL, 0 };
	size_t		 len;
	void		*p;

	while (*s != '\0') {
		while (*s == ' ' || *s == '\t')
			s++;
		len = strcspn(s, ", \t");
		if ((p = realloc(l.v, (l.n + 1) * sizeof *l.v)) == NULL)
			goto bad;
		l.v = p;
		if (parse_id(s, len, users, &l.v[l.n], why, whylen) == -1)
			goto bad;
		l.n++;
		s += len;
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == ',' && s[1] != '\0')
			s++;
		else if (*s != '\0')
			goto bad;
	}
	free(out->v);
	*out = l;
	return 0;
bad:
	free(l.v);
	return -1;
}

/* A size for messages: 1073741824 is "1G", 65536 "64K". */
static const char *
size_text(unsigned long long n, char *buf, size_t len)
{
	static const char	units[] = "GMK";
	unsigned long long	m;
	int			i;

	for (i = 0, m = GiB; i < 3; i++, m /= 1024)
		if (n >= m && n % m == 0) {
			snprintf(buf, len, "%llu%c", n / m, units[i]);
			return buf;
		}
	snprintf(buf, len, "%llu", n);
	return buf;
}

/* What a value of option o looks like, for error messages. */
void
optval_expected(const struct option_def *o, char *buf, size_t len)
{
	char	lo[32], hi[32];

	switch (o->type) {
	case OPT_STRING:
		snprintf(buf, len, "text");
		break;
	case OPT_REDIS:
		snprintf(buf, len, "unix:///PATH or redis://HOST:PORT");
		break;
	case OPT_LISTEN:
		snprintf(buf, len, "a numeric IP:PORT, [IPV6]:PORT or "
		    "unix:/PATH, e.g. 127.0.0.1:9470");
		break;
	case OPT_PATH:
		snprintf(buf, len, "a path of at most %llu bytes", o->max);
		break;
	case OPT_GROUP:
		snprintf(buf, len, "a group name");
		break;
	case OPT_SIZE:
		snprintf(buf, len, "a size from %s to %s bytes, with an optional "
		    "K, M or G suffix, e.g. 64K", size_text(o->min, lo, sizeof lo),
		    size_text(o->max, hi, sizeof hi));
		break;
	case OPT_UINT:
		snprintf(buf, len, "a whole number from %llu to %llu", o->min,
		    o->max);
		break;
	case OPT_SECONDS:
		snprintf(buf, len, "seconds above 0, at most %llu, e.g. 30 or "
		    "2.5", o->max);
		break;
	case OPT_UIDS:
	case OPT_GIDS:
		snprintf(buf, len, "%s names or ids, separated by commas",
		    o->type == OPT_UIDS ? "user" : "group");
		break;
	case OPT_MODE:
		snprintf(buf, len, "an octal mode up to 0777, e.g. 0660");
		break;
	case OPT_FLAG:
		snprintf(buf, len, "yes or no");
		break;
	}
}

/* Checks a string value of option o (an empty one unsets it); -1 with
 * *why set to a detail (or left empty) when it is bad. */
static int
optval_check_text(const struct option_def *o, const char *value, char *why,
    size_t whylen)
{
	if (*value == '\0')
		return 0;
	switch (o->type) {
	case OPT_PATH:
		if (strlen(value) <= o->max)
			return 0;
		snprintf(why, whylen, "%zu bytes; ", strlen(value));
		return -1;
	case OPT_GROUP:
		if (getgrnam(value) != NULL)
			return 0;
		snprintf(why, whylen, "no group '%s'; ", value);
		return -1;
	case OPT_REDIS:
		return federate_check_address(value);
	case OPT_LISTEN:
		return httpd_check_address(value);
	default:
		return 0;
	}
}

/* Parses value into option o's field; -1 with *why set to a detail (or
 * left empty) when the value is bad. */
int
optval_parse(struct config *c, const struct option_def *o, const char *value,
    char *why, size_t whylen)
{
	void			*field = (char *)c + o->offset;
	unsigned long long	 n;
	double			 d;
	char			*end;

	switch (o->type) {
	case OPT_STRING:
	case OPT_PATH:
	case OPT_GROUP:
	case OPT_REDIS:
	case OPT_LISTEN:
		if (optval_check_text(o, value, why, whylen) == -1)
			return -1;
		free(*(char **)field);
		*(char **)field = *value != '\0' ? strdup(value) : NULL;
		return 0;
	case OPT_SIZE:
	case OPT_UINT:
		if (parse_size(value, &n) == -1 || n < o->min || n > o->max ||
		    (o->type == OPT_UINT && strpbrk(value, "kKmMgG") != NULL))
			return -1;
		if (o->type == OPT_SIZE)
			*(size_t *)field = (size_t)n;
		else
			*(unsigned *)field = (unsigned)n;
		return 0;
	case OPT_SECONDS:
		/* Plain decimals only: no sign, blanks, hex or exponent. */
		if (!isdigit((unsigned char)*value) ||
		    value[strspn(value, "0123456789.")] != '\0')
			return -1;
		errno = 0;
		d = strtod(value, &end);
		if (errno != 0 || end == value || *end != '\0' || !isfinite(d) ||
		    d <= 0 || d > (double)o->max)
			return -1;
		*(double *)field = d;
		return 0;
	case OPT_UIDS:
	case OPT_GIDS:
		return parse_ids(value, o->type == OPT_UIDS, field, why, whylen);
	case OPT_MODE:
		if (value[strspn(value, "01234567")] != '\0')
			return -1;
		errno = 0;
		n = strtoull(value, &end, 8);
		if (errno != 0 || end == value || *end != '\0' || n > o->max)
			return -1;
		*(unsigned *)field = (unsigned)n;
		return 0;
	case OPT_FLAG:
		if (strcmp(value, "yes") == 0 || strcmp(value, "true") == 0 ||
		    strcmp(value, "1") == 0 || strcmp(value, "on") == 0)
			*(int *)field = 1;
		else if (strcmp(value, "no") == 0 ||
		    strcmp(value, "false") == 0 || strcmp(value, "0") == 0 ||
		    strcmp(value, "off") == 0)
			*(int *)field = 0;
		else
			return -1;
		return 0;
	}
	return -1;
}

/* Whether option o has the same value in a and b. */
int
optval_same(const struct option_def *o, const struct config *a,
    const struct config *b)
{
	const void		*fa = (const char *)a + o->offset;
	const void		*fb = (const char *)b + o->offset;
	const char		*sa, *sb;
	const struct id_list	*la, *lb;

	switch (o->type) {
	case OPT_SIZE:
		return *(const size_t *)fa == *(const size_t *)fb;
	case OPT_UINT:
	case OPT_MODE:
		return *(const unsigned *)fa == *(const unsigned *)fb;
	case OPT_SECONDS:
		return *(const double *)fa == *(const double *)fb;
	case OPT_FLAG:
		return *(const int *)fa == *(const int *)fb;
	case OPT_UIDS:
	case OPT_GIDS:
		la = fa;
		lb = fb;
		return la->n == lb->n && (la->n == 0 ||
		    memcmp(la->v, lb->v, la->n * sizeof *la->v) == 0);
	default:
		sa = *(char *const *)fa;
		sb = *(char *const *)fb;
		return (sa == NULL && sb == NULL) ||
		    (sa != NULL && sb != NULL && strcmp(sa, sb) == 0);
	}
}
