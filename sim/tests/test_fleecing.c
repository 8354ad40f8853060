/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Image fleecing, both schemes: backup sync=none into a qcow2 target backed
 * by the source, and the copy-before-write + snapshot-access drivers of
 * blockdev-add (reads outside the snapshot, discards, on-cbw-error,
 * permissions); null-co; the VM log HMP qemu-io writes to. */
#include <errno.h>

#include "sim/tests/sim_test.h"
#include "sim/sim_int.h"

#define MiB (1024ull * 1024)
#define KiB 1024ull
#define SRC "/tmp/blocksim/1000-src"
#define FLEECE "/tmp/blocksim/1000-fleece"

static sim_node *node(bs_backend *b, const char *name)
{
    sim_node *n = node_find((sim *)b, name);
    assert_non_null(n);
    return n;
}

/* Every byte of [off, off+len) of node name reads as pat; 0 or the error. */
static int read_pattern(bs_backend *b, const char *name, uint64_t off, uint64_t len, int pat)
{
    uint8_t *buf = malloc(len);
    int r = node_read((sim *)b, node(b, name), off, len, buf);
    for (uint64_t i = 0; r == 0 && i < len; i++) {
        if (buf[i] != pat) {
            fail_msg("%s at 0x%llx: 0x%02x, want 0x%02x", name, (unsigned long long)(off + i),
                     buf[i], pat);
        }
    }
    free(buf);
    return r;
}

/* source: 4 MiB qcow2 with 0x5d at [0, 64k) and 0xd5 at [1M, 1M+64k). */
static bs_backend *with_source(void)
{
    bs_backend *b = vm_new();
    add_drive(b, "source", SRC, 4 * MiB);
    hmp(b, "source", "write -P0x5d 0 64k");
    hmp(b, "source", "write -P0xd5 1M 64k");
    return b;
}

/* tmp: a qcow2 overlay of source (the old scheme's and cbw-filter's). */
static void add_overlay(bs_backend *b)
{
    img_create(b, FLEECE, 4 * MiB);
    QMP_OK(b, "blockdev-add", "{\"driver\": \"qcow2\", \"node-name\": \"tmp\", "
           "\"file\": {\"driver\": \"file\", \"filename\": \"%s\"}, \"backing\": \"source\"}",
           FLEECE);
}

/* A raw fleecing file (fleecing-format scheme): tmp is a file node. */
static void add_raw_tmp(bs_backend *b)
{
    char *err = NULL;
    assert_int_equal(b->ops->img_create(b, "raw", FLEECE, 4 * MiB, NULL, NULL, &err), 0);
    QMP_OK(b, "blockdev-add", "{\"driver\": \"file\", \"node-name\": \"tmp\", "
           "\"filename\": \"%s\"}", FLEECE);
}

/* The old scheme: blockdev-backup sync=none. Guest writes go through the
 * job's filter; the target keeps the point-in-time data, zeroes included:
 * the copy of a cluster that read as zeroes is a zero write, which makes a
 * zero cluster instead of being skipped, so a later source write cannot
 * show through the target's backing file. */
static void test_backup_sync_none(void **state)
{
    bs_backend *b = with_source();
    add_overlay(b);
    QMP_OK(b, "blockdev-backup", "{\"job-id\": \"fleecing\", \"device\": \"source\", "
           "\"target\": \"tmp\", \"sync\": \"none\", \"filter-node-name\": \"fl\"}");
    assert_string_equal(hmp(b, "fl", "write -P0xab 0 64k"), "");
    assert_string_equal(hmp(b, "fl", "write -P0xea 2M 64k"), "");   /* was zeroes */
    assert_int_equal(read_pattern(b, "source", 0, 64 * KiB, 0xab), 0);
    assert_int_equal(read_pattern(b, "source", 2 * MiB, 64 * KiB, 0xea), 0);
    assert_int_equal(read_pattern(b, "tmp", 0, 64 * KiB, 0x5d), 0);
    assert_int_equal(read_pattern(b, "tmp", 2 * MiB, 64 * KiB, 0), 0);
    assert_int_equal(read_pattern(b, "tmp", 1 * MiB, 64 * KiB, 0xd5), 0);  /* untouched */
    sim_qcow2 *q = node(b, "tmp")->q;
    assert_true(l2_get(q, 2 * MiB / q->cluster_size) & Q2_ZERO);
    /* the job's progress counts the two copied clusters */
    QMP_OK(b, "block-job-cancel", "{\"device\": \"fleecing\"}");
    assert_string_equal(wait_event(b, "BLOCK_JOB_CANCELLED"),
                        "{\"device\":\"fleecing\",\"len\":4194304,\"offset\":131072,"
                        "\"speed\":0,\"type\":\"backup\"}");
    vm_free(b);
}

