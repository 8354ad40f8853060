// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * `vma extract` and `vma verify` over the reader, in the order of Proxmox's
 * tool, which qmrestore depends on: make the target directory, write the
 * config files into it, report the header (the listing qmrestore waits
 * for), read the restore map, open the targets (tmp-disk-<name>.raw, or the
 * map's paths), restore, and rename tmp-disk-* to disk-*. Everything this
 * run created is registered with vma_cleanup, and removed on failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vma/vma_cleanup.h"
#include "vma/vma_int.h"
#include "vma/vma_map.h"

/* How much larger than its device an existing restore target may be. */
#define VMA_TARGET_SLACK (4u * 1024 * 1024)

/* Something this run created, removed on failure. */
typedef struct created {
    char *path;
    int handle;               /* vma_cleanup registration */
    bool is_dir;
} created;

typedef struct extract_state {
    vma_reader *r;
    const char *dir;
    vma_map map;
    bool use_map;
    int fds[256];
    char *tmp_name[256];      /* tmp-disk-<name>.raw, renamed at the end */
    created made[1024];
    unsigned nmade;
    vma_throttle throttles[256];
    unsigned nthrottles;
    const char *throttle_group[256];
} extract_state;

/* Register path before creating it, so a signal between the two finds
 * nothing or the new file, never an unregistered one. */
static int track(extract_state *s, const char *path, bool is_dir, vma_error *err)
{
    created *c;

    if (s->nmade >= sizeof(s->made) / sizeof(s->made[0])) {
        return vma_fail(err, -ENOSPC, "too many files to track");
    }
    c = &s->made[s->nmade];
    c->path = strdup(path);
    if (!c->path) {
        return vma_fail(err, -ENOMEM, "out of memory");
    }
    c->is_dir = is_dir;
    c->handle = vma_cleanup_add(path, is_dir);
    s->nmade++;
    return 0;
}

/* The last tracked path was not created after all. */
static void untrack_last(extract_state *s)
{
    created *c = &s->made[--s->nmade];

    vma_cleanup_forget(c->handle);
    free(c->path);
}

static void remove_created(extract_state *s)
{
    while (s->nmade > 0) {
        created *c = &s->made[--s->nmade];

        vma_cleanup_remove(c->handle);
        if (c->handle < 0) {
            if (c->is_dir) {
                rmdir(c->path);
            } else {
                unlink(c->path);
            }
        }
        free(c->path);
    }
}

static void keep_created(extract_state *s)
{
    while (s->nmade > 0) {
        created *c = &s->made[--s->nmade];

        vma_cleanup_forget(c->handle);
        free(c->path);
    }
}

static int create_file(extract_state *s, const char *name, int *fd, vma_error *err)
{
    char *path;
    int ret;

    if (asprintf(&path, "%s/%s", s->dir, name) < 0) {
        return vma_fail(err, -ENOMEM, "out of memory");
    }
    if ((ret = track(s, path, false, err)) < 0) {
        free(path);
        return ret;
    }
    *fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (*fd < 0) {
        int e = errno;

        untrack_last(s);
        free(path);
        return vma_fail(err, -e, "cannot create '%s' in the target directory: %s", name,
                        strerror(e));
    }
    free(path);
    return 0;
}

/* Does a config after index i carry the same name? */
static bool config_named_later(const vma_reader *r, unsigned i)
{
    const char *name = vma_reader_config(r, i)->name;

    for (unsigned j = i + 1; j < vma_reader_config_count(r); j++) {
        if (strcmp(vma_reader_config(r, j)->name, name) == 0) {
            return true;
        }
    }
    return false;
}

static int write_configs(extract_state *s, vma_error *err)
{
    for (unsigned i = 0; i < vma_reader_config_count(s->r); i++) {
        const vma_config_info *c = vma_reader_config(s->r, i);
        int fd, ret;

        /* Proxmox's writer archives two configs of one base name, and its
         * extract writes them in turn: the last one is what stays. */
        if (config_named_later(s->r, i)) {
            continue;
        }
        if ((ret = vma_name_check("config", c->name, err)) < 0 ||
            (ret = create_file(s, c->name, &fd, err)) < 0) {
            return ret;
        }
        ret = vma_write_all(fd, c->data, c->len);
        if (close(fd) < 0 && ret == 0) {
            ret = -errno;
        }
        if (ret < 0) {
            return vma_fail(err, ret, "writing config '%s' failed: %s", c->name,
                            strerror(-ret));
        }
    }
    return 0;
}

/* Is name in the comma-separated list? */
static bool in_list(const char *list, const char *name)
{
    size_t n = strlen(name);

    for (const char *p = list; p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);

        if (len == n && memcmp(p, name, n) == 0) {
            return true;
        }
        p = comma ? comma + 1 : NULL;
    }
    return false;
}

