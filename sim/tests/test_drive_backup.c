/* SPDX-License-Identifier: GPL-2.0-or-later */
/* HMP drive_add (drive_add.c) and drive-backup (drive_backup.c): device
 * names, the job id that defaults to the device, target creation per
 * mode/format/sync, and QEMU 7.2's error texts. */
#include "sim/tests/sim_test.h"

#define MiB (1024ull * 1024)

static const char *hmp_line(bs_backend *b, const char *line)
{
    static char out[512];
    json_object *a = json_object_new_object();
    json_object_object_add(a, "command-line", json_object_new_string(line));
    char *err = NULL;
    json_object *r = b->ops->qmp(b, "human-monitor-command", a, &err), *ret;
    json_object_put(a);
    assert_true(json_object_object_get_ex(r, "return", &ret));
    snprintf(out, sizeof out, "%s", json_object_get_string(ret));
    json_object_put(r);
    return out;
}

static void test_drive_add(void **state)
{
    bs_backend *b = vm_new();
    img_create(b, IMG, 1 * MiB);
    assert_string_equal(hmp_line(b, "drive_add 0 if=none,id=drive0,file=" IMG ",node-name=src"),
                        "OK\r\n");
    assert_string_equal(hmp_line(b, "drive_add 0 if=none,id=drive0,file=" IMG),
                        "Duplicate ID 'drive0' for drive\r\n");
    assert_string_equal(hmp_line(b, "drive_add 0 if=none,id=drive1,file=/tmp/blocksim/none"),
                        "Could not open '/tmp/blocksim/none': No such file or directory\r\n");
    /* the device name and the node name both find the node */
    assert_string_equal(hmp(b, "drive0", "write -P0x11 0 64k"), "");
    QMP_OK(b, "block-dirty-bitmap-add", "{\"node\": \"drive0\", \"name\": \"b\"}");
    assert_string_equal(bitmaps_of(b, "src"), "b:0:rec");
    vm_free(b);
}

static void test_drive_backup_creates_target(void **state)
{
    bs_backend *b = vm_new();
    img_create(b, IMG, 1 * MiB);
    assert_string_equal(hmp_line(b, "drive_add 0 if=none,id=drive0,file=" IMG ",format=qcow2"),
                        "OK\r\n");
    hmp(b, "drive0", "write -P0x11 0 64k");
    /* no job-id: the job is named after the device */
    QMP_OK(b, "drive-backup", "{\"device\": \"drive0\", \"sync\": \"full\", \"target\": \"%s\"}", TGT);
    assert_string_equal(wait_event(b, "BLOCK_JOB_COMPLETED"),
                        "{\"device\":\"drive0\",\"len\":1048576,\"offset\":1048576,\"speed\":0,"
                        "\"type\":\"backup\"}");
    drain_events(b);
    /* the target node went away with the job */
    json_object *r = qmp(b, "query-named-block-nodes", NULL), *list;
    json_object_object_get_ex(r, "return", &list);
    assert_int_equal(json_object_array_length(list), 2);
    json_object_put(r);
    /* while a job runs, the device name finds its filter, which is busy */
    QMP_OK(b, "drive-backup", "{\"device\": \"drive0\", \"sync\": \"none\", \"target\": \"%s\"}", TGT);
    QMP_ERR(b, "Node 'drive0' is busy: block device is in use by block job: backup", "drive-backup",
            "{\"device\": \"drive0\", \"sync\": \"full\", \"target\": \"%s\", \"job-id\": \"k\"}", TGT);
    QMP_OK(b, "block-job-cancel", "{\"device\": \"drive0\"}");
    drain_events(b);
    char *err = NULL;
    assert_int_equal(b->ops->shutdown(b, &err), 0);
    assert_int_equal(b->ops->img_compare(b, IMG, TGT, &err), 0);
    b->ops->destroy(b);
}

