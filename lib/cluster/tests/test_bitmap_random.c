// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Seeded randomized test: 10,000 random operations per configuration on a
 * cl_bitmap and on a naive one-byte-per-bit model, compared after each one.
 * The seed is printed; set CL_TEST_SEED to replay a run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cluster/cluster.h"

#define OPS_PER_RUN 10000

typedef struct model {
    uint64_t size;
    uint64_t gran;
    uint64_t nbits;
    uint8_t *bits;
} model;

static uint64_t rng_state;

static uint64_t rnd(void)
{
    /* xorshift64*: small, deterministic, good enough for test inputs */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

static uint64_t rnd_below(uint64_t n)
{
    return n ? rnd() % n : 0;
}

static uint64_t test_seed(void)
{
    const char *env = getenv("CL_TEST_SEED");

    return env && *env ? strtoull(env, NULL, 0) : 20240521;
}

static void model_init(model *m, uint64_t size, uint64_t gran)
{
    m->size = size;
    m->gran = gran;
    m->nbits = (size + gran - 1) / gran;
    m->bits = calloc(m->nbits ? m->nbits : 1, 1);
    assert_non_null(m->bits);
}

static void model_mark(model *m, uint64_t off, uint64_t len, uint8_t val)
{
    if (len == 0) {
        return;
    }
    for (uint64_t b = off / m->gran; b <= (off + len - 1) / m->gran; b++) {
        m->bits[b] = val;
    }
}

static uint64_t model_count(const model *m)
{
    uint64_t n = 0;

    for (uint64_t b = 0; b < m->nbits; b++) {
        n += m->bits[b];
    }
    return n;
}

static int64_t model_next(const model *m, uint64_t off, uint64_t end, uint8_t want)
{
    if (end == 0 || end > m->size) {
        end = m->size;
    }
    for (uint64_t b = off / m->gran; off < end && b * m->gran < end; b++) {
        if (m->bits[b] == want) {
            return (int64_t)(b * m->gran > off ? b * m->gran : off);
        }
    }
    return -1;
}

static uint64_t cl_min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* A length that is sometimes tiny, sometimes large, sometimes everything. */
static uint64_t random_len(const model *m, uint64_t room)
{
    switch (rnd_below(4)) {
    case 0:
        return rnd_below(cl_min_u64(room, 3 * m->gran) + 1);
    case 1:
        return rnd_below(cl_min_u64(room, 200 * m->gran) + 1);
    case 2:
        return rnd_below(room + 1);
    default:
        return room;
    }
}

static void check_equal(const cl_bitmap *bm, const model *m)
{
    assert_int_equal(cl_bitmap_count(bm), model_count(m));
    assert_int_equal(cl_bitmap_count_bytes(bm), model_count(m) * m->gran);
    for (uint64_t b = 0; b < m->nbits; b++) {
        if (cl_bitmap_get(bm, b * m->gran) != (m->bits[b] != 0)) {
            fail_msg("bit %llu differs from the model (seed %llu)", (unsigned long long)b,
                     (unsigned long long)test_seed());
        }
    }
}

/* A random offset, usually inside, sometimes at or just past the end. */
static uint64_t random_offset(const model *m)
{
    if (rnd_below(20) == 0) {
        return m->size + rnd_below(2 * m->gran);
    }
    return rnd_below(m->size + 1);
}

static void random_run(uint64_t size, uint64_t gran)
{
    static const uint64_t other_grans[] = { 512, 4096, 65536, 131072 };
    cl_bitmap *bm = cl_bitmap_new(size, gran, NULL);
    model m;

    assert_non_null(bm);
    model_init(&m, size, gran);
    for (int op = 0; op < OPS_PER_RUN; op++) {
        uint64_t off = random_offset(&m), end, len, area_off, area_len, max_len;
        int kind = (int)rnd_below(100);

        if (kind < 22) {                                    /* set */
            if (off > size) {
                assert_true(cl_bitmap_set(bm, off, 1, NULL) < 0);
                continue;
            }
            len = random_len(&m, size - off);
            assert_int_equal(cl_bitmap_set(bm, off, len, NULL), 0);
            model_mark(&m, off, len, 1);
        } else if (kind < 40) {                             /* reset, aligned */
            off = off / gran * gran;
            if (off >= size) {
                continue;
            }
            len = random_len(&m, size - off);
            if (off + len != size) {
                len = len / gran * gran;
            }
            assert_int_equal(cl_bitmap_reset(bm, off, len, NULL), 0);
            model_mark(&m, off, len, 0);
        } else if (kind < 42) {                             /* misaligned reset */
            if (off % gran == 0 && off + 1 < size) {
                off++;
            }
            if (off % gran != 0 && off < size) {
                assert_true(cl_bitmap_reset(bm, off, gran, NULL) < 0);
            }
        } else if (kind < 47) {                             /* merge */
            uint64_t sg = other_grans[rnd_below(4)];
            cl_bitmap *src = cl_bitmap_new(size, sg, NULL);

            assert_non_null(src);
            for (int i = 0; i < 4; i++) {
                uint64_t so = rnd_below(size);
                uint64_t sl = random_len(&m, size - so);

                cl_bitmap_set(src, so, sl, NULL);
                if (sl) {
                    /* every byte of src's touched bits dirties dst */
                    uint64_t first = so / sg * sg;
                    uint64_t last = ((so + sl - 1) / sg + 1) * sg;

                    if (last > size) {
                        last = size;
                    }
                    model_mark(&m, first, last - first, 1);
                }
            }
            assert_int_equal(cl_bitmap_merge(bm, src, NULL), 0);
            cl_bitmap_free(src);
        } else if (kind < 62) {                             /* next_dirty */
            end = rnd_below(3) ? random_offset(&m) : 0;
            assert_int_equal(cl_bitmap_next_dirty(bm, off, end), model_next(&m, off, end, 1));
        } else if (kind < 77) {                             /* next_clean */
            end = rnd_below(3) ? random_offset(&m) : 0;
            assert_int_equal(cl_bitmap_next_clean(bm, off, end), model_next(&m, off, end, 0));
        } else if (kind < 90) {                             /* next_dirty_area */
            int64_t first, clean;
            uint64_t stop;
            bool found;

            end = rnd_below(3) ? random_offset(&m) : 0;
            max_len = rnd_below(2) ? rnd_below(50 * gran) : 0;
            found = cl_bitmap_next_dirty_area(bm, off, end, max_len, &area_off, &area_len);
            first = model_next(&m, off, end, 1);
            assert_int_equal(found, first >= 0);
            if (found) {
                uint64_t e = (end == 0 || end > size) ? size : end;

                stop = max_len && max_len < e - (uint64_t)first ? (uint64_t)first + max_len : e;
                clean = model_next(&m, (uint64_t)first, stop, 0);
                if (clean >= 0) {
                    stop = (uint64_t)clean;
                }
                assert_int_equal(area_off, (uint64_t)first);
                assert_int_equal(area_len, stop - (uint64_t)first);
            }
        } else if (kind < 93) {                             /* count, get */
            assert_int_equal(cl_bitmap_count(bm), model_count(&m));
            assert_int_equal(cl_bitmap_get(bm, off),
                             off < size && m.bits[off / gran] != 0);
        } else if (kind < 95) {                             /* clear */
            cl_bitmap_clear(bm);
            memset(m.bits, 0, m.nbits);
        } else if (kind < 97) {                             /* fill */
            cl_bitmap_fill(bm);
            memset(m.bits, 1, m.nbits);
        } else if (kind < 98) {                             /* copy through a twin */
            cl_bitmap *twin = cl_bitmap_new(size, gran, NULL);

            assert_int_equal(cl_bitmap_copy(twin, bm, NULL), 0);
            cl_bitmap_clear(bm);
            assert_int_equal(cl_bitmap_copy(bm, twin, NULL), 0);
            cl_bitmap_free(twin);
        } else {                                            /* record_write */
            if (off >= size) {
                continue;
            }
            len = random_len(&m, size - off);
            cl_bitmap_record_write(bm, off, len);
            model_mark(&m, off, len, 1);
        }
        if (op % 500 == 0) {
            check_equal(bm, &m);
        }
    }
    check_equal(bm, &m);
    cl_bitmap_free(bm);
    free(m.bits);
}

static void test_random_512(void **state)
{
    random_run(9000 * 512, 512);          /* multiple */
    random_run(9000 * 512 + 300, 512);    /* partial last bit */
    random_run(100000 * 512 + 1024, 512); /* three summary levels */
}

static void test_random_64k(void **state)
{
    random_run(5000ULL * 65536, 65536);
    random_run(5000ULL * 65536 + 12345, 65536);
    random_run(65536 * 64, 65536);         /* exactly one word */
}

static void test_random_128k(void **state)
{
    random_run(4500ULL * 131072, 131072);
    random_run(4500ULL * 131072 + 131071, 131072);
    random_run(131072 * 3 + 1, 131072);    /* tiny */
}

/*
 * Single-granule sets and resets (cl_bitmap's fast path, which updates the
 * level-0 summaries arithmetically and the levels above only when a summary
 * word turns zero or non-zero). The edits stay within a few bit words at a
 * time, so words fill up and empty completely and summary words change
 * state often; after each batch every search result must match the model.
 */
static void single_bit_run(uint64_t size, uint64_t gran)
{
    cl_bitmap *bm = cl_bitmap_new(size, gran, NULL);
    model m;

    assert_non_null(bm);
    model_init(&m, size, gran);
    for (int batch = 0; batch < 60; batch++) {
        /* a window of 1..3 bit words, sometimes at the (partial) end */
        uint64_t wbits = 64 * (1 + rnd_below(3));
        uint64_t base = rnd_below(4) == 0 && m.nbits > wbits ? m.nbits - wbits
                                                              : rnd_below(m.nbits);
        bool dirty = rnd_below(2) == 0;

        for (int i = 0; i < 400; i++) {
            uint64_t b = base + rnd_below(wbits);

            if (b >= m.nbits) {
                continue;
            }
            if (rnd_below(5) == 0) {
                dirty = !dirty;
            }
            if (dirty) {
                /* any length within the granule, even partial at the end */
                uint64_t room = cl_min_u64(gran, size - b * gran);
                assert_int_equal(cl_bitmap_set(bm, b * gran, 1 + rnd_below(room), NULL), 0);
            } else {
                uint64_t len = b == m.nbits - 1 ? size - b * gran : gran;
                assert_int_equal(cl_bitmap_reset(bm, b * gran, len, NULL), 0);
            }
            m.bits[b] = dirty;
        }
        check_equal(bm, &m);
        for (int q = 0; q < 200; q++) {
            uint64_t off = q < 100 ? rnd_below(size) : (base + rnd_below(wbits)) * gran;

            if (off >= size) {
                continue;
            }
            assert_int_equal(cl_bitmap_next_dirty(bm, off, 0), model_next(&m, off, 0, 1));
            assert_int_equal(cl_bitmap_next_clean(bm, off, 0), model_next(&m, off, 0, 0));
        }
    }
    cl_bitmap_free(bm);
    free(m.bits);
}

static void test_single_bit_summaries(void **state)
{
    single_bit_run(64 * 512, 512);                 /* one word, one summary level */
    single_bit_run(70 * 64 * 512 + 700, 512);      /* partial last word */
    single_bit_run(300000ULL * 65536, 65536);      /* three summary levels */
    single_bit_run(4100ULL * 64 * 512 + 512, 512); /* a summary word past 64 */
}

/*
 * Whole pages (4096 bits, the unit the bitmap shares between maps that are
 * all clean or all dirty there): ranges that start and end on page
 * boundaries or just beside them, same-granularity merges from maps with
 * all-dirty pages, copies, clears and fills, then single bits inside shared
 * pages. After each operation the count, every bit, searches from page
 * boundaries and (after a fill or clear) the memory are checked.
 */
static uint64_t page_edge(const model *m)
{
    uint64_t page = 4096 * m->gran, npg = m->size / page + 1;
    uint64_t off = rnd_below(npg + 1) * page;

    switch (rnd_below(4)) {
    case 0:
        off += m->gran;
        break;
    case 1:
        off = off >= m->gran ? off - m->gran : off;
        break;
    default:
        break;
    }
    return off < m->size ? off : m->size;
}

static void page_run(uint64_t size, uint64_t gran)
{
    cl_bitmap *bm = cl_bitmap_new(size, gran, NULL);
    size_t empty_memory = cl_bitmap_memory(bm);
    model m;

    assert_non_null(bm);
    model_init(&m, size, gran);
    for (int op = 0; op < 400; op++) {
        uint64_t a = page_edge(&m), b = page_edge(&m), lo = a < b ? a : b, hi = a < b ? b : a;
        int kind = (int)rnd_below(10);

        if (kind < 3 && hi > lo) {                          /* set a page range */
            assert_int_equal(cl_bitmap_set(bm, lo, hi - lo, NULL), 0);
            model_mark(&m, lo, hi - lo, 1);
        } else if (kind < 5 && hi > lo) {                   /* reset one */
            uint64_t len = hi == size ? hi - lo : (hi - lo) / gran * gran;
            assert_int_equal(cl_bitmap_reset(bm, lo, len, NULL), 0);
            model_mark(&m, lo, len, 0);
        } else if (kind < 6) {                              /* merge, same granularity */
            cl_bitmap *src = cl_bitmap_new(size, gran, NULL);

            if (hi > lo) {
                cl_bitmap_set(src, lo, hi - lo, NULL);
                model_mark(&m, lo, hi - lo, 1);
            }
            if (rnd_below(2) && lo < size) {
                cl_bitmap_set(src, lo, 1, NULL);
                model_mark(&m, lo, 1, 1);
            }
            assert_int_equal(cl_bitmap_merge(bm, src, NULL), 0);
            cl_bitmap_free(src);
        } else if (kind < 7) {                              /* copy out and back */
            cl_bitmap *twin = cl_bitmap_new(size, gran, NULL);

            cl_bitmap_fill(twin);
            assert_int_equal(cl_bitmap_copy(twin, bm, NULL), 0);
            if (rnd_below(2)) {
                cl_bitmap_fill(bm);
            } else {
                cl_bitmap_clear(bm);
            }
            assert_int_equal(cl_bitmap_copy(bm, twin, NULL), 0);
            cl_bitmap_free(twin);
        } else if (kind < 8) {                              /* clear or fill */
            bool fill = rnd_below(2);

            if (fill) {
                cl_bitmap_fill(bm);
            } else {
                cl_bitmap_clear(bm);
            }
            memset(m.bits, fill, m.nbits);
            /* shared pages: no more memory than the empty map */
            assert_true(cl_bitmap_memory(bm) <= empty_memory);
        } else {                                            /* single bits */
            for (int i = 0; i < 8 && lo < size; i++) {
                uint64_t off = (lo + rnd_below(hi - lo + gran)) / gran * gran;
                bool dirty = rnd_below(2);

                if (off >= size) {
                    continue;
                }
                if (dirty) {
                    assert_int_equal(cl_bitmap_set(bm, off, 1, NULL), 0);
                } else {
                    assert_int_equal(cl_bitmap_reset(bm, off, cl_min_u64(gran, size - off), NULL), 0);
                }
                m.bits[off / gran] = dirty;
            }
        }
        assert_int_equal(cl_bitmap_count(bm), model_count(&m));
        for (int q = 0; q < 6; q++) {
            uint64_t off = page_edge(&m), end = rnd_below(2) ? 0 : page_edge(&m);

            assert_int_equal(cl_bitmap_next_dirty(bm, off, end), model_next(&m, off, end, 1));
            assert_int_equal(cl_bitmap_next_clean(bm, off, end), model_next(&m, off, end, 0));
        }
        if (op % 50 == 0) {
            check_equal(bm, &m);
        }
    }
    check_equal(bm, &m);
    cl_bitmap_free(bm);
    free(m.bits);
}

static void test_whole_pages(void **state)
{
    page_run(4096ULL * 7 * 65536, 65536);              /* whole pages only */
    page_run(4096ULL * 9 * 65536 + 64 * 65536 + 1, 65536);  /* a partial last page */
    page_run(4096ULL * 70 * 512, 512);                 /* two summary levels of pages */
    page_run(100 * 512, 512);                          /* a single, partial page */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_512),
        cmocka_unit_test(test_random_64k),
        cmocka_unit_test(test_random_128k),
        cmocka_unit_test(test_single_bit_summaries),
        cmocka_unit_test(test_whole_pages),
    };

    rng_state = test_seed();
    if (!rng_state) {
        rng_state = 1;
    }
    printf("test_bitmap_random: seed %llu (set CL_TEST_SEED to replay)\n",
           (unsigned long long)test_seed());
    return cmocka_run_group_tests(tests, NULL, NULL);
}
