/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The real client programs behind qemu_io_run and img_map: qemu-io and
 * qemu-img (qemu-utils) run against an image file or an NBD export, while
 * the backend serves its sockets. The real-QEMU backend always uses them;
 * the simulator does with --nbd-clients real.
 */
#include "harness/real_clients.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <json-c/json.h>

#include "harness/tool_run.h"

static const char nbd_prefix[] = "nbd+unix:///";

int real_is_nbd_uri(const char *image)
{
    return image && !strncmp(image, nbd_prefix, sizeof nbd_prefix - 1);
}

static char * __attribute__((format(printf, 1, 2))) xasprintf_(const char *fmt, ...)
{
    char *p;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&p, fmt, ap) < 0)
        abort();
    va_end(ap);
    return p;
}

/* nbd+unix:///EXPORT?socket=PATH as qemu-img's --image-opts, with the
 * client's x-dirty-bitmap when ctx is given; NULL when malformed. */
static char *nbd_image_opts(const char *uri, const char *ctx)
{
    const char *name = uri + sizeof nbd_prefix - 1;
    const char *q = strstr(name, "?socket=");
    if (!q || strchr(q + 8, ','))
        return NULL;
    char *exp = strndup(name, (size_t)(q - name));
    char *opts = xasprintf_("driver=nbd,export=%s,server.type=unix,server.path=%s", exp, q + 8);
    free(exp);
    if (ctx) {
        char *more = xasprintf_("%s,x-dirty-bitmap=%s", opts, ctx);
        free(opts);
        opts = more;
    }
    return opts;
}

int real_img_create(bs_backend *be, const char *fmt, const char *path, uint64_t size,
                    const char *options, char **err)
{
    char *tool = tool_path("qemu-img"), *out = NULL, sz[32];
    snprintf(sz, sizeof sz, "%llu", (unsigned long long)size);
    const char *argv[] = { "qemu-img", "create", "-q", "-f", fmt, "-o", options, path, sz, NULL };
    int st = tool_run(tool, (char *const *)argv, &out, err);
    free(tool);
    if (st > 0) {
        size_t len = strlen(out);
        while (len && out[len - 1] == '\n')
            out[--len] = 0;
        *err = out;
        return -1;
    }
    free(out);
    return st < 0 ? -1 : 0;
}

pid_t real_qemu_nbd_spawn(char *const argv[], char **err)
{
    const char *sock = NULL;
    for (int i = 1; argv[i]; i++)
        if (!strcmp(argv[i], "-k") && argv[i + 1])
            sock = argv[i + 1];
    if (!sock) {
        *err = xasprintf_("qemu-nbd: the harness starts qemu-nbd servers on -k SOCKET only");
        return -1;
    }
    char *path = tool_path("qemu-nbd");
    unlink(sock);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        *err = xasprintf_("fork: %s", strerror(errno));
        free(path);
        return -1;
    }
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        execv(path, argv);
        _exit(127);
    }
    free(path);
    /* iotests' nbd_server_wait_for_unix_socket: until the socket is there */
    for (int i = 0; i < 1000; i++) {
        struct stat st;
        int status;
        if (stat(sock, &st) == 0 && S_ISSOCK(st.st_mode))
            return pid;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            *err = xasprintf_("qemu-nbd exited %d before it listened on %s",
                              WIFEXITED(status) ? WEXITSTATUS(status) : -1, sock);
            return -1;
        }
        usleep(10000);
    }
    real_qemu_nbd_kill(pid);
    *err = xasprintf_("qemu-nbd did not listen on %s within 10 s", sock);
    return -1;
}

void real_qemu_nbd_kill(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
}

char *real_qemu_io(bs_backend *be, const char *image, const char *fmt, int read_only,
                   const char *const *cmds, size_t ncmds, char **err)
{
    char *path = tool_path("qemu-io"), *out = NULL;
    const char **argv = calloc(2 * ncmds + 8, sizeof *argv);
    size_t n = 0;
    if (!argv)
        abort();
    argv[n++] = "qemu-io";
    if (read_only)
        argv[n++] = "-r";
    char *opts = NULL;
    if (fmt) {
        argv[n++] = "-f";
        argv[n++] = fmt;
    }
    for (size_t i = 0; i < ncmds; i++) {
        argv[n++] = "-c";
        argv[n++] = cmds[i];
    }
    /* an export straight through the nbd driver, as iotests open it */
    if (!fmt && real_is_nbd_uri(image) && (opts = nbd_image_opts(image, NULL))) {
        argv[n++] = "--image-opts";
        argv[n++] = opts;
    } else {
        argv[n++] = image;
    }
    int st = tool_run_serving(be, path, (char *const *)argv, &out, err);
    free(argv);
    free(path);
    free(opts);
    if (st < 0) {
        free(out);
        return NULL;
    }
    return out;
}

