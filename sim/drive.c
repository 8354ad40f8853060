/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * -drive and block backends: iotests' VM.add_drive gives QEMU
 * "-drive if=virtio,id=drive0,file=PATH,format=qcow2,cache=writeback,
 * aio=threads[,OPTS]". QEMU 7.2 (blockdev.c drive_new / blockdev_init)
 * opens the image as an anonymous (or node-name=) format node over an
 * anonymous file node and hangs it under a BlockBackend named by id, which
 * query-block lists and which QMP commands find by that name
 * (bdrv_lookup_bs: device names first, then node names).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/blk.h"
#include "sim/qapi.h"

sim_blk *blk_find(sim *s, const char *name)
{
    for (sim_blk *b = s->blks; name && b; b = b->next) {
        /* a device's anonymous BlockBackend (device.c) has no name to find */
        if (b->name[0] && !strcmp(b->name, name)) {
            return b;
        }
    }
    return NULL;
}

sim_node *blk_lookup_bs(sim *s, const char *name)
{
    sim_blk *b = blk_find(s, name);
    if (b && b->root) {
        return b->root;
    }
    return name ? node_find(s, name) : NULL;
}

json_object *blk_lookup_bs_err(sim *s, const char *name, sim_node **out)
{
    sim_blk *b = blk_find(s, name);
    *out = blk_lookup_bs(s, name);
    if (b && !b->root) {
        *out = NULL;
        return qmp_error("GenericError", "Device '%s' has no medium", name);
    }
    if (!*out) {
        return qmp_error("GenericError", "Cannot find device='%s' nor node-name='%s'", name, name);
    }
    return NULL;
}

void blk_replace_node(sim *s, sim_node *old, sim_node *new_node, sim_node *except)
{
    for (sim_blk *b = s->blks; b; b = b->next) {
        if (b->root == old) {
            b->root = new_node;
            old->parents--;
            new_node->parents++;
        }
    }
    for (sim_node *p = s->nodes; p; p = p->next) {
        if (p == except || p == new_node) {
            continue;
        }
        if (p->file == old) {
            p->file = new_node;
            old->parents--;
            new_node->parents++;
        }
        if (p->backing == old) {
            p->backing = new_node;
            old->parents--;
            new_node->parents++;
        }
    }
}

void blk_free_all(sim *s)
{
    while (s->blks) {
        sim_blk *b = s->blks;
        s->blks = b->next;
        free(b->name);
        free(b->qdev);
        free(b);
    }
}

/* One -drive option string, split at commas (",," is a literal comma). */
typedef struct drive_opt {
    char *key, *val;
} drive_opt;

static size_t split_opts(const char *str, drive_opt **out)
{
    size_t n = 0;
    *out = NULL;
    const char *p = str;
    while (*p) {
        char *buf = malloc(strlen(p) + 1);
        size_t len = 0;
        while (*p && !(*p == ',' && p[1] != ',')) {
            if (*p == ',' && p[1] == ',') {
                p++;
            }
            buf[len++] = *p++;
        }
        buf[len] = '\0';
        if (*p == ',') {
            p++;
        }
        *out = realloc(*out, (n + 1) * sizeof **out);
        char *eq = strchr(buf, '=');
        (*out)[n].key = buf;
        (*out)[n].val = eq ? eq + 1 : NULL;
        if (eq) {
            *eq = '\0';
        }
        n++;
    }
    return n;
}

static bool opt_bool(const char *v, bool *out)
{
    if (!v || !strcmp(v, "on") || !strcmp(v, "true") || !strcmp(v, "yes")) {
        *out = true;
    } else if (!strcmp(v, "off") || !strcmp(v, "false") || !strcmp(v, "no")) {
        *out = false;
    } else {
        return false;
    }
    return true;
}

/* The node a file= string names: "blkdebug::REST" is blkdebug over REST
 * (blkdebug's protocol prefix with an empty config), "null-co://" the
 * null-co protocol, anything else a file. */
static json_object *protocol_options(const char *file)
{
    json_object *o = json_object_new_object();
    if (!strncmp(file, "blkdebug::", 10)) {
        json_add_lit(o, "driver", json_object_new_string("blkdebug"));
        json_add_lit(o, "image", protocol_options(file + 10));
    } else if (!strcmp(file, "null-co://")) {
        json_add_lit(o, "driver", json_object_new_string("null-co"));
    } else {
        json_add_lit(o, "driver", json_object_new_string("file"));
        json_add_lit(o, "filename", json_object_new_string(file));
    }
    return o;
}

