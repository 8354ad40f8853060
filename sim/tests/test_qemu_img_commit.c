/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu-img commit and qemu-img map on image files (sim/qemu_img_commit.c):
 * where the data ends up, what the top keeps, that the top's persistent
 * bitmap survives its emptying, and the base's bitmaps record the commit.
 */
#include "sim/tests/sim_test.h"

#define BASE "/tmp/blocksim/1000-base"
#define TOP "/tmp/blocksim/1000-top"

static int img(bs_backend *b, char **out, char **errout, ...)
{
    const char *argv[16];
    size_t argc = 0;
    va_list ap;
    va_start(ap, errout);
    for (const char *a; argc < 16 && (a = va_arg(ap, const char *));) {
        argv[argc++] = a;
    }
    va_end(ap);
    char *err = NULL;
    int rc = b->ops->img_run(b, argv, argc, out, errout, &err);
    assert_null(err);
    return rc;
}

static void io(bs_backend *b, const char *path, const char *cmd)
{
    char *err = NULL;
    const char *cmds[] = { cmd };
    free(b->ops->qemu_io(b, path, "qcow2", 0, cmds, 1, &err));
}

/* qemu-img map PATH, less the header, the host offsets cut out */
static char *map(bs_backend *b, const char *path)
{
    static char buf[1024];
    char *out = NULL, *errout = NULL;
    assert_int_equal(img(b, &out, &errout, "map", path, NULL), 0);
    assert_true(!strncmp(out, "Offset          Length          Mapped to       File\n", 53));
    buf[0] = 0;
    for (char *line = strtok(out + 53, "\n"); line; line = strtok(NULL, "\n")) {
        char off[32], len[32], host[32], file[256];
        assert_int_equal(sscanf(line, "%31s %31s %31s %255s", off, len, host, file), 4);
        snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s+%s@%s;", off, len,
                 strrchr(file, '-') + 1);
    }
    free(out);
    free(errout);
    return buf;
}

static bs_backend *chain(void)
{
    char *err = NULL;
    bs_backend *b = bs_backend_sim_new(&err);
    assert_int_equal(b->ops->img_create(b, "qcow2", BASE, 4 << 20, NULL, NULL, &err), 0);
    assert_int_equal(b->ops->img_create(b, "qcow2", TOP, 4 << 20, BASE, "qcow2", &err), 0);
    io(b, BASE, "write -P 1 0 128k");
    io(b, TOP, "write -P 2 64k 128k");
    io(b, TOP, "write -P 3 1M 512");
    return b;
}

static void test_map_runs(void **state)
{
    bs_backend *b = chain();
    /* the top's clusters and the base's first one, runs merged where the
     * file and its host offsets are contiguous */
    assert_string_equal(map(b, TOP), "0+0x10000@base;0x10000+0x20000@top;0x100000+0x10000@top;");
    assert_string_equal(map(b, BASE), "0+0x20000@base;");
    /* the JSON form: depth, present, zero, data, offset as qemu-img prints them */
    char *js = NULL, *jerr = NULL;
    assert_int_equal(img(b, &js, &jerr, "map", "--output=json", TOP, NULL), 0);
    assert_string_equal(js,
        "[{ \"start\": 0, \"length\": 65536, \"depth\": 1, \"present\": true, \"zero\": false, "
        "\"data\": true, \"offset\": 327680},\n"
        "{ \"start\": 65536, \"length\": 131072, \"depth\": 0, \"present\": true, \"zero\": false, "
        "\"data\": true, \"offset\": 327680},\n"
        "{ \"start\": 196608, \"length\": 851968, \"depth\": 1, \"present\": false, \"zero\": true, "
        "\"data\": false},\n"
        "{ \"start\": 1048576, \"length\": 65536, \"depth\": 0, \"present\": true, \"zero\": false, "
        "\"data\": true, \"offset\": 458752},\n"
        "{ \"start\": 1114112, \"length\": 3080192, \"depth\": 1, \"present\": false, \"zero\": true, "
        "\"data\": false}]\n");
    free(js);
    free(jerr);
    char *out = NULL, *errout = NULL;
    assert_int_equal(img(b, &out, &errout, "map", "/tmp/blocksim/1000-none", NULL), 1);
    assert_string_equal(errout, "qemu-img: Could not open '/tmp/blocksim/1000-none': Could not "
                        "open '/tmp/blocksim/1000-none': No such file or directory\n");
    free(out);
    free(errout);
    b->ops->destroy(b);
}

