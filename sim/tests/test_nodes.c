/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Nodes: blockdev-add/del, argument errors, listings, HMP, the VM life cycle. */
#include "sim/tests/sim_test.h"
#include "sim/sim_int.h"

#define MiB (1024ull * 1024)

static void test_command_errors(void **state)
{
    bs_backend *b = vm_new();
    json_object *r = qmp(b, "foo", NULL);
    assert_string_equal(reply_error(r), "The command foo has not been found");
    json_object *e;
    json_object_object_get_ex(r, "error", &e);
    json_object_object_get_ex(e, "class", &e);
    assert_string_equal(json_object_get_string(e), "CommandNotFound");
    json_object_put(r);
    QMP_ERR(b, "Capabilities negotiation is already complete, command ignored", "qmp_capabilities", NULL);
    QMP_ERR(b, "Parameter 'command-line' is missing", "human-monitor-command", "{}");
    QMP_ERR(b, "Invalid parameter type for 'bitmaps', expected: array", "block-dirty-bitmap-merge",
            "{\"node\": \"d\", \"target\": \"x\", \"bitmaps\": 5}");
    QMP_ERR(b, "Invalid parameter type for 'bitmaps[0]', expected: BlockDirtyBitmapOrStr",
            "block-dirty-bitmap-merge", "{\"node\": \"d\", \"target\": \"x\", \"bitmaps\": [5]}");
    QMP_ERR(b, "Parameter 'bitmaps[0].name' is missing", "block-dirty-bitmap-merge",
            "{\"node\": \"d\", \"target\": \"x\", \"bitmaps\": [{\"node\": \"d\"}]}");
    QMP_ERR(b, "Invalid parameter type for 'node', expected: string", "block-dirty-bitmap-add",
            "{\"node\": 1, \"name\": \"x\"}");
    QMP_ERR(b, "Invalid parameter type for 'node-name', expected: string", "blockdev-del", "{\"node-name\": null}");
    QMP_ERR(b, "Parameter 'granularity' expects uint32_t", "block-dirty-bitmap-add",
            "{\"node\": \"d\", \"name\": \"x\", \"granularity\": 4294967296}");
    r = qmp(b, "query-block", NULL);
    assert_string_equal(json_object_to_json_string(r), "{ \"return\": [ ] }");
    json_object_put(r);
    r = qmp(b, "query-block-jobs", NULL);
    json_object_put(r);
    char *err = NULL;
    json_object *args = json_object_new_array();
    r = b->ops->qmp(b, "query-jobs", args, &err);
    assert_string_equal(reply_error(r), "QMP input member 'arguments' must be an object");
    json_object_put(r);
    json_object_put(args);
    assert_int_equal(b->ops->shutdown(b, &err), 0);
    assert_null(b->ops->qmp(b, "query-jobs", NULL, &err));
    assert_non_null(err);
    free(err);
    b->ops->destroy(b);
}

