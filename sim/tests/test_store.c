/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The extent store (sim/store.c) and spans (sim/data.c) against a plain
 * model: a byte array and one allocated flag per SIM_CHUNK block, following
 * the rules of a file system's holes (sim/store.h). Seeded random operations, compared
 * after each one: bytes, holes, spans, peeks; shared slices must not change
 * when their source is overwritten. Set SIM_TEST_SEED to replay a run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sim/sim_int.h"

#define NCHUNKS 8
#define MAXSZ (NCHUNKS * (uint64_t)SIM_CHUNK)

typedef struct model {
    uint64_t size;
    uint8_t bytes[MAXSZ + SIM_CHUNK];
    bool alloc[NCHUNKS + 1];
} model;

static uint64_t rng;

static uint64_t rnd(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545F4914F6CDD1DULL;
}

static uint64_t below(uint64_t n)
{
    return n ? rnd() % n : 0;
}

static uint64_t seed(void)
{
    const char *e = getenv("SIM_TEST_SEED");
    return e && *e ? strtoull(e, NULL, 0) : 20261128;
}

static void m_write(model *m, uint64_t off, uint64_t len, const uint8_t *buf)
{
    if (off + len > m->size) {
        m->size = off + len;
    }
    memcpy(m->bytes + off, buf, len);
    for (uint64_t c = off / SIM_CHUNK; len && c <= (off + len - 1) / SIM_CHUNK; c++) {
        m->alloc[c] = true;
    }
}

static void m_zero(model *m, uint64_t off, uint64_t len)
{
    if (off + len > m->size) {
        m->size = off + len;
    }
    while (len) {
        uint64_t c = off / SIM_CHUNK, o = off % SIM_CHUNK;
        uint64_t n = SIM_CHUNK - o < len ? SIM_CHUNK - o : len;
        if (n == SIM_CHUNK) {
            m->alloc[c] = false;
            memset(m->bytes + off, 0, n);
        } else if (m->alloc[c]) {
            memset(m->bytes + off, 0, n);   /* part of a block stays allocated */
        }
        off += n;
        len -= n;
    }
}

static void m_truncate(model *m, uint64_t size)
{
    if (size < m->size) {
        memset(m->bytes + size, 0, MAXSZ + SIM_CHUNK - size);
        for (uint64_t c = (size + SIM_CHUNK - 1) / SIM_CHUNK; c <= NCHUNKS; c++) {
            m->alloc[c] = false;
        }
    }
    m->size = size;
}

static void check(const sim_store *st, const model *m)
{
    static uint8_t out[MAXSZ + SIM_CHUNK];
    assert_int_equal(st->size, m->size);
    uint64_t span = m->size + 100;
    if (span > sizeof out) {
        span = sizeof out;
    }
    store_read(st, 0, span, out);
    assert_memory_equal(out, m->bytes, span);
    /* the same through spans */
    sim_data d;
    data_init(&d);
    store_read_data(st, 0, span, &d);
    assert_int_equal(d.len, span);
    memset(out, 0xee, span);
    data_to_buf(&d, out);
    assert_memory_equal(out, m->bytes, span);
    data_free(&d);
    /* holes: allocated chunks inside the size */
    for (uint64_t c = 0; c < NCHUNKS; c++) {
        bool hole;
        if (c * SIM_CHUNK >= m->size) {
            break;
        }
        store_extent(st, c * SIM_CHUNK, SIM_CHUNK, &hole);
        assert_int_equal(hole, !m->alloc[c]);
    }
    /* a peek at a random place */
    uint64_t off = below(m->size + 1), pnum;
    const uint8_t *p = store_peek(st, off, 3 * SIM_CHUNK, &pnum);
    if (p) {
        assert_true(pnum > 0 && pnum <= SIM_CHUNK - off % SIM_CHUNK);
        assert_memory_equal(p, m->bytes + off, pnum);
    }
}

/* A buffer of one of the shapes writes have: a pattern, zeroes, bytes. */
static void fill(uint8_t *buf, uint64_t len)
{
    switch (below(4)) {
    case 0:
        memset(buf, 0, len);
        break;
    case 1:
    case 2:
        memset(buf, (int)(1 + below(255)), len);
        break;
    default:
        for (uint64_t i = 0; i < len; i++) {
            buf[i] = (uint8_t)(rnd() >> 56);
        }
        /* sometimes a run of zeroes inside */
        if (len > 10 && below(2)) {
            memset(buf + len / 3, 0, len / 3);
        }
    }
}

static uint64_t rand_len(uint64_t room)
{
    switch (below(4)) {
    case 0:
        return below(room < 600 ? room + 1 : 600);
    case 1:
        return below(room < SIM_CHUNK ? room + 1 : SIM_CHUNK + 1);
    case 2:
        return room < SIM_CHUNK ? room : SIM_CHUNK;  /* often a whole chunk */
    default:
        return below(room + 1);
    }
}

