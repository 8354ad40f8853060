/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The case generator. A case is a setup, a list of steps and a final
 * check; each step starts with a "# step N: ..." comment line and is
 * self-contained, so a minimiser can drop whole steps. The generator models
 * what QEMU 7.2 should do (sim/MODEL.md states the rules it relies on) and
 * writes that prediction into the case as oracle checks; the transcript
 * itself (events, replies, listings) comes from the backend.
 *
 * Adding a command: write an emit function for a step kind and give it a
 * row in step_kinds[] with a weight per profile.
 */
#include "tools/casegen/casegen_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* ---- random numbers (splitmix64: tiny, and the same everywhere) ---------- */


uint64_t cg_rnext(rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [0, n). */
uint64_t cg_rbelow(rng *r, uint64_t n)
{
    return n ? cg_rnext(r) % n : 0;
}

int cg_rchance(rng *r, unsigned percent)
{
    return cg_rbelow(r, 100) < percent;
}

/* ---- coverage ---------------------------------------------------------------- */

void cg_cover_add(cg_cover_item **v, size_t *n, const char *name)
{
    for (size_t i = 0; i < *n; i++) {
        if (!strcmp((*v)[i].name, name)) {
            (*v)[i].count++;
            return;
        }
    }
    *v = realloc(*v, (*n + 1) * sizeof(**v));
    if (!*v)
        abort();
    (*v)[*n].name = strdup(name);
    if (!(*v)[*n].name)
        abort();
    (*v)[*n].count = 1;
    (*n)++;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const cg_cover_item *)a)->name, ((const cg_cover_item *)b)->name);
}

void cg_cover_report(const cg_cover *c, sbuf *out)
{
    cg_cover_item *v[2] = { c->commands, c->options };
    size_t n[2] = { c->ncommands, c->noptions };
    const char *what[2] = { "command", "option" };
    for (int k = 0; k < 2; k++) {
        qsort(v[k], n[k], sizeof(*v[k]), by_name);
        for (size_t i = 0; i < n[k]; i++)
            sbuf_printf(out, "%s %s %lu\n", what[k], v[k][i].name, v[k][i].count);
    }
    sbuf_printf(out, "coverage: %zu distinct QMP commands, %zu distinct options\n", n[0], n[1]);
}

void cg_cover_free(cg_cover *c)
{
    for (size_t i = 0; i < c->ncommands; i++)
        free(c->commands[i].name);
    for (size_t i = 0; i < c->noptions; i++)
        free(c->options[i].name);
    free(c->commands);
    free(c->options);
    memset(c, 0, sizeof(*c));
}

/* ---- the generator's model ---------------------------------------------------- */


void cg_line(gen *g, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s;
    if (vasprintf(&s, fmt, ap) < 0)
        abort();
    va_end(ap);
    sbuf_adds(g->o, s);
    sbuf_addc(g->o, '\n');
    free(s);
}

void cg_cmd(gen *g, const char *name)
{
    if (g->cov)
        cg_cover_add(&g->cov->commands, &g->cov->ncommands, name);
}

void cg_opt(gen *g, const char *fmt, ...)
{
    if (!g->cov)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *s;
    if (vasprintf(&s, fmt, ap) < 0)
        abort();
    va_end(ap);
    cg_cover_add(&g->cov->options, &g->cov->noptions, s);
    free(s);
}

void cg_begin_step(gen *g, const char *what)
{
    cg_line(g, "%s", "");
    cg_line(g, "# step %d: %s", ++g->step, what);
}

void cg_bits_dirty_range(bitmap *b, uint64_t off, uint64_t len)
{
    if (!len)
        return;
    uint64_t first = off / b->gran, last = (off + len - 1) / b->gran;
    for (uint64_t i = first; i <= last && i < b->nbits; i++)
        b->bits[i] = 1;
}

void cg_drop_bitmap(gen *g, bitmap *b)
{
    free(b->bits);
    *b = g->bm[--g->nbm];
    memset(&g->bm[g->nbm], 0, sizeof(g->bm[g->nbm]));
}

uint8_t cg_byte_at(const gen *g, uint8_t *const *d, uint64_t i)
{
    const uint8_t *c = d[i / CLUSTER];
    return c ? c[i % CLUSTER] : 0;
}

void cg_disk_fill(gen *g, uint64_t off, uint64_t len, uint8_t pat)
{
    while (len) {
        uint64_t c = off / CLUSTER, in = off % CLUSTER;
        uint64_t n = CLUSTER - in < len ? CLUSTER - in : len;
        if (!g->disk[c]) {
            g->disk[c] = calloc(CLUSTER, 1);
            if (!g->disk[c])
                abort();
        }
        memset(g->disk[c] + in, pat, n);
        off += n;
        len -= n;
    }
}

uint8_t **cg_disk_copy(const gen *g)
{
    uint8_t **d = calloc(g->nclusters, sizeof(*d));
    if (!d)
        abort();
    for (size_t c = 0; c < g->nclusters; c++) {
        if (g->disk[c]) {
            d[c] = malloc(CLUSTER);
            if (!d[c])
                abort();
            memcpy(d[c], g->disk[c], CLUSTER);
        }
    }
    return d;
}

void cg_disk_free(const gen *g, uint8_t **d)
{
    for (size_t c = 0; c < g->nclusters; c++)
        free(d[c]);
    free(d);
}

/* ---- emitting checks ----------------------------------------------------------- */

/* `model M new G` plus one dirty_bits per run of set bits. */
void cg_emit_model(gen *g, const char *model, uint64_t gran, const uint8_t *bits, size_t n)
{
    cg_line(g, "model %s new %llu", model, (unsigned long long)gran);
    for (size_t i = 0; i < n;) {
        if (!bits[i]) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < n && bits[j])
            j++;
        cg_line(g, "model %s dirty_bits %zu %zu", model, i, j);
        i = j;
    }
}

/* A listing, then a check of every bitmap the generator knows. */
void cg_emit_checks(gen *g)
{
    cg_line(g, "bitmaps");
    cg_cmd(g, "query-named-block-nodes");
    for (int i = 0; i < g->nbm; i++) {
        bitmap *b = &g->bm[i];
        char model[24];
        snprintf(model, sizeof(model), "m%s", b->name);
        cg_emit_model(g, model, b->gran, b->bits, b->nbits);
        cg_line(g, "check %s \"drive0\" \"%s\"", model, b->name);
    }
}

/* An image holding exactly the bytes of `disk` where `keep` (per source
 * cluster; NULL: everywhere) says so, named by files variable `var` and
 * node `node`; written through the VM, then closed. */
void cg_emit_expect_image(gen *g, const char *var, const uint8_t *keep)
{
    cg_line(g, "files %s", var);
    cg_line(g, "img_create $FMT $%s $SIZE", var);
    cg_line(g, "qmp blockdev-add {\"node-name\": \"%s\", \"driver\": $FMT, "
            "\"file\": {\"driver\": \"file\", \"filename\": $%s}}", var, var);
    cg_cmd(g, "blockdev-add");
    for (uint64_t i = 0; i < g->size;) {
        if (!g->disk[i / CLUSTER] || (keep && !keep[i / CLUSTER])) {
            i = (i / CLUSTER + 1) * CLUSTER;
            continue;
        }
        uint8_t p = cg_byte_at(g, g->disk, i);
        if (!p) {
            i++;
            continue;
        }
        uint64_t j = i;
        while (j < g->size && cg_byte_at(g, g->disk, j) == p && (!keep || keep[j / CLUSTER]))
            j++;
        cg_line(g, "qmp human-monitor-command {\"command-line\": "
                "\"qemu-io %s \\\"write -P 0x%02x 0x%llx 0x%llx\\\"\"}",
             var, p, (unsigned long long)i, (unsigned long long)(j - i));
        cg_cmd(g, "human-monitor-command");
        i = j;
    }
    cg_line(g, "qmp blockdev-del {\"node-name\": \"%s\"}", var);
    cg_cmd(g, "blockdev-del");
}

/* ---- writes ---------------------------------------------------------------------- */

