/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Background output for the VMA writer: one thread writes a full extent to
 * the archive while the caller reads and scans the clusters of the next one
 * into the other buffer. One job at a time, in order, so the archive's
 * bytes are the same as with plain writes.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "vma/vma_int.h"

static void *bgwrite_main(void *opaque)
{
    vma_bgwrite *b = opaque;

    pthread_mutex_lock(&b->lock);
    for (;;) {
        const uint8_t *buf;
        size_t len;
        int ret = 0;

        while (!b->job && !b->quit) {
            pthread_cond_wait(&b->cond, &b->lock);
        }
        if (!b->job) {
            break;
        }
        buf = b->job;
        len = b->job_len;
        pthread_mutex_unlock(&b->lock);
        if (!b->error) {               /* after a failure, jobs are dropped */
            ret = vma_write_all(b->fd, buf, len);
        }
        pthread_mutex_lock(&b->lock);
        if (ret < 0 && !b->error) {
            b->error = ret;
            b->error_at = b->job_at;
            b->error_len = len;
        }
        b->job = NULL;
        pthread_cond_broadcast(&b->cond);
    }
    pthread_mutex_unlock(&b->lock);
    return NULL;
}

int vma_bgwrite_start(vma_bgwrite *b, int fd)
{
    sigset_t all, old;
    int ret;

    memset(b, 0, sizeof(*b));
    b->fd = fd;
    if (pthread_mutex_init(&b->lock, NULL) != 0) {
        return -ENOMEM;
    }
    if (pthread_cond_init(&b->cond, NULL) != 0) {
        pthread_mutex_destroy(&b->lock);
        return -ENOMEM;
    }
    /* The thread takes no asynchronous signals: SIGINT and friends run the
     * cleanup handler on the caller's thread. SIGPIPE stays deliverable,
     * so a closed output pipe ends the process as it does without it. */
    sigfillset(&all);
    sigdelset(&all, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    ret = pthread_create(&b->thread, NULL, bgwrite_main, b);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (ret != 0) {
        pthread_cond_destroy(&b->cond);
        pthread_mutex_destroy(&b->lock);
        return -ret;
    }
    b->running = true;
    return 0;
}

/* Wait for the job in flight; b->lock held. */
static void wait_idle_locked(vma_bgwrite *b)
{
    while (b->job) {
        pthread_cond_wait(&b->cond, &b->lock);
    }
}

int vma_bgwrite_wait(vma_bgwrite *b)
{
    int error;

    pthread_mutex_lock(&b->lock);
    wait_idle_locked(b);
    error = b->error;
    pthread_mutex_unlock(&b->lock);
    return error;
}

int vma_bgwrite_submit(vma_bgwrite *b, const uint8_t *buf, size_t len, uint64_t at)
{
    int error;

    pthread_mutex_lock(&b->lock);
    wait_idle_locked(b);
    error = b->error;
    if (!error) {
        b->job = buf;
        b->job_len = len;
        b->job_at = at;
        pthread_cond_broadcast(&b->cond);
    }
    pthread_mutex_unlock(&b->lock);
    return error;
}

void vma_bgwrite_stop(vma_bgwrite *b)
{
    if (!b->running) {
        return;
    }
    pthread_mutex_lock(&b->lock);
    wait_idle_locked(b);
    b->quit = true;
    pthread_cond_broadcast(&b->cond);
    pthread_mutex_unlock(&b->lock);
    pthread_join(b->thread, NULL);
    pthread_cond_destroy(&b->cond);
    pthread_mutex_destroy(&b->lock);
    b->running = false;
}
