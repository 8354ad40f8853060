/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A qcow2 image's L2 mapping, one entry per guest cluster, kept as runs: a
 * run is a stretch of entries that are all unallocated (0), all bare zero
 * clusters (the zero flag alone), or host clusters that follow each other
 * (v, v + step, v + 2 * step, ..., with or without the zero flag). An image
 * is mostly a few such stretches, so lookups, scans and range updates cost
 * O(log runs) or O(runs touched), never O(clusters): an 8 GiB image costs
 * what a 64 MiB one does when the same things happen to it.
 */
#ifndef BLOCKSIM_SIM_L2_MAP_H
#define BLOCKSIM_SIM_L2_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define L2M_ZERO 1ull   /* the entry flag that makes a cluster read as zeroes */

typedef struct l2_run {
    uint64_t start;     /* first entry of the run; the run ends where the next starts */
    uint64_t v;         /* the entry at start */
} l2_run;

typedef struct l2_map {
    l2_run *r;          /* sorted by start, r[0].start == 0, runs maximal */
    size_t n, cap;
    uint64_t len;       /* entries */
    uint64_t step;      /* host distance of neighbouring clusters (the cluster size, even) */
} l2_map;

void l2m_init(l2_map *m, uint64_t len, uint64_t step);
void l2m_free(l2_map *m);
/* every entry unallocated */
void l2m_clear(l2_map *m);
/* len entries: the kept ones stay, new ones are unallocated */
void l2m_resize(l2_map *m, uint64_t len);
uint64_t l2m_get(const l2_map *m, uint64_t i);
/* Entries [a, b) become v, v + step, ... when v has a host offset (bits
 * above the zero flag), else v each. */
void l2m_set(l2_map *m, uint64_t a, uint64_t b, uint64_t v);
/* The first entry from i (below lim) that does not continue entry i's run
 * (same kind, and for host clusters the next host cluster), or lim. */
uint64_t l2m_run_end(const l2_map *m, uint64_t i, uint64_t lim);
/* The first entry from i (below lim) that is not unallocated (zero_flag
 * false) or that lacks the zero flag (zero_flag true), or lim. */
uint64_t l2m_skip(const l2_map *m, uint64_t i, uint64_t lim, bool zero_flag);
/* Set the zero flag on entries [a, b); true if some entry lacked it. */
bool l2m_flag_zero(l2_map *m, uint64_t a, uint64_t b);

#endif /* BLOCKSIM_SIM_L2_MAP_H */
