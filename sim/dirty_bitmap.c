/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A node's dirty bitmaps as QEMU's block/dirty-bitmap.c checks and copies
 * them: bdrv_dirty_bitmap_check (busy / read-only / inconsistent) and the copy a resized
 * node gets (bdrv_dirty_bitmap_truncate). The listing itself is node.c's.
 */
#include "sim/node.h"
#include "sim/error.h"

bool bitmap_readonly(const sim_node *n, const sim_bitmap *b)
{
    /* qcow2 marks its persistent bitmaps read-only while the image is
     * (qcow2_load_dirty_bitmaps on a read-only open, qcow2_reopen_bitmaps_ro);
     * a read-write reopen clears the flag (qcow2_reopen_bitmaps_rw) */
    return b->persistent && n->read_only;
}

bool bitmap_busy(const sim_bitmap *b)
{
    /* a job, an NBD export (nbd.c) or a transaction's removal holds it */
    return cl_bitmap_busy(b->bm) || b->exported || b->txn_busy;
}

json_object *bitmap_check(const sim_node *n, const sim_bitmap *b, unsigned flags)
{
    if ((flags & BITMAP_CHECK_BUSY) && bitmap_busy(b)) {
        return qmp_error("GenericError",
                         "Bitmap '%s' is currently in use by another operation and cannot be used",
                         b->name);
    }
    if ((flags & BITMAP_CHECK_RO) && bitmap_readonly(n, b)) {
        return qmp_error("GenericError", "Bitmap '%s' is readonly and cannot be modified",
                         b->name);
    }
    if ((flags & BITMAP_CHECK_INCONSISTENT) && b->inconsistent) {
        /* QEMU adds a hint (BITMAP_INCONSISTENT_HINT) that only its
         * command-line tools print */
        return qmp_error("GenericError", "Bitmap '%s' is inconsistent and cannot be used",
                         b->name);
    }
    return NULL;
}

cl_bitmap *bitmap_resized(const cl_bitmap *old, uint64_t size)
{
    cl_bitmap *bm = cl_bitmap_new(size, cl_bitmap_granularity(old), NULL);
    if (!bm) {
        return NULL;
    }
    uint64_t end = size < cl_bitmap_size(old) ? size : cl_bitmap_size(old);
    int64_t off = 0;
    while ((off = cl_bitmap_next_dirty(old, (uint64_t)off, end)) >= 0 && (uint64_t)off < end) {
        int64_t clean = cl_bitmap_next_clean(old, (uint64_t)off, end);
        uint64_t stop = clean < 0 ? end : (uint64_t)clean;
        cl_bitmap_set(bm, (uint64_t)off, stop - (uint64_t)off, NULL);
        off = (int64_t)stop;
    }
    cl_bitmap_set_enabled(bm, cl_bitmap_enabled(old), NULL);
    return bm;
}
