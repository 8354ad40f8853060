/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The simulator's NBD server on its real socket: the handshake, options and
 * meta contexts, block status at bitmap granularity with a partial last
 * cluster, reads, and bad client requests, spoken byte by byte; then libnbd
 * as a real client. The expected replies (error types, messages, context
 * ids, extents of the bitmap) are what QEMU 7.2's qemu-nbd sent to the same
 * bytes for the same image (see sim/MODEL.md); base:allocation follows the
 * simulator's qcow2 model.
 */
#include "sim/tests/sim_test.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef BLOCKSIM_HAVE_LIBNBD
#include <libnbd.h>
#endif

/* 1 MiB + 4608: the last 64 KiB bitmap cluster is partial */
#define SIZE 1053184ull

static char SOCK[512];

/* A VM exporting node n (read-only, bitmap b) on SOCK. */
static bs_backend *vm_export(void)
{
    bs_backend *b = vm_new();
    char *err = NULL, img[600];
    snprintf(SOCK, sizeof SOCK, "%s/nbd", b->test_dir);
    snprintf(img, sizeof img, "%s/img", b->test_dir);
    assert_int_equal(b->ops->img_create(b, "qcow2", img, SIZE, NULL, NULL, &err), 0);
    QMP_OK(b, "blockdev-add", "{\"driver\": \"qcow2\", \"node-name\": \"n\", \"file\": "
           "{\"driver\": \"file\", \"filename\": \"%s\"}}", img);
    hmp(b, "n", "write -P 0x11 0 0x30000");
    QMP_OK(b, "block-dirty-bitmap-add", "{\"node\": \"n\", \"name\": \"b\", \"granularity\": 65536}");
    hmp(b, "n", "write -P 0x22 0x41000 0x200");
    hmp(b, "n", "write -P 0x33 0x70000 0x20000");
    hmp(b, "n", "write -P 0x44 0x100800 0x200");
    QMP_OK(b, "block-dirty-bitmap-disable", "{\"node\": \"n\", \"name\": \"b\"}");
    QMP_OK(b, "nbd-server-start", "{\"addr\": {\"type\": \"unix\", \"data\": {\"path\": \"%s\"}}}",
           SOCK);
    QMP_OK(b, "nbd-server-add", "{\"device\": \"n\", \"bitmap\": \"b\"}");
    return b;
}

/* ---- a raw client: bytes out, replies decoded to text --------------------- */

typedef struct client {
    bs_backend *b;
    int fd;
    char log[16384];
} client;

static void cl_connect(client *c, bs_backend *b)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    c->b = b;
    c->log[0] = 0;
    assert_true(strlen(SOCK) < sizeof a.sun_path);
    memcpy(a.sun_path, SOCK, strlen(SOCK) + 1);
    c->fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(c->fd >= 0);
    /* connect() completes from the listen backlog; the VM accepts later */
    assert_int_equal(connect(c->fd, (struct sockaddr *)&a, sizeof a), 0);
    fcntl(c->fd, F_SETFL, O_NONBLOCK);
}

/* Reads n bytes, letting the VM serve meanwhile. Fails the test if the
 * server neither answers nor hangs up within a few seconds. Returns false
 * on end of file. */
static bool cl_read(client *c, void *buf, size_t n)
{
    size_t got = 0;
    for (int spins = 0; got < n; spins++) {
        ssize_t r = recv(c->fd, (char *)buf + got, n - got, 0);
        if (r > 0) {
            got += (size_t)r;
            continue;
        }
        if (r == 0) {
            return false;
        }
        if (errno != EAGAIN) {
            return false;
        }
        if (spins > 2000) {
            fail_msg("the server did not answer");
        }
        c->b->ops->serve(c->b, 2);
    }
    return true;
}

static void cl_send(client *c, const void *buf, size_t n)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = send(c->fd, (const char *)buf + done, n - done, MSG_NOSIGNAL);
        if (r > 0) {
            done += (size_t)r;
        } else {
            assert_true(errno == EAGAIN);
            c->b->ops->serve(c->b, 2);
        }
    }
}

