/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The block-commit jobs (sim/commit.c, sim/commit_active.c) as jobs of
 * sim/job.c: events, progress on the virtual clock, rate limits, cancel
 * (forced or not), on-error policies, manual finalize, the op blockers,
 * what becomes of the bitmaps of the nodes involved, and QEMU's JobSTT.
 * The expected values are what real QEMU 7.2 printed for the same steps
 * (cases/commit-jobs.case, golden/commit-jobs.out).
 */
#include "sim/tests/sim_test.h"
#include "sim/sim_int.h"

#define MiB (1024ull * 1024)
#define CBASE "/tmp/blocksim/1000-base"
#define CMID "/tmp/blocksim/1000-mid"
#define CTOP "/tmp/blocksim/1000-top"

/* base (4 MiB of 0x11) <- mid (1 MiB of 0x22 at 1M) <- top (512 KiB of
 * 0x33 at 3M), each a blockdev-add node of its name; errs: blkdebug
 * inject-error rules under base ("" for none) */
static bs_backend *chain(const char *errs)
{
    bs_backend *b = vm_new();
    char *err = NULL;
    img_create(b, CBASE, 4 * MiB);
    assert_int_equal(b->ops->img_create(b, "qcow2", CMID, 4 * MiB, CBASE, "qcow2", &err), 0);
    assert_int_equal(b->ops->img_create(b, "qcow2", CTOP, 4 * MiB, CMID, "qcow2", &err), 0);
    /* the base's data first, where no blkdebug rule sees it */
    QMP_OK(b, "blockdev-add", "{\"driver\": \"qcow2\", \"node-name\": \"plain\", \"file\": "
           "{\"driver\": \"file\", \"filename\": \"" CBASE "\"}}");
    hmp(b, "plain", "write -P0x11 0 4M");
    QMP_OK(b, "blockdev-del", "{\"node-name\": \"plain\"}");
    if (*errs) {
        QMP_OK(b, "blockdev-add", "{\"driver\": \"qcow2\", \"node-name\": \"base\", \"file\": "
               "{\"driver\": \"blkdebug\", \"image\": {\"driver\": \"file\", \"filename\": \""
               CBASE "\"}, \"inject-error\": %s}}", errs);
    } else {
        QMP_OK(b, "blockdev-add", "{\"driver\": \"qcow2\", \"node-name\": \"base\", \"file\": "
               "{\"driver\": \"file\", \"filename\": \"" CBASE "\"}}");
    }
    /* each layer written before a layer above takes it as backing */
    QMP_OK(b, "blockdev-add", "{\"driver\": \"qcow2\", \"node-name\": \"mid\", \"file\": "
           "{\"driver\": \"file\", \"filename\": \"" CMID "\"}, \"backing\": \"base\"}");
    hmp(b, "mid", "write -P0x22 1M 1M");
    QMP_OK(b, "blockdev-add", "{\"driver\": \"qcow2\", \"node-name\": \"top\", \"file\": "
           "{\"driver\": \"file\", \"filename\": \"" CTOP "\"}, \"backing\": \"mid\"}");
    hmp(b, "top", "write -P0x33 3M 512k");
    return b;
}

/* The byte at off as a node reads it (the simulator's own read) */
static int byte_at(bs_backend *b, const char *node, uint64_t off)
{
    sim *s = (sim *)b;
    sim_node *n = node_find(s, node);
    uint8_t c = 0;
    if (!n || node_read(s, n, off, 1, &c) < 0) {
        return -1;
    }
    return c;
}

/* One member of query-block-jobs' first job, as text */
static const char *block_job_field(bs_backend *b, const char *key)
{
    static char out[128];
    json_object *r = qmp(b, "query-block-jobs", NULL), *list, *v;
    json_object_object_get_ex(r, "return", &list);
    json_object *j = json_object_array_get_idx(list, 0);
    snprintf(out, sizeof out, "%s", j && json_object_object_get_ex(j, key, &v)
             ? json_object_get_string(v) : "-");
    json_object_put(r);
    return out;
}

