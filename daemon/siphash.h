/* SPDX-License-Identifier: MIT — crmpubsub */
/* SipHash-1-3: a keyed hash for tables whose keys peers choose. */
#ifndef CRMPUBSUBD_SIPHASH_H
#define CRMPUBSUBD_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

#define SIPHASH_KEY_LEN	16

/* SipHash-1-3 of data under key (the reference algorithm, 64-bit output). */
uint64_t	siphash13(const uint8_t key[SIPHASH_KEY_LEN], const void *data,
		    size_t len);
/* Fills key from getrandom(2); falls back to the clock and pid when the
 * kernel has none to give, which only weakens the defence, never breaks
 * the table. */
void		siphash_random_key(uint8_t key[SIPHASH_KEY_LEN]);

#endif
