/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu-img bitmap and convert --bitmaps as separate processes
 * (sim/qemu_img_bitmap.c), and the inconsistent bitmaps a qemu-io that
 * aborts leaves behind. Expected texts are real qemu-img 7.2's.
 */
#include "sim/tests/sim_test.h"

#define BASE "/tmp/blocksim/1000-base"
#define COPY "/tmp/blocksim/1000-copy"

/* qemu-img ARGS... (NULL-terminated): exit code; *out stdout, *errout stderr */
static int img(bs_backend *b, char **out, char **errout, ...)
{
    const char *argv[32];
    size_t argc = 0;
    va_list ap;
    va_start(ap, errout);
    for (const char *a; argc < 32 && (a = va_arg(ap, const char *));) {
        argv[argc++] = a;
    }
    va_end(ap);
    char *err = NULL;
    int rc = b->ops->img_run(b, argv, argc, out, errout, &err);
    assert_null(err);
    return rc;
}

/* run and expect exit code rc and exactly this stderr */
static void img_expect(bs_backend *b, int rc, const char *want_err, ...)
{
    const char *argv[32];
    size_t argc = 0;
    va_list ap;
    va_start(ap, want_err);
    for (const char *a; argc < 32 && (a = va_arg(ap, const char *));) {
        argv[argc++] = a;
    }
    va_end(ap);
    char *out = NULL, *errout = NULL, *err = NULL;
    assert_int_equal(b->ops->img_run(b, argv, argc, &out, &errout, &err), rc);
    assert_string_equal(errout, want_err);
    free(out);
    free(errout);
}

static char *io(bs_backend *b, const char *path, const char *cmd)
{
    char *err = NULL;
    const char *cmds[] = { cmd };
    char *out = b->ops->qemu_io(b, path, "qcow2", 0, cmds, 1, &err);
    assert_non_null(out);
    return out;
}

/* qemu-img info's bitmap lines: "name:flag,flag;" per bitmap */
static char *bitmaps(bs_backend *b, const char *path)
{
    static char buf[512];
    char *out = NULL, *errout = NULL;
    assert_int_equal(img(b, &out, &errout, "info", "--output=json", path, NULL), 0);
    json_object *o = json_tokener_parse(out), *fs, *d, *list;
    buf[0] = 0;
    if (json_object_object_get_ex(o, "format-specific", &fs) &&
        json_object_object_get_ex(fs, "data", &d) && json_object_object_get_ex(d, "bitmaps", &list)) {
        for (size_t i = 0; i < json_object_array_length(list); i++) {
            json_object *bm = json_object_array_get_idx(list, i), *fl;
            strcat(buf, json_object_get_string(json_object_object_get(bm, "name")));
            strcat(buf, ":");
            json_object_object_get_ex(bm, "flags", &fl);
            for (size_t k = 0; k < json_object_array_length(fl); k++) {
                strcat(buf, k ? "," : "");
                strcat(buf, json_object_get_string(json_object_array_get_idx(fl, k)));
            }
            strcat(buf, ";");
        }
    }
    json_object_put(o);
    free(out);
    free(errout);
    return buf;
}

/* the dirty byte count of bitmap name on a VM node opened on path */
static long long dirty_count(bs_backend *b, const char *path, const char *name)
{
    char *err = NULL;
    assert_int_equal(b->ops->launch(b, &err), 0);
    QMP_OK(b, "blockdev-add", "{\"node-name\": \"n\", \"driver\": \"qcow2\", \"read-only\": true, "
           "\"file\": {\"driver\": \"file\", \"filename\": \"%s\"}}", path);
    json_object *r = qmp(b, "query-named-block-nodes", NULL), *list;
    long long count = -1;
    json_object_object_get_ex(r, "return", &list);
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        json_object *n = json_object_array_get_idx(list, i), *bl;
        if (strcmp(json_object_get_string(json_object_object_get(n, "node-name")), "n") ||
            !json_object_object_get_ex(n, "dirty-bitmaps", &bl)) {
            continue;
        }
        for (size_t k = 0; k < json_object_array_length(bl); k++) {
            json_object *bm = json_object_array_get_idx(bl, k);
            if (!strcmp(json_object_get_string(json_object_object_get(bm, "name")), name)) {
                count = json_object_get_int64(json_object_object_get(bm, "count"));
            }
        }
    }
    json_object_put(r);
    assert_int_equal(b->ops->shutdown(b, &err), 0);
    return count;
}

