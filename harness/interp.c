/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The case interpreter. Values are json-c objects (JSON null is the NULL
 * pointer, as in json-c); the language's `none` ("absent", Python's None
 * kwargs that 257 strips) is one sentinel object compared by address.
 *
 * Scoping is dynamic: a procedure sees its callers' variables, which is how
 * a pre_finalize hook reads the parameters of the section that runs the job
 * (in 257 it is a Python closure).
 */
#include "harness/interp.h"
#include "harness/checks.h"
#include "harness/confine.h"
#include "harness/case_funcs.h"
#include "harness/json_render.h"
#include "harness/limits.h"
#include "harness/sbuf.h"
#include "harness/shell_style.h"
#include "harness/tool_run.h"
#include "harness/real_clients.h"
#include "oracle/image.h"
#include "oracle/oracle.h"

#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <regex.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_DEPTH 200
/* Blocks and expressions being run at once, across procedure calls: the
 * parser bounds each case's nesting, this bounds their product. */
#define MAX_RUN_NESTING 4000

typedef struct var {
    char *name;
    json_object *val;
} var;

typedef struct frame {
    var *v;
    size_t n;
} frame;

typedef struct wgroup {
    char *name;
    size_t n;
    char **pattern;
    uint64_t *off, *len;
} wgroup;

typedef struct interp {
    const program *prog;
    const char *file;           /* of the statement running (includes have their own) */
    bs_backend *be;
    double timeout;
    sbuf out;
    char *err;
    json_object *none;
    frame *frames;
    size_t nframes;
    wgroup *groups;
    size_t ngroups;
    oracle *orc;
    json_object *listing;       /* the last {"node": [bitmaps]} */
    json_object **events;       /* received but not yet wanted (iotests caches them) */
    size_t nevents;
    int launched;
    oracle_images *imgs;        /* image-content models (image, check_image) */
    int shell;                  /* shell_test: shell filters on */
    char *shell_fmt;            /* its IMGFMT */
    int shell72;                /* shell_test qemu="7.2": 7.2's common.rc / common.qemu */
    char *sock_dir;             /* its SOCK_DIR, printed as SOCK_DIR */
    int qemu_nbd;               /* a qemu-nbd server process was started */
    /* qemu_io_interactive: a real process, or (internal clients) what
     * each command reopens */
    real_io_session *io;
    int io_open, io_ro;
    char *io_image, *io_fmt;
    int session;                /* vm_session: 0 none, 1 run, 2 launch */
    int session_caps;           /* its qmp_capabilities was answered */
    size_t checks_failed;       /* expect* lines that printed FAIL */
    char *first_check_fail;     /* "FILE:LINE:COL: check failed: ..." */
    case_limits lim;
    int nest;                   /* blocks and expressions being run */
} interp;

static void rt_fail(interp *I, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void rt_fail(interp *I, int line, int col, const char *fmt, ...)
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

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n);
    if (!p)
        harness_out_of_memory(n);
    return p;
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d)
        harness_out_of_memory(strlen(s) + 1);
    return d;
}

/* ------------------------------------------------------------------ */
/* Output                                                               */
/* ------------------------------------------------------------------ */

/* One log() call: the message, filtered, then a newline. */
static char *replace_str(const char *text, const char *from, const char *to);

static void emit(interp *I, const char *text)
{
    char *sd = NULL;
    if (I->sock_dir && I->be->pid) {
        /* 7.2's filter_testfiles: sock_dir files too */
        char *from = NULL;
        if (asprintf(&from, "%s/%s-", I->sock_dir, I->be->pid) < 0)
            abort();
        sd = replace_str(text, from, "SOCK_DIR/PID-");
        free(from);
        text = sd;
    }
    char *f = filter_testfiles(text, I->be->test_dir, I->be->pid);
    free(sd);
    sbuf_adds(&I->out, f);
    sbuf_addc(&I->out, '\n');
    free(f);
}

static void emit_json(interp *I, json_object *o, int indent)
{
    char *s = json_render_alloc(o, indent);
    emit(I, s);
    free(s);
}

/* ------------------------------------------------------------------ */
/* Values                                                               */
/* ------------------------------------------------------------------ */

static int is_none(interp *I, json_object *v)
{
    return v == I->none;
}

static const char *type_name(interp *I, json_object *v)
{
    if (is_none(I, v))
        return "none";
    switch (json_object_get_type(v)) {
    case json_type_null: return "null";
    case json_type_boolean: return "bool";
    case json_type_int: return "int";
    case json_type_double: return "float";
    case json_type_string: return "string";
    case json_type_array: return "list";
    default: return "object";
    }
}

/* Python's str() of a value, as log() and "${x}" print it. */
static void to_text(interp *I, sbuf *b, json_object *v)
{
    if (is_none(I, v) || v == NULL)
        sbuf_adds(b, "None");
    else if (json_object_is_type(v, json_type_string))
        sbuf_addn(b, json_object_get_string(v), (size_t)json_object_get_string_len(v));
    else if (json_object_is_type(v, json_type_boolean))
        sbuf_adds(b, json_object_get_boolean(v) ? "True" : "False");
    else
        json_render(b, v, -1);
}

static int truthy(interp *I, json_object *v)
{
    if (v == NULL || is_none(I, v))
        return 0;
    switch (json_object_get_type(v)) {
    case json_type_boolean: return json_object_get_boolean(v);
    case json_type_int: return json_object_get_int64(v) != 0;
    case json_type_double: return json_object_get_double(v) != 0.0;
    case json_type_string: return json_object_get_string_len(v) > 0;
    case json_type_array: return json_object_array_length(v) > 0;
    case json_type_object: return json_object_object_length(v) > 0;
    default: return 0;
    }
}

static json_object *lookup(interp *I, const char *name)
{
    for (size_t f = I->nframes; f-- > 0;)
        for (size_t i = 0; i < I->frames[f].n; i++)
            if (!strcmp(I->frames[f].v[i].name, name))
                return I->frames[f].v[i].val;
    return NULL;
}

static int defined(interp *I, const char *name)
{
    for (size_t f = I->nframes; f-- > 0;)
        for (size_t i = 0; i < I->frames[f].n; i++)
            if (!strcmp(I->frames[f].v[i].name, name))
                return 1;
    return 0;
}

/* Bind in the innermost frame; takes over the reference to val. */
static void bind(interp *I, const char *name, json_object *val)
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

static int eval(interp *I, const expr *e, json_object **out);

static int get_int(interp *I, const expr *e, int64_t *v)
{
    json_object *o;
    if (eval(I, e, &o) < 0)
        return -1;
    if (!json_object_is_type(o, json_type_int) || is_none(I, o)) {
        rt_fail(I, e->line, e->col, "expected an int, got %s", type_name(I, o));
        json_object_put(o);
        return -1;
    }
    *v = json_object_get_int64(o);
    json_object_put(o);
    return 0;
}

static int get_uint(interp *I, const expr *e, uint64_t *v)
{
    int64_t i;
    if (get_int(I, e, &i) < 0)
        return -1;
    if (i < 0) {
        rt_fail(I, e->line, e->col, "expected a non-negative int, got %lld", (long long)i);
        return -1;
    }
    *v = (uint64_t)i;
    return 0;
}

/* malloc'd string value of e (strings only). */
static char *get_str(interp *I, const expr *e)
{
    json_object *o;
    if (eval(I, e, &o) < 0)
        return NULL;
    if (!json_object_is_type(o, json_type_string) || is_none(I, o)) {
        rt_fail(I, e->line, e->col, "expected a string, got %s", type_name(I, o));
        json_object_put(o);
        return NULL;
    }
    char *s = xstrdup(json_object_get_string(o));
    json_object_put(o);
    return s;
}

/* Group and model keys: the text of any value (group 0 and group "0" agree). */
static char *get_key(interp *I, const expr *e)
{
    json_object *o;
    if (eval(I, e, &o) < 0)
        return NULL;
    sbuf b = {0};
    to_text(I, &b, o);
    json_object_put(o);
    return sbuf_take(&b);
}

static int64_t floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

static const char *const limit_hint = "raise the limit with --max-value-size";

/* A list or object just built from sealed or foreign parts: measure it,
 * remember the result, refuse it past the limits. */
static int seal_checked(interp *I, const expr *e, json_object *v);

static int seal(interp *I, const expr *e, json_object **pv)
{
    if (!*pv) {
        rt_fail(I, e->line, e->col, "out of memory");
        return -1;
    }
    if (seal_checked(I, e, *pv) < 0) {
        json_object_put(*pv);
        *pv = NULL;
        return -1;
    }
    return 0;
}

static int seal_checked(interp *I, const expr *e, json_object *v)
{
    uint64_t size = 2, s;
    int depth = 0, d;
    if (json_object_is_type(v, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            value_measure(json_object_array_get_idx(v, i), &s, &d);
            size = value_size_add(size, value_size_add(s, 2));
            depth = d > depth ? d : depth;
        }
    } else {
        json_object_object_foreach(v, key, val) {
            value_measure(val, &s, &d);
            size = value_size_add(size, value_size_add(value_size_add(s, 4), strlen(key)));
            depth = d > depth ? d : depth;
        }
    }
    if (depth + 1 > CASE_MAX_VALUE_DEPTH) {
        rt_fail(I, e->line, e->col, "value nested more than %d levels deep",
                CASE_MAX_VALUE_DEPTH);
        return -1;
    }
    if (size > I->lim.value_bytes) {
        rt_fail(I, e->line, e->col, "value too large: about %llu bytes, the limit is %llu (%s)",
                (unsigned long long)size, (unsigned long long)I->lim.value_bytes, limit_hint);
        return -1;
    }
    value_seal(v, size, depth + 1);
    return 0;
}

/* l + r would be too large: checked before building it. */
static int value_too_big(interp *I, const expr *e, json_object *l, json_object *r)
{
    uint64_t a, b;
    int d;
    value_measure(l, &a, &d);
    value_measure(r, &b, &d);
    uint64_t size = value_size_add(a, b);
    if (size > I->lim.value_bytes) {
        rt_fail(I, e->line, e->col, "value too large: about %llu bytes, the limit is %llu (%s)",
                (unsigned long long)size, (unsigned long long)I->lim.value_bytes, limit_hint);
        return -1;
    }
    return 0;
}

static int eval_arith(interp *I, const expr *e, json_object *l, json_object *r, json_object **out)
{
    enum json_type lt = json_object_get_type(l), rt = json_object_get_type(r);
    if (is_none(I, l) || is_none(I, r))
        lt = json_type_null;
    if (e->op == OP_ADD && lt == rt &&
        (lt == json_type_string || lt == json_type_array || lt == json_type_object) &&
        value_too_big(I, e, l, r) < 0)
        return -1;
    if (e->op == OP_ADD && lt == rt && lt == json_type_string) {
        sbuf b = {0};
        sbuf_adds(&b, json_object_get_string(l));
        sbuf_adds(&b, json_object_get_string(r));
        *out = json_object_new_string(sbuf_str(&b));
        sbuf_free(&b);
        return 0;
    }
    if (e->op == OP_ADD && lt == rt && lt == json_type_array) {
        json_object *a = json_object_new_array();
        for (size_t i = 0; i < json_object_array_length(l); i++)
            json_object_array_add(a, json_object_get(json_object_array_get_idx(l, i)));
        for (size_t i = 0; i < json_object_array_length(r); i++)
            json_object_array_add(a, json_object_get(json_object_array_get_idx(r, i)));
        *out = a;
        return seal(I, e, out);
    }
    if (e->op == OP_ADD && lt == rt && lt == json_type_object) {
        /* like Python's {**l, **r}: the right side wins */
        json_object *o = json_object_new_object();
        json_object_object_foreach(l, k1, v1)
            json_object_object_add(o, k1, json_object_get(v1));
        json_object_object_foreach(r, k2, v2)
            json_object_object_add(o, k2, json_object_get(v2));
        *out = o;
        return seal(I, e, out);
    }
    if (lt != json_type_int || rt != json_type_int) {
        static const char *const names[] = { [OP_ADD] = "+", [OP_SUB] = "-", [OP_MUL] = "*",
                                             [OP_DIV] = "/", [OP_MOD] = "%" };
        rt_fail(I, e->line, e->col, "cannot apply '%s' to %s and %s", names[e->op],
                type_name(I, l), type_name(I, r));
        return -1;
    }
    int64_t a = json_object_get_int64(l), b = json_object_get_int64(r), v = 0;
    int ovf = 0;
    switch (e->op) {
    case OP_ADD: ovf = __builtin_add_overflow(a, b, &v); break;
    case OP_SUB: ovf = __builtin_sub_overflow(a, b, &v); break;
    case OP_MUL: ovf = __builtin_mul_overflow(a, b, &v); break;
    case OP_DIV:
    case OP_MOD:
        if (b == 0) {
            rt_fail(I, e->line, e->col, "division by zero");
            return -1;
        }
        if (a == INT64_MIN && b == -1) {
            ovf = 1;
            break;
        }
        /* Python semantics: floor division, modulo takes the divisor's sign */
        v = floordiv(a, b);
        if (e->op == OP_MOD)
            v = a - v * b;
        break;
    default:
        break;
    }
    if (ovf) {
        rt_fail(I, e->line, e->col, "integer overflow");
        return -1;
    }
    *out = json_object_new_int64(v);
    return 0;
}

