/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A qemu-img process of the simulator (sim/qemu_img_bitmap.c,
 * qemu_img_commit.c): its own machine over the VM's files, the images it
 * opens as nodes (their persistent bitmaps load; closing stores them), and
 * qemu-img's error lines.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/qmp.h"
#include "sim/error.h"
#include "sim/qcow2_bitmap.h"

/* What a subcommand's option loop does with an argument it has no case
 * for: an option is refused (not modelled), the first other argument names
 * the image, a second one is qemu-img's usage error. 0, or 1 after the
 * error. */
int img_image_arg(const char *cmd, const char *a, const char **path, char **errout)
{
    if (a[0] == '-' && a[1]) {
        img_report(errout, "the simulator does not model the %s option '%s'", cmd, a);
        return 1;
    }
    if (*path) {
        img_report(errout, "Expecting one image file name");
        return 1;
    }
    *path = a;
    return 0;
}

/* After the loop: the image must have been named. 0, or 1 after the error. */
int img_image_named(const char *path, char **errout)
{
    if (!path) {
        img_report(errout, "Expecting one image file name");
        return 1;
    }
    return 0;
}

/* An error line of qemu-img (error_report): "qemu-img: TEXT\n" appended. */
void img_report(char **errout, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *m;
    if (vasprintf(&m, fmt, ap) < 0) {
        abort();
    }
    va_end(ap);
    char *all = xasprintf("%sqemu-img: %s\n", *errout ? *errout : "", m);
    free(m);
    free(*errout);
    *errout = all;
}

/* error_reportf_err: PREFIX then the error's text, then the hint QEMU
 * attached to it (only the inconsistent bitmap's has one here). */
void img_report_err(char **errout, json_object *reply, const char *prefix)
{
    const char *desc = qmp_error_desc(reply);
    img_report(errout, "%s%s", prefix, desc);
    static const char tail[] = " is inconsistent and cannot be used";
    size_t dl = strlen(desc), tl = sizeof tail - 1;
    if (dl > tl && !strcmp(desc + dl - tl, tail)) {
        char *all = xasprintf("%s%s", *errout, BITMAP_INCONSISTENT_HINT);
        free(*errout);
        *errout = all;
    }
}

/* ---- the process ---------------------------------------------------------- */

void img_proc_begin(sim *s, img_proc *p)
{
    memset(p, 0, sizeof *p);
    p->m.base = s->base;
    p->m.files = s->files;
    p->m.running = true;
}

void img_proc_end(sim *s, img_proc *p)
{
    sim *m = &p->m;
    while (p->nopen > 0) {
        node_unref(m, p->open[--p->nopen]);     /* closing stores the persistent bitmaps */
    }
    while (m->nodes) {
        node_remove(m, m->nodes);       /* stores the persistent bitmaps */
    }
    while (m->ev_head) {
        sim_event *e = m->ev_head;
        m->ev_head = e->next;
        json_object_put(e->ev);
        free(e);
    }
    s->files = m->files;
}

/* Does a node of the running VM hold f open read-write? */
static bool vm_writes(sim *s, const sim_file *f)
{
    for (sim_node *n = s->running ? s->nodes : NULL; n; n = n->next) {
        if (!n->read_only && (n->f == f || (f->qcow2 && n->q == f->qcow2))) {
            return true;
        }
    }
    return false;
}

/* --image-opts "driver=D,file.driver=file,file.filename=P": the options as
 * BlockdevOptions (one level of dotted keys), NULL when malformed. */
static json_object *image_opts(const char *text)
{
    json_object *o = json_object_new_object();
    char *copy = xstrdup(text), *save = NULL;
    for (char *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        if (!eq) {
            json_object_put(o);
            free(copy);
            return NULL;
        }
        *eq++ = '\0';
        char *dot = strchr(kv, '.');
        json_object *parent = o;
        if (dot) {
            *dot++ = '\0';
            if (!json_object_object_get_ex(o, kv, &parent)) {
                parent = json_object_new_object();
                json_object_object_add(o, kv, parent);
            }
            kv = dot;
        }
        json_object_object_add(parent, kv, json_object_new_string(eq));
    }
    free(copy);
    return o;
}

/* img_open: the image as a node of m (auto-named), or NULL after reporting
 * qemu-img's error. image_opts: name is --image-opts text. */
sim_node *img_proc_open(sim *s, img_proc *p, const char *name, bool is_opts, const char *fmt,
                          bool writable, bool no_backing, char **errout)
{
    sim *m = &p->m;
    json_object *opts;
    const char *path = name;
    if (is_opts) {
        opts = image_opts(name);
        json_object *file = opts ? json_member(opts, "file") : NULL;
        path = file ? json_str(file, "filename") : NULL;
        if (!path || !*path || !json_str(opts, "driver") || !*json_str(opts, "driver")) {
            img_report(errout, "the simulator models --image-opts driver=FMT,file.driver=file,"
                   "file.filename=PATH only, not '%s'", name);
            json_object_put(opts);
            return NULL;
        }
    } else {
        opts = json_object_new_object();
        json_object *file = json_object_new_object();
        json_object_object_add(file, "driver", json_object_new_string("file"));
        json_object_object_add(file, "filename", json_object_new_string(name));
        json_object_object_add(opts, "file", file);
    }
    sim_file *f = fs_lookup(m, path);
    if (!f) {
        img_report(errout, "Could not open '%s': Could not open '%s': No such file or directory",
               name, path);
        json_object_put(opts);
        return NULL;
    }
    if (vm_writes(s, f)) {
        img_report(errout, "Could not open '%s': Failed to get %s\"write\" lock\n"
               "Is another process using the image [%s]?", name, writable ? "" : "shared ",
               path);
        json_object_put(opts);
        return NULL;
    }
    if (!is_opts) {
        /* no -f: probed */
        json_object_object_add(opts, "driver",
                               json_object_new_string(fmt ? fmt : f->qcow2 ? "qcow2" : "raw"));
    }
    if (no_backing) {
        json_object_object_add(opts, "backing", NULL);
    }
    if (f->qcow2 && !strcmp(json_str(opts, "driver"), "qcow2") && q2_bitmaps_bad_entry(f->qcow2)) {
        /* qcow2_load_dirty_bitmaps -> bitmap_list_load -> check_dir_entry */
        img_report(errout, "Could not open '%s': Bitmap '%s' doesn't satisfy the constraints", name,
               q2_bitmaps_bad_entry(f->qcow2));
        json_object_put(opts);
        return NULL;
    }
    sim_node *n = NULL;
    json_object *e = blockdev_open(m, opts, NULL, &n, false);
    json_object_put(opts);
    if (e) {
        img_report(errout, "Could not open '%s': %s", name, qmp_error_desc(e));
        json_object_put(e);
        return NULL;
    }
    if (!writable) {
        node_set_read_only(n, true);
    }
    p->open[p->nopen++] = n;
    return n;
}

