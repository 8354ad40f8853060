/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Linked only while sim/sim.mk does not provide libsim.a (harness.mk). */
#include "harness/backend.h"

#include <stdlib.h>
#include <string.h>

bs_backend *bs_backend_sim_new(char **err)
{
    *err = strdup("sim backend not built (sim/sim.mk provides no libsim.a)");
    return NULL;
}
