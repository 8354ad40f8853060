/* SPDX-License-Identifier: GPL-2.0-or-later */
/* qcow2's metadata writes, as a bitmap on its file node sees them (sim/qcow2_meta.c). */
#ifndef BLOCKSIM_SIM_QCOW2_META_H
#define BLOCKSIM_SIM_QCOW2_META_H

#include "sim/node.h"

/* qcow2 node n gave L2 table `table` (index in the L1 table) a host cluster. */
void q2_meta_l2_alloc(sim_node *n, uint64_t table);
/* qcow2 node n mapped guest cluster ci to host cluster `host`; new_host:
 * the host cluster was allocated now (its refcount changed). */
void q2_meta_cluster_alloc(sim_node *n, uint64_t ci, uint64_t host, bool new_host);

/* The L2 entry of guest cluster ci changed (in QEMU's L2 cache). */
void q2_meta_l2_entry(sim_node *n, uint64_t ci);
/* qcow2_write_caches (a flush): dirty L2 tables and refcount blocks are written. */
void q2_meta_flush(sim_node *n);

#endif
