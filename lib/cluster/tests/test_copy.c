// SPDX-License-Identifier: GPL-2.0-or-later
/* Copy state and copy-before-write against in-memory fake I/O. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "fake_io.h"

#define KiB 1024ULL
#define MiB (1024 * KiB)
#define CL (64 * KiB)

static void assert_op(const fake_disk *d, char op, int nth, uint64_t off, uint64_t len)
{
    const fake_op *o = fake_nth(d, op, nth);

    if (!o) {
        fail_msg("no %c call #%d", op, nth);
    }
    if (o->off != off || o->len != len) {
        fail_msg("%c call #%d: got [%llu, +%llu), want [%llu, +%llu)", op, nth,
                 (unsigned long long)o->off, (unsigned long long)o->len,
                 (unsigned long long)off, (unsigned long long)len);
    }
}

static cl_copy *new_copy(fake_disk *d, const cl_io *io)
{
    cl_copy *cs = cl_copy_new(d->size, CL, io, NULL);

    assert_non_null(cs);
    cl_copy_set_progress_remaining(cs, cl_bitmap_count_bytes(cl_copy_bitmap(cs)));
    return cs;
}

static void test_new_errors(void **state)
{
    fake_disk *d = fake_new(1 * MiB);
    cl_io io = fake_io(d, false, false);
    cl_io no_read = io;
    cl_error err = { 0 };

    no_read.read = NULL;
    assert_null(cl_copy_new(d->size, CL, NULL, &err));
    assert_int_equal(err.code, -EINVAL);
    assert_null(cl_copy_new(d->size, CL, &no_read, &err));
    assert_non_null(strstr(err.msg, "read"));
    assert_null(cl_copy_new(d->size, 3000, &io, &err));
    assert_non_null(strstr(err.msg, "cluster size"));
    assert_null(cl_copy_new(UINT64_MAX, CL, &io, &err));
    cl_copy_free(NULL);
    fake_free(d);
}

static void test_full_copy_partial_last_cluster(void **state)
{
    fake_disk *d = fake_new(3 * MiB + 32 * KiB);
    cl_io io = fake_io(d, false, true);
    cl_copy *cs = cl_copy_new(d->size, CL, &io, NULL);
    cl_bitmap *bm = cl_copy_bitmap(cs);
    cl_copy_failure fail = { 0 };

    assert_int_equal(cl_copy_cluster_size(cs), CL);
    assert_int_equal(cl_bitmap_count(bm), 49);      /* starts all dirty */
    assert_false(cl_bitmap_enabled(bm));
    assert_int_equal(cl_copy_progress_offset(cs), 0);
    assert_int_equal(cl_copy_progress_len(cs), 0);  /* 0/0 until told */
    cl_copy_set_progress_remaining(cs, cl_bitmap_count_bytes(bm));
    assert_int_equal(cl_copy_progress_len(cs), 49 * CL);

    for (int i = 0; i < 3; i++) {
        assert_int_equal(cl_copy_step(cs, 0, 0, &fail), 1);
        assert_op(d, 'R', i, (uint64_t)i * MiB, MiB);
        assert_op(d, 'W', i, (uint64_t)i * MiB, MiB);
        assert_int_equal(cl_copy_progress_offset(cs), (uint64_t)(i + 1) * MiB);
        assert_int_equal(cl_copy_progress_len(cs), 49 * CL);
    }
    /* the partial last cluster: real I/O stops at the end, progress counts it whole */
    assert_int_equal(cl_copy_step(cs, 0, 0, &fail), 1);
    assert_op(d, 'R', 3, 3 * MiB, 32 * KiB);
    assert_op(d, 'W', 3, 3 * MiB, 32 * KiB);
    assert_int_equal(cl_copy_progress_offset(cs), 49 * CL);
    assert_int_equal(cl_copy_progress_len(cs), 49 * CL);
    assert_int_equal(cl_copy_step(cs, 0, 0, &fail), 0);
    assert_int_equal(fake_count(d, 'R'), 4);
    assert_memory_equal(d->src, d->dst, d->size);
    cl_copy_free(cs);
    fake_free(d);
}

static void test_chunk_sizes(void **state)
{
    fake_disk *d = fake_new(4 * MiB);
    cl_io io = fake_io(d, false, false);
    cl_copy *cs = new_copy(d, &io);
    cl_copy *big = cl_copy_new(d->size, 2 * MiB, &io, NULL);

    assert_int_equal(cl_copy_chunk(cs), 1 * MiB);
    assert_int_equal(cl_copy_chunk(big), 2 * MiB);   /* max(cluster, 1 MiB) */
    cl_copy_set_max_chunk(cs, 4 * MiB);              /* cannot raise it */
    assert_int_equal(cl_copy_chunk(cs), 1 * MiB);
    cl_copy_set_max_chunk(cs, 128 * KiB);
    assert_int_equal(cl_copy_chunk(cs), 128 * KiB);
    assert_int_equal(cl_copy_step(cs, 0, 0, NULL), 1);
    assert_op(d, 'R', 0, 0, 128 * KiB);
    cl_copy_set_max_chunk(cs, 100 * KiB);            /* rounded up to whole clusters */
    assert_int_equal(cl_copy_step(cs, 0, 0, NULL), 1);
    assert_op(d, 'R', 1, 128 * KiB, 128 * KiB);
    cl_copy_set_max_chunk(cs, 0);
    assert_int_equal(cl_copy_chunk(cs), 1 * MiB);
    assert_int_equal(cl_copy_step(cs, 0, 0, NULL), 1);
    assert_op(d, 'R', 2, 256 * KiB, 1 * MiB);
    assert_int_equal(cl_copy_step(big, 0, 0, NULL), 1);
    assert_op(d, 'R', 3, 0, 2 * MiB);
    cl_copy_free(cs);
    cl_copy_free(big);
    fake_free(d);
}

