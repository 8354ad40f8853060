/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The blkdebug driver (QEMU's block/blkdebug.c): a filter that fails the
 * requests its inject-error rules match, with a state machine driven by the
 * events other drivers raise on their file child (blkdebug_event).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim/node.h"
#include "sim/qapi.h"

int blkdebug_event_name(const char *name)
{
    return qapi_enum_index(qapi_blkdebug_events, name);
}

/* An event on node n (QEMU's BLKDBG_EVENT on a child: only blkdebug reacts).
 * Inject rules of the current state become the active set; set-state rules
 * pick the next state, which takes effect after every rule was seen. */
void blkdebug_event(sim *s, sim_node *n, int event)
{
    if (!n || n->drv != DRV_BLKDEBUG || event < 0 || event >= BD_NEVENTS) {
        return;
    }
    blkdebug_break_event(n, event);
    bool injected = false;
    int new_state = n->bd_state;
    for (bd_rule *r = n->bd_rules[event]; r; r = r->next) {
        if (r->state && r->state != n->bd_state) {
            continue;
        }
        if (r->inject) {
            if (!injected) {
                for (bd_rule *a = n->bd_active; a; a = a->active_next) {
                    a->active = false;
                }
                n->bd_active = NULL;
                injected = true;
            }
            r->active = true;
            r->active_next = n->bd_active;
            n->bd_active = r;
        } else {
            new_state = r->new_state;
        }
    }
    n->bd_state = new_state;
}

static void bd_remove_rule(sim_node *n, bd_rule *rule)
{
    bd_rule **pp = &n->bd_rules[rule->event];
    while (*pp && *pp != rule) {
        pp = &(*pp)->next;
    }
    if (*pp) {
        *pp = rule->next;
    }
    if (rule->active) {
        bd_rule **ap = &n->bd_active;
        while (*ap && *ap != rule) {
            ap = &(*ap)->active_next;
        }
        if (*ap) {
            *ap = rule->active_next;
        }
    }
    free(rule);
}

/* The first active rule that matches this request fails it. */
static int bd_rule_check(sim_node *n, uint64_t off, uint64_t len, int iotype)
{
    for (bd_rule *r = n->bd_active; r; r = r->active_next) {
        bool where = r->offset < 0 ||
            (len && (uint64_t)r->offset < off + len && off <= (uint64_t)r->offset);
        if (where && (r->iotype_mask & (1u << iotype))) {
            int err = r->err;
            if (r->once) {
                bd_remove_rule(n, r);
            }
            return (int)(0u - (unsigned)err);   /* -err, defined for INT_MIN */
        }
    }
    return 0;
}

/* ---- options ------------------------------------------------------------- */

/* inject-error and set-state, already checked by QAPI */
void blkdebug_parse_rules(sim_node *n, json_object *opts)
{
    json_object *list = json_member(opts, "inject-error");
    for (size_t i = 0; list && i < json_object_array_length(list); i++) {
        json_object *r = json_object_array_get_idx(list, i);
        bd_rule *rule = calloc(1, sizeof *rule);
        rule->inject = true;
        rule->event = blkdebug_event_name(json_str(r, "event"));
        rule->state = json_member(r, "state") ? json_object_get_int(json_member(r, "state")) : 0;
        rule->err = json_member(r, "errno") ? json_object_get_int(json_member(r, "errno")) : EIO;
        rule->once = json_member(r, "once") && json_object_get_boolean(json_member(r, "once"));
        rule->immediately = json_member(r, "immediately") && json_object_get_boolean(json_member(r, "immediately"));
        int64_t sector = json_member(r, "sector") ? json_object_get_int64(json_member(r, "sector")) : -1;
        rule->offset = sector == -1 ? -1 : (int64_t)((uint64_t)sector * 512);
        const char *iot = json_str(r, "iotype");
        if (iot) {
            for (int t = 0; qapi_blkdebug_iotypes[t]; t++) {
                if (!strcmp(qapi_blkdebug_iotypes[t], iot)) {
                    rule->iotype_mask = 1u << t;
                }
            }
        } else {
            rule->iotype_mask = (1u << IOT_READ) | (1u << IOT_WRITE) | (1u << IOT_WRITE_ZEROES) |
                                (1u << IOT_DISCARD) | (1u << IOT_FLUSH);
        }
        rule->next = n->bd_rules[rule->event];  /* QEMU inserts at the head */
        n->bd_rules[rule->event] = rule;
    }
    list = json_member(opts, "set-state");
    for (size_t i = 0; list && i < json_object_array_length(list); i++) {
        json_object *r = json_object_array_get_idx(list, i);
        bd_rule *rule = calloc(1, sizeof *rule);
        rule->event = blkdebug_event_name(json_str(r, "event"));
        rule->state = json_member(r, "state") ? json_object_get_int(json_member(r, "state")) : 0;
        rule->new_state = json_object_get_int(json_member(r, "new_state"));
        rule->next = n->bd_rules[rule->event];
        n->bd_rules[rule->event] = rule;
    }
}

/* ---- the driver ----------------------------------------------------------- */

/* An empty list option survives qdict_flatten as a list that blkdebug's
 * option parsing never takes (it extracts "inject-error.N." keys), so
 * bdrv_open_inherit reports it as unsupported: the first such key in the
 * QDict's bucket order. NULL when there is none. */
static const char *bd_empty_list_option(json_object *opts)
{
    static const char *const lists[] = { "inject-error", "set-state", "take-child-perms" };
    const char *first = NULL;
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
        json_object *l = json_member(opts, lists[i]);
        if (l && json_object_is_type(l, json_type_array) && !json_object_array_length(l) &&
            (!first || qdict_bucket(lists[i]) < qdict_bucket(first))) {
            first = lists[i];
        }
    }
    return first;
}

