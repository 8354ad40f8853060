/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Layer 2 (block graph): nodes, their drivers and their dirty bitmaps.
 * node.c is the graph and generic I/O, blockdev.c opens nodes from
 * options, and each driver lives in its own file.
 */
#ifndef BLOCKSIM_SIM_NODE_H
#define BLOCKSIM_SIM_NODE_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>

#include "cluster/cluster.h"
#include "sim/data.h"
#include "sim/fs.h"
#include "sim/machine.h"

typedef enum {
    DRV_FILE, DRV_QCOW2, DRV_BLKDEBUG, DRV_RAW, DRV_CBW,
    DRV_NULL,                   /* null-co: raw_size bytes of nothing */
    DRV_SNAPSHOT_ACCESS, DRV_THROTTLE, DRV_VMDK,
    DRV_COMMIT_TOP, DRV_MIRROR_TOP, DRV_COR_FILTER,   /* block jobs' implicit filters */
    DRV_NBD,                    /* the NBD client (drv_nbd.c) */
} sim_driver;

typedef struct sim_bitmap {
    char *name;             /* NULL: anonymous (owned by a job or filter) */
    cl_bitmap *bm;
    bool persistent;
    bool owned;             /* we free bm when unlisting */
    int exported;           /* NBD exports serving it: busy meanwhile (nbd.c) */
    bool txn_busy;          /* a transaction removes it (sim/transaction.c) */
    bool hidden;            /* a job's own, on an implicit filter in QEMU: not listed */
    bool inconsistent;      /* loaded with IN_USE set: unusable, never stored */
    struct sim_bitmap *next;
} sim_bitmap;

typedef struct bd_rule {
    int event;
    bool inject;            /* else set-state */
    int state;              /* 0 = any */
    int err;
    bool once, immediately;
    int64_t offset;         /* -1 = any */
    unsigned iotype_mask;
    int new_state;
    struct bd_rule *next;       /* in rules of its event */
    struct bd_rule *active_next;
    bool active;
} bd_rule;

#define BD_NEVENTS 64

enum { IOT_READ, IOT_WRITE, IOT_WRITE_ZEROES, IOT_DISCARD, IOT_FLUSH, IOT_BLOCK_STATUS };

struct sim_node {
    char *name;
    bool auto_named;
    sim_driver drv;
    struct sim_node *file;      /* file / image child (cbw: the source) */
    struct sim_node *backing;   /* qcow2 backing chain, opened with it */
    sim_file *f;                /* DRV_FILE */
    sim_qcow2 *q;               /* DRV_QCOW2 (points into its file) */
    uint64_t raw_offset, raw_size; bool raw_has_size;
    int parents;                /* how many nodes use this one as a child */
    bool monitor_owned;         /* added by blockdev-add */
    sim_bitmap *bitmaps;        /* newest first */
    uint64_t write_gen, flushed_gen;
    /* blkdebug */
    int bd_state;
    bd_rule *bd_rules[BD_NEVENTS];
    bd_rule *bd_active;
    bool bd_take_write;         /* take-child-perms holds 'write' */
    bool discard_unmap;         /* discard=unmap: discards reach the driver */
    /* copy-before-write filter: a backup job's (its engine and target,
     * set by job.c), or one of blockdev-add */
    cl_backup *cbw_backup;
    struct sim_node *cbw_backup_target;
    struct sim_cbw *cbw;        /* blockdev-add'ed (copy_before_write.c) */
    sim_throttle_group *tg;     /* throttle: its group (throttle.c) */
    sim_job *busy_job;          /* op blocker: in use by this job */
    bool read_only;             /* blockdev-add read-only (the VMA backup refuses it) */
    bool no_flush;              /* cache.no-flush=on: flushes stop short of the disk */
    struct bd_break *bd_breaks; /* blkdebug breakpoints (blkdebug_break.c) */
    bool bd_suspended;          /* the next request waits at a breakpoint */
    struct sim_nbd_client *nbdc;    /* DRV_NBD: the connection (drv_nbd.c) */
    struct sim_node *next;      /* creation order */
};