static void test_tasks_stop_at_clean_clusters(void **state)
{
    fake_disk *d = fake_new(2 * MiB);
    cl_io io = fake_io(d, true, true);
    cl_copy *cs = new_copy(d, &io);
    cl_bitmap *bm = cl_copy_bitmap(cs);

    cl_bitmap_reset(bm, 3 * CL, CL, NULL);
    cl_bitmap_reset(bm, 10 * CL, 3 * CL, NULL);
    cl_copy_set_progress_remaining(cs, cl_bitmap_count_bytes(bm));
    assert_int_equal(cl_copy_progress_len(cs), 28 * CL);
    /* a window: offset rounds down, only the window's clusters */
    assert_int_equal(cl_copy_step(cs, 5 * CL + 100, 7 * CL, NULL), 1);
    assert_op(d, 'R', 0, 5 * CL, 2 * CL);
    assert_int_equal(cl_copy_step(cs, 10 * CL, 13 * CL, NULL), 0);
    assert_int_equal(cl_copy_step(cs, 40 * CL, 0, NULL), 0);
    /* lowest first, each task a dirty run capped at 16 clusters */
    while (cl_copy_step(cs, 0, 0, NULL) > 0) {
    }
    assert_op(d, 'R', 1, 0, 3 * CL);
    assert_op(d, 'R', 2, 4 * CL, CL);
    assert_op(d, 'R', 3, 7 * CL, 3 * CL);
    assert_op(d, 'R', 4, 13 * CL, 16 * CL);
    assert_op(d, 'R', 5, 29 * CL, 3 * CL);
    assert_int_equal(fake_count(d, 'R'), 6);
    assert_int_equal(cl_copy_progress_offset(cs), 28 * CL);
    assert_int_equal(cl_copy_progress_len(cs), 28 * CL);
    /* block status was asked about the chain, not the top layer */
    assert_false(fake_nth(d, 'S', 0)->top_only);
    cl_copy_free(cs);
    fake_free(d);
}

static void check_zero_runs(bool with_zeroes)
{
    fake_disk *d = fake_new(1 * MiB);
    cl_io io = fake_io(d, true, with_zeroes);
    cl_copy *cs = new_copy(d, &io);

    fake_make_zero(d, 128 * KiB, 384 * KiB);
    memset(d->dst, 0xee, d->size);
    assert_int_equal(cl_copy_step(cs, 0, 0, NULL), 1);     /* data run: 2 clusters */
    assert_op(d, 'R', 0, 0, 128 * KiB);
    assert_int_equal(cl_copy_progress_offset(cs), 128 * KiB);
    assert_int_equal(cl_bitmap_count(cl_copy_bitmap(cs)), 14);   /* the rest put back */
    assert_int_equal(cl_copy_step(cs, 0, 0, NULL), 1);     /* zero run: no read */
    assert_int_equal(fake_count(d, 'R'), 1);
    if (with_zeroes) {
        assert_op(d, 'Z', 0, 128 * KiB, 384 * KiB);
        assert_int_equal(fake_count(d, 'W'), 1);
    } else {
        assert_op(d, 'W', 1, 128 * KiB, 384 * KiB);
        assert_int_equal(fake_count(d, 'Z'), 0);
    }
    assert_int_equal(cl_copy_progress_offset(cs), 512 * KiB);
    assert_int_equal(cl_copy_step(cs, 0, 0, NULL), 1);
    assert_op(d, 'R', 1, 512 * KiB, 512 * KiB);
    assert_int_equal(cl_copy_step(cs, 0, 0, NULL), 0);
    assert_memory_equal(d->src, d->dst, d->size);
    assert_int_equal(cl_copy_progress_offset(cs), 1 * MiB);
    assert_int_equal(cl_copy_progress_len(cs), 1 * MiB);
    cl_copy_free(cs);
    fake_free(d);
}

static void test_zero_runs(void **state)
{
    check_zero_runs(true);
    check_zero_runs(false);
}

static void test_short_and_unaligned_runs(void **state)
{
    fake_disk *d = fake_new(1 * MiB);
    cl_io io = fake_io(d, true, true);
    cl_copy *cs = new_copy(d, &io);

    d->brk[100 * KiB / FAKE_SECTOR] = 1;   /* a run of 100 KiB, then the rest */
    d->brk[130 * KiB / FAKE_SECTOR] = 1;
    while (cl_copy_step(cs, 0, 0, NULL) > 0) {
    }
    assert_op(d, 'R', 0, 0, CL);                 /* 100 KiB rounded down */
    assert_op(d, 'R', 1, CL, CL);                /* a 36 KiB run: one data cluster */
    assert_op(d, 'R', 2, 2 * CL, CL);            /* a 2 KiB run: one data cluster */
    assert_op(d, 'R', 3, 3 * CL, 13 * CL);
    assert_int_equal(fake_count(d, 'R'), 4);
    assert_memory_equal(d->src, d->dst, d->size);
    assert_int_equal(cl_copy_progress_offset(cs), 1 * MiB);
    cl_copy_free(cs);
    fake_free(d);
}

