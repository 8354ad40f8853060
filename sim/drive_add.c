/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * HMP drive_add: a -drive added to the running VM (hmp_drive_add ->
 * drive_new), as cases add iotests' VM.add_drive images when the VM has
 * no machine to plug a device into. Only if=none (a BlockBackend without
 * a device); the backend itself is drive.c's.
 */
#include <stdlib.h>
#include <string.h>

#include "sim/blk.h"

char *hmp_drive_add(sim *s, const char *args)
{
    /* drive_add [-n] [[<domain>:]<bus>:]<slot> OPTIONS: the address is
     * ignored for if=none, as QEMU does */
    while (*args == ' ') {
        args++;
    }
    args += strcspn(args, " ");
    while (*args == ' ') {
        args++;
    }
    char *err = NULL;
    if (drive_add_if_none(s, args, &err) < 0) {
        char *reply = xasprintf("%s\r\n", err);
        free(err);
        return reply;
    }
    return xstrdup("OK\r\n");
}
