/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * casegen: writes random, valid, self-checking case files (cases/README.md)
 * from a seed. Case i of seed S depends on S and i only, so a batch can be
 * split or regenerated in part. The generator keeps its own model of the
 * disk contents, the allocation of the source image and every dirty bitmap,
 * and writes its predictions into the case as oracle checks (`check` with
 * a model built from dirty bit runs, `compare` against an image written
 * with the contents it expects).
 */
#ifndef BLOCKSIM_GEN_CASEGEN_H
#define BLOCKSIM_GEN_CASEGEN_H

#include <stddef.h>
#include <stdint.h>

#include "harness/sbuf.h"

/* What a batch covered: QMP commands and options, by name, with counts. */
typedef struct cg_cover_item {
    char *name;
    unsigned long count;
} cg_cover_item;

typedef struct cg_cover {
    cg_cover_item *commands;
    size_t ncommands;
    cg_cover_item *options;
    size_t noptions;
} cg_cover;

void cg_cover_add(cg_cover_item **v, size_t *n, const char *name);
/* The report casegen prints: one line per command, then per option. */
void cg_cover_report(const cg_cover *c, sbuf *out);
void cg_cover_free(cg_cover *c);

/* The profiles casegen knows (NULL-terminated), the first is the default. */
extern const char *const cg_profiles[];
int cg_profile_valid(const char *name);

/* Appends case number `index` of `seed` in `profile` to *out; records what
 * it uses in *cov (may be NULL). */
void cg_generate(uint64_t seed, unsigned index, const char *profile, sbuf *out, cg_cover *cov);

#endif
