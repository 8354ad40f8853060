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
    int st = tool_run_serving(be, NULL, path, (char *const *)argv, &out, err);
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
    int st = tool_run_serving(be, NULL, path, (char *const *)argv, &out, err);
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
