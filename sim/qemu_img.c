/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu-img as a separate process beside the VM (QEMU 7.2 qemu-img.c):
 * `bitmap` (--add [-g G] [--disable], --remove, --clear, --enable,
 * --disable) on a qcow2 image's stored bitmaps, and `info` (--output=json
 * or human) with the image's stored bitmaps as
 * qcow2_get_specific_info lists them. An image a running VM holds open
 * read-write cannot be opened without --force-share (info) or at all
 * (bitmap), with qemu-img's locking messages.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/qmp.h"
#include "sim/qcow2_bitmap.h"

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

static int64_t parse_size(const char *str)
{
    char *end;
    unsigned long long v = strtoull(str, &end, 0);
    unsigned shift = 0;
    switch (*end) {
    case 'k': case 'K': shift = 10; end++; break;
    case 'm': case 'M': shift = 20; end++; break;
    case 'g': case 'G': shift = 30; end++; break;
    default: break;
    }
    if (end == str || *end || str[0] == '-') {
        return -1;
    }
    return (int64_t)(v << shift);
}

static sim_saved_bitmap **find_saved(sim_qcow2 *q, const char *name)
{
    sim_saved_bitmap **pp = &q->bitmaps;
    while (*pp && strcmp((*pp)->name, name)) {
        pp = &(*pp)->next;
    }
    return pp;
}

/* img_bitmap: the operations run in the order given, on one image */
static int img_bitmap(sim *s, const char *const *argv, size_t argc, char **errout)
{
    enum { OP_ADD, OP_REMOVE, OP_CLEAR, OP_ENABLE, OP_DISABLE } ops[16];
    size_t nops = 0;
    int64_t gran = -1;
    const char *pos[2];
    size_t npos = 0;
    for (size_t i = 0; i < argc; i++) {
        const char *a = argv[i];
        int op = !strcmp(a, "--add") ? OP_ADD : !strcmp(a, "--remove") ? OP_REMOVE
            : !strcmp(a, "--clear") ? OP_CLEAR : !strcmp(a, "--enable") ? OP_ENABLE
            : !strcmp(a, "--disable") ? OP_DISABLE : -1;
        if (op >= 0) {
            if (nops < 16) {
                ops[nops++] = op;
            }
        } else if (!strcmp(a, "-g") || !strcmp(a, "--granularity")) {
            if (i + 1 >= argc || (gran = parse_size(argv[++i])) < 0) {
                return fail(errout, 1, "Invalid granularity specified");
            }
        } else if (!strcmp(a, "-f")) {
            if (i + 1 >= argc || strcmp(argv[++i], "qcow2")) {
                return fail(errout, 1, "the simulator models qcow2 bitmaps only");
            }
        } else if (a[0] == '-') {
            return fail(errout, 1, "the simulator does not model the bitmap option '%s'", a);
        } else if (npos < 2) {
            pos[npos++] = a;
        } else {
            return fail(errout, 1, "Expecting filename and bitmap name");
        }
    }
    if (!nops) {
        return fail(errout, 1, "Need at least one of --add, --remove, --clear, --enable, "
                               "--disable, or --merge");
    }
    if (gran >= 0 && !(nops == 1 && ops[0] == OP_ADD)) {
        return fail(errout, 1, "granularity only supported with --add");
    }
    if (npos != 2) {
        return fail(errout, 1, "Expecting filename and bitmap name");
    }
    sim_file *f = fs_lookup(s, pos[0]);
    if (!f) {
        return fail(errout, 1, "Could not open '%s': No such file or directory", pos[0]);
    }
    if (open_rw_node(s, f)) {
        return fail(errout, 1, "Could not open '%s': Failed to get \"write\" lock\n"
                               "Is another process using the image [%s]?", pos[0], pos[0]);
    }
    if (!f->qcow2) {
        return fail(errout, 1, "Could not create bitmap: Operation not supported");
    }
    if (q2_bitmaps_bad_entry(f->qcow2)) {
        return fail(errout, 1, "Could not open '%s': Bitmap '%s' doesn't satisfy the constraints",
                    pos[0], q2_bitmaps_bad_entry(f->qcow2));
    }
    const char *name = pos[1];
    for (size_t k = 0; k < nops; k++) {
        sim_saved_bitmap **pp = find_saved(f->qcow2, name);
        if (ops[k] == OP_ADD) {
            if (*pp) {
                return fail(errout, 1, "Bitmap already exists: %s", name);
            }
            uint64_t g = gran >= 0 ? (uint64_t)gran : f->qcow2->cluster_size;
            if (gran < 0 && g > BITMAP_DEFAULT_GRAN_MAX) {
                g = BITMAP_DEFAULT_GRAN_MAX;
            }
            if (gran < 0 && g < BITMAP_DEFAULT_GRAN_MIN) {
                g = BITMAP_DEFAULT_GRAN_MIN;
            }
            cl_error cerr = { 0, "" };
            cl_bitmap *bm = cl_bitmap_new(f->qcow2->size, g, &cerr);
            if (!bm) {
                return fail(errout, 1, "%s", cerr.msg);
            }
            *pp = calloc(1, sizeof **pp);
            (*pp)->name = xstrdup(name);
            (*pp)->bm = bm;
            continue;
        }
        if (!*pp) {
            return fail(errout, 1, "Dirty bitmap '%s' not found", name);
        }
        if (ops[k] == OP_REMOVE) {
            q2_saved_remove(f, f->qcow2, name);
        } else if (ops[k] == OP_CLEAR) {
            cl_bitmap_clear((*pp)->bm);
        } else {
            cl_bitmap_set_enabled((*pp)->bm, ops[k] == OP_ENABLE, NULL);
        }
    }
    /* closing the image stores every bitmap it loaded */
    size_t n = 0;
    for (sim_saved_bitmap *sb = f->qcow2->bitmaps; sb; sb = sb->next) {
        n++;
    }
    sim_saved_bitmap **all = calloc(n ? n : 1, sizeof *all);
    n = 0;
    for (sim_saved_bitmap *sb = f->qcow2->bitmaps; sb; sb = sb->next) {
        all[n++] = sb;
    }
    q2_bitmaps_written(f, f->qcow2, all, n);
    free(all);
    return 0;
}