/* The node a drive opens: with driver=blkdebug, the blkdebug node file=
 * names (align= is its option); else FORMAT (probed when absent: qcow2
 * when the file holds one, else raw) over the file= node. */
static json_object *drive_node_options(sim *s, const char *file, const char *format,
                                       const char *driver, int64_t align, const char *node_name)
{
    json_object *proto = protocol_options(file), *opts, *pd = NULL;
    json_object_object_get_ex(proto, "driver", &pd);
    if (driver && !strcmp(driver, "blkdebug") && !strcmp(json_object_get_string(pd), "blkdebug")) {
        opts = proto;
        if (align) {
            json_add_lit(opts, "align", json_object_new_int64(align));
        }
    } else {
        if (!format) {
            sim_file *f = fs_lookup(s, file);
            format = f ? img_probe_format(f) : "raw";
        }
        opts = json_object_new_object();
        json_add_lit(opts, "driver", json_object_new_string(format));
        json_add_lit(opts, "file", proto);
    }
    if (node_name) {
        json_add_lit(opts, "node-name", json_object_new_string(node_name));
    }
    return opts;
}

/* bdrv_fill_options: a node given by a filename alone is a file (no
 * protocol prefix names another), at any depth */
static void fill_protocol(json_object *o)
{
    json_object *v;
    if (json_object_object_get_ex(o, "filename", &v) && !json_object_object_get_ex(o, "driver", &v)) {
        json_add_lit(o, "driver", json_object_new_string("file"));
    }
    json_object_object_foreach(o, k, child) {
        (void)k;
        if (json_object_is_type(child, json_type_object)) {
            fill_protocol(child);
        }
    }
}

static void blk_append(sim *s, sim_blk *blk)
{
    sim_blk **pp = &s->blks;
    while (*pp) {
        pp = &(*pp)->next;
    }
    *pp = blk;
}

static int drive_new_empty_cdrom(sim *s, const char *id)
{
    sim_blk *blk = calloc(1, sizeof *blk);
    blk->name = xstrdup(id);
    blk->has_dev = true;
    blk->cdrom = true;
    /* the ide-cd device's QOM path under QEMU 7.2's pc machine with
     * -nodefaults (the machine's own devices come first): observed */
    blk->qdev = xstrdup("/machine/unattached/device[18]");
    blk_append(s, blk);
    return 0;
}

/* drive_new/blockdev_init for one option string; *err is the bare message
 * (-drive prefixes it with the option, HMP drive_add prints it as is). */