static void test_blockdev_add_errors(void **state)
{
    bs_backend *b = vm_new();
    img_create(b, IMG, 4 * MiB);
    char *err = NULL;
    assert_int_equal(b->ops->img_create(b, "raw", "/tmp/blocksim/raw", 1 * MiB, NULL, NULL, &err), 0);
#define FILE_OPT "{\"driver\": \"file\", \"filename\": \"" IMG "\"}"
    QMP_ERR(b, "Parameter 'file.filename' is missing", "blockdev-add",
            "{\"driver\": \"qcow2\", \"node-name\": \"d\", \"file\": {\"driver\": \"file\"}}");
    QMP_ERR(b, "Parameter 'file' is missing", "blockdev-add", "{\"driver\": \"qcow2\", \"node-name\": \"d\"}");
    QMP_ERR(b, "Parameter 'driver' is missing", "blockdev-add", "{\"node-name\": \"d\"}");
    QMP_ERR(b, "Parameter 'driver' does not accept value 'bogus'", "blockdev-add", "{\"driver\": \"bogus\"}");
    QMP_ERR(b, "Parameter 'file.bogus' is unexpected", "blockdev-add",
            "{\"driver\": \"qcow2\", \"node-name\": \"d\", \"file\": {\"driver\": \"file\", "
            "\"filename\": \"x\", \"bogus\": 1}}");
    QMP_ERR(b, "Invalid parameter type for 'file.filename', expected: string", "blockdev-add",
            "{\"driver\": \"qcow2\", \"node-name\": \"d\", \"file\": {\"driver\": \"file\", \"filename\": 5}}");
    QMP_ERR(b, "Invalid parameter type for 'file', expected: BlockdevRef", "blockdev-add",
            "{\"driver\": \"qcow2\", \"node-name\": \"d\", \"file\": 5}");
    QMP_ERR(b, "Invalid parameter type for 'backing', expected: BlockdevRefOrNull", "blockdev-add",
            "{\"driver\": \"qcow2\", \"node-name\": \"d\", \"file\": \"x\", \"backing\": 5}");
    QMP_ERR(b, "Parameter 'file.inject-error[0].event' is missing", "blockdev-add",
            "{\"driver\": \"qcow2\", \"node-name\": \"d\", \"file\": {\"driver\": \"blkdebug\", "
            "\"image\": " FILE_OPT ", \"inject-error\": [{\"errno\": 5}]}}");
    QMP_ERR(b, "Parameter 'event' does not accept value 'nope'", "blockdev-add",
            "{\"driver\": \"qcow2\", \"node-name\": \"d\", \"file\": {\"driver\": \"blkdebug\", "
            "\"image\": " FILE_OPT ", \"inject-error\": [{\"event\": \"nope\"}]}}");
    QMP_ERR(b, "Parameter 'file.set-state[0].new_state' is missing", "blockdev-add",
            "{\"driver\": \"qcow2\", \"node-name\": \"d\", \"file\": {\"driver\": \"blkdebug\", "
            "\"image\": " FILE_OPT ", \"set-state\": [{\"event\": \"read_aio\", \"state\": 1}]}}");
    QMP_ERR(b, "Parameter 'file.set-state[0].new_state' is missing", "blockdev-add",
            "{\"driver\": \"qcow2\", \"node-name\": \"d\", \"file\": {\"driver\": \"blkdebug\", "
            "\"image\": " FILE_OPT ", \"set-state\": [{\"event\": \"read_aio\", \"new-state\": 2}]}}");
    QMP_ERR(b, "Invalid parameter type for 'file.set-state[0]', expected: object", "blockdev-add",
            "{\"driver\": \"qcow2\", \"node-name\": \"d\", \"file\": {\"driver\": \"blkdebug\", "
            "\"image\": " FILE_OPT ", \"set-state\": [1]}}");
    QMP_ERR(b, "Invalid parameter type for 'file.set-state', expected: array", "blockdev-add",
            "{\"driver\": \"qcow2\", \"node-name\": \"d\", \"file\": {\"driver\": \"blkdebug\", "
            "\"image\": " FILE_OPT ", \"set-state\": 1}}");
    QMP_ERR(b, "Invalid node-name: 'a b'", "blockdev-add",
            "{\"driver\": \"qcow2\", \"node-name\": \"a b\", \"file\": " FILE_OPT "}");
    QMP_ERR(b, "Node name too long", "blockdev-add",
            "{\"driver\": \"qcow2\", \"node-name\": \"a123456789012345678901234567890123\", \"file\": " FILE_OPT "}");
    QMP_ERR(b, "'node-name' must be specified for the root node", "blockdev-add",
            "{\"driver\": \"qcow2\", \"file\": " FILE_OPT "}");
    QMP_ERR(b, "Could not open '/tmp/blocksim/none': No such file or directory", "blockdev-add",
            "{\"driver\": \"file\", \"node-name\": \"f\", \"filename\": \"/tmp/blocksim/none\"}");
    QMP_ERR(b, "Cannot find device='nonode' nor node-name='nonode'", "blockdev-add",
            "{\"driver\": \"qcow2\", \"node-name\": \"d\", \"file\": \"nonode\"}");
    QMP_ERR(b, "Image is not in qcow2 format", "blockdev-add",
            "{\"driver\": \"qcow2\", \"node-name\": \"d\", \"file\": {\"driver\": \"file\", "
            "\"filename\": \"/tmp/blocksim/raw\"}}");
    QMP_ERR(b, "Driver 'vdi' is not modelled by the simulator", "blockdev-add",
            "{\"driver\": \"vdi\", \"node-name\": \"d\"}");
    QMP_OK(b, "blockdev-add", "{\"driver\": \"file\", \"node-name\": \"f1\", \"filename\": \"%s\", "
           "\"cache\": {\"direct\": false}, \"detect-zeroes\": \"off\", \"aio\": \"threads\"}", IMG);
    QMP_ERR(b, "Duplicate nodes with node-name='f1'", "blockdev-add",
            "{\"driver\": \"file\", \"node-name\": \"f1\", \"filename\": \"%s\"}", IMG);
    QMP_ERR(b, "Duplicate nodes with node-name='f1'", "blockdev-add",
            "{\"driver\": \"qcow2\", \"node-name\": \"f1\", \"file\": " FILE_OPT "}");
    QMP_ERR(b, "Duplicate nodes with node-name='f1'", "blockdev-add",
            "{\"driver\": \"raw\", \"node-name\": \"f1\", \"file\": " FILE_OPT "}");
    QMP_ERR(b, "Could not open backing file: Could not open '/tmp/blocksim/none': No such file or directory",
            "blockdev-add", "{\"driver\": \"qcow2\", \"node-name\": \"q\", \"file\": \"f1\", "
            "\"backing\": {\"driver\": \"file\", \"filename\": \"/tmp/blocksim/none\"}}");
    vm_free(b);
}