/* The cbw-filter scheme: a blockdev-add'ed filter, target = the overlay. */
static void test_cbw_filter_overlay(void **state)
{
    bs_backend *b = with_source();
    add_overlay(b);
    QMP_OK(b, "blockdev-add", "{\"driver\": \"copy-before-write\", \"node-name\": \"fl-cbw\", "
           "\"file\": \"source\", \"target\": \"tmp\"}");
    assert_string_equal(node_drv_name(node(b, "fl-cbw")), "copy-before-write");
    assert_int_equal(node_size(node(b, "fl-cbw")), 4 * MiB);
    /* the copy bitmap on the source; done and access on the filter */
    assert_string_equal(bitmaps_of(b, "source"), "-:4194304:off");
    assert_string_equal(bitmaps_of(b, "fl-cbw"), "-:4194304:off,-:0:off");
    hmp(b, "fl-cbw", "write -P0xad 0xf8000 64k");       /* two clusters */
    hmp(b, "fl-cbw", "write -P0xea 3M 64k");
    assert_int_equal(read_pattern(b, "tmp", 0xf8000, 32 * KiB, 0), 0);
    assert_int_equal(read_pattern(b, "tmp", 1 * MiB, 64 * KiB, 0xd5), 0);
    assert_int_equal(read_pattern(b, "tmp", 3 * MiB, 64 * KiB, 0), 0);
    assert_int_equal(read_pattern(b, "source", 3 * MiB, 64 * KiB, 0xea), 0);
    assert_string_equal(bitmaps_of(b, "fl-cbw"), "-:4194304:off,-:196608:off");
    assert_string_equal(bitmaps_of(b, "source"), "-:3997696:off");
    /* reads through the filter are the source's */
    assert_int_equal(read_pattern(b, "fl-cbw", 3 * MiB, 64 * KiB, 0xea), 0);
    /* the filter goes with its bitmaps; source and target stay */
    QMP_OK(b, "blockdev-del", "{\"node-name\": \"fl-cbw\"}");
    assert_string_equal(bitmaps_of(b, "source"), "");
    assert_string_equal(bitmaps_of(b, "fl-cbw"), "?");
    QMP_OK(b, "blockdev-del", "{\"node-name\": \"tmp\"}");
    vm_free(b);
}

/* snapshot-access over the filter, with a raw fleecing file: the snapshot
 * reads from the source until a guest write copied a cluster, then from
 * the target; writes to it are refused. */
static void test_snapshot_access_reads(void **state)
{
    bs_backend *b = with_source();
    add_raw_tmp(b);
    QMP_OK(b, "blockdev-add", "{\"driver\": \"copy-before-write\", \"node-name\": \"fl-cbw\", "
           "\"file\": \"source\", \"target\": \"tmp\"}");
    QMP_OK(b, "blockdev-add", "{\"driver\": \"snapshot-access\", \"node-name\": \"fl-access\", "
           "\"file\": \"fl-cbw\"}");
    sim *s = (sim *)b;
    sim_node *acc = node(b, "fl-access");
    assert_string_equal(node_drv_name(acc), "snapshot-access");
    assert_int_equal(node_size(acc), 4 * MiB);
    hmp(b, "fl-cbw", "write -P0xab 0 64k");
    assert_int_equal(read_pattern(b, "fl-access", 0, 64 * KiB, 0x5d), 0);
    assert_int_equal(read_pattern(b, "fl-access", 1 * MiB, 64 * KiB, 0xd5), 0);
    /* one read spanning a copied and an uncopied cluster */
    assert_int_equal(read_pattern(b, "fl-access", 32 * KiB, 32 * KiB, 0x5d), 0);
    uint8_t buf[128 * 1024];
    assert_int_equal(node_read(s, acc, 0, sizeof buf, buf), 0);
    assert_int_equal(buf[0], 0x5d);
    assert_int_equal(buf[64 * 1024], 0);
    assert_int_equal(node_write(s, acc, 0, 512, buf, false), -ENOTSUP);
    /* block status comes from where the data is */
    uint64_t pnum;
    assert_int_equal(node_block_status(s, acc, 0, 4 * MiB, &pnum), CL_STATUS_DATA | CL_STATUS_ALLOCATED);
    assert_int_equal(pnum, 64 * KiB);           /* the target's file: data */
    assert_int_equal(node_block_status(s, acc, 2 * MiB, 64 * KiB, &pnum), CL_STATUS_ZERO);
    /* a snapshot-access node over anything but copy-before-write */
    QMP_OK(b, "blockdev-add", "{\"driver\": \"snapshot-access\", \"node-name\": \"bad\", "
           "\"file\": \"source\"}");
    assert_int_equal(node_read(s, node(b, "bad"), 0, 512, buf), -ENOTSUP);
    vm_free(b);
}