static vma_throttle *throttle_for(extract_state *s, const vma_map_entry *m)
{
    if (!m->throttling_bps) {
        return NULL;
    }
    /* Targets of one group share one limit, as QEMU's throttle groups. */
    if (m->throttling_group) {
        for (unsigned i = 0; i < s->nthrottles; i++) {
            if (s->throttle_group[i] && strcmp(s->throttle_group[i], m->throttling_group) == 0) {
                return &s->throttles[i];
            }
        }
    }
    s->throttle_group[s->nthrottles] = m->throttling_group;
    s->throttles[s->nthrottles].bps = m->throttling_bps;
    return &s->throttles[s->nthrottles++];
}

/* Open a map target: an existing file or device is written in place (and
 * must be large enough); a missing file is created at the device's size. */
static int open_map_target(extract_state *s, unsigned id, const vma_device_info *di,
                           const vma_map_entry *m, unsigned *flags, vma_error *err)
{
    int oflags = O_WRONLY | O_CLOEXEC;
    int fd, ret;
    off_t end;

    if (m->format && strcmp(m->format, "raw") != 0) {
        return vma_fail(err, -ENOTSUP, "map line %u: cannot write format '%s' for "
                        "device '%s': this vma writes raw targets only (files and "
                        "block devices)", m->line, m->format, di->name);
    }
    if (m->cache) {
        if (strcmp(m->cache, "writethrough") == 0 || strcmp(m->cache, "directsync") == 0) {
            oflags |= O_DSYNC;
        } else if (strcmp(m->cache, "none") != 0 && strcmp(m->cache, "writeback") != 0 &&
                   strcmp(m->cache, "unsafe") != 0) {
            return vma_fail(err, -EINVAL, "map line %u: unknown cache mode '%s' (none, "
                            "writeback, writethrough, directsync or unsafe)", m->line,
                            m->cache);
        }
    }
    *flags = (m->write_zeroes ? VMA_TARGET_WRITE_ZEROES : 0);
    fd = open(m->path, oflags);
    if (fd < 0 && errno == ENOENT) {
        if ((ret = track(s, m->path, false, err)) < 0) {
            return ret;
        }
        fd = open(m->path, oflags | O_CREAT | O_EXCL, 0644);
        if (fd < 0) {
            int e = errno;

            untrack_last(s);
            errno = e;
        } else if (ftruncate(fd, (off_t)di->size) < 0) {
            ret = vma_fail(err, -errno, "cannot size target '%s' for device '%s': %s",
                           m->path, di->name, strerror(errno));
            close(fd);
            return ret;
        } else {
            *flags |= VMA_TARGET_FRESH;      /* created here, all holes */
        }
    } else if (fd >= 0) {
        /* Written in place: never truncated or resized, so it must hold
         * the whole device. */
        *flags |= VMA_TARGET_KEEP_SIZE;
        end = lseek(fd, 0, SEEK_END);
        if (end >= 0 && (uint64_t)end < di->size) {
            close(fd);
            return vma_fail(err, -ENOSPC, "target '%s' for device '%s' has %lld bytes, "
                            "the device %llu", m->path, di->name, (long long)end,
                            (unsigned long long)di->size);
        }
        /* Proxmox's reader tolerates a target up to 4 MiB larger than the
         * device (storage granularity), measured as QEMU does, in whole
         * 512-byte sectors, and refuses anything larger as a wrong volume. */
        if (end >= 0 && ((uint64_t)end + 511) / 512 * 512 - di->size > VMA_TARGET_SLACK) {
            close(fd);
            return vma_fail(err, -EINVAL, "target '%s' for device '%s' has %lld bytes, "
                            "more than 4 MiB over the device's %llu", m->path, di->name,
                            (long long)end, (unsigned long long)di->size);
        }
    }
    if (fd < 0) {
        return vma_fail(err, -errno, "cannot open target '%s' for device '%s': %s",
                        m->path, di->name, strerror(errno));
    }
    s->fds[id] = fd;
    return 0;
}

