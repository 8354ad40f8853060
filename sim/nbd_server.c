/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The simulated VM's NBD server on a real unix socket: the NBD protocol as
 * QEMU 7.2's nbd/server.c speaks it (fixed newstyle handshake, options
 * LIST / INFO / GO / EXPORT_NAME / STRUCTURED_REPLY / LIST_META_CONTEXT /
 * SET_META_CONTEXT / ABORT, then READ, WRITE, FLUSH, TRIM, CACHE,
 * WRITE_ZEROES, BLOCK_STATUS and DISC with simple or structured replies).
 *
 * Deterministic: nothing happens on its own. nbd_server_serve() is the
 * only place a socket is read; each complete client message is handled
 * there as one event of the virtual machine, in arrival order, against the
 * machine's state at that moment. Bytes are buffered per connection, so a
 * client that sends half a message or stops reading never blocks the VM.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sim/nbd.h"

/* Protocol constants (NBD's proto.md, QEMU's include/block/nbd.h). */
#define NBD_INIT_MAGIC      0x4e42444d41474943ull   /* "NBDMAGIC" */
#define NBD_OPTS_MAGIC      0x49484156454F5054ull   /* "IHAVEOPT" */
#define NBD_REP_MAGIC       0x0003e889045565a9ull
#define NBD_REQUEST_MAGIC   0x25609513u
#define NBD_SIMPLE_MAGIC    0x67446698u
#define NBD_STRUCTURED_MAGIC 0x668e33efu

#define NBD_FLAG_FIXED_NEWSTYLE 1u
#define NBD_FLAG_NO_ZEROES      2u
#define NBD_FLAG_C_FIXED_NEWSTYLE 1u
#define NBD_FLAG_C_NO_ZEROES      2u

enum {
    OPT_EXPORT_NAME = 1, OPT_ABORT = 2, OPT_LIST = 3, OPT_STARTTLS = 5, OPT_INFO = 6,
    OPT_GO = 7, OPT_STRUCTURED_REPLY = 8, OPT_LIST_META_CONTEXT = 9,
    OPT_SET_META_CONTEXT = 10,
};
#define REP_ACK          1u
#define REP_SERVER       2u
#define REP_INFO         3u
#define REP_META_CONTEXT 4u
#define REP_ERR(n)       ((1u << 31) | (n))
#define REP_ERR_UNSUP    REP_ERR(1)
#define REP_ERR_POLICY   REP_ERR(2)
#define REP_ERR_INVALID  REP_ERR(3)
#define REP_ERR_UNKNOWN  REP_ERR(6)

enum { INFO_EXPORT = 0, INFO_NAME = 1, INFO_DESCRIPTION = 2, INFO_BLOCK_SIZE = 3 };

#define TF_HAS_FLAGS     (1u << 0)
#define TF_READ_ONLY     (1u << 1)
#define TF_SEND_FLUSH    (1u << 2)
#define TF_SEND_FUA      (1u << 3)
#define TF_SEND_TRIM     (1u << 5)
#define TF_SEND_WZEROES  (1u << 6)
#define TF_SEND_DF       (1u << 7)
#define TF_CAN_MULTI     (1u << 8)
#define TF_SEND_CACHE    (1u << 10)
#define TF_SEND_FAST_ZERO (1u << 11)

enum { CMD_READ, CMD_WRITE, CMD_DISC, CMD_FLUSH, CMD_TRIM, CMD_CACHE, CMD_WRITE_ZEROES,
       CMD_BLOCK_STATUS };
#define CMDF_FUA       1u
#define CMDF_NO_HOLE   2u
#define CMDF_DF        4u
#define CMDF_REQ_ONE   8u
#define CMDF_FAST_ZERO 16u

#define RT_NONE        0u
#define RT_OFFSET_DATA 1u
#define RT_OFFSET_HOLE 2u
#define RT_BLOCK_STATUS 5u
#define RT_ERROR       ((1u << 15) + 1)
#define RF_DONE        1u

#define NBD_STATE_HOLE  1u
#define NBD_STATE_ZERO  2u
#define NBD_STATE_DIRTY 1u

#define META_ID_BASE_ALLOCATION 0u
#define META_ID_ALLOCATION_DEPTH 1u  /* offered by exports made with it (qemu-nbd -A) */
#define META_ID_DIRTY_BITMAP    2u

#define NBD_MAX_BUFFER_SIZE (32u << 20)
#define NBD_MAX_STRING_SIZE 4096u
#define NBD_MAX_EXTENTS     ((1u << 20) / 8)
/* A connection whose replies pile up past this is not read from until the
 * client takes them (QEMU likewise handles one request at a time). */
#define OUT_HIGH_WATER      (64u << 20)

enum { PH_FLAGS, PH_OPTIONS, PH_TRANSMISSION };

typedef struct nbd_conn {
    int fd;
    int phase;
    bool fixed;                 /* fixed newstyle client */
    bool no_zeroes;
    bool structured;
    bool closing;               /* close once the output is flushed */
    sim_nbd_export *exp;        /* after GO / EXPORT_NAME */
    /* the meta contexts of the last SET_META_CONTEXT */
    sim_nbd_export *meta_exp;
    bool meta_base, meta_depth;
    uint32_t meta_bitmaps;      /* bit i: the export's i-th bitmap (context id 2 + i) */
    unsigned meta_count;
    uint8_t *in;
    size_t in_len, in_cap;
    uint8_t *out;
    size_t out_len, out_off, out_cap;
    struct nbd_conn *next;
} nbd_conn;

