/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The "qemu" backend: every op of harness/backend.h forwarded to real QEMU
 * 7.2 through tools/qemu_driver.py (JSON lines over a pair of pipes; the
 * protocol is documented at the top of that file).
 *
 * The driver owns QEMU, the test directory and their clean-up; this side
 * only has to make sure the driver goes away: destroy() asks it to quit and
 * reaps it, and the driver gets PR_SET_PDEATHSIG(SIGTERM) so it cleans up
 * even if the harness dies first.
 */
#include "harness/real_clients.h"
#include "harness/backend.h"
#include "harness/backend_qemu.h"
#include "harness/confine.h"
#include "harness/qemu_proto.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Per-op timeouts handed to the driver (seconds). We wait a margin longer
 * for its answer, so a hung driver cannot hang the harness. */
#define T_LAUNCH   30.0
#define T_SHUTDOWN 30.0
#define T_QMP      60.0
#define T_IMG     120.0
#define T_MARGIN   30.0
/* A driver line longer than this is a broken driver, not a big reply. */
#define T_MAX_LINE (256 << 20)

typedef struct qemu_backend {
    bs_backend base;
    pid_t child;
    int to_fd;      /* driver's stdin */
    int from_fd;    /* driver's stdout */
    char *rbuf;     /* bytes read but not yet consumed */
    size_t rlen, rcap;
    char *test_dir;
    char *pid;
    int dead;       /* the driver is gone or out of step: refuse further ops */
    pid_t nbd_pid;  /* a qemu-nbd server process (qemu_nbd_start), 0 when none */
} qemu_backend;

static void set_err(char **err, const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;

    if (!err)
        return;
    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    free(*err);
    *err = s;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* write() all of buf; SIGPIPE is blocked for the call and any pending one
 * consumed, so a dead driver shows up as EPIPE, not a killed harness. */
static int write_all(int fd, const char *buf, size_t len)
{
    sigset_t pipe_set, old;
    int ret = 0, saved;

    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            ret = -1;
            break;
        }
        buf += n;
        len -= (size_t)n;
    }
    saved = errno;
    if (ret < 0 && saved == EPIPE) {
        struct timespec zero = { 0, 0 };
        while (sigtimedwait(&pipe_set, NULL, &zero) > 0)
            ;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = saved;
    return ret;
}

/* One line from the driver (without the newline), malloc'd; NULL on EOF,
 * error or when `timeout` seconds pass. */
static char *read_line(qemu_backend *q, double timeout, char **err)
{
    double deadline = now_s() + timeout;

    for (;;) {
        char *nl = q->rlen ? memchr(q->rbuf, '\n', q->rlen) : NULL;
        if (nl) {
            size_t n = (size_t)(nl - q->rbuf);
            char *line = malloc(n + 1);
            if (!line) {
                set_err(err, "out of memory");
                return NULL;
            }
            memcpy(line, q->rbuf, n);
            line[n] = '\0';
            memmove(q->rbuf, nl + 1, q->rlen - n - 1);
            q->rlen -= n + 1;
            return line;
        }
        double left = deadline - now_s();
        if (left <= 0) {
            set_err(err, "qemu driver: no answer within %.0f s", timeout);
            return NULL;
        }
        struct pollfd pfd = { .fd = q->from_fd, .events = POLLIN };
        int r = poll(&pfd, 1, left > 1e6 ? 1000000000 : (int)(left * 1000) + 1);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            set_err(err, "qemu driver: poll: %s", strerror(errno));
            return NULL;
        }
        if (r == 0)
            continue;
        if (q->rlen > T_MAX_LINE) {
            set_err(err, "qemu driver: an answer longer than %d bytes", T_MAX_LINE);
            return NULL;
        }
        if (q->rcap - q->rlen < 65536) {
            size_t cap = q->rcap ? q->rcap * 2 : 65536;
            while (cap - q->rlen < 65536)
                cap *= 2;
            char *nb = realloc(q->rbuf, cap);
            if (!nb) {
                set_err(err, "out of memory");
                return NULL;
            }
            q->rbuf = nb;
            q->rcap = cap;
        }
        ssize_t n = read(q->from_fd, q->rbuf + q->rlen, q->rcap - q->rlen);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            set_err(err, "qemu driver: read: %s", strerror(errno));
            return NULL;
        }
        if (n == 0) {
            set_err(err, "qemu driver exited unexpectedly");
            return NULL;
        }
        q->rlen += (size_t)n;
    }
}