static void test_drive_backup_errors(void **state)
{
    bs_backend *b = vm_new();
    add_drive(b, "drive0", IMG, 1 * MiB);
    QMP_ERR(b, "Cannot find device='nope' nor node-name='nope'", "drive-backup",
            "{\"device\": \"nope\", \"sync\": \"full\", \"target\": \"%s\"}", TGT);
    QMP_ERR(b, "Unknown file format 'spaghetti'", "drive-backup",
            "{\"device\": \"drive0\", \"sync\": \"full\", \"target\": \"%s\", \"format\": \"spaghetti\"}", TGT);
    QMP_ERR(b, "Could not open '/tmp/blocksim/none': No such file or directory", "drive-backup",
            "{\"device\": \"drive0\", \"sync\": \"full\", \"target\": \"/tmp/blocksim/none\", "
            "\"mode\": \"existing\"}");
    img_create(b, TGT, 1 * MiB);
    QMP_ERR(b, "Unknown driver 'spaghetti'", "drive-backup",
            "{\"device\": \"drive0\", \"sync\": \"full\", \"target\": \"%s\", \"format\": \"spaghetti\", "
            "\"mode\": \"existing\"}", TGT);
    /* a node without a BlockBackend has no device name to default to */
    QMP_ERR(b, "Invalid job ID ''", "drive-backup",
            "{\"device\": \"drive0\", \"sync\": \"full\", \"target\": \"%s\"}", TGT);
    QMP_ERR(b, "Parameter 'mode' does not accept value 'sideways'", "drive-backup",
            "{\"device\": \"drive0\", \"sync\": \"full\", \"target\": \"%s\", \"mode\": \"sideways\"}", TGT);
    /* the failed attempts left no target node behind */
    json_object *r = qmp(b, "query-named-block-nodes", NULL), *list;
    json_object_object_get_ex(r, "return", &list);
    assert_int_equal(json_object_array_length(list), 2);
    json_object_put(r);
    /* mode existing opens the image that is there */
    QMP_OK(b, "drive-backup", "{\"device\": \"drive0\", \"sync\": \"full\", \"target\": \"%s\", "
           "\"mode\": \"existing\", \"job-id\": \"j\"}", TGT);
    drain_events(b);
    vm_free(b);
}

static void test_drive_backup_sync_none_backing(void **state)
{
    bs_backend *b = vm_new();
    add_drive(b, "drive0", IMG, 1 * MiB);
    hmp(b, "drive0", "write -P0x11 0 64k");
    QMP_OK(b, "drive-backup", "{\"device\": \"drive0\", \"sync\": \"none\", \"target\": \"%s\", "
           "\"job-id\": \"j\"}", TGT);
    /* the target is created with the source as its backing file, and
     * opened with the source node as its backing */
    json_object *r = qmp(b, "query-named-block-nodes", NULL);
    const char *txt = json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    assert_non_null(strstr(txt, "\"backing_file\":\"" IMG "\""));
    json_object_put(r);
    QMP_OK(b, "job-cancel", "{\"id\": \"j\"}");
    drain_events(b);
    vm_free(b);
}

/* blkdebug breakpoints (blkdebug_break.c): a job's read held at one
 * makes no progress until remove_break; it is no I/O error */
static void test_blkdebug_breakpoints(void **state)
{
    bs_backend *b = vm_new();
    img_create(b, IMG, 1 * MiB);
    assert_string_equal(hmp_line(b, "drive_add 0 if=none,id=drive0,file=blkdebug::" IMG
                                    ",format=qcow2"), "OK\r\n");
    hmp(b, "drive0", "write -P0x11 0 1M");
    make_target(b, "tgt", TGT, 1 * MiB);
    assert_string_equal(hmp(b, "drive0", "break read_aio bp"), "");
    /* qemu-io's errors go to QEMU's stdout: the HMP reply is empty */
    assert_string_equal(hmp(b, "drive0", "break nonsense bp"), "");
    assert_string_equal(hmp(b, "tgt", "break read_aio bp"), "");
    QMP_OK(b, "blockdev-backup", "{\"device\": \"drive0\", \"target\": \"tgt\", \"sync\": \"full\"}");
    /* the job waits at the breakpoint: nothing can happen after its start */
    assert_string_equal(drain_events(b), "JOB_STATUS_CHANGE:created JOB_STATUS_CHANGE:running "
                        "JOB_STATUS_CHANGE:paused JOB_STATUS_CHANGE:running");
    json_object *r = qmp(b, "query-jobs", NULL);
    assert_non_null(strstr(json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN),
                           "\"current-progress\":0"));
    json_object_put(r);
    assert_string_equal(hmp(b, "drive0", "remove_break nope"), "");
    assert_string_equal(hmp(b, "drive0", "remove_break bp"), "");
    assert_string_equal(wait_event(b, "BLOCK_JOB_COMPLETED"),
                        "{\"device\":\"drive0\",\"len\":1048576,\"offset\":1048576,\"speed\":0,"
                        "\"type\":\"backup\"}");
    drain_events(b);
    vm_free(b);
}

