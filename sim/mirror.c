/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * drive-mirror and blockdev-mirror (QEMU 7.2 block/mirror.c, blockdev.c
 * qmp_drive_mirror, qmp_blockdev_mirror), as
 * far as iotest 219 and casegen's mirror step need it: the target created
 * like drive-backup's, a bulk copy of what the source has allocated in
 * buf-size units, READY (with BLOCK_JOB_READY) when everything is copied,
 * standby while paused there, job-complete or a soft cancel ending the job
 * (waiting, pending, BLOCK_JOB_COMPLETED, concluded, null). Not modelled:
 * guest writes mirrored after READY, the graph change at completion (the
 * target taking the source's place), sync top/none, granularity and error
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

/* mirror_dirty_init: the granules to copy. A new target reads as zeroes
 * (bdrv_has_zero_init), so only what the source has allocated is dirty; an
 * existing one is copied whole (zero_target). The granularity is
 * bdrv_get_default_bitmap_granularity(target): its cluster size within
 * 4 KiB..64 KiB, 64 KiB without one. The job's length is what it copies,
 * each granule cut at the source's end. */
static void mirror_dirty_init(sim *s, sim_job *j, sim_node *bs, sim_node *tgt, bool existing)
{
    uint64_t gran = node_cluster_size(tgt), size = node_size(bs);
    if (!gran) {
        gran = 65536;
    }
    gran = gran < 4096 ? 4096 : gran > 65536 ? 65536 : gran;
    uint64_t n = (size + gran - 1) / gran;
    j->mirror_gran = gran;
    j->mirror_dirty = calloc(n ? n : 1, 1);
    j->mirror_len = 0;
    for (uint64_t off = 0; off < size;) {
        uint64_t pnum = 0;
        int st = existing ? CL_STATUS_ALLOCATED : node_block_status(s, bs, off, size - off, &pnum);
        if (existing || pnum == 0) {
            pnum = size - off;
        }
        if (st & CL_STATUS_ALLOCATED) {
            for (uint64_t g = off / gran; g <= (off + pnum - 1) / gran; g++) {
                j->mirror_dirty[g] = 1;
            }
        }
        off += pnum;
    }
    for (uint64_t g = 0; g < n; g++) {
        if (j->mirror_dirty[g]) {
            j->mirror_len += (g + 1) * gran > size ? size - g * gran : gran;
        }
    }
}

/* mirror_cancel: a cancel without force of a ready job is a request to
 * finish without the switch to the target (the job ends as completed);
 * before READY every cancel is a forced one. */
bool mirror_soft_cancel(sim *s, sim_job *j, bool force)
{
    if (j->type != JOB_MIRROR || force || (j->status != JS_READY && j->status != JS_STANDBY)) {
        return false;
    }
    j->should_complete = true;
    if (j->pause_count == 0 && j->status == JS_STANDBY) {
        job_transition(s, j, j->resume_status);
    }
    return true;
}

static json_object *mirror_start_job(sim *s, json_object *args, const char *job_id,
                                     sim_node *bs, sim_node *tgt, bool whole);

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
    if (strcmp(sync, "full")) {
        return qmp_error("GenericError", "the simulator models drive-mirror with sync 'full' only");
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
    if (!existing && (err = drive_create_target(s, target, format, NULL, node_size(bs)))) {
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
    return mirror_start_job(s, args, job_id, bs, tgt, existing);
}

/* The job itself, for drive-mirror and blockdev-mirror: tgt is referenced
 * by the job (a target drive-mirror opened goes with it). whole: the
 * target is not known to read as zeroes, so everything is copied. */
static json_object *mirror_start_job(sim *s, json_object *args, const char *job_id,
                                     sim_node *bs, sim_node *tgt, bool whole)
{
    int64_t speed = int_arg(args, "speed", 0);
    int64_t buf_size = int_arg(args, "buf-size", (int64_t)MIRROR_DEFAULT_BUF_SIZE);
    sim_job *j = job_new(s, job_id, JOB_MIRROR);
    j->speed = speed;
    j->auto_finalize = bool_arg(args, "auto-finalize", true);
    j->auto_dismiss = bool_arg(args, "auto-dismiss", true);
    j->source = bs;
    j->target = tgt;
    tgt->parents++;
    tgt->busy_job = j;
    bs->parents++;
    mirror_dirty_init(s, j, bs, tgt, whole);
    j->mirror_chunk = (uint64_t)buf_size;
    job_transition(s, j, JS_CREATED);
    job_transition(s, j, JS_RUNNING);
    return qmp_ok();
}

/* blockdev-mirror (qmp_blockdev_mirror, blockdev_mirror_common) into a node
 * that exists: with sync full the target is zeroed first (zero_target),
 * and a node opened without discard=unmap cannot write zeroes by
 * unmapping, so the whole source is copied (mirror_dirty_init). Sync full
 * only, as drive-mirror. */
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
    return mirror_start_job(s, args, job_id, bs, tgt, true);
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

/* mirror_run: one buf-size unit of the bulk copy; then READY
 * (job_transition_to_ready: the state change, then BLOCK_JOB_READY);
 * in READY, a requested completion ends the job. */
bool mirror_step(sim *s, sim_job *j)
{
    if (j->finished_work) {
        return false;
    }
    if (j->status == JS_READY) {
        if (!j->should_complete) {
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
        /* the first dirty granule and the dirty ones after it, one unit */
        uint64_t size = node_size(j->source), gran = j->mirror_gran;
        uint64_t g = 0, ng = (size + gran - 1) / gran;
        while (g < ng && !j->mirror_dirty[g]) {
            g++;
        }
        uint64_t unit = j->mirror_chunk < MIRROR_MAX_UNIT ? j->mirror_chunk : MIRROR_MAX_UNIT;
        uint64_t off = g * gran, e = g;
        while (e < ng && j->mirror_dirty[e] && (e == g || (e + 1 - g) * gran <= unit)) {
            j->mirror_dirty[e++] = 0;
        }
        uint64_t n = (e * gran < size ? e * gran : size) - off;
        uint8_t *buf = malloc(n ? n : 1);
        int r = buf ? node_read(s, j->source, off, n, buf) : -ENOMEM;
        if (r >= 0) {
            r = node_write(s, j->target, off, n, buf, false);
        }
        free(buf);
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
    free(j->mirror_dirty);
    j->mirror_dirty = NULL;
    if (j->target) {
        j->target->busy_job = NULL;
        node_unref(s, j->target);
        j->target = NULL;
    }
    if (j->source) {
        node_unref(s, j->source);
        j->source = NULL;
    }
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
    .finalize = mirror_clean,
};
