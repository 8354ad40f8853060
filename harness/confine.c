/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Path confinement (see confine.h). */
#include "harness/confine.h"

#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int refuse(char **why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int refuse(char **why, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(why, fmt, ap) < 0)
        *why = NULL;
    va_end(ap);
    return -1;
}

/* "/a/./b//c/../d" -> "/a/b/d" in place; path is absolute. ".." above
 * the root stays at the root, as the kernel does. */
static void normalise(char *path)
{
    char *out = path, *in = path;
    while (*in) {
        while (*in == '/')
            in++;
        if (!*in)
            break;
        char *end = strchrnul(in, '/');
        size_t n = (size_t)(end - in);
        if (n == 1 && in[0] == '.') {
            /* nothing */
        } else if (n == 2 && in[0] == '.' && in[1] == '.') {
            while (out > path && *--out != '/')
                ;
        } else {
            *out++ = '/';
            memmove(out, in, n);
            out += n;
        }
        in = end;
    }
    if (out == path)
        *out++ = '/';
    *out = '\0';
}

/* realpath() of the longest existing ancestor of the normalised absolute
 * path p, with the rest appended; malloc'd. */
static char *resolve(const char *p)
{
    char *copy = strdup(p);
    if (!copy)
        return NULL;
    size_t n = strlen(copy);
    for (;;) {
        char *real = realpath(copy, NULL);
        if (real) {
            char *out;
            const char *rest = p + n;
            if (asprintf(&out, "%s%s", strcmp(real, "/") ? real : "", rest) < 0)
                out = NULL;
            free(real);
            free(copy);
            return out;
        }
        char *slash = strrchr(copy, '/');
        if (!slash || slash == copy) {
            free(copy);
            return strdup(p);   /* nothing exists but the root */
        }
        *slash = '\0';
        n = (size_t)(slash - copy);
    }
}

static int inside(const char *dir, const char *p)
{
    size_t n = strlen(dir);
    if (n == 1 && dir[0] == '/')
        return 1;
    return strncmp(p, dir, n) == 0 && (p[n] == '\0' || p[n] == '/');
}

/* resolve(dir), asked once per test directory: a case confines hundreds of
 * paths, and realpath costs a readlink per component. */
static char *resolve_test_dir(const char *dir)
{
    static char *for_dir, *real;
    if (!for_dir || strcmp(for_dir, dir)) {
        free(for_dir);
        free(real);
        for_dir = strdup(dir);
        real = resolve(dir);
        if (!for_dir || !real) {
            free(for_dir);
            free(real);
            for_dir = real = NULL;
            return NULL;
        }
    }
    return strdup(real);
}

/* resolve(p) for a p lexically inside dir, whose real path is real_dir:
 * the components below dir are looked at one by one, and where none is a
 * symbolic link (the first missing one ends the walk: nothing below it
 * exists), p's real path is real_dir with the rest appended. NULL when a
 * link or an unexpected error needs resolve()'s whole walk. */
static char *resolve_below(const char *dir, const char *real_dir, const char *p)
{
    size_t n = strlen(dir) == 1 ? 0 : strlen(dir);
    char *walk = strdup(p);
    if (!walk)
        return NULL;
    for (size_t at = n; p[at];) {
        size_t end = at + 1;
        while (p[end] && p[end] != '/')
            end++;
        walk[end] = '\0';
        struct stat st;
        int r = lstat(walk, &st);
        walk[end] = p[end];
        if (r != 0) {
            if (errno == ENOENT)
                break;
            free(walk);
            return NULL;
        }
        if (S_ISLNK(st.st_mode)) {
            free(walk);
            return NULL;
        }
        at = end;
    }
    free(walk);
    char *out;
    if (asprintf(&out, "%s%s", strcmp(real_dir, "/") ? real_dir : "", p + n) < 0)
        return NULL;
    return out;
}

int confine_path(const char *test_dir, const char *path, int relative_ok, char **why)
{
    *why = NULL;
    if (!test_dir || test_dir[0] != '/')
        return refuse(why, "no test directory to keep '%s' in", path);
    if (path[0] != '/' && !relative_ok)
        return refuse(why, "'%s' is not an absolute path inside the test directory %s", path,
                      test_dir);
    char *abs, *dir = strdup(test_dir);
    if (!dir || asprintf(&abs, "%s%s%s", path[0] == '/' ? "" : test_dir,
                         path[0] == '/' ? "" : "/", path) < 0) {
        free(dir);
        return refuse(why, "out of memory");
    }
    normalise(abs);
    normalise(dir);
    char *real_dir = NULL, *real_abs = NULL;
    if (inside(dir, abs)) {
        real_dir = resolve_test_dir(dir);
        real_abs = real_dir ? resolve_below(dir, real_dir, abs) : NULL;
        if (!real_abs)
            real_abs = resolve(abs);
    }
    int ok = real_abs && real_dir && inside(real_dir, real_abs);
    if (!ok)
        refuse(why, "'%s' is outside the test directory %s", path, test_dir);
    free(abs);
    free(dir);
    free(real_abs);
    free(real_dir);
    return ok ? 0 : -1;
}

