// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Copy state (QEMU 7.2 block-copy with one worker) and the copy-before-write
 * filter's bookkeeping. A task is created, sized by block status, run and
 * ended within one call, so no in-flight bytes are ever visible between calls.
 */
#include "cluster_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_CHUNK ((uint64_t)1 << 20)   /* QEMU's BLOCK_COPY_MAX_BUFFER */

struct cl_copy {
    uint64_t size;
    uint64_t cluster_size;
    cl_io io;
    cl_bitmap *bitmap;          /* clusters still to copy */
    bool skip_unallocated;
    uint64_t max_chunk;         /* 0 = default */
    uint64_t progress_done;     /* QEMU's progress "current" */
    uint64_t progress_total;    /* QEMU's progress "total" */
    uint8_t *buf;               /* bounce buffer, grown on demand */
    size_t buf_len;
};

struct cl_cbw {
    cl_copy *cs;
    cl_bitmap *done;
    cl_bitmap *access;
};

cl_copy *cl_copy_new(uint64_t size, uint64_t cluster_size, const cl_io *io, cl_error *err)
{
    cl_copy *cs;

    if (!io || !io->read || !io->write) {
        cl_fail(err, -EINVAL, "copy state needs I/O callbacks with read and write");
        return NULL;
    }
    if (!cl_is_pow2(cluster_size) || cluster_size < 512 || cluster_size > CL_MAX_SIZE) {
        cl_fail(err, -EINVAL, "cluster size %llu is not a power of two of at least 512",
                (unsigned long long)cluster_size);
        return NULL;
    }
    cs = calloc(1, sizeof(*cs));
    if (!cs) {
        cl_fail(err, -ENOMEM, "out of memory allocating a copy state");
        return NULL;
    }
    cs->bitmap = cl_bitmap_new(size, cluster_size, err);
    if (!cs->bitmap) {
        free(cs);
        return NULL;
    }
    cs->size = size;
    cs->cluster_size = cluster_size;
    cs->io = *io;
    cl_bitmap_set_enabled(cs->bitmap, false, NULL);
    cl_bitmap_fill(cs->bitmap);
    return cs;
}

void cl_copy_free(cl_copy *cs)
{
    if (!cs) {
        return;
    }
    cl_bitmap_free(cs->bitmap);
    free(cs->buf);
    free(cs);
}

cl_bitmap *cl_copy_bitmap(cl_copy *cs)
{
    return cs->bitmap;
}

uint64_t cl_copy_cluster_size(const cl_copy *cs)
{
    return cs->cluster_size;
}

void cl_copy_set_skip_unallocated(cl_copy *cs, bool skip)
{
    cs->skip_unallocated = skip;
}

bool cl_copy_skip_unallocated(const cl_copy *cs)
{
    return cs->skip_unallocated;
}

void cl_copy_set_max_chunk(cl_copy *cs, uint64_t max_chunk)
{
    cs->max_chunk = max_chunk;
}

uint64_t cl_copy_chunk(const cl_copy *cs)
{
    uint64_t chunk = cl_max(cs->cluster_size, DEFAULT_CHUNK);

    /* x-perf max-chunk only ever lowers the method's own chunk size. */
    if (cs->max_chunk && cs->max_chunk < chunk) {
        chunk = cs->max_chunk;
    }
    return chunk;
}

uint64_t cl_copy_progress_offset(const cl_copy *cs)
{
    return cs->progress_done;
}

uint64_t cl_copy_progress_len(const cl_copy *cs)
{
    return cs->progress_total;
}

void cl_copy_set_progress_remaining(cl_copy *cs, uint64_t remaining)
{
    cs->progress_total = cs->progress_done + remaining;
}

static void update_remaining(cl_copy *cs)
{
    cl_copy_set_progress_remaining(cs, cl_bitmap_count_bytes(cs->bitmap));
}

/* Put clusters [offset, offset+bytes) back into the copy bitmap; bytes may
 * run into the padding of a partial last cluster. */
static void put_back(cl_copy *cs, uint64_t offset, uint64_t bytes)
{
    if (offset < cs->size) {
        cl_bitmap_set(cs->bitmap, offset, cl_min(bytes, cs->size - offset), NULL);
    }
}