static int open_targets(extract_state *s, const vma_extract_options *opts,
                        vma_error *err)
{
    for (unsigned id = 1; id < 255; id++) {
        const vma_device_info *di = vma_reader_device(s->r, id);
        const vma_map_entry *m = NULL;
        unsigned flags = 0;
        const char *path;
        char *file = NULL;
        int ret;

        if (!di) {
            continue;
        }
        if (di->is_vmstate) {
            ret = create_file(s, "vmstate.bin", &s->fds[id], err);
            if (ret == 0) {
                ret = vma_reader_set_target(s->r, id, s->fds[id], VMA_TARGET_FRESH,
                                            err);
            }
            if (ret < 0) {
                return ret;
            }
            continue;
        }
        if (opts->drive_list && !in_list(opts->drive_list, di->name)) {
            continue;                        /* read and checked, not restored */
        }
        if (s->use_map) {
            m = vma_map_find(&s->map, di->name);
            if (!m) {
                return vma_fail(err, -ENOENT, "no device name mapping for '%s': the map "
                                "has no line for it", di->name);
            }
            if (!m->path) {
                continue;                    /* skip= */
            }
            if ((ret = open_map_target(s, id, di, m, &flags, err)) < 0) {
                return ret;
            }
            path = m->path;
        } else {
            if ((ret = vma_name_check("device", di->name, err)) < 0) {
                return ret;
            }
            if (asprintf(&file, "tmp-disk-%s.raw", di->name) < 0) {
                return vma_fail(err, -ENOMEM, "out of memory");
            }
            ret = create_file(s, file, &s->fds[id], err);
            if (ret == 0 && ftruncate(s->fds[id], (off_t)di->size) < 0) {
                ret = vma_fail(err, -errno, "cannot size '%s' to %llu bytes: %s", file,
                               (unsigned long long)di->size, strerror(errno));
            }
            if (ret < 0) {
                free(file);
                return ret;
            }
            s->tmp_name[id] = file;
            path = s->made[s->nmade - 1].path;
            flags = VMA_TARGET_FRESH;           /* created here, all holes */
        }
        if (opts->on_device) {
            opts->on_device(opts->progress_opaque, path, di->size);
        }
        ret = vma_reader_set_target(s->r, id, s->fds[id], flags, err);
        if (ret == 0 && m && m->throttling_bps) {
            ret = vma_reader_set_throttle(s->r, id, throttle_for(s, m), err);
        }
        if (ret < 0) {
            return ret;
        }
    }
    return 0;
}

/* tmp-disk-<name>.raw -> disk-<name>.raw, once the restore is complete. */
static int rename_disks(extract_state *s, vma_error *err)
{
    for (unsigned id = 1; id < 255; id++) {
        char *from, *to;
        int ret = 0;

        if (!s->tmp_name[id]) {
            continue;
        }
        if (asprintf(&from, "%s/%s", s->dir, s->tmp_name[id]) < 0) {
            return vma_fail(err, -ENOMEM, "out of memory");
        }
        if (asprintf(&to, "%s/%s", s->dir, s->tmp_name[id] + 4) < 0) {
            free(from);
            return vma_fail(err, -ENOMEM, "out of memory");
        }
        /* Track the new name first: a signal during the rename finds one
         * of the two names. */
        ret = track(s, to, false, err);
        if (ret == 0 && renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) < 0) {
            ret = vma_fail(err, -errno, "rename %s to %s failed: %s", from, to,
                           strerror(errno));
        }
        free(from);
        free(to);
        if (ret < 0) {
            return ret;
        }
    }
    return 0;
}

