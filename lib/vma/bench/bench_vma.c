// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Throughput of `vma create` (cluster engine + writer) and `vma extract`
 * (reader, sparse output) on a raw image with half of its 4 KiB blocks zero,
 * beside `cat FILE > /dev/null` and `cp` of the same file in the same run.
 * Target: create and extract each at >= 50% of cp's throughput.
 *
 * Size: VMA_BENCH_MB (default 2048) MiB. Files live under $TMPDIR (or /tmp)
 * and are removed at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vma/vma.h"
#include "vma/vma_backup.h"

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Half the 4 KiB blocks random, half zero (written, not holes: every tool
 * has to read them). */
static int make_image(const char *path, uint64_t size)
{
    enum { CHUNK = 4 << 20 };
    uint8_t *buf = malloc(CHUNK);
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);

    if (fd < 0 || !buf) {
        perror(path);
        free(buf);
        return -1;
    }
    for (uint64_t off = 0; off < size; off += CHUNK) {
        for (size_t b = 0; b < CHUNK; b += 4096) {
            if (next_rand(&seed) & 1) {
                uint64_t *w = (uint64_t *)(buf + b);

                for (size_t i = 0; i < 4096 / 8; i++) {
                    w[i] = next_rand(&seed);
                }
            } else {
                memset(buf + b, 0, 4096);
            }
        }
        if (write(fd, buf, CHUNK) != CHUNK) {
            perror("write");
            close(fd);
            free(buf);
            return -1;
        }
    }
    free(buf);
    return close(fd);
}

static double run_shell(const char *cmd)
{
    double t0 = now();

    if (system(cmd) != 0) {
        fprintf(stderr, "bench: '%s' failed\n", cmd);
        return -1;
    }
    return now() - t0;
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    const char *mb_env = getenv("VMA_BENCH_MB");
    uint64_t mb = mb_env ? strtoull(mb_env, NULL, 10) : 2048;
    uint64_t size = mb << 20;
    char dir[1024], image[1100], copy[1100], archive[1100], out[1100], cmd[4096];
    char spec[1200];
    const char *specs[1] = { spec };
    vma_error err = { 0 };
    double t_cat, t_cp, t_create, t_extract, t0;
    int rc = 0;

    if (!tmp || !*tmp) {
        tmp = "/tmp";
    }
    snprintf(dir, sizeof(dir), "%s/vma-bench-XXXXXX", tmp);
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(image, sizeof(image), "%s/image.raw", dir);
    snprintf(copy, sizeof(copy), "%s/copy.raw", dir);
    snprintf(archive, sizeof(archive), "%s/image.vma", dir);
    snprintf(out, sizeof(out), "%s/out", dir);
    snprintf(spec, sizeof(spec), "drive-scsi0=%s", image);

    printf("vma bench: %llu MiB raw image, half of its 4 KiB blocks zero, in %s\n",
           (unsigned long long)mb, dir);
    if (make_image(image, size) < 0) {
        rc = 1;
        goto out;
    }
    snprintf(cmd, sizeof(cmd), "cat '%s' > /dev/null", image);
    run_shell(cmd);                                     /* warm the page cache */
    t_cat = run_shell(cmd);
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", image, copy);
    t_cp = run_shell(cmd);
    unlink(copy);

    t0 = now();
    if (vma_create_archive(archive, specs, 1, NULL, &err) < 0) {
        fprintf(stderr, "bench: create failed: %s\n", err.msg);
        rc = 1;
        goto out;
    }
    t_create = now() - t0;

    t0 = now();
    if (vma_extract_archive(archive, out, NULL, &err) < 0) {
        fprintf(stderr, "bench: extract failed: %s\n", err.msg);
        rc = 1;
        goto out;
    }
    t_extract = now() - t0;
    snprintf(cmd, sizeof(cmd), "cmp -s '%s' '%s/disk-drive-scsi0.raw'", image, out);
    if (run_shell(cmd) < 0) {
        fprintf(stderr, "bench: extracted image differs\n");
        rc = 1;
        goto out;
    }

    double mbs = (double)size / 1e6;
    double cp_rate = mbs / t_cp;
    struct stat st;

    stat(archive, &st);
    printf("  %-28s %8.1f MB/s\n", "cat FILE > /dev/null", mbs / t_cat);
    printf("  %-28s %8.1f MB/s  (baseline)\n", "cp FILE COPY", cp_rate);
    printf("  %-28s %8.1f MB/s  %.2fx cp  (archive %.0f MB)\n", "vma create", mbs / t_create,
           mbs / t_create / cp_rate, (double)st.st_size / 1e6);
    printf("  %-28s %8.1f MB/s  %.2fx cp\n", "vma extract", mbs / t_extract,
           mbs / t_extract / cp_rate);
    printf("  target (>= 0.50x cp each): %s\n",
           mbs / t_create >= cp_rate / 2 && mbs / t_extract >= cp_rate / 2 ? "met"
                                                                             : "NOT met");
out:
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "bench: could not remove %s\n", dir);
    }
    return rc;
}
