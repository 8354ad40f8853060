/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The oracle's set arithmetic, checked against a plain bit array. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "oracle/oracle.h"

static void test_writes(void **state)
{
    oracle *o = oracle_new();
    oracle_model *m = oracle_model_new(o, "m", 65536);
    assert_int_equal(oracle_granularity(m), 65536);
    /* 257's group 1: 6 bits */
    oracle_dirty_write(m, 0x0000000, 0x10000);
    oracle_dirty_write(m, 0x00f8000, 0x10000);
    oracle_dirty_write(m, 0x2008000, 0x10000);
    oracle_dirty_write(m, 0x3fe0000, 0x10000);
    assert_int_equal(oracle_count(m), 6);
    assert_true(oracle_has_bit(m, 15) && oracle_has_bit(m, 16));
    assert_true(oracle_has_bit(m, 512) && oracle_has_bit(m, 513));
    assert_false(oracle_has_bit(m, 1));
    oracle_dirty_write(m, 0, 0);
    assert_int_equal(oracle_count(m), 6);
    oracle_clear_write(m, 0x00f8000, 0x10000);
    assert_int_equal(oracle_count(m), 4);
    oracle_clear_write(m, 0, 0);
    assert_int_equal(oracle_count(m), 4);
    uint64_t b;
    assert_int_equal(oracle_first_bit(m, &b), 0);
    assert_int_equal(b, 0);
    oracle_clear(m);
    assert_int_equal(oracle_count(m), 0);
    assert_int_equal(oracle_first_bit(m, &b), -1);
    assert_int_equal(oracle_fill_from_first(m, 10), -1);
    oracle_free(o);
    oracle_free(NULL);
}

static void test_models_by_name(void **state)
{
    oracle *o = oracle_new();
    oracle_model *a = oracle_model_new(o, "a", 512);
    oracle_model *b = oracle_model_new(o, "b", 0);     /* 0 is taken as 1 */
    assert_int_equal(oracle_granularity(b), 1);
    oracle_dirty_bits(a, 1, 3);
    assert_ptr_equal(oracle_find(o, "a"), a);
    assert_ptr_equal(oracle_find(o, "b"), b);
    assert_null(oracle_find(o, "c"));
    /* re-creating resets, keeping the model */
    assert_ptr_equal(oracle_model_new(o, "a", 1024), a);
    assert_int_equal(oracle_count(a), 0);
    assert_int_equal(oracle_granularity(a), 1024);
    oracle_free(o);
}

/* Random operations against a reference bit array. */
static void test_against_array(void **state)
{
    enum { N = 300 };
    unsigned char ref[N];
    memset(ref, 0, sizeof(ref));
    oracle *o = oracle_new();
    oracle_model *m = oracle_model_new(o, "m", 1);
    srand(257);
    for (int step = 0; step < 20000; step++) {
        uint64_t x = (uint64_t)(rand() % N), y = (uint64_t)(rand() % N);
        if (x > y) {
            uint64_t t = x;
            x = y;
            y = t;
        }
        switch (rand() % 6) {
        case 0:
        case 1:
            oracle_dirty_bits(m, x, y);
            memset(ref + x, 1, y - x);
            break;
        case 2:
        case 3:
            oracle_clear_bits(m, x, y);
            memset(ref + x, 0, y - x);
            break;
        case 4: {
            uint64_t f;
            int have = 0;
            for (int i = 0; i < N; i++)
                have |= ref[i];
            int r = oracle_fill_from_first(m, y);
            assert_int_equal(r, have ? 0 : -1);
            if (have) {
                int first = 0;
                while (!ref[first])
                    first++;
                memset(ref, 0, sizeof(ref));
                for (uint64_t i = (uint64_t)first; i < y; i++)
                    ref[i] = 1;
                if (oracle_first_bit(m, &f) == 0)
                    assert_int_equal(f, first);
            }
            break;
        }
        default:
            if (rand() % 50 == 0) {
                oracle_clear(m);
                memset(ref, 0, sizeof(ref));
            }
            break;
        }
        uint64_t count = 0;
        for (int i = 0; i < N; i++) {
            count += ref[i];
            assert_int_equal(oracle_has_bit(m, (uint64_t)i), ref[i]);
        }
        assert_int_equal(oracle_count(m), count);
    }
    oracle_free(o);
}

static void test_texts(void **state)
{
    char *s = oracle_check_text("bitmap0", 6, 6);
    assert_string_equal(s, "= Checking Bitmap bitmap0 =\nexpecting 6 dirty sectors; have 6. OK!");
    free(s);
    s = oracle_check_text(NULL, 7, 8);
    assert_string_equal(s, "= Checking Bitmap (anonymous) =\n"
                           "expecting 7 dirty sectors; have 8. ERROR!");
    free(s);
    s = oracle_compare_text("A", "B", 0, 1);
    assert_string_equal(s, "qemu_img compare \"A\" \"B\" ==> Identical, OK!");
    free(s);
    s = oracle_compare_text("A", "B", 1, 0);
    assert_string_equal(s, "qemu_img compare \"A\" \"B\" ==> Mismatch, OK!");
    free(s);
    s = oracle_compare_text("A", "B", 1, 1);
    assert_string_equal(s, "qemu_img compare \"A\" \"B\" ==> Mismatch, ERROR!");
    free(s);
    s = oracle_compare_text("A", "B", 0, 0);
    assert_string_equal(s, "qemu_img compare \"A\" \"B\" ==> Identical, ERROR!");
    free(s);
    s = oracle_compare_text("A", "B", 2, 0);
    assert_string_equal(s, "qemu_img compare \"A\" \"B\" ==> Mismatch, ERROR!");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writes),
        cmocka_unit_test(test_models_by_name),
        cmocka_unit_test(test_against_array),
        cmocka_unit_test(test_texts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
