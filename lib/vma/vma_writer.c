// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * VMA writer: collects clusters into extents and streams header + extents to
 * a file descriptor without ever seeking.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <uuid/uuid.h>

#include "vma/vma_cleanup.h"
#include "vma/vma_int.h"

typedef struct vma_stream {
    char *name;               /* NULL: dev_id unused */
    bool is_vmstate;
    bool closed;
    uint64_t size;            /* device size, or the vmstate estimate */
    uint64_t cluster_count;   /* device clusters (not used for vmstate) */
    uint8_t *seen;            /* one bit per cluster: already stored */
    uint64_t clusters;        /* clusters stored */
    uint64_t transferred;
    uint64_t zero_bytes;
    uint32_t name_blob;       /* blob offset of the name */
} vma_stream;

struct vma_writer {
    int fd;
    bool own_fd;
    char *created_path;       /* temporary file we created, removed unless finished */
    char *final_path;         /* its name once complete */
    int cleanup;              /* vma_cleanup handle of created_path */
    bool finished;            /* close() succeeded */
    bool output_closed;

    int error_code;           /* sticky: first data or I/O error */
    char error_msg[sizeof(((vma_error *)0)->msg)];

    uint8_t uuid[VMA_UUID_SIZE];
    int64_t ctime;

    uint64_t speed;
    uint64_t (*now_ns)(void *opaque);
    void (*sleep_ns)(void *opaque, uint64_t ns);
    void *clock_opaque;
    uint64_t start_ns;

    /* Registration closes at the first cluster; the header is written with
     * the first extent (or at close). */
    bool frozen;
    bool header_written;

    uint8_t *blobs;           /* blob buffer; offset 0 is never used */
    size_t blob_pos;
    size_t blob_cap;

    uint32_t config_names[VMA_MAX_CONFIGS];
    uint32_t config_data[VMA_MAX_CONFIGS];
    char *config_name_copy[VMA_MAX_CONFIGS];
    unsigned config_count;

    vma_stream streams[256];
    unsigned stream_count;
    unsigned vmstate_id;
    uint8_t *vmstate_buf;     /* partial vmstate cluster being appended */
    size_t vmstate_fill;

    unsigned extent_clusters; /* clusters per extent */
    uint8_t *extent;          /* header + data of the extent being built */
    size_t extent_pos;        /* bytes used in extent[] */
    unsigned extent_used;     /* blockinfo entries used */
    uint64_t blockinfo[VMA_EXTENT_SLOTS];

    uint64_t bytes_written;
    uint64_t header_bytes;    /* size of the header once written */

    bool background;          /* opts->background and no speed limit */
    vma_bgwrite bg;           /* running once the first extent is handed over */
    uint8_t *spare;           /* the second extent buffer */
};

/* ------------------------------------------------------------------------ */

