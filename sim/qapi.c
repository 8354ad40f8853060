/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QAPI argument checking: the schemas of the commands and of
 * BlockdevOptions / BlockdevCreateOptions as tables, and the checker that
 * gives QEMU 7.2's error texts for missing, unexpected and mistyped members
 * and bad enum values (QEMU's generated visitors). Pure functions of the
 * arguments: nothing here looks at the machine.
 */
#include <stdlib.h>
#include <string.h>

#include "sim/qapi.h"
#include "sim/error.h"
#include "sim/util.h"



static const char *const e_sync[] = { "top", "full", "none", "incremental", "bitmap", NULL };
static const char *const e_bmode[] = { "on-success", "never", "always", NULL };
static const char *const e_onerr[] = { "report", "ignore", "enospc", "stop", "auto", NULL };
static const char *const e_discard[] = { "ignore", "unmap", NULL };
static const char *const e_dz[] = { "off", "on", "unmap", NULL };
static const char *const e_onoffauto[] = { "auto", "on", "off", NULL };
static const char *const e_aio[] = { "threads", "native", "io_uring", NULL };
/* QEMU 7.2's BlkdebugEvent names, in enum order. */
const char *const qapi_blkdebug_events[] = {
    "l1_update", "l1_grow_alloc_table", "l1_grow_write_table",
    "l1_grow_activate_table", "l2_load", "l2_update", "l2_update_compressed",
    "l2_alloc_cow_read", "l2_alloc_write", "read_aio", "read_backing_aio",
    "read_compressed", "write_aio", "write_compressed", "vmstate_load",
    "vmstate_save", "cow_read", "cow_write", "reftable_load", "reftable_grow",
    "reftable_update", "refblock_load", "refblock_update",
    "refblock_update_part", "refblock_alloc", "refblock_alloc_hookup",
    "refblock_alloc_write", "refblock_alloc_write_blocks",
    "refblock_alloc_write_table", "refblock_alloc_switch_table",
    "cluster_alloc", "cluster_alloc_bytes", "cluster_free", "flush_to_os",
    "flush_to_disk", "pwritev_rmw_head", "pwritev_rmw_after_head",
    "pwritev_rmw_tail", "pwritev_rmw_after_tail", "pwritev", "pwritev_zero",
    "pwritev_done", "empty_image_prepare", "l1_shrink_write_table",
    "l1_shrink_free_l2_clusters", "cor_write", "cluster_alloc_space", "none", NULL,
};

const char *const qapi_blkdebug_iotypes[] = { "read", "write", "write-zeroes", "discard", "flush",
                                        "block-status", NULL };
static const char *const e_prealloc[] = { "off", "metadata", "falloc", "full", NULL };
static const char *const e_q2ver[] = { "v2", "v3", NULL };
static const char *const e_compr[] = { "zlib", "zstd", NULL };
/* QEMU 7.2's BlockdevDriver */
static const char *const e_driver[] = {
    "blkdebug", "blklogwrites", "blkreplay", "blkverify", "bochs", "cloop",
    "compress", "copy-before-write", "copy-on-read", "dmg", "file",
    "snapshot-access", "ftp", "ftps", "gluster", "host_cdrom", "host_device",
    "http", "https", "io_uring", "iscsi", "luks", "nbd", "nfs",
    "null-aio", "null-co", "nvme", "nvme-io_uring", "parallels", "preallocate",
    "qcow", "qcow2", "qed", "quorum", "raw", "rbd", "replication", "ssh",
    "throttle", "vdi", "vhdx", "virtio-blk-vfio-pci", "virtio-blk-vhost-user",
    "virtio-blk-vhost-vdpa", "vmdk", "vpc", "vvfat", NULL,
};

static const field f_cache[] = {
    { "direct", F_BOOL, false, NULL, NULL }, { "no-flush", F_BOOL, false, NULL, NULL }, END,
};
static const field f_dev_base[] = {
    { "driver", F_ENUM, true, e_driver, NULL },
    { "node-name", F_STR, false, NULL, NULL },
    { "discard", F_ENUM, false, e_discard, NULL },
    { "cache", F_OBJ, false, NULL, f_cache },
    { "read-only", F_BOOL, false, NULL, NULL },
    { "auto-read-only", F_BOOL, false, NULL, NULL },
    { "force-share", F_BOOL, false, NULL, NULL },
    { "detect-zeroes", F_ENUM, false, e_dz, NULL },
    END,
};
static const field f_dev_file[] = {
    { "filename", F_STR, true, NULL, NULL },
    { "pr-manager", F_STR, false, NULL, NULL },
    { "locking", F_ENUM, false, e_onoffauto, NULL },
    { "aio", F_ENUM, false, e_aio, NULL },
    { "aio-max-batch", F_INT, false, NULL, NULL },
    { "drop-cache", F_BOOL, false, NULL, NULL },
    { "x-check-cache-dropped", F_BOOL, false, NULL, NULL },
    END,
};
static const field f_dev_qcow2[] = {
    { "file", F_REF, true, NULL, NULL },
    { "backing", F_REF_NULL, false, NULL, NULL },
    { "lazy-refcounts", F_BOOL, false, NULL, NULL },
    { "pass-discard-request", F_BOOL, false, NULL, NULL },
    { "pass-discard-snapshot", F_BOOL, false, NULL, NULL },
    { "pass-discard-other", F_BOOL, false, NULL, NULL },
    { "overlap-check", F_ANY, false, NULL, NULL },
    { "cache-size", F_INT, false, NULL, NULL },
    { "l2-cache-size", F_INT, false, NULL, NULL },
    { "l2-cache-entry-size", F_INT, false, NULL, NULL },
    { "refcount-cache-size", F_INT, false, NULL, NULL },
    { "cache-clean-interval", F_INT, false, NULL, NULL },
    { "encrypt", F_ANY, false, NULL, NULL },
    { "data-file", F_REF, false, NULL, NULL },
    END,
};
static const field f_bd_inject[] = {
    { "event", F_ENUM, true, NULL, NULL },      /* values: blkdebug_event_name */
    { "state", F_INT, false, NULL, NULL },
    { "iotype", F_ENUM, false, qapi_blkdebug_iotypes, NULL },
    { "errno", F_INT, false, NULL, NULL },
    { "sector", F_INT, false, NULL, NULL },
    { "once", F_BOOL, false, NULL, NULL },
    { "immediately", F_BOOL, false, NULL, NULL },
    END,
};
static const field f_bd_setstate[] = {
    { "event", F_ENUM, true, NULL, NULL },
    { "state", F_INT, false, NULL, NULL },
    { "new_state", F_INT, true, NULL, NULL },     /* sic: QEMU 7.2's spelling */
    END,
};
static const field f_dev_blkdebug[] = {
    { "image", F_REF, true, NULL, NULL },
    { "config", F_STR, false, NULL, NULL },
    { "align", F_INT, false, NULL, NULL },
    { "max-transfer", F_INT, false, NULL, NULL },
    { "opt-write-zero", F_INT, false, NULL, NULL },
    { "max-write-zero", F_INT, false, NULL, NULL },
    { "opt-discard", F_INT, false, NULL, NULL },
    { "max-discard", F_INT, false, NULL, NULL },
    { "inject-error", F_ARR_OBJ, false, NULL, f_bd_inject },
    { "set-state", F_ARR_OBJ, false, NULL, f_bd_setstate },
    { "take-child-perms", F_ARR, false, NULL, NULL },
    { "unshare-child-perms", F_ARR, false, NULL, NULL },
    END,
};
static const field f_dev_raw[] = {
    { "file", F_REF, true, NULL, NULL },
    { "offset", F_INT, false, NULL, NULL },
    { "size", F_INT, false, NULL, NULL },
    END,
};
static const char *const e_on_cbw_error[] = { "break-guest-write", "break-snapshot", NULL };
static const field f_bitmap_ref[] = {
    { "node", F_STR, true, NULL, NULL }, { "name", F_STR, true, NULL, NULL },
    { NULL, F_ANY, false, NULL, NULL },
};
static const field f_dev_cbw[] = {
    { "file", F_REF, true, NULL, NULL },
    { "target", F_REF, true, NULL, NULL },
    { "bitmap", F_OBJ, false, NULL, f_bitmap_ref },
    { "on-cbw-error", F_ENUM, false, e_on_cbw_error, NULL },
    { "cbw-timeout", F_UINT32, false, NULL, NULL },
    END,
};
static const field f_dev_generic_format[] = { { "file", F_REF, true, NULL, NULL }, END };
/* BlockdevOptionsGenericCOWFormat (vmdk) */
static const field f_dev_generic_cow[] = {
    { "file", F_REF, true, NULL, NULL }, { "backing", F_REF_NULL, false, NULL, NULL }, END,
};
static const field f_dev_throttle[] = {
    { "throttle-group", F_STR, true, NULL, NULL }, { "file", F_REF, true, NULL, NULL }, END,
};
static const field f_perf[] = {
    { "use-copy-range", F_BOOL, false, NULL, NULL },
    { "max-workers", F_INT, false, NULL, NULL },
    { "max-chunk", F_INT, false, NULL, NULL },
    END,
};
/* QAPI's BackupCommon, the base of BlockdevBackup and DriveBackup */
static const field f_backup_common[] = {
    { "job-id", F_STR, false, NULL, NULL },
    { "device", F_STR, true, NULL, NULL },
    { "sync", F_ENUM, true, e_sync, NULL },
    { "speed", F_INT, false, NULL, NULL },
    { "bitmap", F_STR, false, NULL, NULL },
    { "bitmap-mode", F_ENUM, false, e_bmode, NULL },
    { "compress", F_BOOL, false, NULL, NULL },
    { "on-source-error", F_ENUM, false, e_onerr, NULL },
    { "on-target-error", F_ENUM, false, e_onerr, NULL },
    { "auto-finalize", F_BOOL, false, NULL, NULL },
    { "auto-dismiss", F_BOOL, false, NULL, NULL },
    { "filter-node-name", F_STR, false, NULL, NULL },
    { "x-perf", F_OBJ, false, NULL, f_perf },
    END,
};
static const field f_backup[] = {
    BASE(f_backup_common),
    { "target", F_STR, true, NULL, NULL },
    END,
};
static const char *const e_newmode[] = { "existing", "absolute-paths", NULL };
static const field f_drive_backup[] = {
    BASE(f_backup_common),
    { "target", F_STR, true, NULL, NULL },
    { "format", F_STR, false, NULL, NULL },
    { "mode", F_ENUM, false, e_newmode, NULL },
    END,
};
static const field f_drive_mirror[] = {
    { "job-id", F_STR, false, NULL, NULL },
    { "device", F_STR, true, NULL, NULL },
    { "target", F_STR, true, NULL, NULL },
    { "format", F_STR, false, NULL, NULL },
    { "node-name", F_STR, false, NULL, NULL },
    { "replaces", F_STR, false, NULL, NULL },
    { "sync", F_ENUM, true, e_sync, NULL },
    { "mode", F_ENUM, false, e_newmode, NULL },
    { "speed", F_INT, false, NULL, NULL },
    { "granularity", F_UINT32, false, NULL, NULL },
    { "buf-size", F_INT, false, NULL, NULL },
    { "on-source-error", F_ENUM, false, e_onerr, NULL },
    { "on-target-error", F_ENUM, false, e_onerr, NULL },
    { "unmap", F_BOOL, false, NULL, NULL },
    { "copy-mode", F_STR, false, NULL, NULL },
    { "auto-finalize", F_BOOL, false, NULL, NULL },
    { "auto-dismiss", F_BOOL, false, NULL, NULL },
    END,
};
static const field f_blockdev_mirror[] = {
    { "job-id", F_STR, false, NULL, NULL },
    { "device", F_STR, true, NULL, NULL },
    { "target", F_STR, true, NULL, NULL },
    { "replaces", F_STR, false, NULL, NULL },
    { "sync", F_ENUM, true, e_sync, NULL },
    { "speed", F_INT, false, NULL, NULL },
    { "granularity", F_UINT32, false, NULL, NULL },
    { "buf-size", F_INT, false, NULL, NULL },
    { "on-source-error", F_ENUM, false, e_onerr, NULL },
    { "on-target-error", F_ENUM, false, e_onerr, NULL },
    { "filter-node-name", F_STR, false, NULL, NULL },
    { "copy-mode", F_STR, false, NULL, NULL },
    { "auto-finalize", F_BOOL, false, NULL, NULL },
    { "auto-dismiss", F_BOOL, false, NULL, NULL },
    END,
};
static const field f_block_resize[] = {
    { "device", F_STR, false, NULL, NULL },
    { "node-name", F_STR, false, NULL, NULL },
    { "size", F_INT, true, NULL, NULL },
    END,
};
static const field f_bitmap_add[] = {
    { "node", F_STR, true, NULL, NULL },
    { "name", F_STR, true, NULL, NULL },
    { "granularity", F_UINT32, false, NULL, NULL },
    { "persistent", F_BOOL, false, NULL, NULL },
    { "disabled", F_BOOL, false, NULL, NULL },
    END,
};
static const field f_bitmap[] = {
    { "node", F_STR, true, NULL, NULL }, { "name", F_STR, true, NULL, NULL }, END,
};
static const field f_bitmap_merge[] = {
    { "node", F_STR, true, NULL, NULL },
    { "target", F_STR, true, NULL, NULL },
    { "bitmaps", F_BITMAP_LIST, true, NULL, NULL },
    END,
};
static const field f_job_id[] = { { "id", F_STR, true, NULL, NULL }, END };
static const field f_block_job_cancel[] = {
    { "device", F_STR, true, NULL, NULL }, { "force", F_BOOL, false, NULL, NULL }, END,
};
static const field f_block_job_device[] = { { "device", F_STR, true, NULL, NULL }, END };
static const field f_block_job_speed[] = {
    { "device", F_STR, true, NULL, NULL }, { "speed", F_INT, true, NULL, NULL }, END,
};
static const field f_node_name[] = { { "node-name", F_STR, true, NULL, NULL }, END };
static const field f_create[] = {
    { "job-id", F_STR, true, NULL, NULL },
    { "options", F_OBJ, true, NULL, NULL },     /* a union: checked separately */
    END,
};
static const field f_create_base[] = { { "driver", F_ENUM, true, e_driver, NULL }, END };
static const field f_create_file[] = {
    { "filename", F_STR, true, NULL, NULL },
    { "size", F_INT, true, NULL, NULL },
    { "preallocation", F_ENUM, false, e_prealloc, NULL },
    { "nocow", F_BOOL, false, NULL, NULL },
    { "extent-size-hint", F_INT, false, NULL, NULL },
    END,
};
static const field f_create_qcow2[] = {
    { "file", F_REF, true, NULL, NULL },
    { "data-file", F_REF, false, NULL, NULL },
    { "data-file-raw", F_BOOL, false, NULL, NULL },
    { "size", F_INT, true, NULL, NULL },
    { "version", F_ENUM, false, e_q2ver, NULL },
    { "backing-file", F_STR, false, NULL, NULL },
    { "backing-fmt", F_ENUM, false, e_driver, NULL },
    { "encrypt", F_ANY, false, NULL, NULL },
    { "cluster-size", F_INT, false, NULL, NULL },
    { "preallocation", F_ENUM, false, e_prealloc, NULL },
    { "lazy-refcounts", F_BOOL, false, NULL, NULL },
    { "refcount-bits", F_INT, false, NULL, NULL },
    { "compression-type", F_ENUM, false, e_compr, NULL },
    { "extended-l2", F_BOOL, false, NULL, NULL },
    END,
};
static const field f_hmp[] = {
    { "command-line", F_STR, true, NULL, NULL },
    { "cpu-index", F_INT, false, NULL, NULL },
    END,
};
static const field f_qnbn[] = { { "flat", F_BOOL, false, NULL, NULL }, END };
/* The VMA backup of the Proxmox patch series (seed 003); x-ram-size is the
 * simulator's: how much guest RAM `state` saves. */
static const field f_pve_backup[] = {
    { "backup-file", F_STR, true, NULL, NULL },
    { "format", F_STR, false, NULL, NULL },
    { "config-filename", F_STR, false, NULL, NULL },
    { "devlist", F_STR, false, NULL, NULL },
    { "speed", F_INT, false, NULL, NULL },
    { "state", F_BOOL, false, NULL, NULL },
    { "x-ram-size", F_INT, false, NULL, NULL },
    END,
};
static const field f_none[] = { END };

int qapi_enum_index(const char *const *values, const char *name)
{
    for (int i = 0; name && values[i]; i++) {
        if (!strcmp(values[i], name)) {
            return i;
        }
    }
    return -1;
}

static char *member_name(const char *prefix, const char *name)
{
    return prefix && *prefix ? xasprintf("%s.%s", prefix, name) : xstrdup(name);
}

static json_object *check_fields(json_object *args, const field *fs, const char *prefix,
                                 bool blkdebug_rule);

static json_object *type_error(const char *full, const char *expected)
{
    return qmp_error("GenericError", "Invalid parameter type for '%s', expected: %s", full, expected);
}

static bool is_int(json_object *v)
{
    return json_object_is_type(v, json_type_int);
}

static json_object *check_value(json_object *v, const field *f, const char *full,
                                 bool blkdebug_rule)
{
    switch (f->type) {
    case F_STR:
        return json_object_is_type(v, json_type_string) ? NULL : type_error(full, "string");
    case F_INT:
        return is_int(v) ? NULL : type_error(full, "integer");
    case F_UINT32:
        if (!is_int(v)) {
            return type_error(full, "integer");
        }
        if (json_object_get_int64(v) < 0 || json_object_get_int64(v) > 0xffffffffll) {
            return qmp_error("GenericError", "Parameter '%s' expects uint32_t", full);
        }
        return NULL;
    case F_BOOL:
        return json_object_is_type(v, json_type_boolean) ? NULL : type_error(full, "boolean");
    case F_ENUM: {
        if (!json_object_is_type(v, json_type_string)) {
            return type_error(full, "string");
        }
        const char *val = json_object_get_string(v);
        bool ok = false;
        if (f->values) {
            for (const char *const *p = f->values; *p; p++) {
                ok = ok || !strcmp(*p, val);
            }
        } else {
            ok = qapi_enum_index(qapi_blkdebug_events, val) >= 0;
        }
        if (!ok) {
            /* QAPI's visit_type_enum names the bare member, at any depth */
            return qmp_error("GenericError", "Parameter '%s' does not accept value '%s'",
                             f->name, val);
        }
        return NULL;
    }
    case F_OBJ:
        if (!json_object_is_type(v, json_type_object)) {
            return type_error(full, "object");
        }
        return f->sub ? check_fields(v, f->sub, full, false) : NULL;
    case F_ARR_OBJ:
        if (!json_object_is_type(v, json_type_array)) {
            return type_error(full, "array");
        }
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            json_object *el = json_object_array_get_idx(v, i);
            char *el_name = xasprintf("%s[%zu]", full, i);
            json_object *err = json_object_is_type(el, json_type_object)
                ? check_fields(el, f->sub, el_name, true) : type_error(el_name, "object");
            free(el_name);
            if (err) {
                return err;
            }
        }
        return NULL;
    case F_ARR:
        return json_object_is_type(v, json_type_array) ? NULL : type_error(full, "array");
    case F_BITMAP_LIST:
        if (!json_object_is_type(v, json_type_array)) {
            return type_error(full, "array");
        }
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            json_object *el = json_object_array_get_idx(v, i);
            char *el_name = xasprintf("%s[%zu]", full, i);
            json_object *err = NULL;
            if (json_object_is_type(el, json_type_object)) {
                err = check_fields(el, f_bitmap, el_name, false);
            } else if (!json_object_is_type(el, json_type_string)) {
                err = type_error(el_name, "BlockDirtyBitmapOrStr");
            }
            free(el_name);
            if (err) {
                return err;
            }
        }
        return NULL;
    case F_REF:
        if (json_object_is_type(v, json_type_string) || json_object_is_type(v, json_type_object)) {
            return NULL;
        }
        return type_error(full, "BlockdevRef");
    case F_REF_NULL:
        if (!v || json_object_is_type(v, json_type_null) ||
            json_object_is_type(v, json_type_string) || json_object_is_type(v, json_type_object)) {
            return NULL;
        }
        return type_error(full, "BlockdevRefOrNull");
    case F_ANY:
    case F_BASE:    /* never a member's value: check_members expands it */
        return NULL;
    }
    return NULL;
}