static void test_status_at_disk_end(void **state)
{
    uint64_t size = 1 * MiB + 32 * KiB;
    fake_disk *d = fake_new(size);
    cl_io io = fake_io(d, true, true);
    cl_copy *cs = new_copy(d, &io);

    /* a zero run from 960 KiB to the end: rounded up to two clusters */
    fake_make_zero(d, 960 * KiB, size - 960 * KiB);
    assert_int_equal(cl_copy_progress_len(cs), 17 * CL);
    assert_int_equal(cl_copy_step(cs, 0, 0, NULL), 1);
    assert_op(d, 'R', 0, 0, 960 * KiB);
    assert_int_equal(cl_copy_step(cs, 0, 0, NULL), 1);
    assert_op(d, 'Z', 0, 960 * KiB, 96 * KiB);
    assert_int_equal(cl_copy_step(cs, 0, 0, NULL), 0);
    assert_int_equal(cl_copy_progress_offset(cs), 17 * CL);
    assert_int_equal(cl_copy_progress_len(cs), 17 * CL);
    cl_copy_free(cs);
    fake_free(d);

    /* a zero run shorter than a cluster at the end: one data cluster */
    d = fake_new(size);
    io = fake_io(d, true, true);
    cs = new_copy(d, &io);
    fake_make_zero(d, 1 * MiB, 32 * KiB);
    while (cl_copy_step(cs, 0, 0, NULL) > 0) {
    }
    assert_op(d, 'R', 0, 0, 1 * MiB);
    assert_op(d, 'R', 1, 1 * MiB, 32 * KiB);
    assert_int_equal(fake_count(d, 'Z'), 0);
    assert_memory_equal(d->src, d->dst, d->size);
    cl_copy_free(cs);
    fake_free(d);
}

static void test_status_error_falls_back(void **state)
{
    fake_disk *d = fake_new(256 * KiB);
    cl_io io = fake_io(d, true, true);
    cl_copy *cs = new_copy(d, &io);

    d->status_err = -EIO;
    while (cl_copy_step(cs, 0, 0, NULL) > 0) {
    }
    for (int i = 0; i < 4; i++) {
        assert_op(d, 'R', i, (uint64_t)i * CL, CL);
    }
    assert_memory_equal(d->src, d->dst, d->size);
    cl_copy_free(cs);
    fake_free(d);
}

static void test_skip_unallocated(void **state)
{
    fake_disk *d = fake_new(1 * MiB);
    cl_io io = fake_io(d, true, true);
    cl_copy *cs = new_copy(d, &io);

    fake_mark(d->top, 0, 128 * KiB, 1);
    fake_mark(d->top, 512 * KiB, CL, 1);
    assert_false(cl_copy_skip_unallocated(cs));
    cl_copy_set_skip_unallocated(cs, true);
    assert_true(cl_copy_skip_unallocated(cs));
    assert_int_equal(cl_copy_step(cs, 0, 0, NULL), 1);
    assert_op(d, 'R', 0, 0, 128 * KiB);
    assert_true(fake_nth(d, 'S', 0)->top_only);
    assert_int_equal(cl_copy_step(cs, 0, 0, NULL), 1);     /* skipped: no I/O */
    assert_int_equal(fake_count(d, 'R'), 1);
    assert_int_equal(cl_copy_progress_offset(cs), 128 * KiB);
    assert_int_equal(cl_copy_progress_len(cs), 1 * MiB - 384 * KiB);
    assert_int_equal(cl_copy_step(cs, 0, 0, NULL), 1);
    assert_op(d, 'R', 1, 512 * KiB, CL);
    assert_int_equal(cl_copy_step(cs, 0, 0, NULL), 1);     /* skipped tail */
    assert_int_equal(cl_copy_step(cs, 0, 0, NULL), 0);
    assert_int_equal(fake_count(d, 'R'), 2);
    assert_int_equal(cl_copy_progress_offset(cs), 192 * KiB);
    assert_int_equal(cl_copy_progress_len(cs), 192 * KiB);
    cl_copy_free(cs);
    fake_free(d);
}

