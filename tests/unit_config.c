/* SPDX-License-Identifier: MIT — crmpubsub */
/* Unit suite for daemon/config.c: defaults, every option type, the config
 * file, precedence of file and command line, the publish ACL and the
 * option-name to key mapping. */

#include <sys/stat.h>
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crmpubsubd.h"

/* daemon/conn.c refers to the event base main.c normally provides. */
struct event_base *base;

static struct config	*c;
static char		 tmpdir[64];

/* Once per test case, in the parent process: a private directory for the
 * config files the tests write, removed even when a test fails. */
static void
make_tmpdir(void)
{
	strcpy(tmpdir, "/tmp/unit_config.XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		exit(EXIT_FAILURE);
	}
}

static void
remove_tmpdir(void)
{
	DIR		*d = opendir(tmpdir);
	struct dirent	*e;
	char		 path[512];

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", tmpdir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(tmpdir);
}

static void
setup(void)
{
	c = config_new();
	ck_assert_ptr_nonnull(c);
}

static void
teardown(void)
{
	config_free(c);
	c = NULL;
}

/* Writes text to tmpdir/name; returns the path (static storage per name). */
static const char *
write_file(const char *name, const char *text)
{
	static char	 paths[8][128];
	static int	 next;
	char		*path = paths[next++ % 8];
	FILE		*f;

	snprintf(path, 128, "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
	return path;
}

/* config_set that must succeed. */
static void
set_ok(const char *key, const char *value)
{
	char	*cause = NULL;

	ck_assert_msg(config_set(c, key, value, &cause) == 0,
	    "%s = '%s' refused: %s", key, value, cause ? cause : "?");
	free(cause);
}

/* config_set that must fail, with a cause naming the key. Returns 1 so it
 * can be used in expressions. */
static int
set_bad(const char *key, const char *value)
{
	char	*cause = NULL;

	ck_assert_msg(config_set(c, key, value, &cause) == -1,
	    "%s = '%s' accepted", key, value);
	ck_assert_ptr_nonnull(cause);
	ck_assert_msg(strstr(cause, key) != NULL, "cause '%s' does not name %s",
	    cause, key);
	free(cause);
	return 1;
}

/* set_bad for each of the NULL-terminated values, in order. */
static void
set_bad_each(const char *key, const char *const *values)
{
	for (; *values != NULL; values++)
		set_bad(key, *values);
}

/* ---- defaults ------------------------------------------------------------- */

START_TEST(test_defaults)
{
	ck_assert_uint_eq(c->max_outbuf, 1048576);
	ck_assert_uint_eq(c->max_line, 65536);
	ck_assert_uint_eq(c->max_connections, 10000);
	ck_assert_uint_eq(c->max_subscriptions, 10000);
	ck_assert_uint_eq(c->max_contacts, 1024);
	ck_assert_double_eq(c->lag_timeout, 30.0);
	ck_assert_uint_eq(c->socket_mode, 0660);
	ck_assert_ptr_null(c->socket_path);
	ck_assert_ptr_null(c->socket_group);
	ck_assert_uint_eq(c->publish_uids.n, 0);
	ck_assert_uint_eq(c->publish_gids.n, 0);
	ck_assert_int_eq(c->verbose, 0);
}
END_TEST

/* ---- sizes and counts ------------------------------------------------------ */

/* The option of a key, from the table. */
static const struct option_def *
option(const char *key)
{
	const struct option_def	*o;
	size_t			 n, i;

	o = config_options(&n);
	for (i = 0; i < n; i++)
		if (strcmp(o[i].key, key) == 0)
			return &o[i];
	ck_abort_msg("no option %s", key);
	return NULL;
}

/* A number-valued option's value in cf, read through the table. */
static double
field_number(const struct config *cf, const char *key)
{
	const struct option_def	*o = option(key);
	const void		*f = (const char *)cf + o->offset;

	switch (o->type) {
	case OPT_SIZE:
		return (double)*(const size_t *)f;
	case OPT_UINT:
	case OPT_MODE:
		return (double)*(const unsigned *)f;
	case OPT_SECONDS:
		return *(const double *)f;
	case OPT_FLAG:
		return (double)*(const int *)f;
	default:
		ck_abort_msg("%s holds no number", key);
		return 0;
	}
}

/* Values every number-valued kind of option accepts, and what they give. */
START_TEST(test_accepted_values)
{
	static const struct {
		const char	*key, *value;
		double		 want;
	} cases[] = {
		{ "max_outbuf", "1K", 1024 },
		{ "max_outbuf", "3k", 3 * 1024 },
		{ "max_outbuf", "2M", 2 * 1024 * 1024 },
		{ "max_outbuf", "5m", 5 * 1024 * 1024 },
		{ "max_outbuf", "1G", 1024.0 * 1024 * 1024 },
		{ "max_outbuf", "2g", 2.0 * 1024 * 1024 * 1024 },
		{ "max_outbuf", "123456", 123456 },
		{ "max_line", "64K", 65536 },
		{ "max_line", "1G", 1024.0 * 1024 * 1024 },
		{ "lag_timeout", "0.5", 0.5 },
		{ "lag_timeout", "2", 2 },
		{ "lag_timeout", "0.001", 0.001 },
		{ "lag_timeout", "31536000", 31536000 },
		{ "socket_mode", "0600", 0600 },
		{ "socket_mode", "660", 0660 },
		{ "socket_mode", "0777", 0777 },
		{ "socket_mode", "0", 0 },
		{ "verbose", "yes", 1 }, { "verbose", "no", 0 },
		{ "verbose", "true", 1 }, { "verbose", "false", 0 },
		{ "verbose", "1", 1 }, { "verbose", "0", 0 },
		{ "verbose", "on", 1 }, { "verbose", "off", 0 },
	};
	size_t	i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		set_ok(cases[i].key, cases[i].value);
		ck_assert_msg(field_number(c, cases[i].key) == cases[i].want,
		    "%s = %s gave %g, want %g", cases[i].key, cases[i].value,
		    field_number(c, cases[i].key), cases[i].want);
	}
}
END_TEST

