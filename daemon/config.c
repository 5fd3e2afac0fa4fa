/* SPDX-License-Identifier: MIT — crmpubsub */
/* Settings: one table of options shared by the command line, the config
 * file, the usage text and reloads, so none of them can drift. */

#include <sys/stat.h>
#include <ctype.h>
#include <getopt.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crmpubsubd.h"

enum opt_type { OPT_STRING, OPT_SIZE, OPT_UINT, OPT_SECONDS, OPT_IDS,
    OPT_MODE, OPT_FLAG };

struct option_def {
	const char		*key;		/* config file key */
	enum opt_type		 type;
	size_t			 offset;
	const char		*defval;	/* NULL: unset */
	unsigned long long	 min, max;
	int			 reloadable;
	const char		*help;
};

#define OFF(f)	offsetof(struct config, f)
#define GiB	(1024ULL * 1024 * 1024)

/* Alphabetical; long options are the keys with '-' for '_'. */
static const struct option_def options[] = {
	{ "lag_timeout", OPT_SECONDS, OFF(lag_timeout), "30", 0, 31536000, 1,
	  "seconds a lagging connection may stay at its output limit" },
	{ "max_connections", OPT_UINT, OFF(max_connections), "10000", 1,
	  10000000, 1, "connections served at once" },
	{ "max_contacts", OPT_UINT, OFF(max_contacts), "1024", 1, 10000000, 1,
	  "contacts named by one broadcast" },
	{ "max_line", OPT_SIZE, OFF(max_line), "65536", 16, GiB, 1,
	  "bytes in one request line" },
	{ "max_outbuf", OPT_SIZE, OFF(max_outbuf), "1048576", 256, 64 * GiB, 1,
	  "bytes of pushes queued for one connection" },
	{ "max_subscriptions", OPT_UINT, OFF(max_subscriptions), "10000", 1,
	  100000000, 1, "topics one connection may hold" },
	{ "publish_gids", OPT_IDS, OFF(publish_gids), NULL, 0, 0, 1,
	  "groups allowed to broadcast (comma-separated gids)" },
	{ "publish_uids", OPT_IDS, OFF(publish_uids), NULL, 0, 0, 1,
	  "users allowed to broadcast (comma-separated uids)" },
	{ "redis", OPT_STRING, OFF(redis), NULL, 0, 0, 0,
	  "Redis to federate through (unix:///PATH or redis://HOST:PORT)" },
	{ "redis_password", OPT_STRING, OFF(redis_password), NULL, 0, 0, 0,
	  "password for Redis AUTH" },
	{ "redis_prefix", OPT_STRING, OFF(redis_prefix), "crmpubsub:", 0, 0, 0,
	  "prefix of the Redis channel names" },
	{ "socket", OPT_STRING, OFF(socket_path), NULL, 0, 0, 0,
	  "Unix socket path" },
	{ "socket_group", OPT_STRING, OFF(socket_group), NULL, 0, 0, 0,
	  "group of the socket file" },
	{ "socket_mode", OPT_MODE, OFF(socket_mode), "0660", 0, 0777, 0,
	  "mode of the socket file (octal)" },
	{ "verbose", OPT_FLAG, OFF(verbose), "no", 0, 1, 1,
	  "log every connection and request error" },
};
#define NOPTIONS	(sizeof options / sizeof options[0])

struct config	*cfg;

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
	char	key[64];
	size_t	i;
	const struct option_def *o;

	for (i = 0; option[i] != '\0' && i + 1 < sizeof key; i++)
		key[i] = option[i] == '-' ? '_' : option[i];
	key[i] = '\0';
	o = config_find(key);
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