/* The node a node's backing link names, from query-named-block-nodes'
 * image (its backing-filename), "-" when none */
static const char *backing_filename(bs_backend *b, const char *node)
{
    static char out[256];
    json_object *r = qmp(b, "query-named-block-nodes", NULL), *list;
    json_object_object_get_ex(r, "return", &list);
    snprintf(out, sizeof out, "-");
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        json_object *n = json_object_array_get_idx(list, i), *nn, *img, *bf;
        json_object_object_get_ex(n, "node-name", &nn);
        if (!strcmp(json_object_get_string(nn), node) &&
            json_object_object_get_ex(n, "image", &img) &&
            json_object_object_get_ex(img, "backing-filename", &bf)) {
            snprintf(out, sizeof out, "%s", json_object_get_string(bf));
        }
    }
    json_object_put(r);
    return out;
}

static void test_job_stt_is_qemus(void **state)
{
    /* QEMU 7.2 job.c JobSTT, row by row: the allowed successors */
    static const char *const allowed[JS_NULL + 1] = {
        [JS_UNDEFINED] = "C", [JS_CREATED] = "RXN", [JS_RUNNING] = "PYWX",
        [JS_PAUSED] = "R", [JS_READY] = "SWX", [JS_STANDBY] = "Y", [JS_WAITING] = "DX",
        [JS_PENDING] = "XE", [JS_ABORTING] = "XE", [JS_CONCLUDED] = "N", [JS_NULL] = "",
    };
    static const char letters[] = "UCRPYSWDXEN";
    for (int from = 0; from <= JS_NULL; from++) {
        for (int to = 0; to <= JS_NULL; to++) {
            bool want = strchr(allowed[from], letters[to]) != NULL;
            if (job_transition_allowed((job_status)from, (job_status)to) != want) {
                fail_msg("JobSTT[%c][%c] should be %d", letters[from], letters[to], want);
            }
        }
    }
}

static void test_intermediate_events_progress_bitmaps(void **state)
{
    bs_backend *b = chain("");
    QMP_OK(b, "block-dirty-bitmap-add", "{\"node\": \"base\", \"name\": \"b-base\"}");
    QMP_OK(b, "block-dirty-bitmap-add", "{\"node\": \"mid\", \"name\": \"b-mid\"}");
    QMP_OK(b, "block-commit", "{\"job-id\": \"c\", \"device\": \"top\", \"top-node\": \"mid\"}");
    /* the job runs in the background: progress covers the whole top */
    assert_string_equal(block_job_field(b, "status"), "running");
    assert_string_equal(block_job_field(b, "len"), "4194304");
    assert_string_equal(drain_events(b),
                        "JOB_STATUS_CHANGE:created JOB_STATUS_CHANGE:running "
                        "JOB_STATUS_CHANGE:waiting JOB_STATUS_CHANGE:pending "
                        "BLOCK_JOB_COMPLETED JOB_STATUS_CHANGE:concluded JOB_STATUS_CHANGE:null");
    /* the base's bitmap saw the 1 MiB copied down; mid (still the
     * monitor's) kept its own; top's backing is now the base's image */
    assert_string_equal(bitmaps_of(b, "base"), "b-base:1048576:rec");
    assert_string_equal(bitmaps_of(b, "mid"), "b-mid:0:rec");
    assert_string_equal(backing_filename(b, "top"), CBASE);
    assert_int_equal(byte_at(b, "base", 1 * MiB), 0x22);
    assert_int_equal(byte_at(b, "base", 2 * MiB - 1), 0x22);
    assert_int_equal(byte_at(b, "base", 3 * MiB), 0x11);    /* top's data stays in top */
    assert_int_equal(byte_at(b, "top", 3 * MiB), 0x33);
    vm_free(b);
}

