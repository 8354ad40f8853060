/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Backup and create jobs: event order, bitmap listings, argument checks. */
#include "sim/tests/sim_test.h"

#define MiB (1024ull * 1024)

static bs_backend *setup_pair(uint64_t size)
{
    bs_backend *b = vm_new();
    add_drive(b, "drive0", IMG, size);
    make_target(b, "tgt", TGT, size);
    return b;
}

static void test_full_auto_finalize(void **state)
{
    bs_backend *b = setup_pair(4 * MiB);
    assert_string_equal(hmp(b, "drive0", "write -P0x11 0 64k"), "");
    QMP_OK(b, "blockdev-backup", "{\"device\": \"drive0\", \"target\": \"tgt\", \"sync\": \"full\", "
           "\"job-id\": \"j\", \"filter-node-name\": \"backup-top\", \"x-perf\": {\"max-workers\": 1}}");
    assert_string_equal(drain_events(b),
                        "JOB_STATUS_CHANGE:created JOB_STATUS_CHANGE:running "
                        "JOB_STATUS_CHANGE:paused JOB_STATUS_CHANGE:running "
                        "JOB_STATUS_CHANGE:waiting JOB_STATUS_CHANGE:pending BLOCK_JOB_COMPLETED "
                        "JOB_STATUS_CHANGE:concluded JOB_STATUS_CHANGE:null");
    /* the job and its filter are gone */
    assert_string_equal(bitmaps_of(b, "backup-top"), "?");
    json_object *r = qmp(b, "query-jobs", NULL);
    assert_string_equal(json_object_to_json_string(r), "{ \"return\": [ ] }");
    json_object_put(r);
    /* the target holds the data */
    vm_free(b);
}

static void test_completed_data(void **state)
{
    bs_backend *b = setup_pair(4 * MiB + 32768);
    QMP_OK(b, "blockdev-backup", "{\"device\": \"drive0\", \"target\": \"tgt\", \"sync\": \"full\", "
           "\"job-id\": \"j\", \"speed\": 0}");
    assert_string_equal(wait_event(b, "BLOCK_JOB_COMPLETED"),
                        "{\"device\":\"j\",\"len\":4259840,\"offset\":4259840,\"speed\":0,\"type\":\"backup\"}");
    drain_events(b);
    vm_free(b);
}

