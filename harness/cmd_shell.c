/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Case commands of shell-style tests (bash iotests such as 2018's 223):
 * shell_test's filters, qemu-io and qemu-img map runs, and vm_session's
 * QMP and HMP lines; also qemu_io_log, iotests' qemu_io_log().
 */
#include "harness/interp_int.h"
#include "harness/confine.h"
#include "harness/json_render.h"
#include "harness/shell_style.h"

#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static int sh_send(interp *I, const stmt *s, char *name, json_object *args);

/* An image a client tool opens (a file, or an NBD URI whose socket= is a
 * path): the rule of `run`'s arguments (confine_tool_args). */
static int confined_image(interp *I, const stmt *s, const char *tool, const char *image)
{
    char *argv[] = { (char *)tool, (char *)image, NULL }, *why = NULL;
    int bad;
    if (confine_tool_args(I->be->test_dir, argv, &bad, &why) == 0)
        return 0;
    interp_fail(I, s->args[0].line, s->args[0].col, "%s: %s", tool, why ? why : "refused");
    free(why);
    return -1;
}

static int exec_shell_test(interp *I, const stmt *s)
{
    char *fmt = interp_get_str(I, s->args[0].e), *img;
    if (!fmt)
        return -1;
    const char *dir = I->be->test_dir ? I->be->test_dir : ".";
    if (asprintf(&img, "%s/t.%s", dir, fmt) < 0)
        abort();
    interp_bind(I, "TEST_DIR", json_object_new_string(dir));
    interp_bind(I, "IMGFMT", json_object_new_string(fmt));
    interp_bind(I, "TEST_IMG", json_object_new_string(img));
    free(img);
    free(I->shell_fmt);
    I->shell_fmt = fmt;
    I->shell = 1;
    const arg *qa = stmt_kwarg(s, "qemu");
    if (qa) {
        char *v = interp_get_str(I, qa->e);
        if (!v)
            return -1;
        if (strcmp(v, "7.2") && strcmp(v, "3.0")) {
            interp_fail(I, qa->line, qa->col, "shell_test knows the dialects of QEMU \"3.0\" and "
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
            interp_fail(I, s->line, s->col, "cannot create %s: %s", I->sock_dir, strerror(errno));
            return -1;
        }
        interp_bind(I, "SOCK_DIR", json_object_new_string(I->sock_dir));
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
            interp_fail(I, s->line, s->col, "image options: '%s' is not KEY=VALUE", kv);
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
            interp_fail(I, s->line, s->col, "image options: the harness maps NBD exports on unix "
                        "sockets only, not %s=%s", kv, eq);
            goto out;
        }
    }
    if (!nbd || !path) {
        interp_fail(I, s->line, s->col, "image options need driver=nbd and server.path");
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
        interp_fail(I, s->line, s->col, "the %s backend cannot run qemu-io", I->be->ops->name);
        goto out;
    }
    int io_opts = 0;
    if (!(image = interp_get_str(I, s->args[0].e)) ||
        interp_kw_bool(I, s, "read_only", 0, &ro) < 0 ||
        interp_kw_bool(I, s, "image_opts", 0, &io_opts) < 0 ||
        (fa && !(fmt = interp_get_str(I, fa->e))))
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
        if (!(cmds[ncmds] = interp_get_str(I, s->args[i].e)))
            goto out;
        ncmds++;
    }
    /* --nbd-clients real: the real qemu-io talks to the VM's socket */
    out = (I->be->real_nbd_clients && real_is_nbd_uri(image) ? real_qemu_io
           : I->be->ops->qemu_io)(I->be, image, fmt, ro, (const char *const *)cmds, ncmds, &err);
    if (!out) {
        interp_fail(I, s->line, s->col, "qemu-io %s failed: %s", image, err ? err : "?");
        goto out;
    }
    int quiet = 0, log_failure = 0;
    if (interp_kw_bool(I, s, "quiet", 0, &quiet) < 0 ||
        interp_kw_bool(I, s, "log_failure", 0, &log_failure) < 0)
        goto out;
    if (!quiet) {
        char *f = shell_filter_qemu_io(out);
        if (stmt_is(s, "qemu_io_log"))
            interp_emit(I, f);     /* iotests' qemu_io_log: log(output), its newline and log's */
        else
            interp_emit_shell(I, f);
        free(f);
    } else if (qemu_io_failed(out)) {
        /* iotests.qemu_io(check=True) raises; image-fleecing logs the
         * failure's stdout where it expects one (log(exc.stdout)) */
        if (!log_failure) {
            interp_fail(I, s->line, s->col, "qemu-io %s failed: %s", image, out);
            goto out;
        }
        interp_emit(I, out);
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
        interp_fail(I, s->line, s->col, "the %s backend cannot run qemu-img map", I->be->ops->name);
        return -1;
    }
    int io_opts = 0;
    if (!(image = interp_get_str(I, s->args[0].e)) || (ca && !(ctx = interp_get_str(I, ca->e))) ||
        interp_kw_bool(I, s, "image_opts", 0, &io_opts) < 0)
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
        interp_emit_shell(I, err ? err : "qemu-img: map failed");
        r = 0;
        goto out;
    }
    uint64_t win_start = 0, win_len = UINT64_MAX;
    const arg *wa = stmt_kwarg(s, "start_offset"), *wl = stmt_kwarg(s, "max_length");
    if ((wa && interp_get_uint(I, wa->e, &win_start) < 0) ||
        (wl && interp_get_uint(I, wl->e, &win_len) < 0)) {
        json_object_put(map);
        goto out;
    }
    if ((wa || wl) && json_object_is_type(map, json_type_array))
        map_window(map, win_start, win_len);
    const arg *ia = stmt_kwarg(s, "into");
    if (ia) {
        /* iotests' qemu_img_map(): the parsed map, bound, not printed */
        char *name = interp_get_str(I, ia->e);
        if (name)
            interp_bind(I, name, map);
        else
            json_object_put(map);
        r = name ? 0 : -1;
        free(name);
        goto out;
    }
    sbuf b = {0};
    if (I->shell72) {
        if (!json_object_is_type(map, json_type_array) || shell_map_json72(&b, map) < 0)
            interp_fail(I, s->line, s->col, "the backend's map of %s is not a list of extents",
                        image);
        else {
            interp_emit_shell(I, sbuf_str(&b));
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
        interp_fail(I, s->line, s->col, "the backend's map of %s is not a list of extents", image);
    } else {
        interp_emit_shell(I, sbuf_str(&b));
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
    if (aa && !(args = interp_get_str(I, aa->e)))
        return -1;
    if (cmd_qmp_launch(I, s) < 0) {
        free(args);
        return -1;
    }
    I->session = !strcmp(mode, "run") ? 1 : !strcmp(mode, "qmp") ? 3 : 2;
    I->session_caps = 0;
    if (interp_kw_bool(I, s, "hash_sha256", 0, &I->session_sha) < 0) {
        free(args);
        return -1;
    }
    if (I->session == 3)
        interp_emit(I, "QMP_VERSION");      /* a bare run_qemu: the greeting only */
    if (I->session == 1) {
        sbuf b = {0};
        sbuf_adds(&b, "Testing:");
        if (args && *args)
            sbuf_printf(&b, " %s", args);
        interp_emit_shell(I, sbuf_str(&b));
        sbuf_free(&b);
        interp_emit(I, "QMP_VERSION");
    }
    free(args);
    return 0;
}

static void emit_reply(interp *I, json_object *reply)
{
    char *line = shell_qmp_line(reply);
    char *sha = I->session_sha ? strstr(line, "\"sha256\": \"") : NULL;
    if (sha && strlen(sha) >= 11 + 64 && sha[11 + 64] == '"') {
        /* sed 's/"sha256": ".\{64\}"/"sha256": HASH/' */
        memmove(sha + 10 + 4, sha + 11 + 64 + 1, strlen(sha + 11 + 64 + 1) + 1);
        memcpy(sha + 10, "HASH", 4);
    }
    interp_emit_shell(I, line);
    free(line);
}

static int exec_sh_qmp(interp *I, const stmt *s)
{
    char *name = interp_qmp_name(I, &s->args[0]);
    json_object *args = NULL;
    if (!name || interp_qmp_args(I, s, &args) < 0) {
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
    char *text = interp_get_str(I, s->args[0].e);
    if (!text)
        return -1;
    json_object *cmd = json_tokener_parse(text), *ex, *args = NULL;
    if (!cmd || !json_object_is_type(cmd, json_type_object) ||
        !json_object_object_get_ex(cmd, "execute", &ex) || !json_object_is_type(ex, json_type_string)) {
        interp_fail(I, s->line, s->col, "sh_cmd needs a QMP command in JSON ({\"execute\": ...}), "
                    "not: %s", text);
        json_object_put(cmd);
        free(text);
        return -1;
    }
    interp_emit_shell(I, text);
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
        interp_fail(I, s->line, s->col, "sh_qmp outside a vm_session");
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
        if (cmd_qmp_shutdown_vm(I, s) < 0)
            goto out;
        emit_reply(I, reply);
        if (I->shell72) {
            /* QEMU 7.2's SHUTDOWN through 7.2's _filter_qmp (two spaces
             * before TIMESTAMP); run_qemu then echoes a blank line */
            interp_emit(I, "{\"timestamp\": {\"seconds\":  TIMESTAMP, "
                        "\"microseconds\":  TIMESTAMP}, "
                        "\"event\": \"SHUTDOWN\", \"data\": {\"guest\": false, "
                        "\"reason\": \"host-qmp-quit\"}}");
            if (run)
                interp_emit(I, "");
        } else if (run) {
            /* QEMU 3.0's SHUTDOWN on a monitor quit; run_qemu then echoes */
            interp_emit(I, "{\"timestamp\": {\"seconds\": TIMESTAMP, \"microseconds\": TIMESTAMP}, "
                        "\"event\": \"SHUTDOWN\", \"data\": {\"guest\": false}}");
            interp_emit(I, "");
        }
        r = 0;
        goto out;
    }
    json_object_put(reply);
    /* shell tests send the arguments exactly as written */
    reply = I->be->ops->qmp(I->be, name, args, &err);
    if (!reply) {
        interp_fail(I, s->line, s->col, "backend failed to run '%s': %s", name,
                    err ? err : "no reply");
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

static void check_vm_session(case_parser *p, const stmt *s, arg **pos, size_t npos)
{
    if (case_want_word(p, pos[0], "'run', 'launch' or 'qmp'") < 0)
        return;
    if (strcmp(pos[0]->word, "run") && strcmp(pos[0]->word, "launch") &&
        strcmp(pos[0]->word, "qmp")) {
        case_check_fail(p, pos[0]->line, pos[0]->col,
                        "vm_session takes 'run', 'launch' or 'qmp', not '%s'", pos[0]->word);
        return;
    }
    case_check_exprs(p, s, pos + 1, npos - 1);
}

const case_command cmd_shell_commands[] = {
    { "shell_test", 1, 1, "qemu", .exec = exec_shell_test },
    { "qemu_io_run", 2, -1, "fmt read_only image_opts quiet log_failure",
      .exec = exec_qemu_io_run },
    { "qemu_io_log", 2, -1, "fmt", .exec = exec_qemu_io_run },
    { "vm_session", 1, 1, "args hash_sha256", .check = check_vm_session, .exec = exec_vm_session },
    { "sh_qmp", 1, 2, "", .check = case_check_qmp, .exec = exec_sh_qmp },
    { "img_map", 1, 1, "context image_opts start_offset max_length into", .exec = exec_img_map },
    { "sh_cmd", 1, 1, "", .exec = exec_sh_cmd },
    { .name = NULL }
};
