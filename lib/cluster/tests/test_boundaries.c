// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The edges mutation testing found unguarded: each test fails when a
 * comparison in lib/cluster is off by one or a check is dropped. Sizes at
 * their limits, writes at a bitmap's end, the smallest cluster size, a
 * block-status answer past the end of the disk, a failed top-mode pass,
 * the bitmap mode without a bitmap, and x-perf max-chunk at its edges.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "fake_io.h"

#define KiB 1024ULL
#define MiB (1024 * KiB)
#define LIMIT (1ULL << 62)   /* largest bitmap size and granularity */

static void test_bitmap_size_limit(void **state)
{
    cl_error err = { 0 };
    /* exactly 2^62 bytes: allowed (4 Mi bits at 2^40 granularity) */
    cl_bitmap *bm = cl_bitmap_new(LIMIT, 1ULL << 40, &err);
    assert_non_null(bm);
    assert_int_equal(cl_bitmap_nbits(bm), 1ULL << 22);
    assert_int_equal(cl_bitmap_set(bm, LIMIT - 1, 1, NULL), 0);
    assert_true(cl_bitmap_get(bm, LIMIT - 1));
    assert_int_equal(cl_bitmap_count(bm), 1);
    assert_int_equal(cl_bitmap_next_dirty(bm, 0, 0), (int64_t)(LIMIT - (1ULL << 40)));
    cl_bitmap_free(bm);
    /* one byte more: refused */
    assert_null(cl_bitmap_new(LIMIT + 1, 1ULL << 40, &err));
    assert_int_equal(err.code, -EINVAL);
    /* granularity 2^62 allowed, 2^63 not */
    bm = cl_bitmap_new(LIMIT, LIMIT, NULL);
    assert_non_null(bm);
    assert_int_equal(cl_bitmap_nbits(bm), 1);
    cl_bitmap_free(bm);
    assert_null(cl_bitmap_new(LIMIT, LIMIT << 1, &err));
    assert_int_equal(err.code, -EINVAL);
    /* 512 is the smallest granularity, 256 is not */
    bm = cl_bitmap_new(4096, 512, NULL);
    assert_non_null(bm);
    assert_int_equal(cl_bitmap_nbits(bm), 8);
    cl_bitmap_free(bm);
    assert_null(cl_bitmap_new(4096, 256, NULL));
}

static void test_record_write_at_end(void **state)
{
    /* 3 bits over 2.5 granules: the last bit is partial */
    cl_bitmap *bm = cl_bitmap_new(2 * 4096 + 2048, 4096, NULL);
    assert_non_null(bm);
    cl_bitmap_record_write(bm, 2 * 4096 + 2048, 1);         /* exactly at the end */
    assert_int_equal(cl_bitmap_count(bm), 0);
    cl_bitmap_record_write(bm, 2 * 4096 + 2048, 0);
    assert_int_equal(cl_bitmap_count(bm), 0);
    cl_bitmap_record_write(bm, 2 * 4096 + 2047, 1);         /* the last byte */
    assert_int_equal(cl_bitmap_count(bm), 1);
    assert_true(cl_bitmap_get(bm, 2 * 4096));
    assert_false(cl_bitmap_get(bm, 4096));
    cl_bitmap_clear(bm);
    cl_bitmap_record_write(bm, 4096 - 1, 1 << 20);          /* runs past the end: clamped */
    assert_int_equal(cl_bitmap_count(bm), 3);
    cl_bitmap_clear(bm);
    cl_bitmap_record_write(bm, 4096, 4096);                 /* exactly one granule */
    assert_int_equal(cl_bitmap_count(bm), 1);
    assert_true(cl_bitmap_get(bm, 4096));
    assert_false(cl_bitmap_get(bm, 2 * 4096));
    assert_false(cl_bitmap_get(bm, 4095));
    /* a disabled bitmap records nothing, even at offset 0 */
    cl_bitmap_clear(bm);
    cl_bitmap_set_enabled(bm, false, NULL);
    cl_bitmap_record_write(bm, 0, 1);
    assert_int_equal(cl_bitmap_count(bm), 0);
    /* cl_bitmap_set at the end: a range ending exactly there is fine */
    assert_int_equal(cl_bitmap_set(bm, 2 * 4096, 2048, NULL), 0);
    assert_int_equal(cl_bitmap_set(bm, 2 * 4096, 2049, NULL), -EINVAL);
    assert_int_equal(cl_bitmap_set(bm, 2 * 4096 + 2048, 1, NULL), -EINVAL);
    cl_bitmap_free(bm);
}

