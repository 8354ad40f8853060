/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * VMA v1 (Virtual Machine Archive) codec: a streaming writer and a streaming
 * reader for the Proxmox backup archive format.
 *
 * Layout summary (see ../shared/notes/vma-format.md for the full format):
 *   header (header_size bytes, a multiple of 512): magic, version, uuid,
 *   ctime, md5, blob buffer (config blobs and device names), dev_info[256];
 *   then extents back to back: a 512-byte extent header (magic, block_count,
 *   uuid, md5, blockinfo[59]) followed by the non-zero 4 KiB blocks of the
 *   clusters it describes.
 *
 * Neither side ever seeks, so both work on pipes. The writer therefore emits
 * the header before any data: the size recorded for a `vmstate` stream is
 * only the caller's estimate, and the reader learns the real length from the
 * extents.
 *
 * Errors: functions that can fail return a negative errno (or NULL) and, when
 * given a non-NULL vma_error, fill it with a sentence saying what is wrong and
 * where (field, byte offset, extent number). The first error of a writer is
 * sticky: every later call fails with the same error.
 */
#ifndef BLOCKSIM_VMA_H
#define BLOCKSIM_VMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------------ */
/* Format constants                                                          */
/* ------------------------------------------------------------------------ */

#define VMA_BLOCK_SIZE            4096u
#define VMA_CLUSTER_SIZE          65536u
#define VMA_BLOCKS_PER_CLUSTER    16u
#define VMA_EXTENT_HEADER_SIZE    512u
#define VMA_EXTENT_SLOTS          59u      /* blockinfo entries per extent */
#define VMA_WRITER_EXTENT_CLUSTERS 58u     /* what the reference writer uses */
#define VMA_MAX_EXTENT_SIZE \
    (VMA_EXTENT_HEADER_SIZE + VMA_EXTENT_SLOTS * VMA_CLUSTER_SIZE)
#define VMA_MAX_DEVICES           254u     /* dev_id 1..254 */
#define VMA_MAX_CONFIGS           256u
#define VMA_HEADER_FIXED_SIZE     12288u   /* everything before the blob buffer */
#define VMA_MAX_BLOB_SIZE         65535u
/* Largest header_size a reader accepts: room for 256 maximal config pairs
 * plus 254 maximal names, rounded up. Guards against absurd allocations. */
#define VMA_MAX_HEADER_SIZE       (64u * 1024 * 1024)
#define VMA_UUID_SIZE             16u
#define VMA_VMSTATE_NAME          "vmstate"

typedef struct vma_error {
    int code;                /* negative errno */
    char msg[512];
} vma_error;

/* Per-stream counters, as the reference tool's status reports them. */
typedef struct vma_stream_status {
    const char *name;        /* NULL if the dev_id is unused */
    bool is_vmstate;
    bool closed;
    uint64_t size;           /* device size; for vmstate the header estimate */
    uint64_t transferred;    /* bytes of the device accepted so far */
    uint64_t zero_bytes;     /* of those, bytes in all-zero 4 KiB blocks */
    uint64_t clusters;       /* clusters accepted so far */
} vma_stream_status;

/* ------------------------------------------------------------------------ */
/* Writer                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct vma_writer vma_writer;

typedef struct vma_writer_options {
    /* Archive uuid; NULL to generate a random one (libuuid). */
    const uint8_t *uuid;
    /* Creation time for the header; 0 = now. */
    int64_t ctime;
    /* Rate limit in bytes per second of archive output; 0 = unlimited. */
    uint64_t speed;
    /* Clusters per extent, 1..59; 0 = 58 like the reference writer. */
    unsigned extent_clusters;
    /* Clock and sleep for the rate limit; NULL = CLOCK_MONOTONIC and
     * nanosleep. Tests inject fakes to stay deterministic and fast. */
    uint64_t (*now_ns)(void *opaque);
    void (*sleep_ns)(void *opaque, uint64_t ns);
    void *clock_opaque;
} vma_writer_options;

/*
 * Create a new archive file at `path` (O_EXCL: an existing file is never
 * overwritten), or write to stdout when path is "-". On any failure before
 * vma_writer_close() succeeds, vma_writer_free() removes the file it created.
 * opts may be NULL.
 */
vma_writer *vma_writer_create(const char *path, const vma_writer_options *opts,
                              vma_error *err);

/* Write the archive to an already open fd (file, pipe, socket). The writer
 * never seeks. With own_fd, the fd is closed by close/free. */
vma_writer *vma_writer_new_fd(int fd, bool own_fd, const vma_writer_options *opts,
                              vma_error *err);

/* Registration; only before the first cluster is written. */

