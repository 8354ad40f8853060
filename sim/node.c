/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Block nodes: the registry, generic I/O that reaches each driver through
 * its table of operations (QEMU's block/io.c over BlockDriver), dirty
 * bitmap listings and query-named-block-nodes entries. The drivers live in
 * their own files: drv_file.c, drv_raw.c, drv_qcow2.c, drv_blkdebug.c,
 * drv_null.c, copy_before_write.c, snapshot_access.c, throttle.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/node.h"
#include "sim/qcow2_bitmap.h"

/* ---- drivers ---------------------------------------------------------------- */

static const sim_drv_ops *drivers[] = {
    [DRV_FILE] = &drv_file, [DRV_QCOW2] = &drv_qcow2, [DRV_BLKDEBUG] = &drv_blkdebug,
    [DRV_RAW] = &drv_raw, [DRV_CBW] = &drv_cbw, [DRV_NULL] = &drv_null,
    [DRV_SNAPSHOT_ACCESS] = &drv_snapshot_access, [DRV_THROTTLE] = &drv_throttle,
    [DRV_VMDK] = &drv_vmdk,
    [DRV_COMMIT_TOP] = &drv_commit_top, [DRV_MIRROR_TOP] = &drv_mirror_top,
    [DRV_COR_FILTER] = &drv_cor_filter,
    [DRV_NBD] = NULL,           /* the NBD client (drv_nbd.c) lives above: it registers */
};

void node_driver_register(sim_driver d, const sim_drv_ops *ops)
{
    drivers[d] = ops;
}

void node_cancel_in_flight(sim *s, sim_node *n)
{
    if (n && node_drv(n)->cancel_in_flight) {
        node_drv(n)->cancel_in_flight(s, n);
    }
}

uint64_t node_next_timer(sim *s)
{
    uint64_t first = 0;
    for (sim_node *n = s->nodes; n; n = n->next) {
        uint64_t t = node_drv(n)->next_timer ? node_drv(n)->next_timer(s, n) : 0;
        if (t && (!first || t < first)) {
            first = t;
        }
    }
    return first;
}

const sim_drv_ops *node_drv(const sim_node *n)
{
    return drivers[n->drv];
}

const sim_drv_ops *node_drv_by_name(const char *name)
{
    for (size_t i = 0; name && i < sizeof drivers / sizeof drivers[0]; i++) {
        if (drivers[i] && !strcmp(drivers[i]->name, name)) {
            return drivers[i];
        }
    }
    return NULL;
}

/* ---- node registry ------------------------------------------------------- */

sim_node *node_find(sim *s, const char *name)
{
    for (sim_node *n = s->nodes; n; n = n->next) {
        if (n->name && !strcmp(n->name, name)) {
            return n;
        }
    }
    return NULL;
}

bool id_wellformed(const char *id)
{
    if (!((id[0] >= 'a' && id[0] <= 'z') || (id[0] >= 'A' && id[0] <= 'Z'))) {
        return false;
    }
    for (const char *p = id + 1; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || strchr("-._", *p))) {
            return false;
        }
    }
    return true;
}

sim_node *node_new(sim *s, sim_driver drv, const char *name)
{
    sim_node *n = calloc(1, sizeof *n);
    n->drv = drv;
    n->bd_state = 1;
    if (name) {
        n->name = xstrdup(name);
    } else {
        /* QEMU appends two random digits; ours are deterministic */
        unsigned c = s->node_counter++;
        n->name = xasprintf("#block%u%02u", c, (c * 37u + 11u) % 100u);
        n->auto_named = true;
    }
    sim_node **pp = &s->nodes;
    while (*pp) {
        pp = &(*pp)->next;
    }
    *pp = n;
    return n;
}

static void bitmaps_free(sim_node *n)
{
    while (n->bitmaps) {
        sim_bitmap *b = n->bitmaps;
        n->bitmaps = b->next;
        if (b->owned) {
            cl_bitmap_free(b->bm);
        }
        free(b->name);
        free(b);
    }
}

/* Unlink and free one node (its children are the caller's business). */
void node_remove(sim *s, sim_node *n)
{
    sim_node **pp = &s->nodes;
    while (*pp && *pp != n) {
        pp = &(*pp)->next;
    }
    if (*pp) {
        *pp = n->next;
    }
    if (node_drv(n)->close) {
        node_drv(n)->close(n);
    }
    persist_store(n);       /* closing a qcow2 image stores its bitmaps */
    bitmaps_free(n);
    blkdebug_breaks_free(n);
    free(n->name);
    free(n);
}

/* Drop a reference from a parent (or the monitor); free the node and, in
 * turn, its children once nobody uses it. */
