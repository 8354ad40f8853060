// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Runs the shell-level tests so `make check` covers them:
 *   cli.sh        the `vma` command's behaviour
 *   interop.sh    lib/vma against the independent tools/vma_reader.py
 *   qmrestore.sh  Proxmox's restore flow: stdin archive, map fifo, CTIME
 *   signals.sh    SIGINT/SIGTERM/SIGHUP during create and extract
 *   compress.sh   .vma.zst/.gz/.lzo read directly, equal to piping
 *   proxmox.sh    archives written by Proxmox's own vma (tests/data)
 * Both take the build directory, found from this binary's own path
 * (<B>/tests/vma_scripts), and run from the repository root.
 */
#include <libgen.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

static char build_dir[PATH_MAX];

static int setup(void **state)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

    (void)state;
    if (n <= 0) {
        return -1;
    }
    exe[n] = 0;
    /* <B>/tests/vma_scripts -> <B> */
    snprintf(build_dir, sizeof(build_dir), "%s", dirname(dirname(exe)));
    return 0;
}

static void run_script(const char *script)
{
    char cmd[PATH_MAX * 2];
    int status;

    if (access(script, R_OK) != 0) {
        fail_msg("%s not found: run from the repository root", script);
    }
    snprintf(cmd, sizeof(cmd), "sh %s '%s'", script, build_dir);
    status = system(cmd);
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fail_msg("%s failed (status %d)", cmd, status);
    }
}

static void test_cli(void **state)
{
    (void)state;
    run_script("lib/vma/tests/cli.sh");
}

static void test_interop(void **state)
{
    (void)state;
    run_script("lib/vma/tests/interop.sh");
}

static void test_qmrestore(void **state)
{
    (void)state;
    run_script("lib/vma/tests/qmrestore.sh");
}

static void test_signals(void **state)
{
    (void)state;
    run_script("lib/vma/tests/signals.sh");
}

static void test_compress(void **state)
{
    (void)state;
    run_script("lib/vma/tests/compress.sh");
}

static void test_proxmox(void **state)
{
    (void)state;
    run_script("lib/vma/tests/proxmox.sh");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli),
        cmocka_unit_test(test_interop),
        cmocka_unit_test(test_qmrestore),
        cmocka_unit_test(test_signals),
        cmocka_unit_test(test_compress),
        cmocka_unit_test(test_proxmox),
    };

    return cmocka_run_group_tests(tests, setup, NULL);
}
