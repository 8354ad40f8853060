/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Jobs (QEMU 7.2 job.c semantics): their state machine and events, and the
 * virtual clock that runs them one unit of work per tick. Each job type is
 * its own file: backup.c, create.c, commit.c (and drive_backup.c on top of
 * backup).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/job.h"


static const char *const status_names[] = {
    "undefined", "created", "running", "paused", "ready", "standby",
    "waiting", "pending", "aborting", "concluded", "null",
};

const char *job_status_name(job_status st)
{
    return status_names[st];
}

sim_job *job_find(sim *s, const char *id)
{
    for (sim_job *j = s->jobs; j; j = j->next) {
        if (!strcmp(j->id, id)) {
            return j;
        }
    }
    return NULL;
}

/* QEMU 7.2 job.c JobSTT: may a job in status [from] go to [to]?
 *                                U  C  R  P  Y  S  W  D  X  E  N */
static const bool job_stt[JS_NULL + 1][JS_NULL + 1] = {
    [JS_UNDEFINED] = { 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0 },
    [JS_CREATED]   = { 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1 },
    [JS_RUNNING]   = { 0, 0, 0, 1, 1, 0, 1, 0, 1, 0, 0 },
    [JS_PAUSED]    = { 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0 },
    [JS_READY]     = { 0, 0, 0, 0, 0, 1, 1, 0, 1, 0, 0 },
    [JS_STANDBY]   = { 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0 },
    [JS_WAITING]   = { 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0 },
    [JS_PENDING]   = { 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0 },
    [JS_ABORTING]  = { 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0 },
    [JS_CONCLUDED] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 },
    [JS_NULL]      = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 },
};

bool job_transition_allowed(job_status from, job_status to)
{
    return job_stt[from][to];
}

void job_transition(sim *s, sim_job *j, job_status st)
{
    if (j->status == st) {
        return;
    }
    if (!job_stt[j->status][st]) {
        /* QEMU asserts here: a simulator that gets here models a job
         * QEMU could not have, and must not print a transcript */
        fprintf(stderr, "sim: job '%s': %s -> %s is not in QEMU's JobSTT\n", j->id,
                status_names[j->status], status_names[st]);
        abort();
    }
    j->status = st;
    json_object *d = json_object_new_object();
    json_add_lit(d, "status", json_object_new_string(status_names[st]));
    json_add_lit(d, "id", json_object_new_string(j->id));
    ev_emit(s, "JOB_STATUS_CHANGE", d);
}

static const sim_job_driver *const job_drivers[] = {
    [JOB_BACKUP] = &backup_job_driver,
    [JOB_CREATE] = &create_job_driver,
    [JOB_MIRROR] = &mirror_job_driver,
    [JOB_COMMIT] = &commit_job_driver,
    [JOB_COMMIT_ACTIVE] = &commit_active_job_driver,
    [JOB_STREAM] = &stream_job_driver,
};

const sim_job_driver *job_driver(const sim_job *j)
{
    return job_drivers[j->type];
}

const char *job_type_name(sim_job *j)
{
    return job_driver(j)->type;
}

uint64_t job_offset(sim_job *j)
{
    return job_driver(j)->offset(j);
}

uint64_t job_len(sim_job *j)
{
    return job_driver(j)->len(j);
}

sim_job *job_new(sim *s, const char *id, job_type type)
{
    sim_job *j = calloc(1, sizeof *j);
    j->id = xstrdup(id);
    j->type = type;
    j->status = JS_UNDEFINED;
    j->auto_finalize = true;
    j->auto_dismiss = true;
    sim_job **pp = &s->jobs;
    while (*pp) {
        pp = &(*pp)->next;
    }
    *pp = j;
    return j;
}

void job_free(sim *s, sim_job *j)
{
    job_txn_unref(j->txn);
    sim_job **pp = &s->jobs;
    while (*pp && *pp != j) {
        pp = &(*pp)->next;
    }
    if (*pp) {
        *pp = j->next;
    }
    free(j->id);
    free(j->error);
    json_object_put(j->create_opts);
    free(j->priv);
    free(j);
}

static void job_event_completed(sim *s, sim_job *j)
{
    if (j->unstarted) {
        return;     /* "Emit events only if we actually started" */
    }
    if (!job_driver(j)->block_job) {
        return;
    }
    json_object *d = json_object_new_object();
    json_add_lit(d, "device", json_object_new_string(j->id));
    json_add_lit(d, "len", json_object_new_int64((int64_t)job_len(j)));
    json_add_lit(d, "offset", json_object_new_int64((int64_t)job_offset(j)));
    json_add_lit(d, "speed", json_object_new_int64(j->speed));
    json_add_lit(d, "type", json_object_new_string(job_type_name(j)));
    if (j->force_cancel) {     /* job_is_cancelled: a soft cancel completes */
        ev_emit(s, "BLOCK_JOB_CANCELLED", d);
        return;
    }
    if (j->ret < 0) {
        json_add_lit(d, "error", json_object_new_string(j->error));
    }
    ev_emit(s, "BLOCK_JOB_COMPLETED", d);
}

