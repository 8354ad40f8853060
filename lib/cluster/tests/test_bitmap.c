// SPDX-License-Identifier: GPL-2.0-or-later
/* Unit tests for cl_bitmap: every function, edge by edge. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cluster/cluster.h"

#define KiB 1024ULL
#define MiB (1024 * KiB)
#define GiB (1024 * MiB)
#define TiB (1024 * GiB)

static const uint64_t grans[] = { 512, 64 * KiB, 128 * KiB };

static void test_new_rejects_bad_arguments(void **state)
{
    cl_error err = { 0 };

    assert_null(cl_bitmap_new(1 * MiB, 1000, &err));
    assert_int_equal(err.code, -EINVAL);
    assert_non_null(strstr(err.msg, "granularity"));
    assert_null(cl_bitmap_new(1 * MiB, 256, &err));
    assert_int_equal(err.code, -EINVAL);
    assert_null(cl_bitmap_new(1 * MiB, 0, NULL));
    memset(&err, 0, sizeof(err));
    assert_null(cl_bitmap_new(UINT64_MAX, 512, &err));
    assert_int_equal(err.code, -EINVAL);
    assert_non_null(strstr(err.msg, "size"));
    cl_bitmap_free(NULL);
}

static void test_geometry(void **state)
{
    for (size_t i = 0; i < 3; i++) {
        uint64_t g = grans[i];
        cl_bitmap *exact = cl_bitmap_new(100 * g, g, NULL);
        cl_bitmap *partial = cl_bitmap_new(100 * g + 1, g, NULL);

        assert_non_null(exact);
        assert_non_null(partial);
        assert_int_equal(cl_bitmap_size(exact), 100 * g);
        assert_int_equal(cl_bitmap_granularity(exact), g);
        assert_int_equal(cl_bitmap_nbits(exact), 100);
        assert_int_equal(cl_bitmap_nbits(partial), 101);
        assert_int_equal(cl_bitmap_count(partial), 0);
        assert_true(cl_bitmap_memory(exact) > 0);
        assert_true(cl_bitmap_enabled(exact));
        assert_true(cl_bitmap_recording(exact));
        assert_false(cl_bitmap_busy(exact));
        assert_null(cl_bitmap_successor(exact));

        /* the partial last bit counts as a whole one */
        assert_int_equal(cl_bitmap_set(partial, 100 * g, 1, NULL), 0);
        assert_int_equal(cl_bitmap_count(partial), 1);
        assert_int_equal(cl_bitmap_count_bytes(partial), g);
        assert_true(cl_bitmap_get(partial, 100 * g));
        assert_false(cl_bitmap_get(partial, 100 * g + 1));   /* past the end */
        cl_bitmap_free(exact);
        cl_bitmap_free(partial);
    }
}

static void test_empty_bitmap(void **state)
{
    cl_bitmap *bm = cl_bitmap_new(0, 512, NULL);
    uint64_t off, len;

    assert_non_null(bm);
    assert_int_equal(cl_bitmap_nbits(bm), 0);
    cl_bitmap_fill(bm);
    assert_int_equal(cl_bitmap_count(bm), 0);
    assert_int_equal(cl_bitmap_next_dirty(bm, 0, 0), -1);
    assert_int_equal(cl_bitmap_next_clean(bm, 0, 0), -1);
    assert_false(cl_bitmap_next_dirty_area(bm, 0, 0, 0, &off, &len));
    assert_int_equal(cl_bitmap_set(bm, 0, 0, NULL), 0);
    assert_true(cl_bitmap_set(bm, 0, 1, NULL) < 0);
    cl_bitmap_clear(bm);
    cl_bitmap_free(bm);
}

