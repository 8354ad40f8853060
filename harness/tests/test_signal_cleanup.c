/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A harness killed by SIGINT, SIGTERM or SIGHUP leaves no blocksim-XXXXXX
 * directory behind (it used to leave its empty scratch directory), and
 * still dies of that signal. Runs the real program, $(B)/harness, found
 * beside this test's directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char root[] = "/tmp/blocksim-sigtest-XXXXXX";
static char harness[PATH_MAX], tmpdir[PATH_MAX + 8], casefile[PATH_MAX + 16];

static int find_harness(void)
{
    ssize_t n = readlink("/proc/self/exe", harness, sizeof(harness) - 16);
    if (n <= 0)
        return -1;
    harness[n] = '\0';
    for (int i = 0; i < 2; i++) {   /* B/tests/NAME -> B */
        char *slash = strrchr(harness, '/');
        if (!slash)
            return -1;
        *slash = '\0';
    }
    strcat(harness, "/harness");
    return access(harness, X_OK);
}

/* Entries in dir (its scratch directories), and whether one holds a file. */
static int entries(const char *dir, int *with_file)
{
    DIR *d = opendir(dir);
    int n = 0;
    *with_file = 0;
    if (!d)
        return -1;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        n++;
        char sub[PATH_MAX * 2];
        snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name);
        DIR *s = opendir(sub);
        if (s) {
            struct dirent *f;
            while ((f = readdir(s)))
                if (f->d_name[0] != '.')
                    *with_file = 1;
            closedir(s);
        }
    }
    closedir(d);
    return n;
}

static void kill_with(int sig)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        setenv("TMPDIR", tmpdir, 1);
        execl(harness, "harness", "--print", casefile, (char *)NULL);
        _exit(127);
    }
    /* wait until the case has written its file into the scratch directory */
    int with_file = 0, n = 0;
    for (int i = 0; i < 6000 && !with_file; i++) {
        struct timespec ts = { 0, 10 * 1000 * 1000 };
        nanosleep(&ts, NULL);
        n = entries(tmpdir, &with_file);
    }
    if (!with_file) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        fail_msg("the harness never wrote its file (%d entries)", n);
    }
    assert_int_equal(kill(pid, sig), 0);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), sig);
    assert_int_equal(entries(tmpdir, &with_file), 0);
}

static void test_signals_clean_up(void **state)
{
    if (find_harness() < 0)
        fail_msg("no harness program beside this test");
    assert_non_null(mkdtemp(root));
    snprintf(tmpdir, sizeof(tmpdir), "%s/tmp", root);
    snprintf(casefile, sizeof(casefile), "%s/slow.case", root);
    assert_int_equal(mkdir(tmpdir, 0700), 0);
    FILE *f = fopen(casefile, "w");
    assert_non_null(f);
    /* a file in the scratch directory, then a loop long enough to be killed in */
    fputs("files a\nwrite_file $a \"x\"\nlet L = [", f);
    for (int i = 0; i < 20000; i++)
        fputs(i ? ",0" : "0", f);
    fputs("]\nfor i in $L\n  for j in $L\n    let x = 1\n  end\nend\n", f);
    fclose(f);
    kill_with(SIGINT);
    kill_with(SIGTERM);
    kill_with(SIGHUP);
    unlink(casefile);
    rmdir(tmpdir);
    rmdir(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signals_clean_up),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
