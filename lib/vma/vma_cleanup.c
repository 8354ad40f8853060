// SPDX-License-Identifier: GPL-2.0-or-later
/* The registry of paths to remove when `vma` is interrupted by a signal
 * (see vma_cleanup.h). The handler only calls unlink, rmdir, sigaction and
 * raise, which are async-signal-safe; changes to the registry block the
 * signals so the handler never sees a half-made entry. */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vma/vma_cleanup.h"

/* 254 devices (plus their renamed names), 256 configs, vmstate, dir. */
#define MAX_ENTRIES 1024

static struct {
    char *path;
    bool is_dir;
} entries[MAX_ENTRIES];
static volatile sig_atomic_t used;      /* entries[0..used) may be set */
static bool installed;

static const int signals[] = { SIGINT, SIGTERM, SIGHUP };

static void block(sigset_t *old)
{
    sigset_t set;

    sigemptyset(&set);
    for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
        sigaddset(&set, signals[i]);
    }
    pthread_sigmask(SIG_BLOCK, &set, old);
}

static void unblock(const sigset_t *old)
{
    pthread_sigmask(SIG_SETMASK, old, NULL);
}

static void on_signal(int sig)
{
    struct sigaction dfl;

    for (int i = (int)used - 1; i >= 0; i--) {
        if (entries[i].path) {
            if (entries[i].is_dir) {
                rmdir(entries[i].path);
            } else {
                unlink(entries[i].path);
            }
        }
    }
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, NULL);
    raise(sig);
}

void vma_cleanup_install(void)
{
    struct sigaction sa;

    if (installed) {
        return;
    }
    installed = true;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
        sigaddset(&sa.sa_mask, signals[i]);
    }
    for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
        struct sigaction old;

        /* A signal the caller ignores (nohup) stays ignored. */
        if (sigaction(signals[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN) {
            continue;
        }
        sigaction(signals[i], &sa, NULL);
    }
}

int vma_cleanup_add(const char *path, bool is_dir)
{
    char *copy = strdup(path);
    sigset_t old;
    int handle = -1;

    if (!copy) {
        return -1;
    }
    block(&old);
    if (used < MAX_ENTRIES) {
        handle = (int)used;
        entries[handle].is_dir = is_dir;
        entries[handle].path = copy;
        used = handle + 1;
    }
    unblock(&old);
    if (handle < 0) {
        free(copy);
    }
    return handle;
}

static char *take(int handle)
{
    sigset_t old;
    char *path = NULL;

    if (handle < 0 || handle >= MAX_ENTRIES) {
        return NULL;
    }
    block(&old);
    path = entries[handle].path;
    entries[handle].path = NULL;
    while (used > 0 && !entries[used - 1].path) {
        used--;
    }
    unblock(&old);
    return path;
}

void vma_cleanup_forget(int handle)
{
    free(take(handle));
}

void vma_cleanup_remove(int handle)
{
    bool is_dir = handle >= 0 && handle < MAX_ENTRIES && entries[handle].is_dir;
    char *path = take(handle);

    if (path) {
        if (is_dir) {
            rmdir(path);
        } else {
            unlink(path);
        }
        free(path);
    }
}