static void test_failures_put_clusters_back(void **state)
{
    fake_disk *d = fake_new(2 * MiB);
    cl_io io = fake_io(d, false, true);
    cl_copy *cs = new_copy(d, &io);
    cl_copy_failure fail = { 0 };

    assert_int_equal(cl_copy_step(cs, 0, 0, &fail), 1);
    d->read_fault = (fake_fault){ 1 * MiB + 256 * KiB, 1, -EIO, 1 };
    assert_int_equal(cl_copy_step(cs, 0, 0, &fail), -EIO);
    assert_int_equal(fail.ret, -EIO);
    assert_true(fail.is_read);
    assert_int_equal(cl_bitmap_count(cl_copy_bitmap(cs)), 16);
    assert_int_equal(cl_copy_progress_offset(cs), 1 * MiB);
    assert_int_equal(cl_copy_progress_len(cs), 2 * MiB);

    d->write_fault = (fake_fault){ 0, 2 * MiB, -ENOSPC, 1 };
    fail = (cl_copy_failure){ 0 };
    assert_int_equal(cl_copy_step(cs, 0, 0, &fail), -ENOSPC);
    assert_int_equal(fail.ret, -ENOSPC);
    assert_false(fail.is_read);
    assert_int_equal(cl_bitmap_count(cl_copy_bitmap(cs)), 16);

    /* a zero write that fails is a write failure too; no fail struct is fine */
    fake_make_zero(d, 1 * MiB, 1 * MiB);
    io = fake_io(d, true, true);
    cl_copy_free(cs);
    cs = new_copy(d, &io);
    d->write_fault = (fake_fault){ 1 * MiB, 1, -EIO, 1 };
    assert_int_equal(cl_copy_step(cs, 1 * MiB, 0, NULL), -EIO);
    assert_int_equal(cl_copy_step(cs, 1 * MiB, 0, &fail), 1);   /* fault used up */
    assert_op(d, 'Z', 1, 1 * MiB, 1 * MiB);
    cl_copy_free(cs);
    fake_free(d);
}

/* cl_io.copy: one call per data task instead of a read and a write; zero
 * runs still go to write_zeroes; a failure says which side it was. */
static int fake_copy(void *opaque, uint64_t off, uint64_t len, bool *is_read)
{
    fake_disk *d = opaque;
    int ret = fake_check_fault(&d->read_fault, off, len);

    *is_read = ret < 0;
    if (ret == 0) {
        ret = fake_check_fault(&d->write_fault, off, len);
    }
    fake_log(d, 'C', off, len, false, ret);
    if (ret == 0) {
        memcpy(d->dst + off, d->src + off, len);
    }
    return ret;
}

static void test_copy_callback(void **state)
{
    fake_disk *d = fake_new(2 * MiB + 4 * KiB);
    cl_io io = fake_io(d, true, true);
    io.copy = fake_copy;
    fake_make_zero(d, 1 * MiB, 1 * MiB);
    cl_copy *cs = new_copy(d, &io);
    cl_copy_failure fail = { 0 };

    d->read_fault = (fake_fault){ 0, 1, -EIO, 1 };
    assert_int_equal(cl_copy_step(cs, 0, 0, &fail), -EIO);
    assert_true(fail.is_read);
    d->write_fault = (fake_fault){ 0, 1, -ENOSPC, 1 };
    assert_int_equal(cl_copy_step(cs, 0, 0, &fail), -ENOSPC);
    assert_false(fail.is_read);
    while (cl_copy_step(cs, 0, 0, &fail) == 1) {
    }
    assert_int_equal(fake_count(d, 'R'), 0);
    assert_int_equal(fake_count(d, 'W'), 0);
    assert_int_equal(fake_count(d, 'C'), 4);    /* two failed, 1 MiB, the last cluster */
    assert_op(d, 'C', 2, 0, 1 * MiB);
    assert_op(d, 'Z', 0, 1 * MiB, 1 * MiB);
    assert_memory_equal(d->dst, d->src, d->size);
    cl_copy_free(cs);
    fake_free(d);
}

static void test_copy_range(void **state)
{
    fake_disk *d = fake_new(2 * MiB + 4 * KiB);
    cl_io io = fake_io(d, false, true);
    cl_copy *cs = new_copy(d, &io);
    cl_copy_failure fail = { 0 };

    assert_int_equal(cl_copy_range(cs, 100 * KiB, 10 * KiB, &fail), 0);
    assert_op(d, 'R', 0, CL, CL);
    /* touches clusters 0..4; cluster 1 is already copied */
    assert_int_equal(cl_copy_range(cs, 60 * KiB, 200 * KiB, &fail), 0);
    assert_op(d, 'R', 1, 0, CL);
    assert_op(d, 'R', 2, 2 * CL, 3 * CL);
    /* the task stops at the end of the range although more is dirty */
    assert_int_equal(cl_copy_range(cs, 1 * MiB, 1, &fail), 0);
    assert_op(d, 'R', 3, 1 * MiB, CL);
    /* the partial last cluster */
    assert_int_equal(cl_copy_range(cs, 2 * MiB + 4 * KiB - 1, 1, &fail), 0);
    assert_op(d, 'R', 4, 2 * MiB, 4 * KiB);
    assert_int_equal(cl_copy_range(cs, 0, 0, &fail), 0);
    assert_int_equal(fake_count(d, 'R'), 5);
    assert_int_equal(cl_copy_range(cs, 2 * MiB, 8 * KiB, &fail), -EINVAL);
    assert_int_equal(fail.ret, -EINVAL);
    assert_int_equal(cl_copy_range(cs, UINT64_MAX, 8, NULL), -EINVAL);
    d->read_fault = (fake_fault){ 0, d->size, -EIO, -1 };
    assert_int_equal(cl_copy_range(cs, 0, d->size, &fail), -EIO);
    assert_true(fail.is_read);
    d->read_fault.err = 0;
    assert_int_equal(cl_copy_range(cs, 0, d->size, &fail), 0);
    assert_int_equal(cl_bitmap_count(cl_copy_bitmap(cs)), 0);
    assert_memory_equal(d->src, d->dst, d->size);
    assert_int_equal(cl_copy_progress_offset(cs), 33 * CL);
    cl_copy_free(cs);
    fake_free(d);
}

