/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Entry point shared by the golden_diff libFuzzer target and its tests: the
 * unified diff of a golden and a transcript (harness/diff.c), as bytes. */
#ifndef BLOCKSIM_HARNESS_GOLDEN_DIFF_FUZZ_H
#define BLOCKSIM_HARNESS_GOLDEN_DIFF_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* data: one byte of context lines (its value mod 8), two bytes (little
 * endian) of golden length (mod what is left), the golden, the transcript.
 * Diffs them with diff_unified_n and checks the result: NULL exactly when
 * the two are equal, otherwise headers and hunks whose line counts add up
 * and whose '-' and ' ' lines, and '+' and ' ' lines, are the golden's and
 * the transcript's lines in order. Aborts on a wrong diff; returns 1 when
 * they differed, 0 when equal. */
int golden_diff_fuzz_run(const uint8_t *data, size_t size);

#endif
