// SPDX-License-Identifier: GPL-2.0-or-later
/* The restore map parser (see vma_map.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vma/vma_int.h"
#include "vma/vma_map.h"

static void free_entry(vma_map_entry *e)
{
    free(e->devname);
    free(e->path);
    free(e->format);
    free(e->throttling_group);
    free(e->cache);
}

void vma_map_free(vma_map *map)
{
    for (unsigned i = 0; i < map->count; i++) {
        free_entry(&map->entries[i]);
    }
    free(map->entries);
    map->entries = NULL;
    map->count = 0;
}

const vma_map_entry *vma_map_find(const vma_map *map, const char *devname)
{
    for (unsigned i = 0; i < map->count; i++) {
        if (strcmp(map->entries[i].devname, devname) == 0) {
            return &map->entries[i];
        }
    }
    return NULL;
}

/* An option's value: up to the next ':'; *p moves past it. */
static int take_option(char **p, char **out, const char *key, const char *source,
                       unsigned lineno, vma_error *err)
{
    char *colon = strchr(*p, ':');

    if (*out) {
        return vma_fail(err, -EINVAL, "%s line %u: option '%s' given twice", source,
                        lineno, key);
    }
    if (!colon) {
        return vma_fail(err, -EINVAL, "%s line %u: option '%s' is not followed by ':'",
                        source, lineno, key);
    }
    if (colon == *p) {
        return vma_fail(err, -EINVAL, "%s line %u: option '%s' has an empty value",
                        source, lineno, key);
    }
    *out = strndup(*p, (size_t)(colon - *p));
    if (!*out) {
        return vma_fail(err, -ENOMEM, "out of memory");
    }
    *p = colon + 1;
    return 0;
}

/* One line (NUL-terminated, without its newline). 1: the map ends here. */
static int parse_line(vma_map *map, char *line, const char *source, unsigned lineno,
                      vma_error *err)
{
    vma_map_entry e = { 0 };
    char *p = line, *bps = NULL, *eq, *end;
    size_t len = strlen(line);
    int ret = 0;

    /* Surrounding white space does not count, as in the reference. */
    while (len && (line[len - 1] == ' ' || line[len - 1] == '\t' ||
                   line[len - 1] == '\r')) {
        line[--len] = 0;
    }
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    if (*p == 0 || strcmp(p, "done") == 0) {
        return 1;
    }
    e.line = lineno;
    for (;;) {
        if (strncmp(p, "format=", 7) == 0) {
            p += 7;
            ret = take_option(&p, &e.format, "format", source, lineno, err);
        } else if (strncmp(p, "throttling.bps=", 15) == 0) {
            p += 15;
            ret = take_option(&p, &bps, "throttling.bps", source, lineno, err);
        } else if (strncmp(p, "throttling.group=", 17) == 0) {
            p += 17;
            ret = take_option(&p, &e.throttling_group, "throttling.group", source,
                              lineno, err);
        } else if (strncmp(p, "cache=", 6) == 0) {
            p += 6;
            ret = take_option(&p, &e.cache, "cache", source, lineno, err);
        } else {
            break;
        }
        if (ret < 0) {
            goto out;
        }
    }
    if (bps) {
        errno = 0;
        e.throttling_bps = strtoull(bps, &end, 10);
        if (errno || *end || bps[0] < '0' || bps[0] > '9') {
            ret = vma_fail(err, -EINVAL, "%s line %u: throttling.bps '%s' is not a "
                           "number of bytes per second below 2^64", source, lineno, bps);
            goto out;
        }
    }
    if (strncmp(p, "skip=", 5) == 0) {
        e.devname = strdup(p + 5);
    } else if ((p[0] == '0' || p[0] == '1') && p[1] == ':') {
        e.write_zeroes = p[0] == '1';
        p += 2;
        eq = strchr(p, '=');
        if (!eq || eq == p) {
            ret = vma_fail(err, -EINVAL, "%s line %u: no device name before '=' (expected "
                           "0|1:<devname>=<path>)", source, lineno);
            goto out;
        }
        if (!eq[1]) {
            ret = vma_fail(err, -EINVAL, "%s line %u: no path after '%.*s='", source,
                           lineno, (int)(eq - p > 200 ? 200 : eq - p), p);
            goto out;
        }
        e.devname = strndup(p, (size_t)(eq - p));
        e.path = strdup(eq + 1);
        if (!e.path) {
            ret = vma_fail(err, -ENOMEM, "out of memory");
            goto out;
        }
    } else {
        ret = vma_fail(err, -EINVAL, "%s line %u: cannot parse '%.200s' (expected "
                       "[format=F:][throttling.bps=N:][throttling.group=G:][cache=C:]"
                       "0|1:<devname>=<path>, skip=<devname> or done)", source, lineno,
                       line);
        goto out;
    }
    if (!e.devname) {
        ret = vma_fail(err, -ENOMEM, "out of memory");
        goto out;
    }
    if ((ret = vma_name_check("device", e.devname, err)) < 0) {
        if (err) {
            char msg[sizeof(err->msg)];

            memcpy(msg, err->msg, sizeof(msg));
            vma_fail(err, ret, "%.200s line %u: %.280s", source, lineno, msg);
        }
        goto out;
    }
    if (vma_map_find(map, e.devname)) {
        ret = vma_fail(err, -EINVAL, "%s line %u: device '%s' is mapped twice", source,
                       lineno, e.devname);
        goto out;
    }
    vma_map_entry *grown = realloc(map->entries, (map->count + 1) * sizeof(*grown));

    if (!grown) {
        ret = vma_fail(err, -ENOMEM, "out of memory reading the map");
        goto out;
    }
    map->entries = grown;
    map->entries[map->count++] = e;
    free(bps);
    return 0;

out:
    free(bps);
    free_entry(&e);
    return ret;
}

