/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * drive-mirror (QEMU 7.2 block/mirror.c, blockdev.c qmp_drive_mirror), as
 * far as iotests 219 and 141 need it: the target created like drive-backup's
 * (sync none: with the source as its backing file),
 * a bulk copy of what is allocated in the source's chain (granules of the
 * target's cluster size, runs of at most buf-size), READY (with
 * BLOCK_JOB_READY) when everything is copied, standby while paused there,
 * and job-complete ending the job (waiting, pending, BLOCK_JOB_COMPLETED,
 * concluded, null); a cancel in READY that is not forced completes the job
 * the same way (mirror_cancel). Not modelled: guest writes mirrored after
 * READY, the graph change at completion (the target taking the source's
 * place), sync top, guest writes during sync none, granularity and error
 * policies.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim/job.h"

#define MIRROR_DEFAULT_BUF_SIZE (16ull * 1024 * 1024)  /* DEFAULT_MIRROR_BUF_SIZE */
#define MIRROR_MAX_UNIT MIRROR_DEFAULT_BUF_SIZE         /* bytes one step copies, at most */

static const char *str_arg(json_object *args, const char *key)
{
    json_object *v = NULL;
    if (json_object_object_get_ex(args, key, &v) && json_object_is_type(v, json_type_string)) {
        return json_object_get_string(v);
    }
    return NULL;
}

static int64_t int_arg(json_object *args, const char *key, int64_t dflt)
{
    json_object *v = NULL;
    return json_object_object_get_ex(args, key, &v) ? json_object_get_int64(v) : dflt;
}

static bool bool_arg(json_object *args, const char *key, bool dflt)
{
    json_object *v = NULL;
    return json_object_object_get_ex(args, key, &v) ? json_object_get_boolean(v) : dflt;
}

/* the job's granularity: the target's cluster size
 * (bdrv_get_default_bitmap_granularity), within 4 KiB..64 KiB */
static uint64_t mirror_granularity(sim_job *j)
{
    uint64_t cs = node_cluster_size(j->target);
    return cs ? (cs < 4096 ? 4096 : cs > 65536 ? 65536 : cs) : 65536;
}

/* mirror_dirty_init: is any byte of the granule allocated in the source's
 * chain (bdrv_is_allocated_above down to the bottom)? */
static bool granule_dirty(sim_node *src, uint64_t off, uint64_t g)
{
    uint64_t size = node_size(src), n = 0;
    for (uint64_t p = off; p < off + g && p < size; p += n) {
        if (commit_allocated_above(src, NULL, p, off + g - p, &n)) {
            return true;
        }
        if (!n) {
            break;
        }
    }
    return false;
}

/* a granule the job copies: allocated in the source, or any when the
 * target could not be zeroed by unmapping (blockdev-mirror) */
static json_object *mirror_start_job(sim *s, json_object *args, const char *job_id,
                                     sim_node *bs, sim_node *tgt, bool none, bool whole);

static bool to_copy(sim_job *j, uint64_t off, uint64_t g)
{
    return j->mirror_whole || granule_dirty(j->source, off, g);
}

