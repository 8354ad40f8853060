// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The bytes go through a memfd: the reader takes an fd and never seeks, and
 * a memfd keeps every run in memory, so fuzzing writes nothing to disk.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vma/fuzz/vma_fuzz.h"
#include "vma/vma_int.h"

/* Devices up to this size get a memfd target, so the write and truncate
 * paths run too; larger ones are only verified (bounded memory). */
#define FUZZ_TARGET_MAX (1u << 20)

static int memfd_with(const uint8_t *data, size_t size, vma_error *err)
{
    int fd = memfd_create("vma-fuzz", MFD_CLOEXEC);

    if (fd < 0) {
        return vma_fail(err, -errno, "memfd_create failed");
    }
    if (size && vma_write_all(fd, data, size) < 0) {
        close(fd);
        return vma_fail(err, -EIO, "writing the memfd failed");
    }
    if (lseek(fd, 0, SEEK_SET) != 0) {
        close(fd);
        return vma_fail(err, -EIO, "lseek on the memfd failed");
    }
    return fd;
}

/* Recompute the checksums the mutated bytes broke. */
static void fix_md5(uint8_t *buf, size_t size)
{
    uint32_t header_size;
    uint8_t md5[16];
    size_t pos;

    if (size < VMA_HEADER_FIXED_SIZE || memcmp(buf, "VMA", 4) != 0) {
        return;
    }
    header_size = vma_get_be32(buf + VMA_H_HEADER_SIZE);
    if (header_size < VMA_HEADER_FIXED_SIZE || header_size > size) {
        return;
    }
    memset(buf + VMA_H_MD5, 0, 16);
    vma_md5(buf, header_size, md5);
    memcpy(buf + VMA_H_MD5, md5, 16);

    /* Extents: a 512-byte header, then block_count 4 KiB blocks. */
    for (pos = header_size; pos + VMA_EXTENT_HEADER_SIZE <= size;) {
        uint8_t *e = buf + pos;
        size_t blocks = vma_get_be16(e + VMA_E_BLOCK_COUNT);

        if (memcmp(e, "VMAE", 4) != 0) {
            break;
        }
        memset(e + VMA_E_MD5, 0, 16);
        vma_md5(e, VMA_EXTENT_HEADER_SIZE, md5);
        memcpy(e + VMA_E_MD5, md5, 16);
        pos += VMA_EXTENT_HEADER_SIZE + blocks * VMA_BLOCK_SIZE;
    }
}

static int open_input(const uint8_t *data, size_t size, unsigned flags, vma_error *err)
{
    uint8_t *copy;
    int fd;

    if (!(flags & VMA_FUZZ_FIX_MD5)) {
        return memfd_with(data, size, err);
    }
    copy = malloc(size ? size : 1);
    if (!copy) {
        return vma_fail(err, -ENOMEM, "out of memory");
    }
    memcpy(copy, data, size);
    fix_md5(copy, size);
    fd = memfd_with(copy, size, err);
    free(copy);
    return fd;
}

static void touch_accessors(const vma_reader *r)
{
    char uuid[37];
    volatile size_t sink = 0;

    vma_uuid_format(vma_reader_uuid(r), uuid);
    sink += strlen(uuid) + (size_t)vma_reader_ctime(r) + vma_reader_header_size(r);
    for (unsigned i = 0; i < vma_reader_config_count(r); i++) {
        const vma_config_info *c = vma_reader_config(r, i);
        sink += strlen(c->name) + c->len;
        if (c->len) {
            sink += ((const uint8_t *)c->data)[c->len - 1];
        }
    }
    for (unsigned id = 0; id < 256; id++) {
        const vma_device_info *d = vma_reader_device(r, id);
        if (d) {
            sink += strlen(d->name) + d->size + d->is_vmstate;
        }
    }
    sink += vma_reader_device_count(r) + vma_reader_vmstate_id(r);
    (void)sink;
}

int vma_fuzz_header(const uint8_t *data, size_t size, unsigned flags, vma_error *err)
{
    int fd = open_input(data, size, flags, err);
    vma_reader *r;

    if (fd < 0) {
        return fd;
    }
    r = vma_reader_open_fd(fd, true, err);
    if (!r) {
        return err->code < 0 ? err->code : -EINVAL;
    }
    touch_accessors(r);
    vma_reader_free(r);
    return 0;
}

int vma_fuzz_archive(const uint8_t *data, size_t size, unsigned flags, vma_error *err)
{
    int targets[256];
    int fd = open_input(data, size, flags, err);
    vma_reader *r;
    int ret = 0;

    if (fd < 0) {
        return fd;
    }
    r = vma_reader_open_fd(fd, true, err);
    if (!r) {
        return err->code < 0 ? err->code : -EINVAL;
    }
    touch_accessors(r);
    for (unsigned id = 0; id < 256; id++) {
        const vma_device_info *d = vma_reader_device(r, id);

        targets[id] = -1;
        if (!d || d->size > FUZZ_TARGET_MAX) {
            continue;
        }
        targets[id] = memfd_create("vma-fuzz-target", MFD_CLOEXEC);
        if (targets[id] < 0) {
            ret = vma_fail(err, -errno, "memfd_create failed");
            goto out;
        }
        ret = vma_reader_set_target(r, id, targets[id],
                                    id % 2 ? VMA_TARGET_WRITE_ZEROES : 0, err);
        if (ret < 0) {
            goto out;
        }
    }
    ret = vma_reader_restore(r, err);
    if (ret == 0) {
        volatile uint64_t sink = vma_reader_vmstate_length(r) + vma_reader_bytes_read(r) +
                                 vma_reader_extent_count(r);
        for (unsigned id = 0; id < 256; id++) {
            sink += vma_reader_zero_bytes(r, id);
        }
        (void)sink;
    }
out:
    vma_reader_free(r);
    for (unsigned id = 0; id < 256; id++) {
        if (targets[id] >= 0) {
            close(targets[id]);
        }
    }
    return ret;
}
