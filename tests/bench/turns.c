/* SPDX-License-Identifier: MIT — crmpubsub */
/* Turn taking between two generators run side by side: a one-byte token
 * goes back and forth through two FIFOs, and only the generator holding it
 * sends. Each
 * server then has the machine to itself while it is measured, yet both are
 * measured through the same seconds, so the machine's passing changes of
 * speed fall on both alike. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "loadgen.h"

#define TURN_WAIT_MS	30000	/* a peer silent this long has failed */

static int	turn_in = -1, turn_out = -1;
static bool	peer_done;	/* the other generator has measured all it needs */

/* Opens both ends without blocking: O_RDWR keeps a FIFO open even while
 * the peer has not opened it yet, or has already exited. */
static int
open_fifo(const char *path)
{
	int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "loadgen: %s: ", path);
		perror("open");
		exit(2);
	}
	return fd;
}

void
turns_open(const char *in_path, const char *out_path)
{
	turn_in = open_fifo(in_path);
	turn_out = open_fifo(out_path);
}

/* Waits for the turn. Once the other generator is done, every turn is
 * this one's. */
void
turns_wait(void)
{
	struct pollfd pfd = { .fd = turn_in, .events = POLLIN };
	char token;
	ssize_t n;

	while (!peer_done) {
		n = read(turn_in, &token, 1);
		if (n == 1) {
			peer_done = token == 'd';
			return;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			perror("loadgen: turn fifo");
			exit(2);
		}
		if (poll(&pfd, 1, TURN_WAIT_MS) == 0) {
			fprintf(stderr, "loadgen: no turn came back in %d s; "
			    "the other generator has failed\n", TURN_WAIT_MS / 1000);
			exit(2);
		}
	}
}

/* Passes the turn on; `done` tells the other generator this one needs no
 * more turns, so it goes on without waiting. */
void
turns_pass(bool done)
{
	ssize_t n;

	if (peer_done)
		return;
	do
		n = write(turn_out, done ? "d" : "t", 1);
	while (n < 0 && errno == EINTR);
	if (n != 1) {
		perror("loadgen: turn fifo");
		exit(2);
	}
}
