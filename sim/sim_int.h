/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internals of the block-layer simulator: the in-memory file system and its
 * images, block nodes and their drivers, dirty bitmaps, jobs, the event
 * queue and the virtual clock. See sim/MODEL.md for the behaviours modelled.
 */
#ifndef BLOCKSIM_SIM_INT_H
#define BLOCKSIM_SIM_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <json-c/json.h>

#include "cluster/cluster.h"
#include "harness/backend.h"

/* ---- sparse byte store (sim/store.c) ------------------------------------ */

#include "sim/data.h"

#define SIM_CHUNK 65536u

/* A run of a file's contents: [off, off + s.len) reads as the span s. */
typedef struct sim_ext {
    uint64_t off;
    sim_span s;             /* SPAN_BYTE or SPAN_DATA; zeroes are gaps */
} sim_ext;

/* A file's contents as extents, plus which 64 KiB chunks are allocated (what
 * lseek(SEEK_HOLE) would see: a chunk once written stays allocated until it
 * is zeroed whole or found all zero by a zeroing write, or truncated away). */
typedef struct sim_store {
    uint64_t size;          /* logical length in bytes */
    uint64_t *keys;         /* allocated chunks: index + 1; 0 = empty slot */
    size_t cap, used;
    sim_ext *ext;           /* sorted, disjoint; a gap reads as zeroes */
    size_t n, ecap;
    uint64_t gen;           /* bumped by every change */
    struct sim_peek *peek;  /* store_peek's materialised chunks, made on demand */
} sim_store;

void store_init(sim_store *s);
void store_free(sim_store *s);
void store_read(const sim_store *s, uint64_t off, uint64_t len, void *buf);
void store_write(sim_store *s, uint64_t off, uint64_t len, const void *buf);
void store_zero(sim_store *s, uint64_t off, uint64_t len);
void store_truncate(sim_store *s, uint64_t size);
uint64_t store_extent(const sim_store *s, uint64_t off, uint64_t len, bool *hole);
const uint8_t *store_peek(const sim_store *s, uint64_t off, uint64_t len, uint64_t *pnum);
/* The same without bytes: [off, off + len) appended to out as spans, and
 * written from the spans of in (in->len bytes; allocates like store_write). */
void store_read_data(const sim_store *s, uint64_t off, uint64_t len, sim_data *out);
void store_write_data(sim_store *s, uint64_t off, const sim_data *in);
/* How many extents hold the contents (for tests and benchmarks). */
size_t store_extent_count(const sim_store *s);

/* ---- qcow2 metadata, kept beside the file's bytes ----------------------- */

/* QEMU 7.2 defaults the simulator follows. */
#define Q2_DEFAULT_CLUSTER_SIZE 65536u     /* qemu-img create / blockdev-create qcow2 */
#define BACKUP_MIN_CLUSTER_SIZE 65536u     /* backup: max(this, target's cluster) */
#define BITMAP_DEFAULT_GRAN_MIN 4096u      /* default granularity: the cluster size, */
#define BITMAP_DEFAULT_GRAN_MAX 65536u     /* clamped to [4 KiB, 64 KiB] */

#define Q2_ZERO 1ull    /* L2 entry flag: reads as zeroes */

typedef struct sim_saved_bitmap {
    char *name;
    cl_bitmap *bm;
    uint64_t entry_offset;      /* its bitmap directory entry in the file (qcow2_bitmap.c) */
    uint32_t reserved_flags;    /* flag bits QEMU 7.2 does not know, poked into the file */
    struct sim_saved_bitmap *next;
} sim_saved_bitmap;

typedef struct sim_qcow2 {
    uint64_t size;          /* virtual size */
    uint64_t cluster_size;
    uint64_t nclusters;
    uint64_t *l2;           /* per guest cluster: host offset | Q2_ZERO, 0 = unallocated */
    uint64_t *l2_table;     /* per L2 table: its host offset (0 = none yet), bit 0:
                             * changed in QEMU's L2 cache, not written (qcow2_meta.c) */
    bool refblock_dirty;    /* refcount block 0 changed in the refcount cache */
    uint64_t next_host;     /* next free host offset */
    char *backing;          /* backing file name, or NULL */
    char *backing_fmt;
    sim_saved_bitmap *bitmaps;  /* persistent bitmaps stored in the image */
    uint64_t bm_dir_offset, bm_dir_size;    /* the bitmap directory, 0 when none */
} sim_qcow2;

