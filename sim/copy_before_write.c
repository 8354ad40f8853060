/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The copy-before-write filter as blockdev-add opens it (QEMU 7.2
 * block/copy-before-write.c): before a write reaches the file child, the
 * old data of every cluster it touches is copied to the target child. It
 * also serves the snapshot-access API (reads, block status and discards of
 * the point-in-time view) that block/snapshot-access.c forwards to it.
 * The backup job's own filter (job.c) shares the snapshot-access API here.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim/node.h"

struct sim_cbw {
    sim *s;
    sim_node *node;             /* the filter */
    sim_node *target;
    cl_copy *bcs;               /* QEMU's BlockCopyState: file child -> target */
    cl_cbw *cbw;                /* its access and done bitmaps */
    bool break_snapshot;        /* on-cbw-error */
    uint64_t timeout_ns;        /* cbw-timeout; 0: none */
    int snapshot_error;         /* the first failed copy under break-snapshot */
    sim_bitmap *copy_entry;     /* listings: the copy bitmap on the file child, */
    sim_bitmap *done_entry, *access_entry;  /* done and access on the filter */
};

/* ---- block-copy callbacks: source is the file child, target the target --- */

static int bcs_read(void *opaque, uint64_t off, uint64_t len, void *buf)
{
    sim_cbw *c = opaque;
    return node_read(c->s, c->node->file, off, len, buf);
}

static int bcs_write(void *opaque, uint64_t off, uint64_t len, const void *buf)
{
    sim_cbw *c = opaque;
    return node_write(c->s, c->target, off, len, buf, false);
}

static int bcs_write_zeroes(void *opaque, uint64_t off, uint64_t len)
{
    sim_cbw *c = opaque;
    return node_write(c->s, c->target, off, len, NULL, true);
}

static int bcs_block_status(void *opaque, uint64_t off, uint64_t len, bool top_only,
                            uint64_t *pnum)
{
    sim_cbw *c = opaque;
    (void)top_only;
    return node_block_status(c->s, c->node->file, off, len, pnum);
}

/* block_copy_calculate_cluster_size: the target's cluster size, at least
 * 64 KiB; 64 KiB when the target has none. */
static uint64_t bcs_cluster_size(sim_node *target)
{
    uint64_t cs = node_cluster_size(target);
    return cs > BACKUP_MIN_CLUSTER_SIZE ? cs : BACKUP_MIN_CLUSTER_SIZE;
}

/* cbw_open, in QEMU's order: the file child, the target child, the bitmap,
 * then the block-copy state and the filter's two bitmaps. Options were
 * checked against the QAPI schema by the caller. */