static void test_intermediate_rate_limit(void **state)
{
    bs_backend *b = chain("");
    QMP_OK(b, "block-commit", "{\"job-id\": \"c\", \"device\": \"top\", \"top-node\": \"mid\", "
           "\"speed\": 65536}");
    /* unallocated units cost no time; the first copied one (512 KiB at
     * 1 MiB) is followed by 8 seconds of sleep */
    assert_string_equal(block_job_field(b, "offset"), "1572864");
    assert_string_equal(block_job_field(b, "offset"), "1572864");
    sim *s = (sim *)b;
    uint64_t t0 = s->clock_ns;
    assert_string_equal(wait_event(b, "BLOCK_JOB_COMPLETED"),
                        "{\"device\":\"c\",\"len\":4194304,\"offset\":4194304,\"speed\":65536,"
                        "\"type\":\"commit\"}");
    /* two copied units of 512 KiB at 64 KiB/s: 8 s of sleep after each */
    uint64_t slept = s->clock_ns - t0;
    assert_true(slept >= 15900000000ull && slept <= 16100000000ull);
    drain_events(b);
    vm_free(b);
}

static void test_pause_ends_sleep_and_cancel(void **state)
{
    bs_backend *b = chain("");
    QMP_OK(b, "block-dirty-bitmap-add", "{\"node\": \"base\", \"name\": \"b-base\"}");
    QMP_OK(b, "block-commit", "{\"job-id\": \"c\", \"device\": \"top\", \"top-node\": \"mid\", "
           "\"speed\": 1}");
    assert_string_equal(block_job_field(b, "offset"), "1572864");
    QMP_ERR(b, "Job 'c' in state 'running' cannot accept command verb 'complete'",
            "block-job-complete", "{\"device\": \"c\"}");
    QMP_OK(b, "block-job-pause", "{\"device\": \"c\"}");
    assert_string_equal(block_job_field(b, "status"), "paused");
    /* the job's own BlockBackends and op blockers */
    QMP_ERR(b, "Node mid is in use", "blockdev-del", "{\"node-name\": \"mid\"}");
    QMP_ERR(b, "Node 'top' is busy: block device is in use by block job: commit",
            "blockdev-del", "{\"node-name\": \"top\"}");
    QMP_ERR(b, "Node 'top' is busy: block device is in use by block job: commit",
            "block-commit", "{\"job-id\": \"d\", \"device\": \"top\"}");
    /* resumed, it copies its next unit at once, then sleeps again */
    QMP_OK(b, "block-job-resume", "{\"device\": \"c\"}");
    assert_string_equal(block_job_field(b, "offset"), "2097152");
    QMP_OK(b, "block-job-cancel", "{\"device\": \"c\"}");
    assert_string_equal(wait_event(b, "BLOCK_JOB_CANCELLED"),
                        "{\"device\":\"c\",\"len\":4194304,\"offset\":2097152,\"speed\":1,"
                        "\"type\":\"commit\"}");
    /* nothing is undone, nothing is dropped: mid is still top's backing */
    assert_string_equal(bitmaps_of(b, "base"), "b-base:1048576:rec");
    assert_string_equal(backing_filename(b, "top"), CMID);
    vm_free(b);
}

static void test_negative_speed_makes_and_drops_the_job(void **state)
{
    bs_backend *b = chain("");
    QMP_ERR(b, "Parameter 'speed' expects a non-negative value", "block-commit",
            "{\"job-id\": \"c\", \"device\": \"top\", \"top-node\": \"mid\", \"speed\": -1}");
    assert_string_equal(drain_events(b), "JOB_STATUS_CHANGE:created JOB_STATUS_CHANGE:null");
    QMP_ERR(b, "cannot commit an image into itself", "block-commit",
            "{\"device\": \"top\", \"top-node\": \"base\", \"base-node\": \"base\"}");
    QMP_ERR(b, "'backing-file' specified, but 'top' is the active layer", "block-commit",
            "{\"job-id\": \"c\", \"device\": \"top\", \"backing-file\": \"x\"}");
    vm_free(b);
}

