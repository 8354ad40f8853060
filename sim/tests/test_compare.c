/* SPDX-License-Identifier: GPL-2.0-or-later */
/* qemu-img compare by extents: the sparse store's holes, block status
 * through a backing chain without nodes (img_chain_extent), and compare
 * held against a naive byte-for-byte comparison of the guest contents. */
#include <errno.h>

#include "sim/tests/sim_test.h"
#include "sim/sim_int.h"

#define KiB 1024ull
#define MiB (1024ull * 1024)
#define CS 65536ull

static sim *sim_of(bs_backend *b)
{
    return (sim *)b;
}

static sim_file *mk_qcow2(sim *s, const char *path, uint64_t size, const char *backing)
{
    sim_file *f = fs_create(s, path);
    f->qcow2 = q2_new(size, CS);
    f->qcow2->backing = backing ? xstrdup(backing) : NULL;
    store_truncate(&f->data, 3 * CS);
    return f;
}

typedef enum { C_UNALLOC, C_ZERO, C_DATA, C_DATA_ZEROES, C_DATA_HOLE } cl_kind;

/* Give guest cluster ci of a qcow2 file a state; data clusters hold `byte`
 * at one offset (the rest zero), zeroes in a chunk, or a hole of the file. */
static void set_cluster(sim_file *f, uint64_t ci, cl_kind kind, uint8_t byte, uint64_t at)
{
    sim_qcow2 *q = f->qcow2;
    if (kind == C_UNALLOC) {
        l2_put(q, ci, 0);
        return;
    }
    if (kind == C_ZERO) {
        l2_put(q, ci, Q2_ZERO);
        return;
    }
    uint64_t host = q->next_host;
    q->next_host += CS;
    l2_put(q, ci, host);
    static uint8_t buf[CS];
    memset(buf, 0, sizeof buf);
    if (kind == C_DATA) {
        buf[at % CS] = byte;
    }
    if (kind == C_DATA_HOLE) {
        store_truncate(&f->data, host + CS);
    } else {
        store_write(&f->data, host, CS, buf);
    }
}

/* Guest cluster ci of a qcow2 file holds these bytes (a new host cluster). */
static void set_cluster_bytes(sim_file *f, uint64_t ci, const uint8_t *bytes)
{
    sim_qcow2 *q = f->qcow2;
    uint64_t host = q->next_host;
    q->next_host += CS;
    l2_put(q, ci, host);
    store_write(&f->data, host, CS, bytes);
}

static int compare(bs_backend *b, const char *pa, const char *pb)
{
    char *err = NULL;
    int r = b->ops->img_compare(b, pa, pb, &err);
    free(err);
    return r;
}

/* What compare must answer: every guest byte read and compared, the shorter
 * image reading zeroes past its end. */
static int naive_compare(sim *s, const char *pa, const char *pb)
{
    uint64_t sa = img_guest_size(s, pa), sb = img_guest_size(s, pb);
    uint64_t end = sa > sb ? sa : sb;
    static uint8_t ba[CS], bb[CS];
    for (uint64_t off = 0; off < end; off += CS) {
        uint64_t n = end - off < CS ? end - off : CS;
        assert_int_equal(img_open_chain_read(s, pa, off, n, ba, 0), 0);
        assert_int_equal(img_open_chain_read(s, pb, off, n, bb, 0), 0);
        if (memcmp(ba, bb, n)) {
            return 1;
        }
    }
    return 0;
}

