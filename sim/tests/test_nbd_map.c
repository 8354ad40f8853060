/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What an NBD client sees of an export: qemu-img map's extents for
 * base:allocation (qcow2 clusters) and for a dirty bitmap (its
 * granularity), merged as qemu-img merges them; and the checks of the NBD
 * QMP commands.
 */
#include "sim/tests/sim_test.h"

/* The server's socket lives in the backend's test directory. */
static char SOCK[512], URI[600];
#define KiB 1024ull

static bs_backend *serve(uint64_t size, uint64_t gran)
{
    bs_backend *b = vm_new();
    char *err = NULL;
    snprintf(SOCK, sizeof SOCK, "%s/nbd", b->test_dir);
    snprintf(URI, sizeof URI, "nbd+unix:///n?socket=%s", SOCK);
    assert_int_equal(b->ops->img_create(b, "qcow2", IMG, size, NULL, NULL, &err), 0);
    QMP_OK(b, "blockdev-add", "{\"driver\": \"qcow2\", \"node-name\": \"n\", \"file\": "
           "{\"driver\": \"file\", \"filename\": \"" IMG "\"}}");
    QMP_OK(b, "block-dirty-bitmap-add", "{\"node\": \"n\", \"name\": \"b\", \"granularity\": %llu}",
           (unsigned long long)gran);
    return b;
}

static void export(bs_backend *b)
{
    QMP_OK(b, "block-dirty-bitmap-disable", "{\"node\": \"n\", \"name\": \"b\"}");
    QMP_OK(b, "nbd-server-start", "{\"addr\": {\"type\": \"unix\", \"data\": {\"path\": \"%s\"}}}", SOCK);
    QMP_OK(b, "nbd-server-add", "{\"device\": \"n\"}");
    QMP_OK(b, "x-nbd-server-add-bitmap", "{\"name\": \"n\", \"bitmap\": \"b\"}");
}

/* The map as "start+length:zd" items (z zero, d data, '-' not). */
static const char *map(bs_backend *b, const char *ctx)
{
    static char out[2048];
    char *err = NULL;
    json_object *m = b->ops->img_map(b, URI, ctx, &err);
    if (!m) {
        fail_msg("map failed: %s", err ? err : "?");
    }
    out[0] = '\0';
    for (size_t i = 0; i < json_object_array_length(m); i++) {
        json_object *e = json_object_array_get_idx(m, i), *v;
        char item[128];
        long long st, len;
        int zero, data;
        json_object_object_get_ex(e, "start", &v);
        st = json_object_get_int64(v);
        json_object_object_get_ex(e, "length", &v);
        len = json_object_get_int64(v);
        json_object_object_get_ex(e, "zero", &v);
        zero = json_object_get_boolean(v);
        json_object_object_get_ex(e, "data", &v);
        data = json_object_get_boolean(v);
        snprintf(item, sizeof item, "%s%lld+%lld:%c%c", i ? " " : "", st, len,
                 zero ? 'z' : '-', data ? 'd' : '-');
        strncat(out, item, sizeof out - strlen(out) - 1);
    }
    json_object_put(m);
    return out;
}

/* Writes allocating neighbouring clusters merge into one data extent,
 * whatever the writes' own boundaries. */
static void test_alloc_merges_across_clusters(void **state)
{
    bs_backend *b = serve(1024 * KiB, 65536);
    hmp(b, "n", "write -P 1 60000 10000");          /* clusters 0 and 1 */
    hmp(b, "n", "write -P 2 196608 1");             /* cluster 3 */
    hmp(b, "n", "write -P 3 262144 65536");         /* cluster 4 */
    export(b);
    assert_string_equal(map(b, NULL),
                        "0+131072:-d 131072+65536:z- 196608+131072:-d 327680+720896:z-");
    vm_free(b);
}

/* Dirty extents are whole bitmap bits: a 32 KiB bitmap on 64 KiB clusters
 * gives dirty extents finer than the allocation, and dirty bits touched by
 * separate writes merge. Dirty reads as data false, never zero. */
static void test_bitmap_granularity_within_clusters(void **state)
{
    bs_backend *b = serve(1024 * KiB, 32768);
    hmp(b, "n", "write -P 1 40000 1");              /* bit 1 */
    hmp(b, "n", "write -P 2 65536 32768");          /* bit 2 */
    hmp(b, "n", "write -P 3 524287 2");             /* bits 15 and 16 */
    export(b);
    assert_string_equal(map(b, "qemu:dirty-bitmap:b"),
                        "0+32768:-d 32768+65536:-- 98304+393216:-d 491520+65536:-- "
                        "557056+491520:-d");
    assert_string_equal(map(b, NULL), "0+131072:-d 131072+327680:z- 458752+131072:-d "
                                      "589824+458752:z-");
    vm_free(b);
}

