/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Case commands of iotests' basics: log(), a blank line, FilePaths.
 */
#include "harness/interp_int.h"
#include "harness/confine.h"
#include "harness/json_render.h"

#include <stdio.h>

/* log MSG [indent=N] */
static int exec_log(interp *I, const stmt *s)
{
    json_object *v = NULL;
    int64_t indent = -1;
    if (interp_kw_int(I, s, "indent", &indent) < 0 || interp_eval(I, s->args[0].e, &v) < 0)
        return -1;
    sbuf b = {0};
    /* log(msg, indent=N): dicts and lists as json.dumps(indent=N) */
    if (indent >= 0 && v && !interp_is_none(I, v) &&
        (json_object_is_type(v, json_type_object) || json_object_is_type(v, json_type_array)))
        json_render(&b, v, (int)indent);
    else
        interp_to_text(I, &b, v);
    interp_emit(I, sbuf_str(&b));
    sbuf_free(&b);
    json_object_put(v);
    return 0;
}

static int exec_blank(interp *I, const stmt *s)
{
    interp_emit(I, "");
    return 0;
}

/* files NAME...: iotests.FilePaths, TEST_DIR/PID-name */
static int exec_files(interp *I, const stmt *s)
{
    for (size_t i = 0; i < s->nargs; i++) {
        const char *dir = I->be->test_dir ? I->be->test_dir : ".";
        size_t n = strlen(dir);
        char *x;
        if (asprintf(&x, "%s%s%s-%s", dir, n && dir[n - 1] == '/' ? "" : "/",
                     I->be->pid ? I->be->pid : "0", s->args[i].word) < 0)
            abort();
        interp_bind(I, s->args[i].word, json_object_new_string(x));
        free(x);
    }
    return 0;
}

static void check_files(case_parser *p, const stmt *s, arg **pos, size_t npos)
{
    for (size_t i = 0; i < npos; i++)
        if (case_want_word(p, pos[i], "a file name") < 0)
            return;
}

const case_command cmd_core_commands[] = {
    { "log", 1, 1, "indent", .exec = exec_log },
    { "blank", 0, 0, "", .exec = exec_blank },
    { "files", 1, -1, "", .check = check_files, .exec = exec_files },
    { .name = NULL }
};
