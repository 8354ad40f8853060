/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu-img check (human form) as its own process (QEMU 7.2 qemu-img.c
 * img_check, dump_human_image_check; block/qcow2-refcount.c's counts).
 * The simulator's qcow2 images are consistent by construction (no
 * corruption, no leaks), so a qcow2 image reports no errors, its
 * allocation counts and its end offset (human form, or --output=json); a
 * raw image has no check.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/qmp.h"

/* dump_json_image_check: ImageCheck's members that are set (counts that
 * are not 0), pretty-printed in the order QEMU's QDict walks them. */
static void check_json(FILE *o, const char *path, uint64_t end, uint64_t total,
                       uint64_t allocated, uint64_t fragmented)
{
    struct { const char *key; char val[PATH_MAX + 8]; bool set; } m[] = {
        { "filename", "", true }, { "format", "\"qcow2\"", true },
        { "check-errors", "0", true }, { "image-end-offset", "", end != 0 },
        { "total-clusters", "", total != 0 }, { "allocated-clusters", "", allocated != 0 },
        { "fragmented-clusters", "", fragmented != 0 },
    };
    const size_t n = sizeof m / sizeof m[0];
    json_object *jpath = json_object_new_string(path);
    snprintf(m[0].val, sizeof m[0].val, "%s",
             json_object_to_json_string_ext(jpath, JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(jpath);
    snprintf(m[3].val, sizeof m[3].val, "%llu", (unsigned long long)end);
    snprintf(m[4].val, sizeof m[4].val, "%llu", (unsigned long long)total);
    snprintf(m[5].val, sizeof m[5].val, "%llu", (unsigned long long)allocated);
    snprintf(m[6].val, sizeof m[6].val, "%llu", (unsigned long long)fragmented);
    size_t order[sizeof m / sizeof m[0]], k = 0;
    for (size_t i = 0; i < n; i++) {
        if (m[i].set) {
            size_t at = k++;
            while (at && qdict_bucket(m[order[at - 1]].key) > qdict_bucket(m[i].key)) {
                order[at] = order[at - 1];
                at--;
            }
            order[at] = i;
        }
    }
    fputs("{\n", o);
    for (size_t i = 0; i < k; i++) {
        fprintf(o, "    \"%s\": %s%s\n", m[order[i]].key, m[order[i]].val, i + 1 < k ? "," : "");
    }
    fputs("}\n", o);
}

int img_check_cmd(sim *s, const char *const *argv, size_t argc, char **out, char **errout)
{
    const char *fmt = NULL, *path = NULL;
    bool json = false;
    for (size_t i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "-f") && i + 1 < argc) {
            fmt = argv[++i];
        } else if (!strcmp(argv[i], "--output=json") || !strcmp(argv[i], "--output=human")) {
            json = !strcmp(argv[i], "--output=json");
        } else if (img_image_arg("check", argv[i], &path, errout)) {
            return 1;
        }
    }
    if (img_image_named(path, errout)) {
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
    /* the end of the highest cluster in use: the file's end, cluster-aligned */
    uint64_t end = (f->data.size + q->cluster_size - 1) / q->cluster_size * q->cluster_size;
    char *text = NULL;
    size_t len = 0;
    FILE *o = open_memstream(&text, &len);
    if (json) {
        check_json(o, path, end, q->nclusters, allocated, fragmented);
        fclose(o);
        free(*out);
        *out = text;
        return 0;
    }
    fprintf(o, "No errors were found on the image.\n");
    if (q->nclusters && allocated) {
        fprintf(o, "%llu/%llu = %0.2f%% allocated, %0.2f%% fragmented, %0.2f%% compressed "
                "clusters\n", (unsigned long long)allocated, (unsigned long long)q->nclusters,
                allocated * 100.0 / q->nclusters, fragmented * 100.0 / allocated, 0.0);
    }
    fprintf(o, "Image end offset: %llu\n", (unsigned long long)end);
    fclose(o);
    free(*out);
    *out = text;
    return 0;
}
