/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The explorer. A baseline run counts what the simulator could change: its
 * backup jobs' reads and writes and the errors blkdebug injects. Then one
 * run per schedule: each job read failing once, each job write failing
 * once, each injected error not landing. Runs are deterministic, so the
 * N-th read of a schedule is the N-th read of the baseline up to the point
 * the schedule changes something.
 */
#include "harness/explore.h"
#include "harness/interp.h"
#include "harness/sbuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define EVENT_TIMEOUT_S 60.0

typedef struct outcome {
    char *transcript;           /* with the runtime error, if any, appended */
    char *schedule;             /* one schedule that gives it */
    long count;
    int oracle_failures;        /* lines ending in ERROR! */
    int completed;
} outcome;

static int count_errors(const char *t)
{
    int n = 0;
    for (const char *p = t; (p = strstr(p, "ERROR!")); p += 6)
        if (p[6] == '\n' || p[6] == '\0')
            n++;
    return n;
}

/* One run under plan; *seen gets the counts. NULL on a setup failure. */
static char *run_once(const program *prog, backend_factory make, const bs_schedule *plan,
                      bs_schedule_counts *seen, int *completed, char **why)
{
    bs_backend *be = make("sim", why);
    if (!be)
        return NULL;
    if (!be->ops->set_schedule || !be->ops->schedule_counts) {
        be->ops->destroy(be);
        *why = strdup("the backend cannot choose schedules");
        return NULL;
    }
    be->ops->set_schedule(be, plan);
    char *t = NULL, *err = NULL;
    int r = case_run(prog, be, EVENT_TIMEOUT_S, &t, &err);
    be->ops->schedule_counts(be, seen);
    be->ops->destroy(be);
    *completed = r == 0;
    if (r < 0) {
        /* the stopping point is part of what this schedule does */
        sbuf b = {0};
        sbuf_adds(&b, t);
        const char *msg = err ? strstr(err, "runtime error: ") : NULL;
        sbuf_printf(&b, "<stopped: %s>\n", msg ? msg + 15 : "?");
        free(t);
        t = sbuf_take(&b);
    }
    free(err);
    return t;
}

static char *describe(const bs_schedule *s)
{
    char *d;
    int r;
    if (s->fail_read)
        r = asprintf(&d, "job read %ld fails (EIO)", s->fail_read);
    else if (s->fail_write)
        r = asprintf(&d, "job write %ld fails (EIO)", s->fail_write);
    else if (s->skip_injection)
        r = asprintf(&d, "injected error %ld does not land", s->skip_injection);
    else if (s->move_write)
        r = asprintf(&d, "guest write %ld ('%s' on %s) after %ld writes of job %s",
                     s->move_write, s->move_cmd, s->move_node, s->move_after, s->move_job);
    else
        r = asprintf(&d, "baseline (nothing changed)");
    if (r < 0)
        abort();
    return d;
}

/* "line N: TEXT" of the first line where t differs from base. */
static void first_difference(const char *base, const char *t, sbuf *out)
{
    const char *a = base, *b = t;
    long line = 1;
    while (*a && *a == *b) {
        if (*a == '\n')
            line++;
        a++;
        b++;
    }
    while (b > t && b[-1] != '\n')
        b--;
    size_t len = strcspn(b, "\n");
    sbuf_printf(out, "line %ld: %.*s%s", line, (int)(len > 100 ? 100 : len), b,
                len > 100 ? "..." : "");
}

static int write_transcript(const char *dir, size_t k, const outcome *o, FILE *errf)
{
    char *path;
    if (asprintf(&path, "%s/transcript-%zu.out", dir, k) < 0)
        abort();
    FILE *f = fopen(path, "w");
    int ok = f && fprintf(f, "# schedule: %s\n%s", o->schedule, o->transcript) >= 0;
    if (f && fclose(f) != 0)
        ok = 0;
    if (!ok)
        fprintf(errf, "harness: cannot write %s: %s\n", path, strerror(errno));
    free(path);
    return ok ? 0 : -1;
}