static void logf_(client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(client *c, const char *fmt, ...)
{
    va_list ap;
    size_t l = strlen(c->log);
    va_start(ap, fmt);
    vsnprintf(c->log + l, sizeof c->log - l, fmt, ap);
    va_end(ap);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static size_t put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
    return 4;
}

static size_t put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)(v >> 32));
    return 4 + put32(p + 4, (uint32_t)v);
}

static void opt(client *c, uint32_t o, const void *data, uint32_t len)
{
    uint8_t h[16];
    put64(h, 0x49484156454F5054ull);
    put32(h + 8, o);
    put32(h + 12, len);
    cl_send(c, h, 16);
    if (len) {
        cl_send(c, data, len);
    }
}

/* The replies to one option, up to ACK or an error, one line each. */
static void opt_replies(client *c)
{
    for (;;) {
        uint8_t h[20], d[4096];
        assert_true(cl_read(c, h, 20));
        assert_true(be64(h) == 0x0003e889045565a9ull);
        uint32_t o = be32(h + 8), t = be32(h + 12), l = be32(h + 16);
        assert_true(l < sizeof d);
        assert_true(cl_read(c, d, l));
        d[l] = 0;
        if (t & 0x80000000u) {
            logf_(c, "opt %u err %u: %s\n", o, t & 0x7fffffffu, (char *)d);
            return;
        }
        if (t == 4) {
            logf_(c, "opt %u meta id=%u %s\n", o, be32(d), (char *)d + 4);
        } else if (t == 3 || t == 2) {
            logf_(c, "opt %u %s", o, t == 3 ? "info" : "server");
            for (uint32_t i = 0; i < l; i++) {
                logf_(c, "%s%02x", i ? "" : " ", d[i]);
            }
            logf_(c, "\n");
        } else {
            logf_(c, "opt %u type %u\n", o, t);
        }
        if (t == 1) {
            return;
        }
    }
}

static void req(client *c, uint16_t type, uint64_t off, uint32_t len, uint16_t flags)
{
    uint8_t r[28];
    put32(r, 0x25609513u);
    r[4] = (uint8_t)(flags >> 8); r[5] = (uint8_t)flags;
    r[6] = (uint8_t)(type >> 8); r[7] = (uint8_t)type;
    put64(r + 8, 7);
    put64(r + 16, off);
    put32(r + 24, len);
    cl_send(c, r, sizeof r);
}

/* The replies to one request, up to the chunk flagged DONE. */
static void replies(client *c)
{
    for (;;) {
        uint8_t h[20];
        assert_true(cl_read(c, h, 4));
        if (be32(h) == 0x67446698u) {
            assert_true(cl_read(c, h + 4, 12));
            logf_(c, "simple err=%u\n", be32(h + 4));
            return;
        }
        assert_int_equal(be32(h), 0x668e33efu);
        assert_true(cl_read(c, h + 4, 16));
        unsigned fl = (unsigned)(h[4] << 8 | h[5]), ty = (unsigned)(h[6] << 8 | h[7]);
        assert_true(be64(h + 8) == 7);
        uint32_t l = be32(h + 16);
        uint8_t *d = malloc(l + 1);
        assert_true(cl_read(c, d, l));
        if (ty == 32769) {
            unsigned ml = (unsigned)(d[4] << 8 | d[5]);
            d[6 + ml] = 0;
            logf_(c, "fl=%u ERROR err=%u %s\n", fl, be32(d), (char *)d + 6);
        } else if (ty == 5) {
            logf_(c, "fl=%u BS ctx=%u", fl, be32(d));
            for (uint32_t i = 4; i + 8 <= l; i += 8) {
                logf_(c, " %u:%u", be32(d + i), be32(d + i + 4));
            }
            logf_(c, "\n");
        } else if (ty == 1) {
            logf_(c, "fl=%u DATA off=%llu len=%u first=%02x\n", fl,
                  (unsigned long long)be64(d), l - 8, l > 8 ? d[8] : 0);
        } else if (ty == 2) {
            logf_(c, "fl=%u HOLE off=%llu len=%u\n", fl, (unsigned long long)be64(d), be32(d + 8));
        } else {
            logf_(c, "fl=%u type=%u len=%u\n", fl, ty, l);
        }
        free(d);
        if (fl & 1) {
            return;
        }
    }
}

/* name, or export name + queries, as options carry them */
static size_t str(uint8_t *p, const char *s)
{
    size_t n = strlen(s);
    put32(p, (uint32_t)n);
    memcpy(p + 4, s, n);
    return 4 + n;
}