static bs_backend *machine(void)
{
    char *err = NULL;
    bs_backend *b = bs_backend_sim_new(&err);
    assert_non_null(b);
    assert_int_equal(b->ops->img_create(b, "qcow2", IMG, 10 << 20, NULL, NULL, &err), 0);
    return b;
}

static void test_actions_in_order_and_errors(void **state)
{
    bs_backend *b = machine();
    img_expect(b, 0, "", "bitmap", "--add", "-g", "512k", IMG, "b1", NULL);
    img_expect(b, 0, "", "bitmap", "--add", "--disable", IMG, "b2", NULL);
    assert_string_equal(bitmaps(b, IMG), "b1:auto;b2:;");
    img_expect(b, 1, "qemu-img: Operation add on bitmap b1 failed: Bitmap already exists: b1\n",
               "bitmap", "--add", IMG, "b1", NULL);
    img_expect(b, 1, "qemu-img: Operation remove on bitmap zz failed: Dirty bitmap 'zz' not found\n",
               "bitmap", "--remove", IMG, "zz", NULL);
    img_expect(b, 1, "qemu-img: granularity only supported with --add\n",
               "bitmap", "--clear", "-g", "64k", IMG, "b1", NULL);
    img_expect(b, 1, "qemu-img: Merge bitmap source file only supported with --merge\n",
               "bitmap", "--add", "-b", IMG, IMG, "b3", NULL);
    img_expect(b, 1, "qemu-img: -F only supported with -b\n",
               "bitmap", "--merge", "b1", "-F", "qcow2", IMG, "b2", NULL);
    img_expect(b, 1, "qemu-img: Could not open '/tmp/blocksim/1000-no': Could not open "
               "'/tmp/blocksim/1000-no': No such file or directory\n",
               "bitmap", "--add", "/tmp/blocksim/1000-no", "x", NULL);
    /* --remove --add: actions run in order, so the bitmap is new (enabled) */
    img_expect(b, 0, "", "bitmap", "--remove", "--add", IMG, "b2", NULL);
    assert_string_equal(bitmaps(b, IMG), "b1:auto;b2:auto;");
    b->ops->destroy(b);
}

static void test_merge_from_another_image(void **state)
{
    char *err = NULL;
    bs_backend *b = machine();
    assert_int_equal(b->ops->img_create(b, "qcow2", BASE, 10 << 20, NULL, NULL, &err), 0);
    img_expect(b, 0, "", "bitmap", "--add", BASE, "b0", NULL);
    free(io(b, BASE, "write 3M 1M"));
    img_expect(b, 0, "", "bitmap", "--add", "--disable", IMG, "dst", NULL);
    img_expect(b, 0, "", "bitmap", "--merge", "b0", "-b", BASE, "-F", "qcow2", IMG, "dst", NULL);
    assert_int_equal(dirty_count(b, IMG, "dst"), 1 << 20);
    /* the image opened as --image-opts */
    img_expect(b, 0, "", "bitmap", "--remove", "--image-opts",
               "driver=qcow2,file.driver=file,file.filename=" BASE, "b0", NULL);
    assert_string_equal(bitmaps(b, BASE), "");
    b->ops->destroy(b);
}