typedef struct sim_file {
    char *path;
    sim_store data;
    sim_qcow2 *qcow2;       /* the bytes hold a qcow2 image */
    struct sim_file *next;
} sim_file;

/* ---- nodes --------------------------------------------------------------- */

typedef enum {
    DRV_FILE, DRV_QCOW2, DRV_BLKDEBUG, DRV_RAW, DRV_CBW,
    DRV_NULL,                   /* null-co: raw_size bytes of nothing */
    DRV_SNAPSHOT_ACCESS, DRV_THROTTLE,
} sim_driver;

typedef struct sim_bitmap {
    char *name;             /* NULL: anonymous (owned by a job or filter) */
    cl_bitmap *bm;
    bool persistent;
    bool owned;             /* we free bm when unlisting */
    int exported;           /* NBD exports serving it: busy meanwhile (nbd.c) */
    bool txn_busy;          /* a transaction removes it (sim/transaction.c) */
    struct sim_bitmap *next;
} sim_bitmap;

typedef struct bd_rule {
    int event;
    bool inject;            /* else set-state */
    int state;              /* 0 = any */
    int err;
    bool once, immediately;
    int64_t offset;         /* -1 = any */
    unsigned iotype_mask;
    int new_state;
    struct bd_rule *next;       /* in rules of its event */
    struct bd_rule *active_next;
    bool active;
} bd_rule;

#define BD_NEVENTS 64

enum { IOT_READ, IOT_WRITE, IOT_WRITE_ZEROES, IOT_DISCARD, IOT_FLUSH, IOT_BLOCK_STATUS };

typedef struct sim_job sim_job;
typedef struct sim_throttle_group sim_throttle_group;

typedef struct sim_node {
    char *name;
    bool auto_named;
    sim_driver drv;
    struct sim_node *file;      /* file / image child (cbw: the source) */
    struct sim_node *backing;   /* qcow2 backing chain, opened with it */
    sim_file *f;                /* DRV_FILE */
    sim_qcow2 *q;               /* DRV_QCOW2 (points into its file) */
    uint64_t raw_offset, raw_size; bool raw_has_size;
    int parents;                /* how many nodes use this one as a child */
    bool monitor_owned;         /* added by blockdev-add */
    sim_bitmap *bitmaps;        /* newest first */
    uint64_t write_gen, flushed_gen;
    /* blkdebug */
    int bd_state;
    bd_rule *bd_rules[BD_NEVENTS];
    bd_rule *bd_active;
    bool bd_take_write;         /* take-child-perms holds 'write' */
    bool discard_unmap;         /* discard=unmap: discards reach the driver */
    /* copy-before-write filter: a backup job's, or one of blockdev-add */
    sim_job *cbw_job;
    struct sim_cbw *cbw;        /* blockdev-add'ed (copy_before_write.c) */
    sim_throttle_group *tg;     /* throttle: its group (throttle.c) */
    sim_job *busy_job;          /* op blocker: in use by this job */
    bool read_only;             /* blockdev-add read-only (the VMA backup refuses it) */
    struct bd_break *bd_breaks; /* blkdebug breakpoints (blkdebug_break.c) */
    bool bd_suspended;          /* the next request waits at a breakpoint */
    struct sim_node *next;      /* creation order */
} sim_node;

/* ---- jobs ---------------------------------------------------------------- */

typedef enum {
    JS_UNDEFINED, JS_CREATED, JS_RUNNING, JS_PAUSED, JS_READY, JS_STANDBY,
    JS_WAITING, JS_PENDING, JS_ABORTING, JS_CONCLUDED, JS_NULL,
} job_status;

typedef enum { JOB_BACKUP, JOB_CREATE, JOB_MIRROR } job_type;

