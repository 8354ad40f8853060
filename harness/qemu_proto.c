/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Checks of the QEMU driver's messages (see qemu_proto.h). */
#include "harness/qemu_proto.h"

#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int bad(char **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(char **err, const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    free(*err);
    *err = s;
    return -1;
}

static const char *type_of(struct json_object *v)
{
    return v ? json_type_to_name(json_object_get_type(v)) : "null";
}

/* The member `key` of object o with type t; NULL when absent. -1 when it
 * is there with another type (JSON null included). */
static int member(struct json_object *o, const char *where, const char *key, enum json_type t,
                  int required, struct json_object **out, char **err)
{
    *out = NULL;
    if (!json_object_object_get_ex(o, key, out)) {
        if (required)
            return bad(err, "%s lacks \"%s\"", where, key);
        return 0;
    }
    if (!*out || !json_object_is_type(*out, t))
        return bad(err, "%s: \"%s\" is %s, expected %s", where, key, type_of(*out),
                   json_type_to_name(t));
    return 0;
}

int qemu_proto_hello(struct json_object *hello, const char **test_dir, const char **pid,
                     char **err)
{
    struct json_object *v;
    const char *w = "qemu driver greeting";
    if (!hello || !json_object_is_type(hello, json_type_object))
        return bad(err, "%s is %s, expected an object", w, type_of(hello));
    if (member(hello, w, "hello", json_type_string, 1, &v, err) < 0)
        return -1;
    if (strcmp(json_object_get_string(v), "blocksim-qemu-driver"))
        return bad(err, "%s: \"hello\" is '%.100s', expected 'blocksim-qemu-driver'", w,
                   json_object_get_string(v));
    if (member(hello, w, "version", json_type_int, 0, &v, err) < 0)
        return -1;
    if (v && json_object_get_int64(v) != 1)
        return bad(err, "%s: version %lld, expected 1", w, (long long)json_object_get_int64(v));
    if (member(hello, w, "test_dir", json_type_string, 1, &v, err) < 0)
        return -1;
    *test_dir = json_object_get_string(v);
    if ((*test_dir)[0] != '/' || strlen(*test_dir) != (size_t)json_object_get_string_len(v) ||
        !strcmp(*test_dir, "/"))
        return bad(err, "%s: \"test_dir\" '%.200s' is not an absolute directory below /", w,
                   *test_dir);
    if (member(hello, w, "pid", json_type_string, 1, &v, err) < 0)
        return -1;
    *pid = json_object_get_string(v);
    size_t n = strlen(*pid);
    if (n == 0 || n > 20 || strspn(*pid, "0123456789") != n)
        return bad(err, "%s: \"pid\" '%.40s' is not a process id", w, *pid);
    return 0;
}

int qemu_proto_answer(struct json_object *resp, int *ok, struct json_object **result,
                      const char **error, char **err)
{
    struct json_object *v;
    const char *w = "qemu driver answer";
    *ok = 0;
    *result = NULL;
    *error = NULL;
    if (!resp || !json_object_is_type(resp, json_type_object))
        return bad(err, "%s is %s, expected an object", w, type_of(resp));
    if (member(resp, w, "ok", json_type_boolean, 1, &v, err) < 0)
        return -1;
    if (json_object_get_boolean(v)) {
        if (!json_object_object_get_ex(resp, "result", result))
            return bad(err, "%s lacks \"result\"", w);
        *ok = 1;
        return 0;
    }
    if (member(resp, w, "error", json_type_string, 1, &v, err) < 0)
        return -1;
    *error = json_object_get_string(v);
    return 0;
}

int qemu_proto_qmp_reply(struct json_object *reply, char **err)
{
    struct json_object *v, *e;
    const char *w = "QMP reply";
    if (!reply || !json_object_is_type(reply, json_type_object))
        return bad(err, "%s is %s, expected an object", w, type_of(reply));
    int has_return = json_object_object_get_ex(reply, "return", &v);
    if (member(reply, w, "error", json_type_object, 0, &e, err) < 0)
        return -1;
    if (has_return == !!e)
        return bad(err, "%s has %s", w, e ? "both \"return\" and \"error\""
                                          : "neither \"return\" nor \"error\"");
    if (e && (member(e, "QMP error", "class", json_type_string, 1, &v, err) < 0 ||
              member(e, "QMP error", "desc", json_type_string, 1, &v, err) < 0))
        return -1;
    return 0;
}

int qemu_proto_event(struct json_object *ev, char **err)
{
    struct json_object *v, *ts;
    const char *w = "QMP event";
    if (!ev || !json_object_is_type(ev, json_type_object))
        return bad(err, "%s is %s, expected an object", w, type_of(ev));
    if (member(ev, w, "event", json_type_string, 1, &v, err) < 0 ||
        member(ev, w, "data", json_type_object, 0, &v, err) < 0 ||
        member(ev, w, "timestamp", json_type_object, 0, &ts, err) < 0)
        return -1;
    if (ts && (member(ts, "event timestamp", "seconds", json_type_int, 1, &v, err) < 0 ||
               member(ts, "event timestamp", "microseconds", json_type_int, 1, &v, err) < 0))
        return -1;
    return 0;
}

int qemu_proto_img_result(struct json_object *r, char **err)
{
    struct json_object *v;
    const char *w = "qemu-img result";
    if (!r || !json_object_is_type(r, json_type_object))
        return bad(err, "%s is %s, expected an object", w, type_of(r));
    if (member(r, w, "rc", json_type_int, 1, &v, err) < 0 ||
        member(r, w, "stdout", json_type_string, 1, &v, err) < 0 ||
        member(r, w, "stderr", json_type_string, 1, &v, err) < 0)
        return -1;
    return 0;
}