int harness_explore(const char *path, const explore_opts *o, backend_factory make, FILE *out,
                    FILE *errf)
{
    char *err = NULL;
    program *prog = case_parse_file(path, &err);
    if (!prog) {
        fprintf(errf, "%s\n", err);
        free(err);
        return 2;
    }
    for (size_t i = 0; i < o->ndefines; i++) {
        if (case_define(prog, o->defines[i], &err) < 0) {
            fprintf(errf, "%s\n", err);
            free(err);
            case_free(prog);
            return 2;
        }
    }
    if (o->dir && mkdir(o->dir, 0777) < 0 && errno != EEXIST) {
        fprintf(errf, "harness: cannot create %s: %s\n", o->dir, strerror(errno));
        case_free(prog);
        return 2;
    }
    bs_schedule none = {0};
    bs_schedule_counts c = {0}, seen;
    int completed;
    char *base = run_once(prog, make, &none, &c, &completed, &err);
    if (!base) {
        fprintf(errf, "harness: --explore %s: %s\n", path, err ? err : "?");
        free(err);
        case_free(prog);
        return 2;
    }

    /* every schedule, or an even sample of them within the budget */
    long nmoves = 0;
    for (size_t m = 0; m < c.nmovable; m++)
        nmoves += c.movable[m].hi - c.movable[m].lo;
    long total = c.reads + c.writes + c.injections + nmoves;
    long budget = o->budget > 0 ? o->budget : EXPLORE_DEFAULT_BUDGET;
    long stride = total > budget ? (total + budget - 1) / budget : 1;
    outcome *v = calloc(1, sizeof(*v));
    size_t nv = 1;
    if (!v)
        abort();
    v[0] = (outcome){ base, describe(&none), 1, count_errors(base), completed };
    long runs = 1, worse = 0;
    for (long k = 0; k < total; k += stride) {
        bs_schedule s = {0};
        if (k < c.reads) {
            s.fail_read = k + 1;
        } else if (k < c.reads + c.writes) {
            s.fail_write = k - c.reads + 1;
        } else if (k < c.reads + c.writes + c.injections) {
            s.skip_injection = k - c.reads - c.writes + 1;
        } else {
            /* the k-th move: a movable write and a point of its job before
             * the one the case chose */
            long r = k - c.reads - c.writes - c.injections;
            size_t m = 0;
            while (r >= c.movable[m].hi - c.movable[m].lo) {
                r -= c.movable[m].hi - c.movable[m].lo;
                m++;
            }
            s.move_write = c.movable[m].index;
            s.move_after = c.movable[m].lo + r;
            snprintf(s.move_node, sizeof(s.move_node), "%s", c.movable[m].node);
            snprintf(s.move_cmd, sizeof(s.move_cmd), "%s", c.movable[m].cmd);
            snprintf(s.move_job, sizeof(s.move_job), "%s", c.movable[m].job);
        }
        char *t = run_once(prog, make, &s, &seen, &completed, &err);
        if (!t) {
            fprintf(errf, "harness: --explore %s: %s\n", path, err ? err : "?");
            free(err);
            err = NULL;
            continue;
        }
        runs++;
        size_t i = 0;
        while (i < nv && strcmp(v[i].transcript, t))
            i++;
        if (i < nv) {
            v[i].count++;
            free(t);
        } else {
            v = realloc(v, (nv + 1) * sizeof(*v));
            if (!v)
                abort();
            v[nv++] = (outcome){ t, describe(&s), 1, count_errors(t), completed };
        }
        if (v[i].oracle_failures > v[0].oracle_failures)
            worse++;
    }

    fprintf(out, "explore %s: %ld schedules (%ld job reads, %ld job writes, %ld injected "
            "errors, %ld placements of %zu guest writes%s; budget %ld)\n", path, runs, c.reads,
            c.writes, c.injections, nmoves, c.nmovable, stride > 1 ? ", sampled" : "", budget);
    fprintf(out, "distinct transcripts: %zu\n", nv);
    int status = 0;
    for (size_t i = 0; i < nv; i++) {
        sbuf d = {0};
        if (i)
            first_difference(v[0].transcript, v[i].transcript, &d);
        fprintf(out, "  #%zu: %ld schedule%s, e.g. %s%s%s%s%s\n", i + 1, v[i].count,
                v[i].count == 1 ? "" : "s", v[i].schedule, v[i].completed ? "" : "; stops early",
                v[i].oracle_failures > v[0].oracle_failures ? "; ORACLE FAILURE" : "",
                i ? "; first difference at " : "", sbuf_str(&d));
        sbuf_free(&d);
        if (o->dir && write_transcript(o->dir, i + 1, &v[i], errf) < 0)
            status = 1;
    }
    fprintf(out, "oracle failures: %ld schedule%s (a check prints ERROR! that the baseline "
            "passes)\n", worse, worse == 1 ? "" : "s");
    if (worse)
        status = 1;
    for (size_t i = 0; i < nv; i++) {
        free(v[i].transcript);
        free(v[i].schedule);
    }
    free(v);
    case_free(prog);
    return status;
}