static size_t meta(uint8_t *p, const char *exp, const char *const *qs, uint32_t nq)
{
    size_t n = str(p, exp);
    n += put32(p + n, nq);
    for (uint32_t i = 0; i < nq; i++) {
        n += str(p + n, qs[i]);
    }
    return n;
}

static void handshake(client *c)
{
    uint8_t g[18], flags[4];
    assert_true(cl_read(c, g, 18));
    assert_memory_equal(g, "NBDMAGICIHAVEOPT\x00\x03", 18);
    put32(flags, 3);    /* fixed newstyle, no zeroes */
    cl_send(c, flags, 4);
}

/* ---- tests ---------------------------------------------------------------- */

static void test_handshake_and_options(void **state)
{
    bs_backend *b = vm_export();
    client c;
    uint8_t buf[256];
    size_t n;
    cl_connect(&c, b);
    handshake(&c);
    opt(&c, 3, NULL, 0);                       /* LIST */
    opt_replies(&c);
    opt(&c, 3, "x", 1);                        /* LIST with a payload */
    opt_replies(&c);
    opt(&c, 99, NULL, 0);
    opt_replies(&c);
    const char *base[] = { "base:allocation" };
    n = meta(buf, "n", base, 1);
    opt(&c, 10, buf, (uint32_t)n);             /* SET_META before structured */
    opt_replies(&c);
    opt(&c, 8, NULL, 0);
    opt_replies(&c);
    opt(&c, 8, NULL, 0);
    opt_replies(&c);
    n = meta(buf, "n", NULL, 0);
    opt(&c, 9, buf, (uint32_t)n);              /* LIST_META, no query: all */
    opt_replies(&c);
    const char *leaves[] = { "qemu:", "base:" };
    n = meta(buf, "n", leaves, 2);
    opt(&c, 9, buf, (uint32_t)n);
    opt_replies(&c);
    n = meta(buf, "nosuch", base, 1);
    opt(&c, 10, buf, (uint32_t)n);
    opt_replies(&c);
    n = str(buf, "n");
    n += put32(buf + n, 2);                    /* two queries announced, one sent */
    n += str(buf + n, "base:allocation");
    opt(&c, 10, buf, (uint32_t)n);
    opt_replies(&c);
    n = str(buf, "n");
    n += put32(buf + n, 1);
    n += put32(buf + n, 16);
    memcpy(buf + n, "base:\0allocation", 16);
    opt(&c, 10, buf, (uint32_t)(n + 16));
    opt_replies(&c);
    n = put32(buf, 5000);
    memset(buf + n, 'x', 10);
    opt(&c, 6, buf, (uint32_t)(n + 10));       /* INFO, name too long */
    opt_replies(&c);
    n = str(buf, "nosuch");
    buf[n++] = 0; buf[n++] = 0;
    opt(&c, 6, buf, (uint32_t)n);
    opt_replies(&c);
    n = str(buf, "n");
    buf[n++] = 0; buf[n++] = 0; buf[n++] = 'z'; buf[n++] = 'z';
    opt(&c, 6, buf, (uint32_t)n);              /* INFO with bytes left over */
    opt_replies(&c);
    opt(&c, 5, NULL, 0);                       /* STARTTLS */
    opt_replies(&c);
    const char *all[] = { "base:allocation", "qemu:dirty-bitmap:b", "qemu:dirty-bitmap:nosuch",
                          "nosuch:x" };
    n = meta(buf, "n", all, 4);
    opt(&c, 10, buf, (uint32_t)n);
    opt_replies(&c);
    n = str(buf, "n");
    buf[n++] = 0; buf[n++] = 1; buf[n++] = 0; buf[n++] = 1;   /* ask for INFO_NAME */
    opt(&c, 6, buf, (uint32_t)n);
    opt_replies(&c);
    n = str(buf, "n");
    buf[n++] = 0; buf[n++] = 0;
    opt(&c, 7, buf, (uint32_t)n);              /* GO */
    opt_replies(&c);
    assert_string_equal(c.log,
        "opt 3 server 000000016e\n"
        "opt 3 type 1\n"
        "opt 3 err 3: option 'list' has unexpected length\n"
        "opt 99 err 1: Unsupported option 99 (<unknown>)\n"
        "opt 10 err 3: request option 'set meta context' when structured reply is not negotiated\n"
        "opt 8 type 1\n"
        "opt 8 err 3: structured reply already negotiated\n"
        "opt 9 meta id=0 base:allocation\n"
        "opt 9 meta id=0 qemu:dirty-bitmap:b\n"
        "opt 9 type 1\n"
        "opt 9 meta id=0 base:allocation\n"
        "opt 9 meta id=0 qemu:dirty-bitmap:b\n"
        "opt 9 type 1\n"
        "opt 10 err 6: export 'nosuch' not present\n"
        "opt 10 err 3: Inconsistent lengths in option set meta context\n"
        "opt 10 err 3: Unexpected embedded NUL in option set meta context\n"
        "opt 6 err 3: Invalid name length: 5000\n"
        "opt 6 err 6: export 'nosuch' not present\n"
        "opt 6 err 3: option 'info' has unexpected length\n"
        "opt 5 err 2: TLS not configured\n"
        "opt 10 meta id=0 base:allocation\n"
        "opt 10 meta id=2 qemu:dirty-bitmap:b\n"
        "opt 10 type 1\n"
        "opt 6 info 00016e\n"
        "opt 6 info 0003000000010000100002000000\n"
        "opt 6 info 00000000000000101200058f\n"
        "opt 6 type 1\n"
        "opt 7 info 0003000000010000100002000000\n"
        "opt 7 info 00000000000000101200058f\n"
        "opt 7 type 1\n");
    close(c.fd);
    vm_free(b);
}