/* ---- drivers: each fills one table of operations (QEMU's BlockDriver) ---- */

/* Offsets are checked against node_size before block_status and discard. */
typedef struct sim_drv_ops {
    const char *name;           /* query-named-block-nodes' "drv" */
    uint64_t (*size)(sim_node *n);
    uint64_t (*cluster_size)(sim_node *n);      /* bdrv_get_info's; NULL: 0 */
    /* A request refused before it starts (no dirty bit is set): a negative
     * errno, else 0. NULL: none is. */
    int (*refuse)(sim_node *n, uint64_t off, uint64_t len, bool write);
    /* read appends len bytes to out; write writes in (in->len == len), or
     * with in NULL len zeroes; NULL write: -ENOTSUP. */
    int (*read)(sim *s, sim_node *n, uint64_t off, uint64_t len, sim_data *out);
    int (*write)(sim *s, sim_node *n, uint64_t off, uint64_t len, const sim_data *in);
    int (*discard)(sim *s, sim_node *n, uint64_t off, uint64_t len);
    /* CL_STATUS_* of [off, off + *pnum), this layer only */
    int (*block_status)(sim *s, sim_node *n, uint64_t off, uint64_t len, uint64_t *pnum);
    void (*write_caches)(sim_node *n);          /* flush: metadata caches out */
    int (*flush_to_disk)(sim *s, sim_node *n);  /* flush: the driver's own part */
    void (*close)(sim_node *n);                 /* frees the driver's state */
    /* A new node from checked BlockdevOptions (children first) named name
     * (NULL: automatic), in *out; NULL or the error reply. */
    json_object *(*open)(sim *s, json_object *opts, const char *name, sim_node **out);
    bool compressed_writes;     /* has bdrv_co_pwritev_compressed (backup compress=true) */
    /* bdrv_cancel_in_flight: requests waiting for something give up (a
     * forced job cancel on its target); NULL: nothing waits */
    void (*cancel_in_flight)(sim *s, sim_node *n);
    /* the node's next timer after now (0: none); what fell due runs first */
    uint64_t (*next_timer)(sim *s, sim_node *n);
} sim_drv_ops;

extern const sim_drv_ops drv_file;              /* drv_file.c */
extern const sim_drv_ops drv_raw;               /* drv_raw.c */
extern const sim_drv_ops drv_qcow2;             /* drv_qcow2.c */
extern const sim_drv_ops drv_blkdebug;          /* drv_blkdebug.c */
extern const sim_drv_ops drv_null;              /* drv_null.c */
extern const sim_drv_ops drv_cbw;               /* copy_before_write.c */
extern const sim_drv_ops drv_snapshot_access;   /* snapshot_access.c */
extern const sim_drv_ops drv_throttle;          /* throttle.c */
extern const sim_drv_ops drv_commit_top, drv_mirror_top, drv_cor_filter;  /* drv_job_filter.c */
extern const sim_drv_ops drv_vmdk;              /* drv_vmdk.c */

/* BlkdebugEvent values other drivers raise on their file child */
enum {
    EV_READ_AIO = 9, EV_READ_COMPRESSED = 11, EV_WRITE_AIO = 12, EV_WRITE_COMPRESSED = 13, EV_COW_READ = 16, EV_COW_WRITE = 17,
    EV_CLUSTER_ALLOC = 30, EV_FLUSH_TO_OS = 33, EV_FLUSH_TO_DISK = 34,
};

/* ---- node.c: the node registry and I/O through the drivers ---------------- */

const sim_drv_ops *node_drv(const sim_node *n);
/* A driver of a higher layer fills its slot (the NBD client, drv_nbd.c,
 * needs the NBD server's exports: backend_sim.c registers it). */
void node_driver_register(sim_driver d, const sim_drv_ops *ops);
/* bdrv_cancel_in_flight on n (not its children: a driver forwards) */
void node_cancel_in_flight(sim *s, sim_node *n);
/* The first driver timer after now over all nodes (e.g. an NBD client's
 * reconnect attempt), 0 when none: the machine may sleep until then. */
