/* SPDX-License-Identifier: MIT — crmpubsub */
/* Settings: one table of options shared by the command line, the config
 * file, the usage text and reloads, so none of them can drift. */

#include <sys/stat.h>
#include <getopt.h>
#include <errno.h>
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
	{ "metrics_listen", OPT_LISTEN, OFF(metrics_listen), NULL, 0, 0, 0,
	  "ADDR", "serve Prometheus metrics at /metrics on IP:PORT, "
	  "[IPV6]:PORT or unix:/PATH (default: none)" },
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

/* Sets option o from its text value; -1 with *cause (malloc'd), which
 * starts with name (the key, or the option on the command line). */
static int
config_apply(struct config *c, const struct option_def *o, const char *name,
    const char *value, char **cause)
{
	char	why[320] = "", expected[160];

	if (optval_parse(c, o, value, why, sizeof why) == 0)
		return 0;
	optval_expected(o, expected, sizeof expected);
	return log_cause(cause, "%s: bad value '%s' (%sexpected %s)", name,
	    value, why, expected);
}

/* Sets one option from its text value; -1 with *cause (malloc'd). */
int
config_set(struct config *c, const char *key, const char *value, char **cause)
{
	const struct option_def	*o = config_find(key);

	if (o == NULL)
		return log_cause(cause, "unknown option '%s'", key);
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
		return log_cause(cause, "%s: %s", path, strerror(errno));
	if (fstat(fileno(f), &st) == -1 || !S_ISREG(st.st_mode)) {
		fclose(f);
		return log_cause(cause, "%s: not a regular file", path);
	}
	while (getline(&line, &cap, f) != -1) {
		lineno++;
		if ((p = strchr(line, '#')) != NULL)
			*p = '\0';
		p = trim(line);
		if (*p == '\0')
			continue;
		if ((eq = strchr(p, '=')) == NULL)
			(void)log_cause(&err, "expected 'key = value'");
		else {
			*eq = '\0';
			/* "max-outbuf" is accepted for "max_outbuf" too. */
			p = trim(p);
			config_name_map(p, '-', '_', p, strlen(p) + 1);
			if (config_set(c, p, trim(eq + 1), &err) == 0)
				continue;
		}
		rc = log_cause(cause, "%s:%d: %s", path, lineno,
		    err ? err : "error");
		free(err);
		break;
	}
	if (rc == 0 && ferror(f))
		rc = log_cause(cause, "%s: %s", path, strerror(errno));
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
		if (optval_is_text(options[i].type))
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
			(void)log_cause(cause, "unknown option '%s'",
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

/* Logs each option a reload cannot change (reloadable 0) whose value the
 * new settings change. */
void
config_warn_fixed(const struct config *old, const struct config *new)
{
	size_t	i;

	for (i = 0; i < NOPTIONS; i++)
		if (!options[i].reloadable &&
		    !optval_same(&options[i], old, new))
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
