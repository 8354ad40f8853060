/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * casegen step kinds with several jobs or jobs driven by hand: backups of
 * several nodes in one transaction (grouped or individual completion),
 * a rate-limited backup paused, queried, cancelled or finalized and
 * dismissed verb by verb, drive-mirror to READY and its three endings, and
 * the x-perf options of a backup. Each step predicts what it can (bitmaps,
 * target contents) from the model in casegen_int.h; the transcript itself
 * is the backend's.
 */
#include "tools/casegen/casegen_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t cg_xperf(gen *g, sbuf *out, int parallel, uint64_t cs)
{
    int workers = parallel && cg_rchance(&g->r, 40) ? 2 + (int)cg_rbelow(&g->r, 15) : 1;
    uint64_t chunk = 0;
    sbuf_printf(out, "{\"max-workers\": %d", workers);
    if (workers > 1)
        cg_opt(g, "x-perf max-workers>1");
    if (cg_rchance(&g->r, 30)) {
        /* at least the job's cluster (backup_job_create refuses less) */
        static const uint64_t mult[] = { 1, 2, 3, 16, 64 };
        chunk = cs * mult[cg_rbelow(&g->r, 5)];
        sbuf_printf(out, ", \"max-chunk\": %llu", (unsigned long long)chunk);
        cg_opt(g, "x-perf max-chunk");
    }
    /* copy_range: blkdebug has none, and where an error is to land the
     * fallback path is not worth predicting */
    if (parallel && cg_rchance(&g->r, 25)) {
        int on = cg_rchance(&g->r, 50);
        sbuf_printf(out, ", \"use-copy-range\": %s", on ? "true" : "false");
        cg_opt(g, "x-perf use-copy-range=%s", on ? "true" : "false");
    }
    sbuf_adds(out, "}");
    return chunk;
}

/* sync and bitmap of a backup of drive0 (QEMU's legal combinations);
 * no_always: leave bitmap-mode always out (its result after a cancel
 * depends on how far the job got). */
typedef struct bk_choice {
    const char *sync, *mode;
    bitmap *b;
    int sync_bitmap;            /* the bitmap is synchronised when the job succeeds */
} bk_choice;

static void pick_backup(gen *g, bk_choice *c, int no_always)
{
    static const char *const syncs[] = { "full", "top", "bitmap", "incremental" };
    memset(c, 0, sizeof(*c));
    c->sync = syncs[cg_rbelow(&g->r, 4)];
    int need = !strcmp(c->sync, "bitmap") || !strcmp(c->sync, "incremental");
    if (need || (g->nbm && cg_rchance(&g->r, 50))) {
        c->b = cg_any_bitmap(g);
        if (!c->b)
            c->sync = "full";
    }
    if (!c->b)
        return;
    if (!strcmp(c->sync, "incremental")) {
        c->mode = cg_rchance(&g->r, 50) ? "on-success" : NULL;
    } else {
        static const char *const modes[] = { "on-success", "never", "always" };
        int n = !strcmp(c->sync, "bitmap") ? 3 : 2;
        c->mode = modes[cg_rbelow(&g->r, (uint64_t)n)];
        if (!strcmp(c->mode, "never") && strcmp(c->sync, "bitmap"))
            c->mode = "always";
        if (no_always && !strcmp(c->mode, "always"))
            c->mode = "on-success";
    }
    c->sync_bitmap = !c->mode || strcmp(c->mode, "never");
    cg_opt(g, "sync=%s bitmap-mode=%s", c->sync, c->mode ? c->mode : "(incremental)");
}

/* The named bitmap after the job (QEMU's backup_cleanup_sync_bitmap): a
 * success (or always) synchronises it to what was written since the job
 * started (nothing here), a failure leaves it; always after a failure adds
 * what the job had not copied. */
static void settle_bitmap(gen *g, const bk_choice *c, int ok, const uint8_t *init, size_t ncl,
                          uint64_t cs, size_t first_data)
{
    if (!c->b)
        return;
    int always = c->mode && !strcmp(c->mode, "always");
    if ((ok || always) && c->sync_bitmap) {
        memset(c->b->bits, 0, c->b->nbits);
        if (!ok)
            for (size_t k = first_data; k < ncl; k++)
                if (init[k])
                    cg_bits_dirty_range(c->b, k * cs, (k + 1) * cs > g->size ? g->size - k * cs : cs);
    }
}

