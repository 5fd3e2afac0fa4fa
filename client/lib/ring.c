/* SPDX-License-Identifier: MIT — crmpubsub */
/* A growable FIFO of fixed-size records, stored as a ring: the request
 * records and the received messages both queue in one. The capacity is
 * always a power of two, so positions wrap with a mask. */

#include <stdlib.h>
#include <string.h>

#include "client.h"

/* Appends a copy of the record; -1 when out of memory. */
int
cl_ring_push(struct cl_ring *q, const void *rec)
{
	unsigned char	*nv;
	size_t		 ncap, i;

	if (q->n == q->cap) {
		ncap = q->cap ? q->cap * 2 : 16;
		if ((nv = malloc(ncap * q->size)) == NULL)
			return -1;
		for (i = 0; i < q->n; i++)
			memcpy(nv + i * q->size, cl_ring_at(q, i), q->size);
		free(q->v);
		q->v = nv;
		q->cap = ncap;
		q->head = 0;
	}
	memcpy(q->v + ((q->head + q->n) & (q->cap - 1)) * q->size, rec,
	    q->size);
	q->n++;
	return 0;
}

/* The i-th record from the front (i < n). */
void *
cl_ring_at(const struct cl_ring *q, size_t i)
{
	return q->v + ((q->head + i) & (q->cap - 1)) * q->size;
}

/* Drops the front record (what it owns must be released first). */
void
cl_ring_pop(struct cl_ring *q)
{
	q->head = (q->head + 1) & (q->cap - 1);
	if (--q->n == 0)
		q->head = 0;
}

/* Releases the storage; the ring stays usable for the same record size. */
void
cl_ring_free(struct cl_ring *q)
{
	free(q->v);
	q->v = NULL;
	q->head = q->n = q->cap = 0;
}
