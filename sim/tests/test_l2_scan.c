/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The qcow2 L2 scans (sim/l2_scan.c) against plain loops over the entries:
 * seeded random edits through l2_put() and l2_flag_zero(), then every scan
 * compared with the naive answer and the block counts with a recount.
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

static uint64_t rng;

static uint64_t rnd(uint64_t n)
{
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (rng >> 33) % n;
}

static uint64_t naive_skip(const sim_qcow2 *q, uint64_t i, uint64_t lim, bool zero)
{
    while (i < lim && (zero ? (q->l2[i] & Q2_ZERO) != 0 : q->l2[i] == 0)) {
        i++;
    }
    return i;
}

/* The counts kept on the way equal a count from scratch. */
static void check_counts(sim_qcow2 *q)
{
    uint64_t nblk = q->nclusters / L2_BLK + 1;
    uint8_t *u = malloc(nblk), *z = malloc(nblk);

    memcpy(u, q->l2_n_unalloc, nblk);
    memcpy(z, q->l2_n_zero, nblk);
    l2_recount(q);
    assert_memory_equal(u, q->l2_n_unalloc, nblk);
    assert_memory_equal(z, q->l2_n_zero, nblk);
    free(u);
    free(z);
}

/* A stretch of one kind: mostly what scans meet in big images. */
static uint64_t entry(void)
{
    switch (rnd(4)) {
    case 0:
        return 0;
    case 1:
        return Q2_ZERO;
    case 2:
        return (1 + rnd(1000)) << 16;               /* data */
    default:
        return ((1 + rnd(1000)) << 16) | Q2_ZERO;   /* zero with a host cluster */
    }
}

static void test_random_scans(void **state)
{
    const char *seed = getenv("SIM_TEST_SEED");

    rng = seed ? strtoull(seed, NULL, 0) : 15;
    for (int round = 0; round < 40; round++) {
        uint64_t ncl = 1 + rnd(3000);
        sim_qcow2 *q = q2_new(ncl * 65536 - rnd(2) * 512, 65536);

        assert_int_equal(q->nclusters, ncl);
        check_counts(q);
        for (int op = 0; op < 200; op++) {
            uint64_t a = rnd(ncl), b = a + rnd(ncl - a + 1);

            if (rnd(3) == 0) {
                uint64_t *before = malloc(ncl * sizeof(uint64_t));
                bool fresh = false;

                memcpy(before, q->l2, ncl * sizeof(uint64_t));
                for (uint64_t i = a; i < b; i++) {
                    fresh |= !(before[i] & Q2_ZERO);
                    before[i] |= Q2_ZERO;
                }
                assert_int_equal(l2_flag_zero(q, a, b), fresh);
                assert_memory_equal(before, q->l2, ncl * sizeof(uint64_t));
                free(before);
            } else {
                uint64_t v = entry();
                for (uint64_t i = a; i < b && i < a + 300; i++) {
                    l2_put(q, i, v);
                }
            }
            for (int k = 0; k < 4; k++) {
                uint64_t i = rnd(ncl + 1), lim = i + rnd(ncl - i + 1);
                assert_int_equal(l2_skip_unalloc(q, i, lim), naive_skip(q, i, lim, false));
                assert_int_equal(l2_skip_zero(q, i, lim), naive_skip(q, i, lim, true));
            }
        }
        check_counts(q);
        /* growing or shrinking the array recounts */
        q2_set_clusters(q, 1 + rnd(4000));
        check_counts(q);
        q2_free(q);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_scans),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
