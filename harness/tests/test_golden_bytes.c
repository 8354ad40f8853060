/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Goldens are compared as bytes: a NUL byte must not hide what follows it
 * (it used to: the golden and the transcript were compared as C strings).
 * Also the command-line flags that raise the harness's limits. */
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
#include "harness/diff.h"
#include "harness/tests/fake_backend.h"

static bs_backend *factory(const char *name, char **err)
{
    return &fake_new()->base;
}

static void test_diff_bytes(void **state)
{
    char *d = diff_unified_n("hi\n\0junk", 8, "hi\n", 3, "g", "t", 3);
    assert_non_null(d);
    assert_string_equal(d, "--- g\n+++ t\n@@ -1,2 +1 @@\n hi\n-^@junk\n"
                           "\\ No newline at end of file\n");
    free(d);
    d = diff_unified_n("a\0b\n", 4, "a\0c\n", 4, "g", "t", 3);
    assert_non_null(d);
    assert_string_equal(d, "--- g\n+++ t\n@@ -1 +1 @@\n-a^@b\n+a^@c\n");
    free(d);
    assert_null(diff_unified_n("a\0b\n", 4, "a\0b\n", 4, "g", "t", 3));
    /* equal up to the NUL, different lengths */
    d = diff_unified_n("x\n", 2, "x\n\0", 3, "g", "t", 3);
    assert_non_null(d);
    free(d);
}

static char dir[] = "/tmp/blocksim-golden-test-XXXXXX";

static void put(const char *name, const char *bytes, size_t n)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, n, f), n);
    fclose(f);
}

static int run(const char *const *args, size_t nargs, char **out)
{
    char *argv[16];
    size_t len;
    FILE *o = open_memstream(out, &len);
    argv[0] = "harness";
    for (size_t i = 0; i < nargs; i++)
        argv[i + 1] = (char *)args[i];
    int r = harness_main((int)nargs + 1, argv, factory, o, o);
    fclose(o);
    return r;
}

static void test_golden_with_nul(void **state)
{
    char cpath[256], *out;
    assert_non_null(mkdtemp(dir));
    snprintf(cpath, sizeof(cpath), "%s/n.case", dir);
    put("n.case", "log \"hi\"\n", 9);
    put("n.out", "hi\n\0junk", 8);
    const char *args[] = { "--golden-dir", dir, cpath };
    assert_int_equal(run(args, 3, &out), 1);
    assert_non_null(strstr(out, "-^@junk\n"));
    assert_non_null(strstr(out, "FAIL n\n"));
    free(out);
    put("n.out", "hi\n", 3);
    assert_int_equal(run(args, 3, &out), 0);
    free(out);
    /* the limits' flags: a bad value is a usage error, a good one applies */
    put("v.case", "let x = [1, 1, 1]\n", 18);
    put("v.out", "", 0);
    snprintf(cpath, sizeof(cpath), "%s/v.case", dir);
    const char *small[] = { "--max-value-size", "46", "--golden-dir", dir, cpath };
    assert_int_equal(run(small, 5, &out), 1);
    assert_non_null(strstr(out, "v.case:1:9: runtime error: value too large: about 68 bytes, "
                                "the limit is 46"));
    free(out);
    const char *big[] = { "--max-value-size", "1K", "--max-model-memory", "2G", "--golden-dir",
                          dir, cpath };
    assert_int_equal(run(big, 7, &out), 0);
    free(out);
    const char *bad[][2] = { { "--max-value-size", "0" }, { "--max-value-size", "-1" },
                             { "--max-model-memory", "99999999999999999999" },
                             { "--max-model-memory", "17179869184G" },
                             { "--max-value-size", "12Q" }, { "--max-value-size", NULL } };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *args2[] = { cpath, bad[i][0], bad[i][1] };
        assert_int_equal(run(args2, bad[i][1] ? 3 : 2, &out), 2);
        assert_non_null(strstr(out, "needs a positive number of bytes"));
        free(out);
    }
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_diff_bytes),
        cmocka_unit_test(test_golden_with_nul),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
