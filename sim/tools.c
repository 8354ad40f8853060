/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Standalone client tools run beside the VM: a qemu-io process and
 * qemu-img map. A qemu-io run on an image file is its own "process": a
 * scratch machine that shares the VM's file system, opens the image (its
 * persistent bitmaps load), runs the commands and closes it (they are
 * stored). On an NBD URI it is a client of the running VM's export.
 *
 * Output is qemu-io's own, unfiltered; the timing line uses a virtual
 * millisecond per command, so it is deterministic (tests filter it anyway).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/nbd.h"
#include "sim/qcow2_bitmap.h"

/* qemu-io's cvtnum: a number with an optional binary suffix. */
static int64_t io_cvtnum(const char *str)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(str, &end, 0);
    if (errno || end == str || str[0] == '-') {
        return -1;
    }
    unsigned shift = 0;
    switch (*end) {
    case '\0': break;
    case 'b': case 'B': end++; break;
    case 'k': case 'K': shift = 10; end++; break;
    case 'm': case 'M': shift = 20; end++; break;
    case 'g': case 'G': shift = 30; end++; break;
    case 't': case 'T': shift = 40; end++; break;
    default: return -1;
    }
    if (*end || (shift && v > (~0ull >> shift))) {
        return -1;
    }
    return (int64_t)(v << shift);
}

/* qemu-io's cvtstr (qemu-io-cmds.c, 7.2): bytes with "%f", larger units
 * with "%.3f", and the first ".000" cut off with everything after it:
 * "512 bytes", "64 KiB", "1.500 MiB". */
void sim_cvtstr(double value, char *str, size_t size)
{
    static const char *const sfx[] = { " bytes", " KiB", " MiB", " GiB", " TiB", " PiB", " EiB" };
    int i = 0;
    while (i < 6 && value >= 1024.0) {
        value /= 1024.0;
        i++;
    }
    char num[64];
    snprintf(num, sizeof num, i ? "%.3f" : "%f", value);
    char *trim = strstr(num, ".000");
    if (trim) {
        *trim = '\0';
    }
    snprintf(str, size, "%s%s", num, sfx[i]);
}

/* qemu-io's print_report with one op of one virtual millisecond. */
static void io_report(FILE *out, const char *op, int64_t off, int64_t count)
{
    const double secs = 0.001;
    char s1[64], s2[64];
    fprintf(out, "%s %lld/%lld bytes at offset %lld\n", op, (long long)count,
              (long long)count, (long long)off);
    sim_cvtstr((double)count, s1, sizeof s1);
    sim_cvtstr((double)count / secs, s2, sizeof s2);
    /* "%05.2f sec" of 0.001 and "%.4f ops/sec" of 1 / 0.001, printed once */
    fprintf(out, "%s, 1 ops; 00.00 sec (%s/sec and 1000.0000 ops/sec)\n", s1, s2);
}

/* qemu-io's map: runs of the node's own allocation (bdrv_is_allocated:
 * this layer only), each with cvtstr's sizes. */
static void io_map(sim *s, sim_node *n, FILE *out)
{
    uint64_t size = node_size(n), off = 0;
    while (off < size) {
        uint64_t num = 0, p;
        int first = -1;
        while (off + num < size) {
            int st = node_block_status(s, n, off + num, size - off - num, &p);
            if (st < 0) {
                fprintf(out, "Failed to get allocation status: %s\n", strerror(-st));
                return;
            }
            int alloc = !!(st & CL_STATUS_ALLOCATED);
            if (first >= 0 && alloc != first) {
                break;
            }
            first = alloc;
            num += p;
        }
        char s1[64], s2[64];
        sim_cvtstr((double)num, s1, sizeof s1);
        sim_cvtstr((double)off, s2, sizeof s2);
        fprintf(out, "%s (0x%llx) bytes %s at offset %s (0x%llx)\n", s1, (unsigned long long)num,
                first ? "    allocated" : "not allocated", s2, (unsigned long long)off);
        off += num;
    }
}

