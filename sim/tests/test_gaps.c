/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Simulator paths no test reached (mutation testing, issue 14), each held
 * to what real QEMU 7.2 printed for the same steps (asked through
 * tools/qemu_driver.py, three identical runs each):
 * two backup jobs at once, qemu-io's default pattern, HMP's command-name
 * check, the largest bitmap granularity, raw offsets at the file's end,
 * x-perf max-chunk at the cluster size, writes to read-only nodes, a raw
 * node above a backup's source, conflicts with the backup's filter, the
 * default granularity's clamps, and
 * injected errnos other than EIO.
 */
#include "sim/tests/sim_test.h"

#define MiB (1024ull * 1024)
#define A "/tmp/blocksim/1000-a"
#define B "/tmp/blocksim/1000-b"
#define RAW "/tmp/blocksim/1000-raw"

static char *hmp_line(bs_backend *b, const char *line)
{
    static char out[512];
    json_object *args = json_object_new_object();
    json_object_object_add(args, "command-line", json_object_new_string(line));
    char *err = NULL;
    json_object *r = b->ops->qmp(b, "human-monitor-command", args, &err);
    json_object_put(args);
    assert_non_null(r);
    json_object *ret;
    assert_true(json_object_object_get_ex(r, "return", &ret));
    snprintf(out, sizeof out, "%s", json_object_get_string(ret));
    json_object_put(r);
    return out;
}

/* Two blockdev-backup jobs started back to back: each start pauses its own
 * job once, then j1 finishes first, each completion running to its end
 * before the other's, as in QEMU 7.2. QEMU also pauses j1 once more while
 * j2's command drains (it did in each of three runs); sim/MODEL.md leaves
 * such later pairs out, as their count depends on timing. */
static void test_two_jobs_at_once(void **state)
{
    bs_backend *b = vm_new();
    add_drive(b, "a", A, 4 * MiB);
    add_drive(b, "b", B, 4 * MiB);
    make_target(b, "ta", "/tmp/blocksim/1000-ta", 4 * MiB);
    make_target(b, "tb", "/tmp/blocksim/1000-tb", 4 * MiB);
    assert_string_equal(hmp(b, "a", "write 0 4M"), "");
    assert_string_equal(hmp(b, "b", "write 0 4M"), "");
    QMP_OK(b, "blockdev-backup", "{\"device\": \"a\", \"target\": \"ta\", \"sync\": \"full\", "
           "\"job-id\": \"j1\", \"x-perf\": {\"max-workers\": 1}}");
    QMP_OK(b, "blockdev-backup", "{\"device\": \"b\", \"target\": \"tb\", \"sync\": \"full\", "
           "\"job-id\": \"j2\", \"x-perf\": {\"max-workers\": 1}}");
    assert_string_equal(drain_events(b),
                        "JOB_STATUS_CHANGE:created JOB_STATUS_CHANGE:running "
                        "JOB_STATUS_CHANGE:paused JOB_STATUS_CHANGE:running "
                        "JOB_STATUS_CHANGE:created JOB_STATUS_CHANGE:running "
                        "JOB_STATUS_CHANGE:paused JOB_STATUS_CHANGE:running "
                        "JOB_STATUS_CHANGE:waiting JOB_STATUS_CHANGE:pending BLOCK_JOB_COMPLETED "
                        "JOB_STATUS_CHANGE:concluded JOB_STATUS_CHANGE:null "
                        "JOB_STATUS_CHANGE:waiting JOB_STATUS_CHANGE:pending BLOCK_JOB_COMPLETED "
                        "JOB_STATUS_CHANGE:concluded JOB_STATUS_CHANGE:null");
    vm_free(b);
}

/* Event timestamps never go backwards, and the job's own ones advance. */
static void test_event_timestamps_increase(void **state)
{
    bs_backend *b = vm_new();
    add_drive(b, "a", A, 4 * MiB);
    make_target(b, "ta", "/tmp/blocksim/1000-ta", 4 * MiB);
    QMP_OK(b, "blockdev-backup", "{\"device\": \"a\", \"target\": \"ta\", \"sync\": \"full\", "
           "\"job-id\": \"j1\"}");
    int64_t last = -1, first = -1;
    int n = 0;
    json_object *ev;
    while ((ev = next_ev(b))) {
        json_object *ts, *sec, *usec;
        assert_true(json_object_object_get_ex(ev, "timestamp", &ts));
        assert_true(json_object_object_get_ex(ts, "seconds", &sec));
        assert_true(json_object_object_get_ex(ts, "microseconds", &usec));
        int64_t t = json_object_get_int64(sec) * 1000000 + json_object_get_int64(usec);
        assert_true(json_object_get_int64(usec) >= 0 && json_object_get_int64(usec) < 1000000);
        assert_true(t >= last);
        if (first < 0)
            first = t;
        last = t;
        n++;
        json_object_put(ev);
    }
    assert_true(n >= 6);
    assert_true(last > first);
    vm_free(b);
}

