/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Dirty bitmap commands and their listing (order, fields, errors). */
#include "sim/tests/sim_test.h"

#include <sha2.h>

#include "sim/sim_int.h"

#define MiB (1024ull * 1024)

static void test_listing_order_and_fields(void **state)
{
    bs_backend *b = vm_new();
    add_drive(b, "drive0", IMG, 64 * MiB);
    QMP_OK(b, "block-dirty-bitmap-add", "{\"node\": \"drive0\", \"name\": \"a\"}");
    QMP_OK(b, "block-dirty-bitmap-add", "{\"node\": \"drive0\", \"name\": \"b\", \"granularity\": 131072, "
           "\"disabled\": true}");
    QMP_OK(b, "block-dirty-bitmap-add", "{\"node\": \"drive0\", \"name\": \"c\", \"granularity\": 32768, "
           "\"persistent\": true}");
    hmp(b, "drive0", "write -P0x1 0xf8000 64k");
    /* newest first; a disabled bitmap does not record */
    assert_string_equal(bitmaps_of(b, "drive0"), "c:65536:rec,b:0:off,a:131072:rec");
    json_object *r = qmp(b, "query-named-block-nodes", NULL), *list, *bms;
    json_object_object_get_ex(r, "return", &list);
    json_object_object_get_ex(json_object_array_get_idx(list, 0), "dirty-bitmaps", &bms);
    assert_string_equal(sorted_json(json_object_array_get_idx(bms, 0)),
                        "{\"busy\":false,\"count\":65536,\"granularity\":32768,\"name\":\"c\","
                        "\"persistent\":true,\"recording\":true}");
    json_object_put(r);
    QMP_OK(b, "block-dirty-bitmap-enable", "{\"node\": \"drive0\", \"name\": \"b\"}");
    QMP_OK(b, "block-dirty-bitmap-disable", "{\"node\": \"drive0\", \"name\": \"a\"}");
    hmp(b, "drive0", "write -P0x1 4M 512");
    assert_string_equal(bitmaps_of(b, "drive0"), "c:98304:rec,b:131072:rec,a:131072:off");
    QMP_OK(b, "block-dirty-bitmap-clear", "{\"node\": \"drive0\", \"name\": \"c\"}");
    QMP_OK(b, "block-dirty-bitmap-merge", "{\"node\": \"drive0\", \"target\": \"c\", "
           "\"bitmaps\": [\"a\", {\"node\": \"drive0\", \"name\": \"b\"}]}");
    assert_string_equal(bitmaps_of(b, "drive0"), "c:262144:rec,b:131072:rec,a:131072:off");
    QMP_OK(b, "block-dirty-bitmap-remove", "{\"node\": \"drive0\", \"name\": \"b\"}");
    assert_string_equal(bitmaps_of(b, "drive0"), "c:262144:rec,a:131072:off");
    vm_free(b);
}

static void test_errors(void **state)
{
    bs_backend *b = vm_new();
    add_drive(b, "drive0", IMG, 4 * MiB);
    add_drive(b, "small", "/tmp/blocksim/1000-small", 1 * MiB);
    QMP_OK(b, "blockdev-add", "{\"driver\": \"file\", \"node-name\": \"f\", \"filename\": "
           "\"/tmp/blocksim/1000-small\"}");
    QMP_OK(b, "block-dirty-bitmap-add", "{\"node\": \"drive0\", \"name\": \"a\"}");
    QMP_OK(b, "block-dirty-bitmap-add", "{\"node\": \"small\", \"name\": \"s\"}");
    QMP_OK(b, "block-dirty-bitmap-add", "{\"node\": \"f\", \"name\": \"fb\"}");
    assert_string_equal(bitmaps_of(b, "f"), "fb:0:rec");
    QMP_ERR(b, "Bitmap already exists: a", "block-dirty-bitmap-add", "{\"node\": \"drive0\", \"name\": \"a\"}");
    QMP_ERR(b, "Bitmap name cannot be empty", "block-dirty-bitmap-add", "{\"node\": \"drive0\", \"name\": \"\"}");
    QMP_ERR(b, "Granularity must be power of 2 and at least 512", "block-dirty-bitmap-add",
            "{\"node\": \"drive0\", \"name\": \"x\", \"granularity\": 1000}");
    QMP_ERR(b, "Granularity must be power of 2 and at least 512", "block-dirty-bitmap-add",
            "{\"node\": \"drive0\", \"name\": \"x\", \"granularity\": 256}");
    QMP_ERR(b, "Cannot find device='nonode' nor node-name='nonode'", "block-dirty-bitmap-add",
            "{\"node\": \"nonode\", \"name\": \"x\"}");
    QMP_ERR(b, "Can't store persistent bitmaps to f: Operation not supported", "block-dirty-bitmap-add",
            "{\"node\": \"f\", \"name\": \"x\", \"persistent\": true}");
    QMP_ERR(b, "Node 'nonode' not found", "block-dirty-bitmap-remove", "{\"node\": \"nonode\", \"name\": \"a\"}");
    QMP_ERR(b, "Dirty bitmap 'zz' not found", "block-dirty-bitmap-remove", "{\"node\": \"drive0\", \"name\": \"zz\"}");
    QMP_ERR(b, "Dirty bitmap 'zz' not found", "block-dirty-bitmap-clear", "{\"node\": \"drive0\", \"name\": \"zz\"}");
    QMP_ERR(b, "Dirty bitmap 'zz' not found", "block-dirty-bitmap-enable", "{\"node\": \"drive0\", \"name\": \"zz\"}");
    QMP_ERR(b, "Node 'nonode' not found", "block-dirty-bitmap-disable", "{\"node\": \"nonode\", \"name\": \"zz\"}");
    QMP_ERR(b, "Dirty bitmap 'zz' not found", "block-dirty-bitmap-merge",
            "{\"node\": \"drive0\", \"target\": \"zz\", \"bitmaps\": [\"a\"]}");
    QMP_ERR(b, "Dirty bitmap 'zz' not found", "block-dirty-bitmap-merge",
            "{\"node\": \"drive0\", \"target\": \"a\", \"bitmaps\": [\"zz\"]}");
    QMP_ERR(b, "Node 'nonode' not found", "block-dirty-bitmap-merge",
            "{\"node\": \"drive0\", \"target\": \"a\", \"bitmaps\": [{\"node\": \"nonode\", \"name\": \"s\"}]}");
    QMP_ERR(b, "Bitmaps are of different sizes (destination size is 4194304, source size is 1048576) "
            "and can't be merged", "block-dirty-bitmap-merge",
            "{\"node\": \"drive0\", \"target\": \"a\", \"bitmaps\": [{\"node\": \"small\", \"name\": \"s\"}]}");
    vm_free(b);
}

