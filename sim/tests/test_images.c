/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Images: qcow2 allocation and reads through backing files, qemu-img
 * compare/rebase, the sparse store, and blkdebug's state machine. */
#include <errno.h>

#include "sim/tests/sim_test.h"
#include "sim/sim_int.h"

#define MiB (1024ull * 1024)
#define KiB 1024ull

static sim_node *node(bs_backend *b, const char *name)
{
    sim_node *n = node_find((sim *)b, name);
    assert_non_null(n);
    return n;
}

/* qemu-io's numbers, as real qemu-io 7.2 prints them
 * (qemu-io -c "write 0 1536" -c "write 0 100"). */
static void test_qemu_io_cvtstr(void **state)
{
    (void)state;
    char out[64];
    static const struct { double v; const char *want; } cases[] = {
        { 100, "100 bytes" }, { 1536, "1.500 KiB" }, { 65536, "64 KiB" },
        { 65536000.0, "62.500 MiB" }, { 1048576, "1 MiB" }, { 1023, "1023 bytes" },
        { 1.5 * 1073741824.0, "1.500 GiB" }, { 1024.25, "1 KiB" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sim_cvtstr(cases[i].v, out, sizeof out);
        assert_string_equal(out, cases[i].want);
    }
}

static void test_store(void **state)
{
    sim_store st;
    store_init(&st);
    uint8_t buf[3 * SIM_CHUNK], out[3 * SIM_CHUNK];
    memset(buf, 0xab, sizeof buf);
    /* enough chunks to grow the hash several times */
    for (uint64_t i = 0; i < 300; i++) {
        store_write(&st, i * 7 * SIM_CHUNK + 100, 10, buf);
    }
    for (uint64_t i = 0; i < 300; i++) {
        store_read(&st, i * 7 * SIM_CHUNK + 99, 12, out);
        assert_int_equal(out[0], 0);
        assert_int_equal(out[1], 0xab);
        assert_int_equal(out[10], 0xab);
        assert_int_equal(out[11], 0);
    }
    store_write(&st, SIM_CHUNK - 5, sizeof buf, buf);
    store_read(&st, SIM_CHUNK - 5, sizeof out, out);
    assert_memory_equal(out, buf, sizeof buf);
    /* zeroing a whole chunk drops it */
    size_t used = st.used;
    store_zero(&st, 2 * SIM_CHUNK, SIM_CHUNK);
    assert_true(st.used < used);
    store_read(&st, 2 * SIM_CHUNK, 16, out);
    assert_int_equal(out[0], 0);
    store_truncate(&st, SIM_CHUNK + 3);
    assert_int_equal(st.size, SIM_CHUNK + 3);
    store_read(&st, SIM_CHUNK, 8, out);
    assert_int_equal(out[2], 0xab);
    assert_int_equal(out[3], 0);
    store_truncate(&st, 0);
    store_free(&st);
}

static void test_qcow2_allocation_order(void **state)
{
    bs_backend *b = vm_new();
    add_drive(b, "drive0", IMG, 64 * MiB);
    sim_qcow2 *q = node(b, "drive0")->q;
    hmp(b, "drive0", "write -P0x1 0x20000 64k");
    hmp(b, "drive0", "write -P0x2 0 128k");
    hmp(b, "drive0", "write -P0x3 0xf8000 64k");
    uint64_t cs = q->cluster_size;
    /* host clusters in allocation order; the first data cluster is 5 */
    assert_int_equal(l2_get(q, 2) / cs, 5);
    assert_int_equal(l2_get(q, 0) / cs, 6);
    assert_int_equal(l2_get(q, 1) / cs, 7);
    assert_int_equal(l2_get(q, 15) / cs, 8);
    assert_int_equal(l2_get(q, 16) / cs, 9);
    /* block status runs stop where host contiguity stops */
    uint64_t pnum;
    sim *s = (sim *)b;
    sim_node *d = node(b, "drive0");
    assert_int_equal(node_block_status(s, d, 0, 1 * MiB, &pnum), CL_STATUS_DATA | CL_STATUS_ALLOCATED);
    assert_int_equal(pnum, 128 * KiB);
    assert_int_equal(node_block_status(s, d, 0x20000, 1 * MiB, &pnum), CL_STATUS_DATA | CL_STATUS_ALLOCATED);
    assert_int_equal(pnum, 64 * KiB);
    assert_int_equal(node_block_status(s, d, 0x30000, 1 * MiB, &pnum), CL_STATUS_ZERO);
    assert_int_equal(pnum, 0xf0000 - 0x30000);
    assert_int_equal(node_block_status(s, d, 64 * MiB, 1, &pnum), CL_STATUS_ZERO);
    /* COW keeps the rest of a partially written new cluster as zeroes */
    uint8_t buf[64 * 1024];
    assert_int_equal(node_read(s, d, 0xf0000, sizeof buf, buf), 0);
    assert_int_equal(buf[0], 0);
    assert_int_equal(buf[0x8000], 3);
    assert_int_equal(node_read(s, d, 64 * MiB - 512, 1024, buf), -EIO);
    /* zero writes: a whole data cluster becomes a zero cluster */
    hmp(b, "drive0", "write -z 0 64k");
    assert_true(l2_get(q, 0) & Q2_ZERO);
    assert_int_equal(node_block_status(s, d, 0, 1 * MiB, &pnum), CL_STATUS_ZERO | CL_STATUS_ALLOCATED);
    hmp(b, "drive0", "write -z 0x20000 4k");   /* partial: written as zero data */
    assert_int_equal(node_read(s, d, 0x20000, 8192, buf), 0);
    assert_int_equal(buf[0], 0);
    assert_int_equal(buf[4096], 1);
    /* already zero: still a zero cluster, as qcow2_co_pwrite_zeroes makes
     * one of an unallocated cluster whose rest reads as zeroes (real QEMU:
     * qemu-img map then shows it "present") */
    hmp(b, "drive0", "write -z 0x400000 4k");
    assert_int_equal(l2_get(q, 0x40), Q2_ZERO);
    /* a data write into a zero cluster reuses its host cluster */
    uint64_t host0 = l2_get(q, 0) & ~Q2_ZERO;
    hmp(b, "drive0", "write -P0x9 0x1000 4k");
    assert_int_equal(l2_get(q, 0), host0);
    assert_int_equal(node_read(s, d, 0, 8192, buf), 0);
    assert_int_equal(buf[0], 0);
    assert_int_equal(buf[4096], 9);
    vm_free(b);
}

static void test_backing_reads_and_compare(void **state)
{
    bs_backend *b = vm_new();
    char *err = NULL;
    const char *base = "/tmp/blocksim/1000-base", *top = "/tmp/blocksim/1000-top";
    add_drive(b, "base", base, 4 * MiB);
    hmp(b, "base", "write -P0x11 0 128k");
    hmp(b, "base", "write -P0x12 3M 64k");
    assert_int_equal(b->ops->shutdown(b, &err), 0);
    assert_int_equal(b->ops->launch(b, &err), 0);
    /* size 0 takes the backing file's; a relative name is next to the image */
    assert_int_equal(b->ops->img_create(b, "qcow2", top, 0, "1000-base", "qcow2", &err), 0);
    QMP_OK(b, "blockdev-add", "{\"driver\": \"qcow2\", \"node-name\": \"top\", \"file\": "
           "{\"driver\": \"file\", \"filename\": \"%s\"}}", top);
    sim *s = (sim *)b;
    sim_node *t = node(b, "top");
    assert_non_null(t->backing);
    uint8_t buf[4096];
    assert_int_equal(node_read(s, t, 0x10000, sizeof buf, buf), 0);
    assert_int_equal(buf[0], 0x11);
    uint64_t pnum;
    assert_int_equal(node_block_status(s, t, 0, 1 * MiB, &pnum), 0);
    /* a partial write into a backed cluster copies the rest from below */
    hmp(b, "top", "write -P0x21 0x1000 4k");
    assert_int_equal(node_read(s, t, 0, sizeof buf, buf), 0);
    assert_int_equal(buf[0], 0x11);
    assert_int_equal(node_read(s, t, 0x1000, sizeof buf, buf), 0);
    assert_int_equal(buf[0], 0x21);
    /* zeroes written over backed data become a zero cluster */
    hmp(b, "top", "write -z 3M 64k");
    assert_true(l2_get(t->q, 48) & Q2_ZERO);
    json_object *r = qmp(b, "query-named-block-nodes", NULL);
    assert_non_null(strstr(json_object_to_json_string(r), "\"backing_file_depth\": 1"));
    json_object_put(r);
    assert_int_equal(b->ops->shutdown(b, &err), 0);

    /* compare sees through the chain */
    const char *copy = "/tmp/blocksim/1000-copy";
    assert_int_equal(b->ops->img_create(b, "qcow2", copy, 4 * MiB, NULL, NULL, &err), 0);
    assert_int_equal(b->ops->img_compare(b, base, copy, &err), 1);
    assert_int_equal(b->ops->img_compare(b, top, base, &err), 1);
    assert_int_equal(b->ops->img_rebase_unsafe(b, copy, base, &err), 0);
    assert_int_equal(b->ops->img_compare(b, base, copy, &err), 0);
    assert_int_equal(b->ops->img_rebase_unsafe(b, copy, "", &err), 0);
    assert_int_equal(b->ops->img_compare(b, base, copy, &err), 1);
    /* a longer image matches when its tail reads as zeroes */
    const char *longer = "/tmp/blocksim/1000-long";
    assert_int_equal(b->ops->img_create(b, "qcow2", longer, 8 * MiB, base, "qcow2", &err), 0);
    assert_int_equal(b->ops->img_compare(b, base, longer, &err), 0);
    assert_int_equal(b->ops->img_create(b, "raw", "/tmp/blocksim/raw", 4 * MiB, NULL, NULL, &err), 0);
    assert_int_equal(b->ops->img_compare(b, copy, "/tmp/blocksim/raw", &err), 0);
    /* errors */
    assert_true(b->ops->img_compare(b, base, "/tmp/blocksim/none", &err) < 0);
    free(err);
    err = NULL;
    assert_true(b->ops->img_rebase_unsafe(b, "/tmp/blocksim/none", base, &err) < 0);
    free(err);
    err = NULL;
    assert_true(b->ops->img_rebase_unsafe(b, "/tmp/blocksim/raw", base, &err) < 0);
    free(err);
    err = NULL;
    assert_int_equal(b->ops->img_rebase_unsafe(b, copy, "/tmp/blocksim/none", &err), 0);
    assert_true(b->ops->img_compare(b, base, copy, &err) < 0);
    free(err);
    err = NULL;
    /* a backing file without its format: refused, naming the probed one */
    assert_true(b->ops->img_create(b, "qcow2", "/tmp/blocksim/nofmt", 1 * MiB, base, NULL,
                                   &err) < 0);
    assert_non_null(strstr(err, "Backing file specified without backing format\n"
                                "Detected format of qcow2."));
    free(err);
    err = NULL;
    assert_true(b->ops->img_create(b, "qcow2", "relative", 1 * MiB, NULL, NULL, &err) < 0);
    free(err);
    err = NULL;
    assert_true(b->ops->img_create(b, "qcow2", "/tmp/blocksim/x", 1 * MiB, "none", NULL, &err) < 0);
    free(err);
    err = NULL;
    assert_true(b->ops->img_create(b, "vmdk", "/tmp/blocksim/x", 1 * MiB, NULL, NULL, &err) < 0);
    free(err);
    err = NULL;
    /* qemu-img create rounds a size up to whole sectors (real QEMU 7.2:
     * 4097 -> 4608 for qcow2 and raw) */
    assert_int_equal(b->ops->img_create(b, "qcow2", "/tmp/blocksim/x", 1000, NULL, NULL, &err), 0);
    assert_int_equal(b->ops->launch(b, &err), 0);
    QMP_OK(b, "blockdev-add", "{\"driver\": \"qcow2\", \"node-name\": \"x\", \"file\": "
           "{\"driver\": \"file\", \"filename\": \"/tmp/blocksim/x\"}}");
    r = qmp(b, "query-named-block-nodes", NULL);
    assert_non_null(strstr(json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN), "\"virtual-size\":1024"));
    json_object_put(r);
    assert_int_equal(b->ops->shutdown(b, &err), 0);
    b->ops->destroy(b);
}

