/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The NBD server of the simulated VM (its QMP commands), and what an
 * internal NBD client sees of it. Commands: nbd-server-start / -add /
 * -remove / -stop and block-export-add as QEMU 7.2 has them, and QEMU
 * 3.0's x-nbd-server-add-bitmap (iotest 223's first version; removed in
 * QEMU 4.0 in favour of nbd-server-add's "bitmap"). The texts are those of
 * QEMU's blockdev-nbd.c, block/export and nbd/server.c as recorded in
 * sim/MODEL.md. The server listens on a real unix socket (nbd_server.c);
 * internal clients reach an export through the socket path and its name.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sim/nbd.h"

/* numbers the exports made, so a client knows a new one from the old */
static unsigned long export_serial;

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
                                      : f->type == json_type_object ? "object"
                                      : f->type == json_type_array ? "array" : "string");
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

static sim_nbd_export *export_by_id(sim_nbd *srv, const char *id)
{
    for (sim_nbd_export *e = srv ? srv->exports : NULL; e; e = e->next) {
        if (!strcmp(e->id ? e->id : e->name, id)) {
            return e;
        }
    }
    return NULL;
}

static void export_free(sim_nbd_export *e)
{
    for (size_t i = 0; i < e->nmore; i++) {
        free(e->more_bitmaps[i]);
    }
    free(e->more_bitmaps);
    free(e->name);
    free(e->bitmap);
    free(e->bitmap_export);
    free(e->description);
    free(e->id);
    free(e);
}

static void export_remove(sim *s, sim_nbd *srv, sim_nbd_export *e)
{
    nbd_server_export_gone(srv, e);
    sim_bitmap *b = e->bitmap_busy ? nbd_export_bitmap(e) : NULL;
    if (b && b->exported) {
        b->exported--;
    }
    for (size_t i = 0; i < e->nmore; i++) {
        if ((b = nbd_export_bitmap_at(e, i + 1)) && b->exported) {
            b->exported--;
        }
    }
    if (s) {
        /* QEMU 7.2: every NBD export is a block export with an id */
        json_object *d = json_object_new_object();
        json_add_lit(d, "id", json_object_new_string(e->id ? e->id : e->name));
        ev_emit(s, "BLOCK_EXPORT_DELETED", d);
    }
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
        export_remove(NULL, srv, srv->exports);
    }
    nbd_server_close(srv);
    free(srv->socket);
    free(srv);
    s->nbd = NULL;
}

bool nbd_node_exported(sim *s, const sim_node *n)
{
    for (sim_nbd_export *e = s->nbd ? s->nbd->exports : NULL; e; e = e->next) {
        if (e->node == n || e->bitmap_owner == n) {
            return true;
        }
    }
    return false;
}

unsigned nbd_alloc_depth(sim *s, sim_node *n, uint64_t off, uint64_t len, uint64_t *pnum)
{
    unsigned depth = 1;
    for (sim_node *l = n; l; l = l->backing, depth++) {
        uint64_t p = 0;
        int st = node_block_status(s, l, off, len, &p);
        if (p == 0 || p > len) {
            p = len;
        }
        if (st & CL_STATUS_ALLOCATED) {
            *pnum = p;
            return depth;
        }
        len = p;        /* what this layer leaves to the next is as long */
    }
    *pnum = len;
    return 0;
}

/* The bitmap behind an export's bitmap: QEMU looks down the backing chain. */
sim_bitmap *nbd_export_bitmap(const sim_nbd_export *e)
{
    if (!e->bitmap) {
        return NULL;
    }
    if (e->bitmap_owner) {
        return bitmap_find(e->bitmap_owner, e->bitmap);
    }
    for (sim_node *n = e->node; n; n = n->backing) {
        sim_bitmap *b = bitmap_find(n, e->bitmap);
        if (b) {
            return b;
        }
    }
    return NULL;
}