static void test_busy_bitmap(void **state)
{
    bs_backend *b = vm_new();
    add_drive(b, "drive0", IMG, 4 * MiB);
    make_target(b, "tgt", TGT, 4 * MiB);
    QMP_OK(b, "block-dirty-bitmap-add", "{\"node\": \"drive0\", \"name\": \"a\", \"persistent\": true}");
    QMP_OK(b, "block-dirty-bitmap-add", "{\"node\": \"drive0\", \"name\": \"o\"}");
    hmp(b, "drive0", "write -P0x1 0 64k");
    QMP_OK(b, "blockdev-backup", "{\"device\": \"drive0\", \"target\": \"tgt\", \"sync\": \"bitmap\", "
           "\"bitmap\": \"a\", \"bitmap-mode\": \"always\", \"job-id\": \"j\", \"auto-finalize\": false}");
    drain_events(b);
    const char *busy = "Bitmap 'a' is currently in use by another operation and cannot be used";
    QMP_ERR(b, busy, "block-dirty-bitmap-clear", "{\"node\": \"drive0\", \"name\": \"a\"}");
    QMP_ERR(b, busy, "block-dirty-bitmap-disable", "{\"node\": \"drive0\", \"name\": \"a\"}");
    QMP_ERR(b, busy, "block-dirty-bitmap-merge", "{\"node\": \"drive0\", \"target\": \"a\", \"bitmaps\": [\"o\"]}");
    QMP_ERR(b, busy, "blockdev-backup", "{\"device\": \"drive0\", \"target\": \"tgt\", \"sync\": \"bitmap\", "
            "\"bitmap\": \"a\", \"bitmap-mode\": \"always\", \"job-id\": \"k\"}");
    QMP_ERR(b, "Bitmap already exists: a", "block-dirty-bitmap-add", "{\"node\": \"drive0\", \"name\": \"a\"}");
    /* nor merged from (bdrv_merge_dirty_bitmap checks the source with
     * BDRV_BITMAP_ALLOW_RO; real QEMU 7.2 refuses it so) */
    QMP_ERR(b, busy, "block-dirty-bitmap-merge", "{\"node\": \"drive0\", \"target\": \"o\", \"bitmaps\": [\"a\"]}");
    QMP_OK(b, "job-finalize", "{\"id\": \"j\"}");
    drain_events(b);
    /* always + success: the successor (empty) took the bitmap's place and name,
     * in the successor's (newer) position */
    assert_string_equal(bitmaps_of(b, "drive0"), "a:0:rec,o:65536:rec");
    vm_free(b);
}

/* x-debug-block-dirty-bitmap-sha256 serializes the bitmap by dirty runs:
 * the same digest as bit by bit, for runs on and off byte boundaries. */
static void test_sha256_by_runs(void **state)
{
    uint64_t rng = 257;
    for (int round = 0; round < 20; round++) {
        uint64_t gran = 65536, nbits = 1 + round * 397;
        cl_bitmap *bm = cl_bitmap_new(nbits * gran - (round % 3) * 512, gran, NULL);
        for (int k = 0; k < 6; k++) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            uint64_t a = (rng >> 33) % nbits, n = 1 + (rng >> 13) % (nbits - a);
            cl_bitmap_set(bm, a * gran, n * gran > cl_bitmap_size(bm) - a * gran
                                        ? cl_bitmap_size(bm) - a * gran : n * gran, NULL);
        }
        if (round == 7) {
            cl_bitmap_fill(bm);
        }
        uint64_t nwords = (nbits + 63) / 64;
        uint8_t *buf = calloc(nwords, 8);
        for (uint64_t bit = 0; bit < nbits; bit++) {
            if (cl_bitmap_get(bm, bit * gran)) {
                buf[bit / 8] |= (uint8_t)(1u << (bit % 8));
            }
        }
        uint8_t digest[SHA256_DIGEST_LENGTH];
        char want[2 * SHA256_DIGEST_LENGTH + 1];
        SHA2_CTX ctx;
        SHA256Init(&ctx);
        SHA256Update(&ctx, buf, nwords * 8);
        SHA256Final(digest, &ctx);
        for (int i = 0; i < SHA256_DIGEST_LENGTH; i++) {
            snprintf(want + 2 * i, 3, "%02x", digest[i]);
        }
        char *got = bitmap_sha256_hex(bm);
        assert_string_equal(got, want);
        free(got);
        free(buf);
        cl_bitmap_free(bm);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_listing_order_and_fields),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_busy_bitmap),
        cmocka_unit_test(test_sha256_by_runs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
