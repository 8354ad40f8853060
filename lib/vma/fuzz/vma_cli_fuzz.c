// SPDX-License-Identifier: GPL-2.0-or-later
/* The vma_cli fuzz entry point (see vma_cli_fuzz.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vma/fuzz/vma_cli_fuzz.h"
#include "vma/vma_cli.h"
#include "vma/vma_map.h"

#define MAX_ARGS 64

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "vma_cli fuzz: broken promise: %s\n", what);
        abort();
    }
}

static void fuzz_args(const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 1);
    char *argv[MAX_ARGS + 2];
    int argc = 0;
    vma_cli cli;
    int ret;

    if (!copy) {
        return;
    }
    memcpy(copy, data, size);
    copy[size] = 0;
    argv[argc++] = (char *)"vma";
    for (size_t pos = 0; pos <= size && argc < MAX_ARGS + 1;) {
        argv[argc++] = copy + pos;
        pos += strlen(copy + pos) + 1;
    }
    argv[argc] = NULL;
    ret = vma_cli_parse(&cli, argc, argv);
    check(ret == VMA_CLI_OK || ret == VMA_CLI_USAGE || ret == VMA_CLI_HELP, "result");
    if (ret == VMA_CLI_USAGE) {
        check(cli.msg[0] != 0, "usage error without a message");
    }
    if (ret == VMA_CLI_OK) {
        check(cli.archive != NULL, "no archive");
        check(cli.cmd != VMA_CMD_EXTRACT || cli.dir != NULL, "extract without a dir");
        check(cli.cmd != VMA_CMD_CREATE || cli.ndevs || cli.nconfigs, "empty create");
        for (unsigned i = 0; i < cli.ndevs; i++) {
            check(cli.devs[i] != NULL, "NULL device spec");
        }
    }
    vma_cli_free(&cli);
    free(copy);
}

static void fuzz_map(const uint8_t *data, size_t size)
{
    vma_map map = { 0 };
    vma_error err = { 0 };
    int ret = vma_map_parse(&map, (const char *)data, size, "fuzz", &err);

    if (ret < 0) {
        check(err.msg[0] && err.code == ret, "map error without a message");
    }
    for (unsigned i = 0; i < map.count; i++) {
        const vma_map_entry *e = &map.entries[i];

        check(vma_name_check("device", e->devname, NULL) == 0, "invalid name accepted");
        check(vma_map_find(&map, e->devname) == e, "name mapped twice");
        check(!e->path || e->path[0], "empty path");
    }
    vma_map_free(&map);
}

int vma_cli_fuzz(const uint8_t *data, size_t size)
{
    fuzz_args(data, size);
    fuzz_map(data, size);
    return 0;
}
