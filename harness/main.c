/* SPDX-License-Identifier: GPL-2.0-or-later */
/* build/harness: replay cases against a backend and compare with goldens. */
#include "harness/cleanup.h"
#include "harness/cli.h"

int main(int argc, char **argv)
{
    cleanup_install_signals();
    return harness_main(argc, argv, harness_backend_new, stdout, stderr);
}
