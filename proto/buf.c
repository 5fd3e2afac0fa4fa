/* SPDX-License-Identifier: MIT — crmpubsub */
/* Growable byte buffers and the small JSON writer built on them. */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

/* Makes room for extra more bytes after the queued ones. */
int
buf_reserve(struct buf *b, size_t extra)
{
	size_t	 need, ncap;
	char	*p;

	if (b->cap - b->off - b->len >= extra)
		return 0;
	if (extra > SIZE_MAX / 2 - b->len) {
		b->failed = 1;		/* no buffer can be this large */
		return -1;
	}
	need = b->len + extra;
	if (b->off > 0 && b->cap >= need && b->off >= b->len) {
		/* Compacting is cheap when at least half is consumed. */
		memmove(b->data, b->data + b->off, b->len);
		b->off = 0;
		return 0;
	}
	ncap = b->cap ? b->cap : 256;
	while (ncap < need)
		ncap *= 2;
	if (b->off > 0 || b->borrowed) {
		p = malloc(ncap);
		if (p == NULL) {
			b->failed = 1;
			return -1;
		}
		memcpy(p, b->data + b->off, b->len);
		if (!b->borrowed)
			free(b->data);
		b->borrowed = 0;
		b->off = 0;
	} else {
		p = realloc(b->data, ncap);
		if (p == NULL) {
			b->failed = 1;
			return -1;
		}
	}
	b->data = p;
	b->cap = ncap;
	return 0;
}

void
buf_init_on(struct buf *b, char *storage, size_t cap)
{
	b->data = storage;
	b->off = b->len = 0;
	b->cap = cap;
	b->failed = 0;
	b->borrowed = 1;
}

/* buf_append when the bytes do not fit (or there are none). */
int
buf_append_grow(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	if (buf_reserve(b, n) == -1)
		return -1;
	memcpy(b->data + b->off + b->len, p, n);
	b->len += n;
	return 0;
}

/* Appends a NUL-terminated string, without the NUL. */
int
buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

/* Drops n bytes from the front. */
void
buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		b->off = 0;
		b->len = 0;
		return;
	}
	b->off += n;
	b->len -= n;
}

void
buf_truncate(struct buf *b, size_t len)
{
	if (len < b->len)
		b->len = len;
}

/* Empties the buffer but keeps its memory. */
void
buf_reset(struct buf *b)
{
	b->off = 0;
	b->len = 0;
}

/* Empties the buffer and releases its heap memory. */
void
buf_free(struct buf *b)
{
	if (!b->borrowed)
		free(b->data);
	b->data = NULL;
	b->off = b->len = b->cap = 0;
	b->failed = 0;
	b->borrowed = 0;
}

/* Appends s as a JSON string: quotes, escapes for '"', '\\' and controls.
 * Bytes >= 0x80 pass through: callers hand in text jansson validated. */
int
buf_put_jstr(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t	 i, start;
	char	 esc[6];

	if (buf_putc(b, '"') == -1)
		return -1;
	for (start = i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *rep = NULL;
		size_t replen = 2;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		switch (c) {
		case '"':  rep = "\\\""; break;
		case '\\': rep = "\\\\"; break;
		case '\n': rep = "\\n"; break;
		case '\r': rep = "\\r"; break;
		case '\t': rep = "\\t"; break;
		case '\b': rep = "\\b"; break;
		case '\f': rep = "\\f"; break;
		default:
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			rep = esc;
			replen = 6;
		}
		if (buf_append(b, s + start, i - start) == -1 ||
		    buf_append(b, rep, replen) == -1)
			return -1;
		start = i + 1;
	}
	if (buf_append(b, s + start, n - start) == -1)
		return -1;
	return buf_putc(b, '"');
}

/* buf_put_jstr of a NUL-terminated string. */
int
buf_put_jstrz(struct buf *b, const char *s)
{
	return buf_put_jstr(b, s, strlen(s));
}

/* Appends an unsigned integer in decimal. */
int
buf_put_uint(struct buf *b, unsigned long long v)
{
	char	tmp[24], *p = tmp + sizeof tmp;

	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	return buf_append(b, p, (size_t)(tmp + sizeof tmp - p));
}

/* Appends a signed integer in decimal. */
int
buf_put_int(struct buf *b, long long v)
{
	if (v >= 0)
		return buf_put_uint(b, (unsigned long long)v);
	if (buf_putc(b, '-') == -1)
		return -1;
	return buf_put_uint(b, 0 - (unsigned long long)v);
}

/* Appends ,"key": (no comma right after an opening brace or bracket). */
int
buf_put_key(struct buf *b, const char *key)
{
	char	last = b->len ? b->data[b->off + b->len - 1] : '{';
	size_t	n = strlen(key);

	if (buf_reserve(b, n + 4) == -1)
		return -1;
	if (last != '{' && last != '[')
		b->data[b->off + b->len++] = ',';
	b->data[b->off + b->len++] = '"';
	memcpy(b->data + b->off + b->len, key, n);
	b->len += n;
	b->data[b->off + b->len++] = '"';
	b->data[b->off + b->len++] = ':';
	return 0;
}
