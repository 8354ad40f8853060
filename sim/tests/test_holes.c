/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Holes in raw files (sim/store.c store_block_status, store_truncate_posix;
 * the file driver's block status): what QEMU 7.2's file-posix reports on
 * this machine's ext4 (4 KiB blocks), as cases/raw-holes.case shows it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sim/tests/sim_test.h"
#include "sim/sim_int.h"

static void test_created_file_has_its_first_block(void **state)
{
    sim_store st;
    uint64_t n;
    store_init(&st);
    store_truncate_posix(&st, 1 << 20);
    assert_int_equal(st.size, 1 << 20);
    assert_true(store_block_status(&st, 0, 1 << 20, &n));
    assert_int_equal(n, 4096);
    assert_false(store_block_status(&st, 4096, (1 << 20) - 4096, &n));
    assert_int_equal(n, (1 << 20) - 4096);
    /* growing a file that is not empty writes nothing */
    store_truncate_posix(&st, 2 << 20);
    assert_false(store_block_status(&st, 4096, (2 << 20) - 4096, &n));
    assert_int_equal(n, (2 << 20) - 4096);
    store_free(&st);
    /* below 4 KiB: one sector written, its block allocated, all of the file */
    store_init(&st);
    store_truncate_posix(&st, 2048);
    assert_int_equal(st.size, 2048);
    assert_true(store_block_status(&st, 0, 2048, &n));
    assert_int_equal(n, 2048);
    store_free(&st);
}

static void test_writes_zeroes_and_discards(void **state)
{
    sim_store st;
    uint64_t n;
    uint8_t buf[512] = { 1 };
    store_init(&st);
    store_truncate(&st, 1 << 20);
    /* 512 bytes allocate their whole block */
    store_write(&st, 65536, sizeof buf, buf);
    assert_false(store_block_status(&st, 0, 1 << 20, &n));
    assert_int_equal(n, 65536);
    assert_true(store_block_status(&st, 65536, (1 << 20) - 65536, &n));
    assert_int_equal(n, 4096);
    /* zeroing part of the block keeps it; zeroing it whole makes a hole */
    store_zero(&st, 65536, 512);
    assert_true(store_block_status(&st, 65536, 4096, &n));
    store_zero(&st, 65536, 4096);
    assert_false(store_block_status(&st, 0, 1 << 20, &n));
    assert_int_equal(n, 1 << 20);
    store_free(&st);
}

static void test_tail_of_a_file(void **state)
{
    sim_store st;
    uint64_t n;
    uint8_t buf[100] = { 9 };
    store_init(&st);
    /* data ending inside a sector counts to the sector's end */
    store_write(&st, 4096, sizeof buf, buf);
    assert_true(store_block_status(&st, 4096, 512, &n));
    assert_int_equal(n, 512);
    /* a trailing hole runs to whatever was asked */
    store_truncate(&st, 3 * 4096);
    assert_false(store_block_status(&st, 8192, 8192, &n));
    assert_int_equal(n, 8192);
    store_free(&st);
}

static void test_file_node_status(void **state)
{
    bs_backend *b = vm_new();
    sim *s = (sim *)b;     /* the backend is the machine's first member */
    char *err = NULL;
    assert_int_equal(b->ops->img_create(b, "raw", "/tmp/blocksim/r", 1 << 20, NULL, NULL,
                                        &err), 0);
    QMP_OK(b, "blockdev-add", "{\"driver\": \"raw\", \"node-name\": \"r\", "
           "\"file\": {\"driver\": \"file\", \"node-name\": \"f\", "
           "\"filename\": \"/tmp/blocksim/r\"}}");
    uint64_t pnum;
    sim_node *r = node_find(s, "r");
    assert_non_null(r);
    assert_int_equal(node_block_status(s, r, 0, 1 << 20, &pnum),
                     CL_STATUS_DATA | CL_STATUS_ALLOCATED);
    assert_int_equal(pnum, 4096);
    assert_int_equal(node_block_status(s, r, 4096, 65536, &pnum),
                     CL_STATUS_ZERO | CL_STATUS_ALLOCATED);
    assert_int_equal(pnum, 65536);
    hmp(b, "r", "write -P0x5 8192 512");
    assert_int_equal(node_block_status(s, r, 4096, 65536, &pnum),
                     CL_STATUS_ZERO | CL_STATUS_ALLOCATED);
    assert_int_equal(pnum, 4096);
    QMP_OK(b, "blockdev-del", "{\"node-name\": \"r\"}");
    vm_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_created_file_has_its_first_block),
        cmocka_unit_test(test_writes_zeroes_and_discards),
        cmocka_unit_test(test_tail_of_a_file),
        cmocka_unit_test(test_file_node_status),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
