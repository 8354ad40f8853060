/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The `transaction` command: QEMU 7.2 blockdev.c qmp_transaction and its
 * actions. Every action is prepared in order; the first failure aborts
 * every action prepared so far (the failing one included), in reverse
 * order, and the transaction replies with that failure; otherwise every
 * action commits. Then every action is cleaned. Actions other than the
 * backups refuse completion-mode "grouped" in their prepare
 * (action_check_completion_mode).
 */
#include <stdlib.h>
#include <string.h>

#include "sim/qmp.h"
#include "sim/qapi.h"
#include "sim/qcow2_bitmap.h"

/* TransactionActionKind values QEMU 7.2 accepts, and the command whose
 * arguments each action's data has (NULL: its own type). */
static const char *const e_action[] = {
    "abort", "block-dirty-bitmap-add", "block-dirty-bitmap-remove",
    "block-dirty-bitmap-clear", "block-dirty-bitmap-enable",
    "block-dirty-bitmap-disable", "block-dirty-bitmap-merge", "blockdev-backup",
    "blockdev-snapshot", "blockdev-snapshot-internal-sync",
    "blockdev-snapshot-sync", "drive-backup", NULL,
};
static const char *const e_completion[] = { "individual", "grouped", NULL };
static const field f_props[] = {
    { "completion-mode", F_ENUM, false, e_completion, NULL }, END,
};
static const field f_action[] = {
    { "type", F_ENUM, true, e_action, NULL },
    { "data", F_OBJ, true, NULL, NULL },
    END,
};
static const field f_transaction[] = {
    { "actions", F_ARR_OBJ, true, NULL, f_action },
    { "properties", F_OBJ, false, NULL, f_props },
    END,
};

typedef struct action {
    const char *type;
    json_object *data;
    /* bitmaps */
    bool prepared;
    sim_node *node;
    sim_bitmap *bitmap;
    cl_bitmap *backup;          /* contents before clear / merge */
    bool was_enabled;
    /* snapshots */
    snap_state snap;
    /* backups */
    char *job_id;
} action;

static bool is_error(json_object *reply)
{
    return json_object_object_get_ex(reply, "error", NULL);
}

static cl_bitmap *bitmap_dup(const cl_bitmap *bm)
{
    cl_bitmap *c = cl_bitmap_new(cl_bitmap_size(bm), cl_bitmap_granularity(bm), NULL);
    cl_bitmap_copy(c, bm, NULL);
    return c;
}

/* ---- prepare / commit / abort per action kind ---------------------------- */

