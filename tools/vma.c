// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vma: create, list, verify and extract VMA v1 backup archives, with the
 * reference (Proxmox) tool's commands and output lines.
 *
 * Exit status: 0 success, 1 failure, 2 usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vma/vma.h"
#include "vma/vma_backup.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

static const char usage_text[] =
    "usage: vma <command> [options]\n"
    "\n"
    "  vma list <archive>\n"
    "      print config blobs (CFG:), devices (DEV:), the vmstate (VMSTATE:)\n"
    "      and the creation time (CTIME:)\n"
    "  vma config [-c <name> | -a] <archive>\n"
    "      print config blob <name> (default qemu-server.conf), or all (-a)\n"
    "  vma create [-c <config>]... [-v] [--speed <bytes/s>] <archive> [<name>=]<image>...\n"
    "      back up raw images (point in time, with the cluster engine) into a new\n"
    "      archive; an image named 'vmstate' becomes the VM state stream\n"
    "  vma extract [-r <mapfile>] [-v] <archive> <targetdir>\n"
    "      restore into the new directory <targetdir>: config files,\n"
    "      disk-<name>.raw per device (sparse) and vmstate.bin\n"
    "  vma verify [-v] <archive>\n"
    "      read and check the whole archive, writing nothing\n"
    "\n"
    "<archive> may be '-' for stdin (list, config, extract, verify) or stdout\n"
    "(create). --speed takes an optional K, M or G suffix (powers of 1024).\n"
    "Map file lines (-r): 0:<name>=<path>, 1:<name>=<path> (write zeroes),\n"
    "skip=<name>; an empty line or 'done' ends the map.\n";

static const char *progname = "vma";

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", progname);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'vma --help'.\n");
    return EXIT_USAGE;
}

static int failure(const vma_error *err)
{
    fprintf(stderr, "%s: %s\n", progname, err->msg);
    return EXIT_FAIL;
}

static bool wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            return true;
        }
        if (strcmp(argv[i], "--") == 0) {
            break;
        }
    }
    return false;
}

/* ------------------------------------------------------------------------ */
/* Progress                                                                  */
/* ------------------------------------------------------------------------ */

