/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unittest-style checks (see checks.h): iotests' QMPTestCase assertions
 * over json-c values. Values in messages print as JSON, one line.
 */
#include "harness/checks.h"
#include "harness/json_render.h"
#include "harness/sbuf.h"

#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
    va_list ap;
    char *s;
    va_start(ap, f);
    if (vasprintf(&s, f, ap) < 0)
        abort();
    va_end(ap);
    return s;
}

static char *show(json_object *v)
{
    return json_render_alloc(v, -1);
}

/* "name[12]" -> name, 12; a component without a well-formed index is a
 * plain member name (iotests' index_re is ^([^\[]+)\[([^\]]+)\]$). */
static int split_index(const char *comp, size_t len, size_t *name_len, long *idx)
{
    if (len < 4 || comp[len - 1] != ']')
        return 0;
    const char *open = memchr(comp, '[', len);
    if (!open || open == comp || open + 1 >= comp + len - 1)
        return 0;
    if (memchr(open + 1, '[', (size_t)(comp + len - 1 - (open + 1))))
        return 0;
    char *end;
    char buf[32];
    size_t n = (size_t)(comp + len - 1 - (open + 1));
    if (n >= sizeof buf)
        return 0;
    memcpy(buf, open + 1, n);
    buf[n] = 0;
    *idx = strtol(buf, &end, 10);
    if (*end)
        return 0;
    *name_len = (size_t)(open - comp);
    return 1;
}

int check_dictpath(json_object *d, const char *path, json_object **out, char **why)
{
    const char *p = path;
    *why = NULL;
    for (;;) {
        size_t len = strcspn(p, "/");
        size_t name_len = len;
        long idx = 0;
        int indexed = split_index(p, len, &name_len, &idx);
        char *name = strndup(p, name_len);
        json_object *next = NULL;
        if (!name)
            abort();
        if (!d || !json_object_is_type(d, json_type_object) ||
            !json_object_object_get_ex(d, name, &next)) {
            char *txt = show(d);
            *why = fmt("failed path traversal for \"%s\" in \"%s\"", path, txt);
            free(txt);
            free(name);
            return -1;
        }
        d = next;
        if (indexed) {
            if (!d || !json_object_is_type(d, json_type_array)) {
                char *txt = show(d);
                *why = fmt("path component \"%s\" in \"%s\" is not a list in \"%s\"", name, path,
                           txt);
                free(txt);
                free(name);
                return -1;
            }
            long n = (long)json_object_array_length(d);
            if (idx < -n || idx >= n) {
                char *txt = show(d);
                *why = fmt("invalid index \"%ld\" in path \"%s\" in \"%s\"", idx, path, txt);
                free(txt);
                free(name);
                return -1;
            }
            d = json_object_array_get_idx(d, (size_t)(idx < 0 ? idx + n : idx));
        }
        free(name);
        if (!p[len])
            break;
        p += len + 1;
    }
    *out = d;
    return 0;
}

static int is_number(json_object *v)
{
    return json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_boolean) ||
           json_object_is_type(v, json_type_double);
}

static double as_double(json_object *v)
{
    if (json_object_is_type(v, json_type_double))
        return json_object_get_double(v);
    return (double)json_object_get_int64(v);
}

int check_equal(json_object *a, json_object *b)
{
    if (!a || !b)
        return a == b;
    if (is_number(a) && is_number(b)) {
        if (json_object_is_type(a, json_type_double) || json_object_is_type(b, json_type_double))
            return as_double(a) == as_double(b);
        return json_object_get_int64(a) == json_object_get_int64(b);
    }
    if (json_object_get_type(a) != json_object_get_type(b))
        return 0;
    switch (json_object_get_type(a)) {
    case json_type_string:
        return json_object_get_string_len(a) == json_object_get_string_len(b) &&
               !memcmp(json_object_get_string(a), json_object_get_string(b),
                       (size_t)json_object_get_string_len(a));
    case json_type_array: {
        size_t n = json_object_array_length(a);
        if (n != json_object_array_length(b))
            return 0;
        for (size_t i = 0; i < n; i++)
            if (!check_equal(json_object_array_get_idx(a, i), json_object_array_get_idx(b, i)))
                return 0;
        return 1;
    }
    case json_type_object: {
        if (json_object_object_length(a) != json_object_object_length(b))
            return 0;
        json_object_object_foreach(a, k, va) {
            json_object *vb;
            if (!json_object_object_get_ex(b, k, &vb) || !check_equal(va, vb))
                return 0;
        }
        return 1;
    }
    default:
        return 0;
    }
}

int check_assert_qmp(json_object *d, const char *path, json_object *value, char **what,
                     char **why)
{
    int any_of = value && json_object_is_type(value, json_type_array) &&
                 json_object_array_length(value) > 0;
    char *want = show(value);
    *what = fmt("\"%s\" %s %s", path, any_of ? "is one of" : "is", want);
    *why = NULL;
    json_object *got;
    if (check_dictpath(d, path, &got, why) < 0) {
        free(want);
        return 0;
    }
    int ok = 0;
    if (any_of) {
        for (size_t i = 0; i < json_object_array_length(value) && !ok; i++)
            ok = check_equal(got, json_object_array_get_idx(value, i));
    } else {
        ok = check_equal(got, value);
    }
    if (!ok) {
        char *txt = show(got);
        *why = any_of ? fmt("no match for \"%s\" in %s", txt, want)
                      : fmt("\"%s\" is \"%s\", expected \"%s\"", path, txt, want);
        free(txt);
    }
    free(want);
    return ok;
}

int check_assert_qmp_absent(json_object *d, const char *path, char **what, char **why)
{
    json_object *got;
    *what = fmt("\"%s\" is absent", path);
    *why = NULL;
    if (check_dictpath(d, path, &got, why) < 0) {
        free(*why);
        *why = NULL;
        return 1;
    }
    char *txt = show(got);
    *why = fmt("path \"%s\" has value \"%s\"", path, txt);
    free(txt);
    return 0;
}

char *check_line(int passed, const char *what, const char *why)
{
    if (passed)
        return fmt("ok: %s", what);
    if (why)
        return fmt("FAIL: %s: %s", what, why);
    return fmt("FAIL: %s", what);
}
