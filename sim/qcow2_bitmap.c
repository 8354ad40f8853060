/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The flags of a qcow2 image's stored bitmaps (QEMU 7.2
 * block/qcow2-bitmap.c): "auto" when stored enabled
 * (qcow2_store_persistent_dirty_bitmaps writes BME_FLAG_AUTO for an
 * enabled bitmap), "in-use" while a read-write node has it loaded
 * (qcow2_load_dirty_bitmaps and qcow2_reopen_bitmaps_rw set BME_FLAG_IN_USE;
 * storing clears it).
 */
#include <string.h>

#include "sim/qcow2_bitmap.h"

bool q2_bitmap_in_use(const sim_node *n, const sim_saved_bitmap *sb)
{
    if (!n || n->drv != DRV_QCOW2 || n->read_only) {
        return false;
    }
    for (const sim_bitmap *b = n->bitmaps; b; b = b->next) {
        if (b->persistent && b->name && !strcmp(b->name, sb->name)) {
            return true;
        }
    }
    return false;
}

json_object *q2_bitmap_info_list(sim_node *n)
{
    json_object *list = json_object_new_array();
    for (sim_saved_bitmap *sb = n->q->bitmaps; sb; sb = sb->next) {
        json_object *o = json_object_new_object(), *flags = json_object_new_array();
        if (q2_bitmap_in_use(n, sb)) {
            json_object_array_add(flags, json_object_new_string("in-use"));
        }
        if (cl_bitmap_enabled(sb->bm)) {
            json_object_array_add(flags, json_object_new_string("auto"));
        }
        json_object_object_add(o, "flags", flags);
        json_object_object_add(o, "name", json_object_new_string(sb->name));
        json_object_object_add(o, "granularity",
                               json_object_new_int64((int64_t)cl_bitmap_granularity(sb->bm)));
        json_object_array_add(list, o);
    }
    return list;
}

void q2_load_bitmaps(sim_node *n)
{
    /* qcow2_load_dirty_bitmaps: in the image's order, so the last stored is
     * listed first */
    for (sim_saved_bitmap *sb = n->q->bitmaps; sb; sb = sb->next) {
        cl_bitmap *bm = cl_bitmap_new(cl_bitmap_size(sb->bm), cl_bitmap_granularity(sb->bm), NULL);
        cl_bitmap_copy(bm, sb->bm, NULL);
        cl_bitmap_set_enabled(bm, cl_bitmap_enabled(sb->bm), NULL);
        bitmap_list_add(n, sb->name, bm, true, true);
    }
}
