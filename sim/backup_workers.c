/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A backup's copy tasks run several at a time (x-perf max-workers, QEMU 7.2
 * block_copy_dirty_clusters over util/aio-task.c); what that changes is
 * what happens after a task fails: QEMU starts further tasks before it sees
 * the failure, and they land. The engine (lib/cluster) runs one task at a
 * time; this file keeps the count that decides how many tasks follow a
 * failing one.
 *
 * The model (sim/MODEL.md, "Copy tasks in flight"), fitted to real QEMU
 * 7.2: tasks start in order, in waves. A task holds a worker slot while it
 * waits for I/O: a data task always; a zero task only when its target's
 * qcow2 L2 table was not allocated when the wave began (a table that a task
 * of this wave allocates counts as not allocated yet: the allocation is in
 * flight), on any other target always (the thread pool). A zero task on an
 * allocated table ends at once and holds nothing. When every slot is held
 * the loop waits: a failing task in flight is seen first (blkdebug fails it
 * in a bottom half) and nothing further starts; otherwise all the tasks
 * end and a new wave begins. A new block-copy call (a retry after an
 * error, a resume after a pause) starts with an empty wave.
 */
#include <errno.h>
#include <stdlib.h>

#include "sim/job.h"

void bkw_reset(bk_wave *w)
{
    w->held = 0;
    w->nfresh = 0;
}

void bkw_free(bk_wave *w)
{
    free(w->fresh);
    w->fresh = NULL;
    w->nfresh = w->cap = 0;
}

static bool fresh_has(const bk_wave *w, uint64_t t)
{
    for (size_t i = w->nfresh; i-- > 0;) {
        if (w->fresh[i] == t) {
            return true;
        }
    }
    return false;
}

static void fresh_add(bk_wave *w, uint64_t t)
{
    if (fresh_has(w, t)) {
        return;
    }
    if (w->nfresh == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 8;
        uint64_t *p = realloc(w->fresh, cap * sizeof *p);
        if (!p) {
            return;     /* the table then counts as allocated: a task fewer held */
        }
        w->fresh = p;
        w->cap = cap;
    }
    w->fresh[w->nfresh++] = t;
}

/*
 * One task [off, end) starts. q is the target's qcow2 image (NULL: another
 * driver); below is the first L2 table this call's earlier tasks have not
 * touched: tables under it count as allocated by them (the write of a
 * merged run has not happened yet).
 */
static void task_start(bk_wave *w, const sim_qcow2 *q, uint64_t off, uint64_t end,
                       bool zero, uint64_t *below)
{
    bool holds = !zero || !q;

    if (w->held >= w->workers) {
        bkw_reset(w);   /* every task of the wave ended: a new one begins */
    }
    if (q && end > off) {
        uint64_t per_table = q->cluster_size / 8 * q->cluster_size;
        uint64_t first = off / per_table, last = (end - 1) / per_table;
        for (uint64_t t = first; t <= last; t++) {
            bool allocated = q->l2_table[t] != 0 || t < *below;
            if (!allocated || fresh_has(w, t)) {
                holds = true;
            }
            if (!allocated) {
                fresh_add(w, t);    /* this task allocates it */
            }
        }
        if (last + 1 > *below) {
            *below = last + 1;
        }
    }
    w->last_held = holds;
    w->last_end = end;
    if (holds) {
        w->held++;
    }
}

void bkw_tasks(bk_wave *w, sim_node *target, uint64_t chunk, uint64_t off, uint64_t len,
               bool zero)
{
    if (!w->counting || w->workers <= 1 || len == 0) {
        return;     /* one worker: nothing ever follows a failing task */
    }
    const sim_qcow2 *q = target && target->drv == DRV_QCOW2 ? target->q : NULL;
    uint64_t below = 0, end = off + len;
    if (chunk == 0) {
        chunk = len;
    }
    /* a merged run of zero tasks comes as one write: its tasks are the
     * chunks from its start (cl_copy_steps) */
    for (uint64_t t = off; t < end; t += chunk) {
        task_start(w, q, t, end - t > chunk ? t + chunk : end, zero, &below);
    }
}

void bkw_after_failure(cl_copy *cs, bk_wave *w)
{
    if (w->workers <= 1 || !w->counting || !w->last_held) {
        /* one worker, or the failing task ended at once (a zero write on
         * an allocated table): the loop sees the error before the next */
        return;
    }
    while (w->held < w->workers) {
        uint64_t from = w->last_end;
        cl_copy_failure later = { 0, false };
        int r = cl_copy_step(cs, from, 0, &later);
        if (r == 0 || (r < 0 && (later.ret == BD_SUSPENDED || w->last_end <= from))) {
            break;  /* the end of the disk, or a task held at a breakpoint */
        }
        /* a further failure puts its clusters back; the first error stands */
    }
}
