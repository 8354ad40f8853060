// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * VMA reader: checks the header, then streams the extents once, front to
 * back (so it works on pipes), checking every field and writing the data of
 * the devices that have a target.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "vma/vma_int.h"

typedef struct vma_rdev {
    vma_device_info info;     /* info.name == NULL: unused */
    uint64_t cluster_count;
    uint8_t *seen;            /* one bit per cluster */
    uint64_t clusters;        /* clusters seen */
    uint64_t zero_bytes;
    int fd;                   /* target, or -1 */
    bool write_zeroes;
    bool keep_size;
    bool fresh;               /* target reads as zeroes: see VMA_TARGET_FRESH */
    vma_throttle *throttle;
    bool regular;             /* target is a regular file: truncate at end */
} vma_rdev;

/* A run of target bytes contiguous in the file, gathered from the extent
 * buffer and the zero buffer, written with one pwritev: one system call per
 * run instead of one per 4 KiB block. */
enum { VMA_PENDING_IOV = 1024 };    /* IOV_MAX on Linux */

typedef struct pending_write {
    vma_rdev *dev;
    uint64_t offset;
    size_t len;
    unsigned niov;
    struct iovec iov[VMA_PENDING_IOV];
} pending_write;

/* Clusters with data of a fresh target, contiguous in the file, to be
 * allocated (fallocate) before their blocks are written. */
typedef struct pending_alloc {
    vma_rdev *dev;
    uint64_t start, end;
} pending_alloc;

struct vma_reader {
    int fd;
    bool own_fd;
    /* Bytes read to detect compression, consumed before fd. */
    uint8_t peek[16];
    size_t peek_len, peek_pos;
    vma_decomp *decomp;
    int compression;
    uint64_t cluster_bytes;
    uint64_t total_bytes;
    uint64_t partial_zero_bytes;    /* zero blocks of clusters with data */
    uint8_t *header;
    uint32_t header_size;
    uint8_t uuid[VMA_UUID_SIZE];
    int64_t ctime;

    vma_config_info configs[VMA_MAX_CONFIGS];
    unsigned config_count;
    vma_rdev devs[256];
    unsigned dev_count;
    unsigned vmstate_id;
    uint64_t vmstate_length;

    uint8_t *extent;          /* VMA_MAX_EXTENT_SIZE */
    /* A plain archive in a regular file is mapped for restore: extent data
     * goes from the page cache to the targets in one copy, never through
     * extent[]. map_at is the file offset of the archive's byte 0. */
    const uint8_t *map;
    size_t map_size;
    uint64_t map_at;
    uint64_t bytes_read;
    uint64_t extents;
    bool restored;
    pending_write pending;
    pending_alloc alloc;
    size_t held;              /* extent bytes held in the decoder's ring */

    vma_progress_fn progress;
    void *progress_opaque;
};

/* Zero blocks written from here; a whole cluster, so that the zero blocks
 * of one cluster form a single iovec. */
static const uint8_t zero_cluster[VMA_CLUSTER_SIZE];

/* Read up to len archive bytes (short only at the end): the peeked bytes
 * first, then the fd (a pipe from the decompressor for compressed input). */
static ssize_t reader_read(vma_reader *r, void *buf, size_t len)
{
    size_t done = 0;
    ssize_t n;

    if (r->peek_pos < r->peek_len) {
        done = r->peek_len - r->peek_pos < len ? r->peek_len - r->peek_pos : len;
        memcpy(buf, r->peek + r->peek_pos, done);
        r->peek_pos += done;
    }
    if (done == len) {
        return (ssize_t)done;
    }
    n = r->decomp ? vma_decomp_read(r->decomp, (uint8_t *)buf + done, len - done)
                  : vma_read_full(r->fd, (uint8_t *)buf + done, len - done);
    return n < 0 ? n : (ssize_t)done + n;
}

/* A failure while reading compressed input: the decoder's reason (corrupt
 * or truncated stream) is the real one, not the truncated archive it left. */
static int decomp_failure(vma_reader *r, int ret, vma_error *err)
{
    int code;

    if (!r->decomp) {
        return ret;
    }
    code = vma_decomp_finish(r->decomp, err);
    r->decomp = NULL;
    r->fd = -1;
    return code ? code : ret;
}

/* ------------------------------------------------------------------------ */
/* Header                                                                    */
/* ------------------------------------------------------------------------ */

static void hex16(const uint8_t *p, char out[33])
{
    for (int i = 0; i < 16; i++) {
        snprintf(out + 2 * i, 3, "%02x", p[i]);
    }
}

/* Blob index: bit p set iff a blob starts at blob buffer offset p. */
typedef struct blob_index {
    const uint8_t *base;      /* blob buffer */
    uint32_t size;
    uint8_t *starts;
} blob_index;

static int index_blobs(blob_index *bi, vma_error *err)
{
    uint32_t pos = 1;

    bi->starts = calloc(bi->size / 8 + 1, 1);
    if (!bi->starts) {
        return vma_fail(err, -ENOMEM, "out of memory indexing the blob buffer");
    }
    while (pos < bi->size) {
        uint32_t len;

        if (pos + 2 > bi->size) {
            return vma_fail(err, -EINVAL, "blob at blob buffer offset %u: its length "
                            "field runs past the end of the blob buffer (%u bytes)",
                            pos, bi->size);
        }
        len = bi->base[pos] | (uint32_t)bi->base[pos + 1] << 8;
        if ((uint64_t)pos + 2 + len > bi->size) {
            return vma_fail(err, -EINVAL, "blob at blob buffer offset %u (%u bytes) runs "
                            "past the end of the blob buffer (%u bytes)", pos, len,
                            bi->size);
        }
        bi->starts[pos / 8] |= (uint8_t)(1u << (pos % 8));
        pos += 2 + len;
    }
    return 0;
}

