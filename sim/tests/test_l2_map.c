/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The run-length L2 map (sim/l2_map.c) against a plain array of entries:
 * seeded random sets, zero flagging, clears and resizes on both, then every
 * entry, run end and skip compared, and the runs checked to be sorted and
 * maximal (the same contents always make the same runs).
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

#define STEP 65536u

static uint64_t rng;

static uint64_t rnd(uint64_t n)
{
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (rng >> 33) % n;
}

static bool host(uint64_t v)
{
    return (v & ~L2M_ZERO) != 0;
}

/* Does entry j (after i) continue entry i's run? */
static bool continues(const uint64_t *e, uint64_t i, uint64_t j)
{
    return host(e[i]) ? e[j] == e[i] + (j - i) * STEP : e[j] == e[i];
}

static void check(const l2_map *m, const uint64_t *e, uint64_t len)
{
    assert_int_equal(m->len, len);
    for (uint64_t i = 0; i < len; i++) {
        assert_int_equal(l2m_get(m, i), e[i]);
    }
    /* runs: sorted, from 0, each the maximal stretch continuing its start */
    if (len) {
        assert_true(m->n > 0);
        assert_int_equal(m->r[0].start, 0);
    } else {
        assert_int_equal(m->n, 0);
    }
    for (size_t k = 0; k < m->n; k++) {
        uint64_t start = m->r[k].start, stop = k + 1 < m->n ? m->r[k + 1].start : len;
        assert_true(start < stop);
        assert_int_equal(m->r[k].v, e[start]);
        for (uint64_t j = start + 1; j < stop; j++) {
            assert_true(continues(e, start, j));
        }
        if (stop < len) {
            assert_false(continues(e, start, stop));
        }
    }
    for (int q = 0; q < 20; q++) {
        uint64_t i = rnd(len + 1), lim = i + rnd(len - i + 1);
        uint64_t want = i;
        while (want < lim && e[want] == 0) {
            want++;
        }
        assert_int_equal(l2m_skip(m, i, lim, false), want);
        want = i;
        while (want < lim && (e[want] & L2M_ZERO)) {
            want++;
        }
        assert_int_equal(l2m_skip(m, i, lim, true), want);
        if (i < lim) {
            want = i + 1;
            while (want < lim && continues(e, i, want)) {
                want++;
            }
            assert_int_equal(l2m_run_end(m, i, lim), want);
        } else {
            assert_int_equal(l2m_run_end(m, i, lim), lim);
        }
    }
}

/* Entries of one kind, as images have them; hosts few and close together,
 * so that runs meet and must merge. */
static uint64_t entry(void)
{
    switch (rnd(4)) {
    case 0:
        return 0;
    case 1:
        return L2M_ZERO;
    case 2:
        return (1 + rnd(20)) * STEP;
    default:
        return (1 + rnd(20)) * STEP | L2M_ZERO;
    }
}

static void test_random_ops(void **state)
{
    const char *seed = getenv("SIM_TEST_SEED");

    (void)state;
    rng = seed ? strtoull(seed, NULL, 0) : 15;
    for (int round = 0; round < 60; round++) {
        uint64_t len = rnd(4) == 0 ? rnd(3) : 1 + rnd(600);
        uint64_t *e = calloc(8000, sizeof *e);
        l2_map m;

        l2m_init(&m, len, STEP);
        check(&m, e, len);
        for (int op = 0; op < 300; op++) {
            uint64_t a = len ? rnd(len) : 0, b = a + rnd(len - a + 1);
            switch (rnd(10)) {
            case 0: {
                bool fresh = false;
                for (uint64_t i = a; i < b; i++) {
                    fresh |= !(e[i] & L2M_ZERO);
                    e[i] |= L2M_ZERO;
                }
                assert_int_equal(l2m_flag_zero(&m, a, b), fresh);
                break;
            }
            case 1: {
                uint64_t nl = rnd(8) ? len : rnd(900);
                for (uint64_t i = len; i < nl; i++) {
                    e[i] = 0;
                }
                l2m_resize(&m, nl);
                len = nl;
                break;
            }
            case 2:
                if (rnd(10) == 0) {
                    memset(e, 0, len * sizeof *e);
                    l2m_clear(&m);
                }
                break;
            default: {
                uint64_t v = entry();
                if (rnd(2)) {
                    b = a + 1 <= len ? a + 1 : a;   /* one entry, as l2_put */
                }
                for (uint64_t i = a; i < b; i++) {
                    e[i] = host(v) ? v + (i - a) * STEP : v;
                }
                l2m_set(&m, a, b, v);
                break;
            }
            }
            check(&m, e, len);
        }
        l2m_free(&m);
        free(e);
    }
}

/* A big image stays a handful of runs through what a full backup does to
 * it: every cluster zero-flagged, then a few written. */
static void test_big_image_few_runs(void **state)
{
    const uint64_t len = 1ull << 24;     /* 1 TiB of 64 KiB clusters */
    l2_map m;

    (void)state;
    l2m_init(&m, len, STEP);
    assert_int_equal(m.n, 1);
    assert_true(l2m_flag_zero(&m, 0, len));
    assert_false(l2m_flag_zero(&m, 5, len - 5));
    assert_int_equal(m.n, 1);
    for (uint64_t i = 100; i < 110; i++) {
        l2m_set(&m, i, i + 1, (4 + i - 100) * STEP);  /* host clusters in order */
    }
    assert_int_equal(m.n, 3);
    assert_int_equal(l2m_run_end(&m, 100, len), 110);
    assert_int_equal(l2m_skip(&m, 0, len, true), 100);
    assert_int_equal(l2m_skip(&m, 0, len, false), 0);
    l2m_resize(&m, 105);
    assert_int_equal(m.n, 2);
    assert_int_equal(l2m_get(&m, 104), 8 * STEP);
    l2m_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_ops),
        cmocka_unit_test(test_big_image_few_runs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
