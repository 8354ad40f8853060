/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Runs a parsed case against a backend and produces the transcript, printed
 * by the rules of QEMU iotests' log() (see json_render.h).
 */
#ifndef BLOCKSIM_HARNESS_INTERP_H
#define BLOCKSIM_HARNESS_INTERP_H

#include "harness/backend.h"
#include "harness/case.h"
#include "harness/limits.h"

/* 0 on success. On a runtime error: -1, *err = "FILE:LINE:COL: runtime
 * error: ..." (malloc'd). Either way *transcript receives what was printed
 * (malloc'd, possibly partial). Event waits use timeout_s. */
int case_run(const program *prog, bs_backend *be, double timeout_s,
             char **transcript, char **err);
/* case_run with limits other than the defaults of harness/limits.h. */
int case_run_limited(const program *prog, bs_backend *be, double timeout_s,
                     const case_limits *lim, char **transcript, char **err);

#endif
