/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QMP command dispatch (one table row per command; sim/qapi.c checks the
 * arguments first), and the node commands blockdev-add, blockdev-del and
 * query-named-block-nodes. Bitmap commands are sim/qmp_bitmap.c's, HMP
 * sim/hmp.c's.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/qmp.h"
#include "sim/qapi.h"
#include "sim/qcow2_bitmap.h"
#include "sim/error.h"
#include "sim/util.h"

/* ---- blockdev-add / blockdev-del --------------------------------------------- */

static json_object *qmp_blockdev_add(sim *s, json_object *args)
{
    sim_node *n;
    json_object *err = qapi_check_blockdev_options(args, "");
    if (err) {
        return err;
    }
    if ((err = blockdev_open(s, args, NULL, &n, true))) {
        return err;
    }
    n->monitor_owned = true;
    /* read-only as asked, or as the driver made it (an NBD client of a
     * read-only export with auto-read-only) */
    n->read_only = n->read_only ||
                   (json_member(args, "read-only") && json_object_get_boolean(json_member(args, "read-only")));
    return qmp_ok();
}

static bool node_has_parent(sim *s, sim_node *n)
{
    for (sim_node *m = s->nodes; m; m = m->next) {
        if (m->file == n || m->backing == n) {
            return true;
        }
    }
    return false;
}

static json_object *qmp_blockdev_del(sim *s, json_object *args)
{
    const char *name = json_str(args, "node-name");
    sim_node *n = node_find(s, name);
    if (!n) {
        return qmp_error("GenericError", "Failed to find node with node-name='%s'", name);
    }
    if (commit_holds_blk(s, n)) {
        return qmp_error("GenericError", "Node %s is in use", name);    /* bdrv_has_blk */
    }
    for (sim_node *p = s->nodes; p; p = p->next) {
        if (p->backing == n) {
            /* bdrv_set_backing_hd's blocker (BLOCK_OP_TYPE_DRIVE_DEL) */
            return qmp_error("GenericError", "Node '%s' is busy: node is used as backing hd of '%s'",
                             name, p->name);
        }
    }
    if (n->busy_job || pve_node_busy(s, n)) {
        return qmp_error("GenericError", "Node '%s' is busy: block device is in use by block job: %s",
                         name, n->busy_job ? job_type_name(n->busy_job) : "backup");
    }
    if (!n->monitor_owned) {
        return qmp_error("GenericError", "Node %s is not owned by the monitor", name);
    }
    if (node_has_parent(s, n)) {
        return qmp_error("GenericError", "Block device %s is in use", name);
    }
    /* QEMU's bdrv_close flushes the node before closing it, and with it the
     * children it may write: deleting a copy-before-write filter flushes its
     * source, which reaches a blkdebug below as flush_to_disk when the source
     * was written since its last flush (difftest finding,
     * cases/blockdev-del-flush.case) */
    node_flush(s, n);
    n->monitor_owned = false;
    n->parents = 1;
    node_unref(s, n);
    return qmp_ok();
}

static json_object *qmp_query_named_block_nodes(sim *s, json_object *args)
{
    /* flat: each node's own image only (bdrv_block_device_info stops
     * before the backing chain) */
    json_object *fv;
    bool flat = args && json_object_object_get_ex(args, "flat", &fv) &&
                json_object_get_boolean(fv);
    json_object *list = json_object_new_array();
    size_t count = 0;
    for (sim_node *n = s->nodes; n; n = n->next) {
        count++;
    }
    /* QEMU prepends while walking its node list: newest node first */
    for (size_t i = count; i > 0; i--) {
        sim_node *n = s->nodes;
        for (size_t k = 1; k < i; k++) {
            n = n->next;
        }
        json_object_array_add(list, node_info_flat(s, n, flat));
    }
    return qmp_return(list);
}

json_object *sim_dirty_bitmaps_by_node(sim *s)
{
    job_speed_qmp_elapsed(s);   /* as sim_dispatch does for every command */
    size_t count = 0;
    for (sim_node *n = s->nodes; n; n = n->next) {
        count++;
    }
    sim_node **newest_first = xcalloc(count ? count : 1, sizeof *newest_first);
    size_t i = count;
    for (sim_node *n = s->nodes; n; n = n->next) {
        newest_first[--i] = n;
    }
    json_object *map = json_object_new_object();
    for (i = 0; i < count; i++) {
        json_object *list = node_dirty_bitmaps(newest_first[i]);
        if (list) {
            json_object_object_add(map, newest_first[i]->name, list);
        }
    }
    free(newest_first);
    return map;
}

/* ---- dispatch -------------------------------------------------------------- */

static json_object *run_blockdev_create(sim *s, const char *cmd, json_object *args)
{
    json_object *err = qapi_check_create_options(json_member(args, "options"), "options");
    return err ? err : qmp_blockdev_create(s, args);
}

static json_object *run_job_command(sim *s, const char *cmd, json_object *args)
{
    return qmp_job_command(s, cmd, args);
}

