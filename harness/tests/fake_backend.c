/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "harness/tests/fake_backend.h"

#include "harness/case.h"
#include "harness/interp.h"

#include <json-c/json.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fake_push_event(fake_backend *f, json_object *ev)
{
    if (f->nev == f->cap) {
        f->cap = f->cap ? 2 * f->cap : 16;
        f->ev = realloc(f->ev, f->cap * sizeof(*f->ev));
        if (!f->ev)
            abort();
    }
    f->ev[f->nev++] = ev;
}

void fake_push(fake_backend *f, const char *name, const char *data_json)
{
    json_object *ev = json_object_new_object();
    json_object_object_add(ev, "event", json_object_new_string(name));
    json_object_object_add(ev, "data", json_tokener_parse(data_json));
    json_object *ts = json_object_new_object();
    json_object_object_add(ts, "seconds", json_object_new_int(1700000000));
    json_object_object_add(ts, "microseconds", json_object_new_int(12345));
    json_object_object_add(ev, "timestamp", ts);
    fake_push_event(f, ev);
}

void fake_reply(fake_backend *f, const char *cmd, const char *reply_json)
{
    json_object_object_add(f->replies, cmd, json_tokener_parse(reply_json));
}

static void status(fake_backend *f, const char *job, const char *st)
{
    char data[256];
    snprintf(data, sizeof(data), "{\"id\": \"%s\", \"status\": \"%s\"}", job, st);
    fake_push(f, "JOB_STATUS_CHANGE", data);
}

static void block_event(fake_backend *f, const char *name, const char *job)
{
    char data[256];
    if (!strcmp(name, "BLOCK_JOB_PENDING"))
        snprintf(data, sizeof(data), "{\"id\": \"%s\", \"type\": \"backup\"}", job);
    else
        snprintf(data, sizeof(data),
                 "{\"device\": \"%s\", \"len\": 65536, \"offset\": 65536, \"speed\": 0, "
                 "\"type\": \"backup\"}", job);
    fake_push(f, name, data);
}

static const char *arg_str(json_object *args, const char *key)
{
    json_object *v;
    if (!args || !json_object_object_get_ex(args, key, &v))
        return NULL;
    return json_object_get_string(v);
}

/* The job life cycles of QEMU 7.2 (see sim/MODEL.md). */
static void jobs(fake_backend *f, const char *cmd, json_object *args)
{
    const char *job = arg_str(args, "job-id");
    if (!strcmp(cmd, "blockdev-create") && job && !f->silent_jobs) {
        status(f, job, "created");
        status(f, job, "running");
        status(f, job, "waiting");
        status(f, job, "pending");
        status(f, job, "concluded");
    } else if (!strcmp(cmd, "blockdev-backup") && job && !f->silent_jobs) {
        json_object *af;
        int auto_finalize = !(json_object_object_get_ex(args, "auto-finalize", &af) &&
                              !json_object_get_boolean(af));
        status(f, job, "created");
        status(f, job, "running");
        status(f, job, "waiting");
        status(f, job, "pending");
        if (auto_finalize) {
            block_event(f, "BLOCK_JOB_COMPLETED", job);
            status(f, job, "concluded");
            status(f, job, "null");
        } else {
            block_event(f, "BLOCK_JOB_PENDING", job);
        }
    } else if (!strcmp(cmd, "job-finalize")) {
        job = arg_str(args, "id");
        block_event(f, "BLOCK_JOB_COMPLETED", job);
        status(f, job, "concluded");
        status(f, job, "null");
    } else if (!strcmp(cmd, "job-cancel")) {
        job = arg_str(args, "id");
        status(f, job, "aborting");
        block_event(f, "BLOCK_JOB_CANCELLED", job);
        status(f, job, "concluded");
        status(f, job, "null");
    } else if (!strcmp(cmd, "job-dismiss")) {
        status(f, arg_str(args, "id"), "null");
    } else if (!strcmp(cmd, "job-complete")) {
        job = arg_str(args, "id");
        block_event(f, "BLOCK_JOB_COMPLETED", job);
        status(f, job, "concluded");
        status(f, job, "null");
    }
}

static int f_launch(bs_backend *b, char **err)
{
    fake_backend *f = (fake_backend *)b;
    sbuf_adds(&f->calls, "launch\n");
    if (f->fail_launch) {
        *err = strdup("no VM for you");
        return -1;
    }
    return 0;
}

static int f_launch_args(bs_backend *b, const char *const *argv, size_t argc, char **err)
{
    fake_backend *f = (fake_backend *)b;
    sbuf_adds(&f->calls, "launch_args");
    for (size_t i = 0; i < argc; i++)
        sbuf_printf(&f->calls, " %s", argv[i]);
    sbuf_addc(&f->calls, '\n');
    if (f->fail_launch) {
        *err = strdup("no VM for you");
        return -1;
    }
    return 0;
}

/* qemu-img: "info" prints the JSON set with fake_reply(f, "qemu-img info", ...);
 * anything else prints the string set with fake_reply(f, "qemu-img stdout", ...)
 * or nothing; "fail" exits 1. */
