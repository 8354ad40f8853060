/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The VM's command line and guest devices (-blockdev, -device, qom-set of
 * a drive, HMP qemu-io -d, a backup filter taking the source's devices),
 * throttle groups and the throttle driver with cbw-timeout, and the errno
 * an NBD client sees. */
#include <errno.h>

#include "sim/tests/sim_test.h"
#include "sim/sim_int.h"
#include "sim/nbd.h"

#define MiB (1024ull * 1024)
#define KiB 1024ull
#define SRC "/tmp/blocksim/1000-src"
#define TMP "/tmp/blocksim/1000-tmp"

static sim_node *node(bs_backend *b, const char *name)
{
    sim_node *n = node_find((sim *)b, name);
    assert_non_null(n);
    return n;
}

static int launch(bs_backend *b, char **err, const char *const *argv, size_t n)
{
    return b->ops->launch_args(b, argv, n, err);
}

/* A VM whose scsi-hd sda sits on node source (a 4 MiB qcow2). */
static bs_backend *vm_with_disk(void)
{
    char *err = NULL;
    bs_backend *b = bs_backend_sim_new(&err);
    assert_non_null(b);
    assert_int_equal(b->ops->launch(b, &err), 0);
    img_create(b, SRC, 4 * MiB);
    assert_int_equal(b->ops->shutdown(b, &err), 0);
    const char *argv[] = {
        "-machine", "pc", "-S",
        "-blockdev", "driver=qcow2,file.driver=file,file.filename=" SRC ",node-name=source",
        "-device", "virtio-scsi", "-device", "scsi-hd,id=sda,drive=source",
    };
    assert_int_equal(launch(b, &err, argv, sizeof argv / sizeof *argv), 0);
    return b;
}

static void test_command_line(void **state)
{
    bs_backend *b = vm_with_disk();
    char *err = NULL;
    assert_string_equal(node_drv_name(node(b, "source")), "qcow2");
    /* -blockdev is blockdev-add: the node belongs to the monitor */
    assert_true(node(b, "source")->monitor_owned);
    assert_non_null(device_find((sim *)b, "sda"));
    assert_non_null(device_find((sim *)b, "/machine/peripheral/sda"));
    assert_null(device_find((sim *)b, "sdb"));
    assert_int_equal(b->ops->shutdown(b, &err), 0);
    /* bad command lines fail the launch and leave no VM */
    const char *bad1[] = { "-device", "scsi-hd,id=sda,drive=nosuch" };
    assert_int_equal(launch(b, &err, bad1, 2), -1);
    assert_string_equal(err, "-device scsi-hd,id=sda,drive=nosuch: "
                        "Property 'scsi-hd.drive' can't find value 'nosuch'");
    free(err);
    err = NULL;
    const char *bad2[] = { "-blockdev", "driver=qcow2,file.driver=file,file.filename=/nope,node-name=x" };
    assert_int_equal(launch(b, &err, bad2, 2), -1);
    assert_non_null(strstr(err, "Could not open '/nope': No such file or directory"));
    free(err);
    err = NULL;
    const char *bad3[] = { "-blockdev", "driver" };
    assert_int_equal(launch(b, &err, bad3, 2), -1);
    assert_string_equal(err, "qemu-system-x86_64: -blockdev driver: Invalid parameter list");
    free(err);
    err = NULL;
    const char *bad4[] = { "-snapshot" };
    assert_int_equal(launch(b, &err, bad4, 1), -1);
    free(err);
    err = NULL;
    const char *bad5[] = { "-device" };
    assert_int_equal(launch(b, &err, bad5, 1), -1);
    free(err);
    err = NULL;
    assert_null(b->ops->qmp(b, "query-jobs", NULL, &err));
    free(err);
    b->ops->destroy(b);
}

/* Writes through the device go to its current node: qom-set moves it to a
 * copy-before-write filter and back (real QEMU's errors for bad paths,
 * properties and nodes). */
