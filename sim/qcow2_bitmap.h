/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What a qcow2 image's bitmap directory shows (sim/qcow2_bitmap.c). */
#ifndef BLOCKSIM_SIM_QCOW2_BITMAP_H
#define BLOCKSIM_SIM_QCOW2_BITMAP_H

#include "sim/sim_int.h"

/* The stored bitmaps of n's image as qcow2_get_bitmap_info_list lists
 * them: [{"name", "granularity", "flags": ["in-use"?, "auto"?]}], in
 * directory order. */
json_object *q2_bitmap_info_list(sim_node *n);
/* Is the stored bitmap in use: loaded by a node that has the image open
 * read-write (qcow2_load_dirty_bitmaps sets IN_USE; storing clears it)? */
bool q2_bitmap_in_use(const sim_node *n, const sim_saved_bitmap *sb);

/* Load the image's stored bitmaps into node n (opening the image). */
void q2_load_bitmaps(sim_node *n);

#endif
