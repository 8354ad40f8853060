/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Removing the test directory on a fatal signal (see cleanup.h). Everything
 * the handler calls is async-signal-safe: openat, getdents64, unlinkat,
 * close, sigaction, raise. */
#include "harness/cleanup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static char watched[PATH_MAX];
static volatile sig_atomic_t watching;

struct linux_dirent64 {
    unsigned long long d_ino;
    long long d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

/* Remove name (relative to dirfd) and everything below it; depth-bounded
 * (a test directory holds images and extracted archives, never deep
 * trees). */
static void remove_at(int dirfd, const char *name, int depth)
{
    if (unlinkat(dirfd, name, 0) == 0 || (errno != EISDIR && errno != EPERM))
        return;
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return;
    char buf[2048] __attribute__((aligned(8)));
    for (;;) {
        long n = syscall(SYS_getdents64, fd, buf, sizeof(buf));
        if (n <= 0)
            break;
        for (long off = 0; off < n;) {
            struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + off);
            off += d->d_reclen;
            if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
                continue;
            if (d->d_type == DT_DIR && depth < 16)
                remove_at(fd, d->d_name, depth + 1);
            else
                unlinkat(fd, d->d_name, 0);
        }
    }
    close(fd);
    unlinkat(dirfd, name, AT_REMOVEDIR);
}

static void on_signal(int sig)
{
    int saved = errno;
    if (watching)
        remove_at(AT_FDCWD, watched, 0);
    watching = 0;
    /* SA_RESETHAND restored the default: die of this signal once it is
     * unblocked, when the handler returns */
    raise(sig);
    errno = saved;
}

void cleanup_install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGINT);
    sigaddset(&sa.sa_mask, SIGTERM);
    sigaddset(&sa.sa_mask, SIGHUP);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

void cleanup_watch(const char *dir)
{
    watching = 0;
    if (!dir || strlen(dir) >= sizeof(watched))
        return;
    strcpy(watched, dir);
    watching = 1;
}
