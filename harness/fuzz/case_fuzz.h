/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Entry point shared by the case-parser libFuzzer target and its regression
 * test. */
#ifndef BLOCKSIM_HARNESS_CASE_FUZZ_H
#define BLOCKSIM_HARNESS_CASE_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* Parse the bytes as a case file named "fuzz.case" (case_parse_string, so
 * the text ends at the first NUL byte; case_parse_file rejects such files
 * before parsing). Returns 0 if it parsed, -1 with *err (malloc'd, caller
 * frees) if not. */
int case_fuzz_parse(const uint8_t *data, size_t size, char **err);

#endif