/* Adapters for handlers that take fewer arguments than a table row passes. */
#define RUN_ARGS(fn) \
    static json_object *run_##fn(sim *s, const char *cmd, json_object *args) \
    { \
        return fn(s, args); \
    }
#define RUN_NOARGS(fn) \
    static json_object *run_##fn(sim *s, const char *cmd, json_object *args) \
    { \
        return fn(s); \
    }
RUN_ARGS(qmp_blockdev_add)
RUN_ARGS(qmp_blockdev_del)
RUN_ARGS(qmp_blockdev_backup)
RUN_ARGS(qmp_drive_backup)
RUN_ARGS(qmp_drive_mirror)
RUN_ARGS(qmp_blockdev_mirror)
RUN_ARGS(qmp_block_resize)
RUN_NOARGS(qmp_stop)
RUN_NOARGS(qmp_cont)
RUN_ARGS(qmp_bitmap_add)
RUN_ARGS(qmp_bitmap_merge)
RUN_ARGS(qmp_backup)
RUN_ARGS(qmp_hmp)
RUN_ARGS(qmp_query_named_block_nodes)
RUN_NOARGS(qmp_query_block)
RUN_NOARGS(qmp_query_block_jobs)
RUN_NOARGS(qmp_query_jobs)
RUN_NOARGS(qmp_query_backup)
RUN_NOARGS(qmp_backup_cancel)

/* One row per command: its name and what runs it, after sim/qapi.c has
 * checked its arguments. NULL: only answered with an error (see below). */
typedef struct command {
    const char *name;
    json_object *(*run)(sim *s, const char *cmd, json_object *args);
} command;

static const command commands[] = {
    { "qmp_capabilities", NULL },
    { "query-named-block-nodes", run_qmp_query_named_block_nodes },
    { "query-block", run_qmp_query_block },
    { "query-jobs", run_qmp_query_jobs },
    { "query-block-jobs", run_qmp_query_block_jobs },
    { "blockdev-add", run_qmp_blockdev_add },
    { "blockdev-del", run_qmp_blockdev_del },
    { "blockdev-create", run_blockdev_create },
    { "blockdev-backup", run_qmp_blockdev_backup },
    { "drive-backup", run_qmp_drive_backup },
    { "drive-mirror", run_qmp_drive_mirror },
    { "blockdev-mirror", run_qmp_blockdev_mirror },    /* sim/mirror.c */
    { "block_resize", run_qmp_block_resize },      /* sim/resize.c */
    { "stop", run_qmp_stop },                      /* sim/runstate.c */
    { "cont", run_qmp_cont },
    { "block-dirty-bitmap-add", run_qmp_bitmap_add },
    { "block-dirty-bitmap-remove", qmp_bitmap_simple },
    { "block-dirty-bitmap-clear", qmp_bitmap_simple },
    { "block-dirty-bitmap-enable", qmp_bitmap_simple },
    { "block-dirty-bitmap-disable", qmp_bitmap_simple },
    { "block-dirty-bitmap-merge", run_qmp_bitmap_merge },
    { "job-finalize", run_job_command },
    { "job-cancel", run_job_command },
    { "job-dismiss", run_job_command },
    { "job-complete", run_job_command },
    { "job-pause", run_job_command },
    { "job-resume", run_job_command },
    { "block-job-cancel", run_job_command },
    { "block-job-pause", run_job_command },
    { "block-job-resume", run_job_command },
    { "block-job-complete", run_job_command },
    { "block-job-set-speed", run_job_command },
    { "block-job-finalize", run_job_command },
    { "block-job-dismiss", run_job_command },
    { "human-monitor-command", run_qmp_hmp },
    { "backup", run_qmp_backup },
    { "query-backup", run_qmp_query_backup },
    { "backup-cancel", run_qmp_backup_cancel },
    { NULL, NULL },
};

json_object *sim_dispatch(sim *s, const char *cmd, json_object *args)
{
    job_speed_qmp_elapsed(s);   /* rate-limited jobs go on while QMP talks */
    const command *c = commands;
    while (c->name && strcmp(c->name, cmd)) {
        c++;
    }
    if (!c->name) {
        json_object *r = blk_dispatch(s, cmd, args);   /* qmp_blk.c's commands */
        if (r) {
            return r;
        }
        return qmp_error("CommandNotFound", "The command %s has not been found", cmd);
    }
    if (!c->run) {
        return qmp_error("CommandNotFound",
                         "Capabilities negotiation is already complete, command ignored");
    }
    if (args && !json_object_is_type(args, json_type_object)) {
        return qmp_error("GenericError", "QMP input member 'arguments' must be an object");
    }
    if (!qapi_command_known(cmd)) {
        /* a row here without one in sim/qapi.c would skip the checks */
        return qmp_error("GenericError", "the simulator has no argument schema for %s", cmd);
    }
    json_object *err = qapi_check_command(cmd, args, "");
    return err ? err : c->run(s, cmd, args);
}
