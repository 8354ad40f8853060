/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The in-memory file system: sparse files keyed by absolute path, and the
 * qcow2 metadata kept beside a file's bytes (we never serialise it: the
 * guest -> host map is what matters for contiguity and reads).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim_int.h"

/* ---- sparse byte store: an open-addressing hash of 64 KiB chunks --------- */

void store_init(sim_store *s)
{
    memset(s, 0, sizeof *s);
}

void store_free(sim_store *s)
{
    for (size_t i = 0; i < s->cap; i++) {
        free(s->chunks[i]);
    }
    free(s->keys);
    free(s->chunks);
    memset(s, 0, sizeof *s);
}

static size_t store_slot(const sim_store *s, uint64_t key)
{
    /* cap is a power of two */
    size_t i = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 17) & (s->cap - 1);
    while (s->keys[i] && s->keys[i] != key) {
        i = (i + 1) & (s->cap - 1);
    }
    return i;
}

static uint8_t *store_chunk(const sim_store *s, uint64_t idx)
{
    if (!s->cap) {
        return NULL;
    }
    size_t i = store_slot(s, idx + 1);
    return s->keys[i] ? s->chunks[i] : NULL;
}

static void store_grow(sim_store *s)
{
    sim_store old = *s;
    s->cap = old.cap ? old.cap * 2 : 64;
    s->keys = calloc(s->cap, sizeof *s->keys);
    s->chunks = calloc(s->cap, sizeof *s->chunks);
    s->used = 0;
    for (size_t i = 0; i < old.cap; i++) {
        if (old.keys[i]) {
            size_t j = store_slot(s, old.keys[i]);
            s->keys[j] = old.keys[i];
            s->chunks[j] = old.chunks[i];
            s->used++;
        }
    }
    free(old.keys);
    free(old.chunks);
}

/* The chunk, made when missing; zero-filled unless the caller overwrites it
 * whole. */
static uint8_t *store_chunk_get(sim_store *s, uint64_t idx, bool overwrite)
{
    if ((s->used + 1) * 2 > s->cap) {
        store_grow(s);
    }
    size_t i = store_slot(s, idx + 1);
    if (!s->keys[i]) {
        s->keys[i] = idx + 1;
        s->chunks[i] = overwrite ? malloc(SIM_CHUNK) : calloc(1, SIM_CHUNK);
        s->used++;
    }
    return s->chunks[i];
}

static void store_drop_chunk(sim_store *s, uint64_t idx)
{
    if (!s->cap) {
        return;
    }
    size_t i = store_slot(s, idx + 1);
    if (!s->keys[i]) {
        return;
    }
    free(s->chunks[i]);
    s->chunks[i] = NULL;
    s->keys[i] = 0;
    s->used--;
    /* re-insert the cluster that follows (linear probing deletion) */
    size_t j = (i + 1) & (s->cap - 1);
    while (s->keys[j]) {
        uint64_t k = s->keys[j];
        uint8_t *c = s->chunks[j];
        s->keys[j] = 0;
        s->chunks[j] = NULL;
        size_t t = store_slot(s, k);
        s->keys[t] = k;
        s->chunks[t] = c;
        j = (j + 1) & (s->cap - 1);
    }
}

void store_read(const sim_store *s, uint64_t off, uint64_t len, void *buf)
{
    uint8_t *out = buf;
    while (len) {
        uint64_t idx = off / SIM_CHUNK, in = off % SIM_CHUNK;
        uint64_t n = SIM_CHUNK - in < len ? SIM_CHUNK - in : len;
        const uint8_t *c = store_chunk(s, idx);
        if (c && off < s->size) {
            memcpy(out, c + in, n);
        } else {
            memset(out, 0, n);
        }
        out += n;
        off += n;
        len -= n;
    }
}

/* The leading run of [off, off + len) that is all holes (reads as zeroes
 * with no chunk behind it: *hole) or all chunks (!*hole). A hole may still be
 * read; a chunk may hold zeroes. */
uint64_t store_extent(const sim_store *s, uint64_t off, uint64_t len, bool *hole)
{
    uint64_t done = 0;
    bool first = true;
    while (done < len) {
        uint64_t pos = off + done;
        uint64_t in = pos % SIM_CHUNK;
        uint64_t n = SIM_CHUNK - in < len - done ? SIM_CHUNK - in : len - done;
        bool h = pos >= s->size || !store_chunk(s, pos / SIM_CHUNK);
        if (pos >= s->size) {
            n = len - done;
        }
        if (!first && h != *hole) {
            break;
        }
        *hole = h;
        first = false;
        done += n;
    }
    return done;
}

/* The bytes at off in place: a pointer into the chunk that holds them, valid
 * for *pnum bytes (up to len, at most to the chunk's end); NULL for a hole. */
const uint8_t *store_peek(const sim_store *s, uint64_t off, uint64_t len, uint64_t *pnum)
{
    uint64_t in = off % SIM_CHUNK;
    *pnum = SIM_CHUNK - in < len ? SIM_CHUNK - in : len;
    const uint8_t *c = off < s->size ? store_chunk(s, off / SIM_CHUNK) : NULL;
    return c ? c + in : NULL;
}

