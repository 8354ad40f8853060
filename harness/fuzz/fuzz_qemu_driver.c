/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target: the real-QEMU backend reading a fake driver's answers. */
#include <stdlib.h>

#include "harness/fuzz/qemu_driver_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *err = NULL;

    qemu_driver_fuzz_run(data, size, &err);
    free(err);
    return 0;
}