static void job_destroy(sim *s, sim_job *j)
{
    job_filter_drop(s, &j->implicit);
    backup_destroy(s, j);
    if (job_driver(j)->destroy) {
        job_driver(j)->destroy(s, j);
    }
}

void job_dismiss(sim *s, sim_job *j)
{
    job_transition(s, j, JS_NULL);
    job_destroy(s, j);
    job_free(s, j);
}

void job_update_rc(sim *s, sim_job *j)
{
    if (!j->ret && j->force_cancel) {
        j->ret = -ECANCELED;
    }
    if (j->ret) {
        if (!j->error) {
            j->error = xstrdup(strerror(-j->ret));
        }
        job_transition(s, j, JS_ABORTING);
    }
}

void job_finalize_single(sim *s, sim_job *j)
{
    job_update_rc(s, j);
    if (job_driver(j)->finalize) {
        job_driver(j)->finalize(s, j);
    }
    job_filter_drop(s, &j->implicit);     /* prepare/abort/clean remove it */
    job_event_completed(s, j);
    job_transition(s, j, JS_CONCLUDED);
    if (j->auto_dismiss) {
        job_dismiss(s, j);
    }
}

/* The job's run returned ret (QEMU's job_completed). */
void job_completed(sim *s, sim_job *j, int ret)
{
    if (j->txn && job_txn_completed(s, j, ret)) {
        return;     /* a grouped transaction's jobs end together */
    }
    j->finished_work = true;
    if (!j->ret) {
        j->ret = ret;
    }
    job_update_rc(s, j);
    if (j->ret) {
        job_finalize_single(s, j);
        return;
    }
    job_transition(s, j, JS_WAITING);
    job_to_pending(s, j);
    if (!j->auto_finalize) {
        return;
    }
    job_finalize_single(s, j);
}

/* job_transition_to_pending: BLOCK_JOB_PENDING when it waits for
 * job-finalize */
void job_to_pending(sim *s, sim_job *j)
{
    job_transition(s, j, JS_PENDING);
    if (!j->auto_finalize && job_driver(j)->block_job) {
        json_object *d = json_object_new_object();
        json_add_lit(d, "id", json_object_new_string(j->id));
        json_add_lit(d, "type", json_object_new_string(job_type_name(j)));
        ev_emit(s, "BLOCK_JOB_PENDING", d);
    }
}

/* ---- ticking --------------------------------------------------------------- */

bool job_tick(sim *s, sim_job *j)
{
    return job_driver(j)->tick(s, j);
}

bool jobs_tick(sim *s)
{
    s->clock_ns += 1000000;     /* 1 ms of virtual time per unit of work */
    bool any = pve_tick(s);     /* the VMA backup's jobs run beside these */
    if (s->tick_hook) {
        s->tick_hook(s);        /* the explorer: a guest write moved to this point */
    }
    for (sim_job *j = s->jobs, *next; j; j = next) {
        next = j->next;
        if (job_tick(s, j)) {
            any = true;
            /* job lists may have changed: restart from the head next time */
            break;
        }
    }
    /* only rate-limited jobs wait: sleep until the first may go on */
    return any || job_speed_sleep(s);
}

void jobs_free_all(sim *s)
{
    while (s->jobs) {
        sim_job *j = s->jobs;
        job_destroy(s, j);
        job_free(s, j);
    }
}

/* ---- QMP: query-jobs and the job verbs ---------------------------------- */

json_object *qmp_query_jobs(sim *s)
{
    json_object *list = json_object_new_array();
    /* QEMU lists the newest job first */
    size_t n = 0;
    for (sim_job *j = s->jobs; j; j = j->next) {
        n++;
    }
    for (size_t i = n; i > 0; i--) {
        sim_job *j = s->jobs;
        for (size_t k = 1; k < i; k++) {
            j = j->next;
        }
        json_object *o = json_object_new_object();
        json_add_lit(o, "current-progress", json_object_new_int64((int64_t)job_offset(j)));
        json_add_lit(o, "status", json_object_new_string(status_names[j->status]));
        json_add_lit(o, "total-progress", json_object_new_int64((int64_t)job_len(j)));
        json_add_lit(o, "type", json_object_new_string(job_type_name(j)));
        json_add_lit(o, "id", json_object_new_string(j->id));
        if (j->status == JS_CONCLUDED && j->ret) {
            json_add_lit(o, "error", json_object_new_string(j->error));
        }
        json_object_array_add(list, o);
    }
    json_object *r = json_object_new_object();
    json_add_lit(r, "return", list);
    return r;
}
