// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer target: the vma command-line and restore-map parsers. */
#include "vma/fuzz/vma_cli_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vma_cli_fuzz(data, size);
    return 0;
}