static void test_set_and_get(void **state)
{
    for (size_t i = 0; i < 3; i++) {
        uint64_t g = grans[i];
        cl_bitmap *bm = cl_bitmap_new(1000 * g + g / 2, g, NULL);
        cl_error err = { 0 };

        /* one byte dirties its whole bit; a range dirties every bit it touches */
        assert_int_equal(cl_bitmap_set(bm, 5 * g + 7, 1, NULL), 0);
        assert_true(cl_bitmap_get(bm, 5 * g));
        assert_true(cl_bitmap_get(bm, 6 * g - 1));
        assert_false(cl_bitmap_get(bm, 6 * g));
        assert_int_equal(cl_bitmap_set(bm, 10 * g - 1, 2, NULL), 0);
        assert_int_equal(cl_bitmap_count(bm), 3);
        /* len 0 is a no-op, even at the very end */
        assert_int_equal(cl_bitmap_set(bm, 1000 * g + g / 2, 0, NULL), 0);
        assert_int_equal(cl_bitmap_count(bm), 3);
        /* past the end */
        assert_int_equal(cl_bitmap_set(bm, 1000 * g, g, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "past the end"));
        assert_int_equal(cl_bitmap_set(bm, UINT64_MAX, 2, NULL), -EINVAL);
        assert_int_equal(cl_bitmap_set(bm, 1, UINT64_MAX, NULL), -EINVAL);
        /* a range spanning many words */
        assert_int_equal(cl_bitmap_set(bm, 63 * g, 700 * g, NULL), 0);
        assert_int_equal(cl_bitmap_count(bm), 3 + 700);
        /* set ignores the enabled state */
        assert_int_equal(cl_bitmap_set_enabled(bm, false, NULL), 0);
        assert_int_equal(cl_bitmap_set(bm, 999 * g, 1, NULL), 0);
        assert_true(cl_bitmap_get(bm, 999 * g));
        cl_bitmap_free(bm);
    }
}

static void test_reset(void **state)
{
    for (size_t i = 0; i < 3; i++) {
        uint64_t g = grans[i];
        uint64_t size = 300 * g + 100;
        cl_bitmap *bm = cl_bitmap_new(size, g, NULL);
        cl_error err = { 0 };

        cl_bitmap_fill(bm);
        assert_int_equal(cl_bitmap_count(bm), 301);
        assert_int_equal(cl_bitmap_reset(bm, 2 * g, 3 * g, NULL), 0);
        assert_int_equal(cl_bitmap_count(bm), 298);
        assert_false(cl_bitmap_get(bm, 4 * g));
        assert_true(cl_bitmap_get(bm, 5 * g));
        /* misaligned offset or length */
        assert_int_equal(cl_bitmap_reset(bm, 1, g, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "aligned"));
        assert_int_equal(cl_bitmap_reset(bm, g, g + 1, NULL), -EINVAL);
        /* may end exactly at size, or in the padding of the partial last bit */
        assert_int_equal(cl_bitmap_reset(bm, 299 * g, g + 100, NULL), 0);
        assert_false(cl_bitmap_get(bm, 300 * g));
        cl_bitmap_fill(bm);
        assert_int_equal(cl_bitmap_reset(bm, 300 * g, g, NULL), 0);
        assert_false(cl_bitmap_get(bm, 300 * g));
        /* beyond the padding */
        assert_int_equal(cl_bitmap_reset(bm, 300 * g, 2 * g, NULL), -EINVAL);
        assert_int_equal(cl_bitmap_reset(bm, 302 * g, 0, NULL), -EINVAL);
        assert_int_equal(cl_bitmap_reset(bm, 0, 0, NULL), 0);
        cl_bitmap_free(bm);
    }
}

static void test_clear_fill(void **state)
{
    for (size_t i = 0; i < 3; i++) {
        uint64_t g = grans[i];
        cl_bitmap *bm = cl_bitmap_new(5000 * g + 3, g, NULL);

        cl_bitmap_fill(bm);
        assert_int_equal(cl_bitmap_count(bm), 5001);
        assert_int_equal(cl_bitmap_next_clean(bm, 0, 0), -1);
        assert_int_equal(cl_bitmap_next_dirty(bm, 4999 * g, 0), 4999 * g);
        cl_bitmap_clear(bm);
        assert_int_equal(cl_bitmap_count(bm), 0);
        assert_int_equal(cl_bitmap_next_dirty(bm, 0, 0), -1);
        assert_int_equal(cl_bitmap_next_clean(bm, 77, 0), 77);
        cl_bitmap_free(bm);
    }
}