static void test_qemu_img_on_open_images(void **state)
{
    bs_backend *b = vm_new();
    char *err = NULL;
    add_drive(b, "drive0", IMG, 1 * MiB);
    img_create(b, TGT, 1 * MiB);
    assert_int_equal(b->ops->img_compare(b, TGT, IMG, &err), -EBUSY);
    assert_string_equal(err, "qemu-img: Could not open '" IMG "': Failed to get shared \"write\" lock\n"
                        "Is another process using the image [" IMG "]?");
    free(err);
    err = NULL;
    assert_int_equal(b->ops->img_rebase_unsafe(b, IMG, TGT, &err), -EBUSY);
    assert_string_equal(err, "qemu-img: Could not open '" IMG "': Failed to get \"write\" lock\n"
                        "Is another process using the image [" IMG "]?");
    free(err);
    err = NULL;
    assert_int_equal(b->ops->img_create(b, "qcow2", IMG, 1 * MiB, NULL, NULL, &err), -EBUSY);
    free(err);
    vm_free(b);
}

static void test_explicit_backing_and_raw(void **state)
{
    bs_backend *b = vm_new();
    add_drive(b, "base", "/tmp/blocksim/1000-base", 1 * MiB);
    hmp(b, "base", "write -P0x11 0 64k");
    img_create(b, IMG, 2 * MiB);
    QMP_OK(b, "blockdev-add", "{\"driver\": \"qcow2\", \"node-name\": \"top\", \"backing\": \"base\", "
           "\"file\": {\"driver\": \"file\", \"filename\": \"%s\"}}", IMG);
    sim *s = (sim *)b;
    sim_node *t = node(b, "top");
    uint8_t buf[512];
    assert_int_equal(node_read(s, t, 1 * MiB, sizeof buf, buf), 0);   /* past the backing's end */
    assert_int_equal(buf[0], 0);
    uint64_t pnum;
    assert_int_equal(node_block_status(s, t, 1 * MiB, 1 * MiB, &pnum), CL_STATUS_ZERO);
    assert_int_equal(node_block_status(s, t, 1 * MiB - 65536, 2 * MiB, &pnum), 0);
    assert_int_equal(pnum, 65536);
    /* a zero write where the backing has data, and where it has none */
    hmp(b, "top", "write -z 0 64k");
    assert_true(l2_get(t->q, 0) & Q2_ZERO);
    hmp(b, "top", "write -z 0x10000 64k");   /* zero flag all the same */
    assert_int_equal(l2_get(t->q, 1), Q2_ZERO);
    /* raw over file, with an offset */
    QMP_OK(b, "blockdev-add", "{\"driver\": \"file\", \"node-name\": \"f\", \"filename\": \"/tmp/blocksim/1000-base\"}");
    QMP_OK(b, "blockdev-add", "{\"driver\": \"raw\", \"node-name\": \"r\", \"file\": \"f\", \"offset\": 65536}");
    sim_node *r = node(b, "r");
    assert_int_equal(node_size(r), node_size(node(b, "f")) - 65536);
    /* a hole or data of the file below: allocated either way */
    assert_true(node_block_status(s, r, 0, 4096, &pnum) & CL_STATUS_ALLOCATED);
    assert_string_equal(hmp(b, "r", "write -P0x5 0 512"), "");
    assert_int_equal(node_block_status(s, r, 0, 4096, &pnum), CL_STATUS_DATA | CL_STATUS_ALLOCATED);
    assert_int_equal(pnum, 4096);
    assert_int_equal(node_read(s, r, 0, sizeof buf, buf), 0);
    assert_int_equal(buf[0], 5);
    assert_int_equal(node_cluster_size(r), 0);
    json_object *q = qmp(b, "query-named-block-nodes", NULL);
    assert_non_null(strstr(json_object_to_json_string(q), "\"drv\": \"raw\""));
    json_object_put(q);
    vm_free(b);
}

