/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The simulator backend: harness/backend.h's operations over the simulated
 * machine (sim_int.h). Deterministic: the same calls give the same answers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <poll.h>
#include <sys/stat.h>

#include "sim/sim_int.h"

static sim *to_sim(bs_backend *b)
{
    return (sim *)b;
}

static void events_clear(sim *s)
{
    while (s->ev_head) {
        sim_event *e = s->ev_head;
        s->ev_head = e->next;
        json_object_put(e->ev);
        free(e);
    }
    s->ev_tail = NULL;
}

static void machine_reset(sim *s)
{
    /* persistent bitmaps go back into their qcow2 images at shutdown */
    for (sim_node *n = s->nodes; n; n = n->next) {
        persist_store(n);
    }
    /* stored once, as a close does: node_remove below must not store again
     * (nor look at file children it has freed by then) */
    for (sim_node *n = s->nodes; n; n = n->next) {
        n->read_only = true;
    }
    nbd_stop_all(s);
    iothread_free_all(s);
    pve_free(s);
    jobs_free_all(s);
    blk_free_all(s);
    while (s->nodes) {
        node_remove(s, s->nodes);
    }
    throttle_groups_free(s);
    events_clear(s);
}

static int sim_launch(bs_backend *b, char **err)
{
    sim *s = to_sim(b);
    machine_reset(s);
    s->running = true;
    s->vm_stopped = false;
    sim_vm_log_drop(s);         /* a new QEMU process, a new log */
    return 0;
}

/* -blockdev's keyval syntax (a.b=v,c=w) as the nested JSON object
 * blockdev-add takes; every value a string. NULL on a malformed one. */
static json_object *keyval_parse(const char *spec)
{
    json_object *root = json_object_new_object();
    char *copy = xstrdup(spec), *save = NULL;
    for (char *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        if (!eq || eq == kv) {
            json_object_put(root);
            free(copy);
            return NULL;
        }
        *eq = '\0';
        json_object *obj = root;
        char *key = kv;
        for (char *dot = strchr(key, '.'); dot; key = dot + 1, dot = strchr(key, '.')) {
            *dot = '\0';
            json_object *sub = NULL;
            if (!json_object_object_get_ex(obj, key, &sub)) {
                sub = json_object_new_object();
                json_object_object_add(obj, key, sub);
            } else if (!json_object_is_type(sub, json_type_object)) {
                json_object_put(root);
                free(copy);
                return NULL;
            }
            obj = sub;
        }
        json_object_object_add(obj, key, json_object_new_string(eq + 1));
    }
    free(copy);
    return root;
}

/* Start the VM with a command line: -blockdev is blockdev-add at start-up
 * (before the devices, as in QEMU); -S changes nothing we model; the rest
 * (-drive, -device, -object, -machine, -accel) is drive.c's. */
static int sim_launch_args(bs_backend *b, const char *const *argv, size_t argc, char **err)
{
    sim *s = to_sim(b);
    const char **rest = calloc(argc + 1, sizeof *rest);
    size_t nrest = 0;
    if (!rest || sim_launch(b, err) < 0) {
        free(rest);
        return -1;
    }
    for (size_t i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "-S")) {
            continue;
        }
        if (strcmp(argv[i], "-blockdev")) {
            rest[nrest++] = argv[i];
            continue;
        }
        if (i + 1 >= argc) {
            *err = xstrdup("qemu-system-x86_64: -blockdev: requires an argument");
            goto fail;
        }
        const char *val = argv[++i];
        json_object *o = keyval_parse(val);
        if (!o) {
            *err = xasprintf("qemu-system-x86_64: -blockdev %s: Invalid parameter list", val);
            goto fail;
        }
        json_object *r = sim_dispatch(s, "blockdev-add", o), *e = NULL, *d = NULL;
        json_object_put(o);
        if (json_object_object_get_ex(r, "error", &e)) {
            json_object_object_get_ex(e, "desc", &d);
            *err = xasprintf("qemu-system-x86_64: -blockdev %s: %s", val,
                             json_object_get_string(d));
            json_object_put(r);
            goto fail;
        }
        json_object_put(r);
    }
    if (drive_launch_args(s, rest, nrest, err) < 0) {
        goto fail;
    }
    free(rest);
    return 0;
fail:
    free(rest);
    machine_reset(s);
    s->running = false;
    return -1;
}

static int sim_img_run_op(bs_backend *b, const char *const *argv, size_t argc, char **out,
                          char **errout, char **err)
{
    return sim_img_run(to_sim(b), argv, argc, out, errout);
}