static void test_reset_unallocated(void **state)
{
    uint64_t size = 1 * MiB + 32 * KiB;   /* 17 clusters, the last one partial */
    fake_disk *d = fake_new(size);
    cl_io io = fake_io(d, true, true);
    cl_copy *cs = new_copy(d, &io);
    cl_bitmap *bm = cl_copy_bitmap(cs);

    fake_mark(d->top, 0, CL, 1);                          /* cluster 0 */
    fake_mark(d->top, 2 * CL + 60 * KiB, 4 * KiB, 1);     /* tail of cluster 2 */
    fake_mark(d->top, 10 * CL, 512, 1);                   /* head of cluster 10 */
    assert_int_equal(cl_copy_reset_unallocated(cs), 0);
    assert_int_equal(cl_bitmap_count(bm), 3);
    assert_true(cl_bitmap_get(bm, 0));
    assert_true(cl_bitmap_get(bm, 2 * CL));
    assert_true(cl_bitmap_get(bm, 10 * CL));
    assert_false(cl_bitmap_get(bm, 16 * CL));             /* unallocated partial tail */
    assert_int_equal(cl_copy_progress_len(cs), 3 * CL);
    for (int i = 0; i < fake_count(d, 'S'); i++) {
        assert_true(fake_nth(d, 'S', i)->top_only);
    }
    cl_copy_free(cs);

    /* an allocated partial last cluster stays; progress counts it whole */
    fake_mark(d->top, 0, size, 0);
    fake_mark(d->top, 1 * MiB + 16 * KiB, 512, 1);
    cs = new_copy(d, &io);
    assert_int_equal(cl_copy_reset_unallocated(cs), 0);
    assert_int_equal(cl_bitmap_count(cl_copy_bitmap(cs)), 1);
    assert_true(cl_bitmap_get(cl_copy_bitmap(cs), 1 * MiB));
    assert_int_equal(cl_copy_progress_len(cs), CL);
    cl_copy_free(cs);

    /* block-status failure is reported */
    cs = new_copy(d, &io);
    d->status_err = -EIO;
    assert_int_equal(cl_copy_reset_unallocated(cs), -EIO);
    d->status_err = 0;
    cl_copy_free(cs);

    /* without block status everything counts as allocated */
    io = fake_io(d, false, true);
    cs = new_copy(d, &io);
    assert_int_equal(cl_copy_reset_unallocated(cs), 0);
    assert_int_equal(cl_bitmap_count(cl_copy_bitmap(cs)), 17);
    cl_copy_free(cs);
    fake_free(d);
}

/* A block_status that answers 0 bytes must not hang the unallocated pass. */
static int zero_pnum_status(void *opaque, uint64_t off, uint64_t len, bool top, uint64_t *pnum)
{
    *pnum = 0;
    return 0;
}

/* One that claims more than it was asked about must be clamped to the task. */
static int greedy_status(void *opaque, uint64_t off, uint64_t len, bool top, uint64_t *pnum)
{
    *pnum = UINT64_MAX / 2;
    return CL_STATUS_DATA | CL_STATUS_ALLOCATED;
}

static void test_misbehaving_status(void **state)
{
    fake_disk *d = fake_new(256 * KiB);
    cl_io io = fake_io(d, true, true);
    cl_copy *cs;

    io.block_status = zero_pnum_status;
    cs = new_copy(d, &io);
    assert_int_equal(cl_copy_reset_unallocated(cs), -EIO);
    /* and a copy falls back to one data cluster per task */
    assert_int_equal(cl_copy_step(cs, 0, 0, NULL), 1);
    assert_op(d, 'R', 0, 0, CL);
    cl_copy_free(cs);

    io.block_status = greedy_status;
    cs = new_copy(d, &io);
    assert_int_equal(cl_copy_step(cs, 0, 0, NULL), 1);
    assert_op(d, 'R', 1, 0, 256 * KiB);
    assert_int_equal(cl_copy_step(cs, 0, 0, NULL), 0);
    cl_copy_free(cs);
    fake_free(d);
}

static void test_progress_remaining(void **state)
{
    fake_disk *d = fake_new(1 * MiB);
    cl_io io = fake_io(d, false, false);
    cl_copy *cs = new_copy(d, &io);

    cl_copy_step(cs, 0, 128 * KiB, NULL);
    assert_int_equal(cl_copy_progress_offset(cs), 128 * KiB);
    cl_copy_set_progress_remaining(cs, 100);
    assert_int_equal(cl_copy_progress_len(cs), 128 * KiB + 100);
    cl_copy_free(cs);
    fake_free(d);
}

/* ------------------------------------------------------------------------ */