/* With a bitmap, only its clusters are in the snapshot: other reads fail
 * with EACCES, and writes there copy nothing. */
static void test_bitmap_limits_snapshot(void **state)
{
    bs_backend *b = with_source();
    add_raw_tmp(b);
    QMP_OK(b, "block-dirty-bitmap-add", "{\"node\": \"source\", \"name\": \"bitmap0\"}");
    hmp(b, "source", "write -P0x11 0 64k");      /* the bitmap: cluster 0 only */
    QMP_ERR(b, "Dirty bitmap 'nope' not found", "blockdev-add",
            "{\"driver\": \"copy-before-write\", \"node-name\": \"fl-cbw\", \"file\": \"source\", "
            "\"target\": \"tmp\", \"bitmap\": {\"node\": \"source\", \"name\": \"nope\"}}");
    QMP_ERR(b, "Node 'nope' not found", "blockdev-add",
            "{\"driver\": \"copy-before-write\", \"node-name\": \"fl-cbw\", \"file\": \"source\", "
            "\"target\": \"tmp\", \"bitmap\": {\"node\": \"nope\", \"name\": \"bitmap0\"}}");
    assert_string_equal(bitmaps_of(b, "source"), "bitmap0:65536:rec");
    QMP_OK(b, "blockdev-add", "{\"driver\": \"copy-before-write\", \"node-name\": \"fl-cbw\", "
           "\"file\": \"source\", \"target\": \"tmp\", "
           "\"bitmap\": {\"node\": \"source\", \"name\": \"bitmap0\"}}");
    QMP_OK(b, "blockdev-add", "{\"driver\": \"snapshot-access\", \"node-name\": \"fl-access\", "
           "\"file\": \"fl-cbw\"}");
    assert_int_equal(read_pattern(b, "fl-access", 0, 64 * KiB, 0x11), 0);
    assert_int_equal(read_pattern(b, "fl-access", 1 * MiB, 64 * KiB, 0xd5), -EACCES);
    assert_int_equal(read_pattern(b, "fl-access", 32 * KiB, 64 * KiB, 0x11), -EACCES);
    hmp(b, "fl-cbw", "write -P0x22 1M 64k");     /* outside: nothing copied */
    assert_int_equal(read_pattern(b, "tmp", 1 * MiB, 64 * KiB, 0), 0);
    hmp(b, "fl-cbw", "write -P0x33 0 4k");       /* inside: the cluster is copied */
    assert_int_equal(read_pattern(b, "tmp", 0, 64 * KiB, 0x11), 0);
    assert_int_equal(read_pattern(b, "fl-access", 0, 64 * KiB, 0x11), 0);
    /* block status fails there too (NBD reports it: unable to check for
     * holes), while block-copy reads what it cannot query */
    uint64_t pnum;
    assert_int_equal(node_block_status((sim *)b, node(b, "fl-access"), 1 * MiB, 64 * KiB, &pnum),
                     -EACCES);
    assert_int_equal(node_block_status((sim *)b, node(b, "fl-access"), 0, 64 * KiB, &pnum),
                     CL_STATUS_DATA | CL_STATUS_ALLOCATED);
    vm_free(b);
}

