/* SPDX-License-Identifier: MIT — crmpubsub */
/* systemd notifications (the sd_notify datagram protocol, without
 * libsystemd): readiness, a status line every few seconds, reloads, and the
 * watchdog. Everything is sent from timers of the event loop, so a loop
 * that is stuck stops the watchdog pings and systemd restarts the service
 * after WatchdogSec=. Without $NOTIFY_SOCKET nothing is sent or scheduled. */

#include <sys/socket.h>
#include <sys/un.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crmpubsubd.h"

#define NOTIFY_STATUS_SECONDS	2

static struct event		*status_ev;
static struct event		*watchdog_ev;
static unsigned long long	 status_delivered;	/* at the last status */
static unsigned long long	 status_at_usec;

/* Sends state ("READY=1", "STOPPING=1") to $NOTIFY_SOCKET, if set. */
void
notify_send(const char *state)
{
	const char		*path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un	 sun;
	socklen_t		 len;
	int			 fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@') ||
	    strlen(path) >= sizeof sun.sun_path)
		return;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	if (path[0] == '@')
		sun.sun_path[0] = '\0';	/* abstract namespace */
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		log_warn("notify: socket");
		return;
	}
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, len) == -1)
		log_warn("notify: %s", state);
	close(fd);
}

/* CLOCK_MONOTONIC in microseconds, the clock of MONOTONIC_USEC=. */
static unsigned long long
notify_now_usec(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000;
}

/* Appends "STATUS=12 connections, 340 topics, 85 deliveries/s" to out; the
 * rate is over the time since the previous status line. */
static void
notify_format_status(char *out, size_t len)
{
	unsigned long long	now = notify_now_usec();
	unsigned long long	rate = 0;
	size_t			used = strlen(out);

	if (status_at_usec != 0 && now > status_at_usec)
		rate = (stats.delivered - status_delivered) * 1000000ULL /
		    (now - status_at_usec);
	status_at_usec = now;
	status_delivered = stats.delivered;
	snprintf(out + used, len - used, "STATUS=%u connections, %zu topics, "
	    "%llu deliveries/s", nconns, subs_ntopics(), rate);
}

static void
notify_status_cb(evutil_socket_t fd, short what, void *arg)
{
	char	msg[160] = "";

	notify_format_status(msg, sizeof msg);
	notify_send(msg);
}

static void
notify_watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	notify_send("WATCHDOG=1");
}

/* Half of $WATCHDOG_USEC when the watchdog is meant for this process
 * ($WATCHDOG_PID is ours or absent), else 0. */
static unsigned long long
notify_watchdog_half_usec(void)
{
	const char		*usec = getenv("WATCHDOG_USEC");
	const char		*pid = getenv("WATCHDOG_PID");
	unsigned long long	 v;
	char			*end;

	if (usec == NULL || *usec < '0' || *usec > '9')
		return 0;
	if (pid != NULL && strtol(pid, NULL, 10) != (long)getpid())
		return 0;
	errno = 0;
	v = strtoull(usec, &end, 10);
	if (errno != 0 || *end != '\0' || v < 2)
		return 0;
	return v / 2;
}

int
notify_start(struct event_base *b)
{
	struct timeval		 every = { NOTIFY_STATUS_SECONDS, 0 };
	unsigned long long	 half;
	char			 msg[160] = "READY=1\n";

	if (getenv("NOTIFY_SOCKET") == NULL)
		return 0;
	notify_format_status(msg, sizeof msg);
	notify_send(msg);
	status_ev = event_new(b, -1, EV_PERSIST, notify_status_cb, NULL);
	if (status_ev == NULL || event_add(status_ev, &every) == -1)
		return -1;
	if ((half = notify_watchdog_half_usec()) == 0)
		return 0;
	every.tv_sec = (time_t)(half / 1000000);
	every.tv_usec = (suseconds_t)(half % 1000000);
	watchdog_ev = event_new(b, -1, EV_PERSIST, notify_watchdog_cb, NULL);
	if (watchdog_ev == NULL || event_add(watchdog_ev, &every) == -1)
		return -1;
	log_info("watchdog: WATCHDOG=1 every %llu ms", half / 1000);
	notify_send("WATCHDOG=1");
	return 0;
}

void
notify_stop(void)
{
	if (status_ev != NULL)
		event_free(status_ev);
	if (watchdog_ev != NULL)
		event_free(watchdog_ev);
	status_ev = watchdog_ev = NULL;
}

void
notify_reloading(void)
{
	char	msg[80];

	snprintf(msg, sizeof msg, "RELOADING=1\nMONOTONIC_USEC=%llu",
	    notify_now_usec());
	notify_send(msg);
}

void
notify_reloaded(const char *failure)
{
	char	msg[400] = "READY=1\n";

	if (failure != NULL)
		snprintf(msg + 8, sizeof msg - 8, "STATUS=reload failed, old "
		    "settings kept: %s", failure);
	else
		notify_format_status(msg, sizeof msg);
	notify_send(msg);
}