/* One random write inside the image, of a kind the issue asks for. */
void cg_pick_write(gen *g, uint64_t *off, uint64_t *len, const uint64_t *prev_off,
                       const uint64_t *prev_len, size_t nprev)
{
    uint64_t size = g->size;
    switch (cg_rbelow(&g->r, 6)) {
    case 0: /* aligned clusters */
        *len = CLUSTER * (1 + cg_rbelow(&g->r, 4));
        if (*len > size)
            *len = size;
        *off = cg_rbelow(&g->r, (size - *len) / CLUSTER + 1) * CLUSTER;
        cg_opt(g, "write=aligned");
        break;
    case 1: /* 4 KiB or 512-byte aligned, not cluster aligned */
        *len = (cg_rchance(&g->r, 50) ? 4096 : 512) * (1 + cg_rbelow(&g->r, 24));
        if (*len > size)
            *len = size;
        *off = cg_rbelow(&g->r, (size - *len) / 512 + 1) * 512;
        cg_opt(g, "write=unaligned");
        break;
    case 2: /* odd bytes */
        *len = 1 + cg_rbelow(&g->r, 3000);
        if (*len > size)
            *len = size;
        *off = cg_rbelow(&g->r, size - *len + 1);
        cg_opt(g, "write=bytes");
        break;
    case 3: /* at the image's end */
        *len = cg_rchance(&g->r, 50) ? CLUSTER : 512 * (1 + cg_rbelow(&g->r, 200));
        if (*len > size)
            *len = size;
        *off = size - *len;
        cg_opt(g, "write=end");
        break;
    case 4: /* at the start, maybe crossing clusters */
        *off = 0;
        *len = 512 * (1 + cg_rbelow(&g->r, 300));
        if (*len > size)
            *len = size;
        cg_opt(g, "write=start");
        break;
    default: /* overlapping an earlier write of this group, or anywhere */
        if (nprev) {
            size_t k = cg_rbelow(&g->r, nprev);
            uint64_t lo = prev_off[k] > 4096 ? prev_off[k] - 4096 : 0;
            *off = lo + cg_rbelow(&g->r, prev_len[k] + 4096) / 512 * 512;
            if (*off >= size)
                *off = size - 512;
            *len = 512 * (1 + cg_rbelow(&g->r, 256));
            if (*off + *len > size)
                *len = size - *off;
            cg_opt(g, "write=overlap");
        } else {
            *len = CLUSTER * 2;
            if (*len > size)
                *len = size;
            *off = cg_rbelow(&g->r, size - *len + 1) / CLUSTER * CLUSTER + CLUSTER / 2;
            if (*off + *len > size)
                *off = size - *len;
            cg_opt(g, "write=straddle");
        }
        break;
    }
}

/* Defines a group of 1-4 writes, writes it to `node`, and updates the
 * models: every enabled bitmap in `dirty` (NULL: all enabled) gets the
 * bits, `succ` (if not NULL) too. */
void cg_emit_writes(gen *g, const char *node, uint8_t *succ, uint64_t succ_gran,
                        size_t succ_nbits)
{
    char name[16];
    snprintf(name, sizeof(name), "w%d", g->next_id++);
    size_t n = 1 + cg_rbelow(&g->r, 4);
    uint64_t off[4], len[4];
    uint8_t pat[4];
    sbuf gl = {0};
    sbuf_printf(&gl, "group \"%s\" =", name);
    for (size_t i = 0; i < n; i++) {
        cg_pick_write(g, &off[i], &len[i], off, len, i);
        pat[i] = (uint8_t)(1 + cg_rbelow(&g->r, 255));
        sbuf_printf(&gl, " 0x%02x@0x%llx:0x%llx", pat[i], (unsigned long long)off[i],
                    (unsigned long long)len[i]);
    }
    cg_line(g, "%s", sbuf_str(&gl));
    sbuf_free(&gl);
    cg_line(g, "write \"%s\" \"%s\"", node, name);
    g->dirty_since_flush = 1;  /* every node written here sits on drive0 */
    cg_cmd(g, "human-monitor-command");
    for (size_t i = 0; i < n; i++) {
        if (i == 0 && g->fail_next) {
            /* nothing written, yet the bitmaps take the range
             * (bdrv_co_write_req_finish marks them on failure too) */
            g->fail_next = 0;
            for (int k = 0; k < g->nbm; k++)
                if (g->bm[k].enabled)
                    cg_bits_dirty_range(&g->bm[k], off[i], len[i]);
            continue;
        }
        cg_disk_fill(g, off[i], len[i], pat[i]);
        for (uint64_t c = off[i] / CLUSTER; c <= (off[i] + len[i] - 1) / CLUSTER; c++) {
            g->alloc[c] = 1;
            if (g->touched)
                g->touched[c] = 1;
        }
        for (int k = 0; k < g->nbm; k++)
            if (g->bm[k].enabled)
                cg_bits_dirty_range(&g->bm[k], off[i], len[i]);
        if (succ) {
            for (uint64_t b = off[i] / succ_gran; b <= (off[i] + len[i] - 1) / succ_gran &&
                 b < succ_nbits; b++)
                succ[b] = 1;
        }
    }
}

/* ---- step kinds ------------------------------------------------------------------------ */

static void step_write(gen *g)
{
    cg_begin_step(g, "guest writes");
    cg_emit_writes(g, "drive0", NULL, 0, 0);
    if (cg_rchance(&g->r, 30))
        cg_emit_checks(g);
    cg_line(g, "blank");
}

uint64_t cg_pick_granularity(gen *g)
{
    /* every power of two QEMU allows (512 B .. 2 GiB), 64 KiB most often */
    static const unsigned shifts[] = { 16, 16, 16, 9, 12, 15, 17, 20, 21, 24, 31 };
    return 1ull << shifts[cg_rbelow(&g->r, sizeof(shifts) / sizeof(shifts[0]))];
}

static void step_bitmap_add(gen *g)
{
    if (g->nbm == MAX_BITMAPS)
        return;
    bitmap *b = &g->bm[g->nbm];
    snprintf(b->name, sizeof(b->name), "b%d", g->next_id++);
    b->gran = cg_pick_granularity(g);
    b->nbits = (g->size + b->gran - 1) / b->gran;
    b->bits = calloc(b->nbits, 1);
    if (!b->bits)
        abort();
    b->persistent = cg_rchance(&g->r, 30);
    b->enabled = !cg_rchance(&g->r, 15);
    g->nbm++;
    cg_begin_step(g, "add a bitmap");
    sbuf a = {0};
    sbuf_printf(&a, "{\"node\": \"drive0\", \"name\": \"%s\"", b->name);
    if (b->gran != 65536 || cg_rchance(&g->r, 50))
        sbuf_printf(&a, ", \"granularity\": %llu", (unsigned long long)b->gran);
    if (b->persistent)
        sbuf_adds(&a, ", \"persistent\": true");
    if (!b->enabled)
        sbuf_adds(&a, ", \"disabled\": true");
    sbuf_adds(&a, "}");
    cg_line(g, "qmp_log block-dirty-bitmap-add %s", sbuf_str(&a));
    sbuf_free(&a);
    cg_cmd(g, "block-dirty-bitmap-add");
    cg_opt(g, "granularity=%llu", (unsigned long long)b->gran);
    if (b->persistent)
        cg_opt(g, "bitmap-add persistent");
    if (!b->enabled)
        cg_opt(g, "bitmap-add disabled");
    cg_line(g, "blank");
}

bitmap *cg_any_bitmap(gen *g)
{
    return g->nbm ? &g->bm[cg_rbelow(&g->r, (uint64_t)g->nbm)] : NULL;
}

static void step_bitmap_op(gen *g)
{
    bitmap *b = cg_any_bitmap(g);
    if (!b)
        return;
    static const char *const ops[] = { "clear", "enable", "disable", "remove", "merge" };
    const char *op = ops[cg_rbelow(&g->r, 5)];
    if (!strcmp(op, "merge") && g->nbm < 2)
        op = "clear";
    char what[64];
    snprintf(what, sizeof(what), "bitmap %s", op);
    cg_begin_step(g, what);
    char full[40];
    snprintf(full, sizeof(full), "block-dirty-bitmap-%s", op);
    cg_cmd(g, full);
    if (!strcmp(op, "merge")) {
        /* target gets the union of 1-2 sources (any granularity, even itself) */
        bitmap *src[2];
        int ns = 1 + (int)cg_rbelow(&g->r, 2);
        sbuf l = {0};
        for (int i = 0; i < ns; i++) {
            src[i] = cg_any_bitmap(g);
            sbuf_printf(&l, "%s\"%s\"", i ? ", " : "", src[i]->name);
        }
        cg_line(g, "qmp_log block-dirty-bitmap-merge {\"node\": \"drive0\", \"target\": \"%s\", "
                "\"bitmaps\": [%s]}", b->name, sbuf_str(&l));
        sbuf_free(&l);
        for (int i = 0; i < ns; i++) {
            if (src[i]->gran != b->gran)
                cg_opt(g, "merge across granularities");
            for (size_t k = 0; k < src[i]->nbits; k++)
                if (src[i]->bits[k])
                    cg_bits_dirty_range(b, k * src[i]->gran,
                                     k * src[i]->gran + src[i]->gran > g->size
                                         ? g->size - k * src[i]->gran : src[i]->gran);
        }
    } else {
        cg_line(g, "qmp_log %s {\"node\": \"drive0\", \"name\": \"%s\"}", full, b->name);
        if (!strcmp(op, "clear"))
            memset(b->bits, 0, b->nbits);
        else if (!strcmp(op, "enable"))
            b->enabled = 1;
        else if (!strcmp(op, "disable"))
            b->enabled = 0;
        else
            cg_drop_bitmap(g, b);
    }
    cg_line(g, "blank");
    if (cg_rchance(&g->r, 60)) {
        cg_emit_checks(g);
        cg_line(g, "blank");
    }
}


