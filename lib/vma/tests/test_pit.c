// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Point-in-time backups through the cluster engine, in the spirit of the
 * seed's backup-test: seeded "guest" writers modify the source images
 * through copy-before-write while the backup jobs step; the restored images
 * must equal the sources as they were when the backup started.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "vma/tests/vma_test_util.h"
#include "vma/vma_backup.h"

enum { NDEV = 3 };

typedef struct mem_source {
    uint8_t *live;            /* what the guest sees and changes */
    uint64_t size;
    int fail_read_at;         /* >0: the n-th read fails with -EIO */
    int reads;
} mem_source;

static int mem_read(void *opaque, uint64_t offset, uint64_t len, void *buf)
{
    mem_source *m = opaque;

    if (m->fail_read_at && ++m->reads == m->fail_read_at) {
        return -EIO;
    }
    assert_true(offset + len <= m->size);
    memcpy(buf, m->live + offset, len);
    return 0;
}

/* Report zero 64 KiB-aligned runs as ZERO so the engine's write_zeroes path
 * is used too. */
static int mem_block_status(void *opaque, uint64_t offset, uint64_t len, bool top_only,
                            uint64_t *pnum)
{
    mem_source *m = opaque;
    uint64_t end = offset + len > m->size ? m->size : offset + len;
    bool zero = vma_buffer_is_zero(m->live + offset, (size_t)(end - offset));

    (void)top_only;
    *pnum = end - offset;
    return zero ? CL_STATUS_ZERO : CL_STATUS_DATA | CL_STATUS_ALLOCATED;
}

typedef struct pit_result {
    bool identical;
    unsigned guest_writes;
} pit_result;

/* One backup run with seeded interleaving. use_cbw false is the negative
 * control: guest writes then leak into the backup. */
static pit_result run_pit(uint64_t seed, bool use_cbw, bool with_block_status)
{
    static const uint64_t sizes[NDEV] = { 3 * 1024 * 1024 + 777, 65536 * 9,
                                          1024 * 1024 + 1 };
    char *dir = tu_mkdtemp("pit");
    char *archive = tu_path(dir, "pit.vma");
    uint64_t rng = seed;
    mem_source src[NDEV];
    uint8_t *snapshot[NDEV];
    vma_backup *jobs[NDEV];
    unsigned ids[NDEV];
    bool done[NDEV] = { false };
    unsigned remaining = NDEV;
    vma_error err = { 0 };
    pit_result res = { true, 0 };
    vma_writer *w = vma_writer_create(archive, NULL, &err);

    assert_non_null(w);
    for (unsigned i = 0; i < NDEV; i++) {
        char name[16];
        cl_io io = { 0 };

        src[i] = (mem_source){ tu_image(sizes[i], 50, seed * 31 + i), sizes[i], 0, 0 };
        snapshot[i] = malloc(sizes[i]);
        memcpy(snapshot[i], src[i].live, sizes[i]);
        snprintf(name, sizeof(name), "drive%u", i);
        ids[i] = (unsigned)vma_writer_add_device(w, name, sizes[i], &err);
        io.opaque = &src[i];
        io.read = mem_read;
        io.block_status = with_block_status ? mem_block_status : NULL;
        jobs[i] = vma_backup_new(w, ids[i], sizes[i], &io, &err);
        assert_non_null(jobs[i]);
        /* Small tasks (1..4 clusters) give the guest many chances to race. */
        cl_copy_set_max_chunk(cl_backup_copy(vma_backup_job(jobs[i])),
                              VMA_CLUSTER_SIZE << (seed % 3));
    }

    while (remaining) {
        uint64_t dice = tu_rand(&rng) % 100;
        unsigned d = (unsigned)(tu_rand(&rng) % NDEV);

        if (dice < 45) {
            /* A guest write: random offset and length, often unaligned and
             * crossing clusters. */
            uint64_t len = 1 + tu_rand(&rng) % (3 * VMA_CLUSTER_SIZE);
            uint64_t off = tu_rand(&rng) % src[d].size;

            if (off + len > src[d].size) {
                len = src[d].size - off;
            }
            if (use_cbw) {
                assert_int_equal(vma_backup_before_write(jobs[d], off, len, &err), 0);
            }
            if (tu_rand(&rng) % 4 == 0) {
                memset(src[d].live + off, 0, len);    /* guest discards */
            } else {
                tu_fill_random(src[d].live + off, len, &rng);
            }
            res.guest_writes++;
        } else if (!done[d]) {
            int ret = vma_backup_step(jobs[d], &err);

            assert_true(ret >= 0);
            if (ret == 0) {
                done[d] = true;
                remaining--;
            }
        }
    }
    assert_int_equal(vma_writer_close(w, &err), 0);
    vma_writer_free(w);

    char *out = tu_path(dir, "out");
    mkdir(out, 0755);
    assert_int_equal(tu_restore_all(archive, out, &err), 0);
    for (unsigned i = 0; i < NDEV; i++) {
        char name[16];
        size_t len;

        snprintf(name, sizeof(name), "drive%u", i);
        char *p = tu_path(out, name);
        uint8_t *got = tu_read_file(p, &len);

        res.identical &= len == sizes[i] && memcmp(got, snapshot[i], len) == 0;
        free(got);
        free(p);
        vma_backup_free(jobs[i]);
        free(src[i].live);
        free(snapshot[i]);
    }
    tu_rmrf(dir);
    free(out);
    free(dir);
    free(archive);
    return res;
}

