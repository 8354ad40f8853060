// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vma: create, list, verify and extract VMA v1 backup archives, as a
 * drop-in for Proxmox's tool: its command forms (lib/vma/vma_cli.h), its
 * output lines, and its split of them: listings, DEVINFO and extract/verify
 * progress on stdout; create's progress, messages and errors on stderr.
 *
 * Exit status: 0 success, 255 when `config` finds no such blob (as
 * Proxmox), 1 other failure or usage error (Proxmox's help exits
 * 1; its errors abort). A signal (INT, TERM, HUP) removes what the run
 * created and then ends the process as the signal would.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vma/vma.h"
#include "vma/vma_backup.h"
#include "vma/vma_cleanup.h"
#include "vma/vma_cli.h"

/* EXIT_NOT_FOUND: Proxmox's `vma config` returns -1 from main for a missing blob. */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_NOT_FOUND = 255 };

static const char *progname = "vma";

static int failure(const vma_error *err)
{
    fprintf(stderr, "%s: %s\n", progname, err->msg);
    return EXIT_FAIL;
}

/* Every command ends here: output that did not reach stdout is a failure
 * (a full disk, a closed pipe), reported as such. */
static int finish_stdout(int ret)
{
    bool bad = ferror(stdout) != 0;

    if (fflush(stdout) != 0) {
        bad = true;
    }
    if (fclose(stdout) != 0) {
        bad = true;
    }
    if (bad && ret == EXIT_OK) {
        fprintf(stderr, "%s: writing to standard output failed: %s\n", progname,
                strerror(errno ? errno : EIO));
        return EXIT_FAIL;
    }
    return ret;
}

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------------------ */
/* list / config                                                             */
/* ------------------------------------------------------------------------ */

static void print_name(const char *fmt, const char *name)
{
    char *shown = vma_name_escape(name);

    printf(fmt, shown ? shown : "?");
    free(shown);
}

/* The reference's listing; names with control characters are escaped. */
static void print_listing(const vma_reader *r)
{
    time_t ctime_val = (time_t)vma_reader_ctime(r);

    for (unsigned i = 0; i < vma_reader_config_count(r); i++) {
        const vma_config_info *c = vma_reader_config(r, i);

        printf("CFG: size: %zu name: ", c->len);
        print_name("%s\n", c->name);
    }
    for (unsigned id = 1; id < 255; id++) {
        const vma_device_info *d = vma_reader_device(r, id);

        if (!d) {
            continue;
        }
        if (d->is_vmstate) {
            printf("VMSTATE: dev_id=%u memory: %" PRIu64 "\n", id, d->size);
        } else {
            printf("DEV: dev_id=%u size: %" PRIu64 " devname: ", id, d->size);
            print_name("%s\n", d->name);
        }
    }
    /* ctime() ends in a newline; the reference prints CTIME last. */
    printf("CTIME: %s", ctime(&ctime_val));
    fflush(stdout);
}

static int cmd_list(const vma_cli *cli)
{
    vma_error err = { 0 };
    vma_reader *r = vma_reader_open(cli->archive, &err);

    if (!r) {
        return failure(&err);
    }
    print_listing(r);
    vma_reader_free(r);
    return EXIT_OK;
}

static int cmd_config(const vma_cli *cli)
{
    const char *name = cli->nconfigs ? cli->configs[0] : "qemu-server.conf";
    vma_error err = { 0 };
    vma_reader *r = vma_reader_open(cli->archive, &err);
    int found = 0;

    if (!r) {
        return failure(&err);
    }
    for (unsigned i = 0; i < vma_reader_config_count(r); i++) {
        const vma_config_info *ci = vma_reader_config(r, i);

        if (cli->config_all || strcmp(ci->name, name) == 0) {
            fwrite(ci->data, 1, ci->len, stdout);
            found++;
            if (!cli->config_all) {
                break;      /* Proxmox prints the first blob of that name */
            }
        }
    }
    vma_reader_free(r);
    if (!found && !cli->config_all) {
        fprintf(stderr, "%s: unable to find configuration data '%s'\n", progname, name);
        return EXIT_NOT_FOUND;
    }
    return EXIT_OK;
}

