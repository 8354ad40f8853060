// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The VMA codec at the format's exact limits, on both sides of each: a
 * device of 2^32 clusters, 65535-byte blobs, a blob buffer that fills its
 * 512-byte-rounded area exactly, an empty config blob stored last, empty
 * device names, and a vmstate that outgrows a cluster-aligned estimate.
 * Each test is meant to fail on an off-by-one in lib/vma (issue 14).
 */
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

#define assert_msg(err, text) \
    do { \
        if (!strstr((err).msg, (text))) { \
            fail_msg("message '%s' lacks '%s'", (err).msg, (text)); \
        } \
    } while (0)

static int setup(void **state)
{
    (void)state;
    workdir = tu_mkdtemp("bounds");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_rmrf(workdir);
    free(workdir);
    return 0;
}

/* A writer on a file that stays behind even if the archive is never closed
 * (the writer only removes files it created itself). */
static vma_writer *file_writer(const char *path, unsigned extent_clusters)
{
    vma_writer_options opts = { .extent_clusters = extent_clusters, .ctime = 1 };
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    vma_writer *w;

    assert_true(fd >= 0);
    w = vma_writer_new_fd(fd, true, &opts, NULL);
    assert_non_null(w);
    return w;
}

static void fix_header_md5(uint8_t *buf)
{
    memset(buf + VMA_H_MD5, 0, 16);
    vma_md5(buf, vma_get_be32(buf + VMA_H_HEADER_SIZE), buf + VMA_H_MD5);
}

/* Write buf to a scratch file and open it. */
static vma_reader *open_bytes(const char *name, const uint8_t *buf, size_t len,
                              vma_error *err)
{
    char *path = tu_path(workdir, name);
    vma_reader *r;

    unlink(path);
    tu_write_file(path, buf, len);
    r = vma_reader_open(path, err);
    unlink(path);
    free(path);
    return r;
}

/* ------------------------------------------------------------------------ */

/* 2^32 clusters (2^48 bytes) is the largest device: cluster numbers are 32
 * bits. Nothing of its data is allocated: the archive holds only its last
 * cluster and its first, and the reader must accept the last one. */
static void test_device_of_2p32_clusters(void **state)
{
    const uint64_t max = (uint64_t)VMA_CLUSTER_SIZE << 32;
    char *path = tu_path(workdir, "huge.vma");
    uint8_t *cluster = malloc(VMA_CLUSTER_SIZE);
    vma_stream_status st;
    vma_error err = { 0 };
    vma_writer *w = file_writer(path, 1);
    vma_reader *r;
    uint8_t *buf;
    size_t len;
    int id;

    (void)state;
    assert_non_null(cluster);
    memset(cluster, 0xab, VMA_CLUSTER_SIZE);
    assert_int_equal(vma_writer_add_device(w, "huge", max + 1, &err), -EFBIG);
    assert_msg(err, "too large");
    id = vma_writer_add_device(w, "huge", max, &err);
    assert_int_equal(id, 1);
    assert_true(vma_writer_stream_status(w, 1, &st));
    assert_true(st.size == max);

    /* The last cluster, then the first: with one cluster per extent the
     * second write flushes the header and the extent holding the first. */
    assert_int_equal(vma_writer_write_cluster(w, 1, UINT32_MAX, cluster,
                                              VMA_CLUSTER_SIZE, NULL, &err), 0);
    assert_int_equal(vma_writer_write_cluster(w, 1, 0, NULL, VMA_CLUSTER_SIZE, NULL,
                                              &err), 0);
    assert_int_equal(vma_writer_write_cluster(w, 1, (uint64_t)UINT32_MAX + 1, NULL,
                                              VMA_CLUSTER_SIZE, NULL, &err), -EINVAL);
    assert_msg(err, "cluster 4294967296 is beyond the end of 'huge' (4294967296 clusters)");
    vma_writer_free(w);

    buf = tu_read_file(path, &len);
    assert_non_null(buf);
    /* Header, then one extent: 512 bytes and 16 data blocks. */
    assert_int_equal(len, vma_get_be32(buf + VMA_H_HEADER_SIZE) + 512 + VMA_CLUSTER_SIZE);
    assert_true(vma_get_be64(buf + VMA_H_DEV_INFO + VMA_DEV_INFO_SIZE + 8) == max);

    r = vma_reader_open(path, &err);
    assert_non_null(r);
    assert_true(vma_reader_device(r, 1)->size == max);
    assert_true(vma_reader_total_bytes(r) == max);
    /* The first extent is read and accepted; the archive then ends with
     * every other cluster missing. */
    assert_int_equal(vma_reader_restore(r, &err), -EINVAL);
    assert_msg(err, "cluster 0 is missing (1 of 4294967296 clusters present)");
    assert_int_equal(vma_reader_extent_count(r), 1);
    assert_int_equal(vma_reader_cluster_bytes(r), VMA_CLUSTER_SIZE);
    vma_reader_free(r);

    /* One byte more in the header is refused by the reader as well. */
    vma_put_be64(buf + VMA_H_DEV_INFO + VMA_DEV_INFO_SIZE + 8, max + 1);
    fix_header_md5(buf);
    assert_null(open_bytes("huge1.vma", buf, len, &err));
    assert_msg(err, "has size 281474976710657, beyond 2^32 clusters");

    free(buf);
    free(cluster);
    free(path);
}

