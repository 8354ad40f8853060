/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Block nodes and their drivers (file, qcow2, blkdebug, raw and the
 * copy-before-write filter): I/O paths, blkdebug's state machine, dirty
 * bitmap listings and query-named-block-nodes entries.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/node.h"
#include "sim/qcow2_bitmap.h"
#include "sim/qcow2_meta.h"
#include "sim/qapi.h"

/* ---- blkdebug events ----------------------------------------------------- */

enum {
    EV_READ_AIO = 9, EV_WRITE_AIO = 12, EV_COW_READ = 16, EV_COW_WRITE = 17,
    EV_CLUSTER_ALLOC = 30, EV_FLUSH_TO_OS = 33, EV_FLUSH_TO_DISK = 34,
};

int blkdebug_event_name(const char *name)
{
    return qapi_enum_index(qapi_blkdebug_events, name);
}

/* An event on node n (QEMU's BLKDBG_EVENT on a child: only blkdebug reacts).
 * Inject rules of the current state become the active set; set-state rules
 * pick the next state, which takes effect after every rule was seen. */
void blkdebug_event(sim *s, sim_node *n, int event)
{
    if (!n || n->drv != DRV_BLKDEBUG || event < 0 || event >= BD_NEVENTS) {
        return;
    }
    bool injected = false;
    int new_state = n->bd_state;
    for (bd_rule *r = n->bd_rules[event]; r; r = r->next) {
        if (r->state && r->state != n->bd_state) {
            continue;
        }
        if (r->inject) {
            if (!injected) {
                for (bd_rule *a = n->bd_active; a; a = a->active_next) {
                    a->active = false;
                }
                n->bd_active = NULL;
                injected = true;
            }
            r->active = true;
            r->active_next = n->bd_active;
            n->bd_active = r;
        } else {
            new_state = r->new_state;
        }
    }
    n->bd_state = new_state;
}

static void bd_remove_rule(sim_node *n, bd_rule *rule)
{
    bd_rule **pp = &n->bd_rules[rule->event];
    while (*pp && *pp != rule) {
        pp = &(*pp)->next;
    }
    if (*pp) {
        *pp = rule->next;
    }
    if (rule->active) {
        bd_rule **ap = &n->bd_active;
        while (*ap && *ap != rule) {
            ap = &(*ap)->active_next;
        }
        if (*ap) {
            *ap = rule->active_next;
        }
    }
    free(rule);
}

/* The first active rule that matches this request fails it. */
static int bd_rule_check(sim_node *n, uint64_t off, uint64_t len, int iotype)
{
    for (bd_rule *r = n->bd_active; r; r = r->active_next) {
        bool where = r->offset < 0 ||
            (len && (uint64_t)r->offset < off + len && off <= (uint64_t)r->offset);
        if (where && (r->iotype_mask & (1u << iotype))) {
            int err = r->err;
            if (r->once) {
                bd_remove_rule(n, r);
            }
            return (int)(0u - (unsigned)err);   /* -err, defined for INT_MIN */
        }
    }
    return 0;
}

/* ---- node registry ------------------------------------------------------- */

sim_node *node_find(sim *s, const char *name)
{
    /* bdrv_lookup_bs: a BlockBackend's name first, then node names */
    for (sim_node *n = s->nodes; n; n = n->next) {
        if (n->blk_name && !strcmp(n->blk_name, name)) {
            return n;
        }
    }
    for (sim_node *n = s->nodes; n; n = n->next) {
        if (n->name && !strcmp(n->name, name)) {
            return n;
        }
    }
    return NULL;
}

bool id_wellformed(const char *id)
{
    if (!((id[0] >= 'a' && id[0] <= 'z') || (id[0] >= 'A' && id[0] <= 'Z'))) {
        return false;
    }
    for (const char *p = id + 1; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || strchr("-._", *p))) {
            return false;
        }
    }
    return true;
}

