/* SPDX-License-Identifier: GPL-2.0-or-later */
/* build/casegen: writes N generated cases into a directory and prints what
 * they cover (see gen/casegen.h). */
#include "tools/casegen/casegen.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fputs("usage: casegen --seed S --count N --out DIR [--profile NAME] [--first K] [--quiet]\n"
          "Writes cases DIR/gS-K.case for K = first .. first+N-1 (default first 0); the same\n"
          "seed and K give the same file. Prints the commands and options they cover.\n"
          "Profiles:", f);
    for (int i = 0; cg_profiles[i]; i++)
        fprintf(f, " %s%s", cg_profiles[i], i ? "" : " (default)");
    fputs("\n", f);
}

static int parse_u64(const char *s, uint64_t *v)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 0);
    if (errno || !*s || *end || s[0] == '-')
        return -1;
    *v = x;
    return 0;
}

/* Via a temporary file and rename: never a half-written case. */
static int write_case(const char *path, const char *text)
{
    char *tmp;
    if (asprintf(&tmp, "%s.tmp.%ld", path, (long)getpid()) < 0)
        abort();
    FILE *f = fopen(tmp, "wb");
    int ok = f && fwrite(text, 1, strlen(text), f) == strlen(text);
    if (f && fclose(f) != 0)
        ok = 0;
    if (!ok || rename(tmp, path) != 0) {
        fprintf(stderr, "casegen: cannot write %s: %s\n", path, strerror(errno));
        unlink(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t seed = 0, count = 0, first = 0;
    int have_seed = 0, have_count = 0, quiet = 0;
    const char *out = NULL, *profile = cg_profiles[0];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--quiet")) {
            quiet = 1;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "casegen: %s: unknown option or missing value\n", a);
            usage(stderr);
            return 2;
        }
        const char *v = argv[++i];
        if (!strcmp(a, "--seed") && parse_u64(v, &seed) == 0) {
            have_seed = 1;
        } else if (!strcmp(a, "--count") && parse_u64(v, &count) == 0 && count <= 10000000) {
            have_count = 1;
        } else if (!strcmp(a, "--first") && parse_u64(v, &first) == 0 && first <= 100000000) {
        } else if (!strcmp(a, "--out")) {
            out = v;
        } else if (!strcmp(a, "--profile") && cg_profile_valid(v) >= 0) {
            profile = v;
        } else {
            fprintf(stderr, "casegen: bad %s '%s'\n", a, v);
            usage(stderr);
            return 2;
        }
    }
    if (!have_seed || !have_count || !out) {
        fprintf(stderr, "casegen: --seed, --count and --out are required\n");
        usage(stderr);
        return 2;
    }
    if (mkdir(out, 0777) < 0 && errno != EEXIST) {
        fprintf(stderr, "casegen: cannot create %s: %s\n", out, strerror(errno));
        return 1;
    }
    cg_cover cov = {0};
    for (uint64_t k = first; k < first + count; k++) {
        sbuf text = {0};
        cg_generate(seed, (unsigned)k, profile, &text, &cov);
        char *path;
        if (asprintf(&path, "%s/g%llu-%05llu.case", out, (unsigned long long)seed,
                     (unsigned long long)k) < 0)
            abort();
        int r = write_case(path, sbuf_str(&text));
        free(path);
        sbuf_free(&text);
        if (r < 0) {
            cg_cover_free(&cov);
            return 1;
        }
    }
    if (!quiet) {
        sbuf rep = {0};
        cg_cover_report(&cov, &rep);
        printf("casegen: %llu cases (seed %llu, profile %s) in %s\n%s",
               (unsigned long long)count, (unsigned long long)seed, profile, out,
               sbuf_str(&rep));
        sbuf_free(&rep);
    }
    cg_cover_free(&cov);
    return 0;
}
