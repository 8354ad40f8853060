/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "harness/cli.h"
#include "harness/tool_run.h"
#include "harness/case.h"
#include "harness/cleanup.h"
#include "harness/diff.h"
#include "harness/explore.h"
#include "harness/interp.h"
#include "harness/sbuf.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* How long run_job waits for one event (iotests' default wait). */
#define EVENT_TIMEOUT_S 60.0

typedef struct options {
    const char *backend;
    const char *golden_dir;
    int real_nbd_clients;           /* --nbd-clients real */
    int bless, tap, print;
    int self_check;             /* no golden: the case's own checks decide */
    int explore;                /* --explore: every schedule, simulator only */
    explore_opts xo;
    long jobs;              /* -j: cases replayed in this many processes */
    const char **only;
    size_t nonly;
    unsigned shard_k, shard_n;  /* --shard K/N: cases K-1, K-1+N, ... of those given */
    const char **defines;       /* -D NAME=VALUE, in order */
    size_t ndefines;
    case_limits lim;
} options;

static void usage(FILE *f)
{
    fprintf(f, "usage: harness [--backend sim|qemu] [--bless] [--tap] [--golden-dir DIR]\n"
          "               [--print] [--only NAME]... [-D NAME=VALUE]... [-j N]\n"
          "               [--nbd-clients internal|real] [--explore] CASE...\n"
          "Replays each CASE (a cases/*.case file) and compares its transcript with\n"
          "DIR/NAME.out (default DIR: golden), NAME being the file name without .case.\n"
          "  --bless   write the transcripts as the new goldens instead of comparing\n"
          "  --print   write the transcripts to standard output (reports go to stderr)\n"
          "  --self-check  compare with no golden: a case passes when it runs to its\n"
          "            end and no line of its transcript ends in ERROR! (generated cases)\n"
          "  --tap     report in TAP\n"
          "  --only    run only the named cases (repeatable)\n"
          "  --explore [--budget N] [--explore-dir DIR]  replay each case on the simulator\n"
          "            under every schedule it can choose (each job read or write failing\n"
          "            once, each injected error not landing), at most N (default %d);\n"
          "            report the distinct transcripts, one schedule each\n"
          "  --shard K/N  run only cases K-1, K-1+N, K-1+2N, ... of those given (a CI\n"
          "            matrix of N jobs covers a batch once)\n"
          "  -D NAME=VALUE  every top-level 'let NAME' binds VALUE (an expression,\n"
          "            e.g. -D GRAN=32768 -D 'FMT=\"raw\"') instead; repeatable\n"
          "  -j N      replay N cases at a time, each in its own process; the\n"
          "            report and transcripts keep the order of the cases\n"
          "  --max-value-size BYTES    largest value a case may build (default 16M)\n"
          "  --max-model-memory BYTES  all image models together (default 1G)\n"
          "            (BYTES takes a K, M or G suffix: powers of 1024)\n"
          "  --nbd-clients real   qemu_io_run / img_map on an NBD export run the real\n"
          "            qemu-io / qemu-img against the VM's socket (default internal)\n",
            EXPLORE_DEFAULT_BUDGET);
}

/* "16M" -> 16 MiB; -1 unless a positive number that fits. */
static int parse_bytes(const char *s, uint64_t *out)
{
    char *end;
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    int shift = 0;
    if (*end == 'K' || *end == 'k')
        shift = 10;
    else if (*end == 'M')
        shift = 20;
    else if (*end == 'G')
        shift = 30;
    if (shift)
        end++;
    if (errno || *end || v == 0 || v > (UINT64_MAX >> shift))
        return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

/* "cases/257.case" -> "257" (malloc'd). */
static char *case_name(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    if (n > 5 && !strcmp(base + n - 5, ".case"))
        n -= 5;
    return strndup(base, n);
}

static char *read_file(const char *path, int *missing, size_t *len)
{
    FILE *f = fopen(path, "rb");
    *missing = 0;
    if (!f) {
        *missing = errno == ENOENT;
        return NULL;
    }
    sbuf b = {0};
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        sbuf_addn(&b, buf, n);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        sbuf_free(&b);
        return NULL;
    }
    *len = b.len;
    return sbuf_take(&b);
}

