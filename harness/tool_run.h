/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Running the project's own command-line tools from a case (`run vma ...`):
 * where the program is, and its output.
 */
#ifndef BLOCKSIM_HARNESS_TOOL_RUN_H
#define BLOCKSIM_HARNESS_TOOL_RUN_H

/* The path of tool `name`: "vma" is $BLOCKSIM_VMA if set, else beside the
 * running harness program; the NBD clients "qemu-img", "qemu-io",
 * "nbdinfo" and "qemu-nbd" are $BLOCKSIM_QEMU_IMG / _QEMU_IO / _NBDINFO /
 * _QEMU_NBD if set, else found on PATH. malloc'd, or NULL for a tool we do not know. */
char *tool_path(const char *name);

/* Run path with argv (argv[0] is the name shown in its messages), in the
 * C locale and UTC so its output does not depend on the host; stdout and
 * stderr together into *out (malloc'd). Returns the exit status (0..255),
 * or -1 with *err set when it could not run. */
int tool_run(const char *path, char *const argv[], char **out, char **err);
/* The same, run in directory dir (NULL: the current one). */
int tool_run_in(const char *dir, const char *path, char *const argv[], char **out, char **err);

/* The same, in be's test directory, while be serves its sockets
 * (be->ops->serve) so that the program can talk to the simulated VM's NBD
 * server. be NULL is plain tool_run; a backend without serve only sets the
 * directory. */
struct bs_backend;
int tool_run_serving(struct bs_backend *be, const char *path, char *const argv[], char **out,
                     char **err);

#endif
