/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Running tools from a case: the project's vma, and the client programs
 * (qemu-img, qemu-io, nbdinfo) that talk to a VM's NBD export. */
#include "harness/tool_run.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness/backend.h"

/* The client programs a case may run, found on PATH (or $BLOCKSIM_<NAME>,
 * e.g. BLOCKSIM_QEMU_IMG). */
static const char *const client_tools[][2] = {
    { "qemu-img", "BLOCKSIM_QEMU_IMG" },
    { "qemu-io", "BLOCKSIM_QEMU_IO" },
    { "nbdinfo", "BLOCKSIM_NBDINFO" },
    { "qemu-nbd", "BLOCKSIM_QEMU_NBD" },    /* its -L export listing */
};

static char *path_search(const char *name)
{
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    for (const char *p = path; *p;) {
        const char *colon = strchr(p, ':');
        size_t n = colon ? (size_t)(colon - p) : strlen(p);
        char *cand = NULL;
        if (asprintf(&cand, "%.*s/%s", (int)n, p, name) < 0)
            abort();
        if (n && access(cand, X_OK) == 0)
            return cand;
        free(cand);
        p += n + (colon ? 1 : 0);
    }
    return NULL;
}

char *tool_path(const char *name)
{
    char *p = NULL;
    for (size_t i = 0; i < sizeof client_tools / sizeof client_tools[0]; i++) {
        if (!strcmp(name, client_tools[i][0])) {
            const char *env = getenv(client_tools[i][1]);
            if (env && *env)
                return strdup(env);
            p = path_search(name);
            return p ? p : strdup(name);    /* exec then says it is missing */
        }
    }
    if (strcmp(name, "vma"))
        return NULL;
    const char *env = getenv("BLOCKSIM_VMA");
    if (env && *env)
        return strdup(env);
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        return strdup(name);
    self[n] = 0;
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = 0;
    if (asprintf(&p, "%s/%s", self, name) < 0)
        abort();
    return p;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A client that never finishes (a server bug) must not hang the run. */
#define TOOL_TIMEOUT_S 300.0

/* Runs the program in dir (NULL: here); be, when it can serve, answers the
 * program's requests to the simulated VM meanwhile. */
static int run_tool(bs_backend *be, const char *dir, const char *path, char *const argv[],
                    char **out, char **err)
{
    int pfd[2];
    int (*serve)(bs_backend *, int) = be && be->ops ? be->ops->serve : NULL;
    *out = NULL;
    if (pipe(pfd) < 0) {
        if (asprintf(err, "pipe: %s", strerror(errno)) < 0)
            abort();
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        if (asprintf(err, "fork: %s", strerror(errno)) < 0)
            abort();
        close(pfd[0]);
        close(pfd[1]);
        return -1;
    }
    if (pid == 0) {
        dup2(pfd[1], 1);
        dup2(pfd[1], 2);
        close(pfd[0]);
        close(pfd[1]);
        setenv("TZ", "UTC", 1);
        setenv("LC_ALL", "C", 1);
        if (dir && chdir(dir) < 0) {
            fprintf(stderr, "cannot enter %s: %s\n", dir, strerror(errno));
            _exit(127);
        }
        execv(path, argv);
        fprintf(stderr, "cannot run %s: %s\n", path, strerror(errno));
        _exit(127);
    }
    close(pfd[1]);
    if (serve)
        fcntl(pfd[0], F_SETFL, fcntl(pfd[0], F_GETFL) | O_NONBLOCK);
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    ssize_t n;
    double deadline = mono_s() + TOOL_TIMEOUT_S;
    int timed_out = 0;
    for (;;) {
        if (len + 1 >= cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            if (!buf)
                abort();
        }
        if (serve) {
            /* the VM answers the client's requests while it runs */
            struct pollfd p = { .fd = pfd[0], .events = POLLIN };
            if (serve(be, 0) <= 0 && poll(&p, 1, 0) == 0)
                serve(be, 5);
            if (mono_s() > deadline) {
                kill(pid, SIGKILL);
                timed_out = 1;
                break;
            }
        }
        n = read(pfd[0], buf + len, cap - len - 1);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(pfd[0]);
    buf[len] = 0;
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (timed_out) {
        if (asprintf(err, "%s did not finish within %.0f s", argv[0], TOOL_TIMEOUT_S) < 0)
            abort();
        free(buf);
        return -1;
    }
    *out = buf;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int tool_run_in(const char *dir, const char *path, char *const argv[], char **out, char **err)
{
    return run_tool(NULL, dir, path, argv, out, err);
}

int tool_run_serving(bs_backend *be, const char *path, char *const argv[], char **out,
                     char **err)
{
    return run_tool(be, be ? be->test_dir : NULL, path, argv, out, err);
}

int tool_run(const char *path, char *const argv[], char **out, char **err)
{
    return run_tool(NULL, NULL, path, argv, out, err);
}
