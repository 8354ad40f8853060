/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Shell-style tests (bash iotests such as 2018's 223): the parser's checks
 * of their statements, the filters and renderings of harness/shell_style.c,
 * and the statements on the fake backend (which has no client tools).
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
#include "harness/shell_style.h"
#include "harness/tests/fake_backend.h"

static void expect_parse_error(const char *src, const char *want)
{
    char *err = NULL;
    program *p = case_parse_string("x.case", src, &err);
    if (p)
        fail_msg("accepted: %s", src);
    if (strcmp(err, want))
        fail_msg("source:\n%s\ngot:  %s\nwant: %s", src, err, want);
    free(err);
}

static void test_parse_errors(void **state)
{
    static const struct {
        const char *src, *err;
    } cases[] = {
        { "shell_test", "x.case:1:1: error: shell_test takes 1 argument, got 0" },
        { "shell_test qcow2", "x.case:1:12: error: expected an expression, found word 'qcow2' "
                              "(variables need '$', strings quotes)" },
        { "qemu_io_run \"f\"", "x.case:1:1: error: qemu_io_run takes at least 2 arguments, got 1" },
        { "qemu_io_run \"f\" \"w 0 1\" ro=true",
          "x.case:1:25: error: qemu_io_run has no argument 'ro'" },
        { "qemu_io_run \"f\" \"w 0 1\" fmt=\"raw\" fmt=\"raw\"",
          "x.case:1:35: error: argument 'fmt' given twice" },
        { "qemu_io_run f \"w 0 1\"", "x.case:1:13: error: expected an expression, found word 'f' "
                                     "(variables need '$', strings quotes)" },
        { "vm_session", "x.case:1:1: error: vm_session takes 1 argument, got 0" },
        { "vm_session boot", "x.case:1:12: error: vm_session takes 'run', 'launch' or 'qmp', not 'boot'" },
        { "vm_session \"run\"", "x.case:1:12: error: expected 'run', 'launch' or 'qmp' (a bare word)" },
        { "vm_session run launch", "x.case:1:1: error: vm_session takes 1 argument, got 2" },
        { "vm_session run argv=\"-m 1\"", "x.case:1:16: error: vm_session has no argument 'argv'" },
        { "sh_qmp", "x.case:1:1: error: sh_qmp takes 1 to 2 arguments, got 0" },
        { "sh_qmp quit now", "x.case:1:13: error: expected the command's arguments, found word "
                             "'now' (variables need '$', strings quotes)" },
        { "img_map", "x.case:1:1: error: img_map takes 1 argument, got 0" },
        { "img_map \"u\" bitmap=\"b\"", "x.case:1:13: error: img_map has no argument 'bitmap'" },
        { "img_create \"qcow2\" \"f\" 1 show=true",
          "x.case:1:26: error: img_create has no argument 'show'" },
        { "sh_cmd", "x.case:1:1: error: sh_cmd takes 1 argument, got 0" },
        { "sh_cmd quit", "x.case:1:8: error: expected an expression, found word 'quit' "
                         "(variables need '$', strings quotes)" },
        { "qemu_nbd", "x.case:1:1: error: qemu_nbd takes at least 1 argument, got 0" },
        { "qemu_nbd_stop \"x\"", "x.case:1:1: error: qemu_nbd_stop takes 0 arguments, got 1" },
        { "img_map \"u\" start=1", "x.case:1:13: error: img_map has no argument 'start'" },
        { "shell_test \"qcow2\" version=\"7.2\"",
          "x.case:1:20: error: shell_test has no argument 'version'" },
        { "sock_file \"s\" \"nbd.sock\"", "x.case:1:11: error: expected a variable name (a bare word)" },
        { "sock_file s", "x.case:1:1: error: sock_file takes 2 arguments, got 1" },
        { "qemu_io_interactive", "x.case:1:1: error: qemu_io_interactive takes at least 1 argument, got 0" },
        { "qemu_io_cmd", "x.case:1:1: error: qemu_io_cmd takes 1 argument, got 0" },
        { "qemu_io_close \"x\"", "x.case:1:1: error: qemu_io_close takes 0 arguments, got 1" },
        { "bitmaps loud=true", "x.case:1:9: error: bitmaps has no argument 'loud'" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        expect_parse_error(cases[i].src, cases[i].err);
}

static void test_session_output(void **state)
{
    fake_backend *f = fake_new();
    fake_reply(f, "nbd-server-add",
               "{\"error\": {\"class\": \"GenericError\", \"desc\": \"NBD server not running\"}}");
    char *out, *err;
    int r = fake_run_case(f,
        "shell_test \"qcow2\"\n"
        "img_create $IMGFMT $TEST_IMG 4194304 print=true\n"
        "vm_session run\n"
        "sh_qmp qmp_capabilities\n"
        "sh_qmp blockdev-add {\"node-name\": \"n\", \"driver\": $IMGFMT}\n"
        "sh_qmp quit\n"
        "vm_session launch\n"
        "sh_qmp qmp_capabilities\n"
        "sh_qmp nbd-server-add {\"device\": \"n\"}\n"
        "sh_qmp quit\n"
        "log \"*** done\"\n", &out, &err);
    if (r != 0)
        fail_msg("runtime error: %s", err);
    assert_string_equal(out,
        "Formatting 'TEST_DIR/t.IMGFMT', fmt=IMGFMT size=4194304\n"
        "Testing:\n"
        "QMP_VERSION\n"
        "{\"return\": {}}\n"
        "{\"return\": {}}\n"
        "{\"return\": {}}\n"
        "{\"timestamp\": {\"seconds\": TIMESTAMP, \"microseconds\": TIMESTAMP}, "
        "\"event\": \"SHUTDOWN\", \"data\": {\"guest\": false}}\n"
        "\n"
        "{\"return\": {}}\n"
        "{\"error\": {\"class\": \"GenericError\", \"desc\": \"NBD server not running\"}}\n"
        "{\"return\": {}}\n"
        "*** done\n");
    /* shell tests send arguments as written: no '_' to '-' */
    assert_non_null(strstr(f->calls.s, "blockdev-add"));
    free(out);
    f->base.ops->destroy(&f->base);
}

static void expect_runtime_error(const char *src, const char *want)
{
    fake_backend *f = fake_new();
    char *out, *err;
    if (fake_run_case(f, src, &out, &err) == 0)
        fail_msg("ran without error: %s", src);
    assert_string_equal(err, want);
    free(out);
    free(err);
    f->base.ops->destroy(&f->base);
}

static void test_runtime_errors(void **state)
{
    expect_runtime_error("sh_qmp quit", "t.case:1:1: runtime error: sh_qmp outside a vm_session");
    expect_runtime_error("qemu_io_run \"/x\" \"r 0 1\"",
                         "t.case:1:1: runtime error: the fake backend cannot run qemu-io");
    expect_runtime_error("img_map \"nbd+unix:///n?socket=/s\"",
                         "t.case:1:1: runtime error: the fake backend cannot run qemu-img map");
    expect_runtime_error("vm_session run\nvm_session launch",
                         "t.case:2:1: runtime error: the VM is already running");
    expect_runtime_error("shell_test \"qcow2\" qemu=\"9.9\"",
                         "t.case:1:20: runtime error: shell_test knows the dialects of QEMU "
                         "\"3.0\" and \"7.2\", not \"9.9\"");
    expect_runtime_error("vm_session launch\nsh_cmd \"{\\\"arguments\\\": {}}\"",
                         "t.case:2:1: runtime error: sh_cmd needs a QMP command in JSON "
                         "({\"execute\": ...}), not: {\"arguments\": {}}");
    expect_runtime_error("img_map \"driver=file,filename=/x\" image_opts=true",
                         "t.case:1:1: runtime error: the fake backend cannot run qemu-img map");
    expect_runtime_error("qemu_io_run \"driver=file,filename=/x\" \"r 0 1\" image_opts=true",
                         "t.case:1:1: runtime error: the fake backend cannot run qemu-io");
    expect_runtime_error("qemu_nbd \"-k\" \"/s\" \"/x\"",
                         "t.case:1:1: runtime error: the fake backend cannot start qemu-nbd");
    expect_runtime_error("qemu_io_cmd \"read 0 1\"",
                         "t.case:1:1: runtime error: qemu_io_cmd without a qemu_io_interactive");
    expect_runtime_error("qemu_io_interactive \"-f\" \"raw\"",
                         "t.case:1:1: runtime error: qemu_io_interactive needs an image");
    expect_runtime_error("qemu_io_interactive \"-z\" \"/x\"",
                         "t.case:1:1: runtime error: qemu_io_interactive takes -r, -f FMT and the "
                         "image, not '-z'");
    expect_runtime_error("sock_file s \"a/b\"",
                         "t.case:1:13: runtime error: sock_file: 'a/b' is not a file name");
}

static void test_filter_qemu_io(void **state)
{
    char *f = shell_filter_qemu_io(
        "wrote 512/512 bytes at offset 0\n"
        "512 bytes, 1 ops; 00.00 sec (500 KiB/sec and 1000.0000 ops/sec)\n"
        "read 1048576/1048576 bytes at offset 1048576\n"
        "1 MiB, 3 ops; 0:00:01.25 (inf EiB/sec and inf ops/sec)\n"
        "Pattern verification failed at offset 0, 512 bytes\n");
    assert_string_equal(f,
        "wrote 512/512 bytes at offset 0\n"
        "512 bytes, X ops; XX:XX:XX.X (XXX YYY/sec and XXX ops/sec)\n"
        "read 1048576/1048576 bytes at offset 1048576\n"
        "1 MiB, X ops; XX:XX:XX.X (XXX YYY/sec and XXX ops/sec)\n"
        "Pattern verification failed at offset 0, 512 bytes\n");
    free(f);
}

static void test_paths_and_qmp_lines(void **state)
{
    char *f = shell_filter_paths("Could not open '/td/t.qcow2': /td/x", "/td", "qcow2");
    assert_string_equal(f, "Could not open 'TEST_DIR/t.IMGFMT': TEST_DIR/x");
    free(f);
    /* QEMU's member order is kept; timestamps become bare TIMESTAMP */
    json_object *o = json_tokener_parse(
        "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"E\", "
        "\"data\": {\"z\": [1, \"a\\\"b\"], \"a\": null}}");
    char *line = shell_qmp_line(o);
    assert_string_equal(line, "{\"timestamp\": {\"seconds\": TIMESTAMP, \"microseconds\": TIMESTAMP}, "
                              "\"event\": \"E\", \"data\": {\"z\": [1, \"a\\\"b\"], \"a\": null}}");
    free(line);
    json_object_put(o);
}

static void test_map_json(void **state)
{
    json_object *m = json_tokener_parse(
        "[{\"start\": 0, \"length\": 65536, \"depth\": 0, \"zero\": true, \"data\": false},"
        " {\"start\": 65536, \"length\": 65536, \"depth\": 1, \"zero\": false, \"data\": true,"
        "  \"offset\": 327680}]");
    sbuf b = {0};
    assert_int_equal(shell_map_json(&b, m), 0);
    assert_string_equal(sbuf_str(&b),
        "[{ \"start\": 0, \"length\": 65536, \"depth\": 0, \"zero\": true, \"data\": false},\n"
        "{ \"start\": 65536, \"length\": 65536, \"depth\": 1, \"zero\": false, \"data\": true,"
        " \"offset\": OFFSET}]");
    sbuf_free(&b);
    json_object_put(m);
    m = json_tokener_parse("[{\"start\": 0}]");
    assert_int_equal(shell_map_json(&b, m), -1);
    sbuf_free(&b);
    json_object_put(m);
}

/* 7.2's qemu-img map: "present" after depth, offset as OFFSET */
static void test_map_json72(void **state)
{
    json_object *m = json_tokener_parse(
        "[{\"start\": 0, \"length\": 512, \"depth\": 0, \"present\": true, \"zero\": false,"
        "  \"data\": true, \"offset\": 0},"
        " {\"start\": 512, \"length\": 512, \"depth\": 0, \"present\": false, \"zero\": false,"
        "  \"data\": false}]");
    sbuf b = {0};
    assert_int_equal(shell_map_json72(&b, m), 0);
    assert_string_equal(sbuf_str(&b),
        "[{ \"start\": 0, \"length\": 512, \"depth\": 0, \"present\": true, \"zero\": false,"
        " \"data\": true, \"offset\": OFFSET},\n"
        "{ \"start\": 512, \"length\": 512, \"depth\": 0, \"present\": false, \"zero\": false,"
        " \"data\": false}]");
    sbuf_free(&b);
    json_object_put(m);
    /* the 3.0 form has no "present": a 7.2 renderer needs it */
    m = json_tokener_parse("[{\"start\": 0, \"length\": 1, \"depth\": 0, \"zero\": true,"
                           " \"data\": false}]");
    assert_int_equal(shell_map_json72(&b, m), -1);
    sbuf_free(&b);
    json_object_put(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_session_output),
        cmocka_unit_test(test_runtime_errors),
        cmocka_unit_test(test_filter_qemu_io),
        cmocka_unit_test(test_paths_and_qmp_lines),
        cmocka_unit_test(test_map_json),
        cmocka_unit_test(test_map_json72),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
