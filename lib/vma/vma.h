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
    /* Write full extents from a second thread while the caller fills the
     * next one (not with speed). The archive's bytes are the same; a failed
     * write is reported by a later call or by close. */
    bool background;
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
    /* Never change the target's length (an existing volume is written in
     * place, as Proxmox does); without it a regular file is set to the
     * device's length at the end. */
    VMA_TARGET_KEEP_SIZE = 1 << 1,
    /* The target is a file this extract created (sparse, reading as
     * zeroes): the clusters that hold data are allocated ahead of their
     * writes (fallocate), all-zero clusters stay holes. */
    VMA_TARGET_FRESH = 1 << 2,
};

/* A write-rate limit shared by the targets that point to it (a restore
 * map's throttling.bps / throttling.group). bps 0 = unlimited; start_ns and
 * bytes are the limiter's state, zero to begin with. */
typedef struct vma_throttle {
    uint64_t bps;
    uint64_t start_ns;
    uint64_t bytes;
} vma_throttle;

/*
 * Restore dev_id into fd (written with pwrite at the device's offsets; a
 * regular file is truncated to the device's length at the end, so zero
 * blocks become holes). Devices without a target are read and checked but
 * not written: skipping a device and verifying are the same thing.
 */
int vma_reader_set_target(vma_reader *r, unsigned dev_id, int fd, unsigned flags,
                          vma_error *err);

/* Limit the write rate of dev_id's target (set_target first). */
int vma_reader_set_throttle(vma_reader *r, unsigned dev_id, vma_throttle *t,
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
/* Progress as Proxmox's reader counts it: bytes of the clusters read so far
 * (64 KiB each), and the total, the sum of the header's device sizes (the
 * vmstate's estimate included). */
uint64_t vma_reader_cluster_bytes(const vma_reader *r);
uint64_t vma_reader_total_bytes(const vma_reader *r);
/* Zero bytes inside clusters that also hold data (Proxmox's "space
 * reduction due to 4K zero blocks"). */
uint64_t vma_reader_partial_zero_bytes(const vma_reader *r);
/* The compression the archive was read through: "zstd", "gzip", "lzo" or
 * NULL for a plain archive. */
const char *vma_reader_compression(const vma_reader *r);

/* ------------------------------------------------------------------------ */
/* High-level operations (`vma extract`, `vma verify`)                       */
/* ------------------------------------------------------------------------ */

typedef struct vma_extract_options {
    /* NULL: every device goes to <dir>/tmp-disk-<name>.raw (sparse, of the
     * device's size), renamed to disk-<name>.raw when the restore is
     * complete. Otherwise a restore map (the reference's -r, often a fifo;
     * see vma_map.h): every restored device needs a line. */
    const char *map_path;
    /* NULL: every device; else a comma-separated list of device names
     * (the reference's -d): the others are read and checked, not written. */
    const char *drive_list;
    /* Called once the header is read and checked, the directory made and
     * the config files written, before the map is opened: the reference
     * prints the listing here, and qmrestore, reading it, then reads the
     * config from the directory and writes the map to the fifo. */
    void (*on_header)(void *opaque, const vma_reader *r);
    /* Called for each device about to be restored, with the path written
     * and the device's size (the reference's DEVINFO line). */
    void (*on_device)(void *opaque, const char *path, uint64_t size);
    vma_progress_fn progress;
    void *progress_opaque;
    /* If non-NULL, gets the reader once restore has finished (for the
     * summary lines), before it is freed. */
    void (*on_done)(void *opaque, const vma_reader *r);
} vma_extract_options;

/*
 * Extract archive ("-" = stdin; compressed archives are read directly)
 * into the new directory dir, in the reference's order: mkdir, config
 * files, map, device files, vmstate.bin. Map targets that exist are written
 * in place (never truncated or resized); targets this call creates are
 * sized to the device. On failure (and on SIGINT/SIGTERM/SIGHUP when the
 * caller installed vma_cleanup_install()) everything this call created is
 * removed, dir included. dir must not exist. 0 or a negative errno.
 */
int vma_extract_archive(const char *archive, const char *dir,
                        const vma_extract_options *opts, vma_error *err);

/* Read and check the whole archive, writing nothing. */
int vma_verify_archive(const char *archive, vma_progress_fn progress, void *opaque,
                       vma_error *err);

/* ------------------------------------------------------------------------ */
/* Helpers shared with tools                                                 */
/* ------------------------------------------------------------------------ */

/* The one rule for device and config names, applied by the writer and by
 * extract (where names become file names): 1..65534 bytes, not "." or "..",
 * no '/', no control characters (bytes below 0x20, 0x7f). */
int vma_name_check(const char *what, const char *name, vma_error *err);
/* A copy of name for listings, with control characters and backslashes
 * escaped as \xHH and \\ (archives from other writers may hold any byte).
 * malloc'd; NULL when out of memory. */
char *vma_name_escape(const char *name);

/* Is the buffer all zero? */
bool vma_buffer_is_zero(const void *buf, size_t len);
/* md5 of buf (16 bytes out), via libmd. */
void vma_md5(const void *buf, size_t len, uint8_t out[16]);
/* "xxxxxxxx-xxxx-..." lower case, 37 bytes with NUL. */
void vma_uuid_format(const uint8_t uuid[16], char out[37]);

#endif /* BLOCKSIM_VMA_H */