void cg_emit_target(gen *g, target *t, int write_error)
{
    snprintf(t->name, sizeof(t->name), "t%d", g->next_id++);
    t->cluster = 65536;
    t->via_create = cg_rchance(&g->r, 50);
    cg_line(g, "files %s", t->name);
    if (t->via_create) {
        static const uint64_t sizes[] = { 65536, 65536, 131072, 32768 };
        t->cluster = sizes[cg_rbelow(&g->r, 4)];
        cg_line(g, "qmp_return blockdev-create {\"job-id\": \"c%s\", \"options\": {\"driver\": "
                "\"file\", \"filename\": $%s, \"size\": 0}}", t->name, t->name);
        cg_line(g, "run_job \"c%s\"", t->name);
        cg_line(g, "qmp_return blockdev-add {\"driver\": \"file\", \"node-name\": \"%sf\", "
                "\"filename\": $%s}", t->name, t->name);
        cg_line(g, "qmp_return blockdev-create {\"job-id\": \"c%s\", \"options\": {\"driver\": "
                "$FMT, \"file\": \"%sf\", \"size\": $SIZE%s}}", t->name, t->name,
             t->cluster != 65536 ? (t->cluster == 131072 ? ", \"cluster-size\": 131072"
                                                         : ", \"cluster-size\": 32768") : "");
        cg_line(g, "run_job \"c%s\"", t->name);
        cg_cmd(g, "blockdev-create");
        cg_cmd(g, "job-dismiss");
        cg_opt(g, "target=blockdev-create");
        cg_opt(g, "target cluster-size=%llu", (unsigned long long)t->cluster);
    } else {
        cg_line(g, "img_create $FMT $%s $SIZE", t->name);
        cg_opt(g, "target=qemu-img create");
    }
    char file[160];
    if (t->via_create)
        snprintf(file, sizeof(file), "\"%sf\"", t->name);
    else
        snprintf(file, sizeof(file), "{\"driver\": \"file\", \"filename\": $%s}", t->name);
    if (write_error) {
        cg_line(g, "qmp_log blockdev-add {\"driver\": $FMT, \"node-name\": \"%s\", \"file\": "
                "{\"driver\": \"blkdebug\", \"image\": %s, \"inject-error\": [{\"event\": "
                "\"write_aio\", \"errno\": 28, \"once\": true}]}}", t->name, file);
        cg_opt(g, "blkdebug target write error");
    } else {
        cg_line(g, "qmp_log blockdev-add {\"driver\": $FMT, \"node-name\": \"%s\", \"file\": %s}",
             t->name, file);
    }
    cg_cmd(g, "blockdev-add");
}

void cg_emit_target_del(gen *g, const target *t)
{
    cg_line(g, "qmp_log blockdev-del {\"node-name\": \"%s\"}", t->name);
    if (t->via_create)
        cg_line(g, "qmp_log blockdev-del {\"node-name\": \"%sf\"}", t->name);
    cg_cmd(g, "blockdev-del");
}

/* Clusters (of size cs) the job's copy bitmap starts with. */
uint8_t *cg_initial_copy_set(gen *g, const char *sync, const bitmap *b, uint64_t cs,
                                 size_t *n)
{
    *n = (g->size + cs - 1) / cs;
    uint8_t *set = calloc(*n, 1);
    if (!set)
        abort();
    for (size_t c = 0; c < *n; c++) {
        uint64_t lo = c * cs, hi = lo + cs < g->size ? lo + cs : g->size;
        int any_alloc = 0;
        for (uint64_t s = lo / CLUSTER; s <= (hi - 1) / CLUSTER; s++)
            any_alloc |= g->alloc[s];
        if (!strcmp(sync, "full")) {
            set[c] = 1;
        } else if (!strcmp(sync, "top")) {
            set[c] = (uint8_t)any_alloc;
        } else {
            for (uint64_t k = lo / b->gran; k <= (hi - 1) / b->gran && k < b->nbits; k++)
                set[c] |= b->bits[k];
        }
    }
    return set;
}

/* The first cluster of the first task that reads the source, as QEMU 7.2's
 * block-copy runs them with one worker (sim/MODEL.md): a task starts at the
 * lowest remaining cluster, spans following remaining clusters up to
 * max(cluster, 1 MiB), and is cut to the block-status run of its start; a
 * run shorter than a cluster is copied as data, a zero run is written as
 * zeroes without a read. ncl when no task reads. */
size_t cg_first_data_task(gen *g, const uint8_t *init, size_t ncl, uint64_t cs,
                          uint64_t max_chunk)
{
    uint64_t maxb = cs > (1 << 20) ? cs : (1 << 20);
    if (max_chunk && max_chunk < maxb)
        maxb = max_chunk;   /* MIN_NON_ZERO(block_copy_chunk_size, max-chunk) */
    size_t c = 0;
    while (c < ncl) {
        if (!init[c]) {
            c++;
            continue;
        }
        size_t e = c;
        while (e < ncl && init[e] && (e - c + 1) * cs <= maxb)
            e++;
        uint64_t start = c * cs, end = e * cs < g->size ? e * cs : g->size;
        int a0 = g->alloc[start / CLUSTER];
        uint64_t p = start;
        while (p < end && g->alloc[p / CLUSTER] == a0)
            p = (p / CLUSTER + 1) * CLUSTER;
        uint64_t run = (p < end ? p : end) - start;
        if (a0 || run < cs)
            return c;
        uint64_t num = start + run == g->size ? (run + cs - 1) / cs * cs : run / cs * cs;
        c += num / cs;
    }
    return ncl;
}