/* ---- byte helpers --------------------------------------------------------- */

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static uint64_t get64(const uint8_t *p) { return (uint64_t)get32(p) << 32 | get32(p + 4); }

static void out_reserve(nbd_conn *c, size_t n)
{
    if (c->out_len + n > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        while (cap < c->out_len + n) {
            cap *= 2;
        }
        c->out = realloc(c->out, cap);
        if (!c->out) {
            abort();
        }
        c->out_cap = cap;
    }
}

static void put(nbd_conn *c, const void *p, size_t n)
{
    out_reserve(c, n);
    memcpy(c->out + c->out_len, p, n);
    c->out_len += n;
}

static void put16(nbd_conn *c, uint16_t v)
{
    uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };
    put(c, b, 2);
}

static void put32(nbd_conn *c, uint32_t v)
{
    uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
    put(c, b, 4);
}

static void put64(nbd_conn *c, uint64_t v)
{
    put32(c, (uint32_t)(v >> 32));
    put32(c, (uint32_t)v);
}

/* ---- names in messages (QEMU's nbd/common.c lookups) ---------------------- */

static const char *opt_name(uint32_t opt)
{
    switch (opt) {
    case OPT_EXPORT_NAME: return "export name";
    case OPT_ABORT: return "abort";
    case OPT_LIST: return "list";
    case OPT_STARTTLS: return "starttls";
    case OPT_INFO: return "info";
    case OPT_GO: return "go";
    case OPT_STRUCTURED_REPLY: return "structured reply";
    case OPT_LIST_META_CONTEXT: return "list meta context";
    case OPT_SET_META_CONTEXT: return "set meta context";
    default: return "<unknown>";
    }
}

static const char *cmd_name(uint16_t cmd)
{
    switch (cmd) {
    case CMD_READ: return "read";
    case CMD_WRITE: return "write";
    case CMD_DISC: return "disconnect";
    case CMD_FLUSH: return "flush";
    case CMD_TRIM: return "trim";
    case CMD_CACHE: return "cache";
    case CMD_WRITE_ZEROES: return "write zeroes";
    case CMD_BLOCK_STATUS: return "block status";
    default: return "<unknown>";
    }
}

/* ---- exports as the protocol sees them ------------------------------------ */

static sim_nbd_export *find_export(sim_nbd *srv, const char *name)
{
    for (sim_nbd_export *e = srv->exports; e; e = e->next) {
        if (!strcmp(e->name, name)) {
            return e;
        }
    }
    return NULL;
}

static uint16_t export_tflags(const sim_nbd_export *e, bool structured)
{
    uint16_t f = TF_HAS_FLAGS | TF_SEND_FLUSH | TF_SEND_FUA | TF_SEND_CACHE |
                 (e->single_conn ? 0 : TF_CAN_MULTI);
    if (e->writable) {
        f |= TF_SEND_TRIM | TF_SEND_WZEROES | TF_SEND_FAST_ZERO;
    } else {
        f |= TF_READ_ONLY;
    }
    if (structured) {
        f |= TF_SEND_DF;
    }
    return f;
}

/* base:allocation of one extent as QEMU's server computes it
 * (bdrv_block_status_above over the whole chain): HOLE unless the layer
 * that answers holds data, ZERO when it reads as zeroes. */
static uint32_t alloc_state(sim *s, sim_node *n, uint64_t off, uint64_t len, uint64_t *pnum,
                            int *err)
{
    int st = node_block_status(s, n, off, len, pnum);
    if (st < 0) {
        /* e.g. EACCES outside a snapshot-access node's snapshot */
        *err = -st;
        *pnum = len;
        return 0;
    }
    if (!(st & CL_STATUS_ALLOCATED) && n->drv == DRV_QCOW2 && n->backing &&
        off < node_size(n->backing)) {
        uint64_t bnum;
        uint32_t f = alloc_state(s, n->backing, off, *pnum, &bnum, err);
        *pnum = bnum;
        return f;
    }
    if (*pnum == 0 || *pnum > len) {
        *pnum = len;
    }
    return (st & CL_STATUS_DATA ? 0u : NBD_STATE_HOLE) | (st & CL_STATUS_ZERO ? NBD_STATE_ZERO : 0u);
}

/* The same for the simulator's own clients (nbd.c): a failed query reads
 * as data there. */
uint32_t nbd_alloc_state(sim *s, sim_node *n, uint64_t off, uint64_t len, uint64_t *pnum)
{
    int err = 0;
    return alloc_state(s, n, off, len, pnum, &err);
}

/* ---- option replies ---------------------------------------------------------- */

static void rep_header(nbd_conn *c, uint32_t opt, uint32_t type, uint32_t len)
{
    put64(c, NBD_REP_MAGIC);
    put32(c, opt);
    put32(c, type);
    put32(c, len);
}

static void __attribute__((format(printf, 4, 5)))
rep_err(nbd_conn *c, uint32_t opt, uint32_t type, const char *fmt, ...)
{
    char *msg;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0) {
        abort();
    }
    va_end(ap);
    rep_header(c, opt, type, (uint32_t)strlen(msg));
    put(c, msg, strlen(msg));
    free(msg);
}

static void rep_info(nbd_conn *c, uint32_t opt, uint16_t info, const void *buf, uint32_t len)
{
    rep_header(c, opt, REP_INFO, 2 + len);
    put16(c, info);
    put(c, buf, len);
}