static void test_bitmap_pending_finalize(void **state)
{
    bs_backend *b = setup_pair(64 * MiB);
    hmp(b, "drive0", "write -P0x49 0 64k");
    QMP_OK(b, "block-dirty-bitmap-add", "{\"node\": \"drive0\", \"name\": \"bitmap0\", \"granularity\": 65536}");
    hmp(b, "drive0", "write -P0x65 0 64k");
    hmp(b, "drive0", "write -P0x77 0xf8000 64k");
    assert_string_equal(bitmaps_of(b, "drive0"), "bitmap0:196608:rec");
    QMP_OK(b, "blockdev-backup", "{\"device\": \"drive0\", \"target\": \"tgt\", \"sync\": \"bitmap\", "
           "\"bitmap\": \"bitmap0\", \"bitmap-mode\": \"on-success\", \"auto-finalize\": false, "
           "\"job-id\": \"j\", \"filter-node-name\": \"backup-top\", \"x-perf\": {\"max-workers\": 1}}");
    assert_string_equal(drain_events(b),
                        "JOB_STATUS_CHANGE:created JOB_STATUS_CHANGE:running "
                        "JOB_STATUS_CHANGE:paused JOB_STATUS_CHANGE:running "
                        "JOB_STATUS_CHANGE:waiting JOB_STATUS_CHANGE:pending BLOCK_JOB_PENDING");
    assert_string_equal(bitmaps_of(b, "drive0"), "-:0:off,-:0:rec,bitmap0:196608:rec:busy");
    assert_string_equal(bitmaps_of(b, "backup-top"), "-:67108864:off,-:0:off");
    /* drive0 itself is write-protected by the filter */
    assert_string_equal(hmp(b, "drive0", "write -P0x22 0 64k"),
                        "Permission conflict on node 'drive0': permissions 'write' are both required "
                        "by an unnamed block device (uses node 'drive0' as 'root' child) and unshared "
                        "by node 'backup-top' (uses node 'drive0' as 'file' child).\r\n");
    assert_string_equal(hmp(b, "drive0", "read -P0x65 0 64k"), "");
    assert_string_equal(hmp(b, "backup-top", "write -P0x74 0x10000 64k"), "");
    assert_string_equal(bitmaps_of(b, "drive0"), "-:0:off,-:65536:rec,bitmap0:196608:rec:busy");
    assert_string_equal(bitmaps_of(b, "backup-top"), "-:67108864:off,-:65536:off");
    QMP_ERR(b, "Node 'backup-top' is busy: block device is in use by block job: backup",
            "blockdev-del", "{\"node-name\": \"backup-top\"}");
    QMP_ERR(b, "Block device drive0 is in use", "blockdev-del", "{\"node-name\": \"drive0\"}");
    QMP_ERR(b, "Job 'j' in state 'pending' cannot accept command verb 'dismiss'",
            "job-dismiss", "{\"id\": \"j\"}");
    QMP_ERR(b, "Bitmap 'bitmap0' is currently in use by another operation and cannot be used",
            "block-dirty-bitmap-remove", "{\"node\": \"drive0\", \"name\": \"bitmap0\"}");
    QMP_OK(b, "job-finalize", "{\"id\": \"j\"}");
    assert_string_equal(drain_events(b),
                        "BLOCK_JOB_COMPLETED JOB_STATUS_CHANGE:concluded JOB_STATUS_CHANGE:null");
    /* on-success: the bitmap is now what was written during the job */
    assert_string_equal(bitmaps_of(b, "drive0"), "bitmap0:65536:rec");
    vm_free(b);
}

static void test_cancel_at_pending(void **state)
{
    bs_backend *b = setup_pair(8 * MiB);
    QMP_OK(b, "block-dirty-bitmap-add", "{\"node\": \"drive0\", \"name\": \"bitmap0\"}");
    hmp(b, "drive0", "write -P0x65 0 128k");
    QMP_OK(b, "blockdev-backup", "{\"device\": \"drive0\", \"target\": \"tgt\", \"sync\": \"bitmap\", "
           "\"bitmap\": \"bitmap0\", \"bitmap-mode\": \"never\", \"auto-finalize\": false, "
           "\"auto-dismiss\": false, \"job-id\": \"j\"}");
    drain_events(b);
    json_object *r = qmp(b, "query-jobs", NULL);
    assert_non_null(strstr(json_object_to_json_string(r), "\"pending\""));
    json_object_put(r);
    QMP_OK(b, "job-cancel", "{\"id\": \"j\"}");
    assert_string_equal(drain_events(b),
                        "JOB_STATUS_CHANGE:aborting BLOCK_JOB_CANCELLED JOB_STATUS_CHANGE:concluded");
    QMP_OK(b, "job-dismiss", "{\"id\": \"j\"}");
    assert_string_equal(drain_events(b), "JOB_STATUS_CHANGE:null");
    assert_string_equal(bitmaps_of(b, "drive0"), "bitmap0:131072:rec");
    vm_free(b);
}

