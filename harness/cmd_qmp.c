/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Case commands of the VM, QMP and jobs: launch and shutdown, QMP commands
 * and HMP's qemu-io, run_job (iotests 7.2 VM.run_job), event waits.
 */
#include "harness/interp_int.h"
#include "harness/confine.h"
#include "harness/json_render.h"

#include <stdio.h>

/* iotests' VM.add_drive(path, opts='', interface='virtio', img_format):
 * each drive {"path": P, "opts": O, "interface": I, "format": F} becomes
 * -drive if=I,id=driveN,file=P,format=F,cache=writeback,aio=threads[,O]
 * (the cache and aio modes ./check uses by default). A virtio drive needs a
 * PC machine; the backends see the whole argv. */
static __attribute__((noinline)) int drive_argv(interp *I, const arg *a, json_object *drives,
                                                const arg *xa, json_object *extra, char ***argv,
                                                size_t *argc)
{
    if (drives && (!json_object_is_type(drives, json_type_array) || interp_is_none(I, drives))) {
        interp_fail(I, a->line, a->col, "drives must be a list of objects, got %s",
                    interp_type_name(I, drives));
        return -1;
    }
    if (xa && (!json_object_is_type(extra, json_type_array) || interp_is_none(I, extra))) {
        interp_fail(I, xa->line, xa->col, "args must be a list of strings, got %s",
                    interp_type_name(I, extra));
        return -1;
    }
    size_t n = drives ? json_object_array_length(drives) : 0;
    size_t nx = extra ? json_object_array_length(extra) : 0;
    *argv = calloc(2 * n + nx + 5, sizeof(**argv));
    if (!*argv)
        abort();
    int virtio = 0;
    for (size_t i = 0; i < n; i++) {
        json_object *d = json_object_array_get_idx(drives, i);
        const char *path = NULL, *opts = "", *iface = "virtio", *fmt = "qcow2";
        if (!json_object_is_type(d, json_type_object) || interp_is_none(I, d)) {
            interp_fail(I, a->line, a->col, "drives[%zu] must be an object", i);
            return -1;
        }
        json_object_object_foreach(d, key, val) {
            const char **slot = !strcmp(key, "path") ? &path : !strcmp(key, "opts") ? &opts
                : !strcmp(key, "interface") ? &iface : !strcmp(key, "format") ? &fmt : NULL;
            if (!slot) {
                interp_fail(I, a->line, a->col,
                        "drives[%zu]: unknown key \"%s\" (path, opts, interface, format)", i, key);
                return -1;
            }
            if (!json_object_is_type(val, json_type_string) || interp_is_none(I, val)) {
                interp_fail(I, a->line, a->col, "drives[%zu].%s must be a string", i, key);
                return -1;
            }
            *slot = json_object_get_string(val);
        }
        if (!path) {
            interp_fail(I, a->line, a->col, "drives[%zu] needs a \"path\"", i);
            return -1;
        }
        char *why = NULL;
        if (confine_path(I->be->test_dir, path, 0, &why) < 0) {
            interp_fail(I, a->line, a->col, "launch drives: %s", why ? why : "refused");
            free(why);
            return -1;
        }
        virtio |= !strcmp(iface, "virtio");
        sbuf b = {0};
        sbuf_printf(&b, "if=%s,id=drive%zu,file=%s,format=%s,cache=writeback,aio=threads%s%s",
                    iface, i, path, fmt, *opts ? "," : "", opts);
        (*argv)[(*argc)++] = xstrdup("-drive");
        (*argv)[(*argc)++] = sbuf_take(&b);
    }
    /* iotests' VM.add_object / add_device arguments, as given */
    for (size_t i = 0; i < nx; i++) {
        json_object *v = json_object_array_get_idx(extra, i);
        if (!json_object_is_type(v, json_type_string) || interp_is_none(I, v)) {
            interp_fail(I, xa->line, xa->col, "args[%zu] must be a string", i);
            return -1;
        }
        (*argv)[(*argc)++] = xstrdup(json_object_get_string(v));
        virtio |= !strcmp(json_object_get_string(v), "-device");
    }
    if (virtio) {
        (*argv)[(*argc)++] = xstrdup("-machine");
        (*argv)[(*argc)++] = xstrdup("pc");
        (*argv)[(*argc)++] = xstrdup("-accel");
        (*argv)[(*argc)++] = xstrdup("tcg");
    }
    return 0;
}

