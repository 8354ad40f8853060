/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Path confinement (harness/confine.h): what stays inside a test directory
 * and what does not, symbolic links included; QMP file-name keys; the
 * generic rule for a tool's arguments (files, NAME=PATH, --opt=PATH,
 * -oPATH, NBD URIs' socket=PATH). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness/confine.h"

static char dir[] = "/tmp/blocksim-confine-XXXXXX";

static void ok_path(const char *p, int rel)
{
    char *why = NULL;
    if (confine_path(dir, p, rel, &why) < 0)
        fail_msg("'%s' refused: %s", p, why);
}

static void bad_path(const char *p, int rel, const char *want)
{
    char *why = NULL;
    assert_int_equal(confine_path(dir, p, rel, &why), -1);
    assert_non_null(why);
    char full[512];
    snprintf(full, sizeof full, want, dir);
    if (strcmp(why, full))
        fail_msg("got '%s', want '%s'", why, full);
    free(why);
}

static void test_paths(void **state)
{
    char p[512], link[512];
    assert_non_null(mkdtemp(dir));
    snprintf(p, sizeof p, "%s/a.img", dir);
    ok_path(p, 0);
    ok_path(dir, 0);
    snprintf(p, sizeof p, "%s/sub/../b//c/./d", dir);
    ok_path(p, 0);
    ok_path("x.vma", 1);
    ok_path("sub/x", 1);
    bad_path("x.vma", 0, "'x.vma' is not an absolute path inside the test directory %s");
    bad_path("/tmp/x.vma", 0, "'/tmp/x.vma' is outside the test directory %s");
    bad_path("..", 1, "'..' is outside the test directory %s");
    bad_path("a/../../x", 1, "'a/../../x' is outside the test directory %s");
    snprintf(p, sizeof p, "%s/../x", dir);
    char want[600];
    snprintf(want, sizeof want, "'%s' is outside the test directory %%s", p);
    bad_path(p, 0, want);
    /* a prefix is not a parent: /tmp/blocksim-confine-XXXXXXy */
    snprintf(p, sizeof p, "%sy/a", dir);
    snprintf(want, sizeof want, "'%s' is outside the test directory %%s", p);
    bad_path(p, 0, want);
    /* a symbolic link inside that points out */
    snprintf(link, sizeof link, "%s/out", dir);
    assert_int_equal(symlink("/etc", link), 0);
    snprintf(p, sizeof p, "%s/out/hostname", dir);
    snprintf(want, sizeof want, "'%s' is outside the test directory %%s", p);
    bad_path(p, 0, want);
    bad_path("out/new-file", 1, "'out/new-file' is outside the test directory %s");
    /* ... also deeper down, below a real directory */
    snprintf(link, sizeof link, "%s/sub", dir);
    assert_int_equal(mkdir(link, 0700), 0);
    snprintf(link, sizeof link, "%s/sub/out", dir);
    assert_int_equal(symlink("/etc", link), 0);
    bad_path("sub/out/hostname", 1, "'sub/out/hostname' is outside the test directory %s");
    bad_path("sub/out", 1, "'sub/out' is outside the test directory %s");
    ok_path("sub/missing/deeper", 1);
    /* one that points in is fine */
    snprintf(link, sizeof link, "%s/in", dir);
    assert_int_equal(symlink(".", link), 0);
    snprintf(p, sizeof p, "%s/in/x", dir);
    ok_path(p, 0);
    char *why = NULL;
    assert_int_equal(confine_path(NULL, "/x", 0, &why), -1);
    free(why);
    assert_int_equal(confine_path("rel", "/x", 0, &why), -1);
    free(why);
}

static int qmp_check(const char *cmd, const char *json, char **why)
{
    json_object *a = json_tokener_parse(json);
    assert_non_null(a);
    int r = confine_qmp_args(dir, cmd, a, why);
    json_object_put(a);
    return r;
}