json_object *cbw_open(sim *s, json_object *opts, const char *name, sim_node **out)
{
    json_object *err, *v = NULL;
    sim_node *file = NULL, *target = NULL;
    sim_bitmap *bitmap = NULL;

    if (name && (err = node_name_check(s, name))) {
        return err;
    }
    json_object_object_get_ex(opts, "file", &v);
    if ((err = blockdev_open_child(s, v, &file))) {
        return err;
    }
    json_object_object_get_ex(opts, "target", &v);
    if ((err = blockdev_open_child(s, v, &target))) {
        node_unref(s, file);
        return err;
    }
    json_object *bm = NULL;
    if (json_object_object_get_ex(opts, "bitmap", &bm)) {
        /* block_dirty_bitmap_lookup */
        const char *bnode = json_str(bm, "node"), *bname = json_str(bm, "name");
        sim_node *bn = node_find(s, bnode);
        if (!bn) {
            err = qmp_error("GenericError", "Node '%s' not found", bnode);
        } else if (!(bitmap = bitmap_find(bn, bname))) {
            err = qmp_error("GenericError", "Dirty bitmap '%s' not found", bname);
        } else if (cl_bitmap_size(bitmap->bm) != node_size(file)) {
            err = qmp_error("GenericError", "Cannot create block-copy-state: Failed to merge "
                            "bitmap '%s' to internal copy-bitmap: Bitmaps are of different sizes "
                            "(destination size is %llu, source size is %llu) and can't be merged",
                            bname, (unsigned long long)node_size(file),
                            (unsigned long long)cl_bitmap_size(bitmap->bm));
        }
        if (err) {
            node_unref(s, target);
            node_unref(s, file);
            return err;
        }
    }

    sim_cbw *c = calloc(1, sizeof *c);
    c->s = s;
    c->target = target;
    const char *on_err = json_str(opts, "on-cbw-error");
    c->break_snapshot = on_err && !strcmp(on_err, "break-snapshot");
    json_object *t = NULL;
    if (json_object_object_get_ex(opts, "cbw-timeout", &t)) {
        c->timeout_ns = (uint64_t)json_object_get_int64(t) * 1000000000ull;
    }
    cl_io io = {
        .opaque = c, .read = bcs_read, .write = bcs_write,
        .write_zeroes = bcs_write_zeroes, .block_status = bcs_block_status,
    };
    cl_error cerr = { 0, "" };
    c->bcs = cl_copy_new(node_size(file), bcs_cluster_size(target), &io, &cerr);
    if (c->bcs && bitmap) {
        /* block_copy_state_new: the copy bitmap is the user's bitmap */
        cl_bitmap_clear(cl_copy_bitmap(c->bcs));
        cl_bitmap_merge(cl_copy_bitmap(c->bcs), bitmap->bm, NULL);
    }
    c->cbw = c->bcs ? cl_cbw_new(c->bcs, &cerr) : NULL;
    if (!c->cbw) {
        cl_copy_free(c->bcs);
        free(c);
        node_unref(s, target);
        node_unref(s, file);
        return qmp_error("GenericError", "Cannot create block-copy-state: %s", cerr.msg);
    }
    sim_node *n = node_new(s, DRV_CBW, name);
    n->file = file;
    n->cbw = c;
    c->node = n;
    c->copy_entry = bitmap_list_add(file, NULL, cl_copy_bitmap(c->bcs), false, false);
    c->done_entry = bitmap_list_add(n, NULL, cl_cbw_done_bitmap(c->cbw), false, false);
    c->access_entry = bitmap_list_add(n, NULL, cl_cbw_access_bitmap(c->cbw), false, false);
    *out = n;
    return NULL;
}

/* cbw_close: the bitmaps and the block-copy state go; the caller drops the
 * returned target child. */
sim_node *cbw_close(sim *s, sim_node *n)
{
    (void)s;
    sim_cbw *c = n->cbw;
    if (!c) {
        return NULL;
    }
    sim_node *target = c->target;
    if (n->file) {
        bitmap_list_remove(n->file, c->copy_entry);
    }
    bitmap_list_remove(n, c->access_entry);
    bitmap_list_remove(n, c->done_entry);
    cbw_teardown(n);
    return target;
}

void cbw_teardown(sim_node *n)
{
    sim_cbw *c = n->cbw;
    cl_cbw_free(c->cbw);
    cl_copy_free(c->bcs);
    free(c);
    n->cbw = NULL;
}

sim_node *cbw_target(sim_node *n)
{
    if (n->cbw) {
        return n->cbw->target;
    }
    return n->cbw_backup ? n->cbw_backup_target : NULL;
}

/* cbw_child_perm: the filter unshares write on its file child only while
 * something uses the filter. */
bool cbw_unshares_write(sim *s, sim_node *n)
{
    (void)s;
    return !n->cbw || n->parents > 0;
}

/* block_copy() with cbw-timeout: when the copy outlives the timeout the
 * guest request gets ETIMEDOUT and nothing is marked done, while the copy
 * itself carries on (it already happened here: throttled requests only
 * cost virtual time). */
static int timed_before_write(sim *s, sim_cbw *c, uint64_t off, uint64_t len)
{
    cl_bitmap *done = cl_cbw_done_bitmap(c->cbw);
    cl_bitmap *before = cl_bitmap_new(cl_bitmap_size(done), cl_bitmap_granularity(done), NULL);
    cl_copy_failure fail;
    cl_bitmap_copy(before, done, NULL);
    s->io_deadline_ns = s->clock_ns + c->timeout_ns;
    s->io_timed_out = false;
    int r = cl_cbw_before_write(c->cbw, off, len, &fail);
    if (s->io_timed_out) {
        cl_bitmap_copy(done, before, NULL);
        r = -ETIMEDOUT;
    }
    s->io_deadline_ns = 0;
    s->io_timed_out = false;
    cl_bitmap_free(before);
    return r;
}

/* cbw_do_copy_before_write, then the request on the file child. A failed
 * copy fails the guest write (break-guest-write) or breaks the snapshot for
 * good and lets the write through (break-snapshot). After a break nothing
 * is copied any more. */