/* One qemu-io command (read/write with -P, write -z, discard, map). */
void sim_io_command(sim *s, sim_node *n, bool writable, bool over_nbd, const char *cmdline,
                    FILE *out)
{
    char *copy = xstrdup(cmdline);
    char *argv[32];
    int argc = 0;
    for (char *tok = strtok(copy, " \t"); tok && argc < 31; tok = strtok(NULL, " \t")) {
        argv[argc++] = tok;
    }
    if (!argc) {
        goto out;
    }
    if (!strcmp(argv[0], "map") && argc == 1) {
        io_map(s, n, out);
        goto out;
    }
    bool is_write = !strcmp(argv[0], "write") || !strcmp(argv[0], "w");
    bool is_read = !strcmp(argv[0], "read") || !strcmp(argv[0], "r");
    bool is_discard = !strcmp(argv[0], "discard") || !strcmp(argv[0], "d");
    if (!is_write && !is_read && !is_discard) {
        fprintf(out, "command \"%s\" not found\n", argv[0]);
        goto out;
    }
    int pattern = -1;
    bool zero = false, quiet = false;
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        const char *opt = argv[i] + 1;
        if (opt[0] == 'P') {
            const char *val = opt[1] ? opt + 1 : (i + 1 < argc ? argv[++i] : "");
            char *end;
            long p = strtol(val, &end, 0);
            if (!*val || *end) {
                fprintf(out, "non-numeric pattern argument -- %s\n", val);
                goto out;
            }
            pattern = (int)(p & 0xff);
        } else if (opt[0] == 'z' && is_write) {
            zero = true;
        } else if (opt[0] == 'q') {
            quiet = true;
        } else {
            fprintf(out, "%s: invalid option -- '%c'\n", argv[0], opt[0]);
            goto out;
        }
    }
    if (argc - i != 2) {
        fprintf(out, "bad argument count %d to %s, expected 2 arguments\n", argc - i, argv[0]);
        goto out;
    }
    int64_t off = io_cvtnum(argv[i]), len = io_cvtnum(argv[i + 1]);
    if (off < 0) {
        fprintf(out, "non-numeric offset argument -- %s\n", argv[i]);
        goto out;
    }
    if (len < 0) {
        fprintf(out, "non-numeric length argument -- %s\n", argv[i + 1]);
        goto out;
    }
    uint64_t size = node_size(n);
    const char *verb = is_write ? "write" : is_discard ? "discard" : "read";
    if ((uint64_t)off > size || (uint64_t)len > size - (uint64_t)off) {
        fprintf(out, "%s failed: Input/output error\n", verb);
        goto out;
    }
    /* the data as spans: a pattern is a run, a read -P checks runs */
    sim_data d;
    int ret;
    data_init(&d);
    if (is_discard) {
        ret = writable ? node_discard(s, n, (uint64_t)off, (uint64_t)len) : -EPERM;
    } else if (is_write) {
        if (!writable) {
            fprintf(out, "write failed: Operation not permitted\n");
            goto out;
        }
        data_add_byte(&d, (uint64_t)len, (uint8_t)(pattern < 0 ? 0xcd : pattern));
        ret = node_write_data(s, n, (uint64_t)off, (uint64_t)len, zero ? NULL : &d);
    } else {
        ret = node_read_data(s, n, (uint64_t)off, (uint64_t)len, &d);
    }
    if (ret < 0 && over_nbd) {
        ret = -nbd_wire_errno(-ret);
    }
    if (ret < 0) {
        fprintf(out, "%s failed: %s\n", verb, strerror(-ret));
        data_free(&d);
        goto out;
    }
    if (is_read && pattern >= 0 && !data_all_byte(&d, (uint8_t)pattern, NULL)) {
        fprintf(out, "Pattern verification failed at offset %lld, %lld bytes\n",
                (long long)off, (long long)len);
    }
    data_free(&d);
    if (!quiet) {
        io_report(out, is_write ? "wrote" : is_discard ? "discard" : "read", off, len);
    }
out:
    free(copy);
}

static bool vm_has_open(sim *s, const sim_file *f)
{
    for (sim_node *n = s->running ? s->nodes : NULL; n; n = n->next) {
        if (n->f == f || (f->qcow2 && n->q == f->qcow2)) {
            return true;
        }
    }
    return false;
}

static void events_drop(sim *m)
{
    while (m->ev_head) {
        sim_event *e = m->ev_head;
        m->ev_head = e->next;
        json_object_put(e->ev);
        free(e);
    }
    m->ev_tail = NULL;
}