static void test_manual_finalize(void **state)
{
    bs_backend *b = chain("");
    QMP_OK(b, "block-commit", "{\"job-id\": \"c\", \"device\": \"top\", \"top-node\": \"mid\", "
           "\"auto-finalize\": false, \"auto-dismiss\": false}");
    assert_string_equal(drain_events(b),
                        "JOB_STATUS_CHANGE:created JOB_STATUS_CHANGE:running "
                        "JOB_STATUS_CHANGE:waiting JOB_STATUS_CHANGE:pending BLOCK_JOB_PENDING");
    /* nothing is dropped before job-finalize */
    assert_string_equal(backing_filename(b, "top"), CMID);
    QMP_OK(b, "job-finalize", "{\"id\": \"c\"}");
    assert_string_equal(drain_events(b), "BLOCK_JOB_COMPLETED JOB_STATUS_CHANGE:concluded");
    assert_string_equal(backing_filename(b, "top"), CBASE);
    QMP_OK(b, "job-dismiss", "{\"id\": \"c\"}");
    assert_string_equal(drain_events(b), "JOB_STATUS_CHANGE:null");
    vm_free(b);
}

static void test_on_error_policies(void **state)
{
    static const char *const pol[] = { "report", "stop", "ignore" };
    for (int i = 0; i < 3; i++) {
        bs_backend *b = chain("[{\"event\": \"write_aio\", \"errno\": 5, \"once\": true}]");
        QMP_OK(b, "block-commit", "{\"job-id\": \"e\", \"device\": \"top\", "
               "\"top-node\": \"mid\", \"on-error\": \"%s\"}", pol[i]);
        char want[128];
        snprintf(want, sizeof want, "{\"action\":\"%s\",\"device\":\"e\",\"operation\":\"write\"}",
                 pol[i]);
        assert_string_equal(wait_event(b, "BLOCK_JOB_ERROR"), want);
        if (i == 0) {
            /* reported: the job ends with the error, nothing dropped */
            assert_string_equal(wait_event(b, "BLOCK_JOB_COMPLETED"),
                                "{\"device\":\"e\",\"error\":\"Input/output error\","
                                "\"len\":4194304,\"offset\":1048576,\"speed\":0,"
                                "\"type\":\"commit\"}");
            assert_string_equal(backing_filename(b, "top"), CMID);
        } else {
            if (i == 1) {
                assert_string_equal(drain_events(b), "JOB_STATUS_CHANGE:paused");
                assert_string_equal(block_job_field(b, "io-status"), "failed");
                assert_string_equal(block_job_field(b, "offset"), "1048576");
                QMP_OK(b, "block-job-resume", "{\"device\": \"e\"}");
            }
            /* the failed unit is tried again and succeeds */
            assert_string_equal(wait_event(b, "BLOCK_JOB_COMPLETED"),
                                "{\"device\":\"e\",\"len\":4194304,\"offset\":4194304,"
                                "\"speed\":0,\"type\":\"commit\"}");
            assert_string_equal(backing_filename(b, "top"), CBASE);
        }
        drain_events(b);
        vm_free(b);
    }
}

