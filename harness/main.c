/* SPDX-License-Identifier: GPL-2.0-or-later */
/* build/harness: replay cases against a backend and compare with goldens. */
#include "harness/cleanup.h"
#include "harness/cli.h"

#include <json-c/linkhash.h>

int main(int argc, char **argv)
{
    cleanup_install_signals();
    /* QMP keys are short: the simpler hash looks them up for less */
    json_global_set_string_hash(JSON_C_STR_HASH_PERLLIKE);
    return harness_main(argc, argv, harness_backend_new, stdout, stderr);
}
