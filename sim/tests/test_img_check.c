/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu-img check (sim/qemu_img_check.c): the lines QEMU 7.2 prints for a
 * qcow2 image the simulator wrote (counts per L2 table, end offset), and
 * raw's missing check, as cases/qemu-img-check.case shows them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "sim/tests/sim_test.h"
#include "sim/sim_int.h"

static int check(sim *s, const char *fmt, const char *path, char **out, char **err)
{
    const char *argv[] = { "check", "-f", fmt, path };
    return sim_img_run(s, argv, 4, out, err);
}

static void test_qcow2_counts(void **state)
{
    bs_backend *b = vm_new();
    sim *s = (sim *)b;
    char *err = NULL, *out = NULL;
    const char *p = "/tmp/blocksim/c";
    assert_int_equal(b->ops->img_create(b, "qcow2", p, 64 << 20, NULL, NULL, &err), 0);
    assert_int_equal(check(s, "qcow2", p, &out, &err), 0);
    assert_string_equal(out, "No errors were found on the image.\nImage end offset: 262144\n");
    free(out);
    free(err);
    QMP_OK(b, "blockdev-add", "{\"driver\": \"qcow2\", \"node-name\": \"c\", "
           "\"file\": {\"driver\": \"file\", \"filename\": \"%s\"}}", p);
    /* out of guest order: the second cluster's host follows the third's
     * (real qemu-img check prints the same for these writes) */
    hmp(b, "c", "write 128k 64k");
    hmp(b, "c", "write 0 128k");
    hmp(b, "c", "write -z 1M 64k");
    QMP_OK(b, "blockdev-del", "{\"node-name\": \"c\"}");
    assert_int_equal(check(s, "qcow2", p, &out, &err), 0);
    assert_string_equal(out, "No errors were found on the image.\n"
                        "3/1024 = 0.29% allocated, 33.33% fragmented, 0.00% compressed clusters\n"
                        "Image end offset: 524288\n");
    free(out);
    free(err);
    vm_free(b);
}

/* ImageCheck as JSON: members in QDict bucket order, zero counts left out */
static void test_json_output(void **state)
{
    bs_backend *b = vm_new();
    sim *s = (sim *)b;
    char *err = NULL, *out = NULL;
    const char *p = "/tmp/blocksim/j";
    assert_int_equal(b->ops->img_create(b, "qcow2", p, 1 << 20, NULL, NULL, &err), 0);
    const char *argv[] = { "check", "--output=json", p };
    assert_int_equal(sim_img_run(s, argv, 3, &out, &err), 0);
    assert_string_equal(out, "{\n    \"image-end-offset\": 262144,\n    \"total-clusters\": 16,\n"
                        "    \"check-errors\": 0,\n    \"filename\": \"/tmp/blocksim/j\",\n"
                        "    \"format\": \"qcow2\"\n}\n");
    free(out);
    free(err);
    QMP_OK(b, "blockdev-add", "{\"driver\": \"qcow2\", \"node-name\": \"j\", "
           "\"file\": {\"driver\": \"file\", \"filename\": \"%s\"}}", p);
    hmp(b, "j", "write 128k 64k");
    hmp(b, "j", "write 0 128k");
    QMP_OK(b, "blockdev-del", "{\"node-name\": \"j\"}");
    assert_int_equal(sim_img_run(s, argv, 3, &out, &err), 0);
    assert_string_equal(out, "{\n    \"image-end-offset\": 524288,\n    \"total-clusters\": 16,\n"
                        "    \"check-errors\": 0,\n    \"allocated-clusters\": 3,\n"
                        "    \"filename\": \"/tmp/blocksim/j\",\n    \"format\": \"qcow2\",\n"
                        "    \"fragmented-clusters\": 1\n}\n");
    free(out);
    free(err);
    vm_free(b);
}

static void test_raw_has_no_check(void **state)
{
    bs_backend *b = vm_new();
    sim *s = (sim *)b;
    char *err = NULL, *out = NULL;
    assert_int_equal(b->ops->img_create(b, "raw", "/tmp/blocksim/r", 1 << 20, NULL, NULL,
                                        &err), 0);
    assert_int_equal(check(s, "raw", "/tmp/blocksim/r", &out, &err), 63);
    assert_string_equal(err, "qemu-img: This image format does not support checks\n");
    free(out);
    free(err);
    assert_int_equal(check(s, "qcow2", "/tmp/blocksim/nope", &out, &err), 1);
    free(out);
    free(err);
    vm_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qcow2_counts),
        cmocka_unit_test(test_json_output),
        cmocka_unit_test(test_raw_has_no_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