START_TEST(test_sizes_bounds)
{
	/* Minimums: max_line 16, max_outbuf 256. */
	set_ok("max_line", "16");
	ck_assert_uint_eq(c->max_line, 16);
	set_bad("max_line", "15");
	set_bad("max_line", "0");
	ck_assert_uint_eq(c->max_line, 16);
	set_ok("max_outbuf", "256");
	ck_assert_uint_eq(c->max_outbuf, 256);
	set_bad("max_outbuf", "255");
	set_bad("max_outbuf", "0");
	set_bad("max_outbuf", "0K");
	ck_assert_uint_eq(c->max_outbuf, 256);
	/* Values that are not sizes; the old value stays. */
	set_ok("max_outbuf", "4096");
	set_bad_each("max_outbuf", (const char *const[]){ "", "K", "-1", "-1K",
	    "+4096", " 4096", "4096 ", "4 K", "4KB", "4KK", "4T", "1.5K",
	    "0x1000", "lots", NULL });
	/* Overflow of the number and of number * suffix. */
	set_bad_each("max_outbuf", (const char *const[]){
	    "18446744073709551616", "99999999999999999999999", "17179869184G",
	    "18014398509481984K", NULL });
	ck_assert_uint_eq(c->max_outbuf, 4096);
	/* Upper bounds. */
	set_bad("max_line", "2G");
	set_bad("max_line", "1073741825");
	ck_assert_uint_eq(c->max_line, 16);
}
END_TEST

START_TEST(test_uint_options)
{
	static const char	*const keys[] = { "max_connections",
	    "max_subscriptions", "max_contacts" };
	size_t			 i;
	unsigned		*field;

	for (i = 0; i < 3; i++) {
		field = i == 0 ? &c->max_connections : i == 1 ?
		    &c->max_subscriptions : &c->max_contacts;
		set_ok(keys[i], "1");
		ck_assert_uint_eq(*field, 1);
		set_ok(keys[i], "777");
		ck_assert_uint_eq(*field, 777);
		set_ok(keys[i], "10000000");
		ck_assert_uint_eq(*field, 10000000);
		set_ok(keys[i], "5");
		/* No suffixes on counts, minimum 1. */
		set_bad_each(keys[i], (const char *const[]){ "1K", "1k", "2M",
		    "1G", "0", "-5", "", "5x", "5.0",
		    "99999999999999999999999", "4294967296", NULL });
		ck_assert_uint_eq(*field, 5);
	}
	/* Upper bounds. */
	set_bad("max_connections", "10000001");
	set_bad("max_contacts", "10000001");
	set_ok("max_subscriptions", "100000000");
	ck_assert_uint_eq(c->max_subscriptions, 100000000);
	set_bad("max_subscriptions", "100000001");
	ck_assert_uint_eq(c->max_subscriptions, 100000000);
}
END_TEST

/* ---- seconds ----------------------------------------------------------------- */

START_TEST(test_seconds)
{
	set_ok("lag_timeout", "12.25");
	set_bad_each("lag_timeout", (const char *const[]){ "0", "0.0", "-1",
	    "-0.5", "", "abc", "5s", "1,5", "nan", "inf", "1e999", "31536001",
	    NULL });
	ck_assert_double_eq(c->lag_timeout, 12.25);
}
END_TEST

/* ---- id lists ------------------------------------------------------------------ */

/* Asserts list l holds exactly the n ids. */
static void
assert_ids(const struct id_list *l, const unsigned *want, size_t n)
{
	size_t	i;

	ck_assert_uint_eq(l->n, n);
	for (i = 0; i < n; i++)
		ck_assert_uint_eq(l->v[i], want[i]);
}