/* driver=blkdebug over null-co:// (iotest 056's add_drive_raw), backed
 * up into a plain file (format "file") */
static void test_blkdebug_null_drive_to_file(void **state)
{
    bs_backend *b = vm_new();
    assert_string_equal(hmp_line(b, "drive_add 0 if=none,file=blkdebug::null-co://,id=drive0,"
                                    "align=65536,driver=blkdebug"), "OK\r\n");
    assert_string_equal(hmp_line(b, "drive_add 0 if=none,file=x,id=drive1,driver=vmdk"),
                        "the simulator models driver=blkdebug and throttle only, not 'vmdk'\r\n");
    json_object *r = qmp(b, "query-named-block-nodes", NULL);
    const char *txt = json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN);
    assert_non_null(strstr(txt, "\"drv\":\"blkdebug\""));
    assert_non_null(strstr(txt, "\"drv\":\"null-co\""));
    json_object_put(r);
    QMP_OK(b, "drive-backup", "{\"device\": \"drive0\", \"sync\": \"full\", \"target\": \"%s\", "
           "\"format\": \"file\", \"speed\": 1}", TGT);
    r = qmp(b, "query-block-jobs", NULL);
    assert_non_null(strstr(json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN),
                           "\"len\":1073741824"));
    json_object_put(r);
    QMP_OK(b, "block-job-cancel", "{\"device\": \"drive0\"}");
    assert_non_null(strstr(wait_event(b, "BLOCK_JOB_CANCELLED"), "\"device\":\"drive0\""));
    drain_events(b);
    vm_free(b);
}

/* QMP block_resize (resize.c): lookups, checks, a busy node */
static void test_qmp_block_resize(void **state)
{
    bs_backend *b = vm_new();
    add_drive(b, "drive0", IMG, 1 * MiB);
    make_target(b, "tgt", TGT, 1 * MiB);
    QMP_ERR(b, "Cannot find device='nope' nor node-name=''", "block_resize",
            "{\"device\": \"nope\", \"size\": 0}");
    QMP_ERR(b, "Parameter 'size' expects a >0 size", "block_resize",
            "{\"node-name\": \"drive0\", \"size\": -1}");
    QMP_OK(b, "block_resize", "{\"node-name\": \"drive0\", \"size\": 2097152}");
    json_object *r = qmp(b, "query-named-block-nodes", NULL);
    assert_non_null(strstr(json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN),
                           "\"virtual-size\":2097152"));
    json_object_put(r);
    QMP_OK(b, "block_resize", "{\"device\": \"tgt\", \"size\": 2097152}");
    QMP_OK(b, "blockdev-backup", "{\"device\": \"drive0\", \"target\": \"tgt\", \"sync\": \"none\", "
           "\"job-id\": \"j\"}");
    QMP_ERR(b, "Device '(null)' is in use", "block_resize", "{\"node-name\": \"tgt\", \"size\": 0}");
    json_object *rr = qmp(b, "block_resize", "{\"node-name\": \"drive0\", \"size\": 0}");
    assert_non_null(strstr(reply_error(rr), "Permission conflict on node 'drive0': permissions "
                           "'resize' are both required by an unnamed block device"));
    json_object_put(rr);
    QMP_OK(b, "job-cancel", "{\"id\": \"j\"}");
    drain_events(b);
    vm_free(b);
}

/* driver=throttle with dotted file.* options (drive.c), and stop/cont
 * (runstate.c): events without data; a job is not drained */
