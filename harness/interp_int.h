/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The interpreter's private header: its state and the helpers that the
 * files owning commands (harness/cmd_*.c) share with its core. Sectioned
 * by the file that defines each function.
 *
 * Errors: a helper that fails has reported a runtime error with
 * interp_fail() (the first error wins) and returns -1 or NULL.
 */
#ifndef BLOCKSIM_HARNESS_INTERP_INT_H
#define BLOCKSIM_HARNESS_INTERP_INT_H

#include "harness/interp.h"
#include "harness/command.h"
#include "harness/limits.h"
#include "harness/real_clients.h"
#include "harness/sbuf.h"
#include "oracle/image.h"
#include "oracle/oracle.h"

#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Blocks and expressions being run at once, across procedure calls: the
 * parser bounds each case's nesting, this bounds their product. */
#define MAX_RUN_NESTING 4000

typedef struct var {
    char *name;
    json_object *val;
} var;

typedef struct frame {
    var *v;
    size_t n;
} frame;

typedef struct wgroup {
    char *name;
    size_t n;
    char **pattern;
    uint64_t *off, *len;
} wgroup;

struct interp {
    const program *prog;
    const char *file;           /* of the statement running (includes have their own) */
    bs_backend *be;
    double timeout;
    sbuf out;
    char *err;
    json_object *none;
    frame *frames;
    size_t nframes;
    wgroup *groups;
    size_t ngroups;
    oracle *orc;
    json_object *listing;       /* the last {"node": [bitmaps]} */
    json_object **events;       /* received but not yet wanted (iotests caches them) */
    size_t nevents;
    int launched;
    oracle_images *imgs;        /* image-content models (image, check_image) */
    int shell;                  /* shell_test: shell filters on */
    char *shell_fmt;            /* its IMGFMT */
    int shell72;                /* shell_test qemu="7.2": 7.2's common.rc / common.qemu */
    char *sock_dir;             /* its SOCK_DIR, printed as SOCK_DIR */
    int qemu_nbd;               /* a qemu-nbd server process was started */
    /* qemu_io_interactive: a real process, or (internal clients) what
     * each command reopens */
    real_io_session *io;
    int io_open, io_ro;
    char *io_image, *io_fmt;
    int session;                /* vm_session: 0 none, 1 run, 2 launch, 3 qmp */
    int session_sha;            /* its replies show "sha256": HASH (176's run_qemu) */
    int session_caps;           /* its qmp_capabilities was answered */
    size_t checks_failed;       /* expect* lines that printed FAIL */
    char *first_check_fail;     /* "FILE:LINE:COL: check failed: ..." */
    case_limits lim;
    int nest;                   /* blocks and expressions being run */
};

static inline void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n);
    if (!p)
        harness_out_of_memory(n);
    return p;
}

static inline char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d)
        harness_out_of_memory(strlen(s) + 1);
    return d;
}

/* interp.c: errors and output */
/* Reports "FILE:LINE:COL: runtime error: ..." unless an error came first. */
void interp_fail(interp *I, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* One log() call: the message, filtered, then a newline. */
void interp_emit(interp *I, const char *text);
void interp_emit_json(interp *I, json_object *o, int indent);
/* A tool's output as a shell test's pipe shows it. */
void interp_emit_text(interp *I, const char *text);
void interp_emit_shell(interp *I, const char *text);
/* text with every `from` replaced by `to` (malloc'd). */
char *interp_replace_str(const char *text, const char *from, const char *to);

/* interp.c: variables (dynamic scope) */
json_object *interp_lookup(interp *I, const char *name);
int interp_defined(interp *I, const char *name);
/* Bind in the innermost frame; takes over the reference to val. */
void interp_bind(interp *I, const char *name, json_object *val);

/* interp.c: a command's arguments */
/* Optional boolean keyword argument. */
int interp_kw_bool(interp *I, const stmt *s, const char *key, int dflt, int *out);
/* Optional keyword argument: a small non-negative int (indent=N). */
int interp_kw_int(interp *I, const stmt *s, const char *key, int64_t *out);
/* A positional bare word such as check's "recording". */
int interp_has_word(const stmt *s, const char *w);
/* A QMP command's name (a bare word or a string) and its arguments (the
 * second positional argument, an object; NULL when absent). */
char *interp_qmp_name(interp *I, const arg *a);
int interp_qmp_args(interp *I, const stmt *s, json_object **args);

/* interp.c: backend calls */
/* A path the case gave must stay in the test directory (harness/confine.h). */
int interp_confined(interp *I, const stmt *s, const char *what, const char *path, int rel);
/* Sends like QEMUMachine.qmp(): top-level '_' in keys become '-'. */
json_object *interp_qmp(interp *I, const stmt *s, const char *cmd, json_object *args);
/* iotests' qmp_log: the command (arguments sorted), then the reply. */
json_object *interp_qmp_log(interp *I, const stmt *s, const char *cmd, json_object *args,
                            int indent);
json_object *interp_hmp_qemu_io(interp *I, const stmt *s, const char *node, const char *cmd);

/* interp.c: write groups and procedures */
wgroup *interp_need_group(interp *I, const expr *e);
/* Runs pr with args (references taken over). */
int interp_call_proc(interp *I, const stmt *s, const proc *pr, json_object **args);

/* interp_expr.c: values and expressions */
int interp_is_none(interp *I, json_object *v);
const char *interp_type_name(interp *I, json_object *v);
/* Python's str() of a value, as log() and "${x}" print it. */
void interp_to_text(interp *I, sbuf *b, json_object *v);
int interp_truthy(interp *I, json_object *v);
int interp_eval(interp *I, const expr *e, json_object **out);
int interp_get_int(interp *I, const expr *e, int64_t *v);
int interp_get_uint(interp *I, const expr *e, uint64_t *v);
/* malloc'd string value of e (strings only). */
char *interp_get_str(interp *I, const expr *e);
/* Group and model keys: the text of any value (group 0 and group "0" agree). */
char *interp_get_key(interp *I, const expr *e);
/* QMP arguments must be plain JSON: `none` only means "leave the key out". */
int interp_check_plain(interp *I, const expr *e, json_object *v);

/* cmd_qmp.c: the VM */
int cmd_qmp_launch(interp *I, const stmt *s);
/* Shuts the VM down if it runs (s NULL: at the end of the case). */
int cmd_qmp_shutdown_vm(interp *I, const stmt *s);
void cmd_qmp_drop_events(interp *I);

#endif