/* Send `req` (consumed) with its timeout and return the driver's "result"
 * (new reference; may be NULL for JSON null). *ok tells success apart from
 * a null result. */
static struct json_object *call(qemu_backend *q, struct json_object *req,
                                double timeout, int *ok, char **err)
{
    struct json_object *resp = NULL, *v, *result = NULL;
    char *line = NULL;
    const char *s;

    *ok = 0;
    if (q->dead) {
        set_err(err, "qemu driver is not running");
        json_object_put(req);
        return NULL;
    }
    json_object_object_add(req, "timeout", json_object_new_double(timeout));
    s = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN |
                                            JSON_C_TO_STRING_NOSLASHESCAPE);
    if (write_all(q->to_fd, s, strlen(s)) < 0 || write_all(q->to_fd, "\n", 1) < 0) {
        set_err(err, "qemu driver: write: %s", strerror(errno));
        q->dead = 1;
        goto out;
    }
    line = read_line(q, timeout + T_MARGIN, err);
    if (!line) {
        q->dead = 1;
        goto out;
    }
    resp = json_tokener_parse(line);
    const char *e;
    char *why = NULL;
    if (qemu_proto_answer(resp, ok, &v, &e, &why) < 0) {
        set_err(err, "qemu driver: bad answer (%s): %.200s", why ? why : "?", line);
        free(why);
        q->dead = 1;
        goto out;
    }
    if (*ok)
        result = json_object_get(v);
    else
        set_err(err, "%s", e);
out:
    free(line);
    json_object_put(resp);
    json_object_put(req);
    return result;
}

static struct json_object *new_req(const char *op)
{
    struct json_object *r = json_object_new_object();

    json_object_object_add(r, "op", json_object_new_string(op));
    return r;
}

/* For ops whose result does not matter: 0 on success, -1 with *err set. */
static int call_void(qemu_backend *q, struct json_object *req, double timeout,
                     char **err)
{
    int ok;
    struct json_object *r = call(q, req, timeout, &ok, err);

    json_object_put(r);
    return ok ? 0 : -1;
}

/* A path outside the test directory is never sent (harness/confine.h). */
static int refuse_path(bs_backend *b, const char *op, const char *path, int relative_ok,
                       char **err)
{
    char *why = NULL;

    if (confine_path(b->test_dir, path, relative_ok, &why) == 0)
        return 0;
    set_err(err, "%s refused: %s", op, why ? why : "?");
    free(why);
    return 1;
}

static int q_launch(bs_backend *b, char **err)
{
    return call_void((qemu_backend *)b, new_req("launch"), T_LAUNCH, err);
}

static int q_launch_args(bs_backend *b, const char *const *argv, size_t argc, char **err)
{
    struct json_object *req, *list;
    char *why = NULL;

    for (size_t i = 0; i < argc; i++) {
        if (confine_words(b->test_dir, argv[i], &why) < 0) {
            set_err(err, "launch refused: %s", why ? why : "?");
            free(why);
            return -1;
        }
    }

    /* the files a -blockdev opens stay inside the test directory too */
    for (size_t i = 0; i + 1 < argc; i++) {
        if (strcmp(argv[i], "-blockdev"))
            continue;
        char *copy = strdup(argv[i + 1]), *save = NULL;
        int bad = 0;
        if (!copy)
            return -1;
        for (char *kv = strtok_r(copy, ",", &save); kv && !bad; kv = strtok_r(NULL, ",", &save)) {
            char *eq = strchr(kv, '=');
            size_t klen = eq ? (size_t)(eq - kv) : 0;
            if (eq && klen >= 8 && !strncmp(eq - 8, "filename", 8))
                bad = refuse_path(b, "launch", eq + 1, 0, err);
        }
        free(copy);
        if (bad)
            return -1;
    }
    req = new_req("launch");
    list = json_object_new_array();

    for (size_t i = 0; i < argc; i++)
        json_object_array_add(list, json_object_new_string(argv[i]));
    json_object_object_add(req, "args", list);
    return call_void((qemu_backend *)b, req, T_LAUNCH, err);
}

