/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The scenario language's functions (see case_funcs.h, cases/README.md). */
#include "harness/case_funcs.h"
#include "harness/shell_style.h"

#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    size_t min, max;
} funcs[] = {
    { "basename", 1, 1 },   /* os.path.basename */
    { "dictpath", 2, 2 },   /* iotests' dictpath(d, "a/b[0]/c"); evaluated by interp.c */
    { "filter_qemu_io", 1, 1 },     /* iotests.filter_qemu_io: the timing line */
    { "get", 2, 3 },        /* dict.get(key[, default]); default none */
    { "has", 2, 2 },        /* key in dict */
    { "len", 1, 1 },        /* len() of a list, object or string */
    { "pair", 2, 2 },       /* {key: value} with a computed key */
    { NULL, 0, 0 },
};

int case_func_arity(const char *name, size_t *min, size_t *max)
{
    for (size_t i = 0; funcs[i].name; i++) {
        if (!strcmp(funcs[i].name, name)) {
            *min = funcs[i].min;
            *max = funcs[i].max;
            return 0;
        }
    }
    return -1;
}

static int fail(char **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(char **err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(err, fmt, ap) < 0)
        abort();
    va_end(ap);
    return -1;
}

static int is_obj(json_object *v, json_object *none)
{
    return v != none && json_object_is_type(v, json_type_object);
}

static int is_str(json_object *v, json_object *none)
{
    return v != none && json_object_is_type(v, json_type_string);
}

int case_func_call(const char *name, json_object *const *args, size_t n, json_object *none,
                   json_object **out, char **err)
{
    *out = NULL;
    if (!strcmp(name, "basename")) {
        if (!is_str(args[0], none))
            return fail(err, "basename() needs a string");
        const char *s = json_object_get_string(args[0]);
        const char *slash = strrchr(s, '/');
        *out = json_object_new_string(slash ? slash + 1 : s);
        return 0;
    }
    if (!strcmp(name, "filter_qemu_io")) {
        if (!is_str(args[0], none))
            return fail(err, "filter_qemu_io() needs a string");
        char *f = shell_filter_qemu_io(json_object_get_string(args[0]));
        *out = json_object_new_string(f);
        free(f);
        return 0;
    }
    if (!strcmp(name, "get") || !strcmp(name, "has")) {
        if (!is_obj(args[0], none))
            return fail(err, "%s() needs an object, got something else", name);
        if (!is_str(args[1], none))
            return fail(err, "%s() needs a string key", name);
        json_object *v;
        int found = json_object_object_get_ex(args[0], json_object_get_string(args[1]), &v);
        if (!strcmp(name, "has"))
            *out = json_object_new_boolean(found);
        else
            *out = json_object_get(found ? v : n > 2 ? args[2] : none);
        return 0;
    }
    if (!strcmp(name, "len")) {
        json_object *v = args[0];
        if (v != none && json_object_is_type(v, json_type_array))
            *out = json_object_new_int64((int64_t)json_object_array_length(v));
        else if (is_obj(v, none))
            *out = json_object_new_int64(json_object_object_length(v));
        else if (is_str(v, none))
            *out = json_object_new_int64(json_object_get_string_len(v));
        else
            return fail(err, "len() needs a list, object or string");
        return 0;
    }
    if (!strcmp(name, "pair")) {
        if (!is_str(args[0], none))
            return fail(err, "pair() needs a string key");
        if (args[1] == none)
            return fail(err, "pair() cannot hold none");
        *out = json_object_new_object();
        json_object_object_add(*out, json_object_get_string(args[0]), json_object_get(args[1]));
        return 0;
    }
    return fail(err, "unknown function '%s'", name);
}