static void test_commit_empties_top_and_keeps_its_bitmap(void **state)
{
    bs_backend *b = chain();
    char *out = NULL, *errout = NULL;
    assert_int_equal(img(b, &out, &errout, "bitmap", "--add", TOP, "t", NULL), 0);
    free(out);
    free(errout);
    assert_int_equal(img(b, &out, &errout, "bitmap", "--add", BASE, "b", NULL), 0);
    free(out);
    free(errout);
    assert_int_equal(img(b, &out, &errout, "commit", TOP, NULL), 0);
    assert_string_equal(out, "Image committed.\n");
    free(out);
    free(errout);
    /* the committed cluster lands after the base's bitmap clusters, so it
     * is a run of its own (real qemu-img 7.2 maps it the same way) */
    assert_string_equal(map(b, TOP),
                        "0+0x20000@base;0x20000+0x10000@base;0x100000+0x10000@base;");
    /* the base's bitmap recorded the commit's writes: 3 clusters of 64k */
    assert_int_equal(img(b, &out, &errout, "info", TOP, NULL), 0);
    assert_non_null(strstr(out, "name: t"));
    free(out);
    free(errout);
    char *err = NULL;
    assert_int_equal(b->ops->launch(b, &err), 0);
    QMP_OK(b, "blockdev-add", "{\"node-name\": \"n\", \"driver\": \"qcow2\", "
           "\"file\": {\"driver\": \"file\", \"filename\": \"%s\"}}", BASE);
    json_object *r = qmp(b, "x-debug-block-dirty-bitmap-sha256", "{\"node\": \"n\", \"name\": \"b\"}");
    assert_null(reply_error(r));
    json_object_put(r);
    r = qmp(b, "query-named-block-nodes", NULL);
    assert_non_null(strstr(json_object_to_json_string(r), "\"count\": 196608"));
    json_object_put(r);
    assert_int_equal(b->ops->shutdown(b, &err), 0);
    b->ops->destroy(b);
}

static void test_commit_d_and_b_keep_top(void **state)
{
    bs_backend *b = chain();
    char *out = NULL, *errout = NULL;
    assert_int_equal(img(b, &out, &errout, "commit", "-d", TOP, NULL), 0);
    free(out);
    free(errout);
    assert_string_equal(map(b, TOP), "0+0x10000@base;0x10000+0x20000@top;0x100000+0x10000@top;");
    assert_int_equal(img(b, &out, &errout, "commit", "-b", "/tmp/blocksim/1000-x", TOP, NULL), 1);
    assert_string_equal(errout, "qemu-img: Did not find '/tmp/blocksim/1000-x' in the backing "
                        "chain of '" TOP "'\n");
    free(out);
    free(errout);
    assert_int_equal(img(b, &out, &errout, "commit", BASE, NULL), 1);
    assert_string_equal(errout, "qemu-img: Image does not have a backing file\n");
    free(out);
    free(errout);
    assert_int_equal(img(b, &out, &errout, "commit", "-b", BASE, TOP, NULL), 0);
    free(out);
    free(errout);
    assert_string_equal(map(b, TOP), "0+0x10000@base;0x10000+0x20000@top;0x100000+0x10000@top;");
    b->ops->destroy(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_map_runs),
        cmocka_unit_test(test_commit_empties_top_and_keeps_its_bitmap),
        cmocka_unit_test(test_commit_d_and_b_keep_top),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