static void step_backup(gen *g)
{
    static const char *const syncs[] = { "full", "top", "bitmap", "incremental" };
    const char *sync = syncs[cg_rbelow(&g->r, 4)];
    bitmap *b = NULL;
    const char *mode = NULL;
    int need_bitmap = !strcmp(sync, "bitmap") || !strcmp(sync, "incremental");
    if (need_bitmap || (g->nbm && cg_rchance(&g->r, 50))) {
        b = cg_any_bitmap(g);
        if (!b)
            sync = "full";
    }
    if (b) {
        if (!strcmp(sync, "incremental")) {
            mode = cg_rchance(&g->r, 50) ? "on-success" : NULL;
        } else {
            static const char *const modes[] = { "on-success", "always", "never" };
            mode = modes[cg_rbelow(&g->r, !strcmp(sync, "bitmap") ? 3 : 2)];
        }
    }
    int sync_bitmap = 0;
    if (b && mode && strcmp(mode, "never"))
        sync_bitmap = 1;
    else if (b && !mode)    /* incremental: on-success */
        sync_bitmap = 1;

    /* outcome: finalize, cancel while pending, a source read error, a
     * target write error */
    const char *outcome = "finalize";
    unsigned pick = (unsigned)cg_rbelow(&g->r, 100);
    if (pick < 20)
        outcome = "cancel";
    else if (pick < 35 && g->blkdebug && g->armed && g->dirty_since_flush)
        outcome = "read-error";
    else if (pick < 45)
        outcome = "write-error";
    else if (pick < 60)
        outcome = "auto-finalize";
    if (g->primed)
        outcome = "read-error";     /* a flush moved blkdebug on already */

    /* drive-backup makes its own target (and has no blkdebug on it) */
    int drive = strcmp(outcome, "write-error") && cg_rchance(&g->r, 20);
    /* what a failed copy does: report ends the job; ignore retries the
     * clusters at once, so a one-shot error costs nothing; enospc and auto
     * report EIO (sim/MODEL.md, QEMU's block_job_error_action) */
    const char *policy = NULL;
    int is_read_err = !strcmp(outcome, "read-error");
    if ((is_read_err || !strcmp(outcome, "write-error")) && cg_rchance(&g->r, 60)) {
        static const char *const rp[] = { "report", "ignore", "enospc", "auto" };
        policy = rp[cg_rbelow(&g->r, is_read_err ? 4 : 2)];
    }
    int ignored = policy && !strcmp(policy, "ignore");

    target t;
    char what[200];
    snprintf(what, sizeof(what), "%s sync=%s bitmap=%s mode=%s outcome=%s%s%s",
             drive ? "drive-backup" : "backup", sync, b ? b->name : "-", mode ? mode : "-",
             outcome, policy ? " policy=" : "", policy ? policy : "");
    cg_begin_step(g, what);
    cg_opt(g, "sync=%s", sync);
    if (mode)
        cg_opt(g, "sync=%s bitmap-mode=%s", sync, mode);
    cg_opt(g, "outcome=%s", outcome);
    if (policy)
        cg_opt(g, "%s=%s", is_read_err ? "on-source-error" : "on-target-error", policy);
    if (drive) {
        snprintf(t.name, sizeof(t.name), "t%d", g->next_id++);
        t.cluster = 65536;
        t.via_create = 0;
        cg_line(g, "files %s", t.name);
        cg_opt(g, "drive-backup");
    } else {
        cg_emit_target(g, &t, !strcmp(outcome, "write-error"));
    }
    uint64_t cs = t.cluster > 65536 ? t.cluster : 65536;

    size_t ncl;
    /* drive-backup's sync top with no backing file is sync full (QEMU's
     * drive_backup_prepare) */
    uint8_t *init = cg_initial_copy_set(g, drive && !strcmp(sync, "top") ? "full" : sync, b, cs,
                                     &ncl);
    int fails = !strcmp(outcome, "read-error") || !strcmp(outcome, "write-error");
    /* the error hits the first data read (or write): without one, nothing fails */
    /* x-perf: several workers only where no copy fails (which cluster
     * fails first is then up to the order the workers finish in) */
    sbuf perf = {0};
    uint64_t max_chunk = cg_xperf(g, &perf, !fails, cs);
    size_t first_data = cg_first_data_task(g, init, ncl, cs, max_chunk);
    if (fails && first_data == ncl)
        fails = 0;
    int error_event = fails;    /* a BLOCK_JOB_ERROR is seen */
    if (ignored)
        fails = 0;

    /* the error lands (and is used up) even when the policy ignores it */
    if (!strcmp(outcome, "read-error") && error_event) {
        if (!g->primed) {
            cg_line(g, "hmp_io \"drive0\" \"flush\"");
            cg_cmd(g, "human-monitor-command");
            cg_line(g, "blank");
            g->dirty_since_flush = 0;
        }
        g->armed = 0;
        g->primed = 0;
    }
    char job[16];
    snprintf(job, sizeof(job), "j%d", g->next_id++);
    int autofin = !strcmp(outcome, "auto-finalize");
    sbuf a = {0};
    if (drive)
        sbuf_printf(&a, "{\"device\": \"drive0\", \"target\": $%s, \"format\": $FMT, "
                    "\"sync\": \"%s\", \"job-id\": \"%s\"", t.name, sync, job);
    else
        sbuf_printf(&a, "{\"device\": \"drive0\", \"target\": \"%s\", \"sync\": \"%s\", "
                    "\"job-id\": \"%s\"", t.name, sync, job);
    if (policy)
        sbuf_printf(&a, ", \"%s\": \"%s\"", is_read_err ? "on-source-error" : "on-target-error",
                    policy);
    if (cg_rchance(&g->r, 15)) {
        /* fast enough for real QEMU not to wait long */
        sbuf_printf(&a, ", \"speed\": %d", 64 << 20);
        cg_opt(g, "speed");
    }
    if (!autofin)
        sbuf_adds(&a, ", \"auto-finalize\": false");
    if (b)
        sbuf_printf(&a, ", \"bitmap\": \"%s\"", b->name);
    if (mode)
        sbuf_printf(&a, ", \"bitmap-mode\": \"%s\"", mode);
    sbuf_printf(&a, ", \"filter-node-name\": \"backup-top\", \"x-perf\": %s}", sbuf_str(&perf));
    sbuf_free(&perf);
    if (cg_rchance(&g->r, 15)) {
        /* the one job of a grouped transaction: its group is itself */
        cg_line(g, "qmp_log transaction {\"actions\": [{\"type\": \"%s\", \"data\": %s}], "
                "\"properties\": {\"completion-mode\": \"grouped\"}}",
             drive ? "drive-backup" : "blockdev-backup", sbuf_str(&a));
        cg_cmd(g, "transaction");
        cg_opt(g, "transaction: completion-mode=grouped backup");
    } else {
        cg_line(g, "qmp_log %s %s", drive ? "drive-backup" : "blockdev-backup", sbuf_str(&a));
    }
    sbuf_free(&a);
    cg_cmd(g, drive ? "drive-backup" : "blockdev-backup");

    /* What the target must hold after a success: the source as it was now,
     * on the clusters the job copies. */
    uint8_t **disk_then = cg_disk_copy(g);
    uint8_t *keep = calloc(g->nclusters, 1);
    if (!keep)
        abort();
    for (size_t c = 0; c < ncl; c++)
        if (init[c])
            for (uint64_t s = c * cs / CLUSTER; s < g->nclusters && s * CLUSTER < (c + 1) * cs; s++)
                keep[s] = 1;

    /* writes while pending land in the successor (when the bitmap records) */
    uint8_t *succ = NULL;
    if (b) {
        succ = calloc(b->nbits, 1);
        if (!succ)
            abort();
    }
    uint8_t *frozen = b ? malloc(b->nbits) : NULL;
    if (b)
        memcpy(frozen, b->bits, b->nbits);

    char hook[24] = "";
    if (!autofin && !fails) {
        snprintf(hook, sizeof(hook), "pending_%s", job);
        cg_line(g, "proc %s", hook);
        if (cg_rchance(&g->r, 60)) {
            /* the bitmap in use must not take these bits: write with it set
             * aside, then put it back */
            int was = b ? b->enabled : 0;
            if (b)
                b->enabled = 0;
            cg_emit_writes(g, "backup-top", b && was ? succ : NULL, b ? b->gran : 0,
                        b ? b->nbits : 0);
            if (b)
                b->enabled = was;
        }
        switch (cg_rbelow(&g->r, 7)) {
        case 5: {
            /* verbs a pending job refuses (QEMU's JobVerbTable) */
            static const char *const verbs[][2] = {
                { "job-pause", "id" }, { "job-resume", "id" }, { "job-dismiss", "id" },
                { "block-job-pause", "device" }, { "block-job-resume", "device" },
                { "block-job-complete", "device" }, { "block-job-dismiss", "id" },
            };
            size_t k = cg_rbelow(&g->r, 7);
            cg_line(g, "    qmp_log %s {\"%s\": \"%s\"}", verbs[k][0], verbs[k][1], job);
            cg_cmd(g, verbs[k][0]);
            cg_opt(g, "%s while pending", verbs[k][0]);
            break;
        }
        case 6:
            cg_line(g, "    qmp_log block-job-set-speed {\"device\": \"%s\", \"speed\": %d}", job,
                 cg_rchance(&g->r, 50) ? 1 << 20 : -1);
            cg_cmd(g, "block-job-set-speed");
            cg_opt(g, "block-job-set-speed while pending");
            break;
        case 0:
            cg_line(g, "    qmp_log query-jobs");
            cg_cmd(g, "query-jobs");
            break;
        case 1:
            cg_line(g, "    qmp_log query-block-jobs");
            cg_cmd(g, "query-block-jobs");
            break;
        case 2:
            cg_line(g, "    qmp_log job-complete {\"id\": \"%s\"}", job);
            cg_cmd(g, "job-complete");
            cg_opt(g, "job-complete while pending");
            break;
        case 3:
            cg_line(g, "    qmp_log blockdev-del {\"node-name\": \"%s\"}", t.name);
            cg_cmd(g, "blockdev-del");
            cg_opt(g, "blockdev-del of a busy node");
            break;
        default:
            break;
        }
        cg_emit_checks(g);
        if (b && b->enabled) {
            cg_emit_model(g, "msucc", b->gran, succ, b->nbits);
            cg_line(g, "check msucc \"drive0\" \"\" recording");
        }
        cg_line(g, "end");
        cg_opt(g, "writes while pending");
    }
    int cancel = !strcmp(outcome, "cancel");
    cg_line(g, "run_job \"%s\" auto_finalize=%s auto_dismiss=true%s%s%s", job,
         autofin ? "true" : "false", hook[0] ? " pre_finalize=" : "", hook,
         cancel ? " cancel=true" : "");
    if (!autofin && !fails)
        cg_cmd(g, cancel ? "job-cancel" : "job-finalize");
    int ok = !cancel && !fails;

    /* the named bitmap at the end (sim/MODEL.md, QEMU's backup_cleanup_sync_bitmap) */
    if (b) {
        int always = mode && !strcmp(mode, "always");
        int abdicate = (ok || always) && sync_bitmap;
        if (abdicate) {
            memcpy(b->bits, succ, b->nbits);
        } else {
            memcpy(b->bits, frozen, b->nbits);
            for (size_t k = 0; k < b->nbits; k++)
                b->bits[k] |= succ[k];
        }
        if (!ok && always && fails) {
            /* what the job had not copied: its clusters from the failed one on */
            for (size_t c = first_data; c < ncl; c++)
                if (init[c])
                    cg_bits_dirty_range(b, c * cs, (c + 1) * cs > g->size ? g->size - c * cs : cs);
        }
    }
    cg_emit_checks(g);
    cg_line(g, "blank");
    if (!drive)
        cg_emit_target_del(g, &t);
    if (ok && cg_rchance(&g->r, 70)) {
        uint8_t **now = g->disk;
        g->disk = disk_then;
        char e[24];
        snprintf(e, sizeof(e), "e%s", t.name);
        cg_emit_expect_image(g, e, strcmp(sync, "full") ? keep : NULL);
        g->disk = now;
        cg_line(g, "compare $%s $%s", t.name, e);
        cg_opt(g, "compare backup");
    }
    cg_line(g, "blank");
    cg_disk_free(g, disk_then);
    free(keep);
    free(init);
    free(succ);
    free(frozen);
}

