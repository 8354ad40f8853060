/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The flags of a qcow2 image's stored bitmaps (QEMU 7.2
 * block/qcow2-bitmap.c): "auto" when stored enabled
 * (qcow2_store_persistent_dirty_bitmaps writes BME_FLAG_AUTO for an
 * enabled bitmap), "in-use" while a read-write node has it loaded
 * (qcow2_load_dirty_bitmaps and qcow2_reopen_bitmaps_rw set BME_FLAG_IN_USE;
 * storing clears it).
 */
#include <stdlib.h>
#include <string.h>

#include "sim/qcow2_bitmap.h"

#define BME_FLAG_IN_USE 1u
#define BME_FLAG_AUTO 2u
#define BME_RESERVED_FLAGS 0xfffffffcu
#define BM_DIR_ENTRY_HEADER 24u      /* Qcow2BitmapDirEntry before the name */

sim_file *node_image_file(sim_node *n)
{
    while (n && n->drv != DRV_FILE) {
        n = n->file;
    }
    return n ? n->f : NULL;
}

static uint64_t alloc_clusters(sim_qcow2 *q, uint64_t bytes)
{
    uint64_t h = q->next_host;
    q->next_host += (bytes + q->cluster_size - 1) / q->cluster_size * q->cluster_size;
    return h;
}

static void file_grow(sim_file *f, uint64_t end)
{
    if (f && end > f->data.size) {
        store_truncate(&f->data, end);
    }
}

/* bitmap_list_store: a new directory for every entry, in order. */
static void write_directory(sim_file *f, sim_qcow2 *q)
{
    uint64_t size = 0;
    for (sim_saved_bitmap *sb = q->bitmaps; sb; sb = sb->next) {
        size += (BM_DIR_ENTRY_HEADER + strlen(sb->name) + 7) / 8 * 8;
    }
    if (!size) {
        q->bm_dir_offset = q->bm_dir_size = 0;
        return;
    }
    uint64_t off = alloc_clusters(q, size);
    q->bm_dir_offset = off;
    q->bm_dir_size = size;
    for (sim_saved_bitmap *sb = q->bitmaps; sb; sb = sb->next) {
        sb->entry_offset = off;
        off += (BM_DIR_ENTRY_HEADER + strlen(sb->name) + 7) / 8 * 8;
    }
    file_grow(f, q->bm_dir_offset + size);
}

void q2_bitmaps_written(sim_file *f, sim_qcow2 *q, sim_saved_bitmap *const *written, size_t n)
{
    if (!n) {
        return;
    }
    uint64_t cs = q->cluster_size;
    for (sim_saved_bitmap *sb = q->bitmaps; sb; sb = sb->next) {
        bool is_written = false;
        for (size_t i = 0; i < n; i++) {
            is_written |= written[i] == sb;
        }
        if (!is_written) {
            continue;
        }
        /* store_bitmap_data: one cluster of the serialized bitmap per table
         * entry, allocated only where it has a dirty bit */
        uint64_t gran = cl_bitmap_granularity(sb->bm), size = cl_bitmap_size(sb->bm);
        uint64_t bytes_per_entry = cs * 8 * gran;       /* guest bytes one cluster covers */
        uint64_t entries = (size + bytes_per_entry - 1) / bytes_per_entry;
        for (uint64_t e = 0; e < entries; e++) {
            uint64_t from = e * bytes_per_entry;
            uint64_t to = from + bytes_per_entry < size ? from + bytes_per_entry : size;
            int64_t d = cl_bitmap_next_dirty(sb->bm, from, to);
            if (d >= 0 && (uint64_t)d < to) {
                file_grow(f, alloc_clusters(q, cs) + cs);
            }
        }
        /* then its bitmap table (8 bytes an entry) */
        uint64_t tb = alloc_clusters(q, (entries ? entries : 1) * 8);
        file_grow(f, tb + (entries ? entries : 1) * 8);
        sb->reserved_flags = 0;
    }
    write_directory(f, q);
}

bool q2_saved_remove(sim_file *f, sim_qcow2 *q, const char *name)
{
    sim_saved_bitmap **pp = &q->bitmaps;
    while (*pp && strcmp((*pp)->name, name)) {
        pp = &(*pp)->next;
    }
    if (!*pp) {
        return false;
    }
    sim_saved_bitmap *d = *pp;
    *pp = d->next;
    free(d->name);
    cl_bitmap_free(d->bm);
    free(d);
    /* qcow2_co_remove_persistent_dirty_bitmap: update_ext_header_and_dir */
    write_directory(f, q);
    return true;
}

