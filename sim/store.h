/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Layer 1 (bytes): a file's contents as a sparse extent list (sim/store.c).
 */
#ifndef BLOCKSIM_SIM_STORE_H
#define BLOCKSIM_SIM_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/data.h"

/* The host file system's allocation unit: ext4's 4 KiB block, where QEMU's
 * file-posix finds data and holes with SEEK_DATA/SEEK_HOLE on this machine. */
#define SIM_CHUNK 4096u

/* A run of a file's contents: [off, off + s.len) reads as the span s. */
typedef struct sim_ext {
    uint64_t off;
    sim_span s;             /* SPAN_BYTE or SPAN_DATA; zeroes are gaps */
} sim_ext;

/* A file's contents as extents, plus which SIM_CHUNK blocks are allocated
 * (what lseek(SEEK_HOLE) sees: a block once written stays allocated until it
 * is zeroed or discarded whole, or truncated away; zeroing part of a block
 * writes zeroes into it, as fallocate(ZERO_RANGE/PUNCH_HOLE) does). */
typedef struct sim_store {
    uint64_t size;          /* logical length in bytes */
    uint64_t *keys;         /* allocated chunks: index + 1; 0 = empty slot */
    size_t cap, used;
    sim_ext *ext;           /* sorted, disjoint; a gap reads as zeroes */
    size_t n, ecap;
    uint64_t gen;           /* bumped by every change */
    struct sim_peek *peek;  /* store_peek's materialised chunks, made on demand */
} sim_store;

void store_init(sim_store *s);
void store_free(sim_store *s);
void store_read(const sim_store *s, uint64_t off, uint64_t len, void *buf);
void store_write(sim_store *s, uint64_t off, uint64_t len, const void *buf);
void store_zero(sim_store *s, uint64_t off, uint64_t len);
void store_truncate(sim_store *s, uint64_t size);
/* file-posix's truncate of a plain file: store_truncate, and a file grown
 * from empty gets its first block written with zeroes (allocate_first_block:
 * 4 KiB, or 512 bytes when the new size is below 4 KiB). */
void store_truncate_posix(sim_store *s, uint64_t size);
uint64_t store_extent(const sim_store *s, uint64_t off, uint64_t len, bool *hole);
const uint8_t *store_peek(const sim_store *s, uint64_t off, uint64_t len, uint64_t *pnum);
/* The same without bytes: [off, off + len) appended to out as spans, and
 * written from the spans of in (in->len bytes; allocates like store_write). */
void store_read_data(const sim_store *s, uint64_t off, uint64_t len, sim_data *out);
void store_write_data(sim_store *s, uint64_t off, const sim_data *in);
/* file-posix's block status (SEEK_DATA/SEEK_HOLE) of [off, off + len), off
 * sector-aligned: true for data, false for a hole (reads as zeroes); *pnum
 * bytes alike. A trailing hole runs to len, a partial sector at EOF is data. */
bool store_block_status(const sim_store *s, uint64_t off, uint64_t len, uint64_t *pnum);
/* How many extents hold the contents (for tests and benchmarks). */
size_t store_extent_count(const sim_store *s);

#endif /* BLOCKSIM_SIM_STORE_H */
