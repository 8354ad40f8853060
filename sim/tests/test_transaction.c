/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * transaction (sim/transaction.c after QEMU 7.2 qmp_transaction), drives
 * (-drive, query-block) and x-debug-block-dirty-bitmap-sha256.
 */
#include "sim/tests/sim_test.h"

#define MiB (1024ull * 1024)

/* A VM with drive0 = IMG as iotests' add_drive gives it (virtio). */
static bs_backend *vm_with_drive(const char *opts)
{
    char *err = NULL;
    bs_backend *b = bs_backend_sim_new(&err);
    assert_non_null(b);
    assert_int_equal(b->ops->launch(b, &err), 0);
    img_create(b, IMG, 64 * MiB);
    char drive[512];
    snprintf(drive, sizeof drive, "if=virtio,id=drive0,file=%s,format=qcow2,cache=writeback,"
             "aio=threads%s%s", IMG, opts ? "," : "", opts ? opts : "");
    const char *argv[] = { "-drive", drive, "-machine", "pc" };
    if (b->ops->launch_args(b, argv, 4, &err) < 0) {
        fail_msg("launch: %s", err);
    }
    return b;
}

static const char *root_of(bs_backend *b, const char *device)
{
    static char out[64];
    json_object *r = qmp(b, "query-block", NULL), *list, *ins, *nn;
    json_object_object_get_ex(r, "return", &list);
    snprintf(out, sizeof out, "?");
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        json_object *d = json_object_array_get_idx(list, i), *dev;
        json_object_object_get_ex(d, "device", &dev);
        if (!strcmp(json_object_get_string(dev), device) &&
            json_object_object_get_ex(d, "inserted", &ins) &&
            json_object_object_get_ex(ins, "node-name", &nn)) {
            snprintf(out, sizeof out, "%s", json_object_get_string(nn));
        }
    }
    json_object_put(r);
    return out;
}

static void test_query_block_and_device_names(void **state)
{
    bs_backend *b = vm_with_drive("node-name=base");
    json_object *r = qmp(b, "query-block", NULL), *list, *d, *v;
    json_object_object_get_ex(r, "return", &list);
    assert_int_equal(json_object_array_length(list), 1);
    d = json_object_array_get_idx(list, 0);
    assert_true(json_object_object_get_ex(d, "qdev", &v));
    assert_string_equal(json_object_get_string(v), "/machine/peripheral-anon/device[0]/virtio-backend");
    assert_true(json_object_object_get_ex(d, "io-status", &v));
    json_object_put(r);
    assert_string_equal(root_of(b, "drive0"), "base");
    /* bitmap commands and HMP qemu-io find the device by its name */
    QMP_OK(b, "block-dirty-bitmap-add", "{\"node\": \"drive0\", \"name\": \"a\"}");
    hmp(b, "drive0", "write 0 64k");
    assert_string_equal(bitmaps_of(b, "base"), "a:65536:rec");
    QMP_ERR(b, "Node 'nowhere' not found", "block-dirty-bitmap-clear",
            "{\"node\": \"nowhere\", \"name\": \"a\"}");
    vm_free(b);
}

static void test_abort_rolls_back_everything(void **state)
{
    bs_backend *b = vm_with_drive(NULL);
    QMP_OK(b, "block-dirty-bitmap-add", "{\"node\": \"drive0\", \"name\": \"A\"}");
    QMP_OK(b, "block-dirty-bitmap-add", "{\"node\": \"drive0\", \"name\": \"B\"}");
    hmp(b, "drive0", "write 0 128k");
    const char *before = "B:131072:rec,A:131072:rec";
    QMP_ERR(b, "Transaction aborted using Abort action", "transaction",
            "{\"actions\": ["
            "{\"type\": \"block-dirty-bitmap-disable\", \"data\": {\"node\": \"drive0\", \"name\": \"B\"}},"
            "{\"type\": \"block-dirty-bitmap-add\", \"data\": {\"node\": \"drive0\", \"name\": \"C\"}},"
            "{\"type\": \"block-dirty-bitmap-clear\", \"data\": {\"node\": \"drive0\", \"name\": \"A\"}},"
            "{\"type\": \"block-dirty-bitmap-merge\", \"data\": {\"node\": \"drive0\", \"target\": \"A\","
            " \"bitmaps\": [\"B\"]}},"
            "{\"type\": \"block-dirty-bitmap-remove\", \"data\": {\"node\": \"drive0\", \"name\": \"B\"}},"
            "{\"type\": \"abort\", \"data\": {}}]}");

    /* B recording again, C gone, A's bits back, B still there */
    char root[64];
    snprintf(root, sizeof root, "%s", root_of(b, "drive0"));
    assert_string_equal(bitmaps_of(b, root), before);
    hmp(b, "drive0", "write 1M 64k");
    assert_string_equal(bitmaps_of(b, root), "B:196608:rec,A:196608:rec");
    vm_free(b);
}

