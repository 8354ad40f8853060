/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A simulated file's contents: extents (runs of a pattern byte, slices of
 * shared blobs; gaps read as zeroes) so that copying or comparing costs the
 * number of extents, not of bytes; and beside them the set of allocated
 * blocks (SIM_CHUNK), which is what block status of a file reports.
 */
#include <stdlib.h>
#include <string.h>

#include "sim/store.h"

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        abort();
    }
    return q;
}

void store_init(sim_store *s)
{
    memset(s, 0, sizeof *s);
}

void store_free(sim_store *s)
{
    for (size_t i = 0; i < s->n; i++) {
        if (s->ext[i].s.kind == SPAN_DATA) {
            blob_unref(s->ext[i].s.blob);
        }
    }
    free(s->ext);
    free(s->keys);
    free(s->peek);
    memset(s, 0, sizeof *s);
}

size_t store_extent_count(const sim_store *s)
{
    return s->n;
}

/* ---- the allocated chunks: an open-addressing hash set ------------------- */

static size_t chunk_slot(const sim_store *s, uint64_t key)
{
    /* cap is a power of two */
    size_t i = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 17) & (s->cap - 1);
    while (s->keys[i] && s->keys[i] != key) {
        i = (i + 1) & (s->cap - 1);
    }
    return i;
}

static bool chunk_allocated(const sim_store *s, uint64_t idx)
{
    return s->cap && s->keys[chunk_slot(s, idx + 1)];
}

static void chunk_grow(sim_store *s)
{
    uint64_t *old = s->keys;
    size_t oldcap = s->cap;
    s->cap = oldcap ? oldcap * 2 : 64;
    s->keys = calloc(s->cap, sizeof *s->keys);
    if (!s->keys) {
        abort();
    }
    for (size_t i = 0; i < oldcap; i++) {
        if (old[i]) {
            s->keys[chunk_slot(s, old[i])] = old[i];
        }
    }
    free(old);
}

static void chunk_mark(sim_store *s, uint64_t idx)
{
    if ((s->used + 1) * 2 > s->cap) {
        chunk_grow(s);
    }
    size_t i = chunk_slot(s, idx + 1);
    if (!s->keys[i]) {
        s->keys[i] = idx + 1;
        s->used++;
    }
}

static void chunk_unmark(sim_store *s, uint64_t idx)
{
    if (!s->cap) {
        return;
    }
    size_t i = chunk_slot(s, idx + 1);
    if (!s->keys[i]) {
        return;
    }
    s->keys[i] = 0;
    s->used--;
    /* re-insert the keys that follow (linear probing deletion) */
    for (size_t j = (i + 1) & (s->cap - 1); s->keys[j]; j = (j + 1) & (s->cap - 1)) {
        uint64_t k = s->keys[j];
        s->keys[j] = 0;
        s->keys[chunk_slot(s, k)] = k;
    }
}

/* ---- the extents ---------------------------------------------------------- */

static uint64_t ext_end(const sim_ext *e)
{
    return e->off + e->s.len;
}

/* Index of the first extent that ends after off. */
static size_t ext_lower(const sim_store *s, uint64_t off)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ext_end(&s->ext[mid]) <= off) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* Room for k more extents at index i. */
static void ext_open(sim_store *s, size_t i, size_t k)
{
    if (s->n + k > s->ecap) {
        while (s->n + k > s->ecap) {
            s->ecap = s->ecap ? s->ecap * 2 : 16;
        }
        s->ext = xrealloc(s->ext, s->ecap * sizeof *s->ext);
    }
    if (s->n > i) {     /* with k == 0 an empty store may have no array */
        memmove(&s->ext[i + k], &s->ext[i], (s->n - i) * sizeof *s->ext);
    }
    s->n += k;
}

/* Drop the first `cut` bytes of extent e. */
static void ext_cut_head(sim_ext *e, uint64_t cut)
{
    e->off += cut;
    e->s.len -= cut;
    if (e->s.kind == SPAN_DATA) {
        e->s.boff += cut;
    }
}