static json_object *prepare(sim *s, action *a, const char *mode_err, sim_txn *txn)
{
    const char *t = a->type;
    json_object *err;
    if (!strcmp(t, "abort")) {
        return qmp_error("GenericError", "Transaction aborted using Abort action");
    }
    if (!strcmp(t, "blockdev-backup") || !strcmp(t, "drive-backup")) {
        /* the job is made now; QEMU starts it at commit, which the virtual
         * clock cannot tell apart: nothing runs before the reply */
        s->defer_job_start = true;
        json_object *r = sim_dispatch(s, t, a->data);
        s->defer_job_start = false;
        if (is_error(r)) {
            return r;
        }
        json_object_put(r);
        const char *id = json_str(a->data, "job-id");
        a->job_id = xstrdup(id ? id : json_str(a->data, "device"));
        sim_job *j = job_find(s, a->job_id);
        if (j && txn) {
            job_txn_add(txn, j);    /* completion-mode grouped */
        }
        return NULL;
    }
    if (!strcmp(t, "blockdev-snapshot-sync") || !strcmp(t, "blockdev-snapshot")) {
        return snapshot_prepare(s, a->data, !strcmp(t, "blockdev-snapshot-sync"), mode_err,
                                &a->snap);
    }
    if (!strcmp(t, "blockdev-snapshot-internal-sync")) {
        if (mode_err) {
            return qmp_error("GenericError", "%s", mode_err);
        }
        return qmp_error("GenericError", "the simulator does not model internal snapshots");
    }
    /* the bitmap actions */
    if (mode_err) {
        return qmp_error("GenericError", "%s", mode_err);
    }
    if (!strcmp(t, "block-dirty-bitmap-add")) {
        json_object *r = sim_dispatch(s, t, a->data);
        if (is_error(r)) {
            return r;
        }
        json_object_put(r);
        a->prepared = true;
        return NULL;
    }
    if (!strcmp(t, "block-dirty-bitmap-merge")) {
        /* block_dirty_bitmap_merge keeps a backup of the target */
        sim_node *n;
        sim_bitmap *b;
        if ((err = bitmap_lookup_qmp(s, json_str(a->data, "node"), json_str(a->data, "target"), &n, &b))) {
            return err;
        }
        cl_bitmap *backup = bitmap_dup(b->bm);
        json_object *r = sim_dispatch(s, t, a->data);
        if (is_error(r)) {
            cl_bitmap_free(backup);
            return r;
        }
        json_object_put(r);
        a->bitmap = b;
        a->backup = backup;
        return NULL;
    }
    sim_node *n;
    sim_bitmap *b;
    if ((err = bitmap_lookup_qmp(s, json_str(a->data, "node"), json_str(a->data, "name"), &n, &b))) {
        return err;
    }
    if (!strcmp(t, "block-dirty-bitmap-clear")) {
        if ((err = bitmap_check(n, b, BITMAP_CHECK_DEFAULT))) {
            return err;
        }
        a->bitmap = b;
        a->backup = bitmap_dup(b->bm);
        cl_bitmap_clear(b->bm);
        return NULL;
    }
    if (!strcmp(t, "block-dirty-bitmap-enable") || !strcmp(t, "block-dirty-bitmap-disable")) {
        if ((err = bitmap_check(n, b, BITMAP_CHECK_ALLOW_RO))) {
            return err;
        }
        a->bitmap = b;
        a->was_enabled = cl_bitmap_enabled(b->bm);
        cl_bitmap_set_enabled(b->bm, !strcmp(t, "block-dirty-bitmap-enable"), NULL);
        return NULL;
    }
    /* block-dirty-bitmap-remove: block_dirty_bitmap_remove(release=false)
     * removes a persistent bitmap from the image now; the bitmap stays,
     * busy and not to be stored, until commit releases it */
    if ((err = bitmap_check(n, b, BITMAP_CHECK_BUSY | BITMAP_CHECK_RO))) {
        return err;
    }
    if (b->persistent && n->drv == DRV_QCOW2) {
        q2_saved_remove(node_image_file(n), n->q, b->name);
    }
    a->node = n;
    a->bitmap = b;
    b->txn_busy = true;
    return NULL;
}

static void commit(sim *s, action *a)
{
    const char *t = a->type;
    if (!strcmp(t, "block-dirty-bitmap-remove")) {
        a->bitmap->txn_busy = false;
        bitmap_list_remove(a->node, a->bitmap);
    } else if (!strcmp(t, "blockdev-snapshot-sync") || !strcmp(t, "blockdev-snapshot")) {
        snapshot_commit(s, &a->snap);
    } else if (a->job_id) {
        /* blockdev_backup_commit: job_start */
        sim_job *j = job_find(s, a->job_id);
        if (j) {
            job_start_deferred(s, j);
        }
    }
}

