/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What a case may make the harness hold. A case is a program: a loop that
 * doubles a list or a string, or a copy of a huge image model, would
 * otherwise take all the memory there is. Every value the interpreter
 * builds is measured when it is built, so no value can grow past the
 * limits and printing or comparing one is bounded too.
 */
#ifndef BLOCKSIM_HARNESS_LIMITS_H
#define BLOCKSIM_HARNESS_LIMITS_H

#include <stddef.h>
#include <stdint.h>

struct json_object;

/* Defaults; `harness --max-value-size N --max-model-memory N` raise them. */
#define CASE_DEFAULT_VALUE_BYTES (16ull << 20)
#define CASE_DEFAULT_MODEL_BYTES (1ull << 30)
/* Values nest at most this deep (lists in lists, built by a loop). */
#define CASE_MAX_VALUE_DEPTH 1000

typedef struct case_limits {
    uint64_t value_bytes;   /* a value's size, see value_measure() */
    uint64_t model_bytes;   /* all image models of the oracle together */
} case_limits;

/* A value's size is about its length printed as compact JSON, a part
 * counted every time it would be printed (a list holding one list twice
 * counts it twice, although it is stored once); depth counts the levels of
 * lists and objects (a scalar has depth 0). Sizes saturate far above any
 * limit. Lists and objects sealed with value_seal() answer at once;
 * others (from a backend) are walked. */
void value_measure(struct json_object *v, uint64_t *size, int *depth);
/* Remember size and depth of a list or object that will not change again. */
void value_seal(struct json_object *v, uint64_t size, int depth);
/* a + b, saturating. */
uint64_t value_size_add(uint64_t a, uint64_t b);

/* Print "harness: out of memory ..." and exit 1: what an allocation that
 * cannot be served ends in, instead of an abort or a misleading error. */
_Noreturn void harness_out_of_memory(size_t bytes);

#endif
