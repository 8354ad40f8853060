/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * blockdev-reopen (QEMU 7.2 blockdev.c qmp_blockdev_reopen over
 * bdrv_reopen_multiple): each element names an existing node by node-name
 * and gives its options anew; options left out return to their defaults
 * (read-only: false). The simulator models the read-only switch, which is
 * what moves persistent bitmaps: qcow2 stores them when a node goes
 * read-only (qcow2_reopen_bitmaps_ro) and makes them writable again when it
 * goes read-write (qcow2_reopen_bitmaps_rw). Children must stay what they
 * are.
 */
#include <stdlib.h>
#include <string.h>

#include "sim/qmp.h"

/* Does the child option ref describe the node's current child c? */
static bool same_child(sim_node *c, json_object *ref)
{
    if (!c) {
        return false;
    }
    if (json_object_is_type(ref, json_type_string)) {
        return !strcmp(c->name, json_object_get_string(ref));
    }
    const char *drv = json_str(ref, "driver"), *nn = json_str(ref, "node-name");
    if (nn && strcmp(nn, c->name)) {
        return false;
    }
    if (drv && strcmp(drv, node_drv_name(c))) {
        return false;
    }
    const char *fn = json_str(ref, "filename");
    return !fn || !strcmp(fn, node_filename(c));
}

json_object *qmp_blockdev_reopen(sim *s, json_object *args)
{
    json_object *list = json_object_object_get(args, "options");
    size_t n = json_object_array_length(list);
    sim_node **nodes = calloc(n ? n : 1, sizeof *nodes);
    bool *ro = calloc(n ? n : 1, sizeof *ro);
    json_object *err = NULL;
    /* bdrv_reopen_queue + prepare: every element is checked first */
    for (size_t i = 0; i < n && !err; i++) {
        json_object *o = json_object_array_get_idx(list, i), *v;
        const char *name = json_str(o, "node-name");
        if (!name) {
            err = qmp_error("GenericError", "node-name not specified");
            break;
        }
        nodes[i] = node_find(s, name);
        if (!nodes[i]) {
            err = qmp_error("GenericError", "Failed to find node with node-name='%s'", name);
            break;
        }
        if (strcmp(json_str(o, "driver"), node_drv_name(nodes[i]))) {
            err = qmp_error("GenericError", "Cannot change the option 'driver'");
            break;
        }
        if (json_object_object_get_ex(o, "file", &v) && !same_child(nodes[i]->file, v)) {
            err = qmp_error("GenericError",
                            "the simulator cannot change the file child of '%s' on reopen", name);
            break;
        }
        ro[i] = json_object_object_get_ex(o, "read-only", &v) && json_object_get_boolean(v);
        if (!ro[i] && nodes[i]->busy_job) {
            continue;
        }
    }
    /* bdrv_reopen_multiple flushes every node of the queue first (its
     * children too, through bdrv_flush) */
    for (size_t i = 0; i < n && !err; i++) {
        int r = node_flush(s, nodes[i]);
        if (r < 0) {
            err = qmp_error("GenericError", "Error flushing drive: %s", strerror(-r));
        }
    }
    if (!err) {
        for (size_t i = 0; i < n; i++) {
            if (ro[i] && !nodes[i]->read_only) {
                persist_store(nodes[i]);
            }
            node_set_read_only(nodes[i], ro[i]);
        }
    }
    free(nodes);
    free(ro);
    return err ? err : qmp_ok();
}
