/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * make bench: 10,000 generated cases (casegen's default profile, seed 1)
 * parsed and run on the simulator in this one process, each checking
 * itself. Target (issue 12): under 10 minutes on the project machine.
 * BENCH_GEN_N overrides the count.
 */
#include "tools/casegen/casegen.h"
#include "harness/backend.h"
#include "harness/case.h"
#include "harness/interp.h"

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
    unsigned n = 10000;
    const char *env = getenv("BENCH_GEN_N");
    if (env && atoi(env) > 0)
        n = (unsigned)atoi(env);
    double t0 = now(), gen_s = 0;
    unsigned failed = 0;
    unsigned long lines = 0;
    for (unsigned i = 0; i < n; i++) {
        double g0 = now();
        sbuf text = {0};
        cg_generate(1, i, "mixed", &text, NULL);
        gen_s += now() - g0;
        char *err = NULL, *out = NULL;
        program *p = case_parse_string("bench.case", sbuf_str(&text), &err);
        bs_backend *be = p ? bs_backend_sim_new(&err) : NULL;
        int r = be ? case_run(p, be, 60.0, &out, &err) : -1;
        if (r == 0 && strstr(out, "ERROR!"))
            r = -1;
        if (r < 0) {
            failed++;
            if (failed <= 3)
                fprintf(stderr, "case %u: %s\n", i, err ? err : "an oracle check failed");
        }
        for (const char *c = out; c && *c; c++)
            lines += *c == '\n';
        if (be)
            be->ops->destroy(be);
        case_free(p);
        free(out);
        free(err);
        sbuf_free(&text);
    }
    double total = now() - t0;
    printf("generated cases on the simulator: %u cases, %lu transcript lines in %.1f s "
           "(generation %.1f s; %.2f ms per case); target < 600 s: %s\n",
           n, lines, total, gen_s, 1000.0 * total / n, total < 600 ? "met" : "MISSED");
    printf("generated cases failing their own checks: %u\n", failed);
    return failed ? 1 : 0;
}
