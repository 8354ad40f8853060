/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unittest-style checks: iotests' dictpath/assert_qmp texts (checks.c),
 * and the expect* commands, qmp_get and event_get in a running case. */
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
#include "harness/checks.h"
#include "harness/interp.h"
#include "harness/tests/fake_backend.h"

static const char *reply_text =
    "{\"return\": [{\"device\": \"drive0\", \"offset\": 65536, \"paused\": true,"
    " \"io-status\": \"ok\", \"nothing\": null}]}";

static void test_dictpath(void **state)
{
    (void)state;
    json_object *d = json_tokener_parse(reply_text), *v;
    char *why = NULL;
    assert_int_equal(check_dictpath(d, "return[0]/offset", &v, &why), 0);
    assert_int_equal(json_object_get_int64(v), 65536);
    assert_int_equal(check_dictpath(d, "return[-1]/device", &v, &why), 0);
    assert_string_equal(json_object_get_string(v), "drive0");
    assert_int_equal(check_dictpath(d, "return[0]/nothing", &v, &why), 0);
    assert_null(v);
    assert_int_equal(check_dictpath(d, "return[1]/offset", &v, &why), -1);
    assert_non_null(strstr(why, "invalid index \"1\" in path \"return[1]/offset\""));
    free(why);
    assert_int_equal(check_dictpath(d, "error/class", &v, &why), -1);
    assert_non_null(strstr(why, "failed path traversal for \"error/class\""));
    free(why);
    assert_int_equal(check_dictpath(d, "return[0]/offset[0]", &v, &why), -1);
    assert_non_null(strstr(why, "path component \"offset\" in \"return[0]/offset[0]\" is not a list"));
    free(why);
    json_object_put(d);
}

static void test_equal(void **state)
{
    (void)state;
    json_object *a = json_tokener_parse("{\"a\": [1, true, \"x\", null], \"b\": {}}");
    json_object *b = json_tokener_parse("{\"b\": {}, \"a\": [1, 1, \"x\", null]}");
    json_object *c = json_tokener_parse("{\"b\": {}, \"a\": [1, 1, \"y\", null]}");
    assert_true(check_equal(a, b));       /* True == 1, member order free */
    assert_false(check_equal(a, c));
    assert_false(check_equal(NULL, a));
    assert_true(check_equal(NULL, NULL));
    json_object_put(a);
    json_object_put(b);
    json_object_put(c);
}

static void test_assert_qmp(void **state)
{
    (void)state;
    json_object *d = json_tokener_parse(reply_text);
    json_object *want = json_object_new_int64(65536), *bad = json_object_new_int64(1);
    json_object *anyof = json_tokener_parse("[\"ok\", \"failed\"]");
    json_object *empty = json_object_new_array();
    char *what, *why;
    assert_int_equal(check_assert_qmp(d, "return[0]/offset", want, &what, &why), 1);
    assert_string_equal(what, "\"return[0]/offset\" is 65536");
    assert_null(why);
    free(what);
    assert_int_equal(check_assert_qmp(d, "return[0]/offset", bad, &what, &why), 0);
    assert_string_equal(why, "\"return[0]/offset\" is \"65536\", expected \"1\"");
    char *line = check_line(0, what, why);
    assert_string_equal(line, "FAIL: \"return[0]/offset\" is 1: \"return[0]/offset\" is \"65536\", expected \"1\"");
    free(line);
    free(what);
    free(why);
    assert_int_equal(check_assert_qmp(d, "return[0]/io-status", anyof, &what, &why), 1);
    assert_string_equal(what, "\"return[0]/io-status\" is one of [\"ok\", \"failed\"]");
    free(what);
    /* [] is a value, not an empty choice */
    assert_int_equal(check_assert_qmp(d, "return", empty, &what, &why), 0);
    free(what);
    free(why);
    assert_int_equal(check_assert_qmp_absent(d, "return[0]/error", &what, &why), 1);
    assert_string_equal(what, "\"return[0]/error\" is absent");
    free(what);
    assert_int_equal(check_assert_qmp_absent(d, "return[0]/paused", &what, &why), 0);
    assert_string_equal(why, "path \"return[0]/paused\" has value \"true\"");
    free(what);
    free(why);
    json_object_put(d);
    json_object_put(want);
    json_object_put(bad);
    json_object_put(anyof);
    json_object_put(empty);
}

