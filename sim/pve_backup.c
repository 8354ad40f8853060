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
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim/job.h"
#include "vma/vma.h"
#include "vma/vma_backup.h"

#define PVE_DEFAULT_RAM (4ull << 20)
/* The state is written inside the QMP command: keep it bounded. */
#define PVE_MAX_RAM (1ull << 30)

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
    uint64_t total, transferred, zero_bytes;
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
    s->before_write = NULL;
}

static pve_state *pve_get(sim *s)
{
    if (!s->pve) {
        s->pve = xcalloc(1, sizeof *s->pve);
        s->before_write = pve_before_write;   /* guest writes to its devices */
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

/* ---- ending ----------------------------------------------------------- */

static void emit_dev_event(sim *s, pve_dev *d, const char *event, const char *error)
{
    pve_state *p = s->pve;
    cl_backup *bk = vma_backup_job(d->job);
    json_object *o = json_object_new_object();
    json_add_lit(o, "device", json_object_new_string(d->node->name));
    json_add_lit(o, "len", json_object_new_int64((int64_t)cl_backup_len(bk)));
    json_add_lit(o, "offset", json_object_new_int64((int64_t)cl_backup_offset(bk)));
    json_add_lit(o, "speed", json_object_new_int64((int64_t)p->speed));
    json_add_lit(o, "type", json_object_new_string("backup"));
    if (error) {
        json_add_lit(o, "error", json_object_new_string(error));
    }
    ev_emit(s, event, o);
    d->finished = true;
}

/* Bytes the device jobs handed to the archive, and how many were zero
 * (the seed counts what its dump callback got; the vmstate is not in it). */
static void sample_counts(pve_state *p)
{
    if (!p->w) {
        return;
    }
    uint64_t t = 0, z = 0;
    for (unsigned i = 0; i < p->ndevs; i++) {
        vma_stream_status st;
        if (vma_writer_stream_status(p->w, p->devs[i].dev_id, &st)) {
            t += st.transferred;
            z += st.zero_bytes;
        }
    }
    p->transferred = t;
    p->zero_bytes = z;
}

/* The last job ended: close the archive (the seed's close_cb) and record
 * the outcome. A failed writer makes close fail; the file stays, as in the
 * seed (only a backup that fails to start removes its archive), and holds
 * the extents written before the failure: `vma verify` calls it incomplete. */
static void finish(sim *s)
{
    pve_state *p = s->pve;
    vma_error err = { 0, "" };
    sample_counts(p);
    if (vma_writer_close(p->w, &err) < 0 && !p->errmsg) {
        p->errmsg = xstrdup(err.msg);
    }
    p->end_time = wall_seconds(s);
    p->running = false;
    free_run(p);
}

/* Every job still running is cancelled (the seed's cancel_cb): each one
 * reports BLOCK_JOB_CANCELLED, then the archive is closed as failed. The
 * writer keeps the first error, so a job's failure stays the message. */
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

static void job_failed(sim *s, pve_dev *d, int r, const char *msg, bool is_read)
{
    json_object *o = json_object_new_object();
    json_add_lit(o, "device", json_object_new_string(d->node->name));
    json_add_lit(o, "operation", json_object_new_string(is_read ? "read" : "write"));
    json_add_lit(o, "action", json_object_new_string("report"));
    ev_emit(s, "BLOCK_JOB_ERROR", o);
    emit_dev_event(s, d, "BLOCK_JOB_COMPLETED", strerror(-r));
    cancel_all(s, r, msg);
}

/* ---- ticking: one engine step of one device per unit of work ---------- */

bool pve_tick(sim *s)
{
    pve_state *p = s->pve;
    if (!p || !p->running) {
        return false;
    }
    if (p->speed) {
        /* rate limit on the virtual clock: what was copied may not run
         * ahead of speed x elapsed time */
        sample_counts(p);
        long double allowed = (long double)p->speed * (long double)(s->clock_ns - p->start_ns) / 1e9L;
        if ((long double)p->transferred > allowed) {
            for (sim_job *j = s->jobs; j; j = j->next) {
                if (j->status == JS_RUNNING) {
                    return true;    /* time passes, nothing is copied */
                }
            }
            /* nothing else runs: sleep until the limit allows more, as
             * QEMU's rate limiter does, rather than 1 ms at a time */
            long double due = (long double)p->start_ns +
                              (long double)p->transferred * 1e9L / (long double)p->speed;
            s->clock_ns = due < 0x1p63L ? (uint64_t)due + 1 : 1ull << 63;
        }
    }
    for (unsigned k = 0; k < p->ndevs; k++) {
        unsigned i = (p->next_dev + k) % p->ndevs;
        pve_dev *d = &p->devs[i];
        if (d->finished) {
            continue;
        }
        p->next_dev = (i + 1) % p->ndevs;
        vma_error err = { 0, "" };
        int r = vma_backup_step(d->job, &err);
        if (r > 0) {
            return true;
        }
        if (r < 0) {
            /* the step reads the source, then writes the archive: a
             * writer error names the archive */
            job_failed(s, d, r, err.msg, !strstr(err.msg, "writing the archive"));
            return true;
        }
        emit_dev_event(s, d, "BLOCK_JOB_COMPLETED", NULL);
        bool all = true;
        for (unsigned n = 0; n < p->ndevs; n++) {
            all = all && p->devs[n].finished;
        }
        if (all) {
            finish(s);
        }
        return true;
    }
    return false;
}

/* ---- guest writes: copy-before-write ---------------------------------- */

int pve_before_write(sim *s, sim_node *n, uint64_t off, uint64_t len)
{
    pve_dev *d = dev_of(s, n);
    if (!d || off >= d->size) {
        return 0;
    }
    if (len > d->size - off) {
        len = d->size - off;
    }
    vma_error err = { 0, "" };
    int r = vma_backup_before_write(d->job, off, len, &err);
    if (r < 0) {
        /* the archive misses the old data now: the whole backup fails,
         * and so does the guest write */
        job_failed(s, d, r, err.msg, !strstr(err.msg, "writing the archive"));
        return r;
    }
    return 0;
}

/* ---- QMP ---------------------------------------------------------------- */

static json_object *ret_string(const char *str)
{
    json_object *r = json_object_new_object();
    json_add_lit(r, "return", json_object_new_string(str));
    return r;
}

static bool node_in_use(sim *s, sim_node *n)
{
    if (n->busy_job || pve_node_busy(s, n)) {
        return true;
    }
    for (sim_job *j = s->jobs; j; j = j->next) {
        if ((j->source == n || j->target == n) && j->status != JS_CONCLUDED &&
            j->status != JS_NULL) {
            return true;
        }
    }
    return false;
}

static char *read_config(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
    }
    bool bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

/* The device list: named ones (any of , ; : separates them), or every
 * top-level, writable node the monitor added. Errors as in the seed. */
static json_object *collect_devices(sim *s, const char *devlist, sim_node ***out, unsigned *nout)
{
    sim_node **v = NULL;
    unsigned n = 0;
    if (devlist) {
        char *copy = xstrdup(devlist), *rest = copy, *tok;
        while ((tok = strsep(&rest, ",;:")) != NULL) {
            sim_node *node = node_find(s, tok);
            json_object *err = NULL;
            if (!node) {
                err = qmp_error("DeviceNotFound", "Device '%s' not found", tok);
            } else if (node->read_only) {
                err = qmp_error("GenericError", "Device '%s' is read only", tok);
            } else if (node_size(node) == 0) {
                /* nothing to read from: what an empty drive is here */
                err = qmp_error("GenericError", "Device '%s' has no medium", tok);
            }
            if (err) {
                free(copy);
                free(v);
                return err;
            }
            v = realloc(v, (n + 1) * sizeof *v);
            v[n++] = node;
        }
        free(copy);
    } else {
        for (sim_node *node = s->nodes; node; node = node->next) {
            if (node->monitor_owned && node->parents == 0 && !node->read_only &&
                node_size(node) > 0) {
                v = realloc(v, (n + 1) * sizeof *v);
                v[n++] = node;
            }
        }
    }
    if (!n) {
        free(v);
        return qmp_error("GenericError", "empty device list");
    }
    *out = v;
    *nout = n;
    return NULL;
}

json_object *qmp_backup(sim *s, json_object *args)
{
    const char *file = arg_str(args, "backup-file");
    const char *format = arg_str(args, "format");
    const char *config = arg_str(args, "config-filename");
    const char *devlist = arg_str(args, "devlist");
    int64_t speed = arg_int(args, "speed", 0);
    bool state = arg_bool(args, "state", false);
    int64_t ram_size = arg_int(args, "x-ram-size", (int64_t)PVE_DEFAULT_RAM);
    sim_node **nodes = NULL;
    unsigned nnodes = 0;
    json_object *err;

    if (!format) {
        format = "vma";
    }
    if (strcmp(format, "vma")) {
        return qmp_error("GenericError", "no backup driver for format '%s'", format);
    }
    if (speed < 0) {
        return qmp_error("GenericError", "Parameter 'speed' expects a non-negative value");
    }
    if (ram_size <= 0) {
        return qmp_error("GenericError", "Parameter 'x-ram-size' expects a positive value");
    }
    if ((uint64_t)ram_size > PVE_MAX_RAM) {
        return qmp_error("GenericError", "Parameter 'x-ram-size' is at most %llu in the simulator",
                         (unsigned long long)PVE_MAX_RAM);
    }
    if ((err = collect_devices(s, devlist, &nodes, &nnodes))) {
        return err;
    }
    for (unsigned i = 0; i < nnodes; i++) {
        if (node_in_use(s, nodes[i])) {
            err = qmp_error("GenericError", "Device '%s' is in use", nodes[i]->name);
            free(nodes);
            return err;
        }
    }

    pve_state *p = pve_get(s);
    uint8_t uuid[16];
    make_uuid(s, p->backups, uuid);
    vma_writer_options wo = { .uuid = uuid, .ctime = wall_seconds(s) };
    vma_error verr = { 0, "" };
    /* the archive is opened here rather than by vma_writer_create, which
     * would remove it on any failure: the seed keeps a failed archive */
    if (!file || !*file) {
        free(nodes);
        return qmp_error("GenericError", "no archive path given");
    }
    int fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        err = qmp_error("GenericError", "cannot create archive '%s': %s", file, strerror(errno));
        free(nodes);
        return err;
    }
    vma_writer *w = vma_writer_new_fd(fd, true, &wo, &verr);
    if (!w) {
        close(fd);
        unlink(file);
        free(nodes);
        return qmp_error("GenericError", "%s", verr.msg);
    }
    int vmstate_id = 0;
    if (state && (vmstate_id = vma_writer_add_vmstate(w, (uint64_t)ram_size, &verr)) < 0) {
        err = qmp_error("GenericError", "register vmstate stream failed");
        goto fail;
    }
    pve_dev *devs = calloc(nnodes, sizeof *devs);
    uint64_t total = 0;
    for (unsigned i = 0; i < nnodes; i++) {
        devs[i].s = s;
        devs[i].node = nodes[i];
        devs[i].size = node_size(nodes[i]);
        int id = vma_writer_add_device(w, nodes[i]->name, devs[i].size, &verr);
        if (id < 0) {
            free(devs);
            err = qmp_error("GenericError", "register_stream failed");
            goto fail;
        }
        devs[i].dev_id = (unsigned)id;
        total += devs[i].size;
    }
    if (config) {
        size_t clen = 0;
        char *cdata = read_config(config, &clen);
        if (!cdata) {
            free(devs);
            err = qmp_error("GenericError", "unable to read file '%s'", config);
            goto fail;
        }
        const char *base = strrchr(config, '/');
        base = base ? base + 1 : config;
        int r = vma_writer_add_config(w, base, cdata, clen, &verr);
        free(cdata);
        if (r < 0) {
            free(devs);
            err = qmp_error("GenericError", "register_config failed");
            goto fail;
        }
    }
    for (unsigned i = 0; i < nnodes; i++) {
        cl_io io = { .opaque = &devs[i], .read = src_read, .block_status = src_block_status };
        devs[i].job = vma_backup_new(w, devs[i].dev_id, devs[i].size, &io, &verr);
        if (!devs[i].job) {
            for (unsigned k = 0; k < i; k++) {
                vma_backup_free(devs[k].job);
            }
            free(devs);
            err = qmp_error("GenericError", "%s", verr.msg);
            goto fail;
        }
    }

    /* the backup is on: the previous one's status is gone */
    free_run(p);
    free(p->backup_file);
    free(p->errmsg);
    p->errmsg = NULL;
    p->backup_file = xstrdup(file);
    p->started = true;
    p->running = true;
    vma_uuid_format(uuid, p->uuid);
    p->backups++;
    p->start_time = wall_seconds(s);
    p->end_time = 0;
    p->total = total;
    p->transferred = 0;
    p->zero_bytes = 0;
    p->speed = (uint64_t)speed;
    p->start_ns = s->clock_ns;
    p->w = w;
    p->devs = devs;
    p->ndevs = nnodes;
    p->next_dev = 0;
    free(nodes);

    if (state) {
        /* the seed saves the VM state first (the guest stops for its last
         * part) and starts the disk jobs after it: RAM in 64 KiB pieces */
        uint8_t *buf = malloc(VMA_CLUSTER_SIZE);
        for (uint64_t off = 0; off < (uint64_t)ram_size; off += VMA_CLUSTER_SIZE) {
            size_t n = (uint64_t)ram_size - off < VMA_CLUSTER_SIZE ?
                (size_t)((uint64_t)ram_size - off) : VMA_CLUSTER_SIZE;
            for (size_t k = 0; k < n; k++) {
                buf[k] = pve_ram_byte(off + k);
            }
            if (vma_writer_vmstate_append(w, buf, n, &verr) < 0) {
                break;
            }
        }
        free(buf);
        if (!verr.code) {
            vma_writer_close_stream(w, (unsigned)vmstate_id, &verr);
        }
        if (verr.code) {
            char *m = xstrdup(verr.msg);
            cancel_all(s, verr.code, m);
            free(m);
        }
    }
    return ret_string(p->uuid);

fail:
    free(nodes);
    vma_writer_free(w);
    unlink(file);           /* the seed removes an archive that never started */
    return err;
}

json_object *qmp_query_backup(sim *s)
{
    pve_state *p = s->pve;
    json_object *o = json_object_new_object();
    if (p && p->started) {
        if (p->running) {
            sample_counts(p);
        }
        const char *status = p->running ? "active" : p->errmsg ? "error" : "done";
        json_add_lit(o, "status", json_object_new_string(status));
        if (!p->running && p->errmsg) {
            json_add_lit(o, "errmsg", json_object_new_string(p->errmsg));
        }
        json_add_lit(o, "total", json_object_new_int64((int64_t)p->total));
        json_add_lit(o, "transferred", json_object_new_int64((int64_t)p->transferred));
        json_add_lit(o, "zero-bytes", json_object_new_int64((int64_t)p->zero_bytes));
        json_add_lit(o, "start-time", json_object_new_int64(p->start_time));
        if (!p->running) {
            json_add_lit(o, "end-time", json_object_new_int64(p->end_time));
        }
        json_add_lit(o, "backup-file", json_object_new_string(p->backup_file));
        json_add_lit(o, "uuid", json_object_new_string(p->uuid));
    }
    json_object *r = json_object_new_object();
    json_add_lit(r, "return", o);
    return r;
}

json_object *qmp_backup_cancel(sim *s)
{
    pve_state *p = s->pve;
    if (p && p->running) {
        cancel_all(s, -ECANCELED, "backup canceled");    /* the seed's text */
    }
    return qmp_ok();
}
