/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The QMP event queue on the virtual clock: every layer that tells the
 * client something (jobs, NBD, the VMA backup) queues it here, and the
 * backend hands the events out in order.
 */
#include <stdlib.h>

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