/* Make [off, off + len) a gap; returns the index where it now is. */
static size_t ext_punch(sim_store *s, uint64_t off, uint64_t len)
{
    uint64_t end = off + len;
    size_t i = ext_lower(s, off);
    if (!len) {
        return i;
    }
    if (i < s->n && s->ext[i].off < off) {
        sim_ext *e = &s->ext[i];
        if (ext_end(e) > end) {
            /* the range is inside one extent: split it in two */
            ext_open(s, i + 1, 1);
            e = &s->ext[i];
            s->ext[i + 1] = *e;
            if (e->s.kind == SPAN_DATA) {
                e->s.blob->refs++;
            }
            ext_cut_head(&s->ext[i + 1], end - e->off);
            e->s.len = off - e->off;
            return i + 1;
        }
        e->s.len = off - e->off;
        i++;
    }
    size_t j = i;
    while (j < s->n && ext_end(&s->ext[j]) <= end) {
        if (s->ext[j].s.kind == SPAN_DATA) {
            blob_unref(s->ext[j].s.blob);
        }
        j++;
    }
    if (j < s->n && s->ext[j].off < end) {
        ext_cut_head(&s->ext[j], end - s->ext[j].off);
    }
    if (j > i && s->n > j) {    /* an empty store has no array at all */
        memmove(&s->ext[i], &s->ext[j], (s->n - j) * sizeof *s->ext);
    }
    s->n -= j - i;
    return i;
}

/* Can b follow a directly as one extent? */
static bool ext_joins(const sim_ext *a, const sim_ext *b)
{
    if (ext_end(a) != b->off || a->s.kind != b->s.kind) {
        return false;
    }
    if (a->s.kind == SPAN_BYTE) {
        return a->s.byte == b->s.byte;
    }
    return a->s.blob == b->s.blob && a->s.boff + a->s.len == b->s.boff;
}

/* Merge neighbours among extents [lo, hi] (clamped), keeping the list short. */
static void ext_coalesce(sim_store *s, size_t lo, size_t hi)
{
    if (hi >= s->n) {
        hi = s->n ? s->n - 1 : 0;
    }
    size_t out = lo;
    for (size_t i = lo + 1; i <= hi && i < s->n; i++) {
        if (ext_joins(&s->ext[out], &s->ext[i])) {
            s->ext[out].s.len += s->ext[i].s.len;
            if (s->ext[i].s.kind == SPAN_DATA) {
                blob_unref(s->ext[i].s.blob);
            }
        } else {
            s->ext[++out] = s->ext[i];
        }
    }
    if (hi < s->n && out < hi) {
        memmove(&s->ext[out + 1], &s->ext[hi + 1], (s->n - hi - 1) * sizeof *s->ext);
        s->n -= hi - out;
    }
}

/* ---- reads ---------------------------------------------------------------- */

void store_read_data(const sim_store *s, uint64_t off, uint64_t len, sim_data *out)
{
    uint64_t end = off + len;
    for (size_t i = ext_lower(s, off); off < end;) {
        if (i < s->n && s->ext[i].off <= off) {
            const sim_ext *e = &s->ext[i];
            uint64_t n = (ext_end(e) < end ? ext_end(e) : end) - off;
            data_add_span(out, &e->s, off - e->off, n);
            off += n;
            i++;
        } else {
            uint64_t stop = i < s->n && s->ext[i].off < end ? s->ext[i].off : end;
            data_add_zero(out, stop - off);
            off = stop;
        }
    }
}

void store_read(const sim_store *s, uint64_t off, uint64_t len, void *buf)
{
    uint8_t *p = buf;
    uint64_t end = off + len;
    for (size_t i = ext_lower(s, off); off < end;) {
        if (i < s->n && s->ext[i].off <= off) {
            const sim_ext *e = &s->ext[i];
            uint64_t n = (ext_end(e) < end ? ext_end(e) : end) - off;
            if (e->s.kind == SPAN_DATA) {
                memcpy(p, e->s.blob->bytes + e->s.boff + (off - e->off), (size_t)n);
            } else {
                memset(p, e->s.byte, (size_t)n);
            }
            p += n;
            off += n;
            i++;
        } else {
            uint64_t stop = i < s->n && s->ext[i].off < end ? s->ext[i].off : end;
            memset(p, 0, (size_t)(stop - off));
            p += stop - off;
            off = stop;
        }
    }
}

/* The leading run of [off, off + len) that is all holes (no allocated chunk
 * behind it: *hole) or all allocated chunks (!*hole). A hole may still be
 * read; a chunk may hold zeroes. */
/* The first allocated chunk in [idx, lim), or lim: by the chunks there
 * when they are fewer than the slots of the set, else by the slots. */