static void test_qmp_keys(void **state)
{
    char *why = NULL, j[1024];
    snprintf(j, sizeof j, "{\"driver\": \"qcow2\", \"file\": {\"driver\": \"file\", "
             "\"filename\": \"%s/a\"}}", dir);
    assert_int_equal(qmp_check("blockdev-add", j, &why), 0);
    assert_int_equal(qmp_check("blockdev-add", "{\"file\": {\"filename\": \"/etc/passwd\"}}",
                               &why), -1);
    assert_non_null(strstr(why, "filename: '/etc/passwd' is outside"));
    free(why);
    static const char *const keys[] = { "backup-file", "config-filename", "snapshot-file",
                                        "backing-file", "path" };
    for (size_t i = 0; i < 5; i++) {
        snprintf(j, sizeof j, "{\"x\": [{\"%s\": \"/tmp/elsewhere\"}]}", keys[i]);
        assert_int_equal(qmp_check("anything", j, &why), -1);
        free(why);
    }
    /* target: a file for drive-backup and drive-mirror, a node elsewhere */
    assert_int_equal(qmp_check("blockdev-backup", "{\"target\": \"/tmp/x\"}", &why), 0);
    assert_int_equal(qmp_check("drive-backup", "{\"target\": \"/tmp/x\"}", &why), -1);
    free(why);
    assert_int_equal(qmp_check("drive-mirror", "{\"target\": \"rel\"}", &why), -1);
    free(why);
    /* HMP: drive_add's file= and qemu-io's words */
    assert_int_equal(qmp_check("human-monitor-command",
                               "{\"command-line\": \"drive_add 0 if=none,file=/etc/passwd\"}", &why),
                     -1);
    assert_non_null(strstr(why, "command-line: '/etc/passwd' is outside"));
    free(why);
    snprintf(j, sizeof j, "{\"command-line\": \"drive_add 0 if=none,id=d,file=%s/a,format=raw\"}",
             dir);
    assert_int_equal(qmp_check("human-monitor-command", j, &why), 0);
    assert_int_equal(qmp_check("human-monitor-command",
                               "{\"command-line\": \"qemu-io drive0 \\\"write -P 0x11 0 64k\\\"\"}",
                               &why), 0);
    /* QOM paths in HMP are not files */
    assert_int_equal(qmp_check("human-monitor-command",
                               "{\"command-line\": \"qemu-io -d /machine/peripheral/sda \\\"read 0 1\\\"\"}",
                               &why), 0);
    /* not strings: left to the command's own type check */
    assert_int_equal(qmp_check("blockdev-add", "{\"filename\": 5}", &why), 0);
    assert_int_equal(confine_qmp_args(dir, "x", NULL, &why), 0);
}

static int tool_check(const char *const *args, int *bad)
{
    char *argv[16], *why = NULL;
    int n = 0;
    argv[n++] = "tool";
    for (; args[n - 1]; n++)
        argv[n] = (char *)args[n - 1];
    argv[n] = NULL;
    int r = confine_tool_args(dir, argv, bad, &why);
    free(why);
    return r;
}

static void test_tool_args(void **state)
{
    int bad = 0;
    char in[512];
    snprintf(in, sizeof in, "%s/a.vma", dir);
    const char *ok1[] = { "create", in, "x.vma", "drive-scsi0=d.raw", "-c", "conf", "--speed",
                          "10", "-v", "nbd+unix:///e?socket=s.sock", NULL };
    assert_int_equal(tool_check(ok1, &bad), 0);
    static const struct { const char *arg; } refused[] = {
        { "/tmp/y.vma" }, { ".." }, { "../x" }, { "d=/etc/hostname" }, { "d=../../etc/x" },
        { "-c/etc/hostname" }, { "--config=/etc/hostname" },
        { "nbd+unix:///e?socket=/tmp/other.sock" },
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        const char *args[] = { "create", "x.vma", refused[i].arg, NULL };
        bad = 0;
        if (tool_check(args, &bad) != -1)
            fail_msg("'%s' passed", refused[i].arg);
        assert_int_equal(bad, 3);
    }
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_qmp_keys),
        cmocka_unit_test(test_tool_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
