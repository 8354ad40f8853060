/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Helpers for the simulator's unit tests: drive the backend through
 * harness/backend.h with JSON written inline. Header-only so each test
 * binary stays one source file.
 */
#ifndef BLOCKSIM_SIM_TEST_H
#define BLOCKSIM_SIM_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <json-c/json.h>

#include "harness/backend.h"

#define IMG "/tmp/blocksim/1000-img"
#define TGT "/tmp/blocksim/1000-tgt"

static inline bs_backend *vm_new(void)
{
    char *err = NULL;
    bs_backend *b = bs_backend_sim_new(&err);
    assert_non_null(b);
    assert_int_equal(b->ops->launch(b, &err), 0);
    return b;
}

static inline void vm_free(bs_backend *b)
{
    char *err = NULL;
    assert_int_equal(b->ops->shutdown(b, &err), 0);
    b->ops->destroy(b);
}

/* Run a command; args is JSON text or NULL. Returns the reply. */
static inline json_object *qmp(bs_backend *b, const char *cmd, const char *args_fmt, ...)
{
    json_object *args = NULL;
    if (args_fmt) {
        char buf[4096];
        va_list ap;
        va_start(ap, args_fmt);
        vsnprintf(buf, sizeof buf, args_fmt, ap);
        va_end(ap);
        args = json_tokener_parse(buf);
        if (!args) {
            fail_msg("bad test JSON: %s", buf);
        }
    }
    char *err = NULL;
    json_object *r = b->ops->qmp(b, cmd, args, &err);
    json_object_put(args);
    if (!r) {
        fail_msg("qmp %s failed: %s", cmd, err ? err : "?");
    }
    return r;
}

/* The reply's error desc, or NULL for a success. */
static inline const char *reply_error(json_object *r)
{
    json_object *e, *d;
    if (json_object_object_get_ex(r, "error", &e) && json_object_object_get_ex(e, "desc", &d)) {
        return json_object_get_string(d);
    }
    return NULL;
}

#define QMP_OK(b, cmd, ...) do {                                              \
        json_object *r_ = qmp(b, cmd, __VA_ARGS__);                          \
        if (reply_error(r_)) {                                                \
            fail_msg("%s: unexpected error %s", cmd, reply_error(r_));        \
        }                                                                     \
        json_object_put(r_);                                                  \
    } while (0)

#define QMP_ERR(b, want, cmd, ...) do {                                       \
        json_object *r_ = qmp(b, cmd, __VA_ARGS__);                          \
        const char *e_ = reply_error(r_);                                     \
        if (!e_ || strcmp(e_, want)) {                                        \
            fail_msg("%s: want error '%s', got '%s'", cmd, want,              \
                     e_ ? e_ : json_object_to_json_string(r_));               \
        }                                                                     \
        json_object_put(r_);                                                  \
    } while (0)

/* HMP qemu-io; returns the reply's string (static buffer). */
static inline const char *hmp(bs_backend *b, const char *node, const char *cmd)
{
    static char out[1024];
    char line[512];
    snprintf(line, sizeof line, "qemu-io %s \\\"%s\\\"", node, cmd);
    json_object *r = qmp(b, "human-monitor-command", "{\"command-line\": \"%s\"}", line);
    json_object *ret;
    assert_true(json_object_object_get_ex(r, "return", &ret));
    snprintf(out, sizeof out, "%s", json_object_get_string(ret));
    json_object_put(r);
    return out;
}

/* The events until nothing more can happen, as "NAME" or "NAME:status"
 * (JOB_STATUS_CHANGE) joined by spaces. */
static inline char *drain_events(bs_backend *b)
{
    static char out[8192];
    out[0] = 0;
    for (;;) {
        char *err = NULL;
        json_object *ev = b->ops->next_event(b, 1.0, &err);
        assert_null(err);
        if (!ev) {
            break;
        }
        json_object *name, *data, *st;
        json_object_object_get_ex(ev, "event", &name);
        json_object_object_get_ex(ev, "data", &data);
        char item[256];
        if (json_object_object_get_ex(data, "status", &st)) {
            snprintf(item, sizeof item, "%s:%s", json_object_get_string(name),
                     json_object_get_string(st));
        } else {
            snprintf(item, sizeof item, "%s", json_object_get_string(name));
        }
        if (out[0]) {
            strncat(out, " ", sizeof out - strlen(out) - 1);
        }
        strncat(out, item, sizeof out - strlen(out) - 1);
        json_object_put(ev);
    }
    return out;
}

/* Next event, or NULL; the caller puts it. */
static inline json_object *next_ev(bs_backend *b)
{
    char *err = NULL;
    json_object *ev = b->ops->next_event(b, 1.0, &err);
    assert_null(err);
    return ev;
}