/* A client after GO with both contexts negotiated. */
static void go(client *c, bs_backend *b, bool with_meta)
{
    uint8_t buf[256];
    size_t n;
    cl_connect(c, b);
    handshake(c);
    opt(c, 8, NULL, 0);
    opt_replies(c);
    if (with_meta) {
        const char *all[] = { "base:allocation", "qemu:dirty-bitmap:b" };
        n = meta(buf, "n", all, 2);
        opt(c, 10, buf, (uint32_t)n);
        opt_replies(c);
    }
    n = str(buf, "n");
    buf[n++] = 0; buf[n++] = 0;
    opt(c, 7, buf, (uint32_t)n);
    opt_replies(c);
    c->log[0] = 0;
}

static void test_block_status_granularity(void **state)
{
    bs_backend *b = vm_export();
    client c;
    go(&c, b, true);
    req(&c, 7, 0, SIZE, 0);
    replies(&c);
    req(&c, 7, 0, SIZE, 8);                    /* REQ_ONE */
    replies(&c);
    req(&c, 7, SIZE - 100, 100, 0);            /* inside the partial last cluster */
    replies(&c);
    req(&c, 7, 0x41000, 0x30000, 0);           /* cut to the request, not the bitmap */
    replies(&c);
    /* bitmap extents as QEMU 7.2 sent them; base:allocation per the
     * simulator's 64 KiB qcow2 clusters */
    assert_string_equal(c.log,
        "fl=0 BS ctx=0 196608:0 65536:3 65536:0 131072:3 131072:0 458752:3 4608:0\n"
        "fl=1 BS ctx=2 262144:0 65536:1 131072:0 131072:1 458752:0 4608:1\n"
        "fl=0 BS ctx=0 196608:0\n"
        "fl=1 BS ctx=2 262144:0\n"
        "fl=0 BS ctx=0 100:0\n"
        "fl=1 BS ctx=2 100:1\n"
        "fl=0 BS ctx=0 61440:0 131072:3 4096:0\n"
        "fl=1 BS ctx=2 61440:1 131072:0 4096:1\n");
    close(c.fd);
    vm_free(b);
}

/* An export with qemu:allocation-depth (block-export-add allocation-depth):
 * listed between base:allocation and the bitmap, id 1, and its block
 * status gives each range the depth of the layer that allocates it. */
