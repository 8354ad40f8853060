/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The real-QEMU backend against fake drivers: every field the driver sends
 * is checked for its type before use (a null greeting used to reach
 * strcmp(NULL), a null test_dir strdup(NULL)), paths outside the test
 * directory are never sent, and the qemu_driver fuzz target's seeds and
 * regressions (harness/fuzz/{corpus,regressions}/qemu_driver/) run clean.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/backend_qemu.h"
#include "harness/fuzz/qemu_driver_fuzz.h"
#include "tools/fuzz_regress.h"

#define HELLO "{\"hello\": \"blocksim-qemu-driver\", \"version\": 1, " \
              "\"test_dir\": \"/tmp/bs-fake\", \"pid\": \"77\"}\n"
#define OK_NULL "{\"ok\": true, \"result\": null}\n"
#define OK_RET "{\"ok\": true, \"result\": {\"return\": {}}}\n"

/* Runs the fake driver printing text; checks the count and the last error. */
static void expect(const char *text, int want_done, const char *want_err)
{
    char *err = NULL;
    int done = qemu_driver_fuzz_run((const uint8_t *)text, strlen(text), &err);
    if (done != want_done || (want_err && (!err || !strstr(err, want_err))) ||
        (!want_err && err))
        fail_msg("driver output:\n%s\ngot %d, error '%s'; want %d, '%s'", text, done,
                 err ? err : "(none)", want_done, want_err ? want_err : "(none)");
    free(err);
}

static void test_greeting_fields(void **state)
{
    expect("{\"hello\": null}\n", -1,
           "unexpected greeting (qemu driver greeting: \"hello\" is null, expected string)");
    expect("{\"hello\": 5}\n", -1, "\"hello\" is int, expected string");
    expect("{\"hello\": \"other\"}\n", -1, "\"hello\" is 'other', expected");
    expect("{\"hello\": \"blocksim-qemu-driver\", \"test_dir\": null, \"pid\": \"1\"}\n", -1,
           "\"test_dir\" is null, expected string");
    expect("{\"hello\": \"blocksim-qemu-driver\", \"test_dir\": \"/tmp/x\", \"pid\": null}\n",
           -1, "\"pid\" is null, expected string");
    expect("{\"hello\": \"blocksim-qemu-driver\", \"test_dir\": \"/tmp/x\", \"pid\": 12}\n", -1,
           "\"pid\" is int, expected string");
    expect("{\"hello\": \"blocksim-qemu-driver\", \"test_dir\": \"/tmp/x\", \"pid\": \"1/2\"}\n",
           -1, "\"pid\" '1/2' is not a process id");
    expect("{\"hello\": \"blocksim-qemu-driver\", \"test_dir\": \"tmp\", \"pid\": \"1\"}\n", -1,
           "\"test_dir\" 'tmp' is not an absolute directory");
    expect("{\"hello\": \"blocksim-qemu-driver\", \"test_dir\": \"/\", \"pid\": \"1\"}\n", -1,
           "is not an absolute directory");
    expect("{\"hello\": \"blocksim-qemu-driver\", \"test_dir\": \"/x\\u0000y\", \"pid\": \"1\"}\n",
           -1, "is not an absolute directory");
    expect("{\"hello\": \"blocksim-qemu-driver\", \"version\": \"1\", \"test_dir\": \"/x\", "
           "\"pid\": \"1\"}\n", -1, "\"version\" is string, expected int");
    expect("{\"hello\": \"blocksim-qemu-driver\", \"version\": 2, \"test_dir\": \"/x\", "
           "\"pid\": \"1\"}\n", -1, "version 2, expected 1");
    expect("[]\n", -1, "greeting is array, expected an object");
    expect("null\n", -1, "greeting is null, expected an object");
    expect("", -1, "qemu driver exited unexpectedly");
    expect("{\"hello\": \"blocksim-qemu-driver\"", -1, "qemu driver exited unexpectedly");
}