struct sim_job {
    char *id;
    job_type type;
    job_status status;
    bool auto_finalize, auto_dismiss;
    int ret;                    /* 0, or negative errno */
    bool cancelled;
    char *error;
    int64_t speed;
    bool finished_work;
    /* backup */
    cl_backup *bk;
    cl_sync sync;
    sim_node *source, *target, *filter;
    sim_bitmap *sync_bitmap;    /* the named bitmap's listing entry */
    sim_bitmap *successor_entry, *copy_entry, *done_entry, *access_entry;
    /* blockdev-create */
    json_object *create_opts;
    uint64_t create_progress;
    void *priv;                 /* the cl_io context of a backup */
    /* pause/resume/cancel (job_verbs.c, QEMU's Job fields) */
    bool user_paused;
    int pause_count;
    job_status resume_status;   /* what a paused job goes back to */
    bool force_cancel;
    int io_status;              /* IOS_* (block job iostatus) */
    int on_source_error, on_target_error;   /* ONERR_* (backup_error.c) */
    struct sim_txn *txn;        /* grouped transaction (job_txn.c), NULL alone */
    bool unstarted;             /* made by a transaction's prepare, not started yet */
    unsigned inflight;          /* copy tasks QEMU keeps in flight (x-perf max-workers) */
    uint64_t next_chunk_ns;     /* rate limit: when the next unit may run (job_speed.c) */
    /* drive-mirror (mirror.c) */
    uint64_t mirror_done, mirror_len, mirror_chunk;
    bool should_complete;
    struct sim_job *next;       /* creation order */
};

/* BlockDeviceIoStatus and BlockdevOnError, in QAPI order */
enum { IOS_OK, IOS_FAILED, IOS_NOSPACE };
enum { ONERR_REPORT, ONERR_IGNORE, ONERR_ENOSPC, ONERR_STOP, ONERR_AUTO };

/* ---- the machine --------------------------------------------------------- */

typedef struct sim_event {
    json_object *ev;
    struct sim_event *next;
} sim_event;

typedef struct pve_state pve_state;

typedef struct sim {
    bs_backend base;
    sim_file *files;
    sim_node *nodes;            /* creation order */
    sim_job *jobs;
    sim_event *ev_head, *ev_tail;
    uint64_t clock_ns;
    unsigned node_counter;
    bool running;               /* a VM is launched */
    bool vm_stopped;            /* QMP stop (runstate.c) */
    char *vm_log;               /* the VM's stdout since launch: HMP qemu-io's output */
    struct sim_nbd *nbd;        /* NBD server (sim/nbd.c), NULL when stopped */
    sim_throttle_group *tgroups;    /* throttle-group objects (throttle.c) */
    uint64_t io_deadline_ns;    /* a timed copy-before-write in progress: its end */
    bool io_timed_out;          /* ... and a request of it ran past that end */
    pve_state *pve;             /* the VMA backup (pve_backup.c), NULL before one */
    uint64_t seed;              /* varies generated uuids; 0 unless a test sets it */
    char *scratch;              /* real directory for archives: base.test_dir */
    bs_schedule sched;          /* the explorer's choices (sim/schedule.c) */
    bs_schedule_counts sched_seen;
    const void *sched_job;      /* the backup job whose writes were counted last */
    long sched_job_first;       /* job writes before its first one */
    bool sched_moved;           /* the moved guest write has happened */
    char *sched_moved_reply;    /* and its reply, for when the case issues it */
    json_object *iothreads;     /* ids of iothread objects (iothread.c) */
    struct sim_blk *blks;       /* block backends (-drive), sim/drive.c */
    bool defer_job_start;       /* a transaction's prepare: jobs start at commit */
    void *commit_jobs;          /* block-commit jobs, sim/commit.c */
    struct sim_qemu_nbd *qemu_nbd;  /* a qemu-nbd process beside the VM (qemu_nbd.c) */
} sim;

#define SIM_EPOCH_S 1700000000ull   /* virtual wall clock start */