static int f_img_run(bs_backend *b, const char *const *argv, size_t argc, char **out,
                     char **errout, char **err)
{
    fake_backend *f = (fake_backend *)b;
    struct json_object *r = NULL;
    sbuf_adds(&f->calls, "qemu-img");
    for (size_t i = 0; i < argc; i++)
        sbuf_printf(&f->calls, " %s", argv[i]);
    sbuf_addc(&f->calls, '\n');
    *errout = strdup(argc && !strcmp(argv[0], "fail") ? "qemu-img: it failed\n" : "");
    if (argc && !strcmp(argv[0], "info") && f->replies &&
        json_object_object_get_ex(f->replies, "qemu-img info", &r))
        *out = strdup(json_object_to_json_string(r));
    else if (f->replies && json_object_object_get_ex(f->replies, "qemu-img stdout", &r))
        *out = strdup(json_object_get_string(r));   /* text for shell-style commands */
    else
        *out = strdup("");
    return argc && !strcmp(argv[0], "fail") ? 1 : 0;
}

static int f_shutdown(bs_backend *b, char **err)
{
    fake_backend *f = (fake_backend *)b;
    sbuf_adds(&f->calls, "shutdown\n");
    if (f->fail_shutdown) {
        *err = strdup("it will not stop");
        return -1;
    }
    return 0;
}

static json_object *f_qmp(bs_backend *b, const char *cmd, json_object *args, char **err)
{
    fake_backend *f = (fake_backend *)b;
    sbuf_printf(&f->calls, "qmp %s %s\n", cmd,
                args ? json_object_to_json_string_ext(args, JSON_C_TO_STRING_PLAIN) : "-");
    if (f->fail_qmp && !strcmp(f->fail_qmp, cmd)) {
        *err = strdup("the monitor went away");
        return NULL;
    }
    json_object *r;
    if (json_object_object_get_ex(f->replies, cmd, &r))
        return json_object_get(r);
    jobs(f, cmd, args);
    json_object *reply = json_object_new_object();
    if (!strcmp(cmd, "human-monitor-command"))
        json_object_object_add(reply, "return", json_object_new_string(""));
    else if (!strcmp(cmd, "query-named-block-nodes"))
        json_object_object_add(reply, "return", json_object_get(f->nodes));
    else
        json_object_object_add(reply, "return", json_object_new_object());
    return reply;
}

static json_object *f_next_event(bs_backend *b, double timeout_s, char **err)
{
    fake_backend *f = (fake_backend *)b;
    if (f->fail_events) {
        *err = strdup("timed out");
        return NULL;
    }
    if (f->nev == 0)
        return NULL;
    json_object *ev = f->ev[0];
    memmove(f->ev, f->ev + 1, (f->nev - 1) * sizeof(*f->ev));
    f->nev--;
    return ev;
}

static int f_img_create(bs_backend *b, const char *fmt, const char *path, uint64_t size,
                        const char *backing, const char *backing_fmt, char **err)
{
    fake_backend *f = (fake_backend *)b;
    sbuf_printf(&f->calls, "img_create %s %s %llu", fmt, path, (unsigned long long)size);
    if (backing)
        sbuf_printf(&f->calls, " -b %s -F %s", backing, backing_fmt ? backing_fmt : "-");
    sbuf_printf(&f->calls, "\n");
    if (f->fail_img_create) {
        *err = strdup("disk full");
        return -1;
    }
    return 0;
}

static int f_rebase(bs_backend *b, const char *path, const char *backing, char **err)
{
    fake_backend *f = (fake_backend *)b;
    sbuf_printf(&f->calls, "rebase %s %s\n", path, backing);
    if (f->fail_rebase) {
        *err = strdup("no such image");
        return -1;
    }
    return 0;
}

static int f_compare(bs_backend *b, const char *a, const char *b2, char **err)
{
    fake_backend *f = (fake_backend *)b;
    sbuf_printf(&f->calls, "compare %s %s\n", a, b2);
    if (f->compare_ret < 0)
        *err = strdup("cannot open");
    return f->compare_ret;
}

static void f_destroy(bs_backend *b)
{
    fake_backend *f = (fake_backend *)b;
    for (size_t i = 0; i < f->nev; i++)
        json_object_put(f->ev[i]);
    free(f->ev);
    json_object_put(f->nodes);
    json_object_put(f->replies);
    sbuf_free(&f->calls);
    free(f);
}

static const bs_backend_ops fake_ops = {
    .name = "fake",
    .launch = f_launch,
    .launch_args = f_launch_args,
    .img_run = f_img_run,
    .shutdown = f_shutdown,
    .qmp = f_qmp,
    .next_event = f_next_event,
    .img_create = f_img_create,
    .img_rebase_unsafe = f_rebase,
    .img_compare = f_compare,
    .destroy = f_destroy,
};

fake_backend *fake_new(void)
{
    fake_backend *f = calloc(1, sizeof(*f));
    if (!f)
        abort();
    f->base.ops = &fake_ops;
    f->base.test_dir = "/tmp/fake-td";
    f->base.pid = "4242";
    f->nodes = json_object_new_array();
    f->replies = json_object_new_object();
    return f;
}

int fake_run_case(fake_backend *f, const char *src, char **out, char **err)
{
    char *perr = NULL;
    program *p = case_parse_string("t.case", src, &perr);
    if (!p)
        fail_msg("parse error: %s", perr);
    int r = case_run(p, &f->base, 1.0, out, err);
    case_free(p);
    return r;
}
