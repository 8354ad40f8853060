/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The vmdk model (sim/vmdk_image.c, sim/drv_vmdk.c): QEMU 7.2's grain
 * rules of monolithicSparse and streamOptimized images, qemu-img create's
 * subformats, compressed backups to a vmdk target, and the empty CD-ROM
 * drive that a backup finds without a medium. */
#include <errno.h>

#include "sim/tests/sim_test.h"
#include "sim/fs.h"
#include "sim/vmdk_image.h"

#define KiB 1024ull
#define MiB (1024ull * 1024)
#define G VMDK_GRAIN_SIZE

/* A vmdk image in a file of its own, outside any simulated machine */
static sim_file *new_image(uint64_t size, bool stream)
{
    sim_file *f = calloc(1, sizeof *f);
    store_init(&f->data);
    vmdk_image_create(f, size, stream);
    return f;
}

static void free_image(sim_file *f)
{
    vmdk_image_free(f->vmdk);
    store_free(&f->data);
    free(f);
}

static int write_byte(sim_file *f, uint64_t off, uint64_t len, uint8_t byte)
{
    sim_data d;
    data_init(&d);
    data_add_byte(&d, len, byte);
    int r = vmdk_image_write(f, off, len, &d);
    data_free(&d);
    return r;
}

/* Does [off, off + len) of the guest read as byte? */
static bool reads_as(sim_file *f, uint64_t off, uint64_t len, uint8_t byte)
{
    sim_data d;
    data_init(&d);
    vmdk_image_read_data(f, off, len, &d);
    uint64_t where = 0;
    bool ok = d.len == len && data_all_byte(&d, byte, &where);
    data_free(&d);
    return ok;
}

static void test_subformats(void **state)
{
    bool stream = true;
    assert_int_equal(vmdk_parse_subformat(NULL, &stream), 0);
    assert_false(stream);
    assert_int_equal(vmdk_parse_subformat("monolithicSparse", &stream), 0);
    assert_false(stream);
    assert_int_equal(vmdk_parse_subformat("streamOptimized", &stream), 0);
    assert_true(stream);
    assert_int_equal(vmdk_parse_subformat("monolithicFlat", &stream), -ENOTSUP);
    assert_int_equal(vmdk_parse_subformat("twoGbMaxExtentSparse", &stream), -ENOTSUP);
    assert_int_equal(vmdk_parse_subformat("bogus", &stream), -EINVAL);
    assert_int_equal(vmdk_parse_subformat("streamoptimized", &stream), -EINVAL);
}

static void test_stream_grains(void **state)
{
    sim_file *f = new_image(4 * G, true);
    assert_int_equal(f->data.size, VMDK_CREATE_FILE_SIZE);
    assert_string_equal(vmdk_create_type(f->vmdk), "streamOptimized");
    /* a whole grain, once */
    assert_int_equal(write_byte(f, G, G, 0x11), 0);
    assert_int_equal(write_byte(f, G, G, 0x22), -EIO);
    assert_true(reads_as(f, G, G, 0x11));
    assert_true(reads_as(f, 0, G, 0));
    /* part of a grain: refused after the grain was allocated in the file,
     * and the grain stays unallocated (the next try fails the same way) */
    uint64_t before = f->data.size;
    assert_int_equal(write_byte(f, 0, 4 * KiB, 0x33), -EINVAL);
    assert_int_equal(f->data.size, before + G);
    assert_int_equal(write_byte(f, 0, 4 * KiB, 0x33), -EINVAL);
    assert_int_equal(write_byte(f, 2 * G + 512, G - 512, 0x33), -EINVAL);
    assert_true(reads_as(f, 0, G, 0));
    /* two grains in one request: each becomes a grain */
    assert_int_equal(write_byte(f, 2 * G, 2 * G, 0x44), 0);
    assert_true(reads_as(f, 2 * G, 2 * G, 0x44));
    /* zeroes (the generic layer's buffer) allocate too */
    assert_int_equal(vmdk_image_write(f, 0, G, NULL), 0);
    assert_int_equal(vmdk_image_write(f, 0, G, NULL), -EIO);
    bool alloc = false;
    uint64_t pnum = 0;
    vmdk_image_status(f->vmdk, 0, 4 * G, &alloc, &pnum);
    assert_true(alloc);
    assert_int_equal(pnum, 4 * G);
    /* past the end */
    assert_int_equal(write_byte(f, 4 * G, 512, 1), -EIO);
    free_image(f);
}

static void test_stream_last_grain(void **state)
{
    /* the last grain may be written short when the image ends inside it */
    sim_file *f = new_image(G + 1000, true);
    assert_int_equal(f->vmdk->size, G + 1024);      /* whole sectors */
    assert_int_equal(write_byte(f, G, 512, 7), -EINVAL);
    assert_int_equal(write_byte(f, G, 1024, 7), 0);
    assert_true(reads_as(f, G, 1024, 7));
    assert_true(reads_as(f, G + 1024, 512, 0));     /* past the end: zeroes */
    free_image(f);
}

