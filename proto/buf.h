/* SPDX-License-Identifier: MIT — crmpubsub */
/* A growable byte buffer with a read offset: output queues, scratch lines
 * and the JSON writer all use it. */
#ifndef CRMPUBSUB_BUF_H
#define CRMPUBSUB_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct buf {
	char	*data;
	size_t	 off;	/* first unconsumed byte */
	size_t	 len;	/* unconsumed bytes, starting at data + off */
	size_t	 cap;
	int	 failed;	/* an append failed since the last buf_clear_failed */
	int	 borrowed;	/* data is the caller's storage (buf_init_on) */
};

#define BUF_INIT { NULL, 0, 0, 0, 0, 0 }

/* An empty buffer writing into the caller's storage (cap bytes) until it
 * outgrows it, then into the heap: a line built on the stack costs no
 * allocation. buf_free releases only what came from the heap. */
void	 buf_init_on(struct buf *, char *storage, size_t cap);

/* Bytes still queued. */
static inline size_t buf_len(const struct buf *b) { return b->len; }
/* Start of the queued bytes. */
static inline const char *
buf_head(const struct buf *b)
{
	return b->data != NULL ? b->data + b->off : "";
}

int	 buf_reserve(struct buf *, size_t extra);	/* -1 on ENOMEM */
int	 buf_append_grow(struct buf *, const void *, size_t);

/* Appends n bytes; -1 on ENOMEM. Inline, as every push is appended once per
 * subscriber: only growing the buffer costs a call. */
static inline int
buf_append(struct buf *b, const void *p, size_t n)
{
	if (n == 0 || b->cap - b->off - b->len < n)
		return buf_append_grow(b, p, n);
	memcpy(b->data + b->off + b->len, p, n);
	b->len += n;
	return 0;
}

/* Appends one byte; -1 on ENOMEM. */
static inline int
buf_putc(struct buf *b, char c)
{
	if (b->cap - b->off - b->len < 1 && buf_reserve(b, 1) == -1)
		return -1;
	b->data[b->off + b->len++] = c;
	return 0;
}
int	 buf_puts(struct buf *, const char *);
void	 buf_consume(struct buf *, size_t);
/* Drops queued bytes past the first len (undoes a partly written line). */
void	 buf_truncate(struct buf *, size_t len);
/* Whether an append failed since the last call, and clears the mark. */
static inline int
buf_clear_failed(struct buf *b)
{
	int	failed = b->failed;

	b->failed = 0;
	return failed;
}
void	 buf_reset(struct buf *);			/* empty, keep memory */
void	 buf_free(struct buf *);			/* empty, release memory */

/* JSON writer. Each call returns -1 when memory runs out, and any failed
 * append also sets b->failed, so a writer may make many calls and check once
 * (buf_clear_failed), then buf_truncate the partial line away. */
int	 buf_put_jstr(struct buf *, const char *, size_t);	/* quoted, escaped */
int	 buf_put_jstrz(struct buf *, const char *);
int	 buf_put_int(struct buf *, long long);
int	 buf_put_uint(struct buf *, unsigned long long);
/* ,"key": — the comma is written unless the previous byte is '{' or '['.
 * Keys are the daemon's own plain names, written without escaping. */
int	 buf_put_key(struct buf *, const char *key);

#endif
