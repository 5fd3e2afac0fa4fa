/* SPDX-License-Identifier: MIT — crmpubsub */
/* Example subscriber: follows the interaction feeds of some contacts and
 * prints one line per message, from its own poll(2) loop.
 *
 *   subscriber [-s SOCKET] [-n COUNT] [-t SECONDS] CONTACT_UUID...
 *
 * Output lines:
 *   subscribed N                       once the feeds are live (or pending)
 *   crm EVENT CONTACT_UUID INTERACTION_UUID
 *   resync REASON DROPPED              refetch every feed shown
 *   shutdown                           the daemon is stopping
 * It exits after COUNT messages (-n), after SECONDS without a message (-t),
 * or on SIGINT/SIGTERM. The library's log goes to stderr from INFO up:
 * why the daemon cannot be reached, a lost connection, the recovery.
 *
 * Build: cc subscriber.c $(pkg-config --cflags --libs libcrmpubsub) */

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <crmpubsub.h>

static volatile sig_atomic_t	stop;
static long			remaining = -1;	/* messages until exit, -1 */

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* The library's log lines go to stderr, connection changes included. */
static void
log_to_stderr(void *arg, enum crmpubsub_log_level level, const char *msg)
{
	static const char *const names[] = { "error", "warning", "info" };

	(void)arg;
	if (level <= CRMPUBSUB_LOG_INFO)
		fprintf(stderr, "subscriber: %s: %s\n", names[level], msg);
}

/* The dispatch callback: a real page would refetch the feed here. */
static void
on_message(void *arg, const struct crmpubsub_message *m)
{
	(void)arg;
	if (remaining == 0)
		return;		/* -n reached: the rest is not ours to print */
	switch (m->type) {
	case CRMPUBSUB_MSG_CRM:
		printf("crm %s %s %s\n", crmpubsub_event_name(m->event),
		    m->contact_uuid, m->interaction_uuid);
		break;
	case CRMPUBSUB_MSG_RESYNC:
		printf("resync %s %llu\n",
		    crmpubsub_resync_reason_name(m->reason), m->dropped);
		break;
	case CRMPUBSUB_MSG_SHUTDOWN:
		printf("shutdown\n");
		break;
	}
	fflush(stdout);
	if (remaining > 0 && --remaining == 0)
		stop = 1;
}

int
main(int argc, char **argv)
{
	struct sigaction	 sa;
	struct pollfd		 pfd;
	const char		*socket_path = NULL;
	const char		**topics;
	char			(*names)[CRMPUBSUB_TOPIC_MAX + 1];
	crmpubsub		*c;
	int			 ch, i, n, rc, idle_ms = -1;

	while ((ch = getopt(argc, argv, "n:s:t:")) != -1) {
		switch (ch) {
		case 'n':
			remaining = atol(optarg);
			break;
		case 's':
			socket_path = optarg;
			break;
		case 't':
			idle_ms = atoi(optarg) * 1000;
			break;
		default:
			goto usage;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		goto usage;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	n = argc;
	topics = calloc((size_t)n, sizeof *topics);
	names = calloc((size_t)n, sizeof *names);
	if (topics == NULL || names == NULL)
		return 1;
	for (i = 0; i < n; i++) {
		if (crmpubsub_topic_contact_interactions(argv[i],
		    names[i]) == -1) {
			fprintf(stderr, "subscriber: %s: not a UUID\n",
			    argv[i]);
			return 2;
		}
		topics[i] = names[i];
	}

	/* The log callback first, so that a failing first connection says
	 * why; then connect (a failure is not fatal: the handle keeps
	 * trying, and the subscription below goes live once it succeeds). */
	c = crmpubsub_new();
	if (c == NULL) {
		perror("subscriber: crmpubsub_new");
		return 1;
	}
	crmpubsub_set_log(c, log_to_stderr, NULL);
	if (crmpubsub_set_socket_path(c, socket_path) == -1 ||
	    crmpubsub_set_client_name(c, "example-subscriber") == -1) {
		perror("subscriber: socket path or client name");
		return 2;
	}
	(void)crmpubsub_connect(c);
	/* 0: live now. CRMPUBSUB_PENDING: the daemon is not reachable yet;
	 * the feeds go live on their own and a resync message says so. */
	rc = crmpubsub_subscribe_many(c, topics, (size_t)n);
	if (rc == -1) {
		fprintf(stderr, "subscriber: subscribe: %s\n", strerror(errno));
		crmpubsub_close(c);
		return 1;
	}
	printf("subscribed %d%s\n", n, rc == CRMPUBSUB_PENDING ?
	    " pending" : "");
	fflush(stdout);

	/* The application's own loop: wait for the library's descriptor,
	 * then let it dispatch whatever is ready. */
	pfd.fd = crmpubsub_fd(c);
	pfd.events = POLLIN;
	while (!stop) {
		rc = poll(&pfd, 1, idle_ms);
		if (rc == -1 && errno == EINTR)
			continue;
		if (rc == 0)
			break;		/* idle for -t seconds */
		crmpubsub_dispatch(c, on_message, NULL, 0);
	}
	crmpubsub_close(c);
	free(topics);
	free(names);
	return 0;
usage:
	fprintf(stderr, "usage: subscriber [-s SOCKET] [-n COUNT] "
	    "[-t SECONDS] CONTACT_UUID...\n");
	return 2;
}
