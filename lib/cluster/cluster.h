/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The cluster engine: dirty bitmaps, copy state, copy-before-write and the
 * backup job's sync and bitmap policies, modelled on QEMU 7.2
 * (util/hbitmap.c, block/dirty-bitmap.c, block/block-copy.c,
 * block/copy-before-write.c, block/backup.c).
 *
 * Pure C with no I/O of its own: every read, write and allocation query goes
 * through the caller's cl_io callbacks, so the simulator and real tools
 * (tools/vma) run the same code. No threads, no clocks, no globals.
 *
 * Errors: functions that can fail because of a caller mistake take an
 * optional cl_error *err (may be NULL), return a negative errno (or NULL),
 * and fill err->msg with a sentence naming the bad argument. They never abort.
 */
#ifndef BLOCKSIM_CLUSTER_H
#define BLOCKSIM_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cl_error {
    int code;            /* negative errno */
    char msg[256];
} cl_error;

/* ------------------------------------------------------------------------ */
/* Dirty bitmap                                                              */
/* ------------------------------------------------------------------------ */

/*
 * A bitmap over `size` bytes with one bit per `granularity` bytes
 * (a power of two, >= 512). nbits = ceil(size / granularity): the last bit
 * may cover fewer than `granularity` bytes, but still counts as a whole one
 * in cl_bitmap_count_bytes(), as QEMU's query-named-block-nodes does.
 *
 * A bitmap is either enabled (recording guest writes) or disabled, and may
 * be frozen (QEMU's "busy") while a job owns it: then it has a successor
 * that records writes in its place until the job ends.
 */
typedef struct cl_bitmap cl_bitmap;

cl_bitmap *cl_bitmap_new(uint64_t size, uint64_t granularity, cl_error *err);
void cl_bitmap_free(cl_bitmap *bm);            /* NULL is fine; frees no successor */

uint64_t cl_bitmap_size(const cl_bitmap *bm);          /* bytes covered */
uint64_t cl_bitmap_granularity(const cl_bitmap *bm);
uint64_t cl_bitmap_nbits(const cl_bitmap *bm);
uint64_t cl_bitmap_count(const cl_bitmap *bm);         /* dirty bits, O(1) */
uint64_t cl_bitmap_count_bytes(const cl_bitmap *bm);   /* count * granularity */
size_t cl_bitmap_memory(const cl_bitmap *bm);          /* bytes allocated for it */

/* Is the bit that covers byte `offset` dirty? (false past the end) */
bool cl_bitmap_get(const cl_bitmap *bm, uint64_t offset);

/* Dirty every bit that [offset, offset+len) touches. len 0 is a no-op.
 * Error if the range goes past the end. Ignores the enabled state (it is a
 * direct edit, like QEMU's bdrv_set_dirty_bitmap). */
int cl_bitmap_set(cl_bitmap *bm, uint64_t offset, uint64_t len, cl_error *err);

/* Clean the bits of [offset, offset+len). offset and len must be multiples of
 * the granularity, except that the range may end exactly at size (QEMU
 * asserts this; here it is an error). As in QEMU, an aligned range may also
 * run into the padding of a partial last bit (end <= nbits * granularity). */
int cl_bitmap_reset(cl_bitmap *bm, uint64_t offset, uint64_t len, cl_error *err);

void cl_bitmap_clear(cl_bitmap *bm);           /* all clean */
void cl_bitmap_fill(cl_bitmap *bm);            /* all dirty */

/* First dirty (clean) byte offset in [offset, end), or -1 if none. The answer
 * is max(offset, start of the first dirty (clean) bit). end is clamped to
 * size; end == 0 means "to the end". Fast over long empty/full stretches
 * (hierarchical summary, not a linear bit scan). */
int64_t cl_bitmap_next_dirty(const cl_bitmap *bm, uint64_t offset, uint64_t end);
int64_t cl_bitmap_next_clean(const cl_bitmap *bm, uint64_t offset, uint64_t end);

