/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The backup job (QEMU 7.2 block/backup.c over the cluster engine of
 * lib/cluster): blockdev-backup, the copy-before-write filter it inserts
 * above its source, one cluster copy per tick, and what becomes of the
 * sync bitmap when it ends (backup_cleanup_sync_bitmap).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/job.h"

/* ---- backup: attach and detach the copy-before-write filter --------------- */

/* The cl_io callbacks need the machine: keep it in a small side table. */
typedef struct bk_ctx { sim *s; sim_job *j; bk_wave wave; } bk_ctx;
static bk_ctx bk_ctx_for(sim *s, sim_job *j) { bk_ctx c = { s, j, { 0 } }; return c; }

/* A copy task starts (backup_workers.c counts the ones in flight). */
static void task_starts(bk_ctx *c, uint64_t off, uint64_t len, bool zero)
{
    if (c->wave.counting) {
        bkw_tasks(&c->wave, c->j->target, cl_copy_chunk(cl_backup_copy(c->j->bk)), off, len,
                  zero);
    }
}

static int io_read(void *opaque, uint64_t off, uint64_t len, void *buf)
{
    bk_ctx *c = opaque;
    int r = sched_job_read(c->s);
    if (r < 0) {
        return r;
    }
    return node_read(c->s, c->j->source, off, len, buf);
}

static int io_write(void *opaque, uint64_t off, uint64_t len, const void *buf)
{
    bk_ctx *c = opaque;
    int r = sched_job_write(c->s, c->j);
    if (r < 0) {
        return r;
    }
    return node_write(c->s, c->j->target, off, len, buf, false);
}

/* A cluster copy without bytes: the source's spans become the target's. */
static int io_copy(void *opaque, uint64_t off, uint64_t len, bool *is_read)
{
    bk_ctx *c = opaque;
    sim_data d;
    task_starts(c, off, len, false);
    data_init(&d);
    int r = sched_job_read(c->s);
    if (r == 0) {
        r = node_read_data(c->s, c->j->source, off, len, &d);
    }
    *is_read = r < 0;
    if (r == 0) {
        r = sched_job_write(c->s, c->j);
    }
    if (r == 0) {
        r = node_write_data(c->s, c->j->target, off, len, &d);
    }
    data_free(&d);
    return r;
}

static int io_write_zeroes(void *opaque, uint64_t off, uint64_t len)
{
    bk_ctx *c = opaque;
    task_starts(c, off, len, true);
    int r = sched_job_write(c->s, c->j);
    if (r < 0) {
        return r;
    }
    return node_write(c->s, c->j->target, off, len, NULL, true);
}

static int io_block_status(void *opaque, uint64_t off, uint64_t len, bool top_only,
                           uint64_t *pnum)
{
    bk_ctx *c = opaque;
    return node_block_status(c->s, c->j->source, off, len, pnum);
}

static bool io_merge_zero_tasks(void *opaque)
{
    bk_ctx *c = opaque;
    return backup_may_merge_zero_tasks(c->s, c->j);
}

typedef struct backup_priv { bk_ctx ctx; } backup_priv;

/* Job cleanup (QEMU's backup_clean + bdrv_cbw_drop): the filter and every
 * anonymous bitmap of the job leave the graph. */
void backup_clean(sim *s, sim_job *j)
{
    if (j->copy_entry) {
        bitmap_list_remove(j->source, j->copy_entry);
        j->copy_entry = NULL;
    }
    if (j->filter) {
        for (sim_node *p = s->nodes; p; p = p->next)   /* bdrv_cbw_drop moves them back */
            if (p->file == j->filter)
                p->file = j->source;
        blk_retarget(s, j->filter, j->source);
        device_retarget(s, j->filter, j->source);   /* bdrv_cbw_drop */
        j->filter->cbw_backup = NULL;
        j->filter->cbw_backup_target = NULL;
        j->filter->busy_job = NULL;
        j->filter->file = NULL;
        node_remove(s, j->filter);      /* its bitmaps belong to the engine */
        j->filter = NULL;
        node_unref(s, j->source);
    }
    if (j->target) {
        j->target->busy_job = NULL;
        node_unref(s, j->target);
        j->target = NULL;
    }
}