START_TEST(test_id_lists)
{
	static const unsigned	 one[] = { 1000 };
	static const unsigned	 three[] = { 1, 2, 3 };
	static const unsigned	 two[] = { 4, 5 };
	static const unsigned	 big[] = { 0, 4294967294u };
	static const char	*const bad[] = { "a", "1,,2", ",1", "1;2",
	    "-1", "1 2", "1, x", "4294967295", "99999999999", "1.5", "0x10",
	    "1,-2", "+1" };
	size_t			 i, k;
	char			 nobody[64], nogroup[64];
	unsigned		 nobody_uid, nogroup_gid;
	struct passwd		*pw = getpwuid(65534);
	struct group		*gr = getgrgid(65534);

	/* Debian's nobody/nogroup, or whatever names these ids have. */
	ck_assert_msg(pw != NULL && gr != NULL, "no user/group 65534");
	snprintf(nobody, sizeof nobody, "%s", pw->pw_name);
	snprintf(nogroup, sizeof nogroup, "%s", gr->gr_name);
	nobody_uid = (unsigned)pw->pw_uid;
	nogroup_gid = (unsigned)gr->gr_gid;
	for (k = 0; k < 2; k++) {
		const char *key = k ? "publish_gids" : "publish_uids";
		struct id_list *l = k ? &c->publish_gids : &c->publish_uids;

		set_ok(key, "1000");
		assert_ids(l, one, 1);
		set_ok(key, "1,2,3");
		assert_ids(l, three, 3);
		set_ok(key, " 4 , 5 ");
		assert_ids(l, two, 2);
		set_ok(key, "\t4,\t5");
		assert_ids(l, two, 2);
		set_ok(key, "0, 4294967294");
		assert_ids(l, big, 2);
		/* A bad list leaves the previous one in place. */
		set_ok(key, "1, 2, 3");
		for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
			set_bad(key, bad[i]);
			assert_ids(l, three, 3);
		}
		/* Names: users for uids, groups for gids; digits are ids. */
		set_ok(key, "root, 7");
		ck_assert_uint_eq(l->n, 2);
		ck_assert_uint_eq(l->v[0], 0);
		ck_assert_uint_eq(l->v[1], 7);
		set_ok(key, k ? nogroup : nobody);
		ck_assert_uint_eq(l->n, 1);
		ck_assert_uint_eq(l->v[0], k ? nogroup_gid : nobody_uid);
		set_bad(key, "crmpubsub-no-such-name");
		set_bad(key, "root,crmpubsub-no-such-name");
		ck_assert_uint_eq(l->v[0], k ? nogroup_gid : nobody_uid);
		/* An empty value clears the list. */
		set_ok(key, "");
		ck_assert_uint_eq(l->n, 0);
	}
}
END_TEST

/* ---- modes, flags, strings ---------------------------------------------------------- */

START_TEST(test_modes_and_flags)
{
	set_ok("socket_mode", "0640");
	set_bad_each("socket_mode", (const char *const[]){ "01000", "1777",
	    "8", "0689", "", "rw-rw----", "0660x", "-1", NULL });
	ck_assert_uint_eq(c->socket_mode, 0640);
	set_ok("verbose", "yes");
	set_bad_each("verbose", (const char *const[]){ "", "maybe", "2",
	    "yess", NULL });
	ck_assert_int_eq(c->verbose, 1);
}
END_TEST

START_TEST(test_strings)
{
	char		 path[LISTEN_PATH_MAX + 2], group[64];
	struct group	*gr;

	set_ok("socket", "/tmp/x/crmpubsub.sock");
	ck_assert_str_eq(c->socket_path, "/tmp/x/crmpubsub.sock");
	set_ok("socket", "/other.sock");
	ck_assert_str_eq(c->socket_path, "/other.sock");
	/* Empty: back to unset (resolve the default). */
	set_ok("socket", "");
	ck_assert_ptr_null(c->socket_path);
	/* The longest path the daemon can bind, and one byte more. */
	memset(path, 'p', sizeof path);
	path[0] = '/';
	path[LISTEN_PATH_MAX] = '\0';
	set_ok("socket", path);
	path[LISTEN_PATH_MAX] = 'p';
	path[LISTEN_PATH_MAX + 1] = '\0';
	set_bad("socket", path);
	ck_assert_uint_eq(strlen(c->socket_path), LISTEN_PATH_MAX);
	/* socket_group names a group that exists (a bad one is a config
	 * error, caught before any socket is made). */
	gr = getgrgid(0);
	ck_assert_ptr_nonnull(gr);
	snprintf(group, sizeof group, "%s", gr->gr_name);
	set_ok("socket_group", group);
	ck_assert_str_eq(c->socket_group, group);
	set_bad("socket_group", "crmpubsub-no-such-group");
	ck_assert_str_eq(c->socket_group, group);
	set_ok("socket_group", "");
	ck_assert_ptr_null(c->socket_group);
}
END_TEST

START_TEST(test_redis_address)
{
	/* The federation address: unix:///PATH or redis://HOST:PORT. */
	set_ok("redis", "unix:///run/redis/redis.sock");
	ck_assert_str_eq(c->redis, "unix:///run/redis/redis.sock");
	set_ok("redis", "redis://127.0.0.1:6379");
	ck_assert_str_eq(c->redis, "redis://127.0.0.1:6379");
	set_bad_each("redis", (const char *const[]){ "127.0.0.1:6379",
	    "unix://relative.sock", "redis://host:0", "redis://host:65536",
	    "redis://", "http://host:6379", NULL });
	ck_assert_str_eq(c->redis, "redis://127.0.0.1:6379");
	set_ok("redis", "");
	ck_assert_ptr_null(c->redis);
}
END_TEST

