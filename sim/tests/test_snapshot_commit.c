/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * External snapshots (sim/snapshot.c), block-commit (sim/commit.c),
 * blockdev-reopen (sim/reopen.c), block_resize (sim/resize.c) and the
 * simulator's qemu-img bitmap / info (sim/qemu_img.c).
 */
#include "sim/tests/sim_test.h"

#define MiB (1024ull * 1024)
#define TOP "/tmp/blocksim/1000-top"

static bs_backend *vm_drive(bs_backend *b, const char *path, const char *opts)
{
    char *err = NULL;
    if (!b) {
        b = bs_backend_sim_new(&err);
        assert_non_null(b);
    }
    char drive[512];
    snprintf(drive, sizeof drive, "if=virtio,id=drive0,file=%s,format=qcow2%s%s", path,
             opts ? "," : "", opts ? opts : "");
    const char *argv[] = { "-drive", drive };
    if (b->ops->launch_args(b, argv, 2, &err) < 0) {
        fail_msg("launch: %s", err);
    }
    return b;
}

static const char *inserted_field(bs_backend *b, const char *key)
{
    static char out[256];
    json_object *r = qmp(b, "query-block", NULL), *list, *ins, *v;
    json_object_object_get_ex(r, "return", &list);
    json_object_object_get_ex(json_object_array_get_idx(list, 0), "inserted", &ins);
    snprintf(out, sizeof out, "%s", json_object_object_get_ex(ins, key, &v)
             ? json_object_get_string(v) : "-");
    json_object_put(r);
    return out;
}

static int img_run(bs_backend *b, const char *a0, const char *a1, const char *a2,
                   const char *a3, char **out)
{
    const char *argv[] = { a0, a1, a2, a3 };
    size_t argc = a3 ? 4 : a2 ? 3 : 2;
    char *errout = NULL, *err = NULL;
    int rc = b->ops->img_run(b, argv, argc, out, &errout, &err);
    if (rc && errout) {
        char *both = NULL;
        if (asprintf(&both, "%s", errout) < 0) {
            abort();
        }
        free(*out);
        *out = both;
    }
    free(errout);
    return rc;
}

static void test_snapshot_keeps_bitmaps_on_old_node(void **state)
{
    char *err = NULL;
    bs_backend *b = bs_backend_sim_new(&err);
    img_create(b, IMG, 1 * MiB);
    vm_drive(b, IMG, "node-name=base");
    QMP_OK(b, "block-dirty-bitmap-add", "{\"node\": \"drive0\", \"name\": \"p\", \"persistent\": true}");
    hmp(b, "drive0", "write 0 64k");
    QMP_ERR(b, "New overlay node-name missing", "blockdev-snapshot-sync",
            "{\"node-name\": \"base\", \"snapshot-file\": \"" TOP "\"}");
    QMP_ERR(b, "New overlay node-name already in use", "blockdev-snapshot-sync",
            "{\"device\": \"drive0\", \"snapshot-file\": \"" TOP "\", \"snapshot-node-name\": \"base\"}");
    QMP_ERR(b, "Cannot find device='nodev' nor node-name=''", "blockdev-snapshot-sync",
            "{\"device\": \"nodev\", \"snapshot-file\": \"" TOP "\"}");
    QMP_OK(b, "blockdev-snapshot-sync",
           "{\"device\": \"drive0\", \"snapshot-file\": \"" TOP "\", \"snapshot-node-name\": \"snap\"}");
    /* the device now shows the overlay; the bitmap stays on base, which is
     * read-only and has stored it (auto, not in use) */
    assert_string_equal(inserted_field(b, "node-name"), "snap");
    assert_string_equal(bitmaps_of(b, "snap"), "");
    assert_string_equal(bitmaps_of(b, "base"), "p:65536:rec");
    QMP_ERR(b, "Bitmap 'p' is readonly and cannot be modified", "block-dirty-bitmap-clear",
            "{\"node\": \"base\", \"name\": \"p\"}");
    /* guest writes land in the overlay and leave base's bitmap alone */
    hmp(b, "drive0", "write 64k 512");
    assert_string_equal(bitmaps_of(b, "base"), "p:65536:rec");
    /* the overlay's backing file is base's image */
    char *out = NULL;
    assert_int_equal(img_run(b, "info", "--force-share", "--output=json", TOP, &out), 0);
    json_object *info = json_tokener_parse(out), *v;
    assert_true(json_object_object_get_ex(info, "backing-filename", &v));
    assert_string_equal(json_object_get_string(v), IMG);
    json_object_put(info);
    free(out);
    vm_free(b);
}