/* Parses "1,2, 3" into a list (empty string: empty list). */
static int
parse_ids(const char *s, struct id_list *out)
{
	struct id_list	 l = { NULL, 0 };
	char		*end;
	unsigned long	 v;
	void		*p;

	while (*s != '\0') {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!isdigit((unsigned char)*s))
			goto bad;
		errno = 0;
		v = strtoul(s, &end, 10);
		if (errno != 0 || v > 0xfffffffeUL)
			goto bad;
		if ((p = realloc(l.v, (l.n + 1) * sizeof *l.v)) == NULL)
			goto bad;
		l.v = p;
		l.v[l.n++] = (unsigned)v;
		s = end;
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

/* Sets one option from its text value; -1 with *cause (malloc'd). */
int
config_set(struct config *c, const char *key, const char *value, char **cause)
{
	const struct option_def	*o = config_find(key);
	void			*field;
	unsigned long long	 n;
	double			 d;
	char			*end;

	if (o == NULL) {
		if (asprintf(cause, "unknown option '%s'", key) == -1)
			*cause = NULL;
		return -1;
	}
	field = (char *)c + o->offset;
	switch (o->type) {
	case OPT_STRING:
		if (strcmp(key, "redis") == 0 && *value != '\0' &&
		    federate_check_address(value) == -1)
			goto bad;
		free(*(char **)field);
		*(char **)field = *value != '\0' ? strdup(value) : NULL;
		return 0;
	case OPT_SIZE:
	case OPT_UINT:
		if (parse_size(value, &n) == -1 || n < o->min || n > o->max ||
		    (o->type == OPT_UINT && strpbrk(value, "kKmMgG") != NULL))
			goto bad;
		if (o->type == OPT_SIZE)
			*(size_t *)field = (size_t)n;
		else
			*(unsigned *)field = (unsigned)n;
		return 0;
	case OPT_SECONDS:
		/* Plain decimals only: no sign, blanks, hex or exponent. */
		if (!isdigit((unsigned char)*value) ||
		    value[strspn(value, "0123456789.")] != '\0')
			goto bad;
		errno = 0;
		d = strtod(value, &end);
		if (errno != 0 || end == value || *end != '\0' || !isfinite(d) ||
		    d <= 0 || d > (double)o->max)
			goto bad;
		*(double *)field = d;
		return 0;
	case OPT_IDS:
		if (parse_ids(value, field) == -1)
			goto bad;
		return 0;
	case OPT_MODE:
		if (value[strspn(value, "01234567")] != '\0')
			goto bad;
		errno = 0;
		n = strtoull(value, &end, 8);
		if (errno != 0 || end == value || *end != '\0' || n > o->max)
			goto bad;
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
			goto bad;
		return 0;
	}
bad:
	if (asprintf(cause, "%s: bad value '%s'", key, value) == -1)
		*cause = NULL;
	return -1;
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
	char		*line = NULL, *p, *q, *eq, *key, *err = NULL;
	size_t		 cap = 0;
	int		 lineno = 0, rc = 0;

	if ((f = fopen(path, "r")) == NULL) {
		if (asprintf(cause, "%s: %s", path, strerror(errno)) == -1)
			*cause = NULL;
		return -1;
	}
	if (fstat(fileno(f), &st) == -1 || !S_ISREG(st.st_mode)) {
		if (asprintf(cause, "%s: not a regular file", path) == -1)
			*cause = NULL;
		fclose(f);
		return -1;
	}
	while (getline(&line, &cap, f) != -1) {
		lineno++;
		if ((p = strchr(line, '#')) != NULL)
			*p = '\0';
		p = trim(line);
		if (*p == '\0')
			continue;
		if ((eq = strchr(p, '=')) == NULL) {
			if (asprintf(&err, "expected 'key = value'") == -1)
				err = NULL;
		} else {
			*eq = '\0';
			key = trim(p);
			/* "max-outbuf" is accepted for "max_outbuf" too. */
			for (q = key; *q != '\0'; q++)
				if (*q == '-')
					*q = '_';
			if (config_set(c, key, trim(eq + 1), &err) == 0)
				continue;
		}
		if (asprintf(cause, "%s:%d: %s", path, lineno,
		    err ? err : "error") == -1)
			*cause = NULL;
		free(err);
		rc = -1;
		break;
	}
	if (rc == 0 && ferror(f)) {
		if (asprintf(cause, "%s: %s", path, strerror(errno)) == -1)
			*cause = NULL;
		rc = -1;
	}
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

void
config_free(struct config *c)
{
	if (c == NULL)
		return;
	free(c->socket_path);
	free(c->config_file);
	free(c->socket_group);
	free(c->redis);
	free(c->redis_prefix);
	free(c->redis_password);
	free(c->publish_uids.v);
	free(c->publish_gids.v);
	free(c);
}

struct config *
config_build(const char *file, const struct config_override *ov, size_t nov,
    char **cause)
{
	struct config	*c = config_new();
	char		*err = NULL;
	size_t		 i;

	if (file != NULL) {
		if (config_load_file(c, file, cause) == -1)
			goto fail;
		c->config_file = strdup(file);
	}
	for (i = 0; i < nov; i++) {
		if (config_set(c, ov[i].key, ov[i].value, &err) == -1) {
			if (asprintf(cause, "--%s: %s", ov[i].key,
			    err ? err : "error") == -1)
				*cause = NULL;
			free(err);
			goto fail;
		}
	}
	return c;
fail:
	config_free(c);
	return NULL;
}

/* Both strings NULL or equal. */
static int
same_string(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

void
config_warn_fixed(const struct config *old, const struct config *new)
{
	if (!same_string(old->socket_path, new->socket_path))
		log_warnx("reload: socket changes at the next restart");
	if (!same_string(old->socket_group, new->socket_group) ||
	    old->socket_mode != new->socket_mode)
		log_warnx("reload: socket_mode/socket_group change at the next "
		    "restart");
	if (!same_string(old->redis, new->redis) ||
	    !same_string(old->redis_prefix, new->redis_prefix) ||
	    !same_string(old->redis_password, new->redis_password))
		log_warnx("reload: redis settings change at the next restart");
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

void
config_print_usage(FILE *f)
{
	size_t	i, j;
	char	opt[64];

	fprintf(f, "usage: crmpubsubd [-s PATH] [-c FILE] [options] [-v] "
	    "[--version] [-h]\n\n");
	fprintf(f, "  -s, --socket PATH           Unix socket path\n");
	fprintf(f, "  -c, --config FILE           config file (key = value)\n");
	for (i = 0; i < NOPTIONS; i++) {
		if (strcmp(options[i].key, "socket") == 0)
			continue;
		for (j = 0; options[i].key[j] != '\0' && j + 1 < sizeof opt; j++)
			opt[j] = options[i].key[j] == '_' ? '-' :
			    options[i].key[j];
		opt[j] = '\0';
		fprintf(f, "      --%-24s%s (default %s%s)\n", opt,
		    options[i].help,
		    options[i].defval ? options[i].defval : "none",
		    options[i].reloadable ? "" : ", needs restart");
	}
	fprintf(f, "  -v, --verbose               log at debug level\n");
	fprintf(f, "      --version               print the version and exit\n");
	fprintf(f, "  -h, --help                  this text\n");
}

/* getopt_long table: every option of the table plus -c, -v, --version, -h.
 * Table options return 0 and are found by their index. */
const struct option *
config_long_options(void)
{
	static struct option	 lo[NOPTIONS + 4];
	static char		 names[NOPTIONS][64];
	size_t			 i, j, n = 0;

	if (lo[0].name != NULL)
		return lo;
	for (i = 0; i < NOPTIONS; i++) {
		for (j = 0; options[i].key[j] != '\0' && j + 1 < 64; j++)
			names[i][j] = options[i].key[j] == '_' ? '-' :
			    options[i].key[j];
		names[i][j] = '\0';
		lo[n].name = names[i];
		lo[n].has_arg = options[i].type == OPT_FLAG ? no_argument :
		    required_argument;
		lo[n].flag = NULL;
		lo[n].val = strcmp(options[i].key, "socket") == 0 ? 's' :
		    strcmp(options[i].key, "verbose") == 0 ? 'v' : 0;
		n++;
	}
	lo[n++] = (struct option){ "config", required_argument, NULL, 'c' };
	lo[n++] = (struct option){ "version", no_argument, NULL, 'V' };
	lo[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	lo[n] = (struct option){ NULL, 0, NULL, 0 };
	return lo;
}
