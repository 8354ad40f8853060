/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A growable, always NUL-terminated byte string. */
#ifndef BLOCKSIM_HARNESS_SBUF_H
#define BLOCKSIM_HARNESS_SBUF_H

#include <stddef.h>

typedef struct sbuf {
    char *s;        /* NULL until the first append */
    size_t len;
    size_t cap;
} sbuf;

void sbuf_addn(sbuf *b, const char *s, size_t n);
void sbuf_adds(sbuf *b, const char *s);
void sbuf_addc(sbuf *b, char c);
void sbuf_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The contents ("" when empty); stays owned by the buffer. */
const char *sbuf_str(const sbuf *b);
/* Hand the string over to the caller (never NULL) and reset the buffer. */
char *sbuf_take(sbuf *b);
void sbuf_free(sbuf *b);

#endif