static void test_blockdev_snapshot_checks(void **state)
{
    char *err = NULL;
    bs_backend *b = bs_backend_sim_new(&err);
    img_create(b, IMG, 1 * MiB);
    img_create(b, TOP, 1 * MiB);
    vm_drive(b, IMG, "node-name=base");
    QMP_OK(b, "blockdev-add", "{\"driver\": \"file\", \"node-name\": \"tf\", \"filename\": \"" TOP "\"}");
    QMP_ERR(b, "The overlay does not support backing images", "blockdev-snapshot",
            "{\"node\": \"base\", \"overlay\": \"tf\"}");
    QMP_OK(b, "blockdev-add", "{\"driver\": \"qcow2\", \"node-name\": \"ov\", \"file\": \"tf\"}");
    QMP_ERR(b, "The overlay is already in use", "blockdev-snapshot",
            "{\"node\": \"base\", \"overlay\": \"tf\"}");
    /* failing in a transaction undoes the snapshot taken before */
    QMP_ERR(b, "Transaction aborted using Abort action", "transaction",
            "{\"actions\": [{\"type\": \"blockdev-snapshot\", \"data\": {\"node\": \"base\","
            " \"overlay\": \"ov\"}}, {\"type\": \"abort\", \"data\": {}}]}");
    assert_string_equal(inserted_field(b, "node-name"), "base");
    QMP_OK(b, "blockdev-snapshot", "{\"node\": \"base\", \"overlay\": \"ov\"}");
    assert_string_equal(inserted_field(b, "node-name"), "ov");
    QMP_ERR(b, "Node 'base' is busy: node is used as backing hd of 'ov'", "blockdev-snapshot",
            "{\"node\": \"base\", \"overlay\": \"ov\"}");
    vm_free(b);
}

static void test_active_commit_records_into_base_bitmap(void **state)
{
    char *err = NULL;
    bs_backend *b = bs_backend_sim_new(&err);
    img_create(b, IMG, 3 * 65536);
    vm_drive(b, IMG, "node-name=base");
    QMP_OK(b, "block-dirty-bitmap-add", "{\"node\": \"drive0\", \"name\": \"b0\"}");
    hmp(b, "drive0", "write 0 64K");
    QMP_OK(b, "blockdev-snapshot-sync", "{\"device\": \"drive0\", \"snapshot-file\": \"" TOP "\"}");
    hmp(b, "drive0", "write 64K 512");
    QMP_ERR(b, "Top image file /nowhere not found", "block-commit",
            "{\"device\": \"drive0\", \"top\": \"/nowhere\"}");
    QMP_OK(b, "block-commit", "{\"device\": \"drive0\", \"top\": \"" TOP "\"}");
    assert_string_equal(wait_event(b, "BLOCK_JOB_READY"),
                        "{\"device\":\"drive0\",\"len\":65536,\"offset\":65536,\"speed\":0,"
                        "\"type\":\"commit\"}");
    QMP_ERR(b, "Block job 'nojob' not found", "block-job-complete", "{\"device\": \"nojob\"}");
    QMP_OK(b, "block-job-complete", "{\"device\": \"drive0\"}");
    assert_string_equal(drain_events(b), "JOB_STATUS_CHANGE:waiting JOB_STATUS_CHANGE:pending "
                        "BLOCK_JOB_COMPLETED JOB_STATUS_CHANGE:concluded JOB_STATUS_CHANGE:null");
    /* base is the device's node again, its bitmap saw the committed cluster */
    assert_string_equal(inserted_field(b, "node-name"), "base");
    assert_string_equal(bitmaps_of(b, "base"), "b0:131072:rec");
    hmp(b, "drive0", "write 128K 64K");
    assert_string_equal(bitmaps_of(b, "base"), "b0:196608:rec");
    vm_free(b);
}

