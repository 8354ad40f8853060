/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Job transactions (QEMU 7.2 job.c JobTxn): the jobs a `transaction`
 * with completion-mode "grouped" starts finish together. A job whose work
 * succeeded waits until every job of the group has finished its work;
 * then all go pending and are finalized together (job_do_finalize). A job
 * that fails (or is cancelled) cancels the others, which finish with
 * -ECANCELED, and every job of the group is finalized in the group's
 * order (job_completed_txn_abort). A job leaves its group when it is
 * finalized. QEMU adds jobs at the head of the group's list, so the
 * group's order is the reverse of the order the jobs were made in.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim_int.h"

struct sim_txn {
    sim_job **jobs;             /* newest first: QLIST_INSERT_HEAD */
    size_t n;
    bool aborting;
    int refs;                   /* held while a loop walks the group (job_txn_ref) */
};

static void txn_free_if_done(sim_txn *t)
{
    if (!t->n && !t->refs) {
        free(t->jobs);
        free(t);
    }
}

static bool completed(const sim_job *j)
{
    return j->status == JS_WAITING || j->status == JS_PENDING || j->status == JS_ABORTING ||
           j->status == JS_CONCLUDED || j->status == JS_NULL;
}

void job_txn_group(sim *s, const char *const *ids, size_t n)
{
    if (n < 2) {
        return;     /* a group of one finishes as a lone job does */
    }
    sim_txn *t = calloc(1, sizeof *t);
    t->jobs = calloc(n, sizeof *t->jobs);
    for (size_t i = 0; i < n; i++) {
        sim_job *j = job_find(s, ids[i]);
        if (j && !j->txn) {
            memmove(&t->jobs[1], &t->jobs[0], t->n * sizeof *t->jobs);
            t->jobs[0] = j;
            t->n++;
            j->txn = t;
        }
    }
    if (t->n < 2) {
        for (size_t i = 0; i < t->n; i++) {
            t->jobs[i]->txn = NULL;
        }
        free(t->jobs);
        free(t);
    }
}

/* job_txn_del_job */
void job_txn_leave(sim_job *j)
{
    sim_txn *t = j->txn;
    if (!t) {
        return;
    }
    for (size_t i = 0; i < t->n; i++) {
        if (t->jobs[i] == j) {
            memmove(&t->jobs[i], &t->jobs[i + 1], (t->n - i - 1) * sizeof *t->jobs);
            t->n--;
            break;
        }
    }
    j->txn = NULL;
    txn_free_if_done(t);
}

/* The group as it stands, for loops whose steps take jobs out of it. */
static sim_job **snapshot(sim_txn *t, size_t *n)
{
    sim_job **v = malloc((t->n ? t->n : 1) * sizeof *v);
    memcpy(v, t->jobs, t->n * sizeof *v);
    *n = t->n;
    return v;
}

static bool still_in(sim_txn *t, sim_job *j)
{
    for (size_t i = 0; t && i < t->n; i++) {
        if (t->jobs[i] == j) {
            return true;
        }
    }
    return false;
}

/* job_completed_txn_abort */
static void txn_abort(sim *s, sim_job *j)
{
    sim_txn *t = j->txn;
    if (t->aborting) {
        return;     /* cancelled by another job, which handles everything */
    }
    t->aborting = true;
    t->refs++;      /* job_txn_ref: finalized jobs leave, and may free it */
    for (size_t i = 0; i < t->n; i++) {
        sim_job *o = t->jobs[i];
        if (o != j) {
            job_cancel_async(s, o);
        }
    }
    size_t n;
    sim_job **v = snapshot(t, &n);
    for (size_t i = 0; i < n; i++) {
        if (!still_in(t, v[i])) {
            continue;   /* gone already (it may be freed: only compared) */
        }
        if (!completed(v[i])) {
            /* job_finish_sync: it notices the cancel and ends */
            if (v[i]->status == JS_PAUSED || v[i]->status == JS_STANDBY) {
                job_transition(s, v[i], v[i]->resume_status);
            }
            job_completed(s, v[i], -ECANCELED);
        }
        job_finalize_single(s, v[i]);
    }
    free(v);
    t->refs--;
    txn_free_if_done(t);
}

/* job_do_finalize: every job of the group, in the group's order */
void job_txn_finalize(sim *s, sim_job *j)
{
    sim_txn *t = j->txn;
    size_t n;
    sim_job **v = snapshot(t, &n);
    t->refs++;
    for (size_t i = 0; i < n; i++) {
        if (still_in(t, v[i])) {
            job_finalize_single(s, v[i]);
        }
    }
    free(v);
    t->refs--;
    txn_free_if_done(t);
}

/* job_completed for a job of a group (its rc already updated) */
void job_txn_completed(sim *s, sim_job *j)
{
    sim_txn *t = j->txn;
    if (j->ret) {
        txn_abort(s, j);
        return;
    }
    /* job_completed_txn_success */
    job_transition(s, j, JS_WAITING);
    for (size_t i = 0; i < t->n; i++) {
        if (!completed(t->jobs[i])) {
            return;
        }
    }
    bool manual = false;
    for (size_t i = 0; i < t->n; i++) {
        job_to_pending(s, t->jobs[i]);
        manual |= !t->jobs[i]->auto_finalize;
    }
    if (!manual) {
        job_txn_finalize(s, j);
    }
}

/* job_cancel of a job of a group that has finished its work */
void job_txn_cancel_finished(sim *s, sim_job *j)
{
    txn_abort(s, j);
}
