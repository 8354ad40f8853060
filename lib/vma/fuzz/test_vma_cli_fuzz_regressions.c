// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Every input in lib/vma/fuzz/regressions/vma_cli/ once broke the vma_cli
 * fuzz target; each, and the seed corpus, goes through the same entry
 * point (which aborts on a broken promise), in the normal build.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include "tools/fuzz_regress.h"
#include "vma/fuzz/vma_cli_fuzz.h"

static void feed(const char *path, const uint8_t *data, size_t size)
{
    (void)path;
    assert_int_equal(vma_cli_fuzz(data, size), 0);
}

static void test_regressions(void **state)
{
    (void)state;
    fuzz_regress_each("lib/vma/fuzz/regressions/vma_cli", feed);
}

static void test_seed_corpus(void **state)
{
    (void)state;
    assert_true(fuzz_regress_each("lib/vma/fuzz/corpus/vma_cli", feed) > 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_regressions),
        cmocka_unit_test(test_seed_corpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
