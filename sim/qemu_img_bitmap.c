/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu-img bitmap and qemu-img convert as their own processes (QEMU 7.2
 * qemu-img.c img_bitmap, img_convert with --bitmaps). Like a qemu-io run,
 * each is a scratch machine over the VM's files: it opens its images as
 * nodes (their persistent bitmaps load), does its work through the same
 * QMP bitmap commands qemu-img calls (qmp_block_dirty_bitmap_add, ...,
 * do_dirty_bitmap_merge) and closes them (the bitmaps are stored). So
 * qemu-img's messages are the QMP errors behind its own prefixes. The
 * process and its images are sim/qemu_img_proc.c's.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/qmp.h"
#include "sim/error.h"
#include "sim/qcow2_bitmap.h"

static json_object *call(sim *m, const char *cmd, json_object *args)
{
    json_object *r = sim_dispatch(m, cmd, args);
    json_object_put(args);
    if (r && !json_object_object_get_ex(r, "error", NULL)) {
        json_object_put(r);
        return NULL;
    }
    return r;
}

static json_object *args_node_name(const sim_node *n, const char *key, const char *name)
{
    json_object *a = json_object_new_object();
    json_object_object_add(a, "node", json_object_new_string(n->name));
    json_object_object_add(a, key, json_object_new_string(name));
    return a;
}

/* do_dirty_bitmap_merge: src_name of src into dst_name of dst */
static json_object *merge(sim *m, sim_node *dst, const char *dst_name, sim_node *src,
                          const char *src_name)
{
    json_object *a = args_node_name(dst, "target", dst_name);
    json_object *list = json_object_new_array(), *el = json_object_new_object();
    json_object_object_add(el, "node", json_object_new_string(src->name));
    json_object_object_add(el, "name", json_object_new_string(src_name));
    json_object_array_add(list, el);
    json_object_object_add(a, "bitmaps", list);
    return call(m, "block-dirty-bitmap-merge", a);
}

/* qemu-img's cvtnum for -g: a size with an optional suffix, or -1 */
static int64_t img_cvtnum(const char *str)
{
    char *end;
    unsigned long long v = strtoull(str, &end, 0);
    unsigned shift = 0;
    switch (*end) {
    case 'k': case 'K': shift = 10; end++; break;
    case 'm': case 'M': shift = 20; end++; break;
    case 'g': case 'G': shift = 30; end++; break;
    default: break;
    }
    if (end == str || *end || str[0] == '-' || (shift && v > (~0ull >> (shift + 1)))) {
        return -1;
    }
    return (int64_t)(v << shift);
}

/* ---- qemu-img bitmap -------------------------------------------------------- */

enum { ACT_ADD, ACT_REMOVE, ACT_CLEAR, ACT_ENABLE, ACT_DISABLE, ACT_MERGE };

