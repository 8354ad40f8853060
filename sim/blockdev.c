/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Opening nodes from BlockdevOptions that QAPI has already checked (QEMU's
 * bdrv_open and bdrv_open_child in block.c): the driver named in the
 * options opens the node (its sim_drv_ops open), with the helpers here for
 * children and names.
 */
#include <string.h>

#include "sim/node.h"
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
            if (p->file == c && p->drv == DRV_CBW && cbw_unshares_write(s, p) &&
                !strcmp(parent_drv, "qcow2")) {
                /* a copy-before-write filter with no writer above it needs
                 * nothing of its child: only the new node's needs clash
                 * (measured) */
                return qmp_error("GenericError",
                                 "Permission conflict on node '%s': permissions 'write, resize' are "
                                 "both required by node '%s' (uses node '%s' as 'file' child) and "
                                 "unshared by node '%s' (uses node '%s' as 'file' child).",
                                 c->name, parent_name ? parent_name : "", c->name, p->name, c->name);
            }
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

/* The format drivers' file child (QEMU's bdrv_open_child): a node name or
 * inline options, with the permission check a format parent makes. */
json_object *blockdev_open_file_child(sim *s, json_object *ref, const char *name,
                                      const char *driver, sim_node **child)
{
    return open_child_of(s, ref, child, name, driver);
}

json_object *blockdev_new_node(sim *s, sim_driver drv, const char *name, sim_node *child,
                               sim_node **out)
{
    json_object *err;
    if (name && (err = check_node_name(s, name))) {
        node_unref(s, child);
        return err;
    }
    sim_node *n = node_new(s, drv, name);
    n->file = child;
    *out = n;
    return NULL;
}

void blockdev_drop_new(sim *s, sim_node *n)
{
    n->monitor_owned = false;
    n->parents = 1;
    node_unref(s, n);
}

/* Open a node from (already checked) BlockdevOptions: children first, as
 * QEMU names them before their parent; the driver's open does the rest. */
json_object *blockdev_open(sim *s, json_object *opts, const char *qualifier,
                           sim_node **out, bool top)
{
    const char *driver = json_str(opts, "driver");
    const char *name = json_str(opts, "node-name");
    sim_node *n = NULL;
    (void)qualifier;

    if (top && !name) {
        return qmp_error("GenericError", "'node-name' must be specified for the root node");
    }
    const sim_drv_ops *drv = node_drv_by_name(driver);
    if (!drv || !drv->open) {
        return qmp_error("GenericError", "Driver '%s' is not modelled by the simulator", driver);
    }
    json_object *err = drv->open(s, opts, name, &n);
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
