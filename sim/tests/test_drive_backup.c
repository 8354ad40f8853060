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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_drive_add),
        cmocka_unit_test(test_drive_backup_creates_target),
        cmocka_unit_test(test_drive_backup_errors),
        cmocka_unit_test(test_drive_backup_sync_none_backing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