/* schedule.c: the explorer's choices. Each returns 0, or -EIO for the one
 * job I/O the schedule fails; sched_skip_injection says whether this
 * blkdebug injection is the one that does not land. */
int sched_job_read(sim *s);
int sched_job_write(sim *s, const void *job);
/* An HMP qemu-io command line, through the schedule (a write may have been
 * moved); sched_tick runs a moved write once its point has come. */
char *sched_qemu_io(sim *s, sim_node *n, const char *cmd, bool device);
void sched_tick(sim *s);
/* qmp.c: one qemu-io command on node n, the reply text (malloc'd) */
char *sim_qemu_io_line(sim *s, sim_node *n, const char *cmdline, bool device);
bool sched_skip_injection(sim *s);
void sim_set_schedule(bs_backend *b, const bs_schedule *plan);
void sim_schedule_counts(bs_backend *b, bs_schedule_counts *seen);

/* fs.c */
sim_file *fs_lookup(sim *s, const char *path);
sim_file *fs_create(sim *s, const char *path);
void fs_free_all(sim *s);
sim_qcow2 *q2_new(uint64_t size, uint64_t cluster_size);
/* Can a qcow2 image of this size be made? 0; -EFBIG past QEMU's limit (its
 * largest L1 table); -ENOMEM past the simulator's (SIM_Q2_MAX_CLUSTERS). */
#define SIM_Q2_MAX_CLUSTERS (1ull << 24)
int q2_size_check(uint64_t size, uint64_t cluster_size);
void q2_free(sim_qcow2 *q);
/* Grow or shrink the image to ncl guest clusters (kept entries stay). */
void q2_set_clusters(sim_qcow2 *q, uint64_t ncl);
int img_open_chain_read(sim *s, const char *path, uint64_t off, uint64_t len,
                        void *buf, int depth);
int img_chain_read_data(sim *s, const char *path, uint64_t off, uint64_t len,
                        sim_data *out, int depth);
int img_chain_extent(sim *s, const char *path, uint64_t off, uint64_t len,
                     uint64_t *pnum, bool *zero, const uint8_t **data, int depth);
uint64_t img_guest_size(sim *s, const char *path);
char *path_relative_to(const char *image, const char *backing);

/* node.c */
sim_node *node_find(sim *s, const char *name);
int node_read(sim *s, sim_node *n, uint64_t off, uint64_t len, void *buf);
int node_write(sim *s, sim_node *n, uint64_t off, uint64_t len, const void *buf,
               bool zeroes);
/* node_read/node_write with the data as spans (sim/data.h): no bytes are
 * copied. node_read_data appends len bytes to out (on error, what it holds
 * is unspecified); node_write_data writes in->len bytes, or with in NULL,
 * len zeroes the way node_write(..., NULL, true) does. */
int node_read_data(sim *s, sim_node *n, uint64_t off, uint64_t len, sim_data *out);
int node_write_data(sim *s, sim_node *n, uint64_t off, uint64_t len, const sim_data *in);
int node_flush(sim *s, sim_node *n);
int node_discard(sim *s, sim_node *n, uint64_t off, uint64_t len);
int node_block_status(sim *s, sim_node *n, uint64_t off, uint64_t len, uint64_t *pnum);
uint64_t node_size(sim_node *n);
uint64_t node_cluster_size(sim_node *n);
const char *node_drv_name(sim_node *n);
const char *node_filename(sim_node *n);
sim_node *node_new(sim *s, sim_driver drv, const char *name);
void node_unref(sim *s, sim_node *n);
void node_remove(sim *s, sim_node *n);
sim_bitmap *bitmap_list_add(sim_node *n, const char *name, cl_bitmap *bm,
                            bool persistent, bool owned);
void bitmap_list_remove(sim_node *n, sim_bitmap *e);
sim_bitmap *bitmap_find(sim_node *n, const char *name);
json_object *node_info(sim *s, sim_node *n);
json_object *blockdev_open(sim *s, json_object *opts, const char *qualifier,
                           sim_node **out, bool top);
