/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What a run of `vma` has created and must remove if it is interrupted:
 * the writer registers its temporary archive, extract its directory and
 * files. A program that calls vma_cleanup_install() gets them removed on
 * SIGINT, SIGTERM and SIGHUP before the signal takes its default effect;
 * without it the registry is only bookkeeping. SIGKILL cannot be caught:
 * what it leaves is named so it can be recognised (see CONTRIBUTING.md).
 */
#ifndef BLOCKSIM_VMA_CLEANUP_H
#define BLOCKSIM_VMA_CLEANUP_H

#include <stdbool.h>

/* Install the handlers (once; later calls do nothing). */
void vma_cleanup_install(void);

/* Register a path: a file to unlink, or a directory to rmdir (removed after
 * everything registered later). Returns a handle >= 0, or -1 when the
 * registry is full or out of memory. */
int vma_cleanup_add(const char *path, bool is_dir);
/* Forget a registration (the path is kept, e.g. renamed or complete). */
void vma_cleanup_forget(int handle);
/* Remove the path now and forget it. */
void vma_cleanup_remove(int handle);

#endif /* BLOCKSIM_VMA_CLEANUP_H */
