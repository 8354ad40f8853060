/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "harness/json_render.h"

#include <json-c/json.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Decode one UTF-8 sequence; returns its length, or 0 when malformed. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    size_t len;
    uint32_t c = s[0], min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xe0) == 0xc0) {
        len = 2; c &= 0x1f; min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        len = 3; c &= 0x0f; min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
        len = 4; c &= 0x07; min = 0x10000;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return len;
}

void json_render_string(sbuf *out, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    sbuf_addc(out, '"');
    size_t i = 0;
    while (i < n) {
        /* a run of printable ASCII that needs no escape goes in at once */
        size_t plain = i;
        while (plain < n && s[plain] >= 0x20 && s[plain] < 0x7f && s[plain] != '"' &&
               s[plain] != '\\')
            plain++;
        if (plain > i) {
            sbuf_addn(out, str + i, plain - i);
            i = plain;
            continue;
        }
        uint32_t cp;
        size_t len = utf8_decode(s + i, n - i, &cp);
        if (len == 0) {
            cp = 0xfffd;    /* Python would have decoded with replacement */
            len = 1;
        }
        i += len;
        switch (cp) {
        case '"':  sbuf_adds(out, "\\\""); continue;
        case '\\': sbuf_adds(out, "\\\\"); continue;
        case '\n': sbuf_adds(out, "\\n"); continue;
        case '\r': sbuf_adds(out, "\\r"); continue;
        case '\t': sbuf_adds(out, "\\t"); continue;
        case '\b': sbuf_adds(out, "\\b"); continue;
        case '\f': sbuf_adds(out, "\\f"); continue;
        default: break;
        }
        if (cp >= 0x20 && cp < 0x7f) {
            sbuf_addc(out, (char)cp);
        } else if (cp < 0x10000) {
            sbuf_printf(out, "\\u%04x", (unsigned)cp);
        } else {
            /* ensure_ascii writes astral characters as a surrogate pair */
            uint32_t v = cp - 0x10000;
            sbuf_printf(out, "\\u%04x\\u%04x", (unsigned)(0xd800 | (v >> 10)),
                        (unsigned)(0xdc00 | (v & 0x3ff)));
        }
    }
    sbuf_addc(out, '"');
}