/* A name as QEMU quotes it in an error reply: at most 80 characters. */
static char *sane_name(const char *name)
{
    return strnlen(name, 80) < 80 ? xstrdup(name) : xasprintf("%.80s...", name);
}

/* The unread rest of an option. */
typedef struct optrd {
    const uint8_t *p;
    uint32_t left;
} optrd;

/* QEMU's nbd_opt_read: 1 read, 0 the option was answered with an error. */
static int opt_read(nbd_conn *c, uint32_t opt, optrd *r, void *buf, uint32_t n, bool check_nul)
{
    if (n > r->left) {
        r->left = 0;
        rep_err(c, opt, REP_ERR_INVALID, "Inconsistent lengths in option %s", opt_name(opt));
        return 0;
    }
    memcpy(buf, r->p, n);
    r->p += n;
    r->left -= n;
    if (check_nul && strnlen(buf, n) != n) {
        r->left = 0;
        rep_err(c, opt, REP_ERR_INVALID, "Unexpected embedded NUL in option %s", opt_name(opt));
        return 0;
    }
    return 1;
}

/* uint32 length + that many bytes, no NUL; *name malloc'd. */
static int opt_read_name(nbd_conn *c, uint32_t opt, optrd *r, char **name, uint32_t *plen)
{
    uint8_t b[4];
    *name = NULL;
    if (!opt_read(c, opt, r, b, 4, false)) {
        return 0;
    }
    uint32_t len = get32(b);
    if (len > NBD_MAX_STRING_SIZE) {
        r->left = 0;
        rep_err(c, opt, REP_ERR_INVALID, "Invalid name length: %u", len);
        return 0;
    }
    char *s = malloc(len + 1);
    if (!opt_read(c, opt, r, s, len, true)) {
        free(s);
        return 0;
    }
    s[len] = 0;
    if (plen) {
        *plen = len;
    }
    *name = s;
    return 1;
}

static void opt_list(sim_nbd *srv, nbd_conn *c, uint32_t opt)
{
    for (sim_nbd_export *e = srv->exports; e; e = e->next) {
        const char *desc = e->description ? e->description : "";
        rep_header(c, opt, REP_SERVER, (uint32_t)(4 + strlen(e->name) + strlen(desc)));
        put32(c, (uint32_t)strlen(e->name));
        put(c, e->name, strlen(e->name));
        put(c, desc, strlen(desc));
    }
    rep_header(c, opt, REP_ACK, 0);
}

/* INFO and GO; returns true when GO moved into transmission. */
static bool opt_info(sim *s, sim_nbd *srv, nbd_conn *c, uint32_t opt, optrd *r)
{
    char *name;
    uint32_t namelen;
    uint8_t b[2];
    bool sendname = false, ok = false;
    if (!opt_read_name(c, opt, r, &name, &namelen) || !opt_read(c, opt, r, b, 2, false)) {
        goto out;
    }
    for (uint16_t n = get16(b); n; n--) {
        if (!opt_read(c, opt, r, b, 2, false)) {
            goto out;
        }
        if (get16(b) == INFO_NAME) {
            sendname = true;
        }
    }
    if (r->left) {
        r->left = 0;
        rep_err(c, opt, REP_ERR_INVALID, "option '%s' has unexpected length", opt_name(opt));
        goto out;
    }
    sim_nbd_export *e = find_export(srv, name);
    if (!e) {
        char *sn = sane_name(name);
        rep_err(c, opt, REP_ERR_UNKNOWN, "export '%s' not present", sn);
        free(sn);
        goto out;
    }
    if (sendname) {
        rep_info(c, opt, INFO_NAME, name, namelen);
    }
    if (e->description) {
        rep_info(c, opt, INFO_DESCRIPTION, e->description, (uint32_t)strlen(e->description));
    }
    /* the simulator's nodes have a request alignment of 1: minimum 1,
     * preferred QEMU's fixed 4096, maximum its 32 MiB buffer */
    uint8_t sizes[12];
    const uint32_t vals[3] = { 1, 4096, NBD_MAX_BUFFER_SIZE };
    for (int i = 0; i < 3; i++) {
        sizes[4 * i] = (uint8_t)(vals[i] >> 24);
        sizes[4 * i + 1] = (uint8_t)(vals[i] >> 16);
        sizes[4 * i + 2] = (uint8_t)(vals[i] >> 8);
        sizes[4 * i + 3] = (uint8_t)vals[i];
    }
    rep_info(c, opt, INFO_BLOCK_SIZE, sizes, sizeof sizes);
    uint8_t ex[10];
    uint64_t size = node_size(e->node);
    uint16_t fl = export_tflags(e, c->structured);
    for (int i = 0; i < 8; i++) {
        ex[i] = (uint8_t)(size >> (56 - 8 * i));
    }
    ex[8] = (uint8_t)(fl >> 8);
    ex[9] = (uint8_t)fl;
    rep_info(c, opt, INFO_EXPORT, ex, sizeof ex);
    rep_header(c, opt, REP_ACK, 0);
    if (opt == OPT_GO) {
        c->exp = e;
        if (c->meta_exp != e) {
            c->meta_count = 0;
        }
        ok = true;
    }
out:
    free(name);
    return ok;
}