static void test_sparse_grains(void **state)
{
    sim_file *f = new_image(8 * G, false);
    assert_string_equal(vmdk_create_type(f->vmdk), "monolithicSparse");
    /* partial writes allocate a grain whose rest reads as zeroes;
     * overwrites stay in place */
    assert_int_equal(write_byte(f, 3 * G + 4 * KiB, 4 * KiB, 0x55), 0);
    uint64_t size = f->data.size;
    assert_int_equal(size, VMDK_CREATE_FILE_SIZE + G);
    assert_int_equal(write_byte(f, 3 * G + 4 * KiB, 2 * KiB, 0x66), 0);
    assert_int_equal(f->data.size, size);
    assert_true(reads_as(f, 3 * G, 4 * KiB, 0));
    assert_true(reads_as(f, 3 * G + 4 * KiB, 2 * KiB, 0x66));
    assert_true(reads_as(f, 3 * G + 6 * KiB, 2 * KiB, 0x55));
    assert_true(reads_as(f, 3 * G + 8 * KiB, G - 8 * KiB, 0));
    bool alloc = true;
    uint64_t pnum = 0;
    vmdk_image_status(f->vmdk, 0, 8 * G, &alloc, &pnum);
    assert_false(alloc);
    assert_int_equal(pnum, 3 * G);
    free_image(f);
}

/* An HMP command line's reply */
static const char *hmp_line_ok(bs_backend *b, const char *line)
{
    static char out[512];
    json_object *a = json_object_new_object();
    json_object_object_add(a, "command-line", json_object_new_string(line));
    char *err = NULL;
    json_object *r = b->ops->qmp(b, "human-monitor-command", a, &err), *ret;
    json_object_put(a);
    assert_true(json_object_object_get_ex(r, "return", &ret));
    snprintf(out, sizeof out, "%s", json_object_get_string(ret));
    json_object_put(r);
    return out;
}

/* Does the VM's output (where HMP qemu-io prints) end with text? */
static bool log_ends_with(bs_backend *b, const char *text)
{
    char *err = NULL, *log = b->ops->vm_log(b, &err);
    assert_non_null(log);
    size_t n = strlen(log), m = strlen(text);
    bool ok = n >= m && !strcmp(log + n - m, text);
    if (!ok) {
        print_message("VM log: %s\n", log);
    }
    free(log);
    return ok;
}

static int img_run(bs_backend *b, char **errout, const char *a0, const char *a1, const char *a2,
                   const char *a3, const char *a4, const char *a5, const char *a6)
{
    const char *argv[] = { a0, a1, a2, a3, a4, a5, a6 };
    size_t argc = 0;
    while (argc < 7 && argv[argc]) {
        argc++;
    }
    char *out = NULL, *err = NULL;
    *errout = NULL;
    int rc = b->ops->img_run(b, argv, argc, &out, errout, &err);
    free(out);
    free(err);
    return rc;
}

static void test_backup_compressed_to_vmdk(void **state)
{
    bs_backend *b = vm_new();
    char *errout = NULL;
    add_drive(b, "src", IMG, 4 * MiB);
    hmp(b, "src", "write -P0x11 0 64k");
    hmp(b, "src", "write -P0x22 162k 32k");
    hmp(b, "src", "write -P0x33 4032k 64k");
    assert_int_equal(img_run(b, &errout, "create", "-f", "vmdk", TGT, "4M", "-o",
                             "subformat=streamOptimized"), 0);
    free(errout);
    QMP_OK(b, "blockdev-add", "{\"driver\": \"vmdk\", \"node-name\": \"tgt\", "
           "\"file\": {\"driver\": \"file\", \"filename\": \"%s\"}}", TGT);
    /* writes the guest could make: only whole grains, once */
    assert_string_equal(hmp(b, "tgt", "write -P1 0 4k"), "");
    assert_true(log_ends_with(b, "write failed: Invalid argument\n"));
    QMP_OK(b, "blockdev-backup", "{\"device\": \"src\", \"target\": \"tgt\", \"sync\": \"full\", "
           "\"compress\": true, \"job-id\": \"j\"}");
    assert_string_equal(wait_event(b, "BLOCK_JOB_COMPLETED"),
                        "{\"device\":\"j\",\"len\":4194304,\"offset\":4194304,\"speed\":0,"
                        "\"type\":\"backup\"}");
    drain_events(b);
    assert_string_equal(hmp(b, "tgt", "write -P1 0 64k"), "");
    assert_true(log_ends_with(b, "qemu-system-x86_64: Could not write to allocated cluster for "
                                 "streamOptimized\nwrite failed: Input/output error\n"));
    char *err = NULL;
    assert_int_equal(b->ops->shutdown(b, &err), 0);
    assert_int_equal(b->ops->img_compare(b, IMG, TGT, &err), 0);
    /* a vmdk file is probed as one by drive-backup mode=existing */
    assert_int_equal(b->ops->launch(b, &err), 0);
    assert_string_equal(hmp_line_ok(b, "drive_add 0 if=none,id=d0,file=" IMG ",format=qcow2"), "OK\r\n");
    assert_int_equal(img_run(b, &errout, "create", "-f", "vmdk", TGT, "4M", "-o",
                             "subformat=streamOptimized"), 0);
    free(errout);
    QMP_OK(b, "drive-backup", "{\"device\": \"d0\", \"target\": \"%s\", \"sync\": \"full\", "
           "\"compress\": true, \"mode\": \"existing\"}", TGT);
    assert_non_null(wait_event(b, "BLOCK_JOB_COMPLETED"));
    drain_events(b);
    assert_int_equal(b->ops->shutdown(b, &err), 0);
    assert_int_equal(b->ops->img_compare(b, IMG, TGT, &err), 0);
    b->ops->destroy(b);
}