/* Discarding on snapshot-access drops the range from the snapshot and from
 * what is still to be copied; it does nothing unless the node was added
 * with discard=unmap (bdrv_co_pdiscard). Unaligned ranges are refused
 * (QEMU asserts). */
static void test_snapshot_discard(void **state)
{
    bs_backend *b = with_source();
    add_raw_tmp(b);
    QMP_OK(b, "blockdev-add", "{\"driver\": \"copy-before-write\", \"node-name\": \"fl-cbw\", "
           "\"file\": \"source\", \"target\": \"tmp\"}");
    QMP_OK(b, "blockdev-add", "{\"driver\": \"snapshot-access\", \"node-name\": \"plain\", "
           "\"file\": \"fl-cbw\"}");
    QMP_OK(b, "blockdev-add", "{\"driver\": \"snapshot-access\", \"node-name\": \"fl-access\", "
           "\"file\": \"fl-cbw\", \"discard\": \"unmap\"}");
    sim *s = (sim *)b;
    assert_string_equal(hmp(b, "plain", "discard 0 64k"), "");
    assert_int_equal(read_pattern(b, "fl-access", 0, 64 * KiB, 0x5d), 0);
    assert_string_equal(hmp(b, "fl-access", "discard 0 64k"), "");
    assert_int_equal(read_pattern(b, "fl-access", 0, 64 * KiB, 0x5d), -EACCES);
    assert_int_equal(read_pattern(b, "plain", 0, 4 * KiB, 0x5d), -EACCES);
    assert_string_equal(bitmaps_of(b, "source"), "-:4128768:off");
    assert_string_equal(bitmaps_of(b, "fl-cbw"), "-:4128768:off,-:0:off");
    hmp(b, "fl-cbw", "write -P0xab 0 64k");      /* no copy any more */
    assert_int_equal(read_pattern(b, "tmp", 0, 64 * KiB, 0), 0);
    assert_string_equal(bitmaps_of(b, "fl-cbw"), "-:4128768:off,-:65536:off");
    assert_int_equal(node_discard(s, node(b, "fl-access"), 512, 512), -EINVAL);
    assert_int_equal(node_discard(s, node(b, "fl-access"), 0, 8 * MiB), -EIO);
    /* the last, partial... here whole, cluster at the end is fine */
    assert_int_equal(node_discard(s, node(b, "fl-access"), 4 * MiB - 64 * KiB, 64 * KiB), 0);
    vm_free(b);
}

/* A copy that fails: break-guest-write fails the guest write and keeps the
 * snapshot; break-snapshot lets the write through and fails every later
 * snapshot read with EACCES (and copies nothing more). */
static void cbw_error(const char *mode, bool guest_fails)
{
    bs_backend *b = with_source();
    img_create(b, FLEECE, 4 * MiB);
    QMP_OK(b, "blockdev-add", "{\"driver\": \"copy-before-write\", \"node-name\": \"cbw\", "
           "\"on-cbw-error\": \"%s\", \"file\": \"source\", "
           "\"target\": {\"driver\": \"qcow2\", \"file\": {\"driver\": \"blkdebug\", "
           "\"image\": {\"driver\": \"file\", \"filename\": \"%s\"}, "
           "\"inject-error\": [{\"event\": \"write_aio\", \"errno\": 5, \"once\": true}]}}}",
           mode, FLEECE);
    QMP_OK(b, "blockdev-add", "{\"driver\": \"snapshot-access\", \"node-name\": \"access\", "
           "\"file\": \"cbw\"}");
    sim *s = (sim *)b;
    uint8_t buf[64 * 1024];
    memset(buf, 0xee, sizeof buf);
    int r = node_write(s, node(b, "cbw"), 0, sizeof buf, buf, false);
    assert_int_equal(r, guest_fails ? -EIO : 0);
    assert_int_equal(read_pattern(b, "source", 0, sizeof buf, guest_fails ? 0x5d : 0xee), 0);
    assert_int_equal(read_pattern(b, "access", 0, sizeof buf, 0x5d), guest_fails ? 0 : -EACCES);
    /* the next write copies again (the rule fired once) or not at all */
    assert_int_equal(node_write(s, node(b, "cbw"), 1 * MiB, sizeof buf, buf, false), 0);
    assert_int_equal(read_pattern(b, "access", 1 * MiB, sizeof buf, 0xd5), guest_fails ? 0 : -EACCES);
    vm_free(b);
}

