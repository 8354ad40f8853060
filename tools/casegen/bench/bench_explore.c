/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * make bench: harness --explore over each bitmap-sync section of
 * cases/257.case on its own (-D SECTIONS=[...] -D API_TESTS=false), with the
 * default budget. Target (issue 12): each section in under a minute.
 */
#include "harness/cli.h"
#include "harness/explore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(void)
{
    /* 257's sections: sync bitmap with every bitmap-mode, full and top with
     * on-success and always; each with a simulated, an intermediate or no failure */
    static const char *const modes[][2] = {
        { "never", "bitmap" }, { "on-success", "bitmap" }, { "always", "bitmap" },
        { "on-success", "full" }, { "always", "full" }, { "on-success", "top" },
        { "always", "top" },
    };
    static const char *const failures[] = { "\"simulated\"", "\"intermediate\"", "none" };
    double worst = 0, total = 0;
    int n = 0;
    FILE *sink = fopen("/dev/null", "w");
    if (!sink)
        return 1;
    for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
        for (size_t f = 0; f < 3; f++) {
            char def[160];
            snprintf(def, sizeof(def), "SECTIONS=[[\"%s\", \"%s\", %s]]", modes[m][0],
                     modes[m][1], failures[f]);
            const char *defs[] = { def, "API_TESTS=false" };
            explore_opts o = { .defines = defs, .ndefines = 2 };
            double t0 = now();
            int r = harness_explore("cases/257.case", &o, harness_backend_new, sink, stderr);
            double t = now() - t0;
            if (r == 2) {
                fprintf(stderr, "explore failed for %s\n", def);
                return 1;
            }
            worst = t > worst ? t : worst;
            total += t;
            n++;
        }
    }
    fclose(sink);
    printf("explorer over 257, one section at a time: %d sections, %.1f s in all, slowest "
           "%.1f s; target < 60 s per section: %s\n", n, total, worst, worst < 60 ? "met" : "MISSED");
    return 0;
}
