/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu_io and img_map (harness/backend.h) done by the real qemu-io and
 * qemu-img programs, while the backend serves its NBD socket.
 */
#ifndef BLOCKSIM_HARNESS_REAL_CLIENTS_H
#define BLOCKSIM_HARNESS_REAL_CLIENTS_H

#include <stddef.h>

#include "harness/backend.h"

/* Is image an NBD URI nbd+unix:///EXPORT?socket=PATH? */
int real_is_nbd_uri(const char *image);

/* As bs_backend_ops.qemu_io and .img_map. */
char *real_qemu_io(bs_backend *be, const char *image, const char *fmt, int read_only,
                   const char *const *cmds, size_t ncmds, char **err);
struct json_object *real_img_map(bs_backend *be, const char *image, const char *ctx,
                                 char **err);

#endif
