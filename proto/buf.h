/* SPDX-License-Identifier: MIT — crmpubsub */
/* A growable byte buffer with a read offset: output queues, scratch lines
 * and the JSON writer all use it. */
#ifndef CRMPUBSUB_BUF_H
#define CRMPUBSUB_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	char	*data;
	size_t	 off;	/* first unconsumed byte */
	size_t	 len;	/* unconsumed bytes, starting at data + off */
	size_t	 cap;
	int	 failed;	/* an append failed since the last buf_clear_failed */
};

#define BUF_INIT { NULL, 0, 0, 0, 0 }

/* Bytes still queued. */
static inline size_t buf_len(const struct buf *b) { return b->len; }
/* Start of the queued bytes. */
static inline const char *
buf_head(const struct buf *b)
{
	return b->data != NULL ? b->data + b->off : "";
}

int	 buf_reserve(struct buf *, size_t extra);	/* -1 on ENOMEM */
int	 buf_append(struct buf *, const void *, size_t);
int	 buf_putc(struct buf *, char);
int	 buf_puts(struct buf *, const char *);
void	 buf_consume(struct buf *, size_t);
/* Drops queued bytes past the first len (undoes a partly written line). */
void	 buf_truncate(struct buf *, size_t len);
/* Whether an append failed since the last call, and clears the mark. */
int	 buf_clear_failed(struct buf *);
void	 buf_reset(struct buf *);			/* empty, keep memory */
void	 buf_free(struct buf *);			/* empty, release memory */

/* JSON writer. Each call returns -1 when memory runs out, and any failed
 * append also sets b->failed, so a writer may make many calls and check once
 * (buf_clear_failed), then buf_truncate the partial line away. */
int	 buf_put_jstr(struct buf *, const char *, size_t);	/* quoted, escaped */
int	 buf_put_jstrz(struct buf *, const char *);
int	 buf_put_int(struct buf *, long long);
int	 buf_put_uint(struct buf *, unsigned long long);
/* ,"key": — the comma is written unless the previous byte is '{' or '['. */
int	 buf_put_key(struct buf *, const char *key);

#endif
