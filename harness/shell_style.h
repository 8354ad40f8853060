/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Output of bash iotests (the style of 2018's iotest 223): QMP replies as
 * QEMU sends them (members in QEMU's order, not sorted), and the sed
 * filters of tests/qemu-iotests/common.filter that such tests pipe through.
 */
#ifndef BLOCKSIM_HARNESS_SHELL_STYLE_H
#define BLOCKSIM_HARNESS_SHELL_STYLE_H

#include "harness/sbuf.h"

struct json_object;

/* One line of QEMU's QMP JSON: ", " and ": " separators, members in the
 * order they were added. */
void shell_json(sbuf *out, struct json_object *o);

/* _filter_qmp's timestamp rule: "seconds"/"microseconds" of a
 * "timestamp" member become TIMESTAMP. Returns a malloc'd line. */
char *shell_qmp_line(struct json_object *o);

/* _filter_qemu_io: qemu-io's timing line becomes
 * "X ops; XX:XX:XX.X (XXX YYY/sec and XXX ops/sec)". Malloc'd. */
char *shell_filter_qemu_io(const char *text);

/* 7.2's _filter_img_create on one line: a "Formatting 'F', fmt=..." line
 * keeps fmt, size, backing*, data_file, encryption and preallocation, in
 * that order; other lines are returned as they are. */
char *shell_filter_img_create(const char *line);

/* _filter_testdir and _filter_imgfmt: every test_dir becomes TEST_DIR and
 * every occurrence of fmt (when not NULL) IMGFMT. Malloc'd. */
char *shell_filter_paths(const char *text, const char *test_dir, const char *fmt);

/* qemu-img map --output=json of 2018 (QEMU 3.0): one extent per line,
 * `[{ "start": S, "length": L, "depth": D, "zero": Z, "data": B}` joined by
 * ",\n", closing with "]"; offsets printed as OFFSET, as
 * _filter_qemu_img_map does. Returns 0, or -1 when an extent lacks a
 * member. */
int shell_map_json(sbuf *out, struct json_object *extents);

/* The same in QEMU 7.2's form: `"present": P` after depth, as 7.2's
 * qemu-img prints it. Returns -1 when an extent lacks a member. */
int shell_map_json72(sbuf *out, struct json_object *extents);

#endif