static json_object *check_members(json_object *args, const field *fs, const char *prefix,
                                  bool blkdebug_rule)
{
    for (const field *f = fs; f->name; f++) {
        if (f->type == F_BASE) {    /* QAPI visits a base's members first */
            json_object *err = check_members(args, f->sub, prefix, blkdebug_rule);
            if (err) {
                return err;
            }
            continue;
        }
        json_object *v = NULL;
        bool present = args && json_object_object_get_ex(args, f->name, &v);
        if (!present && !f->required) {
            continue;   /* most members of most commands: nothing to name */
        }
        char *full = member_name(prefix, f->name);
        json_object *err = NULL;
        if (!present) {
            err = qmp_error("GenericError", "Parameter '%s' is missing", full);
        } else if (!(f->type == F_REF_NULL && json_object_is_type(v, json_type_null))) {
            if (json_object_is_type(v, json_type_null)) {
                err = type_error(full, f->type == F_STR ? "string" : "value");
            } else {
                err = check_value(v, f, full, blkdebug_rule);
            }
        }
        free(full);
        if (err) {
            return err;
        }
    }
    return NULL;
}

static bool member_known(const field *fs, const char *key)
{
    for (const field *f = fs; f->name; f++) {
        if (f->type == F_BASE ? member_known(f->sub, key) : !strcmp(f->name, key)) {
            return true;
        }
    }
    return false;
}

