/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The blockdev-create job (QEMU 7.2 block/create.c): drivers file and qcow2
 * make an image in the in-memory file system in one unit of work.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/job.h"

json_object *qmp_blockdev_create(sim *s, json_object *args)
{
    const char *job_id = json_str(args, "job-id");
    json_object *opts = NULL;
    json_object_object_get_ex(args, "options", &opts);
    if (!id_wellformed(job_id)) {
        return qmp_error("GenericError", "Invalid job ID '%s'", job_id);
    }
    if (job_find(s, job_id)) {
        return qmp_error("GenericError", "Job ID '%s' already in use", job_id);
    }
    sim_job *j = job_new(s, job_id, JOB_CREATE);
    j->auto_dismiss = false;
    j->create_opts = json_object_get(opts);
    job_transition(s, j, JS_CREATED);
    job_transition(s, j, JS_RUNNING);
    return qmp_ok();
}

static bool file_in_use(sim *s, sim_file *f)
{
    for (sim_node *n = s->nodes; n; n = n->next) {
        if (n->drv == DRV_QCOW2 && f->qcow2 && n->q == f->qcow2) {
            return true;
        }
    }
    return false;
}

static int create_fail(sim_job *j, const char *msg)
{
    free(j->error);
    j->error = xstrdup(msg);
    return -EINVAL;
}

int create_run(sim *s, sim_job *j)
{
    json_object *o = j->create_opts;
    const char *drv = json_str(o, "driver");
    if (!strcmp(drv, "file")) {
        const char *path = json_str(o, "filename");
        sim_file *f = fs_lookup(s, path);
        if (f && file_in_use(s, f)) {
            char *m = xasprintf("Failed to get \"write\" lock");
            create_fail(j, m);
            free(m);
            return -EINVAL;
        }
        f = fs_create(s, path);
        if (json_int(o, "size", 0) < 0) {
            return create_fail(j, "Could not resize file: Invalid argument");
        }
        store_truncate_posix(&f->data, (uint64_t)json_int(o, "size", 0));
        return 0;
    }
    if (!strcmp(drv, "qcow2")) {
        json_object *fileref = NULL;
        json_object_object_get_ex(o, "file", &fileref);
        sim_node *fn = NULL;
        if (json_object_is_type(fileref, json_type_string)) {
            const char *ref = json_object_get_string(fileref);
            fn = node_find(s, ref);
            if (!fn) {
                char *m = xasprintf("Cannot find device='%s' nor node-name='%s'", ref, ref);
                create_fail(j, m);
                free(m);
                return -EINVAL;
            }
        } else {
            return create_fail(j, "Only a node-name reference is modelled for 'file'");
        }
        while (fn && fn->drv != DRV_FILE) {
            fn = fn->file;
        }
        if (!fn) {
            return create_fail(j, "The 'file' node holds no file");
        }
        uint64_t size = (uint64_t)json_int(o, "size", 0);
        uint64_t cs = (uint64_t)json_int(o, "cluster-size", Q2_DEFAULT_CLUSTER_SIZE);
        if (cs < 512 || cs > 2 * 1024 * 1024 || (cs & (cs - 1))) {
            return create_fail(j, "Cluster size must be a power of two between 512 and 2048k");
        }
        if (size % 512) {
            return create_fail(j, "Image size must be a multiple of 512 bytes");
        }
        int too_big = q2_size_check(size, cs);
        if (too_big == -EFBIG) {
            return create_fail(j, "Could not resize image: Failed to grow the L1 table: File too large");
        } else if (too_big) {
            return create_fail(j, "The simulator models qcow2 images of at most 16777216 clusters");
        }
        if (file_in_use(s, fn->f)) {
            return create_fail(j, "Failed to get \"write\" lock");
        }
        q2_free(fn->f->qcow2);
        store_truncate(&fn->f->data, 0);
        fn->f->qcow2 = q2_new(size, cs);
        const char *backing = json_str(o, "backing-file");
        if (backing) {
            fn->f->qcow2->backing = xstrdup(backing);
            const char *bf = json_str(o, "backing-fmt");
            fn->f->qcow2->backing_fmt = bf ? xstrdup(bf) : NULL;
        }
        uint8_t hdr[8] = { 'Q', 'F', 'I', 0xfb, 0, 0, 0, 3 };
        store_write(&fn->f->data, 0, sizeof hdr, hdr);
        store_truncate(&fn->f->data, 3 * cs + 512);
        return 0;
    }
    char *m = xasprintf("Driver '%s' does not support blockdev-create", drv);
    create_fail(j, m);
    free(m);
    return -ENOTSUP;
}

/* ---- the job type ----------------------------------------------------------- */

static uint64_t create_progress(sim_job *j)
{
    return j->create_progress;
}

/* The whole creation is one unit of work. */
static bool create_tick(sim *s, sim_job *j)
{
    if (j->status != JS_RUNNING || j->finished_work) {
        return false;
    }
    int r = create_run(s, j);
    job_completed(s, j, r);
    return true;
}

const sim_job_driver create_job_driver = {
    .type = "create",
    .offset = create_progress,
    .len = create_progress,
    .tick = create_tick,
};
