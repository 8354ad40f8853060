/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * External snapshots: blockdev-snapshot-sync and blockdev-snapshot, alone or
 * as transaction actions. Follows QEMU 7.2 blockdev.c
 * external_snapshot_prepare / _commit / _abort / _clean: the overlay (a new
 * qcow2 image whose backing file is the old node's image, or an existing
 * node) is appended above the old node, taking over every parent of it
 * (bdrv_append / bdrv_replace_node); commit reopens the old node read-only,
 * which stores its persistent bitmaps into its image
 * (qcow2_reopen_bitmaps_ro). Bitmaps stay on the node that had them: the
 * overlay starts with none.
 */
#include <stdlib.h>
#include <string.h>

#include "sim/qmp.h"

static bool is_filter(const sim_node *n)
{
    return n->drv == DRV_BLKDEBUG || n->drv == DRV_CBW;
}

/* A node some parent reads from as a guest would (BLK_PERM_CONSISTENT_READ):
 * a backend, or a format/filter node's file or backing link. */
static bool consistently_read(sim *s, const sim_node *n)
{
    for (sim_blk *b = s->blks; b; b = b->next) {
        if (b->root == n) {
            return true;
        }
    }
    for (sim_node *p = s->nodes; p; p = p->next) {
        if (p->file == n || p->backing == n) {
            return true;
        }
    }
    return false;
}

/* A backing node is blocked for most operations by its parent
 * (bdrv_set_backing_hd's backing_blocker); external snapshots among them. */
static json_object *backing_blocker(sim *s, const sim_node *n)
{
    for (sim_node *p = s->nodes; p; p = p->next) {
        if (p->backing == n) {
            return qmp_error("GenericError", "Node '%s' is busy: node is used as backing hd of '%s'",
                             n->name, p->name);
        }
    }
    return NULL;
}

/* bdrv_lookup_bs(device, node_name) with QEMU's messages */
static json_object *lookup_bs(sim *s, const char *device, const char *node_name, sim_node **out)
{
    if (device) {
        sim_blk *b = blk_find(s, device);
        if (b) {
            if (!b->root) {
                return qmp_error("GenericError", "Device '%s' has no medium", device);
            }
            *out = b->root;
            return NULL;
        }
    }
    if (node_name) {
        sim_node *n = node_find(s, node_name);
        if (n) {
            *out = n;
            return NULL;
        }
    }
    return qmp_error("GenericError", "Cannot find device='%s' nor node-name='%s'",
                     device ? device : "", node_name ? node_name : "");
}

