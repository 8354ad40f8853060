/* SPDX-License-Identifier: GPL-2.0-or-later */
/* harness --explore on the simulator: the schedules it counts, the distinct
 * transcripts, an injected error that does not land, the budget. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/cli.h"
#include "harness/explore.h"

static const char *const small_case =
    "let FMT = \"qcow2\"\n"
    "let SIZE = 1048576\n"
    "files img t\n"
    "img_create $FMT $img $SIZE\n"
    "img_create $FMT $t $SIZE\n"
    "launch\n"
    "qmp blockdev-add {\"node-name\": \"drive0\", \"driver\": $FMT, \"file\": "
    "{\"driver\": \"blkdebug\", \"image\": {\"driver\": \"file\", \"filename\": $img}, "
    "\"inject-error\": [{\"event\": \"read_aio\", \"errno\": 5, \"once\": true}]}}\n"
    "group 0 = 0x11@0:0x10000 0x22@0x80000:0x10000\n"
    "write \"drive0\" 0\n"
    "qmp blockdev-add {\"node-name\": \"t\", \"driver\": $FMT, \"file\": "
    "{\"driver\": \"file\", \"filename\": $t}}\n"
    "qmp blockdev-backup {\"device\": \"drive0\", \"target\": \"t\", \"sync\": \"full\", "
    "\"job-id\": \"j\", \"x-perf\": {\"max-workers\": 1}}\n"
    "run_job \"j\"\n";

static char *explore(const char *text, long budget, int *status)
{
    char path[] = "/tmp/explore-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    explore_opts o = { .budget = budget };
    char *out = NULL, *err = NULL;
    size_t olen, elen;
    FILE *fo = open_memstream(&out, &olen), *fe = open_memstream(&err, &elen);
    *status = harness_explore(path, &o, harness_backend_new, fo, fe);
    fclose(fo);
    fclose(fe);
    unlink(path);
    free(err);
    /* the report names the case by its (random) path: drop the first line's head */
    char *colon = strstr(out, ": ");
    char *r = strdup(colon ? colon + 2 : out);
    free(out);
    return r;
}

static void test_schedules(void **state)
{
    int status;
    char *r = explore(small_case, 0, &status);
    /* baseline: blkdebug fails the first job read; the job reads nothing
     * more, and writes the zero run before it */
    assert_non_null(strstr(r, "1 job reads, 0 job writes, 1 injected errors, 0 placements of 0 "
                              "guest writes; budget 4000)\n"));
    assert_non_null(strstr(r, "3 schedules ("));
    assert_non_null(strstr(r, "distinct transcripts: 2\n"));
    assert_non_null(strstr(r, "  #1: 2 schedules, e.g. baseline (nothing changed)\n"));
    /* the read the schedule fails is the one blkdebug already fails: same
     * transcript; the error that does not land lets the job finish */
    assert_non_null(strstr(r, "  #2: 1 schedule, e.g. injected error 1 does not land; "
                              "first difference at line "));
    assert_int_equal(status, 0);
    free(r);

    /* without the injected error: every job read and write can fail */
    char *plain = strdup(small_case);
    char *bd = strstr(plain, "{\"driver\": \"blkdebug\"");
    assert_non_null(bd);
    const char *file = "{\"driver\": \"file\", \"filename\": $img}}\n";
    char *end = strstr(bd, "}}\n") + 3;
    memmove(bd + strlen(file), end, strlen(end) + 1);
    memcpy(bd, file, strlen(file));
    r = explore(plain, 0, &status);
    long reads, writes;
    assert_int_equal(sscanf(strstr(r, "schedules (") + 11, "%ld job reads, %ld job writes",
                            &reads, &writes), 2);
    assert_true(reads >= 2 && writes >= 2);
    assert_non_null(strstr(r, "e.g. job read 1 fails (EIO); first difference at line "));
    assert_non_null(strstr(r, "\"operation\": \"write\""));
    free(r);
    /* a budget of 1: the baseline and one sampled schedule */
    r = explore(plain, 1, &status);
    assert_non_null(strstr(r, "2 schedules ("));
    assert_non_null(strstr(r, ", sampled; budget 1)"));
    free(r);
    free(plain);
}

/* A guest write while the job is pending, tried before each of the job's
 * copies: copy-before-write keeps the transcript the same everywhere. */
static void test_write_placements(void **state)
{
    static const char *const text =
        "let FMT = \"qcow2\"\n"
        "let SIZE = 4194304\n"
        "files img t\n"
        "img_create $FMT $img $SIZE\n"
        "img_create $FMT $t $SIZE\n"
        "launch\n"
        "qmp blockdev-add {\"node-name\": \"drive0\", \"driver\": $FMT, \"file\": "
        "{\"driver\": \"file\", \"filename\": $img}}\n"
        "group 0 = 0x11@0:0x10000 0x22@0x300000:0x10000\n"
        "write \"drive0\" 0\n"
        "qmp blockdev-add {\"node-name\": \"t\", \"driver\": $FMT, \"file\": "
        "{\"driver\": \"file\", \"filename\": $t}}\n"
        "qmp_log blockdev-backup {\"device\": \"drive0\", \"target\": \"t\", \"sync\": \"full\", "
        "\"job-id\": \"j\", \"auto-finalize\": false, \"filter-node-name\": \"backup-top\", "
        "\"x-perf\": {\"max-workers\": 1}}\n"
        "group 1 = 0x33@0x300000:0x1000\n"
        "proc hook\n"
        "    write \"backup-top\" 1\n"
        "    bitmaps\n"
        "end\n"
        "run_job \"j\" auto_finalize=false pre_finalize=hook\n";
    int status;
    char *r = explore(text, 0, &status);
    /* six job writes (the two data runs and the zero runs), the hook's
     * write movable to before each */
    assert_non_null(strstr(r, "6 job writes, 0 injected errors, 6 placements of 1 guest writes;"));
    assert_non_null(strstr(r, "  #1: 7 schedules, e.g. baseline (nothing changed)\n"));
    assert_null(strstr(r, "e.g. guest write"));
    assert_int_equal(status, 0);
    free(r);
}

static void test_not_explorable(void **state)
{
    int status;
    char *r = explore("log $nope\n", 0, &status);
    /* a case that stops: the stopping point is its transcript */
    assert_non_null(strstr(r, "1 schedules (0 job reads, 0 job writes, 0 injected errors, 0 "
                              "placements"));
    free(r);
    explore_opts o = {0};
    FILE *devnull = fopen("/dev/null", "w");
    assert_int_equal(harness_explore("/nonexistent.case", &o, harness_backend_new, devnull,
                                     devnull), 2);
    fclose(devnull);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schedules),
        cmocka_unit_test(test_write_placements),
        cmocka_unit_test(test_not_explorable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
