/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Backend selection by name, for the harness command line. */
#include "harness/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where the qemu backend's driver lives, relative to the repository root
 * (make runs the harness from there). */
#define QEMU_DRIVER "tools/qemu_driver.py"

bs_backend *harness_backend_new(const char *name, char **err)
{
    if (!strcmp(name, "sim"))
        return bs_backend_sim_new(err);
    if (!strcmp(name, "qemu"))
        return bs_backend_qemu_new(QEMU_DRIVER, err);
    if (asprintf(err, "unknown backend '%s'", name) < 0)
        abort();
    return NULL;
}
