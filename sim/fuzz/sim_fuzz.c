// SPDX-License-Identifier: GPL-2.0-or-later
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "harness/backend.h"
#include "sim/fuzz/sim_fuzz.h"

static int fail(char **err, unsigned step, const char *what)
{
    if (!*err && asprintf(err, "step %u: %s", step, what) < 0) {
        *err = NULL;
    }
    return -1;
}

/* Does v hold an integer "size" (or VMA backup "x-ram-size") member beyond
 * the cap? */
static bool too_big(json_object *v, int depth)
{
    if (!v || depth > 64) {
        return depth > 64;
    }
    if (json_object_is_type(v, json_type_object)) {
        json_object_object_foreach(v, key, val) {
            if ((!strcmp(key, "size") || !strcmp(key, "x-ram-size")) &&
                json_object_is_type(val, json_type_int) &&
                json_object_get_int64(val) > SIM_FUZZ_MAX_SIZE) {
                return true;
            }
            if (too_big(val, depth + 1)) {
                return true;
            }
        }
    } else if (json_object_is_type(v, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            if (too_big(json_object_array_get_idx(v, i), depth + 1)) {
                return true;
            }
        }
    }
    return false;
}

/* Arguments that name real host files (the VMA `backup` writes its archive
 * and reads its config files on the host) are pointed into the backend's
 * scratch directory, which the backend removes: a run never touches files
 * elsewhere. Only the base name of what the input says is kept. */
static void confine_host_paths(bs_backend *b, json_object *args)
{
    static const char *const keys[] = { "backup-file", "config-filename" };

    if (!json_object_is_type(args, json_type_object)) {
        return;
    }
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        json_object *v;
        const char *name, *slash;
        char *path = NULL;

        if (!json_object_object_get_ex(args, keys[i], &v) ||
            !json_object_is_type(v, json_type_string)) {
            continue;
        }
        name = json_object_get_string(v);
        slash = strrchr(name, '/');
        name = slash ? slash + 1 : name;
        if (!*name || !strcmp(name, ".") || !strcmp(name, "..")) {
            name = "archive";
        }
        if (asprintf(&path, "%s/%s", b->test_dir, name) < 0) {
            continue;
        }
        json_object_object_add(args, keys[i], json_object_new_string(path));
        free(path);
    }
}

static bool reply_well_formed(json_object *r)
{
    json_object *e, *cls, *desc;

    if (!json_object_is_type(r, json_type_object) || json_object_object_length(r) != 1) {
        return false;
    }
    if (json_object_object_get_ex(r, "return", NULL)) {
        return true;
    }
    return json_object_object_get_ex(r, "error", &e) &&
           json_object_object_get_ex(e, "class", &cls) &&
           json_object_object_get_ex(e, "desc", &desc) &&
           json_object_is_type(cls, json_type_string) &&
           json_object_is_type(desc, json_type_string);
}

/* Split a line into at most max words (the last takes the rest). */
static int words(char *line, char **w, int max)
{
    int n = 0;

    while (n < max) {
        while (*line == ' ' || *line == '\t') {
            line++;
        }
        if (!*line) {
            break;
        }
        w[n++] = line;
        if (n == max) {
            break;
        }
        line += strcspn(line, " \t");
        if (*line) {
            *line++ = '\0';
        }
    }
    return n;
}

static int run_step(bs_backend *b, char *line, unsigned step, unsigned flags, char **err)
{
    char *w[5];
    char *msg = NULL;
    int rc = 0, n;

    if (line[0] != '@') {
        char *cmd = line, *rest;
        json_object *args = NULL, *reply;

        rest = line + strcspn(line, " \t");
        if (*rest) {
            *rest++ = '\0';
            rest += strspn(rest, " \t");
        }
        if (!*cmd) {
            return 0;
        }
        if (*rest) {
            args = json_tokener_parse(rest);
            if (!args) {
                return 0;               /* not JSON: nothing to send */
            }
            if ((flags & SIM_FUZZ_CAP_SIZES) && too_big(args, 0)) {
                json_object_put(args);
                return 0;
            }
            confine_host_paths(b, args);
        }
        reply = b->ops->qmp(b, cmd, args, &msg);
        json_object_put(args);
        if (getenv("SIM_FUZZ_TRACE")) {
            fprintf(stderr, "%u %s -> %s\n", step, cmd,
                    reply ? json_object_to_json_string(reply) : msg);
        }
        if (!reply) {
            rc = msg ? 0 : fail(err, step, "qmp failed without a message");
        } else if (!reply_well_formed(reply)) {
            rc = fail(err, step, "malformed QMP reply");
        }
        json_object_put(reply);
        free(msg);
        return rc;
    }

    n = words(line + 1, w, 5);
    if (n == 0) {
        return 0;
    }
    if (!strcmp(w[0], "launch")) {
        rc = b->ops->launch(b, &msg);
    } else if (!strcmp(w[0], "shutdown")) {
        rc = b->ops->shutdown(b, &msg);
    } else if (!strcmp(w[0], "events")) {
        long want = n > 1 ? strtol(w[1], NULL, 0) : 4;

        for (long i = 0; i < want && i < 16; i++) {
            json_object *ev = b->ops->next_event(b, 0, &msg);
            if (!ev) {
                if (msg) {
                    rc = -1;
                }
                break;
            }
            json_object_put(ev);
        }
    } else if (!strcmp(w[0], "img") && n >= 4) {
        long long size = strtoll(w[3], NULL, 0);

        /* negative is huge: qemu-img create takes an unsigned size */
        if ((flags & SIM_FUZZ_CAP_SIZES) && (uint64_t)size > SIM_FUZZ_MAX_SIZE) {
            return 0;
        }
        rc = b->ops->img_create(b, w[1], w[2], (uint64_t)size, n > 4 ? w[4] : NULL,
                                n > 4 ? w[1] : NULL, &msg);
    } else if (!strcmp(w[0], "rebase") && n >= 3) {
        rc = b->ops->img_rebase_unsafe(b, w[1], w[2], &msg);
    } else if (!strcmp(w[0], "compare") && n >= 3) {
        rc = b->ops->img_compare(b, w[1], w[2], &msg);
    }
    if (rc < 0 && !msg) {
        rc = fail(err, step, "backend failed without a message");
    } else {
        rc = 0;
    }
    free(msg);
    return rc;
}

int sim_fuzz_run(const uint8_t *data, size_t size, unsigned flags, char **err)
{
    char *text, *line, *save = NULL;
    char *msg = NULL;
    bs_backend *b;
    unsigned step = 0;
    int rc = 0;

    *err = NULL;
    text = malloc(size + 1);
    if (!text) {
        return -1;
    }
    memcpy(text, data, size);
    text[size] = '\0';
    b = bs_backend_sim_new(&msg);
    if (!b) {
        free(text);
        free(msg);
        return fail(err, 0, "bs_backend_sim_new failed");
    }
    if (b->ops->launch(b, &msg) < 0) {
        free(msg);
        rc = fail(err, 0, "launch failed");
        goto out;
    }
    for (line = strtok_r(text, "\n", &save); line && step < SIM_FUZZ_MAX_STEPS;
         line = strtok_r(NULL, "\n", &save)) {
        if (run_step(b, line, ++step, flags, err) < 0) {
            rc = -1;
            break;
        }
    }
out:
    b->ops->destroy(b);
    free(text);
    return rc;
}