/* Commands that must fail, with the state unchanged. */
static void step_api_error(gen *g)
{
    cg_begin_step(g, "a command that fails");
    bitmap *b = cg_any_bitmap(g);
    switch (cg_rbelow(&g->r, 11)) {
    case 9:
        cg_line(g, "qmp_log block-job-cancel {\"device\": \"nojob\"}");
        cg_cmd(g, "block-job-cancel");
        cg_opt(g, "error: no such block job");
        break;
    case 10:
        cg_line(g, "qmp_log qmp_capabilities");
        cg_cmd(g, "qmp_capabilities");
        cg_opt(g, "error: capabilities negotiated twice");
        break;
    case 0:
        if (b) {
            cg_line(g, "qmp_log block-dirty-bitmap-add {\"node\": \"drive0\", \"name\": \"%s\"}",
                 b->name);
            cg_cmd(g, "block-dirty-bitmap-add");
            cg_opt(g, "error: bitmap exists");
            break;
        }
        /* fall through */
    case 1: {
        static const unsigned bad[] = { 256, 1000, 12288, 4096 * 3 };
        cg_line(g, "qmp_log block-dirty-bitmap-add {\"node\": \"drive0\", \"name\": \"bad\", "
                "\"granularity\": %u}", bad[cg_rbelow(&g->r, 4)]);
        cg_cmd(g, "block-dirty-bitmap-add");
        cg_opt(g, "error: granularity");
        break;
    }
    case 2: {
        static const char *const ops[] = { "remove", "clear", "enable", "disable" };
        const char *op = ops[cg_rbelow(&g->r, 4)];
        cg_line(g, "qmp_log block-dirty-bitmap-%s {\"node\": \"drive0\", \"name\": \"nobitmap\"}", op);
        char full[40];
        snprintf(full, sizeof(full), "block-dirty-bitmap-%s", op);
        cg_cmd(g, full);
        cg_opt(g, "error: no such bitmap");
        break;
    }
    case 3:
        cg_line(g, "qmp_log block-dirty-bitmap-add {\"node\": \"nonode\", \"name\": \"x\"}");
        cg_cmd(g, "block-dirty-bitmap-add");
        cg_opt(g, "error: no such node");
        break;
    case 4:
        cg_line(g, "qmp_log block-dirty-bitmap-merge {\"node\": \"drive0\", \"target\": \"%s\", "
                "\"bitmaps\": [\"nobitmap\"]}", b ? b->name : "nobitmap");
        cg_cmd(g, "block-dirty-bitmap-merge");
        cg_opt(g, "error: merge");
        break;
    case 5: {
        static const char *const verbs[] = { "job-finalize", "job-cancel", "job-dismiss",
                                             "job-complete" };
        const char *v = verbs[cg_rbelow(&g->r, 4)];
        cg_line(g, "qmp_log %s {\"id\": \"nojob\"}", v);
        cg_cmd(g, v);
        cg_opt(g, "error: no such job");
        break;
    }
    case 6:
        cg_line(g, "qmp_log blockdev-del {\"node-name\": \"nonode\"}");
        cg_cmd(g, "blockdev-del");
        cg_opt(g, "error: blockdev-del");
        break;
    case 7:
        cg_line(g, "qmp_log blockdev-add {\"node-name\": \"drive0\", \"driver\": \"file\", "
                "\"filename\": $img}");
        cg_cmd(g, "blockdev-add");
        cg_opt(g, "error: duplicate node name");
        break;
    default: {
        /* blockdev-backup argument checks (sim/MODEL.md's order) */
        target t;
        cg_emit_target(g, &t, 0);
        static const char *const syncs[] = { "incremental", "bitmap", "full", "top", "none" };
        static const char *const modes[] = { "on-success", "always", "never", NULL };
        for (int i = 0; i < 2; i++) {
            const char *sync = syncs[cg_rbelow(&g->r, 5)];
            const char *mode = modes[cg_rbelow(&g->r, 4)];
            const char *bm = cg_rchance(&g->r, 40) ? "bitmap404" : b ? b->name : NULL;
            int legal = 1;
            int need = !strcmp(sync, "bitmap") || !strcmp(sync, "incremental");
            if (need && !bm)
                legal = 0;
            else if (!strcmp(sync, "incremental") && mode && strcmp(mode, "on-success"))
                legal = 0;
            else if (bm && !strcmp(bm, "bitmap404"))
                legal = 0;
            else if (bm && !mode && strcmp(sync, "incremental"))
                legal = 0;
            else if (bm && !strcmp(sync, "none"))
                legal = 0;
            else if (bm && mode && !strcmp(mode, "never") && strcmp(sync, "bitmap"))
                legal = 0;
            else if (!bm && mode)
                legal = 0;
            if (legal) {
                /* make it illegal: a bitmap-mode without a bitmap */
                bm = NULL;
                mode = "always";
                if (need)
                    sync = "full";
            }
            sbuf a = {0};
            sbuf_printf(&a, "{\"device\": \"drive0\", \"target\": \"%s\", \"sync\": \"%s\", "
                        "\"job-id\": \"api\"", t.name, sync);
            if (bm)
                sbuf_printf(&a, ", \"bitmap\": \"%s\"", bm);
            if (mode)
                sbuf_printf(&a, ", \"bitmap-mode\": \"%s\"", mode);
            sbuf_adds(&a, "}");
            cg_line(g, "qmp_log blockdev-backup %s", sbuf_str(&a));
            sbuf_free(&a);
            cg_cmd(g, "blockdev-backup");
            cg_opt(g, "error: backup sync=%s%s%s", sync, bm ? " bitmap" : "",
                mode ? " bitmap-mode" : "");
        }
        cg_emit_target_del(g, &t);
        break;
    }
    }
    cg_line(g, "blank");
}

static void emit_drive0(gen *g)
{
    if (g->blkdebug) {
        cg_line(g, "qmp_log blockdev-add {\"node-name\": \"drive0\", \"driver\": $FMT, \"file\": "
                "{\"driver\": \"blkdebug\", \"node-name\": \"drive0-file\", \"image\": {\"driver\": \"file\", \"filename\": $img}, "
                "\"set-state\": [{\"event\": \"flush_to_disk\", \"state\": 1, \"new_state\": 2}], "
                "\"inject-error\": [{\"event\": \"read_aio\", \"errno\": 5, \"state\": 2, "
                "\"once\": true}]}}");
        g->armed = 1;
    } else if (g->werr) {
        /* once: only this first open arms it (a restart adds a plain file) */
        cg_line(g, "qmp_log blockdev-add {\"node-name\": \"drive0\", \"driver\": $FMT, \"file\": "
                "{\"driver\": \"blkdebug\", \"node-name\": \"drive0-file\", \"image\": {\"driver\": \"file\", \"filename\": $img}, "
                "\"inject-error\": [{\"event\": \"write_aio\", \"errno\": 5, \"once\": true}]}}");
        g->werr = 0;
        g->fail_next = 1;
    } else {
        cg_line(g, "qmp_log blockdev-add {\"node-name\": \"drive0\", \"driver\": $FMT, \"file\": "
                "{\"driver\": \"file\", \"node-name\": \"drive0-file\", \"filename\": $img}}");
    }
    cg_cmd(g, "blockdev-add");
}

/* Quit and start again: persistent bitmaps come back from the image (their
 * bits and whether they record), the others are gone. */
static void step_restart(gen *g)
{
    cg_begin_step(g, "restart the VM");
    cg_line(g, "shutdown");
    cg_line(g, "launch");
    emit_drive0(g);
    g->dirty_since_flush = 0;
    g->primed = 0;
    for (int i = 0; i < g->nbm;) {
        if (!g->bm[i].persistent)
            cg_drop_bitmap(g, &g->bm[i]);
        else
            i++;
    }
    cg_opt(g, "restart");
    cg_line(g, "blank");
    cg_emit_checks(g);
    cg_line(g, "blank");
}

