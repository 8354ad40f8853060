/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The functions of the scenario language (basename(), get(), has(), len(),
 * pair()): what an iotest's Python does to a QMP reply before logging it,
 * e.g. res['inserted'].get('dirty-bitmaps', []). The parser checks names
 * and arity here; the interpreter calls case_func_call with the evaluated
 * arguments.
 */
#ifndef BLOCKSIM_HARNESS_CASE_FUNCS_H
#define BLOCKSIM_HARNESS_CASE_FUNCS_H

#include <stddef.h>

struct json_object;

/* 0 and the argument range of function NAME, or -1 when there is none. */
int case_func_arity(const char *name, size_t *min, size_t *max);

/* Call NAME on args (borrowed). none is the language's `none` sentinel.
 * Returns 0 and a new reference in *out, or -1 and a malloc'd message. */
int case_func_call(const char *name, struct json_object *const *args, size_t n,
                   struct json_object *none, struct json_object **out, char **err);

#endif
