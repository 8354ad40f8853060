/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu-img as a separate process beside the VM (QEMU 7.2 qemu-img.c):
 * `info` (--output=json or human, --backing-chain) with the image's stored
 * bitmaps as qcow2_get_specific_info lists them; `bitmap` and `convert`
 * are sim/qemu_img_bitmap.c's, `create` and `rebase` qemu_img_create.c's. An image a running VM holds open
 * read-write cannot be opened without --force-share (info) or at all
 * (bitmap), with qemu-img's locking messages.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/qmp.h"
#include "sim/qcow2_bitmap.h"
#include "sim/vmdk_image.h"

/* A node of the running VM holding the image open read-write: the format
 * node if there is one (its loaded bitmaps are the image's in-use ones). */
static sim_node *open_rw_node(sim *s, const sim_file *f)
{
    for (sim_node *n = s->nodes; n; n = n->next) {
        if (f->qcow2 && n->q == f->qcow2 && !n->read_only) {
            return n;
        }
    }
    for (sim_node *n = s->nodes; n; n = n->next) {
        if (n->f == f && !n->read_only) {
            return n;
        }
    }
    return NULL;
}

static int fail(char **errout, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char **errout, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *m;
    if (vasprintf(&m, fmt, ap) < 0) {
        abort();
    }
    va_end(ap);
    *errout = xasprintf("qemu-img: %s\n", m);
    free(m);
    return rc;
}

/* The ImageInfo qemu-img info prints (bdrv_query_image_info), for the
 * image at path; node: a node of the running VM that has it open, whose
 * loaded bitmaps mark the stored ones in use. */
static json_object *image_json(sim *s, sim_file *f, sim_node *node)
{
    json_object *o = json_object_new_object();
    uint64_t vsize = img_guest_size(s, f->path);
    json_add_lit(o, "virtual-size", json_object_new_int64((int64_t)vsize));
    json_add_lit(o, "filename", json_object_new_string(f->path));
    if (f->qcow2 || f->vmdk) {
        /* vmdk: its grain size. Its format-specific info is left out: the
         * content id (cid) QEMU puts there is random */
        json_add_lit(o, "cluster-size", json_object_new_int64(
                         (int64_t)(f->qcow2 ? f->qcow2->cluster_size : f->vmdk->grain)));
    }
    json_add_lit(o, "format", json_object_new_string(img_probe_format(f)));
    json_add_lit(o, "actual-size", json_object_new_int64((int64_t)f->data.size));
    if (f->qcow2 && f->qcow2->snapshots) {
        /* SnapshotInfo of each internal snapshot (sim/qcow2_snapshot.c) */
        json_object *list = json_object_new_array();
        for (sim_snapshot *sn = f->qcow2->snapshots; sn; sn = sn->next) {
            json_object *o2 = json_object_new_object();
            json_object_object_add(o2, "id", json_object_new_string(sn->id));
            json_object_object_add(o2, "name", json_object_new_string(sn->name));
            json_object_object_add(o2, "vm-state-size", json_object_new_int64((int64_t)sn->vm_state_size));
            json_object_object_add(o2, "date-sec", json_object_new_int64((int64_t)sn->date_sec));
            json_object_object_add(o2, "date-nsec", json_object_new_int64((int64_t)sn->date_nsec));
            json_object_object_add(o2, "vm-clock-sec",
                                   json_object_new_int64((int64_t)(sn->vm_clock_nsec / 1000000000u)));
            json_object_object_add(o2, "vm-clock-nsec",
                                   json_object_new_int64((int64_t)(sn->vm_clock_nsec % 1000000000u)));
            json_object_object_add(o2, "icount", json_object_new_int64(0));
            json_object_array_add(list, o2);
        }
        json_object_object_add(o, "snapshots", list);
    }
    if (f->qcow2) {
        json_object *fs = json_object_new_object(), *d = json_object_new_object();
        json_add_lit(d, "compat", json_object_new_string("1.1"));
        json_add_lit(d, "compression-type", json_object_new_string("zlib"));
        json_add_lit(d, "lazy-refcounts", json_object_new_boolean(false));
        if (f->qcow2->bitmaps) {
            json_object *list = json_object_new_array();
            for (sim_saved_bitmap *sb = f->qcow2->bitmaps; sb; sb = sb->next) {
                json_object *b = json_object_new_object(), *fl = json_object_new_array();
                if (q2_bitmap_in_use(node, sb)) {
                    json_object_array_add(fl, json_object_new_string("in-use"));
                }
                if (cl_bitmap_enabled(sb->bm)) {
                    json_object_array_add(fl, json_object_new_string("auto"));
                }
                json_add_lit(b, "flags", fl);
                json_add_lit(b, "name", json_object_new_string(sb->name));
                json_add_lit(b, "granularity",
                                       json_object_new_int64((int64_t)cl_bitmap_granularity(sb->bm)));
                json_object_array_add(list, b);
            }
            json_add_lit(d, "bitmaps", list);
        }
        json_add_lit(d, "refcount-bits", json_object_new_int(16));
        json_add_lit(d, "corrupt", json_object_new_boolean(false));
        json_add_lit(d, "extended-l2", json_object_new_boolean(false));
        json_add_lit(fs, "type", json_object_new_string("qcow2"));
        json_add_lit(fs, "data", d);
        json_add_lit(o, "format-specific", fs);
        if (f->qcow2->backing) {
            char *full = path_relative_to(f->path, f->qcow2->backing);
            json_add_lit(o, "backing-filename",
                                   json_object_new_string(f->qcow2->backing));
            json_add_lit(o, "full-backing-filename", json_object_new_string(full));
            if (f->qcow2->backing_fmt) {
                json_add_lit(o, "backing-filename-format",
                                       json_object_new_string(f->qcow2->backing_fmt));
            }
            free(full);
        }
    }
    json_add_lit(o, "dirty-flag", json_object_new_boolean(false));
    (void)s;
    return o;
}