/* The NBD server: start it on a unix socket in the test directory, maybe
 * start it again (refused), stop it, maybe stop it again (refused). */
static void step_nbd(gen *g)
{
    cg_begin_step(g, "NBD server");
    char sock[16];
    snprintf(sock, sizeof(sock), "n%d", g->next_id++);
    cg_line(g, "files %s", sock);
    int twice = cg_rchance(&g->r, 40);
    for (int i = 0; i < 1 + twice; i++) {
        cg_line(g, "qmp_log nbd-server-start {\"addr\": {\"type\": \"unix\", "
                "\"data\": {\"path\": $%s}}}", sock);
        cg_cmd(g, "nbd-server-start");
    }
    if (twice)
        cg_opt(g, "error: NBD server already running");
    twice = cg_rchance(&g->r, 40);
    for (int i = 0; i < 1 + twice; i++) {
        cg_line(g, "qmp_log nbd-server-stop");
        cg_cmd(g, "nbd-server-stop");
    }
    if (twice)
        cg_opt(g, "error: NBD server not running");
    cg_line(g, "blank");
}

/* Bitmap commands inside one `transaction`: each action on another bitmap;
 * an `abort` action, or an action on a bitmap that does not exist, makes the
 * whole transaction fail and change nothing. */
static void step_transaction(gen *g)
{
    cg_begin_step(g, "transaction");
    cg_cmd(g, "transaction");
    int used[MAX_BITMAPS] = {0};
    int nact = 1 + (int)cg_rbelow(&g->r, 3);
    sbuf acts = {0};
    /* the effects, applied only when the transaction succeeds */
    struct { int kind; int target; int src; char name[16]; uint64_t gran; int persistent; }
        eff[4];
    int neff = 0, fails = 0;
    for (int i = 0; i < nact; i++) {
        int k = (int)cg_rbelow(&g->r, 6);
        int free_idx = -1;
        for (int b = 0; b < g->nbm; b++)
            if (!used[b] && (free_idx < 0 || cg_rchance(&g->r, 50)))
                free_idx = b;
        if (k > 0 && free_idx < 0)
            k = 0;
        if (k == 0 && g->nbm + neff >= MAX_BITMAPS)
            continue;
        if (k == 0) {
            /* add */
            eff[neff].kind = 0;
            snprintf(eff[neff].name, sizeof(eff[neff].name), "b%d", g->next_id++);
            eff[neff].gran = cg_pick_granularity(g);
            eff[neff].persistent = cg_rchance(&g->r, 30);
            sbuf_printf(&acts, "%s{\"type\": \"block-dirty-bitmap-add\", \"data\": {\"node\": "
                        "\"drive0\", \"name\": \"%s\", \"granularity\": %llu%s}}",
                        acts.len ? ", " : "", eff[neff].name, (unsigned long long)eff[neff].gran,
                        eff[neff].persistent ? ", \"persistent\": true" : "");
            cg_opt(g, "transaction: block-dirty-bitmap-add");
            neff++;
            continue;
        }
        static const char *const ops[] = { NULL, "clear", "enable", "disable", "remove", "merge" };
        used[free_idx] = 1;
        eff[neff].kind = k;
        eff[neff].target = free_idx;
        if (k == 5) {
            /* merge from any bitmap that stays (not removed in here) */
            int src = (int)cg_rbelow(&g->r, (uint64_t)g->nbm);
            int removed = 0;
            for (int e = 0; e < neff; e++)
                removed |= eff[e].kind == 4 && eff[e].target == src;
            if (removed)
                src = free_idx;
            eff[neff].src = src;
            sbuf_printf(&acts, "%s{\"type\": \"block-dirty-bitmap-merge\", \"data\": {\"node\": "
                        "\"drive0\", \"target\": \"%s\", \"bitmaps\": [\"%s\"]}}",
                        acts.len ? ", " : "", g->bm[free_idx].name, g->bm[src].name);
            used[src] = 1;  /* not removed later in this transaction */
        } else {
            sbuf_printf(&acts, "%s{\"type\": \"block-dirty-bitmap-%s\", \"data\": {\"node\": "
                        "\"drive0\", \"name\": \"%s\"}}", acts.len ? ", " : "", ops[k],
                        g->bm[free_idx].name);
        }
        cg_opt(g, "transaction: block-dirty-bitmap-%s", ops[k]);
        neff++;
    }
    if (cg_rchance(&g->r, 15)) {
        sbuf_printf(&acts, "%s{\"type\": \"abort\", \"data\": {}}", acts.len ? ", " : "");
        cg_opt(g, "transaction: abort");
        fails = 1;
    } else if (cg_rchance(&g->r, 10)) {
        sbuf_printf(&acts, "%s{\"type\": \"block-dirty-bitmap-clear\", \"data\": {\"node\": "
                    "\"drive0\", \"name\": \"nobitmap\"}}", acts.len ? ", " : "");
        cg_opt(g, "transaction: a failing action");
        fails = 1;
    }
    /* bitmap actions refuse completion-mode grouped (action_check_completion_mode),
     * which fails the whole transaction; individual is the default */
    const char *props = "";
    if (!fails && neff && cg_rchance(&g->r, 12)) {
        props = ", \"properties\": {\"completion-mode\": \"grouped\"}";
        cg_opt(g, "transaction: completion-mode=grouped (refused)");
        fails = 1;
    } else if (cg_rchance(&g->r, 8)) {
        props = ", \"properties\": {\"completion-mode\": \"individual\"}";
        cg_opt(g, "transaction: completion-mode=individual");
    }
    cg_line(g, "qmp_log transaction {\"actions\": [%s]%s}", sbuf_str(&acts), props);
    sbuf_free(&acts);
    if (!fails) {
        /* removals last, so the indexes stay valid while applying */
        for (int e = 0; e < neff; e++) {
            bitmap *t = eff[e].kind ? &g->bm[eff[e].target] : NULL;
            switch (eff[e].kind) {
            case 0: {
                bitmap *b = &g->bm[g->nbm++];
                snprintf(b->name, sizeof(b->name), "%s", eff[e].name);
                b->gran = eff[e].gran;
                b->nbits = (g->size + b->gran - 1) / b->gran;
                b->bits = calloc(b->nbits, 1);
                if (!b->bits)
                    abort();
                b->persistent = eff[e].persistent;
                b->enabled = 1;
                break;
            }
            case 1:
                memset(t->bits, 0, t->nbits);
                break;
            case 2:
                t->enabled = 1;
                break;
            case 3:
                t->enabled = 0;
                break;
            case 5: {
                bitmap *src = &g->bm[eff[e].src];
                for (size_t k = 0; k < src->nbits; k++)
                    if (src->bits[k])
                        cg_bits_dirty_range(t, k * src->gran,
                                         k * src->gran + src->gran > g->size
                                             ? g->size - k * src->gran : src->gran);
                break;
            }
            default:
                break;
            }
        }
        /* removals: highest index first (drop_bitmap moves the last one) */
        for (int b = g->nbm - 1; b >= 0; b--)
            for (int e = 0; e < neff; e++)
                if (eff[e].kind == 4 && eff[e].target == b)
                    cg_drop_bitmap(g, &g->bm[b]);
    }
    cg_line(g, "blank");
    if (cg_rchance(&g->r, 70)) {
        cg_emit_checks(g);
        cg_line(g, "blank");
    }
}

/* Image fleecing, either scheme of QEMU 7.2: a qcow2 overlay of drive0
 * (backing given as a node, so its file names none) that keeps the old data
 * of every cluster the guest writes, filled by a backup job with sync none
 * (the old scheme) or by a copy-before-write filter added with blockdev-add
 * (the new one, maybe with a snapshot-access node on top). Afterwards the
 * overlay file holds the old contents of exactly the clusters written. */
