/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Opening nodes from BlockdevOptions that QAPI has already checked (QEMU's
 * bdrv_open and bdrv_open_child in block.c): children first, as QEMU names
 * them before their parent, then the driver's own options.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim/node.h"
#include "sim/qcow2_bitmap.h"
#include "sim/qapi.h"
#include "sim/error.h"
#include "sim/util.h"

static json_object *open_child_of(sim *s, json_object *ref, sim_node **out,
                                  const char *parent_name, const char *parent_drv);

static json_object *open_child(sim *s, json_object *ref, sim_node **out)
{
    return open_child_of(s, ref, out, NULL, NULL);
}

json_object *blockdev_open_child(sim *s, json_object *ref, sim_node **out)
{
    return open_child(s, ref, out);
}

/* A format node takes write and resize on its file child and shares
 * neither: a second format node on the same file child conflicts. */
static json_object *open_child_of(sim *s, json_object *ref, sim_node **out,
                                  const char *parent_name, const char *parent_drv)
{
    if (json_object_is_type(ref, json_type_string)) {
        const char *name = json_object_get_string(ref);
        sim_node *c = node_find(s, name);
        if (!c) {
            return qmp_error("GenericError", "Cannot find device='%s' nor node-name='%s'", name, name);
        }
        for (sim_node *p = s->nodes; parent_drv && p; p = p->next) {
            if (p->file == c && (p->drv == DRV_QCOW2 ||
                                 (p->drv == DRV_CBW && cbw_unshares_write(s, p))) &&
                !strcmp(parent_drv, "qcow2")) {
                return qmp_error("GenericError",
                                 "Permission conflict on node '%s': permissions 'write, resize' are "
                                 "both required by node '%s' (uses node '%s' as 'file' child) and "
                                 "unshared by node '%s' (uses node '%s' as 'file' child).",
                                 c->name, p->name, c->name, parent_name ? parent_name : "", c->name);
            }
        }
        c->parents++;
        *out = c;
        return NULL;
    }
    json_object *err = blockdev_open(s, ref, NULL, out, false);
    if (!err) {
        (*out)->parents++;
    }
    return err;
}

static json_object *open_backing_file(sim *s, sim_node *n)
{
    sim_qcow2 *q = n->q;
    char *path = path_relative_to(node_filename(n), q->backing);
    sim_file *f = fs_lookup(s, path);
    json_object *err = NULL;
    if (!f) {
        err = qmp_error("GenericError",
                        "Could not open backing file: Could not open '%s': No such file or directory",
                        path);
        free(path);
        return err;
    }
    sim_node *fn = node_new(s, DRV_FILE, NULL);
    fn->f = f;
    sim_node *b = fn;
    if (f->qcow2 && !(q->backing_fmt && strcmp(q->backing_fmt, "qcow2"))) {
        b = node_new(s, DRV_QCOW2, NULL);
        b->file = fn;
        fn->parents++;
        b->q = f->qcow2;
        q2_load_bitmaps(b);
        if (b->q->backing) {
            err = open_backing_file(s, b);
        }
    }
    b->parents++;
    n->backing = b;
    free(path);
    return err;
}

static json_object *check_node_name(sim *s, const char *name)
{
    if (!id_wellformed(name)) {
        return qmp_error("GenericError", "Invalid node-name: '%s'", name);
    }
    if (node_find(s, name)) {
        return qmp_error("GenericError", "Duplicate nodes with node-name='%s'", name);
    }
    if (strlen(name) >= 32) {
        return qmp_error("GenericError", "Node name too long");
    }
    return NULL;
}

json_object *node_name_check(sim *s, const char *name)
{
    return check_node_name(s, name);
}

/* Open a node from (already checked) BlockdevOptions: children first, as
 * QEMU names them before their parent. */