static json_object *blkdebug_open(sim *s, json_object *opts, const char *name, sim_node **out)
{
    sim_node *child = NULL, *n = NULL;
    json_object *err = blockdev_open_file_child(s, json_member(opts, "image"), name, "blkdebug",
                                                &child);
    if (err) {
        return err;
    }
    const char *unused = bd_empty_list_option(opts);
    if (unused) {
        /* the driver opened its image first; the node is closed again */
        node_unref(s, child);
        return qmp_error("GenericError", "Block protocol 'blkdebug' doesn't support the option "
                         "'%s'", unused);
    }
    if ((err = blockdev_new_node(s, DRV_BLKDEBUG, name, child, &n))) {
        return err;
    }
    blkdebug_parse_rules(n, opts);
    json_object *take = json_member(opts, "take-child-perms");
    for (size_t i = 0; take && i < json_object_array_length(take); i++) {
        const char *perm = json_object_get_string(json_object_array_get_idx(take, i));
        n->bd_take_write = n->bd_take_write || (perm && !strcmp(perm, "write"));
    }
    *out = n;
    return NULL;
}

static uint64_t blkdebug_size(sim_node *n)
{
    return node_size(n->file);
}

static uint64_t blkdebug_cluster_size(sim_node *n)
{
    return node_cluster_size(n->file);  /* a filter: bdrv_get_info asks the child */
}

static int blkdebug_read(sim *s, sim_node *n, uint64_t off, uint64_t len, sim_data *out)
{
    int r = blkdebug_break_check(n);
    if (!r) {
        r = bd_rule_check(n, off, len, IOT_READ);
    }
    if (r && r != BD_SUSPENDED && sched_skip_injection(s)) {
        r = 0;      /* the explorer's schedule: this error does not land */
    }
    return r ? r : node_read_data(s, n->file, off, len, out);
}

static int blkdebug_write(sim *s, sim_node *n, uint64_t off, uint64_t len, const sim_data *in)
{
    int r = blkdebug_break_check(n);
    if (!r) {
        r = bd_rule_check(n, off, len, !in ? IOT_WRITE_ZEROES : IOT_WRITE);
    }
    if (r && r != BD_SUSPENDED && sched_skip_injection(s)) {
        r = 0;      /* the explorer's schedule: this error does not land */
    }
    if (!r) {
        r = node_write_data(s, n->file, off, len, in);
    }
    return r;
}

static int blkdebug_discard(sim *s, sim_node *n, uint64_t off, uint64_t len)
{
    int r = bd_rule_check(n, off, len, IOT_DISCARD);
    if (!r) {
        r = node_discard(s, n->file, off, len);
    }
    return r;
}

static int blkdebug_block_status(sim *s, sim_node *n, uint64_t off, uint64_t len, uint64_t *pnum)
{
    return node_block_status(s, n->file, off, len, pnum);
}

static int blkdebug_flush_to_disk(sim *s, sim_node *n)
{
    return bd_rule_check(n, 0, 0, IOT_FLUSH);
}

static void blkdebug_close(sim_node *n)
{
    for (int e = 0; e < BD_NEVENTS; e++) {
        while (n->bd_rules[e]) {
            bd_rule *r = n->bd_rules[e];
            n->bd_rules[e] = r->next;
            free(r);
        }
    }
}

const sim_drv_ops drv_blkdebug = {
    .name = "blkdebug",
    .open = blkdebug_open,
    .size = blkdebug_size,
    .cluster_size = blkdebug_cluster_size,
    .read = blkdebug_read,
    .write = blkdebug_write,
    .discard = blkdebug_discard,
    .block_status = blkdebug_block_status,
    .flush_to_disk = blkdebug_flush_to_disk,
    .close = blkdebug_close,
};