static bool field_known(const field *const *lists, const char *key)
{
    for (; *lists; lists++) {
        if (member_known(*lists, key)) {
            return true;
        }
    }
    return false;
}

static json_object *check_unexpected(json_object *args, const field *const *lists,
                                     const char *prefix)
{
    if (!args) {
        return NULL;
    }
    json_object_object_foreach(args, key, val) {
        (void)val;
        if (!field_known(lists, key)) {
            char *full = member_name(prefix, key);
            json_object *err = qmp_error("GenericError", "Parameter '%s' is unexpected", full);
            free(full);
            return err;
        }
    }
    return NULL;
}

static json_object *check_fields(json_object *args, const field *fs, const char *prefix,
                                 bool blkdebug_rule)
{
    json_object *err = check_members(args, fs, prefix, blkdebug_rule);
    if (err) {
        return err;
    }
    const field *lists[] = { fs, NULL };
    return check_unexpected(args, lists, prefix);
}

json_object *qapi_check_fields(json_object *args, const field *fs, const char *prefix)
{
    return check_fields(args, fs, prefix, false);
}

/* A flat union keyed by "driver": base members, then the variant's. */
static json_object *check_union(json_object *args, const field *base, const char *prefix,
                                const field *(*variant)(const char *driver))
{
    json_object *err = check_members(args, base, prefix, false);
    if (err) {
        return err;
    }
    const field *var = variant(json_str(args, "driver"));
    if (var) {
        err = check_members(args, var, prefix, false);
        if (err) {
            return err;
        }
    }
    const field *lists[] = { base, var ? var : f_none, NULL };
    return check_unexpected(args, lists, prefix);
}