json_object *real_img_map(bs_backend *be, const char *image, const char *ctx, char **err)
{
    char *path = tool_path("qemu-img"), *out = NULL, *opts = NULL;
    const char *argv[8];
    size_t n = 0;
    argv[n++] = "qemu-img";
    argv[n++] = "map";
    argv[n++] = "--output=json";
    if (real_is_nbd_uri(image)) {
        if (!(opts = nbd_image_opts(image, ctx))) {
            *err = xasprintf_("qemu-img: Could not open '%s': malformed NBD URI", image);
            free(path);
            return NULL;
        }
        argv[n++] = "--image-opts";
        argv[n++] = opts;
    } else {
        if (ctx) {
            *err = xasprintf_("qemu-img: x-dirty-bitmap applies to NBD exports, not '%s'",
                              image);
            free(path);
            return NULL;
        }
        argv[n++] = image;
    }
    argv[n] = NULL;
    int st = tool_run_serving(be, path, (char *const *)argv, &out, err);
    free(path);
    free(opts);
    if (st < 0) {
        free(out);
        return NULL;
    }
    json_object *map = st == 0 ? json_tokener_parse(out) : NULL;
    if (!map || !json_object_is_type(map, json_type_array)) {
        /* what qemu-img printed is the error, less its final newline */
        size_t len = strlen(out);
        while (len && out[len - 1] == '\n')
            out[--len] = 0;
        json_object_put(map);
        *err = out;
        return NULL;
    }
    free(out);
    return map;
}

/* ---- an interactive qemu-io (iotests' QemuIoInteractive) ------------------ */

struct real_io_session {
    pid_t pid;
    int to, from;           /* its stdin, its stdout + stderr */
};

/* Reads until the prompt "qemu-io> " ends the output (or EOF), serving
 * the backend meanwhile; returns what came before the prompt. */
static char *read_to_prompt(real_io_session *p, bs_backend *be, char **err)
{
    static const char prompt[] = "qemu-io> ";
    int (*serve)(bs_backend *, int) = be && be->ops ? be->ops->serve : NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    for (int spins = 0;; spins++) {
        if (len >= sizeof prompt - 1 && !memcmp(buf + len - (sizeof prompt - 1), prompt,
                                                sizeof prompt - 1)) {
            len -= sizeof prompt - 1;
            break;
        }
        if (spins > 60000) {
            free(buf);
            *err = xasprintf_("qemu-io gave no prompt within 60 s");
            return NULL;
        }
        if (serve)
            serve(be, 0);
        struct pollfd pf = { .fd = p->from, .events = POLLIN };
        if (poll(&pf, 1, serve ? 1 : 1000) <= 0)
            continue;
        if (len + 1024 > cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            if (!buf)
                abort();
        }
        ssize_t n = read(p->from, buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    buf[len] = 0;
    return buf;
}

real_io_session *real_io_open(bs_backend *be, char *const argv[], char **err)
{
    int in[2], out[2];
    char *path = tool_path("qemu-io");
    if (pipe(in) < 0 || pipe(out) < 0) {
        *err = xasprintf_("pipe: %s", strerror(errno));
        free(path);
        return NULL;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(out[1], 2);
        close(in[0]); close(in[1]); close(out[0]); close(out[1]);
        setenv("TZ", "UTC", 1);
        setenv("LC_ALL", "C", 1);
        execv(path, argv);
        fprintf(stderr, "cannot run %s: %s\n", path, strerror(errno));
        _exit(127);
    }
    free(path);
    close(in[0]);
    close(out[1]);
    if (pid < 0) {
        close(in[1]);
        close(out[0]);
        *err = xasprintf_("fork: %s", strerror(errno));
        return NULL;
    }
    real_io_session *p = calloc(1, sizeof *p);
    p->pid = pid;
    p->to = in[1];
    p->from = out[0];
    /* like QemuIoInteractive: what it says before its first prompt (an
     * open error) is a failure */
    char *first = read_to_prompt(p, be, err);
    if (!first || *first) {
        if (first && !*err)
            *err = xasprintf_("%s", first);
        free(first);
        real_io_close(p, be);
        return NULL;
    }
    free(first);
    return p;
}

char *real_io_cmd(real_io_session *p, bs_backend *be, const char *cmd, char **err)
{
    size_t n = strlen(cmd);
    if (write(p->to, cmd, n) != (ssize_t)n || write(p->to, "\n", 1) != 1) {
        *err = xasprintf_("qemu-io went away: %s", strerror(errno));
        return NULL;
    }
    return read_to_prompt(p, be, err);
}

void real_io_close(real_io_session *p, bs_backend *be)
{
    if (!p)
        return;
    /* QemuIoInteractive.close(): "q", then wait */
    if (write(p->to, "q\n", 2) < 0) {
        /* it is gone already */
    }
    close(p->to);
    int (*serve)(bs_backend *, int) = be && be->ops ? be->ops->serve : NULL;
    int status;
    for (int i = 0; i < 10000; i++) {
        if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
            p->pid = 0;
            break;
        }
        if (serve)
            serve(be, 1);
        else
            usleep(1000);
    }
    if (p->pid > 0) {
        kill(p->pid, SIGKILL);
        waitpid(p->pid, &status, 0);
    }
    close(p->from);
    free(p);
}