static void test_cbw_basic(void **state)
{
    uint64_t size = 1 * MiB + 32 * KiB;
    fake_disk *d = fake_new(size);
    cl_io io = fake_io(d, false, true);
    cl_copy *cs = new_copy(d, &io);
    cl_cbw *cbw;
    cl_bitmap *done, *access;
    cl_copy_failure fail = { 0 };
    cl_error err = { 0 };

    assert_null(cl_cbw_new(NULL, &err));
    assert_int_equal(err.code, -EINVAL);
    cbw = cl_cbw_new(cs, &err);
    assert_non_null(cbw);
    done = cl_cbw_done_bitmap(cbw);
    access = cl_cbw_access_bitmap(cbw);
    assert_int_equal(cl_bitmap_count(done), 0);
    assert_int_equal(cl_bitmap_count(access), 17);
    assert_int_equal(cl_bitmap_count_bytes(access), 17 * CL);
    assert_false(cl_bitmap_enabled(done));
    assert_false(cl_bitmap_enabled(access));
    assert_int_equal(cl_bitmap_granularity(done), CL);

    /* a small write copies out its cluster and marks it done */
    assert_int_equal(cl_cbw_before_write(cbw, 70 * KiB, 10 * KiB, &fail), 0);
    assert_op(d, 'R', 0, CL, CL);
    assert_true(cl_bitmap_get(done, CL));
    assert_int_equal(cl_bitmap_count(done), 1);
    /* again: nothing left to copy */
    assert_int_equal(cl_cbw_before_write(cbw, 70 * KiB, 10 * KiB, &fail), 0);
    assert_int_equal(fake_count(d, 'R'), 1);
    /* a cluster the job copied: no copy, but marked done all the same */
    assert_int_equal(cl_copy_step(cs, 5 * CL, 6 * CL, NULL), 1);
    assert_int_equal(cl_cbw_before_write(cbw, 5 * CL, CL, &fail), 0);
    assert_int_equal(fake_count(d, 'R'), 2);
    assert_true(cl_bitmap_get(done, 5 * CL));
    /* the partial last cluster */
    assert_int_equal(cl_cbw_before_write(cbw, size - 512, 512, &fail), 0);
    assert_op(d, 'R', 2, 1 * MiB, 32 * KiB);
    assert_int_equal(cl_bitmap_count_bytes(done), 3 * CL);
    /* a write spanning clusters 2..4, unaligned */
    assert_int_equal(cl_cbw_before_write(cbw, 2 * CL + 1, 2 * CL, &fail), 0);
    assert_op(d, 'R', 3, 2 * CL, 3 * CL);
    assert_int_equal(cl_bitmap_count(done), 6);
    /* len 0: nothing; past the end: an error */
    assert_int_equal(cl_cbw_before_write(cbw, 9 * CL, 0, &fail), 0);
    assert_false(cl_bitmap_get(done, 9 * CL));
    assert_int_equal(cl_cbw_before_write(cbw, size, 1, &fail), -EINVAL);
    assert_int_equal(fail.ret, -EINVAL);
    /* a failed copy fails the write and leaves done alone */
    d->read_fault = (fake_fault){ 9 * CL, 1, -EIO, 1 };
    assert_int_equal(cl_cbw_before_write(cbw, 9 * CL, 4096, &fail), -EIO);
    assert_true(fail.is_read);
    assert_false(cl_bitmap_get(done, 9 * CL));
    assert_true(cl_bitmap_get(cl_copy_bitmap(cs), 9 * CL));
    /* the access bitmap is not touched by writes */
    assert_int_equal(cl_bitmap_count(access), 17);
    cl_cbw_free(cbw);
    cl_cbw_free(NULL);

    /* access starts as the copy bitmap is at creation */
    cl_bitmap_reset(cl_copy_bitmap(cs), 0, 4 * CL, NULL);
    cbw = cl_cbw_new(cs, NULL);
    assert_false(cl_bitmap_get(cl_cbw_access_bitmap(cbw), 3 * CL));
    assert_true(cl_bitmap_get(cl_cbw_access_bitmap(cbw), 9 * CL));
    cl_cbw_free(cbw);
    cl_copy_free(cs);
    fake_free(d);
}

static uint64_t rng_state;

static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

/* Interleave job steps and guest writes: the target must end up equal to the
 * source as it was when the copy state was created. */