static void test_read_failure(void **state)
{
    bs_backend *b = vm_new();
    img_create(b, IMG, 8 * MiB);
    QMP_OK(b, "blockdev-add", "{\"driver\": \"qcow2\", \"node-name\": \"drive0\", \"file\": "
           "{\"driver\": \"blkdebug\", \"image\": {\"driver\": \"file\", \"filename\": \"%s\"}, "
           "\"inject-error\": [{\"errno\": 5, \"event\": \"read_aio\", \"immediately\": false, "
           "\"once\": true, \"state\": 3}], \"set-state\": [{\"event\": \"flush_to_disk\", "
           "\"new_state\": 2, \"state\": 1}, {\"event\": \"read_aio\", \"new_state\": 3, \"state\": 2}]}}",
           IMG);
    make_target(b, "tgt", TGT, 8 * MiB);
    QMP_OK(b, "block-dirty-bitmap-add", "{\"node\": \"drive0\", \"name\": \"bitmap0\"}");
    hmp(b, "drive0", "write -P0x65 0 64k");
    hmp(b, "drive0", "write -P0x66 0x100000 64k");
    hmp(b, "drive0", "write -P0x67 0x200000 64k");
    assert_string_equal(hmp(b, "drive0", "flush"), "");
    QMP_OK(b, "blockdev-backup", "{\"device\": \"drive0\", \"target\": \"tgt\", \"sync\": \"bitmap\", "
           "\"bitmap\": \"bitmap0\", \"bitmap-mode\": \"always\", \"auto-finalize\": false, "
           "\"job-id\": \"j\", \"x-perf\": {\"max-workers\": 1}}");
    assert_string_equal(drain_events(b),
                        "JOB_STATUS_CHANGE:created JOB_STATUS_CHANGE:running "
                        "JOB_STATUS_CHANGE:paused JOB_STATUS_CHANGE:running BLOCK_JOB_ERROR "
                        "JOB_STATUS_CHANGE:aborting BLOCK_JOB_COMPLETED "
                        "JOB_STATUS_CHANGE:concluded JOB_STATUS_CHANGE:null");
    /* always: the one cluster copied is clean, the rest stays dirty */
    assert_string_equal(bitmaps_of(b, "drive0"), "bitmap0:131072:rec");
    vm_free(b);
}

static void test_error_event_data(void **state)
{
    bs_backend *b = vm_new();
    img_create(b, IMG, 4 * MiB);
    QMP_OK(b, "blockdev-add", "{\"driver\": \"qcow2\", \"node-name\": \"drive0\", \"file\": "
           "{\"driver\": \"blkdebug\", \"image\": {\"driver\": \"file\", \"filename\": \"%s\"}, "
           "\"inject-error\": [{\"event\": \"read_aio\"}]}}", IMG);
    make_target(b, "tgt", TGT, 4 * MiB);
    hmp(b, "drive0", "write -P0x65 0 64k");
    QMP_OK(b, "blockdev-backup", "{\"device\": \"drive0\", \"target\": \"tgt\", \"sync\": \"full\", "
           "\"job-id\": \"j\", \"on-source-error\": \"report\"}");
    assert_string_equal(wait_event(b, "BLOCK_JOB_ERROR"),
                        "{\"action\":\"report\",\"device\":\"j\",\"operation\":\"read\"}");
    /* 64 workers: the zero tasks started beside the failing read land
     * (real QEMU 7.2: 4128768, three runs) */
    assert_string_equal(wait_event(b, "BLOCK_JOB_COMPLETED"),
                        "{\"device\":\"j\",\"error\":\"Input/output error\",\"len\":4194304,"
                        "\"offset\":4128768,\"speed\":0,\"type\":\"backup\"}");
    drain_events(b);
    vm_free(b);
}

