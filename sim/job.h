/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Layer 4 (jobs): block jobs and their life cycle (job.c after QEMU's
 * job.c), one file per job type (backup, create, mirror, commit,
 * commit_active, drive-backup),
 * grouped transactions, the job verbs, and the Proxmox VMA backup.
 */
#ifndef BLOCKSIM_SIM_JOB_H
#define BLOCKSIM_SIM_JOB_H

#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>

#include "cluster/cluster.h"
#include "sim/blk.h"
#include "sim/node.h"

typedef enum {
    JS_UNDEFINED, JS_CREATED, JS_RUNNING, JS_PAUSED, JS_READY, JS_STANDBY,
    JS_WAITING, JS_PENDING, JS_ABORTING, JS_CONCLUDED, JS_NULL,
} job_status;

typedef enum { JOB_BACKUP, JOB_CREATE, JOB_MIRROR, JOB_COMMIT, JOB_COMMIT_ACTIVE,
               JOB_STREAM } job_type;

struct sim_job {
    char *id;
    struct sim_node *implicit;  /* its implicit filter node, or NULL (drv_job_filter.c) */
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
    uint64_t mirror_pos;        /* where the next dirty granule is looked for */
    bool mirror_whole;          /* blockdev-mirror: every granule is copied */
    bool should_complete;
    struct sim_job *next;       /* creation order */
};

/* BlockDeviceIoStatus and BlockdevOnError, in QAPI order */
enum { IOS_OK, IOS_FAILED, IOS_NOSPACE };
enum { ONERR_REPORT, ONERR_IGNORE, ONERR_ENOSPC, ONERR_STOP, ONERR_AUTO };

/* ---- job types: each fills one table (QEMU's JobDriver / BlockJobDriver) - */

typedef struct sim_job_driver {
    const char *type;           /* query-jobs' "type" */
    bool block_job;             /* sends BLOCK_JOB_* events */
    /* query-jobs' current-progress and total-progress */
    uint64_t (*offset)(sim_job *j);
    uint64_t (*len)(sim_job *j);
    /* One tick of the job: a unit of its work if it may run now; true when
     * something happened */
    bool (*tick)(sim *s, sim_job *j);
    /* job_finalize_single's part of the job type: commit or abort (j->ret),
     * then clean up; NULL: nothing */
    void (*finalize)(sim *s, sim_job *j);
    /* The job sleeps on its rate limit in job_sleep_ns, which a pause
     * wakes: after the resume the next unit runs at once (commit, mirror).
     * A backup sleeps inside block-copy, which a pause does not wake. */
    bool pause_ends_sleep;
    /* JobDriver.complete (job-complete of a job in a state that takes it):
     * NULL when the type cannot complete */
    json_object *(*complete)(sim *s, sim_job *j);
    /* JobDriver.cancel: is this cancel a forced one? NULL: always */
    bool (*cancel)(sim_job *j, bool force);
    /* frees what the job type keeps in j->priv (not priv itself); NULL:
     * nothing */
    void (*destroy)(sim *s, sim_job *j);
} sim_job_driver;

extern const sim_job_driver backup_job_driver;  /* backup.c */
extern const sim_job_driver create_job_driver;  /* create.c */
extern const sim_job_driver mirror_job_driver;  /* mirror.c */
extern const sim_job_driver commit_job_driver;  /* commit.c */
extern const sim_job_driver commit_active_job_driver;  /* commit_active.c */
extern const sim_job_driver stream_job_driver;  /* stream.c */

/* ---- job.c: the job life cycle ------------------------------------------ */

const sim_job_driver *job_driver(const sim_job *j);

sim_job *job_find(sim *s, const char *id);
/* A new job at the end of the list (JS_UNDEFINED); job_free unlinks one. */
sim_job *job_new(sim *s, const char *id, job_type type);
void job_free(sim *s, sim_job *j);
/* One tick of a job: a unit of its work, rate limits permitting */
bool job_tick(sim *s, sim_job *j);
/* job_transition_to_pending */
void job_to_pending(sim *s, sim_job *j);
json_object *qmp_query_jobs(sim *s);
/* the job life cycle, for job_verbs.c (QEMU job.c's job_state_transition,
 * job_completed, job_finalize_single, job_do_dismiss) */
void job_transition(sim *s, sim_job *j, job_status st);
/* QEMU's JobSTT; job_transition aborts on a transition it does not allow */
bool job_transition_allowed(job_status from, job_status to);
void job_completed(sim *s, sim_job *j, int ret);
void job_finalize_single(sim *s, sim_job *j);
void job_dismiss(sim *s, sim_job *j);
void job_update_rc(sim *s, sim_job *j);
bool jobs_tick(sim *s);
void jobs_free_all(sim *s);
const char *job_status_name(job_status st);

/* ---- backup.c: the backup job -------------------------------------------- */

json_object *qmp_blockdev_backup(sim *s, json_object *args);
bool backup_run_step(sim *s, sim_job *j);
/* copy_merge.c: may the engine merge a run of zero-writing copy tasks
 * into one write (nothing could tell)? */
bool backup_may_merge_zero_tasks(sim *s, sim_job *j);
/* backup_workers.c: the copy tasks in flight beside a failing one (x-perf
 * max-workers); what the wave model needs to know */
typedef struct bk_wave {
    unsigned workers;       /* x-perf max-workers */
    bool counting;          /* the copy callbacks now run the job's own tasks */
    unsigned held;          /* worker slots held in the current wave */
    uint64_t *fresh;        /* target L2 tables a task of this wave allocates */
    size_t nfresh, cap;
    bool last_held;         /* did the last task started hold a slot */
    uint64_t last_end;      /* where the last task started ends */
} bk_wave;
void bkw_reset(bk_wave *w);     /* a new block-copy call */
void bkw_free(bk_wave *w);
/* the job's copy of [off, off + len) starts: one task, or a merged run of
 * zero tasks of chunk bytes each */
