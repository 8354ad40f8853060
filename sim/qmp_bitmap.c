/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The dirty-bitmap commands (QEMU 7.2 block/monitor/bitmap-qmp-cmds.c):
 * block-dirty-bitmap-add/-remove/-clear/-enable/-disable/-merge,
 * block_dirty_bitmap_lookup (shared with transactions and snapshots), and
 * x-debug-block-dirty-bitmap-sha256 (hbitmap_sha256 over the bitmap's
 * lowest level). The checks a node's bitmaps need are sim/dirty_bitmap.c's.
 */
#include <sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/qmp.h"
#include "sim/error.h"
#include "sim/qcow2_bitmap.h"
#include "sim/util.h"

json_object *bitmap_lookup_qmp(sim *s, const char *node, const char *name, sim_node **pn,
                               sim_bitmap **pb)
{
    sim_node *n = blk_lookup_bs(s, node);
    if (!n) {
        return qmp_error("GenericError", "Node '%s' not found", node);
    }
    sim_bitmap *b = bitmap_find(n, name);
    if (!b) {
        return qmp_error("GenericError", "Dirty bitmap '%s' not found", name);
    }
    *pn = n;
    *pb = b;
    return NULL;
}

char *bitmap_sha256_hex(const cl_bitmap *bm)
{
    /* HBitmap's last level: one bit per granule in unsigned longs (64-bit,
     * little-endian here), at least one long */
    uint64_t nbits = cl_bitmap_nbits(bm), gran = cl_bitmap_granularity(bm);
    uint64_t nwords = nbits ? (nbits + 63) / 64 : 1;
    uint8_t *buf = calloc(nwords, 8);
    uint64_t size = cl_bitmap_size(bm);
    uint64_t off = 0, len;
    /* a dirty run at a time: bits to a byte boundary, whole bytes, the rest */
    while (off < size && cl_bitmap_next_dirty_area(bm, off, size, 0, &off, &len)) {
        uint64_t bit = off / gran, end = (off + len + gran - 1) / gran;
        for (; bit < end && bit % 8; bit++) {
            buf[bit / 8] |= (uint8_t)(1u << (bit % 8));
        }
        if (end - bit >= 8) {
            memset(buf + bit / 8, 0xff, (end - bit) / 8);
            bit += (end - bit) / 8 * 8;
        }
        for (; bit < end; bit++) {
            buf[bit / 8] |= (uint8_t)(1u << (bit % 8));
        }
        off += len;
    }
    uint8_t digest[SHA256_DIGEST_LENGTH];
    SHA2_CTX ctx;
    SHA256Init(&ctx);
    SHA256Update(&ctx, buf, nwords * 8);
    SHA256Final(digest, &ctx);
    free(buf);
    char *hex = malloc(2 * SHA256_DIGEST_LENGTH + 1);
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++) {
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    }
    return hex;
}

json_object *qmp_bitmap_sha256(sim *s, json_object *args)
{
    json_object *v;
    const char *node = json_object_object_get_ex(args, "node", &v) ? json_object_get_string(v) : "";
    const char *name = json_object_object_get_ex(args, "name", &v) ? json_object_get_string(v) : "";
    sim_node *n;
    sim_bitmap *b;
    json_object *err = bitmap_lookup_qmp(s, node, name, &n, &b);
    if (err) {
        return err;
    }
    char *hex = bitmap_sha256_hex(b->bm);
    json_object *ret = json_object_new_object(), *r = json_object_new_object();
    json_add_lit(ret, "sha256", json_object_new_string(hex));
    json_add_lit(r, "return", ret);
    free(hex);
    return r;
}

/* ---- the commands ---------------------------------------------------------- */

static json_object *bitmap_lookup(sim *s, json_object *args, const char *name_key,
                                  sim_node **node, sim_bitmap **bm)
{
    const char *node_name = json_str(args, "node");
    const char *name = json_str(args, name_key);
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

json_object *qmp_bitmap_add(sim *s, json_object *args)
{
    const char *node_name = json_str(args, "node");
    const char *name = json_str(args, "name");
    sim_node *n = blk_lookup_bs(s, node_name);
    if (!n) {
        return qmp_error("GenericError", "Cannot find device='%s' nor node-name='%s'",
                         node_name, node_name);
    }
    if (!*name) {
        return qmp_error("GenericError", "Bitmap name cannot be empty");
    }
    uint64_t gran;
    json_object *g = json_member(args, "granularity");
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
    bool persistent = json_member(args, "persistent") && json_object_get_boolean(json_member(args, "persistent"));
    bool disabled = json_member(args, "disabled") && json_object_get_boolean(json_member(args, "disabled"));
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

json_object *qmp_bitmap_simple(sim *s, const char *cmd, json_object *args)
{
    sim_node *n;
    sim_bitmap *b;
    json_object *err = bitmap_lookup(s, args, "name", &n, &b);
    if (err) {
        return err;
    }
    /* bdrv_dirty_bitmap_check: remove BUSY|RO (an inconsistent bitmap can
     * be removed), clear DEFAULT, enable/disable ALLOW_RO */
    unsigned flags = !strcmp(cmd, "block-dirty-bitmap-remove")
                     ? BITMAP_CHECK_BUSY | BITMAP_CHECK_RO
                     : !strcmp(cmd, "block-dirty-bitmap-clear") ? BITMAP_CHECK_DEFAULT
                     : BITMAP_CHECK_ALLOW_RO;
    if ((err = bitmap_check(n, b, flags))) {
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

json_object *qmp_bitmap_merge(sim *s, json_object *args)
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
    json_object *list = json_member(args, "bitmaps");
    cl_bitmap *acc = cl_bitmap_new(cl_bitmap_size(dst->bm), cl_bitmap_granularity(dst->bm), NULL);
    cl_bitmap_copy(acc, dst->bm, NULL);
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        json_object *el = json_object_array_get_idx(list, i);
        sim_node *sn = n;
        const char *bname;
        if (json_object_is_type(el, json_type_string)) {
            bname = json_object_get_string(el);
        } else {
            const char *nn = json_str(el, "node");
            bname = json_str(el, "name");
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
        /* bdrv_merge_dirty_bitmap: the source may be read-only */
        if ((err = bitmap_check(sn, src, BITMAP_CHECK_ALLOW_RO))) {
            cl_bitmap_free(acc);
            return err;
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
