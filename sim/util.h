/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Generic helpers every layer of the simulator may use (sim/util.c):
 * allocation that aborts instead of returning NULL, as QEMU's g_new does,
 * and JSON member lookups.
 * The bottom layer: includes nothing of sim/.
 */
#ifndef BLOCKSIM_SIM_UTIL_H
#define BLOCKSIM_SIM_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

/* json_object_object_add for a literal key: json-c keeps the pointer instead
 * of a copy. Replies and events are built by the ten thousand per case. */
#define json_add_lit(obj, key, val) \
    json_object_object_add_ex((obj), "" key "", (val), JSON_C_OBJECT_ADD_CONSTANT_KEY)

/* strdup of s ("" for NULL); aborts when memory runs out. */
char *xstrdup(const char *s);
/* asprintf into a new string; aborts when memory runs out. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* calloc(n, size) that aborts when memory runs out. */
void *xcalloc(size_t n, size_t size);
/* Member key of object o: the string (NULL when absent or not a string),
 * or any value (NULL when absent). o may be NULL. */
const char *json_str(json_object *o, const char *key);
json_object *json_member(json_object *o, const char *key);
/* Member key of o as an integer, dflt when absent. */
int64_t json_int(json_object *o, const char *key, int64_t dflt);
/* QEMU's QDict bucket of a key (qobject/qdict.c tdb_hash modulo 512): the
 * order in which QEMU walks a QDict's members (qdict_first/qdict_next),
 * e.g. to print it as JSON or to name its first left-over option. */
unsigned qdict_bucket(const char *key);

#endif /* BLOCKSIM_SIM_UTIL_H */