/* ------------------------------------------------------------------------ */
/* create                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct create_progress {
    bool verbose;
    int last_percent;
} create_progress;

/* Proxmox's writer counts as zero every 4 KiB block it does not store,
 * whole, the blocks past a device's end in its last cluster included. Of a
 * stream's accepted bytes, the non-zero ones fill whole blocks but for a
 * partial last block, so the stored blocks are those bytes rounded up. */
static uint64_t pve_zero_bytes(const vma_stream_status *st)
{
    uint64_t stored = (st->transferred - st->zero_bytes + VMA_BLOCK_SIZE - 1) /
                      VMA_BLOCK_SIZE;

    return st->clusters * VMA_CLUSTER_SIZE - stored * VMA_BLOCK_SIZE;
}

/* Proxmox's create totals: the header sizes; transferred bytes, of the
 * vmstate whole clusters; zero bytes counted as above. */
static void pve_totals(const vma_writer *w, uint64_t *size, uint64_t *done, uint64_t *zero)
{
    *size = *done = *zero = 0;
    for (unsigned id = 1; id <= VMA_MAX_DEVICES; id++) {
        vma_stream_status st;

        if (vma_writer_stream_status(w, id, &st)) {
            *size += st.size;
            *done += st.is_vmstate ? st.clusters * VMA_CLUSTER_SIZE : st.transferred;
            *zero += pve_zero_bytes(&st);
        }
    }
}

/* The reference's create progress (stderr), when the percentage changes. */
static void create_step(void *opaque, const vma_writer *w)
{
    create_progress *p = opaque;
    uint64_t size, done, zero;
    int percent;

    if (!p->verbose) {
        return;
    }
    pve_totals(w, &size, &done, &zero);
    if (!size) {
        return;
    }
    percent = (int)((unsigned __int128)done * 100 / size);
    if (percent != p->last_percent) {
        fprintf(stderr, "progress %d%% %" PRIu64 "/%" PRIu64 " %" PRIu64 "\n", percent,
                done, size, zero);
        p->last_percent = percent;
    }
}

/* The reference's per-image summary after a verbose create. */
static void create_done(void *opaque, const vma_writer *w)
{
    create_progress *p = opaque;

    if (!p->verbose) {
        return;
    }
    create_step(p, w);
    for (unsigned id = 1; id <= VMA_MAX_DEVICES; id++) {
        vma_stream_status st;

        if (vma_writer_stream_status(w, id, &st)) {
            uint64_t zero = pve_zero_bytes(&st);

            /* saved goes negative for a device smaller than its last
             * cluster's zero blocks; Proxmox prints it signed. */
            fprintf(stderr, "image %s: size=%" PRIu64 " zeros=%" PRIu64 " saved=%" PRId64
                    "\n", st.name, st.size, zero, (int64_t)(st.size - zero));
        }
    }
}

static int create_to(const vma_cli *cli, const char *archive);

/* Proxmox's create writes an archive named "exec:COMMAND" into the standard
 * input of COMMAND run by the shell (popen). Ours points its stdout at that
 * pipe and writes "-"; a command that fails fails the create. */
static int create_exec(const vma_cli *cli, const char *command)
{
    FILE *pipe;
    int saved, ret, status;

    fflush(stdout);
    pipe = popen(command, "w");
    if (!pipe) {
        fprintf(stderr, "%s: create: cannot run '%s': %s\n", progname, command,
                strerror(errno));
        return EXIT_FAIL;
    }
    saved = dup(STDOUT_FILENO);
    if (saved < 0 || dup2(fileno(pipe), STDOUT_FILENO) < 0) {
        fprintf(stderr, "%s: create: cannot redirect output to '%s': %s\n", progname,
                command, strerror(errno));
        if (saved >= 0) {
            close(saved);
        }
        pclose(pipe);
        return EXIT_FAIL;
    }
    /* A command that stops reading is an error message, not SIGPIPE (the
     * command itself, already started, keeps the default). */
    signal(SIGPIPE, SIG_IGN);
    ret = create_to(cli, "-");
    /* Our copy of the pipe must close before pclose waits for the reader. */
    dup2(saved, STDOUT_FILENO);
    close(saved);
    status = pclose(pipe);
    if (ret == EXIT_OK && status != 0) {
        if (status > 0 && WIFEXITED(status)) {
            fprintf(stderr, "%s: create: '%s' exited %d\n", progname, command,
                    WEXITSTATUS(status));
        } else if (status > 0 && WIFSIGNALED(status)) {
            fprintf(stderr, "%s: create: '%s' was killed by signal %d\n", progname,
                    command, WTERMSIG(status));
        } else {
            fprintf(stderr, "%s: create: waiting for '%s' failed\n", progname, command);
        }
        ret = EXIT_FAIL;
    }
    return ret;
}

