/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Committing the active layer: QEMU 7.2's commit_active_start, a mirror
 * job (block/mirror.c, commit_active_job_driver) whose target is the base
 * and whose job type is "commit".
 *
 * mirror_dirty_init marks every granule allocated above the base in a
 * dirty bitmap; each pass of mirror_run's loop then copies one run of
 * consecutive dirty granules (at most buf-size bytes, mirror_iteration)
 * from the top's view into the base, and progress is what was copied plus
 * what is still dirty. When nothing is dirty the job is READY
 * (BLOCK_JOB_READY) and waits: guest writes to the top dirty the bitmap
 * again (the simulator keeps it on the top as a hidden entry, where QEMU
 * keeps it on the implicit mirror_top filter) and are copied down.
 * job-complete ends the job once nothing is dirty, and the base takes the
 * top's place (mirror_exit_common's bdrv_replace_node); a cancel in READY
 * that is not forced ends it the same way without that switch
 * (BLOCK_JOB_COMPLETED); any cancel before READY is a forced one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim/job.h"

#define MIRROR_DEFAULT_BUF (16ull * 1024 * 1024)    /* DEFAULT_MIRROR_BUF_SIZE */
#define MIRROR_MAX_IO (1ull * 1024 * 1024)          /* MAX_IO_BYTES */
#define MIRROR_MAX_IN_FLIGHT 16                     /* MAX_IN_FLIGHT */

/* The dirty bitmap, as its entry holds it now (a resize of the top or a
 * metadata write may replace the bitmap behind the entry) */
static cl_bitmap *dirty_bm(const commit_state *c)
{
    return c->dirty_entry ? c->dirty_entry->bm : NULL;
}

static bool job_is_ready(const sim_job *j)
{
    return j->status == JS_READY || j->status == JS_STANDBY;
}

/* mirror_start_job's defaults: the granularity is the base's cluster size
 * (bdrv_get_default_bitmap_granularity: at least 4 KiB, 64 KiB when the
 * driver has no clusters), the buffer a whole number of granules. */
void commit_active_init(sim *s, sim_job *j, int64_t buf_size)
{
    (void)s;
    commit_state *c = j->priv;
    uint64_t cs = node_cluster_size(c->base);
    c->gran = cs ? (cs < 4096 ? 4096 : cs) : 65536;
    uint64_t buf = buf_size > 0 ? (uint64_t)buf_size : MIRROR_DEFAULT_BUF;
    c->buf_size = (buf + c->gran - 1) / c->gran * c->gran;
    cl_error err = { 0, "" };
    cl_bitmap *bm = cl_bitmap_new(node_size(c->top), c->gran, &err);
    if (bm) {
        /* a write to the top (the guest's) dirties it: mirror_top's part */
        c->dirty_entry = bitmap_list_add(c->top, NULL, bm, false, true);
        c->dirty_entry->hidden = true;
    }
}

/* mirror_dirty_init: every run allocated above the base is to be copied */
static void dirty_init(commit_state *c)
{
    uint64_t size = node_size(c->top);
    for (uint64_t off = 0; off < size;) {
        uint64_t n = 0;
        if (commit_allocated_above(c->top, c->base, off, size - off, &n)) {
            cl_bitmap_set(dirty_bm(c), off, n, NULL);
        }
        off += n;
    }
    c->initialised = true;
}

static void rate_limit(sim *s, sim_job *j, uint64_t bytes)
{
    if (j->speed > 0 && bytes) {
        long double due = (long double)s->clock_ns + (long double)bytes * 1e9L / (long double)j->speed;
        j->next_chunk_ns = due < 0x1p63L ? (uint64_t)due : 1ull << 63;
    }
}

/* mirror_iteration: the first dirty granule from where the last pass
 * stopped (from the start again at the end), the dirty granules right
 * after it up to buf-size, cleared, then copied in requests of at most
 * max_io_bytes. Returns 0, or a failed request's errno (its granules are
 * dirty again) with *in_source. */