static void test_abort_leaves_inconsistent_bitmaps(void **state)
{
    bs_backend *b = machine();
    img_expect(b, 0, "", "bitmap", "--add", IMG, "b0", NULL);
    img_expect(b, 0, "", "bitmap", "--add", "--disable", IMG, "b1", NULL);
    char *out = io(b, IMG, "abort");
    assert_string_equal(out, "");        /* stdout was never flushed */
    free(out);
    assert_string_equal(bitmaps(b, IMG), "b0:in-use,auto;b1:in-use;");
    const char *hint = "Try block-dirty-bitmap-remove to delete this bitmap from disk\n";
    char want[256];
    snprintf(want, sizeof want, "qemu-img: Operation clear on bitmap b0 failed: Bitmap 'b0' is "
             "inconsistent and cannot be used\n%s", hint);
    img_expect(b, 1, want, "bitmap", "--clear", IMG, "b0", NULL);
    snprintf(want, sizeof want, "qemu-img: Operation disable on bitmap b0 failed: Bitmap 'b0' is "
             "inconsistent and cannot be used\n%s", hint);
    img_expect(b, 1, want, "bitmap", "--disable", IMG, "b0", NULL);
    /* an image with inconsistent bitmaps still takes a new one; storing
     * keeps the IN_USE entries as they are */
    img_expect(b, 0, "", "bitmap", "--add", IMG, "b2", NULL);
    assert_string_equal(bitmaps(b, IMG), "b0:in-use,auto;b1:in-use;b2:auto;");
    /* convert refuses the first inconsistent one in list order (newest first) */
    img_expect(b, 1, "qemu-img: Cannot copy inconsistent bitmap 'b1'\nTry --skip-broken-bitmaps, "
               "or use 'qemu-img bitmap --remove' to delete it\n",
               "convert", "--bitmaps", "-O", "qcow2", IMG, COPY, NULL);
    img_expect(b, 1, "qemu-img: Could not open '" COPY "': Could not open '" COPY "': "
               "No such file or directory\n", "info", COPY, NULL);
    img_expect(b, 0, "qemu-img: warning: Skipping inconsistent bitmap 'b1'\n"
               "qemu-img: warning: Skipping inconsistent bitmap 'b0'\n",
               "convert", "--bitmaps", "--skip-broken-bitmaps", "-O", "qcow2", IMG, COPY, NULL);
    assert_string_equal(bitmaps(b, COPY), "b2:auto;");
    /* removing an inconsistent bitmap is allowed */
    img_expect(b, 0, "", "bitmap", "--remove", IMG, "b0", NULL);
    assert_string_equal(bitmaps(b, IMG), "b1:in-use;b2:auto;");
    b->ops->destroy(b);
}

static void test_convert_copies_data_and_bitmaps(void **state)
{
    char *err = NULL;
    bs_backend *b = machine();
    assert_int_equal(b->ops->img_create(b, "qcow2", BASE, 10 << 20, NULL, NULL, &err), 0);
    free(io(b, BASE, "write -P 0x11 0 64k"));
    assert_int_equal(b->ops->img_rebase_unsafe(b, IMG, BASE, &err), 0);
    img_expect(b, 0, "", "bitmap", "--add", IMG, "a", NULL);
    img_expect(b, 0, "", "bitmap", "--add", "--disable", IMG, "d", NULL);
    free(io(b, IMG, "write -P 0x22 1M 64k"));
    img_expect(b, 1, "qemu-img: Format driver 'raw' does not support bitmaps\n",
               "convert", "--bitmaps", "-O", "raw", IMG, COPY, NULL);
    img_expect(b, 1, "qemu-img: Use of --skip-broken-bitmaps requires --bitmaps\n",
               "convert", "--skip-broken-bitmaps", "-O", "qcow2", IMG, COPY, NULL);
    img_expect(b, 0, "", "convert", "--bitmaps", "-O", "qcow2", IMG, COPY, NULL);
    /* created in the source's list order, so stored in the image's order */
    assert_string_equal(bitmaps(b, COPY), "a:auto;d:;");
    assert_int_equal(dirty_count(b, COPY, "a"), 64 << 10);
    assert_int_equal(dirty_count(b, COPY, "d"), 0);
    /* the guest's view, backing file included, without the backing file */
    char *out = io(b, COPY, "read -P 0x11 0 64k");
    assert_non_null(strstr(out, "read 65536/65536 bytes at offset 0"));
    free(out);
    out = io(b, COPY, "read -P 0x22 1M 64k");
    assert_non_null(strstr(out, "read 65536/65536 bytes at offset 1048576"));
    free(out);
    b->ops->destroy(b);
}

static void test_info_backing_chain(void **state)
{
    char *err = NULL, *out = NULL, *errout = NULL;
    bs_backend *b = bs_backend_sim_new(&err);
    assert_int_equal(b->ops->img_create(b, "qcow2", BASE, 1 << 20, NULL, NULL, &err), 0);
    assert_int_equal(b->ops->img_create(b, "qcow2", IMG, 1 << 20, BASE, "qcow2", &err), 0);
    assert_int_equal(img(b, &out, &errout, "info", "--backing-chain", IMG, NULL), 0);
    const char *second = strstr(out, "\n\nimage: " BASE "\n");
    assert_non_null(second);
    assert_true(!strncmp(out, "image: " IMG "\n", strlen("image: " IMG "\n")));
    free(out);
    free(errout);
    b->ops->destroy(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_actions_in_order_and_errors),
        cmocka_unit_test(test_merge_from_another_image),
        cmocka_unit_test(test_abort_leaves_inconsistent_bitmaps),
        cmocka_unit_test(test_convert_copies_data_and_bitmaps),
        cmocka_unit_test(test_info_backing_chain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
