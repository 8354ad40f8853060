/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The case interpreter's values and expressions: Python-like truth, text,
 * arithmetic and comparisons over json-c values, with every value built
 * measured against the run's limits (harness/limits.h).
 */
#include "harness/interp_int.h"
#include "harness/confine.h"
#include "harness/case_funcs.h"
#include "harness/checks.h"
#include "harness/json_render.h"

#include <stdio.h>

static const char *const limit_hint = "raise the limit with --max-value-size";

/* A list or object just built from sealed or foreign parts: measure it,
 * remember the result, refuse it past the limits. */
static int seal_checked(interp *I, const expr *e, json_object *v);
static int eval_inner(interp *I, const expr *e, json_object **out);

int interp_is_none(interp *I, json_object *v)
{
    return v == I->none;
}

const char *interp_type_name(interp *I, json_object *v)
{
    if (interp_is_none(I, v))
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
void interp_to_text(interp *I, sbuf *b, json_object *v)
{
    if (interp_is_none(I, v) || v == NULL)
        sbuf_adds(b, "None");
    else if (json_object_is_type(v, json_type_string))
        sbuf_addn(b, json_object_get_string(v), (size_t)json_object_get_string_len(v));
    else if (json_object_is_type(v, json_type_boolean))
        sbuf_adds(b, json_object_get_boolean(v) ? "True" : "False");
    else
        json_render(b, v, -1);
}

int interp_truthy(interp *I, json_object *v)
{
    if (v == NULL || interp_is_none(I, v))
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

int interp_get_int(interp *I, const expr *e, int64_t *v)
{
    json_object *o;
    if (interp_eval(I, e, &o) < 0)
        return -1;
    if (!json_object_is_type(o, json_type_int) || interp_is_none(I, o)) {
        interp_fail(I, e->line, e->col, "expected an int, got %s", interp_type_name(I, o));
        json_object_put(o);
        return -1;
    }
    *v = json_object_get_int64(o);
    json_object_put(o);
    return 0;
}

int interp_get_uint(interp *I, const expr *e, uint64_t *v)
{
    int64_t i;
    if (interp_get_int(I, e, &i) < 0)
        return -1;
    if (i < 0) {
        interp_fail(I, e->line, e->col, "expected a non-negative int, got %lld", (long long)i);
        return -1;
    }
    *v = (uint64_t)i;
    return 0;
}

/* malloc'd string value of e (strings only). */
char *interp_get_str(interp *I, const expr *e)
{
    json_object *o;
    if (interp_eval(I, e, &o) < 0)
        return NULL;
    if (!json_object_is_type(o, json_type_string) || interp_is_none(I, o)) {
        interp_fail(I, e->line, e->col, "expected a string, got %s", interp_type_name(I, o));
        json_object_put(o);
        return NULL;
    }
    char *s = xstrdup(json_object_get_string(o));
    json_object_put(o);
    return s;
}

/* Group and model keys: the text of any value (group 0 and group "0" agree). */
char *interp_get_key(interp *I, const expr *e)
{
    json_object *o;
    if (interp_eval(I, e, &o) < 0)
        return NULL;
    sbuf b = {0};
    interp_to_text(I, &b, o);
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

static int seal(interp *I, const expr *e, json_object **pv)
{
    if (!*pv) {
        interp_fail(I, e->line, e->col, "out of memory");
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
        interp_fail(I, e->line, e->col, "value nested more than %d levels deep",
                    CASE_MAX_VALUE_DEPTH);
        return -1;
    }
    if (size > I->lim.value_bytes) {
        interp_fail(I, e->line, e->col, "value too large: about %llu bytes, the limit is %llu (%s)",
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
        interp_fail(I, e->line, e->col, "value too large: about %llu bytes, the limit is %llu (%s)",
                    (unsigned long long)size, (unsigned long long)I->lim.value_bytes, limit_hint);
        return -1;
    }
    return 0;
}

static int eval_arith(interp *I, const expr *e, json_object *l, json_object *r, json_object **out)
{
    enum json_type lt = json_object_get_type(l), rt = json_object_get_type(r);
    if (interp_is_none(I, l) || interp_is_none(I, r))
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
        interp_fail(I, e->line, e->col, "cannot apply '%s' to %s and %s", names[e->op],
                    interp_type_name(I, l), interp_type_name(I, r));
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
            interp_fail(I, e->line, e->col, "division by zero");
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
        interp_fail(I, e->line, e->col, "integer overflow");
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
        if (interp_is_none(I, l) || interp_is_none(I, r))
            eq = l == r;
        else
            eq = json_object_equal(l, r);
        res = e->op == OP_EQ ? eq : !eq;
    } else {
        int c;
        if (json_object_is_type(l, json_type_int) && json_object_is_type(r, json_type_int) &&
            !interp_is_none(I, l) && !interp_is_none(I, r)) {
            int64_t a = json_object_get_int64(l), b = json_object_get_int64(r);
            c = a < b ? -1 : a > b;
        } else if (json_object_is_type(l, json_type_string) &&
                   json_object_is_type(r, json_type_string) && !interp_is_none(I, l) &&
                   !interp_is_none(I, r)) {
            c = strcmp(json_object_get_string(l), json_object_get_string(r));
        } else {
            interp_fail(I, e->line, e->col, "cannot order %s and %s", interp_type_name(I, l),
                        interp_type_name(I, r));
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
    if (json_object_is_type(l, json_type_array) && !interp_is_none(I, l) &&
        json_object_is_type(r, json_type_int) && !interp_is_none(I, r)) {
        int64_t n = (int64_t)json_object_array_length(l), i = json_object_get_int64(r);
        if (i < 0)
            i += n;
        if (i < 0 || i >= n) {
            interp_fail(I, e->line, e->col, "index %lld out of range (list of %lld)",
                        (long long)json_object_get_int64(r), (long long)n);
            return -1;
        }
        *out = json_object_get(json_object_array_get_idx(l, (size_t)i));
        return 0;
    }
    if (json_object_is_type(l, json_type_object) && json_object_is_type(r, json_type_string) &&
        !interp_is_none(I, l) && !interp_is_none(I, r)) {
        json_object *v;
        if (!json_object_object_get_ex(l, json_object_get_string(r), &v)) {
            interp_fail(I, e->line, e->col, "no key \"%s\"", json_object_get_string(r));
            return -1;
        }
        *out = json_object_get(v);
        return 0;
    }
    interp_fail(I, e->line, e->col, "cannot index %s with %s", interp_type_name(I, l),
                interp_type_name(I, r));
    return -1;
}

/* dictpath(VALUE, PATH): iotests' QMPTestCase.dictpath; a missing path
 * stops the case like the failed assertion it is in Python. */
static int eval_dictpath(interp *I, const expr *e, json_object **out)
{
    json_object *d, *v;
    char *path, *why = NULL;
    if (interp_eval(I, e->items[0], &d) < 0)
        return -1;
    if (!(path = interp_get_str(I, e->items[1]))) {
        json_object_put(d);
        return -1;
    }
    int r = check_dictpath(d, path, &v, &why);
    if (r < 0)
        interp_fail(I, e->line, e->col, "dictpath: %s", why);
    else
        *out = json_object_get(v);
    free(why);
    free(path);
    json_object_put(d);
    return r;
}

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

int interp_eval(interp *I, const expr *e, json_object **out)
{
    int r;
    if (++I->nest > MAX_RUN_NESTING) {
        interp_fail(I, e->line, e->col, "blocks, calls and expressions nested more than %d deep",
                    MAX_RUN_NESTING);
        *out = NULL;
        r = -1;
    } else {
        r = eval_inner(I, e, out);
        if (r == 0 && !*out && makes_value(e)) {
            interp_fail(I, e->line, e->col, "out of memory");
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
            } else if (!interp_defined(I, e->parts[i].text)) {
                interp_fail(I, e->line, e->col, "undefined variable '%s' in string",
                            e->parts[i].text);
                sbuf_free(&b);
                return -1;
            } else {
                interp_to_text(I, &b, interp_lookup(I, e->parts[i].text));
            }
            if (b.len > I->lim.value_bytes) {
                interp_fail(I, e->line, e->col,
                            "string too large: %zu bytes, the limit is %llu (%s)", b.len, (unsigned long long)I->lim.value_bytes, limit_hint);
                sbuf_free(&b);
                return -1;
            }
        }
        *out = json_object_new_string(sbuf_str(&b));
        sbuf_free(&b);
        return 0;
    }
    case E_VAR:
        if (!interp_defined(I, e->name)) {
            interp_fail(I, e->line, e->col, "undefined variable '%s'", e->name);
            return -1;
        }
        *out = json_object_get(interp_lookup(I, e->name));
        return 0;
    case E_LIST:
        *out = json_object_new_array();
        for (size_t i = 0; i < e->nitems; i++) {
            json_object *v;
            if (interp_eval(I, e->items[i], &v) < 0)
                return json_object_put(*out), *out = NULL, -1;
            json_object_array_add(*out, v);
        }
        return seal(I, e, out);
    case E_OBJ:
        *out = json_object_new_object();
        for (size_t i = 0; i < e->nitems; i++) {
            json_object *v;
            if (interp_eval(I, e->items[i], &v) < 0)
                return json_object_put(*out), *out = NULL, -1;
            if (interp_is_none(I, v))  /* absent: the key is left out */
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
            char *s = interp_get_str(I, e->items[0]);
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
            if (interp_eval(I, e->items[k], &av[k]) < 0)
                break;
        char *ferr = NULL;
        if (k == e->nitems &&
            case_func_call(e->name, av, e->nitems, I->none, out, &ferr) < 0) {
            interp_fail(I, e->line, e->col, "%s", ferr);
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
        if (interp_eval(I, e->l, &l) < 0)
            return -1;
        *out = json_object_new_boolean(!interp_truthy(I, l));
        json_object_put(l);
        return 0;
    case E_NEG: {
        int64_t v;
        if (interp_get_int(I, e->l, &v) < 0)
            return -1;
        if (v == INT64_MIN) {
            interp_fail(I, e->line, e->col, "integer overflow");
            return -1;
        }
        *out = json_object_new_int64(-v);
        return 0;
    }
    case E_INDEX:
        if (interp_eval(I, e->l, &l) < 0)
            return -1;
        if (interp_eval(I, e->r, &r) < 0) {
            json_object_put(l);
            return -1;
        }
        ret = eval_index(I, e, l, r, out);
        json_object_put(l);
        json_object_put(r);
        return ret;
    case E_BIN:
        if (interp_eval(I, e->l, &l) < 0)
            return -1;
        if (e->op == OP_AND || e->op == OP_OR) {
            /* Python: the deciding operand is the result */
            if (interp_truthy(I, l) == (e->op == OP_OR)) {
                *out = l;
                return 0;
            }
            json_object_put(l);
            return interp_eval(I, e->r, out);
        }
        if (interp_eval(I, e->r, &r) < 0) {
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
int interp_check_plain(interp *I, const expr *e, json_object *v)
{
    if (interp_is_none(I, v)) {
        interp_fail(I, e->line, e->col, "'none' cannot be sent to QMP");
        return -1;
    }
    if (json_object_is_type(v, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(v); i++)
            if (interp_check_plain(I, e, json_object_array_get_idx(v, i)) < 0)
                return -1;
    } else if (json_object_is_type(v, json_type_object)) {
        json_object_object_foreach(v, k, x) {
            (void)k;
            if (interp_check_plain(I, e, x) < 0)
                return -1;
        }
    }
    return 0;
}