sim_node *node_new(sim *s, sim_driver drv, const char *name)
{
    sim_node *n = calloc(1, sizeof *n);
    n->drv = drv;
    n->bd_state = 1;
    if (name) {
        n->name = xstrdup(name);
    } else {
        /* QEMU appends two random digits; ours are deterministic */
        unsigned c = s->node_counter++;
        n->name = xasprintf("#block%u%02u", c, (c * 37u + 11u) % 100u);
        n->auto_named = true;
    }
    sim_node **pp = &s->nodes;
    while (*pp) {
        pp = &(*pp)->next;
    }
    *pp = n;
    return n;
}

static void bitmaps_free(sim_node *n)
{
    while (n->bitmaps) {
        sim_bitmap *b = n->bitmaps;
        n->bitmaps = b->next;
        if (b->owned) {
            cl_bitmap_free(b->bm);
        }
        free(b->name);
        free(b);
    }
}

/* Unlink and free one node (its children are the caller's business). */
void node_remove(sim *s, sim_node *n)
{
    sim_node **pp = &s->nodes;
    while (*pp && *pp != n) {
        pp = &(*pp)->next;
    }
    if (*pp) {
        *pp = n->next;
    }
    if (n->cbw) {
        cbw_teardown(n);    /* machine teardown: children may be gone already */
    }
    persist_store(n);       /* closing a qcow2 image stores its bitmaps */
    bitmaps_free(n);
    for (int e = 0; e < BD_NEVENTS; e++) {
        while (n->bd_rules[e]) {
            bd_rule *r = n->bd_rules[e];
            n->bd_rules[e] = r->next;
            free(r);
        }
    }
    free(n->name);
    free(n->blk_name);
    free(n);
}

/* Drop a reference from a parent (or the monitor); free the node and, in
 * turn, its children once nobody uses it. */
void node_unref(sim *s, sim_node *n)
{
    if (!n) {
        return;
    }
    if (n->parents > 0) {
        n->parents--;
    }
    if (n->parents > 0 || n->monitor_owned) {
        return;
    }
    sim_node *file = n->file, *backing = n->backing;
    sim_node *target = cbw_close(s, n);
    node_remove(s, n);
    node_unref(s, file);
    node_unref(s, backing);
    node_unref(s, target);
}

/* ---- sizes and names ----------------------------------------------------- */

uint64_t node_size(sim_node *n)
{
    switch (n->drv) {
    case DRV_FILE:
        /* bdrv_getlength: the file's length in whole sectors */
        return (n->f->data.size + 511) / 512 * 512;
    case DRV_QCOW2:
        return n->q->size;
    case DRV_RAW:
        if (n->raw_has_size) {
            return n->raw_size;
        }
        return node_size(n->file) > n->raw_offset ? node_size(n->file) - n->raw_offset : 0;
    case DRV_BLKDEBUG:
    case DRV_CBW:
    case DRV_SNAPSHOT_ACCESS:
    case DRV_THROTTLE:
        return node_size(n->file);
    case DRV_NULL:
        return n->raw_size;
    }
    return 0;
}

/* bdrv_get_info's cluster size; 0 when the driver has none. */
uint64_t node_cluster_size(sim_node *n)
{
    switch (n->drv) {
    case DRV_QCOW2:
        return n->q->cluster_size;
    case DRV_BLKDEBUG:
    case DRV_CBW:
    case DRV_THROTTLE:      /* a filter: bdrv_get_info asks the child */
        return node_cluster_size(n->file);
    default:
        return 0;
    }
}

const char *node_drv_name(sim_node *n)
{
    static const char *const names[] = {
        [DRV_FILE] = "file", [DRV_QCOW2] = "qcow2", [DRV_BLKDEBUG] = "blkdebug",
        [DRV_RAW] = "raw", [DRV_CBW] = "copy-before-write", [DRV_NULL] = "null-co",
        [DRV_SNAPSHOT_ACCESS] = "snapshot-access", [DRV_THROTTLE] = "throttle",
    };
    return names[n->drv];
}

