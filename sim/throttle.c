/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * I/O throttling: throttle-group objects (object-add, QEMU 7.2
 * block/throttle-groups.c with util/throttle.c's leaky buckets) and the
 * throttle filter driver (block/throttle.c) whose requests wait for their
 * group on the virtual clock. A request that would outlive the deadline of
 * the copy-before-write operation it serves (cbw-timeout) marks that
 * operation timed out; the request itself still happens, as QEMU's
 * detached block-copy call does.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim/node.h"

enum { B_BPS_TOTAL, B_BPS_READ, B_BPS_WRITE, B_OPS_TOTAL, B_OPS_READ, B_OPS_WRITE, B_COUNT };

#define THROTTLE_VALUE_MAX 1000000000000000ll   /* include/qemu/throttle.h */

typedef struct bucket {
    uint64_t avg, max;          /* units per second; max 0: avg / 10 of burst */
    double level;
} bucket;

struct sim_throttle_group {
    char *id;
    bucket b[B_COUNT];
    uint64_t op_size;           /* iops-size */
    uint64_t previous_leak;     /* virtual ns */
    struct sim_throttle_group *next;
};

/* ThrottleLimits members, with the bucket and kind each sets. */
static const struct {
    const char *name;
    int bucket;
    int kind;                   /* 0 avg, 1 max, 2 max-length, 3 iops-size */
} limit_fields[] = {
    { "iops-total", B_OPS_TOTAL, 0 }, { "iops-total-max", B_OPS_TOTAL, 1 },
    { "iops-total-max-length", B_OPS_TOTAL, 2 },
    { "iops-read", B_OPS_READ, 0 }, { "iops-read-max", B_OPS_READ, 1 },
    { "iops-read-max-length", B_OPS_READ, 2 },
    { "iops-write", B_OPS_WRITE, 0 }, { "iops-write-max", B_OPS_WRITE, 1 },
    { "iops-write-max-length", B_OPS_WRITE, 2 },
    { "bps-total", B_BPS_TOTAL, 0 }, { "bps-total-max", B_BPS_TOTAL, 1 },
    { "bps-total-max-length", B_BPS_TOTAL, 2 },
    { "bps-read", B_BPS_READ, 0 }, { "bps-read-max", B_BPS_READ, 1 },
    { "bps-read-max-length", B_BPS_READ, 2 },
    { "bps-write", B_BPS_WRITE, 0 }, { "bps-write-max", B_BPS_WRITE, 1 },
    { "bps-write-max-length", B_BPS_WRITE, 2 },
    { "iops-size", 0, 3 },
};
#define N_LIMIT_FIELDS (sizeof limit_fields / sizeof *limit_fields)

static sim_throttle_group *group_find(sim *s, const char *id)
{
    for (sim_throttle_group *g = s->tgroups; g; g = g->next) {
        if (!strcmp(g->id, id)) {
            return g;
        }
    }
    return NULL;
}

void throttle_groups_free(sim *s)
{
    while (s->tgroups) {
        sim_throttle_group *g = s->tgroups;
        s->tgroups = g->next;
        free(g->id);
        free(g);
    }
}

/* throttle_is_valid, for the buckets we model (burst length 1). */
static json_object *limits_check(const sim_throttle_group *g)
{
    const bucket *b = g->b;
    if ((b[B_BPS_TOTAL].avg && (b[B_BPS_READ].avg || b[B_BPS_WRITE].avg)) ||
        (b[B_OPS_TOTAL].avg && (b[B_OPS_READ].avg || b[B_OPS_WRITE].avg)) ||
        (b[B_BPS_TOTAL].max && (b[B_BPS_READ].max || b[B_BPS_WRITE].max)) ||
        (b[B_OPS_TOTAL].max && (b[B_OPS_READ].max || b[B_OPS_WRITE].max))) {
        return qmp_error("GenericError", "bps/iops/max total values and read/write values "
                         "cannot be used at the same time");
    }
    if (g->op_size && !b[B_OPS_TOTAL].avg && !b[B_OPS_READ].avg && !b[B_OPS_WRITE].avg) {
        return qmp_error("GenericError", "iops size requires an iops value to be set");
    }
    for (int i = 0; i < B_COUNT; i++) {
        if (b[i].avg > THROTTLE_VALUE_MAX || b[i].max > THROTTLE_VALUE_MAX) {
            return qmp_error("GenericError", "bps/iops/max values must be within [0, %lld]",
                             THROTTLE_VALUE_MAX);
        }
        if (b[i].max && !b[i].avg) {
            return qmp_error("GenericError",
                             "bps_max/iops_max require corresponding bps/iops values");
        }
        if (b[i].max && b[i].max < b[i].avg) {
            return qmp_error("GenericError", "bps_max/iops_max cannot be lower than bps/iops");
        }
    }
    return NULL;
}

/* object-add qom-type=throttle-group id=ID limits={...} */
static json_object *object_add(sim *s, json_object *args)
{
    const char *id = json_str(args, "id");
    if (!id) {
        return qmp_error("GenericError", "Parameter 'id' is missing");
    }
    json_object_object_foreach(args, key, val) {
        (void)val;
        if (strcmp(key, "qom-type") && strcmp(key, "id") && strcmp(key, "limits")) {
            return qmp_error("GenericError", "Parameter '%s' is unexpected", key);
        }
    }
    if (group_find(s, id)) {
        return qmp_error("GenericError", "attempt to add duplicate property '%s' to object "
                         "(type 'container')", id);
    }
    sim_throttle_group g = { 0 };
    json_object *limits = NULL;
    json_object_object_get_ex(args, "limits", &limits);
    if (limits && !json_object_is_type(limits, json_type_object)) {
        return qmp_error("GenericError", "Invalid parameter type for 'limits', expected: object");
    }
    json_object_object_foreach(limits, lkey, lval) {
        size_t i = 0;
        while (i < N_LIMIT_FIELDS && strcmp(limit_fields[i].name, lkey)) {
            i++;
        }
        if (i == N_LIMIT_FIELDS) {
            return qmp_error("GenericError", "Parameter 'limits.%s' is unexpected", lkey);
        }
        if (!json_object_is_type(lval, json_type_int)) {
            return qmp_error("GenericError", "Invalid parameter type for 'limits.%s', expected: "
                             "integer", lkey);
        }
        /* throttle_limits_to_config stores them unsigned */
        uint64_t v = (uint64_t)json_object_get_int64(lval);
        switch (limit_fields[i].kind) {
        case 0:
            g.b[limit_fields[i].bucket].avg = v;
            break;
        case 1:
            g.b[limit_fields[i].bucket].max = v;
            break;
        case 2:
            if (v != 1) {
                return qmp_error("GenericError", "%s other than 1 is not modelled by the "
                                 "simulator", lkey);
            }
            break;
        default:
            g.op_size = v;
        }
    }
    json_object *err = limits_check(&g);
    if (err) {
        return err;
    }
    sim_throttle_group *n = calloc(1, sizeof *n);
    *n = g;
    n->id = xstrdup(id);
    n->previous_leak = s->clock_ns;
    sim_throttle_group **pp = &s->tgroups;
    while (*pp) {
        pp = &(*pp)->next;
    }
    *pp = n;
    return qmp_ok();
}

static bool group_in_use(sim *s, const sim_throttle_group *g)
{
    for (sim_node *n = s->nodes; n; n = n->next) {
        if (n->tg == g) {
            return true;
        }
    }
    return false;
}

static json_object *object_del(sim *s, json_object *args)
{
    const char *id = json_str(args, "id");
    sim_throttle_group **pp = &s->tgroups;
    while (id && *pp && strcmp((*pp)->id, id)) {
        pp = &(*pp)->next;
    }
    if (!id || !*pp) {
        return qmp_error("GenericError", "object '%s' not found", id ? id : "");
    }
    if (group_in_use(s, *pp)) {
        return qmp_error("GenericError", "object '%s' is in use, can not be deleted", id);
    }
    sim_throttle_group *g = *pp;
    *pp = g->next;
    free(g->id);
    free(g);
    return qmp_ok();
}

/* Is there an iothread object of that id (iothread.c keeps their ids)? */
static bool iothread_named(sim *s, const char *id)
{
    for (size_t i = 0; s->iothreads && i < json_object_array_length(s->iothreads); i++) {
        if (!strcmp(json_object_get_string(json_object_array_get_idx(s->iothreads, i)), id)) {
            return true;
        }
    }
    return false;
}

/* object-add of a throttle-group, object-del of one (or of nothing: "not
 * found"); iothread objects are iothread.c's. */
json_object *throttle_dispatch(sim *s, const char *cmd, json_object *args)
{
    const char *type = json_str(args, "qom-type"), *id = json_str(args, "id");
    if (!strcmp(cmd, "object-add") && type && !strcmp(type, "throttle-group")) {
        return object_add(s, args);
    }
    if (!strcmp(cmd, "object-del") && id && !iothread_named(s, id)) {
        return object_del(s, args);     /* a group, or no such object */
    }
    return NULL;
}

/* throttle_open: the file child, then the group, which must exist. */
json_object *throttle_open(sim *s, json_object *opts, const char *name, sim_node **out)
{
    json_object *err, *ref = NULL;
    sim_node *file = NULL;
    if (name && (err = node_name_check(s, name))) {
        return err;
    }
    json_object_object_get_ex(opts, "file", &ref);
    if ((err = blockdev_open_child(s, ref, &file))) {
        return err;
    }
    const char *gname = json_str(opts, "throttle-group");
    sim_throttle_group *g = gname ? group_find(s, gname) : NULL;
    if (!g) {
        node_unref(s, file);
        return gname ? qmp_error("GenericError", "Throttle group '%s' does not exist", gname)
                     : qmp_error("GenericError", "Please specify a throttle group");
    }
    sim_node *n = node_new(s, DRV_THROTTLE, name);
    n->file = file;
    n->tg = g;
    *out = n;
    return NULL;
}

/* throttle_do_leak */
static void leak(sim_throttle_group *g, uint64_t now)
{
    if (now <= g->previous_leak) {
        return;
    }
    double delta = (double)(now - g->previous_leak);
    g->previous_leak = now;
    for (int i = 0; i < B_COUNT; i++) {
        double drop = (double)g->b[i].avg * delta / 1e9;
        g->b[i].level = g->b[i].level > drop ? g->b[i].level - drop : 0;
    }
}

/* throttle_compute_wait over the buckets a request of this direction uses */
static uint64_t compute_wait(const sim_throttle_group *g, bool is_write)
{
    const int used[] = { B_BPS_TOTAL, is_write ? B_BPS_WRITE : B_BPS_READ,
                         B_OPS_TOTAL, is_write ? B_OPS_WRITE : B_OPS_READ };
    uint64_t wait = 0;
    for (size_t i = 0; i < sizeof used / sizeof *used; i++) {
        const bucket *b = &g->b[used[i]];
        if (!b->avg) {
            continue;
        }
        double size = b->max ? (double)b->max : (double)b->avg / 10;
        double extra = b->level - size;
        if (extra > 0) {
            uint64_t w = (uint64_t)(extra * 1e9 / (double)b->avg);
            wait = w > wait ? w : wait;
        }
    }
    return wait;
}

/* throttle_account */
static void account(sim_throttle_group *g, bool is_write, uint64_t bytes)
{
    double units = 1.0;
    if (g->op_size && bytes > g->op_size) {
        units = (double)bytes / (double)g->op_size;
    }
    g->b[B_BPS_TOTAL].level += (double)bytes;
    g->b[is_write ? B_BPS_WRITE : B_BPS_READ].level += (double)bytes;
    g->b[B_OPS_TOTAL].level += units;
    g->b[is_write ? B_OPS_WRITE : B_OPS_READ].level += units;
}

/* throttle_group_co_io_limits_intercept: wait until the group lets the
 * request through, then account it. The wait is virtual time; past the
 * deadline of a timed copy-before-write it makes that time out. */
void throttle_intercept(sim *s, sim_node *n, uint64_t bytes, bool is_write)
{
    sim_throttle_group *g = n->tg;
    /* a request still waiting (one a timed-out copy left behind) goes
     * first: later ones queue behind it */
    uint64_t now = s->clock_ns > g->previous_leak ? s->clock_ns : g->previous_leak;
    leak(g, now);
    uint64_t start = now + compute_wait(g, is_write);
    leak(g, start);
    account(g, is_write, bytes);
    if (s->io_deadline_ns && start > s->io_deadline_ns) {
        s->io_timed_out = true;
        s->clock_ns = s->io_deadline_ns;
    } else {
        s->clock_ns = start;
    }
}

/* ---- the driver ----------------------------------------------------------- */

static uint64_t throttle_size(sim_node *n)
{
    return node_size(n->file);
}

static uint64_t throttle_cluster_size(sim_node *n)
{
    return node_cluster_size(n->file);  /* a filter: bdrv_get_info asks the child */
}

static int throttle_read(sim *s, sim_node *n, uint64_t off, uint64_t len, sim_data *out)
{
    throttle_intercept(s, n, len, false);
    return node_read_data(s, n->file, off, len, out);
}

static int throttle_write(sim *s, sim_node *n, uint64_t off, uint64_t len, const sim_data *in)
{
    throttle_intercept(s, n, len, true);
    return node_write_data(s, n->file, off, len, in);
}

static int throttle_discard(sim *s, sim_node *n, uint64_t off, uint64_t len)
{
    throttle_intercept(s, n, len, true);
    return node_discard(s, n->file, off, len);
}

static int throttle_block_status(sim *s, sim_node *n, uint64_t off, uint64_t len, uint64_t *pnum)
{
    return node_block_status(s, n->file, off, len, pnum);
}

const sim_drv_ops drv_throttle = {
    .name = "throttle",
    .open = throttle_open,
    .size = throttle_size,
    .cluster_size = throttle_cluster_size,
    .read = throttle_read,
    .write = throttle_write,
    .discard = throttle_discard,
    .block_status = throttle_block_status,
};
