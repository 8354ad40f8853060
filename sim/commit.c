/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * block-commit (QEMU 7.2 blockdev.c qmp_block_commit) and the job that
 * commits an intermediate layer (block/commit.c: commit_start, commit_run,
 * commit_prepare/abort/clean). Committing the active layer is a mirror
 * job of type "commit": commit_active.c.
 *
 * commit_run copies, in units of at most COMMIT_BUFFER_SIZE, every run of
 * bytes allocated above the base from the top's view into the base (so
 * the base's dirty bitmaps record those writes, as they record any
 * write); progress covers the whole top, copied or not. Only a copied unit
 * costs rate-limit time. A unit that fails takes the on-error policy
 * (block_job_error_action); a unit that is not reported is tried again.
 * At success the layers above the base down from top leave the chain
 * (bdrv_drop_intermediate): top's parents now use the base. The base is
 * reopened read-write for the job and read-only again after it if it was.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim/job.h"

#define COMMIT_BUFFER_SIZE (512u * 1024)    /* block/commit.c */

static bool jbool_(json_object *o, const char *key, bool dflt)
{
    json_object *v;
    return o && json_object_object_get_ex(o, key, &v) ? json_object_get_boolean(v) : dflt;
}

/* ---- the backing chain -------------------------------------------------- */

sim_node *commit_chain_next(sim_node *n)
{
    if (n->backing) {
        return n->backing;
    }
    /* filters pass their one child through (block/throttle.c, the
     * copy-before-write filter) */
    return n->drv == DRV_THROTTLE || n->drv == DRV_CBW ? n->file : NULL;
}

/* bdrv_is_allocated of one layer: is byte off allocated in n itself, and
 * up to where (below lim) does that hold? A qcow2 layer answers by its L2
 * runs (a zero cluster is allocated: it hides what is below); a layer past
 * its end holds nothing; a filter holds nothing of its own; any other
 * layer (a raw image, a protocol node) holds all of its bytes. */
static bool layer_allocated(sim_node *n, uint64_t off, uint64_t lim, uint64_t *end)
{
    *end = lim;
    if (n->drv == DRV_THROTTLE || n->drv == DRV_CBW || off >= node_size(n)) {
        return false;
    }
    if (n->drv != DRV_QCOW2) {
        return true;
    }
    uint64_t cs = n->q->cluster_size, ci = off / cs;
    uint64_t clim = (lim + cs - 1) / cs;
    if (clim > n->q->nclusters) {
        clim = n->q->nclusters;
    }
    bool alloc = l2_get(n->q, ci) != 0;
    uint64_t ce = l2_run_end(n->q, ci, clim);
    if (ce * cs < lim && ce < n->q->nclusters) {
        *end = ce * cs;
    }
    return alloc;
}

bool commit_allocated_above(sim_node *top, sim_node *base, uint64_t off, uint64_t len,
                            uint64_t *pnum)
{
    /* bdrv_is_allocated_above: the first layer that has it decides, with
     * its run; else the shortest run of the layers that do not */
    uint64_t lim = off + len, n = len;
    for (sim_node *l = top; l && l != base; l = commit_chain_next(l)) {
        uint64_t end;
        if (layer_allocated(l, off, lim, &end)) {
            *pnum = end - off;
            return true;
        }
        if (end - off < n) {
            n = end - off;
        }
    }
    *pnum = n;
    return false;
}

/* ---- op blockers and the end of the job --------------------------------- */

bool commit_holds_blk(sim *s, sim_node *n)
{
    for (sim_job *j = s->jobs; j; j = j->next) {
        commit_state *c = j->type == JOB_COMMIT || j->type == JOB_COMMIT_ACTIVE ? j->priv : NULL;
        if (c && c->top && (n == c->base || (j->type == JOB_COMMIT && n == c->top))) {
            return true;
        }
    }
    return false;
}

void commit_block_nodes(commit_state *c, sim_job *j)
{
    c->bs->busy_job = j;
    for (sim_node *n = c->top; n && n != c->base; n = commit_chain_next(n)) {
        n->busy_job = j;
    }
    c->base->busy_job = j;
}

void commit_unblock_nodes(sim *s, sim_job *j)
{
    for (sim_node *n = s->nodes; n; n = n->next) {
        if (n->busy_job == j) {
            n->busy_job = NULL;
        }
    }
}

/* bdrv_drop_intermediate: top's parents take the base (the overlay's
 * image now names the base as its backing file); top, no longer used,
 * closes with every layer down to the base, which stays referenced. */