/* Resolve a blob pointer read from header byte `at` (described by `field`). */
static int get_blob(const blob_index *bi, uint32_t ptr, const char *field, unsigned at,
                    const uint8_t **data, size_t *len, vma_error *err)
{
    if (ptr == 0 || ptr >= bi->size || !(bi->starts[ptr / 8] & (1u << (ptr % 8)))) {
        return vma_fail(err, -EINVAL, "%s (header byte %u) points to blob buffer offset "
                        "%u, where no blob starts", field, at, ptr);
    }
    *len = bi->base[ptr] | (size_t)bi->base[ptr + 1] << 8;
    *data = bi->base + ptr + 2;
    return 0;
}

static int get_string(const blob_index *bi, uint32_t ptr, const char *field, unsigned at,
                      const char **out, vma_error *err)
{
    const uint8_t *data = NULL;
    size_t len = 0;
    int ret = get_blob(bi, ptr, field, at, &data, &len, err);

    if (ret < 0) {
        return ret;
    }
    if (len < 2 || data[len - 1] != 0 || memchr(data, 0, len - 1)) {
        return vma_fail(err, -EINVAL, "%s (header byte %u) points to blob %u, which is "
                        "not a non-empty NUL-terminated string", field, at, ptr);
    }
    *out = (const char *)data;
    return 0;
}

