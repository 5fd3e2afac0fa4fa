/* SPDX-License-Identifier: MIT — crmpubsub */
/* Example writer: broadcasts one interaction change to its involved contacts,
 * the way a CRM process does after committing it.
 *
 *   writer [-s SOCKET] EVENT INTERACTION_UUID SUBJECT_UUID|- [PARTY_UUID|- ...]
 *   writer [-s SOCKET] -c EVENT INTERACTION_UUID CONTACT_UUID|- ...
 *
 * EVENT is created, updated or deleted, or the full interaction_created,
 * interaction_updated, interaction_deleted (as crmpubsub-cli takes them).
 * "-" stands for "no contact" (a NULL subject, an unresolved party, a null
 * entry of the contact list). -c sends broadcast_to_contacts instead.
 * Broadcasts are best effort; this program then calls crmpubsub_flush to
 * report whether the daemon got it. The library's warnings and errors go
 * to stderr, including why the daemon could not be reached.
 *
 * Build: cc writer.c $(pkg-config --cflags --libs libcrmpubsub) */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <crmpubsub.h>

/* The library's warnings and errors go to stderr. */
static void
log_to_stderr(void *arg, enum crmpubsub_log_level level, const char *msg)
{
	(void)arg;
	if (level <= CRMPUBSUB_LOG_WARNING)
		fprintf(stderr, "writer: %s: %s\n", level ==
		    CRMPUBSUB_LOG_ERROR ? "error" : "warning", msg);
}

static void
usage(void)
{
	fprintf(stderr, "usage: writer [-s SOCKET] EVENT INTERACTION_UUID "
	    "SUBJECT_UUID|- [PARTY_UUID|- ...]\n"
	    "       writer [-s SOCKET] -c EVENT INTERACTION_UUID "
	    "CONTACT_UUID|- ...\n"
	    "EVENT: created, updated, deleted (or interaction_created, ...);\n"
	    "-: no contact (a NULL subject, party or list entry)\n");
	exit(2);
}

/* EVENT as crmpubsub-cli takes it: the event's name with or without its
 * "interaction_" prefix. 0, or -1. */
static int
event_arg(const char *s, enum crmpubsub_event *ev)
{
	char	full[64];

	if (crmpubsub_event_parse(s, ev) == 0)
		return 0;
	snprintf(full, sizeof full, "interaction_%s", s);
	return crmpubsub_event_parse(full, ev);
}

/* "-" means NULL. */
static const char *
uuid_arg(const char *s)
{
	return strcmp(s, "-") == 0 ? NULL : s;
}

int
main(int argc, char **argv)
{
	struct crmpubsub_interaction	 it;
	struct crmpubsub_stats		 st;
	enum crmpubsub_event		 ev;
	const char			*socket_path = NULL;
	const char			**uuids;
	char				(*involved)[CRMPUBSUB_UUID_LEN + 1];
	crmpubsub			*c;
	int				 ch, to_contacts = 0, i, n, rc;
	long				 ninvolved, j;

	while ((ch = getopt(argc, argv, "cs:")) != -1) {
		switch (ch) {
		case 'c':
			to_contacts = 1;
			break;
		case 's':
			socket_path = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 3 || event_arg(argv[0], &ev) == -1)
		usage();

	/* The rest of the arguments are contact UUIDs or "-". */
	n = argc - 2;
	uuids = calloc((size_t)n, sizeof *uuids);
	involved = calloc((size_t)n, sizeof *involved);
	if (uuids == NULL || involved == NULL)
		return 1;
	for (i = 0; i < n; i++)
		uuids[i] = uuid_arg(argv[2 + i]);

	/* The log callback first, so that a failing first connection says
	 * why (crmpubsub_open would connect before it is set). */
	c = crmpubsub_new();
	if (c == NULL) {
		perror("writer: crmpubsub_new");
		return 1;
	}
	crmpubsub_set_log(c, log_to_stderr, NULL);
	if (crmpubsub_set_socket_path(c, socket_path) == -1 ||
	    crmpubsub_set_client_name(c, "example-writer") == -1) {
		perror("writer: socket path or client name");
		return 2;
	}
	/* Best effort: when the daemon is away the handle keeps trying and
	 * the broadcast waits in its queue meanwhile. */
	(void)crmpubsub_connect(c);

	if (to_contacts) {
		crmpubsub_broadcast_to_contacts(c, ev, argv[1], uuids,
		    (size_t)n);
	} else {
		memset(&it, 0, sizeof it);
		it.uuid = argv[1];
		it.contact_uuid = uuids[0];
		it.party_contact_uuids = uuids + 1;
		it.n_parties = (size_t)n - 1;
		ninvolved = crmpubsub_involved_contact_uuids(&it, involved,
		    (size_t)n);
		for (j = 0; j < ninvolved; j++)
			printf("involved %s\n", involved[j]);
		crmpubsub_broadcast_interaction(c, ev, &it);
	}

	/* Optional: wait (at most 2 s) for the daemon's acknowledgement. */
	rc = crmpubsub_flush(c, 2000);
	crmpubsub_stats(c, &st);
	if (rc == 0)
		printf("acknowledged, delivered %llu\n", st.delivered);
	else
		printf("not acknowledged (acked %llu failed %llu rejected %llu "
		    "dropped %llu lost %llu pending %llu)\n", st.acked,
		    st.failed, st.rejected, st.dropped, st.lost, st.pending);
	crmpubsub_close(c);
	free(uuids);
	free(involved);
	return rc == 0 ? 0 : 1;
}
