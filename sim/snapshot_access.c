/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The snapshot-access driver (QEMU 7.2 block/snapshot-access.c): a read-only
 * view of its file child's point-in-time snapshot. Every request goes to
 * the child's snapshot-access API, which only copy-before-write provides
 * (copy_before_write.c); writes are not supported.
 */
#include <errno.h>
#include <stdlib.h>

#include "sim/node.h"

/* snapshot_access_open: the file child, which must be given. It takes no
 * permissions on it and shares all (snapshot_access_child_perm). */
json_object *snapshot_access_open(sim *s, json_object *opts, const char *name, sim_node **out)
{
    json_object *err, *ref = NULL;
    sim_node *file = NULL;
    if (name && (err = node_name_check(s, name))) {
        return err;
    }
    json_object_object_get_ex(opts, "file", &ref);
    if ((err = blockdev_open_child(s, ref, &file))) {
        return err;
    }
    sim_node *n = node_new(s, DRV_SNAPSHOT_ACCESS, name);
    n->file = file;
    *out = n;
    return NULL;
}

/* snapshot_access_co_preadv_part -> bdrv_co_preadv_snapshot */
int snapshot_access_read(sim *s, sim_node *n, uint64_t off, uint64_t len, sim_data *out)
{
    return cbw_snapshot_read(s, n->file, off, len, out);
}

/* snapshot_access_co_block_status -> bdrv_co_snapshot_block_status */
int snapshot_access_block_status(sim *s, sim_node *n, uint64_t off, uint64_t len,
                                 uint64_t *pnum)
{
    return cbw_snapshot_block_status(s, n->file, off, len, pnum);
}

/* snapshot_access_co_pdiscard -> bdrv_co_pdiscard_snapshot */
int snapshot_access_discard(sim *s, sim_node *n, uint64_t off, uint64_t len)
{
    return cbw_snapshot_discard(s, n->file, off, len);
}

/* ---- the driver ----------------------------------------------------------- */

static uint64_t snapshot_access_size(sim_node *n)
{
    return node_size(n->file);
}

static int snapshot_access_refuse(sim_node *n, uint64_t off, uint64_t len, bool write)
{
    return write ? -ENOTSUP : 0;    /* the snapshot is read-only */
}

static int snapshot_access_status(sim *s, sim_node *n, uint64_t off, uint64_t len,
                                  uint64_t *pnum)
{
    /* may fail (EACCES outside the snapshot): callers decide, as
     * block-copy reads what it cannot query and NBD reports it */
    return snapshot_access_block_status(s, n, off, len, pnum);
}

const sim_drv_ops drv_snapshot_access = {
    .name = "snapshot-access",
    .open = snapshot_access_open,
    .size = snapshot_access_size,
    .refuse = snapshot_access_refuse,
    .read = snapshot_access_read,
    .discard = snapshot_access_discard,
    .block_status = snapshot_access_status,
};
