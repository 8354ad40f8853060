/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What qcow2 writes to its file when it allocates (QEMU 7.2
 * block/qcow2-cluster.c, qcow2-refcount.c, qcow2-cache.c), as a dirty
 * bitmap on the file node records it. Measured on real QEMU 7.2 (a 512-byte
 * granularity bitmap on the file node of a fresh 64 MiB image):
 * - a new data cluster is written whole (its data, and zeroes or the
 *   backing file's data around it: handle_alloc_space / perform_cow);
 * - its L2 entry reaches the file as the whole L2 table (the L2 cache
 *   writes back cluster-sized entries);
 * - a newly allocated cluster's refcount reaches the file as the whole
 *   refcount block (cluster-sized cache entries);
 * - a new L2 table is written whole, and its L1 entry (8 bytes, written at
 *   once) dirties what covers those 8 bytes.
 * The file node's bitmaps grow with the file (bdrv_co_write_req_finish
 * truncates them to the new length). Images here keep QEMU's creation
 * layout: refcount block 0 in cluster 2 (refcounts of the first cs/2
 * clusters with 16-bit refcounts), L1 table in cluster 3. Refcount blocks
 * beyond the first (images past cs/2 host clusters) are not modelled.
 */
#include "sim/qcow2_meta.h"
#include "sim/qcow2_bitmap.h"

static sim_node *file_node(sim_node *n)
{
    sim_node *fn = n->file;
    while (fn && fn->drv != DRV_FILE) {
        fn = fn->file;
    }
    return fn;
}

/* One write of [off, off+len) reaching the file node: its bitmaps record
 * it, grown first to the file's length. */
static void file_written(sim_node *fn, uint64_t off, uint64_t len)
{
    if (!fn) {
        return;
    }
    uint64_t size = node_size(fn);
    if (off + len > size) {
        len = off < size ? size - off : 0;
    }
    for (sim_bitmap *b = fn->bitmaps; b && len; b = b->next) {
        if (cl_bitmap_size(b->bm) < size && b->owned && !cl_bitmap_busy(b->bm)) {
            cl_bitmap *bm = bitmap_resized(b->bm, size);
            if (bm) {
                cl_bitmap_free(b->bm);
                b->bm = bm;
            }
        }
        if (cl_bitmap_size(b->bm) >= off + len) {
            cl_bitmap_record_write(b->bm, off, len);
        }
    }
}

#define L2_DIRTY 1ull

/* qcow2_cache_flush of the refcount cache: a changed refcount block is
 * written whole */
static void flush_refcounts(sim_node *n, sim_node *fn)
{
    sim_qcow2 *q = n->q;
    if (q->refblock_dirty) {
        file_written(fn, 2 * q->cluster_size, q->cluster_size);
        q->refblock_dirty = false;
    }
}

/* qcow2_cache_flush of the L2 cache (its dependency, the refcount cache,
 * first): every changed L2 table is written whole */
static void flush_l2(sim_node *n, sim_node *fn)
{
    sim_qcow2 *q = n->q;
    uint64_t cs = q->cluster_size, ntables = q->nclusters / (cs / 8) + 1;
    flush_refcounts(n, fn);
    for (uint64_t t = 0; t < ntables; t++) {
        if (q->l2_table[t] & L2_DIRTY) {
            q->l2_table[t] &= ~L2_DIRTY;
            file_written(fn, q->l2_table[t], cs);
        }
    }
}

static void refcount_updated(sim_node *n, uint64_t host)
{
    uint64_t cs = n->q->cluster_size;
    if (host / cs < cs / 2) {
        n->q->refblock_dirty = true;
    }
}

void q2_meta_l2_alloc(sim_node *n, uint64_t table)
{
    /* l2_allocate: the table's cluster is allocated (a refcount changes),
     * the refcount cache is flushed, the new table is zeroed in the L2
     * cache and the L2 cache flushed, then the L1 entry's 512-byte
     * sector is written (qcow2_write_l1_entry) */
    sim_node *fn = file_node(n);
    sim_qcow2 *q = n->q;
    uint64_t cs = q->cluster_size, h = q->l2_table[table] & ~L2_DIRTY;
    if (fn && h + cs > fn->f->data.size) {
        store_truncate(&fn->f->data, h + cs);
    }
    refcount_updated(n, h);
    flush_refcounts(n, fn);
    q->l2_table[table] = h | L2_DIRTY;
    flush_l2(n, fn);
    file_written(fn, 3 * cs + table * 8 / 512 * 512, 512);
}

void q2_meta_l2_entry(sim_node *n, uint64_t ci)
{
    uint64_t per_table = n->q->cluster_size / 8;
    if (n->q->l2_table[ci / per_table]) {
        n->q->l2_table[ci / per_table] |= L2_DIRTY;
    }
}

void q2_meta_cluster_alloc(sim_node *n, uint64_t ci, uint64_t host, bool new_host)
{
    /* the data cluster is written whole now; its L2 entry and refcount
     * change in the caches */
    file_written(file_node(n), host, n->q->cluster_size);
    q2_meta_l2_entry(n, ci);
    if (new_host) {
        refcount_updated(n, host);
    }
}

void q2_meta_flush(sim_node *n)
{
    sim_node *fn = file_node(n);
    flush_l2(n, fn);
    flush_refcounts(n, fn);
}