/* The named bitmap per bitmap-mode (QEMU's backup_cleanup_sync_bitmap). */
void backup_sync_bitmap(sim *s, sim_job *j, int ret)
{
    if (!j->sync_bitmap) {
        return;
    }
    cl_bitmap *release = NULL;
    cl_bitmap *lives = cl_backup_finish(j->bk, ret, &release);
    sim_bitmap *named = j->sync_bitmap, *succ = j->successor_entry;
    if (lives == succ->bm) {
        /* abdicate: the successor, where it is listed, takes the name */
        succ->name = named->name;
        named->name = NULL;
        succ->persistent = named->persistent;
        succ->owned = true;
        bitmap_list_remove(j->source, named);   /* frees the old parent */
    } else {
        succ->owned = false;
        bitmap_list_remove(j->source, succ);
        cl_bitmap_free(release);
    }
    j->sync_bitmap = NULL;
    j->successor_entry = NULL;
}

/* Frees what a backup job holds (it may not have run). */
void backup_destroy(sim *s, sim_job *j)
{
    if (j->bk) {
        if (j->successor_entry) {
            bitmap_list_remove(j->source, j->successor_entry);
            j->successor_entry = NULL;
        }
        backup_clean(s, j);
        if (j->priv) {
            bkw_free(&((backup_priv *)j->priv)->ctx.wave);
        }
        cl_backup_free(j->bk);
        j->bk = NULL;
    }
}

/* One unit of a running backup's work: a cluster copy (cl_backup_step);
 * false when there was nothing to do. */
bool backup_run_step(sim *s, sim_job *j)
{
    cl_copy_failure fail = { 0, false };
    bk_wave *wave = &((backup_priv *)j->priv)->ctx.wave;
    /* A merged run of zero tasks took one millisecond per task, as the
     * tasks would have one tick each (nothing else ran in between). */
    uint64_t tasks = 1;
    wave->counting = true;
    cl_step_result step = cl_backup_steps(j->bk, UINT64_MAX, &tasks, &fail);
    if (step == CL_STEP_FAILED && fail.ret != BD_SUSPENDED) {
        bkw_after_failure(cl_backup_copy(j->bk), wave);
    }
    wave->counting = false;
    s->clock_ns += (tasks - 1) * 1000000ull;
    switch (step) {
    case CL_STEP_IDLE:
        /* sync none copies only through copy-before-write, until cancelled */
        return false;
    case CL_STEP_MORE:
        return true;
    case CL_STEP_DONE:
        job_completed(s, j, 0);
        return true;
    case CL_STEP_CANCELLED:
        job_completed(s, j, -ECANCELED);
        return true;
    case CL_STEP_FAILED:
        if (fail.ret == BD_SUSPENDED) {
            /* held at a blkdebug breakpoint: no progress yet, and the
             * task starts again on the next tick */
            if (wave->last_held && wave->held > 0) {
                wave->held--;
            }
            return false;
        }
        /* QEMU's next block-copy call (a retry) starts with no task in flight */
        bkw_reset(wave);
        if (!backup_copy_error(s, j, &fail)) {
            job_completed(s, j, fail.ret < 0 ? fail.ret : -EIO);
        }
        return true;
    }
    return false;
}

/* ---- the job type ----------------------------------------------------------- */

static uint64_t backup_offset(sim_job *j)
{
    return j->bk ? cl_backup_offset(j->bk) : j->create_progress;
}

static uint64_t backup_len(sim_job *j)
{
    return j->bk ? cl_backup_len(j->bk) : j->create_progress;
}

