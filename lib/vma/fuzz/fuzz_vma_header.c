// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer target: VMA header parsing alone (vma_reader_open_fd). */
#include "vma/fuzz/vma_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vma_error err = { 0 };

    vma_fuzz_header(data, size, VMA_FUZZ_FIX_MD5, &err);
    return 0;
}