static void test_allocation_depth_context(void **state)
{
    bs_backend *b = vm_new();
    char *err = NULL, base[600], top[600];
    uint8_t buf[256];
    size_t n;
    snprintf(SOCK, sizeof SOCK, "%s/nbd", b->test_dir);
    snprintf(base, sizeof base, "%s/base", b->test_dir);
    snprintf(top, sizeof top, "%s/top", b->test_dir);
    assert_int_equal(b->ops->img_create(b, "qcow2", base, 0x100000, NULL, NULL, &err), 0);
    assert_int_equal(b->ops->img_create(b, "qcow2", top, 0x100000, base, "qcow2", &err), 0);
    QMP_OK(b, "blockdev-add", "{\"driver\": \"qcow2\", \"node-name\": \"n\", \"file\": "
           "{\"driver\": \"file\", \"filename\": \"%s\"}}", top);
    hmp(b, "n", "write 0x20000 0x10000");
    QMP_OK(b, "nbd-server-start", "{\"addr\": {\"type\": \"unix\", \"data\": {\"path\": \"%s\"}}}",
           SOCK);
    QMP_OK(b, "block-export-add", "{\"type\": \"nbd\", \"id\": \"n\", \"node-name\": \"n\", "
           "\"allocation-depth\": true}");
    client c;
    cl_connect(&c, b);
    handshake(&c);
    opt(&c, 8, NULL, 0);
    opt_replies(&c);
    n = meta(buf, "n", NULL, 0);
    opt(&c, 9, buf, (uint32_t)n);               /* LIST_META: all */
    opt_replies(&c);
    const char *depth[] = { "qemu:allocation-depth" };
    n = meta(buf, "n", depth, 1);
    opt(&c, 10, buf, (uint32_t)n);              /* SET_META */
    opt_replies(&c);
    n = str(buf, "n");
    buf[n++] = 0; buf[n++] = 0;
    opt(&c, 7, buf, (uint32_t)n);
    opt_replies(&c);
    assert_non_null(strstr(c.log, "opt 9 meta id=0 base:allocation\n"
                                  "opt 9 meta id=0 qemu:allocation-depth\n"));
    assert_non_null(strstr(c.log, "opt 10 meta id=1 qemu:allocation-depth\n"));
    c.log[0] = 0;
    req(&c, 7, 0, 0x100000, 0);
    replies(&c);
    /* the top allocates [128K, 192K): depth 1; the base nothing: 0 */
    assert_string_equal(c.log, "fl=1 BS ctx=1 131072:0 65536:1 851968:0\n");
    close(c.fd);
    vm_free(b);
}

/* qemu-nbd -B twice: both bitmaps listed (ids 2 and 3), each its own
 * context, the second found in the backing image. */
static void test_qemu_nbd_two_bitmaps(void **state)
{
    char *err = NULL, base[600], top[600], *out = NULL, *errout = NULL;
    bs_backend *b = bs_backend_sim_new(&err);
    uint8_t buf[256];
    size_t n;
    snprintf(SOCK, sizeof SOCK, "%s/qnbd", b->test_dir);
    snprintf(base, sizeof base, "%s/base", b->test_dir);
    snprintf(top, sizeof top, "%s/top", b->test_dir);
    assert_int_equal(b->ops->img_create(b, "qcow2", base, 0x100000, NULL, NULL, &err), 0);
    assert_int_equal(b->ops->img_create(b, "qcow2", top, 0x100000, base, "qcow2", &err), 0);
    const char *add_a[] = { "bitmap", "--add", top, "a" }, *add_b[] = { "bitmap", "--add", base, "b" };
    assert_int_equal(b->ops->img_run(b, add_a, 4, &out, &errout, &err), 0);
    free(out);
    free(errout);
    assert_int_equal(b->ops->img_run(b, add_b, 4, &out, &errout, &err), 0);
    free(out);
    free(errout);
    const char *wb[] = { "write 0 64k" }, *wt[] = { "write 128k 64k" };
    free(b->ops->qemu_io(b, base, "qcow2", 0, wb, 1, &err));
    free(b->ops->qemu_io(b, top, "qcow2", 0, wt, 1, &err));
    char *argv[] = { "qemu-nbd", "-r", "-f", "qcow2", "-B", "a", "-B", "b", "-k", SOCK, top, NULL };
    assert_int_equal(b->ops->qemu_nbd_start(b, argv, &err), 0);
    client c;
    cl_connect(&c, b);
    handshake(&c);
    opt(&c, 8, NULL, 0);
    opt_replies(&c);
    n = meta(buf, "", NULL, 0);
    opt(&c, 9, buf, (uint32_t)n);               /* LIST_META: all */
    opt_replies(&c);
    const char *second[] = { "qemu:dirty-bitmap:b" };
    n = meta(buf, "", second, 1);
    opt(&c, 10, buf, (uint32_t)n);
    opt_replies(&c);
    assert_non_null(strstr(c.log, "opt 9 meta id=0 base:allocation\n"
                                  "opt 9 meta id=0 qemu:dirty-bitmap:a\n"
                                  "opt 9 meta id=0 qemu:dirty-bitmap:b\n"));
    assert_non_null(strstr(c.log, "opt 10 meta id=3 qemu:dirty-bitmap:b\n"));
    n = str(buf, "");
    buf[n++] = 0; buf[n++] = 0;
    opt(&c, 7, buf, (uint32_t)n);
    opt_replies(&c);
    c.log[0] = 0;
    req(&c, 7, 0, 0x100000, 0);
    replies(&c);
    /* b (the base's) recorded the base's write only */
    assert_string_equal(c.log, "fl=1 BS ctx=3 65536:1 983040:0\n");
    close(c.fd);
    b->ops->qemu_nbd_stop(b);
    b->ops->destroy(b);
}