static void test_next_dirty_clean(void **state)
{
    for (size_t i = 0; i < 3; i++) {
        uint64_t g = grans[i];
        uint64_t size = 10000 * g + g / 4;   /* partial last bit */
        cl_bitmap *bm = cl_bitmap_new(size, g, NULL);

        assert_int_equal(cl_bitmap_set(bm, 7000 * g, 10, NULL), 0);
        assert_int_equal(cl_bitmap_next_dirty(bm, 0, 0), 7000 * g);
        /* answer is max(offset, start of the bit) */
        assert_int_equal(cl_bitmap_next_dirty(bm, 7000 * g + 5, 0), 7000 * g + 5);
        assert_int_equal(cl_bitmap_next_dirty(bm, 7001 * g, 0), -1);
        /* end is exclusive and clamped to size */
        assert_int_equal(cl_bitmap_next_dirty(bm, 0, 7000 * g), -1);
        assert_int_equal(cl_bitmap_next_dirty(bm, 0, 7000 * g + 1), 7000 * g);
        assert_int_equal(cl_bitmap_next_dirty(bm, 0, UINT64_MAX), 7000 * g);
        assert_int_equal(cl_bitmap_next_dirty(bm, size, 0), -1);
        assert_int_equal(cl_bitmap_next_dirty(bm, 7000 * g, 6000 * g), -1);

        assert_int_equal(cl_bitmap_next_clean(bm, 7000 * g, 0), 7001 * g);
        assert_int_equal(cl_bitmap_next_clean(bm, 3, 0), 3);
        cl_bitmap_fill(bm);
        assert_int_equal(cl_bitmap_next_clean(bm, 0, 0), -1);
        assert_int_equal(cl_bitmap_reset(bm, 10000 * g, g / 4, NULL), 0);
        assert_int_equal(cl_bitmap_next_clean(bm, 0, 0), 10000 * g);
        assert_int_equal(cl_bitmap_next_clean(bm, 10000 * g + 7, 0), 10000 * g + 7);
        assert_int_equal(cl_bitmap_next_clean(bm, 0, 10000 * g), -1);
        cl_bitmap_free(bm);
    }
}

static void test_next_dirty_area(void **state)
{
    for (size_t i = 0; i < 3; i++) {
        uint64_t g = grans[i];
        uint64_t size = 200 * g + 9;
        cl_bitmap *bm = cl_bitmap_new(size, g, NULL);
        uint64_t off = 0, len = 0;

        assert_false(cl_bitmap_next_dirty_area(bm, 0, 0, 0, &off, &len));
        cl_bitmap_set(bm, 10 * g, 20 * g, NULL);
        cl_bitmap_set(bm, 100 * g, 1, NULL);
        cl_bitmap_set(bm, 200 * g, 1, NULL);
        assert_true(cl_bitmap_next_dirty_area(bm, 0, 0, 0, &off, &len));
        assert_int_equal(off, 10 * g);
        assert_int_equal(len, 20 * g);
        /* capped at max_len */
        assert_true(cl_bitmap_next_dirty_area(bm, 0, 0, 3 * g + 1, &off, &len));
        assert_int_equal(len, 3 * g + 1);
        /* capped at end; starts at start inside a dirty bit */
        assert_true(cl_bitmap_next_dirty_area(bm, 12 * g + 5, 15 * g, 0, &off, &len));
        assert_int_equal(off, 12 * g + 5);
        assert_int_equal(len, 3 * g - 5);
        assert_true(cl_bitmap_next_dirty_area(bm, 30 * g, 0, 0, &off, &len));
        assert_int_equal(off, 100 * g);
        assert_int_equal(len, g);
        /* the partial last bit ends at size */
        assert_true(cl_bitmap_next_dirty_area(bm, 101 * g, 0, 0, &off, &len));
        assert_int_equal(off, 200 * g);
        assert_int_equal(len, 9);
        assert_false(cl_bitmap_next_dirty_area(bm, 30 * g, 100 * g, 0, &off, &len));
        assert_false(cl_bitmap_next_dirty_area(bm, size, 0, 0, &off, &len));
        cl_bitmap_free(bm);
    }
}

