/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A killed harness removes its backend's test directory: SIGINT, SIGTERM
 * and SIGHUP remove the directory being watched, then end the program by
 * the same signal (so the caller still sees how it died). Only the program
 * installs the handlers (harness/main.c); the unit tests never do.
 */
#ifndef BLOCKSIM_HARNESS_CLEANUP_H
#define BLOCKSIM_HARNESS_CLEANUP_H

/* Install the handlers for SIGINT, SIGTERM and SIGHUP. */
void cleanup_install_signals(void);

/* The directory to remove if a signal comes (a copy is kept); NULL: none.
 * Watch a backend's test_dir from its creation to its destruction. */
void cleanup_watch(const char *dir);

#endif