static int sim_file_xor(bs_backend *b, const char *path, uint64_t off, uint8_t mask, char **err)
{
    sim_file *f = fs_lookup(to_sim(b), path);
    if (!f) {
        *err = xasprintf("%s: No such file or directory", path);
        return -1;
    }
    if (off >= f->data.size) {
        *err = xasprintf("%s: offset %llu is past the end of the file", path,
                         (unsigned long long)off);
        return -1;
    }
    q2_file_xor(f, off, mask);
    return 0;
}

static int sim_shutdown(bs_backend *b, char **err)
{
    sim *s = to_sim(b);
    machine_reset(s);
    s->running = false;
    return 0;
}

/* QMP quit: SHUTDOWN, then qemu_cleanup's job_cancel_sync_all */
static struct json_object *sim_quit_events(bs_backend *b, char **err)
{
    sim *s = to_sim(b);
    if (!s->running) {
        *err = xstrdup("the simulated VM is not running");
        return NULL;
    }
    job_speed_qmp_elapsed(s);   /* the quit is a command too: due jobs go on */
    json_object *d = json_object_new_object();
    json_object_object_add(d, "guest", json_object_new_boolean(false));
    json_object_object_add(d, "reason", json_object_new_string("host-qmp-quit"));
    ev_emit(s, "SHUTDOWN", d);
    jobs_cancel_sync_all(s);
    json_object *list = json_object_new_array();
    while (s->ev_head) {
        sim_event *e = s->ev_head;
        s->ev_head = e->next;
        json_object_array_add(list, e->ev);
        free(e);
    }
    s->ev_tail = NULL;
    machine_reset(s);
    s->running = false;
    return list;
}

static int sim_sleep(bs_backend *b, double secs, char **err)
{
    sim *s = to_sim(b);
    if (secs > 0 && secs < 1e6) {
        job_speed_run_for(s, (uint64_t)(secs * 1e9));
    }
    return 0;
}

static struct json_object *sim_dirty_bitmaps(bs_backend *b, char **err)
{
    sim *s = to_sim(b);
    if (!s->running) {
        *err = xstrdup("the simulated VM is not running");
        return NULL;
    }
    return sim_dirty_bitmaps_by_node(s);
}

static struct json_object *sim_qmp(bs_backend *b, const char *command,
                                   struct json_object *args, char **err)
{
    sim *s = to_sim(b);
    if (!s->running) {
        *err = xstrdup("the simulated VM is not running");
        return NULL;
    }
    json_object *r = nbd_dispatch(s, command, args);
    if (!r) {
        r = throttle_dispatch(s, command, args);    /* before iothread's object-add */
    }
    if (!r) {
        r = iothread_dispatch(s, command, args);
    }
    if (!r) {
        r = device_dispatch(s, command, args);
    }
    return r ? r : sim_dispatch(s, command, args);
}

static struct json_object *sim_next_event(bs_backend *b, double timeout_s, char **err)
{
    sim *s = to_sim(b);
    *err = NULL;
    while (!s->ev_head) {
        /* no time to wait: only what has happened already */
        if (timeout_s <= 0 || !jobs_tick(s)) {
            return NULL;
        }
    }
    sim_event *e = s->ev_head;
    s->ev_head = e->next;
    if (!s->ev_head) {
        s->ev_tail = NULL;
    }
    json_object *ev = e->ev;
    free(e);
    return ev;
}

/* A node holds QEMU's "write" lock on the image it has open; qemu-img
 * create cannot take it (and must not pull the image from under the node). */
static bool file_open_by_node(sim *s, const sim_file *f)
{
    for (sim_node *n = s->nodes; n; n = n->next) {
        if (n->f == f || (f->qcow2 && n->q == f->qcow2)) {
            return true;
        }
    }
    return false;
}