static void test_case_checks_pass(void **state)
{
    (void)state;
    fake_backend *f = fake_new();
    fake_reply(f, "query-block-jobs", reply_text);
    char *out, *err = NULL;
    int r = fake_run_case(f,
                "launch\n"
                "qmp_get r query-block-jobs\n"
                "expect_qmp $r \"return[0]/device\" \"drive0\"\n"
                "expect_qmp_absent $r \"error\"\n"
                "let off = dictpath($r, \"return[0]/offset\")\n"
                "expect_eq $off 65536 \"offset unchanged\"\n"
                "expect ($off > 0) \"some progress\"\n"
                "qmp_get e blockdev-backup {\"job_id\": \"j\"}\n"
                "expect_qmp $e \"return\" {}\n",
                &out, &err);
    assert_int_equal(r, 0);
    assert_string_equal(out,
                        "ok: \"return[0]/device\" is \"drive0\"\n"
                        "ok: \"error\" is absent\n"
                        "ok: offset unchanged\n"
                        "ok: some progress\n"
                        "ok: \"return\" is {}\n");
    /* qmp_get sends like QEMUMachine.qmp: top-level '_' as '-' */
    assert_non_null(strstr(f->calls.s, "qmp blockdev-backup {\"job-id\":\"j\"}"));
    free(out);
    f->base.ops->destroy(&f->base);
}

static void test_case_checks_fail(void **state)
{
    (void)state;
    fake_backend *f = fake_new();
    fake_reply(f, "query-block-jobs", reply_text);
    char *out, *err = NULL;
    int r = fake_run_case(f,
                "launch\n"
                "qmp_get r query-block-jobs\n"
                "expect_qmp $r \"return[0]/offset\" 0\n"
                "expect_eq 1 2 \"one is two\"\n"
                "expect false \"never\"\n"
                "log \"still running\"\n",
                &out, &err);
    assert_int_equal(r, -1);
    assert_string_equal(out,
                        "FAIL: \"return[0]/offset\" is 0: \"return[0]/offset\" is \"65536\", expected \"0\"\n"
                        "FAIL: one is two: got 1, expected 2\n"
                        "FAIL: never\n"
                        "still running\n");
    assert_string_equal(err, "t.case:3:1: check failed: FAIL: \"return[0]/offset\" is 0: "
                             "\"return[0]/offset\" is \"65536\", expected \"0\" (3 checks failed)");
    free(out);
    free(err);
    f->base.ops->destroy(&f->base);
}

static void test_dictpath_missing_stops(void **state)
{
    (void)state;
    fake_backend *f = fake_new();
    char *out, *err = NULL;
    int r = fake_run_case(f, "launch\nqmp_get r query-jobs\nlet x = dictpath($r, \"error/desc\")\nlog \"no\"\n",
                &out, &err);
    assert_int_equal(r, -1);
    assert_non_null(strstr(err, "t.case:3:9: runtime error: dictpath: failed path traversal for \"error/desc\""));
    assert_string_equal(out, "");
    free(out);
    free(err);
    f->base.ops->destroy(&f->base);
}

static void test_event_get(void **state)
{
    (void)state;
    fake_backend *f = fake_new();
    fake_push(f, "BLOCK_JOB_READY", "{\"device\": \"other\"}");
    fake_push(f, "BLOCK_JOB_COMPLETED", "{\"device\": \"drive0\", \"len\": 5, \"offset\": 5}");
    char *out, *err = NULL;
    int r = fake_run_case(f,
                "launch\n"
                "event_get ev \"BLOCK_JOB_COMPLETED\" device=\"drive0\"\n"
                "expect_qmp $ev \"data/offset\" dictpath($ev, \"data/len\")\n"
                "event_wait \"BLOCK_JOB_READY\"\n",
                &out, &err);
    if (r)
        fail_msg("%s", err);
    assert_string_equal(out,
                        "ok: \"data/offset\" is 5\n"
                        "{\"data\": {\"device\": \"other\"}, \"event\": \"BLOCK_JOB_READY\", "
                        "\"timestamp\": {\"microseconds\": \"USECS\", \"seconds\": \"SECS\"}}\n");
    free(out);
    f->base.ops->destroy(&f->base);
}

