/* SPDX-License-Identifier: MIT — crmpubsub */
/* SipHash-1-3 (Aumasson and Bernstein; one compression round, three
 * finalization rounds, as Python and Rust use for their hash tables), and
 * the random key it needs. */

#include <sys/random.h>
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "siphash.h"

#define ROTL(x, b)	(uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

#define SIPROUND(v0, v1, v2, v3) do {					\
	v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);	\
	v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;				\
	v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;				\
	v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);	\
} while (0)

/* Reads 8 bytes as a little-endian word. */
static uint64_t
load64_le(const uint8_t *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
	    (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 |
	    (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
	    (uint64_t)p[7] << 56;
}

uint64_t
siphash13(const uint8_t key[SIPHASH_KEY_LEN], const void *data, size_t len)
{
	const uint8_t	*p = data, *end = p + (len & ~(size_t)7);
	uint64_t	 k0 = load64_le(key), k1 = load64_le(key + 8), m;
	uint64_t	 v0 = k0 ^ 0x736f6d6570736575ULL;
	uint64_t	 v1 = k1 ^ 0x646f72616e646f6dULL;
	uint64_t	 v2 = k0 ^ 0x6c7967656e657261ULL;
	uint64_t	 v3 = k1 ^ 0x7465646279746573ULL;
	int		 left = (int)(len & 7);

	for (; p != end; p += 8) {
		m = load64_le(p);
		v3 ^= m;
		SIPROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	/* The last word: the remaining bytes, with the length in the top. */
	m = (uint64_t)len << 56;
	while (left-- > 0)
		m |= (uint64_t)p[left] << (8 * left);
	v3 ^= m;
	SIPROUND(v0, v1, v2, v3);
	v0 ^= m;
	v2 ^= 0xff;
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

void
siphash_random_key(uint8_t key[SIPHASH_KEY_LEN])
{
	struct timespec	ts;
	uint64_t	mix[2];
	ssize_t		n;
	size_t		got = 0;

	while (got < SIPHASH_KEY_LEN) {
		n = getrandom(key + got, SIPHASH_KEY_LEN - got, 0);
		if (n > 0)
			got += (size_t)n;
		else if (n == -1 && errno != EINTR)
			break;
	}
	if (got == SIPHASH_KEY_LEN)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	mix[0] = (uint64_t)ts.tv_nsec << 32 ^ (uint64_t)ts.tv_sec;
	mix[1] = (uint64_t)getpid() << 32 ^ (uint64_t)(uintptr_t)&ts;
	memcpy(key, mix, SIPHASH_KEY_LEN);
}