/* Compact JSON with object keys sorted, into out (appends). */
static inline void sorted_json_append(json_object *o, char *out, size_t cap)
{
    if (json_object_is_type(o, json_type_object)) {
        const char *keys[64];
        size_t n = 0;
        json_object_object_foreach(o, k, v) {
            (void)v;
            if (n < 64) {
                keys[n++] = k;
            }
        }
        for (size_t i = 1; i < n; i++) {
            for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
                const char *t = keys[j];
                keys[j] = keys[j - 1];
                keys[j - 1] = t;
            }
        }
        strncat(out, "{", cap - strlen(out) - 1);
        for (size_t i = 0; i < n; i++) {
            json_object *v;
            json_object_object_get_ex(o, keys[i], &v);
            strncat(out, i ? ",\"" : "\"", cap - strlen(out) - 1);
            strncat(out, keys[i], cap - strlen(out) - 1);
            strncat(out, "\":", cap - strlen(out) - 1);
            sorted_json_append(v, out, cap);
        }
        strncat(out, "}", cap - strlen(out) - 1);
    } else if (json_object_is_type(o, json_type_array)) {
        strncat(out, "[", cap - strlen(out) - 1);
        for (size_t i = 0; i < json_object_array_length(o); i++) {
            if (i) {
                strncat(out, ",", cap - strlen(out) - 1);
            }
            sorted_json_append(json_object_array_get_idx(o, i), out, cap);
        }
        strncat(out, "]", cap - strlen(out) - 1);
    } else {
        strncat(out, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                       JSON_C_TO_STRING_NOSLASHESCAPE),
                cap - strlen(out) - 1);
    }
}

static inline const char *sorted_json(json_object *o)
{
    static char out[8192];
    out[0] = 0;
    sorted_json_append(o, out, sizeof out);
    return out;
}

/* Events up to and including the first one named `name` (others dropped);
 * returns that one's data as JSON text (static buffer). */
static inline const char *wait_event(bs_backend *b, const char *name)
{
    static char out[2048];
    for (;;) {
        json_object *ev = next_ev(b), *n, *d;
        if (!ev) {
            fail_msg("no %s event", name);
        }
        json_object_object_get_ex(ev, "event", &n);
        if (!strcmp(json_object_get_string(n), name)) {
            json_object_object_get_ex(ev, "data", &d);
            snprintf(out, sizeof out, "%s", sorted_json(d));
            json_object_put(ev);
            return out;
        }
        json_object_put(ev);
    }
}

static inline void img_create(bs_backend *b, const char *path, uint64_t size)
{
    char *err = NULL;
    assert_int_equal(b->ops->img_create(b, "qcow2", path, size, NULL, NULL, &err), 0);
}

/* drive0 (qcow2 over file) on a fresh image of the given size. */
static inline void add_drive(bs_backend *b, const char *node, const char *path, uint64_t size)
{
    img_create(b, path, size);
    QMP_OK(b, "blockdev-add",
           "{\"driver\": \"qcow2\", \"node-name\": \"%s\", "
           "\"file\": {\"driver\": \"file\", \"filename\": \"%s\"}}", node, path);
}

/* The dirty-bitmaps list of a node as compact text "name:count:rec:busy,..."
 * (anonymous as "-"); "" when the node has none; "?" when no such node. */
static inline const char *bitmaps_of(bs_backend *b, const char *node)
{
    static char out[2048];
    json_object *r = qmp(b, "query-named-block-nodes", NULL), *list;
    json_object_object_get_ex(r, "return", &list);
    snprintf(out, sizeof out, "?");
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        json_object *n = json_object_array_get_idx(list, i), *nn, *bms;
        json_object_object_get_ex(n, "node-name", &nn);
        if (strcmp(json_object_get_string(nn), node)) {
            continue;
        }
        out[0] = 0;
        if (!json_object_object_get_ex(n, "dirty-bitmaps", &bms)) {
            break;
        }
        for (size_t k = 0; k < json_object_array_length(bms); k++) {
            json_object *bm = json_object_array_get_idx(bms, k), *v;
            char item[256];
            const char *name = "-";
            if (json_object_object_get_ex(bm, "name", &v)) {
                name = json_object_get_string(v);
            }
            json_object *c, *rec, *busy;
            json_object_object_get_ex(bm, "count", &c);
            json_object_object_get_ex(bm, "recording", &rec);
            json_object_object_get_ex(bm, "busy", &busy);
            snprintf(item, sizeof item, "%s%s:%lld:%s%s", k ? "," : "", name,
                     (long long)json_object_get_int64(c),
                     json_object_get_boolean(rec) ? "rec" : "off",
                     json_object_get_boolean(busy) ? ":busy" : "");
            strncat(out, item, sizeof out - strlen(out) - 1);
        }
        break;
    }
    json_object_put(r);
    return out;
}

/* A qcow2 target node on a fresh image, made through blockdev-create. */
static inline void make_target(bs_backend *b, const char *node, const char *path, uint64_t size)
{
    QMP_OK(b, "blockdev-create", "{\"job-id\": \"cf\", \"options\": {\"driver\": \"file\", "
           "\"filename\": \"%s\", \"size\": 0}}", path);
    drain_events(b);
    QMP_OK(b, "job-dismiss", "{\"id\": \"cf\"}");
    drain_events(b);
    QMP_OK(b, "blockdev-add", "{\"driver\": \"file\", \"node-name\": \"%s_file\", "
           "\"filename\": \"%s\"}", node, path);
    QMP_OK(b, "blockdev-create", "{\"job-id\": \"cq\", \"options\": {\"driver\": \"qcow2\", "
           "\"file\": \"%s_file\", \"size\": %llu}}", node, (unsigned long long)size);
    drain_events(b);
    QMP_OK(b, "job-dismiss", "{\"id\": \"cq\"}");
    drain_events(b);
    QMP_OK(b, "blockdev-add", "{\"driver\": \"qcow2\", \"node-name\": \"%s\", "
           "\"file\": \"%s_file\"}", node, node);
}

#endif /* BLOCKSIM_SIM_TEST_H */
