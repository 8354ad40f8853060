/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Paths of the Proxmox VMA backup (sim/pve_backup.c) no test reached
 * (mutation testing, issue 14). The `backup` command exists in no QEMU we
 * can run, so these hold the simulator to seed 003's rules: a backup
 * without devlist takes every top-level node and holds it until it ends;
 * a node it reads cannot be deleted; a rate-limited backup beside another
 * job that never ends on its own (sync=none) still finishes, on the
 * virtual clock.
 */
#include <signal.h>
#include <unistd.h>

#include "sim/tests/sim_test.h"
#include "sim/sim_int.h"

#define MiB (1024ull * 1024)

static char archive[512];

static sim *sim_of(bs_backend *b)
{
    return (sim *)((char *)b - offsetof(sim, base));
}

/* query-backup's "status". */
static const char *backup_status(bs_backend *b)
{
    static char out[64];
    json_object *r = qmp(b, "query-backup", NULL), *ret, *v;
    assert_true(json_object_object_get_ex(r, "return", &ret));
    assert_true(json_object_object_get_ex(ret, "status", &v));
    snprintf(out, sizeof out, "%s", json_object_get_string(v));
    json_object_put(r);
    return out;
}

static void run_to_end(bs_backend *b)
{
    for (int i = 0; i < 1000000 && !strcmp(backup_status(b), "active"); i++)
        jobs_tick(sim_of(b));
    assert_string_equal(backup_status(b), "done");
}

/* The same, driven the way a case drives it: by waiting for events. */
static void wait_to_end(bs_backend *b)
{
    for (int i = 0; i < 1000 && !strcmp(backup_status(b), "active"); i++) {
        json_object *ev = next_ev(b);
        json_object_put(ev);
    }
    assert_string_equal(backup_status(b), "done");
}

static bs_backend *two_drives(void)
{
    bs_backend *b = vm_new();
    char img[512];
    snprintf(img, sizeof img, "%s/1000-d0", b->test_dir);
    add_drive(b, "d0", img, 1 * MiB);
    snprintf(img, sizeof img, "%s/1000-d1", b->test_dir);
    add_drive(b, "d1", img, 1 * MiB);
    snprintf(archive, sizeof archive, "%s/1000-a.vma", b->test_dir);
    return b;
}

/* Without devlist every top-level node is backed up and held: neither can
 * be deleted while the backup runs; both can once it is done. */
static void test_no_devlist_holds_every_device(void **state)
{
    bs_backend *b = two_drives();
    QMP_OK(b, "backup", "{\"backup-file\": \"%s\"}", archive);
    QMP_ERR(b, "Node 'd0' is busy: block device is in use by block job: backup", "blockdev-del",
            "{\"node-name\": \"d0\"}");
    QMP_ERR(b, "Node 'd1' is busy: block device is in use by block job: backup", "blockdev-del",
            "{\"node-name\": \"d1\"}");
    run_to_end(b);
    drain_events(b);
    QMP_OK(b, "blockdev-del", "{\"node-name\": \"d0\"}");
    QMP_OK(b, "blockdev-del", "{\"node-name\": \"d1\"}");
    unlink(archive);
    vm_free(b);
}

/* With devlist only the named node is held; the other stays free. */
static void test_devlist_holds_only_its_devices(void **state)
{
    bs_backend *b = two_drives();
    QMP_OK(b, "backup", "{\"backup-file\": \"%s\", \"devlist\": \"d0\"}", archive);
    QMP_ERR(b, "Node 'd0' is busy: block device is in use by block job: backup", "blockdev-del",
            "{\"node-name\": \"d0\"}");
    QMP_OK(b, "blockdev-del", "{\"node-name\": \"d1\"}");
    run_to_end(b);
    drain_events(b);
    QMP_OK(b, "blockdev-del", "{\"node-name\": \"d0\"}");
    unlink(archive);
    vm_free(b);
}

static void hang(int sig)
{
    (void)sig;
    static const char msg[] = "test_gaps_pve: the rate-limited backup never finished\n";
    if (write(2, msg, sizeof msg - 1) < 0)
        _exit(2);
    _exit(1);
}

/* A rate-limited backup beside a sync=none job, which runs until it is
 * cancelled: time still passes for the backup, which ends in time with the
 * limit kept; the other job keeps running. An alarm turns a hang into a
 * failure. */
static void test_rate_limited_beside_sync_none(void **state)
{
    bs_backend *b = two_drives();
    char tgt[512];
    snprintf(tgt, sizeof tgt, "%s/1000-t", b->test_dir);
    make_target(b, "t", tgt, 1 * MiB);
    QMP_OK(b, "blockdev-backup", "{\"device\": \"d1\", \"target\": \"t\", \"sync\": \"none\", "
           "\"job-id\": \"k\"}");
    drain_events(b);
    signal(SIGALRM, hang);
    alarm(60);
    uint64_t t0 = sim_of(b)->clock_ns;
    QMP_OK(b, "backup", "{\"backup-file\": \"%s\", \"devlist\": \"d0\", \"speed\": 4194304}",
           archive);
    wait_to_end(b);
    alarm(0);
    /* 1 MiB at 4 MiB/s: at least 250 ms of virtual time */
    assert_true(sim_of(b)->clock_ns - t0 >= 250000000ull);
    json_object *r = qmp(b, "query-jobs", NULL);
    assert_non_null(strstr(json_object_to_json_string(r), "\"status\": \"running\""));
    json_object_put(r);
    QMP_OK(b, "block-job-cancel", "{\"device\": \"k\"}");
    drain_events(b);
    unlink(archive);
    vm_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_devlist_holds_every_device),
        cmocka_unit_test(test_devlist_holds_only_its_devices),
        cmocka_unit_test(test_rate_limited_beside_sync_none),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
