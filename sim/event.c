/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The QMP event queue on the virtual clock: every layer that tells the
 * client something (jobs, NBD, the VMA backup) queues it here, and the
 * backend hands the events out in order.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/machine.h"
#include "sim/util.h"

void ev_emit(sim *s, const char *name, json_object *data)
{
    s->clock_ns += 1000;    /* events are at least 1 us apart */
    json_object *ev = json_object_new_object();
    json_object *ts = json_object_new_object();
    json_add_lit(ts, "seconds",
                           json_object_new_int64((int64_t)(SIM_EPOCH_S + s->clock_ns / 1000000000ull)));
    json_add_lit(ts, "microseconds",
                           json_object_new_int64((int64_t)(s->clock_ns % 1000000000ull / 1000)));
    json_add_lit(ev, "event", json_object_new_string(name));
    if (data) {     /* some events (STOP, RESUME) have no data */
        json_add_lit(ev, "data", data);
    }
    json_add_lit(ev, "timestamp", ts);
    sim_event *e = xcalloc(1, sizeof *e);
    e->ev = ev;
    if (s->ev_tail) {
        s->ev_tail->next = e;
    } else {
        s->ev_head = e;
    }
    s->ev_tail = e;
}

/* ---- what QEMU itself prints on its stdout ------------------------------- */

FILE *vm_out_stream(sim *s)
{
    if (!s->vm_out) {
        s->vm_out = open_memstream(&s->vm_log, &s->vm_log_len);
        if (!s->vm_out) {
            abort();
        }
    }
    return s->vm_out;
}

char *sim_vm_log_copy(sim *s)
{
    if (s->vm_out) {
        fflush(s->vm_out);
    }
    return xstrdup(s->vm_log ? s->vm_log : "");
}

void sim_vm_log_drop(sim *s)
{
    if (s->vm_out) {
        fclose(s->vm_out);
        s->vm_out = NULL;
    }
    free(s->vm_log);
    s->vm_log = NULL;
    s->vm_log_len = 0;
}

void vm_log_add(sim *s, const char *text)
{
    fputs(text, vm_out_stream(s));
}

/* bdrv_img_create's line (printf "Formatting ..." and qemu_opts_print of
 * the format's create options, in their order) */
void vm_log_formatting(sim *s, const char *path, const char *fmt, uint64_t size,
                       const char *backing, const char *backing_fmt)
{
    char *line;
    if (strcmp(fmt, "qcow2")) {
        line = xasprintf("Formatting '%s', fmt=%s size=%" PRIu64 "\n", path, fmt, size);
    } else {
        char *bk = backing ? xasprintf(" backing_file=%s backing_fmt=%s", backing,
                                       backing_fmt ? backing_fmt : "qcow2")
                           : xstrdup("");
        line = xasprintf("Formatting '%s', fmt=qcow2 cluster_size=65536 extended_l2=off "
                         "compression_type=zlib size=%" PRIu64 "%s lazy_refcounts=off "
                         "refcount_bits=16\n", path, size, bk);
        free(bk);
    }
    vm_log_add(s, line);
    free(line);
}