static int count_nodes(bs_backend *b)
{
    json_object *r = qmp(b, "query-named-block-nodes", "{\"flat\": true}"), *list;
    json_object_object_get_ex(r, "return", &list);
    int n = (int)json_object_array_length(list);
    json_object_put(r);
    return n;
}

static void test_add_del_listing(void **state)
{
    bs_backend *b = vm_new();
    add_drive(b, "drive0", IMG, 4 * MiB);
    json_object *r = qmp(b, "query-named-block-nodes", NULL), *list, *first, *v;
    json_object_object_get_ex(r, "return", &list);
    assert_int_equal(json_object_array_length(list), 2);
    /* newest first: the qcow2 node was named after its file child */
    first = json_object_array_get_idx(list, 0);
    json_object_object_get_ex(first, "node-name", &v);
    assert_string_equal(json_object_get_string(v), "drive0");
    json_object_object_get_ex(first, "drv", &v);
    assert_string_equal(json_object_get_string(v), "qcow2");
    assert_false(json_object_object_get_ex(first, "dirty-bitmaps", &v));
    json_object_object_get_ex(json_object_array_get_idx(list, 1), "node-name", &v);
    assert_int_equal(json_object_get_string(v)[0], '#');
    json_object_put(r);

    QMP_OK(b, "blockdev-add", "{\"driver\": \"file\", \"node-name\": \"f\", \"filename\": \"%s\"}", IMG);
    QMP_OK(b, "blockdev-add", "{\"driver\": \"raw\", \"node-name\": \"r\", \"file\": \"f\", \"offset\": 512, \"size\": 4096}");
    QMP_OK(b, "blockdev-add", "{\"driver\": \"raw\", \"node-name\": \"r2\", \"file\": \"f\"}");
    assert_int_equal(count_nodes(b), 5);
    QMP_ERR(b, "Block device f is in use", "blockdev-del", "{\"node-name\": \"f\"}");
    QMP_ERR(b, "Failed to find node with node-name='zz'", "blockdev-del", "{\"node-name\": \"zz\"}");
    r = qmp(b, "query-named-block-nodes", NULL);
    json_object_object_get_ex(r, "return", &list);
    const char *name = NULL;
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        json_object_object_get_ex(json_object_array_get_idx(list, i), "node-name", &v);
        if (json_object_get_string(v)[0] == '#') {
            name = json_object_get_string(v);
        }
    }
    char msg[128];
    snprintf(msg, sizeof msg, "Node %s is not owned by the monitor", name);
    QMP_ERR(b, msg, "blockdev-del", "{\"node-name\": \"%s\"}", name);
    json_object_put(r);
    QMP_OK(b, "blockdev-del", "{\"node-name\": \"r\"}");
    QMP_OK(b, "blockdev-del", "{\"node-name\": \"r2\"}");
    QMP_OK(b, "blockdev-del", "{\"node-name\": \"f\"}");
    QMP_OK(b, "blockdev-del", "{\"node-name\": \"drive0\"}");
    assert_int_equal(count_nodes(b), 0);
    vm_free(b);
}

static void test_two_formats_on_one_file(void **state)
{
    bs_backend *b = vm_new();
    img_create(b, IMG, 1 * MiB);
    QMP_OK(b, "blockdev-add", "{\"driver\": \"file\", \"node-name\": \"tf\", \"filename\": \"%s\"}", IMG);
    QMP_OK(b, "blockdev-add", "{\"driver\": \"qcow2\", \"node-name\": \"tgt\", \"file\": \"tf\"}");
    QMP_ERR(b, "Permission conflict on node 'tf': permissions 'write, resize' are both required by "
            "node 'tgt' (uses node 'tf' as 'file' child) and unshared by node 'tgt2' (uses node 'tf' "
            "as 'file' child).", "blockdev-add",
            "{\"driver\": \"qcow2\", \"node-name\": \"tgt2\", \"file\": \"tf\"}");
    vm_free(b);
}