void bkw_tasks(bk_wave *w, sim_node *target, uint64_t chunk, uint64_t off, uint64_t len,
               bool zero);
/* a task failed: start (and land) the tasks QEMU starts before it sees that */
void bkw_after_failure(cl_copy *cs, bk_wave *w);
/* backup_cleanup_sync_bitmap: the named bitmap after a run ending in ret */
void backup_sync_bitmap(sim *s, sim_job *j, int ret);
/* backup_clean + bdrv_cbw_drop: the filter and the job's bitmaps go */
void backup_clean(sim *s, sim_job *j);
void backup_destroy(sim *s, sim_job *j);

/* ---- create.c: the blockdev-create job ------------------------------------ */

json_object *qmp_blockdev_create(sim *s, json_object *args);
/* The job's one unit of work: 0, or a negative errno with j->error set. */
int create_run(sim *s, sim_job *j);

/* ---- job_speed.c: rate-limited jobs (speed > 0) on the virtual clock ----- */

bool job_speed_step(sim *s, sim_job *j, bool (*step)(sim *, sim_job *));
bool job_speed_sleep(sim *s);
void job_speed_qmp_elapsed(sim *s);
/* ns of virtual time pass with nobody talking to the VM: every job does
 * the units that fall due meanwhile (1 ms each; rate limits permitting) */
void job_speed_run_for(sim *s, uint64_t ns);

/* ---- mirror.c: drive-mirror, as far as iotest 219 needs it ---------------- */

json_object *qmp_drive_mirror(sim *s, json_object *args);
json_object *qmp_blockdev_mirror(sim *s, json_object *args);
bool mirror_step(sim *s, sim_job *j);
void mirror_clean(sim *s, sim_job *j);
json_object *mirror_complete(sim *s, sim_job *j);
bool mirror_cancel(sim_job *j, bool force);

/* ---- job_txn.c: completion-mode grouped (QEMU job.c's JobTxn) ------------ */

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

/* ---- job_verbs.c: job-* and block-job-* commands, query-block-jobs ------- */

json_object *qmp_job_command(sim *s, const char *cmd, json_object *args);
json_object *qmp_query_block_jobs(sim *s);
void job_pause(sim *s, sim_job *j);
void job_resume(sim *s, sim_job *j);
/* QEMU's exit (qemu_cleanup -> job_cancel_sync_all): every job, newest
 * first, is cancelled by force and run to its end, then dismissed */
void jobs_cancel_sync_all(sim *s);

/* ---- drive_backup.c ------------------------------------------------------ */

json_object *qmp_drive_backup(sim *s, json_object *args);
/* bdrv_img_create for drive-backup and drive-mirror targets */
json_object *drive_create_target(sim *s, const char *path, const char *format,
                                 sim_node *backing, uint64_t size);

/* ---- backup_error.c: on-source-error / on-target-error ------------------- */

int backup_onerr_parse(const char *name);
/* A copy of the job failed: BLOCK_JOB_ERROR with the policy's action;
 * false when the job must end with the error (report). */
bool backup_copy_error(sim *s, sim_job *j, const cl_copy_failure *fail);

/* ---- commit.c, commit_active.c: block-commit ---------------------------- */

json_object *qmp_block_commit(sim *s, json_object *args);
/* stream.c: block-stream, a job of the same shape */
json_object *qmp_block_stream(sim *s, json_object *args);

/* What both commit jobs keep in j->priv */
typedef struct commit_state {
    sim_node *bs;               /* the device's root: the job's node */
    sim_node *top, *base;
    bool base_read_only;        /* reopened read-write for the job */
    char *backing_file;         /* backing-file: the overlay's new backing string */
    uint64_t done, len;         /* progress (current, total) */
    /* active commit (the mirror job of commit_active.c) */
    sim_bitmap *dirty_entry;    /* what is still to copy (granularity gran), a hidden
                                 * entry of top: guest writes set it */
    uint64_t gran, buf_size, next;
    bool initialised;           /* mirror_dirty_init done */
} commit_state;

/* bdrv_filter_or_cow_bs: the next node down a backing chain, through filters */
sim_node *commit_chain_next(sim_node *n);
/* bdrv_is_allocated_above(top, base, include_base = false): is the first
 * byte at off allocated in a layer above base? *pnum: the run of bytes
 * (up to len) that answer the same. */
bool commit_allocated_above(sim_node *top, sim_node *base, uint64_t off, uint64_t len,
                            uint64_t *pnum);
/* Does a commit job hold a BlockBackend of its own on n (commit_start's
 * s->top and s->base; the active commit's mirror target, the base)? */
bool commit_holds_blk(sim *s, sim_node *n);
/* the op blockers of the job's nodes (bs, top down to base) */
void commit_block_nodes(commit_state *c, sim_job *j);
void commit_unblock_nodes(sim *s, sim_job *j);
/* progress of a job whose j->priv is a commit_state (commit, block-stream) */
uint64_t commit_offset(sim_job *j);
uint64_t commit_len(sim_job *j);
/* commit_clean / mirror_exit_common: blockers off; ret 0 with pivot:
 * base takes top's place and the layers above base go */
void commit_release(sim *s, sim_job *j, bool pivot);
/* commit_active.c: commit_active_start's part once the job exists */
void commit_active_init(sim *s, sim_job *j, int64_t buf_size);

/* ---- pve_backup.c: the Proxmox VMA backup -------------------------------- */

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

#endif /* BLOCKSIM_SIM_JOB_H */
