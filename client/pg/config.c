/* SPDX-License-Identifier: MIT — crmpubsub */
/* Settings of crmpubsub-pg: one table serves the config file, the long
 * options and the usage text, as in crmpubsubd. */

#include <sys/stat.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"

enum opt_type { OPT_STRING, OPT_COUNT, OPT_SECONDS, OPT_FLAG };

struct option_def {
	const char	*key;		/* config file key; "--key" with '-' */
	enum opt_type	 type;
	size_t		 offset;
	const char	*defval;	/* NULL: unset */
	double		 min, max;
	const char	*help;
};

#define OFF(f)	offsetof(struct config, f)

/* Alphabetical. */
static const struct option_def options[] = {
	{ "batch", OPT_COUNT, OFF(batch), "1000", 1, 1000000,
	  "outbox rows read per round" },
	{ "dsn", OPT_STRING, OFF(dsn), NULL, 0, 0,
	  "PostgreSQL conninfo or URI (password: PGPASSFILE)" },
	{ "max_contacts", OPT_COUNT, OFF(max_contacts), "1024", 1, 10000000,
	  "most contacts per broadcast (the daemon's limits apply too)" },
	{ "poll_interval", OPT_SECONDS, OFF(poll_interval), "1", 0.01, 86400,
	  "seconds between polls when no doorbell rings" },
	{ "socket", OPT_STRING, OFF(socket_path), NULL, 0, 0,
	  "crmpubsubd socket path" },
	{ "verbose", OPT_FLAG, OFF(verbose), "no", 0, 1,
	  "log every round at debug level" },
};
#define NOPTIONS	(sizeof options / sizeof options[0])

/* The option named key, or NULL. */
static const struct option_def *
config_find(const char *key)
{
	size_t	i;

	for (i = 0; i < NOPTIONS; i++)
		if (strcmp(options[i].key, key) == 0)
			return &options[i];
	return NULL;
}

/* key with '_' turned into '-' (the long option's name). */
static void
option_name(const char *key, char *out, size_t outlen)
{
	size_t	i;

	for (i = 0; key[i] != '\0' && i + 1 < outlen; i++)
		out[i] = key[i] == '_' ? '-' : key[i];
	out[i] = '\0';
}

const char *
config_key_for_option(const char *option)
{
	char	name[64];
	size_t	i;

	for (i = 0; i < NOPTIONS; i++) {
		option_name(options[i].key, name, sizeof name);
		if (strcmp(name, option) == 0)
			return options[i].key;
	}
	return NULL;
}

/* Parses a plain decimal number (no sign, blanks or exponent). */
static int
parse_number(const char *s, int integer, double *out)
{
	char	*end;

	if (!isdigit((unsigned char)*s) ||
	    s[strspn(s, integer ? "0123456789" : "0123456789.")] != '\0')
		return -1;
	errno = 0;
	*out = strtod(s, &end);
	return errno != 0 || *end != '\0' || !isfinite(*out) ? -1 : 0;
}

/* Sets one option from its text; -1 with *cause (malloc'd). */
static int
config_set(struct config *c, const char *key, const char *value, char **cause)
{
	const struct option_def	*o = config_find(key);
	void			*field;
	double			 d;

	if (o == NULL) {
		if (asprintf(cause, "unknown option '%s'", key) == -1)
			*cause = NULL;
		return -1;
	}
	field = (char *)c + o->offset;
	switch (o->type) {
	case OPT_STRING:
		free(*(char **)field);
		*(char **)field = *value != '\0' ? strdup(value) : NULL;
		return 0;
	case OPT_COUNT:
	case OPT_SECONDS:
		if (parse_number(value, o->type == OPT_COUNT, &d) == -1 ||
		    d < o->min || d > o->max)
			break;
		if (o->type == OPT_COUNT)
			*(unsigned *)field = (unsigned)d;
		else
			*(double *)field = d;
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
			break;
		return 0;
	}
	if (asprintf(cause, "%s: bad value '%s'", key, value) == -1)
		*cause = NULL;
	return -1;
}

/* Trims blanks (and the line's end) around s, in place. */
static char *
trim(char *s)
{
	char	*e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && strchr(" \t\r\n", e[-1]) != NULL)
		*--e = '\0';
	return s;
}

/* Reads "key = value" lines; '#' at a line's start (after blanks) starts a
 * comment, so values such as a DSN may hold '#'. */