uint64_t node_next_timer(sim *s);
/* The driver of BlockdevOptions' "driver" name, NULL when not modelled. */
const sim_drv_ops *node_drv_by_name(const char *name);

sim_node *node_find(sim *s, const char *name);
int node_read(sim *s, sim_node *n, uint64_t off, uint64_t len, void *buf);
int node_write(sim *s, sim_node *n, uint64_t off, uint64_t len, const void *buf,
               bool zeroes);
/* node_read/node_write with the data as spans (sim/data.h): no bytes are
 * copied. node_read_data appends len bytes to out (on error, what it holds
 * is unspecified); node_write_data writes in->len bytes, or with in NULL,
 * len zeroes the way node_write(..., NULL, true) does. */
int node_read_data(sim *s, sim_node *n, uint64_t off, uint64_t len, sim_data *out);
int node_write_data(sim *s, sim_node *n, uint64_t off, uint64_t len, const sim_data *in);
int node_flush(sim *s, sim_node *n);
int node_discard(sim *s, sim_node *n, uint64_t off, uint64_t len);
int node_block_status(sim *s, sim_node *n, uint64_t off, uint64_t len, uint64_t *pnum);
uint64_t node_size(sim_node *n);
uint64_t node_cluster_size(sim_node *n);
const char *node_drv_name(sim_node *n);
const char *node_filename(sim_node *n);
sim_node *node_new(sim *s, sim_driver drv, const char *name);
void node_unref(sim *s, sim_node *n);
void node_remove(sim *s, sim_node *n);
sim_bitmap *bitmap_list_add(sim_node *n, const char *name, cl_bitmap *bm,
                            bool persistent, bool owned);
void bitmap_list_remove(sim_node *n, sim_bitmap *e);
sim_bitmap *bitmap_find(sim_node *n, const char *name);
json_object *node_info(sim *s, sim_node *n);
/* The same; flat (query-named-block-nodes' "flat"): the node's own image
 * only, without the backing chain nested in it, and depth 0. */
json_object *node_info_flat(sim *s, sim_node *n, bool flat);
/* node_info's "dirty-bitmaps" member: NULL when the node has none. */
json_object *node_dirty_bitmaps(sim_node *n);
bool id_wellformed(const char *id);

/* ---- drv_blkdebug.c ------------------------------------------------------- */

int blkdebug_event_name(const char *name);
/* An event on node n (QEMU's BLKDBG_EVENT on a child: only blkdebug reacts). */
void blkdebug_event(sim *s, sim_node *n, int event);
/* The inject-error and set-state rules of (checked) options. */
void blkdebug_parse_rules(sim_node *n, json_object *opts);

/* ---- blkdebug_break.c: breakpoints; a request held at one fails with this */

#define BD_SUSPENDED (-EINPROGRESS)
void blkdebug_break_event(sim_node *n, int event);
int blkdebug_break_check(sim_node *n);
void blkdebug_breaks_free(sim_node *n);
/* qemu-io's break / remove_break on node n: NULL, or the error text */
char *blkdebug_break_cmd(sim *s, sim_node *n, int argc, char **argv);

/* ---- blockdev.c: opening nodes from BlockdevOptions (QEMU's bdrv_open) ---- */

/* Open a node from (already checked) BlockdevOptions, children first. */
json_object *blockdev_open(sim *s, json_object *opts, const char *qualifier,
                           sim_node **out, bool top);
/* A child given as a node name or inline options; takes a reference. */
json_object *blockdev_open_child(sim *s, json_object *ref, sim_node **out);
/* NULL when name can be a new node's name, else QEMU's error. */
json_object *node_name_check(sim *s, const char *name);
/* For the drivers' open: a format driver's file child (with the permission
 * check of a format parent); a new node of drv named name (checked; on
 * error child is dropped) over child; dropping a node that failed to open. */
json_object *blockdev_open_file_child(sim *s, json_object *ref, const char *name,
                                      const char *driver, sim_node **child);
json_object *blockdev_new_node(sim *s, sim_driver drv, const char *name, sim_node *child,
                               sim_node **out);
void blockdev_drop_new(sim *s, sim_node *n);
/* n and the file children under it become read-only / read-write */
void node_set_read_only(sim_node *n, bool ro);

