// SPDX-License-Identifier: GPL-2.0-or-later
/* Cluster-engine backup jobs feeding a VMA writer, and `vma create`. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vma/vma_backup.h"
#include "vma/vma_int.h"

struct vma_backup {
    vma_writer *w;
    unsigned dev_id;
    uint64_t size;
    cl_io source;
    cl_backup *job;
    bool done;
};

/* Engine callbacks: reads go to the source, writes to the archive. */
static int job_read(void *opaque, uint64_t offset, uint64_t len, void *buf)
{
    vma_backup *b = opaque;

    return b->source.read(b->source.opaque, offset, len, buf);
}

static int job_write(void *opaque, uint64_t offset, uint64_t len, const void *buf)
{
    vma_backup *b = opaque;

    return vma_writer_write(b->w, b->dev_id, offset, buf, len, NULL);
}

static int job_write_zeroes(void *opaque, uint64_t offset, uint64_t len)
{
    vma_backup *b = opaque;

    return vma_writer_write(b->w, b->dev_id, offset, NULL, len, NULL);
}

static int job_block_status(void *opaque, uint64_t offset, uint64_t len, bool top_only,
                            uint64_t *pnum)
{
    vma_backup *b = opaque;

    return b->source.block_status(b->source.opaque, offset, len, top_only, pnum);
}

vma_backup *vma_backup_new(vma_writer *w, unsigned dev_id, uint64_t size,
                           const cl_io *source, vma_error *err)
{
    vma_stream_status st;
    cl_backup_config cfg = { 0 };
    cl_error cerr = { 0 };
    vma_backup *b;

    if (!vma_writer_stream_status(w, dev_id, &st) || st.is_vmstate) {
        vma_fail(err, -ENOENT, "backup: dev_id %u is not a device stream of the archive",
                 dev_id);
        return NULL;
    }
    if (st.size != size) {
        vma_fail(err, -EINVAL, "backup: device '%s' was registered with %llu bytes, the "
                 "source has %llu", st.name, (unsigned long long)st.size,
                 (unsigned long long)size);
        return NULL;
    }
    if (!source || !source->read) {
        vma_fail(err, -EINVAL, "backup: the source of '%s' has no read callback", st.name);
        return NULL;
    }
    b = calloc(1, sizeof(*b));
    if (!b) {
        vma_fail(err, -ENOMEM, "out of memory");
        return NULL;
    }
    b->w = w;
    b->dev_id = dev_id;
    b->size = size;
    b->source = *source;
    cfg.sync = CL_SYNC_FULL;
    cfg.size = size;
    cfg.cluster_size = VMA_CLUSTER_SIZE;
    cfg.io.opaque = b;
    cfg.io.read = job_read;
    cfg.io.write = job_write;
    cfg.io.write_zeroes = job_write_zeroes;
    cfg.io.block_status = source->block_status ? job_block_status : NULL;
    b->job = cl_backup_new(&cfg, &cerr);
    if (!b->job) {
        vma_fail(err, cerr.code ? cerr.code : -EINVAL, "backup of '%s': %s", st.name,
                 cerr.msg);
        free(b);
        return NULL;
    }
    return b;
}

void vma_backup_free(vma_backup *b)
{
    if (b) {
        cl_backup_free(b->job);
        free(b);
    }
}

cl_backup *vma_backup_job(vma_backup *b)
{
    return b->job;
}

cl_cbw *vma_backup_cbw(vma_backup *b)
{
    return cl_backup_cbw(b->job);
}

/* Turn an engine failure into a message; the writer's own error (a failed
 * archive write) is the more precise one when there is one. */
static int job_failed(vma_backup *b, const cl_copy_failure *fail, const char *what,
                      vma_error *err)
{
    vma_stream_status st;
    int code = fail->ret < 0 ? fail->ret : -EIO;

    vma_writer_stream_status(b->w, b->dev_id, &st);
    if (!fail->is_read && vma_writer_error(b->w, err) < 0) {
        return err ? err->code : code;
    }
    vma_writer_set_error(b->w, code, "%s of '%s' failed: %s the %s: %s", what, st.name,
                         fail->is_read ? "reading" : "writing",
                         fail->is_read ? "source" : "archive", strerror(-code));
    return vma_writer_error(b->w, err);
}

