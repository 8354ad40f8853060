/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The golden_diff fuzz target's checks on fixed inputs, its seeds and its
 * regressions (harness/fuzz/{corpus,regressions}/golden_diff/). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "harness/fuzz/golden_diff_fuzz.h"
#include "tools/fuzz_regress.h"

static int run(int context, const char *a, size_t alen, const char *b, size_t blen)
{
    uint8_t *buf = malloc(3 + alen + blen);
    assert_non_null(buf);
    buf[0] = (uint8_t)context;
    buf[1] = (uint8_t)(alen & 0xff);
    buf[2] = (uint8_t)(alen >> 8);
    memcpy(buf + 3, a, alen);
    memcpy(buf + 3 + alen, b, blen);
    int r = golden_diff_fuzz_run(buf, 3 + alen + blen);
    free(buf);
    return r;
}

static void test_fixed(void **state)
{
    assert_int_equal(run(3, "a\nb\n", 4, "a\nb\n", 4), 0);
    assert_int_equal(run(3, "hi\n\0junk", 8, "hi\n", 3), 1);      /* NUL in the golden */
    assert_int_equal(run(0, "a\nb\nc\n", 6, "a\nx\nc\n", 6), 1);
    assert_int_equal(run(1, "", 0, "x", 1), 1);
    assert_int_equal(run(2, "x", 1, "", 0), 1);
    assert_int_equal(run(3, "x\n", 2, "x", 1), 1);                /* newline at the end */
    assert_int_equal(run(7, "1\n2\n3\n4\n5\n6\n7\n8\n9\n", 18, "1\n3\n4\n5\n6\n7\n8\n0\n9\n", 18),
                     1);
}

static void feed(const char *path, const uint8_t *data, size_t size)
{
    golden_diff_fuzz_run(data, size);
}

static void test_corpus_and_regressions(void **state)
{
    fuzz_regress_each("harness/fuzz/regressions/golden_diff", feed);
    assert_true(fuzz_regress_each("harness/fuzz/corpus/golden_diff", feed) > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixed),
        cmocka_unit_test(test_corpus_and_regressions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
