/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Every internal header of the simulator, for its unit tests and for the
 * top of the stack (backend_sim.c). A file inside the model includes the
 * header of its own layer instead; the layers, bottom up (sim/README.md,
 * checked by tools/check_layers.py):
 *
 *   0 base      util.h error.h data.h qapi.h machine.h (+ event.c)
 *   1 files     store.h fs.h
 *   2 graph     node.h qcow2_meta.h qcow2_bitmap.h (+ drv_*.c, blockdev.c)
 *   3 backends  blk.h
 *   4 jobs      job.h
 *   5 commands  qmp.h nbd.h
 *   6 backend   backend_sim.c
 */
#ifndef BLOCKSIM_SIM_INT_H
#define BLOCKSIM_SIM_INT_H

#include "sim/util.h"
#include "sim/error.h"
#include "sim/qapi.h"
#include "sim/machine.h"
#include "sim/store.h"
#include "sim/fs.h"
#include "sim/node.h"
#include "sim/qcow2_meta.h"
#include "sim/qcow2_bitmap.h"
#include "sim/blk.h"
#include "sim/job.h"
#include "sim/qmp.h"
#include "sim/nbd.h"

#endif /* BLOCKSIM_SIM_INT_H */
