/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * human-monitor-command: the HMP commands the cases use (qemu-io on a
 * device or node, drive_add, block_resize), with HMP's output as the reply
 * text; qemu-io's own output goes to the VM's stdout (sim->vm_log).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/qmp.h"
#include "sim/nbd.h"
#include "sim/error.h"
#include "sim/util.h"

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
        /* bdrv_default_perms_for_cow: the backing child shares write when
         * the overlay's users do; an overlay nobody uses shares it */
        if (p->backing == n && (p->parents || p->busy_job || nbd_node_exported(s, p))) {
            *who = p;
            *role = "backing";
            return true;
        }
    }
    return false;
}

/* Who forbids the write that filters pass down from n: a filter (raw,
 * blkdebug, copy-before-write) asks its child for write, which another
 * parent of that child may unshare. *req is the filter asking, *c the
 * child, *who the parent that unshares. */
static bool write_unshared_below(sim *s, sim_node *n, sim_node **req, sim_node **c,
                                 sim_node **who)
{
    for (sim_node *prev = n; prev->file && (prev->drv == DRV_RAW || prev->drv == DRV_BLKDEBUG ||
                                            prev->drv == DRV_CBW); prev = prev->file) {
        for (sim_node *p = s->nodes; p; p = p->next) {
            if (p != prev && p->file == prev->file && (p->drv == DRV_QCOW2 ||
                                                  (p->drv == DRV_CBW && cbw_unshares_write(s, p)))) {
                *req = prev;
                *c = prev->file;
                *who = p;
                return true;
            }
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
    if (!strcmp(argv[0], "break") || !strcmp(argv[0], "remove_break")) {
        /* its error text goes to QEMU's stdout, not into the reply */
        free(blkdebug_break_cmd(s, n, argc, argv));
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
    sim_node *req, *child;
    if (is_write && !device && write_unshared_below(s, n, &req, &child, &who)) {
        free(reply);
        reply = xasprintf("Permission conflict on node '%s': permissions 'write' are both "
                          "required by node '%s' (uses node '%s' as '%s' child) and unshared "
                          "by node '%s' (uses node '%s' as 'file' child).\r\n",
                          child->name, req->name, child->name,
                          req->drv == DRV_BLKDEBUG ? "image" : "file", who->name, child->name);
        goto out;
    }
    if (is_write && !device && n->read_only) {
        /* qemu-io's block backend asks for write permission (measured) */
        free(reply);
        reply = xasprintf("Block node is read-only\r\n");
        goto out;
    }
    /* qemu-io prints to QEMU's stdout: the VM's log, not the reply */
    sim_io_command(s, n, true, false, cmdline, vm_out_stream(s));
out:
    free(copy);
    return reply;
}

char *sim_qemu_io_line(sim *s, sim_node *n, const char *cmdline, bool device)
{
    return qemu_io(s, n, cmdline, device);
}

json_object *qmp_hmp(sim *s, json_object *args)
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
            char *out = sched_qemu_io(s, n, cmd, qdev);
            r = qmp_return(json_object_new_string(out));
            free(out);
        }
    }
    free(dev);
    free(cmd);
    return r;
}