static void step_fleecing(gen *g)
{
    if (g->primed)
        return;     /* copy-before-write would read drive0 and meet the error */
    int cbw = cg_rchance(&g->r, 50);
    cg_begin_step(g, cbw ? "fleecing: copy-before-write filter" : "fleecing: backup sync none");
    cg_opt(g, cbw ? "fleecing: copy-before-write" : "fleecing: backup sync=none");
    char tmp[16], filt[16], job[16], acc[16];
    int id = g->next_id++;
    snprintf(tmp, sizeof(tmp), "f%d", id);
    snprintf(filt, sizeof(filt), "fc%d", id);
    snprintf(job, sizeof(job), "fj%d", id);
    snprintf(acc, sizeof(acc), "fa%d", id);
    cg_line(g, "files %s", tmp);
    cg_line(g, "img_create $FMT $%s $SIZE", tmp);
    cg_line(g, "qmp_log blockdev-add {\"driver\": $FMT, \"node-name\": \"%s\", \"file\": "
            "{\"driver\": \"file\", \"filename\": $%s}, \"backing\": \"drive0\"}", tmp, tmp);
    cg_cmd(g, "blockdev-add");
    int access = 0;
    if (cbw) {
        cg_line(g, "qmp_log blockdev-add {\"driver\": \"copy-before-write\", \"node-name\": \"%s\", "
                "\"file\": \"drive0\", \"target\": \"%s\"}", filt, tmp);
        access = cg_rchance(&g->r, 50);
        if (access) {
            cg_line(g, "qmp_log blockdev-add {\"driver\": \"snapshot-access\", \"node-name\": "
                    "\"%s\", \"file\": \"%s\"}", acc, filt);
            cg_opt(g, "fleecing: snapshot-access");
        }
    } else {
        cg_line(g, "qmp_log blockdev-backup {\"device\": \"drive0\", \"target\": \"%s\", "
                "\"sync\": \"none\", \"job-id\": \"%s\", \"filter-node-name\": \"%s\"}",
             tmp, job, filt);
        cg_cmd(g, "blockdev-backup");
    }
    /* a sync=none job only waits for its cancel: pausing it is deterministic,
     * and a second pause is refused while the first holds (job_user_pause) */
    int paused = !cbw && cg_rchance(&g->r, 50);
    if (paused) {
        int blk = cg_rchance(&g->r, 50);
        cg_line(g, "qmp_log %s {\"%s\": \"%s\"}", blk ? "block-job-pause" : "job-pause",
             blk ? "device" : "id", job);
        cg_cmd(g, blk ? "block-job-pause" : "job-pause");
        cg_opt(g, "pause a running job");
        if (cg_rchance(&g->r, 50)) {
            cg_line(g, "qmp_log job-pause {\"id\": \"%s\"}", job);
            cg_cmd(g, "job-pause");
            cg_opt(g, "error: pause a paused job");
        }
    }
    uint8_t **before = cg_disk_copy(g);
    uint8_t *had = calloc(g->nclusters, 1);
    if (!had)
        abort();
    /* copy-before-write keeps the old data of every cluster a write touches */
    g->touched = had;
    int nw = 1 + (int)cg_rbelow(&g->r, 2);
    for (int i = 0; i < nw; i++)
        cg_emit_writes(g, filt, NULL, 0, 0);
    g->touched = NULL;
    if (access)
        cg_snapshot_reads(g, acc, before, had);
    if (cg_rchance(&g->r, 30)) {
        cg_emit_checks(g);
    }
    /* resumed, or cancelled while paused (job_cancel resumes it) */
    if (paused && cg_rchance(&g->r, 60)) {
        int blk = cg_rchance(&g->r, 50);
        cg_line(g, "qmp_log %s {\"%s\": \"%s\"}", blk ? "block-job-resume" : "job-resume",
             blk ? "device" : "id", job);
        cg_cmd(g, blk ? "block-job-resume" : "job-resume");
        cg_opt(g, "resume a paused job");
    }
    if (access)
        cg_line(g, "qmp_log blockdev-del {\"node-name\": \"%s\"}", acc);
    if (cbw) {
        cg_line(g, "qmp_log blockdev-del {\"node-name\": \"%s\"}", filt);
        /* closing the filter flushes drive0 (QEMU's bdrv_close) */
        if (g->dirty_since_flush) {
            g->dirty_since_flush = 0;
            if (g->blkdebug && g->armed)
                g->primed = 1;
        }
    } else {
        cg_line(g, "qmp_log job-cancel {\"id\": \"%s\"}", job);
        cg_line(g, "event_wait \"BLOCK_JOB_CANCELLED\"");
        cg_cmd(g, "job-cancel");
    }
    cg_line(g, "qmp_log blockdev-del {\"node-name\": \"%s\"}", tmp);
    cg_cmd(g, "blockdev-del");
    uint8_t **now = g->disk;
    g->disk = before;
    char e[24];
    snprintf(e, sizeof(e), "e%s", tmp);
    cg_emit_expect_image(g, e, had);
    g->disk = now;
    cg_line(g, "compare $%s $%s", tmp, e);
    cg_opt(g, "compare fleecing overlay");
    cg_disk_free(g, before);
    free(had);
    cg_line(g, "blank");
}

/* An external snapshot of drive0 (blockdev-snapshot of an added overlay),
 * guest writes into the overlay, then an active block-commit back into drive0: the overlay's
 * writes leave drive0's bitmaps alone until the commit copies the overlay's
 * allocated clusters (its 64 KiB clusters) into drive0, which records them.
 * Last in a case: drive0 stays under the overlay, read-only. */
static void step_snapshot_commit(gen *g)
{
    /* the snapshot flushes drive0 and the overlay's COW reads it: keep
     * blkdebug's armed read error out of it */
    if (g->blkdebug)
        return;
    cg_begin_step(g, "external snapshot, writes, active commit");
    char ov[16], job[16];
    int id = g->next_id++;
    snprintf(ov, sizeof(ov), "s%d", id);
    snprintf(job, sizeof(job), "k%d", id);
    cg_line(g, "files %s", ov);
    /* blockdev-snapshot of a monitor-owned overlay: with no parent above
     * drive0, blockdev-snapshot-sync's overlay would be dropped at once */
    cg_line(g, "img_create $FMT $%s $SIZE", ov);
    cg_line(g, "qmp_log blockdev-add {\"driver\": $FMT, \"node-name\": \"%s\", \"file\": "
            "{\"driver\": \"file\", \"filename\": $%s}, \"backing\": null}", ov, ov);
    cg_line(g, "qmp_log blockdev-snapshot {\"node\": \"drive0\", \"overlay\": \"%s\"}", ov);
    cg_cmd(g, "blockdev-add");
    cg_cmd(g, "blockdev-snapshot");
    g->dirty_since_flush = 0;
    uint8_t *alloc_base = malloc(g->nclusters);
    uint8_t *top = calloc(g->nclusters, 1);
    int en[MAX_BITMAPS];
    if (!alloc_base || !top)
        abort();
    memcpy(alloc_base, g->alloc, g->nclusters);
    for (int i = 0; i < g->nbm; i++) {
        en[i] = g->bm[i].enabled;
        g->bm[i].enabled = 0;
    }
    g->touched = top;
    int nw = 1 + (int)cg_rbelow(&g->r, 2);
    for (int i = 0; i < nw; i++)
        cg_emit_writes(g, ov, NULL, 0, 0);
    g->touched = NULL;
    for (int i = 0; i < g->nbm; i++)
        g->bm[i].enabled = en[i];
    memcpy(g->alloc, alloc_base, g->nclusters);
    if (cg_rchance(&g->r, 50))
        cg_emit_checks(g);     /* the overlay's writes are not drive0's */
    cg_line(g, "qmp_log block-commit {\"device\": \"%s\", \"job-id\": \"%s\"}", ov, job);
    cg_cmd(g, "block-commit");
    cg_opt(g, "block-commit active");
    cg_line(g, "event_wait \"BLOCK_JOB_READY\"");
    cg_line(g, "qmp_log block-job-complete {\"device\": \"%s\"}", job);
    cg_cmd(g, "block-job-complete");
    cg_line(g, "event_wait \"BLOCK_JOB_COMPLETED\"");
    for (size_t c = 0; c < g->nclusters; c++) {
        if (!top[c])
            continue;
        g->alloc[c] = 1;
        uint64_t lo = c * CLUSTER, n = lo + CLUSTER > g->size ? g->size - lo : CLUSTER;
        for (int k = 0; k < g->nbm; k++)
            if (g->bm[k].enabled)
                cg_bits_dirty_range(&g->bm[k], lo, n);
    }
    g->dirty_since_flush = 1;
    cg_emit_checks(g);
    cg_line(g, "blank");
    free(alloc_base);
    free(top);
}

/* An iothread, drive0 moved into it and maybe back (jobs then run there). */
static void step_iothread(gen *g)
{
    cg_begin_step(g, "iothread");
    char id[16];
    snprintf(id, sizeof(id), "io%d", g->next_id++);
    cg_line(g, "qmp_log object-add {\"qom-type\": \"iothread\", \"id\": \"%s\"}", id);
    cg_cmd(g, "object-add");
    cg_line(g, "qmp_log x-blockdev-set-iothread {\"node-name\": \"drive0\", \"iothread\": \"%s\"}",
         id);
    cg_cmd(g, "x-blockdev-set-iothread");
    if (cg_rchance(&g->r, 50)) {
        cg_line(g, "qmp_log x-blockdev-set-iothread {\"node-name\": \"drive0\", \"iothread\": null}");
        cg_opt(g, "iothread back to the main loop");
    }
    if (cg_rchance(&g->r, 30)) {
        cg_line(g, "qmp_log x-blockdev-set-iothread {\"node-name\": \"drive0\", \"iothread\": "
                "\"noiothread\"}");
        cg_opt(g, "error: no such iothread");
    }
    cg_line(g, "blank");
}