static const field f_dev_null[] = {
    { "size", F_INT, false, NULL, NULL },
    { "latency-ns", F_INT, false, NULL, NULL },
    { "read-zeroes", F_BOOL, false, NULL, NULL },
    END,
};

/* SocketAddress, flat on "type": unix {path}, inet {host, port} (the
 * variants' other members are not modelled) */
static const char *const e_sock_type[] = { "inet", "unix", "vsock", "fd", NULL };
static const field f_sock_addr[] = {
    { "type", F_ENUM, true, e_sock_type, NULL },
    { "path", F_STR, false, NULL, NULL },
    { "host", F_STR, false, NULL, NULL },
    { "port", F_STR, false, NULL, NULL },
    END,
};
static const field f_dev_nbd[] = {
    { "server", F_OBJ, true, NULL, f_sock_addr },
    { "export", F_STR, false, NULL, NULL },
    { "tls-creds", F_STR, false, NULL, NULL },
    { "tls-hostname", F_STR, false, NULL, NULL },
    { "x-dirty-bitmap", F_STR, false, NULL, NULL },
    { "reconnect-delay", F_UINT32, false, NULL, NULL },
    { "open-timeout", F_UINT32, false, NULL, NULL },
    END,
};

static const field *dev_variant(const char *driver)
{
    if (!strcmp(driver, "nbd")) {
        return f_dev_nbd;
    }
    if (!strcmp(driver, "null-co")) {
        return f_dev_null;
    }
    if (!strcmp(driver, "file")) {
        return f_dev_file;
    }
    if (!strcmp(driver, "qcow2")) {
        return f_dev_qcow2;
    }
    if (!strcmp(driver, "blkdebug")) {
        return f_dev_blkdebug;
    }
    if (!strcmp(driver, "raw")) {
        return f_dev_raw;
    }
    if (!strcmp(driver, "copy-before-write")) {
        return f_dev_cbw;
    }
    if (!strcmp(driver, "snapshot-access")) {
        return f_dev_generic_format;
    }
    if (!strcmp(driver, "throttle")) {
        return f_dev_throttle;
    }
    if (!strcmp(driver, "vmdk")) {
        return f_dev_generic_cow;
    }
    return NULL;
}

