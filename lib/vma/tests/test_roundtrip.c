// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Round trips through the codec: build an archive with the writer API
 * (clusters in shuffled order), restore it with the reader API, compare
 * byte for byte. With VMA_INTEROP_DIR set, every archive and its expected
 * extraction are also saved there for tools/vma_reader.py (interop.sh).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "vma/tests/vma_test_util.h"

typedef struct rt_case {
    const char *tag;
    tu_dev devs[8];
    unsigned ndevs;
    tu_cfg cfgs[4];
    unsigned ncfgs;
    const uint8_t *vmstate;
    size_t vmstate_len;
    uint64_t vmstate_estimate;
    uint64_t shuffle;
    unsigned extent_clusters;
} rt_case;

/* Save archive + expected extraction (the `vma extract` layout). */
static void save_for_interop(const rt_case *c, const char *archive)
{
    const char *dir = getenv("VMA_INTEROP_DIR");
    size_t len;
    uint8_t *bytes;
    char *name, *expect;

    if (!dir || !*dir) {
        return;
    }
    bytes = tu_read_file(archive, &len);
    if (asprintf(&name, "%s/%s.vma", dir, c->tag) < 0 ||
        asprintf(&expect, "%s/%s.expect", dir, c->tag) < 0) {
        abort();
    }
    tu_write_file(name, bytes, len);
    mkdir(expect, 0755);
    for (unsigned i = 0; i < c->ndevs; i++) {
        char *f;

        if (asprintf(&f, "%s/disk-%s.raw", expect, c->devs[i].name) < 0) {
            abort();
        }
        tu_write_file(f, c->devs[i].data, c->devs[i].size);
        free(f);
    }
    for (unsigned i = 0; i < c->ncfgs; i++) {
        char *f = tu_path(expect, c->cfgs[i].name);

        tu_write_file(f, c->cfgs[i].data, c->cfgs[i].len);
        free(f);
    }
    if (c->vmstate) {
        char *f = tu_path(expect, "vmstate.bin");
        /* Exact when the estimate ends inside the last cluster, else whole
         * clusters (zero padded). */
        size_t clusters = (c->vmstate_len + VMA_CLUSTER_SIZE - 1) / VMA_CLUSTER_SIZE;
        size_t full = clusters * VMA_CLUSTER_SIZE;
        size_t want = c->vmstate_estimate > full - VMA_CLUSTER_SIZE &&
                      c->vmstate_estimate <= full && clusters ? c->vmstate_estimate : full;
        uint8_t *v = calloc(1, want + 1);

        memcpy(v, c->vmstate, c->vmstate_len < want ? c->vmstate_len : want);
        tu_write_file(f, v, want);
        free(v);
        free(f);
    }
    free(bytes);
    free(name);
    free(expect);
}

static void run_case(const rt_case *c)
{
    char *dir = tu_mkdtemp(c->tag);
    char *archive = tu_path(dir, "a.vma");
    char *out = tu_path(dir, "out");
    vma_writer_options opts = { .extent_clusters = c->extent_clusters };
    vma_error err = { 0 };
    int ret;

    ret = tu_build_archive(archive, c->devs, c->ndevs, c->cfgs, c->ncfgs, c->vmstate,
                           c->vmstate_len, c->vmstate_estimate, c->shuffle, &opts, &err);
    if (ret < 0) {
        fail_msg("%s: build failed: %s", c->tag, err.msg);
    }
    mkdir(out, 0755);
    ret = tu_restore_all(archive, out, &err);
    if (ret < 0) {
        fail_msg("%s: restore failed: %s", c->tag, err.msg);
    }
    for (unsigned i = 0; i < c->ndevs; i++) {
        char *p = tu_path(out, c->devs[i].name);

        assert_true(tu_file_equals(p, c->devs[i].data, c->devs[i].size));
        free(p);
    }
    if (c->vmstate) {
        char *p = tu_path(out, "vmstate.bin");
        size_t len;
        uint8_t *got = tu_read_file(p, &len);

        assert_non_null(got);
        assert_true(len >= c->vmstate_len);
        assert_memory_equal(got, c->vmstate, c->vmstate_len);
        for (size_t i = c->vmstate_len; i < len; i++) {
            assert_int_equal(got[i], 0);
        }
        if (c->vmstate_estimate == c->vmstate_len && c->vmstate_len) {
            assert_int_equal(len, c->vmstate_len);
        }
        free(got);
        free(p);
    }
    /* Configs come back through the reader in order. */
    vma_reader *r = vma_reader_open(archive, &err);
    assert_non_null(r);
    assert_int_equal(vma_reader_config_count(r), c->ncfgs);
    for (unsigned i = 0; i < c->ncfgs; i++) {
        const vma_config_info *ci = vma_reader_config(r, i);

        assert_string_equal(ci->name, c->cfgs[i].name);
        assert_int_equal(ci->len, c->cfgs[i].len);
        assert_memory_equal(ci->data, c->cfgs[i].data, ci->len);
    }
    vma_reader_free(r);

    save_for_interop(c, archive);
    tu_rmrf(dir);
    free(dir);
    free(archive);
    free(out);
}

