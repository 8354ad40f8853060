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
#define ROUNDS 5

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

/* The same operations with cl_bitmap_set/reset's shape: a call that is not
 * inlined into the loop, taking a byte range, checking it against the disk
 * size and touching every bit it covers. This is the baseline of the
 * random-offset targets: a plain bit array behind the same kind of call. */
static __attribute__((noinline)) int plain_set_range(plain_bits *p, uint64_t off, uint64_t len)
{
    if (off > DISK || len > DISK - off) {
        return -1;
    }
    for (uint64_t b = off / GRAN; len && b <= (off + len - 1) / GRAN; b++) {
        p->w[b / 64] |= 1ULL << (b % 64);
    }
    return 0;
}

static __attribute__((noinline)) int plain_reset_range(plain_bits *p, uint64_t off, uint64_t len)
{
    if (off > DISK || len > DISK - off) {
        return -1;
    }
    for (uint64_t b = off / GRAN; len && b <= (off + len - 1) / GRAN; b++) {
        p->w[b / 64] &= ~(1ULL << (b % 64));
    }
    return 0;
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
    double t, ours, base, mem_mib, next_dirty_empty, next_clean_full, next_dirty_after;

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
    verdict("next-dirty across empty 1 TiB < 1 us", ours < 1e-6);

    /* Random single-cluster sets, then resets at the same offsets. Each
     * figure is the best of ROUNDS rounds (the machine may be shared), the
     * rounds of cl_bitmap and of the baselines interleaved. */
    double set_ours = 0, set_call = 0, set_inline = 0, rst_ours = 0, rst_call = 0, rst_inline = 0;
    for (int round = 0; round < ROUNDS; round++) {
        double r;

        cl_bitmap_clear(bm);
        memset(plain.w, 0, NWORDS * sizeof(uint64_t));
        t = now_sec();
        for (long i = 0; i < RANDOM_OPS; i++) {
            cl_bitmap_set(bm, offsets[i] * GRAN, GRAN, NULL);
        }
        r = RANDOM_OPS / (now_sec() - t) / 1e6;
        set_ours = r > set_ours ? r : set_ours;
        t = now_sec();
        for (long i = 0; i < RANDOM_OPS; i++) {
            plain_set_range(&plain, offsets[i] * GRAN, GRAN);
        }
        r = RANDOM_OPS / (now_sec() - t) / 1e6;
        set_call = r > set_call ? r : set_call;
        memset(plain.w, 0, NWORDS * sizeof(uint64_t));
        t = now_sec();
        for (long i = 0; i < RANDOM_OPS; i++) {
            plain_set(&plain, offsets[i]);
        }
        r = RANDOM_OPS / (now_sec() - t) / 1e6;
        set_inline = r > set_inline ? r : set_inline;
        if (cl_bitmap_count(bm) != plain_count(&plain)) {
            printf("  count mismatch: %llu vs %llu\n", (unsigned long long)cl_bitmap_count(bm),
                   (unsigned long long)plain_count(&plain));
        }
        if (round == 0) {
            /* count: O(1) against a popcount pass */
            TIME_SEARCH(ours, (int64_t)cl_bitmap_count(bm));
            TIME_SEARCH(base, (int64_t)plain_count(&plain));
            line("count", ours * 1e6, base * 1e6, "us", false);
        }

        t = now_sec();
        for (long i = 0; i < RANDOM_OPS; i++) {
            cl_bitmap_reset(bm, offsets[i] * GRAN, GRAN, NULL);
        }
        r = RANDOM_OPS / (now_sec() - t) / 1e6;
        rst_ours = r > rst_ours ? r : rst_ours;
        t = now_sec();
        for (long i = 0; i < RANDOM_OPS; i++) {
            plain_reset_range(&plain, offsets[i] * GRAN, GRAN);
        }
        r = RANDOM_OPS / (now_sec() - t) / 1e6;
        rst_call = r > rst_call ? r : rst_call;
        for (long i = 0; i < RANDOM_OPS; i++) {
            plain_set(&plain, offsets[i]);
        }
        t = now_sec();
        for (long i = 0; i < RANDOM_OPS; i++) {
            plain_reset(&plain, offsets[i]);
        }
        r = RANDOM_OPS / (now_sec() - t) / 1e6;
        rst_inline = r > rst_inline ? r : rst_inline;
        if (cl_bitmap_count(bm) != 0 || cl_bitmap_next_dirty(bm, 0, 0) != -1) {
            printf("  the bitmap is not empty after resetting every bit set\n");
        }
    }
    line("set 64 KiB at random offsets", set_ours, set_call, "Mops/s", true);
    printf("  (against the plain array inlined into the loop: %.1f Mops/s, ratio %.2fx)\n",
           set_inline, set_ours / set_inline);
    verdict("set >= 0.5x a plain bit array (same call shape)", set_ours >= 0.5 * set_call);
    line("reset 64 KiB at random offsets", rst_ours, rst_call, "Mops/s", true);
    printf("  (against the plain array inlined into the loop: %.1f Mops/s, ratio %.2fx)\n",
           rst_inline, rst_ours / rst_inline);
    verdict("reset >= 0.5x a plain bit array (same call shape)", rst_ours >= 0.5 * rst_call);

    /* next dirty across the empty bitmap again, after all the edits */
    TIME_SEARCH(ours, cl_bitmap_next_dirty(bm, 0, 0));
    next_dirty_after = ours;
    line("next-dirty, empty 1 TiB after edits", ours * 1e6, next_dirty_empty * 1e6, "us", false);
    verdict("next-dirty across empty 1 TiB < 1 us (after edits)", ours < 1e-6);

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

    printf("summary: memory %.3f MiB, next-dirty empty %.3f us (%.3f us after edits), next-clean "
           "full %.3f us, set %.2fx and reset %.2fx a plain bit array: %s\n",
           mem_mib, next_dirty_empty * 1e6, next_dirty_after * 1e6, next_clean_full * 1e6,
           set_ours / set_call, rst_ours / rst_call,
           mem_mib < 2.5 && next_dirty_empty < 1e-6 && next_dirty_after < 1e-6 &&
           next_clean_full < 1e-3 && set_ours >= 0.5 * set_call && rst_ours >= 0.5 * rst_call
               ? "PASS" : "FAIL");

    cl_bitmap_free(bm);
    free(plain.w);
    free(offsets);
    return 0;
}
