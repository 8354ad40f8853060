// SPDX-License-Identifier: GPL-2.0-or-later
/* `vma extract` and `vma verify` over the reader: all-or-nothing extraction
 * into a new directory. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vma/vma_int.h"

typedef struct map_entry {
    char *name;
    char *path;              /* NULL: skip */
    bool write_zeroes;
} map_entry;

typedef struct extract_state {
    vma_reader *r;
    char *tmp_dir;
    map_entry *map;
    unsigned map_count;
    int fds[256];
    char *created[256];      /* map targets this run created */
} extract_state;

static void free_map(extract_state *s)
{
    for (unsigned i = 0; i < s->map_count; i++) {
        free(s->map[i].name);
        free(s->map[i].path);
    }
    free(s->map);
}

static int parse_map(extract_state *s, const char *map_path, vma_error *err)
{
    FILE *f = fopen(map_path, "r");
    char line[8192];
    unsigned lineno = 0;
    int ret = 0;

    if (!f) {
        return vma_fail(err, -errno, "cannot open map file '%s': %s", map_path,
                        strerror(errno));
    }
    while (fgets(line, sizeof(line), f)) {
        size_t len = strlen(line);
        map_entry e = { 0 };
        const char *p = line;
        const char *eq;

        lineno++;
        if (len && line[len - 1] == '\n') {
            line[--len] = 0;
        }
        if (len == 0 || strcmp(line, "done") == 0) {
            break;
        }
        if (strncmp(p, "format=raw:", 11) == 0) {
            p += 11;
        }
        if (strncmp(p, "skip=", 5) == 0) {
            e.name = strdup(p + 5);
        } else if ((p[0] == '0' || p[0] == '1') && p[1] == ':' &&
                   (eq = strchr(p + 2, '=')) && eq > p + 2 && eq[1]) {
            e.write_zeroes = p[0] == '1';
            e.name = strndup(p + 2, (size_t)(eq - (p + 2)));
            e.path = strdup(eq + 1);
        } else {
            ret = vma_fail(err, -EINVAL, "map file '%s' line %u: cannot parse '%s' "
                           "(expected 0:<name>=<path>, 1:<name>=<path> or skip=<name>)",
                           map_path, lineno, line);
            break;
        }
        bool skip = e.path == NULL && strncmp(p, "skip=", 5) == 0;
        map_entry *grown = NULL;

        if (e.name && (skip || e.path)) {
            grown = realloc(s->map, (s->map_count + 1) * sizeof(*grown));
        }
        if (!grown) {
            free(e.name);
            free(e.path);
            ret = vma_fail(err, -ENOMEM, "out of memory reading the map file");
            break;
        }
        s->map = grown;
        s->map[s->map_count++] = e;
    }
    fclose(f);
    return ret;
}

static const map_entry *find_map(const extract_state *s, const char *name)
{
    for (unsigned i = 0; i < s->map_count; i++) {
        if (strcmp(s->map[i].name, name) == 0) {
            return &s->map[i];
        }
    }
    return NULL;
}

/* A name from the archive used as a file name inside the target directory. */
static int check_file_name(const char *what, const char *name, vma_error *err)
{
    if (!*name || strchr(name, '/') || strcmp(name, ".") == 0 ||
        strcmp(name, "..") == 0) {
        return vma_fail(err, -EINVAL, "%s name '%s' cannot be used as a file name",
                        what, name);
    }
    return 0;
}

static int create_in_tmp(extract_state *s, const char *name, int *fd, vma_error *err)
{
    char *path;

    if (asprintf(&path, "%s/%s", s->tmp_dir, name) < 0) {
        return vma_fail(err, -ENOMEM, "out of memory");
    }
    *fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (*fd < 0) {
        int e = errno;

        free(path);
        return vma_fail(err, -e, "cannot create '%s' in the target directory: %s", name,
                        strerror(e));
    }
    free(path);
    return 0;
}

static int write_configs(extract_state *s, vma_error *err)
{
    for (unsigned i = 0; i < vma_reader_config_count(s->r); i++) {
        const vma_config_info *c = vma_reader_config(s->r, i);
        int fd, ret;

        if ((ret = check_file_name("config", c->name, err)) < 0 ||
            (ret = create_in_tmp(s, c->name, &fd, err)) < 0) {
            return ret;
        }
        ret = vma_write_all(fd, c->data, c->len);
        close(fd);
        if (ret < 0) {
            return vma_fail(err, ret, "writing config '%s' failed: %s", c->name,
                            strerror(-ret));
        }
    }
    return 0;
}

