/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The simulator backend (skeleton: every command is CommandNotFound). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "harness/backend.h"

typedef struct sim_backend {
    bs_backend base;
} sim_backend;

static int sim_launch(bs_backend *b, char **err) { return 0; }
static int sim_shutdown(bs_backend *b, char **err) { return 0; }

static struct json_object *sim_qmp(bs_backend *b, const char *command,
                                   struct json_object *args, char **err)
{
    struct json_object *reply = json_object_new_object();
    struct json_object *e = json_object_new_object();
    char desc[256];
    snprintf(desc, sizeof desc, "The command %s has not been found", command);
    json_object_object_add(e, "class", json_object_new_string("CommandNotFound"));
    json_object_object_add(e, "desc", json_object_new_string(desc));
    json_object_object_add(reply, "error", e);
    return reply;
}

static struct json_object *sim_next_event(bs_backend *b, double timeout_s, char **err)
{
    *err = NULL;
    return NULL;
}

static int sim_img_create(bs_backend *b, const char *fmt, const char *path,
                          uint64_t size, const char *backing,
                          const char *backing_fmt, char **err)
{
    *err = strdup("not implemented");
    return -1;
}

static int sim_img_rebase_unsafe(bs_backend *b, const char *path,
                                 const char *backing, char **err)
{
    *err = strdup("not implemented");
    return -1;
}

static int sim_img_compare(bs_backend *b, const char *a, const char *b2, char **err)
{
    *err = strdup("not implemented");
    return -1;
}

static void sim_destroy(bs_backend *b) { free(b); }

static const bs_backend_ops sim_ops = {
    .name = "sim",
    .launch = sim_launch,
    .shutdown = sim_shutdown,
    .qmp = sim_qmp,
    .next_event = sim_next_event,
    .img_create = sim_img_create,
    .img_rebase_unsafe = sim_img_rebase_unsafe,
    .img_compare = sim_img_compare,
    .destroy = sim_destroy,
};

bs_backend *bs_backend_sim_new(char **err)
{
    sim_backend *s = calloc(1, sizeof *s);
    if (!s) {
        *err = strdup("out of memory");
        return NULL;
    }
    s->base.ops = &sim_ops;
    s->base.test_dir = "/tmp/blocksim";
    s->base.pid = "1000";
    return &s->base;
}