/* A blob holds at most 65535 bytes: a 65534-byte name (plus its NUL) and
 * 65535 bytes of config data are stored and read back; one more is not. */
static void test_blob_of_65535_bytes(void **state)
{
    char *path = tu_path(workdir, "names.vma");
    char *name = malloc(VMA_MAX_BLOB_SIZE + 1);
    uint8_t *data = malloc(VMA_MAX_BLOB_SIZE + 1);
    uint8_t cluster[4096];
    vma_error err = { 0 };
    vma_writer *w = file_writer(path, 0);
    const vma_config_info *c;
    vma_reader *r;

    (void)state;
    assert_non_null(name);
    assert_non_null(data);
    memset(cluster, 7, sizeof(cluster));
    for (size_t i = 0; i <= VMA_MAX_BLOB_SIZE; i++) {
        data[i] = (uint8_t)(i * 31 + 1);
    }
    memset(name, 'n', VMA_MAX_BLOB_SIZE);
    name[VMA_MAX_BLOB_SIZE] = 0;             /* 65535 characters: a 65536-byte blob */
    assert_int_equal(vma_writer_add_device(w, name, 4096, &err), -ENAMETOOLONG);
    assert_int_equal(vma_writer_add_config(w, name, "x", 1, &err), -ENAMETOOLONG);
    name[VMA_MAX_BLOB_SIZE - 1] = 0;         /* 65534 characters: 65535 bytes */
    assert_int_equal(vma_writer_add_device(w, name, 4096, &err), 1);
    assert_int_equal(vma_writer_add_config(w, name, data, VMA_MAX_BLOB_SIZE, &err), 0);
    assert_int_equal(vma_writer_add_config(w, "big.conf", data, VMA_MAX_BLOB_SIZE + 1,
                                           &err), -E2BIG);
    assert_msg(err, "config 'big.conf' is 65536 bytes (limit 65535)");
    assert_int_equal(vma_writer_write_cluster(w, 1, 0, cluster, sizeof(cluster), NULL,
                                              &err), 0);
    assert_int_equal(vma_writer_close(w, &err), 0);
    vma_writer_free(w);

    r = vma_reader_open(path, &err);
    assert_non_null(r);
    assert_int_equal(strlen(vma_reader_device(r, 1)->name), VMA_MAX_BLOB_SIZE - 1);
    assert_string_equal(vma_reader_device(r, 1)->name, name);
    assert_int_equal(vma_reader_config_count(r), 1);
    c = vma_reader_config(r, 0);
    assert_string_equal(c->name, name);
    assert_int_equal(c->len, VMA_MAX_BLOB_SIZE);
    assert_memory_equal(c->data, data, VMA_MAX_BLOB_SIZE);
    assert_int_equal(vma_reader_restore(r, &err), 0);
    vma_reader_free(r);
    free(name);
    free(data);
    free(path);
}

/* An archive whose blob buffer ends at blob_end (blob offset 0 is unused,
 * so the buffer starts with one byte): one device "d", one config "c" whose
 * data pads the buffer to the wanted size. Returns its bytes. */