static int
config_load_file(struct config *c, const char *path, char **cause)
{
	FILE		*f;
	struct stat	 st;
	char		*line = NULL, *p, *eq, *err = NULL;
	size_t		 cap = 0;
	int		 lineno = 0, rc = 0;

	if ((f = fopen(path, "r")) == NULL || fstat(fileno(f), &st) == -1 ||
	    !S_ISREG(st.st_mode)) {
		if (asprintf(cause, "%s: %s", path, f == NULL ? strerror(errno) :
		    "not a regular file") == -1)
			*cause = NULL;
		if (f != NULL)
			fclose(f);
		return -1;
	}
	while (rc == 0 && getline(&line, &cap, f) != -1) {
		lineno++;
		p = trim(line);
		if (*p == '\0' || *p == '#')
			continue;
		if ((eq = strchr(p, '=')) == NULL) {
			err = strdup("expected 'key = value'");
		} else {
			*eq = '\0';
			for (char *q = p; *q != '\0'; q++)
				if (*q == '-')
					*q = '_';
			if (config_set(c, trim(p), trim(eq + 1), &err) == 0)
				continue;
		}
		if (asprintf(cause, "%s:%d: %s", path, lineno,
		    err ? err : "error") == -1)
			*cause = NULL;
		free(err);
		rc = -1;
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
config_build(const char *file, const char *const *keys,
    const char *const *values, size_t n, char **cause)
{
	struct config	*c;
	char		*err = NULL, name[64];
	size_t		 i;

	if ((c = calloc(1, sizeof *c)) == NULL)
		fatalx("out of memory");
	for (i = 0; i < NOPTIONS; i++)
		if (options[i].defval != NULL &&
		    config_set(c, options[i].key, options[i].defval, &err) == -1)
			fatalx("default of %s: %s", options[i].key, err);
	if (file != NULL && config_load_file(c, file, cause) == -1)
		goto fail;
	for (i = 0; i < n; i++) {
		if (config_set(c, keys[i], values[i], &err) == -1) {
			/* The key is known (getopt matched it): the value is
			 * bad, said with the option as it was typed. */
			option_name(keys[i], name, sizeof name);
			if (asprintf(cause, "--%s: bad value '%s'", name,
			    values[i]) == -1)
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

void
config_free(struct config *c)
{
	if (c == NULL)
		return;
	free(c->dsn);
	free(c->socket_path);
	free(c);
}

void
config_print_usage(FILE *f)
{
	size_t	i;
	char	name[64];

	fprintf(f, "usage: " BRIDGE_NAME " [-c FILE] [--dsn DSN] [-s PATH] "
	    "[options] [-v] [--version] [-h]\n\n");
	fprintf(f, "  -c, --config FILE           config file (key = value)\n");
	for (i = 0; i < NOPTIONS; i++) {
		option_name(options[i].key, name, sizeof name);
		fprintf(f, "  %s --%-22s%s (default %s)\n",
		    strcmp(name, "socket") == 0 ? "-s," :
		    strcmp(name, "verbose") == 0 ? "-v," : "   ", name,
		    options[i].help, options[i].defval ? options[i].defval :
		    "none");
	}
	fprintf(f, "      --version               print the version and exit\n");
	fprintf(f, "  -h, --help                  this text\n");
}

/* getopt_long table: the option table plus --config, --version, --help.
 * Table options return 0 and are found by their index; -s and -v return
 * their letters. */
const struct option *
config_long_options(void)
{
	static struct option	 lo[NOPTIONS + 4];
	static char		 names[NOPTIONS][64];
	size_t			 i, n = 0;

	if (lo[0].name != NULL)
		return lo;
	for (i = 0; i < NOPTIONS; i++) {
		option_name(options[i].key, names[i], sizeof names[i]);
		lo[n].name = names[i];
		lo[n].has_arg = options[i].type == OPT_FLAG ? no_argument :
		    required_argument;
		lo[n].val = strcmp(names[i], "socket") == 0 ? 's' :
		    strcmp(names[i], "verbose") == 0 ? 'v' : 0;
		n++;
	}
	lo[n++] = (struct option){ "config", required_argument, NULL, 'c' };
	lo[n++] = (struct option){ "version", no_argument, NULL, 'V' };
	lo[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	return lo;
}