static const field *create_variant(const char *driver)
{
    if (!strcmp(driver, "file")) {
        return f_create_file;
    }
    if (!strcmp(driver, "qcow2")) {
        return f_create_qcow2;
    }
    return NULL;
}

/* Check BlockdevOptions (recursively through inline children). */
static json_object *check_blockdev_options(json_object *opts, const char *prefix)
{
    json_object *err = check_union(opts, f_dev_base, prefix, dev_variant);
    if (err) {
        return err;
    }
    static const char *const child_keys[] = { "file", "backing", "image", "data-file", "target",
                                               NULL };
    for (const char *const *k = child_keys; *k; k++) {
        json_object *c = json_member(opts, *k);
        if (c && json_object_is_type(c, json_type_object)) {
            char *full = member_name(prefix, *k);
            err = check_blockdev_options(c, full);
            free(full);
            if (err) {
                return err;
            }
        }
    }
    return NULL;
}

json_object *qapi_check_blockdev_options(json_object *opts, const char *prefix)
{
    return check_blockdev_options(opts, prefix);
}

json_object *qapi_check_create_options(json_object *opts, const char *prefix)
{
    return check_union(opts, f_create_base, prefix, create_variant);
}

/* ---- the commands' arguments ----------------------------------------------- */

/* NULL: the command checks its arguments itself (blockdev-add's are a
 * BlockdevOptions, checked by qapi_check_blockdev_options). */