static int cmd_create(const vma_cli *cli)
{
    if (strncmp(cli->archive, "exec:", 5) == 0) {
        return create_exec(cli, cli->archive + 5);
    }
    return create_to(cli, cli->archive);
}

static int create_to(const vma_cli *cli, const char *archive)
{
    vma_create_options opts = { 0 };
    create_progress prog = { cli->verbose, -1 };
    vma_error err = { 0 };

    for (unsigned i = 0; i < cli->ndevs; i++) {
        if (cli->formats[i] && strcmp(cli->formats[i], "raw") != 0) {
            fprintf(stderr, "%s: create: cannot read format '%s' of '%s': this vma reads "
                    "raw images only (files and block devices)\n", progname,
                    cli->formats[i], cli->devs[i]);
            return EXIT_FAIL;
        }
    }
    if (strcmp(archive, "-") == 0 && isatty(STDOUT_FILENO)) {
        fprintf(stderr, "%s: create: refusing to write an archive to a terminal\n",
                progname);
        return EXIT_FAIL;
    }
    opts.config_paths = cli->configs;
    opts.config_count = cli->nconfigs;
    opts.speed = cli->speed;
    opts.progress = create_step;
    opts.progress_opaque = &prog;
    opts.on_done = create_done;
    if (vma_create_archive(archive, cli->devs, cli->ndevs, &opts, &err) < 0) {
        return failure(&err);
    }
    return EXIT_OK;
}

/* ------------------------------------------------------------------------ */
/* extract / verify                                                          */
/* ------------------------------------------------------------------------ */

typedef struct read_report {
    bool verbose;
    bool listing;             /* -r: the listing before the map */
    const vma_reader *r;
    int last_percent;
    uint64_t start_ns;
    uint64_t clusters;        /* clusters already accounted for */
    uint64_t whole_clusters;  /* the percentage's denominator */
} read_report;

/* Proxmox's reader counts progress in clusters: clusters read over the sum
 * of each device's whole 64 KiB clusters (size / 65536, rounded down; the
 * vmstate counted by verify, not by extract), one line at each cluster that
 * changes the percentage from the last one printed (0 at the start, so
 * "progress 0%" never appears). It can pass 100 when a device ends in a partial
 * cluster; with no whole cluster at all Proxmox divides by zero, and we
 * print nothing. */
static void count_whole_clusters(read_report *rr, const vma_reader *r, bool with_vmstate)
{
    rr->whole_clusters = 0;
    for (unsigned id = 1; id < 255; id++) {
        const vma_device_info *d = vma_reader_device(r, id);

        if (d && (with_vmstate || !d->is_vmstate)) {
            rr->whole_clusters += d->size / VMA_CLUSTER_SIZE;
        }
    }
}

/* Called after each extent: the lines Proxmox prints for its clusters. */
static void read_progress(void *opaque, uint64_t bytes_read)
{
    read_report *rr = opaque;
    uint64_t now;

    (void)bytes_read;
    if (!rr->verbose || !rr->r || !rr->whole_clusters) {
        return;
    }
    now = vma_reader_cluster_bytes(rr->r) / VMA_CLUSTER_SIZE;
    for (uint64_t c = rr->clusters + 1; c <= now; c++) {
        int percent = (int)((unsigned __int128)c * 100 / rr->whole_clusters);

        if (percent != rr->last_percent) {
            printf("progress %d%% (read %" PRIu64 " bytes, duration %" PRIu64 " sec)\n",
                   percent, c * VMA_CLUSTER_SIZE, (now_ns() - rr->start_ns) / 1000000000u);
            rr->last_percent = percent;
        }
    }
    rr->clusters = now;
    fflush(stdout);
}