static void test_read_error_in_source(void **state)
{
    bs_backend *b = vm_new();
    char *err = NULL;
    img_create(b, CBASE, 4 * MiB);
    assert_int_equal(b->ops->img_create(b, "qcow2", CMID, 4 * MiB, CBASE, "qcow2", &err), 0);
    assert_int_equal(b->ops->img_create(b, "qcow2", CTOP, 4 * MiB, CMID, "qcow2", &err), 0);
    QMP_OK(b, "blockdev-add", "{\"driver\": \"qcow2\", \"node-name\": \"base\", \"file\": "
           "{\"driver\": \"file\", \"filename\": \"" CBASE "\"}}");
    QMP_OK(b, "blockdev-add", "{\"driver\": \"qcow2\", \"node-name\": \"mid\", \"file\": "
           "{\"driver\": \"blkdebug\", \"image\": {\"driver\": \"file\", \"filename\": \"" CMID
           "\"}, \"inject-error\": [{\"event\": \"read_aio\", \"errno\": 5}]}, "
           "\"backing\": \"base\"}");
    hmp(b, "mid", "write -P0x22 0 64k");
    QMP_OK(b, "blockdev-add", "{\"driver\": \"qcow2\", \"node-name\": \"top\", \"file\": "
           "{\"driver\": \"file\", \"filename\": \"" CTOP "\"}, \"backing\": \"mid\"}");
    QMP_OK(b, "block-commit", "{\"job-id\": \"e\", \"device\": \"top\", \"top-node\": \"mid\"}");
    assert_string_equal(wait_event(b, "BLOCK_JOB_ERROR"),
                        "{\"action\":\"report\",\"device\":\"e\",\"operation\":\"read\"}");
    assert_string_equal(wait_event(b, "BLOCK_JOB_COMPLETED"),
                        "{\"device\":\"e\",\"error\":\"Input/output error\",\"len\":4194304,"
                        "\"offset\":0,\"speed\":0,\"type\":\"commit\"}");
    drain_events(b);
    vm_free(b);
}

/* the chain under drive0 (-drive with the backing chain from the images) */
static bs_backend *active_vm(void)
{
    char *err = NULL;
    bs_backend *b = bs_backend_sim_new(&err);
    assert_non_null(b);
    img_create(b, CBASE, 4 * MiB);
    assert_int_equal(b->ops->img_create(b, "qcow2", CTOP, 4 * MiB, CBASE, "qcow2", &err), 0);
    const char *argv[] = { "-drive", "if=none,id=drive0,file=" CTOP ",format=qcow2" };
    if (b->ops->launch_args(b, argv, 2, &err) < 0) {
        fail_msg("launch: %s", err);
    }
    hmp(b, "drive0", "write -P0x33 1M 1M");
    return b;
}

static const char *device_node(bs_backend *b)
{
    static char out[64];
    json_object *r = qmp(b, "query-block", NULL), *list, *ins, *v;
    json_object_object_get_ex(r, "return", &list);
    json_object_object_get_ex(json_object_array_get_idx(list, 0), "inserted", &ins);
    json_object_object_get_ex(ins, "file", &v);
    snprintf(out, sizeof out, "%s", json_object_get_string(v));
    json_object_put(r);
    return out;
}

static void test_active_dirty_after_ready_and_complete(void **state)
{
    bs_backend *b = active_vm();
    QMP_OK(b, "block-dirty-bitmap-add", "{\"node\": \"drive0\", \"name\": \"b-top\"}");
    QMP_OK(b, "block-commit", "{\"job-id\": \"a\", \"device\": \"drive0\"}");
    /* only what lies above the base is copied; the job's own bitmap is
     * not listed */
    assert_string_equal(wait_event(b, "BLOCK_JOB_READY"),
                        "{\"device\":\"a\",\"len\":1048576,\"offset\":1048576,\"speed\":0,"
                        "\"type\":\"commit\"}");
    assert_string_equal(drain_events(b), "");
    assert_string_equal(block_job_field(b, "ready"), "true");
    hmp(b, "drive0", "write -P0x44 0 64k");
    /* the guest's write is copied down while the job waits in READY */
    assert_string_equal(drain_events(b), "");
    assert_string_equal(block_job_field(b, "len"), "1114112");
    assert_string_equal(block_job_field(b, "offset"), "1114112");
    QMP_ERR(b, "Job 'a' in state 'ready' cannot accept command verb 'finalize'",
            "job-finalize", "{\"id\": \"a\"}");
    QMP_OK(b, "block-job-complete", "{\"device\": \"a\"}");
    assert_string_equal(drain_events(b),
                        "JOB_STATUS_CHANGE:waiting JOB_STATUS_CHANGE:pending "
                        "BLOCK_JOB_COMPLETED JOB_STATUS_CHANGE:concluded JOB_STATUS_CHANGE:null");
    /* the base took the top's place under drive0 */
    assert_string_equal(device_node(b), CBASE);
    sim *s = (sim *)b;
    sim_node *root = NULL;
    for (sim_node *n = s->nodes; n; n = n->next) {
        if (!strcmp(node_filename(n), CBASE) && n->drv == DRV_QCOW2) {
            root = n;
        }
    }
    assert_non_null(root);
    assert_int_equal(byte_at(b, root->name, 0), 0x44);
    assert_int_equal(byte_at(b, root->name, 64 * 1024), 0);
    assert_int_equal(byte_at(b, root->name, 1 * MiB), 0x33);
    vm_free(b);
}