static void test_reopen_and_persistent_bitmaps(void **state)
{
    char *err = NULL, *out = NULL;
    bs_backend *b = bs_backend_sim_new(&err);
    img_create(b, IMG, 1 * MiB);
    assert_int_equal(b->ops->img_create(b, "qcow2", TOP, 1 * MiB, IMG, "qcow2", &err), 0);
    assert_int_equal(img_run(b, "bitmap", "--add", IMG, "bm", &out), 0);
    free(out);
    assert_int_equal(img_run(b, "bitmap", "--add", IMG, "bm", &out), 1);
    assert_string_equal(out, "qemu-img: Operation add on bitmap bm failed: Bitmap already exists: bm\n");
    free(out);
    vm_drive(b, TOP, "backing.node-name=base");
    QMP_ERR(b, "Bitmap 'bm' is readonly and cannot be modified", "block-dirty-bitmap-remove",
            "{\"node\": \"base\", \"name\": \"bm\"}");
    QMP_ERR(b, "Cannot change the option 'driver'", "blockdev-reopen",
            "{\"options\": [{\"node-name\": \"base\", \"driver\": \"raw\", \"file\": \"x\"}]}");
    QMP_OK(b, "blockdev-reopen", "{\"options\": [{\"node-name\": \"base\", \"driver\": \"qcow2\","
           " \"file\": {\"driver\": \"file\", \"filename\": \"" IMG "\"}, \"read-only\": false}]}");
    /* read-write: the stored bitmap is in use */
    assert_int_equal(img_run(b, "info", "-U", IMG, NULL, &out), 0);
    if (!strstr(out, "                [0]: in-use\n                [1]: auto\n")) {
        fprintf(stderr, "%s", out);
        fail_msg("qemu-img info shows no in-use bitmap");
    }
    free(out);
    QMP_OK(b, "block-dirty-bitmap-remove", "{\"node\": \"base\", \"name\": \"bm\"}");
    assert_int_equal(img_run(b, "info", "--force-share", IMG, NULL, &out), 0);
    assert_null(strstr(out, "bitmaps:"));
    free(out);
    /* the image is locked without --force-share */
    assert_int_equal(img_run(b, "info", IMG, NULL, NULL, &out), 1);
    assert_non_null(strstr(out, "Failed to get shared \"write\" lock"));
    free(out);
    vm_free(b);
}

