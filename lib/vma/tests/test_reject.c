// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Every rejection the format requires, each exercised with a crafted
 * archive: the reader must fail with a message naming what and where.
 * Mutations that should get past the checksums recompute them.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
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

enum { A_SIZE = 5 * 65536 + 100, B_SIZE = 3 * 65536, VM_SIZE = 2 * 65536 + 500 };

typedef struct archive {
    uint8_t *buf;
    size_t len;
} archive;

static archive base;            /* 4 clusters per extent, in order */
static archive single;          /* 1 cluster per extent, in order */
static char *workdir;

static uint32_t header_size(const archive *a)
{
    return vma_get_be32(a->buf + VMA_H_HEADER_SIZE);
}

/* Byte offset of extent n (0-based). */
static size_t extent_at(const archive *a, unsigned n)
{
    size_t pos = header_size(a);

    for (unsigned i = 0; i < n; i++) {
        pos += VMA_EXTENT_HEADER_SIZE +
               (size_t)vma_get_be16(a->buf + pos + VMA_E_BLOCK_COUNT) * VMA_BLOCK_SIZE;
    }
    assert_true(pos < a->len);
    return pos;
}

static size_t extent_len(const archive *a, unsigned n)
{
    size_t at = extent_at(a, n);

    return VMA_EXTENT_HEADER_SIZE +
           (size_t)vma_get_be16(a->buf + at + VMA_E_BLOCK_COUNT) * VMA_BLOCK_SIZE;
}

static archive copy_of(const archive *a)
{
    archive c = { malloc(a->len + VMA_MAX_EXTENT_SIZE), a->len };

    memcpy(c.buf, a->buf, a->len);
    return c;
}

static void fix_header_md5(archive *a)
{
    memset(a->buf + VMA_H_MD5, 0, 16);
    vma_md5(a->buf, header_size(a), a->buf + VMA_H_MD5);
}

static void fix_extent_md5(archive *a, size_t at)
{
    memset(a->buf + at + VMA_E_MD5, 0, 16);
    vma_md5(a->buf + at, VMA_EXTENT_HEADER_SIZE, a->buf + at + VMA_E_MD5);
}

static void set_blockinfo(archive *a, size_t at, unsigned slot, uint64_t v)
{
    vma_put_be64(a->buf + at + VMA_E_BLOCKINFO + 8 * slot, v);
    fix_extent_md5(a, at);
}

static uint64_t get_blockinfo(const archive *a, size_t at, unsigned slot)
{
    return vma_get_be64(a->buf + at + VMA_E_BLOCKINFO + 8 * slot);
}

/* Verify the bytes as a file; must fail with every substring in the
 * NULL-terminated list appearing in the message. */
static void expect_reject_v(const uint8_t *buf, size_t len, va_list ap)
{
    char *path = tu_path(workdir, "crafted.vma");
    vma_error err = { 0 };
    const char *want;
    int ret;

    unlink(path);
    tu_write_file(path, buf, len);
    ret = vma_verify_archive(path, NULL, NULL, &err);
    if (ret >= 0) {
        fail_msg("crafted archive was accepted");
    }
    while ((want = va_arg(ap, const char *))) {
        if (!strstr(err.msg, want)) {
            fail_msg("message '%s' lacks '%s'", err.msg, want);
        }
    }
    unlink(path);
    free(path);
}

static void expect_reject(const archive *a, ...)
{
    va_list ap;

    va_start(ap, a);
    expect_reject_v(a->buf, a->len, ap);
    va_end(ap);
}

static void expect_reject_len(const archive *a, size_t len, ...)
{
    va_list ap;

    va_start(ap, len);
    expect_reject_v(a->buf, len, ap);
    va_end(ap);
}

static archive build(unsigned extent_clusters)
{
    uint8_t *img_a = tu_image(A_SIZE, 90, 1);
    uint8_t *img_b = tu_image(B_SIZE, 90, 2);
    uint8_t *vm = tu_image(VM_SIZE, 100, 3);
    tu_dev devs[] = { { "disk-a", img_a, A_SIZE }, { "disk-b", img_b, B_SIZE } };
    tu_cfg cfgs[] = { { "qemu-server.conf", "memory: 512\n", 12 } };
    vma_writer_options opts = { .extent_clusters = extent_clusters };
    char *path = tu_path(workdir, "base.vma");
    vma_error err;
    archive a;

    unlink(path);
    assert_int_equal(tu_build_archive(path, devs, 2, cfgs, 1, vm, VM_SIZE, VM_SIZE, 0,
                                      &opts, &err), 0);
    a.buf = tu_read_file(path, &a.len);
    assert_int_equal(vma_verify_archive(path, NULL, NULL, &err), 0);
    unlink(path);
    free(path);
    free(img_a);
    free(img_b);
    free(vm);
    return a;
}

