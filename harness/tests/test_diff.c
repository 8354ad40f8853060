/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The unified diff: hunks, context merging, edge cases (checked against
 * GNU diff -u output for the same inputs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/diff.h"
#include "harness/sbuf.h"

static void diff_is(const char *a, const char *b, int ctx, const char *want_body)
{
    char *d = diff_unified(a, b, "a", "b", ctx);
    assert_non_null(d);
    const char *hdr = "--- a\n+++ b\n";
    assert_memory_equal(d, hdr, strlen(hdr));
    if (strcmp(d + strlen(hdr), want_body))
        fail_msg("got:\n%s\nwant:\n%s", d + strlen(hdr), want_body);
    free(d);
}

static void test_equal(void **state)
{
    assert_null(diff_unified("", "", "a", "b", 3));
    assert_null(diff_unified("x\ny\n", "x\ny\n", "a", "b", 3));
}

static void test_basic(void **state)
{
    diff_is("a\nb\nc\n", "a\nB\nc\n", 3, "@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n");
    diff_is("", "x\n", 3, "@@ -0,0 +1 @@\n+x\n");
    diff_is("x\n", "", 3, "@@ -1 +0,0 @@\n-x\n");
    diff_is("a\nb\n", "b\n", 3, "@@ -1,2 +1 @@\n-a\n b\n");
    diff_is("a\nb\n", "a\n", 0, "@@ -2 +1,0 @@\n-b\n");
    diff_is("a\n", "a\nb\n", 0, "@@ -1,0 +2 @@\n+b\n");
    diff_is("a\nb\nc\nd\n", "a\nc\nd\nb\n", 3,
            "@@ -1,4 +1,4 @@\n a\n-b\n c\n d\n+b\n");
}

static void test_no_newline(void **state)
{
    diff_is("a\nb", "a\nb\n", 3,
            "@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n");
}

static void test_hunks(void **state)
{
    sbuf a = {0}, b = {0};
    for (int i = 1; i <= 20; i++) {
        sbuf_printf(&a, "%d\n", i);
        sbuf_printf(&b, "%d\n", i == 3 ? 33 : i == 10 ? 100 : i == 16 ? 160 : i);
    }
    /* 3 and 10 are 6 apart: separate hunks at context 2; 10 and 16 too */
    diff_is(sbuf_str(&a), sbuf_str(&b), 2,
            "@@ -1,5 +1,5 @@\n 1\n 2\n-3\n+33\n 4\n 5\n"
            "@@ -8,5 +8,5 @@\n 8\n 9\n-10\n+100\n 11\n 12\n"
            "@@ -14,5 +14,5 @@\n 14\n 15\n-16\n+160\n 17\n 18\n");
    /* context 3: gaps of 6 lines merge */
    diff_is(sbuf_str(&a), sbuf_str(&b), 3,
            "@@ -1,19 +1,19 @@\n 1\n 2\n-3\n+33\n 4\n 5\n 6\n 7\n 8\n 9\n-10\n+100\n"
            " 11\n 12\n 13\n 14\n 15\n-16\n+160\n 17\n 18\n 19\n");
    char *d = diff_unified(sbuf_str(&a), sbuf_str(&b), "a", "b", -1);
    assert_non_null(strstr(d, "@@ -3 +3 @@\n-3\n+33\n"));
    free(d);
    sbuf_free(&a);
    sbuf_free(&b);
}

static void test_large(void **state)
{
    /* Two unrelated long texts: more edits than DIFF_MAX_EDITS, so the
     * middle shows as one replaced block. */
    sbuf a = {0}, b = {0};
    for (int i = 0; i < 3000; i++) {
        sbuf_printf(&a, "a%d\n", i);
        sbuf_printf(&b, "b%d\n", i);
    }
    char *d = diff_unified(sbuf_str(&a), sbuf_str(&b), "a", "b", 3);
    assert_non_null(strstr(d, "@@ -1,3000 +1,3000 @@\n-a0\n-a1\n"));
    assert_non_null(strstr(d, "-a2999\n+b0\n"));
    free(d);
    /* A long text with a few changes still gets a minimal diff. */
    sbuf_free(&b);
    for (int i = 0; i < 3000; i++)
        sbuf_printf(&b, "a%d\n", i % 1000 == 500 ? -i : i);
    d = diff_unified(sbuf_str(&a), sbuf_str(&b), "a", "b", 0);
    assert_string_equal(d, "--- a\n+++ b\n@@ -501 +501 @@\n-a500\n+a-500\n"
                           "@@ -1501 +1501 @@\n-a1500\n+a-1500\n"
                           "@@ -2501 +2501 @@\n-a2500\n+a-2500\n");
    free(d);
    sbuf_free(&a);
    sbuf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_equal),
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_no_newline),
        cmocka_unit_test(test_hunks),
        cmocka_unit_test(test_large),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
