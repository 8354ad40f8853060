/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The language pieces the QEMU iotest translations use: functions (get,
 * has, len, pair), log/qmp_log indent=N, qmp_get, launch drives=/args=,
 * qemu_img, qemu_img_info, img_create backing=. Against the fake backend.
 */
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
#include "harness/tests/fake_backend.h"

static void expect(fake_backend *f, const char *src, const char *want)
{
    int own = !f;
    if (own)
        f = fake_new();
    char *out, *err;
    if (fake_run_case(f, src, &out, &err) != 0)
        fail_msg("runtime error: %s", err);
    assert_string_equal(out, want);
    free(out);
    if (own)
        f->base.ops->destroy(&f->base);
}

static void expect_runtime_err(const char *src, const char *want)
{
    fake_backend *f = fake_new();
    char *out, *err;
    assert_int_not_equal(fake_run_case(f, src, &out, &err), 0);
    assert_string_equal(err, want);
    free(out);
    free(err);
    f->base.ops->destroy(&f->base);
}

static void expect_parse_err(const char *src, const char *want)
{
    char *perr = NULL;
    program *p = case_parse_string("t.case", src, &perr);
    assert_null(p);
    assert_string_equal(perr, want);
    free(perr);
}

static void test_functions(void **state)
{
    expect(NULL,
           "let d = {\"a\": 1, \"b\": [1, 2]}\n"
           "log get($d, \"a\")\n"
           "log get($d, \"zz\")\n"
           "log get($d, \"zz\", [])\n"
           "log has($d, \"b\")\n"
           "log has($d, \"zz\")\n"
           "log len($d[\"b\"])\n"
           "log len(\"abc\")\n"
           "log pair(\"k\" + \"ey\", $d[\"b\"])\n",
           "1\nNone\n[]\nTrue\nFalse\n2\n3\n{\"key\": [1, 2]}\n");
    expect_runtime_err("log get([1], \"a\")\n",
                       "t.case:1:5: runtime error: get() needs an object, got something else");
    expect_runtime_err("log pair(1, 2)\n", "t.case:1:5: runtime error: pair() needs a string key");
    expect_parse_err("log get(1)\n", "t.case:1:5: error: get() takes 2 to 3 arguments, got 1");
    expect_parse_err("log len(1, 2)\n", "t.case:1:5: error: len() takes 1 argument, got 2");
}

static void test_indent(void **state)
{
    expect(NULL, "log {\"b\": [1, {}], \"a\": {}} indent=2\n",
           "{\n  \"a\": {},\n  \"b\": [\n    1,\n    {}\n  ]\n}\n");
    expect(NULL, "log \"text\" indent=2\n", "text\n");
    /* qmp_log: execute before arguments, arguments sorted, '_' -> '-' at the
     * top and in objects inside lists; the reply sorted */
    expect(NULL, "qmp_log transaction {\"actions\": [{\"type\": \"abort\", \"data\": {}}],"
                 " \"x_y\": {\"a_b\": 1}} indent=2\n",
           "{\n  \"execute\": \"transaction\",\n  \"arguments\": {\n    \"actions\": [\n"
           "      {\n        \"data\": {},\n        \"type\": \"abort\"\n      }\n    ],\n"
           "    \"x-y\": {\n      \"a_b\": 1\n    }\n  }\n}\n{\n  \"return\": {}\n}\n");
    expect_runtime_err("log 1 indent=(-1)\n", "t.case:1:7: runtime error: indent must be between 0 and 64");
}

static void test_qmp_get(void **state)
{
    fake_backend *f = fake_new();
    fake_reply(f, "query-block", "{\"return\": [{\"device\": \"drive0\", \"inserted\": {}}]}");
    expect(f, "qmp_get res query-block\n"
              "log get($res[\"return\"][0][\"inserted\"], \"dirty-bitmaps\", [])\n"
              "log $res[\"return\"][0][\"device\"]\n", "[]\ndrive0\n");
    assert_non_null(strstr(f->calls.s, "qmp query-block -\n"));
    f->base.ops->destroy(&f->base);
    expect_parse_err("qmp_get \"x\" query-block\n",
                     "t.case:1:9: error: expected a variable name (without '$') (a bare word)");
    expect_runtime_err("qmp_get r x [1]\n",
                       "t.case:1:13: runtime error: QMP arguments must be an object, got list");
}

