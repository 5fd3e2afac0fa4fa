/* SPDX-License-Identifier: MIT — crmpubsub */
/* The "Install" section of docs/postgres.md, run as written against a temp
 * PostgreSQL cluster and the real daemon: its createdb and CREATE TABLEs,
 * client/pg/crmpubsub.sql, the bridge's role and grants, the line it adds
 * to the shipped example configuration, crmpubsub-pg started with that
 * file, crmpubsub-cli subscribe, the INSERT, and the removal with
 * uninstall.sql. The log lines and the push the section shows must be what
 * appears.
 *
 * Steps that set up the machine (packages, make install, systemd, the
 * daemon, the system's cluster) are done the test's way: the daemon is the
 * test's, the cluster trusts local connections, and PGUSER stands in for
 * peer authentication (the system user crmpubsub is the role crmpubsub).
 * A step this file does not know fails the test, so a new step in the docs
 * is either run here or named as machine setup below. */

#include <check.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pgtest.h"

#define DOC		"docs/postgres.md"
#define DOC_CONF	"/etc/crmpubsub/crmpubsub-pg.conf"
#define MAX_WORDS	64

/* Commands that prepare the machine, which the test does its own way. */
static const char *const setup_programs[] = {
	"apt-get", "deps.sh", "make", "systemd-sysusers", "systemctl", "journalctl",
	"install", "pg_ctlcluster", "cd", "crmpubsubd", NULL
};

/* One shell command of the docs: its words, who runs it (runuser -u). */
struct command {
	char	*word[MAX_WORDS];
	int	 n;
	char	 user[32];
	char	 text[1024];	/* as written, for messages */
};

/* What the walk has made, and what the docs expect to see. */
struct walk {
	char			 dir[300];	/* the daemon's scratch dir */
	char			 conf[400];	/* the copy of the example */
	char			 db[64];	/* createdb's database */
	struct pgt_bridge	 bridge, cli;
	size_t			 npushes, nlogs;	/* shown and seen */
	int			 uninstalled;
};

/* The file's text (asserted), from the source tree. */
static char *
slurp(const char *rel)
{
	const char	*top = getenv("CRMPUBSUB_TOP");
	char		 path[1024], *text;

	snprintf(path, sizeof path, "%s/%s", top ? top : ".", rel);
	text = h_read_file(path);
	ck_assert_msg(text != NULL, "cannot read %s", path);
	return text;
}

/* Splits one sh block into commands: words with '…' and "…" quoting,
 * backslash-newline continuing a command, # comments; a trailing & is
 * dropped (the test waits for each program itself). *ncmd: how many. */
static struct command *
split_commands(const char *s, size_t *ncmd)
{
	struct command	*cmds = calloc(32, sizeof *cmds), *c;
	char		 word[4096], q;
	size_t		 len = 0, n = 0, tl = 0;
	int		 in_word = 0;

	ck_assert_ptr_nonnull(cmds);
	c = &cmds[0];
#define END_WORD() do { if (in_word) { word[len] = '\0';		\
	ck_assert_int_lt(c->n, MAX_WORDS - 1);				\
	c->word[c->n++] = strdup(word); len = 0; in_word = 0; } } while (0)
	for (; *s != '\0'; s++) {
		if (*s != '\n' && tl + 1 < sizeof c->text)
			c->text[tl++] = *s;
		if (*s == '\\' && s[1] == '\n') {
			s++;
		} else if (*s == ' ' || *s == '\t') {
			END_WORD();
		} else if (*s == '\n') {
			END_WORD();
			if (c->n > 0 && strcmp(c->word[c->n - 1], "&") == 0)
				free(c->word[--c->n]);
			if (c->n > 0) {
				ck_assert_uint_lt(++n, 32);
				c = &cmds[n];
			}
			memset(c, 0, sizeof *c);
			tl = 0;
		} else if (*s == '#' && !in_word) {
			while (s[1] != '\0' && s[1] != '\n')
				s++;
		} else if (*s == '\'' || *s == '"') {
			for (q = *s++, in_word = 1; *s != q; s++) {
				ck_assert_msg(*s != '\0', "unclosed %c", q);
				if (q == '"' && *s == '\\' &&
				    strchr("\"\\$`", s[1]) != NULL)
					s++;
				if (tl + 1 < sizeof c->text)
					c->text[tl++] = *s == '\n' ? ' ' : *s;
				ck_assert_uint_lt(len, sizeof word - 1);
				word[len++] = *s;
			}
			if (tl + 1 < sizeof c->text)
				c->text[tl++] = q;
		} else {
			ck_assert_uint_lt(len, sizeof word - 1);
			word[len++] = *s;
			in_word = 1;
		}
	}
