/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * blkdebug breakpoints (QEMU 7.2 block/blkdebug.c: break, remove_break
 * through qemu-io, as iotests' pause_drive/resume_drive use them). A
 * request that raises a breakpoint's event is suspended until the
 * breakpoint goes. The simulator runs requests to the end at once, so a
 * suspended request is one that cannot start: it fails with
 * BD_SUSPENDED, which a job takes as "still waiting" (no progress, tried
 * again later) and not as an I/O error.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim/node.h"

typedef struct bd_break {
    int event;
    char *tag;
    struct bd_break *next;
} bd_break;

/* bdrv_debug_breakpoint: the first node down the primary children that
 * is a blkdebug node */
static sim_node *blkdebug_below(sim_node *n)
{
    while (n && n->drv != DRV_BLKDEBUG) {
        n = n->file;
    }
    return n;
}

void blkdebug_break_event(sim_node *n, int event)
{
    for (bd_break *b = n->bd_breaks; b; b = b->next) {
        if (b->event == event) {
            n->bd_suspended = true;
        }
    }
}

int blkdebug_break_check(sim_node *n)
{
    if (n->bd_suspended) {
        n->bd_suspended = false;
        return BD_SUSPENDED;
    }
    return 0;
}

void blkdebug_breaks_free(sim_node *n)
{
    while (n->bd_breaks) {
        bd_break *b = n->bd_breaks;
        n->bd_breaks = b->next;
        free(b->tag);
        free(b);
    }
}

/* qemu-io's break EVENT TAG / remove_break TAG. QEMU's qemu-io prints
 * their errors with printf, onto QEMU's stdout and not into the HMP
 * reply, so the reply is empty either way; the error texts stay here for
 * the unit tests. */
char *blkdebug_break_cmd(sim *s, sim_node *n, int argc, char **argv)
{
    (void)s;
    sim_node *bd = blkdebug_below(n);
    if (!strcmp(argv[0], "break")) {
        if (argc != 3) {
            return xasprintf("break: invalid number of arguments\r\n");
        }
        int event = blkdebug_event_name(argv[1]);
        if (!bd || event < 0) {
            /* blkdebug_debug_breakpoint: an unknown event is ENOENT */
            return xasprintf("Could not set breakpoint: %s\r\n",
                             strerror(bd ? ENOENT : ENOTSUP));
        }
        bd_break *b = calloc(1, sizeof *b);
        b->event = event;
        b->tag = xstrdup(argv[2]);
        b->next = bd->bd_breaks;
        bd->bd_breaks = b;
        return xstrdup("");
    }
    if (argc != 2) {
        return xasprintf("remove_break: invalid number of arguments\r\n");
    }
    bool found = false;
    for (bd_break **pp = bd ? &bd->bd_breaks : NULL; pp && *pp;) {
        if (!strcmp((*pp)->tag, argv[1])) {
            bd_break *b = *pp;
            *pp = b->next;
            free(b->tag);
            free(b);
            found = true;
        } else {
            pp = &(*pp)->next;
        }
    }
    if (!found) {
        return xasprintf("Could not remove breakpoint %s: %s\r\n", argv[1],
                         strerror(bd ? ENOENT : ENOTSUP));
    }
    return xstrdup("");
}