/* First dirty area in [start, end): *area_off = first dirty byte, *area_len =
 * length of the dirty run from there, capped at max_len (0 = no cap) and at
 * end. Returns false if there is no dirty byte in range. (QEMU's
 * bdrv_dirty_bitmap_next_dirty_area.) */
bool cl_bitmap_next_dirty_area(const cl_bitmap *bm, uint64_t start, uint64_t end,
                               uint64_t max_len, uint64_t *area_off, uint64_t *area_len);

/* dst |= src. Sizes must be equal; granularities may differ: every dirty byte
 * range of src dirties the bits of dst it touches. */
int cl_bitmap_merge(cl_bitmap *dst, const cl_bitmap *src, cl_error *err);
/* dst = src (same size and granularity). */
int cl_bitmap_copy(cl_bitmap *dst, const cl_bitmap *src, cl_error *err);

/* Recording. A frozen bitmap cannot be enabled, disabled or edited by
 * cl_bitmap_record_write(); it reports recording == its successor's. */
bool cl_bitmap_enabled(const cl_bitmap *bm);
int cl_bitmap_set_enabled(cl_bitmap *bm, bool enabled, cl_error *err);
bool cl_bitmap_recording(const cl_bitmap *bm); /* QEMU's "recording" field */
bool cl_bitmap_busy(const cl_bitmap *bm);      /* frozen: QEMU's "busy" field */
cl_bitmap *cl_bitmap_successor(const cl_bitmap *bm);

/* A guest write of [offset, offset+len) happened: dirty it if enabled. */
void cl_bitmap_record_write(cl_bitmap *bm, uint64_t offset, uint64_t len);

/* Freeze `parent` for a job: create its successor (same size and granularity,
 * empty, enabled iff the parent was), disable and mark busy the parent.
 * The caller owns the returned successor (list it on the node as an
 * anonymous bitmap). Error if already frozen. */
cl_bitmap *cl_bitmap_freeze(cl_bitmap *parent, cl_error *err);

/* Ways a freeze ends. Each returns the bitmap that lives on, unfrozen, and
 * detaches the other, which the caller frees (and unlists):
 *  - reclaim:  successor merged back into parent; parent lives on with the
 *              successor's enabled state.            (returns parent)
 *  - abdicate: successor replaces parent; the parent's bits are dropped.
 *                                                     (returns successor)
 * The "parent minus what the job copied plus the successor" outcome of
 * bitmap-mode always after a failure is abdicate followed by a merge of the
 * job's remaining copy bitmap: see cl_backup_finish(). */
cl_bitmap *cl_bitmap_reclaim(cl_bitmap *parent);
cl_bitmap *cl_bitmap_abdicate(cl_bitmap *parent);

/* ------------------------------------------------------------------------ */
/* I/O callbacks                                                             */
/* ------------------------------------------------------------------------ */

/* Block status flags (QEMU's BDRV_BLOCK_*). */
enum {
    CL_STATUS_DATA      = 1 << 0,
    CL_STATUS_ZERO      = 1 << 1,
    CL_STATUS_ALLOCATED = 1 << 2,
};