static const struct {
    const char *name;
    const field *args;
} command_args[] = {
    { "qmp_capabilities", NULL },
    { "query-named-block-nodes", f_qnbn },
    { "query-block", f_none },
    { "query-jobs", f_none },
    { "query-block-jobs", f_none },
    { "blockdev-add", NULL },
    { "blockdev-del", f_node_name },
    { "blockdev-create", f_create },
    { "blockdev-backup", f_backup },
    { "drive-backup", f_drive_backup },
    { "drive-mirror", f_drive_mirror },
    { "blockdev-mirror", f_blockdev_mirror },
    { "block_resize", f_block_resize },
    { "stop", f_none },
    { "cont", f_none },
    { "block-dirty-bitmap-add", f_bitmap_add },
    { "block-dirty-bitmap-remove", f_bitmap },
    { "block-dirty-bitmap-clear", f_bitmap },
    { "block-dirty-bitmap-enable", f_bitmap },
    { "block-dirty-bitmap-disable", f_bitmap },
    { "block-dirty-bitmap-merge", f_bitmap_merge },
    { "job-finalize", f_job_id },
    { "job-cancel", f_job_id },
    { "job-dismiss", f_job_id },
    { "job-complete", f_job_id },
    { "job-pause", f_job_id },
    { "job-resume", f_job_id },
    { "block-job-cancel", f_block_job_cancel },
    { "block-job-pause", f_block_job_device },
    { "block-job-resume", f_block_job_device },
    { "block-job-complete", f_block_job_device },
    { "block-job-set-speed", f_block_job_speed },
    { "block-job-finalize", f_job_id },
    { "block-job-dismiss", f_job_id },
    { "human-monitor-command", f_hmp },
    { "backup", f_pve_backup },
    { "query-backup", f_none },
    { "backup-cancel", f_none },
};

bool qapi_command_known(const char *cmd)
{
    for (size_t i = 0; i < sizeof command_args / sizeof command_args[0]; i++) {
        if (!strcmp(command_args[i].name, cmd)) {
            return true;
        }
    }
    return false;
}

json_object *qapi_check_command(const char *cmd, json_object *args, const char *prefix)
{
    for (size_t i = 0; i < sizeof command_args / sizeof command_args[0]; i++) {
        if (!strcmp(command_args[i].name, cmd)) {
            return command_args[i].args ? check_fields(args, command_args[i].args, prefix, false)
                                        : NULL;
        }
    }
    return NULL;
}