static void drop_intermediate(sim *s, commit_state *c)
{
    for (sim_node *p = s->nodes; p; p = p->next) {
        if (p->backing == c->top && p->drv == DRV_QCOW2 && p->q) {
            free(p->q->backing);
            free(p->q->backing_fmt);
            p->q->backing = xstrdup(c->backing_file ? c->backing_file
                                                    : node_filename(c->base));
            p->q->backing_fmt = xstrdup(node_drv_name(c->base));
        }
    }
    sim_node *top = c->top;
    blk_replace_node(s, top, c->base, NULL);
    top->parents++;
    node_unref(s, top);
}

void commit_release(sim *s, sim_job *j, bool pivot)
{
    commit_state *c = j->priv;
    if (!c || !c->top) {
        return;
    }
    commit_unblock_nodes(s, j);
    if (c->dirty_entry) {
        bitmap_list_remove(c->top, c->dirty_entry);
        c->dirty_entry = NULL;
    }
    if (pivot) {
        drop_intermediate(s, c);
    }
    /* commit_clean: the base goes back to read-only (its persistent
     * bitmaps are stored as a read-only reopen stores them) */
    if (c->base_read_only) {
        persist_store(c->base);
        node_set_read_only(c->base, true);
    }
    c->top = NULL;
}

static void commit_destroy(sim *s, sim_job *j)
{
    commit_state *c = j->priv;
    if (c) {
        commit_release(s, j, false);
        free(c->backing_file);
        c->backing_file = NULL;
    }
}

/* ---- the job type ------------------------------------------------------- */

uint64_t commit_offset(sim_job *j)
{
    commit_state *c = j->priv;
    return c ? c->done : 0;
}

uint64_t commit_len(sim_job *j)
{
    commit_state *c = j->priv;
    return c ? c->len : 0;
}

/* One pass of commit_run's loop: job_sleep_ns (the rate limit), the
 * cancel check, then one unit. */
static bool commit_tick(sim *s, sim_job *j)
{
    commit_state *c = j->priv;
    if (j->status != JS_RUNNING || j->finished_work) {
        return false;
    }
    if (j->speed > 0 && s->clock_ns < j->next_chunk_ns) {
        return false;       /* sleeping on the rate limit */
    }
    if (c->done >= c->len) {
        job_completed(s, j, 0);
        return true;
    }
    uint64_t n = 0;
    uint64_t want = c->len - c->done < COMMIT_BUFFER_SIZE ? c->len - c->done : COMMIT_BUFFER_SIZE;
    bool copy = commit_allocated_above(c->top, c->base, c->done, want, &n);
    int r = 0;
    bool in_source = true;
    if (copy) {
        sim_data d;
        data_init(&d);
        r = sched_job_read(s);
        if (r == 0) {
            r = node_read_data(s, c->top, c->done, n, &d);
        }
        if (r >= 0) {
            in_source = false;
            r = sched_job_write(s, j);
            if (r == 0) {
                r = node_write_data(s, c->base, c->done, n, &d);
            }
        }
        data_free(&d);
    }
    if (r < 0) {
        cl_copy_failure fail = { r, in_source };
        if (!backup_copy_error(s, j, &fail)) {
            job_completed(s, j, r);
        }
        return true;    /* ignore, stop: the same unit again */
    }
    c->done += n;
    if (copy && j->speed > 0) {
        long double due = (long double)s->clock_ns + (long double)n * 1e9L / (long double)j->speed;
        j->next_chunk_ns = due < 0x1p63L ? (uint64_t)due : 1ull << 63;
    }
    if (c->done >= c->len) {
        job_completed(s, j, 0);
    }
    return true;
}

/* commit_prepare (success) or commit_abort, then commit_clean */
static void commit_finalize(sim *s, sim_job *j)
{
    commit_release(s, j, j->ret == 0);
}

const sim_job_driver commit_job_driver = {
    .type = "commit",
    .block_job = true,
    .offset = commit_offset,
    .len = commit_len,
    .tick = commit_tick,
    .finalize = commit_finalize,
    .pause_ends_sleep = true,
    .destroy = commit_destroy,
};

/* ---- QMP block-commit ----------------------------------------------------- */

static bool chain_contains(sim_node *top, sim_node *n)
{
    for (sim_node *m = top; m; m = commit_chain_next(m)) {
        if (m == n) {
            return true;
        }
    }
    return false;
}

static json_object *busy_error(sim *s, sim_node *n)
{
    return qmp_error("GenericError", "Node '%s' is busy: block device is in use by block job: %s",
                     device_or_node_name(s, n), job_type_name(n->busy_job));
}