static void test_random_against_model(void **state)
{
    static model m, m2;
    static uint8_t buf[MAXSZ];
    sim_store st, st2;
    store_init(&st);
    store_init(&st2);
    memset(&m, 0, sizeof m);
    memset(&m2, 0, sizeof m2);
    rng = seed() ? seed() : 1;
    printf("test_store: seed %llu (set SIM_TEST_SEED to replay)\n", (unsigned long long)seed());
    for (int op = 0; op < 2000; op++) {
        uint64_t off = below(4) ? below(MAXSZ) : below(NCHUNKS) * SIM_CHUNK;
        uint64_t len = rand_len(MAXSZ - off);
        switch (below(6)) {
        case 0:
        case 1:
            fill(buf, len);
            store_write(&st, off, len, buf);
            m_write(&m, off, len, buf);
            break;
        case 2:
            store_zero(&st, off, len);
            m_zero(&m, off, len);
            break;
        case 3:
            if (below(4) == 0) {
                uint64_t size = below(MAXSZ + 1);
                store_truncate(&st, size);
                m_truncate(&m, size);
            } else {
                store_write(&st, off, len, NULL);
                m_zero(&m, off, len);
            }
            break;
        case 4: {
            /* copy a range of st into st2 as spans, then overwrite the
             * source: st2 keeps what it was given */
            sim_data d;
            data_init(&d);
            store_read_data(&st, off, len, &d);
            uint64_t to = below(MAXSZ - len + 1);
            store_write_data(&st2, to, &d);
            data_to_buf(&d, buf);
            m_write(&m2, to, len, buf);
            data_free(&d);
            fill(buf, len);
            store_write(&st, off, len, buf);
            m_write(&m, off, len, buf);
            break;
        }
        default: {
            /* and back, from st2 into st */
            uint64_t from = below(MAXSZ - len + 1);
            sim_data d;
            data_init(&d);
            store_read_data(&st2, from, len, &d);
            store_write_data(&st, off, &d);
            data_free(&d);
            store_read(&st2, from, len, buf);
            m_write(&m, off, len, buf);
            break;
        }
        }
        check(&st, &m);
        if (op % 50 == 0) {
            check(&st2, &m2);
        }
    }
    check(&st2, &m2);
    store_free(&st);
    store_free(&st2);
}

/* Spans: pattern writes are runs, equality looks through representations. */
static void test_data_spans(void **state)
{
    sim_data a, b;
    uint8_t buf[300];
    data_init(&a);
    data_init(&b);
    memset(buf, 0x49, sizeof buf);
    data_add_buf(&a, buf, sizeof buf);
    assert_int_equal(a.n, 1);
    assert_int_equal(a.v[0].kind, SPAN_BYTE);
    data_add_byte(&a, 10, 0x49);          /* merges */
    assert_int_equal(a.n, 1);
    assert_int_equal(a.len, 310);
    data_add_zero(&a, 5);
    data_add_byte(&a, 5, 0);              /* zero byte: a zero run, merged */
    assert_int_equal(a.n, 2);
    uint64_t where = 0;
    assert_false(data_all_byte(&a, 0x49, &where));
    assert_int_equal(where, 310);
    /* the same bytes as one blob */
    uint8_t flat[320];
    data_to_buf(&a, flat);
    data_add_buf(&b, flat, sizeof flat);
    assert_int_equal(b.n, 1);
    assert_int_equal(b.v[0].kind, SPAN_DATA);
    assert_true(data_equal(&a, &b));
    assert_true(data_equal(&b, &a));
    /* one byte differs, in the blob */
    sim_data c;
    data_init(&c);
    flat[200] = 0;
    data_add_buf(&c, flat, sizeof flat);
    assert_false(data_equal(&a, &c));
    assert_false(data_all_byte(&c, 0x49, &where));
    assert_int_equal(where, 200);
    /* ranges of spans, and slices of one blob that meet again */
    sim_data r;
    data_init(&r);
    data_add_range(&r, &c, 0, 100);
    data_add_range(&r, &c, 100, 220);
    assert_int_equal(r.n, 1);
    assert_true(data_equal(&r, &c));
    assert_int_equal(c.v[0].blob->refs, 2);
    data_free(&r);
    assert_int_equal(c.v[0].blob->refs, 1);
    data_free(&a);
    data_free(&b);
    data_free(&c);
}

/* Cluster-by-cluster writes of one pattern, and copies of them, stay one
 * extent: the cost of later reads is the number of runs. */
