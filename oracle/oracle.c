/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "oracle/oracle.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct range {
    uint64_t lo, hi;    /* bits [lo, hi) */
} range;

struct oracle_model {
    char *name;
    uint64_t granularity;
    range *r;
    size_t n, cap;
    oracle_model *next;
};

struct oracle {
    oracle_model *models;
};

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n);
    if (!p)
        abort();
    return p;
}

oracle *oracle_new(void)
{
    oracle *o = calloc(1, sizeof(*o));
    if (!o)
        abort();
    return o;
}

void oracle_free(oracle *o)
{
    if (!o)
        return;
    oracle_model *m = o->models;
    while (m) {
        oracle_model *next = m->next;
        free(m->name);
        free(m->r);
        free(m);
        m = next;
    }
    free(o);
}

oracle_model *oracle_find(oracle *o, const char *name)
{
    for (oracle_model *m = o->models; m; m = m->next)
        if (strcmp(m->name, name) == 0)
            return m;
    return NULL;
}

oracle_model *oracle_model_new(oracle *o, const char *name, uint64_t granularity)
{
    oracle_model *m = oracle_find(o, name);
    if (!m) {
        m = calloc(1, sizeof(*m));
        if (!m)
            abort();
        m->name = strdup(name);
        if (!m->name)
            abort();
        m->next = o->models;
        o->models = m;
    }
    m->n = 0;
    m->granularity = granularity ? granularity : 1;
    return m;
}

uint64_t oracle_granularity(const oracle_model *m)
{
    return m->granularity;
}

static void insert_at(oracle_model *m, size_t i, range r)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? 2 * m->cap : 8;
        m->r = xrealloc(m->r, m->cap * sizeof(*m->r));
    }
    memmove(&m->r[i + 1], &m->r[i], (m->n - i) * sizeof(*m->r));
    m->r[i] = r;
    m->n++;
}

static void remove_at(oracle_model *m, size_t i, size_t count)
{
    if (count == 0)
        return;     /* m->r may still be NULL */
    memmove(&m->r[i], &m->r[i + count], (m->n - i - count) * sizeof(*m->r));
    m->n -= count;
}

void oracle_dirty_bits(oracle_model *m, uint64_t from, uint64_t to)
{
    if (from >= to)
        return;
    /* Swallow every range that overlaps or touches [from, to). */
    size_t i = 0;
    while (i < m->n && m->r[i].hi < from)
        i++;
    size_t j = i;
    while (j < m->n && m->r[j].lo <= to) {
        if (m->r[j].lo < from)
            from = m->r[j].lo;
        if (m->r[j].hi > to)
            to = m->r[j].hi;
        j++;
    }
    remove_at(m, i, j - i);
    insert_at(m, i, (range){from, to});
}

void oracle_clear_bits(oracle_model *m, uint64_t from, uint64_t to)
{
    if (from >= to)
        return;
    for (size_t i = 0; i < m->n;) {
        range *r = &m->r[i];
        if (r->hi <= from || r->lo >= to) {
            i++;
        } else if (r->lo >= from && r->hi <= to) {
            remove_at(m, i, 1);
        } else if (r->lo < from && r->hi > to) {
            range right = {to, r->hi};
            r->hi = from;
            insert_at(m, i + 1, right);
            i += 2;
        } else if (r->lo < from) {
            r->hi = from;
            i++;
        } else {
            r->lo = to;
            i++;
        }
    }
}

void oracle_dirty_write(oracle_model *m, uint64_t offset, uint64_t len)
{
    if (len == 0)
        return;
    oracle_dirty_bits(m, offset / m->granularity,
                      (offset + len - 1) / m->granularity + 1);
}

void oracle_clear_write(oracle_model *m, uint64_t offset, uint64_t len)
{
    if (len == 0)
        return;
    oracle_clear_bits(m, offset / m->granularity,
                      (offset + len - 1) / m->granularity + 1);
}

void oracle_clear(oracle_model *m)
{
    m->n = 0;
}

int oracle_first_bit(const oracle_model *m, uint64_t *bit)
{
    if (m->n == 0)
        return -1;
    *bit = m->r[0].lo;
    return 0;
}

int oracle_fill_from_first(oracle_model *m, uint64_t end_bit)
{
    uint64_t first;
    if (oracle_first_bit(m, &first) < 0)
        return -1;
    oracle_clear(m);
    oracle_dirty_bits(m, first, end_bit);
    return 0;
}

int oracle_has_bit(const oracle_model *m, uint64_t bit)
{
    for (size_t i = 0; i < m->n; i++)
        if (bit >= m->r[i].lo && bit < m->r[i].hi)
            return 1;
    return 0;
}

uint64_t oracle_count(const oracle_model *m)
{
    uint64_t c = 0;
    for (size_t i = 0; i < m->n; i++)
        c += m->r[i].hi - m->r[i].lo;
    return c;
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *s;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        abort();
    return s;
}

char *oracle_check_text(const char *name, uint64_t want, uint64_t have)
{
    return xasprintf("= Checking Bitmap %s =\nexpecting %llu dirty sectors; have %llu. %s",
                     name ? name : "(anonymous)", (unsigned long long)want,
                     (unsigned long long)have, want == have ? "OK!" : "ERROR!");
}

char *oracle_compare_text(const char *a, const char *b, int ret, int expect_match)
{
    int expected_ret = expect_match ? 0 : 1;
    return xasprintf("qemu_img compare \"%s\" \"%s\" ==> %s, %s", a, b,
                     ret == 0 ? "Identical" : "Mismatch",
                     ret == expected_ret ? "OK!" : "ERROR!");
}
