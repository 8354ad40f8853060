/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The file driver (QEMU's block/file-posix.c): a node over one file of the
 * in-memory file system (sim/fs.h). Zeroes and discards punch holes, which
 * block status reports as QEMU's SEEK_DATA/SEEK_HOLE finds them.
 */
#include "sim/node.h"

static json_object *file_open(sim *s, json_object *opts, const char *name, sim_node **out)
{
    const char *path = json_str(opts, "filename");
    sim_file *f = fs_lookup(s, path);
    if (!f) {
        return qmp_error("GenericError", "Could not open '%s': No such file or directory", path);
    }
    json_object *err = blockdev_new_node(s, DRV_FILE, name, NULL, out);
    if (!err) {
        (*out)->f = f;
    }
    return err;
}

static uint64_t file_size(sim_node *n)
{
    /* bdrv_getlength: the file's length in whole sectors */
    return (n->f->data.size + 511) / 512 * 512;
}

static int file_read(sim *s, sim_node *n, uint64_t off, uint64_t len, sim_data *out)
{
    store_read_data(&n->f->data, off, len, out);
    return 0;
}

static int file_write(sim *s, sim_node *n, uint64_t off, uint64_t len, const sim_data *in)
{
    if (!in) {
        if (off + len > n->f->data.size) {
            n->f->data.size = off + len;
        }
        store_zero(&n->f->data, off, len);
    } else {
        store_write_data(&n->f->data, off, in);
    }
    return 0;
}

static int file_discard(sim *s, sim_node *n, uint64_t off, uint64_t len)
{
    store_zero(&n->f->data, off, len);
    return 0;
}

/* raw_co_block_status with want_zero: SEEK_DATA/SEEK_HOLE on the file's
 * allocated blocks (sim/store.h). A hole reads as zeroes; either way the
 * protocol layer counts as allocated (bdrv_co_block_status adds ALLOCATED
 * to DATA or ZERO), so the want_zero=false answer (all data) would tell
 * callers of bdrv_is_allocated nothing else. */
static int file_block_status(sim *s, sim_node *n, uint64_t off, uint64_t len, uint64_t *pnum)
{
    (void)s;
    bool data = store_block_status(&n->f->data, off, len, pnum);
    return (data ? CL_STATUS_DATA : CL_STATUS_ZERO) | CL_STATUS_ALLOCATED;
}

const sim_drv_ops drv_file = {
    .name = "file",
    .open = file_open,
    .size = file_size,
    .read = file_read,
    .write = file_write,
    .discard = file_discard,
    .block_status = file_block_status,
};
