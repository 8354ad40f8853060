/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Dirty-bitmap pieces the transaction and snapshot code share with the
 * plain commands: QEMU 7.2's block_dirty_bitmap_lookup, and
 * x-debug-block-dirty-bitmap-sha256 (hbitmap_sha256 over the bitmap's
 * lowest level). The checks a node's bitmaps need are sim/dirty_bitmap.c's.
 */
#include <sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/qmp.h"
#include "sim/error.h"

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
    int64_t off = 0;
    while ((off = cl_bitmap_next_dirty(bm, (uint64_t)off, size)) >= 0) {
        uint64_t bit = (uint64_t)off / gran;
        buf[bit / 8] |= (uint8_t)(1u << (bit % 8));
        off = (int64_t)((bit + 1) * gran);
        if ((uint64_t)off >= size) {
            break;
        }
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
    json_object_object_add(ret, "sha256", json_object_new_string(hex));
    json_object_object_add(r, "return", ret);
    free(hex);
    return r;
}
