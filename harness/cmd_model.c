/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Case commands of bitmaps and the oracle: guest writes, the bitmaps'
 * listing, the oracle's bitmap models and the checks against them, and
 * qemu-img compare.
 */
#include "harness/interp_int.h"
#include "harness/confine.h"
#include "harness/json_render.h"

#include <stdio.h>

/* iotests' query_bitmaps: node name -> dirty-bitmaps, for nodes that have
 * the key; printed as {"bitmaps": ...} with indent 2. */
/* iotests' query_bitmaps: {node-name: dirty-bitmaps} from
 * query-named-block-nodes, or from the backend's shortcut to the same. */
static json_object *bitmaps_by_node(interp *I, const stmt *s)
{
    if (I->be->ops->dirty_bitmaps) {
        char *err = NULL;
        json_object *map = I->be->ops->dirty_bitmaps(I->be, &err);
        if (!map)
            interp_fail(I, s->line, s->col, "backend failed to list bitmaps: %s",
                        err ? err : "no reply");
        free(err);
        return map;
    }
    json_object *reply = interp_qmp(I, s, "query-named-block-nodes", NULL), *nodes;
    if (!reply)
        return NULL;
    if (!json_object_object_get_ex(reply, "return", &nodes) ||
        !json_object_is_type(nodes, json_type_array)) {
        char *r = json_render_alloc(reply, -1);
        interp_fail(I, s->line, s->col, "query-named-block-nodes failed: %s", r);
        free(r);
        json_object_put(reply);
        return NULL;
    }
    json_object *map = json_object_new_object();
    for (size_t i = 0; i < json_object_array_length(nodes); i++) {
        json_object *n = json_object_array_get_idx(nodes, i), *name, *bm;
        if (json_object_object_get_ex(n, "dirty-bitmaps", &bm) &&
            json_object_object_get_ex(n, "node-name", &name))
            json_object_object_add(map, json_object_get_string(name), json_object_get(bm));
    }
    json_object_put(reply);
    return map;
}

static int list_bitmaps(interp *I, const stmt *s)
{
    json_object *map = bitmaps_by_node(I, s);
    if (!map)
        return -1;
    int quiet = 0;
    if (interp_kw_bool(I, s, "quiet", 0, &quiet) < 0) {
        json_object_put(map);
        return -1;
    }
    if (!quiet) {
        json_object *wrap = json_object_new_object();
        json_object_object_add(wrap, "bitmaps", json_object_get(map));
        interp_emit_json(I, wrap, 2);
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
        interp_fail(I, s->line, s->col, "no model named '%s'", model);
        return -1;
    }
    if (!I->listing) {
        interp_fail(I, s->line, s->col, "check before any bitmap listing");
        return -1;
    }
    if (!json_object_object_get_ex(I->listing, node, &list) ||
        !json_object_is_type(list, json_type_array)) {
        interp_fail(I, s->line, s->col, "node '%s' has no bitmaps in the last listing", node);
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
        interp_fail(I, s->line, s->col, "node '%s' has no %sbitmap named '%s' in the last listing",
                    node, recording ? "recording " : "", name);
        return -1;
    }
    json_object *count, *gran, *nm;
    if (!json_object_object_get_ex(found, "count", &count) ||
        !json_object_object_get_ex(found, "granularity", &gran) ||
        json_object_get_int64(gran) <= 0) {
        interp_fail(I, s->line, s->col, "bitmap lacks a count or a granularity");
        return -1;
    }
    uint64_t have = (uint64_t)json_object_get_int64(count) / (uint64_t)json_object_get_int64(gran);
    const char *shown = json_object_object_get_ex(found, "name", &nm) ? json_object_get_string(nm)
                                                                      : NULL;
    int quiet = 0;
    if (interp_kw_bool(I, s, "quiet", 0, &quiet) < 0)
        return -1;
    if (quiet) {
        /* nothing to print: a mismatch stops the case instead */
        if (oracle_count(m) != have) {
            interp_fail(I, s->line, s->col,
                        "bitmap '%s' of '%s': expecting %llu dirty bits, have %llu", name, node, (unsigned long long)oracle_count(m), (unsigned long long)have);
            return -1;
        }
        return 0;
    }
    char *text = oracle_check_text(shown, oracle_count(m), have);
    interp_emit(I, text);
    interp_emit(I, "");
    free(text);
    return 0;
}

