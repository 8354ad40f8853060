/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The in-memory file system: sparse files keyed by absolute path, and the
 * qcow2 metadata kept beside a file's bytes (we never serialise it: the
 * guest -> host map is what matters for contiguity and reads).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim/fs.h"
#include "sim/vmdk_image.h"

/* ---- files --------------------------------------------------------------- */

sim_file *fs_lookup(sim *s, const char *path)
{
    for (sim_file *f = s->files; f; f = f->next) {
        if (!strcmp(f->path, path)) {
            return f;
        }
    }
    return NULL;
}

sim_file *fs_create(sim *s, const char *path)
{
    sim_file *f = fs_lookup(s, path);
    if (f) {
        store_free(&f->data);
        q2_free(f->qcow2);
        f->qcow2 = NULL;
        vmdk_image_free(f->vmdk);
        f->vmdk = NULL;
        return f;
    }
    f = calloc(1, sizeof *f);
    f->path = xstrdup(path);
    store_init(&f->data);
    /* keep creation order: append */
    sim_file **pp = &s->files;
    while (*pp) {
        pp = &(*pp)->next;
    }
    *pp = f;
    return f;
}

void fs_free_all(sim *s)
{
    while (s->files) {
        sim_file *f = s->files;
        s->files = f->next;
        store_free(&f->data);
        q2_free(f->qcow2);
        vmdk_image_free(f->vmdk);
        free(f->path);
        free(f);
    }
}

/* ---- qcow2 metadata ------------------------------------------------------ */

int q2_size_check(uint64_t size, uint64_t cluster_size)
{
    /* QEMU: at most 32 MiB of L1 entries, each mapping an L2 table of
     * cluster_size / 8 clusters: 2^(2 * cluster_bits + 19) bytes */
    unsigned bits = (unsigned)__builtin_ctzll(cluster_size);
    if (2 * bits + 19 < 64 && size > 1ull << (2 * bits + 19)) {
        return -EFBIG;
    }
    /* the simulator keeps one L2 entry per cluster in a flat array */
    if (size / cluster_size + 1 > SIM_Q2_MAX_CLUSTERS) {
        return -ENOMEM;
    }
    return 0;
}

sim_qcow2 *q2_new(uint64_t size, uint64_t cluster_size)
{
    sim_qcow2 *q = calloc(1, sizeof *q);
    q->size = size;
    q->cluster_size = cluster_size;
    q->nclusters = (size + cluster_size - 1) / cluster_size;
    l2m_init(&q->l2, q->nclusters, cluster_size);
    uint64_t per_table = cluster_size / 8;
    q->l2_table = calloc(q->nclusters / per_table + 1, sizeof *q->l2_table);
    /* header, refcount table, refcount block, L1 table */
    q->next_host = 4 * cluster_size;
    return q;
}

void q2_set_clusters(sim_qcow2 *q, uint64_t ncl)
{
    uint64_t per_table = q->cluster_size / 8;
    uint64_t old_tables = q->nclusters / per_table + 1, new_tables = ncl / per_table + 1;
    uint64_t *tables = calloc(new_tables, sizeof *tables);
    if (!tables) {
        abort();
    }
    memcpy(tables, q->l2_table, (old_tables < new_tables ? old_tables : new_tables) * sizeof *tables);
    free(q->l2_table);
    q->l2_table = tables;
    if (q->l2_shared) {
        uint8_t *shared = calloc(new_tables, 1);
        memcpy(shared, q->l2_shared, old_tables < new_tables ? old_tables : new_tables);
        free(q->l2_shared);
        q->l2_shared = shared;
    }
    l2m_resize(&q->l2, ncl);
    q->nclusters = ncl;
}

void q2_free(sim_qcow2 *q)
{
    if (!q) {
        return;
    }
    while (q->bitmaps) {
        sim_saved_bitmap *b = q->bitmaps;
        q->bitmaps = b->next;
        free(b->name);
        cl_bitmap_free(b->bm);
        free(b);
    }
    q2_snapshots_free(q);
    l2m_free(&q->l2);
    free(q->l2_table);
    free(q->backing);
    free(q->backing_fmt);
    free(q);
}

