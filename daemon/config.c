/* SPDX-License-Identifier: MIT — crmpubsub */
/* Settings: one table of options shared by the command line, the config
 * file, the usage text and reloads, so none of them can drift. */

#include <sys/stat.h>
#include <ctype.h>
#include <getopt.h>
#include <errno.h>
#include <grp.h>
#include <math.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crmpubsubd.h"

#define OFF(f)	offsetof(struct config, f)
#define GiB	(1024ULL * 1024 * 1024)

/* Alphabetical; long options are the keys with '-' for '_'. */
static const struct option_def options[] = {
	{ "lag_timeout", OPT_SECONDS, OFF(lag_timeout), "30", 0, 31536000, 1,
	  "SECONDS", "how long a connection may stay at its output limit "
	  "before it is closed" },
	{ "max_connections", OPT_UINT, OFF(max_connections), "10000", 1,
	  10000000, 1, "N", "connections served at once" },
	{ "max_contacts", OPT_UINT, OFF(max_contacts), "1024", 1, 10000000, 1,
	  "N", "contacts named by one broadcast" },
	{ "max_line", OPT_SIZE, OFF(max_line), "65536", 16, GiB, 1,
	  "BYTES", "bytes in one request line" },
	{ "max_outbuf", OPT_SIZE, OFF(max_outbuf), "1048576", 256, 64 * GiB, 1,
	  "BYTES", "bytes of pushes queued for one connection" },
	{ "max_subscriptions", OPT_UINT, OFF(max_subscriptions), "10000", 1,
	  100000000, 1, "N", "topics one connection may hold" },
	{ "publish_gids", OPT_GIDS, OFF(publish_gids), NULL, 0, 0, 1,
	  "GROUPS", "groups allowed to broadcast, by name or gid "
	  "(default: anyone)" },
	{ "publish_uids", OPT_UIDS, OFF(publish_uids), NULL, 0, 0, 1,
	  "USERS", "users allowed to broadcast, by name or uid "
	  "(default: anyone)" },
	{ "redis", OPT_REDIS, OFF(redis), NULL, 0, 0, 0,
	  "URL", "federate through Redis: unix:///PATH or "
	  "redis://HOST:PORT (default: none)" },
	{ "redis_password", OPT_STRING, OFF(redis_password), NULL, 0, 0, 0,
	  "SECRET", "password for Redis AUTH" },
	{ "redis_prefix", OPT_STRING, OFF(redis_prefix), "crmpubsub:", 0, 0, 0,
	  "PREFIX", "prefix of the Redis channel names" },
	{ "socket", OPT_PATH, OFF(socket_path), NULL, 0, LISTEN_PATH_MAX, 0,
	  "PATH", "the socket to create (default: see crmpubsubd(8))" },
	{ "socket_group", OPT_GROUP, OFF(socket_group), NULL, 0, 0, 0,
	  "GROUP", "group of the socket file (default: the daemon's)" },
	{ "socket_mode", OPT_MODE, OFF(socket_mode), "0660", 0, 0777, 0,
	  "OCTAL", "mode of the socket file" },
	{ "verbose", OPT_FLAG, OFF(verbose), "no", 0, 1, 1,
	  NULL, "log every connection and request error" },
};
#define NOPTIONS	(sizeof options / sizeof options[0])
_Static_assert(NOPTIONS <= CONFIG_MAX_OPTIONS, "CONFIG_MAX_OPTIONS too small");

const struct option_def *
config_options(size_t *n)
{
	*n = NOPTIONS;
	return options;
}

struct config	*cfg;

/* Fails with *cause (malloc'd, or NULL when memory ran out): -1. */
static int __attribute__((format(printf, 2, 3)))
config_fail(char **cause, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	if (vasprintf(cause, fmt, ap) == -1)
		*cause = NULL;
	va_end(ap);
	return -1;
}

/* Copies name into out (len bytes, NUL included) with each from byte
 * turned into to: a key and its long option differ only there
 * (max_outbuf is --max-outbuf). */
static char *
config_name_map(const char *name, char from, char to, char *out, size_t len)
{
	size_t	i;

	for (i = 0; name[i] != '\0' && i + 1 < len; i++)
		out[i] = name[i] == from ? to : name[i];
	out[i] = '\0';
	return out;
}

/* Whether options of type t hold a string (char *, NULL when unset). */
static int
config_is_text(enum opt_type t)
{
	return t == OPT_STRING || t == OPT_PATH || t == OPT_GROUP ||
	    t == OPT_REDIS;
}

/* The option of a key, written exactly. */
static const struct option_def *
config_find(const char *key)
{
	size_t	i;

	for (i = 0; i < NOPTIONS; i++)
		if (strcmp(options[i].key, key) == 0)
			return &options[i];
	return NULL;
}