/* An image whose end is not on a bit or cluster boundary: the last
 * extents stop at the image's end. */
static void test_partial_last_bit_and_cluster(void **state)
{
    bs_backend *b = serve(1024 * KiB + 512, 65536);
    hmp(b, "n", "write -P 9 1048576 512");
    export(b);
    assert_string_equal(map(b, "qemu:dirty-bitmap:b"), "0+1048576:-d 1048576+512:--");
    assert_string_equal(map(b, NULL), "0+1048576:z- 1048576+512:-d");
    vm_free(b);
}

/* A context the server does not offer leaves QEMU 3.0's client without
 * block status: everything reads as data. */
static void test_unknown_context(void **state)
{
    bs_backend *b = serve(1024 * KiB, 65536);
    export(b);
    assert_string_equal(map(b, "qemu:dirty-bitmap:other"), "0+1048576:-d");
    vm_free(b);
}

static void expect_error(bs_backend *b, const char *cmd, const char *args, const char *msg)
{
    json_object *r = qmp(b, cmd, "%s", args);
    assert_non_null(reply_error(r));
    assert_string_equal(reply_error(r), msg);
    json_object_put(r);
}

static void test_command_checks(void **state)
{
    bs_backend *b = serve(1024 * KiB, 65536);
    expect_error(b, "nbd-server-add", "{\"device\": \"n\"}", "NBD server not running");
    expect_error(b, "x-nbd-server-add-bitmap", "{\"name\": \"n\", \"bitmap\": \"b\"}",
                 "NBD server not running");
    expect_error(b, "nbd-server-stop", "{}", "NBD server not running");
    QMP_OK(b, "nbd-server-start", "{\"addr\": {\"type\": \"unix\", \"data\": {\"path\": \"%s\"}}}", SOCK);
    expect_error(b, "nbd-server-start",
                 "{\"addr\": {\"type\": \"unix\", \"data\": {\"path\": \"/elsewhere/nbd\"}}}",
                 "NBD server already running");
    expect_error(b, "nbd-server-add", "{\"device\": \"nope\"}",
                 "Cannot find device='nope' nor node-name='nope'");
    expect_error(b, "nbd-server-add", "{}", "Parameter 'device' is missing");
    expect_error(b, "nbd-server-add", "{\"device\": \"n\", \"bogus\": 1}",
                 "Parameter 'bogus' is unexpected");
    QMP_OK(b, "nbd-server-add", "{\"device\": \"n\"}");
    expect_error(b, "nbd-server-add", "{\"device\": \"n\"}",
                 "Block export id 'n' is already in use");
    expect_error(b, "x-nbd-server-add-bitmap", "{\"name\": \"x\", \"bitmap\": \"b\"}",
                 "Export 'x' is not found");
    expect_error(b, "x-nbd-server-add-bitmap", "{\"name\": \"n\", \"bitmap\": \"c\"}",
                 "Bitmap 'c' is not found");
    expect_error(b, "x-nbd-server-add-bitmap", "{\"name\": \"n\", \"bitmap\": \"b\"}",
                 "Bitmap 'b' is enabled");
    QMP_OK(b, "block-dirty-bitmap-disable", "{\"node\": \"n\", \"name\": \"b\"}");
    QMP_OK(b, "x-nbd-server-add-bitmap", "{\"name\": \"n\", \"bitmap\": \"b\"}");
    expect_error(b, "x-nbd-server-add-bitmap", "{\"name\": \"n\", \"bitmap\": \"b\"}",
                 "Export bitmap is already set");
    expect_error(b, "blockdev-del", "{\"node-name\": \"n\"}", "Node n is in use");
    expect_error(b, "nbd-server-remove", "{\"name\": \"x\"}", "Export 'x' is not found");
    QMP_OK(b, "nbd-server-remove", "{\"name\": \"n\"}");
    QMP_OK(b, "nbd-server-stop", NULL);
    QMP_OK(b, "blockdev-del", "{\"node-name\": \"n\"}");
    vm_free(b);
}

/* qemu-io over NBD: reads verify patterns; a read-only export refuses a
 * writable client; a stopped server cannot be reached. */