/* A running backup copies one cluster per tick, rate limits permitting. */
static bool backup_tick(sim *s, sim_job *j)
{
    if (j->status == JS_PAUSED && j->bk) {
        /* backup_pause cancels the block-copy call; the resumed job starts
         * a new one */
        bkw_reset(&((backup_priv *)j->priv)->ctx.wave);
    }
    if (j->status != JS_RUNNING || j->finished_work) {
        return false;
    }
    return job_speed_step(s, j, backup_run_step);
}

static void backup_finalize(sim *s, sim_job *j)
{
    backup_sync_bitmap(s, j, j->ret ? -1 : 0);
    backup_clean(s, j);
}

const sim_job_driver backup_job_driver = {
    .type = "backup",
    .block_job = true,
    .offset = backup_offset,
    .len = backup_len,
    .tick = backup_tick,
    .finalize = backup_finalize,
};

/* ---- blockdev-backup ---------------------------------------------------- */

static bool jhas(json_object *args, const char *key)
{
    json_object *v;
    return args && json_object_object_get_ex(args, key, &v);
}

static bool jbool(json_object *args, const char *key, bool dflt)
{
    json_object *v;
    if (args && json_object_object_get_ex(args, key, &v)) {
        return json_object_get_boolean(v);
    }
    return dflt;
}

static int64_t jint(json_object *args, const char *key, int64_t dflt)
{
    json_object *v;
    if (args && json_object_object_get_ex(args, key, &v)) {
        return json_object_get_int64(v);
    }
    return dflt;
}

static json_object *node_lookup_err(sim *s, const char *name, sim_node **out)
{
    return blk_lookup_bs_err(s, name, out);
}

static json_object *op_blocked(sim *s, sim_node *n)
{
    for (sim_node *m = n; m; m = m->file) {
        if (m->busy_job) {
            return qmp_error("GenericError",
                             "Node '%s' is busy: block device is in use by block job: %s",
                             device_or_node_name(s, n), job_type_name(m->busy_job));
        }
        if (m->drv != DRV_CBW) {
            break;
        }
    }
    return NULL;
}

static const char *sync_arg_name(cl_sync s)
{
    return cl_sync_name(s);
}