static void test_break_guest_write(void **state)
{
    cbw_error("break-guest-write", true);
}

static void test_break_snapshot(void **state)
{
    cbw_error("break-snapshot", false);
}

/* cbw_child_perm: the filter unshares write on its source once something
 * uses it; the job's filter always does. QAPI checks of the options. */
static void test_cbw_permissions_and_options(void **state)
{
    bs_backend *b = with_source();
    add_raw_tmp(b);
    QMP_ERR(b, "Parameter 'target' is missing", "blockdev-add",
            "{\"driver\": \"copy-before-write\", \"node-name\": \"c\", \"file\": \"source\"}");
    QMP_ERR(b, "Parameter 'on-cbw-error' does not accept value 'ignore'", "blockdev-add",
            "{\"driver\": \"copy-before-write\", \"node-name\": \"c\", \"file\": \"source\", "
            "\"target\": \"tmp\", \"on-cbw-error\": \"ignore\"}");
    QMP_ERR(b, "Parameter 'cbw-timeout' expects uint32_t", "blockdev-add",
            "{\"driver\": \"copy-before-write\", \"node-name\": \"c\", \"file\": \"source\", "
            "\"target\": \"tmp\", \"cbw-timeout\": -1}");
    QMP_ERR(b, "Parameter 'bitmap.name' is missing", "blockdev-add",
            "{\"driver\": \"copy-before-write\", \"node-name\": \"c\", \"file\": \"source\", "
            "\"target\": \"tmp\", \"bitmap\": {\"node\": \"source\"}}");
    QMP_ERR(b, "Cannot find device='nope' nor node-name='nope'", "blockdev-add",
            "{\"driver\": \"copy-before-write\", \"node-name\": \"c\", \"file\": \"source\", "
            "\"target\": \"nope\"}");
    QMP_ERR(b, "Cannot find device='nope' nor node-name='nope'", "blockdev-add",
            "{\"driver\": \"snapshot-access\", \"node-name\": \"a\", \"file\": \"nope\"}");
    assert_null(node_find((sim *)b, "c"));
    QMP_OK(b, "blockdev-add", "{\"driver\": \"copy-before-write\", \"node-name\": \"c\", "
           "\"file\": \"source\", \"target\": \"tmp\", \"cbw-timeout\": 1}");
    /* nobody uses c yet: the source stays writable */
    assert_string_equal(hmp(b, "source", "write -P0x1 2M 4k"), "");
    QMP_OK(b, "blockdev-add", "{\"driver\": \"snapshot-access\", \"node-name\": \"a\", "
           "\"file\": \"c\"}");
    assert_string_equal(hmp(b, "source", "write -P0x1 2M 4k"),
                        "Permission conflict on node 'source': permissions 'write' are both "
                        "required by an unnamed block device (uses node 'source' as 'root' "
                        "child) and unshared by node 'c' (uses node 'source' as 'file' child).\r\n");
    QMP_ERR(b, "Block device c is in use", "blockdev-del", "{\"node-name\": \"c\"}");
    QMP_OK(b, "blockdev-del", "{\"node-name\": \"a\"}");
    QMP_OK(b, "blockdev-del", "{\"node-name\": \"c\"}");
    assert_string_equal(hmp(b, "source", "write -P0x1 2M 4k"), "");
    vm_free(b);
}

/* iotest 283: a backup whose filter would unshare write under another
 * writer of the source's filtered child fails. */
