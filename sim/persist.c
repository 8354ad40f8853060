/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Persistent dirty bitmaps of qcow2 images. QEMU stores a qcow2 node's
 * persistent bitmaps into the image when the node is closed (VM quit,
 * blockdev-del, the end of a qemu-io or qemu-img run) and loads them when
 * the image is opened again. The simulator keeps them beside the image's
 * metadata (sim_qcow2.bitmaps), so every "process" that opens the file sees
 * what the last one stored.
 */
#include <stdlib.h>
#include <string.h>

#include "sim/node.h"
#include "sim/qcow2_bitmap.h"

void persist_store(sim_node *n)
{
    /* read-only bitmaps are not written (qcow2_store_persistent_dirty_bitmaps) */
    if (n->drv != DRV_QCOW2 || !n->q || n->read_only) {
        return;
    }
    size_t nwritten = 0;
    sim_saved_bitmap **written = NULL;
    for (sim_bitmap *b = n->bitmaps; b; b = b->next) {
        /* a bitmap a transaction is removing is not stored (skip_store) */
        /* an inconsistent one keeps its IN_USE entry as it is */
        if (!b->persistent || !b->name || b->txn_busy || b->inconsistent) {
            continue;
        }
        sim_saved_bitmap **pp = &n->q->bitmaps;
        while (*pp && strcmp((*pp)->name, b->name)) {
            pp = &(*pp)->next;
        }
        if (!*pp) {
            *pp = calloc(1, sizeof **pp);
            (*pp)->name = xstrdup(b->name);
        }
        cl_bitmap_free((*pp)->bm);
        (*pp)->bm = cl_bitmap_new(cl_bitmap_size(b->bm), cl_bitmap_granularity(b->bm), NULL);
        cl_bitmap_copy((*pp)->bm, b->bm, NULL);
        /* a bitmap frozen by a job is stored as the enabled bitmap it was */
        cl_bitmap_set_enabled((*pp)->bm, cl_bitmap_enabled(b->bm) || cl_bitmap_busy(b->bm), NULL);
        written = realloc(written, (nwritten + 1) * sizeof *written);
        written[nwritten++] = *pp;
    }
    q2_bitmaps_written(node_image_file(n), n->q, written, nwritten);
    free(written);
}
