/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sh_cmd TEXT wait=PATTERN (QEMU 7.2's _send_qemu_cmd with the VM's whole
 * output stream), its quit, sleep, and _filter_img_create, on the fake
 * backend (which queues job events for blockdev-backup and job-cancel).
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

#define TS "{\"timestamp\": {\"seconds\":  TIMESTAMP, \"microseconds\":  TIMESTAMP}, "

static char *run_ok(fake_backend *f, const char *src)
{
    char *out = NULL, *err = NULL;
    if (fake_run_case(f, src, &out, &err) != 0)
        fail_msg("case failed: %s", err ? err : "?");
    free(err);
    return out;
}

static void expect_runtime_error(fake_backend *f, const char *src, const char *want)
{
    char *out = NULL, *err = NULL;
    if (fake_run_case(f, src, &out, &err) == 0)
        fail_msg("ran without error: %s", src);
    assert_string_equal(err, want);
    free(out);
    free(err);
}

static void test_events_until_the_pattern(void **state)
{
    fake_backend *f = fake_new();
    /* the fake backend emits a backup's whole life inside the command (data
     * members in its own order): all of it comes before the reply (dropped: {"return": {}}), whatever the
     * wait; the next command shows its echo and its reply */
    char *out = run_ok(f,
        "vm_session launch\n"
        "sh_cmd \"{'execute': 'blockdev-backup', 'arguments': {'job-id': 'j'}}\" "
        "wait=[\"running\", \"status\"] drop_empty_return=true\n"
        "sh_cmd \"{'execute': 'query-jobs'}\" wait=\"return\"\n");
    assert_string_equal(out,
        "{'execute': 'blockdev-backup', 'arguments': {'job-id': 'j'}}\n"
        TS "\"event\": \"JOB_STATUS_CHANGE\", \"data\": {\"id\": \"j\", \"status\": \"created\"}}\n"
        TS "\"event\": \"JOB_STATUS_CHANGE\", \"data\": {\"id\": \"j\", \"status\": \"running\"}}\n"
        TS "\"event\": \"JOB_STATUS_CHANGE\", \"data\": {\"id\": \"j\", \"status\": \"waiting\"}}\n"
        TS "\"event\": \"JOB_STATUS_CHANGE\", \"data\": {\"id\": \"j\", \"status\": \"pending\"}}\n"
        TS "\"event\": \"BLOCK_JOB_COMPLETED\", \"data\": {\"device\": \"j\", \"len\": 65536, "
        "\"offset\": 65536, \"speed\": 0, \"type\": \"backup\"}}\n"
        TS "\"event\": \"JOB_STATUS_CHANGE\", \"data\": {\"id\": \"j\", \"status\": \"concluded\"}}\n"
        TS "\"event\": \"JOB_STATUS_CHANGE\", \"data\": {\"id\": \"j\", \"status\": \"null\"}}\n"
        "{'execute': 'query-jobs'}\n"
        "{\"return\": {}}\n");
    free(out);
    f->base.ops->destroy(&f->base);
}

static void test_node_ids_and_no_match(void **state)
{
    fake_backend *f = fake_new();
    fake_reply(f, "blockdev-del", "{\"error\": {\"class\": \"GenericError\", \"desc\": "
               "\"Node 'n' is busy: node is used as backing hd of '#block123'\"}}");
    char *out = run_ok(f,
        "vm_session launch\n"
        "sh_cmd \"{'execute': 'blockdev-del'}\" wait=\"error\" filter_node_ids=true\n");
    assert_string_equal(out, "{'execute': 'blockdev-del'}\n"
                        "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Node 'n' is busy: "
                        "node is used as backing hd of 'NODE_NAME'\"}}\n");
    free(out);
    /* nothing more comes: the wait fails, naming the pattern */
    expect_runtime_error(f, "vm_session launch\nsh_cmd \"{'execute': 'stop'}\" wait=\"READY\"",
                         "t.case:2:1: runtime error: no line of QEMU's output matched 'READY'");
    expect_runtime_error(f, "vm_session launch\nsh_cmd \"{'execute': 'stop'}\" wait=[1]",
                         "t.case:2:1: runtime error: sh_cmd wait= takes a pattern (a basic "
                         "regular expression) or a list of at most 8");
    expect_runtime_error(f, "sh_cmd \"{'execute': 'stop'}\" wait=\"x\"",
                         "t.case:1:1: runtime error: sh_cmd wait= needs a running vm_session");
    /* the fake backend cannot follow QEMU to its exit, nor sleep */
    expect_runtime_error(f, "vm_session launch\nsh_cmd \"{'execute': 'quit'}\" wait=\"return\"",
                         "t.case:2:1: runtime error: the fake backend cannot quit with its events");
    expect_runtime_error(f, "sleep 1", "t.case:1:1: runtime error: the fake backend cannot sleep");
    expect_runtime_error(f, "sleep \"half\"",
                         "t.case:1:1: runtime error: sleep takes a number of seconds from 0 to 600");
    expect_runtime_error(f, "sleep (0 - 1)",
                         "t.case:1:1: runtime error: sleep takes a number of seconds from 0 to 600");
    f->base.ops->destroy(&f->base);
}

static void test_filter_img_create(void **state)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        { "Formatting 'o.qcow2', fmt=qcow2 cluster_size=65536 extended_l2=off "
          "compression_type=zlib size=1048576 backing_file=t.qcow2 backing_fmt=qcow2 "
          "lazy_refcounts=off refcount_bits=16",
          "Formatting 'o.qcow2', fmt=qcow2 size=1048576 backing_file=t.qcow2 backing_fmt=qcow2" },
        { "Formatting 'r', fmt=raw size=512", "Formatting 'r', fmt=raw size=512" },
        { "Formatting 'p', fmt=qcow2 preallocation=off size=1 encryption=on",
          "Formatting 'p', fmt=qcow2 size=1 encryption=on preallocation=off" },
        { "wrote 1/1 bytes", "wrote 1/1 bytes" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *f = shell_filter_img_create(cases[i].in);
        assert_string_equal(f, cases[i].out);
        free(f);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_events_until_the_pattern),
        cmocka_unit_test(test_node_ids_and_no_match),
        cmocka_unit_test(test_filter_img_create),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
