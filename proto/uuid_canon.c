/* SPDX-License-Identifier: MIT — crmpubsub */
/* UUID text <-> binary and the ordered distinct UUID list. The parser is a
 * table walk of our own (every broadcast names UUIDs); the unit tests check
 * that it accepts and writes exactly what libuuid does. */

#include <stdlib.h>
#include <string.h>

#include "uuid_canon.h"

#define X	0xff
/* Value of each byte as a hex digit; X where it is none. */
static const uint8_t hexdig[256] = {
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, X, X, X, X, X, X,
	X, 10, 11, 12, 13, 14, 15, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, 10, 11, 12, 13, 14, 15, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
};
#undef X

/* Where the 16 bytes' digit pairs start in the 8-4-4-4-12 text. */
static const uint8_t pair_at[16] = {
	0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34
};

/* Parses exactly 36 bytes of UUID text, any case. This is on every
 * broadcast's path, so it is a table walk; it accepts exactly what
 * uuid_parse(3) accepts (8-4-4-4-12 hex digits), which the unit tests check
 * against libuuid. */
int
uuid_canon_parse(const char *s, size_t len, uint8_t out[16])
{
	const unsigned char	*u = (const unsigned char *)s;
	unsigned		 hi, lo;
	size_t			 i;

	if (len != UUID_TEXT_LEN || u[8] != '-' || u[13] != '-' ||
	    u[18] != '-' || u[23] != '-')
		return -1;
	for (i = 0; i < 16; i++) {
		hi = hexdig[u[pair_at[i]]];
		lo = hexdig[u[pair_at[i] + 1]];
		if ((hi | lo) > 15)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* Each hex digit's lowercase form; 0 for any other byte. */
static const char hexlower[256] = {
	['0'] = '0', ['1'] = '1', ['2'] = '2', ['3'] = '3', ['4'] = '4',
	['5'] = '5', ['6'] = '6', ['7'] = '7', ['8'] = '8', ['9'] = '9',
	['a'] = 'a', ['b'] = 'b', ['c'] = 'c', ['d'] = 'd', ['e'] = 'e',
	['f'] = 'f', ['A'] = 'a', ['B'] = 'b', ['C'] = 'c', ['D'] = 'd',
	['E'] = 'e', ['F'] = 'f',
};

/* Checks a UUID string by the rule of uuid_canon_parse and writes it
 * lowercase, a byte at a time: a publisher's every call copies a few, and
 * a round trip through binary would cost twice this. The walk stops at the
 * first byte that is no digit or dash, a NUL included, so it never reads
 * past the end of a short string. */
int
uuid_canon_copy(const char *s, char out[UUID_TEXT_LEN + 1])
{
	static const uint8_t	 group_end[] = { 8, 13, 18, 23, 36 };
	const unsigned char	*u = (const unsigned char *)s;
	size_t			 i = 0, g;

	for (g = 0; g < sizeof group_end; g++, i++) {
		for (; i < group_end[g]; i++)
			if ((out[i] = hexlower[u[i]]) == 0)
				return -1;
		if (i < UUID_TEXT_LEN && (out[i] = (char)u[i]) != '-')
			return -1;
	}
	out[UUID_TEXT_LEN] = '\0';
	return u[UUID_TEXT_LEN] == '\0' ? 0 : -1;
}

/* Each byte's two lowercase hex digits. */
static const char hexpair[513] =
	"000102030405060708090a0b0c0d0e0f"
	"101112131415161718191a1b1c1d1e1f"
	"202122232425262728292a2b2c2d2e2f"
	"303132333435363738393a3b3c3d3e3f"
	"404142434445464748494a4b4c4d4e4f"
	"505152535455565758595a5b5c5d5e5f"
	"606162636465666768696a6b6c6d6e6f"
	"707172737475767778797a7b7c7d7e7f"
	"808182838485868788898a8b8c8d8e8f"
	"909192939495969798999a9b9c9d9e9f"
	"a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"
	"b0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
	"c0c1c2c3c4c5c6c7c8c9cacbcccdcecf"
	"d0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
	"e0e1e2e3e4e5e6e7e8e9eaebecedeeef"
	"f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

/* The canonical (lowercase) text form, as uuid_unparse_lower(3) writes it
 * (the unit tests compare the two). Every push carries two UUIDs, so this
 * copies a digit pair per byte rather than printing. */
void
uuid_canon_format(const uint8_t in[16], char out[UUID_TEXT_LEN + 1])
{
	size_t	i;

	for (i = 0; i < 16; i++)
		memcpy(out + pair_at[i], hexpair + 2 * in[i], 2);
	out[8] = out[13] = out[18] = out[23] = '-';
	out[UUID_TEXT_LEN] = '\0';
}

/* FNV-1a over the 16 bytes: UUIDs v7 share leading bytes, so mix them all. */
static uint32_t
uuid_hash(const uint8_t u[16])
{
	uint32_t h = 2166136261u;
	int i;

	for (i = 0; i < 16; i++)
		h = (h ^ u[i]) * 16777619u;
	return h;
}

/* Rebuilds the open-addressing index (slot = element index + 1, 0 empty). */
static int
uuid_list_reindex(struct uuid_list *l, size_t cap)
{
	uint32_t	*idx;
	size_t		 i, slot;

	idx = calloc(cap, sizeof *idx);
	if (idx == NULL)
		return -1;
	for (i = 0; i < l->n; i++) {
		slot = uuid_hash(l->v[i]) & (cap - 1);
		while (idx[slot] != 0)
			slot = (slot + 1) & (cap - 1);
		idx[slot] = (uint32_t)i + 1;
	}
	free(l->index);
	l->index = idx;
	l->index_cap = cap;
	return 0;
}

/* Short lists are scanned; longer ones get a hash index so dedup stays O(n). */
#define UUID_LIST_SCAN_MAX	16

int
uuid_list_add(struct uuid_list *l, const uint8_t u[16])
{
	size_t	i, slot = 0;

	if (l->n < UUID_LIST_SCAN_MAX) {
		for (i = 0; i < l->n; i++)
			if (memcmp(l->v[i], u, 16) == 0)
				return 0;
	} else {
		if (l->index == NULL || l->n == UUID_LIST_SCAN_MAX ||
		    l->index_cap < (l->n + 1) * 2) {
			size_t cap = 64;
			while (cap < (l->n + 1) * 2)
				cap *= 2;
			if (uuid_list_reindex(l, cap) == -1)
				return -1;
		}
		slot = uuid_hash(u) & (l->index_cap - 1);
		while (l->index[slot] != 0) {
			if (memcmp(l->v[l->index[slot] - 1], u, 16) == 0)
				return 0;
			slot = (slot + 1) & (l->index_cap - 1);
		}
	}
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 8;
		void *p = realloc(l->v, ncap * sizeof *l->v);
		if (p == NULL)
			return -1;
		l->v = p;
		l->cap = ncap;
	}
	memcpy(l->v[l->n], u, 16);
	l->n++;
	if (l->index != NULL && l->n > UUID_LIST_SCAN_MAX)
		l->index[slot] = (uint32_t)l->n;
	return 1;
}

/* Empties the list, keeping its memory for reuse. */
void
uuid_list_clear(struct uuid_list *l)
{
	/* The index is rebuilt when the list grows past the scan size again. */
	l->n = 0;
}

/* Releases the list's memory. */
void
uuid_list_free(struct uuid_list *l)
{
	free(l->v);
	free(l->index);
	memset(l, 0, sizeof *l);
}
