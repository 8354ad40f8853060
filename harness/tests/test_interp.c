/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The interpreter against the fake backend: output of every command, job
 * handling as iotests 7.2 does it, and runtime errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/case.h"
#include "harness/interp.h"
#include "harness/tests/fake_backend.h"

/* Runs src on a fresh fake and checks the transcript. */
static void expect_out(const char *src, const char *want)
{
    fake_backend *f = fake_new();
    char *out, *err;
    int r = fake_run_case(f, src, &out, &err);
    if (r != 0)
        fail_msg("runtime error: %s", err);
    assert_string_equal(out, want);
    free(out);
    f->base.ops->destroy(&f->base);
}

/* Runs src on f (NULL: a fresh fake) and checks the runtime error. */
static void expect_err(fake_backend *f, const char *src, const char *want)
{
    int own = !f;
    if (own)
        f = fake_new();
    char *out, *err;
    int r = fake_run_case(f, src, &out, &err);
    assert_int_equal(r, -1);
    assert_non_null(err);
    assert_string_equal(err, want);
    free(out);
    free(err);
    if (own)
        f->base.ops->destroy(&f->base);
}

static void test_log_values(void **state)
{
    expect_out("log \"a\"\nblank\nlog 42\nlog true\nlog false\nlog null\nlog none\n"
               "log {\"b\": 1, \"a\": [1, \"x\"]}\nlog \"x\\ny\"\n",
               "a\n\n42\nTrue\nFalse\nNone\nNone\n{\"a\": [1, \"x\"], \"b\": 1}\nx\ny\n");
}

/* Keywords before positional arguments mean the same as after them. */
static void test_keywords_first(void **state)
{
    expect_out("log indent=2 {\"a\": 1}\nlog {\"a\": 1} indent=2\n",
               "{\n  \"a\": 1\n}\n{\n  \"a\": 1\n}\n");
    fake_backend *f = fake_new();
    char *out1, *out2, *err;
    assert_int_equal(fake_run_case(f, "launch\nqmp_log indent=1 query-jobs\n", &out1, &err), 0);
    assert_int_equal(fake_run_case(f, "launch\nqmp_log query-jobs indent=1\n", &out2, &err), 0);
    assert_string_equal(out1, out2);
    assert_non_null(strstr(out1, "query-jobs"));
    free(out1);
    free(out2);
    f->base.ops->destroy(&f->base);
}

static void test_expressions_out(void **state)
{
    fake_backend *f = fake_new();
    char *out, *err;
    int r = fake_run_case(f,
                "let a = 7\nlet b = -3\n"
                "log $a / 2\nlog $a % 3\nlog $a / $b\nlog $a % $b\nlog -$a\n"
                "log 2 + 3 * 4\nlog (2 + 3) * 4\nlog $a - 1 - 1\n"
                "log \"x\" + \"y\"\nlog [1] + [2]\nlog {\"a\": 1, \"b\": 1} + {\"b\": 2}\n"
                "log 1 < 2\nlog 2 <= 1\nlog 3 > 2\nlog 3 >= 4\nlog \"a\" < \"b\"\n"
                "log 1 == 1\nlog 1 != 1\nlog none == none\nlog none == null\nlog null == null\n"
                "log 0 or \"d\"\nlog 1 and 0\nlog not 0\nlog not \"\"\nlog not [1]\n"
                "log [[1, 2], [3]][0][1]\nlog [1, 2][-1]\nlog {\"k\": \"v\"}[\"k\"]\n"
                "log basename(\"/a/b/c\")\nlog basename(\"c\")\n"
                "let t = true\nlet n = none\nlog \"${a}|${t}|${n}|${x}\"\n",
                &out, &err);
    assert_int_equal(r, -1);
    assert_string_equal(out, "3\n1\n-3\n-2\n-7\n14\n20\n5\nxy\n[1, 2]\n{\"a\": 1, \"b\": 2}\n"
                             "True\nFalse\nTrue\nFalse\nTrue\n"
                             "True\nFalse\nTrue\nFalse\nTrue\n"
                             "d\n0\nTrue\nTrue\nFalse\n2\n2\nv\nc\nc\n");
    assert_string_equal(err, "t.case:36:5: runtime error: undefined variable 'x' in string");
    free(out);
    free(err);
    f->base.ops->destroy(&f->base);
}

static void test_control_flow(void **state)
{
    expect_out("proc p x\n  if $x == 1\n    log \"one\"\n  elif $x == 2\n    log \"two\"\n"
               "  else\n    log \"many\"\n  end\nend\n"
               "for i in [1, 2, 3]\n  call p $i\nend\n"
               "proc outer v\n  call inner\nend\nproc inner\n  log \"sees ${v}\"\nend\n"
               "call outer 5\n"
               "if 0\n  log \"no\"\nend\n",
               "one\ntwo\nmany\nsees 5\n");
}