static void send_meta(nbd_conn *c, uint32_t opt, const char *ctx, uint32_t id)
{
    rep_header(c, opt, REP_META_CONTEXT, (uint32_t)(4 + strlen(ctx)));
    put32(c, opt == OPT_LIST_META_CONTEXT ? 0 : id);
    put(c, ctx, strlen(ctx));
}

/* One query of LIST/SET_META_CONTEXT against export e; sets *base / *bitmap
 * for the contexts it names (an empty leaf lists everything under it). */
static void meta_query(uint32_t opt, sim_nbd_export *e, const char *q, bool *base, bool *depth,
                       uint32_t *bitmaps)
{
    size_t nb = nbd_export_nbitmaps(e);
    uint32_t all = nb >= 32 ? UINT32_MAX : (1u << nb) - 1;
    bool list = opt == OPT_LIST_META_CONTEXT;
    if (!strncmp(q, "base:", 5)) {
        q += 5;
        if ((!*q && list) || !strcmp(q, "allocation")) {
            *base = true;
        }
        return;
    }
    if (strncmp(q, "qemu:", 5)) {
        return;     /* unknown namespace: no context, no error */
    }
    q += 5;
    if (!*q) {
        if (list) {
            *bitmaps |= all;
        }
        if (list && e->alloc_depth) {
            *depth = true;
        }
        return;
    }
    if (!strcmp(q, "allocation-depth")) {
        *depth = e->alloc_depth;
        return;
    }
    if (!strncmp(q, "dirty-bitmap:", 13)) {
        q += 13;
        if (!*q) {
            if (list) {
                *bitmaps |= all;
            }
        }
        for (size_t i = 0; *q && i < nb && i < 32; i++) {
            if (!strcmp(q, nbd_export_bitmap_name(e, i))) {
                *bitmaps |= 1u << i;
            }
        }
    }
}

static void opt_meta(sim_nbd *srv, nbd_conn *c, uint32_t opt, optrd *r)
{
    char *name = NULL, *q = NULL;
    bool base = false, depth = false;
    uint32_t bitmaps = 0;
    uint8_t b[4];
    if (opt == OPT_SET_META_CONTEXT && !c->structured) {
        r->left = 0;
        rep_err(c, opt, REP_ERR_INVALID,
                "request option '%s' when structured reply is not negotiated", opt_name(opt));
        return;
    }
    if (opt == OPT_SET_META_CONTEXT) {
        /* SET replaces what was negotiated, even if it then fails */
        c->meta_exp = NULL;
        c->meta_base = c->meta_depth = false;
        c->meta_bitmaps = 0;
        c->meta_count = 0;
    }
    if (!opt_read_name(c, opt, r, &name, NULL)) {
        return;
    }
    sim_nbd_export *e = find_export(srv, name);
    if (!e) {
        char *sn = sane_name(name);
        r->left = 0;
        rep_err(c, opt, REP_ERR_UNKNOWN, "export '%s' not present", sn);
        free(sn);
        goto out;
    }
    if (!opt_read(c, opt, r, b, 4, false)) {
        goto out;
    }
    uint32_t nq = get32(b);
    if (opt == OPT_LIST_META_CONTEXT && !nq) {
        base = true;
        depth = e->alloc_depth;
        size_t nb = nbd_export_nbitmaps(e);
        bitmaps = nb >= 32 ? UINT32_MAX : (1u << nb) - 1;
    }
    for (uint32_t i = 0; i < nq; i++) {
        if (!opt_read(c, opt, r, b, 4, false)) {
            goto out;
        }
        uint32_t len = get32(b);
        if (len > NBD_MAX_STRING_SIZE) {
            /* too long to be a context: skipped, like an unknown one */
            if (len > r->left) {
                r->left = 0;
                rep_err(c, opt, REP_ERR_INVALID, "Inconsistent lengths in option %s",
                        opt_name(opt));
                goto out;
            }
            r->p += len;
            r->left -= len;
            continue;
        }
        q = malloc(len + 1);
        if (!opt_read(c, opt, r, q, len, true)) {
            goto out;
        }
        q[len] = 0;
        meta_query(opt, e, q, &base, &depth, &bitmaps);
        free(q);
        q = NULL;
    }
    unsigned count = 0;
    if (base) {
        send_meta(c, opt, "base:allocation", META_ID_BASE_ALLOCATION);
        count++;
    }
    if (depth) {
        send_meta(c, opt, "qemu:allocation-depth", META_ID_ALLOCATION_DEPTH);
        count++;
    }
    for (size_t i = 0; i < nbd_export_nbitmaps(e) && i < 32; i++) {
        if (bitmaps & (1u << i)) {
            char *ctx = xasprintf("qemu:dirty-bitmap:%s", nbd_export_bitmap_name(e, i));
            send_meta(c, opt, ctx, META_ID_DIRTY_BITMAP + (uint32_t)i);
            free(ctx);
            count++;
        }
    }
    rep_header(c, opt, REP_ACK, 0);
    if (opt == OPT_SET_META_CONTEXT) {
        c->meta_exp = e;
        c->meta_base = base;
        c->meta_depth = depth;
        c->meta_bitmaps = bitmaps;
        c->meta_count = count;
    }
out:
    free(q);
    free(name);
}

/* One whole option (header and payload are in the buffer). Returns false
 * when the connection ends. */
