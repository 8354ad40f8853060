/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * casegen step kinds that change drive0 itself rather than run a job on
 * it: block_resize (the model's image and every bitmap follow the new
 * size), blockdev-reopen (read-only and back) and an external snapshot
 * (writes go to the overlay); and reads of the point-in-time view a
 * snapshot-access node gives in fleecing.
 */
#include "tools/casegen/casegen_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The model at a new size: clusters past the end are gone (qcow2 discards
 * them when it shrinks, so they read as zero if it grows again); each
 * bitmap keeps its bits below the new end and is clean past the old one
 * (QEMU's bdrv_dirty_bitmap_truncate). */
static void model_resize(gen *g, uint64_t size)
{
    size_t n = (size + CLUSTER - 1) / CLUSTER;
    for (size_t c = n; c < g->nclusters; c++) {
        free(g->disk[c]);
        g->disk[c] = NULL;
    }
    uint8_t **disk = realloc(g->disk, n * sizeof(*disk));
    uint8_t *alloc = realloc(g->alloc, n);
    if (!disk || !alloc)
        abort();
    for (size_t c = g->nclusters; c < n; c++) {
        disk[c] = NULL;
        alloc[c] = 0;
    }
    g->disk = disk;
    g->alloc = alloc;
    /* a shrink inside a cluster: the bytes past the new end are gone too */
    if (size % CLUSTER && g->disk[n - 1])
        memset(g->disk[n - 1] + size % CLUSTER, 0, CLUSTER - size % CLUSTER);
    g->nclusters = n;
    for (int i = 0; i < g->nbm; i++) {
        bitmap *b = &g->bm[i];
        size_t nb = (size + b->gran - 1) / b->gran;
        uint8_t *bits = realloc(b->bits, nb ? nb : 1);
        if (!bits)
            abort();
        for (size_t k = b->nbits; k < nb; k++)
            bits[k] = 0;
        b->bits = bits;
        b->nbits = nb;
    }
    g->size = size;
}

/* block_resize of drive0 to a whole number of the image's clusters, larger
 * or smaller (at least 1 MiB, at most 64 MiB); then SIZE follows, so the
 * targets and images made after it have the new size. */
void cg_step_resize(gen *g)
{
    uint64_t size;
    switch (cg_rbelow(&g->r, 4)) {
    case 0:
        size = (g->size / CLUSTER + 1 + cg_rbelow(&g->r, 32)) * CLUSTER;
        cg_opt(g, "block_resize grow");
        break;
    case 1:
        size = g->size * 2;
        cg_opt(g, "block_resize grow");
        break;
    case 2:
        size = (g->size + 511) / 512 * 512;    /* the same size, rounded up to a sector */
        cg_opt(g, "block_resize same size");
        break;
    default:
        size = g->size / CLUSTER > 17 ? (g->size / CLUSTER - 1 - cg_rbelow(&g->r, 16)) * CLUSTER
                                      : g->size;
        cg_opt(g, "block_resize shrink");
        break;
    }
    if (size < (1 << 20))
        size = 1 << 20;
    if (size > (64u << 20))
        size = 64u << 20;
    char what[64];
    snprintf(what, sizeof(what), "block_resize to %llu", (unsigned long long)size);
    cg_begin_step(g, what);
    cg_line(g, "qmp_log block_resize {\"node-name\": \"drive0\", \"size\": %llu}",
            (unsigned long long)size);
    cg_cmd(g, "block_resize");
    cg_line(g, "let SIZE = %llu", (unsigned long long)size);
    model_resize(g, size);
    cg_emit_checks(g);
    cg_line(g, "blank");
}

/* blockdev-reopen of drive0 read-only (a write through it is refused and
 * marks nothing), maybe a listing, then read-write again. drive0's file
 * child is named, as QAPI wants for qcow2, so it stays. */
void cg_step_reopen(gen *g)
{
    cg_begin_step(g, "blockdev-reopen read-only, then read-write");
    cg_line(g, "qmp_log blockdev-reopen {\"options\": [{\"node-name\": \"drive0\", "
               "\"driver\": $FMT, \"file\": \"drive0-file\", \"read-only\": true}]}");
    cg_cmd(g, "blockdev-reopen");
    cg_opt(g, "blockdev-reopen read-only");
    /* bdrv_reopen_multiple flushes drive0 first: blkdebug sees the flush
     * when drive0 was written since the last one */
    if (g->dirty_since_flush) {
        g->dirty_since_flush = 0;
        if (g->blkdebug && g->armed)
            g->primed = 1;
    }
    if (cg_rchance(&g->r, 50)) {
        uint64_t off, len;
        cg_pick_write(g, &off, &len, NULL, NULL, 0);
        cg_line(g, "hmp_io \"drive0\" \"write -P 0x%02x 0x%llx 0x%llx\"",
                (unsigned)(1 + cg_rbelow(&g->r, 255)), (unsigned long long)off,
                (unsigned long long)len);
        cg_cmd(g, "human-monitor-command");
        cg_opt(g, "error: write to a read-only node");
    }
    if (cg_rchance(&g->r, 50))
        cg_emit_checks(g);
    cg_line(g, "qmp_log blockdev-reopen {\"options\": [{\"node-name\": \"drive0\", "
               "\"driver\": $FMT, \"file\": \"drive0-file\", \"read-only\": false}]}");
    cg_opt(g, "blockdev-reopen read-write");
    cg_line(g, "blank");
}

void cg_snapshot_reads(gen *g, const char *acc, uint8_t *const *before, const uint8_t *touched)
{
    int n = 1 + (int)cg_rbelow(&g->r, 3);
    for (int i = 0; i < n; i++) {
        /* a sector, mostly one the guest wrote since (the old data comes
         * from the fleecing image), whose old bytes are all one value,
         * so qemu-io's read -P can check it */
        uint64_t nsec = g->size / 512, sec = cg_rbelow(&g->r, nsec);
        if (cg_rchance(&g->r, 70)) {
            for (uint64_t k = 0; k < nsec; k++) {
                uint64_t c = (sec + k) % nsec;
                if (touched[c * 512 / CLUSTER]) {
                    sec = c;
                    break;
                }
            }
        }
        uint8_t p = cg_byte_at(g, before, sec * 512);
        int uniform = 1;
        for (uint64_t b = 1; b < 512 && uniform; b++)
            uniform = cg_byte_at(g, before, sec * 512 + b) == p;
        if (!uniform)
            continue;
        cg_line(g, "hmp_io \"%s\" \"read -P 0x%02x 0x%llx 0x200\"", acc, p,
                (unsigned long long)(sec * 512));
        cg_cmd(g, "human-monitor-command");
        cg_opt(g, "fleecing: read through snapshot-access%s",
               touched[sec * 512 / CLUSTER] ? " (written since)" : "");
    }
}

/* An external snapshot of drive0 without a commit (the commit job is not
 * drawn here): a qcow2 overlay added with no backing, then
 * blockdev-snapshot puts it above drive0. The guest's writes go to the
 * overlay: drive0's contents and bitmaps stay; drive0 now refuses a write
 * of its own (the overlay's backing child shares no write). The overlay is
 * deleted again; after the VM is gone the overlay, rebased onto the
 * image, must read as the guest saw it. Last before the final checks. */
void cg_step_snapshot(gen *g)
{
    if (g->blkdebug)
        return;     /* the snapshot flushes drive0: keep blkdebug's rule out */
    cg_begin_step(g, "external snapshot, writes into the overlay");
    char ov[16];
    snprintf(ov, sizeof(ov), "o%d", g->next_id++);
    cg_line(g, "files %s", ov);
    cg_line(g, "img_create $FMT $%s $SIZE", ov);
    cg_line(g, "qmp_log blockdev-add {\"driver\": $FMT, \"node-name\": \"%s\", \"file\": "
               "{\"driver\": \"file\", \"filename\": $%s}, \"backing\": null}", ov, ov);
    cg_line(g, "qmp_log blockdev-snapshot {\"node\": \"drive0\", \"overlay\": \"%s\"}", ov);
    cg_cmd(g, "blockdev-snapshot");
    cg_opt(g, "external snapshot (blockdev-snapshot)");
    g->dirty_since_flush = 0;
    uint8_t **before = cg_disk_copy(g);
    uint8_t *alloc = malloc(g->nclusters);
    int en[MAX_BITMAPS];
    if (!alloc)
        abort();
    memcpy(alloc, g->alloc, g->nclusters);
    for (int i = 0; i < g->nbm; i++) {
        en[i] = g->bm[i].enabled;
        g->bm[i].enabled = 0;
    }
    int nw = 1 + (int)cg_rbelow(&g->r, 2);
    for (int i = 0; i < nw; i++)
        cg_emit_writes(g, ov, NULL, 0, 0);
    for (int i = 0; i < g->nbm; i++)
        g->bm[i].enabled = en[i];
    if (cg_rchance(&g->r, 40)) {
        cg_line(g, "hmp_io \"drive0\" \"write -P 0x77 0 0x200\"");
        cg_opt(g, "error: write to a backing node");
    }
    cg_emit_checks(g);
    cg_line(g, "qmp_log blockdev-del {\"node-name\": \"%s\"}", ov);
    /* the guest's view now: the overlay over drive0 */
    char e[24];
    snprintf(e, sizeof(e), "e%s", ov);
    cg_emit_expect_image(g, e, NULL);
    sbuf_printf(&g->at_end, "compare $%s $%s base=$img\n", ov, e);
    cg_opt(g, "compare overlay");
    /* drive0 itself is what it was */
    cg_disk_free(g, g->disk);
    g->disk = before;
    memcpy(g->alloc, alloc, g->nclusters);
    free(alloc);
    g->dirty_since_flush = 0;
    cg_line(g, "blank");
}
