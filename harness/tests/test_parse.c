/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The case parser: what it accepts, and every error with its position. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/case.h"
#include "harness/command.h"

static void expect_error(const char *src, const char *want)
{
    char *err = NULL;
    program *p = case_parse_string("x.case", src, &err);
    if (p)
        fail_msg("accepted: %s", src);
    if (strcmp(err, want))
        fail_msg("source:\n%s\ngot:  %s\nwant: %s", src, err, want);
    free(err);
}

static program *parse_ok(const char *src)
{
    char *err = NULL;
    program *p = case_parse_string("x.case", src, &err);
    if (!p)
        fail_msg("%s", err);
    return p;
}

static void test_errors(void **state)
{
    static const struct {
        const char *src, *err;
    } cases[] = {
        /* lexer */
        { "log \"abc\n", "x.case:1:5: error: unterminated string" },
        { "log \"abc", "x.case:1:5: error: unterminated string" },
        { "log \"a\\qb\"", "x.case:1:7: error: unknown escape '\\q' in string" },
        { "log \"a\\", "x.case:1:7: error: unknown escape '\\ ' in string" },
        { "log \"\\u12g4\"", "x.case:1:6: error: \\u needs four hex digits" },
        { "log \"\\u0000\"", "x.case:1:6: error: \\u0000 is not a character this language accepts" },
        { "log \"\\ud800\"", "x.case:1:6: error: \\ud800 is not a character this language accepts" },
        { "log \"${1}\"", "x.case:1:6: error: expected a variable name after '${'" },
        { "log \"${ab\"", "x.case:1:6: error: missing '}' after '${ab'" },
        { "log 12ab", "x.case:1:5: error: malformed number '12a'" },
        { "log 0x", "x.case:1:5: error: malformed number '0x'" },
        { "log 0xzz", "x.case:1:5: error: malformed number '0xz'" },
        { "log 99999999999999999999", "x.case:1:5: error: number '99999999999999999999' is too large" },
        { "log 0x8000000000000000", "x.case:1:5: error: number '0x8000000000000000' is too large" },
        { "log $1", "x.case:1:5: error: expected a variable name after '$'" },
        { "log 1 ? 2", "x.case:1:7: error: unexpected character '?'" },
        { "log 1 \\ 2", "x.case:1:7: error: '\\' must end its line (line continuation)" },
        /* statements */
        { "5", "x.case:1:1: error: expected a statement, found '5'" },
        { "\"s\"", "x.case:1:1: error: expected a statement, found 'a string'" },
        { "frobnicate 1", "x.case:1:1: error: unknown command 'frobnicate'" },
        { "end", "x.case:1:1: error: 'end' without an open block" },
        { "else", "x.case:1:1: error: 'else' without an open block" },
        { "elif 1", "x.case:1:1: error: 'elif' without an open block" },
        { "let $a = 1", "x.case:1:5: error: expected a variable name (without '$'), found 'a'" },
        { "let true = 1", "x.case:1:5: error: expected a variable name (without '$'), found 'true'" },
        { "let a 1", "x.case:1:7: error: expected '=', found '1'" },
        { "let a = ", "x.case:1:9: error: expected an expression, found 'end of file'" },
        { "let a = 1 2", "x.case:1:11: error: unexpected '2' at end of statement" },
        { "let a = (1", "x.case:1:11: error: expected ')', found 'end of file'" },
        { "let a = [1 2]", "x.case:1:12: error: expected ',' or ']', found '2'" },
        { "let a = {1: 2}", "x.case:1:10: error: expected a plain string as object key, found '1'" },
        { "let a = {\"${x}\": 2}",
          "x.case:1:10: error: expected a plain string as object key, found 'a string'" },
        { "let a = {\"k\" 2}", "x.case:1:14: error: expected ':', found '2'" },
        { "let a = {\"k\": }", "x.case:1:15: error: expected an expression, found '}'" },
        { "let a = word", "x.case:1:9: error: expected an expression, found word 'word' "
                          "(variables need '$')" },
        { "let a = nosuch(1)", "x.case:1:9: error: unknown function 'nosuch'" },
        { "let a = basename(1, 2)", "x.case:1:9: error: basename() takes 1 argument, got 2" },
        { "let a = basename(1 2)", "x.case:1:20: error: expected ',' or ')', found '2'" },
        { "let a = 1 == 2 == 3", "x.case:1:16: error: comparisons cannot be chained; use 'and'" },
        { "let a = 1 +", "x.case:1:12: error: expected an expression, found 'end of file'" },
        { "let a = not", "x.case:1:12: error: expected an expression, found 'end of file'" },
        { "let a = -", "x.case:1:10: error: expected an expression, found 'end of file'" },
        { "let a = $b[1", "x.case:1:13: error: expected ']', found 'end of file'" },
        { "let a = $b[]", "x.case:1:12: error: expected an expression, found ']'" },
        { "let a = )", "x.case:1:9: error: expected an expression, found ')'" },
        /* groups */
        { "group 0 1@0", "x.case:1:9: error: expected '=', found '1'" },
        { "group = 1@0", "x.case:1:7: error: expected an expression, found '='" },
        { "group 0 = x@0", "x.case:1:11: error: expected a write PATTERN@OFFSET[:LEN], found 'x'" },
        { "group 0 = 0x100@0", "x.case:1:11: error: pattern 0x100 is not a byte" },
        { "group 0 = 1 0", "x.case:1:13: error: expected '@', found '0'" },
        { "group 0 = 1@", "x.case:1:13: error: expected an expression, found 'end of file'" },
        { "group 0 = 1@0:", "x.case:1:15: error: expected an expression, found 'end of file'" },
        /* blocks */
        { "if 1\nlog 1\n", "x.case:1:1: error: 'if' is never closed with 'end'" },
        { "if 1\nelse\nlog 1\n", "x.case:1:1: error: 'if' is never closed with 'end'" },
        { "if 1\nelse\nelse\nend", "x.case:3:1: error: expected 'end' after 'else' block, found 'else'" },
        { "if 1\nelse x\nend", "x.case:2:6: error: unexpected 'x' at end of statement" },
        { "if 1 2\nend", "x.case:1:6: error: unexpected '2' at end of statement" },
        { "if\nend", "x.case:1:3: error: expected an expression, found 'end of line'" },
        { "if 1\nend x", "x.case:2:5: error: unexpected 'x' at end of statement" },
        { "for i in [1]\nelse\nend", "x.case:2:1: error: 'else' without 'if'" },
        { "for i in [1]\n", "x.case:1:1: error: 'for' is never closed with 'end'" },
        { "for 1 in [1]\nend", "x.case:1:5: error: expected a loop variable name, found '1'" },
        { "for i of [1]\nend", "x.case:1:7: error: expected 'in', found 'of'" },
        { "for i in [1]\nend x", "x.case:2:5: error: unexpected 'x' at end of statement" },
        { "for i in\nend", "x.case:1:9: error: expected an expression, found 'end of line'" },
        /* procedures */
        { "proc\nend", "x.case:1:5: error: expected a procedure name, found 'end of line'" },
        { "proc p 1\nend", "x.case:1:8: error: expected a parameter name, found '1'" },
        { "proc p a a\nend", "x.case:1:10: error: parameter 'a' given twice" },
        { "proc p\n", "x.case:1:1: error: 'proc' is never closed with 'end'" },
        { "proc p\nend x", "x.case:2:5: error: unexpected 'x' at end of statement" },
        { "proc p\nproc q\nend\nend", "x.case:2:1: error: procedures must be defined at top level" },
        { "proc p\nend\nproc p\nend", "x.case:3:6: error: procedure 'p' already defined at line 1" },
        { "call", "x.case:1:5: error: expected a procedure name, found 'end of file'" },
        { "call nope", "x.case:1:1: error: call of unknown procedure 'nope'" },
        { "proc p a\nend\ncall p", "x.case:3:1: error: procedure 'p' takes 1 argument, got 0" },
        { "proc p\nend\ncall p 1 2", "x.case:3:1: error: procedure 'p' takes 0 arguments, got 2" },
        { "proc p a\nend\ncall p k=1", "x.case:3:8: error: procedure arguments are positional (no 'k=')" },
        { "proc p a\nend\ncall p word", "x.case:3:8: error: expected an argument expression, "
                                         "found word 'word' (variables need '$', strings quotes)" },
        { "proc p a\nend\ncall p (1", "x.case:3:10: error: expected ')', found 'end of file'" },
        { "if 1\n  call nope\nend", "x.case:2:3: error: call of unknown procedure 'nope'" },
        { "if 1\nelse\n  call nope\nend", "x.case:3:3: error: call of unknown procedure 'nope'" },
        { "for i in [1]\n  call nope\nend", "x.case:2:3: error: call of unknown procedure 'nope'" },
        { "proc p\n  call nope\nend", "x.case:2:3: error: call of unknown procedure 'nope'" },
        /* commands */
        { "log", "x.case:1:1: error: log takes 1 argument, got 0" },
        { "blank 1", "x.case:1:1: error: blank takes 0 arguments, got 1" },
        { "files", "x.case:1:1: error: files takes at least 1 argument, got 0" },
        { "files \"a\"", "x.case:1:7: error: expected a file name (a bare word)" },
        { "qmp_log", "x.case:1:1: error: qmp_log takes 1 to 2 arguments, got 0" },
        { "qmp_log a b", "x.case:1:11: error: expected the command's arguments, found word 'b' "
                         "(variables need '$', strings quotes)" },
        { "log x", "x.case:1:5: error: expected an expression, found word 'x' "
                   "(variables need '$', strings quotes)" },
        { "log k=1", "x.case:1:5: error: log has no argument 'k'" },
        { "sock_file v dirty", "x.case:1:13: error: expected an expression, found word 'dirty' "
          "(variables need '$', strings quotes)" },
        { "compare \"a\" \"b\" base=1 base=2", "x.case:1:24: error: argument 'base' given twice" },
        { "compare \"a\" \"b\" base=x", "x.case:1:17: error: expected an expression, found word "
                                        "'x' (variables need '$', strings quotes)" },
        { "model", "x.case:1:1: error: model takes 2 to 4 arguments, got 0" },
        { "model 1 new 1", "x.case:1:7: error: expected a model name (a bare word)" },
        { "model m 1", "x.case:1:9: error: expected a model operation (a bare word)" },
        { "model m zap", "x.case:1:9: error: unknown model operation 'zap'" },
        { "model m new", "x.case:1:9: error: model new takes 1 operand, got 0" },
        { "model m clear 1", "x.case:1:9: error: model clear takes 0 operands, got 1" },
        { "model m dirty_bits 1 x", "x.case:1:22: error: expected an operand, found word 'x' "
                                    "(variables need '$', strings quotes)" },
        { "check 1 \"n\" \"b\"", "x.case:1:7: error: expected a model name (a bare word)" },
        { "check m n \"b\"", "x.case:1:9: error: expected a node name, found word 'n' "
                             "(variables need '$', strings quotes)" },
        { "check m \"n\" b", "x.case:1:13: error: expected a bitmap name, found word 'b' "
                             "(variables need '$', strings quotes)" },
        { "check m \"n\" \"b\" writing", "x.case:1:17: error: expected 'recording' or end of line" },
        { "check m \"n\" \"b\" 1", "x.case:1:17: error: expected 'recording' or end of line" },
        { "run_job \"j\" pre_finalize=1", "x.case:1:13: error: expected a procedure name (a bare word)" },
        { "run_job \"j\" pre_finalize=nope", "x.case:1:13: error: unknown procedure 'nope'" },
        { "proc h a\nend\nrun_job \"j\" pre_finalize=h",
          "x.case:3:13: error: pre_finalize procedure 'h' must take no arguments" },
        { "run_job \"j\" cancel=", "x.case:1:20: error: expected an expression, found 'end of file'" },
        { "write_file \"a\"", "x.case:1:1: error: write_file takes 2 arguments, got 1" },
        { "write_file \"a\" \"b\" \"c\"", "x.case:1:1: error: write_file takes 2 arguments, got 3" },
        { "write_file conf \"x\"", "x.case:1:12: error: expected a file name, found word 'conf' "
                                   "(variables need '$', strings quotes)" },
        { "write_file \"a\" text", "x.case:1:16: error: expected the file's text, found word 'text' "
                                   "(variables need '$', strings quotes)" },
        { "write_file \"a\" \"b\" mode=1", "x.case:1:20: error: write_file has no argument 'mode'" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        expect_error(cases[i].src, cases[i].err);
}

static void test_accepts(void **state)
{
    program *p = parse_ok(
        "# comment\n"
        "let a = {\"k\": [1,\n  2,],\n \"j\": {}}   # trailing commas are fine\n"
        "let b = \"x${a}y\\t\\r\\n\\\\\\\"\\$\\u00e9\\u20ac\"\n"
        "let c = 1 + \\\n  2\n"
        "group 0 = 0x49@0:(2 * 3) 0x6c@$a\n"
        "proc later x y\n  log $x\nend\n"
        "call later 1 [1] \n"
        "if 1\nelif 2\nelse\nend\n"
        "qmp_log blockdev-add {\"a\": 1}\n"
        "qmp_log \"x\"\n"
        "check m \"n\" \"\" recording\n"
        "run_job \"j\" pre_finalize=hook auto_finalize=false\n"
        "proc hook\nend\n"
        "log $a[\"k\"][0]\n"
        "log basename(\"a/b\")\n"
        "model m dirty 0\n");
    assert_int_equal(p->top.n, 13);
    assert_int_equal(p->nprocs, 2);
    const stmt *s = p->top.v[1];
    assert_int_equal(s->kind, S_LET);
    assert_int_equal(s->e->kind, E_STR);
    assert_int_equal(s->e->nparts, 3);
    assert_string_equal(s->e->parts[2].text, "y\t\r\n\\\"$\xc3\xa9\xe2\x82\xac");
    assert_int_equal(p->top.v[3]->kind, S_GROUP);
    assert_int_equal(p->top.v[3]->ngitems, 2);
    assert_string_equal(p->top.v[3]->gitems[0].pattern, "0x49");
    assert_null(p->top.v[3]->gitems[1].len);
    const stmt *rj = p->top.v[9];
    assert_string_equal(rj->cmd->name, "run_job");
    assert_non_null(rj->proc);
    assert_string_equal(rj->proc->name, "hook");
    assert_non_null(stmt_kwarg(rj, "auto_finalize"));
    assert_null(stmt_kwarg(rj, "cancel"));
    case_free(p);

    /* an empty file is an empty case */
    p = parse_ok("");
    assert_int_equal(p->top.n, 0);
    case_free(p);
}

/* Keywords may come first: the positional arguments still start at args[0]. */
static void test_keyword_order(void **state)
{
    program *p = parse_ok("check quiet=1 m \"n\" \"b\" recording\n"
                          "img_create print=1 \"raw\" backing=\"b\" \"f\" 1\n");
    const stmt *s = p->top.v[0];
    assert_int_equal(s->nargs, 5);
    assert_string_equal(s->args[0].word, "m");
    assert_non_null(s->args[1].e);
    assert_non_null(s->args[2].e);
    assert_string_equal(s->args[3].word, "recording");
    assert_string_equal(s->args[4].key, "quiet");
    s = p->top.v[1];
    assert_int_equal(s->nargs, 5);
    for (int i = 0; i < 3; i++)
        assert_null(s->args[i].key);
    assert_int_equal(s->args[2].e->kind, E_INT);
    assert_string_equal(s->args[3].key, "print");
    assert_string_equal(s->args[4].key, "backing");
    case_free(p);
}

static void test_files(void **state)
{
    char *err = NULL;
    assert_null(case_parse_file("/nonexistent/x.case", &err));
    assert_string_equal(err, "/nonexistent/x.case: cannot open: No such file or directory");
    free(err);

    char path[] = "/tmp/harness-parse-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "log 1\0log 2\n", 12), 12);
    close(fd);
    assert_null(case_parse_file(path, &err));
    char want[128];
    snprintf(want, sizeof(want), "%s:1:1: error: file contains a NUL byte", path);
    assert_string_equal(err, want);
    free(err);

    FILE *f = fopen(path, "w");
    fputs("log 1\nlog x\n", f);
    fclose(f);
    assert_null(case_parse_file(path, &err));
    snprintf(want, sizeof(want), "%s:2:5: error: expected an expression, found word 'x' "
             "(variables need '$', strings quotes)", path);
    assert_string_equal(err, want);
    free(err);

    f = fopen(path, "w");
    fputs("log 1\n", f);
    fclose(f);
    program *p = case_parse_file(path, &err);
    assert_non_null(p);
    case_free(p);
    unlink(path);
    case_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_accepts),
        cmocka_unit_test(test_keyword_order),
        cmocka_unit_test(test_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
