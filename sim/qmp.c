/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QMP command dispatch (one table row per command; sim/qapi.c checks the
 * arguments first), the node and bitmap commands, and HMP's qemu-io.
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
    n->read_only = json_member(args, "read-only") && json_object_get_boolean(json_member(args, "read-only"));
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
    if (n->busy_job || pve_node_busy(s, n)) {
        return qmp_error("GenericError", "Node '%s' is busy: block device is in use by block job: %s",
                         name, !n->busy_job || n->busy_job->type == JOB_BACKUP ? "backup" : "create");
    }
    if (!n->monitor_owned) {
        return qmp_error("GenericError", "Node %s is not owned by the monitor", name);
    }
    if (node_has_parent(s, n)) {
        return qmp_error("GenericError", "Block device %s is in use", name);
    }
    n->monitor_owned = false;
    n->parents = 1;
    node_unref(s, n);
    return qmp_ok();
}

static json_object *qmp_query_named_block_nodes(sim *s)
{
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
        json_object_array_add(list, node_info(s, n));
    }
    return qmp_return(list);
}

/* ---- dirty bitmaps --------------------------------------------------------- */

static json_object *bitmap_lookup(sim *s, json_object *args, const char *name_key,
                                  sim_node **node, sim_bitmap **bm)
{
    const char *node_name = json_str(args, "node");
    const char *name = json_str(args, name_key);
    *node = blk_lookup_bs(s, node_name);
    if (!*node) {
        return qmp_error("GenericError", "Node '%s' not found", node_name);
    }
    *bm = bitmap_find(*node, name);
    if (!*bm) {
        return qmp_error("GenericError", "Dirty bitmap '%s' not found", name);
    }
    return NULL;
}

static json_object *qmp_bitmap_add(sim *s, json_object *args)
{
    const char *node_name = json_str(args, "node");
    const char *name = json_str(args, "name");
    sim_node *n = blk_lookup_bs(s, node_name);
    if (!n) {
        return qmp_error("GenericError", "Cannot find device='%s' nor node-name='%s'",
                         node_name, node_name);
    }
    if (!*name) {
        return qmp_error("GenericError", "Bitmap name cannot be empty");
    }
    uint64_t gran;
    json_object *g = json_member(args, "granularity");
    if (g) {
        gran = (uint64_t)json_object_get_int64(g);
        if (gran < 512 || (gran & (gran - 1))) {
            return qmp_error("GenericError", "Granularity must be power of 2 and at least 512");
        }
    } else {
        /* QEMU's default: the image's cluster size, clamped to [4K, 64K] */
        uint64_t cs = node_cluster_size(n);
        gran = cs ? cs : BITMAP_DEFAULT_GRAN_MAX;
        if (gran < BITMAP_DEFAULT_GRAN_MIN) {
            gran = BITMAP_DEFAULT_GRAN_MIN;
        }
        if (gran > BITMAP_DEFAULT_GRAN_MAX) {
            gran = BITMAP_DEFAULT_GRAN_MAX;
        }
    }
    bool persistent = json_member(args, "persistent") && json_object_get_boolean(json_member(args, "persistent"));
    bool disabled = json_member(args, "disabled") && json_object_get_boolean(json_member(args, "disabled"));
    if (persistent && n->drv != DRV_QCOW2) {
        return qmp_error("GenericError", "Can't store persistent bitmaps to %s: Operation not supported",
                         n->name);
    }
    if (bitmap_find(n, name)) {
        return qmp_error("GenericError", "Bitmap already exists: %s", name);
    }
    cl_error cerr = { 0, "" };
    cl_bitmap *bm = cl_bitmap_new(node_size(n), gran, &cerr);
    if (!bm) {
        return qmp_error("GenericError", "%s", cerr.msg);
    }
    if (disabled) {
        cl_bitmap_set_enabled(bm, false, NULL);
    }
    bitmap_list_add(n, name, bm, persistent, true);
    return qmp_ok();
}

