/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Image-content models (see image.h): plain byte arrays, on purpose. */
#include "oracle/image.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ORACLE_IMAGE_MAX (1ull << 32)   /* cases use small images */

struct oracle_image {
    char *name;
    uint64_t size;
    uint8_t *bytes;
};

struct oracle_images {
    oracle_image **v;
    size_t n;
};

oracle_images *oracle_images_new(void)
{
    oracle_images *set = calloc(1, sizeof(*set));
    if (!set)
        abort();
    return set;
}

void oracle_images_free(oracle_images *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->n; i++) {
        free(set->v[i]->name);
        free(set->v[i]->bytes);
        free(set->v[i]);
    }
    free(set->v);
    free(set);
}

oracle_image *oracle_image_find(oracle_images *set, const char *name)
{
    for (size_t i = 0; i < set->n; i++)
        if (!strcmp(set->v[i]->name, name))
            return set->v[i];
    return NULL;
}

static oracle_image *slot(oracle_images *set, const char *name, uint64_t size)
{
    if (size > ORACLE_IMAGE_MAX)
        return NULL;
    uint8_t *bytes = calloc(1, size ? (size_t)size : 1);
    if (!bytes)
        return NULL;
    oracle_image *img = oracle_image_find(set, name);
    if (!img) {
        img = calloc(1, sizeof(*img));
        oracle_image **v = realloc(set->v, (set->n + 1) * sizeof(*v));
        if (!img || !v)
            abort();
        set->v = v;
        set->v[set->n++] = img;
        img->name = strdup(name);
        if (!img->name)
            abort();
    }
    free(img->bytes);
    img->bytes = bytes;
    img->size = size;
    return img;
}

oracle_image *oracle_image_new(oracle_images *set, const char *name, uint64_t size)
{
    return slot(set, name, size);
}

oracle_image *oracle_image_copy(oracle_images *set, const char *name, const oracle_image *src)
{
    if (!strcmp(name, src->name))
        return (oracle_image *)src;
    uint64_t size = src->size;
    const uint8_t *from = src->bytes;   /* src stays: it has another name */
    oracle_image *img = slot(set, name, size);
    if (img)
        memcpy(img->bytes, from, (size_t)size);
    return img;
}

uint64_t oracle_image_size(const oracle_image *img)
{
    return img->size;
}

uint64_t oracle_images_bytes(const oracle_images *set)
{
    uint64_t total = 0;
    for (size_t i = 0; set && i < set->n; i++)
        total += set->v[i]->size;
    return total;
}

int oracle_image_write(oracle_image *img, uint64_t offset, uint64_t len, uint8_t pattern)
{
    if (offset > img->size || len > img->size - offset)
        return -1;
    memset(img->bytes + offset, pattern, (size_t)len);
    return 0;
}

int oracle_image_compare_file(const oracle_image *img, const char *path, uint64_t *where,
                              int *size_diff)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    *size_diff = 0;
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    if ((uint64_t)st.st_size != img->size) {
        close(fd);
        *where = (uint64_t)st.st_size;
        *size_diff = 1;
        return 1;
    }
    uint8_t buf[65536];
    uint64_t off = 0;
    while (off < img->size) {
        ssize_t n = pread(fd, buf, sizeof(buf), (off_t)off);
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;
            close(fd);
            return -e;
        }
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] != img->bytes[off + (uint64_t)i]) {
                *where = off + (uint64_t)i;
                close(fd);
                return 1;
            }
        }
        off += (uint64_t)n;
    }
    close(fd);
    return 0;
}