typedef struct cl_io {
    void *opaque;
    /* Read [offset, offset+len) of the source. 0 or negative errno. */
    int (*read)(void *opaque, uint64_t offset, uint64_t len, void *buf);
    /* Write to the target. 0 or negative errno. */
    int (*write)(void *opaque, uint64_t offset, uint64_t len, const void *buf);
    /* Optional: write zeroes to the target; when NULL, write() gets a zero
     * buffer. */
    int (*write_zeroes)(void *opaque, uint64_t offset, uint64_t len);
    /* Optional: status of the source at offset, for up to len bytes. Sets
     * *pnum to how many bytes share the returned flags (>= 1). With
     * top_only, ALLOCATED means allocated in the top layer itself (QEMU's
     * block_status_above with base = the backing file); otherwise anywhere
     * in the chain. ZERO means reads return zeroes (e.g. unallocated with no
     * backing file). When NULL, everything is DATA|ALLOCATED. */
    int (*block_status)(void *opaque, uint64_t offset, uint64_t len,
                        bool top_only, uint64_t *pnum);
    /* Optional: copy [offset, offset+len) of the source to the same place
     * of the target in one go, without a bounce buffer (a simulator moves
     * references to the data instead of bytes). On failure *is_read says
     * whether it was the source's read that failed. When NULL, read() into
     * a buffer, then write() it. */
    int (*copy)(void *opaque, uint64_t offset, uint64_t len, bool *is_read);
    /* Optional: may a run of consecutive tasks that only write zeroes (or
     * skip unallocated clusters) be done as one write? Say yes only where
     * nothing can tell the difference: the target cannot fail part way or
     * count requests, and nothing else runs between the tasks. When NULL,
     * never (cl_copy_steps then does one task per call). */
    bool (*merge_zero_tasks)(void *opaque);
} cl_io;

/* ------------------------------------------------------------------------ */
/* Copy state (QEMU's BlockCopyState)                                        */
/* ------------------------------------------------------------------------ */

/*
 * The clusters a job still has to copy, at the job's cluster size, and the
 * progress of the job as QEMU counts it. A copy moves one task at a time:
 * the lowest remaining cluster, extended over the following remaining
 * clusters up to the chunk size (default: max(cluster, 1 MiB), as QEMU 7.2's
 * read/write method), then cut to the source's block-status run (rounded
 * down to whole clusters, or up at the end of the disk; a run shorter than a
 * cluster counts as one data cluster). A ZERO run is written as zeroes with
 * no read; with skip-unallocated (sync top), an unallocated run is dropped
 * without copying. Each task's bytes are rounded up to whole clusters, so a
 * partial last cluster counts as a whole one in the progress; the actual
 * read and write stop at the end of the disk. A failed task puts its
 * clusters back.
 */
typedef struct cl_copy cl_copy;

cl_copy *cl_copy_new(uint64_t size, uint64_t cluster_size, const cl_io *io,
                     cl_error *err);
void cl_copy_free(cl_copy *cs);

/* The remaining-clusters bitmap (granularity = cluster size; starts all
 * dirty). Listed on the source node as a disabled anonymous bitmap. */
cl_bitmap *cl_copy_bitmap(cl_copy *cs);
uint64_t cl_copy_cluster_size(const cl_copy *cs);

void cl_copy_set_skip_unallocated(cl_copy *cs, bool skip);
bool cl_copy_skip_unallocated(const cl_copy *cs);
/* 0 = default. Like QEMU's x-perf max-chunk, it can only lower the default:
 * the chunk is min(max(cluster, 1 MiB), max_chunk). */
void cl_copy_set_max_chunk(cl_copy *cs, uint64_t max_chunk);
uint64_t cl_copy_chunk(const cl_copy *cs);      /* the chunk in effect */

/* Progress, as QEMU's job progress: offset = bytes done, len = done +
 * remaining. A new copy state starts at 0/0; every task (and
 * cl_copy_reset_unallocated) sets remaining to the copy bitmap's dirty
 * bytes. */
uint64_t cl_copy_progress_offset(const cl_copy *cs);
uint64_t cl_copy_progress_len(const cl_copy *cs);
void cl_copy_set_progress_remaining(cl_copy *cs, uint64_t remaining);

/* Where a failed copy failed. */
typedef struct cl_copy_failure {
    int ret;             /* negative errno */
    bool is_read;        /* the read of the source failed (else the write) */
} cl_copy_failure;

/* Copy the next task at or after `offset` and before `end`. Returns 1 if a
 * task was copied (or skipped), 0 if nothing remains in range, negative errno
 * on failure (and fills *fail). offset is rounded down to a cluster; end is
 * clamped to the size, and 0 means "to the end", as for cl_bitmap_next_dirty.
 * With skip-unallocated, block_status is asked with top_only = true. */
