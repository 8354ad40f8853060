/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The case interpreter's core: output, variables, backend calls the
 * commands share, write groups, statements and procedures. Expressions are
 * in interp_expr.c; each command runs in the file that owns it
 * (harness/cmd_*.c, listed in harness/commands.c). Values are json-c
 * objects (JSON null is the NULL pointer, as in json-c); the language's
 * `none` ("absent", Python's None kwargs that 257 strips) is one sentinel
 * object compared by address.
 *
 * Scoping is dynamic: a procedure sees its callers' variables, which is how
 * a pre_finalize hook reads the parameters of the section that runs the job
 * (in 257 it is a Python closure).
 */
#include "harness/interp_int.h"
#include "harness/case_funcs.h"
#include "harness/confine.h"
#include "harness/json_render.h"
#include "harness/shell_style.h"

#include <stdarg.h>
#include <stdio.h>

#define MAX_DEPTH 200

static int exec_block(interp *I, const block *b);
static int exec_block_inner(interp *I, const block *b);

/* ------------------------------------------------------------------ */
/* Errors and output                                                    */
/* ------------------------------------------------------------------ */

void interp_fail(interp *I, int line, int col, const char *fmt, ...)
{
    if (I->err)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *msg;
    if (vasprintf(&msg, fmt, ap) < 0)
        abort();
    va_end(ap);
    if (asprintf(&I->err, "%s:%d:%d: runtime error: %s",
                 I->file ? I->file : I->prog->file, line, col, msg) < 0)
        abort();
    free(msg);
}

void interp_emit(interp *I, const char *text)
{
    char *sd = NULL;
    if (I->sock_dir && I->be->pid) {
        /* 7.2's filter_testfiles: sock_dir files too */
        char *from = NULL;
        if (asprintf(&from, "%s/%s-", I->sock_dir, I->be->pid) < 0)
            abort();
        sd = interp_replace_str(text, from, "SOCK_DIR/PID-");
        free(from);
        text = sd;
    }
    filter_testfiles_to(&I->out, text, I->be->test_dir, I->be->pid);
    free(sd);
    sbuf_addc(&I->out, '\n');
}

void interp_emit_json(interp *I, json_object *o, int indent)
{
    char *s = json_render_alloc(o, indent);
    interp_emit(I, s);
    free(s);
}

/* Print a tool's output as the test's pipe would: one line per line, no
 * line for an empty output. */
void interp_emit_text(interp *I, const char *text)
{
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char *line = strndup(p, len);
        if (!line)
            abort();
        interp_emit(I, line);
        free(line);
        p += len + (nl ? 1 : 0);
    }
}

/* _filter_testdir and _filter_imgfmt, once shell_test has set them up. */
/* text with every `from` replaced by `to` (malloc'd). */
char *interp_replace_str(const char *text, const char *from, const char *to)
{
    sbuf b = {0};
    size_t fl = strlen(from);
    for (const char *p = text, *q; *p; p = q + fl) {
        q = fl ? strstr(p, from) : NULL;
        if (!q) {
            sbuf_adds(&b, p);
            break;
        }
        sbuf_printf(&b, "%.*s%s", (int)(q - p), p, to);
    }
    char *r = xstrdup(sbuf_str(&b));
    sbuf_free(&b);
    return r;
}

void interp_emit_shell(interp *I, const char *text)
{
    /* 7.2's _filter_testdir also prints the socket directory as SOCK_DIR;
     * ours lies inside TEST_DIR, so it goes first */
    char *sd = I->sock_dir ? interp_replace_str(text, I->sock_dir, "SOCK_DIR") : NULL;
    if (sd)
        text = sd;
    char *f = shell_filter_paths(text, I->shell ? I->be->test_dir : NULL, I->shell_fmt);
    free(sd);
    interp_emit_text(I, f);
    free(f);
}

/* ------------------------------------------------------------------ */
/* Variables (dynamic scope)                                            */
/* ------------------------------------------------------------------ */

json_object *interp_lookup(interp *I, const char *name)
{
    for (size_t f = I->nframes; f-- > 0;)
        for (size_t i = 0; i < I->frames[f].n; i++)
            if (!strcmp(I->frames[f].v[i].name, name))
                return I->frames[f].v[i].val;
    return NULL;
}

int interp_defined(interp *I, const char *name)
{
    for (size_t f = I->nframes; f-- > 0;)
        for (size_t i = 0; i < I->frames[f].n; i++)
            if (!strcmp(I->frames[f].v[i].name, name))
                return 1;
    return 0;
}

