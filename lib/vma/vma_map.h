/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The restore map of `vma extract -r` (what qmrestore writes into the fifo):
 * one line per device, ending at "done", an empty line or the end:
 *
 *   [format=F:][throttling.bps=N:][throttling.group=G:][cache=C:]0|1:NAME=PATH
 *   skip=NAME
 *
 * 0: zero blocks are left alone (holes in a new file), 1: zero blocks are
 * written. Options come in any order, each at most once.
 */
#ifndef BLOCKSIM_VMA_MAP_H
#define BLOCKSIM_VMA_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vma/vma.h"

/* The longest line: a maximal device name, a path, every option. */
#define VMA_MAP_LINE_MAX (VMA_MAX_BLOB_SIZE + 4096 + 1024)

typedef struct vma_map_entry {
    char *devname;
    char *path;              /* NULL for skip= */
    char *format;            /* NULL: not given */
    uint64_t throttling_bps; /* 0: not given */
    char *throttling_group;  /* NULL: not given */
    char *cache;             /* NULL: not given */
    bool write_zeroes;
    unsigned line;
} vma_map_entry;

typedef struct vma_map {
    vma_map_entry *entries;
    unsigned count;
} vma_map;

/* Parse lines from a buffer (fuzzed); `source` names it in messages. */
int vma_map_parse(vma_map *map, const char *text, size_t len, const char *source,
                  vma_error *err);
/* Read a map file or fifo up to its "done" line (never past it, so a fifo
 * writer may keep it open). */
int vma_map_read(vma_map *map, const char *path, vma_error *err);
const vma_map_entry *vma_map_find(const vma_map *map, const char *devname);
void vma_map_free(vma_map *map);

#endif /* BLOCKSIM_VMA_MAP_H */