/* The ImageInfo qemu-img info prints (bdrv_query_image_info), for the
 * image at path; node: a node of the running VM that has it open, whose
 * loaded bitmaps mark the stored ones in use. */
static json_object *image_json(sim *s, sim_file *f, sim_node *node)
{
    json_object *o = json_object_new_object();
    uint64_t vsize = f->qcow2 ? f->qcow2->size : f->data.size;
    json_add_lit(o, "virtual-size", json_object_new_int64((int64_t)vsize));
    json_add_lit(o, "filename", json_object_new_string(f->path));
    if (f->qcow2) {
        json_add_lit(o, "cluster-size",
                               json_object_new_int64((int64_t)f->qcow2->cluster_size));
    }
    json_add_lit(o, "format", json_object_new_string(f->qcow2 ? "qcow2" : "raw"));
    json_add_lit(o, "actual-size", json_object_new_int64((int64_t)f->data.size));
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
    bool json = false, force = false;
    const char *path = NULL;
    for (size_t i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--output=json")) {
            json = true;
        } else if (!strcmp(a, "--output=human")) {
            json = false;
        } else if (!strcmp(a, "-U") || !strcmp(a, "--force-share")) {
            force = true;
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
    sim_file *f = fs_lookup(s, path);
    if (!f) {
        return fail(errout, 1, "Could not open '%s': No such file or directory", path);
    }
    sim_node *node = open_rw_node(s, f);
    if (node && !force) {
        return fail(errout, 1, "Could not open '%s': Failed to get shared \"write\" lock\n"
                               "Is another process using the image [%s]?", path, path);
    }
    if (f->qcow2 && q2_bitmaps_bad_entry(f->qcow2)) {
        /* qcow2_load_dirty_bitmaps -> bitmap_list_load -> check_dir_entry */
        return fail(errout, 1, "Could not open '%s': Bitmap '%s' doesn't satisfy the constraints",
                    path, q2_bitmaps_bad_entry(f->qcow2));
    }
    json_object *o = image_json(s, f, node);
    char *text = NULL;
    size_t len = 0;
    FILE *b = open_memstream(&text, &len);
    if (json) {
        fprintf(b, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
                                                             JSON_C_TO_STRING_SPACED));
    } else {
        human_dump(b, o);
    }
    fclose(b);
    json_object_put(o);
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
        rc = img_bitmap(s, argv + 1, argc - 1, &e);
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