static int refuse_args(bs_backend *b, const char *tool, const char *const *argv, size_t argc,
                       char **err);

static int q_img_run(bs_backend *b, const char *const *argv, size_t argc, char **out,
                     char **errout, char **err)
{
    struct json_object *req, *a, *r, *v;
    int ok, rc = -1;

    if (refuse_args(b, "qemu-img", argv, argc, err))
        return -1;
    req = new_req("img");
    a = json_object_new_array();

    for (size_t i = 0; i < argc; i++)
        json_object_array_add(a, json_object_new_string(argv[i]));
    json_object_object_add(req, "args", a);
    r = call((qemu_backend *)b, req, T_IMG, &ok, err);
    char *why = NULL;
    if (ok && qemu_proto_img_result(r, &why) < 0) {
        set_err(err, "qemu-img: the driver returned a malformed result: %s", why ? why : "?");
        free(why);
        ok = 0;
    }
    if (ok && r) {
        rc = json_object_object_get_ex(r, "rc", &v) ? json_object_get_int(v) : -1;
        *out = strdup(json_object_object_get_ex(r, "stdout", &v) ? json_object_get_string(v) : "");
        *errout = strdup(json_object_object_get_ex(r, "stderr", &v) ? json_object_get_string(v) : "");
    }
    json_object_put(r);
    return rc;
}

/* The images are real files in the driver's test directory, on this
 * machine: flip the byte in place. */
static int q_file_xor(bs_backend *b, const char *path, uint64_t off, uint8_t mask, char **err)
{
    (void)b;
    int fd = open(path, O_RDWR);
    unsigned char c;
    int ok = fd >= 0 && pread(fd, &c, 1, (off_t)off) == 1;
    if (ok) {
        c ^= mask;
        ok = pwrite(fd, &c, 1, (off_t)off) == 1;
    }
    if (!ok)
        set_err(err, "cannot change byte %llu of %s: %s", (unsigned long long)off, path,
                strerror(errno));
    if (fd >= 0)
        close(fd);
    return ok ? 0 : -1;
}

static int q_shutdown(bs_backend *b, char **err)
{
    return call_void((qemu_backend *)b, new_req("shutdown"), T_SHUTDOWN, err);
}

static struct json_object *q_qmp(bs_backend *b, const char *command,
                                 struct json_object *args, char **err)
{
    struct json_object *req, *r;
    int ok;
    char *why = NULL;

    /* the interpreter checked already; a backend never trusts its caller */
    if (confine_qmp_args(b->test_dir, command, args, &why) < 0) {
        set_err(err, "qmp %s refused: %s", command, why ? why : "?");
        free(why);
        return NULL;
    }
    req = new_req("qmp");
    json_object_object_add(req, "execute", json_object_new_string(command));
    if (args)
        json_object_object_add(req, "arguments", json_object_get(args));
    r = call((qemu_backend *)b, req, T_QMP, &ok, err);
    if (ok && qemu_proto_qmp_reply(r, &why) < 0) {
        set_err(err, "qmp %s: the driver returned a malformed reply: %s", command,
                why ? why : "?");
        free(why);
        json_object_put(r);
        return NULL;
    }
    return r;
}

static struct json_object *q_next_event(bs_backend *b, double timeout_s, char **err)
{
    int ok;

    struct json_object *req = new_req("next_event");
    if (timeout_s < 0)
        json_object_object_add(req, "queued_only", json_object_new_boolean(1));
    if (timeout_s <= 0)
        timeout_s = 0.001;
    /* ok with a null result: nothing arrived in time. */
    struct json_object *ev = call((qemu_backend *)b, req, timeout_s, &ok, err);
    char *why = NULL;
    if (ev && qemu_proto_event(ev, &why) < 0) {
        set_err(err, "next_event: the driver returned a malformed event: %s", why ? why : "?");
        free(why);
        json_object_put(ev);
        return NULL;
    }
    return ev;
}

