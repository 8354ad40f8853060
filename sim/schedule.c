/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The simulator's side of the explorer (harness --explore): the machine
 * counts the I/O of its backup jobs and the errors blkdebug injects, and a
 * schedule picks one of them to change: a job read or write that fails with
 * EIO, or an injected error that does not land (real QEMU sometimes
 * finishes 257's job before blkdebug's read error hits), or a guest write
 * issued while a backup job exists moved to an earlier point of that job:
 * before its first cluster copy, between two of them, or after the last.
 * This file keeps the counts and choices; schedule_io.c moves the write.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim/machine.h"

int sched_job_read(sim *s)
{
    long k = ++s->sched_seen.reads;
    return s->sched.fail_read && k == s->sched.fail_read ? -EIO : 0;
}

int sched_job_write(sim *s, const void *job)
{
    if (job != s->sched_job) {
        /* a job's first write: guest writes during it can go from here on */
        s->sched_job = job;
        s->sched_job_first = s->sched_seen.writes;
    }
    long k = ++s->sched_seen.writes;
    return s->sched.fail_write && k == s->sched.fail_write ? -EIO : 0;
}

bool sched_skip_injection(sim *s)
{
    long k = ++s->sched_seen.injections;
    return s->sched.skip_injection && k == s->sched.skip_injection;
}

void sim_set_schedule(bs_backend *b, const bs_schedule *plan)
{
    sim *s = (sim *)b;
    s->sched = *plan;
    s->sched_exploring = true;
    memset(&s->sched_seen, 0, sizeof(s->sched_seen));
    s->sched_job = NULL;
    s->sched_job_first = 0;
    s->sched_moved = false;
    free(s->sched_moved_reply);
    s->sched_moved_reply = NULL;
}

void sim_schedule_counts(bs_backend *b, bs_schedule_counts *seen)
{
    *seen = ((sim *)b)->sched_seen;
}