int cmd_qmp_launch(interp *I, const stmt *s)
{
    char *err = NULL;
    if (I->launched) {
        interp_fail(I, s->line, s->col, "the VM is already running");
        return -1;
    }
    const arg *da = s ? stmt_kwarg(s, "drives") : NULL, *xa = s ? stmt_kwarg(s, "args") : NULL;
    int r;
    if (da || xa) {
        json_object *drives = NULL, *extra = NULL;
        if (da && interp_eval(I, da->e, &drives) < 0)
            return -1;
        if (xa && interp_eval(I, xa->e, &extra) < 0) {
            json_object_put(drives);
            return -1;
        }
        char **argv = NULL;
        size_t argc = 0;
        r = drive_argv(I, da ? da : xa, drives, xa, extra, &argv, &argc);
        json_object_put(drives);
        json_object_put(extra);
        if (r == 0 && !I->be->ops->launch_args) {
            interp_fail(I, s->line, s->col, "the %s backend cannot launch with drives",
                        I->be->ops->name);
            r = -1;
        } else if (r == 0) {
            for (size_t i = 0; i < argc && r == 0; i++) {
                if (confine_words(I->be->test_dir, argv[i], &err) < 0) {
                    interp_fail(I, s->line, s->col, "launch: %s",
                                err ? err : "a path outside the test directory");
                    r = -1;
                }
            }
            if (r == 0)
                r = I->be->ops->launch_args(I->be, (const char *const *)argv, argc, &err);
        }
        for (size_t i = 0; i < argc; i++)
            free(argv[i]);
        free(argv);
        if (r < 0 && I->err)
            return -1;
    } else {
        r = I->be->ops->launch(I->be, &err);
    }
    if (r < 0) {
        interp_fail(I, s->line, s->col, "launch failed: %s", err ? err : "?");
        free(err);
        return -1;
    }
    I->launched = 1;
    return 0;
}

void cmd_qmp_drop_events(interp *I)
{
    for (size_t i = 0; i < I->nevents; i++)
        json_object_put(I->events[i]);
    I->nevents = 0;
}

int cmd_qmp_shutdown_vm(interp *I, const stmt *s)
{
    char *err = NULL;
    if (!I->launched)
        return 0;   /* like iotests' VM.shutdown() of a stopped VM */
    I->launched = 0;
    I->session = 0;     /* a shell session ends with its VM */
    cmd_qmp_drop_events(I);
    if (I->be->ops->shutdown(I->be, &err) < 0) {
        if (s)
            interp_fail(I, s->line, s->col, "shutdown failed: %s", err ? err : "?");
        else if (!I->err && asprintf(&I->err, "%s: shutdown at the end of the case failed: %s",
                                     I->prog->file, err ? err : "?") < 0)
            abort();
        free(err);
        return -1;
    }
    return 0;
}