static uint64_t next_allocated_chunk(const sim_store *s, uint64_t idx, uint64_t lim)
{
    if (lim - idx <= s->cap) {
        while (idx < lim && !chunk_allocated(s, idx)) {
            idx++;
        }
        return idx;
    }
    uint64_t best = lim;
    for (size_t i = 0; i < s->cap; i++) {
        if (s->keys[i] && s->keys[i] - 1 >= idx && s->keys[i] - 1 < best) {
            best = s->keys[i] - 1;
        }
    }
    return best;
}

uint64_t store_extent(const sim_store *s, uint64_t off, uint64_t len, bool *hole)
{
    uint64_t done = 0;
    bool first = true;
    while (done < len) {
        uint64_t pos = off + done;
        uint64_t in = pos % SIM_CHUNK;
        uint64_t n = SIM_CHUNK - in < len - done ? SIM_CHUNK - in : len - done;
        bool h = pos >= s->size || !chunk_allocated(s, pos / SIM_CHUNK);
        if (pos >= s->size) {
            n = len - done;
        } else if (h && n < len - done) {
            /* a hole: to the next allocated chunk, or the end, at once */
            uint64_t end = off + len < s->size ? off + len : s->size;
            uint64_t lim = (end + SIM_CHUNK - 1) / SIM_CHUNK;
            uint64_t next = next_allocated_chunk(s, pos / SIM_CHUNK + 1, lim);
            n = (next * SIM_CHUNK < end ? next * SIM_CHUNK : end) - pos;
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

/* store_peek's bytes: the last two chunks asked for, materialised (two, so
 * that a caller can hold the bytes of two places at once). */
typedef struct sim_peek {
    uint64_t idx[2], gen[2];
    bool valid[2];
    int next;
    uint8_t bytes[2][SIM_CHUNK];
} sim_peek;

/* The bytes at off in place, valid for *pnum bytes (up to len, at most to the
 * chunk's end) until the store changes; NULL for a hole. Kept for callers
 * that want bytes; the simulator itself passes spans (store_read_data). */
const uint8_t *store_peek(const sim_store *s, uint64_t off, uint64_t len, uint64_t *pnum)
{
    uint64_t idx = off / SIM_CHUNK, in = off % SIM_CHUNK;
    *pnum = SIM_CHUNK - in < len ? SIM_CHUNK - in : len;
    if (off >= s->size || !chunk_allocated(s, idx)) {
        return NULL;
    }
    /* the cache is not part of the contents: a const store may fill it */
    sim_store *ms = (sim_store *)s;
    if (!ms->peek) {
        ms->peek = calloc(1, sizeof *ms->peek);
        if (!ms->peek) {
            abort();
        }
    }
    sim_peek *p = ms->peek;
    for (int k = 0; k < 2; k++) {
        if (p->valid[k] && p->idx[k] == idx && p->gen[k] == s->gen) {
            return p->bytes[k] + in;
        }
    }
    int k = p->next;
    p->next ^= 1;
    store_read(s, idx * SIM_CHUNK, SIM_CHUNK, p->bytes[k]);
    p->idx[k] = idx;
    p->gen[k] = s->gen;
    p->valid[k] = true;
    return p->bytes[k] + in;
}

/* ---- writes --------------------------------------------------------------- */

void store_write_data(sim_store *s, uint64_t off, const sim_data *in)
{
    uint64_t len = in->len;
    s->gen++;
    if (!len) {
        return;
    }
    if (off + len > s->size) {
        s->size = off + len;
    }
    for (uint64_t c = off / SIM_CHUNK; c <= (off + len - 1) / SIM_CHUNK; c++) {
        chunk_mark(s, c);
    }
    size_t i = ext_punch(s, off, len), k = 0;
    for (size_t j = 0; j < in->n; j++) {
        k += in->v[j].kind != SPAN_ZERO;
    }
    ext_open(s, i, k);
    uint64_t pos = off;
    size_t at = i;
    for (size_t j = 0; j < in->n; j++) {
        const sim_span *sp = &in->v[j];
        if (sp->kind != SPAN_ZERO) {
            s->ext[at].off = pos;
            s->ext[at].s = *sp;
            if (sp->kind == SPAN_DATA) {
                sp->blob->refs++;
            }
            at++;
        }
        pos += sp->len;
    }
    ext_coalesce(s, i ? i - 1 : 0, at);
}

void store_zero(sim_store *s, uint64_t off, uint64_t len)
{
    s->gen++;
    if (off + len > s->size) {
        s->size = off + len;
    }
    while (len) {
        uint64_t idx = off / SIM_CHUNK, o = off % SIM_CHUNK;
        uint64_t n = SIM_CHUNK - o < len ? SIM_CHUNK - o : len;
        if (n == SIM_CHUNK && len / SIM_CHUNK > s->cap) {
            /* more whole chunks than slots of the set: unmark the allocated
             * ones among them, found by the slots, and punch once */
            uint64_t whole = len / SIM_CHUNK;
            uint64_t *gone = malloc((s->used + 1) * sizeof *gone);
            size_t ngone = 0;
            if (!gone) {
                abort();
            }
            for (size_t i = 0; i < s->cap; i++) {
                if (s->keys[i] && s->keys[i] - 1 >= idx && s->keys[i] - 1 < idx + whole) {
                    gone[ngone++] = s->keys[i] - 1;
                }
            }
            for (size_t i = 0; i < ngone; i++) {
                chunk_unmark(s, gone[i]);
            }
            free(gone);
            ext_punch(s, off, whole * SIM_CHUNK);
            off += whole * SIM_CHUNK;
            len -= whole * SIM_CHUNK;
            continue;
        }
        if (n == SIM_CHUNK) {
            /* whole blocks become holes (a hole reads as zeroes): each
             * unmarked, their extents punched at once */
            uint64_t whole = len / SIM_CHUNK;
            for (uint64_t k = 0; k < whole; k++) {
                chunk_unmark(s, idx + k);
            }
            n = whole * SIM_CHUNK;
            ext_punch(s, off, n);
        } else if (chunk_allocated(s, idx)) {
            ext_punch(s, off, n);       /* part of a block: it stays allocated */
        }
        off += n;
        len -= n;
    }
}

void store_write(sim_store *s, uint64_t off, uint64_t len, const void *buf)
{
    if (!buf) {
        store_zero(s, off, len);
        return;
    }
    if (!len) {
        if (off > s->size) {
            s->size = off;
        }
        return;
    }
    sim_data d;
    data_init(&d);
    data_add_buf(&d, buf, len);
    store_write_data(s, off, &d);
    data_free(&d);
}

void store_truncate(sim_store *s, uint64_t size)
{
    s->gen++;
    if (size < s->size) {
        uint64_t first = (size + SIM_CHUNK - 1) / SIM_CHUNK;
        uint64_t last = (s->size + SIM_CHUNK - 1) / SIM_CHUNK;
        /* the tail of a partial chunk is zeroed, the chunk stays allocated */
        ext_punch(s, size, UINT64_MAX - size);
        if (last - first > s->cap) {
            /* fewer allocated chunks than indices: look at those */
            uint64_t *gone = malloc((s->used + 1) * sizeof *gone);
            size_t ngone = 0;
            if (!gone) {
                abort();
            }
            for (size_t i = 0; i < s->cap; i++) {
                if (s->keys[i] && s->keys[i] - 1 >= first) {
                    gone[ngone++] = s->keys[i] - 1;
                }
            }
            for (size_t i = 0; i < ngone; i++) {
                chunk_unmark(s, gone[i]);
            }
            free(gone);
        } else {
            for (uint64_t i = first; i < last; i++) {
                chunk_unmark(s, i);
            }
        }
    }
    s->size = size;
}

void store_truncate_posix(sim_store *s, uint64_t size)
{
    bool was_empty = s->size == 0;
    store_truncate(s, size);
    if (was_empty && size) {
        /* QEMU writes these bytes, which may extend the file past size */
        sim_data d;
        data_init(&d);
        data_add_byte(&d, size < 4096 ? 512 : 4096, 0);
        store_write_data(s, 0, &d);
        data_free(&d);
    }
}

bool store_block_status(const sim_store *s, uint64_t off, uint64_t len, uint64_t *pnum)
{
    bool hole = true;
    uint64_t run = off < s->size ? store_extent(s, off, len, &hole) : len;
    if (hole && off + run >= s->size) {
        run = len;                          /* SEEK_DATA: ENXIO, to the end */
    } else if (!hole && off + run == s->size && run % 512) {
        run = (run + 511) / 512 * 512;      /* rounded up to whole sectors */
    }
    *pnum = run < len ? run : len;
    return !hole;
}
