// SPDX-License-Identifier: GPL-2.0-or-later
/* Small helpers shared by the VMA writer, reader and tools. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <md5.h>
#include <uuid/uuid.h>

#include "vma/vma_int.h"

int vma_vfail(vma_error *err, int code, const char *fmt, va_list ap)
{
    if (err) {
        err->code = code;
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    }
    return code;
}

int vma_fail(vma_error *err, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vma_vfail(err, code, fmt, ap);
    va_end(ap);
    return code;
}

bool vma_buffer_is_zero(const void *buf, size_t len)
{
    const uint8_t *p = buf;

    if (len == 0) {
        return true;
    }
    /* Cheap early exit for data blocks, then let memcmp compare the buffer
     * with itself shifted by one byte: equal iff every byte equals p[0]. */
    if (p[0] || p[len - 1] || p[len / 2]) {
        return false;
    }
    return memcmp(p, p + 1, len - 1) == 0;
}

void vma_md5(const void *buf, size_t len, uint8_t out[16])
{
    MD5_CTX ctx;

    MD5Init(&ctx);
    MD5Update(&ctx, buf, len);
    MD5Final(out, &ctx);
}

void vma_uuid_format(const uint8_t uuid[16], char out[37])
{
    uuid_unparse_lower(uuid, out);
}

int vma_write_all(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;

    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

ssize_t vma_read_full(int fd, void *buf, size_t len)
{
    uint8_t *p = buf;
    size_t done = 0;

    while (done < len) {
        ssize_t n = read(fd, p + done, len - done);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        if (n == 0) {
            break;
        }
        done += (size_t)n;
    }
    return (ssize_t)done;
}
