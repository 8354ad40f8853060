/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The simulated machine: one struct sim holds every layer's state (files,
 * nodes, jobs, exports, ...), each layer's part behind a pointer to a type
 * that layer's header defines. Also the event queue and virtual clock
 * (sim/event.c). Part of the bottom layer: everything above includes it.
 */
#ifndef BLOCKSIM_SIM_MACHINE_H
#define BLOCKSIM_SIM_MACHINE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <json-c/json.h>

#include "harness/backend.h"

typedef struct sim_file sim_file;             /* sim/fs.h */
typedef struct sim_node sim_node;             /* sim/node.h */
typedef struct sim_job sim_job;               /* sim/job.h */
typedef struct sim_throttle_group sim_throttle_group;  /* sim/throttle.c */
typedef struct pve_state pve_state;           /* sim/pve_backup.c */

typedef struct sim_event {
    json_object *ev;
    struct sim_event *next;
} sim_event;

typedef struct sim {
    bs_backend base;
    sim_file *files;
    sim_node *nodes;            /* creation order */
    sim_job *jobs;
    sim_event *ev_head, *ev_tail;
    uint64_t clock_ns;
    unsigned node_counter;
    bool running;               /* a VM is launched */
    bool vm_stopped;            /* QMP stop (runstate.c) */
    /* the VM's stdout since launch, HMP qemu-io's output: a memory stream
     * (sim/hmp.c), so appending costs what is appended */
    FILE *vm_out;
    char *vm_log;
    size_t vm_log_len;
    struct sim_nbd *nbd;        /* NBD server (sim/nbd.c), NULL when stopped */
    sim_throttle_group *tgroups;    /* throttle-group objects (throttle.c) */
    uint64_t io_deadline_ns;    /* a timed copy-before-write in progress: its end */
    bool io_timed_out;          /* ... and a request of it ran past that end */
    pve_state *pve;             /* the VMA backup (pve_backup.c), NULL before one */
    /* Called before every guest write reaches a node's driver; a negative
     * errno fails the write. The VMA backup sets it (pve_backup.c), so the
     * node layer needs no knowledge of the job layer. */
    int (*before_write)(struct sim *s, sim_node *n, uint64_t off, uint64_t len);
    uint64_t seed;              /* varies generated uuids; 0 unless a test sets it */
    char *scratch;              /* real directory for archives: base.test_dir */
    bs_schedule sched;          /* the explorer's choices (sim/schedule.c) */
    bs_schedule_counts sched_seen;
    const void *sched_job;      /* the backup job whose writes were counted last */
    long sched_job_first;       /* job writes before its first one */
    bool sched_moved;           /* the moved guest write has happened */
    bool sched_exploring;       /* a schedule was set: job I/O is being counted */
    char *sched_moved_reply;    /* and its reply, for when the case issues it */
    /* Called on every tick of the jobs' clock, before the jobs run; the
     * backend sets it to the explorer's sched_tick (schedule_io.c), which
     * lives above the jobs. */
    void (*tick_hook)(struct sim *s);
    json_object *iothreads;     /* ids of iothread objects (iothread.c) */
    struct sim_blk *blks;       /* block backends (-drive), sim/drive.c */
    bool defer_job_start;       /* a transaction's prepare: jobs start at commit */
    struct sim_qemu_nbd *qemu_nbd;  /* a qemu-nbd process beside the VM (qemu_nbd.c) */
} sim;

#define SIM_EPOCH_S 1700000000ull   /* virtual wall clock start */

/* event.c: queue a QMP event at the virtual clock (1 us after the last). */
void ev_emit(sim *s, const char *name, json_object *data);
/* event.c: text QEMU prints on its stdout (the VM's log), and the line
 * bdrv_img_create prints for an image QEMU creates itself */
FILE *vm_out_stream(sim *s);
/* The VM's stdout so far (malloc'd), and dropping it at a new launch. */
char *sim_vm_log_copy(sim *s);
void sim_vm_log_drop(sim *s);
void vm_log_add(sim *s, const char *text);
void vm_log_formatting(sim *s, const char *path, const char *fmt, uint64_t size,
                       const char *backing, const char *backing_fmt);

/* schedule.c: the explorer's choices. Each returns 0, or -EIO for the one
 * job I/O the schedule fails; sched_skip_injection says whether this
 * blkdebug injection is the one that does not land. */
int sched_job_read(sim *s);
int sched_job_write(sim *s, const void *job);
bool sched_skip_injection(sim *s);
void sim_set_schedule(bs_backend *b, const bs_schedule *plan);
void sim_schedule_counts(bs_backend *b, bs_schedule_counts *seen);

#endif /* BLOCKSIM_SIM_MACHINE_H */