static void test_sync_none_waits_for_cancel(void **state)
{
    bs_backend *b = setup_pair(4 * MiB);
    hmp(b, "drive0", "write -P0x65 0 64k");
    QMP_OK(b, "blockdev-backup", "{\"device\": \"drive0\", \"target\": \"tgt\", \"sync\": \"none\", "
           "\"job-id\": \"j\", \"filter-node-name\": \"ft\"}");
    assert_string_equal(drain_events(b), "JOB_STATUS_CHANGE:created JOB_STATUS_CHANGE:running "
                        "JOB_STATUS_CHANGE:paused JOB_STATUS_CHANGE:running");
    assert_string_equal(hmp(b, "ft", "write -P0x66 0 64k"), "");
    assert_string_equal(bitmaps_of(b, "drive0"), "-:4128768:off");
    assert_string_equal(bitmaps_of(b, "ft"), "-:4194304:off,-:65536:off");
    QMP_ERR(b, "Job 'j' in state 'running' cannot accept command verb 'finalize'",
            "job-finalize", "{\"id\": \"j\"}");
    QMP_OK(b, "job-cancel", "{\"id\": \"j\"}");
    assert_string_equal(wait_event(b, "BLOCK_JOB_CANCELLED"),
                        "{\"device\":\"j\",\"len\":4194304,\"offset\":65536,\"speed\":0,\"type\":\"backup\"}");
    assert_string_equal(drain_events(b), "JOB_STATUS_CHANGE:concluded JOB_STATUS_CHANGE:null");
    vm_free(b);
}

static void test_sync_top_and_incremental(void **state)
{
    bs_backend *b = setup_pair(4 * MiB);
    hmp(b, "drive0", "write -P0x65 0 64k");
    hmp(b, "drive0", "write -P0x65 0x200000 128k");
    QMP_OK(b, "blockdev-backup", "{\"device\": \"drive0\", \"target\": \"tgt\", \"sync\": \"top\", "
           "\"job-id\": \"j\"}");
    assert_string_equal(wait_event(b, "BLOCK_JOB_COMPLETED"),
                        "{\"device\":\"j\",\"len\":196608,\"offset\":196608,\"speed\":0,\"type\":\"backup\"}");
    drain_events(b);
    QMP_OK(b, "block-dirty-bitmap-add", "{\"node\": \"drive0\", \"name\": \"b\", \"granularity\": 32768}");
    hmp(b, "drive0", "write -P0x65 0x8000 4k");
    QMP_OK(b, "blockdev-backup", "{\"device\": \"drive0\", \"target\": \"tgt\", \"sync\": \"incremental\", "
           "\"bitmap\": \"b\", \"job-id\": \"k\"}");
    assert_string_equal(wait_event(b, "BLOCK_JOB_COMPLETED"),
                        "{\"device\":\"k\",\"len\":65536,\"offset\":65536,\"speed\":0,\"type\":\"backup\"}");
    drain_events(b);
    assert_string_equal(bitmaps_of(b, "drive0"), "b:0:rec");
    vm_free(b);
}