int cl_copy_step(cl_copy *cs, uint64_t offset, uint64_t end, cl_copy_failure *fail);

/* Up to max_tasks tasks in one call, in the same order and with the same
 * end state as that many cl_copy_step() calls over the whole disk: a run of
 * tasks that write only zeroes (or skip unallocated clusters) becomes one
 * target write when io.merge_zero_tasks says so; any other task is done
 * alone. *tasks (may be NULL) gets how many tasks were done, so a caller
 * that gives each task a slot of time can account for them. Returns as
 * cl_copy_step(). */
int cl_copy_steps(cl_copy *cs, uint64_t max_tasks, uint64_t *tasks, cl_copy_failure *fail);

/* Copy every remaining cluster that [offset, offset+len) touches, task by
 * task, lowest first (what copy-before-write and block_copy() do). 0 or the
 * first failure. A range past the end is -EINVAL (also in *fail). */
int cl_copy_range(cl_copy *cs, uint64_t offset, uint64_t len, cl_copy_failure *fail);

/* Sync top's first pass: drop every remaining cluster that is not allocated
 * in the top layer, then set the remaining progress to what is left. */
int cl_copy_reset_unallocated(cl_copy *cs);

/* ------------------------------------------------------------------------ */
/* Copy-before-write (QEMU's copy-before-write filter)                       */
/* ------------------------------------------------------------------------ */

/*
 * Sits on the source while a backup runs. Holds two bitmaps at the copy
 * state's cluster size, listed on the filter node (newest first: access,
 * then done):
 *   done:   clusters that guest writes through the filter have dealt with;
 *   access: what a reader of the snapshot may still access (starts as the
 *           copy bitmap was at creation: all dirty).
 */
typedef struct cl_cbw cl_cbw;

cl_cbw *cl_cbw_new(cl_copy *cs, cl_error *err);
void cl_cbw_free(cl_cbw *cbw);
cl_bitmap *cl_cbw_done_bitmap(cl_cbw *cbw);
cl_bitmap *cl_cbw_access_bitmap(cl_cbw *cbw);

/* Before a guest write to [offset, offset+len): copy out every not-yet-copied
 * cluster it touches, then mark the touched clusters done. On failure
 * returns the negative errno: the guest write must fail too (and done is
 * left alone). A range past the end is -EINVAL (also in *fail). */
int cl_cbw_before_write(cl_cbw *cbw, uint64_t offset, uint64_t len,
                        cl_copy_failure *fail);

/* ------------------------------------------------------------------------ */
/* Backup job                                                                */
/* ------------------------------------------------------------------------ */

typedef enum cl_sync {
    CL_SYNC_FULL,
    CL_SYNC_TOP,
    CL_SYNC_BITMAP,
    CL_SYNC_INCREMENTAL,   /* = BITMAP with CL_BITMAP_ON_SUCCESS */
    CL_SYNC_NONE,
} cl_sync;

typedef enum cl_bitmap_mode {
    CL_BITMAP_ON_SUCCESS,
    CL_BITMAP_NEVER,
    CL_BITMAP_ALWAYS,
} cl_bitmap_mode;

const char *cl_sync_name(cl_sync sync);          /* "full", "top", ... */
const char *cl_bitmap_mode_name(cl_bitmap_mode mode);  /* "on-success", ... */
/* The names above; NULL for a value outside the enum. Parsing an unknown
 * name returns -EINVAL and leaves *out alone. */
int cl_sync_parse(const char *name, cl_sync *out);
int cl_bitmap_mode_parse(const char *name, cl_bitmap_mode *out);

typedef struct cl_backup_config {
    cl_sync sync;
    cl_bitmap *bitmap;              /* NULL, or the named bitmap (sync bitmap etc.) */
    cl_bitmap_mode bitmap_mode;     /* meaningful only with a bitmap */
    uint64_t size;                  /* source size in bytes */
    uint64_t cluster_size;          /* QEMU: max(64 KiB, target cluster size) */
    uint64_t max_chunk;             /* 0 = default */
    cl_io io;
} cl_backup_config;

