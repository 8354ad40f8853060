/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The explorer's moved guest write (see sim/schedule.c): HMP qemu-io writes
 * are counted and offered as movable while a backup job runs, and the one
 * the schedule picks runs at its chosen point of the job (sched_tick, the
 * machine's tick_hook) instead of where the case issues it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/qmp.h"

static bool is_write_cmd(const char *cmd)
{
    size_t n = strcspn(cmd, " \t");
    return (n == 5 && !strncmp(cmd, "write", 5)) || (n == 1 && cmd[0] == 'w');
}

/* The backup job whose writes we count, if it is still there. */
static sim_job *counted_job(sim *s)
{
    for (sim_job *j = s->jobs; j; j = j->next)
        if ((const void *)j == s->sched_job && j->type == JOB_BACKUP)
            return j;
    return NULL;
}

char *sched_qemu_io(sim *s, sim_node *n, const char *cmd, bool device)
{
    /* writes through a device (-d) stay where the case puts them */
    if (device || !is_write_cmd(cmd))
        return sim_qemu_io_line(s, n, cmd, device);
    long w = ++s->sched_seen.guest_writes;
    bs_schedule_counts *c = &s->sched_seen;
    sim_job *j = s->sched_job ? counted_job(s) : NULL;
    if (j && c->nmovable < BS_SCHED_MOVABLE && strlen(n->name ? n->name : "") < BS_SCHED_TEXT &&
        strlen(cmd) < BS_SCHED_TEXT && strlen(j->id) < BS_SCHED_TEXT) {
        snprintf(c->movable[c->nmovable].job, BS_SCHED_TEXT, "%s", j->id);
        c->movable[c->nmovable].index = w;
        c->movable[c->nmovable].lo = s->sched_job_first;
        c->movable[c->nmovable].hi = c->writes;
        snprintf(c->movable[c->nmovable].node, BS_SCHED_TEXT, "%s", n->name ? n->name : "");
        snprintf(c->movable[c->nmovable].cmd, BS_SCHED_TEXT, "%s", cmd);
        c->nmovable++;
    }
    if (w == s->sched.move_write) {
        char *r = s->sched_moved_reply;
        s->sched_moved_reply = NULL;
        s->sched_moved = true;  /* never twice: the job may not have got there */
        if (r)
            return r;   /* it happened earlier: the case only sees its reply now */
    }
    return sim_qemu_io_line(s, n, cmd, false);
}

void sched_tick(sim *s)
{
    if (!s->sched.move_write || s->sched_moved || s->sched_seen.writes < s->sched.move_after)
        return;
    /* only within its own job (257's jobs share the filter's node name) */
    sim_job *j = job_find(s, s->sched.move_job);
    if (!j || j->type != JOB_BACKUP || j->status != JS_RUNNING)
        return;
    sim_node *n = node_find(s, s->sched.move_node);
    if (!n)
        return;
    s->sched_moved = true;
    /* counted as the guest write it stands for when the case issues it */
    s->sched_moved_reply = sim_qemu_io_line(s, n, s->sched.move_cmd, false);
}