static uint8_t *blob_archive(size_t blob_end, size_t *len)
{
    /* 1 unused byte, "d\0" and "c\0" with their 2-byte lengths, the data's
     * length field. */
    size_t pad = blob_end - (1 + 4 + 4 + 2);
    char *path = tu_path(workdir, "blobs.vma");
    uint8_t *data = calloc(1, pad + 1);
    uint8_t cluster[4096];
    vma_error err = { 0 };
    vma_writer *w = file_writer(path, 0);
    uint8_t *buf;

    assert_non_null(data);
    memset(data, 'p', pad);
    memset(cluster, 9, sizeof(cluster));
    assert_int_equal(vma_writer_add_device(w, "d", 4096, &err), 1);
    assert_int_equal(vma_writer_add_config(w, "c", data, pad, &err), 0);
    assert_int_equal(vma_writer_write_cluster(w, 1, 0, cluster, sizeof(cluster), NULL,
                                              &err), 0);
    assert_int_equal(vma_writer_close(w, &err), 0);
    vma_writer_free(w);
    buf = tu_read_file(path, len);
    assert_non_null(buf);
    assert_int_equal(vma_verify_archive(path, NULL, NULL, &err), 0);
    unlink(path);
    free(path);
    free(data);
    return buf;
}

/* The header is the fixed part plus the blob buffer rounded up to 512
 * bytes: a buffer of exactly 1024 bytes needs no padding, and a reader must
 * accept a buffer that reaches header_size exactly, but not a byte more. */
static void test_blob_buffer_multiple_of_512(void **state)
{
    static const struct { size_t blob_end, header_size; } cases[] = {
        { 1023, VMA_HEADER_FIXED_SIZE + 1024 },
        { 1024, VMA_HEADER_FIXED_SIZE + 1024 },
        { 1025, VMA_HEADER_FIXED_SIZE + 1536 },
        { 2048, VMA_HEADER_FIXED_SIZE + 2048 },
    };
    vma_error err = { 0 };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len;
        uint8_t *buf = blob_archive(cases[i].blob_end, &len);
        vma_reader *r;

        assert_int_equal(vma_get_be32(buf + VMA_H_BLOB_SIZE), cases[i].blob_end);
        assert_int_equal(vma_get_be32(buf + VMA_H_HEADER_SIZE), cases[i].header_size);
        r = open_bytes("blobs-ok.vma", buf, len, &err);
        assert_non_null(r);
        assert_int_equal(vma_reader_header_size(r), cases[i].header_size);
        assert_int_equal(vma_reader_config(r, 0)->len, cases[i].blob_end - 11);
        vma_reader_free(r);

        /* One byte past header_size. */
        vma_put_be32(buf + VMA_H_BLOB_SIZE,
                     (uint32_t)(cases[i].header_size - VMA_HEADER_FIXED_SIZE + 1));
        fix_header_md5(buf);
        assert_null(open_bytes("blobs-bad.vma", buf, len, &err));
        assert_msg(err, "runs past header_size");
        free(buf);
    }
}

/* An empty config blob (two length bytes, no data) may be the last thing in
 * the blob buffer; it lists and extracts as an empty file. */
static void test_empty_config_last(void **state)
{
    char *path = tu_path(workdir, "emptycfg.vma");
    char *dir = tu_path(workdir, "emptycfg.d");
    char *file = tu_path(dir, "empty.conf");
    uint8_t cluster[4096];
    vma_error err = { 0 };
    vma_writer *w;
    vma_reader *r;
    uint8_t *buf;
    size_t len;

    (void)state;
    memset(cluster, 5, sizeof(cluster));
    for (int with_device = 0; with_device < 2; with_device++) {
        const vma_config_info *c;

        w = file_writer(path, 0);
        if (with_device) {
            assert_int_equal(vma_writer_add_device(w, "d", 4096, &err), 1);
        }
        assert_int_equal(vma_writer_add_config(w, "a.conf", "x", 1, &err), 0);
        assert_int_equal(vma_writer_add_config(w, "empty.conf", "", 0, &err), 0);
        if (with_device) {
            assert_int_equal(vma_writer_write_cluster(w, 1, 0, cluster, sizeof(cluster),
                                                      NULL, &err), 0);
        }
        assert_int_equal(vma_writer_close(w, &err), 0);
        vma_writer_free(w);

        buf = tu_read_file(path, &len);
        assert_non_null(buf);
        /* The empty data blob is the buffer's last two bytes. */
        assert_int_equal(vma_get_be32(buf + VMA_H_CONFIG_DATA + 4) + 2,
                         vma_get_be32(buf + VMA_H_BLOB_SIZE));
        free(buf);

        r = vma_reader_open(path, &err);
        assert_non_null(r);
        assert_int_equal(vma_reader_config_count(r), 2);
        c = vma_reader_config(r, 1);
        assert_string_equal(c->name, "empty.conf");
        assert_int_equal(c->len, 0);
        assert_int_equal(vma_reader_config(r, 0)->len, 1);
        assert_int_equal(vma_reader_restore(r, &err), 0);
        vma_reader_free(r);

        assert_int_equal(vma_extract_archive(path, dir, NULL, &err), 0);
        assert_true(tu_file_equals(file, "", 0));
        tu_rmrf(dir);
        unlink(path);
    }
    free(file);
    free(dir);
    free(path);
}

