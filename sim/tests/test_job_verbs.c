/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Job verbs (job_verbs.c): QEMU 7.2's JobVerbTable and its errors,
 * pause/resume counting, cancel of paused jobs, set-speed,
 * query-block-jobs; and the backup error policies (backup_error.c). */
#include "sim/tests/sim_test.h"

#define MiB (1024ull * 1024)
#define BK(extra) "{\"device\": \"drive0\", \"target\": \"tgt\", \"job-id\": \"j\", " extra "}"

static bs_backend *setup_pair(uint64_t size)
{
    bs_backend *b = vm_new();
    add_drive(b, "drive0", IMG, size);
    make_target(b, "tgt", TGT, size);
    return b;
}

/* The one block job's member KEY in query-block-jobs, as JSON text. */
static const char *bj(bs_backend *b, const char *key)
{
    static char out[256];
    json_object *r = qmp(b, "query-block-jobs", NULL), *list, *v;
    assert_true(json_object_object_get_ex(r, "return", &list));
    assert_int_equal(json_object_array_length(list), 1);
    if (!json_object_object_get_ex(json_object_array_get_idx(list, 0), key, &v)) {
        snprintf(out, sizeof out, "<absent>");
    } else {
        snprintf(out, sizeof out, "%s", json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
    }
    json_object_put(r);
    return out;
}

static void test_pause_resume(void **state)
{
    bs_backend *b = setup_pair(4 * MiB);
    QMP_OK(b, "blockdev-backup", BK("\"sync\": \"none\""));
    drain_events(b);
    assert_string_equal(bj(b, "paused"), "false");
    assert_string_equal(bj(b, "busy"), "false");
    QMP_ERR(b, "Can't resume a job that was not paused", "job-resume", "{\"id\": \"j\"}");
    QMP_OK(b, "block-job-pause", "{\"device\": \"j\"}");
    assert_string_equal(drain_events(b), "JOB_STATUS_CHANGE:paused");
    QMP_ERR(b, "Job is already paused", "job-pause", "{\"id\": \"j\"}");
    assert_string_equal(bj(b, "status"), "\"paused\"");
    assert_string_equal(bj(b, "paused"), "true");
    QMP_ERR(b, "Job 'j' in state 'paused' cannot accept command verb 'complete'",
            "block-job-complete", "{\"device\": \"j\"}");
    QMP_ERR(b, "Job 'j' in state 'paused' cannot accept command verb 'finalize'",
            "block-job-finalize", "{\"id\": \"j\"}");
    QMP_ERR(b, "Job 'j' in state 'paused' cannot accept command verb 'dismiss'",
            "job-dismiss", "{\"id\": \"j\"}");
    QMP_OK(b, "job-resume", "{\"id\": \"j\"}");
    assert_string_equal(drain_events(b), "JOB_STATUS_CHANGE:running");
    QMP_ERR(b, "Can't resume a job that was not paused", "block-job-resume", "{\"device\": \"j\"}");
    assert_string_equal(bj(b, "paused"), "false");
    QMP_OK(b, "job-cancel", "{\"id\": \"j\"}");
    drain_events(b);
    vm_free(b);
}

static void test_cancel_paused(void **state)
{
    bs_backend *b = setup_pair(4 * MiB);
    QMP_OK(b, "blockdev-backup", BK("\"sync\": \"none\""));
    drain_events(b);
    QMP_OK(b, "job-pause", "{\"id\": \"j\"}");
    QMP_ERR(b, "The block job for device 'j' is currently paused", "block-job-cancel",
            "{\"device\": \"j\"}");
    assert_string_equal(drain_events(b), "JOB_STATUS_CHANGE:paused");
    /* the cancel resumes the job, which leaves its pause point and ends */
    QMP_OK(b, "block-job-cancel", "{\"device\": \"j\", \"force\": true}");
    assert_string_equal(drain_events(b), "JOB_STATUS_CHANGE:running JOB_STATUS_CHANGE:aborting "
                        "BLOCK_JOB_CANCELLED JOB_STATUS_CHANGE:concluded JOB_STATUS_CHANGE:null");
    json_object *r = qmp(b, "query-block-jobs", NULL);
    assert_string_equal(sorted_json(r), "{\"return\":[]}");
    json_object_put(r);
    vm_free(b);
}

static void test_set_speed_and_unknown(void **state)
{
    bs_backend *b = setup_pair(4 * MiB);
    QMP_OK(b, "blockdev-backup", BK("\"sync\": \"none\", \"auto-dismiss\": false"));
    drain_events(b);
    QMP_ERR(b, "Parameter 'speed' expects a non-negative value", "block-job-set-speed",
            "{\"device\": \"j\", \"speed\": -1}");
    QMP_OK(b, "block-job-set-speed", "{\"device\": \"j\", \"speed\": 4096}");
    assert_string_equal(bj(b, "speed"), "4096");
    QMP_ERR(b, "Block job 'x' not found", "block-job-set-speed", "{\"device\": \"x\", \"speed\": 1}");
    QMP_ERR(b, "Block job 'x' not found", "block-job-dismiss", "{\"id\": \"x\"}");
    QMP_ERR(b, "Job not found", "job-finalize", "{\"id\": \"x\"}");
    json_object *r = qmp(b, "block-job-pause", "{\"device\": \"x\"}");
    assert_string_equal(sorted_json(r), "{\"error\":{\"class\":\"DeviceNotActive\","
                        "\"desc\":\"Block job 'x' not found\"}}");
    json_object_put(r);
    QMP_ERR(b, "Parameter 'speed' is missing", "block-job-set-speed", "{\"device\": \"j\"}");
    QMP_OK(b, "block-job-cancel", "{\"device\": \"j\"}");
    drain_events(b);
    /* concluded: only dismiss */
    assert_string_equal(bj(b, "status"), "\"concluded\"");
    assert_string_equal(bj(b, "error"), "\"Operation canceled\"");
    QMP_ERR(b, "Job 'j' in state 'concluded' cannot accept command verb 'cancel'",
            "job-cancel", "{\"id\": \"j\"}");
    QMP_ERR(b, "Job 'j' in state 'concluded' cannot accept command verb 'set-speed'",
            "block-job-set-speed", "{\"device\": \"j\", \"speed\": 0}");
    QMP_OK(b, "block-job-dismiss", "{\"id\": \"j\"}");
    assert_string_equal(drain_events(b), "JOB_STATUS_CHANGE:null");
    vm_free(b);
}

static void test_query_block_jobs_members(void **state)
{
    bs_backend *b = setup_pair(4 * MiB);
    hmp(b, "drive0", "write -P0x65 0 64k");
    QMP_OK(b, "blockdev-backup", BK("\"sync\": \"none\", \"speed\": 100, \"auto-finalize\": false"));
    json_object *r = qmp(b, "query-block-jobs", NULL);
    /* QEMU sends BlockJobInfo's members in QAPI order */
    assert_string_equal(json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN),
                        "{\"return\":[{\"type\":\"backup\",\"device\":\"j\",\"len\":4194304,"
                        "\"offset\":0,\"busy\":false,\"paused\":false,\"speed\":100,"
                        "\"io-status\":\"ok\",\"ready\":false,\"status\":\"running\","
                        "\"auto-finalize\":false,\"auto-dismiss\":true}]}");
    json_object_put(r);
    QMP_OK(b, "job-cancel", "{\"id\": \"j\"}");
    drain_events(b);
    vm_free(b);
}