/* Bind in the innermost frame; takes over the reference to val. */
void interp_bind(interp *I, const char *name, json_object *val)
{
    frame *fr = &I->frames[I->nframes - 1];
    for (size_t i = 0; i < fr->n; i++) {
        if (!strcmp(fr->v[i].name, name)) {
            json_object_put(fr->v[i].val);
            fr->v[i].val = val;
            return;
        }
    }
    fr->v = xrealloc(fr->v, (fr->n + 1) * sizeof(*fr->v));
    fr->v[fr->n].name = xstrdup(name);
    fr->v[fr->n].val = val;
    fr->n++;
}

static void push_frame(interp *I)
{
    I->frames = xrealloc(I->frames, (I->nframes + 1) * sizeof(*I->frames));
    I->frames[I->nframes].v = NULL;
    I->frames[I->nframes].n = 0;
    I->nframes++;
}

static void pop_frame(interp *I)
{
    frame *fr = &I->frames[--I->nframes];
    for (size_t i = 0; i < fr->n; i++) {
        free(fr->v[i].name);
        json_object_put(fr->v[i].val);
    }
    free(fr->v);
}

/* ------------------------------------------------------------------ */
/* Backend calls                                                        */
/* ------------------------------------------------------------------ */

/* A path the case gave must stay in the test directory (harness/confine.h);
 * the runtime error names the statement. */
int interp_confined(interp *I, const stmt *s, const char *what, const char *path, int rel)
{
    char *why = NULL;
    if (confine_path(I->be->test_dir, path, rel, &why) == 0)
        return 0;
    interp_fail(I, s ? s->line : 0, s ? s->col : 0, "%s: %s", what, why ? why : "refused");
    free(why);
    return -1;
}

/* Sends like QEMUMachine.qmp(): top-level '_' in keys become '-'. */
json_object *interp_qmp(interp *I, const stmt *s, const char *cmd, json_object *args)
{
    char *err = NULL;
    if (confine_qmp_args(I->be->test_dir, cmd, args, &err) < 0) {
        interp_fail(I, s ? s->line : 0, s ? s->col : 0, "'%s' refused: %s", cmd,
                    err ? err : "a path outside the test directory");
        free(err);
        return NULL;
    }
    json_object *sent = qmp_convert_top_keys(args);
    json_object *reply = I->be->ops->qmp(I->be, cmd, sent, &err);
    json_object_put(sent);
    if (!reply)
        interp_fail(I, s->line, s->col, "backend failed to run '%s': %s", cmd,
                    err ? err : "no reply");
    free(err);
    return reply;
}

/* iotests' qmp_log: the command (arguments sorted), then the reply. */
json_object *interp_qmp_log(interp *I, const stmt *s, const char *cmd, json_object *args,
                            int indent)
{
    sbuf b = {0};
    json_render_qmp_command(&b, cmd, args, indent);
    interp_emit(I, sbuf_str(&b));
    sbuf_free(&b);
    json_object *reply = interp_qmp(I, s, cmd, args);
    if (reply)
        interp_emit_json(I, reply, indent);
    return reply;
}

json_object *interp_hmp_qemu_io(interp *I, const stmt *s, const char *node, const char *cmd)
{
    sbuf line = {0};
    sbuf_printf(&line, "qemu-io %s \"%s\"", node, cmd);
    json_object *args = json_object_new_object();
    json_object_object_add(args, "command-line", json_object_new_string(sbuf_str(&line)));
    sbuf_free(&line);
    json_object *reply = interp_qmp(I, s, "human-monitor-command", args);
    json_object_put(args);
    return reply;
}

/* ------------------------------------------------------------------ */
/* A command's arguments                                                */
/* ------------------------------------------------------------------ */

/* Optional boolean keyword argument. */
int interp_kw_bool(interp *I, const stmt *s, const char *key, int dflt, int *out)
{
    const arg *a = stmt_kwarg(s, key);
    *out = dflt;
    if (!a)
        return 0;
    json_object *v;
    if (interp_eval(I, a->e, &v) < 0)
        return -1;
    *out = interp_truthy(I, v);
    json_object_put(v);
    return 0;
}

/* Optional keyword argument: a small non-negative int (indent=N). */
int interp_kw_int(interp *I, const stmt *s, const char *key, int64_t *out)
{
    const arg *a = stmt_kwarg(s, key);
    if (!a)
        return 0;
    if (interp_get_int(I, a->e, out) < 0)
        return -1;
    if (*out < 0 || *out > 64) {
        interp_fail(I, a->line, a->col, "%s must be between 0 and 64", key);
        return -1;
    }
    return 0;
}