static void test_blkdebug_state_machine(void **state)
{
    bs_backend *b = vm_new();
    img_create(b, IMG, 4 * MiB);
    QMP_OK(b, "blockdev-add", "{\"driver\": \"qcow2\", \"node-name\": \"drive0\", \"file\": "
           "{\"driver\": \"blkdebug\", \"node-name\": \"bd\", \"image\": {\"driver\": \"file\", \"filename\": \"%s\"}, "
           "\"inject-error\": [{\"errno\": 5, \"event\": \"read_aio\", \"once\": true, \"state\": 3}, "
           "{\"errno\": 28, \"event\": \"write_aio\", \"state\": 4, \"iotype\": \"write\"}, "
           "{\"errno\": 5, \"event\": \"flush_to_disk\", \"state\": 5, \"sector\": 0}], "
           "\"set-state\": [{\"event\": \"flush_to_disk\", \"new_state\": 2, \"state\": 1}, "
           "{\"event\": \"read_aio\", \"new_state\": 3, \"state\": 2}, "
           "{\"event\": \"write_aio\", \"new_state\": 4, \"state\": 3}]}}", IMG);
    sim *s = (sim *)b;
    sim_node *d = node(b, "drive0"), *bd = node(b, "bd");
    uint8_t buf[65536];
    assert_int_equal(bd->bd_state, 1);
    hmp(b, "drive0", "write -P0x1 0 64k");
    hmp(b, "drive0", "write -P0x2 1M 64k");
    assert_int_equal(bd->bd_state, 1);
    /* the flush moves 1 -> 2; a second flush with nothing written emits nothing */
    hmp(b, "drive0", "flush");
    assert_int_equal(bd->bd_state, 2);
    hmp(b, "drive0", "flush");
    assert_int_equal(bd->bd_state, 2);
    /* unallocated reads never reach the file layer */
    assert_int_equal(node_read(s, d, 2 * MiB, sizeof buf, buf), 0);
    assert_int_equal(bd->bd_state, 2);
    /* first data read: state 3; second: the rule fires once */
    assert_int_equal(node_read(s, d, 0, sizeof buf, buf), 0);
    assert_int_equal(bd->bd_state, 3);
    assert_int_equal(node_read(s, d, 0, sizeof buf, buf), -EIO);
    assert_int_equal(node_read(s, d, 0, sizeof buf, buf), 0);
    /* a write in state 3 moves to 4; writes in state 4 fail with ENOSPC */
    assert_int_equal(node_write(s, d, 0, 4096, buf, false), 0);
    assert_int_equal(bd->bd_state, 4);
    assert_int_equal(node_write(s, d, 0, 4096, buf, false), -28);
    /* the active rule is for writes only: reads pass */
    assert_int_equal(node_read(s, d, 1 * MiB, 4096, buf), 0);
    vm_free(b);
}

