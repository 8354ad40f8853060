/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Keeping a case inside its test directory. Every host path a case names
 * (QMP file names, a VMA backup's backup-file, image paths, the path
 * arguments of `run`, write_file) must resolve inside the backend's test
 * directory; the interpreter checks before it acts, and the real-QEMU
 * backend checks again before it sends anything to the driver.
 *
 * Paths are normalised by their text (".", "..", "//"), then the longest
 * part that exists is resolved with realpath(), so a symbolic link inside
 * the test directory cannot lead out of it either.
 */
#ifndef BLOCKSIM_HARNESS_CONFINE_H
#define BLOCKSIM_HARNESS_CONFINE_H

struct json_object;

/* 0 when path is test_dir or inside it; otherwise -1 and *why (malloc'd)
 * says why. A relative path is taken relative to test_dir when
 * relative_ok, refused otherwise. */
int confine_path(const char *test_dir, const char *path, int relative_ok, char **why);

/* The host file names in the arguments of QMP `command` (any depth):
 * filename, backup-file, config-filename, snapshot-file, backing-file,
 * path (a unix socket address), and target of drive-backup/drive-mirror.
 * They must be absolute: QEMU and the simulator resolve relative names
 * against different directories. */
int confine_qmp_args(const char *test_dir, const char *command, struct json_object *args,
                     char **why);

/* The arguments of a tool that `run` starts in test_dir (argv[0] is the
 * tool). An argument is a path when it holds a '/' or is "..": a plain
 * argument, the value of NAME=VALUE or --opt=VALUE, or the value glued to
 * a short option (-cVALUE). Such paths must resolve inside test_dir
 * (relative ones from test_dir). Generic on purpose: every tool's
 * arguments go through it. *bad: the index of the argument refused. */
int confine_tool_args(const char *test_dir, char *const argv[], int *bad, char **why);

/* A command line given as one string (a QEMU option such as
 * `-drive file=PATH,...`; an HMP command line gets only its file= and
 * filename= options checked, its other words name nodes and QOM paths):
 * every word and every comma-separated option in it goes by the rule of
 * confine_tool_args. */
int confine_words(const char *test_dir, const char *line, char **why);

#endif