static void test_answer_fields(void **state)
{
    /* all nine requests answered well */
#define SEVEN OK_NULL OK_RET OK_NULL "{\"ok\": true, \"result\": 0}\n" OK_RET \
    "{\"ok\": true, \"result\": {\"event\": \"X\", \"data\": {}, \"timestamp\": " \
    "{\"seconds\": 1, \"microseconds\": 2}}}\n" OK_NULL
    expect(HELLO SEVEN "{\"ok\": true, \"result\": {\"rc\": 0, \"stdout\": \"{}\", "
           "\"stderr\": \"\"}}\n" OK_NULL, 9, NULL);
    /* qemu-img's result: rc, stdout, stderr */
    expect(HELLO SEVEN "{\"ok\": true, \"result\": {\"rc\": 0, \"stdout\": null, "
           "\"stderr\": \"\"}}\n", 7,
           "qemu-img: the driver returned a malformed result: qemu-img result: \"stdout\" is "
           "null, expected string");
    expect(HELLO SEVEN "{\"ok\": true, \"result\": {\"rc\": \"0\", \"stdout\": \"\", "
           "\"stderr\": \"\"}}\n", 7, "qemu-img result: \"rc\" is string, expected int");
    expect(HELLO SEVEN "{\"ok\": true, \"result\": null}\n", 7,
           "qemu-img result is null, expected an object");
    /* the driver says no */
    expect(HELLO "{\"ok\": false, \"error\": \"no VM\"}\n", 0, "no VM");
    /* answers */
    expect(HELLO "{\"ok\": null}\n", 0,
           "qemu driver: bad answer (qemu driver answer: \"ok\" is null, expected boolean): "
           "{\"ok\": null}");
    expect(HELLO "{\"ok\": \"yes\"}\n", 0, "\"ok\" is string, expected boolean");
    expect(HELLO "{\"ok\": false, \"error\": null}\n", 0, "\"error\" is null, expected string");
    expect(HELLO "{\"ok\": false}\n", 0, "qemu driver answer lacks \"error\"");
    expect(HELLO "{\"ok\": true}\n", 0, "qemu driver answer lacks \"result\"");
    expect(HELLO "7\n", 0, "qemu driver answer is int, expected an object");
    expect(HELLO "{\"ok\": tru\n", 0, "qemu driver answer is null, expected an object");
    /* QMP replies: an object holding return or error{class, desc} */
    expect(HELLO OK_NULL OK_NULL, 1,
           "qmp query-block: the driver returned a malformed reply: QMP reply is null, "
           "expected an object");
    expect(HELLO OK_NULL "{\"ok\": true, \"result\": {}}\n", 1,
           "QMP reply has neither \"return\" nor \"error\"");
    expect(HELLO OK_NULL "{\"ok\": true, \"result\": {\"return\": 1, \"error\": {}}}\n", 1,
           "QMP reply has both \"return\" and \"error\"");
    expect(HELLO OK_NULL "{\"ok\": true, \"result\": {\"error\": {\"class\": \"G\"}}}\n", 1,
           "QMP error lacks \"desc\"");
    expect(HELLO OK_NULL "{\"ok\": true, \"result\": {\"error\": {\"class\": null, "
           "\"desc\": \"d\"}}}\n", 1, "QMP error: \"class\" is null, expected string");
    expect(HELLO OK_NULL "{\"ok\": true, \"result\": {\"error\": null}}\n", 1,
           "QMP reply: \"error\" is null, expected object");
    /* events: null (none came) or {event, [data], [timestamp]} */
    expect(HELLO OK_NULL OK_RET "{\"ok\": true, \"result\": {\"event\": null}}\n", 2,
           "next_event: the driver returned a malformed event: QMP event: \"event\" is null, "
           "expected string");
    expect(HELLO OK_NULL OK_RET "{\"ok\": true, \"result\": [1]}\n", 2,
           "QMP event is array, expected an object");
    expect(HELLO OK_NULL OK_RET "{\"ok\": true, \"result\": {\"event\": \"E\", \"data\": 1}}\n",
           2, "QMP event: \"data\" is int, expected object");
    expect(HELLO OK_NULL OK_RET
           "{\"ok\": true, \"result\": {\"event\": \"E\", \"timestamp\": {\"seconds\": \"1\", "
           "\"microseconds\": 0}}}\n", 2,
           "event timestamp: \"seconds\" is string, expected int");
    expect(HELLO OK_NULL OK_RET "{\"ok\": true, \"result\": {\"event\": \"E\", "
           "\"timestamp\": {\"seconds\": 1}}}\n", 2, "event timestamp lacks \"microseconds\"");
    /* img_compare: an exit code */
    expect(HELLO OK_NULL OK_RET OK_NULL OK_NULL, 3,
           "img_compare: the driver returned no exit code");
    expect(HELLO OK_NULL OK_RET OK_NULL "{\"ok\": true, \"result\": \"0\"}\n", 3,
           "img_compare: the driver returned no exit code");
}

