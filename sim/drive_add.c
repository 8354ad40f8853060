/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * HMP drive_add with if=none: a BlockBackend named by `id` on a node
 * opened from a -drive option string (QEMU 7.2 blockdev.c drive_new /
 * blockdev_init), the way iotests' VM.add_drive attaches images. The
 * simulator keeps the BlockBackend's name on its root node (blk_name):
 * lookups by device name find it, and jobs on it default their id to it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/blk.h"

/* One key=value of the option string; ",," is a literal comma in QEMU's
 * option syntax. */
static char *next_opt(const char **p, char **value)
{
    size_t cap = strlen(*p) + 1, n = 0;
    char *buf = malloc(cap);
    const char *q = *p;
    while (*q) {
        if (*q == ',') {
            if (q[1] == ',') {
                buf[n++] = ',';
                q += 2;
                continue;
            }
            q++;
            break;
        }
        buf[n++] = *q++;
    }
    buf[n] = 0;
    *p = q;
    char *eq = strchr(buf, '=');
    *value = eq ? xstrdup(eq + 1) : NULL;
    if (eq) {
        *eq = 0;
    }
    return buf;
}

/* The node options a -drive's file= and format= make: "blkdebug::PATH"
 * puts blkdebug between the format and the file (its protocol prefix);
 * without format=, a qcow2 image is probed as qcow2, anything else raw. */
static json_object *drive_node_options(sim *s, const char *file, const char *format,
                                       const char *node_name)
{
    json_object *proto = json_object_new_object();
    const char *path = file;
    if (!strncmp(file, "blkdebug::", 10)) {
        path = file + 10;
        json_object *img = json_object_new_object();
        json_object_object_add(img, "driver", json_object_new_string("file"));
        json_object_object_add(img, "filename", json_object_new_string(path));
        json_object_object_add(proto, "driver", json_object_new_string("blkdebug"));
        json_object_object_add(proto, "image", img);
    } else {
        json_object_object_add(proto, "driver", json_object_new_string("file"));
        json_object_object_add(proto, "filename", json_object_new_string(path));
    }
    sim_file *f = fs_lookup(s, path);
    if (!format) {
        format = f && f->qcow2 ? "qcow2" : "raw";
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "driver", json_object_new_string(format));
    json_object_object_add(o, "file", proto);
    if (node_name) {
        json_object_object_add(o, "node-name", json_object_new_string(node_name));
    }
    return o;
}

static sim_node *find_blk(sim *s, const char *id)
{
    for (sim_node *n = s->nodes; n; n = n->next) {
        if (n->blk_name && !strcmp(n->blk_name, id)) {
            return n;
        }
    }
    return NULL;
}

char *hmp_drive_add(sim *s, const char *args)
{
    /* drive_add [-n] [[<domain>:]<bus>:]<slot> OPTIONS; the address is
     * ignored for if=none, as QEMU does */
    while (*args == ' ') {
        args++;
    }
    args += strcspn(args, " ");
    while (*args == ' ') {
        args++;
    }
    char *id = NULL, *file = NULL, *format = NULL, *node_name = NULL, *iface = NULL;
    char *reply = NULL;
    const char *p = args;
    while (*p && !reply) {
        char *value, *key = next_opt(&p, &value);
        char **slot = !strcmp(key, "id") ? &id : !strcmp(key, "file") ? &file
                    : !strcmp(key, "format") ? &format : !strcmp(key, "node-name") ? &node_name
                    : !strcmp(key, "if") ? &iface : NULL;
        if (!slot && (!strcmp(key, "cache") || !strcmp(key, "aio"))) {
            /* host caching and AIO engine: nothing the simulator sees */
        } else if (!slot) {
            reply = xasprintf("drive option '%s' is not modelled by the simulator\r\n", key);
        } else {
            free(*slot);
            *slot = value;
            value = NULL;
        }
        free(value);
        free(key);
    }
    if (!reply && (!iface || strcmp(iface, "none"))) {
        reply = xasprintf("the simulator models drive_add with if=none only\r\n");
    }
    if (!reply && (!id || !file)) {
        reply = xasprintf("the simulator needs id= and file= in drive_add\r\n");
    }
    if (!reply && find_blk(s, id)) {
        reply = xasprintf("Duplicate ID '%s' for drive\r\n", id);
    }
    if (!reply) {
        json_object *o = drive_node_options(s, file, format, node_name);
        sim_node *n = NULL;
        json_object *err = blockdev_open(s, o, NULL, &n, false);
        json_object_put(o);
        if (err) {
            json_object *e = NULL, *d = NULL;
            json_object_object_get_ex(err, "error", &e);
            json_object_object_get_ex(e, "desc", &d);
            reply = xasprintf("%s\r\n", json_object_get_string(d));
            json_object_put(err);
        } else {
            n->monitor_owned = true;        /* the BlockBackend holds it */
            n->blk_name = xstrdup(id);
            reply = xstrdup("OK\r\n");
        }
    }
    free(id);
    free(file);
    free(format);
    free(node_name);
    free(iface);
    return reply;
}
