/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Entry points shared by the lib/vma libFuzzer targets and their regression
 * test: each takes untrusted bytes and must return cleanly (0, or a negative
 * errno with err->msg filled in), never crash, leak or touch the disk.
 */
#ifndef BLOCKSIM_VMA_FUZZ_H
#define BLOCKSIM_VMA_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "vma/vma.h"

/* Flags for the entry points. */
enum {
    /* Recompute the header md5 (and every extent md5 the walk finds) over
     * the input before reading it, so mutations get past the checksums and
     * reach the checks behind them. Regression inputs are read as stored. */
    VMA_FUZZ_FIX_MD5 = 1 << 0,
};

/* The header alone: vma_reader_open_fd() on the bytes, then every
 * accessor. */
int vma_fuzz_header(const uint8_t *data, size_t size, unsigned flags, vma_error *err);

/* A whole archive: open, restore (devices up to 1 MiB into memory files,
 * larger ones only checked), free. */
int vma_fuzz_archive(const uint8_t *data, size_t size, unsigned flags, vma_error *err);

#endif