/* qemu-io writes 0xcd when no -P is given (HMP shows no pattern check,
 * so the images are compared after the VM is gone). */
static void test_qemu_io_default_pattern(void **state)
{
    bs_backend *b = vm_new();
    char *err = NULL;
    add_drive(b, "a", A, 1 * MiB);
    add_drive(b, "b", B, 1 * MiB);
    add_drive(b, "c", "/tmp/blocksim/1000-c", 1 * MiB);
    assert_string_equal(hmp(b, "a", "write 0 64k"), "");
    assert_string_equal(hmp(b, "b", "write -P 0xcd 0 64k"), "");
    assert_string_equal(hmp(b, "c", "write -P 0xce 0 64k"), "");
    assert_int_equal(b->ops->shutdown(b, &err), 0);
    assert_int_equal(b->ops->img_compare(b, A, B, &err), 0);
    assert_int_equal(b->ops->img_compare(b, A, "/tmp/blocksim/1000-c", &err), 1);
    assert_null(err);
    vm_free(b);
}

/* HMP knows qemu-io by its whole name only. */
static void test_hmp_command_name(void **state)
{
    bs_backend *b = vm_new();
    add_drive(b, "a", A, 1 * MiB);
    assert_string_equal(hmp_line(b, "qemu-iox a \"read 0 512\""),
                        "unknown command: 'qemu-iox'\r\n");
    assert_string_equal(hmp_line(b, "qemu-i"), "unknown command: 'qemu-i'\r\n");
    assert_string_equal(hmp_line(b, "qemu-io a \"read 0 512\""), "");
    vm_free(b);
}

/* Granularity is a uint32: 2^31 is the largest accepted. */
static void test_granularity_2_31(void **state)
{
    bs_backend *b = vm_new();
    add_drive(b, "a", A, 1 * MiB);
    QMP_OK(b, "block-dirty-bitmap-add", "{\"node\": \"a\", \"name\": \"big\", "
           "\"granularity\": 2147483648}");
    QMP_ERR(b, "Parameter 'granularity' expects uint32_t", "block-dirty-bitmap-add",
            "{\"node\": \"a\", \"name\": \"big2\", \"granularity\": 4294967296}");
    assert_string_equal(hmp(b, "a", "write 0 512"), "");
    /* one bit covers the whole 1 MiB disk */
    assert_string_equal(bitmaps_of(b, "a"), "big:2147483648:rec");
    vm_free(b);
}

/* A raw node may start exactly at its file's end (and be empty there). */
static void test_raw_offset_at_file_end(void **state)
{
    bs_backend *b = vm_new();
    char *err = NULL;
    assert_int_equal(b->ops->img_create(b, "raw", RAW, 65536, NULL, NULL, &err), 0);
    QMP_OK(b, "blockdev-add", "{\"driver\": \"raw\", \"node-name\": \"r0\", \"file\": "
           "{\"driver\": \"file\", \"filename\": \"" RAW "\"}, \"offset\": 65536}");
    QMP_OK(b, "blockdev-add", "{\"driver\": \"raw\", \"node-name\": \"r1\", \"file\": "
           "{\"driver\": \"file\", \"filename\": \"" RAW "\"}, \"offset\": 65536, \"size\": 0}");
    QMP_ERR(b, "Offset (65537) cannot be greater than size of the containing file (65536)",
            "blockdev-add", "{\"driver\": \"raw\", \"node-name\": \"r2\", \"file\": "
            "{\"driver\": \"file\", \"filename\": \"" RAW "\"}, \"offset\": 65537}");
    vm_free(b);
}