static int iteration(sim *s, sim_job *j, bool *in_source)
{
    commit_state *c = j->priv;
    uint64_t size = node_size(c->top);
    int64_t first = cl_bitmap_next_dirty(dirty_bm(c), c->next, 0);
    if (first < 0) {
        first = cl_bitmap_next_dirty(dirty_bm(c), 0, 0);
    }
    if (first < 0) {
        return 0;
    }
    uint64_t off = (uint64_t)first;
    uint64_t chunks = 1;
    while (chunks * c->gran < c->buf_size && off + chunks * c->gran < size &&
           cl_bitmap_get(dirty_bm(c), off + chunks * c->gran)) {
        chunks++;
    }
    uint64_t run = chunks * c->gran;
    if (run > size - off) {
        run = size - off;
    }
    cl_bitmap_reset(dirty_bm(c), off, run, NULL);
    c->next = off + run;
    uint64_t max_io = c->buf_size / MIRROR_MAX_IN_FLIGHT;
    if (max_io < MIRROR_MAX_IO) {
        max_io = MIRROR_MAX_IO;
    }
    uint64_t copied = 0;
    int ret = 0;
    for (uint64_t pos = off; pos < off + run;) {
        uint64_t n = off + run - pos < max_io ? off + run - pos : max_io;
        sim_data d;
        data_init(&d);
        int r = sched_job_read(s);
        if (r == 0) {
            r = node_read_data(s, c->top, pos, n, &d);
        }
        bool src = r < 0;
        if (r >= 0) {
            r = sched_job_write(s, j);
            if (r == 0) {
                r = node_write_data(s, c->base, pos, n, &d);
            }
        }
        data_free(&d);
        if (r < 0) {
            cl_bitmap_set(dirty_bm(c), pos, n, NULL);     /* to be copied again */
            if (!ret) {
                ret = r;
                *in_source = src;
            }
        } else {
            c->done += n;       /* mirror_iteration_done: job_progress_update */
            copied += n;
        }
        pos += n;
    }
    rate_limit(s, j, copied);
    return ret;
}

static void event_ready(sim *s, sim_job *j)
{
    commit_state *c = j->priv;
    json_object *d = json_object_new_object();
    json_object_object_add(d, "device", json_object_new_string(j->id));
    json_object_object_add(d, "len", json_object_new_int64((int64_t)c->len));
    json_object_object_add(d, "offset", json_object_new_int64((int64_t)c->done));
    json_object_object_add(d, "speed", json_object_new_int64(j->speed));
    json_object_object_add(d, "type", json_object_new_string("commit"));
    ev_emit(s, "BLOCK_JOB_READY", d);
}

/* One pass of mirror_run's loop (the first also runs mirror_dirty_init).
 * A READY job with nothing to copy and nothing asked of it sleeps. */
static bool active_tick(sim *s, sim_job *j)
{
    commit_state *c = j->priv;
    if ((j->status != JS_RUNNING && j->status != JS_READY) || j->finished_work) {
        return false;
    }
    if (j->speed > 0 && s->clock_ns < j->next_chunk_ns) {
        return false;       /* sleeping on the rate limit */
    }
    if (!dirty_bm(c)) {
        job_completed(s, j, -ENOMEM);
        return true;
    }
    if (!c->initialised) {
        dirty_init(c);
    }
    uint64_t cnt = cl_bitmap_count(dirty_bm(c)) * c->gran;
    if (cnt > node_size(c->top)) {
        cnt = node_size(c->top);
    }
    c->len = c->done + cnt;     /* job_progress_set_remaining */
    if (cnt) {
        bool in_source = true;
        int r = iteration(s, j, &in_source);
        if (r < 0) {
            cl_copy_failure fail = { r, in_source };
            if (!backup_copy_error(s, j, &fail)) {
                job_completed(s, j, r);
            }
        }
        return true;
    }
    bool acted = false;
    if (!job_is_ready(j)) {
        job_transition(s, j, JS_READY);     /* job_transition_to_ready */
        event_ready(s, j);
        acted = true;
    }
    if (j->should_complete || j->cancelled) {
        job_completed(s, j, 0);
        return true;
    }
    return acted;
}

/* mirror_complete */
static json_object *active_complete(sim *s, sim_job *j)
{
    (void)s;
    if (!job_is_ready(j)) {
        return qmp_error("GenericError", "The active block job '%s' cannot be completed", j->id);
    }
    j->should_complete = true;
    return qmp_ok();
}

/* commit_active_cancel: before READY every cancel is a forced one */
static bool active_cancel(sim_job *j, bool force)
{
    return force || !job_is_ready(j);
}

/* mirror_exit_common: the switch only for a completed job */
static void active_finalize(sim *s, sim_job *j)
{
    commit_release(s, j, j->ret == 0 && j->should_complete);
}

static void active_destroy(sim *s, sim_job *j)
{
    commit_state *c = j->priv;
    if (c) {
        commit_release(s, j, false);
        free(c->backing_file);
        c->backing_file = NULL;
    }
}

const sim_job_driver commit_active_job_driver = {
    .type = "commit",
    .block_job = true,
    .offset = commit_offset,
    .len = commit_len,
    .tick = active_tick,
    .pause_ends_sleep = true,
    .finalize = active_finalize,
    .complete = active_complete,
    .cancel = active_cancel,
    .destroy = active_destroy,
};
