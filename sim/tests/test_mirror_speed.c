/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Rate-limited jobs (job_speed.c) and drive-mirror (mirror.c): one unit
 * per N/speed seconds of virtual time, QMP commands taking a round trip,
 * the mirror's READY/standby/complete cycle and its events. */
#include "sim/tests/sim_test.h"

#define MiB (1024ull * 1024)
#define KiB 1024ull

/* current-progress of the one job in query-jobs */
static long long progress(bs_backend *b)
{
    json_object *r = qmp(b, "query-jobs", NULL), *list, *v;
    assert_true(json_object_object_get_ex(r, "return", &list));
    assert_int_equal(json_object_array_length(list), 1);
    assert_true(json_object_object_get_ex(json_object_array_get_idx(list, 0), "current-progress", &v));
    long long p = json_object_get_int64(v);
    json_object_put(r);
    return p;
}

static void test_backup_rate_limit(void **state)
{
    bs_backend *b = vm_new();
    add_drive(b, "drive0", IMG, 4 * MiB);
    make_target(b, "tgt", TGT, 4 * MiB);
    hmp(b, "drive0", "write -P0x5 0 4M");
    /* 64 KiB units at 256 KiB/s: one unit per 250 ms */
    QMP_OK(b, "blockdev-backup", "{\"device\": \"drive0\", \"target\": \"tgt\", \"sync\": \"full\", "
           "\"job-id\": \"j\", \"speed\": 262144, \"x-perf\": {\"max-chunk\": 65536}}");
    /* the first unit goes at once, the next only 250 commands (ms) later */
    assert_int_equal(progress(b), 64 * KiB);
    for (int i = 0; i < 200; i++) {
        assert_int_equal(progress(b), 64 * KiB);
    }
    int polls = 0;
    while (progress(b) == 64 * KiB) {
        polls++;
    }
    assert_true(polls > 40 && polls < 60);
    /* paused, it does nothing however long the monitor talks */
    QMP_OK(b, "job-pause", "{\"id\": \"j\"}");
    for (int i = 0; i < 600; i++) {
        assert_int_equal(progress(b), 128 * KiB);
    }
    QMP_OK(b, "job-resume", "{\"id\": \"j\"}");
    assert_int_equal(progress(b), 192 * KiB);   /* its time had come */
    /* without a limit it runs to the end when waited for */
    QMP_OK(b, "block-job-set-speed", "{\"device\": \"j\", \"speed\": 0}");
    assert_string_equal(wait_event(b, "BLOCK_JOB_COMPLETED"),
                        "{\"device\":\"j\",\"len\":4194304,\"offset\":4194304,\"speed\":0,"
                        "\"type\":\"backup\"}");
    drain_events(b);
    vm_free(b);
}

static void test_rate_limited_job_finishes_alone(void **state)
{
    /* nothing but a slow job: the clock jumps to its next unit */
    bs_backend *b = vm_new();
    add_drive(b, "drive0", IMG, 1 * MiB);
    make_target(b, "tgt", TGT, 1 * MiB);
    hmp(b, "drive0", "write -P0x5 0 1M");
    QMP_OK(b, "blockdev-backup", "{\"device\": \"drive0\", \"target\": \"tgt\", \"sync\": \"full\", "
           "\"job-id\": \"j\", \"speed\": 1}");
    assert_string_equal(wait_event(b, "BLOCK_JOB_COMPLETED"),
                        "{\"device\":\"j\",\"len\":1048576,\"offset\":1048576,\"speed\":1,"
                        "\"type\":\"backup\"}");
    drain_events(b);
    vm_free(b);
}

static void test_mirror_cycle(void **state)
{
    bs_backend *b = vm_new();
    add_drive(b, "drive0", IMG, 1 * MiB);
    hmp(b, "drive0", "write -P0x7 0 1M");
    QMP_ERR(b, "Invalid job ID ''", "drive-mirror",
            "{\"device\": \"drive0\", \"target\": \"%s\", \"sync\": \"full\"}", TGT);
    QMP_OK(b, "drive-mirror", "{\"device\": \"drive0\", \"target\": \"%s\", \"sync\": \"full\", "
           "\"job-id\": \"m\", \"buf-size\": 65536}", TGT);
    QMP_ERR(b, "Job 'm' in state 'running' cannot accept command verb 'complete'",
            "job-complete", "{\"id\": \"m\"}");
    /* no drained section around drive-mirror: no paused/running pair */
    assert_string_equal(drain_events(b), "JOB_STATUS_CHANGE:created JOB_STATUS_CHANGE:running "
                        "JOB_STATUS_CHANGE:ready BLOCK_JOB_READY");
    QMP_OK(b, "block-job-pause", "{\"device\": \"m\"}");
    assert_string_equal(drain_events(b), "JOB_STATUS_CHANGE:standby");
    json_object *r = qmp(b, "query-block-jobs", NULL);
    assert_non_null(strstr(json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN),
                           "\"ready\":true,\"status\":\"standby\""));
    json_object_put(r);
    /* complete while in standby: it ends once resumed */
    QMP_OK(b, "job-complete", "{\"id\": \"m\"}");
    assert_string_equal(drain_events(b), "");
    QMP_OK(b, "job-resume", "{\"id\": \"m\"}");
    assert_string_equal(drain_events(b), "JOB_STATUS_CHANGE:ready JOB_STATUS_CHANGE:waiting "
                        "JOB_STATUS_CHANGE:pending BLOCK_JOB_COMPLETED "
                        "JOB_STATUS_CHANGE:concluded JOB_STATUS_CHANGE:null");
    char *err = NULL;
    assert_int_equal(b->ops->shutdown(b, &err), 0);
    assert_int_equal(b->ops->img_compare(b, IMG, TGT, &err), 0);
    b->ops->destroy(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backup_rate_limit),
        cmocka_unit_test(test_rate_limited_job_finishes_alone),
        cmocka_unit_test(test_mirror_cycle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
