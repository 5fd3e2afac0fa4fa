/* SPDX-License-Identifier: MIT — crmpubsub */
/* Machine hiccup probe: spins on CLOCK_MONOTONIC for a while and reports
 * every gap in which this thread did not run. On an otherwise idle core the
 * gaps are time taken away by the kernel or, in a virtual machine, by the
 * host; any latency percentile finer than their share of time is decided by
 * them, whatever server is being measured. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int
main(int argc, char **argv)
{
	double secs = argc > 1 ? strtod(argv[1], NULL) : 5;
	const char *label = argc > 2 ? argv[2] : "-";
	uint64_t start = now_ns(), end = start + (uint64_t)(secs * 1e9);
	uint64_t last = start, t, gap, lost = 0, max = 0;
	uint64_t over50 = 0, over200 = 0, over1000 = 0;

	if (secs <= 0) {
		fprintf(stderr, "usage: hiccup SECONDS [LABEL]\n");
		return 2;
	}
	while ((t = now_ns()) < end) {
		gap = t - last;
		last = t;
		if (gap < 50000)
			continue;
		over50++;
		over200 += gap >= 200000;
		over1000 += gap >= 1000000;
		lost += gap;
		if (gap > max)
			max = gap;
	}
	printf("HICCUP label=%s secs=%.1f over50us_per_s=%.1f over200us_per_s=%.1f "
	    "over1ms_per_s=%.1f max_us=%.0f lost_pct=%.2f\n", label, secs,
	    (double)over50 / secs, (double)over200 / secs, (double)over1000 / secs,
	    (double)max / 1e3, (double)lost / (secs * 1e9) * 100);
	return 0;
}