char *sim_tool_qemu_io(sim *s, const char *image, const char *fmt, bool read_only,
                       const char *const *cmds, size_t ncmds, char **err)
{
    char *text = NULL;
    size_t textlen = 0;
    FILE *out = open_memstream(&text, &textlen);
    sim_nbd_export *exp;
    char *oerr = NULL;
    if (!out) {
        *err = xstrdup("qemu-io: out of memory");
        return NULL;
    }
    if (nbd_uri_lookup(s, image, &exp, &oerr)) {
        if (exp && !read_only && !exp->writable) {
            oerr = xasprintf("request for write access conflicts with read-only export");
        }
        if (oerr) {
            fprintf(out, "qemu-io: can't open device %s: %s\n", image, oerr);
            free(oerr);
            fclose(out);
            return text;
        }
        for (size_t i = 0; i < ncmds; i++) {
            sim_io_command(s, exp->node, !read_only, true, cmds[i], out);
        }
        fclose(out);
        return text;
    }

    /* its own process: a scratch machine over the same files */
    sim_file *f = fs_lookup(s, image);
    if (!f) {
        fprintf(out, "qemu-io: can't open device %s: Could not open '%s': "
                  "No such file or directory\n", image, image);
        fclose(out);
        return text;
    }
    if (vm_has_open(s, f)) {
        /* the VM's node holds the image's write lock and shares no writer */
        fprintf(out, "qemu-io: can't open device %s: Failed to get %s\"write\" lock\n"
                "Is another process using the image [%s]?\n", image, read_only ? "shared " : "",
                image);
        fclose(out);
        return text;
    }
    if (!fmt) {
        fmt = f->qcow2 ? "qcow2" : "raw";
    }
    if (strcmp(fmt, "qcow2") && strcmp(fmt, "raw")) {
        *err = xasprintf("qemu-io: the simulator opens qcow2 and raw images, not '%s'", fmt);
        fclose(out);
        free(text);
        return NULL;
    }
    sim m;
    memset(&m, 0, sizeof m);
    m.base = s->base;
    m.files = s->files;
    m.running = true;
    json_object *opts = json_object_new_object();
    json_object *file = json_object_new_object();
    json_add_lit(file, "driver", json_object_new_string("file"));
    json_add_lit(file, "filename", json_object_new_string(image));
    json_add_lit(opts, "driver", json_object_new_string(fmt));
    json_add_lit(opts, "file", file);
    sim_node *n = NULL;
    bool aborted = false;
    json_object *e = blockdev_open(&m, opts, NULL, &n, false);
    json_object_put(opts);
    if (e) {
        json_object *ed, *desc;
        const char *msg = json_object_object_get_ex(e, "error", &ed) &&
                          json_object_object_get_ex(ed, "desc", &desc)
                          ? json_object_get_string(desc) : "?";
        fprintf(out, "qemu-io: can't open device %s: %s\n", image, msg);
        json_object_put(e);
    } else {
        for (size_t i = 0; i < ncmds && !aborted; i++) {
            if (!strcmp(cmds[i], "abort")) {
                /* abort(): nothing is closed, and stdout (a pipe, fully
                 * buffered) loses what was not yet flushed: all of it */
                q2_bitmaps_abandon(n);
                aborted = true;
            } else {
                sim_io_command(&m, n, !read_only, false, cmds[i], out);
            }
        }
        node_unref(&m, n);      /* close: persistent bitmaps are stored (not after abort) */
    }
    while (m.nodes) {
        node_remove(&m, m.nodes);
    }
    events_drop(&m);
    s->files = m.files;
    fclose(out);
    if (aborted) {
        text[0] = '\0';
    }
    return text;
}

/* qemu-img map --output=json of an image file, as its own process. */
static json_object *img_map_file(sim *s, const char *image, char **err)
{
    const char *argv[] = { "--output=json", image };
    char *text = NULL, *etext = NULL;
    json_object *list = NULL;
    if (img_map_cmd(s, argv, 2, &text, &etext) == 0 && text) {
        list = json_tokener_parse(text);
    }
    if (!list) {
        size_t l = etext ? strlen(etext) : 0;
        while (l && etext[l - 1] == '\n') {
            etext[--l] = '\0';
        }
        *err = xstrdup(etext && *etext ? etext : "qemu-img map: no output");
    }
    free(text);
    free(etext);
    return list;
}

json_object *sim_tool_img_map(sim *s, const char *image, const char *context, char **err)
{
    sim_nbd_export *exp;
    char *oerr = NULL;
    if (!nbd_uri_lookup(s, image, &exp, &oerr)) {
        return img_map_file(s, image, err);
    }
    if (oerr) {
        *err = xasprintf("qemu-img: %s", oerr);
        free(oerr);
        return NULL;
    }
    sim_map_extent *v;
    size_t n = nbd_map(s, exp, context, &v);
    json_object *list = json_object_new_array();
    for (size_t i = 0; i < n; i++) {
        json_object *o = json_object_new_object();
        json_add_lit(o, "start", json_object_new_int64((int64_t)v[i].start));
        json_add_lit(o, "length", json_object_new_int64((int64_t)v[i].length));
        json_add_lit(o, "depth", json_object_new_int(v[i].depth));
        /* today's NBD client: an extent that is data or zero is present,
         * at its own offset */
        bool present = v[i].data || v[i].zero;
        json_add_lit(o, "present", json_object_new_boolean(present));
        json_add_lit(o, "zero", json_object_new_boolean(v[i].zero));
        json_add_lit(o, "data", json_object_new_boolean(v[i].data));
        if (present) {
            json_add_lit(o, "offset", json_object_new_int64((int64_t)v[i].start));
        }
        json_object_array_add(list, o);
    }
    free(v);
    return list;
}