static void test_files_and_filter(void **state)
{
    expect_out("files img other\nlog $img\nlog {\"f\": $other}\nlog \"/tmp/fake-td/4243-x\"\n",
               "TEST_DIR/PID-img\n{\"f\": \"TEST_DIR/PID-other\"}\n/tmp/fake-td/4243-x\n");
}

static void test_qmp_commands(void **state)
{
    fake_backend *f = fake_new();
    char *out, *err;
    fake_reply(f, "bad-cmd", "{\"error\": {\"class\": \"GenericError\", \"desc\": \"no\"}}");
    int r = fake_run_case(f,
                "launch\n"
                "qmp_log blockdev-add {\"node-name\": \"n\", \"driver\": \"qcow2\", "
                "\"file\": {\"filename\": \"/tmp/fake-td/x\", \"driver\": \"file\"}, \"gone\": none}\n"
                "qmp_log query-jobs\n"
                "qmp_log \"bad-cmd\" {\"a\": 1}\n"
                "qmp_return blockdev-add {\"x\": 1}\n"
                "qmp silent-one\n"
                "hmp_io \"drive0\" \"flush\"\n"
                "shutdown\nshutdown\n",
                &out, &err);
    assert_int_equal(r, 0);
    assert_string_equal(out,
        "{\"execute\": \"blockdev-add\", \"arguments\": {\"driver\": \"qcow2\", \"file\": "
        "{\"driver\": \"file\", \"filename\": \"/tmp/fake-td/x\"}, \"node-name\": \"n\"}}\n"
        "{\"return\": {}}\n"
        "{\"execute\": \"query-jobs\", \"arguments\": {}}\n"
        "{\"return\": {}}\n"
        "{\"execute\": \"bad-cmd\", \"arguments\": {\"a\": 1}}\n"
        "{\"error\": {\"class\": \"GenericError\", \"desc\": \"no\"}}\n"
        "{}\n"
        "{\"return\": \"\"}\n");
    assert_non_null(strstr(f->calls.s, "qmp human-monitor-command "
                                       "{\"command-line\":\"qemu-io drive0 \\\"flush\\\"\"}"));
    assert_non_null(strstr(f->calls.s, "qmp silent-one -"));
    free(out);
    /* keys: sent with top-level '_' as '-', logged the iotests way */
    assert_int_equal(fake_run_case(f, "qmp_log x {\"job_id\": \"j\", \"o\": {\"a_b\": [{\"c_d\": 1}]}}\n",
                         &out, &err), 0);
    assert_string_equal(out, "{\"execute\": \"x\", \"arguments\": {\"job-id\": \"j\", "
                             "\"o\": {\"a_b\": [{\"c-d\": 1}]}}}\n{\"return\": {}}\n");
    assert_non_null(strstr(f->calls.s, "qmp x {\"job-id\":\"j\",\"o\":{\"a_b\":[{\"c_d\":1}]}}"));
    free(out);
    f->base.ops->destroy(&f->base);
}

static void test_qmp_return_string(void **state)
{
    fake_backend *f = fake_new();
    char *out, *err;
    fake_reply(f, "echo", "{\"return\": \"text\"}");
    assert_int_equal(fake_run_case(f, "qmp_return echo\n", &out, &err), 0);
    assert_string_equal(out, "text\n");
    free(out);
    f->base.ops->destroy(&f->base);
}

static void test_write_group(void **state)
{
    expect_out("let WRITE_LEN = 0x10000\n"
               "group 0 = 0x49@0 0x6c@0x100000:(2 * $WRITE_LEN)\n"
               "write \"drive0\" 0\n",
               "write -P0x49 0x0000000 0x10000\n{\"return\": \"\"}\n"
               "write -P0x6c 0x0100000 0x20000\n{\"return\": \"\"}\n");
}

static const char *nodes_json =
    "[{\"node-name\": \"drive0\", \"dirty-bitmaps\": ["
    "  {\"busy\": false, \"count\": 0, \"granularity\": 65536, \"persistent\": false,"
    "   \"recording\": false},"
    "  {\"busy\": false, \"count\": 131072, \"granularity\": 65536, \"persistent\": false,"
    "   \"recording\": true},"
    "  {\"busy\": true, \"count\": 196608, \"granularity\": 65536, \"name\": \"bitmap0\","
    "   \"persistent\": false, \"recording\": true}]},"
    " {\"node-name\": \"file\"},"
    " {\"node-name\": \"backup-top\", \"dirty-bitmaps\": []}]";