static int parse_header(vma_reader *r, vma_error *err)
{
    uint8_t fixed[VMA_HEADER_FIXED_SIZE];
    uint8_t stored_md5[16], md5[16];
    blob_index bi = { 0 };
    uint32_t blob_offset, blob_size;
    ssize_t n;
    int ret = 0;

    memset(fixed, 0, 4);          /* a short file must not match the magic */
    n = reader_read(r, fixed, sizeof(fixed));
    if (n < 0) {
        return vma_fail(err, (int)n, "reading the archive header failed: %s",
                        strerror((int)-n));
    }
    if (n == 0) {
        return vma_fail(err, -EINVAL, "the archive is empty");
    }
    if (memcmp(fixed + VMA_H_MAGIC, "VMA", 4) != 0) {
        return vma_fail(err, -EINVAL, "not a VMA archive: wrong magic at byte 0 "
                        "(%02x %02x %02x %02x, expected 56 4d 41 00)", fixed[0],
                        fixed[1], fixed[2], fixed[3]);
    }
    if ((size_t)n < sizeof(fixed)) {
        return vma_fail(err, -EINVAL, "truncated header: the archive has only %zd bytes, "
                        "the fixed header needs %u", n, VMA_HEADER_FIXED_SIZE);
    }
    if (vma_get_be32(fixed + VMA_H_VERSION) != 1) {
        return vma_fail(err, -EINVAL, "unsupported VMA version %u at byte 4 "
                        "(expected 1)", vma_get_be32(fixed + VMA_H_VERSION));
    }
    r->header_size = vma_get_be32(fixed + VMA_H_HEADER_SIZE);
    if (r->header_size <= VMA_HEADER_FIXED_SIZE || r->header_size % 512 ||
        r->header_size > VMA_MAX_HEADER_SIZE) {
        return vma_fail(err, -EINVAL, "header_size %u at byte 56 is invalid (must be a "
                        "multiple of 512 above %u and at most %u)", r->header_size,
                        VMA_HEADER_FIXED_SIZE, VMA_MAX_HEADER_SIZE);
    }
    r->header = malloc(r->header_size);
    if (!r->header) {
        return vma_fail(err, -ENOMEM, "out of memory for a %u-byte header",
                        r->header_size);
    }
    memcpy(r->header, fixed, sizeof(fixed));
    n = reader_read(r, r->header + sizeof(fixed), r->header_size - sizeof(fixed));
    if (n < 0) {
        return vma_fail(err, (int)n, "reading the archive header failed: %s",
                        strerror((int)-n));
    }
    if ((size_t)n < r->header_size - sizeof(fixed)) {
        return vma_fail(err, -EINVAL, "truncated header: header_size is %u but the "
                        "archive ends after %zu bytes", r->header_size,
                        sizeof(fixed) + (size_t)n);
    }
    r->bytes_read = r->header_size;

    memcpy(stored_md5, r->header + VMA_H_MD5, 16);
    memset(r->header + VMA_H_MD5, 0, 16);
    vma_md5(r->header, r->header_size, md5);
    memcpy(r->header + VMA_H_MD5, stored_md5, 16);
    if (memcmp(md5, stored_md5, 16) != 0) {
        char want[33], got[33];

        hex16(stored_md5, want);
        hex16(md5, got);
        return vma_fail(err, -EINVAL, "header md5 mismatch (bytes 32-47): stored %s, "
                        "computed %s over %u header bytes", want, got, r->header_size);
    }

    memcpy(r->uuid, r->header + VMA_H_UUID, VMA_UUID_SIZE);
    r->ctime = (int64_t)vma_get_be64(r->header + VMA_H_CTIME);
    blob_offset = vma_get_be32(r->header + VMA_H_BLOB_OFFSET);
    blob_size = vma_get_be32(r->header + VMA_H_BLOB_SIZE);
    if (blob_offset < VMA_HEADER_FIXED_SIZE || blob_offset >= r->header_size) {
        return vma_fail(err, -EINVAL, "blob_buffer_offset %u at byte 48 is out of range "
                        "(%u..%u)", blob_offset, VMA_HEADER_FIXED_SIZE,
                        r->header_size - 1);
    }
    if (blob_size > r->header_size - blob_offset) {
        return vma_fail(err, -EINVAL, "blob_buffer_size %u at byte 52 runs past "
                        "header_size %u (blob buffer starts at %u)", blob_size,
                        r->header_size, blob_offset);
    }
    bi.base = r->header + blob_offset;
    bi.size = blob_size;
    if ((ret = index_blobs(&bi, err)) < 0) {
        goto out;
    }

    for (unsigned i = 0; i < VMA_MAX_CONFIGS; i++) {
        unsigned name_at = VMA_H_CONFIG_NAMES + 4 * i;
        unsigned data_at = VMA_H_CONFIG_DATA + 4 * i;
        uint32_t name_ptr = vma_get_be32(r->header + name_at);
        uint32_t data_ptr = vma_get_be32(r->header + data_at);
        vma_config_info *c = &r->configs[r->config_count];
        char field[40];
        const uint8_t *data = NULL;

        if (!name_ptr && !data_ptr) {
            continue;
        }
        snprintf(field, sizeof(field), "config_names[%u]", i);
        if (!name_ptr) {
            ret = vma_fail(err, -EINVAL, "config_data[%u] (header byte %u) is set but "
                           "config_names[%u] is 0", i, data_at, i);
            goto out;
        }
        if ((ret = get_string(&bi, name_ptr, field, name_at, &c->name, err)) < 0) {
            goto out;
        }
        snprintf(field, sizeof(field), "config_data[%u]", i);
        if (!data_ptr) {
            ret = vma_fail(err, -EINVAL, "config_names[%u] (header byte %u) is set but "
                           "config_data[%u] is 0", i, name_at, i);
            goto out;
        }
        if ((ret = get_blob(&bi, data_ptr, field, data_at, &data, &c->len, err)) < 0) {
            goto out;
        }
        c->data = data;
        r->config_count++;
    }

    for (unsigned id = 0; id < 256; id++) {
        unsigned at = VMA_H_DEV_INFO + VMA_DEV_INFO_SIZE * id;
        uint32_t name_ptr = vma_get_be32(r->header + at);
        uint64_t size = vma_get_be64(r->header + at + 8);
        vma_rdev *d = &r->devs[id];
        char field[40];

        if (!name_ptr && !size) {
            continue;
        }
        if (id == 0 || id == 255) {
            ret = vma_fail(err, -EINVAL, "dev_info[%u] (header byte %u) is in use, but "
                           "dev_id %u is reserved", id, at, id);
            goto out;
        }
        if (!name_ptr) {
            ret = vma_fail(err, -EINVAL, "dev_info[%u] (header byte %u) has size %llu "
                           "but no name", id, at, (unsigned long long)size);
            goto out;
        }
        snprintf(field, sizeof(field), "dev_info[%u].name", id);
        if ((ret = get_string(&bi, name_ptr, field, at, &d->info.name, err)) < 0) {
            goto out;
        }
        d->info.is_vmstate = strcmp(d->info.name, VMA_VMSTATE_NAME) == 0;
        if (!d->info.is_vmstate) {
            if (size == 0) {
                ret = vma_fail(err, -EINVAL, "device '%s' (dev_info[%u], header byte %u) "
                               "has size 0", d->info.name, id, at + 8);
                goto out;
            }
            if ((size - 1) / VMA_CLUSTER_SIZE > UINT32_MAX) {
                ret = vma_fail(err, -EINVAL, "device '%s' (dev_info[%u], header byte %u) "
                               "has size %llu, beyond 2^32 clusters", d->info.name, id,
                               at + 8, (unsigned long long)size);
                goto out;
            }
        }
        for (unsigned other = 1; other < id; other++) {
            if (r->devs[other].info.name &&
                strcmp(r->devs[other].info.name, d->info.name) == 0) {
                ret = vma_fail(err, -EINVAL, "device name '%s' is used by dev_id %u and "
                               "dev_id %u", d->info.name, other, id);
                goto out;
            }
        }
        d->info.dev_id = id;
        d->info.size = size;
        if (d->info.is_vmstate) {
            r->vmstate_id = id;
        } else {
            d->cluster_count = (size + VMA_CLUSTER_SIZE - 1) / VMA_CLUSTER_SIZE;
            d->seen = calloc((size_t)(d->cluster_count / 8 + 1), 1);
            if (!d->seen) {
                ret = vma_fail(err, -ENOMEM, "out of memory for device '%s'",
                               d->info.name);
                goto out;
            }
        }
        r->dev_count++;
        r->total_bytes += size;
    }
    /* No device at all is fine: Proxmox writes config-only archives. */
out:
    free(bi.starts);
    return ret;
}

