/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A scripted stand-in for a block layer, for the harness's unit tests: it
 * answers every QMP command with {"return": {}} (or a reply the test set),
 * and plays the job life cycle of QEMU 7.2 as JOB_STATUS_CHANGE and
 * BLOCK_JOB_* events, so run_job can be exercised without the simulator.
 */
#ifndef BLOCKSIM_HARNESS_TESTS_FAKE_BACKEND_H
#define BLOCKSIM_HARNESS_TESTS_FAKE_BACKEND_H

#include "harness/backend.h"
#include "harness/sbuf.h"

struct json_object;

typedef struct fake_backend {
    bs_backend base;
    sbuf calls;                     /* one line per backend call */
    struct json_object *nodes;      /* query-named-block-nodes' return */
    struct json_object *replies;    /* command name -> reply to give instead */
    struct json_object **ev;        /* queued events */
    size_t nev, cap;
    int fail_launch, fail_shutdown, fail_img_create, fail_rebase;
    int compare_ret;                /* img_compare's result */
    const char *fail_qmp;           /* command whose qmp() returns NULL */
    int silent_jobs;                /* blockdev-create/backup emit no events */
    int fail_events;                /* next_event fails with an error */
} fake_backend;

fake_backend *fake_new(void);
/* Queue an event (takes the reference). */
void fake_push_event(fake_backend *f, struct json_object *ev);
/* Queue {"event": name, "data": data-json, "timestamp": {...}}. */
void fake_push(fake_backend *f, const char *name, const char *data_json);
/* Set the reply for a command (parsed from JSON text). */
void fake_reply(fake_backend *f, const char *cmd, const char *reply_json);
/* Parses src as "t.case" (a parse error fails the test) and runs it on f with
 * a 1 s event timeout; case_run's result, transcript and error. */
int fake_run_case(fake_backend *f, const char *src, char **out, char **err);

#endif
