/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The qcow2 driver (QEMU's block/qcow2.c): guest clusters mapped through a
 * run-length L2 map (sim/l2_map.c) onto host clusters of the file child,
 * allocation in ascending order with copy-on-write from the backing file,
 * zero clusters, and the metadata writes that a bitmap on the file child
 * sees (sim/qcow2_meta.c). The image's metadata itself lives beside the file's
 * bytes (sim_qcow2, sim/fs.h), so qemu-img sees it without a node.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim/node.h"
#include "sim/qcow2_bitmap.h"
#include "sim/qcow2_meta.h"

typedef enum { Q_UNALLOC, Q_ZERO, Q_DATA } q2_kind;

static q2_kind q2_cluster_kind(const sim_qcow2 *q, uint64_t ci)
{
    uint64_t e = l2_get(q, ci);
    if (e & Q2_ZERO) {
        return Q_ZERO;
    }
    return e ? Q_DATA : Q_UNALLOC;
}

/* Bytes from off (< size) that share the cluster kind of off and, for data,
 * are contiguous on the host: QEMU's qcow2_get_host_offset run. */
static uint64_t q2_run(const sim_qcow2 *q, uint64_t off, uint64_t len, q2_kind *kind)
{
    /* cluster sizes are powers of two: shifts, not divisions, per cluster */
    const unsigned bits = (unsigned)__builtin_ctzll(q->cluster_size);
    uint64_t ci = off >> bits;
    uint64_t end = off + len > q->size ? q->size : off + len;
    uint64_t lim = (end + q->cluster_size - 1) >> bits;
    q2_kind k = q2_cluster_kind(q, ci);
    uint64_t cj = ci + 1;
    if (k == Q_UNALLOC) {
        cj = l2_skip_unalloc(q, cj, lim);
    } else if (k == Q_ZERO) {
        cj = l2_skip_zero(q, cj, lim);
    } else {
        /* data: as long as the host clusters follow each other */
        cj = l2_run_end(q, ci, lim);
    }
    uint64_t pos = cj << bits;
    *kind = k;
    return (pos < end ? pos : end) - off;
}

static int q2_read(sim *s, sim_node *n, uint64_t off, uint64_t len, sim_data *out)
{
    sim_qcow2 *q = n->q;
    while (len) {
        q2_kind k;
        uint64_t run = q2_run(q, off, len, &k);
        if (k == Q_DATA) {
            uint64_t host = (l2_get(q, off / q->cluster_size) & ~Q2_ZERO) + off % q->cluster_size;
            blkdebug_event(s, n->file, EV_READ_AIO);
            int r = node_read_data(s, n->file, host, run, out);
            if (r < 0) {
                return r;
            }
        } else if (k == Q_UNALLOC && n->backing) {
            uint64_t bsize = node_size(n->backing);
            uint64_t from_backing = off >= bsize ? 0 : (run < bsize - off ? run : bsize - off);
            if (from_backing) {
                int r = node_read_data(s, n->backing, off, from_backing, out);
                if (r < 0) {
                    return r;
                }
            }
            data_add_zero(out, run - from_backing);
        } else {
            data_add_zero(out, run);
        }
        off += run;
        len -= run;
    }
    return 0;
}

/* Is the guest cluster ci known to read as zeroes? Like QEMU's is_zero(),
 * this asks block status through the chain and never peeks at data. */
static bool chain_is_zero(sim *s, sim_node *n, uint64_t off, uint64_t len)
{
    while (len) {
        uint64_t pnum = 0;
        int st = node_block_status(s, n, off, len, &pnum);
        if (st < 0) {
            return false;       /* is_zero: a failed query is not zero */
        }
        if (st & CL_STATUS_ZERO) {
            /* zero here */
        } else if (!(st & CL_STATUS_ALLOCATED) && n->drv == DRV_QCOW2 && n->backing) {
            if (!chain_is_zero(s, n->backing, off, pnum)) {
                return false;
            }
        } else {
            return false;
        }
        if (!pnum || pnum > len) {
            pnum = len;
        }
        off += pnum;
        len -= pnum;
    }
    return true;
}

static uint64_t q2_alloc_host(sim_node *n)
{
    uint64_t h = n->q->next_host;
    n->q->next_host += n->q->cluster_size;
    return h;
}

/* Writes in (in->len bytes), or with in NULL len zeroes. */
/* Whole clusters [ci, end) get the zero flag, each L2 table allocated as
 * the first cluster it covers that is not a zero cluster yet would allocate
 * it, in ascending order: what the per-cluster loop below does, without its
 * calls per cluster. Returns end. */
static uint64_t q2_zero_whole(sim_node *n, uint64_t ci, uint64_t end)
{
    sim_qcow2 *q = n->q;
    const uint64_t per_table = q->cluster_size / 8;

    const uint64_t start = ci;

    /* the tables with an entry to flag, found by skipping the entries
     * that have it; the flags themselves in one go at the end (they
     * allocate nothing) */
    while ((ci = l2_skip_zero(q, ci, end)) < end) {
        uint64_t t = ci / per_table;
        if (!q->l2_table[t]) {
            q->l2_table[t] = 1;   /* get_cluster_table */
            q2_alloc_host(n);
        }
        q2_meta_l2_entry(n, ci);    /* the table changed in the L2 cache */
        ci = (t + 1) * per_table;
    }
    l2_flag_zero(q, start, end);
    return end;
}

static int q2_write(sim *s, sim_node *n, uint64_t off, uint64_t len, const sim_data *in)
{
    bool zeroes = !in;
    sim_qcow2 *q = n->q;
    uint64_t cs = q->cluster_size;
    uint64_t per_table = cs / 8;
    const unsigned bits = (unsigned)__builtin_ctzll(cs);
    uint64_t first = off >> bits, last = (off + len - 1) >> bits;

    if (zeroes) {
        for (uint64_t ci = first; ci <= last; ci++) {
            if (ci > first && ci < last) {
                /* whole clusters between the ends: flag them, by L2 table */
                ci = q2_zero_whole(n, ci, last) - 1;
                continue;
            }
            /* runs of zero clusters stay as they are (zero_in_l2_slice
             * leaves an entry alone when nothing changes): step over them
             * at once. Unallocated ones become zero clusters, below. */
            q2_kind k0 = q2_cluster_kind(q, ci);
            if (k0 == Q_ZERO) {
                ci = l2_skip_zero(q, ci + 1, last + 1) - 1;
                continue;
            }
            uint64_t c_off = ci * cs, c_end = c_off + cs > q->size ? q->size : c_off + cs;
            uint64_t w_off = off > c_off ? off : c_off;
            uint64_t w_end = off + len < c_end ? off + len : c_end;
            /* qcow2_co_pwrite_zeroes: a partial cluster becomes a zero
             * cluster only if it holds no data and the rest of it reads as
             * zeroes; otherwise the generic layer writes a zero buffer. A
             * whole cluster always gets the zero flag (zero_in_l2_slice),
             * even where it already reads as zeroes: a backing file may
             * change later, a fleecing target's source does. */
            bool whole = w_off == c_off && w_end == c_end;
            if (whole || (q2_cluster_kind(q, ci) != Q_DATA &&
                          chain_is_zero(s, n, c_off, w_off - c_off) &&
                          chain_is_zero(s, n, w_end, c_end - w_end))) {
                if (!q->l2_table[ci / per_table]) {
                    q->l2_table[ci / per_table] = 1;   /* get_cluster_table */
                    q2_alloc_host(n);
                }
                l2_put(q, ci, l2_get(q, ci) | Q2_ZERO);
                q2_meta_l2_entry(n, ci);
            } else {
                sim_data z;
                data_init(&z);
                data_add_zero(&z, w_end - w_off);
                int r = q2_write(s, n, w_off, w_end - w_off, &z);
                data_free(&z);
                if (r < 0) {
                    return r;
                }
            }
        }
        return 0;
    }

    /* A failed write links none of its new clusters into L2 (QEMU links
     * them after the data is written, qcow2_alloc_cluster_link_l2, and an
     * L2 table whose allocation failed is never linked): keep the old
     * entries to put back. */
    uint64_t *was = malloc((last - first + 1) * sizeof(*was));
    if (!was) {
        return -ENOMEM;
    }
    for (uint64_t ci = first; ci <= last; ci++) {
        was[ci - first] = l2_get(q, ci);
    }
    /* Allocate in ascending order: an L2 table first when its region has
     * none, then one host cluster per untouched guest cluster. The parts of
     * a new cluster outside the write keep their old contents (COW). */
    for (uint64_t ci = first; ci <= last; ci++) {
        /* a table a snapshot shares is copied before it changes */
        bool table_shared = q->l2_shared && q->l2_shared[ci / per_table];
        if (!q->l2_table[ci / per_table] || table_shared) {
            q->l2_table[ci / per_table] = q2_alloc_host(n);    /* cluster-aligned */
            q2_meta_l2_alloc(n, ci / per_table);    /* sim/qcow2_meta.c */
            if (table_shared) {
                q->l2_shared[ci / per_table] = 0;
            }
        }
        q2_kind k = q2_cluster_kind(q, ci);
        uint64_t host = l2_get(q, ci) & ~Q2_ZERO;
        /* a data cluster a snapshot holds is copied (COW), not overwritten */
        bool shared = k == Q_DATA && q->snapshots && q2_host_shared(q, host);
        if (k == Q_DATA && !shared) {
            continue;
        }
        uint64_t c_off = ci * cs, c_len = c_off + cs > q->size ? q->size - c_off : cs;
        /* the cluster's old contents: the backing file's, else zeroes (a
         * failed read leaves zeroes after what it read); a shared cluster's
         * own */
        sim_data old;
        bool has_old = (k == Q_UNALLOC && n->backing) || shared;
        data_init(&old);
        if (has_old) {
            q2_read(s, n, c_off, c_len, &old);
            data_add_zero(&old, cs - old.len);
        }
        if (shared) {
            host = 0;
        }
        bool new_host = !host;
        if (!host) {
            host = q2_alloc_host(n);
            blkdebug_event(s, n->file, EV_CLUSTER_ALLOC);
        }
        sim_node *fn = n->file;
        while (fn && fn->drv != DRV_FILE) {
            fn = fn->file;
        }
        if (fn && has_old) {
            store_write_data(&fn->f->data, host, &old);
        } else if (fn) {
            /* zeroes: holes in the file, no bytes written */
            if (host + cs > fn->f->data.size) {
                fn->f->data.size = host + cs;
            }
            store_zero(&fn->f->data, host, cs);
        }
        data_free(&old);
        l2_put(q, ci, host);
        q2_meta_cluster_alloc(n, ci, host, new_host);
    }
    uint64_t done = 0;
    while (len) {
        q2_kind k;
        uint64_t run = q2_run(q, off, len, &k);
        uint64_t host = l2_get(q, off / cs) + off % cs;
        blkdebug_event(s, n->file, EV_WRITE_AIO);
        int r;
        if (done == 0 && run == in->len) {
            r = node_write_data(s, n->file, host, run, in);
        } else {
            sim_data piece;
            data_init(&piece);
            data_add_range(&piece, in, done, run);
            r = node_write_data(s, n->file, host, run, &piece);
            data_free(&piece);
        }
        if (r < 0) {
            for (uint64_t ci = first; ci <= last; ci++) {
                l2_put(q, ci, was[ci - first]);
            }
            free(was);
            return r;
        }
        done += run;
        off += run;
        len -= run;
    }
    free(was);
    return 0;
}

/* The backing file the image names, relative to it: a chain of nodes as
 * QEMU opens it without options (bdrv_open_backing_file). */
static json_object *open_backing_file(sim *s, sim_node *n)
{
    sim_qcow2 *q = n->q;
    char *path = path_relative_to(node_filename(n), q->backing);
    sim_file *f = fs_lookup(s, path);
    json_object *err = NULL;
    if (!f) {
        err = qmp_error("GenericError",
                        "Could not open backing file: Could not open '%s': No such file or directory",
                        path);
        free(path);
        return err;
    }
    sim_node *fn = node_new(s, DRV_FILE, NULL);
    fn->f = f;
    sim_node *b = fn;
    if (f->qcow2 && !(q->backing_fmt && strcmp(q->backing_fmt, "qcow2"))) {
        b = node_new(s, DRV_QCOW2, NULL);
        b->file = fn;
        fn->parents++;
        b->q = f->qcow2;
        q2_load_bitmaps(b);
        if (b->q->backing) {
            err = open_backing_file(s, b);
        }
    }
    b->parents++;
    n->backing = b;
    free(path);
    return err;
}

static json_object *q2_open(sim *s, json_object *opts, const char *name, sim_node **out)
{
    sim_node *child = NULL, *n = NULL;
    json_object *err = blockdev_open_file_child(s, json_member(opts, "file"), name, "qcow2",
                                                &child);
    if (err) {
        return err;
    }
    sim_node *fn = child;
    while (fn && fn->drv != DRV_FILE) {
        fn = fn->file;
    }
    if (!fn || !fn->f->qcow2) {
        node_unref(s, child);
        return qmp_error("GenericError", "Image is not in qcow2 format");
    }
    if ((err = blockdev_new_node(s, DRV_QCOW2, name, child, &n))) {
        return err;
    }
    n->q = fn->f->qcow2;
    json_object *backing = NULL;
    bool has_backing = json_object_object_get_ex(opts, "backing", &backing);
    if (backing) {
        err = blockdev_open_child(s, backing, &n->backing);
        if (err) {
            json_object *e = err;
            err = qmp_error("GenericError", "Could not open backing file: %s", qmp_error_desc(e));
            json_object_put(e);
        }
    } else if (!has_backing && n->q->backing) {
        err = open_backing_file(s, n);
    }
    if (err) {
        blockdev_drop_new(s, n);
        return err;
    }
    q2_load_bitmaps(n);
    *out = n;
    return NULL;
}

/* qcow2_co_pdiscard: whole clusters only (discard_in_l2_slice); they then
 * read as zeroes where a backing file or an allocation was. */
static int q2_discard(sim *s, sim_node *n, uint64_t off, uint64_t len)
{
    sim_qcow2 *q = n->q;
    uint64_t cs = q->cluster_size, per_table = cs / 8;
    uint64_t first = (off + cs - 1) / cs;
    uint64_t end = off + len == q->size ? q->nclusters : (off + len) / cs;
    if (first >= end) {
        return 0;
    }
    for (uint64_t t = first / per_table; t <= (end - 1) / per_table; t++) {
        if (!q->l2_table[t]) {
            q->l2_table[t] = 1;
            q2_alloc_host(n);
        }
    }
    if (n->backing) {
        l2_put_range(q, first, end, Q2_ZERO);
        return 0;
    }
    /* data clusters only, a run of them at a time */
    for (uint64_t ci = first; ci < end;) {
        uint64_t stop = l2_run_end(q, ci, end);
        if (q2_cluster_kind(q, ci) == Q_DATA) {
            l2_put_range(q, ci, stop, Q2_ZERO);
        }
        ci = stop;
    }
    return 0;
}

static int q2_block_status(sim *s, sim_node *n, uint64_t off, uint64_t len, uint64_t *pnum)
{
    q2_kind k;
    *pnum = q2_run(n->q, off, len, &k);
    if (k == Q_DATA) {
        return CL_STATUS_DATA | CL_STATUS_ALLOCATED;
    }
    if (k == Q_ZERO) {
        return CL_STATUS_ZERO | CL_STATUS_ALLOCATED;
    }
    if (!n->backing) {
        return CL_STATUS_ZERO;
    }
    uint64_t bsize = node_size(n->backing);
    if (off >= bsize) {
        return CL_STATUS_ZERO;
    }
    if (*pnum > bsize - off) {
        *pnum = bsize - off;
    }
    return 0;
}

static uint64_t q2_size(sim_node *n)
{
    return n->q->size;
}

static uint64_t q2_cluster_size(sim_node *n)
{
    return n->q->cluster_size;
}

static int q2_refuse(sim_node *n, uint64_t off, uint64_t len, bool write)
{
    return off + len > n->q->size ? -EIO : 0;
}

const sim_drv_ops drv_qcow2 = {
    .name = "qcow2",
    .open = q2_open,
    .size = q2_size,
    .cluster_size = q2_cluster_size,
    .refuse = q2_refuse,
    .read = q2_read,
    .write = q2_write,
    .discard = q2_discard,
    .block_status = q2_block_status,
    .write_caches = q2_meta_flush,  /* qcow2_write_caches: dirty L2 tables and refcounts */
    .compressed_writes = true,
};