static bool handle_option(sim *s, sim_nbd *srv, nbd_conn *c, uint32_t opt,
                          const uint8_t *data, uint32_t len)
{
    optrd r = { data, len };
    if (!c->fixed) {
        /* a client without fixed newstyle may only name its export */
        if (opt != OPT_EXPORT_NAME) {
            return false;
        }
    }
    switch (opt) {
    case OPT_LIST:
        if (len) {
            rep_err(c, opt, REP_ERR_INVALID, "option '%s' has unexpected length", opt_name(opt));
        } else {
            opt_list(srv, c, opt);
        }
        return true;
    case OPT_ABORT:
        rep_header(c, opt, REP_ACK, 0);
        c->closing = true;
        return true;
    case OPT_EXPORT_NAME: {
        /* no way to report an error: an unknown export ends the connection */
        if (len > NBD_MAX_STRING_SIZE) {
            return false;
        }
        char *name = strndup((const char *)data, len);
        sim_nbd_export *e = find_export(srv, name);
        free(name);
        if (!e || memchr(data, 0, len)) {
            return false;
        }
        uint64_t size = node_size(e->node);
        put64(c, size);
        put16(c, export_tflags(e, c->structured));
        if (!c->no_zeroes) {
            uint8_t zero[124] = { 0 };
            put(c, zero, sizeof zero);
        }
        c->exp = e;
        if (c->meta_exp != e) {
            c->meta_count = 0;
        }
        c->phase = PH_TRANSMISSION;
        return true;
    }
    case OPT_INFO:
    case OPT_GO:
        if (opt_info(s, srv, c, opt, &r)) {
            c->phase = PH_TRANSMISSION;
        }
        return true;
    case OPT_STARTTLS:
        if (len) {
            rep_err(c, opt, REP_ERR_INVALID, "option '%s' has unexpected length", opt_name(opt));
        } else {
            rep_err(c, opt, REP_ERR_POLICY, "TLS not configured");
        }
        return true;
    case OPT_STRUCTURED_REPLY:
        if (len) {
            rep_err(c, opt, REP_ERR_INVALID, "option '%s' has unexpected length", opt_name(opt));
        } else if (c->structured) {
            rep_err(c, opt, REP_ERR_INVALID, "structured reply already negotiated");
        } else {
            rep_header(c, opt, REP_ACK, 0);
            c->structured = true;
        }
        return true;
    case OPT_LIST_META_CONTEXT:
    case OPT_SET_META_CONTEXT:
        opt_meta(srv, c, opt, &r);
        return true;
    default:
        rep_err(c, opt, REP_ERR_UNSUP, "Unsupported option %u (%s)", opt, opt_name(opt));
        return true;
    }
}

/* ---- transmission ----------------------------------------------------------- */

static void simple_reply(nbd_conn *c, uint32_t error, uint64_t handle)
{
    put32(c, NBD_SIMPLE_MAGIC);
    put32(c, error);
    put64(c, handle);
}

static void chunk_header(nbd_conn *c, uint16_t flags, uint16_t type, uint64_t handle,
                         uint32_t len)
{
    put32(c, NBD_STRUCTURED_MAGIC);
    put16(c, flags);
    put16(c, type);
    put64(c, handle);
    put32(c, len);
}

/* QEMU's system_errno_to_nbd_errno */
static uint32_t nbd_errno(int err)
{
    switch (err) {
    case 0: return 0;
    case EPERM: case EROFS: return 1;
    case EIO: return 5;
    case ENOMEM: return 12;
    case EFBIG: case ENOSPC: case EDQUOT: return 28;
    case EOVERFLOW: return 75;
    case ENOTSUP: return 95;
    case ESHUTDOWN: return 108;
    default: return 22;
    }
}

/* nbd_send_generic_reply: an error chunk with a message when structured,
 * else a simple reply. err is a positive errno (0: success). */
static void generic_reply(nbd_conn *c, uint64_t handle, int err, const char *msg)
{
    if (c->structured && err) {
        size_t ml = strlen(msg);
        chunk_header(c, RF_DONE, RT_ERROR, handle, (uint32_t)(6 + ml));
        put32(c, nbd_errno(err));
        put16(c, (uint16_t)ml);
        put(c, msg, ml);
    } else {
        simple_reply(c, nbd_errno(err), handle);
    }
}

static void do_read(sim *s, nbd_conn *c, uint64_t handle, uint16_t flags, uint64_t off,
                    uint32_t len)
{
    sim_node *n = c->exp->node;
    if (c->structured && !(flags & CMDF_DF) && len) {
        /* sparse read: holes as OFFSET_HOLE chunks */
        uint64_t done = 0;
        while (done < len) {
            uint64_t pnum;
            int err = 0;
            uint32_t st = alloc_state(s, n, off + done, len - done, &pnum, &err);
            if (err) {
                /* nbd_co_send_sparse_read */
                char *msg = xasprintf("unable to check for holes: %s", strerror(err));
                generic_reply(c, handle, err, msg);
                free(msg);
                return;
            }
            bool final = done + pnum == len;
            if (st & NBD_STATE_ZERO) {
                chunk_header(c, final ? RF_DONE : 0, RT_OFFSET_HOLE, handle, 12);
                put64(c, off + done);
                put32(c, (uint32_t)pnum);
            } else {
                /* build the chunk in place, read into it, drop it on error */
                size_t mark = c->out_len;
                chunk_header(c, final ? RF_DONE : 0, RT_OFFSET_DATA, handle, (uint32_t)(8 + pnum));
                put64(c, off + done);
                out_reserve(c, pnum);
                int ret = node_read(s, n, off + done, pnum, c->out + c->out_len);
                if (ret < 0) {
                    /* QEMU drops the connection when a read fails mid-reply */
                    c->out_len = mark;
                    c->closing = true;
                    return;
                }
                c->out_len += pnum;
            }
            done += pnum;
        }
        return;
    }
    uint8_t *buf = malloc(len ? len : 1);
    int ret = node_read(s, n, off, len, buf);
    if (ret < 0) {
        generic_reply(c, handle, -ret, "reading from file failed");
    } else if (c->structured) {
        if (len) {
            chunk_header(c, RF_DONE, RT_OFFSET_DATA, handle, 8 + len);
            put64(c, off);
            put(c, buf, len);
        } else {
            chunk_header(c, RF_DONE, RT_NONE, handle, 0);
        }
    } else {
        simple_reply(c, 0, handle);
        put(c, buf, len);
    }
    free(buf);
}