/* Write via a temporary file and rename, so a golden is never half written. */
static int write_atomic(const char *path, const char *text, char **err)
{
    char *tmp;
    if (asprintf(&tmp, "%s.tmp.%ld", path, (long)getpid()) < 0)
        abort();
    FILE *f = fopen(tmp, "wb");
    int ok = f && fwrite(text, 1, strlen(text), f) == strlen(text);
    if (f && fclose(f) != 0)
        ok = 0;
    if (!ok || rename(tmp, path) != 0) {
        if (asprintf(err, "cannot write %s: %s", path, strerror(errno)) < 0)
            abort();
        unlink(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    return 0;
}

/* Diagnostics: prefixed with "# " in TAP mode. */
static void note(FILE *f, const options *o, const char *text)
{
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        fprintf(f, "%s%.*s\n", o->tap ? "# " : "", (int)len, p);
        p += len + (nl ? 1 : 0);
    }
}

/* The first line ending in ERROR! (an oracle check that failed), reported
 * with its line number; 0 when there is none. */
static int self_check_failure(const char *transcript, sbuf *diag)
{
    size_t lineno = 1;
    for (const char *p = transcript; *p; lineno++) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (len >= 6 && !memcmp(p + len - 6, "ERROR!", 6)) {
            sbuf_printf(diag, "transcript line %zu: %.*s\n", lineno, (int)len, p);
            return 1;
        }
        p += len + (nl ? 1 : 0);
    }
    return 0;
}

/* The programs a case needs besides the backend (`# requires: PROG...`
 * header lines, e.g. nbdinfo), and qemu-img / qemu-io for --nbd-clients
 * real: the first one not installed (malloc'd), or NULL when all are. */
static char *missing_program(const options *o, const char *path)
{
    static const char *const real_clients[] = { "qemu-img", "qemu-io" };
    char *missing = NULL, line[1024];
    for (size_t i = 0; o->real_nbd_clients && i < 2 && !missing; i++) {
        char *p = tool_path(real_clients[i]);
        if (!p || access(p, X_OK) != 0)
            missing = strdup(real_clients[i]);
        free(p);
    }
    FILE *f = fopen(path, "r");
    while (f && !missing && fgets(line, sizeof line, f)) {
        if (strncmp(line, "# requires:", 11))
            continue;
        for (char *w = strtok(line + 11, " \t\n"); w && !missing; w = strtok(NULL, " \t\n")) {
            char *p = tool_path(w);
            if (!p || access(p, X_OK) != 0)
                missing = strdup(w);
            free(p);
        }
    }
    if (f)
        fclose(f);
    return missing;
}