static int sticky(vma_writer *w, vma_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Record the first data/I/O error; later calls report the same one. */
static int sticky(vma_writer *w, vma_error *err, int code, const char *fmt, ...)
{
    va_list ap;

    if (!w->error_code) {
        vma_error tmp;

        va_start(ap, fmt);
        vma_vfail(&tmp, code, fmt, ap);
        va_end(ap);
        w->error_code = code;
        memcpy(w->error_msg, tmp.msg, sizeof(w->error_msg));
    }
    return vma_fail(err, w->error_code, "%s", w->error_msg);
}

void vma_writer_set_error(vma_writer *w, int code, const char *fmt, ...)
{
    va_list ap;
    vma_error tmp;

    if (w->error_code) {
        return;
    }
    va_start(ap, fmt);
    vma_vfail(&tmp, code < 0 ? code : -EIO, fmt, ap);
    va_end(ap);
    w->error_code = tmp.code;
    memcpy(w->error_msg, tmp.msg, sizeof(w->error_msg));
}

int vma_writer_error(const vma_writer *w, vma_error *err)
{
    if (w->error_code) {
        vma_fail(err, w->error_code, "%s", w->error_msg);
    }
    return w->error_code;
}

static uint64_t default_now_ns(void *opaque)
{
    struct timespec ts;

    (void)opaque;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void default_sleep_ns(void *opaque, uint64_t ns)
{
    struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000u),
                           .tv_nsec = (long)(ns % 1000000000u) };

    (void)opaque;
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

/* ------------------------------------------------------------------------ */
/* Creation                                                                  */
/* ------------------------------------------------------------------------ */

vma_writer *vma_writer_new_fd(int fd, bool own_fd, const vma_writer_options *opts,
                              vma_error *err)
{
    vma_writer_options defaults = { 0 };
    vma_writer *w;

    if (!opts) {
        opts = &defaults;
    }
    if (fd < 0) {
        vma_fail(err, -EBADF, "invalid output file descriptor %d", fd);
        return NULL;
    }
    if (opts->extent_clusters > VMA_EXTENT_SLOTS) {
        vma_fail(err, -EINVAL, "extent_clusters %u is out of range (1..%u, 0 = %u)",
                 opts->extent_clusters, VMA_EXTENT_SLOTS, VMA_WRITER_EXTENT_CLUSTERS);
        return NULL;
    }
    w = calloc(1, sizeof(*w));
    if (!w) {
        vma_fail(err, -ENOMEM, "out of memory allocating the VMA writer");
        return NULL;
    }
    w->extent_clusters = opts->extent_clusters ? opts->extent_clusters
                                               : VMA_WRITER_EXTENT_CLUSTERS;
    w->extent = malloc(VMA_EXTENT_HEADER_SIZE +
                       (size_t)w->extent_clusters * VMA_CLUSTER_SIZE);
    w->blob_cap = 4096;
    w->blobs = calloc(1, w->blob_cap);
    if (!w->extent || !w->blobs) {
        free(w->extent);
        free(w->blobs);
        free(w);
        vma_fail(err, -ENOMEM, "out of memory allocating the VMA writer buffers");
        return NULL;
    }
    w->fd = fd;
    w->own_fd = own_fd;
    w->cleanup = -1;
    w->blob_pos = 1;                       /* blob offset 0 means "none" */
    w->extent_pos = VMA_EXTENT_HEADER_SIZE;
    if (opts->uuid) {
        memcpy(w->uuid, opts->uuid, VMA_UUID_SIZE);
    } else {
        uuid_generate(w->uuid);
    }
    w->ctime = opts->ctime ? opts->ctime : (int64_t)time(NULL);
    w->speed = opts->speed;
    w->now_ns = opts->now_ns ? opts->now_ns : default_now_ns;
    w->sleep_ns = opts->sleep_ns ? opts->sleep_ns : default_sleep_ns;
    w->clock_opaque = opts->clock_opaque;
    w->start_ns = w->now_ns(w->clock_opaque);
    w->background = opts->background && !opts->speed;
    return w;
}

/* A temporary name in the archive's directory: ".<name>.part-XXXXXX", the
 * name cut so the whole stays within NAME_MAX (a name of 255 bytes is
 * valid). What a SIGKILL leaves behind is recognisable by it. */
static int open_temporary(const char *path, char **tmp_out)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    int dir_len = slash ? (int)(slash - path) + 1 : 0;
    static unsigned counter;

    for (int attempt = 0; attempt < 100; attempt++) {
        unsigned tag = ((unsigned)getpid() * 2654435761u) ^ (unsigned)time(NULL) ^
                       (++counter * 40503u);
        char *tmp;
        int fd;

        if (asprintf(&tmp, "%.*s.%.200s.part-%06x", dir_len, path, base,
                     tag & 0xffffff) < 0) {
            return -ENOMEM;
        }
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd >= 0) {
            *tmp_out = tmp;
            return fd;
        }
        free(tmp);
        if (errno != EEXIST) {
            return -errno;
        }
    }
    return -EEXIST;
}

vma_writer *vma_writer_create(const char *path, const vma_writer_options *opts,
                              vma_error *err)
{
    struct stat st;
    vma_writer *w;
    char *tmp = NULL;
    int fd;

    if (!path || !*path) {
        vma_fail(err, -EINVAL, "no archive path given");
        return NULL;
    }
    if (strcmp(path, "-") == 0) {
        return vma_writer_new_fd(STDOUT_FILENO, false, opts, err);
    }
    /* The archive is written under a temporary name and linked to its own
     * name only when complete, so no one sees a partial archive there. */
    if (lstat(path, &st) == 0) {
        vma_fail(err, -EEXIST, "cannot create archive '%s': %s", path, strerror(EEXIST));
        return NULL;
    }
    fd = open_temporary(path, &tmp);
    if (fd < 0) {
        vma_fail(err, fd, "cannot create archive '%s': %s", path, strerror(-fd));
        return NULL;
    }
    w = vma_writer_new_fd(fd, true, opts, err);
    if (!w) {
        close(fd);
        unlink(tmp);
        free(tmp);
        return NULL;
    }
    w->created_path = tmp;
    w->cleanup = vma_cleanup_add(tmp, false);
    w->final_path = strdup(path);
    if (!w->final_path) {
        vma_writer_free(w);
        vma_fail(err, -ENOMEM, "out of memory");
        return NULL;
    }
    return w;
}

