/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shared dirty-bitmap checks (sim/bitmap_extra.c). */
#ifndef BLOCKSIM_SIM_BITMAP_EXTRA_H
#define BLOCKSIM_SIM_BITMAP_EXTRA_H

#include "sim/sim_int.h"

/* bdrv_dirty_bitmap_check flags: BDRV_BITMAP_BUSY, BDRV_BITMAP_RO */
#define BITMAP_CHECK_BUSY 1u
#define BITMAP_CHECK_RO 2u
#define BITMAP_CHECK_DEFAULT (BITMAP_CHECK_BUSY | BITMAP_CHECK_RO)
#define BITMAP_CHECK_ALLOW_RO BITMAP_CHECK_BUSY

/* block_dirty_bitmap_lookup: "Node 'X' not found", "Dirty bitmap 'X' not found" */
json_object *bitmap_lookup_qmp(sim *s, const char *node, const char *name, sim_node **pn,
                               sim_bitmap **pb);
bool bitmap_readonly(const sim_node *n, const sim_bitmap *b);
bool bitmap_busy(const sim_bitmap *b);
/* NULL, or the error reply QEMU gives */
json_object *bitmap_check(const sim_node *n, const sim_bitmap *b, unsigned flags);

#endif
