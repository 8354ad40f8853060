// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Benchmark of cl_bitmap on a 1 TiB disk at 64 KiB granularity (16M bits),
 * each figure beside a naive baseline measured in the same run: a plain bit
 * array (one bit per cluster) scanned linearly a word at a time, and, for
 * memory, a one-byte-per-bit array. Prints PASS/FAIL against the targets but
 * always exits 0: a slow machine is not a crash.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster/cluster.h"

#define KiB 1024ULL
#define MiB (1024 * KiB)
#define TiB (1024 * 1024 * MiB)
#define DISK (1 * TiB)
#define GRAN (64 * KiB)
#define NBITS (DISK / GRAN)
#define NWORDS (NBITS / 64)
#define RANDOM_OPS 2000000

static double now_sec(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng = 88172645463325252ULL;

static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* The baseline: a plain bit array with linear word-by-word scans. */
typedef struct plain_bits {
    uint64_t *w;
} plain_bits;

static void plain_set(plain_bits *p, uint64_t bit)
{
    p->w[bit / 64] |= 1ULL << (bit % 64);
}

static void plain_reset(plain_bits *p, uint64_t bit)
{
    p->w[bit / 64] &= ~(1ULL << (bit % 64));
}

static int64_t plain_next(const plain_bits *p, uint64_t bit, bool dirty)
{
    for (uint64_t i = bit / 64; i < NWORDS; i++) {
        uint64_t w = dirty ? p->w[i] : ~p->w[i];

        if (i == bit / 64) {
            w &= ~0ULL << (bit % 64);
        }
        if (w) {
            return (int64_t)((i * 64 + (uint64_t)__builtin_ctzll(w)) * GRAN);
        }
    }
    return -1;
}

static uint64_t plain_count(const plain_bits *p)
{
    uint64_t n = 0;

    for (uint64_t i = 0; i < NWORDS; i++) {
        n += (uint64_t)__builtin_popcountll(p->w[i]);
    }
    return n;
}

/* Keeps the compiler from dropping results. */
static volatile int64_t sink;

static void line(const char *what, double ours, double base, const char *unit, bool higher_better)
{
    double ratio = higher_better ? ours / base : base / ours;

    /* ratio > 1: cl_bitmap is that many times faster than the baseline */
    printf("%-34s %12.3f %-8s baseline %12.3f %-8s  ratio %8.1fx\n", what, ours, unit, base, unit,
           ratio);
}

static void verdict(const char *what, bool pass)
{
    printf("  target %-52s %s\n", what, pass ? "PASS" : "FAIL");
}

/* Average seconds per call of a search, repeated until it takes a while. */
#define TIME_SEARCH(result_sec, expr)                                   \
    do {                                                                \
        long reps_ = 0;                                                 \
        double t0_ = now_sec(), t_;                                     \
        do {                                                            \
            sink = (expr);                                              \
            reps_++;                                                    \
            t_ = now_sec() - t0_;                                       \
        } while (t_ < 0.05 && reps_ < 1000000);                         \
        (result_sec) = t_ / (double)reps_;                              \
    } while (0)

int main(void)
{
    cl_bitmap *bm = cl_bitmap_new(DISK, GRAN, NULL);
    plain_bits plain = { calloc(NWORDS, sizeof(uint64_t)) };
    uint64_t *offsets = malloc(RANDOM_OPS * sizeof(uint64_t));
    double t, ours, base, mem_mib, next_dirty_empty, next_clean_full;

    if (!bm || !plain.w || !offsets) {
        fprintf(stderr, "bench_cluster: out of memory\n");
        return 1;
    }
    for (long i = 0; i < RANDOM_OPS; i++) {
        offsets[i] = rnd() % NBITS;
    }
    printf("cl_bitmap: 1 TiB disk, 64 KiB granularity, %llu bits\n", (unsigned long long)NBITS);

    mem_mib = (double)cl_bitmap_memory(bm) / (double)MiB;
    /* baseline: one byte per bit; ratio > 1: cl_bitmap is that many times smaller */
    printf("%-34s %12.3f %-8s baseline %12.3f %-8s  ratio %8.1fx (plain bit array %.3f MiB)\n",
           "memory", mem_mib, "MiB", (double)NBITS / (double)MiB, "MiB",
           (double)NBITS / (double)MiB / mem_mib, (double)NWORDS * 8 / (double)MiB);
    verdict("memory < 2.5 MiB", mem_mib < 2.5);

    /* next dirty across the whole empty bitmap */
    TIME_SEARCH(ours, cl_bitmap_next_dirty(bm, 0, 0));
    TIME_SEARCH(base, plain_next(&plain, 0, true));
    next_dirty_empty = ours;
    line("next-dirty, empty 1 TiB", ours * 1e6, base * 1e6, "us", false);
    verdict("next-dirty across empty 1 TiB < 1 ms", ours < 1e-3);

    /* random single-cluster sets */
    t = now_sec();
    for (long i = 0; i < RANDOM_OPS; i++) {
        cl_bitmap_set(bm, offsets[i] * GRAN, GRAN, NULL);
    }
    ours = RANDOM_OPS / (now_sec() - t) / 1e6;
    t = now_sec();
    for (long i = 0; i < RANDOM_OPS; i++) {
        plain_set(&plain, offsets[i]);
    }
    base = RANDOM_OPS / (now_sec() - t) / 1e6;
    line("set 64 KiB at random offsets", ours, base, "Mops/s", true);

    /* count: O(1) against a popcount pass */
    TIME_SEARCH(ours, (int64_t)cl_bitmap_count(bm));
    TIME_SEARCH(base, (int64_t)plain_count(&plain));
    if (cl_bitmap_count(bm) != plain_count(&plain)) {
        printf("  count mismatch: %llu vs %llu\n", (unsigned long long)cl_bitmap_count(bm),
               (unsigned long long)plain_count(&plain));
    }
    line("count", ours * 1e6, base * 1e6, "us", false);

    /* random single-cluster resets */
    t = now_sec();
    for (long i = 0; i < RANDOM_OPS; i++) {
        cl_bitmap_reset(bm, offsets[i] * GRAN, GRAN, NULL);
    }
    ours = RANDOM_OPS / (now_sec() - t) / 1e6;
    t = now_sec();
    for (long i = 0; i < RANDOM_OPS; i++) {
        plain_reset(&plain, offsets[i]);
    }
    base = RANDOM_OPS / (now_sec() - t) / 1e6;
    line("reset 64 KiB at random offsets", ours, base, "Mops/s", true);

    /* set of the whole disk in one call, best of a few (less noise) */
    ours = base = 1e9;
    for (int rep = 0; rep < 5; rep++) {
        cl_bitmap_clear(bm);
        memset(plain.w, 0, NWORDS * sizeof(uint64_t));
        t = now_sec();
        cl_bitmap_set(bm, 0, DISK, NULL);
        t = now_sec() - t;
        ours = t < ours ? t : ours;
        t = now_sec();
        for (uint64_t i = 0; i < NWORDS; i++) {
            plain.w[i] = ~0ULL;
        }
        sink = (int64_t)plain.w[rnd() % NWORDS];
        t = now_sec() - t;
        base = t < base ? t : base;
    }
    line("set whole 1 TiB in one call", ours * 1e3, base * 1e3, "ms", false);

    /* searches in a full bitmap */
    TIME_SEARCH(ours, cl_bitmap_next_dirty(bm, 0, 0));
    TIME_SEARCH(base, plain_next(&plain, 0, true));
    line("next-dirty, full 1 TiB", ours * 1e6, base * 1e6, "us", false);
    TIME_SEARCH(ours, cl_bitmap_next_clean(bm, 0, 0));
    TIME_SEARCH(base, plain_next(&plain, 0, false));
    next_clean_full = ours;
    line("next-clean, full 1 TiB", ours * 1e6, base * 1e6, "us", false);
    verdict("next-clean across full 1 TiB < 1 ms", ours < 1e-3);

    printf("summary: memory %.3f MiB, next-dirty empty %.3f us, next-clean full %.3f us: %s\n",
           mem_mib, next_dirty_empty * 1e6, next_clean_full * 1e6,
           mem_mib < 2.5 && next_dirty_empty < 1e-3 && next_clean_full < 1e-3 ? "PASS" : "FAIL");

    cl_bitmap_free(bm);
    free(plain.w);
    free(offsets);
    return 0;
}
