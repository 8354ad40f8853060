/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "harness/tool_run.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

char *tool_path(const char *name)
{
    char *p = NULL;
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

int tool_run(const char *path, char *const argv[], char **out, char **err)
{
    return tool_run_in(NULL, path, argv, out, err);
}

int tool_run_in(const char *dir, const char *path, char *const argv[], char **out, char **err)
{
    int pfd[2];
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
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    ssize_t n;
    for (;;) {
        if (len + 1 >= cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            if (!buf)
                abort();
        }
        n = read(pfd[0], buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR)
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
    *out = buf;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