typedef struct progress {
    bool verbose;
    bool tty;                 /* rewrite one line; else a line per percent */
    uint64_t total;           /* 0 = unknown */
    int last_percent;
    uint64_t start_ns;
    uint64_t last_ns;
} progress;

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void human(uint64_t bytes, char *out, size_t cap)
{
    static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    double v = (double)bytes;
    unsigned u = 0;

    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    snprintf(out, cap, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

static void progress_init(progress *p, bool verbose, uint64_t total)
{
    memset(p, 0, sizeof(*p));
    p->verbose = verbose;
    p->tty = verbose && isatty(STDERR_FILENO);
    p->total = total;
    p->last_percent = -1;
    p->start_ns = now_ns();
}

static void progress_show(progress *p, uint64_t done, uint64_t zero, bool final)
{
    uint64_t t = now_ns();
    int percent = p->total ? (int)(done * 100 / p->total) : -1;
    double secs = (double)(t - p->start_ns) / 1e9;
    char d[32], z[32], tot[32];

    if (!p->verbose) {
        return;
    }
    if (!p->tty) {
        /* Reference-style line whenever the percentage changes. */
        if (percent != p->last_percent || (final && p->total == 0)) {
            fprintf(stderr, "progress %d%% %" PRIu64 "/%" PRIu64 " %" PRIu64 "\n",
                    percent < 0 ? 0 : percent, done, p->total, zero);
            p->last_percent = percent;
        }
        return;
    }
    if (!final && t - p->last_ns < 100000000u) {
        return;                          /* redraw at most 10 times a second */
    }
    p->last_ns = t;
    human(done, d, sizeof(d));
    human(zero, z, sizeof(z));
    human(p->total, tot, sizeof(tot));
    if (percent >= 0) {
        fprintf(stderr, "\rprogress %3d%%  %s of %s  zero %s  %.1f MB/s   ", percent, d,
                tot, z, secs > 0 ? (double)done / 1e6 / secs : 0.0);
    } else {
        fprintf(stderr, "\rprogress %s  zero %s  %.1f MB/s   ", d, z,
                secs > 0 ? (double)done / 1e6 / secs : 0.0);
    }
    if (final) {
        fputc('\n', stderr);
    }
}

/* ------------------------------------------------------------------------ */
/* list / config                                                             */
/* ------------------------------------------------------------------------ */

static void print_listing(const vma_reader *r)
{
    time_t ctime_val = (time_t)vma_reader_ctime(r);

    for (unsigned i = 0; i < vma_reader_config_count(r); i++) {
        const vma_config_info *c = vma_reader_config(r, i);

        printf("CFG: size: %zu name: %s\n", c->len, c->name);
    }
    for (unsigned id = 1; id < 255; id++) {
        const vma_device_info *d = vma_reader_device(r, id);

        if (!d) {
            continue;
        }
        if (d->is_vmstate) {
            printf("VMSTATE: dev_id=%u memory: %" PRIu64 "\n", id, d->size);
        } else {
            printf("DEV: dev_id=%u size: %" PRIu64 " devname: %s\n", id, d->size,
                   d->name);
        }
    }
    /* ctime() ends in a newline; the reference prints CTIME last. */
    printf("CTIME: %s", ctime(&ctime_val));
    fflush(stdout);
}

static int cmd_list(int argc, char **argv)
{
    vma_error err = { 0 };
    vma_reader *r;

    if (getopt(argc, argv, "+") != -1) {
        return usage_error("list: unknown option");
    }
    if (argc - optind != 1) {
        return usage_error("list: expected one archive");
    }
    r = vma_reader_open(argv[optind], &err);
    if (!r) {
        return failure(&err);
    }
    print_listing(r);
    vma_reader_free(r);
    return EXIT_OK;
}

static int cmd_config(int argc, char **argv)
{
    const char *name = "qemu-server.conf";
    bool all = false;
    vma_error err = { 0 };
    vma_reader *r;
    int c, found = 0;

    while ((c = getopt(argc, argv, "c:a")) != -1) {
        switch (c) {
        case 'c':
            name = optarg;
            break;
        case 'a':
            all = true;
            break;
        default:
            return usage_error("config: bad option");
        }
    }
    if (argc - optind != 1) {
        return usage_error("config: expected one archive");
    }
    r = vma_reader_open(argv[optind], &err);
    if (!r) {
        return failure(&err);
    }
    for (unsigned i = 0; i < vma_reader_config_count(r); i++) {
        const vma_config_info *ci = vma_reader_config(r, i);

        if (all || strcmp(ci->name, name) == 0) {
            fwrite(ci->data, 1, ci->len, stdout);
            found++;
        }
    }
    vma_reader_free(r);
    if (!found && !all) {
        fprintf(stderr, "%s: unable to find configuration data '%s'\n", progname, name);
        return EXIT_FAIL;
    }
    return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
}

/* ------------------------------------------------------------------------ */
/* create                                                                    */
/* ------------------------------------------------------------------------ */

static int parse_speed(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || end == s || *s == '-') {
        return -1;
    }
    switch (*end) {
    case 'K': case 'k': v <<= 10; end++; break;
    case 'M': case 'm': v <<= 20; end++; break;
    case 'G': case 'g': v <<= 30; end++; break;
    default: break;
    }
    if (*end) {
        return -1;
    }
    *out = v;
    return 0;
}

static void create_progress(void *opaque, const vma_writer *w)
{
    progress *p = opaque;
    uint64_t size, done, zero;

    vma_writer_total_status(w, &size, &done, &zero);
    p->total = size;
    progress_show(p, done, zero, false);
}

/* The reference's per-image summary after a verbose create. */
static void create_done(void *opaque, const vma_writer *w)
{
    progress *p = opaque;
    uint64_t size, done, zero;

    vma_writer_total_status(w, &size, &done, &zero);
    p->total = size;
    if (!p->verbose) {
        return;
    }
    progress_show(p, done, zero, true);
    for (unsigned id = 1; id <= VMA_MAX_DEVICES; id++) {
        vma_stream_status st;

        if (vma_writer_stream_status(w, id, &st)) {
            fprintf(stderr, "image %s: size=%" PRIu64 " zeros=%" PRIu64 " saved=%" PRIu64
                    "\n", st.name, st.transferred, st.zero_bytes,
                    st.transferred - st.zero_bytes);
        }
    }
}

static int cmd_create(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "speed", required_argument, NULL, 's' },
        { NULL, 0, NULL, 0 },
    };
    const char **configs = calloc((size_t)argc + 1, sizeof(*configs));
    vma_create_options opts = { 0 };
    vma_error err = { 0 };
    bool verbose = false;
    progress prog;
    int c, ret;

    if (!configs) {
        return EXIT_FAIL;
    }
    while ((c = getopt_long(argc, argv, "+c:v", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            configs[opts.config_count++] = optarg;
            break;
        case 'v':
            verbose = true;
            break;
        case 's':
            if (parse_speed(optarg, &opts.speed) < 0) {
                free(configs);
                return usage_error("create: bad --speed '%s'", optarg);
            }
            break;
        default:
            free(configs);
            return usage_error("create: bad option");
        }
    }
    if (argc - optind < 2) {
        free(configs);
        return usage_error("create: expected an archive and at least one image");
    }
    const char *archive = argv[optind];

    if (strcmp(archive, "-") == 0 && isatty(STDOUT_FILENO)) {
        free(configs);
        return usage_error("create: refusing to write an archive to a terminal");
    }
    progress_init(&prog, verbose, 0);
    opts.config_paths = configs;
    opts.progress = create_progress;
    opts.progress_opaque = &prog;
    opts.on_done = create_done;
    ret = vma_create_archive(archive, (const char *const *)argv + optind + 1,
                             (unsigned)(argc - optind - 1), &opts, &err);
    free(configs);
    if (ret < 0) {
        if (prog.tty) {
            fputc('\n', stderr);
        }
        return failure(&err);
    }
    return EXIT_OK;
}

