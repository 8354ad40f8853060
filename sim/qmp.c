/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QMP: argument checking with QEMU's QAPI error texts, command dispatch,
 * node and bitmap commands, and HMP's qemu-io.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim_int.h"
#include "sim/qapi.h"
#include "sim/blk.h"
#include "sim/bitmap_extra.h"
#include "sim/qcow2_bitmap.h"

/* ---- helpers -------------------------------------------------------------- */

char *xstrdup(const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d) {
        abort();
    }
    return d;
}

char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *out = NULL;
    va_start(ap, fmt);
    if (vasprintf(&out, fmt, ap) < 0) {
        abort();
    }
    va_end(ap);
    return out;
}

json_object *qmp_error(const char *cls, const char *fmt, ...)
{
    va_list ap;
    char *desc = NULL;
    va_start(ap, fmt);
    if (vasprintf(&desc, fmt, ap) < 0) {
        abort();
    }
    va_end(ap);
    json_object *e = json_object_new_object();
    json_object_object_add(e, "class", json_object_new_string(cls));
    json_object_object_add(e, "desc", json_object_new_string(desc));
    free(desc);
    json_object *r = json_object_new_object();
    json_object_object_add(r, "error", e);
    return r;
}

static json_object *qmp_return(json_object *v)
{
    json_object *r = json_object_new_object();
    json_object_object_add(r, "return", v);
    return r;
}

json_object *qmp_ok(void)
{
    return qmp_return(json_object_new_object());
}

static const char *reply_desc(json_object *reply)
{
    json_object *e = NULL, *d = NULL;
    json_object_object_get_ex(reply, "error", &e);
    json_object_object_get_ex(e, "desc", &d);
    return d ? json_object_get_string(d) : "";
}

static const char *jstr(json_object *o, const char *key)
{
    json_object *v;
    if (o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)) {
        return json_object_get_string(v);
    }
    return NULL;
}

static json_object *jget(json_object *o, const char *key)
{
    json_object *v = NULL;
    if (o) {
        json_object_object_get_ex(o, key, &v);
    }
    return v;
}

/* ---- QAPI-style argument schemas ----------------------------------------- */


static const char *const e_sync[] = { "top", "full", "none", "incremental", "bitmap", NULL };
static const char *const e_bmode[] = { "on-success", "never", "always", NULL };
static const char *const e_onerr[] = { "report", "ignore", "enospc", "stop", "auto", NULL };
static const char *const e_discard[] = { "ignore", "unmap", NULL };
static const char *const e_dz[] = { "off", "on", "unmap", NULL };
static const char *const e_onoffauto[] = { "auto", "on", "off", NULL };
static const char *const e_aio[] = { "threads", "native", "io_uring", NULL };
static const char *const e_iotype[] = { "read", "write", "write-zeroes", "discard", "flush",
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
    { "iotype", F_ENUM, false, e_iotype, NULL },
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
static const field f_dev_throttle[] = {
    { "throttle-group", F_STR, true, NULL, NULL }, { "file", F_REF, true, NULL, NULL }, END,
};
static const field f_perf[] = {
    { "use-copy-range", F_BOOL, false, NULL, NULL },
    { "max-workers", F_INT, false, NULL, NULL },
    { "max-chunk", F_INT, false, NULL, NULL },
    END,
};
static const field f_backup[] = {
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
    { "target", F_STR, true, NULL, NULL },
    END,
};
static const char *const e_newmode[] = { "existing", "absolute-paths", NULL };
static const field f_drive_backup[] = {
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
            ok = blkdebug_event_name(val) >= 0;
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
        return NULL;
    }
    return NULL;
}

