/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Block jobs' implicit filter nodes (sim/drv_job_filter.c): listed by
 * query-named-block-nodes while the job runs, in the backing chain of the
 * node above, gone after the job; query-block keeps the device's node
 * (cases/job-filter-nodes.case holds the same against real QEMU 7.2).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "sim/tests/sim_test.h"
#include "sim/sim_int.h"

static json_object *named_node(json_object *list, const char *drv, const char *name)
{
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        json_object *n = json_object_array_get_idx(list, i);
        json_object *v;
        if (drv && json_object_object_get_ex(n, "drv", &v) &&
            !strcmp(json_object_get_string(v), drv)) {
            return n;
        }
        if (name && json_object_object_get_ex(n, "node-name", &v) &&
            !strcmp(json_object_get_string(v), name)) {
            return n;
        }
    }
    return NULL;
}

static int64_t member_int(json_object *o, const char *key)
{
    json_object *v;
    assert_true(json_object_object_get_ex(o, key, &v));
    return json_object_get_int64(v);
}

/* base <- mid <- top, each layer written before the next takes it as
 * backing (mid's data keeps a rate-limited commit busy) */
static void chain(bs_backend *b)
{
    char *err = NULL;
    const char *names[] = { "base", "mid", "top" };
    for (int i = 0; i < 3; i++) {
        char path[64], back[64];
        snprintf(path, sizeof path, "/tmp/blocksim/%s", names[i]);
        snprintf(back, sizeof back, "/tmp/blocksim/%s", i ? names[i - 1] : "");
        assert_int_equal(b->ops->img_create(b, "qcow2", path, 4 << 20, i ? back : NULL,
                                            i ? "qcow2" : NULL, &err), 0);
        if (i) {
            QMP_OK(b, "blockdev-add", "{\"driver\": \"qcow2\", \"node-name\": \"%s\", "
                   "\"file\": {\"driver\": \"file\", \"filename\": \"%s\"}, \"backing\": \"%s\"}",
                   names[i], path, names[i - 1]);
        } else {
            QMP_OK(b, "blockdev-add", "{\"driver\": \"qcow2\", \"node-name\": \"%s\", "
                   "\"file\": {\"driver\": \"file\", \"filename\": \"%s\"}}", names[i], path);
        }
        if (i == 1) {
            hmp(b, "mid", "write -P0x22 1M 1M");
        }
    }
}

static void test_commit_top_while_the_job_runs(void **state)
{
    bs_backend *b = vm_new();
    chain(b);
    QMP_OK(b, "block-commit", "{\"job-id\": \"c\", \"device\": \"top\", \"top-node\": \"mid\", "
           "\"speed\": 1}");
    json_object *r = qmp(b, "query-named-block-nodes", NULL), *list;
    assert_true(json_object_object_get_ex(r, "return", &list));
    /* newest first: the filter */
    json_object *f = json_object_array_get_idx(list, 0);
    assert_ptr_equal(named_node(list, "commit_top", NULL), f);
    json_object *v;
    assert_true(json_object_object_get_ex(f, "node-name", &v));
    assert_int_equal(json_object_get_string(v)[0], '#');
    assert_true(json_object_object_get_ex(f, "ro", &v) && json_object_get_boolean(v));
    assert_int_equal(member_int(f, "backing_file_depth"), 2);
    /* the overlay's chain goes through it */
    json_object *top = named_node(list, NULL, "top"), *img, *bimg, *fmt;
    assert_int_equal(member_int(top, "backing_file_depth"), 3);
    assert_true(json_object_object_get_ex(top, "image", &img));
    assert_true(json_object_object_get_ex(img, "backing-image", &bimg));
    assert_true(json_object_object_get_ex(bimg, "format", &fmt));
    assert_string_equal(json_object_get_string(fmt), "commit_top");
    json_object_put(r);
    QMP_OK(b, "block-job-cancel", "{\"device\": \"c\"}");
    drain_events(b);
    r = qmp(b, "query-named-block-nodes", NULL);
    assert_true(json_object_object_get_ex(r, "return", &list));
    assert_null(named_node(list, "commit_top", NULL));
    assert_int_equal(member_int(named_node(list, NULL, "top"), "backing_file_depth"), 2);
    json_object_put(r);
    vm_free(b);
}

static void test_mirror_and_stream_filters(void **state)
{
    bs_backend *b = vm_new();
    chain(b);
    QMP_OK(b, "block-commit", "{\"job-id\": \"a\", \"device\": \"top\", \"speed\": 1}");
    json_object *r = qmp(b, "query-named-block-nodes", NULL), *list;
    assert_true(json_object_object_get_ex(r, "return", &list));
    json_object *f = named_node(list, "mirror_top", NULL);
    assert_non_null(f);
    assert_int_equal(member_int(f, "backing_file_depth"), 3);
    json_object_put(r);
    QMP_OK(b, "block-job-cancel", "{\"device\": \"a\", \"force\": true}");
    drain_events(b);
    QMP_OK(b, "block-stream", "{\"job-id\": \"s\", \"device\": \"top\", \"speed\": 1}");
    r = qmp(b, "query-named-block-nodes", NULL);
    assert_true(json_object_object_get_ex(r, "return", &list));
    assert_null(named_node(list, "mirror_top", NULL));
    assert_non_null(named_node(list, "copy-on-read", NULL));
    json_object_put(r);
    QMP_OK(b, "block-job-cancel", "{\"device\": \"s\"}");
    drain_events(b);
    r = qmp(b, "query-named-block-nodes", NULL);
    assert_true(json_object_object_get_ex(r, "return", &list));
    assert_null(named_node(list, "copy-on-read", NULL));
    json_object_put(r);
    vm_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commit_top_while_the_job_runs),
        cmocka_unit_test(test_mirror_and_stream_filters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