int vma_backup_step(vma_backup *b, vma_error *err)
{
    cl_copy_failure fail = { 0 };
    int ret;

    if (b->done) {
        return 0;
    }
    switch (cl_backup_step(b->job, &fail)) {
    case CL_STEP_MORE:
        return 1;
    case CL_STEP_DONE:
        b->done = true;
        ret = vma_writer_close_stream(b->w, b->dev_id, err);
        return ret < 0 ? ret : 0;
    case CL_STEP_CANCELLED:
        vma_writer_set_error(b->w, -ECANCELED, "backup cancelled");
        return vma_writer_error(b->w, err);
    case CL_STEP_IDLE:
        /* Only sync none idles, and an archive is never made with it. */
        vma_writer_set_error(b->w, -EINVAL, "backup job has nothing to copy (sync none)");
        return vma_writer_error(b->w, err);
    case CL_STEP_FAILED:
    default:
        return job_failed(b, &fail, "backup", err);
    }
}

int vma_backup_before_write(vma_backup *b, uint64_t offset, uint64_t len,
                            vma_error *err)
{
    cl_copy_failure fail = { 0 };
    int ret = cl_cbw_before_write(cl_backup_cbw(b->job), offset, len, &fail);

    if (ret < 0) {
        if (offset + len > b->size || offset + len < offset) {
            return vma_fail(err, ret, "copy-before-write: range %llu+%llu is beyond the "
                            "end of the device (%llu bytes)", (unsigned long long)offset,
                            (unsigned long long)len, (unsigned long long)b->size);
        }
        return job_failed(b, &fail, "copy-before-write", err);
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Raw file source                                                           */
/* ------------------------------------------------------------------------ */

int vma_file_source_open(vma_file_source *src, const char *path, vma_error *err)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    memset(src, 0, sizeof(*src));
    src->fd = -1;
    if (fd < 0) {
        return vma_fail(err, -errno, "cannot open image '%s': %s", path, strerror(errno));
    }
    if (fstat(fd, &st) < 0) {
        int e = errno;

        close(fd);
        return vma_fail(err, -e, "cannot stat image '%s': %s", path, strerror(e));
    }
    if (S_ISREG(st.st_mode)) {
        src->size = (uint64_t)st.st_size;
        src->regular = true;
    } else {
        off_t end = lseek(fd, 0, SEEK_END);

        if (end < 0) {
            int e = errno;

            close(fd);
            return vma_fail(err, -e, "cannot find the size of image '%s': %s", path,
                            strerror(e));
        }
        src->size = (uint64_t)end;
    }
    if (src->size == 0) {
        close(fd);
        return vma_fail(err, -EINVAL, "image '%s' is empty", path);
    }
    src->file_size = src->size;
    src->fd = fd;
    return 0;
}

void vma_file_source_close(vma_file_source *src)
{
    if (src->fd >= 0) {
        close(src->fd);
    }
    src->fd = -1;
}

static int file_read(void *opaque, uint64_t offset, uint64_t len, void *buf)
{
    vma_file_source *src = opaque;
    uint8_t *p = buf;

    /* The padding past the file's end reads as zeroes. */
    if (offset + len > src->file_size) {
        uint64_t keep = offset >= src->file_size ? 0 : src->file_size - offset;

        memset(p + keep, 0, (size_t)(len - keep));
        len = keep;
    }
    while (len > 0) {
        ssize_t n = pread(src->fd, p, len, (off_t)offset);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        if (n == 0) {
            return -EIO;           /* the image shrank under us */
        }
        p += n;
        offset += (uint64_t)n;
        len -= (uint64_t)n;
    }
    return 0;
}

/* Holes of a regular file read as zeroes: report them as ZERO so the engine
 * writes zero clusters without reading. */
static int file_block_status(void *opaque, uint64_t offset, uint64_t len, bool top_only,
                             uint64_t *pnum)
{
    vma_file_source *src = opaque;
    off_t data, hole;

    (void)top_only;
    struct stat st;

    if (offset >= src->file_size) {
        *pnum = len;                     /* the zero padding */
        return CL_STATUS_ZERO;
    }

    data = lseek(src->fd, (off_t)offset, SEEK_DATA);
    if (data < 0 && errno == ENXIO && fstat(src->fd, &st) == 0) {
        /* Only a hole up to the current end. Past it (the image shrank),
         * claim data so that the read fails instead of inventing zeroes. */
        data = st.st_size < (off_t)src->file_size ? st.st_size : (off_t)src->file_size;
    }
    if (data < 0 || (uint64_t)data < offset) {
        *pnum = len;
        return CL_STATUS_DATA | CL_STATUS_ALLOCATED;
    }
    if ((uint64_t)data > offset) {
        uint64_t n = (uint64_t)data - offset;

        *pnum = n < len ? n : len;
        return CL_STATUS_ZERO;
    }
    hole = lseek(src->fd, (off_t)offset, SEEK_HOLE);
    if (hole < 0 || (uint64_t)hole <= offset) {
        hole = (off_t)(offset + len);
    }
    *pnum = (uint64_t)hole - offset < len ? (uint64_t)hole - offset : len;
    return CL_STATUS_DATA | CL_STATUS_ALLOCATED;
}

cl_io vma_file_source_io(vma_file_source *src)
{
    cl_io io = {
        .opaque = src,
        .read = file_read,
        .block_status = src->regular ? file_block_status : NULL,
    };

    return io;
}

/* ------------------------------------------------------------------------ */
/* vma create                                                                */
/* ------------------------------------------------------------------------ */

uint64_t vma_qemu_disk_size(uint64_t bytes)
{
    return bytes > UINT64_MAX - 511 ? bytes : (bytes + 511) / 512 * 512;
}

int vma_parse_spec(const char *spec, unsigned index, char *name_out, size_t name_cap,
                   const char **path_out, vma_error *err)
{
    const char *eq = strchr(spec, '=');
    size_t len;

    if (!eq) {
        snprintf(name_out, name_cap, "disk%u", index);
        *path_out = spec;
    } else {
        len = (size_t)(eq - spec);
        if (len == 0 || len >= name_cap) {
            return vma_fail(err, -EINVAL, "bad image spec '%s': the device name must be "
                            "1..%zu bytes", spec, name_cap - 1);
        }
        memcpy(name_out, spec, len);
        name_out[len] = 0;
        *path_out = eq + 1;
    }
    if (!**path_out) {
        return vma_fail(err, -EINVAL, "bad image spec '%s': no path", spec);
    }
    return 0;
}

typedef struct create_dev {
    char name[256];
    const char *path;
    vma_file_source src;
    unsigned dev_id;
    vma_backup *job;
    bool vmstate;
} create_dev;

typedef struct config_file {
    const char *name;
    uint8_t *data;
    size_t len;
} config_file;

static int load_config(const char *path, config_file *cfg, vma_error *err)
{
    uint8_t *buf = malloc(VMA_MAX_BLOB_SIZE + 1);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;
    const char *slash = strrchr(path, '/');

    if (!buf) {
        if (fd >= 0) {
            close(fd);
        }
        return vma_fail(err, -ENOMEM, "out of memory");
    }
    if (fd < 0) {
        free(buf);
        return vma_fail(err, -errno, "cannot open config '%s': %s", path, strerror(errno));
    }
    n = vma_read_full(fd, buf, VMA_MAX_BLOB_SIZE + 1);
    close(fd);
    if (n < 0) {
        free(buf);
        return vma_fail(err, (int)n, "cannot read config '%s': %s", path,
                        strerror((int)-n));
    }
    if (n > (ssize_t)VMA_MAX_BLOB_SIZE) {
        free(buf);
        return vma_fail(err, -E2BIG, "config '%s' is larger than %u bytes", path,
                        VMA_MAX_BLOB_SIZE);
    }
    cfg->name = slash ? slash + 1 : path;
    cfg->data = buf;
    cfg->len = (size_t)n;
    return 0;
}

static int append_vmstate(vma_writer *w, create_dev *d, vma_error *err)
{
    enum { CHUNK = 1024 * 1024 };
    uint8_t *buf = malloc(CHUNK);
    uint64_t off = 0;
    int ret = 0;

    if (!buf) {
        return vma_fail(err, -ENOMEM, "out of memory");
    }
    while (off < d->src.size && ret == 0) {
        uint64_t len = d->src.size - off < CHUNK ? d->src.size - off : CHUNK;

        ret = file_read(&d->src, off, len, buf);
        if (ret < 0) {
            vma_writer_set_error(w, ret, "reading vmstate file '%s' at offset %llu "
                                 "failed: %s", d->path, (unsigned long long)off,
                                 strerror(-ret));
            ret = vma_writer_error(w, err);
            break;
        }
        ret = vma_writer_vmstate_append(w, buf, (size_t)len, err);
        off += len;
    }
    free(buf);
    if (ret == 0) {
        ret = vma_writer_close_stream(w, d->dev_id, err);
    }
    return ret < 0 ? ret : 0;
}

int vma_create_archive(const char *archive, const char *const *specs, unsigned nspecs,
                       const vma_create_options *opts, vma_error *err)
{
    vma_create_options no_opts = { 0 };
    vma_writer_options wopts = { 0 };
    config_file cfgs[VMA_MAX_CONFIGS] = { { 0 } };
    create_dev *devs;
    vma_writer *w = NULL;
    unsigned ncfg = 0;
    int ret = 0;

    if (!opts) {
        opts = &no_opts;
    }
    if (nspecs == 0 && opts->config_count == 0) {
        return vma_fail(err, -EINVAL, "no images and no config to back up");
    }
    if (nspecs > VMA_MAX_DEVICES) {
        return vma_fail(err, -E2BIG, "too many images (%u, limit %u)", nspecs,
                        VMA_MAX_DEVICES);
    }
    if (opts->config_count > VMA_MAX_CONFIGS) {
        return vma_fail(err, -E2BIG, "too many config files (%u, limit %u)",
                        opts->config_count, VMA_MAX_CONFIGS);
    }
    devs = calloc(nspecs ? nspecs : 1, sizeof(*devs));
    if (!devs) {
        return vma_fail(err, -ENOMEM, "out of memory");
    }
    for (unsigned i = 0; i < nspecs; i++) {
        devs[i].src.fd = -1;
    }

    /* Everything that can fail on the inputs fails before the archive
     * exists. */
    for (ncfg = 0; ncfg < opts->config_count && ret == 0; ncfg++) {
        ret = load_config(opts->config_paths[ncfg], &cfgs[ncfg], err);
    }
    for (unsigned i = 0; i < nspecs && ret == 0; i++) {
        create_dev *d = &devs[i];

        ret = vma_parse_spec(specs[i], i, d->name, sizeof(d->name), &d->path, err);
        if (ret == 0) {
            d->vmstate = strcmp(d->name, VMA_VMSTATE_NAME) == 0;
            ret = vma_file_source_open(&d->src, d->path, err);
        }
        if (ret == 0) {
            /* Proxmox sizes every input, the vmstate file too, as QEMU
             * reports it: rounded up to 512, the tail read as zeros. */
            d->src.size = vma_qemu_disk_size(d->src.file_size);
        }
    }
    if (ret < 0) {
        goto out;
    }

    wopts.uuid = opts->uuid;
    wopts.ctime = opts->ctime;
    wopts.speed = opts->speed;
    wopts.background = true;       /* archive writes overlap image reads */
    w = vma_writer_create(archive, &wopts, err);
    if (!w) {
        ret = err ? err->code : -EIO;
        goto out;
    }
    for (unsigned i = 0; i < ncfg && ret == 0; i++) {
        ret = vma_writer_add_config(w, cfgs[i].name, cfgs[i].data, cfgs[i].len, err);
    }
    for (unsigned i = 0; i < nspecs && ret >= 0; i++) {
        create_dev *d = &devs[i];

        ret = d->vmstate ? vma_writer_add_vmstate(w, d->src.size, err)
                         : vma_writer_add_device(w, d->name, d->src.size, err);
        d->dev_id = (unsigned)ret;
    }
    for (unsigned i = 0; i < nspecs && ret >= 0; i++) {
        create_dev *d = &devs[i];
        cl_io io = vma_file_source_io(&d->src);

        if (!d->vmstate) {
            d->job = vma_backup_new(w, d->dev_id, d->src.size, &io, err);
            ret = d->job ? 0 : (err ? err->code : -EIO);
        }
    }
    /* The VM state is saved first, as in the seed's backup_start_savevm. */
    for (unsigned i = 0; i < nspecs && ret >= 0; i++) {
        if (devs[i].vmstate) {
            ret = append_vmstate(w, &devs[i], err);
        }
    }
    for (bool more = true; more && ret >= 0;) {
        more = false;
        for (unsigned i = 0; i < nspecs && ret >= 0; i++) {
            if (devs[i].job) {
                ret = vma_backup_step(devs[i].job, err);
                more |= ret > 0;
            }
        }
        if (opts->progress) {
            opts->progress(opts->progress_opaque, w);
        }
    }
    if (ret >= 0) {
        ret = vma_writer_close(w, err);
    }
    if (ret >= 0 && opts->on_done) {
        opts->on_done(opts->progress_opaque, w);
    }

out:
    for (unsigned i = 0; i < nspecs; i++) {
        vma_backup_free(devs[i].job);
        vma_file_source_close(&devs[i].src);
    }
    for (unsigned i = 0; i < ncfg; i++) {
        free(cfgs[i].data);
    }
    vma_writer_free(w);    /* removes the archive unless close succeeded */
    free(devs);
    return ret < 0 ? ret : 0;
}
