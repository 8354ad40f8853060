/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A backup job's error policies (on-source-error, on-target-error): what
 * a failed copy does, after QEMU 7.2's backup_loop and
 * block_job_error_action. The failed clusters are back in the copy
 * bitmap (block_copy_task_end), so retrying is another step of the job.
 */
#include <errno.h>
#include <string.h>

#include "sim/job.h"

static const char *const onerr_names[] = { "report", "ignore", "enospc", "stop", "auto", NULL };

int backup_onerr_parse(const char *name)
{
    for (int i = 0; name && onerr_names[i]; i++) {
        if (!strcmp(onerr_names[i], name)) {
            return i;
        }
    }
    return ONERR_REPORT;
}

enum { ACT_REPORT, ACT_IGNORE, ACT_STOP };
static const char *const action_names[] = { "report", "ignore", "stop" };

bool backup_copy_error(sim *s, sim_job *j, const cl_copy_failure *fail)
{
    int error = fail->ret < 0 ? -fail->ret : EIO;
    int policy = fail->is_read ? j->on_source_error : j->on_target_error;
    int action;
    switch (policy) {
    case ONERR_ENOSPC:
    case ONERR_AUTO:
        action = error == ENOSPC ? ACT_STOP : ACT_REPORT;
        break;
    case ONERR_STOP:
        action = ACT_STOP;
        break;
    case ONERR_IGNORE:
        action = ACT_IGNORE;
        break;
    default:
        action = ACT_REPORT;
        break;
    }
    json_object *d = json_object_new_object();
    json_add_lit(d, "device", json_object_new_string(j->id));
    json_add_lit(d, "operation", json_object_new_string(fail->is_read ? "read" : "write"));
    json_add_lit(d, "action", json_object_new_string(action_names[action]));
    ev_emit(s, "BLOCK_JOB_ERROR", d);
    if (action == ACT_REPORT) {
        return false;
    }
    if (action == ACT_STOP) {
        /* a user-visible pause that block-job-resume ends; the job stops
         * at its pause point before the next block-copy call */
        if (j->io_status == IOS_OK) {
            j->io_status = error == ENOSPC ? IOS_NOSPACE : IOS_FAILED;
        }
        if (!j->user_paused) {
            j->user_paused = true;
            job_pause(s, j);
        }
    }
    /* ignore: the next step retries from the lowest remaining cluster */
    return true;
}