/* Give the complete temporary file its name, refusing to replace a file
 * that appeared meanwhile. */
static int publish(vma_writer *w)
{
    if (link(w->created_path, w->final_path) == 0) {
        unlink(w->created_path);
        return 0;
    }
    if (errno == EEXIST) {
        return -EEXIST;
    }
    /* File systems without hard links. */
    if (renameat2(AT_FDCWD, w->created_path, AT_FDCWD, w->final_path,
                  RENAME_NOREPLACE) == 0) {
        return 0;
    }
    return -errno;
}

/* ------------------------------------------------------------------------ */
/* Registration                                                              */
/* ------------------------------------------------------------------------ */

/* Append a blob (2-byte little-endian length + data); returns its offset. */
static int add_blob(vma_writer *w, const void *data, size_t len, uint32_t *offset,
                    vma_error *err)
{
    size_t need = w->blob_pos + 2 + len;

    if (len > VMA_MAX_BLOB_SIZE) {
        return vma_fail(err, -E2BIG, "blob of %zu bytes exceeds the %u-byte limit",
                        len, VMA_MAX_BLOB_SIZE);
    }
    if (VMA_HEADER_FIXED_SIZE + need > VMA_MAX_HEADER_SIZE) {
        return vma_fail(err, -E2BIG, "header would exceed %u bytes",
                        VMA_MAX_HEADER_SIZE);
    }
    if (need > w->blob_cap) {
        size_t cap = w->blob_cap;
        uint8_t *grown;

        while (cap < need) {
            cap *= 2;
        }
        grown = realloc(w->blobs, cap);
        if (!grown) {
            return vma_fail(err, -ENOMEM, "out of memory growing the blob buffer");
        }
        memset(grown + w->blob_cap, 0, cap - w->blob_cap);
        w->blobs = grown;
        w->blob_cap = cap;
    }
    *offset = (uint32_t)w->blob_pos;
    w->blobs[w->blob_pos] = (uint8_t)(len & 0xff);
    w->blobs[w->blob_pos + 1] = (uint8_t)(len >> 8);
    if (len) {
        memcpy(w->blobs + w->blob_pos + 2, data, len);
    }
    w->blob_pos = need;
    return 0;
}

static int check_registration_open(vma_writer *w, vma_error *err)
{
    if (w->error_code) {
        return vma_writer_error(w, err);
    }
    if (w->frozen) {
        return vma_fail(err, -EBUSY,
                        "cannot register after data has been written: the header "
                        "is fixed by then");
    }
    return 0;
}

static int check_name(const char *what, const char *name, vma_error *err)
{
    return vma_name_check(what, name, err);
}

int vma_writer_add_config(vma_writer *w, const char *name, const void *data,
                          size_t len, vma_error *err)
{
    uint32_t name_off, data_off;
    size_t saved_pos = w->blob_pos;
    int ret;

    if ((ret = check_registration_open(w, err)) < 0 ||
        (ret = check_name("config", name, err)) < 0) {
        return ret;
    }
    if (w->config_count >= VMA_MAX_CONFIGS) {
        return vma_fail(err, -ENOSPC, "too many config blobs (limit %u)",
                        VMA_MAX_CONFIGS);
    }
    if (len > VMA_MAX_BLOB_SIZE) {
        return vma_fail(err, -E2BIG, "config '%s' is %zu bytes (limit %u)",
                        name, len, VMA_MAX_BLOB_SIZE);
    }
    if (len && !data) {
        return vma_fail(err, -EINVAL, "config '%s' has no data", name);
    }
    for (unsigned i = 0; i < w->config_count; i++) {
        if (strcmp(w->config_name_copy[i], name) == 0) {
            return vma_fail(err, -EEXIST, "config '%s' added twice", name);
        }
    }
    char *copy = strdup(name);
    if (!copy) {
        return vma_fail(err, -ENOMEM, "out of memory");
    }
    if ((ret = add_blob(w, name, strlen(name) + 1, &name_off, err)) < 0 ||
        (ret = add_blob(w, data, len, &data_off, err)) < 0) {
        w->blob_pos = saved_pos;
        free(copy);
        return ret;
    }
    w->config_names[w->config_count] = name_off;
    w->config_data[w->config_count] = data_off;
    w->config_name_copy[w->config_count] = copy;
    w->config_count++;
    return 0;
}