int cbw_write(sim *s, sim_node *n, uint64_t off, uint64_t len, const sim_data *in,
              bool discard)
{
    sim_cbw *c = n->cbw;
    if (!c->snapshot_error) {
        cl_copy_failure fail;
        int r = c->timeout_ns ? timed_before_write(s, c, off, len)
                              : cl_cbw_before_write(c->cbw, off, len, &fail);
        if (r < 0 && !c->break_snapshot) {
            return r;
        }
        if (r < 0) {
            c->snapshot_error = r;
        }
    }
    if (discard) {
        return node_discard(s, n->file, off, len);
    }
    return node_write_data(s, n->file, off, len, in);   /* in NULL: zeroes */
}

/* The state behind a node's snapshot-access API: a blockdev-add'ed filter,
 * or a backup job's (its target is the job's, and it never breaks). */
static bool cbw_view(sim_node *n, cl_cbw **cbw, sim_node **target, int *snapshot_error)
{
    if (n->drv != DRV_CBW) {
        return false;
    }
    if (n->cbw) {
        *cbw = n->cbw->cbw;
        *target = n->cbw->target;
        *snapshot_error = n->cbw->snapshot_error;
        return true;
    }
    if (n->cbw_backup) {
        *cbw = cl_backup_cbw(n->cbw_backup);
        *target = n->cbw_backup_target;
        *snapshot_error = 0;
        return true;
    }
    return false;
}

/* cbw_snapshot_read_lock: how much from off (< end) reads from one place:
 * the target where a guest write has copied the old data (done), else the
 * file child, which still holds it. 0 when off is not accessible. */
static uint64_t snapshot_run(cl_cbw *cbw, int snapshot_error, uint64_t off, uint64_t end,
                             bool *from_target)
{
    cl_bitmap *access = cl_cbw_access_bitmap(cbw), *done = cl_cbw_done_bitmap(cbw);
    if (snapshot_error || cl_bitmap_next_clean(access, off, end) != -1) {
        return 0;
    }
    *from_target = cl_bitmap_get(done, off);
    int64_t next = *from_target ? cl_bitmap_next_clean(done, off, end)
                                : cl_bitmap_next_dirty(done, off, end);
    return (next < 0 ? end : (uint64_t)next) - off;
}

/* cbw_co_preadv_snapshot: EACCES for anything outside the access bitmap
 * (never in it, discarded, or the snapshot broke); -ENOTSUP for a node
 * without the API. */
int cbw_snapshot_read(sim *s, sim_node *n, uint64_t off, uint64_t len, sim_data *out)
{
    cl_cbw *cbw;
    sim_node *target;
    int snap_err;
    if (!cbw_view(n, &cbw, &target, &snap_err)) {
        return -ENOTSUP;
    }
    while (len) {
        bool from_target;
        uint64_t run = snapshot_run(cbw, snap_err, off, off + len, &from_target);
        if (!run) {
            return -EACCES;
        }
        int r = node_read_data(s, from_target ? target : n->file, off, run, out);
        if (r < 0) {
            return r;
        }
        off += run;
        len -= run;
    }
    return 0;
}

/* cbw_co_snapshot_block_status: the status of where the data lives. */
int cbw_snapshot_block_status(sim *s, sim_node *n, uint64_t off, uint64_t len,
                              uint64_t *pnum)
{
    cl_cbw *cbw;
    sim_node *target;
    int snap_err;
    if (!cbw_view(n, &cbw, &target, &snap_err)) {
        return -ENOTSUP;
    }
    bool from_target;
    uint64_t run = snapshot_run(cbw, snap_err, off, off + len, &from_target);
    if (!run) {
        return -EACCES;
    }
    return node_block_status(s, from_target ? target : n->file, off, run, pnum);
}

/* cbw_co_pdiscard_snapshot: the range leaves the snapshot (reads of it fail
 * from now on), is no longer copied before writes, and is discarded on the
 * target. QEMU asserts cluster alignment here (hbitmap_reset); we refuse. */
