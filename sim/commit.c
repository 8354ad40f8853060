/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The block-commit job (QEMU 7.2 blockdev.c qmp_block_commit, block/commit.c,
 * and block/mirror.c's commit_active_start for the active layer).
 *
 * Committing the active layer is a mirror of type "commit": the base is
 * reopened read-write, every cluster allocated above the base is copied
 * down (so the base's dirty bitmaps record those writes, as they record any
 * write), then the job is READY and waits for block-job-complete, which
 * copies what the guest wrote meanwhile and pivots: the base takes over the
 * top's parents and the layers above it are dropped. Committing an
 * intermediate layer copies and finishes by itself.
 *
 * The copy happens at once: the simulator has no guest I/O in flight that
 * could land in between, so the outcome is QEMU's.
 */
#include <stdlib.h>
#include <string.h>

#include "sim/job.h"

typedef struct commit_job {
    char *id;
    sim_node *top, *base;
    bool active;
    uint64_t len, offset;
    int64_t speed;
    struct commit_job *next;
} commit_job;

static const char *jstr_(json_object *o, const char *key)
{
    json_object *v;
    return o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
        ? json_object_get_string(v) : NULL;
}

static void status(sim *s, const char *id, const char *st)
{
    json_object *d = json_object_new_object();
    json_add_lit(d, "status", json_object_new_string(st));
    json_add_lit(d, "id", json_object_new_string(id));
    ev_emit(s, "JOB_STATUS_CHANGE", d);
}

static void block_event(sim *s, commit_job *c, const char *name)
{
    json_object *d = json_object_new_object();
    json_add_lit(d, "device", json_object_new_string(c->id));
    json_add_lit(d, "len", json_object_new_int64((int64_t)c->len));
    json_add_lit(d, "offset", json_object_new_int64((int64_t)c->offset));
    json_add_lit(d, "speed", json_object_new_int64(c->speed));
    json_add_lit(d, "type", json_object_new_string("commit"));
    ev_emit(s, name, d);
}

/* Is guest cluster ci allocated in some layer from top down to (not
 * including) base? (bdrv_is_allocated_above) */
static bool allocated_above(sim_node *top, sim_node *base, uint64_t off, uint64_t len)
{
    for (sim_node *n = top; n && n != base; n = n->backing) {
        if (n->drv != DRV_QCOW2) {
            return true;
        }
        uint64_t cs = n->q->cluster_size;
        uint64_t lim = (off + len + cs - 1) / cs;
        if (lim > n->q->nclusters) {
            lim = n->q->nclusters;
        }
        if (off / cs < lim && l2_skip_unalloc(n->q, off / cs, lim) < lim) {
            return true;
        }
    }
    return false;
}

/* The first offset from off (below size) of a cluster allocated in some
 * layer from top down to (not including) base, or size. */
static uint64_t next_allocated_above(sim_node *top, sim_node *base, uint64_t off, uint64_t size)
{
    uint64_t best = size;
    for (sim_node *n = top; n && n != base && off < best; n = n->backing) {
        if (n->drv != DRV_QCOW2) {
            return off;
        }
        uint64_t cs = n->q->cluster_size;
        uint64_t lim = n->q->nclusters, ci = l2_skip_unalloc(n->q, off / cs, lim);
        if (ci < lim) {
            uint64_t at = ci * cs > off ? ci * cs : off;
            best = at < best ? at : best;
        }
    }
    return best;
}

/* Copy every granule allocated above base from top's view into base.
 * Returns the bytes copied, or a negative errno. */
static int64_t copy_down(sim *s, commit_job *c)
{
    uint64_t size = node_size(c->top);
    uint64_t gran = node_cluster_size(c->base);
    if (!gran) {
        gran = 65536;
    }
    uint8_t *buf = malloc(gran);
    int64_t copied = 0;
    for (uint64_t off = 0; off < size; off += gran) {
        uint64_t len = size - off < gran ? size - off : gran;
        if (!allocated_above(c->top, c->base, off, len)) {
            /* on to the granule of the next allocated cluster at once */
            uint64_t next = next_allocated_above(c->top, c->base, off + len, size);
            off = next >= size ? size : next / gran * gran - gran;
            continue;
        }
        int r = node_read(s, c->top, off, len, buf);
        if (r >= 0) {
            r = node_write(s, c->base, off, len, buf, false);
        }
        if (r < 0) {
            free(buf);
            return r;
        }
        copied += (int64_t)len;
    }
    free(buf);
    return copied;
}

static commit_job **find_slot(sim *s, const char *id)
{
    commit_job **pp = (commit_job **)&s->commit_jobs;
    while (*pp && strcmp((*pp)->id, id)) {
        pp = &(*pp)->next;
    }
    return pp;
}

static void commit_free(commit_job **pp)
{
    commit_job *c = *pp;
    *pp = c->next;
    free(c->id);
    free(c);
}

/* Drop the layers from top down to base: base takes top's parents. */
static void pivot(sim *s, commit_job *c)
{
    sim_node *top = c->top;
    blk_replace_node(s, top, c->base, NULL);
    /* top now has no parents but keeps its chain: unreferencing it closes
     * every layer above base; base itself is still referenced */
    top->parents++;
    node_unref(s, top);
}

static void finish(sim *s, commit_job **pp, int64_t copied)
{
    commit_job *c = *pp;
    if (copied > 0) {
        c->offset += (uint64_t)copied;
        if (c->offset > c->len) {
            c->len = c->offset;
        }
    }
    status(s, c->id, "waiting");
    status(s, c->id, "pending");
    pivot(s, c);
    block_event(s, c, "BLOCK_JOB_COMPLETED");
    status(s, c->id, "concluded");
    status(s, c->id, "null");
    commit_free(pp);
}

json_object *qmp_block_commit(sim *s, json_object *args)
{
    const char *device = jstr_(args, "device");
    const char *top_name = jstr_(args, "top"), *top_node = jstr_(args, "top-node");
    const char *base_name = jstr_(args, "base"), *base_node = jstr_(args, "base-node");
    const char *job_id = jstr_(args, "job-id");
    json_object *v;
    int64_t speed = json_object_object_get_ex(args, "speed", &v) ? json_object_get_int64(v) : 0;

    /* qmp_get_root_bs */
    sim_node *bs = blk_lookup_bs(s, device);
    if (!bs) {
        return qmp_error("DeviceNotFound", "Device '%s' not found", device);
    }
    if (speed < 0) {
        return qmp_error("GenericError", "Parameter 'speed' expects a non-negative value");
    }
    if (top_node && top_name) {
        return qmp_error("GenericError", "'top-node' and 'top' are mutually exclusive");
    }
    if (base_node && base_name) {
        return qmp_error("GenericError", "'base-node' and 'base' are mutually exclusive");
    }
    sim_node *top = NULL;
    if (top_node) {
        top = blk_lookup_bs(s, top_node);
        if (!top) {
            return qmp_error("GenericError", "Cannot find device='' nor node-name='%s'", top_node);
        }
    } else if (top_name) {
        for (sim_node *n = bs; n; n = n->backing) {
            if (!strcmp(node_filename(n), top_name)) {
                top = n;
                break;
            }
        }
        if (!top) {
            return qmp_error("GenericError", "Top image file %s not found", top_name);
        }
    } else {
        top = bs;
    }
    sim_node *base = NULL;
    if (base_node) {
        base = blk_lookup_bs(s, base_node);
        if (!base) {
            return qmp_error("GenericError", "Cannot find device='' nor node-name='%s'", base_node);
        }
    } else if (base_name) {
        for (sim_node *n = top->backing; n; n = n->backing) {
            if (!strcmp(node_filename(n), base_name)) {
                base = n;
                break;
            }
        }
        if (!base) {
            return qmp_error("GenericError", "Can't find '%s' in the backing chain", base_name);
        }
    } else {
        base = top;
        while (base->backing) {
            base = base->backing;
        }
    }
    if (top == base) {
        return qmp_error("GenericError", "cannot commit an image into itself");
    }
    bool in_chain = false;
    for (sim_node *n = top->backing; n; n = n->backing) {
        in_chain = in_chain || n == base;
    }
    if (!in_chain) {
        return qmp_error("GenericError", "'%s' is not in the backing chain of '%s'",
                         base->name, top->name);
    }
    const char *id = job_id ? job_id : device;
    if (*find_slot(s, id) || job_find(s, id)) {
        return qmp_error("GenericError", "Job ID '%s' already in use", id);
    }
    commit_job *c = calloc(1, sizeof *c);
    c->id = xstrdup(id);
    c->top = top;
    c->base = base;
    c->active = top == bs;
    c->speed = speed;
    *find_slot(s, id) = c;

    status(s, id, "created");
    status(s, id, "running");
    /* commit_active_start / commit_start: the base is written to */
    bool base_was_ro = base->read_only;
    node_set_read_only(base, false);
    int64_t copied = copy_down(s, c);
    if (copied > 0) {
        c->len = c->offset = (uint64_t)copied;
    }
    if (!c->active) {
        /* commit_run: progress covers the whole top, copied or not */
        c->len = c->offset = node_size(top);
        finish(s, find_slot(s, id), 0);
        if (base_was_ro) {
            persist_store(base);
            node_set_read_only(base, true);
        }
        return qmp_ok();
    }
    status(s, id, "ready");
    block_event(s, c, "BLOCK_JOB_READY");
    return qmp_ok();
}

json_object *commit_complete(sim *s, const char *id)
{
    commit_job **pp = find_slot(s, id);
    if (!*pp) {
        return NULL;
    }
    commit_job *c = *pp;
    /* what the guest wrote to the top since READY goes down too */
    int64_t copied = copy_down(s, c);
    (void)copied;
    finish(s, pp, 0);
    return qmp_ok();
}

void commit_free_all(sim *s)
{
    while (s->commit_jobs) {
        commit_free((commit_job **)&s->commit_jobs);
    }
}