static void test_point_in_time_many_seeds(void **state)
{
    unsigned writes = 0;

    (void)state;
    for (uint64_t seed = 1; seed <= 60; seed++) {
        pit_result r = run_pit(seed, true, seed % 2 == 0);

        if (!r.identical) {
            fail_msg("seed %llu: restored image differs from the source at backup start",
                     (unsigned long long)seed);
        }
        writes += r.guest_writes;
    }
    assert_true(writes > 1000);
}

/* Without copy-before-write the same schedule must be caught differing:
 * the test above really exercises concurrent writes. */
static void test_negative_control(void **state)
{
    unsigned differing = 0;

    (void)state;
    for (uint64_t seed = 1; seed <= 10; seed++) {
        differing += !run_pit(seed, false, false).identical;
    }
    assert_true(differing >= 8);
}

static void test_source_read_failure(void **state)
{
    char *dir = tu_mkdtemp("pitfail");
    char *archive = tu_path(dir, "f.vma");
    vma_error err = { 0 };
    vma_writer *w = vma_writer_create(archive, NULL, &err);
    mem_source m = { tu_image(4 * VMA_CLUSTER_SIZE * 20, 100, 5), 4 * VMA_CLUSTER_SIZE * 20,
                     2, 0 };
    cl_io io = { .opaque = &m, .read = mem_read };
    int id = vma_writer_add_device(w, "d", m.size, &err);
    vma_backup *b = vma_backup_new(w, (unsigned)id, m.size, &io, &err);
    int ret;

    (void)state;
    assert_non_null(b);
    while ((ret = vma_backup_step(b, &err)) > 0) {
    }
    assert_true(ret < 0);
    assert_non_null(strstr(err.msg, "reading the source"));
    assert_true(vma_writer_close(w, &err) < 0);
    vma_backup_free(b);
    vma_writer_free(w);
    assert_false(tu_exists(archive));          /* failed archive removed */

    /* copy-before-write hits the failure too */
    w = vma_writer_create(archive, NULL, &err);
    id = vma_writer_add_device(w, "d", m.size, &err);
    m.reads = 0;
    m.fail_read_at = 1;
    b = vma_backup_new(w, (unsigned)id, m.size, &io, &err);
    assert_true(vma_backup_before_write(b, 100, 10, &err) < 0);
    assert_non_null(strstr(err.msg, "copy-before-write"));
    assert_true(vma_backup_before_write(b, m.size, 10, &err) < 0);
    assert_non_null(strstr(err.msg, "beyond the end"));
    vma_backup_free(b);
    vma_writer_free(w);
    assert_false(tu_exists(archive));

    free(m.live);
    tu_rmrf(dir);
    free(dir);
    free(archive);
}

static void test_archive_write_failure(void **state)
{
    int fd = open("/dev/full", O_WRONLY);
    vma_error err = { 0 };
    vma_writer *w;
    mem_source m = { tu_image(VMA_CLUSTER_SIZE * 200, 100, 6), VMA_CLUSTER_SIZE * 200,
                     0, 0 };
    cl_io io = { .opaque = &m, .read = mem_read };
    vma_backup *b;
    int ret;

    (void)state;
    if (fd < 0) {
        skip();
    }
    w = vma_writer_new_fd(fd, true, NULL, &err);
    b = vma_backup_new(w, (unsigned)vma_writer_add_device(w, "d", m.size, &err), m.size,
                       &io, &err);
    while ((ret = vma_backup_step(b, &err)) > 0) {
    }
    assert_true(ret < 0);
    assert_non_null(strstr(err.msg, "writing"));
    assert_non_null(strstr(err.msg, "No space left"));
    vma_backup_free(b);
    vma_writer_free(w);
    free(m.live);
}

static void test_backup_new_errors(void **state)
{
    vma_error err = { 0 };
    int fd = open("/dev/null", O_WRONLY);
    vma_writer *w = vma_writer_new_fd(fd, true, NULL, &err);
    mem_source m = { NULL, 4096, 0, 0 };
    cl_io io = { .opaque = &m, .read = mem_read };
    cl_io no_read = { 0 };
    int id = vma_writer_add_device(w, "d", 4096, &err);
    int vm = vma_writer_add_vmstate(w, 100, &err);

    (void)state;
    assert_null(vma_backup_new(w, 9, 4096, &io, &err));
    assert_non_null(strstr(err.msg, "not a device stream"));
    assert_null(vma_backup_new(w, (unsigned)vm, 4096, &io, &err));
    assert_null(vma_backup_new(w, (unsigned)id, 8192, &io, &err));
    assert_non_null(strstr(err.msg, "registered with 4096 bytes"));
    assert_null(vma_backup_new(w, (unsigned)id, 4096, &no_read, &err));
    assert_non_null(strstr(err.msg, "no read callback"));
    vma_writer_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_point_in_time_many_seeds),
        cmocka_unit_test(test_negative_control),
        cmocka_unit_test(test_source_read_failure),
        cmocka_unit_test(test_archive_write_failure),
        cmocka_unit_test(test_backup_new_errors),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
