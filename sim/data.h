/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Data described by what produced it rather than by its bytes: a sequence of
 * spans, each a run of zeroes, a run of one pattern byte, or a slice of a
 * shared, reference-counted byte blob. Reads and writes inside the simulator
 * pass these along (a cluster copy moves a description, not bytes); bytes are
 * made only where something outside looks at them (data_to_buf).
 */
#ifndef BLOCKSIM_SIM_DATA_H
#define BLOCKSIM_SIM_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Immutable once made; freed with its last reference. */
typedef struct sim_blob {
    size_t refs;
    uint64_t len;
    uint8_t bytes[];
} sim_blob;

enum { SPAN_ZERO, SPAN_BYTE, SPAN_DATA };

typedef struct sim_span {
    uint64_t len;
    uint8_t kind;           /* SPAN_* */
    uint8_t byte;           /* SPAN_BYTE: the byte (never 0: that is SPAN_ZERO) */
    sim_blob *blob;         /* SPAN_DATA: holds a reference */
    uint64_t boff;          /* SPAN_DATA: where in the blob */
} sim_span;

typedef struct sim_data {
    uint64_t len;           /* sum of the spans' lengths */
    sim_span *v;
    size_t n, cap;
} sim_data;

sim_blob *blob_new(const void *bytes, uint64_t len);
void blob_unref(sim_blob *b);

void data_init(sim_data *d);
void data_free(sim_data *d);            /* drops the references; d is empty again */
/* Append to d (adjacent spans of the same run are merged). */
void data_add_zero(sim_data *d, uint64_t len);
void data_add_byte(sim_data *d, uint64_t len, uint8_t byte);
void data_add_slice(sim_data *d, sim_blob *b, uint64_t boff, uint64_t len);
void data_add_span(sim_data *d, const sim_span *s, uint64_t skip, uint64_t len);
/* Append [off, off + len) of src (which must hold it) to dst. */
void data_add_range(sim_data *dst, const sim_data *src, uint64_t off, uint64_t len);
/* Append len bytes from buf: a single byte value becomes a run, anything else
 * one new blob. */
void data_add_buf(sim_data *d, const void *buf, uint64_t len);
/* The bytes, into buf (d->len bytes). */
void data_to_buf(const sim_data *d, void *buf);
/* Does every byte equal `byte`? Else *where (may be NULL) = first offset that
 * does not. Costs the spans, plus the bytes of blob slices. */
bool data_all_byte(const sim_data *d, uint8_t byte, uint64_t *where);
/* Same length; do they hold the same bytes? */
bool data_equal(const sim_data *a, const sim_data *b);

#endif
