/* SPDX-License-Identifier: MIT — crmpubsub */
/* crmpubsub-pg: turns the PostgreSQL outbox that crmpubsub.sql fills into
 * broadcasts to crmpubsubd. Command line, signals, the poll timer and the
 * event loop; db.c, link.c and drain.c do the work. */

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"

#define REPLY_TIMEOUT_S	10.0	/* a daemon that answers nothing this long is gone */
#define STOP_GRACE_S	5	/* an open round may finish this long after SIGTERM */
#define MAX_OVERRIDES	64

static struct event_base	*base;
static struct config		*cfg;
static const char		*config_file;
static const char		*ov_keys[MAX_OVERRIDES], *ov_values[MAX_OVERRIDES];
static size_t			 noverrides;
static int			 stopping;
static struct event		*ev_term, *ev_int, *ev_hup, *ev_poll, *ev_stop;

/* A bad command line: one line naming the problem, exit 2. */
static void __attribute__((format(printf, 1, 2), noreturn))
usage_error(const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, BRIDGE_NAME ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see " BRIDGE_NAME " --help)\n");
	exit(2);
}

/* Records "--key value" to apply over the config file. */
static void
add_override(const char *key, const char *value)
{
	if (noverrides == MAX_OVERRIDES)
		usage_error("too many options");
	ov_keys[noverrides] = key;
	ov_values[noverrides++] = value;
}

static void
parse_args(int argc, char **argv)
{
	const struct option	*lo = config_long_options();
	int			 ch, idx;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":s:c:vhV", lo, &idx)) != -1) {
		switch (ch) {
		case 's':
			add_override("socket", optarg);
			break;
		case 'c':
			config_file = optarg;
			break;
		case 'v':
			add_override("verbose", "yes");
			break;
		case 'V':
			printf(BRIDGE_NAME " %s\n", CRMPUBSUB_VERSION);
			exit(0);
		case 'h':
			config_print_usage(stdout);
			exit(0);
		case 0:
			add_override(config_key_for_option(lo[idx].name),
			    optarg);
			break;
		case ':':
			if (optopt)
				usage_error("-%c needs a value", optopt);
			usage_error("%s needs a value", argv[optind - 1]);
		default:
			if (optopt)
				usage_error("unknown option '-%c'", optopt);
			usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
}

/* The poll timer: a lost doorbell only delays. */
static void
poll_cb(evutil_socket_t fd, short what, void *arg)
{
	drain_kick();
}

/* While stopping: leave once no round is open. */
static void
stop_cb(evutil_socket_t fd, short what, void *arg)
{
	if (!drain_busy())
		event_base_loopbreak(base);
}

static void
signal_stop_cb(evutil_socket_t sig, short what, void *arg)
{
	struct timeval	grace = { STOP_GRACE_S, 0 }, every = { 0, 20000 };

	if (stopping) {
		log_info("second signal: exiting now");
		event_base_loopbreak(base);
		return;
	}
	stopping = 1;
	log_info("stopping%s", drain_busy() ? " after the open round" : "");
	event_del(ev_poll);
	event_base_loopexit(base, &grace);
	ev_stop = event_new(base, -1, EV_PERSIST, stop_cb, NULL);
	if (ev_stop == NULL || event_add(ev_stop, &every) == -1)
		event_base_loopbreak(base);
}

static void
signal_hup_cb(evutil_socket_t sig, short what, void *arg)
{
	log_info("SIGHUP ignored: restart " BRIDGE_NAME " to apply a changed "
	    "configuration");
}

/* Releases everything, so a sanitizer run ends with nothing leaked. */
static void
teardown(void)
{
	drain_shutdown();
	link_shutdown();
	db_shutdown();
	if (ev_stop != NULL)
		event_free(ev_stop);
	event_free(ev_poll);
	event_free(ev_term);
	event_free(ev_int);
	event_free(ev_hup);
	event_base_free(base);
	libevent_global_shutdown();
	config_free(cfg);
}

int
main(int argc, char **argv)
{
	struct timeval	 every;
	char		*cause = NULL;

	parse_args(argc, argv);
	cfg = config_build(config_file, ov_keys, ov_values, noverrides, &cause);
	if (cfg == NULL) {
		fprintf(stderr, BRIDGE_NAME ": %s\n", cause ? cause :
		    "bad configuration");
		free(cause);
		return 2;
	}
	log_init(cfg->verbose);
	signal(SIGPIPE, SIG_IGN);
	if ((base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	if (db_init(base, cfg->dsn, &cause) == -1) {
		fprintf(stderr, BRIDGE_NAME ": %s\n", cause ? cause :
		    "bad dsn");
		free(cause);
		event_base_free(base);
		libevent_global_shutdown();
		config_free(cfg);
		return 2;
	}
	every.tv_sec = (time_t)cfg->poll_interval;
	every.tv_usec = (suseconds_t)((cfg->poll_interval -
	    (double)every.tv_sec) * 1e6);
	ev_term = evsignal_new(base, SIGTERM, signal_stop_cb, NULL);
	ev_int = evsignal_new(base, SIGINT, signal_stop_cb, NULL);
	ev_hup = evsignal_new(base, SIGHUP, signal_hup_cb, NULL);
	ev_poll = event_new(base, -1, EV_PERSIST, poll_cb, NULL);
	if (ev_term == NULL || ev_int == NULL || ev_hup == NULL ||
	    ev_poll == NULL || event_add(ev_term, NULL) == -1 ||
	    event_add(ev_int, NULL) == -1 || event_add(ev_hup, NULL) == -1 ||
	    event_add(ev_poll, &every) == -1)
		fatalx("cannot set up signals and timers");

	log_info(BRIDGE_NAME " %s starting (libevent %s, %s): polling every "
	    "%g s, %u rows per round", CRMPUBSUB_VERSION, event_get_version(),
	    event_base_get_method(base), cfg->poll_interval, cfg->batch);
	drain_init(base, cfg);
	link_init(base, cfg->socket_path, REPLY_TIMEOUT_S);
	db_start();
	link_start();
	event_base_dispatch(base);
	log_info("stopped");
	teardown();
	return 0;
}