/* A positional bare word such as check's "recording" (keywords may sit
 * anywhere on the line, so positions do not tell). */
int interp_has_word(const stmt *s, const char *w)
{
    for (size_t i = 0; i < s->nargs; i++)
        if (!s->args[i].key && s->args[i].word && !strcmp(s->args[i].word, w))
            return 1;
    return 0;
}

char *interp_qmp_name(interp *I, const arg *a)
{
    return a->word ? xstrdup(a->word) : interp_get_str(I, a->e);
}

int interp_qmp_args(interp *I, const stmt *s, json_object **args)
{
    *args = NULL;
    if (s->nargs < 2 || s->args[1].key)     /* no second positional argument */
        return 0;
    const expr *e = s->args[1].e;
    if (interp_eval(I, e, args) < 0)
        return -1;
    if (!json_object_is_type(*args, json_type_object) || interp_is_none(I, *args)) {
        interp_fail(I, e->line, e->col, "QMP arguments must be an object, got %s",
                    interp_type_name(I, *args));
        json_object_put(*args);
        *args = NULL;
        return -1;
    }
    return interp_check_plain(I, e, *args);
}

/* ------------------------------------------------------------------ */
/* Write groups                                                         */
/* ------------------------------------------------------------------ */

static wgroup *find_group(interp *I, const char *name)
{
    for (size_t i = 0; i < I->ngroups; i++)
        if (!strcmp(I->groups[i].name, name))
            return &I->groups[i];
    return NULL;
}

static void free_group(wgroup *g)
{
    for (size_t i = 0; i < g->n; i++)
        free(g->pattern[i]);
    free(g->pattern);
    free(g->off);
    free(g->len);
    free(g->name);
}

static int define_group(interp *I, const stmt *s)
{
    char *name = interp_get_key(I, s->e);
    if (!name)
        return -1;
    wgroup g = { .name = name, .n = s->ngitems };
    g.pattern = calloc(g.n, sizeof(*g.pattern));
    g.off = calloc(g.n, sizeof(*g.off));
    g.len = calloc(g.n, sizeof(*g.len));
    if (!g.pattern || !g.off || !g.len)
        abort();
    for (size_t i = 0; i < g.n; i++) {
        const group_item *it = &s->gitems[i];
        g.pattern[i] = xstrdup(it->pattern);
        if (interp_get_uint(I, it->off, &g.off[i]) < 0)
            goto bad;
        if (it->len) {
            if (interp_get_uint(I, it->len, &g.len[i]) < 0)
                goto bad;
        } else {
            json_object *d = interp_lookup(I, "WRITE_LEN");
            if (!interp_defined(I, "WRITE_LEN") || !json_object_is_type(d, json_type_int) ||
                json_object_get_int64(d) < 0) {
                interp_fail(I, it->line, it->col,
                            "write without a length needs $WRITE_LEN (a non-negative int)");
                goto bad;
            }
            g.len[i] = (uint64_t)json_object_get_int64(d);
        }
    }
    wgroup *old = find_group(I, name);
    if (old) {
        free_group(old);
        *old = g;
    } else {
        I->groups = xrealloc(I->groups, (I->ngroups + 1) * sizeof(*I->groups));
        I->groups[I->ngroups++] = g;
    }
    return 0;
bad:
    free_group(&g);
    return -1;
}

wgroup *interp_need_group(interp *I, const expr *e)
{
    char *name = interp_get_key(I, e);
    if (!name)
        return NULL;
    wgroup *g = find_group(I, name);
    if (!g)
        interp_fail(I, e->line, e->col, "no write group '%s'", name);
    free(name);
    return g;
}

/* ------------------------------------------------------------------ */
/* Statements and procedures                                            */
/* ------------------------------------------------------------------ */

int interp_call_proc(interp *I, const stmt *s, const proc *pr, json_object **args)
{
    if (I->nframes > MAX_DEPTH) {
        interp_fail(I, s->line, s->col, "procedures nested more than %d deep", MAX_DEPTH);
        for (size_t i = 0; i < pr->nparams; i++)
            json_object_put(args[i]);
        return -1;
    }
    push_frame(I);
    for (size_t i = 0; i < pr->nparams; i++)
        interp_bind(I, pr->params[i], args[i]);
    const char *caller_file = I->file;
    int r = exec_block(I, &pr->body);
    if (r == 0)
        I->file = caller_file;
    pop_frame(I);
    return r;
}

