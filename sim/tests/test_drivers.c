/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The driver tables (sim_drv_ops, sim/node.h): every driver fills the
 * operations node.c calls without asking, names resolve both ways, and
 * requests reach the driver they belong to; likewise the job types'
 * tables (sim_job_driver, sim/job.h).
 */
#include "sim/tests/sim_test.h"
#include "sim/sim_int.h"

static const sim_driver all[] = {
    DRV_FILE, DRV_QCOW2, DRV_BLKDEBUG, DRV_RAW, DRV_CBW, DRV_NULL,
    DRV_SNAPSHOT_ACCESS, DRV_THROTTLE, DRV_VMDK,
};

static void test_every_driver_fills_its_table(void **state)
{
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        sim_node n = { .drv = all[i] };
        const sim_drv_ops *ops = node_drv(&n);
        assert_non_null(ops);
        assert_non_null(ops->name);
        /* node.c calls these unconditionally */
        assert_non_null(ops->size);
        assert_non_null(ops->read);
        assert_non_null(ops->discard);
        assert_non_null(ops->block_status);
        assert_non_null(ops->open);
        /* the name blockdev-add uses finds the same table */
        assert_ptr_equal(node_drv_by_name(ops->name), ops);
        assert_string_equal(node_drv_name(&n), ops->name);
        for (size_t k = 0; k < i; k++) {
            sim_node m = { .drv = all[k] };
            assert_ptr_not_equal(node_drv(&m), ops);
        }
    }
    assert_null(node_drv_by_name("vpc"));
    assert_null(node_drv_by_name(NULL));
}

static void test_unknown_driver_is_refused_by_name(void **state)
{
    bs_backend *b = vm_new();
    /* QAPI refuses drivers QEMU lacks; one QEMU has but we do not model
     * reaches blockdev_open's lookup in the driver tables */
    QMP_ERR(b, "Driver 'vpc' is not modelled by the simulator", "blockdev-add",
            "{\"driver\": \"vpc\", \"node-name\": \"n\"}");
    vm_free(b);
}

/* A raw node over a file: the window's reads reach drv_raw's offset, its
 * size is raw's, and a write lands in the file at the offset. */
static void test_requests_reach_their_driver(void **state)
{
    bs_backend *b = vm_new();
    char *err = NULL;
    assert_int_equal(b->ops->img_create(b, "raw", IMG, 1 << 20, NULL, NULL, &err), 0);
    QMP_OK(b, "blockdev-add", "{\"driver\": \"raw\", \"node-name\": \"r\", \"offset\": 65536, "
           "\"size\": 131072, \"file\": {\"driver\": \"file\", \"filename\": \"" IMG "\"}}");
    hmp(b, "r", "write -P 0x5a 0 4096");
    sim *s = (sim *)b;
    sim_node *r = node_find(s, "r");
    assert_non_null(r);
    assert_int_equal(r->drv, DRV_RAW);
    assert_int_equal(node_size(r), 131072);
    assert_int_equal(node_size(r->file), 1 << 20);
    uint8_t buf[4096];
    assert_int_equal(node_read(s, r->file, 65536, sizeof buf, buf), 0);
    for (size_t i = 0; i < sizeof buf; i++) {
        assert_int_equal(buf[i], 0x5a);
    }
    assert_int_equal(node_read(s, r->file, 0, sizeof buf, buf), 0);
    assert_int_equal(buf[0], 0);
    uint64_t pnum = 0;
    int st = node_block_status(s, r, 0, 131072, &pnum);
    assert_true(st & CL_STATUS_DATA);
    vm_free(b);
}

/* The job types' tables (sim_job_driver, sim/job.h): each names its type
 * once and fills what job.c calls without asking. */
static void test_every_job_type_fills_its_table(void **state)
{
    static const job_type types[] = { JOB_BACKUP, JOB_CREATE, JOB_MIRROR };
    static const char *const names[] = { "backup", "create", "mirror" };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        sim_job j = { .type = types[i] };
        const sim_job_driver *d = job_driver(&j);
        assert_non_null(d);
        assert_string_equal(d->type, names[i]);
        assert_string_equal(job_type_name(&j), names[i]);
        assert_non_null(d->offset);
        assert_non_null(d->len);
        assert_non_null(d->tick);
        /* only block jobs send BLOCK_JOB_* events: create is a plain job */
        assert_int_equal(d->block_job, types[i] != JOB_CREATE);
    }
}

/* A blockdev-create job ticks through create.c's table: one tick makes the
 * image and concludes the job. */
static void test_create_job_runs_through_its_table(void **state)
{
    bs_backend *b = vm_new();
    QMP_OK(b, "blockdev-create", "{\"job-id\": \"c\", \"options\": {\"driver\": \"file\", "
           "\"filename\": \"" TGT "\", \"size\": 0}}");
    sim *s = (sim *)b;
    sim_job *j = job_find(s, "c");
    assert_non_null(j);
    assert_int_equal(j->status, JS_RUNNING);
    assert_true(job_tick(s, j));
    assert_int_equal(j->status, JS_CONCLUDED);
    assert_false(job_tick(s, j));   /* nothing left to do */
    assert_non_null(fs_lookup(s, TGT));
    vm_free(b);
}

/* Every command of the dispatch table has its row in sim/qapi.c's table,
 * so none skips QAPI's checks: a command with a schema rejects an
 * unexpected member. */
static void test_every_command_is_checked(void **state)
{
    static const char *const with_schema[] = {
        "query-named-block-nodes", "query-block", "query-jobs", "query-block-jobs",
        "blockdev-del", "blockdev-create", "blockdev-backup", "drive-backup", "drive-mirror",
        "block_resize", "stop", "cont", "block-dirty-bitmap-add", "block-dirty-bitmap-remove",
        "block-dirty-bitmap-clear", "block-dirty-bitmap-enable", "block-dirty-bitmap-disable",
        "block-dirty-bitmap-merge", "job-finalize", "job-cancel", "job-dismiss",
        "job-complete", "job-pause", "job-resume", "block-job-cancel", "block-job-pause",
        "block-job-resume", "block-job-complete", "block-job-set-speed",
        "block-job-finalize", "block-job-dismiss", "human-monitor-command", "backup",
        "query-backup", "backup-cancel",
    };
    bs_backend *b = vm_new();
    for (size_t i = 0; i < sizeof with_schema / sizeof with_schema[0]; i++) {
        assert_true(qapi_command_known(with_schema[i]));
        json_object *r = qmp(b, with_schema[i], "{\"no-such-member\": 1}");
        const char *e = reply_error(r);
        if (!e || (!strstr(e, "no-such-member") && !strstr(e, "is missing"))) {
            fail_msg("%s: not checked by QAPI: %s", with_schema[i],
                     e ? e : json_object_to_json_string(r));
        }
        json_object_put(r);
    }
    assert_true(qapi_command_known("blockdev-add"));    /* checks its own */
    assert_false(qapi_command_known("no-such-command"));
    vm_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_driver_fills_its_table),
        cmocka_unit_test(test_unknown_driver_is_refused_by_name),
        cmocka_unit_test(test_requests_reach_their_driver),
        cmocka_unit_test(test_every_job_type_fills_its_table),
        cmocka_unit_test(test_create_job_runs_through_its_table),
        cmocka_unit_test(test_every_command_is_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
