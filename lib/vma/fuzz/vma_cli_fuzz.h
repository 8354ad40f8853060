/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Entry point shared by the vma_cli libFuzzer target and its regression
 * test: the `vma` command-line parser and the restore-map parser. */
#ifndef BLOCKSIM_VMA_CLI_FUZZ_H
#define BLOCKSIM_VMA_CLI_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* The bytes, split at NULs, as argv for vma_cli_parse(); and the same
 * bytes as a restore map for vma_map_parse(). Checks what each promises
 * (a usage error has a message; a parsed map holds only valid names);
 * returns 0, or aborts on a broken promise. */
int vma_cli_fuzz(const uint8_t *data, size_t size);

#endif
