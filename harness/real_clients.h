/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu_io and img_map (harness/backend.h) done by the real qemu-io and
 * qemu-img programs, while the backend serves its NBD socket.
 */
#ifndef BLOCKSIM_HARNESS_REAL_CLIENTS_H
#define BLOCKSIM_HARNESS_REAL_CLIENTS_H

#include <stddef.h>
#include <sys/types.h>

#include "harness/backend.h"

/* Is image an NBD URI nbd+unix:///EXPORT?socket=PATH? */
int real_is_nbd_uri(const char *image);

/* As bs_backend_ops.img_create_opts, .qemu_io and .img_map. */
int real_img_create(bs_backend *be, const char *fmt, const char *path, uint64_t size,
                    const char *options, char **err);
char *real_qemu_io(bs_backend *be, const char *image, const char *fmt, int read_only,
                   const char *const *cmds, size_t ncmds, char **err);
struct json_object *real_img_map(bs_backend *be, const char *image, const char *ctx,
                                 char **err);

/* A real qemu-nbd server process with argv (argv[0] "qemu-nbd", -k SOCKET
 * among the options), once its socket exists: its pid, or -1 and *err. */
pid_t real_qemu_nbd_spawn(char *const argv[], char **err);
/* Ends it (SIGTERM, as iotests' nbd_server_stop) and reaps it. */
void real_qemu_nbd_kill(pid_t pid);

/* An interactive qemu-io (iotests' QemuIoInteractive) with argv (argv[0]
 * "qemu-io"), once it shows its first prompt; NULL and *err (what it
 * printed) when it failed to open. cmd: one command, its output up to the
 * next prompt (malloc'd). close: "q", then it is reaped. The backend
 * serves its sockets while each waits. */
typedef struct real_io_session real_io_session;
real_io_session *real_io_open(bs_backend *be, char *const argv[], char **err);
char *real_io_cmd(real_io_session *p, bs_backend *be, const char *cmd, char **err);
void real_io_close(real_io_session *p, bs_backend *be);

#endif