static int is_file_key(const char *command, const char *key)
{
    /* qom-set/qom-get's "path" is a QOM path (/machine/peripheral/ID) */
    if (!strncmp(command, "qom-", 4) && !strcmp(key, "path"))
        return 0;
    static const char *const keys[] = {
        "filename", "backup-file", "config-filename", "snapshot-file", "backing-file", "path",
        NULL
    };
    for (const char *const *k = keys; *k; k++)
        if (!strcmp(key, *k))
            return 1;
    /* elsewhere "target" names a node */
    return !strcmp(key, "target") &&
           (!strcmp(command, "drive-backup") || !strcmp(command, "drive-mirror"));
}

static int check_piece(const char *test_dir, const char *s, char **why);

/* An HMP command line: its other words name nodes, QOM paths (qemu-io -d
 * /machine/peripheral/sda) and qemu-io commands; the host files are the
 * file= and filename= options (drive_add 0 if=none,file=PATH). */
static int confine_hmp_line(const char *test_dir, const char *line, char **why)
{
    char *copy = strdup(line), *rest = copy, *tok;
    int r = 0;
    if (!copy)
        return refuse(why, "out of memory");
    while (r == 0 && (tok = strsep(&rest, " \t,\"'")) != NULL) {
        if (!strncmp(tok, "file=", 5))
            r = check_piece(test_dir, tok + 5, why);
        else if (!strncmp(tok, "filename=", 9))
            r = check_piece(test_dir, tok + 9, why);
    }
    free(copy);
    return r;
}

int confine_words(const char *test_dir, const char *line, char **why)
{
    char *copy = strdup(line), *rest = copy, *tok;
    int r = 0;
    if (!copy)
        return refuse(why, "out of memory");
    while (r == 0 && (tok = strsep(&rest, " \t,\"'")) != NULL) {
        const char *eq = strchr(tok, '=');
        if (!*tok || tok[0] == '-')
            continue;
        r = check_piece(test_dir, tok, why);
        if (r == 0 && eq)
            r = check_piece(test_dir, eq + 1, why);
    }
    free(copy);
    return r;
}

static int walk_qmp(const char *test_dir, const char *command, struct json_object *v,
                    int depth, char **why)
{
    if (depth > 64)
        return refuse(why, "arguments nested too deeply");
    if (json_object_is_type(v, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(v); i++)
            if (walk_qmp(test_dir, command, json_object_array_get_idx(v, i), depth + 1, why) < 0)
                return -1;
        return 0;
    }
    if (!json_object_is_type(v, json_type_object))
        return 0;
    json_object_object_foreach(v, key, val) {
        if (!strcmp(command, "human-monitor-command") && !strcmp(key, "command-line") &&
            json_object_is_type(val, json_type_string)) {
            char *inner = NULL;
            if (confine_hmp_line(test_dir, json_object_get_string(val), &inner) < 0) {
                refuse(why, "command-line: %s", inner ? inner : "refused");
                free(inner);
                return -1;
            }
        } else if (is_file_key(command, key) && json_object_is_type(val, json_type_string)) {
            char *inner = NULL;
            if (confine_path(test_dir, json_object_get_string(val), 0, &inner) < 0) {
                refuse(why, "%s: %s", key, inner ? inner : "refused");
                free(inner);
                return -1;
            }
        } else if (walk_qmp(test_dir, command, val, depth + 1, why) < 0) {
            return -1;
        }
    }
    return 0;
}

int confine_qmp_args(const char *test_dir, const char *command, struct json_object *args,
                     char **why)
{
    *why = NULL;
    return args ? walk_qmp(test_dir, command, args, 0, why) : 0;
}

static int path_like(const char *s)
{
    return strchr(s, '/') || !strcmp(s, "..");
}

static int check_piece(const char *test_dir, const char *s, char **why)
{
    return path_like(s) ? confine_path(test_dir, s, 1, why) : 0;
}

int confine_tool_args(const char *test_dir, char *const argv[], int *bad, char **why)
{
    *why = NULL;
    for (int i = 1; argv[i]; i++) {
        const char *a = argv[i], *eq = strchr(a, '=');
        int r = 0;
        if (a[0] != '-')
            r = check_piece(test_dir, a, why);
        if (r == 0 && eq)
            r = check_piece(test_dir, eq + 1, why);
        if (r == 0 && a[0] == '-' && a[1] && a[1] != '-')
            r = check_piece(test_dir, a + 2, why);
        if (r < 0) {
            *bad = i;
            return -1;
        }
    }
    return 0;
}