vma_reader *vma_reader_open_fd(int fd, bool own_fd, vma_error *err)
{
    vma_reader *r = calloc(1, sizeof(*r));

    if (!r) {
        vma_fail(err, -ENOMEM, "out of memory allocating the VMA reader");
        if (own_fd) {
            close(fd);
        }
        return NULL;
    }
    r->fd = fd;
    r->own_fd = own_fd;
    for (unsigned id = 0; id < 256; id++) {
        r->devs[id].fd = -1;
    }
    /* Compressed input is recognised by its magic, so a pipe works too. */
    ssize_t n = vma_read_full(fd, r->peek, sizeof(r->peek));

    if (n < 0) {
        vma_fail(err, (int)n, "reading the archive header failed: %s", strerror((int)-n));
        vma_reader_free(r);
        return NULL;
    }
    r->peek_len = (size_t)n;
    r->compression = vma_decomp_detect(r->peek, r->peek_len);
    if (r->compression != VMA_COMP_NONE) {
        r->decomp = vma_decomp_start(r->compression, fd, own_fd, r->peek, r->peek_len,
                                     err);
        if (!r->decomp) {
            vma_reader_free(r);
            return NULL;
        }
        /* The decoder owns fd now. */
        r->own_fd = false;
        r->fd = -1;
        r->peek_len = 0;
    }
    if (parse_header(r, err) < 0) {
        if (r->decomp) {
            vma_error derr = { 0 };

            decomp_failure(r, -EINVAL, &derr);
            if (derr.code && err) {
                *err = derr;
            }
        }
        vma_reader_free(r);
        return NULL;
    }
    return r;
}

vma_reader *vma_reader_open(const char *path, vma_error *err)
{
    int fd;

    if (!path || !*path) {
        vma_fail(err, -EINVAL, "no archive path given");
        return NULL;
    }
    if (strcmp(path, "-") == 0) {
        return vma_reader_open_fd(STDIN_FILENO, false, err);
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        vma_fail(err, -errno, "cannot open archive '%s': %s", path, strerror(errno));
        return NULL;
    }
    return vma_reader_open_fd(fd, true, err);
}

void vma_reader_free(vma_reader *r)
{
    if (!r) {
        return;
    }
    if (r->decomp) {
        vma_decomp_finish(r->decomp, NULL);
    } else if (r->own_fd) {
        close(r->fd);
    }
    for (unsigned id = 0; id < 256; id++) {
        free(r->devs[id].seen);
    }
    free(r->extent);
    if (r->map) {
        munmap((void *)r->map, r->map_size);
    }
    free(r->header);
    free(r);
}

const uint8_t *vma_reader_uuid(const vma_reader *r)
{
    return r->uuid;
}

int64_t vma_reader_ctime(const vma_reader *r)
{
    return r->ctime;
}

uint32_t vma_reader_header_size(const vma_reader *r)
{
    return r->header_size;
}

unsigned vma_reader_config_count(const vma_reader *r)
{
    return r->config_count;
}

const vma_config_info *vma_reader_config(const vma_reader *r, unsigned index)
{
    return index < r->config_count ? &r->configs[index] : NULL;
}

const vma_device_info *vma_reader_device(const vma_reader *r, unsigned dev_id)
{
    if (dev_id > 255 || !r->devs[dev_id].info.name) {
        return NULL;
    }
    return &r->devs[dev_id].info;
}

unsigned vma_reader_device_count(const vma_reader *r)
{
    return r->dev_count;
}

unsigned vma_reader_vmstate_id(const vma_reader *r)
{
    return r->vmstate_id;
}

int vma_reader_set_target(vma_reader *r, unsigned dev_id, int fd, unsigned flags,
                          vma_error *err)
{
    struct stat st;
    vma_rdev *d;

    if (dev_id > 255 || !r->devs[dev_id].info.name) {
        return vma_fail(err, -ENOENT, "set target: the archive has no dev_id %u", dev_id);
    }
    if (r->restored) {
        return vma_fail(err, -EBUSY, "set target: the archive has already been read");
    }
    if (fd < 0 || fstat(fd, &st) < 0) {
        return vma_fail(err, -EBADF, "set target: invalid file descriptor %d for "
                        "device '%s'", fd, r->devs[dev_id].info.name);
    }
    d = &r->devs[dev_id];
    d->fd = fd;
    d->write_zeroes = flags & VMA_TARGET_WRITE_ZEROES;
    d->keep_size = flags & VMA_TARGET_KEEP_SIZE;
    d->fresh = flags & VMA_TARGET_FRESH;
    d->regular = S_ISREG(st.st_mode);
    return 0;
}

int vma_reader_set_throttle(vma_reader *r, unsigned dev_id, vma_throttle *t,
                            vma_error *err)
{
    if (dev_id > 255 || !r->devs[dev_id].info.name || r->devs[dev_id].fd < 0) {
        return vma_fail(err, -ENOENT, "set throttle: dev_id %u has no target", dev_id);
    }
    r->devs[dev_id].throttle = t;
    return 0;
}

