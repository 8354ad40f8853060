/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Generic helpers of the simulator (see sim/util.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/util.h"

char *xstrdup(const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d) {
        abort();
    }
    return d;
}

char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *out = NULL;
    va_start(ap, fmt);
    if (vasprintf(&out, fmt, ap) < 0) {
        abort();
    }
    va_end(ap);
    return out;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) {
        abort();
    }
    return p;
}

const char *json_str(json_object *o, const char *key)
{
    json_object *v;
    if (o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)) {
        return json_object_get_string(v);
    }
    return NULL;
}

json_object *json_member(json_object *o, const char *key)
{
    json_object *v = NULL;
    if (o) {
        json_object_object_get_ex(o, key, &v);
    }
    return v;
}

int64_t json_int(json_object *o, const char *key, int64_t dflt)
{
    json_object *v = json_member(o, key);
    return v ? json_object_get_int64(v) : dflt;
}

unsigned qdict_bucket(const char *key)
{
    unsigned v = 0x238F13AFu * (unsigned)strlen(key);
    for (unsigned i = 0; key[i]; i++) {
        v += (unsigned)(unsigned char)key[i] << (i * 5 % 24);
    }
    return (1103515243u * v + 12345u) % 512;
}
