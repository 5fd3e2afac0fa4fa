/* SPDX-License-Identifier: MIT — crmpubsub */
/* LD_PRELOAD allocation failer for fault-injection tests: once armed, every
 * Nth malloc/calloc/realloc returns NULL with ENOMEM.
 *
 * Environment: FAILMALLOC_EVERY=N (default 10). SIGUSR2 arms it (so the
 * process starts normally and fails only under test), SIGUSR1 disarms it and
 * writes the number of failed allocations, in decimal, to the file named by
 * FAILMALLOC_REPORT (if set). Built as a shared object:
 *   cc -shared -fPIC -o failmalloc.so failmalloc.c */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void	*__libc_malloc(size_t);
extern void	*__libc_calloc(size_t, size_t);
extern void	*__libc_realloc(void *, size_t);

static volatile sig_atomic_t	 fm_armed;
static unsigned long		 fm_every = 10;
static unsigned long		 fm_calls;	/* allocations while armed */
static unsigned long		 fm_failed;	/* of which failed */
static const char		*fm_report;
static char			 fm_report_tmp[4096];	/* renamed into place */

/* Whether this allocation is one to fail. */
static int
fm_should_fail(void)
{
	if (!fm_armed)
		return 0;
	if (__atomic_add_fetch(&fm_calls, 1, __ATOMIC_RELAXED) % fm_every != 0)
		return 0;
	__atomic_add_fetch(&fm_failed, 1, __ATOMIC_RELAXED);
	errno = ENOMEM;
	return 1;
}

void *
malloc(size_t n)
{
	return fm_should_fail() ? NULL : __libc_malloc(n);
}

void *
calloc(size_t n, size_t size)
{
	return fm_should_fail() ? NULL : __libc_calloc(n, size);
}

void *
realloc(void *p, size_t n)
{
	if (p != NULL && n == 0)
		return __libc_realloc(p, n);	/* a free, never failed */
	return fm_should_fail() ? NULL : __libc_realloc(p, n);
}

/* SIGUSR2: start failing. */
static void
fm_arm(int sig)
{
	(void)sig;
	fm_calls = 0;
	fm_armed = 1;
}

/* SIGUSR1: stop failing, report how many allocations failed. */
static void
fm_disarm(int sig)
{
	char		 text[32], *p = text + sizeof text;
	unsigned long	 v = fm_failed;
	int		 fd, saved = errno;

	(void)sig;
	fm_armed = 0;
	if (fm_report == NULL)
		return;
	do
		*--p = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	/* Written aside and renamed, so a reader never sees it half done. */
	fd = open(fm_report_tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd != -1) {
		(void)!write(fd, p, (size_t)(text + sizeof text - p));
		close(fd);
		rename(fm_report_tmp, fm_report);
	}
	errno = saved;
}

/* Reads the environment and installs the two signal handlers. */
__attribute__((constructor)) static void
fm_init(void)
{
	struct sigaction	 sa;
	const char		*every = getenv("FAILMALLOC_EVERY");

	if (every != NULL && strtoul(every, NULL, 10) > 0)
		fm_every = strtoul(every, NULL, 10);
	fm_report = getenv("FAILMALLOC_REPORT");
	if (fm_report != NULL && strlen(fm_report) + 5 > sizeof fm_report_tmp)
		fm_report = NULL;
	if (fm_report != NULL) {
		strcpy(fm_report_tmp, fm_report);
		strcat(fm_report_tmp, ".tmp");
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = fm_arm;
	sigaction(SIGUSR2, &sa, NULL);
	sa.sa_handler = fm_disarm;
	sigaction(SIGUSR1, &sa, NULL);
}
