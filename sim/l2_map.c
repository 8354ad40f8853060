/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The run-length qcow2 L2 mapping (sim/l2_map.h): a sorted array of maximal
 * runs. Updates split the runs at the ends of the range, replace the ones
 * inside by one and merge it with its neighbours where it continues them, so
 * the same contents always have the same runs.
 */
#include "sim/l2_map.h"

#include <stdlib.h>
#include <string.h>

static bool has_host(uint64_t v)
{
    return (v & ~L2M_ZERO) != 0;
}

/* The entry at i of the run r (i at or after its start). */
static uint64_t run_at(const l2_map *m, const l2_run *r, uint64_t i)
{
    return has_host(r->v) ? r->v + (i - r->start) * m->step : r->v;
}

/* The index of the run holding entry i (i < len). */
static size_t find(const l2_map *m, uint64_t i)
{
    size_t lo = 0, hi = m->n;   /* r[lo].start <= i < r[hi].start */

    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->r[mid].start <= i) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    return lo;
}

static uint64_t run_stop(const l2_map *m, size_t k)
{
    return k + 1 < m->n ? m->r[k + 1].start : m->len;
}

static void insert(l2_map *m, size_t k, uint64_t start, uint64_t v)
{
    if (m->n == m->cap) {
        size_t cap = m->cap ? 2 * m->cap : 8;
        l2_run *r = realloc(m->r, cap * sizeof *r);
        if (!r) {
            abort();    /* as every allocation of the image's metadata does */
        }
        m->r = r;
        m->cap = cap;
    }
    memmove(m->r + k + 1, m->r + k, (m->n - k) * sizeof *m->r);
    m->r[k] = (l2_run){ start, v };
    m->n++;
}

static void remove_runs(l2_map *m, size_t k, size_t count)
{
    memmove(m->r + k, m->r + k + count, (m->n - k - count) * sizeof *m->r);
    m->n -= count;
}

/* Make a run start at entry i (< len); its index. */
static size_t split(l2_map *m, uint64_t i)
{
    size_t k = find(m, i);

    if (m->r[k].start == i) {
        return k;
    }
    insert(m, k + 1, i, run_at(m, &m->r[k], i));
    return k + 1;
}

/* Merge run k + 1 into run k where it continues it. */
static void merge_next(l2_map *m, size_t k)
{
    if (k + 1 < m->n && run_at(m, &m->r[k], m->r[k + 1].start) == m->r[k + 1].v) {
        remove_runs(m, k + 1, 1);
    }
}

void l2m_init(l2_map *m, uint64_t len, uint64_t step)
{
    memset(m, 0, sizeof *m);
    m->step = step;
    l2m_resize(m, len);
}

void l2m_free(l2_map *m)
{
    free(m->r);
    memset(m, 0, sizeof *m);
}

void l2m_clear(l2_map *m)
{
    m->n = 0;
    if (m->len) {
        insert(m, 0, 0, 0);
    }
}

void l2m_resize(l2_map *m, uint64_t len)
{
    if (len < m->len) {
        m->n = len ? find(m, len - 1) + 1 : 0;
    } else if (len > m->len) {
        if (!m->n || m->r[m->n - 1].v != 0) {
            insert(m, m->n, m->len, 0);
        }
    }
    m->len = len;
}

uint64_t l2m_get(const l2_map *m, uint64_t i)
{
    return run_at(m, &m->r[find(m, i)], i);
}

void l2m_set(l2_map *m, uint64_t a, uint64_t b, uint64_t v)
{
    if (a >= b) {
        return;
    }
    size_t ka = split(m, a);
    size_t kb = b < m->len ? split(m, b) : m->n;

    m->r[ka].v = v;
    remove_runs(m, ka + 1, kb - ka - 1);
    merge_next(m, ka);
    if (ka > 0) {
        merge_next(m, ka - 1);
    }
}

uint64_t l2m_run_end(const l2_map *m, uint64_t i, uint64_t lim)
{
    if (i >= lim) {
        return lim;
    }
    uint64_t stop = run_stop(m, find(m, i));
    return stop < lim ? stop : lim;
}

uint64_t l2m_skip(const l2_map *m, uint64_t i, uint64_t lim, bool zero_flag)
{
    if (i >= lim) {
        return lim;
    }
    for (size_t k = find(m, i); k < m->n && m->r[k].start < lim; k++) {
        uint64_t v = m->r[k].v;
        if (zero_flag ? !(v & L2M_ZERO) : v != 0) {
            return m->r[k].start > i ? m->r[k].start : i;
        }
    }
    return lim;
}

bool l2m_flag_zero(l2_map *m, uint64_t a, uint64_t b)
{
    bool fresh = false;

    while (a < b) {
        size_t k = find(m, a);
        uint64_t stop = run_stop(m, k), v = run_at(m, &m->r[k], a);

        if (stop > b) {
            stop = b;
        }
        if (!(v & L2M_ZERO)) {
            l2m_set(m, a, stop, v | L2M_ZERO);
            fresh = true;
        }
        a = stop;
    }
    return fresh;
}
