/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * harness --explore: replays one case on the simulator under every schedule
 * the simulator can choose (harness/backend.h's bs_schedule) and reports the
 * distinct transcripts, each with one schedule that produces it.
 */
#ifndef BLOCKSIM_HARNESS_EXPLORE_H
#define BLOCKSIM_HARNESS_EXPLORE_H

#include <stdio.h>

#include "harness/cli.h"

typedef struct explore_opts {
    const char *const *defines; /* -D NAME=VALUE */
    size_t ndefines;
    long budget;                /* at most this many schedules (0: the default) */
    const char *dir;            /* write each distinct transcript here (NULL: no) */
} explore_opts;

#define EXPLORE_DEFAULT_BUDGET 4000

/* 0 when every schedule ran and no oracle check failed that the baseline
 * passed, 1 otherwise, 2 when the case cannot be explored. */
int harness_explore(const char *path, const explore_opts *o, backend_factory make, FILE *out,
                    FILE *errf);

#endif
