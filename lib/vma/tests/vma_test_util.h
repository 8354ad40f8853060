/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Helpers for the lib/vma tests: temp dirs, files, seeded data, archives
 * built straight from the writer API. */
#ifndef BLOCKSIM_VMA_TEST_UTIL_H
#define BLOCKSIM_VMA_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vma/vma.h"

/* A new empty directory under $TMPDIR (or /tmp); free() the result. */
char *tu_mkdtemp(const char *tag);
/* Remove a directory tree (only what tests created). */
void tu_rmrf(const char *path);
/* path = dir + "/" + name; free() the result. */
char *tu_path(const char *dir, const char *name);

uint64_t tu_rand(uint64_t *state);
void tu_fill_random(void *buf, size_t len, uint64_t *state);
/* An image of `size` bytes where each 4 KiB block is random with
 * probability data_percent/100, else zero. */
uint8_t *tu_image(uint64_t size, unsigned data_percent, uint64_t seed);

void tu_write_file(const char *path, const void *buf, size_t len);
uint8_t *tu_read_file(const char *path, size_t *len);   /* NULL if missing */
bool tu_file_equals(const char *path, const void *buf, size_t len);
bool tu_exists(const char *path);

/* An in-memory device for archive building. */
typedef struct tu_dev {
    const char *name;
    const uint8_t *data;
    uint64_t size;
} tu_dev;

typedef struct tu_cfg {
    const char *name;
    const void *data;
    size_t len;
} tu_cfg;

/* Build an archive at path with the writer API, clusters of all devices
 * interleaved in a seeded random order (shuffle_seed 0: in order). vmstate
 * may be NULL; vmstate_estimate is what the header records. Returns the
 * writer's result; on failure err says why. */
int tu_build_archive(const char *path, const tu_dev *devs, unsigned ndevs,
                     const tu_cfg *cfgs, unsigned ncfgs,
                     const uint8_t *vmstate, size_t vmstate_len, uint64_t vmstate_estimate,
                     uint64_t shuffle_seed, const vma_writer_options *opts,
                     vma_error *err);

/* Restore every device of archive into dir/<name> (vmstate into
 * dir/vmstate.bin) with the reader API. Returns the reader's result. */
int tu_restore_all(const char *archive, const char *dir, vma_error *err);

#endif
