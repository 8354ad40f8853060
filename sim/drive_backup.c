/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * drive-backup (QEMU 7.2 blockdev.c drive_backup_prepare): create the
 * target image unless mode is existing, open it as a node that only the
 * job holds, then start the job as blockdev-backup does
 * (do_backup_common). sync top without a backing file is full; sync none
 * creates the target with the source as backing file and attaches the
 * source node as its backing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim/job.h"

static const char *str_arg(json_object *args, const char *key)
{
    json_object *v = NULL;
    if (json_object_object_get_ex(args, key, &v) && json_object_is_type(v, json_type_string)) {
        return json_object_get_string(v);
    }
    return NULL;
}

/* bdrv_img_create(target, format, backing, backing format, size) */
json_object *drive_create_target(sim *s, const char *path, const char *format,
                                 sim_node *backing, uint64_t size)
{
    if (strcmp(format, "qcow2") && strcmp(format, "raw") && strcmp(format, "file")) {
        if (!strcmp(format, "blkdebug")) {
            return qmp_error("GenericError", "Format driver '%s' does not support image creation",
                             format);
        }
        return qmp_error("GenericError", "Unknown file format '%s'", format);
    }
    if (path[0] != '/') {
        return qmp_error("GenericError", "the simulator wants an absolute target path, not '%s'",
                         path);
    }
    sim_file *old = fs_lookup(s, path);
    for (sim_node *n = s->nodes; old && n; n = n->next) {
        if (n->f == old || (old->qcow2 && n->q == old->qcow2)) {
            /* an image open in the VM holds its write lock */
            return qmp_error("GenericError", "Failed to get \"write\" lock");
        }
    }
    sim_file *f = fs_create(s, path);
    q2_free(f->qcow2);
    f->qcow2 = NULL;
    store_truncate(&f->data, 0);
    if (!strcmp(format, "raw") || !strcmp(format, "file")) {
        store_truncate_posix(&f->data, size);     /* "file": the protocol creates a plain file */
        vm_log_formatting(s, path, format, size, NULL, NULL);
        return NULL;
    }
    int too_big = q2_size_check(size, Q2_DEFAULT_CLUSTER_SIZE);
    if (too_big) {
        return qmp_error("GenericError", too_big == -EFBIG
                         ? "The image size is too large for file format 'qcow2' (try using a "
                           "larger cluster size)"
                         : "The simulator models qcow2 images of at most 16777216 clusters");
    }
    f->qcow2 = q2_new(size, Q2_DEFAULT_CLUSTER_SIZE);
    if (backing) {
        f->qcow2->backing = xstrdup(node_filename(backing));
        f->qcow2->backing_fmt = xstrdup(node_drv_name(backing));
    }
    store_truncate(&f->data, 3 * Q2_DEFAULT_CLUSTER_SIZE);
    vm_log_formatting(s, path, format, size, backing ? node_filename(backing) : NULL,
                      backing ? node_drv_name(backing) : NULL);
    return NULL;
}

json_object *qmp_drive_backup(sim *s, json_object *args)
{
    const char *device = str_arg(args, "device");
    const char *target = str_arg(args, "target");
    const char *mode = str_arg(args, "mode");
    const char *format = str_arg(args, "format");
    const char *sync = str_arg(args, "sync");
    bool existing = mode && !strcmp(mode, "existing");
    sim_node *bs = NULL;
    json_object *lerr = blk_lookup_bs_err(s, device, &bs);
    if (lerr) {
        return lerr;
    }
    if (!format && !existing) {
        format = node_drv_name(bs);
    }
    /* the early op-blocker check, before anything is created */
    for (sim_node *m = bs; m; m = m->drv == DRV_CBW ? m->file : NULL) {
        if (m->busy_job) {
            return qmp_error("GenericError",
                             "Node '%s' is busy: block device is in use by block job: %s",
                             device_or_node_name(s, bs),
                             job_type_name(m->busy_job));
        }
    }
    sim_node *backing = NULL;
    json_object *bargs = json_object_get(args);
    if (!strcmp(sync, "top") && !bs->backing) {
        json_object_put(bargs);
        bargs = json_object_new_object();
        json_object_object_foreach(args, k, v) {
            json_object_object_add(bargs, k, json_object_get(v));
        }
        json_add_lit(bargs, "sync", json_object_new_string("full"));
    } else if (!strcmp(sync, "top")) {
        backing = bs->backing;
    } else if (!strcmp(sync, "none")) {
        backing = bs;
    }
    json_object *err = NULL;
    if (!existing) {
        err = drive_create_target(s, target, format, backing, node_size(bs));
        if (err) {
            json_object_put(bargs);
            return err;
        }
    }
    /* bdrv_open(target) with driver = format (probed when absent) */
    sim_file *f = fs_lookup(s, target);
    if (!f) {
        json_object_put(bargs);
        return qmp_error("GenericError", "Could not open '%s': No such file or directory", target);
    }
    if (!format) {
        format = img_probe_format(f);
    }
    if (strcmp(format, "qcow2") && strcmp(format, "raw") && strcmp(format, "file") &&
        strcmp(format, "vmdk")) {
        json_object_put(bargs);
        return qmp_error("GenericError", "Unknown driver '%s'", format);
    }
    json_object *o = json_object_new_object(), *file = json_object_new_object();
    json_add_lit(file, "driver", json_object_new_string("file"));
    json_add_lit(file, "filename", json_object_new_string(target));
    if (!strcmp(format, "file")) {
        json_object_put(o);     /* the protocol node itself is the target */
        o = file;
    } else {
        json_add_lit(o, "driver", json_object_new_string(format));
        json_add_lit(o, "file", file);
    }
    if (backing && !strcmp(sync, "none") && strcmp(format, "file")) {
        json_add_lit(o, "backing", NULL);     /* BDRV_O_NO_BACKING */
    }
    sim_node *tgt = NULL;
    err = blockdev_open(s, o, NULL, &tgt, false);
    json_object_put(o);
    if (err) {
        json_object_put(bargs);
        return err;
    }
    if (backing && !strcmp(sync, "none") && strcmp(format, "file")) {
        tgt->backing = bs;          /* bdrv_set_backing_hd(target, source) */
        bs->parents++;
    }
    /* do_backup_common, through blockdev-backup with the new node */
    json_object *a = json_object_new_object();
    json_object_object_foreach(bargs, k, v) {
        if (strcmp(k, "mode") && strcmp(k, "format") && strcmp(k, "target")) {
            json_object_object_add(a, k, json_object_get(v));
        }
    }
    json_add_lit(a, "target", json_object_new_string(tgt->name));
    json_object *r = qmp_blockdev_backup(s, a);
    json_object_put(a);
    json_object_put(bargs);
    /* drive_backup_prepare's bdrv_unref: the job holds the target now;
     * without a job it goes away */
    if (json_object_object_get_ex(r, "error", NULL)) {
        node_unref(s, tgt);
    }
    return r;
}