int cbw_snapshot_discard(sim *s, sim_node *n, uint64_t off, uint64_t len)
{
    cl_cbw *cbw;
    sim_node *target;
    int snap_err;
    if (!cbw_view(n, &cbw, &target, &snap_err)) {
        return -ENOTSUP;
    }
    cl_bitmap *access = cl_cbw_access_bitmap(cbw);
    uint64_t size = cl_bitmap_size(access);
    if (off > size || len > size - off) {
        return -EINVAL;
    }
    if (cl_bitmap_reset(access, off, len, NULL) < 0) {
        return -EINVAL;
    }
    if (n->cbw) {
        /* block_copy_reset */
        cl_bitmap_reset(cl_copy_bitmap(n->cbw->bcs), off, len, NULL);
    } else {
        cl_bitmap_reset(cl_copy_bitmap(cl_backup_copy(n->cbw_backup)), off, len, NULL);
    }
    return node_discard(s, target, off, len);
}

/* The permissions a copy-before-write filter inserted above src takes
 * (backup_job_create -> bdrv_cbw_append): with the job as its user it
 * unshares write on src, and filters below pass that on to their own
 * children (bdrv_default_perms of a filtered child). Another user that
 * takes write on one of them conflicts; QEMU names the node, the user and
 * the parent that passes the restriction down. */
json_object *cbw_append_perm_check(sim *s, sim_node *src)
{
    for (sim_node *c = src; c && (c->drv == DRV_BLKDEBUG || c->drv == DRV_CBW); c = c->file) {
        sim_node *below = c->file;
        if (!below) {
            break;
        }
        for (sim_node *p = s->nodes; p; p = p->next) {
            if (p == c || p->file != below || p->drv != DRV_BLKDEBUG || !p->bd_take_write) {
                continue;
            }
            return qmp_error("GenericError",
                             "Permission conflict on node '%s': permissions 'write' are both "
                             "required by node '%s' (uses node '%s' as 'image' child) and "
                             "unshared by node '%s' (uses node '%s' as '%s' child).",
                             below->name, p->name, below->name, c->name, below->name,
                             c->drv == DRV_BLKDEBUG ? "image" : "file");
        }
    }
    return NULL;
}

/* ---- the driver ----------------------------------------------------------- */

/* A node of this driver is either blockdev-add's filter (n->cbw) or the one
 * a backup job inserts above its source (n->cbw_backup, job.c). */

static uint64_t cbw_size(sim_node *n)
{
    return node_size(n->file);
}

static uint64_t cbw_cluster_size(sim_node *n)
{
    return node_cluster_size(n->file);  /* a filter: bdrv_get_info asks the child */
}

static int cbw_refuse(sim_node *n, uint64_t off, uint64_t len, bool write)
{
    return write && off + len > node_size(n) ? -EIO : 0;
}

static int cbw_read(sim *s, sim_node *n, uint64_t off, uint64_t len, sim_data *out)
{
    return node_read_data(s, n->file, off, len, out);
}

static int cbw_drv_write(sim *s, sim_node *n, uint64_t off, uint64_t len, const sim_data *in)
{
    if (n->cbw) {
        return cbw_write(s, n, off, len, in, false);
    }
    cl_copy_failure fail;
    int r = cl_cbw_before_write(cl_backup_cbw(n->cbw_backup), off, len, &fail);
    if (!r) {
        r = node_write_data(s, n->file, off, len, in);
    }
    return r;
}

static int cbw_discard(sim *s, sim_node *n, uint64_t off, uint64_t len)
{
    if (n->cbw) {
        return cbw_write(s, n, off, len, NULL, true);
    }
    cl_copy_failure fail;
    int r = cl_cbw_before_write(cl_backup_cbw(n->cbw_backup), off, len, &fail);
    if (!r) {
        r = node_discard(s, n->file, off, len);
    }
    return r;
}

static int cbw_block_status(sim *s, sim_node *n, uint64_t off, uint64_t len, uint64_t *pnum)
{
    return node_block_status(s, n->file, off, len, pnum);
}

static void cbw_drv_close(sim_node *n)
{
    if (n->cbw) {
        cbw_teardown(n);    /* machine teardown: children may be gone already */
    }
}

const sim_drv_ops drv_cbw = {
    .name = "copy-before-write",
    .open = cbw_open,
    .size = cbw_size,
    .cluster_size = cbw_cluster_size,
    .refuse = cbw_refuse,
    .read = cbw_read,
    .write = cbw_drv_write,
    .discard = cbw_discard,
    .block_status = cbw_block_status,
    .close = cbw_drv_close,
};