static int model_op(interp *I, const stmt *s)
{
    const char *name = s->args[0].word, *op = s->args[1].word;
    const expr *a1 = s->nargs > 2 ? s->args[2].e : NULL, *a2 = s->nargs > 3 ? s->args[3].e : NULL;
    uint64_t x, y;
    if (!strcmp(op, "new")) {
        if (interp_get_uint(I, a1, &x) < 0)
            return -1;
        if (x == 0) {
            interp_fail(I, a1->line, a1->col, "a model's granularity must be positive");
            return -1;
        }
        oracle_model_new(I->orc, name, x);
        return 0;
    }
    oracle_model *m = oracle_find(I->orc, name);
    if (!m) {
        interp_fail(I, s->args[0].line, s->args[0].col,
                    "no model named '%s' (use 'model %s new G')", name, name);
        return -1;
    }
    if (!strcmp(op, "dirty") || !strcmp(op, "clear_group")) {
        wgroup *g = interp_need_group(I, a1);
        if (!g)
            return -1;
        for (size_t i = 0; i < g->n; i++) {
            if (op[0] == 'd')
                oracle_dirty_write(m, g->off[i], g->len[i]);
            else
                oracle_clear_write(m, g->off[i], g->len[i]);
        }
    } else if (!strcmp(op, "dirty_write")) {
        if (interp_get_uint(I, a1, &x) < 0 || interp_get_uint(I, a2, &y) < 0)
            return -1;
        oracle_dirty_write(m, x, y);
    } else if (!strcmp(op, "dirty_bits") || !strcmp(op, "clear_bits")) {
        if (interp_get_uint(I, a1, &x) < 0 || interp_get_uint(I, a2, &y) < 0)
            return -1;
        if (op[0] == 'd')
            oracle_dirty_bits(m, x, y);
        else
            oracle_clear_bits(m, x, y);
    } else if (!strcmp(op, "clear")) {
        oracle_clear(m);
    } else if (!strcmp(op, "clear_bit")) {
        if (interp_get_uint(I, a1, &x) < 0)
            return -1;
        oracle_clear_bits(m, x, x + 1);
    } else if (!strcmp(op, "clear_first")) {
        if (oracle_first_bit(m, &x) < 0) {
            interp_fail(I, s->line, s->col, "model '%s' is empty: it has no first bit", name);
            return -1;
        }
        oracle_clear_bits(m, x, x + 1);
    } else { /* fill_from_first */
        if (interp_get_uint(I, a1, &x) < 0)
            return -1;
        if (oracle_fill_from_first(m, x) < 0) {
            interp_fail(I, s->line, s->col, "model '%s' is empty: it has no first bit", name);
            return -1;
        }
    }
    return 0;
}

