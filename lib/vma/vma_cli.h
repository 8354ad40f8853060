/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The `vma` command line, parsed without acting on it (tools/vma.c runs the
 * result; lib/vma/fuzz/fuzz_vma_cli.c fuzzes the parser). The forms are
 * Proxmox's, options anywhere (getopt permutes):
 *
 *   vma list <filename>
 *   vma config <filename> [-c <config>] [-a]
 *   vma create <filename> [-c <config>]... [-d [format=<fmt>:]<dev>=<path>]...
 *              [-v] [--speed <N>[K|M|G]] [[<dev>=]<path>]...
 *   vma extract <filename> [-d <drive-list>] [-r <map>] [-v] <targetdir>
 *   vma verify <filename> [-v]
 */
#ifndef BLOCKSIM_VMA_CLI_H
#define BLOCKSIM_VMA_CLI_H

#include <stdbool.h>
#include <stdint.h>

typedef enum vma_cmd {
    VMA_CMD_LIST = 1, VMA_CMD_CONFIG, VMA_CMD_CREATE, VMA_CMD_EXTRACT, VMA_CMD_VERIFY,
} vma_cmd;

typedef struct vma_cli {
    vma_cmd cmd;
    const char *archive;
    bool verbose;
    /* create: config files; config: the blob to print (configs[0]). */
    const char **configs;
    unsigned nconfigs;
    bool config_all;          /* config -a (blocksim's own) */
    /* create: device specs "[name=]path" and their format (NULL if none). */
    const char **devs;
    const char **formats;
    unsigned ndevs;
    uint64_t speed;           /* create --speed, bytes/s, 0 = unlimited */
    const char *drive_list;   /* extract -d */
    const char *map;          /* extract -r */
    const char *dir;          /* extract target directory */
    char msg[256];            /* why parsing failed */
    char *storage;            /* copies of -d values (format split off) */
} vma_cli;

enum { VMA_CLI_OK = 0, VMA_CLI_USAGE = 1, VMA_CLI_HELP = 2 };

/* Parse argv (argv[0] the program, argv[1] the command). argv may be
 * permuted. Returns VMA_CLI_OK, VMA_CLI_USAGE (cli->msg says why) or
 * VMA_CLI_HELP. vma_cli_free() in every case. */
int vma_cli_parse(vma_cli *cli, int argc, char **argv);
void vma_cli_free(vma_cli *cli);

/* "12", "12K", "3G": bytes/s; -1 on garbage or overflow past 2^64. */
int vma_parse_speed(const char *s, uint64_t *out);

/* The usage text Proxmox's tool prints (on stdout), with blocksim's
 * additions. */
extern const char vma_usage_text[];

#endif /* BLOCKSIM_VMA_CLI_H */