static int extract(const char *archive, const char *dir,
                   const vma_extract_options *opts, vma_error *err)
{
    vma_extract_options no_opts = { 0 };
    extract_state s = { 0 };
    int ret;

    if (!opts) {
        opts = &no_opts;
    }
    for (unsigned id = 0; id < 256; id++) {
        s.fds[id] = -1;
    }
    s.dir = dir;
    s.use_map = opts->map_path != NULL;
    s.r = vma_reader_open(archive, err);
    if (!s.r) {
        return err ? err->code : -EINVAL;
    }
    /* Refuse an existing directory before registering the name, so a
     * signal can never remove a directory that is not ours. */
    struct stat st;

    ret = lstat(dir, &st) == 0
              ? vma_fail(err, -EEXIST, "target directory '%s' already exists", dir)
              : track(&s, dir, true, err);
    if (ret == 0 && mkdir(dir, 0777) < 0) {
        int e = errno;

        untrack_last(&s);
        ret = e == EEXIST ? vma_fail(err, -EEXIST, "target directory '%s' already exists",
                                     dir)
                          : vma_fail(err, -e, "cannot create target directory '%s': %s",
                                     dir, strerror(e));
    }
    if (ret == 0) {
        ret = write_configs(&s, err);
    }
    if (ret == 0 && opts->on_header) {
        opts->on_header(opts->progress_opaque, s.r);
    }
    if (ret == 0 && s.use_map) {
        ret = vma_map_read(&s.map, opts->map_path, err);
    }
    if (ret == 0) {
        ret = open_targets(&s, opts, err);
    }
    if (ret == 0) {
        vma_reader_set_progress(s.r, opts->progress, opts->progress_opaque);
        ret = vma_reader_restore(s.r, err);
    }
    for (unsigned id = 0; id < 256; id++) {
        if (s.fds[id] >= 0 && close(s.fds[id]) < 0 && ret == 0) {
            ret = vma_fail(err, -errno, "closing the target of dev_id %u failed: %s", id,
                           strerror(errno));
        }
    }
    if (ret == 0) {
        ret = rename_disks(&s, err);
    }
    if (ret == 0 && opts->on_done) {
        opts->on_done(opts->progress_opaque, s.r);
    }
    if (ret < 0) {
        remove_created(&s);
    } else {
        keep_created(&s);
    }
    for (unsigned id = 0; id < 256; id++) {
        free(s.tmp_name[id]);
    }
    vma_map_free(&s.map);
    vma_reader_free(s.r);
    return ret;
}

int vma_extract_archive(const char *archive, const char *dir,
                        const vma_extract_options *opts, vma_error *err)
{
    char *target;
    size_t len;
    int ret;

    if (!dir || !*dir) {
        return vma_fail(err, -EINVAL, "no target directory given");
    }
    /* "out/" names the same directory as "out". */
    target = strdup(dir);
    if (!target) {
        return vma_fail(err, -ENOMEM, "out of memory");
    }
    len = strlen(target);
    while (len > 1 && target[len - 1] == '/') {
        target[--len] = 0;
    }
    ret = extract(archive, target, opts, err);
    free(target);
    return ret;
}

int vma_verify_archive(const char *archive, vma_progress_fn progress, void *opaque,
                       vma_error *err)
{
    vma_reader *r = vma_reader_open(archive, err);
    int ret;

    if (!r) {
        return err ? err->code : -EINVAL;
    }
    vma_reader_set_progress(r, progress, opaque);
    ret = vma_reader_restore(r, err);
    vma_reader_free(r);
    return ret;
}