static int exec_stmt(interp *I, const stmt *s)
{
    json_object *v;
    if (s->file)
        I->file = s->file;
    switch (s->kind) {
    case S_LET:
        if (interp_eval(I, s->e, &v) < 0)
            return -1;
        interp_bind(I, s->name, v);
        return 0;
    case S_GROUP:
        return define_group(I, s);
    case S_CALL: {
        json_object **args = calloc(s->nargs + 1, sizeof(*args));
        if (!args)
            abort();
        for (size_t i = 0; i < s->nargs; i++) {
            if (interp_eval(I, s->args[i].e, &args[i]) < 0) {
                for (size_t k = 0; k < i; k++)
                    json_object_put(args[k]);
                free(args);
                return -1;
            }
        }
        int r = interp_call_proc(I, s, s->proc, args);
        free(args);
        return r;
    }
    case S_IF:
        for (size_t i = 0; i < s->nconds; i++) {
            if (interp_eval(I, s->conds[i], &v) < 0)
                return -1;
            int t = interp_truthy(I, v);
            json_object_put(v);
            if (t)
                return exec_block(I, &s->bodies[i]);
        }
        return exec_block(I, &s->else_body);
    case S_FOR: {
        if (interp_eval(I, s->e, &v) < 0)
            return -1;
        if (!json_object_is_type(v, json_type_array) || interp_is_none(I, v)) {
            interp_fail(I, s->e->line, s->e->col, "'for' needs a list, got %s",
                        interp_type_name(I, v));
            json_object_put(v);
            return -1;
        }
        int r = 0;
        for (size_t i = 0; i < json_object_array_length(v) && r == 0; i++) {
            interp_bind(I, s->name, json_object_get(json_object_array_get_idx(v, i)));
            r = exec_block(I, &s->body);
        }
        json_object_put(v);
        return r;
    }
    case S_CMD:
        return s->cmd->exec(I, s);
    }
    return -1;
}

static int exec_block(interp *I, const block *b)
{
    if (I->nest + 1 > MAX_RUN_NESTING) {
        if (b->n)
            interp_fail(I, b->v[0]->line, b->v[0]->col,
                        "blocks, calls and expressions nested more than %d deep", MAX_RUN_NESTING);
        return -1;
    }
    I->nest++;
    int r = exec_block_inner(I, b);
    I->nest--;
    return r;
}

static int exec_block_inner(interp *I, const block *b)
{
    for (size_t i = 0; i < b->n; i++) {
        if (exec_stmt(I, b->v[i]) < 0) {
            if (!I->err)    /* every failing path reports; be safe anyway */
                interp_fail(I, b->v[i]->line, b->v[i]->col, "statement failed");
            return -1;
        }
    }
    return 0;
}

int case_run(const program *prog, bs_backend *be, double timeout_s, char **transcript,
             char **err)
{
    case_limits lim = { CASE_DEFAULT_VALUE_BYTES, CASE_DEFAULT_MODEL_BYTES };
    return case_run_limited(prog, be, timeout_s, &lim, transcript, err);
}

int case_run_limited(const program *prog, bs_backend *be, double timeout_s,
                     const case_limits *lim, char **transcript, char **err)
{
    interp I = { .prog = prog, .be = be, .timeout = timeout_s, .lim = *lim };
    I.none = json_object_new_string("<none>");
    I.orc = oracle_new();
    push_frame(&I);
    int r = exec_block(&I, &prog->top);
    if (cmd_qmp_shutdown_vm(&I, NULL) < 0)
        r = -1;
    if (I.qemu_nbd && be->ops->qemu_nbd_stop)
        be->ops->qemu_nbd_stop(be);
    real_io_close(I.io, be);
    free(I.io_image);
    free(I.io_fmt);
    while (I.nframes)
        pop_frame(&I);
    free(I.frames);
    for (size_t i = 0; i < I.ngroups; i++)
        free_group(&I.groups[i]);
    free(I.groups);
    cmd_qmp_drop_events(&I);
    free(I.events);
    json_object_put(I.listing);
    free(I.shell_fmt);
    free(I.sock_dir);
    oracle_free(I.orc);
    oracle_images_free(I.imgs);
    json_object_put(I.none);
    *transcript = sbuf_take(&I.out);
    if (r == 0 && I.checks_failed) {
        /* every check has printed; the run fails on the first that failed */
        if (asprintf(&I.err, "%s (%zu check%s failed)", I.first_check_fail, I.checks_failed,
                     I.checks_failed == 1 ? "" : "s") < 0)
            abort();
        r = -1;
    }
    free(I.first_check_fail);
    if (r < 0) {
        *err = I.err;
    } else {
        free(I.err);
        *err = NULL;
    }
    return r;
}
