/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The job verbs of QMP (job-* and block-job-*), checked against QEMU 7.2's
 * JobVerbTable with its error texts, pause/resume as job.c counts them,
 * and query-block-jobs as blockjob.c's block_job_query fills it.
 *
 * The simulator's jobs run one unit of work per tick and are never inside
 * an I/O request when a QMP command runs, so a pause reaches the job's
 * pause point at once: QEMU's job_pause enters a sleeping job, which
 * pauses before the command returns.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/job.h"

typedef enum { VERB_CANCEL, VERB_PAUSE, VERB_RESUME, VERB_SET_SPEED, VERB_COMPLETE,
               VERB_FINALIZE, VERB_DISMISS, VERB_MAX } job_verb;

static const char *const verb_names[VERB_MAX] = {
    "cancel", "pause", "resume", "set-speed", "complete", "finalize", "dismiss",
};

/* QEMU 7.2 job.c JobVerbTable, columns in job_status order:
 *                         U  C  R  P  Y  S  W  D  X  E  N */
static const bool verb_table[VERB_MAX][JS_NULL + 1] = {
    [VERB_CANCEL]      = { 0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0 },
    [VERB_PAUSE]       = { 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0 },
    [VERB_RESUME]      = { 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0 },
    [VERB_SET_SPEED]   = { 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0 },
    [VERB_COMPLETE]    = { 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0 },
    [VERB_FINALIZE]    = { 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0 },
    [VERB_DISMISS]     = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0 },
};

/* job_apply_verb_locked */
static json_object *apply_verb(sim_job *j, job_verb verb)
{
    if (verb_table[verb][j->status]) {
        return NULL;
    }
    return qmp_error("GenericError", "Job '%s' in state '%s' cannot accept command verb '%s'",
                     j->id, job_status_name(j->status), verb_names[verb]);
}

/* job_pause_locked, then the pause point the sleeping job reaches at once */
void job_pause(sim *s, sim_job *j)
{
    j->pause_count++;
    if (j->status == JS_RUNNING || j->status == JS_READY) {
        j->resume_status = j->status;
        job_transition(s, j, j->status == JS_READY ? JS_STANDBY : JS_PAUSED);
    }
}

/* job_resume_locked: the last resume wakes the job, which leaves its
 * pause point in the state it paused from */
void job_resume(sim *s, sim_job *j)
{
    if (j->pause_count > 0 && --j->pause_count == 0 &&
        (j->status == JS_PAUSED || j->status == JS_STANDBY)) {
        job_transition(s, j, j->resume_status);
        if (job_driver(j)->pause_ends_sleep) {
            j->next_chunk_ns = 0;   /* job_sleep_ns returns from its pause point */
        }
    }
}

static json_object *user_pause(sim *s, sim_job *j)
{
    json_object *err = apply_verb(j, VERB_PAUSE);
    if (err) {
        return err;
    }
    if (j->user_paused) {
        return qmp_error("GenericError", "Job is already paused");
    }
    j->user_paused = true;
    job_pause(s, j);
    return qmp_ok();
}

static json_object *user_resume(sim *s, sim_job *j)
{
    if (!j->user_paused || j->pause_count <= 0) {
        return qmp_error("GenericError", "Can't resume a job that was not paused");
    }
    json_object *err = apply_verb(j, VERB_RESUME);
    if (err) {
        return err;
    }
    if (j->type != JOB_CREATE) {
        j->io_status = IOS_OK;      /* block_job_user_resume */
    }
    j->user_paused = false;
    job_resume(s, j);
    return qmp_ok();
}

/* job_user_cancel_locked -> job_cancel_locked: the job type says whether
 * the cancel is a forced one (backup always, mirror and active commit only
 * before READY; a type without JobDriver.cancel always). A user-paused job
 * is resumed by the cancel; a finished job aborts in the main loop; a
 * running one is woken, notices and ends with -ECANCELED. A soft cancel
 * only asks the job (a READY mirror then completes without pivoting), and
 * is ignored once the job's work is done. */
