/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Scans of a qcow2 image's L2 array (one entry per guest cluster) over long
 * uniform stretches: unallocated clusters, zero clusters. A large image is
 * mostly such stretches, and block status, qemu-img compare and zero writes
 * walk them whole, so they go a block of entries at a time (memcmp and
 * memcpy against a block of the uniform value), then entry by entry.
 */
#include "sim_int.h"

#include <string.h>

#define BLK 64

static const uint64_t unalloc_blk[BLK];
/* a zero cluster with no host cluster behind it: the flag alone */
static const uint64_t zero_blk[BLK] = { [0 ... BLK - 1] = Q2_ZERO };

uint64_t l2_skip_unalloc(const uint64_t *l2, uint64_t i, uint64_t lim)
{
    while (i + BLK <= lim && !memcmp(l2 + i, unalloc_blk, sizeof(unalloc_blk))) {
        i += BLK;
    }
    while (i + 8 <= lim && !(l2[i] | l2[i + 1] | l2[i + 2] | l2[i + 3] | l2[i + 4] |
                             l2[i + 5] | l2[i + 6] | l2[i + 7])) {
        i += 8;
    }
    while (i < lim && !l2[i]) {
        i++;
    }
    return i;
}

uint64_t l2_skip_zero(const uint64_t *l2, uint64_t i, uint64_t lim)
{
    while (i + BLK <= lim && !memcmp(l2 + i, zero_blk, sizeof(zero_blk))) {
        i += BLK;
    }
    while (i + 8 <= lim && (l2[i] & l2[i + 1] & l2[i + 2] & l2[i + 3] & l2[i + 4] &
                            l2[i + 5] & l2[i + 6] & l2[i + 7] & Q2_ZERO)) {
        i += 8;
    }
    while (i < lim && (l2[i] & Q2_ZERO)) {
        i++;
    }
    return i;
}

bool l2_flag_zero(uint64_t *l2, uint64_t i, uint64_t end)
{
    bool fresh = false;

    while (i < end) {
        if (i + BLK <= end) {
            if (!memcmp(l2 + i, unalloc_blk, sizeof(unalloc_blk))) {
                memcpy(l2 + i, zero_blk, sizeof(zero_blk));
                fresh = true;
                i += BLK;
                continue;
            }
            if (!memcmp(l2 + i, zero_blk, sizeof(zero_blk))) {
                i += BLK;
                continue;
            }
        }
        for (uint64_t stop = i + BLK < end ? i + BLK : end; i < stop; i++) {
            fresh |= !(l2[i] & Q2_ZERO);
            l2[i] |= Q2_ZERO;
        }
    }
    return fresh;
}
