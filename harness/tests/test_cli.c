/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The harness command line, run in-process with the fake backend. */
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

#include "harness/cli.h"
#include "harness/tests/fake_backend.h"

static char dir[64];
static int factory_fails;

static bs_backend *factory(const char *name, char **err)
{
    if (factory_fails) {
        *err = strdup("no such machine");
        return NULL;
    }
    return &fake_new()->base;
}

static void put(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static char *get(const char *name)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    static char buf[4096];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Runs the harness with "args" (space-separated; @ stands for the temp
 * dir); returns the status, stdout and stderr texts in out/err. */
static int run(const char *args, char **out, char **err)
{
    char *argv[32], buf[1024];
    int argc = 0;
    static char expanded[32][256];
    argv[argc++] = "harness";
    snprintf(buf, sizeof(buf), "%s", args);
    for (char *tok = strtok(buf, " "); tok; tok = strtok(NULL, " ")) {
        char *at = strchr(tok, '@');
        if (at)
            snprintf(expanded[argc], sizeof(expanded[argc]), "%.*s%s%s", (int)(at - tok), tok,
                     dir, at + 1);
        else
            snprintf(expanded[argc], sizeof(expanded[argc]), "%s", tok);
        argv[argc] = expanded[argc];
        argc++;
    }
    argv[argc] = NULL;
    size_t olen, elen;
    FILE *fo = open_memstream(out, &olen), *fe = open_memstream(err, &elen);
    int r = harness_main(argc, argv, factory, fo, fe);
    fclose(fo);
    fclose(fe);
    return r;
}

static int setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/harness-cli-XXXXXX");
    assert_non_null(mkdtemp(dir));
    put("a.case", "log \"hello\"\nlog 1\n");
    put("b.case", "log \"world\"\n");
    put("bad.case", "log x\n");
    put("rt.case", "log \"partial\"\nlog $nope\n");
    factory_fails = 0;
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_usage(void **state)
{
    char *out, *err;
    assert_int_equal(run("--help", &out, &err), 0);
    assert_non_null(strstr(out, "usage: harness"));
    free(out);
    free(err);
    assert_int_equal(run("", &out, &err), 2);
    assert_non_null(strstr(err, "harness: no case given\n"));
    free(out);
    free(err);
    assert_int_equal(run("--frob x", &out, &err), 2);
    assert_non_null(strstr(err, "harness: unknown option --frob\n"));
    free(out);
    free(err);
    assert_int_equal(run("--backend", &out, &err), 2);
    assert_non_null(strstr(err, "harness: --backend needs a value\n"));
    free(out);
    free(err);
    assert_int_equal(run("--backend vbox @/a.case", &out, &err), 2);
    assert_string_equal(err, "harness: unknown backend 'vbox' (sim or qemu)\n");
    free(out);
    free(err);
}

static void test_bless_then_pass(void **state)
{
    char *out, *err;
    assert_int_equal(run("--golden-dir @ --bless @/a.case", &out, &err), 0);
    assert_non_null(strstr(out, "PASS a\nblessed "));
    assert_non_null(strstr(out, "1 passed, 0 failed\n"));
    assert_string_equal(get("a.out"), "hello\n1\n");
    free(out);
    free(err);
    assert_int_equal(run("--golden-dir @ @/a.case", &out, &err), 0);
    assert_string_equal(out, "PASS a\n1 passed, 0 failed\n");
    free(out);
    free(err);
    /* TAP */
    assert_int_equal(run("--tap --golden-dir @ --backend qemu @/a.case", &out, &err), 0);
    assert_string_equal(out, "1..1\nok 1 - a\n1 passed, 0 failed\n");
    free(out);
    free(err);
}

static void test_failures(void **state)
{
    char *out, *err;
    put("b.out", "word\n");
    assert_int_equal(run("--tap --golden-dir @ @/a.case @/b.case @/bad.case -- @/rt.case", &out,
                         &err), 1);
    char want[2048];
    snprintf(want, sizeof(want),
             "1..4\n"
             "not ok 1 - a\n"
             "# %s/a.out: no golden transcript (run with --bless to create it)\n"
             "not ok 2 - b\n"
             "# --- %s/b.out\n# +++ b (sim backend)\n# @@ -1 +1 @@\n# -word\n# +world\n"
             "not ok 3 - bad\n"
             "# %s/bad.case:1:5: error: expected an expression, found word 'x' (variables "
             "need '$', strings quotes)\n"
             "not ok 4 - rt\n"
             "# %s/rt.case:2:5: runtime error: undefined variable 'nope'\n"
             "# %s/rt.out: no golden transcript (run with --bless to create it)\n"
             "0 passed, 4 failed\n", dir, dir, dir, dir, dir);
    assert_string_equal(out, want);
    free(out);
    free(err);
    /* a runtime error is never blessed */
    assert_int_equal(run("--golden-dir @ --bless @/rt.case", &out, &err), 1);
    assert_non_null(strstr(out, "not blessing"));
    assert_null(get("rt.out"));
    free(out);
    free(err);
    /* a runtime error fails even when the partial transcript matches */
    put("rt.out", "partial\n");
    assert_int_equal(run("--golden-dir @ @/rt.case", &out, &err), 1);
    free(out);
    free(err);
    /* unwritable golden directory */
    assert_int_equal(run("--golden-dir /nonexistent/dir --bless @/a.case", &out, &err), 1);
    assert_non_null(strstr(out, "cannot write /nonexistent/dir/a.out"));
    free(out);
    free(err);
    /* unreadable golden (a directory) */
    char path[256];
    snprintf(path, sizeof(path), "%s/d.out", dir);
    mkdir(path, 0700);
    put("d.case", "log 1\n");
    assert_int_equal(run("--golden-dir @ @/d.case", &out, &err), 1);
    assert_non_null(strstr(out, "d.out: cannot be read"));
    free(out);
    free(err);
    /* backend construction failure */
    factory_fails = 1;
    assert_int_equal(run("--golden-dir @ @/a.case", &out, &err), 1);
    assert_non_null(strstr(out, "sim backend: no such machine"));
    free(out);
    free(err);
}

static void test_print_and_only(void **state)
{
    char *out, *err;
    put("b.out", "world\n");
    assert_int_equal(run("--print --only b --only zz --golden-dir @ @/a.case @/b.case", &out,
                         &err), 0);
    assert_string_equal(out, "world\n");
    assert_string_equal(err, "harness: --only zz matches no case given\nPASS b\n"
                             "1 passed, 0 failed\n");
    free(out);
    free(err);
    /* a path without .case keeps its whole name */
    put("plain", "log 2\n");
    put("plain.out", "2\n");
    assert_int_equal(run("--golden-dir @ plain", &out, &err), 1);
    free(out);
    free(err);
    assert_int_equal(run("--golden-dir @ @/plain", &out, &err), 0);
    free(out);
    free(err);
}

/* --shard K/N, --self-check and -D, the options generated batches use */
static void test_shard_self_check_define(void **state)
{
    char *out, *err;
    put("c.case", "let X = 1\nlog \"x=${X}\"\n");
    put("oracle.case", "log \"= check =\"\nlog \"expecting 1; have 2. ERROR!\"\n");
    /* no goldens exist: --self-check passes what runs to its end */
    assert_int_equal(run("--self-check --shard 1/2 @/a.case @/b.case @/c.case", &out, &err), 0);
    assert_string_equal(out, "PASS a\nPASS c\n2 passed, 0 failed\n");
    free(out);
    free(err);
    assert_int_equal(run("--self-check --shard 2/2 @/a.case @/b.case @/c.case", &out, &err), 0);
    assert_string_equal(out, "PASS b\n1 passed, 0 failed\n");
    free(out);
    free(err);
    assert_int_equal(run("--self-check @/oracle.case @/rt.case", &out, &err), 1);
    assert_non_null(strstr(out, "FAIL oracle\ntranscript line 2: expecting 1; have 2. ERROR!\n"));
    assert_non_null(strstr(out, "FAIL rt\n"));
    free(out);
    free(err);
    const char *bad[] = { "--shard 0/2", "--shard 3/2", "--shard 1", "--shard 1/2x", "--shard" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char args[64];
        snprintf(args, sizeof(args), "%s @/a.case", bad[i]);
        assert_int_equal(run(args, &out, &err), 2);
        assert_string_equal(err, "harness: --shard wants K/N with 1 <= K <= N\n");
        free(out);
        free(err);
    }
    assert_int_equal(run("--print --self-check -D X=41+1 @/c.case", &out, &err), 0);
    assert_string_equal(out, "x=42\n");
    free(out);
    free(err);
    assert_int_equal(run("--print --self-check -DX=7 @/c.case", &out, &err), 0);
    assert_string_equal(out, "x=7\n");
    free(out);
    free(err);
    assert_int_equal(run("--self-check -D Y=1 @/c.case", &out, &err), 1);
    assert_non_null(strstr(out, "has no top-level 'let Y'"));
    free(out);
    free(err);
}

/* -j N: the same report and transcripts, in the order of the cases given. */
static void test_jobs(void **state)
{
    char *out1, *err1, *out, *err;
    /* -j's children end with _exit holding the parent's heap, which
     * valgrind counts as their leaks (make memcheck sets this) */
    if (getenv("BLOCKSIM_UNDER_VALGRIND"))
        skip();
    put("b.out", "word\n");
    put("a.out", "hello\n1\n");
    const char *cases = "--tap --golden-dir @ @/a.case @/b.case @/bad.case @/rt.case @/a.case";
    char args[512];
    assert_int_equal(run(cases, &out1, &err1), 1);
    for (int j = 2; j <= 8; j += 3) {
        snprintf(args, sizeof(args), "-j %d %s", j, cases);
        assert_int_equal(run(args, &out, &err), 1);
        assert_string_equal(out, out1);
        assert_string_equal(err, err1);
        free(out);
        free(err);
    }
    free(out1);
    free(err1);
    /* transcripts (--print) come out whole, in order */
    assert_int_equal(run("--print --golden-dir @ -j2 @/b.case @/a.case @/b.case", &out, &err), 1);
    assert_string_equal(out, "world\nhello\n1\nworld\n");
    assert_non_null(strstr(err, "FAIL b\n"));
    assert_non_null(strstr(err, "PASS a\n"));
    assert_non_null(strstr(err, "1 passed, 2 failed\n"));
    free(out);
    free(err);
    assert_int_equal(run("--jobs 3 --golden-dir @ @/a.case", &out, &err), 0);
    assert_string_equal(out, "PASS a\n1 passed, 0 failed\n");
    free(out);
    free(err);
    /* bad numbers */
    const char *bad[] = { "-j 0 @/a.case", "-jx @/a.case", "-j 5000 @/a.case", "-j -1 @/a.case" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(run(bad[i], &out, &err), 2);
        assert_non_null(strstr(err, "harness: -j needs a number of processes from 1 to 1024"));
        free(out);
        free(err);
    }
    assert_int_equal(run("-j", &out, &err), 2);
    assert_non_null(strstr(err, "harness: -j needs a value\n"));
    free(out);
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_usage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bless_then_pass, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_print_and_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shard_self_check_define, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jobs, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
