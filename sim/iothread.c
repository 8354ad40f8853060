/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * IOThreads of the simulated VM: object-add / object-del of qom-type
 * iothread and x-blockdev-set-iothread. The simulator has one thread of
 * control, so an iothread changes nothing it can observe; these commands
 * keep QEMU 7.2's checks and replies (iotest 223 moves its node to one).
 */
#include <string.h>

#include "sim/nbd.h"

static bool iothread_exists(sim *s, const char *id)
{
    for (size_t i = 0; s->iothreads && i < json_object_array_length(s->iothreads); i++) {
        if (!strcmp(json_object_get_string(json_object_array_get_idx(s->iothreads, i)), id)) {
            return true;
        }
    }
    return false;
}

static json_object *object_add(sim *s, json_object *args)
{
    const char *type = json_str(args, "qom-type"), *id = json_str(args, "id");
    if (!type) {
        return qmp_error("GenericError", "Parameter 'qom-type' is missing");
    }
    if (!id) {
        return qmp_error("GenericError", "Parameter 'id' is missing");
    }
    if (strcmp(type, "iothread")) {
        return qmp_error("GenericError", "the simulator models objects of qom-type iothread "
                         "only, not '%s'", type);
    }
    if (!id_wellformed(id)) {
        return qmp_error("GenericError", "Parameter 'id' expects an identifier");
    }
    if (iothread_exists(s, id)) {
        return qmp_error("GenericError", "attempt to add duplicate property '%s' to object "
                         "(type 'container')", id);
    }
    if (!s->iothreads) {
        s->iothreads = json_object_new_array();
    }
    json_object_array_add(s->iothreads, json_object_new_string(id));
    return qmp_ok();
}

static json_object *set_iothread(sim *s, json_object *args)
{
    const char *name = json_str(args, "node-name");
    json_object *it = NULL, *force = NULL;
    if (!name) {
        return qmp_error("GenericError", "Parameter 'node-name' is missing");
    }
    if (!json_object_object_get_ex(args, "iothread", &it)) {
        return qmp_error("GenericError", "Parameter 'iothread' is missing");
    }
    sim_node *n = node_find(s, name);
    if (!n || n->auto_named) {
        return qmp_error("GenericError", "Failed to find node with node-name='%s'", name);
    }
    json_object_object_get_ex(args, "force", &force);
    /* an export's BlockBackend sits on the node */
    if (!(force && json_object_get_boolean(force)) && nbd_node_exported(s, n)) {
        return qmp_error("GenericError", "Node %s is associated with a BlockBackend and could "
                         "be in use (use force=true to override this check)", name);
    }
    if (it && json_object_is_type(it, json_type_string) &&
        !iothread_exists(s, json_object_get_string(it))) {
        return qmp_error("GenericError", "Cannot find iothread %s", json_object_get_string(it));
    }
    return qmp_ok();
}

json_object *iothread_dispatch(sim *s, const char *cmd, json_object *args)
{
    if (args && !json_object_is_type(args, json_type_object)) {
        return NULL;
    }
    if (!strcmp(cmd, "object-add")) {
        return object_add(s, args);
    }
    if (!strcmp(cmd, "x-blockdev-set-iothread")) {
        return set_iothread(s, args);
    }
    return NULL;
}

void iothread_free_all(sim *s)
{
    json_object_put(s->iothreads);
    s->iothreads = NULL;
}