static void test_merge(void **state)
{
    uint64_t size = 1 * MiB + 512;   /* not a multiple of 64K or 128K */
    cl_bitmap *fine = cl_bitmap_new(size, 512, NULL);
    cl_bitmap *mid = cl_bitmap_new(size, 64 * KiB, NULL);
    cl_bitmap *coarse = cl_bitmap_new(size, 128 * KiB, NULL);
    cl_bitmap *other = cl_bitmap_new(size - 512, 512, NULL);
    cl_bitmap *twin = cl_bitmap_new(size, 512, NULL);
    cl_error err = { 0 };

    /* fine -> coarse: every touched coarse bit */
    cl_bitmap_set(fine, 64 * KiB - 512, 1024, NULL);   /* straddles 64K */
    cl_bitmap_set(fine, 1 * MiB, 512, NULL);           /* the partial tail */
    assert_int_equal(cl_bitmap_merge(mid, fine, NULL), 0);
    assert_int_equal(cl_bitmap_count(mid), 3);
    assert_true(cl_bitmap_get(mid, 0));
    assert_true(cl_bitmap_get(mid, 64 * KiB));
    assert_true(cl_bitmap_get(mid, 1 * MiB));
    assert_int_equal(cl_bitmap_merge(coarse, fine, NULL), 0);
    assert_int_equal(cl_bitmap_count(coarse), 2);

    /* coarse -> fine: whole coarse bits, clamped at size */
    cl_bitmap_clear(fine);
    assert_int_equal(cl_bitmap_merge(fine, coarse, NULL), 0);
    assert_int_equal(cl_bitmap_count(fine), 256 + 1);

    /* same granularity: OR */
    cl_bitmap_set(twin, 4096, 512, NULL);
    assert_int_equal(cl_bitmap_merge(twin, fine, NULL), 0);
    assert_int_equal(cl_bitmap_count(twin), 257);
    cl_bitmap_set(twin, 200 * KiB, 512, NULL);
    assert_int_equal(cl_bitmap_merge(twin, fine, NULL), 0);
    assert_int_equal(cl_bitmap_count(twin), 258);

    assert_int_equal(cl_bitmap_merge(fine, other, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "merge"));
    assert_int_equal(cl_bitmap_merge(NULL, fine, NULL), -EINVAL);
    assert_int_equal(cl_bitmap_merge(fine, NULL, NULL), -EINVAL);
    cl_bitmap_free(fine);
    cl_bitmap_free(mid);
    cl_bitmap_free(coarse);
    cl_bitmap_free(other);
    cl_bitmap_free(twin);
}

static void test_copy(void **state)
{
    cl_bitmap *a = cl_bitmap_new(10 * MiB + 1, 64 * KiB, NULL);
    cl_bitmap *b = cl_bitmap_new(10 * MiB + 1, 64 * KiB, NULL);
    cl_bitmap *c = cl_bitmap_new(10 * MiB + 1, 128 * KiB, NULL);
    cl_error err = { 0 };

    cl_bitmap_set(a, 3 * MiB, 2 * MiB, NULL);
    cl_bitmap_set(b, 0, 64, NULL);
    assert_int_equal(cl_bitmap_copy(b, a, NULL), 0);
    assert_int_equal(cl_bitmap_count(b), 32);
    assert_false(cl_bitmap_get(b, 0));
    assert_int_equal(cl_bitmap_next_dirty(b, 0, 0), 3 * MiB);
    assert_int_equal(cl_bitmap_next_clean(b, 3 * MiB, 0), 5 * MiB);
    assert_int_equal(cl_bitmap_copy(b, b, NULL), 0);
    assert_int_equal(cl_bitmap_copy(c, a, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "granularity"));
    assert_int_equal(cl_bitmap_copy(NULL, a, NULL), -EINVAL);
    cl_bitmap_free(a);
    cl_bitmap_free(b);
    cl_bitmap_free(c);
}