const char *node_filename(sim_node *n)
{
    while (n && n->drv != DRV_FILE) {
        n = n->file;
    }
    return n ? n->f->path : "";
}

/* ---- qcow2 --------------------------------------------------------------- */

typedef enum { Q_UNALLOC, Q_ZERO, Q_DATA } q2_kind;

static q2_kind q2_cluster_kind(const sim_qcow2 *q, uint64_t ci)
{
    uint64_t e = q->l2[ci];
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
    const uint64_t *l2 = q->l2;
    uint64_t ci = off >> bits;
    uint64_t end = off + len > q->size ? q->size : off + len;
    uint64_t lim = (end + q->cluster_size - 1) >> bits;
    q2_kind k = q2_cluster_kind(q, ci);
    uint64_t cj = ci + 1;
    if (k == Q_UNALLOC) {
        /* unallocated stretches: eight entries at a time */
        while (cj + 8 <= lim && !(l2[cj] | l2[cj + 1] | l2[cj + 2] | l2[cj + 3] | l2[cj + 4] |
                                  l2[cj + 5] | l2[cj + 6] | l2[cj + 7])) {
            cj += 8;
        }
        while (cj < lim && !l2[cj]) {
            cj++;
        }
    } else if (k == Q_ZERO) {
        while (cj < lim && (l2[cj] & Q2_ZERO)) {
            cj++;
        }
    } else {
        /* data: as long as the host clusters follow each other */
        while (cj < lim && l2[cj] == l2[ci] + ((cj - ci) << bits)) {
            cj++;
        }
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
            uint64_t host = (q->l2[off / q->cluster_size] & ~Q2_ZERO) + off % q->cluster_size;
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
            /* runs of zero clusters stay as they are (zero_in_l2_slice
             * leaves an entry alone when nothing changes): step over them
             * at once. Unallocated ones become zero clusters, below. */
            q2_kind k0 = q2_cluster_kind(q, ci);
            if (k0 == Q_ZERO) {
                while (ci < last && q2_cluster_kind(q, ci + 1) == k0) {
                    ci++;
                }
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
                q->l2[ci] |= Q2_ZERO;
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

    /* Allocate in ascending order: an L2 table first when its region has
     * none, then one host cluster per untouched guest cluster. The parts of
     * a new cluster outside the write keep their old contents (COW). */
    for (uint64_t ci = first; ci <= last; ci++) {
        if (!q->l2_table[ci / per_table]) {
            q->l2_table[ci / per_table] = q2_alloc_host(n);    /* cluster-aligned */
            q2_meta_l2_alloc(n, ci / per_table);    /* sim/qcow2_meta.c */
        }
        q2_kind k = q2_cluster_kind(q, ci);
        uint64_t host = q->l2[ci] & ~Q2_ZERO;
        if (k == Q_DATA) {
            continue;
        }
        uint64_t c_off = ci * cs, c_len = c_off + cs > q->size ? q->size - c_off : cs;
        /* the cluster's old contents: the backing file's, else zeroes (a
         * failed read leaves zeroes after what it read) */
        sim_data old;
        bool has_old = k == Q_UNALLOC && n->backing;
        data_init(&old);
        if (has_old) {
            q2_read(s, n, c_off, c_len, &old);
            data_add_zero(&old, cs - old.len);
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
        q->l2[ci] = host;
        q2_meta_cluster_alloc(n, ci, host, new_host);
    }
    uint64_t done = 0;
    while (len) {
        q2_kind k;
        uint64_t run = q2_run(q, off, len, &k);
        uint64_t host = q->l2[off / cs] + off % cs;
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
            return r;
        }
        done += run;
        off += run;
        len -= run;
    }
    return 0;
}

/* ---- generic I/O --------------------------------------------------------- */

int node_read_data(sim *s, sim_node *n, uint64_t off, uint64_t len, sim_data *out)
{
    int r;
    switch (n->drv) {
    case DRV_FILE:
        store_read_data(&n->f->data, off, len, out);
        return 0;
    case DRV_QCOW2:
        if (off + len > n->q->size) {
            return -EIO;
        }
        return q2_read(s, n, off, len, out);
    case DRV_BLKDEBUG:
        r = bd_rule_check(n, off, len, IOT_READ);
        return r ? r : node_read_data(s, n->file, off, len, out);
    case DRV_RAW:
        return node_read_data(s, n->file, off + n->raw_offset, len, out);
    case DRV_CBW:
        return node_read_data(s, n->file, off, len, out);
    case DRV_NULL:
        /* read-zeroes: the simulator's null-co reads zeroes */
        if (off > n->raw_size || len > n->raw_size - off) {
            return -EIO;
        }
        data_add_zero(out, len);
        return 0;
    case DRV_SNAPSHOT_ACCESS:
        return snapshot_access_read(s, n, off, len, out);
    case DRV_THROTTLE:
        throttle_intercept(s, n, len, false);
        return node_read_data(s, n->file, off, len, out);
    }
    return -EIO;
}

/* The bytes: what was read before an error stays in buf. */
int node_read(sim *s, sim_node *n, uint64_t off, uint64_t len, void *buf)
{
    sim_data d;
    data_init(&d);
    int r = node_read_data(s, n, off, len, &d);
    data_to_buf(&d, buf);
    data_free(&d);
    return r;
}

static void record_write(sim_node *n, uint64_t off, uint64_t len)
{
    uint64_t size = node_size(n);
    n->write_gen++;
    if (off >= size || !len) {
        return;
    }
    if (len > size - off) {
        len = size - off;
    }
    for (sim_bitmap *b = n->bitmaps; b; b = b->next) {
        if (cl_bitmap_size(b->bm) >= off + len) {
            cl_bitmap_record_write(b->bm, off, len);
        }
    }
}

int node_write(sim *s, sim_node *n, uint64_t off, uint64_t len, const void *buf,
               bool zeroes)
{
    if (zeroes || !buf || !len) {
        return node_write_data(s, n, off, len, NULL);
    }
    sim_data d;
    data_init(&d);
    data_add_buf(&d, buf, len);
    int r = node_write_data(s, n, off, len, &d);
    data_free(&d);
    return r;
}

int node_write_data(sim *s, sim_node *n, uint64_t off, uint64_t len, const sim_data *in)
{
    int r = 0;
    bool zeroes = !in;
    if (!len) {
        return 0;
    }
    if (in && in->len != len) {
        return -EINVAL;     /* a caller's mistake: the spans must be len bytes */
    }
    /* e.g. a device in a VMA backup: copy-before-write first (pve_backup.c) */
    if (s->before_write && (r = s->before_write(s, n, off, len)) < 0) {
        record_write(n, off, len);
        return r;
    }
    switch (n->drv) {
    case DRV_FILE:
        if (zeroes) {
            if (off + len > n->f->data.size) {
                n->f->data.size = off + len;
            }
            store_zero(&n->f->data, off, len);
        } else {
            store_write_data(&n->f->data, off, in);
        }
        break;
    case DRV_QCOW2:
        if (off + len > n->q->size) {
            return -EIO;
        }
        r = q2_write(s, n, off, len, in);
        break;
    case DRV_BLKDEBUG:
        r = bd_rule_check(n, off, len, zeroes ? IOT_WRITE_ZEROES : IOT_WRITE);
        if (!r) {
            r = node_write_data(s, n->file, off, len, in);
        }
        break;
    case DRV_RAW:
        r = node_write_data(s, n->file, off + n->raw_offset, len, in);
        break;
    case DRV_NULL:
        break;      /* null-co drops what it is given */
    case DRV_SNAPSHOT_ACCESS:
        return -ENOTSUP;
    case DRV_THROTTLE:
        throttle_intercept(s, n, len, true);
        r = node_write_data(s, n->file, off, len, in);
        break;
    case DRV_CBW: {
        cl_copy_failure fail;
        if (off + len > node_size(n)) {
            return -EIO;
        }
        if (n->cbw) {
            r = cbw_write(s, n, off, len, in, false);
            break;
        }
        r = cl_cbw_before_write(cl_backup_cbw(n->cbw_backup), off, len, &fail);
        if (!r) {
            r = node_write_data(s, n->file, off, len, in);
        }
        break;
    }
    }
    /* QEMU sets dirty bits when the request finishes, whatever its result */
    record_write(n, off, len);
    return r;
}

/* QEMU's bdrv_co_flush: events on the primary child, the driver's flush only
 * when something was written since the last one, then the children. */
int node_flush(sim *s, sim_node *n)
{
    int ret = 0;
    if (!n) {
        return 0;
    }
    blkdebug_event(s, n->file, EV_FLUSH_TO_OS);
    if (n->drv == DRV_QCOW2) {
        q2_meta_flush(n);   /* qcow2_write_caches: dirty L2 tables and refcounts */
    }
    if (n->write_gen != n->flushed_gen) {
        blkdebug_event(s, n->file, EV_FLUSH_TO_DISK);
        if (n->drv == DRV_BLKDEBUG) {
            ret = bd_rule_check(n, 0, 0, IOT_FLUSH);
        }
        if (!ret) {
            n->flushed_gen = n->write_gen;
        }
    }
    int child = node_flush(s, n->file);
    return ret ? ret : child;
}

/* QEMU's bdrv_co_pdiscard: nothing happens unless the node was opened with
 * discard=unmap (children default to it, a blockdev-add root does not).
 * qcow2 drops whole clusters only (qcow2_co_pdiscard), which then read as
 * zeroes where a backing file or an allocation was (discard_in_l2_slice);
 * a file punches a hole. Dirty bitmaps record the range, as for a write. */
int node_discard(sim *s, sim_node *n, uint64_t off, uint64_t len)
{
    int r = 0;
    if (!len || !n->discard_unmap) {
        return 0;
    }
    uint64_t size = node_size(n);
    if (off > size || len > size - off) {
        return -EIO;
    }
    switch (n->drv) {
    case DRV_FILE:
        store_zero(&n->f->data, off, len);
        break;
    case DRV_QCOW2: {
        sim_qcow2 *q = n->q;
        uint64_t cs = q->cluster_size, per_table = cs / 8;
        uint64_t first = (off + cs - 1) / cs;
        uint64_t end = off + len == q->size ? q->nclusters : (off + len) / cs;
        for (uint64_t ci = first; ci < end; ci++) {
            if (!q->l2_table[ci / per_table]) {
                q->l2_table[ci / per_table] = 1;
                q2_alloc_host(n);
            }
            if (n->backing || q2_cluster_kind(q, ci) == Q_DATA) {
                q->l2[ci] = Q2_ZERO;
            }
        }
        break;
    }
    case DRV_BLKDEBUG:
        r = bd_rule_check(n, off, len, IOT_DISCARD);
        if (!r) {
            r = node_discard(s, n->file, off, len);
        }
        break;
    case DRV_RAW:
        r = node_discard(s, n->file, off + n->raw_offset, len);
        break;
    case DRV_CBW:
        if (n->cbw) {
            r = cbw_write(s, n, off, len, NULL, true);
        } else {
            cl_copy_failure fail;
            r = cl_cbw_before_write(cl_backup_cbw(n->cbw_backup), off, len, &fail);
            if (!r) {
                r = node_discard(s, n->file, off, len);
            }
        }
        break;
    case DRV_SNAPSHOT_ACCESS:
        r = snapshot_access_discard(s, n, off, len);
        break;
    case DRV_THROTTLE:
        throttle_intercept(s, n, len, true);
        r = node_discard(s, n->file, off, len);
        break;
    case DRV_NULL:
        break;
    }
    record_write(n, off, len);
    return r;
}

/* QEMU's bdrv_block_status (this layer only, base = its backing file). */
int node_block_status(sim *s, sim_node *n, uint64_t off, uint64_t len, uint64_t *pnum)
{
    uint64_t size = node_size(n);
    if (off >= size) {
        *pnum = len ? len : 1;
        return CL_STATUS_ZERO;
    }
    if (len > size - off) {
        len = size - off;
    }
    switch (n->drv) {
    case DRV_QCOW2: {
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
    case DRV_SNAPSHOT_ACCESS:
        /* may fail (EACCES outside the snapshot): callers decide, as
         * block-copy reads what it cannot query and NBD reports it */
        return snapshot_access_block_status(s, n, off, len, pnum);
    case DRV_BLKDEBUG:
    case DRV_CBW:
    case DRV_RAW:
    case DRV_THROTTLE:
        return node_block_status(s, n->file, off + (n->drv == DRV_RAW ? n->raw_offset : 0),
                                 len, pnum);
    case DRV_NULL:
        /* null-co's block status: neither data nor (read-zeroes off) zero */
        *pnum = len;
        return CL_STATUS_ALLOCATED;
    case DRV_FILE:
    default:
        *pnum = len;
        return CL_STATUS_DATA | CL_STATUS_ALLOCATED;
    }
}

/* ---- dirty bitmap listing ------------------------------------------------ */

sim_bitmap *bitmap_list_add(sim_node *n, const char *name, cl_bitmap *bm,
                            bool persistent, bool owned)
{
    sim_bitmap *e = calloc(1, sizeof *e);
    e->name = name ? xstrdup(name) : NULL;
    e->bm = bm;
    e->persistent = persistent;
    e->owned = owned;
    e->next = n->bitmaps;       /* newest first, as QEMU lists them */
    n->bitmaps = e;
    return e;
}

void bitmap_list_remove(sim_node *n, sim_bitmap *e)
{
    sim_bitmap **pp = &n->bitmaps;
    while (*pp && *pp != e) {
        pp = &(*pp)->next;
    }
    if (*pp) {
        *pp = e->next;
    }
    if (e->owned) {
        cl_bitmap_free(e->bm);
    }
    free(e->name);
    free(e);
}

sim_bitmap *bitmap_find(sim_node *n, const char *name)
{
    for (sim_bitmap *b = n->bitmaps; b; b = b->next) {
        if (b->name && !strcmp(b->name, name)) {
            return b;
        }
    }
    return NULL;
}

static json_object *bitmap_info(sim_bitmap *b)
{
    json_object *o = json_object_new_object();
    if (b->name) {
        json_object_object_add(o, "name", json_object_new_string(b->name));
    }
    json_object_object_add(o, "recording", json_object_new_boolean(cl_bitmap_recording(b->bm)));
    json_object_object_add(o, "persistent", json_object_new_boolean(b->persistent));
    json_object_object_add(o, "busy", json_object_new_boolean(bitmap_busy(b)));
    json_object_object_add(o, "granularity",
                           json_object_new_int64((int64_t)cl_bitmap_granularity(b->bm)));
    json_object_object_add(o, "count",
                           json_object_new_int64((int64_t)cl_bitmap_count_bytes(b->bm)));
    return o;
}

static json_object *image_info(sim_node *n, int depth)
{
    json_object *img = json_object_new_object();
    if (n->drv == DRV_CBW && depth < 8) {
        json_object_object_add(img, "backing-image", image_info(n->file, depth + 1));
    }
    json_object_object_add(img, "virtual-size", json_object_new_int64((int64_t)node_size(n)));
    json_object_object_add(img, "filename", json_object_new_string(node_filename(n)));
    if (node_cluster_size(n)) {
        json_object_object_add(img, "cluster-size",
                               json_object_new_int64((int64_t)node_cluster_size(n)));
    }
    const char *fmt = n->drv == DRV_BLKDEBUG ? "blkdebug" : node_drv_name(n);
    json_object_object_add(img, "format", json_object_new_string(fmt));
    sim_node *fn = n;
    while (fn && fn->drv != DRV_FILE) {
        fn = fn->file;
    }
    json_object_object_add(img, "actual-size",
                           json_object_new_int64(fn ? (int64_t)fn->f->data.size : 0));
    if (n->drv == DRV_QCOW2) {
        json_object *fs = json_object_new_object(), *d = json_object_new_object();
        json_object_object_add(d, "compat", json_object_new_string("1.1"));
        json_object_object_add(d, "compression-type", json_object_new_string("zlib"));
        json_object_object_add(d, "lazy-refcounts", json_object_new_boolean(false));
        if (n->q->bitmaps) {
            json_object_object_add(d, "bitmaps", q2_bitmap_info_list(n));
        }
        json_object_object_add(d, "refcount-bits", json_object_new_int(16));
        json_object_object_add(d, "corrupt", json_object_new_boolean(false));
        json_object_object_add(d, "extended-l2", json_object_new_boolean(false));
        json_object_object_add(fs, "type", json_object_new_string("qcow2"));
        json_object_object_add(fs, "data", d);
        json_object_object_add(img, "format-specific", fs);
        if (n->q->backing) {
            json_object_object_add(img, "backing-filename",
                                   json_object_new_string(n->q->backing));
        }
    }
    if (n->drv != DRV_SNAPSHOT_ACCESS && n->drv != DRV_NULL) {
        /* from bdrv_get_info, which these drivers lack */
        json_object_object_add(img, "dirty-flag", json_object_new_boolean(false));
    }
    if (n->drv == DRV_QCOW2 && n->backing && depth < 64) {
        json_object_object_add(img, "backing-image", image_info(n->backing, depth + 1));
    }
    return img;
}

/* One query-named-block-nodes entry (the BlockDeviceInfo fields we model). */
json_object *node_info(sim *s, sim_node *n)
{
    json_object *o = json_object_new_object();
    int depth = 0;
    for (sim_node *m = n; m->drv == DRV_QCOW2 && m->backing; m = m->backing) {
        depth++;
    }
    json_object_object_add(o, "iops_rd", json_object_new_int(0));
    json_object_object_add(o, "detect_zeroes", json_object_new_string("off"));
    json_object_object_add(o, "image", image_info(n, 0));
    json_object_object_add(o, "iops_wr", json_object_new_int(0));
    json_object_object_add(o, "ro", json_object_new_boolean(false));
    json_object_object_add(o, "node-name", json_object_new_string(n->name));
    json_object_object_add(o, "backing_file_depth",
                           json_object_new_int(n->drv == DRV_CBW ? 1 : depth));
    json_object_object_add(o, "drv", json_object_new_string(node_drv_name(n)));
    json_object_object_add(o, "iops", json_object_new_int(0));
    json_object_object_add(o, "bps_wr", json_object_new_int(0));
    json_object_object_add(o, "write_threshold", json_object_new_int(0));
    if (n->drv == DRV_QCOW2 && n->q->backing) {
        json_object_object_add(o, "backing_file", json_object_new_string(n->q->backing));
    }
    if (n->bitmaps) {
        json_object *list = json_object_new_array();
        for (sim_bitmap *b = n->bitmaps; b; b = b->next) {
            json_object_array_add(list, bitmap_info(b));
        }
        json_object_object_add(o, "dirty-bitmaps", list);
    }
    json_object_object_add(o, "encrypted", json_object_new_boolean(false));
    json_object_object_add(o, "bps", json_object_new_int(0));
    json_object_object_add(o, "bps_rd", json_object_new_int(0));
    json_object *cache = json_object_new_object();
    json_object_object_add(cache, "no-flush", json_object_new_boolean(false));
    json_object_object_add(cache, "direct", json_object_new_boolean(false));
    json_object_object_add(cache, "writeback", json_object_new_boolean(true));
    json_object_object_add(o, "cache", cache);
    json_object_object_add(o, "file", json_object_new_string(node_filename(n)));
    return o;
}