static void test_active_cancel_soft_forced_and_early(void **state)
{
    bs_backend *b = active_vm();
    QMP_OK(b, "block-commit", "{\"job-id\": \"a\", \"device\": \"drive0\"}");
    wait_event(b, "BLOCK_JOB_READY");
    /* not forced in READY: the job completes, without the switch */
    QMP_OK(b, "block-job-cancel", "{\"device\": \"a\"}");
    QMP_ERR(b, "The active block job 'a' cannot be completed", "block-job-complete",
            "{\"device\": \"a\"}");
    assert_string_equal(drain_events(b),
                        "JOB_STATUS_CHANGE:waiting JOB_STATUS_CHANGE:pending "
                        "BLOCK_JOB_COMPLETED JOB_STATUS_CHANGE:concluded JOB_STATUS_CHANGE:null");
    assert_string_equal(device_node(b), CTOP);
    /* forced in READY: cancelled */
    QMP_OK(b, "block-commit", "{\"job-id\": \"a\", \"device\": \"drive0\"}");
    wait_event(b, "BLOCK_JOB_READY");
    QMP_OK(b, "block-job-cancel", "{\"device\": \"a\", \"force\": true}");
    assert_string_equal(drain_events(b),
                        "JOB_STATUS_CHANGE:aborting BLOCK_JOB_CANCELLED "
                        "JOB_STATUS_CHANGE:concluded JOB_STATUS_CHANGE:null");
    assert_string_equal(device_node(b), CTOP);
    /* before READY every cancel is forced */
    QMP_OK(b, "block-commit", "{\"job-id\": \"a\", \"device\": \"drive0\", \"speed\": 1}");
    assert_string_equal(block_job_field(b, "ready"), "false");
    QMP_OK(b, "block-job-cancel", "{\"device\": \"a\"}");
    assert_string_equal(wait_event(b, "BLOCK_JOB_CANCELLED"),
                        "{\"device\":\"a\",\"len\":1048576,\"offset\":1048576,\"speed\":1,"
                        "\"type\":\"commit\"}");
    drain_events(b);
    vm_free(b);
}

static void test_active_standby_while_paused(void **state)
{
    bs_backend *b = active_vm();
    QMP_OK(b, "block-commit", "{\"job-id\": \"a\", \"device\": \"drive0\"}");
    wait_event(b, "BLOCK_JOB_READY");
    drain_events(b);
    QMP_OK(b, "job-pause", "{\"id\": \"a\"}");
    assert_string_equal(drain_events(b), "JOB_STATUS_CHANGE:standby");
    /* a paused job is re-entered by the resume: complete is accepted now */
    QMP_OK(b, "job-complete", "{\"id\": \"a\"}");
    assert_string_equal(drain_events(b), "");
    QMP_OK(b, "job-resume", "{\"id\": \"a\"}");
    assert_string_equal(drain_events(b),
                        "JOB_STATUS_CHANGE:ready JOB_STATUS_CHANGE:waiting "
                        "JOB_STATUS_CHANGE:pending BLOCK_JOB_COMPLETED "
                        "JOB_STATUS_CHANGE:concluded JOB_STATUS_CHANGE:null");
    assert_string_equal(device_node(b), CBASE);
    vm_free(b);
}