static int add_stream(vma_writer *w, const char *name, uint64_t size, bool vmstate,
                      vma_error *err)
{
    uint32_t name_off;
    size_t saved_pos = w->blob_pos;
    vma_stream *s;
    unsigned id;
    int ret;

    if ((ret = check_registration_open(w, err)) < 0 ||
        (ret = check_name("device", name, err)) < 0) {
        return ret;
    }
    if (w->stream_count >= VMA_MAX_DEVICES) {
        return vma_fail(err, -ENOSPC, "too many devices (limit %u)", VMA_MAX_DEVICES);
    }
    for (id = 1; id <= w->stream_count; id++) {
        if (strcmp(w->streams[id].name, name) == 0) {
            return vma_fail(err, -EEXIST, "device '%s' registered twice", name);
        }
    }
    if (!vmstate) {
        if (size == 0) {
            return vma_fail(err, -EINVAL, "device '%s' has size 0", name);
        }
        /* Cluster numbers are 32 bits wide. */
        if ((size - 1) / VMA_CLUSTER_SIZE > UINT32_MAX) {
            return vma_fail(err, -EFBIG, "device '%s' is too large (%llu bytes)",
                            name, (unsigned long long)size);
        }
    }
    id = w->stream_count + 1;
    s = &w->streams[id];
    memset(s, 0, sizeof(*s));
    if (!vmstate) {
        s->cluster_count = (size + VMA_CLUSTER_SIZE - 1) / VMA_CLUSTER_SIZE;
        s->seen = calloc((size_t)((s->cluster_count + 7) / 8), 1);
    }
    s->name = strdup(name);
    if (!s->name || (!vmstate && !s->seen)) {
        ret = vma_fail(err, -ENOMEM, "out of memory registering device '%s'", name);
        goto fail;
    }
    if ((ret = add_blob(w, name, strlen(name) + 1, &name_off, err)) < 0) {
        goto fail;
    }
    s->name_blob = name_off;
    s->size = size;
    s->is_vmstate = vmstate;
    w->stream_count = id;
    if (vmstate) {
        w->vmstate_id = id;
    }
    return (int)id;

fail:
    w->blob_pos = saved_pos;
    free(s->seen);
    free(s->name);
    memset(s, 0, sizeof(*s));
    return ret;
}

int vma_writer_add_device(vma_writer *w, const char *name, uint64_t size,
                          vma_error *err)
{
    if (name && strcmp(name, VMA_VMSTATE_NAME) == 0) {
        return vma_fail(err, -EINVAL,
                        "device name 'vmstate' is reserved for the VM state stream");
    }
    return add_stream(w, name, size, false, err);
}

int vma_writer_add_vmstate(vma_writer *w, uint64_t size_estimate, vma_error *err)
{
    if (w->vmstate_id) {
        return vma_fail(err, -EEXIST, "the vmstate stream is already registered");
    }
    int id = add_stream(w, VMA_VMSTATE_NAME, size_estimate, true, err);

    if (id > 0 && !w->vmstate_buf) {
        w->vmstate_buf = malloc(VMA_CLUSTER_SIZE);
        if (!w->vmstate_buf) {
            return vma_fail(err, -ENOMEM, "out of memory for the vmstate buffer");
        }
    }
    return id;
}

/* ------------------------------------------------------------------------ */
/* Output                                                                    */
/* ------------------------------------------------------------------------ */

static int emit(vma_writer *w, const void *buf, size_t len, vma_error *err)
{
    int ret = vma_write_all(w->fd, buf, len);

    if (ret < 0) {
        return sticky(w, err, ret, "writing %zu bytes at archive offset %llu failed: %s",
                      len, (unsigned long long)w->bytes_written, strerror(-ret));
    }
    w->bytes_written += len;
    if (w->speed) {
        /* Sleep until the output is no longer ahead of speed * elapsed. */
        uint64_t due_ns = (uint64_t)((unsigned __int128)w->bytes_written *
                                     1000000000u / w->speed);
        uint64_t elapsed = w->now_ns(w->clock_opaque) - w->start_ns;

        if (due_ns > elapsed) {
            w->sleep_ns(w->clock_opaque, due_ns - elapsed);
        }
    }
    return 0;
}