#undef END_WORD
	*ncmd = n;
	return cmds;
}

static void
free_commands(struct command *cmds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (int j = 0; j < cmds[i].n; j++)
			free(cmds[i].word[j]);
	free(cmds);
}

/* Whether argv[1..] of c holds word. */
static int
has_word(const struct command *c, int first, const char *word)
{
	for (int i = first; i < c->n; i++)
		if (strcmp(c->word[i], word) == 0)
			return 1;
	return 0;
}

/* psql -d DB (-c SQL | -f FILE), as the cluster's superuser. The file is
 * the installed copy of one in client/pg. */
static void
run_psql(const struct command *c, int at)
{
	const char	*db = NULL, *sql = NULL, *file = NULL;
	char		 rel[300], copy[300];
	int		 i;

	ck_assert_msg(strcmp(c->user, "postgres") == 0, "%s: psql as %s",
	    c->text, c->user[0] ? c->user : "root");
	for (i = at + 1; i + 1 < c->n; i += 2) {
		if (strcmp(c->word[i], "-d") == 0)
			db = c->word[i + 1];
		else if (strcmp(c->word[i], "-c") == 0)
			sql = c->word[i + 1];
		else if (strcmp(c->word[i], "-f") == 0)
			file = c->word[i + 1];
		else
			ck_abort_msg("%s: option %s not understood", c->text,
			    c->word[i]);
	}
	ck_assert_msg(i == c->n && db != NULL && (sql != NULL) != (file != NULL),
	    "%s: not psql -d DB -c SQL or -f FILE", c->text);
	if (sql != NULL) {
		ck_assert_msg(pgt_psql_c(db, sql) == 0, "%s failed (see "
		    "%s/psql.log)", c->text, pgt.dir);
		return;
	}
	snprintf(copy, sizeof copy, "%s", file);
	ck_assert_msg(strcmp(dirname(copy), "/usr/local/share/crmpubsub") == 0,
	    "%s: make install puts the SQL in /usr/local/share/crmpubsub",
	    c->text);
	snprintf(copy, sizeof copy, "%s", file);
	snprintf(rel, sizeof rel, "client/pg/%s", basename(copy));
	ck_assert_msg(pgt_psql(db, rel, NULL) == 0, "%s failed (see "
	    "%s/psql.log)", c->text, pgt.dir);
}

