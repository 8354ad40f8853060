/* SPDX-License-Identifier: GPL-2.0-or-later */
/* casegen: the same seed gives the same case, every case parses, the
 * coverage report counts what the cases use. (That the cases pass their own
 * checks on the simulator is make gencheck's job.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/casegen/casegen.h"
#include "harness/case.h"

static char *gen_text(uint64_t seed, unsigned index, const char *profile, cg_cover *cov)
{
    sbuf b = {0};
    cg_generate(seed, index, profile, &b, cov);
    return sbuf_take(&b);
}

static void test_same_seed_same_case(void **state)
{
    for (unsigned i = 0; i < 20; i++) {
        char *a = gen_text(42, i, "mixed", NULL), *b = gen_text(42, i, "mixed", NULL);
        assert_string_equal(a, b);
        char *c = gen_text(43, i, "mixed", NULL), *d = gen_text(42, i + 1, "mixed", NULL);
        assert_string_not_equal(a, c);
        assert_string_not_equal(a, d);
        free(a);
        free(b);
        free(c);
        free(d);
    }
}

static void test_cases_parse(void **state)
{
    for (int p = 0; cg_profiles[p]; p++) {
        for (unsigned i = 0; i < 100; i++) {
            char *text = gen_text(7, i, cg_profiles[p], NULL), *err = NULL;
            program *prog = case_parse_string("gen.case", text, &err);
            if (!prog)
                fail_msg("profile %s case %u: %s\n%s", cg_profiles[p], i, err, text);
            /* a case is a setup, steps and the final checks */
            assert_non_null(strstr(text, "# step 0: setup\n"));
            assert_non_null(strstr(text, ": final checks\n"));
            case_free(prog);
            free(text);
        }
    }
}

static unsigned long count_of(const cg_cover_item *v, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v[i].name, name))
            return v[i].count;
    return 0;
}

static void test_coverage(void **state)
{
    cg_cover cov = {0};
    unsigned long backups = 0;
    for (unsigned i = 0; i < 300; i++) {
        char *text = gen_text(1, i, "mixed", &cov);
        for (const char *p = text; (p = strstr(p, "qmp_log blockdev-backup ")); p++)
            backups++;
        free(text);
    }
    /* every emitted blockdev-backup is counted (plus the auto-finalized runs) */
    assert_true(count_of(cov.commands, cov.ncommands, "blockdev-backup") >= backups);
    assert_true(backups > 100);
    assert_true(cov.ncommands >= 18);
    assert_true(count_of(cov.options, cov.noptions, "sync=bitmap bitmap-mode=always") > 0);
    assert_true(count_of(cov.options, cov.noptions, "outcome=read-error") > 0);
    assert_true(count_of(cov.options, cov.noptions, "outcome=write-error") > 0);
    /* external snapshots, active commit, a running job paused (twice) and resumed */
    assert_true(count_of(cov.commands, cov.ncommands, "blockdev-snapshot") > 0);
    assert_true(count_of(cov.commands, cov.ncommands, "block-commit") > 0);
    assert_true(count_of(cov.options, cov.noptions, "pause a running job") > 0);
    assert_true(count_of(cov.options, cov.noptions, "error: pause a paused job") > 0);
    assert_true(count_of(cov.options, cov.noptions, "resume a paused job") > 0);
    assert_true(count_of(cov.options, cov.noptions, "blkdebug source write error") > 0);
    assert_true(count_of(cov.options, cov.noptions,
                         "transaction: completion-mode=grouped backup") > 0);
    sbuf rep = {0};
    cg_cover_report(&cov, &rep);
    char want[96];
    snprintf(want, sizeof(want), "coverage: %zu distinct QMP commands, %zu distinct options\n",
             cov.ncommands, cov.noptions);
    assert_non_null(strstr(sbuf_str(&rep), want));
    assert_non_null(strstr(sbuf_str(&rep), "\ncommand blockdev-create "));
    sbuf_free(&rep);
    cg_cover_free(&cov);
    assert_int_equal(cov.ncommands, 0);
}

/* The jobs profile draws the surface of casegen_jobs.c and casegen_graph.c. */
static void test_jobs_coverage(void **state)
{
    cg_cover cov = {0};
    for (unsigned i = 0; i < 300; i++)
        free(gen_text(1, i, "jobs", &cov));
    static const char *const commands[] = {
        "drive-mirror", "block_resize", "blockdev-reopen", "job-finalize", "job-dismiss",
        "block-job-set-speed", "job-pause", "blockdev-snapshot", "transaction", "blockdev-mirror",
    };
    for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++)
        if (!count_of(cov.commands, cov.ncommands, commands[k]))
            fail_msg("jobs profile never draws %s", commands[k]);
    static const char *const options[] = {
        "transaction: 3 blockdev-backup, completion-mode=grouped",
        "transaction: a job fails, the others cancelled",
        "transaction: two backups of drive0",
        "on-target-error=stop in a transaction",
        "resume a job stopped by its error policy",
        "cancel a paused job", "auto-dismiss=false", "query-jobs while concluded",
        "x-perf max-workers>1", "x-perf max-chunk", "x-perf use-copy-range=true",
        "mirror cancelled in ready (soft)", "mirror paused in ready (standby)",
        "block_resize shrink", "block_resize grow", "blockdev-reopen read-only",
        "fleecing: read through snapshot-access (written since)",
        "external snapshot (blockdev-snapshot)", "sync=bitmap bitmap-mode=never",
    };
    for (size_t k = 0; k < sizeof(options) / sizeof(options[0]); k++)
        if (!count_of(cov.options, cov.noptions, options[k]))
            fail_msg("jobs profile never draws '%s'", options[k]);
    cg_cover_free(&cov);
}

static void test_profiles(void **state)
{
    assert_int_equal(cg_profile_valid("mixed"), 0);
    assert_true(cg_profile_valid("api") > 0);
    assert_int_equal(cg_profile_valid("nope"), -1);
    /* the bitmaps profile runs no backup job (only refused ones) */
    for (unsigned i = 0; i < 50; i++) {
        char *text = gen_text(3, i, "bitmaps", NULL);
        assert_null(strstr(text, "run_job \"j"));
        free(text);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_seed_same_case),
        cmocka_unit_test(test_cases_parse),
        cmocka_unit_test(test_coverage),
        cmocka_unit_test(test_jobs_coverage),
        cmocka_unit_test(test_profiles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