char *path_relative_to(const char *image, const char *backing)
{
    if (backing[0] == '/') {
        return xstrdup(backing);
    }
    const char *slash = strrchr(image, '/');
    if (!slash) {
        return xstrdup(backing);
    }
    return xasprintf("%.*s/%s", (int)(slash - image), image, backing);
}

uint64_t img_guest_size(sim *s, const char *path)
{
    sim_file *f = fs_lookup(s, path);
    if (!f) {
        return 0;
    }
    if (f->vmdk) {
        return f->vmdk->size;
    }
    return f->qcow2 ? f->qcow2->size : f->data.size;
}

const char *img_probe_format(const sim_file *f)
{
    return f->qcow2 ? "qcow2" : f->vmdk ? "vmdk" : "raw";
}

/* qemu-img's block status through the chain, without any node: the leading
 * run of the guest range [off, off + len) that is known to read as zeroes
 * (*zero: past the end, a zero cluster, unallocated with nothing below, a hole
 * of the file) or may hold data (!*zero). With data non-NULL, a data run is
 * one piece that is contiguous in memory, and *data points at its bytes in
 * place (valid until the file changes). Same errors as img_open_chain_read,
 * found where a read would find them: -2 when an image it reaches is missing
 * or the chain is too deep. */
int img_chain_extent(sim *s, const char *path, uint64_t off, uint64_t len,
                     uint64_t *pnum, bool *zero, const uint8_t **data, int depth)
{
    sim_file *f = fs_lookup(s, path);
    if (!f || depth > 16) {
        return -2;
    }
    *pnum = len;
    *zero = true;
    if (!len) {
        return 0;
    }
    if (f->vmdk) {
        /* unallocated grains read as zeroes; allocated ones as the host
         * bytes of their run of grains that follow each other */
        const sim_vmdk *v = f->vmdk;
        if (off < v->size) {
            uint64_t in_img = v->size - off < len ? v->size - off : len;
            bool alloc = false;
            vmdk_image_status(v, off, in_img, &alloc, pnum);
            if (alloc) {
                uint64_t g = off / v->grain, end = off + *pnum;
                uint64_t gj = l2m_run_end(&v->gt, g, (end + v->grain - 1) / v->grain);
                uint64_t host = l2m_get(&v->gt, g) + off % v->grain;
                *pnum = (gj * v->grain < end ? gj * v->grain : end) - off;
                *pnum = store_extent(&f->data, host, *pnum, zero);
                if (!*zero && data) {
                    *data = store_peek(&f->data, host, *pnum, pnum);
                }
            }
        }
        return 0;
    }
    if (!f->qcow2) {
        if (off < f->data.size) {
            uint64_t in_file = f->data.size - off < len ? f->data.size - off : len;
            *pnum = store_extent(&f->data, off, in_file, zero);
            if (!*zero && data) {
                *data = store_peek(&f->data, off, *pnum, pnum);
            }
        }
        return 0;
    }
    sim_qcow2 *q = f->qcow2;
    /* cluster sizes are powers of two: shifts, not divisions, per cluster */
    const unsigned bits = (unsigned)__builtin_ctzll(q->cluster_size);
    const uint64_t cs = q->cluster_size;
    uint64_t done = 0;
    bool first = true;
    while (done < len) {
        uint64_t pos = off + done, n = len - done;
        bool z = true;
        if (pos < q->size) {
            uint64_t ci = pos >> bits, in = pos & (cs - 1), e = l2_get(q, ci);
            uint64_t end = q->size - pos < n ? q->size : pos + n;
            n = cs - in < end - pos ? cs - in : end - pos;
            if ((e & Q2_ZERO) || (!e && !q->backing)) {
                /* zero clusters, unallocated ones with nothing below: all
                 * the following ones too in one go */
                uint64_t cj = ci + 1, lim = (end + cs - 1) >> bits;
                while (cj < lim) {
                    uint64_t ej = l2_get(q, cj);
                    if (!ej && !q->backing) {
                        cj = l2_skip_unalloc(q, cj, lim);
                    } else if (ej & Q2_ZERO) {
                        cj = l2_skip_zero(q, cj, lim);
                    } else {
                        break;
                    }
                }
                n = (cj << bits < end ? cj << bits : end) - pos;
            } else if (e) {
                n = store_extent(&f->data, e + in, n, &z);
                if (!z && data && first) {
                    *data = store_peek(&f->data, e + in, n, &n);
                }
            } else if (q->backing) {
                /* ask the backing file once for the whole unallocated run */
                uint64_t cj = l2_skip_unalloc(q, ci + 1, (end + cs - 1) >> bits);
                n = (cj << bits < end ? cj << bits : end) - pos;
                char *bp = path_relative_to(path, q->backing);
                int r = img_chain_extent(s, bp, pos, n, &n, &z, first ? data : NULL,
                                         depth + 1);
                free(bp);
                if (r < 0) {
                    return r;
                }
            }
        }
        if (!first && z != *zero) {
            break;
        }
        *zero = z;
        first = false;
        done += n;
        if (!z && data) {
            break;          /* one piece of data at a time */
        }
    }
    *pnum = done;
    return 0;
}

