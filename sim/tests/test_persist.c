/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Persistent dirty bitmaps survive closing and reopening their qcow2 image:
 * VM quit, blockdev-del, and standalone qemu-io runs (which record their
 * writes in enabled persistent bitmaps and store them when they exit).
 */
#include "sim/tests/sim_test.h"

#define OPEN_N "{\"driver\": \"qcow2\", \"node-name\": \"n\", \"file\": " \
               "{\"driver\": \"file\", \"filename\": \"" IMG "\"}}"

static bs_backend *with_image(uint64_t size)
{
    bs_backend *b = vm_new();
    char *err = NULL;
    assert_int_equal(b->ops->img_create(b, "qcow2", IMG, size, NULL, NULL, &err), 0);
    return b;
}

/* count of bitmap `name` on node n, -1 when absent; *persistent and
 * *recording when found */
static long long bitmap_count(bs_backend *b, const char *name, int *persistent, int *recording)
{
    json_object *r = qmp(b, "query-named-block-nodes", NULL), *list;
    long long count = -1;
    assert_true(json_object_object_get_ex(r, "return", &list));
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        json_object *node = json_object_array_get_idx(list, i), *v, *bms;
        if (!json_object_object_get_ex(node, "node-name", &v) ||
            strcmp(json_object_get_string(v), "n") ||
            !json_object_object_get_ex(node, "dirty-bitmaps", &bms)) {
            continue;
        }
        for (size_t k = 0; k < json_object_array_length(bms); k++) {
            json_object *bm = json_object_array_get_idx(bms, k);
            if (!json_object_object_get_ex(bm, "name", &v) || strcmp(json_object_get_string(v), name)) {
                continue;
            }
            json_object_object_get_ex(bm, "count", &v);
            count = json_object_get_int64(v);
            json_object_object_get_ex(bm, "persistent", &v);
            *persistent = json_object_get_boolean(v);
            json_object_object_get_ex(bm, "recording", &v);
            *recording = json_object_get_boolean(v);
        }
    }
    json_object_put(r);
    return count;
}

static void relaunch(bs_backend *b)
{
    char *err = NULL;
    assert_int_equal(b->ops->shutdown(b, &err), 0);
    assert_int_equal(b->ops->launch(b, &err), 0);
}

static void test_survives_vm_quit(void **state)
{
    bs_backend *b = with_image(4 << 20);
    int p = 0, rec = 0;
    QMP_OK(b, "blockdev-add", OPEN_N);
    QMP_OK(b, "block-dirty-bitmap-add", "{\"node\": \"n\", \"name\": \"keep\", \"persistent\": true}");
    QMP_OK(b, "block-dirty-bitmap-add", "{\"node\": \"n\", \"name\": \"lose\"}");
    QMP_OK(b, "block-dirty-bitmap-add", "{\"node\": \"n\", \"name\": \"off\", "
           "\"persistent\": true, \"disabled\": true}");
    hmp(b, "n", "write -P 1 100k 100k");        /* bits 1..3 of 64 KiB */
    relaunch(b);
    QMP_OK(b, "blockdev-add", OPEN_N);
    assert_int_equal(bitmap_count(b, "keep", &p, &rec), 3 * 65536);
    assert_true(p);
    assert_true(rec);
    assert_int_equal(bitmap_count(b, "off", &p, &rec), 0);
    assert_true(p);
    assert_false(rec);                          /* stored disabled, loads disabled */
    assert_int_equal(bitmap_count(b, "lose", &p, &rec), -1);
    vm_free(b);
}

static void test_survives_blockdev_del(void **state)
{
    bs_backend *b = with_image(1 << 20);
    int p = 0, rec = 0;
    QMP_OK(b, "blockdev-add", OPEN_N);
    QMP_OK(b, "block-dirty-bitmap-add", "{\"node\": \"n\", \"name\": \"b\", \"persistent\": true}");
    hmp(b, "n", "write -P 1 0 1");
    QMP_OK(b, "blockdev-del", "{\"node-name\": \"n\"}");
    QMP_OK(b, "blockdev-add", OPEN_N);
    assert_int_equal(bitmap_count(b, "b", &p, &rec), 65536);
    /* a later change is stored again on the next close */
    QMP_OK(b, "block-dirty-bitmap-clear", "{\"node\": \"n\", \"name\": \"b\"}");
    QMP_OK(b, "blockdev-del", "{\"node-name\": \"n\"}");
    QMP_OK(b, "blockdev-add", OPEN_N);
    assert_int_equal(bitmap_count(b, "b", &p, &rec), 0);
    vm_free(b);
}

