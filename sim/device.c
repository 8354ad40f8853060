/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Guest devices and the VM's command line: a disk device (-device scsi-hd,
 * virtio-blk, ...) is a BlockBackend on a root node that the guest writes
 * through; -blockdev is blockdev-add at start-up; qom-set of a device's
 * "drive" moves its BlockBackend to another node (iotest image-fleecing
 * puts a copy-before-write filter under the guest this way), and a backup
 * job's filter takes the devices of its source (bdrv_cbw_append ->
 * bdrv_replace_node).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim_int.h"

struct sim_device {
    char *id;                   /* qdev id; NULL without one */
    char *type;                 /* "scsi-hd", ... */
    sim_node *root;             /* its BlockBackend's node */
    struct sim_device *next;    /* creation order */
};

/* Device types that carry a drive; controllers (virtio-scsi, ...) need no
 * model here. */
static bool is_disk(const char *type)
{
    static const char *const disks[] = {
        "scsi-hd", "scsi-cd", "virtio-blk", "virtio-blk-pci", "ide-hd", "ide-cd", NULL,
    };
    for (const char *const *d = disks; *d; d++) {
        if (!strcmp(*d, type)) {
            return true;
        }
    }
    return false;
}

static void set_root(sim_device *d, sim_node *n)
{
    if (d->root) {
        d->root->parents--;
    }
    d->root = n;
    if (n) {
        n->parents++;
    }
}

/* -device TYPE,id=ID,drive=NODE[,...] */
int device_add_arg(sim *s, const char *spec, char **err)
{
    char *copy = xstrdup(spec), *save = NULL;
    char *type = strtok_r(copy, ",", &save);
    const char *id = NULL, *drive = NULL;
    for (char *opt = strtok_r(NULL, ",", &save); opt; opt = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(opt, '=');
        if (!eq) {
            continue;       /* a bare flag: nothing we model */
        }
        *eq = '\0';
        if (!strcmp(opt, "id")) {
            id = eq + 1;
        } else if (!strcmp(opt, "drive")) {
            drive = eq + 1;
        }
    }
    int ret = 0;
    if (!type || !*type) {
        *err = xasprintf("-device %s: no device type", spec);
        ret = -EINVAL;
    } else if (is_disk(type) || drive) {
        sim_node *n = drive ? node_find(s, drive) : NULL;
        if (!n) {
            *err = xasprintf("-device %s: Property '%s.drive' can't find value '%s'", spec, type,
                             drive ? drive : "");
            ret = -EINVAL;
        } else {
            sim_device *d = calloc(1, sizeof *d);
            d->id = id ? xstrdup(id) : NULL;
            d->type = xstrdup(type);
            set_root(d, n);
            sim_device **pp = &s->devices;
            while (*pp) {
                pp = &(*pp)->next;
            }
            *pp = d;
        }
    }
    free(copy);
    return ret;
}

void devices_free(sim *s)
{
    while (s->devices) {
        sim_device *d = s->devices;
        s->devices = d->next;
        free(d->id);
        free(d->type);
        free(d);
    }
}

/* A qdev id, or the QOM path /machine/peripheral/ID. */
sim_device *device_find(sim *s, const char *path)
{
    static const char prefix[] = "/machine/peripheral/";
    if (!strncmp(path, prefix, sizeof prefix - 1)) {
        path += sizeof prefix - 1;
    }
    for (sim_device *d = s->devices; d; d = d->next) {
        if (d->id && !strcmp(d->id, path)) {
            return d;
        }
    }
    return NULL;
}

sim_node *device_root(sim_device *d)
{
    return d->root;
}

bool device_uses(sim *s, const sim_node *n)
{
    for (sim_device *d = s->devices; d; d = d->next) {
        if (d->root == n) {
            return true;
        }
    }
    return false;
}

/* bdrv_replace_node for the devices' BlockBackends. */
void device_retarget(sim *s, sim_node *from, sim_node *to)
{
    for (sim_device *d = s->devices; d; d = d->next) {
        if (d->root == from) {
            set_root(d, to);
        }
    }
}

static const char *jstr(json_object *o, const char *key)
{
    json_object *v;
    if (o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)) {
        return json_object_get_string(v);
    }
    return NULL;
}

/* qom-set PATH drive NODE (qmp_qom_set, set_drive_helper); the only
 * property modelled is a disk's drive. */
static json_object *qom_set(sim *s, json_object *args)
{
    const char *path = jstr(args, "path"), *prop = jstr(args, "property");
    json_object *value = NULL;
    if (!path || !prop || !json_object_object_get_ex(args, "value", &value)) {
        return qmp_error("GenericError", "Parameter '%s' is missing",
                         !path ? "path" : !prop ? "property" : "value");
    }
    sim_device *d = device_find(s, path);
    if (!d) {
        return qmp_error("DeviceNotFound", "Device '%s' not found", path);
    }
    if (strcmp(prop, "drive")) {
        return qmp_error("GenericError", "Property '%s.%s' not found", d->type, prop);
    }
    const char *name = json_object_get_string(value);
    sim_node *n = json_object_is_type(value, json_type_string) ? node_find(s, name) : NULL;
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
        /* a device's BlockBackend holds its node (bdrv_has_blk) */
        const char *name = jstr(args, "node-name");
        sim_node *n = name ? node_find(s, name) : NULL;
        if (n && device_uses(s, n)) {
            return qmp_error("GenericError", "Node %s is in use", name);
        }
    }
    return NULL;
}