static int bg_failed(vma_writer *w, vma_error *err)
{
    return sticky(w, err, w->bg.error, "writing %zu bytes at archive offset %llu "
                  "failed: %s", w->bg.error_len, (unsigned long long)w->bg.error_at,
                  strerror(-w->bg.error));
}

/* Hand the full extent buffer to the background thread and continue in the
 * other one. Without a thread (it could not start) the write is plain. */
static int emit_extent(vma_writer *w, size_t len, vma_error *err)
{
    uint8_t *next;

    if (!w->background) {
        return emit(w, w->extent, len, err);
    }
    if (!w->bg.running) {
        if (!w->spare) {
            w->spare = malloc(VMA_EXTENT_HEADER_SIZE +
                              (size_t)w->extent_clusters * VMA_CLUSTER_SIZE);
        }
        if (!w->spare || vma_bgwrite_start(&w->bg, w->fd) < 0) {
            w->background = false;
            return emit(w, w->extent, len, err);
        }
    }
    if (vma_bgwrite_submit(&w->bg, w->extent, len, w->bytes_written) < 0) {
        return bg_failed(w, err);
    }
    w->bytes_written += len;
    next = w->spare;
    w->spare = w->extent;
    w->extent = next;
    return 0;
}

/* Wait for the background thread's last write and end it. */
static int stop_background(vma_writer *w, vma_error *err)
{
    int ret = 0;

    if (w->bg.running) {
        if (vma_bgwrite_wait(&w->bg) < 0) {
            ret = bg_failed(w, err);
        }
        vma_bgwrite_stop(&w->bg);
    }
    return ret;
}

static int write_header(vma_writer *w, vma_error *err)
{
    size_t blob_area = (w->blob_pos + 511) / 512 * 512;
    size_t header_size = VMA_HEADER_FIXED_SIZE + blob_area;
    uint8_t *h = calloc(1, header_size);
    int ret;

    if (!h) {
        return sticky(w, err, -ENOMEM, "out of memory building the archive header");
    }
    memcpy(h + VMA_H_MAGIC, "VMA", 4);
    vma_put_be32(h + VMA_H_VERSION, 1);
    memcpy(h + VMA_H_UUID, w->uuid, VMA_UUID_SIZE);
    vma_put_be64(h + VMA_H_CTIME, (uint64_t)w->ctime);
    vma_put_be32(h + VMA_H_BLOB_OFFSET, VMA_HEADER_FIXED_SIZE);
    vma_put_be32(h + VMA_H_BLOB_SIZE, (uint32_t)w->blob_pos);
    vma_put_be32(h + VMA_H_HEADER_SIZE, (uint32_t)header_size);
    for (unsigned i = 0; i < w->config_count; i++) {
        vma_put_be32(h + VMA_H_CONFIG_NAMES + 4 * i, w->config_names[i]);
        vma_put_be32(h + VMA_H_CONFIG_DATA + 4 * i, w->config_data[i]);
    }
    for (unsigned id = 1; id <= w->stream_count; id++) {
        uint8_t *di = h + VMA_H_DEV_INFO + VMA_DEV_INFO_SIZE * id;

        vma_put_be32(di, w->streams[id].name_blob);
        vma_put_be64(di + 8, w->streams[id].size);
    }
    memcpy(h + VMA_HEADER_FIXED_SIZE, w->blobs, w->blob_pos);
    vma_md5(h, header_size, h + VMA_H_MD5);
    w->header_written = true;
    w->header_bytes = header_size;
    ret = emit(w, h, header_size, err);
    free(h);
    return ret;
}

