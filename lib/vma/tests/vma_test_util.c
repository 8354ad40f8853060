// SPDX-License-Identifier: GPL-2.0-or-later
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vma/tests/vma_test_util.h"

char *tu_mkdtemp(const char *tag)
{
    const char *tmp = getenv("TMPDIR");
    char *path;

    if (!tmp || !*tmp) {
        tmp = "/tmp";
    }
    if (asprintf(&path, "%s/vma-%s-XXXXXX", tmp, tag) < 0) {
        abort();
    }
    if (!mkdtemp(path)) {
        perror("mkdtemp");
        abort();
    }
    return path;
}

void tu_rmrf(const char *path)
{
    struct stat st;

    if (lstat(path, &st) < 0) {
        return;
    }
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *de;

        while (d && (de = readdir(d))) {
            if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
                char *sub = tu_path(path, de->d_name);

                tu_rmrf(sub);
                free(sub);
            }
        }
        if (d) {
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

char *tu_path(const char *dir, const char *name)
{
    char *p;

    if (asprintf(&p, "%s/%s", dir, name) < 0) {
        abort();
    }
    return p;
}

uint64_t tu_rand(uint64_t *state)
{
    /* splitmix64: small, seedable, good enough for test data. */
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void tu_fill_random(void *buf, size_t len, uint64_t *state)
{
    uint8_t *p = buf;

    while (len >= 8) {
        uint64_t v = tu_rand(state);

        memcpy(p, &v, 8);
        p += 8;
        len -= 8;
    }
    if (len) {
        uint64_t v = tu_rand(state);

        memcpy(p, &v, len);
    }
}

uint8_t *tu_image(uint64_t size, unsigned data_percent, uint64_t seed)
{
    uint8_t *img = calloc(1, size ? size : 1);
    uint64_t state = seed;

    for (uint64_t off = 0; off < size; off += VMA_BLOCK_SIZE) {
        size_t len = size - off < VMA_BLOCK_SIZE ? size - off : VMA_BLOCK_SIZE;

        if (tu_rand(&state) % 100 < data_percent) {
            tu_fill_random(img + off, len, &state);
            img[off] |= 1;   /* make sure a "data" block is not all zero */
        }
    }
    return img;
}

void tu_write_file(const char *path, const void *buf, size_t len)
{
    FILE *f = fopen(path, "wb");

    if (!f || (len && fwrite(buf, 1, len, f) != len) || fclose(f) != 0) {
        perror(path);
        abort();
    }
}

uint8_t *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long n;

    if (!f) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc(n ? (size_t)n : 1);
    if (n && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        abort();
    }
    fclose(f);
    *len = (size_t)n;
    return buf;
}

bool tu_file_equals(const char *path, const void *buf, size_t len)
{
    size_t got_len;
    uint8_t *got = tu_read_file(path, &got_len);
    bool same = got && got_len == len && memcmp(got, buf, len) == 0;

    if (!same) {
        fprintf(stderr, "%s: %s (size %zu, expected %zu)\n", path,
                got ? "content differs" : "missing", got ? got_len : 0, len);
    }
    free(got);
    return same;
}

bool tu_exists(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0;
}

typedef struct tu_item {
    unsigned dev;       /* index into devs, or ndevs for vmstate */
    uint64_t cluster;
} tu_item;

int tu_build_archive(const char *path, const tu_dev *devs, unsigned ndevs,
                     const tu_cfg *cfgs, unsigned ncfgs,
                     const uint8_t *vmstate, size_t vmstate_len, uint64_t vmstate_estimate,
                     uint64_t shuffle_seed, const vma_writer_options *opts,
                     vma_error *err)
{
    vma_writer *w = vma_writer_create(path, opts, err);
    unsigned ids[256];
    unsigned vmstate_id = 0;
    tu_item *items;
    size_t nitems = 0, cap = 0;
    int ret = 0;

    if (!w) {
        return err ? err->code : -1;
    }
    for (unsigned i = 0; i < ncfgs && ret >= 0; i++) {
        ret = vma_writer_add_config(w, cfgs[i].name, cfgs[i].data, cfgs[i].len, err);
    }
    for (unsigned i = 0; i < ndevs && ret >= 0; i++) {
        ret = vma_writer_add_device(w, devs[i].name, devs[i].size, err);
        ids[i] = (unsigned)ret;
        cap += (devs[i].size + VMA_CLUSTER_SIZE - 1) / VMA_CLUSTER_SIZE;
    }
    if (ret >= 0 && vmstate) {
        ret = vma_writer_add_vmstate(w, vmstate_estimate, err);
        vmstate_id = (unsigned)ret;
        cap += (vmstate_len + VMA_CLUSTER_SIZE - 1) / VMA_CLUSTER_SIZE;
    }
    if (ret < 0) {
        vma_writer_free(w);
        return ret;
    }
    items = calloc(cap + 1, sizeof(*items));
    for (unsigned i = 0; i < ndevs; i++) {
        for (uint64_t c = 0; c * VMA_CLUSTER_SIZE < devs[i].size; c++) {
            items[nitems++] = (tu_item){ i, c };
        }
    }
    for (uint64_t c = 0; vmstate && c * VMA_CLUSTER_SIZE < vmstate_len; c++) {
        items[nitems++] = (tu_item){ ndevs, c };
    }
    if (shuffle_seed) {
        /* Shuffle, then put vmstate clusters back in ascending order among
         * the slots they landed in: vmstate must stay sequential. */
        uint64_t st = shuffle_seed;
        uint64_t next_vm = 0;

        for (size_t i = nitems; i > 1; i--) {
            size_t j = tu_rand(&st) % i;
            tu_item t = items[i - 1];

            items[i - 1] = items[j];
            items[j] = t;
        }
        for (size_t i = 0; i < nitems; i++) {
            if (items[i].dev == ndevs) {
                items[i].cluster = next_vm++;
            }
        }
    }
    for (size_t i = 0; i < nitems && ret >= 0; i++) {
        const tu_item *it = &items[i];
        uint64_t off = it->cluster * VMA_CLUSTER_SIZE;

        if (it->dev == ndevs) {
            size_t len = vmstate_len - off < VMA_CLUSTER_SIZE ? vmstate_len - off
                                                              : VMA_CLUSTER_SIZE;
            ret = vma_writer_vmstate_append(w, vmstate + off, len, err);
        } else {
            const tu_dev *d = &devs[it->dev];
            size_t len = d->size - off < VMA_CLUSTER_SIZE ? d->size - off
                                                          : VMA_CLUSTER_SIZE;
            ret = vma_writer_write(w, ids[it->dev], off, d->data + off, len, err);
        }
    }
    free(items);
    (void)vmstate_id;
    if (ret >= 0) {
        ret = vma_writer_close(w, err);
    }
    vma_writer_free(w);
    return ret;
}

int tu_restore_all(const char *archive, const char *dir, vma_error *err)
{
    vma_reader *r = vma_reader_open(archive, err);
    int fds[256];
    int ret = 0;

    if (!r) {
        return err ? err->code : -1;
    }
    for (unsigned id = 0; id < 256; id++) {
        const vma_device_info *di = vma_reader_device(r, id);

        fds[id] = -1;
        if (di) {
            char *p = tu_path(dir, di->is_vmstate ? "vmstate.bin" : di->name);

            fds[id] = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            free(p);
            ret = vma_reader_set_target(r, id, fds[id], 0, err);
            if (ret < 0) {
                break;
            }
        }
    }
    if (ret == 0) {
        ret = vma_reader_restore(r, err);
    }
    for (unsigned id = 0; id < 256; id++) {
        if (fds[id] >= 0) {
            close(fds[id]);
        }
    }
    vma_reader_free(r);
    return ret;
}