/* Runs one case; 0 pass, -1 fail. Diagnostics go to *diag. */
static int run_case(const options *o, backend_factory make, const char *path, const char *name,
                    FILE *out, sbuf *diag)
{
    char *err = NULL, *transcript = NULL, *golden_path = NULL, *golden = NULL;
    int r = -1, missing;
    program *prog = case_parse_file(path, &err);
    if (!prog) {
        sbuf_printf(diag, "%s\n", err);
        goto out;
    }
    for (size_t i = 0; i < o->ndefines; i++) {
        if (case_define(prog, o->defines[i], &err) < 0) {
            sbuf_printf(diag, "%s\n", err);
            goto out;
        }
    }
    bs_backend *be = make(o->backend, &err);
    if (!be) {
        sbuf_printf(diag, "%s backend: %s\n", o->backend, err ? err : "cannot be created");
        goto out;
    }
    cleanup_watch(be->test_dir);    /* removed if a signal kills us */
    be->real_nbd_clients = o->real_nbd_clients;
    int rr = case_run_limited(prog, be, EVENT_TIMEOUT_S, &o->lim, &transcript, &err);
    be->ops->destroy(be);
    cleanup_watch(NULL);
    if (o->print)
        fputs(transcript, out);
    if (rr < 0) {
        sbuf_printf(diag, "%s\n", err);
        free(err);
        err = NULL;
    }
    if (o->self_check) {
        r = rr == 0 && !self_check_failure(transcript, diag) ? 0 : -1;
        goto out;
    }
    if (asprintf(&golden_path, "%s/%s.out", o->golden_dir, name) < 0)
        abort();
    if (o->bless) {
        if (rr < 0) {
            sbuf_printf(diag, "not blessing %s: the case did not run to its end\n", golden_path);
        } else if (write_atomic(golden_path, transcript, &err) < 0) {
            sbuf_printf(diag, "%s\n", err);
        } else {
            sbuf_printf(diag, "blessed %s\n", golden_path);
            r = 0;
        }
        goto out;
    }
    size_t golden_len = 0;
    golden = read_file(golden_path, &missing, &golden_len);
    if (!golden) {
        sbuf_printf(diag, "%s: %s\n", golden_path,
                    missing ? "no golden transcript (run with --bless to create it)"
                            : "cannot be read");
        goto out;
    }
    char *label;
    if (asprintf(&label, "%s (%s backend)", name, o->backend) < 0)
        abort();
    /* as bytes: a NUL in the golden must not hide what follows it */
    char *d = diff_unified_n(golden, golden_len, transcript, strlen(transcript), golden_path,
                             label, 3);
    free(label);
    if (d) {
        sbuf_adds(diag, d);
        free(d);
    } else if (rr == 0) {
        r = 0;
    }
out:
    free(err);
    free(transcript);
    free(golden_path);
    free(golden);
    case_free(prog);
    return r;
}

/* -j N, -jN or --jobs N; -1 (and a message) on a bad number. */
static int parse_jobs(options *o, int argc, char **argv, int *i, FILE *errf)
{
    const char *a = argv[*i], *v = a[1] == 'j' && a[2] ? a + 2 : NULL;
    if (!v) {
        if (*i + 1 >= argc) {
            fprintf(errf, "harness: %s needs a value\n", a);
            usage(errf);
            return -1;
        }
        v = argv[++*i];
    }
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < 1 || n > 1024) {
        fprintf(errf, "harness: -j needs a number of processes from 1 to 1024, not '%s'\n", v);
        return -1;
    }
    o->jobs = n;
    return 0;
}

/* What one case produced: its verdict, diagnostics and (--print) transcript. */
typedef struct case_result {
    int r;                  /* 0 passed, -1 failed, 1 skipped (diag: the missing program) */
    char *diag;
    char *printed;
    size_t printed_len;
} case_result;

static void run_in_process(const options *o, backend_factory make, const char *path,
                           const char *name, FILE *out, case_result *res)
{
    char *missing = missing_program(o, path);
    if (missing) {
        /* a check that cannot run here is skipped, never passed */
        res->r = 1;
        res->diag = missing;
        return;
    }
    sbuf diag = {0};
    res->r = run_case(o, make, path, name, out, &diag);
    res->diag = sbuf_take(&diag);
}

static void report_case(const options *o, FILE *report, size_t num, const char *name,
                        case_result *res, size_t *passed, size_t *failed, size_t *skipped)
{
    if (res->r == 1) {
        (*skipped)++;
        if (o->tap)
            fprintf(report, "ok %zu - %s # SKIP %s is not installed\n", num, name, res->diag);
        else
            fprintf(report, "SKIP %s (%s is not installed)\n", name, res->diag);
        free(res->diag);
        free(res->printed);
        res->diag = res->printed = NULL;
        return;
    }
    if (res->r == 0)
        (*passed)++;
    else
        (*failed)++;
    if (o->tap)
        fprintf(report, "%sok %zu - %s\n", res->r == 0 ? "" : "not ", num, name);
    else
        fprintf(report, "%s %s\n", res->r == 0 ? "PASS" : "FAIL", name);
    note(report, o, res->diag ? res->diag : "");
    free(res->diag);
    free(res->printed);
    res->diag = res->printed = NULL;
}