json_object *qmp_block_commit(sim *s, json_object *args)
{
    const char *device = json_str(args, "device");
    const char *top_name = json_str(args, "top"), *top_node = json_str(args, "top-node");
    const char *base_name = json_str(args, "base"), *base_node = json_str(args, "base-node");
    const char *job_id = json_str(args, "job-id");
    const char *backing_file = json_str(args, "backing-file");
    json_object *v;
    int64_t speed = json_object_object_get_ex(args, "speed", &v) ? json_object_get_int64(v) : 0;

    /* qmp_get_root_bs */
    sim_node *bs = blk_lookup_bs(s, device);
    if (!bs) {
        return qmp_error("DeviceNotFound", "Device '%s' not found", device);
    }
    if (bs->busy_job) {
        return busy_error(s, bs);   /* BLOCK_OP_TYPE_COMMIT_SOURCE */
    }
    if (top_node && top_name) {
        return qmp_error("GenericError", "'top-node' and 'top' are mutually exclusive");
    }
    sim_node *top = bs;
    if (top_node) {
        top = node_find(s, top_node);
        if (!top) {
            return qmp_error("GenericError", "Cannot find device='' nor node-name='%s'", top_node);
        }
        if (!chain_contains(bs, top)) {
            return qmp_error("GenericError", "'%s' is not in this backing file chain", top_node);
        }
    } else if (top_name && strcmp(node_filename(bs), top_name)) {
        top = NULL;
        for (sim_node *n = commit_chain_next(bs); n; n = commit_chain_next(n)) {
            if (!strcmp(node_filename(n), top_name)) {
                top = n;
                break;
            }
        }
        if (!top) {
            return qmp_error("GenericError", "Top image file %s not found", top_name);
        }
    }
    if (base_node && base_name) {
        return qmp_error("GenericError", "'base-node' and 'base' are mutually exclusive");
    }
    sim_node *base = NULL;
    if (base_node) {
        base = node_find(s, base_node);
        if (!base) {
            return qmp_error("GenericError", "Cannot find device='' nor node-name='%s'", base_node);
        }
        if (!chain_contains(top, base)) {
            return qmp_error("GenericError", "'%s' is not in this backing file chain", base_node);
        }
    } else if (base_name) {
        for (sim_node *n = commit_chain_next(top); n; n = commit_chain_next(n)) {
            if (!strcmp(node_filename(n), base_name)) {
                base = n;
                break;
            }
        }
        if (!base) {
            return qmp_error("GenericError", "Can't find '%s' in the backing chain", base_name);
        }
    } else {
        /* bdrv_find_base */
        base = top;
        while (commit_chain_next(base)) {
            base = commit_chain_next(base);
        }
        if (base == top) {
            return qmp_error("GenericError", "There is no backimg image");
        }
    }
    /* BLOCK_OP_TYPE_COMMIT_TARGET on every node from top down to base */
    for (sim_node *n = top; n; n = commit_chain_next(n)) {
        if (n->busy_job) {
            return busy_error(s, n);
        }
        if (n == base) {
            break;
        }
    }
    if (top == base) {
        return qmp_error("GenericError", "cannot commit an image into itself");
    }
    /* the active layer is committed by a mirror (commit_active_start) */
    bool active = top == bs;
    if (active && backing_file) {
        return qmp_error("GenericError", "'backing-file' specified, but 'top' is the active layer");
    }
    if (!job_id) {
        job_id = blk_device_name(s, bs);    /* block_job_create's default */
    }
    if (!id_wellformed(job_id)) {
        return qmp_error("GenericError", "Invalid job ID '%s'", job_id);
    }
    if (job_find(s, job_id)) {
        return qmp_error("GenericError", "Job ID '%s' already in use", job_id);
    }

    sim_job *j = job_new(s, job_id, active ? JOB_COMMIT_ACTIVE : JOB_COMMIT);
    job_transition(s, j, JS_CREATED);
    if (speed < 0) {
        /* block_job_create checks the speed of the job it has made */
        job_transition(s, j, JS_NULL);
        job_free(s, j);
        return qmp_error("GenericError", "Parameter 'speed' expects a non-negative value");
    }
    commit_state *c = calloc(1, sizeof *c);
    c->bs = bs;
    c->top = top;
    c->base = base;
    c->backing_file = backing_file ? xstrdup(backing_file) : NULL;
    j->priv = c;
    j->speed = speed;
    j->auto_finalize = jbool_(args, "auto-finalize", true);
    j->auto_dismiss = jbool_(args, "auto-dismiss", true);
    j->on_source_error = j->on_target_error = backup_onerr_parse(json_str(args, "on-error"));
    /* the base is written to: reopened read-write (commit_start; an
     * active commit leaves it so) */
    c->base_read_only = !active && base->read_only;
    node_set_read_only(base, false);
    commit_block_nodes(c, j);
    if (active) {
        commit_active_init(s, j, 0);    /* block-commit has no buf-size */
    } else {
        c->len = node_size(top);    /* commit_run: job_progress_set_remaining */
    }
    j->implicit = job_filter_insert(s, active ? DRV_MIRROR_TOP : DRV_COMMIT_TOP, active ? bs : top);
    job_transition(s, j, JS_RUNNING);
    return qmp_ok();
}