/* A target's expected contents: the source now, on the clusters the job copies. */
static void expect_target(gen *g, const target *t, const char *sync, const uint8_t *init,
                          size_t ncl, uint64_t cs)
{
    uint8_t *keep = calloc(g->nclusters, 1);
    if (!keep)
        abort();
    for (size_t c = 0; c < ncl; c++)
        if (init[c])
            for (uint64_t s = c * cs / CLUSTER; s < g->nclusters && s * CLUSTER < (c + 1) * cs; s++)
                keep[s] = 1;
    char e[24];
    snprintf(e, sizeof(e), "e%s", t->name);
    cg_emit_expect_image(g, e, strcmp(sync, "full") ? keep : NULL);
    cg_line(g, "compare $%s $%s", t->name, e);
    free(keep);
}

/* A second source node beside drive0, with a few writes the case does not
 * model: its backups are checked against the node's own file. */
static void extra_source(gen *g, char *name, size_t namesz)
{
    snprintf(name, namesz, "s%d", g->next_id++);
    cg_line(g, "files %s", name);
    cg_line(g, "img_create $FMT $%s $SIZE", name);
    cg_line(g, "qmp_log blockdev-add {\"node-name\": \"%s\", \"driver\": $FMT, \"file\": "
               "{\"driver\": \"file\", \"filename\": $%s}}", name, name);
    int n = (int)cg_rbelow(&g->r, 3);
    for (int i = 0; i < n; i++) {
        uint64_t off, len;
        cg_pick_write(g, &off, &len, NULL, NULL, 0);
        cg_line(g, "hmp_io \"%s\" \"write -P 0x%02x 0x%llx 0x%llx\"", name,
                (unsigned)(1 + cg_rbelow(&g->r, 255)), (unsigned long long)off,
                (unsigned long long)len);
    }
}

/* Backups of drive0 and of one or two other nodes in one transaction.
 * Grouped: when drive0's job fails (a target write error), the others are
 * cancelled; individual: they go on. */