/* a bitmap of node n or of a node down its chain */
static sim_bitmap *chain_bitmap(sim_node *n, const char *name)
{
    for (; n; n = n->backing) {
        sim_bitmap *b = bitmap_find(n, name);
        if (b) {
            return b;
        }
    }
    return NULL;
}

size_t nbd_export_nbitmaps(const sim_nbd_export *e)
{
    return e->bitmap ? 1 + e->nmore : 0;
}

const char *nbd_export_bitmap_name(const sim_nbd_export *e, size_t i)
{
    return i ? e->more_bitmaps[i - 1] : e->bitmap_export;
}

sim_bitmap *nbd_export_bitmap_at(const sim_nbd_export *e, size_t i)
{
    return i ? chain_bitmap(e->node, e->more_bitmaps[i - 1]) : nbd_export_bitmap(e);
}

json_object *nbd_export_more_bitmap(sim_nbd_export *e, const char *bitmap)
{
    sim_bitmap *b = chain_bitmap(e->node, bitmap);
    if (!b) {
        return qmp_error("GenericError", "Bitmap '%s' is not found", bitmap);
    }
    if (cl_bitmap_busy(b->bm) || b->exported) {
        return qmp_error("GenericError", "Bitmap '%s' is currently in use by another "
                         "operation and cannot be used", bitmap);
    }
    e->more_bitmaps = realloc(e->more_bitmaps, (e->nmore + 1) * sizeof *e->more_bitmaps);
    e->more_bitmaps[e->nmore++] = xstrdup(bitmap);
    b->exported++;
    return qmp_ok();
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
    const char *type = json_str(addr, "type");
    const char *path = json_object_object_get_ex(addr, "data", &data) ? json_str(data, "path") : NULL;
    if (!type || strcmp(type, "unix") || !path) {
        return qmp_error("GenericError",
                         "the simulator's NBD server listens on unix sockets only "
                         "({\"type\": \"unix\", \"data\": {\"path\": ...}})");
    }
    if (s->nbd) {
        return qmp_error("GenericError", "NBD server already running");
    }
    /* the socket is a real file: it must live in the test directory */
    const char *dir = s->base.test_dir;
    size_t dl = dir ? strlen(dir) : 0;
    size_t pl = strlen(path);
    if (!dir || strncmp(path, dir, dl) || path[dl] != '/' || !path[dl + 1] ||
        strstr(path + dl, "/../") || strstr(path + dl, "/./") || path[pl - 1] == '/' ||
        (pl >= 3 && !strcmp(path + pl - 3, "/..")) || (pl >= 2 && !strcmp(path + pl - 2, "/."))) {
        return qmp_error("GenericError", "the simulator's NBD server listens only on sockets "
                         "inside its test directory %s, not '%s'", dir ? dir : "", path);
    }
    sim_nbd *srv = calloc(1, sizeof *srv);
    char *lerr = NULL;
    srv->socket = xstrdup(path);
    if (nbd_server_listen(srv, path, &lerr) < 0) {
        json_object *e = qmp_error("GenericError", "%s", lerr);
        free(lerr);
        free(srv->socket);
        free(srv);
        return e;
    }
    s->nbd = srv;
    return qmp_ok();
}

/* QEMU 7.2's blk_exp_add + nbd_export_create for an NBD export. bm_node /
 * bm_name: the bitmap to export (bm_node NULL: found on the node or down
 * its backing chain). */
