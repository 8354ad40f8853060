/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Case commands that run QEMU's programs as iotests do: qemu-img (create,
 * info, compare, any subcommand), qemu-io sessions (QemuIoInteractive),
 * qemu-nbd, the sockets' directory, and a byte poked into a file.
 */
#include "harness/interp_int.h"
#include "harness/confine.h"
#include "harness/json_render.h"
#include "harness/shell_style.h"
#include "harness/tool_run.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

/* img_compare_log A B: iotests' qemu_img_log('compare', A, B). The
 * backend reports identical/mismatch/error, not qemu-img's mismatch
 * offset, so only the identical line is qemu-img's own. */
static int exec_img_compare_log(interp *I, const stmt *s)
{
    char *a = interp_get_str(I, s->args[0].e);
    char *b = a ? interp_get_str(I, s->args[1].e) : NULL, *err = NULL;
    if (!b || interp_confined(I, s, "img_compare_log", a, 0) < 0 ||
        interp_confined(I, s, "img_compare_log", b, 0) < 0) {
        free(a);
        free(b);
        return -1;
    }
    int ret = I->be->ops->img_compare(I->be, a, b, &err);
    if (ret == 0) {
        interp_emit(I, "Images are identical.\n");   /* qemu-img's line, then log()'s */
    } else if (ret == 1) {
        interp_emit(I, "Content mismatch (the backend does not say where)");
    } else {
        char *line;
        if (asprintf(&line, "qemu-img compare failed: %s", err ? err : "?") < 0)
            abort();
        interp_emit(I, line);
        free(line);
    }
    free(err);
    free(a);
    free(b);
    return 0;
}

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
        interp_fail(I, s->line, s->col, "cannot create %s: %s", I->sock_dir, strerror(errno));
        return -1;
    }
    return 0;
}

/* `sock_file VAR NAME`: iotests.file_path(NAME, base_dir=iotests.sock_dir):
 * $VAR is SOCK_DIR/PID-NAME, printed so. */
