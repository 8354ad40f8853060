/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu-img check (human form) as its own process (QEMU 7.2 qemu-img.c
 * img_check, dump_human_image_check; block/qcow2-refcount.c's counts).
 * The simulator's qcow2 images are consistent by construction (no
 * corruption, no leaks), so a qcow2 image reports no errors, its
 * allocation counts and its end offset; a raw image has no check.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/qmp.h"

int img_check_cmd(sim *s, const char *const *argv, size_t argc, char **out, char **errout)
{
    const char *fmt = NULL, *path = NULL;
    for (size_t i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "-f") && i + 1 < argc) {
            fmt = argv[++i];
        } else if (argv[i][0] == '-' && argv[i][1]) {
            img_report(errout, "the simulator does not model the check option '%s'", argv[i]);
            return 1;
        } else if (!path) {
            path = argv[i];
        } else {
            img_report(errout, "Expecting one image file name");
            return 1;
        }
    }
    if (!path) {
        img_report(errout, "Expecting one image file name");
        return 1;
    }
    sim_file *f = fs_lookup(s, path);
    if (!f) {
        img_report(errout, "Could not open '%s': Could not open '%s': No such file or directory",
                   path, path);
        return 1;
    }
    if (!fmt) {
        fmt = img_probe_format(f);
    }
    if (strcmp(fmt, "qcow2") || !f->qcow2) {
        if (!strcmp(fmt, "raw") && !f->qcow2) {
            /* bdrv_check: no bdrv_co_check in the driver */
            img_report(errout, "This image format does not support checks");
            return 63;
        }
        img_report(errout, "the simulator checks qcow2 and raw images, not '%s'", path);
        return 1;
    }
    /* check_refcounts_l2 with CHECK_FRAG_INFO over the active L1: normal
     * clusters are allocated, fragmented where they do not follow the
     * previous one on the host; zero clusters without a host offset and
     * unallocated ones count for nothing */
    const sim_qcow2 *q = f->qcow2;
    uint64_t allocated = 0, fragmented = 0, next = 0;
    const uint64_t per_l2 = q->cluster_size / 8;
    for (uint64_t ci = 0; ci < q->nclusters; ci++) {
        if (ci % per_l2 == 0) {
            next = 0;           /* each L2 table is checked on its own */
        }
        uint64_t e = l2_get(q, ci);
        uint64_t host = e & ~Q2_ZERO;
        if (!host) {
            continue;
        }
        allocated++;
        if (next && host != next) {
            fragmented++;
        }
        next = host + q->cluster_size;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *o = open_memstream(&text, &len);
    fprintf(o, "No errors were found on the image.\n");
    if (q->nclusters && allocated) {
        fprintf(o, "%llu/%llu = %0.2f%% allocated, %0.2f%% fragmented, %0.2f%% compressed "
                "clusters\n", (unsigned long long)allocated, (unsigned long long)q->nclusters,
                allocated * 100.0 / q->nclusters, fragmented * 100.0 / allocated, 0.0);
    }
    /* the end of the highest cluster in use: the file's end, cluster-aligned */
    uint64_t end = (f->data.size + q->cluster_size - 1) / q->cluster_size * q->cluster_size;
    fprintf(o, "Image end offset: %llu\n", (unsigned long long)end);
    fclose(o);
    free(*out);
    *out = text;
    return 0;
}
