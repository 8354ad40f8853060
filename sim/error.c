/* SPDX-License-Identifier: GPL-2.0-or-later */
/* QMP replies: errors and returns (see sim/error.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "sim/error.h"
#include "sim/machine.h"
#include "sim/util.h"

json_object *qmp_error(const char *cls, const char *fmt, ...)
{
    va_list ap;
    char *desc = NULL;
    va_start(ap, fmt);
    if (vasprintf(&desc, fmt, ap) < 0) {
        abort();
    }
    va_end(ap);
    json_object *e = json_object_new_object();
    json_add_lit(e, "class", json_object_new_string(cls));
    json_add_lit(e, "desc", json_object_new_string(desc));
    free(desc);
    json_object *r = json_object_new_object();
    json_add_lit(r, "error", e);
    return r;
}

json_object *qmp_return(json_object *v)
{
    json_object *r = json_object_new_object();
    json_add_lit(r, "return", v);
    return r;
}

json_object *qmp_ok(void)
{
    return qmp_return(json_object_new_object());
}

const char *qmp_error_desc(json_object *reply)
{
    json_object *e = NULL, *d = NULL;
    json_object_object_get_ex(reply, "error", &e);
    json_object_object_get_ex(e, "desc", &d);
    return d ? json_object_get_string(d) : "";
}

void sim_error_report(sim *s, const char *fmt, ...)
{
    FILE *out = vm_out_stream(s);     /* event.c */
    va_list ap;
    va_start(ap, fmt);
    fputs("qemu-system-x86_64: ", out);
    vfprintf(out, fmt, ap);
    fputc('\n', out);
    va_end(ap);
}
