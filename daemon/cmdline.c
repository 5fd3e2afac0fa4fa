/* SPDX-License-Identifier: MIT — crmpubsub */
/* The command line's side of the option table: the getopt_long table and
 * the --help text, both made from config.c's options[] so they cannot
 * drift from the config file. */

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "crmpubsubd.h"

/* Prints text from column col, wrapped before column 80; never breaks
 * inside parentheses, so "(default 30)" stays on one line. */
static void
usage_wrap(FILE *f, int col, int used, const char *text)
{
	const char	*p = text, *w;
	int		 depth = 0, len;

	fprintf(f, "%*s", col > used ? col - used : 1, "");
	used = col;
	while (*p != '\0') {
		for (w = p, len = 0; w[len] != '\0' && (depth > 0 ||
		    w[len] != ' '); len++)
			depth += (w[len] == '(') - (w[len] == ')');
		if (used > col && used + 1 + len > 79) {
			fprintf(f, "\n%*s", col, "");
			used = col;
		} else if (used > col) {
			fputc(' ', f);
			used++;
		}
		fprintf(f, "%.*s", len, w);
		used += len;
		for (p = w + len; *p == ' '; p++)
			;
	}
	fputc('\n', f);
}

void
config_print_usage(FILE *f)
{
	const struct option_def	*options, *o;
	char			 left[96], name[64], text[256];
	size_t			 i, n;

	fprintf(f, "usage: crmpubsubd [-v] [-s PATH] [-c FILE] "
	    "[--OPTION VALUE]...\n"
	    "       crmpubsubd --version | --help\n\n"
	    "Every --OPTION is also a \"key = value\" line of the config file\n"
	    "(--max-outbuf is max_outbuf); the command line wins. Sizes take a\n"
	    "K, M or G suffix (powers of 1024).\n\n");
	usage_wrap(f, 31, fprintf(f, "  -c, --config FILE"),
	    "read settings from FILE");
	options = config_options(&n);
	for (i = 0; i < n; i++) {
		o = &options[i];
		snprintf(left, sizeof left, "  %s%s%s%s",
		    strcmp(o->key, "socket") == 0 ? "-s, " :
		    strcmp(o->key, "verbose") == 0 ? "-v, " : "    ",
		    config_option_name(o->key, name, sizeof name),
		    o->arg != NULL ? " " : "", o->arg != NULL ? o->arg : "");
		if (o->defval != NULL && o->type != OPT_FLAG)
			snprintf(text, sizeof text, "%s (default %s)", o->help,
			    o->defval);
		else
			snprintf(text, sizeof text, "%s", o->help);
		usage_wrap(f, 31, fprintf(f, "%s", left), text);
	}
	usage_wrap(f, 31, fprintf(f, "      --version"),
	    "print the version and exit");
	usage_wrap(f, 31, fprintf(f, "  -h, --help"), "print this text and exit");
}

/* getopt_long table: every option of the table plus -c, -v, --version, -h.
 * Table options return 0 and are found by their index. */
const struct option *
config_long_options(void)
{
	static struct option	 lo[CONFIG_MAX_OPTIONS + 4];
	static char		 names[CONFIG_MAX_OPTIONS][64];
	const struct option_def	*options;
	size_t			 i, n = 0, nopt;

	if (lo[0].name != NULL)
		return lo;
	options = config_options(&nopt);
	for (i = 0; i < nopt && i < CONFIG_MAX_OPTIONS; i++) {
		lo[n].name = config_option_name(options[i].key, names[i],
		    sizeof names[i]) + 2;
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