static void point_in_time_run(uint64_t seed)
{
    uint64_t size = 5 * MiB + 3 * 512;
    fake_disk *d = fake_new(size);
    cl_io io = fake_io(d, true, seed % 2 == 0);
    cl_copy *cs = new_copy(d, &io);
    cl_cbw *cbw = cl_cbw_new(cs, NULL);
    uint8_t *snapshot = malloc(size);
    uint8_t *touched = calloc(size / CL + 1, 1);
    int steps_left = 1;

    rng_state = seed;
    fake_make_zero(d, 1 * MiB, 600 * KiB);
    fake_make_zero(d, size - 40 * KiB, 40 * KiB);
    for (int i = 0; i < 20; i++) {
        d->brk[rnd() % (size / FAKE_SECTOR)] = 1;
    }
    memcpy(snapshot, d->src, size);
    memset(d->dst, 0xee, size);
    while (steps_left) {
        if (rnd() % 3 == 0) {
            steps_left = cl_copy_step(cs, 0, 0, NULL);
            assert_true(steps_left >= 0);
        } else {
            uint64_t off = rnd() % size;
            uint64_t len = 1 + rnd() % (rnd() % 4 == 0 ? 400 * KiB : 3000);

            if (len > size - off) {
                len = size - off;
            }
            assert_int_equal(cl_cbw_before_write(cbw, off, len, NULL), 0);
            memset(d->src + off, (int)(rnd() | 1), len);
            fake_mark(d->zero, off / FAKE_SECTOR * FAKE_SECTOR,
                      (off + len + FAKE_SECTOR - 1) / FAKE_SECTOR * FAKE_SECTOR -
                      off / FAKE_SECTOR * FAKE_SECTOR, 0);
            for (uint64_t c = off / CL; c <= (off + len - 1) / CL; c++) {
                touched[c] = 1;
            }
        }
    }
    if (memcmp(snapshot, d->dst, size) != 0) {
        fail_msg("target differs from the point-in-time source (seed %llu)",
                 (unsigned long long)seed);
    }
    for (uint64_t c = 0; c < cl_bitmap_nbits(cl_cbw_done_bitmap(cbw)); c++) {
        assert_int_equal(cl_bitmap_get(cl_cbw_done_bitmap(cbw), c * CL), touched[c]);
    }
    assert_int_equal(cl_copy_progress_offset(cs), cl_copy_progress_len(cs));
    assert_int_equal(cl_copy_progress_len(cs), (size / CL + 1) * CL);
    free(snapshot);
    free(touched);
    cl_cbw_free(cbw);
    cl_copy_free(cs);
    fake_free(d);
}

static void test_cbw_point_in_time(void **state)
{
    for (uint64_t seed = 1; seed <= 40; seed++) {
        point_in_time_run(seed * 7919);
    }
}

/* ---- cl_copy_steps: merged zero tasks against one task per step ---------- */

static bool merge_yes(void *opaque)
{
    return true;
}

typedef struct step_trace {
    char op[FAKE_LOG_MAX];          /* R and W calls, in order */
    uint64_t off[FAKE_LOG_MAX], len[FAKE_LOG_MAX];
    uint64_t tick[FAKE_LOG_MAX];    /* tasks done before the call's task */
    int n;
    uint64_t ticks;                 /* tasks done in all */
    int merged;                     /* calls that did more than one task */
    int ret;                        /* the last step's answer */
} step_trace;

static unsigned next_rand(unsigned *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return (*seed >> 8) & 0xffffff;
}

/* One random disk, copy bitmap and configuration from seed, copied to the
 * end (or the first failure) with at most max_tasks tasks per call. */
static void run_random(unsigned seed, uint64_t max_tasks, step_trace *t, uint8_t **dst,
                       uint64_t *size, uint64_t *prog, uint64_t *left)
{
    uint64_t sectors = 1 + next_rand(&seed) % (6 * MiB / FAKE_SECTOR);
    fake_disk *d = fake_new(sectors * FAKE_SECTOR);
    cl_io io = fake_io(d, true, true);
    cl_copy *cs;
    int k;

    io.merge_zero_tasks = merge_yes;
    memset(d->dst, 0xaa, d->size);     /* so that zero writes show */
    if (next_rand(&seed) % 2) {
        /* mostly zeroes, some data: as a big, mostly empty disk */
        fake_make_zero(d, 0, d->size);
        for (k = next_rand(&seed) % 4; k > 0; k--) {
            uint64_t off = next_rand(&seed) % sectors * FAKE_SECTOR;
            uint64_t len = (1 + next_rand(&seed) % 300) * FAKE_SECTOR;

            fake_mark(d->zero, off, off + len > d->size ? d->size - off : len, 0);
        }
    }
    for (k = next_rand(&seed) % 6; k > 0; k--) {
        uint64_t off = next_rand(&seed) % sectors * FAKE_SECTOR;
        uint64_t len = (1 + next_rand(&seed) % (sectors / 2 + 1)) * FAKE_SECTOR;

        fake_make_zero(d, off, off + len > d->size ? d->size - off : len);
    }
    for (k = next_rand(&seed) % 4; k > 0; k--) {
        uint64_t off = next_rand(&seed) % sectors * FAKE_SECTOR;
        uint64_t len = (1 + next_rand(&seed) % (sectors / 2 + 1)) * FAKE_SECTOR;

        fake_mark(d->top, off, off + len > d->size ? d->size - off : len, 1);
    }
    for (k = next_rand(&seed) % 4; k > 0; k--) {
        d->brk[next_rand(&seed) % sectors] = 1;
    }
    if (next_rand(&seed) % 4 == 0) {
        d->read_fault = (fake_fault){ next_rand(&seed) % sectors * FAKE_SECTOR, 1, -EIO, 1 };
    }
    cs = cl_copy_new(d->size, CL, &io, NULL);
    assert_non_null(cs);
    switch (next_rand(&seed) % 4) {
    case 0:
        cl_copy_set_max_chunk(cs, CL * (1 + next_rand(&seed) % 20));
        break;
    case 1:
        cl_copy_set_max_chunk(cs, 100000);  /* not whole clusters: never merged */
        break;
    default:
        break;
    }
    cl_copy_set_skip_unallocated(cs, next_rand(&seed) % 2);
    for (k = next_rand(&seed) % 5; k > 0; k--) {
        uint64_t off = next_rand(&seed) % sectors * FAKE_SECTOR / CL * CL;
        uint64_t len = (1 + next_rand(&seed) % 40) * CL;

        cl_bitmap_reset(cl_copy_bitmap(cs), off,
                        off + len > d->size ? d->size - off : len, NULL);
    }
    cl_copy_set_progress_remaining(cs, cl_bitmap_count_bytes(cl_copy_bitmap(cs)));

    memset(t, 0, sizeof(*t));
    do {
        int before = d->nlog;
        uint64_t n = 99;

        t->ret = cl_copy_steps(cs, max_tasks, &n, NULL);
        assert_true(n <= max_tasks);
        assert_int_equal(n == 0, t->ret == 0);
        for (int i = before; i < d->nlog; i++) {
            if (d->log[i].op == 'R' || d->log[i].op == 'W') {
                assert_true(t->n < FAKE_LOG_MAX);
                t->op[t->n] = d->log[i].op;
                t->off[t->n] = d->log[i].off;
                t->len[t->n] = d->log[i].len;
                t->tick[t->n++] = t->ticks;
            }
        }
        t->ticks += n;
        t->merged += n > 1;
    } while (t->ret > 0);
    assert_true(d->nlog < FAKE_LOG_MAX);
    *size = d->size;
    *dst = malloc(d->size);
    memcpy(*dst, d->dst, d->size);
    *prog = cl_copy_progress_offset(cs) << 1 ^ cl_copy_progress_len(cs);
    *left = cl_bitmap_count_bytes(cl_copy_bitmap(cs));
    cl_copy_free(cs);
    fake_free(d);
}