static void test_bitmaps_and_checks(void **state)
{
    fake_backend *f = fake_new();
    char *out, *err;
    json_object_put(f->nodes);
    f->nodes = json_tokener_parse(nodes_json);
    int r = fake_run_case(f,
                "let WRITE_LEN = 65536\n"
                "group \"g\" = 0@0 0@0x10000 0@0x30000\n"
                "bitmaps\n"
                "model m new 65536\nmodel m dirty \"g\"\n"
                "check m \"drive0\" \"bitmap0\"\n"
                "model m clear_group \"g\"\nmodel m dirty_write 0 131072\n"
                "check m \"drive0\" \"\" recording\n"
                "model m clear\ncheck m \"drive0\" \"\"\n",
                &out, &err);
    if (r)
        fail_msg("%s", err);
    assert_string_equal(out,
        "{\n  \"bitmaps\": {\n    \"backup-top\": [],\n    \"drive0\": [\n      {\n"
        "        \"busy\": false,\n        \"count\": 0,\n        \"granularity\": 65536,\n"
        "        \"persistent\": false,\n        \"recording\": false\n      },\n      {\n"
        "        \"busy\": false,\n        \"count\": 131072,\n        \"granularity\": 65536,\n"
        "        \"persistent\": false,\n        \"recording\": true\n      },\n      {\n"
        "        \"busy\": true,\n        \"count\": 196608,\n        \"granularity\": 65536,\n"
        "        \"name\": \"bitmap0\",\n        \"persistent\": false,\n"
        "        \"recording\": true\n      }\n    ]\n  }\n}\n"
        "= Checking Bitmap bitmap0 =\nexpecting 3 dirty sectors; have 3. OK!\n\n"
        "= Checking Bitmap (anonymous) =\nexpecting 2 dirty sectors; have 2. OK!\n\n"
        "= Checking Bitmap (anonymous) =\nexpecting 0 dirty sectors; have 0. OK!\n\n");
    free(out);
    f->base.ops->destroy(&f->base);
}

static void test_model_ops(void **state)
{
    fake_backend *f = fake_new();
    char *out, *err;
    json_object_put(f->nodes);
    f->nodes = json_tokener_parse(nodes_json);
    int r = fake_run_case(f,
                "bitmaps\nmodel m new 1\n"
                "model m dirty_bits 5 10\nmodel m clear_bits 6 8\nmodel m clear_bit 9\n"
                "check m \"drive0\" \"bitmap0\"\n"     /* {5} */
                "model m clear_first\nmodel m dirty_bits 4 6\nmodel m fill_from_first 7\n"
                "check m \"drive0\" \"bitmap0\"\n",    /* {4,5,6} */
                &out, &err);
    assert_int_equal(r, 0);
    assert_string_equal(strstr(out, "= Checking"),
        "= Checking Bitmap bitmap0 =\nexpecting 2 dirty sectors; have 3. ERROR!\n\n"
        "= Checking Bitmap bitmap0 =\nexpecting 3 dirty sectors; have 3. OK!\n\n");
    free(out);
    f->base.ops->destroy(&f->base);
}

static void test_run_job_auto(void **state)
{
    /* blockdev-create: dismissed by run_job; backup: completes by itself */
    expect_out("launch\n"
               "qmp_return blockdev-create {\"job-id\": \"j1\"}\n"
               "run_job \"j1\"\n"
               "qmp_log blockdev-backup {\"job-id\": \"b1\"}\n"
               "run_job \"b1\" auto_dismiss=true\n",
               "{}\n"
               "{\"execute\": \"job-dismiss\", \"arguments\": {\"id\": \"j1\"}}\n"
               "{\"return\": {}}\n"
               "{\"execute\": \"blockdev-backup\", \"arguments\": {\"job-id\": \"b1\"}}\n"
               "{\"return\": {}}\n"
               "{\"data\": {\"device\": \"b1\", \"len\": 65536, \"offset\": 65536, "
               "\"speed\": 0, \"type\": \"backup\"}, \"event\": \"BLOCK_JOB_COMPLETED\", "
               "\"timestamp\": {\"microseconds\": \"USECS\", \"seconds\": \"SECS\"}}\n");
}