void cg_step_backup_group(gen *g)
{
    if (g->primed)
        return;     /* drive0's next read fails: not this step's subject */
    int njobs = 2 + (int)cg_rbelow(&g->r, 2);
    int grouped = cg_rchance(&g->r, 60);
    int fail = cg_rchance(&g->r, 35);
    /* a second backup of drive0; not with the failing target: real QEMU
     * then lands the one-shot write error in about half of its runs
     * (golden/FINDINGS.md) */
    int twice = !fail && cg_rchance(&g->r, 15);
    int autofin = cg_rchance(&g->r, 50);
    bk_choice c;
    pick_backup(g, &c, grouped && fail ? 0 : 0);
    char what[160];
    snprintf(what, sizeof(what), "%d backups in one transaction (%s%s%s)", njobs,
             grouped ? "grouped" : "individual", fail ? ", drive0's target fails" : "",
             twice ? ", drive0 twice" : "");
    cg_begin_step(g, what);
    cg_cmd(g, "transaction");
    cg_cmd(g, "blockdev-backup");
    cg_opt(g, "transaction: %d blockdev-backup, %s", njobs,
           grouped ? "completion-mode=grouped" : "individual");
    if (fail)
        cg_opt(g, "transaction: a job fails, %s", grouped ? "the others cancelled" : "the others go on");

    target t[3];
    char src[3][16];
    snprintf(src[0], sizeof(src[0]), "drive0");
    cg_emit_target(g, &t[0], fail);
    uint64_t cs = t[0].cluster > 65536 ? t[0].cluster : 65536;
    size_t ncl;
    uint8_t *init = cg_initial_copy_set(g, c.sync, c.b, cs, &ncl);
    sbuf perf = {0};
    uint64_t chunk = cg_xperf(g, &perf, !fail, cs);
    size_t first_data = cg_first_data_task(g, init, ncl, cs, chunk);
    if (fail && first_data == ncl)
        fail = 0;   /* nothing to write: nothing fails */
    /* drive0's job's error policy: ignore retries at once; stop and
     * enospc (the error is ENOSPC) pause the job until it is resumed,
     * then it retries; only report ends it (block_job_error_action) */
    const char *policy = NULL;
    int stopped = 0;
    if (fail && cg_rchance(&g->r, 60)) {
        static const char *const pol[] = { "report", "ignore", "stop", "enospc" };
        policy = pol[cg_rbelow(&g->r, 4)];
        cg_opt(g, "on-target-error=%s in a transaction", policy);
        if (strcmp(policy, "report")) {
            stopped = strcmp(policy, "ignore") != 0;
            fail = 0;
        }
    }
    const char *xsync[3] = { c.sync, NULL, NULL };
    for (int k = 1; k < njobs; k++) {
        if (twice && k == 1)
            snprintf(src[k], sizeof(src[k]), "drive0");  /* each job its own filter */
        else
            extra_source(g, src[k], sizeof(src[k]));
        cg_emit_target(g, &t[k], 0);
        xsync[k] = cg_rchance(&g->r, 50) ? "full" : "top";
    }
    sbuf acts = {0};
    char job[3][16];
    for (int k = 0; k < njobs; k++) {
        snprintf(job[k], sizeof(job[k]), "j%d", g->next_id++);
        sbuf_printf(&acts, "%s{\"type\": \"blockdev-backup\", \"data\": {\"device\": \"%s\", "
                    "\"target\": \"%s\", \"sync\": \"%s\", \"job-id\": \"%s\"",
                    k ? ", " : "", src[k], t[k].name, xsync[k], job[k]);
        if (!k && c.b)
            sbuf_printf(&acts, ", \"bitmap\": \"%s\"", c.b->name);
        if (!k && c.mode)
            sbuf_printf(&acts, ", \"bitmap-mode\": \"%s\"", c.mode);
        if (!k && policy)
            sbuf_printf(&acts, ", \"on-target-error\": \"%s\"", policy);
        if (!autofin)
            sbuf_adds(&acts, ", \"auto-finalize\": false");
        /* the jobs that drive0's failure cancels: held by a speed of
         * 1 byte/s after their first task, so how far they got when the
         * group is cancelled does not depend on timing (it did) */
        if (k && fail && grouped)
            sbuf_adds(&acts, ", \"speed\": 1, \"x-perf\": {\"max-workers\": 1}");
        if (!k)
            sbuf_printf(&acts, ", \"x-perf\": %s", sbuf_str(&perf));
        sbuf_adds(&acts, "}}");
    }
    sbuf_free(&perf);
    cg_line(g, "qmp_log transaction {\"actions\": [%s]%s}", sbuf_str(&acts),
            grouped ? ", \"properties\": {\"completion-mode\": \"grouped\"}" : "");
    sbuf_free(&acts);
    if (twice)
        cg_opt(g, "transaction: two backups of drive0");
    if (stopped) {
        cg_line(g, "event_wait \"BLOCK_JOB_ERROR\"");
        int blk = cg_rchance(&g->r, 50);
        cg_line(g, "qmp_log %s {\"%s\": \"%s\"}", blk ? "block-job-resume" : "job-resume",
                blk ? "device" : "id", job[0]);
        cg_opt(g, "resume a job stopped by its error policy");
    }
    {
        for (int k = 0; k < njobs; k++) {
            /* grouped: finalizing one job finalizes the group */
            int by_hand = !autofin && (!grouped || k == 0);
            cg_line(g, "run_job \"%s\" auto_finalize=%s auto_dismiss=true", job[k],
                    by_hand ? "false" : "true");
        }
        if (!autofin)
            cg_cmd(g, "job-finalize");
        settle_bitmap(g, &c, !fail, init, ncl, cs, first_data);
    }
    cg_emit_checks(g);
    cg_line(g, "blank");
    for (int k = 0; k < njobs; k++)
        cg_emit_target_del(g, &t[k]);
    for (int k = 1; k < njobs; k++)
        if (strcmp(src[k], "drive0"))
            cg_line(g, "qmp_log blockdev-del {\"node-name\": \"%s\"}", src[k]);
    if (!fail)
        expect_target(g, &t[0], c.sync, init, ncl, cs);
    for (int k = 1; k < njobs; k++) {
        if (fail && grouped)
            break;
        if (strcmp(src[k], "drive0")) {
            cg_line(g, "compare $%s $%s", t[k].name, src[k]);
            continue;
        }
        uint64_t cs2 = t[k].cluster > 65536 ? t[k].cluster : 65536;
        size_t n2;
        uint8_t *init2 = cg_initial_copy_set(g, xsync[k], NULL, cs2, &n2);
        expect_target(g, &t[k], xsync[k], init2, n2, cs2);
        free(init2);
    }
    cg_opt(g, "compare backup");
    cg_line(g, "blank");
    free(init);
}