static int flush_extent(vma_writer *w, vma_error *err)
{
    uint8_t *e = w->extent;
    size_t data_blocks = (w->extent_pos - VMA_EXTENT_HEADER_SIZE) / VMA_BLOCK_SIZE;
    int ret;

    if (!w->header_written && (ret = write_header(w, err)) < 0) {
        return ret;
    }
    if (w->extent_used == 0 && (w->stream_count || w->bytes_written > w->header_bytes)) {
        return 0;
    }
    /* An archive with no device is a header and one empty extent, as the
     * reference writes it. */
    memset(e, 0, VMA_EXTENT_HEADER_SIZE);
    memcpy(e + VMA_E_MAGIC, "VMAE", 4);
    vma_put_be16(e + VMA_E_BLOCK_COUNT, (uint16_t)data_blocks);
    memcpy(e + VMA_E_UUID, w->uuid, VMA_UUID_SIZE);
    for (unsigned i = 0; i < w->extent_used; i++) {
        vma_put_be64(e + VMA_E_BLOCKINFO + 8 * i, w->blockinfo[i]);
    }
    vma_md5(e, VMA_EXTENT_HEADER_SIZE, e + VMA_E_MD5);
    ret = emit_extent(w, w->extent_pos, err);
    w->extent_pos = VMA_EXTENT_HEADER_SIZE;
    w->extent_used = 0;
    return ret;
}

/* ------------------------------------------------------------------------ */
/* Data                                                                      */
/* ------------------------------------------------------------------------ */

static int check_stream(vma_writer *w, unsigned dev_id, const char *op, vma_error *err)
{
    if (w->error_code) {
        return vma_writer_error(w, err);
    }
    if (w->output_closed) {
        return vma_fail(err, -EPIPE, "%s: the archive is already closed", op);
    }
    if (dev_id == 0 || dev_id > VMA_MAX_DEVICES || !w->streams[dev_id].name) {
        return sticky(w, err, -ENOENT, "%s: no stream with dev_id %u", op, dev_id);
    }
    if (w->streams[dev_id].closed) {
        return sticky(w, err, -EPIPE, "%s: stream '%s' (dev_id %u) is already closed",
                      op, w->streams[dev_id].name, dev_id);
    }
    return 0;
}

int vma_writer_write_cluster(vma_writer *w, unsigned dev_id, uint64_t cluster_num,
                             const void *buf, size_t len, size_t *zero_bytes,
                             vma_error *err)
{
    const uint8_t *src = buf;
    vma_stream *s;
    uint64_t valid;       /* bytes of this cluster that belong to the stream */
    uint16_t mask = 0;
    size_t zeroes = 0;
    int ret;

    if (zero_bytes) {
        *zero_bytes = 0;
    }
    if ((ret = check_stream(w, dev_id, "write", err)) < 0) {
        return ret;
    }
    s = &w->streams[dev_id];
    if (len > VMA_CLUSTER_SIZE) {
        return sticky(w, err, -EINVAL, "write: %zu bytes for cluster %llu of '%s' "
                      "exceed the cluster size", len, (unsigned long long)cluster_num,
                      s->name);
    }
    if (s->is_vmstate) {
        if (cluster_num != s->clusters) {
            return sticky(w, err, -EINVAL, "write: vmstate cluster %llu out of order "
                          "(expected %llu)", (unsigned long long)cluster_num,
                          (unsigned long long)s->clusters);
        }
        if (cluster_num > UINT32_MAX) {
            return sticky(w, err, -EFBIG, "write: vmstate stream exceeds 2^32 clusters");
        }
        valid = len;
    } else {
        if (cluster_num >= s->cluster_count) {
            return sticky(w, err, -EINVAL, "write: cluster %llu is beyond the end of "
                          "'%s' (%llu clusters)", (unsigned long long)cluster_num,
                          s->name, (unsigned long long)s->cluster_count);
        }
        if (s->seen[cluster_num / 8] & (1u << (cluster_num % 8))) {
            return sticky(w, err, -EEXIST, "write: cluster %llu of '%s' written twice",
                          (unsigned long long)cluster_num, s->name);
        }
        valid = s->size - cluster_num * VMA_CLUSTER_SIZE;
        if (valid > VMA_CLUSTER_SIZE) {
            valid = VMA_CLUSTER_SIZE;
        }
        if (len < valid) {
            return sticky(w, err, -EINVAL, "write: cluster %llu of '%s' needs %llu "
                          "bytes, got %zu", (unsigned long long)cluster_num, s->name,
                          (unsigned long long)valid, len);
        }
    }
    w->frozen = true;
    if (w->extent_used >= w->extent_clusters && (ret = flush_extent(w, err)) < 0) {
        return ret;
    }

    for (unsigned i = 0; i < VMA_BLOCKS_PER_CLUSTER; i++) {
        uint64_t start = (uint64_t)i * VMA_BLOCK_SIZE;
        size_t in = start >= valid ? 0
                    : (size_t)(valid - start < VMA_BLOCK_SIZE ? valid - start
                                                               : VMA_BLOCK_SIZE);
        uint8_t *dst = w->extent + w->extent_pos;

        if (in == 0 || !src) {
            zeroes += in;
            continue;
        }
        if (in == VMA_BLOCK_SIZE) {
            if (vma_buffer_is_zero(src + start, VMA_BLOCK_SIZE)) {
                zeroes += in;
                continue;
            }
            memcpy(dst, src + start, VMA_BLOCK_SIZE);
        } else {
            /* Partial last block: bytes past the stream's end are zero. */
            if (vma_buffer_is_zero(src + start, in)) {
                zeroes += in;
                continue;
            }
            memcpy(dst, src + start, in);
            memset(dst + in, 0, VMA_BLOCK_SIZE - in);
        }
        mask |= (uint16_t)(1u << i);
        w->extent_pos += VMA_BLOCK_SIZE;
    }

    w->blockinfo[w->extent_used++] = vma_blockinfo(mask, (uint8_t)dev_id,
                                                   (uint32_t)cluster_num);
    if (!s->is_vmstate) {
        s->seen[cluster_num / 8] |= (uint8_t)(1u << (cluster_num % 8));
    }
    s->clusters++;
    s->transferred += valid;
    s->zero_bytes += zeroes;
    if (zero_bytes) {
        *zero_bytes = zeroes;
    }
    return 0;
}

