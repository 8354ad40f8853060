/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu-img snapshot -c NAME / -l as its own process (QEMU 7.2 qemu-img.c
 * img_snapshot): take an internal snapshot of a qcow2 image, or list them
 * as dump_snapshots does. The snapshots are sim/qcow2_snapshot.c's;
 * applying and deleting them (-a, -d) is not modelled.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/qmp.h"
#include "sim/qcow2_bitmap.h"

int img_snapshot_cmd(sim *s, const char *const *argv, size_t argc, char **out, char **errout)
{
    const char *fmt = NULL, *path = NULL, *name = NULL;
    char action = 0;
    for (size_t i = 0; i < argc; i++) {
        const char *a = argv[i];
        bool has_val = !strcmp(a, "-f") || !strcmp(a, "-c") || !strcmp(a, "-a") ||
                       !strcmp(a, "-d");
        if (has_val && i + 1 >= argc) {
            img_report(errout, "option '%s' requires an argument", a);
            img_report(errout, "Try 'qemu-img --help' for more information");
            return 1;
        }
        if (!strcmp(a, "-f")) {
            fmt = argv[++i];
        } else if (!strcmp(a, "-l") || has_val) {
            if (action) {
                img_report(errout, "Cannot mix '-l', '-a', '-c', '-d'");
                return 1;
            }
            action = a[1];
            name = has_val ? argv[++i] : NULL;
        } else if (!strcmp(a, "-q") || !strcmp(a, "-U") || !strcmp(a, "--force-share")) {
            continue;
        } else if (img_image_arg("snapshot", a, &path, errout)) {
            return 1;
        }
    }
    if (img_image_named(path, errout)) {
        return 1;
    }
    if (action == 'a' || action == 'd') {
        img_report(errout, "the simulator does not model qemu-img snapshot -%c", action);
        return 1;
    }
    img_proc p;
    img_proc_begin(s, &p);
    int rc = 1;
    sim_node *n = img_proc_open(s, &p, path, false, fmt, action == 'c', true, errout);
    if (!n) {
        goto out;
    }
    sim_file *f = n->drv == DRV_QCOW2 ? node_image_file(n) : NULL;
    if (action == 'c') {
        if (!f || !n->q) {
            img_report(errout, "Could not create snapshot '%s': -95 (Operation not supported)",
                       name);
            goto out;
        }
        q2_snapshot_create(f, n->q, name, p.m.clock_ns);
    } else if (n->q && n->q->snapshots) {
        /* -l (the default) */
        char *text = NULL;
        size_t len = 0;
        FILE *o = open_memstream(&text, &len);
        fputs("Snapshot list:\n", o);
        q2_snapshot_dump(o, NULL);
        fputc('\n', o);
        for (sim_snapshot *sn = n->q->snapshots; sn; sn = sn->next) {
            q2_snapshot_dump(o, sn);
            fputc('\n', o);
        }
        fclose(o);
        free(*out);
        *out = text;
    }
    rc = 0;
out:
    img_proc_end(s, &p);
    return rc;
}