static int setup(void **state)
{
    (void)state;
    workdir = tu_mkdtemp("reject");
    base = build(4);
    single = build(1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(base.buf);
    free(single.buf);
    tu_rmrf(workdir);
    free(workdir);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Header                                                                    */
/* ------------------------------------------------------------------------ */

static void test_header_bit_flips(void **state)
{
    static const struct {
        unsigned from, to;
        const char *want;
    } regions[] = {
        { 0, 4, "wrong magic at byte 0" },
        { 4, 8, "unsupported VMA version" },
        { 8, 24, "header md5 mismatch" },       /* uuid */
        { 24, 32, "header md5 mismatch" },      /* ctime */
        { 32, 48, "header md5 mismatch" },      /* md5 itself */
        { 48, 52, "header md5 mismatch" },      /* blob_buffer_offset */
        { 52, 56, "header md5 mismatch" },      /* blob_buffer_size */
        { 60, 2044, "header md5 mismatch" },    /* reserved */
        { 2044, 3068, "header md5 mismatch" },  /* config_names */
        { 3068, 4092, "header md5 mismatch" },  /* config_data */
        { 4092, 4096, "header md5 mismatch" },  /* reserved */
        { 4096, 12288, "header md5 mismatch" }, /* dev_info */
        { 12288, 12800, "header md5 mismatch" },/* blob buffer */
    };
    archive a = copy_of(&base);

    (void)state;
    for (size_t r = 0; r < sizeof(regions) / sizeof(regions[0]); r++) {
        /* A few positions per region: first, middle, last byte. */
        unsigned pos[] = { regions[r].from, (regions[r].from + regions[r].to) / 2,
                           regions[r].to - 1 };

        for (unsigned p = 0; p < 3; p++) {
            for (unsigned bit = 0; bit < 8; bit += 3) {
                a.buf[pos[p]] ^= (uint8_t)(1u << bit);
                expect_reject(&a, regions[r].want, NULL);
                a.buf[pos[p]] ^= (uint8_t)(1u << bit);
            }
        }
    }
    /* header_size: any flip is caught, by the range check, truncation or md5. */
    for (unsigned bit = 0; bit < 32; bit++) {
        char *path = tu_path(workdir, "hs.vma");
        vma_error err = { 0 };

        a.buf[VMA_H_HEADER_SIZE + 3 - bit / 8] ^= (uint8_t)(1u << (bit % 8));
        unlink(path);
        tu_write_file(path, a.buf, a.len);
        assert_true(vma_verify_archive(path, NULL, NULL, &err) < 0);
        assert_true(strstr(err.msg, "header_size") || strstr(err.msg, "md5") ||
                    strstr(err.msg, "truncated header"));
        a.buf[VMA_H_HEADER_SIZE + 3 - bit / 8] ^= (uint8_t)(1u << (bit % 8));
        free(path);
    }
    free(a.buf);
}

static void test_header_sizes(void **state)
{
    archive a = copy_of(&base);
    uint32_t hs = header_size(&base);

    (void)state;
    expect_reject_len(&a, 0, "empty", NULL);
    expect_reject_len(&a, 2, "wrong magic", NULL);
    expect_reject_len(&a, 100, "truncated header", "100 bytes", NULL);
    expect_reject_len(&a, hs - 1, "truncated header", NULL);

    vma_put_be32(a.buf + VMA_H_HEADER_SIZE, hs + 100);
    fix_header_md5(&a);
    expect_reject(&a, "header_size", "byte 56", NULL);
    vma_put_be32(a.buf + VMA_H_HEADER_SIZE, VMA_HEADER_FIXED_SIZE);
    expect_reject(&a, "header_size", NULL);
    vma_put_be32(a.buf + VMA_H_HEADER_SIZE, VMA_MAX_HEADER_SIZE + 512);
    expect_reject(&a, "header_size", NULL);
    /* Larger than the file: the header itself is cut short. */
    memcpy(a.buf, base.buf, base.len);
    vma_put_be32(a.buf + VMA_H_HEADER_SIZE, (uint32_t)(base.len + 512) / 512 * 512);
    expect_reject(&a, "truncated header", NULL);

    memcpy(a.buf, base.buf, base.len);
    vma_put_be32(a.buf + VMA_H_BLOB_OFFSET, 4096);
    fix_header_md5(&a);
    expect_reject(&a, "blob_buffer_offset 4096 at byte 48", NULL);
    vma_put_be32(a.buf + VMA_H_BLOB_OFFSET, hs);
    fix_header_md5(&a);
    expect_reject(&a, "blob_buffer_offset", NULL);

    memcpy(a.buf, base.buf, base.len);
    vma_put_be32(a.buf + VMA_H_BLOB_SIZE, hs);
    fix_header_md5(&a);
    expect_reject(&a, "blob_buffer_size", "byte 52", NULL);
    free(a.buf);
}

static void test_blob_chain(void **state)
{
    archive a = copy_of(&base);
    uint32_t bsize = vma_get_be32(base.buf + VMA_H_BLOB_SIZE);

    (void)state;
    /* First blob's length runs past the buffer. */
    a.buf[VMA_HEADER_FIXED_SIZE + 1] = 0xff;
    a.buf[VMA_HEADER_FIXED_SIZE + 2] = 0xff;
    fix_header_md5(&a);
    expect_reject(&a, "blob at blob buffer offset 1", "runs past", NULL);

    /* One stray byte after the last blob: its length field is cut off. */
    memcpy(a.buf, base.buf, base.len);
    vma_put_be32(a.buf + VMA_H_BLOB_SIZE, bsize + 1);
    fix_header_md5(&a);
    expect_reject(&a, "length field runs past", NULL);
    free(a.buf);
}

static void test_config_pointers(void **state)
{
    archive a = copy_of(&base);
    uint32_t name0 = vma_get_be32(base.buf + VMA_H_CONFIG_NAMES);
    uint32_t data0 = vma_get_be32(base.buf + VMA_H_CONFIG_DATA);

    (void)state;
    vma_put_be32(a.buf + VMA_H_CONFIG_NAMES, name0 + 1);       /* mid-blob */
    fix_header_md5(&a);
    expect_reject(&a, "config_names[0]", "header byte 2044", "no blob starts", NULL);

    vma_put_be32(a.buf + VMA_H_CONFIG_NAMES, 60000);          /* past the buffer */
    fix_header_md5(&a);
    expect_reject(&a, "config_names[0]", NULL);

    vma_put_be32(a.buf + VMA_H_CONFIG_NAMES, data0);          /* no NUL */
    fix_header_md5(&a);
    expect_reject(&a, "config_names[0]", "NUL-terminated", NULL);

    memcpy(a.buf, base.buf, base.len);
    vma_put_be32(a.buf + VMA_H_CONFIG_DATA + 4 * 7, data0);   /* data, no name */
    fix_header_md5(&a);
    expect_reject(&a, "config_data[7]", "config_names[7] is 0", NULL);

    memcpy(a.buf, base.buf, base.len);
    vma_put_be32(a.buf + VMA_H_CONFIG_NAMES + 4 * 9, name0);  /* name, no data */
    fix_header_md5(&a);
    expect_reject(&a, "config_names[9]", "config_data[9] is 0", NULL);

    memcpy(a.buf, base.buf, base.len);
    vma_put_be32(a.buf + VMA_H_CONFIG_DATA, data0 + 3);
    fix_header_md5(&a);
    expect_reject(&a, "config_data[0]", "no blob starts", NULL);
    free(a.buf);
}

static uint8_t *dev_info(archive *a, unsigned id)
{
    return a->buf + VMA_H_DEV_INFO + VMA_DEV_INFO_SIZE * id;
}

static void test_device_info(void **state)
{
    archive a = copy_of(&base);
    uint32_t name1 = vma_get_be32(dev_info(&a, 1));
    uint32_t data0 = vma_get_be32(base.buf + VMA_H_CONFIG_DATA);

    (void)state;
    vma_put_be32(dev_info(&a, 1), name1 + 2);
    fix_header_md5(&a);
    expect_reject(&a, "dev_info[1].name", "no blob starts", NULL);

    vma_put_be32(dev_info(&a, 1), data0);
    fix_header_md5(&a);
    expect_reject(&a, "dev_info[1].name", "NUL-terminated", NULL);

    vma_put_be32(dev_info(&a, 1), 0);
    fix_header_md5(&a);
    expect_reject(&a, "dev_info[1]", "no name", NULL);

    memcpy(a.buf, base.buf, base.len);
    vma_put_be32(dev_info(&a, 0), name1);
    fix_header_md5(&a);
    expect_reject(&a, "dev_info[0]", "reserved", NULL);

    memcpy(a.buf, base.buf, base.len);
    vma_put_be64(dev_info(&a, 255) + 8, 4096);
    fix_header_md5(&a);
    expect_reject(&a, "dev_info[255]", "reserved", NULL);

    memcpy(a.buf, base.buf, base.len);
    vma_put_be64(dev_info(&a, 2) + 8, 0);
    fix_header_md5(&a);
    expect_reject(&a, "device 'disk-b'", "size 0", NULL);

    memcpy(a.buf, base.buf, base.len);
    vma_put_be64(dev_info(&a, 2) + 8, 1ull << 60);
    fix_header_md5(&a);
    expect_reject(&a, "device 'disk-b'", "2^32 clusters", NULL);

    memcpy(a.buf, base.buf, base.len);
    vma_put_be32(dev_info(&a, 2), name1);
    fix_header_md5(&a);
    expect_reject(&a, "'disk-a' is used by dev_id 1 and dev_id 2", NULL);

    memcpy(a.buf, base.buf, base.len);
    memset(dev_info(&a, 0), 0, 256 * VMA_DEV_INFO_SIZE);
    fix_header_md5(&a);
    /* No device is a valid header (config-only archives), but then the
     * extents name devices that do not exist. */
    expect_reject(&a, "names dev_id 1, which has no device", NULL);
    free(a.buf);
}

/* ------------------------------------------------------------------------ */
/* Extents                                                                   */
/* ------------------------------------------------------------------------ */

static void test_extent_header_fields(void **state)
{
    archive a = copy_of(&base);
    size_t e1 = extent_at(&base, 1);
    char where[64];

    (void)state;
    snprintf(where, sizeof(where), "extent #1 at byte offset %zu", e1);

    a.buf[e1 + 3] = 'X';
    expect_reject(&a, where, "wrong magic", NULL);
    a.buf[e1 + 3] = 'E';

    a.buf[e1 + VMA_E_BLOCKINFO + 17] ^= 0x10;                 /* not re-summed */
    expect_reject(&a, where, "header md5 mismatch", NULL);
    a.buf[e1 + VMA_E_BLOCKINFO + 17] ^= 0x10;
    a.buf[e1 + 200] ^= 1;                                     /* md5 field */
    a.buf[e1 + VMA_E_MD5] ^= 1;
    expect_reject(&a, where, "md5 mismatch", NULL);
    a.buf[e1 + VMA_E_MD5] ^= 1;
    a.buf[e1 + 200] ^= 1;

    vma_put_be16(a.buf + e1 + VMA_E_RESERVED, 0x0100);
    fix_extent_md5(&a, e1);
    expect_reject(&a, where, "reserved field (bytes 4-5) is 0x0100", NULL);
    vma_put_be16(a.buf + e1 + VMA_E_RESERVED, 0);

    a.buf[e1 + VMA_E_UUID + 5] ^= 0x40;
    fix_extent_md5(&a, e1);
    expect_reject(&a, where, "foreign uuid", NULL);
    a.buf[e1 + VMA_E_UUID + 5] ^= 0x40;

    vma_put_be16(a.buf + e1 + VMA_E_BLOCK_COUNT,
                 (uint16_t)(vma_get_be16(a.buf + e1 + VMA_E_BLOCK_COUNT) - 1));
    fix_extent_md5(&a, e1);
    expect_reject(&a, where, "block_count", "does not match its masks", NULL);

    memcpy(a.buf, base.buf, base.len);
    set_blockinfo(&a, e1, 2, get_blockinfo(&base, e1, 2) | (uint64_t)0x5 << 40);
    expect_reject(&a, where, "blockinfo[2] has reserved byte 0x05", NULL);

    memcpy(a.buf, base.buf, base.len);
    set_blockinfo(&a, e1, 1, get_blockinfo(&base, e1, 1) & ~((uint64_t)0xff << 32));
    expect_reject(&a, where, "blockinfo[1] has dev_id 0", NULL);
    free(a.buf);
}

static void test_extent_entries(void **state)
{
    archive a = copy_of(&base);
    size_t e0 = extent_at(&base, 0);
    uint64_t bi0 = get_blockinfo(&base, e0, 0);

    (void)state;
    /* dev_id 7 has no device. */
    set_blockinfo(&a, e0, 0, (bi0 & ~((uint64_t)0xff << 32)) | (uint64_t)7 << 32);
    expect_reject(&a, "extent #0", "blockinfo[0] names dev_id 7, which has no device",
                  NULL);

    /* Cluster 6 of disk-a (6 clusters: 0..5) is beyond its end. */
    memcpy(a.buf, base.buf, base.len);
    set_blockinfo(&a, e0, 0, (bi0 & ~(uint64_t)0xffffffff) | 6);
    expect_reject(&a, "cluster 6 is beyond the end of device 'disk-a' (6 clusters)", NULL);

    /* Cluster 1 twice (entry 0 now says 1 as well): duplicate, and then 0
     * is missing - the duplicate is reported first. */
    memcpy(a.buf, base.buf, base.len);
    set_blockinfo(&a, e0, 0, (bi0 & ~(uint64_t)0xffffffff) | 1);
    expect_reject(&a, "extent #0", "blockinfo[1]: cluster 1 of device 'disk-a' appears "
                  "twice", NULL);
    free(a.buf);
}

static void test_duplicate_and_missing_extents(void **state)
{
    size_t e0 = extent_at(&base, 0), l0 = extent_len(&base, 0);
    size_t e1 = extent_at(&base, 1), l1 = extent_len(&base, 1);
    archive a = { malloc(base.len + l0), base.len + l0 };

    (void)state;
    /* Extent 0 repeated right after itself. */
    memcpy(a.buf, base.buf, e1);
    memcpy(a.buf + e1, base.buf + e0, l0);
    memcpy(a.buf + e1 + l0, base.buf + e1, base.len - e1);
    expect_reject(&a, "extent #1", "cluster 0 of device 'disk-a' appears twice", NULL);

    /* Extent 1 dropped: clusters missing at the end. */
    memcpy(a.buf, base.buf, e1);
    memcpy(a.buf + e1, base.buf + e1 + l1, base.len - e1 - l1);
    a.len = base.len - l1;
    expect_reject(&a, "device 'disk-a' (dev_id 1) is incomplete", "cluster 4 is missing",
                  NULL);
    free(a.buf);
}

static void test_truncation(void **state)
{
    unsigned n = 0;
    char where[64];
    /* `single` ends with the vmstate's 3 one-cluster extents. */
    size_t vmstate_from = single.len;

    (void)state;
    for (unsigned i = 0; i < 3; i++) {
        vmstate_from -= VMA_EXTENT_HEADER_SIZE + VMA_CLUSTER_SIZE;
    }
    /* Cut at every extent boundary: a clean end, but clusters are missing. */
    for (size_t at = header_size(&single); at < single.len; n++) {
        size_t len = VMA_EXTENT_HEADER_SIZE +
                     (size_t)vma_get_be16(single.buf + at + VMA_E_BLOCK_COUNT) *
                     VMA_BLOCK_SIZE;

        if (at < vmstate_from) {
            expect_reject_len(&single, at, "incomplete", "missing", NULL);
        } else {
            /* Only vmstate extents follow: the format records no vmstate
             * length, so a cut here is undetectable (see vma.h). */
            char *p = tu_path(workdir, "cut.vma");
            vma_error err;

            tu_write_file(p, single.buf, at);
            assert_int_equal(vma_verify_archive(p, NULL, NULL, &err), 0);
            unlink(p);
            free(p);
        }
        snprintf(where, sizeof(where), "truncated extent #%u at byte offset %zu", n, at);
        expect_reject_len(&single, at + 1, where, "1 bytes into its 512-byte header",
                          NULL);
        expect_reject_len(&single, at + 511, where, "512-byte header", NULL);
        if (len > VMA_EXTENT_HEADER_SIZE) {
            expect_reject_len(&single, at + VMA_EXTENT_HEADER_SIZE + 1, where,
                              "data bytes", NULL);
            expect_reject_len(&single, at + len - 1, where, "data bytes", NULL);
        }
        at += len;
    }
    assert_true(n >= 9);
    /* The header alone: nothing is there. */
    expect_reject_len(&single, header_size(&single), "cluster 0 is missing", NULL);
}

static void test_trailing_garbage(void **state)
{
    archive a = copy_of(&base);

    (void)state;
    memset(a.buf + a.len, 0, 100);
    a.len += 100;
    expect_reject(&a, "truncated extent", NULL);
    memset(a.buf + a.len, 0, 412);
    a.len += 412;
    expect_reject(&a, "wrong magic", NULL);
    free(a.buf);
}

static void test_vmstate_order(void **state)
{
    /* In `single` the vmstate's 3 clusters are the last 3 extents. */
    size_t count = 0;
    archive a = copy_of(&single);

    (void)state;
    for (size_t at = header_size(&single); at < single.len; count++) {
        at += VMA_EXTENT_HEADER_SIZE +
              (size_t)vma_get_be16(single.buf + at + VMA_E_BLOCK_COUNT) * VMA_BLOCK_SIZE;
    }
    size_t last = extent_at(&single, (unsigned)count - 1);
    size_t prev = extent_at(&single, (unsigned)count - 2);
    uint64_t bi = get_blockinfo(&single, last, 0);

    assert_int_equal((uint32_t)bi, 2);
    set_blockinfo(&a, last, 0, (bi & ~(uint64_t)0xffffffff) | 1);
    expect_reject(&a, "vmstate cluster 1 out of order (expected 2)", NULL);

    /* Swap the last two extents (vmstate 1 and 2). */
    size_t lp = last - prev, ll = single.len - last;

    memcpy(a.buf + prev, single.buf + last, ll);
    memcpy(a.buf + prev + ll, single.buf + prev, lp);
    expect_reject(&a, "vmstate cluster 2 out of order (expected 1)", NULL);
    free(a.buf);
}

/* A reader on a pipe sees the same errors (no seeking anywhere). */
typedef struct feeder {
    int fd;
    const uint8_t *buf;
    size_t len;
} feeder;

static void *feed(void *opaque)
{
    feeder *f = opaque;

    vma_write_all(f->fd, f->buf, f->len);
    close(f->fd);
    return NULL;
}

static void test_pipe(void **state)
{
    int fds[2];
    pthread_t t;
    feeder f;
    vma_error err = { 0 };
    vma_reader *r;

    (void)state;
    for (int truncated = 0; truncated < 2; truncated++) {
        assert_int_equal(pipe(fds), 0);
        f = (feeder){ fds[1], base.buf, base.len - (truncated ? 700 : 0) };
        pthread_create(&t, NULL, feed, &f);
        r = vma_reader_open_fd(fds[0], true, &err);
        assert_non_null(r);
        int ret = vma_reader_restore(r, &err);

        if (truncated) {
            assert_true(ret < 0);
            assert_non_null(strstr(err.msg, "truncated extent"));
        } else {
            assert_int_equal(ret, 0);
        }
        vma_reader_free(r);
        pthread_join(t, NULL);
    }
}

static bool leftovers(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    bool found = false;

    while (d && (de = readdir(d))) {
        found |= strncmp(de->d_name, prefix, strlen(prefix)) == 0;
    }
    if (d) {
        closedir(d);
    }
    return found;
}

/* A failed extract leaves neither the directory nor its temporary. */
static void test_extract_all_or_nothing(void **state)
{
    char *path = tu_path(workdir, "bad.vma");
    char *out = tu_path(workdir, "restored");
    vma_error err = { 0 };
    size_t e1 = extent_at(&base, 1);

    (void)state;
    tu_write_file(path, base.buf, e1 + 1000);
    assert_true(vma_extract_archive(path, out, NULL, &err) < 0);
    assert_non_null(strstr(err.msg, "truncated extent #1"));
    assert_false(tu_exists(out));
    assert_false(leftovers(workdir, ".restored"));
    unlink(path);
    free(path);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_bit_flips),
        cmocka_unit_test(test_header_sizes),
        cmocka_unit_test(test_blob_chain),
        cmocka_unit_test(test_config_pointers),
        cmocka_unit_test(test_device_info),
        cmocka_unit_test(test_extent_header_fields),
        cmocka_unit_test(test_extent_entries),
        cmocka_unit_test(test_duplicate_and_missing_extents),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_trailing_garbage),
        cmocka_unit_test(test_vmstate_order),
        cmocka_unit_test(test_pipe),
        cmocka_unit_test(test_extract_all_or_nothing),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
