/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the case interpreter asks of a block layer. Two implementations:
 *   sim/backend_sim.c       the in-memory simulator (deterministic)
 *   harness/backend_qemu.c  real QEMU 7.2, through tools/qemu_driver.py
 * The interpreter, the oracle and the transcript renderer are shared, so a
 * case prints by the same rules whichever backend runs it.
 *
 * JSON values are json-c objects. Ownership: arguments are borrowed;
 * returned objects belong to the caller (json_object_put them).
 * Errors: a function that fails sets *err to a malloc'd message (caller
 * frees) and returns NULL / negative. A QMP *command* error is not a
 * failure: it is a normal reply {"error": {"class": ..., "desc": ...}}.
 */
#ifndef BLOCKSIM_HARNESS_BACKEND_H
#define BLOCKSIM_HARNESS_BACKEND_H

#include <stddef.h>
#include <stdint.h>

struct json_object;
typedef struct bs_backend bs_backend;

/* One schedule: each index is 1-based among the events of its kind since
 * set_schedule, 0 for none. */
#define BS_SCHED_TEXT 160
#define BS_SCHED_MOVABLE 32

typedef struct bs_schedule {
    long fail_read;             /* this job read (a cluster copy's read) fails: EIO */
    long fail_write;            /* this job write (data or zeroes to the target) fails: EIO */
    long skip_injection;        /* this blkdebug-injected error does not land */
    /* guest write move_write (an HMP qemu-io write issued while a backup
     * job exists) happens once move_after job writes are done instead of
     * when the case issues it; its reply is kept for that moment */
    long move_write, move_after;
    char move_node[BS_SCHED_TEXT], move_cmd[BS_SCHED_TEXT];
    char move_job[BS_SCHED_TEXT];   /* the job it moves within, by id */
} bs_schedule;

typedef struct bs_schedule_counts {
    long reads, writes, injections;
    long guest_writes;
    /* guest writes issued while a backup job existed: where they can go,
     * after lo .. hi job writes (hi: where the case put them) */
    size_t nmovable;
    struct {
        long index, lo, hi;
        char node[BS_SCHED_TEXT], cmd[BS_SCHED_TEXT], job[BS_SCHED_TEXT];
    } movable[BS_SCHED_MOVABLE];
} bs_schedule_counts;

