/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The raw format driver (QEMU's block/raw-format.c): the file child seen
 * through an optional offset and size window.
 */
#include "sim/node.h"

/* raw_read_options / raw_apply_options, in QEMU's order */
static json_object *raw_open(sim *s, json_object *opts, const char *name, sim_node **out)
{
    sim_node *child = NULL, *n = NULL;
    json_object *err = blockdev_open_file_child(s, json_member(opts, "file"), name, "raw", &child);
    if (err || (err = blockdev_new_node(s, DRV_RAW, name, child, &n))) {
        return err;
    }
    int64_t off = json_member(opts, "offset") ? json_object_get_int64(json_member(opts, "offset")) : 0;
    int64_t sz = json_member(opts, "size") ? json_object_get_int64(json_member(opts, "size")) : 0;
    uint64_t real = node_size(child);
    if (off < 0 || sz < 0) {
        err = qmp_error("GenericError", "Parameter '%s' expects a non-negative number "
                        "below 2^64", off < 0 ? "offset" : "size");
    } else if ((uint64_t)off > real) {
        err = qmp_error("GenericError", "Offset (%llu) cannot be greater than size of "
                        "the containing file (%llu)", (unsigned long long)off,
                        (unsigned long long)real);
    } else if (json_member(opts, "size") && real - (uint64_t)off < (uint64_t)sz) {
        err = qmp_error("GenericError", "The sum of offset (%llu) and size (%llu) has to "
                        "be smaller or equal to the  actual size of the containing file "
                        "(%llu)", (unsigned long long)off, (unsigned long long)sz,
                        (unsigned long long)real);
    } else if (sz % 512) {
        err = qmp_error("GenericError", "Specified size is not multiple of 512");
    }
    if (err) {
        blockdev_drop_new(s, n);
        return err;
    }
    n->raw_offset = (uint64_t)off;
    n->raw_has_size = json_member(opts, "size") != NULL;
    n->raw_size = n->raw_has_size ? (uint64_t)json_object_get_int64(json_member(opts, "size")) : 0;
    *out = n;
    return NULL;
}

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

/* raw_cancel_in_flight: to the file child */
static void raw_cancel_in_flight(sim *s, sim_node *n)
{
    node_cancel_in_flight(s, n->file);
}

const sim_drv_ops drv_raw = {
    .name = "raw",
    .open = raw_open,
    .cancel_in_flight = raw_cancel_in_flight,
    .size = raw_size,
    .read = raw_read,
    .write = raw_write,
    .discard = raw_discard,
    .block_status = raw_block_status,
};