static void test_bad_requests(void **state)
{
    bs_backend *b = vm_export();
    client c;
    go(&c, b, false);
    req(&c, 7, 0, SIZE, 0);                    /* no context negotiated */
    replies(&c);
    req(&c, 7, 0, 0, 0);
    replies(&c);
    req(&c, 7, SIZE - 1, 2, 0);
    replies(&c);
    req(&c, 0, SIZE, 1, 0);
    replies(&c);
    req(&c, 0, 1ull << 63, 1, 0);
    replies(&c);
    req(&c, 0, 0, 33554433, 0);
    replies(&c);
    req(&c, 1, 0, 4, 0);
    cl_send(&c, "abcd", 4);
    replies(&c);
    req(&c, 4, 0, 4, 0);
    replies(&c);
    req(&c, 0, 0, 512, 0x40);
    replies(&c);
    req(&c, 99, 0, 0, 0);
    replies(&c);
    req(&c, 0, 0, 0x50000, 0);                 /* sparse read */
    replies(&c);
    req(&c, 0, 0, 0x50000, 4);                 /* DF: one chunk */
    replies(&c);
    req(&c, 0, 0, 0, 0);
    replies(&c);
    req(&c, 3, 0, 0, 0);                       /* FLUSH */
    replies(&c);
    assert_string_equal(c.log,
        "fl=1 ERROR err=22 CMD_BLOCK_STATUS not negotiated\n"
        "fl=1 ERROR err=22 need non-zero length\n"
        "fl=1 ERROR err=22 operation past EOF; From: 1053183, Len: 2, Size: 1053184\n"
        "fl=1 ERROR err=22 operation past EOF; From: 1053184, Len: 1, Size: 1053184\n"
        "fl=1 ERROR err=22 operation past EOF; From: 9223372036854775808, Len: 1, Size: 1053184\n"
        "fl=1 ERROR err=22 len (33554433 ) is larger than max len (33554432)\n"
        "fl=1 ERROR err=22 Export is read-only\n"
        "fl=1 ERROR err=22 Export is read-only\n"
        "fl=1 ERROR err=22 unsupported flags for command read (got 0x40)\n"
        "fl=1 ERROR err=22 invalid request type (99) received\n"
        "fl=0 DATA off=0 len=196608 first=11\n"
        "fl=0 HOLE off=196608 len=65536\n"
        "fl=1 DATA off=262144 len=65536 first=00\n"
        "fl=1 DATA off=0 len=327680 first=11\n"
        "fl=1 type=0 len=0\n"
        "simple err=0\n");
    /* DISC: the server hangs up without a reply */
    req(&c, 2, 0, 0, 0);
    uint8_t x;
    assert_false(cl_read(&c, &x, 1));
    close(c.fd);
    vm_free(b);
}

/* Garbage where the protocol wants magic, a half message, a client that
 * vanishes: the server drops that client and serves the next. */
