// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer target: the simulator's QMP command and argument handling,
 * driven by scripts of commands (see sim_fuzz.h), so job, bitmap and node
 * state carries from one command to the next. A reply that breaks the
 * backend contract is a finding too. */
#include <stdlib.h>

#include "sim/fuzz/sim_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *err = NULL;

    if (sim_fuzz_run(data, size, SIM_FUZZ_CAP_SIZES, &err) < 0 && err) {
        /* a contract violation, not a clean rejection */
        abort();
    }
    free(err);
    return 0;
}