static void test_device_writes_and_qom_set(void **state)
{
    bs_backend *b = vm_with_disk();
    img_create(b, TMP, 4 * MiB);
    QMP_OK(b, "blockdev-add", "{\"driver\": \"qcow2\", \"node-name\": \"tmp\", "
           "\"file\": {\"driver\": \"file\", \"filename\": \"%s\"}, \"backing\": \"source\"}", TMP);
    assert_string_equal(hmp(b, "-d sda", "write -P0x11 0 64k"), "");
    assert_string_equal(hmp(b, "-d sdb", "write -P0x11 0 64k"), "Error: Device 'sdb' not found\r\n");
    QMP_ERR(b, "Node source is in use", "blockdev-del", "{\"node-name\": \"source\"}");
    QMP_OK(b, "blockdev-add", "{\"driver\": \"copy-before-write\", \"node-name\": \"fl-cbw\", "
           "\"file\": \"source\", \"target\": \"tmp\"}");
    QMP_ERR(b, "Device '/machine/peripheral/sdb' not found", "qom-set",
            "{\"path\": \"/machine/peripheral/sdb\", \"property\": \"drive\", \"value\": \"fl-cbw\"}");
    QMP_ERR(b, "Property 'scsi-hd.drivex' not found", "qom-set",
            "{\"path\": \"/machine/peripheral/sda\", \"property\": \"drivex\", \"value\": \"fl-cbw\"}");
    QMP_ERR(b, "Cannot find device='' nor node-name='nosuch'", "qom-set",
            "{\"path\": \"/machine/peripheral/sda\", \"property\": \"drive\", \"value\": \"nosuch\"}");
    QMP_OK(b, "qom-set", "{\"path\": \"/machine/peripheral/sda\", \"property\": \"drive\", "
           "\"value\": \"fl-cbw\"}");
    /* the guest now writes through the filter: the old data is copied */
    assert_string_equal(hmp(b, "-d /machine/peripheral/sda", "write -P0x22 0 64k"), "");
    uint8_t buf[512];
    assert_int_equal(node_read((sim *)b, node(b, "tmp"), 0, sizeof buf, buf), 0);
    assert_int_equal(buf[0], 0x11);
    assert_int_equal(node_read((sim *)b, node(b, "source"), 0, sizeof buf, buf), 0);
    assert_int_equal(buf[0], 0x22);
    /* with a user the filter unshares write on the source */
    assert_non_null(strstr(hmp(b, "source", "write 0 512"), "Permission conflict"));
    QMP_ERR(b, "Node fl-cbw is in use", "blockdev-del", "{\"node-name\": \"fl-cbw\"}");
    QMP_OK(b, "qom-set", "{\"path\": \"sda\", \"property\": \"drive\", \"value\": \"source\"}");
    QMP_OK(b, "blockdev-del", "{\"node-name\": \"fl-cbw\"}");
    vm_free(b);
}

/* blockdev-backup's filter takes the devices of its source while the job
 * runs (bdrv_cbw_append) and gives them back when it goes. */
static void test_backup_filter_takes_devices(void **state)
{
    bs_backend *b = vm_with_disk();
    img_create(b, TMP, 4 * MiB);
    QMP_OK(b, "blockdev-add", "{\"driver\": \"qcow2\", \"node-name\": \"tmp\", "
           "\"file\": {\"driver\": \"file\", \"filename\": \"%s\"}, \"backing\": \"source\"}", TMP);
    QMP_OK(b, "blockdev-backup", "{\"job-id\": \"fleecing\", \"device\": \"source\", "
           "\"target\": \"tmp\", \"sync\": \"none\", \"filter-node-name\": \"flt\"}");
    sim *s = (sim *)b;
    assert_ptr_equal(device_root(device_find(s, "sda")), node(b, "flt"));
    hmp(b, "-d sda", "write -P0x33 1M 64k");
    uint8_t buf[512];
    assert_int_equal(node_read(s, node(b, "tmp"), 1 * MiB, sizeof buf, buf), 0);
    assert_int_equal(buf[0], 0);
    assert_true(l2_get(node(b, "tmp")->q, 16) & Q2_ZERO);
    QMP_OK(b, "block-job-cancel", "{\"device\": \"fleecing\"}");
    wait_event(b, "BLOCK_JOB_CANCELLED");
    assert_ptr_equal(device_root(device_find(s, "sda")), node(b, "source"));
    vm_free(b);
}

