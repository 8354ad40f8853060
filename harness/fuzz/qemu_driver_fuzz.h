/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Entry point shared by the qemu_driver libFuzzer target and its tests: the
 * real-QEMU backend (harness/backend_qemu.c) talking to a fake driver whose
 * whole output is the input bytes. */
#ifndef BLOCKSIM_HARNESS_QEMU_DRIVER_FUZZ_H
#define BLOCKSIM_HARNESS_QEMU_DRIVER_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* The fake driver's output is data: a greeting line, then one answer line
 * per request. The backend is attached to it and asked, in order: launch,
 * qmp query-block, next_event, img_compare, qmp blockdev-add (a file in the
 * test directory), next_event, img_create, qemu-img info, shutdown. Every reply the
 * backend hands back is checked against the protocol (a malformed one
 * aborts: the backend let it through). Returns how many requests
 * succeeded, or -1 when the greeting was refused; *err (malloc'd, may be
 * NULL) is the first error. */
int qemu_driver_fuzz_run(const uint8_t *data, size_t size, char **err);

#endif