/* Guest-visible contents of an image file through its backing chain, as
 * spans appended to out, without any node (qemu-img's view). Past the
 * image's end reads zeroes. */
int img_chain_read_data(sim *s, const char *path, uint64_t off, uint64_t len,
                        sim_data *out, int depth)
{
    sim_file *f = fs_lookup(s, path);
    if (!f || depth > 16) {
        return -2;
    }
    if (f->vmdk) {
        vmdk_image_read_data(f, off, len, out);
        return 0;
    }
    if (!f->qcow2) {
        store_read_data(&f->data, off, len, out);
        return 0;
    }
    sim_qcow2 *q = f->qcow2;
    const unsigned bits = (unsigned)__builtin_ctzll(q->cluster_size);
    const uint64_t cs = q->cluster_size;
    while (len) {
        if (off >= q->size) {
            data_add_zero(out, len);
            return 0;
        }
        uint64_t ci = off >> bits, in = off & (cs - 1), e = l2_get(q, ci);
        uint64_t end = q->size - off < len ? q->size : off + len;
        uint64_t n = cs - in < end - off ? cs - in : end - off;
        if (e & Q2_ZERO || !e) {
            /* the following clusters of the same kind in one go */
            uint64_t cj = ci + 1, lim = (end + cs - 1) >> bits;
            if (e & Q2_ZERO) {
                cj = l2_skip_zero(q, cj, lim);
            } else {
                cj = l2_skip_unalloc(q, cj, lim);
            }
            n = (cj << bits < end ? cj << bits : end) - off;
        } else {
            /* host-contiguous data clusters in one go */
            uint64_t cj = l2_run_end(q, ci, (end + cs - 1) >> bits);
            n = (cj << bits < end ? cj << bits : end) - off;
        }
        if (e & Q2_ZERO || (!e && !q->backing)) {
            data_add_zero(out, n);
        } else if (e) {
            store_read_data(&f->data, e + in, n, out);
        } else {
            char *bp = path_relative_to(path, q->backing);
            int r = img_chain_read_data(s, bp, off, n, out, depth + 1);
            free(bp);
            if (r < 0) {
                return r;
            }
        }
        off += n;
        len -= n;
    }
    return 0;
}

/* The same as bytes. */
int img_open_chain_read(sim *s, const char *path, uint64_t off, uint64_t len,
                        void *buf, int depth)
{
    sim_data d;
    data_init(&d);
    int r = img_chain_read_data(s, path, off, len, &d, depth);
    if (r == 0) {
        data_to_buf(&d, buf);
    }
    data_free(&d);
    return r;
}