static int eval_compare(interp *I, const expr *e, json_object *l, json_object *r, json_object **out)
{
    int res;
    if (e->op == OP_EQ || e->op == OP_NE) {
        int eq;
        if (is_none(I, l) || is_none(I, r))
            eq = l == r;
        else
            eq = json_object_equal(l, r);
        res = e->op == OP_EQ ? eq : !eq;
    } else {
        int c;
        if (json_object_is_type(l, json_type_int) && json_object_is_type(r, json_type_int) &&
            !is_none(I, l) && !is_none(I, r)) {
            int64_t a = json_object_get_int64(l), b = json_object_get_int64(r);
            c = a < b ? -1 : a > b;
        } else if (json_object_is_type(l, json_type_string) &&
                   json_object_is_type(r, json_type_string) && !is_none(I, l) && !is_none(I, r)) {
            c = strcmp(json_object_get_string(l), json_object_get_string(r));
        } else {
            rt_fail(I, e->line, e->col, "cannot order %s and %s", type_name(I, l),
                    type_name(I, r));
            return -1;
        }
        switch (e->op) {
        case OP_LT: res = c < 0; break;
        case OP_LE: res = c <= 0; break;
        case OP_GT: res = c > 0; break;
        default: res = c >= 0; break;
        }
    }
    *out = json_object_new_boolean(res);
    return 0;
}

/* list[int] (negative counts from the end) or object["key"]. */
static int eval_index(interp *I, const expr *e, json_object *l, json_object *r, json_object **out)
{
    if (json_object_is_type(l, json_type_array) && !is_none(I, l) &&
        json_object_is_type(r, json_type_int) && !is_none(I, r)) {
        int64_t n = (int64_t)json_object_array_length(l), i = json_object_get_int64(r);
        if (i < 0)
            i += n;
        if (i < 0 || i >= n) {
            rt_fail(I, e->line, e->col, "index %lld out of range (list of %lld)",
                    (long long)json_object_get_int64(r), (long long)n);
            return -1;
        }
        *out = json_object_get(json_object_array_get_idx(l, (size_t)i));
        return 0;
    }
    if (json_object_is_type(l, json_type_object) && json_object_is_type(r, json_type_string) &&
        !is_none(I, l) && !is_none(I, r)) {
        json_object *v;
        if (!json_object_object_get_ex(l, json_object_get_string(r), &v)) {
            rt_fail(I, e->line, e->col, "no key \"%s\"", json_object_get_string(r));
            return -1;
        }
        *out = json_object_get(v);
        return 0;
    }
    rt_fail(I, e->line, e->col, "cannot index %s with %s", type_name(I, l), type_name(I, r));
    return -1;
}

/* dictpath(VALUE, PATH): iotests' QMPTestCase.dictpath; a missing path
 * stops the case like the failed assertion it is in Python. */
static int eval_dictpath(interp *I, const expr *e, json_object **out)
{
    json_object *d, *v;
    char *path, *why = NULL;
    if (eval(I, e->items[0], &d) < 0)
        return -1;
    if (!(path = get_str(I, e->items[1]))) {
        json_object_put(d);
        return -1;
    }
    int r = check_dictpath(d, path, &v, &why);
    if (r < 0)
        rt_fail(I, e->line, e->col, "dictpath: %s", why);
    else
        *out = json_object_get(v);
    free(why);
    free(path);
    json_object_put(d);
    return r;
}

static int eval_inner(interp *I, const expr *e, json_object **out);

/* Kinds whose value is never JSON null: a NULL result is a failed
 * allocation in json-c. */
static int makes_value(const expr *e)
{
    switch (e->kind) {
    case E_NULL:
    case E_VAR:
    case E_INDEX:
        return 0;
    case E_FUNC:
        return strcmp(e->name, "dictpath") != 0;   /* dictpath() may find a null */
    case E_BIN:
        return e->op != OP_AND && e->op != OP_OR;
    default:
        return 1;
    }
}

static int eval(interp *I, const expr *e, json_object **out)
{
    int r;
    if (++I->nest > MAX_RUN_NESTING) {
        rt_fail(I, e->line, e->col, "blocks, calls and expressions nested more than %d deep",
                MAX_RUN_NESTING);
        *out = NULL;
        r = -1;
    } else {
        r = eval_inner(I, e, out);
        if (r == 0 && !*out && makes_value(e)) {
            rt_fail(I, e->line, e->col, "out of memory");
            r = -1;
        }
    }
    I->nest--;
    return r;
}

static int eval_inner(interp *I, const expr *e, json_object **out)
{
    json_object *l = NULL, *r = NULL;
    int ret = 0;
    *out = NULL;
    switch (e->kind) {
    case E_INT:
        *out = json_object_new_int64(e->ival);
        return 0;
    case E_TRUE:
    case E_FALSE:
        *out = json_object_new_boolean(e->kind == E_TRUE);
        return 0;
    case E_NULL:
        return 0;
    case E_NONE:
        *out = json_object_get(I->none);
        return 0;
    case E_STR: {
        sbuf b = {0};
        for (size_t i = 0; i < e->nparts; i++) {
            if (!e->parts[i].is_var) {
                sbuf_adds(&b, e->parts[i].text);
            } else if (!defined(I, e->parts[i].text)) {
                rt_fail(I, e->line, e->col, "undefined variable '%s' in string",
                        e->parts[i].text);
                sbuf_free(&b);
                return -1;
            } else {
                to_text(I, &b, lookup(I, e->parts[i].text));
            }
            if (b.len > I->lim.value_bytes) {
                rt_fail(I, e->line, e->col, "string too large: %zu bytes, the limit is %llu (%s)",
                        b.len, (unsigned long long)I->lim.value_bytes, limit_hint);
                sbuf_free(&b);
                return -1;
            }
        }
        *out = json_object_new_string(sbuf_str(&b));
        sbuf_free(&b);
        return 0;
    }
    case E_VAR:
        if (!defined(I, e->name)) {
            rt_fail(I, e->line, e->col, "undefined variable '%s'", e->name);
            return -1;
        }
        *out = json_object_get(lookup(I, e->name));
        return 0;
    case E_LIST:
        *out = json_object_new_array();
        for (size_t i = 0; i < e->nitems; i++) {
            json_object *v;
            if (eval(I, e->items[i], &v) < 0)
                return json_object_put(*out), *out = NULL, -1;
            json_object_array_add(*out, v);
        }
        return seal(I, e, out);
    case E_OBJ:
        *out = json_object_new_object();
        for (size_t i = 0; i < e->nitems; i++) {
            json_object *v;
            if (eval(I, e->items[i], &v) < 0)
                return json_object_put(*out), *out = NULL, -1;
            if (is_none(I, v))  /* absent: the key is left out */
                json_object_put(v);
            else
                json_object_object_add(*out, e->keys[i], v);
        }
        return seal(I, e, out);
    case E_FUNC: {
        if (!strcmp(e->name, "dictpath"))
            return eval_dictpath(I, e, out);
        if (!strcmp(e->name, "basename")) {
            /* os.path.basename; a wrong argument is reported where it is */
            char *s = get_str(I, e->items[0]);
            if (!s)
                return -1;
            const char *slash = strrchr(s, '/');
            *out = json_object_new_string(slash ? slash + 1 : s);
            free(s);
            return 0;
        }
        json_object **av = calloc(e->nitems + 1, sizeof(*av));
        if (!av)
            abort();
        size_t k;
        for (k = 0; k < e->nitems; k++)
            if (eval(I, e->items[k], &av[k]) < 0)
                break;
        char *ferr = NULL;
        if (k == e->nitems &&
            case_func_call(e->name, av, e->nitems, I->none, out, &ferr) < 0) {
            rt_fail(I, e->line, e->col, "%s", ferr);
            free(ferr);
            k = 0;
            ret = -1;
        } else if (k < e->nitems) {
            ret = -1;
        }
        for (size_t i = 0; i < e->nitems; i++)
            json_object_put(av[i]);
        free(av);
        return ret;
    }
    case E_NOT:
        if (eval(I, e->l, &l) < 0)
            return -1;
        *out = json_object_new_boolean(!truthy(I, l));
        json_object_put(l);
        return 0;
    case E_NEG: {
        int64_t v;
        if (get_int(I, e->l, &v) < 0)
            return -1;
        if (v == INT64_MIN) {
            rt_fail(I, e->line, e->col, "integer overflow");
            return -1;
        }
        *out = json_object_new_int64(-v);
        return 0;
    }
    case E_INDEX:
        if (eval(I, e->l, &l) < 0)
            return -1;
        if (eval(I, e->r, &r) < 0) {
            json_object_put(l);
            return -1;
        }
        ret = eval_index(I, e, l, r, out);
        json_object_put(l);
        json_object_put(r);
        return ret;
    case E_BIN:
        if (eval(I, e->l, &l) < 0)
            return -1;
        if (e->op == OP_AND || e->op == OP_OR) {
            /* Python: the deciding operand is the result */
            if (truthy(I, l) == (e->op == OP_OR)) {
                *out = l;
                return 0;
            }
            json_object_put(l);
            return eval(I, e->r, out);
        }
        if (eval(I, e->r, &r) < 0) {
            json_object_put(l);
            return -1;
        }
        if (e->op >= OP_EQ && e->op <= OP_GE)
            ret = eval_compare(I, e, l, r, out);
        else
            ret = eval_arith(I, e, l, r, out);
        json_object_put(l);
        json_object_put(r);
        return ret;
    }
    return -1;
}