static void test_hmp(void **state)
{
    bs_backend *b = vm_new();
    add_drive(b, "drive0", IMG, 4 * MiB);
    json_object *r = qmp(b, "human-monitor-command", "{\"command-line\": \"bogus 1\"}");
    assert_string_equal(json_object_to_json_string(r), "{ \"return\": \"unknown command: 'bogus'\\r\\n\" }");
    json_object_put(r);
    r = qmp(b, "human-monitor-command", "{\"command-line\": \"qemu-io drive0\"}");
    assert_non_null(strstr(json_object_to_json_string(r), "qemu-io: string expected"));
    json_object_put(r);
    r = qmp(b, "human-monitor-command", "{\"command-line\": \"\"}");
    json_object_put(r);
    /* -d names a device, not a node (real QEMU 7.2 says so too) */
    r = qmp(b, "human-monitor-command", "{\"command-line\": \"qemu-io -d drive0 flush\"}");
    assert_string_equal(json_object_to_json_string(r),
                        "{ \"return\": \"Error: Device 'drive0' not found\\r\\n\" }");
    json_object_put(r);
    assert_string_equal(hmp(b, "nonode", "write 0 64k"),
                        "Error: Cannot find device='' nor node-name='nonode'\r\n");
    assert_string_equal(hmp(b, "drive0", "bogus 0 64k"), "");
    assert_string_equal(hmp(b, "drive0", "write"), "");
    assert_string_equal(hmp(b, "drive0", "write 0 1x"), "");
    assert_string_equal(hmp(b, "drive0", "write 4M 512"), "");   /* past the end: EIO */
    assert_string_equal(hmp(b, "drive0", "write -P 0x33 1k 2k"), "");
    assert_string_equal(hmp(b, "drive0", "write -z 1M 64k"), "");
    assert_string_equal(hmp(b, "drive0", "w -P0x1 0x200000 512b"), "");
    assert_string_equal(hmp(b, "drive0", "read -P 0x33 1k 2k"), "");
    assert_string_equal(hmp(b, "drive0", "r 0 1g"), "");
    assert_string_equal(hmp(b, "drive0", "f"), "");
    /* the file child is protected by its qcow2 parent */
    r = qmp(b, "query-named-block-nodes", NULL);
    json_object *list, *v;
    json_object_object_get_ex(r, "return", &list);
    json_object_object_get_ex(json_object_array_get_idx(list, 1), "node-name", &v);
    char fname[64], want[512];
    snprintf(fname, sizeof fname, "%s", json_object_get_string(v));
    json_object_put(r);
    snprintf(want, sizeof want, "Permission conflict on node '%s': permissions 'write' are both "
             "required by an unnamed block device (uses node '%s' as 'root' child) and unshared "
             "by node 'drive0' (uses node '%s' as 'file' child).\r\n", fname, fname, fname);
    assert_string_equal(hmp(b, fname, "write 0 512"), want);
    vm_free(b);
}

static void test_relaunch_keeps_files(void **state)
{
    bs_backend *b = vm_new();
    char *err = NULL;
    add_drive(b, "drive0", IMG, 4 * MiB);
    hmp(b, "drive0", "write -P0x5 0 64k");
    QMP_OK(b, "block-dirty-bitmap-add", "{\"node\": \"drive0\", \"name\": \"p\", \"persistent\": true}");
    QMP_OK(b, "block-dirty-bitmap-add", "{\"node\": \"drive0\", \"name\": \"t\"}");
    hmp(b, "drive0", "write -P0x6 1M 64k");
    assert_int_equal(b->ops->launch(b, &err), 0);
    assert_int_equal(count_nodes(b), 0);
    QMP_OK(b, "blockdev-add", "{\"driver\": \"qcow2\", \"node-name\": \"drive0\", \"file\": "
           "{\"driver\": \"file\", \"filename\": \"%s\"}}", IMG);
    /* the persistent bitmap came back from the image, the other did not */
    assert_string_equal(bitmaps_of(b, "drive0"), "p:65536:rec");
    QMP_OK(b, "block-dirty-bitmap-remove", "{\"node\": \"drive0\", \"name\": \"p\"}");
    assert_int_equal(b->ops->shutdown(b, &err), 0);
    assert_int_equal(b->ops->launch(b, &err), 0);
    QMP_OK(b, "blockdev-add", "{\"driver\": \"qcow2\", \"node-name\": \"drive0\", \"file\": "
           "{\"driver\": \"file\", \"filename\": \"%s\"}}", IMG);
    assert_string_equal(bitmaps_of(b, "drive0"), "");
    vm_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_command_errors),
        cmocka_unit_test(test_blockdev_add_errors),
        cmocka_unit_test(test_add_del_listing),
        cmocka_unit_test(test_two_formats_on_one_file),
        cmocka_unit_test(test_hmp),
        cmocka_unit_test(test_relaunch_keeps_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