static bool all_zero(const uint8_t *p, uint64_t n)
{
    return !n || (!p[0] && !memcmp(p, p + 1, n - 1));
}

void store_write(sim_store *s, uint64_t off, uint64_t len, const void *buf)
{
    const uint8_t *in = buf;
    if (off + len > s->size) {
        s->size = off + len;
    }
    while (len) {
        uint64_t idx = off / SIM_CHUNK, o = off % SIM_CHUNK;
        uint64_t n = SIM_CHUNK - o < len ? SIM_CHUNK - o : len;
        if (in) {
            memcpy(store_chunk_get(s, idx, n == SIM_CHUNK) + o, in, n);
            in += n;
        } else if (n == SIM_CHUNK) {
            store_drop_chunk(s, idx);       /* a hole reads as zeroes */
        } else {
            uint8_t *c = store_chunk(s, idx);
            if (c) {
                memset(c + o, 0, n);
                if (all_zero(c, SIM_CHUNK)) {
                    store_drop_chunk(s, idx);
                }
            }
        }
        off += n;
        len -= n;
    }
}

void store_zero(sim_store *s, uint64_t off, uint64_t len)
{
    store_write(s, off, len, NULL);
}

void store_truncate(sim_store *s, uint64_t size)
{
    if (size < s->size) {
        uint64_t first = (size + SIM_CHUNK - 1) / SIM_CHUNK;
        uint64_t last = (s->size + SIM_CHUNK - 1) / SIM_CHUNK;
        if (size % SIM_CHUNK) {
            uint8_t *c = store_chunk(s, size / SIM_CHUNK);
            if (c) {
                memset(c + size % SIM_CHUNK, 0, SIM_CHUNK - size % SIM_CHUNK);
            }
        }
        for (uint64_t i = first; i < last; i++) {
            store_drop_chunk(s, i);
        }
    }
    s->size = size;
}

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
    q->l2 = calloc(q->nclusters ? q->nclusters : 1, sizeof *q->l2);
    uint64_t per_table = cluster_size / 8;
    q->l2_table = calloc(q->nclusters / per_table + 1, 1);
    /* header, refcount table, refcount block, L1 table */
    q->next_host = 4 * cluster_size;
    return q;
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
    free(q->l2);
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
    return f->qcow2 ? f->qcow2->size : f->data.size;
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
            uint64_t ci = pos >> bits, in = pos & (cs - 1), e = q->l2[ci];
            uint64_t end = q->size - pos < n ? q->size : pos + n;
            n = cs - in < end - pos ? cs - in : end - pos;
            if ((e & Q2_ZERO) || (!e && !q->backing)) {
                /* zero clusters, unallocated ones with nothing below: all
                 * the following ones too in one go */
                uint64_t cj = ci + 1;
                while (cj << bits < end &&
                       ((q->l2[cj] & Q2_ZERO) || (!q->l2[cj] && !q->backing))) {
                    cj++;
                }
                n = (cj << bits < end ? cj << bits : end) - pos;
            } else if (e) {
                n = store_extent(&f->data, e + in, n, &z);
                if (!z && data && first) {
                    *data = store_peek(&f->data, e + in, n, &n);
                }
            } else if (q->backing) {
                /* ask the backing file once for the whole unallocated run */
                uint64_t cj = ci + 1;
                while (cj << bits < end && !q->l2[cj]) {
                    cj++;
                }
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

/* Guest-visible read of an image file through its backing chain, without any
 * node (qemu-img's view). Past the image's end reads zeroes. */
int img_open_chain_read(sim *s, const char *path, uint64_t off, uint64_t len,
                        void *buf, int depth)
{
    sim_file *f = fs_lookup(s, path);
    uint8_t *out = buf;
    if (!f || depth > 16) {
        return -2;
    }
    if (!f->qcow2) {
        store_read(&f->data, off, len, buf);
        if (off + len > f->data.size) {
            uint64_t from = off > f->data.size ? off : f->data.size;
            memset(out + (from - off), 0, off + len - from);
        }
        return 0;
    }
    sim_qcow2 *q = f->qcow2;
    while (len) {
        uint64_t cs = q->cluster_size, ci = off / cs, in = off % cs;
        uint64_t n = cs - in < len ? cs - in : len;
        if (off >= q->size) {
            memset(out, 0, len);
            return 0;
        }
        if (n > q->size - off) {
            n = q->size - off;
        }
        uint64_t e = q->l2[ci];
        if (e & Q2_ZERO) {
            memset(out, 0, n);
        } else if (e) {
            store_read(&f->data, e + in, n, out);
        } else if (q->backing) {
            char *bp = path_relative_to(path, q->backing);
            int r = img_open_chain_read(s, bp, off, n, out, depth + 1);
            free(bp);
            if (r < 0) {
                return r;
            }
        } else {
            memset(out, 0, n);
        }
        out += n;
        off += n;
        len -= n;
    }
    return 0;
}