void node_unref(sim *s, sim_node *n)
{
    if (!n) {
        return;
    }
    if (n->parents > 0) {
        n->parents--;
    }
    if (n->parents > 0 || n->monitor_owned) {
        return;
    }
    sim_node *file = n->file, *backing = n->backing;
    sim_node *target = cbw_close(s, n);
    node_remove(s, n);
    node_unref(s, file);
    node_unref(s, backing);
    node_unref(s, target);
}

/* ---- sizes and names ----------------------------------------------------- */

uint64_t node_size(sim_node *n)
{
    return node_drv(n)->size(n);
}

/* bdrv_get_info's cluster size; 0 when the driver has none. */
uint64_t node_cluster_size(sim_node *n)
{
    return node_drv(n)->cluster_size ? node_drv(n)->cluster_size(n) : 0;
}

const char *node_drv_name(sim_node *n)
{
    return node_drv(n)->name;
}

const char *node_filename(sim_node *n)
{
    while (n && n->drv != DRV_FILE) {
        n = n->file;
    }
    return n ? n->f->path : "";
}

/* ---- generic I/O --------------------------------------------------------- */

int node_read_data(sim *s, sim_node *n, uint64_t off, uint64_t len, sim_data *out)
{
    const sim_drv_ops *drv = node_drv(n);
    int r = drv->refuse ? drv->refuse(n, off, len, false) : 0;
    return r ? r : drv->read(s, n, off, len, out);
}

/* The bytes: what was read before an error stays in buf. */
int node_read(sim *s, sim_node *n, uint64_t off, uint64_t len, void *buf)
{
    sim_data d;
    data_init(&d);
    int r = node_read_data(s, n, off, len, &d);
    data_to_buf(&d, buf);
    data_free(&d);
    return r;
}

static void record_write(sim_node *n, uint64_t off, uint64_t len)
{
    uint64_t size = node_size(n);
    n->write_gen++;
    if (off >= size || !len) {
        return;
    }
    if (len > size - off) {
        len = size - off;
    }
    for (sim_bitmap *b = n->bitmaps; b; b = b->next) {
        if (cl_bitmap_size(b->bm) >= off + len) {
            cl_bitmap_record_write(b->bm, off, len);
        }
    }
}

int node_write(sim *s, sim_node *n, uint64_t off, uint64_t len, const void *buf,
               bool zeroes)
{
    if (zeroes || !buf || !len) {
        return node_write_data(s, n, off, len, NULL);
    }
    sim_data d;
    data_init(&d);
    data_add_buf(&d, buf, len);
    int r = node_write_data(s, n, off, len, &d);
    data_free(&d);
    return r;
}

int node_write_data(sim *s, sim_node *n, uint64_t off, uint64_t len, const sim_data *in)
{
    int r = 0;
    if (!len) {
        return 0;
    }
    if (in && in->len != len) {
        return -EINVAL;     /* a caller's mistake: the spans must be len bytes */
    }
    /* e.g. a device in a VMA backup: copy-before-write first (pve_backup.c) */
    if (s->before_write && (r = s->before_write(s, n, off, len)) < 0) {
        record_write(n, off, len);
        return r;
    }
    const sim_drv_ops *drv = node_drv(n);
    if (drv->refuse && (r = drv->refuse(n, off, len, true)) < 0) {
        return r;           /* refused before it started: nothing is dirty */
    }
    r = drv->write ? drv->write(s, n, off, len, in) : -ENOTSUP;
    /* QEMU sets dirty bits when the request finishes, whatever its result */
    record_write(n, off, len);
    return r;
}

/* QEMU's bdrv_co_flush: events on the primary child, the driver's flush only
 * when something was written since the last one, then the children. */
int node_flush(sim *s, sim_node *n)
{
    int ret = 0;
    if (!n) {
        return 0;
    }
    const sim_drv_ops *drv = node_drv(n);
    blkdebug_event(s, n->file, EV_FLUSH_TO_OS);
    if (drv->write_caches) {
        drv->write_caches(n);
    }
    if (n->no_flush) {
        n->flushed_gen = n->write_gen;  /* BDRV_O_NO_FLUSH: to the children */
    } else if (n->write_gen != n->flushed_gen) {
        blkdebug_event(s, n->file, EV_FLUSH_TO_DISK);
        if (drv->flush_to_disk) {
            ret = drv->flush_to_disk(s, n);
        }
        if (!ret) {
            n->flushed_gen = n->write_gen;
        }
    }
    int child = node_flush(s, n->file);
    return ret ? ret : child;
}

