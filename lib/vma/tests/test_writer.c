// SPDX-License-Identifier: GPL-2.0-or-later
/* Writer API contract: registration rules, cluster checks, sticky errors,
 * status counters, rate limit, O_EXCL and removal of failed archives. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "vma/tests/vma_test_util.h"
#include "vma/vma_int.h"

static char *workdir;

static int setup(void **state)
{
    (void)state;
    workdir = tu_mkdtemp("writer");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_rmrf(workdir);
    free(workdir);
    return 0;
}

static vma_writer *null_writer(void)
{
    int fd = open("/dev/null", O_WRONLY);
    vma_writer *w = vma_writer_new_fd(fd, true, NULL, NULL);

    assert_non_null(w);
    return w;
}

#define assert_msg(err, text) \
    do { \
        if (!strstr((err).msg, (text))) { \
            fail_msg("message '%s' lacks '%s'", (err).msg, (text)); \
        } \
    } while (0)

static void test_registration_rules(void **state)
{
    vma_writer *w = null_writer();
    vma_error err = { 0 };
    char big[VMA_MAX_BLOB_SIZE + 10];
    uint8_t cluster[VMA_CLUSTER_SIZE] = { 1 };

    (void)state;
    memset(big, 'n', sizeof(big));
    big[sizeof(big) - 1] = 0;
    assert_int_equal(vma_writer_add_device(w, "", 10, &err), -EINVAL);
    assert_msg(err, "empty");
    assert_int_equal(vma_writer_add_device(w, NULL, 10, &err), -EINVAL);
    assert_int_equal(vma_writer_add_device(w, big, 10, &err), -ENAMETOOLONG);
    assert_int_equal(vma_writer_add_device(w, "a/b", 10, &err), -EINVAL);
    assert_msg(err, "contains '/'");
    assert_int_equal(vma_writer_add_device(w, "vmstate", 10, &err), -EINVAL);
    assert_msg(err, "reserved");
    assert_int_equal(vma_writer_add_device(w, "zero", 0, &err), -EINVAL);
    assert_int_equal(vma_writer_add_device(w, "huge", 1ull << 60, &err), -EFBIG);
    assert_int_equal(vma_writer_add_device(w, "d", 100, &err), 1);
    assert_int_equal(vma_writer_add_device(w, "d", 100, &err), -EEXIST);
    assert_int_equal(vma_writer_add_vmstate(w, 0, &err), 2);
    assert_int_equal(vma_writer_add_vmstate(w, 0, &err), -EEXIST);

    assert_int_equal(vma_writer_add_config(w, "c", NULL, 5, &err), -EINVAL);
    assert_int_equal(vma_writer_add_config(w, "c", big, VMA_MAX_BLOB_SIZE + 1, &err),
                     -E2BIG);
    assert_int_equal(vma_writer_add_config(w, "c", "x", 1, &err), 0);
    assert_int_equal(vma_writer_add_config(w, "c", "y", 1, &err), -EEXIST);
    assert_int_equal(vma_writer_add_config(w, "big", big, VMA_MAX_BLOB_SIZE, &err), 0);
    /* A failed registration does not poison the writer. */
    assert_int_equal(vma_writer_error(w, &err), 0);

    assert_int_equal(vma_writer_write_cluster(w, 1, 0, cluster, 100, NULL, &err), 0);
    assert_int_equal(vma_writer_add_device(w, "late", 10, &err), -EBUSY);
    assert_msg(err, "after data has been written");
    assert_int_equal(vma_writer_add_config(w, "late", "x", 1, &err), -EBUSY);
    assert_int_equal(vma_writer_close(w, &err), 0);
    assert_int_equal(vma_writer_close(w, &err), 0);            /* idempotent */
    assert_int_equal(vma_writer_write_cluster(w, 1, 0, cluster, 100, NULL, &err),
                     -EPIPE);
    vma_writer_free(w);
    vma_writer_free(NULL);
}