int vma_writer_write(vma_writer *w, unsigned dev_id, uint64_t offset,
                     const void *buf, uint64_t len, vma_error *err)
{
    const uint8_t *p = buf;
    int ret;

    if ((ret = check_stream(w, dev_id, "write", err)) < 0) {
        return ret;
    }
    if (offset % VMA_CLUSTER_SIZE) {
        return sticky(w, err, -EINVAL, "write: offset %llu of '%s' is not "
                      "cluster-aligned", (unsigned long long)offset,
                      w->streams[dev_id].name);
    }
    while (len > 0) {
        size_t chunk = len < VMA_CLUSTER_SIZE ? (size_t)len : VMA_CLUSTER_SIZE;

        ret = vma_writer_write_cluster(w, dev_id, offset / VMA_CLUSTER_SIZE,
                                       p, chunk, NULL, err);
        if (ret < 0) {
            return ret;
        }
        offset += chunk;
        len -= chunk;
        if (p) {
            p += chunk;
        }
    }
    return 0;
}

int vma_writer_vmstate_append(vma_writer *w, const void *buf, size_t len,
                              vma_error *err)
{
    const uint8_t *p = buf;
    unsigned id = w->vmstate_id;
    int ret;

    if (!id) {
        return sticky(w, err, -ENOENT, "vmstate append: no vmstate stream registered");
    }
    if ((ret = check_stream(w, id, "vmstate append", err)) < 0) {
        return ret;
    }
    while (len > 0) {
        size_t room = VMA_CLUSTER_SIZE - w->vmstate_fill;
        size_t take = len < room ? len : room;

        memcpy(w->vmstate_buf + w->vmstate_fill, p, take);
        w->vmstate_fill += take;
        p += take;
        len -= take;
        if (w->vmstate_fill == VMA_CLUSTER_SIZE) {
            w->vmstate_fill = 0;
            ret = vma_writer_write_cluster(w, id, w->streams[id].clusters,
                                           w->vmstate_buf, VMA_CLUSTER_SIZE, NULL, err);
            if (ret < 0) {
                return ret;
            }
        }
    }
    return 0;
}

static unsigned open_streams(const vma_writer *w)
{
    unsigned n = 0;

    for (unsigned id = 1; id <= w->stream_count; id++) {
        n += !w->streams[id].closed;
    }
    return n;
}

/* First cluster not yet stored, or cluster_count if complete. */
static uint64_t first_missing(const vma_stream *s)
{
    for (uint64_t c = 0; c < s->cluster_count; c++) {
        if (!(s->seen[c / 8] & (1u << (c % 8)))) {
            return c;
        }
    }
    return s->cluster_count;
}

