/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The NBD client driver (QEMU 7.2's block/nbd.c with nbd/client-connection.c):
 * blockdev-add driver=nbd, connected to an export that the simulated VM's
 * own NBD server or the simulated qemu-nbd process serves. The simulator
 * does not speak the protocol to itself: a request goes straight to the
 * export's node in the serving machine, and what the protocol would
 * change is modelled instead: a server that went away is noticed by the
 * next request, which then waits for a reconnect (reconnect-delay) or
 * fails, on the virtual clock, as QEMU's client does.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim/nbd.h"

#define NS_PER_S 1000000000ull
#define MAX_BACKOFF_S 16        /* connect_thread_func's max_timeout */

/* BDRVNBDState's NBDClientState */
typedef enum { NC_CONNECTED, NC_CONNECTING_WAIT, NC_CONNECTING_NOWAIT, NC_QUIT } nc_state;

struct sim_nbd_client {
    char *path;                 /* server.type unix */
    char *host, *port;          /* server.type inet */
    char *export;
    uint64_t reconnect_delay, open_timeout;     /* seconds */
    nc_state state;
    unsigned long serial;       /* the export this connection reaches */
    uint64_t size;
    bool export_ro;
    uint64_t delay_deadline_ns; /* reconnect_delay_timer, 0 when not armed */
    /* the connect thread: attempts at next_try_ns, then backoff seconds
     * later (doubling up to 16) while retry is enabled */
    bool running;
    bool retry;
    uint64_t next_try_ns;
    unsigned backoff_s;
    bool have_conn;             /* an attempt succeeded: a connection waits */
    unsigned long conn_serial;
    uint64_t conn_size;
    bool conn_ro;
    char *err;                  /* the last attempt's error */
};

/* ---- the server side: which machine serves the socket ---------------------- */

static sim_nbd_export *find_export(sim_nbd *srv, const char *name)
{
    for (sim_nbd_export *e = srv ? srv->exports : NULL; e; e = e->next) {
        if (!strcmp(e->name, name)) {
            return e;
        }
    }
    return NULL;
}

/* The server listening on the client's address: the VM's own, or the
 * qemu-nbd process's (its machine in *m). NULL with the error nbd_connect
 * gives. */
static sim_nbd *find_server(sim *s, struct sim_nbd_client *c, sim **m, char **err)
{
    if (!c->path) {
        /* nothing in the simulation listens on TCP */
        *err = xasprintf("Failed to connect to '%s:%s': Connection refused", c->host, c->port);
        return NULL;
    }
    if (s->nbd && s->nbd->socket && !strcmp(s->nbd->socket, c->path)) {
        *m = s;
        return s->nbd;
    }
    sim *q = sim_qemu_nbd_machine(s);
    if (q && q->nbd && q->nbd->socket && !strcmp(q->nbd->socket, c->path)) {
        *m = q;
        return q->nbd;
    }
    *err = xasprintf("Failed to connect to '%s': No such file or directory", c->path);
    return NULL;
}

/* The export the current connection reaches, or NULL when the server
 * behind it has gone (the connection is dead). */
static sim_nbd_export *conn_export(sim *s, struct sim_nbd_client *c, sim **m)
{
    char *err = NULL;
    sim_nbd *srv = find_server(s, c, m, &err);
    free(err);
    sim_nbd_export *e = find_export(srv, c->export);
    return e && e->serial == c->serial ? e : NULL;
}

/* nbd_connect with negotiation: one attempt, now. */
static void attempt(sim *s, struct sim_nbd_client *c)
{
    sim *m = NULL;
    char *err = NULL;
    sim_nbd *srv = find_server(s, c, &m, &err);
    sim_nbd_export *e = NULL;
    if (srv && !(e = find_export(srv, c->export))) {
        err = xstrdup("Requested export not available");
    }
    free(c->err);
    c->err = err;
    if (e) {
        c->have_conn = true;
        c->conn_serial = e->serial;
        c->conn_size = node_size(e->node);
        c->conn_ro = !e->writable;
        c->running = false;
    } else if (c->retry) {
        c->next_try_ns += c->backoff_s * NS_PER_S;     /* sleep(timeout) after it */
        if (c->backoff_s < MAX_BACKOFF_S) {
            c->backoff_s *= 2;
        }
    } else {
        c->running = false;
    }
}

/* The connect thread's attempts that have fallen due by now. */
static void run_thread(sim *s, struct sim_nbd_client *c)
{
    while (c->running && c->next_try_ns <= s->clock_ns) {
        attempt(s, c);
    }
}

static void thread_start(sim *s, struct sim_nbd_client *c)
{
    if (!c->running && !c->have_conn) {
        c->running = true;
        c->backoff_s = 1;
        c->next_try_ns = s->clock_ns;
    }
    run_thread(s, c);
}

/* Take the connection the thread made (nbd_co_do_establish_connection). */
static bool take_conn(struct sim_nbd_client *c)
{
    if (!c->have_conn) {
        return false;
    }
    c->have_conn = false;
    c->serial = c->conn_serial;
    c->size = c->conn_size;
    c->export_ro = c->conn_ro;
    c->state = NC_CONNECTED;
    return true;
}

/* ---- the client's connection state ----------------------------------------- */

/* nbd_co_send_request's check before a request: 0 when connected (the
 * export in *e, its machine in *m), -EIO when the request fails,
 * BD_SUSPENDED when it waits for a reconnect. */
static int ensure_connected(sim *s, sim_node *n, sim_nbd_export **e, sim **m)
{
    struct sim_nbd_client *c = n->nbdc;
    if (c->state == NC_CONNECTED) {
        if ((*e = conn_export(s, c, m))) {
            return 0;
        }
        /* the send or the reply fails with EIO: nbd_channel_error */
        c->state = c->reconnect_delay ? NC_CONNECTING_WAIT : NC_CONNECTING_NOWAIT;
    }
    if (c->state == NC_QUIT) {
        return -EIO;
    }
    if (c->state == NC_CONNECTING_WAIT) {
        /* nbd_reconnect_attempt, blocking: the delay timer starts with the
         * first attempt; the request waits for the thread or the timer */
        if (!c->delay_deadline_ns) {
            c->delay_deadline_ns = s->clock_ns + c->reconnect_delay * NS_PER_S;
        }
        thread_start(s, c);
        if (!take_conn(c)) {
            if (s->clock_ns < c->delay_deadline_ns) {
                return BD_SUSPENDED;
            }
            /* reconnect_delay_timer_cb */
            c->delay_deadline_ns = 0;
            c->state = NC_CONNECTING_NOWAIT;
            return -EIO;
        }
        c->delay_deadline_ns = 0;
    } else {
        /* not blocking: a connection the thread made meanwhile is taken;
         * else the thread is (re)started and the request fails at once
         * (the attempt runs in the thread, this request does not wait) */
        run_thread(s, c);
        if (!take_conn(c)) {
            if (!c->running) {
                thread_start(s, c);
            }
            return -EIO;
        }
    }
    *e = conn_export(s, c, m);
    return *e ? 0 : -EIO;
}

/* One request on the export; the machine's files stay in step. */
static int request(sim *s, sim_node *n, int type, uint64_t off, uint64_t len,
                   const sim_data *in, sim_data *out, uint64_t *pnum)
{
    sim_nbd_export *e = NULL;
    sim *m = NULL;
    int r = ensure_connected(s, n, &e, &m);
    if (r) {
        return r;
    }
    if (type != IOT_READ && type != IOT_BLOCK_STATUS && type != IOT_FLUSH && !e->writable) {
        return -EINVAL;     /* nbd_trip: "Export is read-only", as EINVAL */
    }
    switch (type) {
    case IOT_READ:
        r = node_read_data(m, e->node, off, len, out);
        break;
    case IOT_WRITE:
    case IOT_WRITE_ZEROES:
        r = node_write_data(m, e->node, off, len, in);
        break;
    case IOT_FLUSH:
        r = node_flush(m, e->node);
        break;
    case IOT_BLOCK_STATUS: {
        uint32_t st = nbd_alloc_state(m, e->node, off, len, pnum);
        r = CL_STATUS_ALLOCATED | (st & 1 ? 0 : CL_STATUS_DATA) | (st & 2 ? CL_STATUS_ZERO : 0);
        break;
    }
    default:
        r = -ENOTSUP;
    }
    if (m != s) {
        s->files = m->files;
    }
    return r < 0 ? -nbd_wire_errno(-r) : r;
}

/* ---- the driver ------------------------------------------------------------- */

static char *opt_num_text(json_object *o)
{
    return xstrdup(json_object_get_string(o));
}

static json_object *nbd_open(sim *s, json_object *opts, const char *name, sim_node **out)
{
    json_object *server = json_member(opts, "server");
    const char *type = json_str(server, "type");
    if (strcmp(type, "unix") && strcmp(type, "inet")) {
        return qmp_error("GenericError", "the simulator's NBD client connects over "
                         "unix and inet sockets only");
    }
    if (json_member(opts, "tls-creds") || json_member(opts, "x-dirty-bitmap")) {
        return qmp_error("GenericError", "the simulator's NBD client models neither "
                         "tls-creds nor x-dirty-bitmap");
    }
    const char *exp = json_str(opts, "export");
    if (exp && strlen(exp) > 4096) {
        return qmp_error("GenericError", "export name too long to send to server");
    }
    struct sim_nbd_client *c = calloc(1, sizeof *c);
    if (!strcmp(type, "unix")) {
        c->path = xstrdup(json_str(server, "path"));
    } else {
        c->host = xstrdup(json_str(server, "host"));
        c->port = opt_num_text(json_member(server, "port"));
    }
    c->export = xstrdup(exp ? exp : "");
    json_object *v;
    c->reconnect_delay = (v = json_member(opts, "reconnect-delay")) ?
                         (uint64_t)json_object_get_int64(v) : 0;
    c->open_timeout = (v = json_member(opts, "open-timeout")) ?
                      (uint64_t)json_object_get_int64(v) : 0;
    /* nbd_open: the first connection, waited for; with open-timeout the
     * thread retries until the timer cancels the wait. No case statement
     * runs meanwhile, so no server can appear: the time passes and the
     * last attempt's error is the reply. */
    c->retry = c->open_timeout > 0;
    thread_start(s, c);
    if (!c->have_conn && c->open_timeout) {
        uint64_t end = s->clock_ns + c->open_timeout * NS_PER_S;
        while (c->running && c->next_try_ns < end) {
            s->clock_ns = c->next_try_ns;
            run_thread(s, c);
        }
        s->clock_ns = end;
    }
    if (!take_conn(c)) {
        json_object *err = qmp_error("GenericError", "%s", c->err ? c->err :
                                     "Connection attempt cancelled by timeout");
        c->running = false;
        struct sim_node tmp = { .nbdc = c };
        drv_nbd.close(&tmp);
        return err;
    }
    c->running = false;     /* the thread is done; later ones retry */
    c->retry = true;
    /* nbd_handle_updated_info: a read-only export makes the node read-only
     * if it may be (bdrv_apply_auto_read_only); its error is dropped, so
     * bdrv_open_driver reports the errno */
    bool ro = json_member(opts, "read-only") && json_object_get_boolean(json_member(opts, "read-only"));
    bool auto_ro = json_member(opts, "auto-read-only") &&
                   json_object_get_boolean(json_member(opts, "auto-read-only"));
    if (c->export_ro && !ro && !auto_ro) {
        struct sim_node tmp = { .nbdc = c };
        drv_nbd.close(&tmp);
        return qmp_error("GenericError", "Could not open image: Permission denied");
    }
    json_object *err = blockdev_new_node(s, DRV_NBD, name, NULL, out);
    if (err) {
        struct sim_node tmp = { .nbdc = c };
        drv_nbd.close(&tmp);
        return err;
    }
    (*out)->nbdc = c;
    if (c->export_ro) {
        (*out)->read_only = true;
    }
    return NULL;
}

static uint64_t nbd_size(sim_node *n)
{
    return n->nbdc->size;
}

static int nbd_refuse(sim_node *n, uint64_t off, uint64_t len, bool write)
{
    if (off > n->nbdc->size || len > n->nbdc->size - off) {
        return -EIO;
    }
    return 0;
}

static int nbd_read(sim *s, sim_node *n, uint64_t off, uint64_t len, sim_data *out)
{
    return request(s, n, IOT_READ, off, len, NULL, out, NULL);
}

static int nbd_write(sim *s, sim_node *n, uint64_t off, uint64_t len, const sim_data *in)
{
    return request(s, n, in ? IOT_WRITE : IOT_WRITE_ZEROES, off, len, in, NULL, NULL);
}

static int nbd_discard(sim *s, sim_node *n, uint64_t off, uint64_t len)
{
    /* NBD_CMD_TRIM is advisory on the server: the data stays */
    sim_nbd_export *e = NULL;
    sim *m = NULL;
    return ensure_connected(s, n, &e, &m);
}

static int nbd_block_status(sim *s, sim_node *n, uint64_t off, uint64_t len, uint64_t *pnum)
{
    *pnum = len;
    return request(s, n, IOT_BLOCK_STATUS, off, len, NULL, NULL, pnum);
}

static int nbd_flush(sim *s, sim_node *n)
{
    return request(s, n, IOT_FLUSH, 0, 0, NULL, NULL, NULL);
}

static void nbd_close(sim_node *n)
{
    struct sim_nbd_client *c = n->nbdc;
    if (!c) {
        return;
    }
    free(c->path);
    free(c->host);
    free(c->port);
    free(c->export);
    free(c->err);
    free(c);
    n->nbdc = NULL;
}

/* A waiting request wakes at the thread's next attempt or at the end of
 * the reconnect delay; attempts that fell due are made now. */
static uint64_t nbd_next_timer(sim *s, sim_node *n)
{
    struct sim_nbd_client *c = n->nbdc;
    uint64_t first = 0;
    run_thread(s, c);
    if (c->running && c->next_try_ns > s->clock_ns) {
        first = c->next_try_ns;
    }
    if (c->delay_deadline_ns > s->clock_ns && (!first || c->delay_deadline_ns < first)) {
        first = c->delay_deadline_ns;
    }
    return first;
}

/* nbd_cancel_in_flight: a request waiting for a reconnect fails now */
static void nbd_cancel_in_flight(sim *s, sim_node *n)
{
    struct sim_nbd_client *c = n->nbdc;
    c->delay_deadline_ns = 0;
    if (c->state == NC_CONNECTING_WAIT) {
        c->state = NC_CONNECTING_NOWAIT;
    }
}

const sim_drv_ops drv_nbd = {
    .name = "nbd",
    .open = nbd_open,
    .size = nbd_size,
    .refuse = nbd_refuse,
    .read = nbd_read,
    .write = nbd_write,
    .discard = nbd_discard,
    .block_status = nbd_block_status,
    .flush_to_disk = nbd_flush,
    .close = nbd_close,
    .cancel_in_flight = nbd_cancel_in_flight,
    .next_timer = nbd_next_timer,
};
