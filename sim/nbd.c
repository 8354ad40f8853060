/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The NBD server of the simulated VM, and what an NBD client sees of it.
 * Commands and checks follow QEMU 3.0 (2018, iotest 223's first version):
 * nbd-server-start / -add / -remove / -stop and x-nbd-server-add-bitmap
 * (removed in QEMU 4.0 in favour of nbd-server-add's "bitmap"). The texts
 * are those of QEMU's blockdev-nbd.c and nbd/server.c as recorded in
 * sim/MODEL.md. There are no sockets: a client reaches an export through
 * the server's unix socket path and the export's name.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim/nbd.h"

static const char *jstr(json_object *o, const char *key)
{
    json_object *v;
    if (o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)) {
        return json_object_get_string(v);
    }
    return NULL;
}

/* QAPI's argument checks for the few members these commands take:
 * required strings and booleans, nothing unexpected. */
typedef struct nbd_field {
    const char *name;
    json_type type;
    bool required;
} nbd_field;

static json_object *check_args(json_object *args, const nbd_field *fs)
{
    if (args) {
        json_object_object_foreach(args, key, val) {
            const nbd_field *f = fs;
            while (f->name && strcmp(f->name, key)) {
                f++;
            }
            if (!f->name) {
                return qmp_error("GenericError", "Parameter '%s' is unexpected", key);
            }
            if (!json_object_is_type(val, f->type)) {
                return qmp_error("GenericError", "Invalid parameter type for '%s', expected: %s",
                                 key, f->type == json_type_boolean ? "boolean"
                                      : f->type == json_type_object ? "object" : "string");
            }
        }
    }
    for (const nbd_field *f = fs; f->name; f++) {
        json_object *v;
        if (f->required && !(args && json_object_object_get_ex(args, f->name, &v))) {
            return qmp_error("GenericError", "Parameter '%s' is missing", f->name);
        }
    }
    return NULL;
}

static sim_nbd_export *export_find(sim_nbd *srv, const char *name)
{
    for (sim_nbd_export *e = srv ? srv->exports : NULL; e; e = e->next) {
        if (!strcmp(e->name, name)) {
            return e;
        }
    }
    return NULL;
}

static void export_free(sim_nbd_export *e)
{
    free(e->name);
    free(e->bitmap);
    free(e->bitmap_export);
    free(e);
}

static void export_remove(sim_nbd *srv, sim_nbd_export *e)
{
    for (sim_nbd_export **pp = &srv->exports; *pp; pp = &(*pp)->next) {
        if (*pp == e) {
            *pp = e->next;
            break;
        }
    }
    export_free(e);
}

void nbd_stop_all(sim *s)
{
    sim_nbd *srv = s->nbd;
    if (!srv) {
        return;
    }
    while (srv->exports) {
        export_remove(srv, srv->exports);
    }
    free(srv->socket);
    free(srv);
    s->nbd = NULL;
}

bool nbd_node_exported(sim *s, const sim_node *n)
{
    for (sim_nbd_export *e = s->nbd ? s->nbd->exports : NULL; e; e = e->next) {
        if (e->node == n) {
            return true;
        }
    }
    return false;
}

/* The bitmap behind an export's bitmap: QEMU looks down the backing chain. */
static sim_bitmap *export_bitmap(const sim_nbd_export *e)
{
    for (sim_node *n = e->node; n; n = n->backing) {
        sim_bitmap *b = bitmap_find(n, e->bitmap);
        if (b) {
            return b;
        }
    }
    return NULL;
}

static json_object *nbd_start(sim *s, json_object *args)
{
    static const nbd_field f[] = {
        { "addr", json_type_object, true }, { "tls-creds", json_type_string, false },
        { "tls-authz", json_type_string, false }, { NULL, 0, false } };
    json_object *err = check_args(args, f), *addr, *data;
    if (err) {
        return err;
    }
    json_object_object_get_ex(args, "addr", &addr);
    const char *type = jstr(addr, "type");
    const char *path = json_object_object_get_ex(addr, "data", &data) ? jstr(data, "path") : NULL;
    if (!type || strcmp(type, "unix") || !path) {
        return qmp_error("GenericError",
                         "the simulator's NBD server listens on unix sockets only "
                         "({\"type\": \"unix\", \"data\": {\"path\": ...}})");
    }
    if (s->nbd) {
        return qmp_error("GenericError", "NBD server already running");
    }
    s->nbd = calloc(1, sizeof *s->nbd);
    s->nbd->socket = xstrdup(path);
    return qmp_ok();
}

static json_object *nbd_add(sim *s, json_object *args)
{
    static const nbd_field f[] = {
        { "device", json_type_string, true }, { "name", json_type_string, false },
        { "writable", json_type_boolean, false }, { NULL, 0, false } };
    json_object *err = check_args(args, f), *w;
    if (err) {
        return err;
    }
    if (!s->nbd) {
        return qmp_error("GenericError", "NBD server not running");
    }
    const char *device = jstr(args, "device");
    const char *name = jstr(args, "name") ? jstr(args, "name") : device;
    if (export_find(s->nbd, name)) {
        return qmp_error("GenericError", "NBD server already has export named '%s'", name);
    }
    sim_node *n = node_find(s, device);
    if (!n) {
        return qmp_error("GenericError", "Cannot find device=%s nor node_name=%s", device, device);
    }
    sim_nbd_export *e = calloc(1, sizeof *e);
    e->name = xstrdup(name);
    e->node = n;
    e->writable = json_object_object_get_ex(args, "writable", &w) && json_object_get_boolean(w);
    sim_nbd_export **pp = &s->nbd->exports;
    while (*pp) {
        pp = &(*pp)->next;
    }
    *pp = e;
    return qmp_ok();
}

static json_object *nbd_add_bitmap(sim *s, json_object *args)
{
    static const nbd_field f[] = {
        { "name", json_type_string, true }, { "bitmap", json_type_string, true },
        { "bitmap-export-name", json_type_string, false }, { NULL, 0, false } };
    json_object *err = check_args(args, f);
    if (err) {
        return err;
    }
    if (!s->nbd) {
        return qmp_error("GenericError", "NBD server not running");
    }
    const char *name = jstr(args, "name"), *bitmap = jstr(args, "bitmap");
    const char *as = jstr(args, "bitmap-export-name") ? jstr(args, "bitmap-export-name") : bitmap;
    sim_nbd_export *e = export_find(s->nbd, name);
    if (!e) {
        return qmp_error("GenericError", "Export '%s' is not found", name);
    }
    if (e->bitmap) {
        return qmp_error("GenericError", "Export bitmap is already set");
    }
    sim_nbd_export probe = { .node = e->node, .bitmap = (char *)bitmap };
    sim_bitmap *b = export_bitmap(&probe);
    if (!b) {
        return qmp_error("GenericError", "Bitmap '%s' is not found", bitmap);
    }
    /* a recording bitmap would change under the client's feet */
    if (cl_bitmap_enabled(b->bm)) {
        return qmp_error("GenericError", "Bitmap '%s' is enabled", bitmap);
    }
    if (cl_bitmap_busy(b->bm)) {
        return qmp_error("GenericError", "Bitmap '%s' is locked", bitmap);
    }
    if (!*as) {
        return qmp_error("GenericError", "Bitmap export name is empty");
    }
    e->bitmap = xstrdup(bitmap);
    e->bitmap_export = xstrdup(as);
    return qmp_ok();
}

static json_object *nbd_remove(sim *s, json_object *args)
{
    static const nbd_field f[] = {
        { "name", json_type_string, true }, { "mode", json_type_string, false },
        { NULL, 0, false } };
    json_object *err = check_args(args, f);
    if (err) {
        return err;
    }
    if (!s->nbd) {
        return qmp_error("GenericError", "NBD server not running");
    }
    const char *name = jstr(args, "name");
    sim_nbd_export *e = export_find(s->nbd, name);
    if (!e) {
        return qmp_error("GenericError", "Export '%s' is not found", name);
    }
    export_remove(s->nbd, e);
    return qmp_ok();
}

json_object *nbd_dispatch(sim *s, const char *cmd, json_object *args)
{
    if (args && !json_object_is_type(args, json_type_object)) {
        return NULL;    /* the generic dispatcher reports it */
    }
    if (!strcmp(cmd, "nbd-server-start")) {
        return nbd_start(s, args);
    }
    if (!strcmp(cmd, "nbd-server-add")) {
        return nbd_add(s, args);
    }
    if (!strcmp(cmd, "x-nbd-server-add-bitmap")) {
        return nbd_add_bitmap(s, args);
    }
    if (!strcmp(cmd, "nbd-server-remove")) {
        return nbd_remove(s, args);
    }
    if (!strcmp(cmd, "nbd-server-stop")) {
        static const nbd_field f[] = { { NULL, 0, false } };
        json_object *err = check_args(args, f);
        if (err) {
            return err;
        }
        if (!s->nbd) {
            return qmp_error("GenericError", "NBD server not running");
        }
        nbd_stop_all(s);
        return qmp_ok();
    }
    if (!strcmp(cmd, "blockdev-del")) {
        /* the export's BlockBackend holds the node */
        const char *name = jstr(args, "node-name");
        sim_node *n = name ? node_find(s, name) : NULL;
        if (n && nbd_node_exported(s, n)) {
            return qmp_error("GenericError", "Node %s is in use", name);
        }
    }
    return NULL;
}

/* The NBD protocol carries few errnos: the server maps its errno
 * (system_errno_to_nbd_errno, everything unknown is EINVAL) and the client
 * maps back (nbd_errno_to_system_errno). A snapshot-access EACCES reads
 * as "Invalid argument" over NBD. */
int nbd_wire_errno(int err)
{
    switch (err) {
    case EPERM:
    case EROFS:
        return EPERM;
    case EIO:
        return EIO;
    case ENOMEM:
        return ENOMEM;
    case EDQUOT:
    case EFBIG:
    case ENOSPC:
        return ENOSPC;
    case EOVERFLOW:
        return EOVERFLOW;
    case ENOTSUP:
        return ENOTSUP;
    case ESHUTDOWN:
        return ESHUTDOWN;
    default:
        return EINVAL;
    }
}

/* nbd+unix:///EXPORT?socket=PATH (QEMU's NBD URI form). */
bool nbd_uri_lookup(sim *s, const char *image, sim_nbd_export **exp, char **err)
{
    static const char prefix[] = "nbd+unix:///";
    *exp = NULL;
    if (strncmp(image, prefix, sizeof prefix - 1)) {
        return false;
    }
    const char *name = image + sizeof prefix - 1;
    const char *q = strstr(name, "?socket=");
    if (!q) {
        *err = xasprintf("Could not open '%s': No valid socket specified", image);
        return true;
    }
    char *ename = strndup(name, (size_t)(q - name));
    const char *sock = q + strlen("?socket=");
    if (!s->running || !s->nbd || strcmp(s->nbd->socket, sock)) {
        *err = xasprintf("Could not open '%s': Failed to connect socket %s: "
                         "No such file or directory", image, sock);
    } else if (!(*exp = export_find(s->nbd, ename))) {
        /* QEMU 3.0's client, on the server's NBD_REP_ERR_UNKNOWN */
        *err = xasprintf("Could not open '%s': Requested export not available", image);
    }
    free(ename);
    return true;
}

/* ---- what a client sees: block status and qemu-img map ------------------ */

/* base:allocation as QEMU 3.0's server computes it (bdrv_block_status_above
 * with no base): HOLE when no layer of the chain allocates the range, ZERO
 * when it reads as zeroes. */
static unsigned alloc_flags(sim *s, sim_node *n, uint64_t off, uint64_t len, uint64_t *pnum)
{
    int st = node_block_status(s, n, off, len, pnum);
    if (!(st & CL_STATUS_ALLOCATED) && n->drv == DRV_QCOW2 && n->backing &&
        off < node_size(n->backing)) {
        uint64_t bnum;
        unsigned f = alloc_flags(s, n->backing, off, *pnum, &bnum);
        *pnum = bnum;
        return f;
    }
    return (st & CL_STATUS_ALLOCATED ? 0u : 1u) | (st & CL_STATUS_ZERO ? 2u : 0u);
}

size_t nbd_map(sim *s, sim_nbd_export *e, const char *context, sim_map_extent **out)
{
    uint64_t size = node_size(e->node);
    sim_bitmap *b = NULL;
    bool bitmap_ctx = false;
    if (context && strcmp(context, "base:allocation")) {
        static const char pfx[] = "qemu:dirty-bitmap:";
        if (e->bitmap && !strncmp(context, pfx, sizeof pfx - 1) &&
            !strcmp(context + sizeof pfx - 1, e->bitmap_export)) {
            b = export_bitmap(e);
        }
        bitmap_ctx = true;
    }
    sim_map_extent *v = NULL;
    size_t n = 0, cap = 0;
    for (uint64_t off = 0; off < size;) {
        uint64_t len;
        bool data, zero;
        if (bitmap_ctx && !b) {
            /* the server did not agree to the context: QEMU 3.0's client
             * then has no block status and reports everything as data */
            len = size - off;
            data = true;
            zero = false;
        } else if (bitmap_ctx) {
            /* x-dirty-bitmap reads the dirty flag where HOLE would be */
            bool dirty = cl_bitmap_get(b->bm, off);
            int64_t next = dirty ? cl_bitmap_next_clean(b->bm, off, size)
                                 : cl_bitmap_next_dirty(b->bm, off, size);
            uint64_t end = next < 0 || (uint64_t)next > size ? size : (uint64_t)next;
            len = end - off;
            data = !dirty;
            zero = false;
        } else {
            unsigned fl = alloc_flags(s, e->node, off, size - off, &len);
            data = !(fl & 1u);
            zero = fl & 2u;
        }
        if (len == 0 || len > size - off) {
            len = size - off;
        }
        /* qemu-img map merges neighbours that look alike */
        if (n && v[n - 1].data == data && v[n - 1].zero == zero && v[n - 1].depth == 0) {
            v[n - 1].length += len;
        } else {
            if (n == cap) {
                cap = cap ? 2 * cap : 8;
                v = realloc(v, cap * sizeof *v);
            }
            v[n++] = (sim_map_extent){ .start = off, .length = len, .depth = 0,
                                       .zero = zero, .data = data };
        }
        off += len;
    }
    *out = v;
    return n;
}