/* Add a config blob (e.g. "qemu-server.conf"). name: 1..65534 bytes without
 * '/', data: 0..65535 bytes. Up to 256 configs. */
int vma_writer_add_config(vma_writer *w, const char *name, const void *data,
                          size_t len, vma_error *err);

/* Register a device of `size` bytes (> 0). Returns its dev_id (1..254) or a
 * negative errno. Names are unique; "vmstate" is reserved for
 * vma_writer_add_vmstate(). */
int vma_writer_add_device(vma_writer *w, const char *name, uint64_t size,
                          vma_error *err);

/* Register the vmstate stream. The format records no vmstate length, so a
 * reader cannot tell an archive cut right after a vmstate extent from a
 * complete one when only vmstate extents follow the last device cluster:
 * write the vmstate before (or among) the device clusters, as `vma create`
 * does, so that a cut loses device clusters and is caught.
 * size_estimate goes into the header (0 is
 * allowed, but the reference reader then ignores the stream: give a non-zero
 * estimate for compatibility). If the stream turns out to end inside its
 * last cluster exactly at the estimate, readers restore exactly that many
 * bytes; otherwise they restore whole clusters. Returns the dev_id. */
int vma_writer_add_vmstate(vma_writer *w, uint64_t size_estimate, vma_error *err);

/* Data. */

/*
 * Store cluster `cluster_num` of device dev_id. buf holds `len` bytes from
 * the cluster's start: VMA_CLUSTER_SIZE, or fewer for the device's last
 * cluster (only up to the end of the device is used; the rest counts as
 * zero). buf may be NULL for an all-zero cluster. Clusters of a device may
 * come in any order, but each exactly once; vmstate clusters must come in
 * order 0, 1, 2, ... *zero_bytes (may be NULL) gets the bytes of the cluster
 * found zero. Returns 0 or a negative errno.
 */
int vma_writer_write_cluster(vma_writer *w, unsigned dev_id, uint64_t cluster_num,
                             const void *buf, size_t len, size_t *zero_bytes,
                             vma_error *err);

/*
 * Store [offset, offset+len) of device dev_id: offset cluster-aligned, len a
 * multiple of VMA_CLUSTER_SIZE except where the range ends at the device's
 * end. buf NULL means zeroes. This is the shape of a cl_io write() call.
 */
int vma_writer_write(vma_writer *w, unsigned dev_id, uint64_t offset,
                     const void *buf, uint64_t len, vma_error *err);

/* Append bytes to the vmstate stream (any length; whole clusters are stored
 * as they fill up, the last one zero-padded on close). */
int vma_writer_vmstate_append(vma_writer *w, const void *buf, size_t len,
                              vma_error *err);

/* No more data for dev_id. Device streams must be complete; the vmstate
 * stream's partial cluster is flushed. Returns the number of streams still
 * open (>= 0) or a negative errno. */
int vma_writer_close_stream(vma_writer *w, unsigned dev_id, vma_error *err);

/* Mark the archive failed (e.g. the backup job failed): close() then fails
 * and free() removes a created file. The first error wins. */
void vma_writer_set_error(vma_writer *w, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Finish: close open streams, check that every device stream is complete
 * (each cluster exactly once), write the last extent (and the header if no
 * data was written yet), and close the output. 0 on success. Must still be
 * followed by vma_writer_free().
 */
int vma_writer_close(vma_writer *w, vma_error *err);

/* Free the writer. If the archive was not closed successfully and the writer
 * created the file, the file is removed. NULL is fine. */
void vma_writer_free(vma_writer *w);

/* Status of one stream (dev_id 1..254); returns false for an unused id. */
bool vma_writer_stream_status(const vma_writer *w, unsigned dev_id,
                              vma_stream_status *st);
/* Sum over all streams: size, transferred, zero_bytes (vmstate size is its
 * transferred bytes). */
void vma_writer_total_status(const vma_writer *w, uint64_t *size,
                             uint64_t *transferred, uint64_t *zero_bytes);
/* The archive's uuid (16 bytes) and bytes written to the output so far. */
const uint8_t *vma_writer_uuid(const vma_writer *w);
uint64_t vma_writer_bytes_written(const vma_writer *w);
/* 0, or the sticky error code; the message is copied into err. */
int vma_writer_error(const vma_writer *w, vma_error *err);

/* ------------------------------------------------------------------------ */
/* Reader                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct vma_reader vma_reader;

typedef struct vma_device_info {
    unsigned dev_id;
    const char *name;
    uint64_t size;           /* header size (for vmstate: the estimate) */
    bool is_vmstate;
} vma_device_info;

typedef struct vma_config_info {
    const char *name;
    const void *data;
    size_t len;
} vma_config_info;

/* Open an archive file, or stdin when path is "-", and read and check its
 * header. Never seeks. */