static const char *data_str(json_object *ev, const char *key)
{
    json_object *data, *v;
    if (!json_object_object_get_ex(ev, "data", &data) ||
        !json_object_object_get_ex(data, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static const char *event_name(json_object *ev)
{
    json_object *v;
    if (!json_object_object_get_ex(ev, "event", &v) || !json_object_is_type(v, json_type_string))
        return "";
    return json_object_get_string(v);
}

static int job_event(json_object *ev, const char *job)
{
    static const char *const by_device[] = {
        "BLOCK_JOB_COMPLETED", "BLOCK_JOB_CANCELLED", "BLOCK_JOB_ERROR", "BLOCK_JOB_READY", NULL
    };
    static const char *const by_id[] = { "BLOCK_JOB_PENDING", "JOB_STATUS_CHANGE", NULL };
    const char *name = event_name(ev), *v;
    for (const char *const *n = by_device; *n; n++)
        if (!strcmp(name, *n))
            return (v = data_str(ev, "device")) && !strcmp(v, job);
    for (const char *const *n = by_id; *n; n++)
        if (!strcmp(name, *n))
            return (v = data_str(ev, "id")) && !strcmp(v, job);
    return 0;
}

/* The next event of `job`: from the cache first, then from the backend,
 * caching the others (iotests' events_wait). NULL after rt_fail. */
static json_object *wait_job_event(interp *I, const stmt *s, const char *job)
{
    for (size_t i = 0; i < I->nevents; i++) {
        if (job_event(I->events[i], job)) {
            json_object *ev = I->events[i];
            memmove(&I->events[i], &I->events[i + 1], (I->nevents - i - 1) * sizeof(*I->events));
            I->nevents--;
            return ev;
        }
    }
    for (;;) {
        char *err = NULL;
        json_object *ev = I->be->ops->next_event(I->be, I->timeout, &err);
        if (!ev) {
            if (err)
                interp_fail(I, s->line, s->col, "waiting for an event of job '%s': %s", job, err);
            else
                interp_fail(I, s->line, s->col,
                        "job '%s' never reached status null: the backend has no more events", job);
            free(err);
            return NULL;
        }
        if (!json_object_is_type(ev, json_type_object)) {
            interp_fail(I, s->line, s->col, "the backend returned an event that is not an object");
            json_object_put(ev);
            return NULL;
        }
        if (job_event(ev, job))
            return ev;
        I->events = xrealloc(I->events, (I->nevents + 1) * sizeof(*I->events));
        I->events[I->nevents++] = ev;
    }
}

static int job_command(interp *I, const stmt *s, const char *cmd, const char *job)
{
    json_object *args = json_object_new_object();
    json_object_object_add(args, "id", json_object_new_string(job));
    json_object *reply = interp_qmp_log(I, s, cmd, args, -1);
    json_object_put(args);
    json_object_put(reply);
    return reply ? 0 : -1;
}

static int run_job(interp *I, const stmt *s, const char *job, int auto_finalize,
                   int auto_dismiss, int cancel, const proc *hook)
{
    for (;;) {
        json_object *ev = wait_job_event(I, s, job);
        if (!ev)
            return -1;
        if (strcmp(event_name(ev), "JOB_STATUS_CHANGE")) {
            /* printed, with iotests' filtered timestamp */
            json_object *ts;
            if (json_object_object_get_ex(ev, "timestamp", &ts)) {
                json_object *t = json_object_new_object();
                json_object_object_add(t, "seconds", json_object_new_string("SECS"));
                json_object_object_add(t, "microseconds", json_object_new_string("USECS"));
                json_object_object_add(ev, "timestamp", t);
            }
            interp_emit_json(I, ev, -1);
            json_object_put(ev);
            continue;
        }
        const char *status = data_str(ev, "status");
        int r = 0, done = 0;
        if (!status) {
            interp_fail(I, s->line, s->col, "JOB_STATUS_CHANGE without a status");
            r = -1;
        } else if (!strcmp(status, "ready")) {
            r = job_command(I, s, "job-complete", job);
        } else if (!strcmp(status, "pending") && !auto_finalize) {
            if (hook)
                r = interp_call_proc(I, s, hook, NULL);
            if (r == 0)
                r = job_command(I, s, cancel ? "job-cancel" : "job-finalize", job);
        } else if (!strcmp(status, "concluded") && !auto_dismiss) {
            r = job_command(I, s, "job-dismiss", job);
        } else if (!strcmp(status, "null")) {
            done = 1;
        }
        /* "aborting" prints nothing in iotests 7.2 */
        json_object_put(ev);
        if (r < 0)
            return -1;
        if (done)
            return 0;
    }
}

static int exec_qmp(interp *I, const stmt *s)
{
    char *name = interp_qmp_name(I, &s->args[0]);
    json_object *args = NULL, *reply = NULL, *ret;
    int r = -1;
    if (!name || interp_qmp_args(I, s, &args) < 0)
        goto out;
    if (stmt_is(s, "qmp_log")) {
        int64_t indent = -1;
        if (interp_kw_int(I, s, "indent", &indent) < 0)
            goto out;
        reply = interp_qmp_log(I, s, name, args, (int)indent);
    } else {
        reply = interp_qmp(I, s, name, args);
        if (reply && stmt_is(s, "qmp_return")) {
            /* log(vm.command(...)): the return value; an error would raise */
            if (!json_object_object_get_ex(reply, "return", &ret)) {
                char *txt = json_render_alloc(reply, -1);
                interp_fail(I, s->line, s->col, "'%s' failed: %s", name, txt);
                free(txt);
                goto out;
            }
            if (json_object_is_type(ret, json_type_string))
                interp_emit(I, json_object_get_string(ret));
            else
                interp_emit_json(I, ret, -1);
        }
    }
    r = reply ? 0 : -1;
out:
    json_object_put(reply);
    json_object_put(args);
    free(name);
    return r;
}

/* iotests' event_match: every member of the pattern is in the event, objects
 * compared member by member, anything else by value. */
static int event_matches(json_object *ev, json_object *pattern)
{
    if (!pattern)
        return 1;
    if (json_object_is_type(pattern, json_type_object)) {
        if (!json_object_is_type(ev, json_type_object))
            return 0;
        json_object_object_foreach(pattern, key, want) {
            json_object *have;
            if (!json_object_object_get_ex(ev, key, &have) || !event_matches(have, want))
                return 0;
        }
        return 1;
    }
    return json_object_equal(ev, pattern);
}

/* `event_wait NAME [device=D] [match=OBJ] [quiet=B]`: iotests'
 * vm.event_wait(NAME, match=...) (the cached events first), logged with
 * its timestamp hidden unless quiet (the test only waits);
 * `event_get VAR NAME [device=D]`: binds it, silently (real timestamps
 * kept). */
static int exec_event_wait(interp *I, const stmt *s)
{
    const arg *na = &s->args[stmt_is(s, "event_get") ? 1 : 0];
    char *name = interp_get_str(I, na->e), *device = NULL;
    const arg *da = stmt_kwarg(s, "device"), *ma = stmt_kwarg(s, "match");
    json_object *match = NULL;
    int quiet = 0;
    if (!name || (da && !(device = interp_get_str(I, da->e))) ||
        interp_kw_bool(I, s, "quiet", 0, &quiet) < 0 ||
        (ma && interp_eval(I, ma->e, &match) < 0)) {
        free(name);
        free(device);
        return -1;
    }
    json_object *ev = NULL;
    for (size_t i = 0; i < I->nevents && !ev; i++) {
        const char *d = data_str(I->events[i], "device");
        if (!strcmp(event_name(I->events[i]), name) && (!device || (d && !strcmp(d, device))) &&
            event_matches(I->events[i], match)) {
            ev = I->events[i];
            memmove(&I->events[i], &I->events[i + 1], (I->nevents - i - 1) * sizeof(*I->events));
            I->nevents--;
        }
    }
    while (!ev) {
        char *err = NULL;
        json_object *e = I->be->ops->next_event(I->be, I->timeout, &err);
        if (!e) {
            interp_fail(I, s->line, s->col, "no %s event%s%s: %s", name, device ? " of " : "",
                        device ? device : "", err ? err : "the backend has no more events");
            free(err);
            free(name);
            free(device);
            json_object_put(match);
            return -1;
        }
        const char *d = data_str(e, "device");
        if (!strcmp(event_name(e), name) && (!device || (d && !strcmp(d, device))) &&
            event_matches(e, match)) {
            ev = e;
        } else {
            I->events = xrealloc(I->events, (I->nevents + 1) * sizeof(*I->events));
            I->events[I->nevents++] = e;
        }
    }
    json_object_put(match);
    if (stmt_is(s, "event_get")) {
        interp_bind(I, s->args[0].word, ev);
        free(name);
        free(device);
        return 0;
    }
    json_object *t = json_object_new_object();
    json_object_object_add(t, "seconds", json_object_new_string("SECS"));
    json_object_object_add(t, "microseconds", json_object_new_string("USECS"));
    json_object_object_add(ev, "timestamp", t);
    if (!quiet)
        interp_emit_json(I, ev, -1);
    json_object_put(ev);
    free(name);
    free(device);
    return 0;
}

/* events_pending NAME: iotests' get_qmp_events(wait=False): every event
 * received and not yet taken, oldest first, into $NAME (a list); they are
 * taken. */
static int exec_events_pending(interp *I, const stmt *s)
{
    json_object *list = json_object_new_array();
    for (size_t i = 0; i < I->nevents; i++)
        json_object_array_add(list, I->events[i]);
    I->nevents = 0;
    for (;;) {
        char *err = NULL;
        json_object *ev = I->be->ops->next_event(I->be, 0, &err);
        if (!ev) {
            if (err) {
                interp_fail(I, s->line, s->col, "taking the pending events: %s", err);
                free(err);
                json_object_put(list);
                return -1;
            }
            break;
        }
        json_object_array_add(list, ev);
    }
    interp_bind(I, s->args[0].word, list);
    return 0;
}

static void check_events_pending(case_parser *p, const stmt *s, arg **pos, size_t npos)
{
    case_want_word(p, pos[0], "a variable name (without '$')");
}

/* hmp_io NODE CMD: iotests' vm.hmp_qemu_io, its reply logged */
static int exec_hmp_io(interp *I, const stmt *s)
{
    json_object *v = NULL;
    int r = 0;
    char *x = interp_get_str(I, s->args[0].e);
    char *y = x ? interp_get_str(I, s->args[1].e) : NULL;
    if (y && (v = interp_hmp_qemu_io(I, s, x, y)) != NULL)
        interp_emit_json(I, v, -1);
    else
        r = -1;
    json_object_put(v);
    free(x);
    free(y);
    return r;
}

/* run_job JOB [auto_finalize=B] [auto_dismiss=B] [cancel=B] [pre_finalize=PROC] */
static int exec_run_job(interp *I, const stmt *s)
{
    int af, ad, cancel, r;
    char *x = interp_get_str(I, s->args[0].e);
    if (!x || interp_kw_bool(I, s, "auto_finalize", 1, &af) < 0 ||
        interp_kw_bool(I, s, "auto_dismiss", 0, &ad) < 0 ||
        interp_kw_bool(I, s, "cancel", 0, &cancel) < 0)
        r = -1;
    else
        r = run_job(I, s, x, af, ad, cancel, s->proc);
    free(x);
    return r;
}

/* qmp*, sh_qmp: a command's arguments and keywords are expressions, its
 * name a bare word or one. */
void case_check_qmp(case_parser *p, const stmt *s, arg **pos, size_t npos)
{
    if (npos > 1)
        case_want_expr(p, pos[1], "the command's arguments");
    for (size_t i = 0; i < s->nargs; i++)
        if (s->args[i].key && case_want_expr(p, &s->args[i], "an expression") < 0)
            return;
}

static void check_event_get(case_parser *p, const stmt *s, arg **pos, size_t npos)
{
    if (case_want_word(p, pos[0], "a variable name (without '$')") == 0)
        case_check_exprs(p, s, pos + 1, npos - 1);
}

const case_command cmd_qmp_commands[] = {
    { "launch", 0, 0, "drives args", .exec = cmd_qmp_launch },
    { "shutdown", 0, 0, "", .exec = cmd_qmp_shutdown_vm },
    { "qmp_log", 1, 2, "indent", .check = case_check_qmp, .exec = exec_qmp },
    { "qmp_return", 1, 2, "", .check = case_check_qmp, .exec = exec_qmp },
    { "qmp", 1, 2, "", .check = case_check_qmp, .exec = exec_qmp },
    { "hmp_io", 2, 2, "", .exec = exec_hmp_io },
    { "run_job", 1, 1, "auto_finalize auto_dismiss cancel pre_finalize",
      .proc_key = "pre_finalize", .exec = exec_run_job },
    { "event_wait", 1, 1, "device match quiet", .exec = exec_event_wait },
    { "event_get", 2, 2, "device", .check = check_event_get, .exec = exec_event_wait },
    { "events_pending", 1, 1, "", .check = check_events_pending,
      .exec = exec_events_pending },
    { .name = NULL }
};