/* Extents of one context, merged like QEMU's NBDExtentArray: at most max
 * (1 with REQ_ONE), neighbours with the same flags joined. */
typedef struct extents {
    uint32_t *v;        /* length, flags pairs */
    unsigned count, cap, max;
} extents;

static bool ext_add(extents *x, uint64_t len, uint32_t flags)
{
    if (!len) {
        return true;
    }
    if (x->count && x->v[2 * x->count - 1] == flags &&
        (uint64_t)x->v[2 * x->count - 2] + len <= UINT32_MAX) {
        x->v[2 * x->count - 2] += (uint32_t)len;
        return true;
    }
    if (x->count >= x->max) {
        return false;
    }
    if (x->count == x->cap) {
        x->cap = x->cap ? 2 * x->cap : 64;
        x->v = realloc(x->v, 2 * sizeof *x->v * x->cap);
        if (!x->v) {
            abort();
        }
    }
    x->v[2 * x->count] = (uint32_t)len;
    x->v[2 * x->count + 1] = flags;
    x->count++;
    return true;
}

static void send_extents(nbd_conn *c, uint64_t handle, extents *x, bool last, uint32_t id)
{
    chunk_header(c, last ? RF_DONE : 0, RT_BLOCK_STATUS, handle, 4 + 8 * x->count);
    put32(c, id);
    for (unsigned i = 0; i < 2 * x->count; i++) {
        put32(c, x->v[i]);
    }
    x->count = 0;
}

static void do_block_status(sim *s, nbd_conn *c, uint64_t handle, uint16_t flags,
                            uint64_t off, uint32_t len)
{
    if (!len) {
        generic_reply(c, handle, EINVAL, "need non-zero length");
        return;
    }
    if (!c->meta_count) {
        generic_reply(c, handle, EINVAL, "CMD_BLOCK_STATUS not negotiated");
        return;
    }
    unsigned left = c->meta_count;
    uint64_t end = off + len;
    extents x = { .max = flags & CMDF_REQ_ONE ? 1 : NBD_MAX_EXTENTS };
    if (c->meta_base) {
        for (uint64_t pos = off; pos < end;) {
            uint64_t pnum;
            int err = 0;
            uint32_t st = alloc_state(s, c->exp->node, pos, end - pos, &pnum, &err);
            if (err) {
                /* nbd_co_send_block_status */
                generic_reply(c, handle, err, "can't get block status");
                return;
            }
            if (!ext_add(&x, pnum, st)) {
                break;
            }
            pos += pnum;
        }
        send_extents(c, handle, &x, !--left, META_ID_BASE_ALLOCATION);
    }
    if (c->meta_depth) {
        /* blockalloc_to_extents: the depth of the layer that allocates
         * each range (1: the export's node), 0 where none does */
        for (uint64_t pos = off; pos < end;) {
            uint64_t pnum;
            unsigned d = nbd_alloc_depth(s, c->exp->node, pos, end - pos, &pnum);
            if (!ext_add(&x, pnum, d)) {
                break;
            }
            pos += pnum;
        }
        send_extents(c, handle, &x, !--left, META_ID_ALLOCATION_DEPTH);
    }
    for (size_t i = 0; i < nbd_export_nbitmaps(c->exp) && i < 32; i++) {
        if (!(c->meta_bitmaps & (1u << i))) {
            continue;
        }
        /* bitmap_to_extents: clean and dirty runs at the bitmap's
         * granularity, cut to the request; a bitmap gone reads as clean */
        sim_bitmap *b = nbd_export_bitmap_at(c->exp, i);
        uint64_t start = off, doff, dlen;
        bool full = false;
        while (b && cl_bitmap_next_dirty_area(b->bm, start, end, INT32_MAX, &doff, &dlen)) {
            if (!ext_add(&x, doff - start, 0) || !ext_add(&x, dlen, NBD_STATE_DIRTY)) {
                full = true;
                break;
            }
            start = doff + dlen;
        }
        if (!full) {
            ext_add(&x, end - start, 0);
        }
        send_extents(c, handle, &x, !--left, META_ID_DIRTY_BITMAP + (uint32_t)i);
    }
    free(x.v);
}

/* Handles the request at the head of the input; returns the bytes it used,
 * 0 when more bytes are needed. */
