/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Case commands of bash iotests that print what qemu-img prints (QEMU 7.2's
 * tests/qemu-img-bitmaps): a qemu-img run with its output through the
 * shell filters, and common.rc's _img_info.
 */
#include "harness/interp_int.h"
#include "harness/confine.h"
#include "harness/sbuf.h"

#include <stdio.h>

/* qemu-img ARGV on the backend: its exit code, or -1 after a runtime error. */
static int run_img(interp *I, const stmt *s, const char **argv, size_t argc, char **out,
                   char **errout)
{
    char *err = NULL;
    int bad;
    *out = *errout = NULL;
    if (!I->be->ops->img_run) {
        interp_fail(I, s->line, s->col, "the %s backend cannot run qemu-img", I->be->ops->name);
        return -1;
    }
    const char **full = calloc(argc + 2, sizeof *full);
    if (!full)
        abort();
    full[0] = "qemu-img";
    memcpy(full + 1, argv, argc * sizeof *argv);
    int refused = confine_tool_args(I->be->test_dir, (char *const *)full, &bad, &err);
    free(full);
    if (refused < 0) {
        interp_fail(I, s->line, s->col, "qemu-img: %s",
                    err ? err : "a path outside the test directory");
        free(err);
        return -1;
    }
    int rc = I->be->ops->img_run(I->be, argv, argc, out, errout, &err);
    if (rc < 0)
        interp_fail(I, s->line, s->col, "cannot run qemu-img: %s", err ? err : "?");
    free(err);
    return rc;
}

/* The strings of list keyword KEY (absent: *n = 0), or -1. */
static int kw_strings(interp *I, const stmt *s, const char *key, json_object **v, size_t *n)
{
    const arg *a = stmt_kwarg(s, key);
    *v = NULL;
    *n = 0;
    if (!a)
        return 0;
    if (interp_eval(I, a->e, v) < 0)
        return -1;
    if (!json_object_is_type(*v, json_type_array) || interp_is_none(I, *v)) {
        interp_fail(I, a->line, a->col, "%s must be a list of strings", key);
        return -1;
    }
    *n = json_object_array_length(*v);
    for (size_t i = 0; i < *n; i++) {
        json_object *e = json_object_array_get_idx(*v, i);
        if (!json_object_is_type(e, json_type_string) || interp_is_none(I, e)) {
            interp_fail(I, a->line, a->col, "%s[%zu] must be a string", key, i);
            return -1;
        }
    }
    return 0;
}

/* Does line hold one of the strings of drop (grep -v -e D...)? */
static int dropped(const char *line, json_object *drop, size_t ndrop)
{
    for (size_t i = 0; i < ndrop; i++)
        if (strstr(line, json_object_get_string(json_object_array_get_idx(drop, i))))
            return 1;
    return 0;
}

/* _filter_qemu_img_map on qemu-img map's human form: its first sed
 * expression drops the third column (Mapped to) of an extent line (three
 * hex numbers and their padding become the first two), and
 * the second drops the header's "Mapped to" and its padding. */
static void map_filter(char *line)
{
    char *m = strstr(line, "Mapped to");
    if (m) {
        char *e = m + 9;
        while (*e == ' ')
            e++;
        memmove(m, e, strlen(e) + 1);
        return;
    }
    if (strncmp(line, "0x", 2))
        return;
    char *p = line;
    for (int field = 0; field < 2; field++) {
        p += strspn(p, "0123456789abcdefx");
        p += strspn(p, " ");
    }
    char *end = p + strspn(p, "0123456789abcdefx");
    if (end == p || *end != ' ')
        return;
    end += strspn(end, " ");
    memmove(p, end, strlen(end) + 1);
}

/* Emit text line by line through the shell filters, less the dropped lines. */
static void emit_lines(interp *I, const char *text, json_object *drop, size_t ndrop, int map,
                       int64_t cut)
{
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char *line = strndup(p, len);
        if (!line)
            abort();
        if (map)
            map_filter(line);
        if (cut > 0 && strlen(line) > (size_t)cut)
            line[cut] = '\0';          /* sed 's/^\(.\{N\}\).*\/\1/' */
        for (size_t l = strlen(line); cut > 0 && l && line[l - 1] == ' '; l--)
            line[l - 1] = '\0';        /* sed 's/ *$//' */
        if (!*line)
            interp_emit(I, "");         /* interp_emit_shell prints no empty line */
        else if (!dropped(line, drop, ndrop))
            interp_emit_shell(I, line);
        free(line);
        p += len + (nl ? 1 : 0);
    }
}

/* `sh_img ARG... [drop=LIST] [map_filter=B] [cut=N]`: `$QEMU_IMG ARG...` in
 * a bash test, its output (stderr, then stdout) through _filter_testdir and
 * _filter_imgfmt, lines holding a string of LIST left out (`| grep -v`);
 * map_filter: stdout through _filter_qemu_img_map first; cut: stdout lines
 * cut to N characters, trailing blanks dropped (176's sed on snapshot -l).
 * A failure is printed, not fatal: the test goes on. */