static void test_run_job_pending(void **state)
{
    const char *ts = "\"timestamp\": {\"microseconds\": \"USECS\", \"seconds\": \"SECS\"}}\n";
    char want[2048];
    snprintf(want, sizeof(want),
             "{\"execute\": \"blockdev-backup\", \"arguments\": {\"auto-finalize\": false, "
             "\"job-id\": \"b\"}}\n{\"return\": {}}\n"
             "hook sees 3\n"
             "{\"execute\": \"job-cancel\", \"arguments\": {\"id\": \"b\"}}\n{\"return\": {}}\n"
             "{\"data\": {\"id\": \"b\", \"type\": \"backup\"}, \"event\": \"BLOCK_JOB_PENDING\", %s"
             "{\"data\": {\"device\": \"b\", \"len\": 65536, \"offset\": 65536, \"speed\": 0, "
             "\"type\": \"backup\"}, \"event\": \"BLOCK_JOB_CANCELLED\", %s"
             "{\"execute\": \"blockdev-backup\", \"arguments\": {\"auto-finalize\": false, "
             "\"job-id\": \"c\"}}\n{\"return\": {}}\n"
             "{\"execute\": \"job-finalize\", \"arguments\": {\"id\": \"c\"}}\n{\"return\": {}}\n"
             "{\"data\": {\"id\": \"c\", \"type\": \"backup\"}, \"event\": \"BLOCK_JOB_PENDING\", %s"
             "{\"data\": {\"device\": \"c\", \"len\": 65536, \"offset\": 65536, \"speed\": 0, "
             "\"type\": \"backup\"}, \"event\": \"BLOCK_JOB_COMPLETED\", %s"
             "{\"execute\": \"job-dismiss\", \"arguments\": {\"id\": \"c\"}}\n{\"return\": {}}\n",
             ts, ts, ts, ts);
    expect_out("proc hook\n  log \"hook sees ${v}\"\nend\n"
               "proc go v\n"
               "  qmp_log blockdev-backup {\"job-id\": \"b\", \"auto-finalize\": false}\n"
               "  run_job \"b\" auto_finalize=false auto_dismiss=true cancel=($v == 3) "
               "pre_finalize=hook\n"
               "end\n"
               "call go 3\n"
               "qmp_log blockdev-backup {\"job-id\": \"c\", \"auto-finalize\": false}\n"
               "run_job \"c\" auto_finalize=false\n",
               want);
}

static void test_run_job_other_events_wait(void **state)
{
    /* Events of another job stay queued for its own run_job; events without
     * a timestamp print as they are; READY leads to job-complete. */
    fake_backend *f = fake_new();
    char *out, *err;
    fake_push(f, "BLOCK_JOB_ERROR",
              "{\"action\": \"report\", \"device\": \"other\", \"operation\": \"read\"}");
    json_object *ev = json_tokener_parse(
        "{\"event\": \"BLOCK_JOB_READY\", \"data\": {\"device\": \"m\", \"len\": 0}}");
    fake_push_event(f, ev);
    fake_push(f, "JOB_STATUS_CHANGE", "{\"id\": \"m\", \"status\": \"ready\"}");
    fake_push(f, "SOMETHING_ELSE", "{}");
    int r = fake_run_case(f, "run_job \"m\"\nlog \"--\"\n"
                   "qmp_log job-dismiss {\"id\": \"other\"}\nrun_job \"other\"\n",
                &out, &err);
    if (r)
        fail_msg("%s", err);
    assert_string_equal(out,
        "{\"data\": {\"device\": \"m\", \"len\": 0}, \"event\": \"BLOCK_JOB_READY\"}\n"
        "{\"execute\": \"job-complete\", \"arguments\": {\"id\": \"m\"}}\n{\"return\": {}}\n"
        "{\"data\": {\"device\": \"m\", \"len\": 65536, \"offset\": 65536, \"speed\": 0, "
        "\"type\": \"backup\"}, \"event\": \"BLOCK_JOB_COMPLETED\", \"timestamp\": "
        "{\"microseconds\": \"USECS\", \"seconds\": \"SECS\"}}\n"
        "{\"execute\": \"job-dismiss\", \"arguments\": {\"id\": \"m\"}}\n{\"return\": {}}\n"
        "--\n"
        "{\"execute\": \"job-dismiss\", \"arguments\": {\"id\": \"other\"}}\n{\"return\": {}}\n"
        "{\"data\": {\"action\": \"report\", \"device\": \"other\", \"operation\": \"read\"}, "
        "\"event\": \"BLOCK_JOB_ERROR\", \"timestamp\": {\"microseconds\": \"USECS\", "
        "\"seconds\": \"SECS\"}}\n");
    free(out);
    f->base.ops->destroy(&f->base);
}

