/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * For the fuzz regression tests (<module>/fuzz/test_*_regressions.c): call
 * fn on the bytes of every regular file in a directory, in name order.
 * Returns how many files there were; a directory that does not exist has
 * none. Header-only so each module's test stays self-contained.
 */
#ifndef BLOCKSIM_TOOLS_FUZZ_REGRESS_H
#define BLOCKSIM_TOOLS_FUZZ_REGRESS_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef void (*fuzz_regress_fn)(const char *path, const uint8_t *data, size_t size);

static inline uint8_t *fuzz_regress_read(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t cap = 0, n = 0, got;

    if (!f) {
        return NULL;
    }
    do {
        if (n == cap) {
            uint8_t *nb;
            cap = cap ? 2 * cap : 65536;
            nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
    } while (got > 0);
    fclose(f);
    *size = n;
    return buf;
}

static int fuzz_regress_cmp(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static inline int fuzz_regress_each(const char *dir, fuzz_regress_fn fn)
{
    struct dirent **names = NULL;
    int n = scandir(dir, &names, NULL, fuzz_regress_cmp);
    int files = 0;

    for (int i = 0; i < n; i++) {
        char *path = NULL;
        struct stat st;

        if (names[i]->d_name[0] != '.' &&
            asprintf(&path, "%s/%s", dir, names[i]->d_name) >= 0 &&
            stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            size_t size = 0;
            uint8_t *data = fuzz_regress_read(path, &size);

            if (data) {
                fn(path, data, size);
                files++;
                free(data);
            }
        }
        free(path);
        free(names[i]);
    }
    free(names);
    return files;
}

#endif
