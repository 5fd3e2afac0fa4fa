/* SPDX-License-Identifier: MIT — crmpubsub */
/* Whether a binary was built with AddressSanitizer. */
#ifndef CRMPUBSUB_ASAN_PROBE_H
#define CRMPUBSUB_ASAN_PROBE_H

/* 1 when the file at path links the ASan runtime: an LD_PRELOAD malloc
 * cannot coexist with it, and its quarantine makes RSS no leak signal. */
int	binary_has_asan(const char *path);

#endif