static void test_create_errors(void **state)
{
    bs_backend *b = vm_new();
    char *errout = NULL;
    assert_int_equal(img_run(b, &errout, "create", "-f", "vmdk", TGT, "4M", "-o",
                             "subformat=bogus"), 1);
    assert_string_equal(errout, "qemu-img: " TGT ": invalid parameter value: bogus\n");
    free(errout);
    assert_int_equal(img_run(b, &errout, "create", "-f", "qcow2", TGT, "4M", "-o",
                             "subformat=streamOptimized"), 1);
    free(errout);
    /* a raw file is no vmdk, and a raw target takes no compressed writes */
    img_create(b, IMG, 4 * MiB);
    assert_int_equal(b->ops->img_create(b, "raw", TGT, 4 * MiB, NULL, NULL, &errout), 0);
    QMP_ERR(b, "Image not in VMDK format", "blockdev-add",
            "{\"driver\": \"vmdk\", \"node-name\": \"v\", "
            "\"file\": {\"driver\": \"file\", \"filename\": \"%s\"}}", TGT);
    QMP_OK(b, "blockdev-add", "{\"driver\": \"raw\", \"node-name\": \"r\", "
           "\"file\": {\"driver\": \"file\", \"filename\": \"%s\"}}", TGT);
    QMP_OK(b, "blockdev-add", "{\"driver\": \"qcow2\", \"node-name\": \"q\", "
           "\"file\": {\"driver\": \"file\", \"filename\": \"%s\"}}", IMG);
    /* bdrv_get_device_name: a node without a backend has none */
    QMP_ERR(b, "Compression is not supported for this drive ", "blockdev-backup",
            "{\"device\": \"q\", \"target\": \"r\", \"sync\": \"full\", \"compress\": true}");
    vm_free(b);
}

static void test_empty_cdrom(void **state)
{
    char *err = NULL;
    bs_backend *b = bs_backend_sim_new(&err);
    assert_non_null(b);
    const char *argv[] = { "-machine", "pc", "-drive", "if=ide,id=drive2,media=cdrom" };
    assert_int_equal(b->ops->launch_args(b, argv, 4, &err), 0);
    add_drive(b, "drive1", TGT, 4 * MiB);
    QMP_ERR(b, "Device 'drive2' has no medium", "drive-backup",
            "{\"device\": \"drive2\", \"target\": \"%s\", \"sync\": \"full\"}", IMG);
    QMP_ERR(b, "Device 'drive2' has no medium", "blockdev-backup",
            "{\"device\": \"drive2\", \"target\": \"drive1\", \"sync\": \"full\"}");
    QMP_ERR(b, "Device 'drive2' has no medium", "blockdev-backup",
            "{\"device\": \"drive1\", \"target\": \"drive2\", \"sync\": \"full\"}");
    QMP_ERR(b, "Device 'drive2' has no medium", "transaction",
            "{\"actions\": [{\"type\": \"blockdev-backup\", \"data\": {\"device\": \"drive2\", "
            "\"target\": \"drive1\", \"sync\": \"full\"}}]}");
    json_object *r = qmp(b, "query-block", NULL), *list, *cd;
    json_object_object_get_ex(r, "return", &list);
    cd = json_object_array_get_idx(list, 0);
    assert_string_equal(sorted_json(cd),
                        "{\"device\":\"drive2\",\"io-status\":\"ok\",\"locked\":false,"
                        "\"qdev\":\"/machine/unattached/device[18]\",\"removable\":true,"
                        "\"tray_open\":false,\"type\":\"unknown\"}");
    json_object_put(r);
    vm_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_subformats),
        cmocka_unit_test(test_stream_grains),
        cmocka_unit_test(test_stream_last_grain),
        cmocka_unit_test(test_sparse_grains),
        cmocka_unit_test(test_backup_compressed_to_vmdk),
        cmocka_unit_test(test_create_errors),
        cmocka_unit_test(test_empty_cdrom),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