static void test_merged_zero_tasks(void **state)
{
    static step_trace a, b;
    uint64_t merged_calls = 0;

    for (unsigned seed = 1; seed <= 200; seed++) {
        uint8_t *da, *db;
        uint64_t sa, sb, pa, pb, la, lb;

        run_random(seed, 1, &a, &da, &sa, &pa, &la);
        run_random(seed, seed % 3 ? UINT64_MAX : 1 + seed % 7, &b, &db, &sb, &pb, &lb);
        assert_int_equal(a.ret, b.ret);
        assert_int_equal(a.ticks, b.ticks);     /* each task keeps its slot */
        assert_int_equal(a.n, b.n);
        for (int i = 0; i < a.n; i++) {
            assert_int_equal(a.op[i], b.op[i]);
            assert_int_equal(a.off[i], b.off[i]);
            assert_int_equal(a.len[i], b.len[i]);
            assert_int_equal(a.tick[i], b.tick[i]);
        }
        assert_int_equal(sa, sb);
        assert_memory_equal(da, db, sa);
        assert_int_equal(pa, pb);
        assert_int_equal(la, lb);
        assert_int_equal(a.merged, 0);
        merged_calls += b.merged;
        free(da);
        free(db);
    }
    assert_true(merged_calls > 30);     /* the test does test merging */
}

/* Without merge_zero_tasks, or asked for one task, cl_copy_steps is one
 * cl_copy_step. */
static void test_steps_without_merge(void **state)
{
    fake_disk *d = fake_new(4 * MiB);
    cl_io io = fake_io(d, true, true);
    cl_copy *cs = new_copy(d, &io);
    uint64_t n = 0;

    fake_make_zero(d, 0, 4 * MiB);
    assert_int_equal(cl_copy_steps(cs, UINT64_MAX, &n, NULL), 1);
    assert_int_equal(n, 1);
    assert_op(d, 'Z', 0, 0, MiB);
    io.merge_zero_tasks = merge_yes;
    cl_copy_free(cs);
    cs = new_copy(d, &io);
    assert_int_equal(cl_copy_steps(cs, 1, &n, NULL), 1);
    assert_int_equal(n, 1);
    assert_op(d, 'Z', 1, 0, MiB);
    assert_int_equal(cl_copy_steps(cs, UINT64_MAX, &n, NULL), 1);
    assert_int_equal(n, 3);
    assert_op(d, 'Z', 2, MiB, 3 * MiB);
    assert_int_equal(cl_copy_progress_offset(cs), 4 * MiB);
    assert_int_equal(cl_copy_steps(cs, UINT64_MAX, &n, NULL), 0);
    assert_int_equal(n, 0);
    cl_copy_free(cs);
    fake_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_errors),
        cmocka_unit_test(test_full_copy_partial_last_cluster),
        cmocka_unit_test(test_chunk_sizes),
        cmocka_unit_test(test_tasks_stop_at_clean_clusters),
        cmocka_unit_test(test_zero_runs),
        cmocka_unit_test(test_short_and_unaligned_runs),
        cmocka_unit_test(test_status_at_disk_end),
        cmocka_unit_test(test_status_error_falls_back),
        cmocka_unit_test(test_skip_unallocated),
        cmocka_unit_test(test_failures_put_clusters_back),
        cmocka_unit_test(test_copy_range),
        cmocka_unit_test(test_reset_unallocated),
        cmocka_unit_test(test_misbehaving_status),
        cmocka_unit_test(test_progress_remaining),
        cmocka_unit_test(test_cbw_basic),
        cmocka_unit_test(test_copy_callback),
        cmocka_unit_test(test_cbw_point_in_time),
        cmocka_unit_test(test_merged_zero_tasks),
        cmocka_unit_test(test_steps_without_merge),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