/* x-perf max-chunk may equal the backup cluster size, not go below it. */
static void test_max_chunk_at_cluster_size(void **state)
{
    bs_backend *b = vm_new();
    add_drive(b, "a", A, 1 * MiB);
    make_target(b, "ta", "/tmp/blocksim/1000-ta", 1 * MiB);
    QMP_ERR(b, "Required max-chunk (65535) is less than backup cluster size (65536)",
            "blockdev-backup", "{\"device\": \"a\", \"target\": \"ta\", \"sync\": \"full\", "
            "\"job-id\": \"j1\", \"x-perf\": {\"max-chunk\": 65535}}");
    QMP_OK(b, "blockdev-backup", "{\"device\": \"a\", \"target\": \"ta\", \"sync\": \"full\", "
           "\"job-id\": \"j1\", \"x-perf\": {\"max-chunk\": 65536}}");
    assert_string_equal(wait_event(b, "BLOCK_JOB_COMPLETED"),
                        "{\"device\":\"j1\",\"len\":1048576,\"offset\":1048576,\"speed\":0,"
                        "\"type\":\"backup\"}");
    drain_events(b);
    vm_free(b);
}

/* A node opened read-only refuses qemu-io writes, reads still work. */
static void test_read_only_node(void **state)
{
    bs_backend *b = vm_new();
    img_create(b, A, 1 * MiB);
    QMP_OK(b, "blockdev-add", "{\"driver\": \"qcow2\", \"node-name\": \"ro\", \"read-only\": true, "
           "\"file\": {\"driver\": \"file\", \"filename\": \"" A "\", \"read-only\": true}}");
    assert_string_equal(hmp(b, "ro", "write 0 512"), "Block node is read-only\r\n");
    assert_string_equal(hmp(b, "ro", "read -P 0 0 512"), "");
    vm_free(b);
}

/* A raw node stacked on the source before a backup starts reaches it
 * through the backup's filter from then on (QEMU's bdrv_replace_node), so
 * its writes are copied before: QEMU 7.2 counted both 64 KiB writes below
 * in the sync=none job's progress, and the target holds the old data. */
static void test_raw_parent_through_filter(void **state)
{
    bs_backend *b = vm_new();
    add_drive(b, "a", A, 4 * MiB);
    make_target(b, "ta", "/tmp/blocksim/1000-ta", 4 * MiB);
    QMP_OK(b, "blockdev-add", "{\"driver\": \"raw\", \"node-name\": \"r\", \"file\": \"a\"}");
    assert_string_equal(hmp(b, "r", "write -P 0x11 128k 64k"), "");
    QMP_OK(b, "blockdev-backup", "{\"device\": \"a\", \"target\": \"ta\", \"sync\": \"none\", "
           "\"job-id\": \"k\", \"filter-node-name\": \"top\"}");
    drain_events(b);
    assert_string_equal(hmp(b, "top", "write -P 0x22 0 64k"), "");
    assert_string_equal(hmp(b, "r", "write -P 0x22 128k 64k"), "");
    json_object *r = qmp(b, "query-jobs", NULL);
    assert_non_null(strstr(json_object_to_json_string(r), "\"current-progress\": 131072"));
    json_object_put(r);
    QMP_OK(b, "block-job-cancel", "{\"device\": \"k\"}");
    drain_events(b);
    /* the job is gone: r writes straight to a again, nothing is copied */
    assert_string_equal(hmp(b, "r", "write -P 0x33 256k 64k"), "");
    assert_string_equal(hmp(b, "ta", "read -P 0x11 128k 64k"), "");
    assert_string_equal(hmp(b, "ta", "read -P 0 256k 64k"), "");
    assert_string_equal(hmp(b, "a", "read -P 0x33 256k 64k"), "");
    vm_free(b);
}

/* Nodes added above a source after its backup's filter: the filter
 * unshares write and resize on the source, so a qcow2 node cannot open it
 * and a raw node's writes are refused (QEMU 7.2's messages). */
static void test_conflicts_with_cbw_parent(void **state)
{
    bs_backend *b = vm_new();
    add_drive(b, "a", A, 4 * MiB);
    make_target(b, "ta", "/tmp/blocksim/1000-ta", 4 * MiB);
    QMP_OK(b, "blockdev-backup", "{\"device\": \"a\", \"target\": \"ta\", \"sync\": \"none\", "
           "\"job-id\": \"k\", \"filter-node-name\": \"top\"}");
    drain_events(b);
    QMP_ERR(b, "Permission conflict on node 'a': permissions 'write, resize' are both required by "
            "node 'q2' (uses node 'a' as 'file' child) and unshared by node 'top' (uses node 'a' "
            "as 'file' child).", "blockdev-add",
            "{\"driver\": \"qcow2\", \"node-name\": \"q2\", \"file\": \"a\"}");
    QMP_OK(b, "blockdev-add", "{\"driver\": \"raw\", \"node-name\": \"r2\", \"file\": \"a\"}");
    assert_string_equal(hmp(b, "r2", "write 0 64k"),
                        "Permission conflict on node 'a': permissions 'write' are both required by "
                        "node 'r2' (uses node 'a' as 'file' child) and unshared by node 'top' (uses "
                        "node 'a' as 'file' child).\r\n");
    assert_string_equal(hmp(b, "r2", "read 0 64k"), "");
    QMP_OK(b, "block-job-cancel", "{\"device\": \"k\"}");
    drain_events(b);
    /* with the filter gone, r2 may write */
    assert_string_equal(hmp(b, "r2", "write 0 64k"), "");
    vm_free(b);
}