static json_object *export_create(sim *s, const char *id, const char *node_name,
                                  const char *name, const char *desc, bool writable,
                                  const char *bm_node, const char *bm_name)
{
    if (!id_wellformed(id)) {
        return qmp_error("GenericError", "Invalid block export id");
    }
    for (sim_nbd_export *x = s->nbd ? s->nbd->exports : NULL; x; x = x->next) {
        if (!strcmp(x->id ? x->id : x->name, id)) {
            return qmp_error("GenericError", "Block export id '%s' is already in use", id);
        }
    }
    sim_node *n = node_find(s, node_name);
    if (!n) {
        return qmp_error("GenericError", "Cannot find device='%s' nor node-name='%s'",
                         node_name, node_name);
    }
    if (!s->nbd) {
        return qmp_error("GenericError", "NBD server not running");
    }
    if (!name) {
        name = node_name;
    }
    if (strlen(name) > 4096) {
        return qmp_error("GenericError", "export name '%s' too long", name);
    }
    if (desc && strlen(desc) > 4096) {
        return qmp_error("GenericError", "description '%s' too long", desc);
    }
    if (export_find(s->nbd, name)) {
        return qmp_error("GenericError", "NBD server already has export named '%s'", name);
    }
    sim_bitmap *b = NULL;
    if (bm_name) {
        if (bm_node) {
            /* {node, name}: taken as it is, recording or not (QEMU 7.2 checks
             * only bitmaps named by string; real QEMU agrees) */
            sim_node *bn = node_find(s, bm_node);
            if (!bn) {
                return qmp_error("GenericError", "Node '%s' not found", bm_node);
            }
            if (!(b = bitmap_find(bn, bm_name))) {
                return qmp_error("GenericError", "Dirty bitmap '%s' not found", bm_name);
            }
        } else {
            sim_node *owner = n;
            for (; owner && !(b = bitmap_find(owner, bm_name)); owner = owner->backing) {
            }
            if (!b) {
                return qmp_error("GenericError", "Bitmap '%s' is not found", bm_name);
            }
            /* a recording bitmap on a writable node would change under a
             * read-only export's clients */
            if (!writable && !owner->read_only && cl_bitmap_enabled(b->bm)) {
                return qmp_error("GenericError", "Enabled bitmap '%s' incompatible with "
                                 "readonly export", bm_name);
            }
        }
        if (cl_bitmap_busy(b->bm) || b->exported) {
            return qmp_error("GenericError", "Bitmap '%s' is currently in use by another "
                             "operation and cannot be used", bm_name);
        }
    }
    sim_nbd_export *e = calloc(1, sizeof *e);
    e->serial = ++export_serial;
    e->name = xstrdup(name);
    e->id = xstrdup(id);
    e->node = n;
    e->writable = writable;
    e->description = desc ? xstrdup(desc) : NULL;
    if (b) {
        /* the context is named after the bitmap itself */
        e->bitmap = xstrdup(bm_name);
        e->bitmap_export = xstrdup(bm_name);
        e->bitmap_owner = bm_node ? node_find(s, bm_node) : NULL;
        /* exported: busy until the export goes (QEMU's bdrv_dirty_bitmap_set_busy) */
        b->exported++;
        e->bitmap_busy = true;
    }
    sim_nbd_export **pp = &s->nbd->exports;
    while (*pp) {
        pp = &(*pp)->next;
    }
    *pp = e;
    return qmp_ok();
}

json_object *nbd_export_node(sim *s, sim_node *n, const char *name, bool writable,
                             const char *bitmap)
{
    sim_bitmap *b = NULL;
    /* nbd_export_create: the bitmap of the node or of a node down its
     * backing chain */
    for (sim_node *owner = bitmap ? n : NULL; owner && !b; owner = owner->backing) {
        b = bitmap_find(owner, bitmap);
    }
    if (bitmap && !b) {
        return qmp_error("GenericError", "Bitmap '%s' is not found", bitmap);
    }
    if (b && (cl_bitmap_busy(b->bm) || b->exported)) {
        return qmp_error("GenericError", "Bitmap '%s' is currently in use by another "
                         "operation and cannot be used", bitmap);
    }
    sim_nbd_export *e = calloc(1, sizeof *e);
    e->serial = ++export_serial;
    e->name = xstrdup(name);
    e->node = n;
    e->writable = writable;
    e->single_conn = true;
    if (b) {
        e->bitmap = xstrdup(bitmap);
        e->bitmap_export = xstrdup(bitmap);
        b->exported++;
        e->bitmap_busy = true;
    }
    e->next = s->nbd->exports;
    s->nbd->exports = e;
    return qmp_ok();
}