static void test_argument_errors(void **state)
{
    bs_backend *b = setup_pair(4 * MiB);
    img_create(b, "/tmp/blocksim/1000-small", 2 * MiB);
    QMP_OK(b, "blockdev-add", "{\"driver\": \"qcow2\", \"node-name\": \"small\", \"file\": "
           "{\"driver\": \"file\", \"filename\": \"/tmp/blocksim/1000-small\"}}");
    add_drive(b, "other", "/tmp/blocksim/1000-other", 4 * MiB);
    QMP_OK(b, "block-dirty-bitmap-add", "{\"node\": \"drive0\", \"name\": \"bitmap0\"}");
#define BK(extra) "{\"device\": \"drive0\", \"target\": \"tgt\", \"job-id\": \"j\", " extra "}"
    QMP_ERR(b, "Cannot find device='nope' nor node-name='nope'", "blockdev-backup",
            "{\"device\": \"nope\", \"target\": \"nope2\", \"sync\": \"full\"}");
    QMP_ERR(b, "Cannot find device='nope' nor node-name='nope'", "blockdev-backup",
            "{\"device\": \"drive0\", \"target\": \"nope\", \"sync\": \"full\"}");
    QMP_ERR(b, "Parameter 'sync' is missing", "blockdev-backup", "{\"device\": \"drive0\", \"target\": \"tgt\"}");
    QMP_ERR(b, "Parameter 'sync' does not accept value 'bogus'", "blockdev-backup", BK("\"sync\": \"bogus\""));
    QMP_ERR(b, "Parameter 'bogus' is unexpected", "blockdev-backup", BK("\"sync\": \"full\", \"bogus\": 1"));
    QMP_ERR(b, "Invalid parameter type for 'x-perf.max-workers', expected: integer", "blockdev-backup",
            BK("\"sync\": \"full\", \"x-perf\": {\"max-workers\": \"x\"}"));
    QMP_ERR(b, "Invalid parameter type for 'x-perf', expected: object", "blockdev-backup",
            BK("\"sync\": \"full\", \"x-perf\": 5"));
    QMP_ERR(b, "Invalid parameter type for 'auto-finalize', expected: boolean", "blockdev-backup",
            BK("\"sync\": \"full\", \"auto-finalize\": 1"));
    QMP_ERR(b, "must provide a valid bitmap name for 'incremental' sync mode", "blockdev-backup",
            BK("\"sync\": \"incremental\", \"bitmap-mode\": \"always\""));
    QMP_ERR(b, "Bitmap sync mode must be 'on-success' when using sync mode 'incremental'", "blockdev-backup",
            BK("\"sync\": \"incremental\", \"bitmap\": \"x\", \"bitmap-mode\": \"never\""));
    QMP_ERR(b, "Bitmap 'x' could not be found", "blockdev-backup", BK("\"sync\": \"bitmap\", \"bitmap\": \"x\""));
    QMP_ERR(b, "Bitmap sync mode must be given when providing a bitmap", "blockdev-backup",
            BK("\"sync\": \"bitmap\", \"bitmap\": \"bitmap0\""));
    QMP_ERR(b, "sync mode 'none' does not produce meaningful bitmap outputs", "blockdev-backup",
            BK("\"sync\": \"none\", \"bitmap\": \"bitmap0\", \"bitmap-mode\": \"always\""));
    QMP_ERR(b, "Bitmap sync mode 'never' has no meaningful effect when combined with sync mode 'top'",
            "blockdev-backup", BK("\"sync\": \"top\", \"bitmap\": \"bitmap0\", \"bitmap-mode\": \"never\""));
    QMP_ERR(b, "Cannot specify bitmap sync mode without a bitmap", "blockdev-backup",
            BK("\"sync\": \"full\", \"bitmap-mode\": \"never\""));
    QMP_ERR(b, "Source and target cannot be the same", "blockdev-backup",
            "{\"device\": \"drive0\", \"target\": \"drive0\", \"sync\": \"full\"}");
    QMP_ERR(b, "max-workers must be between 1 and 2147483647", "blockdev-backup",
            BK("\"sync\": \"full\", \"x-perf\": {\"max-workers\": 0}"));
    QMP_ERR(b, "max-chunk must be zero (which means no limit) or positive", "blockdev-backup",
            BK("\"sync\": \"full\", \"x-perf\": {\"max-chunk\": -1}"));
    QMP_ERR(b, "Required max-chunk (4096) is less than backup cluster size (65536)", "blockdev-backup",
            BK("\"sync\": \"full\", \"x-perf\": {\"max-chunk\": 4096}"));
    QMP_ERR(b, "Source and target image have different sizes", "blockdev-backup",
            "{\"device\": \"drive0\", \"target\": \"small\", \"sync\": \"full\", \"job-id\": \"j\"}");
    QMP_ERR(b, "Could not create node: Duplicate nodes with node-name='small'", "blockdev-backup",
            BK("\"sync\": \"full\", \"filter-node-name\": \"small\""));
    QMP_ERR(b, "Could not create node: Invalid node-name: 'a b'", "blockdev-backup",
            BK("\"sync\": \"full\", \"filter-node-name\": \"a b\""));
    QMP_ERR(b, "Invalid job ID ''", "blockdev-backup",
            "{\"device\": \"drive0\", \"target\": \"tgt\", \"sync\": \"full\"}");
    QMP_ERR(b, "Invalid job ID 'a b'", "blockdev-backup",
            "{\"device\": \"drive0\", \"target\": \"tgt\", \"sync\": \"full\", \"job-id\": \"a b\"}");
    QMP_ERR(b, "Parameter 'speed' expects a non-negative value", "blockdev-backup",
            BK("\"sync\": \"full\", \"speed\": -1"));
    assert_string_equal(drain_events(b), "JOB_STATUS_CHANGE:created JOB_STATUS_CHANGE:null");
    /* a second job: ids and busy nodes */
    QMP_OK(b, "blockdev-backup", BK("\"sync\": \"none\", \"filter-node-name\": \"ft\""));
    QMP_ERR(b, "Job ID 'j' already in use", "blockdev-backup",
            "{\"device\": \"other\", \"target\": \"drive0\", \"sync\": \"full\", \"job-id\": \"j\"}");
    QMP_ERR(b, "Node 'tgt' is busy: block device is in use by block job: backup", "blockdev-backup",
            "{\"device\": \"other\", \"target\": \"tgt\", \"sync\": \"full\", \"job-id\": \"k\"}");
    QMP_ERR(b, "Node 'ft' is busy: block device is in use by block job: backup", "blockdev-backup",
            "{\"device\": \"ft\", \"target\": \"other\", \"sync\": \"full\", \"job-id\": \"k\"}");
    QMP_ERR(b, "Job not found", "job-cancel", "{\"id\": \"zz\"}");
    vm_free(b);
}