/* ------------------------------------------------------------------------ */
/* extract / verify                                                          */
/* ------------------------------------------------------------------------ */

typedef struct read_report {
    progress prog;
    bool list_header;         /* -r: print the listing before the map */
    bool verbose;
    const char *dir;
} read_report;

static uint64_t archive_size(const char *archive)
{
    struct stat st;

    if (strcmp(archive, "-") == 0 || stat(archive, &st) < 0 || !S_ISREG(st.st_mode)) {
        return 0;
    }
    return (uint64_t)st.st_size;
}

static void read_progress(void *opaque, uint64_t bytes)
{
    read_report *rr = opaque;

    progress_show(&rr->prog, bytes, 0, false);
}

static void extract_header(void *opaque, const vma_reader *r)
{
    read_report *rr = opaque;

    if (rr->list_header) {
        print_listing(r);
    }
    if (rr->verbose) {
        for (unsigned id = 1; id < 255; id++) {
            const vma_device_info *d = vma_reader_device(r, id);

            if (d && !d->is_vmstate && !rr->list_header) {
                printf("DEVINFO %s/disk-%s.raw %" PRIu64 "\n", rr->dir, d->name, d->size);
            }
        }
        fflush(stdout);
    }
}

static int cmd_extract(int argc, char **argv)
{
    vma_extract_options opts = { 0 };
    vma_error err = { 0 };
    read_report rr = { 0 };
    int c, ret;

    while ((c = getopt(argc, argv, "r:v")) != -1) {
        switch (c) {
        case 'r':
            opts.map_path = optarg;
            break;
        case 'v':
            rr.verbose = true;
            break;
        default:
            return usage_error("extract: bad option");
        }
    }
    if (argc - optind != 2) {
        return usage_error("extract: expected an archive and a target directory");
    }
    rr.list_header = opts.map_path != NULL;
    rr.dir = argv[optind + 1];
    progress_init(&rr.prog, rr.verbose, archive_size(argv[optind]));
    opts.on_header = extract_header;
    opts.progress = read_progress;
    opts.progress_opaque = &rr;
    ret = vma_extract_archive(argv[optind], argv[optind + 1], &opts, &err);
    if (ret < 0) {
        if (rr.prog.tty) {
            fputc('\n', stderr);
        }
        return failure(&err);
    }
    if (rr.verbose) {
        progress_show(&rr.prog, rr.prog.total, 0, true);
    }
    return EXIT_OK;
}

static int cmd_verify(int argc, char **argv)
{
    vma_error err = { 0 };
    read_report rr = { 0 };
    int c;

    while ((c = getopt(argc, argv, "v")) != -1) {
        if (c != 'v') {
            return usage_error("verify: bad option");
        }
        rr.verbose = true;
    }
    if (argc - optind != 1) {
        return usage_error("verify: expected one archive");
    }
    progress_init(&rr.prog, rr.verbose, archive_size(argv[optind]));
    if (vma_verify_archive(argv[optind], read_progress, &rr, &err) < 0) {
        if (rr.prog.tty) {
            fputc('\n', stderr);
        }
        return failure(&err);
    }
    if (rr.verbose) {
        progress_show(&rr.prog, rr.prog.total, 0, true);
        fprintf(stderr, "%s: archive is valid\n", argv[optind]);
    }
    return EXIT_OK;
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(int argc, char **argv);
    } commands[] = {
        { "list", cmd_list },       { "config", cmd_config },
        { "create", cmd_create },   { "extract", cmd_extract },
        { "verify", cmd_verify },
    };

    if (argc < 2) {
        fputs(usage_text, stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(usage_text, stdout);
        return EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(argv[1], commands[i].name) == 0) {
            if (wants_help(argc - 1, argv + 1)) {
                fputs(usage_text, stdout);
                return EXIT_OK;
            }
            opterr = 1;
            return commands[i].fn(argc - 1, argv + 1);
        }
    }
    return usage_error("unknown command '%s'", argv[1]);
}