/* Child side of -j: replays one case and leaves "r difflen printlen\n", the
 * diagnostics and the transcript in f for the parent. */
static void __attribute__((noreturn))
child_case(const options *o, backend_factory make, const char *path, const char *name, FILE *f)
{
    char *printed = NULL;
    size_t plen = 0;
    FILE *pf = open_memstream(&printed, &plen);
    case_result res = {0};
    if (!pf)
        _exit(3);
    run_in_process(o, make, path, name, pf, &res);
    fclose(pf);
    size_t dlen = strlen(res.diag);
    fprintf(f, "%d %zu %zu\n", res.r, dlen, plen);
    fwrite(res.diag, 1, dlen, f);
    fwrite(printed, 1, plen, f);
    _exit(fflush(f) == 0 && !ferror(f) ? 0 : 3);
}

/* Parent side: reads back what child_case left in f after the child exited
 * with status. A child that died or wrote nothing is a failed case. */
static void collect_case(FILE *f, int status, case_result *res)
{
    int r;
    size_t dlen, plen;
    rewind(f);
    res->r = -1;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
        fscanf(f, "%d %zu %zu", &r, &dlen, &plen) == 3 && fgetc(f) == '\n') {
        res->diag = calloc(1, dlen + 1);
        res->printed = calloc(1, plen + 1);
        if (!res->diag || !res->printed)
            abort();
        if (fread(res->diag, 1, dlen, f) == dlen && fread(res->printed, 1, plen, f) == plen) {
            res->r = r;
            res->printed_len = plen;
            return;
        }
    }
    free(res->diag);
    free(res->printed);
    res->printed = NULL;
    if (WIFSIGNALED(status)) {
        if (asprintf(&res->diag, "the case's process died of signal %d (%s)\n",
                     WTERMSIG(status), strsignal(WTERMSIG(status))) < 0)
            abort();
    } else {
        if (asprintf(&res->diag, "the case's process exited %d without a result\n",
                     WIFEXITED(status) ? WEXITSTATUS(status) : -1) < 0)
            abort();
    }
}

/* -j N: up to N cases at once, one process each, reported in the order given
 * as soon as every earlier one is in. */
static void run_parallel(const options *o, backend_factory make, const char **cases,
                         char **names, const size_t *todo, size_t nrun, case_result *res,
                         FILE *out, FILE *report, size_t *passed, size_t *failed,
                         size_t *skipped)
{
    FILE **files = calloc(nrun + 1, sizeof(*files));
    pid_t *pids = calloc(nrun + 1, sizeof(*pids));
    char *done = calloc(nrun + 1, 1);
    size_t next = 0, reported = 0, running = 0;
    if (!files || !pids || !done)
        abort();
    while (reported < nrun) {
        while (next < nrun && running < (size_t)o->jobs) {
            /* nothing buffered may reach the child: it would be written twice */
            fflush(out);
            fflush(report);
            files[next] = tmpfile();
            pid_t pid = files[next] ? fork() : -1;
            if (pid == 0)
                child_case(o, make, cases[todo[next]], names[todo[next]], files[next]);
            if (pid < 0) {
                /* no process: replay it here instead */
                if (files[next])
                    fclose(files[next]);
                files[next] = NULL;
                run_in_process(o, make, cases[todo[next]], names[todo[next]], out, &res[next]);
                done[next] = 1;
            } else {
                pids[next] = pid;
                running++;
            }
            next++;
        }
        if (running) {
            int status;
            pid_t pid = waitpid(-1, &status, 0);
            if (pid < 0 && errno == EINTR)
                continue;
            if (pid < 0)
                abort();
            for (size_t k = 0; k < next; k++) {
                if (pids[k] == pid && !done[k]) {
                    collect_case(files[k], status, &res[k]);
                    fclose(files[k]);
                    files[k] = NULL;
                    done[k] = 1;
                    running--;
                }
            }
        }
        while (reported < nrun && done[reported]) {
            if (res[reported].printed)
                fwrite(res[reported].printed, 1, res[reported].printed_len, out);
            report_case(o, report, reported + 1, names[todo[reported]], &res[reported],
                        passed, failed, skipped);
            reported++;
        }
    }
    free(files);
    free(pids);
    free(done);
}