static uint64_t mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Sleep until the target's group is no longer ahead of its rate. */
static void throttle_account(vma_throttle *t, uint64_t bytes)
{
    uint64_t now = mono_ns(), due;

    if (!t->bps) {
        return;
    }
    if (!t->start_ns) {
        t->start_ns = now;
    }
    t->bytes += bytes;
    due = (uint64_t)((unsigned __int128)t->bytes * 1000000000u / t->bps);
    if (due > now - t->start_ns) {
        uint64_t ns = due - (now - t->start_ns);
        struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000u),
                               .tv_nsec = (long)(ns % 1000000000u) };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
        }
    }
}

void vma_reader_set_progress(vma_reader *r, vma_progress_fn fn, void *opaque)
{
    r->progress = fn;
    r->progress_opaque = opaque;
}

/* ------------------------------------------------------------------------ */
/* Extents                                                                   */
/* ------------------------------------------------------------------------ */

/* pwritev until the whole run is written; the iovecs are consumed. */
static int pwritev_all(vma_rdev *d, struct iovec *iov, unsigned niov, uint64_t offset,
                       vma_error *err)
{
    while (niov > 0) {
        ssize_t n = pwritev(d->fd, iov, (int)niov, (off_t)offset);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EFAULT) {
                /* The mapped archive lost pages under us. */
                return vma_fail(err, -EIO, "writing device '%s' at offset %llu failed: "
                                "the archive file shrank while it was being read",
                                d->info.name, (unsigned long long)offset);
            }
            return vma_fail(err, -errno, "writing device '%s' at offset %llu failed: %s",
                            d->info.name, (unsigned long long)offset, strerror(errno));
        }
        if (n == 0) {
            return vma_fail(err, -EIO, "writing device '%s' at offset %llu wrote "
                            "nothing", d->info.name, (unsigned long long)offset);
        }
        offset += (uint64_t)n;
        if (d->throttle) {
            throttle_account(d->throttle, (uint64_t)n);
        }
        while (niov > 0 && (size_t)n >= iov->iov_len) {
            n -= (ssize_t)iov->iov_len;
            iov++;
            niov--;
        }
        if (niov > 0) {
            iov->iov_base = (uint8_t *)iov->iov_base + n;
            iov->iov_len -= (size_t)n;
        }
    }
    return 0;
}

/*
 * Allocate the clusters with data of a fresh target ahead of their writes,
 * in runs: writing 4 KiB blocks with holes between them into delayed
 * allocation costs the file system several times more per write than
 * filling blocks it already allocated (ext4: about 0.44 s against 0.35 s
 * of system time for 1 GiB of data in 2 GiB). All-zero clusters stay
 * holes. Where fallocate is not supported (or fails, e.g. for space) the
 * target is written without it: the writes themselves report real errors.
 */
static void issue_alloc(vma_reader *r)
{
    pending_alloc *a = &r->alloc;

    if (a->dev && a->dev->fresh &&
        fallocate(a->dev->fd, FALLOC_FL_KEEP_SIZE, (off_t)a->start,
                  (off_t)(a->end - a->start)) < 0) {
        a->dev->fresh = false;
    }
    a->dev = NULL;
}

static void queue_alloc(vma_reader *r, vma_rdev *d, uint64_t start, uint64_t end)
{
    pending_alloc *a = &r->alloc;

    if (a->dev == d && a->end == start) {
        a->end = end;
        return;
    }
    issue_alloc(r);
    a->dev = d;
    a->start = start;
    a->end = end;
}

static int flush_pending(vma_reader *r, vma_error *err)
{
    pending_write *p = &r->pending;
    int ret = 0;

    if (p->len) {
        ret = pwritev_all(p->dev, p->iov, p->niov, p->offset, err);
    }
    p->len = 0;
    p->niov = 0;
    return ret;
}

/* Queue a target write, adding it to the pending run when it continues it
 * in the file (and to the last iovec when it also continues it in memory). */
static int queue_write(vma_reader *r, vma_rdev *d, uint64_t offset,
                       const uint8_t *data, size_t len, vma_error *err)
{
    pending_write *p = &r->pending;
    int ret;

    if (p->len && p->dev == d && p->offset + p->len == offset) {
        struct iovec *last = &p->iov[p->niov - 1];

        if ((const uint8_t *)last->iov_base + last->iov_len == data) {
            last->iov_len += len;
            p->len += len;
            return 0;
        }
        if (p->niov < VMA_PENDING_IOV) {
            p->iov[p->niov].iov_base = (void *)data;
            p->iov[p->niov].iov_len = len;
            p->niov++;
            p->len += len;
            return 0;
        }
    }
    if ((ret = flush_pending(r, err)) < 0) {
        return ret;
    }
    p->dev = d;
    p->offset = offset;
    p->iov[0].iov_base = (void *)data;
    p->iov[0].iov_len = len;
    p->niov = 1;
    p->len = len;
    return 0;
}

static unsigned popcount16(uint16_t v)
{
    return (unsigned)__builtin_popcount(v);
}

