/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Layer 1 (files): a vmdk image's metadata kept beside its file's bytes
 * (sim/vmdk_image.c), so qemu-img and the vmdk driver (sim/drv_vmdk.c) see
 * the same image. One sparse extent of 64 KiB grains, as QEMU 7.2's
 * qemu-img create makes for monolithicSparse and streamOptimized.
 */
#ifndef BLOCKSIM_SIM_VMDK_IMAGE_H
#define BLOCKSIM_SIM_VMDK_IMAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "sim/data.h"
#include "sim/l2_map.h"

/* block/vmdk.c's defaults for a new sparse extent */
#define VMDK_GRAIN_SIZE 65536u          /* 128 sectors */
#define VMDK_CREATE_FILE_SIZE 65536u    /* header, descriptor and tables: the file after create */

typedef struct sim_vmdk {
    uint64_t size;          /* virtual size */
    uint64_t grain;         /* grain (cluster) size */
    bool stream;            /* streamOptimized: grains compressed, each written once */
    l2_map gt;              /* grain table: per grain its host offset, 0 = unallocated */
    uint64_t next_host;     /* where the next grain goes (the file's end) */
} sim_vmdk;

struct sim_file;

/* "monolithicSparse" (also NULL: the default) or "streamOptimized": 0 and
 * *stream; another of QAPI's BlockdevVmdkSubformat names: -ENOTSUP (not
 * modelled); anything else: -EINVAL (qemu-img's "invalid parameter value"). */
int vmdk_parse_subformat(const char *name, bool *stream);
/* Make f a new, empty vmdk image of size bytes (rounded up to sectors). */
void vmdk_image_create(struct sim_file *f, uint64_t size, bool stream);
void vmdk_image_free(sim_vmdk *v);
const char *vmdk_create_type(const sim_vmdk *v);
/* Guest contents of [off, off + len) appended to out (past the end: zeroes). */
void vmdk_image_read_data(const struct sim_file *f, uint64_t off, uint64_t len, sim_data *out);
/* Block status of the leading run of [off, off + len): allocated grains
 * (*alloc) or not; *pnum bytes. */
void vmdk_image_status(const sim_vmdk *v, uint64_t off, uint64_t len, bool *alloc,
                       uint64_t *pnum);
/* vmdk_pwritev: in->len bytes at off (in NULL: len zero bytes, the generic
 * layer's bounce buffer after vmdk_co_pwrite_zeroes refused). A
 * streamOptimized grain takes only one write, of the whole grain (or of
 * the rest of the image in its last grain): -EIO for an allocated grain,
 * -EINVAL for a part of one (which still allocates it, as QEMU does before
 * it finds out). 0 or that errno. */
int vmdk_image_write(struct sim_file *f, uint64_t off, uint64_t len, const sim_data *in);
/* The steps of vmdk_image_write, for a driver that writes the bytes itself
 * (through its file node): the offset check of the whole request; then per
 * piece [pos, pos + n) inside one grain, where its grain lies (*grain_host,
 * allocated at the file's end when *fresh) or the errno above; after the
 * bytes of a fresh grain are written, its grain table entry. */
int vmdk_write_check(const sim_vmdk *v, uint64_t off);
int vmdk_grain_prepare(struct sim_file *f, uint64_t pos, uint64_t n, uint64_t *grain_host,
                       bool *fresh);
void vmdk_grain_commit(sim_vmdk *v, uint64_t pos, uint64_t grain_host);

#endif /* BLOCKSIM_SIM_VMDK_IMAGE_H */