static void test_launch_drives(void **state)
{
    fake_backend *f = fake_new();
    expect(f, "launch drives=[{\"path\": \"/tmp/fake-td/i\", \"opts\": \"node-name=base\"},"
              " {\"path\": \"/tmp/fake-td/j\", \"interface\": \"none\"}] args=[\"-object\", \"iothread,id=t\"]\n",
           "");
    assert_non_null(strstr(f->calls.s,
        "launch_args -drive if=virtio,id=drive0,file=/tmp/fake-td/i,format=qcow2,cache=writeback,"
        "aio=threads,node-name=base -drive if=none,id=drive1,file=/tmp/fake-td/j,format=qcow2,"
        "cache=writeback,aio=threads -object iothread,id=t -machine pc -accel tcg\n"));
    f->base.ops->destroy(&f->base);
    expect_runtime_err("launch drives=[{\"file\": \"/tmp/fake-td/i\"}]\n",
        "t.case:1:8: runtime error: drives[0]: unknown key \"file\" (path, opts, interface, format)");
    expect_runtime_err("launch drives=[{\"opts\": \"\"}]\n",
                       "t.case:1:8: runtime error: drives[0] needs a \"path\"");
    expect_runtime_err("launch args=[1]\n", "t.case:1:8: runtime error: args[0] must be a string");
    expect_runtime_err("launch drives=[{\"path\": \"/etc/passwd\"}]\n",
                       "t.case:1:8: runtime error: launch drives: '/etc/passwd' is outside the test "
                       "directory /tmp/fake-td");
}

static void test_qemu_img(void **state)
{
    fake_backend *f = fake_new();
    fake_reply(f, "qemu-img info", "{\"format-specific\": {\"data\": {\"bitmaps\": []}}}");
    expect(f, "qemu_img \"bitmap\" \"--add\" \"/tmp/fake-td/b\" \"bm\"\n"
              "qemu_img_info i \"/tmp/fake-td/b\" force_share=true\n"
              "log has($i[\"format-specific\"][\"data\"], \"bitmaps\")\n"
              "img_create \"qcow2\" \"/tmp/fake-td/t\" 1024 backing=\"/tmp/fake-td/b\" backing_fmt=\"qcow2\"\n",
           "True\n");
    assert_non_null(strstr(f->calls.s, "qemu-img bitmap --add /tmp/fake-td/b bm\n"
                                       "qemu-img info --output=json --force-share /tmp/fake-td/b\n"));
    f->base.ops->destroy(&f->base);
    expect_runtime_err("qemu_img fail \"x\"\n",
                       "t.case:1:1: runtime error: qemu-img fail failed (exit 1): qemu-img: it failed\n");
    expect_runtime_err("qemu_img_info i \"/tmp/fake-td/b\"\n",
                       "t.case:1:1: runtime error: qemu-img info /tmp/fake-td/b printed no JSON object");
}

static void test_img_info_log_and_file_xor(void **state)
{
    fake_backend *f = fake_new();
    /* the fake's qemu-img info prints the reply set for it: here the human
     * lines 242 filters */
    fake_reply(f, "qemu-img info", "{\"x\": 1}");
    expect(f, "img_info_log \"/tmp/fake-td/d\" extra=[\"--force-share\"]\n",
           "{ \"x\": 1 }\n");
    assert_non_null(strstr(f->calls.s, "qemu-img info -f qcow2 --force-share /tmp/fake-td/d\n"));
    f->base.ops->destroy(&f->base);
    expect_runtime_err("img_info_log \"/tmp/fake-td/d\" extra=[1]\n",
                       "t.case:1:31: runtime error: extra[0] must be a string");
    expect_runtime_err("file_xor \"/tmp/fake-td/d\" 0x5000f 4\n",
                       "t.case:1:1: runtime error: the fake backend cannot change files");
    expect_runtime_err("file_xor \"/tmp/fake-td/d\" 1 256\n",
                       "t.case:1:1: runtime error: file_xor needs an offset >= 0 and a mask of 0..255");
    expect_runtime_err("file_xor \"/etc/passwd\" 1 1\n",
                       "t.case:1:1: runtime error: file_xor: '/etc/passwd' is outside the test "
                       "directory /tmp/fake-td");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_functions),
        cmocka_unit_test(test_indent),
        cmocka_unit_test(test_qmp_get),
        cmocka_unit_test(test_launch_drives),
        cmocka_unit_test(test_qemu_img),
        cmocka_unit_test(test_img_info_log_and_file_xor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
