// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The fast paths of the codec give the same results as the plain ones:
 * a mapped archive file restores like the same archive read from a pipe;
 * targets this extract created (allocated ahead, zero clusters left as
 * holes) equal written-out ones byte for byte; existing targets are
 * written in place; the background writer makes the same archive as plain
 * writes and reports a failed write; a mapped archive that shrinks during
 * the restore fails cleanly.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "vma/tests/vma_test_util.h"
#include "vma/vma_int.h"

static const uint8_t fixed_uuid[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

/* An image with random blocks, zero blocks, all-zero clusters (a run of
 * them at 1 MiB) and a tail that ends inside a block. */
static uint8_t *mixed_image(uint64_t size, uint64_t seed)
{
    uint8_t *img = tu_image(size, 50, seed);

    memset(img + (1u << 20), 0, 5 * VMA_CLUSTER_SIZE);
    return img;
}

static char *build(const char *dir, const char *name, const uint8_t *img, uint64_t size,
                   bool background)
{
    vma_writer_options o = { .uuid = fixed_uuid, .ctime = 1700000000,
                             .background = background };
    tu_dev dev = { "disk0", img, size };
    vma_error err = { 0 };
    char *path = tu_path(dir, name);

    assert_int_equal(tu_build_archive(path, &dev, 1, NULL, 0, NULL, 0, 0, 7, &o, &err), 0);
    return path;
}

/* Restore dev 1 of the archive read from fd into target with flags. */
static int restore_fd(int in, int target, unsigned flags, bool *mapped, vma_error *err)
{
    vma_reader *r = vma_reader_open_fd(in, true, err);
    int ret;

    if (!r) {
        return err->code;
    }
    ret = vma_reader_set_target(r, 1, target, flags, err);
    if (ret == 0) {
        ret = vma_reader_restore(r, err);
    }
    if (mapped) {
        *mapped = vma_reader_is_mapped(r);
    }
    vma_reader_free(r);
    return ret;
}

/* The archive file's bytes through a pipe: cat writes them. An exec, so
 * that under valgrind (make memcheck) the child does not end holding the
 * parent's heap, which valgrind would report as the child's leaks. */
static int pipe_of(const char *path)
{
    int p[2];
    pid_t pid;

    assert_int_equal(pipe(p), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        if (dup2(p[1], STDOUT_FILENO) < 0) {
            _exit(126);
        }
        execlp("cat", "cat", path, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    return p[0];
}

static int new_target(const char *path, uint64_t size)
{
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0644);

    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)size), 0);
    return fd;
}

static void test_mapped_equals_piped(void **state)
{
    uint64_t size = 9u * 1024 * 1024 + 3 * VMA_BLOCK_SIZE + 100;
    uint8_t *img = mixed_image(size, 11);
    char *dir = tu_mkdtemp("fast-map");
    char *archive = build(dir, "a.vma", img, size, false);
    char *t1 = tu_path(dir, "mapped.raw"), *t2 = tu_path(dir, "piped.raw");
    vma_error err = { 0 };
    bool mapped = false;
    int fd1 = new_target(t1, size), fd2 = new_target(t2, size), status;

    (void)state;
    assert_int_equal(restore_fd(open(archive, O_RDONLY), fd1, VMA_TARGET_FRESH, &mapped,
                                &err), 0);
    assert_true(mapped);                       /* the file took the mapped path */
    assert_int_equal(restore_fd(pipe_of(archive), fd2, VMA_TARGET_FRESH, &mapped, &err), 0);
    assert_false(mapped);                      /* a pipe cannot be mapped */
    wait(&status);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(fd1);
    close(fd2);
    assert_true(tu_file_equals(t1, img, size));
    assert_true(tu_file_equals(t2, img, size));
    tu_rmrf(dir);
    free(t1);
    free(t2);
    free(archive);
    free(dir);
    free(img);
}

/* Is [off, off+len) of fd a hole, as far as SEEK_DATA tells? */
static bool is_hole(int fd, off_t off, off_t len)
{
    off_t data = lseek(fd, off, SEEK_DATA);

    return (data < 0 && errno == ENXIO) || data >= off + len;
}

