/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The NBD client driver (sim/drv_nbd.c): connecting to the VM's own
 * exports and to qemu-nbd's, QEMU 7.2's connect errors, I/O through the
 * export, read-only exports, and what requests do when the server goes
 * away: wait for a reconnect within reconnect-delay on the virtual
 * clock, fail after it or without one, give up on a forced job cancel. */
#include <errno.h>

#include "sim/tests/sim_test.h"
#include "sim/sim_int.h"

#define NS 1000000000ull

typedef struct {
    bs_backend *b;
    char img[600], sock[600];
} fixture;

static sim *S(fixture *f)
{
    return (sim *)f->b;
}

/* A VM and a 1 MiB qcow2 image IMG with 0x5a at [0, 64k), not opened. */
static void setup(fixture *f)
{
    f->b = vm_new();
    snprintf(f->img, sizeof f->img, "%s/img", f->b->test_dir);
    snprintf(f->sock, sizeof f->sock, "%s/nbd.sock", f->b->test_dir);
    img_create(f->b, f->img, 1 << 20);
    QMP_OK(f->b, "blockdev-add", "{\"driver\": \"qcow2\", \"node-name\": \"w\", "
           "\"file\": {\"driver\": \"file\", \"filename\": \"%s\"}}", f->img);
    assert_string_equal(hmp(f->b, "w", "write -P0x5a 0 64k"), "");
    QMP_OK(f->b, "blockdev-del", "{\"node-name\": \"w\"}");
}

static void qemu_nbd(fixture *f, bool ro)
{
    char *err = NULL;
    char *argv[] = { "qemu-nbd", "-f", "qcow2", "-k", f->sock, f->img, ro ? "-r" : NULL, NULL };
    assert_int_equal(f->b->ops->qemu_nbd_start(f->b, argv, &err), 0);
}

static void teardown(fixture *f)
{
    f->b->ops->qemu_nbd_stop(f->b);
    vm_free(f->b);
}

static void add_client(fixture *f, const char *name, int delay)
{
    QMP_OK(f->b, "blockdev-add", "{\"driver\": \"nbd\", \"node-name\": \"%s\", "
           "\"server\": {\"type\": \"unix\", \"path\": \"%s\"}, \"reconnect-delay\": %d}",
           name, f->sock, delay);
}

static int rd(fixture *f, const char *name, int want)
{
    uint8_t buf[4096];
    int r = node_read(S(f), node_find(S(f), name), 0, sizeof buf, buf);
    if (r == 0) {
        assert_int_equal(buf[0], want);
        assert_int_equal(buf[4095], want);
    }
    return r;
}

/* Connect errors are QEMU 7.2's (asked of real QEMU); open-timeout
 * retries on the virtual clock, then reports the last attempt's error. */
static void test_connect_errors(void **state)
{
    fixture f;
    setup(&f);
    char want[800];
    snprintf(want, sizeof want, "Failed to connect to '%s': No such file or directory", f.sock);
    QMP_ERR(f.b, want, "blockdev-add", "{\"driver\": \"nbd\", \"node-name\": \"c\", "
            "\"server\": {\"type\": \"unix\", \"path\": \"%s\"}}", f.sock);
    uint64_t t0 = S(&f)->clock_ns;
    QMP_ERR(f.b, want, "blockdev-add", "{\"driver\": \"nbd\", \"node-name\": \"c\", "
            "\"server\": {\"type\": \"unix\", \"path\": \"%s\"}, \"open-timeout\": 2}", f.sock);
    assert_true(S(&f)->clock_ns - t0 >= 2 * NS);
    QMP_ERR(f.b, "Failed to connect to '127.0.0.1:1': Connection refused", "blockdev-add",
            "{\"driver\": \"nbd\", \"node-name\": \"c\", "
            "\"server\": {\"type\": \"inet\", \"host\": \"127.0.0.1\", \"port\": \"1\"}}");
    QMP_ERR(f.b, "Parameter 'server' is missing", "blockdev-add",
            "{\"driver\": \"nbd\", \"node-name\": \"c\"}");
    qemu_nbd(&f, false);
    QMP_ERR(f.b, "Requested export not available", "blockdev-add", "{\"driver\": \"nbd\", "
            "\"node-name\": \"c\", \"export\": \"zz\", "
            "\"server\": {\"type\": \"unix\", \"path\": \"%s\"}}", f.sock);
    assert_null(node_find(S(&f), "c"));
    teardown(&f);
}