static json_object *nbd_add(sim *s, json_object *args)
{
    static const nbd_field f[] = {
        { "device", json_type_string, true }, { "name", json_type_string, false },
        { "description", json_type_string, false }, { "writable", json_type_boolean, false },
        { "bitmap", json_type_string, false }, { NULL, 0, false } };
    json_object *err = check_args(args, f), *w;
    if (err) {
        return err;
    }
    if (!s->nbd) {
        return qmp_error("GenericError", "NBD server not running");
    }
    const char *device = json_str(args, "device");
    const char *name = json_str(args, "name") ? json_str(args, "name") : device;
    bool writable = json_object_object_get_ex(args, "writable", &w) && json_object_get_boolean(w);
    sim_node *n = node_find(s, device);
    /* nbd-server-add downgrades a read-only node to a read-only export */
    if (n && n->read_only) {
        writable = false;
    }
    return export_create(s, name, device, name, json_str(args, "description"), writable, NULL,
                         json_str(args, "bitmap"));
}

/* block-export-add with type nbd (QEMU 7.2's BlockExportOptions). */
static json_object *export_add(sim *s, json_object *args)
{
    static const nbd_field f[] = {
        { "type", json_type_string, true }, { "id", json_type_string, true },
        { "node-name", json_type_string, true }, { "name", json_type_string, false },
        { "description", json_type_string, false }, { "writable", json_type_boolean, false },
        { "writethrough", json_type_boolean, false }, { "bitmaps", json_type_array, false },
        { "allocation-depth", json_type_boolean, false }, { "iothread", json_type_string, false },
        { "fixed-iothread", json_type_boolean, false }, { NULL, 0, false } };
    json_object *err = check_args(args, f), *w, *bms;
    if (err) {
        return err;
    }
    if (strcmp(json_str(args, "type"), "nbd")) {
        return qmp_error("GenericError", "the simulator exports over NBD only, not '%s'",
                         json_str(args, "type"));
    }
    const char *bm_node = NULL, *bm_name = NULL;
    if (json_object_object_get_ex(args, "bitmaps", &bms)) {
        size_t nb = json_object_array_length(bms);
        if (nb > 1) {
            return qmp_error("GenericError", "the simulator exports at most one bitmap per export");
        }
        if (nb == 1) {
            json_object *it = json_object_array_get_idx(bms, 0);
            if (json_object_is_type(it, json_type_string)) {
                bm_name = json_object_get_string(it);
            } else if (json_object_is_type(it, json_type_object) && json_str(it, "node") &&
                       json_str(it, "name")) {
                bm_node = json_str(it, "node");
                bm_name = json_str(it, "name");
            } else {
                return qmp_error("GenericError", "Invalid parameter type for 'bitmaps[0]', "
                                 "expected: BlockDirtyBitmapOrStr");
            }
        }
    }
    bool writable = json_object_object_get_ex(args, "writable", &w) && json_object_get_boolean(w);
    json_object *r = export_create(s, json_str(args, "id"), json_str(args, "node-name"), json_str(args, "name"),
                                   json_str(args, "description"), writable, bm_node, bm_name);
    if (!json_object_object_get_ex(r, "error", NULL) &&
        json_object_object_get_ex(args, "allocation-depth", &w) && json_object_get_boolean(w)) {
        /* the export just made is the last one */
        sim_nbd_export *x = s->nbd->exports;
        while (x->next) {
            x = x->next;
        }
        x->alloc_depth = true;
    }
    return r;
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
    const char *name = json_str(args, "name"), *bitmap = json_str(args, "bitmap");
    const char *as = json_str(args, "bitmap-export-name") ? json_str(args, "bitmap-export-name") : bitmap;
    sim_nbd_export *e = export_find(s->nbd, name);
    if (!e) {
        return qmp_error("GenericError", "Export '%s' is not found", name);
    }
    if (e->bitmap) {
        return qmp_error("GenericError", "Export bitmap is already set");
    }
    sim_nbd_export probe = { .node = e->node, .bitmap = (char *)bitmap };
    sim_bitmap *b = nbd_export_bitmap(&probe);
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
    /* QEMU 7.2 finds the block export by id (nbd-server-add's id is its name) */
    const char *name = json_str(args, "name");
    sim_nbd_export *e = export_by_id(s->nbd, name);
    if (!e) {
        return qmp_error("GenericError", "Export '%s' is not found", name);
    }
    export_remove(s, s->nbd, e);
    return qmp_ok();
}