static void test_store_extent(void **state)
{
    sim_store st;
    store_init(&st);
    bool hole = false;
    /* an empty store is one hole, even past its size */
    assert_int_equal(store_extent(&st, 0, 10 * SIM_CHUNK, &hole), 10 * SIM_CHUNK);
    assert_true(hole);
    uint8_t byte = 7;
    store_write(&st, 2 * SIM_CHUNK + 5, 1, &byte);
    store_write(&st, 3 * SIM_CHUNK, 1, &byte);
    store_truncate(&st, 8 * SIM_CHUNK);
    assert_int_equal(store_extent(&st, 100, 8 * SIM_CHUNK, &hole), 2 * SIM_CHUNK - 100);
    assert_true(hole);
    assert_int_equal(store_extent(&st, 2 * SIM_CHUNK + 10, 8 * SIM_CHUNK, &hole), 2 * SIM_CHUNK - 10);
    assert_false(hole);
    assert_int_equal(store_extent(&st, 4 * SIM_CHUNK, 100 * SIM_CHUNK, &hole), 100 * SIM_CHUNK);
    assert_true(hole);
    /* a chunk zeroed whole becomes a hole again */
    store_zero(&st, 3 * SIM_CHUNK, SIM_CHUNK);
    assert_int_equal(store_extent(&st, 2 * SIM_CHUNK, 2 * SIM_CHUNK, &hole), SIM_CHUNK);
    assert_false(hole);
    assert_int_equal(store_extent(&st, 3 * SIM_CHUNK, 2 * SIM_CHUNK, &hole), 2 * SIM_CHUNK);
    assert_true(hole);
    /* chunks past the logical size read as zeroes: holes */
    store_truncate(&st, 2 * SIM_CHUNK + 1);
    st.size = 2 * SIM_CHUNK;
    assert_int_equal(store_extent(&st, 2 * SIM_CHUNK, SIM_CHUNK, &hole), SIM_CHUNK);
    assert_true(hole);
    store_free(&st);
}

static void test_store_holes(void **state)
{
    sim_store st;
    store_init(&st);
    uint8_t buf[SIM_CHUNK], out[SIM_CHUNK];
    bool hole;
    /* a whole-chunk write over a hole: exactly the bytes written */
    for (size_t i = 0; i < sizeof buf; i++) {
        buf[i] = (uint8_t)(i * 7 + 1);
    }
    store_write(&st, SIM_CHUNK, SIM_CHUNK, buf);
    store_read(&st, SIM_CHUNK, SIM_CHUNK, out);
    assert_memory_equal(out, buf, sizeof buf);
    /* zeroing a whole chunk of data punches a hole, the size stays */
    store_zero(&st, SIM_CHUNK, SIM_CHUNK);
    assert_int_equal(st.used, 0);
    assert_int_equal(st.size, 2 * SIM_CHUNK);
    assert_int_equal(store_extent(&st, 0, 2 * SIM_CHUNK, &hole), 2 * SIM_CHUNK);
    assert_true(hole);
    /* zeroing part of a block keeps its other bytes and the block allocated
     * (fallocate's ZERO_RANGE/PUNCH_HOLE write zeroes into a partial block),
     * even when the parts zeroed add up to all of it */
    store_write(&st, 0, SIM_CHUNK, buf);
    store_zero(&st, 0, SIM_CHUNK / 2);
    store_read(&st, 0, SIM_CHUNK, out);
    assert_int_equal(out[0], 0);
    assert_memory_equal(out + SIM_CHUNK / 2, buf + SIM_CHUNK / 2, SIM_CHUNK / 2);
    assert_int_equal(st.used, 1);
    store_zero(&st, SIM_CHUNK / 2, SIM_CHUNK / 2);
    assert_int_equal(st.used, 1);
    assert_int_equal(store_extent(&st, 0, SIM_CHUNK, &hole), SIM_CHUNK);
    assert_false(hole);
    store_free(&st);
}

/* A guest write into a new cluster of an image without backing leaves the
 * rest of the host cluster a hole of the file instead of written zeroes. */