static json_object *qmp_bitmap_simple(sim *s, const char *cmd, json_object *args)
{
    sim_node *n;
    sim_bitmap *b;
    json_object *err = bitmap_lookup(s, args, "name", &n, &b);
    if (err) {
        return err;
    }
    /* bdrv_dirty_bitmap_check: remove BUSY|RO, clear DEFAULT, enable/disable ALLOW_RO */
    bool modifies = !strcmp(cmd, "block-dirty-bitmap-remove") ||
                    !strcmp(cmd, "block-dirty-bitmap-clear");
    if ((err = bitmap_check(n, b, modifies ? BITMAP_CHECK_DEFAULT : BITMAP_CHECK_ALLOW_RO))) {
        return err;
    }
    if (!strcmp(cmd, "block-dirty-bitmap-remove")) {
        if (b->persistent && n->drv == DRV_QCOW2) {
            /* also gone from the image (sim/qcow2_bitmap.c) */
            q2_saved_remove(node_image_file(n), n->q, b->name);
        }
        bitmap_list_remove(n, b);
    } else if (!strcmp(cmd, "block-dirty-bitmap-clear")) {
        cl_bitmap_clear(b->bm);
    } else if (!strcmp(cmd, "block-dirty-bitmap-enable")) {
        cl_bitmap_set_enabled(b->bm, true, NULL);
    } else {
        cl_bitmap_set_enabled(b->bm, false, NULL);
    }
    return qmp_ok();
}

static json_object *qmp_bitmap_merge(sim *s, json_object *args)
{
    sim_node *n;
    sim_bitmap *dst;
    json_object *err = bitmap_lookup(s, args, "target", &n, &dst);
    if (err) {
        return err;
    }
    if ((err = bitmap_check(n, dst, BITMAP_CHECK_DEFAULT))) {
        return err;
    }
    json_object *list = json_member(args, "bitmaps");
    cl_bitmap *acc = cl_bitmap_new(cl_bitmap_size(dst->bm), cl_bitmap_granularity(dst->bm), NULL);
    cl_bitmap_copy(acc, dst->bm, NULL);
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        json_object *el = json_object_array_get_idx(list, i);
        sim_node *sn = n;
        const char *bname;
        if (json_object_is_type(el, json_type_string)) {
            bname = json_object_get_string(el);
        } else {
            const char *nn = json_str(el, "node");
            bname = json_str(el, "name");
            sn = blk_lookup_bs(s, nn);
            if (!sn) {
                cl_bitmap_free(acc);
                return qmp_error("GenericError", "Node '%s' not found", nn);
            }
        }
        sim_bitmap *src = bitmap_find(sn, bname);
        if (!src) {
            cl_bitmap_free(acc);
            return qmp_error("GenericError", "Dirty bitmap '%s' not found", bname);
        }
        if (cl_bitmap_size(src->bm) != cl_bitmap_size(acc)) {
            json_object *e = qmp_error("GenericError", "Bitmaps are of different sizes (destination size "
                                       "is %llu, source size is %llu) and can't be merged",
                                       (unsigned long long)cl_bitmap_size(acc),
                                       (unsigned long long)cl_bitmap_size(src->bm));
            cl_bitmap_free(acc);
            return e;
        }
        cl_bitmap_merge(acc, src->bm, NULL);
    }
    cl_bitmap_copy(dst->bm, acc, NULL);
    cl_bitmap_free(acc);
    return qmp_ok();
}

/* ---- HMP qemu-io ------------------------------------------------------------- */

/* Who forbids writes to n: a qcow2 or copy-before-write parent, or a filter
 * parent whose own writes are forbidden (filters pass permissions down). */
static bool write_unshared_by(sim *s, sim_node *n, sim_node **who, const char **role)
{
    for (sim_node *p = s->nodes; p; p = p->next) {
        if (p->file == n) {
            if (p->drv == DRV_QCOW2 || (p->drv == DRV_CBW && cbw_unshares_write(s, p))) {
                *who = p;
                *role = "file";
                return true;
            }
            sim_node *w;
            const char *r;
            if ((p->drv == DRV_BLKDEBUG || p->drv == DRV_RAW) && write_unshared_by(s, p, &w, &r)) {
                *who = p;
                *role = p->drv == DRV_BLKDEBUG ? "image" : "file";
                return true;
            }
        }
        if (p->backing == n) {
            *who = p;
            *role = "backing";
            return true;
        }
    }
    return false;
}

/* Run one qemu-io command on node n. Its output goes to QEMU's stdout (the
 * VM log), which the monitor never sees: only permission errors are returned. */