static void test_runs_stay_few(void **state)
{
    sim_store a, b;
    uint8_t buf[4096];
    store_init(&a);
    store_init(&b);
    memset(buf, 0x6c, sizeof buf);
    for (uint64_t i = 0; i < 256; i++) {
        store_write(&a, i * sizeof buf, sizeof buf, buf);
    }
    assert_int_equal(store_extent_count(&a), 1);
    for (uint64_t i = 0; i < 16; i++) {
        sim_data d;
        data_init(&d);
        store_read_data(&a, i * SIM_CHUNK, SIM_CHUNK, &d);
        store_write_data(&b, (1 << 30) + i * SIM_CHUNK, &d);
        data_free(&d);
    }
    assert_int_equal(store_extent_count(&b), 1);
    assert_int_equal(b.size, (1 << 30) + 16 * SIM_CHUNK);
    /* a hole in the middle splits it in two */
    store_zero(&b, (1 << 30) + 3 * SIM_CHUNK, SIM_CHUNK);
    assert_int_equal(store_extent_count(&b), 2);
    store_free(&a);
    store_free(&b);
}

/* A big sparse file, far more chunks than the allocated-chunk set has
 * slots: holes in store_extent and whole-chunk zeroing take the paths that
 * look at the set's slots rather than at every chunk. Checked against one
 * allocated flag per chunk. */
#define BIG_CHUNKS 5000

static uint64_t naive_extent(const bool *alloc, uint64_t size, uint64_t off, uint64_t len,
                             bool *hole)
{
    uint64_t done = 0;
    bool first = true;
    while (done < len) {
        uint64_t pos = off + done, in = pos % SIM_CHUNK;
        uint64_t n = SIM_CHUNK - in < len - done ? SIM_CHUNK - in : len - done;
        bool h = pos >= size || !alloc[pos / SIM_CHUNK];
        if (pos >= size) {
            n = len - done;
        }
        if (!first && h != *hole) {
            break;
        }
        *hole = h;
        first = false;
        done += n;
    }
    return done;
}

static void test_big_sparse(void **state)
{
    static bool alloc[BIG_CHUNKS];
    static uint64_t written[3000];     /* offsets holding `one`, until zeroed */
    static uint64_t zeroed[3000];      /* offsets that held it, then were zeroed */
    size_t nwritten = 0, nzeroed = 0;
    const uint64_t size = BIG_CHUNKS * (uint64_t)SIM_CHUNK - 1000;
    const uint8_t one = 0x5a;
    sim_store st;

    rng = seed() ? seed() : 1;
    store_init(&st);
    store_truncate(&st, size);
    memset(alloc, 0, sizeof alloc);
    for (int op = 0; op < 3000; op++) {
        uint64_t c = below(BIG_CHUNKS);
        switch (below(8)) {
        case 0: {
            /* zero whole chunks [c, c + n): often more than the set's slots */
            uint64_t n = below(BIG_CHUNKS - c) + 1;
            uint64_t len = n * SIM_CHUNK;
            if (c * SIM_CHUNK + len > size) {
                len = size - c * SIM_CHUNK;     /* the partial last chunk stays */
                n = len / SIM_CHUNK;
            }
            store_zero(&st, c * SIM_CHUNK, len);
            memset(alloc + c, 0, n);
            for (size_t i = 0; i < nwritten;) {
                if (written[i] >= c * SIM_CHUNK && written[i] < c * SIM_CHUNK + n * SIM_CHUNK) {
                    if (nzeroed < 3000) {
                        zeroed[nzeroed++] = written[i];
                    }
                    written[i] = written[--nwritten];
                } else {
                    i++;
                }
            }
            break;
        }
        case 1:
        case 2:
        case 3: {
            uint64_t off = c * SIM_CHUNK + below(SIM_CHUNK);
            if (off < size) {
                store_write(&st, off, 1, &one);
                alloc[c] = true;
                written[nwritten++] = off;
            }
            break;
        }
        default: {
            uint64_t off = below(size + 2 * SIM_CHUNK), len = below(size) + 1;
            bool h1 = false, h2 = false;
            uint64_t n1 = store_extent(&st, off, len, &h1);
            uint64_t n2 = naive_extent(alloc, size, off, len, &h2);
            assert_int_equal(n1, n2);
            assert_int_equal(h1, h2);
            if (nwritten) {
                uint8_t b = 0;
                store_read(&st, written[below(nwritten)], 1, &b);
                assert_int_equal(b, one);
            }
            if (nzeroed) {
                uint64_t z = zeroed[below(nzeroed)];
                uint8_t b = 0xff, want = 0;
                for (size_t i = 0; i < nwritten; i++) {
                    want = written[i] == z ? one : want;
                }
                store_read(&st, z, 1, &b);
                assert_int_equal(b, want);
            }
            break;
        }
        }
        assert_int_equal(st.size, size);
    }
    store_free(&st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_data_spans),
        cmocka_unit_test(test_runs_stay_few),
        cmocka_unit_test(test_random_against_model),
        cmocka_unit_test(test_big_sparse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