/* Check the 512-byte extent header; on success *blocks = its block_count. */
static int check_extent_header(vma_reader *r, uint64_t at, unsigned *blocks,
                               vma_error *err)
{
    uint8_t *e = r->extent;
    uint8_t stored_md5[16], md5[16];
    unsigned mask_blocks = 0;
    unsigned long long no = (unsigned long long)r->extents;
    unsigned long long off = (unsigned long long)at;

    if (memcmp(e + VMA_E_MAGIC, "VMAE", 4) != 0) {
        return vma_fail(err, -EINVAL, "extent #%llu at byte offset %llu: wrong magic "
                        "(%02x %02x %02x %02x, expected 'VMAE')", no, off, e[0], e[1],
                        e[2], e[3]);
    }
    memcpy(stored_md5, e + VMA_E_MD5, 16);
    memset(e + VMA_E_MD5, 0, 16);
    vma_md5(e, VMA_EXTENT_HEADER_SIZE, md5);
    memcpy(e + VMA_E_MD5, stored_md5, 16);
    if (memcmp(md5, stored_md5, 16) != 0) {
        char want[33], got[33];

        hex16(stored_md5, want);
        hex16(md5, got);
        return vma_fail(err, -EINVAL, "extent #%llu at byte offset %llu: header md5 "
                        "mismatch (stored %s, computed %s)", no, off, want, got);
    }
    if (vma_get_be16(e + VMA_E_RESERVED) != 0) {
        return vma_fail(err, -EINVAL, "extent #%llu at byte offset %llu: reserved field "
                        "(bytes 4-5) is 0x%04x, expected 0", no, off,
                        vma_get_be16(e + VMA_E_RESERVED));
    }
    if (memcmp(e + VMA_E_UUID, r->uuid, VMA_UUID_SIZE) != 0) {
        char theirs[37], ours[37];

        vma_uuid_format(e + VMA_E_UUID, theirs);
        vma_uuid_format(r->uuid, ours);
        return vma_fail(err, -EINVAL, "extent #%llu at byte offset %llu: foreign uuid %s "
                        "(the archive's uuid is %s)", no, off, theirs, ours);
    }
    for (unsigned i = 0; i < VMA_EXTENT_SLOTS; i++) {
        uint64_t bi = vma_get_be64(e + VMA_E_BLOCKINFO + 8 * i);
        uint8_t reserved = (uint8_t)(bi >> 40);
        uint8_t dev_id = (uint8_t)(bi >> 32);

        if (bi == 0) {
            continue;
        }
        if (reserved) {
            return vma_fail(err, -EINVAL, "extent #%llu at byte offset %llu: "
                            "blockinfo[%u] has reserved byte 0x%02x, expected 0", no, off,
                            i, reserved);
        }
        if (dev_id == 0) {
            return vma_fail(err, -EINVAL, "extent #%llu at byte offset %llu: "
                            "blockinfo[%u] has dev_id 0 but is not all zero", no, off, i);
        }
        mask_blocks += popcount16((uint16_t)(bi >> 48));
    }
    *blocks = vma_get_be16(e + VMA_E_BLOCK_COUNT);
    if (*blocks != mask_blocks) {
        return vma_fail(err, -EINVAL, "extent #%llu at byte offset %llu: block_count %u "
                        "does not match its masks (%u blocks)", no, off, *blocks,
                        mask_blocks);
    }
    return 0;
}

typedef struct cluster_write {
    vma_rdev *dev;
    uint64_t base, limit;     /* device bytes [base, limit) of the cluster */
    uint16_t mask;
} cluster_write;

/* Apply a checked extent (header in extent[], its blocks at data): checks
 * and bookkeeping for every cluster (and allocation ahead), then the
 * target writes. */
