/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The shell-style qemu-img commands (harness/cmd_img.c): sh_img with its
 * filters, sh_img_info's _img_info rules; and vm_session qmp (176's
 * run_qemu) with its sha256 filter, and img_map's into= (iotests'
 * qemu_img_map), on the fake backend.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness/tests/fake_backend.h"

static char *run_ok(fake_backend *f, const char *src)
{
    char *out = NULL, *err = NULL;
    if (fake_run_case(f, src, &out, &err) != 0)
        fail_msg("runtime error: %s", err ? err : "?");
    free(err);
    return out;
}

static void test_sh_img_map_filter_and_failure(void **state)
{
    fake_backend *f = fake_new();
    json_object *text = json_object_new_string(
        "Offset          Length          Mapped to       File\n"
        "0x7ffd0000      0x30000         0x50000         /tmp/fake-td/t.qcow2.base\n");
    char *reply = strdup(json_object_to_json_string(text));
    json_object_put(text);
    fake_reply(f, "qemu-img stdout", reply);
    free(reply);
    char *out = run_ok(f,
        "shell_test \"qcow2\"\n"
        "sh_img map ($TEST_IMG + \".base\") map_filter=true\n"
        "sh_img map ($TEST_IMG + \".base\")\n"
        "sh_img fail \"x\"\n"
        "log \"went on\"\n");
    /* the fake's test directory is printed as TEST_DIR by shell_test */
    assert_non_null(strstr(out, "Offset          Length          File\n"
                                "0x7ffd0000      0x30000         TEST_DIR/t.IMGFMT.base\n"
                                "Offset          Length          Mapped to       File\n"
                                "0x7ffd0000      0x30000         0x50000         "
                                "TEST_DIR/t.IMGFMT.base\n"));
    /* a failing qemu-img is printed (stderr first) and the case goes on */
    assert_non_null(strstr(out, "qemu-img: it failed\nOffset"));
    assert_non_null(strstr(out, "went on\n"));
    assert_non_null(strstr(f->calls.s, "qemu-img map "));
    free(out);
    f->base.ops->destroy(&f->base);
}

static void test_sh_img_info_rules(void **state)
{
    fake_backend *f = fake_new();
    json_object *text = json_object_new_string(
        "image: /tmp/fake-td/t.qcow2\n"
        "file format: qcow2\n"
        "disk size: 196 KiB\n"
        "Format specific information:\n"
        "    compat: 1.1\n"
        "    compression type: zlib\n"
        "    corrupt: false\n"
        "\n"
        "image: /tmp/fake-td/t.qcow2.base\n");
    char *reply = strdup(json_object_to_json_string(text));
    json_object_put(text);
    fake_reply(f, "qemu-img stdout", reply);
    free(reply);
    char *out = run_ok(f,
        "shell_test \"qcow2\"\n"
        "sh_img_info $TEST_IMG format_specific=true drop=[\"compat\"]\n"
        "log \"--\"\n"
        "sh_img_info $TEST_IMG extra=[\"--backing-chain\"]\n");
    assert_string_equal(out,
        "image: TEST_DIR/t.IMGFMT\n"
        "file format: IMGFMT\n"
        "Format specific information:\n"
        "    compression type: COMPRESSION_TYPE\n"
        "    corrupt: false\n"
        "\n"
        "image: TEST_DIR/t.IMGFMT.base\n"
        "--\n"
        "image: TEST_DIR/t.IMGFMT\n"
        "file format: IMGFMT\n"
        "\n"
        "image: TEST_DIR/t.IMGFMT.base\n");
    assert_non_null(strstr(f->calls.s, "qemu-img info --backing-chain "));
    free(out);
    f->base.ops->destroy(&f->base);
}

static void test_vm_session_qmp_hash(void **state)
{
    fake_backend *f = fake_new();
    /* 7.2's dialect makes SOCK_DIR inside the test directory */
    mkdir("/tmp/fake-td", 0700);
    fake_reply(f, "x-debug-block-dirty-bitmap-sha256",
               "{\"return\": {\"sha256\": "
               "\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"}}");
    char *out = run_ok(f,
        "shell_test \"qcow2\" qemu=\"7.2\"\n"
        "vm_session qmp hash_sha256=true\n"
        "sh_qmp qmp_capabilities\n"
        "sh_qmp x-debug-block-dirty-bitmap-sha256 {\"node\": \"n\", \"name\": \"b\"}\n"
        "sh_qmp quit\n"
        "log \"*** done\"\n");
    assert_string_equal(out,
        "QMP_VERSION\n"
        "{\"return\": {}}\n"
        "{\"return\": {\"sha256\": HASH}}\n"
        "{\"return\": {}}\n"
        "{\"timestamp\": {\"seconds\":  TIMESTAMP, \"microseconds\":  TIMESTAMP}, "
        "\"event\": \"SHUTDOWN\", \"data\": {\"guest\": false, \"reason\": \"host-qmp-quit\"}}\n"
        "*** done\n");
    free(out);
    f->base.ops->destroy(&f->base);
    rmdir("/tmp/fake-td/sock");
    rmdir("/tmp/fake-td");
}

/* the fake with a qemu-img map: one extent, its length telling the context */
static json_object *map_of(bs_backend *b, const char *image, const char *context, char **err)
{
    json_object *e = json_object_new_object(), *l = json_object_new_array();
    json_object_object_add(e, "start", json_object_new_int(0));
    json_object_object_add(e, "length", json_object_new_int(context ? 1 : 2));
    json_object_array_add(l, e);
    return l;
}

static void test_img_map_into(void **state)
{
    fake_backend *f = fake_new();
    static bs_backend_ops ops;
    ops = *f->base.ops;
    ops.img_map = map_of;
    f->base.ops = &ops;
    char *out = run_ok(f,
        "shell_test \"raw\"\n"
        "let o = \"driver=nbd,server.type=unix,server.path=/tmp/fake-td/s\"\n"
        "img_map $o image_opts=true into=\"plain\"\n"
        "img_map ($o + \",x-dirty-bitmap=qemu:allocation-depth\") image_opts=true into=\"depth\"\n"
        "log $plain\n"
        "log $depth\n");
    /* bound, not printed: only the two logs */
    assert_string_equal(out, "[{\"length\": 2, \"start\": 0}]\n[{\"length\": 1, \"start\": 0}]\n");
    free(out);
    f->base.ops->destroy(&f->base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sh_img_map_filter_and_failure),
        cmocka_unit_test(test_sh_img_info_rules),
        cmocka_unit_test(test_vm_session_qmp_hash),
        cmocka_unit_test(test_img_map_into),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
