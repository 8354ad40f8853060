/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "harness/diff.h"
#include "harness/sbuf.h"

#include <stdlib.h>
#include <string.h>

/* A line keeps its '\n' (absent only on an unterminated last line), so
 * "x" and "x\n" differ, as they do for diff. */
typedef struct line {
    const char *s;
    size_t len;
} line;

typedef enum { OP_EQ, OP_DEL, OP_INS } op_kind;

typedef struct edit {
    op_kind op;
    size_t a, b;    /* index into a (EQ, DEL) and into b (EQ, INS) */
} edit;

typedef struct script {
    edit *e;
    size_t n, cap;
} script;

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        abort();
    return p;
}

/* Lines of the len bytes at s; a NUL byte is a byte like any other. */
static line *split(const char *s, size_t slen, size_t *n)
{
    size_t cap = 16, k = 0;
    line *v = xmalloc(cap * sizeof(*v));
    const char *end = s + slen;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t len = nl ? (size_t)(nl - s) + 1 : (size_t)(end - s);
        if (k == cap) {
            cap *= 2;
            v = realloc(v, cap * sizeof(*v));
            if (!v)
                abort();
        }
        v[k].s = s;
        v[k].len = len;
        k++;
        s += len;
    }
    *n = k;
    return v;
}

static int same(const line *x, const line *y)
{
    return x->len == y->len && memcmp(x->s, y->s, x->len) == 0;
}

static void add(script *sc, op_kind op, size_t a, size_t b)
{
    if (sc->n == sc->cap) {
        sc->cap = sc->cap ? 2 * sc->cap : 64;
        sc->e = realloc(sc->e, sc->cap * sizeof(*sc->e));
        if (!sc->e)
            abort();
    }
    sc->e[sc->n++] = (edit){ op, a, b };
}

/*
 * Shortest edit script between a[0..n) and b[0..m) (offsets ao, bo are
 * added to the indices recorded). trace[d] keeps the furthest x reached on
 * each diagonal k in [-d, d] after d edits, for the walk back. Returns -1
 * when more than max_d edits would be needed.
 */
static int myers(const line *a, size_t n, const line *b, size_t m, size_t ao, size_t bo,
                 int max_d, script *out)
{
    long N = (long)n, M = (long)m, off = N + M + 1;
    long *V = xmalloc((size_t)(2 * off + 1) * sizeof(*V));
    long **trace = xmalloc((size_t)(max_d + 1) * sizeof(*trace));
    long D = -1;
    V[off + 1] = 0;
    for (long d = 0; d <= max_d && D < 0; d++) {
        for (long k = -d; k <= d; k += 2) {
            long x;
            if (k == -d || (k != d && V[off + k - 1] < V[off + k + 1]))
                x = V[off + k + 1];         /* step down: insert b[y] */
            else
                x = V[off + k - 1] + 1;     /* step right: delete a[x] */
            long y = x - k;
            while (x < N && y < M && same(&a[x], &b[y])) {
                x++;
                y++;
            }
            V[off + k] = x;
            if (x >= N && y >= M)
                D = d;
        }
        trace[d] = xmalloc((size_t)(2 * d + 1) * sizeof(**trace));
        memcpy(trace[d], &V[off - d], (size_t)(2 * d + 1) * sizeof(**trace));
        if (D < 0 && d == max_d) {
            for (long i = 0; i <= d; i++)
                free(trace[i]);
            free(trace);
            free(V);
            return -1;
        }
    }

    /* Walk back from (N, M), collecting edits in reverse. */
    script rev = {0};
    long x = N, y = M;
    for (long d = D; d > 0; d--) {
        long *P = trace[d - 1] + (d - 1);   /* P[k] for k in [-(d-1), d-1] */
        long k = x - y;
        int down = k == -d || (k != d && P[k - 1] < P[k + 1]);
        long pk = down ? k + 1 : k - 1;
        long px = P[pk], py = px - pk;
        long mx = down ? px : px + 1, my = mx - k;
        while (x > mx && y > my) {
            x--;
            y--;
            add(&rev, OP_EQ, (size_t)x + ao, (size_t)y + bo);
        }
        if (down)
            add(&rev, OP_INS, (size_t)px + ao, (size_t)py + bo);
        else
            add(&rev, OP_DEL, (size_t)px + ao, (size_t)py + bo);
        x = px;
        y = py;
    }
    while (x > 0 && y > 0) {
        x--;
        y--;
        add(&rev, OP_EQ, (size_t)x + ao, (size_t)y + bo);
    }
    for (size_t i = rev.n; i-- > 0;)
        add(out, rev.e[i].op, rev.e[i].a, rev.e[i].b);
    free(rev.e);
    for (long i = 0; i <= D; i++)
        free(trace[i]);
    free(trace);
    free(V);
    return 0;
}

