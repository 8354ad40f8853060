/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A qemu-nbd server process beside the VM (iotests' common.nbd starts one
 * with nbd_server_start_unix_socket): its own machine over the same image
 * files, one node opened from an image, exported on a unix socket by the
 * same protocol code as the VM's server (nbd_server.c). Closing it stores
 * the node's persistent bitmaps, as qemu-nbd does at exit.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/nbd.h"

struct sim_qemu_nbd {
    sim m;                      /* the process's own machine */
    sim_node *node;
};

static bool reply_is_error(json_object *r)
{
    json_object *e;
    return r && json_object_object_get_ex(r, "error", &e);
}

/* The process shares the VM's file list: hand the head back and forth. */
static void files_to(sim *from, sim *to)
{
    to->files = from->files;
}

static bool image_in_use(sim *s, const sim_file *f)
{
    for (sim_node *n = s->running ? s->nodes : NULL; n; n = n->next) {
        if (n->f == f || (f->qcow2 && n->q == f->qcow2)) {
            return true;
        }
    }
    return false;
}

void sim_qemu_nbd_stop(sim *s)
{
    struct sim_qemu_nbd *p = s->qemu_nbd;
    if (!p) {
        return;
    }
    files_to(s, &p->m);
    nbd_stop_all(&p->m);
    if (p->node) {
        node_unref(&p->m, p->node);         /* persistent bitmaps are stored */
    }
    while (p->m.nodes) {
        node_remove(&p->m, p->m.nodes);
    }
    while (p->m.ev_head) {
        sim_event *e = p->m.ev_head;
        p->m.ev_head = e->next;
        json_object_put(e->ev);
        free(e);
    }
    files_to(&p->m, s);
    free(p);
    s->qemu_nbd = NULL;
}