/* drive0 over blkdebug failing its first data read with errno err_no */
static bs_backend *setup_failing_source(int err_no)
{
    bs_backend *b = vm_new();
    img_create(b, IMG, 1 * MiB);
    QMP_OK(b, "blockdev-add", "{\"driver\": \"qcow2\", \"node-name\": \"drive0\", \"file\": "
           "{\"driver\": \"blkdebug\", \"image\": {\"driver\": \"file\", \"filename\": \"%s\"}, "
           "\"inject-error\": [{\"event\": \"read_aio\", \"errno\": %d, \"once\": true}]}}",
           IMG, err_no);
    make_target(b, "tgt", TGT, 1 * MiB);
    hmp(b, "drive0", "write -P0x11 0 1M");
    return b;
}

static void test_on_error_stop(void **state)
{
    bs_backend *b = setup_failing_source(5);
    QMP_OK(b, "blockdev-backup", BK("\"sync\": \"full\", \"on-source-error\": \"stop\""));
    assert_string_equal(drain_events(b),
                        "JOB_STATUS_CHANGE:created JOB_STATUS_CHANGE:running "
                        "JOB_STATUS_CHANGE:paused JOB_STATUS_CHANGE:running BLOCK_JOB_ERROR "
                        "JOB_STATUS_CHANGE:paused");
    assert_string_equal(bj(b, "io-status"), "\"failed\"");
    assert_string_equal(bj(b, "paused"), "true");
    assert_string_equal(bj(b, "offset"), "0");
    /* the stop is a user pause: a plain block-job-cancel is refused */
    QMP_ERR(b, "The block job for device 'j' is currently paused", "block-job-cancel",
            "{\"device\": \"j\"}");
    QMP_OK(b, "block-job-resume", "{\"device\": \"j\"}");
    assert_string_equal(bj(b, "io-status"), "\"ok\"");
    /* the failed cluster is copied again, and the job succeeds */
    assert_string_equal(drain_events(b), "JOB_STATUS_CHANGE:running JOB_STATUS_CHANGE:waiting "
                        "JOB_STATUS_CHANGE:pending BLOCK_JOB_COMPLETED "
                        "JOB_STATUS_CHANGE:concluded JOB_STATUS_CHANGE:null");
    vm_free(b);
}

