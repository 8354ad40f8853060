/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Block backends (QEMU's BlockBackend: a named device's view of a node, as
 * -drive makes them), and the commands built on them: query-block,
 * transaction, external snapshots, block-commit, blockdev-reopen.
 * See sim/MODEL.md ("Drives, transactions, snapshots and commit").
 */
#ifndef BLOCKSIM_SIM_BLK_H
#define BLOCKSIM_SIM_BLK_H

#include "sim/sim_int.h"

typedef struct sim_blk {
    char *name;                 /* device id, e.g. drive0 */
    sim_node *root;             /* NULL: no medium */
    bool has_dev;               /* attached to a guest device */
    char *qdev;                 /* query-block's qdev: the device's id or QOM path */
    struct sim_blk *next;       /* creation order */
} sim_blk;

/* drive.c */
int drive_launch_args(sim *s, const char *const *argv, size_t argc, char **err);
void blk_free_all(sim *s);
sim_blk *blk_find(sim *s, const char *name);
/* bdrv_get_device_name: the name of the named backend whose root is n
 * (-drive or drive_add), "" when none. */
const char *blk_device_name(sim *s, const sim_node *n);
/* bdrv_lookup_bs(name, name): a device's root node, else the node so named. */
sim_node *blk_lookup_bs(sim *s, const char *name);
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
/* Commands of these files; NULL when cmd is not one of them. */
json_object *blk_dispatch(sim *s, const char *cmd, json_object *args);

/* transaction.c */
json_object *qmp_transaction(sim *s, json_object *args);
/* Prepare, then commit or abort, then clean a list of checked actions
 * [{"type", "data"}] (also how a lone snapshot command runs). */
json_object *run_actions(sim *s, json_object *list, const char *mode);

/* qmp_blk.c */
json_object *snapshot_check_args(const char *type, json_object *data, const char *prefix);

/* reopen.c */
json_object *qmp_blockdev_reopen(sim *s, json_object *args);
/* n and the file children under it become read-only / read-write */
void node_set_read_only(sim_node *n, bool ro);

/* snapshot.c: QEMU's external_snapshot_prepare/_commit/_abort/_clean for
 * blockdev-snapshot-sync (sync true) and blockdev-snapshot. */
typedef struct snap_state {
    sim_node *old_bs, *new_bs;
    bool appended;
    bool referenced;            /* blockdev-snapshot: took a reference to an existing node */
} snap_state;
json_object *snapshot_prepare(sim *s, json_object *data, bool sync, const char *mode_err,
                              snap_state *st);
void snapshot_commit(sim *s, snap_state *st);
void snapshot_abort(sim *s, snap_state *st);
void snapshot_clean(sim *s, snap_state *st);

/* bitmap_sha256.c */
json_object *qmp_bitmap_sha256(sim *s, json_object *args);
/* hbitmap_sha256: SHA-256 of the bitmap's lowest level, lowercase hex. */
char *bitmap_sha256_hex(const cl_bitmap *bm);

/* qemu_img_create.c: qemu-img create / rebase -u (through sim_img_run) */
int img_create_cmd(sim *s, const char *const *argv, size_t argc, char **errout);
int img_rebase_cmd(sim *s, const char *const *argv, size_t argc, char **errout);

/* qemu_img.c: qemu-img ARGV as its own process (bitmap, info) */
int sim_img_run(sim *s, const char *const *argv, size_t argc, char **out, char **errout);

/* resize.c */
/* A copy of a bitmap for a node of `size` bytes: bits below the new end
 * kept, a grown part clean, enabled as it was. */
cl_bitmap *bitmap_resized(const cl_bitmap *old, uint64_t size);
json_object *node_resize(sim *s, sim_node *n, uint64_t size);
/* QMP block_resize */
json_object *qmp_block_resize(sim *s, json_object *args);
/* HMP block_resize's reply text (as a json string) */
json_object *hmp_block_resize(sim *s, const char *args);

/* commit.c */
json_object *qmp_block_commit(sim *s, json_object *args);
/* block-job-complete of a commit job; NULL when id names none. */
json_object *commit_complete(sim *s, const char *id);
void commit_free_all(sim *s);

#endif
