/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Internals shared by the VMA writer and reader: byte order, header field
 * offsets, error helpers. Not part of the public API. */
#ifndef BLOCKSIM_VMA_INT_H
#define BLOCKSIM_VMA_INT_H

#include <stdarg.h>
#include <stdint.h>
#include <sys/types.h>

#include "vma/vma.h"

/* Archive header field offsets (bytes). */
enum {
    VMA_H_MAGIC          = 0,
    VMA_H_VERSION        = 4,
    VMA_H_UUID           = 8,
    VMA_H_CTIME          = 24,
    VMA_H_MD5            = 32,
    VMA_H_BLOB_OFFSET    = 48,
    VMA_H_BLOB_SIZE      = 52,
    VMA_H_HEADER_SIZE    = 56,
    VMA_H_CONFIG_NAMES   = 2044,
    VMA_H_CONFIG_DATA    = 3068,
    VMA_H_DEV_INFO       = 4096,
    VMA_DEV_INFO_SIZE    = 32,
};

/* Extent header field offsets. */
enum {
    VMA_E_MAGIC       = 0,
    VMA_E_RESERVED    = 4,
    VMA_E_BLOCK_COUNT = 6,
    VMA_E_UUID        = 8,
    VMA_E_MD5         = 24,
    VMA_E_BLOCKINFO   = 40,
};

static inline uint16_t vma_get_be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t vma_get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t vma_get_be64(const uint8_t *p)
{
    return (uint64_t)vma_get_be32(p) << 32 | vma_get_be32(p + 4);
}

static inline void vma_put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void vma_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void vma_put_be64(uint8_t *p, uint64_t v)
{
    vma_put_be32(p, (uint32_t)(v >> 32));
    vma_put_be32(p + 4, (uint32_t)v);
}

/* A blockinfo entry: mask (2 bytes), reserved (1), dev_id (1), cluster (4). */
static inline uint64_t vma_blockinfo(uint16_t mask, uint8_t dev_id, uint32_t cluster)
{
    return (uint64_t)mask << 48 | (uint64_t)dev_id << 32 | cluster;
}

/* Fill err (if any) and return code. */
int vma_fail(vma_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int vma_vfail(vma_error *err, int code, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* write()/read() until done; EINTR retried. Return 0 / bytes read, or
 * negative errno. */
int vma_write_all(int fd, const void *buf, size_t len);
ssize_t vma_read_full(int fd, void *buf, size_t len);

#endif /* BLOCKSIM_VMA_INT_H */

/* ---- compressed input (vma_decomp.c) ---- */

enum { VMA_COMP_NONE, VMA_COMP_ZSTD, VMA_COMP_GZIP, VMA_COMP_LZO };

/* Which compression the first bytes of an input announce (by magic). */
int vma_decomp_detect(const uint8_t *p, size_t len);
const char *vma_decomp_name(int kind);

typedef struct vma_decomp vma_decomp;

/* Decompress fd (after the `prefix` bytes already read from it) in a
 * thread; vma_decomp_read() takes the result. With own_fd the thread closes
 * fd at the end. */
vma_decomp *vma_decomp_start(int kind, int fd, bool own_fd, const uint8_t *prefix,
                             size_t prefix_len, vma_error *err);
/* Up to len decompressed bytes, short only at the end (of the stream, or
 * where the decoder failed: vma_decomp_finish() then says why). */
ssize_t vma_decomp_read(vma_decomp *d, void *buf, size_t len);
/* Wait for len decompressed bytes (fewer only at the end) and point *p at
 * them in the ring, without copying; they stay there until
 * vma_decomp_consume(). -ENOTSUP when the ring cannot do that (not
 * mirrored, or len too large): use vma_decomp_read(). */
ssize_t vma_decomp_peek(vma_decomp *d, size_t len, const uint8_t **p);
/* Release n bytes returned by vma_decomp_peek(). */
void vma_decomp_consume(vma_decomp *d, size_t n);
/* Stop the thread (it may be waiting for room), wait for it, free. Returns
 * 0, or the decoder's error (corrupt or truncated stream, read error) in
 * err; a decoder stopped because the reader went away is not an error. */
int vma_decomp_finish(vma_decomp *d, vma_error *err);

/* Did restore map the archive file (see struct vma_reader)? For tests. */
bool vma_reader_is_mapped(const vma_reader *r);

/* ---- background archive output (vma_bgwrite.c) ---- */

#include <pthread.h>

typedef struct vma_bgwrite {
    int fd;
    bool running;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    const uint8_t *job;       /* buffer being written, NULL when idle */
    size_t job_len;
    uint64_t job_at;          /* its archive offset, for the error message */
    bool quit;
    int error;                /* first failed write (negative errno), sticky */
    uint64_t error_at;
    size_t error_len;
} vma_bgwrite;

/* Start the thread writing to fd. 0 or a negative errno. */
int vma_bgwrite_start(vma_bgwrite *b, int fd);
/* Hand over buf (len bytes at archive offset at) once the previous job is
 * done; the caller must not touch buf until the next submit or wait
 * returns. Returns 0, or the error of an earlier job (buf not taken). */
int vma_bgwrite_submit(vma_bgwrite *b, const uint8_t *buf, size_t len, uint64_t at);
/* Wait until the job in flight is written; 0 or the first error. */
int vma_bgwrite_wait(vma_bgwrite *b);
/* Wait, end and join the thread. Safe to call when not running. */
void vma_bgwrite_stop(vma_bgwrite *b);
