/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What tools/qemu_driver.py may send, checked field by field before the
 * real-QEMU backend (harness/backend_qemu.c) uses any of it: a driver that
 * is broken, or not ours, gives an error naming the field, never a crash.
 * Each function returns 0, or -1 with *err (malloc'd) naming the field.
 */
#ifndef BLOCKSIM_HARNESS_QEMU_PROTO_H
#define BLOCKSIM_HARNESS_QEMU_PROTO_H

struct json_object;

/* The greeting: {"hello": "blocksim-qemu-driver", "version": 1,
 * "test_dir": ABSOLUTE PATH, "pid": DIGITS}. *test_dir and *pid point
 * into hello. */
int qemu_proto_hello(struct json_object *hello, const char **test_dir, const char **pid,
                     char **err);

/* An answer: {"ok": true, "result": ANY} or {"ok": false, "error": TEXT}.
 * *ok tells which; *result (borrowed, may be JSON null) or *error (borrowed). */
int qemu_proto_answer(struct json_object *resp, int *ok, struct json_object **result,
                      const char **error, char **err);

/* A QMP reply: {"return": ANY} or {"error": {"class": TEXT, "desc": TEXT}}. */
int qemu_proto_qmp_reply(struct json_object *reply, char **err);

/* An event: {"event": TEXT, ["data": OBJECT], ["timestamp": {"seconds":
 * INT, "microseconds": INT}]}. */
int qemu_proto_event(struct json_object *ev, char **err);

/* The result of op "img" (any qemu-img command): {"rc": INT, "stdout":
 * TEXT, "stderr": TEXT}. */
int qemu_proto_img_result(struct json_object *r, char **err);

#endif
