/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The harness command line, separate from main() so unit tests can drive it
 * with a fake backend. */
#ifndef BLOCKSIM_HARNESS_CLI_H
#define BLOCKSIM_HARNESS_CLI_H

#include <stdio.h>

#include "harness/backend.h"

/* Makes a fresh backend by name ("sim", "qemu"); NULL and *err on failure. */
typedef bs_backend *(*backend_factory)(const char *name, char **err);

/* Exit status: 0 all cases passed, 1 some failed, 2 usage error. */
int harness_main(int argc, char **argv, backend_factory make, FILE *out, FILE *err);

/* The real backends (harness/backends.c). */
bs_backend *harness_backend_new(const char *name, char **err);

#endif
