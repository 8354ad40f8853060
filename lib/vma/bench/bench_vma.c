// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Wall time of `vma create` (cluster engine + writer) and `vma extract`
 * (reader, sparse output) on a raw image with half of its 4 KiB blocks zero,
 * beside `cat FILE > /dev/null` and `cp` of the same file in the same run;
 * and of extracting the archive compressed with zstd directly
 * (`vma extract X.vma.zst`) beside `zstd -dc X.vma.zst | vma extract -`.
 * Targets (issue 13): create and extract each take at most cp's time, and
 * the direct .zst extract no longer than the pipe (best of three runs
 * each, in alternating order, each after a sync). Each line says PASS or FAIL; the page cache is warm
 * for every run.
 *
 * Size: VMA_BENCH_MB (default 2048) MiB. Files live under $TMPDIR (or /tmp)
 * and are removed at the end.
 */
#include <errno.h>
#include <stdbool.h>
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

/* <B>/vma beside this program (<B>/bench/vma). */
static void vma_binary(char *out, size_t cap)
{
    char self[1024];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    char *slash;

    self[n > 0 ? n : 0] = 0;
    slash = strrchr(self, '/');
    if (slash) {
        *slash = 0;
        slash = strrchr(self, '/');
    }
    if (slash) {
        *slash = 0;
    }
    snprintf(out, cap, "%s/vma", self);
}

static const char *verdict(bool pass)
{
    return pass ? "PASS" : "FAIL";
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    const char *mb_env = getenv("VMA_BENCH_MB");
    uint64_t mb = mb_env ? strtoull(mb_env, NULL, 10) : 2048;
    uint64_t size = mb << 20;
    char dir[1024], image[1100], copy[1100], archive[1100], out[1100], cmd[8192];
    char zst[1100], zout[1100], pout[1100], vma[1100];
    char spec[1200];
    const char *specs[1] = { spec };
    vma_error err = { 0 };
    double t_cat, t_cp, t_create, t_extract, t_zdirect, t_zpipe, t0;
    int rc = 0;

    if (!tmp || !*tmp) {
        tmp = "/tmp";
    }
    vma_binary(vma, sizeof(vma));
    snprintf(dir, sizeof(dir), "%s/vma-bench-XXXXXX", tmp);
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(image, sizeof(image), "%s/image.raw", dir);
    snprintf(copy, sizeof(copy), "%s/copy.raw", dir);
    snprintf(archive, sizeof(archive), "%s/image.vma", dir);
    snprintf(zst, sizeof(zst), "%s/image.vma.zst", dir);
    snprintf(out, sizeof(out), "%s/out", dir);
    snprintf(zout, sizeof(zout), "%s/zout", dir);
    snprintf(pout, sizeof(pout), "%s/pout", dir);
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
    run_shell("sync");
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", image, copy);
    t_cp = run_shell(cmd);
    unlink(copy);
    run_shell("sync");

    t0 = now();
    if (vma_create_archive(archive, specs, 1, NULL, &err) < 0) {
        fprintf(stderr, "bench: create failed: %s\n", err.msg);
        rc = 1;
        goto out;
    }
    t_create = now() - t0;
    run_shell("sync");

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

    /* Compressed: the pipe first warms zstd and the archive's cache. */
    snprintf(cmd, sizeof(cmd), "zstd -q -T0 '%s' -o '%s' && rm -f '%s'", archive, zst,
             archive);
    if (run_shell(cmd) < 0) {
        rc = 1;
        goto out;
    }
    snprintf(cmd, sizeof(cmd), "zstd -dc '%s' > /dev/null", zst);
    run_shell(cmd);
    /* Three rounds, best of each: the machine is shared. The order
     * alternates and every run starts with the other's output removed and
     * the dirty pages written back, so neither pays for the other. */
    t_zpipe = t_zdirect = 1e9;
    for (int round = 0; round < 6; round++) {
        bool direct = (round % 2) == (round / 2 % 2);
        double t;

        snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s' && sync", pout, zout);
        run_shell(cmd);
        if (direct) {
            t0 = now();
            if (vma_extract_archive(zst, zout, NULL, &err) < 0) {
                fprintf(stderr, "bench: .zst extract failed: %s\n", err.msg);
                rc = 1;
                goto out;
            }
            t = now() - t0;
            t_zdirect = t < t_zdirect ? t : t_zdirect;
            snprintf(cmd, sizeof(cmd), "cmp -s '%s' '%s/disk-drive-scsi0.raw'", image,
                     zout);
        } else {
            snprintf(cmd, sizeof(cmd), "zstd -dc '%s' | '%s' extract - '%s'", zst, vma,
                     pout);
            t = run_shell(cmd);
            if (t < 0) {
                rc = 1;
                goto out;
            }
            t_zpipe = t < t_zpipe ? t : t_zpipe;
            snprintf(cmd, sizeof(cmd), "cmp -s '%s' '%s/disk-drive-scsi0.raw'", image,
                     pout);
        }
        if (run_shell(cmd) < 0) {
            fprintf(stderr, "bench: .zst extraction differs\n");
            rc = 1;
            goto out;
        }
    }
    double mbs = (double)size / 1e6;
    struct stat st;

    stat(zst, &st);
    printf("  %-36s %7.2f s  %8.1f MB/s\n", "cat FILE > /dev/null", t_cat, mbs / t_cat);
    printf("  %-36s %7.2f s  %8.1f MB/s  (baseline)\n", "cp FILE COPY", t_cp, mbs / t_cp);
    printf("  %-36s %7.2f s  %8.1f MB/s  %.2fx cp's time  %s (target <= 1.00x)\n",
           "vma create", t_create, mbs / t_create, t_create / t_cp,
           verdict(t_create <= t_cp));
    printf("  %-36s %7.2f s  %8.1f MB/s  %.2fx cp's time  %s (target <= 1.00x)\n",
           "vma extract", t_extract, mbs / t_extract, t_extract / t_cp,
           verdict(t_extract <= t_cp));
    printf("  %-36s %7.2f s  (archive %.0f MB)\n", "zstd -dc X.zst | vma extract -",
           t_zpipe, (double)st.st_size / 1e6);
    printf("  %-36s %7.2f s  %.2fx the pipe's time  %s (target <= 1.00x)\n",
           "vma extract X.zst", t_zdirect, t_zdirect / t_zpipe,
           verdict(t_zdirect <= t_zpipe));
out:
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "bench: could not remove %s\n", dir);
    }
    return rc;
}
