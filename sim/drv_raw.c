/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The raw format driver (QEMU's block/raw-format.c): the file child seen
 * through an optional offset and size window.
 */
#include "sim/node.h"

static uint64_t raw_size(sim_node *n)
{
    if (n->raw_has_size) {
        return n->raw_size;
    }
    return node_size(n->file) > n->raw_offset ? node_size(n->file) - n->raw_offset : 0;
}

static int raw_read(sim *s, sim_node *n, uint64_t off, uint64_t len, sim_data *out)
{
    return node_read_data(s, n->file, off + n->raw_offset, len, out);
}

static int raw_write(sim *s, sim_node *n, uint64_t off, uint64_t len, const sim_data *in)
{
    return node_write_data(s, n->file, off + n->raw_offset, len, in);
}

static int raw_discard(sim *s, sim_node *n, uint64_t off, uint64_t len)
{
    return node_discard(s, n->file, off + n->raw_offset, len);
}

static int raw_block_status(sim *s, sim_node *n, uint64_t off, uint64_t len, uint64_t *pnum)
{
    return node_block_status(s, n->file, off + n->raw_offset, len, pnum);
}

const sim_drv_ops drv_raw = {
    .name = "raw",
    .size = raw_size,
    .read = raw_read,
    .write = raw_write,
    .discard = raw_discard,
    .block_status = raw_block_status,
};
