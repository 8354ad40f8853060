/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Proxmox-style VM backup into a VMA archive: the monitor commands `backup`,
 * `query-backup` and `backup-cancel` of the 2012 patch series (seed 003),
 * built on the cluster engine through lib/vma's backup glue: one
 * vma_backup (a cl_backup, sync full) per device, all feeding one
 * vma_writer. The archive is a real file (the backend's test directory is
 * a real scratch directory); the devices are simulated nodes.
 *
 * See sim/MODEL.md, "Proxmox VMA backup", for what is modelled and why.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim_int.h"
#include "vma/vma.h"
#include "vma/vma_backup.h"

#define PVE_DEFAULT_RAM (4ull << 20)

typedef struct pve_dev {
    sim *s;                     /* for the cl_io callbacks */
    sim_node *node;
    unsigned dev_id;
    uint64_t size;
    vma_backup *job;
    bool finished;              /* its BLOCK_JOB_* event was emitted */
} pve_dev;

struct pve_state {
    /* the last backup, kept for query-backup after it ends */
    bool started;
    bool running;               /* device jobs not finished yet */
    char uuid[37];
    char *backup_file;
    char *errmsg;               /* set when it ended in error */
    int64_t start_time, end_time;
    uint64_t total;
    uint64_t speed;
    uint64_t start_ns;
    vma_writer *w;
    pve_dev *devs;              /* never reallocated: the jobs point into it */
    unsigned ndevs;
    unsigned next_dev;          /* round-robin: the devices' jobs run side by side */
    uint64_t backups;           /* how many were started: varies the uuid */
};

/* ---- small helpers ---------------------------------------------------- */

static const char *arg_str(json_object *args, const char *key)
{
    json_object *v;
    if (args && json_object_object_get_ex(args, key, &v) &&
        json_object_is_type(v, json_type_string)) {
        return json_object_get_string(v);
    }
    return NULL;
}

static int64_t arg_int(json_object *args, const char *key, int64_t dflt)
{
    json_object *v;
    if (args && json_object_object_get_ex(args, key, &v)) {
        return json_object_get_int64(v);
    }
    return dflt;
}

static bool arg_bool(json_object *args, const char *key, bool dflt)
{
    json_object *v;
    if (args && json_object_object_get_ex(args, key, &v)) {
        return json_object_get_boolean(v);
    }
    return dflt;
}

static int64_t wall_seconds(sim *s)
{
    return (int64_t)(SIM_EPOCH_S + s->clock_ns / 1000000000ull);
}

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A version-4 uuid from the machine's seed and the backup's ordinal: the
 * same case prints the same uuid every run. */
static void make_uuid(sim *s, uint64_t ordinal, uint8_t out[16])
{
    uint64_t x = s->seed ^ (ordinal * 0x2545f4914f6cdd1dull);
    uint64_t a = splitmix64(&x), b = splitmix64(&x);
    for (int i = 0; i < 8; i++) {
        out[i] = (uint8_t)(a >> (56 - 8 * i));
        out[8 + i] = (uint8_t)(b >> (56 - 8 * i));
    }
    out[6] = (out[6] & 0x0f) | 0x40;
    out[8] = (out[8] & 0x3f) | 0x80;
}

uint8_t pve_ram_byte(uint64_t off)
{
    uint64_t page = off / 4096;
    if (page % 4 == 3) {
        return 0;
    }
    return (uint8_t)(page % 251 + 1);
}

/* ---- a device's source: reads through its simulated node ------------- */

static int src_read(void *opaque, uint64_t off, uint64_t len, void *buf)
{
    pve_dev *d = opaque;
    return node_read(d->s, d->node, off, len, buf);
}

static int src_block_status(void *opaque, uint64_t off, uint64_t len, bool top_only,
                            uint64_t *pnum)
{
    pve_dev *d = opaque;
    (void)top_only;
    return node_block_status(d->s, d->node, off, len, pnum);
}

/* ---- state ------------------------------------------------------------ */

static void free_run(pve_state *p)
{
    for (unsigned i = 0; i < p->ndevs; i++) {
        vma_backup_free(p->devs[i].job);
    }
    free(p->devs);
    p->devs = NULL;
    p->ndevs = 0;
    vma_writer_free(p->w);      /* removes an archive that did not complete */
    p->w = NULL;
}

void pve_free(sim *s)
{
    pve_state *p = s->pve;
    if (!p) {
        return;
    }
    free_run(p);
    free(p->backup_file);
    free(p->errmsg);
    free(p);
    s->pve = NULL;
}

static pve_state *pve_get(sim *s)
{
    if (!s->pve) {
        s->pve = calloc(1, sizeof *s->pve);
    }
    return s->pve;
}

static pve_dev *dev_of(sim *s, sim_node *n)
{
    pve_state *p = s->pve;
    if (!p || !p->running) {
        return NULL;
    }
    for (unsigned i = 0; i < p->ndevs; i++) {
        if (p->devs[i].node == n && !p->devs[i].finished) {
            return &p->devs[i];
        }
    }
    return NULL;
}

