// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Every input in lib/vma/fuzz/regressions/ once crashed, leaked or tripped a
 * sanitizer in a lib/vma fuzz target. Each goes through the same entry
 * points, read as stored and with the md5 fix-up the fuzzer applies, and
 * must be rejected with a message (a file named *.ok must be accepted).
 * The seed corpora go through too: any clean outcome.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tools/fuzz_regress.h"
#include "vma/fuzz/vma_fuzz.h"

typedef int (*entry_fn)(const uint8_t *, size_t, unsigned, vma_error *);

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static void expect(const char *path, entry_fn fn, const uint8_t *data, size_t size,
                   unsigned flags, bool must_fail)
{
    vma_error err = { 0 };
    int ret = fn(data, size, flags, &err);

    if (ret < 0) {
        if (!err.msg[0] || err.code != ret) {
            fail_msg("%s (flags %u): error %d without a matching message", path, flags, ret);
        }
    } else if (ret != 0) {
        fail_msg("%s (flags %u): returned %d", path, flags, ret);
    } else if (must_fail && !ends_with(path, ".ok")) {
        fail_msg("%s (flags %u): accepted, but it is not named *.ok", path, flags);
    }
}

static void regression(const char *path, const uint8_t *data, size_t size)
{
    /* the fix-up may turn a rejected input into an accepted one: only the
     * input as stored must be rejected */
    expect(path, vma_fuzz_header, data, size, 0, false);
    expect(path, vma_fuzz_archive, data, size, 0, true);
    expect(path, vma_fuzz_header, data, size, VMA_FUZZ_FIX_MD5, false);
    expect(path, vma_fuzz_archive, data, size, VMA_FUZZ_FIX_MD5, false);
}

static void seed(const char *path, const uint8_t *data, size_t size)
{
    expect(path, vma_fuzz_header, data, size, 0, false);
    expect(path, vma_fuzz_archive, data, size, 0, false);
}

static void test_regressions(void **state)
{
    fuzz_regress_each("lib/vma/fuzz/regressions", regression);
}

static void test_seed_corpora(void **state)
{
    assert_true(fuzz_regress_each("lib/vma/fuzz/corpus/vma_reader", seed) > 0);
    assert_true(fuzz_regress_each("lib/vma/fuzz/corpus/vma_header", seed) > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_regressions),
        cmocka_unit_test(test_seed_corpora),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
