// SPDX-License-Identifier: GPL-2.0-or-later
/* Small helpers shared by the VMA writer, reader and tools. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
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

int vma_name_check(const char *what, const char *name, vma_error *err)
{
    size_t len;

    if (!name || !*name) {
        return vma_fail(err, -EINVAL, "%s name is empty", what);
    }
    len = strlen(name);
    if (len + 1 > VMA_MAX_BLOB_SIZE) {
        return vma_fail(err, -ENAMETOOLONG, "%s name is %zu bytes long (limit %u)",
                        what, len, VMA_MAX_BLOB_SIZE - 1);
    }
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
        return vma_fail(err, -EINVAL, "%s name '%s' cannot be used as a file name", what,
                        name);
    }
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if (*p == '/') {
            return vma_fail(err, -EINVAL, "%s name '%.200s' contains '/'", what, name);
        }
        if (*p < 0x20 || *p == 0x7f) {
            char *shown = vma_name_escape(name);

            vma_fail(err, -EINVAL, "%s name '%.200s' contains the control character "
                     "0x%02x at byte %zu", what, shown ? shown : "?", *p,
                     (size_t)(p - (const unsigned char *)name));
            free(shown);
            return -EINVAL;
        }
    }
    return 0;
}

char *vma_name_escape(const char *name)
{
    size_t len = strlen(name);
    char *out = malloc(4 * len + 1), *o = out;

    if (!out) {
        return NULL;
    }
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            o += sprintf(o, "\\x%02x", *p);
        } else if (*p == '\\') {
            *o++ = '\\';
            *o++ = '\\';
        } else {
            *o++ = (char)*p;
        }
    }
    *o = 0;
    return out;
}