static void test_record_write(void **state)
{
    cl_bitmap *bm = cl_bitmap_new(1 * MiB + 100, 64 * KiB, NULL);

    cl_bitmap_record_write(bm, 70 * KiB, 1);
    assert_true(cl_bitmap_get(bm, 64 * KiB));
    cl_bitmap_record_write(bm, 1 * MiB, 1000);   /* clamped at the end */
    assert_true(cl_bitmap_get(bm, 1 * MiB));
    cl_bitmap_record_write(bm, 2 * MiB, 10);     /* past the end: ignored */
    cl_bitmap_record_write(bm, 0, 0);
    assert_int_equal(cl_bitmap_count(bm), 2);
    assert_int_equal(cl_bitmap_set_enabled(bm, false, NULL), 0);
    assert_false(cl_bitmap_recording(bm));
    cl_bitmap_record_write(bm, 0, 10);
    assert_false(cl_bitmap_get(bm, 0));
    cl_bitmap_free(bm);
}

static void test_freeze_reclaim(void **state)
{
    cl_bitmap *bm = cl_bitmap_new(1 * MiB, 64 * KiB, NULL);
    cl_bitmap *succ;
    cl_error err = { 0 };

    cl_bitmap_set(bm, 0, 1, NULL);
    succ = cl_bitmap_freeze(bm, &err);
    assert_non_null(succ);
    assert_true(cl_bitmap_busy(bm));
    assert_false(cl_bitmap_enabled(bm));
    assert_true(cl_bitmap_recording(bm));           /* the successor's state */
    assert_true(cl_bitmap_enabled(succ));
    assert_ptr_equal(cl_bitmap_successor(bm), succ);
    assert_int_equal(cl_bitmap_count(succ), 0);
    assert_int_equal(cl_bitmap_granularity(succ), 64 * KiB);

    /* frozen: no enable/disable, record_write does nothing, no second freeze */
    assert_int_equal(cl_bitmap_set_enabled(bm, true, &err), -EBUSY);
    assert_non_null(strstr(err.msg, "enable"));
    assert_int_equal(cl_bitmap_set_enabled(bm, false, NULL), -EBUSY);
    assert_null(cl_bitmap_freeze(bm, &err));
    assert_int_equal(err.code, -EBUSY);
    assert_null(cl_bitmap_freeze(succ, &err));      /* a successor can't be frozen */
    assert_null(cl_bitmap_freeze(NULL, NULL));
    cl_bitmap_record_write(bm, 128 * KiB, 1);
    cl_bitmap_record_write(succ, 128 * KiB, 1);
    assert_int_equal(cl_bitmap_count(bm), 1);
    assert_int_equal(cl_bitmap_count(succ), 1);

    /* disabling the successor makes the parent not recording */
    assert_int_equal(cl_bitmap_set_enabled(succ, false, NULL), 0);
    assert_false(cl_bitmap_recording(bm));
    assert_int_equal(cl_bitmap_set_enabled(succ, true, NULL), 0);

    assert_ptr_equal(cl_bitmap_reclaim(bm), bm);
    assert_false(cl_bitmap_busy(bm));
    assert_true(cl_bitmap_enabled(bm));             /* the successor's state */
    assert_null(cl_bitmap_successor(bm));
    assert_int_equal(cl_bitmap_count(bm), 2);
    assert_null(cl_bitmap_reclaim(bm));             /* not frozen */
    assert_null(cl_bitmap_abdicate(bm));
    assert_null(cl_bitmap_reclaim(NULL));
    cl_bitmap_free(succ);
    cl_bitmap_free(bm);
}

