/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The expectation oracle: a deliberately naive model of what a dirty bitmap
 * should hold, written apart from lib/cluster and sim/ so that it can catch
 * their mistakes. It follows iotest 257's EmulatedBitmap: a set of bit
 * numbers, one bit per `granularity` bytes, with no knowledge of jobs,
 * clusters or the disk; the case says what to do to it and when.
 *
 * An oracle holds models by name. Bits are kept as sorted, disjoint,
 * half-open ranges so that "every bit to the end of the disk" stays cheap.
 */
#ifndef BLOCKSIM_ORACLE_H
#define BLOCKSIM_ORACLE_H

#include <stdint.h>

typedef struct oracle oracle;
typedef struct oracle_model oracle_model;

oracle *oracle_new(void);
void oracle_free(oracle *o);

/* Create (or reset, keeping the name) an empty model. granularity > 0. */
oracle_model *oracle_model_new(oracle *o, const char *name, uint64_t granularity);
/* NULL when no model has that name. */
oracle_model *oracle_find(oracle *o, const char *name);

uint64_t oracle_granularity(const oracle_model *m);
/* A write of len bytes at offset dirties bits offset/g .. (offset+len-1)/g.
 * len 0 dirties nothing. */
void oracle_dirty_write(oracle_model *m, uint64_t offset, uint64_t len);
/* Bits [from, to). */
void oracle_dirty_bits(oracle_model *m, uint64_t from, uint64_t to);
void oracle_clear_bits(oracle_model *m, uint64_t from, uint64_t to);
/* Every bit of the write (offset, len), as oracle_dirty_write would set. */
void oracle_clear_write(oracle_model *m, uint64_t offset, uint64_t len);
void oracle_clear(oracle_model *m);
/* 0 and *bit = lowest set bit; -1 when the model is empty. */
int oracle_first_bit(const oracle_model *m, uint64_t *bit);
/* 257's "sync full after a failure": keep only bits first_bit .. end_bit-1,
 * all set. -1 (model unchanged) when the model is empty. */
int oracle_fill_from_first(oracle_model *m, uint64_t end_bit);
int oracle_has_bit(const oracle_model *m, uint64_t bit);
uint64_t oracle_count(const oracle_model *m);

/* The transcript lines 257 prints for a check, without trailing newline:
 *   = Checking Bitmap NAME =\nexpecting W dirty sectors; have H. OK!|ERROR!
 * name NULL means "(anonymous)". malloc'd. */
char *oracle_check_text(const char *name, uint64_t want, uint64_t have);
/* qemu_img compare "A" "B" ==> Identical|Mismatch, OK!|ERROR!
 * ret: qemu-img compare's exit status (0 identical); expect_match: 0/1. */
char *oracle_compare_text(const char *a, const char *b, int ret, int expect_match);

#endif