static void test_malformed_clients(void **state)
{
    bs_backend *b = vm_export();
    client c;
    uint8_t x;
    /* unknown client flags */
    uint8_t bad[4];
    cl_connect(&c, b);
    uint8_t g[18];
    assert_true(cl_read(&c, g, 18));
    put32(bad, 0x80);
    cl_send(&c, bad, 4);
    assert_false(cl_read(&c, &x, 1));
    close(c.fd);
    /* bad option magic */
    cl_connect(&c, b);
    handshake(&c);
    cl_send(&c, "NOTMAGIC\0\0\0\x03\0\0\0\0", 16);
    assert_false(cl_read(&c, &x, 1));
    close(c.fd);
    /* an option longer than 32 MiB */
    cl_connect(&c, b);
    handshake(&c);
    uint8_t h[16];
    put64(h, 0x49484156454F5054ull);
    put32(h + 8, 3);
    put32(h + 12, 0x2000001);
    cl_send(&c, h, 16);
    assert_false(cl_read(&c, &x, 1));
    close(c.fd);
    /* a bad request magic after GO */
    go(&c, b, false);
    cl_send(&c, "XXXXXXXXXXXXXXXXXXXXXXXXXXXX", 28);
    assert_false(cl_read(&c, &x, 1));
    close(c.fd);
    /* half a request, then gone */
    go(&c, b, false);
    cl_send(&c, "\x25\x60\x95\x13\0\0", 6);
    for (int i = 0; i < 5; i++) {
        b->ops->serve(b, 1);
    }
    close(c.fd);
    /* ABORT is acknowledged, then the server hangs up */
    cl_connect(&c, b);
    handshake(&c);
    opt(&c, 2, NULL, 0);
    opt_replies(&c);
    assert_false(cl_read(&c, &x, 1));
    assert_string_equal(c.log, "opt 2 type 1\n");
    close(c.fd);
    /* a write request beyond 32 MiB gets its error, then the hang-up */
    go(&c, b, false);
    req(&c, 1, 0, 0x2000001, 0);
    replies(&c);
    assert_false(cl_read(&c, &x, 1));
    assert_string_equal(c.log, "fl=1 ERROR err=22 len (33554433 ) is larger than max len (33554432)\n");
    close(c.fd);
    /* and the server still serves */
    go(&c, b, true);
    req(&c, 7, 0, 65536, 0);
    replies(&c);
    assert_string_equal(c.log, "fl=0 BS ctx=0 65536:0\nfl=1 BS ctx=2 65536:0\n");
    close(c.fd);
    vm_free(b);
}

/* The server goes away with clients connected: nbd-server-stop, then a
 * VM that quits; the socket file is removed. */
static void test_stop_with_clients(void **state)
{
    bs_backend *b = vm_export();
    client c;
    uint8_t x;
    go(&c, b, true);
    QMP_OK(b, "nbd-server-stop", NULL);
    assert_false(cl_read(&c, &x, 1));
    close(c.fd);
    assert_int_equal(access(SOCK, F_OK), -1);
    QMP_OK(b, "nbd-server-start", "{\"addr\": {\"type\": \"unix\", \"data\": {\"path\": \"%s\"}}}",
           SOCK);
    QMP_OK(b, "nbd-server-add", "{\"device\": \"n\"}");
    go(&c, b, false);
    char *err = NULL;
    assert_int_equal(b->ops->shutdown(b, &err), 0);
    assert_false(cl_read(&c, &x, 1));
    close(c.fd);
    assert_int_equal(access(SOCK, F_OK), -1);
    assert_int_equal(b->ops->launch(b, &err), 0);
    vm_free(b);
    /* a socket outside the test directory is refused */
    b = vm_new();
    char want[1024];
    snprintf(want, sizeof want, "the simulator's NBD server listens only on sockets inside "
             "its test directory %s, not '/tmp/elsewhere'", b->test_dir);
    QMP_ERR(b, want, "nbd-server-start",
            "{\"addr\": {\"type\": \"unix\", \"data\": {\"path\": \"%s\"}}}", "/tmp/elsewhere");
    vm_free(b);
}

#ifdef BLOCKSIM_HAVE_LIBNBD
static int extent_cb(void *user, const char *metacontext, uint64_t offset, uint32_t *entries,
                     size_t nr, int *error)
{
    FILE *f = user;
    fprintf(f, "%s@%llu:", metacontext, (unsigned long long)offset);
    for (size_t i = 0; i + 1 < nr; i += 2) {
        fprintf(f, " %u/%u", entries[i], entries[i + 1]);
    }
    fprintf(f, "\n");
    return 0;
}

