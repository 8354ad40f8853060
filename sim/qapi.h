/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QAPI-style argument schemas: what QEMU's generated visitors check before a
 * command runs (missing, unexpected and mistyped members, enum values), with
 * QEMU 7.2's error texts. The checker and the schemas live in sim/qapi.c;
 * command files may describe further arguments with these tables. Bottom
 * layer: a pure function of the JSON, it knows nothing of the machine.
 */
#ifndef BLOCKSIM_SIM_QAPI_H
#define BLOCKSIM_SIM_QAPI_H

#include <stdbool.h>
#include <json-c/json.h>

typedef enum {
    F_STR, F_INT, F_UINT32, F_BOOL, F_ENUM, F_OBJ, F_ARR_OBJ, F_ARR, F_REF, F_REF_NULL,
    F_ANY, F_BITMAP_LIST,
    F_BASE,     /* the members of sub, here (a QAPI 'base': BackupCommon) */
} ftype;

typedef struct field {
    const char *name;
    ftype type;
    bool required;
    const char *const *values;          /* F_ENUM */
    const struct field *sub;            /* F_OBJ, F_ARR_OBJ, F_BASE */
} field;

#define END { NULL, F_ANY, false, NULL, NULL }
#define BASE(members) { "(base)", F_BASE, false, NULL, members }

/* NULL when args (an object, or NULL for none) fit fs; else the QMP error
 * reply. Members are named "prefix.member" ("member" with an empty prefix). */
json_object *qapi_check_fields(json_object *args, const field *fs, const char *prefix);
/* The arguments of a command (sim/qapi.c's table), as a member named prefix
 * (a transaction action's data); NULL when they fit or the command has no
 * schema here. */
json_object *qapi_check_command(const char *cmd, json_object *args, const char *prefix);
/* Does sim/qapi.c's table list the command (its schema may be NULL: the
 * command checks its own arguments)? */
bool qapi_command_known(const char *cmd);
/* BlockdevOptions, recursively through inline children. */
json_object *qapi_check_blockdev_options(json_object *opts, const char *prefix);
/* BlockdevCreateOptions (blockdev-create's options). */
json_object *qapi_check_create_options(json_object *opts, const char *prefix);
/* BlkdebugIOType's and BlkdebugEvent's names, in QAPI order (NULL-terminated). */
extern const char *const qapi_blkdebug_iotypes[];
extern const char *const qapi_blkdebug_events[];
/* The index of name in a NULL-terminated list of enum values, or -1. */
int qapi_enum_index(const char *const *values, const char *name);

#endif