/* events as "NAME" or "NAME:status" joined by spaces */
static const char *event_names(json_object *list)
{
    static char out[1024];
    out[0] = 0;
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        json_object *ev = json_object_array_get_idx(list, i), *n, *d, *st;
        json_object_object_get_ex(ev, "event", &n);
        json_object_object_get_ex(ev, "data", &d);
        char item[128];
        if (json_object_object_get_ex(d, "status", &st)) {
            snprintf(item, sizeof item, "%s%s:%s", i ? " " : "", json_object_get_string(n),
                     json_object_get_string(st));
        } else {
            snprintf(item, sizeof item, "%s%s", i ? " " : "", json_object_get_string(n));
        }
        strncat(out, item, sizeof out - strlen(out) - 1);
    }
    return out;
}

static void test_sleep_runs_due_units(void **state)
{
    bs_backend *b = chain("");
    char *err = NULL;
    QMP_OK(b, "block-commit", "{\"job-id\": \"c\", \"device\": \"top\", \"top-node\": \"mid\", "
           "\"speed\": 65536}");
    /* created, running: taken without running the machine; the job
     * sleeps 8 s after its first 1.5 MiB */
    for (json_object *ev; (ev = b->ops->next_event(b, 0, &err));) {
        json_object_put(ev);
    }
    assert_int_equal(b->ops->sleep(b, 7.0, &err), 0);
    assert_string_equal(block_job_field(b, "offset"), "1572864");
    assert_int_equal(b->ops->sleep(b, 2.0, &err), 0);
    assert_string_equal(block_job_field(b, "offset"), "2097152");
    vm_free(b);
}

static void test_quit_cancels_every_job(void **state)
{
    bs_backend *b = chain("");
    char *err = NULL;
    /* a rate-limited job, paused by the user, and a concluded one kept */
    QMP_OK(b, "block-commit", "{\"job-id\": \"c\", \"device\": \"top\", \"top-node\": \"mid\", "
           "\"speed\": 1}");
    QMP_OK(b, "block-job-pause", "{\"device\": \"c\"}");
    drain_events(b);
    json_object *list = b->ops->quit_events(b, &err);
    assert_non_null(list);
    assert_string_equal(event_names(list),
                        "SHUTDOWN JOB_STATUS_CHANGE:running JOB_STATUS_CHANGE:aborting "
                        "BLOCK_JOB_CANCELLED JOB_STATUS_CHANGE:concluded JOB_STATUS_CHANGE:null");
    json_object *cancelled = json_object_array_get_idx(list, 3), *d, *off;
    json_object_object_get_ex(cancelled, "data", &d);
    json_object_object_get_ex(d, "offset", &off);
    assert_int_equal(json_object_get_int64(off), 1572864);
    json_object_put(list);
    /* the VM is gone */
    json_object *r = b->ops->qmp(b, "query-jobs", NULL, &err);
    assert_null(r);
    free(err);
    b->ops->destroy(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_job_stt_is_qemus),
        cmocka_unit_test(test_intermediate_events_progress_bitmaps),
        cmocka_unit_test(test_intermediate_rate_limit),
        cmocka_unit_test(test_pause_ends_sleep_and_cancel),
        cmocka_unit_test(test_negative_speed_makes_and_drops_the_job),
        cmocka_unit_test(test_manual_finalize),
        cmocka_unit_test(test_on_error_policies),
        cmocka_unit_test(test_read_error_in_source),
        cmocka_unit_test(test_active_dirty_after_ready_and_complete),
        cmocka_unit_test(test_active_cancel_soft_forced_and_early),
        cmocka_unit_test(test_active_standby_while_paused),
        cmocka_unit_test(test_sleep_runs_due_units),
        cmocka_unit_test(test_quit_cancels_every_job),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