static void test_job_verbs(void **state)
{
    bs_backend *b = setup_pair(4 * MiB);
    QMP_OK(b, "blockdev-backup", BK("\"sync\": \"none\""));
    drain_events(b);
    QMP_ERR(b, "Job 'j' in state 'running' cannot accept command verb 'complete'", "job-complete", "{\"id\": \"j\"}");
    QMP_ERR(b, "Job 'j' in state 'running' cannot accept command verb 'dismiss'", "job-dismiss", "{\"id\": \"j\"}");
    json_object *r = qmp(b, "query-jobs", NULL);
    assert_string_equal(sorted_json(r),
                        "{\"return\":[{\"current-progress\":0,\"id\":\"j\",\"status\":\"running\","
                        "\"total-progress\":4194304,\"type\":\"backup\"}]}");
    json_object_put(r);
    QMP_ERR(b, "Block job 'zz' not found", "block-job-cancel", "{\"device\": \"zz\"}");
    QMP_OK(b, "block-job-cancel", "{\"device\": \"j\"}");
    assert_string_equal(drain_events(b), "JOB_STATUS_CHANGE:aborting BLOCK_JOB_CANCELLED "
                        "JOB_STATUS_CHANGE:concluded JOB_STATUS_CHANGE:null");
    vm_free(b);
}

