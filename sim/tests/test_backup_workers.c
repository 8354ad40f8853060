/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The copy tasks several workers start after a failing backup task
 * (sim/backup_workers.c, sim/MODEL.md "Copy tasks in flight"). */
#include <stdbool.h>

#include "sim/tests/sim_test.h"

#define KiB 1024ull
#define MiB (1024ull * 1024)

/* drive0: a qcow2 of `size` over blkdebug failing one read of guest data
 * written at each offset of data[] (64 KiB each); the rule's host sector
 * is where the fail-th write landed (qcow2 allocates in order after its
 * 320 KiB of metadata). */
static void source(bs_backend *b, uint64_t size, const uint64_t *data, int n, int fail)
{
    img_create(b, IMG, size);
    QMP_OK(b, "blockdev-add", "{\"driver\": \"qcow2\", \"node-name\": \"drive0\", \"file\": "
           "{\"driver\": \"blkdebug\", \"image\": {\"driver\": \"file\", \"filename\": \"%s\"}, "
           "\"inject-error\": [{\"event\": \"read_aio\", \"errno\": 5, \"sector\": %llu, "
           "\"once\": true}]}}", IMG, (unsigned long long)((320 * KiB + fail * 64 * KiB) / 512));
    for (int i = 0; i < n; i++) {
        char cmd[64];
        snprintf(cmd, sizeof cmd, "write -P 0x11 %llu 64k", (unsigned long long)data[i]);
        assert_string_equal(hmp(b, "drive0", cmd), "");
    }
}

/* The target: "qcow2" (cluster size cs), "raw" over file, or either over
 * a blkdebug with no rules (which keeps zero tasks from being merged). */
static void target(bs_backend *b, const char *fmt, uint64_t size, uint64_t cs, bool blkdebug)
{
    char *err = NULL, opts[64], file[256];
    snprintf(opts, sizeof opts, "cluster_size=%llu", (unsigned long long)cs);
    assert_int_equal(b->ops->img_create_opts(b, strcmp(fmt, "raw") ? "qcow2" : "raw", TGT, size,
                                             strcmp(fmt, "raw") ? opts : NULL, &err), 0);
    if (blkdebug) {
        snprintf(file, sizeof file, "{\"driver\": \"blkdebug\", \"image\": {\"driver\": \"file\", "
                 "\"filename\": \"%s\"}}", TGT);
    } else {
        snprintf(file, sizeof file, "{\"driver\": \"file\", \"filename\": \"%s\"}", TGT);
    }
    QMP_OK(b, "blockdev-add", "{\"driver\": \"%s\", \"node-name\": \"tgt\", \"file\": %s}", fmt,
           file);
}

/* Run a sync=full backup with w workers to its end: its final offset. */
static uint64_t backup_offset(bs_backend *b, int w)
{
    QMP_OK(b, "blockdev-backup", "{\"device\": \"drive0\", \"target\": \"tgt\", \"sync\": \"full\", "
           "\"job-id\": \"j\", \"x-perf\": {\"max-workers\": %d}}", w);
    json_object *d = json_tokener_parse(wait_event(b, "BLOCK_JOB_COMPLETED"));
    json_object *off = NULL;
    assert_non_null(d);
    assert_true(json_object_object_get_ex(d, "offset", &off));
    uint64_t r = (uint64_t)json_object_get_int64(off);
    json_object_put(d);
    drain_events(b);
    return r;
}

/* The layout of cases/backup-workers-read.case: tasks D0 Z1 D2 Z3-4 D5
 * Z6-7 D8 Z9-10 D11 Z12-15. */
static const uint64_t five[] = { 0, 128 * KiB, 320 * KiB, 512 * KiB, 704 * KiB };

static uint64_t five_offset(const char *fmt, int fail, int w)
{
    bs_backend *b = vm_new();
    source(b, MiB, five, 5, fail);
    target(b, fmt, MiB, 64 * KiB, false);
    uint64_t r = backup_offset(b, w);
    vm_free(b);
    return r;
}

/* Real QEMU 7.2's answers (cases/backup-workers-read.case). */
static void test_qcow2_target(void **state)
{
    assert_int_equal(five_offset("qcow2", 0, 1), 0);
    assert_int_equal(five_offset("qcow2", 0, 2), 64 * KiB);
    assert_int_equal(five_offset("qcow2", 0, 3), 128 * KiB);
    assert_int_equal(five_offset("qcow2", 0, 4), 256 * KiB);
    assert_int_equal(five_offset("qcow2", 0, 64), MiB - 64 * KiB);
    /* D5 fails in the second wave, where the zero tasks hold nothing */
    assert_int_equal(five_offset("qcow2", 2, 1), 320 * KiB);
    assert_int_equal(five_offset("qcow2", 2, 2), 320 * KiB);
    assert_int_equal(five_offset("qcow2", 2, 64), MiB - 64 * KiB);
}

/* On a raw target every zero task holds a slot: waves D0 Z1, D2 Z3-4,
 * then D5 (failing) and Z6-7 (one of real QEMU's answers: it varies). */
static void test_raw_target(void **state)
{
    assert_int_equal(five_offset("raw", 2, 2), 448 * KiB);
    assert_int_equal(five_offset("raw", 2, 1), 320 * KiB);
}

/*
 * Merged runs of zero tasks count as the tasks they stand for: the same
 * backup with a target the engine may merge zero writes into and one it
 * may not (blkdebug in between) ends at the same offset.
 */
static uint64_t long_offset(const char *fmt, uint64_t cs, bool blkdebug, int w)
{
    static const uint64_t data[] = { 0, 40 * MiB };
    bs_backend *b = vm_new();
    source(b, 64 * MiB, data, 2, 1);
    target(b, fmt, 64 * MiB, cs, blkdebug);
    uint64_t r = backup_offset(b, w);
    vm_free(b);
    return r;
}

static void test_merged_zero_tasks(void **state)
{
    /* raw: 41 tasks (D0 and 40 zero tasks of up to 1 MiB from 64 KiB)
     * before the failing one; with 4 workers it is the second of its
     * wave and two zero tasks of 1 MiB follow it */
    assert_int_equal(long_offset("raw", 0, false, 4), 42 * MiB);
    assert_int_equal(long_offset("raw", 0, true, 4), 42 * MiB);
    assert_int_equal(long_offset("raw", 0, false, 2), 40 * MiB);
    /* qcow2 with 64 KiB clusters: one L2 table for the disk; after the
     * first wave no zero task holds, so all after the failing one land */
    assert_int_equal(long_offset("qcow2", 64 * KiB, false, 2), 64 * MiB - 64 * KiB);
    assert_int_equal(long_offset("qcow2", 64 * KiB, true, 2), 64 * MiB - 64 * KiB);
    /* qcow2 with 4 KiB clusters: an L2 table per 2 MiB, so zero tasks
     * that reach a new table hold a slot; merged or not, the same */
    uint64_t merged = long_offset("qcow2", 4 * KiB, false, 3);
    assert_int_equal(merged, long_offset("qcow2", 4 * KiB, true, 3));
    assert_true(merged > 40 * MiB && merged < 64 * MiB - 64 * KiB);
    assert_int_equal(long_offset("qcow2", 4 * KiB, false, 1), 40 * MiB);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qcow2_target),
        cmocka_unit_test(test_raw_target),
        cmocka_unit_test(test_merged_zero_tasks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
