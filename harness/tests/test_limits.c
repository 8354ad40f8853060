/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Bad input that used to crash or exhaust the harness: deep nesting in the
 * parser and the evaluator, values and image models without bounds. Each
 * must end in an error naming its line, never a crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/case.h"
#include "harness/interp.h"
#include "harness/sbuf.h"
#include "harness/tests/fake_backend.h"

static char *repeat(const char *head, const char *unit, size_t n, const char *mid,
                    const char *unit2, size_t n2, const char *tail)
{
    sbuf b = {0};
    sbuf_adds(&b, head);
    for (size_t i = 0; i < n; i++)
        sbuf_adds(&b, unit);
    sbuf_adds(&b, mid);
    for (size_t i = 0; i < n2; i++)
        sbuf_adds(&b, unit2);
    sbuf_adds(&b, tail);
    return sbuf_take(&b);
}

static void expect_parse_err(char *src, const char *want)
{
    char *err = NULL;
    program *p = case_parse_string("d.case", src, &err);
    if (p)
        fail_msg("parsed; expected %s", want);
    assert_non_null(err);
    if (strcmp(err, want))
        fail_msg("got '%s', want '%s'", err, want);
    free(err);
    free(src);
}

static void expect_parses(char *src)
{
    char *err = NULL;
    program *p = case_parse_string("d.case", src, &err);
    if (!p)
        fail_msg("%s", err);
    case_free(p);
    free(src);
}

/* 100,000 levels of each construct used to overflow the stack. */
static void test_parser_nesting(void **state)
{
    const size_t deep = 100000;
    expect_parse_err(repeat("let x = ", "[", deep, "", "]", deep, "\n"),
                     "d.case:1:1009: error: nested more than 1000 levels deep");
    expect_parse_err(repeat("let x = ", "{\"a\": ", deep, "1", "}", deep, "\n"),
                     "d.case:1:6009: error: nested more than 1000 levels deep");
    expect_parse_err(repeat("let x = ", "(", deep, "1", ")", deep, "\n"),
                     "d.case:1:1009: error: nested more than 1000 levels deep");
    expect_parse_err(repeat("let x = ", "- ", deep, "1", "", 0, "\n"),
                     "d.case:1:2009: error: nested more than 1000 levels deep");
    expect_parse_err(repeat("let x = ", "not ", deep, "1", "", 0, "\n"),
                     "d.case:1:4009: error: nested more than 1000 levels deep");
    expect_parse_err(repeat("let x = 1", " + 1", deep, "", "", 0, "\n"),
                     "d.case:1:4007: error: expression nested more than 1000 levels deep");
    expect_parse_err(repeat("let x = 1", " * 1", deep, "", "", 0, "\n"),
                     "d.case:1:4007: error: expression nested more than 1000 levels deep");
    expect_parse_err(repeat("let x = [0]\nlog $x", "[0]", deep, "", "", 0, "\n"),
                     "d.case:2:3004: error: expression nested more than 1000 levels deep");
    expect_parse_err(repeat("", "if true\n", deep, "", "end\n", deep, ""),
                     "d.case:1001:4: error: nested more than 1000 levels deep");
    expect_parse_err(repeat("", "for i in []\n", deep, "", "end\n", deep, ""),
                     "d.case:1001:10: error: nested more than 1000 levels deep");
    /* at the limit: fine */
    expect_parses(repeat("let x = ", "[", 999, "", "]", 999, "\n"));
    expect_parses(repeat("let x = 1", " + 1", 999, "", "", 0, "\n"));
    expect_parses(repeat("", "if true\n", 999, "", "end\n", 999, ""));
}

static int run_src(char *src, const case_limits *lim, char **err)
{
    char *perr = NULL, *out = NULL;
    program *p = case_parse_string("t.case", src, &perr);
    if (!p)
        fail_msg("parse error: %s", perr);
    fake_backend *f = fake_new();
    case_limits dflt = { CASE_DEFAULT_VALUE_BYTES, CASE_DEFAULT_MODEL_BYTES };
    int r = case_run_limited(p, &f->base, 1.0, lim ? lim : &dflt, &out, err);
    f->base.ops->destroy(&f->base);
    case_free(p);
    free(out);
    free(src);
    return r;
}

static void expect_run_err(char *src, const case_limits *lim, const char *want)
{
    char *err = NULL;
    assert_int_equal(run_src(src, lim, &err), -1);
    assert_non_null(err);
    if (strcmp(err, want))
        fail_msg("got '%s', want '%s'", err, want);
    free(err);
}

static void expect_run_ok(char *src, const case_limits *lim)
{
    char *err = NULL;
    if (run_src(src, lim, &err) < 0)
        fail_msg("%s", err);
}