static int open_targets(extract_state *s, bool use_map, vma_error *err)
{
    for (unsigned id = 1; id < 255; id++) {
        const vma_device_info *di = vma_reader_device(s->r, id);
        unsigned flags = 0;
        int ret;

        if (!di) {
            continue;
        }
        if (di->is_vmstate) {
            ret = create_in_tmp(s, "vmstate.bin", &s->fds[id], err);
        } else if (use_map) {
            const map_entry *m = find_map(s, di->name);

            if (!m) {
                return vma_fail(err, -ENOENT, "the map file has no line for device '%s'",
                                di->name);
            }
            if (!m->path) {
                continue;                    /* skip: checked, not restored */
            }
            flags = m->write_zeroes ? VMA_TARGET_WRITE_ZEROES : 0;
            s->fds[id] = open(m->path, O_WRONLY | O_CLOEXEC);
            if (s->fds[id] < 0 && errno == ENOENT) {
                s->fds[id] = open(m->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
                if (s->fds[id] >= 0) {
                    s->created[id] = strdup(m->path);
                }
            }
            if (s->fds[id] < 0) {
                return vma_fail(err, -errno, "cannot open target '%s' for device '%s': %s",
                                m->path, di->name, strerror(errno));
            }
            ret = 0;
        } else {
            char file[VMA_MAX_BLOB_SIZE + 16];

            if ((ret = check_file_name("device", di->name, err)) < 0) {
                return ret;
            }
            snprintf(file, sizeof(file), "disk-%s.raw", di->name);
            ret = create_in_tmp(s, file, &s->fds[id], err);
        }
        if (ret == 0) {
            ret = vma_reader_set_target(s->r, id, s->fds[id], flags, err);
        }
        if (ret < 0) {
            return ret;
        }
    }
    return 0;
}

static void remove_tmp_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;

    while (d && (de = readdir(d))) {
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
            unlinkat(dirfd(d), de->d_name, 0);
        }
    }
    if (d) {
        closedir(d);
    }
    rmdir(dir);
}

/* A temporary directory next to dir, so the final rename stays on one file
 * system. */
static char *make_tmp_dir(const char *dir, vma_error *err)
{
    const char *slash = strrchr(dir, '/');
    char *tmpl;
    int n;

    if (slash) {
        n = asprintf(&tmpl, "%.*s/.%s.vma-tmp-XXXXXX", (int)(slash - dir), dir, slash + 1);
    } else {
        n = asprintf(&tmpl, ".%s.vma-tmp-XXXXXX", dir);
    }
    if (n < 0) {
        vma_fail(err, -ENOMEM, "out of memory");
        return NULL;
    }
    if (!mkdtemp(tmpl)) {
        vma_fail(err, -errno, "cannot create a temporary directory beside '%s': %s", dir,
                 strerror(errno));
        free(tmpl);
        return NULL;
    }
    return tmpl;
}

static int extract(const char *archive, const char *dir,
                   const vma_extract_options *opts, vma_error *err)
{
    vma_extract_options no_opts = { 0 };
    extract_state s = { 0 };
    struct stat st;
    int ret;

    if (!opts) {
        opts = &no_opts;
    }
    for (unsigned id = 0; id < 256; id++) {
        s.fds[id] = -1;
    }
    if (lstat(dir, &st) == 0) {
        return vma_fail(err, -EEXIST, "target directory '%s' already exists", dir);
    }
    s.r = vma_reader_open(archive, err);
    if (!s.r) {
        return err ? err->code : -EINVAL;
    }
    if (opts->on_header) {
        opts->on_header(opts->progress_opaque, s.r);
    }
    ret = opts->map_path ? parse_map(&s, opts->map_path, err) : 0;
    if (ret == 0) {
        s.tmp_dir = make_tmp_dir(dir, err);
        ret = s.tmp_dir ? 0 : (err ? err->code : -EIO);
    }
    if (ret == 0) {
        ret = write_configs(&s, err);
    }
    if (ret == 0) {
        ret = open_targets(&s, opts->map_path != NULL, err);
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
    if (ret == 0 && renameat2(AT_FDCWD, s.tmp_dir, AT_FDCWD, dir, RENAME_NOREPLACE) < 0) {
        ret = vma_fail(err, -errno, "renaming '%s' to '%s' failed: %s", s.tmp_dir, dir,
                       strerror(errno));
    }
    if (ret < 0) {
        if (s.tmp_dir) {
            remove_tmp_dir(s.tmp_dir);
        }
        for (unsigned id = 0; id < 256; id++) {
            if (s.created[id]) {
                unlink(s.created[id]);
            }
        }
    }
    for (unsigned id = 0; id < 256; id++) {
        free(s.created[id]);
    }
    free(s.tmp_dir);
    free_map(&s);
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