static void abort_action(sim *s, action *a)
{
    const char *t = a->type;
    if (!strcmp(t, "block-dirty-bitmap-add")) {
        if (a->prepared) {
            json_object *args = json_object_new_object();
            json_add_lit(args, "node", json_object_get(json_object_object_get(a->data, "node")));
            json_add_lit(args, "name", json_object_get(json_object_object_get(a->data, "name")));
            json_object_put(sim_dispatch(s, "block-dirty-bitmap-remove", args));
            json_object_put(args);
        }
    } else if (!strcmp(t, "block-dirty-bitmap-clear") || !strcmp(t, "block-dirty-bitmap-merge")) {
        if (a->backup) {
            cl_bitmap_copy(a->bitmap->bm, a->backup, NULL);
        }
    } else if (!strcmp(t, "block-dirty-bitmap-enable") || !strcmp(t, "block-dirty-bitmap-disable")) {
        if (a->bitmap) {
            cl_bitmap_set_enabled(a->bitmap->bm, a->was_enabled, NULL);
        }
    } else if (!strcmp(t, "block-dirty-bitmap-remove")) {
        if (a->bitmap) {
            a->bitmap->txn_busy = false;
        }
    } else if (!strcmp(t, "blockdev-snapshot-sync") || !strcmp(t, "blockdev-snapshot")) {
        snapshot_abort(s, &a->snap);
    } else if (a->job_id) {
        /* blockdev_backup_abort: job_cancel_sync(job, force) of a job that
         * never started */
        sim_job *j = job_find(s, a->job_id);
        if (j && j->unstarted) {
            job_cancel_unstarted(s, j);
        }
    }
}

static void clean(sim *s, action *a)
{
    if (a->job_id) {
        /* blockdev_backup_clean: the drained section ends, the job runs */
        sim_job *j = job_find(s, a->job_id);
        if (j) {
            job_resume_deferred(s, j);
        }
    }
    if (!strcmp(a->type, "blockdev-snapshot-sync") || !strcmp(a->type, "blockdev-snapshot")) {
        snapshot_clean(s, &a->snap);
    }
    cl_bitmap_free(a->backup);
    free(a->job_id);
}

/* ---- the command ------------------------------------------------------------ */

/* The checks QAPI makes of the whole command before anything runs. */
static json_object *check_args(json_object *args)
{
    json_object *err = qapi_check_fields(args, f_transaction, "");
    if (err) {
        return err;
    }
    json_object *list = json_object_object_get(args, "actions");
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        json_object *el = json_object_array_get_idx(list, i);
        const char *type = json_str(el, "type");
        json_object *data = json_object_object_get(el, "data");
        char *prefix = xasprintf("actions[%zu].data", i);
        if (!strcmp(type, "blockdev-snapshot-sync") || !strcmp(type, "blockdev-snapshot")) {
            err = snapshot_check_args(type, data, prefix);
        } else if (strcmp(type, "abort")) {
            err = qapi_check_command(type, data, prefix);
        } else {
            static const field f_empty[] = { END };
            err = qapi_check_fields(data, f_empty, prefix);
        }
        free(prefix);
        if (err) {
            return err;
        }
    }
    return NULL;
}

json_object *run_actions(sim *s, json_object *list, const char *mode)
{
    size_t n = json_object_array_length(list);
    action *acts = calloc(n ? n : 1, sizeof *acts);
    char *mode_err = NULL;
    json_object *err = NULL;
    size_t prepared = 0;
    /* grouped: the backup jobs share a JobTxn */
    sim_txn *txn = strcmp(mode, "individual") ? job_txn_new() : NULL;
    for (size_t i = 0; i < n && !err; i++) {
        json_object *el = json_object_array_get_idx(list, i);
        acts[i].type = json_str(el, "type");
        acts[i].data = json_object_object_get(el, "data");
        free(mode_err);
        mode_err = strcmp(mode, "individual")
            ? xasprintf("Action '%s' does not support Transaction property completion-mode = %s",
                        acts[i].type, mode)
            : NULL;
        prepared = i + 1;
        err = prepare(s, &acts[i], mode_err, txn);
    }
    free(mode_err);
    if (err) {
        for (size_t i = prepared; i-- > 0;) {
            abort_action(s, &acts[i]);
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            commit(s, &acts[i]);
        }
    }
    for (size_t i = 0; i < prepared; i++) {
        clean(s, &acts[i]);
    }
    free(acts);
    job_txn_unref(txn);
    return err ? err : qmp_ok();
}

json_object *qmp_transaction(sim *s, json_object *args)
{
    json_object *err = check_args(args);
    if (err) {
        return err;
    }
    json_object *props = json_object_object_get(args, "properties");
    const char *mode = json_str(props, "completion-mode");
    return run_actions(s, json_object_object_get(args, "actions"), mode ? mode : "individual");
}