static void test_new_cluster_is_sparse(void **state)
{
    bs_backend *b = vm_new();
    sim *s = sim_of(b);
    const char *path = "/tmp/blocksim/big";
    const uint64_t cs = 256 * 1024;
    sim_file *f = fs_create(s, path);
    f->qcow2 = q2_new(16 * cs, cs);
    store_truncate(&f->data, 3 * cs);
    QMP_OK(b, "blockdev-add",
           "{\"driver\": \"qcow2\", \"node-name\": \"big\", "
           "\"file\": {\"driver\": \"file\", \"filename\": \"%s\"}}", path);
    hmp(b, "big", "write -P0x5a 0x41000 4k");
    uint64_t host = l2_get(f->qcow2, 1);
    assert_true(host && !(host & Q2_ZERO));
    assert_true(f->data.size >= host + cs);
    bool hole;
    /* the 4 KiB written at 4 KiB into the cluster, holes around it */
    assert_int_equal(store_extent(&f->data, host, cs, &hole), 4096);
    assert_true(hole);
    assert_int_equal(store_extent(&f->data, host + 4096, cs - 4096, &hole), 4096);
    assert_false(hole);
    assert_int_equal(store_extent(&f->data, host + 8192, cs - 8192, &hole), cs - 8192);
    assert_true(hole);
    /* and the guest reads the write, zeroes around it */
    uint8_t out[3 * 4096];
    assert_int_equal(img_open_chain_read(s, path, 0x40000, sizeof out, out, 0), 0);
    assert_int_equal(out[4095], 0);
    assert_int_equal(out[4096], 0x5a);
    assert_int_equal(out[8191], 0x5a);
    assert_int_equal(out[8192], 0);
    QMP_OK(b, "blockdev-del", "{\"node-name\": \"big\"}");
    vm_free(b);
}

static void test_chain_extent(void **state)
{
    bs_backend *b = vm_new();
    sim *s = sim_of(b);
    const char *base = "/tmp/blocksim/base", *top = "/tmp/blocksim/top";
    /* raw base of 4 clusters: data in cluster 1 */
    sim_file *fb = fs_create(s, base);
    static uint8_t one[CS];
    one[7] = 1;
    store_write(&fb->data, CS, CS, one);
    store_truncate(&fb->data, 4 * CS);
    /* top of 8 clusters: zero, unallocated, data, hole, unallocated... */
    sim_file *ft = mk_qcow2(s, top, 8 * CS, base);
    set_cluster(ft, 0, C_ZERO, 0, 0);
    set_cluster(ft, 3, C_DATA, 9, 0);
    set_cluster(ft, 4, C_DATA_HOLE, 0, 0);
    uint64_t n;
    bool zero;
    assert_int_equal(img_chain_extent(s, top, 0, 8 * CS, &n, &zero, NULL, 0), 0);
    assert_true(zero);
    assert_int_equal(n, CS);                /* zero cluster */
    assert_int_equal(img_chain_extent(s, top, CS, 7 * CS, &n, &zero, NULL, 0), 0);
    assert_false(zero);
    assert_int_equal(n, CS);                /* the base's data */
    assert_int_equal(img_chain_extent(s, top, 2 * CS, 6 * CS, &n, &zero, NULL, 0), 0);
    assert_true(zero);
    assert_int_equal(n, CS);                /* the base's hole */
    assert_int_equal(img_chain_extent(s, top, 3 * CS + 5, 5 * CS, &n, &zero, NULL, 0), 0);
    assert_false(zero);
    assert_int_equal(n, CS - 5);            /* top's data */
    /* data in place: through the chain, one chunk at a time */
    const uint8_t *data = NULL;
    assert_int_equal(img_chain_extent(s, top, CS, 7 * CS, &n, &zero, &data, 0), 0);
    assert_false(zero);
    assert_int_equal(n, SIM_CHUNK);
    assert_non_null(data);
    assert_int_equal(data[7], 1);
    assert_int_equal(data[6], 0);
    data = NULL;
    assert_int_equal(img_chain_extent(s, top, 3 * CS + 5, 5 * CS, &n, &zero, &data, 0), 0);
    assert_int_equal(n, SIM_CHUNK - 5);
    assert_non_null(data);
    assert_int_equal(data[-5], 9);
    /* a zero run before data ends there, without a pointer */
    data = NULL;
    assert_int_equal(img_chain_extent(s, top, 2 * CS, 6 * CS, &n, &zero, &data, 0), 0);
    assert_true(zero);
    assert_int_equal(n, CS);
    /* top's hole, then unallocated over the base's hole and past its end,
     * then past top's own end */
    assert_int_equal(img_chain_extent(s, top, 4 * CS, 100 * CS, &n, &zero, NULL, 0), 0);
    assert_true(zero);
    assert_int_equal(n, 100 * CS);
    /* a missing backing file is an error where a read would meet it */
    free(ft->qcow2->backing);
    ft->qcow2->backing = xstrdup("/tmp/blocksim/none");
    assert_int_equal(img_chain_extent(s, top, 0, CS, &n, &zero, NULL, 0), 0);
    assert_int_equal(img_chain_extent(s, top, 3 * CS, CS, &n, &zero, NULL, 0), 0);
    assert_int_equal(img_chain_extent(s, top, 4 * CS, 4 * CS, &n, &zero, NULL, 0), -2);
    assert_int_equal(img_chain_extent(s, top, CS, CS, &n, &zero, NULL, 0), -2);
    assert_int_equal(img_chain_extent(s, "/tmp/blocksim/none", 0, CS, &n, &zero, NULL, 0), -2);
    vm_free(b);
}