/*
 * Block status of a task, as block-copy sees it: returns the flags and sets
 * *num to a whole number of clusters sharing them (rounded down, or up at the
 * end of the disk). Errors, odd answers and runs shorter than a cluster all
 * fall back to "one data cluster".
 */
static int task_status(cl_copy *cs, uint64_t offset, uint64_t bytes, uint64_t *num)
{
    uint64_t req = cl_min(bytes, cs->size - offset);
    uint64_t pnum = req;
    int ret = CL_STATUS_DATA | CL_STATUS_ALLOCATED;

    if (cs->io.block_status) {
        pnum = 0;
        ret = cs->io.block_status(cs->io.opaque, offset, req, cs->skip_unallocated, &pnum);
        if (pnum > req) {
            pnum = req;
        }
    }
    if (ret < 0 || pnum < cs->cluster_size) {
        *num = cs->cluster_size;
        return CL_STATUS_DATA | CL_STATUS_ALLOCATED;
    }
    if (offset + pnum == cs->size) {
        *num = cl_align_up(pnum, cs->cluster_size);
    } else {
        *num = cl_align_down(pnum, cs->cluster_size);
    }
    return ret;
}

static uint8_t *bounce_buffer(cl_copy *cs, uint64_t len)
{
    if (len > cs->buf_len) {
        uint8_t *buf = realloc(cs->buf, len);

        if (!buf) {
            return NULL;
        }
        cs->buf = buf;
        cs->buf_len = len;
    }
    return cs->buf;
}

/* Copy [offset, offset+len) (already clamped to the disk) per flags. */
static int do_copy(cl_copy *cs, uint64_t offset, uint64_t len, int flags, bool *is_read)
{
    uint8_t *buf;
    int ret;

    *is_read = false;
    if ((flags & CL_STATUS_ZERO) && cs->io.write_zeroes) {
        return cs->io.write_zeroes(cs->io.opaque, offset, len);
    }
    if (!(flags & CL_STATUS_ZERO) && cs->io.copy) {
        return cs->io.copy(cs->io.opaque, offset, len, is_read);
    }
    buf = bounce_buffer(cs, len);
    if (!buf) {
        return -ENOMEM;
    }
    if (flags & CL_STATUS_ZERO) {
        memset(buf, 0, len);
    } else {
        ret = cs->io.read(cs->io.opaque, offset, len, buf);
        if (ret < 0) {
            *is_read = true;
            return ret;
        }
    }
    return cs->io.write(cs->io.opaque, offset, len, buf);
}

int cl_copy_step(cl_copy *cs, uint64_t offset, uint64_t end, cl_copy_failure *fail)
{
    uint64_t task_off, task_len, num;
    bool is_read;
    int flags, ret;

    if (end == 0 || end > cs->size) {
        end = cs->size;
    }
    offset = cl_align_down(offset, cs->cluster_size);
    if (offset >= end ||
        !cl_bitmap_next_dirty_area(cs->bitmap, offset, end, cl_copy_chunk(cs),
                                   &task_off, &task_len)) {
        return 0;
    }
    /* The task owns whole clusters, including a partial last one. */
    task_len = cl_align_up(task_len, cs->cluster_size);
    cl_bitmap_reset(cs->bitmap, task_off, task_len, NULL);

    flags = task_status(cs, task_off, task_len, &num);
    if (num < task_len) {
        put_back(cs, task_off + num, task_len - num);
        task_len = num;
    }

    if (cs->skip_unallocated && !(flags & CL_STATUS_ALLOCATED)) {
        update_remaining(cs);
        return 1;
    }

    ret = do_copy(cs, task_off, cl_min(task_off + task_len, cs->size) - task_off, flags,
                  &is_read);
    if (ret < 0) {
        put_back(cs, task_off, task_len);
        update_remaining(cs);
        if (fail) {
            fail->ret = ret;
            fail->is_read = is_read;
        }
        return ret;
    }
    cs->progress_done += task_len;
    if (cs->progress_total < cs->progress_done) {
        cs->progress_total = cs->progress_done;
    }
    update_remaining(cs);
    return 1;
}