static void test_on_error_ignore_enospc_report(void **state)
{
    static const struct { const char *policy; int err_no; const char *action, *end; } cases[] = {
        { "ignore", 5, "ignore", "BLOCK_JOB_COMPLETED:ok" },
        { "enospc", 5, "report", "BLOCK_JOB_COMPLETED:Input/output error" },
        { "enospc", 28, "stop", "paused" },
        { "auto", 28, "stop", "paused" },
        { "report", 28, "report", "BLOCK_JOB_COMPLETED:No space left on device" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        bs_backend *b = setup_failing_source(cases[i].err_no);
        char args[256];
        snprintf(args, sizeof args, BK("\"sync\": \"full\", \"on-source-error\": \"%s\""),
                 cases[i].policy);
        QMP_OK(b, "blockdev-backup", args, 0);
        char want[128];
        snprintf(want, sizeof want, "{\"action\":\"%s\",\"device\":\"j\",\"operation\":\"read\"}",
                 cases[i].action);
        assert_string_equal(wait_event(b, "BLOCK_JOB_ERROR"), want);
        if (!strcmp(cases[i].end, "paused")) {
            assert_string_equal(bj(b, "io-status"), "\"nospace\"");
            QMP_OK(b, "job-cancel", "{\"id\": \"j\"}");
        } else {
            const char *ev = wait_event(b, "BLOCK_JOB_COMPLETED");
            const char *err = strstr(cases[i].end, ":") + 1;
            if (!strcmp(err, "ok")) {
                assert_null(strstr(ev, "error"));
                assert_non_null(strstr(ev, "\"offset\":1048576"));
            } else {
                assert_non_null(strstr(ev, err));
            }
        }
        drain_events(b);
        vm_free(b);
    }
}

static void test_on_target_error(void **state)
{
    bs_backend *b = vm_new();
    add_drive(b, "drive0", IMG, 1 * MiB);
    hmp(b, "drive0", "write -P0x22 0 256k");
    QMP_OK(b, "block-dirty-bitmap-add", "{\"node\": \"drive0\", \"name\": \"b\"}");
    hmp(b, "drive0", "write -P0x23 0 256k");
    img_create(b, TGT, 1 * MiB);
    QMP_OK(b, "blockdev-add", "{\"driver\": \"qcow2\", \"node-name\": \"tgt\", \"file\": "
           "{\"driver\": \"blkdebug\", \"image\": {\"driver\": \"file\", \"filename\": \"%s\"}, "
           "\"inject-error\": [{\"event\": \"write_aio\", \"errno\": 28, \"once\": true}]}}", TGT);
    QMP_OK(b, "blockdev-backup", BK("\"sync\": \"bitmap\", \"bitmap\": \"b\", "
                                     "\"bitmap-mode\": \"on-success\", \"on-target-error\": \"enospc\""));
    assert_string_equal(wait_event(b, "BLOCK_JOB_ERROR"),
                        "{\"action\":\"stop\",\"device\":\"j\",\"operation\":\"write\"}");
    drain_events(b);
    assert_string_equal(bj(b, "status"), "\"paused\"");
    QMP_OK(b, "job-resume", "{\"id\": \"j\"}");
    wait_event(b, "BLOCK_JOB_COMPLETED");
    drain_events(b);
    assert_string_equal(bitmaps_of(b, "drive0"), "b:0:rec");
    vm_free(b);
}

static void test_compress_needs_qcow2(void **state)
{
    bs_backend *b = vm_new();
    add_drive(b, "drive0", IMG, 1 * MiB);
    char *err = NULL;
    assert_int_equal(b->ops->img_create(b, "raw", TGT, 1 * MiB, NULL, NULL, &err), 0);
    QMP_OK(b, "blockdev-add", "{\"driver\": \"raw\", \"node-name\": \"tgt\", \"file\": "
           "{\"driver\": \"file\", \"filename\": \"%s\"}}", TGT);
    QMP_ERR(b, "Compression is not supported for this drive ", "blockdev-backup",
            BK("\"sync\": \"full\", \"compress\": true"));
    QMP_ERR(b, "Source and target cannot be the same", "blockdev-backup",
            "{\"device\": \"drive0\", \"target\": \"drive0\", \"job-id\": \"j\", "
            "\"sync\": \"full\", \"compress\": true}");
    vm_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pause_resume),
        cmocka_unit_test(test_cancel_paused),
        cmocka_unit_test(test_set_speed_and_unknown),
        cmocka_unit_test(test_query_block_jobs_members),
        cmocka_unit_test(test_on_error_stop),
        cmocka_unit_test(test_on_error_ignore_enospc_report),
        cmocka_unit_test(test_on_target_error),
        cmocka_unit_test(test_compress_needs_qcow2),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
