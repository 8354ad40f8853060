// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Backup job: seeding, steps, progress, and what happens to the named bitmap
 * for every sync mode x bitmap mode x outcome. Expectations are derived here
 * with plain set arithmetic over clusters, from what the fake I/O saw:
 *   S = clusters the job set out to copy (by sync mode),
 *   C = clusters written to the target,
 *   W = clusters the guest wrote during the job,
 *   B = the named bitmap's bits at the start,
 * success: on-success/always -> W, never -> B u W;
 * failure/cancel: on-success/never -> B u W, always -> W u (S \ C).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "fake_io.h"

#define KiB 1024ULL
#define MiB (1024 * KiB)
#define CL (64 * KiB)
#define NCL 21                          /* clusters; the last one is partial */
#define SIZE (20 * CL + 32 * KiB)
#define FAIL_CLUSTER 9

typedef enum outcome { OUT_SUCCESS, OUT_FAILURE, OUT_CANCEL } outcome;

static const char *const outcome_names[] = { "success", "failure", "cancel" };

typedef bool cluster_set[NCL];

static const int named_bits[] = { 1, 2, 5, 9, 20 };
static const int top_allocated[] = { 0, 1, 5, 6, 7, 9, 20 };

static void set_add_range(cluster_set s, uint64_t off, uint64_t len)
{
    for (uint64_t c = off / CL; c <= (off + len - 1) / CL; c++) {
        s[c] = true;
    }
}

static fake_disk *scenario_disk(void)
{
    fake_disk *d = fake_new(SIZE);

    for (size_t i = 0; i < sizeof(top_allocated) / sizeof(top_allocated[0]); i++) {
        uint64_t c = (uint64_t)top_allocated[i];

        fake_mark(d->top, c * CL, c == NCL - 1 ? 512 : CL, 1);
    }
    fake_mark(d->top, 12 * CL, 4 * KiB, 1);   /* partly allocated: counts as allocated */
    fake_make_zero(d, 16 * CL, 2 * CL);       /* a zero run: written without a read */
    return d;
}

typedef struct scenario {
    fake_disk *d;
    cl_backup *job;
    cl_bitmap *named;
    cluster_set written;    /* W */
} scenario;

/* A guest write through the filter; recorded only if it went through. */
static void guest_write(scenario *sc, uint64_t off, uint64_t len)
{
    cl_copy_failure fail = { 0 };
    cl_bitmap *succ = cl_backup_successor(sc->job);

    if (cl_cbw_before_write(cl_backup_cbw(sc->job), off, len, &fail) < 0) {
        return;
    }
    memset(sc->d->src + off, 0xab, len);
    fake_mark(sc->d->top, off / FAKE_SECTOR * FAKE_SECTOR,
              (off + len + FAKE_SECTOR - 1) / FAKE_SECTOR * FAKE_SECTOR -
              off / FAKE_SECTOR * FAKE_SECTOR, 1);
    fake_mark(sc->d->zero, off / FAKE_SECTOR * FAKE_SECTOR,
              (off + len + FAKE_SECTOR - 1) / FAKE_SECTOR * FAKE_SECTOR -
              off / FAKE_SECTOR * FAKE_SECTOR, 0);
    if (sc->named) {
        cl_bitmap_record_write(sc->named, off, len);   /* frozen: must not record */
        cl_bitmap_record_write(succ, off, len);
    }
    set_add_range(sc->written, off, len);
}

static void later_writes(scenario *sc, outcome out)
{
    guest_write(sc, 6 * CL + 10, 10);
    guest_write(sc, 15 * CL, CL);
    if (out == OUT_CANCEL) {
        cl_backup_cancel(sc->job);
    }
}

