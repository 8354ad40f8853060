/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Line diff (Myers' O(ND) algorithm) printed as a unified diff, like
 * `diff -u`. Used to show how a transcript differs from its golden.
 */
#ifndef BLOCKSIM_HARNESS_DIFF_H
#define BLOCKSIM_HARNESS_DIFF_H

#include <stddef.h>

/* Past this many differing lines the diff stops looking for the shortest
 * edit and shows the differing middle as one replaced block (memory grows
 * with the square of the edit distance). */
#define DIFF_MAX_EDITS 2000

/* NULL when a and b are equal; otherwise a malloc'd unified diff with
 * `context` lines of context and headers "--- name_a" / "+++ name_b". */
char *diff_unified(const char *a, const char *b, const char *name_a, const char *name_b,
                   int context);
/* The same on byte strings of the given lengths: a NUL byte is compared
 * like any other (and shows as ^@ in the diff). */
char *diff_unified_n(const char *a, size_t a_len, const char *b, size_t b_len,
                     const char *name_a, const char *name_b, int context);

#endif
