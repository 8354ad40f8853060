/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Layer 1 (files): the in-memory file system, the qcow2 metadata kept beside
 * an image file's bytes, and reads of image chains by path, as qemu-img and
 * other processes see them without a block graph (sim/fs.c).
 */
#ifndef BLOCKSIM_SIM_FS_H
#define BLOCKSIM_SIM_FS_H

#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>

#include "cluster/cluster.h"
#include "sim/error.h"
#include "sim/l2_map.h"
#include "sim/machine.h"
#include "sim/store.h"
#include "sim/util.h"

/* QEMU 7.2 defaults the simulator follows. */
#define Q2_DEFAULT_CLUSTER_SIZE 65536u     /* qemu-img create / blockdev-create qcow2 */
#define BACKUP_MIN_CLUSTER_SIZE 65536u     /* backup: max(this, target's cluster) */
#define BITMAP_DEFAULT_GRAN_MIN 4096u      /* default granularity: the cluster size, */
#define BITMAP_DEFAULT_GRAN_MAX 65536u     /* clamped to [4 KiB, 64 KiB] */

#define Q2_ZERO 1ull    /* L2 entry flag: reads as zeroes */

typedef struct sim_saved_bitmap {
    char *name;
    cl_bitmap *bm;
    uint64_t entry_offset;      /* its bitmap directory entry in the file (qcow2_bitmap.c) */
    uint32_t reserved_flags;    /* flag bits QEMU 7.2 does not know, poked into the file */
    bool in_use;                /* IN_USE left on disk by a process that died holding it:
                                 * its data is lost (inconsistent when loaded) */
    struct sim_saved_bitmap *next;
} sim_saved_bitmap;

/* An internal snapshot (sim/qcow2_snapshot.c): the guest's cluster map as
 * it was, and what `qemu-img snapshot -l` lists. */
typedef struct sim_snapshot {
    char *id, *name;
    l2_map map;             /* a copy of the image's L2 entries when taken */
    uint64_t date_sec, date_nsec, vm_clock_nsec, vm_state_size;
    struct sim_snapshot *next;
} sim_snapshot;

typedef struct sim_qcow2 {
    uint64_t size;          /* virtual size */
    uint64_t cluster_size;
    uint64_t nclusters;
    l2_map l2;              /* per guest cluster: host offset | Q2_ZERO, 0 = unallocated,
                             * as runs (l2_map.h); read and written through the
                             * l2_* functions below */
    uint64_t *l2_table;     /* per L2 table: its host offset (0 = none yet), bit 0:
                             * changed in QEMU's L2 cache, not written (qcow2_meta.c) */
    bool refblock_dirty;    /* refcount block 0 changed in the refcount cache */
    uint64_t next_host;     /* next free host offset */
    char *backing;          /* backing file name, or NULL */
    char *backing_fmt;
    sim_saved_bitmap *bitmaps;  /* persistent bitmaps stored in the image */
    uint64_t bm_dir_offset, bm_dir_size;    /* the bitmap directory, 0 when none */
    sim_snapshot *snapshots;    /* internal snapshots, oldest first */
    uint8_t *l2_shared;     /* per L2 table: a snapshot holds it too, so the
                             * next write copies it (NULL: no snapshot yet) */
} sim_qcow2;

struct sim_file {
    char *path;
    sim_store data;
    sim_qcow2 *qcow2;       /* the bytes hold a qcow2 image */
    struct sim_vmdk *vmdk;  /* or a vmdk image (sim/vmdk_image.h) */
    struct sim_file *next;
};

/* qcow2_snapshot.c: an internal snapshot NAME of image q in file f taken
 * now (the virtual clock), after the others; is host cluster `host` held
 * by a snapshot; free them all; one line of qemu-img snapshot -l (NULL:
 * the header), without its newline. */
sim_snapshot *q2_snapshot_create(sim_file *f, sim_qcow2 *q, const char *name, uint64_t now_ns);
bool q2_host_shared(const sim_qcow2 *q, uint64_t host);
void q2_snapshots_free(sim_qcow2 *q);
void q2_snapshot_dump(FILE *out, const sim_snapshot *sn);

sim_file *fs_lookup(sim *s, const char *path);
sim_file *fs_create(sim *s, const char *path);
void fs_free_all(sim *s);
sim_qcow2 *q2_new(uint64_t size, uint64_t cluster_size);
/* Can a qcow2 image of this size be made? 0; -EFBIG past QEMU's limit (its
 * largest L1 table); -ENOMEM past the simulator's (SIM_Q2_MAX_CLUSTERS). */
#define SIM_Q2_MAX_CLUSTERS (1ull << 24)
int q2_size_check(uint64_t size, uint64_t cluster_size);
void q2_free(sim_qcow2 *q);
/* Grow or shrink the image to ncl guest clusters (kept entries stay). */
void q2_set_clusters(sim_qcow2 *q, uint64_t ncl);
int img_open_chain_read(sim *s, const char *path, uint64_t off, uint64_t len,
                        void *buf, int depth);
int img_chain_read_data(sim *s, const char *path, uint64_t off, uint64_t len,
                        sim_data *out, int depth);
int img_chain_extent(sim *s, const char *path, uint64_t off, uint64_t len,
                     uint64_t *pnum, bool *zero, const uint8_t **data, int depth);
uint64_t img_guest_size(sim *s, const char *path);
/* What QEMU's format probe says of the file: "qcow2", "vmdk" or "raw". */
const char *img_probe_format(const sim_file *f);
char *path_relative_to(const char *image, const char *backing);

/* The L2 entries of a qcow2 image (sim/l2_map.h does the work): entry ci;
 * set it, or [ci, end) to v, v + cluster, ... (v without a host: v each);
 * the end of the run of entries continuing entry ci (same kind, host
 * clusters following each other), below lim; the first entry from i below
 * lim that is not unallocated (not a zero cluster), or lim; set the zero
 * flag on [i, end), true if some entry lacked it; all unallocated. */
static inline uint64_t l2_get(const sim_qcow2 *q, uint64_t ci)
{
    return l2m_get(&q->l2, ci);
}
static inline void l2_put(sim_qcow2 *q, uint64_t ci, uint64_t v)
{
    l2m_set(&q->l2, ci, ci + 1, v);
}
static inline void l2_put_range(sim_qcow2 *q, uint64_t ci, uint64_t end, uint64_t v)
{
    l2m_set(&q->l2, ci, end, v);
}
static inline uint64_t l2_run_end(const sim_qcow2 *q, uint64_t ci, uint64_t lim)
{
    return l2m_run_end(&q->l2, ci, lim);
}
static inline uint64_t l2_skip_unalloc(const sim_qcow2 *q, uint64_t i, uint64_t lim)
{
    return l2m_skip(&q->l2, i, lim, false);
}
static inline uint64_t l2_skip_zero(const sim_qcow2 *q, uint64_t i, uint64_t lim)
{
    return l2m_skip(&q->l2, i, lim, true);
}
static inline bool l2_flag_zero(sim_qcow2 *q, uint64_t i, uint64_t end)
{
    return l2m_flag_zero(&q->l2, i, end);
}
static inline void l2_clear(sim_qcow2 *q)
{
    l2m_clear(&q->l2);
}

#endif /* BLOCKSIM_SIM_FS_H */