static int exec_sock_file(interp *I, const stmt *s)
{
    char *name = interp_get_str(I, s->args[1].e), *path;
    if (!name)
        return -1;
    if (!*name || strchr(name, '/')) {
        interp_fail(I, s->args[1].line, s->args[1].col, "sock_file: '%s' is not a file name", name);
        free(name);
        return -1;
    }
    if (make_sock_dir(I, s) < 0) {
        free(name);
        return -1;
    }
    if (asprintf(&path, "%s/%s-%s", I->sock_dir, I->be->pid ? I->be->pid : "0", name) < 0)
        abort();
    interp_bind(I, s->args[0].word, json_object_new_string(path));
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
        interp_fail(I, s->line, s->col, "a qemu_io_interactive is already open");
        free(argv);
        return -1;
    }
    argv[0] = xstrdup("qemu-io");
    for (size_t i = 0; i < s->nargs && r == 0; i++)
        if (!(argv[i + 1] = interp_get_str(I, s->args[i].e)))
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
            interp_fail(I, s->line, s->col, "qemu_io_interactive takes -r, -f FMT and the image, "
                        "not '%s'", argv[i]);
            r = -1;
        } else {
            free(I->io_image);
            I->io_image = xstrdup(argv[i]);
        }
    }
    if (r == 0 && !I->io_image) {
        interp_fail(I, s->line, s->col, "qemu_io_interactive needs an image");
        r = -1;
    }
    if (r == 0 && real_clients(I)) {
        if (!(I->io = real_io_open(I->be, argv, &err))) {
            interp_fail(I, s->line, s->col, "qemu-io did not start: %s", err ? err : "?");
            r = -1;
        }
    } else if (r == 0 && !I->be->ops->qemu_io) {
        interp_fail(I, s->line, s->col, "the %s backend cannot run qemu-io", I->be->ops->name);
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
    char *cmd = interp_get_str(I, s->args[0].e), *out = NULL, *err = NULL;
    if (!cmd)
        return -1;
    if (!I->io_open) {
        interp_fail(I, s->line, s->col, "qemu_io_cmd without a qemu_io_interactive");
        free(cmd);
        return -1;
    }
    const char *one[] = { cmd };
    out = I->io ? real_io_cmd(I->io, I->be, cmd, &err)
                : I->be->ops->qemu_io(I->be, I->io_image, I->io_fmt, I->io_ro, one, 1, &err);
    if (!out) {
        interp_fail(I, s->line, s->col, "qemu-io: %s", err ? err : "?");
        free(cmd);
        free(err);
        return -1;
    }
    size_t len = strlen(out);
    while (len && (out[len - 1] == '\n' || out[len - 1] == ' ' || out[len - 1] == '\r'))
        out[--len] = 0;
    char *f = shell_filter_qemu_io(out);
    interp_emit(I, f);
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
        if (!(argv[i + 1] = interp_get_str(I, s->args[i].e)))
            r = -1;
    if (r == 0 && !I->be->ops->qemu_nbd_start) {
        interp_fail(I, s->line, s->col, "the %s backend cannot start qemu-nbd", I->be->ops->name);
        r = -1;
    } else if (r == 0 && confine_tool_args(I->be->test_dir, argv, &bad, &err) < 0) {
        interp_fail(I, s->args[bad - 1].line, s->args[bad - 1].col, "qemu_nbd: %s",
                    err ? err : "a path outside the test directory");
        r = -1;
    } else if (r == 0 && I->be->ops->qemu_nbd_start(I->be, argv, &err) < 0) {
        interp_fail(I, s->line, s->col, "cannot start qemu-nbd: %s", err ? err : "?");
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

/* Run qemu-img with argv; its exit code, or -1 after a runtime error. */
static int img_run(interp *I, const stmt *s, const char *const *argv, size_t argc, char **out,
                   char **errout)
{
    char *err = NULL;
    *out = *errout = NULL;
    if (!I->be->ops->img_run) {
        interp_fail(I, s->line, s->col, "the %s backend cannot run qemu-img", I->be->ops->name);
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

/* `qemu_img ARG...`: iotests' qemu_img(): nothing printed; a failure
 * (non-zero exit) stops the case. */
static int exec_qemu_img(interp *I, const stmt *s)
{
    char **argv = calloc(s->nargs + 1, sizeof(*argv));
    if (!argv)
        abort();
    int r = 0;
    for (size_t i = 0; i < s->nargs && r == 0; i++) {
        argv[i] = s->args[i].word ? xstrdup(s->args[i].word) : interp_get_str(I, s->args[i].e);
        /* file arguments stay in the test directory */
        if (!argv[i] || (argv[i][0] == '/' && interp_confined(I, s, "qemu_img", argv[i], 0) < 0))
            r = -1;
    }
    char *out = NULL, *errout = NULL;
    if (r == 0) {
        int rc = img_run(I, s, (const char *const *)argv, s->nargs, &out, &errout);
        if (rc > 0)
            interp_fail(I, s->line, s->col, "qemu-img %s failed (exit %d): %s", argv[0], rc,
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
static int exec_qemu_img_info(interp *I, const stmt *s)
{
    int force = 0;
    char *path = interp_get_str(I, s->args[1].e);
    if (!path || interp_kw_bool(I, s, "force_share", 0, &force) < 0 ||
        interp_confined(I, s, "qemu_img_info", path, 0) < 0) {
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
        interp_fail(I, s->line, s->col, "qemu-img info %s failed (exit %d): %s", path, rc,
                    errout ? errout : "");
    } else if (rc == 0) {
        json_object *v = json_tokener_parse(out);
        if (!v || !json_object_is_type(v, json_type_object)) {
            interp_fail(I, s->line, s->col, "qemu-img info %s printed no JSON object", path);
            json_object_put(v);
        } else {
            interp_bind(I, s->args[0].word, v);
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
static int exec_img_info_log(interp *I, const stmt *s)
{
    int check = 1, r = -1;
    const arg *xa = stmt_kwarg(s, "extra");
    json_object *extra = NULL;
    char *path = interp_get_str(I, s->args[0].e), *out = NULL, *errout = NULL;
    const char **argv = NULL;
    if (!path || interp_kw_bool(I, s, "check", 1, &check) < 0 ||
        interp_confined(I, s, "img_info_log", path, 0) < 0 ||
        (xa && interp_eval(I, xa->e, &extra) < 0))
        goto out;
    size_t nx = 0;
    if (extra) {
        if (!json_object_is_type(extra, json_type_array) || interp_is_none(I, extra)) {
            interp_fail(I, xa->line, xa->col, "extra must be a list of strings");
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
        if (!json_object_is_type(v, json_type_string) || interp_is_none(I, v)) {
            interp_fail(I, xa->line, xa->col, "extra[%zu] must be a string", i);
            goto out;
        }
        argv[argc++] = json_object_get_string(v);
    }
    argv[argc++] = path;
    int rc = img_run(I, s, argv, argc, &out, &errout);
    if (rc < 0)
        goto out;
    if (rc > 0 && check) {
        interp_fail(I, s->line, s->col, "qemu-img info %s failed (exit %d): %s", path, rc,
                    errout ? errout : "");
        goto out;
    }
    sbuf all = {0};
    sbuf_adds(&all, out ? out : "");
    sbuf_adds(&all, errout ? errout : "");
    char *f = filter_img_info(sbuf_str(&all), path);
    sbuf_free(&all);
    interp_emit(I, f);
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
static int exec_file_xor(interp *I, const stmt *s)
{
    char *path = interp_get_str(I, s->args[0].e), *err = NULL;
    int64_t off, mask;
    int r = -1;
    if (!path || interp_get_int(I, s->args[1].e, &off) < 0 ||
        interp_get_int(I, s->args[2].e, &mask) < 0 ||
        interp_confined(I, s, "file_xor", path, 0) < 0)
        goto out;
    if (off < 0 || mask < 0 || mask > 255) {
        interp_fail(I, s->line, s->col, "file_xor needs an offset >= 0 and a mask of 0..255");
        goto out;
    }
    if (!I->be->ops->file_xor) {
        interp_fail(I, s->line, s->col, "the %s backend cannot change files", I->be->ops->name);
        goto out;
    }
    if (I->be->ops->file_xor(I->be, path, (uint64_t)off, (uint8_t)mask, &err) < 0) {
        interp_fail(I, s->line, s->col, "file_xor: %s", err ? err : "?");
        goto out;
    }
    r = 0;
out:
    free(err);
    free(path);
    return r;
}

/* img_create's backing= and backing_fmt= (qemu-img create -b B -F F) */
static int img_backing(interp *I, const stmt *s, char **bk, char **bkf)
{
    const arg *b = stmt_kwarg(s, "backing"), *f = stmt_kwarg(s, "backing_fmt");
    *bk = *bkf = NULL;
    if (b && !(*bk = interp_get_str(I, b->e)))
        return -1;
    if (f && !(*bkf = interp_get_str(I, f->e)))
        return -1;
    return 0;
}

/* img_create FMT FILE SIZE [print=B] [backing=F] [backing_fmt=FMT] [options=O] */
static int exec_img_create(interp *I, const stmt *s)
{
    char *x = NULL, *y = NULL, *err = NULL;
    char *bk = NULL, *bkf = NULL;   /* img_create's backing file and format */
    int r = 0;
    uint64_t size;
    const arg *z;

    x = interp_get_str(I, s->args[0].e);
    y = x ? interp_get_str(I, s->args[1].e) : NULL;
    if (!y || interp_get_uint(I, s->args[2].e, &size) < 0 ||
        interp_confined(I, s, "img_create", y, 0) < 0) {
        r = -1;
    } else if (img_backing(I, s, &bk, &bkf) < 0 ||
               (bk && interp_confined(I, s, "img_create backing", bk, 1) < 0)) {
        r = -1;
    } else if ((z = stmt_kwarg(s, "options")) != NULL) {
        /* qemu-img create -o OPTIONS */
        char *o = interp_get_str(I, z->e);
        if (!o || !I->be->ops->img_create_opts || bk) {
            if (o)
                interp_fail(I, s->line, s->col, bk ? "img_create takes options or a backing "
                            "file, not both" : "the %s backend takes no qemu-img create options",
                            I->be->ops->name);
            r = -1;
        } else if (I->be->ops->img_create_opts(I->be, x, y, size, o, &err) < 0) {
            interp_fail(I, s->line, s->col, "qemu-img create failed: %s", err ? err : "?");
            r = -1;
        }
        free(o);
    }
    if (r < 0 || stmt_kwarg(s, "options")) {
        /* created above (or failed) */
    } else if (I->be->ops->img_create(I->be, x, y, size, bk, bkf, &err) < 0) {
        interp_fail(I, s->line, s->col, "qemu-img create failed: %s", err ? err : "?");
        r = -1;
    }
    if (r == 0 && stmt_kwarg(s, "print")) {
        /* _make_test_img's line, as _filter_img_create leaves it */
        int pr;
        if (interp_kw_bool(I, s, "print", 0, &pr) < 0) {
            r = -1;
        } else if (pr) {
            char *line;
            /* _filter_img_create keeps backing_file and backing_fmt after size */
            if (asprintf(&line, "Formatting '%s', fmt=%s size=%llu%s%s%s%s", y, x,
                         (unsigned long long)size, bk ? " backing_file=" : "", bk ? bk : "",
                         bkf ? " backing_fmt=" : "", bkf ? bkf : "") < 0)
                abort();
            interp_emit_shell(I, line);
            free(line);
        }
    }
    free(err);
    free(x);
    free(y);
    free(bk);
    free(bkf);
    return r;
}

static int exec_qemu_io_close(interp *I, const stmt *s)
{
    real_io_close(I->io, I->be);
    I->io = NULL;
    I->io_open = 0;
    return 0;
}

static int exec_qemu_nbd_stop(interp *I, const stmt *s)
{
    if (I->qemu_nbd && I->be->ops->qemu_nbd_stop)
        I->be->ops->qemu_nbd_stop(I->be);
    I->qemu_nbd = 0;
    return 0;
}

/* qemu_img ARG...: qemu-img's arguments, bare words taken as text */
static void check_qemu_img(case_parser *p, const stmt *s, arg **pos, size_t npos)
{
}

static void check_qemu_img_info(case_parser *p, const stmt *s, arg **pos, size_t npos)
{
    if (case_want_word(p, pos[0], "a variable name") == 0)
        case_want_expr(p, pos[1], "an image file name");
    for (size_t i = 0; i < s->nargs; i++)
        if (s->args[i].key && case_want_expr(p, &s->args[i], "an expression") < 0)
            return;
}

static void check_sock_file(case_parser *p, const stmt *s, arg **pos, size_t npos)
{
    if (case_want_word(p, pos[0], "a variable name") == 0)
        case_check_exprs(p, s, pos + 1, npos - 1);
}

const case_command cmd_tools_commands[] = {
    { "img_create", 3, 3, "print backing backing_fmt options", .exec = exec_img_create },
    { "qemu_img", 1, -1, "", .check = check_qemu_img, .exec = exec_qemu_img },
    { "qemu_img_info", 2, 2, "force_share", .check = check_qemu_img_info,
      .exec = exec_qemu_img_info },
    { "img_info_log", 1, 1, "extra check", .exec = exec_img_info_log },
    { "img_compare_log", 2, 2, "", .exec = exec_img_compare_log },
    { "file_xor", 3, 3, "", .exec = exec_file_xor },
    { "qemu_nbd", 1, -1, "", .exec = exec_qemu_nbd },
    { "qemu_nbd_stop", 0, 0, "", .exec = exec_qemu_nbd_stop },
    /* iotests' sock_dir files and QemuIoInteractive (299) */
    { "sock_file", 2, 2, "", .check = check_sock_file, .exec = exec_sock_file },
    { "qemu_io_interactive", 1, -1, "", .exec = exec_qemu_io_open },
    { "qemu_io_cmd", 1, 1, "", .exec = exec_qemu_io_cmd },
    { "qemu_io_close", 0, 0, "", .exec = exec_qemu_io_close },
    { .name = NULL }
};