/* Cluster sizes other than the store's chunk: runs of zero clusters end on
 * the right byte, data pieces stay within a chunk. */
static void test_chain_extent_cluster_sizes(void **state)
{
    bs_backend *b = vm_new();
    sim *s = sim_of(b);
    const char *base = "/tmp/blocksim/base", *top = "/tmp/blocksim/top";
    sim_file *fb = mk_qcow2(s, base, 4 * CS, NULL);
    set_cluster(fb, 1, C_DATA, 3, 100);
    /* 4 KiB clusters, 1 MiB + 4 KiB: zero, unallocated, then data */
    sim_file *ft = fs_create(s, top);
    ft->qcow2 = q2_new(MiB + 4 * KiB, 4 * KiB);
    ft->qcow2->backing = xstrdup(base);
    store_truncate(&ft->data, 3 * 4 * KiB);
    for (uint64_t ci = 0; ci < 8; ci++) {
        l2_put(ft->qcow2, ci, Q2_ZERO);
    }
    uint64_t host = ft->qcow2->next_host;
    ft->qcow2->next_host += 4 * KiB;
    l2_put(ft->qcow2, 256, host);
    uint8_t byte = 0x77;
    store_write(&ft->data, host + 4 * KiB - 1, 1, &byte);
    uint64_t n;
    bool zero;
    const uint8_t *data = NULL;
    assert_int_equal(img_chain_extent(s, top, 100, 2 * MiB, &n, &zero, &data, 0), 0);
    assert_true(zero);
    assert_int_equal(n, CS - 100);              /* zero clusters, then... */
    assert_int_equal(img_chain_extent(s, top, 32 * KiB, 2 * MiB, &n, &zero, &data, 0), 0);
    assert_true(zero);
    assert_int_equal(n, CS - 32 * KiB);         /* ...then the base's unallocated */
    assert_int_equal(img_chain_extent(s, top, CS, 2 * MiB, &n, &zero, &data, 0), 0);
    assert_false(zero);
    assert_int_equal(n, SIM_CHUNK);             /* the base's data, one block */
    assert_int_equal(data[100], 3);
    assert_int_equal(img_chain_extent(s, top, 2 * CS, 2 * MiB, &n, &zero, &data, 0), 0);
    assert_true(zero);
    assert_int_equal(n, MiB - 2 * CS);          /* base's zeroes, past its end */
    assert_int_equal(img_chain_extent(s, top, MiB, 2 * MiB, &n, &zero, &data, 0), 0);
    assert_false(zero);
    assert_int_equal(n, 4 * KiB);               /* top's own data, to its end */
    assert_int_equal(data[4 * KiB - 1], 0x77);
    assert_int_equal(img_chain_extent(s, top, MiB + 4 * KiB, MiB, &n, &zero, &data, 0), 0);
    assert_true(zero);
    assert_int_equal(n, MiB);
    /* compare agrees with the bytes */
    const char *flat = "/tmp/blocksim/flat";
    sim_file *ff = mk_qcow2(s, flat, MiB + 4 * KiB, NULL);
    set_cluster(ff, 1, C_DATA, 3, 100);
    assert_int_equal(compare(b, top, flat), 1);
    assert_int_equal(naive_compare(s, top, flat), 1);
    uint64_t fh = ff->qcow2->next_host;
    ff->qcow2->next_host += CS;
    l2_put(ff->qcow2, 16, fh);
    store_write(&ff->data, fh + 4 * KiB - 1, 1, &byte);
    assert_int_equal(naive_compare(s, top, flat), 0);
    assert_int_equal(compare(b, top, flat), 0);
    assert_int_equal(compare(b, flat, top), 0);
    vm_free(b);
}