static void test_cluster_checks_are_sticky(void **state)
{
    uint8_t cluster[VMA_CLUSTER_SIZE];
    vma_error err = { 0 };
    vma_writer *w;
    int d;

    (void)state;
    memset(cluster, 7, sizeof(cluster));

    struct {
        unsigned dev;
        uint64_t cluster;
        size_t len;
        const char *msg;
    } bad[] = {
        { 9, 0, VMA_CLUSTER_SIZE, "no stream with dev_id 9" },
        { 0, 0, VMA_CLUSTER_SIZE, "no stream with dev_id 0" },
        { 1, 3, VMA_CLUSTER_SIZE, "beyond the end" },
        { 1, 0, VMA_CLUSTER_SIZE + 1, "exceed the cluster size" },
        { 1, 2, 10, "needs 4464 bytes, got 10" },
        { 2, 1, 10, "vmstate cluster 1 out of order (expected 0)" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        w = null_writer();
        d = vma_writer_add_device(w, "d", 2 * VMA_CLUSTER_SIZE + 4464, &err);
        assert_int_equal(d, 1);
        assert_int_equal(vma_writer_add_vmstate(w, 10, &err), 2);
        assert_true(vma_writer_write_cluster(w, bad[i].dev, bad[i].cluster, cluster,
                                             bad[i].len, NULL, &err) < 0);
        assert_msg(err, bad[i].msg);
        /* Sticky: a valid write now fails with the same message. */
        memset(&err, 0, sizeof(err));
        assert_true(vma_writer_write_cluster(w, 1, 0, cluster, VMA_CLUSTER_SIZE, NULL,
                                             &err) < 0);
        assert_msg(err, bad[i].msg);
        assert_true(vma_writer_close(w, &err) < 0);
        assert_msg(err, bad[i].msg);
        vma_writer_free(w);
    }

    w = null_writer();
    vma_writer_add_device(w, "d", 2 * VMA_CLUSTER_SIZE, &err);
    assert_int_equal(vma_writer_write_cluster(w, 1, 1, cluster, VMA_CLUSTER_SIZE, NULL,
                                              &err), 0);
    assert_int_equal(vma_writer_write_cluster(w, 1, 1, cluster, VMA_CLUSTER_SIZE, NULL,
                                              &err), -EEXIST);
    assert_msg(err, "cluster 1 of 'd' written twice");
    vma_writer_free(w);

    /* Unaligned vma_writer_write(). */
    w = null_writer();
    vma_writer_add_device(w, "d", 2 * VMA_CLUSTER_SIZE, &err);
    assert_true(vma_writer_write(w, 1, 512, cluster, 512, &err) < 0);
    assert_msg(err, "not cluster-aligned");
    vma_writer_free(w);

    /* set_error poisons close; first error wins. */
    w = null_writer();
    vma_writer_add_device(w, "d", 100, &err);
    vma_writer_set_error(w, 0, "job %d failed", 3);
    vma_writer_set_error(w, -EPERM, "second");
    assert_int_equal(vma_writer_error(w, &err), -EIO);
    assert_msg(err, "job 3 failed");
    assert_int_equal(vma_writer_close(w, &err), -EIO);
    vma_writer_free(w);
}

static void test_incomplete_and_closed_streams(void **state)
{
    uint8_t cluster[VMA_CLUSTER_SIZE] = { 1 };
    vma_error err = { 0 };
    vma_writer *w = null_writer();

    (void)state;
    vma_writer_add_device(w, "a", 3 * VMA_CLUSTER_SIZE, &err);
    vma_writer_add_device(w, "b", VMA_CLUSTER_SIZE, &err);
    assert_int_equal(vma_writer_write_cluster(w, 2, 0, cluster, VMA_CLUSTER_SIZE, NULL,
                                              &err), 0);
    assert_int_equal(vma_writer_close_stream(w, 2, &err), 1);   /* "a" still open */
    assert_true(vma_writer_write_cluster(w, 2, 0, cluster, VMA_CLUSTER_SIZE, NULL,
                                         &err) < 0);
    assert_msg(err, "already closed");
    vma_writer_free(w);

    w = null_writer();
    vma_writer_add_device(w, "a", 3 * VMA_CLUSTER_SIZE, &err);
    vma_writer_write_cluster(w, 1, 0, cluster, VMA_CLUSTER_SIZE, NULL, &err);
    vma_writer_write_cluster(w, 1, 2, cluster, VMA_CLUSTER_SIZE, NULL, &err);
    assert_true(vma_writer_close(w, &err) < 0);
    assert_msg(err, "'a' (dev_id 1) is incomplete: 2 of 3 clusters written, cluster 1 "
               "is missing");
    vma_writer_free(w);

    /* No streams at all. */
    w = null_writer();
    assert_true(vma_writer_close(w, &err) < 0);
    assert_msg(err, "no streams");
    vma_writer_free(w);

    /* vmstate append without a vmstate stream. */
    w = null_writer();
    vma_writer_add_device(w, "a", 10, &err);
    assert_true(vma_writer_vmstate_append(w, "x", 1, &err) < 0);
    assert_msg(err, "no vmstate stream");
    vma_writer_free(w);
}

static void test_status_counters(void **state)
{
    uint8_t cluster[VMA_CLUSTER_SIZE];
    vma_error err = { 0 };
    vma_writer *w = null_writer();
    vma_stream_status st;
    size_t zero = 0;
    uint64_t size, done, zeros;
    uint8_t vm[100000];

    (void)state;
    memset(cluster, 0, sizeof(cluster));
    memset(cluster + 5 * VMA_BLOCK_SIZE, 0xaa, 10);         /* one data block */
    memset(vm, 3, sizeof(vm));
    vma_writer_add_device(w, "d", VMA_CLUSTER_SIZE + 5000, &err);
    vma_writer_add_vmstate(w, 4096, &err);
    assert_int_equal(vma_writer_write_cluster(w, 1, 0, cluster, VMA_CLUSTER_SIZE, &zero,
                                              &err), 0);
    assert_int_equal(zero, 15 * VMA_BLOCK_SIZE);
    /* Last cluster: 5000 bytes, given as a whole cluster (tail ignored). */
    memset(cluster, 0x55, sizeof(cluster));
    assert_int_equal(vma_writer_write_cluster(w, 1, 1, cluster, VMA_CLUSTER_SIZE, &zero,
                                              &err), 0);
    assert_int_equal(zero, 0);
    assert_true(vma_writer_stream_status(w, 1, &st));
    assert_string_equal(st.name, "d");
    assert_int_equal(st.size, VMA_CLUSTER_SIZE + 5000);
    assert_int_equal(st.transferred, VMA_CLUSTER_SIZE + 5000);
    assert_int_equal(st.zero_bytes, 15 * VMA_BLOCK_SIZE);
    assert_int_equal(st.clusters, 2);
    assert_false(st.closed);
    assert_false(vma_writer_stream_status(w, 3, &st));
    assert_null(st.name);
    assert_false(vma_writer_stream_status(w, 0, &st));

    assert_int_equal(vma_writer_vmstate_append(w, vm, sizeof(vm), &err), 0);
    assert_int_equal(vma_writer_close_stream(w, 2, &err), 1);
    assert_true(vma_writer_stream_status(w, 2, &st));
    assert_true(st.is_vmstate && st.closed);
    assert_int_equal(st.transferred, sizeof(vm));
    assert_int_equal(st.clusters, 2);
    vma_writer_total_status(w, &size, &done, &zeros);
    assert_int_equal(size, VMA_CLUSTER_SIZE + 5000 + sizeof(vm));
    assert_int_equal(done, size);
    assert_int_equal(zeros, 15 * VMA_BLOCK_SIZE);
    assert_int_equal(vma_writer_close(w, &err), 0);
    assert_true(vma_writer_bytes_written(w) > 12288);
    vma_writer_free(w);
}

typedef struct fake_clock {
    uint64_t now;
    uint64_t slept;
} fake_clock;

static uint64_t fake_now(void *opaque)
{
    return ((fake_clock *)opaque)->now;
}

static void fake_sleep(void *opaque, uint64_t ns)
{
    fake_clock *c = opaque;

    c->now += ns;
    c->slept += ns;
}

static void test_rate_limit(void **state)
{
    fake_clock clk = { 1000, 0 };
    uint8_t uuid[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
    vma_writer_options opts = { .uuid = uuid, .ctime = 1234567890, .speed = 10 << 20,
                                .now_ns = fake_now, .sleep_ns = fake_sleep,
                                .clock_opaque = &clk, .extent_clusters = 8 };
    int fd = open("/dev/null", O_WRONLY);
    vma_error err = { 0 };
    vma_writer *w = vma_writer_new_fd(fd, true, &opts, &err);
    uint8_t cluster[VMA_CLUSTER_SIZE];
    uint64_t s = 1;

    (void)state;
    assert_memory_equal(vma_writer_uuid(w), uuid, 16);
    vma_writer_add_device(w, "d", 160 * VMA_CLUSTER_SIZE, &err);
    for (unsigned c = 0; c < 160; c++) {
        tu_fill_random(cluster, sizeof(cluster), &s);
        assert_int_equal(vma_writer_write_cluster(w, 1, c, cluster, sizeof(cluster),
                                                  NULL, &err), 0);
    }
    assert_int_equal(vma_writer_close(w, &err), 0);
    /* 10 MiB of data at 10 MiB/s: about one second of sleeping. */
    double expected = (double)vma_writer_bytes_written(w) / (10 << 20) * 1e9;

    assert_true(clk.slept > expected * 0.99 && clk.slept < expected * 1.01);
    vma_writer_free(w);

    /* The real clock path, briefly: 64 KiB at 1 MiB/s sleeps ~80 ms. */
    opts = (vma_writer_options){ .speed = 1 << 20 };
    fd = open("/dev/null", O_WRONLY);
    w = vma_writer_new_fd(fd, true, &opts, &err);
    vma_writer_add_device(w, "d", VMA_CLUSTER_SIZE, &err);
    vma_writer_write_cluster(w, 1, 0, cluster, sizeof(cluster), NULL, &err);
    assert_int_equal(vma_writer_close(w, &err), 0);
    vma_writer_free(w);
}

static void test_create_file_rules(void **state)
{
    char *path = tu_path(workdir, "x.vma");
    vma_error err = { 0 };
    vma_writer *w;
    vma_writer_options bad = { .extent_clusters = 60 };

    (void)state;
    tu_write_file(path, "keep", 4);
    assert_null(vma_writer_create(path, NULL, &err));
    assert_msg(err, "cannot create archive");
    assert_true(tu_file_equals(path, "keep", 4));           /* never overwritten */
    unlink(path);

    assert_null(vma_writer_create("", NULL, &err));
    assert_null(vma_writer_create(NULL, NULL, &err));
    assert_null(vma_writer_create(path, &bad, &err));
    assert_msg(err, "extent_clusters 60");
    assert_false(tu_exists(path));
    assert_null(vma_writer_new_fd(-1, false, NULL, &err));

    /* Abandoned archive: removed. While it is written, nothing is under
     * its own name (a temporary beside it is renamed at the end). */
    w = vma_writer_create(path, NULL, &err);
    assert_non_null(w);
    assert_false(tu_exists(path));
    vma_writer_add_device(w, "d", 10, &err);
    vma_writer_free(w);
    assert_false(tu_exists(path));

    /* Failed close: removed. Successful: kept. */
    w = vma_writer_create(path, NULL, &err);
    vma_writer_add_device(w, "d", 10, &err);
    assert_true(vma_writer_close(w, &err) < 0);
    vma_writer_free(w);
    assert_false(tu_exists(path));
    w = vma_writer_create(path, NULL, &err);
    vma_writer_add_device(w, "d", 10, &err);
    vma_writer_write_cluster(w, 1, 0, NULL, 10, NULL, &err);
    assert_int_equal(vma_writer_close(w, &err), 0);
    vma_writer_free(w);
    assert_true(tu_exists(path));

    /* Header-only archive (a vmstate with no data) reads back. */
    unlink(path);
    w = vma_writer_create(path, NULL, &err);
    vma_writer_add_vmstate(w, 0, &err);
    assert_int_equal(vma_writer_close(w, &err), 0);
    vma_writer_free(w);
    vma_reader *r = vma_reader_open(path, &err);
    assert_non_null(r);
    assert_int_equal(vma_reader_restore(r, &err), 0);
    assert_int_equal(vma_reader_vmstate_length(r), 0);
    assert_int_equal(vma_reader_extent_count(r), 0);
    vma_reader_free(r);
    unlink(path);
    free(path);
}

static void test_header_limit(void **state)
{
    vma_writer *w = null_writer();
    vma_error err = { 0 };
    static char blob[VMA_MAX_BLOB_SIZE];
    int ret = 0;
    unsigned n;

    (void)state;
    /* 256 maximal config pairs still fit; the header limit is generous. */
    for (n = 0; n < VMA_MAX_CONFIGS && ret == 0; n++) {
        char name[16];

        snprintf(name, sizeof(name), "c%u", n);
        ret = vma_writer_add_config(w, name, blob, sizeof(blob), &err);
    }
    assert_int_equal(ret, 0);
    assert_int_equal(vma_writer_add_device(w, "d", 1, &err), 1);
    assert_int_equal(vma_writer_write_cluster(w, 1, 0, NULL, 1, NULL, &err), 0);
    assert_int_equal(vma_writer_close(w, &err), 0);
    vma_writer_free(w);
}

static void test_reader_api_misuse(void **state)
{
    char *path = tu_path(workdir, "r.vma");
    uint8_t one = 0x42;
    tu_dev dev = { "d", &one, 1 };
    vma_error err = { 0 };
    vma_reader *r;
    char uuid[37];

    (void)state;
    assert_int_equal(tu_build_archive(path, &dev, 1, NULL, 0, NULL, 0, 0, 0, NULL, &err),
                     0);
    assert_null(vma_reader_open("", &err));
    assert_null(vma_reader_open(NULL, &err));
    assert_null(vma_reader_open("/nonexistent/x.vma", &err));
    assert_msg(err, "cannot open archive");
    r = vma_reader_open(path, &err);
    assert_non_null(r);
    vma_uuid_format(vma_reader_uuid(r), uuid);
    assert_int_equal(strlen(uuid), 36);
    assert_true(vma_reader_ctime(r) > 0);
    assert_int_equal(vma_reader_header_size(r), 12800);
    assert_null(vma_reader_device(r, 0));
    assert_null(vma_reader_device(r, 300));
    assert_int_equal(vma_reader_vmstate_id(r), 0);
    assert_int_equal(vma_reader_set_target(r, 2, 1, 0, &err), -ENOENT);
    assert_int_equal(vma_reader_set_target(r, 1, -1, 0, &err), -EBADF);
    assert_int_equal(vma_reader_restore(r, &err), 0);
    assert_int_equal(vma_reader_restore(r, &err), -EBUSY);
    assert_int_equal(vma_reader_set_target(r, 1, 1, 0, &err), -EBUSY);
    assert_int_equal(vma_reader_bytes_read(r), 12800 + 512 + 4096);
    assert_int_equal(vma_reader_zero_bytes(r, 1), 0);
    assert_int_equal(vma_reader_zero_bytes(r, 999), 0);
    vma_reader_free(r);
    vma_reader_free(NULL);

    /* A target that cannot be written. */
    r = vma_reader_open(path, &err);
    int ro = open(path, O_RDONLY);
    assert_int_equal(vma_reader_set_target(r, 1, ro, 0, &err), 0);
    assert_true(vma_reader_restore(r, &err) < 0);
    assert_msg(err, "writing device 'd' at offset 0 failed");
    close(ro);
    vma_reader_free(r);

    /* Write-zeroes target over old data, on a non-regular target. */
    r = vma_reader_open(path, &err);
    int null = open("/dev/null", O_WRONLY);
    assert_int_equal(vma_reader_set_target(r, 1, null, VMA_TARGET_WRITE_ZEROES, &err), 0);
    assert_int_equal(vma_reader_restore(r, &err), 0);
    close(null);
    vma_reader_free(r);

    /* A directory as the archive: read() fails. */
    assert_null(vma_reader_open(workdir, &err));
    assert_msg(err, "reading the archive header failed");
    unlink(path);
    free(path);
}

static void test_write_zeroes_target(void **state)
{
    char *path = tu_path(workdir, "z.vma");
    char *target = tu_path(workdir, "z.raw");
    uint8_t *img = tu_image(3 * VMA_CLUSTER_SIZE + 10, 50, 9);
    tu_dev dev = { "d", img, 3 * VMA_CLUSTER_SIZE + 10 };
    uint8_t *junk = malloc(dev.size);
    vma_error err = { 0 };
    vma_reader *r;
    int fd;

    (void)state;
    memset(junk, 0xee, dev.size);
    assert_int_equal(tu_build_archive(path, &dev, 1, NULL, 0, NULL, 0, 0, 3, NULL, &err),
                     0);
    tu_write_file(target, junk, dev.size);
    r = vma_reader_open(path, &err);
    fd = open(target, O_WRONLY);
    assert_int_equal(vma_reader_set_target(r, 1, fd, VMA_TARGET_WRITE_ZEROES, &err), 0);
    assert_int_equal(vma_reader_restore(r, &err), 0);
    assert_true(vma_reader_zero_bytes(r, 1) > 0);
    close(fd);
    vma_reader_free(r);
    assert_true(tu_file_equals(target, img, dev.size));
    free(junk);
    free(img);
    free(path);
    free(target);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registration_rules),
        cmocka_unit_test(test_cluster_checks_are_sticky),
        cmocka_unit_test(test_incomplete_and_closed_streams),
        cmocka_unit_test(test_status_counters),
        cmocka_unit_test(test_rate_limit),
        cmocka_unit_test(test_create_file_rules),
        cmocka_unit_test(test_header_limit),
        cmocka_unit_test(test_reader_api_misuse),
        cmocka_unit_test(test_write_zeroes_target),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