static void test_fresh_equals_dense_and_in_place(void **state)
{
    uint64_t size = 6u * 1024 * 1024 + 5000;
    uint8_t *img = mixed_image(size, 12);
    uint8_t *garbage = malloc(size + 8192);
    char *dir = tu_mkdtemp("fast-fresh");
    char *archive = build(dir, "a.vma", img, size, false);
    char *fresh = tu_path(dir, "fresh.raw"), *dense = tu_path(dir, "dense.raw");
    char *keep = tu_path(dir, "keep.raw");
    vma_error err = { 0 };
    struct stat before, after;
    size_t len;
    uint8_t *got;
    int fd;

    (void)state;
    /* A file this extract made: the data clusters are allocated ahead,
     * the all-zero clusters stay holes, the bytes are the image's. */
    fd = new_target(fresh, size);
    bool holes = is_hole(fd, 0, (off_t)size);  /* does this file system tell? */

    assert_int_equal(restore_fd(open(archive, O_RDONLY), fd, VMA_TARGET_FRESH, NULL,
                                &err), 0);
    if (holes) {
        assert_true(is_hole(fd, 1 << 20, 5 * VMA_CLUSTER_SIZE));
        assert_false(is_hole(fd, 0, VMA_CLUSTER_SIZE));
    }
    close(fd);
    assert_true(tu_file_equals(fresh, img, size));

    /* An existing target full of other bytes, written in place with
     * zeroes (map line "1:"): same bytes as the fresh one; its size, which
     * is larger than the device, and its inode are kept. */
    memset(garbage, 0xa5, size + 8192);
    tu_write_file(dense, garbage, size + 8192);
    assert_int_equal(stat(dense, &before), 0);
    fd = open(dense, O_WRONLY);
    assert_int_equal(restore_fd(open(archive, O_RDONLY), fd,
                                VMA_TARGET_WRITE_ZEROES | VMA_TARGET_KEEP_SIZE, NULL,
                                &err), 0);
    close(fd);
    assert_int_equal(stat(dense, &after), 0);
    assert_int_equal(before.st_ino, after.st_ino);
    got = tu_read_file(dense, &len);
    assert_int_equal(len, size + 8192);
    assert_memory_equal(got, img, size);
    assert_memory_equal(got + size, garbage, 8192);
    free(got);

    /* Without zeroes (map line "0:", a target known to be zero): only the
     * data blocks are written, the other bytes stay as they were. */
    tu_write_file(keep, garbage, size);
    fd = open(keep, O_WRONLY);
    assert_int_equal(restore_fd(open(archive, O_RDONLY), fd, VMA_TARGET_KEEP_SIZE, NULL,
                                &err), 0);
    close(fd);
    got = tu_read_file(keep, &len);
    assert_int_equal(len, size);
    for (uint64_t b = 0; b < size; b += VMA_BLOCK_SIZE) {
        size_t n = size - b < VMA_BLOCK_SIZE ? (size_t)(size - b) : VMA_BLOCK_SIZE;
        bool zero = vma_buffer_is_zero(img + b, n);

        assert_memory_equal(got + b, zero ? garbage + b : img + b, n);
    }
    free(got);
    tu_rmrf(dir);
    free(fresh);
    free(dense);
    free(keep);
    free(archive);
    free(dir);
    free(garbage);
    free(img);
}

static void test_background_same_bytes(void **state)
{
    uint64_t size = 13u * 1024 * 1024 + 777;     /* several extents */
    uint8_t *img = mixed_image(size, 13);
    char *dir = tu_mkdtemp("fast-bg");
    char *plain = build(dir, "plain.vma", img, size, false);
    char *bg = build(dir, "bg.vma", img, size, true);
    size_t l1, l2;
    uint8_t *a = tu_read_file(plain, &l1), *b = tu_read_file(bg, &l2);

    (void)state;
    assert_int_equal(l1, l2);
    assert_memory_equal(a, b, l1);
    tu_rmrf(dir);
    free(a);
    free(b);
    free(plain);
    free(bg);
    free(dir);
    free(img);
}