void json_render_double(sbuf *out, double d)
{
    if (isnan(d)) {
        sbuf_adds(out, "NaN");
        return;
    }
    if (isinf(d)) {
        sbuf_adds(out, d < 0 ? "-Infinity" : "Infinity");
        return;
    }
    /* Shortest digit string that reads back to the same double. */
    char buf[64];
    int prec;
    for (prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*e", prec - 1, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    /* buf = [-]D[.DDD]e[+-]XX: split into sign, digits and exponent. */
    char *p = buf, digits[32];
    size_t nd = 0;
    int neg = 0;
    if (*p == '-') {
        neg = 1;
        p++;
    }
    for (; *p && *p != 'e'; p++)
        if (*p != '.')
            digits[nd++] = *p;
    digits[nd] = '\0';
    while (nd > 1 && digits[nd - 1] == '0')
        digits[--nd] = '\0';
    int exp = atoi(p + 1);
    if (neg)
        sbuf_addc(out, '-');
    if (exp >= -4 && exp < 16) {
        /* Python: positional notation, always with a fractional part */
        if (exp < 0) {
            sbuf_adds(out, "0.");
            for (int i = -1; i > exp; i--)
                sbuf_addc(out, '0');
            sbuf_adds(out, digits);
        } else {
            for (int i = 0; i <= exp; i++)
                sbuf_addc(out, (size_t)i < nd ? digits[i] : '0');
            sbuf_addc(out, '.');
            if ((size_t)exp + 1 < nd)
                sbuf_adds(out, digits + exp + 1);
            else
                sbuf_addc(out, '0');
        }
    } else {
        sbuf_addc(out, digits[0]);
        if (nd > 1) {
            sbuf_addc(out, '.');
            sbuf_adds(out, digits + 1);
        }
        sbuf_printf(out, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    }
}

static int cmp_keys(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void newline(sbuf *out, int indent, int level)
{
    sbuf_addc(out, '\n');
    for (int i = 0; i < indent * level; i++)
        sbuf_addc(out, ' ');
}

static void render(sbuf *out, struct json_object *o, int indent, int level)
{
    switch (json_object_get_type(o)) {
    case json_type_null:
        sbuf_adds(out, "null");
        break;
    case json_type_boolean:
        sbuf_adds(out, json_object_get_boolean(o) ? "true" : "false");
        break;
    case json_type_int: {
        /* exactly, int64 or uint64, without json-c's per-object print buffer */
        int64_t v = json_object_get_int64(o);
        if (v == INT64_MAX)
            sbuf_printf(out, "%" PRIu64, json_object_get_uint64(o));
        else
            sbuf_printf(out, "%" PRId64, v);
        break;
    }
    case json_type_double:
        json_render_double(out, json_object_get_double(o));
        break;
    case json_type_string:
        json_render_string(out, json_object_get_string(o),
                           (size_t)json_object_get_string_len(o));
        break;
    case json_type_array: {
        size_t n = json_object_array_length(o);
        if (n == 0) {
            sbuf_adds(out, "[]");
            break;
        }
        sbuf_addc(out, '[');
        for (size_t i = 0; i < n; i++) {
            if (i)
                sbuf_adds(out, indent >= 0 ? "," : ", ");
            if (indent >= 0)
                newline(out, indent, level + 1);
            render(out, json_object_array_get_idx(o, i), indent, level + 1);
        }
        if (indent >= 0)
            newline(out, indent, level);
        sbuf_addc(out, ']');
        break;
    }
    case json_type_object: {
        size_t n = (size_t)json_object_object_length(o), k = 0;
        if (n == 0) {
            sbuf_adds(out, "{}");
            break;
        }
        const char **keys = malloc(n * sizeof(*keys));
        if (!keys)
            abort();
        json_object_object_foreach(o, key, val) {
            (void)val;
            keys[k++] = key;
        }
        qsort(keys, n, sizeof(*keys), cmp_keys);
        sbuf_addc(out, '{');
        for (size_t i = 0; i < n; i++) {
            if (i)
                sbuf_adds(out, indent >= 0 ? "," : ", ");
            if (indent >= 0)
                newline(out, indent, level + 1);
            json_render_string(out, keys[i], strlen(keys[i]));
            sbuf_adds(out, ": ");
            render(out, json_object_object_get(o, keys[i]), indent, level + 1);
        }
        free(keys);
        if (indent >= 0)
            newline(out, indent, level);
        sbuf_addc(out, '}');
        break;
    }
    }
}

static void render_qmp(sbuf *out, struct json_object *o, int conv, int indent, int level)
{
    const char *sep = indent >= 0 ? "," : ", ";
    if (json_object_is_type(o, json_type_array)) {
        size_t n = json_object_array_length(o);
        if (n == 0) {
            sbuf_adds(out, "[]");
            return;
        }
        sbuf_addc(out, '[');
        for (size_t i = 0; i < n; i++) {
            if (i)
                sbuf_adds(out, sep);
            if (indent >= 0)
                newline(out, indent, level + 1);
            render_qmp(out, json_object_array_get_idx(o, i), 1, indent, level + 1);
        }
        if (indent >= 0)
            newline(out, indent, level);
        sbuf_addc(out, ']');
        return;
    }
    if (!json_object_is_type(o, json_type_object)) {
        render(out, o, indent, level);
        return;
    }
    size_t n = (size_t)json_object_object_length(o), k = 0;
    if (n == 0 && indent >= 0) {
        sbuf_adds(out, "{}");
        return;
    }
    const char **keys = malloc((n ? n : 1) * sizeof(*keys));
    if (!keys)
        abort();
    json_object_object_foreach(o, key, val) {
        (void)val;
        keys[k++] = key;
    }
    qsort(keys, n, sizeof(*keys), cmp_keys);
    sbuf_addc(out, '{');
    for (size_t i = 0; i < n; i++) {
        if (i)
            sbuf_adds(out, sep);
        if (indent >= 0)
            newline(out, indent, level + 1);
        char *shown = strdup(keys[i]);
        if (!shown)
            abort();
        for (char *c = shown; conv && *c; c++)
            if (*c == '_')
                *c = '-';
        json_render_string(out, shown, strlen(shown));
        free(shown);
        sbuf_adds(out, ": ");
        render_qmp(out, json_object_object_get(o, keys[i]), 0, indent, level + 1);
    }
    free(keys);
    if (indent >= 0 && n)
        newline(out, indent, level);
    sbuf_addc(out, '}');
}

void json_render_qmp_command(sbuf *out, const char *cmd, struct json_object *args, int indent)
{
    if (indent < 0) {
        sbuf_adds(out, "{\"execute\": ");
        json_render_string(out, cmd, strlen(cmd));
        sbuf_adds(out, ", \"arguments\": ");
        if (args)
            render_qmp(out, args, 1, -1, 0);
        else
            sbuf_adds(out, "{}");
        sbuf_addc(out, '}');
        return;
    }
    /* json.dumps(OrderedDict(execute=..., arguments=...), indent=N) */
    sbuf_addc(out, '{');
    newline(out, indent, 1);
    sbuf_adds(out, "\"execute\": ");
    json_render_string(out, cmd, strlen(cmd));
    sbuf_addc(out, ',');
    newline(out, indent, 1);
    sbuf_adds(out, "\"arguments\": ");
    if (args)
        render_qmp(out, args, 1, indent, 1);
    else
        sbuf_adds(out, "{}");
    newline(out, indent, 0);
    sbuf_addc(out, '}');
}

void json_render_qmp_args(sbuf *out, struct json_object *args)
{
    render_qmp(out, args, 1, -1, 0);
}

struct json_object *qmp_convert_top_keys(struct json_object *args)
{
    if (!json_object_is_type(args, json_type_object))
        return json_object_get(args);
    json_object *c = json_object_new_object();
    json_object_object_foreach(args, key, val) {
        char *k = strdup(key);
        if (!k)
            abort();
        for (char *p = k; *p; p++)
            if (*p == '_')
                *p = '-';
        json_object_object_add(c, k, json_object_get(val));
        free(k);
    }
    return c;
}

void json_render(sbuf *out, struct json_object *o, int indent)
{
    render(out, o, indent, 0);
}

char *json_render_alloc(struct json_object *o, int indent)
{
    sbuf b = {0};
    json_render(&b, o, indent);
    return sbuf_take(&b);
}

void filter_testfiles_to(sbuf *out, const char *text, const char *test_dir, const char *pid)
{
    size_t dlen = test_dir ? strlen(test_dir) : 0;
    const char *hit;
    if (!dlen || !pid || !*pid || !(hit = strstr(text, test_dir))) {
        sbuf_adds(out, text);   /* most lines name no test file */
        return;
    }
    /* os.path.join(test_dir, "PID-"): no doubled slash */
    sbuf pat = {0};
    sbuf_adds(&pat, test_dir);
    if (test_dir[dlen - 1] != '/')
        sbuf_addc(&pat, '/');
    sbuf_adds(&pat, pid);
    sbuf_addc(&pat, '-');
    const char *p = text;
    while ((hit = strstr(p, pat.s)) != NULL) {
        sbuf_addn(out, p, (size_t)(hit - p));
        sbuf_adds(out, "TEST_DIR/PID-");
        p = hit + pat.len;
    }
    sbuf_adds(out, p);
    sbuf_free(&pat);
}

char *filter_testfiles(const char *text, const char *test_dir, const char *pid)
{
    sbuf out = {0};
    filter_testfiles_to(&out, text, test_dir, pid);
    return sbuf_take(&out);
}