/* query-block-exports and block-export-del (QEMU 7.2's block/export). */
static json_object *exports_query(sim *s)
{
    json_object *list = json_object_new_array();
    for (sim_nbd_export *e = s->nbd ? s->nbd->exports : NULL; e; e = e->next) {
        json_object *o = json_object_new_object();
        json_add_lit(o, "id", json_object_new_string(e->id ? e->id : e->name));
        json_add_lit(o, "node-name", json_object_new_string(e->node->name));
        json_add_lit(o, "shutting-down", json_object_new_boolean(false));
        json_add_lit(o, "type", json_object_new_string("nbd"));
        json_object_array_add(list, o);
    }
    json_object *r = json_object_new_object();
    json_add_lit(r, "return", list);
    return r;
}

static json_object *export_del(sim *s, json_object *args)
{
    static const nbd_field f[] = {
        { "id", json_type_string, true }, { "mode", json_type_string, false },
        { NULL, 0, false } };
    json_object *err = check_args(args, f);
    if (err) {
        return err;
    }
    const char *id = json_str(args, "id");
    sim_nbd_export *e = export_by_id(s->nbd, id);
    if (!e) {
        return qmp_error("GenericError", "Export '%s' is not found", id);
    }
    export_remove(s, s->nbd, e);
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
    if (!strcmp(cmd, "block-export-add")) {
        return export_add(s, args);
    }
    if (!strcmp(cmd, "block-export-del")) {
        return export_del(s, args);
    }
    if (!strcmp(cmd, "query-block-exports")) {
        return exports_query(s);
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
        while (s->nbd->exports) {
            export_remove(s, s->nbd, s->nbd->exports);
        }
        nbd_stop_all(s);
        return qmp_ok();
    }
    if (!strcmp(cmd, "blockdev-del")) {
        /* the export's BlockBackend holds the node */
        const char *name = json_str(args, "node-name");
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
    /* a qemu-nbd process beside the VM listens on its own socket */
    sim *pm = sim_qemu_nbd_machine(s);
    if (pm && pm->nbd && !strcmp(pm->nbd->socket, sock)) {
        if (!(*exp = export_find(pm->nbd, ename))) {
            *err = xasprintf("Could not open '%s': Requested export not available", image);
        }
        free(ename);
        return true;
    }
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

size_t nbd_map(sim *s, sim_nbd_export *e, const char *context, sim_map_extent **out)
{
    uint64_t size = node_size(e->node);
    sim_bitmap *b = NULL;
    bool bitmap_ctx = false;
    bool depth_ctx = context && !strcmp(context, "qemu:allocation-depth") && e->alloc_depth;
    if (context && strcmp(context, "base:allocation") && !depth_ctx) {
        static const char pfx[] = "qemu:dirty-bitmap:";
        for (size_t i = 0; i < nbd_export_nbitmaps(e) && !b; i++) {
            if (!strncmp(context, pfx, sizeof pfx - 1) &&
                !strcmp(context + sizeof pfx - 1, nbd_export_bitmap_name(e, i))) {
                b = nbd_export_bitmap_at(e, i);
            }
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
        } else if (depth_ctx) {
            /* x-dirty-bitmap reads the context's values as base:allocation
             * flags: depth 1 as HOLE, 2 as ZERO, 0 as data */
            unsigned d = nbd_alloc_depth(s, e->node, off, size - off, &len);
            data = !(d & 1u);
            zero = d & 2u;
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
            /* what the server's base:allocation says (nbd_server.c) */
            unsigned fl = nbd_alloc_state(s, e->node, off, size - off, &len);
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
