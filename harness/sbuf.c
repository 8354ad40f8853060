/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "harness/sbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void grow(sbuf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    char *s = realloc(b->s, cap);
    if (!s)
        abort();    /* out of memory: nothing sensible left to do in a test tool */
    b->s = s;
    b->cap = cap;
}

void sbuf_addn(sbuf *b, const char *s, size_t n)
{
    grow(b, n);
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void sbuf_adds(sbuf *b, const char *s)
{
    sbuf_addn(b, s, strlen(s));
}

void sbuf_addc(sbuf *b, char c)
{
    if (b->len + 2 > b->cap)
        grow(b, 1);
    b->s[b->len++] = c;
    b->s[b->len] = '\0';
}

void sbuf_printf(sbuf *b, const char *fmt, ...)
{
    /* format straight into the free space; only a longer text formats twice */
    size_t room = b->cap > b->len ? b->cap - b->len : 0;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(room ? b->s + b->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n <= 0)
        return;
    if ((size_t)n >= room) {
        grow(b, (size_t)n);
        va_start(ap, fmt);
        vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

const char *sbuf_str(const sbuf *b)
{
    return b->s ? b->s : "";
}

char *sbuf_take(sbuf *b)
{
    char *s = b->s ? b->s : strdup("");
    if (!s)
        abort();
    b->s = NULL;
    b->len = b->cap = 0;
    return s;
}

void sbuf_free(sbuf *b)
{
    free(b->s);
    b->s = NULL;
    b->len = b->cap = 0;
}