static void run_scenario(cl_sync sync, bool with_bitmap, cl_bitmap_mode mode, outcome out)
{
    scenario sc = { 0 };
    cl_backup_config cfg = { 0 };
    cl_copy_failure fail = { 0 };
    cl_bitmap *lives_on, *release = NULL;
    cl_step_result r;
    cluster_set seed = { 0 }, named_start = { 0 }, copied = { 0 }, expect = { 0 };
    uint8_t *snapshot;
    bool later_done = false;
    int nsteps = 0, ret;
    cl_bitmap_mode eff_mode = sync == CL_SYNC_INCREMENTAL ? CL_BITMAP_ON_SUCCESS : mode;
    uint64_t remaining = 0;
    char what[96];

    snprintf(what, sizeof(what), "sync %s, %s%s, %s", cl_sync_name(sync),
             with_bitmap ? "bitmap-mode " : "no bitmap",
             with_bitmap ? cl_bitmap_mode_name(mode) : "", outcome_names[out]);
    sc.d = scenario_disk();
    snapshot = malloc(SIZE);
    memcpy(snapshot, sc.d->src, SIZE);

    if (with_bitmap) {
        sc.named = cl_bitmap_new(SIZE, CL, NULL);
        for (size_t i = 0; i < sizeof(named_bits) / sizeof(named_bits[0]); i++) {
            cl_bitmap_set(sc.named, (uint64_t)named_bits[i] * CL, 1, NULL);
            named_start[named_bits[i]] = true;
        }
    }
    /* S: what the job sets out to copy */
    for (int c = 0; c < NCL; c++) {
        switch (sync) {
        case CL_SYNC_FULL:
        case CL_SYNC_NONE:
            seed[c] = true;
            break;
        case CL_SYNC_TOP:
            seed[c] = sc.d->top[c * CL / FAKE_SECTOR] || c == 12;
            break;
        case CL_SYNC_BITMAP:
        case CL_SYNC_INCREMENTAL:
            seed[c] = named_start[c];
            break;
        }
    }

    cfg.sync = sync;
    cfg.bitmap = sc.named;
    cfg.bitmap_mode = mode;
    cfg.size = SIZE;
    cfg.cluster_size = CL;
    cfg.max_chunk = 4 * CL;
    cfg.io = fake_io(sc.d, true, true);
    sc.job = cl_backup_new(&cfg, NULL);
    assert_non_null(sc.job);
    if (with_bitmap) {
        assert_true(cl_bitmap_busy(sc.named));
        assert_true(cl_bitmap_recording(sc.named));
        assert_non_null(cl_backup_successor(sc.job));
        assert_ptr_equal(cl_bitmap_successor(sc.named), cl_backup_successor(sc.job));
    } else {
        assert_null(cl_backup_successor(sc.job));
    }
    /* len before the first step: top still counts every cluster */
    {
        uint64_t n = 0;

        for (int c = 0; c < NCL; c++) {
            n += sync == CL_SYNC_TOP ? 1 : seed[c];
        }
        assert_int_equal(cl_backup_len(sc.job), n * CL);
        assert_int_equal(cl_backup_offset(sc.job), 0);
    }

    if (out == OUT_FAILURE) {
        /* the job fails reading FAIL_CLUSTER; with sync none only a guest
         * write can fail, so make the copy-out for cluster 15 fail */
        uint64_t bad = sync == CL_SYNC_NONE ? 15 : FAIL_CLUSTER;

        sc.d->read_fault = (fake_fault){ bad * CL, CL, -EIO, -1 };
    }

    guest_write(&sc, 2 * CL + 100, 1000);
    for (;;) {
        if (nsteps == 2 && !later_done) {
            later_writes(&sc, out);
            later_done = true;
        }
        r = cl_backup_step(sc.job, &fail);
        nsteps++;
        if (r != CL_STEP_MORE) {
            break;
        }
    }
    if (!later_done) {
        later_writes(&sc, out);
        if (out == OUT_CANCEL) {
            r = cl_backup_step(sc.job, &fail);
        }
    }
    switch (out) {
    case OUT_SUCCESS:
        /* sync none never ends by itself: its owner ends it, here with success */
        if (sync == CL_SYNC_NONE) {
            assert_int_equal(r, CL_STEP_IDLE);
            assert_int_equal(cl_backup_step(sc.job, &fail), CL_STEP_IDLE);
            ret = 0;
            break;
        }
        assert_int_equal(r, CL_STEP_DONE);
        assert_int_equal(cl_backup_step(sc.job, &fail), CL_STEP_DONE);
        ret = 0;
        break;
    case OUT_FAILURE:
        if (sync != CL_SYNC_NONE) {
            assert_int_equal(r, CL_STEP_FAILED);
            assert_int_equal(fail.ret, -EIO);
            assert_true(fail.is_read);
        }
        ret = -EIO;
        break;
    default:
        assert_int_equal(r, CL_STEP_CANCELLED);
        ret = -ECANCELED;
        break;
    }

    /* C: what reached the target; every copied cluster is point-in-time */
    for (int i = 0; i < sc.d->nlog; i++) {
        const fake_op *o = &sc.d->log[i];

        if ((o->op == 'W' || o->op == 'Z') && o->ret == 0) {
            set_add_range(copied, o->off, o->len);
        }
    }
    for (int c = 0; c < NCL; c++) {
        uint64_t len = c == NCL - 1 ? SIZE - (uint64_t)c * CL : CL;

        if (copied[c] && memcmp(snapshot + c * CL, sc.d->dst + c * CL, len) != 0) {
            fail_msg("%s: cluster %d on the target is not the point-in-time data", what, c);
        }
        if (seed[c] && !copied[c]) {
            remaining++;
        }
        if (copied[c] && !seed[c]) {
            fail_msg("%s: cluster %d was copied but never meant to be", what, c);
        }
    }
    if (out == OUT_SUCCESS && sync != CL_SYNC_NONE) {
        assert_int_equal(remaining, 0);
    }
    /* progress: offset = copied clusters, len = offset + what is left */
    {
        uint64_t n = 0;

        for (int c = 0; c < NCL; c++) {
            n += copied[c];
        }
        assert_int_equal(cl_backup_offset(sc.job), n * CL);
        assert_int_equal(cl_backup_len(sc.job), (n + remaining) * CL);
        assert_int_equal(cl_bitmap_count(cl_copy_bitmap(cl_backup_copy(sc.job))), remaining);
    }

    lives_on = cl_backup_finish(sc.job, ret, &release);
    assert_null(cl_backup_successor(sc.job));
    if (!with_bitmap) {
        assert_null(lives_on);
        assert_null(release);
    } else {
        bool synced;

        assert_non_null(lives_on);
        assert_non_null(release);
        assert_ptr_not_equal(lives_on, release);
        assert_false(cl_bitmap_busy(lives_on));
        assert_null(cl_bitmap_successor(lives_on));
        assert_true(cl_bitmap_enabled(lives_on));
        synced = lives_on != sc.named;
        for (int c = 0; c < NCL; c++) {
            if (ret == 0) {
                expect[c] = eff_mode == CL_BITMAP_NEVER ? named_start[c] || sc.written[c]
                                                        : sc.written[c];
            } else {
                expect[c] = eff_mode == CL_BITMAP_ALWAYS
                                ? sc.written[c] || (seed[c] && !copied[c])
                                : named_start[c] || sc.written[c];
            }
            if (cl_bitmap_get(lives_on, (uint64_t)c * CL) != expect[c]) {
                fail_msg("%s: cluster %d of the bitmap: got %d, want %d", what, c,
                         cl_bitmap_get(lives_on, (uint64_t)c * CL), expect[c]);
            }
        }
        /* the successor replaces the bitmap exactly when it is synced */
        assert_int_equal(synced, (ret == 0 || eff_mode == CL_BITMAP_ALWAYS) &&
                                 eff_mode != CL_BITMAP_NEVER);
        cl_bitmap_free(release);
        cl_bitmap_free(lives_on);
        /* a second finish has nothing left to do */
        assert_null(cl_backup_finish(sc.job, ret, &release));
        assert_null(release);
    }
    cl_backup_free(sc.job);
    free(snapshot);
    fake_free(sc.d);
}

