// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Compressed archives (.vma.zst, .vma.gz, .vma.lzo as vzdump stores them),
 * read directly: a thread decompresses the input with libzstd, zlib or
 * liblzo2 straight into a ring buffer the reader copies from, so
 * decompression and restore run side by side as in
 * `zstd -dc FILE | vma extract - DIR`, with one copy fewer than the pipe.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <lzo/lzo1x.h>
#include <zlib.h>
#include <zstd.h>

#include "vma/vma_int.h"

#define IN_CHUNK  (1u << 20)
/* Two of the largest extents (59 clusters and the header): the decoder
 * fills the next extent while the reader writes the current one to its
 * targets. With a 256 KiB ring the two took turns, and a direct .zst
 * extract took as long as decoding plus writing. */
#define RING_SIZE (8u << 20)
/* Each side sleeps until this much is there for it (the reader: or all it
 * asked for), not the first byte, so they hand over in large steps. */
#define RING_BATCH (1u << 20)
/* lzop's largest block. */
#define LZO_MAX_BLOCK (64u << 20)

static const uint8_t lzop_magic[9] = { 0x89, 0x4c, 0x5a, 0x4f, 0x00, 0x0d, 0x0a, 0x1a, 0x0a };

struct vma_decomp {
    int kind;
    int in_fd;
    bool own_fd;
    /* The ring: head and tail count bytes ever written and read. Mapped
     * twice in a row where the system allows (mirrored), so that any
     * RING_SIZE bytes from any position are contiguous: the reader then
     * writes extent data to its targets straight from here. */
    uint8_t *ring;
    bool mirrored;
    uint64_t head, tail;
    bool done;                /* the decoder has finished (or failed) */
    bool closed;              /* the reader has gone */
    pthread_mutex_t mu;
    pthread_cond_t can_read, can_write;
    size_t read_want;         /* bytes the waiting reader needs, 0: not waiting */
    bool write_waiting;       /* the decoder waits for RING_BATCH free bytes */
    uint8_t *prefix;
    size_t prefix_len, prefix_pos;
    uint64_t in_bytes;        /* compressed bytes consumed, for messages */
    pthread_t thread;
    bool started;
    bool reader_gone;         /* EPIPE: the reader stopped early */
    int code;
    char msg[sizeof(((vma_error *)0)->msg)];
};

int vma_decomp_detect(const uint8_t *p, size_t len)
{
    if (len >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd) {
        return VMA_COMP_ZSTD;
    }
    if (len >= 2 && p[0] == 0x1f && p[1] == 0x8b) {
        return VMA_COMP_GZIP;
    }
    if (len >= sizeof(lzop_magic) && memcmp(p, lzop_magic, sizeof(lzop_magic)) == 0) {
        return VMA_COMP_LZO;
    }
    return VMA_COMP_NONE;
}

const char *vma_decomp_name(int kind)
{
    switch (kind) {
    case VMA_COMP_ZSTD: return "zstd";
    case VMA_COMP_GZIP: return "gzip";
    case VMA_COMP_LZO:  return "lzo";
    default:            return NULL;
    }
}

