/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * block-stream (QEMU 7.2 blockdev.c qmp_block_stream, block/stream.c):
 * the data of the backing chain down to the base is copied up into the
 * device's node, which then takes the base as its backing file.
 *
 * stream_run goes over the node in units of at most STREAM_CHUNK bytes: a
 * run allocated in the node itself is skipped, a run allocated below it
 * (above the base) is read through the node and written into it (the
 * copy-on-read filter's populate); progress covers the whole node; only a
 * copied unit costs rate-limit time. At success (stream_prepare) the node's
 * backing becomes the base (none when the whole chain was streamed) and
 * its image says so. The job's state is a commit_state (job.h): bs and top
 * are the node, base the base (NULL: none).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim/job.h"

#define STREAM_CHUNK (512u * 1024)      /* block/stream.c */

/* One pass of stream_run's loop */
static bool stream_tick(sim *s, sim_job *j)
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
    uint64_t want = c->len - c->done < STREAM_CHUNK ? c->len - c->done : STREAM_CHUNK;
    uint64_t n = 0;
    bool copy = false;
    sim_node *below = commit_chain_next(c->top);
    if (!commit_allocated_above(c->top, below, c->done, want, &n) && below) {
        /* not in the node itself: in the layers above the base? */
        copy = commit_allocated_above(below, c->base, c->done, n, &n);
    }
    int r = 0;
    if (copy) {
        sim_data d;
        data_init(&d);
        r = sched_job_read(s);
        if (r == 0) {
            r = node_read_data(s, c->top, c->done, n, &d);
        }
        if (r == 0) {
            r = node_write_data(s, c->top, c->done, n, &d);
        }
        data_free(&d);
    }
    if (r < 0) {
        /* block_job_error_action(on_error, is_read: true) */
        cl_copy_failure fail = { r, true };
        if (!backup_copy_error(s, j, &fail)) {
            job_completed(s, j, r);
        }
        return true;
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

/* stream_prepare (success only), then stream_clean */
static void stream_finalize(sim *s, sim_job *j)
{
    commit_state *c = j->priv;
    if (!c || !c->top) {
        return;
    }
    commit_unblock_nodes(s, j);
    sim_node *top = c->top;
    if (j->ret == 0 && top->backing != c->base) {
        if (top->drv == DRV_QCOW2 && top->q) {
            free(top->q->backing);
            free(top->q->backing_fmt);
            top->q->backing = c->base ? xstrdup(c->backing_file ? c->backing_file
                                                                : node_filename(c->base))
                                      : NULL;
            top->q->backing_fmt = c->base ? xstrdup(node_drv_name(c->base)) : NULL;
        }
        sim_node *old = top->backing;
        top->backing = c->base;
        if (c->base) {
            c->base->parents++;
        }
        if (old) {
            node_unref(s, old);     /* the streamed layers go unless still used */
        }
    }
    if (c->base_read_only) {
        persist_store(top);
        node_set_read_only(top, true);
    }
    c->top = NULL;
}

static void stream_destroy(sim *s, sim_job *j)
{
    commit_state *c = j->priv;
    if (c) {
        commit_unblock_nodes(s, j);
        c->top = NULL;
        free(c->backing_file);
        c->backing_file = NULL;
    }
}

const sim_job_driver stream_job_driver = {
    .type = "stream",
    .block_job = true,
    .offset = commit_offset,
    .len = commit_len,
    .tick = stream_tick,
    .finalize = stream_finalize,
    .pause_ends_sleep = true,
    .destroy = stream_destroy,
};

json_object *qmp_block_stream(sim *s, json_object *args)
{
    const char *device = json_str(args, "device"), *base_name = json_str(args, "base");
    const char *base_node = json_str(args, "base-node"), *job_id = json_str(args, "job-id");
    const char *backing_file = json_str(args, "backing-file");
    json_object *v;
    int64_t speed = json_object_object_get_ex(args, "speed", &v) ? json_object_get_int64(v) : 0;
    if (base_name && base_node) {
        return qmp_error("GenericError", "'base' and 'base-node' cannot be specified at the same time");
    }
    sim_node *bs = blk_lookup_bs(s, device);
    if (!bs) {
        return qmp_error("GenericError", "Cannot find device='%s' nor node-name='%s'", device,
                         device);
    }
    sim_node *base = NULL;
    if (base_name) {
        for (sim_node *n = commit_chain_next(bs); n && !base; n = commit_chain_next(n)) {
            if (!strcmp(node_filename(n), base_name)) {
                base = n;
            }
        }
        if (!base) {
            return qmp_error("GenericError", "Can't find '%s' in the backing chain", base_name);
        }
    }
    if (base_node) {
        base = node_find(s, base_node);
        if (!base) {
            return qmp_error("GenericError", "Cannot find device='' nor node-name='%s'", base_node);
        }
        bool in_chain = false;
        for (sim_node *n = commit_chain_next(bs); n; n = commit_chain_next(n)) {
            in_chain |= n == base;
        }
        if (!in_chain) {
            return qmp_error("GenericError", "Node '%s' is not a backing image of '%s'",
                             base_node, device);
        }
    }
    /* BLOCK_OP_TYPE_STREAM on the chain from bs down to base */
    for (sim_node *n = bs; n && n != base; n = commit_chain_next(n)) {
        if (n->busy_job) {
            return qmp_error("GenericError",
                             "Node '%s' is busy: block device is in use by block job: %s",
                             device_or_node_name(s, n), job_type_name(n->busy_job));
        }
    }
    if (!base && backing_file) {
        return qmp_error("GenericError", "backing file specified, but streaming the entire chain");
    }
    if (!job_id) {
        job_id = blk_device_name(s, bs);
    }
    if (!id_wellformed(job_id)) {
        return qmp_error("GenericError", "Invalid job ID '%s'", job_id);
    }
    if (job_find(s, job_id)) {
        return qmp_error("GenericError", "Job ID '%s' already in use", job_id);
    }
    sim_job *j = job_new(s, job_id, JOB_STREAM);
    job_transition(s, j, JS_CREATED);
    if (speed < 0) {
        job_transition(s, j, JS_NULL);
        job_free(s, j);
        return qmp_error("GenericError", "Parameter 'speed' expects a non-negative value");
    }
    commit_state *c = calloc(1, sizeof *c);
    c->bs = c->top = bs;
    c->base = base;
    c->backing_file = backing_file ? xstrdup(backing_file) : NULL;
    c->base_read_only = bs->read_only;
    c->len = node_size(bs);     /* stream_run: job_progress_set_remaining */
    node_set_read_only(bs, false);
    j->priv = c;
    j->speed = speed;
    json_object *b;
    j->auto_finalize = !json_object_object_get_ex(args, "auto-finalize", &b) ||
                       json_object_get_boolean(b);
    j->auto_dismiss = !json_object_object_get_ex(args, "auto-dismiss", &b) ||
                      json_object_get_boolean(b);
    j->on_source_error = j->on_target_error = backup_onerr_parse(json_str(args, "on-error"));
    for (sim_node *n = bs; n && n != base; n = commit_chain_next(n)) {
        n->busy_job = j;    /* the active node and the intermediate ones */
    }
    j->implicit = job_filter_insert(s, DRV_COR_FILTER, bs);     /* copy-on-read above bs */
    job_transition(s, j, JS_RUNNING);
    return qmp_ok();
}
