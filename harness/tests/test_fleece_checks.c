/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Statements of the fleecing iotests (283, copy-before-write,
 * image-fleecing): assert, event_wait match=/quiet=, filter_qemu_io(), the
 * backend ops they need, and what the parser refuses of them. */
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

static void parse_fails(const char *src, const char *want)
{
    char *err = NULL;
    program *p = case_parse_string("t.case", src, &err);
    assert_null(p);
    assert_non_null(err);
    if (!strstr(err, want))
        fail_msg("parse error '%s' lacks '%s'", err, want);
    free(err);
}

static void test_assert(void **state)
{
    fake_backend *f = fake_new();
    fake_reply(f, "query-named-block-nodes",
               "{\"return\": [{\"node-name\": \"a\"}, {\"node-name\": \"b\"}]}");
    char *out = NULL, *err = NULL;
    int r = fake_run_case(f, "launch\n"
                   "qmp_get nodes query-named-block-nodes\n"
                   "let found = false\n"
                   "for n in $nodes[\"return\"]\n"
                   "  if $n[\"node-name\"] == \"b\"\n"
                   "    let found = true\n"
                   "  end\n"
                   "end\n"
                   "assert $found \"b is there\"\n"
                   "qmp_get r job-dismiss {\"id\": \"x\"}\n"
                   "log $r\n"
                   "assert $r == {\"return\": {}} \"a plain return\"\n"
                   "assert not $found \"b is gone\"\n"
                   "log \"never\"\n", &out, &err);
    assert_int_equal(r, -1);
    assert_string_equal(out, "{\"return\": {}}\n");
    assert_string_equal(err, "t.case:13:1: runtime error: assertion failed: b is gone");
    free(out);
    free(err);
    f->base.ops->destroy(&f->base);
}

static void test_event_wait_match_quiet(void **state)
{
    fake_backend *f = fake_new();
    fake_push(f, "JOB_STATUS_CHANGE", "{\"id\": \"j\", \"status\": \"concluded\"}");
    fake_push(f, "JOB_STATUS_CHANGE", "{\"id\": \"j\", \"status\": \"null\"}");
    fake_push(f, "BLOCK_JOB_CANCELLED", "{\"device\": \"j\", \"len\": 1, \"offset\": 0, "
              "\"speed\": 0, \"type\": \"backup\"}");
    char *out = NULL, *err = NULL;
    int r = fake_run_case(f, "launch\n"
                   "event_wait \"JOB_STATUS_CHANGE\" match={\"data\": {\"status\": \"null\"}} "
                   "quiet=true\n"
                   "event_wait \"JOB_STATUS_CHANGE\"\n"
                   "event_wait \"BLOCK_JOB_CANCELLED\" match={\"data\": {\"device\": \"j\"}}\n",
                &out, &err);
    if (r != 0)
        fail_msg("runtime error: %s", err);
    /* the quiet wait took the second event; the first was kept for later */
    assert_string_equal(out,
        "{\"data\": {\"id\": \"j\", \"status\": \"concluded\"}, \"event\": \"JOB_STATUS_CHANGE\", "
        "\"timestamp\": {\"microseconds\": \"USECS\", \"seconds\": \"SECS\"}}\n"
        "{\"data\": {\"device\": \"j\", \"len\": 1, \"offset\": 0, \"speed\": 0, \"type\": "
        "\"backup\"}, \"event\": \"BLOCK_JOB_CANCELLED\", \"timestamp\": {\"microseconds\": "
        "\"USECS\", \"seconds\": \"SECS\"}}\n");
    free(out);
    f->base.ops->destroy(&f->base);
}

static void test_filter_qemu_io(void **state)
{
    fake_backend *f = fake_new();
    char *out = NULL, *err = NULL;
    int r = fake_run_case(f, "log filter_qemu_io(\"wrote 512/512 bytes at offset 0\\n"
                   "512 bytes, 1 ops; 00.00 sec (1.2 MiB/sec and 2.0 ops/sec)\\n\")\n", &out, &err);
    if (r != 0)
        fail_msg("runtime error: %s", err);
    assert_string_equal(out, "wrote 512/512 bytes at offset 0\n"
                             "512 bytes, X ops; XX:XX:XX.X (XXX YYY/sec and XXX ops/sec)\n\n");
    free(out);
    f->base.ops->destroy(&f->base);
}

/* The fake has no VM log. */
static void test_missing_backend_ops(void **state)
{
    const char *const srcs[] = { "launch\nvm_log l\n" };
    const char *const want[] = {
        "t.case:2:1: runtime error: the fake backend cannot read the VM's log",
    };
    for (size_t i = 0; i < 1; i++) {
        fake_backend *f = fake_new();
        char *out = NULL, *err = NULL;
        assert_int_equal(fake_run_case(f, srcs[i], &out, &err), -1);
        assert_string_equal(err, want[i]);
        free(out);
        free(err);
        f->base.ops->destroy(&f->base);
    }
}

static void test_parse_errors(void **state)
{
    parse_fails("assert true\n", "assert takes 2 arguments");
    parse_fails("vm_log \"x\"\n", "expected a variable name");
    parse_fails("event_wait \"X\" nope=1\n", "event_wait has no argument 'nope'");
    parse_fails("log filter_qemu_io(\"a\", \"b\")\n", "filter_qemu_io() takes 1 argument");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_assert),
        cmocka_unit_test(test_event_wait_match_quiet),
        cmocka_unit_test(test_filter_qemu_io),
        cmocka_unit_test(test_missing_backend_ops),
        cmocka_unit_test(test_parse_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