/* Proxmox's backup refuses a drive without a name; so does the writer, and
 * the reader refuses an archive whose device name is the empty string. */
static void test_empty_device_name(void **state)
{
    char *path = tu_path(workdir, "noname.vma");
    uint8_t cluster[4096];
    vma_error err = { 0 };
    vma_writer *w = file_writer(path, 0);
    uint32_t name_ptr, blob_size;
    uint8_t *buf, *blobs;
    size_t len;

    (void)state;
    memset(cluster, 3, sizeof(cluster));
    assert_int_equal(vma_writer_add_device(w, "", 4096, &err), -EINVAL);
    assert_msg(err, "device name is empty");
    assert_int_equal(vma_writer_add_device(w, NULL, 4096, &err), -EINVAL);
    assert_int_equal(vma_writer_add_config(w, "", "x", 1, &err), -EINVAL);
    assert_msg(err, "config name is empty");
    /* The device's name is the last blob, so it can be shortened in place. */
    assert_int_equal(vma_writer_add_config(w, "c", "x", 1, &err), 0);
    assert_int_equal(vma_writer_add_device(w, "d", 4096, &err), 1);
    assert_int_equal(vma_writer_write_cluster(w, 1, 0, cluster, sizeof(cluster), NULL,
                                              &err), 0);
    assert_int_equal(vma_writer_close(w, &err), 0);
    vma_writer_free(w);

    buf = tu_read_file(path, &len);
    assert_non_null(buf);
    blobs = buf + VMA_HEADER_FIXED_SIZE;
    name_ptr = vma_get_be32(buf + VMA_H_DEV_INFO + VMA_DEV_INFO_SIZE);
    blob_size = vma_get_be32(buf + VMA_H_BLOB_SIZE);
    assert_int_equal(name_ptr + 4, blob_size);
    assert_memory_equal(blobs + name_ptr, "\x02\x00" "d", 4);

    /* "" : a one-byte blob holding only the NUL. */
    blobs[name_ptr] = 1;
    blobs[name_ptr + 2] = 0;
    blobs[name_ptr + 3] = 0;
    vma_put_be32(buf + VMA_H_BLOB_SIZE, blob_size - 1);
    fix_header_md5(buf);
    assert_null(open_bytes("noname1.vma", buf, len, &err));
    assert_msg(err, "dev_info[1].name");
    assert_msg(err, "not a non-empty NUL-terminated string");

    /* A zero-length blob is no string either. */
    blobs[name_ptr] = 0;
    vma_put_be32(buf + VMA_H_BLOB_SIZE, blob_size - 2);
    fix_header_md5(buf);
    assert_null(open_bytes("noname0.vma", buf, len, &err));
    assert_msg(err, "dev_info[1].name");

    /* The control: the same bytes with the name "e" are accepted. */
    blobs[name_ptr] = 2;
    blobs[name_ptr + 2] = 'e';
    vma_put_be32(buf + VMA_H_BLOB_SIZE, blob_size);
    fix_header_md5(buf);
    {
        vma_reader *r = open_bytes("name-e.vma", buf, len, &err);

        assert_non_null(r);
        assert_string_equal(vma_reader_device(r, 1)->name, "e");
        vma_reader_free(r);
    }
    free(buf);
    free(path);
}