static int q_img_create(bs_backend *b, const char *fmt, const char *path,
                        uint64_t size, const char *backing, const char *backing_fmt,
                        char **err)
{
    struct json_object *req;

    if (refuse_path(b, "img_create", path, 0, err) || (backing &&
        refuse_path(b, "img_create backing", backing, 1, err)))
        return -1;
    req = new_req("img_create");

    json_object_object_add(req, "fmt", json_object_new_string(fmt));
    json_object_object_add(req, "path", json_object_new_string(path));
    json_object_object_add(req, "size", json_object_new_int64((int64_t)size));
    if (backing)
        json_object_object_add(req, "backing", json_object_new_string(backing));
    if (backing_fmt)
        json_object_object_add(req, "backing_fmt", json_object_new_string(backing_fmt));
    return call_void((qemu_backend *)b, req, T_IMG, err);
}

static int q_img_rebase_unsafe(bs_backend *b, const char *path, const char *backing,
                               char **err)
{
    struct json_object *req;

    if (refuse_path(b, "img_rebase_unsafe", path, 0, err) ||
        refuse_path(b, "img_rebase_unsafe backing", backing, 1, err))
        return -1;
    req = new_req("img_rebase_unsafe");

    json_object_object_add(req, "path", json_object_new_string(path));
    json_object_object_add(req, "backing", json_object_new_string(backing));
    return call_void((qemu_backend *)b, req, T_IMG, err);
}

static int q_img_compare(bs_backend *b, const char *a, const char *b2, char **err)
{
    struct json_object *req, *r;
    int ok, rc;

    if (refuse_path(b, "img_compare", a, 0, err) || refuse_path(b, "img_compare", b2, 0, err))
        return -1;
    req = new_req("img_compare");

    json_object_object_add(req, "a", json_object_new_string(a));
    json_object_object_add(req, "b", json_object_new_string(b2));
    r = call((qemu_backend *)b, req, T_IMG, &ok, err);
    if (!ok)
        return -1;
    if (!json_object_is_type(r, json_type_int)) {
        json_object_put(r);
        set_err(err, "img_compare: the driver returned no exit code");
        return -1;
    }
    rc = json_object_get_int(r);
    json_object_put(r);
    return rc;
}

static char *string_result(qemu_backend *q, struct json_object *req, double timeout,
                           const char *what, char **err)
{
    int ok;
    struct json_object *r = call(q, req, timeout, &ok, err);
    char *out = NULL;

    if (ok && json_object_is_type(r, json_type_string))
        out = strdup(json_object_get_string(r));
    else if (ok)
        set_err(err, "%s: the driver returned no text", what);
    json_object_put(r);
    return out;
}

static char *q_vm_log(bs_backend *b, char **err)
{
    return string_result((qemu_backend *)b, new_req("vm_log"), T_IMG, "vm_log", err);
}

/* the wall clock: QEMU runs by itself meanwhile */
static int q_sleep(bs_backend *b, double secs, char **err)
{
    (void)b;
    (void)err;
    if (secs > 0)
        usleep((useconds_t)(secs * 1e6));
    return 0;
}

static struct json_object *q_quit_events(bs_backend *b, char **err)
{
    int ok;
    struct json_object *list = call((qemu_backend *)b, new_req("quit_events"), T_SHUTDOWN,
                                    &ok, err);
    if (list && !json_object_is_type(list, json_type_array)) {
        set_err(err, "quit_events: the driver returned no list");
        json_object_put(list);
        return NULL;
    }
    return list;
}

/* Wait up to `secs` for the child; 1 when reaped. */
static int reap(pid_t pid, double secs)
{
    double deadline = now_s() + secs;

    for (;;) {
        pid_t r = waitpid(pid, NULL, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR))
            return 1;
        if (now_s() > deadline)
            return 0;
        usleep(10000);
    }
}