/* Reads, writes, zeroes, flush and block status reach qemu-nbd's image;
 * the node's size is the export's. */
static void test_io_through_qemu_nbd(void **state)
{
    fixture f;
    setup(&f);
    qemu_nbd(&f, false);
    add_client(&f, "c", 0);
    sim_node *c = node_find(S(&f), "c");
    assert_string_equal(node_drv_name(c), "nbd");
    assert_int_equal(node_size(c), 1 << 20);
    assert_int_equal(rd(&f, "c", 0x5a), 0);
    assert_string_equal(hmp(f.b, "c", "write -P0x77 0 4k"), "");
    assert_int_equal(rd(&f, "c", 0x77), 0);
    assert_string_equal(hmp(f.b, "c", "write -z 0 4k"), "");
    assert_int_equal(rd(&f, "c", 0), 0);
    assert_string_equal(hmp(f.b, "c", "write -P0x31 0 4k"), "");
    assert_int_equal(node_flush(S(&f), c), 0);
    uint64_t pnum = 0;
    int st = node_block_status(S(&f), c, 512 * 1024, 64 * 1024, &pnum);
    assert_true(st >= 0 && !(st & CL_STATUS_DATA));     /* never written: a hole */
    st = node_block_status(S(&f), c, 0, 4096, &pnum);
    assert_true(st & CL_STATUS_DATA);
    QMP_OK(f.b, "blockdev-del", "{\"node-name\": \"c\"}");
    /* the data is in the image: a new server and client see it */
    qemu_nbd(&f, true);
    QMP_OK(f.b, "blockdev-add", "{\"driver\": \"nbd\", \"node-name\": \"r\", \"read-only\": true, "
           "\"server\": {\"type\": \"unix\", \"path\": \"%s\"}}", f.sock);
    assert_int_equal(rd(&f, "r", 0x31), 0);
    teardown(&f);
}

/* A read-only export: a read-write open fails as bdrv_open_driver
 * reports it; auto-read-only makes a read-only node. */
static void test_read_only_export(void **state)
{
    fixture f;
    setup(&f);
    qemu_nbd(&f, true);
    QMP_ERR(f.b, "Could not open image: Permission denied", "blockdev-add",
            "{\"driver\": \"nbd\", \"node-name\": \"c\", "
            "\"server\": {\"type\": \"unix\", \"path\": \"%s\"}}", f.sock);
    QMP_OK(f.b, "blockdev-add", "{\"driver\": \"nbd\", \"node-name\": \"c\", "
           "\"auto-read-only\": true, \"server\": {\"type\": \"unix\", \"path\": \"%s\"}}", f.sock);
    assert_true(node_find(S(&f), "c")->read_only);
    teardown(&f);
}

/* The VM's own export: a client node writes through it to the node. */
static void test_own_export(void **state)
{
    fixture f;
    setup(&f);
    QMP_OK(f.b, "blockdev-add", "{\"driver\": \"qcow2\", \"node-name\": \"src\", "
           "\"file\": {\"driver\": \"file\", \"filename\": \"%s\"}}", f.img);
    QMP_OK(f.b, "nbd-server-start", "{\"addr\": {\"type\": \"unix\", \"data\": {\"path\": \"%s\"}}}",
           f.sock);
    QMP_OK(f.b, "nbd-server-add", "{\"device\": \"src\", \"name\": \"e\", \"writable\": true}");
    QMP_OK(f.b, "blockdev-add", "{\"driver\": \"nbd\", \"node-name\": \"c\", \"export\": \"e\", "
           "\"server\": {\"type\": \"unix\", \"path\": \"%s\"}}", f.sock);
    assert_string_equal(hmp(f.b, "c", "write -P0x42 0 4k"), "");
    assert_int_equal(rd(&f, "src", 0x42), 0);
    /* the export goes: the connection is dead, no reconnect-delay: EIO */
    QMP_OK(f.b, "nbd-server-remove", "{\"name\": \"e\"}");
    assert_int_equal(rd(&f, "c", 0x42), -EIO);
    QMP_OK(f.b, "nbd-server-stop", NULL);
    teardown(&f);
}