static void test_parse_errors(void **state)
{
    (void)state;
    static const struct { const char *src, *err; } bad[] = {
        { "qmp_get $r query-jobs\n", "t.case:1:9: error: expected a variable name (without '$') (a bare word)" },
        { "expect_qmp $r \"p\"\n", "t.case:1:1: error: expect_qmp takes 3 arguments, got 2" },
        { "expect 1\n", "t.case:1:1: error: expect takes 2 arguments, got 1" },
        { "let x = dictpath($r)\n", "t.case:1:9: error: dictpath() takes 2 arguments, got 1" },
        { "event_get ev BLOCK_JOB_READY\n", "t.case:1:14: error: expected an expression, found word 'BLOCK_JOB_READY' (variables need '$', strings quotes)" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *err = NULL;
        program *p = case_parse_string("t.case", bad[i].src, &err);
        assert_null(p);
        assert_string_equal(err, bad[i].err);
        free(err);
    }
}

static void test_img_compare_log(void **state)
{
    (void)state;
    static const struct { int ret; const char *out; } cases[] = {
        { 0, "Images are identical.\n\n" },
        { 1, "Content mismatch (the backend does not say where)\n" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        fake_backend *f = fake_new();
        f->compare_ret = cases[i].ret;
        char *out, *err = NULL;
        /* paths inside the fake's test directory (harness/confine.h) */
        assert_int_equal(fake_run_case(f, "img_compare_log \"/tmp/fake-td/a\" \"/tmp/fake-td/b\"\n", &out,
                             &err), 0);
        assert_string_equal(out, cases[i].out);
        free(out);
        f->base.ops->destroy(&f->base);
    }
}

static void test_img_create_backing(void **state)
{
    (void)state;
    fake_backend *f = fake_new();
    char *out, *err = NULL;
    int r = fake_run_case(f, "files t u b\n"
                   "img_create \"qcow2\" $t 1024 backing=$b backing_fmt=\"raw\"\n"
                   "img_create \"qcow2\" $u 1024\n", &out, &err);
    if (r)
        fail_msg("%s", err);
    assert_non_null(strstr(f->calls.s, "-t 1024 -b "));
    assert_non_null(strstr(f->calls.s, "-b -F raw\nimg_create qcow2 "));
    assert_non_null(strstr(f->calls.s, "-u 1024\n"));
    free(out);
    f->base.ops->destroy(&f->base);
}

static void test_events_pending(void **state)
{
    (void)state;
    fake_backend *f = fake_new();
    fake_push(f, "BLOCK_JOB_READY", "{\"device\": \"a\"}");
    fake_push(f, "BLOCK_JOB_COMPLETED", "{\"device\": \"b\"}");
    fake_push(f, "STOP", "{}");
    char *out, *err = NULL;
    int r = fake_run_case(f,
                "launch\n"
                "event_get ev \"BLOCK_JOB_COMPLETED\"\n"
                "events_pending evs\n"
                "expect_eq $evs[0][\"event\"] \"BLOCK_JOB_READY\" \"the cached one first\"\n"
                "expect_eq $evs[1][\"event\"] \"STOP\" \"then the backend's\"\n"
                "events_pending evs\n"
                "expect (not $evs) \"none left\"\n",
                &out, &err);
    if (r)
        fail_msg("%s", err);
    assert_string_equal(out, "ok: the cached one first\nok: then the backend's\nok: none left\n");
    free(out);
    f->base.ops->destroy(&f->base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dictpath),
        cmocka_unit_test(test_equal),
        cmocka_unit_test(test_assert_qmp),
        cmocka_unit_test(test_case_checks_pass),
        cmocka_unit_test(test_case_checks_fail),
        cmocka_unit_test(test_dictpath_missing_stops),
        cmocka_unit_test(test_event_get),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_img_compare_log),
        cmocka_unit_test(test_img_create_backing),
        cmocka_unit_test(test_events_pending),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