static int img_create(bs_backend *b, const char *fmt, const char *path, uint64_t size,
                      const char *backing, const char *backing_fmt, uint64_t cluster_size,
                      char **err)
{
    sim *s = to_sim(b);
    if (!path || path[0] != '/') {
        *err = xasprintf("qemu-img: %s: the simulator wants absolute paths", path ? path : "");
        return -EINVAL;
    }
    sim_file *old = fs_lookup(s, path);
    if (old && file_open_by_node(s, old)) {
        *err = xasprintf("qemu-img: %s: Failed to get \"write\" lock\n"
                         "Is another process using the image [%s]?", path, path);
        return -EBUSY;
    }
    if (backing) {
        char *bp = path_relative_to(path, backing);
        sim_file *bf = fs_lookup(s, bp);
        if (!bf) {
            *err = xasprintf("qemu-img: %s: Could not open '%s': No such file or directory\n"
                             "Could not open backing image.", path, bp);
            free(bp);
            return -ENOENT;
        }
        if (!backing_fmt) {
            /* bdrv_img_create: the backing file is opened (probed), then
             * refused without -F, naming what the probe found */
            *err = xasprintf("qemu-img: %s: Backing file specified without backing format\n"
                             "Detected format of %s.", path, img_probe_format(bf));
            free(bp);
            return -EINVAL;
        }
        if (!size) {
            size = bf->qcow2 ? bf->qcow2->size : bf->data.size;
        }
        free(bp);
    }
    /* qemu-img create rounds the size up to whole sectors (the raw and
     * qcow2 create_opts functions do ROUND_UP(size, BDRV_SECTOR_SIZE)) */
    if (size % 512 && size <= UINT64_MAX - 511) {
        size = (size + 511) & ~511ull;
    }
    if (!strcmp(fmt, "raw")) {
        sim_file *f = fs_create(s, path);
        store_truncate_posix(&f->data, size);
        return 0;
    }
    if (strcmp(fmt, "qcow2")) {
        *err = xasprintf("qemu-img: Unknown file format '%s'", fmt);
        return -EINVAL;
    }
    if (size % 512) {
        *err = xasprintf("qemu-img: %s: Image size must be a multiple of 512 bytes", path);
        return -EINVAL;
    }
    int too_big = q2_size_check(size, cluster_size);
    if (too_big == -EFBIG) {
        *err = xasprintf("qemu-img: %s: The image size is too large for file format 'qcow2' "
                         "(try using a larger cluster size)", path);
        return too_big;
    } else if (too_big) {
        *err = xasprintf("qemu-img: %s: the simulator models qcow2 images of at most %llu "
                         "clusters", path, (unsigned long long)SIM_Q2_MAX_CLUSTERS);
        return too_big;
    }
    sim_file *f = fs_create(s, path);
    f->qcow2 = q2_new(size, cluster_size);
    if (backing) {
        f->qcow2->backing = xstrdup(backing);
        f->qcow2->backing_fmt = backing_fmt ? xstrdup(backing_fmt) : NULL;
    }
    /* qcow2_co_create: header, refcount table and block in one cluster
     * each, then the L1 table, which the file ends with (not padded) */
    uint64_t l1_entries = (f->qcow2->nclusters + cluster_size / 8 - 1) / (cluster_size / 8);
    store_truncate(&f->data, 3 * cluster_size + 8 * l1_entries);
    return 0;
}

static int sim_img_create(bs_backend *b, const char *fmt, const char *path,
                          uint64_t size, const char *backing,
                          const char *backing_fmt, char **err)
{
    return img_create(b, fmt, path, size, backing, backing_fmt, Q2_DEFAULT_CLUSTER_SIZE, err);
}

/* -o: the simulator models qcow2's cluster_size (QEMU's cvtnum suffixes;
 * a power of two from 512 bytes to 2 MiB). */
static int sim_img_create_opts(bs_backend *b, const char *fmt, const char *path, uint64_t size,
                               const char *options, char **err)
{
    uint64_t cs = Q2_DEFAULT_CLUSTER_SIZE;
    char *copy = xstrdup(options), *save = NULL;
    int r = 0;
    for (char *o = strtok_r(copy, ",", &save); o && !r; o = strtok_r(NULL, ",", &save)) {
        char *end;
        if (strncmp(o, "cluster_size=", 13)) {
            *err = xasprintf("qemu-img: the simulator takes only cluster_size in -o, not '%s'", o);
            r = -EINVAL;
            break;
        }
        unsigned long long v = strtoull(o + 13, &end, 10);
        int shift = *end == 'k' || *end == 'K' ? 10 : *end == 'M' || *end == 'm' ? 20 : 0;
        if (shift) {
            end++;
        }
        cs = (uint64_t)v << shift;
        if (*end || end == o + 13 || strcmp(fmt, "qcow2") || cs < 512 || cs > (2u << 20) ||
            (cs & (cs - 1))) {
            *err = xasprintf("qemu-img: %s: Cluster size must be a power of two between 512 "
                             "and 2048k", path);
            r = -EINVAL;
        }
    }
    free(copy);
    return r ? r : img_create(b, fmt, path, size, NULL, NULL, cs, err);
}