/* Without a granularity a bitmap takes the qcow2 cluster size clamped to
 * [4 KiB, 64 KiB] (QEMU 7.2: 512 B clusters give 4096, 128 KiB give 65536). */
static void test_default_granularity_clamps(void **state)
{
    static const struct { unsigned cluster; const char *want; } c[] = {
        { 512, "b:0:rec" }, { 131072, "b:0:rec" }, { 8192, "b:0:rec" },
    };
    static const unsigned want_gran[] = { 4096, 65536, 8192 };
    for (size_t i = 0; i < 3; i++) {
        bs_backend *b = vm_new();
        QMP_OK(b, "blockdev-create", "{\"job-id\": \"f\", \"options\": {\"driver\": \"file\", "
               "\"filename\": \"" A "\", \"size\": 0}}");
        drain_events(b);
        QMP_OK(b, "job-dismiss", "{\"id\": \"f\"}");
        QMP_OK(b, "blockdev-add", "{\"driver\": \"file\", \"node-name\": \"f\", "
               "\"filename\": \"" A "\"}");
        QMP_OK(b, "blockdev-create", "{\"job-id\": \"q\", \"options\": {\"driver\": \"qcow2\", "
               "\"file\": \"f\", \"size\": 1048576, \"cluster-size\": %u}}", c[i].cluster);
        drain_events(b);
        QMP_OK(b, "job-dismiss", "{\"id\": \"q\"}");
        QMP_OK(b, "blockdev-add", "{\"driver\": \"qcow2\", \"node-name\": \"n\", \"file\": \"f\"}");
        QMP_OK(b, "block-dirty-bitmap-add", "{\"node\": \"n\", \"name\": \"b\"}");
        assert_string_equal(bitmaps_of(b, "n"), c[i].want);
        assert_string_equal(hmp(b, "n", "write 0 512"), "");
        char want[64];
        snprintf(want, sizeof want, "b:%u:rec", want_gran[i]);   /* one bit dirty */
        assert_string_equal(bitmaps_of(b, "n"), want);
        vm_free(b);
    }
}

/* An injected errno other than EIO reaches the job's error as its text. */
static void test_injected_errno(void **state)
{
    bs_backend *b = vm_new();
    img_create(b, A, 4 * MiB);
    QMP_OK(b, "blockdev-add", "{\"driver\": \"qcow2\", \"node-name\": \"a\", \"file\": "
           "{\"driver\": \"blkdebug\", \"image\": {\"driver\": \"file\", \"filename\": \"" A "\"}, "
           "\"inject-error\": [{\"event\": \"read_aio\", \"errno\": 28, \"once\": true}]}}");
    assert_string_equal(hmp(b, "a", "write 0 1M"), "");
    make_target(b, "ta", "/tmp/blocksim/1000-ta", 4 * MiB);
    QMP_OK(b, "blockdev-backup", "{\"device\": \"a\", \"target\": \"ta\", \"sync\": \"full\", "
           "\"job-id\": \"j\"}");
    assert_string_equal(wait_event(b, "BLOCK_JOB_ERROR"),
                        "{\"action\":\"report\",\"device\":\"j\",\"operation\":\"read\"}");
    const char *done = wait_event(b, "BLOCK_JOB_COMPLETED");
    assert_non_null(strstr(done, "\"error\":\"No space left on device\""));
    drain_events(b);
    vm_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_jobs_at_once),
        cmocka_unit_test(test_event_timestamps_increase),
        cmocka_unit_test(test_qemu_io_default_pattern),
        cmocka_unit_test(test_hmp_command_name),
        cmocka_unit_test(test_granularity_2_31),
        cmocka_unit_test(test_raw_offset_at_file_end),
        cmocka_unit_test(test_max_chunk_at_cluster_size),
        cmocka_unit_test(test_read_only_node),
        cmocka_unit_test(test_raw_parent_through_filter),
        cmocka_unit_test(test_conflicts_with_cbw_parent),
        cmocka_unit_test(test_default_granularity_clamps),
        cmocka_unit_test(test_injected_errno),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