/* Runs one command of the docs, or fails naming it. */
static void
run_command(struct walk *w, struct command *c)
{
	const char	*prog;
	char		 sock_env[400], host_env[320], user_env[64], log[400];
	char		*env[] = { sock_env, host_env, user_env, NULL };
	char		*argv[MAX_WORDS], *args[MAX_WORDS];
	PGconn		*pg;
	FILE		*f;
	int		 at = 0, i, n;

	if (c->n >= 4 && strcmp(c->word[0], "runuser") == 0 &&
	    strcmp(c->word[1], "-u") == 0 && strcmp(c->word[3], "--") == 0) {
		snprintf(c->user, sizeof c->user, "%s", c->word[2]);
		at = 4;
	}
	ck_assert_msg(at < c->n, "%s: no command", c->text);
	prog = strrchr(c->word[at], '/') ? strrchr(c->word[at], '/') + 1 :
	    c->word[at];
	snprintf(sock_env, sizeof sock_env, "CRMPUBSUB_SOCKET=%s",
	    h_test_daemon.sock);
	snprintf(host_env, sizeof host_env, "PGHOST=%s", pgt.dir);
	snprintf(user_env, sizeof user_env, "PGUSER=%s", c->user);

	if (strcmp(prog, "createdb") == 0 && c->n == at + 2) {
		snprintf(w->db, sizeof w->db, "%s", c->word[at + 1]);
		pg = pgt_connect("postgres");
		pgt_exec(pg, "CREATE DATABASE %s", w->db);
		PQfinish(pg);
	} else if (strcmp(prog, "psql") == 0) {
		run_psql(c, at);
		w->uninstalled |= strstr(c->text, "uninstall.sql") != NULL;
	} else if (strcmp(prog, "echo") == 0 && c->n == at + 4 &&
	    strcmp(c->word[at + 2], ">>") == 0) {
		ck_assert_msg(strcmp(c->word[at + 3], DOC_CONF) == 0,
		    "%s: which file?", c->text);
		ck_assert_ptr_nonnull(f = fopen(w->conf, "a"));
		fprintf(f, "%s\n", c->word[at + 1]);
		fclose(f);
	} else if (strcmp(prog, "crmpubsub-pg") == 0) {
		/* The docs' command line, the configuration file mapped to
		 * the test's copy. */
		ck_assert_msg(c->user[0] != '\0', "%s: as whom?", c->text);
		for (i = at + 1, n = 0; i < c->n; i++)
			args[n++] = strcmp(c->word[i], DOC_CONF) == 0 ?
			    w->conf : c->word[i];
		args[n] = NULL;
		pgt_bridge_start(&w->bridge, w->dir, (const char *const *)args,
		    env);
	} else if (strcmp(prog, "crmpubsub-cli") == 0) {
		snprintf(log, sizeof log, "%s/cli.log", w->dir);
		ck_assert_int_ne(asprintf(&argv[0], "%s/client/crmpubsub-cli",
		    getenv("CRMPUBSUB_TOP") ? getenv("CRMPUBSUB_TOP") : "."),
		    -1);
		for (i = at + 1, n = 1; i < c->n; i++)
			argv[n++] = c->word[i];
		argv[n] = NULL;
		pgt_program_start(&w->cli, log, argv, env);
		free(argv[0]);
		ck_assert_msg(pgt_log_line(&w->cli, PGT_WAIT_MS, "following",
		    NULL) != NULL, "%s: not following", c->text);
	} else if (strcmp(prog, "systemctl") == 0 &&
	    strcmp(c->word[c->n - 1], "crmpubsub-pg") == 0 &&
	    (has_word(c, at, "stop") || has_word(c, at, "disable"))) {
		if (w->bridge.pid > 0)
			pgt_bridge_stop_clean(&w->bridge);
	} else {
		for (i = 0; setup_programs[i] != NULL; i++)
			if (strcmp(prog, setup_programs[i]) == 0)
				return;
		ck_abort_msg("docs/postgres.md: step not understood: %s",
		    c->text);
	}
}

/* What a line the docs show as the bridge's log must contain: its text
 * before the first '/' or '(' (the variable parts: paths, versions, ids)
 * and after the last ')'. */
static void
expect_log_line(const struct walk *w, const char *line)
{
	char	head[256], tail[256];
	size_t	n = strcspn(line, "/(");
	const char *close = strrchr(line, ')');

	snprintf(head, sizeof head, "%.*s", (int)n, line);
	snprintf(tail, sizeof tail, "%s", close != NULL ? close + 1 : "");
	if (pgt_log_line(&w->bridge, PGT_WAIT_MS, head, tail, NULL) == NULL)
		pgt_show_log(&w->bridge);
	ck_assert_msg(pgt_log_line(&w->bridge, 0, head, tail, NULL)
	    != NULL, "the docs show the log line\n  %s\nbut the bridge "
	    "logged no line with [%s] and [%s]", line, head, tail);
}

/* A plain block of the docs, output shown after the step before it: each
 * JSON line a push crmpubsub-cli prints, each other line one the bridge
 * logs. Waited for here, as a reader would before going on. */
