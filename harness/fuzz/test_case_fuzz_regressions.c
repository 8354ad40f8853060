// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Every input in harness/fuzz/regressions/ once crashed, leaked or tripped a
 * sanitizer in the case-parser fuzz target. Each must now be rejected with
 * "fuzz.case:LINE:COL: error: ..." (a file named *.ok must parse). The seed
 * corpus goes through too: any clean outcome.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness/fuzz/case_fuzz.h"
#include "tools/fuzz_regress.h"

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static void check_input(const char *path, const uint8_t *data, size_t size, bool must_fail)
{
    char *err = NULL;
    int ret = case_fuzz_parse(data, size, &err);

    if (ret < 0) {
        unsigned line = 0, col = 0;
        int used = 0;

        if (!err || sscanf(err, "fuzz.case:%u:%u: error: %n", &line, &col, &used) != 2 ||
            !used || line == 0 || col == 0) {
            fail_msg("%s: rejected without a FILE:LINE:COL error (%s)", path,
                     err ? err : "no message");
        }
    } else if (must_fail && !ends_with(path, ".ok")) {
        fail_msg("%s: parsed, but it is not named *.ok", path);
    }
    free(err);
}

static void regression(const char *path, const uint8_t *data, size_t size)
{
    check_input(path, data, size, true);
}

static void seed(const char *path, const uint8_t *data, size_t size)
{
    check_input(path, data, size, false);
}

static void test_regressions(void **state)
{
    fuzz_regress_each("harness/fuzz/regressions", regression);
}

static void test_seed_corpus(void **state)
{
    assert_true(fuzz_regress_each("harness/fuzz/corpus/case_parse", seed) > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_regressions),
        cmocka_unit_test(test_seed_corpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
