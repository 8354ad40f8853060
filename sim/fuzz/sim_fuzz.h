/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Entry point shared by the simulator's QMP libFuzzer target and its
 * regression test. The input is a script, one step per line:
 *
 *   COMMAND [JSON]              a QMP command and its arguments (any JSON
 *                               value; no JSON means no arguments)
 *   @launch / @shutdown         start / stop the simulated VM
 *   @events [N]                 take up to N (default 4, at most 16) events
 *   @img FMT PATH SIZE [BACKING]   qemu-img create
 *   @rebase PATH BACKING        qemu-img rebase -u
 *   @compare A B                qemu-img compare
 *
 * The VM is launched before the first line. At most SIM_FUZZ_MAX_STEPS
 * lines run. With SIM_FUZZ_CAP_SIZES (the fuzz target sets it), a step that
 * would create an image larger than SIM_FUZZ_MAX_SIZE (an integer "size"
 * member anywhere in the arguments, or @img's SIZE) or save that much VM
 * state ("x-ram-size") is skipped, so each run
 * is bounded in time and memory: the simulator holds sparse raw images of
 * any size, and a job over one copies it all. Regression scripts run
 * without the cap, to show the simulator's own limits.
 * Host file names in arguments ("backup-file", "config-filename") are
 * moved into the backend's scratch directory (see sim_fuzz.c).
 */
#ifndef BLOCKSIM_SIM_FUZZ_H
#define BLOCKSIM_SIM_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#define SIM_FUZZ_MAX_STEPS 64
#define SIM_FUZZ_MAX_SIZE  (64ll * 1024 * 1024)

enum { SIM_FUZZ_CAP_SIZES = 1 << 0 };

/* Run the script on a fresh simulator. Returns 0 when every reply was
 * well formed ({"return": ...} or {"error": {"class", "desc"}}) and every
 * backend failure came with a message; otherwise -1 and *err (malloc'd)
 * says which step broke the contract. */
int sim_fuzz_run(const uint8_t *data, size_t size, unsigned flags, char **err);

#endif