/* qemu-nbd [-r] [-f FMT] [-B BITMAP]... [-x NAME] [-t] [-v] [-A] -k SOCKET IMAGE */
int sim_qemu_nbd_start(sim *s, char *const argv[], char **err)
{
    const char *fmt = NULL, *bitmaps[16], *name = "", *sock = NULL, *image = NULL;
    size_t nbitmaps = 0;
    bool ro = false, depth = false;
    sim_qemu_nbd_stop(s);
    for (int i = 1; argv[i]; i++) {
        const char *a = argv[i];
        bool has_val = !strcmp(a, "-f") || !strcmp(a, "-B") || !strcmp(a, "-x") ||
                       !strcmp(a, "-k");
        if (has_val && !argv[i + 1]) {
            *err = xasprintf("qemu-nbd: option requires an argument -- '%s'", a + 1);
            return -1;
        }
        if (!strcmp(a, "-r") || !strcmp(a, "--read-only")) {
            ro = true;
        } else if (!strcmp(a, "-A") || !strcmp(a, "--allocation-depth")) {
            depth = true;       /* the export offers qemu:allocation-depth */
        } else if (!strncmp(a, "--format=", 9)) {
            fmt = a + 9;
        } else if (!strncmp(a, "--socket=", 9)) {
            sock = a + 9;
        } else if (!strcmp(a, "-t") || !strcmp(a, "-v") || !strcmp(a, "--persistent") ||
                   !strcmp(a, "--verbose")) {
            /* persistent, verbose: nothing to model */
        } else if (!strcmp(a, "-f")) {
            fmt = argv[++i];
        } else if (!strcmp(a, "-B")) {
            if (nbitmaps == sizeof bitmaps / sizeof bitmaps[0]) {
                *err = xasprintf("qemu-nbd: the simulator's qemu-nbd exports at most 16 bitmaps");
                return -1;
            }
            bitmaps[nbitmaps++] = argv[++i];
        } else if (!strcmp(a, "-x")) {
            name = argv[++i];
        } else if (!strcmp(a, "-k")) {
            sock = argv[++i];
        } else if (a[0] == '-') {
            *err = xasprintf("qemu-nbd: the simulator's qemu-nbd takes -r -f -B -x -k -t -v -A "
                             "(and --read-only --format= --socket= --persistent --verbose "
                             "--allocation-depth), not '%s'", a);
            return -1;
        } else if (image) {
            *err = xasprintf("qemu-nbd: Invalid number of arguments");
            return -1;
        } else {
            image = a;
        }
    }
    if (!image || !sock) {
        *err = xasprintf("qemu-nbd: the simulator's qemu-nbd needs -k SOCKET and an image");
        return -1;
    }
    sim_file *f = fs_lookup(s, image);
    if (!f) {
        *err = xasprintf("qemu-nbd: Failed to blk_new_open '%s': Could not open '%s': "
                         "No such file or directory", image, image);
        return -1;
    }
    if (image_in_use(s, f)) {
        *err = xasprintf("qemu-nbd: Failed to blk_new_open '%s': Failed to get %s\"write\" lock",
                         image, ro ? "shared " : "");
        return -1;
    }
    struct sim_qemu_nbd *p = calloc(1, sizeof *p);
    p->m.base = s->base;
    p->m.running = true;
    files_to(s, &p->m);
    json_object *opts = json_object_new_object(), *file = json_object_new_object();
    json_add_lit(file, "driver", json_object_new_string("file"));
    json_add_lit(file, "filename", json_object_new_string(image));
    json_add_lit(opts, "driver", json_object_new_string(fmt ? fmt : f->qcow2 ? "qcow2" : "raw"));
    json_add_lit(opts, "file", file);
    json_object *e = blockdev_open(&p->m, opts, NULL, &p->node, false);
    json_object_put(opts);
    json_object *r = NULL;
    if (!e) {
        p->node->read_only = ro;
        json_object *a = json_object_new_object(), *addr = json_object_new_object(),
                    *data = json_object_new_object();
        json_add_lit(data, "path", json_object_new_string(sock));
        json_add_lit(addr, "type", json_object_new_string("unix"));
        json_add_lit(addr, "data", data);
        json_add_lit(a, "addr", addr);
        r = nbd_dispatch(&p->m, "nbd-server-start", a);
        json_object_put(a);
        if (!reply_is_error(r)) {
            json_object_put(r);
            r = nbd_export_node(&p->m, p->node, name, !ro, nbitmaps ? bitmaps[0] : NULL);
            /* the export just made heads the list; -B again adds its bitmaps */
            for (size_t k = 1; k < nbitmaps && !reply_is_error(r); k++) {
                json_object_put(r);
                r = nbd_export_more_bitmap(p->m.nbd->exports, bitmaps[k]);
            }
            if (!reply_is_error(r)) {
                p->m.nbd->exports->alloc_depth = depth;
            }
        }
    }
    files_to(&p->m, s);
    s->qemu_nbd = p;
    json_object *failed = e ? e : reply_is_error(r) ? r : NULL;
    if (failed) {
        json_object *ed, *desc;
        *err = xasprintf("qemu-nbd: %s", json_object_object_get_ex(failed, "error", &ed) &&
                         json_object_object_get_ex(ed, "desc", &desc)
                         ? json_object_get_string(desc) : "cannot start");
        json_object_put(failed);
        sim_qemu_nbd_stop(s);
        return -1;
    }
    json_object_put(r);
    return 0;
}

sim *sim_qemu_nbd_machine(sim *s)
{
    if (!s->qemu_nbd) {
        return NULL;
    }
    files_to(s, &s->qemu_nbd->m);
    return &s->qemu_nbd->m;
}

int sim_qemu_nbd_serve(sim *s, int timeout_ms)
{
    struct sim_qemu_nbd *p = s->qemu_nbd;
    if (!p) {
        return 0;
    }
    files_to(s, &p->m);
    int r = nbd_server_serve(&p->m, timeout_ms);
    files_to(&p->m, s);
    return r;
}
