/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * blkdebug's options (sim/drv_blkdebug.c): an empty rule list is refused
 * as QEMU 7.2's bdrv_open refuses a left-over option, naming the first
 * one in QDict bucket order, after the image has opened; a refused node
 * leaves nothing behind (cases/blkdebug-empty-lists.case).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "sim/tests/sim_test.h"
#include "sim/sim_int.h"

#define BD_IMAGE "{\"driver\": \"file\", \"node-name\": \"f\", \"filename\": \"/tmp/blocksim/bd\"}"

static void test_empty_lists_are_refused(void **state)
{
    bs_backend *b = vm_new();
    sim *s = (sim *)b;
    char *err = NULL;
    assert_int_equal(b->ops->img_create(b, "qcow2", "/tmp/blocksim/bd", 1 << 20, NULL, NULL,
                                        &err), 0);
    QMP_ERR(b, "Block protocol 'blkdebug' doesn't support the option 'inject-error'",
            "blockdev-add", "{\"driver\": \"blkdebug\", \"node-name\": \"d\", "
            "\"inject-error\": [], \"image\": " BD_IMAGE "}");
    QMP_ERR(b, "Block protocol 'blkdebug' doesn't support the option 'set-state'",
            "blockdev-add", "{\"driver\": \"blkdebug\", \"node-name\": \"d\", "
            "\"inject-error\": [], \"set-state\": [], \"image\": " BD_IMAGE "}");
    QMP_ERR(b, "Block protocol 'blkdebug' doesn't support the option 'inject-error'",
            "blockdev-add", "{\"driver\": \"blkdebug\", \"node-name\": \"d\", "
            "\"take-child-perms\": [], \"inject-error\": [], \"image\": " BD_IMAGE "}");
    QMP_ERR(b, "Could not open '/tmp/blocksim/none': No such file or directory",
            "blockdev-add", "{\"driver\": \"blkdebug\", \"node-name\": \"d\", "
            "\"inject-error\": [], \"image\": {\"driver\": \"file\", "
            "\"filename\": \"/tmp/blocksim/none\"}}");
    /* neither node was left: both names are free */
    assert_null(node_find(s, "d"));
    assert_null(node_find(s, "f"));
    QMP_OK(b, "blockdev-add", "{\"driver\": \"blkdebug\", \"node-name\": \"d\", "
           "\"inject-error\": [{\"event\": \"read_aio\"}], \"image\": " BD_IMAGE "}");
    assert_non_null(node_find(s, "d"));
    QMP_OK(b, "blockdev-del", "{\"node-name\": \"d\"}");
    vm_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_lists_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