/* ---- dirty_bitmap.c: checks and copies of a node's dirty bitmaps ---------- */

/* bdrv_dirty_bitmap_check flags: BDRV_BITMAP_BUSY, _RO, _INCONSISTENT */
#define BITMAP_CHECK_BUSY 1u
#define BITMAP_CHECK_RO 2u
#define BITMAP_CHECK_INCONSISTENT 4u
#define BITMAP_CHECK_DEFAULT (BITMAP_CHECK_BUSY | BITMAP_CHECK_RO | BITMAP_CHECK_INCONSISTENT)
#define BITMAP_CHECK_ALLOW_RO (BITMAP_CHECK_BUSY | BITMAP_CHECK_INCONSISTENT)

bool bitmap_readonly(const sim_node *n, const sim_bitmap *b);
bool bitmap_busy(const sim_bitmap *b);
/* The hint QEMU appends to the inconsistent bitmap's error (printed by
 * qemu-img, not sent over QMP). */
#define BITMAP_INCONSISTENT_HINT "Try block-dirty-bitmap-remove to delete this bitmap from disk\n"
/* NULL, or the error reply QEMU gives */
json_object *bitmap_check(const sim_node *n, const sim_bitmap *b, unsigned flags);
/* A copy of a bitmap for a node of `size` bytes: bits below the new end
 * kept, a grown part clean, enabled as it was. */
cl_bitmap *bitmap_resized(const cl_bitmap *old, uint64_t size);

/* ---- persist.c ----------------------------------------------------------- */

/* persistent bitmaps -> the image (loading is q2_load_bitmaps's) */
void persist_store(sim_node *n);

/* ---- the drivers kept in their own files --------------------------------- */

/* copy_before_write.c: the copy-before-write driver of blockdev-add */
typedef struct sim_cbw sim_cbw;
json_object *cbw_open(sim *s, json_object *opts, const char *name, sim_node **out);
sim_node *cbw_close(sim *s, sim_node *n);     /* returns the target child to unref */
void cbw_teardown(sim_node *n);               /* frees the state, touches no other node */
int cbw_write(sim *s, sim_node *n, uint64_t off, uint64_t len, const sim_data *in,
              bool discard);
int cbw_snapshot_read(sim *s, sim_node *n, uint64_t off, uint64_t len, sim_data *out);
int cbw_snapshot_block_status(sim *s, sim_node *n, uint64_t off, uint64_t len,
                              uint64_t *pnum);
int cbw_snapshot_discard(sim *s, sim_node *n, uint64_t off, uint64_t len);
bool cbw_unshares_write(sim *s, sim_node *n);
json_object *cbw_append_perm_check(sim *s, sim_node *src);
sim_node *cbw_target(sim_node *n);

/* snapshot_access.c: the snapshot-access driver */
json_object *snapshot_access_open(sim *s, json_object *opts, const char *name, sim_node **out);
int snapshot_access_read(sim *s, sim_node *n, uint64_t off, uint64_t len, sim_data *out);
int snapshot_access_block_status(sim *s, sim_node *n, uint64_t off, uint64_t len,
                                 uint64_t *pnum);
int snapshot_access_discard(sim *s, sim_node *n, uint64_t off, uint64_t len);

/* throttle.c: throttle-group objects and the throttle driver */
json_object *throttle_dispatch(sim *s, const char *cmd, json_object *args);
json_object *throttle_open(sim *s, json_object *opts, const char *name, sim_node **out);
void throttle_intercept(sim *s, sim_node *n, uint64_t bytes, bool is_write);
void throttle_groups_free(sim *s);

/* drv_job_filter.c: a block job's implicit filter node above child (from
 * the job's start to its finalization), its removal, and what a parent of
 * child sees (the filter, or child itself). */
bool node_is_job_filter(const sim_node *n);
sim_node *job_filter_insert(sim *s, sim_driver drv, sim_node *child);
void job_filter_drop(sim *s, sim_node **pf);
sim_node *node_filtered_view(sim *s, sim_node *child);

#endif /* BLOCKSIM_SIM_NODE_H */
