// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer target: the VMA reader given a whole archive (header, extents,
 * restore into memory files). */
#include "vma/fuzz/vma_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vma_error err = { 0 };

    vma_fuzz_archive(data, size, VMA_FUZZ_FIX_MD5, &err);
    return 0;
}
