/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * When a backup job may do a run of copy tasks that only write zeroes as one
 * write (cl_io.merge_zero_tasks): only where nothing can tell the difference
 * from one task per millisecond of virtual time. That rules out a target
 * that counts or times requests (blkdebug rules and events, throttling,
 * filters), a target smaller than the source (a merged write would fail at
 * once where the tasks fail part way), and a VMA backup, whose jobs run
 * beside ours tick by tick.
 */
#include "sim_int.h"

/* Does a zero write to n land the same whether split at cluster boundaries
 * or not, never fail, and fire no blkdebug event anyone could see? */
static bool plain_zero_target(const sim_node *n)
{
    while (n) {
        switch (n->drv) {
        case DRV_FILE:
        case DRV_NULL:
            return true;
        case DRV_RAW:
            n = n->file;
            break;
        case DRV_QCOW2:
            /* a partial cluster is written as data, with events on file */
            return !n->file || n->file->drv == DRV_FILE;
        default:
            return false;
        }
    }
    return false;
}

bool backup_may_merge_zero_tasks(sim *s, sim_node *source, sim_node *target)
{
    return !s->pve && source && target && node_size(target) >= node_size(source) &&
           plain_zero_target(target);
}