static void test_compare_tail_and_errors(void **state)
{
    bs_backend *b = vm_new();
    sim *s = sim_of(b);
    const char *a = "/tmp/blocksim/a", *lng = "/tmp/blocksim/long";
    mk_qcow2(s, a, 2 * MiB, NULL);
    sim_file *fl = mk_qcow2(s, lng, 64 * MiB, NULL);
    assert_int_equal(compare(b, a, lng), 0);
    /* zeroes written in the longer image's tail still compare equal */
    set_cluster(fl, 600, C_DATA_ZEROES, 0, 0);
    set_cluster(fl, 601, C_DATA_HOLE, 0, 0);
    assert_int_equal(compare(b, a, lng), 0);
    assert_int_equal(compare(b, lng, a), 0);
    /* one byte in the tail, in either order */
    set_cluster(fl, 1023, C_DATA, 1, CS - 1);
    assert_int_equal(compare(b, a, lng), 1);
    assert_int_equal(compare(b, lng, a), 1);
    /* a missing backing file fails the compare, even past a difference in an
     * earlier request; within one request the error wins */
    const char *top = "/tmp/blocksim/top";
    sim_file *ft = mk_qcow2(s, top, 4 * MiB, "/tmp/blocksim/none");
    for (uint64_t ci = 0; ci < 64; ci++) {
        set_cluster(ft, ci, C_ZERO, 0, 0);
    }
    set_cluster(ft, 16, C_DATA, 5, 0);
    assert_int_equal(compare(b, a, top), 1);            /* differs before 2 MiB */
    set_cluster(ft, 16, C_ZERO, 0, 0);
    assert_int_equal(compare(b, a, top), 0);            /* never reads the base */
    set_cluster(ft, 40, C_UNALLOC, 0, 0);               /* needs the base at 2.5 MiB */
    set_cluster(ft, 33, C_DATA, 5, 0);                  /* differs in the same MiB */
    assert_int_equal(compare(b, a, top), -EIO);
    set_cluster(ft, 8, C_DATA, 5, 0);                   /* differs in an earlier MiB */
    assert_int_equal(compare(b, a, top), 1);
    vm_free(b);
}

/* Deterministic random chains of up to three images, raw or qcow2, of
 * different sizes, compared both ways: extents must agree with bytes. */
