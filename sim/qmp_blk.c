/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QMP entry points of sim/blk.h's commands: their QAPI argument schemas
 * (QEMU 7.2 qapi/block-core.json, qapi/transaction.json) and dispatch.
 * sim/qmp.c hands over every command its own table does not know.
 */
#include <stdlib.h>
#include <string.h>

#include "sim/qmp.h"
#include "sim/qapi.h"

static const char *const e_snap_mode[] = { "existing", "absolute-paths", NULL };
static const char *const e_onerr[] = { "report", "ignore", "enospc", "stop", "auto", NULL };

static const field f_snapshot_sync[] = {
    { "device", F_STR, false, NULL, NULL },
    { "node-name", F_STR, false, NULL, NULL },
    { "snapshot-file", F_STR, true, NULL, NULL },
    { "snapshot-node-name", F_STR, false, NULL, NULL },
    { "format", F_STR, false, NULL, NULL },
    { "mode", F_ENUM, false, e_snap_mode, NULL },
    END,
};
static const field f_snapshot[] = {
    { "node", F_STR, true, NULL, NULL },
    { "overlay", F_STR, true, NULL, NULL },
    END,
};
static const field f_bitmap_ref[] = {
    { "node", F_STR, true, NULL, NULL }, { "name", F_STR, true, NULL, NULL }, END,
};
static const field f_commit[] = {
    { "job-id", F_STR, false, NULL, NULL },
    { "device", F_STR, true, NULL, NULL },
    { "base-node", F_STR, false, NULL, NULL },
    { "base", F_STR, false, NULL, NULL },
    { "top-node", F_STR, false, NULL, NULL },
    { "top", F_STR, false, NULL, NULL },
    { "backing-file", F_STR, false, NULL, NULL },
    { "speed", F_INT, false, NULL, NULL },
    { "on-error", F_ENUM, false, e_onerr, NULL },
    { "filter-node-name", F_STR, false, NULL, NULL },
    { "auto-finalize", F_BOOL, false, NULL, NULL },
    { "auto-dismiss", F_BOOL, false, NULL, NULL },
    END,
};
static const field f_reopen[] = {
    { "options", F_ARR, true, NULL, NULL },
    END,
};

json_object *snapshot_check_args(const char *type, json_object *data, const char *prefix)
{
    return qapi_check_fields(data, !strcmp(type, "blockdev-snapshot-sync") ? f_snapshot_sync
                                                                            : f_snapshot, prefix);
}

/* blockdev_do_action: the command as a transaction of one action */
static json_object *one_action(sim *s, const char *type, json_object *args)
{
    json_object *list = json_object_new_array(), *a = json_object_new_object();
    json_add_lit(a, "type", json_object_new_string(type));
    json_add_lit(a, "data", args ? json_object_get(args) : json_object_new_object());
    json_object_array_add(list, a);
    json_object *r = run_actions(s, list, "individual");
    json_object_put(list);
    return r;
}

json_object *blk_dispatch(sim *s, const char *cmd, json_object *args)
{
    json_object *err;
    if (!strcmp(cmd, "transaction")) {
        return qmp_transaction(s, args);
    }
    if (!strcmp(cmd, "blockdev-snapshot-sync") || !strcmp(cmd, "blockdev-snapshot")) {
        if ((err = snapshot_check_args(cmd, args, ""))) {
            return err;
        }
        return one_action(s, cmd, args);
    }
    if (!strcmp(cmd, "x-debug-block-dirty-bitmap-sha256")) {
        if ((err = qapi_check_fields(args, f_bitmap_ref, ""))) {
            return err;
        }
        return qmp_bitmap_sha256(s, args);
    }
    if (!strcmp(cmd, "block-commit")) {
        if ((err = qapi_check_fields(args, f_commit, ""))) {
            return err;
        }
        return qmp_block_commit(s, args);
    }
    if (!strcmp(cmd, "blockdev-reopen")) {
        if ((err = qapi_check_fields(args, f_reopen, ""))) {
            return err;
        }
        json_object *list = json_object_object_get(args, "options");
        for (size_t i = 0; i < json_object_array_length(list); i++) {
            char *prefix = xasprintf("options[%zu]", i);
            err = qapi_check_blockdev_options(json_object_array_get_idx(list, i), prefix);
            free(prefix);
            if (err) {
                return err;
            }
        }
        return qmp_blockdev_reopen(s, args);
    }
    return NULL;
}