static int drive_new(sim *s, const char *optstr, unsigned *anon_devs, char **err)
{
    drive_opt *o;
    size_t n = split_opts(optstr, &o);
    const char *iface = "ide", *id = NULL, *file = NULL, *format = NULL;
    const char *node_name = NULL, *backing_name = NULL, *driver = NULL;
    int64_t align = 0;
    bool read_only = false, no_flush = false, cdrom = false;
    /* the driver's own options, dotted keys nested (qdict_crumple):
     * driver=throttle,throttle-group=tg0,file.driver=qcow2,... */
    json_object *own = json_object_new_object();
    int ret = -1;
    for (size_t i = 0; i < n; i++) {
        const char *k = o[i].key, *v = o[i].val ? o[i].val : "";
        if (!strcmp(k, "if")) {
            iface = v;
        } else if (!strcmp(k, "id")) {
            id = v;
        } else if (!strcmp(k, "file")) {
            file = v;
        } else if (!strcmp(k, "format")) {
            format = v;
        } else if (!strcmp(k, "node-name")) {
            node_name = v;
        } else if (!strcmp(k, "backing.node-name")) {
            backing_name = v;
        } else if (!strcmp(k, "driver")) {
            driver = v;
        } else if (!strcmp(k, "align")) {
            align = strtoll(v, NULL, 0);
        } else if (!strcmp(k, "throttle-group") || !strncmp(k, "file.", 5)) {
            json_object *at = own;
            char *path = xstrdup(k), *save = NULL;
            char *part = strtok_r(path, ".", &save);
            for (char *next; (next = strtok_r(NULL, ".", &save)); part = next) {
                json_object *sub = NULL;
                if (!json_object_object_get_ex(at, part, &sub) ||
                    !json_object_is_type(sub, json_type_object)) {
                    sub = json_object_new_object();
                    json_object_object_add(at, part, sub);
                }
                at = sub;
            }
            json_object_object_add(at, part, json_object_new_string(v));
            free(path);
        } else if (!strcmp(k, "cache.no-flush")) {
            if (!opt_bool(o[i].val, &no_flush)) {
                *err = xstrdup("Parameter 'cache.no-flush' expects 'on' or 'off'");
                goto out;
            }
        } else if (!strcmp(k, "media")) {
            if (strcmp(v, "disk") && strcmp(v, "cdrom")) {
                *err = xasprintf("'%s' invalid media", v);
                goto out;
            }
            cdrom = !strcmp(v, "cdrom");
        } else if (!strcmp(k, "read-only") || !strcmp(k, "readonly")) {
            /* drive_new renames the legacy readonly= to read-only= */
            if (!opt_bool(o[i].val, &read_only)) {
                *err = xstrdup("Parameter 'read-only' expects 'on' or 'off'");
                goto out;
            }
        } else if (strcmp(k, "cache") && strcmp(k, "aio")) {
            /* the simulator models no other -drive option */
            *err = xasprintf("the simulator does not model option '%s'", k);
            goto out;
        }
    }
    /* the option group's id is checked when the options are parsed */
    if (id && blk_find(s, id)) {
        *err = xasprintf("Duplicate ID '%s' for drive", id);
        goto out;
    }
    if (!strcmp(iface, "ide") && cdrom && !file && !driver && id) {
        /* an empty CD-ROM drive: a BlockBackend without a medium, which the
         * pc machine attaches to an ide-cd device */
        ret = drive_new_empty_cdrom(s, id);
        goto out;
    }
    if (strcmp(iface, "virtio") && strcmp(iface, "none")) {
        *err = xstrdup("the simulator models if=virtio and if=none, and if=ide for an empty "
                       "media=cdrom");
        goto out;
    }
    if (!id || (!file && (!driver || !strcmp(driver, "blkdebug")))) {
        *err = xstrdup("the simulator needs id= and file= (or driver=)");
        goto out;
    }
    json_object *opts;
    if (driver && strcmp(driver, "blkdebug")) {
        /* another driver: its options come from the dotted keys */
        if (strcmp(driver, "throttle")) {
            *err = xasprintf("the simulator models driver=blkdebug and throttle only, not '%s'",
                             driver);
            goto out;
        }
        opts = json_object_get(own);
        fill_protocol(opts);
        json_add_lit(opts, "driver", json_object_new_string(driver));
        if (node_name) {
            json_add_lit(opts, "node-name", json_object_new_string(node_name));
        }
    } else {
        opts = drive_node_options(s, file, format, driver, align, node_name);
    }
    json_object *e = qapi_check_blockdev_options(opts, "");
    sim_node *root = NULL;
    if (!e) {
        e = blockdev_open(s, opts, NULL, &root, false);
    }
    json_object_put(opts);
    if (e) {
        json_object *ej = NULL, *d = NULL;
        json_object_object_get_ex(e, "error", &ej);
        json_object_object_get_ex(ej, "desc", &d);
        *err = xstrdup(d ? json_object_get_string(d) : "?");
        json_object_put(e);
        goto out;
    }
    node_set_read_only(root, read_only);
    for (sim_node *m = root; m; m = m->file) {
        m->no_flush = no_flush;     /* the cache options go to the children */
    }
    /* an image's backing chain is opened read-only */
    for (sim_node *b = root->backing; b; b = b->backing) {
        node_set_read_only(b, true);
    }
    if (backing_name && root->backing) {
        free(root->backing->name);
        root->backing->name = xstrdup(backing_name);
        root->backing->auto_named = false;
    }
    root->parents++;
    sim_blk *blk = calloc(1, sizeof *blk);
    blk->name = xstrdup(id);
    blk->root = root;
    blk->has_dev = !strcmp(iface, "virtio");
    if (blk->has_dev) {
        /* if=virtio: an anonymous virtio-blk-pci device */
        blk->qdev = xasprintf("/machine/peripheral-anon/device[%u]/virtio-backend", (*anon_devs)++);
    }
    sim_blk **pp = &s->blks;
    while (*pp) {
        pp = &(*pp)->next;
    }
    *pp = blk;
    ret = 0;
out:
    json_object_put(own);
    for (size_t i = 0; i < n; i++) {
        free(o[i].key);
    }
    free(o);
    return ret;
}

int drive_add_if_none(sim *s, const char *optstr, char **err)
{
    unsigned no_devices = 0;
    return drive_new(s, optstr, &no_devices, err);
}

const char *device_or_node_name(sim *s, const sim_node *n)
{
    const char *name = blk_device_name(s, n);
    return name[0] ? name : n->name;
}

void blk_retarget(sim *s, sim_node *from, sim_node *to)
{
    for (sim_blk *b = s->blks; b; b = b->next) {
        if (b->root == from) {
            b->root = to;
            from->parents--;
            to->parents++;
        }
    }
}