static void test_qemu_io_client(void **state)
{
    bs_backend *b = serve(1024 * KiB, 65536);
    hmp(b, "n", "write -P 0x11 0 64k");
    export(b);
    char *err = NULL;
    const char *ok[] = { "r -P 0x11 0 64k", "r -P 0 64k 64k", "r -P 0x11 64k 512" };
    char *out = b->ops->qemu_io(b, URI, NULL, 1, ok, 3, &err);
    assert_non_null(out);
    assert_non_null(strstr(out, "read 65536/65536 bytes at offset 0\n64 KiB, 1 ops;"));
    assert_non_null(strstr(out, "read 65536/65536 bytes at offset 65536\n64 KiB, 1 ops;"));
    assert_non_null(strstr(out, "Pattern verification failed at offset 65536, 512 bytes\n"
                                "read 512/512 bytes at offset 65536\n512 bytes, 1 ops;"));
    free(out);
    char want[2048];
    out = b->ops->qemu_io(b, URI, NULL, 0, ok, 1, &err);
    snprintf(want, sizeof want, "qemu-io: can't open device %s: request for write access "
             "conflicts with read-only export\n", URI);
    assert_string_equal(out, want);
    free(out);
    QMP_OK(b, "nbd-server-stop", NULL);
    out = b->ops->qemu_io(b, URI, NULL, 1, ok, 1, &err);
    snprintf(want, sizeof want, "qemu-io: can't open device %s: Could not open '%s': Failed to "
             "connect socket %s: No such file or directory\n", URI, URI, SOCK);
    assert_string_equal(out, want);
    free(out);
    vm_free(b);
}

/* qemu-nbd -A: x-dirty-bitmap=qemu:allocation-depth reads each range's
 * depth as base:allocation flags (1 a hole, 2 zeroes, 0 data), as
 * nbd-qemu-allocation shows; without -A the context is not there. */
static void test_qemu_nbd_allocation_depth(void **state)
{
    char *err = NULL;
    bs_backend *b = bs_backend_sim_new(&err);
    char base[600], top[600], sock[600], uri[700];
    snprintf(base, sizeof base, "%s/base", b->test_dir);
    snprintf(top, sizeof top, "%s/top", b->test_dir);
    snprintf(sock, sizeof sock, "%s/qnbd", b->test_dir);
    snprintf(uri, sizeof uri, "nbd+unix:///?socket=%s", sock);
    assert_int_equal(b->ops->img_create(b, "qcow2", base, 4 << 20, NULL, NULL, &err), 0);
    assert_int_equal(b->ops->img_create(b, "qcow2", top, 4 << 20, base, "qcow2", &err), 0);
    const char *w1[] = { "write 0 2M" }, *w2[] = { "write 1M 2M" };
    free(b->ops->qemu_io(b, base, "qcow2", 0, w1, 1, &err));
    free(b->ops->qemu_io(b, top, "qcow2", 0, w2, 1, &err));
    char *argv[] = { "qemu-nbd", "-r", "-f", "qcow2", "-A", "-k", sock, top, NULL };
    assert_int_equal(b->ops->qemu_nbd_start(b, argv, &err), 0);
    json_object *m = b->ops->img_map(b, uri, "qemu:allocation-depth", &err);
    assert_non_null(m);
    assert_string_equal(json_object_to_json_string(m),
        "[ { \"start\": 0, \"length\": 1048576, \"depth\": 0, \"present\": true, \"zero\": true, "
        "\"data\": true, \"offset\": 0 }, { \"start\": 1048576, \"length\": 2097152, \"depth\": 0, "
        "\"present\": false, \"zero\": false, \"data\": false }, { \"start\": 3145728, "
        "\"length\": 1048576, \"depth\": 0, \"present\": true, \"zero\": false, \"data\": true, "
        "\"offset\": 3145728 } ]");
    json_object_put(m);
    /* without -A the client gets no such context: all data */
    char *argv2[] = { "qemu-nbd", "-r", "-f", "qcow2", "-k", sock, top, NULL };
    assert_int_equal(b->ops->qemu_nbd_start(b, argv2, &err), 0);
    m = b->ops->img_map(b, uri, "qemu:allocation-depth", &err);
    assert_non_null(m);
    assert_int_equal(json_object_array_length(m), 1);
    json_object_put(m);
    b->ops->qemu_nbd_stop(b);
    b->ops->destroy(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_merges_across_clusters),
        cmocka_unit_test(test_bitmap_granularity_within_clusters),
        cmocka_unit_test(test_partial_last_bit_and_cluster),
        cmocka_unit_test(test_unknown_context),
        cmocka_unit_test(test_command_checks),
        cmocka_unit_test(test_qemu_io_client),
        cmocka_unit_test(test_qemu_nbd_allocation_depth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
