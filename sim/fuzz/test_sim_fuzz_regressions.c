// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Every script in sim/fuzz/regressions/ once crashed, leaked, hung or
 * tripped a sanitizer in the simulator's QMP fuzz target. Each must now run
 * with every reply well formed (the bad command answered by a QMP error).
 * The seed corpus goes through too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "sim/fuzz/sim_fuzz.h"
#include "tools/fuzz_regress.h"

static void run(const char *path, const uint8_t *data, size_t size)
{
    char *err = NULL;

    if (sim_fuzz_run(data, size, 0, &err) < 0) {
        fail_msg("%s: %s", path, err ? err : "failed");
    }
    free(err);
}

static void test_regressions(void **state)
{
    fuzz_regress_each("sim/fuzz/regressions", run);
}

static void test_seed_corpus(void **state)
{
    assert_true(fuzz_regress_each("sim/fuzz/corpus/sim_qmp", run) > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_regressions),
        cmocka_unit_test(test_seed_corpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