static int q_qemu_nbd_start(bs_backend *b, char *const argv[], char **err)
{
    qemu_backend *q = (qemu_backend *)b;
    char *why = NULL;
    int bad;
    if (confine_tool_args(b->test_dir, argv, &bad, &why) < 0) {
        set_err(err, "qemu-nbd refused: %s", why ? why : "?");
        free(why);
        return -1;
    }
    real_qemu_nbd_kill(q->nbd_pid);
    q->nbd_pid = real_qemu_nbd_spawn(argv, err);
    if (q->nbd_pid < 0) {
        q->nbd_pid = 0;
        return -1;
    }
    return 0;
}

static void q_qemu_nbd_stop(bs_backend *b)
{
    qemu_backend *q = (qemu_backend *)b;
    real_qemu_nbd_kill(q->nbd_pid);
    q->nbd_pid = 0;
}

static void q_destroy(bs_backend *b)
{
    qemu_backend *q = (qemu_backend *)b;

    if (!q)
        return;
    q_qemu_nbd_stop(b);
    if (q->child > 0) {
        if (!q->dead) {
            char *err = NULL;
            /* quit makes the driver shut QEMU down and remove its files. */
            call_void(q, new_req("quit"), 10.0, &err);
            free(err);
        }
        if (q->to_fd >= 0) {
            close(q->to_fd);    /* EOF also makes the driver clean up */
            q->to_fd = -1;
        }
        if (!reap(q->child, 20.0)) {
            kill(q->child, SIGTERM);
            if (!reap(q->child, 10.0)) {
                kill(q->child, SIGKILL);
                reap(q->child, 10.0);
            }
        }
    }
    if (q->to_fd >= 0)
        close(q->to_fd);
    if (q->from_fd >= 0)
        close(q->from_fd);
    free(q->rbuf);
    free(q->test_dir);
    free(q->pid);
    free(q);
}

/* A tool's arguments (argv without the tool's name): harness/confine.h's
 * rule for them. */
static int refuse_args(bs_backend *b, const char *tool, const char *const *argv, size_t argc,
                       char **err)
{
    const char **full = calloc(argc + 2, sizeof(*full));
    char *why = NULL;
    int bad, r = 0;

    if (!full) {
        set_err(err, "out of memory");
        return 1;
    }
    full[0] = tool;
    for (size_t i = 0; i < argc; i++)
        full[i + 1] = argv[i];
    if (confine_tool_args(b->test_dir, (char *const *)full, &bad, &why) < 0) {
        set_err(err, "%s refused: %s", tool, why ? why : "?");
        r = 1;
    }
    free(why);
    free(full);
    return r;
}

/* An image a client tool opens: a file, or an NBD URI naming a socket. */
static int refuse_image(bs_backend *b, const char *tool, const char *image, char **err)
{
    char *argv[] = { (char *)tool, (char *)image, NULL }, *why = NULL;
    int bad;

    if (confine_tool_args(b->test_dir, argv, &bad, &why) == 0)
        return 0;
    set_err(err, "%s refused: %s", tool, why ? why : "?");
    free(why);
    return 1;
}

static char *q_qemu_io(bs_backend *b, const char *image, const char *fmt, int read_only,
                       const char *const *cmds, size_t ncmds, char **err)
{
    if (refuse_image(b, "qemu-io", image, err))
        return NULL;
    return real_qemu_io(b, image, fmt, read_only, cmds, ncmds, err);
}

static struct json_object *q_img_map(bs_backend *b, const char *image, const char *context,
                                     char **err)
{
    if (refuse_image(b, "qemu-img map", image, err))
        return NULL;
    return real_img_map(b, image, context, err);
}