/* Paths outside the test directory never reach the driver, even when the
 * interpreter's own check is bypassed. */
static void test_backend_confines_paths(void **state)
{
    int to[2], from[2];
    char *err = NULL, buf[64];
    assert_int_equal(pipe(to), 0);
    assert_int_equal(pipe(from), 0);
    assert_int_equal(write(from[1], HELLO, strlen(HELLO)), (ssize_t)strlen(HELLO));
    close(from[1]);
    bs_backend *b = bs_backend_qemu_attach(0, to[1], from[0], &err);
    assert_non_null(b);
    struct json_object *args = json_tokener_parse("{\"backup-file\": \"/tmp/x.vma\"}");
    assert_null(b->ops->qmp(b, "backup", args, &err));
    assert_string_equal(err, "qmp backup refused: backup-file: '/tmp/x.vma' is outside the test "
                             "directory /tmp/bs-fake");
    free(err);
    err = NULL;
    json_object_put(args);
    args = json_tokener_parse("{\"driver\": \"qcow2\", \"file\": {\"driver\": \"file\", "
                              "\"filename\": \"/tmp/bs-fake/../../etc/passwd\"}}");
    assert_null(b->ops->qmp(b, "blockdev-add", args, &err));
    assert_string_equal(err, "qmp blockdev-add refused: filename: '/tmp/bs-fake/../../etc/passwd' "
                             "is outside the test directory /tmp/bs-fake");
    free(err);
    err = NULL;
    json_object_put(args);
    assert_int_equal(b->ops->img_create(b, "qcow2", "/etc/x", 1, NULL, NULL, &err), -1);
    assert_string_equal(err, "img_create refused: '/etc/x' is outside the test directory "
                             "/tmp/bs-fake");
    free(err);
    err = NULL;
    assert_int_equal(b->ops->img_compare(b, "/tmp/bs-fake/a", "rel", &err), -1);
    assert_string_equal(err, "img_compare refused: 'rel' is not an absolute path inside the test "
                             "directory /tmp/bs-fake");
    free(err);
    err = NULL;
    assert_int_equal(b->ops->img_rebase_unsafe(b, "/tmp/bs-fake/a", "../b", &err), -1);
    assert_string_equal(err, "img_rebase_unsafe backing refused: '../b' is outside the test "
                             "directory /tmp/bs-fake");
    free(err);
    err = NULL;
    const char *cmds[] = { "write 0 512" };
    assert_null(b->ops->qemu_io(b, "/etc/passwd", NULL, 0, cmds, 1, &err));
    assert_string_equal(err, "qemu-io refused: '/etc/passwd' is outside the test directory "
                             "/tmp/bs-fake");
    free(err);
    err = NULL;
    assert_null(b->ops->img_map(b, "nbd+unix:///e?socket=/tmp/x.sock", NULL, &err));
    assert_string_equal(err, "qemu-img map refused: '/tmp/x.sock' is outside the test directory "
                             "/tmp/bs-fake");
    free(err);
    /* nothing was sent */
    int fl = fcntl(to[0], F_GETFL);
    fcntl(to[0], F_SETFL, fl | O_NONBLOCK);
    assert_int_equal(read(to[0], buf, sizeof(buf)), -1);
    b->ops->destroy(b);
    close(to[0]);
}

static void regression(const char *path, const uint8_t *data, size_t size)
{
    char *err = NULL;
    qemu_driver_fuzz_run(data, size, &err);
    free(err);
}

static void test_regressions(void **state)
{
    fuzz_regress_each("harness/fuzz/regressions/qemu_driver", regression);
    assert_true(fuzz_regress_each("harness/fuzz/corpus/qemu_driver", regression) > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_greeting_fields),
        cmocka_unit_test(test_answer_fields),
        cmocka_unit_test(test_backend_confines_paths),
        cmocka_unit_test(test_regressions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
