/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Point-in-time backup into a VMA archive with the cluster engine
 * (lib/cluster): one cl_backup job (sync full) per device, whose target
 * write() lands in the archive writer, so copy-before-write and the job's
 * own walk both feed vma_writer_write() - in whatever order they happen.
 *
 * Also the high-level `vma create` operation over raw image files.
 */
#ifndef BLOCKSIM_VMA_BACKUP_H
#define BLOCKSIM_VMA_BACKUP_H

#include "cluster/cluster.h"
#include "vma/vma.h"

/* ------------------------------------------------------------------------ */
/* One device's backup job                                                   */
/* ------------------------------------------------------------------------ */

typedef struct vma_backup vma_backup;

/*
 * Start backing up a `size`-byte source into stream dev_id of w (already
 * registered with that size). source supplies read() and optionally
 * block_status(); its write callbacks are ignored (the archive is the
 * target).
 */
vma_backup *vma_backup_new(vma_writer *w, unsigned dev_id, uint64_t size,
                           const cl_io *source, vma_error *err);
void vma_backup_free(vma_backup *b);

/* The engine objects, for a caller that models guest writes: call
 * cl_cbw_before_write(vma_backup_cbw(b), off, len, ...) before each write to
 * the source. */
cl_backup *vma_backup_job(vma_backup *b);
cl_cbw *vma_backup_cbw(vma_backup *b);

/* One engine step. 1: more to do; 0: the device is complete and its stream
 * closed; negative errno: the job failed (err says why; the writer is
 * marked failed too). */
int vma_backup_step(vma_backup *b, vma_error *err);

/* Guest write hook: copy-before-write for [offset, offset+len). 0 or a
 * negative errno (the guest write must then fail). */
int vma_backup_before_write(vma_backup *b, uint64_t offset, uint64_t len,
                            vma_error *err);

/* ------------------------------------------------------------------------ */
/* Raw image file as a source                                                */
/* ------------------------------------------------------------------------ */

typedef struct vma_file_source {
    int fd;
    /* The size the source presents: the file's, or larger (vma create
     * rounds a disk up to 512 bytes like QEMU): bytes past file_size read
     * as zeroes. */
    uint64_t size;
    uint64_t file_size;
    bool regular;            /* SEEK_DATA/SEEK_HOLE usable for block status */
} vma_file_source;

/* Open a raw image (file or block device) read-only. */
int vma_file_source_open(vma_file_source *src, const char *path, vma_error *err);
void vma_file_source_close(vma_file_source *src);
/* cl_io over the file: pread, and holes reported as ZERO for regular files. */
cl_io vma_file_source_io(vma_file_source *src);

/* ------------------------------------------------------------------------ */
/* `vma create`                                                              */
/* ------------------------------------------------------------------------ */

typedef void (*vma_create_progress_fn)(void *opaque, const vma_writer *w);

typedef struct vma_create_options {
    const char *const *config_paths;  /* stored under their base names */
    unsigned config_count;
    uint64_t speed;                   /* bytes/second, 0 = unlimited */
    const uint8_t *uuid;              /* NULL = random */
    int64_t ctime;                    /* 0 = now */
    vma_create_progress_fn progress;  /* called after each round of steps */
    void *progress_opaque;
    /* Called after the archive was closed successfully, with the final
     * per-stream status (vma_writer_stream_status) still available. */
    vma_create_progress_fn on_done;
} vma_create_options;

/* The size QEMU reports for a raw file of `bytes` bytes: rounded up to a
 * multiple of 512 (the unit of its block layer). vma create records this,
 * as Proxmox does, and the padding reads as zeroes. */
uint64_t vma_qemu_disk_size(uint64_t bytes);

/*
 * Create archive (a new file, or "-" for stdout) from image specs
 * "name=path" or "path" (named disk<N>, N = its position). With no spec
 * but a config, a config-only archive. Device sizes are
 * vma_qemu_disk_size() of the files. The spec
 * "vmstate=path" stores path as the vmstate stream. All images are opened
 * and registered first, then the jobs are stepped round-robin so the
 * devices' clusters interleave. On failure a created archive file is
 * removed. 0 or a negative errno.
 */
int vma_create_archive(const char *archive, const char *const *specs, unsigned nspecs,
                       const vma_create_options *opts, vma_error *err);

/* "name=path" -> name and path (name NULL-terminated copy in name_out, which
 * has room for name_cap bytes); "path" -> "disk<index>". */
int vma_parse_spec(const char *spec, unsigned index, char *name_out, size_t name_cap,
                   const char **path_out, vma_error *err);

#endif /* BLOCKSIM_VMA_BACKUP_H */