static void one_device(const char *tag, uint64_t size, unsigned data_percent,
                       uint64_t seed)
{
    uint8_t *img = tu_image(size, data_percent, seed);
    rt_case c = { .tag = tag, .ndevs = 1, .shuffle = seed };

    c.devs[0] = (tu_dev){ "drive-scsi0", img, size };
    run_case(&c);
    free(img);
}

static void test_size_1(void **state) { (void)state; one_device("size1", 1, 100, 1); }
static void test_size_64k_minus_1(void **state)
{
    (void)state;
    one_device("size64k-1", VMA_CLUSTER_SIZE - 1, 100, 2);
}
static void test_size_64k(void **state)
{
    (void)state;
    one_device("size64k", VMA_CLUSTER_SIZE, 100, 3);
}
static void test_size_64k_plus_1(void **state)
{
    (void)state;
    one_device("size64k+1", VMA_CLUSTER_SIZE + 1, 100, 4);
}
static void test_all_zero(void **state)
{
    (void)state;
    one_device("allzero", 5 * 1024 * 1024 + 12345, 0, 5);
}
static void test_all_random(void **state)
{
    (void)state;
    one_device("allrandom", 7 * 1024 * 1024 + 4097, 100, 6);
}
static void test_sparse_large(void **state)
{
    (void)state;
    one_device("sparse", 96u * 1024 * 1024 + 3 * VMA_BLOCK_SIZE + 5, 3, 7);
}
static void test_half_zero(void **state)
{
    (void)state;
    one_device("halfzero", 9 * 1024 * 1024, 50, 8);
}

static void test_several_devices(void **state)
{
    static const uint64_t sizes[] = { 1, 65535, 65536, 65537, 3 * 1024 * 1024 + 100,
                                      10 * 4096, 1024 * 1024 };
    static const char *names[] = { "a", "drive-virtio0", "c", "drive-scsi1", "efidisk0",
                                   "tpm", "g" };
    uint8_t *imgs[7];
    rt_case c = { .tag = "several", .ndevs = 7, .shuffle = 99 };

    (void)state;
    for (unsigned i = 0; i < 7; i++) {
        imgs[i] = tu_image(sizes[i], 60, 100 + i);
        c.devs[i] = (tu_dev){ names[i], imgs[i], sizes[i] };
    }
    run_case(&c);
    c.tag = "several-inorder";
    c.shuffle = 0;
    c.extent_clusters = 1;
    run_case(&c);
    c.tag = "several-59";              /* the most a reader accepts per extent */
    c.shuffle = 5;
    c.extent_clusters = 59;
    run_case(&c);
    for (unsigned i = 0; i < 7; i++) {
        free(imgs[i]);
    }
}