static void test_compare(void **state)
{
    fake_backend *f = fake_new();
    char *out, *err;
    int r = fake_run_case(f, "files a b c\ncompare $a $b base=$c\ncompare $a $b match=false base=none\n"
                   "compare $a $b base=null\n", &out, &err);
    assert_int_equal(r, 0);
    assert_string_equal(out,
        "qemu_img compare \"TEST_DIR/PID-a\" \"TEST_DIR/PID-b\" ==> Identical, OK!\n"
        "qemu_img compare \"TEST_DIR/PID-a\" \"TEST_DIR/PID-b\" ==> Identical, ERROR!\n"
        "qemu_img compare \"TEST_DIR/PID-a\" \"TEST_DIR/PID-b\" ==> Identical, OK!\n");
    assert_non_null(strstr(f->calls.s, "rebase /tmp/fake-td/4242-a /tmp/fake-td/4242-c\n"
                                       "compare /tmp/fake-td/4242-a /tmp/fake-td/4242-b\n"
                                       "compare"));
    free(out);
    f->compare_ret = 1;
    r = fake_run_case(f, "compare \"/tmp/fake-td/a\" \"/tmp/fake-td/b\" match=false\ncompare \"/tmp/fake-td/a\" \"/tmp/fake-td/b\"\n", &out, &err);
    assert_int_equal(r, 0);
    assert_string_equal(out, "qemu_img compare \"/tmp/fake-td/a\" \"/tmp/fake-td/b\" ==> Mismatch, OK!\n"
                             "qemu_img compare \"/tmp/fake-td/a\" \"/tmp/fake-td/b\" ==> Mismatch, ERROR!\n");
    free(out);
    f->compare_ret = -1;
    r = fake_run_case(f, "compare \"/tmp/fake-td/a\" \"/tmp/fake-td/b\" match=false\n", &out, &err);
    assert_int_equal(r, 0);
    assert_string_equal(out, "qemu_img compare \"/tmp/fake-td/a\" \"/tmp/fake-td/b\" ==> Mismatch, ERROR!\n");
    free(out);
    f->base.ops->destroy(&f->base);
}

static void test_img_create(void **state)
{
    fake_backend *f = fake_new();
    char *out, *err;
    assert_int_equal(fake_run_case(f, "img_create \"qcow2\" \"/tmp/fake-td/x\" 1024\n", &out, &err), 0);
    assert_string_equal(f->calls.s, "img_create qcow2 /tmp/fake-td/x 1024\n");
    free(out);
    f->base.ops->destroy(&f->base);
}

/* The whole of 257 runs on the fake: every procedure and branch of the case. */
static void test_case_257_runs(void **state)
{
    fake_backend *f = fake_new();
    char *err = NULL, *out = NULL;
    json_object_put(f->nodes);
    f->nodes = json_tokener_parse(nodes_json);
    program *p = case_parse_file("cases/257.case", &err);
    if (!p)
        fail_msg("%s", err);
    int r = case_run(p, &f->base, 1.0, &out, &err);
    if (r)
        fail_msg("%s", err);
    assert_non_null(strstr(out, "\n=== Mode top; Bitmap Sync always without failure ===\n"));
    assert_non_null(strstr(out, "-- Sync mode none tests --\n"));
    case_free(p);
    free(out);
    f->base.ops->destroy(&f->base);
}

/* write_file: a real file directly in the test directory, nowhere else. */
static void test_write_file(void **state)
{
    char dir[] = "/tmp/blocksim-wf-XXXXXX";
    assert_non_null(mkdtemp(dir));
    fake_backend *f = fake_new();
    f->base.test_dir = dir;
    char *out, *err = NULL;
    assert_int_equal(fake_run_case(f, "files conf\nwrite_file $conf \"a = 1\\nb\"\n"
                            "write_file $conf \"name: vm\\n\"\n", &out, &err), 0);
    assert_string_equal(out, "");      /* silent */
    free(out);
    char path[256], buf[64] = "";
    snprintf(path, sizeof path, "%s/4242-conf", dir);
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = 0;
    assert_string_equal(buf, "name: vm\n");    /* replaced, nothing appended */
    unlink(path);

    char want[512];
    snprintf(want, sizeof want, "t.case:1:12: runtime error: write_file: '/etc/x' is not a file "
             "directly in the test directory %s", dir);
    expect_err(f, "write_file \"/etc/x\" \"t\"\n", want);
    snprintf(want, sizeof want, "t.case:1:12: runtime error: write_file: '%s/sub/x' is not a "
             "file directly in the test directory %s", dir, dir);
    char src[512];
    snprintf(src, sizeof src, "write_file \"%s/sub/x\" \"t\"\n", dir);
    expect_err(f, src, want);
    snprintf(want, sizeof want, "t.case:1:12: runtime error: write_file: '%s/..' is not a "
             "file directly in the test directory %s", dir, dir);
    snprintf(src, sizeof src, "write_file \"%s/..\" \"t\"\n", dir);
    expect_err(f, src, want);
    snprintf(want, sizeof want, "t.case:1:12: runtime error: write_file: '%sx' is not a "
             "file directly in the test directory %s", dir, dir);
    snprintf(src, sizeof src, "write_file \"%sx\" \"t\"\n", dir);
    expect_err(f, src, want);
    expect_err(f, "files conf\nwrite_file $conf 5\n",
               "t.case:2:18: runtime error: expected a string, got int");
    f->base.ops->destroy(&f->base);
    assert_int_equal(rmdir(dir), 0);

    f = fake_new();
    f->base.test_dir = "/nonexistent-blocksim-dir";
    expect_err(f, "files c\nwrite_file $c \"t\"\n",
               "t.case:2:1: runtime error: write_file: cannot write "
               "/nonexistent-blocksim-dir/4242-c: No such file or directory");
    f->base.ops->destroy(&f->base);
}

