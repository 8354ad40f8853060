/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * In-memory source and target for the cl_io callbacks, with a per-sector
 * allocation/zero map, forced block-status run breaks, injected read and
 * write errors, and a log of every call. Header-only so each test binary
 * stays a single source file.
 */
#ifndef BLOCKSIM_CLUSTER_FAKE_IO_H
#define BLOCKSIM_CLUSTER_FAKE_IO_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/cluster.h"

#define FAKE_SECTOR 512
#define FAKE_LOG_MAX 8192

typedef struct fake_op {
    char op;            /* 'R' read, 'W' write, 'Z' write_zeroes, 'S' block_status */
    uint64_t off;
    uint64_t len;
    bool top_only;
    int ret;
} fake_op;

typedef struct fake_fault {
    uint64_t off, len;  /* fails any request overlapping [off, off+len) */
    int err;            /* negative errno; 0 = no fault */
    int times;          /* how many more requests fail; -1 = forever */
} fake_fault;

typedef struct fake_disk {
    uint64_t size;
    uint8_t *src;       /* the guest-visible source */
    uint8_t *dst;       /* the target */
    uint8_t *top;       /* per sector: allocated in the top layer */
    uint8_t *zero;      /* per sector: reads as zeroes (whole chain view) */
    uint8_t *brk;       /* per sector: a block-status run must start here */
    int status_err;     /* when negative, block_status fails with it */
    fake_fault read_fault, write_fault;
    fake_op log[FAKE_LOG_MAX];
    int nlog;
} fake_disk;

static inline void fake_log(fake_disk *d, char op, uint64_t off, uint64_t len, bool top_only,
                            int ret)
{
    if (d->nlog < FAKE_LOG_MAX) {
        d->log[d->nlog++] = (fake_op){ op, off, len, top_only, ret };
    }
}

static inline int fake_check_fault(fake_fault *f, uint64_t off, uint64_t len)
{
    if (f->err && f->times != 0 && off < f->off + f->len && f->off < off + len) {
        if (f->times > 0) {
            f->times--;
        }
        return f->err;
    }
    return 0;
}

static inline int fake_read(void *opaque, uint64_t off, uint64_t len, void *buf)
{
    fake_disk *d = opaque;
    int ret = off + len > d->size ? -EINVAL : fake_check_fault(&d->read_fault, off, len);

    fake_log(d, 'R', off, len, false, ret);
    if (ret == 0) {
        memcpy(buf, d->src + off, len);
    }
    return ret;
}

static inline int fake_write(void *opaque, uint64_t off, uint64_t len, const void *buf)
{
    fake_disk *d = opaque;
    int ret = off + len > d->size ? -EINVAL : fake_check_fault(&d->write_fault, off, len);

    fake_log(d, 'W', off, len, false, ret);
    if (ret == 0) {
        memcpy(d->dst + off, buf, len);
    }
    return ret;
}

static inline int fake_write_zeroes(void *opaque, uint64_t off, uint64_t len)
{
    fake_disk *d = opaque;
    int ret = off + len > d->size ? -EINVAL : fake_check_fault(&d->write_fault, off, len);

    fake_log(d, 'Z', off, len, false, ret);
    if (ret == 0) {
        memset(d->dst + off, 0, len);
    }
    return ret;
}

static inline int fake_flags(const fake_disk *d, uint64_t sector, bool top_only)
{
    int zero = d->zero[sector] ? CL_STATUS_ZERO : CL_STATUS_DATA;

    if (top_only) {
        return d->top[sector] ? CL_STATUS_ALLOCATED | zero : 0;
    }
    return CL_STATUS_ALLOCATED | zero;
}

static inline int fake_block_status(void *opaque, uint64_t off, uint64_t len, bool top_only,
                                    uint64_t *pnum)
{
    fake_disk *d = opaque;
    uint64_t s = off / FAKE_SECTOR, end = off + len, e;
    int flags;

    if (d->status_err < 0 || len == 0 || off + len > d->size) {
        int ret = d->status_err < 0 ? d->status_err : -EINVAL;

        fake_log(d, 'S', off, len, top_only, ret);
        return ret;
    }
    flags = fake_flags(d, s, top_only);
    e = (s + 1) * FAKE_SECTOR;
    while (e < end && !d->brk[e / FAKE_SECTOR] && fake_flags(d, e / FAKE_SECTOR, top_only) == flags) {
        e += FAKE_SECTOR;
    }
    *pnum = (e < end ? e : end) - off;
    fake_log(d, 'S', off, len, top_only, flags);
    return flags;
}

/* size must be a multiple of the sector size. Source bytes are a pattern
 * that differs per sector, the target starts as zeroes. */
static inline fake_disk *fake_new(uint64_t size)
{
    fake_disk *d = calloc(1, sizeof(*d));
    uint64_t sectors = size / FAKE_SECTOR;

    d->size = size;
    d->src = malloc(size);
    d->dst = calloc(1, size);
    d->top = calloc(sectors, 1);
    d->zero = calloc(sectors, 1);
    d->brk = calloc(sectors + 1, 1);
    for (uint64_t i = 0; i < size; i++) {
        d->src[i] = (uint8_t)((i / FAKE_SECTOR) * 7 + 1 + i % 3);
    }
    return d;
}

static inline void fake_free(fake_disk *d)
{
    free(d->src);
    free(d->dst);
    free(d->top);
    free(d->zero);
    free(d->brk);
    free(d);
}

/* Mark [off, off+len) in a per-sector map. */
static inline void fake_mark(uint8_t *map, uint64_t off, uint64_t len, uint8_t val)
{
    for (uint64_t s = off / FAKE_SECTOR; s < (off + len) / FAKE_SECTOR; s++) {
        map[s] = val;
    }
}

/* Zero sectors must read as zeroes from the source too. */
static inline void fake_make_zero(fake_disk *d, uint64_t off, uint64_t len)
{
    fake_mark(d->zero, off, len, 1);
    memset(d->src + off, 0, len);
}

static inline cl_io fake_io(fake_disk *d, bool with_status, bool with_zeroes)
{
    cl_io io = {
        .opaque = d,
        .read = fake_read,
        .write = fake_write,
        .write_zeroes = with_zeroes ? fake_write_zeroes : NULL,
        .block_status = with_status ? fake_block_status : NULL,
    };
    return io;
}

/* How many logged calls of kind op. */
static inline int fake_count(const fake_disk *d, char op)
{
    int n = 0;

    for (int i = 0; i < d->nlog; i++) {
        n += d->log[i].op == op;
    }
    return n;
}

/* The i-th logged call of kind op, or NULL. */
static inline const fake_op *fake_nth(const fake_disk *d, char op, int nth)
{
    for (int i = 0; i < d->nlog; i++) {
        if (d->log[i].op == op && nth-- == 0) {
            return &d->log[i];
        }
    }
    return NULL;
}

#endif /* BLOCKSIM_CLUSTER_FAKE_IO_H */
