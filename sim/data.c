/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Data as spans (zeroes, a pattern byte, slices of shared blobs): sim/data.h. */
#include <stdlib.h>
#include <string.h>

#include "sim/data.h"

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        abort();
    }
    return q;
}

sim_blob *blob_new(const void *bytes, uint64_t len)
{
    sim_blob *b = xrealloc(NULL, sizeof *b + (size_t)len);
    b->refs = 1;
    b->len = len;
    memcpy(b->bytes, bytes, (size_t)len);
    return b;
}

void blob_unref(sim_blob *b)
{
    if (b && --b->refs == 0) {
        free(b);
    }
}

void data_init(sim_data *d)
{
    memset(d, 0, sizeof *d);
}

void data_free(sim_data *d)
{
    for (size_t i = 0; i < d->n; i++) {
        if (d->v[i].kind == SPAN_DATA) {
            blob_unref(d->v[i].blob);
        }
    }
    free(d->v);
    data_init(d);
}

/* Appends s (whose blob reference, if any, the caller gives up or has taken). */
static void push(sim_data *d, sim_span s)
{
    if (!s.len) {
        if (s.kind == SPAN_DATA) {
            blob_unref(s.blob);
        }
        return;
    }
    d->len += s.len;
    if (d->n) {
        sim_span *last = &d->v[d->n - 1];
        if (last->kind == s.kind &&
            ((s.kind == SPAN_ZERO) || (s.kind == SPAN_BYTE && last->byte == s.byte) ||
             (s.kind == SPAN_DATA && last->blob == s.blob && last->boff + last->len == s.boff))) {
            last->len += s.len;
            if (s.kind == SPAN_DATA) {
                blob_unref(s.blob);
            }
            return;
        }
    }
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 4;
        d->v = xrealloc(d->v, d->cap * sizeof *d->v);
    }
    d->v[d->n++] = s;
}

void data_add_zero(sim_data *d, uint64_t len)
{
    push(d, (sim_span){ .len = len, .kind = SPAN_ZERO });
}

void data_add_byte(sim_data *d, uint64_t len, uint8_t byte)
{
    push(d, (sim_span){ .len = len, .kind = byte ? SPAN_BYTE : SPAN_ZERO, .byte = byte });
}

void data_add_slice(sim_data *d, sim_blob *b, uint64_t boff, uint64_t len)
{
    b->refs++;
    push(d, (sim_span){ .len = len, .kind = SPAN_DATA, .blob = b, .boff = boff });
}

void data_add_span(sim_data *d, const sim_span *s, uint64_t skip, uint64_t len)
{
    if (s->kind == SPAN_DATA) {
        data_add_slice(d, s->blob, s->boff + skip, len);
    } else {
        data_add_byte(d, len, s->byte);
    }
}

void data_add_range(sim_data *dst, const sim_data *src, uint64_t off, uint64_t len)
{
    uint64_t pos = 0;
    for (size_t i = 0; i < src->n && len; i++) {
        const sim_span *s = &src->v[i];
        if (pos + s->len <= off) {
            pos += s->len;
            continue;
        }
        uint64_t skip = off > pos ? off - pos : 0;
        uint64_t n = s->len - skip < len ? s->len - skip : len;
        data_add_span(dst, s, skip, n);
        len -= n;
        off += n;
        pos += s->len;
    }
    if (len) {
        abort();            /* the caller asked past src's end */
    }
}

void data_add_buf(sim_data *d, const void *buf, uint64_t len)
{
    const uint8_t *p = buf;
    if (!len) {
        return;
    }
    if (!memcmp(p, p + 1, (size_t)len - 1)) {
        data_add_byte(d, len, p[0]);
        return;
    }
    push(d, (sim_span){ .len = len, .kind = SPAN_DATA, .blob = blob_new(buf, len) });
}

void data_to_buf(const sim_data *d, void *buf)
{
    uint8_t *out = buf;
    for (size_t i = 0; i < d->n; i++) {
        const sim_span *s = &d->v[i];
        if (s->kind == SPAN_DATA) {
            memcpy(out, s->blob->bytes + s->boff, (size_t)s->len);
        } else {
            memset(out, s->byte, (size_t)s->len);
        }
        out += s->len;
    }
}

/* First byte of p[0..n) that is not b, or n. */
static uint64_t first_not(const uint8_t *p, uint64_t n, uint8_t b)
{
    uint64_t i = 0;
    while (i < n && p[i] == b) {
        i++;
    }
    return i;
}

bool data_all_byte(const sim_data *d, uint8_t byte, uint64_t *where)
{
    uint64_t pos = 0;
    for (size_t i = 0; i < d->n; i++) {
        const sim_span *s = &d->v[i];
        uint64_t k = 0;
        if (s->kind == SPAN_DATA) {
            k = first_not(s->blob->bytes + s->boff, s->len, byte);
        } else if (s->byte == byte) {
            k = s->len;
        }
        if (k < s->len) {
            if (where) {
                *where = pos + k;
            }
            return false;
        }
        pos += s->len;
    }
    return true;
}

bool data_equal(const sim_data *a, const sim_data *b)
{
    size_t i = 0, j = 0;
    uint64_t ia = 0, jb = 0;        /* bytes used of a->v[i], b->v[j] */
    if (a->len != b->len) {
        return false;
    }
    while (i < a->n && j < b->n) {
        const sim_span *x = &a->v[i], *y = &b->v[j];
        uint64_t n = x->len - ia < y->len - jb ? x->len - ia : y->len - jb;
        bool same;
        if (x->kind != SPAN_DATA && y->kind != SPAN_DATA) {
            same = x->byte == y->byte;
        } else if (x->kind != SPAN_DATA) {
            same = first_not(y->blob->bytes + y->boff + jb, n, x->byte) == n;
        } else if (y->kind != SPAN_DATA) {
            same = first_not(x->blob->bytes + x->boff + ia, n, y->byte) == n;
        } else {
            same = (x->blob == y->blob && x->boff + ia == y->boff + jb) ||
                   !memcmp(x->blob->bytes + x->boff + ia, y->blob->bytes + y->boff + jb,
                           (size_t)n);
        }
        if (!same) {
            return false;
        }
        ia += n;
        jb += n;
        if (ia == x->len) {
            i++;
            ia = 0;
        }
        if (jb == y->len) {
            j++;
            jb = 0;
        }
    }
    return true;
}