static size_t handle_request(sim *s, nbd_conn *c, const uint8_t *p, size_t avail)
{
    if (avail < 28) {
        return 0;
    }
    if (get32(p) != NBD_REQUEST_MAGIC) {
        c->closing = true;          /* "invalid magic": drop the client */
        return avail;
    }
    uint16_t flags = get16(p + 4), type = get16(p + 6);
    uint64_t handle = get64(p + 8), off = get64(p + 16);
    uint32_t len = get32(p + 24);
    size_t used = 28;
    char *msg = NULL;
    int err = 0;
    uint64_t size = node_size(c->exp->node);

    if (type == CMD_DISC) {
        c->closing = true;
        return avail;
    }
    if ((type == CMD_READ || type == CMD_WRITE || type == CMD_CACHE) &&
        len > NBD_MAX_BUFFER_SIZE) {
        /* the payload of such a WRITE is never read: answer, then hang up */
        /* sic: QEMU 7.2's text has the space before ')' */
        msg = xasprintf("len (%u ) is larger than max len (%u)", len, NBD_MAX_BUFFER_SIZE);
        generic_reply(c, handle, EINVAL, msg);
        free(msg);
        if (type == CMD_WRITE) {
            c->closing = true;
            return avail;
        }
        return used;
    }
    if (type == CMD_WRITE) {
        if (avail < 28 + (size_t)len) {
            return 0;
        }
        used += len;
    }
    bool rofs = type == CMD_WRITE || type == CMD_WRITE_ZEROES || type == CMD_TRIM;
    uint32_t valid = CMDF_FUA;
    if (type == CMD_READ && c->structured) {
        valid |= CMDF_DF;
    } else if (type == CMD_WRITE_ZEROES) {
        valid |= CMDF_NO_HOLE | CMDF_FAST_ZERO;
    } else if (type == CMD_BLOCK_STATUS) {
        valid |= CMDF_REQ_ONE;
    }
    /* a request that fails these checks gets EINVAL whatever the reason
     * (QEMU 7.2's nbd_trip), with the reason as the message */
    if (!c->exp->writable && rofs) {
        msg = xstrdup("Export is read-only");
    } else if (off > size || len > size - off) {
        msg = xasprintf("operation past EOF; From: %llu, Len: %u, Size: %llu",
                        (unsigned long long)off, len, (unsigned long long)size);
    } else if (flags & ~valid) {
        msg = xasprintf("unsupported flags for command %s (got 0x%x)", cmd_name(type), flags);
    }
    err = msg ? EINVAL : 0;
    if (err) {
        generic_reply(c, handle, err, msg);
        free(msg);
        return used;
    }

    int ret;
    switch (type) {
    case CMD_READ:
        do_read(s, c, handle, flags, off, len);
        break;
    case CMD_WRITE:
        ret = node_write(s, c->exp->node, off, len, p + 28, false);
        generic_reply(c, handle, ret < 0 ? -ret : 0, "writing to file failed");
        break;
    case CMD_WRITE_ZEROES:
        ret = node_write(s, c->exp->node, off, len, NULL, true);
        generic_reply(c, handle, ret < 0 ? -ret : 0, "writing to file failed");
        break;
    case CMD_FLUSH:
        ret = node_flush(s, c->exp->node);
        generic_reply(c, handle, ret < 0 ? -ret : 0, "flush failed");
        break;
    case CMD_TRIM:
        /* discard is advisory: the simulator keeps the data */
        generic_reply(c, handle, 0, "");
        break;
    case CMD_CACHE:
        generic_reply(c, handle, 0, "");
        break;
    case CMD_BLOCK_STATUS:
        do_block_status(s, c, handle, flags, off, len);
        break;
    default:
        msg = xasprintf("invalid request type (%u) received", type);
        generic_reply(c, handle, EINVAL, msg);
        free(msg);
        break;
    }
    return used;
}

/* Handles every complete message in the input buffer. */
static void conn_process(sim *s, sim_nbd *srv, nbd_conn *c)
{
    size_t pos = 0;
    while (!c->closing && c->out_len - c->out_off < OUT_HIGH_WATER) {
        const uint8_t *p = c->in + pos;
        size_t avail = c->in_len - pos, used = 0;
        if (c->phase == PH_FLAGS) {
            if (avail < 4) {
                break;
            }
            uint32_t f = get32(p);
            c->fixed = f & NBD_FLAG_C_FIXED_NEWSTYLE;
            c->no_zeroes = f & NBD_FLAG_C_NO_ZEROES;
            used = 4;
            if (f & ~(NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES)) {
                c->closing = true;      /* "Unknown client flags" */
            }
            c->phase = PH_OPTIONS;
        } else if (c->phase == PH_OPTIONS) {
            if (avail < 16) {
                break;
            }
            uint32_t len = get32(p + 12);
            if (get64(p) != NBD_OPTS_MAGIC || len > NBD_MAX_BUFFER_SIZE) {
                c->closing = true;      /* "Bad magic received", "len ... larger" */
                break;
            }
            if (avail < 16 + (size_t)len) {
                break;
            }
            used = 16 + (size_t)len;
            if (!handle_option(s, srv, c, get32(p + 8), p + 16, len)) {
                c->closing = true;
            }
        } else {
            used = handle_request(s, c, p, avail);
            if (!used) {
                break;
            }
        }
        pos += used;
    }
    if (pos) {
        memmove(c->in, c->in + pos, c->in_len - pos);
        c->in_len -= pos;
    }
}

/* ---- sockets ------------------------------------------------------------- */

static void conn_free(nbd_conn *c)
{
    close(c->fd);
    free(c->in);
    free(c->out);
    free(c);
}

