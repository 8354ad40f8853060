/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Guest devices as the fleecing tests use them: a disk device whose drive=
 * names a node (-blockdev ... -device scsi-hd,id=sda,drive=NODE) gets an
 * anonymous BlockBackend on it (sim_blk, drive.c's model); HMP qemu-io -d
 * finds the device by qdev id or QOM path; qom-set of its "drive" moves the
 * BlockBackend to another node (iotest image-fleecing puts a
 * copy-before-write filter under the guest this way), and a backup job's
 * filter takes the backends of its source (bdrv_cbw_append ->
 * bdrv_replace_node).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim/blk.h"

/* A BlockBackend without a name on node `name`, for a device; NULL when
 * there is no such node. */
sim_blk *blk_new_anonymous(sim *s, const char *name)
{
    sim_node *n = name ? node_find(s, name) : NULL;
    if (!n) {
        return NULL;
    }
    sim_blk *b = calloc(1, sizeof *b);
    b->name = xstrdup("");
    b->root = n;
    n->parents++;
    sim_blk **pp = &s->blks;
    while (*pp) {
        pp = &(*pp)->next;
    }
    *pp = b;
    return b;
}

/* A device by qdev id, or by its QOM path /machine/peripheral/ID. */
sim_blk *device_find(sim *s, const char *path)
{
    static const char prefix[] = "/machine/peripheral/";
    const char *id = strncmp(path, prefix, sizeof prefix - 1) ? path : path + sizeof prefix - 1;
    for (sim_blk *b = s->blks; b; b = b->next) {
        if (b->has_dev && b->qdev && (!strcmp(b->qdev, id) || !strcmp(b->qdev, path))) {
            return b;
        }
    }
    return NULL;
}

sim_node *device_root(sim_blk *d)
{
    return d->root;
}

static void set_root(sim_blk *b, sim_node *n)
{
    if (b->root) {
        b->root->parents--;
    }
    b->root = n;
    if (n) {
        n->parents++;
    }
}

bool device_uses(sim *s, const sim_node *n)
{
    for (sim_blk *b = s->blks; b; b = b->next) {
        if (b->root == n) {
            return true;
        }
    }
    return false;
}

/* bdrv_replace_node for the BlockBackends (nodes' own links stay). */
void device_retarget(sim *s, sim_node *from, sim_node *to)
{
    for (sim_blk *b = s->blks; b; b = b->next) {
        if (b->root == from) {
            set_root(b, to);
        }
    }
}

/* qom-set PATH drive NODE (qmp_qom_set, set_drive_helper); the only
 * property modelled is a disk's drive. */
static json_object *qom_set(sim *s, json_object *args)
{
    const char *path = json_str(args, "path"), *prop = json_str(args, "property");
    json_object *value = NULL;
    if (!path || !prop || !json_object_object_get_ex(args, "value", &value)) {
        return qmp_error("GenericError", "Parameter '%s' is missing",
                         !path ? "path" : !prop ? "property" : "value");
    }
    sim_blk *d = device_find(s, path);
    if (!d) {
        return qmp_error("DeviceNotFound", "Device '%s' not found", path);
    }
    if (strcmp(prop, "drive")) {
        return qmp_error("GenericError", "Property 'scsi-hd.%s' not found", prop);
    }
    const char *name = json_object_get_string(value);
    sim_node *n = json_object_is_type(value, json_type_string) ? blk_lookup_bs(s, name) : NULL;
    if (!n) {
        return qmp_error("GenericError", "Cannot find device='' nor node-name='%s'",
                         name ? name : "");
    }
    /* QEMU 7.2 asserts (bdrv_replace_child_noperm) when the node is the
     * device's own; we leave the device alone */
    set_root(d, n);
    return qmp_ok();
}

/* The commands devices answer or take part in; NULL for the others. */
json_object *device_dispatch(sim *s, const char *cmd, json_object *args)
{
    if (!strcmp(cmd, "qom-set")) {
        return qom_set(s, args);
    }
    if (!strcmp(cmd, "blockdev-del")) {
        /* a BlockBackend holds its node (bdrv_has_blk) */
        const char *name = json_str(args, "node-name");
        sim_node *n = name ? node_find(s, name) : NULL;
        if (n && device_uses(s, n)) {
            return qmp_error("GenericError", "Node %s is in use", name);
        }
    }
    return NULL;
}