/* A backup held back by a speed of 1 byte/s (its first task runs, the next
 * waits), paused, looked at, then cancelled, or let go and finalized and
 * dismissed by hand (auto-finalize and auto-dismiss off). */
void cg_step_job_manual(gen *g)
{
    if (g->primed)
        return;
    int cancel = cg_rchance(&g->r, 35);
    bk_choice c;
    pick_backup(g, &c, cancel);
    /* the job must still be running after its first task (at most 1 MiB,
     * then the speed holds it): more than 16 of 64 KiB clusters to copy */
    size_t n64, count = 0;
    uint8_t *set64 = cg_initial_copy_set(g, c.sync, c.b, 65536, &n64);
    for (size_t k = 0; k < n64; k++)
        count += set64[k];
    free(set64);
    if (count <= 16) {
        if (g->size <= (1u << 20))
            return;
        memset(&c, 0, sizeof(c));
        c.sync = "full";
    }
    char job[16];
    snprintf(job, sizeof(job), "j%d", g->next_id++);
    char what[160];
    snprintf(what, sizeof(what), "backup by hand: pause, %s (sync=%s bitmap=%s mode=%s)",
             cancel ? "cancel" : "finalize, dismiss", c.sync, c.b ? c.b->name : "-",
             c.mode ? c.mode : "-");
    cg_begin_step(g, what);
    target t;
    cg_emit_target(g, &t, 0);
    uint64_t cs = t.cluster > 65536 ? t.cluster : 65536;
    size_t ncl;
    uint8_t *init = cg_initial_copy_set(g, c.sync, c.b, cs, &ncl);
    sbuf a = {0};
    sbuf_printf(&a, "{\"device\": \"drive0\", \"target\": \"%s\", \"sync\": \"%s\", "
                "\"job-id\": \"%s\", \"speed\": 1, \"auto-finalize\": false, "
                "\"auto-dismiss\": false", t.name, c.sync, job);
    if (c.b)
        sbuf_printf(&a, ", \"bitmap\": \"%s\"", c.b->name);
    if (c.mode)
        sbuf_printf(&a, ", \"bitmap-mode\": \"%s\"", c.mode);
    sbuf_adds(&a, ", \"x-perf\": {\"max-workers\": 1}}");
    cg_line(g, "qmp_log blockdev-backup %s", sbuf_str(&a));
    sbuf_free(&a);
    cg_cmd(g, "blockdev-backup");
    cg_opt(g, "auto-dismiss=false");

    /* A pause sent right after the command can land before the job's
     * first task has started: real QEMU 7.2 then stays "running" with
     * nothing copied (a block-copy call cancelled before it began). One
     * read through drive0 first lets the first task run. */
    cg_line(g, "hmp_io \"drive0\" \"read 0 512\"");
    int blk = cg_rchance(&g->r, 50);
    cg_line(g, "qmp_log %s {\"%s\": \"%s\"}", blk ? "block-job-pause" : "job-pause",
            blk ? "device" : "id", job);
    cg_cmd(g, blk ? "block-job-pause" : "job-pause");
    /* the first "paused" is the drained section around the job's start */
    for (int i = 0; i < 2; i++)
        cg_line(g, "event_wait \"JOB_STATUS_CHANGE\" match={\"data\": {\"id\": \"%s\", "
                   "\"status\": \"paused\"}} quiet=true", job);
    if (cg_rchance(&g->r, 40)) {
        const char *q = cg_rchance(&g->r, 50) ? "query-jobs" : "query-block-jobs";
        cg_line(g, "qmp_log %s", q);
        cg_cmd(g, q);
        cg_opt(g, "%s while paused", q);
    }
    if (cg_rchance(&g->r, 40)) {
        /* verbs a paused job refuses (QEMU's JobVerbTable, job_user_pause) */
        static const char *const verbs[][2] = {
            { "job-pause", "id" }, { "job-finalize", "id" }, { "job-dismiss", "id" },
            { "job-complete", "id" }, { "block-job-finalize", "id" },
            { "block-job-dismiss", "id" },
        };
        size_t k = cg_rbelow(&g->r, 6);
        cg_line(g, "qmp_log %s {\"%s\": \"%s\"}", verbs[k][0], verbs[k][1], job);
        cg_cmd(g, verbs[k][0]);
        cg_opt(g, "%s while paused", verbs[k][0]);
    }
    if (cancel) {
        if (cg_rchance(&g->r, 30)) {
            /* qmp_block_job_cancel: a paused job needs force */
            cg_line(g, "qmp_log block-job-cancel {\"device\": \"%s\"}", job);
            cg_opt(g, "error: block-job-cancel of a paused job");
        }
        blk = cg_rchance(&g->r, 50);
        if (blk)
            cg_line(g, "qmp_log block-job-cancel {\"device\": \"%s\", \"force\": true}", job);
        else
            cg_line(g, "qmp_log job-cancel {\"id\": \"%s\"}", job);
        cg_cmd(g, blk ? "block-job-cancel" : "job-cancel");
        cg_opt(g, "cancel a paused job");
        cg_line(g, "run_job \"%s\" auto_finalize=false auto_dismiss=false", job);
        cg_cmd(g, "job-dismiss");
        settle_bitmap(g, &c, 0, init, ncl, cs, ncl);
        cg_emit_checks(g);
        cg_line(g, "blank");
        cg_emit_target_del(g, &t);
        cg_line(g, "blank");
        free(init);
        return;
    }
    cg_line(g, "qmp_log block-job-set-speed {\"device\": \"%s\", \"speed\": 0}", job);
    cg_cmd(g, "block-job-set-speed");
    blk = cg_rchance(&g->r, 50);
    cg_line(g, "qmp_log %s {\"%s\": \"%s\"}", blk ? "block-job-resume" : "job-resume",
            blk ? "device" : "id", job);
    cg_cmd(g, blk ? "block-job-resume" : "job-resume");
    cg_line(g, "event_wait \"BLOCK_JOB_PENDING\"");
    if (cg_rchance(&g->r, 40)) {
        cg_line(g, "qmp_log query-jobs");
        cg_cmd(g, "query-jobs");
        cg_opt(g, "query-jobs while pending");
    }
    blk = cg_rchance(&g->r, 30);
    cg_line(g, "qmp_log %s {\"id\": \"%s\"}", blk ? "block-job-finalize" : "job-finalize", job);
    cg_cmd(g, blk ? "block-job-finalize" : "job-finalize");
    cg_line(g, "event_wait \"BLOCK_JOB_COMPLETED\"");
    settle_bitmap(g, &c, 1, init, ncl, cs, ncl);
    if (cg_rchance(&g->r, 40)) {
        cg_line(g, "qmp_log query-jobs");
        cg_opt(g, "query-jobs while concluded");
    }
    if (cg_rchance(&g->r, 30)) {
        static const char *const verbs[] = { "job-cancel", "job-pause", "job-finalize" };
        const char *v = verbs[cg_rbelow(&g->r, 3)];
        cg_line(g, "qmp_log %s {\"id\": \"%s\"}", v, job);
        cg_opt(g, "%s while concluded", v);
    }
    blk = cg_rchance(&g->r, 30);
    cg_line(g, "qmp_log %s {\"id\": \"%s\"}", blk ? "block-job-dismiss" : "job-dismiss", job);
    cg_cmd(g, blk ? "block-job-dismiss" : "job-dismiss");
    if (cg_rchance(&g->r, 25)) {
        cg_line(g, "qmp_log job-dismiss {\"id\": \"%s\"}", job);
        cg_opt(g, "error: dismiss twice");
    }
    cg_emit_checks(g);
    cg_line(g, "blank");
    cg_emit_target_del(g, &t);
    expect_target(g, &t, c.sync, init, ncl, cs);
    cg_opt(g, "compare backup");
    cg_line(g, "blank");
    free(init);
}