static char *loop_src(size_t n, const char *init, const char *body, const char *after)
{
    sbuf b = {0};
    sbuf_printf(&b, "let x = %s\nfor i in [", init);
    for (size_t i = 0; i < n; i++)
        sbuf_adds(&b, i ? ",0" : "0");
    sbuf_printf(&b, "]\n  let x = %s\nend\n%s", body, after);
    return sbuf_take(&b);
}

/* The evaluator: recursion through procedures and blocks, and values that
 * a loop nests deeper than the parser lets a literal. */
static void test_eval_nesting(void **state)
{
    /* 200 procedure frames of 50 nested blocks each */
    char *src = repeat("proc p\n", "if true\n", 50, "call p\n", "end\n", 50, "end\ncall p\n");
    expect_run_err(src, NULL,
                   "t.case:22:4: runtime error: blocks, calls and expressions nested more than "
                   "4000 deep");
    expect_run_err(loop_src(2000, "[]", "[$x]", "log $x\n"), NULL,
                   "t.case:3:11: runtime error: value nested more than 1000 levels deep");
    expect_run_err(loop_src(2000, "{}", "{\"k\": $x}", ""), NULL,
                   "t.case:3:11: runtime error: value nested more than 1000 levels deep");
    expect_run_ok(loop_src(998, "[]", "[$x]", "log $x == $x\n"), NULL);
}

static void test_value_size(void **state)
{
    /* doubling: a list, a string, an object, a shared list, an interpolation */
    expect_run_err(loop_src(40, "[1]", "$x + $x", ""), NULL,
                   "t.case:3:14: runtime error: value too large: about 23068676 bytes, the limit "
                   "is 16777216 (raise the limit with --max-value-size)");
    expect_run_err(loop_src(40, "\"ab\"", "$x + $x", ""), NULL,
                   "t.case:3:14: runtime error: value too large: about 16777220 bytes, the limit "
                   "is 16777216 (raise the limit with --max-value-size)");
    expect_run_err(loop_src(40, "[1]", "[$x, $x]", "log $x\n"), NULL,
                   "t.case:3:11: runtime error: value too large: about 31457274 bytes, the limit "
                   "is 16777216 (raise the limit with --max-value-size)");
    expect_run_err(loop_src(40, "\"ab\"", "\"${x}${x}\"", ""), NULL,
                   "t.case:3:11: runtime error: string too large: 33554432 bytes, the limit is "
                   "16777216 (raise the limit with --max-value-size)");
    expect_run_err(loop_src(40, "{\"a\": \"ab\"}", "{\"a\": $x[\"a\"] + $x[\"a\"]}", ""), NULL,
                   "t.case:3:25: runtime error: value too large: about 16777220 bytes, the limit "
                   "is 16777216 (raise the limit with --max-value-size)");
    /* exactly at the limit passes; the flag raises it */
    case_limits lim = { 2 + 2 * (20 + 2), CASE_DEFAULT_MODEL_BYTES };  /* [1, 1] */
    expect_run_ok(strdup("let x = [1, 1]\n"), &lim);
    expect_run_err(strdup("let x = [1, 1, 1]\n"), &lim,
                   "t.case:1:9: runtime error: value too large: about 68 bytes, the limit is 46 "
                   "(raise the limit with --max-value-size)");
    (void)lim;
}

static void test_model_memory(void **state)
{
    expect_run_err(strdup("image m new (1024 * 1024 * 1024)\nimage c copy m\n"), NULL,
                   "t.case:2:1: runtime error: image model 'c': 1073741824 bytes would take the "
                   "image models to 2147483648 bytes, over the limit of 1073741824 (raise it with "
                   "--max-model-memory)");
    expect_run_err(strdup("image m new (4 * 1024 * 1024 * 1024)\n"), NULL,
                   "t.case:1:1: runtime error: image model 'm': 4294967296 bytes would take the "
                   "image models to 4294967296 bytes, over the limit of 1073741824 (raise it with "
                   "--max-model-memory)");
    case_limits lim = { CASE_DEFAULT_VALUE_BYTES, 3 << 20 };
    /* replacing a model of the same name does not count twice */
    expect_run_ok(strdup("image m new (2 * 1024 * 1024)\nimage m new (2 * 1024 * 1024)\n"
                         "image c copy m\nimage c copy m\n"), NULL);
    expect_run_ok(strdup("image m new (2 * 1024 * 1024)\nimage m new (3 * 1024 * 1024)\n"), &lim);
    expect_run_err(strdup("image m new (2 * 1024 * 1024)\nimage c new (1024 * 1024 + 1)\n"), &lim,
                   "t.case:2:1: runtime error: image model 'c': 1048577 bytes would take the "
                   "image models to 3145729 bytes, over the limit of 3145728 (raise it with "
                   "--max-model-memory)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parser_nesting),
        cmocka_unit_test(test_eval_nesting),
        cmocka_unit_test(test_value_size),
        cmocka_unit_test(test_model_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