int vma_writer_close_stream(vma_writer *w, unsigned dev_id, vma_error *err)
{
    vma_stream *s;
    int ret;

    if ((ret = check_stream(w, dev_id, "close stream", err)) < 0) {
        return ret;
    }
    s = &w->streams[dev_id];
    if (s->is_vmstate && w->vmstate_fill) {
        size_t fill = w->vmstate_fill;

        w->vmstate_fill = 0;
        ret = vma_writer_write_cluster(w, dev_id, s->clusters, w->vmstate_buf, fill,
                                       NULL, err);
        if (ret < 0) {
            return ret;
        }
    }
    if (!s->is_vmstate && s->clusters != s->cluster_count) {
        return sticky(w, err, -EIO, "stream '%s' (dev_id %u) is incomplete: %llu of "
                      "%llu clusters written, cluster %llu is missing", s->name, dev_id,
                      (unsigned long long)s->clusters,
                      (unsigned long long)s->cluster_count,
                      (unsigned long long)first_missing(s));
    }
    s->closed = true;
    return (int)open_streams(w);
}

int vma_writer_close(vma_writer *w, vma_error *err)
{
    int ret = 0;

    if (w->output_closed) {
        return w->finished ? 0 : vma_writer_error(w, err);
    }
    if (!w->error_code && w->stream_count == 0 && w->config_count == 0) {
        sticky(w, NULL, -EINVAL, "the archive has no streams and no config");
    }
    for (unsigned id = 1; id <= w->stream_count && !w->error_code; id++) {
        if (!w->streams[id].closed) {
            vma_writer_close_stream(w, id, NULL);
        }
    }
    if (!w->error_code) {
        flush_extent(w, NULL);
    }
    stop_background(w, NULL);
    w->output_closed = true;
    if (w->own_fd && close(w->fd) < 0 && !w->error_code) {
        sticky(w, NULL, -errno, "closing the archive failed: %s", strerror(errno));
    }
    if (!w->error_code && w->final_path) {
        int e = publish(w);

        if (e < 0) {
            sticky(w, NULL, e, "cannot create archive '%s': %s", w->final_path,
                   strerror(-e));
        } else {
            vma_cleanup_forget(w->cleanup);
            w->cleanup = -1;
        }
    }
    if (w->error_code) {
        ret = vma_writer_error(w, err);
    } else {
        w->finished = true;
    }
    return ret;
}

void vma_writer_free(vma_writer *w)
{
    if (!w) {
        return;
    }
    vma_bgwrite_stop(&w->bg);          /* before its fd and buffers go */
    if (!w->output_closed && w->own_fd) {
        close(w->fd);
    }
    if (!w->finished && w->created_path) {
        unlink(w->created_path);
    }
    vma_cleanup_forget(w->cleanup);
    free(w->final_path);
    for (unsigned id = 0; id < 256; id++) {
        free(w->streams[id].name);
        free(w->streams[id].seen);
    }
    for (unsigned i = 0; i < w->config_count; i++) {
        free(w->config_name_copy[i]);
    }
    free(w->created_path);
    free(w->vmstate_buf);
    free(w->blobs);
    free(w->extent);
    free(w->spare);
    free(w);
}

/* ------------------------------------------------------------------------ */
/* Status                                                                    */
/* ------------------------------------------------------------------------ */

bool vma_writer_stream_status(const vma_writer *w, unsigned dev_id,
                              vma_stream_status *st)
{
    const vma_stream *s;

    if (dev_id == 0 || dev_id > VMA_MAX_DEVICES || !w->streams[dev_id].name) {
        memset(st, 0, sizeof(*st));
        return false;
    }
    s = &w->streams[dev_id];
    st->name = s->name;
    st->is_vmstate = s->is_vmstate;
    st->closed = s->closed;
    st->size = s->size;
    st->transferred = s->transferred;
    st->zero_bytes = s->zero_bytes;
    st->clusters = s->clusters;
    return true;
}

void vma_writer_total_status(const vma_writer *w, uint64_t *size,
                             uint64_t *transferred, uint64_t *zero_bytes)
{
    uint64_t sz = 0, tr = 0, zb = 0;

    for (unsigned id = 1; id <= w->stream_count; id++) {
        const vma_stream *s = &w->streams[id];

        sz += s->is_vmstate && s->transferred > s->size ? s->transferred : s->size;
        tr += s->transferred;
        zb += s->zero_bytes;
    }
    *size = sz;
    *transferred = tr;
    *zero_bytes = zb;
}

const uint8_t *vma_writer_uuid(const vma_writer *w)
{
    return w->uuid;
}

uint64_t vma_writer_bytes_written(const vma_writer *w)
{
    return w->bytes_written;
}
