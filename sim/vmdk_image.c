/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmdk images as files (QEMU 7.2's block/vmdk.c, one sparse extent): the
 * grain table beside the file's bytes, guest reads through it, and the
 * write rules of a grain. The file holds each grain's bytes at its host
 * offset; a streamOptimized grain is stored as is, not deflated, so the
 * file's length is an upper bound of QEMU's (see sim/MODEL.md).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim/fs.h"
#include "sim/vmdk_image.h"

int vmdk_parse_subformat(const char *name, bool *stream)
{
    /* QAPI's BlockdevVmdkSubformat */
    static const char *const other[] = { "monolithicFlat", "twoGbMaxExtentSparse",
                                         "twoGbMaxExtentFlat", NULL };
    *stream = false;
    if (!name || !strcmp(name, "monolithicSparse")) {
        return 0;
    }
    if (!strcmp(name, "streamOptimized")) {
        *stream = true;
        return 0;
    }
    for (const char *const *o = other; *o; o++) {
        if (!strcmp(name, *o)) {
            return -ENOTSUP;
        }
    }
    return -EINVAL;
}

void vmdk_image_create(sim_file *f, uint64_t size, bool stream)
{
    sim_vmdk *v = calloc(1, sizeof *v);
    /* vmdk_co_do_create: the size in whole sectors */
    v->size = (size + 511) / 512 * 512;
    v->grain = VMDK_GRAIN_SIZE;
    v->stream = stream;
    l2m_init(&v->gt, (v->size + v->grain - 1) / v->grain, v->grain);
    v->next_host = VMDK_CREATE_FILE_SIZE;
    store_truncate(&f->data, 0);
    store_truncate(&f->data, VMDK_CREATE_FILE_SIZE);
    vmdk_image_free(f->vmdk);
    f->vmdk = v;
}

void vmdk_image_free(sim_vmdk *v)
{
    if (v) {
        l2m_free(&v->gt);
        free(v);
    }
}

const char *vmdk_create_type(const sim_vmdk *v)
{
    return v->stream ? "streamOptimized" : "monolithicSparse";
}

void vmdk_image_status(const sim_vmdk *v, uint64_t off, uint64_t len, bool *alloc,
                       uint64_t *pnum)
{
    uint64_t g = off / v->grain, end = off + len;
    uint64_t lim = (end + v->grain - 1) / v->grain;
    uint64_t e = l2m_get(&v->gt, g), next;
    *alloc = e != 0;
    if (e) {
        /* allocated grains, whatever their host offsets */
        next = g + 1;
        while (next < lim && l2m_get(&v->gt, next)) {
            next = l2m_run_end(&v->gt, next, lim);
        }
    } else {
        next = l2m_skip(&v->gt, g + 1, lim, false);
    }
    *pnum = (next * v->grain < end ? next * v->grain : end) - off;
}

void vmdk_image_read_data(const sim_file *f, uint64_t off, uint64_t len, sim_data *out)
{
    const sim_vmdk *v = f->vmdk;
    while (len) {
        if (off >= v->size) {
            data_add_zero(out, len);
            return;
        }
        uint64_t g = off / v->grain, in = off % v->grain;
        uint64_t end = v->size - off < len ? v->size : off + len;
        uint64_t lim = (end + v->grain - 1) / v->grain;
        uint64_t e = l2m_get(&v->gt, g), n;
        if (e) {
            /* grains that follow each other on the host in one go */
            uint64_t gj = l2m_run_end(&v->gt, g, lim);
            n = (gj * v->grain < end ? gj * v->grain : end) - off;
            store_read_data(&f->data, e + in, n, out);
        } else {
            uint64_t gj = l2m_skip(&v->gt, g + 1, lim, false);
            n = (gj * v->grain < end ? gj * v->grain : end) - off;
            data_add_zero(out, n);
        }
        off += n;
        len -= n;
    }
}

/* A new grain at the file's end (get_cluster_offset's allocation) */
static uint64_t grain_alloc(sim_file *f)
{
    sim_vmdk *v = f->vmdk;
    uint64_t h = v->next_host;
    v->next_host += v->grain;
    store_truncate(&f->data, v->next_host);
    return h;
}

int vmdk_grain_prepare(sim_file *f, uint64_t pos, uint64_t n, uint64_t *grain_host,
                       bool *fresh)
{
    sim_vmdk *v = f->vmdk;
    uint64_t g = pos / v->grain, in_g = pos % v->grain;
    *fresh = false;
    if (g >= v->gt.len || n > v->grain - in_g) {
        return -EIO;        /* find_extent: none there */
    }
    *grain_host = l2m_get(&v->gt, g);
    *fresh = !*grain_host;
    if (!v->stream) {
        if (*fresh) {
            /* a new grain: the rest of it reads as zeroes (no backing) */
            *grain_host = grain_alloc(f);
        }
        return 0;
    }
    if (!*fresh) {
        /* "Could not write to allocated cluster for streamOptimized" */
        return -EIO;
    }
    *grain_host = grain_alloc(f);
    /* vmdk_write_extent: only whole grains, or the rest of the image in
     * its last one; the grain allocated above stays unused */
    uint64_t grain_end = (g + 1) * v->grain;
    if (in_g || (n < v->grain && pos + n != (grain_end < v->size ? grain_end : v->size))) {
        return -EINVAL;
    }
    return 0;
}

void vmdk_grain_commit(sim_vmdk *v, uint64_t pos, uint64_t grain_host)
{
    uint64_t g = pos / v->grain;
    l2m_set(&v->gt, g, g + 1, grain_host);
}

int vmdk_write_check(const sim_vmdk *v, uint64_t off)
{
    /* vmdk_pwritev: "Wrong offset" past the last sector */
    return (off + 511) / 512 > v->size / 512 ? -EIO : 0;
}

int vmdk_image_write(sim_file *f, uint64_t off, uint64_t len, const sim_data *in)
{
    sim_vmdk *v = f->vmdk;
    int r = vmdk_write_check(v, off);
    for (uint64_t done = 0; !r && done < len;) {
        uint64_t pos = off + done, in_g = pos % v->grain;
        uint64_t n = v->grain - in_g < len - done ? v->grain - in_g : len - done;
        uint64_t host;
        bool fresh;
        if ((r = vmdk_grain_prepare(f, pos, n, &host, &fresh)) < 0) {
            break;
        }
        sim_data piece;
        data_init(&piece);
        if (in) {
            data_add_range(&piece, in, done, n);
        } else {
            data_add_zero(&piece, n);
        }
        store_write_data(&f->data, host + in_g, &piece);
        data_free(&piece);
        if (fresh) {
            vmdk_grain_commit(v, pos, host);
        }
        done += n;
    }
    return r;
}