static int sim_img_rebase_unsafe(bs_backend *b, const char *path,
                                 const char *backing, char **err)
{
    sim *s = to_sim(b);
    sim_file *f = fs_lookup(s, path);
    if (!f) {
        *err = xasprintf("qemu-img: Could not open '%s': Could not open '%s': "
                         "No such file or directory", path, path);
        return -ENOENT;
    }
    if (file_open_by_node(s, f)) {
        *err = xasprintf("qemu-img: Could not open '%s': Failed to get \"write\" lock\n"
                         "Is another process using the image [%s]?", path, path);
        return -EBUSY;
    }
    if (!f->qcow2) {
        *err = xasprintf("qemu-img: Could not change the backing file to '%s': "
                         "Operation not supported", backing);
        return -ENOTSUP;
    }
    free(f->qcow2->backing);
    f->qcow2->backing = backing && *backing ? xstrdup(backing) : NULL;
    return 0;
}

/* Walk an image's extents over [off, off + n) for the errors a read of that
 * range would meet (a missing backing file). */
static int chain_check(sim *s, const char *path, uint64_t off, uint64_t n)
{
    while (n) {
        uint64_t run;
        bool zero;
        int r = img_chain_extent(s, path, off, n, &run, &zero, NULL, 0);
        if (r < 0) {
            return r;
        }
        off += run;
        n -= run;
    }
    return 0;
}

/* Guest-visible comparison through backing chains; the longer image's tail
 * must read as zeroes. Compared by extents: ranges that read as zeroes on
 * both sides (unallocated, zero clusters, holes) are never materialised. */
static int sim_img_compare(bs_backend *b, const char *pa, const char *pb, char **err)
{
    sim *s = to_sim(b);
    const char *paths[2] = { pa, pb };
    for (int i = 0; i < 2; i++) {
        if (!fs_lookup(s, paths[i])) {
            *err = xasprintf("qemu-img: Could not open '%s': Could not open '%s': "
                             "No such file or directory", paths[i], paths[i]);
            return -ENOENT;
        }
        /* the VM holds its images' write lock; compare wants it shared */
        if (file_open_by_node(s, fs_lookup(s, paths[i]))) {
            *err = xasprintf("qemu-img: Could not open '%s': Failed to get shared \"write\" lock\n"
                             "Is another process using the image [%s]?", paths[i], paths[i]);
            return -EBUSY;
        }
    }
    uint64_t sa = img_guest_size(s, pa), sb = img_guest_size(s, pb);
    uint64_t end = sa > sb ? sa : sb;
    int result = 0;
    /* qemu-img reads 1 MiB at a time: a read error anywhere in a request
     * wins over a mismatch in it */
    const uint64_t step = 1 << 20;
    /* each image's block status from where it was last asked: up to
     * known[i] it reads as zeroes (kz[i]) or may hold data; asked again only
     * past that, so a long run on one side is walked once, however often the
     * other side changes */
    uint64_t known[2] = { 0, 0 };
    bool kz[2] = { false, false };
    for (uint64_t off = 0; off < end && !result; off += step) {
        for (int i = 0; i < 2; i++) {
            uint64_t got;
            bool z;
            if (off >= known[i]) {
                if (img_chain_extent(s, paths[i], off, end - off, &got, &z, NULL, 0) == 0 && got) {
                    known[i] = off + got;
                    kz[i] = z;
                } else {
                    known[i] = off;     /* not known: read it */
                    kz[i] = false;
                }
            }
        }
        /* requests over which both images read as zeroes without an error
         * neither mismatch nor fail: skip them whole */
        if (kz[0] && kz[1] && off < known[0] && off < known[1]) {
            uint64_t skip = ((known[0] < known[1] ? known[0] : known[1]) - off) / step * step;
            if (skip) {
                off += skip - step;
                continue;
            }
        }
        uint64_t n = end - off < step ? end - off : step;
        if (chain_check(s, pa, off, n) < 0 || chain_check(s, pb, off, n) < 0) {
            *err = xasprintf("qemu-img: error while reading a backing file");
            return -EIO;
        }
        /* compared as spans: runs and shared slices cost nothing per byte */
        sim_data da, db;
        data_init(&da);
        data_init(&db);
        img_chain_read_data(s, pa, off, n, &da, 0);
        img_chain_read_data(s, pb, off, n, &db, 0);
        result = !data_equal(&da, &db);
        data_free(&da);
        data_free(&db);
    }
    return result;
}