static json_object *user_cancel(sim *s, sim_job *j, bool force)
{
    json_object *err = apply_verb(j, VERB_CANCEL);
    if (err) {
        return err;
    }
    const sim_job_driver *drv = job_driver(j);
    bool forced = drv->cancel ? drv->cancel(j, force) : true;
    if (j->user_paused) {
        if (j->type != JOB_CREATE) {
            j->io_status = IOS_OK;
        }
        j->user_paused = false;
        j->pause_count--;
    }
    if (forced || !j->finished_work) {
        j->cancelled = true;
        j->force_cancel |= forced;
    }
    if (j->bk && j->force_cancel) {
        cl_backup_cancel(j->bk);
    }
    if (j->force_cancel) {
        node_cancel_in_flight(s, j->target);    /* backup_cancel, mirror_cancel */
    }
    if (j->status == JS_PENDING || j->status == JS_WAITING) {
        if (!j->force_cancel) {
            return qmp_ok();
        }
        if (j->txn) {
            job_txn_abort(s, j);    /* the whole group ends cancelled */
        } else {
            job_finalize_single(s, j);
        }
        return qmp_ok();
    }
    if (j->pause_count == 0 && (j->status == JS_PAUSED || j->status == JS_STANDBY)) {
        job_transition(s, j, j->resume_status);
    }
    if (j->pause_count == 0 && j->force_cancel) {
        job_completed(s, j, -ECANCELED);
    }
    /* soft, or still paused by someone else: the job ends when it runs */
    return qmp_ok();
}

void jobs_cancel_sync_all(sim *s)
{
    for (int guard = 0; s->jobs && guard < 1000; guard++) {
        sim_job *j = s->jobs;
        while (j->next) {
            j = j->next;    /* job_next: QEMU's list starts with the newest */
        }
        if (j->status == JS_CONCLUDED) {
            job_dismiss(s, j);      /* job_cancel_locked of a concluded job */
            continue;
        }
        if (j->unstarted) {
            job_cancel_unstarted(s, j);
            continue;
        }
        /* job_finish_sync: paused by anyone, it runs again to its end */
        if (!j->user_paused && j->pause_count > 0) {
            j->pause_count = 0;
            if (j->status == JS_PAUSED || j->status == JS_STANDBY) {
                job_transition(s, j, j->resume_status);
            }
        }
        json_object_put(user_cancel(s, j, true));
        bool alive = false;         /* j may be freed: compare pointers only */
        for (sim_job *k = s->jobs; k; k = k->next) {
            alive |= k == j;
        }
        if (alive && (j->status == JS_RUNNING || j->status == JS_READY)) {
            job_completed(s, j, -ECANCELED);    /* a cancel the job had to notice */
        }
    }
}

/* block_job_set_speed_locked */
static json_object *set_speed(sim_job *j, int64_t speed)
{
    json_object *err = apply_verb(j, VERB_SET_SPEED);
    if (err) {
        return err;
    }
    if (speed < 0) {
        return qmp_error("GenericError", "Parameter 'speed' expects a non-negative value");
    }
    j->speed = speed;
    return qmp_ok();
}

/* job_complete_locked: only a job type with JobDriver.complete (mirror, active commit) */
static json_object *complete(sim *s, sim_job *j)
{
    json_object *err = apply_verb(j, VERB_COMPLETE);
    if (err) {
        return err;
    }
    if (job_driver(j)->complete && !j->cancelled) {
        return job_driver(j)->complete(s, j);
    }
    return qmp_error("GenericError", "The active block job '%s' cannot be completed", j->id);
}

static const char *arg_str(json_object *args, const char *key)
{
    json_object *v = NULL;
    json_object_object_get_ex(args, key, &v);
    return v ? json_object_get_string(v) : "";
}