/* "max-outbuf" -> "max_outbuf", when such a key exists. */
const char *
config_key_for_option(const char *option)
{
	char			 key[64];
	const struct option_def	*o;

	if (strlen(option) >= sizeof key)
		return NULL;
	o = config_find(config_name_map(option, '-', '_', key, sizeof key));
	return o != NULL ? o->key : NULL;
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
static void
config_expected(const struct option_def *o, char *buf, size_t len)
{
	char	lo[32], hi[32];

	switch (o->type) {
	case OPT_STRING:
		snprintf(buf, len, "text");
		break;
	case OPT_REDIS:
		snprintf(buf, len, "unix:///PATH or redis://HOST:PORT");
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
config_check_text(const struct option_def *o, const char *value, char *why,
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
	default:
		return 0;
	}
}

/* Parses value into option o's field; -1 with *why set to a detail (or
 * left empty) when the value is bad. */
static int
config_parse(struct config *c, const struct option_def *o, const char *value,
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
		if (config_check_text(o, value, why, whylen) == -1)
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

/* Sets option o from its text value; -1 with *cause (malloc'd), which
 * starts with name (the key, or the option on the command line). */
static int
config_apply(struct config *c, const struct option_def *o, const char *name,
    const char *value, char **cause)
{
	char	why[320] = "", expected[160];

	if (config_parse(c, o, value, why, sizeof why) == 0)
		return 0;
	config_expected(o, expected, sizeof expected);
	return config_fail(cause, "%s: bad value '%s' (%sexpected %s)", name,
	    value, why, expected);
}

/* Sets one option from its text value; -1 with *cause (malloc'd). */
int
config_set(struct config *c, const char *key, const char *value, char **cause)
{
	const struct option_def	*o = config_find(key);

	if (o == NULL)
		return config_fail(cause, "unknown option '%s'", key);
	return config_apply(c, o, key, value, cause);
}

/* Trims leading and trailing blanks in place. */
static char *
trim(char *s)
{
	char	*e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
	    e[-1] == '\n'))
		*--e = '\0';
	return s;
}

/* Reads "key = value" lines; '#' starts a comment. */
int
config_load_file(struct config *c, const char *path, char **cause)
{
	FILE		*f;
	struct stat	 st;
	char		*line = NULL, *p, *eq, *err = NULL;
	size_t		 cap = 0;
	int		 lineno = 0, rc = 0;

	if ((f = fopen(path, "r")) == NULL)
		return config_fail(cause, "%s: %s", path, strerror(errno));
	if (fstat(fileno(f), &st) == -1 || !S_ISREG(st.st_mode)) {
		fclose(f);
		return config_fail(cause, "%s: not a regular file", path);
	}
	while (getline(&line, &cap, f) != -1) {
		lineno++;
		if ((p = strchr(line, '#')) != NULL)
			*p = '\0';
		p = trim(line);
		if (*p == '\0')
			continue;
		if ((eq = strchr(p, '=')) == NULL)
			(void)config_fail(&err, "expected 'key = value'");
		else {
			*eq = '\0';
			/* "max-outbuf" is accepted for "max_outbuf" too. */
			p = trim(p);
			config_name_map(p, '-', '_', p, strlen(p) + 1);
			if (config_set(c, p, trim(eq + 1), &err) == 0)
				continue;
		}
		rc = config_fail(cause, "%s:%d: %s", path, lineno,
		    err ? err : "error");
		free(err);
		break;
	}
	if (rc == 0 && ferror(f))
		rc = config_fail(cause, "%s: %s", path, strerror(errno));
	free(line);
	fclose(f);
	return rc;
}

struct config *
config_new(void)
{
	struct config	*c;
	char		*cause = NULL;
	size_t		 i;

	if ((c = calloc(1, sizeof *c)) == NULL)
		fatal("calloc");
	for (i = 0; i < NOPTIONS; i++) {
		if (options[i].defval != NULL &&
		    config_set(c, options[i].key, options[i].defval, &cause) == -1)
			fatalx("default of %s: %s", options[i].key, cause);
	}
	return c;
}

/* Frees a config and whatever its options hold. */
void
config_free(struct config *c)
{
	void	*field;
	size_t	 i;

	if (c == NULL)
		return;
	for (i = 0; i < NOPTIONS; i++) {
		field = (char *)c + options[i].offset;
		if (config_is_text(options[i].type))
			free(*(char **)field);
		else if (options[i].type == OPT_UIDS ||
		    options[i].type == OPT_GIDS)
			free(((struct id_list *)field)->v);
	}
	free(c);
}

const char *
config_option_name(const char *key, char *out, size_t len)
{
	if (len < 3)
		return "";
	out[0] = out[1] = '-';
	config_name_map(key, '_', '-', out + 2, len - 2);
	return out;
}

struct config *
config_build(const char *file, const struct config_override *ov, size_t nov,
    char **cause)
{
	struct config		*c = config_new();
	const struct option_def	*o;
	char			 name[64];
	size_t			 i;

	if (file != NULL && config_load_file(c, file, cause) == -1)
		goto fail;
	for (i = 0; i < nov; i++) {
		if ((o = config_find(ov[i].key)) == NULL) {
			(void)config_fail(cause, "unknown option '%s'",
			    ov[i].key);
			goto fail;
		}
		if (config_apply(c, o, config_option_name(o->key, name, sizeof name),
		    ov[i].value, cause) == -1)
			goto fail;
	}
	return c;
fail:
	config_free(c);
	return NULL;
}

/* Whether option o has the same value in a and b. */
static int
config_same(const struct option_def *o, const struct config *a,
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

/* Logs each option a reload cannot change (reloadable 0) whose value the
 * new settings change. */
void
config_warn_fixed(const struct config *old, const struct config *new)
{
	size_t	i;

	for (i = 0; i < NOPTIONS; i++)
		if (!options[i].reloadable &&
		    !config_same(&options[i], old, new))
			log_warnx("reload: %s changes at the next restart",
			    options[i].key);
}

static int
id_in(const struct id_list *l, unsigned id)
{
	size_t	i;

	for (i = 0; i < l->n; i++)
		if (l->v[i] == id)
			return 1;
	return 0;
}

/* With no publish list configured anyone may publish; root is not exempt. */
int
config_may_publish(const struct config *c, uid_t uid, gid_t gid)
{
	if (c->publish_uids.n == 0 && c->publish_gids.n == 0)
		return 1;
	return id_in(&c->publish_uids, uid) || id_in(&c->publish_gids, gid);
}