static void test_block_resize_with_bitmaps(void **state)
{
    char *err = NULL;
    bs_backend *b = bs_backend_sim_new(&err);
    img_create(b, IMG, 4 * MiB);
    vm_drive(b, IMG, "node-name=n");
    QMP_OK(b, "block-dirty-bitmap-add", "{\"node\": \"n\", \"name\": \"p\", \"persistent\": true}");
    hmp(b, "n", "write 0 64k");
    hmp(b, "n", "write 3M 64k");
    json_object *r = qmp(b, "human-monitor-command", "{\"command-line\": \"block_resize drive0 2M\"}");
    assert_string_equal(sorted_json(r), "{\"return\":\"\"}");
    json_object_put(r);
    /* the bit past the new end is gone; a grown part starts clean */
    assert_string_equal(bitmaps_of(b, "n"), "p:65536:rec");
    r = qmp(b, "human-monitor-command", "{\"command-line\": \"block_resize drive0 8M\"}");
    json_object_put(r);
    hmp(b, "n", "write 7M 64k");
    assert_string_equal(bitmaps_of(b, "n"), "p:131072:rec");
    r = qmp(b, "human-monitor-command", "{\"command-line\": \"block_resize nodev 8M\"}");
    assert_string_equal(sorted_json(r),
                        "{\"return\":\"Error: Cannot find device='nodev' nor node-name=''\\r\\n\"}");
    json_object_put(r);
    /* the stored bitmap has the new size after the VM quits */
    assert_int_equal(b->ops->shutdown(b, &err), 0);
    char *out = NULL;
    assert_int_equal(img_run(b, "info", "--output=json", IMG, NULL, &out), 0);
    json_object *info = json_tokener_parse(out), *v;
    assert_true(json_object_object_get_ex(info, "virtual-size", &v));
    assert_int_equal(json_object_get_int64(v), 8 * MiB);
    json_object_put(info);
    free(out);
    b->ops->destroy(b);
}

/* 242's Test 5: one stored bitmap on a fresh 1 MiB image has its
 * directory entry's flags at 0x5000c..f; a reserved flag stops qemu-img,
 * flipping it back makes the image readable again; auto is bit 1. */
static void test_bitmap_directory_and_flags(void **state)
{
    char *err = NULL, *out = NULL;
    bs_backend *b = bs_backend_sim_new(&err);
    img_create(b, IMG, 1 * MiB);
    vm_drive(b, IMG, "node-name=n");
    QMP_OK(b, "block-dirty-bitmap-add", "{\"node\": \"n\", \"name\": \"bitmap-0\", "
           "\"granularity\": 16384, \"persistent\": true}");
    assert_int_equal(b->ops->shutdown(b, &err), 0);
    assert_int_equal(b->ops->file_xor(b, IMG, 0x5000f, 4, &err), 0);
    assert_int_equal(img_run(b, "info", IMG, NULL, NULL, &out), 1);
    assert_string_equal(out, "qemu-img: Could not open '" IMG "': Bitmap 'bitmap-0' doesn't "
                        "satisfy the constraints\n");
    free(out);
    assert_int_equal(b->ops->file_xor(b, IMG, 0x5000f, 4, &err), 0);
    assert_int_equal(img_run(b, "info", IMG, NULL, NULL, &out), 0);
    assert_non_null(strstr(out, "                [0]: auto\n"));
    free(out);
    /* bit 1 of the flags is auto: the bitmap is stored disabled now */
    assert_int_equal(b->ops->file_xor(b, IMG, 0x5000f, 2, &err), 0);
    assert_int_equal(img_run(b, "info", "--output=json", IMG, NULL, &out), 0);
    json_object *info = json_tokener_parse(out), *fs, *d, *bms, *fl;
    assert_true(json_object_object_get_ex(info, "format-specific", &fs));
    assert_true(json_object_object_get_ex(fs, "data", &d));
    assert_true(json_object_object_get_ex(d, "bitmaps", &bms));
    assert_true(json_object_object_get_ex(json_object_array_get_idx(bms, 0), "flags", &fl));
    assert_int_equal(json_object_array_length(fl), 0);
    json_object_put(info);
    free(out);
    /* a byte outside the directory is plain data */
    assert_int_equal(b->ops->file_xor(b, IMG, 0x100, 0xff, &err), 0);
    assert_int_equal(b->ops->file_xor(b, IMG, 1ull << 40, 1, &err), -1);
    free(err);
    b->ops->destroy(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_snapshot_keeps_bitmaps_on_old_node),
        cmocka_unit_test(test_blockdev_snapshot_checks),
        cmocka_unit_test(test_active_commit_records_into_base_bitmap),
        cmocka_unit_test(test_reopen_and_persistent_bitmaps),
        cmocka_unit_test(test_block_resize_with_bitmaps),
        cmocka_unit_test(test_bitmap_directory_and_flags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