static void test_matrix(void **state)
{
    static const cl_sync syncs[] = { CL_SYNC_FULL, CL_SYNC_TOP, CL_SYNC_BITMAP,
                                     CL_SYNC_INCREMENTAL, CL_SYNC_NONE };
    static const cl_bitmap_mode modes[] = { CL_BITMAP_ON_SUCCESS, CL_BITMAP_NEVER,
                                            CL_BITMAP_ALWAYS };

    for (size_t s = 0; s < 5; s++) {
        for (int o = OUT_SUCCESS; o <= OUT_CANCEL; o++) {
            for (size_t m = 0; m < 3; m++) {
                run_scenario(syncs[s], true, modes[m], (outcome)o);
            }
            if (syncs[s] != CL_SYNC_BITMAP && syncs[s] != CL_SYNC_INCREMENTAL) {
                run_scenario(syncs[s], false, CL_BITMAP_ON_SUCCESS, (outcome)o);
            }
        }
    }
}

/* Worked example: sync full, always, failure = successor + every uncopied
 * cluster, spelled out by hand. */
static void test_full_always_failure_by_hand(void **state)
{
    fake_disk *d = fake_new(8 * CL);
    cl_bitmap *named = cl_bitmap_new(8 * CL, CL, NULL);
    cl_backup_config cfg = {
        .sync = CL_SYNC_FULL, .bitmap = named, .bitmap_mode = CL_BITMAP_ALWAYS,
        .size = 8 * CL, .cluster_size = CL, .max_chunk = 2 * CL,
        .io = fake_io(d, false, true),
    };
    cl_backup *job;
    cl_bitmap *bm, *release;
    cl_copy_failure fail;

    cl_bitmap_set(named, 0, 8 * CL, NULL);
    job = cl_backup_new(&cfg, NULL);
    d->read_fault = (fake_fault){ 4 * CL, 1, -EIO, -1 };
    assert_int_equal(cl_backup_step(job, &fail), CL_STEP_MORE);     /* 0-1 */
    cl_bitmap_record_write(cl_backup_successor(job), 7 * CL, 1);    /* a write during the job */
    assert_int_equal(cl_backup_step(job, &fail), CL_STEP_MORE);     /* 2-3 */
    assert_int_equal(cl_backup_step(job, &fail), CL_STEP_FAILED);   /* 4-5 fails */
    assert_int_equal(cl_backup_len(job), 8 * CL);
    assert_int_equal(cl_backup_offset(job), 4 * CL);
    bm = cl_backup_finish(job, -EIO, &release);
    assert_ptr_equal(release, named);
    /* clusters 4..7 were never copied; 7 was also written */
    assert_int_equal(cl_bitmap_count(bm), 4);
    assert_int_equal(cl_bitmap_next_dirty(bm, 0, 0), 4 * CL);
    cl_bitmap_free(release);
    cl_bitmap_free(bm);
    cl_backup_free(job);
    fake_free(d);
}