static void test_config_and_vmstate(void **state)
{
    static const char conf[] = "bootdisk: scsi0\ncores: 2\nmemory: 2048\n";
    uint8_t fw[300];
    uint64_t s = 42;
    size_t vm_len = 5 * VMA_CLUSTER_SIZE + 777;
    uint8_t *vm = tu_image(vm_len, 70, 43);
    uint8_t *disk = tu_image(2 * 1024 * 1024 + 3, 80, 44);
    rt_case c = { .tag = "cfg-vmstate", .ndevs = 1, .ncfgs = 3, .shuffle = 45 };

    (void)state;
    tu_fill_random(fw, sizeof(fw), &s);
    c.devs[0] = (tu_dev){ "drive-scsi0", disk, 2 * 1024 * 1024 + 3 };
    c.cfgs[0] = (tu_cfg){ "qemu-server.conf", conf, strlen(conf) };
    c.cfgs[1] = (tu_cfg){ "firmware.bin", fw, sizeof(fw) };
    c.cfgs[2] = (tu_cfg){ "empty.conf", "", 0 };
    c.vmstate = vm;
    c.vmstate_len = vm_len;
    c.vmstate_estimate = vm_len;            /* exact: restored exactly */
    run_case(&c);

    c.tag = "vmstate-estimate-low";         /* estimate off: whole clusters */
    c.vmstate_estimate = 4096;
    run_case(&c);

    c.tag = "vmstate-exact-clusters";
    c.vmstate_len = 3 * VMA_CLUSTER_SIZE;
    c.vmstate_estimate = 3 * VMA_CLUSTER_SIZE;
    run_case(&c);

    c.tag = "vmstate-empty";
    c.vmstate_len = 0;
    c.vmstate_estimate = 1 << 20;
    run_case(&c);
    free(vm);
    free(disk);
}

static void test_max_devices_and_configs(void **state)
{
    enum { NDEV = VMA_MAX_DEVICES, NCFG = VMA_MAX_CONFIGS };
    char *dir = tu_mkdtemp("max");
    char *archive = tu_path(dir, "a.vma");
    vma_writer *w = vma_writer_create(archive, NULL, NULL);
    vma_error err;
    uint8_t block[VMA_CLUSTER_SIZE];
    uint64_t s = 7;

    (void)state;
    assert_non_null(w);
    for (unsigned i = 0; i < NCFG; i++) {
        char name[32];

        snprintf(name, sizeof(name), "cfg%u", i);
        assert_int_equal(vma_writer_add_config(w, name, name, strlen(name), &err), 0);
    }
    assert_int_equal(vma_writer_add_config(w, "one-too-many", "x", 1, &err), -ENOSPC);
    for (unsigned i = 0; i < NDEV; i++) {
        char name[32];

        snprintf(name, sizeof(name), "dev%u", i);
        assert_int_equal(vma_writer_add_device(w, name, 4096 + i, &err), (int)i + 1);
    }
    assert_int_equal(vma_writer_add_device(w, "dev254", 1, &err), -ENOSPC);
    for (unsigned i = NDEV; i > 0; i--) {
        tu_fill_random(block, sizeof(block), &s);
        block[0] = (uint8_t)i;
        assert_int_equal(vma_writer_write_cluster(w, i, 0, block, 4096 + i - 1, NULL,
                                                  &err), 0);
    }
    assert_int_equal(vma_writer_close(w, &err), 0);
    vma_writer_free(w);

    vma_reader *r = vma_reader_open(archive, &err);
    assert_non_null(r);
    assert_int_equal(vma_reader_device_count(r), NDEV);
    assert_int_equal(vma_reader_config_count(r), NCFG);
    assert_string_equal(vma_reader_config(r, 255)->name, "cfg255");
    assert_null(vma_reader_config(r, 256));
    assert_string_equal(vma_reader_device(r, 254)->name, "dev253");
    assert_int_equal(vma_reader_device(r, 254)->size, 4096 + 253);
    assert_int_equal(vma_reader_restore(r, &err), 0);
    vma_reader_free(r);
    tu_rmrf(dir);
    free(dir);
    free(archive);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_size_1),
        cmocka_unit_test(test_size_64k_minus_1),
        cmocka_unit_test(test_size_64k),
        cmocka_unit_test(test_size_64k_plus_1),
        cmocka_unit_test(test_all_zero),
        cmocka_unit_test(test_all_random),
        cmocka_unit_test(test_sparse_large),
        cmocka_unit_test(test_half_zero),
        cmocka_unit_test(test_several_devices),
        cmocka_unit_test(test_config_and_vmstate),
        cmocka_unit_test(test_max_devices_and_configs),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