static void test_smallest_cluster(void **state)
{
    fake_disk *d = fake_new(8 * 512);
    cl_io io = fake_io(d, true, true);
    cl_error err = { 0 };
    assert_null(cl_copy_new(8 * 512, 256, &io, &err));
    assert_int_equal(err.code, -EINVAL);
    cl_copy *cs = cl_copy_new(8 * 512, 512, &io, &err);
    assert_non_null(cs);
    assert_int_equal(cl_copy_cluster_size(cs), 512);
    /* one sector a task when the chunk is one cluster */
    cl_copy_set_max_chunk(cs, 512);
    assert_int_equal(cl_copy_chunk(cs), 512);
    int tasks = 0, r;
    cl_copy_failure fail;
    while ((r = cl_copy_step(cs, 0, 0, &fail)) == 1)
        tasks++;
    assert_int_equal(r, 0);
    assert_int_equal(tasks, 8);
    assert_int_equal(cl_copy_progress_offset(cs), 8 * 512);
    assert_memory_equal(d->src, d->dst, 8 * 512);
    cl_copy_free(cs);
    fake_free(d);
}

/* A block_status that claims more than it was asked about; in the top
 * layer everything is allocated, or nothing (top_unallocated). */
static uint64_t overshoot;
static bool top_unallocated;
static int status_overshoots(void *opaque, uint64_t off, uint64_t len, bool top_only,
                             uint64_t *pnum)
{
    fake_disk *d = opaque;
    fake_log(d, 'S', off, len, top_only, 0);
    *pnum = len + overshoot;
    return top_only && top_unallocated ? 0 : CL_STATUS_DATA | CL_STATUS_ALLOCATED;
}

static void past_the_end(void)
{
    /* 2.5 clusters of 64 KiB; the answer runs a sector past the end */
    uint64_t size = 160 * KiB;
    fake_disk *d = fake_new(size);
    cl_io io = fake_io(d, true, true);
    io.block_status = status_overshoots;
    cl_copy *cs = cl_copy_new(size, 64 * KiB, &io, NULL);
    assert_non_null(cs);
    cl_copy_failure fail = { 0 };
    while (cl_copy_step(cs, 0, 0, &fail) == 1)
        ;
    assert_int_equal(fail.ret, 0);
    assert_int_equal(cl_bitmap_count(cl_copy_bitmap(cs)), 0);
    assert_int_equal(cl_copy_progress_offset(cs), 192 * KiB);   /* 3 whole clusters */
    assert_memory_equal(d->src, d->dst, size);
    for (int i = 0; i < d->nlog; i++)     /* nothing past the end */
        assert_true(d->log[i].off + d->log[i].len <= size);
    cl_copy_free(cs);
    fake_free(d);

    /* the same answer in sync top's first pass: everything counts as
     * allocated, nothing is dropped, nothing read past the end */
    d = fake_new(size);
    io = fake_io(d, true, true);
    io.block_status = status_overshoots;
    cs = cl_copy_new(size, 64 * KiB, &io, NULL);
    assert_int_equal(cl_copy_reset_unallocated(cs), 0);
    assert_int_equal(cl_bitmap_count(cl_copy_bitmap(cs)), 3);
    assert_int_equal(cl_copy_progress_len(cs), 192 * KiB);
    cl_copy_free(cs);
    /* and nothing allocated in the top layer: every cluster is dropped */
    top_unallocated = true;
    cs = cl_copy_new(size, 64 * KiB, &io, NULL);
    assert_int_equal(cl_copy_reset_unallocated(cs), 0);
    assert_int_equal(cl_bitmap_count(cl_copy_bitmap(cs)), 0);
    assert_int_equal(cl_copy_progress_len(cs), 0);
    top_unallocated = false;
    cl_copy_free(cs);
    fake_free(d);
}

static void test_block_status_past_the_end(void **state)
{
    overshoot = 512;            /* a sector past the end */
    past_the_end();
    overshoot = 1 * MiB;        /* far past it */
    past_the_end();
}

static cl_backup *top_job(fake_disk *d, cl_bitmap *bm, cl_bitmap_mode mode)
{
    cl_backup_config cfg = {
        .sync = CL_SYNC_TOP, .bitmap = bm, .bitmap_mode = mode, .size = d->size,
        .cluster_size = 64 * KiB, .io = fake_io(d, true, true),
    };
    return cl_backup_new(&cfg, NULL);
}