/* The child: libnbd against the socket, its findings on fd out. */
static int libnbd_client(int out, const char *uri)
{
    FILE *f = fdopen(out, "w");
    struct nbd_handle *h = nbd_create();
    char buf[512];
    if (!f || !h || nbd_add_meta_context(h, "qemu:dirty-bitmap:b") < 0 ||
        nbd_add_meta_context(h, "base:allocation") < 0 || nbd_connect_uri(h, uri) < 0) {
        fprintf(f ? f : stderr, "connect: %s\n", nbd_get_error());
        return 1;
    }
    fprintf(f, "size %lld ro %d sr %d bitmap %d\n", (long long)nbd_get_size(h),
            nbd_is_read_only(h), nbd_get_structured_replies_negotiated(h),
            nbd_can_meta_context(h, "qemu:dirty-bitmap:b"));
    if (nbd_block_status(h, SIZE, 0, (nbd_extent_callback){ .callback = extent_cb, .user_data = f },
                         0) < 0) {
        fprintf(f, "block status: %s\n", nbd_get_error());
    }
    if (nbd_pread(h, buf, sizeof buf, 0x100800, 0) < 0) {
        fprintf(f, "pread: %s\n", nbd_get_error());
    } else {
        fprintf(f, "pread %02x %02x\n", (unsigned char)buf[0], (unsigned char)buf[511]);
    }
    if (nbd_pread(h, buf, 2, SIZE - 1, 0) < 0) {
        fprintf(f, "pread past end: %s\n", nbd_get_error());
    }
    if (nbd_pwrite(h, buf, 2, 0, 0) < 0) {
        fprintf(f, "pwrite: errno %d\n", nbd_get_errno());
    }
    nbd_shutdown(h, 0);
    nbd_close(h);
    fclose(f);
    return 0;
}
#endif

/* libnbd, a real NBD client, in a child process; the VM serves it. */
static void test_libnbd_client(void **state)
{
#ifndef BLOCKSIM_HAVE_LIBNBD
    skip();
#else
    /* the client child ends with _exit holding the VM's heap, which
     * valgrind counts as its leaks (make memcheck sets this) */
    if (getenv("BLOCKSIM_UNDER_VALGRIND"))
        skip();
    bs_backend *b = vm_export();
    char uri[700], got[4096];
    int p[2];
    snprintf(uri, sizeof uri, "nbd+unix:///n?socket=%s", SOCK);
    assert_int_equal(pipe(p), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        alarm(30);
        _exit(libnbd_client(p[1], uri));
    }
    close(p[1]);
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    size_t len = 0;
    for (int spins = 0; spins < 20000; spins++) {
        ssize_t r = read(p[0], got + len, sizeof got - 1 - len);
        if (r == 0) {
            break;
        }
        if (r > 0) {
            len += (size_t)r;
        }
        b->ops->serve(b, 1);
    }
    got[len] = 0;
    close(p[0]);
    int st;
    waitpid(pid, &st, 0);
    assert_true(WIFEXITED(st));
    assert_string_equal(got,
        "size 1053184 ro 1 sr 1 bitmap 1\n"
        "base:allocation@0: 196608/0 65536/3 65536/0 131072/3 131072/0 458752/3 4608/0\n"
        "qemu:dirty-bitmap:b@0: 262144/0 65536/1 131072/0 131072/1 458752/0 4608/1\n"
        "pread 44 44\n"
        "pread past end: nbd_pread: request out of bounds: Invalid argument\n"
        "pwrite: errno 1\n");
    assert_int_equal(WEXITSTATUS(st), 0);
    vm_free(b);
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake_and_options),
        cmocka_unit_test(test_block_status_granularity),
        cmocka_unit_test(test_bad_requests),
        cmocka_unit_test(test_malformed_clients),
        cmocka_unit_test(test_stop_with_clients),
        cmocka_unit_test(test_allocation_depth_context),
        cmocka_unit_test(test_qemu_nbd_two_bitmaps),
        cmocka_unit_test(test_libnbd_client),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