/* Server gone, reconnect-delay 10: a request waits (BD_SUSPENDED) while
 * the connect thread tries at 0, 1, 3, 7 s...; a server back by then is
 * taken at the next attempt, and the request goes through. */
static void test_reconnect(void **state)
{
    fixture f;
    setup(&f);
    qemu_nbd(&f, false);
    add_client(&f, "c", 10);
    assert_int_equal(rd(&f, "c", 0x5a), 0);
    f.b->ops->qemu_nbd_stop(f.b);
    uint64_t t0 = S(&f)->clock_ns;
    assert_int_equal(rd(&f, "c", 0), BD_SUSPENDED);
    assert_int_equal(node_next_timer(S(&f)), t0 + 1 * NS);
    S(&f)->clock_ns = t0 + 1 * NS;
    assert_int_equal(rd(&f, "c", 0), BD_SUSPENDED);
    assert_int_equal(node_next_timer(S(&f)), t0 + 3 * NS);
    qemu_nbd(&f, false);
    S(&f)->clock_ns = t0 + 2 * NS;      /* before the next attempt: still waiting */
    assert_int_equal(rd(&f, "c", 0), BD_SUSPENDED);
    S(&f)->clock_ns = t0 + 3 * NS;
    assert_int_equal(rd(&f, "c", 0x5a), 0);
    assert_int_equal(node_next_timer(S(&f)), 0);
    teardown(&f);
}

/* The delay runs out: the waiting request fails with EIO, later ones at
 * once (CONNECTING_NOWAIT) until the thread has a connection: the
 * request that finds none starts an attempt but does not wait for it. */
static void test_reconnect_delay_expires(void **state)
{
    fixture f;
    setup(&f);
    qemu_nbd(&f, false);
    add_client(&f, "c", 2);
    f.b->ops->qemu_nbd_stop(f.b);
    uint64_t t0 = S(&f)->clock_ns;
    assert_int_equal(rd(&f, "c", 0), BD_SUSPENDED);
    S(&f)->clock_ns = t0 + 2 * NS;
    assert_int_equal(rd(&f, "c", 0), -EIO);
    assert_int_equal(rd(&f, "c", 0), -EIO);
    qemu_nbd(&f, false);
    S(&f)->clock_ns = t0 + 3 * NS;      /* the thread's attempt at 3 s connects */
    assert_int_equal(rd(&f, "c", 0x5a), 0);
    teardown(&f);
}

/* Without reconnect-delay a dead connection fails the request at once;
 * the next request starts a connect attempt and fails; then one goes. */
static void test_no_reconnect_delay(void **state)
{
    fixture f;
    setup(&f);
    qemu_nbd(&f, false);
    add_client(&f, "c", 0);
    qemu_nbd(&f, false);    /* a new server process: the old connection is dead */
    assert_int_equal(rd(&f, "c", 0), -EIO);
    assert_int_equal(rd(&f, "c", 0x5a), 0);
    teardown(&f);
}

/* A forced cancel of a backup whose target waits for a reconnect: the
 * target gives up (bdrv_cancel_in_flight through raw), the job ends
 * cancelled. */