static int check_line(const char *line, size_t len, const char *source, unsigned lineno,
                      vma_error *err)
{
    if (len > VMA_MAP_LINE_MAX) {
        return vma_fail(err, -E2BIG, "%s line %u is longer than %u bytes", source, lineno,
                        VMA_MAP_LINE_MAX);
    }
    if (memchr(line, 0, len)) {
        return vma_fail(err, -EINVAL, "%s line %u contains a NUL byte", source, lineno);
    }
    return 0;
}

int vma_map_parse(vma_map *map, const char *text, size_t len, const char *source,
                  vma_error *err)
{
    unsigned lineno = 0;
    size_t pos = 0;

    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t llen = nl ? (size_t)(nl - (text + pos)) : len - pos;
        char *line;
        int ret;

        lineno++;
        if ((ret = check_line(text + pos, llen, source, lineno, err)) < 0) {
            return ret;
        }
        line = strndup(text + pos, llen);
        if (!line) {
            return vma_fail(err, -ENOMEM, "out of memory");
        }
        ret = parse_line(map, line, source, lineno, err);
        free(line);
        if (ret != 0) {
            return ret < 0 ? ret : 0;
        }
        pos += llen + (nl ? 1 : 0);
    }
    return 0;
}

int vma_map_read(vma_map *map, const char *path, vma_error *err)
{
    FILE *f = fopen(path, "re");
    char *line = malloc(VMA_MAP_LINE_MAX + 2);
    unsigned lineno = 0;
    int ret = 0, c = 0;
    char source[300];

    snprintf(source, sizeof(source), "map '%.280s'", path);
    if (!f || !line) {
        ret = f ? vma_fail(err, -ENOMEM, "out of memory")
                : vma_fail(err, -errno, "cannot open map file '%s': %s", path,
                           strerror(errno));
        goto out;
    }
    /* Whole lines, however long: a line over the limit is an error, never
     * two lines; and nothing is read past the line that ends the map. */
    while (c != EOF) {
        size_t len = 0;

        while ((c = getc(f)) != EOF && c != '\n') {
            if (len <= VMA_MAP_LINE_MAX) {
                line[len] = (char)c;
            }
            len++;
        }
        if (c == EOF && len == 0) {
            break;
        }
        lineno++;
        if (len > VMA_MAP_LINE_MAX) {
            ret = vma_fail(err, -E2BIG, "%s line %u is longer than %u bytes", source,
                           lineno, VMA_MAP_LINE_MAX);
            break;
        }
        line[len] = 0;
        if ((ret = check_line(line, len, source, lineno, err)) < 0) {
            break;
        }
        ret = parse_line(map, line, source, lineno, err);
        if (ret != 0) {
            ret = ret < 0 ? ret : 0;
            break;
        }
    }
    if (ret == 0 && ferror(f)) {
        ret = vma_fail(err, -EIO, "reading map file '%s' failed", path);
    }
out:
    free(line);
    if (f) {
        fclose(f);
    }
    return ret;
}