/* A vmstate that outgrows an estimate of whole clusters: the estimate then
 * lies in no stored cluster's tail, so the reader restores whole clusters,
 * never cutting the stream at the estimate. */
static void test_vmstate_beyond_estimate(void **state)
{
    static const struct { uint64_t estimate; size_t len; uint64_t restored; } cases[] = {
        { 2 * VMA_CLUSTER_SIZE, 2 * VMA_CLUSTER_SIZE + 100, 3 * VMA_CLUSTER_SIZE },
        { VMA_CLUSTER_SIZE, 2 * VMA_CLUSTER_SIZE, 2 * VMA_CLUSTER_SIZE },
        { 2 * VMA_CLUSTER_SIZE, 2 * VMA_CLUSTER_SIZE, 2 * VMA_CLUSTER_SIZE },
        /* The control: an estimate inside the last cluster is the length. */
        { 2 * VMA_CLUSTER_SIZE + 1, 2 * VMA_CLUSTER_SIZE + 100, 2 * VMA_CLUSTER_SIZE + 1 },
    };
    char *path = tu_path(workdir, "vmstate.vma");
    char *out = tu_path(workdir, "vmstate.bin");
    uint8_t disk[4096];
    vma_error err = { 0 };

    (void)state;
    memset(disk, 1, sizeof(disk));
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t *vm = tu_image(cases[i].len, 100, 40 + i);
        tu_dev dev = { "d", disk, sizeof(disk) };
        uint64_t size, transferred, zero;
        vma_stream_status st;
        vma_writer *w = file_writer(path, 0);
        vma_reader *r;
        uint8_t *got;
        size_t got_len;
        int id, fd;

        assert_int_equal(vma_writer_add_device(w, dev.name, dev.size, &err), 1);
        id = vma_writer_add_vmstate(w, cases[i].estimate, &err);
        assert_int_equal(id, 2);
        assert_int_equal(vma_writer_vmstate_append(w, vm, cases[i].len, &err), 0);
        assert_int_equal(vma_writer_write_cluster(w, 1, 0, disk, sizeof(disk), NULL,
                                                  &err), 0);
        assert_int_equal(vma_writer_close_stream(w, 2, &err), 1);
        assert_true(vma_writer_stream_status(w, 2, &st));
        assert_int_equal(st.transferred, cases[i].len);
        assert_int_equal(st.size, cases[i].estimate);
        vma_writer_total_status(w, &size, &transferred, &zero);
        assert_int_equal(size, sizeof(disk) + (cases[i].len > cases[i].estimate
                                               ? cases[i].len : cases[i].estimate));
        assert_int_equal(vma_writer_close(w, &err), 0);
        vma_writer_free(w);

        r = vma_reader_open(path, &err);
        assert_non_null(r);
        assert_int_equal(vma_reader_vmstate_id(r), 2);
        assert_int_equal(vma_reader_device(r, 2)->size, cases[i].estimate);
        unlink(out);
        fd = open(out, O_RDWR | O_CREAT | O_EXCL, 0600);
        assert_true(fd >= 0);
        assert_int_equal(vma_reader_set_target(r, 2, fd, 0, &err), 0);
        assert_int_equal(vma_reader_restore(r, &err), 0);
        assert_int_equal(vma_reader_vmstate_length(r), cases[i].restored);
        vma_reader_free(r);
        close(fd);

        got = tu_read_file(out, &got_len);
        assert_non_null(got);
        assert_int_equal(got_len, cases[i].restored);
        assert_memory_equal(got, vm, cases[i].len < got_len ? cases[i].len : got_len);
        for (size_t b = cases[i].len; b < got_len; b++) {
            assert_int_equal(got[b], 0);
        }
        free(got);
        free(vm);
        unlink(path);
    }
    unlink(out);
    free(out);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_device_of_2p32_clusters),
        cmocka_unit_test(test_blob_of_65535_bytes),
        cmocka_unit_test(test_blob_buffer_multiple_of_512),
        cmocka_unit_test(test_empty_config_last),
        cmocka_unit_test(test_empty_device_name),
        cmocka_unit_test(test_vmstate_beyond_estimate),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
