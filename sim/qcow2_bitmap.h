/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What a qcow2 image's bitmap directory shows (sim/qcow2_bitmap.c). */
#ifndef BLOCKSIM_SIM_QCOW2_BITMAP_H
#define BLOCKSIM_SIM_QCOW2_BITMAP_H

#include "sim/node.h"

/* The stored bitmaps of n's image as qcow2_get_bitmap_info_list lists
 * them: [{"name", "granularity", "flags": ["in-use"?, "auto"?]}], in
 * directory order. */
json_object *q2_bitmap_info_list(sim_node *n);
/* Is the stored bitmap in use: loaded by a node that has the image open
 * read-write (qcow2_load_dirty_bitmaps sets IN_USE; storing clears it)? */
bool q2_bitmap_in_use(const sim_node *n, const sim_saved_bitmap *sb);

/* qcow2_store_persistent_dirty_bitmaps wrote the bitmaps `written` (in
 * directory order) of image q in file f: each gets its data clusters (the
 * non-zero parts) and its bitmap table, then a new directory is written
 * (update_ext_header_and_dir). Host clusters come from the image's
 * allocator, and the file grows to the directory's end. */
void q2_bitmaps_written(sim_file *f, sim_qcow2 *q, sim_saved_bitmap *const *written, size_t n);
/* Remove stored bitmap `name` from image q in f (the directory is
 * rewritten elsewhere when entries remain); false when absent. */
bool q2_saved_remove(sim_file *f, sim_qcow2 *q, const char *name);
/* The first stored bitmap whose directory entry QEMU 7.2 refuses
 * (check_dir_entry: reserved flags), or NULL. */
const char *q2_bitmaps_bad_entry(const sim_qcow2 *q);
/* XOR mask into the byte at off of image file f, where that byte belongs
 * to a bitmap directory entry's flags (or to the raw bytes otherwise). */
void q2_file_xor(sim_file *f, uint64_t off, uint8_t mask);
/* The file node (DRV_FILE) under node n, or NULL. */
sim_file *node_image_file(sim_node *n);

/* Load the image's stored bitmaps into node n (opening the image). */
void q2_load_bitmaps(sim_node *n);
/* The process holding n read-write ends without closing it (qemu-io's
 * abort): the IN_USE flags loading wrote stay in the image. */
void q2_bitmaps_abandon(sim_node *n);

#endif
