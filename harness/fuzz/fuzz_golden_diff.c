/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target: the golden diff, checked line by line. */
#include "harness/fuzz/golden_diff_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    golden_diff_fuzz_run(data, size);
    return 0;
}