static char *qemu_io(sim *s, sim_node *n, const char *cmdline, bool device)
{
    char *copy = xstrdup(cmdline);
    char *argv[32];
    int argc = 0;
    for (char *tok = strtok(copy, " \t"); tok && argc < 31; tok = strtok(NULL, " \t")) {
        argv[argc++] = tok;
    }
    argv[argc] = NULL;
    char *reply = xstrdup("");
    if (!argc) {
        goto out;
    }
    bool is_write = !strcmp(argv[0], "write") || !strcmp(argv[0], "w") ||
                    !strcmp(argv[0], "discard") || !strcmp(argv[0], "d");
    if (!strcmp(argv[0], "flush") || !strcmp(argv[0], "f")) {
        node_flush(s, n);
        goto out;
    }
    /* a writer needs the write permission on n before anything runs */
    sim_node *who;
    const char *role;
    if (is_write && !device && write_unshared_by(s, n, &who, &role)) {
        free(reply);
        reply = xasprintf("Permission conflict on node '%s': permissions 'write' are both "
                          "required by an unnamed block device (uses node '%s' as 'root' "
                          "child) and unshared by node '%s' (uses node '%s' as '%s' child).\r\n",
                          n->name, n->name, who->name, n->name, role);
        goto out;
    }
    /* qemu-io prints to QEMU's stdout: the VM's log, not the reply */
    char *text = NULL;
    size_t textlen = 0;
    FILE *log = open_memstream(&text, &textlen);
    if (!log) {
        abort();
    }
    sim_io_command(s, n, true, false, cmdline, log);
    fclose(log);
    char *joined = xasprintf("%s%s", s->vm_log ? s->vm_log : "", text);
    free(s->vm_log);
    free(text);
    s->vm_log = joined;
out:
    free(copy);
    return reply;
}

static json_object *qmp_hmp(sim *s, json_object *args)
{
    const char *line = json_str(args, "command-line");
    while (*line == ' ') {
        line++;
    }
    size_t wl = strcspn(line, " ");
    if (wl == 0) {
        return qmp_return(json_object_new_string(""));
    }
    if (wl == 9 && !strncmp(line, "drive_add", 9)) {
        char *m = hmp_drive_add(s, line + wl);
        json_object *r = qmp_return(json_object_new_string(m));
        free(m);
        return r;
    }
    if (wl == 12 && !strncmp(line, "block_resize", wl)) {
        return qmp_return(hmp_block_resize(s, line + wl));     /* sim/resize.c */
    }
    if (strncmp(line, "qemu-io", wl) || wl != 7) {
        char *m = xasprintf("unknown command: '%.*s'\r\n", (int)wl, line);
        json_object *r = qmp_return(json_object_new_string(m));
        free(m);
        return r;
    }
    const char *p = line + wl;
    while (*p == ' ') {
        p++;
    }
    bool qdev = !strncmp(p, "-d ", 3);      /* a device's BlockBackend */
    if (qdev) {
        p += 3;
        while (*p == ' ') {
            p++;
        }
    }
    size_t dl = strcspn(p, " ");
    char *dev = strndup(p, dl);
    p += dl;
    while (*p == ' ') {
        p++;
    }
    char *cmd;
    if (*p == '"') {
        const char *end = strchr(p + 1, '"');
        cmd = end ? strndup(p + 1, (size_t)(end - p - 1)) : NULL;
    } else {
        cmd = *p ? strndup(p, strcspn(p, " ")) : NULL;
    }
    json_object *r;
    if (!*dev || !cmd) {
        r = qmp_return(json_object_new_string(
            "qemu-io: string expected\r\nTry \"help qemu-io\" for more information\r\n"));
    } else {
        struct sim_blk *d = qdev ? device_find(s, dev) : NULL;
        sim_node *n = qdev ? (d ? device_root(d) : NULL) : blk_lookup_bs(s, dev);
        if (!n) {
            char *m = qdev ? xasprintf("Error: Device '%s' not found\r\n", dev)
                : xasprintf("Error: Cannot find device='' nor node-name='%s'\r\n", dev);
            r = qmp_return(json_object_new_string(m));
            free(m);
        } else {
            char *out = qemu_io(s, n, cmd, qdev);
            r = qmp_return(json_object_new_string(out));
            free(out);
        }
    }
    free(dev);
    free(cmd);
    return r;
}

/* ---- dispatch -------------------------------------------------------------- */

static json_object *run_blockdev_create(sim *s, const char *cmd, json_object *args)
{
    json_object *err = qapi_check_create_options(json_member(args, "options"), "options");
    return err ? err : qmp_blockdev_create(s, args);
}

static json_object *run_job_command(sim *s, const char *cmd, json_object *args)
{
    if (!strcmp(cmd, "block-job-complete") || !strcmp(cmd, "job-complete")) {
        /* a block-commit job (sim/commit.c) */
        json_object *r = commit_complete(s, json_str(args, cmd[0] == 'b' ? "device" : "id"));
        if (r) {
            return r;
        }
    }
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
RUN_ARGS(qmp_bitmap_add)
RUN_ARGS(qmp_bitmap_merge)
RUN_ARGS(qmp_backup)
RUN_ARGS(qmp_hmp)
RUN_NOARGS(qmp_query_named_block_nodes)
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
    json_object *err = qapi_check_command(cmd, args, "");
    return err ? err : c->run(s, cmd, args);
}