static void test_runtime_errors(void **state)
{
    static const struct {
        const char *src, *err;
    } cases[] = {
        { "log $nope\n", "t.case:1:5: runtime error: undefined variable 'nope'" },
        { "log 1 + \"a\"\n", "t.case:1:7: runtime error: cannot apply '+' to int and string" },
        { "log none * 2\n", "t.case:1:10: runtime error: cannot apply '*' to none and int" },
        { "log 1 / 0\n", "t.case:1:7: runtime error: division by zero" },
        { "log 1 % 0\n", "t.case:1:7: runtime error: division by zero" },
        { "log 9223372036854775807 + 1\n", "t.case:1:25: runtime error: integer overflow" },
        { "log (0 - 9223372036854775807 - 1) / -1\n",
          "t.case:1:35: runtime error: integer overflow" },
        { "log -(0 - 9223372036854775807 - 1)\n", "t.case:1:5: runtime error: integer overflow" },
        { "log -\"a\"\n", "t.case:1:6: runtime error: expected an int, got string" },
        { "log 1 < \"a\"\n", "t.case:1:7: runtime error: cannot order int and string" },
        { "log none < 1\n", "t.case:1:10: runtime error: cannot order none and int" },
        { "log [1][5]\n", "t.case:1:8: runtime error: index 5 out of range (list of 1)" },
        { "log {\"a\": 1}[\"b\"]\n", "t.case:1:13: runtime error: no key \"b\"" },
        { "log 1[0]\n", "t.case:1:6: runtime error: cannot index int with int" },
        { "log basename(1)\n", "t.case:1:14: runtime error: expected a string, got int" },
        { "log not $x\n", "t.case:1:9: runtime error: undefined variable 'x'" },
        { "log $x or 1\n", "t.case:1:5: runtime error: undefined variable 'x'" },
        { "log 1 == $x\n", "t.case:1:10: runtime error: undefined variable 'x'" },
        { "log [$x]\n", "t.case:1:6: runtime error: undefined variable 'x'" },
        { "log {\"a\": $x}\n", "t.case:1:11: runtime error: undefined variable 'x'" },
        { "log [1][$x]\n", "t.case:1:9: runtime error: undefined variable 'x'" },
        { "log $x[1]\n", "t.case:1:5: runtime error: undefined variable 'x'" },
        { "for i in 3\nend\n", "t.case:1:10: runtime error: 'for' needs a list, got int" },
        { "for i in $x\nend\n", "t.case:1:10: runtime error: undefined variable 'x'" },
        { "if $x\nend\n", "t.case:1:4: runtime error: undefined variable 'x'" },
        { "let a = $x\n", "t.case:1:9: runtime error: undefined variable 'x'" },
        { "proc p a\nend\ncall p $x\n", "t.case:3:8: runtime error: undefined variable 'x'" },
        { "proc p\n  call p\nend\ncall p\n",
          "t.case:2:3: runtime error: procedures nested more than 200 deep" },
        { "group 0 = 1@0\n",
          "t.case:1:11: runtime error: write without a length needs $WRITE_LEN (a non-negative int)" },
        { "group 0 = 1@(0 - 1):1\n",
          "t.case:1:16: runtime error: expected a non-negative int, got -1" },
        { "group 0 = 1@0:$x\n", "t.case:1:15: runtime error: undefined variable 'x'" },
        { "group $x = 1@0:1\n", "t.case:1:7: runtime error: undefined variable 'x'" },
        { "write \"d\" 7\n", "t.case:1:11: runtime error: no write group '7'" },
        { "write 1 7\n", "t.case:1:7: runtime error: expected a string, got int" },
        { "model m dirty 0\n",
          "t.case:1:7: runtime error: no model named 'm' (use 'model m new G')" },
        { "model m new 0\n", "t.case:1:13: runtime error: a model's granularity must be positive" },
        { "model m new $x\n", "t.case:1:13: runtime error: undefined variable 'x'" },
        { "model m new 1\nmodel m dirty 0\n", "t.case:2:15: runtime error: no write group '0'" },
        { "model m new 1\nmodel m dirty_write $x 1\n",
          "t.case:2:21: runtime error: undefined variable 'x'" },
        { "model m new 1\nmodel m dirty_bits 1 $x\n",
          "t.case:2:22: runtime error: undefined variable 'x'" },
        { "model m new 1\nmodel m clear_bit $x\n",
          "t.case:2:19: runtime error: undefined variable 'x'" },
        { "model m new 1\nmodel m fill_from_first $x\n",
          "t.case:2:25: runtime error: undefined variable 'x'" },
        { "model m new 1\nmodel m clear_first\n",
          "t.case:2:1: runtime error: model 'm' is empty: it has no first bit" },
        { "model m new 1\nmodel m fill_from_first 3\n",
          "t.case:2:1: runtime error: model 'm' is empty: it has no first bit" },
        { "check m \"d\" \"b\"\n", "t.case:1:1: runtime error: no model named 'm'" },
        { "model m new 1\ncheck m \"d\" \"b\"\n",
          "t.case:2:1: runtime error: check before any bitmap listing" },
        { "model m new 1\nbitmaps\ncheck m \"d\" \"b\"\n",
          "t.case:3:1: runtime error: node 'd' has no bitmaps in the last listing" },
        { "check m 1 \"b\"\n", "t.case:1:9: runtime error: expected a string, got int" },
        { "check m \"a\" 1\n", "t.case:1:13: runtime error: expected a string, got int" },
        { "qmp_log x 5\n", "t.case:1:11: runtime error: QMP arguments must be an object, got int" },
        { "qmp_log x none\n",
          "t.case:1:11: runtime error: QMP arguments must be an object, got none" },
        { "qmp_log x {\"a\": [none]}\n", "t.case:1:11: runtime error: 'none' cannot be sent to QMP" },
        { "qmp_log x {\"a\": {\"b\": [1, none]}}\n",
          "t.case:1:11: runtime error: 'none' cannot be sent to QMP" },
        { "qmp_log 5\n", "t.case:1:9: runtime error: expected a string, got int" },
        { "qmp x $y\n", "t.case:1:7: runtime error: undefined variable 'y'" },
        { "hmp_io 1 \"x\"\n", "t.case:1:8: runtime error: expected a string, got int" },
        { "hmp_io \"n\" 1\n", "t.case:1:12: runtime error: expected a string, got int" },
        { "img_create 1 \"p\" 1\n", "t.case:1:12: runtime error: expected a string, got int" },
        { "img_create \"f\" 1 1\n", "t.case:1:16: runtime error: expected a string, got int" },
        { "img_create \"f\" \"p\" \"s\"\n", "t.case:1:20: runtime error: expected an int, got string" },
        { "launch\nlaunch\n", "t.case:2:1: runtime error: the VM is already running" },
        { "run_job 1\n", "t.case:1:9: runtime error: expected a string, got int" },
        { "run_job \"j\" cancel=$x\n", "t.case:1:20: runtime error: undefined variable 'x'" },
        { "run_job \"j\"\n",
          "t.case:1:1: runtime error: job 'j' never reached status null: the backend has no more "
          "events" },
        { "compare 1 \"b\"\n", "t.case:1:9: runtime error: expected a string, got int" },
        { "compare \"a\" \"b\" base=1\n",
          "t.case:1:17: runtime error: base must be a string, null or none" },
        { "compare \"a\" \"b\" base=$x\n", "t.case:1:22: runtime error: undefined variable 'x'" },
        { "compare \"a\" \"b\" match=$x\n", "t.case:1:23: runtime error: undefined variable 'x'" },
        { "log \"${x}\"\n", "t.case:1:5: runtime error: undefined variable 'x' in string" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        expect_err(NULL, cases[i].src, cases[i].err);
    }
}

static void test_backend_failures(void **state)
{
    fake_backend *f = fake_new();
    f->fail_launch = 1;
    expect_err(f, "launch\n", "t.case:1:1: runtime error: launch failed: no VM for you");
    f->fail_launch = 0;
    f->fail_shutdown = 1;
    expect_err(f, "launch\nshutdown\n",
               "t.case:2:1: runtime error: shutdown failed: it will not stop");
    expect_err(f, "launch\n", "t.case: shutdown at the end of the case failed: it will not stop");
    f->fail_shutdown = 0;
    f->fail_img_create = 1;
    expect_err(f, "img_create \"qcow2\" \"/tmp/fake-td/x\" 1\n",
               "t.case:1:1: runtime error: qemu-img create failed: disk full");
    f->fail_rebase = 1;
    expect_err(f, "compare \"/tmp/fake-td/a\" \"/tmp/fake-td/b\" base=\"c\"\n",
               "t.case:1:1: runtime error: qemu-img rebase -u -b c /tmp/fake-td/a failed: no such image");
    f->fail_qmp = "query-named-block-nodes";
    expect_err(f, "bitmaps\n", "t.case:1:1: runtime error: backend failed to run "
                               "'query-named-block-nodes': the monitor went away");
    f->fail_qmp = "human-monitor-command";
    expect_err(f, "let WRITE_LEN = 1\ngroup 0 = 1@0\nwrite \"d\" 0\n",
               "t.case:3:1: runtime error: backend failed to run 'human-monitor-command': the "
               "monitor went away");
    expect_err(f, "hmp_io \"d\" \"flush\"\n",
               "t.case:1:1: runtime error: backend failed to run 'human-monitor-command': the "
               "monitor went away");
    f->fail_qmp = "job-dismiss";
    expect_err(f, "qmp blockdev-create {\"job-id\": \"j\"}\nrun_job \"j\"\n",
               "t.case:2:1: runtime error: backend failed to run 'job-dismiss': the monitor "
               "went away");
    f->fail_qmp = "x";
    expect_err(f, "qmp_log x\n",
               "t.case:1:1: runtime error: backend failed to run 'x': the monitor went away");
    f->fail_qmp = NULL;
    f->fail_events = 1;
    expect_err(f, "run_job \"j\"\n",
               "t.case:1:1: runtime error: waiting for an event of job 'j': timed out");
    f->fail_events = 0;
    fake_reply(f, "query-named-block-nodes", "{\"error\": {\"class\": \"X\", \"desc\": \"d\"}}");
    expect_err(f, "bitmaps\n", "t.case:1:1: runtime error: query-named-block-nodes failed: "
                               "{\"error\": {\"class\": \"X\", \"desc\": \"d\"}}");
    fake_reply(f, "c", "{\"error\": {\"class\": \"X\", \"desc\": \"d\"}}");
    expect_err(f, "qmp_return c\n",
               "t.case:1:1: runtime error: 'c' failed: {\"error\": {\"class\": \"X\", \"desc\": \"d\"}}");
    f->base.ops->destroy(&f->base);

    /* events that are not objects, or status changes without a status */
    f = fake_new();
    fake_push_event(f, json_object_new_int(3));
    expect_err(f, "run_job \"j\"\n",
               "t.case:1:1: runtime error: the backend returned an event that is not an object");
    fake_push(f, "JOB_STATUS_CHANGE", "{\"id\": \"j\"}");
    expect_err(f, "run_job \"j\"\n", "t.case:1:1: runtime error: JOB_STATUS_CHANGE without a status");
    fake_push(f, "JOB_STATUS_CHANGE", "{\"id\": \"j\", \"status\": \"pending\"}");
    expect_err(f, "proc h\n  log $x\nend\nrun_job \"j\" auto_finalize=false pre_finalize=h\n",
               "t.case:2:7: runtime error: undefined variable 'x'");
    f->base.ops->destroy(&f->base);

    /* checks against malformed listings */
    f = fake_new();
    json_object_put(f->nodes);
    f->nodes = json_tokener_parse("[{\"node-name\": \"d\", \"dirty-bitmaps\": ["
                                  "{\"name\": \"b\", \"count\": 1}, {\"count\": 0, "
                                  "\"granularity\": 1, \"recording\": false}]}]");
    expect_err(f, "model m new 1\nbitmaps\ncheck m \"d\" \"b\"\n",
               "t.case:3:1: runtime error: bitmap lacks a count or a granularity");
    expect_err(f, "model m new 1\nbitmaps\ncheck m \"d\" \"\" recording\n",
               "t.case:3:1: runtime error: node 'd' has no recording bitmap named '' in the last "
               "listing");
    expect_err(f, "model m new 1\nbitmaps\ncheck m \"d\" \"zz\"\n",
               "t.case:3:1: runtime error: node 'd' has no bitmap named 'zz' in the last listing");
    f->base.ops->destroy(&f->base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_values),
        cmocka_unit_test(test_expressions_out),
        cmocka_unit_test(test_control_flow),
        cmocka_unit_test(test_files_and_filter),
        cmocka_unit_test(test_qmp_commands),
        cmocka_unit_test(test_qmp_return_string),
        cmocka_unit_test(test_write_group),
        cmocka_unit_test(test_bitmaps_and_checks),
        cmocka_unit_test(test_model_ops),
        cmocka_unit_test(test_run_job_auto),
        cmocka_unit_test(test_run_job_pending),
        cmocka_unit_test(test_run_job_other_events_wait),
        cmocka_unit_test(test_compare),
        cmocka_unit_test(test_img_create),
        cmocka_unit_test(test_case_257_runs),
        cmocka_unit_test(test_write_file),
        cmocka_unit_test(test_keywords_first),
        cmocka_unit_test(test_runtime_errors),
        cmocka_unit_test(test_backend_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