static int exec_sh_img(interp *I, const stmt *s)
{
    size_t n = 0, ndrop;
    json_object *drop;
    const char **argv = calloc(s->nargs + 1, sizeof *argv);
    char **own = calloc(s->nargs + 1, sizeof *own);
    char *out = NULL, *errout = NULL;
    int r = -1;
    if (!argv || !own)
        abort();
    int map = 0;
    int64_t cut = 0;
    const arg *ca = stmt_kwarg(s, "cut");
    if (kw_strings(I, s, "drop", &drop, &ndrop) < 0 ||
        interp_kw_bool(I, s, "map_filter", 0, &map) < 0 ||
        (ca && interp_get_int(I, ca->e, &cut) < 0))
        goto out;
    for (size_t i = 0; i < s->nargs; i++) {
        if (s->args[i].key)
            continue;
        own[n] = s->args[i].word ? xstrdup(s->args[i].word) : interp_get_str(I, s->args[i].e);
        if (!own[n])
            goto out;
        argv[n] = own[n];
        n++;
    }
    if (run_img(I, s, argv, n, &out, &errout) < 0)
        goto out;
    emit_lines(I, errout ? errout : "", drop, ndrop, 0, 0);
    emit_lines(I, out ? out : "", drop, ndrop, map, cut);
    r = 0;
out:
    for (size_t i = 0; i < n; i++)
        free(own[i]);
    free(own);
    free(argv);
    free(out);
    free(errout);
    json_object_put(drop);
    return r;
}

/* `sh_img_info IMAGE [format_specific=B] [extra=LIST] [drop=LIST]`:
 * common.rc's `_img_info [--format-specific] EXTRA...` with TEST_IMG=IMAGE
 * (qemu-img info EXTRA IMAGE 2>&1; no "disk size:" or actual-size lines,
 * the compression type as COMPRESSION_TYPE; without format_specific the
 * "Format specific information:" block is left out up to its blank line),
 * then `| grep -v -e D...` for each string of drop. */
static int exec_sh_img_info(interp *I, const stmt *s)
{
    int fs = 0, r = -1;
    size_t nextra, ndrop;
    json_object *extra = NULL, *drop = NULL;
    char *path = interp_get_str(I, s->args[0].e), *out = NULL, *errout = NULL;
    const char **argv = NULL;
    if (!path || interp_kw_bool(I, s, "format_specific", 0, &fs) < 0 ||
        kw_strings(I, s, "extra", &extra, &nextra) < 0 ||
        kw_strings(I, s, "drop", &drop, &ndrop) < 0 ||
        interp_confined(I, s, "sh_img_info", path, 0) < 0)
        goto out;
    argv = calloc(nextra + 2, sizeof *argv);
    if (!argv)
        abort();
    size_t argc = 0;
    argv[argc++] = "info";
    for (size_t i = 0; i < nextra; i++)
        argv[argc++] = json_object_get_string(json_object_array_get_idx(extra, i));
    argv[argc++] = path;
    if (run_img(I, s, argv, argc, &out, &errout) < 0)
        goto out;
    sbuf all = {0};
    sbuf_adds(&all, out ? out : "");
    sbuf_adds(&all, errout ? errout : "");
    int discard = 0;
    for (const char *p = sbuf_str(&all); *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char *line = strndup(p, len);
        if (!line)
            abort();
        p += len + (nl ? 1 : 0);
        if (!strncmp(line, "disk size:", 10) || strstr(line, "actual-size")) {
            free(line);
            continue;
        }
        const char *ct = strstr(line, "compression type: ");
        if (ct && (!strcmp(ct + 18, "zlib") || !strcmp(ct + 18, "zstd"))) {
            char *l2;
            if (asprintf(&l2, "%.*sCOMPRESSION_TYPE", (int)(ct - line) + 18, line) < 0)
                abort();
            free(line);
            line = l2;
        }
        int print = 1;
        if (!fs && !strcmp(line, "Format specific information:"))
            discard = 1;
        if (discard) {
            print = !*line;
            if (!*line)
                discard = 0;
        }
        if (print && !*line)
            interp_emit(I, "");
        else if (print && !dropped(line, drop, ndrop))
            interp_emit_shell(I, line);
        free(line);
    }
    sbuf_free(&all);
    r = 0;
out:
    free(argv);
    free(path);
    free(out);
    free(errout);
    json_object_put(extra);
    json_object_put(drop);
    return r;
}

/* sh_img's arguments: bare words as text, or expressions */
static void check_sh_img(case_parser *p, const stmt *s, arg **pos, size_t npos)
{
    for (size_t i = 0; i < s->nargs; i++)
        if (s->args[i].key && case_want_expr(p, &s->args[i], "an expression") < 0)
            return;
}

const case_command cmd_img_commands[] = {
    { "sh_img", 1, -1, "drop map_filter cut", .check = check_sh_img, .exec = exec_sh_img },
    { "sh_img_info", 1, 1, "format_specific extra drop", .exec = exec_sh_img_info },
    { 0 },
};
