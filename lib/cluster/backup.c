// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The backup job (QEMU 7.2 block/backup.c): seeds the copy bitmap per sync
 * mode, copies one task per step, and settles the named bitmap at the end.
 */
#include "cluster_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct cl_backup {
    cl_sync sync;
    cl_bitmap_mode bitmap_mode;
    cl_bitmap *bitmap;          /* the named bitmap, frozen while we run */
    cl_bitmap *successor;       /* NULL without a bitmap or once finished */
    cl_copy *cs;
    cl_cbw *cbw;
    bool top_pass_done;
    bool cancelled;
};

static const char *const sync_names[] = {
    [CL_SYNC_FULL] = "full",
    [CL_SYNC_TOP] = "top",
    [CL_SYNC_BITMAP] = "bitmap",
    [CL_SYNC_INCREMENTAL] = "incremental",
    [CL_SYNC_NONE] = "none",
};

static const char *const mode_names[] = {
    [CL_BITMAP_ON_SUCCESS] = "on-success",
    [CL_BITMAP_NEVER] = "never",
    [CL_BITMAP_ALWAYS] = "always",
};

#define N_SYNC (sizeof(sync_names) / sizeof(sync_names[0]))
#define N_MODE (sizeof(mode_names) / sizeof(mode_names[0]))

const char *cl_sync_name(cl_sync sync)
{
    return (unsigned)sync < N_SYNC ? sync_names[sync] : NULL;
}

const char *cl_bitmap_mode_name(cl_bitmap_mode mode)
{
    return (unsigned)mode < N_MODE ? mode_names[mode] : NULL;
}

static int parse_name(const char *const *names, size_t n, const char *name)
{
    if (!name) {
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(names[i], name) == 0) {
            return (int)i;
        }
    }
    return -EINVAL;
}

int cl_sync_parse(const char *name, cl_sync *out)
{
    int i = parse_name(sync_names, N_SYNC, name);

    if (i < 0) {
        return i;
    }
    *out = (cl_sync)i;
    return 0;
}

int cl_bitmap_mode_parse(const char *name, cl_bitmap_mode *out)
{
    int i = parse_name(mode_names, N_MODE, name);

    if (i < 0) {
        return i;
    }
    *out = (cl_bitmap_mode)i;
    return 0;
}

static int check_config(const cl_backup_config *cfg, cl_error *err)
{
    if (!cfg) {
        return cl_fail(err, -EINVAL, "backup needs a configuration");
    }
    if (!cl_sync_name(cfg->sync)) {
        return cl_fail(err, -EINVAL, "unknown sync mode %d", (int)cfg->sync);
    }
    if (cfg->bitmap && !cl_bitmap_mode_name(cfg->bitmap_mode)) {
        return cl_fail(err, -EINVAL, "unknown bitmap mode %d", (int)cfg->bitmap_mode);
    }
    if ((cfg->sync == CL_SYNC_BITMAP || cfg->sync == CL_SYNC_INCREMENTAL) && !cfg->bitmap) {
        return cl_fail(err, -EINVAL, "sync mode '%s' needs a bitmap", cl_sync_name(cfg->sync));
    }
    if (cfg->bitmap && cl_bitmap_size(cfg->bitmap) != cfg->size) {
        return cl_fail(err, -EINVAL, "bitmap covers %llu bytes but the source has %llu",
                       (unsigned long long)cl_bitmap_size(cfg->bitmap),
                       (unsigned long long)cfg->size);
    }
    if (cfg->bitmap && cl_bitmap_busy(cfg->bitmap)) {
        return cl_fail(err, -EBUSY, "the bitmap is in use by another job");
    }
    return 0;
}

cl_backup *cl_backup_new(const cl_backup_config *cfg, cl_error *err)
{
    cl_backup *job;

    if (check_config(cfg, err) < 0) {
        return NULL;
    }
    job = calloc(1, sizeof(*job));
    if (!job) {
        cl_fail(err, -ENOMEM, "out of memory allocating a backup job");
        return NULL;
    }
    job->sync = cfg->sync;
    /* incremental is bitmap + on-success whatever mode the caller passed */
    job->bitmap_mode = cfg->sync == CL_SYNC_INCREMENTAL ? CL_BITMAP_ON_SUCCESS
                                                        : cfg->bitmap_mode;
    job->cs = cl_copy_new(cfg->size, cfg->cluster_size, &cfg->io, err);
    if (!job->cs) {
        goto fail;
    }
    cl_copy_set_max_chunk(job->cs, cfg->max_chunk);
    job->cbw = cl_cbw_new(job->cs, err);
    if (!job->cbw) {
        goto fail;
    }
    if (cfg->bitmap) {
        job->successor = cl_bitmap_freeze(cfg->bitmap, err);
        if (!job->successor) {
            goto fail;
        }
        job->bitmap = cfg->bitmap;
    }

    switch (job->sync) {
    case CL_SYNC_BITMAP:
    case CL_SYNC_INCREMENTAL:
        cl_bitmap_clear(cl_copy_bitmap(job->cs));
        cl_bitmap_merge(cl_copy_bitmap(job->cs), job->bitmap, NULL);
        break;
    case CL_SYNC_TOP:
        cl_copy_set_skip_unallocated(job->cs, true);
        break;
    case CL_SYNC_FULL:
    case CL_SYNC_NONE:
        break;
    }
    cl_copy_set_progress_remaining(job->cs, cl_bitmap_count_bytes(cl_copy_bitmap(job->cs)));
    return job;

fail:
    cl_backup_free(job);
    return NULL;
}