/* QEMU's size_to_str: "%0.3g %sB" with binary prefixes. */
static void sim_cvtstr_iec(double val, char *str, size_t size)
{
    static const char *const sfx[] = { "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei" };
    int i = 0;
    while (i < 6 && val >= 1024.0 * 0.9995 * (i == 0 ? 1 : 1) && val >= 1024.0) {
        val /= 1024.0;
        i++;
    }
    snprintf(str, size, "%0.3g %sB", val, sfx[i]);
}

/* qemu-img info's human form (bdrv_image_info_dump / the ImageInfoSpecific
 * dump), for the fields image_json has. */
static void human_dump(FILE *b, json_object *o)
{
    json_object *v;
    char sz[64];
    fprintf(b, "image: %s\n", json_object_get_string(json_object_object_get(o, "filename")));
    fprintf(b, "file format: %s\n", json_object_get_string(json_object_object_get(o, "format")));
    int64_t vs = json_object_get_int64(json_object_object_get(o, "virtual-size"));
    sim_cvtstr_iec((double)vs, sz, sizeof sz);
    fprintf(b, "virtual size: %s (%lld bytes)\n", sz, (long long)vs);
    int64_t as = json_object_get_int64(json_object_object_get(o, "actual-size"));
    sim_cvtstr_iec((double)as, sz, sizeof sz);
    fprintf(b, "disk size: %s\n", sz);
    if (json_object_object_get_ex(o, "cluster-size", &v)) {
        fprintf(b, "cluster_size: %lld\n", (long long)json_object_get_int64(v));
    }
    if (json_object_object_get_ex(o, "backing-filename", &v)) {
        fprintf(b, "backing file: %s\n", json_object_get_string(v));
        if (json_object_object_get_ex(o, "backing-filename-format", &v)) {
            fprintf(b, "backing file format: %s\n", json_object_get_string(v));
        }
    }
    json_object *sl;
    if (json_object_object_get_ex(o, "snapshots", &sl)) {
        /* bdrv_image_info_dump: the list as qemu-img snapshot -l prints it */
        fputs("Snapshot list:\n", b);
        q2_snapshot_dump(b, NULL);
        fputc('\n', b);
        for (size_t i = 0; i < json_object_array_length(sl); i++) {
            json_object *e = json_object_array_get_idx(sl, i);
            sim_snapshot sn = {
                .id = (char *)json_object_get_string(json_object_object_get(e, "id")),
                .name = (char *)json_object_get_string(json_object_object_get(e, "name")),
                .date_sec = (uint64_t)json_object_get_int64(json_object_object_get(e, "date-sec")),
                .vm_state_size = (uint64_t)json_object_get_int64(json_object_object_get(e, "vm-state-size")),
                .vm_clock_nsec = (uint64_t)json_object_get_int64(json_object_object_get(e, "vm-clock-sec")) *
                                 1000000000u +
                                 (uint64_t)json_object_get_int64(json_object_object_get(e, "vm-clock-nsec")),
            };
            q2_snapshot_dump(b, &sn);
            fputc('\n', b);
        }
    }
    json_object *fs;
    if (json_object_object_get_ex(o, "format-specific", &fs)) {
        json_object *d = json_object_object_get(fs, "data");
        fputs("Format specific information:\n", b);
        fprintf(b, "    compat: %s\n", json_object_get_string(json_object_object_get(d, "compat")));
        fprintf(b, "    compression type: %s\n",
                    json_object_get_string(json_object_object_get(d, "compression-type")));
        fprintf(b, "    lazy refcounts: %s\n",
                    json_object_get_boolean(json_object_object_get(d, "lazy-refcounts")) ? "true" : "false");
        json_object *bl;
        if (json_object_object_get_ex(d, "bitmaps", &bl)) {
            fputs("    bitmaps:\n", b);
            for (size_t i = 0; i < json_object_array_length(bl); i++) {
                json_object *bm = json_object_array_get_idx(bl, i);
                json_object *fl = json_object_object_get(bm, "flags");
                fprintf(b, "        [%zu]:\n", i);
                fputs("            flags:\n", b);
                for (size_t k = 0; k < json_object_array_length(fl); k++) {
                    fprintf(b, "                [%zu]: %s\n", k,
                                json_object_get_string(json_object_array_get_idx(fl, k)));
                }
                fprintf(b, "            name: %s\n",
                            json_object_get_string(json_object_object_get(bm, "name")));
                fprintf(b, "            granularity: %lld\n",
                            (long long)json_object_get_int64(json_object_object_get(bm, "granularity")));
            }
        }
        fprintf(b, "    refcount bits: %d\n",
                    json_object_get_int(json_object_object_get(d, "refcount-bits")));
        fprintf(b, "    corrupt: %s\n",
                    json_object_get_boolean(json_object_object_get(d, "corrupt")) ? "true" : "false");
        fprintf(b, "    extended l2: %s\n",
                    json_object_get_boolean(json_object_object_get(d, "extended-l2")) ? "true" : "false");
    }
}