json_object *blockdev_open_child(sim *s, json_object *ref, sim_node **out);
json_object *node_name_check(sim *s, const char *name);
int blkdebug_event_name(const char *name);
void blkdebug_event(sim *s, sim_node *n, int event);
bool id_wellformed(const char *id);

/* job.c */
void ev_emit(sim *s, const char *name, json_object *data);
sim_job *job_find(sim *s, const char *id);
json_object *qmp_blockdev_backup(sim *s, json_object *args);
json_object *qmp_blockdev_create(sim *s, json_object *args);
json_object *qmp_query_jobs(sim *s);
/* the job life cycle, for job_verbs.c (QEMU job.c's job_state_transition,
 * job_completed, job_finalize_single, job_do_dismiss) */
void job_transition(sim *s, sim_job *j, job_status st);
void job_completed(sim *s, sim_job *j, int ret);
void job_finalize_single(sim *s, sim_job *j);
void job_dismiss(sim *s, sim_job *j);
void job_update_rc(sim *s, sim_job *j);

/* job_txn.c: completion-mode grouped (QEMU job.c's JobTxn) */
typedef struct sim_txn sim_txn;
sim_txn *job_txn_new(void);
void job_txn_add(sim_txn *t, sim_job *j);       /* takes a reference */
void job_txn_unref(sim_txn *t);
/* job_completed of a job in a transaction: true when handled here */
bool job_txn_completed(sim *s, sim_job *j, int ret);
/* job-finalize of a job in a group finalizes the group; a cancel of a
 * waiting or pending one aborts it */
void job_txn_finalize(sim *s, sim_job *j);
void job_txn_abort(sim *s, sim_job *j);
/* A transaction's jobs: job_start at commit (running, then paused by the
 * drained section), resumed when clean ends that section; a job never
 * started ends with no BLOCK_JOB_* event (job_finalize_single_locked). */
void job_start_deferred(sim *s, sim_job *j);
void job_resume_deferred(sim *s, sim_job *j);
void job_cancel_unstarted(sim *s, sim_job *j);
const char *job_type_name(sim_job *j);
uint64_t job_offset(sim_job *j);
uint64_t job_len(sim_job *j);

/* job_verbs.c: job-* and block-job-* commands, query-block-jobs */
json_object *qmp_job_command(sim *s, const char *cmd, json_object *args);
json_object *qmp_query_block_jobs(sim *s);
void job_pause(sim *s, sim_job *j);
void job_resume(sim *s, sim_job *j);

/* job.c: one unit of a backup or create job's work; one tick of a job */
bool backup_step(sim *s, sim_job *j);
bool job_tick(sim *s, sim_job *j);
sim_job *job_new(sim *s, const char *id, job_type type);

/* job.c: job_transition_to_pending */
void job_to_pending(sim *s, sim_job *j);

/* job_speed.c: rate-limited jobs (speed > 0) on the virtual clock */
bool job_speed_step(sim *s, sim_job *j, bool (*step)(sim *, sim_job *));
bool job_speed_sleep(sim *s);
void job_speed_qmp_elapsed(sim *s);

/* mirror.c: drive-mirror, as far as iotest 219 needs it */
json_object *qmp_drive_mirror(sim *s, json_object *args);
bool mirror_step(sim *s, sim_job *j);
void mirror_clean(sim *s, sim_job *j);
json_object *mirror_complete(sim *s, sim_job *j);

/* blkdebug_break.c: breakpoints; a request held at one fails with this */
#define BD_SUSPENDED (-EINPROGRESS)
void blkdebug_break_event(sim_node *n, int event);
int blkdebug_break_check(sim_node *n);
void blkdebug_breaks_free(sim_node *n);
char *blkdebug_break_cmd(sim *s, sim_node *n, int argc, char **argv);

/* runstate.c: QMP stop / cont */
json_object *qmp_stop(sim *s);
json_object *qmp_cont(sim *s);

/* drive_add.c: HMP drive_add ARGS (if=none); the reply text */
char *hmp_drive_add(sim *s, const char *args);

/* drive_backup.c */
json_object *qmp_drive_backup(sim *s, json_object *args);
/* bdrv_img_create for drive-backup and drive-mirror targets */
json_object *drive_create_target(sim *s, const char *path, const char *format,
                                 sim_node *backing, uint64_t size);