static void test_failed_top_pass(void **state)
{
    fake_disk *d = fake_new(1 * MiB);
    d->status_err = -ENOSPC;   /* an errno other than EIO must come through */
    cl_backup *job = top_job(d, NULL, CL_BITMAP_ON_SUCCESS);
    assert_non_null(job);
    cl_copy_failure fail = { 0, false };
    assert_int_equal(cl_backup_step(job, &fail), CL_STEP_FAILED);
    assert_int_equal(fail.ret, -ENOSPC);
    assert_true(fail.is_read);     /* QEMU reports the block-status failure as a read error */
    /* nothing was dropped or copied */
    assert_int_equal(cl_bitmap_count(cl_copy_bitmap(cl_backup_copy(job))), 16);
    assert_int_equal(fake_count(d, 'W'), 0);
    cl_backup_free(job);
    fake_free(d);
}

static void test_bitmap_mode_without_bitmap(void **state)
{
    fake_disk *d = fake_new(1 * MiB);
    cl_error err = { 0 };
    /* without a bitmap the mode is never looked at: any value is accepted */
    cl_backup *job = top_job(d, NULL, (cl_bitmap_mode)77);
    assert_non_null(job);
    cl_bitmap *release = (cl_bitmap *)1;
    assert_null(cl_backup_finish(job, 0, &release));
    assert_null(release);
    cl_backup_free(job);
    /* with one it is checked */
    cl_bitmap *bm = cl_bitmap_new(1 * MiB, 64 * KiB, NULL);
    cl_backup_config cfg = {
        .sync = CL_SYNC_BITMAP, .bitmap = bm, .bitmap_mode = (cl_bitmap_mode)77,
        .size = 1 * MiB, .cluster_size = 64 * KiB, .io = fake_io(d, true, true),
    };
    assert_null(cl_backup_new(&cfg, &err));
    assert_int_equal(err.code, -EINVAL);
    assert_string_equal(err.msg, "unknown bitmap mode 77");
    assert_false(cl_bitmap_busy(bm));    /* left as it was */
    cfg.bitmap_mode = CL_BITMAP_ALWAYS;
    job = cl_backup_new(&cfg, &err);
    assert_non_null(job);
    assert_true(cl_bitmap_busy(bm));
    cl_backup_free(job);
    assert_false(cl_bitmap_busy(bm));
    cl_bitmap_free(bm);
    fake_free(d);
}

static void test_max_chunk_edges(void **state)
{
    fake_disk *d = fake_new(4 * MiB);
    cl_io io = fake_io(d, false, false);
    cl_copy *cs = cl_copy_new(4 * MiB, 64 * KiB, &io, NULL);
    assert_int_equal(cl_copy_chunk(cs), 1 * MiB);          /* the default */
    cl_copy_set_max_chunk(cs, 64 * KiB);                   /* equal to the cluster */
    assert_int_equal(cl_copy_chunk(cs), 64 * KiB);
    cl_copy_set_max_chunk(cs, 1 * MiB);                    /* equal to the default */
    assert_int_equal(cl_copy_chunk(cs), 1 * MiB);
    cl_copy_set_max_chunk(cs, 1 * MiB - 64 * KiB);
    assert_int_equal(cl_copy_chunk(cs), 1 * MiB - 64 * KiB);
    cl_copy_set_max_chunk(cs, 2 * MiB);                    /* only ever lowers it */
    assert_int_equal(cl_copy_chunk(cs), 1 * MiB);
    /* chunk = cluster: one cluster per task */
    cl_copy_set_max_chunk(cs, 64 * KiB);
    cl_copy_failure fail;
    assert_int_equal(cl_copy_step(cs, 0, 0, &fail), 1);
    assert_int_equal(cl_copy_progress_offset(cs), 64 * KiB);
    assert_int_equal(d->log[d->nlog - 1].len, 64 * KiB);
    cl_copy_free(cs);
    /* a 2 MiB cluster: the default chunk is the cluster */
    cs = cl_copy_new(4 * MiB, 2 * MiB, &io, NULL);
    assert_int_equal(cl_copy_chunk(cs), 2 * MiB);
    cl_copy_free(cs);
    fake_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bitmap_size_limit),
        cmocka_unit_test(test_record_write_at_end),
        cmocka_unit_test(test_smallest_cluster),
        cmocka_unit_test(test_block_status_past_the_end),
        cmocka_unit_test(test_failed_top_pass),
        cmocka_unit_test(test_bitmap_mode_without_bitmap),
        cmocka_unit_test(test_max_chunk_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
