/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "harness/cli.h"
#include "harness/case.h"
#include "harness/diff.h"
#include "harness/interp.h"
#include "harness/sbuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* How long run_job waits for one event (iotests' default wait). */
#define EVENT_TIMEOUT_S 60.0

typedef struct options {
    const char *backend;
    const char *golden_dir;
    int bless, tap, print;
    int self_check;             /* no golden: the case's own checks decide */
    const char **only;
    size_t nonly;
    unsigned shard_k, shard_n;  /* --shard K/N: cases K-1, K-1+N, ... of those given */
    const char **defines;       /* -D NAME=VALUE, in order */
    size_t ndefines;
} options;

static void usage(FILE *f)
{
    fputs("usage: harness [--backend sim|qemu] [--bless] [--tap] [--golden-dir DIR]\n"
          "               [--print] [--only NAME]... [-D NAME=VALUE]... CASE...\n"
          "Replays each CASE (a cases/*.case file) and compares its transcript with\n"
          "DIR/NAME.out (default DIR: golden), NAME being the file name without .case.\n"
          "  --bless   write the transcripts as the new goldens instead of comparing\n"
          "  --print   write the transcripts to standard output (reports go to stderr)\n"
          "  --self-check  compare with no golden: a case passes when it runs to its\n"
          "            end and no line of its transcript ends in ERROR! (generated cases)\n"
          "  --tap     report in TAP\n"
          "  --only    run only the named cases (repeatable)\n"
          "  --shard K/N  run only cases K-1, K-1+N, K-1+2N, ... of those given (a CI\n"
          "            matrix of N jobs covers a batch once)\n"
          "  -D NAME=VALUE  every top-level 'let NAME' binds VALUE (an expression,\n"
          "            e.g. -D GRAN=32768 -D 'FMT=\"raw\"') instead; repeatable\n", f);
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

static char *read_file(const char *path, int *missing)
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
    int rr = case_run(prog, be, EVENT_TIMEOUT_S, &transcript, &err);
    be->ops->destroy(be);
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
    golden = read_file(golden_path, &missing);
    if (!golden) {
        sbuf_printf(diag, "%s: %s\n", golden_path,
                    missing ? "no golden transcript (run with --bless to create it)"
                            : "cannot be read");
        goto out;
    }
    char *label;
    if (asprintf(&label, "%s (%s backend)", name, o->backend) < 0)
        abort();
    char *d = diff_unified(golden, transcript, golden_path, label, 3);
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
    options o = { .backend = "sim", .golden_dir = "golden" };
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

    FILE *report = o.print ? errf : out;
    char **names = calloc(ncases, sizeof(*names));
    size_t nrun = 0, passed = 0, failed = 0;
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
    size_t num = 0;
    for (size_t i = 0; i < ncases; i++) {
        if (!wanted(&o, names[i], i))
            continue;
        sbuf diag = {0};
        int r = run_case(&o, make, cases[i], names[i], out, &diag);
        num++;
        if (r == 0)
            passed++;
        else
            failed++;
        if (o.tap)
            fprintf(report, "%sok %zu - %s\n", r == 0 ? "" : "not ", num, names[i]);
        else
            fprintf(report, "%s %s\n", r == 0 ? "PASS" : "FAIL", names[i]);
        note(report, &o, sbuf_str(&diag));
        sbuf_free(&diag);
    }
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