static void test_failure_midway_and_commit(void **state)
{
    bs_backend *b = vm_with_drive("node-name=n");
    QMP_OK(b, "block-dirty-bitmap-add", "{\"node\": \"n\", \"name\": \"A\"}");
    hmp(b, "n", "write 0 64k");
    /* the second action fails: the first is undone, the error is the second's */
    QMP_ERR(b, "Dirty bitmap 'nope' not found", "transaction",
            "{\"actions\": ["
            "{\"type\": \"block-dirty-bitmap-add\", \"data\": {\"node\": \"n\", \"name\": \"C\"}},"
            "{\"type\": \"block-dirty-bitmap-clear\", \"data\": {\"node\": \"n\", \"name\": \"nope\"}}]}");
    assert_string_equal(bitmaps_of(b, "n"), "A:65536:rec");
    /* removal in a transaction: the bitmap goes at commit */
    QMP_OK(b, "transaction",
           "{\"actions\": ["
           "{\"type\": \"block-dirty-bitmap-add\", \"data\": {\"node\": \"n\", \"name\": \"D\","
           " \"disabled\": true}},"
           "{\"type\": \"block-dirty-bitmap-merge\", \"data\": {\"node\": \"n\", \"target\": \"D\","
           " \"bitmaps\": [\"A\"]}},"
           "{\"type\": \"block-dirty-bitmap-remove\", \"data\": {\"node\": \"n\", \"name\": \"A\"}}]}");
    assert_string_equal(bitmaps_of(b, "n"), "D:65536:off");
    /* a bitmap being removed is busy for the actions after it */
    QMP_OK(b, "block-dirty-bitmap-add", "{\"node\": \"n\", \"name\": \"E\"}");
    QMP_ERR(b, "Bitmap 'E' is currently in use by another operation and cannot be used",
            "transaction",
            "{\"actions\": ["
            "{\"type\": \"block-dirty-bitmap-remove\", \"data\": {\"node\": \"n\", \"name\": \"E\"}},"
            "{\"type\": \"block-dirty-bitmap-clear\", \"data\": {\"node\": \"n\", \"name\": \"E\"}}]}");
    assert_string_equal(bitmaps_of(b, "n"), "E:0:rec,D:65536:off");
    vm_free(b);
}

static void test_grouped_and_arguments(void **state)
{
    bs_backend *b = vm_with_drive("node-name=n");
    QMP_ERR(b, "Action 'block-dirty-bitmap-add' does not support Transaction property "
            "completion-mode = grouped", "transaction",
            "{\"actions\": [{\"type\": \"block-dirty-bitmap-add\", \"data\": {\"node\": \"n\","
            " \"name\": \"C\"}}], \"properties\": {\"completion-mode\": \"grouped\"}}");
    assert_string_equal(bitmaps_of(b, "n"), "");
    QMP_ERR(b, "Parameter 'type' does not accept value 'frob'", "transaction",
            "{\"actions\": [{\"type\": \"frob\", \"data\": {}}]}");
    QMP_ERR(b, "Parameter 'actions[0].data.name' is missing", "transaction",
            "{\"actions\": [{\"type\": \"block-dirty-bitmap-add\", \"data\": {\"node\": \"n\"}}]}");
    QMP_ERR(b, "Parameter 'actions' is missing", "transaction", "{}");
    QMP_OK(b, "transaction", "{\"actions\": []}");
    vm_free(b);
}

static void test_sha256(void **state)
{
    bs_backend *b = vm_with_drive("node-name=n");
    QMP_OK(b, "block-dirty-bitmap-add", "{\"node\": \"n\", \"name\": \"A\"}");
    json_object *r = qmp(b, "x-debug-block-dirty-bitmap-sha256", "{\"node\": \"n\", \"name\": \"A\"}");
    json_object *ret, *h;
    assert_true(json_object_object_get_ex(r, "return", &ret));
    assert_true(json_object_object_get_ex(ret, "sha256", &h));
    /* an empty 64 MiB bitmap at 64 KiB: 1024 bits, 16 zero longs */
    assert_string_equal(json_object_get_string(h),
                        "38723a2e5e8a17aa7950dc008209944e898f69a7bd10a23c839d341e935fd5ca");
    json_object_put(r);
    QMP_ERR(b, "Dirty bitmap 'x' not found", "x-debug-block-dirty-bitmap-sha256",
            "{\"node\": \"n\", \"name\": \"x\"}");
    vm_free(b);
}

