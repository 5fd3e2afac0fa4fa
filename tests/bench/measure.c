/* SPDX-License-Identifier: MIT — crmpubsub */
/* What the load generator measures besides counts: a log-linear latency histogram, process CPU and RSS from /proc, hex codecs for the stamped UUIDs. */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "loadgen.h"

/* Log-linear buckets: values below 128 ns exact, then 128 sub-buckets per
 * power of two (under 1 % relative error), up to 2^64 ns. */
#define SUB_BITS	7
#define SUB		(1u << SUB_BITS)
#define NBUCKETS	((64 - SUB_BITS + 1) * SUB)

static uint64_t hist[NBUCKETS];
static uint64_t hist_n;

/* Bucket of value v. */
static unsigned
bucket_of(uint64_t v)
{
	unsigned msb;

	if (v < SUB)
		return (unsigned)v;
	msb = 63u - (unsigned)__builtin_clzll(v);
	return (msb - SUB_BITS + 1) * SUB + (unsigned)((v >> (msb - SUB_BITS)) - SUB);
}

/* Lowest value that falls into bucket b. */
static uint64_t
bucket_low(unsigned b)
{
	unsigned e = b / SUB;

	if (e == 0)
		return b;
	return (uint64_t)(b % SUB + SUB) << (e - 1);
}

/* Records one latency sample in nanoseconds. */
void
hist_add(uint64_t ns)
{
	hist[bucket_of(ns)]++;
	hist_n++;
}

uint64_t
hist_count(void)
{
	return hist_n;
}

/* Value at quantile p (0..1): the middle of the bucket holding that rank. */
uint64_t
hist_percentile(double p)
{
	uint64_t rank, seen = 0;

	if (hist_n == 0)
		return 0;
	rank = (uint64_t)(p * (double)hist_n);
	if (rank >= hist_n)
		rank = hist_n - 1;
	for (unsigned b = 0; b < NBUCKETS; b++) {
		seen += hist[b];
		if (seen > rank) {
			uint64_t lo = bucket_low(b), hi = bucket_low(b + 1);
			return lo + (hi - lo) / 2;
		}
	}
	return 0;
}

/* utime + stime of a process (all threads) in clock ticks, from /proc/PID/stat. */
uint64_t
proc_cpu_ticks(int pid)
{
	char path[64], line[1024], *p;
	unsigned long long ut = 0, st = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (!(f = fopen(path, "r")))
		return 0;
	n = fread(line, 1, sizeof(line) - 1, f);
	fclose(f);
	line[n] = '\0';
	/* The command name may hold spaces: fields restart after the last ')'. */
	if (!(p = strrchr(line, ')')))
		return 0;
	/* After ")": state(3) ... utime is field 14, stime field 15. */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
	    &ut, &st) != 2)
		return 0;
	return ut + st;
}

/* Resident set size of a process in bytes, from /proc/PID/statm. */
uint64_t
proc_rss_bytes(int pid)
{
	char path[64];
	unsigned long long size, rss;
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "/proc/%d/statm", pid);
	if (!(f = fopen(path, "r")))
		return 0;
	ok = fscanf(f, "%llu %llu", &size, &rss) == 2;
	fclose(f);
	return ok ? rss * (uint64_t)sysconf(_SC_PAGESIZE) : 0;
}

/* CPU seconds (user + system) this process has used. */
double
self_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static const char hexdig[] = "0123456789abcdef";

/* Writes the low 4*digits bits of v as lowercase hex. */
void
hex_put(char *dst, uint64_t v, int digits)
{
	for (int i = digits - 1; i >= 0; i--) {
		dst[i] = hexdig[v & 15];
		v >>= 4;
	}
}

/* Reads digits hex characters (either case); 0 or -1. */
int
hex_get(const char *src, int digits, uint64_t *v)
{
	uint64_t r = 0;

	for (int i = 0; i < digits; i++) {
		unsigned char ch = (unsigned char)src[i];
		unsigned d;
		if (ch >= '0' && ch <= '9')
			d = ch - '0';
		else if ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'f')
			d = (ch | 0x20) - 'a' + 10;
		else
			return -1;
		r = r << 4 | d;
	}
	*v = r;
	return 0;
}
