/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Layer 5 (commands): QMP dispatch (qmp.c) and the commands that sit on
 * top of the model: transactions, external snapshots, blockdev-reopen,
 * block_resize, bitmap commands, HMP qemu-io and the processes beside the
 * VM (qemu-io, qemu-img). Argument checking is sim/qapi.h's; the model
 * below knows nothing of this layer. NBD is sim/nbd.h, in this layer too.
 */
#ifndef BLOCKSIM_SIM_QMP_H
#define BLOCKSIM_SIM_QMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <json-c/json.h>

#include "sim/job.h"

/* ---- qmp.c: dispatch ----------------------------------------------------- */

json_object *sim_dispatch(sim *s, const char *cmd, json_object *args);
/* What query-named-block-nodes says of dirty bitmaps, and only that:
 * {node-name: its "dirty-bitmaps"} for the nodes that have some, newest node
 * first. Costs the machine what that query would (the time a QMP round trip
 * gives rate-limited jobs), without building the rest of each node's entry. */
json_object *sim_dirty_bitmaps_by_node(sim *s);

/* ---- transaction.c ------------------------------------------------------- */

json_object *qmp_transaction(sim *s, json_object *args);
/* Prepare, then commit or abort, then clean a list of checked actions
 * [{"type", "data"}] (also how a lone snapshot command runs). */
json_object *run_actions(sim *s, json_object *list, const char *mode);

/* ---- qmp_blk.c: snapshot, commit, reopen and sha256 commands ------------- */

/* Commands of these files; NULL when cmd is not one of them. */
json_object *blk_dispatch(sim *s, const char *cmd, json_object *args);
json_object *snapshot_check_args(const char *type, json_object *data, const char *prefix);

/* ---- reopen.c ------------------------------------------------------------ */

json_object *qmp_blockdev_reopen(sim *s, json_object *args);

/* ---- snapshot.c: QEMU's external_snapshot_prepare/_commit/_abort/_clean for
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

/* ---- qmp_bitmap.c: the dirty-bitmap commands ----------------------------- */

json_object *qmp_bitmap_add(sim *s, json_object *args);
json_object *qmp_bitmap_merge(sim *s, json_object *args);
/* block-dirty-bitmap-remove, -clear, -enable, -disable */
json_object *qmp_bitmap_simple(sim *s, const char *cmd, json_object *args);

/* block_dirty_bitmap_lookup: "Node 'X' not found", "Dirty bitmap 'X' not found" */
json_object *bitmap_lookup_qmp(sim *s, const char *node, const char *name, sim_node **pn,
                               sim_bitmap **pb);
json_object *qmp_bitmap_sha256(sim *s, json_object *args);
/* hbitmap_sha256: SHA-256 of the bitmap's lowest level, lowercase hex. */
char *bitmap_sha256_hex(const cl_bitmap *bm);

/* ---- hmp.c: human-monitor-command ----------------------------------------- */

json_object *qmp_hmp(sim *s, json_object *args);

/* ---- hmp.c, schedule_io.c: qemu-io through the explorer's schedule -------- */

/* One qemu-io command on node n, the reply text (malloc'd) */
char *sim_qemu_io_line(sim *s, sim_node *n, const char *cmdline, bool device);
/* An HMP qemu-io command line, through the schedule (a write may have been
 * moved); sched_tick runs a moved write once its point has come. */
char *sched_qemu_io(sim *s, sim_node *n, const char *cmd, bool device);
void sched_tick(sim *s);

/* ---- resize.c ------------------------------------------------------------ */

json_object *node_resize(sim *s, sim_node *n, uint64_t size);
/* QMP block_resize */
json_object *qmp_block_resize(sim *s, json_object *args);
/* HMP block_resize's reply text (as a json string) */
json_object *hmp_block_resize(sim *s, const char *args);

/* ---- runstate.c: QMP stop / cont ------------------------------------------ */

json_object *qmp_stop(sim *s);
json_object *qmp_cont(sim *s);

/* ---- qemu_img_create.c: qemu-img create / rebase -u (through sim_img_run) - */

int img_create_cmd(sim *s, const char *const *argv, size_t argc, char **errout);
int img_rebase_cmd(sim *s, const char *const *argv, size_t argc, char **errout);
/* A qemu-img process (sim/qemu_img_proc.c): its machine over s's files and
 * the images it opened, closed in reverse at its end. */
typedef struct img_proc {
    sim m;
    sim_node *open[2];
    int nopen;
} img_proc;
void img_proc_begin(sim *s, img_proc *p);
void img_proc_end(sim *s, img_proc *p);
/* img_open: NAME (a file, or --image-opts text when is_opts) as a node of
 * p, read-write or read-only, without its backing chain if no_backing;
 * NULL after appending qemu-img's error to *errout. */
sim_node *img_proc_open(sim *s, img_proc *p, const char *name, bool is_opts, const char *fmt,
                        bool writable, bool no_backing, char **errout);
/* The end of a subcommand's option loop (an unmodelled option, the image
 * name, a second name) and the check that an image was named; 0, or 1
 * after qemu-img's error. */
int img_image_arg(const char *cmd, const char *a, const char **path, char **errout);
int img_image_named(const char *path, char **errout);
/* error_report: "qemu-img: TEXT\n" appended to *errout */
void img_report(char **errout, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* error_reportf_err: PREFIX, the QMP error's text, and QEMU's hint */
void img_report_err(char **errout, json_object *reply, const char *prefix);
/* qemu-img bitmap and convert (sim/qemu_img_bitmap.c) */
int img_bitmap_cmd(sim *s, const char *const *argv, size_t argc, char **errout);
int img_convert_cmd(sim *s, const char *const *argv, size_t argc, char **errout);
/* qemu-img commit and map (sim/qemu_img_commit.c) */
int img_commit_cmd(sim *s, const char *const *argv, size_t argc, char **out, char **errout);
int img_map_cmd(sim *s, const char *const *argv, size_t argc, char **out, char **errout);
int img_check_cmd(sim *s, const char *const *argv, size_t argc, char **out, char **errout);
/* qemu-img snapshot -c / -l (sim/qemu_img_snapshot.c) */
int img_snapshot_cmd(sim *s, const char *const *argv, size_t argc, char **out, char **errout);

/* ---- qemu_img.c: qemu-img ARGV as its own process (bitmap, info) --------- */

int sim_img_run(sim *s, const char *const *argv, size_t argc, char **out, char **errout);

/* ---- tools.c: one qemu-io command on node n, its output to out ----------- */

void sim_io_command(sim *s, sim_node *n, bool writable, bool over_nbd, const char *cmdline,
                    FILE *out);
/* qemu-io's cvtstr: a byte count or rate as qemu-io prints it ("1.500 KiB"). */
void sim_cvtstr(double value, char *str, size_t size);

#endif /* BLOCKSIM_SIM_QMP_H */
