/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A dirty bitmap on a qcow2 node's file node (sim/qcow2_meta.c): the
 * numbers are real QEMU 7.2's (cases/qcow2-file-bitmap.case).
 */
#include <stdbool.h>

#include "sim/tests/sim_test.h"

#define MiB (1024ull * 1024)

static void open_with_file_bitmap(bs_backend *b, uint64_t size, bool bitmap_first)
{
    img_create(b, IMG, size);
    QMP_OK(b, "blockdev-add", "{\"node-name\": \"drive0\", \"driver\": \"qcow2\", \"file\": "
           "{\"driver\": \"file\", \"filename\": \"" IMG "\", \"node-name\": \"f\"}}");
    if (!bitmap_first) {
        hmp(b, "drive0", "write 0 64k");
    }
    QMP_OK(b, "block-dirty-bitmap-add", "{\"node\": \"f\", \"name\": \"fine\", \"granularity\": 512}");
}

static void test_first_write_writes_metadata(void **state)
{
    bs_backend *b = vm_new();
    open_with_file_bitmap(b, 64 * MiB, true);
    /* the file's length in sectors: 3 clusters and the 8-byte L1 table */
    assert_string_equal(bitmaps_of(b, "f"), "fine:0:rec");
    hmp(b, "drive0", "write 0 64k");
    /* L2 table, refcount block, data: 3 clusters; the L1 entry's sector */
    assert_string_equal(bitmaps_of(b, "f"), "fine:197120:rec");
    hmp(b, "drive0", "flush");
    assert_string_equal(bitmaps_of(b, "f"), "fine:197120:rec");
    hmp(b, "drive0", "write 64k 64k");
    assert_string_equal(bitmaps_of(b, "f"), "fine:262656:rec");
    vm_free(b);
}

static void test_caches_written_back(void **state)
{
    bs_backend *b = vm_new();
    open_with_file_bitmap(b, 2048 * MiB, false);
    /* a new cluster: its data now, L2 entry and refcount in the caches */
    hmp(b, "drive0", "write 1M 4k");
    assert_string_equal(bitmaps_of(b, "f"), "fine:65536:rec");
    /* a second L2 table flushes both caches */
    hmp(b, "drive0", "write 1G 4k");
    assert_string_equal(bitmaps_of(b, "f"), "fine:328192:rec");
    QMP_OK(b, "block-dirty-bitmap-clear", "{\"node\": \"f\", \"name\": \"fine\"}");
    hmp(b, "drive0", "write 1500M 64k");
    assert_string_equal(bitmaps_of(b, "f"), "fine:65536:rec");
    hmp(b, "drive0", "flush");
    assert_string_equal(bitmaps_of(b, "f"), "fine:196608:rec");
    vm_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_write_writes_metadata),
        cmocka_unit_test(test_caches_written_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