json_object *blockdev_open(sim *s, json_object *opts, const char *qualifier,
                           sim_node **out, bool top)
{
    const char *driver = json_str(opts, "driver");
    const char *name = json_str(opts, "node-name");
    json_object *err = NULL;
    sim_node *child = NULL, *n = NULL;
    (void)qualifier;

    if (top && !name) {
        return qmp_error("GenericError", "'node-name' must be specified for the root node");
    }
    if (!strcmp(driver, "file")) {
        const char *path = json_str(opts, "filename");
        sim_file *f = fs_lookup(s, path);
        if (!f) {
            return qmp_error("GenericError", "Could not open '%s': No such file or directory", path);
        }
        if (name && (err = check_node_name(s, name))) {
            return err;
        }
        n = node_new(s, DRV_FILE, name);
        n->f = f;
    } else if (!strcmp(driver, "null-co")) {
        /* null-co: a size (default 1 GiB) and nothing behind it */
        json_object *sz = json_member(opts, "size");
        if (sz && json_object_get_int64(sz) < 0) {
            return qmp_error("GenericError", "Parameter 'size' expects a non-negative number "
                             "below 2^64");
        }
        if (name && (err = check_node_name(s, name))) {
            return err;
        }
        n = node_new(s, DRV_NULL, name);
        n->raw_has_size = true;
        n->raw_size = sz ? (uint64_t)json_object_get_int64(sz) : 1ull << 30;
    } else if (!strcmp(driver, "qcow2") || !strcmp(driver, "blkdebug") || !strcmp(driver, "raw")) {
        bool is_bd = !strcmp(driver, "blkdebug");
        if ((err = open_child_of(s, json_member(opts, is_bd ? "image" : "file"), &child, name, driver))) {
            return err;
        }
        if (!strcmp(driver, "qcow2")) {
            sim_node *fn = child;
            while (fn && fn->drv != DRV_FILE) {
                fn = fn->file;
            }
            if (!fn || !fn->f->qcow2) {
                node_unref(s, child);
                return qmp_error("GenericError", "Image is not in qcow2 format");
            }
        }
        if (name && (err = check_node_name(s, name))) {
            node_unref(s, child);
            return err;
        }
        n = node_new(s, is_bd ? DRV_BLKDEBUG : !strcmp(driver, "raw") ? DRV_RAW : DRV_QCOW2, name);
        n->file = child;
        if (n->drv == DRV_QCOW2) {
            sim_node *fn = child;
            while (fn->drv != DRV_FILE) {
                fn = fn->file;
            }
            n->q = fn->f->qcow2;
            json_object *backing = NULL;
            bool has_backing = json_object_object_get_ex(opts, "backing", &backing);
            if (backing) {
                err = open_child(s, backing, &n->backing);
                if (err) {
                    json_object *e = err;
                    err = qmp_error("GenericError", "Could not open backing file: %s", qmp_error_desc(e));
                    json_object_put(e);
                }
            } else if (!has_backing && n->q->backing) {
                err = open_backing_file(s, n);
            }
            if (err) {
                n->monitor_owned = false;
                n->parents = 1;
                node_unref(s, n);
                return err;
            }
            q2_load_bitmaps(n);
        } else if (is_bd) {
            blkdebug_parse_rules(n, opts);
            json_object *take = json_member(opts, "take-child-perms");
            for (size_t i = 0; take && i < json_object_array_length(take); i++) {
                const char *perm = json_object_get_string(json_object_array_get_idx(take, i));
                n->bd_take_write = n->bd_take_write || (perm && !strcmp(perm, "write"));
            }
        } else {
            /* raw_read_options / raw_apply_options, in QEMU's order */
            int64_t off = json_member(opts, "offset") ? json_object_get_int64(json_member(opts, "offset")) : 0;
            int64_t sz = json_member(opts, "size") ? json_object_get_int64(json_member(opts, "size")) : 0;
            uint64_t real = node_size(child);
            if (off < 0 || sz < 0) {
                err = qmp_error("GenericError", "Parameter '%s' expects a non-negative number "
                                "below 2^64", off < 0 ? "offset" : "size");
            } else if ((uint64_t)off > real) {
                err = qmp_error("GenericError", "Offset (%llu) cannot be greater than size of "
                                "the containing file (%llu)", (unsigned long long)off,
                                (unsigned long long)real);
            } else if (json_member(opts, "size") && real - (uint64_t)off < (uint64_t)sz) {
                err = qmp_error("GenericError", "The sum of offset (%llu) and size (%llu) has to "
                                "be smaller or equal to the  actual size of the containing file "
                                "(%llu)", (unsigned long long)off, (unsigned long long)sz,
                                (unsigned long long)real);
            } else if (sz % 512) {
                err = qmp_error("GenericError", "Specified size is not multiple of 512");
            }
            if (err) {
                n->monitor_owned = false;
                n->parents = 1;
                node_unref(s, n);
                return err;
            }
            n->raw_offset = (uint64_t)off;
            n->raw_has_size = json_member(opts, "size") != NULL;
            n->raw_size = n->raw_has_size ? (uint64_t)json_object_get_int64(json_member(opts, "size")) : 0;
        }
    } else if (!strcmp(driver, "copy-before-write")) {
        err = cbw_open(s, opts, name, &n);
    } else if (!strcmp(driver, "snapshot-access")) {
        err = snapshot_access_open(s, opts, name, &n);
    } else if (!strcmp(driver, "throttle")) {
        err = throttle_open(s, opts, name, &n);
    } else {
        return qmp_error("GenericError", "Driver '%s' is not modelled by the simulator", driver);
    }
    if (err) {
        return err;
    }
    const char *discard = json_str(opts, "discard");
    n->discard_unmap = discard ? !strcmp(discard, "unmap") : !top;
    *out = n;
    return NULL;
}

void node_set_read_only(sim_node *n, bool ro)
{
    /* a format node's file child is opened with the same access */
    for (sim_node *m = n; m; m = m->file) {
        m->read_only = ro;
    }
}