static void test_blkdebug_flush_error(void **state)
{
    bs_backend *b = vm_new();
    img_create(b, IMG, 4 * MiB);
    QMP_OK(b, "blockdev-add", "{\"driver\": \"qcow2\", \"node-name\": \"drive0\", \"file\": "
           "{\"driver\": \"blkdebug\", \"node-name\": \"bd\", \"image\": {\"driver\": \"file\", \"filename\": \"%s\"}, "
           "\"inject-error\": [{\"event\": \"flush_to_disk\", \"iotype\": \"flush\"}, "
           "{\"event\": \"cow_read\", \"sector\": 8}], "
           "\"set-state\": [{\"event\": \"flush_to_os\", \"new_state\": 7}]}}", IMG);
    sim *s = (sim *)b;
    sim_node *d = node(b, "drive0"), *bd = node(b, "bd");
    hmp(b, "drive0", "write -P0x1 0 64k");
    assert_int_equal(node_flush(s, d), -EIO);
    assert_int_equal(bd->bd_state, 7);
    assert_int_equal(blkdebug_event_name("none"), 47);
    assert_int_equal(blkdebug_event_name("nope"), -1);
    blkdebug_event(s, d, 9);    /* not a blkdebug node: ignored */
    blkdebug_event(s, bd, 16);  /* cow_read: a sector-bound rule becomes active */
    uint8_t buf[512];
    assert_int_equal(node_read(s, bd, 0, sizeof buf, buf), 0);
    assert_int_equal(node_read(s, bd, 4096, sizeof buf, buf), -EIO);
    vm_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qemu_io_cvtstr),
        cmocka_unit_test(test_store),
        cmocka_unit_test(test_qcow2_allocation_order),
        cmocka_unit_test(test_backing_reads_and_compare),
        cmocka_unit_test(test_qemu_img_on_open_images),
        cmocka_unit_test(test_explicit_backing_and_raw),
        cmocka_unit_test(test_blkdebug_state_machine),
        cmocka_unit_test(test_blkdebug_flush_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