bool pve_node_busy(sim *s, sim_node *n)
{
    return dev_of(s, n) != NULL;
}

/* ---- ending --------------------------------------------------------- */

static void emit_dev_event(sim *s, pve_dev *d, const char *event, const char *error)
{
    pve_state *p = s->pve;
    cl_backup *bk = vma_backup_job(d->job);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "device", json_object_new_string(d->node->name));
    json_object_object_add(o, "len", json_object_new_int64((int64_t)cl_backup_len(bk)));
    json_object_object_add(o, "offset", json_object_new_int64((int64_t)cl_backup_offset(bk)));
    json_object_object_add(o, "speed", json_object_new_int64((int64_t)p->speed));
    json_object_object_add(o, "type", json_object_new_string("backup"));
    if (error) {
        json_object_object_add(o, "error", json_object_new_string(error));
    }
    ev_emit(s, event, o);
    d->finished = true;
}

/* The last job ended: close the archive (the seed's close_cb) and record
 * the outcome. A failed writer makes close fail and free remove the file. */
static void finish(sim *s)
{
    pve_state *p = s->pve;
    vma_error err = { 0, "" };
    if (vma_writer_close(p->w, &err) < 0) {
        free(p->errmsg);
        p->errmsg = xstrdup(err.msg);
    }
    p->end_time = wall_seconds(s);
    p->running = false;
    /* the jobs and the writer go; the status stays for query-backup */
    uint64_t transferred = 0, zero = 0;
    (void)transferred;
    (void)zero;
    free_run(p);
}

/* Every job still running is cancelled (the seed's cancel_cb): each one
 * reports BLOCK_JOB_CANCELLED, then the archive is closed as failed. */
static void cancel_all(sim *s, int code, const char *msg)
{
    pve_state *p = s->pve;
    vma_writer_set_error(p->w, code, "%s", msg);
    for (unsigned i = 0; i < p->ndevs; i++) {
        pve_dev *d = &p->devs[i];
        if (!d->finished) {
            cl_backup_cancel(vma_backup_job(d->job));
            emit_dev_event(s, d, "BLOCK_JOB_CANCELLED", NULL);
        }
    }
    finish(s);
}

/* ---- progress counters (query-backup) -------------------------------- */

typedef struct pve_counts { uint64_t transferred, zero; } pve_counts;

static pve_counts counts_now(pve_state *p)
{
    pve_counts c = { 0, 0 };
    for (unsigned i = 0; i < p->ndevs && p->w; i++) {
        vma_stream_status st;
        if (vma_writer_stream_status(p->w, p->devs[i].dev_id, &st)) {
            c.transferred += st.transferred;
            c.zero += st.zero_bytes;
        }
    }
    return c;
}

/* Counters survive the end of the run: they are sampled before the jobs go. */
typedef struct pve_saved { uint64_t transferred, zero; } pve_saved;

/* ---- ticking ---------------------------------------------------------- */

bool pve_tick(sim *s)
{
    pve_state *p = s->pve;
    if (!p || !p->running) {
        return false;
    }
    if (p->speed) {
        /* rate limit on the virtual clock: the bytes done so far may not
         * run ahead of speed x elapsed time */
        uint64_t elapsed = s->clock_ns - p->start_ns;
        pve_counts c = counts_now(p);
        long double allowed = (long double)p->speed * elapsed / 1e9L;
        if ((long double)c.transferred > allowed) {
            return true;    /* time passes, nothing copied */
        }
    }
    for (unsigned k = 0; k < p->ndevs; k++) {
        pve_dev *d = &p->devs[(p->next_dev + k) % p->ndevs];
        if (d->finished) {
            continue;
        }
        p->next_dev = (unsigned)((d - p->devs) + 1) % p->ndevs;
        vma_error err = { 0, "" };
        int r = vma_backup_step(d->job, &err);
        if (r > 0) {
            return true;
        }
        if (r == 0) {
            emit_dev_event(s, d, "BLOCK_JOB_COMPLETED", NULL);
        } else {
            json_object *o = json_object_new_object();
            json_object_object_add(o, "device", json_object_new_string(d->node->name));
            json_object_object_add(o, "operation", json_object_new_string("read"));
            json_object_object_add(o, "action", json_object_new_string("report"));
            ev_emit(s, "BLOCK_JOB_ERROR", o);
            emit_dev_event(s, d, "BLOCK_JOB_COMPLETED", strerror(-r));
            /* the archive is failed for everyone: the other jobs stop */
            p->saved_transferred = counts_now(p).transferred;
            cancel_all(s, r, err.msg);
            return true;
        }
        bool all = true;
        for (unsigned i = 0; i < p->ndevs; i++) {
            all = all && p->devs[i].finished;
        }
        if (all) {
            finish(s);
        }
        return true;
    }
    return false;
}
