// SPDX-License-Identifier: GPL-2.0-or-later
/* The high-level operations' error paths: vma_create_archive,
 * vma_extract_archive, the raw file source and the backup glue. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "vma/tests/vma_test_util.h"
#include "vma/vma_backup.h"
#include "vma/vma_int.h"

static char *workdir;

static int setup(void **state)
{
    (void)state;
    workdir = tu_mkdtemp("ops");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_rmrf(workdir);
    free(workdir);
    return 0;
}

#define assert_msg(err, text) \
    do { \
        if (!strstr((err).msg, (text))) { \
            fail_msg("message '%s' lacks '%s'", (err).msg, (text)); \
        } \
    } while (0)

static void test_create_argument_errors(void **state)
{
    char *archive = tu_path(workdir, "c.vma");
    char *img = tu_path(workdir, "img.raw");
    char *big = tu_path(workdir, "big.conf");
    char *empty = tu_path(workdir, "empty.raw");
    char spec[4096], nopath[] = "name=";
    const char *specs[VMA_MAX_DEVICES + 1];
    const char *cfgs[1] = { big };
    vma_create_options opts = { 0 };
    vma_error err = { 0 };
    static uint8_t blob[VMA_MAX_BLOB_SIZE + 1];

    (void)state;
    tu_write_file(img, "hello", 5);
    tu_write_file(big, blob, sizeof(blob));
    tu_write_file(empty, "", 0);
    snprintf(spec, sizeof(spec), "%s", img);
    for (unsigned i = 0; i <= VMA_MAX_DEVICES; i++) {
        specs[i] = spec;
    }
    assert_true(vma_create_archive(archive, specs, 0, NULL, &err) < 0);
    assert_msg(err, "no images");
    assert_true(vma_create_archive(archive, specs, VMA_MAX_DEVICES + 1, NULL, &err) < 0);
    assert_msg(err, "too many images");
    opts.config_count = VMA_MAX_CONFIGS + 1;
    assert_true(vma_create_archive(archive, specs, 1, &opts, &err) < 0);
    assert_msg(err, "too many config files");
    opts.config_count = 1;
    opts.config_paths = cfgs;
    assert_true(vma_create_archive(archive, specs, 1, &opts, &err) < 0);
    assert_msg(err, "larger than 65535 bytes");
    specs[0] = nopath;
    assert_true(vma_create_archive(archive, specs, 1, NULL, &err) < 0);
    assert_msg(err, "no path");
    specs[0] = empty;
    assert_true(vma_create_archive(archive, specs, 1, NULL, &err) < 0);
    assert_msg(err, "is empty");
    specs[0] = "/dev/null";                     /* not a regular file: size 0 */
    assert_true(vma_create_archive(archive, specs, 1, NULL, &err) < 0);
    assert_msg(err, "is empty");
    specs[0] = workdir;                         /* a directory cannot be read */
    assert_true(vma_create_archive(archive, specs, 1, NULL, &err) < 0);
    assert_false(tu_exists(archive));

    /* Fixed uuid and ctime come through. */
    uint8_t uuid[16] = { 0xab };
    opts = (vma_create_options){ .uuid = uuid, .ctime = 42 };
    specs[0] = spec;
    assert_int_equal(vma_create_archive(archive, specs, 1, &opts, &err), 0);
    vma_reader *r = vma_reader_open(archive, &err);
    assert_memory_equal(vma_reader_uuid(r), uuid, 16);
    assert_int_equal(vma_reader_ctime(r), 42);
    assert_string_equal(vma_reader_device(r, 1)->name, "disk0");
    vma_reader_free(r);
    unlink(archive);
    free(archive);
    free(img);
    free(big);
    free(empty);
}

static void test_backup_glue(void **state)
{
    char *img = tu_path(workdir, "shrink.raw");
    uint8_t *data = tu_image(40 * VMA_CLUSTER_SIZE, 100, 3);
    vma_file_source src;
    vma_error err = { 0 };
    int fd = open("/dev/null", O_WRONLY);
    vma_writer *w = vma_writer_new_fd(fd, true, NULL, &err);
    vma_backup *b;
    cl_io io;
    int ret;

    (void)state;
    tu_write_file(img, data, 40 * VMA_CLUSTER_SIZE);
    assert_int_equal(vma_file_source_open(&src, img, &err), 0);
    io = vma_file_source_io(&src);
    b = vma_backup_new(w, (unsigned)vma_writer_add_device(w, "d", src.size, &err),
                       src.size, &io, &err);
    assert_non_null(b);
    assert_non_null(vma_backup_cbw(b));
    /* The image shrinks under the running backup: the read fails. */
    assert_int_equal(truncate(img, VMA_CLUSTER_SIZE), 0);
    while ((ret = vma_backup_step(b, &err)) > 0) {
    }
    assert_true(ret < 0);
    assert_msg(err, "reading the source");
    assert_int_equal(vma_backup_step(b, &err), ret);   /* stays failed */
    vma_backup_free(b);
    vma_writer_free(w);
    vma_file_source_close(&src);
    vma_file_source_close(&src);                       /* idempotent */
    assert_true(vma_file_source_open(&src, "/nonexistent/x", &err) < 0);

    /* A cancelled job fails the archive. */
    tu_write_file(img, data, 40 * VMA_CLUSTER_SIZE);
    fd = open("/dev/null", O_WRONLY);
    w = vma_writer_new_fd(fd, true, NULL, &err);
    assert_int_equal(vma_file_source_open(&src, img, &err), 0);
    io = vma_file_source_io(&src);
    b = vma_backup_new(w, (unsigned)vma_writer_add_device(w, "d", src.size, &err),
                       src.size, &io, &err);
    cl_backup_cancel(vma_backup_job(b));
    assert_true(vma_backup_step(b, &err) < 0);
    assert_msg(err, "cancelled");
    vma_backup_free(b);
    vma_backup_free(NULL);
    vma_writer_free(w);
    vma_file_source_close(&src);
    free(data);
    free(img);
}

