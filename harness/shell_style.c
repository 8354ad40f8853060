/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "harness/shell_style.h"
#include "harness/json_render.h"

#include <json-c/json.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

void shell_json(sbuf *out, json_object *o)
{
    size_t i = 0;
    switch (json_object_get_type(o)) {
    case json_type_null:
        sbuf_adds(out, "null");
        return;
    case json_type_boolean:
        sbuf_adds(out, json_object_get_boolean(o) ? "true" : "false");
        return;
    case json_type_int:
        sbuf_printf(out, "%lld", (long long)json_object_get_int64(o));
        return;
    case json_type_double:
        json_render_double(out, json_object_get_double(o));
        return;
    case json_type_string:
        json_render_string(out, json_object_get_string(o), (size_t)json_object_get_string_len(o));
        return;
    case json_type_array:
        sbuf_addc(out, '[');
        for (i = 0; i < json_object_array_length(o); i++) {
            if (i)
                sbuf_adds(out, ", ");
            shell_json(out, json_object_array_get_idx(o, i));
        }
        sbuf_addc(out, ']');
        return;
    case json_type_object: {
        sbuf_addc(out, '{');
        json_object_object_foreach(o, key, val) {
            if (i++)
                sbuf_adds(out, ", ");
            json_render_string(out, key, strlen(key));
            sbuf_adds(out, ": ");
            shell_json(out, val);
        }
        sbuf_addc(out, '}');
        return;
    }
    }
}

char *shell_qmp_line(json_object *o)
{
    json_object *ts = NULL, *copy = NULL;
    if (json_object_is_type(o, json_type_object) &&
        json_object_object_get_ex(o, "timestamp", &ts) &&
        json_object_is_type(ts, json_type_object)) {
        /* a copy with the timestamp replaced in place keeps member order */
        copy = json_object_new_object();
        json_object_object_foreach(o, key, val) {
            if (!strcmp(key, "timestamp")) {
                json_object *t = json_object_new_object();
                json_object_object_add(t, "seconds", json_object_new_string("TIMESTAMP"));
                json_object_object_add(t, "microseconds", json_object_new_string("TIMESTAMP"));
                json_object_object_add(copy, key, t);
            } else {
                json_object_object_add(copy, key, json_object_get(val));
            }
        }
    }
    sbuf b = {0};
    shell_json(&b, copy ? copy : o);
    json_object_put(copy);
    /* the filter's TIMESTAMP is bare, not a JSON string */
    char *s = sbuf_take(&b);
    for (char *p; (p = strstr(s, "\"TIMESTAMP\""));) {
        memmove(p, p + 1, strlen(p + 1) + 1);
        p += strlen("TIMESTAMP");
        memmove(p, p + 1, strlen(p + 1) + 1);
    }
    return s;
}

char *shell_filter_qemu_io(const char *text)
{
    /* common.filter's expression, in POSIX ERE */
    static const char *const re_src =
        "[0-9]* ops; [0-9/:. sec]* \\([0-9/.inf]* [EPTGMKiBbytes]*/sec and [0-9/.inf]* ops/sec\\)";
    regex_t re;
    sbuf out = {0};
    if (regcomp(&re, re_src, REG_EXTENDED) != 0)
        abort();
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char *line = strndup(p, len);
        regmatch_t m;
        if (!line)
            abort();
        if (regexec(&re, line, 1, &m, 0) == 0) {
            sbuf_addn(&out, line, (size_t)m.rm_so);
            sbuf_adds(&out, "X ops; XX:XX:XX.X (XXX YYY/sec and XXX ops/sec)");
            sbuf_adds(&out, line + m.rm_eo);
        } else {
            sbuf_adds(&out, line);
        }
        free(line);
        if (nl)
            sbuf_addc(&out, '\n');
        p += len + (nl ? 1 : 0);
    }
    regfree(&re);
    return sbuf_take(&out);
}

static char *replace_all(const char *text, const char *from, const char *to)
{
    sbuf out = {0};
    size_t n = strlen(from);
    const char *p = text;
    if (!n) {
        sbuf_adds(&out, text);
        return sbuf_take(&out);
    }
    for (const char *q; (q = strstr(p, from)); p = q + n) {
        sbuf_addn(&out, p, (size_t)(q - p));
        sbuf_adds(&out, to);
    }
    sbuf_adds(&out, p);
    return sbuf_take(&out);
}

