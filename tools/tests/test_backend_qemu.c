/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * harness/backend_qemu.c against the real driver and QEMU 7.2. Skips when
 * QEMU is not installed. Run from the top of the tree (the driver path is
 * relative), as make unit does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness/backend.h"

#define DRIVER "tools/qemu_driver.py"

static int have_qemu(void)
{
    return system("command -v qemu-system-x86_64 >/dev/null 2>&1 && "
                  "command -v qemu-img >/dev/null 2>&1") == 0;
}

static void test_bad_driver_path(void **state)
{
    char *err = NULL;
    bs_backend *b = bs_backend_qemu_new("/nonexistent/driver.py", &err);

    assert_null(b);
    assert_non_null(err);
    free(err);
}

static char *img_path(bs_backend *b, const char *name)
{
    char *p = NULL;

    assert_true(asprintf(&p, "%s/%s-%s", b->test_dir, b->pid, name) > 0);
    return p;
}

static void test_round_trip(void **state)
{
    char *err = NULL;
    bs_backend *b;
    struct json_object *args, *file, *r, *v;
    char *img, *other, *dir;
    struct stat st;

    if (!have_qemu())
        skip();
    b = bs_backend_qemu_new(DRIVER, &err);
    assert_non_null(b);
    assert_string_equal(b->ops->name, "qemu");
    dir = strdup(b->test_dir);
    img = img_path(b, "img");
    other = img_path(b, "other");
    assert_int_equal(b->ops->img_create(b, "qcow2", img, 1 << 20, NULL, NULL, &err), 0);
    assert_int_equal(b->ops->img_create(b, "qcow2", other, 1 << 20, NULL, NULL, &err), 0);
    assert_int_equal(b->ops->launch(b, &err), 0);

    args = json_object_new_object();
    file = json_object_new_object();
    json_object_object_add(file, "driver", json_object_new_string("file"));
    json_object_object_add(file, "filename", json_object_new_string(img));
    json_object_object_add(args, "driver", json_object_new_string("qcow2"));
    json_object_object_add(args, "node-name", json_object_new_string("drive0"));
    json_object_object_add(args, "file", file);
    r = b->ops->qmp(b, "blockdev-add", args, &err);
    json_object_put(args);
    assert_non_null(r);
    assert_true(json_object_object_get_ex(r, "return", NULL));
    json_object_put(r);

    /* A QMP error is a reply, not a failure. */
    r = b->ops->qmp(b, "no-such-command", NULL, &err);
    assert_non_null(r);
    assert_null(err);
    assert_true(json_object_object_get_ex(r, "error", &v));
    json_object_put(r);

    json_object_put(b->ops->qmp(b, "stop", NULL, &err));
    r = b->ops->next_event(b, 5.0, &err);
    assert_non_null(r);
    assert_true(json_object_object_get_ex(r, "event", &v));
    assert_string_equal(json_object_get_string(v), "STOP");
    json_object_put(r);
    assert_null(b->ops->next_event(b, 0.2, &err));     /* timeout: no event */
    assert_null(err);

    assert_int_equal(b->ops->shutdown(b, &err), 0);
    assert_int_equal(b->ops->img_compare(b, img, other, &err), 0);
    assert_int_equal(b->ops->img_rebase_unsafe(b, other, img, &err), 0);
    assert_int_equal(b->ops->img_compare(b, img, other, &err), 0);
    assert_true(b->ops->img_compare(b, img, "/nonexistent", &err) < 0);
    assert_non_null(err);
    free(err);
    err = NULL;

    b->ops->destroy(b);
    assert_int_not_equal(stat(dir, &st), 0);           /* test dir removed */
    free(dir);
    free(img);
    free(other);
}

/* Our only child process: the driver the backend spawned. */
static pid_t child_pid(void)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    pid_t found = 0;

    assert_non_null(d);
    while ((e = readdir(d))) {
        char path[300], buf[512], *rp;
        FILE *f;
        int ppid;

        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        if (!(f = fopen(path, "r")))
            continue;
        if (fgets(buf, sizeof buf, f) && (rp = strrchr(buf, ')')) &&
            sscanf(rp + 1, " %*c %d", &ppid) == 1 && ppid == getpid())
            found = atoi(e->d_name);
        fclose(f);
    }
    closedir(d);
    return found;
}

static void test_driver_dies(void **state)
{
    char *err = NULL;
    bs_backend *b;
    pid_t driver;

    if (!have_qemu())
        skip();
    b = bs_backend_qemu_new(DRIVER, &err);
    assert_non_null(b);
    assert_int_equal(b->ops->launch(b, &err), 0);
    /* Kill the driver behind the backend's back; it takes QEMU with it. */
    driver = child_pid();
    assert_true(driver > 0);
    assert_int_equal(kill(driver, SIGTERM), 0);
    assert_null(b->ops->qmp(b, "query-status", NULL, &err));
    assert_non_null(err);
    free(err);
    err = NULL;
    assert_true(b->ops->launch(b, &err) < 0);           /* refused from now on */
    free(err);
    b->ops->destroy(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_driver_path),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_driver_dies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