static void test_throttle_drive_and_stop(void **state)
{
    bs_backend *b = vm_new();
    img_create(b, IMG, 1 * MiB);
    QMP_OK(b, "object-add", "{\"qom-type\": \"throttle-group\", \"id\": \"tg0\", "
           "\"limits\": {\"bps-total\": 1024}}");
    assert_string_equal(hmp_line(b, "drive_add 0 if=none,id=drive0,driver=throttle,node-name=source,"
                                    "throttle-group=tg0,file.driver=qcow2,file.file.filename=" IMG),
                        "OK\r\n");
    json_object *r = qmp(b, "query-named-block-nodes", NULL);
    assert_non_null(strstr(json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN),
                           "\"drv\":\"throttle\""));
    json_object_put(r);
    QMP_OK(b, "drive-backup", "{\"device\": \"drive0\", \"target\": \"%s\", \"format\": \"qcow2\", "
           "\"sync\": \"full\"}", TGT);
    QMP_OK(b, "stop", NULL);
    QMP_OK(b, "stop", NULL);
    /* stop does not drain the job */
    r = qmp(b, "query-block-jobs", NULL);
    assert_non_null(strstr(json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN),
                           "\"status\":\"running\""));
    json_object_put(r);
    for (int i = 0; i < 4; i++) {       /* created, running, paused, running */
        json_object_put(next_ev(b));
    }
    json_object *ev = next_ev(b);
    assert_non_null(ev);
    assert_string_equal(json_object_get_string(json_object_object_get(ev, "event")), "STOP");
    assert_false(json_object_object_get_ex(ev, "data", NULL));
    json_object_put(ev);
    QMP_OK(b, "block-job-cancel", "{\"device\": \"drive0\"}");
    QMP_OK(b, "cont", NULL);
    /* one STOP for two stops, then the cancel, then RESUME */
    assert_string_equal(drain_events(b), "JOB_STATUS_CHANGE:aborting BLOCK_JOB_CANCELLED "
                        "JOB_STATUS_CHANGE:concluded JOB_STATUS_CHANGE:null RESUME");
    vm_free(b);
}

/* qemu-img create -o cluster_size / rebase -u through img_run
 * (qemu_img_create.c) */
static void test_qemu_img_create_and_rebase(void **state)
{
    bs_backend *b = vm_new();
    char *out = NULL, *err = NULL;
    const char *create[] = { "create", "-f", "qcow2", "-o", "cluster_size=128k", TGT, "64M" };
    assert_int_equal(b->ops->img_run(b, create, 7, &out, &err, NULL), 0);
    free(out);
    free(err);
    const char *bad[] = { "create", "-f", "qcow2", "-o", "cluster_size=3k", TGT, "64M" };
    assert_int_equal(b->ops->img_run(b, bad, 7, &out, &err, NULL), 1);
    assert_string_equal(err, "qemu-img: Cluster size must be a power of two between 512 and 2048k\n");
    free(out);
    free(err);
    img_create(b, IMG, 64 * MiB);
    const char *rebase[] = { "rebase", "-f", "qcow2", "-u", "-b", IMG, "-F", "qcow2", TGT };
    assert_int_equal(b->ops->img_run(b, rebase, 9, &out, &err, NULL), 0);
    free(out);
    free(err);
    QMP_OK(b, "blockdev-add", "{\"driver\": \"qcow2\", \"node-name\": \"t\", \"file\": "
           "{\"driver\": \"file\", \"filename\": \"%s\"}}", TGT);
    json_object *r = qmp(b, "query-named-block-nodes", NULL);
    const char *txt = json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN |
                                                     JSON_C_TO_STRING_NOSLASHESCAPE);
    assert_non_null(strstr(txt, "\"cluster-size\":131072"));
    assert_non_null(strstr(txt, "\"backing_file\":\"" IMG "\""));
    json_object_put(r);
    vm_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_drive_add),
        cmocka_unit_test(test_drive_backup_creates_target),
        cmocka_unit_test(test_drive_backup_errors),
        cmocka_unit_test(test_drive_backup_sync_none_backing),
        cmocka_unit_test(test_blkdebug_breakpoints),
        cmocka_unit_test(test_blkdebug_null_drive_to_file),
        cmocka_unit_test(test_qmp_block_resize),
        cmocka_unit_test(test_throttle_drive_and_stop),
        cmocka_unit_test(test_qemu_img_create_and_rebase),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