static int img_info(sim *s, const char *const *argv, size_t argc, char **out, char **errout)
{
    bool json = false, force = false, chain = false;
    const char *path = NULL;
    for (size_t i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--output=json")) {
            json = true;
        } else if (!strcmp(a, "--output=human")) {
            json = false;
        } else if (!strcmp(a, "-U") || !strcmp(a, "--force-share")) {
            force = true;
        } else if (!strcmp(a, "--backing-chain")) {
            chain = true;
        } else if (!strcmp(a, "-f")) {
            i++;
        } else if (a[0] == '-') {
            return fail(errout, 1, "the simulator does not model the info option '%s'", a);
        } else if (!path) {
            path = a;
        } else {
            return fail(errout, 1, "Expecting one image file name");
        }
    }
    if (!path) {
        return fail(errout, 1, "Expecting one image file name");
    }
    /* --backing-chain: the image, then each backing file it names */
    json_object *list = json_object_new_array();
    char *cur = xstrdup(path);
    int rc = 0;
    while (cur && !rc) {
        sim_file *f = fs_lookup(s, cur);
        sim_node *node = f ? open_rw_node(s, f) : NULL;
        if (!f) {
            rc = fail(errout, 1, "Could not open '%s': Could not open '%s': "
                      "No such file or directory", cur, cur);
        } else if (node && !force) {
            rc = fail(errout, 1, "Could not open '%s': Failed to get shared \"write\" lock\n"
                      "Is another process using the image [%s]?", cur, cur);
        } else if (f->qcow2 && q2_bitmaps_bad_entry(f->qcow2)) {
            /* qcow2_load_dirty_bitmaps -> bitmap_list_load -> check_dir_entry */
            rc = fail(errout, 1, "Could not open '%s': Bitmap '%s' doesn't satisfy the "
                      "constraints", cur, q2_bitmaps_bad_entry(f->qcow2));
        } else {
            json_object_array_add(list, image_json(s, f, node));
        }
        char *next = !rc && chain && f->qcow2 && f->qcow2->backing
                     ? path_relative_to(f->path, f->qcow2->backing) : NULL;
        free(cur);
        cur = next;
    }
    free(cur);
    if (rc) {
        json_object_put(list);
        return rc;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *b = open_memstream(&text, &len);
    size_t n = json_object_array_length(list);
    if (json) {
        json_object *o = chain ? list : json_object_array_get_idx(list, 0);
        fprintf(b, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
                                                             JSON_C_TO_STRING_SPACED));
    } else {
        for (size_t i = 0; i < n; i++) {
            if (i) {
                fputc('\n', b);         /* dump_human_image_info_list's separator */
            }
            human_dump(b, json_object_array_get_idx(list, i));
        }
    }
    fclose(b);
    json_object_put(list);
    *out = text;
    return 0;
}