/* A failed background write surfaces as the writer's error, naming the
 * archive offset, at a later call or at close. The header (written before
 * the thread starts) fits under a file size limit, the extents do not. */
static int background_write_error_child(const char *path)
{
    vma_writer_options o = { .uuid = fixed_uuid, .background = true };
    struct rlimit lim = { 1u << 20, 1u << 20 };
    uint8_t *cluster = malloc(VMA_CLUSTER_SIZE);
    uint64_t seed = 5;
    vma_error err = { 0 };
    vma_writer *w;
    int ret = 0;

    signal(SIGXFSZ, SIG_IGN);                     /* write then fails with EFBIG */
    if (!cluster || setrlimit(RLIMIT_FSIZE, &lim) < 0) {
        return 2;
    }
    w = vma_writer_create(path, &o, &err);
    if (!w || vma_writer_add_device(w, "disk0", 640u * VMA_CLUSTER_SIZE, &err) != 1) {
        return 3;
    }
    for (uint64_t c = 0; c < 640 && ret == 0; c++) {
        tu_fill_random(cluster, VMA_CLUSTER_SIZE, &seed);
        ret = vma_writer_write_cluster(w, 1, c, cluster, VMA_CLUSTER_SIZE, NULL, &err);
    }
    if (ret == 0) {
        ret = vma_writer_close(w, &err);
    }
    if (ret != -EFBIG || !strstr(err.msg, "archive offset") ||
        vma_writer_close(w, NULL) != -EFBIG) {
        fprintf(stderr, "got %d: %s\n", ret, err.msg);
        return 4;
    }
    vma_writer_free(w);                           /* removes the partial file */
    free(cluster);
    return tu_exists(path) ? 5 : 0;
}

static void test_background_write_error(void **state)
{
    char *dir = tu_mkdtemp("fast-bgerr");
    char *path = tu_path(dir, "a.vma");
    int status;
    pid_t pid = fork();

    (void)state;
    assert_true(pid >= 0);
    if (pid == 0) {
        int rc = background_write_error_child(path);

        free(path);     /* the child's copies: nothing left for valgrind */
        free(dir);
        _exit(rc);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    tu_rmrf(dir);
    free(path);
    free(dir);
}

/* The mapped archive is cut while it is being restored: the next extent's
 * data is gone from the mapping, and the restore fails with a reason. */
typedef struct cut_state {
    const char *path;
    off_t cut_at;
    bool done;
} cut_state;

static void cut_after_first(void *opaque, uint64_t bytes_read)
{
    cut_state *c = opaque;

    if (!c->done) {
        c->done = true;
        assert_int_equal(truncate(c->path, (off_t)bytes_read + c->cut_at), 0);
    }
}

static void test_mapped_archive_shrinks(void **state)
{
    uint64_t size = 8u * 1024 * 1024;
    uint8_t *img = tu_image(size, 100, 14);
    char *dir = tu_mkdtemp("fast-cut");
    char *archive = build(dir, "a.vma", img, size, false);
    char *target = tu_path(dir, "t.raw");
    cut_state cut = { archive, VMA_EXTENT_HEADER_SIZE + 16 * VMA_BLOCK_SIZE, false };
    vma_error err = { 0 };
    vma_reader *r = vma_reader_open(archive, &err);
    int fd = new_target(target, size);
    int ret;

    (void)state;
    assert_non_null(r);
    assert_int_equal(vma_reader_set_target(r, 1, fd, VMA_TARGET_FRESH, &err), 0);
    vma_reader_set_progress(r, cut_after_first, &cut);
    ret = vma_reader_restore(r, &err);
    assert_true(vma_reader_is_mapped(r));
    assert_true(ret < 0);
    assert_non_null(strstr(err.msg, "shrank"));
    vma_reader_free(r);
    close(fd);
    tu_rmrf(dir);
    free(target);
    free(archive);
    free(dir);
    free(img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mapped_equals_piped),
        cmocka_unit_test(test_fresh_equals_dense_and_in_place),
        cmocka_unit_test(test_background_same_bytes),
        cmocka_unit_test(test_background_write_error),
        cmocka_unit_test(test_mapped_archive_shrinks),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
