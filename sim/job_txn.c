/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Jobs started by one transaction with completion-mode "grouped" (QEMU 7.2
 * job.c: JobTxn, job_completed_txn_success_locked,
 * job_completed_txn_abort_locked). A job that finishes well waits until
 * every job of the group has; then all turn pending together and are
 * finalized in order. A job that fails (or is cancelled) cancels the
 * others with force: each finishes the copy tasks it has in flight (QEMU
 * started it at the transaction's commit, up to x-perf max-workers tasks
 * are under way), then every job of the group is finalized in order, the
 * others as cancelled, so a backup's bitmap is handled as on failure.
 */
#include <errno.h>
#include <stdlib.h>

#include "sim/job.h"

struct sim_txn {
    unsigned refs;
    bool aborting;
};

sim_txn *job_txn_new(void)
{
    sim_txn *t = calloc(1, sizeof *t);
    t->refs = 1;
    return t;
}

void job_txn_add(sim_txn *t, sim_job *j)
{
    j->txn = t;
    t->refs++;
}

void job_txn_unref(sim_txn *t)
{
    if (t && --t->refs == 0) {
        free(t);
    }
}

static bool job_is_completed(const sim_job *j)
{
    return j->finished_work || j->status == JS_WAITING || j->status == JS_PENDING ||
           j->status == JS_ABORTING || j->status == JS_CONCLUDED || j->status == JS_NULL;
}

/* Apply fn to every job of the group, in creation order. fn may dismiss
 * (free) the job it gets. */
static void txn_apply(sim *s, sim_txn *t, void (*fn)(sim *, sim_job *))
{
    size_t n = 0;
    for (sim_job *j = s->jobs; j; j = j->next) {
        n += j->txn == t;
    }
    sim_job **v = calloc(n ? n : 1, sizeof *v);
    n = 0;
    for (sim_job *j = s->jobs; j; j = j->next) {
        if (j->txn == t) {
            v[n++] = j;
        }
    }
    t->refs++;      /* the jobs may go while we walk them */
    for (size_t i = 0; i < n; i++) {
        fn(s, v[i]);
    }
    job_txn_unref(t);
    free(v);
}

static void to_pending(sim *s, sim_job *j)
{
    job_transition(s, j, JS_PENDING);
    if (!j->auto_finalize && j->type == JOB_BACKUP) {
        json_object *d = json_object_new_object();
        json_add_lit(d, "id", json_object_new_string(j->id));
        json_add_lit(d, "type", json_object_new_string(job_type_name(j)));
        ev_emit(s, "BLOCK_JOB_PENDING", d);
    }
}

/* job_cancel_async(force) then job_finish_sync: the tasks in flight land */
static void cancel_other(sim *s, sim_job *o)
{
    if (job_is_completed(o)) {
        o->cancelled = o->force_cancel = true;
        return;
    }
    /* sync top drops unallocated clusters before its first task, in the
     * same run of the job (backup_run): that pass is not a task */
    if (o->bk && cl_backup_top_pass_pending(o->bk)) {
        cl_copy_failure fail = { 0, false };
        cl_backup_step(o->bk, &fail);
    }
    for (unsigned k = 0; o->bk && k < o->inflight; k++) {
        cl_copy_failure fail = { 0, false };
        if (cl_backup_step(o->bk, &fail) != CL_STEP_MORE) {
            break;
        }
    }
    o->cancelled = o->force_cancel = true;
    if (o->bk) {
        cl_backup_cancel(o->bk);
    }
    job_completed(s, o, -ECANCELED);
}

static void abort_others(sim *s, sim_job *failed)
{
    sim_txn *t = failed->txn;
    for (sim_job *o = s->jobs; o; o = o->next) {
        if (o->txn == t && o != failed) {
            cancel_other(s, o);
        }
    }
}

bool job_txn_completed(sim *s, sim_job *j, int ret)
{
    sim_txn *t = j->txn;
    j->finished_work = true;
    if (!j->ret) {
        j->ret = ret;
    }
    job_update_rc(s, j);
    if (t->aborting) {
        return true;    /* another job of the group finalizes everybody */
    }
    if (j->ret) {
        t->aborting = true;
        abort_others(s, j);
        txn_apply(s, t, job_finalize_single);
        return true;
    }
    job_transition(s, j, JS_WAITING);
    for (sim_job *o = s->jobs; o; o = o->next) {
        if (o->txn == t && !job_is_completed(o)) {
            return true;
        }
    }
    txn_apply(s, t, to_pending);
    for (sim_job *o = s->jobs; o; o = o->next) {
        if (o->txn == t && !o->auto_finalize) {
            return true;    /* job-finalize finalizes the group */
        }
    }
    txn_apply(s, t, job_finalize_single);
    return true;
}

void job_txn_finalize(sim *s, sim_job *j)
{
    txn_apply(s, j->txn, job_finalize_single);
}

void job_txn_abort(sim *s, sim_job *j)
{
    sim_txn *t = j->txn;
    if (t->aborting) {
        return;
    }
    t->aborting = true;
    abort_others(s, j);
    txn_apply(s, t, job_finalize_single);
}

void job_start_deferred(sim *s, sim_job *j)
{
    if (!j->unstarted) {
        return;
    }
    j->unstarted = false;
    job_transition(s, j, JS_RUNNING);
    job_transition(s, j, JS_PAUSED);    /* its node is still drained */
}

void job_resume_deferred(sim *s, sim_job *j)
{
    if (j->status == JS_PAUSED) {
        job_transition(s, j, JS_RUNNING);
    }
}

void job_cancel_unstarted(sim *s, sim_job *j)
{
    /* job_cancel_locked of a job not started: job_completed, cancelled */
    j->cancelled = j->force_cancel = true;
    if (j->bk) {
        cl_backup_cancel(j->bk);
    }
    job_completed(s, j, -ECANCELED);
}