/* A named bitmap finer and coarser than the cluster. */
static void test_bitmap_granularities(void **state)
{
    fake_disk *d = fake_new(SIZE);
    cl_bitmap *fine = cl_bitmap_new(SIZE, 32 * KiB, NULL);
    cl_backup_config cfg = {
        .sync = CL_SYNC_BITMAP, .bitmap = fine, .bitmap_mode = CL_BITMAP_ALWAYS,
        .size = SIZE, .cluster_size = CL, .io = fake_io(d, false, true),
    };
    cl_backup *job;
    cl_bitmap *bm, *release, *coarse;
    cl_copy_failure fail;

    cl_bitmap_set(fine, 3 * 32 * KiB, 1, NULL);        /* second half of cluster 1 */
    cl_bitmap_set(fine, 4 * 32 * KiB, 2 * 32 * KiB, NULL);   /* all of cluster 2 */
    cl_bitmap_set(fine, 40 * 32 * KiB, 1, NULL);       /* the partial last cluster */
    job = cl_backup_new(&cfg, NULL);
    assert_int_equal(cl_bitmap_granularity(cl_backup_successor(job)), 32 * KiB);
    assert_int_equal(cl_backup_len(job), 3 * CL);      /* rounded out to clusters */
    d->read_fault = (fake_fault){ 2 * CL, 1, -EIO, -1 };
    assert_int_equal(cl_backup_step(job, &fail), CL_STEP_FAILED);   /* clusters 1-2 */
    bm = cl_backup_finish(job, -EIO, &release);
    /* always: the uncopied clusters come back whole, at the bitmap's granularity */
    assert_int_equal(cl_bitmap_count(bm), 2 + 2 + 1);
    assert_true(cl_bitmap_get(bm, 2 * 32 * KiB));
    assert_true(cl_bitmap_get(bm, 20 * CL));
    cl_bitmap_free(release);
    cl_bitmap_free(bm);
    cl_backup_free(job);

    coarse = cl_bitmap_new(SIZE, 128 * KiB, NULL);
    cl_bitmap_set(coarse, 128 * KiB, 1, NULL);
    cfg.bitmap = coarse;
    cfg.bitmap_mode = CL_BITMAP_ON_SUCCESS;
    job = cl_backup_new(&cfg, NULL);
    assert_int_equal(cl_backup_len(job), 2 * CL);      /* one bit = two clusters */
    cl_backup_free(job);                                /* never finished: reclaimed */
    assert_false(cl_bitmap_busy(coarse));
    assert_int_equal(cl_bitmap_count(coarse), 1);
    assert_true(cl_bitmap_enabled(coarse));
    cl_bitmap_free(coarse);
    fake_free(d);
}