/* util/throttle.c: a request passes while the bucket holds at most a tenth
 * of a second's worth; then it waits until the bucket has leaked down to
 * that, on the virtual clock. */
static void test_throttle(void **state)
{
    bs_backend *b = vm_new();
    sim *s = (sim *)b;
    img_create(b, TMP, 4 * MiB);
    QMP_ERR(b, "Throttle group 'g' does not exist", "blockdev-add",
            "{\"driver\": \"throttle\", \"node-name\": \"t\", \"throttle-group\": \"g\", "
            "\"file\": {\"driver\": \"file\", \"filename\": \"%s\"}}", TMP);
    QMP_ERR(b, "Parameter 'throttle-group' is missing", "blockdev-add",
            "{\"driver\": \"throttle\", \"node-name\": \"t\", "
            "\"file\": {\"driver\": \"file\", \"filename\": \"%s\"}}", TMP);
    QMP_ERR(b, "bps/iops/max total values and read/write values cannot be used at the same time",
            "object-add", "{\"qom-type\": \"throttle-group\", \"id\": \"g\", "
            "\"limits\": {\"bps-total\": 1, \"bps-write\": 1}}");
    QMP_ERR(b, "bps_max/iops_max cannot be lower than bps/iops", "object-add",
            "{\"qom-type\": \"throttle-group\", \"id\": \"g\", "
            "\"limits\": {\"bps-write\": 10, \"bps-write-max\": 1}}");
    QMP_ERR(b, "bps/iops/max values must be within [0, 1000000000000000]", "object-add",
            "{\"qom-type\": \"throttle-group\", \"id\": \"g\", \"limits\": {\"bps-write\": -1}}");
    QMP_ERR(b, "iops size requires an iops value to be set", "object-add",
            "{\"qom-type\": \"throttle-group\", \"id\": \"g\", \"limits\": {\"iops-size\": 4096}}");
    QMP_ERR(b, "Parameter 'limits.bps' is unexpected", "object-add",
            "{\"qom-type\": \"throttle-group\", \"id\": \"g\", \"limits\": {\"bps\": 1}}");
    QMP_OK(b, "object-add", "{\"qom-type\": \"throttle-group\", \"id\": \"g\", "
           "\"limits\": {\"bps-write\": 1048576}}");
    QMP_ERR(b, "attempt to add duplicate property 'g' to object (type 'container')",
            "object-add", "{\"qom-type\": \"throttle-group\", \"id\": \"g\"}");
    QMP_OK(b, "blockdev-add", "{\"driver\": \"throttle\", \"node-name\": \"t\", "
           "\"throttle-group\": \"g\", \"file\": {\"driver\": \"file\", \"filename\": \"%s\"}}",
           TMP);
    assert_string_equal(node_drv_name(node(b, "t")), "throttle");
    assert_int_equal(node_size(node(b, "t")), node_size(node(b, "t")->file));
    QMP_ERR(b, "object 'g' is in use, can not be deleted", "object-del", "{\"id\": \"g\"}");
    uint8_t *buf = calloc(1, 1 * MiB);
    uint64_t t0 = s->clock_ns;
    assert_int_equal(node_write(s, node(b, "t"), 0, 1 * MiB, buf, false), 0);
    assert_int_equal(s->clock_ns, t0);                  /* empty bucket: at once */
    assert_int_equal(node_read(s, node(b, "t"), 0, 1 * MiB, buf), 0);
    assert_int_equal(s->clock_ns, t0);                  /* reads are not limited */
    assert_int_equal(node_write(s, node(b, "t"), 0, 4096, buf, false), 0);
    /* 1 MiB - 1/10 s worth, at 1 MiB/s: 0.9 s */
    assert_int_equal(s->clock_ns - t0, 900000000);
    free(buf);
    QMP_OK(b, "blockdev-del", "{\"node-name\": \"t\"}");
    QMP_OK(b, "object-del", "{\"id\": \"g\"}");
    QMP_ERR(b, "object 'g' not found", "object-del", "{\"id\": \"g\"}");
    vm_free(b);
}

