/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QMP replies as every layer builds them (sim/error.c): an error is
 * {"error": {"class", "desc"}}, success {"return": ...}. Lower layers
 * hand such an error up unchanged; QMP dispatch (sim/qmp.c) passes it on.
 */
#ifndef BLOCKSIM_SIM_ERROR_H
#define BLOCKSIM_SIM_ERROR_H

#include <json-c/json.h>

json_object *qmp_error(const char *cls, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* {"return": v} (takes v) and {"return": {}} */
json_object *qmp_return(json_object *v);
json_object *qmp_ok(void);
/* The desc of an error reply, "" for anything else. */
const char *qmp_error_desc(json_object *reply);

struct sim;
/* QEMU's error_report outside a monitor command: "qemu-system-x86_64: MSG"
 * on the VM's stderr, which the VM log holds (sim->vm_log). */
void sim_error_report(struct sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* BLOCKSIM_SIM_ERROR_H */