/* The scratch directory holds only what the backend's own programs made
 * there (archives, extracted images): remove it all. */
static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    return remove(path) < 0 ? -1 : 0;
}

static void remove_tree(const char *dir)
{
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void bs_backend_sim_set_seed(bs_backend *b, uint64_t seed)
{
    to_sim(b)->seed = seed;
}

static char *sim_qemu_io(bs_backend *b, const char *image, const char *fmt, int read_only,
                         const char *const *cmds, size_t ncmds, char **err)
{
    return sim_tool_qemu_io(to_sim(b), image, fmt, read_only != 0, cmds, ncmds, err);
}

static json_object *sim_img_map(bs_backend *b, const char *image, const char *context,
                                char **err)
{
    return sim_tool_img_map(to_sim(b), image, context, err);
}

static char *sim_vm_log(bs_backend *b, char **err)
{
    sim *s = to_sim(b);
    return sim_vm_log_copy(s);
}

static int sim_serve(bs_backend *b, int timeout_ms)
{
    sim *s = to_sim(b);
    if (!s->nbd && !s->qemu_nbd) {
        /* nothing to serve: just let the time pass */
        poll(NULL, 0, timeout_ms);
        return 0;
    }
    /* the VM's server, then a qemu-nbd process's; whoever has work goes
     * first, the wait is spent on one of them */
    int r = s->nbd ? nbd_server_serve(s, s->qemu_nbd ? 0 : timeout_ms) : 0;
    if (r < 0) {
        return r;
    }
    int q = s->qemu_nbd ? sim_qemu_nbd_serve(s, r ? 0 : timeout_ms) : 0;
    return q < 0 ? q : r + q;
}

static int sim_qemu_nbd_start_op(bs_backend *b, char *const argv[], char **err)
{
    return sim_qemu_nbd_start(to_sim(b), argv, err);
}

static void sim_qemu_nbd_stop_op(bs_backend *b)
{
    sim_qemu_nbd_stop(to_sim(b));
}

static void sim_destroy(bs_backend *b)
{
    sim *s = to_sim(b);
    if (!s) {
        return;
    }
    machine_reset(s);
    sim_qemu_nbd_stop(s);
    fs_free_all(s);
    sim_vm_log_drop(s);
    free(s->sched_moved_reply);
    if (s->scratch) {
        remove_tree(s->scratch);
        free(s->scratch);
    }
    free(s);
}

static const bs_backend_ops sim_ops = {
    .name = "sim",
    .launch = sim_launch,
    .launch_args = sim_launch_args,
    .img_run = sim_img_run_op,
    .file_xor = sim_file_xor,
    .shutdown = sim_shutdown,
    .qmp = sim_qmp,
    .dirty_bitmaps = sim_dirty_bitmaps,
    .next_event = sim_next_event,
    .img_create = sim_img_create,
    .img_rebase_unsafe = sim_img_rebase_unsafe,
    .img_compare = sim_img_compare,
    .destroy = sim_destroy,
    .qemu_io = sim_qemu_io,
    .img_map = sim_img_map,
    .serve = sim_serve,
    .img_create_opts = sim_img_create_opts,
    .qemu_nbd_start = sim_qemu_nbd_start_op,
    .qemu_nbd_stop = sim_qemu_nbd_stop_op,
    .vm_log = sim_vm_log,
    .quit_events = sim_quit_events,
    .sleep = sim_sleep,
    .set_schedule = sim_set_schedule,
    .schedule_counts = sim_schedule_counts,
};

bs_backend *bs_backend_sim_new(char **err)
{
    sim *s = calloc(1, sizeof *s);
    if (!s) {
        *err = xstrdup("out of memory");
        return NULL;
    }
    s->base.ops = &sim_ops;
    node_driver_register(DRV_NBD, &drv_nbd);    /* the NBD client needs the server's layer */
    s->tick_hook = sched_tick;  /* the explorer's moved write, between job ticks */
    /* Images live in memory under this path; VMA archives, which the real
     * `vma` tool reads, are real files in it. One directory per backend, so
     * runs side by side do not meet. */
    const char *tmp = getenv("TMPDIR");
    s->scratch = xasprintf("%s/blocksim-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(s->scratch)) {
        *err = xasprintf("cannot create a scratch directory %s: %s", s->scratch, strerror(errno));
        free(s->scratch);
        free(s);
        return NULL;
    }
    s->base.test_dir = s->scratch;
    s->base.pid = "1000";
    return &s->base;
}