/* -object iothread (iothreads do not change what the block layer does) and
 * the storage devices: virtio-scsi controllers, and scsi-hd disks, which
 * attach their drive= backend to a guest device. */
static int guest_arg(sim *s, const char *opt, const char *val, unsigned *anon_devs, char **err)
{
    drive_opt *o;
    size_t n = split_opts(val, &o);
    int ret = 0;
    const char *type = n && !o[0].val ? o[0].key : NULL;
    if (!strcmp(opt, "-object")) {
        if (!type || strcmp(type, "iothread")) {
            *err = xasprintf("-object %s: the simulator models iothread objects only", val);
            ret = -1;
        }
    } else if (type && !strcmp(type, "scsi-hd")) {
        sim_blk *blk = NULL;
        for (size_t i = 1; i < n; i++) {
            if (!strcmp(o[i].key, "drive")) {
                blk = blk_find(s, o[i].val);
                if (!blk) {
                    /* drive= may name a node: the device gets an anonymous
                     * BlockBackend on it (device.c) */
                    blk = blk_new_anonymous(s, o[i].val);
                }
                if (!blk) {
                    *err = xasprintf("-device %s: Property 'scsi-hd.drive' can't find value '%s'",
                                     val, o[i].val ? o[i].val : "");
                    ret = -1;
                }
            }
        }
        if (blk && !blk->has_dev) {
            blk->has_dev = true;
            const char *id = NULL;
            for (size_t i = 1; i < n; i++) {
                if (!strcmp(o[i].key, "id")) {
                    id = o[i].val ? o[i].val : "";
                }
            }
            blk->qdev = id ? xstrdup(id)
                : xasprintf("/machine/peripheral-anon/device[%u]", (*anon_devs)++);
        }
    } else if (!type || strcmp(type, "virtio-scsi")) {
        *err = xasprintf("-device %s: the simulator models virtio-scsi and scsi-hd devices only",
                         val);
        ret = -1;
    }
    for (size_t i = 0; i < n; i++) {
        free(o[i].key);
    }
    free(o);
    return ret;
}

int drive_launch_args(sim *s, const char *const *argv, size_t argc, char **err)
{
    unsigned anon_devs = 0;
    for (size_t i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "-drive")) {
            if (i + 1 >= argc) {
                *err = xstrdup("-drive needs an argument");
                return -1;
            }
            char *e = NULL;
            if (drive_new(s, argv[i + 1], &anon_devs, &e) < 0) {
                *err = xasprintf("-drive %s: %s", argv[i + 1], e);
                free(e);
                return -1;
            }
            i++;
        } else if (!strcmp(argv[i], "-machine") || !strcmp(argv[i], "-accel")) {
            i++;    /* the machine type does not change the block layer */
        } else if (!strcmp(argv[i], "-object") || !strcmp(argv[i], "-device")) {
            if (i + 1 >= argc) {
                *err = xasprintf("%s needs an argument", argv[i]);
                return -1;
            }
            if (guest_arg(s, argv[i], argv[i + 1], &anon_devs, err) < 0) {
                return -1;
            }
            i++;
        } else {
            *err = xasprintf("the simulator does not model the QEMU option '%s'", argv[i]);
            return -1;
        }
    }
    return 0;
}

/* query-block (QEMU 7.2 qmp_query_block / bdrv_query_info): the named
 * backends in creation order, members in QEMU's order. */
json_object *qmp_query_block(sim *s)
{
    json_object *list = json_object_new_array();
    for (sim_blk *b = s->blks; b; b = b->next) {
        json_object *o = json_object_new_object();
        if (b->has_dev) {
            json_add_lit(o, "io-status", json_object_new_string("ok"));
        }
        json_add_lit(o, "device", json_object_new_string(b->name));
        json_add_lit(o, "locked", json_object_new_boolean(false));
        json_add_lit(o, "removable", json_object_new_boolean(b->cdrom));
        if (b->cdrom) {
            json_add_lit(o, "tray_open", json_object_new_boolean(false));
        }
        if (b->root) {
            json_add_lit(o, "inserted", node_info(s, b->root));
        }
        if (b->has_dev) {
            json_add_lit(o, "qdev", json_object_new_string(b->qdev));
        }
        json_add_lit(o, "type", json_object_new_string("unknown"));
        json_object_array_add(list, o);
    }
    json_object *r = json_object_new_object();
    json_add_lit(r, "return", list);
    return r;
}

const char *blk_device_name(sim *s, const sim_node *n)
{
    for (sim_blk *b = s->blks; b; b = b->next) {
        if (b->root == n && b->name[0]) {
            return b->name;
        }
    }
    return "";
}
