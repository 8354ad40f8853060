/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * When a backup job may do a run of copy tasks that only write zeroes as one
 * write (cl_io.merge_zero_tasks): only where nothing can tell the difference
 * from one task per millisecond of virtual time. That rules out a target
 * that counts or times requests (blkdebug rules and events, throttling,
 * filters), a target smaller than the source (a merged write would fail at
 * once where the tasks fail part way), a VMA backup, whose jobs run beside
 * ours tick by tick, jobs that keep time (rate limits, mirrors), and the
 * explorer, which counts every job write.
 */
#include "sim/job.h"

/* Does a zero write to n land the same whether split at cluster boundaries
 * or not, never fail, and fire no blkdebug event anyone could see? */
static bool plain_zero_target(const sim_node *n)
{
    while (n) {
        switch (n->drv) {
        case DRV_FILE:
        case DRV_NULL:
            return true;
        case DRV_RAW:
            n = n->file;
            break;
        case DRV_QCOW2:
            /* a partial cluster is written as data, with events on file */
            return !n->file || n->file->drv == DRV_FILE;
        default:
            return false;
        }
    }
    return false;
}

/* Could another job act in the milliseconds the merged tasks stand for? A
 * rate-limited job wakes up on the clock (job_speed.c), and so would this
 * one between its tasks; a mirror's pace is its own. Jobs that only tick
 * when asked by QMP, or that always tick first, cannot tell. */
static bool time_matters(sim *s, const sim_job *j)
{
    for (const sim_job *k = s->jobs; k; k = k->next) {
        if (k->speed > 0 || k->type == JOB_MIRROR) {
            return true;
        }
    }
    return j->speed > 0;
}

bool backup_may_merge_zero_tasks(sim *s, sim_job *j)
{
    sim_node *source = j->source, *target = j->target;
    /* the explorer counts job writes, one per task (sim/schedule.c) */
    return !s->pve && !s->sched_exploring && source && target &&
           node_size(target) >= node_size(source) &&
           plain_zero_target(target) && !time_matters(s, j);
}
