/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The simulator's persistent bitmaps (persist.c), NBD server (nbd.c) and
 * standalone client tools (tools.c: qemu-io and qemu-img map as separate
 * processes). No sockets: an export is found by its server's socket path
 * and its name.
 */
#ifndef BLOCKSIM_SIM_NBD_H
#define BLOCKSIM_SIM_NBD_H

#include "sim/sim_int.h"

/* persist.c (loading is blockdev_open's, in qmp.c) */
void persist_store(sim_node *n);        /* persistent bitmaps -> the image */

/* nbd.c */
typedef struct sim_nbd_export {
    char *name;
    sim_node *node;
    bool writable;
    char *bitmap;               /* x-nbd-server-add-bitmap: the node's bitmap */
    char *bitmap_export;        /* its name in "qemu:dirty-bitmap:NAME" */
    struct sim_nbd_export *next;
} sim_nbd_export;

typedef struct sim_nbd {
    char *socket;               /* the unix socket path it listens on */
    sim_nbd_export *exports;
} sim_nbd;

/* The NBD QMP commands; NULL when cmd is none of them. */
json_object *nbd_dispatch(sim *s, const char *cmd, json_object *args);
/* VM quit: exports and server go away. */
void nbd_stop_all(sim *s);
/* Is node n exported (blockdev-del refuses then)? */
bool nbd_node_exported(sim *s, const sim_node *n);
/* An NBD URI nbd+unix:///EXPORT?socket=PATH: true if image is one;
 * then *exp is the export (NULL with *err set when it cannot connect). */
bool nbd_uri_lookup(sim *s, const char *image, sim_nbd_export **exp, char **err);

/* One extent of qemu-img map. */
typedef struct sim_map_extent {
    uint64_t start, length;
    int depth;
    bool zero, data;
} sim_map_extent;

/* qemu-img map of an export as an NBD client sees it: context NULL is
 * base:allocation, else the meta context the client asked for
 * (x-dirty-bitmap). Extents merged as qemu-img merges them. Returns the
 * count and a malloc'd array in *out. */
size_t nbd_map(sim *s, sim_nbd_export *e, const char *context, sim_map_extent **out);

/* tools.c: the backend ops */
char *sim_tool_qemu_io(sim *s, const char *image, const char *fmt, bool read_only,
                       const char *const *cmds, size_t ncmds, char **err);
json_object *sim_tool_img_map(sim *s, const char *image, const char *context, char **err);

#endif