/* QMP arguments must be plain JSON: `none` only means "leave the key out". */
static int check_plain(interp *I, const expr *e, json_object *v)
{
    if (is_none(I, v)) {
        rt_fail(I, e->line, e->col, "'none' cannot be sent to QMP");
        return -1;
    }
    if (json_object_is_type(v, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(v); i++)
            if (check_plain(I, e, json_object_array_get_idx(v, i)) < 0)
                return -1;
    } else if (json_object_is_type(v, json_type_object)) {
        json_object_object_foreach(v, k, x) {
            (void)k;
            if (check_plain(I, e, x) < 0)
                return -1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Backend calls                                                        */
/* ------------------------------------------------------------------ */

/* Sends like QEMUMachine.qmp(): top-level '_' in keys become '-'. */
/* A path the case gave must stay in the test directory (harness/confine.h);
 * the runtime error names the statement. */
static int confined(interp *I, const stmt *s, const char *what, const char *path, int rel)
{
    char *why = NULL;
    if (confine_path(I->be->test_dir, path, rel, &why) == 0)
        return 0;
    rt_fail(I, s ? s->line : 0, s ? s->col : 0, "%s: %s", what, why ? why : "refused");
    free(why);
    return -1;
}

/* An image a client tool opens (a file, or an NBD URI whose socket= is a
 * path): the rule of `run`'s arguments (confine_tool_args). */
static int confined_image(interp *I, const stmt *s, const char *tool, const char *image)
{
    char *argv[] = { (char *)tool, (char *)image, NULL }, *why = NULL;
    int bad;
    if (confine_tool_args(I->be->test_dir, argv, &bad, &why) == 0)
        return 0;
    rt_fail(I, s->args[0].line, s->args[0].col, "%s: %s", tool, why ? why : "refused");
    free(why);
    return -1;
}

static json_object *qmp(interp *I, const stmt *s, const char *cmd, json_object *args)
{
    char *err = NULL;
    if (confine_qmp_args(I->be->test_dir, cmd, args, &err) < 0) {
        rt_fail(I, s ? s->line : 0, s ? s->col : 0, "'%s' refused: %s", cmd,
                err ? err : "a path outside the test directory");
        free(err);
        return NULL;
    }
    json_object *sent = qmp_convert_top_keys(args);
    json_object *reply = I->be->ops->qmp(I->be, cmd, sent, &err);
    json_object_put(sent);
    if (!reply)
        rt_fail(I, s->line, s->col, "backend failed to run '%s': %s", cmd,
                err ? err : "no reply");
    free(err);
    return reply;
}

/* iotests' qmp_log: the command (arguments sorted), then the reply. */
static json_object *qmp_log(interp *I, const stmt *s, const char *cmd, json_object *args,
                            int indent)
{
    sbuf b = {0};
    json_render_qmp_command(&b, cmd, args, indent);
    emit(I, sbuf_str(&b));
    sbuf_free(&b);
    json_object *reply = qmp(I, s, cmd, args);
    if (reply)
        emit_json(I, reply, indent);
    return reply;
}

static json_object *hmp_qemu_io(interp *I, const stmt *s, const char *node, const char *cmd)
{
    sbuf line = {0};
    sbuf_printf(&line, "qemu-io %s \"%s\"", node, cmd);
    json_object *args = json_object_new_object();
    json_object_object_add(args, "command-line", json_object_new_string(sbuf_str(&line)));
    sbuf_free(&line);
    json_object *reply = qmp(I, s, "human-monitor-command", args);
    json_object_put(args);
    return reply;
}

/* iotests' VM.add_drive(path, opts='', interface='virtio', img_format):
 * each drive {"path": P, "opts": O, "interface": I, "format": F} becomes
 * -drive if=I,id=driveN,file=P,format=F,cache=writeback,aio=threads[,O]
 * (the cache and aio modes ./check uses by default). A virtio drive needs a
 * PC machine; the backends see the whole argv. */
static __attribute__((noinline)) int drive_argv(interp *I, const arg *a, json_object *drives,
                                                const arg *xa, json_object *extra, char ***argv,
                                                size_t *argc)
{
    if (drives && (!json_object_is_type(drives, json_type_array) || is_none(I, drives))) {
        rt_fail(I, a->line, a->col, "drives must be a list of objects, got %s",
                type_name(I, drives));
        return -1;
    }
    if (xa && (!json_object_is_type(extra, json_type_array) || is_none(I, extra))) {
        rt_fail(I, xa->line, xa->col, "args must be a list of strings, got %s",
                type_name(I, extra));
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
        if (!json_object_is_type(d, json_type_object) || is_none(I, d)) {
            rt_fail(I, a->line, a->col, "drives[%zu] must be an object", i);
            return -1;
        }
        json_object_object_foreach(d, key, val) {
            const char **slot = !strcmp(key, "path") ? &path : !strcmp(key, "opts") ? &opts
                : !strcmp(key, "interface") ? &iface : !strcmp(key, "format") ? &fmt : NULL;
            if (!slot) {
                rt_fail(I, a->line, a->col,
                        "drives[%zu]: unknown key \"%s\" (path, opts, interface, format)", i, key);
                return -1;
            }
            if (!json_object_is_type(val, json_type_string) || is_none(I, val)) {
                rt_fail(I, a->line, a->col, "drives[%zu].%s must be a string", i, key);
                return -1;
            }
            *slot = json_object_get_string(val);
        }
        if (!path) {
            rt_fail(I, a->line, a->col, "drives[%zu] needs a \"path\"", i);
            return -1;
        }
        char *why = NULL;
        if (confine_path(I->be->test_dir, path, 0, &why) < 0) {
            rt_fail(I, a->line, a->col, "launch drives: %s", why ? why : "refused");
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
        if (!json_object_is_type(v, json_type_string) || is_none(I, v)) {
            rt_fail(I, xa->line, xa->col, "args[%zu] must be a string", i);
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

static int launch(interp *I, const stmt *s)
{
    char *err = NULL;
    if (I->launched) {
        rt_fail(I, s->line, s->col, "the VM is already running");
        return -1;
    }
    const arg *da = s ? stmt_kwarg(s, "drives") : NULL, *xa = s ? stmt_kwarg(s, "args") : NULL;
    int r;
    if (da || xa) {
        json_object *drives = NULL, *extra = NULL;
        if (da && eval(I, da->e, &drives) < 0)
            return -1;
        if (xa && eval(I, xa->e, &extra) < 0) {
            json_object_put(drives);
            return -1;
        }
        char **argv = NULL;
        size_t argc = 0;
        r = drive_argv(I, da ? da : xa, drives, xa, extra, &argv, &argc);
        json_object_put(drives);
        json_object_put(extra);
        if (r == 0 && !I->be->ops->launch_args) {
            rt_fail(I, s->line, s->col, "the %s backend cannot launch with drives",
                    I->be->ops->name);
            r = -1;
        } else if (r == 0) {
            for (size_t i = 0; i < argc && r == 0; i++) {
                if (confine_words(I->be->test_dir, argv[i], &err) < 0) {
                    rt_fail(I, s->line, s->col, "launch: %s",
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
        rt_fail(I, s->line, s->col, "launch failed: %s", err ? err : "?");
        free(err);
        return -1;
    }
    I->launched = 1;
    return 0;
}

static void drop_events(interp *I)
{
    for (size_t i = 0; i < I->nevents; i++)
        json_object_put(I->events[i]);
    I->nevents = 0;
}

static int shutdown_vm(interp *I, const stmt *s)
{
    char *err = NULL;
    if (!I->launched)
        return 0;   /* like iotests' VM.shutdown() of a stopped VM */
    I->launched = 0;
    I->session = 0;     /* a shell session ends with its VM */
    drop_events(I);
    if (I->be->ops->shutdown(I->be, &err) < 0) {
        if (s)
            rt_fail(I, s->line, s->col, "shutdown failed: %s", err ? err : "?");
        else if (!I->err && asprintf(&I->err, "%s: shutdown at the end of the case failed: %s",
                                     I->prog->file, err ? err : "?") < 0)
            abort();
        free(err);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Jobs (iotests 7.2 VM.run_job)                                        */
/* ------------------------------------------------------------------ */

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
                rt_fail(I, s->line, s->col, "waiting for an event of job '%s': %s", job, err);
            else
                rt_fail(I, s->line, s->col,
                        "job '%s' never reached status null: the backend has no more events", job);
            free(err);
            return NULL;
        }
        if (!json_object_is_type(ev, json_type_object)) {
            rt_fail(I, s->line, s->col, "the backend returned an event that is not an object");
            json_object_put(ev);
            return NULL;
        }
        if (job_event(ev, job))
            return ev;
        I->events = xrealloc(I->events, (I->nevents + 1) * sizeof(*I->events));
        I->events[I->nevents++] = ev;
    }
}

static int exec_block(interp *I, const block *b);
static int exec_block_inner(interp *I, const block *b);
static int call_proc(interp *I, const stmt *s, const proc *pr, json_object **args);

static int job_command(interp *I, const stmt *s, const char *cmd, const char *job)
{
    json_object *args = json_object_new_object();
    json_object_object_add(args, "id", json_object_new_string(job));
    json_object *reply = qmp_log(I, s, cmd, args, -1);
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
        json_object *ts;
        if (json_object_object_get_ex(ev, "timestamp", &ts)) {
            json_object *t = json_object_new_object();
            json_object_object_add(t, "seconds", json_object_new_string("SECS"));
            json_object_object_add(t, "microseconds", json_object_new_string("USECS"));
            json_object_object_add(ev, "timestamp", t);
        }
        if (strcmp(event_name(ev), "JOB_STATUS_CHANGE")) {
            emit_json(I, ev, -1);
            json_object_put(ev);
            continue;
        }
        const char *status = data_str(ev, "status");
        int r = 0, done = 0;
        if (!status) {
            rt_fail(I, s->line, s->col, "JOB_STATUS_CHANGE without a status");
            r = -1;
        } else if (!strcmp(status, "ready")) {
            r = job_command(I, s, "job-complete", job);
        } else if (!strcmp(status, "pending") && !auto_finalize) {
            if (hook)
                r = call_proc(I, s, hook, NULL);
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

/* ------------------------------------------------------------------ */
/* Bitmaps and the oracle                                               */
/* ------------------------------------------------------------------ */

static int kw_bool(interp *I, const stmt *s, const char *key, int dflt, int *out);

/* iotests' query_bitmaps: node name -> dirty-bitmaps, for nodes that have
 * the key; printed as {"bitmaps": ...} with indent 2. */
static int list_bitmaps(interp *I, const stmt *s)
{
    json_object *reply = qmp(I, s, "query-named-block-nodes", NULL), *nodes;
    if (!reply)
        return -1;
    if (!json_object_object_get_ex(reply, "return", &nodes) ||
        !json_object_is_type(nodes, json_type_array)) {
        char *r = json_render_alloc(reply, -1);
        rt_fail(I, s->line, s->col, "query-named-block-nodes failed: %s", r);
        free(r);
        json_object_put(reply);
        return -1;
    }
    json_object *map = json_object_new_object();
    for (size_t i = 0; i < json_object_array_length(nodes); i++) {
        json_object *n = json_object_array_get_idx(nodes, i), *name, *bm;
        if (json_object_object_get_ex(n, "dirty-bitmaps", &bm) &&
            json_object_object_get_ex(n, "node-name", &name))
            json_object_object_add(map, json_object_get_string(name), json_object_get(bm));
    }
    json_object_put(reply);
    int quiet = 0;
    if (kw_bool(I, s, "quiet", 0, &quiet) < 0) {
        json_object_put(map);
        return -1;
    }
    if (!quiet) {
        json_object *wrap = json_object_new_object();
        json_object_object_add(wrap, "bitmaps", json_object_get(map));
        emit_json(I, wrap, 2);
        json_object_put(wrap);
    }
    json_object_put(I->listing);
    I->listing = map;
    return 0;
}

static int check_bitmap(interp *I, const stmt *s, const char *model, const char *node,
                        const char *name, int recording)
{
    oracle_model *m = oracle_find(I->orc, model);
    json_object *list, *found = NULL;
    if (!m) {
        rt_fail(I, s->line, s->col, "no model named '%s'", model);
        return -1;
    }
    if (!I->listing) {
        rt_fail(I, s->line, s->col, "check before any bitmap listing");
        return -1;
    }
    if (!json_object_object_get_ex(I->listing, node, &list) ||
        !json_object_is_type(list, json_type_array)) {
        rt_fail(I, s->line, s->col, "node '%s' has no bitmaps in the last listing", node);
        return -1;
    }
    for (size_t i = 0; i < json_object_array_length(list) && !found; i++) {
        json_object *bm = json_object_array_get_idx(list, i), *v;
        const char *bname = "";
        if (json_object_object_get_ex(bm, "name", &v))
            bname = json_object_get_string(v);
        if (strcmp(bname, name))
            continue;
        if (recording && !(json_object_object_get_ex(bm, "recording", &v) &&
                           json_object_get_boolean(v)))
            continue;
        found = bm;
    }
    if (!found) {
        rt_fail(I, s->line, s->col, "node '%s' has no %sbitmap named '%s' in the last listing",
                node, recording ? "recording " : "", name);
        return -1;
    }
    json_object *count, *gran, *nm;
    if (!json_object_object_get_ex(found, "count", &count) ||
        !json_object_object_get_ex(found, "granularity", &gran) ||
        json_object_get_int64(gran) <= 0) {
        rt_fail(I, s->line, s->col, "bitmap lacks a count or a granularity");
        return -1;
    }
    uint64_t have = (uint64_t)json_object_get_int64(count) / (uint64_t)json_object_get_int64(gran);
    const char *shown = json_object_object_get_ex(found, "name", &nm) ? json_object_get_string(nm)
                                                                      : NULL;
    int quiet = 0;
    if (kw_bool(I, s, "quiet", 0, &quiet) < 0)
        return -1;
    if (quiet) {
        /* nothing to print: a mismatch stops the case instead */
        if (oracle_count(m) != have) {
            rt_fail(I, s->line, s->col, "bitmap '%s' of '%s': expecting %llu dirty bits, have %llu",
                    name, node, (unsigned long long)oracle_count(m), (unsigned long long)have);
            return -1;
        }
        return 0;
    }
    char *text = oracle_check_text(shown, oracle_count(m), have);
    emit(I, text);
    emit(I, "");
    free(text);
    return 0;
}

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
    char *name = get_key(I, s->e);
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
        if (get_uint(I, it->off, &g.off[i]) < 0)
            goto bad;
        if (it->len) {
            if (get_uint(I, it->len, &g.len[i]) < 0)
                goto bad;
        } else {
            json_object *d = lookup(I, "WRITE_LEN");
            if (!defined(I, "WRITE_LEN") || !json_object_is_type(d, json_type_int) ||
                json_object_get_int64(d) < 0) {
                rt_fail(I, it->line, it->col,
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

static wgroup *need_group(interp *I, const expr *e)
{
    char *name = get_key(I, e);
    if (!name)
        return NULL;
    wgroup *g = find_group(I, name);
    if (!g)
        rt_fail(I, e->line, e->col, "no write group '%s'", name);
    free(name);
    return g;
}

static int model_op(interp *I, const stmt *s)
{
    const char *name = s->args[0].word, *op = s->args[1].word;
    const expr *a1 = s->nargs > 2 ? s->args[2].e : NULL, *a2 = s->nargs > 3 ? s->args[3].e : NULL;
    uint64_t x, y;
    if (!strcmp(op, "new")) {
        if (get_uint(I, a1, &x) < 0)
            return -1;
        if (x == 0) {
            rt_fail(I, a1->line, a1->col, "a model's granularity must be positive");
            return -1;
        }
        oracle_model_new(I->orc, name, x);
        return 0;
    }
    oracle_model *m = oracle_find(I->orc, name);
    if (!m) {
        rt_fail(I, s->args[0].line, s->args[0].col, "no model named '%s' (use 'model %s new G')",
                name, name);
        return -1;
    }
    if (!strcmp(op, "dirty") || !strcmp(op, "clear_group")) {
        wgroup *g = need_group(I, a1);
        if (!g)
            return -1;
        for (size_t i = 0; i < g->n; i++) {
            if (op[0] == 'd')
                oracle_dirty_write(m, g->off[i], g->len[i]);
            else
                oracle_clear_write(m, g->off[i], g->len[i]);
        }
    } else if (!strcmp(op, "dirty_write")) {
        if (get_uint(I, a1, &x) < 0 || get_uint(I, a2, &y) < 0)
            return -1;
        oracle_dirty_write(m, x, y);
    } else if (!strcmp(op, "dirty_bits") || !strcmp(op, "clear_bits")) {
        if (get_uint(I, a1, &x) < 0 || get_uint(I, a2, &y) < 0)
            return -1;
        if (op[0] == 'd')
            oracle_dirty_bits(m, x, y);
        else
            oracle_clear_bits(m, x, y);
    } else if (!strcmp(op, "clear")) {
        oracle_clear(m);
    } else if (!strcmp(op, "clear_bit")) {
        if (get_uint(I, a1, &x) < 0)
            return -1;
        oracle_clear_bits(m, x, x + 1);
    } else if (!strcmp(op, "clear_first")) {
        if (oracle_first_bit(m, &x) < 0) {
            rt_fail(I, s->line, s->col, "model '%s' is empty: it has no first bit", name);
            return -1;
        }
        oracle_clear_bits(m, x, x + 1);
    } else { /* fill_from_first */
        if (get_uint(I, a1, &x) < 0)
            return -1;
        if (oracle_fill_from_first(m, x) < 0) {
            rt_fail(I, s->line, s->col, "model '%s' is empty: it has no first bit", name);
            return -1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Statements                                                           */
/* ------------------------------------------------------------------ */

/* Optional boolean keyword argument. */
static int kw_bool(interp *I, const stmt *s, const char *key, int dflt, int *out)
{
    const arg *a = stmt_kwarg(s, key);
    *out = dflt;
    if (!a)
        return 0;
    json_object *v;
    if (eval(I, a->e, &v) < 0)
        return -1;
    *out = truthy(I, v);
    json_object_put(v);
    return 0;
}

/* Optional keyword argument: a small non-negative int (indent=N). */
static int kw_int(interp *I, const stmt *s, const char *key, int64_t *out)
{
    const arg *a = stmt_kwarg(s, key);
    if (!a)
        return 0;
    if (get_int(I, a->e, out) < 0)
        return -1;
    if (*out < 0 || *out > 64) {
        rt_fail(I, a->line, a->col, "%s must be between 0 and 64", key);
        return -1;
    }
    return 0;
}

static char *qmp_name(interp *I, const arg *a)
{
    return a->word ? xstrdup(a->word) : get_str(I, a->e);
}

static int qmp_args(interp *I, const stmt *s, json_object **args)
{
    *args = NULL;
    if (s->nargs < 2)
        return 0;
    const expr *e = s->args[1].e;
    if (eval(I, e, args) < 0)
        return -1;
    if (!json_object_is_type(*args, json_type_object) || is_none(I, *args)) {
        rt_fail(I, e->line, e->col, "QMP arguments must be an object, got %s",
                type_name(I, *args));
        json_object_put(*args);
        *args = NULL;
        return -1;
    }
    return check_plain(I, e, *args);
}

static int exec_qmp(interp *I, const stmt *s)
{
    char *name = qmp_name(I, &s->args[0]);
    json_object *args = NULL, *reply = NULL, *ret;
    int r = -1;
    if (!name || qmp_args(I, s, &args) < 0)
        goto out;
    if (s->cmd == C_QMP_LOG) {
        int64_t indent = -1;
        if (kw_int(I, s, "indent", &indent) < 0)
            goto out;
        reply = qmp_log(I, s, name, args, (int)indent);
    } else {
        reply = qmp(I, s, name, args);
        if (reply && s->cmd == C_QMP_RETURN) {
            /* log(vm.command(...)): the return value; an error would raise */
            if (!json_object_object_get_ex(reply, "return", &ret)) {
                char *txt = json_render_alloc(reply, -1);
                rt_fail(I, s->line, s->col, "'%s' failed: %s", name, txt);
                free(txt);
                goto out;
            }
            if (json_object_is_type(ret, json_type_string))
                emit(I, json_object_get_string(ret));
            else
                emit_json(I, ret, -1);
        }
    }
    r = reply ? 0 : -1;
out:
    json_object_put(reply);
    json_object_put(args);
    free(name);
    return r;
}

static int exec_write(interp *I, const stmt *s)
{
    char *node = get_str(I, s->args[0].e);
    wgroup *g = node ? need_group(I, s->args[1].e) : NULL;
    int r = g ? 0 : -1;
    for (size_t i = 0; g && i < g->n && r == 0; i++) {
        char *cmd;
        if (asprintf(&cmd, "write -P%s 0x%07llx 0x%llx", g->pattern[i],
                     (unsigned long long)g->off[i], (unsigned long long)g->len[i]) < 0)
            abort();
        emit(I, cmd);
        json_object *reply = hmp_qemu_io(I, s, node, cmd);
        if (reply)
            emit_json(I, reply, -1);
        else
            r = -1;
        json_object_put(reply);
        free(cmd);
    }
    free(node);
    return r;
}

static int exec_compare(interp *I, const stmt *s)
{
    char *a = get_str(I, s->args[0].e), *b = a ? get_str(I, s->args[1].e) : NULL, *base = NULL;
    char *err = NULL;
    int match = 1, r = -1;
    const arg *ba = stmt_kwarg(s, "base");
    if (!b || kw_bool(I, s, "match", 1, &match) < 0)
        goto out;
    if (ba) {
        json_object *v;
        if (eval(I, ba->e, &v) < 0)
            goto out;
        if (json_object_is_type(v, json_type_string) && !is_none(I, v))
            base = xstrdup(json_object_get_string(v));
        else if (v && !is_none(I, v)) {
            rt_fail(I, ba->line, ba->col, "base must be a string, null or none");
            json_object_put(v);
            goto out;
        }
        json_object_put(v);
    }
    if (confined(I, s, "compare", a, 0) < 0 || confined(I, s, "compare", b, 0) < 0 ||
        (base && confined(I, s, "compare base", base, 1) < 0))
        goto out;
    if (base && I->be->ops->img_rebase_unsafe(I->be, a, base, &err) < 0) {
        rt_fail(I, s->line, s->col, "qemu-img rebase -u -b %s %s failed: %s", base, a,
                err ? err : "?");
        goto out;
    }
    int ret = I->be->ops->img_compare(I->be, a, b, &err);
    if (ret < 0) {
        /* qemu-img compare exits 2 on errors: the line says Mismatch */
        fprintf(stderr, "%s:%d: qemu-img compare failed: %s\n", I->prog->file, s->line,
                err ? err : "?");
        ret = 2;
    }
    char *text = oracle_compare_text(a, b, ret, match);
    emit(I, text);
    free(text);
    r = 0;
out:
    free(err);
    free(a);
    free(b);
    free(base);
    return r;
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
                rt_fail(I, s->line, s->col, "taking the pending events: %s", err);
                free(err);
                json_object_put(list);
                return -1;
            }
            break;
        }
        json_object_array_add(list, ev);
    }
    bind(I, s->args[0].word, list);
    return 0;
}

/* img_compare_log A B: iotests' qemu_img_log('compare', A, B). The
 * backend reports identical/mismatch/error, not qemu-img's mismatch
 * offset, so only the identical line is qemu-img's own. */
static int exec_img_compare_log(interp *I, const stmt *s)
{
    char *a = get_str(I, s->args[0].e), *b = a ? get_str(I, s->args[1].e) : NULL, *err = NULL;
    if (!b || confined(I, s, "img_compare_log", a, 0) < 0 ||
        confined(I, s, "img_compare_log", b, 0) < 0) {
        free(a);
        free(b);
        return -1;
    }
    int ret = I->be->ops->img_compare(I->be, a, b, &err);
    if (ret == 0) {
        emit(I, "Images are identical.\n");   /* qemu-img's line, then log()'s */
    } else if (ret == 1) {
        emit(I, "Content mismatch (the backend does not say where)");
    } else {
        char *line;
        if (asprintf(&line, "qemu-img compare failed: %s", err ? err : "?") < 0)
            abort();
        emit(I, line);
        free(line);
    }
    free(err);
    free(a);
    free(b);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Shell-style tests (bash iotests such as 2018's 223)                   */
/* ------------------------------------------------------------------ */

/* Print a tool's output as the test's pipe would: one line per line, no
 * line for an empty output. */
static void emit_text(interp *I, const char *text)
{
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char *line = strndup(p, len);
        if (!line)
            abort();
        emit(I, line);
        free(line);
        p += len + (nl ? 1 : 0);
    }
}

/* _filter_testdir and _filter_imgfmt, once shell_test has set them up. */
/* text with every `from` replaced by `to` (malloc'd). */
static char *replace_str(const char *text, const char *from, const char *to)
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

static void emit_shell(interp *I, const char *text)
{
    /* 7.2's _filter_testdir also prints the socket directory as SOCK_DIR;
     * ours lies inside TEST_DIR, so it goes first */
    char *sd = I->sock_dir ? replace_str(text, I->sock_dir, "SOCK_DIR") : NULL;
    if (sd)
        text = sd;
    char *f = shell_filter_paths(text, I->shell ? I->be->test_dir : NULL, I->shell_fmt);
    free(sd);
    emit_text(I, f);
    free(f);
}

static int exec_shell_test(interp *I, const stmt *s)
{
    char *fmt = get_str(I, s->args[0].e), *img;
    if (!fmt)
        return -1;
    const char *dir = I->be->test_dir ? I->be->test_dir : ".";
    if (asprintf(&img, "%s/t.%s", dir, fmt) < 0)
        abort();
    bind(I, "TEST_DIR", json_object_new_string(dir));
    bind(I, "IMGFMT", json_object_new_string(fmt));
    bind(I, "TEST_IMG", json_object_new_string(img));
    free(img);
    free(I->shell_fmt);
    I->shell_fmt = fmt;
    I->shell = 1;
    const arg *qa = stmt_kwarg(s, "qemu");
    if (qa) {
        char *v = get_str(I, qa->e);
        if (!v)
            return -1;
        if (strcmp(v, "7.2") && strcmp(v, "3.0")) {
            rt_fail(I, qa->line, qa->col, "shell_test knows the dialects of QEMU \"3.0\" and "
                    "\"7.2\", not \"%s\"", v);
            free(v);
            return -1;
        }
        I->shell72 = !strcmp(v, "7.2");
        free(v);
    }
    if (I->shell72) {
        /* 7.2's SOCK_DIR: sockets go there, and print as SOCK_DIR */
        free(I->sock_dir);
        if (asprintf(&I->sock_dir, "%s/sock", dir) < 0)
            abort();
        if (mkdir(I->sock_dir, 0700) < 0 && errno != EEXIST) {
            rt_fail(I, s->line, s->col, "cannot create %s: %s", I->sock_dir, strerror(errno));
            return -1;
        }
        bind(I, "SOCK_DIR", json_object_new_string(I->sock_dir));
    }
    return 0;
}

/* --image-opts "driver=nbd,export=E,server.type=unix,server.path=P
 * [,x-dirty-bitmap=C]" as the NBD URI nbd+unix:///E?socket=P and the
 * context C; other options are refused. */
static int image_opts_nbd(interp *I, const stmt *s, const char *opts, char **uri, char **ctx)
{
    char *copy = xstrdup(opts), *save = NULL, *exp = NULL, *path = NULL;
    int nbd = 0, r = -1;
    *uri = *ctx = NULL;
    for (char *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        if (!eq) {
            rt_fail(I, s->line, s->col, "image options: '%s' is not KEY=VALUE", kv);
            goto out;
        }
        *eq++ = 0;
        if (!strcmp(kv, "driver") && !strcmp(eq, "nbd"))
            nbd = 1;
        else if (!strcmp(kv, "export"))
            exp = eq;
        else if (!strcmp(kv, "server.path"))
            path = eq;
        else if (!strcmp(kv, "x-dirty-bitmap"))
            *ctx = xstrdup(eq);
        else if (strcmp(kv, "server.type") || strcmp(eq, "unix")) {
            rt_fail(I, s->line, s->col, "image options: the harness maps NBD exports on unix "
                    "sockets only, not %s=%s", kv, eq);
            goto out;
        }
    }
    if (!nbd || !path) {
        rt_fail(I, s->line, s->col, "image options need driver=nbd and server.path");
        goto out;
    }
    if (asprintf(uri, "nbd+unix:///%s?socket=%s", exp ? exp : "", path) < 0)
        abort();
    r = 0;
out:
    if (r < 0) {
        free(*ctx);
        *ctx = NULL;
    }
    free(copy);
    return r;
}

/* Did qemu-io exit non-zero? It does when a command failed (command_loop's
 * last_error), and every failing command prints a line other than its
 * success report "wrote|read|discard N/N bytes at offset O" and the timing
 * line after it; so any other line means failure. */
static int qemu_io_failed(const char *out)
{
    regex_t ok;
    int failed = 0;
    if (regcomp(&ok, "^((wrote|read|discard) [0-9]+/[0-9]+ bytes at offset [0-9]+"
                "|.* ops; .*ops/sec\\))$", REG_EXTENDED | REG_NOSUB) != 0)
        abort();
    for (const char *p = out; *p && !failed;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char *line = strndup(p, len);
        if (!line)
            abort();
        failed = regexec(&ok, line, 0, NULL, 0) != 0;
        free(line);
        p += len + (nl ? 1 : 0);
    }
    regfree(&ok);
    return failed;
}

static int exec_qemu_io_run(interp *I, const stmt *s)
{
    char *image = NULL, *fmt = NULL, *err = NULL, *out = NULL;
    char **cmds = calloc(s->nargs, sizeof(*cmds));
    size_t ncmds = 0;
    int ro = 0, r = -1;
    const arg *fa = stmt_kwarg(s, "fmt");
    if (!cmds)
        abort();
    if (!I->be->ops->qemu_io) {
        rt_fail(I, s->line, s->col, "the %s backend cannot run qemu-io", I->be->ops->name);
        goto out;
    }
    int io_opts = 0;
    if (!(image = get_str(I, s->args[0].e)) || kw_bool(I, s, "read_only", 0, &ro) < 0 ||
        kw_bool(I, s, "image_opts", 0, &io_opts) < 0 || (fa && !(fmt = get_str(I, fa->e))))
        goto out;
    if (io_opts) {
        char *uri, *ctx;
        if (image_opts_nbd(I, s, image, &uri, &ctx) < 0)
            goto out;
        free(ctx);
        free(image);
        image = uri;
    }
    if (confined_image(I, s, "qemu_io_run", image) < 0)
        goto out;
    for (size_t i = 1; i < s->nargs; i++) {
        if (s->args[i].key)
            continue;
        if (!(cmds[ncmds] = get_str(I, s->args[i].e)))
            goto out;
        ncmds++;
    }
    /* --nbd-clients real: the real qemu-io talks to the VM's socket */
    out = (I->be->real_nbd_clients && real_is_nbd_uri(image) ? real_qemu_io
           : I->be->ops->qemu_io)(I->be, image, fmt, ro, (const char *const *)cmds, ncmds, &err);
    if (!out) {
        rt_fail(I, s->line, s->col, "qemu-io %s failed: %s", image, err ? err : "?");
        goto out;
    }
    int quiet = 0, log_failure = 0;
    if (kw_bool(I, s, "quiet", 0, &quiet) < 0 || kw_bool(I, s, "log_failure", 0, &log_failure) < 0)
        goto out;
    if (!quiet) {
        char *f = shell_filter_qemu_io(out);
        if (s->cmd == C_QEMU_IO_LOG)
            emit(I, f);     /* iotests' qemu_io_log: log(output), its newline and log's */
        else
            emit_shell(I, f);
        free(f);
    } else if (qemu_io_failed(out)) {
        /* iotests.qemu_io(check=True) raises; image-fleecing logs the
         * failure's stdout where it expects one (log(exc.stdout)) */
        if (!log_failure) {
            rt_fail(I, s->line, s->col, "qemu-io %s failed: %s", image, out);
            goto out;
        }
        emit(I, out);
    }
    r = 0;
out:
    for (size_t i = 0; i < ncmds; i++)
        free(cmds[i]);
    free(cmds);
    free(image);
    free(fmt);
    free(err);
    free(out);
    return r;
}

/* qemu-img map --start-offset S --max-length L: the extents cut to
 * [S, S + L) (merged extents cut at the window's edges are what qemu-img
 * prints when it maps only the window). */
static void map_window(json_object *map, uint64_t start, uint64_t len)
{
    uint64_t end = len > UINT64_MAX - start ? UINT64_MAX : start + len;
    json_object *out = json_object_new_array();
    for (size_t i = 0; i < json_object_array_length(map); i++) {
        json_object *e = json_object_array_get_idx(map, i), *v;
        uint64_t st = json_object_object_get_ex(e, "start", &v) ? (uint64_t)json_object_get_int64(v) : 0;
        uint64_t l = json_object_object_get_ex(e, "length", &v) ? (uint64_t)json_object_get_int64(v) : 0;
        uint64_t a = st > start ? st : start, b = st + l < end ? st + l : end;
        if (a >= b)
            continue;
        json_object *c = NULL;
        json_object_deep_copy(e, &c, NULL);
        json_object_object_add(c, "start", json_object_new_int64((int64_t)a));
        json_object_object_add(c, "length", json_object_new_int64((int64_t)(b - a)));
        if (json_object_object_get_ex(c, "offset", &v))
            json_object_object_add(c, "offset",
                                   json_object_new_int64(json_object_get_int64(v) + (int64_t)(a - st)));
        json_object_array_add(out, c);
    }
    /* replace map's items with the cut ones */
    while (json_object_array_length(map))
        json_object_array_del_idx(map, 0, 1);
    for (size_t i = 0; i < json_object_array_length(out); i++)
        json_object_array_add(map, json_object_get(json_object_array_get_idx(out, i)));
    json_object_put(out);
}

static int exec_img_map(interp *I, const stmt *s)
{
    char *image = NULL, *ctx = NULL, *err = NULL;
    const arg *ca = stmt_kwarg(s, "context");
    int r = -1;
    if (!I->be->ops->img_map) {
        rt_fail(I, s->line, s->col, "the %s backend cannot run qemu-img map", I->be->ops->name);
        return -1;
    }
    int io_opts = 0;
    if (!(image = get_str(I, s->args[0].e)) || (ca && !(ctx = get_str(I, ca->e))) ||
        kw_bool(I, s, "image_opts", 0, &io_opts) < 0)
        goto out;
    if (io_opts) {
        char *uri, *octx;
        if (image_opts_nbd(I, s, image, &uri, &octx) < 0)
            goto out;
        free(image);
        image = uri;
        if (octx) {
            free(ctx);
            ctx = octx;
        }
    }
    if (confined_image(I, s, "img_map", image) < 0)
        goto out;
    json_object *map = (I->be->real_nbd_clients && real_is_nbd_uri(image) ? real_img_map
                        : I->be->ops->img_map)(I->be, image, ctx, &err);
    if (!map) {
        /* qemu-img's complaint lands in the transcript, as in a shell test */
        emit_shell(I, err ? err : "qemu-img: map failed");
        r = 0;
        goto out;
    }
    uint64_t win_start = 0, win_len = UINT64_MAX;
    const arg *wa = stmt_kwarg(s, "start_offset"), *wl = stmt_kwarg(s, "max_length");
    if ((wa && get_uint(I, wa->e, &win_start) < 0) || (wl && get_uint(I, wl->e, &win_len) < 0)) {
        json_object_put(map);
        goto out;
    }
    if ((wa || wl) && json_object_is_type(map, json_type_array))
        map_window(map, win_start, win_len);
    sbuf b = {0};
    if (I->shell72) {
        if (!json_object_is_type(map, json_type_array) || shell_map_json72(&b, map) < 0)
            rt_fail(I, s->line, s->col, "the backend's map of %s is not a list of extents", image);
        else {
            emit_shell(I, sbuf_str(&b));
            r = 0;
        }
        sbuf_free(&b);
        json_object_put(map);
        goto out;
    }
    if (json_object_is_type(map, json_type_array) && real_is_nbd_uri(image)) {
        /* QEMU 3.0's NBD client reported no offsets; today's qemu-img does */
        for (size_t i = 0; i < json_object_array_length(map); i++)
            json_object_object_del(json_object_array_get_idx(map, i), "offset");
    }
    if (!json_object_is_type(map, json_type_array) || shell_map_json(&b, map) < 0) {
        rt_fail(I, s->line, s->col, "the backend's map of %s is not a list of extents", image);
    } else {
        emit_shell(I, sbuf_str(&b));
        r = 0;
    }
    sbuf_free(&b);
    json_object_put(map);
out:
    free(image);
    free(ctx);
    free(err);
    return r;
}

/* run: iotests' run_qemu (commands on stdin; the whole output is shown,
 * greeting and events included, then a blank line). launch: _launch_qemu
 * plus _send_qemu_cmd (greeting swallowed, each reply shown). */
static int exec_vm_session(interp *I, const stmt *s)
{
    const char *mode = s->args[0].word;
    char *args = NULL;
    const arg *aa = stmt_kwarg(s, "args");
    if (aa && !(args = get_str(I, aa->e)))
        return -1;
    if (launch(I, s) < 0) {
        free(args);
        return -1;
    }
    I->session = !strcmp(mode, "run") ? 1 : 2;
    I->session_caps = 0;
    if (I->session == 1) {
        sbuf b = {0};
        sbuf_adds(&b, "Testing:");
        if (args && *args)
            sbuf_printf(&b, " %s", args);
        emit_shell(I, sbuf_str(&b));
        sbuf_free(&b);
        emit(I, "QMP_VERSION");
    }
    free(args);
    return 0;
}

static void emit_reply(interp *I, json_object *reply)
{
    char *line = shell_qmp_line(reply);
    emit_shell(I, line);
    free(line);
}

static int sh_send(interp *I, const stmt *s, char *name, json_object *args);

static int exec_sh_qmp(interp *I, const stmt *s)
{
    char *name = qmp_name(I, &s->args[0]);
    json_object *args = NULL;
    if (!name || qmp_args(I, s, &args) < 0) {
        free(name);
        return -1;
    }
    return sh_send(I, s, name, args);
}

/* sh_cmd TEXT: QEMU 7.2's _send_qemu_cmd, which echoes the command as the
 * test wrote it (through _filter_testdir and _filter_imgfmt), then shows
 * the reply. TEXT is the command's JSON. */
static int exec_sh_cmd(interp *I, const stmt *s)
{
    char *text = get_str(I, s->args[0].e);
    if (!text)
        return -1;
    json_object *cmd = json_tokener_parse(text), *ex, *args = NULL;
    if (!cmd || !json_object_is_type(cmd, json_type_object) ||
        !json_object_object_get_ex(cmd, "execute", &ex) || !json_object_is_type(ex, json_type_string)) {
        rt_fail(I, s->line, s->col, "sh_cmd needs a QMP command in JSON ({\"execute\": ...}), "
                "not: %s", text);
        json_object_put(cmd);
        free(text);
        return -1;
    }
    emit_shell(I, text);
    free(text);
    if (json_object_object_get_ex(cmd, "arguments", &args))
        json_object_get(args);
    char *name = xstrdup(json_object_get_string(ex));
    json_object_put(cmd);
    return sh_send(I, s, name, args);
}

/* Sends one command of a vm_session and shows the reply; takes name and
 * args. */
static int sh_send(interp *I, const stmt *s, char *name, json_object *args)
{
    char *err = NULL;
    json_object *reply = NULL;
    int r = -1;
    if (!I->session) {
        rt_fail(I, s->line, s->col, "sh_qmp outside a vm_session");
        goto out;
    }
    reply = json_object_new_object();
    json_object_object_add(reply, "return", json_object_new_object());
    if (!strcmp(name, "qmp_capabilities") && !I->session_caps) {
        /* the backend negotiated at launch; this is that reply */
        I->session_caps = 1;
        emit_reply(I, reply);
        r = 0;
        goto out;
    }
    if (!strcmp(name, "quit")) {
        int run = I->session == 1;
        I->session = 0;
        if (shutdown_vm(I, s) < 0)
            goto out;
        emit_reply(I, reply);
        if (I->shell72) {
            /* QEMU 7.2's SHUTDOWN through 7.2's _filter_qmp (two spaces
             * before TIMESTAMP); run_qemu then echoes a blank line */
            emit(I, "{\"timestamp\": {\"seconds\":  TIMESTAMP, \"microseconds\":  TIMESTAMP}, "
                    "\"event\": \"SHUTDOWN\", \"data\": {\"guest\": false, "
                    "\"reason\": \"host-qmp-quit\"}}");
            if (run)
                emit(I, "");
        } else if (run) {
            /* QEMU 3.0's SHUTDOWN on a monitor quit; run_qemu then echoes */
            emit(I, "{\"timestamp\": {\"seconds\": TIMESTAMP, \"microseconds\": TIMESTAMP}, "
                    "\"event\": \"SHUTDOWN\", \"data\": {\"guest\": false}}");
            emit(I, "");
        }
        r = 0;
        goto out;
    }
    json_object_put(reply);
    /* shell tests send the arguments exactly as written */
    reply = I->be->ops->qmp(I->be, name, args, &err);
    if (!reply) {
        rt_fail(I, s->line, s->col, "backend failed to run '%s': %s", name, err ? err : "no reply");
        goto out;
    }
    emit_reply(I, reply);
    r = 0;
out:
    json_object_put(reply);
    json_object_put(args);
    free(name);
    free(err);
    return r;
}

/* A positional bare word such as check's "recording" (keywords may sit
 * anywhere on the line, so positions do not tell). */
static int has_word(const stmt *s, const char *w)
{
    for (size_t i = 0; i < s->nargs; i++)
        if (!s->args[i].key && s->args[i].word && !strcmp(s->args[i].word, w))
            return 1;
    return 0;
}

/* ------------------------------------------------------------------ */
/* VMA archives: the vma tool, events, image-content models             */
/* ------------------------------------------------------------------ */

/* The sockets' directory (iotests' SOCK_DIR): inside the test directory
 * here, made on first use. */
static int make_sock_dir(interp *I, const stmt *s)
{
    if (I->sock_dir)
        return 0;
    const char *dir = I->be->test_dir ? I->be->test_dir : ".";
    if (asprintf(&I->sock_dir, "%s/sock", dir) < 0)
        abort();
    if (mkdir(I->sock_dir, 0700) < 0 && errno != EEXIST) {
        rt_fail(I, s->line, s->col, "cannot create %s: %s", I->sock_dir, strerror(errno));
        return -1;
    }
    return 0;
}

/* `sock_file VAR NAME`: iotests.file_path(NAME, base_dir=iotests.sock_dir):
 * $VAR is SOCK_DIR/PID-NAME, printed so. */
static int exec_sock_file(interp *I, const stmt *s)
{
    char *name = get_str(I, s->args[1].e), *path;
    if (!name)
        return -1;
    if (!*name || strchr(name, '/')) {
        rt_fail(I, s->args[1].line, s->args[1].col, "sock_file: '%s' is not a file name", name);
        free(name);
        return -1;
    }
    if (make_sock_dir(I, s) < 0) {
        free(name);
        return -1;
    }
    if (asprintf(&path, "%s/%s-%s", I->sock_dir, I->be->pid ? I->be->pid : "0", name) < 0)
        abort();
    bind(I, s->args[0].word, json_object_new_string(path));
    free(path);
    free(name);
    return 0;
}

/* Are the client programs the real ones? QEMU's backend (its VM serves by
 * itself) always, the simulator with --nbd-clients real. */
static int real_clients(interp *I)
{
    return I->be->real_nbd_clients || !I->be->ops->serve;
}

/* `qemu_io_interactive ARG...`: iotests' QemuIoInteractive(ARG...), a
 * qemu-io that stays open; with internal clients, each command reopens
 * the image (-r, -f FMT, IMAGE are what matter). */
static int exec_qemu_io_open(interp *I, const stmt *s)
{
    char **argv = calloc(s->nargs + 2, sizeof(*argv)), *err = NULL;
    int r = 0;
    if (!argv)
        abort();
    if (I->io_open) {
        rt_fail(I, s->line, s->col, "a qemu_io_interactive is already open");
        free(argv);
        return -1;
    }
    argv[0] = xstrdup("qemu-io");
    for (size_t i = 0; i < s->nargs && r == 0; i++)
        if (!(argv[i + 1] = get_str(I, s->args[i].e)))
            r = -1;
    free(I->io_image);
    free(I->io_fmt);
    I->io_image = I->io_fmt = NULL;
    I->io_ro = 0;
    for (size_t i = 1; r == 0 && argv[i]; i++) {
        if (!strcmp(argv[i], "-r"))
            I->io_ro = 1;
        else if (!strcmp(argv[i], "-f") && argv[i + 1])
            I->io_fmt = xstrdup(argv[++i]);
        else if (argv[i][0] == '-') {
            rt_fail(I, s->line, s->col, "qemu_io_interactive takes -r, -f FMT and the image, "
                    "not '%s'", argv[i]);
            r = -1;
        } else {
            free(I->io_image);
            I->io_image = xstrdup(argv[i]);
        }
    }
    if (r == 0 && !I->io_image) {
        rt_fail(I, s->line, s->col, "qemu_io_interactive needs an image");
        r = -1;
    }
    if (r == 0 && real_clients(I)) {
        if (!(I->io = real_io_open(I->be, argv, &err))) {
            rt_fail(I, s->line, s->col, "qemu-io did not start: %s", err ? err : "?");
            r = -1;
        }
    } else if (r == 0 && !I->be->ops->qemu_io) {
        rt_fail(I, s->line, s->col, "the %s backend cannot run qemu-io", I->be->ops->name);
        r = -1;
    }
    if (r == 0)
        I->io_open = 1;
    for (size_t i = 0; i <= s->nargs; i++)
        free(argv[i]);
    free(argv);
    free(err);
    return r;
}

/* `qemu_io_cmd CMD`: log(p.cmd(CMD).rstrip(), filters=[filter_qemu_io]) */
static int exec_qemu_io_cmd(interp *I, const stmt *s)
{
    char *cmd = get_str(I, s->args[0].e), *out = NULL, *err = NULL;
    if (!cmd)
        return -1;
    if (!I->io_open) {
        rt_fail(I, s->line, s->col, "qemu_io_cmd without a qemu_io_interactive");
        free(cmd);
        return -1;
    }
    const char *one[] = { cmd };
    out = I->io ? real_io_cmd(I->io, I->be, cmd, &err)
                : I->be->ops->qemu_io(I->be, I->io_image, I->io_fmt, I->io_ro, one, 1, &err);
    if (!out) {
        rt_fail(I, s->line, s->col, "qemu-io: %s", err ? err : "?");
        free(cmd);
        free(err);
        return -1;
    }
    size_t len = strlen(out);
    while (len && (out[len - 1] == '\n' || out[len - 1] == ' ' || out[len - 1] == '\r'))
        out[--len] = 0;
    char *f = shell_filter_qemu_io(out);
    emit(I, f);
    free(f);
    free(out);
    free(cmd);
    free(err);
    return 0;
}

/* `qemu_nbd ARG...`: iotests' nbd_server_start_unix_socket: a qemu-nbd
 * server process with these arguments (-k SOCKET among them), replacing a
 * running one; prints nothing. */
static int exec_qemu_nbd(interp *I, const stmt *s)
{
    char **argv = calloc(s->nargs + 2, sizeof(*argv)), *err = NULL;
    int r = 0, bad;
    if (!argv)
        abort();
    argv[0] = xstrdup("qemu-nbd");
    for (size_t i = 0; i < s->nargs && r == 0; i++)
        if (!(argv[i + 1] = get_str(I, s->args[i].e)))
            r = -1;
    if (r == 0 && !I->be->ops->qemu_nbd_start) {
        rt_fail(I, s->line, s->col, "the %s backend cannot start qemu-nbd", I->be->ops->name);
        r = -1;
    } else if (r == 0 && confine_tool_args(I->be->test_dir, argv, &bad, &err) < 0) {
        rt_fail(I, s->args[bad - 1].line, s->args[bad - 1].col, "qemu_nbd: %s",
                err ? err : "a path outside the test directory");
        r = -1;
    } else if (r == 0 && I->be->ops->qemu_nbd_start(I->be, argv, &err) < 0) {
        rt_fail(I, s->line, s->col, "cannot start qemu-nbd: %s", err ? err : "?");
        r = -1;
    } else if (r == 0) {
        I->qemu_nbd = 1;
    }
    for (size_t i = 0; i <= s->nargs; i++)
        free(argv[i]);
    free(argv);
    free(err);
    return r;
}

/* `run TOOL ARG...`: runs one of the project's tools (build/vma) and logs
 * its output line by line, filtered; a non-zero exit adds "(exit N)". */
static int exec_run(interp *I, const stmt *s)
{
    char *path = tool_path(s->args[0].word), *out = NULL, *err = NULL;
    if (!path) {
        rt_fail(I, s->args[0].line, s->args[0].col, "no tool named '%s'", s->args[0].word);
        return -1;
    }
    char **argv = calloc(s->nargs + 1, sizeof(*argv));
    if (!argv)
        abort();
    int r = 0;
    argv[0] = xstrdup(s->args[0].word);
    for (size_t i = 1; i < s->nargs && r == 0; i++) {
        argv[i] = s->args[i].word ? xstrdup(s->args[i].word) : get_str(I, s->args[i].e);
        if (!argv[i])
            r = -1;
    }
    int bad;
    if (r == 0 && confine_tool_args(I->be->test_dir, argv, &bad, &err) < 0) {
        rt_fail(I, s->args[bad].line, s->args[bad].col, "run %s: %s", argv[0],
                err ? err : "a path outside the test directory");
        r = -1;
    }
    int status = r ? -1 : tool_run_serving(I->be, path, argv, &out, &err);
    if (r == 0 && status < 0) {
        rt_fail(I, s->line, s->col, "cannot run %s: %s", path, err ? err : "?");
        r = -1;
    }
    if (r == 0) {
        char *line = out, *nl;
        while (*line) {
            nl = strchr(line, '\n');
            if (nl)
                *nl = 0;
            emit(I, line);
            if (!nl)
                break;
            line = nl + 1;
        }
        if (status) {
            char msg[32];
            snprintf(msg, sizeof(msg), "(exit %d)", status);
            emit(I, msg);
        }
    }
    for (size_t i = 0; i < s->nargs; i++)
        free(argv[i]);
    free(argv);
    free(out);
    free(err);
    free(path);
    return r;
}

/* Run qemu-img with argv; its exit code, or -1 after a runtime error. */
static int img_run(interp *I, const stmt *s, const char *const *argv, size_t argc, char **out,
                   char **errout)
{
    char *err = NULL;
    *out = *errout = NULL;
    if (!I->be->ops->img_run) {
        rt_fail(I, s->line, s->col, "the %s backend cannot run qemu-img", I->be->ops->name);
        return -1;
    }
    const char **full = calloc(argc + 2, sizeof(*full));
    int bad;
    if (!full)
        harness_out_of_memory((argc + 2) * sizeof(*full));
    full[0] = "qemu-img";
    for (size_t i = 0; i < argc; i++)
        full[i + 1] = argv[i];
    int refused = confine_tool_args(I->be->test_dir, (char *const *)full, &bad, &err);
    free(full);
    if (refused < 0) {
        rt_fail(I, s->line, s->col, "qemu-img: %s", err ? err : "a path outside the test directory");
        free(err);
        return -1;
    }
    int rc = I->be->ops->img_run(I->be, argv, argc, out, errout, &err);
    if (rc < 0)
        rt_fail(I, s->line, s->col, "cannot run qemu-img: %s", err ? err : "?");
    free(err);
    return rc;
}

/* `qemu_img ARG...`: iotests' qemu_img(): nothing printed; a failure
 * (non-zero exit) stops the case. */
/* not inlined: exec_cmd's frame stays small for deep nesting */
static __attribute__((noinline)) int exec_qemu_img(interp *I, const stmt *s)
{
    char **argv = calloc(s->nargs + 1, sizeof(*argv));
    if (!argv)
        abort();
    int r = 0;
    for (size_t i = 0; i < s->nargs && r == 0; i++) {
        argv[i] = s->args[i].word ? xstrdup(s->args[i].word) : get_str(I, s->args[i].e);
        /* file arguments stay in the test directory */
        if (!argv[i] || (argv[i][0] == '/' && confined(I, s, "qemu_img", argv[i], 0) < 0))
            r = -1;
    }
    char *out = NULL, *errout = NULL;
    if (r == 0) {
        int rc = img_run(I, s, (const char *const *)argv, s->nargs, &out, &errout);
        if (rc > 0)
            rt_fail(I, s->line, s->col, "qemu-img %s failed (exit %d): %s", argv[0], rc,
                    errout && *errout ? errout : out ? out : "");
        r = rc == 0 ? 0 : -1;
    }
    for (size_t i = 0; i < s->nargs; i++)
        free(argv[i]);
    free(argv);
    free(out);
    free(errout);
    return r;
}

/* `qemu_img_info VAR PATH [force_share=B]`: iotests' qemu_img_info():
 * `qemu-img info --output=json [--force-share] PATH`, parsed, bound to VAR. */
/* not inlined: exec_cmd's frame stays small for deep nesting */
static __attribute__((noinline)) int exec_qemu_img_info(interp *I, const stmt *s)
{
    int force = 0;
    char *path = get_str(I, s->args[1].e);
    if (!path || kw_bool(I, s, "force_share", 0, &force) < 0 ||
        confined(I, s, "qemu_img_info", path, 0) < 0) {
        free(path);
        return -1;
    }
    const char *argv[] = { "info", "--output=json", path, NULL, NULL };
    if (force) {
        argv[2] = "--force-share";
        argv[3] = path;
    }
    char *out = NULL, *errout = NULL;
    int rc = img_run(I, s, argv, force ? 4 : 3, &out, &errout);
    int r = -1;
    if (rc > 0) {
        rt_fail(I, s->line, s->col, "qemu-img info %s failed (exit %d): %s", path, rc,
                errout ? errout : "");
    } else if (rc == 0) {
        json_object *v = json_tokener_parse(out);
        if (!v || !json_object_is_type(v, json_type_object)) {
            rt_fail(I, s->line, s->col, "qemu-img info %s printed no JSON object", path);
            json_object_put(v);
        } else {
            bind(I, s->args[0].word, v);
            r = 0;
        }
    }
    free(out);
    free(errout);
    free(path);
    return r;
}

/* iotests' filter_img_info(output, filename) */
static char *filter_img_info(const char *out, const char *filename)
{
    sbuf b = {0};
    const char *p = out;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char *line = strndup(p, len);
        if (!line)
            abort();
        if (!strstr(line, "disk size") && !strstr(line, "actual-size")) {
            sbuf l = {0};
            for (const char *q = line; *q;) {
                if (*filename && !strncmp(q, filename, strlen(filename))) {
                    sbuf_adds(&l, "TEST_IMG");
                    q += strlen(filename);
                } else if (!strncmp(q, "qcow2", 5)) {
                    sbuf_adds(&l, "IMGFMT");
                    q += 5;
                } else if (!strncmp(q, "compression type: zlib", 22) ||
                           !strncmp(q, "compression type: zstd", 22)) {
                    sbuf_adds(&l, "compression type: COMPRESSION_TYPE");
                    q += 22;
                } else {
                    sbuf_addc(&l, *q++);
                }
            }
            sbuf_adds(&b, sbuf_str(&l));
            sbuf_free(&l);
            if (nl)
                sbuf_addc(&b, '\n');
        } else if (!nl) {
            /* a dropped last line leaves the newline before it */
        }
        free(line);
        if (!nl)
            break;
        p = nl + 1;
    }
    return sbuf_take(&b);
}

/* `img_info_log PATH [extra=LIST] [check=B]`: iotests' img_info_log:
 * `qemu-img info -f qcow2 EXTRA PATH` (stderr with stdout), filtered,
 * logged; a failure stops the case unless check is false. */
/* not inlined: exec_cmd's frame stays small for deep nesting */
static __attribute__((noinline)) int exec_img_info_log(interp *I, const stmt *s)
{
    int check = 1, r = -1;
    const arg *xa = stmt_kwarg(s, "extra");
    json_object *extra = NULL;
    char *path = get_str(I, s->args[0].e), *out = NULL, *errout = NULL;
    const char **argv = NULL;
    if (!path || kw_bool(I, s, "check", 1, &check) < 0 ||
        confined(I, s, "img_info_log", path, 0) < 0 || (xa && eval(I, xa->e, &extra) < 0))
        goto out;
    size_t nx = 0;
    if (extra) {
        if (!json_object_is_type(extra, json_type_array) || is_none(I, extra)) {
            rt_fail(I, xa->line, xa->col, "extra must be a list of strings");
            goto out;
        }
        nx = json_object_array_length(extra);
    }
    argv = calloc(nx + 5, sizeof(*argv));
    if (!argv)
        abort();
    size_t argc = 0;
    argv[argc++] = "info";
    argv[argc++] = "-f";
    argv[argc++] = "qcow2";
    for (size_t i = 0; i < nx; i++) {
        json_object *v = json_object_array_get_idx(extra, i);
        if (!json_object_is_type(v, json_type_string) || is_none(I, v)) {
            rt_fail(I, xa->line, xa->col, "extra[%zu] must be a string", i);
            goto out;
        }
        argv[argc++] = json_object_get_string(v);
    }
    argv[argc++] = path;
    int rc = img_run(I, s, argv, argc, &out, &errout);
    if (rc < 0)
        goto out;
    if (rc > 0 && check) {
        rt_fail(I, s->line, s->col, "qemu-img info %s failed (exit %d): %s", path, rc,
                errout ? errout : "");
        goto out;
    }
    sbuf all = {0};
    sbuf_adds(&all, out ? out : "");
    sbuf_adds(&all, errout ? errout : "");
    char *f = filter_img_info(sbuf_str(&all), path);
    sbuf_free(&all);
    emit(I, f);
    free(f);
    r = 0;
out:
    json_object_put(extra);
    free(argv);
    free(path);
    free(out);
    free(errout);
    return r;
}

/* `file_xor PATH OFFSET MASK`: 242's toggle_flag: one byte of an image
 * file XORed with MASK. */
/* not inlined: exec_cmd's frame stays small for deep nesting */
static __attribute__((noinline)) int exec_file_xor(interp *I, const stmt *s)
{
    char *path = get_str(I, s->args[0].e), *err = NULL;
    int64_t off, mask;
    int r = -1;
    if (!path || get_int(I, s->args[1].e, &off) < 0 || get_int(I, s->args[2].e, &mask) < 0 ||
        confined(I, s, "file_xor", path, 0) < 0)
        goto out;
    if (off < 0 || mask < 0 || mask > 255) {
        rt_fail(I, s->line, s->col, "file_xor needs an offset >= 0 and a mask of 0..255");
        goto out;
    }
    if (!I->be->ops->file_xor) {
        rt_fail(I, s->line, s->col, "the %s backend cannot change files", I->be->ops->name);
        goto out;
    }
    if (I->be->ops->file_xor(I->be, path, (uint64_t)off, (uint8_t)mask, &err) < 0) {
        rt_fail(I, s->line, s->col, "file_xor: %s", err ? err : "?");
        goto out;
    }
    r = 0;
out:
    free(err);
    free(path);
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
    const arg *na = &s->args[s->cmd == C_EVENT_GET ? 1 : 0];
    char *name = get_str(I, na->e), *device = NULL;
    const arg *da = stmt_kwarg(s, "device"), *ma = stmt_kwarg(s, "match");
    json_object *match = NULL;
    int quiet = 0;
    if (!name || (da && !(device = get_str(I, da->e))) || kw_bool(I, s, "quiet", 0, &quiet) < 0 ||
        (ma && eval(I, ma->e, &match) < 0)) {
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
            rt_fail(I, s->line, s->col, "no %s event%s%s: %s", name, device ? " of " : "",
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
    if (s->cmd == C_EVENT_GET) {
        bind(I, s->args[0].word, ev);
        free(name);
        free(device);
        return 0;
    }
    json_object *t = json_object_new_object();
    json_object_object_add(t, "seconds", json_object_new_string("SECS"));
    json_object_object_add(t, "microseconds", json_object_new_string("USECS"));
    json_object_object_add(ev, "timestamp", t);
    if (!quiet)
        emit_json(I, ev, -1);
    json_object_put(ev);
    free(name);
    free(device);
    return 0;
}

/* `assert EXPR MESSAGE`: a Python test's assert; silent when it holds, and
 * the case stops with MESSAGE when it does not. */
static int exec_assert(interp *I, const stmt *s)
{
    json_object *v = NULL;
    if (eval(I, s->args[0].e, &v) < 0)
        return -1;
    int ok = truthy(I, v);
    json_object_put(v);
    if (ok)
        return 0;
    char *msg = get_str(I, s->args[1].e);
    if (msg)
        rt_fail(I, s->line, s->col, "assertion failed: %s", msg);
    free(msg);
    return -1;
}

/* `vm_log NAME`: binds what the VM launched last printed (vm.get_log()). */
static int exec_vm_log(interp *I, const stmt *s)
{
    char *err = NULL, *text;
    if (!I->be->ops->vm_log) {
        rt_fail(I, s->line, s->col, "the %s backend cannot read the VM's log", I->be->ops->name);
        return -1;
    }
    if (!(text = I->be->ops->vm_log(I->be, &err))) {
        rt_fail(I, s->line, s->col, "cannot read the VM's log: %s", err ? err : "?");
        free(err);
        return -1;
    }
    bind(I, s->args[0].word, json_object_new_string(text));
    free(text);
    return 0;
}

/* `image M new SIZE | write GROUP | copy SRC` */
/* Would image model `name` of `size` bytes keep all models within the
 * memory limit? (It replaces a model of that name.) */
static int model_fits(interp *I, const stmt *s, const char *name, uint64_t size)
{
    oracle_image *old = oracle_image_find(I->imgs, name);
    uint64_t others = oracle_images_bytes(I->imgs) - (old ? oracle_image_size(old) : 0);
    if (size > I->lim.model_bytes || others > I->lim.model_bytes - size) {
        rt_fail(I, s->line, s->col,
                "image model '%s': %llu bytes would take the image models to %llu bytes, "
                "over the limit of %llu (raise it with --max-model-memory)", name,
                (unsigned long long)size, (unsigned long long)value_size_add(others, size),
                (unsigned long long)I->lim.model_bytes);
        return 0;
    }
    return 1;
}

static int image_op(interp *I, const stmt *s)
{
    const char *name = s->args[0].word, *op = s->args[1].word;
    uint64_t size;
    if (!I->imgs)
        I->imgs = oracle_images_new();
    if (!strcmp(op, "new")) {
        if (get_uint(I, s->args[2].e, &size) < 0 || !model_fits(I, s, name, size))
            return -1;
        if (!oracle_image_new(I->imgs, name, size)) {
            rt_fail(I, s->line, s->col, "image model '%s': cannot allocate %llu bytes", name,
                    (unsigned long long)size);
            return -1;
        }
        return 0;
    }
    if (!strcmp(op, "copy")) {
        oracle_image *src = oracle_image_find(I->imgs, s->args[2].word);
        if (!src) {
            rt_fail(I, s->args[2].line, s->args[2].col, "no image model named '%s'",
                    s->args[2].word);
            return -1;
        }
        if (!model_fits(I, s, name, oracle_image_size(src)))
            return -1;
        if (!oracle_image_copy(I->imgs, name, src)) {
            rt_fail(I, s->line, s->col, "image model '%s': cannot allocate %llu bytes", name,
                    (unsigned long long)oracle_image_size(src));
            return -1;
        }
        return 0;
    }
    oracle_image *img = oracle_image_find(I->imgs, name);
    if (!img) {
        rt_fail(I, s->args[0].line, s->args[0].col, "no image model named '%s'", name);
        return -1;
    }
    wgroup *g = need_group(I, s->args[2].e);
    if (!g)
        return -1;
    for (size_t i = 0; i < g->n; i++) {
        char *end;
        unsigned long pat = strtoul(g->pattern[i], &end, 0);
        if (*end || pat > 255 || oracle_image_write(img, g->off[i], g->len[i], (uint8_t)pat) < 0) {
            rt_fail(I, s->line, s->col, "write %s@0x%llx:0x%llx does not fit image model '%s'",
                    g->pattern[i], (unsigned long long)g->off[i], (unsigned long long)g->len[i],
                    name);
            return -1;
        }
    }
    return 0;
}

/* `check_image M PATH`: the file must hold exactly the model's bytes. */
static int check_image(interp *I, const stmt *s)
{
    const char *name = s->args[0].word;
    oracle_image *img = I->imgs ? oracle_image_find(I->imgs, name) : NULL;
    if (!img) {
        rt_fail(I, s->args[0].line, s->args[0].col, "no image model named '%s'", name);
        return -1;
    }
    char *path = get_str(I, s->args[1].e);
    if (!path || confined(I, s, "check_image", path, 0) < 0) {
        free(path);
        return -1;
    }
    uint64_t where = 0;
    int size_diff = 0;
    int r = oracle_image_compare_file(img, path, &where, &size_diff);
    sbuf b = {0};
    sbuf_printf(&b, "= Checking image %s against model %s =\n", path, name);
    if (r < 0)
        sbuf_printf(&b, "cannot read it: %s. ERROR!", strerror(-r));
    else if (r == 0)
        sbuf_printf(&b, "%llu bytes as expected. OK!", (unsigned long long)oracle_image_size(img));
    else if (size_diff)
        sbuf_printf(&b, "size %llu, expected %llu. ERROR!", (unsigned long long)where,
                    (unsigned long long)oracle_image_size(img));
    else
        sbuf_printf(&b, "differs at offset 0x%llx. ERROR!", (unsigned long long)where);
    emit(I, sbuf_str(&b));
    emit(I, "");
    sbuf_free(&b);
    free(path);
    return 0;
}

/* `write_file PATH TEXT`: a real file (a VM config for `backup`) directly
 * inside the backend's test directory, so a case cannot write elsewhere.
 * Replaces an existing file; prints nothing. */
static int write_file(interp *I, const stmt *s)
{
    char *path = get_str(I, s->args[0].e);
    char *text = path ? get_str(I, s->args[1].e) : NULL;
    if (!text) {
        free(path);
        return -1;
    }
    const char *dir = I->be->test_dir ? I->be->test_dir : "";
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    const char *name = path + n + 1;
    int r = 0;
    if (!n || strncmp(path, dir, n) || path[n] != '/' || !*name || strchr(name, '/') ||
        !strcmp(name, ".") || !strcmp(name, "..")) {
        rt_fail(I, s->args[0].line, s->args[0].col,
                "write_file: '%s' is not a file directly in the test directory %.*s", path,
                (int)n, dir);
        r = -1;
    } else {
        int fd = confined(I, s, "write_file", path, 0) < 0
                     ? -2 : open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        size_t len = strlen(text), done = 0;
        while (fd >= 0 && done < len) {
            ssize_t w = write(fd, text + done, len - done);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                break;
            done += (size_t)w;
        }
        int saved = errno;
        if (fd < 0 || done < len || close(fd) < 0) {
            rt_fail(I, s->line, s->col, "write_file: cannot write %s: %s", path,
                    strerror(fd < 0 || done < len ? saved : errno));
            r = -1;
        }
    }
    free(path);
    free(text);
    return r;
}

/* ------------------------------------------------------------------ */
/* Unittest-style checks (cases/README.md "Checks")                     */
/* ------------------------------------------------------------------ */

/* Logs the check's line; a failure is remembered and fails the run at the
 * end, after the rest of the case has printed. */
static void report_check(interp *I, const stmt *s, int passed, const char *what, const char *why)
{
    char *line = check_line(passed, what, why);
    emit(I, line);
    if (!passed && I->checks_failed++ == 0 &&
        asprintf(&I->first_check_fail, "%s:%d:%d: check failed: %s", I->prog->file, s->line,
                 s->col, line) < 0)
        abort();
    free(line);
}

/* qmp_get NAME CMD [ARGS]: the whole reply into $NAME, nothing logged. */
static int exec_qmp_get(interp *I, const stmt *s)
{
    char *name = qmp_name(I, &s->args[1]);
    json_object *args = NULL, *reply = NULL;
    if (!name)
        return -1;
    if (s->nargs > 2) {
        const expr *e = s->args[2].e;
        if (eval(I, e, &args) < 0)
            goto out;
        if (!json_object_is_type(args, json_type_object) || is_none(I, args)) {
            rt_fail(I, e->line, e->col, "QMP arguments must be an object, got %s",
                    type_name(I, args));
            goto out;
        }
        if (check_plain(I, e, args) < 0)
            goto out;
    }
    reply = qmp(I, s, name, args);
    if (reply)
        bind(I, s->args[0].word, reply);
out:
    json_object_put(args);
    free(name);
    return reply ? 0 : -1;
}

static int exec_expect(interp *I, const stmt *s)
{
    json_object *a = NULL, *b = NULL, *d = NULL;
    char *what = NULL, *why = NULL, *path = NULL;
    int r = -1, ok;
    switch (s->cmd) {
    case C_EXPECT:
        if (eval(I, s->args[0].e, &a) < 0 || !(what = get_str(I, s->args[1].e)))
            break;
        report_check(I, s, truthy(I, a), what, NULL);
        r = 0;
        break;
    case C_EXPECT_EQ:
        if (eval(I, s->args[0].e, &a) < 0 || eval(I, s->args[1].e, &b) < 0 ||
            !(what = get_str(I, s->args[2].e)))
            break;
        ok = !is_none(I, a) && !is_none(I, b) ? check_equal(a, b) : a == b;
        if (!ok) {
            char *ta = json_render_alloc(is_none(I, a) ? NULL : a, -1);
            char *tb = json_render_alloc(is_none(I, b) ? NULL : b, -1);
            if (asprintf(&why, "got %s, expected %s", ta, tb) < 0)
                abort();
            free(ta);
            free(tb);
        }
        report_check(I, s, ok, what, why);
        r = 0;
        break;
    default:    /* expect_qmp, expect_qmp_absent */
        if (eval(I, s->args[0].e, &d) < 0 || !(path = get_str(I, s->args[1].e)))
            break;
        if (s->cmd == C_EXPECT_QMP) {
            if (eval(I, s->args[2].e, &b) < 0)
                break;
            if (is_none(I, b)) {
                rt_fail(I, s->args[2].e->line, s->args[2].e->col,
                        "expect_qmp compares with a JSON value, not 'none'");
                break;
            }
            ok = check_assert_qmp(d, path, b, &what, &why);
        } else {
            ok = check_assert_qmp_absent(d, path, &what, &why);
        }
        report_check(I, s, ok, what, why);
        r = 0;
        break;
    }
    json_object_put(a);
    json_object_put(b);
    json_object_put(d);
    free(what);
    free(why);
    free(path);
    return r;
}

/* img_create's backing= and backing_fmt= (qemu-img create -b B -F F) */
static int img_backing(interp *I, const stmt *s, char **bk, char **bkf)
{
    const arg *b = stmt_kwarg(s, "backing"), *f = stmt_kwarg(s, "backing_fmt");
    *bk = *bkf = NULL;
    if (b && !(*bk = get_str(I, b->e)))
        return -1;
    if (f && !(*bkf = get_str(I, f->e)))
        return -1;
    return 0;
}

static int exec_cmd(interp *I, const stmt *s)
{
    json_object *v = NULL;
    char *x = NULL, *y = NULL, *err = NULL;
    char *bk = NULL, *bkf = NULL;   /* img_create's backing file and format */
    int r = 0;
    uint64_t size;
    const arg *z;

    switch (s->cmd) {
    case C_LOG: {
        int64_t indent = -1;
        if (kw_int(I, s, "indent", &indent) < 0 || eval(I, s->args[0].e, &v) < 0)
            return -1;
        sbuf b = {0};
        /* log(msg, indent=N): dicts and lists as json.dumps(indent=N) */
        if (indent >= 0 && v && !is_none(I, v) && (json_object_is_type(v, json_type_object) ||
                                                  json_object_is_type(v, json_type_array)))
            json_render(&b, v, (int)indent);
        else
            to_text(I, &b, v);
        emit(I, sbuf_str(&b));
        sbuf_free(&b);
        json_object_put(v);
        return 0;
    }
    case C_BLANK:
        emit(I, "");
        return 0;
    case C_FILES:
        /* iotests.FilePaths: TEST_DIR/PID-name */
        for (size_t i = 0; i < s->nargs; i++) {
            const char *dir = I->be->test_dir ? I->be->test_dir : ".";
            size_t n = strlen(dir);
            if (asprintf(&x, "%s%s%s-%s", dir, n && dir[n - 1] == '/' ? "" : "/",
                         I->be->pid ? I->be->pid : "0", s->args[i].word) < 0)
                abort();
            bind(I, s->args[i].word, json_object_new_string(x));
            free(x);
        }
        return 0;
    case C_IMG_CREATE:
        x = get_str(I, s->args[0].e);
        y = x ? get_str(I, s->args[1].e) : NULL;
        if (!y || get_uint(I, s->args[2].e, &size) < 0 ||
            confined(I, s, "img_create", y, 0) < 0) {
            r = -1;
        } else if (img_backing(I, s, &bk, &bkf) < 0 ||
                   (bk && confined(I, s, "img_create backing", bk, 1) < 0)) {
            r = -1;
        } else if ((z = stmt_kwarg(s, "options")) != NULL) {
            /* qemu-img create -o OPTIONS */
            char *o = get_str(I, z->e);
            if (!o || !I->be->ops->img_create_opts || bk) {
                if (o)
                    rt_fail(I, s->line, s->col, bk ? "img_create takes options or a backing "
                            "file, not both" : "the %s backend takes no qemu-img create options",
                            I->be->ops->name);
                r = -1;
            } else if (I->be->ops->img_create_opts(I->be, x, y, size, o, &err) < 0) {
                rt_fail(I, s->line, s->col, "qemu-img create failed: %s", err ? err : "?");
                r = -1;
            }
            free(o);
        }
        if (r < 0 || stmt_kwarg(s, "options")) {
            /* created above (or failed) */
        } else if (I->be->ops->img_create(I->be, x, y, size, bk, bkf, &err) < 0) {
            rt_fail(I, s->line, s->col, "qemu-img create failed: %s", err ? err : "?");
            r = -1;
        }
        if (r == 0 && stmt_kwarg(s, "print")) {
            /* _make_test_img's line, as _filter_img_create leaves it */
            int pr;
            if (kw_bool(I, s, "print", 0, &pr) < 0) {
                r = -1;
            } else if (pr) {
                char *line;
                if (asprintf(&line, "Formatting '%s', fmt=%s size=%llu", y, x,
                             (unsigned long long)size) < 0)
                    abort();
                emit_shell(I, line);
                free(line);
            }
        }
        free(err);
        free(x);
        free(y);
        free(bk);
        free(bkf);
        return r;
    case C_LAUNCH:
        return launch(I, s);
    case C_SHUTDOWN:
        return shutdown_vm(I, s);
    case C_QMP_LOG:
    case C_QMP_RETURN:
    case C_QMP:
        return exec_qmp(I, s);
    case C_HMP_IO:
        x = get_str(I, s->args[0].e);
        y = x ? get_str(I, s->args[1].e) : NULL;
        if (y && (v = hmp_qemu_io(I, s, x, y)) != NULL)
            emit_json(I, v, -1);
        else
            r = -1;
        json_object_put(v);
        free(x);
        free(y);
        return r;
    case C_WRITE:
        return exec_write(I, s);
    case C_BITMAPS:
        return list_bitmaps(I, s);
    case C_MODEL:
        return model_op(I, s);
    case C_CHECK:
        x = get_str(I, s->args[1].e);
        y = x ? get_str(I, s->args[2].e) : NULL;
        r = y ? check_bitmap(I, s, s->args[0].word, x, y, has_word(s, "recording")) : -1;
        free(x);
        free(y);
        return r;
    case C_RUN_JOB: {
        int af, ad, cancel;
        x = get_str(I, s->args[0].e);
        if (!x || kw_bool(I, s, "auto_finalize", 1, &af) < 0 ||
            kw_bool(I, s, "auto_dismiss", 0, &ad) < 0 || kw_bool(I, s, "cancel", 0, &cancel) < 0)
            r = -1;
        else
            r = run_job(I, s, x, af, ad, cancel, s->proc);
        free(x);
        return r;
    }
    case C_COMPARE:
        return exec_compare(I, s);
    case C_RUN:
        return exec_run(I, s);
    case C_EVENT_WAIT:
        return exec_event_wait(I, s);
    case C_IMAGE:
        return image_op(I, s);
    case C_CHECK_IMAGE:
        return check_image(I, s);
    case C_WRITE_FILE:
        return write_file(I, s);
    case C_SHELL_TEST:
        return exec_shell_test(I, s);
    case C_QEMU_IO_RUN:
        return exec_qemu_io_run(I, s);
    case C_VM_SESSION:
        return exec_vm_session(I, s);
    case C_SH_QMP:
        return exec_sh_qmp(I, s);
    case C_IMG_MAP:
        return exec_img_map(I, s);
    case C_QMP_GET:
        return exec_qmp_get(I, s);
    case C_IMG_INFO_LOG:
        return exec_img_info_log(I, s);
    case C_FILE_XOR:
        return exec_file_xor(I, s);
    case C_QEMU_IO_LOG:
        return exec_qemu_io_run(I, s);
    case C_EVENT_GET:
        return exec_event_wait(I, s);
    case C_EXPECT:
    case C_EXPECT_EQ:
    case C_EXPECT_QMP:
    case C_EXPECT_QMP_ABSENT:
        return exec_expect(I, s);
    case C_IMG_COMPARE_LOG:
        return exec_img_compare_log(I, s);
    case C_EVENTS_PENDING:
        return exec_events_pending(I, s);
    case C_QEMU_IMG:
        return exec_qemu_img(I, s);
    case C_QEMU_IMG_INFO:
        return exec_qemu_img_info(I, s);
    case C_SH_CMD:
        return exec_sh_cmd(I, s);
    case C_QEMU_NBD:
        return exec_qemu_nbd(I, s);
    case C_SOCK_FILE:
        return exec_sock_file(I, s);
    case C_QEMU_IO_OPEN:
        return exec_qemu_io_open(I, s);
    case C_QEMU_IO_CMD:
        return exec_qemu_io_cmd(I, s);
    case C_QEMU_IO_CLOSE:
        real_io_close(I->io, I->be);
        I->io = NULL;
        I->io_open = 0;
        return 0;
    case C_QEMU_NBD_STOP:
        if (I->qemu_nbd && I->be->ops->qemu_nbd_stop)
            I->be->ops->qemu_nbd_stop(I->be);
        I->qemu_nbd = 0;
        return 0;
    case C_ASSERT:
        return exec_assert(I, s);
    case C_VM_LOG:
        return exec_vm_log(I, s);
    }
    return -1;
}

static int call_proc(interp *I, const stmt *s, const proc *pr, json_object **args)
{
    if (I->nframes > MAX_DEPTH) {
        rt_fail(I, s->line, s->col, "procedures nested more than %d deep", MAX_DEPTH);
        for (size_t i = 0; i < pr->nparams; i++)
            json_object_put(args[i]);
        return -1;
    }
    push_frame(I);
    for (size_t i = 0; i < pr->nparams; i++)
        bind(I, pr->params[i], args[i]);
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
        if (eval(I, s->e, &v) < 0)
            return -1;
        bind(I, s->name, v);
        return 0;
    case S_GROUP:
        return define_group(I, s);
    case S_CALL: {
        json_object **args = calloc(s->nargs + 1, sizeof(*args));
        if (!args)
            abort();
        for (size_t i = 0; i < s->nargs; i++) {
            if (eval(I, s->args[i].e, &args[i]) < 0) {
                for (size_t k = 0; k < i; k++)
                    json_object_put(args[k]);
                free(args);
                return -1;
            }
        }
        int r = call_proc(I, s, s->proc, args);
        free(args);
        return r;
    }
    case S_IF:
        for (size_t i = 0; i < s->nconds; i++) {
            if (eval(I, s->conds[i], &v) < 0)
                return -1;
            int t = truthy(I, v);
            json_object_put(v);
            if (t)
                return exec_block(I, &s->bodies[i]);
        }
        return exec_block(I, &s->else_body);
    case S_FOR: {
        if (eval(I, s->e, &v) < 0)
            return -1;
        if (!json_object_is_type(v, json_type_array) || is_none(I, v)) {
            rt_fail(I, s->e->line, s->e->col, "'for' needs a list, got %s", type_name(I, v));
            json_object_put(v);
            return -1;
        }
        int r = 0;
        for (size_t i = 0; i < json_object_array_length(v) && r == 0; i++) {
            bind(I, s->name, json_object_get(json_object_array_get_idx(v, i)));
            r = exec_block(I, &s->body);
        }
        json_object_put(v);
        return r;
    }
    case S_CMD:
        return exec_cmd(I, s);
    }
    return -1;
}

static int exec_block(interp *I, const block *b)
{
    if (I->nest + 1 > MAX_RUN_NESTING) {
        if (b->n)
            rt_fail(I, b->v[0]->line, b->v[0]->col,
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
                rt_fail(I, b->v[i]->line, b->v[i]->col, "statement failed");
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
    if (shutdown_vm(&I, NULL) < 0)
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
    drop_events(&I);
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
