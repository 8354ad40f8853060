/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qcow2 internal snapshots (sim/qcow2_snapshot.c, qemu-img snapshot -c /
 * -l in sim/qemu_img_snapshot.c): the listing as qemu-img prints it, ids,
 * the snapshot's clusters copied on the next write (its data stays), its
 * L2 table copied too, and qemu-img commit keeping it (iotest 176).
 */
#include "sim/tests/sim_test.h"
#include "sim/sim_int.h"

#define BASEIMG "/tmp/blocksim/1000-base"

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

static void io(bs_backend *b, const char *path, const char *cmd, const char *want)
{
    char *err = NULL;
    const char *cmds[] = { cmd };
    char *out = b->ops->qemu_io(b, path, "qcow2", 0, cmds, 1, &err);
    assert_non_null(out);
    if (want && !strstr(out, want)) {
        fail_msg("qemu-io %s: %s", cmd, out);
    }
    free(out);
}

static void test_list_and_ids(void **state)
{
    char *err = NULL, *out = NULL, *errout = NULL;
    bs_backend *b = bs_backend_sim_new(&err);
    assert_int_equal(b->ops->img_create(b, "qcow2", IMG, 1 << 20, NULL, NULL, &err), 0);
    /* no snapshot: -l prints nothing */
    assert_int_equal(img(b, &out, &errout, "snapshot", "-l", IMG, NULL), 0);
    assert_string_equal(out, "");
    free(out);
    free(errout);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(img(b, &out, &errout, "snapshot", "-c", "snap", IMG, NULL), 0);
        free(out);
        free(errout);
    }
    assert_int_equal(img(b, &out, &errout, "snapshot", "-l", IMG, NULL), 0);
    /* dump_snapshots' columns; the date is the virtual clock's (the epoch),
     * in local time */
    assert_true(!strncmp(out, "Snapshot list:\n"
                         "ID        TAG               VM SIZE                DATE     VM CLOCK     ICOUNT\n"
                         "1         snap                  0 B ", 103));
    assert_non_null(strstr(out, " 00:00:00.000          0\n2         snap                  0 B "));
    free(out);
    free(errout);
    /* qemu-img info lists them before the format-specific part */
    assert_int_equal(img(b, &out, &errout, "info", IMG, NULL), 0);
    char *sl = strstr(out, "Snapshot list:\n"), *fs = strstr(out, "Format specific information:");
    assert_true(sl && fs && sl < fs);
    free(out);
    free(errout);
    assert_int_equal(img(b, &out, &errout, "snapshot", "-a", "snap", IMG, NULL), 1);
    assert_string_equal(errout, "qemu-img: the simulator does not model qemu-img snapshot -a\n");
    free(out);
    free(errout);
    b->ops->destroy(b);
}

static void test_shared_clusters_are_copied(void **state)
{
    char *err = NULL, *out = NULL, *errout = NULL;
    bs_backend *b = bs_backend_sim_new(&err);
    assert_int_equal(b->ops->img_create(b, "qcow2", IMG, 1 << 20, NULL, NULL, &err), 0);
    io(b, IMG, "write -P 0x11 0 64k", "wrote 65536/65536");
    sim_file *f = fs_lookup((sim *)b, IMG);
    uint64_t old_host = l2_get(f->qcow2, 0), old_table = f->qcow2->l2_table[0];
    assert_int_equal(img(b, &out, &errout, "snapshot", "-c", "s", IMG, NULL), 0);
    free(out);
    free(errout);
    assert_true(q2_host_shared(f->qcow2, old_host));
    /* a partial write into the shared cluster: a new cluster with the old
     * data around the write; the old one keeps its bytes for the snapshot */
    io(b, IMG, "write -P 0x22 4k 4k", "wrote 4096/4096");
    uint64_t new_host = l2_get(f->qcow2, 0);
    assert_true(new_host != old_host);
    assert_false(q2_host_shared(f->qcow2, new_host));
    assert_int_equal(l2m_get(&f->qcow2->snapshots->map, 0), old_host);
    uint8_t byte = 0;
    store_read(&f->data, old_host + 4096, 1, &byte);
    assert_int_equal(byte, 0x11);
    io(b, IMG, "read -P 0x11 0 4k", "read 4096/4096");
    io(b, IMG, "read -P 0x22 4k 4k", "read 4096/4096");
    io(b, IMG, "read -P 0x11 8k 56k", "read 57344/57344");
    /* the L2 table it shared was copied too, once */
    assert_true(f->qcow2->l2_table[0] != old_table);
    uint64_t table = f->qcow2->l2_table[0];
    io(b, IMG, "write -P 0x33 0 4k", "wrote 4096/4096");
    assert_int_equal(f->qcow2->l2_table[0], table);
    assert_int_equal(l2_get(f->qcow2, 0), new_host);    /* private now: in place */
    b->ops->destroy(b);
}

static void test_commit_keeps_snapshot(void **state)
{
    char *err = NULL, *out = NULL, *errout = NULL;
    bs_backend *b = bs_backend_sim_new(&err);
    assert_int_equal(b->ops->img_create(b, "qcow2", BASEIMG, 1 << 20, NULL, NULL, &err), 0);
    assert_int_equal(b->ops->img_create(b, "qcow2", IMG, 1 << 20, BASEIMG, "qcow2", &err), 0);
    assert_int_equal(img(b, &out, &errout, "snapshot", "-c", "snap", IMG, NULL), 0);
    free(out);
    free(errout);
    io(b, IMG, "write -P 3 0 64k", "wrote");
    assert_int_equal(img(b, &out, &errout, "commit", IMG, NULL), 0);
    free(out);
    free(errout);
    io(b, BASEIMG, "read -P 3 0 64k", "read 65536/65536");
    assert_int_equal(img(b, &out, &errout, "snapshot", "-l", IMG, NULL), 0);
    assert_non_null(strstr(out, "1         snap "));
    free(out);
    free(errout);
    b->ops->destroy(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_and_ids),
        cmocka_unit_test(test_shared_clusters_are_copied),
        cmocka_unit_test(test_commit_keeps_snapshot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
