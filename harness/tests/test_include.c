/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Composable cases: `include FILE`, `-D NAME=VALUE` (case_define) and the
 * empty write group, parsed from real files and run on the fake backend. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness/case.h"
#include "harness/interp.h"
#include "harness/tests/fake_backend.h"

static char dir[] = "/tmp/harness-include-XXXXXX";

static char *path_of(const char *name)
{
    char *p;
    if (asprintf(&p, "%s/%s", dir, name) < 0)
        abort();
    return p;
}

static void put(const char *name, const char *text)
{
    char *p = path_of(name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    free(p);
}

/* Parses dir/name, applies the definitions, runs it; returns the transcript
 * (or "PARSE: err" / "DEFINE: err" / transcript + "RUNTIME: err"). */
static char *outcome(const char *name, const char **defs, size_t ndefs)
{
    char *p = path_of(name), *err = NULL, *out = NULL, *res;
    program *prog = case_parse_file(p, &err);
    free(p);
    if (!prog) {
        if (asprintf(&res, "PARSE: %s", err) < 0)
            abort();
        free(err);
        return res;
    }
    for (size_t i = 0; i < ndefs; i++) {
        if (case_define(prog, defs[i], &err) < 0) {
            if (asprintf(&res, "DEFINE: %s", err) < 0)
                abort();
            free(err);
            case_free(prog);
            return res;
        }
    }
    fake_backend *f = fake_new();
    int r = case_run(prog, &f->base, 1.0, &out, &err);
    f->base.ops->destroy(&f->base);
    case_free(prog);
    if (asprintf(&res, "%s%s%s", out, r ? "RUNTIME: " : "", r ? err : "") < 0)
        abort();
    free(out);
    free(err);
    return res;
}

static void expect(const char *name, const char **defs, size_t ndefs, const char *want_fmt)
{
    char *got = outcome(name, defs, ndefs), *want;
    /* want_fmt may name the directory as %1$s */
    if (asprintf(&want, want_fmt, dir) < 0)
        abort();
    if (strcmp(got, want))
        fail_msg("got:\n%s\nwant:\n%s", got, want);
    free(got);
    free(want);
}

static void test_include_brings_procs_and_params(void **state)
{
    put("sub/lib.inc", "let A = 1\n"
                       "proc show x\n    log \"${A} ${B} ${x}\"\nend\n");
    put("sub/main.case", "let B = 2\ninclude \"lib.inc\"\ncall show 3\n");
    expect("sub/main.case", NULL, 0, "1 2 3\n");
    /* a procedure may be used before the include that defines it */
    put("early.case", "proc go\n    call show 0\nend\nlet B = 5\ninclude \"sub/lib.inc\"\ncall go\n");
    expect("early.case", NULL, 0, "1 5 0\n");
    /* the included file's parameters run where the include stands */
    put("order.case", "include \"sub/lib.inc\"\nlet A = 9\nlet B = 8\ncall show 7\n");
    expect("order.case", NULL, 0, "9 8 7\n");
}

static void test_include_errors(void **state)
{
    put("cyc_a.inc", "include \"cyc_b.inc\"\n");
    put("cyc_b.inc", "log 1\ninclude \"cyc_a.inc\"\n");
    put("cycle.case", "include \"cyc_a.inc\"\n");
    expect("cycle.case", NULL, 0,
           "PARSE: %1$s/cyc_b.inc:2:1: error: include cycle: %1$s/cyc_a.inc is already being "
           "included\n%1$s/cyc_a.inc:1:1: note: included from here\n"
           "%1$s/cycle.case:1:1: note: included from here");
    put("self.case", "include \"self.case\"\n");
    expect("self.case", NULL, 0,
           "PARSE: %1$s/self.case:1:1: error: include cycle: %1$s/self.case is already being "
           "included");

    put("bad.inc", "proc p\n    log x\nend\n");
    put("bad.case", "log 1\ninclude \"bad.inc\"\n");
    expect("bad.case", NULL, 0,
           "PARSE: %1$s/bad.inc:2:9: error: expected an expression, found word 'x' (variables "
           "need '$', strings quotes)\n%1$s/bad.case:2:1: note: included from here");

    put("missing.case", "\n  include \"nope.inc\"\n");
    expect("missing.case", NULL, 0,
           "PARSE: %1$s/missing.case:2:3: error: cannot include %1$s/nope.inc: cannot open: "
           "No such file or directory");
    put("var.case", "include \"${x}\"\n");
    expect("var.case", NULL, 0,
           "PARSE: %1$s/var.case:1:9: error: include needs a file name as a plain string, "
           "found a string");
    put("nested.case", "if 1\n    include \"bad.inc\"\nend\n");
    expect("nested.case", NULL, 0,
           "PARSE: %1$s/nested.case:2:5: error: include must be at top level");
    /* a call in the included file to an unknown procedure names that file */
    put("unknown.inc", "\ncall nowhere\n");
    put("unknown.case", "include \"unknown.inc\"\n");
    expect("unknown.case", NULL, 0,
           "PARSE: %1$s/unknown.inc:2:1: error: call of unknown procedure 'nowhere'");
    /* two files defining one procedure */
    put("dup.case", "proc show x\nend\ninclude \"sub/lib.inc\"\n");
    expect("dup.case", NULL, 0,
           "PARSE: %1$s/sub/lib.inc:2:6: error: procedure 'show' already defined at line 1\n"
           "%1$s/dup.case:3:1: note: included from here");
}

static void test_runtime_error_names_included_file(void **state)
{
    put("rt.inc", "proc boom\n    log $undefined\nend\n");
    put("rt.case", "include \"rt.inc\"\nlog \"a\"\ncall boom\n");
    expect("rt.case", NULL, 0,
           "a\nRUNTIME: %1$s/rt.inc:2:9: runtime error: undefined variable 'undefined'");
    /* back in the case after the call, errors name the case again */
    put("rt2.inc", "proc fine\nend\n");
    put("rt2.case", "include \"rt2.inc\"\ncall fine\nlog $nope\n");
    expect("rt2.case", NULL, 0,
           "RUNTIME: %1$s/rt2.case:3:5: runtime error: undefined variable 'nope'");
}

static void test_define(void **state)
{
    put("params.inc", "let SIZE = 1024\nproc show\n    log \"${FMT} ${SIZE} ${N}\"\nend\n");
    put("def.case", "let FMT = \"qcow2\"\nlet N = 4\ninclude \"params.inc\"\n"
                    "group 0 = 1@($N * 2):1\nlog $N\ncall show\n"
                    "proc inner\n    let N = 99\n    log $N\nend\ncall inner\n");
    expect("def.case", NULL, 0, "4\nqcow2 1024 4\n99\n");
    const char *defs[] = { "FMT=\"raw\"", "N=2 * 3", "SIZE=8 * 1024 * 1024 * 1024" };
    /* top-level lets change (also the included one); a let inside a procedure does not */
    expect("def.case", defs, 3, "6\nraw 8589934592 6\n99\n");

    const char *unknown[] = { "NOPE=1" };
    expect("def.case", unknown, 1, "DEFINE: -D NOPE: %1$s/def.case has no top-level 'let NOPE'");
    const char *malformed[] = { "=1" };
    expect("def.case", malformed, 1,
           "DEFINE: -D =1: expected NAME=VALUE (VALUE an expression: 32768, '\"raw\"', "
           "'8 * 1024 * 1024')");
    const char *bare[] = { "FMT=raw" };
    expect("def.case", bare, 1,
           "DEFINE: -D FMT:1:11: error: expected an expression, found word 'raw' (variables "
           "need '$')");
    const char *two[] = { "N=1\nlog 2" };
    expect("def.case", two, 1, "DEFINE: -D N: the value must be one expression");

    /* the same name defined twice at top level: both lets take the value */
    put("twice.case", "let N = 1\nlog $N\nlet N = 2\nlog $N\n");
    const char *seven[] = { "N=7" };
    expect("twice.case", seven, 1, "7\n7\n");
}

static void test_empty_group(void **state)
{
    put("empty.case", "group 2 =\nmodel m new 65536\nmodel m dirty 2\nwrite \"drive0\" 2\n"
                      "log \"done\"\n");
    expect("empty.case", NULL, 0, "done\n");
}

static int setup(void **state)
{
    if (!mkdtemp(dir))
        return -1;
    char *sub = path_of("sub");
    int r = mkdir(sub, 0700);
    free(sub);
    return r;
}

static int teardown(void **state)
{
    char *cmd;
    if (asprintf(&cmd, "rm -rf '%s'", dir) < 0)
        abort();
    int r = system(cmd);
    free(cmd);
    return r == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_include_brings_procs_and_params),
        cmocka_unit_test(test_include_errors),
        cmocka_unit_test(test_runtime_error_names_included_file),
        cmocka_unit_test(test_define),
        cmocka_unit_test(test_empty_group),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
