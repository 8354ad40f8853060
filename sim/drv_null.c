/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The null-co driver (QEMU's block/null.c): raw_size bytes of nothing;
 * reads give zeroes, writes and discards are dropped.
 */
#include <errno.h>

#include "sim/node.h"

/* null-co: a size (default 1 GiB) and nothing behind it */
static json_object *null_open(sim *s, json_object *opts, const char *name, sim_node **out)
{
    json_object *sz = json_member(opts, "size");
    if (sz && json_object_get_int64(sz) < 0) {
        return qmp_error("GenericError", "Parameter 'size' expects a non-negative number "
                         "below 2^64");
    }
    json_object *err = blockdev_new_node(s, DRV_NULL, name, NULL, out);
    if (!err) {
        (*out)->raw_has_size = true;
        (*out)->raw_size = sz ? (uint64_t)json_object_get_int64(sz) : 1ull << 30;
    }
    return err;
}

static uint64_t null_size(sim_node *n)
{
    return n->raw_size;
}

static int null_read(sim *s, sim_node *n, uint64_t off, uint64_t len, sim_data *out)
{
    /* read-zeroes: the simulator's null-co reads zeroes */
    if (off > n->raw_size || len > n->raw_size - off) {
        return -EIO;
    }
    data_add_zero(out, len);
    return 0;
}

static int null_write(sim *s, sim_node *n, uint64_t off, uint64_t len, const sim_data *in)
{
    return 0;   /* null-co drops what it is given */
}

static int null_discard(sim *s, sim_node *n, uint64_t off, uint64_t len)
{
    return 0;
}

static int null_block_status(sim *s, sim_node *n, uint64_t off, uint64_t len, uint64_t *pnum)
{
    /* null-co's block status: neither data nor (read-zeroes off) zero */
    *pnum = len;
    return CL_STATUS_ALLOCATED;
}

const sim_drv_ops drv_null = {
    .name = "null-co",
    .open = null_open,
    .size = null_size,
    .read = null_read,
    .write = null_write,
    .discard = null_discard,
    .block_status = null_block_status,
};