int nbd_server_listen(sim_nbd *srv, const char *path, char **err)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    srv->listen_fd = -1;
    if (strlen(path) >= sizeof a.sun_path) {
        *err = xasprintf("UNIX socket path '%s' is too long", path);
        return -1;
    }
    strcpy(a.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *err = xasprintf("Failed to create Unix socket: %s", strerror(errno));
        return -1;
    }
    /* like QEMU, a stale socket file is replaced */
    if (unlink(path) < 0 && errno != ENOENT) {
        *err = xasprintf("Failed to unlink socket %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        *err = xasprintf("Failed to bind socket to %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (listen(fd, 16) < 0) {
        *err = xasprintf("Failed to listen on socket: %s", strerror(errno));
        close(fd);
        unlink(path);
        return -1;
    }
    srv->listen_fd = fd;
    return 0;
}

void nbd_server_close(sim_nbd *srv)
{
    while (srv->conns) {
        nbd_conn *c = srv->conns;
        srv->conns = c->next;
        conn_free(c);
    }
    if (srv->listen_fd >= 0) {
        close(srv->listen_fd);
        unlink(srv->socket);
        srv->listen_fd = -1;
    }
}

void nbd_server_export_gone(sim_nbd *srv, sim_nbd_export *e)
{
    for (nbd_conn **pp = &srv->conns; *pp;) {
        nbd_conn *c = *pp;
        if (c->meta_exp == e) {
            c->meta_exp = NULL;
            c->meta_count = 0;
        }
        if (c->exp == e) {
            /* QEMU closes the clients of an export it removes */
            *pp = c->next;
            conn_free(c);
            continue;
        }
        pp = &c->next;
    }
}

static void conn_accept(sim_nbd *srv)
{
    for (;;) {
        int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            return;
        }
        nbd_conn *c = calloc(1, sizeof *c);
        if (!c) {
            abort();
        }
        c->fd = fd;
        c->phase = PH_FLAGS;
        put64(c, NBD_INIT_MAGIC);
        put64(c, NBD_OPTS_MAGIC);
        put16(c, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
        nbd_conn **pp = &srv->conns;
        while (*pp) {
            pp = &(*pp)->next;
        }
        *pp = c;
    }
}

/* Reads what is there; false on end of file or error. */
static bool conn_read(nbd_conn *c)
{
    for (;;) {
        if (c->in_cap - c->in_len < 65536) {
            size_t cap = c->in_cap ? c->in_cap * 2 : 131072;
            c->in = realloc(c->in, cap);
            if (!c->in) {
                abort();
            }
            c->in_cap = cap;
        }
        ssize_t n = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
        if (n > 0) {
            c->in_len += (size_t)n;
            /* a message is at most a 32 MiB write plus its header: more
             * buffered than that waits until it is handled */
            if (c->in_len > NBD_MAX_BUFFER_SIZE + 64) {
                return true;
            }
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    }
}

/* Writes what it can; false on error. */
static bool conn_write(nbd_conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n > 0) {
            c->out_off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    }
    c->out_off = c->out_len = 0;
    return true;
}

int nbd_server_serve(sim *s, int timeout_ms)
{
    sim_nbd *srv = s->nbd;
    if (!srv || srv->listen_fd < 0) {
        return 0;
    }
    size_t n = 1;
    for (nbd_conn *c = srv->conns; c; c = c->next) {
        n++;
    }
    struct pollfd *pf = calloc(n, sizeof *pf);
    if (!pf) {
        abort();
    }
    pf[0].fd = srv->listen_fd;
    pf[0].events = POLLIN;
    size_t i = 1;
    for (nbd_conn *c = srv->conns; c; c = c->next, i++) {
        pf[i].fd = c->fd;
        pf[i].events = (c->closing ? 0 : POLLIN) | (c->out_len > c->out_off ? POLLOUT : 0);
    }
    int r = poll(pf, (nfds_t)n, timeout_ms);
    if (r <= 0) {
        free(pf);
        return r < 0 && errno != EINTR ? -1 : 0;
    }
    int handled = 0;
    i = 1;
    for (nbd_conn **pp = &srv->conns; *pp; i++) {
        nbd_conn *c = *pp;
        bool alive = true, was_closing = c->closing;
        short rev = i < n ? pf[i].revents : 0;
        if ((rev & (POLLIN | POLLHUP | POLLERR)) && !c->closing) {
            alive = conn_read(c);
        }
        size_t before = c->out_len;
        if (c->in_len && !c->closing) {
            conn_process(s, srv, c);
        }
        handled += c->out_len != before || c->closing != was_closing;
        if (c->out_len > c->out_off && !conn_write(c)) {
            alive = false;
        }
        if (c->closing && c->out_off == c->out_len) {
            alive = false;
        }
        if (!alive) {
            *pp = c->next;
            conn_free(c);
            continue;
        }
        pp = &c->next;
    }
    if (pf[0].revents & POLLIN) {
        conn_accept(srv);
        /* the greeting goes out at once */
        for (nbd_conn *c = srv->conns; c; c = c->next) {
            if (c->phase == PH_FLAGS && c->out_len && !conn_write(c)) {
                c->closing = true;
                c->out_off = c->out_len = 0;
            }
        }
        handled++;
    }
    free(pf);
    return handled;
}

bool nbd_server_busy(sim *s)
{
    return s->nbd && s->nbd->conns;
}