static void emit_line(sbuf *o, char tag, const line *l)
{
    sbuf_addc(o, tag);
    /* the diff is text: a NUL byte shows as ^@, as cat -v writes it */
    for (const char *p = l->s, *end = l->s + l->len; p < end;) {
        const char *z = memchr(p, '\0', (size_t)(end - p));
        sbuf_addn(o, p, (size_t)((z ? z : end) - p));
        if (!z)
            break;
        sbuf_adds(o, "^@");
        p = z + 1;
    }
    if (l->len == 0 || l->s[l->len - 1] != '\n')
        sbuf_adds(o, "\n\\ No newline at end of file\n");
}

/* "@@ -start,len" in diff's convention: an empty range names the line before. */
static void range(sbuf *o, char tag, size_t first, size_t len)
{
    if (len == 1)
        sbuf_printf(o, "%c%zu", tag, first + 1);
    else
        sbuf_printf(o, "%c%zu,%zu", tag, len ? first + 1 : first, len);
}

char *diff_unified(const char *ta, const char *tb, const char *name_a, const char *name_b,
                   int context)
{
    return diff_unified_n(ta, strlen(ta), tb, strlen(tb), name_a, name_b, context);
}

char *diff_unified_n(const char *ta, size_t ta_len, const char *tb, size_t tb_len,
                     const char *name_a, const char *name_b, int context)
{
    if (ta_len == tb_len && memcmp(ta, tb, ta_len) == 0)
        return NULL;
    size_t n, m;
    line *a = split(ta, ta_len, &n), *b = split(tb, tb_len, &m);
    script sc = {0};

    /* Common head and tail need no search. */
    size_t pre = 0, suf = 0;
    while (pre < n && pre < m && same(&a[pre], &b[pre]))
        pre++;
    while (suf < n - pre && suf < m - pre && same(&a[n - 1 - suf], &b[m - 1 - suf]))
        suf++;
    for (size_t i = 0; i < pre; i++)
        add(&sc, OP_EQ, i, i);
    size_t mn = n - pre - suf, mm = m - pre - suf;
    if (myers(a + pre, mn, b + pre, mm, pre, pre, DIFF_MAX_EDITS, &sc) < 0) {
        for (size_t i = 0; i < mn; i++)
            add(&sc, OP_DEL, pre + i, pre);
        for (size_t i = 0; i < mm; i++)
            add(&sc, OP_INS, pre + mn, pre + i);
    }
    for (size_t i = 0; i < suf; i++)
        add(&sc, OP_EQ, n - suf + i, m - suf + i);

    sbuf o = {0};
    sbuf_printf(&o, "--- %s\n+++ %s\n", name_a, name_b);
    size_t ctx = context < 0 ? 0 : (size_t)context;
    size_t i = 0;
    while (i < sc.n) {
        if (sc.e[i].op == OP_EQ) {
            i++;
            continue;
        }
        /* A hunk: from ctx lines before this change to ctx lines after the
         * last change that is at most 2*ctx equal lines away. */
        size_t start = i > ctx ? i - ctx : 0, end = i;
        for (;;) {
            while (end < sc.n && sc.e[end].op != OP_EQ)
                end++;
            size_t eq = end;
            while (eq < sc.n && sc.e[eq].op == OP_EQ && eq - end < 2 * ctx)
                eq++;
            if (eq < sc.n && sc.e[eq].op != OP_EQ) {
                end = eq;
                continue;
            }
            end = end + ctx < sc.n ? end + ctx : sc.n;
            break;
        }
        size_t a0 = 0, b0 = 0, la = 0, lb = 0;
        int got_a = 0, got_b = 0;
        for (size_t k = start; k < end; k++) {
            const edit *e = &sc.e[k];
            if (e->op != OP_INS) {
                if (!got_a++)
                    a0 = e->a;
                la++;
            }
            if (e->op != OP_DEL) {
                if (!got_b++)
                    b0 = e->b;
                lb++;
            }
        }
        if (!got_a)
            a0 = sc.e[start].a;
        if (!got_b)
            b0 = sc.e[start].b;
        sbuf_adds(&o, "@@ ");
        range(&o, '-', a0, la);
        sbuf_addc(&o, ' ');
        range(&o, '+', b0, lb);
        sbuf_adds(&o, " @@\n");
        for (size_t k = start; k < end; k++) {
            const edit *e = &sc.e[k];
            if (e->op == OP_EQ)
                emit_line(&o, ' ', &a[e->a]);
            else if (e->op == OP_DEL)
                emit_line(&o, '-', &a[e->a]);
            else
                emit_line(&o, '+', &b[e->b]);
        }
        i = end;
    }
    free(sc.e);
    free(a);
    free(b);
    return sbuf_take(&o);
}