static int apply_extent(vma_reader *r, uint64_t at, const uint8_t *data,
                        vma_error *err)
{
    const uint8_t *e = r->extent;
    cluster_write todo[VMA_EXTENT_SLOTS];
    unsigned ntodo = 0;
    unsigned long long no = (unsigned long long)r->extents;
    unsigned long long off = (unsigned long long)at;
    int ret;

    for (unsigned i = 0; i < VMA_EXTENT_SLOTS; i++) {
        uint64_t bi = vma_get_be64(e + VMA_E_BLOCKINFO + 8 * i);
        uint16_t mask = (uint16_t)(bi >> 48);
        unsigned dev_id = (uint8_t)(bi >> 32);
        uint64_t cluster = (uint32_t)bi;
        uint64_t base = cluster * VMA_CLUSTER_SIZE;
        uint64_t limit;
        vma_rdev *d;

        if (bi == 0) {
            continue;
        }
        d = &r->devs[dev_id];
        if (!d->info.name) {
            return vma_fail(err, -EINVAL, "extent #%llu at byte offset %llu: "
                            "blockinfo[%u] names dev_id %u, which has no device", no, off,
                            i, dev_id);
        }
        if (d->info.is_vmstate) {
            if (cluster != d->clusters) {
                return vma_fail(err, -EINVAL, "extent #%llu at byte offset %llu: "
                                "blockinfo[%u]: vmstate cluster %llu out of order "
                                "(expected %llu)", no, off, i,
                                (unsigned long long)cluster,
                                (unsigned long long)d->clusters);
            }
            limit = base + VMA_CLUSTER_SIZE;
        } else {
            if (cluster >= d->cluster_count) {
                return vma_fail(err, -EINVAL, "extent #%llu at byte offset %llu: "
                                "blockinfo[%u]: cluster %llu is beyond the end of device "
                                "'%s' (%llu clusters)", no, off, i,
                                (unsigned long long)cluster, d->info.name,
                                (unsigned long long)d->cluster_count);
            }
            if (d->seen[cluster / 8] & (1u << (cluster % 8))) {
                return vma_fail(err, -EINVAL, "extent #%llu at byte offset %llu: "
                                "blockinfo[%u]: cluster %llu of device '%s' appears twice",
                                no, off, i, (unsigned long long)cluster, d->info.name);
            }
            d->seen[cluster / 8] |= (uint8_t)(1u << (cluster % 8));
            limit = d->info.size;
        }
        d->clusters++;
        r->cluster_bytes += VMA_CLUSTER_SIZE;
        if (mask && d->fresh && d->fd >= 0 && !d->info.is_vmstate && base < limit) {
            queue_alloc(r, d, base, limit - base < VMA_CLUSTER_SIZE ? limit
                                                                    : base + VMA_CLUSTER_SIZE);
        }

        for (unsigned b = 0; b < VMA_BLOCKS_PER_CLUSTER; b++) {
            uint64_t pos = base + (uint64_t)b * VMA_BLOCK_SIZE;
            size_t len = pos >= limit ? 0
                         : (size_t)(limit - pos < VMA_BLOCK_SIZE ? limit - pos
                                                                 : VMA_BLOCK_SIZE);

            if (!(mask & (1u << b))) {
                d->zero_bytes += len;
                if (mask) {
                    r->partial_zero_bytes += len;
                }
            }
        }
        todo[ntodo++] = (cluster_write){ d, base, limit, mask };
    }
    issue_alloc(r);

    /* Then the data, in the extent's order. */
    for (unsigned t = 0; t < ntodo; t++) {
        vma_rdev *d = todo[t].dev;

        for (unsigned b = 0; b < VMA_BLOCKS_PER_CLUSTER; b++) {
            uint64_t pos = todo[t].base + (uint64_t)b * VMA_BLOCK_SIZE;
            uint64_t limit = todo[t].limit;
            size_t len = pos >= limit ? 0
                         : (size_t)(limit - pos < VMA_BLOCK_SIZE ? limit - pos
                                                                 : VMA_BLOCK_SIZE);
            const uint8_t *src;

            if (todo[t].mask & (1u << b)) {
                src = data;
                data += VMA_BLOCK_SIZE;
            } else if (d->write_zeroes) {
                src = zero_cluster + b * VMA_BLOCK_SIZE;
            } else {
                continue;
            }
            if (len && d->fd >= 0 && (ret = queue_write(r, d, pos, src, len, err)) < 0) {
                return ret;
            }
        }
    }
    return flush_pending(r, err);
}

static int finish_targets(vma_reader *r, vma_error *err)
{
    for (unsigned id = 1; id < 255; id++) {
        vma_rdev *d = &r->devs[id];
        uint64_t length = d->info.size;

        if (!d->info.name) {
            continue;
        }
        if (d->info.is_vmstate) {
            /* Whole clusters, unless the header's estimate ends inside the
             * last cluster: then it is the exact length (see vma.h). */
            length = d->clusters * VMA_CLUSTER_SIZE;
            if (d->clusters && d->info.size > length - VMA_CLUSTER_SIZE &&
                d->info.size <= length) {
                length = d->info.size;
            }
            r->vmstate_length = length;
        } else if (d->clusters != d->cluster_count) {
            uint64_t c = 0;

            while (d->seen[c / 8] & (1u << (c % 8))) {
                c++;
            }
            return vma_fail(err, -EINVAL, "device '%s' (dev_id %u) is incomplete at the "
                            "end of the archive: cluster %llu is missing (%llu of %llu "
                            "clusters present)", d->info.name, id, (unsigned long long)c,
                            (unsigned long long)d->clusters,
                            (unsigned long long)d->cluster_count);
        }
        if (d->fd >= 0 && d->regular && !d->keep_size &&
            ftruncate(d->fd, (off_t)length) < 0) {
            return vma_fail(err, -errno, "setting the length of device '%s' to %llu "
                            "failed: %s", d->info.name, (unsigned long long)length,
                            strerror(errno));
        }
    }
    return 0;
}

static int restore_extents(vma_reader *r, vma_error *err);

int vma_reader_restore(vma_reader *r, vma_error *err)
{
    int ret = restore_extents(r, err);

    if (ret < 0) {
        vma_error derr = { 0 };
        int code = decomp_failure(r, ret, &derr);

        if (derr.code && err) {
            *err = derr;
        }
        return code;
    }
    if (r->decomp) {
        /* The archive ended: the decoder must have ended cleanly too. */
        ret = vma_decomp_finish(r->decomp, err);
        r->decomp = NULL;
        r->fd = -1;
    }
    return ret;
}

/* Map the rest of a plain archive that is a regular file (see map in
 * struct vma_reader). Anything else, or a failing mmap, keeps read(); so
 * does a run that writes nothing (verify), which is there to read every
 * byte of the archive. */
static void map_input(vma_reader *r)
{
    struct stat st;
    bool targets = false;
    off_t pos;
    void *m;

    for (unsigned id = 1; id < 256; id++) {
        targets |= r->devs[id].fd >= 0;
    }
    if (!targets || r->decomp || r->fd < 0 || r->peek_pos < r->peek_len ||
        fstat(r->fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
        (uint64_t)st.st_size > SIZE_MAX) {
        return;
    }
    pos = lseek(r->fd, 0, SEEK_CUR);
    if (pos < 0 || (uint64_t)pos < r->bytes_read || pos >= st.st_size) {
        return;
    }
    m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, r->fd, 0);
    if (m == MAP_FAILED) {
        return;
    }
    madvise(m, (size_t)st.st_size, MADV_SEQUENTIAL);
    r->map = m;
    r->map_size = (size_t)st.st_size;
    r->map_at = (uint64_t)pos - r->bytes_read;
}

