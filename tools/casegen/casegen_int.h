/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * casegen's insides, shared by the files that write step kinds
 * (casegen.c: the model, writes, bitmaps, single backups; casegen_jobs.c:
 * several jobs, job verbs by hand, mirror; casegen_graph.c: resize, reopen,
 * fleecing reads). Each step kind is an emit function taking the model.
 */
#ifndef BLOCKSIM_GEN_CASEGEN_INT_H
#define BLOCKSIM_GEN_CASEGEN_INT_H

#include "tools/casegen/casegen.h"

#define CLUSTER (64 * 1024)     /* the source qcow2 image's cluster size */
#define MAX_BITMAPS 6

/* random numbers (splitmix64: tiny, and the same everywhere) */
typedef struct rng {
    uint64_t s;
} rng;

uint64_t cg_rnext(rng *r);
uint64_t cg_rbelow(rng *r, uint64_t n);     /* uniform in [0, n) */
int cg_rchance(rng *r, unsigned percent);

/* the generator's model */
typedef struct bitmap {
    char name[16];
    uint64_t gran;
    size_t nbits;
    uint8_t *bits;              /* one byte per bit: simple beats clever here */
    int enabled, persistent;
} bitmap;

typedef struct gen {
    rng r;
    sbuf *o;
    cg_cover *cov;
    const char *profile;
    uint64_t size;
    uint8_t **disk;             /* guest-visible bytes per source cluster
                                 * (NULL: all zero); 0 = never written */
    uint8_t *alloc;             /* per source cluster: allocated in the qcow2 image */
    size_t nclusters;
    bitmap bm[MAX_BITMAPS];
    int nbm;
    int next_id;                /* names: b<N>, w<N>, t<N>, j<N>, e<N> */
    int step;
    int blkdebug;               /* drive0's file is blkdebug with a read error armed */
    int armed;                  /* the read error has not fired yet */
    uint8_t *touched;           /* when set: per source cluster, a write touched it */
    int primed;                 /* blkdebug moved to state 2: the next read fails */
    int dirty_since_flush;      /* drive0 written since launch or the last flush:
                                 * only then does a flush reach blkdebug
                                 * (QEMU's write_gen / flushed_gen) */
    int werr;                   /* drive0's file fails its first write once */
    int fail_next;              /* emit_writes: the group's first write fails */
    sbuf at_end;                /* case lines for after the final shutdown
                                 * (compares of images the VM held) */
} gen;

/* The job's cluster: max(64 KiB, the target's cluster size). */
typedef struct target {
    char name[16];
    uint64_t cluster;
    int via_create;             /* blockdev-create: a separate file node */
} target;

/* One line of case text; coverage of a command and of an option. */
void cg_line(gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cg_cmd(gen *g, const char *name);
void cg_opt(gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cg_begin_step(gen *g, const char *what);

void cg_bits_dirty_range(bitmap *b, uint64_t off, uint64_t len);
void cg_drop_bitmap(gen *g, bitmap *b);
bitmap *cg_any_bitmap(gen *g);
uint64_t cg_pick_granularity(gen *g);
uint8_t cg_byte_at(const gen *g, uint8_t *const *d, uint64_t i);
void cg_disk_fill(gen *g, uint64_t off, uint64_t len, uint8_t pat);
uint8_t **cg_disk_copy(const gen *g);
void cg_disk_free(const gen *g, uint8_t **d);

void cg_emit_model(gen *g, const char *model, uint64_t gran, const uint8_t *bits, size_t n);
void cg_emit_checks(gen *g);
void cg_emit_expect_image(gen *g, const char *var, const uint8_t *keep);
void cg_pick_write(gen *g, uint64_t *off, uint64_t *len, const uint64_t *prev_off,
                   const uint64_t *prev_len, size_t nprev);
void cg_emit_writes(gen *g, const char *node, uint8_t *succ, uint64_t succ_gran,
                    size_t succ_nbits);

void cg_emit_target(gen *g, target *t, int write_error);
void cg_emit_target_del(gen *g, const target *t);
uint8_t *cg_initial_copy_set(gen *g, const char *sync, const bitmap *b, uint64_t cs, size_t *n);
/* max_chunk: x-perf's max-chunk (0: none) */
size_t cg_first_data_task(gen *g, const uint8_t *init, size_t ncl, uint64_t cs,
                          uint64_t max_chunk);
/* Writes an x-perf object into *out; max-workers above 1 only when
 * `parallel`; returns the max-chunk it chose (0: none). */
uint64_t cg_xperf(gen *g, sbuf *out, int parallel, uint64_t cs);

/* Step kinds in their own files (casegen_jobs.c, casegen_graph.c). */
void cg_step_backup_group(gen *g);
void cg_step_job_manual(gen *g);
void cg_step_mirror(gen *g);
void cg_step_resize(gen *g);
void cg_step_reopen(gen *g);
void cg_step_snapshot(gen *g);
/* Reads through a snapshot-access node `acc` that must see `before` (the
 * disk when the copy-before-write filter came); `touched`: per source
 * cluster, written since. */
void cg_snapshot_reads(gen *g, const char *acc, uint8_t *const *before, const uint8_t *touched);

#endif