/* backup_error.c: on-source-error / on-target-error */
int backup_onerr_parse(const char *name);
/* A copy of the job failed: BLOCK_JOB_ERROR with the policy's action;
 * false when the job must end with the error (report). */
bool backup_copy_error(sim *s, sim_job *j, const cl_copy_failure *fail);
bool jobs_tick(sim *s);
void jobs_free_all(sim *s);
const char *job_status_name(job_status st);

/* copy_before_write.c: the copy-before-write driver of blockdev-add */
typedef struct sim_cbw sim_cbw;
json_object *cbw_open(sim *s, json_object *opts, const char *name, sim_node **out);
sim_node *cbw_close(sim *s, sim_node *n);     /* returns the target child to unref */
void cbw_teardown(sim_node *n);               /* frees the state, touches no other node */
int cbw_write(sim *s, sim_node *n, uint64_t off, uint64_t len, const sim_data *in,
              bool discard);
int cbw_snapshot_read(sim *s, sim_node *n, uint64_t off, uint64_t len, sim_data *out);
int cbw_snapshot_block_status(sim *s, sim_node *n, uint64_t off, uint64_t len,
                              uint64_t *pnum);
int cbw_snapshot_discard(sim *s, sim_node *n, uint64_t off, uint64_t len);
bool cbw_unshares_write(sim *s, sim_node *n);
json_object *cbw_append_perm_check(sim *s, sim_node *src);
sim_node *cbw_target(sim_node *n);

/* device.c: guest devices, -device and qom-set */
struct sim_blk;
struct sim_blk *blk_new_anonymous(sim *s, const char *name);
struct sim_blk *device_find(sim *s, const char *path);
sim_node *device_root(struct sim_blk *d);
bool device_uses(sim *s, const sim_node *n);
void device_retarget(sim *s, sim_node *from, sim_node *to);
json_object *device_dispatch(sim *s, const char *cmd, json_object *args);

/* snapshot_access.c: the snapshot-access driver */
json_object *snapshot_access_open(sim *s, json_object *opts, const char *name, sim_node **out);
int snapshot_access_read(sim *s, sim_node *n, uint64_t off, uint64_t len, sim_data *out);
int snapshot_access_block_status(sim *s, sim_node *n, uint64_t off, uint64_t len,
                                 uint64_t *pnum);
int snapshot_access_discard(sim *s, sim_node *n, uint64_t off, uint64_t len);

/* throttle.c: throttle-group objects and the throttle driver */
json_object *throttle_dispatch(sim *s, const char *cmd, json_object *args);
json_object *throttle_open(sim *s, json_object *opts, const char *name, sim_node **out);
void throttle_intercept(sim *s, sim_node *n, uint64_t bytes, bool is_write);
void throttle_groups_free(sim *s);

/* pve_backup.c */
json_object *qmp_backup(sim *s, json_object *args);
json_object *qmp_query_backup(sim *s);
json_object *qmp_backup_cancel(sim *s);
bool pve_tick(sim *s);
int pve_before_write(sim *s, sim_node *n, uint64_t off, uint64_t len);
bool pve_node_busy(sim *s, sim_node *n);
void pve_free(sim *s);
uint8_t pve_ram_byte(uint64_t off);
/* For tests: the seed the backup uuids derive from. */
void bs_backend_sim_set_seed(bs_backend *b, uint64_t seed);

/* tools.c: one qemu-io command on node n, its output to out */
void sim_io_command(sim *s, sim_node *n, bool writable, bool over_nbd, const char *cmdline,
                    FILE *out);
/* nbd.c: the errno an NBD client sees for a server-side errno */
int nbd_wire_errno(int err);

/* qmp.c */
json_object *sim_dispatch(sim *s, const char *cmd, json_object *args);
json_object *qmp_error(const char *cls, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
json_object *qmp_ok(void);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define EMBED_EVENT_ENUM 1

#endif /* BLOCKSIM_SIM_INT_H */