START_TEST(test_unknown_key)
{
	static const char	*const unknown[] = { "max_bogus", "max-outbuf",
	    "MAX_OUTBUF", "", "max_outbuf ", "config" };
	char			*cause;
	size_t			 i;

	for (i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
		cause = NULL;
		ck_assert_msg(config_set(c, unknown[i], "1", &cause) == -1,
		    "'%s' accepted", unknown[i]);
		ck_assert_ptr_nonnull(cause);
		ck_assert_msg(strstr(cause, "unknown") != NULL, "%s", cause);
		ck_assert_msg(strstr(cause, unknown[i]) != NULL,
		    "'%s' not named in '%s'", unknown[i], cause);
		free(cause);
	}
	/* A bad value names the key and the value. */
	cause = NULL;
	ck_assert_int_eq(config_set(c, "max_line", "banana", &cause), -1);
	ck_assert_ptr_nonnull(cause);
	ck_assert_ptr_nonnull(strstr(cause, "max_line"));
	ck_assert_ptr_nonnull(strstr(cause, "banana"));
	free(cause);
}
END_TEST

/* A bad value says what a good one looks like, for every kind of option. */
START_TEST(test_error_texts)
{
	static const struct {
		const char	*key, *value, *want;
	} cases[] = {
		{ "max_connections", "abc", "a whole number from 1 to 10000000" },
		{ "max_connections", "0", "a whole number from 1 to 10000000" },
		{ "max_contacts", "5K", "a whole number from 1 to 10000000" },
		{ "max_outbuf", "12Q", "a size from 256 to 64G bytes, with an "
		    "optional K, M or G suffix, e.g. 64K" },
		{ "max_line", "8", "a size from 16 to 1G bytes" },
		{ "lag_timeout", "soon", "seconds above 0, at most 31536000" },
		{ "publish_uids", "crmpubsub-nobody-here",
		    "no user 'crmpubsub-nobody-here'; expected user names or "
		    "ids, separated by commas" },
		{ "publish_gids", "1,,2", "group names or ids, separated by "
		    "commas" },
		{ "socket_mode", "999", "an octal mode up to 0777" },
		{ "verbose", "maybe", "yes or no" },
		{ "socket_group", "crmpubsub-no-such-group",
		    "no group 'crmpubsub-no-such-group'" },
		{ "redis", "localhost:6379", "unix:///PATH or redis://HOST:PORT" },
	};
	char	*cause, want[256];
	size_t	 i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cause = NULL;
		ck_assert_int_eq(config_set(c, cases[i].key, cases[i].value,
		    &cause), -1);
		ck_assert_ptr_nonnull(cause);
		snprintf(want, sizeof want, "%s: bad value '%s' (",
		    cases[i].key, cases[i].value);
		ck_assert_msg(strncmp(cause, want, strlen(want)) == 0,
		    "cause '%s' does not start with '%s'", cause, want);
		ck_assert_msg(strstr(cause, cases[i].want) != NULL,
		    "cause '%s' lacks '%s'", cause, cases[i].want);
		free(cause);
	}
}
END_TEST

/* --help: every table option once, with its value named, descriptions in
 * one column, lines that fit 80 columns, no reload remarks. */
START_TEST(test_usage_text)
{
	const struct option_def	*o;
	char			*text = NULL, *line, *save = NULL, *p, opt[80];
	size_t			 len = 0, n, i;
	int			 col = -1, here;
	FILE			*f = open_memstream(&text, &len);

	ck_assert_ptr_nonnull(f);
	config_print_usage(f);
	fclose(f);
	ck_assert_msg(strstr(text, "restart") == NULL &&
	    strstr(text, "reload") == NULL, "%s", text);
	o = config_options(&n);
	for (i = 0; i < n; i++) {
		config_option_name(o[i].key, opt, sizeof opt - 16);
		if (o[i].arg != NULL) {
			strcat(opt, " ");
			strcat(opt, o[i].arg);
		}
		strcat(opt, " ");
		p = strstr(text, opt);
		ck_assert_msg(p != NULL, "--help lacks '%s':\n%s", opt, text);
		ck_assert_msg(strstr(p + 1, opt) == NULL, "'%s' twice", opt);
	}
	ck_assert_ptr_null(strstr(strstr(text, "--verbose") + 1, "--verbose"));
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		ck_assert_msg(strlen(line) < 80, "too wide: %s", line);
		if (strncmp(line, "  -", 3) != 0 && strncmp(line, "      --", 8))
			continue;
		/* The description starts after the option and two blanks. */
		p = strstr(line, "  ");
		p = strstr(p + 2 + strspn(p + 2, " "), "  ");
		ck_assert_msg(p != NULL, "no description: %s", line);
		here = (int)(p + strspn(p, " ") - line);
		ck_assert_msg(col == -1 || here == col,
		    "description of '%s' at column %d, others at %d", line,
		    here, col);
		col = here;
	}
	free(text);
}
END_TEST

/* The item of key in the man page (from its .It line to the next .It or
 * .El), in a buffer of the caller's; NULL when the page has none. */
static const char *
man_item(const char *page, const char *key, char *out, size_t len)
{
	char		 head[96];
	const char	*p, *end;

	snprintf(head, sizeof head, "\n.It Cm %s Pq ", key);
	if ((p = strstr(page, head)) == NULL)
		return NULL;
	p++;
	if ((end = strstr(p + 1, "\n.It ")) == NULL ||
	    (strstr(p + 1, "\n.El") != NULL && strstr(p + 1, "\n.El") < end))
		end = strstr(p + 1, "\n.El");
	ck_assert_ptr_nonnull(end);
	snprintf(out, len, "%.*s", (int)(end - p), p);
	return out;
}

/* The option table, crmpubsubd.conf(5) and --help say the same: every
 * option is in the page with "reload" exactly when SIGHUP changes it and
 * with its default, the page lists no other key, and --help gives every
 * default. */
