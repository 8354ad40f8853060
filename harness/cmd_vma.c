/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Case commands of VMA archives (cases/vma-*.case): the project's tools
 * run as a test runs them, the oracle's image-content models and the
 * files checked against them, and files the case writes.
 */
#include "harness/interp_int.h"
#include "harness/confine.h"
#include "harness/shell_style.h"
#include "harness/tool_run.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

/* `run TOOL ARG...`: runs one of the project's tools (build/vma) and logs
 * its output line by line, filtered; a non-zero exit adds "(exit N)". */
static int exec_run(interp *I, const stmt *s)
{
    char *path = tool_path(s->args[0].word), *out = NULL, *err = NULL;
    if (!path) {
        interp_fail(I, s->args[0].line, s->args[0].col, "no tool named '%s'", s->args[0].word);
        return -1;
    }
    char **argv = calloc(s->nargs + 1, sizeof(*argv));
    if (!argv)
        abort();
    int r = 0;
    argv[0] = xstrdup(s->args[0].word);
    for (size_t i = 1; i < s->nargs && r == 0; i++) {
        argv[i] = s->args[i].word ? xstrdup(s->args[i].word) : interp_get_str(I, s->args[i].e);
        if (!argv[i])
            r = -1;
    }
    int bad;
    if (r == 0 && confine_tool_args(I->be->test_dir, argv, &bad, &err) < 0) {
        interp_fail(I, s->args[bad].line, s->args[bad].col, "run %s: %s", argv[0],
                    err ? err : "a path outside the test directory");
        r = -1;
    }
    int status = r ? -1 : tool_run_serving(I->be, path, argv, &out, &err);
    if (r == 0 && status < 0) {
        interp_fail(I, s->line, s->col, "cannot run %s: %s", path, err ? err : "?");
        r = -1;
    }
    if (r == 0) {
        char *line = out, *nl;
        while (*line) {
            nl = strchr(line, '\n');
            if (nl)
                *nl = 0;
            interp_emit(I, line);
            if (!nl)
                break;
            line = nl + 1;
        }
        if (status) {
            char msg[32];
            snprintf(msg, sizeof(msg), "(exit %d)", status);
            interp_emit(I, msg);
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

/* Would image model `name` of `size` bytes keep all models within the
 * memory limit? (It replaces a model of that name.) */
static int model_fits(interp *I, const stmt *s, const char *name, uint64_t size)
{
    oracle_image *old = oracle_image_find(I->imgs, name);
    uint64_t others = oracle_images_bytes(I->imgs) - (old ? oracle_image_size(old) : 0);
    if (size > I->lim.model_bytes || others > I->lim.model_bytes - size) {
        interp_fail(I, s->line, s->col,
                    "image model '%s': %llu bytes would take the image models to %llu bytes, "
                "over the limit of %llu (raise it with --max-model-memory)", name,
                (unsigned long long)size, (unsigned long long)value_size_add(others, size),
                (unsigned long long)I->lim.model_bytes);
        return 0;
    }
    return 1;
}

/* `image M new SIZE | write GROUP | copy SRC` */
static int image_op(interp *I, const stmt *s)
{
    const char *name = s->args[0].word, *op = s->args[1].word;
    uint64_t size;
    if (!I->imgs)
        I->imgs = oracle_images_new();
    if (!strcmp(op, "new")) {
        if (interp_get_uint(I, s->args[2].e, &size) < 0 || !model_fits(I, s, name, size))
            return -1;
        if (!oracle_image_new(I->imgs, name, size)) {
            interp_fail(I, s->line, s->col, "image model '%s': cannot allocate %llu bytes", name,
                        (unsigned long long)size);
            return -1;
        }
        return 0;
    }
    if (!strcmp(op, "copy")) {
        oracle_image *src = oracle_image_find(I->imgs, s->args[2].word);
        if (!src) {
            interp_fail(I, s->args[2].line, s->args[2].col, "no image model named '%s'",
                        s->args[2].word);
            return -1;
        }
        if (!model_fits(I, s, name, oracle_image_size(src)))
            return -1;
        if (!oracle_image_copy(I->imgs, name, src)) {
            interp_fail(I, s->line, s->col, "image model '%s': cannot allocate %llu bytes", name,
                        (unsigned long long)oracle_image_size(src));
            return -1;
        }
        return 0;
    }
    oracle_image *img = oracle_image_find(I->imgs, name);
    if (!img) {
        interp_fail(I, s->args[0].line, s->args[0].col, "no image model named '%s'", name);
        return -1;
    }
    wgroup *g = interp_need_group(I, s->args[2].e);
    if (!g)
        return -1;
    for (size_t i = 0; i < g->n; i++) {
        char *end;
        unsigned long pat = strtoul(g->pattern[i], &end, 0);
        if (*end || pat > 255 || oracle_image_write(img, g->off[i], g->len[i], (uint8_t)pat) < 0) {
            interp_fail(I, s->line, s->col, "write %s@0x%llx:0x%llx does not fit image model '%s'",
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
        interp_fail(I, s->args[0].line, s->args[0].col, "no image model named '%s'", name);
        return -1;
    }
    char *path = interp_get_str(I, s->args[1].e);
    if (!path || interp_confined(I, s, "check_image", path, 0) < 0) {
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
    interp_emit(I, sbuf_str(&b));
    interp_emit(I, "");
    sbuf_free(&b);
    free(path);
    return 0;
}

/* `write_file PATH TEXT`: a real file (a VM config for `backup`) directly
 * inside the backend's test directory, so a case cannot write elsewhere.
 * Replaces an existing file; prints nothing. */
static int write_file(interp *I, const stmt *s)
{
    char *path = interp_get_str(I, s->args[0].e);
    char *text = path ? interp_get_str(I, s->args[1].e) : NULL;
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
        interp_fail(I, s->args[0].line, s->args[0].col,
                    "write_file: '%s' is not a file directly in the test directory %.*s", path,
                (int)n, dir);
        r = -1;
    } else {
        int fd = interp_confined(I, s, "write_file", path, 0) < 0
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
            interp_fail(I, s->line, s->col, "write_file: cannot write %s: %s", path,
                        strerror(fd < 0 || done < len ? saved : errno));
            r = -1;
        }
    }
    free(path);
    free(text);
    return r;
}

/* run TOOL ARG...: the tool, then its arguments, bare words taken as text */
static void check_run(case_parser *p, const stmt *s, arg **pos, size_t npos)
{
    case_want_word(p, pos[0], "a tool name");
}

static void check_image_op(case_parser *p, const stmt *s, arg **pos, size_t npos)
{
    if (case_want_word(p, pos[0], "an image model name") < 0 ||
        case_want_word(p, pos[1], "an image operation") < 0)
        return;
    if (strcmp(pos[1]->word, "new") && strcmp(pos[1]->word, "write") &&
        strcmp(pos[1]->word, "copy")) {
        case_check_fail(p, pos[1]->line, pos[1]->col,
                        "unknown image operation '%s' (new, write, copy)", pos[1]->word);
        return;
    }
    if (!strcmp(pos[1]->word, "copy"))
        case_want_word(p, pos[2], "an image model name");
    else
        case_want_expr(p, pos[2], "an operand");
}

static void check_check_image(case_parser *p, const stmt *s, arg **pos, size_t npos)
{
    if (case_want_word(p, pos[0], "an image model name") == 0)
        case_want_expr(p, pos[1], "a file name");
}

static void check_write_file(case_parser *p, const stmt *s, arg **pos, size_t npos)
{
    if (case_want_expr(p, pos[0], "a file name") == 0)
        case_want_expr(p, pos[1], "the file's text");
}

const case_command cmd_vma_commands[] = {
    { "run", 1, -1, "", .check = check_run, .exec = exec_run },
    { "image", 3, 3, "", .check = check_image_op, .exec = image_op },
    { "check_image", 2, 2, "", .check = check_check_image, .exec = check_image },
    { "write_file", 2, 2, "", .check = check_write_file, .exec = write_file },
    { .name = NULL }
};
