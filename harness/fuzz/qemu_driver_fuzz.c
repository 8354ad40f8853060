/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The real-QEMU backend against a fake driver (see qemu_driver_fuzz.h). */
#include "harness/fuzz/qemu_driver_fuzz.h"
#include "harness/backend_qemu.h"
#include "harness/qemu_proto.h"

#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* The driver's stdout: a memory file holding data (a pipe would block on
 * inputs over its buffer size); its end reads as the driver exiting. */
static int driver_output(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fake-qemu-driver", MFD_CLOEXEC);
    size_t done = 0;

    if (fd < 0)
        return -1;
    while (done < size) {
        ssize_t n = write(fd, data + done, size - done);
        if (n <= 0) {
            close(fd);
            return -1;
        }
        done += (size_t)n;
    }
    if (lseek(fd, 0, SEEK_SET) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* The first error is the one that tells what went wrong. */
static void keep_err(char **first, char **err)
{
    if (*err && !*first)
        *first = *err;
    else
        free(*err);
    *err = NULL;
}

static void must_be_valid(int valid)
{
    if (!valid)
        abort();    /* the backend handed on what the protocol forbids */
}

int qemu_driver_fuzz_run(const uint8_t *data, size_t size, char **last)
{
    char *err = NULL, *path = NULL, *path2 = NULL;
    int from = driver_output(data, size);
    int to = open("/dev/null", O_WRONLY | O_CLOEXEC);
    int done = 0;

    *last = NULL;
    if (from < 0 || to < 0) {
        if (from >= 0)
            close(from);
        if (to >= 0)
            close(to);
        return -1;
    }
    bs_backend *b = bs_backend_qemu_attach(0, to, from, &err);
    if (!b) {
        keep_err(last, &err);
        return -1;
    }
    /* what the greeting promised */
    must_be_valid(b->test_dir && b->test_dir[0] == '/' && b->pid && b->pid[0]);
    if (asprintf(&path, "%s/%s-a", b->test_dir, b->pid) < 0 ||
        asprintf(&path2, "%s/%s-b", b->test_dir, b->pid) < 0)
        abort();

    done += b->ops->launch(b, &err) == 0;
    keep_err(last, &err);

    struct json_object *r = b->ops->qmp(b, "query-block", NULL, &err), *ev;
    char *why = NULL;
    if (r) {
        must_be_valid(qemu_proto_qmp_reply(r, &why) == 0);
        done++;
    }
    json_object_put(r);
    keep_err(last, &err);

    ev = b->ops->next_event(b, 0.001, &err);
    if (ev)
        must_be_valid(qemu_proto_event(ev, &why) == 0);
    done += !err;
    json_object_put(ev);
    keep_err(last, &err);

    int rc = b->ops->img_compare(b, path, path2, &err);
    done += rc >= 0;
    keep_err(last, &err);

    struct json_object *args = json_object_new_object(), *file = json_object_new_object();
    json_object_object_add(file, "driver", json_object_new_string("file"));
    json_object_object_add(file, "filename", json_object_new_string(path));
    json_object_object_add(args, "driver", json_object_new_string("qcow2"));
    json_object_object_add(args, "node-name", json_object_new_string("drive0"));
    json_object_object_add(args, "file", file);
    r = b->ops->qmp(b, "blockdev-add", args, &err);
    if (r) {
        must_be_valid(qemu_proto_qmp_reply(r, &why) == 0);
        done++;
    }
    json_object_put(r);
    json_object_put(args);
    keep_err(last, &err);

    ev = b->ops->next_event(b, 0.001, &err);
    if (ev)
        must_be_valid(qemu_proto_event(ev, &why) == 0);
    done += !err;
    json_object_put(ev);
    keep_err(last, &err);

    done += b->ops->img_create(b, "qcow2", path, 1 << 20, NULL, NULL, &err) == 0;
    keep_err(last, &err);
    if (b->ops->img_run) {
        const char *argv[] = { "info", "--output=json", path };
        char *out = NULL, *errout = NULL;
        int rc2 = b->ops->img_run(b, argv, 3, &out, &errout, &err);
        if (rc2 >= 0)
            must_be_valid(out && errout);
        done += rc2 >= 0;
        free(out);
        free(errout);
        keep_err(last, &err);
    }
    done += b->ops->shutdown(b, &err) == 0;
    keep_err(last, &err);

    free(why);
    free(path);
    free(path2);
    b->ops->destroy(b);
    return done;
}