json_object *qmp_drive_mirror(sim *s, json_object *args)
{
    const char *device = str_arg(args, "device");
    const char *target = str_arg(args, "target");
    const char *format = str_arg(args, "format");
    const char *mode = str_arg(args, "mode");
    const char *sync = str_arg(args, "sync");
    const char *job_id = str_arg(args, "job-id");
    bool existing = mode && !strcmp(mode, "existing");
    sim_node *bs = blk_lookup_bs(s, device);
    if (!bs) {
        return qmp_error("GenericError", "Cannot find device='%s' nor node-name='%s'", device,
                         device);
    }
    bool none = !strcmp(sync, "none");
    if (strcmp(sync, "full") && !none) {
        return qmp_error("GenericError",
                         "the simulator models drive-mirror with sync 'full' and 'none' only");
    }
    int64_t speed = int_arg(args, "speed", 0);
    int64_t buf_size = int_arg(args, "buf-size", (int64_t)MIRROR_DEFAULT_BUF_SIZE);
    if (speed < 0) {
        return qmp_error("GenericError", "Parameter 'speed' expects a non-negative value");
    }
    if (buf_size <= 0) {
        return qmp_error("GenericError", "Parameter 'buf-size' expects a positive value");
    }
    for (sim_node *m = bs; m; m = m->drv == DRV_CBW ? m->file : NULL) {
        if (m->busy_job) {
            return qmp_error("GenericError",
                             "Node '%s' is busy: block device is in use by block job: %s",
                             device_or_node_name(s, bs), job_type_name(m->busy_job));
        }
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
    if (!format && !existing) {
        format = node_drv_name(bs);
    }
    json_object *err = NULL;
    /* sync none: the new image's backing file is the source (opened
     * without it: QEMU attaches it when the job completes) */
    if (!existing && (err = drive_create_target(s, target, format, none ? bs : NULL,
                                                node_size(bs)))) {
        return err;
    }
    sim_file *f = fs_lookup(s, target);
    if (!f) {
        return qmp_error("GenericError", "Could not open '%s': No such file or directory", target);
    }
    if (!format) {
        format = f->qcow2 ? "qcow2" : "raw";
    }
    if (strcmp(format, "qcow2") && strcmp(format, "raw")) {
        return qmp_error("GenericError", "Unknown driver '%s'", format);
    }
    json_object *o = json_object_new_object(), *file = json_object_new_object();
    json_add_lit(file, "driver", json_object_new_string("file"));
    json_add_lit(file, "filename", json_object_new_string(target));
    json_add_lit(o, "driver", json_object_new_string(format));
    json_add_lit(o, "file", file);
    json_add_lit(o, "backing", NULL);
    sim_node *tgt = NULL;
    err = blockdev_open(s, o, NULL, &tgt, false);
    json_object_put(o);
    if (err) {
        return err;
    }
    if (node_size(tgt) != node_size(bs)) {
        node_unref(s, tgt);
        return qmp_error("GenericError", "Source and target image have different sizes");
    }
    return mirror_start_job(s, args, job_id, bs, tgt, none, false);
}

/* The job itself, for drive-mirror and blockdev-mirror; the job takes a
 * reference to tgt (a target drive-mirror opened goes with it). */
static json_object *mirror_start_job(sim *s, json_object *args, const char *job_id,
                                     sim_node *bs, sim_node *tgt, bool none, bool whole)
{
    int64_t speed = int_arg(args, "speed", 0);
    int64_t buf_size = int_arg(args, "buf-size", (int64_t)MIRROR_DEFAULT_BUF_SIZE);
    sim_job *j = job_new(s, job_id, JOB_MIRROR);
    j->mirror_whole = whole;
    j->speed = speed;
    j->auto_finalize = bool_arg(args, "auto-finalize", true);
    j->auto_dismiss = bool_arg(args, "auto-dismiss", true);
    j->source = bs;
    j->target = tgt;
    tgt->parents++;
    tgt->busy_job = j;
    bs->parents++;
    bs->busy_job = j;           /* block_job_create's op blocker on the source */
    /* mirror_dirty_init: sync full copies what is allocated in the chain,
     * sync none only what the guest writes */
    j->mirror_len = 0;
    for (uint64_t off = 0, g = mirror_granularity(j); !none && off < node_size(bs); off += g) {
        if (to_copy(j, off, g)) {
            j->mirror_len += off + g <= node_size(bs) ? g : node_size(bs) - off;
        }
    }
    j->mirror_chunk = (uint64_t)buf_size;
    job_transition(s, j, JS_CREATED);
    j->implicit = job_filter_insert(s, DRV_MIRROR_TOP, bs);     /* mirror_top above the source */
    job_transition(s, j, JS_RUNNING);
    return qmp_ok();
}

/* blockdev-mirror (qmp_blockdev_mirror, blockdev_mirror_common) into a node
 * that exists: with sync full the target is zeroed first (zero_target),
 * and a node opened without discard=unmap cannot do that by unmapping, so
 * every granule is copied (mirror_dirty_init). Sync full only. */
json_object *qmp_blockdev_mirror(sim *s, json_object *args)
{
    const char *device = str_arg(args, "device");
    const char *target = str_arg(args, "target");
    const char *job_id = str_arg(args, "job-id");
    sim_node *bs = blk_lookup_bs(s, device);
    if (!bs) {
        return qmp_error("GenericError", "Cannot find device='%s' nor node-name='%s'", device,
                         device);
    }
    sim_node *tgt = blk_lookup_bs(s, target);
    if (!tgt) {
        return qmp_error("GenericError", "Cannot find device='%s' nor node-name='%s'", target,
                         target);
    }
    if (strcmp(str_arg(args, "sync"), "full")) {
        return qmp_error("GenericError", "the simulator models blockdev-mirror with sync 'full' only");
    }
    if (int_arg(args, "speed", 0) < 0) {
        return qmp_error("GenericError", "Parameter 'speed' expects a non-negative value");
    }
    if (int_arg(args, "buf-size", (int64_t)MIRROR_DEFAULT_BUF_SIZE) <= 0) {
        return qmp_error("GenericError", "Parameter 'buf-size' expects a positive value");
    }
    const sim_node *busy[2] = { bs, tgt };
    for (int i = 0; i < 2; i++) {
        if (busy[i]->busy_job) {
            return qmp_error("GenericError",
                             "Node '%s' is busy: block device is in use by block job: %s",
                             device_or_node_name(s, busy[i]), job_type_name(busy[i]->busy_job));
        }
    }
    if (!job_id) {
        job_id = blk_device_name(s, bs);    /* block_job_create: "" without a device */
    }
    if (!id_wellformed(job_id)) {
        return qmp_error("GenericError", "Invalid job ID '%s'", job_id);
    }
    if (job_find(s, job_id)) {
        return qmp_error("GenericError", "Job ID '%s' already in use", job_id);
    }
    if (node_size(tgt) != node_size(bs)) {
        return qmp_error("GenericError", "Source and target image have different sizes");
    }
    return mirror_start_job(s, args, job_id, bs, tgt, false, true);
}

static void event_ready(sim *s, sim_job *j)
{
    json_object *d = json_object_new_object();
    json_add_lit(d, "device", json_object_new_string(j->id));
    json_add_lit(d, "len", json_object_new_int64((int64_t)j->mirror_len));
    json_add_lit(d, "offset", json_object_new_int64((int64_t)j->mirror_done));
    json_add_lit(d, "speed", json_object_new_int64(j->speed));
    json_add_lit(d, "type", json_object_new_string("mirror"));
    ev_emit(s, "BLOCK_JOB_READY", d);
}

/* mirror_iteration's methods, granule by granule: where the source's block
 * status is zeroes without data for a whole granule, the target is written
 * zeroes (a hole in a file); elsewhere (a shorter run is rounded up to the
 * granule, as a copy) the data is copied. */
static int mirror_copy(sim *s, sim_job *j, uint64_t pos, uint64_t n, uint64_t g)
{
    int r = 0;
    for (uint64_t at = pos, step; r >= 0 && at < pos + n; at += step) {
        uint64_t p;
        step = pos + n - at < g ? pos + n - at : g;
        int st = node_block_status(s, j->source, at, step, &p);
        if (st >= 0 && (st & CL_STATUS_ZERO) && !(st & CL_STATUS_DATA) && p >= step) {
            r = node_write(s, j->target, at, step, NULL, true);
            continue;
        }
        uint8_t *buf = malloc(step);
        r = buf ? node_read(s, j->source, at, step, buf) : -ENOMEM;
        if (r >= 0) {
            r = node_write(s, j->target, at, step, buf, false);
        }
        free(buf);
    }
    return r;
}

/* mirror_run: one buf-size unit of the bulk copy; then READY
 * (job_transition_to_ready: the state change, then BLOCK_JOB_READY);
 * in READY, a requested completion ends the job. */
bool mirror_step(sim *s, sim_job *j)
{
    if (j->finished_work) {
        return false;
    }
    if (j->status == JS_READY) {
        /* a soft cancel in READY completes too, without the switch */
        if (!j->should_complete && !j->cancelled) {
            return false;
        }
        job_completed(s, j, 0);
        return true;
    }
    if (j->status != JS_RUNNING) {
        return false;
    }
    if (j->cancelled) {
        job_completed(s, j, -ECANCELED);
        return true;
    }
    if (j->mirror_done < j->mirror_len) {
        /* mirror_iteration: the next dirty granule from where the last one
         * ended, and the dirty granules right after it, up to buf-size */
        uint64_t size = node_size(j->source), g = mirror_granularity(j);
        uint64_t pos = j->mirror_pos;
        while (pos < size && !to_copy(j, pos, g)) {
            pos += g;
        }
        uint64_t n = 0;
        while (pos + n < size && n < j->mirror_chunk && n < MIRROR_MAX_UNIT &&
               (n == 0 || to_copy(j, pos + n, g))) {
            n += g;
        }
        if (pos + n > size) {
            n = size - pos;
        }
        j->mirror_pos = pos + n;
        int r = mirror_copy(s, j, pos, n, g);
        if (r == BD_SUSPENDED) {
            /* a held request (e.g. an NBD reconnect): no progress; the
             * unit is copied again from its start (the same bytes) */
            j->mirror_pos = pos;
            return false;
        }
        if (r < 0) {
            json_object *d = json_object_new_object();
            json_add_lit(d, "device", json_object_new_string(j->id));
            json_add_lit(d, "operation", json_object_new_string("read"));
            json_add_lit(d, "action", json_object_new_string("report"));
            ev_emit(s, "BLOCK_JOB_ERROR", d);
            job_completed(s, j, r);
            return true;
        }
        j->mirror_done += n;
        return true;
    }
    job_transition(s, j, JS_READY);
    event_ready(s, j);
    return true;
}

/* mirror_complete: only a ready job; it ends on its next step */
json_object *mirror_complete(sim *s, sim_job *j)
{
    (void)s;
    if (j->status != JS_READY && j->status != JS_STANDBY) {
        return qmp_error("GenericError", "The active block job '%s' cannot be completed", j->id);
    }
    j->should_complete = true;
    return qmp_ok();
}

void mirror_clean(sim *s, sim_job *j)
{
    if (j->target) {
        j->target->busy_job = NULL;
        node_unref(s, j->target);
        j->target = NULL;
    }
    if (j->source) {
        if (j->source->busy_job == j) {
            j->source->busy_job = NULL;
        }
        node_unref(s, j->source);
        j->source = NULL;
    }
}

/* mirror_cancel: before READY every cancel is a forced one */
bool mirror_cancel(sim_job *j, bool force)
{
    return force || (j->status != JS_READY && j->status != JS_STANDBY);
}

/* ---- the job type ----------------------------------------------------------- */

static uint64_t mirror_offset(sim_job *j)
{
    return j->mirror_done;
}

static uint64_t mirror_len(sim_job *j)
{
    return j->mirror_len;
}

/* mirror_step decides itself whether it may run (a ready job idles). */
static bool mirror_tick(sim *s, sim_job *j)
{
    return job_speed_step(s, j, mirror_step);
}

const sim_job_driver mirror_job_driver = {
    .type = "mirror",
    .block_job = true,
    .offset = mirror_offset,
    .len = mirror_len,
    .tick = mirror_tick,
    .pause_ends_sleep = true,
    .finalize = mirror_clean,
    .complete = mirror_complete,
    .cancel = mirror_cancel,
};
