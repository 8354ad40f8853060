/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Rate-limited jobs (`speed` > 0) on the virtual clock, after QEMU 7.2's
 * block_job_ratelimit_sleep: a job that has done a unit of N bytes sleeps
 * N / speed seconds before the next one. Real QEMU keeps running while
 * the monitor talks to it, so here every QMP command takes a round trip
 * of virtual time (only while a rate-limited job runs or is paused, so
 * nothing else changes) and a rate-limited job whose time has come does
 * its next unit then. A job that is paused, waiting or done does no work.
 */
#include "sim/job.h"

#define QMP_ROUND_TRIP_NS 1000000ull    /* 1 ms per command */
#define MAX_STEPS_PER_COMMAND 64        /* a bound, whatever the jobs do */

static bool limited(const sim_job *j)
{
    return j->speed > 0 && j->status == JS_RUNNING && !j->finished_work;
}

static bool job_alive(sim *s, const sim_job *j)
{
    for (sim_job *k = s->jobs; k; k = k->next) {
        if (k == j) {
            return true;
        }
    }
    return false;
}

bool job_speed_step(sim *s, sim_job *j, bool (*step)(sim *, sim_job *))
{
    if (limited(j) && s->clock_ns < j->next_chunk_ns) {
        return false;       /* sleeping on the rate limit */
    }
    uint64_t before = job_offset(j);
    bool did = step(s, j);
    if (did && job_alive(s, j) && j->speed > 0 && job_offset(j) > before) {
        long double ns = (long double)(job_offset(j) - before) * 1e9L / (long double)j->speed;
        long double due = (long double)s->clock_ns + ns;
        j->next_chunk_ns = due < 0x1p63L ? (uint64_t)due : 1ull << 63;
    }
    return did;
}

bool job_speed_sleep(sim *s)
{
    uint64_t first = 0;
    bool found = false;
    for (sim_job *j = s->jobs; j; j = j->next) {
        if (limited(j) && j->next_chunk_ns > s->clock_ns && (!found || j->next_chunk_ns < first)) {
            first = j->next_chunk_ns;
            found = true;
        }
    }
    uint64_t timer = node_next_timer(s);    /* e.g. an NBD client's reconnect */
    if (timer && (!found || timer < first)) {
        first = timer;
        found = true;
    }
    if (found) {
        s->clock_ns = first;
    }
    return found;
}

void job_speed_qmp_elapsed(sim *s)
{
    bool any = false;       /* a rate-limited job that has not finished */
    for (sim_job *j = s->jobs; j; j = j->next) {
        any |= j->speed > 0 && !j->finished_work &&
               (j->status == JS_RUNNING || j->status == JS_PAUSED);
    }
    if (!any) {
        return;
    }
    s->clock_ns += QMP_ROUND_TRIP_NS;
    for (int n = 0; n < MAX_STEPS_PER_COMMAND; n++) {
        sim_job *due = NULL;
        for (sim_job *j = s->jobs; j && !due; j = j->next) {
            if (limited(j) && j->next_chunk_ns <= s->clock_ns) {
                due = j;
            }
        }
        if (!due || !job_tick(s, due)) {
            return;
        }
    }
}

void job_speed_run_for(sim *s, uint64_t ns)
{
    uint64_t end = s->clock_ns + ns;
    while (s->clock_ns < end) {
        bool any = false;
        for (sim_job *j = s->jobs; j && !any; j = j->next) {
            if (limited(j) && j->next_chunk_ns > s->clock_ns) {
                continue;       /* asleep on its rate limit */
            }
            any = job_tick(s, j);
        }
        if (any) {
            s->clock_ns += 1000000;     /* a unit of work takes 1 ms */
            continue;
        }
        /* nothing can run now: sleep until the first rate-limited job is
         * due, if that is before the end */
        uint64_t due = end, timer = node_next_timer(s);
        if (timer && timer < due) {
            due = timer;
        }
        for (sim_job *j = s->jobs; j; j = j->next) {
            if (limited(j) && j->next_chunk_ns > s->clock_ns && j->next_chunk_ns < due) {
                due = j->next_chunk_ns;
            }
        }
        s->clock_ns = due;
    }
}
