/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The real client programs behind qemu_io_run and img_map: qemu-io and
 * qemu-img (qemu-utils) run against an image file or an NBD export, while
 * the backend serves its sockets. The real-QEMU backend always uses them;
 * the simulator does with --nbd-clients real.
 */
#include "harness/real_clients.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
    /* an export is the guest's view: raw unless the case says otherwise */
    if (fmt || real_is_nbd_uri(image)) {
        argv[n++] = "-f";
        argv[n++] = fmt ? fmt : "raw";
    }
    for (size_t i = 0; i < ncmds; i++) {
        argv[n++] = "-c";
        argv[n++] = cmds[i];
    }
    argv[n++] = image;
    int st = tool_run_serving(be, path, (char *const *)argv, &out, err);
    free(argv);
    free(path);
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