typedef struct cl_backup cl_backup;

/*
 * Create the job: the copy state (all dirty), the copy-before-write state,
 * and, with a bitmap, its successor (the bitmap is frozen). Then seed the
 * copy bitmap per sync mode:
 *   full, none: every cluster (none copies only through copy-before-write);
 *   top: every cluster, with skip-unallocated, until cl_backup_step's first
 *        pass drops the unallocated ones (skip-unallocated then goes off,
 *        as in QEMU's backup_run);
 *   bitmap, incremental: the bitmap rounded out to whole clusters.
 * and the progress's remaining to the copy bitmap's dirty bytes.
 * Validates only what the engine itself needs (sizes, a bitmap for sync
 * bitmap/incremental, bitmap size == size, a bitmap not already busy:
 * -EBUSY); QMP's argument checks and their texts belong to the caller.
 * Incremental always ends as bitmap-mode on-success, whatever bitmap_mode
 * says.
 */
cl_backup *cl_backup_new(const cl_backup_config *cfg, cl_error *err);
/* Does not free the config's bitmap. If cl_backup_finish() was never called,
 * the bitmap is reclaimed (no bit lost) and the successor freed. */
void cl_backup_free(cl_backup *job);

cl_copy *cl_backup_copy(cl_backup *job);
cl_cbw *cl_backup_cbw(cl_backup *job);
cl_bitmap *cl_backup_successor(cl_backup *job);   /* NULL without a bitmap */
uint64_t cl_backup_len(const cl_backup *job);     /* BLOCK_JOB_* "len" */
uint64_t cl_backup_offset(const cl_backup *job);  /* BLOCK_JOB_* "offset" */
/* sync top: the pass that drops unallocated clusters has not run yet
 * (the next step is that pass, not a copy) */
bool cl_backup_top_pass_pending(const cl_backup *job);

typedef enum cl_step_result {
    CL_STEP_MORE,        /* did some work; call again */
    CL_STEP_DONE,        /* everything copied (success) */
    CL_STEP_FAILED,      /* a copy failed: see fail */
    CL_STEP_CANCELLED,   /* cl_backup_cancel() was called */
    CL_STEP_IDLE,        /* sync none: nothing to copy on its own; copy-before-write
                            serves guest writes until the caller cancels (QEMU 7.2
                            keeps such a job running until it is cancelled) */
} cl_step_result;

/* One unit of the job's work: for sync top, first the unallocated pass (one
 * step), then one copy task per step, lowest remaining cluster first; sync
 * none copies nothing and answers IDLE until cancelled. A caller models time between
 * steps (guest writes through cl_backup_cbw() may land in between). */
cl_step_result cl_backup_step(cl_backup *job, cl_copy_failure *fail);
/* cl_backup_step() worth up to max_tasks copy tasks (cl_copy_steps());
 * *tasks (may be NULL) gets how many steps' worth it did (1 for anything but
 * a merged run of zero tasks). */
cl_step_result cl_backup_steps(cl_backup *job, uint64_t max_tasks, uint64_t *tasks,
                               cl_copy_failure *fail);
void cl_backup_cancel(cl_backup *job);

/* What happens to the named bitmap when the job ends (QEMU 7.2's
 * backup_cleanup_sync_bitmap): ret is 0 on success, negative errno on
 * failure or cancel (-ECANCELED).
 *   sync the bitmap iff (ret == 0 || mode == always) && mode != never:
 *       abdicate (the successor becomes the bitmap);
 *   else reclaim (successor merged back into the frozen bits);
 *   then if ret < 0 && mode == always: merge in the remaining copy bitmap.
 * Returns the bitmap that lives on; *release gets the one the caller must
 * unlist and free (parent or successor). Without a bitmap: returns NULL and
 * *release = NULL. */
cl_bitmap *cl_backup_finish(cl_backup *job, int ret, cl_bitmap **release);

#endif /* BLOCKSIM_CLUSTER_H */