/*
 * The tasks cl_copy_step() would do next, from the first dirty run, while
 * they all write zeroes (or skip unallocated clusters), done as one: returns
 * how many tasks that was (at most max_tasks), or 0 to leave the next task
 * to cl_copy_step(). Tasks start at the run's start and take chunk bytes
 * each (a multiple of the cluster size), the last one the rest of the run;
 * each would ask block status for itself and get the same flags, since the
 * answer for a byte does not depend on where the question starts. A task
 * that reaches past the zero stretch is left out: it would be cut short and
 * part of it put back, so cl_copy_step() does it.
 */
static uint64_t zero_tasks(cl_copy *cs, uint64_t max_tasks)
{
    uint64_t chunk = cl_copy_chunk(cs), r0, rlen, r1, pnum = 0, zero_end, n, covered, bytes;
    bool skip;
    int flags;

    if (chunk % cs->cluster_size || !cs->io.block_status ||
        !cl_bitmap_next_dirty_area(cs->bitmap, 0, cs->size, 0, &r0, &rlen)) {
        return 0;
    }
    r1 = r0 + rlen;
    flags = cs->io.block_status(cs->io.opaque, r0, rlen, cs->skip_unallocated, &pnum);
    if (pnum > rlen) {
        pnum = rlen;
    }
    if (flags < 0 || pnum < cs->cluster_size) {
        return 0;
    }
    skip = cs->skip_unallocated && !(flags & CL_STATUS_ALLOCATED);
    if (!skip && !((flags & CL_STATUS_ZERO) && cs->io.write_zeroes)) {
        return 0;
    }
    zero_end = r0 + pnum == cs->size ? r1 : r0 + cl_align_down(pnum, cs->cluster_size);
    if (zero_end >= r1) {
        n = (rlen + chunk - 1) / chunk;
        covered = r1;
        if (rlen - (n - 1) * chunk < cs->cluster_size) {
            /* a last task shorter than a cluster (the disk's partial last
             * one) is copied as data whatever its status: not ours */
            n--;
            covered = r0 + n * chunk;
        }
    } else {
        n = (zero_end - r0) / chunk;
        covered = r0 + n * chunk;
    }
    if (n > max_tasks) {
        n = max_tasks;
        covered = r0 + n * chunk;
    }
    if (n == 0) {
        return 0;
    }
    if (!skip && cs->io.write_zeroes(cs->io.opaque, r0, covered - r0) < 0) {
        /* merge_zero_tasks promised this cannot happen; whatever the
         * target did, let the tasks run one by one from here */
        return 0;
    }
    /* each task owned whole clusters, including a partial last one */
    bytes = cl_align_up(covered - r0, cs->cluster_size);
    cl_bitmap_reset(cs->bitmap, r0, bytes, NULL);
    if (!skip) {
        cs->progress_done += bytes;
        if (cs->progress_total < cs->progress_done) {
            cs->progress_total = cs->progress_done;
        }
    }
    update_remaining(cs);
    return n;
}

int cl_copy_steps(cl_copy *cs, uint64_t max_tasks, uint64_t *tasks, cl_copy_failure *fail)
{
    uint64_t n = 0;
    int ret;

    if (max_tasks > 1 && cs->io.merge_zero_tasks && cs->io.merge_zero_tasks(cs->io.opaque)) {
        n = zero_tasks(cs, max_tasks);
    }
    if (n > 0) {
        if (tasks) {
            *tasks = n;
        }
        return 1;
    }
    ret = cl_copy_step(cs, 0, 0, fail);
    if (tasks) {
        *tasks = ret != 0;
    }
    return ret;
}

static int range_error(cl_copy_failure *fail, int ret)
{
    if (fail) {
        fail->ret = ret;
        fail->is_read = false;
    }
    return ret;
}

int cl_copy_range(cl_copy *cs, uint64_t offset, uint64_t len, cl_copy_failure *fail)
{
    uint64_t start, end;
    int ret;

    if (offset > cs->size || len > cs->size - offset) {
        return range_error(fail, -EINVAL);
    }
    if (len == 0) {
        return 0;
    }
    start = cl_align_down(offset, cs->cluster_size);
    end = offset + len;
    /* Each task clears at least one cluster, so this ends. */
    while ((ret = cl_copy_step(cs, start, end, fail)) > 0) {
    }
    return ret;
}

