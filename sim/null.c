/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The null-co driver (QEMU 7.2 block/null.c): a node of a given size
 * (default 1 GiB) that stores nothing. Reads return zeroes here (QEMU
 * leaves the buffer alone unless read-zeroes is set), writes succeed and
 * vanish, and block status says neither data nor zero.
 */
#include <stdlib.h>

#include "sim/sim_int.h"

#define NULL_DEFAULT_SIZE (1ull << 30)  /* null_file_open's default length */

json_object *null_open(sim *s, json_object *opts, const char *name, sim_node **out)
{
    json_object *err, *v = NULL;
    if (name && (err = node_name_check(s, name))) {
        return err;
    }
    int64_t size = (int64_t)NULL_DEFAULT_SIZE;
    if (json_object_object_get_ex(opts, "size", &v)) {
        size = json_object_get_int64(v);
    }
    if (size < 0) {
        return qmp_error("GenericError", "Parameter 'size' expects a non-negative number below 2^64");
    }
    sim_node *n = node_new(s, DRV_NULL, name);
    n->null_size = (uint64_t)size;
    *out = n;
    return NULL;
}
