/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu-img commit and qemu-img map (human or JSON form) on image files, as their
 * own processes (QEMU 7.2 qemu-img.c img_commit, img_map). commit opens
 * the top image read-write with its chain (its persistent bitmaps load),
 * copies what the layers above the base hold into the base as the active
 * commit job does (the base's bitmaps record those writes), then, unless
 * -d or -b, empties the top as qcow2_make_empty's slow path does when the
 * image has bitmaps: every cluster discarded, the bitmaps kept. Closing
 * stores the bitmaps again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/qmp.h"

/* The node of n's chain (n itself excluded) whose image is path, or NULL
 * (bdrv_find_backing_image: names compared as given, then resolved). */
static sim_node *find_backing(sim_node *n, const char *path)
{
    for (sim_node *b = n->backing; b; b = b->backing) {
        const char *f = node_filename(b);
        if (f && !strcmp(f, path)) {
            return b;
        }
    }
    return NULL;
}

/* Does a layer of n's chain above base hold cluster range [off, off+len)? */
static bool allocated_above(sim_node *n, sim_node *base, uint64_t off, uint64_t len)
{
    for (sim_node *l = n; l && l != base; l = l->backing) {
        if (l->drv != DRV_QCOW2 || !l->q) {
            return true;
        }
        uint64_t cs = l->q->cluster_size;
        for (uint64_t ci = off / cs; ci * cs < off + len && ci < l->q->nclusters; ci++) {
            if (l2_get(l->q, ci)) {
                return true;
            }
        }
    }
    return false;
}

int img_commit_cmd(sim *s, const char *const *argv, size_t argc, char **out, char **errout)
{
    const char *fmt = NULL, *base = NULL, *path = NULL;
    bool drop = false, quiet = false;
    for (size_t i = 0; i < argc; i++) {
        const char *a = argv[i];
        bool has_val = !strcmp(a, "-f") || !strcmp(a, "-b") || !strcmp(a, "-t") ||
                       !strcmp(a, "-r");
        if (has_val && i + 1 >= argc) {
            img_report(errout, "option '%s' requires an argument", a);
            img_report(errout, "Try 'qemu-img --help' for more information");
            return 1;
        }
        if (!strcmp(a, "-f")) {
            fmt = argv[++i];
        } else if (!strcmp(a, "-b")) {
            base = argv[++i];
            drop = true;        /* -b implies -d */
        } else if (!strcmp(a, "-d")) {
            drop = true;
        } else if (!strcmp(a, "-q")) {
            quiet = true;
        } else if (!strcmp(a, "-p")) {
            continue;           /* progress: not printed to a pipe */
        } else if (!strcmp(a, "-t") || !strcmp(a, "-r")) {
            i++;                /* cache mode, rate limit: nothing to model */
        } else if (img_image_arg("commit", a, &path, errout)) {
            return 1;
        }
    }
    if (img_image_named(path, errout)) {
        return 1;
    }
    img_proc p;
    img_proc_begin(s, &p);
    sim *m = &p.m;
    int rc = 1;
    sim_node *top = img_proc_open(s, &p, path, false, fmt, true, false, errout), *bs;
    if (!top) {
        goto out;
    }
    if (base) {
        bs = find_backing(top, base);
        if (!bs) {
            img_report(errout, "Did not find '%s' in the backing chain of '%s'", base, path);
            goto out;
        }
    } else if (!(bs = top->backing)) {
        /* qemu-img commits into the immediate backing file, QMP into the deepest */
        img_report(errout, "Image does not have a backing file");
        goto out;
    }
    /* the commit job: every chunk some layer above the base holds, as the
     * top reads it, into the base */
    uint64_t size = node_size(top), chunk = node_cluster_size(bs);
    if (!chunk) {
        chunk = 65536;
    }
    uint8_t *buf = malloc(chunk);
    int r = 0;
    for (uint64_t off = 0; off < size && r >= 0; off += chunk) {
        uint64_t len = size - off < chunk ? size - off : chunk;
        if (allocated_above(top, bs, off, len)) {
            r = node_read(m, top, off, len, buf);
            if (r >= 0) {
                r = node_write(m, bs, off, len, buf, 0);
            }
        }
    }
    free(buf);
    if (r < 0) {
        img_report(errout, "Could not write to the base image: Input/output error");
        goto out;
    }
    if (!drop && top->drv == DRV_QCOW2) {
        /* blk_make_empty -> qcow2_make_empty: with bitmaps (or snapshots) in
         * the image, every cluster is discarded (full discard: reads then
         * come from the backing file) and the bitmaps stay */
        l2_put_range(top->q, 0, top->q->nclusters, 0);
    }
    if (!quiet) {
        char *o = xasprintf("%sImage committed.\n", *out ? *out : "");
        free(*out);
        *out = o;
    }
    rc = 0;
out:
    img_proc_end(s, &p);
    return rc;
}

/* ---- qemu-img map --------------------------------------------------------- */

/* MapEntry of qemu-img.c */
typedef struct map_entry {
    uint64_t start, length, offset;
    int depth;
    bool present, zero, data, has_offset;
    const char *file;       /* the file holding the data (has_offset), or NULL */
} map_entry;

/* entry_mergeable */
static bool mergeable(const map_entry *c, const map_entry *n)
{
    if (!c->length || c->zero != n->zero || c->data != n->data || c->depth != n->depth ||
        c->present != n->present || !c->file != !n->file || c->has_offset != n->has_offset) {
        return false;
    }
    if (c->file && strcmp(c->file, n->file)) {
        return false;
    }
    return !c->has_offset || c->offset + c->length == n->offset;
}

/* dump_map_entry */
static void map_dump(FILE *f, bool json, const map_entry *e, map_entry *next)
{
    if (!json) {
        if (e->data && !e->zero) {
            fprintf(f, "%#-16llx%#-16llx%#-16llx%s\n", (unsigned long long)e->start,
                    (unsigned long long)e->length,
                    (unsigned long long)(e->has_offset ? e->offset : 0), e->file ? e->file : "");
        }
        /* the human form does not tell 0, ZERO and ZERO|DATA apart */
        if (next && (!next->data || next->zero)) {
            next->data = false;
            next->zero = true;
        }
        return;
    }
    fprintf(f, "{ \"start\": %llu, \"length\": %llu, \"depth\": %d, \"present\": %s, "
            "\"zero\": %s, \"data\": %s", (unsigned long long)e->start,
            (unsigned long long)e->length, e->depth, e->present ? "true" : "false",
            e->zero ? "true" : "false", e->data ? "true" : "false");
    if (e->has_offset) {
        fprintf(f, ", \"offset\": %llu", (unsigned long long)e->offset);
    }
    fputc('}', f);
    if (next) {
        fputs(",\n", f);
    }
}

/* A raw image: the file's data and holes (file-posix's block status, the
 * raw format passing it through), each at its own offset. */
static int raw_map(const sim_file *f, const char *path, bool json, char **out)
{
    char *text = NULL;
    size_t tlen = 0;
    FILE *o = open_memstream(&text, &tlen);
    if (json) {
        fputc('[', o);
    } else {
        fprintf(o, "%-16s%-16s%-16s%s\n", "Offset", "Length", "Mapped to", "File");
    }
    uint64_t size = (f->data.size + 511) / 512 * 512;
    map_entry curr = { 0 };
    for (uint64_t off = 0, n; off < size; off += n) {
        bool data = store_block_status(&f->data, off, size - off, &n);
        map_entry next = { .start = off, .length = n, .present = true, .zero = !data,
                           .data = data, .has_offset = true, .offset = off, .file = path };
        if (mergeable(&curr, &next)) {
            curr.length += next.length;
            continue;
        }
        if (curr.length) {
            map_dump(o, json, &curr, &next);
        }
        curr = next;
    }
    if (curr.length) {
        map_dump(o, json, &curr, NULL);
    }
    if (json) {
        fputs("]\n", o);
    }
    fclose(o);
    free(*out);
    *out = text;
    return 0;
}

int img_map_cmd(sim *s, const char *const *argv, size_t argc, char **out, char **errout)
{
    const char *path = NULL;
    bool json = false;
    for (size_t i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-f") && i + 1 < argc) {
            i++;
        } else if (!strcmp(a, "--output=human")) {
            json = false;
        } else if (!strcmp(a, "--output=json")) {
            json = true;
        } else if (img_image_arg("map", a, &path, errout)) {
            return 1;
        }
    }
    if (img_image_named(path, errout)) {
        return 1;
    }
    /* the chain of files: the image as named, then each backing file */
    sim_file *chain[64];
    char *names[64];
    size_t depth = 0;
    char *cur = xstrdup(path);
    int rc = 0;
    while (cur && depth < 64) {
        sim_file *f = fs_lookup(s, cur);
        if (!f) {
            img_report(errout, depth ? "Could not open '%s': Could not open backing file: "
                       "Could not open '%s': No such file or directory"
                       : "Could not open '%s': Could not open '%s': No such file or directory",
                       path, cur);
            free(cur);
            rc = 1;
            break;
        }
        if (!f->qcow2 && !depth && !f->vmdk) {
            free(cur);
            return raw_map(f, path, json, out);
        }
        if (!f->qcow2) {
            img_report(errout, "the simulator maps qcow2 images and chains, not '%s'", cur);
            free(cur);
            rc = 1;
            break;
        }
        chain[depth] = f;
        names[depth++] = cur;
        cur = f->qcow2->backing ? path_relative_to(f->path, f->qcow2->backing) : NULL;
    }
    if (rc) {
        for (size_t d = 0; d < depth; d++) {
            free(names[d]);
        }
        return rc;
    }
    char *text = NULL;
    size_t tlen = 0;
    FILE *o = open_memstream(&text, &tlen);
    if (json) {
        fputc('[', o);
    } else {
        fprintf(o, "%-16s%-16s%-16s%s\n", "Offset", "Length", "Mapped to", "File");
    }
    uint64_t size = chain[0]->qcow2->size, cs = chain[0]->qcow2->cluster_size;
    map_entry curr = { 0 };
    for (uint64_t off = 0; off < size; off += cs) {
        /* get_block_status: the first layer with data or zeroes; past the
         * last, unallocated reads as zeroes there */
        uint64_t len = size - off < cs ? size - off : cs;
        map_entry next = { .start = off, .length = len, .depth = (int)depth - 1, .zero = true };
        for (size_t d = 0; d < depth; d++) {
            sim_qcow2 *q = chain[d]->qcow2;
            uint64_t ci = off / q->cluster_size;
            uint64_t e = ci < q->nclusters ? l2_get(q, ci) : 0;
            if (!e) {
                continue;
            }
            next = (map_entry){ .start = off, .length = len, .depth = (int)d, .present = true,
                                .zero = e & Q2_ZERO, .data = !(e & Q2_ZERO),
                                .has_offset = !(e & Q2_ZERO) };
            if (next.has_offset) {
                next.offset = (e & ~Q2_ZERO) + off % q->cluster_size;
                next.file = names[d];
            }
            break;
        }
        if (mergeable(&curr, &next)) {
            curr.length += next.length;
            continue;
        }
        if (curr.length) {
            map_dump(o, json, &curr, &next);
        }
        curr = next;
    }
    map_dump(o, json, &curr, NULL);
    if (json) {
        fputs("]\n", o);
    }
    fclose(o);
    free(*out);
    *out = text;
    for (size_t d = 0; d < depth; d++) {
        free(names[d]);
    }
    return 0;
}
