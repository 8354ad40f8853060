/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Measuring values against the limits of harness/limits.h. */
#include "harness/limits.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Sealed sizes live in the json-c userdata pointer: depth in the low 16
 * bits, size above it, saturating at 2^47 (any limit is far below). */
#define SIZE_CAP ((1ull << 47) - 1)

uint64_t value_size_add(uint64_t a, uint64_t b)
{
    return a > SIZE_CAP - (b > SIZE_CAP ? SIZE_CAP : b) ? SIZE_CAP : a + b;
}

static int is_container(struct json_object *v)
{
    return json_object_is_type(v, json_type_array) || json_object_is_type(v, json_type_object);
}

void value_seal(struct json_object *v, uint64_t size, int depth)
{
    if (!v || !is_container(v))
        return;
    if (size > SIZE_CAP)
        size = SIZE_CAP;
    if (depth > 0xffff)
        depth = 0xffff;
    uintptr_t packed = (uintptr_t)(size << 16 | (uint64_t)depth | 1ull << 63);
    json_object_set_userdata(v, (void *)packed, NULL);
}

void value_measure(struct json_object *v, uint64_t *size, int *depth)
{
    *depth = 0;
    switch (json_object_get_type(v)) {
    case json_type_null:
        *size = 4;
        return;
    case json_type_boolean:
        *size = 5;
        return;
    case json_type_int:
    case json_type_double:
        *size = 20;
        return;
    case json_type_string:
        *size = value_size_add((uint64_t)json_object_get_string_len(v), 2);
        return;
    default:
        break;
    }
    uintptr_t packed = (uintptr_t)json_object_get_userdata(v);
    if (packed & 1ull << 63) {
        *size = (packed & ~(1ull << 63)) >> 16;
        *depth = (int)(packed & 0xffff);
        return;
    }
    /* Not built by the interpreter: walk it (backend replies are small and
     * shallow: json-c parses at most 32 levels). */
    uint64_t total = 2, s;
    int d, deepest = 0;
    if (json_object_is_type(v, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            value_measure(json_object_array_get_idx(v, i), &s, &d);
            total = value_size_add(total, s + 2);
            if (d > deepest)
                deepest = d;
        }
    } else {
        json_object_object_foreach(v, key, val) {
            value_measure(val, &s, &d);
            total = value_size_add(value_size_add(total, s + 4), strlen(key));
            if (d > deepest)
                deepest = d;
        }
    }
    *size = total;
    *depth = deepest + 1;
}

void harness_out_of_memory(size_t bytes)
{
    fprintf(stderr, "harness: out of memory (allocating %zu bytes)\n", bytes);
    exit(1);
}
