/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The simulator's side of the explorer (harness --explore): the machine
 * counts the I/O of its backup jobs and the errors blkdebug injects, and a
 * schedule picks one of them to change: a job read or write that fails with
 * EIO, or an injected error that does not land (real QEMU sometimes
 * finishes 257's job before blkdebug's read error hits).
 */
#include "sim/sim_int.h"

#include <errno.h>
#include <string.h>

int sched_job_read(sim *s)
{
    long k = ++s->sched_seen.reads;
    return s->sched.fail_read && k == s->sched.fail_read ? -EIO : 0;
}

int sched_job_write(sim *s)
{
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
    memset(&s->sched_seen, 0, sizeof(s->sched_seen));
}

void sim_schedule_counts(bs_backend *b, bs_schedule_counts *seen)
{
    *seen = ((sim *)b)->sched_seen;
}
