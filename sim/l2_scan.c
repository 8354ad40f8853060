/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Scans of a qcow2 image's L2 array (one entry per guest cluster) over long
 * uniform stretches: unallocated clusters, zero clusters. A large image is
 * mostly such stretches, and block status, qemu-img compare and zero writes
 * walk them whole, so each block of L2_BLK entries keeps a count of its
 * unallocated entries and of its bare zero entries (Q2_ZERO, no host
 * cluster): a scan steps over a uniform block at once, entry by entry only
 * through mixed ones.
 */
#include "sim/fs.h"

#include <stdlib.h>
#include <string.h>

/* a zero cluster with no host cluster behind it: the flag alone */
static const uint64_t zero_blk[L2_BLK] = { [0 ... L2_BLK - 1] = Q2_ZERO };

static void counts_alloc(sim_qcow2 *q)
{
    uint64_t nblk = q->nclusters / L2_BLK + 1;

    free(q->l2_n_unalloc);
    free(q->l2_n_zero);
    q->l2_n_unalloc = calloc(nblk, 1);
    q->l2_n_zero = calloc(nblk, 1);
    if (!q->l2_n_unalloc || !q->l2_n_zero) {
        abort();    /* as the L2 array's own allocation does */
    }
}

void l2_count_fresh(sim_qcow2 *q)
{
    counts_alloc(q);
    memset(q->l2_n_unalloc, L2_BLK, q->nclusters / L2_BLK);
    q->l2_n_unalloc[q->nclusters / L2_BLK] = (uint8_t)(q->nclusters % L2_BLK);
}

void l2_clear(sim_qcow2 *q)
{
    for (uint64_t first = 0; first < q->nclusters; first += L2_BLK) {
        uint64_t n = q->nclusters - first < L2_BLK ? q->nclusters - first : L2_BLK;

        if (q->l2_n_unalloc[first / L2_BLK] != n) {
            memset(q->l2 + first, 0, n * sizeof(uint64_t));
        }
    }
    memset(q->l2_n_unalloc, L2_BLK, q->nclusters / L2_BLK);
    q->l2_n_unalloc[q->nclusters / L2_BLK] = (uint8_t)(q->nclusters % L2_BLK);
    memset(q->l2_n_zero, 0, q->nclusters / L2_BLK + 1);
}

void l2_recount(sim_qcow2 *q)
{
    counts_alloc(q);
    for (uint64_t i = 0; i < q->nclusters; i++) {
        q->l2_n_unalloc[i / L2_BLK] += q->l2[i] == 0;
        q->l2_n_zero[i / L2_BLK] += q->l2[i] == Q2_ZERO;
    }
}

uint64_t l2_skip_unalloc(const sim_qcow2 *q, uint64_t i, uint64_t lim)
{
    const uint64_t *l2 = q->l2;

    while (i < lim) {
        uint64_t stop = (i / L2_BLK + 1) * L2_BLK;

        if (!(i % L2_BLK) && stop <= lim && q->l2_n_unalloc[i / L2_BLK] == L2_BLK) {
            i = stop;
            continue;
        }
        if (stop > lim) {
            stop = lim;
        }
        while (i < stop && !l2[i]) {
            i++;
        }
        if (i < stop) {
            break;
        }
    }
    return i;
}

uint64_t l2_skip_zero(const sim_qcow2 *q, uint64_t i, uint64_t lim)
{
    const uint64_t *l2 = q->l2;

    while (i < lim) {
        uint64_t stop = (i / L2_BLK + 1) * L2_BLK;

        if (!(i % L2_BLK) && stop <= lim && q->l2_n_zero[i / L2_BLK] == L2_BLK) {
            i = stop;
            continue;
        }
        if (stop > lim) {
            stop = lim;
        }
        while (i < stop && (l2[i] & Q2_ZERO)) {
            i++;
        }
        if (i < stop) {
            break;
        }
    }
    return i;
}

bool l2_flag_zero(sim_qcow2 *q, uint64_t i, uint64_t end)
{
    bool fresh = false;

    while (i < end) {
        uint64_t b = i / L2_BLK, stop = (b + 1) * L2_BLK;

        if (!(i % L2_BLK) && stop <= end) {
            if (q->l2_n_zero[b] == L2_BLK) {
                i = stop;
                continue;
            }
            if (q->l2_n_unalloc[b] == L2_BLK) {
                memcpy(q->l2 + i, zero_blk, sizeof(zero_blk));
                q->l2_n_unalloc[b] = 0;
                q->l2_n_zero[b] = L2_BLK;
                fresh = true;
                i = stop;
                continue;
            }
        }
        if (stop > end) {
            stop = end;
        }
        for (; i < stop; i++) {
            if (!(q->l2[i] & Q2_ZERO)) {
                fresh = true;
                l2_put(q, i, q->l2[i] | Q2_ZERO);
            }
        }
    }
    return fresh;
}
