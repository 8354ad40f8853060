/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The VM's run state: QMP stop and cont (QEMU 7.2 softmmu/cpus.c vm_stop,
 * qmp_cont). The simulated VM runs no guest code, so stopping it changes
 * nothing but the STOP/RESUME events; in particular block jobs keep
 * running (stop does not drain them, iotest 129).
 */
#include "sim/qmp.h"

json_object *qmp_stop(sim *s)
{
    if (!s->vm_stopped) {
        s->vm_stopped = true;
        ev_emit(s, "STOP", NULL);       /* an event without data */
    }
    return qmp_ok();
}

json_object *qmp_cont(sim *s)
{
    if (s->vm_stopped) {
        s->vm_stopped = false;
        ev_emit(s, "RESUME", NULL);
    }
    return qmp_ok();
}