/* drive-mirror of drive0 (sync full, a new target) or blockdev-mirror
 * (into an added node) to READY, maybe paused
 * there (standby) and resumed, then completed, cancelled softly (QEMU
 * completes without the switch) or cancelled hard with job-cancel: in
 * every case the target then holds the source as it stands. */
void cg_step_mirror(gen *g)
{
    if (g->blkdebug)
        return;     /* the mirror's reads would meet blkdebug's armed error */
    /* blockdev-mirror: into a node added here, which it zeroes first
     * (sync full), so it copies the whole image */
    int bdev = cg_rchance(&g->r, 50);
    cg_begin_step(g, bdev ? "blockdev-mirror" : "drive-mirror");
    char tname[16], job[16];
    snprintf(tname, sizeof(tname), "m%d", g->next_id++);
    snprintf(job, sizeof(job), "mj%d", g->next_id++);
    cg_line(g, "files %s", tname);
    if (bdev) {
        cg_line(g, "img_create $FMT $%s $SIZE", tname);
        cg_line(g, "qmp_log blockdev-add {\"node-name\": \"%s\", \"driver\": $FMT, \"file\": "
                   "{\"driver\": \"file\", \"filename\": $%s}}", tname, tname);
        cg_line(g, "qmp_log blockdev-mirror {\"device\": \"drive0\", \"target\": \"%s\", "
                   "\"sync\": \"full\", \"job-id\": \"%s\"}", tname, job);
        cg_cmd(g, "blockdev-mirror");
    } else {
        cg_line(g, "qmp_log drive-mirror {\"device\": \"drive0\", \"target\": $%s, "
                   "\"format\": $FMT, \"sync\": \"full\", \"job-id\": \"%s\"}", tname, job);
        cg_cmd(g, "drive-mirror");
    }
    cg_line(g, "event_wait \"BLOCK_JOB_READY\"");
    if (cg_rchance(&g->r, 40)) {
        cg_line(g, "qmp_log query-block-jobs");
        cg_cmd(g, "query-block-jobs");
        cg_opt(g, "query-block-jobs of a ready mirror");
    }
    if (cg_rchance(&g->r, 30)) {
        cg_line(g, "qmp_log job-pause {\"id\": \"%s\"}", job);
        cg_line(g, "event_wait \"JOB_STATUS_CHANGE\" match={\"data\": {\"id\": \"%s\", "
                   "\"status\": \"standby\"}} quiet=true", job);
        cg_line(g, "qmp_log job-resume {\"id\": \"%s\"}", job);
        cg_line(g, "event_wait \"JOB_STATUS_CHANGE\" match={\"data\": {\"id\": \"%s\", "
                   "\"status\": \"ready\"}} quiet=true", job);
        cg_opt(g, "mirror paused in ready (standby)");
    }
    switch (cg_rbelow(&g->r, 3)) {
    case 0:
        if (cg_rchance(&g->r, 50)) {
            cg_line(g, "qmp_log job-complete {\"id\": \"%s\"}", job);
            cg_cmd(g, "job-complete");
        } else {
            cg_line(g, "qmp_log block-job-complete {\"device\": \"%s\"}", job);
            cg_cmd(g, "block-job-complete");
        }
        cg_line(g, "event_wait \"BLOCK_JOB_COMPLETED\"");
        cg_opt(g, "mirror completed");
        break;
    case 1:
        cg_line(g, "qmp_log block-job-cancel {\"device\": \"%s\"}", job);
        cg_cmd(g, "block-job-cancel");
        cg_line(g, "event_wait \"BLOCK_JOB_COMPLETED\"");
        cg_opt(g, "mirror cancelled in ready (soft)");
        break;
    default:
        cg_line(g, "qmp_log job-cancel {\"id\": \"%s\"}", job);
        cg_cmd(g, "job-cancel");
        cg_line(g, "event_wait \"BLOCK_JOB_CANCELLED\"");
        cg_opt(g, "mirror cancelled in ready (job-cancel)");
        break;
    }
    cg_line(g, "event_wait \"JOB_STATUS_CHANGE\" match={\"data\": {\"id\": \"%s\", "
               "\"status\": \"null\"}} quiet=true", job);
    cg_emit_checks(g);
    if (bdev)
        cg_line(g, "qmp_log blockdev-del {\"node-name\": \"%s\"}", tname);
    char e[24];
    snprintf(e, sizeof(e), "e%s", tname);
    cg_emit_expect_image(g, e, NULL);
    cg_line(g, "compare $%s $%s", tname, e);
    cg_opt(g, "compare mirror target");
    cg_line(g, "blank");
}