/* Archive bytes [at, at+len) for an extent: the extent header always into
 * extent[] (with pread, so that a file that shrinks gives a short read, not
 * SIGBUS); with the map, *data points into it when the whole range lies
 * inside; otherwise the bytes are read into buf. Returns bytes available. */
static ssize_t extent_bytes(vma_reader *r, uint64_t at, uint8_t *buf, size_t len,
                            const uint8_t **data)
{
    uint64_t file_at = r->map_at + at;

    *data = buf;
    if (r->decomp && buf != r->extent && r->peek_pos >= r->peek_len) {
        /* Extent data stays in the decoder's ring until it is written. */
        ssize_t n = vma_decomp_peek(r->decomp, len, data);

        if (n != -ENOTSUP) {
            r->held = n > 0 ? (size_t)n : 0;
            return n;
        }
        *data = buf;
    }
    if (!r->map) {
        return reader_read(r, buf, len);
    }
    if (buf != r->extent && file_at + len <= r->map_size) {
        *data = r->map + file_at;
        return (ssize_t)len;
    }
    size_t done = 0;

    while (done < len) {
        ssize_t n = pread(r->fd, buf + done, len - done, (off_t)(file_at + done));

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        if (n == 0) {
            break;
        }
        done += (size_t)n;
    }
    return (ssize_t)done;
}

static int restore_extents(vma_reader *r, vma_error *err)
{
    int ret;

    if (r->restored) {
        return vma_fail(err, -EBUSY, "the archive has already been read");
    }
    r->restored = true;
    r->extent = malloc(VMA_MAX_EXTENT_SIZE);
    if (!r->extent) {
        return vma_fail(err, -ENOMEM, "out of memory for the extent buffer");
    }
    map_input(r);
    for (;;) {
        uint64_t at = r->bytes_read;
        unsigned blocks = 0;
        size_t data_len;
        const uint8_t *data;
        ssize_t n = extent_bytes(r, at, r->extent, VMA_EXTENT_HEADER_SIZE, &data);

        if (n < 0) {
            return vma_fail(err, (int)n, "reading extent #%llu at byte offset %llu "
                            "failed: %s", (unsigned long long)r->extents,
                            (unsigned long long)at, strerror((int)-n));
        }
        if (n == 0) {
            break;
        }
        if (n < VMA_EXTENT_HEADER_SIZE) {
            return vma_fail(err, -EINVAL, "truncated extent #%llu at byte offset %llu: "
                            "the archive ends %zd bytes into its 512-byte header",
                            (unsigned long long)r->extents, (unsigned long long)at, n);
        }
        if ((ret = check_extent_header(r, at, &blocks, err)) < 0) {
            return ret;
        }
        data_len = (size_t)blocks * VMA_BLOCK_SIZE;
        n = extent_bytes(r, at + VMA_EXTENT_HEADER_SIZE,
                         r->extent + VMA_EXTENT_HEADER_SIZE, data_len, &data);
        if (n < 0) {
            return vma_fail(err, (int)n, "reading extent #%llu at byte offset %llu "
                            "failed: %s", (unsigned long long)r->extents,
                            (unsigned long long)at, strerror((int)-n));
        }
        if ((size_t)n < data_len) {
            return vma_fail(err, -EINVAL, "truncated extent #%llu at byte offset %llu: "
                            "the archive ends %zd bytes into its %zu data bytes",
                            (unsigned long long)r->extents, (unsigned long long)at, n,
                            data_len);
        }
        r->bytes_read += VMA_EXTENT_HEADER_SIZE + data_len;
        ret = apply_extent(r, at, data, err);
        if (r->held) {
            vma_decomp_consume(r->decomp, r->held);
            r->held = 0;
        }
        if (ret < 0) {
            return ret;
        }
        r->extents++;
        if (r->progress) {
            r->progress(r->progress_opaque, r->bytes_read);
        }
    }
    return finish_targets(r, err);
}

uint64_t vma_reader_vmstate_length(const vma_reader *r)
{
    return r->vmstate_length;
}

uint64_t vma_reader_bytes_read(const vma_reader *r)
{
    return r->bytes_read;
}

uint64_t vma_reader_extent_count(const vma_reader *r)
{
    return r->extents;
}

uint64_t vma_reader_zero_bytes(const vma_reader *r, unsigned dev_id)
{
    return dev_id < 256 ? r->devs[dev_id].zero_bytes : 0;
}

uint64_t vma_reader_cluster_bytes(const vma_reader *r)
{
    return r->cluster_bytes;
}

uint64_t vma_reader_total_bytes(const vma_reader *r)
{
    return r->total_bytes;
}

uint64_t vma_reader_partial_zero_bytes(const vma_reader *r)
{
    return r->partial_zero_bytes;
}

bool vma_reader_is_mapped(const vma_reader *r)
{
    return r->map != NULL;
}

const char *vma_reader_compression(const vma_reader *r)
{
    return vma_decomp_name(r->compression);
}