static void test_create_jobs(void **state)
{
    bs_backend *b = vm_new();
    QMP_OK(b, "blockdev-create", "{\"job-id\": \"c\", \"options\": {\"driver\": \"file\", "
           "\"filename\": \"%s\", \"size\": 0}}", TGT);
    assert_string_equal(drain_events(b), "JOB_STATUS_CHANGE:created JOB_STATUS_CHANGE:running "
                        "JOB_STATUS_CHANGE:waiting JOB_STATUS_CHANGE:pending JOB_STATUS_CHANGE:concluded");
    QMP_ERR(b, "Job ID 'c' already in use", "blockdev-create", "{\"job-id\": \"c\", \"options\": "
            "{\"driver\": \"file\", \"filename\": \"%s\", \"size\": 0}}", TGT);
    QMP_OK(b, "job-dismiss", "{\"id\": \"c\"}");
    assert_string_equal(drain_events(b), "JOB_STATUS_CHANGE:null");
    QMP_OK(b, "blockdev-add", "{\"driver\": \"file\", \"node-name\": \"f\", \"filename\": \"%s\"}", TGT);
    QMP_OK(b, "blockdev-create", "{\"job-id\": \"c\", \"options\": {\"driver\": \"qcow2\", "
           "\"file\": \"f\", \"size\": 1000}}");
    assert_string_equal(drain_events(b), "JOB_STATUS_CHANGE:created JOB_STATUS_CHANGE:running "
                        "JOB_STATUS_CHANGE:aborting JOB_STATUS_CHANGE:concluded");
    json_object *r = qmp(b, "query-jobs", NULL);
    assert_non_null(strstr(json_object_to_json_string(r), "Image size must be a multiple of 512 bytes"));
    json_object_put(r);
    QMP_OK(b, "job-dismiss", "{\"id\": \"c\"}");
    QMP_OK(b, "blockdev-create", "{\"job-id\": \"c2\", \"options\": {\"driver\": \"qcow2\", "
           "\"file\": \"nonode\", \"size\": 1048576}}");
    QMP_OK(b, "blockdev-create", "{\"job-id\": \"c3\", \"options\": {\"driver\": \"qcow2\", "
           "\"file\": \"f\", \"size\": 1048576, \"cluster-size\": 1000}}");
    QMP_OK(b, "blockdev-create", "{\"job-id\": \"c4\", \"options\": {\"driver\": \"qcow2\", "
           "\"file\": \"f\", \"size\": 1048576, \"cluster-size\": 131072, \"backing-file\": \"x\", "
           "\"backing-fmt\": \"qcow2\"}}");
    QMP_ERR(b, "Parameter 'options.size' is missing", "blockdev-create", "{\"job-id\": \"c5\", "
            "\"options\": {\"driver\": \"qcow2\", \"file\": \"f\"}}");
    QMP_ERR(b, "Parameter 'options.zz' is unexpected", "blockdev-create", "{\"job-id\": \"c5\", "
            "\"options\": {\"driver\": \"file\", \"filename\": \"x\", \"size\": 0, \"zz\": 1}}");
    QMP_ERR(b, "Invalid job ID '1x'", "blockdev-create", "{\"job-id\": \"1x\", "
            "\"options\": {\"driver\": \"file\", \"filename\": \"x\", \"size\": 0}}");
    QMP_OK(b, "blockdev-create", "{\"job-id\": \"c6\", \"options\": {\"driver\": \"vdi\"}}");
    drain_events(b);
    r = qmp(b, "query-jobs", NULL);
    const char *t = json_object_to_json_string(r);
    assert_non_null(strstr(t, "Cannot find device='nonode' nor node-name='nonode'"));
    assert_non_null(strstr(t, "Cluster size must be a power of two between 512 and 2048k"));
    assert_non_null(strstr(t, "Driver 'vdi' does not support blockdev-create"));
    json_object_put(r);
    QMP_OK(b, "blockdev-add", "{\"driver\": \"qcow2\", \"node-name\": \"q\", \"file\": \"f\", \"backing\": null}");
    /* reformatting an open image is refused */
    QMP_OK(b, "blockdev-create", "{\"job-id\": \"c7\", \"options\": {\"driver\": \"file\", "
           "\"filename\": \"%s\", \"size\": 0}}", TGT);
    drain_events(b);
    r = qmp(b, "query-jobs", NULL);
    assert_non_null(strstr(json_object_to_json_string(r), "Failed to get \\\"write\\\" lock"));
    json_object_put(r);
    vm_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_auto_finalize),
        cmocka_unit_test(test_completed_data),
        cmocka_unit_test(test_bitmap_pending_finalize),
        cmocka_unit_test(test_cancel_at_pending),
        cmocka_unit_test(test_read_failure),
        cmocka_unit_test(test_error_event_data),
        cmocka_unit_test(test_sync_none_waits_for_cancel),
        cmocka_unit_test(test_sync_top_and_incremental),
        cmocka_unit_test(test_argument_errors),
        cmocka_unit_test(test_job_verbs),
        cmocka_unit_test(test_create_jobs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