/* QEMU's bdrv_co_pdiscard: nothing happens unless the node was opened with
 * discard=unmap (children default to it, a blockdev-add root does not).
 * qcow2 drops whole clusters only (qcow2_co_pdiscard), which then read as
 * zeroes where a backing file or an allocation was (discard_in_l2_slice);
 * a file punches a hole. Dirty bitmaps record the range, as for a write. */
int node_discard(sim *s, sim_node *n, uint64_t off, uint64_t len)
{
    int r = 0;
    if (!len || !n->discard_unmap) {
        return 0;
    }
    uint64_t size = node_size(n);
    if (off > size || len > size - off) {
        return -EIO;
    }
    r = node_drv(n)->discard(s, n, off, len);
    record_write(n, off, len);
    return r;
}

/* QEMU's bdrv_block_status (this layer only, base = its backing file). */
int node_block_status(sim *s, sim_node *n, uint64_t off, uint64_t len, uint64_t *pnum)
{
    uint64_t size = node_size(n);
    if (off >= size) {
        *pnum = len ? len : 1;
        return CL_STATUS_ZERO;
    }
    if (len > size - off) {
        len = size - off;
    }
    return node_drv(n)->block_status(s, n, off, len, pnum);
}

/* ---- dirty bitmap listing ------------------------------------------------ */

sim_bitmap *bitmap_list_add(sim_node *n, const char *name, cl_bitmap *bm,
                            bool persistent, bool owned)
{
    sim_bitmap *e = calloc(1, sizeof *e);
    e->name = name ? xstrdup(name) : NULL;
    e->bm = bm;
    e->persistent = persistent;
    e->owned = owned;
    e->next = n->bitmaps;       /* newest first, as QEMU lists them */
    n->bitmaps = e;
    return e;
}

void bitmap_list_remove(sim_node *n, sim_bitmap *e)
{
    sim_bitmap **pp = &n->bitmaps;
    while (*pp && *pp != e) {
        pp = &(*pp)->next;
    }
    if (*pp) {
        *pp = e->next;
    }
    if (e->owned) {
        cl_bitmap_free(e->bm);
    }
    free(e->name);
    free(e);
}

sim_bitmap *bitmap_find(sim_node *n, const char *name)
{
    for (sim_bitmap *b = n->bitmaps; b; b = b->next) {
        if (b->name && !strcmp(b->name, name)) {
            return b;
        }
    }
    return NULL;
}

static json_object *bitmap_info(sim_bitmap *b)
{
    json_object *o = json_object_new_object();
    if (b->name) {
        json_add_lit(o, "name", json_object_new_string(b->name));
    }
    json_add_lit(o, "recording", json_object_new_boolean(cl_bitmap_recording(b->bm)));
    json_add_lit(o, "persistent", json_object_new_boolean(b->persistent));
    json_add_lit(o, "busy", json_object_new_boolean(bitmap_busy(b)));
    json_add_lit(o, "granularity",
                           json_object_new_int64((int64_t)cl_bitmap_granularity(b->bm)));
    json_add_lit(o, "count",
                           json_object_new_int64((int64_t)cl_bitmap_count_bytes(b->bm)));
    if (b->inconsistent) {
        /* BlockDirtyInfo's optional member, present only when true */
        json_object_object_add(o, "inconsistent", json_object_new_boolean(true));
    }
    return o;
}

json_object *node_dirty_bitmaps(sim_node *n)
{
    json_object *list = NULL;
    for (sim_bitmap *b = n->bitmaps; b; b = b->next) {
        if (b->hidden) {
            continue;   /* a job's own (QEMU keeps it on an implicit filter) */
        }
        if (!list) {
            list = json_object_new_array();
        }
        json_object_array_add(list, bitmap_info(b));
    }
    return list;
}

/* bdrv_query_image_info, then (unless flat) the filtered or backing child's
 * as "backing-image", as bdrv_block_device_info nests them. */