char *shell_filter_paths(const char *text, const char *test_dir, const char *fmt)
{
    char *a = replace_all(text, test_dir ? test_dir : "", "TEST_DIR");
    if (!fmt)
        return a;
    char *b = replace_all(a, fmt, "IMGFMT");
    free(a);
    return b;
}

int shell_map_json(sbuf *out, json_object *extents)
{
    static const char *const need[] = { "start", "length", "depth", "zero", "data" };
    size_t n = json_object_array_length(extents);
    if (n == 0) {
        sbuf_adds(out, "[]");
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(extents, i), *v[5], *off;
        for (int k = 0; k < 5; k++)
            if (!json_object_object_get_ex(e, need[k], &v[k]))
                return -1;
        sbuf_adds(out, i ? ",\n" : "[");
        sbuf_printf(out, "{ \"start\": %lld, \"length\": %lld, \"depth\": %lld,"
                    " \"zero\": %s, \"data\": %s",
                    (long long)json_object_get_int64(v[0]), (long long)json_object_get_int64(v[1]),
                    (long long)json_object_get_int64(v[2]),
                    json_object_get_boolean(v[3]) ? "true" : "false",
                    json_object_get_boolean(v[4]) ? "true" : "false");
        if (json_object_object_get_ex(e, "offset", &off))
            sbuf_adds(out, ", \"offset\": OFFSET");
        sbuf_addc(out, '}');
    }
    sbuf_addc(out, ']');
    return 0;
}

int shell_map_json72(sbuf *out, json_object *extents)
{
    static const char *const need[] = { "start", "length", "depth", "present", "zero", "data" };
    size_t n = json_object_array_length(extents);
    if (n == 0) {
        sbuf_adds(out, "[]");
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(extents, i), *v[6], *off;
        for (int k = 0; k < 6; k++)
            if (!json_object_object_get_ex(e, need[k], &v[k]))
                return -1;
        sbuf_adds(out, i ? ",\n" : "[");
        sbuf_printf(out, "{ \"start\": %lld, \"length\": %lld, \"depth\": %lld,"
                    " \"present\": %s, \"zero\": %s, \"data\": %s",
                    (long long)json_object_get_int64(v[0]), (long long)json_object_get_int64(v[1]),
                    (long long)json_object_get_int64(v[2]),
                    json_object_get_boolean(v[3]) ? "true" : "false",
                    json_object_get_boolean(v[4]) ? "true" : "false",
                    json_object_get_boolean(v[5]) ? "true" : "false");
        if (json_object_object_get_ex(e, "offset", &off))
            sbuf_adds(out, ", \"offset\": OFFSET");
        sbuf_addc(out, '}');
    }
    sbuf_addc(out, ']');
    return 0;
}

/* the rank _do_filter_img_create sorts a kept option by; -1: dropped */
static int img_create_rank(const char *opt)
{
    static const char *const keep[] = { "fmt", "size", "backing", "data_file", "encryption",
                                        "preallocation" };
    static const int rank[] = { 0, 1, 2, 3, 4, 8 };
    for (size_t i = 0; i < sizeof keep / sizeof *keep; i++) {
        if (!strncmp(opt, keep[i], strlen(keep[i])))
            return rank[i];
    }
    return -1;
}

static int cmp_opt(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    int rx = img_create_rank(x), ry = img_create_rank(y);
    return rx != ry ? rx - ry : strcmp(x, y);
}

char *shell_filter_img_create(const char *line)
{
    const char *cut = strstr(line, ", fmt=");
    if (strncmp(line, "Formatting", 10) || !cut)
        return strdup(line);
    /* options start at "fmt="; each later one at " key=" */
    char *opts = strdup(cut + 2);
    char *kept[64];
    size_t n = 0;
    char *p = opts;
    while (p && *p && n < 64) {
        char *next = NULL;
        for (char *q = strchr(p, ' '); q; q = strchr(q + 1, ' ')) {
            size_t k = strspn(q + 1, "abcdefghijklmnopqrstuvwxyz0123456789_.-");
            if (k && q[1 + k] == '=') {
                next = q;
                break;
            }
        }
        if (next)
            *next = '\0';
        if (img_create_rank(p) >= 0)
            kept[n++] = p;
        p = next ? next + 1 : NULL;
    }
    qsort(kept, n, sizeof *kept, cmp_opt);
    sbuf out = {0};
    sbuf_addn(&out, line, (size_t)(cut - line));
    for (size_t i = 0; i < n; i++)
        sbuf_printf(&out, "%s%s", i ? " " : ", ", kept[i]);
    free(opts);
    return sbuf_take(&out);
}