/* cbw-timeout: the second copy waits 1.6 s for the group, past 1 s. */
static void cbw_timeout(const char *mode, bool guest_fails)
{
    bs_backend *b = vm_new();
    sim *s = (sim *)b;
    img_create(b, SRC, 1 * MiB);
    img_create(b, TMP, 1 * MiB);
    QMP_OK(b, "object-add", "{\"qom-type\": \"throttle-group\", \"id\": \"group0\", "
           "\"limits\": {\"bps-write\": 307200}}");
    QMP_OK(b, "blockdev-add", "{\"node-name\": \"cbw\", \"driver\": \"copy-before-write\", "
           "\"on-cbw-error\": \"%s\", \"cbw-timeout\": 1, "
           "\"file\": {\"driver\": \"qcow2\", \"file\": {\"driver\": \"file\", \"filename\": \"%s\"}}, "
           "\"target\": {\"driver\": \"throttle\", \"throttle-group\": \"group0\", "
           "\"file\": {\"driver\": \"qcow2\", \"file\": {\"driver\": \"file\", "
           "\"filename\": \"%s\"}}}}", mode, SRC, TMP);
    QMP_OK(b, "blockdev-add", "{\"node-name\": \"access\", \"driver\": \"snapshot-access\", "
           "\"file\": \"cbw\"}");
    uint8_t *buf = malloc(512 * KiB);
    memset(buf, 0xcd, 512 * KiB);
    uint64_t t0 = s->clock_ns;
    assert_int_equal(node_write(s, node(b, "cbw"), 0, 512 * KiB, buf, false), 0);
    assert_int_equal(node_write(s, node(b, "cbw"), 512 * KiB, 512 * KiB, buf, false),
                     guest_fails ? -ETIMEDOUT : 0);
    assert_int_equal(s->clock_ns - t0, 1000000000);     /* the guest waited the timeout */
    assert_int_equal(node_read(s, node(b, "access"), 0, 512 * KiB, buf), guest_fails ? 0 : -EACCES);
    assert_int_equal(node_read(s, node(b, "access"), 512 * KiB, 512 * KiB, buf),
                     guest_fails ? 0 : -EACCES);
    /* access, then done: nothing of the timed-out range counts as done */
    assert_string_equal(bitmaps_of(b, "cbw"), "-:1048576:off,-:524288:off");
    free(buf);
    vm_free(b);
}

static void test_cbw_timeout_break_guest(void **state)
{
    cbw_timeout("break-guest-write", true);
}

static void test_cbw_timeout_break_snapshot(void **state)
{
    cbw_timeout("break-snapshot", false);
}

/* system_errno_to_nbd_errno, then nbd_errno_to_system_errno */
static void test_nbd_wire_errno(void **state)
{
    assert_int_equal(nbd_wire_errno(EACCES), EINVAL);
    assert_int_equal(nbd_wire_errno(EROFS), EPERM);
    assert_int_equal(nbd_wire_errno(EIO), EIO);
    assert_int_equal(nbd_wire_errno(EFBIG), ENOSPC);
    assert_int_equal(nbd_wire_errno(ENOTSUP), ENOTSUP);
    assert_int_equal(nbd_wire_errno(ETIMEDOUT), EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_command_line),
        cmocka_unit_test(test_device_writes_and_qom_set),
        cmocka_unit_test(test_backup_filter_takes_devices),
        cmocka_unit_test(test_throttle),
        cmocka_unit_test(test_cbw_timeout_break_guest),
        cmocka_unit_test(test_cbw_timeout_break_snapshot),
        cmocka_unit_test(test_nbd_wire_errno),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