static void test_new_errors(void **state)
{
    fake_disk *d = fake_new(SIZE);
    cl_bitmap *named = cl_bitmap_new(SIZE, CL, NULL);
    cl_bitmap *small = cl_bitmap_new(SIZE - 512, CL, NULL);
    cl_backup_config cfg = {
        .sync = CL_SYNC_BITMAP, .bitmap = NULL, .bitmap_mode = CL_BITMAP_ON_SUCCESS,
        .size = SIZE, .cluster_size = CL, .io = fake_io(d, false, true),
    };
    cl_error err = { 0 };
    cl_bitmap *succ;
    cl_backup *job;

    assert_null(cl_backup_new(NULL, &err));
    assert_int_equal(err.code, -EINVAL);
    assert_null(cl_backup_new(&cfg, &err));
    assert_non_null(strstr(err.msg, "bitmap"));
    cfg.sync = CL_SYNC_INCREMENTAL;
    assert_null(cl_backup_new(&cfg, &err));
    assert_non_null(strstr(err.msg, "incremental"));
    cfg.bitmap = small;
    assert_null(cl_backup_new(&cfg, &err));
    assert_non_null(strstr(err.msg, "bytes"));
    cfg.bitmap = named;
    cfg.sync = (cl_sync)42;
    assert_null(cl_backup_new(&cfg, &err));
    assert_non_null(strstr(err.msg, "sync"));
    cfg.sync = CL_SYNC_BITMAP;
    cfg.bitmap_mode = (cl_bitmap_mode)42;
    assert_null(cl_backup_new(&cfg, &err));
    assert_non_null(strstr(err.msg, "bitmap mode"));
    cfg.bitmap_mode = CL_BITMAP_ON_SUCCESS;
    cfg.cluster_size = 1000;
    assert_null(cl_backup_new(&cfg, &err));
    assert_non_null(strstr(err.msg, "cluster size"));
    assert_false(cl_bitmap_busy(named));
    cfg.cluster_size = CL;
    cfg.io.read = NULL;
    assert_null(cl_backup_new(&cfg, &err));
    cfg.io = fake_io(d, false, true);

    succ = cl_bitmap_freeze(named, NULL);
    err.code = 0;
    assert_null(cl_backup_new(&cfg, &err));
    assert_int_equal(err.code, -EBUSY);
    cl_bitmap_reclaim(named);
    cl_bitmap_free(succ);

    /* incremental ignores the mode and behaves as on-success */
    cfg.sync = CL_SYNC_INCREMENTAL;
    cfg.bitmap_mode = CL_BITMAP_NEVER;
    cl_bitmap_set(named, 0, 1, NULL);
    job = cl_backup_new(&cfg, NULL);
    assert_non_null(job);
    while (cl_backup_step(job, NULL) == CL_STEP_MORE) {
    }
    {
        cl_bitmap *release;
        cl_bitmap *bm = cl_backup_finish(job, 0, &release);

        assert_ptr_equal(release, named);
        assert_int_equal(cl_bitmap_count(bm), 0);
        cl_bitmap_free(bm);
    }
    cl_backup_free(job);
    cl_backup_free(NULL);
    cl_bitmap_free(named);
    cl_bitmap_free(small);
    fake_free(d);
}

static void test_finish_without_release_pointer(void **state)
{
    fake_disk *d = fake_new(SIZE);
    cl_bitmap *named = cl_bitmap_new(SIZE, CL, NULL);
    cl_backup_config cfg = {
        .sync = CL_SYNC_FULL, .bitmap = named, .bitmap_mode = CL_BITMAP_NEVER,
        .size = SIZE, .cluster_size = CL, .io = fake_io(d, false, true),
    };
    cl_backup *job = cl_backup_new(&cfg, NULL);
    cl_bitmap *succ = cl_backup_successor(job);

    cl_bitmap_record_write(succ, 0, 1);
    assert_ptr_equal(cl_backup_finish(job, 0, NULL), named);   /* never: reclaimed */
    assert_int_equal(cl_bitmap_count(named), 1);
    cl_bitmap_free(succ);
    cl_backup_free(job);
    cl_bitmap_free(named);
    fake_free(d);
}

