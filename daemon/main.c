/* SPDX-License-Identifier: MIT — crmpubsub */
/* crmpubsubd: command line, signals, the event loop, start and stop. */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crmpubsubd.h"

#define SHUTDOWN_FLUSH_SECONDS	2

struct event_base	*base;

static const char		*config_file;
static struct config_override	*overrides;
static size_t			 noverrides;
static int			 stopping;
static struct event		*stop_poll_ev;
static struct event		*ev_term, *ev_int, *ev_hup;

/* A bad command line: one line naming the problem, exit 2. */
static void __attribute__((format(printf, 1, 2), noreturn))
usage_error(const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "crmpubsubd: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see crmpubsubd --help)\n");
	exit(2);
}

/* Records "--key value" so that reloads apply it on top of the file. */
static void
add_override(const char *key, const char *value)
{
	struct config_override	*p;

	p = realloc(overrides, (noverrides + 1) * sizeof *overrides);
	if (p == NULL)
		fatal("realloc");
	overrides = p;
	overrides[noverrides].key = key;
	overrides[noverrides].value = value;
	noverrides++;
}

static void
parse_args(int argc, char **argv)
{
	const struct option	*lo = config_long_options();
	int			 ch, idx;
	char			 optname[64];

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
			printf("crmpubsubd %s (protocol 1)\n", CRMPUBSUB_VERSION);
			exit(0);
		case 'h':
			config_print_usage(stdout);
			exit(0);
		case 0:
			add_override(config_key_for_option(lo[idx].name),
			    optarg);
			break;
		case ':':
			snprintf(optname, sizeof optname, "%s", optopt ?
			    (char[]){ '-', (char)optopt, '\0' } :
			    argv[optind - 1]);
			usage_error("%s needs a value", optname);
			break;
		default:
			if (optopt)
				snprintf(optname, sizeof optname, "-%c", optopt);
			else
				snprintf(optname, sizeof optname, "%s",
				    argv[optind - 1]);
			usage_error("unknown option '%s'", optname);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
}

/* During shutdown: stop once every connection has flushed or left. */
static void
stop_poll_cb(evutil_socket_t fd, short what, void *arg)
{
	if (!conn_any_open())
		event_base_loopbreak(base);
}

static void
shutdown_begin(void)
{
	struct timeval	flush = { SHUTDOWN_FLUSH_SECONDS, 0 };
	struct timeval	poll_every = { 0, 10000 };

	log_info("shutting down");
	stopping = 1;
	notify_send("STOPPING=1\nSTATUS=shutting down");
	listen_stop();
	httpd_close();
	conn_shutdown_all();
	event_base_loopexit(base, &flush);
	stop_poll_ev = event_new(base, -1, EV_PERSIST, stop_poll_cb, NULL);
	if (stop_poll_ev != NULL)
		event_add(stop_poll_ev, &poll_every);
}

static void
signal_stop_cb(evutil_socket_t sig, short what, void *arg)
{
	if (stopping) {
		log_info("second signal: exiting now");
		event_base_loopbreak(base);
		return;
	}
	shutdown_begin();
}

/* SIGHUP: rebuild the settings; a bad file leaves the old ones in force. */
static void
signal_reload_cb(evutil_socket_t sig, short what, void *arg)
{
	struct config	*c;
	char		*cause = NULL;

	notify_reloading();
	c = config_build(config_file, overrides, noverrides, &cause);
	if (c == NULL) {
		log_warnx("reload failed, keeping the old settings: %s",
		    cause ? cause : "error");
		notify_reloaded(cause ? cause : "error");
		free(cause);
		return;
	}
	config_warn_fixed(cfg, c);
	config_free(cfg);
	cfg = c;
	log_set_verbose(cfg->verbose);
	log_info("reloaded %s", config_file ? config_file :
	    "(no config file)");
	notify_reloaded(NULL);
}

/* Releases everything, so a sanitizer run ends with nothing leaked. */
static void
teardown(void)
{
	federate_shutdown();
	httpd_close();
	notify_stop();
	conn_close_all();
	subs_free_all();
	if (stop_poll_ev != NULL)
		event_free(stop_poll_ev);
	event_free(ev_term);
	event_free(ev_int);
	event_free(ev_hup);
	event_base_free(base);
	libevent_global_shutdown();
	config_free(cfg);
	free(overrides);
}

/* A listener could not be opened: logs why, undoes the start, exit 1. */
static int
start_failed(char *cause, const char *fallback)
{
	log_errx("%s", cause ? cause : fallback);
	free(cause);
	listen_stop();
	teardown();
	return 1;
}

int
main(int argc, char **argv)
{
	char		*cause = NULL;

	parse_args(argc, argv);
	cfg = config_build(config_file, overrides, noverrides, &cause);
	if (cfg == NULL) {
		fprintf(stderr, "crmpubsubd: %s\n", cause ? cause : "bad config");
		free(cause);
		free(overrides);
		return 2;
	}
	log_init(cfg->verbose);
	signal(SIGPIPE, SIG_IGN);

	if ((base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	if (conn_init(base) == -1)
		fatalx("out of memory");
	ev_term = evsignal_new(base, SIGTERM, signal_stop_cb, NULL);
	ev_int = evsignal_new(base, SIGINT, signal_stop_cb, NULL);
	ev_hup = evsignal_new(base, SIGHUP, signal_reload_cb, NULL);
	if (ev_term == NULL || ev_int == NULL || ev_hup == NULL ||
	    evsignal_add(ev_term, NULL) == -1 ||
	    evsignal_add(ev_int, NULL) == -1 || evsignal_add(ev_hup, NULL) == -1)
		fatalx("cannot set up signal handling");
	/* Signals are events before the socket exists: a SIGTERM that comes
	 * as soon as clients can connect is a clean shutdown. */
	if (listen_open(base, cfg, &cause) == -1)
		return start_failed(cause, "cannot listen");
	stats.started = time(NULL);
	if (federate_init(base, cfg, &cause) == -1)
		fatalx("federation: %s", cause ? cause : "cannot start");
	if (httpd_open(base, cfg, &cause) == -1)
		return start_failed(cause, "metrics_listen: cannot listen");

	log_info("crmpubsubd %s (libevent %s, %s) listening on %s",
	    CRMPUBSUB_VERSION, event_get_version(),
	    event_base_get_method(base), listen_path());
	if (notify_start(base) == -1)
		fatalx("out of memory");

	event_base_dispatch(base);

	if (!stopping) {
		listen_stop();
		log_warnx("event loop ended unexpectedly");
	}
	teardown();
	log_info("exited");
	return 0;
}
