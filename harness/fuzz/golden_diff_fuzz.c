/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The golden diff under fuzzing (see golden_diff_fuzz.h). */
#include "harness/fuzz/golden_diff_fuzz.h"
#include "harness/diff.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void wrong(const char *what)
{
    fprintf(stderr, "golden_diff: wrong diff: %s\n", what);
    abort();
}

static int shown_equal(const char *shown, size_t slen, const char *raw, size_t rlen)
{
    size_t i = 0;
    for (size_t j = 0; j < rlen; j++) {
        if (raw[j] == '\0') {
            if (i + 2 > slen || shown[i] != '^' || shown[i + 1] != '@')
                return 0;
            i += 2;
        } else if (i >= slen || shown[i++] != raw[j]) {
            return 0;
        }
    }
    return i == slen;
}

typedef struct text {
    const char *s;
    size_t len, pos;    /* pos: next unread byte */
    size_t line;        /* lines read so far */
} text;

/* The next line of t (without its '\n'); whether it had one. */
static int next_line(text *t, const char **l, size_t *n, int *had_nl)
{
    if (t->pos >= t->len)
        return 0;
    const char *p = t->s + t->pos;
    const char *nl = memchr(p, '\n', t->len - t->pos);
    *l = p;
    *n = nl ? (size_t)(nl - p) : t->len - t->pos;
    *had_nl = nl != NULL;
    t->pos += *n + (nl ? 1 : 0);
    t->line++;
    return 1;
}

/* Skip to line `first` (1-based) of t. */
static void skip_to(text *t, size_t first)
{
    const char *l;
    size_t n;
    int nl;
    while (t->line + 1 < first && next_line(t, &l, &n, &nl))
        ;
    if (t->line + 1 < first)
        wrong("hunk starts past the end");
}

static void check(const char *d, const char *a, size_t alen, const char *b, size_t blen)
{
    text out = { d, strlen(d), 0, 0 }, ta = { a, alen, 0, 0 }, tb = { b, blen, 0, 0 };
    const char *l;
    size_t n;
    int nl;
    if (!next_line(&out, &l, &n, &nl) || n < 4 || memcmp(l, "--- ", 4) ||
        !next_line(&out, &l, &n, &nl) || n < 4 || memcmp(l, "+++ ", 4))
        wrong("headers");
    int hunks = 0;
    while (next_line(&out, &l, &n, &nl)) {
        unsigned long a0, al = 1, b0, bl = 1;
        char hdr[128];
        if (n >= sizeof(hdr) || n < 2 || memcmp(l, "@@", 2))
            wrong("expected a hunk header");
        memcpy(hdr, l, n);
        hdr[n] = '\0';
        if (sscanf(hdr, "@@ -%lu,%lu +%lu,%lu @@", &a0, &al, &b0, &bl) != 4) {
            al = bl = 1;
            if (sscanf(hdr, "@@ -%lu +%lu,%lu @@", &a0, &b0, &bl) != 3 &&
                sscanf(hdr, "@@ -%lu,%lu +%lu @@", &a0, &al, &b0) != 3 &&
                sscanf(hdr, "@@ -%lu +%lu @@", &a0, &b0) != 2)
                wrong("hunk header format");
        }
        hunks++;
        /* an empty range names the line before it */
        skip_to(&ta, al ? a0 : a0 + 1);
        skip_to(&tb, bl ? b0 : b0 + 1);
        while (al || bl) {
            const char *x, *y;
            size_t xn, yn;
            int xnl, ynl;
            if (!next_line(&out, &l, &n, &nl) || n < 1)
                wrong("hunk shorter than its header says");
            int from_a = l[0] == '-' || l[0] == ' ', from_b = l[0] == '+' || l[0] == ' ';
            if (!from_a && !from_b)
                wrong("line tag");
            if ((from_a && !al) || (from_b && !bl))
                wrong("hunk longer than its header says");
            int last_nl = 1;
            if (from_a) {
                if (!next_line(&ta, &x, &xn, &xnl) || !shown_equal(l + 1, n - 1, x, xn))
                    wrong("'-' or ' ' line is not the golden's");
                last_nl = xnl;
                al--;
            }
            if (from_b) {
                if (!next_line(&tb, &y, &yn, &ynl) || !shown_equal(l + 1, n - 1, y, yn))
                    wrong("'+' or ' ' line is not the transcript's");
                if (from_a && xnl != ynl)
                    wrong("context line with and without its newline");
                last_nl = ynl;
                bl--;
            }
            if (!last_nl) {
                if (!next_line(&out, &l, &n, &nl) || n != 27 ||
                    memcmp(l, "\\ No newline at end of file", 27))
                    wrong("missing '\\ No newline at end of file'");
            }
        }
    }
    if (!hunks)
        wrong("no hunk");
}

int golden_diff_fuzz_run(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    int context = data[0] % 8;
    size_t rest = size - 3, glen = ((size_t)data[1] | (size_t)data[2] << 8) % (rest + 1);
    const char *a = (const char *)data + 3, *b = a + glen;
    size_t blen = rest - glen;
    char *d = diff_unified_n(a, glen, b, blen, "golden", "transcript", context);
    int equal = glen == blen && memcmp(a, b, glen) == 0;
    if ((d == NULL) != equal)
        wrong(equal ? "a diff of equal texts" : "no diff of different texts");
    if (d)
        check(d, a, glen, b, blen);
    free(d);
    return !equal;
}