static void
expect_output(struct walk *w, char *block)
{
	char	*line, *next;

	for (line = block; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (*line == '\0')
			continue;
		ck_assert_msg(w->bridge.log[0] != '\0', "output shown before "
		    "the bridge starts: %s", line);
		if (*line != '{') {
			expect_log_line(w, line);
			w->nlogs++;
			continue;
		}
		ck_assert_msg(w->cli.log[0] != '\0', "a push shown before "
		    "crmpubsub-cli runs: %s", line);
		if (pgt_log_line(&w->cli, PGT_WAIT_MS, line, NULL) == NULL)
			pgt_show_log(&w->bridge);
		ck_assert_msg(pgt_log_line(&w->cli, 0, line, NULL) != NULL,
		    "crmpubsub-cli never printed\n  %s", line);
		w->npushes++;
	}
}

START_TEST(install_steps_as_written)
{
	char		*doc = slurp(DOC), *conf = slurp("systemd/crmpubsub-pg.conf");
	char		*start, *end, *line, *next, *block = NULL, lang[16];
	struct walk	 w = { .bridge.pid = -1, .cli.pid = -1 };
	struct command	*cmds;
	size_t		 ncmds, i, blen = 0;
	FILE		*f, *bf = NULL;
	PGconn		*pg;

	start = strstr(doc, "\n## Install\n");
	ck_assert_msg(start != NULL, DOC " has no \"## Install\" section");
	end = strstr(start + 1, "\n## ");
	if (end != NULL)
		*end = '\0';

	h_test_up(NULL);
	snprintf(w.dir, sizeof w.dir, "%s", h_test_daemon.dir);
	snprintf(w.conf, sizeof w.conf, "%s/crmpubsub-pg.conf", w.dir);
	ck_assert_ptr_nonnull(f = fopen(w.conf, "w"));
	fputs(conf, f);
	fclose(f);

	/* Fenced blocks in order: sh blocks are run; a plain block shows
	 * output — a JSON line is a push, any other line the bridge's log. */
	for (line = start; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		line += strspn(line, " ");
		if (strncmp(line, "```", 3) == 0 && bf == NULL) {
			snprintf(lang, sizeof lang, "%s", line + 3);
			ck_assert_ptr_nonnull(bf = open_memstream(&block, &blen));
			continue;
		}
		if (strncmp(line, "```", 3) == 0) {
			fclose(bf);
			bf = NULL;
			if (strcmp(lang, "sh") == 0) {
				cmds = split_commands(block, &ncmds);
				for (i = 0; i < ncmds; i++)
					run_command(&w, &cmds[i]);
				free_commands(cmds, ncmds);
			} else if (lang[0] == '\0') {
				expect_output(&w, block);
			}
			free(block);
			block = NULL;
			continue;
		}
		if (bf != NULL)
			fprintf(bf, "%s\n", line);
	}
	ck_assert_msg(bf == NULL, "an unclosed fence in " DOC);

	/* The docs showed, and the test saw, the bridge's log and a push. */
	ck_assert_msg(w.bridge.log[0] != '\0', "the docs never start the bridge");
	ck_assert_msg(w.npushes > 0 && w.nlogs > 0, "the docs show no push "
	    "or no log lines");
	ck_assert_msg(w.uninstalled, "the docs never remove it");
	ck_assert_msg(pgt_log_stray_line(&w.bridge, "crmpubsub-pg: ") == NULL,
	    "a log line without the prefix: %s",
	    pgt_log_stray_line(&w.bridge, "crmpubsub-pg: "));
	pg = pgt_connect(w.db);
	ck_assert_int_eq(pgt_int(pg, "SELECT count(*) FROM pg_namespace "
	    "WHERE nspname = 'crmpubsub'"), 0);
	PQfinish(pg);

	if (w.bridge.pid > 0)
		pgt_bridge_stop_clean(&w.bridge);
	h_test_down();		/* crmpubsub-cli sees the daemon go, and ends */
	if (w.cli.pid > 0)
		pgt_bridge_stop(&w.cli, SIGTERM);
	free(doc);
	free(conf);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("pg_docs");
	TCase	*tc = tcase_create("docs");

	tcase_add_unchecked_fixture(tc, pgt_cluster_up, pgt_cluster_down);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, install_steps_as_written);
	suite_add_tcase(s, tc);
	return pgt_run(s, 1);
}