json_object *qmp_blockdev_backup(sim *s, json_object *args)
{
    const char *device = json_str(args, "device");
    const char *target_name = json_str(args, "target");
    const char *job_id = json_str(args, "job-id");
    const char *bitmap_name = json_str(args, "bitmap");
    const char *filter_name = json_str(args, "filter-node-name");
    sim_node *src, *tgt;
    json_object *err;
    cl_sync sync;
    cl_bitmap_mode mode = CL_BITMAP_ON_SUCCESS;
    bool has_mode = jhas(args, "bitmap-mode");

    if ((err = node_lookup_err(s, device, &src)) || (err = node_lookup_err(s, target_name, &tgt))) {
        return err;
    }
    cl_sync_parse(json_str(args, "sync"), &sync);
    if (has_mode) {
        cl_bitmap_mode_parse(json_str(args, "bitmap-mode"), &mode);
    }
    json_object *perf = NULL;
    json_object_object_get_ex(args, "x-perf", &perf);
    int64_t max_workers = jint(perf, "max-workers", 64);
    int64_t max_chunk = jint(perf, "max-chunk", 0);

    /* QEMU 7.2 do_backup_common, in its order */
    if ((sync == CL_SYNC_BITMAP || sync == CL_SYNC_INCREMENTAL) && !bitmap_name) {
        return qmp_error("GenericError", "must provide a valid bitmap name for '%s' sync mode",
                         sync_arg_name(sync));
    }
    if (sync == CL_SYNC_INCREMENTAL) {
        if (has_mode && mode != CL_BITMAP_ON_SUCCESS) {
            return qmp_error("GenericError",
                             "Bitmap sync mode must be '%s' when using sync mode '%s'",
                             cl_bitmap_mode_name(CL_BITMAP_ON_SUCCESS), sync_arg_name(sync));
        }
        has_mode = true;
        sync = CL_SYNC_BITMAP;
        mode = CL_BITMAP_ON_SUCCESS;
    }
    sim_bitmap *bme = NULL;
    if (bitmap_name) {
        bme = bitmap_find(src, bitmap_name);
        if (!bme) {
            return qmp_error("GenericError", "Bitmap '%s' could not be found", bitmap_name);
        }
        if (!has_mode) {
            return qmp_error("GenericError", "Bitmap sync mode must be given when providing a bitmap");
        }
        if (cl_bitmap_busy(bme->bm)) {
            return qmp_error("GenericError",
                             "Bitmap '%s' is currently in use by another operation and cannot be used",
                             bitmap_name);
        }
        if (sync == CL_SYNC_NONE) {
            return qmp_error("GenericError", "sync mode '%s' does not produce meaningful bitmap outputs",
                             sync_arg_name(sync));
        }
        if (mode == CL_BITMAP_NEVER && sync != CL_SYNC_BITMAP) {
            return qmp_error("GenericError",
                             "Bitmap sync mode '%s' has no meaningful effect when combined with sync mode '%s'",
                             cl_bitmap_mode_name(mode), sync_arg_name(sync));
        }
    }
    if (!bitmap_name && has_mode) {
        return qmp_error("GenericError", "Cannot specify bitmap sync mode without a bitmap");
    }

    /* QEMU 7.2 backup_job_create */
    if (src == tgt) {
        return qmp_error("GenericError", "Source and target cannot be the same");
    }
    if (jbool(args, "compress", false) && !node_drv(tgt)->compressed_writes) {
        /* bdrv_supports_compressed_writes */
        return qmp_error("GenericError", "Compression is not supported for this drive %s",
                         blk_device_name(s, tgt));
    }
    if ((err = op_blocked(s, src)) || (err = op_blocked(s, tgt))) {
        return err;
    }
    if (max_workers < 1 || max_workers > 2147483647) {
        return qmp_error("GenericError", "max-workers must be between 1 and %d", 2147483647);
    }
    if (max_chunk < 0) {
        return qmp_error("GenericError", "max-chunk must be zero (which means no limit) or positive");
    }
    if (node_size(src) != node_size(tgt)) {
        return qmp_error("GenericError", "Source and target image have different sizes");
    }
    if (filter_name) {
        if (!id_wellformed(filter_name)) {
            return qmp_error("GenericError", "Could not create node: Invalid node-name: '%s'", filter_name);
        }
        if (strlen(filter_name) >= 32) {
            return qmp_error("GenericError", "Could not create node: Node name too long");
        }
        if (node_find(s, filter_name)) {
            return qmp_error("GenericError",
                             "Could not create node: Duplicate nodes with node-name='%s'", filter_name);
        }
    }
    if ((err = cbw_append_perm_check(s, src))) {
        return err;     /* bdrv_cbw_append's permission update */
    }
    uint64_t cluster = node_cluster_size(tgt);
    if (cluster < BACKUP_MIN_CLUSTER_SIZE) {
        cluster = BACKUP_MIN_CLUSTER_SIZE;
    }
    if (max_chunk && (uint64_t)max_chunk < cluster) {
        return qmp_error("GenericError",
                         "Required max-chunk (%lld) is less than backup cluster size (%llu)",
                         (long long)max_chunk, (unsigned long long)cluster);
    }
    if (!job_id) {
        /* block_job_create: the id defaults to the device name (the
         * source's BlockBackend), "" for a node without one */
        job_id = blk_device_name(s, src);
    }
    if (!id_wellformed(job_id)) {
        return qmp_error("GenericError", "Invalid job ID '%s'", job_id);
    }
    if (job_find(s, job_id)) {
        return qmp_error("GenericError", "Job ID '%s' already in use", job_id);
    }
    int64_t speed = jint(args, "speed", 0);
    if (speed < 0) {
        /* QEMU creates the job before it checks the speed */
        sim_job *tmp = job_new(s, job_id, JOB_BACKUP);
        job_transition(s, tmp, JS_CREATED);
        job_transition(s, tmp, JS_NULL);
        job_free(s, tmp);
        return qmp_error("GenericError", "Parameter 'speed' expects a non-negative value");
    }

    sim_job *j = job_new(s, job_id, JOB_BACKUP);
    j->inflight = (unsigned)max_workers;
    backup_priv *priv = calloc(1, sizeof *priv);
    priv->ctx = bk_ctx_for(s, j);
    priv->ctx.wave.workers = (unsigned)max_workers;
    j->speed = speed;
    j->sync = sync;
    j->auto_finalize = jbool(args, "auto-finalize", true);
    j->auto_dismiss = jbool(args, "auto-dismiss", true);
    j->on_source_error = backup_onerr_parse(json_str(args, "on-source-error"));
    j->on_target_error = backup_onerr_parse(json_str(args, "on-target-error"));
    j->source = src;
    j->target = tgt;

    cl_backup_config cfg = {
        .sync = sync,
        .bitmap = bme ? bme->bm : NULL,
        .bitmap_mode = mode,
        .size = node_size(src),
        .cluster_size = cluster,
        .max_chunk = (uint64_t)max_chunk,
        .io = {
            .opaque = &priv->ctx,
            .read = io_read,
            .write = io_write,
            .write_zeroes = io_write_zeroes,
            .copy = io_copy,
            .block_status = io_block_status,
            .merge_zero_tasks = io_merge_zero_tasks,
        },
    };
    cl_error cerr = { 0, "" };
    j->bk = cl_backup_new(&cfg, &cerr);
    if (!j->bk) {
        free(priv);
        job_free(s, j);
        return qmp_error("GenericError", "%s", cerr.msg);
    }
    j->priv = priv;

    /* listing order: successor, then the copy state's bitmap on the source;
     * on the filter: done, then access */
    if (bme) {
        j->sync_bitmap = bme;
        j->successor_entry = bitmap_list_add(src, NULL, cl_backup_successor(j->bk), false, false);
    }
    j->copy_entry = bitmap_list_add(src, NULL, cl_copy_bitmap(cl_backup_copy(j->bk)), false, false);
    sim_node *filter = node_new(s, DRV_CBW, filter_name);
    /* QEMU inserts the filter with bdrv_replace_node: the source's node
     * parents (a raw node stacked on it) now reach it through the filter,
     * so their writes are copied before (measured: they count in the
     * job's progress) */
    for (sim_node *p = s->nodes; p; p = p->next)
        if (p->file == src && p != filter && p->drv != DRV_CBW)
            p->file = filter;
    filter->file = src;
    src->parents++;
    filter->cbw_backup = j->bk;
    filter->cbw_backup_target = tgt;
    filter->busy_job = j;
    j->filter = filter;
    /* bdrv_cbw_append: the filter takes the source's place under its
     * BlockBackend, so the device name finds the filter meanwhile, and
     * the guest's devices write through it */
    blk_retarget(s, src, filter);
    device_retarget(s, src, filter);
    cl_cbw *cbw = cl_backup_cbw(j->bk);
    j->done_entry = bitmap_list_add(filter, NULL, cl_cbw_done_bitmap(cbw), false, false);
    j->access_entry = bitmap_list_add(filter, NULL, cl_cbw_access_bitmap(cbw), false, false);
    tgt->parents++;
    tgt->busy_job = j;

    job_transition(s, j, JS_CREATED);
    if (s->defer_job_start) {
        j->unstarted = true;    /* a transaction starts it at commit (job_txn.c) */
        return qmp_ok();
    }
    job_transition(s, j, JS_RUNNING);
    /* blockdev-backup ends its drained section with the job started: one
     * pause/resume pair, always (later drains add timing-dependent pairs,
     * which we leave out) */
    job_transition(s, j, JS_PAUSED);
    job_transition(s, j, JS_RUNNING);
    return qmp_ok();
}
