/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * block_resize (QEMU 7.2 blockdev.c qmp_block_resize, HMP hmp_block_resize):
 * a node grows or shrinks; its dirty bitmaps follow
 * (bdrv_dirty_bitmap_truncate: bits past the new end are gone, a grown
 * bitmap is clean in the new part). A qcow2 image refuses when it stores a
 * bitmap the node has not loaded (qcow2_truncate_bitmaps_check), or one
 * that is busy or read-only; its persistent bitmaps reach the image at the
 * next store with the new size.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/qmp.h"
#include "sim/error.h"
#include "sim/util.h"

static json_object *q2_resize(sim_node *n, uint64_t size)
{
    sim_qcow2 *q = n->q;
    for (sim_saved_bitmap *sb = q->bitmaps; sb; sb = sb->next) {
        sim_bitmap *b = bitmap_find(n, sb->name);
        if (!b) {
            return qmp_error("GenericError", "Cannot resize qcow2 with persistent bitmaps that "
                             "were not loaded into memory");
        }
        json_object *err = bitmap_check(n, b, BITMAP_CHECK_DEFAULT);
        if (err) {
            return err;
        }
    }
    if (size % 512) {
        return qmp_error("GenericError", "The new size must be a multiple of 512");
    }
    if (q2_size_check(size, q->cluster_size) < 0) {
        return qmp_error("GenericError", "the simulator models qcow2 images of at most %llu "
                         "clusters", (unsigned long long)SIM_Q2_MAX_CLUSTERS);
    }
    uint64_t ncl = (size + q->cluster_size - 1) / q->cluster_size;
    q2_set_clusters(q, ncl);     /* the L2 map is fs.c's */
    q->size = size;
    return NULL;
}

json_object *node_resize(sim *s, sim_node *n, uint64_t size)
{
    (void)s;
    if (n->busy_job) {
        return qmp_error("GenericError", "Device '%s' is in use", n->name);
    }
    json_object *err = NULL;
    if (n->drv == DRV_QCOW2) {
        err = q2_resize(n, size);
    } else if (n->drv == DRV_FILE) {
        store_truncate_posix(&n->f->data, size);
    } else {
        err = qmp_error("GenericError", "the simulator resizes file and qcow2 nodes only");
    }
    if (err) {
        return err;
    }
    for (sim_bitmap *b = n->bitmaps; b; b = b->next) {
        cl_bitmap *bm = bitmap_resized(b->bm, size);
        if (bm && b->owned) {
            cl_bitmap_free(b->bm);
            b->bm = bm;
        } else {
            cl_bitmap_free(bm);
        }
    }
    return NULL;
}

/* HMP "block_resize DEVICE SIZE": the size takes k/M/G/T suffixes. */
json_object *hmp_block_resize(sim *s, const char *args)
{
    char dev[256];
    char num[64];
    if (sscanf(args, " %255s %63s", dev, num) != 2) {
        return json_object_new_string("block_resize: missing argument\r\n");
    }
    char *end;
    double v = strtod(num, &end);
    uint64_t mult = 1;
    switch (*end) {
    case 'k': case 'K': mult = 1ull << 10; end++; break;
    case 'm': case 'M': mult = 1ull << 20; end++; break;
    case 'g': case 'G': mult = 1ull << 30; end++; break;
    case 't': case 'T': mult = 1ull << 40; end++; break;
    case 'b': case 'B': end++; break;
    default: mult = 1ull << 20; break;  /* HMP's 'o' type: a bare number means MiB */
    }
    if (end == num || *end || v < 0 || v * (double)mult > 9.2e18) {
        return json_object_new_string("invalid size\r\n");
    }
    uint64_t size = (uint64_t)(v * (double)mult);
    sim_node *n = blk_lookup_bs(s, dev);
    json_object *err = n ? node_resize(s, n, size)
        : qmp_error("GenericError", "Cannot find device='%s' nor node-name=''", dev);
    if (!err) {
        return json_object_new_string("");
    }
    json_object *e = json_object_object_get(err, "error");
    char *m = xasprintf("Error: %s\r\n", json_object_get_string(json_object_object_get(e, "desc")));
    json_object_put(err);
    json_object *r = json_object_new_string(m);
    free(m);
    return r;
}

/* QMP block_resize (qmp_block_resize): device or node-name, then size;
 * a node a job holds is in use. */
json_object *qmp_block_resize(sim *s, json_object *args)
{
    json_object *v;
    const char *device = json_object_object_get_ex(args, "device", &v) ? json_object_get_string(v)
                                                                       : NULL;
    const char *node_name = json_object_object_get_ex(args, "node-name", &v)
                            ? json_object_get_string(v) : NULL;
    int64_t size = json_object_object_get_ex(args, "size", &v) ? json_object_get_int64(v) : 0;
    sim_node *n = device ? blk_lookup_bs(s, device) : NULL;
    if (!n && node_name) {
        n = node_find(s, node_name);
    }
    if (!n) {
        return qmp_error("GenericError", "Cannot find device='%s' nor node-name='%s'",
                         device ? device : "", node_name ? node_name : "");
    }
    if (size < 0) {
        return qmp_error("GenericError", "Parameter 'size' expects a >0 size");
    }
    if (n->busy_job) {
        return qmp_error("GenericError", "Device '%s' is in use", device ? device : "(null)");
    }
    /* the resize permission: a backup's copy-before-write filter does not
     * share it on its source (real QEMU 7.2's text) */
    for (sim_node *p = s->nodes; p; p = p->next) {
        if (p->file == n && p->drv == DRV_CBW) {
            return qmp_error("GenericError", "Permission conflict on node '%s': permissions "
                             "'resize' are both required by an unnamed block device (uses node "
                             "'%s' as 'root' child) and unshared by node '%s' (uses node '%s' as "
                             "'file' child).", n->name, n->name, p->name, n->name);
        }
    }
    json_object *err = node_resize(s, n, (uint64_t)size);
    return err ? err : qmp_ok();
}
