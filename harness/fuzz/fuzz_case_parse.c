// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer target: the case-file parser (case_parse_string). */
#include <stdlib.h>

#include "harness/fuzz/case_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *err = NULL;

    case_fuzz_parse(data, size, &err);
    free(err);
    return 0;
}
