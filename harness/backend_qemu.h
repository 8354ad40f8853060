/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The real-QEMU backend on a driver that is already running: what
 * bs_backend_qemu_new() does after starting tools/qemu_driver.py, and what
 * the fuzz target uses to feed the backend a fake driver's answers.
 */
#ifndef BLOCKSIM_HARNESS_BACKEND_QEMU_H
#define BLOCKSIM_HARNESS_BACKEND_QEMU_H

#include <sys/types.h>

#include "harness/backend.h"

/* Takes over to_fd (the driver's stdin), from_fd (its stdout) and child
 * (its process id, reaped by destroy(); 0: none), reads the greeting.
 * NULL and *err on failure, everything closed and reaped. */
bs_backend *bs_backend_qemu_attach(pid_t child, int to_fd, int from_fd, char **err);

#endif