static int wanted(const options *o, const char *name, size_t index)
{
    if (o->shard_n && index % o->shard_n != o->shard_k - 1)
        return 0;
    if (o->nonly == 0)
        return 1;
    for (size_t i = 0; i < o->nonly; i++)
        if (!strcmp(o->only[i], name))
            return 1;
    return 0;
}

int harness_main(int argc, char **argv, backend_factory make, FILE *out, FILE *errf)
{
    options o = { .backend = "sim", .golden_dir = "golden", .jobs = 1,
                  .lim = { CASE_DEFAULT_VALUE_BYTES, CASE_DEFAULT_MODEL_BYTES } };
    const char **cases = calloc((size_t)argc + 1, sizeof(*cases));
    o.only = calloc((size_t)argc + 1, sizeof(*o.only));
    o.defines = calloc((size_t)argc + 1, sizeof(*o.defines));
    size_t ncases = 0;
    int status = 2;
    if (!cases || !o.only || !o.defines)
        abort();

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--bless")) {
            o.bless = 1;
        } else if (!strcmp(a, "--tap")) {
            o.tap = 1;
        } else if (!strcmp(a, "--print")) {
            o.print = 1;
        } else if (!strcmp(a, "--self-check")) {
            o.self_check = 1;
        } else if (!strcmp(a, "--explore")) {
            o.explore = 1;
        } else if (!strcmp(a, "--budget") || !strcmp(a, "--explore-dir")) {
            char *end;
            if (i + 1 >= argc) {
                fprintf(errf, "harness: %s needs a value\n", a);
                goto done;
            }
            if (!strcmp(a, "--explore-dir")) {
                o.xo.dir = argv[++i];
            } else if ((o.xo.budget = strtol(argv[++i], &end, 10)) < 1 || *end) {
                fprintf(errf, "harness: --budget needs a positive number of schedules\n");
                goto done;
            }
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(out);
            status = 0;
            goto done;
        } else if (!strcmp(a, "--shard")) {
            char extra;
            if (i + 1 >= argc || sscanf(argv[i + 1], "%u/%u%c", &o.shard_k, &o.shard_n, &extra) != 2 ||
                o.shard_k < 1 || o.shard_k > o.shard_n) {
                fprintf(errf, "harness: --shard wants K/N with 1 <= K <= N\n");
                goto done;
            }
            i++;
        } else if (!strncmp(a, "-D", 2) && a[2]) {
            o.defines[o.ndefines++] = a + 2;
        } else if (!strncmp(a, "-j", 2) || !strcmp(a, "--jobs")) {
            if (parse_jobs(&o, argc, argv, &i, errf) < 0)
                goto done;
        } else if (!strcmp(a, "--nbd-clients")) {
            if (i + 1 >= argc || (strcmp(argv[i + 1], "real") && strcmp(argv[i + 1], "internal"))) {
                fprintf(errf, "harness: --nbd-clients needs 'internal' or 'real'\n");
                usage(errf);
                goto done;
            }
            o.real_nbd_clients = !strcmp(argv[++i], "real");
        } else if (!strcmp(a, "--backend") || !strcmp(a, "--golden-dir") || !strcmp(a, "--only") ||
                   !strcmp(a, "-D")) {
            if (i + 1 >= argc) {
                fprintf(errf, "harness: %s needs a value\n", a);
                usage(errf);
                goto done;
            }
            const char *v = argv[++i];
            if (!strcmp(a, "--backend"))
                o.backend = v;
            else if (!strcmp(a, "--golden-dir"))
                o.golden_dir = v;
            else if (!strcmp(a, "-D"))
                o.defines[o.ndefines++] = v;
            else
                o.only[o.nonly++] = v;
        } else if (!strcmp(a, "--max-value-size") || !strcmp(a, "--max-model-memory")) {
            uint64_t *lim = a[6] == 'v' ? &o.lim.value_bytes : &o.lim.model_bytes;
            if (i + 1 >= argc || parse_bytes(argv[i + 1], lim) < 0) {
                fprintf(errf, "harness: %s needs a positive number of bytes (K, M, G allowed)\n",
                        a);
                usage(errf);
                goto done;
            }
            i++;
        } else if (a[0] == '-' && a[1] == '-' && a[2] == '\0') {
            while (++i < argc)
                cases[ncases++] = argv[i];
        } else if (a[0] == '-') {
            fprintf(errf, "harness: unknown option %s\n", a);
            usage(errf);
            goto done;
        } else {
            cases[ncases++] = a;
        }
    }
    if (strcmp(o.backend, "sim") && strcmp(o.backend, "qemu")) {
        fprintf(errf, "harness: unknown backend '%s' (sim or qemu)\n", o.backend);
        goto done;
    }
    if (ncases == 0) {
        fprintf(errf, "harness: no case given\n");
        usage(errf);
        goto done;
    }

    if (o.explore) {
        if (strcmp(o.backend, "sim")) {
            fprintf(errf, "harness: --explore runs on the simulator only\n");
            goto done;
        }
        o.xo.defines = o.defines;
        o.xo.ndefines = o.ndefines;
        status = 0;
        for (size_t i = 0; i < ncases; i++) {
            int r = harness_explore(cases[i], &o.xo, make, out, errf);
            if (r > status)
                status = r;
        }
        goto done;
    }

    FILE *report = o.print ? errf : out;
    char **names = calloc(ncases, sizeof(*names));
    size_t nrun = 0, passed = 0, failed = 0, skipped = 0;
    if (!names)
        abort();
    for (size_t i = 0; i < ncases; i++) {
        names[i] = case_name(cases[i]);
        if (wanted(&o, names[i], i))
            nrun++;
    }
    for (size_t k = 0; k < o.nonly; k++) {
        int found = 0;
        for (size_t i = 0; i < ncases; i++)
            found |= !strcmp(names[i], o.only[k]);
        if (!found)
            fprintf(errf, "harness: --only %s matches no case given\n", o.only[k]);
    }
    if (o.tap)
        fprintf(report, "1..%zu\n", nrun);
    size_t *todo = calloc(nrun + 1, sizeof(*todo)), num = 0;
    if (!todo)
        abort();
    for (size_t i = 0; i < ncases; i++)
        if (wanted(&o, names[i], i))
            todo[num++] = i;
    case_result *res = calloc(nrun + 1, sizeof(*res));
    if (!res)
        abort();
    if (o.jobs > 1) {
        run_parallel(&o, make, cases, names, todo, nrun, res, out, report, &passed, &failed,
                     &skipped);
    } else {
        for (size_t k = 0; k < nrun; k++) {
            run_in_process(&o, make, cases[todo[k]], names[todo[k]], out, &res[k]);
            report_case(&o, report, k + 1, names[todo[k]], &res[k], &passed, &failed, &skipped);
        }
    }
    free(todo);
    free(res);
    if (skipped)
        fprintf(report, "%zu passed, %zu failed, %zu skipped\n", passed, failed, skipped);
    else
        fprintf(report, "%zu passed, %zu failed\n", passed, failed);
    status = failed ? 1 : 0;
    for (size_t i = 0; i < ncases; i++)
        free(names[i]);
    free(names);
done:
    free(cases);
    free(o.only);
    free(o.defines);
    return status;
}