static const bs_backend_ops qemu_ops = {
    .name = "qemu",
    .launch = q_launch,
    .launch_args = q_launch_args,
    .img_run = q_img_run,
    .file_xor = q_file_xor,
    .shutdown = q_shutdown,
    .qmp = q_qmp,
    .next_event = q_next_event,
    .img_create = q_img_create,
    .img_rebase_unsafe = q_img_rebase_unsafe,
    .img_compare = q_img_compare,
    .destroy = q_destroy,
    /* the client tools are the real programs, against QEMU's own export */
    .qemu_io = q_qemu_io,
    .img_map = q_img_map,
    .img_create_opts = real_img_create,
    .qemu_nbd_start = q_qemu_nbd_start,
    .qemu_nbd_stop = q_qemu_nbd_stop,
    .vm_log = q_vm_log,
    .quit_events = q_quit_events,
    .sleep = q_sleep,
};

bs_backend *bs_backend_qemu_new(const char *driver_path, char **err)
{
    qemu_backend *q;
    int in_pipe[2] = { -1, -1 }, out_pipe[2] = { -1, -1 };
    const char *python = getenv("PYTHON");

    if (!python || !*python)
        python = "python3";
    if (!driver_path || access(driver_path, R_OK) != 0) {
        set_err(err, "qemu driver not readable: %s", driver_path ? driver_path : "(null)");
        return NULL;
    }
    q = calloc(1, sizeof(*q));
    if (!q) {
        set_err(err, "out of memory");
        return NULL;
    }
    q->base.ops = &qemu_ops;
    q->to_fd = q->from_fd = -1;
    if (pipe2(in_pipe, O_CLOEXEC) < 0 || pipe2(out_pipe, O_CLOEXEC) < 0) {
        set_err(err, "pipe: %s", strerror(errno));
        goto fail;
    }
    pid_t parent = getpid();
    q->child = fork();
    if (q->child < 0) {
        set_err(err, "fork: %s", strerror(errno));
        q->child = 0;
        goto fail;
    }
    if (q->child == 0) {
        /* The driver cleans up on SIGTERM; make sure it gets one if we die. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(127);
        dup2(in_pipe[0], 0);
        dup2(out_pipe[1], 1);
        execlp(python, python, driver_path, (char *)NULL);
        fprintf(stderr, "blocksim: cannot run %s: %s\n", python, strerror(errno));
        _exit(127);
    }
    close(in_pipe[0]);
    close(out_pipe[1]);
    pid_t child = q->child;
    free(q);
    return bs_backend_qemu_attach(child, in_pipe[1], out_pipe[0], err);

fail:
    for (int i = 0; i < 2; i++) {
        if (in_pipe[i] >= 0)
            close(in_pipe[i]);
        if (out_pipe[i] >= 0)
            close(out_pipe[i]);
    }
    q->dead = 1;    /* no quit request: just close and reap */
    q_destroy(&q->base);
    return NULL;
}

bs_backend *bs_backend_qemu_attach(pid_t child, int to_fd, int from_fd, char **err)
{
    qemu_backend *q = calloc(1, sizeof(*q));
    struct json_object *hello = NULL;
    const char *test_dir, *pid;
    char *line = NULL, *why = NULL;

    if (!q) {
        set_err(err, "out of memory");
        close(to_fd);
        close(from_fd);
        return NULL;
    }
    q->base.ops = &qemu_ops;
    q->child = child;
    q->to_fd = to_fd;
    q->from_fd = from_fd;
    line = read_line(q, T_LAUNCH, err);
    if (!line)
        goto fail;
    hello = json_tokener_parse(line);
    if (qemu_proto_hello(hello, &test_dir, &pid, &why) < 0) {
        set_err(err, "qemu driver: unexpected greeting (%s): %.200s", why ? why : "?", line);
        free(why);
        goto fail;
    }
    q->test_dir = strdup(test_dir);
    q->pid = strdup(pid);
    if (!q->test_dir || !q->pid) {
        set_err(err, "out of memory");
        goto fail;
    }
    q->base.test_dir = q->test_dir;
    q->base.pid = q->pid;
    free(line);
    json_object_put(hello);
    return &q->base;

fail:
    free(line);
    json_object_put(hello);
    q->dead = 1;    /* no quit request: just close and reap */
    q_destroy(&q->base);
    return NULL;
}