static int exec_write(interp *I, const stmt *s)
{
    char *node = interp_get_str(I, s->args[0].e);
    wgroup *g = node ? interp_need_group(I, s->args[1].e) : NULL;
    int r = g ? 0 : -1;
    for (size_t i = 0; g && i < g->n && r == 0; i++) {
        char *cmd;
        if (asprintf(&cmd, "write -P%s 0x%07llx 0x%llx", g->pattern[i],
                     (unsigned long long)g->off[i], (unsigned long long)g->len[i]) < 0)
            abort();
        interp_emit(I, cmd);
        json_object *reply = interp_hmp_qemu_io(I, s, node, cmd);
        if (reply)
            interp_emit_json(I, reply, -1);
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
    char *a = interp_get_str(I, s->args[0].e);
    char *b = a ? interp_get_str(I, s->args[1].e) : NULL, *base = NULL;
    char *err = NULL;
    int match = 1, r = -1;
    const arg *ba = stmt_kwarg(s, "base");
    if (!b || interp_kw_bool(I, s, "match", 1, &match) < 0)
        goto out;
    if (ba) {
        json_object *v;
        if (interp_eval(I, ba->e, &v) < 0)
            goto out;
        if (json_object_is_type(v, json_type_string) && !interp_is_none(I, v))
            base = xstrdup(json_object_get_string(v));
        else if (v && !interp_is_none(I, v)) {
            interp_fail(I, ba->line, ba->col, "base must be a string, null or none");
            json_object_put(v);
            goto out;
        }
        json_object_put(v);
    }
    if (interp_confined(I, s, "compare", a, 0) < 0 || interp_confined(I, s, "compare", b, 0) < 0 ||
        (base && interp_confined(I, s, "compare base", base, 1) < 0))
        goto out;
    if (base && I->be->ops->img_rebase_unsafe(I->be, a, base, &err) < 0) {
        interp_fail(I, s->line, s->col, "qemu-img rebase -u -b %s %s failed: %s", base, a,
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
    interp_emit(I, text);
    free(text);
    r = 0;
out:
    free(err);
    free(a);
    free(b);
    free(base);
    return r;
}

/* check MODEL NODE BITMAP [recording] */
static int exec_check(interp *I, const stmt *s)
{
    char *x = interp_get_str(I, s->args[1].e);
    char *y = x ? interp_get_str(I, s->args[2].e) : NULL;
    int r = y ? check_bitmap(I, s, s->args[0].word, x, y, interp_has_word(s, "recording")) : -1;
    free(x);
    free(y);
    return r;
}

/* Model operations and how many expression operands each takes. */
static const struct { const char *op; int nargs; } model_ops[] = {
    { "new", 1 }, { "dirty", 1 }, { "dirty_write", 2 }, { "dirty_bits", 2 },
    { "clear", 0 }, { "clear_group", 1 }, { "clear_bits", 2 }, { "clear_bit", 1 },
    { "clear_first", 0 }, { "fill_from_first", 1 }, { NULL, 0 }
};

static void check_model(case_parser *p, const stmt *s, arg **pos, size_t npos)
{
    if (case_want_word(p, pos[0], "a model name") < 0 ||
        case_want_word(p, pos[1], "a model operation") < 0)
        return;
    int k;
    for (k = 0; model_ops[k].op; k++)
        if (!strcmp(model_ops[k].op, pos[1]->word))
            break;
    if (!model_ops[k].op) {
        case_check_fail(p, pos[1]->line, pos[1]->col, "unknown model operation '%s'",
                        pos[1]->word);
        return;
    }
    if ((int)npos - 2 != model_ops[k].nargs) {
        case_check_fail(p, pos[1]->line, pos[1]->col, "model %s takes %d operand%s, got %zu",
                        model_ops[k].op, model_ops[k].nargs, model_ops[k].nargs == 1 ? "" : "s",
                        npos - 2);
        return;
    }
    for (size_t i = 2; i < npos; i++)
        if (case_want_expr(p, pos[i], "an operand") < 0)
            return;
}

static void check_check(case_parser *p, const stmt *s, arg **pos, size_t npos)
{
    if (case_want_word(p, pos[0], "a model name") < 0 ||
        case_want_expr(p, pos[1], "a node name") < 0 ||
        case_want_expr(p, pos[2], "a bitmap name") < 0)
        return;
    if (npos == 4 && (!pos[3]->word || strcmp(pos[3]->word, "recording")))
        case_check_fail(p, pos[3]->line, pos[3]->col, "expected 'recording' or end of line");
}

const case_command cmd_model_commands[] = {
    { "write", 2, 2, "", .exec = exec_write },
    { "bitmaps", 0, 0, "quiet", .exec = list_bitmaps },
    { "model", 2, 4, "", .check = check_model, .exec = model_op },
    { "check", 3, 4, "quiet", .check = check_check, .exec = exec_check },
    { "compare", 2, 2, "base match", .exec = exec_compare },
    { .name = NULL }
};
