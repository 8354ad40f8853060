// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Wall time of `vma create` and `vma extract` on a raw image with half of
 * its 4 KiB blocks zero, beside `cp` of the same file into the same
 * directory; and of `vma extract X.vma.zst` beside
 * `zstd -dc X.vma.zst | vma extract -` (issue 13). Targets: create and
 * extract each take at most cp's time, the direct .zst extract at most the
 * pipe's.
 *
 * The machine may be shared, so every command runs the same way (its own
 * process, exec'd directly; the pipe through sh), in rounds: each round
 * runs every command once, in an order that rotates from round to round,
 * each after the previous outputs are removed and the dirty pages written
 * back (sync, not timed), with the page cache warm. A verdict compares
 * each command with its baseline of the SAME round and takes the median of
 * those ratios over the rounds; the medians of wall and CPU time (user +
 * system, from the child's rusage, threads and pipe members included) are
 * printed beside it. CPU time says whether a slow round was the machine.
 *
 * VMA_BENCH_MB (default 2048) sets the image size, VMA_BENCH_ROUNDS
 * (default 5) the rounds. Files live under $TMPDIR (or /tmp) and are
 * removed at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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
        if (fd >= 0) {
            close(fd);
        }
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

typedef struct timing {
    double wall, cpu;
} timing;

/* Run argv (argv[0] a path, or "sh" for a shell line) in a child with
 * stdout to /dev/null; wall and CPU time of the child. */
static int run(char *const argv[], timing *t)
{
    struct rusage ru;
    double t0 = now();
    int status;
    pid_t pid = fork();

    if (pid < 0) {
        perror("fork");
        return -1;
    }
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);

        if (null >= 0) {
            dup2(null, STDOUT_FILENO);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    if (wait4(pid, &status, 0, &ru) < 0) {
        perror("wait4");
        return -1;
    }
    t->wall = now() - t0;
    t->cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
             (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "bench: %s %s failed (status %d)\n", argv[0],
                argv[1] ? argv[1] : "", status);
        return -1;
    }
    return 0;
}

static int shell(const char *cmd)
{
    if (system(cmd) != 0) {
        fprintf(stderr, "bench: '%s' failed\n", cmd);
        return -1;
    }
    return 0;
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

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double median(const double *v, int n)
{
    double s[64];

    memcpy(s, v, sizeof(double) * (size_t)n);
    qsort(s, (size_t)n, sizeof(double), cmp_double);
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

enum { CP, CREATE, EXTRACT, ZPIPE, ZDIRECT, NCMD, MAX_ROUNDS = 64 };

static const char *const names[NCMD] = {
    [CP] = "cp FILE COPY",
    [CREATE] = "vma create",
    [EXTRACT] = "vma extract",
    [ZPIPE] = "zstd -dc X.zst | vma extract -",
    [ZDIRECT] = "vma extract X.zst",
};

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    const char *mb_env = getenv("VMA_BENCH_MB");
    const char *rounds_env = getenv("VMA_BENCH_ROUNDS");
    uint64_t mb = mb_env ? strtoull(mb_env, NULL, 10) : 2048;
    int rounds = rounds_env ? atoi(rounds_env) : 5;
    uint64_t size = mb << 20;
    char dir[1024], image[1100], copy[1100], archive[1100], ref[1100], out[1100];
    char zst[1100], zout[1100], pout[1100], vma[1100], spec[1200], cmd[16384];
    char zpipe[8192], outdisk[1200], zoutdisk[1200], poutdisk[1200];
    timing t[NCMD][MAX_ROUNDS];
    int rc = 0;

    if (rounds < 1 || rounds > MAX_ROUNDS) {
        fprintf(stderr, "bench: VMA_BENCH_ROUNDS must be 1..%d\n", MAX_ROUNDS);
        return 1;
    }
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
    snprintf(archive, sizeof(archive), "%s/new.vma", dir);
    snprintf(ref, sizeof(ref), "%s/image.vma", dir);
    snprintf(zst, sizeof(zst), "%s/image.vma.zst", dir);
    snprintf(out, sizeof(out), "%s/out", dir);
    snprintf(zout, sizeof(zout), "%s/zout", dir);
    snprintf(pout, sizeof(pout), "%s/pout", dir);
    snprintf(outdisk, sizeof(outdisk), "%s/disk-drive-scsi0.raw", out);
    snprintf(zoutdisk, sizeof(zoutdisk), "%s/disk-drive-scsi0.raw", zout);
    snprintf(poutdisk, sizeof(poutdisk), "%s/disk-drive-scsi0.raw", pout);
    snprintf(spec, sizeof(spec), "drive-scsi0=%s", image);
    snprintf(zpipe, sizeof(zpipe), "zstd -dc '%s' | '%s' extract - '%s'", zst, vma, pout);

    char *const argv_cp[] = { "cp", image, copy, NULL };
    char *const argv_create[] = { vma, "create", archive, spec, NULL };
    char *const argv_extract[] = { vma, "extract", ref, out, NULL };
    char *const argv_zpipe[] = { "sh", "-c", zpipe, NULL };
    char *const argv_zdirect[] = { vma, "extract", zst, zout, NULL };
    char *const *argvs[NCMD] = { argv_cp, argv_create, argv_extract, argv_zpipe,
                                 argv_zdirect };

    printf("vma bench: %llu MiB raw image, half of its 4 KiB blocks zero, in %s; "
           "%d rounds\n", (unsigned long long)mb, dir, rounds);
    fflush(stdout);
    if (make_image(image, size) < 0) {
        rc = 1;
        goto out;
    }
    /* The archives the extracts read, made once. */
    snprintf(cmd, sizeof(cmd), "'%s' create '%s' '%s' && zstd -q -T0 '%s' -o '%s' && "
             "cat '%s' '%s' '%s' > /dev/null && zstd -dc '%s' > /dev/null && sync", vma,
             ref, spec, ref, zst, image, ref, zst, zst);
    if (shell(cmd) < 0) {
        rc = 1;
        goto out;
    }

    /* How each command's output is checked, and what to remove after. */
    char checks[NCMD][8192];

    snprintf(checks[CP], sizeof(checks[CP]), "cmp -s '%s' '%s'", image, copy);
    snprintf(checks[CREATE], sizeof(checks[CREATE]), "'%s' verify '%s' && '%s' extract "
             "'%s' '%s' > /dev/null && cmp -s '%s' '%s'", vma, archive, vma, archive, out,
             image, outdisk);
    snprintf(checks[EXTRACT], sizeof(checks[EXTRACT]), "cmp -s '%s' '%s'", image, outdisk);
    snprintf(checks[ZPIPE], sizeof(checks[ZPIPE]), "cmp -s '%s' '%s'", image, poutdisk);
    snprintf(checks[ZDIRECT], sizeof(checks[ZDIRECT]), "cmp -s '%s' '%s'", image,
             zoutdisk);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s' '%s' '%s' '%s' && sync", copy, archive,
             out, zout, pout);
    for (int r = 0; r < rounds; r++) {
        for (int k = 0; k < NCMD; k++) {
            int c = (k + r) % NCMD;

            if (run(argvs[c], &t[c][r]) < 0) {
                rc = 1;
                goto out;
            }
            if (shell(checks[c]) < 0) {
                fprintf(stderr, "bench: the output of '%s' differs from the image\n",
                        names[c]);
                rc = 1;
                goto out;
            }
            /* Every run starts with the others' output gone and written
             * back, so none pays for another. */
            if (shell(cmd) < 0) {
                rc = 1;
                goto out;
            }
        }
    }

    double mbs = (double)size / 1e6;
    double wall[NCMD], cpu[NCMD], v[MAX_ROUNDS];
    struct stat st;

    for (int c = 0; c < NCMD; c++) {
        for (int r = 0; r < rounds; r++) {
            v[r] = t[c][r].wall;
        }
        wall[c] = median(v, rounds);
        for (int r = 0; r < rounds; r++) {
            v[r] = t[c][r].cpu;
        }
        cpu[c] = median(v, rounds);
    }
    stat(zst, &st);
    printf("  %-31s %8s %12s %8s  ratio to the baseline of the same round (median)\n",
           "median of the rounds", "wall", "rate", "CPU");
    for (int c = 0; c < NCMD; c++) {
        int base = c == ZDIRECT ? ZPIPE : CP;

        printf("  %-31s %6.2f s %7.0f MB/s %6.2f s", names[c], wall[c], mbs / wall[c],
               cpu[c]);
        if (c == CP || c == ZPIPE) {
            printf("  baseline");
            if (c == ZPIPE) {
                printf(" (archive %.0f MB)", (double)st.st_size / 1e6);
            }
        } else {
            double cr[MAX_ROUNDS];

            for (int r = 0; r < rounds; r++) {
                v[r] = t[c][r].wall / t[base][r].wall;
                cr[r] = t[c][r].cpu / t[base][r].cpu;
            }
            double ratio = median(v, rounds);

            printf("  %.2fx %s's time (CPU %.2fx)  %s (target <= 1.00x)", ratio,
                   base == CP ? "cp" : "the pipe", median(cr, rounds),
                   ratio <= 1.0 ? "PASS" : "FAIL");
        }
        printf("\n");
    }
    printf("  per round, wall s (CPU s):");
    for (int c = 0; c < NCMD; c++) {
        printf("\n    %-31s", names[c]);
        for (int r = 0; r < rounds; r++) {
            printf(" %5.2f (%4.2f)", t[c][r].wall, t[c][r].cpu);
        }
    }
    printf("\n");
out:
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "bench: could not remove %s\n", dir);
    }
    return rc;
}
