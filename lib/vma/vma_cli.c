// SPDX-License-Identifier: GPL-2.0-or-later
/* The `vma` command-line parser (see vma_cli.h). */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vma/vma_cli.h"

const char vma_usage_text[] =
    "usage: vma command [command options]\n"
    "\n"
    "vma list <filename>\n"
    "vma config <filename> [-c config]\n"
    "vma create <filename> [-c config] [-d format=<fmt>:<devname>=<path>] pathname ...\n"
    "vma extract <filename> [-d <drive-list>] [-r <fifo>] [-v] <targetdir>\n"
    "vma verify <filename> [-v]\n"
    "\n"
    "<filename> '-' is standard input (standard output for create); list,\n"
    "config, extract and verify also read .vma.zst, .vma.gz and .vma.lzo\n"
    "directly. blocksim's additions: config -a (every config blob), create -v\n"
    "(progress) and --speed <N>[K|M|G] (bytes/s), vma --help.\n";

static int bad(vma_cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int bad(vma_cli *cli, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(cli->msg, sizeof(cli->msg), fmt, ap);
    va_end(ap);
    return VMA_CLI_USAGE;
}

int vma_parse_speed(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;
    unsigned shift = 0;

    if (*s < '0' || *s > '9') {
        return -1;
    }
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno) {
        return -1;
    }
    switch (*end) {
    case 'K': case 'k': shift = 10; end++; break;
    case 'M': case 'm': shift = 20; end++; break;
    case 'G': case 'g': shift = 30; end++; break;
    default: break;
    }
    if (*end || (shift && v > (UINT64_MAX >> shift))) {
        return -1;
    }
    *out = (uint64_t)v << shift;
    return 0;
}

static int option_error(vma_cli *cli, const char *cmd, char **argv, int c)
{
    if (c == ':') {
        return bad(cli, "%s: option '-%c' needs an argument", cmd, optopt);
    }
    if (optopt) {
        return bad(cli, "%s: unknown option '-%c'", cmd, optopt);
    }
    return bad(cli, "%s: unknown option '%.100s'", cmd, argv[optind - 1]);
}

static const struct {
    const char *name;
    vma_cmd cmd;
    const char *opts;
} commands[] = {
    { "list", VMA_CMD_LIST, ":hv" },
    { "config", VMA_CMD_CONFIG, ":hc:a" },
    { "create", VMA_CMD_CREATE, ":hc:d:v" },
    { "extract", VMA_CMD_EXTRACT, ":hd:r:v" },
    { "verify", VMA_CMD_VERIFY, ":hv" },
};

int vma_cli_parse(vma_cli *cli, int argc, char **argv)
{
    static const struct option longopts[] = {
        { "speed", required_argument, NULL, 's' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *cmd, *opts = NULL;
    size_t storage_len = 0, storage_pos = 0;
    int c, nargs;

    memset(cli, 0, sizeof(*cli));
    if (argc < 2) {
        return bad(cli, "no command given");
    }
    cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        return VMA_CLI_HELP;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(cmd, commands[i].name) == 0) {
            cli->cmd = commands[i].cmd;
            opts = commands[i].opts;
        }
    }
    if (!opts) {
        return bad(cli, "unknown command '%.100s'", cmd);
    }
    argc--;
    argv++;
    cli->configs = calloc((size_t)argc + 1, sizeof(*cli->configs));
    cli->devs = calloc((size_t)argc + 1, sizeof(*cli->devs));
    cli->formats = calloc((size_t)argc + 1, sizeof(*cli->formats));
    for (int i = 1; i < argc; i++) {
        storage_len += strlen(argv[i]) + 1;
    }
    cli->storage = malloc(storage_len + 1);
    if (!cli->configs || !cli->devs || !cli->formats || !cli->storage) {
        return bad(cli, "out of memory");
    }
    optind = 0;               /* full reset: the fuzzer parses many times */
    opterr = 0;
    while ((c = getopt_long(argc, argv, opts,
                            cli->cmd == VMA_CMD_CREATE ? longopts : longopts + 1,
                            NULL)) != -1) {
        switch (c) {
        case 'h':
            return VMA_CLI_HELP;
        case 'v':
            cli->verbose = true;
            break;
        case 'a':
            cli->config_all = true;
            break;
        case 'c':
            if (cli->cmd == VMA_CMD_CONFIG && cli->nconfigs) {
                return bad(cli, "config: -c given twice");
            }
            cli->configs[cli->nconfigs++] = optarg;
            break;
        case 'r':
            if (cli->map) {
                return bad(cli, "extract: -r given twice");
            }
            cli->map = optarg;
            break;
        case 's':
            if (vma_parse_speed(optarg, &cli->speed) < 0) {
                return bad(cli, "create: bad --speed '%.100s' (a number of bytes per "
                           "second below 2^64, with an optional K, M or G)", optarg);
            }
            break;
        case 'd':
            if (cli->cmd == VMA_CMD_EXTRACT) {
                if (cli->drive_list) {
                    return bad(cli, "extract: -d given twice");
                }
                cli->drive_list = optarg;
                break;
            }
            /* create -d [format=<fmt>:]<devname>=<path> */
            {
                char *copy = cli->storage + storage_pos;
                const char *spec = copy;

                storage_pos += strlen(optarg) + 1;
                strcpy(copy, optarg);
                cli->formats[cli->ndevs] = NULL;
                if (strncmp(copy, "format=", 7) == 0) {
                    char *colon = strchr(copy + 7, ':');

                    if (!colon || colon == copy + 7) {
                        return bad(cli, "create: -d '%.100s': expected "
                                   "format=<fmt>:<devname>=<path>", optarg);
                    }
                    *colon = 0;
                    cli->formats[cli->ndevs] = copy + 7;
                    spec = colon + 1;
                }
                if (!strchr(spec, '=') || spec[0] == '=') {
                    return bad(cli, "create: -d '%.100s': expected "
                               "[format=<fmt>:]<devname>=<path>", optarg);
                }
                cli->devs[cli->ndevs++] = spec;
            }
            break;
        default:
            return option_error(cli, cmd, argv, c);
        }
    }
    nargs = argc - optind;
    if (nargs < 1) {
        return bad(cli, "%s: no archive given", cmd);
    }
    cli->archive = argv[optind];
    switch (cli->cmd) {
    case VMA_CMD_LIST:
    case VMA_CMD_VERIFY:
    case VMA_CMD_CONFIG:
        if (nargs != 1) {
            return bad(cli, "%s: expected one archive, got %d arguments", cmd, nargs);
        }
        break;
    case VMA_CMD_EXTRACT:
        if (nargs != 2) {
            return bad(cli, "extract: expected an archive and a target directory, got %d "
                       "arguments", nargs);
        }
        cli->dir = argv[optind + 1];
        break;
    case VMA_CMD_CREATE:
        for (int i = optind + 1; i < argc; i++) {
            cli->devs[cli->ndevs++] = argv[i];
        }
        if (cli->ndevs == 0 && cli->nconfigs == 0) {
            return bad(cli, "create: nothing to back up (no image and no config)");
        }
        break;
    }
    return VMA_CLI_OK;
}

void vma_cli_free(vma_cli *cli)
{
    free(cli->configs);
    free(cli->devs);
    free(cli->formats);
    free(cli->storage);
    cli->configs = NULL;
    cli->devs = NULL;
    cli->formats = NULL;
    cli->storage = NULL;
}