int img_bitmap_cmd(sim *s, const char *const *argv, size_t argc, char **errout)
{
    struct { int act; const char *src; } acts[32];
    size_t nacts = 0;
    const char *fmt = NULL, *src_fmt = NULL, *src_file = NULL, *pos[2];
    size_t npos = 0;
    int64_t gran = 0;
    bool add = false, merging = false, is_opts = false;
    static const char *const names[] = { "--add", "--remove", "--clear", "--enable",
                                         "--disable", "--merge" };
    for (size_t i = 0; i < argc; i++) {
        const char *a = argv[i];
        int act = -1;
        for (int k = 0; k < 6; k++) {
            if (!strcmp(a, names[k])) {
                act = k;
            }
        }
        bool has_val = act == ACT_MERGE || !strcmp(a, "-b") || !strcmp(a, "-f") ||
                       !strcmp(a, "-F") || !strcmp(a, "-g") || !strcmp(a, "--granularity") ||
                       !strcmp(a, "--source-file") || !strcmp(a, "--source-format");
        if (has_val && i + 1 >= argc) {
            img_report(errout, "option '%s' requires an argument", a);
            img_report(errout, "Try 'qemu-img --help' for more information");
            return 1;
        }
        if (act >= 0) {
            if (nacts == sizeof acts / sizeof acts[0]) {
                img_report(errout, "the simulator models at most 32 bitmap operations");
                return 1;
            }
            acts[nacts].act = act;
            acts[nacts].src = act == ACT_MERGE ? argv[++i] : NULL;
            add |= act == ACT_ADD;
            merging |= act == ACT_MERGE;
            nacts++;
        } else if (!strcmp(a, "-b") || !strcmp(a, "--source-file")) {
            src_file = argv[++i];
        } else if (!strcmp(a, "-f")) {
            fmt = argv[++i];
        } else if (!strcmp(a, "-F") || !strcmp(a, "--source-format")) {
            src_fmt = argv[++i];
        } else if (!strcmp(a, "-g") || !strcmp(a, "--granularity")) {
            if ((gran = img_cvtnum(argv[++i])) < 0) {
                img_report(errout, "Invalid granularity specified! You may use k, M, G, T, P or E "
                       "suffixes for ");
                img_report(errout, "kilobytes, megabytes, gigabytes, terabytes, petabytes and "
                       "exabytes.");
                return 1;
            }
        } else if (!strcmp(a, "--image-opts")) {
            is_opts = true;
        } else if (a[0] == '-' && a[1]) {
            img_report(errout, "the simulator does not model the bitmap option '%s'", a);
            return 1;
        } else if (npos < 2) {
            pos[npos++] = a;
        } else {
            npos = 3;
        }
    }
    if (!nacts) {
        img_report(errout, "Need at least one of --add, --remove, --clear, --enable, --disable, "
               "or --merge");
        return 1;
    }
    if (gran && !add) {
        img_report(errout, "granularity only supported with --add");
        return 1;
    }
    if (src_fmt && !src_file) {
        img_report(errout, "-F only supported with -b");
        return 1;
    }
    if (src_file && !merging) {
        img_report(errout, "Merge bitmap source file only supported with --merge");
        return 1;
    }
    if (npos != 2) {
        img_report(errout, "Expecting filename and bitmap name");
        return 1;
    }
    const char *bitmap = pos[1];
    img_proc p;
    img_proc_begin(s, &p);
    sim *m = &p.m;
    int rc = 1;
    /* no backing chains: the bitmaps are the image's own */
    sim_node *bs = img_proc_open(s, &p, pos[0], is_opts, fmt, true, true, errout), *src = bs;
    if (bs && src_file) {
        src = img_proc_open(s, &p, src_file, false, src_fmt, false, true, errout);
    }
    if (!bs || !src) {
        goto out;
    }
    static const char *const ops[] = { "add", "remove", "clear", "enable", "disable", "merge" };
    static const char *const cmds[] = { "block-dirty-bitmap-add", "block-dirty-bitmap-remove",
                                        "block-dirty-bitmap-clear", "block-dirty-bitmap-enable",
                                        "block-dirty-bitmap-disable" };
    for (size_t k = 0; k < nacts; k++) {
        json_object *e;
        if (acts[k].act == ACT_MERGE) {
            e = merge(m, bs, bitmap, src, acts[k].src);
        } else {
            json_object *a = args_node_name(bs, "name", bitmap);
            if (acts[k].act == ACT_ADD) {
                if (gran) {
                    json_object_object_add(a, "granularity", json_object_new_int64(gran));
                }
                json_object_object_add(a, "persistent", json_object_new_boolean(true));
            }
            e = call(m, cmds[acts[k].act], a);
        }
        if (e) {
            char *prefix = xasprintf("Operation %s on bitmap %s failed: ", ops[acts[k].act],
                                     bitmap);
            img_report_err(errout, e, prefix);
            free(prefix);
            json_object_put(e);
            goto out;
        }
    }
    rc = 0;
out:
    img_proc_end(s, &p);
    return rc;
}

/* ---- qemu-img convert --------------------------------------------------------- */

/* Does a layer of n's chain allocate [off, off+len)? *pnum: how far the
 * answer holds (convert asks block status the same way). */
static bool chain_allocated(sim *m, sim_node *n, uint64_t off, uint64_t len, uint64_t *pnum)
{
    for (sim_node *l = n; l; l = l->backing) {
        uint64_t p = 0;
        int st = node_block_status(m, l, off, len, &p);
        if (p == 0 || p > len) {
            p = len;
        }
        if (st & CL_STATUS_ALLOCATED) {
            *pnum = p;
            return true;
        }
        len = p;
    }
    *pnum = len;
    return false;
}

/* The guest-visible contents of src into the new target dst: what the
 * chain allocates, in chunks; a chunk that reads as zeroes stays
 * unallocated (a new image reads zero). */
static int copy_data(sim *m, sim_node *src, sim_node *dst)
{
    uint64_t size = node_size(src), chunk = 1 << 20;
    uint8_t *buf = malloc(chunk);
    int r = 0;
    for (uint64_t off = 0, run; off < size && r >= 0; off += run) {
        if (!chain_allocated(m, src, off, size - off, &run)) {
            continue;
        }
        for (uint64_t at = off; at < off + run && r >= 0; at += chunk) {
            uint64_t len = off + run - at < chunk ? off + run - at : chunk;
            r = node_read(m, src, at, len, buf);
            bool zero = true;
            for (uint64_t i = 0; i < len && zero && r >= 0; i++) {
                zero = !buf[i];
            }
            if (r >= 0 && !zero) {
                r = node_write(m, dst, at, len, buf, 0);
            }
        }
    }
    free(buf);
    return r;
}