vma_reader *vma_reader_open(const char *path, vma_error *err);
/* Same on an open fd; with own_fd, vma_reader_free() closes it. */
vma_reader *vma_reader_open_fd(int fd, bool own_fd, vma_error *err);
void vma_reader_free(vma_reader *r);

const uint8_t *vma_reader_uuid(const vma_reader *r);
int64_t vma_reader_ctime(const vma_reader *r);
uint32_t vma_reader_header_size(const vma_reader *r);

/* Config blobs in header order. */
unsigned vma_reader_config_count(const vma_reader *r);
const vma_config_info *vma_reader_config(const vma_reader *r, unsigned index);

/* Device info for dev_id 1..254, or NULL if unused. */
const vma_device_info *vma_reader_device(const vma_reader *r, unsigned dev_id);
unsigned vma_reader_device_count(const vma_reader *r);
/* dev_id of the vmstate stream, or 0. */
unsigned vma_reader_vmstate_id(const vma_reader *r);

enum {
    /* Write zero blocks instead of leaving holes (for targets that already
     * hold data, e.g. an existing disk). */
    VMA_TARGET_WRITE_ZEROES = 1 << 0,
};

/*
 * Restore dev_id into fd (written with pwrite at the device's offsets; a
 * regular file is truncated to the device's length at the end, so zero
 * blocks become holes). Devices without a target are read and checked but
 * not written: skipping a device and verifying are the same thing.
 */
int vma_reader_set_target(vma_reader *r, unsigned dev_id, int fd, unsigned flags,
                          vma_error *err);

/* Called after each extent with the archive bytes consumed so far. */
typedef void (*vma_progress_fn)(void *opaque, uint64_t bytes_read);
void vma_reader_set_progress(vma_reader *r, vma_progress_fn fn, void *opaque);

/*
 * Read every extent to the end of the archive, check everything the format
 * requires, write targets. 0 on success. A failure leaves the targets
 * partly written: the caller removes what it created.
 */
int vma_reader_restore(vma_reader *r, vma_error *err);

/* After restore: the vmstate length written (see vma_writer_add_vmstate),
 * archive bytes read, extents read, and per-device zero bytes. */
uint64_t vma_reader_vmstate_length(const vma_reader *r);
uint64_t vma_reader_bytes_read(const vma_reader *r);
uint64_t vma_reader_extent_count(const vma_reader *r);
uint64_t vma_reader_zero_bytes(const vma_reader *r, unsigned dev_id);

/* ------------------------------------------------------------------------ */
/* High-level operations (`vma extract`, `vma verify`)                       */
/* ------------------------------------------------------------------------ */

typedef struct vma_extract_options {
    /* NULL: every device goes to <dir>/disk-<name>.raw (sparse). Otherwise a
     * map file (the reference's -r): one line per device,
     *   [format=raw:]0:<name>=<path>   restore to path, zero blocks as holes
     *   [format=raw:]1:<name>=<path>   restore to path, writing zero blocks
     *   skip=<name>                    read and check, but do not restore
     * ending at EOF, an empty line or "done". Every device needs a line. */
    const char *map_path;
    /* Called once the header is read and checked, before the map file is
     * opened: the reference prints the listing here, and a caller feeding
     * the map through a fifo reads it to decide the mapping. */
    void (*on_header)(void *opaque, const vma_reader *r);
    vma_progress_fn progress;
    void *progress_opaque;
} vma_extract_options;

/*
 * Extract archive ("-" = stdin) into the new directory dir: config files,
 * disk-<name>.raw per device (or the map's targets), vmstate.bin. Works in
 * a temporary sibling directory that is renamed to dir only on success; on
 * failure it is removed, as are map targets this call created (existing map
 * targets, e.g. block devices, are partly written and left). dir must not
 * exist. 0 or a negative errno.
 */
int vma_extract_archive(const char *archive, const char *dir,
                        const vma_extract_options *opts, vma_error *err);

/* Read and check the whole archive, writing nothing. */
int vma_verify_archive(const char *archive, vma_progress_fn progress, void *opaque,
                       vma_error *err);

/* ------------------------------------------------------------------------ */
/* Helpers shared with tools                                                 */
/* ------------------------------------------------------------------------ */

/* Is the buffer all zero? */
bool vma_buffer_is_zero(const void *buf, size_t len);
/* md5 of buf (16 bytes out), via libmd. */
void vma_md5(const void *buf, size_t len, uint8_t out[16]);
/* "xxxxxxxx-xxxx-..." lower case, 37 bytes with NUL. */
void vma_uuid_format(const uint8_t uuid[16], char out[37]);

#endif /* BLOCKSIM_VMA_H */