void cl_backup_free(cl_backup *job)
{
    if (!job) {
        return;
    }
    /* Never finished: unfreeze the bitmap, losing none of its bits. If the
     * caller already freed the successor, cl_bitmap_free() unlinked it from
     * the parent, and there is nothing left for us to free. */
    if (job->successor && cl_bitmap_successor(job->bitmap) == job->successor) {
        cl_bitmap *succ = job->successor;

        cl_bitmap_reclaim(job->bitmap);
        cl_bitmap_free(succ);
    }
    cl_cbw_free(job->cbw);
    cl_copy_free(job->cs);
    free(job);
}

cl_copy *cl_backup_copy(cl_backup *job)
{
    return job->cs;
}

cl_cbw *cl_backup_cbw(cl_backup *job)
{
    return job->cbw;
}

cl_bitmap *cl_backup_successor(cl_backup *job)
{
    return job->successor;
}

uint64_t cl_backup_len(const cl_backup *job)
{
    return cl_copy_progress_len(job->cs);
}

uint64_t cl_backup_offset(const cl_backup *job)
{
    return cl_copy_progress_offset(job->cs);
}

bool cl_backup_top_pass_pending(const cl_backup *job)
{
    return job->sync == CL_SYNC_TOP && !job->top_pass_done;
}

cl_step_result cl_backup_step(cl_backup *job, cl_copy_failure *fail)
{
    return cl_backup_steps(job, 1, NULL, fail);
}

cl_step_result cl_backup_steps(cl_backup *job, uint64_t max_tasks, uint64_t *tasks,
                               cl_copy_failure *fail)
{
    int ret;

    if (tasks) {
        *tasks = 1;
    }

    if (job->cancelled) {
        return CL_STEP_CANCELLED;
    }
    if (job->sync == CL_SYNC_NONE) {
        return CL_STEP_IDLE;
    }
    if (job->sync == CL_SYNC_TOP && !job->top_pass_done) {
        ret = cl_copy_reset_unallocated(job->cs);
        if (ret < 0) {
            if (fail) {
                fail->ret = ret;
                fail->is_read = true;
            }
            return CL_STEP_FAILED;
        }
        /* From here on every remaining cluster is copied (QEMU's backup_run). */
        cl_copy_set_skip_unallocated(job->cs, false);
        job->top_pass_done = true;
        return CL_STEP_MORE;
    }
    ret = cl_copy_steps(job->cs, max_tasks, tasks, fail);
    if (tasks && *tasks == 0) {
        *tasks = 1;     /* finding nothing left is a step too */
    }
    if (ret < 0) {
        return CL_STEP_FAILED;
    }
    return ret > 0 ? CL_STEP_MORE : CL_STEP_DONE;
}

void cl_backup_cancel(cl_backup *job)
{
    job->cancelled = true;
}

cl_bitmap *cl_backup_finish(cl_backup *job, int ret, cl_bitmap **release)
{
    cl_bitmap *lives_on;
    bool sync;

    if (release) {
        *release = NULL;
    }
    if (!job->successor) {
        return NULL;
    }
    sync = (ret == 0 || job->bitmap_mode == CL_BITMAP_ALWAYS) &&
           job->bitmap_mode != CL_BITMAP_NEVER;
    if (sync) {
        lives_on = cl_bitmap_abdicate(job->bitmap);
        if (release) {
            *release = job->bitmap;
        }
    } else {
        lives_on = cl_bitmap_reclaim(job->bitmap);
        if (release) {
            *release = job->successor;
        }
    }
    if (ret < 0 && job->bitmap_mode == CL_BITMAP_ALWAYS) {
        /* The clusters we never copied stay dirty. */
        cl_bitmap_merge(lives_on, cl_copy_bitmap(job->cs), NULL);
    }
    job->successor = NULL;
    job->bitmap = NULL;
    return lives_on;
}