static json_object *check_members(json_object *args, const field *fs, const char *prefix,
                                  bool blkdebug_rule)
{
    for (const field *f = fs; f->name; f++) {
        json_object *v = NULL;
        bool present = args && json_object_object_get_ex(args, f->name, &v);
        char *full = member_name(prefix, f->name);
        json_object *err = NULL;
        if (!present) {
            if (f->required) {
                err = qmp_error("GenericError", "Parameter '%s' is missing", full);
            }
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

static bool field_known(const field *const *lists, const char *key)
{
    for (; *lists; lists++) {
        for (const field *f = *lists; f->name; f++) {
            if (!strcmp(f->name, key)) {
                return true;
            }
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
    const field *var = variant(jstr(args, "driver"));
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

static const field *dev_variant(const char *driver)
{
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
        json_object *c = jget(opts, *k);
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

/* ---- blockdev-add / blockdev-del --------------------------------------------- */

static bool write_unshared_by(sim *s, sim_node *n, sim_node **who, const char **role);
static json_object *open_child_of(sim *s, json_object *ref, sim_node **out,
                                  const char *parent_name, const char *parent_drv);

static json_object *open_child(sim *s, json_object *ref, sim_node **out)
{
    return open_child_of(s, ref, out, NULL, NULL);
}

json_object *blockdev_open_child(sim *s, json_object *ref, sim_node **out)
{
    return open_child(s, ref, out);
}

/* A format node takes write and resize on its file child and shares
 * neither: a second format node on the same file child conflicts. */
static json_object *open_child_of(sim *s, json_object *ref, sim_node **out,
                                  const char *parent_name, const char *parent_drv)
{
    if (json_object_is_type(ref, json_type_string)) {
        const char *name = json_object_get_string(ref);
        sim_node *c = node_find(s, name);
        if (!c) {
            return qmp_error("GenericError", "Cannot find device='%s' nor node-name='%s'", name, name);
        }
        for (sim_node *p = s->nodes; parent_drv && p; p = p->next) {
            if (p->file == c && p->drv == DRV_CBW && cbw_unshares_write(s, p) &&
                !strcmp(parent_drv, "qcow2")) {
                /* a copy-before-write filter with no writer above it needs
                 * nothing of its child: only the new node's needs clash
                 * (measured) */
                return qmp_error("GenericError",
                                 "Permission conflict on node '%s': permissions 'write, resize' are "
                                 "both required by node '%s' (uses node '%s' as 'file' child) and "
                                 "unshared by node '%s' (uses node '%s' as 'file' child).",
                                 c->name, parent_name ? parent_name : "", c->name, p->name, c->name);
            }
            if (p->file == c && (p->drv == DRV_QCOW2 ||
                                 (p->drv == DRV_CBW && cbw_unshares_write(s, p))) &&
                !strcmp(parent_drv, "qcow2")) {
                return qmp_error("GenericError",
                                 "Permission conflict on node '%s': permissions 'write, resize' are "
                                 "both required by node '%s' (uses node '%s' as 'file' child) and "
                                 "unshared by node '%s' (uses node '%s' as 'file' child).",
                                 c->name, p->name, c->name, parent_name ? parent_name : "", c->name);
            }
        }
        c->parents++;
        *out = c;
        return NULL;
    }
    json_object *err = blockdev_open(s, ref, NULL, out, false);
    if (!err) {
        (*out)->parents++;
    }
    return err;
}

static json_object *open_backing_file(sim *s, sim_node *n)
{
    sim_qcow2 *q = n->q;
    char *path = path_relative_to(node_filename(n), q->backing);
    sim_file *f = fs_lookup(s, path);
    json_object *err = NULL;
    if (!f) {
        err = qmp_error("GenericError",
                        "Could not open backing file: Could not open '%s': No such file or directory",
                        path);
        free(path);
        return err;
    }
    sim_node *fn = node_new(s, DRV_FILE, NULL);
    fn->f = f;
    sim_node *b = fn;
    if (f->qcow2 && !(q->backing_fmt && strcmp(q->backing_fmt, "qcow2"))) {
        b = node_new(s, DRV_QCOW2, NULL);
        b->file = fn;
        fn->parents++;
        b->q = f->qcow2;
        q2_load_bitmaps(b);
        if (b->q->backing) {
            err = open_backing_file(s, b);
        }
    }
    b->parents++;
    n->backing = b;
    free(path);
    return err;
}

static json_object *parse_blkdebug_rules(sim_node *n, json_object *opts)
{
    json_object *list = jget(opts, "inject-error");
    for (size_t i = 0; list && i < json_object_array_length(list); i++) {
        json_object *r = json_object_array_get_idx(list, i);
        bd_rule *rule = calloc(1, sizeof *rule);
        rule->inject = true;
        rule->event = blkdebug_event_name(jstr(r, "event"));
        rule->state = jget(r, "state") ? json_object_get_int(jget(r, "state")) : 0;
        rule->err = jget(r, "errno") ? json_object_get_int(jget(r, "errno")) : EIO;
        rule->once = jget(r, "once") && json_object_get_boolean(jget(r, "once"));
        rule->immediately = jget(r, "immediately") && json_object_get_boolean(jget(r, "immediately"));
        int64_t sector = jget(r, "sector") ? json_object_get_int64(jget(r, "sector")) : -1;
        rule->offset = sector == -1 ? -1 : (int64_t)((uint64_t)sector * 512);
        const char *iot = jstr(r, "iotype");
        if (iot) {
            for (int t = 0; e_iotype[t]; t++) {
                if (!strcmp(e_iotype[t], iot)) {
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
    list = jget(opts, "set-state");
    for (size_t i = 0; list && i < json_object_array_length(list); i++) {
        json_object *r = json_object_array_get_idx(list, i);
        bd_rule *rule = calloc(1, sizeof *rule);
        rule->event = blkdebug_event_name(jstr(r, "event"));
        rule->state = jget(r, "state") ? json_object_get_int(jget(r, "state")) : 0;
        rule->new_state = json_object_get_int(jget(r, "new_state"));
        rule->next = n->bd_rules[rule->event];
        n->bd_rules[rule->event] = rule;
    }
    return NULL;
}

static json_object *check_node_name(sim *s, const char *name)
{
    if (!id_wellformed(name)) {
        return qmp_error("GenericError", "Invalid node-name: '%s'", name);
    }
    if (node_find(s, name)) {
        return qmp_error("GenericError", "Duplicate nodes with node-name='%s'", name);
    }
    if (strlen(name) >= 32) {
        return qmp_error("GenericError", "Node name too long");
    }
    return NULL;
}

json_object *node_name_check(sim *s, const char *name)
{
    return check_node_name(s, name);
}

/* Open a node from (already checked) BlockdevOptions: children first, as
 * QEMU names them before their parent. */
json_object *blockdev_open(sim *s, json_object *opts, const char *qualifier,
                           sim_node **out, bool top)
{
    const char *driver = jstr(opts, "driver");
    const char *name = jstr(opts, "node-name");
    json_object *err = NULL;
    sim_node *child = NULL, *n = NULL;
    (void)qualifier;

    if (top && !name) {
        return qmp_error("GenericError", "'node-name' must be specified for the root node");
    }
    if (!strcmp(driver, "file")) {
        const char *path = jstr(opts, "filename");
        sim_file *f = fs_lookup(s, path);
        if (!f) {
            return qmp_error("GenericError", "Could not open '%s': No such file or directory", path);
        }
        if (name && (err = check_node_name(s, name))) {
            return err;
        }
        n = node_new(s, DRV_FILE, name);
        n->f = f;
    } else if (!strcmp(driver, "null-co")) {
        /* null-co: a size (default 1 GiB) and nothing behind it */
        json_object *sz = jget(opts, "size");
        if (sz && json_object_get_int64(sz) < 0) {
            return qmp_error("GenericError", "Parameter 'size' expects a non-negative number "
                             "below 2^64");
        }
        if (name && (err = check_node_name(s, name))) {
            return err;
        }
        n = node_new(s, DRV_NULL, name);
        n->raw_has_size = true;
        n->raw_size = sz ? (uint64_t)json_object_get_int64(sz) : 1ull << 30;
    } else if (!strcmp(driver, "qcow2") || !strcmp(driver, "blkdebug") || !strcmp(driver, "raw")) {
        bool is_bd = !strcmp(driver, "blkdebug");
        if ((err = open_child_of(s, jget(opts, is_bd ? "image" : "file"), &child, name, driver))) {
            return err;
        }
        if (!strcmp(driver, "qcow2")) {
            sim_node *fn = child;
            while (fn && fn->drv != DRV_FILE) {
                fn = fn->file;
            }
            if (!fn || !fn->f->qcow2) {
                node_unref(s, child);
                return qmp_error("GenericError", "Image is not in qcow2 format");
            }
        }
        if (name && (err = check_node_name(s, name))) {
            node_unref(s, child);
            return err;
        }
        n = node_new(s, is_bd ? DRV_BLKDEBUG : !strcmp(driver, "raw") ? DRV_RAW : DRV_QCOW2, name);
        n->file = child;
        if (n->drv == DRV_QCOW2) {
            sim_node *fn = child;
            while (fn->drv != DRV_FILE) {
                fn = fn->file;
            }
            n->q = fn->f->qcow2;
            json_object *backing = NULL;
            bool has_backing = json_object_object_get_ex(opts, "backing", &backing);
            if (backing) {
                err = open_child(s, backing, &n->backing);
                if (err) {
                    json_object *e = err;
                    err = qmp_error("GenericError", "Could not open backing file: %s", reply_desc(e));
                    json_object_put(e);
                }
            } else if (!has_backing && n->q->backing) {
                err = open_backing_file(s, n);
            }
            if (err) {
                n->monitor_owned = false;
                n->parents = 1;
                node_unref(s, n);
                return err;
            }
            q2_load_bitmaps(n);
        } else if (is_bd) {
            parse_blkdebug_rules(n, opts);
            json_object *take = jget(opts, "take-child-perms");
            for (size_t i = 0; take && i < json_object_array_length(take); i++) {
                const char *perm = json_object_get_string(json_object_array_get_idx(take, i));
                n->bd_take_write = n->bd_take_write || (perm && !strcmp(perm, "write"));
            }
        } else {
            /* raw_read_options / raw_apply_options, in QEMU's order */
            int64_t off = jget(opts, "offset") ? json_object_get_int64(jget(opts, "offset")) : 0;
            int64_t sz = jget(opts, "size") ? json_object_get_int64(jget(opts, "size")) : 0;
            uint64_t real = node_size(child);
            if (off < 0 || sz < 0) {
                err = qmp_error("GenericError", "Parameter '%s' expects a non-negative number "
                                "below 2^64", off < 0 ? "offset" : "size");
            } else if ((uint64_t)off > real) {
                err = qmp_error("GenericError", "Offset (%llu) cannot be greater than size of "
                                "the containing file (%llu)", (unsigned long long)off,
                                (unsigned long long)real);
            } else if (jget(opts, "size") && real - (uint64_t)off < (uint64_t)sz) {
                err = qmp_error("GenericError", "The sum of offset (%llu) and size (%llu) has to "
                                "be smaller or equal to the  actual size of the containing file "
                                "(%llu)", (unsigned long long)off, (unsigned long long)sz,
                                (unsigned long long)real);
            } else if (sz % 512) {
                err = qmp_error("GenericError", "Specified size is not multiple of 512");
            }
            if (err) {
                n->monitor_owned = false;
                n->parents = 1;
                node_unref(s, n);
                return err;
            }
            n->raw_offset = (uint64_t)off;
            n->raw_has_size = jget(opts, "size") != NULL;
            n->raw_size = n->raw_has_size ? (uint64_t)json_object_get_int64(jget(opts, "size")) : 0;
        }
    } else if (!strcmp(driver, "copy-before-write")) {
        err = cbw_open(s, opts, name, &n);
    } else if (!strcmp(driver, "snapshot-access")) {
        err = snapshot_access_open(s, opts, name, &n);
    } else if (!strcmp(driver, "throttle")) {
        err = throttle_open(s, opts, name, &n);
    } else {
        return qmp_error("GenericError", "Driver '%s' is not modelled by the simulator", driver);
    }
    if (err) {
        return err;
    }
    const char *discard = jstr(opts, "discard");
    n->discard_unmap = discard ? !strcmp(discard, "unmap") : !top;
    *out = n;
    return NULL;
}

static json_object *qmp_blockdev_add(sim *s, json_object *args)
{
    sim_node *n;
    json_object *err = check_blockdev_options(args, "");
    if (err) {
        return err;
    }
    if ((err = blockdev_open(s, args, NULL, &n, true))) {
        return err;
    }
    n->monitor_owned = true;
    n->read_only = jget(args, "read-only") && json_object_get_boolean(jget(args, "read-only"));
    return qmp_ok();
}

static bool node_has_parent(sim *s, sim_node *n)
{
    for (sim_node *m = s->nodes; m; m = m->next) {
        if (m->file == n || m->backing == n) {
            return true;
        }
    }
    return false;
}

static json_object *qmp_blockdev_del(sim *s, json_object *args)
{
    const char *name = jstr(args, "node-name");
    sim_node *n = node_find(s, name);
    if (!n) {
        return qmp_error("GenericError", "Failed to find node with node-name='%s'", name);
    }
    if (n->busy_job || pve_node_busy(s, n)) {
        return qmp_error("GenericError", "Node '%s' is busy: block device is in use by block job: %s",
                         name, !n->busy_job || n->busy_job->type == JOB_BACKUP ? "backup" : "create");
    }
    if (!n->monitor_owned) {
        return qmp_error("GenericError", "Node %s is not owned by the monitor", name);
    }
    if (node_has_parent(s, n)) {
        return qmp_error("GenericError", "Block device %s is in use", name);
    }
    /* QEMU's bdrv_close flushes the node before closing it, and with it the
     * children it may write: deleting a copy-before-write filter flushes its
     * source, which reaches a blkdebug below as flush_to_disk when the source
     * was written since its last flush (difftest finding,
     * cases/blockdev-del-flush.case) */
    node_flush(s, n);
    n->monitor_owned = false;
    n->parents = 1;
    node_unref(s, n);
    return qmp_ok();
}

static json_object *qmp_query_named_block_nodes(sim *s)
{
    json_object *list = json_object_new_array();
    size_t count = 0;
    for (sim_node *n = s->nodes; n; n = n->next) {
        count++;
    }
    /* QEMU prepends while walking its node list: newest node first */
    for (size_t i = count; i > 0; i--) {
        sim_node *n = s->nodes;
        for (size_t k = 1; k < i; k++) {
            n = n->next;
        }
        json_object_array_add(list, node_info(s, n));
    }
    return qmp_return(list);
}

/* ---- dirty bitmaps --------------------------------------------------------- */

static json_object *bitmap_lookup(sim *s, json_object *args, const char *name_key,
                                  sim_node **node, sim_bitmap **bm)
{
    const char *node_name = jstr(args, "node");
    const char *name = jstr(args, name_key);
    *node = blk_lookup_bs(s, node_name);
    if (!*node) {
        return qmp_error("GenericError", "Node '%s' not found", node_name);
    }
    *bm = bitmap_find(*node, name);
    if (!*bm) {
        return qmp_error("GenericError", "Dirty bitmap '%s' not found", name);
    }
    return NULL;
}

static json_object *qmp_bitmap_add(sim *s, json_object *args)
{
    const char *node_name = jstr(args, "node");
    const char *name = jstr(args, "name");
    sim_node *n = blk_lookup_bs(s, node_name);
    if (!n) {
        return qmp_error("GenericError", "Cannot find device='%s' nor node-name='%s'",
                         node_name, node_name);
    }
    if (!*name) {
        return qmp_error("GenericError", "Bitmap name cannot be empty");
    }
    uint64_t gran;
    json_object *g = jget(args, "granularity");
    if (g) {
        gran = (uint64_t)json_object_get_int64(g);
        if (gran < 512 || (gran & (gran - 1))) {
            return qmp_error("GenericError", "Granularity must be power of 2 and at least 512");
        }
    } else {
        /* QEMU's default: the image's cluster size, clamped to [4K, 64K] */
        uint64_t cs = node_cluster_size(n);
        gran = cs ? cs : BITMAP_DEFAULT_GRAN_MAX;
        if (gran < BITMAP_DEFAULT_GRAN_MIN) {
            gran = BITMAP_DEFAULT_GRAN_MIN;
        }
        if (gran > BITMAP_DEFAULT_GRAN_MAX) {
            gran = BITMAP_DEFAULT_GRAN_MAX;
        }
    }
    bool persistent = jget(args, "persistent") && json_object_get_boolean(jget(args, "persistent"));
    bool disabled = jget(args, "disabled") && json_object_get_boolean(jget(args, "disabled"));
    if (persistent && n->drv != DRV_QCOW2) {
        return qmp_error("GenericError", "Can't store persistent bitmaps to %s: Operation not supported",
                         n->name);
    }
    if (bitmap_find(n, name)) {
        return qmp_error("GenericError", "Bitmap already exists: %s", name);
    }
    cl_error cerr = { 0, "" };
    cl_bitmap *bm = cl_bitmap_new(node_size(n), gran, &cerr);
    if (!bm) {
        return qmp_error("GenericError", "%s", cerr.msg);
    }
    if (disabled) {
        cl_bitmap_set_enabled(bm, false, NULL);
    }
    bitmap_list_add(n, name, bm, persistent, true);
    return qmp_ok();
}

static json_object *qmp_bitmap_simple(sim *s, const char *cmd, json_object *args)
{
    sim_node *n;
    sim_bitmap *b;
    json_object *err = bitmap_lookup(s, args, "name", &n, &b);
    if (err) {
        return err;
    }
    /* bdrv_dirty_bitmap_check: remove BUSY|RO, clear DEFAULT, enable/disable ALLOW_RO */
    bool modifies = !strcmp(cmd, "block-dirty-bitmap-remove") ||
                    !strcmp(cmd, "block-dirty-bitmap-clear");
    if ((err = bitmap_check(n, b, modifies ? BITMAP_CHECK_DEFAULT : BITMAP_CHECK_ALLOW_RO))) {
        return err;
    }
    if (!strcmp(cmd, "block-dirty-bitmap-remove")) {
        if (b->persistent && n->drv == DRV_QCOW2) {
            /* also gone from the image (sim/qcow2_bitmap.c) */
            q2_saved_remove(node_image_file(n), n->q, b->name);
        }
        bitmap_list_remove(n, b);
    } else if (!strcmp(cmd, "block-dirty-bitmap-clear")) {
        cl_bitmap_clear(b->bm);
    } else if (!strcmp(cmd, "block-dirty-bitmap-enable")) {
        cl_bitmap_set_enabled(b->bm, true, NULL);
    } else {
        cl_bitmap_set_enabled(b->bm, false, NULL);
    }
    return qmp_ok();
}

static json_object *qmp_bitmap_merge(sim *s, json_object *args)
{
    sim_node *n;
    sim_bitmap *dst;
    json_object *err = bitmap_lookup(s, args, "target", &n, &dst);
    if (err) {
        return err;
    }
    if ((err = bitmap_check(n, dst, BITMAP_CHECK_DEFAULT))) {
        return err;
    }
    json_object *list = jget(args, "bitmaps");
    cl_bitmap *acc = cl_bitmap_new(cl_bitmap_size(dst->bm), cl_bitmap_granularity(dst->bm), NULL);
    cl_bitmap_copy(acc, dst->bm, NULL);
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        json_object *el = json_object_array_get_idx(list, i);
        sim_node *sn = n;
        const char *bname;
        if (json_object_is_type(el, json_type_string)) {
            bname = json_object_get_string(el);
        } else {
            const char *nn = jstr(el, "node");
            bname = jstr(el, "name");
            sn = blk_lookup_bs(s, nn);
            if (!sn) {
                cl_bitmap_free(acc);
                return qmp_error("GenericError", "Node '%s' not found", nn);
            }
        }
        sim_bitmap *src = bitmap_find(sn, bname);
        if (!src) {
            cl_bitmap_free(acc);
            return qmp_error("GenericError", "Dirty bitmap '%s' not found", bname);
        }
        if (cl_bitmap_size(src->bm) != cl_bitmap_size(acc)) {
            json_object *e = qmp_error("GenericError", "Bitmaps are of different sizes (destination size "
                                       "is %llu, source size is %llu) and can't be merged",
                                       (unsigned long long)cl_bitmap_size(acc),
                                       (unsigned long long)cl_bitmap_size(src->bm));
            cl_bitmap_free(acc);
            return e;
        }
        cl_bitmap_merge(acc, src->bm, NULL);
    }
    cl_bitmap_copy(dst->bm, acc, NULL);
    cl_bitmap_free(acc);
    return qmp_ok();
}

/* ---- HMP qemu-io ------------------------------------------------------------- */

/* Who forbids writes to n: a qcow2 or copy-before-write parent, or a filter
 * parent whose own writes are forbidden (filters pass permissions down). */
static bool write_unshared_by(sim *s, sim_node *n, sim_node **who, const char **role)
{
    for (sim_node *p = s->nodes; p; p = p->next) {
        if (p->file == n) {
            if (p->drv == DRV_QCOW2 || (p->drv == DRV_CBW && cbw_unshares_write(s, p))) {
                *who = p;
                *role = "file";
                return true;
            }
            sim_node *w;
            const char *r;
            if ((p->drv == DRV_BLKDEBUG || p->drv == DRV_RAW) && write_unshared_by(s, p, &w, &r)) {
                *who = p;
                *role = p->drv == DRV_BLKDEBUG ? "image" : "file";
                return true;
            }
        }
        if (p->backing == n) {
            *who = p;
            *role = "backing";
            return true;
        }
    }
    return false;
}

/* Who forbids the write that filters pass down from n: a filter (raw,
 * blkdebug, copy-before-write) asks its child for write, which another
 * parent of that child may unshare. *req is the filter asking, *c the
 * child, *who the parent that unshares. */
static bool write_unshared_below(sim *s, sim_node *n, sim_node **req, sim_node **c,
                                 sim_node **who)
{
    for (sim_node *prev = n; prev->file && (prev->drv == DRV_RAW || prev->drv == DRV_BLKDEBUG ||
                                            prev->drv == DRV_CBW); prev = prev->file) {
        for (sim_node *p = s->nodes; p; p = p->next) {
            if (p != prev && p->file == prev->file && (p->drv == DRV_QCOW2 ||
                                                  (p->drv == DRV_CBW && cbw_unshares_write(s, p)))) {
                *req = prev;
                *c = prev->file;
                *who = p;
                return true;
            }
        }
    }
    return false;
}

/* Run one qemu-io command on node n. Its output goes to QEMU's stdout (the
 * VM log), which the monitor never sees: only permission errors are returned. */
static char *qemu_io(sim *s, sim_node *n, const char *cmdline, bool device)
{
    char *copy = xstrdup(cmdline);
    char *argv[32];
    int argc = 0;
    for (char *tok = strtok(copy, " \t"); tok && argc < 31; tok = strtok(NULL, " \t")) {
        argv[argc++] = tok;
    }
    argv[argc] = NULL;
    char *reply = xstrdup("");
    if (!argc) {
        goto out;
    }
    if (!strcmp(argv[0], "break") || !strcmp(argv[0], "remove_break")) {
        /* its error text goes to QEMU's stdout, not into the reply */
        free(blkdebug_break_cmd(s, n, argc, argv));
        goto out;
    }
    bool is_write = !strcmp(argv[0], "write") || !strcmp(argv[0], "w") ||
                    !strcmp(argv[0], "discard") || !strcmp(argv[0], "d");
    if (!strcmp(argv[0], "flush") || !strcmp(argv[0], "f")) {
        node_flush(s, n);
        goto out;
    }
    /* a writer needs the write permission on n before anything runs */
    sim_node *who;
    const char *role;
    if (is_write && !device && write_unshared_by(s, n, &who, &role)) {
        free(reply);
        reply = xasprintf("Permission conflict on node '%s': permissions 'write' are both "
                          "required by an unnamed block device (uses node '%s' as 'root' "
                          "child) and unshared by node '%s' (uses node '%s' as '%s' child).\r\n",
                          n->name, n->name, who->name, n->name, role);
        goto out;
    }
    sim_node *req, *child;
    if (is_write && !device && write_unshared_below(s, n, &req, &child, &who)) {
        free(reply);
        reply = xasprintf("Permission conflict on node '%s': permissions 'write' are both "
                          "required by node '%s' (uses node '%s' as '%s' child) and unshared "
                          "by node '%s' (uses node '%s' as 'file' child).\r\n",
                          child->name, req->name, child->name,
                          req->drv == DRV_BLKDEBUG ? "image" : "file", who->name, child->name);
        goto out;
    }
    if (is_write && !device && n->read_only) {
        /* qemu-io's block backend asks for write permission (measured) */
        free(reply);
        reply = xasprintf("Block node is read-only\r\n");
        goto out;
    }
    /* qemu-io prints to QEMU's stdout: the VM's log, not the reply */
    char *text = NULL;
    size_t textlen = 0;
    FILE *log = open_memstream(&text, &textlen);
    if (!log) {
        abort();
    }
    sim_io_command(s, n, true, false, cmdline, log);
    fclose(log);
    char *joined = xasprintf("%s%s", s->vm_log ? s->vm_log : "", text);
    free(s->vm_log);
    free(text);
    s->vm_log = joined;
out:
    free(copy);
    return reply;
}

char *sim_qemu_io_line(sim *s, sim_node *n, const char *cmdline, bool device)
{
    return qemu_io(s, n, cmdline, device);
}

static json_object *qmp_hmp(sim *s, json_object *args)
{
    const char *line = jstr(args, "command-line");
    while (*line == ' ') {
        line++;
    }
    size_t wl = strcspn(line, " ");
    if (wl == 0) {
        return qmp_return(json_object_new_string(""));
    }
    if (wl == 9 && !strncmp(line, "drive_add", 9)) {
        char *m = hmp_drive_add(s, line + wl);
        json_object *r = qmp_return(json_object_new_string(m));
        free(m);
        return r;
    }
    if (wl == 12 && !strncmp(line, "block_resize", wl)) {
        return qmp_return(hmp_block_resize(s, line + wl));     /* sim/resize.c */
    }
    if (strncmp(line, "qemu-io", wl) || wl != 7) {
        char *m = xasprintf("unknown command: '%.*s'\r\n", (int)wl, line);
        json_object *r = qmp_return(json_object_new_string(m));
        free(m);
        return r;
    }
    const char *p = line + wl;
    while (*p == ' ') {
        p++;
    }
    bool qdev = !strncmp(p, "-d ", 3);      /* a device's BlockBackend */
    if (qdev) {
        p += 3;
        while (*p == ' ') {
            p++;
        }
    }
    size_t dl = strcspn(p, " ");
    char *dev = strndup(p, dl);
    p += dl;
    while (*p == ' ') {
        p++;
    }
    char *cmd;
    if (*p == '"') {
        const char *end = strchr(p + 1, '"');
        cmd = end ? strndup(p + 1, (size_t)(end - p - 1)) : NULL;
    } else {
        cmd = *p ? strndup(p, strcspn(p, " ")) : NULL;
    }
    json_object *r;
    if (!*dev || !cmd) {
        r = qmp_return(json_object_new_string(
            "qemu-io: string expected\r\nTry \"help qemu-io\" for more information\r\n"));
    } else {
        struct sim_blk *d = qdev ? device_find(s, dev) : NULL;
        sim_node *n = qdev ? (d ? device_root(d) : NULL) : blk_lookup_bs(s, dev);
        if (!n) {
            char *m = qdev ? xasprintf("Error: Device '%s' not found\r\n", dev)
                : xasprintf("Error: Cannot find device='' nor node-name='%s'\r\n", dev);
            r = qmp_return(json_object_new_string(m));
            free(m);
        } else {
            char *out = sched_qemu_io(s, n, cmd, qdev);
            r = qmp_return(json_object_new_string(out));
            free(out);
        }
    }
    free(dev);
    free(cmd);
    return r;
}

/* ---- dispatch -------------------------------------------------------------- */

typedef struct command {
    const char *name;
    const field *args;
} command;

static const command commands[] = {
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
    { NULL, NULL },
};

json_object *qapi_check_command(const char *cmd, json_object *args, const char *prefix)
{
    const command *c = commands;
    while (c->name && strcmp(c->name, cmd)) {
        c++;
    }
    return c->name && c->args ? check_fields(args, c->args, prefix, false) : NULL;
}

json_object *sim_dispatch(sim *s, const char *cmd, json_object *args)
{
    job_speed_qmp_elapsed(s);   /* rate-limited jobs go on while QMP talks */
    const command *c = commands;
    while (c->name && strcmp(c->name, cmd)) {
        c++;
    }
    if (!c->name) {
        json_object *r = blk_dispatch(s, cmd, args);   /* sim/blk.h's commands */
        if (r) {
            return r;
        }
        return qmp_error("CommandNotFound", "The command %s has not been found", cmd);
    }
    if (!strcmp(cmd, "qmp_capabilities")) {
        return qmp_error("CommandNotFound",
                         "Capabilities negotiation is already complete, command ignored");
    }
    if (args && !json_object_is_type(args, json_type_object)) {
        return qmp_error("GenericError", "QMP input member 'arguments' must be an object");
    }
    if (c->args) {
        json_object *err = check_fields(args, c->args, "", false);
        if (err) {
            return err;
        }
    }
    if (!strcmp(cmd, "blockdev-add")) {
        return qmp_blockdev_add(s, args);
    }
    if (!strcmp(cmd, "blockdev-del")) {
        return qmp_blockdev_del(s, args);
    }
    if (!strcmp(cmd, "blockdev-create")) {
        json_object *err = check_union(jget(args, "options"), f_create_base, "options",
                                       create_variant);
        if (err) {
            return err;
        }
        return qmp_blockdev_create(s, args);
    }
    if (!strcmp(cmd, "blockdev-backup")) {
        return qmp_blockdev_backup(s, args);
    }
    if (!strcmp(cmd, "drive-backup")) {
        return qmp_drive_backup(s, args);
    }
    if (!strcmp(cmd, "drive-mirror")) {
        return qmp_drive_mirror(s, args);
    }
    if (!strcmp(cmd, "stop")) {
        return qmp_stop(s);     /* sim/runstate.c */
    }
    if (!strcmp(cmd, "cont")) {
        return qmp_cont(s);
    }
    if (!strcmp(cmd, "block_resize")) {
        return qmp_block_resize(s, args);   /* sim/resize.c */
    }
    if (!strcmp(cmd, "query-named-block-nodes")) {
        return qmp_query_named_block_nodes(s);
    }
    if (!strcmp(cmd, "query-block")) {
        return qmp_query_block(s);
    }
    if (!strcmp(cmd, "query-block-jobs")) {
        return qmp_query_block_jobs(s);
    }
    if (!strcmp(cmd, "query-jobs")) {
        return qmp_query_jobs(s);
    }
    if (!strcmp(cmd, "block-dirty-bitmap-add")) {
        return qmp_bitmap_add(s, args);
    }
    if (!strcmp(cmd, "block-dirty-bitmap-merge")) {
        return qmp_bitmap_merge(s, args);
    }
    if (!strncmp(cmd, "block-dirty-bitmap-", 19)) {
        return qmp_bitmap_simple(s, cmd, args);
    }
    if (!strcmp(cmd, "block-job-complete") || !strcmp(cmd, "job-complete")) {
        /* a block-commit job (sim/commit.c) */
        json_object *r = commit_complete(s, jstr(args, cmd[0] == 'b' ? "device" : "id"));
        if (r) {
            return r;
        }
    }
    if (!strncmp(cmd, "job-", 4) || !strncmp(cmd, "block-job-", 10)) {
        return qmp_job_command(s, cmd, args);
    }
    if (!strcmp(cmd, "backup")) {
        return qmp_backup(s, args);
    }
    if (!strcmp(cmd, "query-backup")) {
        return qmp_query_backup(s);
    }
    if (!strcmp(cmd, "backup-cancel")) {
        return qmp_backup_cancel(s);
    }
    return qmp_hmp(s, args);
}