/* A separate qemu-io process loads the bitmaps, records into the enabled
 * ones, and stores them when it exits; a disabled one stays as it was. */
static void test_qemu_io_run_records_and_stores(void **state)
{
    bs_backend *b = with_image(4 << 20);
    int p = 0, rec = 0;
    char *err = NULL;
    QMP_OK(b, "blockdev-add", OPEN_N);
    QMP_OK(b, "block-dirty-bitmap-add", "{\"node\": \"n\", \"name\": \"on\", \"persistent\": true}");
    QMP_OK(b, "block-dirty-bitmap-add", "{\"node\": \"n\", \"name\": \"off\", "
           "\"persistent\": true, \"disabled\": true}");
    assert_int_equal(b->ops->shutdown(b, &err), 0);
    const char *cmds[] = { "w -P 0x22 2M 2M", "r -P 0x22 2M 512" };
    char *out = b->ops->qemu_io(b, IMG, NULL, 0, cmds, 2, &err);
    assert_non_null(out);
    assert_string_equal(out,
        "wrote 2097152/2097152 bytes at offset 2097152\n"
        "2 MiB, 1 ops; 00.00 sec (1.953 GiB/sec and 1000.0000 ops/sec)\n"
        "read 512/512 bytes at offset 2097152\n"
        "512 bytes, 1 ops; 00.00 sec (500 KiB/sec and 1000.0000 ops/sec)\n");
    free(out);
    assert_int_equal(b->ops->launch(b, &err), 0);
    QMP_OK(b, "blockdev-add", OPEN_N);
    assert_int_equal(bitmap_count(b, "on", &p, &rec), 2 << 20);
    assert_int_equal(bitmap_count(b, "off", &p, &rec), 0);
    vm_free(b);
}

static void test_qemu_io_run_errors(void **state)
{
    bs_backend *b = with_image(1 << 20);
    char *err = NULL;
    const char *cmds[] = { "w 1M 1", "r -P 0 0 1k", "w -P 1 0 1k" };
    char *out = b->ops->qemu_io(b, "/tmp/blocksim/missing", NULL, 0, cmds, 1, &err);
    assert_string_equal(out, "qemu-io: can't open device /tmp/blocksim/missing: Could not open "
                             "'/tmp/blocksim/missing': No such file or directory\n");
    free(out);
    /* the VM has the image open: its write lock */
    QMP_OK(b, "blockdev-add", OPEN_N);
    out = b->ops->qemu_io(b, IMG, NULL, 0, cmds, 1, &err);
    assert_string_equal(out, "qemu-io: can't open device " IMG ": Failed to get \"write\" lock\n"
                             "Is another process using the image [" IMG "]?\n");
    free(out);
    out = b->ops->qemu_io(b, IMG, NULL, 1, cmds, 1, &err);
    assert_non_null(strstr(out, "Failed to get shared \"write\" lock\n"));
    free(out);
    QMP_OK(b, "blockdev-del", "{\"node-name\": \"n\"}");
    out = b->ops->qemu_io(b, IMG, NULL, 1, cmds, 3, &err);
    assert_non_null(strstr(out, "write failed: Input/output error\n"));
    assert_non_null(strstr(out, "read 1024/1024 bytes at offset 0\n"));
    assert_non_null(strstr(out, "write failed: Operation not permitted\n"));
    free(out);
    vm_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_survives_vm_quit),
        cmocka_unit_test(test_survives_blockdev_del),
        cmocka_unit_test(test_qemu_io_run_records_and_stores),
        cmocka_unit_test(test_qemu_io_run_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
