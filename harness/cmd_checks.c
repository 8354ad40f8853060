/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Case commands of unittest-style checks (cases/README.md "Checks"):
 * qmp_get, expect*, assert, and vm_log, which binds the VM's log for them.
 */
#include "harness/interp_int.h"
#include "harness/confine.h"
#include "harness/checks.h"
#include "harness/json_render.h"

#include <stdio.h>

/* `assert EXPR MESSAGE`: a Python test's assert; silent when it holds, and
 * the case stops with MESSAGE when it does not. */
static int exec_assert(interp *I, const stmt *s)
{
    json_object *v = NULL;
    if (interp_eval(I, s->args[0].e, &v) < 0)
        return -1;
    int ok = interp_truthy(I, v);
    json_object_put(v);
    if (ok)
        return 0;
    char *msg = interp_get_str(I, s->args[1].e);
    if (msg)
        interp_fail(I, s->line, s->col, "assertion failed: %s", msg);
    free(msg);
    return -1;
}

/* `vm_log NAME`: binds what the VM launched last printed (vm.get_log()). */
static int exec_vm_log(interp *I, const stmt *s)
{
    char *err = NULL, *text;
    if (!I->be->ops->vm_log) {
        interp_fail(I, s->line, s->col, "the %s backend cannot read the VM's log",
                    I->be->ops->name);
        return -1;
    }
    if (!(text = I->be->ops->vm_log(I->be, &err))) {
        interp_fail(I, s->line, s->col, "cannot read the VM's log: %s", err ? err : "?");
        free(err);
        return -1;
    }
    interp_bind(I, s->args[0].word, json_object_new_string(text));
    free(text);
    return 0;
}

/* Logs the check's line; a failure is remembered and fails the run at the
 * end, after the rest of the case has printed. */
static void report_check(interp *I, const stmt *s, int passed, const char *what, const char *why)
{
    char *line = check_line(passed, what, why);
    interp_emit(I, line);
    if (!passed && I->checks_failed++ == 0 &&
        asprintf(&I->first_check_fail, "%s:%d:%d: check failed: %s", I->prog->file, s->line,
                 s->col, line) < 0)
        abort();
    free(line);
}

/* qmp_get NAME CMD [ARGS]: the whole reply into $NAME, nothing logged. */
static int exec_qmp_get(interp *I, const stmt *s)
{
    char *name = interp_qmp_name(I, &s->args[1]);
    json_object *args = NULL, *reply = NULL;
    if (!name)
        return -1;
    if (s->nargs > 2) {
        const expr *e = s->args[2].e;
        if (interp_eval(I, e, &args) < 0)
            goto out;
        if (!json_object_is_type(args, json_type_object) || interp_is_none(I, args)) {
            interp_fail(I, e->line, e->col, "QMP arguments must be an object, got %s",
                        interp_type_name(I, args));
            goto out;
        }
        if (interp_check_plain(I, e, args) < 0)
            goto out;
    }
    reply = interp_qmp(I, s, name, args);
    if (reply)
        interp_bind(I, s->args[0].word, reply);
out:
    json_object_put(args);
    free(name);
    return reply ? 0 : -1;
}

/* What an expect* row checks. */
enum expect_kind { EXPECT_TRUE, EXPECT_EQ, EXPECT_QMP, EXPECT_QMP_ABSENT };

static int expect(interp *I, const stmt *s, enum expect_kind kind)
{
    json_object *a = NULL, *b = NULL, *d = NULL;
    char *what = NULL, *why = NULL, *path = NULL;
    int r = -1, ok;
    switch (kind) {
    case EXPECT_TRUE:
        if (interp_eval(I, s->args[0].e, &a) < 0 || !(what = interp_get_str(I, s->args[1].e)))
            break;
        report_check(I, s, interp_truthy(I, a), what, NULL);
        r = 0;
        break;
    case EXPECT_EQ:
        if (interp_eval(I, s->args[0].e, &a) < 0 || interp_eval(I, s->args[1].e, &b) < 0 ||
            !(what = interp_get_str(I, s->args[2].e)))
            break;
        ok = !interp_is_none(I, a) && !interp_is_none(I, b) ? check_equal(a, b) : a == b;
        if (!ok) {
            char *ta = json_render_alloc(interp_is_none(I, a) ? NULL : a, -1);
            char *tb = json_render_alloc(interp_is_none(I, b) ? NULL : b, -1);
            if (asprintf(&why, "got %s, expected %s", ta, tb) < 0)
                abort();
            free(ta);
            free(tb);
        }
        report_check(I, s, ok, what, why);
        r = 0;
        break;
    default:    /* expect_qmp, expect_qmp_absent */
        if (interp_eval(I, s->args[0].e, &d) < 0 || !(path = interp_get_str(I, s->args[1].e)))
            break;
        if (kind == EXPECT_QMP) {
            if (interp_eval(I, s->args[2].e, &b) < 0)
                break;
            if (interp_is_none(I, b)) {
                interp_fail(I, s->args[2].e->line, s->args[2].e->col,
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

static int exec_expect(interp *I, const stmt *s)
{
    return expect(I, s, EXPECT_TRUE);
}

static int exec_expect_eq(interp *I, const stmt *s)
{
    return expect(I, s, EXPECT_EQ);
}

static int exec_expect_qmp(interp *I, const stmt *s)
{
    return expect(I, s, EXPECT_QMP);
}

static int exec_expect_qmp_absent(interp *I, const stmt *s)
{
    return expect(I, s, EXPECT_QMP_ABSENT);
}

static void check_qmp_get(case_parser *p, const stmt *s, arg **pos, size_t npos)
{
    if (case_want_word(p, pos[0], "a variable name (without '$')") < 0)
        return;
    if (npos > 2)
        case_want_expr(p, pos[2], "the command's arguments");
}

static void check_vm_log(case_parser *p, const stmt *s, arg **pos, size_t npos)
{
    case_want_word(p, pos[0], "a variable name");
}

const case_command cmd_checks_commands[] = {
    { "qmp_get", 2, 3, "", .check = check_qmp_get, .exec = exec_qmp_get },
    { "expect", 2, 2, "", .exec = exec_expect },
    { "expect_eq", 3, 3, "", .exec = exec_expect_eq },
    { "expect_qmp", 3, 3, "", .exec = exec_expect_qmp },
    { "expect_qmp_absent", 2, 2, "", .exec = exec_expect_qmp_absent },
    /* silent asserts, the VM's log */
    { "assert", 2, 2, "", .exec = exec_assert },
    { "vm_log", 1, 1, "", .check = check_vm_log, .exec = exec_vm_log },
    { .name = NULL }
};
