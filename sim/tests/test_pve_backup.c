/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The Proxmox VMA backup (sim/pve_backup.c) is point in time: whatever the
 * guest writes while the device jobs run, every device extracted from the
 * archive holds what it held when `backup` returned.
 *
 * 200 seeded runs, each a random schedule: three qcow2 devices of random
 * sizes (1-4 MiB, some ending inside a cluster) with random data, a
 * `backup` of all three, then guest writes (HMP qemu-io) interleaved at
 * random with units of virtual work (jobs_tick, one engine step of one
 * device each) and with next_event, polling query-backup until it is no
 * longer active. The archive is read back with lib/vma's reader and each
 * device compared with this test's own byte model of the disks at backup
 * start. A failing run prints its seed.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <unistd.h>

#include "sim/tests/sim_test.h"
#include "sim/sim_int.h"
#include "vma/vma.h"

#define RUNS 200
#define NDEV 3
#define KiB 1024ull
#define MiB (1024ull * 1024)

typedef struct rng {
    uint64_t x;
} rng;

static uint64_t rnd(rng *r)
{
    uint64_t z = (r->x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* uniform in [lo, hi] */
static uint64_t rnd_in(rng *r, uint64_t lo, uint64_t hi)
{
    return lo + rnd(r) % (hi - lo + 1);
}

typedef struct disk {
    char node[8];
    uint64_t size;
    uint8_t *now;       /* what the guest sees */
    uint8_t *start;     /* as it was when `backup` returned */
} disk;

static sim *sim_of(bs_backend *b)
{
    return (sim *)((char *)b - offsetof(sim, base));
}

/* A guest write through HMP qemu-io, mirrored in the model. Offsets and
 * lengths in 512-byte sectors, so writes straddle clusters and blocks. */
static void guest_write(bs_backend *b, rng *r, disk *d)
{
    uint64_t sectors = d->size / 512;
    uint64_t off = rnd_in(r, 0, sectors - 1) * 512;
    uint64_t maxlen = d->size - off < 256 * KiB ? d->size - off : 256 * KiB;
    uint64_t len = rnd_in(r, 1, maxlen / 512) * 512;
    unsigned pat = (unsigned)rnd_in(r, 0, 255);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "write -P0x%02x 0x%llx 0x%llx", pat, (unsigned long long)off,
             (unsigned long long)len);
    const char *reply = hmp(b, d->node, cmd);
    if (reply[0]) {
        fail_msg("%s %s: %s", d->node, cmd, reply);
    }
    memset(d->now + off, (int)pat, len);
}

/* query-backup's status ("active", "done", "error"); errmsg copied out. */
static void backup_status(bs_backend *b, char *status, size_t scap, char *errmsg, size_t ecap)
{
    json_object *r = qmp(b, "query-backup", NULL), *ret, *v;
    assert_true(json_object_object_get_ex(r, "return", &ret));
    snprintf(status, scap, "%s", json_object_object_get_ex(ret, "status", &v) ?
             json_object_get_string(v) : "");
    snprintf(errmsg, ecap, "%s", json_object_object_get_ex(ret, "errmsg", &v) ?
             json_object_get_string(v) : "");
    json_object_put(r);
}

/* Restore every device of the archive into scratch files and compare each
 * with its snapshot; the archive must hold exactly our three devices. */
static void check_archive(const char *dir, const char *archive, disk *disks, uint64_t seed)
{
    vma_error err = { 0, "" };
    vma_reader *r = vma_reader_open(archive, &err);
    if (!r) {
        fail_msg("seed %llu: %s", (unsigned long long)seed, err.msg);
    }
    assert_int_equal(vma_reader_device_count(r), NDEV);
    assert_int_equal(vma_reader_vmstate_id(r), 0);
    int fds[NDEV];
    for (unsigned i = 0; i < NDEV; i++) {
        const vma_device_info *di = vma_reader_device(r, i + 1);
        assert_non_null(di);
        assert_string_equal(di->name, disks[i].node);
        assert_int_equal(di->size, disks[i].size);
        char path[512];
        snprintf(path, sizeof path, "%s/restore-%u-XXXXXX", dir, i);
        fds[i] = mkstemp(path);
        assert_true(fds[i] >= 0);
        unlink(path);
        if (vma_reader_set_target(r, i + 1, fds[i], 0, &err) < 0) {
            fail_msg("seed %llu: %s", (unsigned long long)seed, err.msg);
        }
    }
    if (vma_reader_restore(r, &err) < 0) {
        fail_msg("seed %llu: restore: %s", (unsigned long long)seed, err.msg);
    }
    vma_reader_free(r);
    for (unsigned i = 0; i < NDEV; i++) {
        disk *d = &disks[i];
        uint8_t *got = malloc(d->size);
        assert_non_null(got);
        assert_int_equal(lseek(fds[i], 0, SEEK_END), (off_t)d->size);
        assert_int_equal(pread(fds[i], got, d->size, 0), (ssize_t)d->size);
        close(fds[i]);
        for (uint64_t k = memcmp(got, d->start, d->size) ? 0 : d->size; k < d->size; k++) {
            if (got[k] != d->start[k]) {
                unsigned have = got[k];
                free(got);
                fail_msg("seed %llu: %s differs at 0x%llx: archive 0x%02x, at backup start "
                         "0x%02x (now 0x%02x)", (unsigned long long)seed, d->node,
                         (unsigned long long)k, have, d->start[k], d->now[k]);
            }
        }
        free(got);
    }
}

/* One seeded run; returns how many guest writes landed while it ran. */
static unsigned one_run(uint64_t seed)
{
    rng r = { seed * 0x2545f4914f6cdd1dull + 1 };
    bs_backend *b = vm_new();
    bs_backend_sim_set_seed(b, seed);
    disk disks[NDEV];
    for (unsigned i = 0; i < NDEV; i++) {
        disk *d = &disks[i];
        snprintf(d->node, sizeof d->node, "d%u", i);
        d->size = rnd_in(&r, 1, 4) * MiB;
        if (rnd(&r) % 3 == 0) {
            d->size -= rnd_in(&r, 1, 255) * 512;    /* a partial last cluster */
        }
        d->now = calloc(1, d->size);
        d->start = malloc(d->size);
        assert_non_null(d->now);
        assert_non_null(d->start);
        char img[512];
        snprintf(img, sizeof img, "%s/1000-img%u", b->test_dir, i);
        add_drive(b, d->node, img, d->size);
        for (uint64_t n = rnd_in(&r, 0, 8); n; n--) {
            guest_write(b, &r, d);
        }
    }

    char archive[512];
    snprintf(archive, sizeof archive, "%s/1000-archive.vma", b->test_dir);
    QMP_OK(b, "backup", "{\"backup-file\": \"%s\", \"devlist\": \"d0,d1,d2\"}", archive);
    for (unsigned i = 0; i < NDEV; i++) {
        memcpy(disks[i].start, disks[i].now, disks[i].size);
    }

    char status[32], errmsg[512];
    unsigned during = 0;
    for (;;) {
        backup_status(b, status, sizeof status, errmsg, sizeof errmsg);
        if (strcmp(status, "active")) {
            break;
        }
        uint64_t what = rnd(&r) % 16;
        if (what < 7) {
            guest_write(b, &r, &disks[rnd(&r) % NDEV]);
            during++;
        } else if (what < 15) {
            for (uint64_t n = rnd_in(&r, 1, 3); n; n--) {
                jobs_tick(sim_of(b));
            }
        } else {
            json_object *ev = next_ev(b);   /* runs to the next event */
            json_object_put(ev);
        }
    }
    if (strcmp(status, "done") || errmsg[0]) {
        fail_msg("seed %llu: backup ended '%s': %s", (unsigned long long)seed, status, errmsg);
    }
    drain_events(b);

    check_archive(b->test_dir, archive, disks, seed);
    unlink(archive);
    for (unsigned i = 0; i < NDEV; i++) {
        free(disks[i].now);
        free(disks[i].start);
    }
    vm_free(b);
    return during;
}

static void test_point_in_time_random_writes(void **state)
{
    unsigned during = 0;
    for (uint64_t seed = 0; seed < RUNS; seed++) {
        during += one_run(seed);
    }
    /* the schedules did write while backups ran (not a vacuous pass) */
    assert_true(during > RUNS * 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_point_in_time_random_writes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