/* drive0 exported over NBD (read-only, no bitmap: a bitmap it exports is
 * busy, which the other steps do not model), listed, removed. */
static void step_export(gen *g)
{
    cg_begin_step(g, "NBD export");
    char sock[16], id[16];
    snprintf(sock, sizeof(sock), "n%d", g->next_id++);
    snprintf(id, sizeof(id), "x%d", g->next_id++);
    cg_line(g, "files %s", sock);
    cg_line(g, "qmp_log nbd-server-start {\"addr\": {\"type\": \"unix\", \"data\": {\"path\": $%s}}}",
         sock);
    cg_cmd(g, "nbd-server-start");
    cg_line(g, "qmp_log block-export-add {\"type\": \"nbd\", \"id\": \"%s\", "
            "\"node-name\": \"drive0\"%s}", id, cg_rchance(&g->r, 50) ? ", \"name\": \"disk\"" : "");
    cg_cmd(g, "block-export-add");
    cg_line(g, "qmp_log query-block-exports");
    cg_cmd(g, "query-block-exports");
    if (cg_rchance(&g->r, 40)) {
        cg_line(g, "qmp_log blockdev-del {\"node-name\": \"drive0\"}");
        cg_opt(g, "error: blockdev-del of an exported node");
    }
    cg_line(g, "qmp_log block-export-del {\"id\": \"%s\"}", id);
    cg_cmd(g, "block-export-del");
    if (cg_rchance(&g->r, 30)) {
        cg_line(g, "qmp_log block-export-del {\"id\": \"%s\"}", id);
        cg_opt(g, "error: export deleted twice");
    }
    cg_line(g, "qmp_log nbd-server-stop");
    cg_cmd(g, "nbd-server-stop");
    cg_line(g, "blank");
}

static void step_query(gen *g)
{
    static const char *const q[] = { "query-jobs", "query-block-jobs", "query-block" };
    const char *c = q[cg_rbelow(&g->r, 3)];
    cg_begin_step(g, c);
    cg_line(g, "qmp_log %s", c);
    cg_cmd(g, c);
    cg_line(g, "blank");
}

/* ---- profiles ------------------------------------------------------------------------- */

const char *const cg_profiles[] = { "mixed", "bitmaps", "backup", "api", "jobs", NULL };

typedef struct step_kind {
    const char *name;
    void (*emit)(gen *g);
    unsigned weight[5];         /* per profile, in cg_profiles order */
} step_kind;

static const step_kind step_kinds[] = {
    { "write", step_write, { 30, 35, 25, 20, 20 } },
    { "bitmap-add", step_bitmap_add, { 15, 20, 15, 15, 15 } },
    { "bitmap-op", step_bitmap_op, { 15, 30, 5, 10, 5 } },
    { "backup", step_backup, { 25, 0, 45, 10, 10 } },
    { "restart", step_restart, { 5, 10, 3, 5, 3 } },
    { "api-error", step_api_error, { 7, 3, 5, 35, 3 } },
    { "query", step_query, { 3, 2, 2, 5, 2 } },
    { "nbd", step_nbd, { 2, 1, 1, 5, 0 } },
    { "iothread", step_iothread, { 2, 1, 2, 3, 1 } },
    { "transaction", step_transaction, { 8, 15, 3, 6, 3 } },
    { "fleecing", step_fleecing, { 5, 0, 8, 2, 5 } },
    { "export", step_export, { 2, 1, 1, 4, 0 } },
    { "backup-group", cg_step_backup_group, { 6, 0, 10, 2, 20 } },
    { "job-manual", cg_step_job_manual, { 6, 0, 8, 4, 20 } },
    { "mirror", cg_step_mirror, { 4, 0, 4, 2, 12 } },
    { "resize", cg_step_resize, { 4, 4, 2, 3, 6 } },
    { "reopen", cg_step_reopen, { 3, 3, 1, 3, 4 } },
};

int cg_profile_valid(const char *name)
{
    for (int i = 0; cg_profiles[i]; i++)
        if (!strcmp(cg_profiles[i], name))
            return i;
    return -1;
}

void cg_generate(uint64_t seed, unsigned index, const char *profile, sbuf *out, cg_cover *cov)
{
    int p = cg_profile_valid(profile);
    if (p < 0)
        p = 0;
    gen g = { .o = out, .cov = cov, .profile = cg_profiles[p] };
    /* case i of seed S: its own stream, whatever the batch size */
    g.r.s = seed * 0x9e3779b97f4a7c15ull ^ ((uint64_t)index + 1) * 0xd1b54a32d192ed03ull;
    cg_rnext(&g.r);
    static const uint64_t sizes[] = {
        1 << 20, 2 << 20, 4 << 20, 4 << 20, 8 << 20, (2 << 20) + 32768, (3 << 20) + 512,
        16 << 20, 64 << 20,
    };
    g.size = sizes[cg_rbelow(&g.r, sizeof(sizes) / sizeof(sizes[0]))];
    g.nclusters = (g.size + CLUSTER - 1) / CLUSTER;
    g.disk = calloc(g.nclusters, sizeof(*g.disk));
    g.alloc = calloc(g.nclusters, 1);
    if (!g.disk || !g.alloc)
        abort();
    g.blkdebug = p != 1 && cg_rchance(&g.r, 35);

    cg_line(&g, "# SPDX-License-Identifier: GPL-2.0-or-later");
    cg_line(&g, "# Generated by build/casegen --seed %llu (case %u, profile %s).",
         (unsigned long long)seed, index, g.profile);
    cg_line(&g, "# Self-checking: every check and compare must print OK!.");
    cg_line(&g, "%s", "");
    cg_line(&g, "# step 0: setup");
    cg_line(&g, "let FMT = \"qcow2\"");
    cg_line(&g, "let SIZE = %llu", (unsigned long long)g.size);
    cg_line(&g, "files img");
    cg_line(&g, "img_create $FMT $img $SIZE");
    cg_line(&g, "launch");
    cg_opt(&g, "size=%llu", (unsigned long long)g.size);
    if (g.blkdebug)
        cg_opt(&g, "blkdebug source read error");
    g.werr = !g.blkdebug && cg_rchance(&g.r, 15);
    if (g.werr)
        cg_opt(&g, "blkdebug source write error");
    emit_drive0(&g);
    cg_line(&g, "blank");
    if (g.fail_next) {
        /* the image is fresh: the first guest write needs an L2 table, and
         * the refcount flush before it is the file's first write, which
         * fails; the whole guest write fails, the rest of the group lands */
        if (cg_rchance(&g.r, 70))
            step_bitmap_add(&g);
        cg_begin_step(&g, "guest writes, the first one failing");
        cg_emit_writes(&g, "drive0", NULL, 0, 0);
        cg_emit_checks(&g);
        cg_line(&g, "blank");
    }

    unsigned total = 0;
    for (size_t k = 0; k < sizeof(step_kinds) / sizeof(step_kinds[0]); k++)
        total += step_kinds[k].weight[p];
    int nsteps = 4 + (int)cg_rbelow(&g.r, 9);
    for (int i = 0; i < nsteps; i++) {
        unsigned x = (unsigned)cg_rbelow(&g.r, total);
        size_t k = 0;
        while (x >= step_kinds[k].weight[p])
            x -= step_kinds[k++].weight[p];
        step_kinds[k].emit(&g);
    }

    /* drive0 stays read-only under the overlay after the commit: last */
    if (cg_rchance(&g.r, 25))
        step_snapshot_commit(&g);
    else if (cg_rchance(&g.r, 20))
        cg_step_snapshot(&g);

    /* the final check: bitmaps, and the whole source image */
    cg_begin_step(&g, "final checks");
    cg_emit_checks(&g);
    cg_line(&g, "blank");
    cg_emit_expect_image(&g, "efinal", NULL);
    cg_line(&g, "shutdown");
    cg_line(&g, "compare $img $efinal");
    cg_opt(&g, "compare source");
    if (g.at_end.len)
        sbuf_adds(g.o, sbuf_str(&g.at_end));
    sbuf_free(&g.at_end);
    for (int i = 0; i < g.nbm; i++)
        free(g.bm[i].bits);
    cg_disk_free(&g, g.disk);
    free(g.alloc);
}
