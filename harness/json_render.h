/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Render json-c values exactly like Python's json.dumps(obj, sort_keys=True,
 * indent=N) with its defaults (ensure_ascii=True; separators ", " and ": ",
 * or "," and ": " at line ends when indenting), which is what iotests' log()
 * prints. Keys are sorted recursively.
 */
#ifndef BLOCKSIM_HARNESS_JSON_RENDER_H
#define BLOCKSIM_HARNESS_JSON_RENDER_H

#include "harness/sbuf.h"

struct json_object;

/* indent < 0: one line. indent >= 0: Python's indent=N layout. */
void json_render(sbuf *out, struct json_object *o, int indent);
/* One JSON string literal, Python-escaped. s is UTF-8 of length n. */
void json_render_string(sbuf *out, const char *s, size_t n);
/* Python's repr() of a float. */
void json_render_double(sbuf *out, double d);
/* The arguments of an iotests qmp_log line: iotests' ordered_qmp() turns
 * '_' into '-' in the keys of the top-level object and of objects inside
 * lists (not in other nested objects), and orders every object by its
 * original keys. One line. */
void json_render_qmp_args(sbuf *out, struct json_object *args);
/* iotests' qmp_log line {"execute": CMD, "arguments": ARGS} (args NULL:
 * {}), on one line (indent < 0) or as log(..., indent=N) prints it. */
void json_render_qmp_command(sbuf *out, const char *cmd, struct json_object *args, int indent);
/* What QEMUMachine.qmp() sends: a copy with '_' turned into '-' in the
 * top-level keys only. NULL stays NULL. */
struct json_object *qmp_convert_top_keys(struct json_object *args);
/* Convenience: a malloc'd rendering. */
char *json_render_alloc(struct json_object *o, int indent);

/* iotests' filter_testfiles: every "<test_dir>/<pid>-" becomes
 * "TEST_DIR/PID-". Returns a malloc'd copy. */
char *filter_testfiles(const char *text, const char *test_dir, const char *pid);
/* The same, appended to out. */
void filter_testfiles_to(sbuf *out, const char *text, const char *test_dir, const char *pid);

#endif
