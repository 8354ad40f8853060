/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu-img create and rebase -u as their own processes (sim_img_run),
 * with what iotests pass them: create -f FMT [-o cluster_size=N]
 * [-b BACKING -F FMT] PATH [SIZE]; rebase [-f FMT] -u -b BACKING [-F FMT]
 * PATH. The work is the backend's img_create / img_rebase_unsafe; a
 * cluster size other than qcow2's default is applied to the new image.
 * vmdk (-o subformat=monolithicSparse|streamOptimized) is made as a file
 * first, which then becomes a vmdk image (sim/vmdk_image.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim/qmp.h"
#include "sim/vmdk_image.h"

/* qemu-img's sizes: a number with an optional k/M/G/T suffix */
static int64_t img_size(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    uint64_t mult = 1;
    switch (*end) {
    case 'k': case 'K': mult = 1ull << 10; end++; break;
    case 'm': case 'M': mult = 1ull << 20; end++; break;
    case 'g': case 'G': mult = 1ull << 30; end++; break;
    case 't': case 'T': mult = 1ull << 40; end++; break;
    default: break;
    }
    if (end == s || *end || v < 0 || v * (double)mult > 9.2e18) {
        return -1;
    }
    return (int64_t)(v * (double)mult);
}

static int usage(char **errout, const char *what)
{
    *errout = xasprintf("qemu-img: %s\n", what);
    return 1;
}

/* vmdk_co_create_opts: a sparse extent of 64 KiB grains in one file */
static int vmdk_create(sim *s, const char *path, int64_t size, const char *subformat,
                       char **errout)
{
    bool stream;
    int r = vmdk_parse_subformat(subformat, &stream);
    if (r == -EINVAL) {
        *errout = xasprintf("qemu-img: %s: invalid parameter value: %s\n", path, subformat);
        return 1;
    }
    if (r < 0) {
        return usage(errout, "the simulator models the vmdk subformats monolithicSparse and "
                     "streamOptimized only");
    }
    char *err = NULL;
    /* the file as any image file is made (path and lock checks) */
    if (s->base.ops->img_create(&s->base, "raw", path, 0, NULL, NULL, &err) < 0) {
        *errout = xasprintf("%s\n", err ? err : "qemu-img: create failed");
        free(err);
        return 1;
    }
    vmdk_image_create(fs_lookup(s, path), (uint64_t)size, stream);
    return 0;
}

int img_create_cmd(sim *s, const char *const *argv, size_t argc, char **errout)
{
    const char *fmt = "raw", *backing = NULL, *backing_fmt = NULL, *path = NULL, *size_s = NULL;
    int64_t cluster = 0;
    const char *subformat = NULL;
    for (size_t i = 0; i < argc; i++) {
        const char *a = argv[i];
        if ((!strcmp(a, "-f") || !strcmp(a, "-b") || !strcmp(a, "-F") || !strcmp(a, "-o")) &&
            i + 1 >= argc) {
            return usage(errout, "option requires an argument");
        }
        if (!strcmp(a, "-f")) {
            fmt = argv[++i];
        } else if (!strcmp(a, "-b")) {
            backing = argv[++i];
        } else if (!strcmp(a, "-F")) {
            backing_fmt = argv[++i];
        } else if (!strcmp(a, "-q")) {
            continue;
        } else if (!strcmp(a, "-o")) {
            const char *o = argv[++i];
            if (!strncmp(o, "subformat=", 10)) {
                subformat = o + 10;
            } else if (strncmp(o, "cluster_size=", 13) || (cluster = img_size(o + 13)) <= 0) {
                return usage(errout, "the simulator models -o cluster_size=N and "
                             "subformat=NAME only");
            }
        } else if (!path) {
            path = a;
        } else if (!size_s) {
            size_s = a;
        } else {
            return usage(errout, "too many arguments");
        }
    }
    if (!path) {
        return usage(errout, "Expecting image file name");
    }
    int64_t size = size_s ? img_size(size_s) : 0;
    if (size < 0) {
        return usage(errout, "Invalid image size specified. You may use k, M, G, T, P or E "
                     "suffixes for");
    }
    if (subformat && strcmp(fmt, "vmdk")) {
        return usage(errout, "subformat is a vmdk option");
    }
    if (!strcmp(fmt, "vmdk")) {
        return vmdk_create(s, path, size, subformat, errout);
    }
    if (cluster && strcmp(fmt, "qcow2")) {
        return usage(errout, "cluster_size is a qcow2 option");
    }
    if (cluster && (cluster < 512 || cluster > 2 * 1024 * 1024 || (cluster & (cluster - 1)))) {
        return usage(errout, "Cluster size must be a power of two between 512 and 2048k");
    }
    char *err = NULL;
    if (s->base.ops->img_create(&s->base, fmt, path, (uint64_t)size, backing, backing_fmt,
                                &err) < 0) {
        *errout = xasprintf("%s\n", err ? err : "qemu-img: create failed");
        free(err);
        return 1;
    }
    sim_file *f = fs_lookup(s, path);
    if (cluster && f && f->qcow2 && (uint64_t)cluster != f->qcow2->cluster_size) {
        sim_qcow2 *old = f->qcow2;
        if (q2_size_check(old->size, (uint64_t)cluster)) {
            return usage(errout, "The image size is too large for this cluster size");
        }
        sim_qcow2 *q = q2_new(old->size, (uint64_t)cluster);
        q->backing = old->backing;
        q->backing_fmt = old->backing_fmt;
        old->backing = old->backing_fmt = NULL;
        q2_free(old);
        f->qcow2 = q;
        store_truncate(&f->data, 3 * (uint64_t)cluster);
    }
    return 0;
}

int img_rebase_cmd(sim *s, const char *const *argv, size_t argc, char **errout)
{
    const char *backing = NULL, *path = NULL, *backing_fmt = NULL;
    bool unsafe = false;
    for (size_t i = 0; i < argc; i++) {
        const char *a = argv[i];
        if ((!strcmp(a, "-f") || !strcmp(a, "-b") || !strcmp(a, "-F")) && i + 1 >= argc) {
            return usage(errout, "option requires an argument");
        }
        if (!strcmp(a, "-b")) {
            backing = argv[++i];
        } else if (!strcmp(a, "-F")) {
            backing_fmt = argv[++i];
        } else if (!strcmp(a, "-f")) {
            i++;
        } else if (!strcmp(a, "-u")) {
            unsafe = true;
        } else if (!path) {
            path = a;
        } else {
            return usage(errout, "too many arguments");
        }
    }
    if (!unsafe || !backing || !path) {
        return usage(errout, "the simulator models rebase -u -b BACKING PATH only");
    }
    char *err = NULL;
    if (s->base.ops->img_rebase_unsafe(&s->base, path, backing, &err) < 0) {
        *errout = xasprintf("%s\n", err ? err : "qemu-img: rebase failed");
        free(err);
        return 1;
    }
    sim_file *f = fs_lookup(s, path);
    if (backing_fmt && f && f->qcow2) {
        /* -F: the backing format goes into the header with the name */
        free(f->qcow2->backing_fmt);
        f->qcow2->backing_fmt = xstrdup(backing_fmt);
    }
    return 0;
}