static json_object *image_info(sim *s, sim_node *n, int depth, bool flat)
{
    json_object *img = json_object_new_object();
    if (!flat && (n->drv == DRV_CBW || node_is_job_filter(n)) && depth < 8) {
        json_add_lit(img, "backing-image", image_info(s, n->file, depth + 1, false));
    }
    json_add_lit(img, "virtual-size", json_object_new_int64((int64_t)node_size(n)));
    json_add_lit(img, "filename", json_object_new_string(node_filename(n)));
    if (node_cluster_size(n)) {
        json_add_lit(img, "cluster-size",
                               json_object_new_int64((int64_t)node_cluster_size(n)));
    }
    const char *fmt = n->drv == DRV_BLKDEBUG ? "blkdebug" : node_drv_name(n);
    json_add_lit(img, "format", json_object_new_string(fmt));
    sim_node *fn = n;
    while (fn && fn->drv != DRV_FILE) {
        fn = fn->file;
    }
    json_add_lit(img, "actual-size",
                           json_object_new_int64(fn ? (int64_t)fn->f->data.size : 0));
    if (n->drv == DRV_QCOW2) {
        json_object *fs = json_object_new_object(), *d = json_object_new_object();
        json_add_lit(d, "compat", json_object_new_string("1.1"));
        json_add_lit(d, "compression-type", json_object_new_string("zlib"));
        json_add_lit(d, "lazy-refcounts", json_object_new_boolean(false));
        if (n->q->bitmaps) {
            json_add_lit(d, "bitmaps", q2_bitmap_info_list(n));
        }
        json_add_lit(d, "refcount-bits", json_object_new_int(16));
        json_add_lit(d, "corrupt", json_object_new_boolean(false));
        json_add_lit(d, "extended-l2", json_object_new_boolean(false));
        json_add_lit(fs, "type", json_object_new_string("qcow2"));
        json_add_lit(fs, "data", d);
        json_add_lit(img, "format-specific", fs);
        if (n->q->backing) {
            json_add_lit(img, "backing-filename",
                                   json_object_new_string(n->q->backing));
            /* bdrv_get_full_backing_filename: relative to the image */
            char *full = path_relative_to(node_filename(n), n->q->backing);
            json_add_lit(img, "full-backing-filename", json_object_new_string(full));
            free(full);
            if (n->q->backing_fmt && *n->q->backing_fmt) {
                json_add_lit(img, "backing-filename-format",
                             json_object_new_string(n->q->backing_fmt));
            }
        }
    }
    if (n->drv != DRV_SNAPSHOT_ACCESS && n->drv != DRV_NULL && n->drv != DRV_NBD) {
        /* from bdrv_get_info, which these drivers lack */
        json_add_lit(img, "dirty-flag", json_object_new_boolean(false));
    }
    if (!flat && n->drv == DRV_QCOW2 && n->backing && depth < 64) {
        json_add_lit(img, "backing-image",
                     image_info(s, node_filtered_view(s, n->backing), depth + 1, false));
    }
    return img;
}

/* One query-named-block-nodes entry (the BlockDeviceInfo fields we model). */
json_object *node_info(sim *s, sim_node *n)
{
    return node_info_flat(s, n, false);
}

json_object *node_info_flat(sim *s, sim_node *n, bool flat)
{
    json_object *o = json_object_new_object();
    int depth = 0;
    for (sim_node *m = n; !flat && m && (m->drv == DRV_QCOW2 || node_is_job_filter(m));
         m = m->drv == DRV_QCOW2 ? node_filtered_view(s, m->backing) : m->file) {
        depth += m->drv != DRV_QCOW2 || m->backing;   /* a filter counts as a layer */
    }
    json_add_lit(o, "iops_rd", json_object_new_int(0));
    json_add_lit(o, "detect_zeroes", json_object_new_string("off"));
    json_add_lit(o, "image", image_info(s, n, 0, flat));
    json_add_lit(o, "iops_wr", json_object_new_int(0));
    json_add_lit(o, "ro", json_object_new_boolean(node_is_job_filter(n) && n->read_only));
    json_add_lit(o, "node-name", json_object_new_string(n->name));
    json_add_lit(o, "backing_file_depth",
                           json_object_new_int(n->drv == DRV_CBW && !flat ? 1 : depth));
    json_add_lit(o, "drv", json_object_new_string(node_drv_name(n)));
    json_add_lit(o, "iops", json_object_new_int(0));
    json_add_lit(o, "bps_wr", json_object_new_int(0));
    json_add_lit(o, "write_threshold", json_object_new_int(0));
    if (n->drv == DRV_QCOW2 && n->q->backing) {
        json_add_lit(o, "backing_file", json_object_new_string(n->q->backing));
    }
    json_object *bitmaps = node_dirty_bitmaps(n);
    if (bitmaps) {
        json_add_lit(o, "dirty-bitmaps", bitmaps);
    }
    json_add_lit(o, "encrypted", json_object_new_boolean(false));
    json_add_lit(o, "bps", json_object_new_int(0));
    json_add_lit(o, "bps_rd", json_object_new_int(0));
    json_object *cache = json_object_new_object();
    json_add_lit(cache, "no-flush", json_object_new_boolean(n->no_flush));
    json_add_lit(cache, "direct", json_object_new_boolean(false));
    json_add_lit(cache, "writeback", json_object_new_boolean(true));
    json_add_lit(o, "cache", cache);
    json_add_lit(o, "file", json_object_new_string(node_filename(n)));
    return o;
}