typedef struct bs_backend_ops {
    const char *name;                         /* "sim", "qemu" */

    /* Start a VM (a QEMU process, or a fresh simulated machine) with a QMP
     * monitor, capabilities negotiated. The image files in the test
     * directory survive launches. */
    int (*launch)(bs_backend *b, char **err);
    /* launch, with extra QEMU command-line arguments (iotests' VM.add_drive
     * gives "-drive" "if=...,id=drive0,file=..."; "-machine" "pc" when a
     * drive has a virtio device; -blockdev, -device). NULL where a backend
     * cannot. */
    int (*launch_args)(bs_backend *b, const char *const *argv, size_t argc, char **err);
    /* Quit the VM (QMP quit or equivalent); drops its nodes, jobs, bitmaps
     * (persistent bitmaps are stored back into their qcow2 images). */
    int (*shutdown)(bs_backend *b, char **err);

    /* Run one QMP command (args may be NULL) and return the whole reply:
     * {"return": ...} or {"error": {"class": ..., "desc": ...}}. HMP goes
     * through "human-monitor-command" like in QEMU. */
    struct json_object *(*qmp)(bs_backend *b, const char *command,
                               struct json_object *args, char **err);

    /* The dirty bitmaps of every node, which the `bitmaps` statement takes
     * from query-named-block-nodes: {node-name: its "dirty-bitmaps"} for the
     * nodes that have some. A shortcut with the query's effects and answer;
     * NULL where a backend has none (the harness then sends the query). */
    struct json_object *(*dirty_bitmaps)(bs_backend *b, char **err);

    /* The next QMP event, in emission order: {"event", "data", "timestamp"}.
     * The simulator runs its virtual machine (jobs progress on the virtual
     * clock) until an event exists, and returns NULL with *err == NULL when
     * nothing more can ever happen. QEMU waits up to timeout_s seconds.
     * timeout_s <= 0 asks only for what has already arrived (iotests'
     * get_qmp_events(wait=False)): the simulator does not run its machine
     * then, QEMU is given a millisecond. */
    struct json_object *(*next_event)(bs_backend *b, double timeout_s, char **err);

    /* qemu-img, on files named by absolute path (inside test_dir). */
    int (*img_create)(bs_backend *b, const char *fmt, const char *path,
                      uint64_t size, const char *backing, const char *backing_fmt,
                      char **err);
    /* qemu-img rebase -u -b BACKING PATH: only the backing pointer changes. */
    int (*img_rebase_unsafe)(bs_backend *b, const char *path, const char *backing,
                             char **err);
    /* qemu-img compare A B: 0 identical, 1 mismatch, negative on error. */
    int (*img_compare)(bs_backend *b, const char *a, const char *b2, char **err);

    /* qemu-img with any arguments (argv without the program name):
     * its exit code, *out and *errout its stdout and stderr (malloc'd).
     * Negative with *err when it cannot be run. NULL where a backend
     * lacks it. */
    int (*img_run)(bs_backend *b, const char *const *argv, size_t argc, char **out,
                   char **errout, char **err);

    /* XOR mask into the byte at offset off of image file path (iotests that
     * corrupt an image on purpose, e.g. 242's toggle_flag). NULL where a
     * backend lacks it. */
    int (*file_xor)(bs_backend *b, const char *path, uint64_t off, uint8_t mask, char **err);

    void (*destroy)(bs_backend *b);

    /* Client tools for shell-style tests; NULL where a backend lacks them.
     * IMAGE is an image file, or an NBD URI nbd+unix:///EXPORT?socket=PATH
     * naming an export of the running VM.
     * qemu_io: a standalone qemu-io process (-r when read_only; fmt NULL
     * probes) running cmds in order; opening and closing the image loads
     * and stores its persistent bitmaps. Returns its output, unfiltered
     * (malloc'd); a failure to open is output too, as qemu-io prints it. */
    char *(*qemu_io)(bs_backend *b, const char *image, const char *fmt, int read_only,
                     const char *const *cmds, size_t ncmds, char **err);
    /* qemu-img map --output=json IMAGE; context: the NBD client's
     * x-dirty-bitmap (e.g. "qemu:dirty-bitmap:b"), or NULL. Returns the
     * extents qemu-img prints: [{start, length, depth, zero, data
     * [, offset]}]. NULL and *err: what qemu-img printed on failure. */
    struct json_object *(*img_map)(bs_backend *b, const char *image, const char *context,
                                   char **err);

    /* What the VM launched last printed on its stdout and stderr so far
     * (iotests' vm.get_log(); HMP qemu-io's output lands there), also
     * after its shutdown (malloc'd). NULL where a backend lacks it. */
    char *(*vm_log)(bs_backend *b, char **err);


    /* Serve the VM's sockets (its NBD server) for up to timeout_ms while a
     * client program runs: accept, read requests, answer them. 0 or more
     * when all is well, negative on failure. NULL where the VM serves by
     * itself (a real QEMU process). */
    int (*serve)(bs_backend *b, int timeout_ms);

    /* qemu-img create -f FMT -o OPTIONS PATH SIZE (e.g. "cluster_size=4k");
     * NULL where a backend takes no options. */
    int (*img_create_opts)(bs_backend *b, const char *fmt, const char *path, uint64_t size,
                           const char *options, char **err);

    /* A qemu-nbd server process beside the VM (iotests' common.nbd):
     * argv is qemu-nbd's command line (argv[0] "qemu-nbd", -k SOCKET among
     * the options); it replaces a running one and is serving when this
     * returns. stop ends it (no-op when none). NULL where not modelled. */
    int (*qemu_nbd_start)(bs_backend *b, char *const argv[], char **err);
    void (*qemu_nbd_stop)(bs_backend *b);

    /* The explorer (harness --explore): a schedule the machine follows from
     * now on, and what it has counted since. NULL where a backend cannot
     * choose its schedule (real QEMU). */
    void (*set_schedule)(bs_backend *b, const struct bs_schedule *plan);
    void (*schedule_counts)(bs_backend *b, struct bs_schedule_counts *seen);
} bs_backend_ops;


struct bs_backend {
    const bs_backend_ops *ops;
    /* Where image files live, and the process-id string used in file names
     * (iotests: TEST_DIR/PID-img). The renderer filters both. */
    const char *test_dir;
    const char *pid;
    /* --nbd-clients real: qemu_io and img_map on an NBD URI run the real
     * qemu-io and qemu-img against the export's socket (set by the
     * harness after construction; the real-QEMU backend always does). */
    int real_nbd_clients;
};

/* Constructors. */
bs_backend *bs_backend_sim_new(char **err);
bs_backend *bs_backend_qemu_new(const char *driver_path, char **err);

#endif /* BLOCKSIM_HARNESS_BACKEND_H */