/*
 * Is the cluster-aligned offset allocated in the top layer? Sets *clusters to
 * how many clusters share the answer. A cluster that is partly allocated
 * counts as allocated; an unallocated tail at the end of the disk counts as
 * whole clusters (QEMU's block_copy_is_cluster_allocated).
 */
static int cluster_allocated(cl_copy *cs, uint64_t offset, uint64_t *clusters)
{
    uint64_t total = 0;

    while (true) {
        uint64_t remaining = cs->size - offset;
        uint64_t pnum = remaining;
        int ret = CL_STATUS_DATA | CL_STATUS_ALLOCATED;

        if (remaining == 0) {
            *clusters = (total + cs->cluster_size - 1) / cs->cluster_size;
            return 0;
        }
        if (cs->io.block_status) {
            pnum = 0;
            ret = cs->io.block_status(cs->io.opaque, offset, remaining, true, &pnum);
            if (ret < 0) {
                return ret;
            }
            if (pnum == 0) {
                return -EIO;   /* the callback broke its contract; do not spin */
            }
            pnum = cl_min(pnum, remaining);
        }
        total += pnum;
        if (ret & CL_STATUS_ALLOCATED) {
            *clusters = (total + cs->cluster_size - 1) / cs->cluster_size;
            return 1;
        }
        if (total >= cs->cluster_size) {
            *clusters = total / cs->cluster_size;
            return 0;
        }
        offset += pnum;
    }
}

int cl_copy_reset_unallocated(cl_copy *cs)
{
    uint64_t offset = 0;

    while (offset < cs->size) {
        uint64_t clusters;
        int ret = cluster_allocated(cs, offset, &clusters);

        if (ret < 0) {
            return ret;
        }
        if (ret == 0) {
            cl_bitmap_reset(cs->bitmap, offset, clusters * cs->cluster_size, NULL);
        }
        offset += clusters * cs->cluster_size;
    }
    update_remaining(cs);
    return 0;
}

/* ------------------------------------------------------------------------ */

cl_cbw *cl_cbw_new(cl_copy *cs, cl_error *err)
{
    cl_cbw *cbw;

    if (!cs) {
        cl_fail(err, -EINVAL, "copy-before-write needs a copy state");
        return NULL;
    }
    cbw = calloc(1, sizeof(*cbw));
    if (!cbw) {
        cl_fail(err, -ENOMEM, "out of memory allocating copy-before-write state");
        return NULL;
    }
    cbw->cs = cs;
    cbw->done = cl_bitmap_new(cs->size, cs->cluster_size, err);
    cbw->access = cl_bitmap_new(cs->size, cs->cluster_size, err);
    if (!cbw->done || !cbw->access) {
        cl_cbw_free(cbw);
        return NULL;
    }
    cl_bitmap_set_enabled(cbw->done, false, NULL);
    cl_bitmap_set_enabled(cbw->access, false, NULL);
    cl_bitmap_copy(cbw->access, cs->bitmap, NULL);
    return cbw;
}

void cl_cbw_free(cl_cbw *cbw)
{
    if (!cbw) {
        return;
    }
    cl_bitmap_free(cbw->done);
    cl_bitmap_free(cbw->access);
    free(cbw);
}

cl_bitmap *cl_cbw_done_bitmap(cl_cbw *cbw)
{
    return cbw->done;
}

cl_bitmap *cl_cbw_access_bitmap(cl_cbw *cbw)
{
    return cbw->access;
}

int cl_cbw_before_write(cl_cbw *cbw, uint64_t offset, uint64_t len, cl_copy_failure *fail)
{
    cl_copy *cs = cbw->cs;
    uint64_t start, end;
    int ret;

    if (offset > cs->size || len > cs->size - offset) {
        return range_error(fail, -EINVAL);
    }
    if (len == 0) {
        return 0;
    }
    start = cl_align_down(offset, cs->cluster_size);
    end = cl_min(cl_align_up(offset + len, cs->cluster_size), cs->size);
    ret = cl_copy_range(cs, start, end - start, fail);
    if (ret < 0) {
        return ret;
    }
    /* Marked even where the job had already copied: QEMU does the same. */
    cl_bitmap_set(cbw->done, start, end - start, NULL);
    return 0;
}