static void test_freeze_disabled_abdicate(void **state)
{
    cl_bitmap *bm = cl_bitmap_new(1 * MiB, 64 * KiB, NULL);
    cl_bitmap *succ;

    cl_bitmap_set(bm, 0, 1, NULL);
    cl_bitmap_set_enabled(bm, false, NULL);
    succ = cl_bitmap_freeze(bm, NULL);
    assert_non_null(succ);
    assert_false(cl_bitmap_enabled(succ));          /* enabled iff the parent was */
    assert_false(cl_bitmap_recording(bm));
    cl_bitmap_set(succ, 512 * KiB, 1, NULL);
    assert_ptr_equal(cl_bitmap_abdicate(bm), succ);
    assert_false(cl_bitmap_busy(bm));
    assert_null(cl_bitmap_successor(bm));
    assert_int_equal(cl_bitmap_count(succ), 1);     /* the parent's bits are dropped */
    assert_false(cl_bitmap_get(succ, 0));
    /* the released parent can be frozen again or freed */
    cl_bitmap_free(bm);
    cl_bitmap_free(succ);
}

static void test_free_breaks_links(void **state)
{
    cl_bitmap *bm = cl_bitmap_new(1 * MiB, 64 * KiB, NULL);
    cl_bitmap *succ = cl_bitmap_freeze(bm, NULL);

    cl_bitmap_free(succ);                /* parent must not keep a dangling pointer */
    assert_null(cl_bitmap_successor(bm));
    assert_null(cl_bitmap_reclaim(bm));
    cl_bitmap_free(bm);

    bm = cl_bitmap_new(1 * MiB, 64 * KiB, NULL);
    succ = cl_bitmap_freeze(bm, NULL);
    cl_bitmap_free(bm);                  /* and the other way round: */
    bm = cl_bitmap_freeze(succ, NULL);   /* no longer a successor, so it may freeze */
    assert_non_null(bm);
    cl_bitmap_free(bm);
    cl_bitmap_free(succ);
}

static void test_large_bitmap(void **state)
{
    /* 1 TiB at 64 KiB: 16M bits within the memory target */
    cl_bitmap *bm = cl_bitmap_new(1 * TiB, 64 * KiB, NULL);

    assert_non_null(bm);
    assert_int_equal(cl_bitmap_nbits(bm), 16 * 1024 * 1024);
    assert_true(cl_bitmap_memory(bm) < 2 * MiB + MiB / 2);
    assert_int_equal(cl_bitmap_next_dirty(bm, 0, 0), -1);
    cl_bitmap_set(bm, 1 * TiB - 1, 1, NULL);
    assert_int_equal(cl_bitmap_next_dirty(bm, 0, 0), (int64_t)(1 * TiB - 64 * KiB));
    cl_bitmap_fill(bm);
    assert_int_equal(cl_bitmap_count_bytes(bm), 1 * TiB);
    assert_int_equal(cl_bitmap_next_clean(bm, 0, 0), -1);
    cl_bitmap_reset(bm, 1 * TiB - 64 * KiB, 64 * KiB, NULL);
    assert_int_equal(cl_bitmap_next_clean(bm, 0, 0), (int64_t)(1 * TiB - 64 * KiB));
    cl_bitmap_free(bm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_rejects_bad_arguments),
        cmocka_unit_test(test_geometry),
        cmocka_unit_test(test_empty_bitmap),
        cmocka_unit_test(test_set_and_get),
        cmocka_unit_test(test_reset),
        cmocka_unit_test(test_clear_fill),
        cmocka_unit_test(test_next_dirty_clean),
        cmocka_unit_test(test_next_dirty_area),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_copy),
        cmocka_unit_test(test_record_write),
        cmocka_unit_test(test_freeze_reclaim),
        cmocka_unit_test(test_freeze_disabled_abdicate),
        cmocka_unit_test(test_free_breaks_links),
        cmocka_unit_test(test_large_bitmap),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
