/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Layer 5 (commands), beside sim/qmp.h: the simulator's NBD server (nbd.c) and
 * standalone client tools (tools.c: qemu-io and qemu-img map as separate
 * processes, internal ones or the real programs). The server listens on a
 * real unix socket (nbd_server.c speaks the protocol); the internal
 * clients find an export by its server's socket path and its name.
 */
#ifndef BLOCKSIM_SIM_NBD_H
#define BLOCKSIM_SIM_NBD_H

#include "sim/qmp.h"

/* nbd.c */
typedef struct sim_nbd_export {
    char *name;
    sim_node *node;
    bool writable;
    char *bitmap;               /* x-nbd-server-add-bitmap: the node's bitmap */
    char *bitmap_export;        /* its name in "qemu:dirty-bitmap:NAME" */
    sim_node *bitmap_owner;     /* the bitmap's node when given as {node, name} */
    bool bitmap_busy;           /* it marked its bitmap busy (7.2 exports) */
    /* more bitmaps of a qemu-nbd export (-B given again), each its own
     * context qemu:dirty-bitmap:NAME, found like `bitmap` without an owner */
    char **more_bitmaps;
    size_t nmore;
    bool single_conn;           /* qemu-nbd's: no CAN_MULTI_CONN */
    bool alloc_depth;           /* offers qemu:allocation-depth (qemu-nbd -A) */
    char *description;          /* NBD_INFO_DESCRIPTION, or NULL */
    char *id;                   /* block export id (7.2), or NULL */
    unsigned long serial;       /* unique per export made: an NBD client's
                                 * connection is to this one (drv_nbd.c) */
    struct sim_nbd_export *next;
} sim_nbd_export;

typedef struct sim_nbd {
    char *socket;               /* the unix socket path it listens on */
    sim_nbd_export *exports;
    int listen_fd;              /* -1 before it listens */
    struct nbd_conn *conns;     /* connected clients (nbd_server.c) */
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

/* qemu:allocation-depth of [off, off+len) from node n (QEMU's
 * bdrv_is_allocated_above over the chain): the depth of the first layer
 * that allocates it (1: n itself), 0 when none does; *pnum the bytes that
 * share it. */
unsigned nbd_alloc_depth(sim *s, sim_node *n, uint64_t off, uint64_t len, uint64_t *pnum);
/* The bitmap behind an export's qemu:dirty-bitmap context, or NULL. */
sim_bitmap *nbd_export_bitmap(const sim_nbd_export *e);
/* The export's bitmaps, context by context: how many, the name of the
 * i-th in qemu:dirty-bitmap:NAME (0 is `bitmap`), and its bitmap (NULL
 * when gone). */
size_t nbd_export_nbitmaps(const sim_nbd_export *e);
const char *nbd_export_bitmap_name(const sim_nbd_export *e, size_t i);
sim_bitmap *nbd_export_bitmap_at(const sim_nbd_export *e, size_t i);
/* qemu-nbd's -B again: one more bitmap for export e (of node n or down
 * its chain, marked busy); a QMP reply. */
json_object *nbd_export_more_bitmap(sim_nbd_export *e, const char *bitmap);

/* nbd_server.c: the protocol on the socket */
/* base:allocation of [off, off+len) from node n (QEMU's
 * bdrv_block_status_above over the chain): NBD_STATE_HOLE (1) unless the
 * answering layer holds data, NBD_STATE_ZERO (2) when it reads as zeroes;
 * *pnum the bytes that share it. */
uint32_t nbd_alloc_state(sim *s, sim_node *n, uint64_t off, uint64_t len, uint64_t *pnum);
int nbd_server_listen(sim_nbd *srv, const char *path, char **err);
/* Hang up on every client, stop listening, remove the socket file. */
void nbd_server_close(sim_nbd *srv);
/* Export e is going away: its clients are disconnected. */
void nbd_server_export_gone(sim_nbd *srv, sim_nbd_export *e);
/* Serve the socket for up to timeout_ms: accept clients, handle every
 * complete request that has arrived (each one an event of the VM), send
 * replies. Returns how many things happened, or -1 when poll failed. */
int nbd_server_serve(sim *s, int timeout_ms);
/* Does any client stay connected? */
bool nbd_server_busy(sim *s);

/* qemu-nbd's export of node n: name, writable, bitmap (NULL: none) looked
 * up on the node; a QMP reply. */
json_object *nbd_export_node(sim *s, sim_node *n, const char *name, bool writable,
                             const char *bitmap);

/* qemu_nbd.c: a qemu-nbd server process (argv as qemu-nbd's, argv[0] the
 * program); one at a time, a new one replaces the old. */
int sim_qemu_nbd_start(sim *s, char *const argv[], char **err);
void sim_qemu_nbd_stop(sim *s);
int sim_qemu_nbd_serve(sim *s, int timeout_ms);
/* The qemu-nbd process's machine (its file list in step with the VM's),
 * or NULL when none runs. */
sim *sim_qemu_nbd_machine(sim *s);

/* iothread.c: object-add iothread, x-blockdev-set-iothread; NULL when cmd
 * is neither. */
json_object *iothread_dispatch(sim *s, const char *cmd, json_object *args);
void iothread_free_all(sim *s);

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

/* drv_nbd.c: the NBD client driver (registered by backend_sim.c) */
extern const sim_drv_ops drv_nbd;

/* nbd.c: the errno an NBD client sees for a server-side errno */
int nbd_wire_errno(int err);

/* tools.c: the backend ops */
char *sim_tool_qemu_io(sim *s, const char *image, const char *fmt, bool read_only,
                       const char *const *cmds, size_t ncmds, char **err);
json_object *sim_tool_img_map(sim *s, const char *image, const char *context, char **err);

#endif