int img_convert_cmd(sim *s, const char *const *argv, size_t argc, char **errout)
{
    const char *fmt = NULL, *out_fmt = "raw", *pos[3];
    size_t npos = 0;
    bool bitmaps = false, skip_broken = false;
    for (size_t i = 0; i < argc; i++) {
        const char *a = argv[i];
        if ((!strcmp(a, "-f") || !strcmp(a, "-O")) && i + 1 >= argc) {
            img_report(errout, "option '%s' requires an argument", a);
            img_report(errout, "Try 'qemu-img --help' for more information");
            return 1;
        }
        if (!strcmp(a, "-f")) {
            fmt = argv[++i];
        } else if (!strcmp(a, "-O")) {
            out_fmt = argv[++i];
        } else if (!strcmp(a, "--bitmaps")) {
            bitmaps = true;
        } else if (!strcmp(a, "--skip-broken-bitmaps")) {
            skip_broken = true;
        } else if (!strcmp(a, "-q")) {
            continue;
        } else if (a[0] == '-' && a[1]) {
            img_report(errout, "the simulator does not model the convert option '%s'", a);
            return 1;
        } else if (npos < 3) {
            pos[npos++] = a;
        }
    }
    if (skip_broken && !bitmaps) {
        img_report(errout, "Use of --skip-broken-bitmaps requires --bitmaps");
        return 1;
    }
    if (npos != 2) {
        img_report(errout, npos < 2 ? "Must specify image file name"
                                : "the simulator converts one source image only");
        return 1;
    }
    if (strcmp(out_fmt, "raw") && strcmp(out_fmt, "qcow2")) {
        img_report(errout, "the simulator converts to raw and qcow2 only, not '%s'", out_fmt);
        return 1;
    }
    const char *dst_path = pos[1];
    img_proc p;
    img_proc_begin(s, &p);
    sim *m = &p.m;
    int rc = 1;
    sim_node *src = img_proc_open(s, &p, pos[0], false, fmt, false, false, errout), *dst = NULL;
    if (!src) {
        goto out;
    }
    if (bitmaps) {
        /* convert_check_bitmaps, before the target exists */
        if (src->drv != DRV_QCOW2) {
            img_report(errout, "Source lacks bitmap support");
            goto out;
        }
        for (sim_bitmap *b = src->bitmaps; b; b = b->next) {
            if (b->persistent && !skip_broken && b->inconsistent) {
                img_report(errout, "Cannot copy inconsistent bitmap '%s'", b->name);
                char *all = xasprintf("%sTry --skip-broken-bitmaps, or use 'qemu-img bitmap "
                                      "--remove' to delete it\n", *errout);
                free(*errout);
                *errout = all;
                goto out;
            }
        }
    }
    /* bdrv_create: the target, a new image of the source's size */
    char *err = NULL;
    s->files = m->files;
    int cr = s->base.ops->img_create(&s->base, out_fmt, dst_path, node_size(src), NULL, NULL,
                                     &err);
    m->files = s->files;
    if (cr < 0) {
        img_report(errout, "%s: error while converting %s: %s", dst_path, out_fmt,
               err ? err : "cannot create");
        free(err);
        goto out;
    }
    if (!(dst = img_proc_open(s, &p, dst_path, false, out_fmt, true, true, errout))) {
        goto out;
    }
    if (bitmaps && dst->drv != DRV_QCOW2) {
        img_report(errout, "Format driver '%s' does not support bitmaps", out_fmt);
        goto out;
    }
    if (copy_data(m, src, dst) < 0) {
        img_report(errout, "error while writing at byte 0: Input/output error");
        goto out;
    }
    /* convert_copy_bitmaps: in the source's list order (newest first) */
    for (sim_bitmap *b = bitmaps ? src->bitmaps : NULL; b; b = b->next) {
        if (!b->persistent) {
            continue;
        }
        if (skip_broken && b->inconsistent) {
            char *all = xasprintf("%sqemu-img: warning: Skipping inconsistent bitmap '%s'\n",
                                  *errout ? *errout : "", b->name);
            free(*errout);
            *errout = all;
            continue;
        }
        json_object *a = args_node_name(dst, "name", b->name);
        json_object_object_add(a, "granularity",
                               json_object_new_int64((int64_t)cl_bitmap_granularity(b->bm)));
        json_object_object_add(a, "persistent", json_object_new_boolean(true));
        json_object_object_add(a, "disabled", json_object_new_boolean(!cl_bitmap_enabled(b->bm)));
        json_object *e = call(m, "block-dirty-bitmap-add", a);
        if (e) {
            char *prefix = xasprintf("Failed to create bitmap %s: ", b->name);
            img_report_err(errout, e, prefix);
            free(prefix);
            json_object_put(e);
            goto out;
        }
        if ((e = merge(m, dst, b->name, src, b->name))) {
            char *prefix = xasprintf("Failed to populate bitmap %s: ", b->name);
            img_report_err(errout, e, prefix);
            free(prefix);
            json_object_put(e);
            json_object_put(call(m, "block-dirty-bitmap-remove",
                                 args_node_name(dst, "name", b->name)));
            goto out;
        }
    }
    rc = 0;
out:
    img_proc_end(s, &p);
    return rc;
}