static void test_backup_cancel_in_flight(void **state)
{
    fixture f;
    setup(&f);
    char src[700];
    snprintf(src, sizeof src, "%s/src", f.b->test_dir);
    add_drive(f.b, "drive0", src, 1 << 20);
    qemu_nbd(&f, false);
    QMP_OK(f.b, "blockdev-add", "{\"driver\": \"raw\", \"node-name\": \"t\", \"file\": "
           "{\"driver\": \"nbd\", \"node-name\": \"c\", \"reconnect-delay\": 10, "
           "\"server\": {\"type\": \"unix\", \"path\": \"%s\"}}}", f.sock);
    f.b->ops->qemu_nbd_stop(f.b);
    QMP_OK(f.b, "blockdev-backup", "{\"job-id\": \"drive0\", \"device\": \"drive0\", \"target\": \"t\", \"sync\": \"full\"}");
    char *err = NULL;
    assert_int_equal(f.b->ops->sleep(f.b, 0.5, &err), 0);
    json_object *r = qmp(f.b, "query-block-jobs", NULL);
    assert_int_equal(json_object_get_int64(json_object_object_get(
        json_object_array_get_idx(json_object_object_get(r, "return"), 0), "offset")), 0);
    json_object_put(r);
    QMP_OK(f.b, "block-job-cancel", "{\"device\": \"drive0\", \"force\": true}");
    wait_event(f.b, "BLOCK_JOB_CANCELLED");
    assert_int_equal(rd(&f, "c", 0), -EIO);     /* CONNECTING_NOWAIT now */
    teardown(&f);
}

/* A mirror whose NBD target waits for a reconnect makes no progress and
 * reports no error; once the server is back it copies everything and is
 * ready. */
static void test_mirror_waits_for_reconnect(void **state)
{
    fixture f;
    setup(&f);
    char src[700];
    snprintf(src, sizeof src, "%s/src", f.b->test_dir);
    add_drive(f.b, "drive0", src, 1 << 20);
    assert_string_equal(hmp(f.b, "drive0", "write -P0x66 0 1M"), "");
    qemu_nbd(&f, false);
    QMP_OK(f.b, "blockdev-add", "{\"driver\": \"raw\", \"node-name\": \"t\", \"file\": "
           "{\"driver\": \"nbd\", \"node-name\": \"c\", \"reconnect-delay\": 10, "
           "\"server\": {\"type\": \"unix\", \"path\": \"%s\"}}}", f.sock);
    f.b->ops->qemu_nbd_stop(f.b);
    QMP_OK(f.b, "blockdev-mirror", "{\"job-id\": \"m\", \"device\": \"drive0\", "
           "\"target\": \"t\", \"sync\": \"full\"}");
    char *err = NULL;
    assert_int_equal(f.b->ops->sleep(f.b, 0.5, &err), 0);
    json_object *r = qmp(f.b, "query-block-jobs", NULL);
    json_object *j0 = json_object_array_get_idx(json_object_object_get(r, "return"), 0);
    assert_non_null(j0);
    assert_int_equal(json_object_get_int64(json_object_object_get(j0, "offset")), 0);
    assert_string_equal(json_object_get_string(json_object_object_get(j0, "status")), "running");
    json_object_put(r);
    qemu_nbd(&f, false);
    wait_event(f.b, "BLOCK_JOB_READY");
    QMP_OK(f.b, "block-job-cancel", "{\"device\": \"m\"}");
    wait_event(f.b, "BLOCK_JOB_COMPLETED");
    assert_int_equal(rd(&f, "c", 0x66), 0);
    teardown(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connect_errors),
        cmocka_unit_test(test_io_through_qemu_nbd),
        cmocka_unit_test(test_read_only_export),
        cmocka_unit_test(test_own_export),
        cmocka_unit_test(test_reconnect),
        cmocka_unit_test(test_reconnect_delay_expires),
        cmocka_unit_test(test_no_reconnect_delay),
        cmocka_unit_test(test_backup_cancel_in_flight),
        cmocka_unit_test(test_mirror_waits_for_reconnect),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
