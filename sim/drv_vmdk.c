/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The vmdk format driver (QEMU 7.2's block/vmdk.c) for the one-extent
 * sparse images qemu-img creates (monolithicSparse, streamOptimized): the
 * grain table lives beside the file's bytes (sim/vmdk_image.c); the driver
 * maps guest requests onto grains and moves the bytes through its file
 * node. A streamOptimized image takes each grain once and whole, which is
 * what a compressing backup gives it.
 */
#include <errno.h>

#include "sim/error.h"
#include "sim/node.h"
#include "sim/vmdk_image.h"

/* The file the vmdk image lives in, under whatever sits between */
static sim_file *vmdk_file(sim_node *n)
{
    sim_node *fn = n->file;
    while (fn && fn->drv != DRV_FILE) {
        fn = fn->file;
    }
    return fn ? fn->f : NULL;
}

static json_object *vmdk_open(sim *s, json_object *opts, const char *name, sim_node **out)
{
    sim_node *child = NULL, *n = NULL;
    json_object *err = blockdev_open_file_child(s, json_member(opts, "file"), name, "vmdk",
                                                &child);
    if (err) {
        return err;
    }
    json_object *backing = json_member(opts, "backing");
    if (backing && !json_object_is_type(backing, json_type_null)) {
        node_unref(s, child);
        return qmp_error("GenericError", "the simulator models vmdk images without backing files");
    }
    sim_node *fn = child;
    while (fn && fn->drv != DRV_FILE) {
        fn = fn->file;
    }
    if (!fn || !fn->f->vmdk) {
        node_unref(s, child);
        return qmp_error("GenericError", "Image not in VMDK format");
    }
    if ((err = blockdev_new_node(s, DRV_VMDK, name, child, &n))) {
        return err;
    }
    *out = n;
    return NULL;
}

static uint64_t vmdk_size(sim_node *n)
{
    return vmdk_file(n)->vmdk->size;
}

static uint64_t vmdk_cluster_size(sim_node *n)
{
    /* vmdk_get_info: the grain size of a sparse extent */
    return vmdk_file(n)->vmdk->grain;
}

static int vmdk_refuse(sim_node *n, uint64_t off, uint64_t len, bool write)
{
    return off + len > vmdk_size(n) ? -EIO : 0;
}

static int vmdk_read(sim *s, sim_node *n, uint64_t off, uint64_t len, sim_data *out)
{
    const sim_vmdk *v = vmdk_file(n)->vmdk;
    while (len) {
        bool alloc;
        uint64_t run;
        vmdk_image_status(v, off, len, &alloc, &run);
        if (!alloc) {
            data_add_zero(out, run);
        } else {
            /* grain by grain: each has its own place in the file */
            run = v->grain - off % v->grain < len ? v->grain - off % v->grain : len;
            uint64_t host = l2m_get(&v->gt, off / v->grain) + off % v->grain;
            blkdebug_event(s, n->file, v->stream ? EV_READ_COMPRESSED : EV_READ_AIO);
            int r = node_read_data(s, n->file, host, run, out);
            if (r < 0) {
                return r;
            }
        }
        off += run;
        len -= run;
    }
    return 0;
}

/* vmdk_pwritev; in NULL: zeroes. There is no zeroed-grain feature in the
 * images qemu-img makes by default, so vmdk_co_pwrite_zeroes refuses and
 * the generic layer writes a buffer of zeroes instead: the same grains. */
static int vmdk_write(sim *s, sim_node *n, uint64_t off, uint64_t len, const sim_data *in)
{
    sim_file *f = vmdk_file(n);
    sim_vmdk *v = f->vmdk;
    int r = vmdk_write_check(v, off);
    for (uint64_t done = 0; !r && done < len;) {
        uint64_t pos = off + done, in_g = pos % v->grain;
        uint64_t piece = v->grain - in_g < len - done ? v->grain - in_g : len - done;
        uint64_t host;
        bool fresh;
        if ((r = vmdk_grain_prepare(f, pos, piece, &host, &fresh)) < 0) {
            if (r == -EIO && v->stream && !fresh) {
                sim_error_report(s, "Could not write to allocated cluster for streamOptimized");
            }
            break;
        }
        sim_data d;
        data_init(&d);
        if (in) {
            data_add_range(&d, in, done, piece);
        } else {
            data_add_zero(&d, piece);
        }
        blkdebug_event(s, n->file, v->stream ? EV_WRITE_COMPRESSED : EV_WRITE_AIO);
        r = node_write_data(s, n->file, host + in_g, piece, &d);
        data_free(&d);
        if (!r && fresh) {
            vmdk_grain_commit(v, pos, host);
        }
        done += piece;
    }
    return r;
}

/* vmdk has no bdrv_co_pdiscard: a discard does nothing and succeeds */
static int vmdk_discard(sim *s, sim_node *n, uint64_t off, uint64_t len)
{
    return 0;
}

static int vmdk_block_status(sim *s, sim_node *n, uint64_t off, uint64_t len, uint64_t *pnum)
{
    bool alloc;
    vmdk_image_status(vmdk_file(n)->vmdk, off, len, &alloc, pnum);
    /* no backing file: what is not allocated reads as zeroes */
    return alloc ? CL_STATUS_DATA | CL_STATUS_ALLOCATED : CL_STATUS_ZERO;
}

const sim_drv_ops drv_vmdk = {
    .name = "vmdk",
    .open = vmdk_open,
    .size = vmdk_size,
    .cluster_size = vmdk_cluster_size,
    .refuse = vmdk_refuse,
    .read = vmdk_read,
    .write = vmdk_write,
    .discard = vmdk_discard,
    .block_status = vmdk_block_status,
    .compressed_writes = true,
};