static void test_backup_perm_conflict(void **state)
{
    bs_backend *b = vm_new();
    QMP_OK(b, "blockdev-add", "{\"node-name\": \"target\", \"driver\": \"null-co\", "
           "\"size\": 1048576}");
    QMP_OK(b, "blockdev-add", "{\"node-name\": \"source\", \"driver\": \"blkdebug\", "
           "\"image\": {\"node-name\": \"base\", \"driver\": \"null-co\", \"size\": 1048576}}");
    QMP_OK(b, "blockdev-backup", "{\"job-id\": \"b0\", \"device\": \"source\", "
           "\"target\": \"target\", \"sync\": \"full\", \"auto-dismiss\": false}");
    assert_string_equal(wait_event(b, "BLOCK_JOB_COMPLETED"),
                        "{\"device\":\"b0\",\"len\":1048576,\"offset\":1048576,\"speed\":0,"
                        "\"type\":\"backup\"}");
    QMP_OK(b, "job-dismiss", "{\"id\": \"b0\"}");
    QMP_OK(b, "blockdev-add", "{\"node-name\": \"other\", \"driver\": \"blkdebug\", "
           "\"image\": \"base\", \"take-child-perms\": [\"write\"]}");
    QMP_ERR(b, "Permission conflict on node 'base': permissions 'write' are both required by "
            "node 'other' (uses node 'base' as 'image' child) and unshared by node 'source' "
            "(uses node 'base' as 'image' child).", "blockdev-backup",
            "{\"job-id\": \"b1\", \"device\": \"source\", \"target\": \"target\", "
            "\"sync\": \"full\"}");
    assert_null(job_find((sim *)b, "b1"));
    vm_free(b);
}

/* null-co: 1 GiB unless sized, reads zeroes, forgets writes. */
static void test_null_co(void **state)
{
    bs_backend *b = vm_new();
    sim *s = (sim *)b;
    QMP_OK(b, "blockdev-add", "{\"node-name\": \"n\", \"driver\": \"null-co\"}");
    QMP_OK(b, "blockdev-add", "{\"node-name\": \"m\", \"driver\": \"null-co\", \"size\": 4096, "
           "\"read-zeroes\": true}");
    QMP_ERR(b, "Invalid parameter type for 'size', expected: integer", "blockdev-add",
            "{\"node-name\": \"x\", \"driver\": \"null-co\", \"size\": \"big\"}");
    assert_int_equal(node_size(node(b, "n")), 1ull << 30);
    assert_int_equal(node_size(node(b, "m")), 4096);
    assert_string_equal(node_drv_name(node(b, "n")), "null-co");
    uint8_t buf[4096];
    memset(buf, 7, sizeof buf);
    assert_int_equal(node_write(s, node(b, "m"), 0, sizeof buf, buf, false), 0);
    assert_int_equal(node_read(s, node(b, "m"), 0, sizeof buf, buf), 0);
    assert_int_equal(buf[0], 0);
    uint64_t pnum;
    assert_int_equal(node_block_status(s, node(b, "m"), 0, 4096, &pnum), CL_STATUS_ALLOCATED);
    assert_int_equal(pnum, 4096);
    vm_free(b);
}

/* What HMP qemu-io prints goes to the VM's log, which a launch starts
 * afresh and a shutdown keeps. */
static void test_vm_log(void **state)
{
    bs_backend *b = with_source();
    char *err = NULL;
    char *log = b->ops->vm_log(b, &err);
    assert_non_null(strstr(log, "wrote 65536/65536 bytes at offset 1048576\n64 KiB, 1 ops;"));
    free(log);
    hmp(b, "source", "read -P0x5d 0 64k");
    hmp(b, "source", "read -P0x5d 1M 512");
    hmp(b, "source", "frobnicate");
    assert_int_equal(b->ops->shutdown(b, &err), 0);
    log = b->ops->vm_log(b, &err);
    assert_non_null(strstr(log, "read 65536/65536 bytes at offset 0\n"));
    assert_non_null(strstr(log, "Pattern verification failed at offset 1048576, 512 bytes\n"));
    assert_non_null(strstr(log, "command \"frobnicate\" not found\n"));
    free(log);
    assert_int_equal(b->ops->launch(b, &err), 0);
    log = b->ops->vm_log(b, &err);
    assert_string_equal(log, "");
    free(log);
    vm_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backup_sync_none),
        cmocka_unit_test(test_cbw_filter_overlay),
        cmocka_unit_test(test_snapshot_access_reads),
        cmocka_unit_test(test_bitmap_limits_snapshot),
        cmocka_unit_test(test_snapshot_discard),
        cmocka_unit_test(test_break_guest_write),
        cmocka_unit_test(test_break_snapshot),
        cmocka_unit_test(test_cbw_permissions_and_options),
        cmocka_unit_test(test_backup_perm_conflict),
        cmocka_unit_test(test_null_co),
        cmocka_unit_test(test_vm_log),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