json_object *qmp_job_command(sim *s, const char *cmd, json_object *args)
{
    bool block = !strncmp(cmd, "block-job-", 10);
    const char *verb = cmd + (block ? 10 : 4);
    /* block-job-finalize and -dismiss take "id", the others "device" */
    const char *id = arg_str(args, block && strcmp(verb, "finalize") && strcmp(verb, "dismiss")
                                   ? "device" : "id");
    sim_job *j = job_find(s, id);
    if (!j) {
        if (block) {
            /* find_block_job_locked; a blockdev-create job is no block job */
            return qmp_error("DeviceNotActive", "Block job '%s' not found", id);
        }
        return qmp_error("GenericError", "Job not found");
    }
    if (block && j->type == JOB_CREATE) {
        return qmp_error("DeviceNotActive", "Block job '%s' not found", id);
    }
    if (!strcmp(verb, "pause")) {
        return user_pause(s, j);
    }
    if (!strcmp(verb, "resume")) {
        return user_resume(s, j);
    }
    if (!strcmp(verb, "cancel")) {
        json_object *f = NULL;
        bool force = !block;    /* job-cancel always forces */
        if (block && json_object_object_get_ex(args, "force", &f)) {
            force = json_object_get_boolean(f);
        }
        if (block && j->user_paused && !force) {
            return qmp_error("GenericError", "The block job for device '%s' is currently paused",
                             id);
        }
        return user_cancel(s, j, force);
    }
    if (!strcmp(verb, "set-speed")) {
        json_object *v = NULL;
        json_object_object_get_ex(args, "speed", &v);
        return set_speed(j, json_object_get_int64(v));
    }
    if (!strcmp(verb, "complete")) {
        return complete(s, j);
    }
    if (!strcmp(verb, "finalize")) {
        json_object *err = apply_verb(j, VERB_FINALIZE);
        if (err) {
            return err;
        }
        if (j->txn) {
            job_txn_finalize(s, j);     /* job_do_finalize: the whole group */
        } else {
            job_finalize_single(s, j);
        }
        return qmp_ok();
    }
    if (!strcmp(verb, "dismiss")) {
        json_object *err = apply_verb(j, VERB_DISMISS);
        if (err) {
            return err;
        }
        job_dismiss(s, j);
        return qmp_ok();
    }
    return qmp_error("CommandNotFound", "The command %s has not been found", cmd);
}

static const char *const io_status_names[] = { "ok", "failed", "nospace" };

/* Is the job's coroutine running? A backup's coroutine hands the copying
 * to block-copy's own coroutines and waits for them in job_yield (busy
 * false), and sleeps on its rate limit the same way, so between two QMP
 * commands it is never busy (real QEMU shows busy false even right after
 * block-job-resume). */
static bool job_busy(sim_job *j)
{
    (void)j;
    return false;
}

/* qmp_query_block_jobs: block jobs only, newest first, members in
 * BlockJobInfo's order */
json_object *qmp_query_block_jobs(sim *s)
{
    json_object *list = json_object_new_array();
    for (sim_job *j = s->jobs; j; j = j->next) {
        if (j->type == JOB_CREATE) {
            continue;
        }
        json_object *o = json_object_new_object();
        json_add_lit(o, "type", json_object_new_string(job_type_name(j)));
        json_add_lit(o, "device", json_object_new_string(j->id));
        json_add_lit(o, "len", json_object_new_int64((int64_t)job_len(j)));
        json_add_lit(o, "offset", json_object_new_int64((int64_t)job_offset(j)));
        json_add_lit(o, "busy", json_object_new_boolean(job_busy(j)));
        json_add_lit(o, "paused", json_object_new_boolean(j->pause_count > 0));
        json_add_lit(o, "speed", json_object_new_int64(j->speed));
        json_add_lit(o, "io-status", json_object_new_string(io_status_names[j->io_status]));
        json_add_lit(o, "ready", json_object_new_boolean(j->status == JS_READY ||
                                                                   j->status == JS_STANDBY));
        json_add_lit(o, "status", json_object_new_string(job_status_name(j->status)));
        json_add_lit(o, "auto-finalize", json_object_new_boolean(j->auto_finalize));
        json_add_lit(o, "auto-dismiss", json_object_new_boolean(j->auto_dismiss));
        if (j->ret) {
            json_add_lit(o, "error", json_object_new_string(j->error ? j->error
                                                                       : strerror(-j->ret)));
        }
        json_object_array_add(list, o);
    }
    /* s->jobs is in creation order; QEMU lists the newest first */
    size_t n = json_object_array_length(list);
    json_object *rev = json_object_new_array();
    for (size_t i = n; i > 0; i--) {
        json_object_array_add(rev, json_object_get(json_object_array_get_idx(list, i - 1)));
    }
    json_object_put(list);
    json_object *r = json_object_new_object();
    json_add_lit(r, "return", rev);
    return r;
}