static int dfail(vma_decomp *d, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int dfail(vma_decomp *d, int code, const char *fmt, ...)
{
    va_list ap;

    if (!d->code) {
        va_start(ap, fmt);
        vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
        va_end(ap);
        d->code = code;
    }
    return d->code;
}

/* Up to len compressed bytes (the prefix first); 0 at the end. */
static ssize_t in_read(vma_decomp *d, void *buf, size_t len)
{
    ssize_t n;

    if (d->prefix_pos < d->prefix_len) {
        size_t take = d->prefix_len - d->prefix_pos;

        take = take < len ? take : len;
        memcpy(buf, d->prefix + d->prefix_pos, take);
        d->prefix_pos += take;
        d->in_bytes += take;
        return (ssize_t)take;
    }
    do {
        n = read(d->in_fd, buf, len);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        return dfail(d, -errno, "reading the %s-compressed archive failed: %s",
                     vma_decomp_name(d->kind), strerror(errno));
    }
    d->in_bytes += (uint64_t)n;
    return n;
}

/* Exactly len bytes, or an error naming `what` (a truncated stream). */
static int in_read_exact(vma_decomp *d, void *buf, size_t len, const char *what)
{
    uint8_t *p = buf;

    while (len > 0) {
        ssize_t n = in_read(d, p, len);

        if (n < 0) {
            return (int)n;
        }
        if (n == 0) {
            return dfail(d, -EINVAL, "truncated lzo stream: it ends inside %s "
                         "(compressed byte %llu)", what, (unsigned long long)d->in_bytes);
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Contiguous free space in the ring (waiting for some), or NULL when the
 * reader has gone. */
static uint8_t *ring_reserve(vma_decomp *d, size_t *room)
{
    uint8_t *p = NULL;

    pthread_mutex_lock(&d->mu);
    while (!d->closed && RING_SIZE - (size_t)(d->head - d->tail) < RING_BATCH) {
        d->write_waiting = true;
        pthread_cond_wait(&d->can_write, &d->mu);
        d->write_waiting = false;
    }
    if (d->closed) {
        d->reader_gone = true;
    } else {
        size_t at = (size_t)(d->head % RING_SIZE);
        size_t free_bytes = RING_SIZE - (size_t)(d->head - d->tail);

        *room = RING_SIZE - at < free_bytes ? RING_SIZE - at : free_bytes;
        p = d->ring + at;
    }
    pthread_mutex_unlock(&d->mu);
    return p;
}

static void ring_commit(vma_decomp *d, size_t n)
{
    if (n == 0) {
        return;
    }
    pthread_mutex_lock(&d->mu);
    d->head += n;
    if (d->read_want && d->head - d->tail >= d->read_want) {
        pthread_cond_signal(&d->can_read);
    }
    pthread_mutex_unlock(&d->mu);
}

/* Copy into the ring (the lzo decoder's blocks). */
static int out_write(vma_decomp *d, const void *buf, size_t len)
{
    const uint8_t *p = buf;

    while (len > 0) {
        size_t room, n;
        uint8_t *dst = ring_reserve(d, &room);

        if (!dst) {
            return -EPIPE;
        }
        n = room < len ? room : len;
        memcpy(dst, p, n);
        ring_commit(d, n);
        p += n;
        len -= n;
    }
    return 0;
}

ssize_t vma_decomp_read(vma_decomp *d, void *buf, size_t len)
{
    uint8_t *out = buf;
    size_t done = 0;

    pthread_mutex_lock(&d->mu);
    while (done < len) {
        size_t avail, at, n;

        size_t want = len - done < RING_BATCH ? len - done : RING_BATCH;

        while (d->head - d->tail < want && !d->done) {
            d->read_want = want;
            pthread_cond_wait(&d->can_read, &d->mu);
            d->read_want = 0;
        }
        avail = (size_t)(d->head - d->tail);
        if (avail == 0) {
            break;                         /* the end (or the decoder failed) */
        }
        at = (size_t)(d->tail % RING_SIZE);
        n = avail < len - done ? avail : len - done;
        n = n < RING_SIZE - at ? n : RING_SIZE - at;
        /* The decoder only writes the free part, so copying unlocked is
         * safe; it waits for the space this frees. */
        pthread_mutex_unlock(&d->mu);
        memcpy(out + done, d->ring + at, n);
        pthread_mutex_lock(&d->mu);
        d->tail += n;
        done += n;
        if (d->write_waiting && RING_SIZE - (size_t)(d->head - d->tail) >= RING_BATCH) {
            pthread_cond_signal(&d->can_write);
        }
    }
    pthread_mutex_unlock(&d->mu);
    return (ssize_t)done;
}

ssize_t vma_decomp_peek(vma_decomp *d, size_t len, const uint8_t **p)
{
    size_t avail;

    /* The decoder stops when less than RING_BATCH is free: asking for more
     * than the rest would wait forever. */
    if (!d->mirrored || len > RING_SIZE - RING_BATCH) {
        return -ENOTSUP;
    }
    pthread_mutex_lock(&d->mu);
    while (d->head - d->tail < len && !d->done) {
        d->read_want = len;
        pthread_cond_wait(&d->can_read, &d->mu);
        d->read_want = 0;
    }
    avail = (size_t)(d->head - d->tail);
    *p = d->ring + (size_t)(d->tail % RING_SIZE);
    pthread_mutex_unlock(&d->mu);
    return (ssize_t)(avail < len ? avail : len);
}

void vma_decomp_consume(vma_decomp *d, size_t n)
{
    pthread_mutex_lock(&d->mu);
    d->tail += n;
    if (d->write_waiting && RING_SIZE - (size_t)(d->head - d->tail) >= RING_BATCH) {
        pthread_cond_signal(&d->can_write);
    }
    pthread_mutex_unlock(&d->mu);
}

static void run_zstd(vma_decomp *d)
{
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    uint8_t *in = malloc(IN_CHUNK);
    size_t last = 0;
    bool any = false;

    if (!dctx || !in) {
        dfail(d, -ENOMEM, "out of memory for the zstd decoder");
        goto out;
    }
    for (;;) {
        ssize_t n = in_read(d, in, IN_CHUNK);
        ZSTD_inBuffer ib = { in, n > 0 ? (size_t)n : 0, 0 };
        bool drained = false;

        if (n < 0) {
            goto out;
        }
        if (n == 0) {
            break;
        }
        any = true;
        /* Decompress straight into the ring until this input is used up
         * and the decoder holds nothing more for it. */
        while (!drained) {
            size_t room;
            uint8_t *dst = ring_reserve(d, &room);
            ZSTD_outBuffer ob;

            if (!dst) {
                goto out;
            }
            size_t in_before = ib.pos, ret;

            ob.dst = dst;
            ob.size = room;
            ob.pos = 0;
            ret = ZSTD_decompressStream(dctx, &ob, &ib);
            if (ZSTD_isError(ret)) {
                dfail(d, -EINVAL, "corrupt zstd stream near compressed byte %llu: %s",
                      (unsigned long long)(d->in_bytes - (uint64_t)(ib.size - ib.pos)),
                      ZSTD_getErrorName(ret));
                goto out;
            }
            /* A call that neither read nor wrote says nothing about the
             * frame (after a frame's end it would announce the next one). */
            if (ob.pos || ib.pos != in_before) {
                last = ret;
            }
            ring_commit(d, ob.pos);
            drained = ib.pos == ib.size && ob.pos < ob.size;
        }
    }
    if (!any || last != 0) {
        dfail(d, -EINVAL, "truncated zstd stream: it ends inside a frame after %llu "
              "compressed bytes", (unsigned long long)d->in_bytes);
    }
out:
    ZSTD_freeDCtx(dctx);
    free(in);
}

static void run_gzip(vma_decomp *d)
{
    z_stream zs;
    uint8_t *in = malloc(IN_CHUNK);
    int zret = Z_OK;
    bool ended = false, ready = false;

    memset(&zs, 0, sizeof(zs));
    if (!in || inflateInit2(&zs, 15 + 16) != Z_OK) {
        dfail(d, -ENOMEM, "out of memory for the gzip decoder");
        goto out;
    }
    ready = true;
    for (;;) {
        ssize_t n = in_read(d, in, IN_CHUNK);
        bool drained = false;

        if (n < 0) {
            goto out;
        }
        if (n == 0) {
            break;
        }
        zs.next_in = in;
        zs.avail_in = (uInt)n;
        while (!drained) {
            size_t room, made;
            uint8_t *dst;

            if (ended && zs.avail_in > 0) {
                /* gzip files may be several members back to back. */
                inflateReset(&zs);
                ended = false;
            }
            dst = ring_reserve(d, &room);
            if (!dst) {
                goto out;
            }
            zs.next_out = dst;
            zs.avail_out = (uInt)room;
            zret = inflate(&zs, Z_NO_FLUSH);
            if (zret != Z_OK && zret != Z_STREAM_END && zret != Z_BUF_ERROR) {
                dfail(d, -EINVAL, "corrupt gzip stream near compressed byte %llu: %s",
                      (unsigned long long)(d->in_bytes - zs.avail_in),
                      zs.msg ? zs.msg : "inflate failed");
                goto out;
            }
            made = room - zs.avail_out;
            ring_commit(d, made);
            if (zret == Z_STREAM_END) {
                ended = true;
            }
            /* Done with this input when it is used up and the output
             * space was not filled (nothing more pending). */
            drained = zs.avail_in == 0 && zs.avail_out > 0;
            if (zret == Z_BUF_ERROR && made == 0 && zs.avail_in == 0) {
                drained = true;
            }
        }
    }
    if (!ended) {
        dfail(d, -EINVAL, "truncated gzip stream: it ends inside a member after %llu "
              "compressed bytes", (unsigned long long)d->in_bytes);
    }
out:
    if (ready) {
        inflateEnd(&zs);
    }
    free(in);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* lzop's file format: a header, then blocks (uncompressed length,
 * compressed length, checksums, data) up to a block of length 0. */
enum {
    LZOP_ADLER32_D = 0x1, LZOP_ADLER32_C = 0x2, LZOP_EXTRA_FIELD = 0x40,
    LZOP_CRC32_D = 0x100, LZOP_CRC32_C = 0x200, LZOP_FILTER = 0x800,
    LZOP_H_CRC32 = 0x1000,
};

static void run_lzo(vma_decomp *d)
{
    uint8_t hdr[512], b4[4];
    uint8_t *src = NULL, *dst = NULL;
    size_t hl = 0;
    uint32_t flags, version, sum;
    uint8_t method;

    if (lzo_init() != LZO_E_OK) {
        dfail(d, -EIO, "liblzo2 failed to initialise");
        return;
    }
    if (in_read_exact(d, hdr, 9 + 2 + 2, "the header") < 0) {
        return;
    }
    version = (uint32_t)hdr[9] << 8 | hdr[10];
    hl = 13;
    if (version >= 0x0940) {
        if (in_read_exact(d, hdr + hl, 2, "the header") < 0) {
            return;
        }
        hl += 2;
    }
    if (in_read_exact(d, hdr + hl, 1, "the header") < 0) {
        return;
    }
    method = hdr[hl++];
    if (version >= 0x0940) {
        if (in_read_exact(d, hdr + hl, 1, "the header") < 0) {
            return;
        }
        hl++;
    }
    if (in_read_exact(d, hdr + hl, 4, "the header") < 0) {
        return;
    }
    flags = be32(hdr + hl);
    hl += 4;
    if (method < 1 || method > 3) {
        dfail(d, -EINVAL, "lzo stream: compression method %u is not LZO1X", method);
        return;
    }
    if (flags & LZOP_FILTER) {
        dfail(d, -ENOTSUP, "lzo stream: lzop filters are not supported");
        return;
    }
    /* mode, mtime (and its high half from 0.94 on), name length */
    if (in_read_exact(d, hdr + hl, version >= 0x0940 ? 13 : 9, "the header") < 0) {
        return;
    }
    hl += version >= 0x0940 ? 13 : 9;
    if (in_read_exact(d, hdr + hl, hdr[hl - 1], "the header") < 0) {
        return;
    }
    hl += hdr[hl - 1];
    if (in_read_exact(d, b4, 4, "the header") < 0) {
        return;
    }
    sum = (flags & LZOP_H_CRC32) ? lzo_crc32(0, hdr + 9, (lzo_uint)(hl - 9))
                                 : lzo_adler32(1, hdr + 9, (lzo_uint)(hl - 9));
    if (sum != be32(b4)) {
        dfail(d, -EINVAL, "lzo stream: header checksum mismatch");
        return;
    }
    if (flags & LZOP_EXTRA_FIELD) {
        dfail(d, -ENOTSUP, "lzo stream: lzop extra fields are not supported");
        return;
    }
    src = malloc(LZO_MAX_BLOCK);
    dst = malloc(LZO_MAX_BLOCK);
    if (!src || !dst) {
        dfail(d, -ENOMEM, "out of memory for the lzo decoder");
        goto out;
    }
    for (uint64_t block = 0;; block++) {
        uint32_t dlen, slen, dsum = 0, csum = 0;
        bool has_dsum = false, has_csum = false;
        lzo_uint got;

        if (in_read_exact(d, b4, 4, "a block header") < 0) {
            goto out;
        }
        dlen = be32(b4);
        if (dlen == 0) {
            break;
        }
        if (in_read_exact(d, b4, 4, "a block header") < 0) {
            goto out;
        }
        slen = be32(b4);
        if (dlen > LZO_MAX_BLOCK || slen > dlen || slen == 0) {
            dfail(d, -EINVAL, "lzo stream: block %llu has impossible lengths "
                  "(%u compressed, %u uncompressed)", (unsigned long long)block, slen,
                  dlen);
            goto out;
        }
        if (flags & (LZOP_ADLER32_D | LZOP_CRC32_D)) {
            if (in_read_exact(d, b4, 4, "a block header") < 0) {
                goto out;
            }
            dsum = be32(b4);
            has_dsum = true;
            if ((flags & LZOP_ADLER32_D) && (flags & LZOP_CRC32_D) &&
                in_read_exact(d, b4, 4, "a block header") < 0) {
                goto out;
            }
        }
        if (slen < dlen && (flags & (LZOP_ADLER32_C | LZOP_CRC32_C))) {
            if (in_read_exact(d, b4, 4, "a block header") < 0) {
                goto out;
            }
            csum = be32(b4);
            has_csum = true;
            if ((flags & LZOP_ADLER32_C) && (flags & LZOP_CRC32_C) &&
                in_read_exact(d, b4, 4, "a block header") < 0) {
                goto out;
            }
        }
        if (in_read_exact(d, src, slen, "a block") < 0) {
            goto out;
        }
        if (has_csum) {
            uint32_t c = (flags & LZOP_ADLER32_C) ? lzo_adler32(1, src, slen)
                                                  : lzo_crc32(0, src, slen);

            if (c != csum) {
                dfail(d, -EINVAL, "lzo stream: block %llu: compressed data checksum "
                      "mismatch", (unsigned long long)block);
                goto out;
            }
        }
        if (slen == dlen) {
            memcpy(dst, src, dlen);
        } else {
            got = dlen;
            if (lzo1x_decompress_safe(src, slen, dst, &got, NULL) != LZO_E_OK ||
                got != dlen) {
                dfail(d, -EINVAL, "corrupt lzo stream: block %llu does not decompress "
                      "to its %u bytes", (unsigned long long)block, dlen);
                goto out;
            }
        }
        if (has_dsum) {
            uint32_t c = (flags & LZOP_ADLER32_D) ? lzo_adler32(1, dst, dlen)
                                                  : lzo_crc32(0, dst, dlen);

            if (c != dsum) {
                dfail(d, -EINVAL, "lzo stream: block %llu: data checksum mismatch",
                      (unsigned long long)block);
                goto out;
            }
        }
        if (out_write(d, dst, dlen) < 0) {
            goto out;
        }
    }
out:
    free(src);
    free(dst);
}

static void *decomp_thread(void *opaque)
{
    vma_decomp *d = opaque;
    sigset_t set;

    /* Interrupting signals go to the main thread, whose handler cleans up. */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    switch (d->kind) {
    case VMA_COMP_ZSTD: run_zstd(d); break;
    case VMA_COMP_GZIP: run_gzip(d); break;
    default:            run_lzo(d); break;
    }
    if (d->own_fd) {
        close(d->in_fd);
    }
    pthread_mutex_lock(&d->mu);
    d->done = true;
    pthread_cond_broadcast(&d->can_read);
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

/* The ring twice in a row in the address space (one memfd mapped at base
 * and at base + RING_SIZE), or NULL. */
static uint8_t *mirror_alloc(void)
{
    int fd = memfd_create("vma-ring", MFD_CLOEXEC);
    uint8_t *base;

    if (fd < 0) {
        return NULL;
    }
    base = mmap(NULL, 2 * (size_t)RING_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
                0);
    if (ftruncate(fd, RING_SIZE) < 0 || base == MAP_FAILED ||
        mmap(base, RING_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) ==
            MAP_FAILED ||
        mmap(base + RING_SIZE, RING_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
             fd, 0) == MAP_FAILED) {
        if (base != MAP_FAILED) {
            munmap(base, 2 * (size_t)RING_SIZE);
        }
        close(fd);
        return NULL;
    }
    close(fd);
    return base;
}

static void ring_free(vma_decomp *d)
{
    if (d->mirrored) {
        munmap(d->ring, 2 * (size_t)RING_SIZE);
    } else {
        free(d->ring);
    }
}

vma_decomp *vma_decomp_start(int kind, int fd, bool own_fd, const uint8_t *prefix,
                             size_t prefix_len, vma_error *err)
{
    vma_decomp *d = calloc(1, sizeof(*d));

    if (d && (d->ring = mirror_alloc())) {
        d->mirrored = true;
    } else if (d) {
        d->ring = malloc(RING_SIZE);
    }
    if (!d || (prefix_len && !(d->prefix = malloc(prefix_len))) || !d->ring) {
        if (d) {
            ring_free(d);
            free(d->prefix);
        }
        free(d);
        vma_fail(err, -ENOMEM, "out of memory for the decompressor");
        return NULL;
    }
    memcpy(d->prefix, prefix, prefix_len);
    d->prefix_len = prefix_len;
    d->kind = kind;
    d->in_fd = fd;
    d->own_fd = own_fd;
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->can_read, NULL);
    pthread_cond_init(&d->can_write, NULL);
    if (pthread_create(&d->thread, NULL, decomp_thread, d) != 0) {
        vma_fail(err, -EAGAIN, "cannot start the decompression thread");
        pthread_mutex_destroy(&d->mu);
        pthread_cond_destroy(&d->can_read);
        pthread_cond_destroy(&d->can_write);
        ring_free(d);
        free(d->prefix);
        free(d);
        return NULL;
    }
    d->started = true;
    return d;
}

int vma_decomp_finish(vma_decomp *d, vma_error *err)
{
    int code;

    if (!d) {
        return 0;
    }
    /* A decoder waiting for room learns that no one will read it. */
    pthread_mutex_lock(&d->mu);
    d->closed = true;
    pthread_cond_broadcast(&d->can_write);
    pthread_mutex_unlock(&d->mu);
    pthread_join(d->thread, NULL);
    code = d->reader_gone ? 0 : d->code;
    if (code) {
        vma_fail(err, code, "%s", d->msg);
    }
    pthread_mutex_destroy(&d->mu);
    pthread_cond_destroy(&d->can_read);
    pthread_cond_destroy(&d->can_write);
    ring_free(d);
    free(d->prefix);
    free(d);
    return code;
}