static uint64_t rng_next(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static void random_chain(sim *s, uint64_t *rng, const char *const *paths, int depth)
{
    for (int i = 0; i < depth; i++) {
        uint64_t size = (1 + rng_next(rng) % 40) * CS - (rng_next(rng) % 2) * 512;
        if (i == 0 && rng_next(rng) % 3 == 0) {
            sim_file *f = fs_create(s, paths[i]);
            for (uint64_t c = 0; c < size / CS; c++) {
                if (rng_next(rng) % 4 == 0) {
                    uint8_t byte = (uint8_t)(rng_next(rng) % 3);
                    store_write(&f->data, c * CS + rng_next(rng) % CS, 1, &byte);
                }
            }
            store_truncate(&f->data, size);
            continue;
        }
        sim_file *f = mk_qcow2(s, paths[i], size, i ? paths[i - 1] : NULL);
        for (uint64_t c = 0; c < f->qcow2->nclusters; c++) {
            set_cluster(f, c, (cl_kind)(rng_next(rng) % 5), (uint8_t)(rng_next(rng) % 3),
                        rng_next(rng) % (size - c * CS < CS ? size - c * CS : CS));
        }
    }
}

/* A chain ending in top whose guest contents are src's (zeroes past its
 * end), in random representations: clusters left to the backing file where
 * it already reads right, zeroes as zero clusters, holes or zero bytes. */
static void random_copy(sim *s, uint64_t *rng, const char *src, const char *const *paths,
                        int depth)
{
    if (depth > 1) {
        random_chain(s, rng, paths, depth - 1);
    }
    const char *top = paths[depth - 1], *below = depth > 1 ? paths[depth - 2] : NULL;
    uint64_t size = (img_guest_size(s, src) + 511) / 512 * 512 + (rng_next(rng) % 3) * CS;
    sim_file *f = mk_qcow2(s, top, size, below);
    static uint8_t want[CS], have[CS];
    for (uint64_t c = 0; c < f->qcow2->nclusters; c++) {
        uint64_t n = size - c * CS < CS ? size - c * CS : CS;
        memset(want, 0, sizeof want);
        memset(have, 0, sizeof have);
        assert_int_equal(img_open_chain_read(s, src, c * CS, n, want, 0), 0);
        if (below) {
            assert_int_equal(img_open_chain_read(s, below, c * CS, n, have, 0), 0);
        }
        bool zero = true;
        for (uint64_t i = 0; i < n && zero; i++) {
            zero = !want[i];
        }
        uint64_t pick = rng_next(rng) % 4;
        if (!memcmp(want, have, n) && pick == 0) {
            set_cluster(f, c, C_UNALLOC, 0, 0);
        } else if (zero && pick != 0) {
            set_cluster(f, c, pick == 1 ? C_ZERO : pick == 2 ? C_DATA_HOLE : C_DATA_ZEROES, 0, 0);
        } else {
            set_cluster_bytes(f, c, want);
        }
    }
}

static void test_compare_matches_bytes(void **state)
{
    static const char *const pa[] = { "/tmp/blocksim/a0", "/tmp/blocksim/a1", "/tmp/blocksim/a2" };
    static const char *const pb[] = { "/tmp/blocksim/b0", "/tmp/blocksim/b1", "/tmp/blocksim/b2" };
    uint64_t rng = 0x9E3779B97F4A7C15ull;
    int differ = 0, same = 0;
    for (int round = 0; round < 300; round++) {
        bs_backend *b = vm_new();
        sim *s = sim_of(b);
        int da = 1 + (int)(rng_next(&rng) % 3), db = 1 + (int)(rng_next(&rng) % 3);
        random_chain(s, &rng, pa, da);
        const char *ta = pa[da - 1], *tb = pb[db - 1];
        if (round % 3) {
            random_copy(s, &rng, ta, pb, db);
            if (round % 3 == 2) {
                /* one byte off somewhere, maybe in the longer image's tail */
                sim_file *f = fs_lookup(s, tb);
                uint64_t off = rng_next(&rng) % f->qcow2->size;
                static uint8_t buf[CS];
                uint64_t c = off / CS, n = f->qcow2->size - c * CS;
                memset(buf, 0, sizeof buf);
                assert_int_equal(img_open_chain_read(s, tb, c * CS, n < CS ? n : CS, buf, 0), 0);
                buf[off % CS] ^= 0x40;
                set_cluster_bytes(f, c, buf);
            }
        } else {
            random_chain(s, &rng, pb, db);
        }
        int want = naive_compare(s, ta, tb);
        assert_int_equal(want, round % 3 == 1 ? 0 : want);
        assert_int_equal(compare(b, ta, tb), want);
        assert_int_equal(compare(b, tb, ta), want);
        assert_int_equal(compare(b, ta, ta), 0);
        want ? differ++ : same++;
        vm_free(b);
    }
    /* both answers were exercised */
    assert_true(differ > 50);
    assert_true(same > 50);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_extent),
        cmocka_unit_test(test_store_holes),
        cmocka_unit_test(test_new_cluster_is_sparse),
        cmocka_unit_test(test_chain_extent),
        cmocka_unit_test(test_chain_extent_cluster_sizes),
        cmocka_unit_test(test_compare_tail_and_errors),
        cmocka_unit_test(test_compare_matches_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