/* completion-mode grouped: a failing backup cancels the other one, whose
 * in-flight task still lands; both bitmaps keep their bits (on-success) */
static void test_grouped_backups(void **state)
{
    char *err = NULL;
    bs_backend *b = bs_backend_sim_new(&err);
    assert_int_equal(b->ops->launch(b, &err), 0);
    img_create(b, IMG, 8 * MiB);
    QMP_OK(b, "blockdev-add", "{\"node-name\": \"d0\", \"driver\": \"qcow2\", \"file\": "
           "{\"driver\": \"blkdebug\", \"image\": {\"driver\": \"file\", \"filename\": \""
           IMG "\"}, \"inject-error\": [{\"event\": \"read_aio\", \"errno\": 5}]}}");
    add_drive(b, "d1", "/tmp/blocksim/1000-img1", 8 * MiB);
    make_target(b, "t0", TGT, 8 * MiB);
    make_target(b, "t1", "/tmp/blocksim/1000-t1", 8 * MiB);
    QMP_OK(b, "block-dirty-bitmap-add", "{\"node\": \"d0\", \"name\": \"b0\"}");
    QMP_OK(b, "block-dirty-bitmap-add", "{\"node\": \"d1\", \"name\": \"b1\"}");
    hmp(b, "d0", "write 0 128k");
    hmp(b, "d1", "write 1M 64k");
    QMP_OK(b, "transaction", "{\"actions\": ["
           "{\"type\": \"blockdev-backup\", \"data\": {\"device\": \"d0\", \"target\": \"t0\","
           " \"sync\": \"incremental\", \"bitmap\": \"b0\", \"job-id\": \"j0\"}},"
           "{\"type\": \"blockdev-backup\", \"data\": {\"device\": \"d1\", \"target\": \"t1\","
           " \"sync\": \"incremental\", \"bitmap\": \"b1\", \"job-id\": \"j1\"}}],"
           " \"properties\": {\"completion-mode\": \"grouped\"}}");
    char evs[8192];
    snprintf(evs, sizeof evs, "%s", drain_events(b));
    const char *tail = strstr(evs, "BLOCK_JOB_ERROR");
    assert_non_null(tail);
    assert_string_equal(tail, "BLOCK_JOB_ERROR JOB_STATUS_CHANGE:aborting JOB_STATUS_CHANGE:aborting "
                        "BLOCK_JOB_COMPLETED JOB_STATUS_CHANGE:concluded JOB_STATUS_CHANGE:null "
                        "BLOCK_JOB_CANCELLED JOB_STATUS_CHANGE:concluded JOB_STATUS_CHANGE:null");
    assert_string_equal(bitmaps_of(b, "d0"), "b0:131072:rec");
    assert_string_equal(bitmaps_of(b, "d1"), "b1:65536:rec");
    vm_free(b);
}

/* block_job_create: a job without an id takes the device's name */
static void test_job_id_defaults_to_device(void **state)
{
    bs_backend *b = vm_with_drive("node-name=n");
    make_target(b, "t0", TGT, 64 * MiB);
    QMP_OK(b, "blockdev-backup", "{\"device\": \"drive0\", \"target\": \"t0\", \"sync\": \"full\"}");
    assert_non_null(strstr(wait_event(b, "BLOCK_JOB_COMPLETED"), "\"device\":\"drive0\""));
    QMP_ERR(b, "Invalid job ID ''", "blockdev-backup",
            "{\"device\": \"n\", \"target\": \"t0\", \"sync\": \"full\", \"job-id\": \"\"}");
    vm_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_block_and_device_names),
        cmocka_unit_test(test_abort_rolls_back_everything),
        cmocka_unit_test(test_failure_midway_and_commit),
        cmocka_unit_test(test_grouped_and_arguments),
        cmocka_unit_test(test_sha256),
        cmocka_unit_test(test_grouped_backups),
        cmocka_unit_test(test_job_id_defaults_to_device),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