static void read_summary(read_report *rr, const vma_reader *r)
{
    uint64_t done = vma_reader_cluster_bytes(r), zero = 0;

    if (!rr->verbose) {
        return;
    }
    for (unsigned id = 1; id < 255; id++) {
        zero += vma_reader_zero_bytes(r, id);
    }
    if (done) {
        printf("total bytes read %" PRIu64 ", sparse bytes %" PRIu64 " (%.3g%%)\n", done,
               zero, 100.0 * (double)zero / (double)done);
        if (done > zero) {  /* Proxmox skips this line when nothing is data */
            printf("space reduction due to 4K zero blocks %.3g%%\n",
                   100.0 * (double)vma_reader_partial_zero_bytes(r) / (double)(done - zero));
        }
    } else {
        printf("vma archive contains no image data\n");
    }
}

static void extract_header(void *opaque, const vma_reader *r)
{
    read_report *rr = opaque;

    rr->r = r;
    count_whole_clusters(rr, r, false);
    if (rr->listing) {
        print_listing(r);
    }
}

/* DEVINFO for every device restored to a tmp-disk file: as Proxmox, whenever
 * there is no map, -v or not; never under -r, where the map names the
 * targets. */
static void extract_device(void *opaque, const char *path, uint64_t size)
{
    read_report *rr = opaque;

    /* Proxmox's duration counts from the restore's start, after the map. */
    rr->start_ns = now_ns();
    if (!rr->listing) {
        printf("DEVINFO %s %" PRIu64 "\n", path, size);
        fflush(stdout);
    }
}

static void extract_done(void *opaque, const vma_reader *r)
{
    read_summary(opaque, r);
}

static int cmd_extract(const vma_cli *cli)
{
    vma_extract_options opts = { 0 };
    read_report rr = { .verbose = cli->verbose, .listing = cli->map != NULL,
                       .last_percent = 0, .start_ns = now_ns() };
    vma_error err = { 0 };

    opts.map_path = cli->map;
    opts.drive_list = cli->drive_list;
    opts.on_header = extract_header;
    opts.on_device = extract_device;
    opts.on_done = extract_done;
    opts.progress = read_progress;
    opts.progress_opaque = &rr;
    if (vma_extract_archive(cli->archive, cli->dir, &opts, &err) < 0) {
        fflush(stdout);
        return failure(&err);
    }
    return EXIT_OK;
}

static int cmd_verify(const vma_cli *cli)
{
    read_report rr = { .verbose = cli->verbose, .last_percent = 0, .start_ns = now_ns() };
    vma_error err = { 0 };
    vma_reader *r = vma_reader_open(cli->archive, &err);
    int ret;

    if (!r) {
        return failure(&err);
    }
    rr.r = r;
    count_whole_clusters(&rr, r, true);
    if (cli->verbose) {
        print_listing(r);   /* Proxmox's verify -v lists the archive first */
    }
    vma_reader_set_progress(r, read_progress, &rr);
    ret = vma_reader_restore(r, &err);
    if (ret == 0) {
        read_summary(&rr, r);
    }
    vma_reader_free(r);
    if (ret < 0) {
        fflush(stdout);
        return failure(&err);
    }
    return EXIT_OK;     /* silent on success, as Proxmox's verify */
}

int main(int argc, char **argv)
{
    vma_cli cli;
    int ret;

    ret = vma_cli_parse(&cli, argc, argv);
    if (ret == VMA_CLI_HELP) {
        vma_cli_free(&cli);
        fputs(vma_usage_text, stdout);
        return finish_stdout(EXIT_OK);
    }
    if (ret != VMA_CLI_OK) {
        /* Proxmox prints its help on stdout and exits 1; the reason is ours. */
        fprintf(stderr, "%s: %s\n", progname, cli.msg);
        vma_cli_free(&cli);
        fputs(vma_usage_text, stdout);
        return finish_stdout(EXIT_FAIL);
    }
    vma_cleanup_install();
    switch (cli.cmd) {
    case VMA_CMD_LIST:    ret = cmd_list(&cli); break;
    case VMA_CMD_CONFIG:  ret = cmd_config(&cli); break;
    case VMA_CMD_CREATE:  ret = cmd_create(&cli); break;
    case VMA_CMD_EXTRACT: ret = cmd_extract(&cli); break;
    default:              ret = cmd_verify(&cli); break;
    }
    vma_cli_free(&cli);
    return finish_stdout(ret);
}