const char *q2_bitmaps_bad_entry(const sim_qcow2 *q)
{
    for (const sim_saved_bitmap *sb = q->bitmaps; sb; sb = sb->next) {
        if (sb->reserved_flags & BME_RESERVED_FLAGS) {
            return sb->name;
        }
    }
    return NULL;
}

void q2_file_xor(sim_file *f, uint64_t off, uint8_t mask)
{
    sim_qcow2 *q = f->qcow2;
    for (sim_saved_bitmap *sb = q ? q->bitmaps : NULL; sb; sb = sb->next) {
        /* the entry's 32-bit big-endian flags at bytes 12..15 */
        if (off >= sb->entry_offset + 12 && off < sb->entry_offset + 16) {
            uint32_t bits = (uint32_t)mask << (8 * (sb->entry_offset + 15 - off));
            if (bits & BME_FLAG_AUTO) {
                cl_bitmap_set_enabled(sb->bm, !cl_bitmap_enabled(sb->bm), NULL);
            }
            sb->reserved_flags ^= bits & ~(BME_FLAG_AUTO | BME_FLAG_IN_USE);
            return;
        }
    }
    uint8_t b = 0;
    store_read(&f->data, off, 1, &b);
    b ^= mask;
    store_write(&f->data, off, 1, &b);
}

bool q2_bitmap_in_use(const sim_node *n, const sim_saved_bitmap *sb)
{
    if (sb->in_use) {
        return true;
    }
    if (!n || n->drv != DRV_QCOW2 || n->read_only) {
        return false;
    }
    for (const sim_bitmap *b = n->bitmaps; b; b = b->next) {
        if (b->persistent && b->name && !strcmp(b->name, sb->name)) {
            return true;
        }
    }
    return false;
}

json_object *q2_bitmap_info_list(sim_node *n)
{
    json_object *list = json_object_new_array();
    for (sim_saved_bitmap *sb = n->q->bitmaps; sb; sb = sb->next) {
        json_object *o = json_object_new_object(), *flags = json_object_new_array();
        if (q2_bitmap_in_use(n, sb)) {
            json_object_array_add(flags, json_object_new_string("in-use"));
        }
        if (cl_bitmap_enabled(sb->bm)) {
            json_object_array_add(flags, json_object_new_string("auto"));
        }
        json_add_lit(o, "flags", flags);
        json_add_lit(o, "name", json_object_new_string(sb->name));
        json_add_lit(o, "granularity",
                               json_object_new_int64((int64_t)cl_bitmap_granularity(sb->bm)));
        json_object_array_add(list, o);
    }
    return list;
}

void q2_load_bitmaps(sim_node *n)
{
    /* qcow2_load_dirty_bitmaps: in the image's order, so the last stored is
     * listed first */
    for (sim_saved_bitmap *sb = n->q->bitmaps; sb; sb = sb->next) {
        cl_bitmap *bm = cl_bitmap_new(cl_bitmap_size(sb->bm), cl_bitmap_granularity(sb->bm), NULL);
        if (!sb->in_use) {
            cl_bitmap_copy(bm, sb->bm, NULL);
        }
        cl_bitmap_set_enabled(bm, cl_bitmap_enabled(sb->bm), NULL);
        /* an entry already IN_USE: its data is not loaded (load_bitmap) and
         * the bitmap is inconsistent */
        bitmap_list_add(n, sb->name, bm, true, true)->inconsistent = sb->in_use;
    }
}

void q2_bitmaps_abandon(sim_node *n)
{
    if (!n || n->drv != DRV_QCOW2 || !n->q || n->read_only) {
        return;
    }
    for (sim_bitmap *b = n->bitmaps; b; b = b->next) {
        if (!b->persistent || !b->name || b->inconsistent) {
            continue;
        }
        for (sim_saved_bitmap *sb = n->q->bitmaps; sb; sb = sb->next) {
            if (!strcmp(sb->name, b->name)) {
                sb->in_use = true;      /* loading wrote IN_USE; nothing clears it */
            }
        }
        b->inconsistent = true;         /* so closing the node stores nothing */
    }
}
