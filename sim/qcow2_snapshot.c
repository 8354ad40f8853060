/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qcow2 internal snapshots as qemu-img snapshot -c / -l make and list them
 * (QEMU 7.2 block/qcow2-snapshot.c qcow2_snapshot_create, block/qapi.c
 * bdrv_snapshot_dump). A snapshot keeps a copy of the image's L2 entries;
 * the data clusters and L2 tables it shares with the active image are
 * copied on the active image's next write to them (QEMU's refcounts above
 * one, QCOW_OFLAG_COPIED clear), so the snapshot's data stays as it was.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim/fs.h"

static void map_copy(l2_map *to, const l2_map *from)
{
    *to = *from;
    to->r = malloc((from->cap ? from->cap : 1) * sizeof *to->r);
    if (!to->r) {
        abort();
    }
    memcpy(to->r, from->r, from->n * sizeof *to->r);
}

static uint64_t alloc_clusters(sim_file *f, sim_qcow2 *q, uint64_t bytes)
{
    uint64_t h = q->next_host, n = (bytes + q->cluster_size - 1) / q->cluster_size;
    q->next_host += (n ? n : 1) * q->cluster_size;
    if (f && q->next_host > f->data.size) {
        store_truncate(&f->data, q->next_host);
    }
    return h;
}

sim_snapshot *q2_snapshot_create(sim_file *f, sim_qcow2 *q, const char *name, uint64_t now_ns)
{
    /* find_new_snapshot_id: one above the largest numeric id */
    unsigned long id_max = 0;
    sim_snapshot **pp = &q->snapshots;
    for (; *pp; pp = &(*pp)->next) {
        unsigned long id = strtoul((*pp)->id, NULL, 10);
        if (id > id_max) {
            id_max = id;
        }
    }
    sim_snapshot *sn = calloc(1, sizeof *sn);
    sn->id = xasprintf("%lu", id_max + 1);
    sn->name = xstrdup(name);
    sn->date_sec = now_ns / 1000000000u;
    sn->date_nsec = now_ns % 1000000000u;
    map_copy(&sn->map, &q->l2);
    *pp = sn;
    /* the L1 table's copy, then a new snapshot table (qcow2_write_snapshots) */
    uint64_t per_table = q->cluster_size / 8, ntables = q->nclusters / per_table + 1;
    alloc_clusters(f, q, ntables * 8);
    alloc_clusters(f, q, 1);
    /* every L2 table the image has is now the snapshot's too */
    if (!q->l2_shared) {
        q->l2_shared = calloc(ntables, 1);
    }
    for (uint64_t t = 0; t < ntables; t++) {
        q->l2_shared[t] |= q->l2_table[t] != 0;
    }
    return sn;
}

bool q2_host_shared(const sim_qcow2 *q, uint64_t host)
{
    for (const sim_snapshot *sn = q->snapshots; sn; sn = sn->next) {
        const l2_map *m = &sn->map;
        for (size_t i = 0; i < m->n; i++) {
            uint64_t v = m->r[i].v & ~Q2_ZERO;
            if (!v || (m->r[i].v & Q2_ZERO)) {
                continue;
            }
            uint64_t end = i + 1 < m->n ? m->r[i + 1].start : m->len;
            uint64_t count = end - m->r[i].start;
            if (host >= v && host < v + count * m->step && (host - v) % m->step == 0) {
                return true;
            }
        }
    }
    return false;
}

void q2_snapshots_free(sim_qcow2 *q)
{
    while (q->snapshots) {
        sim_snapshot *sn = q->snapshots;
        q->snapshots = sn->next;
        free(sn->id);
        free(sn->name);
        l2m_free(&sn->map);
        free(sn);
    }
    free(q->l2_shared);
    q->l2_shared = NULL;
}

/* "%0.3g %sB" with binary prefixes (QEMU's size_to_str) */
static void size_str(uint64_t v, char *buf, size_t n)
{
    static const char *const sfx[] = { "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei" };
    double d = (double)v;
    int i = 0;
    while (i < 6 && d >= 1024.0) {
        d /= 1024.0;
        i++;
    }
    snprintf(buf, n, "%0.3g %sB", d, sfx[i]);
}

void q2_snapshot_dump(FILE *out, const sim_snapshot *sn)
{
    if (!sn) {
        fprintf(out, "%-10s%-17s%8s%20s%13s%11s", "ID", "TAG", "VM SIZE", "DATE", "VM CLOCK",
                "ICOUNT");
        return;
    }
    char date[64], clock[64], size[32];
    time_t t = (time_t)sn->date_sec;
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S", &tm);
    uint64_t secs = sn->vm_clock_nsec / 1000000000u;
    snprintf(clock, sizeof clock, "%02d:%02d:%02d.%03d", (int)(secs / 3600),
             (int)((secs / 60) % 60), (int)(secs % 60),
             (int)((sn->vm_clock_nsec / 1000000) % 1000));
    size_str(sn->vm_state_size, size, sizeof size);
    /* qemu-img's icount is 0 (no record/replay) */
    fprintf(out, "%-9s %-16s %8s%20s%13s%11s", sn->id, sn->name, size, date, clock, "0");
}