START_TEST(test_table_matches_docs)
{
	const struct option_def	*o;
	const char		*top = getenv("CRMPUBSUB_TOP"), *p;
	char			 path[512], item[4096], want[160], opt[80];
	char			*page, *help = NULL;
	size_t			 n, i, k, hlen = 0, items = 0;
	FILE			*f;
	long			 size;

	snprintf(path, sizeof path, "%s/docs/crmpubsubd.conf.5",
	    top != NULL ? top : ".");
	ck_assert_msg((f = fopen(path, "r")) != NULL, "%s", path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	rewind(f);
	page = malloc((size_t)size + 1);
	ck_assert_ptr_nonnull(page);
	ck_assert_uint_eq(fread(page, 1, (size_t)size, f), (size_t)size);
	page[size] = '\0';
	fclose(f);
	f = open_memstream(&help, &hlen);
	ck_assert_ptr_nonnull(f);
	config_print_usage(f);
	fclose(f);

	o = config_options(&n);
	for (i = 0; i < n; i++) {
		ck_assert_msg(man_item(page, o[i].key, item, sizeof item) != NULL,
		    "crmpubsubd.conf(5) lacks %s", o[i].key);
		snprintf(want, sizeof want, ".It Cm %s Pq %s", o[i].key,
		    o[i].reloadable ? "reload" : "restart");
		ck_assert_msg(strncmp(item, want, strlen(want)) == 0,
		    "the page says '%.60s', the table '%s'", item, want);
		if (o[i].defval != NULL) {
			p = strstr(item, "Default:");
			ck_assert_msg(p != NULL && strstr(p, o[i].defval) != NULL,
			    "%s: the page does not give the default %s",
			    o[i].key, o[i].defval);
		} else
			ck_assert_msg(strcasestr(item, "unset") != NULL,
			    "%s: the page does not say it is unset by default",
			    o[i].key);
		if (o[i].defval != NULL && o[i].type != OPT_FLAG) {
			/* The option's own line, then its text up to the
			 * next option. */
			opt[0] = ' ';
			config_option_name(o[i].key, opt + 1, sizeof opt - 2);
			strcat(opt, " ");
			p = strstr(help, opt);
			ck_assert_msg(p != NULL, "--help lacks %s", opt);
			snprintf(want, sizeof want, "(default %s)", o[i].defval);
			ck_assert_msg(strstr(p, want) != NULL &&
			    strstr(p, want) < strstr(p + strlen(opt), " --"),
			    "--help gives%sno '%s'", opt, want);
		}
	}
	/* No key in the page that the table does not have. */
	for (p = page; (p = strstr(p, "\n.It Cm ")) != NULL; p++) {
		for (k = 0; k < n; k++) {
			snprintf(want, sizeof want, "\n.It Cm %s ", o[k].key);
			if (strncmp(p, want, strlen(want)) == 0)
				break;
		}
		ck_assert_msg(k < n, "the page documents an unknown key: %.40s",
		    p + 1);
		items++;
	}
	ck_assert_uint_eq(items, n);
	free(page);
	free(help);
}
END_TEST

/* A reload warns once for each option it cannot change (reloadable 0)
 * whose value changed, naming it, and never for the others. */
START_TEST(test_reload_warnings)
{
	static const struct config_override changed[] = {
		{ "lag_timeout", "5" }, { "max_connections", "7" },
		{ "max_contacts", "8" }, { "max_line", "1K" },
		{ "max_outbuf", "2M" }, { "max_subscriptions", "9" },
		{ "metrics_listen", "127.0.0.1:0" },
		{ "publish_gids", "0" }, { "publish_uids", "0" },
		{ "redis", "unix:///tmp/r.sock" }, { "redis_password", "pw" },
		{ "redis_prefix", "x:" }, { "socket", "/tmp/x.sock" },
		{ "socket_group", "" }, { "socket_mode", "0600" },
		{ "verbose", "yes" },
	};
	const struct option_def	*o;
	struct config		*old, *new;
	struct group		*gr = getgrgid(0);
	char			 log[512], line[160], text[4096], *cause = NULL;
	size_t			 n, i, k, len;
	int			 fd, saved;
	FILE			*f;

	o = config_options(&n);
	/* A new option must be added here too. */
	ck_assert_uint_eq(n, sizeof changed / sizeof changed[0]);
	old = config_new();
	ck_assert_ptr_nonnull(gr);
	ck_assert_int_eq(config_set(old, "socket_group", gr->gr_name, &cause),
	    0);
	new = config_build(NULL, changed, n, &cause);
	ck_assert_msg(new != NULL, "%s", cause ? cause : "?");
	snprintf(log, sizeof log, "%s/warnings.log", tmpdir);
	fflush(stderr);
	saved = dup(2);
	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert(saved != -1 && fd != -1 && dup2(fd, 2) == 2);
	config_warn_fixed(old, new);
	config_warn_fixed(new, new);	/* nothing changed: nothing said */
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(fd);
	ck_assert_ptr_nonnull(f = fopen(log, "r"));
	len = fread(text, 1, sizeof text - 1, f);
	text[len] = '\0';
	fclose(f);
	for (i = 0, k = 0; i < n; i++) {
		snprintf(line, sizeof line, "crmpubsubd: reload: %s changes at "
		    "the next restart\n", o[i].key);
		ck_assert_msg((strstr(text, line) != NULL) == !o[i].reloadable,
		    "%s (reloadable %d): %s", o[i].key, o[i].reloadable, text);
		k += !o[i].reloadable;
	}
	/* One line each, and no more. */
	for (i = 0; text[i] != '\0'; i++)
		k -= text[i] == '\n';
	ck_assert_uint_eq(k, 0);
	config_free(old);
	config_free(new);
}
END_TEST

/* ---- config file ---------------------------------------------------------------------- */

START_TEST(test_load_file)
{
	static const unsigned	 uids[] = { 1000, 1001 };
	const char		*path;
	char			*cause = NULL;

	path = write_file("ok.conf",
	    "# crmpubsubd test config\n"
	    "\n"
	    "   \n"
	    "\t\n"
	    "max_outbuf = 2M\n"
	    "max_line=4096\n"
	    "   max_connections   =   50   \n"
	    "\tmax_contacts\t=\t7\t\n"
	    "lag_timeout = 0.25 # half of half a second\n"
	    "   # indented comment = with an equals sign\n"
	    "publish_uids = 1000, 1001\n"
	    "socket_mode = 0600\r\n"
	    "socket = /tmp/file.sock\n"
	    "verbose = yes\n"
	    "max_subscriptions = 9");	/* no newline at the end */
	ck_assert_msg(config_load_file(c, path, &cause) == 0, "%s", cause);
	ck_assert_uint_eq(c->max_outbuf, 2 * 1024 * 1024);
	ck_assert_uint_eq(c->max_line, 4096);
	ck_assert_uint_eq(c->max_connections, 50);
	ck_assert_uint_eq(c->max_contacts, 7);
	ck_assert_uint_eq(c->max_subscriptions, 9);
	ck_assert_double_eq(c->lag_timeout, 0.25);
	assert_ids(&c->publish_uids, uids, 2);
	ck_assert_uint_eq(c->publish_gids.n, 0);
	ck_assert_uint_eq(c->socket_mode, 0600);
	ck_assert_str_eq(c->socket_path, "/tmp/file.sock");
	ck_assert_int_eq(c->verbose, 1);
	/* An empty file and a comments-only file change nothing. */
	path = write_file("empty.conf", "");
	ck_assert_int_eq(config_load_file(c, path, &cause), 0);
	path = write_file("comments.conf", "# a\n\n#b = c\n");
	ck_assert_int_eq(config_load_file(c, path, &cause), 0);
	ck_assert_uint_eq(c->max_line, 4096);
	/* Keys may be spelled like the long options, with dashes. */
	path = write_file("dashes.conf", "max-outbuf = 4096\nlag-timeout = 2\n");
	ck_assert_int_eq(config_load_file(c, path, &cause), 0);
	ck_assert_uint_eq(c->max_outbuf, 4096);
	ck_assert_double_eq(c->lag_timeout, 2);
}
END_TEST

/* Loads text into a fresh config and asserts the error names path:line and,
 * when given, mentions what. */
static void
assert_file_error(const char *text, int line, const char *what)
{
	struct config	*fresh = config_new();
	const char	*path = write_file("bad.conf", text);
	char		*cause = NULL, where[256];

	ck_assert_msg(config_load_file(fresh, path, &cause) == -1,
	    "'%s' accepted", text);
	ck_assert_ptr_nonnull(cause);
	snprintf(where, sizeof where, "%s:%d:", path, line);
	ck_assert_msg(strstr(cause, where) != NULL, "'%s' does not name '%s'",
	    cause, where);
	if (what != NULL)
		ck_assert_msg(strstr(cause, what) != NULL,
		    "'%s' does not mention '%s'", cause, what);
	free(cause);
	config_free(fresh);
}

START_TEST(test_load_file_errors)
{
	/* A bad file: the line named, and what the error mentions. */
	static const struct {
		const char	*text;
		int		 line;
		const char	*what;		/* NULL: nothing in particular */
	} cases[] = {
		{ "max_line = 1024\n# ok\nmax_line = banana\n", 3, "banana" },
		{ "\n\n\n\nmax_bogus = 1\n", 5, "max_bogus" },
		{ "max_line 1024\n", 1, NULL },
		{ "# c\njust words\nmax_line = 1024\n", 2, NULL },
		{ "= 5\n", 1, NULL },
		{ "max_outbuf = 10\n", 1, "max_outbuf" },
		{ "lag_timeout = 0\n", 1, "lag_timeout" },
		{ "publish_uids = 1,,2\n", 1, "publish_uids" },
		/* The first bad line stops the load. */
		{ "max_line = x\nmax_outbuf = y\n", 1, "max_line" },
		/* A dashed key is read as its underscored one. */
		{ "max-line = x\n", 1, "max_line" },
	};
	char	*cause = NULL;
	char	 missing[128];
	size_t	 i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		assert_file_error(cases[i].text, cases[i].line, cases[i].what);
	/* A file that does not exist: the error names it. */
	snprintf(missing, sizeof missing, "%s/none.conf", tmpdir);
	ck_assert_int_eq(config_load_file(c, missing, &cause), -1);
	ck_assert_ptr_nonnull(cause);
	ck_assert_ptr_nonnull(strstr(cause, missing));
	free(cause);
}
END_TEST

START_TEST(test_load_file_directory)
{
	/* A directory given as the config file is an error, not an empty
	 * configuration. */
	char	*cause = NULL;

	ck_assert_int_eq(config_load_file(c, tmpdir, &cause), -1);
	ck_assert_ptr_nonnull(cause);
	ck_assert_ptr_nonnull(strstr(cause, tmpdir));
	free(cause);
}
END_TEST

START_TEST(test_load_file_long_comment)
{
	/* A comment longer than any line buffer is still one comment: the
	 * lines after it load and keep their numbers. */
	static char	 text[10000 + 200];
	size_t		 n = 10000, i;
	char		*cause = NULL;
	const char	*path;

	strcpy(text, "# ");
	for (i = 2; i < n; i++)
		text[i] = (char)('a' + i % 26);
	strcpy(text + n, "\nmax_line = 2048\nmax_outbuf = nope\n");
	path = write_file("long.conf", text);
	ck_assert_int_eq(config_load_file(c, path, &cause), -1);
	ck_assert_ptr_nonnull(cause);
	{
		char where[256];

		snprintf(where, sizeof where, "%s:3:", path);
		ck_assert_msg(strstr(cause, where) != NULL,
		    "'%s' should name line 3", cause);
	}
	free(cause);
	cause = NULL;
	strcpy(text + n, "\nmax_line = 2048\n");
	path = write_file("long2.conf", text);
	ck_assert_msg(config_load_file(c, path, &cause) == 0, "%s", cause);
	ck_assert_uint_eq(c->max_line, 2048);
}
END_TEST

/* ---- precedence ----------------------------------------------------------------------- */

START_TEST(test_build_precedence)
{
	static const struct config_override ov[] = {
		{ "max_line", "2048" },
		{ "max_contacts", "5" },
		{ "max_contacts", "6" },	/* the later one wins */
	};
	struct config	*b;
	const char	*path;
	char		*cause = NULL;

	path = write_file("p.conf", "max_line = 1024\nmax_outbuf = 4096\n"
	    "max_contacts = 3\nlag_timeout = 9\n");
	b = config_build(path, ov, 3, &cause);
	ck_assert_msg(b != NULL, "%s", cause);
	ck_assert_uint_eq(b->max_line, 2048);		/* override */
	ck_assert_uint_eq(b->max_outbuf, 4096);		/* file */
	ck_assert_uint_eq(b->max_contacts, 6);		/* last override */
	ck_assert_double_eq(b->lag_timeout, 9.0);	/* file */
	ck_assert_uint_eq(b->max_connections, 10000);	/* default */
	config_free(b);
	/* No file: defaults plus overrides. */
	b = config_build(NULL, ov, 1, &cause);
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(b->max_line, 2048);
	ck_assert_uint_eq(b->max_outbuf, 1048576);
	config_free(b);
	/* No file and no overrides: the defaults. */
	b = config_build(NULL, NULL, 0, &cause);
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(b->max_line, 65536);
	config_free(b);
}
END_TEST

START_TEST(test_build_errors)
{
	static const struct config_override bad_ov[] = {
		{ "max_line", "2048" },
		{ "max_outbuf", "tiny" },
	};
	struct config	*b;
	const char	*path;
	char		*cause = NULL, where[256];

	/* A bad override names the option as typed, once, and its value. */
	b = config_build(NULL, bad_ov, 2, &cause);
	ck_assert_ptr_null(b);
	ck_assert_ptr_nonnull(cause);
	ck_assert_msg(strncmp(cause, "--max-outbuf: bad value 'tiny' (", 32)
	    == 0 && strstr(cause, "max_outbuf") == NULL, "cause: %s", cause);
	free(cause);
	cause = NULL;
	/* A bad file names file:line, even when an override would fix it. */
	path = write_file("b.conf", "max_line = 1024\nmax_line = 3\n");
	b = config_build(path, bad_ov, 1, &cause);
	ck_assert_ptr_null(b);
	ck_assert_ptr_nonnull(cause);
	snprintf(where, sizeof where, "%s:2:", path);
	ck_assert_msg(strstr(cause, where) != NULL, "%s", cause);
	free(cause);
	cause = NULL;
	/* A missing file. */
	snprintf(where, sizeof where, "%s/missing.conf", tmpdir);
	b = config_build(where, NULL, 0, &cause);
	ck_assert_ptr_null(b);
	ck_assert_ptr_nonnull(cause);
	ck_assert_ptr_nonnull(strstr(cause, where));
	free(cause);
}
END_TEST

/* ---- publish ACL ------------------------------------------------------------------------- */

START_TEST(test_may_publish)
{
	/* No lists: anyone, root included. */
	ck_assert_int_eq(config_may_publish(c, 0, 0), 1);
	ck_assert_int_eq(config_may_publish(c, 1000, 1000), 1);
	ck_assert_int_eq(config_may_publish(c, 65534, 65534), 1);
	/* A uid list. */
	set_ok("publish_uids", "1000, 1002");
	ck_assert_int_eq(config_may_publish(c, 1000, 5), 1);
	ck_assert_int_eq(config_may_publish(c, 1002, 1002), 1);
	ck_assert_int_eq(config_may_publish(c, 1001, 1000), 0);
	ck_assert_int_eq(config_may_publish(c, 0, 0), 0);	/* not exempt */
	/* A gid list on top: either matches. */
	set_ok("publish_gids", "50");
	ck_assert_int_eq(config_may_publish(c, 1001, 50), 1);
	ck_assert_int_eq(config_may_publish(c, 1000, 51), 1);
	ck_assert_int_eq(config_may_publish(c, 1001, 51), 0);
	ck_assert_int_eq(config_may_publish(c, 0, 0), 0);
	/* Only a gid list. */
	set_ok("publish_uids", "");
	ck_assert_int_eq(config_may_publish(c, 1000, 5), 0);
	ck_assert_int_eq(config_may_publish(c, 1000, 50), 1);
	ck_assert_int_eq(config_may_publish(c, 0, 50), 1);
	ck_assert_int_eq(config_may_publish(c, 0, 0), 0);
	/* Root when listed. */
	set_ok("publish_uids", "0");
	ck_assert_int_eq(config_may_publish(c, 0, 0), 1);
	/* Both lists cleared: anyone again. */
	set_ok("publish_uids", "");
	set_ok("publish_gids", "");
	ck_assert_int_eq(config_may_publish(c, 4242, 4242), 1);
}
END_TEST

/* ---- option names ---------------------------------------------------------------------------- */

START_TEST(test_key_for_option)
{
	static const struct {
		const char	*option, *key;
	} map[] = {
		{ "max-outbuf", "max_outbuf" },
		{ "max-line", "max_line" },
		{ "max-connections", "max_connections" },
		{ "max-subscriptions", "max_subscriptions" },
		{ "max-contacts", "max_contacts" },
		{ "lag-timeout", "lag_timeout" },
		{ "publish-uids", "publish_uids" },
		{ "publish-gids", "publish_gids" },
		{ "socket-mode", "socket_mode" },
		{ "socket-group", "socket_group" },
		{ "socket", "socket" },
		{ "verbose", "verbose" },
	};
	static const char	*const none[] = { "", "config", "help",
	    "version", "max-bogus", "max-outbuf-", "-max-outbuf", "max",
	    "MAX-OUTBUF" };
	const struct option	*lo;
	const char		*k;
	char			*cause;
	size_t			 i, n;

	for (i = 0; i < sizeof map / sizeof map[0]; i++) {
		k = config_key_for_option(map[i].option);
		ck_assert_msg(k != NULL, "--%s has no key", map[i].option);
		ck_assert_str_eq(k, map[i].key);
	}
	for (i = 0; i < sizeof none / sizeof none[0]; i++)
		ck_assert_msg(config_key_for_option(none[i]) == NULL,
		    "'%s' mapped to a key", none[i]);
	/* Every long option except -c/--version/--help maps to a key that
	 * config_set knows: the command line and the file cannot drift. */
	lo = config_long_options();
	ck_assert_ptr_nonnull(lo);
	for (n = 0; lo[n].name != NULL; n++) {
		if (strcmp(lo[n].name, "config") == 0 ||
		    strcmp(lo[n].name, "version") == 0 ||
		    strcmp(lo[n].name, "help") == 0)
			continue;
		ck_assert_msg(strchr(lo[n].name, '_') == NULL,
		    "--%s has an underscore", lo[n].name);
		k = config_key_for_option(lo[n].name);
		ck_assert_msg(k != NULL, "--%s has no key", lo[n].name);
		cause = NULL;
		/* The key is known (a bad value, not an unknown key). */
		if (config_set(c, k, "\x01", &cause) == -1) {
			ck_assert_ptr_nonnull(cause);
			ck_assert_msg(strstr(cause, "unknown") == NULL,
			    "--%s: %s", lo[n].name, cause);
		}
		free(cause);
	}
	/* Every option named in the contract is a long option. */
	for (i = 0; i < sizeof map / sizeof map[0]; i++) {
		size_t j;
		int found = 0;

		for (j = 0; lo[j].name != NULL; j++)
			found |= strcmp(lo[j].name, map[i].option) == 0;
		ck_assert_msg(found, "--%s missing from the long options",
		    map[i].option);
	}
}
END_TEST

static Suite *
config_suite(void)
{
	Suite	*s = suite_create("unit_config");
	TCase	*tc;

	tc = tcase_create("config");
	tcase_set_timeout(tc, 10);
	tcase_add_unchecked_fixture(tc, make_tmpdir, remove_tmpdir);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_accepted_values);
	tcase_add_test(tc, test_sizes_bounds);
	tcase_add_test(tc, test_uint_options);
	tcase_add_test(tc, test_seconds);
	tcase_add_test(tc, test_id_lists);
	tcase_add_test(tc, test_modes_and_flags);
	tcase_add_test(tc, test_strings);
	tcase_add_test(tc, test_redis_address);
	tcase_add_test(tc, test_unknown_key);
	tcase_add_test(tc, test_error_texts);
	tcase_add_test(tc, test_usage_text);
	tcase_add_test(tc, test_table_matches_docs);
	tcase_add_test(tc, test_reload_warnings);
	tcase_add_test(tc, test_load_file);
	tcase_add_test(tc, test_load_file_errors);
	tcase_add_test(tc, test_load_file_directory);
	tcase_add_test(tc, test_load_file_long_comment);
	tcase_add_test(tc, test_build_precedence);
	tcase_add_test(tc, test_build_errors);
	tcase_add_test(tc, test_may_publish);
	tcase_add_test(tc, test_key_for_option);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(config_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
