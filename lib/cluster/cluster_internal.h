/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Helpers shared by the cluster engine's source files; not part of the API. */
#ifndef BLOCKSIM_CLUSTER_INTERNAL_H
#define BLOCKSIM_CLUSTER_INTERNAL_H

#include "cluster/cluster.h"

#if defined(__GNUC__)
#define CL_PRINTF(fmt_idx, arg_idx) __attribute__((format(printf, fmt_idx, arg_idx)))
#else
#define CL_PRINTF(fmt_idx, arg_idx)
#endif

/* Fill *err (if any) and return code, so callers can `return cl_fail(...)`. */
int cl_fail(cl_error *err, int code, const char *fmt, ...) CL_PRINTF(3, 4);

static inline bool cl_is_pow2(uint64_t v)
{
    return v != 0 && (v & (v - 1)) == 0;
}

static inline uint64_t cl_align_down(uint64_t v, uint64_t align)
{
    return v & ~(align - 1);
}

/* align must be a power of two; the caller guarantees no overflow. */
static inline uint64_t cl_align_up(uint64_t v, uint64_t align)
{
    return (v + align - 1) & ~(align - 1);
}

static inline uint64_t cl_min(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

static inline uint64_t cl_max(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

/* Largest size we accept: offsets must fit the int64_t results, and the
 * size rounded up to any granularity up to 2^62 must not overflow. */
#define CL_MAX_SIZE ((uint64_t)1 << 62)

#endif /* BLOCKSIM_CLUSTER_INTERNAL_H */