int sim_img_run(sim *s, const char *const *argv, size_t argc, char **out, char **errout)
{
    *out = xstrdup("");
    *errout = xstrdup("");
    if (!argc) {
        free(*errout);
        return fail(errout, 1, "Not enough arguments");
    }
    char *o = NULL, *e = NULL;
    int rc;
    if (!strcmp(argv[0], "bitmap")) {
        rc = img_bitmap_cmd(s, argv + 1, argc - 1, &e);      /* sim/qemu_img_bitmap.c */
    } else if (!strcmp(argv[0], "convert")) {
        rc = img_convert_cmd(s, argv + 1, argc - 1, &e);
    } else if (!strcmp(argv[0], "commit")) {
        rc = img_commit_cmd(s, argv + 1, argc - 1, &o, &e);  /* sim/qemu_img_commit.c */
    } else if (!strcmp(argv[0], "check")) {
        rc = img_check_cmd(s, argv + 1, argc - 1, &o, &e);   /* sim/qemu_img_check.c */
    } else if (!strcmp(argv[0], "map")) {
        rc = img_map_cmd(s, argv + 1, argc - 1, &o, &e);
    } else if (!strcmp(argv[0], "snapshot")) {
        rc = img_snapshot_cmd(s, argv + 1, argc - 1, &o, &e);    /* sim/qemu_img_snapshot.c */
    } else if (!strcmp(argv[0], "info")) {
        rc = img_info(s, argv + 1, argc - 1, &o, &e);
    } else if (!strcmp(argv[0], "create")) {
        rc = img_create_cmd(s, argv + 1, argc - 1, &e);     /* sim/qemu_img_create.c */
    } else if (!strcmp(argv[0], "rebase")) {
        rc = img_rebase_cmd(s, argv + 1, argc - 1, &e);
    } else {
        rc = fail(&e, 1, "the simulator does not model the command '%s'", argv[0]);
    }
    if (o) {
        free(*out);
        *out = o;
    }
    if (e) {
        free(*errout);
        *errout = e;
    }
    return rc;
}
