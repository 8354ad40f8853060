/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Layer 3 (block backends): QEMU's BlockBackend, a named device's view of
 * a node as -drive and drive_add make them (drive.c, drive_add.c), and the
 * guest devices attached to them (device.c).
 * See sim/MODEL.md ("Drives, transactions, snapshots and commit").
 */
#ifndef BLOCKSIM_SIM_BLK_H
#define BLOCKSIM_SIM_BLK_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>

#include "sim/node.h"

typedef struct sim_blk {
    char *name;                 /* device id, e.g. drive0 */
    sim_node *root;             /* NULL: no medium */
    bool has_dev;               /* attached to a guest device */
    bool cdrom;                 /* an IDE CD-ROM (ide-cd): removable, has a tray */
    char *qdev;                 /* query-block's qdev: the device's id or QOM path */
    struct sim_blk *next;       /* creation order */
} sim_blk;

/* ---- drive.c ------------------------------------------------------------- */

int drive_launch_args(sim *s, const char *const *argv, size_t argc, char **err);
void blk_free_all(sim *s);
sim_blk *blk_find(sim *s, const char *name);
/* bdrv_get_device_name: the name of the named backend whose root is n
 * (-drive or drive_add), "" when none. */
const char *blk_device_name(sim *s, const sim_node *n);
/* bdrv_lookup_bs(name, name): a device's root node, else the node so named. */
sim_node *blk_lookup_bs(sim *s, const char *name);
/* The same with bdrv_lookup_bs's error reply: a backend without a medium
 * (an empty CD-ROM drive), or no such device nor node. */
json_object *blk_lookup_bs_err(sim *s, const char *name, sim_node **out);
/* HMP drive_add with if=none (drive_new); *err is QEMU's bare message */
int drive_add_if_none(sim *s, const char *optstr, char **err);
/* bdrv_get_device_or_node_name */
const char *device_or_node_name(sim *s, const sim_node *n);
/* Backends whose root is `from` now show `to` (a filter put above a node
 * takes its place under its backends, and gives it back). */
void blk_retarget(sim *s, sim_node *from, sim_node *to);
/* Every parent of old (backends, nodes' file/backing links) but `except`
 * now points at new (QEMU's bdrv_replace_node). */
void blk_replace_node(sim *s, sim_node *old, sim_node *new_node, sim_node *except);
json_object *qmp_query_block(sim *s);

/* ---- drive_add.c: HMP drive_add ARGS (if=none); the reply text ----------- */

char *hmp_drive_add(sim *s, const char *args);

/* ---- device.c: guest devices, -device and qom-set ------------------------ */

sim_blk *blk_new_anonymous(sim *s, const char *name);
sim_blk *device_find(sim *s, const char *path);
sim_node *device_root(sim_blk *d);
bool device_uses(sim *s, const sim_node *n);
void device_retarget(sim *s, sim_node *from, sim_node *to);
json_object *device_dispatch(sim *s, const char *cmd, json_object *args);

#endif /* BLOCKSIM_SIM_BLK_H */