json_object *snapshot_prepare(sim *s, json_object *data, bool sync, const char *mode_err,
                              snap_state *st)
{
    const char *device, *node_name, *overlay = NULL, *new_file = NULL;
    if (sync) {
        device = json_str(data, "device");
        node_name = json_str(data, "node-name");
        new_file = json_str(data, "snapshot-file");
    } else {
        device = node_name = json_str(data, "node");
        overlay = json_str(data, "overlay");
    }
    if (mode_err) {
        return qmp_error("GenericError", "%s", mode_err);
    }
    json_object *err = lookup_bs(s, device, node_name, &st->old_bs);
    if (err) {
        return err;
    }
    sim_node *old = st->old_bs;
    if ((err = backing_blocker(s, old))) {
        return err;
    }
    if (old->busy_job) {
        return qmp_error("GenericError", "Node '%s' is busy: block device is in use by block job: %s",
                         old->name, job_type_name(old->busy_job));
    }
    if (!old->read_only && node_flush(s, old) < 0) {
        return qmp_error("GenericError", "An IO error has occurred");
    }
    if (sync) {
        const char *format = json_str(data, "format") ? json_str(data, "format") : "qcow2";
        const char *snap_name = json_str(data, "snapshot-node-name");
        const char *mode = json_str(data, "mode") ? json_str(data, "mode") : "absolute-paths";
        if (node_name && !snap_name) {
            return qmp_error("GenericError", "New overlay node-name missing");
        }
        if (snap_name && blk_lookup_bs(s, snap_name)) {
            return qmp_error("GenericError", "New overlay node-name already in use");
        }
        if (!strcmp(format, "raw") && strcmp(mode, "existing")) {
            /* bdrv_img_create with a backing file */
            return qmp_error("GenericError", "Backing file not supported for file format 'raw'");
        }
        if (strcmp(format, "qcow2")) {
            return qmp_error("GenericError", "the simulator models qcow2 overlays only");
        }
        if (strcmp(mode, "existing")) {
            /* bdrv_img_create(new, format, old->filename, old format, size) */
            char *cerr = NULL;
            if (s->base.ops->img_create(&s->base, format, new_file, node_size(old),
                                        node_filename(old), node_drv_name(old), &cerr) < 0) {
                /* qemu-img's "qemu-img: " prefix is not part of QEMU's error */
                const char *m = cerr ? cerr : "?";
                if (!strncmp(m, "qemu-img: ", 10)) {
                    m += 10;
                }
                err = qmp_error("GenericError", "%s", m);
                free(cerr);
                return err;
            }
            vm_log_formatting(s, new_file, format, node_size(old), node_filename(old),
                              node_drv_name(old));
        }
        /* bdrv_open(new_file, options {driver, node-name}, BDRV_O_NO_BACKING) */
        json_object *opts = json_object_new_object(), *f = json_object_new_object();
        json_add_lit(opts, "driver", json_object_new_string(format));
        if (snap_name) {
            json_add_lit(opts, "node-name", json_object_new_string(snap_name));
        }
        json_add_lit(f, "driver", json_object_new_string("file"));
        json_add_lit(f, "filename", json_object_new_string(new_file));
        json_add_lit(opts, "file", f);
        json_add_lit(opts, "backing", NULL);
        err = blockdev_open(s, opts, NULL, &st->new_bs, false);
        json_object_put(opts);
        if (err) {
            return err;
        }
    } else {
        st->new_bs = blk_lookup_bs(s, overlay);
        if (!st->new_bs) {
            return qmp_error("GenericError", "Cannot find device='%s' nor node-name='%s'",
                             overlay, overlay);
        }
        st->new_bs->parents++;      /* the action's reference (bdrv_open of a reference) */
        st->referenced = true;
        if (consistently_read(s, st->new_bs)) {
            return qmp_error("GenericError", "The overlay is already in use");
        }
    }
    sim_node *nb = st->new_bs;
    if (is_filter(nb)) {
        return qmp_error("GenericError", "Filters cannot be used as overlays");
    }
    if (nb->backing) {
        return qmp_error("GenericError", "The overlay already has a backing image");
    }
    if (nb->drv != DRV_QCOW2) {
        return qmp_error("GenericError", "The overlay does not support backing images");
    }
    /* bdrv_append: the overlay takes the old node as backing, then every
     * other parent of the old node */
    nb->backing = old;
    old->parents++;
    blk_replace_node(s, old, nb, nb);
    st->appended = true;
    return NULL;
}

void snapshot_commit(sim *s, snap_state *st)
{
    (void)s;
    /* bdrv_reopen_set_read_only(old, true): qcow2 stores its persistent
     * bitmaps and keeps them, read-only */
    persist_store(st->old_bs);
    node_set_read_only(st->old_bs, true);
}

void snapshot_abort(sim *s, snap_state *st)
{
    if (st->new_bs && st->appended) {
        sim_node *old = st->old_bs, *nb = st->new_bs;
        nb->backing = NULL;
        blk_replace_node(s, nb, old, NULL);
        old->parents--;
        st->appended = false;
    }
}

void snapshot_clean(sim *s, snap_state *st)
{
    /* drop the action's reference: an overlay nobody took is closed */
    if (st->new_bs) {
        if (!st->referenced) {
            st->new_bs->parents++;
        }
        node_unref(s, st->new_bs);
    }
}