/* Replace the first blob string `from` in the archive's header by `to` (same
 * length) and fix the header md5: a name our writer would refuse. */
static void rename_blob(const char *path, const char *from, const char *to)
{
    size_t len, n = strlen(from) + 1;
    uint8_t *buf = tu_read_file(path, &len);
    uint32_t hsize;

    assert_non_null(buf);
    hsize = vma_get_be32(buf + VMA_H_HEADER_SIZE);
    for (size_t i = VMA_HEADER_FIXED_SIZE; i + n <= hsize; i++) {
        if (memcmp(buf + i, from, n) == 0) {
            memcpy(buf + i, to, n);
            break;
        }
    }
    memset(buf + VMA_H_MD5, 0, 16);
    vma_md5(buf, hsize, buf + VMA_H_MD5);
    unlink(path);
    tu_write_file(path, buf, len);
    free(buf);
}

static void test_extract_errors(void **state)
{
    char *archive = tu_path(workdir, "e.vma");
    char *out = tu_path(workdir, "e-out");
    uint8_t one = 1;
    tu_dev dev = { "d", &one, 1 };
    tu_cfg dots = { "..", "x", 1 };
    tu_cfg ab = { "ab", "x", 1 };
    tu_cfg clash = { "vmstate.bin", "x", 1 };
    uint8_t vm[10] = { 1 };
    vma_extract_options opts = { 0 };
    vma_error err = { 0 };
    char cwd[4096];

    (void)state;
    assert_true(vma_extract_archive(archive, "", NULL, &err) < 0);
    assert_true(vma_extract_archive(archive, NULL, NULL, &err) < 0);
    assert_true(vma_extract_archive(archive, out, NULL, &err) < 0);
    assert_msg(err, "cannot open archive");

    /* The writer refuses '..'; an archive from another writer may hold it:
     * made here by renaming "ab" in place (and fixing the header md5). */
    assert_true(tu_build_archive(archive, &dev, 1, &dots, 1, NULL, 0, 0, 0, NULL,
                                 &err) < 0);
    assert_msg(err, "config name '..' cannot be used as a file name");
    assert_int_equal(tu_build_archive(archive, &dev, 1, &ab, 1, NULL, 0, 0, 0, NULL,
                                      &err), 0);
    rename_blob(archive, "ab", "..");
    assert_true(vma_extract_archive(archive, out, NULL, &err) < 0);
    assert_msg(err, "config name '..' cannot be used as a file name");
    assert_false(tu_exists(out));
    unlink(archive);

    assert_int_equal(tu_build_archive(archive, &dev, 1, &clash, 1, vm, sizeof(vm),
                                      sizeof(vm), 0, NULL, &err), 0);
    assert_true(vma_extract_archive(archive, out, NULL, &err) < 0);
    assert_msg(err, "cannot create 'vmstate.bin'");
    assert_false(tu_exists(out));

    /* Parent directory missing. */
    char *deep = tu_path(workdir, "no/such/dir");
    assert_true(vma_extract_archive(archive, deep, NULL, &err) < 0);
    assert_msg(err, "cannot create target directory");
    free(deep);

    /* A map target that cannot be opened. */
    char *map = tu_path(workdir, "map");
    char line[4200];
    snprintf(line, sizeof(line), "0:d=%s/no/such/file\n", workdir);
    tu_write_file(map, line, strlen(line));
    opts.map_path = map;
    unlink(archive);
    assert_int_equal(tu_build_archive(archive, &dev, 1, NULL, 0, NULL, 0, 0, 0, NULL,
                                      &err), 0);
    assert_true(vma_extract_archive(archive, out, &opts, &err) < 0);
    assert_msg(err, "cannot open target");
    assert_false(tu_exists(out));

    /* A relative target directory (temporary made in the current one). */
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(workdir), 0);
    assert_int_equal(vma_extract_archive(archive, "rel-out", NULL, &err), 0);
    assert_true(tu_exists("rel-out/disk-d.raw"));
    assert_int_equal(chdir(cwd), 0);
    free(map);
    free(archive);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_argument_errors),
        cmocka_unit_test(test_backup_glue),
        cmocka_unit_test(test_extract_errors),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