/* A caller that frees the successor itself before freeing the job. */
static void test_free_after_caller_freed_successor(void **state)
{
    fake_disk *d = fake_new(SIZE);
    cl_bitmap *named = cl_bitmap_new(SIZE, CL, NULL);
    cl_backup_config cfg = {
        .sync = CL_SYNC_FULL, .bitmap = named, .bitmap_mode = CL_BITMAP_ON_SUCCESS,
        .size = SIZE, .cluster_size = CL, .io = fake_io(d, false, true),
    };
    cl_backup *job = cl_backup_new(&cfg, NULL);

    cl_bitmap_free(cl_backup_successor(job));
    cl_backup_free(job);                 /* must not free it again */
    assert_null(cl_bitmap_successor(named));
    cl_bitmap_free(named);
    fake_free(d);
}

static void test_top_pass_failure(void **state)
{
    fake_disk *d = fake_new(SIZE);
    cl_backup_config cfg = {
        .sync = CL_SYNC_TOP, .size = SIZE, .cluster_size = CL, .io = fake_io(d, true, true),
    };
    cl_backup *job = cl_backup_new(&cfg, NULL);
    cl_copy_failure fail = { 0 };

    assert_true(cl_copy_skip_unallocated(cl_backup_copy(job)));
    assert_true(cl_backup_top_pass_pending(job));
    d->status_err = -EIO;
    assert_int_equal(cl_backup_step(job, &fail), CL_STEP_FAILED);
    assert_int_equal(fail.ret, -EIO);
    assert_true(cl_backup_top_pass_pending(job));                 /* still to do */
    d->status_err = 0;
    assert_int_equal(cl_backup_step(job, &fail), CL_STEP_MORE);   /* the pass again */
    assert_false(cl_backup_top_pass_pending(job));
    assert_false(cl_copy_skip_unallocated(cl_backup_copy(job)));
    assert_int_equal(cl_backup_len(job), 0);                      /* nothing allocated */
    assert_int_equal(cl_backup_step(job, &fail), CL_STEP_DONE);
    assert_int_equal(cl_backup_step(job, NULL), CL_STEP_DONE);
    cl_backup_free(job);
    fake_free(d);
}

static void test_names(void **state)
{
    static const char *const syncs[] = { "full", "top", "bitmap", "incremental", "none" };
    static const char *const modes[] = { "on-success", "never", "always" };
    cl_sync s = CL_SYNC_NONE;
    cl_bitmap_mode m = CL_BITMAP_ALWAYS;

    for (int i = 0; i < 5; i++) {
        assert_string_equal(cl_sync_name((cl_sync)i), syncs[i]);
        assert_int_equal(cl_sync_parse(syncs[i], &s), 0);
        assert_int_equal(s, i);
    }
    for (int i = 0; i < 3; i++) {
        assert_string_equal(cl_bitmap_mode_name((cl_bitmap_mode)i), modes[i]);
        assert_int_equal(cl_bitmap_mode_parse(modes[i], &m), 0);
        assert_int_equal(m, i);
    }
    assert_null(cl_sync_name((cl_sync)5));
    assert_null(cl_sync_name((cl_sync)-1));
    assert_null(cl_bitmap_mode_name((cl_bitmap_mode)3));
    s = CL_SYNC_TOP;
    assert_int_equal(cl_sync_parse("Full", &s), -EINVAL);
    assert_int_equal(s, CL_SYNC_TOP);
    assert_int_equal(cl_sync_parse(NULL, &s), -EINVAL);
    assert_int_equal(cl_bitmap_mode_parse("on_success", &m), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matrix),
        cmocka_unit_test(test_full_always_failure_by_hand),
        cmocka_unit_test(test_bitmap_granularities),
        cmocka_unit_test(test_new_errors),
        cmocka_unit_test(test_finish_without_release_pointer),
        cmocka_unit_test(test_free_after_caller_freed_successor),
        cmocka_unit_test(test_top_pass_failure),
        cmocka_unit_test(test_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
